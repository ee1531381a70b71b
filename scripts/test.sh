#!/usr/bin/env bash
# The whole test suite: unit, integration, property, vector-replay and doc tests of every crate,
# plus the no_std build of the protocol core and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is required (https://rustup.rs)" >&2
    exit 1
fi

# The BlueZ contract test starts a private D-Bus daemon.
if ! command -v dbus-daemon >/dev/null 2>&1; then
    echo "== installing dbus-daemon (for the BlueZ D-Bus contract test)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dbus-daemon
fi

echo "== no_std build of the protocol core"
cargo build --quiet -p wifiprov-proto --no-default-features
cargo build --quiet -p protocomm --no-default-features

echo "== fuzz targets (build + short run)"
bash fuzz/smoke.sh

echo "== tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"
# One closing line for the whole suite (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1); if ($i ~ /^ignored;?$/) s += $(i-1) } }
     END { printf "all tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
