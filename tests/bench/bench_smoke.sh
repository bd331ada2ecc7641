#!/usr/bin/env bash
# Runs scripts/bench.sh briefly and checks its output: each required key once, with a number
# (or true) as value, and the --json document: the same figures, and the machine described.
# Usage: bench_smoke.sh --db postgresql|mariadb --bin DIR
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/figures.txt json=$tmp/bench.json chart=$tmp/bench.svg
# The sweep at one point: three partitions shared by three MS3s.
RINGTRACE_REPORT_BENCH_ROWS=20000 "$repo/scripts/bench.sh" --seconds 2 --window 64 --kafka-records 300 --perf-records 20000 \
  --sweep-windows 16 --sweep-layouts 3x3 --json "$json" "$@" >"$out"

failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }
number='^-?[0-9]+(\.[0-9]+)?$'
# value KEY: sets `got` to the value of KEY, which must appear exactly once; otherwise records the
# failure and returns 1. It runs in this shell, never in $(...): a subshell's fail() would set a
# `failed` that nobody reads, and a missing figure would pass.
got=
value() {
  local n
  got=
  n=$(grep -c "^$1=" "$out" || true)
  [ "$n" = 1 ] || { fail "$1 printed $n times"; return 1; }
  got=$(sed -n "s/^$1=//p" "$out")
}
need_number() {  # need_number KEY [MIN_EXCLUSIVE]
  local v
  value "$1" || return 0
  v=$got
  [[ $v =~ $number ]] || { fail "$1=$v is not a number"; return 0; }
  if [ $# -ge 2 ] && ! awk -v v="$v" -v m="$2" 'BEGIN { exit !(v > m) }'; then fail "$1=$v is not above $2"; fi
  echo "ok: $1=$v"
}

grep -v -E '^[a-z0-9_]+=[^ ]+$' "$out" && fail "lines above are not key=value"
for key in kafka_e2e_avg_ms ring_cycle_ms ratio window_msgs_per_s kafka_producer_msgs_per_s \
           ring_cycle_ms_untraced window_msgs_per_s_untraced record_bytes; do
  need_number "$key" 0
done
need_number window_vs_kafka_producer 0
need_number window_vs_kafka_producer_untraced 0
need_number kafka_e2e_cpu_kafka_us_per_msg 0
need_number kafka_warmup_sessions 0
need_number kafka_producer_cpu_kafka_us_per_msg 0
need_number kafka_warmup_jit_pct
need_number tracing_cost_window1_pct
need_number tracing_cost_window_pct
for prefix in window1 window window1_untraced window_untraced; do
  if value "${prefix}_all_stored" && [ "$got" != true ]; then fail "${prefix}: not every generated message was stored"; fi
  for hop in ms1_to_ms2 ms2_to_ms3 ms3_to_ms1 stamped_cycle; do
    for p in p50 p90 p99 p99_9 max; do need_number "${prefix}_${hop}_${p}_ms" 0; done
    # Corrected for the clock offsets MS1 estimated (the ring always estimates them).
    need_number "${prefix}_${hop}_corrected_p50_ms"
    need_number "${prefix}_${hop}_corrected_p99_ms"
    need_number "${prefix}_${hop}_uncertainty_ms"
    if value "${prefix}_${hop}_below_uncertainty" && [[ ! $got =~ ^(true|false)$ ]]; then
      fail "${prefix}_${hop}_below_uncertainty=$got is not true or false"
    fi
    # Percentiles never decrease.
    awk -F= -v k="${prefix}_${hop}" '{ v[$1] = $2 } END { split("p50 p90 p99 p99_9 max", p, " ");
      for (i = 2; i <= 5; i++) if (v[k "_" p[i] "_ms"] + 0 < v[k "_" p[i - 1] "_ms"] + 0) {
        print "FAIL: " k ": " p[i] " is below " p[i - 1] > "/dev/stderr"; exit 1 } }' "$out" || failed=1
  done
  for process in ms1 ms2 ms3 kafka db; do
    need_number "${prefix}_cpu_${process}_s" 0
  done
done
need_number window_cpu_jaeger_s 0   # traced: the collector worked
for prefix in sweep_w16_p3x3 sweep_w16_p3x3_untraced; do
  if value "${prefix}_all_stored" && [ "$got" != true ]; then fail "${prefix}: not every generated message was stored"; fi
  need_number "${prefix}_msgs_per_s" 0
  need_number "${prefix}_vs_kafka_producer" 0
  for p in p50 p90 p99 p99_9 max; do need_number "${prefix}_stamped_cycle_${p}_ms" 0; done
  for process in ms1 ms2 ms3 kafka db; do need_number "${prefix}_cpu_${process}_us_per_msg" 0; done
done
# The chart beside the JSON: an SVG with a line for each of the two series of the sweep.
if [ ! -s "$chart" ]; then
  fail "no chart at ${chart##*/} beside the JSON"
elif ! head -c 200 "$chart" | grep -q '^<svg ' || [ "$(grep -c '<polyline' "$chart")" -lt 6 ]; then
  fail "the chart is not an SVG with its lines: $(head -c 200 "$chart")"
else
  echo "ok: chart ${chart##*/}, $(grep -c '<polyline' "$chart") lines"
fi
if value report_rows && [ "$got" != 20000 ]; then fail "the report bench did not fill the rows asked for"; fi
for key in report_cold_ms report_warm_ms report_cached_ms report_list_sessions_ms; do need_number "$key" 0; done
# The JSON document holds every printed figure, with the same value, and the machine.
python3 - "$out" "$json" <<'PY' || failed=1
import json, sys
printed = dict(line.rstrip("\n").split("=", 1) for line in open(sys.argv[1]) if "=" in line)
doc = json.load(open(sys.argv[2]))
bad = [k for k, v in printed.items() if str(doc["figures"].get(k)).lower() != v.lower()
       and not (isinstance(doc["figures"].get(k), (int, float)) and float(v) == doc["figures"][k])]
extra = sorted(set(doc["figures"]) - set(printed))
m = doc.get("machine", {})
if bad or extra or not m.get("cpus") or not m.get("kernel") or doc["options"].get("window") != 64:
    print(f"FAIL: --json: differs {bad[:5]}, not printed {extra[:5]}, machine {m}, options {doc.get('options')}",
          file=sys.stderr)
    sys.exit(1)
print(f"ok: --json holds the {len(printed)} figures, the options and the machine ({m.get('cpus')} CPUs, {m.get('cpu_model')})")
PY
# The ratio is the cycle over Kafka's round trip, as printed.
awk -F= '{ v[$1] = $2 } END { r = v["ring_cycle_ms"] / v["kafka_e2e_avg_ms"]; d = r - v["ratio"]; if (d < 0) d = -d;
  if (d > 0.002) { print "FAIL: ratio " v["ratio"] " is not ring_cycle_ms / kafka_e2e_avg_ms = " r > "/dev/stderr"; exit 1 } }' "$out" \
  || failed=1
exit $failed
