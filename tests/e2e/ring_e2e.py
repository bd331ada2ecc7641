#!/usr/bin/env python3
"""End to end: the three binaries on the real Kafka broker and database (scripts/infra.sh up),
with the API gateway (nginx, scripts/ringtrace_harness/gateway.py) in front of MS1 and a token on
the internal hops.

  ring_e2e.py [--db postgresql|mariadb] [--naming service|mc]   (RINGTRACE_BIN: ms1/ms2/ms3)

The control and read calls (/start, /stop, /status, /healthz, /metrics, the reports) go through the
gateway, as a user's do, and so do the page and a trace, which only the gateway serves; POST /store and the trust checks go straight to MS1 and MS2 (boundary_checks.py).
Uses its own ports (the gateway's too), topic, consumer group and log directory, so it can run
beside scripts/run.sh and scripts/infra.sh up gateway. KEEP_E2E=1 keeps the logs of a passing run too.
"""

import argparse
import glob
import os
import json
import math
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from boundary_checks import gateway_checks, read, token_checks  # noqa: E402
from ringtrace_harness.db import Database  # noqa: E402
from ringtrace_harness.gateway import Gateway  # noqa: E402
from ringtrace_harness.ring import Ring, RingError, field, http, metric  # noqa: E402
from ringtrace_harness.system import Fatal  # noqa: E402
from ringtrace_harness.wait import waits  # noqa: E402
from span_count import SpanCount  # noqa: E402

CONFIG = os.path.join(REPO, "config", "ringtrace.yaml")
JSON = {"Content-Type": "application/json"}


class Checks:
    """ok/FAIL lines and their tally."""

    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, what, ok, detail=None):
        if ok:
            self.passed += 1
            print(f"ok   - {what}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL - {what}", flush=True)
            if detail:
                print(f"       {detail}", file=sys.stderr, flush=True)
        return ok

    def eq(self, what, got, want):
        return self(what, str(got) == str(want), f"expected '{want}', got '{got}'")


def session_of(body):
    m = re.search(r'"session_id":(\d+)', body or "")
    return int(m.group(1)) if m else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgresql", choices=["postgresql", "mariadb"])
    parser.add_argument("--naming", default="service", choices=["service", "mc"])
    args = parser.parse_args()
    db, naming = args.db, args.naming
    bin_dir = os.environ.get("RINGTRACE_BIN", os.path.join(REPO, "build", "bin"))
    if naming == "mc":
        c1, c2, c3, base = "MC1_timestamp", "MC2_timestamp", "MC3_timestamp", 18280
    else:
        c1, c2, c3, base = "service1_timestamp", "service2_timestamp", "service3_timestamp", 18180
    if db == "mariadb":
        base += 200
    work = tempfile.mkdtemp(prefix="ringtrace-e2e.")
    env = dict(os.environ)
    token = secrets.token_hex(16)
    env.update({
        "RINGTRACE__SECURITY__TOKEN": token,
        "RINGTRACE__MESSAGE__NAMING": naming, "RINGTRACE__DATABASE__DRIVER": db,
        "RINGTRACE__INTERACTION__DURATION_SECONDS": "5", "RINGTRACE__INTERACTION__DRAIN_TIMEOUT_MS": "2000",
        "RINGTRACE__MS1__PORT": str(base), "RINGTRACE__MS1__MS2_URL": f"ws://127.0.0.1:{base + 1}/ws",
        "RINGTRACE__MS2__PORT": str(base + 1), "RINGTRACE__MS2__ADMIN_PORT": str(base + 2),
        "RINGTRACE__MS3__ADMIN_PORT": str(base + 3), "RINGTRACE__MS3__STORE_URL": f"http://127.0.0.1:{base}/store",
        "RINGTRACE__KAFKA__TOPIC": f"ringtrace.e2e.{db}.{naming}.{os.getpid()}",
        "RINGTRACE__KAFKA__GROUP_ID": f"ringtrace-e2e-{db}-{naming}-{os.getpid()}",
        "RINGTRACE__LOGGING__DIRECTORY": os.path.join(work, "logs"), "RINGTRACE__LOGGING__LEVEL": "info",
    })
    ring = Ring(bin_dir, CONFIG, work, env)
    jaeger = urllib.parse.urlsplit(os.environ.get("JAEGER_QUERY", "http://127.0.0.1:16686")).netloc
    gateway = Gateway(base + 4, ring.ms1_address, os.path.join(work, "gateway"), jaeger=jaeger)
    sql = Database(db, env=env)
    check = Checks()
    try:
        run(ring, gateway, sql, check, env, work, bin_dir, naming, (c1, c2, c3), token)
    except (RingError, Fatal) as e:
        check("the ring and its gateway started", False, str(e))
    finally:
        ring.stop_all()
        gateway.stop()
        if check.failed or os.environ.get("KEEP_E2E"):
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"e2e ({db}, {naming}): {check.passed} passed, {check.failed} failed")
    return 1 if check.failed else 0


