#!/usr/bin/env bash
# The whole test suite: unit, integration, property, vector-replay and doc tests of every crate,
# plus the no_std build of the protocol core and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is required (https://rustup.rs)" >&2
    exit 1
fi

echo "== no_std build of the protocol core"
cargo build --quiet -p wifiprov-proto --no-default-features
cargo build --quiet -p protocomm --no-default-features

echo "== fuzz targets (build + short run)"
bash fuzz/smoke.sh

echo "== tests"
cargo test --workspace
