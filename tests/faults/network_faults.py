"""Network faults for fault_harness.py --network: the ring in network namespaces of its own
(ringtrace_harness.hosts), every link through a Toxiproxy in its client's namespace, and per
session one fault of the network instead of a crash:

- a partition of 20 s of one link (iptables DROP on both legs in the client's namespace:
  ringtrace_harness.netfaults), healed by deleting the rules;
- latency with jitter (50 ± 20 ms, both streams) on one hop for 6 s;
- connections reset (Toxiproxy reset_peer, 100 ms into their traffic) on one hop for 2 s;
- a slow database: a lock on `messages` held 8 s, longer than ms3.request_timeout_ms.

Besides what the crash rows measure, each row has the time from healing to the ring moving again
(MS1's stored count rising again) and, for a silenced link, the time until the side named for that
link noticed (by its metric), which must be within the link's stated bound plus MARGIN_S.
"""

import os
import threading
import time

import fault_harness as fh
from ringtrace_harness import hosts as hosts_mod
from ringtrace_harness import netfaults, toxiproxy
from ringtrace_harness.ring import Ring, metric
from ringtrace_harness.wait import wait_until

PARTITIONS = ["ms1-ms2", "ms2-kafka", "ms3-kafka", "ms3-ms1", "ms1-db"]
HOPS = PARTITIONS
FAULTS = ([f"partition:{link}" for link in PARTITIONS] + [f"latency:{hop}" for hop in HOPS]
          + [f"reset:{hop}" for hop in HOPS] + ["slowdb"])
# Not in the full matrix (it covers each hop alone); the short CI sets use them to cover every hop
# in one session.
EXTRA_FAULTS = ["latency:all", "reset:all"]
LINK_TITLES = {"ms1-ms2": "MS1 ↔ MS2", "ms2-kafka": "MS2 ↔ Kafka", "ms3-kafka": "MS3 ↔ Kafka",
               "ms3-ms1": "MS3 ↔ MS1", "ms1-db": "MS1 ↔ database", "all": "every hop"}

PORT_BASE = {"postgresql": 18560, "mariadb": 18660}   # apart from the crash runs' and hosts.skew's
FAULT_AT_S = 3.0          # the fault comes this far into the session (and once 50 were sent)
PARTITION_S = 20.0
LATENCY_S = 6.0
RESET_S = 2.0
SLOW_DB_S = 8             # > ms3.request_timeout_ms (5 s)
SESSION_S = {"partition": 30, "latency": 12, "reset": 10, "slowdb": 16}
MARGIN_S = 1.5            # on top of each stated bound: the harness polls, the kernel rounds up
MOVING_TIMEOUT_S = 90
POLL_S = 0.1

