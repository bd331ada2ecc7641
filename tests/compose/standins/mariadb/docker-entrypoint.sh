#!/bin/bash
# Entry point of the mariadb stand-in: on the first start (an empty data directory) creates the
# system tables, a random root password, MARIADB_DATABASE and MARIADB_USER, and the local account
# healthcheck.sh uses, all through a temporary server that listens on no TCP port (so no health
# check passes before this is done); then runs the server in the foreground.
set -euo pipefail

datadir=/var/lib/mysql
chown mysql:mysql "$datadir" /run/mysqld

if [[ ! -d $datadir/mysql ]]; then
  : "${MARIADB_USER:?MARIADB_USER must be set}" "${MARIADB_PASSWORD:?MARIADB_PASSWORD must be set}"
  [[ ${MARIADB_RANDOM_ROOT_PASSWORD:-} =~ ^(1|yes|true)$ ]] ||
    { echo "mariadb: this stand-in supports only MARIADB_RANDOM_ROOT_PASSWORD=1" >&2; exit 1; }
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
    --auth-root-authentication-method=normal >/dev/null
  mariadbd --skip-networking --socket=/run/mysqld/init.sock &
  pid=$!
  for _ in $(seq 300); do
    mariadb-admin --socket=/run/mysqld/init.sock -uroot ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  root_password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  health_password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  mariadb --socket=/run/mysqld/init.sock -uroot <<SQL
CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE:-}\`;
CREATE USER '${MARIADB_USER}'@'%' IDENTIFIED BY '${MARIADB_PASSWORD}';
GRANT ALL ON \`${MARIADB_DATABASE:-}\`.* TO '${MARIADB_USER}'@'%';
CREATE USER 'healthcheck'@'127.0.0.1' IDENTIFIED BY '${health_password}';
CREATE USER 'healthcheck'@'localhost' IDENTIFIED BY '${health_password}';
ALTER USER 'root'@'localhost' IDENTIFIED BY '${root_password}';
FLUSH PRIVILEGES;
SQL
  printf '[mariadb-client]\nport=3306\nsocket=/run/mysqld/mysqld.sock\nuser=healthcheck\npassword=%s\n' \
    "$health_password" >"$datadir/.my-healthcheck.cnf"
  chown mysql:mysql "$datadir/.my-healthcheck.cnf"
  chmod 0600 "$datadir/.my-healthcheck.cnf"
  echo "mariadb: GENERATED ROOT PASSWORD: $root_password"
  kill -TERM "$pid"
  wait "$pid"
  echo "mariadb: initialised $datadir (user $MARIADB_USER, database ${MARIADB_DATABASE:-})"
fi

exec "$@"
