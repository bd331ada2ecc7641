"""Hosts on one machine, for tests (scripts/run.sh --hosts): each service in a network namespace of
its own, with its own address and its own loopback, and a hub namespace holding the bridge and the
"backends host" address, all made here and removed on every exit path. Nothing is added to the root
namespace: no address, route, rule or sysctl.

  root ns        Kafka, PostgreSQL/MariaDB, Jaeger on 127.0.0.1 (infra.sh), the harness, the gateway;
                 the relay (netns_relay.py) listens on 127.0.0.1 at MS1's port, MS2's and MS3's admin
                 ports and the three Toxiproxy APIs, and connects inside the namespaces
  rt-<id>-hub    bridge br0 10.77.0.1/24; the relay listens on 10.77.0.1 at the database, Kafka and
                 OTLP ports and connects to the root namespace's 127.0.0.1 at the same port
  rt-<id>-ms1    eth0 10.77.0.11: MS1 binds it; Toxiproxy on this namespace's 127.0.0.1 at the ports
                 MS1's configuration names (MS2's WebSocket, the database, OTLP), API 127.0.0.1:8474
  rt-<id>-ms2    eth0 10.77.0.12: MS2 and its admin port; Toxiproxy at Kafka's and OTLP's ports
  rt-<id>-ms3    eth0 10.77.0.13: MS3's admin port; Toxiproxy at Kafka's, MS1's /store and OTLP's ports

So a service keeps every configured URL (127.0.0.1:...): inside its namespace that is its own
Toxiproxy, and each link leaves through the proxy of its client's namespace, where the fault
harness can add latency or resets. Kafka's advertised 127.0.0.1:9092 is right in every namespace.
Only the bind addresses change (RINGTRACE__MS{1,2,3}__LISTEN_ADDRESS). The root side keeps the
services' port numbers, so the Ring's URLs, the gateway and the dashboard work unchanged; the
Toxiproxy API of service i (1..3) is on the root's 127.0.0.1 at MS1's port + 400 + i.

Cleanup on every exit path:
  1. a run record, /run/ringtrace-hosts/<id>.json (tmpfs, gone at reboot like /run/netns), written
     before anything is made: the owner's PID and start time, the namespaces, the relay's and the
     reaper's PIDs with their start times;
  2. Hosts is a context manager: destroy() on a normal exit or an exception;
  3. a reaper (python3 -m ringtrace_harness.hosts reap RECORD, its own session, so a kill of the
     harness's process group misses it) waits on a pidfd of the owner and runs destroy() from the
     record when the owner dies, SIGKILL included; it exits when the record goes (a normal end);
  4. sweep(), at every create() and as `scripts/infra.sh hosts-sweep` (also run by `infra.sh down`):
     destroys every record whose owner is gone, and every rt-<5 chars>-{hub,ms1,ms2,ms3} namespace
     no live record claims (harness and reaper both killed).
destroy(): SIGTERM to every process in our namespaces (SIGKILL after 5 s) and to the relay, then
`ip netns del`: the veths, the bridge and any iptables rule go with their namespace.

  python3 -m ringtrace_harness.hosts reap RECORD | sweep | hold
`hold` makes the namespaces (ports from RINGTRACE__* and config/ringtrace.yaml), prints the id and
waits to be killed: what tests/hosts/hosts_cleanup_test.py kills.
"""

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.parse

from . import system as s
from .ring import config_value

RECORD_DIR = "/run/ringtrace-hosts"
NETNS_DIR = "/run/netns"
SERVICES = ("ms1", "ms2", "ms3")
SUBNET = "10.77.0"
HUB_ADDRESS = f"{SUBNET}.1"
ADDRESSES = {"ms1": f"{SUBNET}.11", "ms2": f"{SUBNET}.12", "ms3": f"{SUBNET}.13"}
TOXIPROXY_API_PORT = 8474        # inside each service namespace
TOXIPROXY_API_OFFSET = 400       # root side: MS1's port + 400 + i
NS_PATTERN = re.compile(r"^rt-[0-9a-z]{5}-(hub|ms1|ms2|ms3)$")
STOP_TIMEOUT_S = 5
READY_TIMEOUT_S = 20
DEFAULT_DB_PORTS = {"postgresql": 5432, "mariadb": 3306}


