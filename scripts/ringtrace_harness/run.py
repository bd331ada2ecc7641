"""The command line of scripts/run.sh: runs the ring natively. Builds if needed, brings the
infrastructure up, starts MS2, MS3 and MS1, calls GET /start, echoes MS1's console (start line,
progress, finish line) as it is written until the session's finish line, and stops the three
services. The infrastructure stays up so the stored rows can be inspected (scripts/infra.sh down).
The API gateway (scripts/ringtrace_harness/gateway.py) runs in front of MS1, as in compose: every
call goes through it, and it serves the dashboard (the address printed) and relays its traces to
Jaeger. A gateway started here stops with the ring, one that was already up (scripts/infra.sh up
gateway) is left running. --no-gateway runs the ring alone (calls straight to MS1, no dashboard);
--gateway, the way to ask for it before it was the default, is still accepted and changes nothing.

--hosts runs each service in a network namespace of its own behind its own Toxiproxy (hosts.py),
and --skew gives services clocks of their own (libfaketime behind the clock guard, skew.py); the
namespaces go on every exit path, SIGTERM included, and a reaper removes them if run.sh is killed.

MS1's console is followed as a stream, line by line, so the finish line is always among the lines
printed. RINGTRACE_BIN=DIR runs the ms1/ms2/ms3 in DIR and skips the build (the tests do).

A first run installs and builds only what it runs: install-deps.sh --run (no test or container
tooling), the three services alone (see _build), Kafka's jars and Jaeger. Getting and building
Jaeger, and Kafka's jars once Java is installed, go on in the background beside the packages and
the compile (prefetch.py); every phase prints one line with its wall and CPU time (phases.py).
"""

import os
import signal
import subprocess
import sys

from . import gateway, hosts as hosts_mode, infra, jaeger, kafka, phases, skew as clock_skew, toxiproxy
from . import system
from .ring import Ring, RingError, config_value, http
from .system import REPO, Fatal

USAGE = """usage: scripts/run.sh [--duration S] [--window N] [--db postgresql|mariadb] [--naming service|mc] [--config PATH]
                      [--no-gateway] [--ms3 N] [--hosts] [--skew SERVICE=OFFSET,...]
  --duration S   session length in seconds (interaction.duration_seconds)
  --window N     messages in flight at once (interaction.window)
  --db NAME      database driver (database.driver): postgresql | mariadb
  --naming N     timestamp field names (message.naming): service | mc
  --config PATH  configuration file (default config/ringtrace.yaml)
  --no-gateway   run without the API gateway (nginx) that otherwise fronts MS1 on
                 127.0.0.1:${RINGTRACE_GATEWAY_PORT:-8088}, serves the dashboard and relays its traces:
                 every call goes straight to MS1, and there is no dashboard (--gateway: the default)
  --ms3 N        run N MS3s in one consumer group (default 1); each beyond the first gets MS3's admin
                 port + 100 (i - 1) and, under static membership, ms3.group_instance_id suffixed -i.
                 Only as many as the topic has partitions (kafka.partitions, when MS2 creates it) get work
  --hosts        each service in a network namespace of its own (its own address and loopback), the
                 backends reached through a bridge; every link through a Toxiproxy in its client's
                 namespace. Needs root; one MS3 only. Removed at the end, also when run.sh is killed
                 (scripts/infra.sh hosts-sweep removes what a killed run left)
  --skew LIST    clocks of their own, e.g. ms2=+80ms,ms3=-50ms (units us, ms, s; at most 10 s each):
                 libfaketime shifts the service's wall clock, its timers keep real time
"""
FLAGS = {"--duration": "RINGTRACE__INTERACTION__DURATION_SECONDS", "--window": "RINGTRACE__INTERACTION__WINDOW",
         "--naming": "RINGTRACE__MESSAGE__NAMING", "--db": "RINGTRACE__DATABASE__DRIVER"}


def _fail(text, code=1):
    print(text, file=sys.stderr, flush=True)
    return code


