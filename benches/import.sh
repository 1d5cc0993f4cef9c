#!/usr/bin/env bash
# Import benchmark: 10,000 patrons with PINs in clear at the DEFAULT argon2 parameters
# (m=19456 KiB, t=2, p=1), all cores. Prints the import summary with its rows/s rate.
# Usage: benches/import.sh [ROWS]   (uses $CARGO_TARGET_DIR or ./target, builds in release)
set -euo pipefail
rows=${1:-10000}
target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$rows" > "$work/patrons.csv" <<'PY'
import sys
n = int(sys.argv[1])
print("card,institution,family_name,given_names,email,expires,pin")
for i in range(n):
    print(f"B{i:07},MAIN,Family{i},Given{i},b{i}@example.org,2030-01-31,{400000 + (i * 7919) % 500000:06d}")
PY
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/pepper.key"
: > "$work/sip2.toml"
SIP2AUTH_DATABASE_URL="sqlite://$work/db.sqlite" SIP2AUTH_PEPPER_FILE="$work/pepper.key" \
  "$target/release/sip2auth" --config "$work/sip2.toml" import "$work/patrons.csv" \
  --operator bench --progress none
