#!/usr/bin/env python3
"""The container path run for real: the compose files on a Docker Engine, as a user runs them.

usage: compose_test.py --variant postgresql|mariadb|cluster [--session-seconds N]
       compose_test.py --publish REGISTRY_NAMESPACE

Needs DOCKER_HOST (and DOCKER_CONFIG with the Compose plugin) pointing at an engine that has the
images the compose files name; scripts/compose-test.sh provides both. Each variant runs as its own
compose project (ringtrace-test-<variant>) on free loopback ports, so it never touches a user's
`ringtrace` project or the native servers' ports:

  up --wait (every health check); the trust boundary (tests/compose/boundary.py: only the gateway
  publishes the API, /store is not routed, the internal hops refuse a missing or wrong token, the
  token is the generated one or RINGTRACE_TOKEN); GET /start through the gateway, the finish line in
  `logs ms1`; rows = the finish line's messages, timestamps ordered (asked with `exec` on the
  database container); every span of the session counted per service, the exporters' /metrics,
  Jaeger's query API and the cycles the code makes agreeing exactly, none dropped or failed
  (tests/e2e/span_count.py); the MariaDB run mounts a configuration file over the images' own that
  sets interaction.duration_seconds (3 s) with no environment override, and its first session
  (plain GET /start) lasts that long, by its finish line and its sessions row; the dashboard and its reports through the gateway (tests/compose/dashboard.py: the page, the
  sessions list, a report that agrees with SQL, a relayed trace linking to Jaeger's UI, the latency line);
  MS3's process is killed mid-session and its restart policy brings it back, healthy, while the
  session still runs (it runs until GET /stop), and the session loses nothing;
  `stop`, then the database alone: the rows are there; `down` (volumes kept), the database alone:
  still there, and the logs volume holds ms1.log with the start and finish lines; `down -v`
  removes the volumes.

--variant cluster runs docker-compose.kafka-cluster.yml on top of docker-compose.yml (three Kafka
nodes), and only what the single-broker variants do not already show: up --wait (every health
check, the three nodes' among them); a session through the gateway stores every generated message;
MS2's topic, as a broker describes it (kafka-topics.sh inside a node), has three partitions,
replication factor 3 on three distinct nodes, all in sync, min.insync.replicas 2 and unclean
election off; the node leading most of the topic's partitions is killed mid-session (SIGKILL, as
MS3 above) and the session still stores every message once (ids 1..messages, no duplicate);
the restart policy brings the node back and every partition has all three replicas in sync again;
`down -v`.

--publish runs scripts/publish-images.sh against a registry at REGISTRY_NAMESPACE's host, removes
the local images, and runs a session from the images compose pulls back (docker-compose.images.yml).

Prints one line per check and the figures (build, up to healthy, messages/s); exit 1 if any check failed.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import boundary  # noqa: E402
import dashboard  # noqa: E402
from span_count import SpanCount  # noqa: E402

PASSWORD = "ringtrace"
# The MariaDB run's interval comes from a configuration file mounted over the images' own, with
# RINGTRACE_DURATION_SECONDS unset (file_interval_override()); short, so it is cheap.
FILE_INTERVAL_S = 3
# How long after the interval a session may end (the last message's drain), below the next second.
INTERVAL_SLACK_S = 0.9

VARIANTS = {
    "postgresql": {"files": ["docker-compose.yml"], "db": "postgres",
                   "columns": ['"MC1_timestamp"', '"MC2_timestamp"', '"MC3_timestamp"', "end_timestamp"]},
    "mariadb": {"files": ["docker-compose.yml", "docker-compose.mariadb.yml"], "db": "mariadb",
                "columns": ["service1_timestamp", "service2_timestamp", "service3_timestamp", "end_timestamp"]},
    "cluster": {"files": ["docker-compose.yml", "docker-compose.kafka-cluster.yml"], "db": "postgres",
                "columns": ['"MC1_timestamp"', '"MC2_timestamp"', '"MC3_timestamp"', "end_timestamp"]},
}
PORT_VARIABLES = ("RINGTRACE_GATEWAY_PORT", "RINGTRACE_JAEGER_UI_PORT", "RINGTRACE_POSTGRES_PORT",
                  "RINGTRACE_MARIADB_PORT")
FINISH = re.compile(r"interaction finished: session_id=(\d+) elapsed=([0-9.]+)s messages=(\d+) stored=(\d+) reason=(\w+)")

failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f" ({detail})" if detail else ""), flush=True)
    if not ok:
        failures.append(name)
    return ok


def figure(name, value):
    print(f"figure: {name}: {value}", flush=True)


def wait_for(deadline_s, probe, interval=0.5):
    """Polls probe() until it returns something truthy or the deadline passes; returns the last result."""
    end = time.monotonic() + deadline_s
    while True:
        result = probe()
        if result or time.monotonic() >= end:
            return result
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_request(url, method="GET", body=None, headers=None, timeout=10):
    """(status, body, headers) of one request; status None when nothing answered."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)
    except OSError as error:
        return None, str(error), {}


