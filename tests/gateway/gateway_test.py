#!/usr/bin/env python3
"""The API gateway's own work, on Debian's nginx (installed by the harness) rendered from
gateway/ringtrace.conf.template, with no MS1 behind it:

  the page    GET / and /assets/{name} with the page's headers (ETag, Cache-Control no-cache,
              CSP default-src 'self', nosniff, the type with its charset); If-None-Match → 304;
              an unknown file, a POST, a name the gateway does not take, a body over its limit:
              JSON 404 / 405 / 413
  the traces  GET /traces/{id} relays a real trace from the native Jaeger (one span posted here
              over OTLP/HTTP) as Jaeger answers it, with X-Jaeger-UI when a UI is named; a
              trace Jaeger does not have is a JSON 404; a bad id a JSON 400 naming it; a query
              string a JSON 400; nothing else of Jaeger (its /api/services, /api/traces?…) is
              reachable; Jaeger down is a JSON 502; Jaeger that does not answer a JSON 504

  gateway_test.py   (JAEGER_QUERY, JAEGER_OTLP: the native Jaeger, default 127.0.0.1:16686 and :4318)

Own ports and directory; stops only the nginx processes it started. KEEP_GATEWAY=1 keeps the logs.
"""

import json
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts"))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
from ring_e2e import Checks  # noqa: E402
from ringtrace_harness.gateway import WEB, Gateway  # noqa: E402
from ringtrace_harness.ring import call  # noqa: E402
from ringtrace_harness.system import Fatal  # noqa: E402
from ringtrace_harness.wait import waits  # noqa: E402

PORT = 18990                    # the gateway with the real Jaeger; +1 Jaeger down; +2 a silent Jaeger
UNUSED = 18995                  # nothing listens here: MS1 and the missing Jaeger
UI = "http://127.0.0.1:16686"   # a UI for the header (the native Jaeger serves none: only the header is checked)
PAGE_HEADERS = {"Cache-Control": "no-cache", "Content-Security-Policy": "default-src 'self'",
                "X-Content-Type-Options": "nosniff"}


def error_of(body):
    try:
        return str(json.loads(body).get("error", ""))
    except (ValueError, AttributeError):
        return ""


def post_span(otlp, trace_id):
    """One span of service gateway-test under trace_id, over OTLP/HTTP JSON."""
    now = time.time_ns()
    body = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "gateway-test"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": trace_id, "spanId": secrets.token_hex(8), "name": "relayed", "kind": 2,
            "startTimeUnixNano": str(now - 1_000_000), "endTimeUnixNano": str(now),
            "attributes": [{"key": "probe", "value": {"stringValue": "gateway"}}]}]}]}]}
    status, _, text = call(f"{otlp}/v1/traces", "POST", json.dumps(body).encode(), {"Content-Type": "application/json"})
    if status != 200:
        raise Fatal(f"Jaeger's OTLP/HTTP at {otlp} answered {status}: {text[:200]}")


