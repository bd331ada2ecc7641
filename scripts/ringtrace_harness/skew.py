"""Skewed clocks for services (scripts/run.sh --skew ms2=+80ms,ms3=-50ms): each named service gets a
wall clock of its own through libfaketime (Debian package libfaketime), with the clock guard
(tools/clock_guard, libringtrace-clock-guard.so) preloaded ahead of it.

What a skewed service's environment holds, and why each variable is fixed here:
  LD_PRELOAD                    the guard first, then libfaketime.so.1 (not the MT variant: it only
                                adds a lock for modes we do not use, and has fork deadlocks)
  FAKETIME=+0.080000            the offset in seconds; +0 for an unskewed service of a skew test
  FAKETIME_DONT_FAKE_MONOTONIC=1  mandatory: libfaketime 0.9.10 turns CLOCK_MONOTONIC into an
                                epoch-scale value, and every condition_variable wait then hangs
                                (tests/hosts/clock_guard_probe shows it); not user-settable
  NO_FAKE_STAT=1                file times stay real
  FAKETIME_CACHE_DURATION=86400  FAKETIME is parsed once a day, not every 10 s (0.9.10 re-parses
                                it without a lock)
Pure functions, unit-tested in tests/hosts/hosts_unit_test.py.
"""

import glob
import os
import re

SERVICES = ("ms1", "ms2", "ms3")
MAX_SKEW_US = 10_000_000
UNITS_US = {"us": 1, "ms": 1000, "s": 1_000_000}
GUARD = "libringtrace-clock-guard.so"
LIBFAKETIME_GLOB = "/usr/lib/*/faketime/libfaketime.so.1"
_ONE = re.compile(r"^(ms[123])=([+-]?)(\d+(?:\.\d+)?)(us|ms|s)$")


class SkewError(ValueError):
    """A --skew value that cannot be used; the text says which part and why."""


def parse(text):
    """{service: offset in µs} from "ms2=+80ms,ms3=-50ms" (units us, ms, s; |offset| <= 10 s;
    each of ms1, ms2, ms3 at most once). An empty text is no skew."""
    skews = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        m = _ONE.match(part)
        if not m:
            raise SkewError(f"--skew: '{part}' is not SERVICE=[+|-]NUMBER(us|ms|s) with SERVICE ms1, ms2 or ms3")
        name, sign, number, unit = m.groups()
        if name in skews:
            raise SkewError(f"--skew: {name} is given twice")
        # Decimal arithmetic on the text: 0.1ms is 100 µs exactly, not 99.99999.
        whole, _, frac = number.partition(".")
        scale = UNITS_US[unit]
        digits = len(str(scale)) - 1
        if len(frac.rstrip("0")) > digits:
            raise SkewError(f"--skew: '{part}' is finer than a microsecond")
        us = int(whole) * scale + (int(frac.ljust(digits, "0")[:digits]) if digits and frac else 0)
        us = -us if sign == "-" else us
        if abs(us) > MAX_SKEW_US:
            raise SkewError(f"--skew: '{part}' is more than 10 s")
        skews[name] = us
    return skews


def faketime_value(us):
    """libfaketime's FAKETIME for an offset of US µs: "+0.080000", "-0.050000"; "+0" for none."""
    if us == 0:
        return "+0"
    sign = "-" if us < 0 else "+"
    return f"{sign}{abs(us) // 1_000_000}.{abs(us) % 1_000_000:06d}"


def describe(us):
    """An offset for people: "+80 ms", "-0.5 ms", "0"."""
    if us == 0:
        return "0"
    ms = us / 1000
    return f"{'+' if us > 0 else '-'}{abs(ms):g} ms"


def libfaketime():
    """The path of libfaketime.so.1, or None when the package is not installed."""
    found = sorted(glob.glob(LIBFAKETIME_GLOB))
    return found[0] if found else None


def guard_path(bin_dir):
    """Where the build puts the clock guard beside the services."""
    return os.path.join(os.path.abspath(bin_dir), GUARD)


def env(us, guard, faketime_lib):
    """The variables a service runs with for an offset of US µs (see the module's text)."""
    return {
        "LD_PRELOAD": f"{guard} {faketime_lib}",
        "FAKETIME": faketime_value(us),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "NO_FAKE_STAT": "1",
        "FAKETIME_CACHE_DURATION": "86400",
    }


def env_argv(variables):
    """`env` arguments (NAME=VALUE ...) in a stable order."""
    return [f"{k}={v}" for k, v in sorted(variables.items())]
