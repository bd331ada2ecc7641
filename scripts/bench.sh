#!/usr/bin/env bash
# Benchmarks the ring against Kafka's own tools, on the same broker, in one run:
#   1. after unmeasured ring sessions that warm the broker up, Kafka's EndToEndLatency: a
#      synchronous produce->consume round trip with a record the size of our message on the Kafka
#      hop, Kafka's own tool timing the hop the ring's cycle includes;
#   2. a window-1 ring session of fixed length: the ring cycle, its ratio to Kafka's round trip,
#      per-hop latency from the stored timestamps;
#   3. a windowed session: messages generated and stored per second, every one of them stored;
#   4. a sweep: sessions at each window of --sweep-windows on each partitions x MS3s layout of
#      --sweep-layouts (a PxM layout: a topic of P partitions keyed by message, M MS3s in one
#      consumer group): throughput, cycle latency and CPU per message of each process;
#   5. Kafka's ProducerPerformance: raw producer throughput on the same broker, and each windowed
#      session's rate as a share of it;
# sessions with tracing on (spans to Jaeger) and, to price tracing, the same sessions with it off.
# Builds the release preset, brings up the infrastructure (scripts/infra.sh) and stops only the
# three services it started; the infrastructure stays up.
#
# stdout carries only the figures, one `key=value` per line (docs/performance.md lists them);
# progress goes to stderr. --json FILE also writes every figure, the options and the machine's
# description as one JSON document (scripts/ringtrace_harness/bench_json.py), and FILE's name with
# .svg for .json: the sweep's chart (scripts/ringtrace_harness/bench_chart.py).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# The harness (scripts/ringtrace_harness) runs the ring and reads the database.
harness() { local module=$1; shift; PYTHONPATH=$repo/scripts python3 -m "ringtrace_harness.$module" "$@"; }

