#!/usr/bin/env bash
# ringtrace's own Docker Engine, for running the compose files for real on a machine where no
# engine runs and no container registry is reachable (docs/containers.md):
#
#   scripts/engine.sh up       start it (idempotent) and make sure it holds what compose needs:
#                              the Debian base image the Dockerfile names, and stand-ins for the
#                              images docker-compose.yml pulls (apache/kafka, jaegertracing/jaeger,
#                              postgres, mariadb, nginx), each tagged exactly as the compose files
#                              name it
#   scripts/engine.sh down     stop the engine this script started, by the PID in its pid file
#   scripts/engine.sh status   one line
#   scripts/engine.sh compose-path
#                              the Compose v2 binary (built first if needed); it also runs
#                              standalone, and `config` needs no engine (the deploy checks use it)
#   scripts/engine.sh env      the exports that point `docker` and `docker compose` at it:
#                              eval "$(scripts/engine.sh env)"
#
# What `up` installs or builds once and then reuses (under ${RINGTRACE_CACHE_DIR:-~/.cache/ringtrace}):
#   Debian's docker.io (Engine 20.10), debootstrap, iptables and docker-registry;
#   the Compose v2 CLI plugin (docker/compose v5.6.0) and buildx (v0.38.2, for BuildKit's cache
#   mounts), built from the Go module proxy; the engine's data root (docker/data: images, layers,
#   the build cache, volumes), so a second run rebuilds nothing that did not change.
# The engine's sockets and pid file live in a short directory under /tmp named after the data root
# (a data root serves one engine at a time, so every checkout sharing the cache shares the engine).
# It never talks to another engine: DOCKER_HOST always names this one's socket.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$SCRIPT_DIR")
CACHE_DIR=${RINGTRACE_CACHE_DIR:-$HOME/.cache/ringtrace}
STANDINS_DIR=$REPO_DIR/tests/compose/standins

ENGINE_CACHE=$CACHE_DIR/docker
DATA_ROOT=$ENGINE_CACHE/data
CONFIG_DIR=$ENGINE_CACHE/config            # DOCKER_CONFIG: cli-plugins/, and a login if any
RUN_ID=$(printf '%s' "$DATA_ROOT" | sha256sum | cut -c1-10)
RUN_DIR=/tmp/ringtrace-engine-$RUN_ID       # short: unix socket paths are limited to 107 bytes
SOCKET=$RUN_DIR/docker.sock
PIDFILE=$RUN_DIR/dockerd.pid
LOG=$ENGINE_CACHE/dockerd.log
READY_TIMEOUT_S=60
STOP_TIMEOUT_S=30

# COMPOSE_VERSION, BUILDX_VERSION (and every other pin) come from the one pins file.
# shellcheck source=versions.env
source "$SCRIPT_DIR/versions.env"
COMPOSE_MODULE=github.com/docker/compose/v5
BUILDX_MODULE=github.com/docker/buildx
GO_CACHE=$CACHE_DIR/go

# The base of the Dockerfile and of every stand-in: Debian bookworm, as the official slim image.
DEBIAN_TAG=$(sed -n 's/^ARG DEBIAN_TAG=//p' "$REPO_DIR/Dockerfile" | head -n1)

# Informational output goes to stdout, except for commands whose stdout is data: INFO_FD=2.
INFO_FD=1
info() { printf 'engine: %s\n' "$*" >&"$INFO_FD"; }
die() { printf 'engine: %s\n' "$*" >&2; exit 1; }
now_s() { date +%s; }

# wait_until TIMEOUT_S CMD...: polls CMD until it succeeds (0) or the deadline passes (1).
wait_until() {
  local deadline=$(( $(now_s) + $1 ))
  shift
  until "$@"; do
    (( $(now_s) < deadline )) || return 1
    sleep 0.2
  done
}

# ------------------------------------------------------------------------- installation

