"""Counts every span of a session, per service, three ways, and says whether they agree exactly.

  the exporters   what each service's exporter handed to Jaeger during the session: the difference
                  of its ringtrace_spans_total{fate="exported"} read before /start (once every
                  span finished earlier has its fate: ringtrace_spans_queued 0) and after the
                  session (again once ringtrace_spans_queued is 0); fate="dropped" and "failed"
                  must not move
  Jaeger          the spans its query API holds for the session's traces: every trace with a span
                  tagged with the session, searched under each service (a limit above the
                  session's trace count, raised until the answer is not full), polled until the
                  counts are reached or a deadline passes
  the code        what a session of N generated messages must leave (CYCLE below): per copy of a
                  message MS1 sends, a trace rooted at MS1's "send"; per copy that comes back to
                  MS1's /store, the five spans under it

Resends and duplicates are accounted for, not tolerated: R (the sessions row's `resent`) copies
are sent again, each a trace of its own, and D (MS1's
ringtrace_store_requests_total{outcome="duplicate"} over the session) copies come back a second
time. So with C = N + D copies around the ring: N + R traces, C of them whole, R - D only the root;
ms1 holds N + R + C spans, ms2 and ms3 2 C each. MS1's exporter also hands over the server spans
of the control requests made during the session (GET /start, GET /stop), which are traces of
their own: the caller says how many it made.

Used by ring_e2e.py, span_queue_e2e.py and tests/compose/compose_test.py; standalone, it counts a
session of a ring already finished (the exporters' part needs a before-reading, so it is left out):

  span_count.py JAEGER_URL SESSION MESSAGES [RESENT [DUPLICATES [SINCE_EPOCH_SECONDS]]]
"""

import json
import re
import sys
import time
import urllib.parse
import urllib.request

SERVICES = ("ms1", "ms2", "ms3")

# One message's cycle: (service, span name) -> its parent's (service, span name). Span names are
# common/include/ringtrace/common/trace_names.hpp's; MS1's server span is named by method and path
# (ms1/src/service/http_api.cpp). MS1's store writer makes no span of its own.
CYCLE = {
    ("ms1", "send"): None,                                      # MS1 sends: the root, ends when stored
    ("ms2", "ws receive"): ("ms1", "send"),                     # MS2 reads the WebSocket frame
    ("ms2", "kafka produce"): ("ms2", "ws receive"),            # until the broker acknowledged it
    ("ms3", "kafka consume"): ("ms2", "kafka produce"),         # MS3 processes the record
    ("ms3", "POST /store"): ("ms3", "kafka consume"),           # MS3's client span
    ("ms1", "POST /store"): ("ms3", "POST /store"),             # MS1's server span for that request
}
ROOT = ("ms1", "send")


def series(text, name, labels=""):
    """The value of one exposition series (exact name and labels), or None."""
    m = re.search(rf"^{re.escape(name + labels)} (\S+)$", text or "", re.M)
    return int(float(m.group(1))) if m else None


def exporter_state(text):
    """{exported, dropped, failed, queued} of one service's /metrics text; None when any is missing."""
    state = {fate: series(text, "ringtrace_spans_total", f'{{fate="{fate}"}}') for fate in ("exported", "dropped", "failed")}
    state["queued"] = series(text, "ringtrace_spans_queued")
    return None if None in state.values() else state


def store_requests(text):
    """MS1's /store requests by outcome, from its /metrics text."""
    return {m.group(1): int(float(m.group(2)))
            for m in re.finditer(r'^ringtrace_store_requests_total\{outcome="(\w+)"\} (\S+)$', text or "", re.M)}


def expected_spans(messages, resent, duplicates):
    """Per service, the spans of the session's traces; and the traces: (spans, traces, whole)."""
    copies = messages + duplicates
    spans = {"ms1": messages + resent + copies, "ms2": 2 * copies, "ms3": 2 * copies}
    return spans, messages + resent, copies


def get_json(url, timeout_s=30):
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return json.load(response)


def search(jaeger, service, session, limit, since_us):
    """Every trace Jaeger holds with a span of SERVICE tagged with the session that began since
    SINCE_US (raising the limit until the answer is not full); {trace id: trace}. Session ids are
    per database, and one Jaeger serves rings on either: the window keeps another ring's session
    of the same id out."""
    while True:
        until_us = int(time.time() * 1e6) + 1_000_000
        query = urllib.parse.urlencode({"service": service, "limit": str(limit), "start": str(since_us),
                                        "end": str(until_us), "tags": json.dumps({"session_id": str(session)})})
        traces = get_json(f"{jaeger}/api/traces?{query}").get("data") or []
        if len(traces) < limit:
            return {t["traceID"]: t for t in traces}
        limit *= 2