def _parse(argv, env):
    """(config path, whether to run the gateway, how many MS3s, hosts mode, {service: skew µs})."""
    config, with_gateway, ms3, hosts, skew = "config/ringtrace.yaml", True, 1, False, {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            sys.stdout.write(USAGE)
            sys.exit(0)
        if a == "--hosts":
            hosts = True
            i += 1
            continue
        if a == "--skew":
            try:
                skew = clock_skew.parse(argv[i + 1] if i + 1 < len(argv) else "")
            except clock_skew.SkewError as e:
                sys.exit(_fail(f"run.sh: {e}", 2))
            if not skew:
                sys.exit(_fail("run.sh: --skew needs SERVICE=OFFSET[,...], e.g. ms2=+80ms,ms3=-50ms", 2))
            i += 2
            continue
        if a in ("--gateway", "--no-gateway"):
            with_gateway = a == "--gateway"
            i += 1
            continue
        if a == "--ms3":
            value = argv[i + 1] if i + 1 < len(argv) else ""
            if not value.isdigit() or not 1 <= int(value) <= 16:
                sys.exit(_fail(f"run.sh: --ms3 must be a number from 1 to 16, got '{value}'", 2))
            ms3 = int(value)
            i += 2
            continue
        if a in FLAGS or a == "--config":
            if i + 1 >= len(argv):
                sys.exit(_fail(f"run.sh: unknown argument '{a}'\n{USAGE.rstrip()}", 2))
            value = argv[i + 1]
            if a == "--db" and value not in ("postgresql", "mariadb"):
                sys.exit(_fail(f"run.sh: --db must be postgresql or mariadb, got '{value}'", 2))
            if a == "--config":
                config = value
            else:
                env[FLAGS[a]] = value
            i += 2
            continue
        sys.exit(_fail(f"run.sh: unknown argument '{a}'\n{USAGE.rstrip()}", 2))
    if hosts and ms3 > 1:
        sys.exit(_fail("run.sh: --hosts runs one MS3 (one namespace a service); --ms3 N>1 is refused", 2))
    return config, with_gateway, ms3, hosts, skew


SERVICES = ["ms1", "ms2", "ms3"]


def _install_deps():
    if phases.run("install packages", ["scripts/install-deps.sh", "--run"]) != 0:
        sys.exit(1)


def _build(extra=()):
    """Compiles ms1, ms2 and ms3 (and the EXTRA targets) and nothing else; the directory their
    binaries are in.

    A developer's full build/ (the default preset, tests included) is reused when it is configured:
    the three targets are then incremental there, and the run uses the binaries the tests use.
    Otherwise the run preset (build-run/: tests off, so configuring needs no GoogleTest, which
    install-deps.sh --run leaves out)."""
    if os.path.isfile("build/build.ninja"):
        where, build = "build", ["cmake", "--build", "build", "--target", *SERVICES, *extra, "--", "-j2"]
    else:
        where, build = "build-run", ["cmake", "--build", "--preset", "run", *(["--target", *SERVICES, *extra]
                                                                         if extra else []), "--", "-j2"]
        if not os.path.isfile("build-run/build.ninja"):
            got = subprocess.run(["cmake", "--preset", "run"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True)
            if got.returncode != 0:
                sys.exit(_fail(got.stderr))
    with open(os.path.join(where, "run-build.log"), "w+") as log:
        if phases.run(f"compile {' '.join([*SERVICES, *extra])} ({where}/)", build, stdout=log, stderr=subprocess.STDOUT) != 0:
            log.seek(0)
            sys.exit(_fail(log.read()[-20000:]))
    return os.path.join(where, "bin")


def _beside(step, name):
    """Starts prefetch.py STEP in the background (its phase line printed when joined)."""
    return phases.Background(name, [sys.executable, "-m", "ringtrace_harness.prefetch", step],
                             env=dict(os.environ, PYTHONPATH=os.path.join(REPO, "scripts")))


def _prepare_infra():
    """What the background steps did not leave ready (they failed: this says why), one phase line each."""
    if not kafka.jars_ready():
        with phases.Phase("fetch Kafka's jars"):
            kafka.fetch()
    if not jaeger.built():
        with phases.Phase("build Jaeger"):
            jaeger.build()


def main(argv):
    """Runs one session; the exit status."""
    os.chdir(REPO)
    env = dict(os.environ)
    config, with_gateway, ms3, with_hosts, skew = _parse(argv, env)
    # Everything to the finish line, the downloads beside the compile included.
    whole = phases.Phase("from the command to the finish line").start()
    background = []
    if not jaeger.built():
        background.append(_beside("jaeger", "get Go and Jaeger's modules, build Jaeger (beside, at low priority)"))
    try:
        _install_deps()
        if not kafka.jars_ready():
            background.append(_beside("kafka", "fetch Kafka's jars (beside the compile)"))
        if with_hosts and not toxiproxy.built():
            background.append(_beside("toxiproxy", "build Toxiproxy (beside, at low priority)"))
        bin_dir = env.get("RINGTRACE_BIN") or _build(("ringtrace-clock-guard",) if skew else ())
    except BaseException:
        # A failed step or Ctrl-C: nothing started here keeps running after run.sh.
        for job in background:
            job.stop()
        raise
    for job in background:
        job.join()
    try:
        _prepare_infra()
    except Fatal as e:
        return _fail(str(e))
    with phases.Phase("start the infrastructure"):
        if infra.main(["up"]) != 0:
            return 1
    if not with_hosts and not skew:
        return _session(bin_dir, config, env, with_gateway, ms3, None, skew, whole)
    try:
        _ensure_hosts_packages(with_hosts, skew)
        if not with_hosts:
            return _session(bin_dir, config, env, with_gateway, ms3, None, skew, whole)
        if not toxiproxy.built():
            with phases.Phase("build Toxiproxy"):
                toxiproxy.build()
        work = os.path.join(".run", "hosts")
        with phases.Phase("make the namespaces"):
            hosts = hosts_mode.Hosts(hosts_mode.ports(env, config), work, toxiproxy.BIN)
            try:
                hosts.create()
            except BaseException:
                hosts.destroy()
                raise
    except Fatal as e:
        return _fail(str(e))
    # SIGTERM (a CI timeout, kill) ends the run through the finally below, like an exception.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        for line in hosts.describe():
            print(line, flush=True)
        return _session(bin_dir, config, env, with_gateway, ms3, hosts, skew, whole)
    finally:
        hosts.destroy()


def _ensure_hosts_packages(with_hosts, skew):
    """What --hosts and --skew need beyond install-deps.sh --run (each step installs its own)."""
    if with_hosts:
        if not system.is_root():
            raise Fatal("run.sh: --hosts makes network namespaces: run it as root")
        system.ensure_command("hosts", "ip", "iproute2")
        system.ensure_command("hosts", "iptables", "iptables")
    if skew and clock_skew.libfaketime() is None:
        system.ensure_apt_pkg("skew", "libfaketime")


def _session(bin_dir, config, env, with_gateway, ms3, hosts, skew, whole):
    """Starts the ring (in HOSTS' namespaces when given, SKEW's clocks), runs one session to its
    finish and latency lines, stops the ring; the exit status."""
    out = os.path.join(".run", "ring")
    env.setdefault("RINGTRACE__LOGGING__DIRECTORY", os.path.join(REPO, ".run", "logs"))
    try:
        ring = Ring(bin_dir, config, out, env, ms3=ms3, hosts=hosts, skew=skew)
    except RingError as e:
        return _fail(f"run: {e}")
    for name, us in sorted(skew.items()):
        print(f"run: {name}'s clock is shifted by {clock_skew.describe(us)} (FAKETIME={clock_skew.faketime_value(us)})",
              flush=True)
    partitions = int(env.get("RINGTRACE__KAFKA__PARTITIONS") or config_value(config, "kafka", "partitions") or 1)
    if ms3 > partitions:
        print(f"run: {ms3} MS3s share {partitions} partition(s): {ms3 - partitions} of them get none "
              f"(kafka.partitions, RINGTRACE__KAFKA__PARTITIONS)", flush=True)
    key = env.get("RINGTRACE__KAFKA__KEY") or config_value(config, "kafka", "key") or "session"
    if ms3 > 1 and key == "session":
        print("run: kafka.key is session: a session's messages share one partition, so one MS3 does the work "
              "(RINGTRACE__KAFKA__KEY=message spreads them)", flush=True)
    port = gateway.default_port()
    gw = gateway.Gateway(port, ring.ms1_address, gateway.default_dir(port)) if with_gateway else None
    own_gateway = gw is not None and gw.pid() is None

    def stop_gateway():
        if own_gateway:
            gw.stop()
    try:
        if gw:
            gw.start()
            ring.through(gw.url)
            print(f"run: the API gateway listens on {gw.url} (in front of MS1 at {ring.ms1}); "
                  f"access log {gw.access_log}", flush=True)
        with phases.Phase("start MS2, MS3 and MS1"):
            ring.start()
            ring.wait_ready()
        if gw:
            print(f"run: the dashboard is at {gw.url}/", flush=True)
        else:
            print(f"run: no gateway (--no-gateway), so no dashboard; MS1's API is at {ring.api}", flush=True)
        session = ring.start_session()
    except (RingError, Fatal) as e:
        ring.stop_all()
        stop_gateway()
        return _fail(f"run: {e}")
    # Ctrl-C ends the session early (GET /stop); the finish line still follows.
    signal.signal(signal.SIGINT, lambda *_: http(ring.api + "/stop", timeout_s=30))
    limit = int(env.get("RINGTRACE__INTERACTION__DURATION_SECONDS", "3600")) + 120
    try:
        ring.wait_finish_line(session, limit, echo=lambda line: print(line, flush=True))
        whole.stop()
    except RingError as e:
        ring.stop_all()
        stop_gateway()
        return _fail(f"run: {e}")
    try:
        # Read back from the stored rows: on a long session it takes a moment.
        ring.wait_latency_line(session, 60, echo=lambda line: print(line, flush=True))
    except RingError as e:
        print(f"run: {e}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if any(code != 0 for code in ring.stop_all().values()):
        _fail(f"run: a service did not stop cleanly (see {out}/*.stderr)")
    stop_gateway()
    driver = env.get("RINGTRACE__DATABASE__DRIVER") or config_value(config, "database", "driver")
    query = f"SELECT * FROM messages WHERE session_id={session} ORDER BY id LIMIT 5"
    if driver == "mariadb":
        rows = f"mariadb -h 127.0.0.1 -P 3306 -u ringtrace -pringtrace ringtrace -e '{query}'"
    else:
        rows = f"PGPASSWORD=ringtrace psql -h 127.0.0.1 -p 5432 -U ringtrace ringtrace -c '{query}'"
    print(f"logs: {out}/ (console) and {env['RINGTRACE__LOGGING__DIRECTORY']} (log files)"
          + (f"; gateway: {gw.access_log}" if gw else ""))
    print(f"rows: {rows}")
    print("stop the infrastructure with: scripts/infra.sh down", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
