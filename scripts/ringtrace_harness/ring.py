"""The ring: MS1, MS2 and MS3 started here (stopped here, by PID), their health, GET /start, and
MS1's console followed line by line until a session's finish line.

Each service's stdout and stderr go to WORK/<name>.stdout and WORK/<name>.stderr (a restart
appends). Calls to MS1 go to MS1 itself, or through an API gateway in front of it (through()). RINGTRACE__* variables of the environment given (or of os.environ) pass through; ports
come from RINGTRACE__MS1__PORT, RINGTRACE__MS2__ADMIN_PORT and RINGTRACE__MS3__ADMIN_PORT, else
from the configuration file.

Hosts mode (hosts=, a hosts.Hosts): each service runs in its own network namespace,
`ip netns exec NS env <clock variables> BINARY --config CONFIG` (both exec, so the PID is the
service's), bound to its namespace's address; the URLs stay on 127.0.0.1, which the relay serves.
skew= ({service: µs}, skew.parse) gives those services a clock of their own (libfaketime behind the
clock guard built beside the binaries); the variables go to the service alone, never to `ip`.
"""

from http import client as http_client
import json
import os
import re
import signal
import subprocess
import urllib.parse

from . import skew as clock_skew
from .wait import Abort, WaitTimeout, wait_until

STOP_TIMEOUT_S = 30


class RingError(Exception):
    """The ring did not do what was asked (a service exited, a wait timed out, /start refused)."""


def call(url, method="GET", body=None, headers=None, timeout_s=10.0, source=None):
    """(status, headers, body text) of one HTTP request; (0, {}, "") when nothing answered.
    SOURCE is a local address to send from (a second client on loopback, e.g. 127.0.0.2)."""
    parts = urllib.parse.urlsplit(url)
    conn = http_client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout_s,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, "")), body=body,
                     headers=headers or {})
        r = conn.getresponse()
        return r.status, r.headers, r.read().decode(errors="replace")
    except (OSError, http_client.HTTPException):
        return 0, {}, ""
    finally:
        conn.close()


def http(url, method="GET", body=None, headers=None, timeout_s=10.0):
    """(status, body text); status 0 when nothing answered."""
    status, _, text = call(url, method, body, headers, timeout_s)
    return status, text


def metric(text, series):
    """The value of one exposition series (exact name and labels), or None."""
    m = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def config_value(config, section, key):
    """A top-level section's scalar from the YAML configuration (enough for port and driver)."""
    current = None
    with open(config) as f:
        for line in f:
            if re.match(r"^[A-Za-z0-9_]+:", line):
                current = line.split(":", 1)[0]
            elif current == section:
                m = re.match(rf"^\s+{key}:\s*([^#\s]*)", line)
                if m:
                    return m.group(1).strip("\"'")
    return None


FINISH = re.compile(r"^interaction finished: session_id=(\d+) ")
# MS1 prints it after the finish line, once the session's report is read back from the database.
LATENCY = re.compile(r"^interaction latency: session_id=(\d+) ")


def field(line, key):
    """The value of key=value in a console line, or None."""
    m = re.search(rf" {key}=(\S+)", line or "")
    return m.group(1) if m else None


class Console:
    """Follows a service's stdout as a stream: complete lines only, each once, in order."""

    def __init__(self, path):
        self.path, self.offset, self.lines = path, 0, []
        self.followed = 0  # lines handed out by next_line()

    def read_new(self):
        """The complete lines written since the last call."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        new = chunk[:end].decode(errors="replace").splitlines()
        self.lines += new
        return new

    def next_line(self):
        """The next line not handed out yet, reading the file when all were; None when there is
        none yet. Lines read together come out one by one, so a caller that stops at one line
        leaves the lines after it for the next caller."""
        if self.followed == len(self.lines):
            self.read_new()
        if self.followed == len(self.lines):
            return None
        self.followed += 1
        return self.lines[self.followed - 1]

    def finish_line(self, session_id):
        """MS1's finish line for the session, if it has been written."""
        return self.line(FINISH, session_id)

    def line(self, pattern, session_id):
        """The first line matching `pattern` whose group 1 is the session, if it has been written."""
        self.read_new()
        return next((ln for ln in self.lines if (m := pattern.match(ln)) and int(m.group(1)) == session_id), None)


