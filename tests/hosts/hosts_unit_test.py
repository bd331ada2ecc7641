"""Unit tests of the pure parts of hosts mode: --skew parsing, libfaketime's FAKETIME value and the
service environment (skew.py); the address and port plan, the Toxiproxy proxies, the relay's
routes, the `ip` commands, and which records and namespaces a sweep removes (hosts.py); the
command line a Ring gives a namespaced, skewed service (ring.py). No root, no server: label unit.
"""

import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts"))

from ringtrace_harness import hosts, run, skew  # noqa: E402
from ringtrace_harness.ring import Ring, RingError  # noqa: E402

CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "config", "ringtrace.yaml")


class SkewParsing(unittest.TestCase):
    def test_units_and_signs(self):
        self.assertEqual(skew.parse("ms2=+80ms,ms3=-50ms"), {"ms2": 80_000, "ms3": -50_000})
        self.assertEqual(skew.parse("ms1=1s"), {"ms1": 1_000_000})
        self.assertEqual(skew.parse("ms1=250us, ms2=-0.5ms"), {"ms1": 250, "ms2": -500})
        self.assertEqual(skew.parse("ms3=0.1ms"), {"ms3": 100})   # decimal, not 99.99999
        self.assertEqual(skew.parse("ms2=-10s"), {"ms2": -10_000_000})
        self.assertEqual(skew.parse("ms1=0ms"), {"ms1": 0})
        self.assertEqual(skew.parse(""), {})

    def test_refusals(self):
        for bad in ("ms4=1ms", "ms2=80", "ms2=+80min", "ms2=+10.000001s", "ms2=11s", "ms2=1ms,ms2=2ms",
                    "ms2=0.0001ms", "ms2=+-1ms", "ms2 1ms", "gateway=1ms"):
            with self.subTest(bad=bad), self.assertRaises(skew.SkewError):
                skew.parse(bad)

    def test_faketime_value(self):
        self.assertEqual(skew.faketime_value(80_000), "+0.080000")
        self.assertEqual(skew.faketime_value(-50_000), "-0.050000")
        self.assertEqual(skew.faketime_value(-10_000_000), "-10.000000")
        self.assertEqual(skew.faketime_value(1), "+0.000001")
        self.assertEqual(skew.faketime_value(0), "+0")

    def test_environment_keeps_the_monotonic_clock_real(self):
        env = skew.env(80_000, "/b/libringtrace-clock-guard.so", "/usr/lib/x/faketime/libfaketime.so.1")
        self.assertEqual(env["LD_PRELOAD"], "/b/libringtrace-clock-guard.so /usr/lib/x/faketime/libfaketime.so.1")
        self.assertEqual(env["FAKETIME"], "+0.080000")
        self.assertEqual(env["FAKETIME_DONT_FAKE_MONOTONIC"], "1")
        self.assertEqual(env["NO_FAKE_STAT"], "1")
        self.assertEqual(skew.env_argv({"B": "2", "A": "1"}), ["A=1", "B=2"])


PORTS = {"ms1": 8080, "ms2": 8081, "ms2_admin": 8091, "ms3_admin": 8092, "ms2_url": 8081, "store_url": 8080,
         "kafka": 9092, "db": 5432, "otlp": 4318}


