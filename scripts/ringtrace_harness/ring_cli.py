"""The ring for bash callers, as `python3 -m ringtrace_harness.ring_cli COMMAND ...`:

  exec    --bin DIR --config PATH --work DIR [--what NAME] -- COMMAND...
          starts the ring, waits until it is ready, runs COMMAND (RINGTRACE_API names MS1), then
          requires every service alive, MS1 healthy and a clean stop; the exit status is
          COMMAND's, or 1 when the ring failed (each failure a "FAIL - ..." line on stderr)
  session --bin DIR --config PATH --work DIR --timeout S [--ms3 N] [--cpu NAME=SERVER]...
          [--profile DIR --profile-tag TAG]
          starts the ring (N MS3s in one consumer group, and waits until they share the topic's
          partitions), runs one session (GET /start up to its finish line) and stops the ring;
          prints session=, elapsed= (s), messages=, stored=, and cpu_<name>= for ms1, ms2, ms3 (all
          N together) and
          every --cpu NAME=SERVER (a scripts/infra.sh component: its PIDs are read at each
          measurement, so PostgreSQL's backends for MS1 count): the CPU seconds each spent. --profile samples
          every process with `perf record` and writes DIR/TAG-<name>.txt, its hottest functions.

RINGTRACE__* variables of the environment configure the services.
"""

import argparse
import os
import signal
import subprocess
import sys

from . import infra
from .ring import Ring, RingError, config_value, field

HZ = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pids):
    """User plus system CPU time of the processes, in clock ticks."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            total += int(rest[11]) + int(rest[12])   # utime, stime: fields 14 and 15 of stat
        except (OSError, IndexError, ValueError):
            pass
    return total


def _exec(ring, args):
    status = 0
    try:
        ring.start()
        ring.wait_ready()
        status = subprocess.run(args.command, env=dict(ring.env, RINGTRACE_API=ring.api)).returncode
    except RingError as e:
        print(f"FAIL - the ring: {e}", file=sys.stderr)
        status = 1
    for name in ("ms1", "ms2", "ms3"):
        if not ring.alive(name):
            print(f"FAIL - {name} died under {args.what}", file=sys.stderr)
            status = 1
    if ring.alive("ms1") and ring.healthz() != 200:
        print(f"FAIL - MS1 is not healthy after {args.what}", file=sys.stderr)
        status = 1
    if any(code != 0 for code in ring.stop_all().values()):
        print("FAIL - a service did not stop cleanly", file=sys.stderr)
        status = 1
    return status


def _session(ring, args):
    servers = dict(spec.partition("=")[::2] for spec in args.cpu)
    try:
        ring.start()
        ring.wait_ready()
        if args.ms3 > 1:
            ring.wait_shared(int(ring.env.get("RINGTRACE__KAFKA__PARTITIONS")
                                 or config_value(ring.config, "kafka", "partitions") or 1))

        def pids():
            own = {"ms1": [ring.pid("ms1")], "ms2": [ring.pid("ms2")],
                   "ms3": [ring.pid(n) for n in ring.ms3_names]}
            return {**own, **{n: infra.select([c])[0].pids() for n, c in servers.items()}}
        groups = pids()
        samplers = []
        if args.profile:
            for name, pids in groups.items():
                out = os.path.join(args.work, f"{args.profile_tag}-{name}.perf")
                samplers.append((name, out, subprocess.Popen(
                    ["perf", "record", "-q", "-F", "499", "-o", out, "-p", ",".join(map(str, pids))],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        before = {n: cpu_ticks(p) for n, p in pids().items()}
        session = ring.start_session()
        line = ring.wait_finish_line(session, args.timeout)
        after = {n: cpu_ticks(p) for n, p in pids().items()}
        for name, out, proc in samplers:
            proc.send_signal(signal.SIGINT)
            proc.wait()
            report = subprocess.run(["perf", "report", "-q", "-i", out, "--stdio", "--no-children", "--sort", "dso,symbol"],
                                    capture_output=True, text=True).stdout
            with open(os.path.join(args.profile, f"{args.profile_tag}-{name}.txt"), "w") as f:
                f.write("\n".join([ln for ln in report.splitlines() if ln][:40]) + "\n")
    except (RingError, infra.s.Fatal) as e:
        ring.stop_all()
        print(f"bench: {e}", file=sys.stderr)
        return 1
    codes = ring.stop_all()
    if any(code != 0 for code in codes.values()):
        print("bench: a service did not stop cleanly:", file=sys.stderr)
        for name in codes:
            print(ring.tail(name), file=sys.stderr)
        return 1
    print(f"session={session}")
    print(f"elapsed={(field(line, 'elapsed') or '').rstrip('s')}")
    print(f"messages={field(line, 'messages')}")
    print(f"stored={field(line, 'stored')}")
    for name in groups:
        print(f"cpu_{name}={(after[name] - before[name]) / HZ:g}")
    return 0


def main(argv):
    """Runs one command; the exit status."""
    parser = argparse.ArgumentParser(prog="ringtrace_harness.ring_cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("exec", "session"):
        p = sub.add_parser(name)
        p.add_argument("--bin", required=True)
        p.add_argument("--config", required=True)
        p.add_argument("--work", required=True)
        if name == "exec":
            p.add_argument("--what", default="the command")
            p.add_argument("command", nargs=argparse.REMAINDER)
        else:
            p.add_argument("--timeout", type=float, required=True)
            p.add_argument("--ms3", type=int, default=1, help="MS3s in the consumer group")
            p.add_argument("--cpu", action="append", default=[])
            p.add_argument("--profile")
            p.add_argument("--profile-tag", default="ring")
    args = parser.parse_args(argv)
    if args.cmd == "exec":
        if args.command[:1] == ["--"]:
            args.command = args.command[1:]
        if not args.command:
            parser.error("exec needs a command after --")
    ring = Ring(args.bin, args.config, args.work, ms3=getattr(args, "ms3", 1))
    return _exec(ring, args) if args.cmd == "exec" else _session(ring, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
