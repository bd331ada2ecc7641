#!/usr/bin/env bash
# Fuzzes the codecs that read bytes from outside (message JSON, traceparent, timestamps) with
# libFuzzer, ASan and UBSan, for a bounded time per target, and fails on any crash, broken
# round-trip property, leak or hang, naming the input that caused it.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     default: $RINGTRACE_FUZZ_SECONDS, else 30
#
# Builds the `fuzz` preset (build-fuzz/, clang) after scripts/install-deps.sh. Each run starts
# from a fresh copy of fuzz/corpus/<target> under build-fuzz/fuzz/<target>/, so what a run
# learns never lands in the repository, and two runs start from the same place. A failing input
# is kept there as crash-*, leak-*, timeout-* or oom-*; `build-fuzz/bin/<target> <file>` replays it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

[ $# -le 1 ] || { echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2; }
seconds=${1:-${RINGTRACE_FUZZ_SECONDS:-30}}
# libFuzzer reads -max_total_time=0 as "no limit": a bounded run needs at least one second.
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz: SECONDS_PER_TARGET must be a whole number >= 1, not '$seconds'" >&2
  exit 2
fi

targets=(fuzz_message_decode fuzz_traceparent fuzz_timestamp fuzz_clock_offset)
work=$repo/build-fuzz/fuzz

scripts/install-deps.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { cmake --preset fuzz && cmake --build --preset fuzz; } >"$log" 2>&1; then
  tail -n 80 "$log" >&2
  echo "fuzz: building the fuzz preset failed" >&2
  exit 1
fi

# UBSan reports come without a stack unless asked; the preset already makes them fatal.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# report TARGET LOG STATUS: the sanitizer's or the property's report, then where the input is.
report() {
  local target=$1 run_log=$2 status=$3 first reproducer
  first=$(grep -n -m1 -E '==[0-9]+==ERROR|ERROR: libFuzzer|runtime error:|property violated|ALARM: working|out-of-memory' \
            "$run_log" | cut -d: -f1 || true)
  if [ -n "$first" ]; then
    # libFuzzer's own frames, the run's statistics and the hex and base64 copies of the input are noise.
    tail -n "+$first" "$run_log" |
      grep -v -E ' in fuzzer::|__sanitizer_print_stack_trace|__libc_start|libc\.so\.6\+| in (main|_start) \(|^(NOTE: |      Combine |MS: |Base64: |stat::|0x[0-9a-f]{2},)' |
      head -n 60 >&2
  else
    tail -n 40 "$run_log" >&2
  fi
  reproducer=$(sed -n 's/.*Test unit written to //p' "$run_log" | tail -n 1)
  if [ -n "$reproducer" ]; then
    echo "fuzz $target: FAILED (libFuzzer exit $status); reproducer: $reproducer" \
         "(replay: $repo/build-fuzz/bin/$target $reproducer); log: $run_log" >&2
  else
    echo "fuzz $target: FAILED (libFuzzer exit $status) without a reproducer; log: $run_log" >&2
  fi
}

failed=0
for target in "${targets[@]}"; do
  dir=$work/$target
  rm -rf "$dir"
  mkdir -p "$dir"
  cp -R "$repo/fuzz/corpus/$target" "$dir/corpus"
  dict=()
  [ ! -f "$repo/fuzz/$target.dict" ] || dict=(-dict="$repo/fuzz/$target.dict")
  run_log=$dir/fuzz.log
  status=0
  # -timeout is per input: every target handles an input in microseconds, so seconds mean a hang.
  "$repo/build-fuzz/bin/$target" "$dir/corpus" "${dict[@]}" \
      -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$dir/" >"$run_log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    report "$target" "$run_log" "$status"
    failed=1
    continue
  fi
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run_log")
  elapsed=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$run_log")
  if [ -z "$executions" ] || [ -z "$elapsed" ]; then
    # A run that exits cleanly without its final stats did not fuzz what it claims.
    tail -n 20 "$run_log" >&2
    echo "fuzz $target: FAILED: libFuzzer printed no final stats; log: $run_log" >&2
    failed=1
    continue
  fi
  echo "fuzz $target: $executions executions in $elapsed s, no crash"
done

exit $failed
