"""Local infrastructure for ringtrace development, tests and benchmarks, run natively
(no Docker) on loopback (the command line of scripts/infra.sh):
  postgres  PostgreSQL 15 (Debian package) on 127.0.0.1:5432, db/user/password ringtrace
  mariadb   MariaDB 10.11 (Debian package) on 127.0.0.1:3306, db/user/password ringtrace
            (root has no password: unix socket .run/mariadb/mysqld.sock, or loopback TCP)
  kafka     Apache Kafka (jars from Maven Central), single-node KRaft, 127.0.0.1:9092
            (controller 127.0.0.1:9093); with --brokers N (2 to 5) the replicated cluster
            instead: kafka-cluster
  kafka-cluster
            N KRaft nodes, each broker and controller, node i on 127.0.0.1:(19090 + 2i)
            (controller one above): 19092, 19094, 19096 for N = 3; replication factor
            min(N, 3), min.insync.replicas one below, unclean leader election off; state in
            .run/kafka-cluster/. Beside the single broker, never instead of it.
  jaeger    Jaeger v2 (built from source with Go, once), in-memory storage: OTLP HTTP
            127.0.0.1:4318, OTLP gRPC 127.0.0.1:4317, query API/UI 127.0.0.1:16686
            (also query gRPC 127.0.0.1:16685, health 127.0.0.1:13133/status)
  gateway   the API gateway: nginx (Debian package nginx-light) on
            127.0.0.1:${RINGTRACE_GATEWAY_PORT:-8088} in front of MS1 at
            ${RINGTRACE_GATEWAY_UPSTREAM:-127.0.0.1:8080} (gateway/ringtrace.conf.template),
            serving the dashboard (gateway/web/) and relaying GET /traces/{id} to Jaeger's
            query API at ${RINGTRACE_GATEWAY_JAEGER:-127.0.0.1:16686}; access log
            .run/gateway/access.log. Not part of a bare `up` (it fronts MS1, which
            scripts/run.sh starts with it); `down` and `status` include it.

Usage:
  scripts/infra.sh up     [component...] [--brokers N]
                                           start (idempotent), wait until ready; --brokers N
                                           makes kafka the N-node cluster (default 3 for
                                           kafka-cluster)
  scripts/infra.sh down   [component...]   stop only what `up` started (idempotent)
  scripts/infra.sh status [component...]   one line per component
  scripts/infra.sh crash  component...     SIGKILL the running server (PostgreSQL: the postmaster
                                           and every backend; nginx: master and worker), as a host
                                           or container crash would;
                                           `up` restarts it and the server recovers its own data.
                                           For fault-injection tests.
                                           `crash kafka-cluster --node I`: node I alone.
  scripts/infra.sh kafka-classpath         print the classpath glob of the cached Kafka
                                           jars (downloads them first if needed)
  scripts/infra.sh jaeger-binary           print the path of the cached Jaeger binary (builds it
                                           first if needed)
  scripts/infra.sh toxiproxy-binary        print the path of the cached Toxiproxy server (builds it
                                           first if needed)
  scripts/infra.sh hosts-sweep             remove what namespaced rings (run.sh --hosts) left behind
                                           when their harness was killed: namespaces rt-*-*, their
                                           processes, relays and run records; a live run is left alone
  scripts/infra.sh pids   component        print the PIDs of the running server, one per line
                                           (PostgreSQL: the postmaster and its children), so a
                                           benchmark can read the CPU time the server used
Components default to postgres mariadb kafka jaeger for up, and to those plus kafka-cluster and
gateway for down and status, in this order (down runs in reverse): postgres mariadb kafka
kafka-cluster jaeger gateway. `down kafka` and `status kafka` include the cluster.

State (data, logs, pid files) lives in <repo>/.run/; the Kafka jars (and the Maven
repository used to fetch them), the Jaeger and Toxiproxy binaries and the Go caches they are built with in
${RINGTRACE_CACHE_DIR:-$HOME/.cache/ringtrace}.

Adding a component: a module with up, down, status (and crash, pids where they make sense),
added to COMPONENTS.
"""

import os
import sys

from . import gateway, hosts, jaeger, kafka, kafka_cluster, mariadb, postgres, toxiproxy
from . import system as s

