#!/usr/bin/env bash
# Local infrastructure for ringtrace development, tests and benchmarks, run natively
# (no Docker) on loopback:
#   postgres  PostgreSQL 15 (Debian package) on 127.0.0.1:5432, db/user/password ringtrace
#   mariadb   MariaDB 10.11 (Debian package) on 127.0.0.1:3306, db/user/password ringtrace
#             (both also hold ringtrace_scratch, same user: a database for tests that post
#             made-up session ids, so no real session ever inherits their rows)
#             (root has no password: unix socket .run/mariadb/mysqld.sock, or loopback TCP)
#   kafka     Apache Kafka (jars from Maven Central), single-node KRaft, 127.0.0.1:9092
#             (controller 127.0.0.1:9093)
#   jaeger    Jaeger v2 (built from source with Go, once), in-memory storage: OTLP HTTP
#             127.0.0.1:4318, OTLP gRPC 127.0.0.1:4317, query API/UI 127.0.0.1:16686
#             (also query gRPC 127.0.0.1:16685, health 127.0.0.1:13133/status)
#
# Usage:
#   scripts/infra.sh up     [component...]   start (idempotent), wait until ready
#   scripts/infra.sh down   [component...]   stop only what `up` started (idempotent)
#   scripts/infra.sh status [component...]   one line per component
#   scripts/infra.sh crash  component...     SIGKILL the running server (PostgreSQL: the postmaster
#                                            and every backend), as a host or container crash would;
#                                            `up` restarts it and the server recovers its own data.
#                                            For fault-injection tests.
#   scripts/infra.sh kafka-classpath         print the classpath glob of the cached Kafka
#                                            jars (downloads them first if needed)
#   scripts/infra.sh jaeger-binary           print the path of the cached Jaeger binary (builds it
#                                            first if needed)
#   scripts/infra.sh pids   component        print the PIDs of the running server, one per line
#                                            (PostgreSQL: the postmaster and its children), so a
#                                            benchmark can read the CPU time the server used
# Components default to all, in the order of COMPONENTS (down runs in reverse).
#
# State (data, logs, pid files) lives in <repo>/.run/; the Kafka jars (and the Maven
# repository used to fetch them), the Jaeger binary and the Go caches it is built with in
# ${RINGTRACE_CACHE_DIR:-$HOME/.cache/ringtrace}.
#
# Adding a component: write <name>_up, <name>_down and
# <name>_status and append <name> to COMPONENTS. Helpers below (port checks, pid
# checks, wait_until, fail_with_log, ensure_apt_pkg) are meant to be reused.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$SCRIPT_DIR")
INFRA_DIR=$SCRIPT_DIR/infra
RUN_DIR=$REPO_DIR/.run
CACHE_DIR=${RINGTRACE_CACHE_DIR:-$HOME/.cache/ringtrace}

COMPONENTS=(postgres mariadb kafka jaeger)

# --------------------------------------------------------------------------- helpers

# crash_pids NAME PORT PID...: SIGKILL to every PID at once, then wait until all are gone and
# PORT is free (a killed multi-threaded process shows as a zombie while its other threads, which
# still hold its sockets, are being torn down).
crash_pids() {
  local name=$1 port=$2 pid t0
  shift 2
  t0=$(now_ms)
  kill -KILL "$@" 2>/dev/null || true
  for pid in "$@"; do
    wait_until 10 pid_gone "$pid" || die "$name: pid $pid survived SIGKILL"
  done
  wait_until 20 port_free "$port" || die "$name: port $port still held 20 s after SIGKILL ($(port_holder "$port"))"
  info "$name: crashed (SIGKILL to pid $*) in $(elapsed_since "$t0")"
}

# child_pids PID: the direct children of PID.
child_pids() {
  local stat rest
  for stat in /proc/[0-9]*/stat; do
    rest=$(cat "$stat" 2>/dev/null) || continue
    rest=${rest##*) }   # fields after the command name, which may contain spaces
    read -r _ ppid _ <<<"$rest"
    if [[ $ppid == "$1" ]]; then
      stat=${stat#/proc/}
      echo "${stat%/stat}"
    fi
  done
}

# Informational output goes to stdout, except for commands whose stdout is data
# (kafka-classpath): they set INFO_FD=2.
INFO_FD=1
info() { printf '%s\n' "$*" >&"$INFO_FD"; }
err() { printf '%s\n' "$*" >&2; }
die() { err "$@"; exit 1; }

# Milliseconds since the epoch, and a "N.Ns" rendering of an elapsed time.
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }
elapsed_since() { local d=$(( $(now_ms) - $1 )); printf '%d.%ds' $((d / 1000)) $((d % 1000 / 100)); }

# wait_until TIMEOUT_S CMD...: poll CMD every 0.1-0.2 s until it succeeds (0) or the
# deadline passes (1). CMD may return 2 to abort early (e.g. the process died).
wait_until() {
  local timeout_s=$1; shift
  local deadline=$(( $(now_ms) + timeout_s * 1000 )) rc
  while :; do
    rc=0; "$@" || rc=$?
    case $rc in 0) return 0 ;; 2) return 2 ;; esac
    (( $(now_ms) < deadline )) || return 1
    sleep 0.15
  done
}

# wait_ready NAME PID TIMEOUT_S PROBE WHERE LOG...: polls PROBE until the server answers; if
# process PID dies first or the deadline passes, fails showing the tail of each LOG. WHERE says
# where the server was expected ("127.0.0.1:9092").
wait_ready() {
  local name=$1 pid=$2 timeout_s=$3 probe=$4 where=$5 rc=0
  shift 5
  wait_until "$timeout_s" ready_step "$pid" "$probe" || rc=$?
  (( rc == 0 )) && return 0
  if (( rc == 2 )); then
    fail_with_log "$name" "server (pid $pid) exited during startup" "$@"
  fi
  fail_with_log "$name" "server (pid $pid) not ready on $where after ${timeout_s}s (still running; 'scripts/infra.sh down $name' stops it)" "$@"
}

# wait_until step for wait_ready: 0 ready, 2 the process died, 1 not yet.
ready_step() {
  pid_alive "$1" || return 2
  "$2" || return 1  # a probe's own exit codes must not read as "died"
}

# report_not_running NAME PIDFILE: says NAME is down, removing a pid file left by a crash.
report_not_running() {
  if [[ -f $2 ]]; then
    rm -f "$2"
    info "$1: not running (removed stale pid file)"
  else
    info "$1: not running"
  fi
}

# terminate NAME PID PIDFILE TIMEOUT_S: SIGTERM to our recorded PID, SIGKILL if it outlives the
# deadline; removes PIDFILE once the process is gone.
terminate() {
  local name=$1 pid=$2 pidfile=$3 timeout_s=$4 t0
  t0=$(now_ms)
  kill -TERM "$pid" 2>/dev/null || true
  if wait_until "$timeout_s" pid_gone "$pid"; then
    rm -f "$pidfile"
    info "$name: stopped (pid $pid) in $(elapsed_since "$t0")"
    return 0
  fi
  err "$name: pid $pid still running ${timeout_s}s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait_until 10 pid_gone "$pid" || die "$name: pid $pid survived SIGKILL"
  rm -f "$pidfile"
  info "$name: killed (pid $pid)"
}

