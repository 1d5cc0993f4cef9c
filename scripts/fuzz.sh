#!/usr/bin/env bash
# Runs the fuzz targets (fuzz/, cargo-fuzz on a nightly toolchain) for a bounded time each.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   (default: 60 s each; targets frame, message, session)
#
# Without a nightly toolchain it says so and succeeds: the test suite replays the committed corpus
# through the same code on stable either way (tests/it/fuzz_corpus.rs). cargo-fuzz is installed
# from crates.io when missing. Each target starts from the committed corpus (fuzz/corpus/<target>)
# and grows a working copy under fuzz/work/ (not committed); a crash or hang leaves its input
# under fuzz/artifacts/<target>/ and fails the run. One job per target: the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frame message session)

if ! rustup toolchain list 2>/dev/null | grep -q nightly; then
    echo "fuzz: no nightly toolchain; skipped (the suite replays fuzz/corpus on stable)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo +nightly install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

cd fuzz
# No sanitizer: the crate forbids unsafe code, and the targets check their own invariants.
for target in "${targets[@]}"; do
    mkdir -p "work/$target"
    echo "fuzz: $target for ${seconds}s"
    # One process (one job); a crash, hang or leak ends it with a non-zero status.
    if ! cargo +nightly fuzz run -O -s none "$target" "work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=4096 -timeout=30 -rss_limit_mb=2048 \
        -print_final_stats=1 >"work/$target.log" 2>&1; then
        tail -n 40 "work/$target.log" >&2
        echo "fuzz: $target failed; the input is under fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|cov:' "work/$target.log" | tail -n 2
done
