#!/usr/bin/env bash
# CI smoke test for the fuzz targets: build them all, seed the corpora from the test vectors,
# then run every target for a short, bounded time. Exits non-zero if the build fails or any
# target crashes, leaks, times out or runs out of memory (libFuzzer then leaves the input in
# fuzz/artifacts/<target>/).
#
# Knobs (environment):
#   SMOKE_RUNS     executions per target    (default 20000)
#   SMOKE_SECONDS  wall-clock cap per target (default 10)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# cargo-fuzz needs nightly-only rustc flags (-Zsanitizer=address); this unlocks them on stable.
export RUSTC_BOOTSTRAP=1
# Cargo caches rustc's target-info probe in target/.rustc_info.json without keying it on
# RUSTC_BOOTSTRAP, so one earlier run without the variable poisons the cache. Don't use it.
export CARGO_CACHE_RUSTC_INFO=0

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

runs="${SMOKE_RUNS:-20000}"
seconds="${SMOKE_SECONDS:-10}"
# Release build with debug assertions and overflow checks (-a); ASan is cargo-fuzz's default.
flags=(--debug-assertions)

./seed_corpus.sh
cargo fuzz build "${flags[@]}"

failed=()
for target in $(cargo fuzz list); do
    echo "=== ${target}: -runs=${runs} -max_total_time=${seconds}"
    if ! cargo fuzz run "${flags[@]}" "${target}" -- \
        -runs="${runs}" -max_total_time="${seconds}" -print_final_stats=1; then
        failed+=("${target}")
    fi
done

if ((${#failed[@]})); then
    echo "smoke.sh: FAILED: ${failed[*]} (inputs in ${here}/artifacts/)" >&2
    exit 1
fi
echo "smoke.sh: all targets passed"
