#!/usr/bin/env python3
"""The dashboard in a real browser, on one database: the ring on the native servers
(scripts/infra.sh up) behind the API gateway (nginx, which serves the page and relays its traces
to Jaeger), a short session run through the API (the past session), then dashboard.mjs in
Debian's chromium, on the page the gateway serves (playwright-core, installed here from the lock file into
${RINGTRACE_CACHE_DIR:-~/.cache/ringtrace}/browser-node-<lock hash>), which starts a session from
the page and follows it to its trace. Then GET /sessions/{id} of both sessions is checked against
SQL run here on the database: the session row, each leg's count, min, max and nearest-rank
p50/p90/p99, the histogram buckets, the throughput slices and the slowest messages.

  browser_test.py --db postgresql|mariadb --screenshot FILE.png   (RINGTRACE_BIN: ms1/ms2/ms3)

Own ports (the gateway's too), topic, consumer group and log directory. KEEP_BROWSER=1 keeps the logs of a passing run.
"""

import argparse
import datetime
import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts"))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
from ring_e2e import Checks  # noqa: E402
from ringtrace_harness.db import Database, DatabaseError  # noqa: E402
from ringtrace_harness.gateway import Gateway  # noqa: E402
from ringtrace_harness.ring import Ring, RingError  # noqa: E402
from ringtrace_harness.system import CACHE_DIR, Fatal  # noqa: E402

CONFIG = os.path.join(REPO, "config", "ringtrace.yaml")
CHROMIUM = "/usr/bin/chromium"
PORT_BASE = {"postgresql": 18900, "mariadb": 18920}
NAMING = {"postgresql": "mc", "mariadb": "service"}   # as the e2e's seeds: both namings are covered
STAMPS = {"mc": ["MC1_timestamp", "MC2_timestamp", "MC3_timestamp", "end_timestamp"],
          "service": ["service1_timestamp", "service2_timestamp", "service3_timestamp", "end_timestamp"]}
LEGS = [("ms1_to_ms2", 0, 1), ("ms2_to_ms3", 1, 2), ("ms3_to_ms1", 2, 3), ("cycle", 0, 3)]  # report_store.hpp
MAX_THROUGHPUT_POINTS = 240
SLOWEST = 10
DASHBOARD_SECONDS, DASHBOARD_WINDOW = 4, 8


def browser_modules():
    """node_modules holding playwright-core, installed once per lock file (npm ci), then reused
    without the network."""
    lock = os.path.join(HERE, "package-lock.json")
    with open(lock, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    target = os.path.join(CACHE_DIR, f"browser-node-{digest}")
    if os.path.exists(os.path.join(target, ".complete")):
        return os.path.join(target, "node_modules")
    if not shutil.which("npm"):
        raise Fatal("npm is not on PATH: the browser test installs playwright-core with it")
    staging = f"{target}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(HERE, name), staging)
    got = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                         cwd=staging, capture_output=True, text=True, timeout=300)
    if got.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise Fatal(f"npm ci of tests/browser/package-lock.json failed:\n{got.stdout}{got.stderr}")
    open(os.path.join(staging, ".complete"), "w").close()
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    return os.path.join(target, "node_modules")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgresql", choices=sorted(PORT_BASE))
    parser.add_argument("--screenshot", required=True)
    args = parser.parse_args()
    db, naming, base = args.db, NAMING[args.db], PORT_BASE[args.db]
    bin_dir = os.environ.get("RINGTRACE_BIN", os.path.join(REPO, "build", "bin"))
    work = tempfile.mkdtemp(prefix="ringtrace-browser.")
    env = dict(os.environ)
    env.update({
        "RINGTRACE__MESSAGE__NAMING": naming, "RINGTRACE__DATABASE__DRIVER": db,
        "RINGTRACE__INTERACTION__DRAIN_TIMEOUT_MS": "2000",
        "RINGTRACE__MS1__PORT": str(base), "RINGTRACE__MS1__MS2_URL": f"ws://127.0.0.1:{base + 1}/ws",
        "RINGTRACE__MS2__PORT": str(base + 1), "RINGTRACE__MS2__ADMIN_PORT": str(base + 2),
        "RINGTRACE__MS3__ADMIN_PORT": str(base + 3), "RINGTRACE__MS3__STORE_URL": f"http://127.0.0.1:{base}/store",
        "RINGTRACE__KAFKA__TOPIC": f"ringtrace.browser.{db}.{os.getpid()}",
        "RINGTRACE__KAFKA__GROUP_ID": f"ringtrace-browser-{db}-{os.getpid()}",
        "RINGTRACE__LOGGING__DIRECTORY": os.path.join(work, "logs"), "RINGTRACE__LOGGING__LEVEL": "info",
    })
    ring = Ring(bin_dir, CONFIG, work, env)
    jaeger = urllib.parse.urlsplit(os.environ.get("JAEGER_QUERY", "http://127.0.0.1:16686")).netloc
    gateway = Gateway(base + 4, ring.ms1_address, os.path.join(work, "gateway"), jaeger=jaeger)
    sql = Database(db, env=env)
    check = Checks()
    try:
        run(ring, gateway, sql, check, naming, args.screenshot)
    except (RingError, Fatal, DatabaseError) as e:
        check("the ring, the gateway, the browser and the database answered", False, str(e))
    finally:
        ring.stop_all()
        gateway.stop()
        if check.failed or os.environ.get("KEEP_BROWSER"):
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"browser ({db}): {check.passed} passed, {check.failed} failed")
    return 1 if check.failed else 0


