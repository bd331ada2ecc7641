"""hosts.smoke.<db>: the namespaced ring with skewed clocks reaches its finish line with every
message stored. MS1, MS2 and MS3 each in a namespace of their own (hosts.py), every link through a
Toxiproxy, MS2's clock +80 ms and MS3's -50 ms (libfaketime behind the clock guard): a 5 s session
at window 8; stored = messages, the rows in the database = messages, and the raw hops show the skew
(MS3's stamps come before MS2's: no hop refuses a message for that). At the end no namespace of
the run is left and the root namespace has the same addresses as before.

  hosts_smoke.py --db postgresql|mariadb      (RINGTRACE_BIN: the directory of ms1, ms2, ms3 and
                                               the clock guard; run under flock /tmp/ringtrace-ring.lock)
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))

from ringtrace_harness import hosts, toxiproxy  # noqa: E402
from ringtrace_harness.db import Database  # noqa: E402
from ringtrace_harness.ring import Ring, RingError, field  # noqa: E402
from ringtrace_harness.system import Fatal  # noqa: E402

CONFIG = os.path.join(REPO, "config", "ringtrace.yaml")
SKEW = {"ms2": 80_000, "ms3": -50_000}


def root_addresses():
    return subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgresql", choices=["postgresql", "mariadb"])
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    bin_dir = os.environ.get("RINGTRACE_BIN", os.path.join(REPO, "build", "bin"))
    base = 18700 if args.db == "postgresql" else 18720
    naming = "mc" if args.db == "postgresql" else "service"
    work = tempfile.mkdtemp(prefix="ringtrace-hosts.")
    env = dict(os.environ)
    env.update({
        "RINGTRACE__MESSAGE__NAMING": naming, "RINGTRACE__DATABASE__DRIVER": args.db,
        "RINGTRACE__INTERACTION__DURATION_SECONDS": str(args.seconds), "RINGTRACE__INTERACTION__WINDOW": "8",
        "RINGTRACE__MS1__PORT": str(base), "RINGTRACE__MS1__MS2_URL": f"ws://127.0.0.1:{base + 1}/ws",
        "RINGTRACE__MS2__PORT": str(base + 1), "RINGTRACE__MS2__ADMIN_PORT": str(base + 2),
        "RINGTRACE__MS3__ADMIN_PORT": str(base + 3), "RINGTRACE__MS3__STORE_URL": f"http://127.0.0.1:{base}/store",
        "RINGTRACE__KAFKA__TOPIC": f"ringtrace.hosts.{args.db}.{os.getpid()}",
        "RINGTRACE__KAFKA__GROUP_ID": f"ringtrace-hosts-{args.db}-{os.getpid()}",
        "RINGTRACE__LOGGING__DIRECTORY": os.path.join(work, "logs"),
    })
    failures = []

    def check(what, ok, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {what}{'' if ok else ': ' + detail}", flush=True)
        if not ok:
            failures.append(what)

    before = root_addresses()
    run_id = None
    try:
        with hosts.Hosts(hosts.ports(env, CONFIG), os.path.join(work, "hosts"), toxiproxy.build()) as h:
            run_id = h.id
            ring = Ring(bin_dir, CONFIG, os.path.join(work, "ring"), env, hosts=h, skew=SKEW)
            try:
                ring.start()
                ring.wait_ready(90)
                session = ring.start_session()
                line = ring.wait_finish_line(session, args.seconds + 60)
                print(line, flush=True)
                messages = int(field(line, "messages") or 0)
                check("finish line with messages > 0", messages > 0, line)
                check("stored = messages", field(line, "stored") == str(messages), line)
                db = Database(args.db, env=env)
                rows = int(db.scalar(f"SELECT COUNT(*) FROM messages WHERE session_id = {session}") or 0)
                check("rows in the database = messages", rows == messages, f"{rows} rows, {messages} messages")
                c = ("MC1_timestamp", "MC2_timestamp", "MC3_timestamp", "end_timestamp") if naming == "mc" else \
                    ("service1_timestamp", "service2_timestamp", "service3_timestamp", "end_timestamp")
                if args.db == "postgresql":
                    ms = lambda a, b: f'percentile_disc(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM "{b}" - "{a}") * 1000)'  # noqa: E731
                    sql = f"SELECT {ms(c[0], c[1])}, {ms(c[1], c[2])}, {ms(c[2], c[3])} FROM messages WHERE session_id = {session}"
                else:
                    ms = lambda a, b: f"AVG(TIMESTAMPDIFF(MICROSECOND, {a}, {b})) / 1000"  # noqa: E731
                    sql = f"SELECT {ms(c[0], c[1])}, {ms(c[1], c[2])}, {ms(c[2], c[3])} FROM messages WHERE session_id = {session}"
                hops = [float(v) for v in db.rows(sql)[0]]
                print(f"raw hops (ms): ms1->ms2 {hops[0]:.3f}, ms2->ms3 {hops[1]:.3f}, ms3->ms1 {hops[2]:.3f}", flush=True)
                check("raw ms1->ms2 carries MS2's +80 ms", 80 <= hops[0] < 100, str(hops[0]))
                check("raw ms2->ms3 is negative (MS3's stamp before MS2's), and stored", -130 <= hops[1] < -100, str(hops[1]))
                check("raw ms3->ms1 carries MS3's -50 ms", 50 <= hops[2] < 70, str(hops[2]))
            finally:
                stopped = ring.stop_all()
                check("the services stopped cleanly", all(v == 0 for v in stopped.values()), str(stopped))
    except (RingError, Fatal) as e:
        check("the namespaced ring ran", False, str(e))
    left = [n for n in hosts.listed_namespaces() if run_id and n.startswith(f"rt-{run_id}-")]
    check("no namespace of the run is left", not left, " ".join(left))
    check("the root namespace's addresses are unchanged", root_addresses() == before)
    if failures:
        print(f"logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"hosts smoke ({args.db}): {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
