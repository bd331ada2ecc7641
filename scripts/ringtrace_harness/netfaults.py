"""Network faults on the namespaced ring (hosts.py): which namespace and which Toxiproxy each link
leaves through, the iptables rules that partition it, and the toxics that slow or reset it.

A partition drops the link's packets inside its client's namespace on both legs: the client to its
Toxiproxy on lo (both directions), and the proxy to the peer on eth0 (out to the peer's port, in
from it). So the client's own TCP connection sees silence, exactly as behind a real partition: no
FIN, no reset, unacknowledged data. A proxy alone would acknowledge the client locally and hide the
partition from its TCP stack (keepalive and TCP_USER_TIMEOUT would never fire). Healing deletes the
same rules; the namespace's removal takes any rule left.

Latency and resets go through the link's Toxiproxy (toxiproxy.py): `latency` on both streams (so
the clock estimate's midpoint stays unbiased), `reset_peer` on the answers.
"""

import subprocess

from .hosts import ADDRESSES, HUB_ADDRESS
from .system import Fatal

# link: (client service, Toxiproxy proxy name, peer address, hosts.ports key of the port the client
# dials on its own 127.0.0.1, hosts.ports key of the peer's port behind the proxy)
LINKS = {
    "ms1-ms2": ("ms1", "ms1_ms2", ADDRESSES["ms2"], "ms2_url", "ms2"),
    "ms2-kafka": ("ms2", "ms2_kafka", HUB_ADDRESS, "kafka", "kafka"),
    "ms3-kafka": ("ms3", "ms3_kafka", HUB_ADDRESS, "kafka", "kafka"),
    "ms3-ms1": ("ms3", "ms3_ms1", ADDRESSES["ms1"], "store_url", "ms1"),
    "ms1-db": ("ms1", "ms1_db", HUB_ADDRESS, "db", "db"),
}

LATENCY = {"latency": 50, "jitter": 20}   # ms: 50 ± 20, uniform, order kept within a connection
RESET_AFTER_MS = 100                      # reset_peer: each connection reset this long into its traffic


class NetFaultError(Fatal):
    """A rule could not be added or removed; the text has iptables's answer."""


def client(link):
    """The service whose namespace the link leaves from."""
    return LINKS[link][0]


def proxy(link):
    """The link's Toxiproxy proxy (in its client's namespace)."""
    return LINKS[link][1]


def partition_rules(link, ports):
    """The iptables rules (chain and match, without -I/-D) that silence LINK inside its client's
    namespace, for the port plan PORTS (hosts.ports)."""
    _, _, peer, local_key, remote_key = LINKS[link]
    local, remote = str(ports[local_key]), str(ports[remote_key])
    return [
        ["OUTPUT", "-o", "lo", "-p", "tcp", "--dport", local, "-j", "DROP"],    # client -> its proxy
        ["OUTPUT", "-o", "lo", "-p", "tcp", "--sport", local, "-j", "DROP"],    # proxy -> client
        ["OUTPUT", "-o", "eth0", "-d", peer, "-p", "tcp", "--dport", remote, "-j", "DROP"],  # proxy -> peer
        ["INPUT", "-i", "eth0", "-s", peer, "-p", "tcp", "--sport", remote, "-j", "DROP"],   # peer -> proxy
    ]


def rule_commands(namespace, rules, action):
    """`ip netns exec NS iptables -w ACTION CHAIN ...` for each rule (ACTION -I adds, -D deletes)."""
    return [["ip", "netns", "exec", namespace, "iptables", "-w", action, rule[0], *rule[1:]] for rule in rules]


def _run(argv):
    got = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if got.returncode != 0:
        raise NetFaultError(f"netfaults: `{' '.join(argv)}` failed: {got.stderr.strip()}")


def partition(hosts, link):
    """Silences LINK (see the module's text); returns what heal() needs."""
    namespace = hosts.namespace(client(link))
    rules = partition_rules(link, hosts.ports)
    added = []
    try:
        for rule in rules:
            _run(rule_commands(namespace, [rule], "-I")[0])
            added.append(rule)
    except NetFaultError:
        heal((namespace, added))
        raise
    return namespace, rules


def heal(token):
    """Deletes the rules partition() added; every rule is tried, the first failure is raised."""
    namespace, rules = token
    failed = None
    for argv in rule_commands(namespace, rules, "-D"):
        try:
            _run(argv)
        except NetFaultError as e:
            failed = failed or e
    if failed:
        raise failed
