"""The dashboard and its reports, checked on a running compose project (compose_test.py runs it).

Through the gateway, as a user's browser would reach them: the page and its files, the sessions
list, a finished session's report (which must agree with the database, asked with `exec`), the
gateway's relay of one of its slowest messages' traces from the official Jaeger image (Jaeger's
own answer, which the page reads), naming that image's UI for the page's link; and MS1's latency
line after the finish line.
"""

import json
import re

LATENCY = re.compile(r"interaction latency: session_id=(\d+) ms1_to_ms2_p50_ms=\S+ ms1_to_ms2_p99_ms=\S+ "
                     r"ms2_to_ms3_p50_ms=\S+ ms2_to_ms3_p99_ms=\S+ ms3_to_ms1_p50_ms=\S+ ms3_to_ms1_p99_ms=\S+ "
                     r"cycle_p50_ms=(\S+) cycle_p99_ms=(\S+)")


def latency_line(project, session):
    for line in project.compose("logs", "--no-color", "ms1").stdout.splitlines():
        m = LATENCY.search(line)
        if m and m.group(1) == str(session):
            return m
    return None


def get_json(http_request, url):
    status, text, headers = http_request(url)
    try:
        return status, json.loads(text), headers
    except ValueError:
        return status, None, headers


def check_dashboard(project, check, http_request, wait_for, session, messages):
    """Runs the dashboard checks on finished session `session` of `messages` stored messages."""
    v = project.variant
    line = wait_for(30, lambda: latency_line(project, session))
    check(f"{v}: `logs ms1` has the latency line of session {session} after its finish line", line is not None,
          line.group(0) if line else "")

    status, text, headers = http_request(project.gateway("/"))
    csp = headers.get("Content-Security-Policy", "")
    check(f"{v}: GET / through the gateway serves the dashboard (HTML, CSP default-src 'self')",
          status == 200 and headers.get("Content-Type", "").startswith("text/html") and "default-src 'self'" in csp
          and "<html" in text.lower(), f"{status} {headers.get('Content-Type')} {csp}")
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', text)
    served = [http_request(project.gateway(a))[0] for a in assets]
    check(f"{v}: the page's own files come from the gateway too, nothing from elsewhere",
          bool(assets) and served == [200] * len(assets) and "http" not in "".join(assets), f"{assets} {served}")

    status, listing, _ = get_json(http_request, project.gateway("/sessions?limit=5"))
    ids = [s.get("session_id") for s in (listing or {}).get("sessions", [])]
    check(f"{v}: GET /sessions through the gateway lists session {session}, newest first",
          status == 200 and session in ids and ids == sorted(ids, reverse=True), f"{status} {ids}")

    status, report, _ = get_json(http_request, project.gateway(f"/sessions/{session}"))
    if not check(f"{v}: GET /sessions/{session} through the gateway answers a report", status == 200 and report, str(status)):
        return
    legs = {leg["leg"]: leg for leg in report.get("legs", [])}
    cycle = legs.get("cycle", {})
    c = project.spec["columns"]
    if project.spec["db"] == "postgres":
        us = f"(EXTRACT(EPOCH FROM ({c[3]} - {c[0]})) * 1000000)::bigint"
    else:
        us = f"TIMESTAMPDIFF(MICROSECOND, {c[0]}, {c[3]})"
    sql = project.sql(f"SELECT concat(count(*), ',', min({us}), ',', max({us})) FROM messages WHERE session_id = {session}")
    expected = [int(x) for x in sql.split(",")] if re.fullmatch(r"\d+,-?\d+,-?\d+", sql) else None
    got = [cycle.get("count"), round((cycle.get("min_ms") or 0) * 1000), round((cycle.get("max_ms") or 0) * 1000)]
    check(f"{v}: the report's cycle count, min and max agree with SQL on the database", expected == got and got[0] == messages,
          f"report {got}, SQL {sql}")
    check(f"{v}: every leg has histogram buckets", all(sum(b["count"] for b in legs.get(k, {}).get("buckets", [])) > 0
                                                      for k in ("ms1_to_ms2", "ms2_to_ms3", "ms3_to_ms1", "cycle")),
          str(sorted(legs)))
    points = report.get("throughput", {}).get("points", [])
    check(f"{v}: the throughput timeline adds up to the stored messages", sum(p["messages"] for p in points) == messages,
          f"{sum(p['messages'] for p in points)} of {messages}")

    slowest = [m for m in report.get("slowest", []) if m.get("trace_id")]
    if not check(f"{v}: the report's slowest messages carry their trace ids", bool(slowest), str(report.get("slowest"))[:200]):
        return
    trace_id = slowest[0]["trace_id"]

    def relayed():
        status, answer, headers = get_json(http_request, project.gateway(f"/traces/{trace_id}"))
        trace = ((answer or {}).get("data") or [{}])[0] if isinstance(answer, dict) else {}
        processes = trace.get("processes") or {}
        services = {processes.get(s.get("processID"), {}).get("serviceName") for s in trace.get("spans", [])}
        return (headers, services) if status == 200 and {"ms1", "ms2", "ms3"} <= services else None
    got = wait_for(30, relayed, 1.0)
    check(f"{v}: GET /traces/{{id}} relays Jaeger's answer for the slowest message's trace: spans of ms1, ms2 and ms3",
          got is not None, str(got[1]) if got else "")
    if got:
        ui = got[0].get("X-Jaeger-UI") or ""
        check(f"{v}: the relayed trace names the Jaeger UI on its published port (X-Jaeger-UI) for the page's link",
              ui == f"http://127.0.0.1:{project.port('RINGTRACE_JAEGER_UI_PORT')}", ui)
    status, text, _ = http_request(project.gateway("/api/services"))
    check(f"{v}: nothing else of Jaeger through the gateway (GET /api/services is 404)", status == 404, f"{status} {text[:80]}")
