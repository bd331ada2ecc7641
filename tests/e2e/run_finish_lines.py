#!/usr/bin/env python3
"""scripts/run.sh always prints the finish line: 20 one-second sessions through run.sh as users
run it, each of whose output must hold its start line and, after it, the finish line of the same
session, then its latency line (MS1 prints it from the stored rows after the finish line). The
last run goes through the API gateway (run.sh --gateway, on a port of its own), which must say
where it listens and be stopped with the ring. Needs the servers (scripts/infra.sh
up; run.sh brings them up itself otherwise).

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
        via_gateway = n == args.runs
        got = subprocess.run([os.path.join(REPO, "scripts", "run.sh"), "--duration", "1"] + ["--gateway"] * via_gateway,
                             env=env, capture_output=True, text=True, timeout=180)
        lines = got.stdout.splitlines()
        if via_gateway:
            said = any(f"the API gateway listens on http://127.0.0.1:{GATEWAY_PORT} " in ln for ln in lines)
            stopped = not port_listening(GATEWAY_PORT)
            if said and stopped:
                print(f"ok   - run {n} (--gateway): said where the gateway listens; stopped it with the ring")
            else:
                gateway_failed = 1
                print(f"FAIL - run {n} (--gateway): said where it listens: {said}; stopped with the ring: {stopped}")
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