def http_get(url, timeout=10):
    return http_request(url, timeout=timeout)[:2]


def docker(*args, check_rc=False, timeout=600, stdin=None):
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, input=stdin)
    if check_rc and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result


class Project:
    """One compose project of one variant, on its own free loopback ports."""

    def __init__(self, variant, name, extra_files=(), extra_env=None):
        self.variant = variant
        self.spec = VARIANTS[variant]
        self.name = name
        base, *variant_files = [os.path.join(REPO, f) for f in self.spec["files"]]
        self.files = [base, *variant_files, *extra_files]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("RINGTRACE_", "COMPOSE_"))}
        self.env.update({var: str(free_port()) for var in PORT_VARIABLES})
        self.env.update(extra_env or {})
        self.env_file = tempfile.NamedTemporaryFile("w", suffix=".env")   # keeps a developer's .env out

    def port(self, variable):
        return int(self.env[variable])

    def gateway(self, path):
        """The URL of PATH through the gateway, the one published port of the API."""
        return f"http://127.0.0.1:{self.port('RINGTRACE_GATEWAY_PORT')}{path}"

    def compose(self, *args, timeout=900, check_rc=False, stdin=None):
        cmd = ["docker", "compose", "--project-name", self.name, "--env-file", self.env_file.name]
        for f in self.files:
            cmd += ["-f", f]
        result = subprocess.run(cmd + list(args), capture_output=True, text=True, env=self.env,
                                cwd=REPO, timeout=timeout, input=stdin)
        if check_rc and result.returncode != 0:
            raise RuntimeError(f"docker compose {' '.join(args)} failed ({result.returncode}):\n"
                               f"{result.stderr.strip()[-3000:]}")
        return result

    def container(self, service):
        return self.compose("ps", "--all", "-q", service).stdout.strip()

    def sql(self, query):
        """One value from the database container, through its own client (`exec`)."""
        if self.spec["db"] == "postgres":
            args = ["exec", "-T", "postgres", "psql", "-U", "ringtrace", "-d", "ringtrace", "-Atc", query]
        else:
            args = ["exec", "-T", "mariadb", "mariadb", "-u", "ringtrace", f"-p{PASSWORD}", "ringtrace",
                    "-N", "-B", "-e", query]
        result = self.compose(*args, timeout=60)
        return result.stdout.strip() if result.returncode == 0 else f"error: {result.stderr.strip()}"

    def volumes(self):
        return set(docker("volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={self.name}").stdout.split())

    def diagnose(self):
        print(self.compose("ps", "--all").stdout, file=sys.stderr)
        print(self.compose("logs", "--no-color", "--tail", "40").stdout[-8000:], file=sys.stderr)


def finish_line(project, session):
    for line in project.compose("logs", "--no-color", "ms1").stdout.splitlines():
        m = FINISH.search(line)
        if m and m.group(1) == str(session):
            return {"elapsed": float(m.group(2)), "messages": int(m.group(3)), "stored": int(m.group(4)),
                    "reason": m.group(5), "line": m.group(0)}
    return None


def start_session(project, route="/start"):
    status, body = http_get(project.gateway(route))
    session = None
    if status == 200:
        session = json.loads(body).get("session_id")
    check(f"GET {route} through the gateway starts a session", session is not None, f"{status} {body.strip()[:120]}")
    return session


