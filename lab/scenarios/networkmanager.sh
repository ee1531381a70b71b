# lab-needs: network-manager dbus-daemon
# NetworkManager backend on real radios.
#
# Air: mac80211_hwsim with 4 radios. wlan0 and wlan2 are moved into network namespace "ap":
# hostapd serves WPA2-PSK "HomeNet" on wlan0 (channel 1, 192.168.77.1/24) and WPA3-SAE
# "HomeNet-SAE" on wlan2 (channel 11, 192.168.78.1/24); dnsmasq hands out addresses on both.
# wlan3 is moved into namespace "phone" (the phone of the hotspot case).
# Device: wlan1 in the main namespace, managed by NetworkManager (the only device it manages),
# which runs in the foreground on a private system bus with its keyfile plugin, its internal
# DHCP client and no connectivity checks, driving wpa_supplicant over D-Bus.
# `wifiprov device --wifi networkmanager` serves provisioning on loopback and is provisioned
# with `wifiprov provision` over HTTP: one agent for scan, wrong_passphrase, not_found,
# wpa2_join and sae_join, reset (`--reset`) after a failure and re-opened (`--reprov`) after
# a join, as ESP-IDF's provisioning manager wants. The hotspot case runs `wifiprov manage`.

S=networkmanager
POP=abcd1234
PSK=correct-horse
SAE_PW=sae-battery-staple
AP_PW=setup-pass-42
NMDIR=$W/nm

setup_air() {
    hwsim 4 || { fail "$S/setup" "modprobe mac80211_hwsim radios=4 failed"; return 1; }
    ip netns add ap || return 1
    ip netns add phone || return 1
    ip netns exec ap ip link set lo up
    ip netns exec phone ip link set lo up
    local p0 p2 p3
    p0=$(phy_of wlan0); p2=$(phy_of wlan2); p3=$(phy_of wlan3)
    iw phy "$p0" set netns name ap || { fail "$S/setup" "iw phy $p0 set netns name ap failed"; return 1; }
    iw phy "$p2" set netns name ap || { fail "$S/setup" "iw phy $p2 set netns name ap failed"; return 1; }
    iw phy "$p3" set netns name phone || { fail "$S/setup" "iw phy $p3 set netns name phone failed"; return 1; }
    ip netns exec ap ip addr add 192.168.77.1/24 dev wlan0
    ip netns exec ap ip addr add 192.168.78.1/24 dev wlan2

    hostapd_conf "$W/hostapd-wpa2.conf" wlan0 HomeNet 1 psk "$PSK"
    hostapd_conf "$W/hostapd-sae.conf" wlan2 HomeNet-SAE 11 sae "$SAE_PW"
    bg_ns ap hostapd-wpa2 hostapd "$W/hostapd-wpa2.conf"
    bg_ns ap hostapd-sae hostapd "$W/hostapd-sae.conf"
    bg_ns ap dnsmasq dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root \
        --bind-interfaces --interface=wlan0 --interface=wlan2 \
        --dhcp-range=192.168.77.100,192.168.77.199,255.255.255.0,1h \
        --dhcp-range=192.168.78.100,192.168.78.199,255.255.255.0,1h \
        --dhcp-leasefile="$W/dnsmasq.leases" --log-dhcp
}

# air_ready: the access points and their DHCP server are up (started by setup_air, waited
# for after NetworkManager has been started, so that both come up at once).
air_ready() {
    wait_for 30 grep -q AP-ENABLED "$W/hostapd-wpa2.log" \
        || { fail "$S/setup" "hostapd (WPA2) did not start: $(tail -n 3 "$W/hostapd-wpa2.log" | tr '\n' ' ')"; return 1; }
    wait_for 30 grep -q AP-ENABLED "$W/hostapd-sae.log" \
        || echo "lab: hostapd (SAE) did not start: $(tail -n 3 "$W/hostapd-sae.log" | tr '\n' ' ')"
    wait_for 10 grep -q 'DHCP, IP range' "$W/dnsmasq.log" \
        || { fail "$S/setup" "dnsmasq did not start: $(tail -n 3 "$W/dnsmasq.log" | tr '\n' ' ')"; return 1; }
}

