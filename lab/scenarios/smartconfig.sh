# SmartConfig on air: a phone on the home network sends the credentials as a length code
# (ESPTouch v2, ESPTouch v1, AirKiss); a one-radio device sniffs the encrypted frames on a
# monitor interface of its only radio, joins, and acknowledges.
#
# Air: mac80211_hwsim with 3 radios. wlan0 is moved into namespace "ap": hostapd WPA2-PSK
# (CCMP) "HomeNet" on channel 6 (192.168.77.1/24) and dnsmasq. wlan2 is moved into namespace
# "phone": wpa_supplicant + udhcpc keep it associated to HomeNet, and `wifiprov smartconfig
# send` runs there. Device: wlan1 in the main namespace, wpa_supplicant -D nl80211 + udhcpc,
# and `wifiprov device --wifi wpa-supplicant --wifi-interface wlan1 --smartconfig-interface
# mon0`: the agent scans, disconnects the station, takes wlan1 down, creates mon0 on wlan1's
# radio, hops, and after decoding removes mon0, brings wlan1 up and joins.

S=smartconfig
POP=abcd1234
PSK=correct-horse
NET=192.168.77

setup_air() {
    hwsim 3 || { fail "$S/setup" "modprobe mac80211_hwsim radios=3 failed"; return 1; }
    ip netns add ap || return 1
    ip netns add phone || return 1
    ip netns exec ap ip link set lo up
    ip netns exec phone ip link set lo up
    local p0 p2
    p0=$(phy_of wlan0); p2=$(phy_of wlan2)
    iw phy "$p0" set netns name ap || { fail "$S/setup" "iw phy $p0 set netns name ap failed"; return 1; }
    iw phy "$p2" set netns name phone || { fail "$S/setup" "iw phy $p2 set netns name phone failed"; return 1; }
    ip netns exec ap ip addr add "$NET.1/24" dev wlan0

    hostapd_conf "$W/hostapd.conf" wlan0 HomeNet 6 psk "$PSK"
    bg_ns ap hostapd hostapd -dd "$W/hostapd.conf"
    wait_for 20 grep -q AP-ENABLED "$W/hostapd.log" \
        || { fail "$S/setup" "hostapd did not start: $(tail -n 3 "$W/hostapd.log" | tr '\n' ' ')"; return 1; }
    echo "lab: $S: hostapd ready after $(since "$T_SETUP") s"
    bg_ns ap dnsmasq dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root \
        --bind-interfaces --interface=wlan0 \
        --dhcp-range=$NET.100,$NET.199,255.255.255.0,1h \
        --dhcp-leasefile="$W/dnsmasq.leases" --log-dhcp
    wait_for 10 grep -q 'DHCP, IP range' "$W/dnsmasq.log" \
        || { fail "$S/setup" "dnsmasq did not start: $(tail -n 3 "$W/dnsmasq.log" | tr '\n' ' ')"; return 1; }

    # The phone: associated to HomeNet, with an address from dnsmasq.
    cat >"$W/wpa-phone.conf" <<CONF
ctrl_interface=$W/wpa-phone
network={
    ssid="HomeNet"
    psk="$PSK"
    key_mgmt=WPA-PSK
    scan_freq=2437
}
CONF
    bg_ns phone wpa-phone wpa_supplicant -i wlan2 -D nl80211 -c "$W/wpa-phone.conf" -dd
    bg_ns phone udhcpc-phone udhcpc -f -i wlan2 -t 2 -T 1 -A 1 -s /etc/udhcpc/default.script
    AIR_PIDS=("${LAB_PIDS[@]}")
}

