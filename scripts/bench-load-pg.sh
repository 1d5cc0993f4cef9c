#!/usr/bin/env bash
# The PostgreSQL part of the load benchmark (BENCHMARKS.md, "Load"): a fresh database on the
# PostgreSQL server at PGHOST:PGPORT (default 127.0.0.1:5432) holding the demo terminal and
# patrons, one and then two `sip2auth serve` instances on it, and `pgbench -S -M prepared -c 16`
# against a pgbench database on the same server in the same run, as the lookup's baseline.
# Both databases are dropped at the end.
#
#   scripts/bench-load-pg.sh [--quick] [extra sip2load suite arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}
user=${PGUSER:-postgres}

steps=(--seconds 5 --warmup-seconds 1)
pgbench_seconds=10
ramp=1,4,16,64,256
if [ "${1:-}" = "--quick" ]; then
  shift
  steps=(--seconds 2 --warmup-seconds 0.5)
  pgbench_seconds=4
  ramp=16,64
fi

[ "${SIP2LOAD_BUILD:-1}" = 0 ] || cargo build --release --bin sip2auth --bin sip2load >&2
bin=$root/target/release
work=$(mktemp -d /tmp/sip2load-pg.XXXXXX)
db=sip2auth_bench_$$
pgb=sip2auth_pgbench_$$
pids=()
psql_admin() { psql -h "$host" -p "$port" -U "$user" -d postgres -qtAc "$1"; }
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  psql_admin "DROP DATABASE IF EXISTS $pgb WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT

psql_admin "CREATE DATABASE $db"
psql_admin "CREATE DATABASE $pgb"
pgbench -h "$host" -p "$port" -U "$user" -i -q -s 10 "$pgb" >/dev/null 2>&1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
echo_port=$(free_port)
cat > "$work/sip2.toml" <<TOML
[server]
max_connections = 12000
max_connections_per_address = 12000

[database]
url = "postgres://$user@$host:$port/$db"

[security.pepper]
key_file = "pepper.key"

[web]
enabled = false

[admin]
enabled = false

[logging]
level = "info"
TOML
secret=k7Qp2vXe9LmT4wZs
(
  cd "$work"
  "$bin/sip2auth" --config sip2.toml pepper generate --out pepper.key >/dev/null
  "$bin/sip2auth" --config sip2.toml migrate >/dev/null
  printf '%s\n' "$secret" | "$bin/sip2auth" --config sip2.toml terminal add sc_user \
    --institution MAIN --cidr 127.0.0.0/8 --password-stdin --operator bench >/dev/null
  "$bin/sip2auth" --config sip2.toml import "$root/fixtures/demo/patrons.csv" \
    --operator bench --progress none >/dev/null
)
grep -v '^card,' fixtures/demo/patrons.csv | cut -d, -f1 > "$work/lookup-cards"
grep -v '^card,' fixtures/demo/patrons.csv | awk -F, '$16 != "" { print $1 "," $16 }' > "$work/pin-cards"

start_server() {
  local sip_port=$1 name=$2
  (cd "$work" && exec "$bin/sip2auth" --config sip2.toml serve --listen "127.0.0.1:$sip_port" \
      >"$work/$name.out" 2>"$work/$name.err") &
  pids+=("$!")
  last_pid=$!
  for _ in $(seq 1 3000); do
    grep -q "listening on\|ready" "$work/$name.out" 2>/dev/null && return
    kill -0 "$last_pid" 2>/dev/null || { cat "$work/$name.err" >&2; exit 1; }
    sleep 0.01
  done
}

"$bin/sip2load" echo --listen "127.0.0.1:$echo_port" >/dev/null &
pids+=("$!")
one=$(free_port)
two=$(free_port)
start_server "$one" one
one_pid=$last_pid
start_server "$two" two

echo "# sip2auth load benchmark, PostgreSQL $(psql_admin 'SHOW server_version')"
echo
echo "- $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- git $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (modified)'); baseline: pgbench -S -M prepared -c 16 -j 2 -T $pgbench_seconds, scale 10, same server"
echo
"$bin/sip2load" suite --server "127.0.0.1:$one" --server2 "127.0.0.1:$two" --server-pid "$one_pid" \
  --echo "127.0.0.1:$echo_port" --lookup-cards "$work/lookup-cards" --pin-cards "$work/pin-cards" \
  --pgbench "pgbench -h $host -p $port -U $user -S -M prepared -c 16 -j 2 -T $pgbench_seconds $pgb" \
  --ramp "$ramp" --parts status,lookup --login "sc_user:$secret" "${steps[@]}" "$@"
echo
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