# The device's system: a private system bus where NetworkManager looks for it, wpa_supplicant
# on that bus (-u), and NetworkManager managing wlan1 only.
setup_nm() {
    mkdir -p "$NMDIR/system-connections" "$NMDIR/conf.d" /run/dbus /run/NetworkManager
    chmod 700 "$NMDIR/system-connections"
    system_bus_conf "$NMDIR/system-bus.conf" /run/dbus/system_bus_socket
    cat >"$NMDIR/NetworkManager.conf" <<EOF
[main]
plugins=keyfile
auth-polkit=false
dhcp=internal
no-auto-default=*
dns=none
rc-manager=unmanaged
hostname-mode=none
firewall-backend=none
[keyfile]
path=$NMDIR/system-connections
unmanaged-devices=except:interface-name:wlan1
[connectivity]
enabled=false
[device]
wifi.scan-rand-mac-address=no
[logging]
level=INFO
EOF
    rm -f /run/dbus/system_bus_socket
    bg dbus dbus-daemon --config-file="$NMDIR/system-bus.conf" --nofork --nopidfile
    wait_for 10 test -S /run/dbus/system_bus_socket \
        || { fail "$S/setup" "the system bus did not start: $(tail -n 3 "$W/dbus.log" | tr '\n' ' ')"; return 1; }
    bg wpa_supplicant wpa_supplicant -u -t
    wait_for 10 dbus-send --system --print-reply --dest=org.freedesktop.DBus / \
        org.freedesktop.DBus.GetNameOwner string:fi.w1.wpa_supplicant1 \
        || { fail "$S/setup" "wpa_supplicant did not take its bus name: $(tail -n 3 "$W/wpa_supplicant.log" | tr '\n' ' ')"; return 1; }
    bg NetworkManager NetworkManager --no-daemon --debug \
        --config="$NMDIR/NetworkManager.conf" \
        --config-dir="$NMDIR/conf.d" --system-config-dir="$NMDIR/conf.d" \
        --state-file="$NMDIR/NetworkManager.state" \
        --pid-file=/run/NetworkManager/NetworkManager.pid
    # Ready when wlan1 is a managed Wi-Fi device (its log says so; polling nmcli costs more
    # on a slow VM).
    wait_for 60 grep -q "(wlan1): state change: unavailable -> disconnected" "$W/NetworkManager.log" \
        || { fail "$S/setup" "NetworkManager does not manage wlan1: $(nmcli -t device status 2>&1 | tr '\n' ' ') $(tail -n 5 "$W/NetworkManager.log" | tr '\n' ' ')"; return 1; }
    echo "lab: $S: NetworkManager manages wlan1 after $(since "$T_SETUP") s"
}

# device_up NAME PORT: the agent on 127.0.0.1:PORT, driving NetworkManager; it retries a
# lost link or a timeout, waits for a reset after a failed attempt and keeps serving after
# a join (--no-auto-stop), so that one agent serves every station case (with
# ready_agent between them). Sets PORT and DEVICE_PID.
device_up() {
    local name=$1 t; t=$(now)
    PORT=$2
    bg "device-$name" "$BIN" device --wifi networkmanager --wifi-interface wlan1 \
        --listen "127.0.0.1:$PORT" --security 1 --pop "$POP" --no-auto-stop \
        --state-dir "$W/state-$name" -v
    DEVICE_PID=${LAB_PIDS[-1]}
    # Ready when it says so (cheaper than polling it with `wifiprov info` on a slow VM).
    wait_for 90 grep -q "serving provisioning as" "$W/device-$name.log" \
        || { DEVICE_WHY="the agent did not start serving on 127.0.0.1:$PORT: $(tail -n 5 "$W/device-$name.log" | tr '\n' ' ')"; return 1; }
    echo "lab: $S: the agent $name served after $(since "$t") s"
}

# device_down: stops what the case started (not the air, the bus, wpa_supplicant or NM).
device_down() {
    local keep=("${AIR_PIDS[@]}") p
    for p in "${LAB_PIDS[@]}"; do
        case " ${keep[*]} " in *" $p "*) ;; *) kill "$p" 2>/dev/null; wait "$p" 2>/dev/null ;; esac
    done
    LAB_PIDS=("${keep[@]}")
}

