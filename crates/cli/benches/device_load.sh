#!/usr/bin/env bash
# Load, memory and size figures of `wifiprov device` (see device_load.rs).
# Usage: crates/cli/benches/device_load.sh [JSON_OUT]
#   WIFIPROV_BENCH_CLIENTS=N          load clients (default 500)
#   WIFIPROV_BENCH_CLIENT_THREADS=N   load-generator threads (default 1)
# Exits non-zero when a target is missed (idle RSS > 8 MiB, any client error, the active
# session not completing). With JSON_OUT, appends the `device_load {...}` line's JSON to it.
set -euo pipefail
cd "$(dirname "$0")/../../.."

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
cargo bench -p wifiprov --bench device_load | tee "$out" || status=$?
if [[ $# -ge 1 ]]; then
    sed -n 's/^device_load //p' "$out" >>"$1"
fi
exit "$status"
