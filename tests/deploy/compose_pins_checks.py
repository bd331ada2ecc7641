#!/usr/bin/env python3
"""The compose files' variables against the two places that describe them, read as text (no engine).

  compose_pins_checks.py pins          every third-party image takes its tag from a variable whose
                                       default is scripts/versions.env's pin, every image:tag
                                       that README.md or docs/*.md names is the pinned one, every
                                       version their prose gives a pinned product ("PostgreSQL 17",
                                       "Engine 20.10") is one of its pins or a prefix of one, and
                                       each Debian package pin matches the package where installed
  compose_pins_checks.py env-example   .env.example lists every variable a compose file reads,
                                       each under a comment and at the compose file's default, and
                                       no variable that no compose file reads
  compose_pins_checks.py self-test     both checks refuse doctored copies (so neither can pass by
                                       reading nothing)
  compose_pins_checks.py sync          rewrites the tag defaults of the compose files, .env.example
                                       and the docs from scripts/versions.env (after a bump there)

Compose cannot read scripts/versions.env, so the tags are repeated as variable defaults; these
checks keep the repetition honest.
"""

import glob
import os
import re
import sys

REPO = os.path.abspath(os.environ.get("RINGTRACE_REPO") or os.path.join(os.path.dirname(__file__), "..", ".."))

# Each third-party image: the variable that picks its tag, and the tag scripts/versions.env pins.
IMAGES = {
    "apache/kafka": ("RINGTRACE_KAFKA_TAG", lambda pins: pins["KAFKA_VERSION"]),
    "jaegertracing/jaeger": ("RINGTRACE_JAEGER_TAG", lambda pins: pins["JAEGER_V2_VERSION"].removeprefix("v")),
    "postgres": ("RINGTRACE_POSTGRES_TAG", lambda pins: pins["POSTGRES_IMAGE_TAG"]),
    "mariadb": ("RINGTRACE_MARIADB_TAG", lambda pins: pins["MARIADB_IMAGE_TAG"]),
    "nginx": ("RINGTRACE_NGINX_TAG", lambda pins: pins["NGINX_TAG"]),
}

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, or $NAME; `$$` is
# compose's escape for a literal `$` (the token service's shell) and reads nothing.
REFERENCE = re.compile(r"(?<!\$)(?:\$\$)*\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
IMAGE_LINE = re.compile(r"^\s*image:\s*(\S+)\s*$")
DOC_IMAGE = re.compile(r"(?<![\w/.-])(" + "|".join(re.escape(i) for i in IMAGES) + r"):([0-9][A-Za-z0-9._-]*)")
EXAMPLE_LINE = re.compile(r"^#?([A-Z][A-Z0-9_]*)=(.*)$")

# A product the prose names with a version, and the pins that version may stand for: the doc's
# number must be one of them, or a prefix of one at a dot or a dash ("PostgreSQL 17" for
# 17.6-bookworm, "Jaeger 2.x" for v2.13.0). A product not listed here is named without a number.
PROSE_PRODUCTS = {
    "PostgreSQL": ("POSTGRES_IMAGE_TAG", "PG_MAJOR"),
    "MariaDB": ("MARIADB_IMAGE_TAG", "DEBIAN_MARIADB_VERSION"),
    "nginx": ("NGINX_TAG", "DEBIAN_NGINX_VERSION"),
    "Kafka": ("KAFKA_VERSION",),
    "Jaeger": ("JAEGER_V2_VERSION",),
    "Go": ("JAEGER_MIN_GO", "GO_TOOLCHAIN_VERSION"),
    "Compose": ("COMPOSE_VERSION",),
    "docker/compose": ("COMPOSE_VERSION",),
    "buildx": ("BUILDX_VERSION",),
    "Engine": ("DEBIAN_DOCKER_VERSION",),
    "hadolint": ("HADOLINT_VERSION",),
    "schemathesis": ("SCHEMATHESIS_VERSION",),
}
# "PostgreSQL 17", "nginx **1.22**", "`buildx` (v0.38.2)", "Jaeger 2.x", "Go ≥ 1.24.6": the
# product, then the number right after it, on the same line or the next (code, bold, a leading v,
# a comparison, or a parenthesis before a v allowed between them).
PROSE_VERSION = re.compile(r"(?<![\w/-])(" + "|".join(re.escape(p) for p in PROSE_PRODUCTS) +
                           r")`?\s+(?:\(v|(?:\*\*)?(?:[≥>=]+\s*)?v?)([0-9]+(?:\.[0-9]+)*)(?:\.x)?\b")
# The Debian packages behind the DEBIAN_* pins, checked where dpkg knows them.
DEBIAN_PACKAGES = {
    "DEBIAN_MARIADB_VERSION": "mariadb-server",
    "DEBIAN_NGINX_VERSION": "nginx-light",
    "DEBIAN_DOCKER_VERSION": "docker.io",
}


def read(path):
    with open(path) as f:
        return f.read()


def compose_texts():
    """{file name: text} of every compose file."""
    return {os.path.basename(p): read(p) for p in sorted(glob.glob(os.path.join(REPO, "docker-compose*.yml")))}


def doc_texts():
    paths = [os.path.join(REPO, "README.md"), *sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))]
    return {os.path.relpath(p, REPO): read(p) for p in paths}


