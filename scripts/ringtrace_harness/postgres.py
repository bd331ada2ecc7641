"""PostgreSQL (Debian's package) on 127.0.0.1:5432: database ringtrace, user and
password ringtrace.

Debian's default cluster (15/main, port 5432) is created by the package and, where services may
start, started. If it runs and holds our port, up() stops it, only through the packaging's own
`pg_ctlcluster 15 main stop`, and says so; any other holder is named and left alone.
"""

import hashlib
import os
import pwd
import shutil
import subprocess

from . import system as s
from .pins import pin

NAME = "postgres"
MAJOR = pin("PG_MAJOR")
BIN = f"/usr/lib/postgresql/{MAJOR}/bin"
PORT = 5432
DB = USER = PASSWORD = "ringtrace"
READY_TIMEOUT_S = 60


def _paths():
    """(run dir, data dir, log). The postgres OS user must reach the data: a checkout under a
    private directory (e.g. /root, 0700) keeps its cluster under postgres's home, named after the
    checkout, with .run/postgres a symlink to it."""
    run = os.path.join(s.RUN_DIR, "postgres")
    if s.is_root() and _pg_user() and not s.quiet(["runuser", "-u", "postgres", "--", "test", "-x", s.REPO]):
        home = _pg_user().pw_dir or "/var/lib/postgresql"
        run = os.path.join(home, "ringtrace-" + hashlib.sha256(s.REPO.encode()).hexdigest()[:12])
        os.makedirs(run, exist_ok=True)
        os.makedirs(s.RUN_DIR, exist_ok=True)
        link = os.path.join(s.RUN_DIR, "postgres")
        if os.path.islink(link) or not os.path.exists(link):
            if os.path.islink(link):
                os.remove(link)
            os.symlink(run, link)
    return run, os.path.join(run, "data"), os.path.join(run, "postgres.log")


def _pg_user():
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


def _socket_dir(run):
    """Next to the data, unless that exceeds the 107-byte socket path limit."""
    if len(run) + 20 < 107:
        return run
    return "/tmp/ringtrace-pg-" + hashlib.sha256(run.encode()).hexdigest()[:12]


def _as_pg(argv):
    """initdb, pg_ctl and postgres refuse root: as root they run as the postgres OS user."""
    return ["runuser", "-u", "postgres", "--", *argv] if s.is_root() else argv


def _pid(data):
    p = s.read_pid(os.path.join(data, "postmaster.pid"))
    return p if p and s.pid_alive(p) and s.pid_cmdline_has(p, "postgres", data) else None