DB_DRIVER_BOUND = 5.0
# What notices a silent peer on each link: (service whose /metrics is read, series, "zero" (a gauge
# falls to 0) or "rise" (counters grow), the stated bound in s, how it is bounded).
STORE_GAVE_UP = ["ringtrace_store_retries_total", 'ringtrace_records_total{outcome="dropped"}']
DETECTORS = {
    "ms1-ms2": [("ms1", ["ringtrace_ms2_connected"], "zero", 3.0,
                 "WebSocket keep-alive pings, `ms1.ws_idle_timeout_ms`"),
                ("ms2", ["ringtrace_ws_sessions"], "zero", 10.0, "WebSocket idle timeout, `ms2.ws_idle_timeout_ms`")],
    "ms2-kafka": [("ms2", ["ringtrace_kafka_transport_errors_total"], "rise", 11.0,
                   "librdkafka `socket.timeout.ms` (`kafka.socket_timeout_ms` 10 s, checked once a second)")],
    "ms3-kafka": [("ms3", ["ringtrace_kafka_transport_errors_total"], "rise", 11.0,
                   "librdkafka `socket.timeout.ms` (`kafka.socket_timeout_ms` 10 s, checked once a second)")],
    "ms3-ms1": [("ms3", STORE_GAVE_UP, "rise", 5.0, "request deadline, `ms3.request_timeout_ms`")],
    "ms1-db": [("ms1", ["ringtrace_database_connected"], "zero", DB_DRIVER_BOUND,
                "TCP_USER_TIMEOUT and keepalive, `database.io_timeout_ms`")],
    "slowdb": [("ms3", STORE_GAVE_UP, "rise", 5.0, "request deadline, `ms3.request_timeout_ms`")],
}
# Why at most once loses messages under each fault: the rows' explanation in the report.
AT_MOST_ONCE_LOSSES = {
    "partition:ms1-ms2": "MS1 drops the silent link after its idle timeout and, at most once, gives up the "
                         "frames in flight (one window): they were written into the silence and never reached MS2",
    "partition:ms2-kafka": "The records of the produce requests in flight when the link went silent: librdkafka "
                           "fails them when it drops the connection after `socket.timeout.ms`, and at most once "
                           "MS2 does not retry. A request that had reached the broker (only its answer was lost) "
                           "is in the log all the same and arrives after the heal, so this is 0 or one window",
    "partition:ms3-kafka": "MS3 fetches nothing while the broker is silent, and its commit before "
                           "the next POST blocks until the heal, then fails (the group session expired meanwhile); "
                           "the records are not posted, but their offsets were not committed either, so the "
                           "reassigned consumer fetches them again",
    "partition:ms3-ms1": "MS3 commits before it posts: every POST sent into the silent link times out after "
                         "`ms3.request_timeout_ms` and is dropped, not retried. MS1 gives those messages up and "
                         "sends new ones, which meet the same end: about a window per 5 s of partition",
    "partition:ms1-db": "MS1 cannot write while the database is silent and answers MS3's POSTs with an error "
                        "(503 once the connection is dropped); MS3's single attempt for each is dropped: about "
                        "a window per 5 s, as for MS3 ↔ MS1",
    "latency": "Nothing is cut by 50 ± 20 ms (every timeout is far longer)",
    "reset": "The reset is on the answer stream, so a request already forwarded still reaches its peer "
             "and is acted on; only its answer is lost. On the WebSocket, Kafka and `/store` links the "
             "messages given up therefore still arrive. On the database link a reset kills the "
             "server's session, rolling back the transaction in flight: MS1 answers those POSTs with an "
             "error and MS3 drops them (the messages of the write in flight)",
    "slowdb": "MS3 gives its POSTs up after 5 s behind the lock, but MS1 had them and stores them "
              "once the lock goes",
}


def kind(fault):
    return fault.split(":", 1)[0]


def target(fault):
    return fault.split(":", 1)[1] if ":" in fault else None


def title(fault):
    k, t = kind(fault), target(fault)
    return {"partition": f"partition {LINK_TITLES.get(t, t)} ({PARTITION_S:.0f} s)",
            "latency": f"latency 50 ± 20 ms, {LINK_TITLES.get(t, t)} ({LATENCY_S:.0f} s)",
            "reset": f"connections reset, {LINK_TITLES.get(t, t)} ({RESET_S:.0f} s)",
            "slowdb": f"slow database (lock held {SLOW_DB_S} s)"}[k]


def detectors(fault):
    if kind(fault) == "partition":
        return DETECTORS[target(fault)]
    return DETECTORS.get(fault, [])


def series_value(text, series):
    """The sum of SERIES in one /metrics text; None when the service did not answer."""
    if not text:
        return None
    return sum(metric(text, s) or 0.0 for s in series)


