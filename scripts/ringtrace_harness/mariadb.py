"""MariaDB (Debian's package) on 127.0.0.1:3306: database ringtrace, user and password
ringtrace; root has no password (unix socket .run/mariadb/mysqld.sock, or loopback).

Debian's own `mariadb` service (datadir /var/lib/mysql) is never touched: if anything holds our
port, up() fails naming it. Every MariaDB binary gets --no-defaults FIRST (else it reads
/etc/mysql and its /run/mysqld paths) and all paths explicitly. mariadbd runs as the invoking user
(--user=root when root). utf8mb4 (the compiled default is latin1) and a modest buffer pool (this
machine also runs Kafka and PostgreSQL); innodb_flush_log_at_trx_commit stays at its durable
default: benchmarks must measure what production would do.
"""

import hashlib
import os
import shutil
import socket
import subprocess

from . import system as s

NAME = "mariadb"
PORT = 3306
DB = USER = PASSWORD = "ringtrace"
RUN = os.path.join(s.RUN_DIR, "mariadb")
DATA = os.path.join(RUN, "data")
PIDFILE = os.path.join(RUN, "mariadbd.pid")
LOG = os.path.join(RUN, "err.log")
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60
BUFFER_POOL = os.environ.get("RINGTRACE_MARIADB_BUFFER_POOL") or "128M"
MARIADBD = "/usr/sbin/mariadbd"   # not on a non-root PATH


def _user_opt():
    return ["--user=root"] if s.is_root() else []


def socket_path():
    """Next to the data, unless that exceeds the 107-byte limit; then a private directory in /tmp."""
    if len(RUN) + 12 < 107:
        return os.path.join(RUN, "mysqld.sock")
    return f"/tmp/ringtrace-mariadb-{hashlib.sha256(RUN.encode()).hexdigest()[:12]}/mysqld.sock"


def _admin(*args, log=None):
    # mariadb-admin shutdown waits for the server to exit; the timeout bounds the whole call.
    argv = ["mariadb-admin", "--no-defaults", f"--socket={socket_path()}", "-uroot", "--connect-timeout=2", *args]
    if log:
        try:
            return s.run_logged(argv, log, timeout=20)
        except subprocess.TimeoutExpired:
            return False
    return s.quiet(argv, timeout=20)


def _ping():
    return _admin("ping")


def pid():
    """The PID of our server, or None."""
    p = s.read_pid(PIDFILE)
    return p if p and s.pid_alive(p) and s.pid_cmdline_has(p, "mariadbd", f"--datadir={DATA}") else None


def _client_ok():
    """The application user connects over TCP: the check clients actually depend on."""
    return s.quiet(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(PORT), "--connect-timeout=3",
                    "-u", USER, f"-p{PASSWORD}", DB, "-N", "-e", "SELECT 1"])


def _ensure_installed():
    if not os.access(MARIADBD, os.X_OK) or not shutil.which("mariadb-install-db"):
        s.ensure_apt_pkg(NAME, "mariadb-server")
    if not shutil.which("mariadb") or not shutil.which("mariadb-admin"):
        s.ensure_apt_pkg(NAME, "mariadb-client")
    if not os.access(MARIADBD, os.X_OK):
        raise s.Fatal(f"mariadb: {MARIADBD} still missing after installing mariadb-server")


def _wait_ready(p):
    s.wait_ready(NAME, p, READY_TIMEOUT_S, _ping, socket_path(), LOG, os.path.join(RUN, "mariadbd.out"))


def _bootstrap():
    """Databases and users (idempotent), as root over the unix socket; drops the root@<hostname>
    account mariadb-install-db creates (with --skip-name-resolve it only adds a warning a start)."""
    sql = []
    sql.append(f"CREATE DATABASE IF NOT EXISTS `{DB}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;")
    for host in ("127.0.0.1", "localhost", "%"):
        u = f"'{USER}'@'{host}'"
        sql += [f"CREATE USER IF NOT EXISTS {u} IDENTIFIED BY '{PASSWORD}';",
                f"GRANT ALL PRIVILEGES ON `{DB}`.* TO {u};"]
    sql.append(f"DROP USER IF EXISTS 'root'@'{socket.gethostname()}';")
    log = os.path.join(RUN, "bootstrap.log")
    with open(log, "a") as out:
        try:
            ok = subprocess.run(["mariadb", "--no-defaults", f"--socket={socket_path()}", "-uroot", "--connect-timeout=5"],
                                input="\n".join(sql) + "\n", text=True, stdout=out, stderr=subprocess.STDOUT,
                                timeout=30).returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
    if not ok:
        s.fail_with_log(NAME, f"creating database/users {DB} failed", log)