def run(ring, gateway, sql, check, env, work, bin_dir, naming, stamps, token):
    c1, c2, c3 = stamps
    ms1 = ring.ms1
    admin2, admin3 = ring.admin["ms2"], ring.admin["ms3"]
    code = lambda url, **kw: http(url, **kw)[0]  # noqa: E731
    ready = lambda: ring.healthz() == 200  # noqa: E731
    count = sql.count
    gateway.start()
    ring.through(gateway.url)
    api = ring.api
    ring.start()
    ring.wait_ready()
    jaeger = os.environ.get("JAEGER_QUERY", "http://127.0.0.1:16686")

    # -- routes and bad input ---------------------------------------------------------------------
    check.eq("GET /stop while idle is 409", code(api + "/stop"), 409)
    check.eq("unknown path is 404", code(api + "/nope"), 404)
    check.eq("unknown path on MS1 itself is 404", code(ms1 + "/nope"), 404)
    for path in ("/", "/assets/dashboard.js", "/traces/0123456789abcdef0123456789abcdef"):
        check.eq(f"GET {path} on MS1 itself is 404: the page and the traces are the gateway's", code(ms1 + path), 404)
    check.eq("POST /start is 405", code(api + "/start", method="POST"), 405)
    auth = {**JSON, "Authorization": f"Bearer {token}"}
    store = lambda body: code(ms1 + "/store", method="POST", body=body, headers=auth)  # noqa: E731
    check.eq("malformed JSON on /store is 400", store(b"{bad"), 400)
    check.eq("oversized /store body is 413", store(b"x" * 70000), 413)
    other = "service1_timestamp" if naming == "mc" else "MC1_timestamp"
    check.eq("/store with the other naming is 400", store(f'{{"id":1,"session_id":1,"{other}":null}}'.encode()), 400)
    check.eq("/store of a message that skipped hops is 422", store(b'{"id":1,"session_id":1}'), 422)
    old = "".join(f'"{c}":"0999-12-31T23:59:59.000000Z",' for c in (c1, c2, c3))
    check.eq("/store with a stamp before the year 1000 is 422", store(f'{{{old}"id":1,"session_id":1}}'.encode()), 422)
    check("MS1 still healthy after bad input", ready())

    # -- the API gateway in front of MS1 (boundary_checks.py) -------------------------------------
    gateway_checks(check, gateway, sql, stamps, jaeger)

    # -- a 5 s session: rows = finish line's messages, four ordered timestamps ---------------------
    spans = SpanCount(ring.metrics, jaeger)
    check("the exporters settled before the session (ringtrace_spans_queued 0 in ms1, ms2, ms3)", spans.before())
    _, start_body = ring.get("/start/")
    session = session_of(start_body)
    check(f"GET /start/ starts a session ({start_body})", session is not None)
    check.eq("a second GET /start is 409", code(api + "/start"), 409)
    stdout = ring.path("ms1", "stdout")
    check("start line printed", f"interaction started: session_id={session} duration=5s window=1" in lines(stdout))
    ms1_log = os.path.join(work, "logs", "ms1.log")
    check("start line logged to the log file", f"interaction started: session_id={session} " in read(ms1_log))
    line = finish(ring, session, 40)
    print(f"       {line}")
    messages = int(field(line, "messages") or 0)
    check("finish line printed with messages > 0", messages > 0)
    check("finish line logged to the log file", f"interaction finished: session_id={session} " in read(ms1_log))
    check.eq("reason=duration", field(line, "reason"), "duration")
    check.eq("stored = messages", field(line, "stored"), messages)
    elapsed = float((field(line, "elapsed") or "0s").rstrip("s"))
    check(f"elapsed ({elapsed}s) is about 5 s", 5.0 <= elapsed < 10.0)
    check.eq("rows in messages = messages", count(session), messages)
    check.eq("ids are 1..messages", sql.scalar(
        f"SELECT concat(count(DISTINCT id), ',', min(id), ',', max(id)) FROM messages WHERE session_id={session}"),
        f"{messages},1,{messages}")
    q = sql.quote
    check.eq("every row has four ordered timestamps", sql.scalar(
        f"SELECT count(*) FROM messages WHERE session_id={session} AND {q(c1)} <= {q(c2)} AND {q(c2)} <= {q(c3)} "
        f"AND {q(c3)} <= end_timestamp"), messages)
    check("timestamps carry microseconds", int(sql.scalar(
        f"SELECT count(*) FROM messages WHERE session_id={session} AND {sql.micros(q(c2))} % 1000 <> 0")) > 0)
    check.eq("session recorded in sessions", sql.scalar(
        f"SELECT concat(reason, ',', sent, ',', stored) FROM sessions WHERE session_id={session}"),
        f"duration,{messages},{messages}")
    # -- every span of the session, per service: exporter, Jaeger and the code agree (span_count.py) --
    resent = int(sql.scalar(f"SELECT coalesce(resent, 0) FROM sessions WHERE session_id={session}") or 0)
    verdict = spans.after(session, messages, resent, control=2)  # GET /start/ and the refused GET /start
    print(f"       {verdict.summary}")
    for what, ok, detail in verdict.lines:
        check(f"spans: {what}", ok, detail)
    report_checks(ring, check, sql, jaeger, session, messages)

    # -- the internal hops' token, straight to MS1 and MS2 (boundary_checks.py) -------------------
    token_checks(check, ms1, int(env["RINGTRACE__MS2__PORT"]), sql, token, stamps, session, messages)

    # -- /metrics and /healthz on all three, read the way Prometheus and the container probes do ----
    def m(url, series):
        v = metric(http(url + "/metrics")[1], series)
        return None if v is None else int(v) if v == int(v) else v
    at_least = lambda v, n: v is not None and v >= n  # noqa: E731
    check.eq("MS1 /metrics: stored requests = messages", m(api, 'ringtrace_store_requests_total{outcome="stored"}'), messages)
    check("MS1 /metrics: the bad /store requests above are counted as rejected",
          at_least(m(api, 'ringtrace_store_requests_total{outcome="rejected"}'), 3))
    check("MS1 /metrics: the /store requests without or with a wrong token are counted as unauthorized",
          at_least(m(api, 'ringtrace_store_requests_total{outcome="unauthorized"}'), 3))
    check("MS1 /metrics: the unknown session is counted",
          at_least(m(api, 'ringtrace_store_requests_total{outcome="unknown_session"}'), 1))
    check("MS1 /metrics: the id the session never sent is counted",
          at_least(m(api, 'ringtrace_store_requests_total{outcome="unknown_id"}'), 1))
    check.eq("MS1 /metrics: one cycle latency per stored message", m(api, 'ringtrace_hop_latency_seconds_count{hop="cycle"}'), messages)
    check.eq("MS1 /metrics: every Kafka hop within 10 s",
             m(api, 'ringtrace_hop_latency_seconds_bucket{hop="ms2_to_ms3",le="10"}'), messages)
    check.eq("MS1 /metrics: nothing in flight after the session", m(api, "ringtrace_messages_in_flight"), 0)
    check("MS2 /metrics: every message acknowledged by the broker", at_least(m(admin2, "ringtrace_kafka_produced_total"), messages))
    check("MS2 /metrics: delivery latency observed per record",
          at_least(m(admin2, "ringtrace_kafka_delivery_latency_seconds_count"), messages))
    check.eq("MS3 /metrics: records stored = messages", m(admin3, 'ringtrace_records_total{outcome="stored"}'), messages)
    check("MS3 /metrics: commit lag drains to 0", waits(10, lambda: m(admin3, "ringtrace_kafka_commit_lag") == 0, 0.1))
    estimate_checks(check, api, admin3)
    served = set()
    for url in (api, admin2, admin3):
        served |= {re.split(r"[{ ]", ln, 1)[0] for ln in http(url + "/metrics")[1].splitlines() if ln and not ln.startswith("#")}
    documented = set()
    for doc in ["README.md", "docs/openapi.yaml"] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md"))):
        documented |= set(re.findall(r"ringtrace_[a-z0-9_]+", read(os.path.join(REPO, doc))))
    documented -= {"ringtrace_harness", "ringtrace_token"}  # the Python package and the compose volume: not metrics
    missing = sorted(n for n in documented if not any(s in served for s in (n, n + "_bucket", n + "_sum", n + "_count")))
    check("every metric named in the docs is served", not missing, f"documented but not served: {' '.join(missing)}")
    probe = lambda url: subprocess.run([os.path.join(bin_dir, "ringtrace-probe"), url, "--timeout-ms", "3000"],  # noqa: E731
                                       capture_output=True).returncode == 0
    check("container health check of MS1 passes (ringtrace-probe /healthz)", probe(api + "/healthz"))
    check("container health check of MS2 passes", probe(admin2 + "/healthz"))
    check("container health check of MS3 passes", probe(admin3 + "/healthz"))

    def some_sent():
        got = ring.json("/status", 5) or {}
        return got.get("sent", 0) >= 3

    # -- /stop ends a session early -----------------------------------------------------------------
    session2 = session_of(ring.get("/start")[1])
    check("second session gets a larger session_id", (session2 or 0) > session)
    waits(20, some_sent, 0.1)
    _, stop_body = ring.get("/stop/", 20)
    check(f"GET /stop/ answers with the summary ({stop_body})", '"reason":"stop"' in stop_body)
    line2 = finish(ring, session2, 0)
    print(f"       {line2}")
    check.eq("finish line reason=stop", field(line2, "reason"), "stop")
    elapsed2 = float((field(line2, "elapsed") or "0s").rstrip("s"))
    check(f"stopped before the 5 s interval ({elapsed2}s)", 0 < elapsed2 < 5.0)
    check.eq("rows = messages after /stop", count(session2), field(line2, "messages"))

    # -- MS2 goes away and comes back: MS1 refuses to start, then reconnects by itself ------------
    check.eq("MS2 exits cleanly on SIGTERM", ring.stop("ms2"), 0)
    check("MS1 reports the lost MS2 link on /healthz", waits(10, lambda: ring.healthz() == 503, 0.1))
    check.eq("GET /start without MS2 is 503", code(api + "/start"), 503)
    ring.start("ms2")
    check("MS1 reconnects to a restarted MS2", waits(30, ready, 0.1))
    ring.get("/start")
    waits(20, some_sent, 0.1)
    _, line3 = ring.get("/stop", 20)
    check(f"a session runs after the reconnect ({line3})", re.search(r'"stored":[1-9]', line3) is not None)

    # -- MS2 dies mid-session: MS1 resends what was in flight, nothing is lost -----------------------
    session4 = session_of(ring.get("/start")[1])
    waits(20, some_sent, 0.1)
    check.eq("MS2 stops mid-session", ring.stop("ms2"), 0)
    ring.start("ms2")
    check("MS1 reconnects mid-session", waits(30, ready, 0.1))
    waits(20, some_sent, 0.1)
    _, stop4 = ring.get("/stop", 20)
    check(f"GET /stop after the reconnect ({stop4})", f'"session_id":{session4},' in stop4)
    line4 = finish(ring, session4, 0)
    print(f"       {line4}")
    check.eq("no message lost across the MS2 restart (stored = messages)", field(line4, "stored"), field(line4, "messages"))
    check.eq("rows = messages across the MS2 restart", count(session4), field(line4, "messages"))

    # -- MS3 stops mid-session: the session drains, times out, counts the message lost; two /stop ---
    # -- calls both get the summary; MS3 restarts and the uncommitted message is still stored -------
    session5 = session_of(ring.get("/start")[1])
    waits(20, some_sent, 0.1)
    check.eq("MS3 stops mid-session", ring.stop("ms3"), 0)
    answers = {}
    first = threading.Thread(target=lambda: answers.update(a=ring.get("/stop", 20)[1]))
    first.start()
    answers["b"] = ring.get("/stop/", 20)[1]
    first.join()
    check.eq("two /stop calls during the drain both get the summary",
             sum(f'"session_id":{session5},' in answers.get(k, "") for k in "ab"), 2)
    check("the message stuck in Kafka is counted lost", re.search(r'"lost":[1-9]', answers.get("a", "")) is not None)
    line5 = finish(ring, session5, 0)
    print(f"       {line5}")
    ring.start("ms3")
    check("after MS3 restarts, every generated message is stored (rows = messages)",
          waits(30, lambda: str(count(session5)) == str(field(line5, "messages")), 0.1))

    # -- SIGTERM to MS1 mid-session: it drains, records the session as shut down, exits 0 -----------
    session6 = session_of(ring.get("/start")[1])
    waits(20, some_sent, 0.1)
    check.eq("MS1 exits cleanly on SIGTERM during a session", ring.stop("ms1"), 0)
    line6 = finish(ring, session6, 0)
    print(f"       {line6}")
    check.eq("finish line reason=shutdown", field(line6, "reason"), "shutdown")
    check.eq("rows = messages after the shutdown drain", count(session6), field(line6, "messages"))
    check.eq("session recorded as shut down", sql.scalar(f"SELECT reason FROM sessions WHERE session_id={session6}"), "shutdown")

    # -- graceful shutdown: each still running until its SIGTERM, then exit status 0 ----------------
    for svc in ("ms3", "ms2"):
        running = ring.alive(svc)
        status = ring.stop(svc)
        check(f"{svc} ran to the end and exits cleanly on SIGTERM", running and status == 0,
              f"running before SIGTERM: {running}, exit status {status}; {ring.tail(svc, 3)}")

    # -- bad configuration stops each service at startup, naming the key ----------------------------
    for svc in ("ms1", "ms2", "ms3"):
        exe = os.path.join(bin_dir, svc)
        got = subprocess.run([exe, "--config", CONFIG], env=dict(env, RINGTRACE__INTERACTION__WINDOW="many"),
                             capture_output=True, text=True)
        check.eq(f"{svc} exits 2 on a bad value, naming it",
                 f"{got.returncode},{named(got.stderr, 'RINGTRACE__INTERACTION__WINDOW')}",
                 "2,1")
        got = subprocess.run([exe, "--config", os.path.join(work, "missing.yaml")], env=env, capture_output=True)
        check.eq(f"{svc} exits 2 on a missing config file", got.returncode, 2)
        check(f"{svc} --help", subprocess.run([exe, "--help"], env=env, capture_output=True).returncode == 0)
        check(f"{svc} --check-config accepts this run's configuration",
              subprocess.run([exe, "--config", CONFIG, "--check-config"], env=env, capture_output=True).returncode == 0)
        got = subprocess.run([exe, "--config", CONFIG, "--check-config"], env=dict(env, RINGTRACE__MS3__STORE_URL="ms1:8080"),
                             capture_output=True, text=True)
        check.eq(f"{svc} --check-config refuses a bad URL with exit 2, naming it",
                 f"{got.returncode},{named(got.stderr, 'RINGTRACE__MS3__STORE_URL')}", "2,1")