def scrape(project, service):
    """A service's /metrics: MS1's through the gateway, MS2's and MS3's admin ports from inside the
    gateway's container (they publish nothing), with its curl."""
    if service == "ms1":
        status, body = http_get(project.gateway("/metrics"))
        return body if status == 200 else ""
    port = {"ms2": 8091, "ms3": 8092}[service]
    result = project.compose("exec", "-T", "gateway", "curl", "-fsS", "--max-time", "5",
                             f"http://{service}:{port}/metrics", timeout=60)
    return result.stdout if result.returncode == 0 else ""


def file_interval_override(directory):
    """A compose file that mounts a configuration file (config/ringtrace.yaml with
    interaction.duration_seconds FILE_INTERVAL_S) over each service's /etc/ringtrace/ringtrace.yaml.
    The run sets no RINGTRACE_DURATION_SECONDS, so docker-compose.yml hands MS1 an empty
    RINGTRACE__INTERACTION__DURATION_SECONDS, which leaves the file's value standing."""
    with open(os.path.join(REPO, "config", "ringtrace.yaml")) as f:
        text, n = re.subn(r"^(interaction:\n(?:[ \t]+.*\n)*?[ \t]+duration_seconds:)[ \t]*\d+",
                          rf"\g<1> {FILE_INTERVAL_S}", f.read(), count=1, flags=re.M)
    if n != 1:
        raise RuntimeError("config/ringtrace.yaml has no interaction.duration_seconds")
    config = os.path.join(directory, "ringtrace.yaml")
    with open(config, "w") as f:
        f.write(text)
    os.chmod(config, 0o644)   # the services run as an unprivileged user
    os.chmod(directory, 0o755)
    mount = (f"      - {{type: bind, source: {config}, target: /etc/ringtrace/ringtrace.yaml, read_only: true,"
             " bind: {create_host_path: false}}\n")
    override = os.path.join(directory, "docker-compose.file-interval.yml")
    with open(override, "w") as f:
        f.write("services:\n"
                + "".join(f"  {s}:\n    volumes:\n{mount}" for s in ("ms1", "ms2", "ms3")))
    return override


def check_file_interval(project, session, done, label):
    """The session of plain GET /start ran for the mounted file's interval: the finish line's
    elapsed time and the sessions row."""
    if done is None:
        return
    check(f"{label}: finish line: reason=duration, elapsed {done['elapsed']} s is the mounted file's "
          f"{FILE_INTERVAL_S} s (at most {INTERVAL_SLACK_S} s more)",
          done["reason"] == "duration" and FILE_INTERVAL_S <= done["elapsed"] < FILE_INTERVAL_S + INTERVAL_SLACK_S)
    row = project.sql(f"SELECT concat(duration_seconds, ',', elapsed_seconds) FROM sessions WHERE session_id = {session}")
    asked, _, took = row.partition(",")
    ok = asked == str(FILE_INTERVAL_S) and re.fullmatch(r"[0-9.]+", took or "") is not None and \
        FILE_INTERVAL_S <= float(took) < FILE_INTERVAL_S + INTERVAL_SLACK_S
    check(f"{label}: sessions row: duration_seconds {FILE_INTERVAL_S} from the mounted file, elapsed_seconds within "
          f"{INTERVAL_SLACK_S} s of it", ok, row)


def stored_rows(project, session):
    value = project.sql(f"SELECT count(*) FROM messages WHERE session_id = {session}")
    return int(value) if value.isdigit() else -1


def check_session(project, session, seconds, label):
    """Waits for the session's finish line, then checks its rows and returns the finish line."""
    done = wait_for(seconds + 60, lambda: finish_line(project, session))
    if not check(f"{label}: finish line in `logs ms1`", done is not None):
        return None
    print(f"     {done['line']}")
    check(f"{label}: every generated message stored", done["messages"] > 0 and done["stored"] == done["messages"],
          f"messages={done['messages']} stored={done['stored']}")
    rows = stored_rows(project, session)
    check(f"{label}: rows in the database = messages", rows == done["messages"], f"{rows} rows")
    c = project.spec["columns"]
    ordered = project.sql(f"SELECT count(*) FROM messages WHERE session_id = {session} "
                          f"AND {c[0]} <= {c[1]} AND {c[1]} <= {c[2]} AND {c[2]} <= {c[3]}")
    check(f"{label}: four ordered timestamps on every row", ordered == str(done["messages"]), ordered)
    ids = project.sql(f"SELECT concat(count(DISTINCT id), ',', min(id), ',', max(id)) FROM messages WHERE session_id = {session}")
    check(f"{label}: ids 1..messages, no duplicate", ids == f"{done['messages']},1,{done['messages']}", ids)
    return done


