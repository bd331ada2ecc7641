#!/usr/bin/env bash
# The project's test command: installs dependencies, builds with coverage instrumentation,
# starts the native infrastructure, runs every ctest label (unit, integration, e2e), prints
# line coverage of the shared library and the services, then runs every label again on an
# AddressSanitizer + UBSan build (RINGTRACE_SKIP_ASAN=1 skips that pass).
# Under CI (CI=true) the infrastructure started here is stopped at the end; locally it is left
# running for the next run (scripts/infra.sh down stops it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

scripts/install-deps.sh

# build PRESET: configures and builds quietly; on failure shows the compiler's output.
build() {
  echo "== build ($1 preset)"
  local log
  log=$(mktemp)
  if ! { cmake --preset "$1" && cmake --build --preset "$1" -- -j2; } >"$log" 2>&1; then
    tail -n 80 "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}

build coverage

echo "== infrastructure"
scripts/infra.sh up
if [ "${CI:-}" = true ]; then
  trap 'scripts/infra.sh down || true' EXIT
fi

find build-coverage -name '*.gcda' -delete
echo "== tests"
status=0
ctest --preset coverage -j2 || status=$?

echo "== coverage"
gcovr --root . --object-directory build-coverage \
  --filter 'common/' --filter 'ms1/' --filter 'ms2/' --filter 'ms3/' \
  --exclude-unreachable-branches --print-summary -o build-coverage/coverage.txt 2>/dev/null |
  sed 's/^/coverage (common + services): /'
echo "coverage report: build-coverage/coverage.txt"

if [ "${RINGTRACE_SKIP_ASAN:-}" != 1 ]; then
  build asan
  echo "== tests under AddressSanitizer + UBSan"
  ctest --preset asan -j2 || status=$?
fi

exit $status