def estimate_checks(check, api, admin3):
    """The ring's clock estimates on loopback: one host, one clock, so every true offset is 0, and
    each estimate's interval (offset ± uncertainty) must hold it."""
    def estimate(url, clock):
        text = http(url + "/metrics")[1]
        offset = metric(text, f'ringtrace_clock_offset_seconds{{clock="{clock}"}}')
        uncertainty = metric(text, f'ringtrace_clock_uncertainty_seconds{{clock="{clock}"}}')
        return offset, uncertainty

    def holds_zero(pair):
        offset, uncertainty = pair
        return (offset is not None and uncertainty is not None and not math.isnan(offset)
                and 0 <= uncertainty < 1 and abs(offset) <= uncertainty)

    for url, clock, whose in ((api, "ms2", "MS1"), (api, "ms3", "MS1"), (admin3, "ms1", "MS3")):
        got = estimate(url, clock)
        check(f"{whose} /metrics: the {clock} clock estimate holds 0 within its uncertainty (one host)",
              holds_zero(got), f"offset {got[0]} s, uncertainty {got[1]} s")
    text = http(api + "/metrics")[1]
    for clock in ("ms2", "ms3"):
        samples = metric(text, f'ringtrace_clock_samples_total{{clock="{clock}"}}')
        check(f"MS1 /metrics: {clock} clock exchanges counted", samples is not None and samples >= 1, f"{samples}")
    rejected = metric(text, "ringtrace_clock_samples_rejected_total")
    check("MS1 /metrics: no clock exchange refused on one host", rejected == 0, f"{rejected}")
    rejected = metric(text, "ringtrace_clock_reports_rejected_total")
    check("MS1 /metrics: MS3's clock reports all parse", rejected == 0, f"{rejected}")


