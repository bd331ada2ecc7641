#!/usr/bin/env python3
"""Checks of the Dockerfile that need no Docker engine.

  dockerfile_checks.py static           stages, pinned bases, the dependency layer before the
                                        sources, the release preset without tests, targets ms1 ms2
                                        ms3 with their entrypoints, the probe, the config and a
                                        non-root user
  dockerfile_checks.py runtime-libs BIN...
                                        the runtime stage installs exactly the Debian packages
                                        whose libraries these (natively built) binaries link
  dockerfile_checks.py context          the build context left by .dockerignore has what the
                                        Dockerfile copies and configures with the release preset
  dockerfile_checks.py hadolint         the pinned hadolint finds nothing; a missing hadolint, or another
                                        version, fails the check (scripts/install-deps.sh installs it)
"""

import json
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
import deploy_common as dc  # noqa: E402
from deploy_common import REPO, SERVICES, Problems

DOCKERFILE = os.path.join(REPO, "Dockerfile")
CONFIG_IN_IMAGE = "/etc/ringtrace/ringtrace.yaml"
# Present in every Debian image (apt itself needs them), so the runtime stage need not name them.
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
# Sanitizer runtimes appear when the binaries under test come from the asan preset; the images
# are built without sanitizers.
SANITIZER_LIBS = re.compile(r"^lib(asan|ubsan|lsan|tsan|hwasan)\.so")


# ------------------------------------------------------------------------------ the Dockerfile

class Stage:
    def __init__(self, index, base, name):
        self.index, self.base, self.name = index, base, name
        self.instructions = []  # (keyword, arguments)


def parse_dockerfile(path=DOCKERFILE):
    """(global ARG defaults, stages). Joins continuation lines and drops comments, as Docker does."""
    with open(path) as f:
        lines = f.read().splitlines()
    logical, current = [], ""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    if current:
        logical.append(current)
    global_args, stages = {}, []
    for text in logical:
        keyword, _, rest = text.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            words = rest.split()
            words = [w for w in words if not w.startswith("--")]
            name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(len(stages), words[0], name))
        elif not stages:
            if keyword == "ARG":
                key, _, value = rest.partition("=")
                global_args[key.strip()] = value.strip().strip('"')
        else:
            stages[-1].instructions.append((keyword, rest))
    return global_args, stages


def substitute(text, args):
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m.group(1), m.group(0)), text)


def stage_by_name(stages, name):
    return next((s for s in stages if s.name == name), None)


def chain(stages, stage):
    """The stage and the stages it is built FROM, base first."""
    out = [stage]
    while True:
        parent = stage_by_name(stages, out[0].base.lower())
        if parent is None or parent in out:
            return out
        out.insert(0, parent)


def copies(stage_list):
    """(from stage or None, sources, destination) of each COPY/ADD."""
    out = []
    for stage in stage_list:
        for keyword, rest in stage.instructions:
            if keyword not in ("COPY", "ADD"):
                continue
            words = shlex.split(rest)
            flags = {w.split("=", 1)[0]: w.split("=", 1)[1] if "=" in w else "" for w in words if w.startswith("--")}
            paths = [w for w in words if not w.startswith("--")]
            out.append((flags.get("--from"), paths[:-1], paths[-1] if paths else ""))
    return out


def apt_packages(stage_list):
    """Packages named by `apt-get install` in these stages."""
    packages = []
    for stage in stage_list:
        for keyword, rest in stage.instructions:
            if keyword != "RUN":
                continue
            for command in re.split(r"&&|;|\|\|", rest):
                words = command.split()
                if len(words) >= 3 and words[0] == "apt-get" and "install" in words:
                    after = words[words.index("install") + 1:]
                    packages += [w for w in after if not w.startswith("-")]
    return packages


