#!/usr/bin/env python3
"""Checks of docker-compose.yml and its MariaDB override that need no Docker engine.

  compose_checks.py config VARIANT          docker-compose accepts the variant's files
  compose_checks.py config-rejects-broken   ... and refuses a broken copy (so `config` can fail)
  compose_checks.py env VARIANT MS1 MS2 MS3 every service accepts the environment compose gives it:
                                            its own `--check-config` with exactly those variables
                                            (the token file, a path on a container volume, replaced
                                            by a temporary file)
  compose_checks.py env-rejects-bad MS1 MS2 MS3
                                            the same pipeline reports a service refusing a value
  compose_checks.py unknown-env MS1 MS2 MS3 a RINGTRACE__ variable naming no key stops every service
  compose_checks.py static VARIANT          health checks, depends_on, pinned images, no ZooKeeper,
                                            and the variant's database, naming and addresses
                                            (the gateway and the token: compose_entry_checks.py)
  compose_checks.py images-match-publish    by default the services are built, never pulled; with
                                            docker-compose.images.yml compose runs exactly the
                                            images publish-images.sh pushes, and only from the
                                            namespace the user names

VARIANT is postgresql (docker-compose.yml) or mariadb (plus docker-compose.mariadb.yml).
"""

import os
import re
import subprocess
import sys
import tempfile
from urllib.parse import urlsplit

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
import deploy_common as dc  # noqa: E402
from deploy_common import REPO, SERVICES, VARIANTS, Problems

# The ports the services listen on when the compose file does not move them (config/ringtrace.yaml).
IMAGES_OVERRIDE = os.path.join(REPO, "docker-compose.images.yml")
DEFAULT_PORTS = {"ms1": 8080, "ms2": 8091, "ms3": 8092}  # ms1's API; ms2's and ms3's admin port


def check_config(variant):
    result = dc.run_compose(dc.compose_files(variant), ["config", "-q"])
    if result.returncode != 0:
        dc.die(f"docker-compose config -q rejects the {variant} variant:\n{result.stderr}")


def check_config_rejects_broken():
    """Two broken copies of docker-compose.yml must fail `config -q`: otherwise a passing
    `config` check would prove nothing."""
    with open(os.path.join(REPO, "docker-compose.yml")) as f:
        text = f.read()
    mutations = {
        "a misspelt key": text.replace("    healthcheck:\n", "    healthchek:\n", 1),
        "a dependency on a missing service": text.replace("      ms2:\n        condition: service_healthy",
                                                          "      ms9:\n        condition: service_healthy", 1),
    }
    problems = Problems("config-rejects-broken")
    with tempfile.TemporaryDirectory() as tmp:
        for what, broken in mutations.items():
            if not problems.expect(broken != text, f"could not make a copy with {what}: docker-compose.yml changed shape"):
                continue
            path = os.path.join(tmp, "docker-compose.yml")
            with open(path, "w") as f:
                f.write(broken)
            result = dc.run_compose([path], ["config", "-q"])
            problems.expect(result.returncode != 0, f"docker-compose config -q accepted a copy with {what}")
    problems.finish()


def service_env_results(files, binaries):
    """(service, environment, CompletedProcess) for each of ms1, ms2, ms3 under these files."""
    model = dc.resolve(files)
    results = []
    for name, binary in zip(SERVICES, binaries):
        service = model["services"].get(name)
        if service is None:
            dc.die(f"no service {name} in {' + '.join(files)}")
        env = dc.service_environment(service)
        results.append((name, env, dc.run_check_config(binary, env)))
    return results


def check_env(variant, binaries):
    problems = Problems(f"env {variant}")
    for name, env, result in service_env_results(dc.compose_files(variant), binaries):
        problems.expect(any(k.startswith("RINGTRACE__") for k in env), f"{name}: compose sets no RINGTRACE__ variable")
        problems.expect(result.returncode == 0,
                        f"{name} --check-config refused the compose environment (exit {result.returncode}): "
                        f"{result.stderr.strip()}")
    problems.finish()


