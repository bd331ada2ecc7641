"""One line per phase of scripts/run.sh, so a newcomer sees where a first run's minutes go:
`run: compile ms1 ms2 ms3: 212.4 s (cpu 401.0 s)`. Wall time is the phase's own; CPU time is
user + system of the processes the phase ran (its children and theirs, once waited for), plus
the harness's own while it ran. On two cores CPU time over wall time near 2 means the phase is
bound by the processor and only less work makes it faster.
"""

import os
import resource
import signal
import subprocess
import threading
import time


def line(name, wall_s, cpu_s, prefix="run"):
    """The phase line."""
    return f"{prefix}: {name}: {wall_s:.1f} s (cpu {cpu_s:.1f} s)"


def _cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


class Phase:
    """`with Phase("start the infrastructure"):` prints the phase line when the block ends, also
    when it raises. Counts every child reaped meanwhile: run no background process beside it
    (use Background, which counts its own)."""

    def __init__(self, name, out=print):
        self.name, self.out = name, out

    def start(self):
        """Starts the clocks; returns self."""
        self.t0, self.cpu0 = time.monotonic(), _cpu(resource.RUSAGE_CHILDREN) + _cpu(resource.RUSAGE_SELF)
        return self

    def stop(self):
        """Prints the phase line."""
        cpu = _cpu(resource.RUSAGE_CHILDREN) + _cpu(resource.RUSAGE_SELF) - self.cpu0
        self.out(line(self.name, time.monotonic() - self.t0, cpu))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def run(name, argv, out=print, **kw):
    """Runs ARGV to its end as one phase, its CPU time read from its own rusage (wait4), so work
    running beside it is not counted; prints the phase line and returns the exit status."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out(line(name, time.monotonic() - t0, usage.ru_utime + usage.ru_stime))
    return proc.returncode


class Background:
    """A command started now and reaped by a thread of its own (wait4), so its wall and CPU time
    are its own however long the caller takes to ask: for work that waits on the network beside a
    phase that uses the processors."""

    def __init__(self, name, argv, **kw):
        self.name, self.t0 = name, time.monotonic()
        # A process group of its own, so stop() reaches the processes it starts (go build, mvn) too;
        # not a session of its own: the kernel shares the processors between sessions (autogroups)
        # as equals, so a niced command there would take a whole core from the compile after all.
        self.proc = subprocess.Popen(argv, process_group=0, **kw)
        self.wall = self.cpu = None
        self._thread = threading.Thread(target=self._reap, daemon=True)
        self._thread.start()

    def _reap(self):
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.wall, self.cpu = time.monotonic() - self.t0, usage.ru_utime + usage.ru_stime

    def join(self, out=print):
        """Waits for the command, prints its phase line and returns its exit status."""
        self._thread.join()
        out(line(self.name, self.wall, self.cpu))
        return self.proc.returncode

    def stop(self):
        """Ends the command and what it started (its process group, by its PID) when it still runs."""
        if self._thread.is_alive():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self._thread.join()
