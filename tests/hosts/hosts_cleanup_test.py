"""hosts.cleanup: the namespaces of a killed run go away.

1. A harness (`python3 -m ringtrace_harness.hosts hold`) is SIGKILLed: its reaper removes the
   namespaces, the Toxiproxies inside them, the relay and the run record within 10 s.
2. A sweep leaves a live run alone; then the harness and its reaper are both SIGKILLed: the
   namespaces stay until `scripts/infra.sh hosts-sweep` removes them with everything else.
3. A namespace named like ours that no record claims is swept too.
4. Throughout, the root namespace gets no address and no interface.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))

from ringtrace_harness import hosts  # noqa: E402

BASE = 18740
failures = []


def check(what, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}{'' if ok else ': ' + detail}", flush=True)
    if not ok:
        failures.append(what)


def root_state():
    addr = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
    link = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return addr, sorted(line.split(":")[1].strip() for line in link.splitlines())


def poll(deadline_s, probe):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if probe():
            return True
        time.sleep(0.05)
    return probe()


def hold(work):
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "scripts"), RINGTRACE_HOSTS_WORK=work,
               RINGTRACE__MS1__PORT=str(BASE), RINGTRACE__MS2__ADMIN_PORT=str(BASE + 2),
               RINGTRACE__MS3__ADMIN_PORT=str(BASE + 3))
    out = open(os.path.join(work, "hold.out"), "w")
    proc = subprocess.Popen([sys.executable, "-m", "ringtrace_harness.hosts", "hold"], env=env, stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out.close()

    def ready():
        with open(os.path.join(work, "hold.out")) as f:
            return next((line.split()[2] for line in f if line.startswith("hosts: ready ")), None)
    if not poll(60, lambda: ready() or proc.poll() is not None) or proc.poll() is not None:
        with open(os.path.join(work, "hold.out")) as f:
            raise SystemExit(f"hosts hold did not get ready: {f.read()}")
    run_id = ready()
    with open(os.path.join(hosts.RECORD_DIR, f"{run_id}.json")) as f:
        record = json.load(f)
    return proc, run_id, record


def ours(run_id):
    return [n for n in hosts.listed_namespaces() if n.startswith(f"rt-{run_id}-")]


def alive(record, name=None):
    return [e["name"] for e in record["processes"] if (name is None or e["name"] == name) and hosts.same_process(e)]


def inside(run_id):
    return [p for n in ours(run_id) for p in hosts._ns_pids(n)]


def main():
    before = root_state()
    work = tempfile.mkdtemp(prefix="ringtrace-hosts-cleanup.")

    # 1. the harness killed: the reaper cleans up
    proc, run_id, record = hold(work)
    check("hold made four namespaces", len(ours(run_id)) == 4, " ".join(ours(run_id)))
    check("the relay, the reaper and three Toxiproxies run", sorted(alive(record)) ==
          ["reaper", "relay", "toxiproxy-ms1", "toxiproxy-ms2", "toxiproxy-ms3"], str(alive(record)))
    check("the Toxiproxies run inside the namespaces", len(inside(run_id)) == 3, str(inside(run_id)))
    check("no address or interface was added to the root namespace", root_state() == before)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    t0 = time.monotonic()
    gone = poll(10, lambda: not ours(run_id) and not alive(record) and
                not os.path.exists(os.path.join(hosts.RECORD_DIR, f"{run_id}.json")))
    check(f"harness SIGKILLed: the reaper removed namespaces, processes and record in "
          f"{time.monotonic() - t0:.1f} s (<= 10 s)", gone,
          f"left: {ours(run_id)} {alive(record)}")

    # 2. harness and reaper killed: infra.sh hosts-sweep cleans up, and leaves a live run alone
    proc, run_id, record = hold(work)
    sweep = subprocess.run([os.path.join(REPO, "scripts", "infra.sh"), "hosts-sweep"], capture_output=True, text=True)
    check("hosts-sweep leaves a live run alone", sweep.returncode == 0 and len(ours(run_id)) == 4 and
          len(alive(record)) == 5, sweep.stdout + sweep.stderr)
    reaper = next(e["pid"] for e in record["processes"] if e["name"] == "reaper")
    os.kill(reaper, signal.SIGKILL)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(1.0)   # what would have happened in that time, had anything been left to clean up
    check("harness and reaper SIGKILLed: the namespaces are still there", len(ours(run_id)) == 4)
    sweep = subprocess.run([os.path.join(REPO, "scripts", "infra.sh"), "hosts-sweep"], capture_output=True, text=True)
    print(sweep.stdout.strip(), flush=True)
    check("infra.sh hosts-sweep removed namespaces, processes and record",
          sweep.returncode == 0 and not ours(run_id) and not alive(record) and
          not os.path.exists(os.path.join(hosts.RECORD_DIR, f"{run_id}.json")),
          f"{sweep.stdout}{sweep.stderr} left: {ours(run_id)} {alive(record)}")
    again = subprocess.run([os.path.join(REPO, "scripts", "infra.sh"), "hosts-sweep"], capture_output=True, text=True)
    check("a second sweep is quiet", again.returncode == 0 and not again.stdout.strip(), again.stdout)

    # 3. a namespace of our pattern that no record claims (its record lost): swept too
    stray = f"rt-{hosts.make_id(os.getpid(), time.time())}-ms1"
    subprocess.run(["ip", "netns", "add", stray], check=True)
    sweep = subprocess.run([os.path.join(REPO, "scripts", "infra.sh"), "hosts-sweep"], capture_output=True, text=True)
    check("infra.sh hosts-sweep removed a namespace no record claims", stray not in hosts.listed_namespaces(),
          sweep.stdout + sweep.stderr)

    check("the root namespace ends as it began", root_state() == before)
    print(f"hosts cleanup: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
