#!/usr/bin/env bash
# End to end: the three binaries on the real Kafka broker and PostgreSQL (scripts/infra.sh up).
# Usage: ring_e2e.sh [--db postgresql|mariadb] [--naming service|mc]   (RINGTRACE_BIN: ms1/ms2/ms3)
# Uses its own ports, topic, consumer group and log directory, so it can run beside scripts/run.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../../scripts/lib/ring.sh
source "$repo/scripts/lib/ring.sh"

naming=service db=postgresql
while [ $# -gt 0 ]; do
  case $1 in
    --naming) naming=$2; shift 2 ;;
    --db) db=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
bin=${RINGTRACE_BIN:-$repo/build/bin}
if [ "$naming" = mc ]; then c1=MC1_timestamp c2=MC2_timestamp c3=MC3_timestamp; port_base=18280
else c1=service1_timestamp c2=service2_timestamp c3=service3_timestamp; port_base=18180; fi
[ "$db" = mariadb ] && port_base=$((port_base + 200))

work=$(mktemp -d "${TMPDIR:-/tmp}/ringtrace-e2e.XXXXXX")
ms1_port=$port_base ms2_port=$((port_base + 1)) ms2_admin=$((port_base + 2)) ms3_admin=$((port_base + 3))
export RINGTRACE__MESSAGE__NAMING=$naming
export RINGTRACE__DATABASE__DRIVER=$db
export RINGTRACE__INTERACTION__DURATION_SECONDS=5
export RINGTRACE__INTERACTION__DRAIN_TIMEOUT_MS=2000
export RINGTRACE__MS1__PORT=$ms1_port
export RINGTRACE__MS1__MS2_URL=ws://127.0.0.1:$ms2_port/ws
export RINGTRACE__MS2__PORT=$ms2_port
export RINGTRACE__MS2__ADMIN_PORT=$ms2_admin
export RINGTRACE__MS3__ADMIN_PORT=$ms3_admin
export RINGTRACE__MS3__STORE_URL=http://127.0.0.1:$ms1_port/store
export RINGTRACE__KAFKA__TOPIC=ringtrace.e2e.$db.$naming.$$
export RINGTRACE__KAFKA__GROUP_ID=ringtrace-e2e-$db-$naming-$$
export RINGTRACE__LOGGING__DIRECTORY=$work/logs
export RINGTRACE__LOGGING__LEVEL=info
db_host=${RINGTRACE__DATABASE__HOST:-127.0.0.1}
db_name=${RINGTRACE__DATABASE__NAME:-ringtrace} db_user=${RINGTRACE__DATABASE__USER:-ringtrace}
db_password=${RINGTRACE__DATABASE__PASSWORD:-ringtrace}
if [ "$db" = mariadb ]; then
  db_port=${RINGTRACE__DATABASE__PORT:-3306}
  sql() { mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" -p"$db_password" -D "$db_name" -N -B -e "$1"; }
  q() { echo "\`$1\`"; }                      # identifier quoting
  micros() { echo "MICROSECOND($1)"; }         # the microsecond part of a timestamp
else
  db_port=${RINGTRACE__DATABASE__PORT:-5432}
  sql() { PGPASSWORD=$db_password psql -h "$db_host" -p "$db_port" -U "$db_user" -d "$db_name" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
  q() { echo "\"$1\""; }
  micros() { echo "extract(microseconds FROM $1)::bigint"; }
fi
api=http://127.0.0.1:$ms1_port

passed=0 failed=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then passed=$((passed + 1)); echo "ok   - $what"
  else failed=$((failed + 1)); echo "FAIL - $what"; fi
}
eq() { [ "$1" = "$2" ] || { echo "       expected '$2', got '$1'" >&2; return 1; }; }

cleanup() {
  ring_stop >/dev/null 2>&1 || true
  if [ "$failed" -ne 0 ] || [ -n "${KEEP_E2E:-}" ]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

ring_start ms2 "$bin" "$repo/config/ringtrace.yaml" "$work"
ring_start ms3 "$bin" "$repo/config/ringtrace.yaml" "$work"
ring_start ms1 "$bin" "$repo/config/ringtrace.yaml" "$work"
ready() { [ "$(http_code "$api/healthz")" = 200 ]; }
if ! wait_until 60 "MS1 /healthz (database and MS2 link up)" ready ||
   ! wait_until 60 "MS3 to join its consumer group" ms3_assigned "$work"; then
  tail -n 20 "$work"/*.stderr >&2
  exit 1
fi

# -- routes and bad input -------------------------------------------------------------------
check "GET /stop while idle is 409" eq "$(http_code "$api/stop")" 409
check "unknown path is 404" eq "$(http_code "$api/nope")" 404
check "POST /start is 405" eq "$(http_code "$api/start" -X POST)" 405
check "malformed JSON on /store is 400" eq "$(http_code "$api/store" -X POST -H 'Content-Type: application/json' -d '{bad')" 400
check "oversized /store body is 413" eq "$(head -c 70000 /dev/zero | tr '\0' 'x' | curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary @- "$api/store")" 413
other=$([ "$naming" = mc ] && echo service1_timestamp || echo MC1_timestamp)
check "/store with the other naming is 400" eq "$(http_code "$api/store" -X POST -H 'Content-Type: application/json' -d "{\"id\":1,\"session_id\":1,\"$other\":null}")" 400
check "/store of a message that skipped hops is 422" eq "$(http_code "$api/store" -X POST -H 'Content-Type: application/json' -d '{"id":1,"session_id":1}')" 422
old_stamps=$(printf '"%s":"0999-12-31T23:59:59.000000Z",' "$c1" "$c2" "$c3")
check "/store with a stamp before the year 1000 is 422" eq "$(http_code "$api/store" -X POST -H 'Content-Type: application/json' -d "{${old_stamps}\"id\":1,\"session_id\":1}")" 422
check "MS1 still healthy after bad input" ready

# -- a 5 s session: rows = finish line's messages, four ordered timestamps -------------------
start_body=$(curl -s --max-time 10 "$api/start/")
session=$(sed -n 's/.*"session_id":\([0-9]*\).*/\1/p' <<<"$start_body")
check "GET /start/ starts a session ($start_body)" test -n "$session"
check "a second GET /start is 409" eq "$(http_code "$api/start")" 409
check "start line printed" grep -q "^interaction started: session_id=$session duration=5s window=1$" "$work/ms1.stdout"
check "start line logged to the log file" grep -q "interaction started: session_id=$session " "$work/logs/ms1.log"
wait_until 40 "finish line of session $session" finish_line "$work/ms1.stdout" "$session" >/dev/null || true
line=$(finish_line "$work/ms1.stdout" "$session" || true)
echo "       $line"
messages=$(field "$line" messages)
check "finish line printed with messages > 0" test "${messages:-0}" -gt 0
check "finish line logged to the log file" grep -q "interaction finished: session_id=$session " "$work/logs/ms1.log"
check "reason=duration" eq "$(field "$line" reason)" duration
check "stored = messages" eq "$(field "$line" stored)" "$messages"
elapsed=$(field "$line" elapsed)
check "elapsed ($elapsed) is about 5 s" awk -v e="${elapsed%s}" 'BEGIN { exit !(e >= 5.0 && e < 10.0) }'
check "rows in messages = messages" eq "$(sql "SELECT count(*) FROM messages WHERE session_id=$session")" "$messages"
check "ids are 1..messages" eq "$(sql "SELECT concat(count(DISTINCT id), ',', min(id), ',', max(id)) FROM messages WHERE session_id=$session")" "$messages,1,$messages"
check "every row has four ordered timestamps" eq "$(sql "SELECT count(*) FROM messages WHERE session_id=$session AND $(q $c1) <= $(q $c2) AND $(q $c2) <= $(q $c3) AND $(q $c3) <= end_timestamp")" "$messages"
check "timestamps carry microseconds" test "$(sql "SELECT count(*) FROM messages WHERE session_id=$session AND $(micros "$(q $c2)") % 1000 <> 0")" -gt 0
traces_ok() { python3 "$here/check_traces.py" "${JAEGER_QUERY:-http://127.0.0.1:16686}" "$session" 5 >"$work/traces.out" 2>&1; }
wait_until 30 "Jaeger to show the traces of session $session" traces_ok || true
echo "       $(cat "$work/traces.out")"
check "each message cycle is one trace across ms1, ms2 and ms3 under a single root" traces_ok
check "session recorded in sessions" eq "$(sql "SELECT concat(reason, ',', sent, ',', stored) FROM sessions WHERE session_id=$session")" "duration,$messages,$messages"

# -- /metrics and /healthz on all three, read the way Prometheus and the container probes do --
# metric URL SERIES: the value of one series (exact name and labels) in URL's exposition.
metric() { curl -s --max-time 10 "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }'; }
probe() { "$bin/ringtrace-probe" "$1" --timeout-ms 3000; }
check "MS1 /metrics: stored requests = messages" eq "$(metric "$api/metrics" 'ringtrace_store_requests_total{outcome="stored"}')" "$messages"
check "MS1 /metrics: the bad /store requests above are counted as rejected" test "$(metric "$api/metrics" 'ringtrace_store_requests_total{outcome="rejected"}')" -ge 3
check "MS1 /metrics: one cycle latency per stored message" eq "$(metric "$api/metrics" 'ringtrace_hop_latency_seconds_count{hop="cycle"}')" "$messages"
check "MS1 /metrics: every Kafka hop within 10 s" eq "$(metric "$api/metrics" 'ringtrace_hop_latency_seconds_bucket{hop="ms2_to_ms3",le="10"}')" "$messages"
check "MS1 /metrics: nothing in flight after the session" eq "$(metric "$api/metrics" ringtrace_messages_in_flight)" 0
check "MS2 /metrics: every message acknowledged by the broker" test "$(metric "http://127.0.0.1:$ms2_admin/metrics" ringtrace_kafka_produced_total)" -ge "$messages"
check "MS2 /metrics: delivery latency observed per record" test "$(metric "http://127.0.0.1:$ms2_admin/metrics" ringtrace_kafka_delivery_latency_seconds_count)" -ge "$messages"
check "MS3 /metrics: records stored = messages" eq "$(metric "http://127.0.0.1:$ms3_admin/metrics" 'ringtrace_records_total{outcome="stored"}')" "$messages"
lag_zero() { [ "$(metric "http://127.0.0.1:$ms3_admin/metrics" ringtrace_kafka_commit_lag)" = 0 ]; }
check "MS3 /metrics: commit lag drains to 0" wait_until 10 "MS3 commit lag 0" lag_zero
metrics_documented() {  # every metric the README, docs/architecture.md and docs/openapi.yaml name is served somewhere
  local served missing=""
  served=$(curl -s "$api/metrics" "http://127.0.0.1:$ms2_admin/metrics" "http://127.0.0.1:$ms3_admin/metrics" | awk '!/^#/ { sub(/[{ ].*/, ""); print }')
  for name in $(grep -ohE 'ringtrace_[a-z0-9_]+' "$repo/README.md" "$repo/docs/architecture.md" "$repo/docs/openapi.yaml" | sort -u); do
    grep -qE "^${name}(_bucket|_sum|_count)?\$" <<<"$served" || missing="$missing $name"
  done
  [ -z "$missing" ] || { echo "       documented but not served:$missing" >&2; return 1; }
}
check "every metric named in the docs is served" metrics_documented
check "container health check of MS1 passes (ringtrace-probe /healthz)" probe "$api/healthz"
check "container health check of MS2 passes" probe "http://127.0.0.1:$ms2_admin/healthz"
check "container health check of MS3 passes" probe "http://127.0.0.1:$ms3_admin/healthz"

# -- /stop ends a session early ----------------------------------------------------------------
session2=$(curl -s --max-time 10 "$api/start" | sed -n 's/.*"session_id":\([0-9]*\).*/\1/p')
check "second session gets a larger session_id" test "${session2:-0}" -gt "$session"
some_sent() { curl -s --max-time 5 "$api/status" | grep -Eq '"sent":([3-9]|[1-9][0-9]+)'; }
wait_until 20 "messages flowing in session $session2" some_sent || true
stop_body=$(curl -s --max-time 20 "$api/stop/")
check "GET /stop/ answers with the summary ($stop_body)" grep -q '"reason":"stop"' <<<"$stop_body"
line2=$(finish_line "$work/ms1.stdout" "$session2" || true)
echo "       $line2"
check "finish line reason=stop" eq "$(field "$line2" reason)" stop
elapsed2=$(field "$line2" elapsed)
check "stopped before the 5 s interval ($elapsed2)" awk -v e="${elapsed2%s}" 'BEGIN { exit !(e > 0 && e < 5.0) }'
check "rows = messages after /stop" eq "$(sql "SELECT count(*) FROM messages WHERE session_id=$session2")" "$(field "$line2" messages)"

# -- MS2 goes away and comes back: MS1 refuses to start, then reconnects by itself -------------
check "MS2 exits cleanly on SIGTERM" ring_stop_one ms2
ms2_gone() { [ "$(http_code "$api/healthz")" = 503 ]; }
check "MS1 reports the lost MS2 link on /healthz" wait_until 10 "healthz 503" ms2_gone
check "GET /start without MS2 is 503" eq "$(http_code "$api/start")" 503
ring_start ms2 "$bin" "$repo/config/ringtrace.yaml" "$work"
check "MS1 reconnects to a restarted MS2" wait_until 30 "MS1 to reconnect" ready
session3=$(curl -s --max-time 10 "$api/start" | sed -n 's/.*"session_id":\([0-9]*\).*/\1/p')
wait_until 20 "messages flowing in session $session3" some_sent || true
line3=$(curl -s --max-time 20 "$api/stop")
check "a session runs after the reconnect ($line3)" grep -Eq '"stored":[1-9]' <<<"$line3"

# -- MS2 dies mid-session: MS1 resends what was in flight, nothing is lost -------------------------
session4=$(curl -s --max-time 10 "$api/start" | sed -n 's/.*"session_id":\([0-9]*\).*/\1/p')
wait_until 20 "messages flowing in session $session4" some_sent || true
check "MS2 stops mid-session" ring_stop_one ms2
ring_start ms2 "$bin" "$repo/config/ringtrace.yaml" "$work"
check "MS1 reconnects mid-session" wait_until 30 "MS1 to reconnect" ready
wait_until 20 "messages flowing again" some_sent || true
stop4=$(curl -s --max-time 20 "$api/stop")
check "GET /stop after the reconnect ($stop4)" grep -q "\"session_id\":$session4," <<<"$stop4"
line4=$(finish_line "$work/ms1.stdout" "$session4" || true)
echo "       $line4"
check "no message lost across the MS2 restart (stored = messages)" eq "$(field "$line4" stored)" "$(field "$line4" messages)"
check "rows = messages across the MS2 restart" eq "$(sql "SELECT count(*) FROM messages WHERE session_id=$session4")" "$(field "$line4" messages)"

# -- MS3 stops mid-session: the session drains, times out, counts the message lost; two /stop ----
# -- calls both get the summary; MS3 restarts and the uncommitted message is still stored ------
session5=$(curl -s --max-time 10 "$api/start" | sed -n 's/.*"session_id":\([0-9]*\).*/\1/p')
wait_until 20 "messages flowing in session $session5" some_sent || true
check "MS3 stops mid-session" ring_stop_one ms3
curl -s --max-time 20 "$api/stop" >"$work/stop.a" &
stop_a=$!
curl -s --max-time 20 "$api/stop/" >"$work/stop.b" || true
wait "$stop_a" || true
check "two /stop calls during the drain both get the summary" eq "$(grep -ho "\"session_id\":$session5," "$work/stop.a" "$work/stop.b" | wc -l)" 2
check "the message stuck in Kafka is counted lost" grep -Eq '"lost":[1-9]' "$work/stop.a"
line5=$(finish_line "$work/ms1.stdout" "$session5" || true)
echo "       $line5"
ring_start ms3 "$bin" "$repo/config/ringtrace.yaml" "$work"
all_rows() { [ "$(sql "SELECT count(*) FROM messages WHERE session_id=$session5")" = "$(field "$line5" messages)" ]; }
check "after MS3 restarts, every generated message is stored (rows = messages)" wait_until 30 "late rows of session $session5" all_rows

# -- SIGTERM to MS1 mid-session: it drains, records the session as shut down, exits 0 ------------
session6=$(curl -s --max-time 10 "$api/start" | sed -n 's/.*"session_id":\([0-9]*\).*/\1/p')
wait_until 20 "messages flowing in session $session6" some_sent || true
check "MS1 exits cleanly on SIGTERM during a session" ring_stop_one ms1
line6=$(finish_line "$work/ms1.stdout" "$session6" || true)
echo "       $line6"
check "finish line reason=shutdown" eq "$(field "$line6" reason)" shutdown
check "rows = messages after the shutdown drain" eq "$(sql "SELECT count(*) FROM messages WHERE session_id=$session6")" "$(field "$line6" messages)"
check "session recorded as shut down" eq "$(sql "SELECT reason FROM sessions WHERE session_id=$session6")" shutdown

# -- graceful shutdown ---------------------------------------------------------------------------
check "MS2 and MS3 exit cleanly on SIGTERM" ring_stop

# -- bad configuration stops each service at startup, naming the key ---------------------------
for svc in ms1 ms2 ms3; do
  rc=0
  RINGTRACE__INTERACTION__WINDOW=many "$bin/$svc" --config "$repo/config/ringtrace.yaml" >/dev/null 2>"$work/$svc.badconfig" || rc=$?
  check "$svc exits 2 on a bad value, naming it" eq "$rc,$(grep -c 'RINGTRACE__INTERACTION__WINDOW' "$work/$svc.badconfig")" "2,1"
  rc=0
  "$bin/$svc" --config "$work/missing.yaml" >/dev/null 2>&1 || rc=$?
  check "$svc exits 2 on a missing config file" eq "$rc" 2
  quiet() { "$@" >/dev/null 2>&1; }
  check "$svc --help" quiet "$bin/$svc" --help
  check "$svc --check-config accepts this run's configuration" quiet "$bin/$svc" --config "$repo/config/ringtrace.yaml" --check-config
  rc=0
  RINGTRACE__MS3__STORE_URL=ms1:8080 "$bin/$svc" --config "$repo/config/ringtrace.yaml" --check-config >/dev/null 2>"$work/$svc.check" || rc=$?
  check "$svc --check-config refuses a bad URL with exit 2, naming it" eq "$rc,$(grep -c 'RINGTRACE__MS3__STORE_URL' "$work/$svc.check")" "2,1"
done


echo "e2e ($db, $naming): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
