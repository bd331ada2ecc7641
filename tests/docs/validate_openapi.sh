#!/usr/bin/env bash
# Validates an OpenAPI document against the OpenAPI schema with openapi-spec-validator.
#
#   validate_openapi.sh SPEC               exit 0 iff SPEC is a valid OpenAPI document whose
#                                          examples match their schemas
#   validate_openapi.sh --self-test SPEC   exit 0 iff the validator rejects a broken copy of SPEC,
#                                          so a validator that accepts anything cannot pass unseen
#
# The validator lives in a venv cached across runs and builds (tests/docs/venv.sh).
set -euo pipefail

readonly validator_version=0.9.0
# shellcheck source=venv.sh
source "$(dirname "$0")/venv.sh"

self_test=false
if [ "${1:-}" = "--self-test" ]; then
  self_test=true
  shift
fi
spec=${1:?usage: validate_openapi.sh [--self-test] SPEC}
[ -r "$spec" ] || { echo "validate_openapi: cannot read $spec" >&2; exit 2; }

ensure_venv venv-docs "openapi-spec-validator==$validator_version"
venv=${VENV:?}

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
