"""What a first run downloads, fetched beside the compile (scripts/run.sh starts it): Kafka's jars,
and a Go toolchain when none is new enough plus every module Jaeger's build needs. Compiling Jaeger
is left to the caller: it needs the processors the services' compile is using. Best effort: a
failure is printed, and the caller's own step repeats it with the full error.
"""

import sys

from . import jaeger, kafka
from .system import Fatal


def main():
    """Fetches both; the exit status is 1 when either failed."""
    status = 0
    for step in (kafka.fetch, jaeger.prepare):
        try:
            step()
        except Fatal as e:
            print(f"prefetch: {e}", file=sys.stderr, flush=True)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
