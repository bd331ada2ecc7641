"""A Go toolchain for building Jaeger on a machine that has none new enough (Debian's golang is
1.19): the release pinned in versions.env (GO_TOOLCHAIN_VERSION), fetched once from the Go module
proxy as the module golang.org/toolchain, the way the go command itself fetches one for
GOTOOLCHAIN, and cached under $CACHE_DIR/go-toolchain/go<version>/.

The zip is checked before anything in it runs: its go.sum-style hash (h1:, the dirhash the go
command computes and the Go checksum database records) must equal the pin in versions.env.
"""

import base64
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import zipfile

from . import system as s
from .pins import PINS, pin

VERSION = pin("GO_TOOLCHAIN_VERSION")
MODULE = "golang.org/toolchain"
DEFAULT_PROXY = "https://proxy.golang.org"   # the go command's own default GOPROXY
DOWNLOAD_TIMEOUT_S = 600
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def goarch(machine=None):
    """Go's name for this machine's architecture, or None when Go has no toolchain for it here."""
    return _ARCH.get((machine or platform.machine()).lower())


def module_version(version=None, arch="amd64"):
    """The golang.org/toolchain module version that carries Go VERSION (default: the pin) for linux/ARCH."""
    return f"v0.0.1-go{version or VERSION}.linux-{arch}"


def proxies(goproxy):
    """The proxy URLs of a GOPROXY value, in order: "direct" and "off" end the list (a toolchain
    comes from a proxy only), and an unset value means the go command's default."""
    if goproxy is None or not goproxy.strip():
        return [DEFAULT_PROXY]
    urls = []
    for entry in goproxy.replace("|", ",").split(","):
        entry = entry.strip()
        if entry in ("direct", "off"):
            break
        if entry:
            urls.append(entry.rstrip("/"))
    return urls


def zip_url(proxy, version=None, arch="amd64"):
    """Where PROXY serves the toolchain zip (the module proxy protocol: $base/$module/@v/$version.zip)."""
    return f"{proxy}/{MODULE}/@v/{module_version(version, arch)}.zip"


def dirhash_h1(data):
    """The go.sum hash (h1:) of a module zip given as bytes: SHA-256 over the sorted lines
    "<sha256 hex>  <file name>" of every file in it, base64-encoded."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = sorted(i.filename for i in z.infolist() if not i.is_dir())
        summary = "".join(f"{hashlib.sha256(z.read(n)).hexdigest()}  {n}\n" for n in names)
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def root(cache_dir=None, version=None):
    """The GOROOT of the cached toolchain."""
    return os.path.join(cache_dir or s.CACHE_DIR, "go-toolchain", f"go{version or VERSION}")


def cached(cache_dir=None, version=None):
    """The cached toolchain's go binary, or None."""
    where = root(cache_dir, version)
    go = os.path.join(where, "bin", "go")
    return go if os.access(go, os.X_OK) and os.path.isfile(os.path.join(where, ".complete")) else None


def instruction(version=None):
    """The one thing a user does when no toolchain can be fetched."""
    return (f"install Go {version or VERSION} from go.dev/dl into /usr/local/go, put /usr/local/go/bin first "
            "on PATH, then run this again")


def extract(data, dest, version=None, arch="amd64"):
    """Unpacks the toolchain zip into DEST (made here): the module's prefix dropped, the programs
    under bin/ and pkg/tool/ made executable (a module zip carries no file modes)."""
    prefix = f"{MODULE}@{module_version(version, arch)}/"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            if not info.filename.startswith(prefix) or info.is_dir():
                continue
            rel = info.filename[len(prefix):]
            if not rel or rel.startswith("/") or ".." in rel.split("/"):
                raise s.Fatal(f"go: unexpected path in the toolchain zip: {info.filename}")
            path = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with z.open(info) as src, open(path, "wb") as out:
                shutil.copyfileobj(src, out)
            top = rel.split("/")
            executable = top[0] == "bin" or (top[:2] == ["pkg", "tool"] and len(top) == 4)
            os.chmod(path, 0o755 if executable else 0o644)


def fetch(env=None, cache_dir=None):
    """The go binary of the pinned toolchain: cached, or fetched from the module proxy, checked
    against the pinned h1 hash and cached. Raises Fatal with one instruction when it cannot."""
    go = cached(cache_dir)
    if go:
        return go
    env = os.environ if env is None else env
    arch = goarch()
    want = PINS.get(f"GO_TOOLCHAIN_H1_LINUX_{arch.upper()}", "") if arch else ""
    if not arch or not want:
        raise s.Fatal(f"go: no pinned Go toolchain for {platform.machine()}; {instruction()}")
    cache_dir = cache_dir or s.CACHE_DIR
    os.makedirs(cache_dir, exist_ok=True)
    with s.FileLock(os.path.join(cache_dir, ".go-toolchain.lock"), 900, "go"):
        go = cached(cache_dir)
        if go:
            return go  # fetched by a concurrent run
        urls = [zip_url(p, VERSION, arch) for p in proxies(env.get("GOPROXY"))]
        if not urls:
            raise s.Fatal(f"go: GOPROXY ({env.get('GOPROXY')}) names no proxy to fetch Go {VERSION} from; "
                          f"{instruction()}")
        t0, data, errors = s.now(), None, []
        for url in urls:
            try:
                with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as r:
                    data = r.read()
                break
            except (urllib.error.URLError, OSError) as e:
                errors.append(f"{url}: {getattr(e, 'reason', e)}")
        if data is None:
            raise s.Fatal(f"go: could not fetch Go {VERSION} ({'; '.join(errors)}); {instruction()}")
        got = dirhash_h1(data)
        if got != want:
            raise s.Fatal(f"go: the Go {VERSION} toolchain from {url} has hash {got}, not the pinned {want} "
                          f"(scripts/versions.env); {instruction()}")
        dest = root(cache_dir)
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".go{VERSION}.", dir=os.path.dirname(dest))
        try:
            extract(data, tmp, VERSION, arch)
            os.rename(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with open(os.path.join(dest, ".complete"), "w") as f:
            f.write(f"{VERSION} {want}\n")
        s.info(f"go: fetched Go {VERSION} ({len(data) // 1_000_000} MB, {want}) into {dest} in {s.elapsed(t0)}")
    return os.path.join(dest, "bin", "go")


def wrapper_module(go, src, env, module, version, package, go_mod, out):
    """Prepares SRC as a module of our own that builds PACKAGE of MODULE@VERSION with the checksums
    its authors committed: writes GO_MOD as go.mod, copies the module's own go.sum and downloads
    every module the package needs. False (the reason in OUT) when go failed."""
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    with open(os.path.join(src, "go.mod"), "w") as f:
        f.write(go_mod)
    got = subprocess.run([go, "mod", "download", "-json", f"{module}@{version}"], cwd=src, env=env,
                         stdout=subprocess.PIPE, stderr=out, text=True)
    if got.returncode != 0:
        return False
    mod_dir = json.loads(got.stdout).get("Dir", "")
    if not os.path.isfile(os.path.join(mod_dir, "go.sum")):
        out.write(f"go: no go.sum in {mod_dir}\n")
        return False
    shutil.copy(os.path.join(mod_dir, "go.sum"), os.path.join(src, "go.sum"))
    os.chmod(os.path.join(src, "go.sum"), 0o644)
    return subprocess.run([go, "get", f"{module}/{package}@{version}"], cwd=src, env=env, stdout=out,
                          stderr=subprocess.STDOUT).returncode == 0
