#!/usr/bin/env python3
"""scripts/run.sh always prints the finish line: 20 one-second sessions through run.sh as users
run it, each of whose output must hold its start line and, after it, the finish line of the same
session, then its latency line (MS1 prints it from the stored rows after the finish line). Each
run goes through the API gateway (run.sh's default, on a port of its own; the first run passes
--gateway, still accepted), which must say where it listens, give the dashboard's address as its
own and be stopped with the ring; the run before the last passes --no-gateway and must start none.
Needs the servers (scripts/infra.sh up; run.sh brings them up itself otherwise).

  run_finish_lines.py [--runs N]   (RINGTRACE_BIN: ms1/ms2/ms3; own ports, topic and logs)
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from ringtrace_harness.system import port_listening  # noqa: E402

PORT_BASE = 18800
GATEWAY_PORT = PORT_BASE + 4


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="ringtrace-run-finish.")
    env = dict(os.environ)
    env.update({
        "RINGTRACE_BIN": env.get("RINGTRACE_BIN", os.path.join(REPO, "build", "bin")),
        "RINGTRACE__MS1__PORT": str(PORT_BASE),
        "RINGTRACE__MS1__MS2_URL": f"ws://127.0.0.1:{PORT_BASE + 1}/ws",
        "RINGTRACE__MS2__PORT": str(PORT_BASE + 1),
        "RINGTRACE__MS2__ADMIN_PORT": str(PORT_BASE + 2),
        "RINGTRACE__MS3__ADMIN_PORT": str(PORT_BASE + 3),
        "RINGTRACE__MS3__STORE_URL": f"http://127.0.0.1:{PORT_BASE}/store",
        "RINGTRACE__KAFKA__TOPIC": f"ringtrace.e2e.run.{os.getpid()}",
        "RINGTRACE__KAFKA__GROUP_ID": f"ringtrace-e2e-run-{os.getpid()}",
        "RINGTRACE__TRACING__ENABLED": "false",
        "RINGTRACE__LOGGING__DIRECTORY": os.path.join(work, "logs"),
        "RINGTRACE_GATEWAY_PORT": str(GATEWAY_PORT),
    })
    failed = gateway_failed = 0
    for n in range(1, args.runs + 1):
        flags = ["--gateway"] if n == 1 else ["--no-gateway"] if n == args.runs - 1 else []
        got = subprocess.run([os.path.join(REPO, "scripts", "run.sh"), "--duration", "1"] + flags,
                             env=env, capture_output=True, text=True, timeout=180)
        lines = got.stdout.splitlines()
        said = any(f"the API gateway listens on http://127.0.0.1:{GATEWAY_PORT} " in ln for ln in lines)
        page = f"run: the dashboard is at http://127.0.0.1:{GATEWAY_PORT}/" in lines
        stopped = not port_listening(GATEWAY_PORT)
        how = " ".join(flags) or "default"
        if flags == ["--no-gateway"]:
            if said or page:
                gateway_failed = 1
                print(f"FAIL - run {n} (--no-gateway): started a gateway anyway")
        elif said and page and stopped:
            print(f"ok   - run {n} ({how}): said where the gateway listens, the dashboard at it; stopped it with the ring")
        else:
            gateway_failed = 1
            print(f"FAIL - run {n} ({how}): said where it listens: {said}; the dashboard at it: {page}; "
                  f"stopped with the ring: {stopped}")
        started = [m.group(1) for ln in lines if (m := re.match(r"^interaction started: session_id=(\d+) ", ln))]
        session = started[0] if len(started) == 1 else None
        finish = [i for i, ln in enumerate(lines) if session and ln.startswith(f"interaction finished: session_id={session} ")]
        start_at = next((i for i, ln in enumerate(lines) if ln.startswith("interaction started: ")), -1)
        latency = [i for i, ln in enumerate(lines) if session and ln.startswith(f"interaction latency: session_id={session} ")]
        if got.returncode == 0 and session and len(finish) == 1 and finish[0] > start_at and len(latency) == 1 and latency[0] > finish[0]:
            print(f"ok   - run {n}: {lines[finish[0]]}")
            print(f"       {lines[latency[0]]}")
        else:
            failed += 1
            print(f"FAIL - run {n}: exit {got.returncode}, start lines {started}, finish lines {len(finish)}, "
                  f"latency lines after it {latency}")
            print("       stdout:\n" + "\n".join("       " + ln for ln in lines[-15:]))
            print("       stderr:\n" + "\n".join("       " + ln for ln in got.stderr.splitlines()[-15:]))
    print(f"run.sh finish lines: {args.runs - failed} of {args.runs} printed")
    return 1 if failed or gateway_failed else 0


if __name__ == "__main__":
    sys.exit(main())