# nm_forget: NetworkManager back to no profile and a disconnected wlan1.
nm_forget() {
    local u
    for u in $(nmcli -t -f UUID connection show 2>/dev/null); do
        nmcli connection delete uuid "$u" >/dev/null 2>&1
    done
    nmcli device disconnect wlan1 >/dev/null 2>&1
    wait_for 20 sh -c 'nmcli -t -f DEVICE,STATE device status | grep -q "^wlan1:disconnected"'
}

# ready_agent: after a failed attempt the agent waits for a reset, after a join for a
# re-provisioning request, as ESP-IDF does; `wifiprov provision --reset` or `--reprov`
# (AFTER=failure or AFTER=join) gives it, and must be accepted (exit 0).
ready_agent() {
    local out rc flag
    case ${AFTER:-} in failure) flag=--reset ;; join) flag=--reprov ;; *) return 0 ;; esac
    out=$(timeout 60 "$BIN" provision --service-name "127.0.0.1:$PORT" --pop "$POP" $flag 2>&1); rc=$?
    [ "$rc" = 0 ] || { READY_WHY="provision $flag exit $rc (want 0): $(oneline "$out")"; return 1; }
}

# provision CASE SSID PASSPHRASE: run the client against the agent; sets PROV_RC, PROV_OUT, PROV_SECS.
provision() {
    local c=$1 t
    t=$(now)
    PROV_OUT=$(timeout 150 "$BIN" provision --service-name "127.0.0.1:$PORT" --pop "$POP" \
        --ssid "$2" --passphrase "$3" 2>&1)
    PROV_RC=$?
    PROV_SECS=$(since "$t")
    printf '%s\n' "$PROV_OUT" >"$W/provision-$c.log"
    echo "lab: $S/$c: the client took $PROV_SECS s (exit $PROV_RC)"
}

oneline() { printf '%s' "$1" | tr '\n' ' ' | cut -c1-300; }