def check_env_rejects_bad(binaries):
    """An override giving MS1 an invalid value must make the `env` pipeline fail, naming the key."""
    override = "services:\n  ms1:\n    environment:\n      RINGTRACE__MS1__PORT: eighty\n"
    problems = Problems("env-rejects-bad")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bad.yml")
        with open(path, "w") as f:
            f.write(override)
        results = service_env_results(dc.compose_files("postgresql") + [path], binaries)
    for name, _, result in results:
        if name == "ms1":
            problems.expect(result.returncode == 2, f"ms1 accepted RINGTRACE__MS1__PORT=eighty (exit {result.returncode})")
            problems.expect("RINGTRACE__MS1__PORT" in result.stderr,
                            f"ms1's refusal does not name RINGTRACE__MS1__PORT: {result.stderr.strip()!r}")
        else:
            problems.expect(result.returncode == 0, f"{name} refused the compose environment: {result.stderr.strip()}")
    problems.finish()


def check_unknown_env(binaries):
    bogus = "RINGTRACE__MS1__NO_SUCH_KEY"
    model = dc.resolve(dc.compose_files("postgresql"))
    problems = Problems("unknown-env")
    for name, binary in zip(SERVICES, binaries):
        env = dc.service_environment(model["services"][name])
        env[bogus] = "1"
        result = dc.run_check_config(binary, env)
        problems.expect(result.returncode == 2, f"{name} --check-config with {bogus} exited {result.returncode}, not 2")
        problems.expect(bogus in result.stderr, f"{name} does not name {bogus}: {result.stderr.strip()!r}")
    problems.finish()


def image_tag(image):
    """The tag of an image reference (None when it has none; a digest counts as a tag)."""
    if "@" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def healthcheck_ok(service):
    hc = service.get("healthcheck")
    if not hc or hc.get("disable"):
        return False
    test = hc.get("test")
    if isinstance(test, str):
        return bool(test.strip()) and test.strip() != "NONE"
    return bool(test) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1


def native_versions():
    """The Kafka and Jaeger versions the native tests run (scripts/versions.env, the one pins file):
    the containers must run the same ones."""
    pins = dc.pins()
    jaeger = pins.get("JAEGER_V2_VERSION")
    return pins.get("KAFKA_VERSION"), (jaeger.removeprefix("v") if jaeger else None)


def published(service):
    """Container ports published to the host."""
    return {target for _, _, target in dc.published_ports(service)}


def url_host_port(url):
    parts = urlsplit(url)
    return parts.hostname, parts.port