def first_session(project, seconds, label, spans=None):
    """(session id, its finish line) of one session through the gateway, checked and timed;
    (None, None) when /start failed (the project diagnosed). SPANS, a SpanCount, is read before
    the session starts."""
    if spans is not None:
        check(f"{label}: the exporters settled before the session (ringtrace_spans_queued 0)", spans.before())
    session = start_session(project)
    if session is None:
        project.diagnose()
        return None, None
    first = check_session(project, session, seconds, f"{label} session {session}")
    if first:
        figure(f"{label} container session", f"{first['messages']} messages in {first['elapsed']:.3f} s = "
               f"{first['messages'] / first['elapsed']:.0f} messages/s")
    return session, first


def up(project, label, *services):
    t0 = time.monotonic()
    result = project.compose("up", "-d", "--wait", "--wait-timeout", "300", *services)
    took = time.monotonic() - t0
    ok = check(f"{label}: up --wait {' '.join(services) or '(all)'}: every health check passes", result.returncode == 0,
               result.stderr.strip().splitlines()[-1] if result.returncode else f"{took:.1f} s")
    if not ok:
        project.diagnose()
    return ok, took


# The session MS3 is killed in: longer than MS3's restart may take (RESTART_BOUND_S); GET /stop ends it.
RESTART_BOUND_S = 120
CRASH_SESSION_S = 600

# The MariaDB run brings its own token (RINGTRACE_TOKEN, as a user's .env would); the PostgreSQL run
# uses the one the token service generates.
OWN_TOKEN = {"postgresql": None, "mariadb": "compose-test-own-token"}


def run_variant(variant, seconds):
    file_interval = variant == "mariadb"
    # The MariaDB run takes its interval from a mounted configuration file (the first session),
    # as a user who edits it and sets no RINGTRACE_DURATION_SECONDS would.
    settings = {} if file_interval else {"RINGTRACE_DURATION_SECONDS": str(seconds)}
    if OWN_TOKEN[variant]:
        settings["RINGTRACE_TOKEN"] = OWN_TOKEN[variant]
    with tempfile.TemporaryDirectory(prefix="ringtrace-compose-config.") as directory:
        extra = [file_interval_override(directory)] if file_interval else []
        project = Project(variant, f"ringtrace-test-{variant}", extra_files=extra, extra_env=settings)
        run_project(project, variant, FILE_INTERVAL_S if extra else seconds, bool(extra))