class Plan(unittest.TestCase):
    def test_ports_from_config_and_environment(self):
        self.assertEqual(hosts.ports({}, CONFIG), PORTS)
        got = hosts.ports({"RINGTRACE__DATABASE__DRIVER": "mariadb", "RINGTRACE__MS1__PORT": "18500",
                           "RINGTRACE__MS3__STORE_URL": "http://127.0.0.1:18500/store"}, CONFIG)
        self.assertEqual((got["db"], got["ms1"], got["store_url"]), (3306, 18500, 18500))

    def test_ports_refuse_what_hosts_mode_cannot_route(self):
        for env in ({"RINGTRACE__KAFKA__BROKERS": "127.0.0.1:19092,127.0.0.1:19094"},
                    {"RINGTRACE__DATABASE__HOST": "10.0.0.5"},
                    {"RINGTRACE__MS1__MS2_URL": "ws://10.1.1.1:8081/ws"}):
            with self.subTest(env=env), self.assertRaises(hosts.HostsError):
                hosts.ports(env, CONFIG)

    def test_proxies_leave_each_client_namespace_at_its_configured_port(self):
        got = hosts.proxies(PORTS)
        self.assertEqual({k: [p["name"] for p in v] for k, v in got.items()},
                         {"ms1": ["ms1_ms2", "ms1_db", "ms1_jaeger"], "ms2": ["ms2_kafka", "ms2_jaeger"],
                          "ms3": ["ms3_kafka", "ms3_ms1", "ms3_jaeger"]})
        by_name = {p["name"]: p for v in got.values() for p in v}
        self.assertEqual(by_name["ms1_ms2"], {"name": "ms1_ms2", "listen": "127.0.0.1:8081",
                                              "upstream": "10.77.0.12:8081", "enabled": True})
        self.assertEqual(by_name["ms3_ms1"]["upstream"], "10.77.0.11:8080")
        self.assertEqual(by_name["ms1_db"]["upstream"], "10.77.0.1:5432")
        self.assertEqual(by_name["ms3_kafka"]["listen"], "127.0.0.1:9092")
        for plist in got.values():   # one listener per port inside a namespace
            self.assertEqual(len({p["listen"] for p in plist}), len(plist))

    def test_relay_routes(self):
        ns = hosts.namespaces("abcde")
        self.assertEqual(ns, {"hub": "rt-abcde-hub", "ms1": "rt-abcde-ms1", "ms2": "rt-abcde-ms2",
                              "ms3": "rt-abcde-ms3"})
        routes = hosts.relay_routes(PORTS, ns)
        hub = [(r["listen"], r["connect"]) for r in routes if r["listen_ns"] == "rt-abcde-hub"]
        self.assertEqual(hub, [("10.77.0.1:4318", "127.0.0.1:4318"), ("10.77.0.1:5432", "127.0.0.1:5432"),
                               ("10.77.0.1:9092", "127.0.0.1:9092")])
        self.assertTrue(all(r["connect_ns"] is None for r in routes if r["listen_ns"] == "rt-abcde-hub"))
        root = {r["listen"]: (r["connect_ns"], r["connect"]) for r in routes if r["listen_ns"] is None}
        self.assertEqual(root, {"127.0.0.1:8080": ("rt-abcde-ms1", "10.77.0.11:8080"),
                                "127.0.0.1:8091": ("rt-abcde-ms2", "10.77.0.12:8091"),
                                "127.0.0.1:8092": ("rt-abcde-ms3", "10.77.0.13:8092"),
                                "127.0.0.1:8481": ("rt-abcde-ms1", "127.0.0.1:8474"),
                                "127.0.0.1:8482": ("rt-abcde-ms2", "127.0.0.1:8474"),
                                "127.0.0.1:8483": ("rt-abcde-ms3", "127.0.0.1:8474")})

    def test_no_command_touches_the_root_namespace(self):
        ns = hosts.namespaces("abcde")
        for argv in hosts.setup_commands(ns):
            with self.subTest(argv=argv):
                self.assertEqual(argv[0], "ip")
                # Either a namespace is added, or the command runs inside one of ours (-n NS).
                self.assertTrue(argv[1:3] == ["netns", "add"] or (argv[1] == "-n" and argv[2] in ns.values()))
        veths = [a for a in hosts.setup_commands(ns) if "veth" in a]
        self.assertEqual(len(veths), 3)
        self.assertTrue(all(a[a.index("netns", 3) + 1] == "rt-abcde-hub" for a in veths))

    def test_ids_are_short_and_match_the_sweep_pattern(self):
        ids = {hosts.make_id(pid, 1796690000.123 + pid) for pid in range(1, 200)}
        self.assertEqual(len(ids), 199)
        for i in ids:
            for role in ("hub", "ms1", "ms2", "ms3"):
                self.assertRegex(f"rt-{i}-{role}", hosts.NS_PATTERN)