def check_static(variant):
    spec = VARIANTS[variant]
    model = dc.resolve(dc.compose_files(variant))
    services = dc.enabled_services(model)
    problems = Problems(f"static {variant}")
    expected = {"kafka", "jaeger", spec["database"], "gateway", dc.TOKEN_SERVICE, *SERVICES}
    problems.expect(set(services) == expected,
                    f"services started: {sorted(services)}, expected {sorted(expected)}")

    for name, svc in model["services"].items():
        image = svc.get("image", "")
        env_text = " ".join(f"{k}={v}" for k, v in dc.service_environment(svc).items())
        problems.expect("zookeeper" not in (name + image + env_text).lower(), f"{name}: mentions ZooKeeper")
        # The one-shot token service runs to completion instead: its dependants wait for that.
        problems.expect(healthcheck_ok(svc) or name == dc.TOKEN_SERVICE, f"{name}: no health check")
        tag = image_tag(image)
        if name in SERVICES:
            # A local name and `build`: a plain `up` never pulls someone else's image.
            problems.expect(image == f"ringtrace-{name}:local", f"{name}: image {image!r} is not ringtrace-{name}:local")
            problems.expect(svc.get("pull_policy") == "build", f"{name}: pull_policy is {svc.get('pull_policy')!r}, not build")
            build = svc.get("build") or {}
            problems.expect(build.get("target") == name, f"{name}: build target is {build.get('target')!r}")
            problems.expect(os.path.realpath(str(build.get("context", ""))) == os.path.realpath(REPO),
                            f"{name}: build context is {build.get('context')!r}, not the repository")
            hc = (svc.get("healthcheck") or {}).get("test") or []
            probe = f"http://127.0.0.1:{DEFAULT_PORTS[name]}/healthz"
            problems.expect(list(hc[1:3]) == ["ringtrace-probe", probe],
                            f"{name}: health check {hc} is not ringtrace-probe {probe}")
        else:
            problems.expect(bool(image) and tag not in (None, "", "latest"),
                            f"{name}: image {image!r} has no pinned tag")
        for dep, cond in (svc.get("depends_on") or {}).items():
            condition = cond.get("condition") if isinstance(cond, dict) else None
            wanted = "service_completed_successfully" if dep == dc.TOKEN_SERVICE else "service_healthy"
            problems.expect(condition == wanted, f"{name}: depends_on {dep} with condition {condition!r}, not {wanted}")
            if name in services:
                problems.expect(dep in services, f"{name}: depends on {dep}, which this variant does not start")

    kafka_version, jaeger_version = native_versions()
    kafka = services.get("kafka", {})
    problems.expect(kafka.get("image") == f"apache/kafka:{kafka_version}",
                    f"kafka: image {kafka.get('image')!r}, native tests run apache/kafka {kafka_version}")
    kenv = dc.service_environment(kafka)
    problems.expect(set(kenv.get("KAFKA_PROCESS_ROLES", "").split(",")) == {"broker", "controller"},
                    "kafka: not a combined KRaft broker and controller")
    jaeger = services.get("jaeger", {})
    problems.expect(jaeger.get("image") == f"jaegertracing/jaeger:{jaeger_version}",
                    f"jaeger: image {jaeger.get('image')!r}, native tests run Jaeger {jaeger_version}")
    problems.expect(16686 in published(jaeger), "jaeger: UI port 16686 not published")

    db = services.get(spec["database"], {})
    named_volumes = model.get("volumes") or {}
    problems.expect(any(source in named_volumes and target == spec["data_dir"] for source, target in dc.mounts(db)),
                    f"{spec['database']}: {spec['data_dir']} is not on a named volume")
    problems.expect(spec["port"] in published(db), f"{spec['database']}: port {spec['port']} not published")

    env = {name: dc.service_environment(model["services"].get(name, {})) for name in SERVICES}
    for name in SERVICES:
        problems.expect(env[name].get("RINGTRACE__MESSAGE__NAMING") == spec["naming"],
                        f"{name}: message.naming is {env[name].get('RINGTRACE__MESSAGE__NAMING')!r}, "
                        f"the {variant} variant uses {spec['naming']!r}")
        problems.expect(env[name].get(f"RINGTRACE__{name.upper()}__LISTEN_ADDRESS") == "0.0.0.0",
                        f"{name}: does not listen on 0.0.0.0, other containers could not reach it")
        log_dir = env[name].get("RINGTRACE__LOGGING__DIRECTORY", "")
        problems.expect(log_dir.startswith("/") and log_dir in [t for _, t in dc.mounts(model["services"].get(name, {}))],
                        f"{name}: logging.directory {log_dir!r} is not an absolute path on a volume")
        host, _ = url_host_port(env[name].get("RINGTRACE__TRACING__ENDPOINT", ""))
        problems.expect(host == "jaeger", f"{name}: tracing.endpoint does not point at the jaeger service")
    problems.expect(env["ms1"].get("RINGTRACE__DATABASE__DRIVER") == spec["driver"],
                    f"ms1: database.driver is {env['ms1'].get('RINGTRACE__DATABASE__DRIVER')!r}, expected {spec['driver']!r}")
    problems.expect(env["ms1"].get("RINGTRACE__DATABASE__HOST") == spec["database"],
                    f"ms1: database.host is not the {spec['database']} service")
    problems.expect(env["ms1"].get("RINGTRACE__DATABASE__PORT") == str(spec["port"]), "ms1: database.port is wrong")
    problems.expect(url_host_port(env["ms1"].get("RINGTRACE__MS1__MS2_URL", "")) == ("ms2", 8081),
                    "ms1: ms1.ms2_url is not ws://ms2:8081/...")
    problems.expect(url_host_port(env["ms3"].get("RINGTRACE__MS3__STORE_URL", "")) == ("ms1", 8080),
                    "ms3: ms3.store_url is not http://ms1:8080/...")
    for name in ("ms2", "ms3"):
        problems.expect(env[name].get("RINGTRACE__KAFKA__BROKERS") == "kafka:9092", f"{name}: kafka.brokers is not kafka:9092")
    problems.finish()


