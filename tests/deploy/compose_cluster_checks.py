#!/usr/bin/env python3
"""Checks of docker-compose.kafka-cluster.yml (three Kafka nodes) that need no Docker engine, on
top of either compose variant, from the model `docker compose config` resolves:

  compose_cluster_checks.py static VARIANT  three KRaft nodes (broker and controller each) on the
                                            base file's image and tag, one cluster id, a quorum of
                                            the three as voters, each advertising its own service
                                            name, each on its own data volume with its own health
                                            check and restart policy; the replication settings of
                                            the native cluster (scripts/infra/server.properties.in:
                                            internal topics 3 with min ISR 2, unclean election off,
                                            quick fencing); MS2 and MS3 bootstrap from all three,
                                            create the topic with three replicas, and wait for all
                                            three nodes; the variant's database and naming unchanged
  compose_cluster_checks.py env VARIANT MS1 MS2 MS3
                                            every service accepts the environment compose gives it
                                            with the override (its own --check-config)

VARIANT is postgresql (docker-compose.yml) or mariadb (plus docker-compose.mariadb.yml); the
override comes last.
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
import compose_checks  # noqa: E402
import deploy_common as dc  # noqa: E402
from deploy_common import REPO, SERVICES, VARIANTS, Problems

OVERRIDE = os.path.join(REPO, "docker-compose.kafka-cluster.yml")
TEMPLATE = os.path.join(REPO, "scripts", "infra", "server.properties.in")
NODES = {"kafka": 1, "kafka-2": 2, "kafka-3": 3}   # compose service: KAFKA_NODE_ID
BROKER_PORT, CONTROLLER_PORT = 9092, 9093
DATA_DIR = "/var/lib/kafka/data"
SINGLE_BROKER_VOLUME = "kafka-data"   # docker-compose.yml's: the cluster must not reuse it
# The native cluster's factors for three nodes (scripts/ringtrace_harness/kafka_cluster.py:
# replication(3) = min(3, 3), min ISR one below).
REPLICATION, MIN_ISR = 3, 2
# Settings of the template the cluster must share beyond the placeholders: what it does on a crash.
SHARED_SETTINGS = ("unclean.leader.election.enable", "broker.session.timeout.ms", "broker.heartbeat.interval.ms")
# The official image's environment convention (and the stand-in's): not broker properties.
JVM_VARIABLES = {"KAFKA_VERSION", "KAFKA_HEAP_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
                 "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL",
                 "KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL", "KAFKA_JMX_HOSTNAME", "KAFKA_JMX_PORT"}


def files(variant):
    return dc.compose_files(variant) + [OVERRIDE]


def broker_properties(env):
    """The server.properties the official image writes from KAFKA_* variables: strip KAFKA_,
    lower-case, "___" -> "-", "__" -> "_", "_" -> "."."""
    props = {}
    for name, value in env.items():
        if not name.startswith("KAFKA_") or name in JVM_VARIABLES:
            continue
        key = name[len("KAFKA_"):].lower().replace("___", "-").replace("__", "\x01").replace("_", ".")
        props[key.replace("\x01", "_")] = value
    return props


def template_expectations():
    """{property: value} the cluster must have: every property of the native template whose value
    is the replication factor or the min ISR placeholder, and the shared crash settings."""
    wanted = {}
    with open(TEMPLATE) as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if not sep or key.startswith("#"):
                continue
            if value == "@KAFKA_REPLICATION@":
                wanted[key] = str(REPLICATION)
            elif value == "@KAFKA_MIN_ISR@":
                wanted[key] = str(MIN_ISR)
            elif key in SHARED_SETTINGS:
                wanted[key] = value
    return wanted


def check_static(variant):
    spec = VARIANTS[variant]
    model = dc.resolve(files(variant))
    base = dc.resolve(dc.compose_files(variant))
    services = dc.enabled_services(model)
    problems = Problems(f"kafka-cluster static {variant}")

    expected = set(dc.enabled_services(base)) | set(NODES)
    problems.expect(set(services) == expected, f"services started: {sorted(services)}, expected {sorted(expected)}")

    kafka_version = dc.pins().get("KAFKA_VERSION")
    base_image = base["services"]["kafka"].get("image")
    wanted_props = template_expectations()
    problems.expect(len(wanted_props) >= 7 and all(k in wanted_props for k in SHARED_SETTINGS),
                    f"scripts/infra/server.properties.in changed shape: found {sorted(wanted_props)}")
    voters_wanted = {f"{node_id}@{name}:{CONTROLLER_PORT}" for name, node_id in NODES.items()}
    named_volumes = model.get("volumes") or {}
    cluster_ids, data_volumes = set(), {}
    for name, node_id in NODES.items():
        svc = services.get(name)
        if not problems.expect(svc is not None, f"no service {name}"):
            continue
        image = svc.get("image")
        problems.expect(image == base_image == f"apache/kafka:{kafka_version}",
                        f"{name}: image {image!r}; the single broker runs {base_image!r}, the native tests "
                        f"apache/kafka {kafka_version}")
        env = dc.service_environment(svc)
        props = broker_properties(env)
        problems.expect(props.get("node.id") == str(node_id), f"{name}: node.id {props.get('node.id')!r}, not {node_id}")
        problems.expect(set(props.get("process.roles", "").split(",")) == {"broker", "controller"},
                        f"{name}: process.roles {props.get('process.roles')!r}, not broker and controller")
        voters = props.get("controller.quorum.voters", "")
        problems.expect(set(voters.split(",")) == voters_wanted and len(voters.split(",")) == len(NODES),
                        f"{name}: controller.quorum.voters {voters!r}, expected the three nodes {sorted(voters_wanted)}")
        problems.expect(props.get("advertised.listeners") == f"PLAINTEXT://{name}:{BROKER_PORT}",
                        f"{name}: advertised.listeners {props.get('advertised.listeners')!r}, "
                        f"not PLAINTEXT://{name}:{BROKER_PORT}")
        listeners = props.get("listeners", "")
        problems.expect(f"CONTROLLER://:{CONTROLLER_PORT}" in listeners.split(",")
                        and f"PLAINTEXT://:{BROKER_PORT}" in listeners.split(","),
                        f"{name}: listeners {listeners!r} do not match the voters' and brokers' ports")
        for key, value in wanted_props.items():
            problems.expect(props.get(key) == value,
                            f"{name}: {key} is {props.get(key)!r}, the native cluster's is {value}")
        cluster_ids.add(env.get("CLUSTER_ID"))

        mounted = [(source, target) for source, target in dc.mounts(svc) if target == DATA_DIR]
        problems.expect(len(mounted) == 1 and mounted[0][0] in named_volumes,
                        f"{name}: {DATA_DIR} is not on one named volume ({mounted})")
        if mounted:
            data_volumes[name] = mounted[0][0]
        problems.expect(props.get("log.dirs", DATA_DIR) == DATA_DIR, f"{name}: log.dirs is not {DATA_DIR}")

        hc = (svc.get("healthcheck") or {}).get("test") or []
        problems.expect(compose_checks.healthcheck_ok(svc) and list(hc[1:]) ==
                        ["/opt/kafka/bin/kafka-broker-api-versions.sh", "--bootstrap-server", f"{name}:{BROKER_PORT}"],
                        f"{name}: health check {hc} does not ask this node through its advertised listener")
        problems.expect(svc.get("restart") == "unless-stopped",
                        f"{name}: restart {svc.get('restart')!r}: a crashed node would stay down")
        problems.expect(not dc.published_ports(svc), f"{name}: publishes a port; Kafka stays on the compose network")

    problems.expect(len(cluster_ids) == 1 and None not in cluster_ids and "" not in cluster_ids,
                    f"the nodes' CLUSTER_IDs differ or are unset: {sorted(map(str, cluster_ids))}")
    single_id = dc.service_environment(base["services"]["kafka"]).get("CLUSTER_ID")
    problems.expect(single_id not in cluster_ids, "the cluster has the single broker's CLUSTER_ID")
    problems.expect(len(set(data_volumes.values())) == len(NODES),
                    f"the nodes do not each have their own data volume: {data_volumes}")
    problems.expect(SINGLE_BROKER_VOLUME not in data_volumes.values(),
                    f"a node uses the single broker's {SINGLE_BROKER_VOLUME} volume: {data_volumes}")

    # One tag variable moves all three nodes together.
    moved = dc.resolve(files(variant), {"RINGTRACE_KAFKA_TAG": "9.9.9"})
    tags = {name: moved["services"][name].get("image") for name in NODES}
    problems.expect(set(tags.values()) == {"apache/kafka:9.9.9"}, f"RINGTRACE_KAFKA_TAG=9.9.9 gives {tags}")

    # The ring on the cluster: MS2 and MS3 bootstrap from every node and wait for all of them.
    advertised = {f"{name}:{BROKER_PORT}" for name in NODES}
    for name in ("ms2", "ms3"):
        svc = services.get(name, {})
        env = dc.service_environment(svc)
        brokers = env.get("RINGTRACE__KAFKA__BROKERS", "")
        problems.expect(set(brokers.split(",")) == advertised and len(brokers.split(",")) == len(NODES),
                        f"{name}: kafka.brokers {brokers!r}, expected the three nodes {sorted(advertised)}")
        problems.expect(env.get("RINGTRACE__KAFKA__REPLICATION_FACTOR") == str(REPLICATION),
                        f"{name}: kafka.replication_factor {env.get('RINGTRACE__KAFKA__REPLICATION_FACTOR')!r}, "
                        f"not {REPLICATION}")
        partitions = env.get("RINGTRACE__KAFKA__PARTITIONS", "1")
        problems.expect(partitions.isdigit() and int(partitions) >= 1, f"{name}: kafka.partitions {partitions!r}")
        key = env.get("RINGTRACE__KAFKA__KEY", "session")
        problems.expect(key in ("session", "message"), f"{name}: kafka.key {key!r}")
        for node in NODES:
            cond = (svc.get("depends_on") or {}).get(node)
            problems.expect(isinstance(cond, dict) and cond.get("condition") == "service_healthy",
                            f"{name}: does not wait for a healthy {node} ({cond!r})")
    # MS2 creates the topic and MS3 reads it: the two must agree on the topic's shape and keys.
    ms2_env, ms3_env = (dc.service_environment(services.get(n, {})) for n in ("ms2", "ms3"))
    for key in ("BROKERS", "REPLICATION_FACTOR", "PARTITIONS", "KEY", "TOPIC"):
        variable = f"RINGTRACE__KAFKA__{key}"
        problems.expect(ms2_env.get(variable) == ms3_env.get(variable),
                        f"ms2 and ms3 differ in {variable}: {ms2_env.get(variable)!r} vs {ms3_env.get(variable)!r}")
    # MS1 has no Kafka client: it must not be pointed at the single broker either.
    ms1_env = dc.service_environment(services.get("ms1", {}))
    problems.expect(not any(k.startswith("RINGTRACE__KAFKA__") and k != "RINGTRACE__KAFKA__DELIVERY" for k in ms1_env),
                    f"ms1: Kafka settings other than delivery: {sorted(k for k in ms1_env if k.startswith('RINGTRACE__KAFKA__'))}")

    # The variant stays the variant: the override changes Kafka and nothing else.
    for name, svc in base["services"].items():
        if name in ("kafka", "ms2", "ms3"):
            continue
        problems.expect(model["services"].get(name) == svc, f"{name}: the override changes it")
    for name in SERVICES:
        env = dc.service_environment(services.get(name, {}))
        base_env = dc.service_environment(base["services"][name])
        changed = {k for k in set(env) | set(base_env) if env.get(k) != base_env.get(k)}
        problems.expect(all(re.fullmatch(r"RINGTRACE__KAFKA__\w+", k) for k in changed),
                        f"{name}: the override changes more than Kafka settings: {sorted(changed)}")
        problems.expect(env.get("RINGTRACE__MESSAGE__NAMING") == spec["naming"], f"{name}: naming is not {spec['naming']}")
    problems.finish()


def check_env(variant, binaries):
    problems = Problems(f"kafka-cluster env {variant}")
    for name, env, result in compose_checks.service_env_results(files(variant), binaries):
        problems.expect(result.returncode == 0,
                        f"{name} --check-config refused the compose environment with the cluster override "
                        f"(exit {result.returncode}): {result.stderr.strip()}")
    problems.finish()


def main(argv):
    if len(argv) == 2 and argv[0] == "static" and argv[1] in VARIANTS:
        check_static(argv[1])
    elif len(argv) == 5 and argv[0] == "env" and argv[1] in VARIANTS:
        check_env(argv[1], argv[2:])
    else:
        dc.die(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
