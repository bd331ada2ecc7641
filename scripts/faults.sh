#!/usr/bin/env bash
# Runs the fault-injection harness (tests/faults/fault_harness.py) against the native servers:
# for each delivery mode, kill -9 of MS3, MS2, MS1, the Kafka broker and the database, each
# restarted, on PostgreSQL and MariaDB. About 4 minutes per database.
#
#   scripts/faults.sh [--db postgresql|mariadb]... [--network] [--update-docs|--docs] [harness options...]
#
# --cluster (a harness option) runs the faults of the replicated cluster instead: kill -9 of a
# Kafka node, of the active controller and of one MS3 of three (it starts the cluster of
# scripts/infra.sh up kafka --brokers 3 beside the single broker).
#
# --network runs the network faults instead, on the ring in network namespaces of its own (as
# scripts/run.sh --hosts makes them; needs root): a 20 s partition of MS1-MS2, MS2-Kafka,
# MS3-Kafka, MS3-MS1 and MS1-database, latency of 50 +- 20 ms and connection resets on each of those
# hops, and a database lock held longer than ms3.request_timeout_ms, in every delivery mode, each
# silent peer noticed within its stated bound. About 16 minutes per database.
#
# Uses the binaries of the default preset (build/), building them first. --update-docs writes the
# measured tables into docs/guarantees.md (only when every check passed). The servers are started
# with scripts/infra.sh up; the broker and the database are crashed and restarted on the way.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

dbs=() extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --db) dbs+=("$2"); shift 2 ;;
    --update-docs|--docs) extra+=(--docs "$repo/docs/guarantees.md"); shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) extra+=("$1"); shift ;;
  esac
done
[ ${#dbs[@]} -gt 0 ] || dbs=(postgresql mariadb)

{ cmake --preset default && cmake --build --preset default --target ms1 ms2 ms3 ringtrace-topic-scan; } >/dev/null
scripts/infra.sh up >/dev/null

status=0
for db in "${dbs[@]}"; do
  name=$db
  case " ${extra[*]} " in *" --network "*) name=net-$db ;; *" --cluster "*) name=cluster-$db ;; esac
  python3 tests/faults/fault_harness.py --driver "$db" --bin build/bin --scan build/bin/ringtrace-topic-scan \
    --report "build/faults-$name.md" --json "build/faults-$name.json" "${extra[@]}" || status=1
done
exit $status