def run_project(project, variant, seconds, file_interval):
    print(f"== {variant}: project {project.name}, the gateway on 127.0.0.1:{project.port('RINGTRACE_GATEWAY_PORT')}, "
          f"Jaeger on 127.0.0.1:{project.port('RINGTRACE_JAEGER_UI_PORT')}", flush=True)
    project.compose("down", "-v", "--remove-orphans", timeout=300)

    t0 = time.monotonic()
    built = project.compose("build", timeout=3600)
    if not check(f"{variant}: compose build (MS1, MS2, MS3 from the source tree)", built.returncode == 0,
                 built.stderr.strip()[-2000:] if built.returncode else ""):
        return
    figure(f"{variant} image build", f"{time.monotonic() - t0:.1f} s")
    ok, took = up(project, variant)
    if not ok:
        return
    figure(f"{variant} up to healthy", f"{took:.1f} s")
    db = project.spec["db"]
    boundary.check_boundary(project, check, http_request, wait_for, OWN_TOKEN[variant])

    # -- one session of the configured length (the mounted file's, for MariaDB) ------------------
    jaeger = f"http://127.0.0.1:{project.port('RINGTRACE_JAEGER_UI_PORT')}"
    spans = SpanCount(lambda service: scrape(project, service), jaeger)
    session, first = first_session(project, seconds, variant, spans)
    if session is None:
        return
    if first:
        if file_interval:
            check_file_interval(project, session, first, f"{variant} session {session}")
        # Every span of the session, per service: the exporters, Jaeger's query API on the published
        # port and the count the code makes agree (tests/e2e/span_count.py).
        resent = project.sql(f"SELECT coalesce(resent, 0) FROM sessions WHERE session_id = {session}")
        verdict = spans.after(session, first["messages"], int(resent) if resent.isdigit() else 0, control=1)
        print(f"     {verdict.summary}")
        for what, ok, detail in verdict.lines:
            check(f"{variant}: spans: {what}", ok, detail)
        dashboard.check_dashboard(project, check, http_request, wait_for, session, first["messages"])

    # -- MS3 crashes mid-session: its restart policy brings it back, nothing is lost -------------
    # The session outlasts any restart (health is probed every 5 s, and a loaded machine takes its
    # time): it runs until MS3 is healthy again and has stored more, then GET /stop ends it.
    session2 = start_session(project, f"/start?duration_seconds={CRASH_SESSION_S}")
    if session2 is not None:
        ms3 = project.container("ms3")
        restarts_before = int(docker("inspect", "-f", "{{.RestartCount}}", ms3).stdout.strip() or 0)
        wait_for(15, lambda: stored_rows(project, session2) > 0, 0.2)
        pid = docker("inspect", "-f", "{{.State.Pid}}", ms3).stdout.strip()
        # A crash, not `docker kill`: the engine counts a kill as a manual stop, which restart
        # policies do not undo. SIGKILL to the container's process from the host is what an
        # out-of-memory kill or a segfault looks like to the engine.
        killed = pid.isdigit() and int(pid) > 0 and subprocess.run(["kill", "-KILL", pid]).returncode == 0
        killed_at = time.monotonic()
        check(f"{variant}: MS3's process killed mid-session (SIGKILL, pid {pid})", killed)

        def restarted():
            state = docker("inspect", "-f", "{{.RestartCount}} {{.State.Running}} {{.State.Health.Status}}", ms3).stdout.split()
            return state if len(state) == 3 and int(state[0]) > restarts_before and state[1:] == ["true", "healthy"] else None
        state = wait_for(RESTART_BOUND_S, restarted, 0.2)
        back_after = time.monotonic() - killed_at
        check(f"{variant}: the restart policy brought MS3 back, healthy", state is not None,
              f"restart count {state[0]}, healthy {back_after:.1f} s after the kill" if state
              else docker("inspect", "-f", "{{json .State}}", ms3).stdout.strip()[:300])
        status, body = http_get(project.gateway("/status"))
        check(f"{variant}: session {session2} was still running when MS3 came back", '"running"' in body, body.strip()[:120])
        rows = stored_rows(project, session2)
        check(f"{variant}: the restarted MS3 carries the session on (rows grow past {rows})",
              wait_for(60, lambda: stored_rows(project, session2) > rows, 0.2), f"{stored_rows(project, session2)} rows")
        status, body = http_get(project.gateway("/stop"), timeout=30)
        check(f"{variant}: GET /stop ends session {session2}", status == 200 and f'"session_id":{session2}' in body,
              f"{status} {body.strip()[:120]}")
        check_session(project, session2, 0, f"{variant} session {session2} (MS3 crashed)")

    # -- the data outlives the containers ------------------------------------------------------
    total = project.sql("SELECT count(*) FROM messages")
    check(f"{variant}: stop", project.compose("stop", timeout=300).returncode == 0)
    if up(project, f"{variant} after stop", db)[0]:
        check(f"{variant}: after stop, the database alone still holds every row", project.sql("SELECT count(*) FROM messages") == total, total)
    check(f"{variant}: down (volumes kept)", project.compose("down", timeout=300).returncode == 0)
    volumes = project.volumes()
    logs_volume = f"{project.name}_logs"
    log = docker("run", "--rm", "--network", "none", "-v", f"{logs_volume}:/logs:ro", "--entrypoint", "cat",
                 f"debian:{debian_tag()}", "/logs/ms1.log")
    check(f"{variant}: the logs volume holds ms1.log with the start and finish lines of session {session}",
          f"interaction started: session_id={session} " in log.stdout and f"interaction finished: session_id={session} " in log.stdout,
          log.stderr.strip()[:200])
    if up(project, f"{variant} after down", db)[0]:
        check(f"{variant}: after down, the database alone still holds every row", project.sql("SELECT count(*) FROM messages") == total, total)
    check(f"{variant}: down -v", project.compose("down", "-v", timeout=300).returncode == 0)
    left = project.volumes()
    check(f"{variant}: down -v removed the volumes", bool(volumes) and not left, f"before {sorted(volumes)}, after {sorted(left)}")


