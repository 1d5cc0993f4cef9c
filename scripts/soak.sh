#!/usr/bin/env bash
# The endurance run (BENCHMARKS.md, "Endurance"); not part of CI. Starts `sip2auth serve --demo`
# in a temporary directory with 200 extra patrons, then `sip2load soak`: 64 lockstep connections
# mixing 99, 23 and 63 with right and wrong PINs across the cards (so locks set and lift; the
# temporary lock is 2 minutes here and the terminal budget is raised so that the wrong PINs do
# not end the sessions), each connection reopened every 500 requests. One CSV line a minute
# (errors, CQ=Y/N, RSS) into OUT.csv, and a plot of it in OUT.png (gnuplot, installed from
# Debian when missing).
#
#   scripts/soak.sh [MINUTES (60)] [OUT (target/soak/soak)]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
minutes=${1:-60}
out=${2:-$root/target/soak/soak}
mkdir -p "$(dirname "$out")"

[ "${SIP2LOAD_BUILD:-1}" = 0 ] || cargo build --release --bin sip2auth --bin sip2load >&2
bin=$root/target/release
work=$(mktemp -d /tmp/sip2soak.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/sip2.toml" <<TOML
[server]
max_connections_per_address = 1000

[security.lockout]
pin_temporary_lock = "2m"

[security.terminal_budget]
delay_after_failures = 1000000
delay_after_distinct_cards = 1000000
end_session_after_failures = 1000000
throttle_after_unknown_cards = 1000000

[logging]
level = "info"
TOML
python3 - > "$work/patrons.csv" <<'PY'
print("card,institution,family_name,given_names,expires,pin")
for i in range(200):
    print(f"S{i:07},MAIN,Family{i},Given{i},2030-01-31,{400000 + (i * 7919) % 500000:06d}")
PY

(cd "$work" && exec "$bin/sip2auth" --config sip2.toml serve --demo --listen "127.0.0.1:$port" \
    --web-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 >"$work/server.out" 2>"$work/server.err") &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 1 3000); do
  grep -q ready "$work/server.out" 2>/dev/null && break
  sleep 0.01
done
(cd "$work/demo" && "$bin/sip2auth" import "$work/patrons.csv" --operator soak --progress none >&2)
awk -F, 'NR > 1 { print $1 "," $6 }' "$work/patrons.csv" > "$work/cards"

echo "soak: $minutes min against pid $server_pid; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$bin/sip2load" soak --server "127.0.0.1:$port" --server-pid "$server_pid" --cards "$work/cards" \
  --minutes "$minutes" --login sc_user:k7Qp2vXe9LmT4wZs | tee "$out.csv"
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "the server is gone" >&2
  exit 1
fi
grep -c . "$work/server.err" | xargs -I{} echo "server log lines: {}" >&2
grep -E 'WARN|ERROR' "$work/server.err" | sed 's/^/  /' | sort | uniq -c | sort -rn | head -5 >&2 || true

if ! command -v gnuplot >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq gnuplot-nox) >&2
fi
gnuplot <<GP
set datafile separator ","
set terminal png size 900,500
set output "$out.png"
set title "sip2auth soak: 64 connections, 99/23/63 mix with churn"
set xlabel "minute"
set ylabel "requests per minute"
set y2label "RSS (MiB)"
set y2tics
set ytics nomirror
set key outside bottom center horizontal
plot "$out.csv" using 1:2 skip 1 with lines title "requests", \
     "$out.csv" using 1:3 skip 1 with lines title "errors", \
     "$out.csv" using 1:5 skip 1 with lines title "CQ=N (intended)", \
     "$out.csv" using 1:7 skip 1 axes x1y2 with lines lw 2 title "RSS MiB"
GP
echo "wrote $out.csv and $out.png" >&2