def _ready():
    return s.quiet([f"{BIN}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(PORT), "-d", "postgres", "-t", "2"])


def _ensure_installed():
    if not all(os.access(f"{BIN}/{b}", os.X_OK) for b in ("pg_ctl", "initdb", "psql", "pg_isready")):
        s.ensure_apt_pkg(NAME, "postgresql")
        if not os.access(f"{BIN}/pg_ctl", os.X_OK):
            raise s.Fatal(f"postgres: {BIN}/pg_ctl still missing after installing postgresql (not PostgreSQL {MAJOR}?)")
    if s.is_root() and not _pg_user():
        raise s.Fatal("postgres: OS user 'postgres' missing (the postgresql package creates it)")


def _free_port_from_debian_cluster(run):
    if not s.port_listening(PORT):
        return
    if shutil.which("pg_lsclusters"):
        out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 4 and f[2] == str(PORT) and f[3].startswith("online"):
                log = os.path.join(run, "debian-cluster.log")
                if not s.run_logged(["pg_ctlcluster", f[0], f[1], "stop"], log):
                    s.fail_with_log(NAME, f"pg_ctlcluster {f[0]} {f[1]} stop failed", log)
                s.info(f"postgres: stopped Debian's default cluster {f[0]}/{f[1]}, which held port {PORT} "
                       f"(start it again with: pg_ctlcluster {f[0]} {f[1]} start)")
    if s.port_listening(PORT):
        raise s.Fatal(f"postgres: port {PORT} is held by a server this script did not start ({s.port_holder(PORT)}). "
                      f"Stop it first (for a Debian cluster: pg_ctlcluster {MAJOR} main stop).")


_BOOTSTRAP = f"""
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', '{USER}', '{PASSWORD}')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{USER}')\\gexec
SELECT format('CREATE DATABASE %I OWNER %I', '{DB}', '{USER}')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DB}')\\gexec
"""


def _bootstrap(run):
    """Role and databases (idempotent), as the superuser over the unix socket."""
    log = os.path.join(run, "bootstrap.log")
    with open(log, "a") as out:
        ok = subprocess.run(_as_pg([f"{BIN}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", _socket_dir(run),
                                    "-p", str(PORT), "-U", "postgres", "-d", "postgres"]),
                            input=_BOOTSTRAP, text=True, stdout=out, stderr=subprocess.STDOUT).returncode == 0
    if not ok:
        s.fail_with_log(NAME, f"creating role/database {DB} failed", log)


def up():
    """Starts the server (idempotent), waits until it accepts connections, creates what tests need."""
    t0 = s.now()
    _ensure_installed()
    run, data, log = _paths()
    p = _pid(data)
    if p:
        if _ready():
            _bootstrap(run)  # idempotent: a server started by an older checkout gets what is new
            s.info(f"postgres: already running on 127.0.0.1:{PORT} (pid {p})")
            return
        if not s.waits(READY_TIMEOUT_S, _ready):
            s.fail_with_log(NAME, f"server (pid {p}) not ready on 127.0.0.1:{PORT} after {READY_TIMEOUT_S}s", log)
        _bootstrap(run)
        s.info(f"postgres: running on 127.0.0.1:{PORT} (pid {p}; was still starting)")
        return
    stale = os.path.join(data, "postmaster.pid")
    if os.path.exists(stale):
        # Left by a crash; PostgreSQL may refuse to start if its PID got recycled.
        s.info(f"postgres: removed stale postmaster.pid (pid {s.read_pid(stale)} is gone or not our server)")
        os.remove(stale)
    os.makedirs(run, exist_ok=True)
    _free_port_from_debian_cluster(run)
    sock = _socket_dir(run)
    os.makedirs(sock, exist_ok=True)
    # A crash also leaves the socket's lock file, which names the dead postmaster.
    sock_lock = os.path.join(sock, f".s.PGSQL.{PORT}.lock")
    if os.path.isfile(sock_lock) and not s.pid_alive(s.read_pid(sock_lock) or 0):
        for path in (sock_lock, os.path.join(sock, f".s.PGSQL.{PORT}")):
            if os.path.exists(path):
                os.remove(path)
        s.info(f"postgres: removed the stale socket lock {sock_lock}")
    if s.is_root():
        for path in (run, sock):
            shutil.chown(path, "postgres", "postgres")
        if not s.quiet(["runuser", "-u", "postgres", "--", "test", "-w", run]):
            raise s.Fatal(f"postgres: the postgres OS user cannot reach {run} (a parent directory is not world-searchable, "
                          "e.g. a checkout under /root); move the checkout or chmod o+x its parents")
    note = ""
    if not os.path.isfile(os.path.join(data, "PG_VERSION")):
        shutil.rmtree(data, ignore_errors=True)
        initdb_log = os.path.join(run, "initdb.log")
        if not s.run_logged(_as_pg([f"{BIN}/initdb", "-D", data, "-U", "postgres", "--auth-local=trust",
                                    "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]),
                            initdb_log):
            s.fail_with_log(NAME, "initdb failed", initdb_log)
        note = f"; initialized {data}"
    pg_ctl_log = os.path.join(run, "pg_ctl.log")
    if not s.run_logged(_as_pg([f"{BIN}/pg_ctl", "-D", data, "-l", log, "-w", "-t", str(READY_TIMEOUT_S), "-s", "-o",
                                f"-p {PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{sock}'",
                                "start"]), pg_ctl_log):
        s.fail_with_log(NAME, "pg_ctl start failed", log, pg_ctl_log)
    if not s.waits(READY_TIMEOUT_S, _ready):
        s.fail_with_log(NAME, f"not ready on 127.0.0.1:{PORT} after {READY_TIMEOUT_S}s", log)
    p = _pid(data)
    if not p:
        s.fail_with_log(NAME, "server started but postmaster.pid names no live server", log)
    _bootstrap(run)
    s.info(f"postgres: started on 127.0.0.1:{PORT} (pid {p}) in {s.elapsed(t0)}{note}")


def down():
    """Stops our server (idempotent): fast shutdown, immediate when that takes over 60 s."""
    run, data, log = _paths()
    t0 = s.now()
    p = _pid(data)
    if not p:
        s.report_not_running(NAME, os.path.join(data, "postmaster.pid"))
        return
    pg_ctl_log = os.path.join(run, "pg_ctl.log")
    if not s.run_logged(_as_pg([f"{BIN}/pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "60", "-s", "stop"]), pg_ctl_log):
        s.err(f"postgres: fast shutdown (pid {p}) did not finish in 60s; using immediate shutdown")
        if not s.run_logged(_as_pg([f"{BIN}/pg_ctl", "-D", data, "-m", "immediate", "-w", "-t", "30", "-s", "stop"]),
                            pg_ctl_log):
            s.fail_with_log(NAME, "pg_ctl stop failed", pg_ctl_log, log)
    s.info(f"postgres: stopped (pid {p}) in {s.elapsed(t0)}")


def pids():
    """The postmaster and its children (the backends)."""
    _, data, _ = _paths()
    p = _pid(data)
    if not p:
        raise s.Fatal("postgres: not running")
    return [p, *s.child_pids(p)]


def crash():
    """SIGKILL to the postmaster and every backend at the same instant: orphans holding the shared
    memory would keep the next postmaster from starting, which no real crash leaves behind."""
    _, data, _ = _paths()
    if not _pid(data):
        raise s.Fatal("postgres: not running, nothing to crash")
    s.crash_pids(NAME, PORT, pids())


def status():
    """One line."""
    _, data, _ = _paths()
    p = _pid(data)
    if p:
        if _ready():
            s.info(f"postgres: running on 127.0.0.1:{PORT} (pid {p})")
        else:
            s.info(f"postgres: starting or unhealthy, not accepting connections on 127.0.0.1:{PORT} (pid {p})")
    elif s.port_listening(PORT):
        s.info(f"postgres: stopped (port {PORT} held by a process we did not start: {s.port_holder(PORT)})")
    else:
        s.info(f"postgres: stopped (port {PORT})")
