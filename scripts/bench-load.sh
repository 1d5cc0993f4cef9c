#!/usr/bin/env bash
# The load benchmark (BENCHMARKS.md, "Load"): builds the server and the load generator in
# release, starts the echo baseline and `sip2auth serve --demo` (SQLite, INFO logging, limits
# raised) in a temporary directory, times the start-up, and runs `sip2load suite`: every figure
# as a ratio to the echo or the argon2 bound of the same run, with the server's RSS. Then the
# same 99 and lookup at WARN for the cost of logging. Not a test; nothing here asserts a time.
#
#   scripts/bench-load.sh [--quick] [extra sip2load suite arguments]
#
# --quick: 2 s steps and the ramp 16,64 (a smoke run). Then the PostgreSQL part
# (scripts/bench-load-pg.sh) when a server answers at PGHOST:PGPORT (PG=0 skips it).
# SIP2LOAD_BUILD=0 uses the release binaries as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

steps=(--seconds 5 --warmup-seconds 1)
pin_seconds=15
ramp=1,4,16,64,256
quick=()
if [ "${1:-}" = "--quick" ]; then
  shift
  quick=(--quick)
  steps=(--seconds 2 --warmup-seconds 0.5)
  pin_seconds=4
  ramp=16,64
fi

[ "${SIP2LOAD_BUILD:-1}" = 0 ] || cargo build --release --bin sip2auth --bin sip2load >&2
bin=$root/target/release
work=$(mktemp -d /tmp/sip2load.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# 10,000 idle connections need twice that many descriptors on this machine.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sip_port=$(free_port)
echo_port=$(free_port)

cat > "$work/sip2.toml" <<TOML
[server]
max_connections = 12000
max_connections_per_address = 12000
idle_timeout = "10m"

[logging]
level = "info"
TOML

# The demo's cards: every known one for the lookup, the right PINs of those a 63 answers CQ=Y.
grep -v '^card,' fixtures/demo/patrons.csv | cut -d, -f1 > "$work/lookup-cards"
grep -v '^card,' fixtures/demo/patrons.csv | awk -F, '$16 != "" { print $1 "," $16 }' > "$work/pin-cards"

now_ms() { date +%s%3N; }
# Starts the demo server at LEVEL; prints its pid; waits for the ready line.
start_server() {
  local level=$1 log=$2
  local started
  started=$(now_ms)
  (cd "$work" && RUST_LOG=$level exec "$bin/sip2auth" --config sip2.toml serve --demo \
      --listen "127.0.0.1:$sip_port" --web-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
      >"$log.out" 2>"$log.err") &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 1 3000); do
    grep -q "listening on\|ready" "$log.out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$log.err" >&2; exit 1; }
    sleep 0.01
  done
  startup_ms=$(( $(now_ms) - started ))
}
stop_server() {
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
}

"$bin/sip2load" echo --listen "127.0.0.1:$echo_port" >/dev/null &
pids+=("$!")

echo "# sip2auth load benchmark"
echo
echo "- $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- $(rustc --version); git $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (modified)')"

start_server info "$work/first"
first_ms=$startup_ms
stop_server
start_server info "$work/info"
echo "- start-up, launch to the ready line: serve --demo from nothing ${first_ms} ms; again on the existing database ${startup_ms} ms"
echo

common=(--login sc_user:k7Qp2vXe9LmT4wZs "${steps[@]}")
"$bin/sip2load" suite --server "127.0.0.1:$sip_port" --server-pid "$server_pid" \
  --echo "127.0.0.1:$echo_port" --lookup-cards "$work/lookup-cards" --pin-cards "$work/pin-cards" \
  --ramp "$ramp" --pin-seconds "$pin_seconds" --idle-source 127.0.0.5 "${common[@]}" "$@"
stop_server

echo
echo "## The same at WARN (the cost of logging at INFO is the difference)"
echo
start_server warn "$work/warn"
"$bin/sip2load" suite --server "127.0.0.1:$sip_port" --server-pid "$server_pid" \
  --echo "127.0.0.1:$echo_port" --lookup-cards "$work/lookup-cards" --pin-cards "$work/pin-cards" \
  --ramp 64 --parts status,lookup "${common[@]}"
stop_server
echo
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${PG:-1}" = 1 ] && pg_isready -q -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}" 2>/dev/null; then
  echo
  SIP2LOAD_BUILD=0 scripts/bench-load-pg.sh "${quick[@]}"
fi
