"""The version pins of scripts/versions.env: one file that bash sources and Python reads."""

import os

PINS_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "versions.env")


def load(path=PINS_FILE):
    """Every KEY=VALUE of the pins file, as a dict (comments and blank lines skipped)."""
    pins = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.isidentifier() or not value or any(c in value for c in " \"'$`"):
                raise ValueError(f"{path}:{n}: not a plain KEY=VALUE line: {line!r}")
            pins[key] = value
    return pins


PINS = load()


def pin(key):
    """One pinned version; a KeyError names the missing key."""
    return PINS[key]
