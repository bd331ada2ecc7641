#!/usr/bin/env bash
# Runs shellcheck over every bash script of the repository (every tracked or new *.sh file and
# scripts/versions.env), following what each sources. Installs Debian's shellcheck if it is
# missing (as root). Exit 0 when every file is clean.
#
#   scripts/shellcheck.sh
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

if ! command -v shellcheck >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "shellcheck: missing; install it: sudo apt-get install -y shellcheck" >&2; exit 1; }
  mkdir -p .run
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends shellcheck; } \
    >>.run/apt.log 2>&1 || { echo "shellcheck: apt-get install shellcheck failed (log: .run/apt.log)" >&2; exit 1; }
fi

mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.sh' | sort -u)
files+=(scripts/versions.env)
shellcheck --shell=bash --external-sources --source-path=SCRIPTDIR "${files[@]}"
echo "shellcheck: ${#files[@]} files clean"
