#!/usr/bin/env python3
"""End to end: the span count (span_count.py) fails when one service cannot keep up with its spans.

  span_queue_e2e.py [--service ms1|ms2|ms3] [--queue N]   (RINGTRACE_BIN: ms1/ms2/ms3)

Starts the ring as ring_e2e.py does (PostgreSQL, service naming, its own ports, topic and group),
but gives one service (MS2 by default) a span queue of N (tracing.queue_max, 8 by default) through
its environment alone: with one message at a time the ring finishes hundreds of cycles between two
of the exporter's flushes (tracing.flush_interval_ms), so that service must drop spans. After a
3 s session the count must fail, for that service only: its exporter dropped spans, it exported
and Jaeger holds fewer than the session's cycles made; the other two services agree exactly.
"""

import argparse
import os
import secrets
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from ring_e2e import Checks  # noqa: E402
from ringtrace_harness.db import Database  # noqa: E402
from ringtrace_harness.ring import Ring, RingError, field  # noqa: E402
from span_count import SERVICES, SpanCount  # noqa: E402

CONFIG = os.path.join(REPO, "config", "ringtrace.yaml")
SECONDS = 3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", default="ms2", choices=SERVICES)
    parser.add_argument("--queue", type=int, default=8)
    args = parser.parse_args()
    bin_dir = os.environ.get("RINGTRACE_BIN", os.path.join(REPO, "build", "bin"))
    base = 18580
    work = tempfile.mkdtemp(prefix="ringtrace-spanqueue.")
    env = dict(os.environ)
    env.update({
        "RINGTRACE__SECURITY__TOKEN": secrets.token_hex(16),
        "RINGTRACE__MESSAGE__NAMING": "service", "RINGTRACE__DATABASE__DRIVER": "postgresql",
        "RINGTRACE__INTERACTION__DURATION_SECONDS": str(SECONDS), "RINGTRACE__INTERACTION__DRAIN_TIMEOUT_MS": "2000",
        "RINGTRACE__MS1__PORT": str(base), "RINGTRACE__MS1__MS2_URL": f"ws://127.0.0.1:{base + 1}/ws",
        "RINGTRACE__MS2__PORT": str(base + 1), "RINGTRACE__MS2__ADMIN_PORT": str(base + 2),
        "RINGTRACE__MS3__ADMIN_PORT": str(base + 3), "RINGTRACE__MS3__STORE_URL": f"http://127.0.0.1:{base}/store",
        "RINGTRACE__KAFKA__TOPIC": f"ringtrace.spanqueue.{os.getpid()}",
        "RINGTRACE__KAFKA__GROUP_ID": f"ringtrace-spanqueue-{os.getpid()}",
        "RINGTRACE__LOGGING__DIRECTORY": os.path.join(work, "logs"),
    })
    ring = Ring(bin_dir, CONFIG, work, env, service_env={args.service: {"RINGTRACE__TRACING__QUEUE_MAX": str(args.queue)}})
    jaeger = os.environ.get("JAEGER_QUERY", "http://127.0.0.1:16686")
    check = Checks()
    try:
        run(ring, Database("postgresql", env=env), check, jaeger, args.service, args.queue)
    except RingError as e:
        check("the ring started", False, str(e))
    finally:
        ring.stop_all()
        if check.failed or os.environ.get("KEEP_E2E"):
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"span queue e2e ({args.service} queue_max={args.queue}): {check.passed} passed, {check.failed} failed")
    return 1 if check.failed else 0


def run(ring, sql, check, jaeger, victim, queue):
    ring.start()
    ring.wait_ready()
    # Jaeger is not waited for in vain here: the victim's spans never all arrive.
    spans = SpanCount(ring.metrics, jaeger, timeout_s=15)
    check("the exporters settled before the session", spans.before())
    session = ring.start_session("/start")
    line = ring.wait_finish_line(session, SECONDS + 30)
    print(f"       {line}")
    messages = int(field(line, "messages") or 0)
    check("a session ran, every message stored", messages > 0 and field(line, "stored") == str(messages))
    resent = int(sql.scalar(f"SELECT coalesce(resent, 0) FROM sessions WHERE session_id={session}") or 0)
    verdict = spans.after(session, messages, resent, control=1)
    print(f"       {verdict.summary}")
    for what, ok, detail in verdict.lines:
        print(f"       {'ok  ' if ok else 'FAIL'} {what}: {detail}")
    check(f"the span count fails with {victim}'s queue_max {queue}", not verdict.ok)
    check(f"{victim}: the count sees its exporter drop spans", verdict.failed(f"{victim}: its exporter dropped no span"))
    check(f"{victim}: the count sees it exported fewer spans than the session's cycles made",
          verdict.failed(f"{victim}: its exporter handed Jaeger every span"))
    check(f"{victim}: the count sees Jaeger hold fewer spans than the session's cycles made",
          verdict.failed(f"{victim}: Jaeger holds"))
    for other in SERVICES:
        if other != victim:
            wrong = verdict.failed(f"{other}:")
            check(f"{other} (queue_max as configured) agrees exactly, nothing dropped", not wrong, str(wrong))


if __name__ == "__main__":
    sys.exit(main())
