"""The API gateway: Debian's nginx (package nginx-light, installed here once) in front of MS1,
configured by gateway/ringtrace.conf.template (the file the compose gateway uses too). It serves the
dashboard's files from gateway/web/ of this checkout and relays GET /traces/{id} to Jaeger's query
API at ${RINGTRACE_GATEWAY_JAEGER:-127.0.0.1:16686} (the native Jaeger has no UI, so no UI link
unless RINGTRACE_GATEWAY_JAEGER_UI names one).

As an infra.sh component (`scripts/infra.sh up gateway`): 127.0.0.1:${RINGTRACE_GATEWAY_PORT:-8088}
→ MS1 at ${RINGTRACE_GATEWAY_UPSTREAM:-127.0.0.1:8080}, state under .run/gateway/ (the rendered
configuration, nginx.conf, error.log, access.log; .run/gateway-PORT/ for a port other than 8088,
so a second one can run beside it). It needs no MS1 to start (MS1's routes answer
502 until MS1 is up), but is of no use without one, so a bare `infra.sh up` leaves it out;
`down` and `status` include it.

From Python, Gateway(port, upstream, workdir) runs an instance of its own, e.g. the e2e's in front
of its MS1 on its own ports, beside a user's gateway.

Installing the package must not start Debian's own nginx on port 80: while apt-get runs, a
/usr/sbin/policy-rc.d that refuses every service start is put in place (and removed after) unless
the machine has one already. nginx runs in the foreground (daemon off) so the PID system.spawn
records is the master's; its worker runs as nobody and needs no writable directory.
"""

import contextlib
import os
import re
import subprocess
import urllib.error
import urllib.request

from . import system as s

NAME = "gateway"
PACKAGE = "nginx-light"
NGINX = "/usr/sbin/nginx"
TEMPLATE = os.path.join(s.REPO, "gateway", "ringtrace.conf.template")
WEB = os.path.join(s.REPO, "gateway", "web")
VARIABLES = ("RINGTRACE_GATEWAY_LISTEN", "RINGTRACE_GATEWAY_UPSTREAM", "RINGTRACE_GATEWAY_ACCESS_LOG",
             "RINGTRACE_GATEWAY_JAEGER", "RINGTRACE_GATEWAY_JAEGER_UI", "RINGTRACE_GATEWAY_WEB")
RUN = os.path.join(s.RUN_DIR, "gateway")
POLICY_RC = "/usr/sbin/policy-rc.d"
READY_TIMEOUT_S = 20
STOP_TIMEOUT_S = 15


def default_port():
    """The port `infra.sh up gateway` listens on."""
    return int(os.environ.get("RINGTRACE_GATEWAY_PORT") or 8088)


def default_dir(port):
    """The state directory of the gateway on PORT (infra.sh's and run.sh's)."""
    return RUN if int(port) == 8088 else f"{RUN}-{int(port)}"


def default_upstream():
    """MS1's address for `infra.sh up gateway`."""
    return os.environ.get("RINGTRACE_GATEWAY_UPSTREAM") or "127.0.0.1:8080"


def default_jaeger():
    """Jaeger's query API (host:port) the gateway relays GET /traces/{id} to."""
    return os.environ.get("RINGTRACE_GATEWAY_JAEGER") or "127.0.0.1:16686"


def default_jaeger_ui():
    """The Jaeger UI the page links traces to: none natively (the native Jaeger has no UI)."""
    return os.environ.get("RINGTRACE_GATEWAY_JAEGER_UI") or ""


def render(text, values):
    """envsubst restricted to VARIABLES: ${NAME} and $NAME of those only; nginx's own $vars stay."""
    names = "|".join(VARIABLES)
    return re.sub(rf"\$\{{({names})\}}|\$({names})(?![A-Za-z0-9_])",
                  lambda m: values[m.group(1) or m.group(2)], text)


@contextlib.contextmanager
def _no_service_starts():
    """Debian's packages start their service on install; nothing may start nginx on port 80."""
    if os.path.lexists(POLICY_RC):
        yield  # the machine's own policy decides (Docker images ship one that refuses)
        return
    with open(POLICY_RC, "w") as f:
        f.write("#!/bin/sh\n# Put here by ringtrace's gateway while it installs nginx; removed after.\nexit 101\n")
    os.chmod(POLICY_RC, 0o755)
    try:
        yield
    finally:
        os.remove(POLICY_RC)


