# shellcheck shell=bash
# Helpers shared by scripts/run.sh and the e2e tests: start the three services, poll for an
# effect with a deadline, stop exactly the processes started here (by PID).

RING_PIDS=()
declare -A RING_PID_OF=()

# ring_start NAME BIN_DIR CONFIG OUT_DIR: runs BIN_DIR/NAME in the background; its stdout and
# stderr go to OUT_DIR/NAME.stdout and OUT_DIR/NAME.stderr. RINGTRACE__* variables pass through.
ring_start() {
  local name=$1 bin=$2 config=$3 out=$4
  "$bin/$name" --config "$config" >"$out/$name.stdout" 2>"$out/$name.stderr" &
  RING_PIDS+=("$!")
  RING_PID_OF[$name]=$!
}

# ring_alive NAME: the service NAME started here is still running.
ring_alive() { kill -0 "${RING_PID_OF[$1]}" 2>/dev/null; }

# ring_stop_one NAME: SIGTERM to the service NAME started here; waits (20 s) and returns its exit status.
ring_stop_one() {
  local pid=${RING_PID_OF[$1]} end=$((SECONDS + 20)) rc=0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || rc=$?
  local kept=()
  for p in "${RING_PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  RING_PIDS=("${kept[@]}")
  return $rc
}

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s until it succeeds or the deadline passes.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local end=$((SECONDS + limit))
  until "$@"; do
    if ((SECONDS >= end)); then
      echo "timed out after ${limit}s waiting for $what" >&2
      return 1
    fi
    sleep 0.1
  done
}

# http_code URL [curl args...]: prints the HTTP status (000 when nothing answers).
http_code() {
  local url=$1
  shift
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" "$url" || true
}

# ms3_assigned OUT_DIR: MS3 has been given the topic's partitions (it logs "ms3: assigned").
ms3_assigned() { grep -q 'ms3: assigned ' "$1/ms3.stderr" 2>/dev/null; }

# finish_line FILE SESSION: prints MS1's finish line for SESSION, if there is one yet.
finish_line() { grep -m1 "^interaction finished: session_id=$2 " "$1" 2>/dev/null; }

# field LINE KEY: the value of key=value in LINE.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# ring_stop: SIGTERM to every service started here, then waits (SIGKILL after 20 s).
# Returns non-zero if a service did not exit cleanly.
ring_stop() {
  local pid rc=0 end
  for pid in "${RING_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${RING_PIDS[@]}"; do
    end=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "pid $pid did not stop within 20 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      rc=1
    fi
    wait "$pid" 2>/dev/null || { echo "pid $pid exited with status $?" >&2; rc=1; }
  done
  RING_PIDS=()
  return $rc
}
