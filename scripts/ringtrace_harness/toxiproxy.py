"""Toxiproxy (github.com/Shopify/toxiproxy/v2), the TCP fault proxy of the namespaced ring
(hosts.py starts one per service namespace), built from source with Go once into
$CACHE_DIR/toxiproxy-<version>/bin/toxiproxy-server, like Jaeger (jaeger.py).

Version: the Go module proxy lists only v2.3.0 and v2.5.0 but serves the pinned v2.12.0 when asked
for it exactly. Its go.mod has no replace directive; the build still goes through a wrapper module
that starts from Toxiproxy's own go.sum, so every dependency is checked against the hashes
Toxiproxy committed (as jaeger.py does). Go is the one jaeger.find_go() finds or fetches (Jaeger's
minimum is above Toxiproxy's 1.23), and the module caches are shared with Jaeger's build.

The client side is a few HTTP calls to a server's API (toxics, proxies), for the fault harness.
"""

import json
import os
import subprocess
import urllib.error
import urllib.request

from . import gotoolchain, jaeger
from . import system as s
from .pins import pin

NAME = "toxiproxy"
VERSION = pin("TOXIPROXY_VERSION")
MODULE = "github.com/Shopify/toxiproxy/v2"
CACHE = os.path.join(s.CACHE_DIR, f"toxiproxy-{VERSION}")
BIN = os.path.join(CACHE, "bin", "toxiproxy-server")
MARKER = os.path.join(CACHE, ".complete")   # holds VERSION
SRC = os.path.join(CACHE, "src")
LOG = os.path.join(CACHE, "build.log")


def built():
    """The cache holds the server of exactly this release."""
    try:
        with open(MARKER) as f:
            return os.access(BIN, os.X_OK) and f.read().strip() == VERSION
    except OSError:
        return False


def _prepare(go, out):
    """The wrapper module with Toxiproxy's go.sum, and every module the server needs downloaded."""
    return gotoolchain.wrapper_module(go, SRC, jaeger.go_env(), MODULE, VERSION, "cmd/server",
                                      "module ringtrace.invalid/toxiproxy-build\n\ngo 1.23.0\n", out)


def build():
    """Builds the server once (a temporary file moved into place, then the marker) and returns its
    path; quiet when it is cached, one line when it builds."""
    if built():
        return BIN
    go = jaeger.find_go()
    os.makedirs(CACHE, exist_ok=True)
    with s.FileLock(os.path.join(s.CACHE_DIR, ".toxiproxy-build.lock"), 1800, NAME):
        if built():
            return BIN  # built by a concurrent run
        t0 = s.now()
        for stale in (BIN + ".tmp", MARKER):
            if os.path.exists(stale):
                os.remove(stale)
        os.makedirs(os.path.dirname(BIN), exist_ok=True)
        with open(LOG, "w") as out:
            ok = _prepare(go, out) and subprocess.run(
                [go, "build", "-trimpath", "-ldflags", f"-s -w -X {MODULE}.Version={VERSION.lstrip('v')}",
                 "-o", BIN + ".tmp", f"{MODULE}/cmd/server"],
                cwd=SRC, env=jaeger.go_env(), stdout=out, stderr=subprocess.STDOUT).returncode == 0
        if not ok:
            if os.path.exists(BIN + ".tmp"):
                os.remove(BIN + ".tmp")
            s.fail_with_log(NAME, f"building Toxiproxy {VERSION} failed", LOG)
        os.replace(BIN + ".tmp", BIN)
        with open(MARKER, "w") as f:
            f.write(f"{VERSION}\n")
        s.info(f"toxiproxy: built {BIN} in {s.elapsed(t0)}")
    return BIN


# ------------------------------------------------------------------------------ client

def _call(api, method, path, body=None, timeout_s=5.0):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(api + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text.strip() else None)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, None


def proxies(api):
    """{name: proxy} from a server's API at API (http://127.0.0.1:PORT), or None when it does not answer."""
    status, body = _call(api, "GET", "/proxies")
    return body if status == 200 else None


def add_toxic(api, proxy, name, kind, attributes, stream="downstream", toxicity=1.0):
    """Adds a toxic to PROXY (latency {latency, jitter}, reset_peer {timeout}, bandwidth {rate}, ...)."""
    status, body = _call(api, "POST", f"/proxies/{proxy}/toxics",
                         {"name": name, "type": kind, "stream": stream, "toxicity": toxicity,
                          "attributes": attributes})
    if status != 200:
        raise s.Fatal(f"toxiproxy: adding toxic {name} to {proxy} failed: {status} {body}")


def remove_toxic(api, proxy, name):
    """Removes one toxic."""
    status, body = _call(api, "DELETE", f"/proxies/{proxy}/toxics/{name}")
    if status not in (200, 204):
        raise s.Fatal(f"toxiproxy: removing toxic {name} from {proxy} failed: {status} {body}")


def reset(api):
    """Every proxy enabled, every toxic removed."""
    status, body = _call(api, "POST", "/reset")
    if status not in (200, 204):
        raise s.Fatal(f"toxiproxy: reset failed: {status} {body}")