def ensure_installed():
    """Installs nginx-light once, quietly, without starting Debian's nginx."""
    if os.access(NGINX, os.X_OK):
        return
    if s.is_root():
        with _no_service_starts():
            s.ensure_apt_pkg(NAME, PACKAGE)
    else:
        s.ensure_apt_pkg(NAME, PACKAGE)  # says how to install it
    if not os.access(NGINX, os.X_OK):
        raise s.Fatal(f"gateway: {NGINX} still missing after installing {PACKAGE}")


_MAIN = """# Written by ringtrace's harness (scripts/ringtrace_harness/gateway.py) on every start; edit
# gateway/ringtrace.conf.template instead.
daemon off;                 # the harness tracks the master by the PID it started
worker_processes 1;         # loopback traffic of one user
pid {pidfile};
error_log {error_log} notice;
{user}
events {{
    worker_connections 256;
}}

http {{
    default_type application/octet-stream;
    # Under .run: a bare nginx would use /var/lib/nginx. The worker never writes there (bodies
    # and answers stay in memory, see the template).
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
{more_temp}
    include {site};
}}
"""


class Gateway:
    """One nginx in front of one MS1 (and one Jaeger for the traces), on its own port and in its
    own directory, serving the dashboard's files from `web`."""

    def __init__(self, port, upstream="127.0.0.1:8080", workdir=RUN, access_log=None, jaeger=None, jaeger_ui=None,
                 web=WEB):
        self.port, self.upstream = int(port), upstream
        self.jaeger = jaeger or default_jaeger()
        self.jaeger_ui = default_jaeger_ui() if jaeger_ui is None else jaeger_ui
        self.web = os.path.abspath(web)
        self.dir = os.path.abspath(workdir)
        self.conf = os.path.join(self.dir, "nginx.conf")
        self.site = os.path.join(self.dir, "ringtrace.conf")
        self.pidfile = os.path.join(self.dir, "nginx.pid")
        self.log = os.path.join(self.dir, "nginx.log")          # nginx's stdout and stderr
        self.error_log = os.path.join(self.dir, "error.log")
        self.access_log = access_log or os.path.join(self.dir, "access.log")
        self.url = f"http://127.0.0.1:{self.port}"

    def where(self):
        """For messages: what listens where and forwards to what."""
        return f"{self.url} -> MS1 {self.upstream}, Jaeger {self.jaeger}"

    def site_text(self):
        """The template rendered for this instance."""
        with open(TEMPLATE) as f:
            return render(f.read(), {"RINGTRACE_GATEWAY_LISTEN": f"127.0.0.1:{self.port}",
                                     "RINGTRACE_GATEWAY_UPSTREAM": self.upstream,
                                     "RINGTRACE_GATEWAY_ACCESS_LOG": self.access_log,
                                     "RINGTRACE_GATEWAY_JAEGER": self.jaeger,
                                     "RINGTRACE_GATEWAY_JAEGER_UI": self.jaeger_ui,
                                     "RINGTRACE_GATEWAY_WEB": self.web})

    def write_config(self):
        """Renders the template and the main nginx.conf into the directory."""
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        with open(self.site, "w") as f:
            f.write(self.site_text())
        # nginx-light has no FastCGI, uwsgi or SCGI modules; a full nginx would create their
        # default temp directories under /var/lib/nginx without these.
        more = "".join(f"    {m}_temp_path {self.dir}/tmp/{m};\n" for m in ("fastcgi", "uwsgi", "scgi")
                       if f"--without-http_{m}_module" not in _configure_args())
        with open(self.conf, "w") as f:
            f.write(_MAIN.format(pidfile=self.pidfile, error_log=self.error_log, site=self.site,
                                 tmp=os.path.join(self.dir, "tmp"), more_temp=more.rstrip("\n"),
                                 user="user nobody nogroup;  # the worker drops root" if s.is_root() else ""))

    def _argv(self, *extra):
        return [NGINX, "-p", self.dir + "/", "-c", self.conf, "-e", self.error_log, *extra]

    def pid(self):
        """The PID of this instance's master, or None."""
        p = s.read_pid(self.pidfile)
        return p if p and s.pid_alive(p) and s.pid_cmdline_has(p, "nginx", self.conf) else None

    def probe(self):
        """Ready: an unrouted path gets the gateway's own JSON 404 with a request id."""
        try:
            with urllib.request.urlopen(f"{self.url}/.gateway-probe", timeout=2):
                return False
        except urllib.error.HTTPError as e:
            return e.code == 404 and bool(e.headers.get("X-Request-Id")) and b'"not found"' in e.read()
        except (urllib.error.URLError, OSError):
            return False

    def start(self):
        """Starts this instance (idempotent) and waits until it answers."""
        t0 = s.now()
        p = self.pid()
        if p:
            try:
                with open(self.site) as f:
                    same = f.read() == self.site_text()
            except OSError:
                same = False
            if not same:
                raise s.Fatal(f"gateway: already running (pid {p}) with another configuration than {self.where()} "
                              f"(a changed template, port, upstream or Jaeger; see {self.site}); stop it first")
            s.wait_ready(NAME, p, READY_TIMEOUT_S, self.probe, self.url, self.error_log, self.log)
            s.info(f"gateway: already running ({self.where()}; pid {p})")
            return p
        if os.path.exists(self.pidfile):
            s.info(f"gateway: removed stale pid file (pid {s.read_pid(self.pidfile)} is gone or not our nginx)")
            os.remove(self.pidfile)
        ensure_installed()
        s.require_free(NAME, [self.port])
        self.write_config()
        check_log = os.path.join(self.dir, "config-test.log")
        if os.path.exists(check_log):
            os.remove(check_log)
        if not s.run_logged(self._argv("-t", "-q"), check_log):
            s.fail_with_log(NAME, f"nginx refused the configuration {self.site}", check_log)
        p = s.spawn(self._argv(), self.log, self.pidfile)
        try:
            s.wait_ready(NAME, p, READY_TIMEOUT_S, self.probe, self.url, self.error_log, self.log)
        except s.Fatal:
            if self.pid():
                s.terminate(NAME, p, self.pidfile, STOP_TIMEOUT_S)  # a gateway that does not answer is of no use
            raise
        s.info(f"gateway: started ({self.where()}; pid {p}; access log {self.access_log}) in {s.elapsed(t0)}")
        return p

    def stop(self):
        """Stops this instance (idempotent)."""
        p = self.pid()
        if not p:
            s.report_not_running(NAME, self.pidfile)
            return
        s.terminate(NAME, p, self.pidfile, STOP_TIMEOUT_S)

    def pids(self):
        """The master and its worker."""
        p = self.pid()
        if not p:
            raise s.Fatal("gateway: not running")
        return [p, *s.child_pids(p)]

    def crash(self):
        """SIGKILL to the master and its worker at once."""
        s.crash_pids(NAME, self.port, self.pids())

    def status(self):
        """One line."""
        p = self.pid()
        if p:
            health = "running" if self.probe() else "starting or unhealthy, not answering"
            s.info(f"gateway: {health} ({self.where()}; pid {p})")
        elif s.port_listening(self.port):
            s.info(f"gateway: stopped (port {self.port} held by a process we did not start: {s.port_holder(self.port)})")
        else:
            s.info(f"gateway: stopped (port {self.port})")


_configure = []


def _configure_args():
    """What nginx was built with (`nginx -V`), read once."""
    if not _configure:
        got = subprocess.run([NGINX, "-V"], capture_output=True, text=True)
        _configure.append(got.stderr + got.stdout)
    return _configure[0]


def instance():
    """The infra.sh component's instance."""
    return Gateway(default_port(), default_upstream(), default_dir(default_port()))


# The component interface of infra.py.
def up():
    """Starts the gateway of infra.sh (idempotent)."""
    instance().start()


def down():
    """Stops it (idempotent)."""
    instance().stop()


def status():
    """One line."""
    instance().status()


def crash():
    """SIGKILL to its processes."""
    instance().crash()


def pids():
    """Its master and worker."""
    return instance().pids()
