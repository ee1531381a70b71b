# `wifiprov manage` falling back to its access point, as a phone sees it (wpa_supplicant backend).
#
# Air: mac80211_hwsim with 3 radios. wlan0 goes to namespace "home" (hostapd WPA2-PSK "HomeNet",
# channel 1, and dnsmasq on 192.168.77.1/24; the network is switched on only once the phone has
# provisioned the device, so that at first no known network is in range). wlan2 goes to
# namespace "phone" (wpa_supplicant and udhcpc, the phone's Wi-Fi). wlan1 stays in the main
# namespace: the device's one radio, with wpa_supplicant -D nl80211 on it, udhcpc as its DHCP
# client for the station side, and `wifiprov manage --wifi wpa-supplicant` with a networks file
# whose only known network is HomeNet and whose access point policy is `fallback`.

S=fallback
PSK=correct-horse
AP_SSID=wifiprov-setup
AP_PSK=setup-me-please
POP=abcd1234

# udhcpc's script for the device's station side. Like dhcpcd it removes only the address it
# added itself, so the access point's address on the same interface survives a deconfig.
write_dhcp_script() {
    cat >"$W/udhcpc.script" <<'SCRIPT'
#!/bin/sh
state=/tmp/lab-fallback/udhcpc.$interface
case "$1" in
    deconfig)
        [ -f "$state" ] && ip addr del "$(cat "$state")" dev "$interface" 2>/dev/null
        rm -f "$state" ;;
    bound|renew)
        [ -f "$state" ] && [ "$(cat "$state")" != "$ip/${mask:-24}" ] \
            && ip addr del "$(cat "$state")" dev "$interface" 2>/dev/null
        ip addr replace "$ip/${mask:-24}" dev "$interface"
        echo "$ip/${mask:-24}" >"$state" ;;
esac
exit 0
SCRIPT
    sed -i "s|/tmp/lab-fallback|$W|" "$W/udhcpc.script"
    chmod +x "$W/udhcpc.script"
}

setup() {
    local radios=${FALLBACK_RADIOS:-3}
    hwsim "$radios" || { fail "$S/setup" "modprobe mac80211_hwsim radios=$radios failed"; return 1; }
    local p0 p2
    p0=$(phy_of wlan0); p2=$(phy_of wlan2)
    ip netns add home && ip netns add phone || return 1
    ip netns exec home ip link set lo up
    ip netns exec phone ip link set lo up
    iw phy "$p0" set netns name home || { fail "$S/setup" "cannot move $p0 to namespace home"; return 1; }
    iw phy "$p2" set netns name phone || { fail "$S/setup" "cannot move $p2 to namespace phone"; return 1; }
    ip netns exec home ip addr add 192.168.77.1/24 dev wlan0
    hostapd_conf "$W/hostapd-home.conf" wlan0 HomeNet 1 psk "$PSK"
    cat >"$W/networks.json" <<JSON
{
  "schema": 2,
  "known_networks": [
    {"ssid": "HomeNet", "password": "$PSK", "enables_webrepl": false}
  ],
  "access_point": {
    "config": {"essid": "$AP_SSID", "channel": 6, "hidden": false,
               "password": "$AP_PSK", "authmode": 3, "max_clients": 4},
    "enables_webrepl": false,
    "start_policy": "fallback"
  }
}
JSON
    write_dhcp_script
    printf 'ctrl_interface=/run/wpa_supplicant\nupdate_config=1\n' >"$W/wpa-device.conf"
    bg wpa-device wpa_supplicant -i wlan1 -D nl80211 -c "$W/wpa-device.conf" -dd -t
    wait_for 30 test -S /run/wpa_supplicant/wlan1 \
        || { fail "$S/setup" "the device's wpa_supplicant did not start"; return 1; }
    bg udhcpc-device udhcpc -f -i wlan1 -t 2 -T 1 -A 1 -s "$W/udhcpc.script"
    printf 'ctrl_interface=%s/wpa-phone\n' "$W" >"$W/wpa-phone.conf"
    bg_ns phone wpa-phone wpa_supplicant -i wlan2 -D nl80211 -c "$W/wpa-phone.conf" -dd -t
    wait_for 30 test -S "$W/wpa-phone/wlan2" \
        || { fail "$S/setup" "the phone's wpa_supplicant did not start"; return 1; }
}

