# wpa_supplicant backend on real radios.
#
# Air: mac80211_hwsim with 3 radios. wlan0 and wlan2 are moved into network namespace "ap"
# (so every frame between the two sides crosses the simulated air): hostapd serves WPA2-PSK
# "HomeNet" on wlan0 (channel 1, 192.168.77.1/24) and WPA3-SAE "HomeNet-SAE" on wlan2
# (channel 11, 192.168.78.1/24); dnsmasq hands out addresses on both.
# Device: wlan1 in the main namespace, wpa_supplicant -D nl80211 on it, busybox udhcpc as the
# DHCP client, and `wifiprov device --wifi wpa-supplicant` serving provisioning on loopback.
# Each case starts wpa_supplicant, udhcpc and the agent afresh and provisions it with
# `wifiprov provision` over HTTP.

S=wpa_supplicant
POP=abcd1234
PSK=correct-horse
SAE_PW=sae-battery-staple

setup_air() {
    hwsim 3 || { fail "$S/setup" "modprobe mac80211_hwsim radios=3 failed"; return 1; }
    ip netns add ap || return 1
    ip netns exec ap ip link set lo up
    local p0 p2
    p0=$(phy_of wlan0); p2=$(phy_of wlan2)
    iw phy "$p0" set netns name ap || { fail "$S/setup" "iw phy $p0 set netns name ap failed"; return 1; }
    iw phy "$p2" set netns name ap || { fail "$S/setup" "iw phy $p2 set netns name ap failed"; return 1; }
    ip netns exec ap ip addr add 192.168.77.1/24 dev wlan0
    ip netns exec ap ip addr add 192.168.78.1/24 dev wlan2

    hostapd_conf "$W/hostapd-wpa2.conf" wlan0 HomeNet 1 psk "$PSK"
    hostapd_conf "$W/hostapd-sae.conf" wlan2 HomeNet-SAE 11 sae "$SAE_PW"
    bg_ns ap hostapd-wpa2 hostapd -dd "$W/hostapd-wpa2.conf"
    bg_ns ap hostapd-sae hostapd -dd "$W/hostapd-sae.conf"
    AIR_PIDS=("${LAB_PIDS[@]}")
    wait_for 20 grep -q AP-ENABLED "$W/hostapd-wpa2.log" \
        || { fail "$S/setup" "hostapd (WPA2) did not start: $(tail -n 3 "$W/hostapd-wpa2.log" | tr '\n' ' ')"; return 1; }
    wait_for 20 grep -q AP-ENABLED "$W/hostapd-sae.log" \
        || echo "lab: hostapd (SAE) did not start: $(tail -n 3 "$W/hostapd-sae.log" | tr '\n' ' ')"
    bg_ns ap dnsmasq dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root \
        --bind-interfaces --interface=wlan0 --interface=wlan2 \
        --dhcp-range=192.168.77.100,192.168.77.199,255.255.255.0,1h \
        --dhcp-range=192.168.78.100,192.168.78.199,255.255.255.0,1h \
        --dhcp-leasefile="$W/dnsmasq.leases" --log-dhcp
    AIR_PIDS=("${LAB_PIDS[@]}")
    wait_for 10 grep -q 'DHCP, IP range' "$W/dnsmasq.log" \
        || { fail "$S/setup" "dnsmasq did not start: $(tail -n 3 "$W/dnsmasq.log" | tr '\n' ' ')"; return 1; }
}

# device_up CASE PORT: wpa_supplicant + udhcpc on wlan1 and the agent on 127.0.0.1:PORT.
device_up() {
    local c=$1 port=$2
    ip addr flush dev wlan1
    printf 'ctrl_interface=/run/wpa_supplicant\nupdate_config=1\n' >"$W/wpa-$c.conf"
    bg "wpa-$c" wpa_supplicant -i wlan1 -D nl80211 -c "$W/wpa-$c.conf" -dd
    wait_for 10 test -S /run/wpa_supplicant/wlan1 || { fail "$S/$c" "wpa_supplicant control socket did not appear"; return 1; }
    # The DHCP client a small Debian device runs; it retries every few seconds until the
    # station is associated and the AP's server answers.
    bg "udhcpc-$c" udhcpc -f -i wlan1 -t 2 -T 1 -A 1 -s /etc/udhcpc/default.script
    bg "device-$c" "$BIN" device --wifi wpa-supplicant --wpa-ctrl /run/wpa_supplicant/wlan1 \
        --wifi-interface wlan1 --listen "127.0.0.1:$port" --security 1 --pop "$POP" \
        --state-dir "$W/state-$c" -v
    DEVICE_PID=${LAB_PIDS[-1]}
    wait_for 30 "$BIN" info --service-name "127.0.0.1:$port" \
        || { fail "$S/$c" "the agent did not answer on 127.0.0.1:$port: $(tail -n 5 "$W/device-$c.log" | tr '\n' ' ')"; return 1; }
}

