#!/usr/bin/env bash
# The whole test suite: unit, integration, property, vector-replay and doc tests of every crate,
# plus the no_std build of the protocol core and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is required (https://rustup.rs)" >&2
    exit 1
fi

# System components the tests start for real: a private D-Bus daemon (BlueZ contract test,
# NetworkManager), wpa_supplicant and NetworkManager themselves, iproute2 for the network
# namespaces they run in.
need=()
command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus-daemon)
command -v wpa_supplicant >/dev/null 2>&1 || need+=(wpasupplicant)
command -v NetworkManager >/dev/null 2>&1 || need+=(network-manager)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iw >/dev/null 2>&1 || need+=(iw)
# systemd-analyze verifies the units; dpkg-deb reads the package.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg)
# Node runs improv-wifi-serial-sdk (npm), the Improv serial peer.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# Headless Chromium and its WebDriver: the captive portal in a real browser.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# cargo-deb builds the Debian package (packaging/build-deb.sh).
if ! command -v cargo-deb >/dev/null 2>&1; then
    echo "== installing cargo-deb"
    cargo install cargo-deb --locked
fi

echo "== third-party peers from npm"
(cd crates/cli/tests/peers/improv-serial && npm ci --no-audit --no-fund --loglevel=error)

echo "== no_std build of the protocol core"
cargo build --quiet -p wifiprov-proto --no-default-features
cargo build --quiet -p wifiprov-types --no-default-features
cargo build --quiet -p protocomm --no-default-features
cargo build --quiet -p smartconfig --no-default-features
cargo build --quiet -p improv --no-default-features

echo "== fuzz targets (build + short run)"
bash fuzz/smoke.sh

# The release build and the package, once before the tests: the package test then only
# repackages, and the release build does not compete with the running tests.
echo "== release build and Debian package"
bash packaging/build-deb.sh

echo "== tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"
# One closing line for the whole suite (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1); if ($i ~ /^ignored;?$/) s += $(i-1) } }
     END { printf "all tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"

# The radio lab: Debian's kernel under QEMU with mac80211_hwsim radios (and virtual Bluetooth
# controllers), the real hostapd, wpa_supplicant, NetworkManager, dnsmasq and BlueZ, driven by
# the release binary built above. It prints one line per case and `lab: N passed, M failed`.
echo "== radio lab"
lab_env=(WIFIPROV_BIN="$PWD/target/release/wifiprov")
if [ "$(id -u)" -eq 0 ]; then
    env "${lab_env[@]}" bash lab/run.sh
else
    sudo env "${lab_env[@]}" bash lab/run.sh
fi