def resolve_preset(name):
    """(cacheVariables, binaryDir) of a configure preset, following `inherits`."""
    with open(os.path.join(REPO, "CMakePresets.json")) as f:
        presets = {p["name"]: p for p in json.load(f)["configurePresets"]}
    if name not in presets:
        return None, None
    variables, binary_dir, todo = {}, None, [name]
    while todo:
        p = presets[todo.pop(0)]
        for k, v in p.get("cacheVariables", {}).items():
            variables.setdefault(k, v["value"] if isinstance(v, dict) else v)
        binary_dir = binary_dir or p.get("binaryDir")
        inherits = p.get("inherits", [])
        todo += [inherits] if isinstance(inherits, str) else inherits
    return variables, binary_dir


def debian_bookworm(image):
    repo, _, tag = image.partition(":")
    return repo in ("debian", "docker.io/library/debian") and re.match(r"(bookworm|12)([.-]|$)", tag) is not None


def check_static():
    global_args, stages = parse_dockerfile()
    problems = Problems("dockerfile static")
    problems.expect(len(stages) >= 2, "not a multi-stage build")
    names = [s.name for s in stages]
    bases = {}
    for stage in stages:
        if stage_by_name(stages, stage.base.lower()):
            continue
        image = substitute(stage.base, global_args)
        bases[stage.name] = image
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        problems.expect("$" not in image and tag and tag != "latest" and not tag.startswith("latest-"),
                        f"stage {stage.name}: base image {image} has no pinned tag")
        problems.expect(debian_bookworm(image), f"stage {stage.name}: base image {image} is not Debian bookworm")
    problems.expect(len(set(bases.values())) == 1,
                    f"build and runtime stages use different base images {sorted(set(bases.values()))}: "
                    "the runtime libraries must be those the binaries were built against")

    build = next((s for s in stages if any(k == "RUN" and "scripts/build.sh" in r for k, r in s.instructions)), None)
    if not problems.expect(build is not None, "no stage runs scripts/build.sh"):
        problems.finish()
    ins = build.instructions

    def first(predicate):
        return next((i for i, (k, r) in enumerate(ins) if predicate(k, r)), None)

    copy_deps = first(lambda k, r: k == "COPY" and "scripts/install-deps.sh" in r)
    run_deps = first(lambda k, r: k == "RUN" and re.search(r"install-deps\.sh\s+--build-only", r))
    copy_all = first(lambda k, r: k == "COPY" and re.match(r"(--\S+\s+)*\.\s+\S+$", r))
    run_build = first(lambda k, r: k == "RUN" and "scripts/build.sh" in r)
    problems.expect(None not in (copy_deps, run_deps, copy_all) and copy_deps < run_deps < copy_all < run_build,
                    "the build stage must copy and run scripts/install-deps.sh --build-only before copying "
                    "the sources, so the package layer is cached")
    preset_match = re.search(r"scripts/build\.sh(?:\s+([A-Za-z0-9_-]+))?", ins[run_build][1])
    preset = preset_match.group(1) or "release"
    variables, binary_dir = resolve_preset(preset)
    problems.expect(variables is not None, f"scripts/build.sh {preset}: no such configure preset")
    if variables is not None:
        problems.expect(str(variables.get("RINGTRACE_TESTS", "ON")).upper() in ("OFF", "FALSE", "0", "NO"),
                        f"preset {preset} builds the tests: the image needs RINGTRACE_TESTS=OFF")
        problems.expect(str(variables.get("CMAKE_BUILD_TYPE")) == "Release", f"preset {preset} is not a Release build")
    bin_dir = (binary_dir or "").replace("${sourceDir}/", "") + "/bin/"

    for service in SERVICES:
        target = stage_by_name(stages, service)
        if not problems.expect(target is not None, f"no target {service}"):
            continue
        lineage = chain(stages, target)
        users = [r for s in lineage for k, r in s.instructions if k == "USER"]
        user = users[-1] if users else "root"
        problems.expect(user.split(":")[0] not in ("root", "0"), f"target {service} runs as {user}, not an unprivileged user")
        entry = [r for k, r in target.instructions if k == "ENTRYPOINT"]
        try:
            entrypoint = json.loads(entry[-1]) if entry else None
        except json.JSONDecodeError:
            entrypoint = entry[-1]
        problems.expect(isinstance(entrypoint, list) and len(entrypoint) == 3
                        and entrypoint[0] in (service, f"/usr/local/bin/{service}")
                        and entrypoint[1:] == ["--config", CONFIG_IN_IMAGE],
                        f"target {service}: ENTRYPOINT {entrypoint} is not [{service}, --config, {CONFIG_IN_IMAGE}]")
        copied = copies(lineage)
        for binary in (service, "ringtrace-probe"):
            problems.expect(any(src == build.name and any(p.endswith(bin_dir + binary) for p in paths)
                                for src, paths, _ in copied),
                            f"target {service}: does not copy {bin_dir}{binary} from the build stage")
        problems.expect(any(src is None and paths == ["config/ringtrace.yaml"] and dest == CONFIG_IN_IMAGE
                            for src, paths, dest in copied),
                        f"target {service}: does not copy config/ringtrace.yaml to {CONFIG_IN_IMAGE}")
        dev = [p for p in apt_packages(lineage) if p.endswith("-dev")]
        problems.expect(not dev, f"target {service}: installs development packages {dev}")
        problems.expect(build not in lineage, f"target {service} is built on the build stage")
    problems.expect(len(names) == len(set(names)), "two stages share a name")
    problems.finish()


