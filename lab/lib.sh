# Helpers for lab scenarios (sourced inside the VM by guest.sh).
# A scenario prints `PASS name` or `FAIL name: why` for each case; `TIME name N s` per case.

BIN=${WIFIPROV_BIN:?}
W=${LAB_WORK:?}
LAB_PIDS=()

pass() { echo "PASS $1"; }
fail() {
    echo "FAIL $1: $2"
    if [ -n "${LAB_KEEP_LOGS:-}" ]; then
        for f in "$W"/*.log; do [ -f "$f" ] && { echo "---- $f"; tail -n 40 "$f"; }; done
    fi
}

# bg NAME CMD...: start CMD in the background, output to $W/NAME.log, remember its pid.
bg() { local name=$1; shift; "$@" >"$W/$name.log" 2>&1 & LAB_PIDS+=($!); }
# bg_ns NS NAME CMD...: the same inside network namespace NS.
bg_ns() { local ns=$1 name=$2; shift 2; ip netns exec "$ns" "$@" >"$W/$name.log" 2>&1 & LAB_PIDS+=($!); }

stop_all() {
    local p
    for p in "${LAB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${LAB_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    LAB_PIDS=()
}

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds or the time is up.
wait_for() {
    local deadline=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

# now: seconds since the epoch with fractions; since T0: seconds elapsed, one decimal.
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

# phy_of IFACE: the wiphy name (phyN) of a wireless interface.
phy_of() { iw dev "$1" info | awk '/wiphy/{print "phy"$2}'; }

# hwsim N: (re)load mac80211_hwsim with N radios and wait for wlan0..wlan(N-1).
hwsim() {
    modprobe -r mac80211_hwsim 2>/dev/null
    modprobe mac80211_hwsim radios="$1" || return 1
    local i
    for i in $(seq 0 $(( $1 - 1 ))); do wait_for 10 test -e "/sys/class/net/wlan$i" || return 1; done
}