def pins():
    """scripts/versions.env as a dict (plain KEY=VALUE lines)."""
    values = {}
    for line in read(os.path.join(REPO, "scripts", "versions.env")).splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            values[key] = value
    return values


def references(text):
    """(name, operator or None, default or None) of every variable a compose text reads."""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for m in REFERENCE.finditer(line):
            if m.group(1):
                yield m.group(1), m.group(2), m.group(3)
            else:
                yield m.group(4), None, None


def check_pins(composes, docs, pinned):
    problems = []
    wanted = {var: tag(pinned) for var, tag in IMAGES.values()}
    for name, text in composes.items():
        for line in text.splitlines():
            m = IMAGE_LINE.match(line)
            if not m or m.group(1).startswith("ringtrace-") or "RINGTRACE_IMAGE_NAMESPACE" in m.group(1):
                continue
            image = m.group(1)
            repo, _, tag = image.partition(":")
            if repo not in IMAGES:
                problems.append(f"{name}: image {image} is not one of the pinned images {sorted(IMAGES)}")
                continue
            var = IMAGES[repo][0]
            expected = "${" + var + ":-" + wanted[var] + "}"
            if tag != expected:
                problems.append(f"{name}: image {image}, expected {repo}:{expected} (scripts/versions.env)")
    for name, text in docs.items():
        for m in DOC_IMAGE.finditer(text):
            var = IMAGES[m.group(1)][0]
            if m.group(2) != wanted[var]:
                problems.append(f"{name}: names {m.group(0)}, but scripts/versions.env pins {m.group(1)}:{wanted[var]}")
    return problems


def version_matches(named, pinned):
    """True when `named` is `pinned` (its leading v dropped) or a prefix of it at a dot or a dash."""
    pinned = pinned.removeprefix("v")
    return pinned == named or pinned.startswith(named + ".") or pinned.startswith(named + "-")


def check_prose(docs, pinned):
    """Every version the prose gives a pinned product stands for one of its pins."""
    problems = []
    for name, text in docs.items():
        for m in PROSE_VERSION.finditer(text):
            keys = PROSE_PRODUCTS[m.group(1)]
            missing = [k for k in keys if k not in pinned]
            if missing:
                problems.append(f"scripts/versions.env has no {', '.join(missing)}")
                continue
            if not any(version_matches(m.group(2), pinned[k]) for k in keys):
                allowed = ", ".join(f"{k}={pinned[k]}" for k in keys)
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{name}:{line}: names {m.group(0)!r}, but scripts/versions.env pins {allowed}")
    return problems


def check_debian_packages(pinned, query=None):
    """Each DEBIAN_* pin against the installed package's version, where dpkg has the package."""
    import shutil
    import subprocess

    def dpkg(package):
        if not shutil.which("dpkg-query"):
            return None
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", package],
                             capture_output=True, text=True, check=False)
        fields = out.stdout.split()
        return fields[-1] if out.returncode == 0 and "installed" in fields else None

    query = query or dpkg
    problems = []
    for key, package in DEBIAN_PACKAGES.items():
        version = query(package)
        if version is None:
            continue
        # 1:10.11.19-0+deb12u1 → 10.11.19: no epoch, no Debian revision or repack suffix.
        upstream = re.match(r"(?:[0-9]+:)?([0-9]+(?:\.[0-9]+)*)", version)
        if not upstream or not version_matches(pinned.get(key, "?"), upstream.group(1)):
            problems.append(f"scripts/versions.env pins {key}={pinned.get(key)}, but {package} {version} is installed")
    return problems


def check_env_example(composes, example):
    problems = []
    read_by = {}
    for name, text in composes.items():
        for var, op, default in references(text):
            read_by.setdefault(var, {})[name] = (op, default)
    listed = {}
    lines = example.splitlines()
    for i, line in enumerate(lines):
        m = EXAMPLE_LINE.match(line)
        if not m:
            continue
        var, value = m.groups()
        if var in listed:
            problems.append(f".env.example lists {var} twice")
        listed[var] = value
        if i == 0 or not lines[i - 1].startswith("# "):
            problems.append(f".env.example: {var} has no comment above it saying what it does")
    if not read_by:
        problems.append("no compose file reads any variable: the compose files were not read")
    for var, uses in sorted(read_by.items()):
        files = ", ".join(sorted(uses))
        if var not in listed:
            problems.append(f".env.example does not list {var}, which {files} reads")
            continue
        defaults = {default for op, default in uses.values() if op in (":-", "-")}
        if len(defaults) > 1:
            problems.append(f"{var} has different defaults in {files}: {sorted(defaults)}")
        elif defaults and listed[var] != next(iter(defaults)):
            problems.append(f".env.example shows {var}={listed[var]}, but its default is {next(iter(defaults))!r} ({files})")
    for var in sorted(set(listed) - set(read_by)):
        problems.append(f".env.example lists {var}, which no compose file reads")
    return problems


