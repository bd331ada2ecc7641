"""hosts.skew.<db>: hops corrected for the clock offsets the ring estimates are honest when the
clocks disagree. MS1, MS2 and MS3 each in a network namespace of their own (hosts.py), every link
through a Toxiproxy, each service under libfaketime behind the clock guard in both sessions, so the
offset is the only thing that differs:

  U  every clock +0 (MS1's, the machine's), a warm-up session, then a measured one;
  S  the services restarted with MS2's clock +80 ms and MS3's -50 ms, a warm-up, then a measured one.

Both measured sessions run at window 1 with tracing off for --seconds (10). Then, from MS1's
reports (GET /sessions/{id}) and its clock_offsets rows:
  - every corrected hop p50 of S is within u_S + u_U of U's (each figure's stated uncertainty: the
    two estimates each lie within their own), and none is negative; the cycle, on MS1's clock alone,
    is left as it is, and its change between the sessions is printed as the run's noise;
  - the raw hops of S are off by the skew (+80, -130, +50 ms, the cycle 0) within 1 ms of U's;
  - the estimates hold the truth: |θ2 - 80 ms| <= u2 and |θ3 + 50 ms| <= u3 in S, |θ| <= u in U;
  - every generated message is stored, in the database too, and the rows keep the raw stamps;
  - the latency line of S carries the corrected keys;
  - no namespace of the run is left and the root namespace's addresses are unchanged.

  hosts_skew_e2e.py --db postgresql|mariadb [--seconds 10]   (RINGTRACE_BIN: the directory of
      ms1, ms2, ms3 and the clock guard; run under flock /tmp/ringtrace-ring.lock)
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
UNSKEWED = {"ms1": 0, "ms2": 0, "ms3": 0}
SKEWED = {"ms1": 0, "ms2": 80_000, "ms3": -50_000}
HOPS = ("ms1_to_ms2", "ms2_to_ms3", "ms3_to_ms1", "cycle")
# How far each raw hop of S moves from U's, in ms: the later stamp's clock minus the earlier one's.
RAW_SHIFT_MS = {"ms1_to_ms2": 80.0, "ms2_to_ms3": -130.0, "ms3_to_ms1": 50.0, "cycle": 0.0}
RAW_TOLERANCE_MS = 1.0
WARMUP_S = 2


def root_addresses():
    return subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout


def run_sessions(ring, seconds, timeout_s):
    """A warm-up session (its first messages pay for new connections and caches), then the
    measured one at window 1; the measured session's id and finish line."""
    ring.start()
    ring.wait_ready(90)
    warm = ring.start_session(f"/start?duration_seconds={WARMUP_S}&window=1")
    ring.wait_finish_line(warm, WARMUP_S + timeout_s)
    session = ring.start_session(f"/start?duration_seconds={seconds}&window=1")
    line = ring.wait_finish_line(session, seconds + timeout_s)
    return session, line


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgresql", choices=["postgresql", "mariadb"])
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    bin_dir = os.environ.get("RINGTRACE_BIN", os.path.join(REPO, "build", "bin"))
    base = 18700 if args.db == "postgresql" else 18720
    naming = "mc" if args.db == "postgresql" else "service"
    work = tempfile.mkdtemp(prefix="ringtrace-hosts.")
    env = dict(os.environ)
    env.update({
        "RINGTRACE__MESSAGE__NAMING": naming, "RINGTRACE__DATABASE__DRIVER": args.db,
        "RINGTRACE__TRACING__ENABLED": "false",
        "RINGTRACE__MS1__PORT": str(base), "RINGTRACE__MS1__MS2_URL": f"ws://127.0.0.1:{base + 1}/ws",
        "RINGTRACE__MS2__PORT": str(base + 1), "RINGTRACE__MS2__ADMIN_PORT": str(base + 2),
        "RINGTRACE__MS3__ADMIN_PORT": str(base + 3), "RINGTRACE__MS3__STORE_URL": f"http://127.0.0.1:{base}/store",
        "RINGTRACE__KAFKA__TOPIC": f"ringtrace.hosts.{args.db}.{os.getpid()}",
        "RINGTRACE__KAFKA__GROUP_ID": f"ringtrace-hosts-{args.db}-{os.getpid()}",
        "RINGTRACE__LOGGING__DIRECTORY": os.path.join(work, "logs"),
    })
    failures = []

    def check(what, ok, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {what}{'' if ok or not detail else ': ' + detail}", flush=True)
        if not ok:
            failures.append(what)
        return ok

    before = root_addresses()
    run_id = None
    sessions, reports, lines = {}, {}, {}
    try:
        with hosts.Hosts(hosts.ports(env, CONFIG), os.path.join(work, "hosts"), toxiproxy.build()) as h:
            run_id = h.id
            for name, skew in (("U", UNSKEWED), ("S", SKEWED)):
                ring = Ring(bin_dir, CONFIG, os.path.join(work, f"ring-{name}"), env, hosts=h, skew=skew)
                try:
                    sessions[name], finish = run_sessions(ring, args.seconds, 60)
                    print(finish, flush=True)
                    lines[name] = ring.wait_latency_line(sessions[name], 30)
                    print(lines[name], flush=True)
                    reports[name] = ring.json(f"/sessions/{sessions[name]}", timeout_s=30)
                    messages = int(field(finish, "messages") or 0)
                    check(f"{name}: messages generated and every one stored",
                          messages > 0 and field(finish, "stored") == str(messages), finish)
                finally:
                    stopped = ring.stop_all()
                    check(f"{name}: the services stopped cleanly", all(v == 0 for v in stopped.values()), str(stopped))
    except (RingError, Fatal) as e:
        check("the namespaced ring ran both sessions", False, str(e))

    if len(reports) == 2 and all(reports.values()):
        judge(args, env, naming, sessions, reports, lines, check)
    else:
        check("both sessions have a report", False, str(list(reports)))
    left = [n for n in hosts.listed_namespaces() if run_id and n.startswith(f"rt-{run_id}-")]
    check("no namespace of the run is left", not left, " ".join(left))
    check("the root namespace's addresses are unchanged", root_addresses() == before)
    if failures:
        print(f"logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"hosts skew ({args.db}): {len(failures)} failed")
    return 1 if failures else 0


def clocks_of(report):
    """{"ms2"|"ms3": (offset ms, uncertainty ms)} from a report's clocks."""
    return {c["clock"]: (float(c["offset_ms"]), float(c["uncertainty_ms"])) for c in report.get("clocks") or []}


def judge(args, env, naming, sessions, reports, lines, check):
    legs = {name: {leg["leg"]: leg for leg in r["legs"]} for name, r in reports.items()}
    clocks = {name: clocks_of(r) for name, r in reports.items()}
    truth = {"U": {"ms2": 0.0, "ms3": 0.0}, "S": {"ms2": 80.0, "ms3": -50.0}}
    for name in ("U", "S"):
        for clock, true_ms in truth[name].items():
            got = clocks[name].get(clock)
            check(f"{name}: the {clock} estimate holds its true offset {true_ms:+g} ms within its uncertainty",
                  got is not None and abs(got[0] - true_ms) <= got[1],
                  f"estimate {got}" if got else f"no estimate: {reports[name].get('clocks')}")

    print("hop          raw U     raw S    corr U ± u      corr S ± u      |Δcorr|  allowed", flush=True)
    for hop in HOPS:
        u, s = legs["U"].get(hop), legs["S"].get(hop)
        if not check(f"{hop}: both sessions have the hop, corrected", u and s and u.get("corrected") and s.get("corrected"),
                     f"U {u and u.get('corrected')}, S {s and s.get('corrected')}"):
            continue
        cu, cs = u["corrected"], s["corrected"]
        delta = abs(cs["p50_ms"] - cu["p50_ms"])
        allowed = cs["uncertainty_ms"] + cu["uncertainty_ms"]
        print(f"{hop:<11} {u['p50_ms']:8.3f} {s['p50_ms']:9.3f}  {cu['p50_ms']:7.3f} ± {cu['uncertainty_ms']:.3f}"
              f"  {cs['p50_ms']:7.3f} ± {cs['uncertainty_ms']:.3f}  {delta:7.3f}  {allowed:7.3f}", flush=True)
        if hop == "cycle":
            # One clock (MS1's) at both ends: nothing to correct, and its difference between the two
            # sessions is what the run's noise alone moves a p50 by (printed above, for scale).
            check("cycle: corrected is the raw cycle, with no uncertainty",
                  cs["p50_ms"] == s["p50_ms"] and cs["uncertainty_ms"] == 0, str(cs))
        else:
            check(f"{hop}: corrected p50 of S within its and U's uncertainty of U's", delta <= allowed,
                  f"|{cs['p50_ms']} - {cu['p50_ms']}| = {delta:.3f} > {allowed:.3f}")
        check(f"{hop}: corrected p50 is not negative", cs["p50_ms"] >= 0 and cu["p50_ms"] >= 0,
              f"U {cu['p50_ms']}, S {cs['p50_ms']}")
        moved = s["p50_ms"] - u["p50_ms"]
        check(f"{hop}: raw p50 moved by the skew ({RAW_SHIFT_MS[hop]:+g} ms)",
              abs(moved - RAW_SHIFT_MS[hop]) <= RAW_TOLERANCE_MS, f"moved {moved:+.3f} ms")

    # The rows keep each clock's own stamps: MS2's of S are 80 ms after MS1's, as written.
    db = Database(args.db, env=env)
    c = ("MC1_timestamp", "MC2_timestamp") if naming == "mc" else ("service1_timestamp", "service2_timestamp")
    session = sessions["S"]
    if args.db == "postgresql":
        sql = (f'SELECT COUNT(*), MIN(EXTRACT(EPOCH FROM "{c[1]}" - "{c[0]}") * 1000) FROM messages '
               f"WHERE session_id = {session}")
    else:
        sql = f"SELECT COUNT(*), MIN(TIMESTAMPDIFF(MICROSECOND, {c[0]}, {c[1]})) / 1000 FROM messages WHERE session_id = {session}"
    rows, first_hop = db.rows(sql)[0]
    check("S: a row for every message sent", int(rows) == int(reports["S"]["session"]["sent"]),
          f"{rows} rows, {reports['S']['session']['sent']} sent")
    check("S: the stored MS2 stamps are MS2's own clock (raw, +80 ms)", float(first_hop) >= 80.0, f"min {first_hop} ms")
    line = lines["S"]
    for key in ("ms1_to_ms2_corrected_p50_ms", "ms2_to_ms3_uncertainty_ms", "below_uncertainty"):
        check(f"S: the latency line carries {key}", field(line, key) is not None, line)


if __name__ == "__main__":
    sys.exit(main())
