#!/usr/bin/env bash
# Prepares the peers the TLS, mail and relay tests drive: Debian's openssl and python3, and a
# virtual environment holding the `Sip2` client from PyPI (which tries TLS first by default), the
# aiosmtpd SMTP server from PyPI (the mail tests' real SMTP server on loopback) and pysip2's
# `SIP2Server` (the independent upstream ILS of the relay tests).
# Idempotent and quick once done; prints the environment's python to use (the tests read
# SIP2AUTH_PEERS_PYTHON, which scripts/test.sh sets from this).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${SIP2AUTH_PEERS_VENV:-target/python-peers}
SIP2_CLIENT="Sip2==1.1"
SMTP_SERVER="aiosmtpd==1.4.6"
SIP2_SERVER="pysip2==0.1.0"

apt_install() {
  echo "installing $*" >&2
  apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq "$@" >/dev/null; }
}
command -v openssl >/dev/null 2>&1 || apt_install openssl
command -v python3 >/dev/null 2>&1 || apt_install python3
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_install python3-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import Sip2' >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SIP2_CLIENT" >&2
fi
if ! "$VENV/bin/python" -c 'import aiosmtpd' >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SMTP_SERVER" >&2
fi
if ! "$VENV/bin/python" -c 'import pysip2' >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SIP2_SERVER" >&2
fi
echo "$(cd "$VENV" && pwd)/bin/python"
