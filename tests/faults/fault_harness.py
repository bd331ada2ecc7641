#!/usr/bin/env python3
"""Fault injection against the real ring: for each delivery mode, run a session, kill -9 one part
mid-session (MS3, MS2, MS1, the Kafka broker, the database), restart it, and compare what MS1
generated with what the database stored and what went through Kafka.

Needs the servers of scripts/infra.sh (it crashes and restarts the broker and the database through
`scripts/infra.sh crash|up`, so nothing else may use them meanwhile: ctest runs it RUN_SERIAL).

With --cluster the ring runs on the replicated cluster of `scripts/infra.sh up kafka --brokers 3`
(replication factor 3, min.insync.replicas 2, a topic of 3 partitions keyed by message) with three
MS3s in one group, and the faults are kill -9 of one Kafka node, of the active controller, and of
one MS3 of the three (left dead: the other two take its partitions at the rebalance). Each row
also reports the longest time the ring stood still (between two messages stored one after the
other).

Fails (exit 1) when at-least-once or exactly-once loses a message, when at-most-once carries one
twice, when any mode stores one twice, when the ring does not recover after a fault, or when a
service does not stop cleanly.

  fault_harness.py --driver postgresql|mariadb --bin DIR --scan PATH [--cluster | --network]
                   [--modes m,...] [--faults f,...] [--report FILE] [--json FILE] [--docs FILE]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from ringtrace_harness import infra as infra_cli  # noqa: E402
from ringtrace_harness import kafka_cluster  # noqa: E402
from ringtrace_harness.db import Database, DatabaseError  # noqa: E402
from ringtrace_harness.ring import Ring, RingError, metric  # noqa: E402
from ringtrace_harness.system import Fatal  # noqa: E402
from ringtrace_harness.wait import WaitTimeout, wait_until  # noqa: E402
MODES = ["at-most-once", "at-least-once", "exactly-once"]
FAULTS = ["ms3", "ms2", "ms1", "broker", "database"]
FAULT_TITLES = {
    "ms3": "MS3 killed",
    "ms2": "MS2 killed",
    "ms1": "MS1 killed",
    "broker": "Kafka broker killed",
    "database": "database killed",
    "node": "a Kafka node killed (of 3)",
    "controller": "the active controller killed",
    "ms3-group": "one MS3 of 3 killed (not restarted)",
}
CLUSTER_FAULTS = ["node", "controller", "ms3-group"]
CLUSTER_NODES = 3
GROUP_MS3 = 3          # MS3s in the group on the cluster, and the topic's partitions
VICTIM_MS3 = "ms3-2"   # the one killed by ms3-group
SESSION_TIMEOUT_MS = 6000  # the broker's smallest allowed: a dead MS3 is noticed this soon
# Seed 000 runs PostgreSQL with MC names, seed 001 MariaDB with service names: cover both.
NAMING = {"postgresql": "mc", "mariadb": "service"}
PORT_BASE = {"postgresql": 18500, "mariadb": 18600}
CLUSTER_PORT_OFFSET = 50  # the cluster run's ports, apart from the single broker's run
INFRA_NAME = {"postgresql": "postgres", "mariadb": "mariadb"}

DURATION_S = 8         # session length
WINDOW = 8             # messages in flight
KILL_AFTER_SENT = 50   # the fault comes once the ring is visibly moving ...
KILL_AFTER_S = 1.5     # ... and the session has run this long
DOWN_S = 1.0           # how long a killed service stays down before it is restarted
RESEND_TIMEOUT_MS = 5000
DRAIN_TIMEOUT_MS = 30000
SETTLE_S = 1.5         # the database must hold still this long before the outcome is read


class HarnessError(Exception):
    """The ring did something the harness cannot measure (did not start, did not recover)."""


# What the harness package raises when the ring or a server misbehaves: reported as HarnessError is.
UNMEASURABLE = (HarnessError, RingError, WaitTimeout, DatabaseError, Fatal)


def log(text):
    print(f"[faults {time.strftime('%H:%M:%S')}] {text}", flush=True)


def ms1_status(ring):
    """MS1's /status, or None."""
    return ring.json("/status", 5.0)


def duplicate_stores(ring):
    """MS1's count of /store requests for a message it already had, since it started."""
    text = ring.metrics()
    if not text:
        raise HarnessError("MS1 /metrics did not answer")
    return int(metric(text, 'ringtrace_store_requests_total{outcome="duplicate"}') or 0)


