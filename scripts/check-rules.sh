#!/usr/bin/env bash
# Checks the Prometheus files under deploy/: the alert rules with `promtool check rules`, their
# unit tests with `promtool test rules`, and every expression of the Grafana dashboard (as a
# throw-away rules file, so promtool parses each PromQL query). Installs Debian's `prometheus`
# package (which provides promtool) when it is missing and this runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "promtool missing: installing Debian's prometheus package" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null; }
  else
    echo "promtool not found and cannot be installed here (needs root and apt-get)" >&2
    exit 1
  fi
fi

shopt -s nullglob
rules=(deploy/*.rules.yml)
tests=(deploy/*.rules.test.yml)
promtool check rules "${rules[@]}"
(cd deploy && promtool test rules "${tests[@]#deploy/}")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - deploy/grafana-dashboard.json "$work/dashboard.rules.yml" <<'PY'
import json, sys
dashboard = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
with open(sys.argv[2], "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, expr in enumerate(exprs):
        expr = expr.replace("$instance", ".*")
        out.write(f"      - record: dashboard:query_{i}\n        expr: {json.dumps(expr)}\n")
PY
promtool check rules "$work/dashboard.rules.yml" >/dev/null
echo "deploy/grafana-dashboard.json: every query parses"
