#!/usr/bin/env bash
# Builds the three service images from the Dockerfile and pushes them to Docker Hub or another
# registry, so that docker-compose.images.yml can run the published images instead of building them:
#
#   <namespace>/ringtrace-ms1, <namespace>/ringtrace-ms2, <namespace>/ringtrace-ms3
#   each tagged <version> and latest
#
# Usage: RINGTRACE_IMAGE_NAMESPACE=<namespace> scripts/publish-images.sh [--dry-run]
#
#   RINGTRACE_IMAGE_NAMESPACE  required; the same variable docker-compose.images.yml reads: a
#                              Docker Hub user or organisation ("example-org"), or a registry
#                              host[:port] and path ("registry.example.com:5000/ringtrace")
#   RINGTRACE_VERSION          default: the VERSION in CMakeLists.txt's project()
#   DOCKERHUB_USERNAME, DOCKERHUB_TOKEN
#                              for Docker Hub: if both are set, logs in with them first (for CI);
#                              otherwise an earlier `docker login` must have stored a Docker Hub
#                              login. Another registry's login is that registry's business: a push
#                              it refuses fails with its answer.
#   --dry-run                  print the commands instead of running them (needs no Docker)
#
# Refuses, with one line on stderr and a non-zero exit, before building anything when Docker or
# its engine is missing, when the namespace is unset or invalid, or when Docker Hub has no login.
# The Dockerfile needs BuildKit (DOCKER_BUILDKIT=1 is set for Docker 20.10's CLI).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

services=(ms1 ms2 ms3)

die() { echo "publish-images: $*" >&2; exit 1; }

dry_run=false
for arg in "$@"; do
  case $arg in
    --dry-run) dry_run=true ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (usage: scripts/publish-images.sh [--dry-run])" ;;
  esac
done

namespace=${RINGTRACE_IMAGE_NAMESPACE:-}
[ -n "$namespace" ] || die "RINGTRACE_IMAGE_NAMESPACE is not set (your Docker Hub user or organisation, or registry/path)"
# A path component of an image name: lower-case letters and digits, separators inside only.
component='[a-z0-9]+([._-][a-z0-9]+)*'
if [[ $namespace == */* ]]; then
  # registry[:port]/path...: the first part names a registry when it has a dot or a port, or is
  # localhost (the rule docker itself applies); anything else would be a Docker Hub path.
  registry=${namespace%%/*}
  [[ $registry =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?$ && ($registry == *[.:]* || $registry == localhost) ]] ||
    die "RINGTRACE_IMAGE_NAMESPACE '$namespace': '$registry' is not a registry host[:port]"
  [[ ${namespace#*/} =~ ^$component(/$component)*$ ]] ||
    die "RINGTRACE_IMAGE_NAMESPACE '$namespace' is not a valid registry path"
else
  registry=docker.io
  [[ $namespace =~ ^$component$ ]] ||
    die "RINGTRACE_IMAGE_NAMESPACE '$namespace' is not a valid Docker Hub namespace"
fi

version=${RINGTRACE_VERSION:-$(sed -nE 's/^project\([A-Za-z0-9_]+ +VERSION +([0-9][0-9A-Za-z.+-]*).*/\1/p' CMakeLists.txt)}
[ -n "$version" ] || die "no VERSION in CMakeLists.txt's project(); set RINGTRACE_VERSION"
# A Docker tag: no '+' (SemVer build metadata), at most 128 characters.
[[ $version =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "version '$version' is not a valid image tag"

# run WHAT CMD...: prints CMD under --dry-run; otherwise runs it with its output kept aside,
# shown only when it fails.
run() {
  local what=$1
  shift
  if $dry_run; then
    printf '%q ' "$@" | sed 's/ $//'
    echo
    return
  fi
  echo "publish-images: $what"
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "failed: $*"
  fi
}

if ! $dry_run; then
  command -v docker >/dev/null 2>&1 || die "docker is not installed (no 'docker' command on PATH)"
  docker info >/dev/null 2>&1 || die "the Docker engine is not reachable ('docker info' failed): start it or set DOCKER_HOST"
fi
if ! $dry_run && [ "$registry" = docker.io ]; then
  if [ -n "${DOCKERHUB_USERNAME:-}" ] && [ -n "${DOCKERHUB_TOKEN:-}" ]; then
    printf '%s' "$DOCKERHUB_TOKEN" | docker login --username "$DOCKERHUB_USERNAME" --password-stdin >/dev/null 2>&1 ||
      die "docker login as '$DOCKERHUB_USERNAME' with DOCKERHUB_TOKEN failed"
  fi
  # There is no command that asks whether we are logged in; `docker login` records Docker Hub in
  # the client's config.json under one of these keys (an empty entry when a credential store
  # keeps the secret).
  config=${DOCKER_CONFIG:-${HOME:-}/.docker}/config.json
  if ! { [ -f "$config" ] && grep -qE '"(https://index\.docker\.io/v1/|index\.docker\.io|docker\.io)"' "$config"; }; then
    die "not logged in to Docker Hub: run 'docker login' (or set DOCKERHUB_USERNAME and DOCKERHUB_TOKEN)"
  fi
fi
if ! $dry_run; then
  export DOCKER_BUILDKIT=1
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
fi

for s in "${services[@]}"; do
  image=$namespace/ringtrace-$s
  run "building $image:$version" docker build --target "$s" --build-arg "RINGTRACE_VERSION=$version" \
    --tag "$image:$version" --tag "$image:latest" .
done
for s in "${services[@]}"; do
  image=$namespace/ringtrace-$s
  run "pushing $image:$version" docker push "$image:$version"
  run "pushing $image:latest" docker push "$image:latest"
done
$dry_run || echo "publish-images: pushed $namespace/ringtrace-{ms1,ms2,ms3}:{$version,latest}"
