#!/usr/bin/env bash
# Property-based API tests: schemathesis (PyPI, cached venv) generates requests from
# docs/openapi.yaml (its examples, boundary values, then random data) against a running ring, and
# checks every answer against the document: status codes, content types, headers, bodies, that
# schema-valid requests are accepted and schema-violating ones refused.
#
#   schemathesis.sh SPEC [--db postgresql|mariadb] [--naming service|mc]   (RINGTRACE_BIN: ms1/ms2/ms3)
#
# The document describes both namings; MS1 accepts only its configured one, so schemathesis gets a
# copy whose request bodies are narrowed to that naming. RINGTRACE_SCHEMATHESIS_SECONDS (60) is the
# time budget. The ring runs with a fresh security.token, which schemathesis sends. Afterwards MS1
# must still be healthy and every service must stop cleanly.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=venv.sh
source "$here/venv.sh"
# shellcheck source=../../scripts/versions.env
source "$repo/scripts/versions.env"
spec=${1:?usage: schemathesis.sh SPEC [--db postgresql|mariadb] [--naming service|mc]}
shift
db=postgresql naming=service
while [ $# -gt 0 ]; do
  case $1 in
    --db) db=$2; shift 2 ;;
    --naming) naming=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
bin=${RINGTRACE_BIN:-$repo/build/bin}

ensure_venv venv-schemathesis "schemathesis==$SCHEMATHESIS_VERSION"
venv=${VENV:?}

work=$(mktemp -d "${TMPDIR:-/tmp}/ringtrace-schemathesis.XXXXXX")
trap 'echo "logs in $work"' EXIT

# The document, narrowed to the naming this MS1 runs with.
"$venv/bin/python" - "$spec" "$naming" "$work/openapi.yaml" <<'PY'
import sys, yaml
spec_path, naming, out = sys.argv[1:]
doc = yaml.safe_load(open(spec_path))
keep = {"service": "ServiceNaming", "mc": "McNaming"}[naming]
schemas = doc["components"]["schemas"]
for name in ("StoreRequest", "Message"):
    refs = [r for r in schemas[name]["oneOf"] if r["$ref"].endswith(keep)]
    assert len(refs) == 1, f"{name}: no {keep} variant"
    schemas[name]["oneOf"] = refs
# Request examples in the other naming would now be invalid: keep those of this naming.
for path in doc["paths"].values():
    for op in path.values():
        content = (op.get("requestBody") or {}).get("content", {})
        for media in content.values():
            media["examples"] = {k: v for k, v in media.get("examples", {}).items() if k == naming}
yaml.safe_dump(doc, open(out, "w"), sort_keys=False)
PY

port_base=18700
[ "$db" = mariadb ] && port_base=18710
export RINGTRACE__MESSAGE__NAMING=$naming
export RINGTRACE__DATABASE__DRIVER=$db
# schemathesis posts made-up session ids to the shared database: MS1 refuses every session it
# never began (422 unknown session), so no other test's sessions gain rows from it.
# The ring runs with a token, as compose does; schemathesis presents it on every request, and the
# ignored_auth check sends /store without it and with a wrong one, which must answer 401.
token=$("$venv/bin/python" -c 'import secrets; print(secrets.token_hex(32))')
export RINGTRACE__SECURITY__TOKEN=$token
export RINGTRACE__INTERACTION__DURATION_SECONDS=1
export RINGTRACE__INTERACTION__PROGRESS_INTERVAL_MS=0
export RINGTRACE__MS1__PORT=$port_base
export RINGTRACE__MS1__MS2_URL=ws://127.0.0.1:$((port_base + 1))/ws
export RINGTRACE__MS2__PORT=$((port_base + 1))
export RINGTRACE__MS2__ADMIN_PORT=$((port_base + 2))
export RINGTRACE__MS3__ADMIN_PORT=$((port_base + 3))
export RINGTRACE__MS3__STORE_URL=http://127.0.0.1:$port_base/store
export RINGTRACE__KAFKA__TOPIC=ringtrace.schemathesis.$db.$$
export RINGTRACE__KAFKA__GROUP_ID=ringtrace-schemathesis-$db-$$
export RINGTRACE__TRACING__ENABLED=false
export RINGTRACE__LOGGING__DIRECTORY=$work/logs
api=http://127.0.0.1:$port_base

# A schema-valid message is still refused when it is not one MS1 generated (422 unknown session or
# unknown message id): on /store, and only there, 422 counts as accepting valid data. Nothing else
# does: every request carries the token, so a 401 is a broken token check, and the database is up,
# so a 503 is a store that cannot write.
cat > "$work/schemathesis.toml" <<'TOML'
[[operations]]
include-path = "/store"
checks.positive_data_acceptance.expected-statuses = [200, 422]
TOML

# The harness starts the ring, waits until it is ready, runs schemathesis, then requires every
# service alive, MS1 healthy and a clean stop.
status=0
PYTHONPATH=$repo/scripts python3 -m ringtrace_harness.ring_cli exec --bin "$bin" \
  --config "$repo/config/ringtrace.yaml" --work "$work" --what schemathesis -- \
  "$venv/bin/st" --config-file "$work/schemathesis.toml" run "$work/openapi.yaml" --url "$api" --workers 1 \
  --phases examples,coverage,fuzzing --max-time "${RINGTRACE_SCHEMATHESIS_SECONDS:-60}" \
  -H "Authorization: Bearer $token" \
  --checks all --exclude-checks use_after_free,ensure_resource_availability,object_level_authorization \
  --no-color || status=$?
exit $status
