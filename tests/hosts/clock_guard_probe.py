"""hosts.clock_guard_probe: runs tests/hosts/clock_guard_probe under libfaketime at +80 ms and
-80 ms, with the clock guard preloaded ahead of it (every check must pass: the wall clock is
shifted, Asio timers, condition variables and librdkafka's timed waits keep real time), then
without the guard, where the checks libfaketime 0.9.10 breaks must fail (Asio's due timers
never fire at +80 ms; librdkafka's poll(50) lasts 130 ms at +80 and returns at once at -80). If a
later libfaketime fixes those, this test says so, and the guard can go.

  clock_guard_probe.py PROBE GUARD
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts"))

from ringtrace_harness import skew  # noqa: E402

CHECKS = ("wall_offset", "asio_timers", "condition_variable", "rdkafka_poll")
# What must fail without the guard, per offset (ms): the reason the guard exists.
BROKEN_WITHOUT_GUARD = {80: {"asio_timers", "rdkafka_poll"}, -80: {"rdkafka_poll"}}


def run(probe, offset_ms, preload):
    variables = skew.env(offset_ms * 1000, "", "")
    variables["LD_PRELOAD"] = " ".join(preload)
    got = subprocess.run([probe, "--offset-ms", str(offset_ms)], env={**os.environ, **variables},
                         capture_output=True, text=True, timeout=60)
    results = {}
    for line in got.stdout.splitlines():
        name, verdict, *_ = line.split(" ", 2) + [""]
        results[name] = verdict == "ok"
    label = "guard + libfaketime" if len(preload) == 2 else "libfaketime alone"
    print(f"--- {label}, FAKETIME={variables['FAKETIME']}\n{got.stdout}{got.stderr}", flush=True)
    return results


def main(probe, guard):
    faketime = skew.libfaketime()
    if faketime is None:
        print("libfaketime is not installed (apt-get install libfaketime; scripts/install-deps.sh --test does)")
        return 1
    problems = []
    for offset in (80, -80):
        with_guard = run(probe, offset, [guard, faketime])
        problems += [f"{c} fails with the guard at {offset:+d} ms" for c in CHECKS if not with_guard.get(c)]
        without = run(probe, offset, [faketime])
        if not without.get("wall_offset"):
            problems.append(f"libfaketime alone does not shift the wall clock by {offset:+d} ms")
        for c in sorted(BROKEN_WITHOUT_GUARD[offset]):
            if without.get(c, True):
                problems.append(f"{c} passes without the guard at {offset:+d} ms: libfaketime no longer breaks it "
                                "(the guard's reason for it may be gone)")
    for p in problems:
        print(f"FAIL: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