def silent_server():
    """A listener that accepts and never answers (a Jaeger too slow to answer): (port, stop)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held, done = [], threading.Event()

    def serve():
        sock.settimeout(0.2)
        while not done.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def stop():
        done.set()
        thread.join()
        for c in held:
            c.close()
        sock.close()
    return sock.getsockname()[1], stop


def page_checks(check, gw):
    url = gw.url
    for path, name, ctype in (("/", "index.html", "text/html; charset=utf-8"),
                              ("/?x=1", "index.html", "text/html; charset=utf-8"),
                              ("/assets/dashboard.js", "assets/dashboard.js", "text/javascript; charset=utf-8"),
                              ("/assets/jaeger_trace.js", "assets/jaeger_trace.js", "text/javascript; charset=utf-8"),
                              ("/assets/dashboard.css", "assets/dashboard.css", "text/css; charset=utf-8")):
        status, headers, body = call(url + path)
        with open(os.path.join(WEB, name)) as f:
            same = body == f.read()
        check(f"GET {path} serves {name} as {ctype}",
              status == 200 and same and headers.get("Content-Type") == ctype, f"{status} {headers.get('Content-Type')}")
        wrong = {k: headers.get(k) for k, v in PAGE_HEADERS.items() if headers.get(k) != v}
        check(f"GET {path} has the page's headers (no-cache, CSP default-src 'self', nosniff)", not wrong, str(wrong))
        etag = headers.get("ETag", "")
        check(f"GET {path} has a strong ETag ({etag})", etag.startswith('"') and etag.endswith('"'))
        for given in (etag, f"W/{etag}", f'"old", {etag}', "*"):
            status, headers, body = call(url + path, headers={"If-None-Match": given})
            wrong = {k: headers.get(k) for k, v in PAGE_HEADERS.items() if headers.get(k) != v}
            check(f"GET {path} with If-None-Match: {given} is 304 without a body, with the page's headers and the ETag",
                  status == 304 and body == "" and not wrong and headers.get("ETag") == etag, f"{status} {wrong}")
        check(f"GET {path} with another If-None-Match is 200", call(url + path, headers={"If-None-Match": '"old"'})[0] == 200)
    status, headers, body = call(url + "/assets/nope.css")
    check(f"an unknown file is the JSON 404 naming it ({status} {body.strip()})",
          status == 404 and error_of(body) == "no dashboard file /assets/nope.css"
          and headers.get("Content-Type") == "application/json")
    check("a file outside assets/ is not served under /assets/ (index.html)", call(url + "/assets/index.html")[0] == 404)
    check("/assets/ with a trailing segment is the gateway's 404", call(url + "/assets/dashboard.js/")[0] == 404)
    status, headers, body = call(url + "/", "POST", b"")
    check(f"POST / is a JSON 405 with Allow ({status} {body.strip()})",
          status == 405 and error_of(body) == "POST is not allowed on /" and "GET" in headers.get("Allow", ""))
    for path in ("/", "/assets/dashboard.js"):
        status, headers, body = call(url + path, "POST", b"x" * 4096)
        check(f"a body over the gateway's limit on {path} is its JSON 413 ({status} {body.strip()[:60]})",
              status == 413 and error_of(body) == "request body too large"
              and headers.get("Content-Type") == "application/json")
    check("every answer carries a request id", bool(call(url + "/")[1].get("X-Request-Id")))


def trace_checks(check, gw, otlp, jaeger):
    url = gw.url
    trace_id = secrets.token_hex(16)
    post_span(otlp, trace_id)
    got = [None]

    def relayed():
        status, headers, body = call(f"{url}/traces/{trace_id}")
        got[0] = (status, headers, body)
        try:
            spans = json.loads(body)["data"][0]["spans"] if status == 200 else []
        except (ValueError, KeyError, IndexError, TypeError):
            spans = []
        return any(s.get("operationName") == "relayed" for s in spans)
    ok = waits(30, relayed, 0.5)
    status, headers, body = got[0] or (0, {}, "")
    check(f"GET /traces/{{id}} relays the trace from Jaeger as Jaeger answers it ({status})", ok, body[:200])
    _, _, direct = call(f"{jaeger}/api/traces/{trace_id}")
    check("the relayed body is Jaeger's own answer, byte for byte", ok and body == direct)
    check(f"the relayed answer names the Jaeger UI in X-Jaeger-UI ({headers.get('X-Jaeger-UI')})", headers.get("X-Jaeger-UI") == UI)
    check("the relayed answer is JSON with a request id",
          headers.get("Content-Type", "").startswith("application/json") and bool(headers.get("X-Request-Id")))

    missing = secrets.token_hex(16)
    status, _, body = call(f"{url}/traces/{missing}")
    check(f"a trace Jaeger does not have is a JSON 404 ({status} {body.strip()})",
          status == 404 and error_of(body) == f"trace {missing} not found in Jaeger")
    status, _, body = call(f"{url}/traces/xyz")
    check(f"a bad id is a JSON 400 naming it ({status} {body.strip()})",
          status == 400 and error_of(body) == "trace id: expected 32 lowercase hex digits, got 'xyz'")
    status, _, body = call(f"{url}/traces/{trace_id.upper()}")
    check(f"an uppercase id is a JSON 400 ({status})", status == 400 and error_of(body).startswith("trace id:"))
    status, _, body = call(f"{url}/traces/{trace_id}?limit=1")
    check(f"a query string is a JSON 400 ({status} {body.strip()})", status == 400 and error_of(body))
    status, headers, body = call(f"{url}/traces/{trace_id}", "POST", b"{}", {"Content-Type": "application/json"})
    check(f"POST /traces/{{id}} is a JSON 405 with Allow: GET ({status})", status == 405 and headers.get("Allow") == "GET")
    # Nothing else of Jaeger: its other API paths are the gateway's plain 404, and a path that
    # tries to climb out of /traces/ never reaches it.
    for path in ("/api/services", f"/api/traces/{trace_id}", "/api/traces?service=gateway-test",
                 f"/traces/{trace_id}/../../api/services", f"/traces/{trace_id}/x", "/traces/", "/search",
                 f"/traces/%2e%2e/api/services", "/trace/" + trace_id):
        status, _, body = call(url + path)
        check(f"GET {path} reaches nothing of Jaeger ({status} {body.strip()[:80]})",
              status in (400, 404) and "data" not in body and error_of(body) != "")


def down_checks(check, work):
    down = Gateway(PORT + 1, f"127.0.0.1:{UNUSED}", os.path.join(work, "down"), jaeger=f"127.0.0.1:{UNUSED}", jaeger_ui="")
    silent_port, stop_silent = silent_server()
    slow = Gateway(PORT + 2, f"127.0.0.1:{UNUSED}", os.path.join(work, "slow"), jaeger=f"127.0.0.1:{silent_port}")
    try:
        down.start()
        trace_id = secrets.token_hex(16)
        status, headers, body = call(f"{down.url}/traces/{trace_id}")
        check(f"Jaeger down: a JSON 502 ({status} {body.strip()})",
              status == 502 and error_of(body) == f"Jaeger is not reachable at http://127.0.0.1:{UNUSED}")
        check("without a UI, no X-Jaeger-UI header", "X-Jaeger-UI" not in headers)
        status, _, body = call(f"{down.url}/status")
        check(f"MS1 down is still MS1's 502, not Jaeger's ({body.strip()})", status == 502 and error_of(body) == "MS1 unavailable")
        slow.start()
        t0 = time.monotonic()
        status, _, body = call(f"{slow.url}/traces/{trace_id}", timeout_s=30)
        took = time.monotonic() - t0
        check(f"Jaeger silent: a JSON 504 after the 5 s limit ({status} {body.strip()}, {took:.1f} s)",
              status == 504 and "did not answer in time" in error_of(body) and 4.5 <= took < 15)
    finally:
        down.stop()
        slow.stop()
        stop_silent()


def main():
    jaeger = os.environ.get("JAEGER_QUERY", "http://127.0.0.1:16686")
    otlp = os.environ.get("JAEGER_OTLP", "http://127.0.0.1:4318")
    work = tempfile.mkdtemp(prefix="ringtrace-gateway.")
    gw = Gateway(PORT, f"127.0.0.1:{UNUSED}", os.path.join(work, "gateway"),
                 jaeger=urllib.parse.urlsplit(jaeger).netloc, jaeger_ui=UI)
    check = Checks()
    try:
        gw.start()
        page_checks(check, gw)
        trace_checks(check, gw, otlp, jaeger)
        down_checks(check, work)
    except Fatal as e:
        check("the gateway and Jaeger answered", False, str(e))
    finally:
        gw.stop()
        if check.failed or os.environ.get("KEEP_GATEWAY"):
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"gateway: {check.passed} passed, {check.failed} failed")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
