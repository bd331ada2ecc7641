"""The one wait helper: poll for an effect with a deadline instead of sleeping a fixed time."""

import time


class Abort(Exception):
    """Raised by a probe to stop waiting at once (the process it waits on died)."""


class WaitTimeout(Exception):
    """The deadline passed before the probe succeeded."""


def wait_until(what, timeout_s, probe, interval_s=0.15):
    """Calls probe() until it returns something truthy and returns that; raises WaitTimeout
    ("timed out after Ns waiting for WHAT") when timeout_s passes first. Abort from the probe
    propagates."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)


def waits(timeout_s, probe, interval_s=0.15):
    """wait_until for callers that only need to know: True when probe() succeeded in time."""
    try:
        wait_until("", timeout_s, probe, interval_s)
        return True
    except WaitTimeout:
        return False
