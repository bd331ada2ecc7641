#!/usr/bin/env bash
# Runs the ring natively: builds if needed, brings the infrastructure up, starts MS2, MS3 and
# MS1, calls GET /start, waits for the finish line, prints it and stops the three services.
# The infrastructure stays up so the stored rows can be inspected (scripts/infra.sh down).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=lib/ring.sh
source scripts/lib/ring.sh

usage() {
  cat <<USAGE
usage: scripts/run.sh [--duration S] [--window N] [--db postgresql|mariadb] [--naming service|mc] [--config PATH]
  --duration S   session length in seconds (interaction.duration_seconds)
  --window N     messages in flight at once (interaction.window)
  --db NAME      database driver (database.driver): postgresql | mariadb
  --naming N     timestamp field names (message.naming): service | mc
  --config PATH  configuration file (default config/ringtrace.yaml)
USAGE
}

config=config/ringtrace.yaml
while [ $# -gt 0 ]; do
  case $1 in
    --duration) export RINGTRACE__INTERACTION__DURATION_SECONDS=$2; shift 2 ;;
    --window) export RINGTRACE__INTERACTION__WINDOW=$2; shift 2 ;;
    --naming) export RINGTRACE__MESSAGE__NAMING=$2; shift 2 ;;
    --db)
      case $2 in
        postgresql|mariadb) export RINGTRACE__DATABASE__DRIVER=$2 ;;
        *) echo "run.sh: --db must be postgresql or mariadb, got '$2'" >&2; exit 2 ;;
      esac
      shift 2 ;;
    --config) config=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh
if [ ! -f build/build.ninja ]; then
  cmake --preset default >/dev/null
fi
echo "run: building"
cmake --build --preset default -- -j2 >/dev/null 2>.run-build.log || { cat .run-build.log >&2; exit 1; }
rm -f .run-build.log
scripts/infra.sh up

out=.run/ring
mkdir -p "$out"
export RINGTRACE__LOGGING__DIRECTORY=${RINGTRACE__LOGGING__DIRECTORY:-$repo/.run/logs}
# Fail fast on a bad configuration (the services would each say the same thing).
for svc in ms2 ms3 ms1; do ring_start "$svc" build/bin "$config" "$out"; done
trap 'ring_stop >/dev/null 2>&1 || true' EXIT

port=${RINGTRACE__MS1__PORT:-$(sed -n '/^ms1:/,/^[a-z]/s/^ *port: *\([0-9]*\).*/\1/p' "$config" | head -1)}
api=http://127.0.0.1:${port:-8080}
healthy() {
  for svc in ms1 ms2 ms3; do
    ring_alive "$svc" || { echo "run: $svc exited:" >&2; tail -n 5 "$out/$svc.stderr" >&2; exit 1; }
  done
  [ "$(http_code "$api/healthz")" = 200 ]
}
wait_until 60 "MS1 to connect to MS2 and the database ($api/healthz)" healthy
wait_until 60 "MS3 to join its consumer group" ms3_assigned "$out"

response=$(curl -s --max-time 10 "$api/start")
session=$(sed -n 's/.*"session_id":\([0-9]*\).*/\1/p' <<<"$response")
[ -n "$session" ] || { echo "run: GET /start failed: $response" >&2; exit 1; }
trap 'curl -s --max-time 30 "$api/stop" >/dev/null || true' INT

# Echo MS1's console (start line, progress, finish line) until the session is over.
shown=0
show_new() {
  local total
  total=$(wc -l <"$out/ms1.stdout")
  if ((total > shown)); then sed -n "$((shown + 1)),${total}p" "$out/ms1.stdout"; shown=$total; fi
  finish_line "$out/ms1.stdout" "$session" >/dev/null
}
limit=$(( ${RINGTRACE__INTERACTION__DURATION_SECONDS:-3600} + 120 ))
wait_until "$limit" "the finish line of session $session" show_new

ring_stop || echo "run: a service did not stop cleanly (see $out/*.stderr)" >&2
trap - EXIT
# The driver in effect: the flag, else the configuration file.
driver=${RINGTRACE__DATABASE__DRIVER:-$(sed -n '/^database:/,/^[a-z]/s/^ *driver: *\([a-z]*\).*/\1/p' "$config" | head -1)}
query="SELECT * FROM messages WHERE session_id=$session ORDER BY id LIMIT 5"
if [ "$driver" = mariadb ]; then
  rows="mariadb -h 127.0.0.1 -P 3306 -u ringtrace -pringtrace ringtrace -e '$query'"
else
  rows="PGPASSWORD=ringtrace psql -h 127.0.0.1 -p 5432 -U ringtrace ringtrace -c '$query'"
fi
cat <<DONE
logs: $out/ (console) and ${RINGTRACE__LOGGING__DIRECTORY} (log files)
rows: $rows
stop the infrastructure with: scripts/infra.sh down
DONE