class Ring:
    """The three services of one test or run."""

    def __init__(self, bin_dir, config, work, env=None, ms3=1, service_env=None, hosts=None, skew=None):
        self.bin_dir, self.config, self.work = bin_dir, config, work
        if hosts is not None and ms3 > 1:
            raise RingError("hosts mode runs one MS3 (one namespace each service); --ms3 N>1 is refused")
        self.hosts, self.skew = hosts, dict(skew or {})
        self.clock_libs = None
        if self.skew:
            guard, faketime = clock_skew.guard_path(bin_dir), clock_skew.libfaketime()
            if not os.path.isfile(guard):
                raise RingError(f"no clock guard at {guard}: build the target ringtrace-clock-guard")
            if faketime is None:
                raise RingError("libfaketime is not installed (apt-get install libfaketime)")
            self.clock_libs = (guard, faketime)
        self.env = dict(os.environ if env is None else env)
        # {name: {variable: value}}: on top of env for that service alone (one service set apart).
        self.service_env = service_env or {}
        self.procs, self.starts = {}, {}
        # MS3s of one consumer group: "ms3", then "ms3-2", "ms3-3", ... (the same binary).
        self.ms3_names = ["ms3"] + [f"ms3-{i}" for i in range(2, ms3 + 1)]
        os.makedirs(work, exist_ok=True)
        self.ms1_address = f"127.0.0.1:{self._port('RINGTRACE__MS1__PORT', 'ms1', 'port', 8080)}"
        self.ms1 = f"http://{self.ms1_address}"   # MS1 itself (POST /store goes here, never via a gateway)
        self.api = self.ms1                         # where the control and read calls go; see through()
        self.admin = {"ms2": f"http://127.0.0.1:{self._port('RINGTRACE__MS2__ADMIN_PORT', 'ms2', 'admin_port', 8091)}",
                      "ms3": f"http://127.0.0.1:{self._port('RINGTRACE__MS3__ADMIN_PORT', 'ms3', 'admin_port', 8092)}"}
        for name in self.ms3_names[1:]:
            self.admin[name] = f"http://127.0.0.1:{self._ms3_admin_port(name)}"
        self.console = Console(self.path("ms1", "stdout"))

    def through(self, url):
        """Sends the control and read calls (/start, /stop, /status, /healthz, /metrics) through a
        gateway in front of MS1 from now on, as users reach MS1 when one is deployed."""
        self.api = url

    def _port(self, var, section, key, default):
        return self.env.get(var) or config_value(self.config, section, key) or default

    def order(self):
        """Start order: MS2, the MS3s, MS1 last, once what it connects to is up."""
        return ["ms2", *self.ms3_names, "ms1"]

    def _ms3_admin_port(self, name):
        # ms3-i: MS3's admin port + 100 (i - 1); 0 (no admin port) stays 0.
        base = int(self._port("RINGTRACE__MS3__ADMIN_PORT", "ms3", "admin_port", 8092))
        return base + 100 * (int(name.split("-")[1]) - 1) if base else 0

    def _env(self, name):
        """The environment of service NAME: service_env's for it on top of env; an extra MS3 gets
        its own admin port, log directory and, under static membership, its own group.instance.id
        (the configured one, suffixed -i)."""
        if name not in self.ms3_names[1:]:
            env = {**self.env, **self.service_env.get(name, {})}
            if self.hosts is not None:
                env[f"RINGTRACE__{name.upper()}__LISTEN_ADDRESS"] = self.hosts.address(name)
            return env
        env = dict(self.env)
        env["RINGTRACE__MS3__ADMIN_PORT"] = str(self._ms3_admin_port(name))
        instance = self.env.get("RINGTRACE__MS3__GROUP_INSTANCE_ID") or config_value(self.config, "ms3",
                                                                                     "group_instance_id")
        if instance:
            env["RINGTRACE__MS3__GROUP_INSTANCE_ID"] = f"{instance}-{name.split('-')[1]}"
        logs = self.env.get("RINGTRACE__LOGGING__DIRECTORY") or config_value(self.config, "logging", "directory")
        if logs:
            env["RINGTRACE__LOGGING__DIRECTORY"] = os.path.join(logs, name)
        return env

    def path(self, name, stream):
        """WORK/<name>.<stream>."""
        return os.path.join(self.work, f"{name}.{stream}")

    def start(self, *names):
        """Starts the services named (default: all, MS1 last)."""
        for name in names or self.order():
            mode = "a" if name in self.starts else "w"
            self.starts[name] = self.starts.get(name, 0) + 1
            binary = "ms3" if name in self.ms3_names else name
            with open(self.path(name, "stdout"), mode) as out, open(self.path(name, "stderr"), mode) as errs:
                self.procs[name] = subprocess.Popen(self.argv(name, binary), env=self._env(name),
                                                    stdin=subprocess.DEVNULL, stdout=out, stderr=errs)

    def argv(self, name, binary=None):
        """The command line of service NAME: in its namespace in hosts mode, behind `env` with
        its clock variables when it is skewed."""
        argv = [os.path.join(self.bin_dir, binary or name), "--config", self.config]
        if name in self.skew:
            argv = ["env", *clock_skew.env_argv(clock_skew.env(self.skew[name], *self.clock_libs)), *argv]
        if self.hosts is not None:
            argv = ["ip", "netns", "exec", self.hosts.namespace(name), *argv]
        return argv

    def pid(self, name):
        """The PID of the service started here."""
        return self.procs[name].pid

    def alive(self, name):
        """The service started here is still running."""
        return name in self.procs and self.procs[name].poll() is None

    def tail(self, name, n=5):
        """The last n lines of the service's stderr."""
        try:
            with open(self.path(name, "stderr"), errors="replace") as f:
                return "\n".join(f.read().splitlines()[-n:])
        except OSError:
            return ""

    def _check_alive(self):
        for name in self.procs:
            if not self.alive(name):
                raise Abort(f"{name} exited with status {self.procs[name].returncode}:\n{self.tail(name)}")

    def healthz(self, name="ms1"):
        """The HTTP status of a service's /healthz (0 when nothing answers)."""
        return http((self.api if name == "ms1" else self.admin[name]) + "/healthz", timeout_s=2)[0]

    def wait(self, what, timeout_s, probe, interval_s=0.1):
        """wait_until that gives up as soon as a service started here exits; RingError either way."""
        def step():
            self._check_alive()
            return probe()
        try:
            return wait_until(what, timeout_s, step, interval_s)
        except (Abort, WaitTimeout) as e:
            raise RingError(str(e)) from None

    def ms3_assigned(self, name="ms3"):
        """That MS3 has had its share of the topic's partitions (it logs "ms3: assigned", also
        when the share is none: more consumers than partitions)."""
        try:
            with open(self.path(name, "stderr"), errors="replace") as f:
                return "ms3: assigned " in f.read()
        except OSError:
            return False

    def wait_ready(self, timeout_s=60):
        """MS1 healthy (database and MS2 link up), then every MS3 in its consumer group."""
        self.wait(f"MS1 to connect to MS2 and the database ({self.api}/healthz)", timeout_s,
                  lambda: self.healthz() == 200)
        for name in self.ms3_names:
            self.wait(f"{name} to join its consumer group", timeout_s, lambda n=name: self.ms3_assigned(n))

    def wait_shared(self, partitions, timeout_s=60):
        """Until the MS3s own the topic's PARTITIONS between them, each at least one when there are
        enough (their /metrics): a session started while the group still rebalances would measure
        the rebalance."""
        def shared():
            owned = [metric(self.metrics(n), "ringtrace_kafka_assigned_partitions") for n in self.ms3_names]
            if any(o is None for o in owned) or sum(owned) != partitions:
                return None
            return owned if len(owned) > partitions or min(owned) >= 1 else None
        self.wait(f"the {len(self.ms3_names)} MS3s to share the {partitions} partition(s)", timeout_s, shared, 0.2)

    def wait_healthy(self, names, timeout_s=90):
        """Each named service answers /healthz with 200."""
        for name in names:
            self.wait(f"{name} /healthz", timeout_s, lambda n=name: self.healthz(n) == 200)

    def get(self, route, timeout_s=10.0):
        """(status, body) of GET on MS1."""
        return http(self.api + route, timeout_s=timeout_s)

    def json(self, route, timeout_s=10.0):
        """MS1's JSON answer to GET ROUTE, or None when it is not 200."""
        code, body = self.get(route, timeout_s)
        return json.loads(body) if code == 200 else None

    def start_session(self, route="/start"):
        """GET /start; the new session's id, or RingError with MS1's answer."""
        code, body = self.get(route)
        try:
            return int(json.loads(body)["session_id"])
        except (ValueError, KeyError, TypeError):
            raise RingError(f"GET {route} failed: {code} {body}") from None

    def wait_finish_line(self, session_id, timeout_s, echo=None):
        """Follows MS1's stdout until the session's finish line and returns it; echo(line) sees
        every console line on the way, the finish line included."""
        return self._wait_line(FINISH, "finish line", session_id, timeout_s, echo)

    def wait_latency_line(self, session_id, timeout_s, echo=None):
        """Like wait_finish_line, for the latency line MS1 prints after the finish line."""
        return self._wait_line(LATENCY, "latency line", session_id, timeout_s, echo)

    def _wait_line(self, pattern, what, session_id, timeout_s, echo):
        def step():
            while (line := self.console.next_line()) is not None:
                if echo:
                    echo(line)
                m = pattern.match(line)
                if m and int(m.group(1)) == session_id:
                    return line
            return None
        found = self.console.line(pattern, session_id) if echo is None else None
        return found or self.wait(f"the {what} of session {session_id}", timeout_s, step, 0.05)

    def metrics(self, name="ms1"):
        """A service's /metrics text ("" when it does not answer)."""
        code, body = http((self.api if name == "ms1" else self.admin[name]) + "/metrics")
        return body if code == 200 else ""

    def kill9(self, name):
        """SIGKILL to the service, as a crash would."""
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    def stop(self, name, timeout_s=STOP_TIMEOUT_S):
        """SIGTERM to the service; its exit status, or a sentence when it had to be killed."""
        proc = self.procs[name]
        if proc.poll() is not None:
            return proc.returncode
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return f"did not stop within {timeout_s} s"

    def stop_all(self, order=None):
        """Stops every running service, one after the other (MS1 first: it ends the session, then
        the MS3s, MS2 last); {name: exit status} of those that were running."""
        order = order or ("ms1", *reversed(self.ms3_names), "ms2")
        return {name: self.stop(name) for name in order if self.alive(name)}