COMPONENTS = {"postgres": postgres, "mariadb": mariadb, "kafka": kafka, "kafka-cluster": kafka_cluster,
              "jaeger": jaeger, "gateway": gateway}
# What a bare `up` starts: the servers the services need. The gateway fronts MS1, so it comes up
# only when asked for (infra.sh up gateway, run.sh).
UP_DEFAULT = ("postgres", "mariadb", "kafka", "jaeger")


def _usage():
    return __doc__.rstrip() + "\n"


def select(names, default=tuple(COMPONENTS)):
    """The named components (default: DEFAULT), in COMPONENTS order."""
    for n in names:
        if n not in COMPONENTS:
            raise s.Fatal(f"infra: unknown component '{n}' (known: {' '.join(COMPONENTS)})")
    return [COMPONENTS[c] for c in COMPONENTS if c in (names or default)]


def _run_lock():
    # Serializes up/down of this checkout: two concurrent `up`s would race on pid files.
    return s.FileLock(os.path.join(s.RUN_DIR, ".infra.lock"), 600,
                      "infra (another infra.sh still running?)")


def _option(args, name):
    """Takes `NAME N` out of ARGS; returns N (an int) or None."""
    if name not in args:
        return None
    at = args.index(name)
    if at + 1 >= len(args) or not args[at + 1].isdigit():
        raise s.Fatal(f"infra: {name} needs a number")
    value = int(args[at + 1])
    del args[at:at + 2]
    return value


def _with_cluster(names):
    """`kafka` named for down or status covers the cluster too."""
    return [*names, "kafka-cluster"] if "kafka" in names and "kafka-cluster" not in names else names


def main(argv):
    """Runs one infra.sh command; returns the exit status."""
    cmd, args = (argv[0], list(argv[1:])) if argv else ("", [])
    try:
        if cmd == "up":
            brokers = _option(args, "--brokers")
            chosen = select(args, UP_DEFAULT)
            if brokers is not None and brokers != 1 and kafka in chosen:
                chosen[chosen.index(kafka)] = kafka_cluster
            if brokers == 1 and kafka_cluster in chosen:
                raise s.Fatal("infra: kafka-cluster has 2 to 5 nodes; `up kafka` is the single broker")
            with _run_lock():
                for m in chosen:
                    if m is kafka_cluster:
                        m.up(brokers or 3)
                    else:
                        m.up()
        elif cmd == "down":
            chosen = select(_with_cluster(args))
            with _run_lock():
                for m in reversed(chosen):
                    m.down()
            if not args:
                hosts.sweep_command()
        elif cmd == "status":
            for m in select(_with_cluster(args)):
                m.status()
        elif cmd == "crash":
            node = _option(args, "--node")
            if not args:
                raise s.Fatal("infra: crash needs a component (postgres, mariadb, kafka, kafka-cluster or gateway)")
            chosen = select(args)
            with _run_lock():
                if node is not None:
                    if chosen != [kafka_cluster]:
                        raise s.Fatal("infra: --node is for `crash kafka-cluster` alone")
                    kafka_cluster.crash_node(node)
                    chosen = []
                for m in chosen:
                    if not hasattr(m, "crash"):
                        raise s.Fatal(f"infra: crash is not supported for {m.NAME}")
                    m.crash()
        elif cmd == "kafka-classpath":
            s.info_to_stderr()
            print(kafka.classpath(), flush=True)
        elif cmd == "jaeger-binary":
            s.info_to_stderr()
            print(jaeger.build(), flush=True)
        elif cmd == "toxiproxy-binary":
            s.info_to_stderr()
            print(toxiproxy.build(), flush=True)
        elif cmd == "hosts-sweep":
            hosts.sweep_command()
        elif cmd == "pids":
            if len(args) != 1:
                raise s.Fatal(f"infra: pids needs exactly one component ({' '.join(COMPONENTS)})")
            for p in select(args)[0].pids():
                print(p, flush=True)
        elif cmd in ("-h", "--help", "help"):
            sys.stdout.write(_usage())
        else:
            sys.stderr.write(_usage())
            return 2
    except s.Fatal as e:
        s.err(str(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
