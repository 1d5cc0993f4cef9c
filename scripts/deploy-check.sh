#!/usr/bin/env bash
# Checks the systemd unit under deploy/ with `systemd-analyze verify` when this machine has it
# (any complaint fails, since verify itself exits 0 on unknown keys). The Prometheus files are
# checked by scripts/check-rules.sh.
# Needs the debug binary (the unit's ExecStart is pointed at it for the check).
set -euo pipefail
cd "$(dirname "$0")/.."

binary="$PWD/target/debug/sip2auth"
[ -x "$binary" ] || cargo build --quiet

if command -v systemd-analyze >/dev/null 2>&1; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  sed "s|/usr/local/bin/sip2auth|$binary|" deploy/sip2auth.service >"$work/sip2auth.service"
  complaints=$(systemd-analyze verify "$work/sip2auth.service" 2>&1 || true)
  if [ -n "$complaints" ]; then
    echo "deploy/sip2auth.service: systemd-analyze verify says:" >&2
    echo "$complaints" >&2
    exit 1
  fi
  echo "deploy/sip2auth.service: systemd-analyze verify passed"
else
  echo "systemd-analyze not found: the unit file is not verified here" >&2
fi