# saved_for SSID: a keyfile NetworkManager wrote holds this SSID.
saved_for() { grep -lqs "^ssid=$1\$" "$NMDIR"/system-connections/*; }

case_scan() {   # case_scan CASE
    local c=$1 t0; t0=$(now)
    local out rc why=""
    out=$(timeout 90 "$BIN" scan --service-name "127.0.0.1:$PORT" --pop "$POP" 2>&1); rc=$?
    printf '%s\n' "$out" >"$W/scan-$c.log"
    [ "$rc" = 0 ] || why="scan exit $rc (want 0): $(oneline "$out")"
    if [ -z "$why" ]; then
        printf '%s\n' "$out" | grep -qw HomeNet || why="HomeNet not in the scan: $(oneline "$out")"
    fi
    [ -z "$why" ] && pass "$S/$c" || fail "$S/$c" "$why"
    echo "TIME $S/$c $(since "$t0") s"
}

case_join() {   # [AFTER=failure|join] case_join CASE SSID PASSPHRASE SUBNET_PREFIX
    local c=$1 ssid=$2 pw=$3 net=$4 t0; t0=$(now)
    if ! ready_agent; then
        fail "$S/$c" "$READY_WHY"; echo "TIME $S/$c $(since "$t0") s"; return
    fi
    provision "$c" "$ssid" "$pw"
    local why=""
    [ "$PROV_RC" = 0 ] || why="provision exit $PROV_RC (want 0): $(oneline "$PROV_OUT")"
    if [ -z "$why" ]; then
        ip -4 addr show dev wlan1 | grep -q "inet $net\." \
            || why="wlan1 has no address in $net.0/24: $(ip -4 -o addr show dev wlan1)"
    fi
    if [ -z "$why" ]; then
        saved_for "$ssid" \
            || why="NetworkManager holds no saved connection for $ssid: $(nmcli -t -f NAME,TYPE connection show 2>&1 | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        ping -c 1 -W 3 "$net.1" >/dev/null 2>&1 || why="no ping reply from the AP ($net.1) over the air"
    fi
    [ -z "$why" ] && pass "$S/$c" || fail "$S/$c" "$why"
    echo "TIME $S/$c $(since "$t0") s"
}

case_fail() {   # [AFTER=failure|join] case_fail CASE SSID PASSPHRASE EXPECTED_TEXT MAX_SECONDS
    local c=$1 ssid=$2 pw=$3 want=$4 max=$5 t0; t0=$(now)
    if ! ready_agent; then
        fail "$S/$c" "$READY_WHY"; echo "TIME $S/$c $(since "$t0") s"; return
    fi
    provision "$c" "$ssid" "$pw"
    local why=""
    [ "$PROV_RC" = 5 ] || why="provision exit $PROV_RC (want 5): $(oneline "$PROV_OUT")"
    if [ -z "$why" ]; then
        printf '%s' "$PROV_OUT" | grep -qi "$want" || why="output lacks \"$want\": $(oneline "$PROV_OUT")"
    fi
    if [ -z "$why" ]; then
        awk -v s="$PROV_SECS" -v m="$max" 'BEGIN{exit !(s <= m)}' \
            || why="the client took $PROV_SECS s (want at most $max s)"
    fi
    if [ -z "$why" ]; then
        ! saved_for "$ssid" || why="a connection for $ssid stayed saved after the failure"
    fi
    [ -z "$why" ] && pass "$S/$c" || fail "$S/$c" "$why"
    echo "TIME $S/$c $(since "$t0") s"
}

# The access point of `wifiprov manage` (start_policy fallback, no known network): a phone
# on wlan3 (namespace "phone") finds it by scanning, joins it with wpa_supplicant, gets an
# address from NetworkManager's DHCP server (shared mode) and provisions HomeNet over HTTP;
# the device (one radio) then takes down its access point and joins HomeNet as a station,
# as a real one-radio device does, so the phone's client loses its session.
case_hotspot() {
    local c=hotspot port=8096 t0; t0=$(now)
    nm_forget
    cat >"$W/networks.json" <<JSON
{"schema": 2, "known_networks": [],
 "access_point": {"config": {"essid": "PROV_LAB", "channel": 6, "password": "$AP_PW"},
                  "enables_webrepl": false, "start_policy": "fallback"}}
JSON
    chmod 600 "$W/networks.json"
    bg manage "$BIN" manage --wifi networkmanager --wifi-interface wlan1 \
        --networks "$W/networks.json" --listen "0.0.0.0:$port" \
        --provisioning-address "10.42.0.1:$port" --security 1 --pop "$POP" \
        --control "$W/manage.sock" --state-dir "$W/state-$c" --interval 5 -v
    local why="" out
    wait_for 90 sh -c 'ip -4 addr show dev wlan1 | grep -q "inet 10\.42\.0\.1/"' \
        || why="the access point did not come up (no 10.42.0.1 on wlan1): $(tail -n 3 "$W/manage.log" | tr '\n' ' ')"
    if [ -z "$why" ]; then
        ip netns exec phone ip link set wlan3 up
        wait_for 45 sh -c "ip netns exec phone iw dev wlan3 scan 2>/dev/null | grep -q 'SSID: PROV_LAB'" \
            || why="the phone's scan does not show PROV_LAB"
    fi
    if [ -z "$why" ]; then
        printf 'network={\n ssid="PROV_LAB"\n psk="%s"\n key_mgmt=WPA-PSK\n}\n' "$AP_PW" >"$W/wpa-phone.conf"
        bg_ns phone wpa-phone wpa_supplicant -i wlan3 -D nl80211 -c "$W/wpa-phone.conf"
        bg_ns phone udhcpc-phone udhcpc -f -i wlan3 -t 2 -T 1 -A 1 -s /etc/udhcpc/default.script
        wait_for 60 sh -c 'ip netns exec phone ip -4 addr show dev wlan3 | grep -q "inet 10\.42\.0\."' \
            || why="the phone got no address from the device's access point: $(tail -n 3 "$W/wpa-phone.log" | tr '\n' ' ')"
    fi
    local client=""
    if [ -z "$why" ]; then
        # The client runs while the device joins: it ends when it has the outcome or, once
        # the access point is down, when its request gets no answer (30 s).
        ip netns exec phone timeout 150 "$BIN" provision --service-name "10.42.0.1:$port" \
            --pop "$POP" --ssid HomeNet --passphrase "$PSK" >"$W/provision-$c.log" 2>&1 &
        client=$!
        local joined=""
        wait_for 90 sh -c 'ip -4 addr show dev wlan1 | grep -q "inet 192\.168\.77\."' \
            || joined="the device did not join HomeNet: $(ip -4 -o addr show dev wlan1)"
        wait "$client"
        PROV_RC=$?
        out=$(cat "$W/provision-$c.log")
        echo "lab: $S/$c: the client exited $PROV_RC: $(oneline "$out")"
        # The device has one radio, and NetworkManager runs either the access point or the
        # station on it: joining HomeNet takes the access point, and with it the phone's
        # session, down. The client has delivered the credentials ("Waiting for the device
        # to join"); it then either saw the outcome (0) or, as here, gets no answer (7).
        if ! printf '%s' "$out" | grep -q "Waiting for the device to join HomeNet"; then
            why="the client did not deliver the credentials (exit $PROV_RC): $(oneline "$out")"
        elif [ "$PROV_RC" != 0 ] && ! { [ "$PROV_RC" = 7 ] && printf '%s' "$out" | grep -q "no answer from the device"; }; then
            why="provision exit $PROV_RC (want 0, or 7 with no answer once the access point is down): $(oneline "$out")"
        fi
        [ -n "$why" ] || why=$joined
    fi
    if [ -z "$why" ]; then
        ip -4 addr show dev wlan1 | grep -q "inet 10\.42\.0\.1/" && why="the access point is still up"
    fi
    if [ -z "$why" ]; then
        wait_for 10 grep -q '"HomeNet"' "$W/networks.json" \
            || why="HomeNet was not added to networks.json: $(tr '\n' ' ' <"$W/networks.json")"
    fi
    if [ -z "$why" ]; then
        ping -c 1 -W 3 192.168.77.1 >/dev/null 2>&1 || why="no ping reply from HomeNet's AP over the air"
    fi
    [ -z "$why" ] && pass "$S/$c" || fail "$S/$c" "$why"
    echo "TIME $S/$c $(since "$t0") s"
    device_down
}

# fail_all WHY CASE...: the cases could not run.
fail_all() { local why=$1 c; shift; for c in "$@"; do fail "$S/$c" "$why"; done; }

# show_logs: with LAB_KEEP_LOGS=1, what the agents and the manager logged about the joins.
show_logs() {
    [ -n "${LAB_KEEP_LOGS:-}" ] || return 0
    local f
    for f in "$W"/device-*.log "$W"/manage.log; do
        [ -f "$f" ] || continue
        echo "---- $f (start and joins)"
        head -n 12 "$f" | cut -c1-200
        grep -E "serving provisioning|joining|directed scan|device state|join failed|joined|scan failed|access point" "$f" | cut -c1-200
    done
}

AIR_PIDS=()
T_SETUP=$(now)
if setup_air && setup_nm && air_ready; then
    AIR_PIDS=("${LAB_PIDS[@]}")
    echo "lab: $S: the air and NetworkManager were ready after $(since "$T_SETUP") s"
    # One agent for every station case, in this order.
    if device_up station 8091; then
        case_scan  scan
        case_fail  wrong_passphrase HomeNet   wrong-horse-1 "wrong passphrase" 60
        AFTER=failure case_fail not_found NoSuchNet whatever-pass "not found" 20
        AFTER=failure case_join wpa2_join HomeNet     "$PSK"    192.168.77
        if grep -q AP-ENABLED "$W/hostapd-sae.log"; then
            AFTER=join case_join sae_join HomeNet-SAE "$SAE_PW" 192.168.78
        else
            fail "$S/sae_join" "hostapd could not start the SAE network"
        fi
    else
        fail_all "$DEVICE_WHY" scan wrong_passphrase not_found wpa2_join sae_join
    fi
    device_down
    case_hotspot
fi
show_logs
stop_all
ip netns del ap 2>/dev/null
ip netns del phone 2>/dev/null
modprobe -r mac80211_hwsim 2>/dev/null
exit 0