device_down() {
    local keep=("${AIR_PIDS[@]}") p
    for p in "${LAB_PIDS[@]}"; do
        case " ${keep[*]} " in *" $p "*) ;; *) kill "$p" 2>/dev/null; wait "$p" 2>/dev/null ;; esac
    done
    LAB_PIDS=("${keep[@]}")
    ip addr flush dev wlan1 2>/dev/null
    rm -f /run/wpa_supplicant/wlan1
}

# provision CASE PORT SSID PASSPHRASE: run the client; sets PROV_RC and PROV_OUT.
provision() {
    local c=$1 port=$2
    PROV_OUT=$(timeout 150 "$BIN" provision --service-name "127.0.0.1:$port" --pop "$POP" \
        --ssid "$3" --passphrase "$4" 2>&1)
    PROV_RC=$?
    printf '%s\n' "$PROV_OUT" >"$W/provision-$c.log"
}

oneline() { printf '%s' "$1" | tr '\n' ' ' | cut -c1-300; }

case_join() {   # case_join CASE PORT SSID PASSPHRASE SUBNET_PREFIX
    local c=$1 port=$2 ssid=$3 pw=$4 net=$5 t0; t0=$(now)
    device_up "$c" "$port" || { device_down; return; }
    provision "$c" "$port" "$ssid" "$pw"
    local why=""
    [ "$PROV_RC" = 0 ] || why="provision exit $PROV_RC (want 0): $(oneline "$PROV_OUT")"
    if [ -z "$why" ]; then
        ip -4 addr show dev wlan1 | grep -q "inet $net\." \
            || why="wlan1 has no address in $net.0/24: $(ip -4 -o addr show dev wlan1)"
    fi
    if [ -z "$why" ]; then
        grep -q "ssid=\"$ssid\"" "$W/wpa-$c.conf" \
            || why="the network is not saved in wpa_supplicant's config: $(tr '\n' ' ' <"$W/wpa-$c.conf")"
    fi
    if [ -z "$why" ]; then
        ping -c 1 -W 3 "$net.1" >/dev/null 2>&1 || why="no ping reply from the AP ($net.1) over the air"
    fi
    if [ -z "$why" ]; then
        # With auto-stop the agent ends after a successful join.
        wait_for 15 sh -c "! kill -0 $DEVICE_PID" || why="the agent still runs 15 s after the join"
    fi
    [ -z "$why" ] && pass "$S/$c" || fail "$S/$c" "$why"
    echo "TIME $S/$c $(since "$t0") s"
    device_down
}

case_fail() {   # case_fail CASE PORT SSID PASSPHRASE EXPECTED_TEXT
    local c=$1 port=$2 ssid=$3 pw=$4 want=$5 t0; t0=$(now)
    device_up "$c" "$port" || { device_down; return; }
    provision "$c" "$port" "$ssid" "$pw"
    local why=""
    [ "$PROV_RC" = 5 ] || why="provision exit $PROV_RC (want 5): $(oneline "$PROV_OUT")"
    if [ -z "$why" ]; then
        printf '%s' "$PROV_OUT" | grep -qi "$want" || why="output lacks \"$want\": $(oneline "$PROV_OUT")"
    fi
    [ -z "$why" ] && pass "$S/$c" || fail "$S/$c" "$why"
    echo "TIME $S/$c $(since "$t0") s"
    device_down
}

AIR_PIDS=()
if setup_air; then
    case_join  wpa2_join        8081 HomeNet     "$PSK"          192.168.77
    case_fail  wrong_passphrase 8082 HomeNet     wrong-horse-1   "wrong passphrase"
    case_fail  not_found        8083 NoSuchNet   whatever-pass   "not found"
    if grep -q AP-ENABLED "$W/hostapd-sae.log"; then
        case_join sae_join      8084 HomeNet-SAE "$SAE_PW"       192.168.78
    else
        fail "$S/sae_join" "hostapd could not start the SAE network"
    fi
fi
stop_all
ip netns del ap 2>/dev/null
modprobe -r mac80211_hwsim 2>/dev/null
exit 0
