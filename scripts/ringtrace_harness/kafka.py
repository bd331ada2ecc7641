"""Apache Kafka, single-node KRaft on 127.0.0.1:9092 (controller 9093), from jars fetched once
from Maven Central (scripts/infra/kafka-pom.xml rendered with the pinned versions) into
$CACHE_DIR/kafka-<version>/lib."""

import glob
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile

from . import system as s
from .java import ensure_java
from .pins import pin

NAME = "kafka"
PORT = 9092
CONTROLLER_PORT = 9093
VERSION = pin("KAFKA_VERSION")
POM_TEMPLATE = os.path.join(s.INFRA_DIR, "kafka-pom.xml")
CACHE = os.path.join(s.CACHE_DIR, f"kafka-{VERSION}")
LIB = os.path.join(CACHE, "lib")
MARKER = os.path.join(CACHE, ".complete")   # the sha256 of the pom the jars were fetched with
RUN = os.path.join(s.RUN_DIR, "kafka")
DATA = os.path.join(RUN, "data")
LOGS = os.path.join(RUN, "logs")
PIDFILE = os.path.join(RUN, "kafka.pid")
PROPS = os.path.join(RUN, "server.properties")
HEAP_OPTS = os.environ.get("RINGTRACE_KAFKA_HEAP_OPTS") or "-Xms512m -Xmx1g"
READY_TIMEOUT_S = 120
STOP_TIMEOUT_S = 60


def pom():
    """The Maven manifest: the template with the pinned versions, its own template notes
    (lines starting with "<!--@") left out."""
    with open(POM_TEMPLATE) as f:
        text = "".join(line for line in f if not line.startswith("<!--@"))
    return text.replace("@KAFKA_VERSION@", VERSION).replace("@LOG4J_VERSION@", pin("LOG4J_VERSION"))


def _pom_sha():
    return hashlib.sha256(pom().encode()).hexdigest()


def jars_ready():
    """The cache holds the jars of exactly this manifest."""
    try:
        with open(MARKER) as f:
            return f.read().strip() == _pom_sha()
    except OSError:
        return False


def fetch():
    """Downloads the jars once (mvn dependency:copy-dependencies into a temporary directory moved
    into place, then the marker: an interrupted download is never taken as complete)."""
    if jars_ready():
        return
    ensure_java(NAME)
    s.ensure_command(NAME, "mvn", "maven")
    os.makedirs(LOGS, exist_ok=True)
    with s.FileLock(os.path.join(s.CACHE_DIR, ".kafka-fetch.lock"), 900, NAME):
        if jars_ready():
            return  # fetched by a concurrent run
        t0, log = s.now(), os.path.join(LOGS, "mvn.log")
        s.info(f"kafka: downloading Kafka {VERSION} jars from Maven Central into {CACHE} (once; log: {log})")
        tmp = tempfile.mkdtemp(prefix=f".kafka-{VERSION}.", dir=s.CACHE_DIR)
        try:
            with open(os.path.join(tmp, "pom.xml"), "w") as f:
                f.write(pom())
            if not s.run_logged(["mvn", "-B", "-q", f"-Dmaven.repo.local={s.CACHE_DIR}/m2",
                                 "dependency:copy-dependencies", "-DoutputDirectory=lib",
                                 "-DincludeScope=runtime"], log, cwd=tmp):
                s.fail_with_log(NAME, "mvn dependency:copy-dependencies failed", log)
            for jar in (f"kafka_2.13-{VERSION}.jar", f"kafka-tools-{VERSION}.jar", f"kafka-clients-{VERSION}.jar"):
                if not os.path.isfile(os.path.join(tmp, "lib", jar)):
                    raise s.Fatal(f"kafka: download incomplete: {jar} missing (log: {log})")
            shutil.rmtree(LIB, ignore_errors=True)
            if os.path.exists(MARKER):
                os.remove(MARKER)
            os.makedirs(CACHE, exist_ok=True)
            os.rename(os.path.join(tmp, "lib"), LIB)
            shutil.copy(os.path.join(tmp, "pom.xml"), os.path.join(CACHE, "pom.xml"))
            with open(MARKER, "w") as f:
                f.write(_pom_sha() + "\n")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        s.info(f"kafka: downloaded {len(glob.glob(os.path.join(LIB, '*.jar')))} jars in {s.elapsed(t0)}")


def classpath():
    """The classpath glob of the cached jars, downloading them first if needed."""
    fetch()
    return os.path.join(LIB, "*")


def pid():
    """The PID of our broker, or None."""
    p = s.read_pid(PIDFILE)
    return p if p and s.pid_alive(p) and s.pid_cmdline_has(p, "kafka.Kafka", PROPS) else None


# Metadata v8 (the newest non-flexible version), no topics, correlation id 0x52540001: answered
# only once the broker processes requests; the answer must list at least one live broker. If a
# future Kafka drops v8, readiness times out and server.log says "...METADATA with version 8
# which is not supported": bump the version here.
_METADATA_V8 = (b"\x00\x00\x00\x13\x00\x03\x00\x08\x52\x54\x00\x01\x00\x02rt"
                b"\x00\x00\x00\x00\x00\x00\x00")