# -- the three-node Kafka cluster (docker-compose.kafka-cluster.yml) ----------------------------

KAFKA_NODES = {1: "kafka", 2: "kafka-2", 3: "kafka-3"}   # KAFKA_NODE_ID: compose service
KAFKA_BOOTSTRAP = ",".join(f"{service}:9092" for service in KAFKA_NODES.values())


def kafka_topic():
    """MS2's topic: kafka.topic of config/ringtrace.yaml (the compose files do not move it)."""
    with open(os.path.join(REPO, "config", "ringtrace.yaml")) as f:
        return re.search(r"^kafka:\n(?:[ \t]+.*\n|\n)*?[ \t]+topic:[ \t]*(\S+)", f.read(), re.M).group(1)


def describe_topic(project, node, *options):
    """The topic as the brokers describe it, asked with the image's kafka-topics.sh inside NODE's
    container: {"header": {...}, "partitions": [{...}, ...]}, or None when the tool failed."""
    result = project.compose("exec", "-T", node, "/opt/kafka/bin/kafka-topics.sh", "--bootstrap-server",
                             KAFKA_BOOTSTRAP, "--describe", "--topic", kafka_topic(), *options, timeout=120)
    if result.returncode != 0:
        print(f"     kafka-topics.sh --describe in {node}: exit {result.returncode}: {result.stderr.strip()[-500:]}")
        return None
    topic = {"header": None, "partitions": [], "text": result.stdout.strip()}
    for line in result.stdout.splitlines():
        # "Topic: T<TAB>TopicId: ...<TAB>PartitionCount: 3<TAB>ReplicationFactor: 3<TAB>Configs: a=b,c=d"
        fields = dict(f.split(": ", 1) if ": " in f else (f.rstrip(":"), "") for f in line.strip().split("\t"))
        if "PartitionCount" in fields:
            configs = fields.get("Configs", "")
            fields["Configs"] = dict(c.split("=", 1) for c in configs.split(",") if "=" in c)
            topic["header"] = fields
        elif "Partition" in fields:
            topic["partitions"].append(fields)
    return topic


def node_ids(text):
    return [int(n) for n in text.split(",") if n.strip().isdigit()]


def check_cluster_topic(project, node):
    """MS2's topic: three partitions, each on three distinct nodes, all in sync; factor 3,
    min.insync.replicas 2, unclean election off. Returns the description (None if unavailable)."""
    topic = describe_topic(project, node)
    header = topic and topic["header"]
    if not check(f"cluster: kafka-topics.sh in {node} describes MS2's topic {kafka_topic()}", bool(header),
                 "" if header else (topic or {}).get("text", "")[:300]):
        return None
    print("     " + topic["text"].replace("\n", "\n     "))
    configs = header["Configs"]
    check("cluster: the topic has replication factor 3", header.get("ReplicationFactor") == "3",
          f"ReplicationFactor {header.get('ReplicationFactor')}")
    check("cluster: the topic has min.insync.replicas 2", configs.get("min.insync.replicas") == "2",
          f"min.insync.replicas {configs.get('min.insync.replicas')}")
    check("cluster: the topic has unclean leader election off",
          configs.get("unclean.leader.election.enable", "false") == "false",
          f"unclean.leader.election.enable {configs.get('unclean.leader.election.enable', '(default false)')}")
    parts = topic["partitions"]
    check("cluster: the topic has 3 partitions (kafka.partitions)",
          header.get("PartitionCount") == "3" and len(parts) == 3, f"PartitionCount {header.get('PartitionCount')}")
    spread = all(sorted(node_ids(p.get("Replicas", ""))) == sorted(KAFKA_NODES) for p in parts)
    check("cluster: every partition has a replica on each of the three nodes", bool(parts) and spread,
          "; ".join(f"{p.get('Partition')}: {p.get('Replicas')}" for p in parts))
    in_sync = all(sorted(node_ids(p.get("Isr", ""))) == sorted(KAFKA_NODES) for p in parts)
    check("cluster: every replica in sync", bool(parts) and in_sync,
          "; ".join(f"{p.get('Partition')}: Isr {p.get('Isr')}" for p in parts))
    return topic


