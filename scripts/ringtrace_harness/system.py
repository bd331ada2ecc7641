"""What every server module shares: messages, paths, apt-get, logs, locks, and processes and ports
handled by PID (never by name)."""

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time

from .wait import Abort, WaitTimeout, wait_until, waits

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INFRA_DIR = os.path.join(REPO, "scripts", "infra")
RUN_DIR = os.path.join(REPO, ".run")
CACHE_DIR = os.environ.get("RINGTRACE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "ringtrace")


class Fatal(Exception):
    """A failure already worded for the user; the command line prints it and exits 1."""


# Informational lines go to stdout, except for commands whose stdout is data (kafka-classpath,
# jaeger-binary): they call info_to_stderr().
_info_stream = [sys.stdout]


def info_to_stderr():
    """Sends informational lines to stderr from now on (stdout carries data)."""
    _info_stream[0] = sys.stderr


def info(text):
    """One informational line."""
    print(text, file=_info_stream[0], flush=True)


def err(text):
    """One line to stderr."""
    print(text, file=sys.stderr, flush=True)


def now():
    """A monotonic clock reading, for elapsed()."""
    return time.monotonic()


def elapsed(t0):
    """The time since t0 as "N.Ns"."""
    d = int((time.monotonic() - t0) * 1000)
    return f"{d // 1000}.{d % 1000 // 100}s"


def is_root():
    """Root may install packages and must run the databases as their own users."""
    return os.geteuid() == 0


def fail_with_log(name, message, *logs):
    """Raises Fatal with MESSAGE and the last 30 lines of the first non-empty log."""
    lines = [f"{name}: {message}"]
    for path in logs:
        if os.path.isfile(path) and os.path.getsize(path) > 0:
            with open(path, errors="replace") as f:
                tail = f.read().splitlines()[-30:]
            lines += [f"---- last 30 lines of {path} ----", *tail, "----"]
            break
    raise Fatal("\n".join(lines))


def run_logged(argv, log, **kw):
    """Runs argv with stdout and stderr appended to LOG; True when it exits 0."""
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "a") as out:
        return subprocess.run(argv, stdin=kw.pop("stdin", subprocess.DEVNULL), stdout=out,
                              stderr=subprocess.STDOUT, **kw).returncode == 0


def quiet(argv, timeout=30, **kw):
    """Runs argv silently; True when it exits 0 in time."""
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout, **kw).returncode == 0
    except (subprocess.TimeoutExpired, OSError):
        return False


_apt_updated = [False]


def ensure_apt_pkg(name, package):
    """apt-get install PACKAGE (log in .run/apt.log), or says how when not root."""
    if not is_root():
        raise Fatal(f"{name}: package '{package}' is missing; install it: sudo apt-get install -y {package}")
    log = os.path.join(RUN_DIR, "apt.log")
    if not _apt_updated[0]:
        if not run_logged(["apt-get", "update"], log):
            fail_with_log(name, "apt-get update failed", log)
        _apt_updated[0] = True
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # Another apt-get (a second checkout's infra.sh) may hold dpkg's lock: wait for it.
    if not run_logged(["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends", package],
                      log, env=env):
        fail_with_log(name, f"apt-get install {package} failed", log)
    info(f"{name}: installed Debian package {package}")


def ensure_command(name, command, package):
    """Installs PACKAGE when COMMAND is not on PATH."""
    if shutil.which(command) is None:
        ensure_apt_pkg(name, package)


class FileLock:
    """An exclusive flock on PATH, waited for up to timeout_s; the servers never inherit it
    (every server is started with close_fds)."""

    def __init__(self, path, timeout_s, what):
        self.path, self.timeout_s, self.what = path, timeout_s, what
        self.fd = None

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)

        def taken():
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
        if not waits(self.timeout_s, taken, 0.2):
            os.close(self.fd)
            raise Fatal(f"{self.what}: could not lock {self.path}")
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


# ------------------------------------------------------------------------------ processes

