"""Unit tests of the pure parts of the network faults: the iptables rules that partition each link
(ringtrace_harness.netfaults) and the catalogue of faults, detectors and explanations of
tests/faults/network_faults.py. No root, no server: label unit.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "scripts"))

import network_faults as nf  # noqa: E402
from ringtrace_harness import hosts, netfaults  # noqa: E402

PORTS = {"ms1": 18560, "ms2": 18561, "ms2_admin": 18562, "ms3_admin": 18563, "ms2_url": 18561,
         "store_url": 18560, "kafka": 9092, "db": 3306, "otlp": 4318}


class PartitionRules(unittest.TestCase):
    def test_both_legs_of_the_websocket_are_silenced_in_ms1s_namespace(self):
        self.assertEqual(netfaults.client("ms1-ms2"), "ms1")
        self.assertEqual(netfaults.partition_rules("ms1-ms2", PORTS), [
            ["OUTPUT", "-o", "lo", "-p", "tcp", "--dport", "18561", "-j", "DROP"],
            ["OUTPUT", "-o", "lo", "-p", "tcp", "--sport", "18561", "-j", "DROP"],
            ["OUTPUT", "-o", "eth0", "-d", "10.77.0.12", "-p", "tcp", "--dport", "18561", "-j", "DROP"],
            ["INPUT", "-i", "eth0", "-s", "10.77.0.12", "-p", "tcp", "--sport", "18561", "-j", "DROP"]])

    def test_each_link_drops_its_own_ports_and_peer(self):
        want = {"ms2-kafka": ("ms2", "9092", "10.77.0.1", "9092"), "ms3-kafka": ("ms3", "9092", "10.77.0.1", "9092"),
                "ms3-ms1": ("ms3", "18560", "10.77.0.11", "18560"), "ms1-db": ("ms1", "3306", "10.77.0.1", "3306")}
        for link, (ns, local, peer, remote) in want.items():
            with self.subTest(link=link):
                rules = netfaults.partition_rules(link, PORTS)
                self.assertEqual(netfaults.client(link), ns)
                self.assertEqual([r[6] for r in rules[:2]], [local, local])
                self.assertEqual((rules[2][4], rules[2][8]), (peer, remote))
                self.assertEqual((rules[3][4], rules[3][8]), (peer, remote))
                self.assertTrue(all(r[-2:] == ["-j", "DROP"] for r in rules))

    def test_commands_run_inside_the_namespace_and_delete_what_they_add(self):
        rules = netfaults.partition_rules("ms3-ms1", PORTS)
        add = netfaults.rule_commands("rt-abcde-ms3", rules, "-I")
        delete = netfaults.rule_commands("rt-abcde-ms3", rules, "-D")
        self.assertEqual(add[0][:7], ["ip", "netns", "exec", "rt-abcde-ms3", "iptables", "-w", "-I"])
        self.assertEqual([a[7:] for a in add], [d[7:] for d in delete])
        self.assertEqual({d[6] for d in delete}, {"-D"})

    def test_every_link_goes_through_a_proxy_of_its_clients_namespace(self):
        plan = hosts.proxies(PORTS)
        for link in netfaults.LINKS:
            with self.subTest(link=link):
                names = {p["name"]: p for p in plan[netfaults.client(link)]}
                self.assertIn(netfaults.proxy(link), names)
                local_key = netfaults.LINKS[link][3]
                self.assertEqual(names[netfaults.proxy(link)]["listen"], f"127.0.0.1:{PORTS[local_key]}")


class Catalogue(unittest.TestCase):
    def test_every_partition_has_a_detector_with_a_bound(self):
        for link in nf.PARTITIONS:
            with self.subTest(link=link):
                dets = nf.detectors(f"partition:{link}")
                self.assertTrue(dets)
                self.assertTrue(all(d[2] in ("zero", "rise") and d[3] > 0 for d in dets))
        self.assertEqual(nf.detectors("latency:ms1-ms2"), [])
        self.assertEqual(nf.detectors("reset:all"), [])

    def test_the_full_matrix_covers_each_hop_with_each_kind(self):
        for k in ("partition", "latency", "reset"):
            self.assertEqual(sorted(nf.target(f) for f in nf.FAULTS if nf.kind(f) == k), sorted(netfaults.LINKS))
        self.assertIn("slowdb", nf.FAULTS)

    def test_every_fault_has_a_title_and_an_at_most_once_explanation(self):
        for fault in nf.FAULTS + nf.EXTRA_FAULTS:
            with self.subTest(fault=fault):
                self.assertTrue(nf.title(fault))
                self.assertTrue(nf.AT_MOST_ONCE_LOSSES.get(fault) or nf.AT_MOST_ONCE_LOSSES.get(nf.kind(fault)))

    def test_sessions_outlast_the_fault(self):
        self.assertGreater(nf.SESSION_S["partition"], nf.FAULT_AT_S + nf.PARTITION_S)
        self.assertGreater(nf.SESSION_S["latency"], nf.FAULT_AT_S + nf.LATENCY_S)
        self.assertGreater(nf.SESSION_S["slowdb"], nf.FAULT_AT_S + nf.SLOW_DB_S)
        self.assertGreater(nf.SLOW_DB_S, 5)   # longer than ms3.request_timeout_ms

    def test_span(self):
        self.assertEqual(nf.span([]), "–")
        self.assertEqual(nf.span([2.5]), "2.5")
        self.assertEqual(nf.span([3, 1.25, 2]), "1.25–3")


if __name__ == "__main__":
    unittest.main(verbosity=1)
