"""The database MS1 writes, inspected through its own command-line client (psql or mariadb): row
counts, repeated ids, a session's row. Used by the e2e, fault, schemathesis and bench tests, from
Python or, for bash, as `python3 -m ringtrace_harness.db --driver D [--database NAME] SQL` (prints
tab-separated rows).

Connection settings follow the services' own variables: RINGTRACE__DATABASE__HOST, _PORT, _NAME,
_USER and _PASSWORD, defaulting to what scripts/infra.sh sets up.
"""

import argparse
import os
import subprocess
import sys


class DatabaseError(Exception):
    """The client failed; the message holds the statement and the client's error."""


class Database:
    """One database of one driver (postgresql or mariadb)."""

    def __init__(self, driver, name=None, env=None):
        env = os.environ if env is None else env
        self.driver = driver
        self.host = env.get("RINGTRACE__DATABASE__HOST", "127.0.0.1")
        self.port = env.get("RINGTRACE__DATABASE__PORT", "5432" if driver == "postgresql" else "3306")
        self.name = name or env.get("RINGTRACE__DATABASE__NAME", "ringtrace")
        self.user = env.get("RINGTRACE__DATABASE__USER", "ringtrace")
        self.password = env.get("RINGTRACE__DATABASE__PASSWORD", "ringtrace")

    def rows(self, sql):
        """The result as lists of strings (NULL as None)."""
        if self.driver == "postgresql":
            cmd = ["psql", "-h", self.host, "-p", self.port, "-U", self.user, "-d", self.name,
                   "-XAtq", "-F", "\t", "-P", "null=\\N", "-v", "ON_ERROR_STOP=1", "-c", sql]
            env = dict(os.environ, PGPASSWORD=self.password)
        else:
            cmd = ["mariadb", "--no-defaults", "-h", self.host, "-P", self.port, "-u", self.user,
                   f"-p{self.password}", "-D", self.name, "-N", "-B", "-e", sql]
            env = os.environ
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise DatabaseError(f"{self.driver}: {sql}: {out.stderr.strip()}")
        null = "\\N" if self.driver == "postgresql" else "NULL"
        return [[None if v == null else v for v in line.split("\t")] for line in out.stdout.splitlines() if line]

    def scalar(self, sql):
        """The first column of the first row, or None."""
        got = self.rows(sql)
        return got[0][0] if got else None

    def quote(self, identifier):
        """An identifier quoted for this dialect (the MC names are mixed-case)."""
        return f"`{identifier}`" if self.driver == "mariadb" else f'"{identifier}"'

    def micros(self, expr):
        """The microsecond part of a timestamp expression."""
        return f"MICROSECOND({expr})" if self.driver == "mariadb" else f"extract(microseconds FROM {expr})::bigint"

    def ms_between(self, a, b):
        """Milliseconds from timestamp a to timestamp b."""
        if self.driver == "mariadb":
            return f"TIMESTAMPDIFF(MICROSECOND, {a}, {b}) / 1000.0"
        return f"EXTRACT(EPOCH FROM ({b} - {a})) * 1000"

    def count(self, session_id):
        """Rows stored for the session."""
        return int(self.scalar(f"SELECT count(*) FROM messages WHERE session_id = {int(session_id)}"))

    def ids(self, session_id):
        """Every stored id of the session, repeats included (the primary key should forbid them)."""
        return [int(r[0]) for r in self.rows(f"SELECT id FROM messages WHERE session_id = {int(session_id)}")]

    def duplicates(self, session_id):
        """How many stored rows repeat an id already stored for the session."""
        found = self.ids(session_id)
        return len(found) - len(set(found))

    def longest_gap_ms(self, session_id):
        """The longest time between two messages of the session reaching MS1 one after the other
        (by their end stamps): how long the ring stood still."""
        gap = self.ms_between("p", "t")
        return float(self.scalar(
            f"SELECT COALESCE(MAX({gap}), 0) FROM (SELECT end_timestamp AS t, LAG(end_timestamp) OVER "
            f"(ORDER BY end_timestamp) AS p FROM messages WHERE session_id = {int(session_id)}) g WHERE p IS NOT NULL"))

    def session(self, session_id):
        """The sessions row as a dict of strings (None for NULL), or None when absent."""
        got = self.rows(f"SELECT sent, stored, lost, resent, reason FROM sessions WHERE session_id = {int(session_id)}")
        return dict(zip(["sent", "stored", "lost", "resent", "reason"], got[0])) if got else None

    def clear_unowned_rows(self):
        """Deletes rows of sessions that do not exist yet: only tests that post made-up ids write
        those, and the next session would inherit them."""
        self.rows("DELETE FROM messages WHERE session_id > (SELECT COALESCE(MAX(session_id), 0) FROM sessions)")


def main(argv):
    """Prints the rows of one statement, tab-separated (NULL as NULL), for bash callers."""
    parser = argparse.ArgumentParser(prog="ringtrace_harness.db", description="one SQL statement against MS1's database")
    parser.add_argument("--driver", choices=["postgresql", "mariadb"], required=True)
    parser.add_argument("--database", help="database name (default RINGTRACE__DATABASE__NAME or ringtrace)")
    parser.add_argument("sql")
    args = parser.parse_args(argv)
    try:
        for row in Database(args.driver, args.database).rows(args.sql):
            print("\t".join("NULL" if v is None else v for v in row))
    except DatabaseError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