def pid_alive(pid):
    """A live, non-zombie process."""
    try:
        with open(f"/proc/{int(pid)}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, ValueError, IndexError):
        return False


def pid_cmdline_has(pid, *needles):
    """The process's command line holds every needle (a recycled PID belongs to someone else)."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return False
    return all(n in cmd for n in needles)


def read_pid(path):
    """The PID on the first line of PATH, or None."""
    try:
        with open(path) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return None


def child_pids(pid):
    """The direct children of PID."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def spawn(argv, log, pidfile, env=None, cwd=None, as_user=None):
    """Starts a server in its own session (signals to the caller's process group do not reach it),
    output to LOG, no inherited descriptors; writes its PID to PIDFILE and returns it."""
    if os.path.exists(pidfile):
        os.remove(pidfile)
    if as_user:
        argv = ["runuser", "-u", as_user, "--", *argv]
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, env=env, cwd=cwd)
    with open(pidfile, "w") as f:
        f.write(f"{proc.pid}\n")
    return proc.pid


def wait_ready(name, pid, timeout_s, probe, where, *logs):
    """Polls probe() until the server answers; fails with the tail of the first log when process
    PID dies first or the deadline passes."""
    def step():
        if not pid_alive(pid):
            raise Abort()
        return probe()
    try:
        wait_until(name, timeout_s, step)
    except Abort:
        fail_with_log(name, f"server (pid {pid}) exited during startup", *logs)
    except WaitTimeout:
        fail_with_log(name, f"server (pid {pid}) not ready on {where} after {timeout_s}s (still running; "
                      f"'scripts/infra.sh down {name}' stops it)", *logs)


def _gone(pid):
    return lambda: not pid_alive(pid)


def terminate(name, pid, pidfile, timeout_s):
    """SIGTERM to our recorded PID, SIGKILL when it outlives timeout_s; removes PIDFILE after."""
    t0 = now()
    _signal(pid, signal.SIGTERM)
    if waits(timeout_s, _gone(pid)):
        _remove(pidfile)
        info(f"{name}: stopped (pid {pid}) in {elapsed(t0)}")
        return
    err(f"{name}: pid {pid} still running {timeout_s}s after SIGTERM; sending SIGKILL")
    _signal(pid, signal.SIGKILL)
    if not waits(10, _gone(pid)):
        raise Fatal(f"{name}: pid {pid} survived SIGKILL")
    _remove(pidfile)
    info(f"{name}: killed (pid {pid})")


def crash_pids(name, port, pids):
    """SIGKILL to every PID at once, as a host crash would; returns once all are gone and PORT is
    free (a killed multi-threaded process lingers as a zombie while its threads are torn down)."""
    t0 = now()
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    for pid in pids:
        if not waits(10, _gone(pid)):
            raise Fatal(f"{name}: pid {pid} survived SIGKILL")
    if not waits(20, lambda: not port_listening(port)):
        raise Fatal(f"{name}: port {port} still held 20 s after SIGKILL ({port_holder(port)})")
    info(f"{name}: crashed (SIGKILL to pid {' '.join(map(str, pids))}) in {elapsed(t0)}")


def report_not_running(name, pidfile):
    """Says NAME is down, removing a pid file left by a crash."""
    if os.path.exists(pidfile):
        _remove(pidfile)
        info(f"{name}: not running (removed stale pid file)")
    else:
        info(f"{name}: not running")


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


# ------------------------------------------------------------------------------ ports

def port_listening(port):
    """Something listens on TCP PORT, on any address (from /proc/net/tcp{,6})."""
    want = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[1].endswith(want) and fields[3] == "0A":
                        return True
        except OSError:
            pass
    return False


def port_holder(port):
    """Who listens on PORT, for messages ("pid N: its command line")."""
    try:
        line = subprocess.run(["ss", "-Htlnp", f"( sport = :{port} )"], capture_output=True, text=True,
                              timeout=5).stdout.strip().splitlines()
    except (OSError, subprocess.TimeoutExpired):
        line = []
    first = line[0] if line else ""
    if "pid=" in first:
        pid = first.split("pid=", 1)[1].split(",", 1)[0].split(")", 1)[0]
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:160]
        except OSError:
            args = ""
        return f"pid {pid}: {args}"
    return f"unknown process ({first or 'no details'})"


def require_free(name, ports):
    """Fails naming the holder when a process we did not start holds one of PORTS."""
    for port in ports:
        if port_listening(port):
            raise Fatal(f"{name}: port {port} is held by a process this script did not start "
                        f"({port_holder(port)}); stop it first")
