"""Jaeger v2 (one `jaeger` binary, OpenTelemetry-Collector based), built from source with Go once
into $CACHE_DIR/jaeger-<version>/bin/jaeger, run with scripts/infra/jaeger-config.yaml: loopback
only, in-memory storage (lost on restart), OTLP receivers only.

Version: Jaeger tags each release twice on one commit, v1.N for the old binaries and v2.M for
cmd/jaeger; the module path has no /v2, so Go only knows the v1.N tag. The module proxy reachable
here serves v1.76.0 (= v2.13.0) but refuses newer versions and pseudo-versions. Jaeger's go.mod has
a `replace` directive, so `go install pkg@version` refuses it: we build through a wrapper module
that requires Jaeger and repeats the replace. The checksum database does not know many
opentelemetry-collector-contrib modules, so the wrapper starts from Jaeger's own go.sum: every
dependency is verified against the hashes Jaeger committed. Go's caches live in $CACHE_DIR/go.
"""

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request

from . import system as s
from .pins import pin

NAME = "jaeger"
VERSION = pin("JAEGER_VERSION")        # Go module version of github.com/jaegertracing/jaeger
V2_VERSION = pin("JAEGER_V2_VERSION")  # the same release's v2 tag (what `jaeger version` reports)
MIN_GO = pin("JAEGER_MIN_GO")
OTLP_GRPC_PORT, OTLP_HTTP_PORT, QUERY_GRPC_PORT, QUERY_PORT, HEALTH_PORT = 4317, 4318, 16685, 16686, 13133
PORTS = [OTLP_GRPC_PORT, OTLP_HTTP_PORT, QUERY_GRPC_PORT, QUERY_PORT, HEALTH_PORT]  # as jaeger-config.yaml
CACHE = os.path.join(s.CACHE_DIR, f"jaeger-{VERSION}")
BIN = os.path.join(CACHE, "bin", "jaeger")
MARKER = os.path.join(CACHE, ".complete")   # holds "VERSION V2_VERSION"
GO_CACHE = os.path.join(s.CACHE_DIR, "go")
CONFIG = os.path.join(s.INFRA_DIR, "jaeger-config.yaml")
RUN = os.path.join(s.RUN_DIR, "jaeger")
PIDFILE = os.path.join(RUN, "jaeger.pid")
LOG = os.path.join(RUN, "jaeger.log")
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
MODULE = "github.com/jaegertracing/jaeger"


def built():
    """The cache holds the binary of exactly this release."""
    try:
        with open(MARKER) as f:
            return os.access(BIN, os.X_OK) and f.read().strip() == f"{VERSION} {V2_VERSION}"
    except OSError:
        return False


def _version_tuple(v):
    return tuple(int(x) if x.isdigit() else 0 for x in v.split("."))


def find_go():
    """A Go toolchain new enough for Jaeger, or a Fatal naming what is needed."""
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None)
    if not go:
        raise s.Fatal(f"jaeger: building Jaeger needs Go >= {MIN_GO} ('go' is not on PATH). Debian's golang package "
                      "is too old; install Go from go.dev (e.g. into /usr/local/go) and put its bin directory on PATH")
    got = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                         env=dict(os.environ, GOTOOLCHAIN="local")).stdout.strip().removeprefix("go")
    plain = got.split("-")[0].split("+")[0].split(" ")[0]
    if not plain or _version_tuple(plain) < _version_tuple(MIN_GO):
        raise s.Fatal(f"jaeger: building Jaeger needs Go >= {MIN_GO}; {go} is '{got or 'unknown'}'. Debian's golang "
                      "package is too old; install Go from go.dev and put it first on PATH")
    return go