class Sweep(unittest.TestCase):
    def test_only_dead_runs_and_unclaimed_names_of_our_pattern(self):
        live = {"owner_pid": 1, "namespaces": ["rt-aaaaa-hub", "rt-aaaaa-ms1"]}
        dead = {"owner_pid": 2, "namespaces": ["rt-bbbbb-hub"]}
        listed = ["rt-aaaaa-hub", "rt-aaaaa-ms1", "rt-bbbbb-hub", "rt-ccccc-ms3", "rt-ccccc-gw", "other",
                  "rt-toolong-ms1", "rt-AAAAA-ms1"]
        gone, orphans = hosts.sweep_plan([live, dead], listed, lambda r: r["owner_pid"] == 1)
        self.assertEqual(gone, [dead])
        self.assertEqual(orphans, ["rt-bbbbb-hub", "rt-ccccc-ms3"])

    def test_a_recycled_pid_is_not_the_owner(self):
        alive = lambda pid: True  # noqa: E731
        self.assertTrue(hosts.same_process({"pid": 5, "start": 100}, alive, lambda pid: 100))
        self.assertFalse(hosts.same_process({"pid": 5, "start": 100}, alive, lambda pid: 101))
        self.assertFalse(hosts.same_process({"pid": 5, "start": 100}, lambda pid: False, lambda pid: 100))
        self.assertFalse(hosts.same_process({"pid": None, "start": 100}, alive, lambda pid: 100))

    def test_own_start_time(self):
        self.assertIsInstance(hosts.start_time(os.getpid()), int)
        self.assertTrue(hosts.same_process({"pid": os.getpid(), "start": hosts.start_time(os.getpid())}))

    def test_records_are_read_with_their_path(self):
        with tempfile.TemporaryDirectory() as d:
            hosts._write_json(os.path.join(d, "abcde.json"), {"id": "abcde"})
            with open(os.path.join(d, "broken.json"), "w") as f:
                f.write("{")
            got = hosts.load_records(d)
            self.assertEqual(got, [{"id": "abcde", "path": os.path.join(d, "abcde.json")}])


class FakeHosts:
    def namespace(self, name):
        return f"rt-abcde-{name}"

    def address(self, name):
        return hosts.ADDRESSES[name]


class RingCommandLine(unittest.TestCase):
    def test_namespaced_and_skewed(self):
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, skew.GUARD), "w").close()
            if skew.libfaketime() is None:
                self.skipTest("libfaketime is not installed")
            ring = Ring(d, CONFIG, os.path.join(d, "w"), env={}, hosts=FakeHosts(), skew={"ms2": 80_000})
            argv = ring.argv("ms2")
            self.assertEqual(argv[:5], ["ip", "netns", "exec", "rt-abcde-ms2", "env"])
            self.assertIn("FAKETIME=+0.080000", argv)
            self.assertIn("FAKETIME_DONT_FAKE_MONOTONIC=1", argv)
            self.assertEqual(argv[-3:], [os.path.join(d, "ms2"), "--config", CONFIG])
            self.assertEqual(ring.argv("ms1"), ["ip", "netns", "exec", "rt-abcde-ms1", os.path.join(d, "ms1"),
                                                "--config", CONFIG])
            self.assertEqual(ring._env("ms3")["RINGTRACE__MS3__LISTEN_ADDRESS"], "10.77.0.13")
            self.assertNotIn("FAKETIME", ring._env("ms2"))   # for the service alone, never for `ip`

    def test_refusals(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(RingError):
                Ring(d, CONFIG, os.path.join(d, "w"), env={}, ms3=2, hosts=FakeHosts())
            with self.assertRaises(RingError):   # no guard built
                Ring(d, CONFIG, os.path.join(d, "w"), env={}, skew={"ms2": 1000})
            plain = Ring(d, CONFIG, os.path.join(d, "w"), env={})
            self.assertEqual(plain.argv("ms1"), [os.path.join(d, "ms1"), "--config", CONFIG])


class RunCommandLine(unittest.TestCase):
    def test_hosts_and_skew(self):
        got = run._parse(["--hosts", "--skew", "ms2=+80ms,ms3=-50ms", "--duration", "5"], env := {})
        self.assertEqual(got, ("config/ringtrace.yaml", True, 1, True, {"ms2": 80_000, "ms3": -50_000}))
        self.assertEqual(env, {"RINGTRACE__INTERACTION__DURATION_SECONDS": "5"})

    def test_refusals(self):
        for argv in (["--hosts", "--ms3", "2"], ["--skew", "ms2=+11s"], ["--skew"], ["--skew", "ms9=1ms"]):
            with self.subTest(argv=argv), contextlib.redirect_stderr(io.StringIO()), \
                    self.assertRaises(SystemExit) as e:
                run._parse(argv, {})
            self.assertEqual(e.exception.code, 2)


if __name__ == "__main__":
    unittest.main(verbosity=1)