phone_cli() { timeout 10 ip netns exec phone wpa_cli -p "$W/wpa-phone" -i wlan2 "$@"; }

# The device's AP as the phone's scan shows it.
phone_sees_ap() { timeout 15 ip netns exec phone iw dev wlan2 scan 2>/dev/null | grep -q "SSID: $AP_SSID"; }

# The phone associates with the device's access point; prints why not.
phone_join_ap() {
    local id; id=$(phone_cli add_network | tail -n1)
    phone_cli set_network "$id" ssid "\"$AP_SSID\"" >/dev/null
    phone_cli set_network "$id" psk "\"$AP_PSK\"" >/dev/null
    phone_cli select_network "$id" >/dev/null
    wait_for 30 sh -c "timeout 10 ip netns exec phone wpa_cli -p '$W/wpa-phone' -i wlan2 status | grep -q wpa_state=COMPLETED" \
        || { echo "the phone did not associate with $AP_SSID: $(phone_cli status | tr '\n' ' ')"; return 1; }
}

case_ap_up() {
    local t0; t0=$(now)
    bg manage "$BIN" manage --wifi wpa-supplicant --wpa-ctrl /run/wpa_supplicant/wlan1 \
        --networks "$W/networks.json" --state-dir "$W/state" --control "$W/control.sock" \
        --listen 0.0.0.0:80 --security 1 --pop "$POP" --events json -v
    MANAGE_PID=${LAB_PIDS[-1]}
    local why=""
    wait_for 90 grep -q '"event":"provisioning"' "$W/manage.log" \
        || why="no provisioning service on the access point within 90 s: $(tail -n 5 "$W/manage.log" | tr '\n' ' ')"
    if [ -z "$why" ]; then
        # Up, and still up a while later (on a real radio it must not fall over at once).
        sleep 5
        iw dev wlan1 info | grep -q 'type AP' \
            || why="wlan1 is not in AP mode 5 s after the access point came up: $(iw dev wlan1 info | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        grep -q AP-DISABLED "$W/wpa-device.log" && why="wpa_supplicant disabled the access point: $(grep -m1 -B2 AP-DISABLED "$W/wpa-device.log" | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        ip -4 addr show dev wlan1 | grep -q 'inet 192.168.4.1/24' \
            || why="the access point interface has no 192.168.4.1/24: $(ip -4 -o addr show dev wlan1)"
    fi
    [ -z "$why" ] && pass "$S/ap_up" || fail "$S/ap_up" "$why"
    echo "TIME $S/ap_up $(since "$t0") s"
    [ -z "$why" ]
}

case_phone_scan() {
    local t0; t0=$(now)
    if wait_for 30 phone_sees_ap; then pass "$S/phone_scan"
    else fail "$S/phone_scan" "the phone's scans never showed $AP_SSID"; fi
    echo "TIME $S/phone_scan $(since "$t0") s"
}

case_phone_dhcp() {
    local t0; t0=$(now) why=""
    why=$(phone_join_ap)
    if [ -z "$why" ]; then
        ip netns exec phone udhcpc -i wlan2 -n -q -t 10 -T 1 -s /etc/udhcpc/default.script >"$W/udhcpc-phone.log" 2>&1 \
            || why="the phone got no address from the device: $(tail -n 3 "$W/udhcpc-phone.log" | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        ip netns exec phone ip -4 addr show dev wlan2 | grep -q 'inet 192.168.4\.' \
            || why="the phone's address is not in 192.168.4.0/24: $(ip netns exec phone ip -4 -o addr show dev wlan2)"
    fi
    if [ -z "$why" ]; then
        ip netns exec phone ping -c 1 -W 3 192.168.4.1 >/dev/null 2>&1 || why="no ping reply from the device's access point"
    fi
    [ -z "$why" ] && pass "$S/phone_dhcp" || fail "$S/phone_dhcp" "$why"
    echo "TIME $S/phone_dhcp $(since "$t0") s"
    [ -z "$why" ]
}

# home_on: the home network comes into range.
home_on() {
    bg_ns home hostapd-home hostapd -dd "$W/hostapd-home.conf"
    wait_for 30 grep -q AP-ENABLED "$W/hostapd-home.log" || return 1
    bg_ns home dnsmasq-home dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root \
        --bind-interfaces --interface=wlan0 \
        --dhcp-range=192.168.77.100,192.168.77.199,255.255.255.0,1h \
        --dhcp-leasefile="$W/dnsmasq-home.leases"
}

# A wrong passphrase: the one radio leaves its access point to try HomeNet, fails, and brings
# the access point back; the phone rejoins it and can try again, without any reboot.
case_retry() {
    local t0; t0=$(now) why=""
    home_on || { fail "$S/retry" "the home network's hostapd did not start"; return 1; }
    local out rc
    out=$(timeout 120 ip netns exec phone "$BIN" provision --service-name 192.168.4.1:80 \
        --pop "$POP" --ssid HomeNet --passphrase wrong-horse-1 2>&1)
    rc=$?
    printf '%s\n' "$out" >"$W/provision-wrong.log"
    case $rc in
        3|5|7) ;;
        *) why="provision with a wrong passphrase exit $rc: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300)" ;;
    esac
    if [ -z "$why" ]; then
        wait_for 90 grep -q 'access point back up' "$W/manage.log" \
            || why="the access point did not come back after the failed join: $(grep -i 'join\|access point' "$W/manage.log" | tail -n 4 | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        wait_for 60 sh -c "timeout 10 ip netns exec phone wpa_cli -p '$W/wpa-phone' -i wlan2 status | grep -q wpa_state=COMPLETED" \
            || why="the phone did not rejoin $AP_SSID: $(phone_cli status | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        ip netns exec phone udhcpc -i wlan2 -n -q -t 10 -T 1 -s /etc/udhcpc/default.script >>"$W/udhcpc-phone.log" 2>&1 \
            || why="the phone got no address from the device the second time"
    fi
    if [ -z "$why" ]; then
        wait_for 20 ip netns exec phone ping -c 1 -W 2 192.168.4.1 \
            || why="no ping reply from the device's access point after it came back"
    fi
    [ -z "$why" ] && pass "$S/retry" || fail "$S/retry" "$why"
    echo "TIME $S/retry $(since "$t0") s"
    [ -z "$why" ]
}

