#!/usr/bin/env bash
# The radio lab: boots Debian's own kernel under QEMU (through virtme-ng, without KVM) and runs
# the scenarios in lab/scenarios/ inside it, against mac80211_hwsim radios and the real
# hostapd, wpa_supplicant and dnsmasq, with the wifiprov binary built from this tree.
#
#   lab/run.sh                  every scenario, one boot
#   lab/run.sh wpa_supplicant   only lab/scenarios/wpa_supplicant.sh (several names allowed)
#
# Environment:
#   LAB_CACHE     where the kernel is kept (default /var/lib/wifiprov-lab; it must be visible in
#                 the guest, which /var/cache and /tmp are not: the guest mounts tmpfs there)
#   WIFIPROV_BIN  the binary under test (default target/debug/wifiprov, built when missing)
#   LAB_TIMEOUT   seconds the whole VM may run (default 1500)
#   LAB_SCENARIO_TIMEOUT  seconds one scenario may run (default 480)
#   LAB_KEEP_LOGS=1  the guest prints every daemon's log after a failed case
#
# Needs root (apt-get, modules, the VM's namespaces). Every package comes from Debian or PyPI.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${LAB_CACHE:-/var/lib/wifiprov-lab}
bin=${WIFIPROV_BIN:-$repo/target/debug/wifiprov}
lab_timeout=${LAB_TIMEOUT:-1500}

say() { printf 'lab: %s\n' "$*" >&2; }
die() { say "$*"; echo "lab: 0 passed, 1 failed"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (apt-get, kernel modules, namespaces)"

t_start=$(date +%s)

# --- packages (Debian) -------------------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
command -v hostapd >/dev/null || need_pkgs+=(hostapd)
command -v wpa_supplicant >/dev/null || need_pkgs+=(wpasupplicant)
command -v iw >/dev/null || need_pkgs+=(iw)
command -v dnsmasq >/dev/null || need_pkgs+=(dnsmasq-base)
command -v udhcpc >/dev/null || need_pkgs+=(udhcpc)
command -v depmod >/dev/null || need_pkgs+=(kmod)
command -v ip >/dev/null || need_pkgs+=(iproute2)
# virtme-ng wants a statically linked busybox for its initramfs.
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' \
    || dpkg -s busybox-static >/dev/null 2>&1 || need_pkgs+=(busybox-static)
command -v file >/dev/null || need_pkgs+=(file)
command -v ping >/dev/null || need_pkgs+=(iputils-ping)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    say "installing ${need_pkgs[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# --- virtme-ng (PyPI) ---------------------------------------------------------------------
# The script directory of the Python that pip installs into goes on PATH: a fresh install under
# pyenv has no shim for `vng` until `pyenv rehash`.
PATH=$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
if ! command -v vng >/dev/null; then
    say "installing virtme-ng"
    python3 -m pip install -q "virtme-ng==1.42" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "virtme-ng==1.42"
    hash -r
fi
command -v vng >/dev/null || die "vng not on PATH after pip install virtme-ng"

# --- the kernel: Debian's linux-image-amd64, extracted once ---------------------------------
mkdir -p "$cache"
if ! ls "$cache"/root/boot/vmlinuz-* >/dev/null 2>&1; then
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
    if [ -z "$pkg" ]; then apt-get update -q >/dev/null
        pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}'); fi
    [ -n "$pkg" ] || die "cannot tell which kernel linux-image-amd64 depends on"
    say "preparing kernel $pkg in $cache"
    (cd "$cache" && rm -f linux-image-*.deb && apt-get download "$pkg" >/dev/null 2>&1) \
        || die "apt-get download $pkg failed"
    rm -rf "$cache/root.tmp"
    dpkg-deb -x "$cache"/linux-image-*.deb "$cache/root.tmp"
    ver=$(ls "$cache/root.tmp/lib/modules")
    # virtme-ng links the guest's /lib/modules/<ver> to the tree beside the vmlinuz it boots,
    # so that tree gets the module index; the host copy lets modinfo/modprobe -n be used here.
    depmod -b "$cache/root.tmp" "$ver"
    rm -f "$cache"/linux-image-*.deb
    mv "$cache/root.tmp" "$cache/root"
    if [ ! -d "/lib/modules/$ver" ]; then
        mkdir -p /lib/modules && cp -a "$cache/root/lib/modules/$ver" /lib/modules/ && depmod "$ver"
    fi