class HostsError(s.Fatal):
    """The namespaces could not be made or used; the text says what and how to look."""


# ------------------------------------------------------------------------------ pure parts

def make_id(pid, t):
    """5 lowercase base-36 characters from a PID and a time: short namespace names, distinct runs."""
    n = (int(pid) * 1_000_003 + int(t * 1000)) % 36 ** 5
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(5):
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


def namespaces(run_id):
    """{role: namespace name}: hub, ms1, ms2, ms3."""
    return {role: f"rt-{run_id}-{role}" for role in ("hub", *SERVICES)}


def _url_port(url, what):
    parts = urllib.parse.urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise HostsError(f"hosts: {what} ({url}) must be on 127.0.0.1: inside a service's namespace that is its "
                         "own Toxiproxy")
    return parts.port or (443 if parts.scheme in ("https", "wss") else 80)


def ports(env, config):
    """The ports hosts mode needs, from RINGTRACE__* in ENV, else the configuration file, else the
    defaults: what each service binds and what each connects to."""
    def value(var, section, key, default=None):
        return env.get(var) or config_value(config, section, key) or default
    driver = value("RINGTRACE__DATABASE__DRIVER", "database", "driver", "postgresql")
    db_host = value("RINGTRACE__DATABASE__HOST", "database", "host", "127.0.0.1")
    if db_host not in ("127.0.0.1", "localhost"):
        raise HostsError(f"hosts: database.host ({db_host}) must be 127.0.0.1")
    brokers = value("RINGTRACE__KAFKA__BROKERS", "kafka", "brokers", "127.0.0.1:9092").split(",")
    if len(brokers) != 1 or not brokers[0].startswith(("127.0.0.1:", "localhost:")):
        raise HostsError(f"hosts: kafka.brokers ({','.join(brokers)}) must be the single broker on 127.0.0.1 "
                         "(the replicated cluster is not supported in hosts mode)")
    db_port = int(value("RINGTRACE__DATABASE__PORT", "database", "port", 0) or 0) or DEFAULT_DB_PORTS.get(driver)
    if db_port is None:
        raise HostsError(f"hosts: unknown database.driver {driver}")
    return {
        "ms1": int(value("RINGTRACE__MS1__PORT", "ms1", "port", 8080)),
        "ms2": int(value("RINGTRACE__MS2__PORT", "ms2", "port", 8081)),
        "ms2_admin": int(value("RINGTRACE__MS2__ADMIN_PORT", "ms2", "admin_port", 8091)),
        "ms3_admin": int(value("RINGTRACE__MS3__ADMIN_PORT", "ms3", "admin_port", 8092)),
        "ms2_url": _url_port(value("RINGTRACE__MS1__MS2_URL", "ms1", "ms2_url", "ws://127.0.0.1:8081/ws"),
                             "ms1.ms2_url"),
        "store_url": _url_port(value("RINGTRACE__MS3__STORE_URL", "ms3", "store_url",
                                     "http://127.0.0.1:8080/store"), "ms3.store_url"),
        "kafka": int(brokers[0].rsplit(":", 1)[1]),
        "db": db_port,
        "otlp": _url_port(value("RINGTRACE__TRACING__ENDPOINT", "tracing", "endpoint",
                                "http://127.0.0.1:4318/v1/traces"), "tracing.endpoint"),
    }


def proxies(p):
    """{service: [Toxiproxy proxy]} for ports P: every link a service opens, named <client>_<peer>,
    listening on the namespace's 127.0.0.1 at the port the service's configuration names."""
    def proxy(name, listen_port, host, port):
        return {"name": name, "listen": f"127.0.0.1:{listen_port}", "upstream": f"{host}:{port}", "enabled": True}
    return {
        "ms1": [proxy("ms1_ms2", p["ms2_url"], ADDRESSES["ms2"], p["ms2"]),
                proxy("ms1_db", p["db"], HUB_ADDRESS, p["db"]),
                proxy("ms1_jaeger", p["otlp"], HUB_ADDRESS, p["otlp"])],
        "ms2": [proxy("ms2_kafka", p["kafka"], HUB_ADDRESS, p["kafka"]),
                proxy("ms2_jaeger", p["otlp"], HUB_ADDRESS, p["otlp"])],
        "ms3": [proxy("ms3_kafka", p["kafka"], HUB_ADDRESS, p["kafka"]),
                proxy("ms3_ms1", p["store_url"], ADDRESSES["ms1"], p["ms1"]),
                proxy("ms3_jaeger", p["otlp"], HUB_ADDRESS, p["otlp"])],
    }


