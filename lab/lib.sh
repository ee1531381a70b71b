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

# hostapd_conf FILE IFACE SSID CHANNEL psk|sae SECRET: a hostapd configuration for a WPA2-PSK
# or a WPA3-SAE network (PMF required) on IFACE, its control socket under $W/hostapd.
hostapd_conf() {
    local file=$1 iface=$2 ssid=$3 channel=$4 kind=$5 secret=$6
    {
        printf 'interface=%s\ndriver=nl80211\nctrl_interface=%s/hostapd\n' "$iface" "$W"
        printf 'ssid=%s\nhw_mode=g\nchannel=%s\nwpa=2\nrsn_pairwise=CCMP\n' "$ssid" "$channel"
        case $kind in
            psk) printf 'wpa_key_mgmt=WPA-PSK\nwpa_passphrase=%s\n' "$secret" ;;
            sae) printf 'wpa_key_mgmt=SAE\nieee80211w=2\nsae_password=%s\nsae_pwe=2\n' "$secret" ;;
        esac
    } >"$file"
}

# system_bus_conf FILE SOCKET: a dbus-daemon configuration for a private system bus listening
# on SOCKET that lets every local program own names and talk to every other (the lab's daemons
# run as root and trust each other).
system_bus_conf() {
    cat >"$1" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$2</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
CONF
}
