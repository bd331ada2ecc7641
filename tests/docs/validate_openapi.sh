#!/usr/bin/env bash
# Validates an OpenAPI document against the OpenAPI schema with openapi-spec-validator.
#
#   validate_openapi.sh SPEC               exit 0 iff SPEC is a valid OpenAPI document whose
#                                          examples match their schemas
#   validate_openapi.sh --self-test SPEC   exit 0 iff the validator rejects a broken copy of SPEC,
#                                          so a validator that accepts anything cannot pass unseen
#
# The validator lives in a venv cached across runs and builds, made from the system Python (the
# python3 on PATH may be a pyenv one that comes and goes); it is installed once, quietly.
set -euo pipefail

readonly validator_version=0.9.0
readonly venv="${XDG_CACHE_HOME:-$HOME/.cache}/ringtrace/venv-docs"

self_test=false
if [ "${1:-}" = "--self-test" ]; then
  self_test=true
  shift
fi
spec=${1:?usage: validate_openapi.sh [--self-test] SPEC}
[ -r "$spec" ] || { echo "validate_openapi: cannot read $spec" >&2; exit 2; }

ensure_venv() {
  local stamp="$venv/.openapi-spec-validator-$validator_version"
  [ -e "$stamp" ] && return 0
  mkdir -p "$(dirname "$venv")"
  # ctest runs the checks in parallel; one installs while the others wait for it.
  exec 9>"$venv.lock"
  flock 9
  if [ ! -e "$stamp" ]; then
    local log
    log=$(mktemp)
    if ! /usr/bin/python3 -m venv --clear "$venv" >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "validate_openapi: /usr/bin/python3 -m venv failed; install the Debian package python3-venv" >&2
      exit 2
    fi
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "openapi-spec-validator==$validator_version" >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "validate_openapi: installing openapi-spec-validator $validator_version into $venv failed" >&2
      exit 2
    fi
    rm -f "$log"
    touch "$stamp"
  fi
  exec 9>&-
}

ensure_venv

if ! $self_test; then
  "$venv/bin/openapi-spec-validator" "$spec"
  exec "$venv/bin/python" "$(dirname "$0")/check_openapi_examples.py" "$spec"
fi

# A server object must have `url`; renaming it breaks the document in a way every OpenAPI 3
# schema catches, while leaving the YAML well-formed.
broken=$(mktemp --suffix=.yaml)
trap 'rm -f "$broken"' EXIT
sed '0,/^\(  - \)url:/s//\1uri:/' "$spec" >"$broken"
if cmp -s "$spec" "$broken"; then
  echo "validate_openapi: --self-test needs a spec whose servers list starts with '  - url:'" >&2
  exit 2
fi
set +e
output=$("$venv/bin/openapi-spec-validator" "$broken" 2>&1)
status=$?
set -e
if [ "$status" -eq 0 ]; then
  echo "$output"
  echo "validate_openapi: the validator accepted a document without servers[0].url" >&2
  exit 1
fi
if ! grep -q "url" <<<"$output"; then
  echo "$output"
  echo "validate_openapi: the validator failed, but not on the missing servers[0].url" >&2
  exit 1
fi
echo "validate_openapi: a broken copy of $spec is rejected, as it should be"