def toxiproxy_api_ports(p):
    """{service: root-side port of its Toxiproxy API}."""
    return {name: p["ms1"] + TOXIPROXY_API_OFFSET + i for i, name in enumerate(SERVICES, 1)}


def relay_routes(p, ns):
    """The relay's routes (netns_relay.py's spec): the hub's backends address to the root's
    127.0.0.1, and the root's 127.0.0.1 to the services' API, admin and Toxiproxy ports."""
    routes = [{"listen_ns": ns["hub"], "listen": f"{HUB_ADDRESS}:{port}", "connect_ns": None,
               "connect": f"127.0.0.1:{port}"} for port in sorted({p["db"], p["kafka"], p["otlp"]})]
    routes.append({"listen_ns": None, "listen": f"127.0.0.1:{p['ms1']}", "connect_ns": ns["ms1"],
                   "connect": f"{ADDRESSES['ms1']}:{p['ms1']}"})
    for name, key in (("ms2", "ms2_admin"), ("ms3", "ms3_admin")):
        if p[key]:
            routes.append({"listen_ns": None, "listen": f"127.0.0.1:{p[key]}", "connect_ns": ns[name],
                           "connect": f"{ADDRESSES[name]}:{p[key]}"})
    for name, port in toxiproxy_api_ports(p).items():
        routes.append({"listen_ns": None, "listen": f"127.0.0.1:{port}", "connect_ns": ns[name],
                       "connect": f"127.0.0.1:{TOXIPROXY_API_PORT}"})
    return routes


def setup_commands(ns):
    """The `ip` commands that make the namespaces: every veth is made inside its service's
    namespace with its peer placed straight into the hub, so no interface ever exists in the root."""
    hub = ns["hub"]
    cmds = [["ip", "netns", "add", hub], ["ip", "-n", hub, "link", "set", "lo", "up"],
            ["ip", "-n", hub, "link", "add", "br0", "type", "bridge"],
            ["ip", "-n", hub, "addr", "add", f"{HUB_ADDRESS}/24", "dev", "br0"],
            ["ip", "-n", hub, "link", "set", "br0", "up"]]
    for name in SERVICES:
        cmds += [["ip", "netns", "add", ns[name]], ["ip", "-n", ns[name], "link", "set", "lo", "up"],
                 ["ip", "-n", ns[name], "link", "add", "eth0", "type", "veth", "peer", "name", name, "netns", hub],
                 ["ip", "-n", hub, "link", "set", name, "master", "br0", "up"],
                 ["ip", "-n", ns[name], "addr", "add", f"{ADDRESSES[name]}/24", "dev", "eth0"],
                 ["ip", "-n", ns[name], "link", "set", "eth0", "up"]]
    return cmds


