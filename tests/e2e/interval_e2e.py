#!/usr/bin/env python3
"""End to end: the session's interval comes from the configuration file.

  interval_e2e.py [--db postgresql|mariadb] [--seconds N]   (RINGTRACE_BIN: ms1/ms2/ms3)

Writes a configuration file (config/ringtrace.yaml with this test's own ports, topic, consumer
group, log directory and token, and interaction.duration_seconds N, 3 by default) and starts the
three services from it with no RINGTRACE__* variable in their environment, so nothing but the file
can set the interval. GET /start without parameters must then run a session of N seconds: the start
line and GET /status say N, the finish line's elapsed time and the sessions row's are N and a
little (the last message's drain), never the built-in default (10) or anything the environment
used to set. KEEP_E2E=1 keeps the logs of a passing run too.
"""

import argparse
import os
import re
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

CONFIG = os.path.join(REPO, "config", "ringtrace.yaml")
# How long after the interval the session may end: the last message's drain on a loaded machine.
# Below the next whole second, so an interval one second longer than the file's fails.
SLACK_S = 0.9


def configured(text, values):
    """TEXT (a configuration file) with each (section, key) of VALUES set; every key must exist."""
    lines, section, seen = [], None, set()
    for line in text.splitlines():
        if m := re.match(r"^([A-Za-z0-9_]+):", line):
            section = m.group(1)
        elif (m := re.match(r"^(\s+)([A-Za-z0-9_]+):", line)) and (section, m.group(2)) in values:
            line = f"{m.group(1)}{m.group(2)}: {values[(section, m.group(2))]}"
            seen.add((section, m.group(2)))
        lines.append(line)
    missing = set(values) - seen
    if missing:
        raise SystemExit(f"interval_e2e: {CONFIG} has no {sorted(missing)}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgresql", choices=["postgresql", "mariadb"])
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    seconds = args.seconds
    bin_dir = os.environ.get("RINGTRACE_BIN", os.path.join(REPO, "build", "bin"))
    base = 18680 if args.db == "postgresql" else 18780
    work = tempfile.mkdtemp(prefix="ringtrace-interval.")
    topic = f"ringtrace.interval.{args.db}.{os.getpid()}"
    config = os.path.join(work, "ringtrace.yaml")
    with open(CONFIG) as f:
        text = configured(f.read(), {
            ("interaction", "duration_seconds"): seconds, ("interaction", "drain_timeout_ms"): 2000,
            ("database", "driver"): args.db, ("logging", "directory"): os.path.join(work, "logs"),
            ("ms1", "port"): base, ("ms1", "ms2_url"): f"ws://127.0.0.1:{base + 1}/ws",
            ("ms2", "port"): base + 1, ("ms2", "admin_port"): base + 2, ("ms3", "admin_port"): base + 3,
            ("ms3", "store_url"): f"http://127.0.0.1:{base}/store",
            ("kafka", "topic"): topic, ("kafka", "group_id"): topic.replace(".", "-"),
            ("security", "token"): f'"{secrets.token_hex(16)}"'})
    with open(config, "w") as f:
        f.write(text)
    # Nothing from the environment: the file alone configures the services.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGTRACE__")}
    ring = Ring(bin_dir, config, work, env)
    sql = Database(args.db, env=env)
    check = Checks()
    try:
        run(ring, sql, check, seconds)
    except RingError as e:
        check("the ring started from the configuration file", False, str(e))
    finally:
        ring.stop_all()
        if check.failed or os.environ.get("KEEP_E2E"):
            print(f"logs and the configuration file kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"interval e2e ({args.db}, {seconds} s from the file): {check.passed} passed, {check.failed} failed")
    return 1 if check.failed else 0


def run(ring, sql, check, seconds):
    ring.start()
    ring.wait_ready()
    session = ring.start_session("/start")
    status = ring.json("/status") or {}
    check.eq("GET /status of the running session: duration_seconds from the file", status.get("duration_seconds"), seconds)
    line = ring.wait_finish_line(session, seconds + 30)
    print(f"       {line}")
    started = [ln for ln in ring.console.lines if ln.startswith(f"interaction started: session_id={session} ")]
    check(f"start line: duration={seconds}s ({started[0] if started else 'none'})",
          bool(started) and f" duration={seconds}s " in started[0])
    check.eq("finish line: reason=duration", field(line, "reason"), "duration")
    elapsed = float((field(line, "elapsed") or "0s").rstrip("s"))
    check(f"finish line: elapsed {elapsed} s is the file's {seconds} s (at most {SLACK_S} s more)",
          seconds <= elapsed < seconds + SLACK_S)
    messages = int(field(line, "messages") or 0)
    check("finish line: messages > 0, all stored", messages > 0 and field(line, "stored") == str(messages))
    row = sql.rows(f"SELECT duration_seconds, elapsed_seconds, reason, sent, stored FROM sessions WHERE session_id={session}")
    asked, took, reason, sent, stored = row[0] if row else (None, "0", None, None, None)
    check.eq("sessions row: duration_seconds from the file", asked, seconds)
    check(f"sessions row: elapsed_seconds {took} is the file's {seconds} s (at most {SLACK_S} s more)",
          seconds <= float(took or 0) < seconds + SLACK_S)
    check.eq("sessions row: reason, sent, stored", f"{reason},{sent},{stored}", f"duration,{messages},{messages}")


if __name__ == "__main__":
    sys.exit(main())