# -------------------------------------------------------------------------- runtime libraries

def library_candidates(path):
    """The names dpkg may know a library by: usrmerge moved /lib to /usr/lib, but packages still
    register either."""
    out = {path, os.path.realpath(path)}
    for p in list(out):
        if p.startswith("/usr/lib/"):
            out.add(p[len("/usr"):])
        elif p.startswith("/lib/"):
            out.add("/usr" + p)
    return out


def owners(paths):
    """{path: Debian package} for the paths dpkg knows, in one dpkg-query call (each call reads
    every package's file list)."""
    result = subprocess.run(["dpkg-query", "-S", *sorted(paths)], capture_output=True, text=True)
    found = {}
    for line in result.stdout.splitlines():
        packages, _, path = line.partition(": ")
        found[path.strip()] = packages.split(",")[0].split(":")[0].strip()
    return found


def needed_libraries(binary, problems):
    """{library name: resolved path} of the binary's own NEEDED entries."""
    readelf = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf)
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
    libraries = {}
    for lib in needed:
        if SANITIZER_LIBS.match(lib):
            continue
        if problems.expect(lib in paths, f"{os.path.basename(binary)}: {lib} does not resolve"):
            libraries[lib] = paths[lib]
    return libraries


def check_runtime_libs(binaries):
    _, stages = parse_dockerfile()
    problems = Problems("runtime-libs")
    runtime_packages = set()
    for service in SERVICES:
        target = stage_by_name(stages, service)
        if target is not None:
            runtime_packages |= set(apt_packages(chain(stages, target)))
    linked = {}  # (library, path) -> binaries
    for binary in binaries:
        if not os.access(binary, os.X_OK):
            dc.die(f"{binary} is not built")
        for lib, path in needed_libraries(binary, problems).items():
            linked.setdefault((lib, path), []).append(os.path.basename(binary))
    known = owners({c for _, path in linked for c in library_candidates(path)})
    needed = {}  # package -> "library (binaries)"
    for (lib, path), users in linked.items():
        package = next((known[c] for c in sorted(library_candidates(path)) if c in known), None)
        if problems.expect(package is not None, f"{lib} ({path}) belongs to no Debian package"):
            needed.setdefault(package, set()).add(f"{lib} ({', '.join(users)})")
    for package in sorted(set(needed) - BASE_PACKAGES - runtime_packages):
        problems.add(f"the runtime stage does not install {package}, needed for {sorted(needed[package])}")
    for package in sorted(runtime_packages - set(needed)):
        problems.add(f"the runtime stage installs {package}, which no binary links")
    problems.finish()


# --------------------------------------------------------------------------- build context

def ignore_patterns():
    path = os.path.join(REPO, ".dockerignore")
    patterns = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    negate = line.startswith("!")
                    patterns.append((negate, os.path.normpath(line.lstrip("!").strip("/"))))
    return patterns