usage() {
  cat <<USAGE
usage: scripts/bench.sh [--db postgresql|mariadb] [--seconds S] [--window N] [--kafka-records N]
                        [--perf-records N] [--sweep-windows LIST] [--sweep-layouts LIST] [--no-tracing-off]
                        [--bin DIR] [--profile DIR] [--json FILE]
  --db NAME          database of the ring (default postgresql)
  --seconds S        length of each measured session (default 10)
  --window N         messages in flight in the windowed session (default 256)
  --kafka-records N  round trips EndToEndLatency times, after 500 to warm up (default 5000)
  --perf-records N   records ProducerPerformance sends (default 1000000)
  --sweep-windows L  windows of the sweep, comma-separated (default 1,16,256,1024; "" skips the sweep)
  --sweep-layouts L  partitions x MS3s of the sweep, comma-separated PxM (default 1x1,3x3)
  --no-tracing-off   skip the sessions with tracing off (no tracing_cost_* or *_untraced figures)
  --bin DIR          use the ms1/ms2/ms3 in DIR instead of building build-release/bin
  --profile DIR      sample each process with \`perf record\` during the windowed sessions and
                     write DIR/<tracing>-<process>.txt: its hottest functions (needs perf)
  --json FILE        also write every figure, the options and the machine's description to FILE,
                     and the sweep's chart (latency and throughput against the window) to FILE.svg
                     (FILE's .json replaced)
USAGE
}

db=postgresql seconds=10 window=256 kafka_records=5000 perf_records=1000000 tracing_off=1 bin='' profile='' json=''
sweep_windows=1,16,256,1024 sweep_layouts=1x1,3x3
while [ $# -gt 0 ]; do
  case $1 in
    --db)
      case $2 in postgresql|mariadb) db=$2 ;; *) echo "bench: --db must be postgresql or mariadb, got '$2'" >&2; exit 2 ;; esac
      shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --kafka-records) kafka_records=$2; shift 2 ;;
    --perf-records) perf_records=$2; shift 2 ;;
    --sweep-windows) sweep_windows=$2; shift 2 ;;
    --sweep-layouts) sweep_layouts=$2; shift 2 ;;
    --no-tracing-off) tracing_off=0; shift ;;
    --bin) bin=$2; shift 2 ;;
    --profile) profile=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
    --json) json=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for n in seconds window kafka_records perf_records; do
  [[ ${!n} =~ ^[1-9][0-9]*$ ]] || { echo "bench: --${n//_/-} must be a positive integer, got '${!n}'" >&2; exit 2; }
done
IFS=, read -r -a sweep_window_list <<<"$sweep_windows"
IFS=, read -r -a sweep_layout_list <<<"$sweep_layouts"
for w in "${sweep_window_list[@]}"; do
  [[ $w =~ ^[1-9][0-9]*$ ]] || { echo "bench: --sweep-windows takes positive integers, got '$w'" >&2; exit 2; }
done
for l in "${sweep_layout_list[@]}"; do
  [[ $l =~ ^[1-9][0-9]?x[1-9][0-9]?$ ]] || { echo "bench: --sweep-layouts takes PxM (partitions x MS3s), got '$l'" >&2; exit 2; }
done

note() { printf 'bench: %s\n' "$*" >&2; }
# fig KEY VALUE: one figure on stdout, and in $work/figures for --json.
fig() { printf '%s=%s\n' "$1" "$2" | tee -a "$work/figures"; }
# calc EXPR: floating-point arithmetic, printed with up to 3 decimals.
calc() { awk "BEGIN { v = $1; if (v == int(v)) printf \"%d\\n\", v; else printf \"%.3f\\n\", v }"; }

scripts/install-deps.sh >&2
if [ -z "$bin" ]; then
  note "building the release preset"
  scripts/build.sh release >&2
  bin=$repo/build-release/bin
fi
db_component=$db
[ "$db" = postgresql ] && db_component=postgres
scripts/infra.sh up "$db_component" kafka jaeger >&2

work=$(mktemp -d "${TMPDIR:-/tmp}/ringtrace-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ----------------------------------------------------------------------------- Kafka's anchor

# The record MS2 produces: the message with two stamps (ids of a long session's magnitude). MS2
# also adds a 55-byte traceparent header, which EndToEndLatency has no way to send.
stamp=2026-11-21T10:15:30.123456Z
record_size=$(printf '{"id":123456,"session_id":1234,"service1_timestamp":"%s","service2_timestamp":"%s","service3_timestamp":null,"end_timestamp":null}' \
  "$stamp" "$stamp" | wc -c)
classpath=$(scripts/infra.sh kafka-classpath)
# jit_ticks: user + system clock ticks of the broker's JIT compiler threads (C1, C2) so far.
jit_ticks() {
  local pid
  for pid in $(scripts/infra.sh pids kafka); do
    grep -h -E '^[0-9]+ \(C[12] CompilerThre' /proc/"$pid"/task/*/stat 2>/dev/null || true
  done | awk '{ sub(/^.*\) /, ""); total += $12 + $13 } END { print total + 0 }'
}
# cpu_ticks COMPONENT: user + system clock ticks of a scripts/infra.sh component's processes so far.
cpu_ticks() {
  local pid total=0
  for pid in $(scripts/infra.sh pids "$1"); do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
kafka_tool() {
  java -Xms256m -Xmx512m -Dlog4j2.configurationFile="$repo/scripts/infra/tools-log4j2.xml" -cp "$classpath" \
    "org.apache.kafka.tools.$1" "${@:2}"
}

# ----------------------------------------------------------------------------- the ring

port_base=18600
export RINGTRACE__DATABASE__DRIVER=$db
export RINGTRACE__MESSAGE__NAMING=service
export RINGTRACE__INTERACTION__PROGRESS_INTERVAL_MS=0
export RINGTRACE__INTERACTION__DRAIN_TIMEOUT_MS=10000
export RINGTRACE__MS1__PORT=$port_base
export RINGTRACE__MS1__MS2_URL=ws://127.0.0.1:$((port_base + 1))/ws
export RINGTRACE__MS2__PORT=$((port_base + 1))
export RINGTRACE__MS3__STORE_URL=http://127.0.0.1:$port_base/store
export RINGTRACE__LOGGING__DIRECTORY=$work/logs

sql() { harness db --driver "$db" "$1"; }
if [ "$db" = mariadb ]; then
  ms_between() { echo "TIMESTAMPDIFF(MICROSECOND, $1, $2) / 1000.0"; }
else
  ms_between() { echo "EXTRACT(EPOCH FROM ($2 - $1)) * 1000"; }
fi

# run_session TRACING WINDOW [PARTITIONS MS3S]: starts the services (tracing on or off, the window
# given; PARTITIONS > 1: their own topic of that many partitions, keyed by message, and MS3S MS3s
# in one group), runs one session of $seconds, stops them. Sets SESSION, ELAPSED (s), MESSAGES,
# STORED and CPU_<name> (seconds each process spent during the session; ms3: all of them).
run_session() {
  local partitions=${3:-1} ms3s=${4:-1}
  local out=$work/ring-$1-$2-${partitions}x$ms3s key value
  export RINGTRACE__TRACING__ENABLED=$1 RINGTRACE__INTERACTION__WINDOW=$2
  export RINGTRACE__INTERACTION__DURATION_SECONDS=$seconds
  export RINGTRACE__KAFKA__PARTITIONS=$partitions RINGTRACE__KAFKA__TOPIC=ringtrace.bench.ring
  export RINGTRACE__KAFKA__GROUP_ID=ringtrace-bench RINGTRACE__KAFKA__KEY=session
  if [ "$partitions" != 1 ]; then
    # One session's messages spread over the partitions only when each is keyed by itself.
    RINGTRACE__KAFKA__TOPIC=ringtrace.bench.ring.p$partitions
    RINGTRACE__KAFKA__GROUP_ID=ringtrace-bench-p$partitions
    RINGTRACE__KAFKA__KEY=message
  fi
  mkdir -p "$out"
  local -a opts=(--ms3 "$ms3s" --cpu kafka=kafka --cpu "db=$db_component" --cpu jaeger=jaeger)
  if [ -n "$profile" ] && [ "$2" != 1 ]; then opts+=(--profile "$profile" --profile-tag "$1"); fi
  harness ring_cli session --bin "$bin" --config config/ringtrace.yaml --work "$out" \
    --timeout $((seconds + 120)) "${opts[@]}" >"$out/session.txt" || exit 1
  while IFS='=' read -r key value; do
    case $key in
      session) SESSION=$value ;;
      elapsed) ELAPSED=$value ;;
      messages) MESSAGES=$value ;;
      stored) STORED=$value ;;
      cpu_*) printf -v "CPU_${key#cpu_}" '%s' "$(calc "$value")" ;;
    esac
  done <"$out/session.txt"
}

# hop_figures PREFIX [HOP...]: p50, p90, p99, p99.9 and max of each hop and of the stamped cycle
# (or only of the HOPs named) over SESSION's stored rows, and a check that every generated message
# is in the database.
hop_figures() {
  local prefix=$1 rows col hop
  local -a only=("${@:2}")
  rows=$(sql "SELECT COUNT(*) FROM messages WHERE session_id = $SESSION")
  fig "${prefix}_rows_stored" "$rows"
  if [ "$rows" != "$MESSAGES" ] || [ "$STORED" != "$MESSAGES" ]; then
    note "session $SESSION: $MESSAGES generated, $STORED stored by MS1's count, $rows rows in the database"
    fig "${prefix}_all_stored" false
    BENCH_FAILED=1
    return
  fi
  fig "${prefix}_all_stored" true
  sql "SELECT $(ms_between service1_timestamp service2_timestamp), $(ms_between service2_timestamp service3_timestamp),
              $(ms_between service3_timestamp end_timestamp), $(ms_between service1_timestamp end_timestamp)
       FROM messages WHERE session_id = $SESSION" >"$work/hops.tsv"
  clock_shifts
  col=0
  for hop in ms1_to_ms2 ms2_to_ms3 ms3_to_ms1 stamped_cycle; do
    col=$((col + 1))
    if ((${#only[@]})) && [[ " ${only[*]} " != *" $hop "* ]]; then continue; fi
    cut -f "$col" "$work/hops.tsv" | sort -g | awk -v name="${prefix}_$hop" -v shift="${SHIFT_MS[$hop]:-}" \
      -v u="${UNCERTAINTY_MS[$hop]:-}" '
      { v[NR] = $1 }
      END {
        if (NR == 0) exit 1
        i50 = int(NR * 0.50 + 0.999999); i90 = int(NR * 0.90 + 0.999999)
        i99 = int(NR * 0.99 + 0.999999); i999 = int(NR * 0.999 + 0.999999)
        printf "%s_p50_ms=%.3f\n%s_p90_ms=%.3f\n%s_p99_ms=%.3f\n%s_p99_9_ms=%.3f\n%s_max_ms=%.3f\n",
          name, v[i50], name, v[i90], name, v[i99], name, v[i999], name, v[NR]
        # A constant shift moves every order statistic by itself: the corrected percentiles are the
        # raw ones plus the shift, exactly.
        if (shift == "") { printf "%s_corrected=n/a\n", name; exit 0 }
        c50 = v[i50] + shift
        printf "%s_corrected_p50_ms=%.3f\n%s_corrected_p99_ms=%.3f\n%s_uncertainty_ms=%.3f\n%s_below_uncertainty=%s\n",
          name, c50, name, v[i99] + shift, name, u, name, (c50 <= u + 0 ? "true" : "false")
      }' | tee -a "$work/figures"
  done
}

# clock_shifts: SHIFT_MS and UNCERTAINTY_MS of each hop for SESSION, from the clock offsets MS1
# stored for it (θ2, θ3: MS2's and MS3's clock minus MS1's): a hop from clock a to clock b is
# corrected by θa − θb, within ua + ub. Both are left empty when the session has no estimate.
declare -A SHIFT_MS UNCERTAINTY_MS
clock_shifts() {
  local stamp offset uncertainty t2='' u2='' t3='' u3=''
  SHIFT_MS=() UNCERTAINTY_MS=()
  while IFS=$'\t' read -r stamp offset uncertainty; do
    case $stamp in
      service2_timestamp|MC2_timestamp) t2=$offset u2=$uncertainty ;;
      service3_timestamp|MC3_timestamp) t3=$offset u3=$uncertainty ;;
    esac
  done < <(sql "SELECT stamp, offset_us, uncertainty_us FROM clock_offsets WHERE session_id = $SESSION")
  [ -n "$t2" ] && [ -n "$t3" ] || return 0
  SHIFT_MS=([ms1_to_ms2]=$(calc "0 - ($t2) / 1000") [ms2_to_ms3]=$(calc "(($t2) - ($t3)) / 1000")
            [ms3_to_ms1]=$(calc "($t3) / 1000") [stamped_cycle]=0)
  UNCERTAINTY_MS=([ms1_to_ms2]=$(calc "$u2 / 1000") [ms2_to_ms3]=$(calc "($u2 + $u3) / 1000")
                  [ms3_to_ms1]=$(calc "$u3 / 1000") [stamped_cycle]=0)
}

# cpu_figures PREFIX: CPU seconds per process during the session, and per message.
cpu_figures() {
  local prefix=$1 name var
  for name in ms1 ms2 ms3 kafka db jaeger; do
    var=CPU_$name
    fig "${prefix}_cpu_${name}_s" "${!var}"
    fig "${prefix}_cpu_${name}_us_per_msg" "$(calc "${!var} * 1000000 / $MESSAGES")"
  done
}

BENCH_FAILED=0
modes=(true)
((tracing_off)) && modes+=(false)

# Sessions that are not measured, until the broker's JIT compiler is idle: the broker compiles the
# paths the ring takes (consumer group, offset commits, fetches that wait) only once they run, and
# on a broker just started its C2 compiler threads took more CPU than its request handlers for the
# first minute of the ring (docs/performance.md, "The broker's CPU at window 1"). Warm means the
# compiler threads used under 5% of a core during a whole session; at most 8 sessions.
warmup=$((seconds < 5 ? seconds : 5))
seconds_measured=$seconds seconds=$warmup
warmups=0
while :; do
  warmups=$((warmups + 1))
  jit_before=$(jit_ticks) t0=$(date +%s%N)
  run_session true 16
  jit_pct=$(calc "($(jit_ticks) - $jit_before) * 100 / $(getconf CLK_TCK) / (($(date +%s%N) - $t0) / 1000000000)")
  note "warm-up session $warmups (${warmup}s, window 16, not measured): the broker's JIT compiler used ${jit_pct}% of a core"
  if awk -v p="$jit_pct" 'BEGIN { exit !(p < 5) }' || ((warmups == 8)); then break; fi
done
fig kafka_warmup_sessions "$warmups"
fig kafka_warmup_jit_pct "$jit_pct"
seconds=$seconds_measured
# Kafka's own round trip, timed after the warm-up: on a broker just started the JIT compiler
# slows Kafka's tool as much as the ring, and a cold anchor flatters the ratio.
fig record_bytes "$record_size"
note "Kafka EndToEndLatency: 500 round trips to warm up, then $kafka_records (acks=all, $record_size-byte records)"
kafka_tool EndToEndLatency 127.0.0.1:9092 ringtrace.bench.e2e 500 all "$record_size" >"$work/e2e-warmup.out" 2>&1 \
  || { cat "$work/e2e-warmup.out" >&2; exit 1; }
kafka_ticks_before=$(cpu_ticks kafka)
kafka_tool EndToEndLatency 127.0.0.1:9092 ringtrace.bench.e2e "$kafka_records" all "$record_size" >"$work/e2e.out" 2>&1 \
  || { cat "$work/e2e.out" >&2; exit 1; }
kafka_ticks_after=$(cpu_ticks kafka)
kafka_avg=$(sed -n 's/^Avg latency: \([0-9.]*\) ms.*/\1/p' "$work/e2e.out")
kafka_p50=$(sed -n 's/^Percentiles: 50th = \([0-9.]*\),.*/\1/p' "$work/e2e.out")
kafka_p99=$(sed -n 's/^Percentiles: .* 99th = \([0-9.]*\),.*/\1/p' "$work/e2e.out")
[ -n "$kafka_avg" ] || { note "cannot read EndToEndLatency's result:"; cat "$work/e2e.out" >&2; exit 1; }
fig kafka_e2e_avg_ms "$(calc "$kafka_avg")"
fig kafka_e2e_p50_ms "$kafka_p50"
fig kafka_e2e_p99_ms "$kafka_p99"
# What the broker spends on one of Kafka's own round trips (a produce and a fetch), to set beside
# what it spends on a message of the window-1 ring (a produce, a fetch and an offset commit).
fig kafka_e2e_cpu_kafka_us_per_msg "$(calc "($kafka_ticks_after - $kafka_ticks_before) * 1000000 / $(getconf CLK_TCK) / $kafka_records")"
for tracing in "${modes[@]}"; do
  suffix=
  [ "$tracing" = false ] && suffix=_untraced
  note "ring, tracing $tracing: window 1 for ${seconds}s on $db"
  run_session "$tracing" 1
  cycle=$(calc "$ELAPSED * 1000 / $MESSAGES")
  fig "ring_cycle_ms$suffix" "$cycle"
  if [ "$tracing" = true ]; then
    fig ratio "$(calc "$cycle / $kafka_avg")"
    ring_cycle=$cycle
  else
    fig tracing_cost_window1_pct "$(calc "($ring_cycle - $cycle) * 100 / $cycle")"
  fi
  fig "window1_messages$suffix" "$MESSAGES"
  hop_figures "window1$suffix"
  cpu_figures "window1$suffix"

  note "ring, tracing $tracing: window $window for ${seconds}s on $db"
  run_session "$tracing" "$window"
  rate=$(calc "$STORED / $ELAPSED")
  fig "window_msgs_per_s$suffix" "$rate"
  if [ "$tracing" = true ]; then
    window_rate=$rate
    fig window "$window"
  else
    window_rate_untraced=$rate
    fig tracing_cost_window_pct "$(calc "($rate - $window_rate) * 100 / $rate")"
  fi
  fig "window_messages$suffix" "$MESSAGES"
  hop_figures "window$suffix"
  cpu_figures "window$suffix"
done

# ----------------------------------------------------------------------------- the sweep

# Every window on every layout, traced and (unless --no-tracing-off) untraced. The session's rate
# counts messages generated and stored per second, the drain included; the cycle is the stamped
# one (MS1's send to MS1's receive) of every stored message.
sweep_points=()
for tracing in "${modes[@]}"; do
  suffix=
  [ "$tracing" = false ] && suffix=_untraced
  for layout in "${sweep_layout_list[@]}"; do
    for w in "${sweep_window_list[@]}"; do
      prefix=sweep_w${w}_p$layout$suffix
      note "sweep, tracing $tracing: window $w, ${layout%x*} partition(s) x ${layout#*x} MS3(s), ${seconds}s on $db"
      run_session "$tracing" "$w" "${layout%x*}" "${layout#*x}"
      fig "${prefix}_msgs_per_s" "$(calc "$STORED / $ELAPSED")"
      hop_figures "$prefix" stamped_cycle
      cpu_figures "$prefix"
      sweep_points+=("$prefix")
    done
  done
done

# ----------------------------------------------------------------------------- Kafka's producer

note "Kafka ProducerPerformance: $perf_records records of $record_size bytes, acks=all, unthrottled"
kafka_ticks_before=$(cpu_ticks kafka)
kafka_tool ProducerPerformance --bootstrap-server 127.0.0.1:9092 --topic ringtrace.bench.perf \
  --num-records "$perf_records" --record-size "$record_size" --throughput -1 --command-property acks=all \
  >"$work/perf.out" 2>&1 || { cat "$work/perf.out" >&2; exit 1; }
perf=$(tail -n 1 "$work/perf.out" | sed -n 's/.* records sent, \([0-9.]*\) records\/sec.*/\1/p')
[ -n "$perf" ] || { note "cannot read ProducerPerformance's result:"; cat "$work/perf.out" >&2; exit 1; }
fig kafka_producer_msgs_per_s "$(calc "$perf")"
# The broker's CPU per record of Kafka's own producer, beside window*_cpu_kafka_us_per_msg.
fig kafka_producer_cpu_kafka_us_per_msg "$(calc "($(cpu_ticks kafka) - $kafka_ticks_before) * 1000000 / $(getconf CLK_TCK) / $perf_records")"
fig window_vs_kafka_producer "$(calc "$window_rate / $perf")"
((tracing_off)) && fig window_vs_kafka_producer_untraced "$(calc "$window_rate_untraced / $perf")"
for prefix in "${sweep_points[@]}"; do
  rate=$(sed -n "s/^${prefix}_msgs_per_s=//p" "$work/figures")
  fig "${prefix}_vs_kafka_producer" "$(calc "$rate / $perf")"
done

# ----------------------------------------------------------------------------- reports

# What GET /sessions/{id} costs on a large session: one session filled server-side with
# RINGTRACE_REPORT_BENCH_ROWS rows (default a million), its report timed cold and warm, and the
# sessions list (tools/report_bench; the bench's session is removed afterwards).
report_rows=${RINGTRACE_REPORT_BENCH_ROWS:-1000000}
[[ $report_rows =~ ^[1-9][0-9]*$ ]] || { note "RINGTRACE_REPORT_BENCH_ROWS must be a positive integer"; exit 2; }
[ -x "$bin/ringtrace-report-bench" ] || { note "no $bin/ringtrace-report-bench (tools/report_bench is not built)"; exit 1; }
note "reports: one session of $report_rows rows on $db"
"$bin/ringtrace-report-bench" --db "$db" --rows "$report_rows" --runs 3 >"$work/report.out" || exit 1
tee -a "$work/figures" <"$work/report.out"

if [ -n "$json" ]; then
  harness bench_json --figures "$work/figures" --out "$json" --option "db=$db" --option "seconds=$seconds" \
    --option "window=$window" --option "kafka_records=$kafka_records" --option "perf_records=$perf_records" \
    --option "report_rows=$report_rows" --option "tracing_off=$tracing_off" \
    --option "sweep_windows=$sweep_windows" --option "sweep_layouts=$sweep_layouts"
  note "figures and the machine's description written to $json"
  if ((${#sweep_points[@]})); then
    harness bench_chart --json "$json" --out "${json%.json}.svg"
    note "the sweep's chart written to ${json%.json}.svg"
  fi
fi

((BENCH_FAILED == 0)) || { note "FAILED: a session did not store every message it generated"; exit 1; }