def census(traces):
    """Spans per service, whole traces, root-only traces and the first few problems."""
    spans = dict.fromkeys(SERVICES, 0)
    whole = root_only = 0
    problems = []
    for trace in traces.values():
        processes = {key: p["serviceName"] for key, p in trace["processes"].items()}
        by_id = {}
        for span in trace["spans"]:
            service = processes.get(span["processID"], "?")
            spans[service] = spans.get(service, 0) + 1
            by_id[span["spanID"]] = (service, span["operationName"], span.get("references") or [])
        steps = []
        problem = None
        for service, name, refs in by_id.values():
            step = (service, name)
            parents = [by_id.get(r["spanID"]) for r in refs if r.get("refType", "CHILD_OF") == "CHILD_OF"]
            parent = (parents[0][0], parents[0][1]) if len(parents) == 1 and parents[0] else None
            if step not in CYCLE:
                problem = f"a span not of the cycle: {service} {name!r}"
            elif CYCLE[step] != parent:
                problem = f"{service} {name!r} has parent {parent}, not {CYCLE[step]}"
            steps.append(step)
        if problem is None:
            if sorted(steps) == sorted(CYCLE):
                whole += 1
                continue
            if steps == [ROOT]:
                root_only += 1
                continue
            problem = f"spans {sorted(f'{s} {n}' for s, n in steps)}"
        if len(problems) < 3:
            problems.append(f"trace {trace['traceID']}: {problem}")
    return {"spans": spans, "traces": len(traces), "whole": whole, "root_only": root_only, "problems": problems}


def jaeger_census(jaeger, session, want_traces, since_us):
    """census() of every trace of the session: searched under ms1 (every trace's root is MS1's),
    then under ms2 and ms3 too, so a trace that lost its MS1 spans is counted as well."""
    limit = max(100, 2 * want_traces + 100)
    traces = {}
    for service in SERVICES:
        traces.update(search(jaeger, service, session, limit, since_us))
    return census(traces)


class Verdict:
    """The checks of one count: (what, ok, detail) lines, and a one-line summary."""

    def __init__(self):
        self.lines = []
        self.summary = ""

    def add(self, what, ok, detail=""):
        self.lines.append((what, bool(ok), detail))

    @property
    def ok(self):
        return all(ok for _, ok, _ in self.lines)

    def failed(self, prefix):
        """The failed lines whose `what` starts with prefix."""
        return [line for line in self.lines if not line[1] and line[0].startswith(prefix)]


