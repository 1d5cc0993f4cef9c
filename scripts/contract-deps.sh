#!/usr/bin/env bash
# Installs what the API contract test needs when it is missing: schemathesis from the Python
# package registry, in a virtual environment in a cache folder outside the repository
# (~/.cache/sip2auth-contract). Prints the variable the test reads:
#   SIP2AUTH_SCHEMATHESIS  the schemathesis command
# Sourced by scripts/test.sh; safe to run again (does nothing when everything is present).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=${SCHEMATHESIS_VERSION:-4.32.5}
CACHE=${SIP2AUTH_CONTRACT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sip2auth-contract}
VENV="$CACHE/venv-$SCHEMATHESIS_VERSION"

if [ ! -x "$VENV/bin/schemathesis" ]; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    echo "contract test: installing python3-venv (apt)" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >&2
  fi
  echo "contract test: installing schemathesis $SCHEMATHESIS_VERSION (PyPI)" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi

export SIP2AUTH_SCHEMATHESIS
SIP2AUTH_SCHEMATHESIS="$VENV/bin/schemathesis"