# A live, non-zombie process.
pid_alive() {
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

pid_gone() { ! pid_alive "$1"; }

# pid_cmdline_has PID STRING...: the process's command line contains every STRING
# (guards against a recycled PID belonging to some other program).
pid_cmdline_has() {
  local pid=$1 cmd; shift
  cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
  local s
  for s in "$@"; do [[ $cmd == *"$s"* ]] || return 1; done
}

# Is anything listening on TCP port $1 (any address)?
port_listening() { [[ -n $(ss -Htln "( sport = :$1 )" 2>/dev/null) ]]; }
port_free() { ! port_listening "$1"; }

# Human description of whoever listens on port $1.
port_holder() {
  local line pid
  line=$(ss -Htlnp "( sport = :$1 )" 2>/dev/null | head -n1)
  pid=$(grep -o 'pid=[0-9]*' <<<"$line" | head -n1 | cut -d= -f2 || true)
  if [[ -n $pid ]]; then
    echo "pid $pid: $(ps -o args= -p "$pid" 2>/dev/null | cut -c1-160)"
  else
    echo "unknown process (${line:-no details})"
  fi
}

# fail_with_log COMPONENT MESSAGE LOGFILE...: print MESSAGE and the last 30 lines of
# the first existing, non-empty LOGFILE to stderr, then exit non-zero.
fail_with_log() {
  local comp=$1 msg=$2 f; shift 2
  err "$comp: $msg"
  for f in "$@"; do
    if [[ -s $f ]]; then
      err "---- last 30 lines of $f ----"
      tail -n 30 "$f" >&2
      err "----"
      break
    fi
  done
  exit 1
}

is_root() { [[ $(id -u) -eq 0 ]]; }

APT_UPDATED=0
# ensure_apt_pkg COMPONENT PACKAGE: apt-get install PACKAGE (log in .run/apt.log).
ensure_apt_pkg() {
  local comp=$1 pkg=$2
  is_root || die "$comp: package '$pkg' is missing; install it: sudo apt-get install -y $pkg"
  mkdir -p "$RUN_DIR"
  if (( ! APT_UPDATED )); then
    apt-get update >>"$RUN_DIR/apt.log" 2>&1 \
      || fail_with_log "$comp" "apt-get update failed" "$RUN_DIR/apt.log"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" \
      >>"$RUN_DIR/apt.log" 2>&1 \
    || fail_with_log "$comp" "apt-get install $pkg failed" "$RUN_DIR/apt.log"
  info "$comp: installed Debian package $pkg"
}

# Serialize up/down of this checkout (two concurrent `up`s would race on pid files).
# Daemons must be started with 8>&- 9>&- so they do not inherit (and keep) the locks.
lock_run_dir() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/.infra.lock"
  flock -w 600 9 || die "infra: could not lock $RUN_DIR/.infra.lock (another infra.sh still running?)"
}

# --------------------------------------------------------------------------- java

JAVA=java
ensure_java() {
  local comp=$1 v
  v=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1 || true)
  if [[ -z $v || $v -lt 17 ]]; then
    if [[ ! -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java && ! -x /usr/lib/jvm/java-17-openjdk-arm64/bin/java ]]; then
      ensure_apt_pkg "$comp" openjdk-17-jre-headless
    fi
    local j
    for j in /usr/lib/jvm/java-17-openjdk-*/bin/java; do
      if [[ -x $j ]]; then JAVA=$j; break; fi
    done
    v=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1 || true)
    [[ -n $v && $v -ge 17 ]] || die "$comp: Java 17+ is required (found '${v:-none}')"
  fi
}

# --------------------------------------------------------------------------- kafka

KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_POM=$INFRA_DIR/kafka-pom.xml
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n1)
[[ -n $KAFKA_VERSION ]] || die "kafka: no <kafka.version> in $KAFKA_POM"
KAFKA_CACHE=$CACHE_DIR/kafka-$KAFKA_VERSION
KAFKA_LIB=$KAFKA_CACHE/lib
KAFKA_MARKER=$KAFKA_CACHE/.complete   # holds the sha256 of the pom it was fetched with
KAFKA_RUN=$RUN_DIR/kafka
KAFKA_DATA=$KAFKA_RUN/data
KAFKA_LOGS=$KAFKA_RUN/logs
KAFKA_PIDFILE=$KAFKA_RUN/kafka.pid
KAFKA_PROPS=$KAFKA_RUN/server.properties
KAFKA_HEAP_OPTS=${RINGTRACE_KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}
KAFKA_READY_TIMEOUT_S=120
KAFKA_STOP_TIMEOUT_S=60

kafka_jars_ready() {
  [[ -f $KAFKA_MARKER && $(cat "$KAFKA_MARKER") == "$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)" ]]
}

# Download the jars once (mvn dependency:copy-dependencies into a temp dir, then move
# into place and write the marker: an interrupted download is never taken as complete).
kafka_fetch() {
  kafka_jars_ready && return 0
  ensure_java kafka
  command -v mvn >/dev/null || ensure_apt_pkg kafka maven
  mkdir -p "$CACHE_DIR" "$KAFKA_LOGS"
  exec 8>"$CACHE_DIR/.kafka-fetch.lock"
  flock -w 900 8 || die "kafka: could not lock $CACHE_DIR/.kafka-fetch.lock"
  if kafka_jars_ready; then exec 8>&-; return 0; fi   # fetched by a concurrent run
  local t0 tmp log=$KAFKA_LOGS/mvn.log
  t0=$(now_ms)
  info "kafka: downloading Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_CACHE (once; log: $log)"
  tmp=$(mktemp -d "$CACHE_DIR/.kafka-$KAFKA_VERSION.XXXXXX")
  cp "$KAFKA_POM" "$tmp/pom.xml"
  if ! (cd "$tmp" && mvn -B -q -Dmaven.repo.local="$CACHE_DIR/m2" \
          dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime) >>"$log" 2>&1; then
    rm -rf "$tmp"
    fail_with_log kafka "mvn dependency:copy-dependencies failed" "$log"
  fi
  local j
  for j in "kafka_2.13-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar"; do
    [[ -f $tmp/lib/$j ]] || { rm -rf "$tmp"; die "kafka: download incomplete: $j missing (log: $log)"; }
  done
  rm -rf "$KAFKA_LIB" "$KAFKA_MARKER"
  mkdir -p "$KAFKA_CACHE"
  mv "$tmp/lib" "$KAFKA_LIB"
  cp "$KAFKA_POM" "$KAFKA_CACHE/pom.xml"
  sha256sum "$KAFKA_POM" | cut -d' ' -f1 >"$KAFKA_MARKER"
  rm -rf "$tmp"
  exec 8>&-
  info "kafka: downloaded $(find "$KAFKA_LIB" -name '*.jar' | wc -l) jars in $(elapsed_since "$t0")"
}