def commit_lag(ring, name="ms3"):
    text = ring.metrics(name)
    return metric(text, "ringtrace_kafka_commit_lag") if text else None


def infra(command, component):
    """crash or up of one server, in process (the harness behind scripts/infra.sh)."""
    if infra_cli.main([command, component]) != 0:
        raise HarnessError(f"scripts/infra.sh {command} {component} failed")


class Harness:
    def __init__(self, args):
        self.args = args
        self.driver = args.driver
        self.db = Database(args.driver)
        self.results = []
        self.violations = []

    def environment(self, mode, work):
        base = PORT_BASE[self.driver] + (CLUSTER_PORT_OFFSET if self.args.cluster else 0)
        tag = f"{self.driver}.{mode}.{os.getpid()}" + (".cluster" if self.args.cluster else "")
        env = dict(os.environ)
        env.update({
            "RINGTRACE__MESSAGE__NAMING": NAMING[self.driver],
            "RINGTRACE__DATABASE__DRIVER": self.driver,
            "RINGTRACE__KAFKA__DELIVERY": mode,
            "RINGTRACE__KAFKA__TOPIC": f"ringtrace.faults.{tag}",
            "RINGTRACE__KAFKA__GROUP_ID": f"ringtrace-faults-{tag}",
            "RINGTRACE__MS3__GROUP_INSTANCE_ID": "ms3-faults",
            "RINGTRACE__INTERACTION__DURATION_SECONDS": str(DURATION_S),
            "RINGTRACE__INTERACTION__WINDOW": str(WINDOW),
            "RINGTRACE__INTERACTION__DRAIN_TIMEOUT_MS": str(DRAIN_TIMEOUT_MS),
            "RINGTRACE__INTERACTION__RESEND_TIMEOUT_MS": str(RESEND_TIMEOUT_MS),
            "RINGTRACE__INTERACTION__PROGRESS_INTERVAL_MS": "0",
            "RINGTRACE__MS1__PORT": str(base),
            "RINGTRACE__MS1__MS2_URL": f"ws://127.0.0.1:{base + 1}/ws",
            "RINGTRACE__MS1__RECONNECT_MAX_MS": "1000",
            "RINGTRACE__MS2__PORT": str(base + 1),
            "RINGTRACE__MS2__ADMIN_PORT": str(base + 2),
            "RINGTRACE__MS3__ADMIN_PORT": str(base + 3),
            "RINGTRACE__MS3__STORE_URL": f"http://127.0.0.1:{base}/store",
            "RINGTRACE__MS3__RETRY_MAX_MS": "1000",
            "RINGTRACE__TRACING__ENABLED": "false",
            "RINGTRACE__LOGGING__DIRECTORY": os.path.join(work, "logs"),
        })
        if self.args.cluster:
            env.update({
                "RINGTRACE__KAFKA__BROKERS": kafka_cluster.bootstrap(CLUSTER_NODES),
                "RINGTRACE__KAFKA__REPLICATION_FACTOR": str(kafka_cluster.replication(CLUSTER_NODES)),
                "RINGTRACE__KAFKA__PARTITIONS": str(GROUP_MS3),
                "RINGTRACE__KAFKA__KEY": "message",
                "RINGTRACE__KAFKA__SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
            })
        return env

    def scan(self, env):
        out = subprocess.run([self.args.scan, "--brokers", env.get("RINGTRACE__KAFKA__BROKERS", "127.0.0.1:9092"),
                              "--topic", env["RINGTRACE__KAFKA__TOPIC"], "--group", env["RINGTRACE__KAFKA__GROUP_ID"]],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            return None
        return json.loads(out.stdout)

    def start_session(self, ring):
        def start():
            got = ring.json("/start")
            return got["session_id"] if got else None
        return wait_until("GET /start to be accepted", 60, start, 0.2)

    def inject(self, ring, fault):
        if fault in ("ms1", "ms2", "ms3"):
            ring.kill9(fault)
            time.sleep(DOWN_S)  # the outage itself, not a wait for an effect
            ring.start(fault)
            ring.wait_healthy([fault])
        elif fault == "broker":
            infra("crash", "kafka")
            infra("up", "kafka")
        elif fault in ("node", "controller"):
            controller = kafka_cluster.active_controller()
            victim = controller if fault == "controller" else next(
                i for i in range(1, CLUSTER_NODES + 1) if i != controller)
            log(f"killing Kafka node {victim} (the active controller is node {controller})")
            kafka_cluster.crash_node(victim)
            time.sleep(DOWN_S)  # the outage itself
            kafka_cluster.up(CLUSTER_NODES)
        elif fault == "ms3-group":
            ring.kill9(VICTIM_MS3)  # left dead: its partitions move to the others at the rebalance
        else:
            infra("crash", INFRA_NAME[self.driver])
            infra("up", INFRA_NAME[self.driver])

    def settle(self, ring, env, session_id, fault):
        """Waits until the session is over and nothing of it is still on the way; returns the last scan."""
        limit = DURATION_S + DRAIN_TIMEOUT_MS / 1000 + 90
        if fault == "ms1":
            # The restarted MS1 closes the session its predecessor left open, at its first connection.
            wait_until("the interrupted session to be closed", limit,
                 lambda: (self.db.session(session_id) or {}).get("reason") == "interrupted", 0.3)
        else:
            wait_until(f"session {session_id} to finish", limit,
                 lambda: ((ms1_status(ring) or {}).get("last_session") or {}).get("session_id") == session_id, 0.2)
        last = {"count": -1, "since": time.monotonic(), "pending": "nothing checked yet"}

        def pending(why):
            last["pending"] = why
            return None

        def quiet():
            status = ms1_status(ring)
            if status is None or status["state"] != "idle":
                return pending(f"MS1 is {status['state'] if status else 'not answering'}")
            lags = {n: commit_lag(ring, n) for n in ring.ms3_names if ring.alive(n)}
            if any(lag != 0 for lag in lags.values()):
                return pending(f"MS3 commit lag {lags}")
            count = len(self.db.ids(session_id))
            now = time.monotonic()
            if count != last["count"]:
                last.update(count=count, since=now)
                return pending(f"the database still moving ({count} rows)")
            if now - last["since"] < SETTLE_S:
                return None
            scan = self.scan(env)
            if scan is None:
                return pending("the topic scan failed")
            behind = [p for p in scan["partitions"] if p["committed"] != p["end"]]
            if behind:
                return pending(f"the group's committed offsets behind the end: {behind}")
            return scan
        try:
            return wait_until("the ring to settle (nothing left in Kafka, the database holding still)", 120, quiet, 0.3)
        except WaitTimeout as timeout:
            raise WaitTimeout(f"{timeout}; still pending: {last['pending']}") from None

    def scenario(self, ring, env, mode, fault):
        self.db.clear_unowned_rows()
        dup_before = duplicate_stores(ring)
        session_id = self.start_session(ring)
        started = time.monotonic()
        wait_until("the session to get going", 60, lambda: (
            (ms1_status(ring) or {}).get("sent", 0) >= KILL_AFTER_SENT and time.monotonic() - started >= KILL_AFTER_S))
        sent_at_fault = ms1_status(ring)["sent"]
        duplicates = 0
        if fault == "ms1":
            duplicates = duplicate_stores(ring) - dup_before  # its counters die with it
            dup_before = 0
        log(f"{mode} / {fault}: session {session_id}, {sent_at_fault} sent, killing {fault}")
        self.inject(ring, fault)
        scan = self.settle(ring, env, session_id, fault)
        duplicates += duplicate_stores(ring) - dup_before
        if fault == "ms3-group":
            ring.start(VICTIM_MS3)  # back for the next scenario
            ring.wait_healthy([VICTIM_MS3])
            ring.wait_shared(GROUP_MS3)

        row = self.db.session(session_id) or {}
        stored_ids = self.db.ids(session_id)
        in_kafka = [r[1] for r in scan["records"] if r[0] == session_id]
        if row.get("sent") is not None:
            generated = int(row["sent"])
        else:
            # MS1 died holding the count: what it generated is what left it through MS2 and Kafka.
            generated = max(in_kafka + [0])
        distinct = set(stored_ids)
        if max(distinct, default=0) > generated:
            self.violations.append(f"{mode} / {FAULT_TITLES[fault]} (session {session_id}): stored ids beyond the "
                                   f"{generated} generated: {sorted(i for i in distinct if i > generated)[:10]}")
        lost = sorted(set(range(1, generated + 1)) - distinct)
        result = {
            "driver": self.driver, "mode": mode, "fault": fault, "session_id": session_id,
            "sent_at_fault": sent_at_fault, "generated": generated, "stored": len(distinct),
            "lost": len(lost), "lost_ids": lost[:20],
            "delivered_twice": duplicates,
            "kafka_twice": len(in_kafka) - len(set(in_kafka)),
            "stored_twice": len(stored_ids) - len(distinct),
            "resent": int(row["resent"]) if row.get("resent") is not None else None,
            "reason": row.get("reason"),
            "longest_gap_ms": round(self.db.longest_gap_ms(session_id), 1),
        }
        self.results.append(result)
        log(f"{mode} / {fault}: generated {generated}, stored {len(distinct)}, lost {len(lost)}, "
            f"delivered twice {duplicates}, twice in Kafka {result['kafka_twice']}, "
            f"stored twice {result['stored_twice']}, longest gap {result['longest_gap_ms']} ms")
        self.judge(result)

    def judge(self, r):
        where = f"{r['mode']} / {FAULT_TITLES[r['fault']]} (session {r['session_id']})"
        if r["mode"] != "at-most-once" and r["lost"]:
            self.violations.append(f"{where}: lost {r['lost']} message(s), ids {r['lost_ids']}")
        if r["mode"] == "at-most-once" and (r["delivered_twice"] or r["kafka_twice"]):
            self.violations.append(f"{where}: at-most-once carried a message twice ({r['delivered_twice']} to MS1, "
                                   f"{r['kafka_twice']} in Kafka)")
        if r["stored_twice"]:
            self.violations.append(f"{where}: stored {r['stored_twice']} message(s) twice")
        # A killed MS1 takes with it the frames it had queued but not yet written (at most its window),
        # and nobody outside it saw them; every other fault leaves MS1's count whole.
        floor = r["sent_at_fault"] - (WINDOW if r["fault"] == "ms1" else 0)
        if r["generated"] < floor:
            self.violations.append(f"{where}: generated {r['generated']} < {floor} "
                                   f"({r['sent_at_fault']} seen before the fault)")
        if r["fault"] == "ms1" and r["reason"] != "interrupted":
            self.violations.append(f"{where}: the session was recorded as {r['reason']!r}, not 'interrupted'")

    def recovery_check(self, ring, mode):
        """After the last fault the ring must still work: one more session, nothing lost."""
        session_id = self.start_session(ring)
        wait_until(f"session {session_id} to finish", DURATION_S + DRAIN_TIMEOUT_MS / 1000 + 60,
             lambda: ((ms1_status(ring) or {}).get("last_session") or {}).get("session_id") == session_id, 0.2)
        summary = ms1_status(ring)["last_session"]
        if summary["messages"] < KILL_AFTER_SENT or summary["lost"] or summary["stored"] != summary["messages"]:
            self.violations.append(f"{mode}: the session after the faults did not run cleanly: {summary}")
        log(f"{mode}: after the faults, session {session_id} sent {summary['messages']} and stored {summary['stored']}")

    def run_mode(self, mode, faults):
        work = tempfile.mkdtemp(prefix=f"ringtrace-faults-{self.driver}-{mode}-")
        env = self.environment(mode, work)
        ring = self.make_ring(work, env)
        where = f"the {CLUSTER_NODES}-node cluster, {GROUP_MS3} MS3s" if self.args.cluster else "one broker"
        log(f"{mode}: starting the ring ({self.driver}, {where}, logs in {work})")
        try:
            if self.args.cluster:
                kafka_cluster.up(CLUSTER_NODES)
            ring.start()
            ring.wait_healthy(["ms2", "ms1", *ring.ms3_names])
            if self.args.cluster:
                ring.wait_shared(GROUP_MS3)
            for fault in faults:
                self.scenario(ring, env, mode, fault)
            self.recovery_check(ring, mode)
        finally:
            codes = ring.stop_all()
        for name, code in codes.items():
            if code != 0:
                self.violations.append(f"{mode}: {name} did not stop cleanly on SIGTERM: {code}")

    def make_ring(self, work, env):
        return Ring(self.args.bin, os.path.join(REPO, "config", "ringtrace.yaml"), work, env,
                    ms3=GROUP_MS3 if self.args.cluster else 1)

    def run(self, modes, faults):
        for mode in modes:
            self.run_mode(mode, faults)

    def report(self):
        modes = [m for m in MODES if any(r["mode"] == m for r in self.results)]
        where = (f" on {CLUSTER_NODES} Kafka nodes (replication factor {kafka_cluster.replication(CLUSTER_NODES)}, "
                 f"min.insync.replicas {kafka_cluster.replication(CLUSTER_NODES) - 1}, {GROUP_MS3} partitions keyed by "
                 f"message, {GROUP_MS3} MS3s in one group)") if self.args.cluster else ""
        lines = [
            f"Measured with `{self.driver}` (naming `{NAMING[self.driver]}`){where}, window {WINDOW}, "
            f"{DURATION_S} s sessions, one fault per session once {KILL_AFTER_SENT} messages were sent.",
            "",
            "| fault | delivery | generated | stored | lost | delivered twice | twice in Kafka | stored twice | resent by MS1 "
            "| longest gap (ms) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for fault in FAULTS + CLUSTER_FAULTS:
            for mode in modes:
                for r in self.results:
                    if r["fault"] == fault and r["mode"] == mode:
                        resent = "n/a (MS1 died)" if r["resent"] is None else str(r["resent"])
                        lines.append(f"| {FAULT_TITLES[fault]} | {mode} | {r['generated']} | {r['stored']} | "
                                     f"**{r['lost']}** | {r['delivered_twice']} | {r['kafka_twice']} | "
                                     f"**{r['stored_twice']}** | {resent} | {r['longest_gap_ms']} |")
        return "\n".join(lines) + "\n"

    def update_docs(self, path, table):
        block = f"faults:cluster:{self.driver}" if self.args.cluster else f"faults:{self.driver}"
        begin, end = f"<!-- {block} -->", f"<!-- /{block} -->"
        text = open(path).read()
        if begin not in text or end not in text:
            raise HarnessError(f"{path} has no {begin} … {end} block")
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        with open(path, "w") as f:
            f.write(f"{head}{begin}\n{table}{end}{tail}")
        log(f"updated {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--driver", choices=["postgresql", "mariadb"], required=True)
    parser.add_argument("--bin", required=True, help="directory with ms1, ms2 and ms3")
    parser.add_argument("--scan", required=True, help="the ringtrace-topic-scan binary")
    parser.add_argument("--cluster", action="store_true",
                        help="the replicated cluster and three MS3s (faults: " + ",".join(CLUSTER_FAULTS) + ")")
    parser.add_argument("--network", action="store_true",
                        help="the ring in network namespaces, with network faults (network_faults.py)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--faults")
    parser.add_argument("--report", help="write the markdown table here")
    parser.add_argument("--json", help="write every measurement here")
    parser.add_argument("--docs", help="replace the table for this driver in this file (docs/guarantees.md)")
    parser.add_argument("--from-json", metavar="FILE",
                        help="run nothing: write the report (and --docs) from the measurements a run wrote with --json")
    args = parser.parse_args()
    modes = args.modes.split(",")
    if args.network and args.cluster:
        parser.error("--network runs the single broker; it cannot be combined with --cluster")
    if args.network:
        import network_faults
        known_faults = network_faults.FAULTS + network_faults.EXTRA_FAULTS
        default_faults = network_faults.FAULTS
    else:
        known_faults = CLUSTER_FAULTS if args.cluster else FAULTS
        default_faults = known_faults
    faults = args.faults.split(",") if args.faults else default_faults
    for value, known in [(modes, MODES), (faults, known_faults)]:
        unknown = set(value) - set(known)
        if unknown:
            parser.error(f"unknown {sorted(unknown)}; known: {known}")

    harness = network_faults.NetworkHarness(args) if args.network else Harness(args)
    started = time.monotonic()
    if args.from_json:
        with open(args.from_json) as f:
            for r in json.load(f):
                harness.results.append(r)
                harness.judge(r)
    else:
        try:
            harness.run(modes, faults)
        except UNMEASURABLE as e:
            harness.violations.append(f"harness: {e}")
    table = harness.report()
    print(table)
    if args.report:
        with open(args.report, "w") as f:
            f.write(table)
    if args.json and not args.from_json:
        with open(args.json, "w") as f:
            json.dump(harness.results, f, indent=1)
    if args.docs and not harness.violations:
        harness.update_docs(args.docs, table)
    log(f"{len(harness.results)} scenario(s) in {time.monotonic() - started:.0f} s")
    if harness.violations:
        for v in harness.violations:
            print(f"FAIL - {v}")
        return 1
    print("ok - no message lost by at-least-once or exactly-once, none stored twice, the ring recovered every time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
