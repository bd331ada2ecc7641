#!/usr/bin/env python3
"""Checks of the compose files' trust boundary that need no Docker engine: one way in, and a
token on every internal hop.

  compose_entry_checks.py entry VARIANT     only the gateway publishes the API (and every published
                                            port is on loopback); the gateway runs the pinned nginx
                                            with the repository's template and the dashboard's
                                            files, in front of MS1 and Jaeger's query API
  compose_entry_checks.py token VARIANT     every service reads the shared token from the token
                                            volume, after the one-shot token service wrote it;
                                            RINGTRACE_TOKEN reaches that service
  compose_entry_checks.py token-script      the token service's script, run on a temporary
                                            directory: a random token once, kept, replaced by
                                            RINGTRACE_TOKEN, readable only by the services' user
  compose_entry_checks.py token-required MS1 MS2 MS3
                                            every service refuses to start when the token file the
                                            compose files name is missing (so it does read it)

VARIANT is postgresql (docker-compose.yml) or mariadb (plus docker-compose.mariadb.yml).
"""

import os
import re
import stat
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
import deploy_common as dc  # noqa: E402
from deploy_common import REPO, SERVICES, TOKEN_FILE_VARIABLE, TOKEN_SERVICE, VARIANTS, Problems

GATEWAY = "gateway"
GATEWAY_PORT = 8080          # the port the gateway listens on inside its container
MS1_PORT = 8080              # ms1.port, which the compose files leave at its default
TEMPLATE = os.path.join(REPO, "gateway", "ringtrace.conf.template")
WEB = os.path.join(REPO, "gateway", "web")   # the dashboard's files
JAEGER_QUERY = "jaeger:16686"                 # the jaeger service's query API
TEMPLATES_DIR = "/etc/nginx/templates/"   # what the official image's entry point renders
SERVICE_UID = 10001          # the Dockerfile's ringtrace user


def condition(service, dep):
    cond = (service.get("depends_on") or {}).get(dep)
    return cond.get("condition") if isinstance(cond, dict) else None