def check_images_match_publish():
    """By default compose builds the services even when a namespace is set; with the images override
    and the same namespace and version it runs exactly the images publish-images.sh pushes."""
    problems = Problems("images-match-publish")
    for namespace in ("example-org", "registry.example.com:5000/ringtrace"):
        settings = {"RINGTRACE_IMAGE_NAMESPACE": namespace, "RINGTRACE_VERSION": "9.8.7"}
        for variant in VARIANTS:
            plain = dc.resolve(dc.compose_files(variant), settings)
            for name in SERVICES:
                svc = plain["services"][name]
                problems.expect(svc.get("pull_policy") == "build" and "build" in svc and namespace not in svc["image"],
                                f"{variant}: {name} without the images override runs {svc['image']} "
                                f"(pull_policy {svc.get('pull_policy')!r})")
            model = dc.resolve(dc.compose_files(variant) + [IMAGES_OVERRIDE], settings)
            env = dc.compose_env(settings)
            result = subprocess.run(["bash", os.path.join(REPO, "scripts", "publish-images.sh"), "--dry-run"],
                                    capture_output=True, text=True, env=env, cwd=REPO)
            if result.returncode != 0:
                dc.die(f"publish-images.sh --dry-run failed for {namespace}: {result.stderr}")
            pushed = {line.split()[-1] for line in result.stdout.splitlines() if line.startswith("docker push ")}
            token = model["services"][dc.TOKEN_SERVICE]
            problems.expect(token["image"] == model["services"]["ms1"]["image"] and "build" not in token,
                            f"{variant}: the token service runs {token['image']}, not the published MS1 image")
            for name in SERVICES:
                svc = model["services"][name]
                image = svc["image"]
                problems.expect(image == f"{namespace}/ringtrace-{name}:9.8.7", f"{variant}: {name}: compose runs {image}")
                problems.expect(image in pushed, f"{name}: publish-images.sh does not push {image} (it pushes {sorted(pushed)})")
                problems.expect("build" not in svc and svc.get("pull_policy") == "always",
                                f"{variant}: {name} with the images override may build or skip the pull "
                                f"(build {'build' in svc}, pull_policy {svc.get('pull_policy')!r})")
    latest = dc.resolve(dc.compose_files("postgresql") + [IMAGES_OVERRIDE], {"RINGTRACE_IMAGE_NAMESPACE": "example-org"})
    for name in SERVICES:
        problems.expect(latest["services"][name]["image"] == f"example-org/ringtrace-{name}:latest",
                        f"{name}: without RINGTRACE_VERSION the images override should run the latest tag")
    # No default publisher: without a namespace the override refuses, naming the variable.
    result = dc.run_compose(dc.compose_files("postgresql") + [IMAGES_OVERRIDE], ["config", "-q"])
    problems.expect(result.returncode != 0 and "RINGTRACE_IMAGE_NAMESPACE" in result.stderr,
                    f"the images override without RINGTRACE_IMAGE_NAMESPACE: exit {result.returncode}, {result.stderr.strip()!r}")
    problems.finish()


def main(argv):
    if len(argv) < 1:
        dc.die(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "config" and len(args) == 1 and args[0] in VARIANTS:
        check_config(args[0])
    elif cmd == "config-rejects-broken" and not args:
        check_config_rejects_broken()
    elif cmd == "env" and len(args) == 4 and args[0] in VARIANTS:
        check_env(args[0], args[1:])
    elif cmd == "env-rejects-bad" and len(args) == 3:
        check_env_rejects_bad(args)
    elif cmd == "unknown-env" and len(args) == 3:
        check_unknown_env(args)
    elif cmd == "static" and len(args) == 1 and args[0] in VARIANTS:
        check_static(args[0])
    elif cmd == "images-match-publish" and not args:
        check_images_match_publish()
    else:
        dc.die(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