def longest_gap_s(project, session):
    """The longest time between two consecutive stored messages of SESSION (by id), in seconds."""
    value = project.sql("SELECT round(extract(epoch FROM max(gap))::numeric, 3) FROM (SELECT end_timestamp - "
                        "lag(end_timestamp) OVER (ORDER BY id) AS gap FROM messages "
                        f"WHERE session_id = {session}) t")
    return value


def run_cluster(seconds):
    t_variant = time.monotonic()
    project = Project("cluster", "ringtrace-test-cluster", extra_env={"RINGTRACE_DURATION_SECONDS": str(seconds)})
    print(f"== cluster: project {project.name} (three Kafka nodes), the gateway on "
          f"127.0.0.1:{project.port('RINGTRACE_GATEWAY_PORT')}", flush=True)
    project.compose("down", "-v", "--remove-orphans", timeout=300)
    try:
        run_cluster_checks(project, seconds)
    finally:
        check("cluster: down -v", project.compose("down", "-v", timeout=300).returncode == 0)
        figure("cluster variant", f"{time.monotonic() - t_variant:.1f} s")


def run_cluster_checks(project, seconds):
    t0 = time.monotonic()
    built = project.compose("build", timeout=3600)
    if not check("cluster: compose build (MS1, MS2, MS3 from the source tree)", built.returncode == 0,
                 built.stderr.strip()[-2000:] if built.returncode else ""):
        return
    figure("cluster image build", f"{time.monotonic() - t0:.1f} s")
    ok, took = up(project, "cluster")
    if not ok:
        return
    figure("cluster up to healthy", f"{took:.1f} s")
    healthy = {s: docker("inspect", "-f", "{{.State.Health.Status}}", project.container(s)).stdout.strip()
               for s in KAFKA_NODES.values()}
    check("cluster: the three Kafka nodes are healthy", set(healthy.values()) == {"healthy"}, str(healthy))

    # -- one session on the cluster -----------------------------------------------------------
    if first_session(project, seconds, "cluster")[0] is None:
        return
    topic = check_cluster_topic(project, "kafka")

    # -- a Kafka node crashes mid-session: nothing lost, nothing stored twice -------------------
    # The victim: the node leading most of the topic's partitions (node 1 when unknown), so the
    # crash always takes partition leaders with it.
    leaders = [int(p["Leader"]) for p in (topic or {}).get("partitions", []) if p.get("Leader", "").isdigit()]
    victim_id = max(KAFKA_NODES, key=lambda n: (leaders.count(n), -n))
    victim = KAFKA_NODES[victim_id]
    witness = KAFKA_NODES[1 if victim_id != 1 else 2]
    session2 = start_session(project)
    if session2 is None:
        project.diagnose()
        return
    container = project.container(victim)
    restarts_before = int(docker("inspect", "-f", "{{.RestartCount}}", container).stdout.strip() or 0)
    wait_for(15, lambda: stored_rows(project, session2) > 0, 0.2)
    pid = docker("inspect", "-f", "{{.State.Pid}}", container).stdout.strip()
    # A crash, not `docker kill` (which the engine counts as a manual stop): see MS3's above.
    killed = pid.isdigit() and int(pid) > 0 and subprocess.run(["kill", "-KILL", pid]).returncode == 0
    killed_at = time.monotonic()
    check(f"cluster: Kafka node {victim_id} ({victim}, leader of {leaders.count(victim_id)} of the topic's "
          f"partitions) killed mid-session (SIGKILL, pid {pid})", killed)
    done = check_session(project, session2, seconds, f"cluster session {session2} (Kafka node {victim_id} crashed)")
    if done:
        figure(f"cluster session with node {victim_id} killed", f"{done['messages']} messages, "
               f"longest gap between stored messages {longest_gap_s(project, session2)} s")

    def restarted():
        state = docker("inspect", "-f", "{{.RestartCount}} {{.State.Running}} {{.State.Health.Status}}",
                       container).stdout.split()
        return state if len(state) == 3 and int(state[0]) > restarts_before and state[1:] == ["true", "healthy"] else None
    state = wait_for(120, restarted, 0.5)
    check(f"cluster: the restart policy brought Kafka node {victim_id} back, healthy", state is not None,
          f"restart count {state[0]}, healthy {time.monotonic() - killed_at:.1f} s after the kill" if state
          else docker("inspect", "-f", "{{json .State}}", container).stdout.strip()[:300])

    def caught_up():
        t = describe_topic(project, witness)
        parts = (t or {}).get("partitions", [])
        return t if parts and all(sorted(node_ids(p.get("Isr", ""))) == sorted(KAFKA_NODES) for p in parts) else None
    back = wait_for(90, caught_up, 2.0)
    check(f"cluster: node {victim_id} caught up: every partition has all three replicas in sync again",
          back is not None, f"{time.monotonic() - killed_at:.1f} s after the kill" if back else "")