class NetworkHarness(fh.Harness):
    """fault_harness.Harness on the namespaced ring, with the faults above."""

    def __init__(self, args):
        super().__init__(args)
        self.hosts = None
        self.failures_explained = {}
        fh.FAULT_TITLES.update({f: title(f) for f in FAULTS + EXTRA_FAULTS})

    def environment(self, mode, work):
        env = super().environment(mode, work)
        base = PORT_BASE[self.driver]
        tag = f"{self.driver}.{mode}.{os.getpid()}.net"
        env.update({
            "RINGTRACE__KAFKA__TOPIC": f"ringtrace.faults.{tag}",
            "RINGTRACE__KAFKA__GROUP_ID": f"ringtrace-faults-{tag}",
            "RINGTRACE__MS1__PORT": str(base),
            "RINGTRACE__MS1__MS2_URL": f"ws://127.0.0.1:{base + 1}/ws",
            "RINGTRACE__MS2__PORT": str(base + 1),
            "RINGTRACE__MS2__ADMIN_PORT": str(base + 2),
            "RINGTRACE__MS3__ADMIN_PORT": str(base + 3),
            "RINGTRACE__MS3__STORE_URL": f"http://127.0.0.1:{base}/store",
        })
        return env

    def run(self, modes, faults):
        """Every mode's ring in one set of namespaces, made here and removed on every exit path."""
        work = os.path.join(fh.tempfile.mkdtemp(prefix=f"ringtrace-netfaults-{self.driver}-"), "hosts")
        config = os.path.join(fh.REPO, "config", "ringtrace.yaml")
        plan = hosts_mod.ports(self.environment(modes[0], work), config)
        with hosts_mod.Hosts(plan, work, toxiproxy.build()) as h:
            self.hosts = h
            fh.log(f"namespaces {' '.join(h.ns.values())} (work {work})")
            for mode in modes:
                self.run_mode(mode, faults)

    def make_ring(self, work, env):
        return Ring(self.args.bin, os.path.join(fh.REPO, "config", "ringtrace.yaml"), work, env, hosts=self.hosts)

    # --- the fault
    def reset_toxics(self):
        for name in hosts_mod.SERVICES:
            toxiproxy.reset(self.hosts.toxiproxy_api(name))

    def _toxic(self, hop):
        hops = HOPS if hop == "all" else [hop]
        for h in hops:
            api, proxy = self.hosts.toxiproxy_api(netfaults.client(h)), netfaults.proxy(h)
            yield api, proxy

    def begin(self, fault):
        """Starts the fault; returns what end() needs."""
        k, t = kind(fault), target(fault)
        if k == "partition":
            return netfaults.partition(self.hosts, t)
        if k == "latency":
            for api, proxy in self._toxic(t):
                for stream in ("upstream", "downstream"):
                    toxiproxy.add_toxic(api, proxy, f"latency-{stream}", "latency", netfaults.LATENCY, stream)
            return None
        if k == "reset":
            for api, proxy in self._toxic(t):
                toxiproxy.add_toxic(api, proxy, "reset", "reset_peer", {"timeout": netfaults.RESET_AFTER_MS})
            return None
        # slowdb: a session of our own holds the lock in the background
        sql = (f"BEGIN; LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE; SELECT pg_sleep({SLOW_DB_S}); COMMIT;"
               if self.driver == "postgresql" else
               f"LOCK TABLES messages WRITE; DO SLEEP({SLOW_DB_S}); UNLOCK TABLES;")
        outcome = {}

        def hold():
            try:
                self.db.rows(sql)
            except fh.DatabaseError as e:
                outcome["error"] = str(e)
        thread = threading.Thread(target=hold, daemon=True)
        thread.start()
        return thread, outcome

    def held(self, fault, token, since):
        """The fault is still on."""
        k = kind(fault)
        if k == "slowdb":
            return token[0].is_alive()
        return time.monotonic() - since < {"partition": PARTITION_S, "latency": LATENCY_S, "reset": RESET_S}[k]

    def end(self, fault, token):
        k = kind(fault)
        if k == "partition":
            netfaults.heal(token)
        elif k in ("latency", "reset"):
            self.reset_toxics()
        else:
            token[0].join()
            if "error" in token[1]:
                raise fh.HarnessError(f"the slow database's lock failed: {token[1]['error']}")

    # --- measures
    def sample(self, ring, services):
        return {name: ring.metrics(name) for name in services}

    def watch(self, ring, fault, token, since):
        """Polls the detectors while the fault is on; {detector index: seconds} for those that fired.
        Under a slow database MS1 must keep its database connection (a live server is never cut)."""
        found, dets = {}, detectors(fault)
        services = sorted({d[0] for d in dets} | ({"ms1"} if fault == "slowdb" else set()))
        base = self.sample(ring, services)
        start = {i: series_value(base[d[0]], d[1]) for i, d in enumerate(dets)}
        cut = None
        while self.held(fault, token, since):
            now = self.sample(ring, services)
            t = time.monotonic() - since
            for i, (svc, series, how, _, _) in enumerate(dets):
                if i in found:
                    continue
                v = series_value(now[svc], series)
                if v is None:
                    continue
                if (how == "zero" and v == 0) or (how == "rise" and start[i] is not None and v > start[i]):
                    found[i] = round(t, 2)
            if fault == "slowdb" and metric(now["ms1"], "ringtrace_database_connected") == 0 and cut is None:
                cut = round(t, 2)
            time.sleep(POLL_S)
        return found, cut

    def stored_now(self, ring):
        status = fh.ms1_status(ring) or {}
        if status.get("state") in ("running", "draining", "finishing"):
            return status.get("stored")
        return (status.get("last_session") or {}).get("stored", status.get("stored"))

    def scenario(self, ring, env, mode, fault):
        self.db.clear_unowned_rows()
        self.reset_toxics()
        dup_before = fh.duplicate_stores(ring)
        session_s = SESSION_S[kind(fault)]
        route = f"/start?duration_seconds={session_s}&window={fh.WINDOW}"
        session_id = wait_until("GET /start to be accepted", 60,
                                lambda: (ring.json(route) or {}).get("session_id"), 0.2)
        started = time.monotonic()
        wait_until("the session to get going", 60, lambda: (
            (fh.ms1_status(ring) or {}).get("sent", 0) >= fh.KILL_AFTER_SENT and time.monotonic() - started >= FAULT_AT_S))
        sent_at_fault = fh.ms1_status(ring)["sent"]
        fh.log(f"{mode} / {fault}: session {session_id}, {sent_at_fault} sent, {title(fault)}")
        since = time.monotonic()
        token = self.begin(fault)
        try:
            found, cut = self.watch(ring, fault, token, since)
        finally:
            self.end(fault, token)
        healed = time.monotonic()
        stored_at_heal = self.stored_now(ring) or 0
        moving = wait_until("the ring to move again after the heal", MOVING_TIMEOUT_S,
                            lambda: (self.stored_now(ring) or 0) > stored_at_heal, 0.05)
        moving_ms = round((time.monotonic() - healed) * 1000) if moving else None
        scan = self.settle(ring, env, session_id, fault)
        duplicates = fh.duplicate_stores(ring) - dup_before

        row = self.db.session(session_id) or {}
        stored_ids = self.db.ids(session_id)
        in_kafka = [r[1] for r in scan["records"] if r[0] == session_id]
        generated = int(row["sent"]) if row.get("sent") is not None else max(in_kafka + [0])
        distinct = set(stored_ids)
        lost = sorted(set(range(1, generated + 1)) - distinct)
        dets = detectors(fault)
        result = {
            "driver": self.driver, "mode": mode, "fault": fault, "session_id": session_id,
            "sent_at_fault": sent_at_fault, "generated": generated, "stored": len(distinct),
            "lost": len(lost), "lost_ids": lost[:20], "delivered_twice": duplicates,
            "kafka_twice": len(in_kafka) - len(set(in_kafka)),
            "stored_twice": len(stored_ids) - len(distinct),
            "resent": int(row["resent"]) if row.get("resent") is not None else None,
            "reason": row.get("reason"),
            "longest_gap_ms": round(self.db.longest_gap_ms(session_id), 1),
            "moving_again_ms": moving_ms,
            "detected": [{"service": d[0], "series": d[1], "bound_s": d[3], "after_s": found.get(i)}
                         for i, d in enumerate(dets)],
            "db_cut_after_s": cut,
        }
        self.results.append(result)
        seen = ", ".join(f"{d['service']} {d['after_s']} s (bound {d['bound_s']} s)" for d in result["detected"])
        fh.log(f"{mode} / {fault}: generated {generated}, stored {len(distinct)}, lost {len(lost)}, "
               f"delivered twice {duplicates}, twice in Kafka {result['kafka_twice']}, stored twice "
               f"{result['stored_twice']}, longest gap {result['longest_gap_ms']} ms, moving again after "
               f"{moving_ms} ms{', detected: ' + seen if seen else ''}")
        self.judge(result)

    def judge(self, r):
        super().judge(r)
        where = f"{r['mode']} / {title(r['fault'])} (session {r['session_id']})"
        for d in r["detected"]:
            if d["after_s"] is None:
                self.violations.append(f"{where}: {d['service']} never noticed the silent peer ({' + '.join(d['series'])})")
            elif d["after_s"] > d["bound_s"] + MARGIN_S:
                self.violations.append(f"{where}: {d['service']} noticed the silent peer after {d['after_s']} s, "
                                       f"beyond its bound {d['bound_s']} s + {MARGIN_S} s")
        if r["db_cut_after_s"] is not None:
            self.violations.append(f"{where}: MS1 dropped its database connection after {r['db_cut_after_s']} s "
                                   "although the server was only slow")
        if r["moving_again_ms"] is None:
            self.violations.append(f"{where}: the ring did not move again within {MOVING_TIMEOUT_S} s of the heal")

    # --- report
    def report(self):
        modes = [m for m in fh.MODES if any(r["mode"] == m for r in self.results)]
        lines = [
            f"Measured with `{self.driver}` (naming `{fh.NAMING[self.driver]}`) on the namespaced ring "
            f"(`--network`), window {fh.WINDOW}, one fault per session {FAULT_AT_S:.0f} s in (once "
            f"{fh.KILL_AFTER_SENT} messages were sent); sessions of {SESSION_S['partition']} s (partitions), "
            f"{SESSION_S['latency']} s (latency), {SESSION_S['reset']} s (resets) and {SESSION_S['slowdb']} s "
            "(slow database). *Moving again* is from the heal to MS1 storing the next message; "
            "*noticed after* is from the start of the partition to the metric of the side that notices.",
            "",
            "| fault | delivery | generated | stored | lost | delivered twice | twice in Kafka | stored twice "
            "| resent by MS1 | longest gap (ms) | moving again after (ms) | noticed after (s) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        order = FAULTS + EXTRA_FAULTS
        for fault in order:
            for mode in modes:
                for r in self.results:
                    if r["fault"] == fault and r["mode"] == mode:
                        seen = ", ".join(f"{d['service'].upper()} {d['after_s']}" for d in r["detected"]) or "–"
                        lines.append(f"| {title(fault)} | {mode} | {r['generated']} | {r['stored']} | "
                                     f"**{r['lost']}** | {r['delivered_twice']} | {r['kafka_twice']} | "
                                     f"**{r['stored_twice']}** | {r['resent']} | {r['longest_gap_ms']} | "
                                     f"{r['moving_again_ms']} | {seen} |")
        amo = {r["fault"]: r for r in self.results if r["mode"] == "at-most-once"}
        if amo:
            lines += ["", "Why at most once loses what it loses (its rows' *lost*), fault by fault:", ""]
            groups = {}   # the explanation's key: the fault, or its kind when one text covers every hop
            for fault in order:
                if fault in amo:
                    groups.setdefault(fault if fault in AT_MOST_ONCE_LOSSES else kind(fault), []).append(fault)
            for key, faults in groups.items():
                if len(faults) == 1 and key == faults[0]:
                    head = f"{title(key)}: **{amo[key]['lost']}** lost"
                else:
                    # The count first: "Kafka **0**" would read as a Kafka version to the docs' pin check.
                    each = ", ".join(f"**{amo[f]['lost']}** on {LINK_TITLES.get(target(f), target(f))}" for f in faults)
                    head = f"{title(faults[0]).split(',')[0]}: lost {each}"
                lines.append(f"- {head}. {AT_MOST_ONCE_LOSSES[key]}.")
        linked = [f for f in order if detectors(f) and any(r["fault"] == f for r in self.results)]
        if linked:
            lines += ["", "Per link: who notices a silent peer, by what, within which bound (asserted: the bound "
                      f"+ {MARGIN_S} s), and how soon the ring moved again after the heal, over the modes run:", "",
                      "| fault | noticed by | mechanism | metric | bound (s) | noticed after (s) | moving again after (ms) |",
                      "|---|---|---|---|---:|---|---|"]
            for fault in linked:
                rows = [r for r in self.results if r["fault"] == fault]
                moving = [r["moving_again_ms"] for r in rows if r["moving_again_ms"] is not None]
                for i, (svc, series, _, bound, how) in enumerate(detectors(fault)):
                    seen = [r["detected"][i]["after_s"] for r in rows if r["detected"][i]["after_s"] is not None]
                    lines.append(f"| {title(fault)} | {svc.upper()} | {how} | `{' + '.join(series)}` | {bound:g} | "
                                 f"{span(seen)} | {span(moving)} |")
        return "\n".join(lines) + "\n"

    def update_docs(self, path, table):
        block = f"faults:network:{self.driver}"
        begin, end = f"<!-- {block} -->", f"<!-- /{block} -->"
        text = open(path).read()
        if begin not in text or end not in text:
            raise fh.HarnessError(f"{path} has no {begin} … {end} block")
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        with open(path, "w") as f:
            f.write(f"{head}{begin}\n{table}{end}{tail}")
        fh.log(f"updated {path}")


def span(values):
    if not values:
        return "–"
    lo, hi = min(values), max(values)
    return f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}"
