#!/usr/bin/env bash
# Installs what ringtrace needs to build and test, from Debian bookworm packages.
# Idempotent and quiet: does nothing when everything is present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates python3
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librdkafka-dev libpq-dev libmariadb-dev libspdlog-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev gcovr
  postgresql postgresql-client mariadb-server mariadb-client
  openjdk-17-jre-headless maven
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: apt-get failed" >&2
  exit 1
fi
echo "install-deps: done"
