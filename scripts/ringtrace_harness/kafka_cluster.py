"""Apache Kafka as a replicated KRaft cluster on loopback (`scripts/infra.sh up kafka --brokers N`,
N from 2 to 5): every node is broker and controller at once, node i on 127.0.0.1:(19090 + 2i)
with its controller on the port above (node 1: 19092 and 19093). The same cached jars as the
single broker (kafka.py), state in .run/kafka-cluster/node-i/. The internal topics, and topics
created without a factor, get replication factor min(N, 3) and min.insync.replicas one below it;
unclean leader election is off. The single broker (127.0.0.1:9092) has other ports and other
data, so the two may run side by side: the ring is pointed at the cluster by
RINGTRACE__KAFKA__BROKERS=<bootstrap()>."""

import os
import shutil
import signal
import subprocess

from . import kafka
from . import system as s
from .java import ensure_java

NAME = "kafka-cluster"
RUN = os.path.join(s.RUN_DIR, "kafka-cluster")
SIZE_FILE = os.path.join(RUN, "brokers")  # N of the cluster formatted here
MIN_NODES, MAX_NODES = 2, 5
HEAP_OPTS = os.environ.get("RINGTRACE_KAFKA_CLUSTER_HEAP_OPTS") or "-Xms256m -Xmx768m"
STOP_TIMEOUT_S = 60
# Once most of the quorum has exited, a node still waiting for the controller to approve its
# controlled shutdown waits in vain (Kafka gives up only after minutes): this long, then SIGKILL.
QUORUM_GONE_S = 10


def port(node):
    """The broker port of node NODE (1-based)."""
    return 19090 + 2 * node


def controller_port(node):
    """The controller port of node NODE."""
    return port(node) + 1


def _dir(node):
    return os.path.join(RUN, f"node-{node}")


def _pidfile(node):
    return os.path.join(_dir(node), "kafka.pid")


def _props(node):
    return os.path.join(_dir(node), "server.properties")


def size():
    """N of the cluster formatted under .run/, or 0 when there is none."""
    try:
        with open(SIZE_FILE) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def nodes():
    """The node numbers of the formatted cluster."""
    return list(range(1, size() + 1))


def bootstrap(n=None):
    """The bootstrap list of the cluster, every node: kafka.brokers for the ring."""
    return ",".join(f"127.0.0.1:{port(i)}" for i in range(1, (n or size()) + 1))


def replication(n=None):
    """The replication factor of the ring's topic and of the internal topics."""
    return min(n or size(), 3)


def node_pid(node):
    """The PID of node NODE, or None."""
    p = s.read_pid(_pidfile(node))
    return p if p and s.pid_alive(p) and s.pid_cmdline_has(p, "kafka.Kafka", _props(node)) else None


def _check_size(n):
    if not MIN_NODES <= n <= MAX_NODES:
        raise s.Fatal(f"kafka: --brokers {n}: a cluster has {MIN_NODES} to {MAX_NODES} nodes (1 is the single broker)")
    formatted = size()
    if formatted and formatted != n:
        running = [i for i in nodes() if node_pid(i)]
        if running:
            raise s.Fatal(f"kafka: a {formatted}-node cluster runs (nodes {' '.join(map(str, running))}); "
                          f"'scripts/infra.sh down kafka' first")
        # Another size was formatted and nothing of it runs: its data is development data.
        shutil.rmtree(RUN, ignore_errors=True)
        s.info(f"kafka: removed the stopped {formatted}-node cluster's data for a {n}-node one")


def _format(java, n):
    """Formats every node's storage for one cluster id (once: later starts reuse it)."""
    os.makedirs(RUN, exist_ok=True)
    voters = ",".join(f"{i}@127.0.0.1:{controller_port(i)}" for i in range(1, n + 1))
    for i in range(1, n + 1):
        os.makedirs(os.path.join(_dir(i), "data"), exist_ok=True)
        os.makedirs(os.path.join(_dir(i), "logs"), exist_ok=True)
        kafka.render_props(_props(i), i, port(i), controller_port(i), os.path.join(_dir(i), "data"), voters,
                           replication(n))
    if size() == n and all(os.path.isfile(os.path.join(_dir(i), "data", "meta.properties")) for i in range(1, n + 1)):
        return
    cid = kafka.new_cluster_id(java, os.path.join(_dir(1), "logs"))
    for i in range(1, n + 1):
        kafka.format_storage(java, _props(i), cid, os.path.join(_dir(i), "logs"))
    with open(SIZE_FILE, "w") as f:
        f.write(f"{n}\n")
    s.info(f"kafka: formatted a {n}-node KRaft cluster in {RUN} (cluster id {cid})")


