#!/usr/bin/env bash
# Checks the files under deploy/ with the tools that understand them, when this machine has
# them: the systemd unit with `systemd-analyze verify` (any complaint fails, since verify itself
# exits 0 on unknown keys), and Prometheus rule files with `promtool check rules`.
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

shopt -s nullglob
rules=(deploy/*.rules.yml)
if [ ${#rules[@]} -gt 0 ]; then
  if command -v promtool >/dev/null 2>&1; then
    promtool check rules "${rules[@]}"
  else
    echo "promtool not found: the alert rules are not checked here" >&2
  fi
fi