def check_entry(variant):
    spec = VARIANTS[variant]
    model = dc.resolve(dc.compose_files(variant))
    services = dc.enabled_services(model)
    problems = Problems(f"entry {variant}")

    publishing = {name for name, svc in services.items() if dc.published_ports(svc)}
    # Jaeger's UI and query API (read-only) and the database (its own credentials) stay reachable
    # from the host for the operator; nothing else but the gateway.
    allowed = {GATEWAY, "jaeger", spec["database"]}
    problems.expect(publishing <= allowed, f"services publishing ports: {sorted(publishing)}, only {sorted(allowed)} may")
    for name, svc in services.items():
        for host_ip, host_port, target in dc.published_ports(svc):
            problems.expect(host_ip == "127.0.0.1", f"{name}: port {target} published on {host_ip or 'every address'!r}, not 127.0.0.1")
    for name in SERVICES:
        problems.expect(not dc.published_ports(services.get(name, {})), f"{name}: publishes a port; the gateway is the way in")

    gateway = services.get(GATEWAY)
    if not problems.expect(gateway is not None, "no gateway service"):
        problems.finish()
    ports = dc.published_ports(gateway)
    problems.expect([(ip, target) for ip, _, target in ports] == [("127.0.0.1", GATEWAY_PORT)],
                    f"gateway: publishes {ports}, expected 127.0.0.1:<RINGTRACE_GATEWAY_PORT>:{GATEWAY_PORT} only")
    moved = dc.resolve(dc.compose_files(variant), {"RINGTRACE_GATEWAY_PORT": "18088"})
    problems.expect([p[1] for p in dc.published_ports(moved["services"][GATEWAY])] == ["18088"],
                    "gateway: RINGTRACE_GATEWAY_PORT does not move the published port")
    problems.expect([p[1] for p in ports] == [str(GATEWAY_PORT)], f"gateway: default host port is not {GATEWAY_PORT}")

    tag = dc.pins().get("NGINX_TAG")
    problems.expect(bool(tag) and gateway.get("image") == f"nginx:{tag}",
                    f"gateway: image {gateway.get('image')!r}, scripts/versions.env pins nginx {tag}")
    pinned = dc.resolve(dc.compose_files(variant), {"RINGTRACE_NGINX_TAG": "9.9.9"})
    problems.expect(pinned["services"][GATEWAY].get("image") == "nginx:9.9.9", "gateway: RINGTRACE_NGINX_TAG does not pick the tag")

    env = dc.service_environment(gateway)
    problems.expect(env.get("RINGTRACE_GATEWAY_LISTEN") == str(GATEWAY_PORT),
                    f"gateway: RINGTRACE_GATEWAY_LISTEN is {env.get('RINGTRACE_GATEWAY_LISTEN')!r}, not {GATEWAY_PORT}")
    problems.expect(env.get("RINGTRACE_GATEWAY_UPSTREAM") == f"ms1:{MS1_PORT}",
                    f"gateway: RINGTRACE_GATEWAY_UPSTREAM is {env.get('RINGTRACE_GATEWAY_UPSTREAM')!r}, not ms1:{MS1_PORT}")
    problems.expect(env.get("RINGTRACE_GATEWAY_ACCESS_LOG") == "/dev/stdout",
                    "gateway: the access log does not go to the container's stdout")
    ms1_env = dc.service_environment(services.get("ms1", {}))
    problems.expect(ms1_env.get("RINGTRACE__MS1__PORT", str(MS1_PORT)) == str(MS1_PORT), "ms1: moved off the gateway's upstream port")
    # Every variable the template names is set (an unset one would reach nginx as it is written).
    with open(TEMPLATE) as f:
        wanted = set(re.findall(r"\$\{(RINGTRACE_GATEWAY_[A-Z_]+)\}", f.read()))
    problems.expect(wanted <= set(env), f"gateway: the template's {sorted(wanted - set(env))} are not set")
    problems.expect(env.get("RINGTRACE_GATEWAY_JAEGER") == JAEGER_QUERY and "jaeger" in services,
                    f"gateway: RINGTRACE_GATEWAY_JAEGER is {env.get('RINGTRACE_GATEWAY_JAEGER')!r}, not {JAEGER_QUERY}")
    problems.expect(condition(gateway, "jaeger") == "service_healthy",
                    "gateway: does not wait for a healthy jaeger (nginx resolves the name when it starts)")
    problems.expect(str(env.get("RINGTRACE_GATEWAY_JAEGER_UI", "")).startswith("http://127.0.0.1:"),
                    f"gateway: RINGTRACE_GATEWAY_JAEGER_UI is {env.get('RINGTRACE_GATEWAY_JAEGER_UI')!r}, not the UI published on loopback")
    retired = [k for k in ms1_env if k in ("RINGTRACE__TRACING__QUERY_URL", "RINGTRACE__TRACING__UI_URL")]
    problems.expect(not retired, f"ms1: sets {retired}, which MS1 no longer reads (the gateway relays the traces)")

    binds = [v for v in gateway.get("volumes") or [] if isinstance(v, dict) and v.get("type") == "bind"]
    template = [v for v in binds if os.path.realpath(str(v.get("source"))) == os.path.realpath(TEMPLATE)]
    if problems.expect(len(template) == 1, f"gateway: {os.path.relpath(TEMPLATE, REPO)} is not bind-mounted once"):
        mount = template[0]
        target = str(mount.get("target", ""))
        problems.expect(target.startswith(TEMPLATES_DIR) and target.endswith(".template") and "/" not in target[len(TEMPLATES_DIR):],
                        f"gateway: the template is mounted at {target!r}, not {TEMPLATES_DIR}NAME.template")
        problems.expect(mount.get("read_only") is True, "gateway: the template is mounted writable")
        problems.expect((mount.get("bind") or {}).get("create_host_path") is False,
                        "gateway: a missing template would be created as a directory (bind.create_host_path)")
    problems.expect(os.path.isfile(TEMPLATE), f"{os.path.relpath(TEMPLATE, REPO)} does not exist")
    web = [v for v in binds if os.path.realpath(str(v.get("source"))) == os.path.realpath(WEB)]
    if problems.expect(len(web) == 1, f"gateway: {os.path.relpath(WEB, REPO)} is not bind-mounted once"):
        mount = web[0]
        problems.expect(str(mount.get("target")) == env.get("RINGTRACE_GATEWAY_WEB"),
                        f"gateway: the page is mounted at {mount.get('target')!r}, RINGTRACE_GATEWAY_WEB is "
                        f"{env.get('RINGTRACE_GATEWAY_WEB')!r}")
        problems.expect(mount.get("read_only") is True, "gateway: the page is mounted writable")
        problems.expect((mount.get("bind") or {}).get("create_host_path") is False,
                        "gateway: a missing page would be created as an empty directory (bind.create_host_path)")
    problems.expect(os.path.isfile(os.path.join(WEB, "index.html")), f"{os.path.relpath(WEB, REPO)}/index.html does not exist")
    problems.expect(condition(gateway, "ms1") == "service_healthy", "gateway: does not wait for a healthy ms1")
    problems.expect(gateway.get("restart") == "unless-stopped", f"gateway: restart is {gateway.get('restart')!r}")
    problems.finish()


