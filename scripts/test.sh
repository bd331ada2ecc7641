#!/usr/bin/env bash
# The project's test command: installs dependencies, builds with coverage instrumentation,
# starts the native infrastructure, runs every ctest label (unit, integration, e2e) and prints
# line coverage of the shared library and the services.
# Under CI (CI=true) the infrastructure started here is stopped at the end; locally it is left
# running for the next run (scripts/infra.sh down stops it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

scripts/install-deps.sh

echo "== build (coverage preset)"
cmake --preset coverage >build-coverage.configure.log 2>&1 || { cat build-coverage.configure.log >&2; exit 1; }
rm -f build-coverage.configure.log
cmake --build --preset coverage -- -j2 >/dev/null 2>build-coverage.errors.log || {
  cmake --build --preset coverage -- -j1 2>&1 | tail -n 60 >&2
  exit 1
}
rm -f build-coverage.errors.log

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

exit $status
