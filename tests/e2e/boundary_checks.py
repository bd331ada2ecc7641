"""The e2e's checks of the trust boundaries, against the ring and gateway ring_e2e.py started:

  gateway_checks  the API gateway, the one public entry: /store is not routed, the dashboard's page
                  is the gateway's own and a bad trace id its JSON 400, request ids are returned
                  and logged, traceparent reaches MS1, a burst on the control routes is cut with
                  429 (from a second loopback address, so the e2e's own calls keep their budget)
  token_checks    the internal hops, straight to MS1 and MS2 (the gateway is not their guard):
                  POST /store without or with a wrong token is 401, an unknown session or an id
                  its session never sent is 422, a WebSocket upgrade to MS2 without the token is
                  401; nothing of it is stored
"""

import datetime
import json
import os
import re
import secrets
import socket

from ringtrace_harness.ring import call, http
from ringtrace_harness.wait import waits

JSON = {"Content-Type": "application/json"}
# No real session gets an id this large (they count up from 1), so any row under it is a leak.
UNKNOWN_SESSION = 8_000_000_000_000 + os.getpid()


def message(session_id, message_id, stamps):
    """A well-formed message that has been through all three hops, as MS3 posts it."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps({"id": message_id, "session_id": session_id, **{c: now for c in stamps}}).encode()


def error_of(body):
    """The "error" text of a JSON answer, or ""."""
    try:
        return str(json.loads(body).get("error", ""))
    except (ValueError, AttributeError):
        return ""


def read(path):
    """The text of a log file, or "" while it does not exist yet."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def log_line(path, request_id):
    """The access log line of the request with this id, waiting briefly for it; "" when none."""
    found = [""]

    def probe():
        found[0] = next((ln for ln in read(path).splitlines() if f"request_id={request_id} " in ln), "")
        return found[0]
    waits(5, probe, 0.1)
    return found[0]


def gateway_checks(check, gw, sql, stamps, jaeger):
    """Run while MS1 is idle and healthy."""
    api = gw.url

    # -- /store is not routed: the gateway answers by itself, MS1 never sees the request ---------
    store_id = f"e2e-store-{secrets.token_hex(4)}"
    status, _, body = call(api + "/store", "POST", message(UNKNOWN_SESSION, 1, stamps),
                           {**JSON, "X-Request-Id": store_id})
    check.eq("POST /store through the gateway is 404", status, 404)
    check.eq("the gateway's 404 is JSON", error_of(body), "not found")
    check.eq("POST /store through the gateway stores no row", sql.count(UNKNOWN_SESSION), 0)
    check.eq("GET /store/ through the gateway is 404", call(api + "/store/")[0], 404)
    check.eq("a path under a route (/start/x) through the gateway is 404", call(api + "/start/x")[0], 404)
    # -- the reports reach MS1 (its own 400s name the parameter); nothing below them; the page and
    # -- the traces are the gateway's own ------------------------------------------------------------
    status, _, body = call(api + "/sessions?limit=0")
    check(f"GET /sessions through the gateway is MS1's 400 naming the bad limit ({status} {body.strip()})",
          status == 400 and "'limit'" in error_of(body))
    status, _, body = call(api + "/traces/xyz")
    check(f"GET /traces/{{id}} through the gateway is the gateway's JSON 400 naming a bad id ({status} {body.strip()})",
          status == 400 and error_of(body) == "trace id: expected 32 lowercase hex digits, got 'xyz'")
    status, _, body = call(api + "/sessions/abc")
    check(f"GET /sessions/{{id}} through the gateway is MS1's 400 for a bad id ({status} {body.strip()})",
          status == 400 and error_of(body).startswith("session id"))
    check.eq("a path under a report (/sessions/1/x) through the gateway is 404", call(api + "/sessions/1/x")[0], 404)
    status, headers, body = call(api + "/")
    check(f"GET / through the gateway is the dashboard's page, served by the gateway ({status} {headers.get('Content-Type')})",
          status == 200 and headers.get("Content-Type") == "text/html; charset=utf-8"
          and headers.get("Content-Security-Policy") == "default-src 'self'" and "<html" in body
          and "upstream_time=- " in log_line(gw.access_log, headers.get("X-Request-Id", "-")))
    check.eq("GET /api/services through the gateway (Jaeger's, not relayed) is 404", call(api + "/api/services")[0], 404)
    check("the gateway's own 404 is logged without an upstream time",
          "upstream_time=- " in log_line(gw.access_log, store_id), log_line(gw.access_log, store_id))

    # -- request ids: generated, or the client's, returned and logged; traceparent passed to MS1 --
    _, headers, _ = call(api + "/status")
    generated = headers.get("X-Request-Id", "")
    check(f"the gateway returns a generated X-Request-Id ({generated})", re.fullmatch(r"[0-9a-f]{32}", generated))
    given = f"e2e-{os.getpid()}-{secrets.token_hex(4)}"
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    status, headers, _ = call(api + "/stop", headers={"X-Request-Id": given,
                                                      "traceparent": f"00-{trace_id}-{parent}-01"})
    check.eq("GET /stop while idle through the gateway is MS1's 409", status, 409)
    check.eq("a given X-Request-Id is echoed", headers.get("X-Request-Id"), given)
    _, headers, _ = call(api + "/status", headers={"X-Request-Id": "two words"})
    replaced = headers.get("X-Request-Id", "")
    check(f"a request id that is not a plain token is replaced ({replaced})", re.fullmatch(r"[0-9a-f]{32}", replaced))
    line = log_line(gw.access_log, given)
    check("the access log line carries the request id, status, MS1's time and the traceparent",
          "status=409 " in line and re.search(r" upstream_time=\d+\.\d+ ", line) and trace_id in line,
          line or f"no line with request_id={given} in {gw.access_log}")

    def traced():
        _, text = http(f"{jaeger}/api/traces/{trace_id}", timeout_s=5)
        try:
            trace = (json.loads(text).get("data") or [{}])[0]
        except (ValueError, AttributeError, IndexError):
            return False
        processes = trace.get("processes", {})
        return any(s.get("operationName") == "GET /stop"
                   and processes.get(s.get("processID"), {}).get("serviceName") == "ms1"
                   and any(r.get("spanID") == parent for r in s.get("references", []))
                   for s in trace.get("spans", []))
    check("traceparent passes the gateway: MS1's span of GET /stop is a child of the caller's span",
          waits(30, traced, 0.5))

    # -- a burst over the control limit, from a second client (127.0.0.2) ------------------------
    burst = [call(api + "/stop", source="127.0.0.2") for _ in range(40)]
    codes = [c for c, _, _ in burst]
    check(f"a burst of /stop from one client is cut with 429 ({' '.join(map(str, codes))})",
          codes[0] == 409 and 429 in codes)
    refused = next(((h, b) for c, h, b in burst if c == 429), ({}, ""))
    check.eq("the 429 is JSON", error_of(refused[1]), "too many requests")
    check("the 429 says when to retry (Retry-After) and carries a request id",
          refused[0].get("Retry-After") and refused[0].get("X-Request-Id"))
    check.eq("another client is not limited by that burst (GET /stop is 409)", call(api + "/stop")[0], 409)


