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

Go: the first `go` on PATH when it is new enough, else the toolchain pinned in versions.env,
fetched once from the Go module proxy (gotoolchain.py). The build is two steps so that a first run
can overlap the first, which waits on the network, with compiling the services: prepare() writes
the wrapper module and downloads every module the binary needs; build() compiles and links, with
-trimpath and without the symbol table and DWARF (-s -w), which the collector does not need.
"""

import os
import shutil
import subprocess
import urllib.error
import urllib.request

from . import gotoolchain
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
SRC = os.path.join(CACHE, "src")
PREPARED = os.path.join(SRC, ".prepared")   # holds "VERSION V2_VERSION" once every module is downloaded
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


def _new_enough(go):
    """GO's version when it can build Jaeger, else None."""
    got = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                         env=dict(os.environ, GOTOOLCHAIN="local")).stdout.strip().removeprefix("go")
    plain = got.split("-")[0].split("+")[0].split(" ")[0]
    return plain if plain and _version_tuple(plain) >= _version_tuple(MIN_GO) else None


def find_go():
    """A Go toolchain new enough for Jaeger: the first `go` on PATH, else the pinned one, fetched
    once from the Go module proxy; a Fatal with one instruction when neither can be had."""
    go = shutil.which("go")
    if go and _new_enough(go):
        return go
    why = f"{go} is too old" if go else "'go' is not on PATH"
    if not gotoolchain.cached():
        s.info(f"jaeger: building Jaeger needs Go >= {MIN_GO} ({why}): fetching Go {gotoolchain.VERSION} "
               "from the Go module proxy")
    return gotoolchain.fetch()


def go_env():
    """Go's caches under ours, and a static binary: the environment every Go build of ours runs in."""
    return dict(os.environ, GOPATH=GO_CACHE, GOMODCACHE=f"{GO_CACHE}/pkg/mod", GOCACHE=f"{GO_CACHE}/cache",
                CGO_ENABLED="0", GOWORK="off")


def _prepared():
    try:
        with open(PREPARED) as f:
            return os.path.isfile(os.path.join(SRC, "go.sum")) and f.read().strip() == f"{VERSION} {V2_VERSION}"
    except OSError:
        return False


def _prepare(go, log):
    """Writes the wrapper module and downloads what the binary needs; False when go failed."""
    go_mod = (f"module ringtrace.invalid/jaeger-build\n\ngo {MIN_GO}\n\n"
              "// Repeats the replace directive of Jaeger's own go.mod (ignored in a dependency).\n"
              "replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0\n")
    with open(log, "a") as out:
        if not gotoolchain.wrapper_module(go, SRC, go_env(), MODULE, VERSION, "cmd/jaeger", go_mod, out):
            return False
    with open(PREPARED, "w") as f:
        f.write(f"{VERSION} {V2_VERSION}\n")
    return True


def _lock():
    os.makedirs(s.CACHE_DIR, exist_ok=True)
    return s.FileLock(os.path.join(s.CACHE_DIR, ".jaeger-build.lock"), 1800, NAME)


def prepare():
    """Gets Go and downloads every module the binary needs, once (no compiling): what a first run
    does beside compiling the services."""
    if built() or _prepared():
        return
    go = find_go()
    os.makedirs(RUN, exist_ok=True)
    with _lock():
        if built() or _prepared():
            return
        t0, log = s.now(), os.path.join(RUN, "build.log")
        if not _prepare(go, log):
            s.fail_with_log(NAME, "downloading Jaeger's modules failed", log)
        s.info(f"jaeger: downloaded Jaeger {V2_VERSION}'s modules in {s.elapsed(t0)}")


def build():
    """Builds the binary once (a temporary file moved into place, then the marker) and returns its path."""
    if built():
        return BIN
    go = find_go()
    os.makedirs(RUN, exist_ok=True)
    with _lock():
        if built():
            return BIN  # built by a concurrent run
        t0, log = s.now(), os.path.join(RUN, "build.log")
        s.info(f"jaeger: building Jaeger {V2_VERSION} from source into {CACHE} (first time, several minutes; log: {log})")
        for stale in (BIN + ".tmp", MARKER):
            if os.path.exists(stale):
                os.remove(stale)
        os.makedirs(os.path.dirname(BIN), exist_ok=True)
        ok = _prepared() or _prepare(go, log)
        if ok:
            with open(log, "a") as out:
                ok = subprocess.run(
                    [go, "build", "-trimpath", "-ldflags",
                     f"-s -w -X {MODULE}/internal/version.latestVersion={V2_VERSION}",
                     "-o", BIN + ".tmp", f"{MODULE}/cmd/jaeger"],
                    cwd=SRC, env=go_env(), stdout=out, stderr=subprocess.STDOUT).returncode == 0
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