ensure_packages() {
  local p missing=()
  for p in docker.io debootstrap iptables docker-registry; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  (( ${#missing[@]} )) || return 0
  [[ $(id -u) -eq 0 ]] || die "missing Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})"
  info "installing ${missing[*]}"
  mkdir -p "$ENGINE_CACHE"
  # policy-rc.d, where present, keeps the package's own service from starting: we run our engine.
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
           --no-install-recommends "${missing[@]}"; } >"$ENGINE_CACHE/apt.log" 2>&1; then
    tail -n 30 "$ENGINE_CACHE/apt.log" >&2
    die "apt-get install ${missing[*]} failed"
  fi
}

find_go() {
  local go
  go=$(command -v go || true)
  [[ -n $go || ! -x /usr/local/go/bin/go ]] || go=/usr/local/go/bin/go
  [[ -n $go ]] || die "building the Compose and buildx plugins needs Go (go.dev; Debian's golang is too old)"
  echo "$go"
}

# plugin_build NAME MODULE VERSION PACKAGE VERSION_VAR: builds a CLI plugin once into
# $CACHE_DIR/NAME-VERSION/docker-NAME (a temp file moved into place: never half a binary).
plugin_build() {
  local name=$1 module=$2 version=$3 package=$4 version_var=$5
  local out=$CACHE_DIR/$name-$version/docker-$name
  [[ -x $out ]] && return 0
  local go dir log=$CACHE_DIR/$name-$version/build.log t0
  go=$(find_go)
  mkdir -p "$(dirname "$out")"
  t0=$(now_s)
  info "building the $name plugin $version from the Go module proxy (once; log: $log)"
  if ! (
      export GOPATH=$GO_CACHE GOMODCACHE=$GO_CACHE/pkg/mod GOCACHE=$GO_CACHE/cache \
             GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0 &&
      dir=$("$go" mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') &&
      [[ -n $dir ]] && cd "$dir" &&
      "$go" build -trimpath -ldflags "-s -w -X $version_var=$version" -o "$out.tmp" "./$package"
    ) >"$log" 2>&1; then
    rm -f "$out.tmp"
    tail -n 30 "$log" >&2
    die "building $module@$version failed"
  fi
  mv "$out.tmp" "$out"
  info "built $out in $(( $(now_s) - t0 )) s"
}

ensure_plugins() {
  plugin_build compose "$COMPOSE_MODULE" "$COMPOSE_VERSION" cmd "$COMPOSE_MODULE/internal.Version"
  plugin_build buildx "$BUILDX_MODULE" "$BUILDX_VERSION" cmd/buildx "$BUILDX_MODULE/version.Version"
  mkdir -p "$CONFIG_DIR/cli-plugins"
  ln -sfn "$CACHE_DIR/compose-$COMPOSE_VERSION/docker-compose" "$CONFIG_DIR/cli-plugins/docker-compose"
  ln -sfn "$CACHE_DIR/buildx-$BUILDX_VERSION/docker-buildx" "$CONFIG_DIR/cli-plugins/docker-buildx"
}

# ------------------------------------------------------------------------------ engine

docker_() { DOCKER_HOST=unix://$SOCKET DOCKER_CONFIG=$CONFIG_DIR docker "$@"; }
engine_answers() { docker_ info >/dev/null 2>&1; }

engine_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--data-root $DATA_ROOT" || return 1
  echo "$pid"
}

engine_start() {
  if engine_pid >/dev/null && engine_answers; then return 0; fi
  command -v docker >/dev/null || die "no docker client on PATH (Debian's docker.io installs /usr/bin/docker)"
  mkdir -p "$DATA_ROOT" "$RUN_DIR/exec"
  chmod 0700 "$RUN_DIR"
  rm -f "$PIDFILE" "$SOCKET"
  info "starting dockerd (data root $DATA_ROOT, socket $SOCKET, log $LOG)"
  # No userland proxy: published ports go through iptables, as on a default Docker Desktop-less
  # Linux install with that option, and no extra process per port.
  setsid dockerd --data-root "$DATA_ROOT" --exec-root "$RUN_DIR/exec" --pidfile "$PIDFILE" \
    --host "unix://$SOCKET" --userland-proxy=false >>"$LOG" 2>&1 </dev/null 9>&- &
  if ! wait_until "$READY_TIMEOUT_S" engine_answers; then
    tail -n 30 "$LOG" >&2
    die "dockerd did not answer on $SOCKET within ${READY_TIMEOUT_S}s"
  fi
  info "dockerd $(docker_ version -f '{{.Server.Version}}') running (pid $(cat "$PIDFILE"))"
}

engine_stop() {
  local pid
  if ! pid=$(engine_pid); then
    info "not running"
    return 0
  fi
  kill -TERM "$pid"
  if ! wait_until "$STOP_TIMEOUT_S" pid_gone "$pid"; then
    info "dockerd (pid $pid) still running ${STOP_TIMEOUT_S}s after SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 pid_gone "$pid" || die "dockerd (pid $pid) survived SIGKILL"
  fi
  rm -f "$PIDFILE"
  info "stopped dockerd (pid $pid)"
}
pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# -------------------------------------------------------------------------------- images

have_image() { docker_ image inspect "$1" >/dev/null 2>&1; }

# The Dockerfile's base: Debian bookworm minbase, trimmed like the official slim image.
ensure_base_image() {
  local tag=debian:$DEBIAN_TAG
  have_image "$tag" && return 0
  local root t0 mirror apt_proxy="" proxy_env=()
  t0=$(now_s)
  root=$(mktemp -d /tmp/ringtrace-rootfs.XXXXXX)
  # The mirror this machine's apt already reaches (a user's may be another mirror or a caching
  # proxy), and apt's own HTTP proxy when it has one; Debian's redirector when apt names neither.
  mirror=$(PYTHONPATH=$SCRIPT_DIR python3 -m ringtrace_harness.apt_mirror bookworm) || mirror=http://deb.debian.org/debian
  eval "$(apt-config shell apt_proxy Acquire::http::Proxy 2>/dev/null)" || apt_proxy=""
  [[ -n $apt_proxy && -z ${http_proxy:-} ]] && proxy_env=("http_proxy=$apt_proxy")
  info "making $tag with debootstrap from $mirror (once)"
  if ! env "${proxy_env[@]}" debootstrap --variant=minbase bookworm "$root" "$mirror" >"$ENGINE_CACHE/debootstrap.log" 2>&1; then
    rm -rf "$root"
    tail -n 30 "$ENGINE_CACHE/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
         "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
  tar -C "$root" -c . | docker_ import --change 'CMD ["bash"]' - "$tag" >/dev/null
  rm -rf "$root"
  info "imported $tag ($(docker_ image inspect -f '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1e6}')) in $(( $(now_s) - t0 )) s"
}

# image_tag NAME: the default tag compose uses for image NAME, read from the compose files
# ("image: NAME:${VAR:-TAG}"), so the stand-ins follow the files.
image_tag() {
  local tag
  tag=$(sed -n "s|^ *image: $1:\${[A-Z_]*:-\([^}]*\)}.*|\1|p" "$REPO_DIR"/docker-compose*.yml | head -n1)
  [[ -n $tag ]] || die "no 'image: $1:\${...:-TAG}' in the compose files"
  echo "$tag"
}

# standin_build IMAGE CONTEXT: builds a stand-in unless the engine already has one built from
# exactly this context (its hash is a label).
standin_build() {
  local image=$1 context=$2 hash have t0
  hash=$(cd "$context" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  have=$(docker_ image inspect -f '{{index .Config.Labels "org.ringtrace.standin"}}' "$image" 2>/dev/null || true)
  [[ $have == "$hash" ]] && return 0
  t0=$(now_s)
  info "building stand-in $image"
  if ! docker_ buildx build --quiet --build-arg "DEBIAN_TAG=$DEBIAN_TAG" --label "org.ringtrace.standin=$hash" \
         --tag "$image" "$context" >"$ENGINE_CACHE/standin.log" 2>&1; then
    tail -n 40 "$ENGINE_CACHE/standin.log" >&2
    die "building stand-in $image failed"
  fi
  info "built stand-in $image in $(( $(now_s) - t0 )) s"
}

ensure_standins() {
  local ctx kafka_tag jaeger_tag kafka_lib jaeger_bin
  ctx=$(mktemp -d /tmp/ringtrace-standin.XXXXXX)
  # shellcheck disable=SC2064  # the path is fixed now
  trap "rm -rf '$ctx'" RETURN

  kafka_tag=$(image_tag apache/kafka)
  kafka_lib=$("$SCRIPT_DIR/infra.sh" kafka-classpath)
  kafka_lib=${kafka_lib%/\*}
  [[ -f $kafka_lib/kafka_2.13-$kafka_tag.jar ]] ||
    die "docker-compose.yml names apache/kafka:$kafka_tag but scripts/infra/kafka-pom.xml fetches another Kafka ($kafka_lib)"
  mkdir "$ctx/kafka"
  cp -r "$STANDINS_DIR/kafka/." "$ctx/kafka/"
  cp -r "$kafka_lib" "$ctx/kafka/libs"
  cp "$SCRIPT_DIR/infra/tools-log4j2.xml" "$ctx/kafka/"
  standin_build "apache/kafka:$kafka_tag" "$ctx/kafka"

  jaeger_tag=$(image_tag jaegertracing/jaeger)
  jaeger_bin=$("$SCRIPT_DIR/infra.sh" jaeger-binary)
  [[ $("$jaeger_bin" version 2>&1) == *"\"v$jaeger_tag\""* ]] ||
    die "docker-compose.yml names jaegertracing/jaeger:$jaeger_tag but $jaeger_bin is another release"
  mkdir "$ctx/jaeger"
  cp -r "$STANDINS_DIR/jaeger/." "$ctx/jaeger/"
  cp "$jaeger_bin" "$ctx/jaeger/jaeger-linux"
  standin_build "jaegertracing/jaeger:$jaeger_tag" "$ctx/jaeger"

  standin_build "postgres:$(image_tag postgres)" "$STANDINS_DIR/postgres"
  standin_build "mariadb:$(image_tag mariadb)" "$STANDINS_DIR/mariadb"
  standin_build "nginx:$(image_tag nginx)" "$STANDINS_DIR/nginx"
}

# ---------------------------------------------------------------------------------- main

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

case ${1:-} in
  up)
    ensure_packages
    ensure_plugins
    mkdir -p "$ENGINE_CACHE"
    exec 9>"$ENGINE_CACHE/.engine.lock"
    flock -w 900 9 || die "could not lock $ENGINE_CACHE/.engine.lock (another engine.sh up still running?)"
    engine_start
    ensure_base_image
    ensure_standins
    ;;
  down)
    engine_stop
    ;;
  status)
    if pid=$(engine_pid) && engine_answers; then
      info "running (pid $pid, DOCKER_HOST=unix://$SOCKET)"
    else
      info "not running"
    fi
    ;;
  compose-path)
    INFO_FD=2
    ensure_plugins
    printf '%s\n' "$CACHE_DIR/compose-$COMPOSE_VERSION/docker-compose"
    ;;
  env)
    printf 'export DOCKER_HOST=%q\nexport DOCKER_CONFIG=%q\n' "unix://$SOCKET" "$CONFIG_DIR"
    ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
