"""The Debian mirror this machine's apt uses, for debootstrap (scripts/engine.sh): a user's may be
another mirror or a caching proxy (apt-cacher-ng's http://host:3142/deb.debian.org/debian), and
only the one the machine already reaches is sure to work. Reads /etc/apt/sources.list and
/etc/apt/sources.list.d/ in both formats, the one-line `.list` and deb822 `.sources`:

  python3 -m ringtrace_harness.apt_mirror [SUITE]   prints the URI (default suite: bookworm)

The first enabled `deb` source (not deb-src) over http or https whose suites include SUITE
itself (not SUITE-security or SUITE-updates alone) and whose components include main; when there
is none, Debian's own redirector.
"""

import glob
import os
import sys

FALLBACK = "http://deb.debian.org/debian"
ROOT = "/etc/apt"


def _one_line(text):
    """(types, uris, suites, components, enabled) of each line of a `.list` file."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        kind, rest = words[0], words[1:]
        if rest and rest[0].startswith("["):
            # Options: "[arch=amd64 signed-by=...]", possibly split across several words.
            while rest and not rest[0].endswith("]"):
                rest = rest[1:]
            rest = rest[1:]
        if len(rest) >= 2:
            yield [kind], [rest[0]], [rest[1]], rest[2:], True


def _deb822(text):
    """(types, uris, suites, components, enabled) of each stanza of a `.sources` file."""
    stanzas, fields, key = [], {}, None
    for raw in text.splitlines() + [""]:
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if fields:
                stanzas.append(fields)
            fields, key = {}, None
            continue
        if raw[0] in " \t" and key:
            fields[key] += " " + raw.strip()  # a folded continuation line
            continue
        name, sep, value = raw.partition(":")
        if sep:
            key = name.strip().lower()
            fields[key] = value.strip()
    for f in stanzas:
        enabled = f.get("enabled", "yes").lower() not in ("no", "false", "0")
        yield (f.get("types", "").split(), f.get("uris", "").split(), f.get("suites", "").split(),
               f.get("components", "").split(), enabled)


def entries(root=ROOT):
    """Every source the apt configuration under ROOT names, in apt's order: sources.list, then
    sources.list.d/ by file name."""
    files = [os.path.join(root, "sources.list")] + sorted(
        glob.glob(os.path.join(root, "sources.list.d", "*.list")) +
        glob.glob(os.path.join(root, "sources.list.d", "*.sources")))
    for path in files:
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        yield from (_deb822(text) if path.endswith(".sources") else _one_line(text))


def mirror(suite="bookworm", root=ROOT):
    """The URI of the machine's Debian archive for SUITE, or FALLBACK."""
    for types, uris, suites, components, enabled in entries(root):
        if not enabled or "deb" not in types or suite not in suites or "main" not in components:
            continue
        for uri in uris:
            if uri.startswith(("http://", "https://")):
                return uri.rstrip("/")
    return FALLBACK


if __name__ == "__main__":
    print(mirror(*(sys.argv[1:2] or ["bookworm"])))
