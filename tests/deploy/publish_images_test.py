#!/usr/bin/env python3
"""scripts/publish-images.sh against a stand-in `docker` that records its arguments, so what it
builds, tags and pushes, and when it refuses, is checked without an engine or a registry.

  publish_images_test.py no-docker       refuses: docker is not installed
  publish_images_test.py engine-down     refuses: the engine does not answer (stand-in, and the
                                         real CLI pointed at a socket that does not exist)
  publish_images_test.py no-namespace    refuses: RINGTRACE_IMAGE_NAMESPACE unset or invalid
  publish_images_test.py no-login        refuses: no Docker Hub login in the client config
  publish_images_test.py publishes       builds ms1 ms2 ms3 tagged <version> and latest, pushes both
  publish_images_test.py other-registry  a registry/path namespace publishes there without a
                                         Docker Hub login; malformed registries are refused
  publish_images_test.py token-login     logs in with DOCKERHUB_USERNAME/DOCKERHUB_TOKEN (token on stdin)
  publish_images_test.py build-fails     a failed build pushes nothing
  publish_images_test.py dry-run         --dry-run prints the commands and needs no docker
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
import deploy_common as dc  # noqa: E402
from deploy_common import REPO, SERVICES, Problems

SCRIPT = os.path.join(REPO, "scripts", "publish-images.sh")

FAKE_DOCKER = """#!{python}
# Stand-in for the docker CLI: records its arguments, answers like a working engine unless told.
import json, os, sys
args = sys.argv[1:]
entry = {{"args": args}}
if args[:1] == ["login"]:
    entry["stdin"] = sys.stdin.read()
    config = os.path.join(os.environ["DOCKER_CONFIG"], "config.json")
    with open(config, "w") as f:
        json.dump({{"auths": {{"https://index.docker.io/v1/": {{}}}}}}, f)
with open(os.environ["FAKE_DOCKER_LOG"], "a") as f:
    f.write(json.dumps(entry) + "\\n")
if args[:1] == ["info"] and os.environ.get("FAKE_DOCKER_ENGINE") == "down":
    sys.exit("Cannot connect to the Docker daemon")
if args[:1] == ["build"] and os.environ.get("FAKE_DOCKER_FAIL_TARGET") in args:
    sys.exit("build failed")