def self_test(composes, docs, example, pinned):
    """Each check refuses a doctored copy: a tag off its pin, a doc naming another tag, a
    variable compose reads that .env.example lacks, a listed one compose never reads."""
    failures = []
    main = "docker-compose.yml"
    off_pin = dict(composes)
    off_pin[main] = composes[main].replace("${RINGTRACE_KAFKA_TAG:-", "${RINGTRACE_KAFKA_TAG:-0.", 1)
    if not check_pins(off_pin, docs, pinned):
        failures.append("pins accepted a Kafka tag off its pin")
    literal = dict(composes)
    literal[main] = re.sub(r"postgres:\$\{RINGTRACE_POSTGRES_TAG:-([^}]*)\}", r"postgres:\1", composes[main], count=1)
    if literal[main] == composes[main] or not check_pins(literal, docs, pinned):
        failures.append("pins accepted a literal postgres tag")
    if not check_pins(composes, {**docs, "doctored.md": "runs `nginx:0.0.1`"}, pinned):
        failures.append("pins accepted a doc naming an unpinned nginx tag")
    if not check_prose({"doctored.md": "runs on PostgreSQL 16 and Engine 19.03"}, pinned):
        failures.append("pins accepted prose naming PostgreSQL 16")
    if check_prose({"ok.md": "PostgreSQL " + pinned["PG_MAJOR"] + ", Jaeger 2.x, Go ≥ " + pinned["JAEGER_MIN_GO"]}, pinned):
        failures.append("pins refused prose naming the pinned versions")
    if not check_debian_packages(pinned, lambda package: "1:0.1-1" if package == "mariadb-server" else None):
        failures.append("pins accepted an installed mariadb-server other than DEBIAN_MARIADB_VERSION")
    unread = dict(composes)
    unread[main] = composes[main] + "\nx-doctored:\n  value: ${RINGTRACE_DOCTORED_VARIABLE:-1}\n"
    if not any("RINGTRACE_DOCTORED_VARIABLE" in p for p in check_env_example(unread, example)):
        failures.append("env-example accepted a variable .env.example does not list")
    if not any("RINGTRACE_DOCTORED_EXTRA" in p
               for p in check_env_example(composes, example + "# doctored\n#RINGTRACE_DOCTORED_EXTRA=1\n")):
        failures.append("env-example accepted a listed variable no compose file reads")
    if not check_env_example(composes, example.replace("#RINGTRACE_WINDOW=\n", "#RINGTRACE_WINDOW=7\n")):
        failures.append("env-example accepted a default other than the compose file's")
    return failures


def sync(pinned):
    """Rewrites every tag default and documented image:tag to the pins."""
    wanted = {var: tag(pinned) for var, tag in IMAGES.values()}
    paths = [*glob.glob(os.path.join(REPO, "docker-compose*.yml")), os.path.join(REPO, ".env.example"),
             os.path.join(REPO, "README.md"), *glob.glob(os.path.join(REPO, "docs", "*.md"))]
    for path in paths:
        text = read(path)
        new = text
        for var, tag in wanted.items():
            new = re.sub(r"\$\{" + var + r":-[^}]*\}", "${" + var + ":-" + tag + "}", new)
            new = re.sub(r"(?m)^(#?" + var + r"=).*$", lambda m: m.group(1) + tag, new)
        new = DOC_IMAGE.sub(lambda m: m.group(1) + ":" + wanted[IMAGES[m.group(1)][0]], new)
        if new != text:
            with open(path, "w") as f:
                f.write(new)
            print(f"sync: {os.path.relpath(path, REPO)}")


def main(argv):
    if len(argv) != 1 or argv[0] not in ("pins", "env-example", "self-test", "sync"):
        sys.exit(__doc__)
    pinned = pins()
    composes = compose_texts()
    example = read(os.path.join(REPO, ".env.example"))
    if argv[0] == "sync":
        sync(pinned)
        return 0
    if argv[0] == "pins":
        problems = check_pins(composes, doc_texts(), pinned) + check_prose(doc_texts(), pinned) + \
            check_debian_packages(pinned)
    elif argv[0] == "env-example":
        problems = check_env_example(composes, example)
    else:
        problems = self_test(composes, doc_texts(), example, pinned)
    for problem in problems:
        print(f"{argv[0]}: {problem}", file=sys.stderr)
    if problems and argv[0] == "pins":
        print("pins: after a bump in scripts/versions.env, `python3 tests/deploy/compose_pins_checks.py sync` "
              "rewrites the defaults", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