class SpanCount:
    """One session's count. scrape(service) is that service's /metrics text ("" when it does not
    answer); jaeger is the query API's base URL."""

    def __init__(self, scrape, jaeger, timeout_s=60):
        self.scrape, self.jaeger, self.timeout_s = scrape, jaeger, timeout_s
        self.start = None
        self.store_start = None
        self.since_us = None

    def _states(self):
        texts = {s: self.scrape(s) for s in SERVICES}
        return {s: exporter_state(t) for s, t in texts.items()}, store_requests(texts["ms1"])

    def _poll(self, done):
        """The exporters' states once done(states) holds, or the last ones at the deadline."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            states, stores = self._states()
            if all(states.values()) and done(states):
                return states, stores, True
            if time.monotonic() >= deadline:
                return states, stores, False
            time.sleep(0.2)

    def before(self):
        """Reads the exporters before the session, once every span finished so far has its fate.
        Call it with the ring idle (no session, MS3 caught up). False when that never happened."""
        self.since_us = int(time.time() * 1e6)
        states, self.store_start, ok = self._poll(lambda st: all(s["queued"] == 0 for s in st.values()))
        self.start = states if ok else None
        return ok

    def after(self, session, messages, resent, control=0):
        """The verdict once the session has finished: CONTROL is the number of control requests
        (GET /start, GET /stop) made to MS1 between before() and now."""
        verdict = Verdict()
        if self.start is None:
            verdict.add("the exporters settled before the session (ringtrace_spans_queued 0)", False,
                        "no reading of all three")
            return verdict
        stores = store_requests(self.scrape("ms1"))
        duplicates = stores.get("duplicate", 0) - self.store_start.get("duplicate", 0)
        want, want_traces, want_whole = expected_spans(messages, resent, duplicates)
        want_exported = dict(want, ms1=want["ms1"] + control)

        def handed(states, s):
            return sum(states[s][f] - self.start[s][f] for f in ("exported", "dropped", "failed"))
        states, stores, settled = self._poll(
            lambda st: all(st[s]["queued"] == 0 and handed(st, s) >= want_exported[s] for s in SERVICES))
        requests = sum(stores.values()) - sum(self.store_start.values())
        verdict.add("every /store request of the session was stored or a duplicate",
                    requests == messages + duplicates,
                    f"{requests} requests, {messages} messages, {duplicates} duplicates")
        figures = {}
        for s in SERVICES:
            if not states.get(s):
                verdict.add(f"{s}: its exporter's counters are served", False, "no ringtrace_spans_total")
                continue
            delta = {f: states[s][f] - self.start[s][f] for f in ("exported", "dropped", "failed")}
            figures[s] = delta
            verdict.add(f"{s}: its exporter dropped no span (queue full)", delta["dropped"] == 0, f"{delta['dropped']} dropped")
            verdict.add(f"{s}: its exporter lost no span to a failed POST", delta["failed"] == 0, f"{delta['failed']} failed")
            verdict.add(f"{s}: its exporter handed Jaeger every span: exported = {want_exported[s]}"
                        + (f" ({control} control request spans included)" if s == "ms1" and control else ""),
                        delta["exported"] == want_exported[s], f"exported {delta['exported']}"
                        + ("" if settled else "; the exporters did not settle in time"))
        holds = [None]

        def jaeger_holds():
            try:
                holds[0] = jaeger_census(self.jaeger, session, want_traces, self.since_us)
            except (OSError, ValueError) as error:
                holds[0] = {"error": str(error)}
                return False
            # Counts only grow while Jaeger takes batches in: stop once each has reached its figure.
            return all(holds[0]["spans"].get(s, 0) >= want[s] for s in SERVICES)
        deadline = time.monotonic() + self.timeout_s
        while not jaeger_holds() and time.monotonic() < deadline:
            time.sleep(1.0)
        got = holds[0] or {}
        if "error" in got:
            verdict.add("Jaeger's query API answers", False, got["error"])
            return verdict
        for s in SERVICES:
            verdict.add(f"{s}: Jaeger holds {want[s]} spans of the session", got["spans"].get(s, 0) == want[s],
                        f"holds {got['spans'].get(s, 0)}")
        others = {k: v for k, v in got["spans"].items() if k not in SERVICES}
        verdict.add("Jaeger holds no span of another service in the session's traces", not others, str(others))
        verdict.add(f"Jaeger holds {want_traces} traces of the session, {want_whole} whole (six spans, each "
                    f"under its parent) and {want_traces - want_whole} only the root",
                    (got["traces"], got["whole"], got["root_only"]) == (want_traces, want_whole, want_traces - want_whole),
                    f"{got['traces']} traces, {got['whole']} whole, {got['root_only']} root only"
                    + (f"; {'; '.join(got['problems'])}" if got["problems"] else ""))
        verdict.summary = (f"session {session}: {messages} messages, {resent} resent, {duplicates} duplicates: "
                           + ", ".join(f"{s} {want[s]} spans (exported {figures.get(s, {}).get('exported')}, "
                                       f"in Jaeger {got['spans'].get(s, 0)})" for s in SERVICES)
                           + f"; {got['traces']} traces")
        return verdict


def main():
    if len(sys.argv) < 4:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    jaeger, session, messages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    resent = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    duplicates = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    want, want_traces, want_whole = expected_spans(messages, resent, duplicates)
    since_s = float(sys.argv[6]) if len(sys.argv) > 6 else time.time() - 2 * 3600
    got = jaeger_census(jaeger, session, want_traces, int(since_s * 1e6))
    ok = got["spans"] == want and (got["traces"], got["whole"]) == (want_traces, want_whole)
    print(f"{'ok' if ok else 'FAIL'}: want {want}, {want_traces} traces ({want_whole} whole); "
          f"Jaeger holds {got['spans']}, {got['traces']} traces ({got['whole']} whole) {' '.join(got['problems'])}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