"""

# The commands the script needs besides docker (bash builtins aside).
TOOLS = ("bash", "dirname", "sed", "grep", "mktemp", "tail", "rm", "cat")


def project_version():
    with open(os.path.join(REPO, "CMakeLists.txt")) as f:
        return re.search(r"project\(\w+\s+VERSION\s+([0-9][^\s)]*)", f.read()).group(1)


class Sandbox:
    """A temp dir with a bin/ holding the tools (and a stand-in docker unless told otherwise),
    a DOCKER_CONFIG dir, and the stand-in's log."""

    def __init__(self, docker=True, logged_in=True):
        self.dir = tempfile.mkdtemp(prefix="publish-test-")
        self.bin = os.path.join(self.dir, "bin")
        self.config = os.path.join(self.dir, "docker-config")
        self.log = os.path.join(self.dir, "docker.log")
        os.makedirs(self.bin)
        os.makedirs(self.config)
        for tool in TOOLS:
            path = shutil.which(tool)
            if not path:
                dc.die(f"{tool} not found")
            os.symlink(path, os.path.join(self.bin, tool))
        if docker:
            fake = os.path.join(self.bin, "docker")
            with open(fake, "w") as f:
                f.write(FAKE_DOCKER.format(python=sys.executable))
            os.chmod(fake, 0o755)
        if logged_in:
            with open(os.path.join(self.config, "config.json"), "w") as f:
                json.dump({"auths": {"https://index.docker.io/v1/": {"auth": "c29tZW9uZTpzZWNyZXQ="}}}, f)

    def run(self, args=(), **env):
        base = {"PATH": self.bin, "HOME": self.dir, "DOCKER_CONFIG": self.config, "FAKE_DOCKER_LOG": self.log,
                "RINGTRACE_IMAGE_NAMESPACE": "example-org"}
        base.update({k: v for k, v in env.items() if v is not None})
        for k in [k for k, v in env.items() if v is None]:
            base.pop(k, None)
        return subprocess.run([os.path.join(self.bin, "bash"), SCRIPT, *args], capture_output=True, text=True,
                              env=base, cwd=self.dir, timeout=60)

    def calls(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def expect_refusal(problems, result, sandbox, phrase, what):
    """Non-zero exit, one line on stderr naming the problem, nothing built or pushed."""
    problems.expect(result.returncode != 0, f"{what}: exit 0")
    lines = result.stderr.strip().splitlines()
    problems.expect(len(lines) == 1 and phrase in lines[0], f"{what}: stderr {result.stderr!r} does not say {phrase!r}")
    acted = [c["args"][0] for c in sandbox.calls() if c["args"][:1] in (["build"], ["push"])]
    problems.expect(not acted, f"{what}: ran docker {acted} anyway")


def test_no_docker(problems):
    box = Sandbox(docker=False)
    try:
        expect_refusal(problems, box.run(), box, "docker is not installed", "without docker")
    finally:
        box.close()


def test_engine_down(problems):
    box = Sandbox()
    try:
        expect_refusal(problems, box.run(FAKE_DOCKER_ENGINE="down"), box, "Docker engine is not reachable",
                       "engine down")
    finally:
        box.close()
    real = shutil.which("docker")
    if real:
        # The real client, with an engine address where nothing listens.
        box = Sandbox(docker=False)
        try:
            os.symlink(real, os.path.join(box.bin, "docker"))
            result = box.run(DOCKER_HOST=f"unix://{box.dir}/no-engine.sock")
            expect_refusal(problems, result, box, "Docker engine is not reachable", "real docker, no engine")
        finally:
            box.close()


def test_no_namespace(problems):
    box = Sandbox()
    try:
        expect_refusal(problems, box.run(RINGTRACE_IMAGE_NAMESPACE=None), box, "RINGTRACE_IMAGE_NAMESPACE is not set",
                       "namespace unset")
        expect_refusal(problems, box.run(RINGTRACE_IMAGE_NAMESPACE=""), box, "RINGTRACE_IMAGE_NAMESPACE is not set",
                       "namespace empty")
        expect_refusal(problems, box.run(RINGTRACE_IMAGE_NAMESPACE="Not Valid"), box,
                       "not a valid Docker Hub namespace", "namespace invalid")
        # Docker would read "org/team" as a Docker Hub path: only a host with a dot or a port,
        # or localhost, names another registry.
        expect_refusal(problems, box.run(RINGTRACE_IMAGE_NAMESPACE="org/team"), box,
                       "is not a registry host[:port]", "two-part namespace without a registry")
        expect_refusal(problems, box.run(RINGTRACE_IMAGE_NAMESPACE="registry.example.com/Upper"), box,
                       "not a valid registry path", "registry path with upper case")
        expect_refusal(problems, box.run(RINGTRACE_IMAGE_NAMESPACE="registry.example.com:5000/"), box,
                       "not a valid registry path", "registry without a path")
    finally:
        box.close()


def test_no_login(problems):
    box = Sandbox(logged_in=False)
    try:
        expect_refusal(problems, box.run(), box, "not logged in to Docker Hub", "no config.json")
        with open(os.path.join(box.config, "config.json"), "w") as f:
            json.dump({"auths": {"ghcr.io": {"auth": "eDp5"}}}, f)
        expect_refusal(problems, box.run(), box, "not logged in to Docker Hub", "logged in elsewhere only")
    finally:
        box.close()


def expect_published(problems, box, result, namespace, version):
    problems.expect(result.returncode == 0, f"exit {result.returncode}: {result.stderr.strip()}")
    calls = [c["args"] for c in box.calls()]
    builds = [c for c in calls if c[:1] == ["build"]]
    pushes = [c for c in calls if c[:1] == ["push"]]
    for service in SERVICES:
        image = f"{namespace}/ringtrace-{service}"
        mine = [b for b in builds if "--target" in b and b[b.index("--target") + 1] == service]
        if not problems.expect(len(mine) == 1, f"{service}: built {len(mine)} times, expected once"):
            continue
        b = mine[0]
        tags = {b[i + 1] for i, a in enumerate(b) if a in ("--tag", "-t")}
        problems.expect(tags == {f"{image}:{version}", f"{image}:latest"}, f"{service}: tagged {sorted(tags)}")
        problems.expect(f"RINGTRACE_VERSION={version}" in b, f"{service}: version not passed as a build argument")
        problems.expect(b[-1] in (".", REPO), f"{service}: build context {b[-1]!r} is not the repository")
        for tag in (version, "latest"):
            problems.expect(["push", f"{image}:{tag}"] in pushes, f"{service}: {image}:{tag} not pushed")
    problems.expect(len(pushes) == 2 * len(SERVICES), f"{len(pushes)} pushes, expected {2 * len(SERVICES)}")
    last_build = max((i for i, c in enumerate(calls) if c[:1] == ["build"]), default=-1)
    first_push = min((i for i, c in enumerate(calls) if c[:1] == ["push"]), default=len(calls))
    problems.expect(last_build < first_push, "pushes before every image is built")


def test_publishes(problems):
    box = Sandbox()
    try:
        expect_published(problems, box, box.run(), "example-org", project_version())
    finally:
        box.close()
    box = Sandbox()
    try:
        expect_published(problems, box, box.run(RINGTRACE_VERSION="1.2.3-rc1"), "example-org", "1.2.3-rc1")
        result = box.run(RINGTRACE_VERSION="1.0.0+build5")
        problems.expect(result.returncode != 0 and "not a valid image tag" in result.stderr,
                        f"accepted version 1.0.0+build5: {result.stderr!r}")
    finally:
        box.close()


def test_other_registry(problems):
    for namespace in ("127.0.0.1:5000/ringtrace", "registry.example.com/team/ringtrace", "localhost/rt"):
        box = Sandbox(logged_in=False)
        try:
            result = box.run(RINGTRACE_IMAGE_NAMESPACE=namespace)
            expect_published(problems, box, result, namespace, project_version())
            logins = [c for c in box.calls() if c["args"][:1] == ["login"]]
            problems.expect(not logins, f"{namespace}: logged in to Docker Hub although it publishes elsewhere")
        finally:
            box.close()


def test_token_login(problems):
    box = Sandbox(logged_in=False)
    try:
        result = box.run(DOCKERHUB_USERNAME="robot", DOCKERHUB_TOKEN="s3cret-token")
        logins = [c for c in box.calls() if c["args"][:1] == ["login"]]
        problems.expect(len(logins) == 1, f"{len(logins)} docker login calls, expected 1")
        if logins:
            problems.expect("s3cret-token" not in " ".join(logins[0]["args"]), "the token is on the command line")
            problems.expect(logins[0]["stdin"] == "s3cret-token", "the token was not given on stdin")
            problems.expect("--password-stdin" in logins[0]["args"] and "robot" in logins[0]["args"],
                            f"login arguments {logins[0]['args']}")
        expect_published(problems, box, result, "example-org", project_version())
    finally:
        box.close()


def test_build_fails(problems):
    box = Sandbox()
    try:
        result = box.run(FAKE_DOCKER_FAIL_TARGET="ms2")
        problems.expect(result.returncode != 0, "exit 0 although the ms2 build failed")
        problems.expect("build failed" in result.stderr, f"the build's output is not shown: {result.stderr!r}")
        pushes = [c["args"] for c in box.calls() if c["args"][:1] == ["push"]]
        problems.expect(not pushes, f"pushed {pushes} although a build failed")
    finally:
        box.close()


def test_dry_run(problems):
    box = Sandbox(docker=False, logged_in=False)
    try:
        result = box.run(["--dry-run"], RINGTRACE_VERSION="4.5.6")
        problems.expect(result.returncode == 0, f"--dry-run failed: {result.stderr.strip()}")
        lines = result.stdout.strip().splitlines()
        for service in SERVICES:
            image = f"example-org/ringtrace-{service}"
            problems.expect(f"docker build --target {service} --build-arg RINGTRACE_VERSION=4.5.6 "
                            f"--tag {image}:4.5.6 --tag {image}:latest ." in lines, f"{service}: build not printed")
            for tag in ("4.5.6", "latest"):
                problems.expect(f"docker push {image}:{tag}" in lines, f"{service}: push {tag} not printed")
        problems.expect(len(lines) == 9, f"{len(lines)} lines printed, expected 9 commands")
    finally:
        box.close()


TESTS = {
    "no-docker": test_no_docker,
    "engine-down": test_engine_down,
    "no-namespace": test_no_namespace,
    "no-login": test_no_login,
    "publishes": test_publishes,
    "other-registry": test_other_registry,
    "token-login": test_token_login,
    "build-fails": test_build_fails,
    "dry-run": test_dry_run,
}


def main(argv):
    if len(argv) != 1 or argv[0] not in TESTS:
        dc.die(__doc__)
    problems = Problems(f"publish-images {argv[0]}")
    TESTS[argv[0]](problems)
    problems.finish()


if __name__ == "__main__":
    main(sys.argv[1:])
