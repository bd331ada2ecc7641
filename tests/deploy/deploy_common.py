"""Shared by the deploy checks: the compose variants and how to resolve them without an engine.

There is no Docker engine where these checks run, so the container files are kept honest
statically: `docker-compose config` resolves and validates the compose files (it needs no
engine), and everything else is read from the resolved result.
"""

import functools
import os
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("deploy checks: PyYAML is missing (scripts/install-deps.sh installs python3-yaml)")

REPO = os.path.abspath(os.environ.get("RINGTRACE_REPO") or os.path.join(os.path.dirname(__file__), "..", ".."))

# The two ways to run the ring in containers: compose files, and what each must configure.
VARIANTS = {
    "postgresql": {
        "files": ["docker-compose.yml"],
        "database": "postgres",
        "driver": "postgresql",
        "naming": "mc",
        "port": 5432,
        "data_dir": "/var/lib/postgresql/data",
    },
    "mariadb": {
        "files": ["docker-compose.yml", "docker-compose.mariadb.yml"],
        "database": "mariadb",
        "driver": "mariadb",
        "naming": "service",
        "port": 3306,
        "data_dir": "/var/lib/mysql",
    },
}

SERVICES = ("ms1", "ms2", "ms3")

# The shared token reaches the services as a file on the token volume (the compose `token` service
# writes it); that path exists only inside the containers.
TOKEN_FILE_VARIABLE = "RINGTRACE__SECURITY__TOKEN_FILE"
TOKEN_SERVICE = "token"

# Passed through to the services next to the compose environment: the sanitizer builds read them,
# the configuration loader does not.
PASSTHROUGH_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")


class Problems:
    """Collects every failed expectation of one check, so a run reports all of them at once."""

    def __init__(self, name):
        self.name = name
        self.items = []

    def expect(self, condition, message):
        if not condition:
            self.items.append(message)
        return condition

    def add(self, message):
        self.items.append(message)

    def finish(self):
        if self.items:
            for item in self.items:
                print(f"{self.name}: {item}", file=sys.stderr)
            sys.exit(1)


def die(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def compose_files(variant):
    return [os.path.join(REPO, f) for f in VARIANTS[variant]["files"]]


@functools.lru_cache(maxsize=None)
def compose_command():
    """The Compose v2 CLI users have (`docker compose`), as the standalone binary of the plugin
    scripts/engine.sh builds and caches: `config` needs no engine."""
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", "engine.sh"), "compose-path"],
                            capture_output=True, text=True)
    exe = result.stdout.strip()
    if result.returncode != 0 or not os.access(exe, os.X_OK):
        die(f"no Compose v2 CLI: scripts/engine.sh compose-path failed: {result.stderr.strip()}")
    return exe


def compose_env(extra=None):
    """A clean environment for docker-compose: the caller's RINGTRACE_* or COMPOSE_* settings must
    not change what is checked; `extra` sets compose variables on purpose."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RINGTRACE_", "COMPOSE_", "DOCKER_"))}
    env.update(extra or {})
    return env


def run_compose(files, args, extra_env=None):
    """Runs `docker-compose -f ... ARGS` and returns the CompletedProcess. An empty env file keeps a
    developer's .env out of the result."""
    with tempfile.NamedTemporaryFile("w", suffix=".env") as env_file:
        cmd = [compose_command(), "--env-file", env_file.name]
        for f in files:
            cmd += ["-f", f]
        return subprocess.run(cmd + args, capture_output=True, text=True, env=compose_env(extra_env), cwd=REPO)


def resolve(files, extra_env=None):
    """The merged, interpolated compose model, as `docker-compose config` prints it."""
    result = run_compose(files, ["config"], extra_env)
    if result.returncode != 0:
        die(f"docker-compose config failed for {' + '.join(os.path.basename(f) for f in files)}:\n{result.stderr}")
    return yaml.safe_load(result.stdout)


def enabled_services(model, profiles=()):
    """Services `up` starts with these profiles active."""
    return {
        name: svc
        for name, svc in model.get("services", {}).items()
        if not svc.get("profiles") or set(svc["profiles"]) & set(profiles)
    }


def pins():
    """scripts/versions.env, the one pins file, as a dict (plain KEY=VALUE lines)."""
    values = {}
    with open(os.path.join(REPO, "scripts", "versions.env")) as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith("#"):
                values[key] = value
    return values


def mounts(service):
    """(source, target) of each volume, from the short or the long syntax."""
    out = []
    for m in service.get("volumes") or []:
        if isinstance(m, dict):
            out.append((m.get("source"), m.get("target")))
        else:
            parts = str(m).split(":")
            out.append((parts[0], parts[1]) if len(parts) > 1 else (None, parts[0]))
    return out


def published_ports(service):
    """(host address, host port, container port) of each port published to the host, from the
    short (`[ip:]host:container[/proto]`) or the long syntax; the address is "" when unbound."""
    out = []
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            if p.get("published"):
                out.append((p.get("host_ip") or "", str(p["published"]), int(p["target"])))
        else:
            parts = str(p).split("/")[0].split(":")
            if len(parts) >= 2:
                out.append((parts[-3] if len(parts) >= 3 else "", parts[-2], int(parts[-1])))
    return out


def service_environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def run_check_config(binary, environment, config=None, host_token_file=True):
    """Runs BINARY --config CONFIG --check-config with exactly `environment` (plus PATH).

    With host_token_file, a token file path (a container path) is replaced by a temporary file
    holding a test token, so the check judges the rest of the environment as the container
    would; without it the path is passed as it is."""
    config = config or os.path.join(REPO, "config", "ringtrace.yaml")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update({k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ})
    env.update(environment)
    if not os.access(binary, os.X_OK):
        die(f"{binary} is not built (build the ms1, ms2 and ms3 targets first)")
    with tempfile.TemporaryDirectory() as tmp:
        if host_token_file and env.get(TOKEN_FILE_VARIABLE):
            env[TOKEN_FILE_VARIABLE] = os.path.join(tmp, "token")
            with open(env[TOKEN_FILE_VARIABLE], "w") as f:
                f.write("deploy-check-token\n")
        return subprocess.run([binary, "--config", config, "--check-config"], capture_output=True, text=True,
                              env=env, cwd=tempfile.gettempdir(), timeout=30)
