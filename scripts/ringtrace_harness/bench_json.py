"""scripts/bench.sh --json FILE: turns the bench's key=value figures into one JSON document with
the options of the run and a description of the machine, since absolute figures only mean
something next to the machine they were measured on (ratios travel better).

  python3 -m ringtrace_harness.bench_json --figures FILE --out FILE [--option KEY=VALUE]...
"""

import argparse
import datetime
import json
import os
import platform
import sys

from .pins import pin


def value(text):
    """A figure as JSON wants it: an int, a float, a bool, or the text itself."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_figures(path):
    """{key: value} of a key=value file; a key printed twice is an error (the bench prints each once)."""
    figures = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            key, sep, text = line.partition("=")
            if not sep or not key:
                raise ValueError(f"{path}:{number}: not key=value: {line!r}")
            if key in figures:
                raise ValueError(f"{path}:{number}: {key} printed twice")
            figures[key] = value(text)
    return figures


def _first(path, prefix):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine():
    """What the figures were measured on."""
    mem_kib = _first("/proc/meminfo", "MemTotal")
    try:
        with open("/etc/debian_version") as f:
            debian = f.read().strip()
    except OSError:
        debian = None
    return {
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "cpus": os.cpu_count(),
        "memory_gib": round(int(mem_kib.split()[0]) / 1024 / 1024, 1) if mem_kib else None,
        "kernel": platform.release(),
        "os": f"Debian {debian}" if debian else platform.platform(),
        "python": platform.python_version(),
        "kafka": pin("KAFKA_VERSION"),
    }


def main(argv):
    """Writes the document; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--figures", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--option", action="append", default=[], help="KEY=VALUE of the run")
    args = parser.parse_args(argv)
    try:
        figures = read_figures(args.figures)
    except (OSError, ValueError) as e:
        print(f"bench_json: {e}", file=sys.stderr)
        return 1
    options = {}
    for option in args.option:
        key, _, text = option.partition("=")
        options[key] = value(text)
    document = {
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "options": options,
        "figures": figures,
    }
    with open(args.out + ".tmp", "w") as f:
        json.dump(document, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(args.out + ".tmp", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