def debian_tag():
    with open(os.path.join(REPO, "Dockerfile")) as f:
        return re.search(r"^ARG DEBIAN_TAG=(\S+)", f.read(), re.M).group(1)


def run_publish(namespace, seconds):
    project = Project("postgresql", "ringtrace-test-published", [os.path.join(REPO, "docker-compose.images.yml")],
                      {"RINGTRACE_IMAGE_NAMESPACE": namespace, "RINGTRACE_DURATION_SECONDS": str(seconds)})
    print(f"== published images: {namespace}", flush=True)
    project.compose("down", "-v", "--remove-orphans", timeout=300)
    env = dict(os.environ, RINGTRACE_IMAGE_NAMESPACE=namespace)
    published = subprocess.run(["bash", os.path.join(REPO, "scripts", "publish-images.sh")], capture_output=True,
                               text=True, env=env, cwd=REPO, timeout=3600)
    if not check(f"scripts/publish-images.sh pushes to {namespace}", published.returncode == 0,
                 (published.stdout + published.stderr).strip()[-1500:]):
        return
    version = re.search(r"pushed \S+:\{([^,]+),latest\}", published.stdout)
    images = [f"{namespace}/ringtrace-{s}" for s in ("ms1", "ms2", "ms3")]
    refs = [f"{i}:{t}" for i in images for t in ("latest", version.group(1) if version else "latest")]
    docker("rmi", "--force", *sorted(set(refs)), "ringtrace-ms1:local", "ringtrace-ms2:local", "ringtrace-ms3:local")
    gone = all(docker("image", "inspect", r).returncode != 0 for r in refs)
    check("the published images removed from the engine", gone)
    ok, took = up(project, "published images")
    if ok:
        pulled = all(docker("image", "inspect", f"{i}:latest").returncode == 0 for i in images)
        check("compose pulled the three images back from the registry", pulled)
        session = start_session(project)
        if session is not None:
            check_session(project, session, seconds, f"published images session {session}")
    project.compose("down", "-v", timeout=300)
    # The pulled copies are the registry's, not ours to keep: the next run builds its own again.
    docker("rmi", "--force", *sorted(set(refs)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS))
    parser.add_argument("--publish", metavar="REGISTRY_NAMESPACE")
    parser.add_argument("--session-seconds", type=int, default=10)
    args = parser.parse_args()
    if not (args.variant or args.publish):
        parser.error("--variant or --publish")
    try:
        if args.variant == "cluster":
            run_cluster(args.session_seconds)
        elif args.variant:
            run_variant(args.variant, args.session_seconds)
        if args.publish:
            run_publish(args.publish, min(args.session_seconds, 5))
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        check("no command failed or hung", False, str(error))
    if failures:
        print(f"{len(failures)} check(s) failed: {'; '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