def run(ring, gateway, sql, check, naming, screenshot):
    if not os.access(CHROMIUM, os.X_OK):
        raise Fatal(f"{CHROMIUM} is missing: scripts/install-deps.sh installs Debian's chromium")
    if not shutil.which("node"):
        raise Fatal("node is not on PATH")
    modules = browser_modules()
    gateway.start()
    ring.through(gateway.url)
    ring.start()
    ring.wait_ready()
    past = ring.start_session("/start?duration_seconds=2&window=4")
    ring.wait_finish_line(past, 30)

    os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
    got = subprocess.run(["node", os.path.join(HERE, "dashboard.mjs"), "--url", gateway.url, "--screenshot", screenshot,
                          "--duration", str(DASHBOARD_SECONDS), "--window", str(DASHBOARD_WINDOW),
                          "--past-session", str(past)],
                         env=dict(os.environ, RINGTRACE_BROWSER_MODULES=modules),
                         capture_output=True, text=True, timeout=180)
    print(got.stdout, end="", flush=True)
    print(got.stderr, end="", file=sys.stderr, flush=True)
    check("the dashboard passed in chromium (dashboard.mjs)", got.returncode == 0, f"exit {got.returncode}")
    m = re.search(r"^dashboard session: (\d+)$", got.stdout, re.M)
    started = int(m.group(1)) if m else None
    if check("the page started a session of its own", started is not None and started > past):
        ring.wait_finish_line(started, 30)

    listing = ring.json("/sessions?limit=20") or {}
    ids = [s["session_id"] for s in listing.get("sessions", [])]
    check(f"GET /sessions lists both sessions, newest first ({ids[:3]})",
          {past, started} <= set(ids) and ids == sorted(ids, reverse=True))
    older = ring.json(f"/sessions?limit=1&before={past}") or {}
    check("GET /sessions?before= pages below the id given",
          all(s["session_id"] < past for s in older.get("sessions", [])))
    for session, duration, window in ((past, 2, 4), (started, DASHBOARD_SECONDS, DASHBOARD_WINDOW)):
        if session is not None:
            agrees(ring, sql, check, naming, session, duration, window)


