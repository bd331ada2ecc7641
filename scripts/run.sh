#!/usr/bin/env bash
# Runs the ring natively: builds if needed, brings the infrastructure up, starts MS2, MS3 and
# MS1, calls GET /start, prints MS1's console up to and including the finish line and stops the
# three services. The infrastructure stays up so the stored rows can be inspected
# (scripts/infra.sh down). The harness does the work (scripts/ringtrace_harness/run.py):
#   scripts/run.sh [--duration S] [--window N] [--db postgresql|mariadb] [--naming service|mc] [--config PATH]
#                  [--no-gateway] [--ms3 N]
# The API gateway runs in front of MS1 (it serves the dashboard, whose address is printed);
# --no-gateway runs the ring alone. --gateway, once needed for it, is accepted and changes nothing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH} exec python3 -m ringtrace_harness.run "$@"
