"""Unit tests of the harness parts a first run depends on, with no server but an in-process HTTP
one on loopback: which Debian mirror debootstrap takes (apt_mirror), the Go toolchain fetched when
none is on PATH (gotoolchain: proxy list, go.sum hash, unpacking, the fetch and its refusals),
and the phase lines of scripts/run.sh (phases). Label `unit`.
"""

import contextlib
import http.server
import io
import os
import sys
import tempfile
import threading
import time
import unittest
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts"))

from ringtrace_harness import apt_mirror, gotoolchain, phases  # noqa: E402
from ringtrace_harness.system import Fatal  # noqa: E402


def _write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class AptMirror(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()

    def test_deb822_sources_as_debian_ships_them(self):
        _write(self.root, "sources.list.d/debian.sources",
               "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
               "URIs: http://ftp.de.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n"
               "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
               "Types: deb\nURIs: http://ftp.de.debian.org/debian-security\nSuites: bookworm-security\n"
               "Components: main\n")
        self.assertEqual(apt_mirror.mirror("bookworm", self.root), "http://ftp.de.debian.org/debian")

    def test_one_line_with_options_and_a_caching_proxy(self):
        _write(self.root, "sources.list",
               "# deb http://commented.example/debian bookworm main\n"
               "deb-src http://src.example/debian bookworm main\n"
               "deb http://security.example/debian-security bookworm-security main\n"
               "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://cache.lan:3142/deb.debian.org/debian/ "
               "bookworm main contrib\n")
        self.assertEqual(apt_mirror.mirror("bookworm", self.root), "http://cache.lan:3142/deb.debian.org/debian")

    def test_sources_list_comes_before_the_directory_and_disabled_stanzas_are_skipped(self):
        _write(self.root, "sources.list.d/a.sources",
               "Types: deb\nURIs: https://off.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\n"
               "Types: deb deb-src\nURIs: https://on.example/debian\nSuites: bookworm\nComponents: main\n")
        self.assertEqual(apt_mirror.mirror("bookworm", self.root), "https://on.example/debian")
        _write(self.root, "sources.list", "deb http://first.example/debian bookworm main\n")
        self.assertEqual(apt_mirror.mirror("bookworm", self.root), "http://first.example/debian")

    def test_other_suites_components_and_schemes_fall_back_to_the_redirector(self):
        _write(self.root, "sources.list",
               "deb http://other.example/debian trixie main\n"
               "deb http://contrib.example/debian bookworm contrib\n"
               "deb cdrom:[Debian 12]/ bookworm main\n"
               "deb file:/srv/mirror bookworm main\n")
        _write(self.root, "sources.list.d/nodesource.sources",
               "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n")
        self.assertEqual(apt_mirror.mirror("bookworm", self.root), apt_mirror.FALLBACK)
        self.assertEqual(apt_mirror.mirror("bookworm", os.path.join(self.root, "missing")), apt_mirror.FALLBACK)


def _toolchain_zip(version, arch="amd64", files=None):
    prefix = f"golang.org/toolchain@{gotoolchain.module_version(version, arch)}/"
    files = files or {"bin/go": "#!/bin/sh\necho go version go" + version + "\n", "bin/gofmt": "",
                      "pkg/tool/linux_amd64/compile": "", "src/fmt/print.go": "package fmt\n",
                      "go.env": "GOPROXY=https://proxy.invalid\n"}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(prefix + name, text)
    return buf.getvalue()


@contextlib.contextmanager
def _serving(files):
    """An HTTP server on loopback serving FILES (path -> bytes); yields its base URL."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class GoToolchain(unittest.TestCase):
    VERSION = "1.99.1"

    def setUp(self):
        self.cache = tempfile.mkdtemp()
        self.saved = gotoolchain.VERSION, dict(gotoolchain.PINS)
        gotoolchain.VERSION = self.VERSION

    def tearDown(self):
        gotoolchain.VERSION = self.saved[0]
        gotoolchain.PINS.clear()
        gotoolchain.PINS.update(self.saved[1])

    def test_the_proxies_of_goproxy(self):
        self.assertEqual(gotoolchain.proxies(None), [gotoolchain.DEFAULT_PROXY])
        self.assertEqual(gotoolchain.proxies(""), [gotoolchain.DEFAULT_PROXY])
        self.assertEqual(gotoolchain.proxies("https://a.example/,https://b.example|direct"),
                         ["https://a.example", "https://b.example"])
        self.assertEqual(gotoolchain.proxies("direct"), [])
        self.assertEqual(gotoolchain.proxies("off"), [])
        self.assertEqual(gotoolchain.zip_url("https://p.example", "1.27.3", "amd64"),
                         "https://p.example/golang.org/toolchain/@v/v0.0.1-go1.27.3.linux-amd64.zip")

    def test_the_go_sum_hash_of_a_module_zip(self):
        # The value the go command's dirhash.Hash1 gives for these two files (it sorts the names,
        # hashes the lines "<sha256>  <name>\n" and base64-encodes the result).
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("m@v1.0.0/b.txt", "b\n")
            z.writestr("m@v1.0.0/a.txt", "hello\n")
        self.assertEqual(gotoolchain.dirhash_h1(buf.getvalue()), "h1:rzCsQZ8n2AHXJX+qHl4dw6OR771uxkXqjMhhI8D9F24=")

    def test_unpacking_makes_the_programs_executable_and_refuses_paths_out(self):
        dest = os.path.join(self.cache, "go")
        gotoolchain.extract(_toolchain_zip(self.VERSION), dest, self.VERSION)
        mode = lambda rel: os.stat(os.path.join(dest, rel)).st_mode & 0o777  # noqa: E731
        self.assertEqual(mode("bin/go"), 0o755)
        self.assertEqual(mode("pkg/tool/linux_amd64/compile"), 0o755)
        self.assertEqual(mode("src/fmt/print.go"), 0o644)
        with self.assertRaises(Fatal):
            gotoolchain.extract(_toolchain_zip(self.VERSION, files={"../escape": "x"}), dest, self.VERSION)

    def test_fetch_checks_the_pinned_hash_then_caches(self):
        if gotoolchain.goarch() != "amd64":
            self.skipTest("the fixture is a linux-amd64 toolchain")
        data = _toolchain_zip(self.VERSION)
        path = f"/golang.org/toolchain/@v/{gotoolchain.module_version(self.VERSION)}.zip"
        with _serving({path: data}) as url:
            gotoolchain.PINS["GO_TOOLCHAIN_H1_LINUX_AMD64"] = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
            with self.assertRaises(Fatal) as caught:
                gotoolchain.fetch({"GOPROXY": url}, self.cache)
            self.assertIn("not the pinned", str(caught.exception))
            self.assertIn("install Go", str(caught.exception))
            self.assertIsNone(gotoolchain.cached(self.cache))

            gotoolchain.PINS["GO_TOOLCHAIN_H1_LINUX_AMD64"] = gotoolchain.dirhash_h1(data)
            go = gotoolchain.fetch({"GOPROXY": f"{url}/missing,{url},direct"}, self.cache)
            self.assertEqual(go, os.path.join(gotoolchain.root(self.cache), "bin", "go"))
            self.assertTrue(os.access(go, os.X_OK))
        # Cached: no server needed any more.
        self.assertEqual(gotoolchain.fetch({"GOPROXY": "http://127.0.0.1:9"}, self.cache), go)

    def test_fetch_without_a_reachable_proxy_says_what_to_do(self):
        gotoolchain.PINS["GO_TOOLCHAIN_H1_LINUX_AMD64"] = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        for goproxy in ("http://127.0.0.1:9", "off"):
            with self.assertRaises(Fatal) as caught:
                gotoolchain.fetch({"GOPROXY": goproxy}, self.cache)
            self.assertIn(gotoolchain.instruction(), str(caught.exception))


class Phases(unittest.TestCase):
    def test_a_phase_line_carries_wall_and_cpu_time(self):
        self.assertEqual(phases.line("compile ms1 ms2 ms3", 212.44, 401.0),
                         "run: compile ms1 ms2 ms3: 212.4 s (cpu 401.0 s)")

    def test_a_command_phase_counts_its_own_cpu_time(self):
        lines = []
        busy = [sys.executable, "-c", "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"]
        self.assertEqual(phases.run("busy", busy, out=lines.append), 0)
        self.assertEqual(phases.run("fails", [sys.executable, "-c", "raise SystemExit(3)"], out=lines.append), 3)
        cpu = float(lines[0].split("(cpu ")[1].split(" s)")[0])
        self.assertGreaterEqual(cpu, 0.3)
        background = phases.Background("beside", busy)
        self.assertEqual(background.join(out=lines.append), 0)
        self.assertGreaterEqual(background.cpu, 0.3)
        self.assertTrue(lines[2].startswith("run: beside: "))

    def test_stopping_a_background_command_ends_what_it_started(self):
        with tempfile.NamedTemporaryFile() as pidfile:
            script = (f"import subprocess, time\np = subprocess.Popen(['sleep', '60'])\n"
                      f"open({pidfile.name!r}, 'w').write(str(p.pid))\ntime.sleep(60)")
            job = phases.Background("sleeps", [sys.executable, "-c", script])
            deadline = time.monotonic() + 10
            while not open(pidfile.name).read() and time.monotonic() < deadline:
                time.sleep(0.05)
            grandchild = int(open(pidfile.name).read())
            job.stop()
            self.assertIsNotNone(job.proc.returncode)
            while time.monotonic() < deadline:
                try:
                    os.kill(grandchild, 0)
                except ProcessLookupError:
                    break
                # Reparented to init (or a subreaper), which reaps it once it has ended.
                try:
                    with open(f"/proc/{grandchild}/stat") as f:
                        if f.read().split(") ")[1].startswith("Z"):
                            break
                except FileNotFoundError:
                    break
                time.sleep(0.05)
            else:
                self.fail(f"pid {grandchild}, started by the background command, still runs after stop()")


if __name__ == "__main__":
    unittest.main()
