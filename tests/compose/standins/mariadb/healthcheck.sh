#!/bin/bash
# The official mariadb image's health check command, the two tests the compose file asks for:
#   --connect              a TCP connection to the server succeeds (the first-run server has none)
#   --innodb_initialized   InnoDB has started
# as the healthcheck account the entry point created (credentials in the data directory).
set -euo pipefail
cnf=/var/lib/mysql/.my-healthcheck.cnf
[[ -r $cnf ]] || { echo "healthcheck: $cnf is missing (not initialised yet)" >&2; exit 1; }
query() { mariadb --defaults-extra-file="$cnf" --protocol=tcp -h 127.0.0.1 --skip-column-names -B -e "$1"; }
for arg in "$@"; do
  case $arg in
    --connect) query 'SELECT 1' >/dev/null ;;
    --innodb_initialized)
      [[ $(query "SELECT 1 FROM information_schema.ENGINES WHERE engine = 'InnoDB' AND support IN ('YES', 'DEFAULT')") == 1 ]] ;;
    *) echo "healthcheck: unsupported test $arg" >&2; exit 2 ;;
  esac
done
