#!/usr/bin/env bash
# The container path, executed for real: the compose files on our own Docker Engine.
#
# Usage: scripts/compose-test.sh [--variant postgresql|mariadb|cluster|all] [--keep-engine]
#
#   --variant      which compose variant to run (tests/compose/compose_test.py says what each
#                  checks; cluster is docker-compose.kafka-cluster.yml, three Kafka nodes, on top
#                  of docker-compose.yml); `all` (the default) runs the three, then publishes the
#                  images to a real registry (Debian's docker-registry on 127.0.0.1:5000) with
#                  scripts/publish-images.sh, removes them locally and runs a session from the
#                  images compose pulls back
#   --keep-engine  leave the engine running afterwards (for a quicker next run while developing)
#
# scripts/engine.sh starts the engine (its own socket, through DOCKER_HOST; its data root in the
# cache directory, so images and build layers survive between runs) and builds the stand-ins of
# the images the compose files name; this script stops the engine again at the end, by PID.
# RINGTRACE_COMPOSE_SESSION_SECONDS (10) sets the length of each session.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() { echo "compose-test: $*" >&2; exit 2; }

variant=all
keep_engine=false
while (($#)); do
  case $1 in
    --variant) (($# >= 2)) || die "--variant needs a value"; variant=$2; shift 2 ;;
    --variant=*) variant=${1#*=}; shift ;;
    --keep-engine) keep_engine=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
case $variant in
  postgresql|mariadb|cluster) variants=("$variant") ;;
  all) variants=(postgresql mariadb cluster) ;;
  *) die "unknown variant '$variant' (postgresql, mariadb, cluster or all)" ;;
esac
seconds=${RINGTRACE_COMPOSE_SESSION_SECONDS:-10}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "RINGTRACE_COMPOSE_SESSION_SECONDS '$seconds' is not a positive number of seconds"

registry_pid=""
registry_dir=""
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  if [[ -n $registry_pid ]]; then
    kill -TERM "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  [[ -z $registry_dir ]] || rm -rf "$registry_dir"
  $keep_engine || scripts/engine.sh down
}
trap cleanup EXIT

t0=$SECONDS
scripts/engine.sh up
echo "compose-test: engine ready in $((SECONDS - t0)) s"
eval "$(scripts/engine.sh env)"

status=0
for v in "${variants[@]}"; do
  /usr/bin/python3 tests/compose/compose_test.py --variant "$v" --session-seconds "$seconds" || status=1
done

if [[ $variant == all ]]; then
  # A real registry on loopback to publish to. The engine trusts 127.0.0.0/8 over plain HTTP.
  registry_port=5000
  if [[ -n $(ss -Htln "( sport = :$registry_port )" 2>/dev/null) ]]; then
    echo "compose-test: 127.0.0.1:$registry_port is taken; the registry round trip needs it" >&2
    exit 1
  fi
  registry_dir=$(mktemp -d /tmp/ringtrace-registry.XXXXXX)
  cat >"$registry_dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $registry_dir/data
http:
  addr: 127.0.0.1:$registry_port
EOF
  docker-registry serve "$registry_dir/config.yml" >"$registry_dir/registry.log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$registry_port/v2/" >/dev/null && break
    kill -0 "$registry_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! curl -fs "http://127.0.0.1:$registry_port/v2/" >/dev/null; then
    cat "$registry_dir/registry.log" >&2
    echo "compose-test: docker-registry did not answer on 127.0.0.1:$registry_port" >&2
    exit 1
  fi
  /usr/bin/python3 tests/compose/compose_test.py --publish "127.0.0.1:$registry_port/ringtrace" \
    --session-seconds "$seconds" || status=1
fi

# Each rebuild leaves the previous images of ms1..ms3 untagged: drop them so the data root does
# not grow run after run (only this engine's dangling images; layers still in use stay).
docker image prune --force >/dev/null || true
echo "compose-test: $( ((status)) && echo FAILED || echo passed) in $((SECONDS - t0)) s"
exit $status