def probe(port=PORT, brokers=1):
    """A real Kafka Metadata request: ready when clients can use the broker on PORT and its
    answer lists at least BROKERS live brokers (milliseconds, where a JVM running TopicCommand
    takes seconds)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
            sock.settimeout(3)
            sock.sendall(_METADATA_V8)
            got = b""
            while len(got) < 16:
                chunk = sock.recv(16 - len(got))
                if not chunk:
                    return False
                got += chunk
    except OSError:
        return False
    return got[4:8] == b"\x52\x54\x00\x01" and int.from_bytes(got[12:16], "big") >= brokers


def _wait_ready(p):
    # kafka.out holds JVM errors from before log4j is up; everything else is in server.log.
    s.wait_ready(NAME, p, READY_TIMEOUT_S, probe, f"127.0.0.1:{PORT}",
                 os.path.join(LOGS, "kafka.out"), os.path.join(LOGS, "server.log"))


def render_props(path, node_id, port, controller_port, data, voters, replication):
    """Writes the server.properties of one node from the template (atomically): broker PORT,
    controller CONTROLLER_PORT, storage DATA, quorum VOTERS ("id@host:port,..."), REPLICATION
    the factor of the internal topics and of topics created without one (min ISR one below it,
    at least 1)."""
    with open(os.path.join(s.INFRA_DIR, "server.properties.in")) as f:
        text = f.read()
    values = {"KAFKA_NODE_ID": node_id, "KAFKA_PORT": port, "KAFKA_CONTROLLER_PORT": controller_port,
              "KAFKA_DATA_DIR": data, "KAFKA_VOTERS": voters, "KAFKA_REPLICATION": replication,
              "KAFKA_MIN_ISR": max(1, replication - 1)}
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def new_cluster_id(java, logs):
    """A fresh KRaft cluster id (StorageTool random-uuid)."""
    log = os.path.join(logs, "format.log")
    with open(log, "a") as errs:
        got = subprocess.run([java, "-cp", os.path.join(LIB, "*"), "kafka.tools.StorageTool", "random-uuid"],
                             stdout=subprocess.PIPE, stderr=errs, text=True)
    cid = got.stdout.strip()
    if got.returncode != 0 or not cid:
        s.fail_with_log(NAME, "StorageTool random-uuid failed", log)
    return cid


def format_storage(java, props, cid, logs):
    """Formats one node's KRaft storage for cluster CID (a node formatted before is left as it is)."""
    log = os.path.join(logs, "format.log")
    if not s.run_logged([java, "-cp", os.path.join(LIB, "*"), "kafka.tools.StorageTool", "format", "-t", cid,
                         "-c", props, "--ignore-formatted"], log):
        s.fail_with_log(NAME, "StorageTool format failed", log)


def spawn_node(java, props, logs, pidfile, heap_opts):
    """Starts one Kafka JVM on PROPS, its logs in LOGS; returns its PID."""
    jvm = [*heap_opts.split(), "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
           "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true",
           f"-Xlog:gc*:file={logs}/gc.log:time,tags:filecount=3,filesize=10M",
           f"-Dlog4j2.configurationFile={s.INFRA_DIR}/kafka-log4j2.xml", f"-Dkafka.logs.dir={logs}",
           "-cp", os.path.join(LIB, "*"), "kafka.Kafka", props]
    return s.spawn([java, *jvm], os.path.join(logs, "kafka.out"), pidfile)


def up():
    """Starts the broker (idempotent) and waits until clients can use it."""
    t0 = s.now()
    p = pid()
    if p:
        if probe():
            s.info(f"kafka: already running on 127.0.0.1:{PORT} (pid {p})")
        else:
            _wait_ready(p)
            s.info(f"kafka: running on 127.0.0.1:{PORT} (pid {p}; was still starting, ready after {s.elapsed(t0)})")
        return
    if os.path.exists(PIDFILE):
        s.info(f"kafka: removed stale pid file (pid {s.read_pid(PIDFILE)} is gone or not our broker)")
        os.remove(PIDFILE)
    s.require_free(NAME, [PORT, CONTROLLER_PORT])
    fetch()
    java = ensure_java(NAME)
    os.makedirs(DATA, exist_ok=True)
    os.makedirs(LOGS, exist_ok=True)
    render_props(PROPS, 1, PORT, CONTROLLER_PORT, DATA, f"1@127.0.0.1:{CONTROLLER_PORT}", 1)
    # Format the KRaft storage once; later starts reuse it.
    if not os.path.isfile(os.path.join(DATA, "meta.properties")):
        cid = new_cluster_id(java, LOGS)
        format_storage(java, PROPS, cid, LOGS)
        s.info(f"kafka: formatted KRaft storage in {DATA} (cluster id {cid})")
    p = spawn_node(java, PROPS, LOGS, PIDFILE, HEAP_OPTS)
    _wait_ready(p)
    s.info(f"kafka: started on 127.0.0.1:{PORT} (pid {p}) in {s.elapsed(t0)}")


def down():
    """Stops our broker (idempotent)."""
    p = pid()
    if not p:
        s.report_not_running(NAME, PIDFILE)
        return
    s.terminate(NAME, p, PIDFILE, STOP_TIMEOUT_S)


def crash():
    """SIGKILL to the broker."""
    p = pid()
    if not p:
        raise s.Fatal("kafka: not running, nothing to crash")
    s.crash_pids(NAME, PORT, [p])


def pids():
    """The broker's PID."""
    p = pid()
    if not p:
        raise s.Fatal("kafka: not running")
    return [p]


def status():
    """One line."""
    p = pid()
    if p:
        if probe():
            s.info(f"kafka: running on 127.0.0.1:{PORT} (pid {p})")
        else:
            s.info(f"kafka: starting or unhealthy, not answering metadata requests on 127.0.0.1:{PORT} (pid {p})")
    elif s.port_listening(PORT):
        s.info(f"kafka: stopped (port {PORT} held by a process we did not start: {s.port_holder(PORT)})")
    else:
        s.info(f"kafka: stopped (port {PORT})")