def check_token(variant):
    model = dc.resolve(dc.compose_files(variant))
    services = dc.enabled_services(model)
    volumes = model.get("volumes") or {}
    problems = Problems(f"token {variant}")
    token = services.get(TOKEN_SERVICE)
    if not problems.expect(token is not None, f"no {TOKEN_SERVICE} service"):
        problems.finish()

    paths = set()
    for name in SERVICES:
        svc = services.get(name, {})
        env = dc.service_environment(svc)
        path = env.get(TOKEN_FILE_VARIABLE, "")
        paths.add(path)
        problems.expect(path.startswith("/"), f"{name}: {TOKEN_FILE_VARIABLE} is {path!r}, not an absolute path")
        problems.expect(not env.get("RINGTRACE__SECURITY__TOKEN"), f"{name}: sets both the token and the token file")
        on_volume = [v for v in svc.get("volumes") or [] if isinstance(v, dict) and v.get("source") == TOKEN_SERVICE
                     and v.get("type") == "volume" and path.startswith(str(v.get("target", "")).rstrip("/") + "/")]
        problems.expect(len(on_volume) == 1, f"{name}: {path!r} is not on the {TOKEN_SERVICE} volume")
        problems.expect(all(v.get("read_only") is True for v in on_volume), f"{name}: the token volume is writable")
        problems.expect(condition(svc, TOKEN_SERVICE) == "service_completed_successfully",
                        f"{name}: does not wait for the {TOKEN_SERVICE} service to complete")
    problems.expect(len(paths) == 1, f"the services read different token files: {sorted(paths)}")
    problems.expect(TOKEN_SERVICE in volumes, f"no named volume {TOKEN_SERVICE}")

    directory = os.path.dirname(next(iter(paths), "")) if len(paths) == 1 else None
    problems.expect(any(source == TOKEN_SERVICE and target == directory for source, target in dc.mounts(token)),
                    f"{TOKEN_SERVICE}: does not mount the {TOKEN_SERVICE} volume at {directory!r}")
    problems.expect(token.get("image") == "ringtrace-ms1:local" and (token.get("build") or {}).get("target") == "ms1"
                    and token.get("pull_policy") == "build", f"{TOKEN_SERVICE}: does not run the MS1 image built here")
    problems.expect(token.get("network_mode") == "none", f"{TOKEN_SERVICE}: has a network it does not need")
    problems.expect(token.get("restart") in (None, "no"), f"{TOKEN_SERVICE}: restart {token.get('restart')!r} on a one-shot")
    problems.expect(not dc.published_ports(token), f"{TOKEN_SERVICE}: publishes a port")
    problems.expect(dc.service_environment(token).get("RINGTRACE_TOKEN") == "", f"{TOKEN_SERVICE}: RINGTRACE_TOKEN is not empty by default")
    mine = dc.resolve(dc.compose_files(variant), {"RINGTRACE_TOKEN": "users-own-token"})
    problems.expect(dc.service_environment(mine["services"][TOKEN_SERVICE]).get("RINGTRACE_TOKEN") == "users-own-token",
                    f"{TOKEN_SERVICE}: RINGTRACE_TOKEN does not reach it")
    for name in SERVICES:
        problems.expect("users-own-token" not in str(mine["services"][name]), f"{name}: the token value is in its definition")
    problems.finish()