def agrees(ring, sql, check, naming, session, duration, window):
    """GET /sessions/{session} against SQL on the database."""
    report = ring.json(f"/sessions/{session}")
    if not check(f"GET /sessions/{session} answers a report", report is not None):
        return
    q = sql.quote
    stamps = [q(c) for c in STAMPS[naming]]
    lat = (lambda a, b: f"TIMESTAMPDIFF(MICROSECOND, {a}, {b})") if sql.driver == "mariadb" else \
          (lambda a, b: f"(EXTRACT(EPOCH FROM ({b} - {a})) * 1000000)::bigint")
    where = f"session_id = {int(session)}"

    row = sql.rows("SELECT duration_seconds, window_size, naming, reason, sent, stored, lost, resent, elapsed_seconds, "
                   f"{utc(sql, 'started_at')} FROM sessions WHERE {where}")[0]
    s = report["session"]
    got = [s["duration_seconds"], s["window_size"], s["naming"], s["reason"], s["sent"], s["stored"], s["lost"], s["resent"]]
    want = [int(row[0]), int(row[1]), row[2], row[3]] + [None if v is None else int(v) for v in row[4:8]]
    check.eq(f"session {session}: the row agrees with the sessions table", got, want)
    check.eq(f"session {session}: duration and window as the page or the API asked", got[:2], [duration, window])
    check(f"session {session}: started_at agrees ({s['started_at']})", instant(s["started_at"]) == instant(row[9]), row[9])
    elapsed = float(row[8]) if row[8] is not None else None
    check(f"session {session}: elapsed_seconds agrees", elapsed is not None and abs(s["elapsed_seconds"] - elapsed) < 1e-6,
          f"{s['elapsed_seconds']} vs {elapsed}")

    legs = {leg["leg"]: leg for leg in report["legs"]}
    check.eq(f"session {session}: four legs in order", [leg["leg"] for leg in report["legs"]], [n for n, _, _ in LEGS])
    for name, a, b in LEGS:
        leg, expr = legs.get(name, {}), lat(stamps[a], stamps[b])
        both = f"{where} AND {stamps[a]} IS NOT NULL AND {stamps[b]} IS NOT NULL"
        n, lo, hi = (int(v) if v is not None else None for v in sql.rows(f"SELECT count(*), min({expr}), max({expr}) FROM messages WHERE {both}")[0])
        want = {"count": n, "min": lo}
        for p in (50, 90, 99):   # nearest rank: the value at 1-based rank ceil(p/100 * n)
            rank = (p * n + 99) // 100
            want[f"p{p}"] = int(sql.scalar(f"SELECT {expr} FROM messages WHERE {both} ORDER BY 1 LIMIT 1 OFFSET {rank - 1}")) if n else None
        want["max"] = hi
        got = {"count": leg.get("count")}
        for k in ("min", "p50", "p90", "p99", "max"):
            got[k] = us(leg.get(f"{k}_ms"))
        check.eq(f"session {session}, {name}: count, min, p50, p90, p99, max (µs) agree with SQL", got, want)
        values = [int(r[0]) for r in sql.rows(f"SELECT {expr} FROM messages WHERE {both}")]
        counts = {}
        for v in values:
            counts[bucket_index(v)] = counts.get(bucket_index(v), 0) + 1
        want_buckets = [[i, counts.get(i, 0)] for i in range(min(counts), max(counts) + 1)] if counts else []
        first = min(counts) if counts else 0
        got_buckets = [[first + i, b["count"]] for i, b in enumerate(leg.get("buckets", []))]
        bounds = all(abs(b["lower_ms"] - 10 ** ((first + i) / 10) / 1000) <= 6e-4 and
                     abs(b["upper_ms"] - 10 ** ((first + i + 1) / 10) / 1000) <= 6e-4
                     for i, b in enumerate(leg.get("buckets", [])))
        check.eq(f"session {session}, {name}: histogram buckets agree with SQL", got_buckets, want_buckets)
        check(f"session {session}, {name}: bucket bounds are tenths of a decade", bounds)

    width = max(1, math.ceil(max(duration, elapsed or 0) / MAX_THROUGHPUT_POINTS))   # throughput_bucket_seconds
    offset = lat("s.started_at", f"m.{stamps[3]}")
    slices = {int(k): int(c) for k, c in sql.rows(
        f"SELECT FLOOR({offset} / {width * 1000000}) AS k, count(*) FROM messages m JOIN sessions s ON s.session_id = m.session_id "
        f"WHERE m.session_id = {int(session)} AND m.{stamps[3]} IS NOT NULL GROUP BY 1 ORDER BY 1")}
    want_points = [[k * width, slices.get(k, 0)] for k in range(0, max(slices) + 1)] if slices else []
    tp = report["throughput"]
    check.eq(f"session {session}: throughput slices of {width} s", tp["bucket_seconds"], width)
    check.eq(f"session {session}: throughput slice counts agree with SQL",
             [[round(p["t_seconds"], 6), p["messages"]] for p in tp["points"]], want_points)
    check(f"session {session}: per_second is messages / bucket_seconds",
          all(abs(p["per_second"] - p["messages"] / width) < 1e-6 for p in tp["points"]))

    cycle = lat(stamps[0], stamps[3])
    want_slow = [[int(r[0])] + [int(v) for v in r[1:5]] + [r[5]] for r in sql.rows(
        f"SELECT id, {cycle}, {lat(stamps[0], stamps[1])}, {lat(stamps[1], stamps[2])}, {lat(stamps[2], stamps[3])}, trace_id "
        f"FROM messages WHERE {where} AND {stamps[0]} IS NOT NULL AND {stamps[3]} IS NOT NULL "
        f"ORDER BY {cycle} DESC, id LIMIT {SLOWEST}")]
    got_slow = [[m["id"], us(m["cycle_ms"]), us(m["ms1_to_ms2_ms"]), us(m["ms2_to_ms3_ms"]), us(m["ms3_to_ms1_ms"]), m["trace_id"]]
                for m in report["slowest"]]
    check.eq(f"session {session}: the slowest messages (ids, legs in µs, trace ids) agree with SQL", got_slow, want_slow)


def bucket_index(latency_us):
    """report_store.hpp's bucket: i with 10^(i/10) <= µs < 10^((i+1)/10), in exact integers
    (µs^10 has i+1 digits); below 1 µs, 0."""
    return 0 if latency_us < 1 else len(str(latency_us ** 10)) - 1


def us(ms):
    """A report's milliseconds (written with µs precision) as whole microseconds."""
    return None if ms is None else round(ms * 1000)


def utc(sql, column):
    """A timestamp column as RFC 3339 UTC with microseconds."""
    if sql.driver == "mariadb":
        return f"DATE_FORMAT({column}, '%Y-%m-%dT%H:%i:%s.%fZ')"
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def instant(text):
    """An RFC 3339 string as an aware datetime (None when it is not one)."""
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


if __name__ == "__main__":
    sys.exit(main())