def report_checks(ring, check, sql, jaeger, session, messages):
    """The session's latency line, its rows' trace ids (each a trace in Jaeger of that very
    message) and its report through the gateway."""
    try:
        latency = ring.wait_latency_line(session, 30)
    except RingError:
        latency = ""
    print(f"       {latency}")
    check("latency line printed after the finish line, with the cycle's p50 and p99",
          field(latency, "cycle_p50_ms") is not None and field(latency, "cycle_p99_ms") is not None)
    traced = sql.rows(f"SELECT id, trace_id FROM messages WHERE session_id={session} ORDER BY id")
    ids = [t for _, t in traced]
    check.eq("every row has a trace id of 32 hex digits, each its own",
             (sum(bool(re.fullmatch(r"[0-9a-f]{32}", t or "")) for t in ids), len(set(ids))), (messages, messages))
    if not traced:
        return
    message_id, trace_id = traced[len(traced) // 2]
    def trace():
        code, body = http(f"{jaeger}/api/traces/{trace_id}")
        spans = json.loads(body)["data"][0]["spans"] if code == 200 else []
        tags = [{t["key"]: t["value"] for t in span.get("tags", [])} for span in spans]
        return spans if any(str(t.get("message.id")) == str(message_id) and str(t.get("session_id")) == str(session)
                            for t in tags) else None
    check(f"message {message_id}'s trace id is its trace in Jaeger (a span of that message and session)", waits(30, trace, 0.5))
    code, body = http(f"{ring.api}/sessions/{session}")
    report = json.loads(body) if code == 200 else {}
    cycle = next((leg for leg in report.get("legs", []) if leg.get("leg") == "cycle"), {})
    check.eq("GET /sessions/{id} through the gateway: the cycle's count is the session's rows", cycle.get("count"), messages)
    stored_clock_checks(check, sql, session, report, latency)
    code, body = http(f"{ring.api}/traces/{trace_id}")
    relayed = (json.loads(body).get("data") or [{}])[0] if code == 200 else {}
    processes = relayed.get("processes", {})
    services = {processes.get(s.get("processID"), {}).get("serviceName") for s in relayed.get("spans", [])}
    check(f"GET /traces/{{id}} through the gateway relays Jaeger's answer for that trace: spans of ms1, ms2, ms3 "
          f"({code}, {sorted(map(str, services))})", {"ms1", "ms2", "ms3"} <= services)


def stored_clock_checks(check, sql, session, report, latency):
    """The report's clock offsets are the session's clock_offsets rows, and its corrected hops and
    the latency line's corrected keys are there exactly when they are."""
    stored = sorted((stamp, int(offset), int(uncertainty)) for stamp, offset, uncertainty in
                    sql.rows(f"SELECT stamp, offset_us, uncertainty_us FROM clock_offsets WHERE session_id={session}"))
    shown = sorted((c.get("stamp"), round(c.get("offset_ms", 0) * 1000), round(c.get("uncertainty_ms", 0) * 1000))
                   for c in report.get("clocks", []))
    check.eq("the report's clocks are the session's clock_offsets rows", shown, stored)
    corrected = {leg.get("leg"): leg.get("corrected", "absent") for leg in report.get("legs", [])}
    check("every leg of the report has its corrected figures (or null)", "absent" not in corrected.values())
    if stored:
        check("with clock offsets the cycle is corrected, and the latency line has the corrected keys",
              corrected.get("cycle") is not None and field(latency, "cycle_corrected_p50_ms") is not None
              and field(latency, "below_uncertainty") is not None)
    else:
        check("without clock offsets nothing is corrected and the latency line says corrected=n/a",
              set(map(str, corrected.values())) == {"None"} and field(latency, "corrected") == "n/a")


def named(text, key):
    """How many lines of text name key (grep -c)."""
    return sum(key in ln for ln in text.splitlines())



def lines(path):
    return read(path).splitlines()


def finish(ring, session, timeout_s):
    """The session's finish line, waiting up to timeout_s; "" when there is none."""
    if session is None:
        return ""
    try:
        return ring.wait_finish_line(session, timeout_s) if timeout_s else (ring.console.finish_line(session) or "")
    except RingError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
