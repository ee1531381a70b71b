#!/usr/bin/env bash
# Runs inside the lab VM (see run.sh): each named scenario in its own subshell, timed.
# The host's root filesystem is read-only here with writable overlays; /tmp is the guest's own.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LAB_DIR=$here
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export WIFIPROV_BIN
echo "lab-guest: kernel $(uname -r), $(nproc) cpus"
for s in "$@"; do
    export LAB_WORK=/tmp/lab-$s
    rm -rf "$LAB_WORK"; mkdir -p "$LAB_WORK"
    t0=$(date +%s.%N)
    echo "lab-guest: scenario $s"
    timeout --kill-after=10 "${LAB_SCENARIO_TIMEOUT:-480}" \
        bash -c '. "$LAB_DIR/lib.sh"; . "$LAB_DIR/scenarios/$1.sh"' lab-"$s" "$s"
    rc=$?
    [ $rc = 124 ] && echo "FAIL $s: the scenario did not finish within ${LAB_SCENARIO_TIMEOUT:-480} s"
    # Whatever a scenario left behind (after a timeout, say) must not disturb the next one.
    pkill -9 -x 'hostapd|wpa_supplicant|dnsmasq|udhcpc|NetworkManager|bluetoothd|btvirt|dbus-daemon|wifiprov' 2>/dev/null
    for ns in $(ip netns list | awk '{print $1}'); do ip netns del "$ns"; done
    modprobe -r mac80211_hwsim 2>/dev/null
    t1=$(date +%s.%N)
    [ $rc = 0 ] || [ $rc = 124 ] || echo "FAIL $s: the scenario script itself exited $rc"
    printf 'TIME %s %.1f s\n' "$s" "$(echo "$t1 - $t0" | bc 2>/dev/null || awk "BEGIN{print $t1-$t0}")"
done
echo "lab-guest: finished"