# phone_ready: the phone is associated and has an address (it joins while the first device
# starts; later calls return at once).
phone_ready() {
    [ -n "${PHONE_IP:-}" ] && return 0
    wait_for 60 grep -q CTRL-EVENT-CONNECTED "$W/wpa-phone.log" \
        || { PHONE_WHY="the phone did not associate: $(tail -n 3 "$W/wpa-phone.log" | tr '\n' ' ')"; return 1; }
    wait_for 60 sh -c "ip netns exec phone ip -4 addr show dev wlan2 | grep -q 'inet $NET\.'" \
        || { PHONE_WHY="the phone got no address: $(tail -n 3 "$W/udhcpc-phone.log" | tr '\n' ' ')"; return 1; }
    PHONE_IP=$(ip netns exec phone ip -4 -o addr show dev wlan2 | awk '{print $4}' | cut -d/ -f1)
    echo "lab: $S: the phone had $PHONE_IP after $(since "$T_SETUP") s"
}

# device_up CASE PORT TYPE: wpa_supplicant + udhcpc on wlan1 and the agent sniffing on mon0.
device_up() {
    local c=$1 port=$2 type=$3
    ip addr flush dev wlan1
    # No P2P: wpa_supplicant's P2P device would keep the radio busy, and a monitor interface
    # of the radio could not be tuned (the agent says so and does not start).
    printf 'ctrl_interface=/run/wpa_supplicant\nupdate_config=1\np2p_disabled=1\n' >"$W/wpa-$c.conf"
    bg "wpa-$c" wpa_supplicant -i wlan1 -D nl80211 -c "$W/wpa-$c.conf" -dd
    wait_for 10 test -S /run/wpa_supplicant/wlan1 || { fail "$S/$c" "wpa_supplicant control socket did not appear"; return 1; }
    bg "udhcpc-$c" udhcpc -f -i wlan1 -t 2 -T 1 -A 1 -s /etc/udhcpc/default.script
    bg "device-$c" "$BIN" device --wifi wpa-supplicant --wpa-ctrl /run/wpa_supplicant/wlan1 \
        --wifi-interface wlan1 --smartconfig-interface mon0 --smartconfig-type "$type" \
        --listen "127.0.0.1:$port" --security 1 --pop "$POP" --state-dir "$W/state-$c" -v
    DEVICE_PID=${LAB_PIDS[-1]}
    # Sniffing: the agent has scanned, taken wlan1 down and created mon0 on its radio.
    wait_for 60 sh -c "grep -q 'smartconfig: listening for' '$W/device-$c.log' && test -e /sys/class/net/mon0" \
        || { fail "$S/$c" "the agent did not start sniffing on mon0: $(tail -n 5 "$W/device-$c.log" | tr '\n' ' ')"; return 1; }
}

device_down() {
    local keep=("${AIR_PIDS[@]}") p
    for p in "${LAB_PIDS[@]}"; do
        case " ${keep[*]} " in *" $p "*) ;; *) kill "$p" 2>/dev/null; wait "$p" 2>/dev/null ;; esac
    done
    LAB_PIDS=("${keep[@]}")
    iw dev mon0 del 2>/dev/null
    ip link set wlan1 up 2>/dev/null
    ip addr flush dev wlan1 2>/dev/null
    rm -f /run/wpa_supplicant/wlan1
}

oneline() { printf '%s' "$1" | tr '\n' ' ' | cut -c1-300; }