case_provision() {
    local t0; t0=$(now) why=""
    local out rc
    out=$(timeout 120 ip netns exec phone "$BIN" provision --service-name 192.168.4.1:80 \
        --pop "$POP" --ssid HomeNet --passphrase "$PSK" 2>&1)
    rc=$?
    printf '%s\n' "$out" >"$W/provision.log"
    # One radio: the access point goes down when the station joins, and with it the phone's
    # link. The client either saw the success or lost the device after applying, and says
    # which.
    case $rc in
        0) ;;
        3|7) printf '%s' "$out" | grep -q 'took the credentials and then stopped answering' \
               || why="provision exit $rc without saying the device took the credentials: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300)" ;;
        *) why="provision exit $rc: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300)" ;;
    esac
    if [ -z "$why" ]; then
        wait_for 60 sh -c "ip -4 addr show dev wlan1 | grep -q 'inet 192.168.77\.'" \
            || why="the device has no address on HomeNet: $(ip -4 -o addr show dev wlan1 | tr '\n' ' ') $(tail -n 5 "$W/manage.log" | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        ip -4 addr show dev wlan1 | grep -q 'inet 192.168.4.1/' \
            && why="the access point's address is still on wlan1 after the join"
    fi
    if [ -z "$why" ]; then
        ping -c 1 -W 3 192.168.77.1 >/dev/null 2>&1 || why="no ping reply from HomeNet's AP over the air"
    fi
    if [ -z "$why" ]; then
        wait_for 15 grep -q '"event":"ap_down"' "$W/manage.log" \
            || why="the manager did not report the access point down"
    fi
    if [ -z "$why" ]; then
        pgrep -f "dnsmasq.*interface=wlan1" >/dev/null && why="the access point's DHCP server still runs after the join"
    fi
    [ -z "$why" ] && pass "$S/provision" || fail "$S/provision" "$why"
    echo "TIME $S/provision $(since "$t0") s"
}

# The portal scenario takes the air and the helpers above.
[ -n "${FALLBACK_LIB_ONLY:-}" ] && return 0

if setup; then
    if case_ap_up; then
        case_phone_scan
        case_phone_dhcp && case_retry && case_provision
    fi
fi
stop_all
for ns in home phone; do ip netns del "$ns" 2>/dev/null; done
modprobe -r mac80211_hwsim 2>/dev/null
exit 0