def up():
    """Starts the server (idempotent), waits until it answers, creates what tests need."""
    t0 = s.now()
    p = pid()
    if p:
        if _ping():
            _bootstrap()  # idempotent: a server started by an older checkout gets what is new
            s.info(f"mariadb: already running on 127.0.0.1:{PORT} (pid {p})")
        else:
            _wait_ready(p)
            _bootstrap()
            s.info(f"mariadb: running on 127.0.0.1:{PORT} (pid {p}; was still starting, ready after {s.elapsed(t0)})")
        return
    if os.path.exists(PIDFILE):
        s.info(f"mariadb: removed stale pid file (pid {s.read_pid(PIDFILE)} is gone or not our server)")
        os.remove(PIDFILE)
    if s.port_listening(PORT):
        holder = s.port_holder(PORT)
        if "mariadbd" in holder or "mysqld" in holder:
            raise s.Fatal(f"mariadb: port {PORT} is held by a MariaDB/MySQL server this script did not start ({holder}); "
                          "stop it first (Debian's service: service mariadb stop)")
        raise s.Fatal(f"mariadb: port {PORT} is held by a process this script did not start ({holder}); stop it first")
    _ensure_installed()
    os.makedirs(RUN, exist_ok=True)
    sock_dir = os.path.dirname(socket_path())
    if sock_dir != RUN:
        # A private per-checkout directory under /tmp: refuse one someone else created.
        if not os.path.isdir(sock_dir):
            os.mkdir(sock_dir, 0o700)
        if os.stat(sock_dir).st_uid != os.geteuid():
            raise s.Fatal(f"mariadb: socket directory {sock_dir} exists but is not ours")
    note = ""
    # Initialize once, into a temporary directory moved into place on success.
    if not os.path.isdir(os.path.join(DATA, "mysql")):
        tmp = os.path.join(RUN, "data.init")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(DATA, ignore_errors=True)
        install_log = os.path.join(RUN, "install-db.log")
        if not s.run_logged(["mariadb-install-db", "--no-defaults", *_user_opt(), f"--datadir={tmp}",
                             "--auth-root-authentication-method=normal", "--skip-test-db"], install_log):
            s.fail_with_log(NAME, "mariadb-install-db failed", install_log)
        os.rename(tmp, DATA)
        note = f"; initialized {DATA}"
    args = ["--no-defaults", *_user_opt(), f"--datadir={DATA}", f"--socket={socket_path()}", f"--port={PORT}",
            "--bind-address=127.0.0.1", f"--pid-file={PIDFILE}", f"--log-error={LOG}", "--skip-name-resolve",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
            f"--innodb-buffer-pool-size={BUFFER_POOL}"]
    # mariadbd writes the same PID to the same file itself, and removes it on a clean shutdown.
    p = s.spawn([MARIADBD, *args], os.path.join(RUN, "mariadbd.out"), PIDFILE)
    _wait_ready(p)
    _bootstrap()
    if not _client_ok():
        s.fail_with_log(NAME, f"server is up but '{USER}' cannot connect over 127.0.0.1:{PORT}", LOG)
    s.info(f"mariadb: started on 127.0.0.1:{PORT} (pid {p}) in {s.elapsed(t0)}{note}")


def down():
    """Stops our server (idempotent): through the server itself, signals to our PID as fallback."""
    t0 = s.now()
    p = pid()
    if not p:
        s.report_not_running(NAME, PIDFILE)
        return
    _admin("shutdown", log=os.path.join(RUN, "shutdown.log"))
    if s.waits(STOP_TIMEOUT_S, lambda: not s.pid_alive(p)):
        if os.path.exists(PIDFILE):
            os.remove(PIDFILE)
        s.info(f"mariadb: stopped (pid {p}) in {s.elapsed(t0)}")
        return
    s.err(f"mariadb: server (pid {p}) still running {STOP_TIMEOUT_S}s after 'mariadb-admin shutdown'")
    s.terminate(NAME, p, PIDFILE, 30)


def crash():
    """SIGKILL to the server."""
    p = pid()
    if not p:
        raise s.Fatal("mariadb: not running, nothing to crash")
    s.crash_pids(NAME, PORT, [p])


def pids():
    """The server's PID."""
    p = pid()
    if not p:
        raise s.Fatal("mariadb: not running")
    return [p]


def status():
    """One line."""
    p = pid()
    if p:
        if _ping():
            s.info(f"mariadb: running on 127.0.0.1:{PORT} (pid {p})")
        else:
            s.info(f"mariadb: starting or unhealthy, not answering on {socket_path()} (pid {p})")
    elif s.port_listening(PORT):
        s.info(f"mariadb: stopped (port {PORT} held by a process we did not start: {s.port_holder(PORT)})")
    else:
        s.info(f"mariadb: stopped (port {PORT})")