def build():
    """Builds the binary once (a temporary file moved into place, then the marker) and returns its path."""
    if built():
        return BIN
    go = find_go()
    os.makedirs(RUN, exist_ok=True)
    with s.FileLock(os.path.join(s.CACHE_DIR, ".jaeger-build.lock"), 1800, NAME):
        if built():
            return BIN  # built by a concurrent run
        t0, log, src = s.now(), os.path.join(RUN, "build.log"), os.path.join(CACHE, "src")
        s.info(f"jaeger: building Jaeger {V2_VERSION} from source into {CACHE} (first time, several minutes; log: {log})")
        shutil.rmtree(src, ignore_errors=True)
        for stale in (BIN + ".tmp", MARKER):
            if os.path.exists(stale):
                os.remove(stale)
        os.makedirs(src)
        os.makedirs(os.path.dirname(BIN), exist_ok=True)
        with open(os.path.join(src, "go.mod"), "w") as f:
            f.write(f"module ringtrace.invalid/jaeger-build\n\ngo {MIN_GO}\n\n"
                    "// Repeats the replace directive of Jaeger's own go.mod (ignored in a dependency).\n"
                    "replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0\n")
        env = dict(os.environ, GOPATH=GO_CACHE, GOMODCACHE=f"{GO_CACHE}/pkg/mod", GOCACHE=f"{GO_CACHE}/cache",
                   CGO_ENABLED="0", GOWORK="off")
        with open(log, "a") as out:
            ok = False
            got = subprocess.run([go, "mod", "download", "-json", f"{MODULE}@{VERSION}"], cwd=src, env=env,
                                 stdout=subprocess.PIPE, stderr=out, text=True)
            if got.returncode == 0:
                mod_dir = json.loads(got.stdout).get("Dir", "")
                if os.path.isfile(os.path.join(mod_dir, "go.sum")):
                    shutil.copy(os.path.join(mod_dir, "go.sum"), os.path.join(src, "go.sum"))
                    os.chmod(os.path.join(src, "go.sum"), 0o644)
                    run = lambda *argv: subprocess.run([go, *argv], cwd=src, env=env, stdout=out,  # noqa: E731
                                                       stderr=subprocess.STDOUT).returncode == 0
                    ok = run("get", f"{MODULE}/cmd/jaeger@{VERSION}") and run(
                        "build", "-trimpath", "-ldflags", f"-X {MODULE}/internal/version.latestVersion={V2_VERSION}",
                        "-o", BIN + ".tmp", f"{MODULE}/cmd/jaeger")
        if not ok:
            if os.path.exists(BIN + ".tmp"):
                os.remove(BIN + ".tmp")
            s.fail_with_log(NAME, "building Jaeger failed", log)
        os.replace(BIN + ".tmp", BIN)
        with open(MARKER, "w") as f:
            f.write(f"{VERSION} {V2_VERSION}\n")
        s.info(f"jaeger: built {BIN} in {s.elapsed(t0)}")
    return BIN


def pid():
    """The PID of our server, or None."""
    p = s.read_pid(PIDFILE)
    return p if p and s.pid_alive(p) and s.pid_cmdline_has(p, BIN, CONFIG) else None


def probe():
    """Ready: the query API answers with JSON and the OTLP/HTTP receiver takes a POST (an empty
    export gets 200; 400 still means listening and parsing)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{QUERY_PORT}/api/services", timeout=2) as r:
            if b'"data"' not in r.read():
                return False
    except (urllib.error.URLError, OSError):
        return False
    req = urllib.request.Request(f"http://127.0.0.1:{OTLP_HTTP_PORT}/v1/traces", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            return r.status == 200
    except urllib.error.HTTPError as e:
        return e.code == 400
    except (urllib.error.URLError, OSError):
        return False


def _where():
    return f"OTLP HTTP 127.0.0.1:{OTLP_HTTP_PORT}, gRPC :{OTLP_GRPC_PORT}; query 127.0.0.1:{QUERY_PORT}"


def _wait_ready(p):
    s.wait_ready(NAME, p, READY_TIMEOUT_S, probe, f"127.0.0.1:{QUERY_PORT} and 127.0.0.1:{OTLP_HTTP_PORT}", LOG)


def up():
    """Starts the collector (idempotent), building it first if needed."""
    t0 = s.now()
    p = pid()
    if p:
        if probe():
            s.info(f"jaeger: already running ({_where()}; pid {p})")
        else:
            _wait_ready(p)
            s.info(f"jaeger: running ({_where()}; pid {p}; was still starting, ready after {s.elapsed(t0)})")
        return
    if os.path.exists(PIDFILE):
        s.info(f"jaeger: removed stale pid file (pid {s.read_pid(PIDFILE)} is gone or not our server)")
        os.remove(PIDFILE)
    s.require_free(NAME, PORTS)
    build()
    t0 = s.now()  # the start time, without the build
    os.makedirs(RUN, exist_ok=True)
    p = s.spawn([BIN, "--config", CONFIG], LOG, PIDFILE)
    _wait_ready(p)
    s.info(f"jaeger: started ({_where()}; pid {p}) in {s.elapsed(t0)}")


def down():
    """Stops our collector (idempotent)."""
    p = pid()
    if not p:
        s.report_not_running(NAME, PIDFILE)
        return
    s.terminate(NAME, p, PIDFILE, STOP_TIMEOUT_S)


def pids():
    """The collector's PID."""
    p = pid()
    if not p:
        raise s.Fatal("jaeger: not running")
    return [p]


def status():
    """One line."""
    p = pid()
    if p:
        if probe():
            s.info(f"jaeger: running ({_where()}; pid {p})")
        else:
            s.info(f"jaeger: starting or unhealthy, query API or OTLP HTTP not answering (pid {p})")
        return
    for port in PORTS:
        if s.port_listening(port):
            s.info(f"jaeger: stopped (port {port} held by a process we did not start: {s.port_holder(port)})")
            return
    suffix = "" if built() else "; not built yet"
    s.info(f"jaeger: stopped (ports {OTLP_HTTP_PORT}, {QUERY_PORT}{suffix})")
