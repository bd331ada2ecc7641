# shellcheck shell=bash
# ensure_venv NAME REQUIREMENT...: a Python venv under the cache, made from the system Python (the
# python3 on PATH may be a pyenv one that comes and goes) and holding exactly REQUIREMENT...
# (pinned: `pkg==1.2.3`), installed once, quietly. Sets VENV to its directory. ctest runs checks
# in parallel: one installs while the others wait for it.
ensure_venv() {
  local name=$1
  shift
  VENV="${XDG_CACHE_HOME:-$HOME/.cache}/ringtrace/$name"
  local stamp
  stamp="$VENV/.installed-$(printf '%s ' "$@" | sha256sum | cut -c1-16)"
  [ -e "$stamp" ] && return 0
  mkdir -p "$(dirname "$VENV")"
  exec 9>"$VENV.lock"
  flock 9
  if [ ! -e "$stamp" ]; then
    local log
    log=$(mktemp)
    if ! /usr/bin/python3 -m venv --clear "$VENV" >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "ensure_venv: /usr/bin/python3 -m venv failed; install the Debian package python3-venv" >&2
      exit 2
    fi
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "ensure_venv: installing $* into $VENV failed" >&2
      exit 2
    fi
    rm -f "$log"
    touch "$stamp"
  fi
  exec 9>&-
}
