#!/usr/bin/env bash
# Installs what the browser tests need when it is missing: Debian's chromium and chromium-driver
# (apt), and axe-core from the npm registry (npm itself from apt when missing) into a cache
# folder outside the repository (~/.cache/sip2auth-browser). Exports the variables the tests
# read:
#   SIP2AUTH_CHROMEDRIVER  the chromedriver binary
#   SIP2AUTH_AXE_JS        axe.min.js
# Sourced by scripts/test.sh; safe to run again (does nothing when everything is present).
set -euo pipefail
cd "$(dirname "$0")/.."

AXE_VERSION=${AXE_VERSION:-4.10.2}
CACHE=${SIP2AUTH_BROWSER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sip2auth-browser}

if ! command -v chromedriver >/dev/null 2>&1 || ! { command -v chromium >/dev/null 2>&1; }; then
  echo "browser tests: installing chromium and chromium-driver (apt)" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >&2
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "browser tests: installing npm (apt), to fetch axe-core" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >&2
fi

mkdir -p "$CACHE"
if [ ! -s "$CACHE/axe-$AXE_VERSION.min.js" ]; then
  echo "browser tests: fetching axe-core $AXE_VERSION (npm registry)" >&2
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
  tar -xzf "$work"/axe-core-*.tgz -C "$work"
  cp "$work/package/axe.min.js" "$CACHE/axe-$AXE_VERSION.min.js"
  rm -rf "$work"
fi

export SIP2AUTH_CHROMEDRIVER
SIP2AUTH_CHROMEDRIVER=$(command -v chromedriver)
export SIP2AUTH_AXE_JS
SIP2AUTH_AXE_JS="$CACHE/axe-$AXE_VERSION.min.js"