def pattern_regex(pattern):
    """Docker's .dockerignore matching: Go filepath.Match per path element, plus `**`."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
        i += 1
    return re.compile(out + r"\Z")


def ignored(rel, patterns):
    """Whether a path (or a directory above it) is left out of the context; the last match wins."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for negate, pattern in patterns:
        rx = pattern_regex(pattern)
        if any(rx.match(p) for p in prefixes):
            result = not negate
    return result


def build_context(dest):
    patterns = ignore_patterns()
    can_prune = not any(negate for negate, _ in patterns)
    for root, dirs, files in os.walk(REPO):
        rel_root = os.path.relpath(root, REPO)
        rel_root = "" if rel_root == "." else rel_root
        keep = []
        for d in dirs:
            rel = f"{rel_root}/{d}".lstrip("/")
            if not (can_prune and ignored(rel, patterns)):
                keep.append(d)
        dirs[:] = keep
        for name in files:
            rel = f"{rel_root}/{name}".lstrip("/")
            if ignored(rel, patterns):
                continue
            os.makedirs(os.path.join(dest, rel_root), exist_ok=True)
            shutil.copy2(os.path.join(root, name), os.path.join(dest, rel), follow_symlinks=False)


def check_context():
    _, stages = parse_dockerfile()
    problems = Problems("context")
    with tempfile.TemporaryDirectory() as tmp:
        context = os.path.join(tmp, "context")
        build_context(context)
        for src, paths, _ in copies(stages):
            if src is not None:
                continue
            for p in paths:
                problems.expect(p == "." or os.path.exists(os.path.join(context, p)),
                                f"COPY {p}: not in the build context (.dockerignore leaves it out, or it is missing)")
        build = next(s for s in stages if any(k == "RUN" and "scripts/build.sh" in r for k, r in s.instructions))
        run_build = next(r for k, r in build.instructions if k == "RUN" and "scripts/build.sh" in r)
        preset = (re.search(r"scripts/build\.sh(?:\s+([A-Za-z0-9_-]+))?", run_build).group(1)) or "release"
        result = subprocess.run(["cmake", "--preset", preset], cwd=context, capture_output=True, text=True)
        problems.expect(result.returncode == 0,
                        f"cmake --preset {preset} fails in the build context:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    problems.finish()


# ------------------------------------------------------------------------------------ hadolint

def check_hadolint():
    # A missing linter fails like a finding: a check that passes without running is no check.
    hadolint = shutil.which("hadolint") or ("/usr/local/bin/hadolint" if os.access("/usr/local/bin/hadolint", os.X_OK) else None)
    if not hadolint:
        dc.die("hadolint is not installed: scripts/install-deps.sh installs it (or deselect this check: ctest -E dockerfile.hadolint)")
    pinned = dc.pins()["HADOLINT_VERSION"]
    version = subprocess.run([hadolint, "--version"], capture_output=True, text=True)
    if version.returncode != 0 or pinned not in version.stdout:
        dc.die(f"{hadolint} is not hadolint {pinned} (scripts/versions.env): {version.stdout.strip()}{version.stderr.strip()}; "
               "scripts/install-deps.sh installs the pinned one")
    # Ours and the container test's stand-ins for the third-party images (docs/containers.md).
    standins = sorted(glob.glob(os.path.join(REPO, "tests", "compose", "standins", "*", "Dockerfile")))
    if not standins:
        dc.die("no stand-in Dockerfiles under tests/compose/standins")
    result = subprocess.run([hadolint, DOCKERFILE, *standins], capture_output=True, text=True)
    if result.returncode != 0:
        dc.die(f"hadolint:\n{result.stdout}{result.stderr}")


def main(argv):
    if argv == ["static"]:
        check_static()
    elif argv[:1] == ["runtime-libs"] and len(argv) > 1:
        check_runtime_libs([a for a in argv[1:] if a])
    elif argv == ["context"]:
        check_context()
    elif argv == ["hadolint"]:
        check_hadolint()
    else:
        dc.die(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