kafka_java() { "$JAVA" -cp "$KAFKA_LIB/*" "$@"; }

# PID of our broker if the pid file names a live process that is our broker.
kafka_pid() {
  local pid
  pid=$(cat "$KAFKA_PIDFILE" 2>/dev/null) || return 1
  pid_alive "$pid" && pid_cmdline_has "$pid" kafka.Kafka "$KAFKA_PROPS" && echo "$pid"
}

# Readiness: a real Kafka Metadata request (v8, no topics) over /dev/tcp. Succeeds
# only when the broker processes requests AND reports at least one live (registered,
# unfenced) broker — i.e. clients can use it. Takes milliseconds, versus 1-2 s for a
# JVM running TopicCommand --list.
#   request: size=19 | api_key=3 api_version=8 correlation_id=0x52540001 client_id="rt"
#            | topics=[] allow_auto_topic_creation=0 include_*_authorized_operations=0,0
#   response prefix: size(4) correlation_id(4) throttle_time_ms(4) brokers.count(4)
# Metadata v8 is the newest non-flexible version (plain int16/int32 encoding); Kafka 4.3
# serves v0..v13. If a future Kafka drops v8, readiness times out and server.log says
# "...METADATA with version 8 which is not supported": bump the version here.
kafka_probe() {
  local hex
  # shellcheck disable=SC2016  # $0 is expanded by the inner shell
  hex=$(timeout 3 bash -c '
      exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
      printf "\x00\x00\x00\x13\x00\x03\x00\x08\x52\x54\x00\x01\x00\x02rt\x00\x00\x00\x00\x00\x00\x00" >&3
      head -c 16 <&3' "$KAFKA_PORT" 2>/dev/null | od -An -v -tx1 | tr -d ' \n') || return 1
  [[ ${#hex} -eq 32 && ${hex:8:8} == 52540001 && ${hex:24:8} != 00000000 ]]
}

# kafka.out (JVM stdout/stderr of this start only) holds JVM errors and crashes before log4j is
# up; everything else is in server.log.
kafka_wait_ready() {
  wait_ready kafka "$1" "$KAFKA_READY_TIMEOUT_S" kafka_probe "127.0.0.1:$KAFKA_PORT" "$KAFKA_LOGS/kafka.out" "$KAFKA_LOGS/server.log"
}

kafka_render_props() {
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
      -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|@KAFKA_DATA_DIR@|$KAFKA_DATA|g" \
      "$INFRA_DIR/server.properties.in" >"$KAFKA_PROPS.tmp"
  mv "$KAFKA_PROPS.tmp" "$KAFKA_PROPS"
}

kafka_up() {
  local pid t0
  t0=$(now_ms)
  if pid=$(kafka_pid); then
    if kafka_probe; then
      info "kafka: already running on 127.0.0.1:$KAFKA_PORT (pid $pid)"
    else
      kafka_wait_ready "$pid"
      info "kafka: running on 127.0.0.1:$KAFKA_PORT (pid $pid; was still starting, ready after $(elapsed_since "$t0"))"
    fi
    return 0
  fi
  if [[ -f $KAFKA_PIDFILE ]]; then
    info "kafka: removed stale pid file (pid $(cat "$KAFKA_PIDFILE") is gone or not our broker)"
    rm -f "$KAFKA_PIDFILE"
  fi
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_listening "$p"; then
      die "kafka: port $p is held by a process this script did not start ($(port_holder "$p")); stop it first"
    fi
  done

  kafka_fetch
  ensure_java kafka
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  kafka_render_props

  # Format the KRaft storage once; later starts reuse it (no reformat).
  if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    local cid
    cid=$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOGS/format.log") \
      || fail_with_log kafka "StorageTool random-uuid failed" "$KAFKA_LOGS/format.log"
    kafka_java kafka.tools.StorageTool format -t "$cid" -c "$KAFKA_PROPS" --ignore-formatted \
        >>"$KAFKA_LOGS/format.log" 2>&1 \
      || fail_with_log kafka "StorageTool format failed" "$KAFKA_LOGS/format.log"
    info "kafka: formatted KRaft storage in $KAFKA_DATA (cluster id $cid)"
  fi

  # setsid: the broker gets its own session, so signals to the caller's process group
  # (Ctrl-C, job-control kills) do not reach it. The inner shell writes its own PID
  # before exec'ing java, so the pid file holds the JVM's PID.
  local -a heap jvm
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  jvm=(
    "${heap[@]}"
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Xlog:gc*:file=$KAFKA_LOGS/gc.log:time,tags:filecount=3,filesize=10M"
    "-Dlog4j2.configurationFile=$INFRA_DIR/kafka-log4j2.xml"
    "-Dkafka.logs.dir=$KAFKA_LOGS"
    -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_PROPS"
  )
  rm -f "$KAFKA_PIDFILE"
  # fds 8/9 (our lock files) are closed, or the daemon would hold the locks forever.
  # shellcheck disable=SC2016  # $$, $0, $@ belong to the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PIDFILE" "$JAVA" "${jvm[@]}" \
    </dev/null >"$KAFKA_LOGS/kafka.out" 2>&1 8>&- 9>&- &
  wait_until 10 test -s "$KAFKA_PIDFILE" \
    || fail_with_log kafka "broker launcher did not write $KAFKA_PIDFILE" "$KAFKA_LOGS/kafka.out"
  pid=$(cat "$KAFKA_PIDFILE")
  kafka_wait_ready "$pid"
  info "kafka: started on 127.0.0.1:$KAFKA_PORT (pid $pid) in $(elapsed_since "$t0")"
}

kafka_down() {
  local pid
  pid=$(kafka_pid) || { report_not_running kafka "$KAFKA_PIDFILE"; return 0; }
  terminate kafka "$pid" "$KAFKA_PIDFILE" "$KAFKA_STOP_TIMEOUT_S"
}

kafka_crash() {
  local pid
  pid=$(kafka_pid) || die "kafka: not running, nothing to crash"
  crash_pids kafka "$KAFKA_PORT" "$pid"
}

kafka_status() {
  local pid
  if pid=$(kafka_pid); then
    if kafka_probe; then
      info "kafka: running on 127.0.0.1:$KAFKA_PORT (pid $pid)"
    else
      info "kafka: starting or unhealthy, not answering metadata requests on 127.0.0.1:$KAFKA_PORT (pid $pid)"
    fi
  elif port_listening "$KAFKA_PORT"; then
    info "kafka: stopped (port $KAFKA_PORT held by a process we did not start: $(port_holder "$KAFKA_PORT"))"
  else
    info "kafka: stopped (port $KAFKA_PORT)"
  fi
}

# Classpath glob of the cached jars, for other scripts (benchmarks, tests).
kafka_classpath() {
  INFO_FD=2
  kafka_fetch
  printf '%s\n' "$KAFKA_LIB/*"
}

# --------------------------------------------------------------------------- postgres
#
# Debian's default cluster: installing the `postgresql` package creates cluster 15/main
# (/var/lib/postgresql/15/main) on port 5432 and, where services may start, starts it.
# On our machines /usr/sbin/policy-rc.d forbids service starts, so it is created but
# stays down (checked: pg_lsclusters shows "15 main 5432 down"). If it does run and
# holds our port, postgres_up stops it -- only via `pg_ctlcluster 15 main stop`, the
# packaging's own tool, and says so; it holds no ringtrace data and restarting it is one
# command. Any other process on the port is never touched: we fail and name it.

PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_PORT=5432
PG_DB=ringtrace
PG_USER=ringtrace
PG_PASSWORD=ringtrace
PG_RUN=$RUN_DIR/postgres
PG_DATA=$PG_RUN/data
PG_LOG=$PG_RUN/postgres.log

# The postgres OS user must reach the data directory. A checkout under a private directory
# (e.g. /root, 0700) cannot offer that, so there the cluster lives under postgres's home,
# named after the checkout, and .run/postgres is a symlink to it. Called by every postgres_*.
pg_paths() {
  is_root && id postgres >/dev/null 2>&1 || return 0
  runuser -u postgres -- test -x "$REPO_DIR" && return 0
  local home
  home=$(getent passwd postgres | cut -d: -f6)
  PG_RUN=${home:-/var/lib/postgresql}/ringtrace-$(printf '%s' "$REPO_DIR" | sha256sum | cut -c1-12)
  PG_DATA=$PG_RUN/data
  PG_LOG=$PG_RUN/postgres.log
  mkdir -p "$PG_RUN" "$RUN_DIR"
  if [[ -L $RUN_DIR/postgres || ! -e $RUN_DIR/postgres ]]; then ln -sfn "$PG_RUN" "$RUN_DIR/postgres"; fi
}
PG_READY_TIMEOUT_S=60

# Unix socket directory (used only for admin as the postgres superuser): next to the
# data, unless that path would exceed the 107-byte socket path limit.
pg_socket_dir() {
  if (( ${#PG_RUN} + 20 < 107 )); then
    echo "$PG_RUN"
  else
    echo "/tmp/ringtrace-pg-$(printf '%s' "$PG_RUN" | sha256sum | cut -c1-12)"
  fi
}

# Run as the postgres OS user when we are root (initdb/pg_ctl/postgres refuse root).
as_pg() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_pid() {
  local pid
  pid=$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null) || return 1
  pid_alive "$pid" && pid_cmdline_has "$pid" postgres "$PG_DATA" && echo "$pid"
}

pg_isready_tcp() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres -t 2; }

ensure_postgres_installed() {
  if [[ ! -x $PG_BIN/pg_ctl || ! -x $PG_BIN/initdb || ! -x $PG_BIN/psql || ! -x $PG_BIN/pg_isready ]]; then
    ensure_apt_pkg postgres postgresql
    [[ -x $PG_BIN/pg_ctl ]] || die "postgres: $PG_BIN/pg_ctl still missing after installing postgresql (not PostgreSQL $PG_MAJOR?)"
  fi
  is_root || return 0
  id postgres >/dev/null 2>&1 || die "postgres: OS user 'postgres' missing (the postgresql package creates it)"
}

# Free our port from Debian's default cluster if (and only if) that is what holds it.
pg_free_port_from_debian_cluster() {
  port_listening "$PG_PORT" || return 0
  local ver name port status
  if command -v pg_lsclusters >/dev/null; then
    while read -r ver name port status _; do
      if [[ $port == "$PG_PORT" && $status == online* ]]; then
        pg_ctlcluster "$ver" "$name" stop >>"$PG_RUN/debian-cluster.log" 2>&1 \
          || fail_with_log postgres "pg_ctlcluster $ver $name stop failed" "$PG_RUN/debian-cluster.log"
        info "postgres: stopped Debian's default cluster $ver/$name, which held port $PG_PORT (start it again with: pg_ctlcluster $ver $name start)"
      fi
    done < <(pg_lsclusters -h 2>/dev/null || true)
  fi
  if port_listening "$PG_PORT"; then
    die "postgres: port $PG_PORT is held by a server this script did not start ($(port_holder "$PG_PORT")). Stop it first (for a Debian cluster: pg_ctlcluster $PG_MAJOR main stop)."
  fi
}

# Role and database (idempotent), as the superuser over the unix socket.
pg_bootstrap() {
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_socket_dir)" -p "$PG_PORT" -U postgres -d postgres \
      >>"$PG_RUN/bootstrap.log" 2>&1 <<SQL || fail_with_log postgres "creating role/database $PG_DB failed" "$PG_RUN/bootstrap.log"
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', '$PG_USER', '$PG_PASSWORD')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$PG_DB', '$PG_USER')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', '${PG_DB}_scratch', '$PG_USER')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${PG_DB}_scratch')\gexec
SQL
}

postgres_up() {
  local pid t0 sock note=""
  t0=$(now_ms)
  ensure_postgres_installed
  pg_paths
  if pid=$(pg_pid); then
    if pg_isready_tcp; then
      pg_bootstrap  # idempotent: a server started by an older checkout gets what is new
      info "postgres: already running on 127.0.0.1:$PG_PORT (pid $pid)"
      return 0
    fi
    wait_until "$PG_READY_TIMEOUT_S" pg_isready_tcp \
      || fail_with_log postgres "server (pid $pid) not ready on 127.0.0.1:$PG_PORT after ${PG_READY_TIMEOUT_S}s" "$PG_LOG"
    pg_bootstrap
    info "postgres: running on 127.0.0.1:$PG_PORT (pid $pid; was still starting)"
    return 0
  fi
  if [[ -f $PG_DATA/postmaster.pid ]]; then
    # Left by a crash/kill; PostgreSQL may refuse to start if its PID got recycled.
    info "postgres: removed stale postmaster.pid (pid $(head -n1 "$PG_DATA/postmaster.pid") is gone or not our server)"
    rm -f "$PG_DATA/postmaster.pid"
  fi
  mkdir -p "$PG_RUN"
  pg_free_port_from_debian_cluster

  sock=$(pg_socket_dir)
  mkdir -p "$sock"
  # A crash also leaves the socket's lock file, which names the dead postmaster.
  local sock_lock=$sock/.s.PGSQL.$PG_PORT.lock
  if [[ -f $sock_lock ]] && ! pid_alive "$(head -n1 "$sock_lock" 2>/dev/null)"; then
    rm -f "$sock_lock" "$sock/.s.PGSQL.$PG_PORT"
    info "postgres: removed the stale socket lock $sock_lock"
  fi
  if is_root; then
    chown postgres:postgres "$PG_RUN" "$sock"
    runuser -u postgres -- test -w "$PG_RUN" \
      || die "postgres: the postgres OS user cannot reach $PG_RUN (a parent directory is not world-searchable, e.g. a checkout under /root); move the checkout or chmod o+x its parents"
  fi

  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    rm -rf "$PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --no-sync -E UTF8 --locale=C.UTF-8 >>"$PG_RUN/initdb.log" 2>&1 \
      || fail_with_log postgres "initdb failed" "$PG_RUN/initdb.log"
    note="; initialized $PG_DATA"
  fi

  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_READY_TIMEOUT_S" -s \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='$sock'" start \
      </dev/null >>"$PG_RUN/pg_ctl.log" 2>&1 8>&- 9>&- \
    || fail_with_log postgres "pg_ctl start failed" "$PG_LOG" "$PG_RUN/pg_ctl.log"
  wait_until "$PG_READY_TIMEOUT_S" pg_isready_tcp \
    || fail_with_log postgres "not ready on 127.0.0.1:$PG_PORT after ${PG_READY_TIMEOUT_S}s" "$PG_LOG"
  pid=$(pg_pid) || fail_with_log postgres "server started but postmaster.pid names no live server" "$PG_LOG"
  pg_bootstrap
  info "postgres: started on 127.0.0.1:$PG_PORT (pid $pid) in $(elapsed_since "$t0")$note"
}

postgres_down() {
  pg_paths
  local pid t0
  t0=$(now_ms)
  pid=$(pg_pid) || { report_not_running postgres "$PG_DATA/postmaster.pid"; return 0; }
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 -s stop >>"$PG_RUN/pg_ctl.log" 2>&1; then
    err "postgres: fast shutdown (pid $pid) did not finish in 60s; using immediate shutdown"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 -s stop >>"$PG_RUN/pg_ctl.log" 2>&1 \
      || fail_with_log postgres "pg_ctl stop failed" "$PG_RUN/pg_ctl.log" "$PG_LOG"
  fi
  info "postgres: stopped (pid $pid) in $(elapsed_since "$t0")"
}

postgres_crash() {
  pg_paths
  local pid
  pid=$(pg_pid) || die "postgres: not running, nothing to crash"
  # The backends too, at the same instant: orphans holding the shared memory would keep the next
  # postmaster from starting, which no real crash leaves behind.
  # shellcheck disable=SC2046  # one PID per word
  crash_pids postgres "$PG_PORT" "$pid" $(child_pids "$pid")
}

postgres_status() {
  pg_paths
  local pid
  if pid=$(pg_pid); then
    if pg_isready_tcp; then
      info "postgres: running on 127.0.0.1:$PG_PORT (pid $pid)"
    else
      info "postgres: starting or unhealthy, not accepting connections on 127.0.0.1:$PG_PORT (pid $pid)"
    fi
  elif port_listening "$PG_PORT"; then
    info "postgres: stopped (port $PG_PORT held by a process we did not start: $(port_holder "$PG_PORT"))"
  else
    info "postgres: stopped (port $PG_PORT)"
  fi
}

# --------------------------------------------------------------------------- mariadb
#
# Debian's `mariadb-server` package ships a `mariadb` service (datadir /var/lib/mysql,
# socket /run/mysqld/mysqld.sock, port 3306). On our machines /usr/sbin/policy-rc.d
# forbids service starts, so it stays down; elsewhere installing the package starts it.
# We never touch it: if it (or anything else) holds our port, mariadb_up fails and names
# the holder. Our server is independent of it: every MariaDB binary gets --no-defaults
# FIRST (else it reads /etc/mysql and its /run/mysqld paths) and all paths explicitly.
#
# mariadbd runs as the invoking user (--user=root when root), so unlike postgres a
# checkout under a private directory (/root, 0700) needs no fallback for the data; only
# the socket path length (107-byte limit) may force it elsewhere (mariadb_socket).
#
# Server options beyond INFRA.md's checked set: utf8mb4 (with --no-defaults the compiled
# default is latin1, unlike Debian's config) and a modest buffer pool (this 2-core machine
# also runs Kafka and PostgreSQL). innodb_flush_log_at_trx_commit stays at its durable
# default (1): benchmarks must measure what production would do.

MARIADB_PORT=3306
MARIADB_DB=ringtrace
MARIADB_USER=ringtrace
MARIADB_PASSWORD=ringtrace
MARIADB_RUN=$RUN_DIR/mariadb
MARIADB_DATA=$MARIADB_RUN/data
MARIADB_PIDFILE=$MARIADB_RUN/mariadbd.pid
MARIADB_LOG=$MARIADB_RUN/err.log
MARIADB_READY_TIMEOUT_S=60
MARIADB_STOP_TIMEOUT_S=60
MARIADB_BUFFER_POOL=${RINGTRACE_MARIADB_BUFFER_POOL:-128M}
MARIADBD=/usr/sbin/mariadbd   # not on a non-root PATH

# Unix socket (admin as root, and the pid-file handshake): next to the data, unless that
# path would exceed the 107-byte limit; then in a private directory under /tmp.
mariadb_socket() {
  if (( ${#MARIADB_RUN} + 12 < 107 )); then
    echo "$MARIADB_RUN/mysqld.sock"
  else
    echo "/tmp/ringtrace-mariadb-$(printf '%s' "$MARIADB_RUN" | sha256sum | cut -c1-12)/mysqld.sock"
  fi
}

# --user=root as root (INFRA.md); otherwise the server simply runs as the invoking user.
MARIADB_USER_OPT=()
if is_root; then MARIADB_USER_OPT=(--user=root); fi

mariadb_admin() {
  # --no-defaults FIRST. mariadb-admin shutdown waits for the server to exit (up to
  # --shutdown-timeout); `timeout` bounds the whole call anyway.
  timeout 20 mariadb-admin --no-defaults --socket="$(mariadb_socket)" -uroot --connect-timeout=2 "$@"
}

mariadb_ping() { mariadb_admin ping >/dev/null 2>&1; }

# PID of our server if the pid file names a live process that is our mariadbd.
mariadb_pid() {
  local pid
  pid=$(cat "$MARIADB_PIDFILE" 2>/dev/null) || return 1
  pid_alive "$pid" && pid_cmdline_has "$pid" mariadbd "--datadir=$MARIADB_DATA" && echo "$pid"
}

# The application user connects over TCP: the check clients actually depend on.
mariadb_client_ok() {
  mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" --connect-timeout=3 \
    -u "$MARIADB_USER" -p"$MARIADB_PASSWORD" "$MARIADB_DB" -N -e 'SELECT 1' >/dev/null 2>&1
}

ensure_mariadb_installed() {
  if [[ ! -x $MARIADBD ]] || ! command -v mariadb-install-db >/dev/null; then
    ensure_apt_pkg mariadb mariadb-server
  fi
  if ! command -v mariadb >/dev/null || ! command -v mariadb-admin >/dev/null; then
    ensure_apt_pkg mariadb mariadb-client
  fi
  [[ -x $MARIADBD ]] || die "mariadb: $MARIADBD still missing after installing mariadb-server"
}

mariadb_wait_ready() {
  wait_ready mariadb "$1" "$MARIADB_READY_TIMEOUT_S" mariadb_ping "$(mariadb_socket)" "$MARIADB_LOG" "$MARIADB_RUN/mariadbd.out"
}

# Database and users (idempotent), as root over the unix socket. Also drops the
# root@<hostname> account mariadb-install-db creates: with --skip-name-resolve it can
# never match and only adds a warning to every start.
mariadb_bootstrap() {
  local u
  {
    echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
    echo "CREATE DATABASE IF NOT EXISTS \`${MARIADB_DB}_scratch\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
    for u in "'$MARIADB_USER'@'127.0.0.1'" "'$MARIADB_USER'@'localhost'" "'$MARIADB_USER'@'%'"; do
      echo "CREATE USER IF NOT EXISTS $u IDENTIFIED BY '$MARIADB_PASSWORD';"
      echo "GRANT ALL PRIVILEGES ON \`$MARIADB_DB\`.* TO $u;"
      echo "GRANT ALL PRIVILEGES ON \`${MARIADB_DB}_scratch\`.* TO $u;"
    done
    echo "DROP USER IF EXISTS 'root'@'$(hostname)';"
  } | timeout 30 mariadb --no-defaults --socket="$(mariadb_socket)" -uroot --connect-timeout=5 \
        >>"$MARIADB_RUN/bootstrap.log" 2>&1 \
    || fail_with_log mariadb "creating database/users $MARIADB_DB failed" "$MARIADB_RUN/bootstrap.log"
}

mariadb_up() {
  local pid t0 sock note=""
  t0=$(now_ms)
  if pid=$(mariadb_pid); then
    if mariadb_ping; then
      mariadb_bootstrap  # idempotent: a server started by an older checkout gets what is new
      info "mariadb: already running on 127.0.0.1:$MARIADB_PORT (pid $pid)"
    else
      mariadb_wait_ready "$pid"
      mariadb_bootstrap
      info "mariadb: running on 127.0.0.1:$MARIADB_PORT (pid $pid; was still starting, ready after $(elapsed_since "$t0"))"
    fi
    return 0
  fi
  if [[ -f $MARIADB_PIDFILE ]]; then
    info "mariadb: removed stale pid file (pid $(cat "$MARIADB_PIDFILE") is gone or not our server)"
    rm -f "$MARIADB_PIDFILE"
  fi
  if port_listening "$MARIADB_PORT"; then
    local holder
    holder=$(port_holder "$MARIADB_PORT")
    if [[ $holder == *mariadbd* || $holder == *mysqld* ]]; then
      die "mariadb: port $MARIADB_PORT is held by a MariaDB/MySQL server this script did not start ($holder); stop it first (Debian's service: service mariadb stop)"
    fi
    die "mariadb: port $MARIADB_PORT is held by a process this script did not start ($holder); stop it first"
  fi
  ensure_mariadb_installed
  mkdir -p "$MARIADB_RUN"

  sock=$(mariadb_socket)
  if [[ $sock != "$MARIADB_RUN"/* ]]; then
    # Private per-checkout directory under /tmp: refuse one someone else created.
    [[ -d $(dirname "$sock") ]] || mkdir -m 0700 "$(dirname "$sock")"
    [[ -O $(dirname "$sock") ]] || die "mariadb: socket directory $(dirname "$sock") exists but is not ours"
  fi

  # Initialize once, into a temp dir moved into place on success: an interrupted
  # mariadb-install-db never leaves a half-made data directory that looks complete.
  if [[ ! -d $MARIADB_DATA/mysql ]]; then
    local tmp=$MARIADB_RUN/data.init
    rm -rf "$tmp" "$MARIADB_DATA"
    mariadb-install-db --no-defaults "${MARIADB_USER_OPT[@]}" --datadir="$tmp" \
        --auth-root-authentication-method=normal --skip-test-db \
        </dev/null >>"$MARIADB_RUN/install-db.log" 2>&1 8>&- 9>&- \
      || fail_with_log mariadb "mariadb-install-db failed" "$MARIADB_RUN/install-db.log"
    mv "$tmp" "$MARIADB_DATA"
    note="; initialized $MARIADB_DATA"
  fi

  # setsid: own session, so signals to the caller's process group do not reach it. The
  # inner shell writes its PID before exec'ing mariadbd (which then writes the same PID
  # to the same file via --pid-file, and removes it on a clean shutdown). fds 8/9 (our
  # locks) are closed, or the daemon would hold the locks forever.
  local -a args=(
    --no-defaults "${MARIADB_USER_OPT[@]}" --datadir="$MARIADB_DATA" --socket="$sock"
    --port="$MARIADB_PORT" --bind-address=127.0.0.1 --pid-file="$MARIADB_PIDFILE"
    --log-error="$MARIADB_LOG" --skip-name-resolve
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
    --innodb-buffer-pool-size="$MARIADB_BUFFER_POOL"
  )
  rm -f "$MARIADB_PIDFILE"
  # shellcheck disable=SC2016  # $$, $0, $@ belong to the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$MARIADB_PIDFILE" "$MARIADBD" "${args[@]}" \
    </dev/null >"$MARIADB_RUN/mariadbd.out" 2>&1 8>&- 9>&- &
  wait_until 10 test -s "$MARIADB_PIDFILE" \
    || fail_with_log mariadb "server launcher did not write $MARIADB_PIDFILE" "$MARIADB_RUN/mariadbd.out"
  pid=$(cat "$MARIADB_PIDFILE")
  mariadb_wait_ready "$pid"
  mariadb_bootstrap
  mariadb_client_ok \
    || fail_with_log mariadb "server is up but '$MARIADB_USER' cannot connect over 127.0.0.1:$MARIADB_PORT" "$MARIADB_LOG"
  info "mariadb: started on 127.0.0.1:$MARIADB_PORT (pid $pid) in $(elapsed_since "$t0")$note"
}

mariadb_down() {
  local pid t0
  t0=$(now_ms)
  pid=$(mariadb_pid) || { report_not_running mariadb "$MARIADB_PIDFILE"; return 0; }
  # Clean shutdown via the server itself; signals to the recorded PID only as fallback.
  mariadb_admin shutdown >>"$MARIADB_RUN/shutdown.log" 2>&1 || true
  if wait_until "$MARIADB_STOP_TIMEOUT_S" pid_gone "$pid"; then
    rm -f "$MARIADB_PIDFILE"
    info "mariadb: stopped (pid $pid) in $(elapsed_since "$t0")"
    return 0
  fi
  err "mariadb: server (pid $pid) still running ${MARIADB_STOP_TIMEOUT_S}s after 'mariadb-admin shutdown'"
  terminate mariadb "$pid" "$MARIADB_PIDFILE" 30
}

mariadb_crash() {
  local pid
  pid=$(mariadb_pid) || die "mariadb: not running, nothing to crash"
  crash_pids mariadb "$MARIADB_PORT" "$pid"
}

mariadb_status() {
  local pid
  if pid=$(mariadb_pid); then
    if mariadb_ping; then
      info "mariadb: running on 127.0.0.1:$MARIADB_PORT (pid $pid)"
    else
      info "mariadb: starting or unhealthy, not answering on $(mariadb_socket) (pid $pid)"
    fi
  elif port_listening "$MARIADB_PORT"; then
    info "mariadb: stopped (port $MARIADB_PORT held by a process we did not start: $(port_holder "$MARIADB_PORT"))"
  else
    info "mariadb: stopped (port $MARIADB_PORT)"
  fi
}

# --------------------------------------------------------------------------- jaeger
#
# Jaeger v2 (OpenTelemetry-Collector based, one binary `jaeger`), built from source with Go
# once and cached in $CACHE_DIR/jaeger-<version>/bin/jaeger; its Go module and build caches
# live in $CACHE_DIR/go (~1 GB, reused by later builds and CI on the same machine).
#
# Version: Jaeger tags each release twice on one commit, v1.N for the old binaries and v2.M
# for cmd/jaeger (the v2 binary); the module path has no /v2, so Go only knows the v1.N tag
# (or a commit). The Go module proxy reachable here serves v1.76.0 (= v2.13.0) but refuses
# newer versions and commit pseudo-versions (403 "This module version is not available"),
# hence v1.76.0. Its go.mod has a `replace` directive, so `go install pkg@version` refuses
# it: we build through a tiny wrapper module that requires Jaeger and repeats the replace.
# The checksum database (via the proxy) does not know many opentelemetry-collector-contrib
# modules (404), so the wrapper starts from Jaeger's own go.sum: every dependency is then
# verified against the hashes Jaeger committed, and only Jaeger itself against sum.golang.org.
#
# Runs with scripts/infra/jaeger-config.yaml: everything on loopback, in-memory storage
# (lost on restart), OTLP receivers only, no self-metrics/self-tracing.

JAEGER_VERSION=v1.76.0      # Go module version of github.com/jaegertracing/jaeger
JAEGER_V2_VERSION=v2.13.0   # the same release's v2 tag (what `jaeger version` reports)
JAEGER_MIN_GO=1.24.6        # the `go` line of Jaeger's go.mod
JAEGER_OTLP_GRPC_PORT=4317
JAEGER_OTLP_HTTP_PORT=4318
JAEGER_QUERY_GRPC_PORT=16685
JAEGER_QUERY_PORT=16686
JAEGER_HEALTH_PORT=13133
# All ports of jaeger-config.yaml (keep in sync).
JAEGER_PORTS=("$JAEGER_OTLP_GRPC_PORT" "$JAEGER_OTLP_HTTP_PORT" "$JAEGER_QUERY_GRPC_PORT" "$JAEGER_QUERY_PORT" "$JAEGER_HEALTH_PORT")
JAEGER_CACHE=$CACHE_DIR/jaeger-$JAEGER_VERSION
JAEGER_BIN=$JAEGER_CACHE/bin/jaeger
JAEGER_MARKER=$JAEGER_CACHE/.complete   # holds "$JAEGER_VERSION $JAEGER_V2_VERSION"
JAEGER_GO_CACHE=$CACHE_DIR/go
JAEGER_CONFIG=$INFRA_DIR/jaeger-config.yaml
JAEGER_RUN=$RUN_DIR/jaeger
JAEGER_PIDFILE=$JAEGER_RUN/jaeger.pid
JAEGER_LOG=$JAEGER_RUN/jaeger.log
JAEGER_READY_TIMEOUT_S=60
JAEGER_STOP_TIMEOUT_S=30

jaeger_built() {
  [[ -x $JAEGER_BIN && -f $JAEGER_MARKER && $(cat "$JAEGER_MARKER") == "$JAEGER_VERSION $JAEGER_V2_VERSION" ]]
}

# Path of a Go toolchain new enough for Jaeger, or die naming what is needed.
jaeger_find_go() {
  local go v
  go=$(command -v go || true)
  if [[ -z $go && -x /usr/local/go/bin/go ]]; then go=/usr/local/go/bin/go; fi
  [[ -n $go ]] || die "jaeger: building Jaeger needs Go >= $JAEGER_MIN_GO ('go' is not on PATH). Debian's golang package is too old; install Go from go.dev (e.g. into /usr/local/go) and put its bin directory on PATH"
  v=$(GOTOOLCHAIN=local "$go" env GOVERSION 2>/dev/null || true)
  v=${v#go}
  if [[ -z $v ]] || ! printf '%s\n' "$JAEGER_MIN_GO" "${v%%[-+ ]*}" | sort -V -C; then
    die "jaeger: building Jaeger needs Go >= $JAEGER_MIN_GO; $go is '${v:-unknown}'. Debian's golang package is too old; install Go from go.dev and put it first on PATH"
  fi
  echo "$go"
}

# Build the binary once (into a temp file moved into place, then the marker: an interrupted
# build is never taken as complete).
jaeger_build() {
  jaeger_built && return 0
  local go
  go=$(jaeger_find_go)
  mkdir -p "$CACHE_DIR" "$JAEGER_RUN"
  exec 8>"$CACHE_DIR/.jaeger-build.lock"
  flock -w 1800 8 || die "jaeger: could not lock $CACHE_DIR/.jaeger-build.lock"
  if jaeger_built; then exec 8>&-; return 0; fi   # built by a concurrent run
  local t0 log=$JAEGER_RUN/build.log src=$JAEGER_CACHE/src
  t0=$(now_ms)
  info "jaeger: building Jaeger $JAEGER_V2_VERSION from source into $JAEGER_CACHE (first time, several minutes; log: $log)"
  rm -rf "$src" "$JAEGER_BIN.tmp" "$JAEGER_MARKER"
  mkdir -p "$src" "$JAEGER_CACHE/bin"
  cat >"$src/go.mod" <<GOMOD
module ringtrace.invalid/jaeger-build

go $JAEGER_MIN_GO

// Repeats the replace directive of Jaeger's own go.mod (ignored in a dependency).
replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0
GOMOD
  local mod=github.com/jaegertracing/jaeger
  if ! (
      cd "$src" &&
      export GOPATH="$JAEGER_GO_CACHE" GOMODCACHE="$JAEGER_GO_CACHE/pkg/mod" \
             GOCACHE="$JAEGER_GO_CACHE/cache" CGO_ENABLED=0 GOWORK=off &&
      echo "== $(date -u +%FT%TZ) building $mod $JAEGER_VERSION with $("$go" version)" &&
      dir=$("$go" mod download -json "$mod@$JAEGER_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') &&
      [[ -f $dir/go.sum ]] &&
      cp "$dir/go.sum" go.sum && chmod u+w go.sum &&
      "$go" get "$mod/cmd/jaeger@$JAEGER_VERSION" &&
      "$go" build -trimpath \
        -ldflags "-X $mod/internal/version.latestVersion=$JAEGER_V2_VERSION" \
        -o "$JAEGER_BIN.tmp" "$mod/cmd/jaeger"
    ) >>"$log" 2>&1; then
    rm -f "$JAEGER_BIN.tmp"
    fail_with_log jaeger "building Jaeger failed" "$log"
  fi
  mv "$JAEGER_BIN.tmp" "$JAEGER_BIN"
  echo "$JAEGER_VERSION $JAEGER_V2_VERSION" >"$JAEGER_MARKER"
  exec 8>&-
  info "jaeger: built $JAEGER_BIN in $(elapsed_since "$t0")"
}

# PID of our server if the pid file names a live process that is our jaeger.
jaeger_pid() {
  local pid
  pid=$(cat "$JAEGER_PIDFILE" 2>/dev/null) || return 1
  pid_alive "$pid" && pid_cmdline_has "$pid" "$JAEGER_BIN" "$JAEGER_CONFIG" && echo "$pid"
}

# Ready: the query API answers with JSON and the OTLP/HTTP receiver accepts a POST (an empty
# export request gets 200; 400 would still mean "listening and parsing").
jaeger_probe() {
  local body code
  body=$(curl -s -m 2 "http://127.0.0.1:$JAEGER_QUERY_PORT/api/services" 2>/dev/null) || return 1
  [[ $body == *'"data"'* ]] || return 1
  code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
           -d '{}' "http://127.0.0.1:$JAEGER_OTLP_HTTP_PORT/v1/traces" 2>/dev/null) || return 1
  [[ $code == 200 || $code == 400 ]]
}

jaeger_wait_ready() {
  wait_ready jaeger "$1" "$JAEGER_READY_TIMEOUT_S" jaeger_probe \
    "127.0.0.1:$JAEGER_QUERY_PORT and 127.0.0.1:$JAEGER_OTLP_HTTP_PORT" "$JAEGER_LOG"
}

jaeger_where() {
  echo "OTLP HTTP 127.0.0.1:$JAEGER_OTLP_HTTP_PORT, gRPC :$JAEGER_OTLP_GRPC_PORT; query 127.0.0.1:$JAEGER_QUERY_PORT"
}

jaeger_up() {
  local pid t0
  t0=$(now_ms)
  if pid=$(jaeger_pid); then
    if jaeger_probe; then
      info "jaeger: already running ($(jaeger_where); pid $pid)"
    else
      jaeger_wait_ready "$pid"
      info "jaeger: running ($(jaeger_where); pid $pid; was still starting, ready after $(elapsed_since "$t0"))"
    fi
    return 0
  fi
  if [[ -f $JAEGER_PIDFILE ]]; then
    info "jaeger: removed stale pid file (pid $(cat "$JAEGER_PIDFILE") is gone or not our server)"
    rm -f "$JAEGER_PIDFILE"
  fi
  local p
  for p in "${JAEGER_PORTS[@]}"; do
    if port_listening "$p"; then
      die "jaeger: port $p is held by a process this script did not start ($(port_holder "$p")); stop it first"
    fi
  done
  command -v curl >/dev/null || ensure_apt_pkg jaeger curl
  jaeger_build
  t0=$(now_ms)   # the start time, without the build
  mkdir -p "$JAEGER_RUN"

  # setsid: own session, so signals to the caller's process group do not reach it. The
  # inner shell writes its PID before exec'ing jaeger. fds 8/9 (our locks) are closed, or
  # the daemon would hold the locks forever.
  rm -f "$JAEGER_PIDFILE"
  # shellcheck disable=SC2016  # $$, $0, $@ belong to the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$JAEGER_PIDFILE" "$JAEGER_BIN" --config "$JAEGER_CONFIG" \
    </dev/null >"$JAEGER_LOG" 2>&1 8>&- 9>&- &
  wait_until 10 test -s "$JAEGER_PIDFILE" \
    || fail_with_log jaeger "server launcher did not write $JAEGER_PIDFILE" "$JAEGER_LOG"
  pid=$(cat "$JAEGER_PIDFILE")
  jaeger_wait_ready "$pid"
  info "jaeger: started ($(jaeger_where); pid $pid) in $(elapsed_since "$t0")"
}

jaeger_down() {
  local pid
  pid=$(jaeger_pid) || { report_not_running jaeger "$JAEGER_PIDFILE"; return 0; }
  terminate jaeger "$pid" "$JAEGER_PIDFILE" "$JAEGER_STOP_TIMEOUT_S"
}

jaeger_status() {
  local pid p
  if pid=$(jaeger_pid); then
    if jaeger_probe; then
      info "jaeger: running ($(jaeger_where); pid $pid)"
    else
      info "jaeger: starting or unhealthy, query API or OTLP HTTP not answering (pid $pid)"
    fi
    return 0
  fi
  for p in "${JAEGER_PORTS[@]}"; do
    if port_listening "$p"; then
      info "jaeger: stopped (port $p held by a process we did not start: $(port_holder "$p"))"
      return 0
    fi
  done
  if jaeger_built; then
    info "jaeger: stopped (ports $JAEGER_OTLP_HTTP_PORT, $JAEGER_QUERY_PORT)"
  else
    info "jaeger: stopped (ports $JAEGER_OTLP_HTTP_PORT, $JAEGER_QUERY_PORT; not built yet)"
  fi
}

# --------------------------------------------------------------------------- main

# component_pids NAME: the running server's PIDs, one per line; fails if it is not running.
component_pids() {
  local pid
  case $1 in
    postgres) pg_paths; pid=$(pg_pid) || die "postgres: not running"; echo "$pid"; child_pids "$pid" ;;
    *) pid=$("$1_pid") || die "$1: not running"; echo "$pid" ;;
  esac
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# select_components ARGS...: validate names (default: all), in COMPONENTS order.
select_components() {
  local c a found
  SELECTED=()
  for a in "$@"; do
    found=0
    for c in "${COMPONENTS[@]}"; do
      if [[ $a == "$c" ]]; then found=1; fi
    done
    (( found )) || die "infra: unknown component '$a' (known: ${COMPONENTS[*]})"
  done
  for c in "${COMPONENTS[@]}"; do
    if (( $# == 0 )); then SELECTED+=("$c"); continue; fi
    for a in "$@"; do
      if [[ $a == "$c" ]]; then SELECTED+=("$c"); break; fi
    done
  done
}

main() {
  local cmd=${1:-}
  if (( $# )); then shift; fi
  local i
  case $cmd in
    up)
      select_components "$@"
      lock_run_dir
      for i in "${SELECTED[@]}"; do "${i}_up"; done
      ;;
    down)
      select_components "$@"
      lock_run_dir
      for (( i = ${#SELECTED[@]} - 1; i >= 0; i-- )); do "${SELECTED[i]}_down"; done
      ;;
    status)
      select_components "$@"
      for i in "${SELECTED[@]}"; do "${i}_status"; done
      ;;
    crash)
      (( $# )) || die "infra: crash needs a component (postgres, mariadb or kafka)"
      select_components "$@"
      lock_run_dir
      for i in "${SELECTED[@]}"; do
        declare -F "${i}_crash" >/dev/null || die "infra: crash is not supported for $i"
        "${i}_crash"
      done
      ;;
    kafka-classpath)
      kafka_classpath
      ;;
    jaeger-binary)
      INFO_FD=2
      jaeger_build
      printf '%s\n' "$JAEGER_BIN"
      ;;
    pids)
      (( $# == 1 )) || die "infra: pids needs exactly one component (${COMPONENTS[*]})"
      select_components "$1"
      component_pids "$1"
      ;;
    -h|--help|help)
      usage
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