def _wait_ready(n, running):
    """Waits until every node of RUNNING ({node: pid}) answers and lists all N brokers; fails with
    the node's logs when it dies first."""
    for i, p in sorted(running.items()):
        logs = os.path.join(_dir(i), "logs")
        s.wait_ready(NAME, p, kafka.READY_TIMEOUT_S, lambda i=i: kafka.probe(port(i), n), f"127.0.0.1:{port(i)}",
                     os.path.join(logs, "kafka.out"), os.path.join(logs, "server.log"))


def up(n=3):
    """Starts every node of an N-node cluster that is not running (idempotent: a node killed by a
    fault test comes back on its own data) and waits until each lists all N brokers."""
    t0 = s.now()
    _check_size(n)
    kafka.fetch()
    java = ensure_java("kafka")
    _format(java, n)
    running, started = {}, []
    for i in range(1, n + 1):
        running[i] = node_pid(i)
        if running[i]:
            continue
        s.require_free(NAME, [port(i), controller_port(i)])
        running[i] = kafka.spawn_node(java, _props(i), os.path.join(_dir(i), "logs"), _pidfile(i), HEAP_OPTS)
        started.append(str(i))
    _wait_ready(n, running)
    what = f"started node(s) {' '.join(started)}" if started else "already running"
    s.info(f"kafka: {n}-node cluster on {bootstrap(n)}, replication factor {replication(n)}, "
           f"min.insync.replicas {max(1, replication(n) - 1)}: {what} in {s.elapsed(t0)}")


def down():
    """Stops every node that runs (idempotent); the data stays for the next `up`. All are asked at
    once: the last node alone could not shut down cleanly, its controller quorum gone. One that
    still waits for a controller QUORUM_GONE_S after most of the quorum has exited is killed."""
    running = [(i, node_pid(i)) for i in nodes()]
    for i, p in running:
        if p:
            os.kill(p, signal.SIGTERM)
        elif os.path.exists(_pidfile(i)):
            os.remove(_pidfile(i))
    live = [(i, p) for i, p in running if p]
    if not live:
        s.info(f"{NAME}: not running")
        return
    t0 = s.now()
    majority = len(running) // 2 + 1

    def exited():
        return len(running) - sum(1 for _, p in live if s.pid_alive(p))

    s.waits(STOP_TIMEOUT_S, lambda: exited() >= majority)
    for i, p in live:
        if exited() >= majority and not s.waits(QUORUM_GONE_S, lambda: not s.pid_alive(p)):
            s.info(f"kafka node {i}: still shutting down {s.elapsed(t0)} after SIGTERM with most of the controller "
                   f"quorum gone: no controller can approve its controlled shutdown, so it is killed")
            s.crash_pids(f"kafka node {i}", port(i), [p])
            continue
        s.terminate(f"kafka node {i}", p, _pidfile(i), STOP_TIMEOUT_S)
    s.info(f"{NAME}: {len(live)} node(s) stopped in {s.elapsed(t0)}")


def active_controller():
    """The node id of the active controller (the KRaft quorum's leader), asked of any live node."""
    live = [i for i in nodes() if node_pid(i)]
    if not live:
        raise s.Fatal("kafka: no cluster node is running")
    java = ensure_java("kafka")
    got = subprocess.run([java, "-cp", os.path.join(kafka.LIB, "*"), "org.apache.kafka.tools.MetadataQuorumCommand",
                          "--bootstrap-server", ",".join(f"127.0.0.1:{port(i)}" for i in live), "describe", "--status"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    for line in got.stdout.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "LeaderId" and value.strip().isdigit():
            return int(value.strip())
    raise s.Fatal(f"kafka: no quorum leader in MetadataQuorumCommand's answer: {got.stdout.strip()[-300:]}")


def crash_node(node):
    """SIGKILL to node NODE, as a host crash would; `up` brings it back."""
    p = node_pid(node)
    if not p:
        raise s.Fatal(f"kafka: node {node} is not running, nothing to crash")
    s.crash_pids(f"kafka node {node}", port(node), [p])


def crash():
    """SIGKILL to every node at once."""
    running = [(i, node_pid(i)) for i in nodes() if node_pid(i)]
    if not running:
        raise s.Fatal("kafka: no cluster node is running, nothing to crash")
    for i, p in running:
        s.crash_pids(f"kafka node {i}", port(i), [p])


def pids():
    """The PIDs of the running nodes."""
    found = [p for p in (node_pid(i) for i in nodes()) if p]
    if not found:
        raise s.Fatal("kafka: no cluster node is running")
    return found


def status():
    """One line a node of the cluster formatted here, or one line saying there is none."""
    if not nodes():
        s.info(f"{NAME}: none formatted ('scripts/infra.sh up kafka --brokers 3' starts one)")
    for i in nodes():
        p = node_pid(i)
        if p:
            ok = kafka.probe(port(i), size())
            s.info(f"kafka node {i}: {'running' if ok else 'starting, or does not see every node'} on "
                   f"127.0.0.1:{port(i)} (pid {p})")
        else:
            s.info(f"kafka node {i}: stopped (port {port(i)})")
