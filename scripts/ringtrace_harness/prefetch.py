"""What a first run gets beside installing packages and compiling the services (scripts/run.sh
starts it in the background):

  python3 -m ringtrace_harness.prefetch jaeger   Go when none on PATH is new enough, Jaeger's
                                                 modules, then Jaeger's build at low priority
  python3 -m ringtrace_harness.prefetch kafka    Kafka's jars (needs Java and Maven installed)
  python3 -m ringtrace_harness.prefetch toxiproxy  Toxiproxy's build at low priority (run.sh --hosts)

Jaeger's build needs only Python and the network, so it starts before the packages; at nice 10 it
takes what the services' compile leaves of the two cores (the compile's single-file stretches,
its links) without slowing it much. Best effort: a failure is printed, and run.sh's own step
repeats it with the full error.
"""

import os
import sys

from . import jaeger, kafka, toxiproxy
from .system import Fatal

NICE = 10


def _jaeger():
    os.nice(NICE)
    jaeger.prepare()
    jaeger.build()


def _toxiproxy():
    os.nice(NICE)
    toxiproxy.build()


STEPS = {"jaeger": _jaeger, "kafka": kafka.fetch, "toxiproxy": _toxiproxy}


def main(argv):
    """Runs the named steps; the exit status is 1 when one failed, 2 on a wrong argument."""
    if not argv or any(a not in STEPS for a in argv):
        print(f"usage: python3 -m ringtrace_harness.prefetch {{{'|'.join(STEPS)}}}...", file=sys.stderr)
        return 2
    status = 0
    for name in argv:
        try:
            STEPS[name]()
        except Fatal as e:
            print(f"prefetch: {e}", file=sys.stderr, flush=True)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