def start_time(pid):
    """Field 22 of /proc/PID/stat (clock ticks since boot), or None when PID is gone: a PID with
    another start time is another process."""
    try:
        with open(f"/proc/{int(pid)}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def same_process(entry, alive=None, started=None):
    """ENTRY ({pid, start}) is still the process it names: alive and started at the same tick."""
    alive = alive or s.pid_alive
    started = started or start_time
    return entry.get("pid") is not None and alive(entry["pid"]) and started(entry["pid"]) == entry.get("start")


def sweep_plan(records, listed, owner_alive):
    """(records whose owner is gone, namespaces to remove) from the run records, the namespaces
    `ip netns list` gives and owner_alive(record): a live run's namespaces are never touched, and
    only names of our own pattern are ever removed."""
    live = [r for r in records if owner_alive(r)]
    dead = [r for r in records if not owner_alive(r)]
    claimed = {n for r in live for n in r.get("namespaces", [])}
    orphans = [n for n in listed if NS_PATTERN.match(n) and n not in claimed]
    return dead, orphans


# ------------------------------------------------------------------------------ records

def _write_json(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def load_records(directory=RECORD_DIR):
    """Every readable run record, each with its own "path"."""
    out = []
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return out
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(directory, name)
        try:
            with open(path) as f:
                record = json.load(f)
        except (OSError, ValueError):
            continue
        record["path"] = path
        out.append(record)
    return out


def _owner_alive(record):
    return same_process({"pid": record.get("owner_pid"), "start": record.get("owner_start")})


def listed_namespaces():
    """The names `ip netns list` gives."""
    got = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return [line.split()[0] for line in got.stdout.splitlines() if line.strip()]


def _ns_pids(name):
    got = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    return [int(x) for x in got.stdout.split() if x.isdigit()]


def _kill(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def destroy_namespace(name):
    """Every process inside NAME stopped (SIGTERM, SIGKILL after 5 s), then the namespace removed."""
    if not os.path.exists(os.path.join(NETNS_DIR, name)):
        return
    pids = _ns_pids(name)
    _kill(pids, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while (pids := [p for p in _ns_pids(name) if s.pid_alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pids:
        _kill(pids, signal.SIGKILL)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while [p for p in _ns_pids(name) if s.pid_alive(p)] and time.monotonic() < deadline:
            time.sleep(0.05)
    subprocess.run(["ip", "netns", "del", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def destroy_record(record):
    """Removes everything RECORD names (its processes, checked by start time, and its namespaces),
    then the record itself. Safe to repeat, and from any process."""
    me = os.getpid()
    processes = [e for e in record.get("processes", []) if e.get("pid") != me and same_process(e)]
    for e in processes:
        _kill([e["pid"]], signal.SIGTERM)
    for name in record.get("namespaces", []):
        destroy_namespace(name)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while [e for e in processes if same_process(e)] and time.monotonic() < deadline:
        time.sleep(0.05)
    _kill([e["pid"] for e in processes if same_process(e)], signal.SIGKILL)
    try:
        os.remove(record["path"])
    except (KeyError, FileNotFoundError):
        pass


def sweep(quiet=False):
    """Removes what killed runs left (see the module's text); a sentence saying what went, or None."""
    if not os.path.isdir(NETNS_DIR) and not os.path.isdir(RECORD_DIR):
        return None
    dead, orphans = sweep_plan(load_records(), listed_namespaces(), _owner_alive)
    for record in dead:
        destroy_record(record)
    for name in orphans:
        destroy_namespace(name)
    gone = sorted({n for r in dead for n in r.get("namespaces", [])} | set(orphans))
    if not dead and not orphans:
        return None
    text = f"hosts: removed {len(gone)} namespace(s) left by killed runs ({' '.join(gone)})" + \
        (f" and {len(dead)} run record(s)" if dead else "")
    if not quiet:
        s.info(text)
    return text


def sweep_command():
    """`scripts/infra.sh hosts-sweep`: quiet when there is nothing to remove."""
    if not s.is_root():
        return
    sweep()


# ------------------------------------------------------------------------------ Hosts

def _ip(argv):
    got = subprocess.run(argv, capture_output=True, text=True)
    if got.returncode != 0:
        raise HostsError(f"hosts: `{' '.join(argv)}` failed: {got.stderr.strip()}")


class Hosts:
    """The namespaces of one run (see the module's text); a context manager."""

    def __init__(self, port_plan, work, toxiproxy_bin=None, with_toxiproxy=True):
        self.ports, self.work = port_plan, os.path.abspath(work)
        self.toxiproxy_bin, self.with_toxiproxy = toxiproxy_bin, with_toxiproxy
        self.id = make_id(os.getpid(), time.time())
        self.ns = namespaces(self.id)
        self.record_path = os.path.join(RECORD_DIR, f"{self.id}.json")
        self.record = None
        self.processes = {}   # name: Popen (relay, toxiproxy-msN, reaper)

    # --- what a Ring needs
    def namespace(self, service):
        """The namespace a service runs in."""
        return self.ns[service]

    def address(self, service):
        """The address a service binds in its namespace."""
        return ADDRESSES[service]

    def toxiproxy_api(self, service):
        """The root-side URL of a service's Toxiproxy API."""
        return f"http://127.0.0.1:{toxiproxy_api_ports(self.ports)[service]}"

    def describe(self):
        """One line per namespace, for run.sh."""
        lines = [f"hosts: {self.ns['hub']} bridge br0 {HUB_ADDRESS}/24 (backends through the relay)"]
        for name in SERVICES:
            lines.append(f"hosts: {self.ns[name]} {ADDRESSES[name]}; Toxiproxy API {self.toxiproxy_api(name)}")
        return lines

    # --- life cycle
    def __enter__(self):
        try:
            self.create()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc):
        self.destroy()

    def _save(self):
        _write_json(self.record_path, self.record)

    def _remember(self, name, proc, *needles):
        self.processes[name] = proc
        self.record["processes"].append({"name": name, "pid": proc.pid, "start": start_time(proc.pid),
                                         "cmdline": list(needles)})
        self._save()

    def create(self):
        """Sweeps, writes the record, makes the namespaces, starts the Toxiproxies, the relay and the
        reaper, and checks that every path works."""
        os.makedirs(RECORD_DIR, exist_ok=True)
        os.makedirs(self.work, exist_ok=True)
        sweep()
        me = os.getpid()
        self.record = {"id": self.id, "owner_pid": me, "owner_start": start_time(me), "created": time.time(),
                       "namespaces": [self.ns[r] for r in ("hub", *SERVICES)], "processes": []}
        self._save()
        self._spawn_reaper()
        for argv in setup_commands(self.ns):
            _ip(argv)
        if self.with_toxiproxy:
            for name, plist in proxies(self.ports).items():
                config = os.path.join(self.work, f"toxiproxy-{name}.json")
                _write_json(config, plist)
                log = open(os.path.join(self.work, f"toxiproxy-{name}.log"), "w")
                proc = subprocess.Popen(["ip", "netns", "exec", self.ns[name], self.toxiproxy_bin, "-host", "127.0.0.1",
                                         "-port", str(TOXIPROXY_API_PORT), "-config", config],
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True, close_fds=True)
                log.close()
                self._remember(f"toxiproxy-{name}", proc, self.toxiproxy_bin)
        self._start_relay()
        self._check()

    def _spawn_reaper(self):
        log = open(os.path.join(self.work, "hosts-reaper.log"), "w")
        proc = subprocess.Popen([sys.executable, "-m", "ringtrace_harness.hosts", "reap", self.record_path],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True,
                                env=dict(os.environ, PYTHONPATH=os.path.join(s.REPO, "scripts")))
        log.close()
        self._remember("reaper", proc, "ringtrace_harness.hosts", "reap")

    def _start_relay(self):
        spec = os.path.join(self.work, "relay.json")
        _write_json(spec, relay_routes(self.ports, self.ns))
        log_path = os.path.join(self.work, "relay.log")
        log = open(log_path, "w")
        proc = subprocess.Popen([sys.executable, "-m", "ringtrace_harness.netns_relay", "--spec", spec],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True,
                                env=dict(os.environ, PYTHONPATH=os.path.join(s.REPO, "scripts")))
        log.close()
        self._remember("relay", proc, "ringtrace_harness.netns_relay", spec)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            with open(log_path) as f:
                text = f.read()
            if "ready" in text.split():
                return
            if proc.poll() is not None:
                raise HostsError(f"hosts: the relay exited ({proc.returncode}): {text.strip()[-2000:]}")
            time.sleep(0.02)
        raise HostsError(f"hosts: the relay was not ready within {READY_TIMEOUT_S} s (log {log_path})")

    def _check(self):
        """From each service namespace: the hub's relay accepts, and every other service's address
        answers (a refusal from a closed port proves the packet got there; silence means the bridge
        drops it, e.g. br_netfilter in the hub after a Docker Engine ran). Then the Toxiproxy APIs."""
        probe = ("import socket,sys\nbad=[]\n"
                 "for host,port,want in [a.split(':') for a in sys.argv[1:]]:\n"
                 "  s=socket.socket(); s.settimeout(2)\n"
                 "  try: s.connect((host,int(port))); got='open'\n"
                 "  except ConnectionRefusedError: got='refused'\n"
                 "  except OSError as e: got=str(e)\n"
                 "  s.close()\n"
                 "  if got!=want and not (want=='any' and got in ('open','refused')): bad.append(f'{host}:{port} {got}')\n"
                 "print('; '.join(bad)); sys.exit(1 if bad else 0)\n")
        for name in SERVICES:
            targets = [f"{HUB_ADDRESS}:{self.ports['kafka']}:open"]
            targets += [f"{ADDRESSES[peer]}:9:any" for peer in SERVICES if peer != name]
            got = subprocess.run(["ip", "netns", "exec", self.ns[name], sys.executable, "-c", probe, *targets],
                                 capture_output=True, text=True, timeout=30)
            if got.returncode != 0:
                addr = subprocess.run(["ip", "-n", self.ns[name], "addr"], capture_output=True, text=True).stdout
                links = subprocess.run(["ip", "-n", self.ns["hub"], "link"], capture_output=True, text=True).stdout
                raise HostsError(f"hosts: from {self.ns[name]}: {got.stdout.strip() or got.stderr.strip()}\n"
                                 f"{addr}\n{self.ns['hub']}:\n{links}")
        if self.with_toxiproxy:
            from . import toxiproxy
            expected = proxies(self.ports)
            for name in SERVICES:
                api = self.toxiproxy_api(name)
                deadline = time.monotonic() + READY_TIMEOUT_S
                while True:
                    got = toxiproxy.proxies(api)
                    if got is not None and set(got) == {p["name"] for p in expected[name]}:
                        break
                    if self.processes[f"toxiproxy-{name}"].poll() is not None or time.monotonic() > deadline:
                        raise HostsError(f"hosts: Toxiproxy in {self.ns[name]} not ready at {api} "
                                         f"(log {self.work}/toxiproxy-{name}.log)")
                    time.sleep(0.05)

    def destroy(self):
        """Stops what create() started and removes the namespaces, then the record (the reaper sees
        that and exits). Idempotent."""
        if self.record is None:
            return
        destroy_record({**self.record, "path": self.record_path})
        for proc in self.processes.values():
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        self.record = None


# ------------------------------------------------------------------------------ command line

def reap(path):
    """Waits for the record's owner to die, then destroys what the record names; returns when the
    record disappears first (the owner tore down itself)."""
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return 0
    record["path"] = path
    owner = {"pid": record["owner_pid"], "start": record["owner_start"]}
    try:
        fd = os.pidfd_open(owner["pid"])
    except ProcessLookupError:
        fd = None
    if fd is not None and same_process(owner):
        while os.path.exists(path):
            ready, _, _ = select.select([fd], [], [], 1.0)
            if ready:
                break
        os.close(fd)
    if not os.path.exists(path):
        return 0
    try:
        with open(path) as f:
            record = {**json.load(f), "path": path}   # the processes added since the reaper started
    except (OSError, ValueError):
        return 0
    print(f"hosts: owner {owner['pid']} is gone; removing {' '.join(record.get('namespaces', []))}", flush=True)
    destroy_record(record)
    return 0


def hold():
    """Makes the namespaces from the environment's ports and waits to be killed (a test's harness)."""
    from . import toxiproxy
    env = dict(os.environ)
    config = env.get("RINGTRACE_CONFIG", os.path.join(s.REPO, "config", "ringtrace.yaml"))
    work = env.get("RINGTRACE_HOSTS_WORK", os.path.join(s.RUN_DIR, "hosts-hold"))
    hosts = Hosts(ports(env, config), work, toxiproxy.build())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with hosts:
        print(f"hosts: ready {hosts.id}", flush=True)
        while True:
            time.sleep(3600)


def main(argv):
    """reap RECORD | sweep | hold."""
    try:
        if len(argv) == 2 and argv[0] == "reap":
            return reap(argv[1])
        if argv == ["sweep"]:
            sweep()
            return 0
        if argv == ["hold"]:
            return hold()
    except s.Fatal as e:
        s.err(str(e))
        return 1
    print("usage: python3 -m ringtrace_harness.hosts reap RECORD | sweep | hold", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