def token_script():
    """The token service's entry point and script from the resolved model (compose's $$ undone)."""
    token = dc.resolve(dc.compose_files("postgresql"))["services"][TOKEN_SERVICE]
    entrypoint, command = token.get("entrypoint") or [], token.get("command") or []
    if entrypoint[:1] != ["/bin/sh"] or len(command) != 1:
        dc.die(f"{TOKEN_SERVICE}: expected entrypoint /bin/sh ... and one script as the command, got {entrypoint} {command}")
    volume_dir = next((target for source, target in dc.mounts(token) if source == TOKEN_SERVICE), None)
    if not volume_dir:
        dc.die(f"{TOKEN_SERVICE}: does not mount the {TOKEN_SERVICE} volume")
    # `config` prints the model in the files' own syntax, $$ for a literal $: what the container runs has $.
    return entrypoint, command[0].replace("$$", "$"), volume_dir


def check_token_script():
    entrypoint, script, volume_dir = token_script()
    problems = Problems("token-script")
    with tempfile.TemporaryDirectory() as tmp:
        body = script.replace(volume_dir, tmp)
        problems.expect(body != script, f"the script does not write into {volume_dir}")
        if os.geteuid() != 0:
            body = "chown() { :; }\n" + body   # only root can hand the file over; the rest is the same

        def run(token=None):
            env = {"PATH": "/usr/bin:/bin"}
            if token is not None:
                env["RINGTRACE_TOKEN"] = token
            return subprocess.run(entrypoint + [body], capture_output=True, text=True, env=env, timeout=30)

        def content():
            files = os.listdir(tmp)
            if len(files) != 1:
                return None, files
            path = os.path.join(tmp, files[0])
            with open(path) as f:
                return f.read(), os.stat(path)

        first = run()
        problems.expect(first.returncode == 0, f"first run failed: {first.stderr.strip()}")
        value, info = content()
        problems.expect(value is not None and re.fullmatch(r"[0-9a-f]{64}", value or "") is not None,
                        f"first run wrote {value!r} ({info}), not 32 random bytes in hex")
        if value is not None:
            problems.expect(stat.S_IMODE(info.st_mode) == 0o400, f"token file mode {oct(stat.S_IMODE(info.st_mode))}, not 0400")
            if os.geteuid() == 0:
                problems.expect(info.st_uid == SERVICE_UID, f"token file owned by uid {info.st_uid}, not {SERVICE_UID}")
        again = run(token="")
        problems.expect(again.returncode == 0 and content()[0] == value, "a second run without RINGTRACE_TOKEN changed the token")
        mine = run(token="users-own-token")
        problems.expect(mine.returncode == 0 and (content()[0] or "").strip() == "users-own-token",
                        f"RINGTRACE_TOKEN did not replace the token: {content()[0]!r}")
        for result in (first, again, mine):
            problems.expect(value is None or value not in result.stdout + result.stderr, "the script printed the token")
            problems.expect("users-own-token" not in result.stdout + result.stderr, "the script printed the token")
    problems.finish()


def check_token_required(binaries):
    model = dc.resolve(dc.compose_files("postgresql"))
    problems = Problems("token-required")
    for name, binary in zip(SERVICES, binaries):
        env = dc.service_environment(model["services"][name])
        path = env.get(TOKEN_FILE_VARIABLE, "")
        if not problems.expect(path and not os.path.exists(path), f"{name}: {TOKEN_FILE_VARIABLE}={path!r} is unset or exists here"):
            continue
        result = dc.run_check_config(binary, env, host_token_file=False)
        problems.expect(result.returncode == 2, f"{name} --check-config without its token file exited {result.returncode}, not 2")
        problems.expect("token_file" in result.stderr.lower(), f"{name}: the refusal does not name the token file key: {result.stderr.strip()!r}")
    problems.finish()


def main(argv):
    cmd, args = (argv[0], argv[1:]) if argv else (None, [])
    if cmd == "entry" and len(args) == 1 and args[0] in VARIANTS:
        check_entry(args[0])
    elif cmd == "token" and len(args) == 1 and args[0] in VARIANTS:
        check_token(args[0])
    elif cmd == "token-script" and not args:
        check_token_script()
    elif cmd == "token-required" and len(args) == 3:
        check_token_required(args)
    else:
        dc.die(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