# case_send CASE PORT DEVICE_TYPE PROTOCOL LOGGED_NAME: the phone sends, the device joins.
case_send() {
    local c=$1 port=$2 type=$3 proto=$4 logged=$5 t0; t0=$(now)
    device_up "$c" "$port" "$type" || { echo "TIME $S/$c $(since "$t0") s"; device_down; return; }
    if ! phone_ready; then
        fail "$S/$c" "$PHONE_WHY"; echo "TIME $S/$c $(since "$t0") s"; device_down; return
    fi
    local out rc why=""
    out=$(ip netns exec phone timeout 150 "$BIN" smartconfig send --protocol "$proto" \
        --ssid HomeNet --passphrase "$PSK" --timeout 120 2>"$W/send-$c.log")
    rc=$?
    printf '%s\n' "$out" >>"$W/send-$c.log"
    local dev_ip
    dev_ip=$(ip -4 -o addr show dev wlan1 | awk '{print $4}' | cut -d/ -f1)
    [ "$rc" = 0 ] || why="send exit $rc (want 0): $(oneline "$(tail -n 3 "$W/send-$c.log")"); mon0: $(ip -s -o link show dev mon0 2>&1 | cut -c1-200)"
    if [ -z "$why" ]; then
        grep -q "received $logged credentials for \"HomeNet\"" "$W/device-$c.log" \
            || why="the agent did not log decoding $logged credentials for HomeNet"
    fi
    if [ -z "$why" ]; then
        case "$dev_ip" in "$NET".*) ;; *) why="wlan1 has no address in $NET.0/24: $(ip -4 -o addr show dev wlan1)";; esac
    fi
    if [ -z "$why" ]; then
        # The reply names the device by the address it left from: the station's.
        printf '%s' "$out" | grep -q " $dev_ip\$" \
            || why="send did not report the device at $dev_ip: $(oneline "$out")"
    fi
    if [ -z "$why" ]; then
        ! test -e /sys/class/net/mon0 || why="mon0 still exists after the join"
    fi
    if [ -z "$why" ]; then
        ping -c 1 -W 3 "$NET.1" >/dev/null 2>&1 || why="no ping reply from the AP ($NET.1) over the air"
    fi
    [ -z "$why" ] && pass "$S/$c" || fail "$S/$c" "$why"
    echo "TIME $S/$c $(since "$t0") s"
    device_down
}

case_stop_while_sniffing() {
    local c=stop_while_sniffing t0; t0=$(now)
    device_up "$c" 8094 esptouch-airkiss || { echo "TIME $S/$c $(since "$t0") s"; device_down; return; }
    local why="" t1 rc
    t1=$(now)
    kill -TERM "$DEVICE_PID"
    if wait_for 15 sh -c "! kill -0 $DEVICE_PID"; then
        wait "$DEVICE_PID"; rc=$?
        [ "$rc" = 0 ] || why="the agent exited $rc after SIGTERM (want 0)"
    else
        why="the agent still runs 15 s after SIGTERM"
    fi
    local stop_s; stop_s=$(since "$t1")
    if [ -z "$why" ]; then
        ! test -e /sys/class/net/mon0 || why="mon0 still exists after the agent stopped"
    fi
    if [ -z "$why" ]; then
        ip link show dev wlan1 | grep -q '[<,]UP[,>]' || why="wlan1 is not up: $(ip -o link show dev wlan1)"
    fi
    if [ -z "$why" ]; then
        local ctl="wpa_cli -p /run/wpa_supplicant -i wlan1"
        $ctl bss_flush 0 >/dev/null 2>&1
        wait_for 10 sh -c "$ctl scan | grep -q OK" || why="wpa_supplicant refused to scan: $($ctl status | tr '\n' ' ')"
        if [ -z "$why" ]; then
            wait_for 20 sh -c "$ctl scan_results | grep -q HomeNet" \
                || why="wpa_supplicant's scan did not find HomeNet: $($ctl scan_results | tr '\n' ' ')"
        fi
    fi
    [ -z "$why" ] && pass "$S/$c" || fail "$S/$c" "$why"
    echo "lab: $S/$c: the agent ended $stop_s s after SIGTERM"
    echo "TIME $S/$c $(since "$t0") s"
    device_down
}

AIR_PIDS=()
T_SETUP=$(now)
if setup_air; then
    echo "lab: $S: the access point was ready after $(since "$T_SETUP") s"
    case_send esptouch_v2 8091 esptouch-v2      esptouch-v2 esptouch-v2
    case_send esptouch_v1 8092 esptouch-airkiss esptouch    esptouch
    case_send airkiss     8093 esptouch-airkiss airkiss     airkiss
    case_stop_while_sniffing
fi
stop_all
ip netns del phone 2>/dev/null
ip netns del ap 2>/dev/null
modprobe -r mac80211_hwsim 2>/dev/null
exit 0
