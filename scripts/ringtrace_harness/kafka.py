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


def probe():
    """A real Kafka Metadata request: ready when clients can use the broker (milliseconds, where a
    JVM running TopicCommand takes seconds)."""
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=3) as sock:
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
    return got[4:8] == b"\x52\x54\x00\x01" and got[12:16] != b"\x00\x00\x00\x00"


def _wait_ready(p):
    # kafka.out holds JVM errors from before log4j is up; everything else is in server.log.
    s.wait_ready(NAME, p, READY_TIMEOUT_S, probe, f"127.0.0.1:{PORT}",
                 os.path.join(LOGS, "kafka.out"), os.path.join(LOGS, "server.log"))


def _render_props():
    with open(os.path.join(s.INFRA_DIR, "server.properties.in")) as f:
        text = f.read()
    for key, value in {"KAFKA_PORT": PORT, "KAFKA_CONTROLLER_PORT": CONTROLLER_PORT, "KAFKA_DATA_DIR": DATA}.items():
        text = text.replace(f"@{key}@", str(value))
    with open(PROPS + ".tmp", "w") as f:
        f.write(text)
    os.replace(PROPS + ".tmp", PROPS)


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
    _render_props()
    cp = os.path.join(LIB, "*")
    # Format the KRaft storage once; later starts reuse it.
    if not os.path.isfile(os.path.join(DATA, "meta.properties")):
        log = os.path.join(LOGS, "format.log")
        with open(log, "a") as errs:
            got = subprocess.run([java, "-cp", cp, "kafka.tools.StorageTool", "random-uuid"],
                                 stdout=subprocess.PIPE, stderr=errs, text=True)
        cid = got.stdout.strip()
        if got.returncode != 0 or not cid:
            s.fail_with_log(NAME, "StorageTool random-uuid failed", log)
        if not s.run_logged([java, "-cp", cp, "kafka.tools.StorageTool", "format", "-t", cid, "-c", PROPS,
                             "--ignore-formatted"], log):
            s.fail_with_log(NAME, "StorageTool format failed", log)
        s.info(f"kafka: formatted KRaft storage in {DATA} (cluster id {cid})")
    jvm = [*HEAP_OPTS.split(), "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
           "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true",
           f"-Xlog:gc*:file={LOGS}/gc.log:time,tags:filecount=3,filesize=10M",
           f"-Dlog4j2.configurationFile={s.INFRA_DIR}/kafka-log4j2.xml", f"-Dkafka.logs.dir={LOGS}",
           "-cp", cp, "kafka.Kafka", PROPS]
    p = s.spawn([java, *jvm], os.path.join(LOGS, "kafka.out"), PIDFILE)
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
