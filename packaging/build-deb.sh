#!/usr/bin/env bash
# Builds the Debian package: the release binary, then its shell completions and man pages
# (generated from the command-line definitions), then the .deb with cargo-deb. Prints the
# package's path last.
#
#   packaging/build-deb.sh                                   # for this machine
#   TARGET=aarch64-unknown-linux-gnu packaging/build-deb.sh  # Raspberry Pi OS 64-bit
#   TARGET=armv7-unknown-linux-gnueabihf packaging/build-deb.sh  # Raspberry Pi OS 32-bit
#
# A cross build needs the target (`rustup target add`) and a cross linker configured for it;
# the completions and man pages then come from a build for this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deb >/dev/null 2>&1; then
    echo "cargo-deb is required: cargo install cargo-deb --locked" >&2
    exit 1
fi

target_dir=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target_args=()
out="$target_dir/release"
if [ -n "${TARGET:-}" ]; then
    target_args=(--target "$TARGET")
    out="$target_dir/$TARGET/release"
fi

cargo build --release -p wifiprov "${target_args[@]}"

# The generator runs here, so a cross build uses a build for this machine.
generator="$out/wifiprov"
if [ -n "${TARGET:-}" ]; then
    cargo build -p wifiprov
    generator="$target_dir/debug/wifiprov"
fi
assets="$out/assets"
rm -rf "$assets"
mkdir -p "$assets/completions"
"$generator" completions bash >"$assets/completions/wifiprov.bash"
"$generator" completions zsh >"$assets/completions/_wifiprov"
"$generator" completions fish >"$assets/completions/wifiprov.fish"
"$generator" man "$assets/man" >/dev/null
gzip -9n "$assets"/man/*.1

cargo deb -p wifiprov --no-build "${target_args[@]}" -o "$target_dir/debian/"
