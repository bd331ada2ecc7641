#!/usr/bin/env python3
"""Checks that a session's message cycles are whole traces in Jaeger.

usage: check_traces.py QUERY_URL SESSION_ID [MIN_TRACES]

Asks Jaeger's query API for traces of service ms3 tagged with the session, and requires of each:
spans from ms1, ms2 and ms3; exactly one root span, MS1's "send"; every other span a child of a
span in the same trace. Prints a one-line verdict; exit 0 when at least MIN_TRACES (default 1)
traces were found and all passed.
"""
import json
import sys
import urllib.parse
import urllib.request


def main() -> int:
    base, session = sys.argv[1], sys.argv[2]
    wanted = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    query = urllib.parse.urlencode(
        {"service": "ms3", "limit": "20", "lookback": "1h", "tags": json.dumps({"session_id": session})})
    try:
        with urllib.request.urlopen(f"{base}/api/traces?{query}", timeout=5) as response:
            traces = json.load(response).get("data") or []
    except (OSError, ValueError) as error:
        print(f"jaeger query failed: {error}")
        return 1
    if len(traces) < wanted:
        print(f"found {len(traces)} traces for session {session}, want at least {wanted}")
        return 1
    for trace in traces:
        processes = {key: p["serviceName"] for key, p in trace["processes"].items()}
        spans = trace["spans"]
        ids = {span["spanID"] for span in spans}
        services = {processes[span["processID"]] for span in spans}
        roots = [span for span in spans if not span.get("references")]
        problem = None
        if not {"ms1", "ms2", "ms3"} <= services:
            problem = f"services {sorted(services)}"
        elif len(roots) != 1:
            problem = f"{len(roots)} roots"
        elif processes[roots[0]["processID"]] != "ms1" or roots[0]["operationName"] != "send":
            problem = f"root is {processes[roots[0]['processID']]} {roots[0]['operationName']}"
        elif any(ref["spanID"] not in ids for span in spans for ref in span.get("references", [])):
            problem = "a span's parent is missing"
        if problem:
            print(f"trace {trace['traceID']}: {problem}")
            return 1
    first = {key: p["serviceName"] for key, p in traces[0]["processes"].items()}
    names = sorted({f"{first[s['processID']]}:{s['operationName']}" for s in traces[0]["spans"]})
    print(f"{len(traces)} traces of session {session}, each one root across ms1, ms2, ms3: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
