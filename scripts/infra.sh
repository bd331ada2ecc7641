#!/usr/bin/env bash
# Local infrastructure for ringtrace development, tests and benchmarks, run natively (no Docker)
# on loopback: PostgreSQL, MariaDB, Kafka and Jaeger, and the API gateway (nginx) in front of MS1
# when asked for (`up gateway`). The harness does the work
# (scripts/ringtrace_harness/infra.py, whose help `scripts/infra.sh --help` prints):
#   scripts/infra.sh up|down|status [component...] | crash component... | pids component
#   scripts/infra.sh kafka-classpath | jaeger-binary | toxiproxy-binary | hosts-sweep
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH} exec python3 -m ringtrace_harness.infra "$@"
