#!/usr/bin/env python3
"""The verdict of one ctest run beyond its exit status, which stays 0 when tests were skipped and
says nothing of a label that ran nothing.

  ctest_verdict.py PRESET|BUILD_DIR JUNIT LABEL...

JUNIT is the file `ctest --output-junit` wrote for that run; the labels of its tests are read
from `ctest --preset PRESET --show-only=json-v1` (run from the source directory), or with
`--test-dir BUILD_DIR` when the first argument is a directory (the JUnit file has no labels). Prints one line
per LABEL (`ctest <label>: N ran, F failed`) and one per test that did not run, then exits 1
when a LABEL ran no test, or when any test of the run was skipped (SKIP_RETURN_CODE,
SKIP_REGULAR_EXPRESSION, a GTEST_SKIP), disabled, or not run at all; 0 otherwise. Failed tests
are counted but left to ctest's own exit status.
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET


def labels_by_test(where):
    """{test name: [labels]} of every test ctest knows in the preset's or directory's build."""
    select = ["--test-dir", where] if os.path.isdir(where) else ["--preset", where]
    result = subprocess.run(["ctest", *select, "--show-only=json-v1"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"ctest_verdict: ctest {' '.join(select)} --show-only=json-v1 failed:\n{result.stderr}")
    labels = {}
    for test in json.loads(result.stdout)["tests"]:
        props = {p["name"]: p["value"] for p in test.get("properties", [])}
        labels[test["name"]] = list(props.get("LABELS", []))
    return labels


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    where, junit, wanted = argv[0], argv[1], argv[2:]
    try:
        cases = ET.parse(junit).getroot().iter("testcase")
    except (OSError, ET.ParseError) as e:
        print(f"ctest_verdict: FAIL no readable JUnit file from ctest ({junit}): {e}", file=sys.stderr)
        return 1
    labels = labels_by_test(where)
    ran = {label: 0 for label in wanted}
    failed = {label: 0 for label in wanted}
    problems = []
    for case in cases:
        name, status = case.get("name"), case.get("status")
        skipped = case.find("skipped")
        if status not in ("run", "fail") or skipped is not None:
            why = skipped.get("message") if skipped is not None else status
            problems.append(f"test {name} did not run ({why})")
            continue
        for label in labels.get(name, []):
            if label in ran:
                ran[label] += 1
                failed[label] += status == "fail"
    for label in wanted:
        print(f"ctest {label}: {ran[label]} ran, {failed[label]} failed")
        if ran[label] == 0:
            problems.append(f"label {label} ran no test")
    for problem in problems:
        print(f"ctest_verdict: FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