fi
vmlinuz=$(ls "$cache"/root/boot/vmlinuz-* | head -n1)

# --- the binary under test ------------------------------------------------------------------
if [ ! -x "$bin" ]; then
    say "building wifiprov (cargo build -p wifiprov)"
    (cd "$repo" && cargo build -q -p wifiprov)
fi
[ -x "$bin" ] || die "no wifiprov binary at $bin"

# --- which scenarios ----------------------------------------------------------------------
scenarios=()
if [ $# -gt 0 ]; then
    for s in "$@"; do
        s=${s%.sh}; s=${s##*/}
        [ -f "$here/scenarios/$s.sh" ] || die "no scenario $s (have: $(cd "$here/scenarios" && ls *.sh | sed 's/\.sh$//' | tr '\n' ' '))"
        scenarios+=("$s")
    done
else
    for f in "$here"/scenarios/*.sh; do s=${f##*/}; scenarios+=("${s%.sh}"); done
fi

# --- packages a scenario names on a `# lab-needs: pkg pkg` line ------------------------------
extra=()
for s in "${scenarios[@]}"; do
    for p in $(sed -n 's/^# lab-needs://p' "$here/scenarios/$s.sh"); do
        dpkg -s "$p" >/dev/null 2>&1 || extra+=("$p")
    done
done
if [ ${#extra[@]} -gt 0 ]; then
    say "installing ${extra[*]} (named by the scenarios)"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${extra[@]}" >/dev/null
fi

# --- Python packages a scenario names on a `# lab-pip: pkg==version …` line -------------------
# Installed from PyPI into a venv per scenario under the cache ($cache/venv-SCENARIO), which the
# guest sees; a changed line makes a new venv.
for s in "${scenarios[@]}"; do
    pins=$(sed -n 's/^# lab-pip://p' "$here/scenarios/$s.sh" | xargs)
    [ -n "$pins" ] || continue
    venv="$cache/venv-$s"
    if [ "$(cat "$venv/.lab-pip" 2>/dev/null)" != "$pins" ]; then
        say "installing $pins into $venv (named by $s)"
        rm -rf "$venv"
        python3 -m venv "$venv"
        # shellcheck disable=SC2086
        "$venv/bin/pip" install -q $pins
        printf '%s\n' "$pins" >"$venv/.lab-pip"
    fi
done

t_prep=$(date +%s)
say "kernel $(basename "$vmlinuz"), binary $bin, scenarios: ${scenarios[*]}"

# --- one boot for all scenarios -------------------------------------------------------------
log=$(mktemp /tmp/wifiprov-lab.XXXXXX.log)
set +e
cd /
timeout --kill-after=20 "$lab_timeout" \
    vng -r "$vmlinuz" --disable-kvm --memory 1G --cpus 2 -- \
    "WIFIPROV_BIN=$bin LAB_CACHE=$cache LAB_KEEP_LOGS=${LAB_KEEP_LOGS:-} LAB_SCENARIO_TIMEOUT=${LAB_SCENARIO_TIMEOUT:-480} bash $here/guest.sh ${scenarios[*]}" \
    </dev/null 2>&1 | tee "$log"
vm_rc=${PIPESTATUS[0]}
set -e
t_end=$(date +%s)

passed=$(grep -c '^PASS ' "$log" || true)
failed=$(grep -c '^FAIL ' "$log" || true)
if ! grep -q '^lab-guest: finished' "$log"; then
    echo "FAIL lab: the guest did not finish (vng exit $vm_rc; log $log)"
    failed=$((failed + 1))
fi
say "times: preparation $((t_prep - t_start)) s, VM (boot and scenarios) $((t_end - t_prep)) s, total $((t_end - t_start)) s"
grep '^TIME ' "$log" | sed 's/^/lab: /' >&2 || true
echo "lab: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
