#!/usr/bin/env bash
# Builds ringtrace with one CMake preset, the same way everywhere: the container image's build
# stage runs exactly this, so a native `scripts/build.sh` proves the image's build steps.
# Installs the compile-time packages first (scripts/install-deps.sh --build-only), then
# configures and builds quietly; the compiler's output is shown only when something fails.
#
#   scripts/build.sh [preset]     preset from CMakePresets.json; default: release
#                                 (build-release/bin/ms1, ms2, ms3, ringtrace-probe; no tests)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

[ $# -le 1 ] || { echo "usage: $0 [preset]" >&2; exit 2; }
preset=${1:-release}

scripts/install-deps.sh --build-only

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { cmake --preset "$preset" && cmake --build --preset "$preset" -j2; } >"$log" 2>&1; then
  tail -n 80 "$log" >&2
  echo "build: preset '$preset' failed" >&2
  exit 1
fi