def ws_upgrade_status(port, path, token=None):
    """The status code MS2 answers a WebSocket upgrade request with (0: no answer)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               + (f"Authorization: Bearer {token}\r\n" if token else "") + "\r\n")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(request.encode())
            head = conn.recv(4096).decode(errors="replace")
    except OSError:
        return 0
    m = re.match(r"HTTP/1\.1 (\d{3}) ", head)
    return int(m.group(1)) if m else 0


def token_checks(check, ms1, ms2_port, sql, token, stamps, session, messages):
    """Run while MS1 is idle; SESSION is a finished session that sent MESSAGES messages."""
    auth = {"Authorization": f"Bearer {token}"}
    unknown = message(UNKNOWN_SESSION, 1, stamps)

    def store(body, headers):
        return call(ms1 + "/store", "POST", body, {**JSON, **headers})

    status, headers, body = store(unknown, {})
    check.eq("POST /store to MS1 without the token is 401", status, 401)
    check.eq("the 401 without the token says so", error_of(body), "missing bearer token")
    check("the 401 names the scheme (WWW-Authenticate: Bearer)", headers.get("WWW-Authenticate", "").startswith("Bearer"))
    check.eq("POST /store with another scheme (Basic) is 401", store(unknown, {"Authorization": "Basic cmluZzp0cmFjZQ=="})[0], 401)
    status, _, body = store(unknown, {"Authorization": f"Bearer {token}x"})
    check.eq("POST /store with a wrong token is 401", status, 401)
    check.eq("the 401 with a wrong token says so", error_of(body), "wrong bearer token")
    check.eq("POST /store without or with a wrong token stores no row", sql.count(UNKNOWN_SESSION), 0)
    status, _, body = store(unknown, auth)
    check(f"POST /store with the token for an unknown session is 422 unknown session ({status} {body.strip()})",
          status == 422 and error_of(body).startswith("unknown session"))
    check.eq("the unknown session's message is not stored", sql.count(UNKNOWN_SESSION), 0)
    never_sent = messages + 1000
    status, _, body = store(message(session, never_sent, stamps), auth)
    check(f"POST /store of an id the session never sent is 422 unknown message id ({status} {body.strip()})",
          status == 422 and error_of(body).startswith("unknown message id"))
    check.eq("the never-sent id is not stored",
             sql.scalar(f"SELECT count(*) FROM messages WHERE session_id={session} AND id={never_sent}"), 0)
    if sql.count(UNKNOWN_SESSION):
        sql.clear_unowned_rows()  # a failed check above wrote rows; keep them from later runs
    sql.rows(f"DELETE FROM messages WHERE session_id={session} AND id={never_sent}")

    check.eq("a WebSocket upgrade to MS2 without the token is 401", ws_upgrade_status(ms2_port, "/ws"), 401)
    check.eq("a WebSocket upgrade to MS2 with a wrong token is 401", ws_upgrade_status(ms2_port, "/ws", token + "x"), 401)
