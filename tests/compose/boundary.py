"""The compose files' trust boundary, checked on a running project (compose_test.py runs it).

From the host: the gateway is the one published port of the API, it does not route /store, and
it hands a request id back. Inside the compose network (raw HTTP from a service container, with
bash's /dev/tcp: the images carry no HTTP client): MS1's POST /store and MS2's WebSocket upgrade
refuse a request without the token or with a wrong one, and nothing is stored. The token is the
generated one (64 hex digits) or the user's RINGTRACE_TOKEN, and no log line shows it or says the
hops are open.
"""

import json
import re
import time

# A message of a session no MS1 made: what an intruder would POST.
FOREIGN_SESSION = 424242
FOREIGN_MESSAGE = json.dumps({"id": 1, "session_id": FOREIGN_SESSION, "service1_timestamp": "2026-01-01T00:00:00.000000Z",
                              "service2_timestamp": "2026-01-01T00:00:00.000001Z",
                              "service3_timestamp": "2026-01-01T00:00:00.000002Z", "end_timestamp": None})
TOKEN_FILE = "/run/ringtrace/token"
OPEN_WARNING = "security.token is empty"
# Sends stdin to HOST:PORT ($0, $1) and prints the answer; the server closes, or 5 s bound it.
RAW_HTTP = 'exec 3<>"/dev/tcp/$0/$1" || exit 3; cat >&3; timeout 5 cat <&3; exit 0'


def raw_http(project, host, port, request):
    """(status, headers text, body) of one raw HTTP/1.1 request sent from inside the ms3 container."""
    result = project.compose("exec", "-T", "ms3", "bash", "-c", RAW_HTTP, host, str(port), timeout=60, stdin=request)
    # The answer comes back as text, its CRLFs already read as newlines.
    head, _, body = result.stdout.replace("\r\n", "\n").partition("\n\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", head)
    return (int(m.group(1)) if m else None), head, body if m else (result.stdout + result.stderr).strip()[:300]


def store_request(authorization=None):
    lines = ["POST /store HTTP/1.1", "Host: ms1:8080", "Content-Type: application/json",
             f"Content-Length: {len(FOREIGN_MESSAGE)}", "Connection: close"]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    return "\r\n".join(lines) + "\r\n\r\n" + FOREIGN_MESSAGE


def upgrade_request():
    return "\r\n".join(["GET /ws HTTP/1.1", "Host: ms2:8081", "Upgrade: websocket", "Connection: Upgrade",
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "", ""])


def check_boundary(project, check, http_request, wait_for, own_token=None):
    """Runs every boundary check of one running project; own_token is the RINGTRACE_TOKEN it was
    started with (None: the generated token)."""
    v = project.variant

    # -- from the host: one way in ---------------------------------------------------------
    for service, ports in (("ms1", (8080,)), ("ms2", (8081, 8091)), ("ms3", (8092,))):
        bound = [project.compose("port", service, str(p)).stdout.strip() for p in ports]
        # `compose port` prints ":0" for a port that is not published.
        published = [b for b in bound if re.search(r":[1-9][0-9]*$", b)]
        check(f"{v}: {service} publishes none of its ports {ports} (the gateway is the way in)", not published, str(bound))
    gateway_port = project.compose("port", "gateway", "8080").stdout.strip()
    check(f"{v}: the gateway publishes its port on loopback", gateway_port == f"127.0.0.1:{project.port('RINGTRACE_GATEWAY_PORT')}",
          gateway_port)
    for method, body in (("POST", FOREIGN_MESSAGE.encode()), ("GET", None)):
        status, text, _ = http_request(project.gateway("/store"), method, body, {"Content-Type": "application/json"})
        check(f"{v}: {method} /store through the gateway: 404, not routed", status == 404 and '"not found"' in text,
              f"{status} {text.strip()[:120]}")
    request_id = f"compose-test-{int(time.time() * 1000)}"
    status, text, headers = http_request(project.gateway("/status"), headers={"X-Request-Id": request_id})
    check(f"{v}: GET /status through the gateway answers and returns the request id", status == 200 and
          headers.get("X-Request-Id") == request_id, f"{status} X-Request-Id={headers.get('X-Request-Id')!r}")
    logged = wait_for(10, lambda: request_id in project.compose("logs", "--no-color", "gateway").stdout)
    check(f"{v}: the gateway's access log (its stdout) has that request id", bool(logged))

    # -- the token ---------------------------------------------------------------------------
    read = project.compose("exec", "-T", "ms1", "cat", TOKEN_FILE, timeout=60)
    token = read.stdout.strip()
    if own_token is None:
        check(f"{v}: the token service generated a token (64 hex digits) in {TOKEN_FILE}",
              re.fullmatch(r"[0-9a-f]{64}", token) is not None, read.stderr.strip()[:200] or f"{len(token)} characters")
    else:
        check(f"{v}: {TOKEN_FILE} holds RINGTRACE_TOKEN", token == own_token, read.stderr.strip()[:200])

    # -- inside the network: the internal hops refuse strangers --------------------------------
    for label, authorization, reason in (("without a token", None, "missing bearer token"),
                                         ("with a wrong token", "Bearer not-the-token", "wrong bearer token")):
        status, head, body = raw_http(project, "ms1", 8080, store_request(authorization))
        check(f"{v}: POST /store to ms1 {label}, inside the network: 401 {reason}",
              status == 401 and reason in body and "www-authenticate: bearer" in head.lower(), f"{status} {body.strip()[:120]}")
    rows = project.sql(f"SELECT count(*) FROM messages WHERE session_id = {FOREIGN_SESSION}")
    check(f"{v}: nothing stored for the refused session {FOREIGN_SESSION}", rows == "0", rows)
    status, _, body = raw_http(project, "ms2", 8081, upgrade_request())
    check(f"{v}: WebSocket upgrade to ms2 without a token, inside the network: refused (401)", status == 401,
          f"{status} {body.strip()[:120]}")

    logs = project.compose("logs", "--no-color", "ms1", "ms2", "ms3").stdout
    check(f"{v}: no service logs that its hop is open ({OPEN_WARNING!r})", OPEN_WARNING not in logs)
    everything = project.compose("logs", "--no-color").stdout
    check(f"{v}: the token appears in no container's log", bool(token) and token not in everything)
