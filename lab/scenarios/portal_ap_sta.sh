# lab-needs: curl
# The captive portal on a device whose access point has a radio of its own (`wifiprov manage
# --ap-interface`): the phone stays on the access point through every join and reads each
# outcome, the success included, from the answer to its submission before the access point
# goes down.
#
# Air: mac80211_hwsim with 4 radios, as the `fallback` scenario's (wlan0 HomeNet in namespace
# "home", wlan2 the phone in namespace "phone", wlan1 the device's station with wpa_supplicant
# and udhcpc) plus wlan3, the device's access point radio, with a wpa_supplicant of its own.
# The networks file knows no network, so the access point rises at once and stays until the
# phone has provisioned the device.

FALLBACK_LIB_ONLY=1
FALLBACK_RADIOS=4
. "$LAB_DIR/scenarios/fallback.sh"
unset FALLBACK_LIB_ONLY

S=portal_ap_sta
LOCAL_NAME=lab-device

# The phone's wpa_supplicant events: how often it associated so far.
phone_connects() { grep -c 'CTRL-EVENT-CONNECTED' "$W/wpa-phone.log"; }

setup_ap_radio() {
    cat >"$W/networks.json" <<JSON
{
  "schema": 2,
  "known_networks": [],
  "access_point": {
    "config": {"essid": "$AP_SSID", "channel": 6, "hidden": false,
               "password": "$AP_PSK", "authmode": 3, "max_clients": 4},
    "enables_webrepl": false,
    "start_policy": "fallback"
  }
}
JSON
    printf 'ctrl_interface=/run/wpa_supplicant\n' >"$W/wpa-ap.conf"
    bg wpa-ap wpa_supplicant -i wlan3 -D nl80211 -c "$W/wpa-ap.conf" -dd -t
    wait_for 30 test -S /run/wpa_supplicant/wlan3 \
        || { fail "$S/setup" "the access point radio's wpa_supplicant did not start: $(tail -n 3 "$W/wpa-ap.log" | tr '\n' ' ')"; return 1; }
}

case_ap_up() {
    local t0; t0=$(now) why=""
    bg manage "$BIN" manage --wifi wpa-supplicant --wpa-ctrl /run/wpa_supplicant/wlan1 \
        --ap-interface wlan3 --networks "$W/networks.json" --state-dir "$W/state" \
        --control "$W/control.sock" --security 1 --pop "$POP" --portal \
        --portal-local-name "$LOCAL_NAME" --events json -v
    wait_for 90 grep -q '"event":"provisioning"' "$W/manage.log" \
        || why="no provisioning service on the access point within 90 s: $(tail -n 5 "$W/manage.log" | tr '\n' ' ')"
    if [ -z "$why" ]; then
        iw dev wlan3 info | grep -q 'type AP' \
            || why="wlan3 is not in AP mode: $(iw dev wlan3 info | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        iw dev wlan1 info | grep -q 'type AP' && why="the station's radio wlan1 runs the access point"
    fi
    if [ -z "$why" ]; then
        ip -4 addr show dev wlan3 | grep -q 'inet 192.168.4.1/24' \
            || why="the access point radio has no 192.168.4.1/24: $(ip -4 -o addr show dev wlan3)"
    fi
    [ -z "$why" ] && pass "$S/ap_up" || fail "$S/ap_up" "$why"
    echo "TIME $S/ap_up $(since "$t0") s"
    [ -z "$why" ]
}

case_phone_join() {
    local t0; t0=$(now) why=""
    wait_for 30 phone_sees_ap || why="the phone's scans never showed $AP_SSID"
    if [ -z "$why" ]; then
        why=$(phone_join_ap)
    fi
    if [ -z "$why" ]; then
        timeout 40 ip netns exec phone udhcpc -i wlan2 -n -q -t 10 -T 1 -s /etc/udhcpc/default.script >"$W/udhcpc-phone.log" 2>&1 \
            || why="the phone got no address from the device: $(tail -n 3 "$W/udhcpc-phone.log" | tr '\n' ' ')"
    fi
    [ -z "$why" ] && pass "$S/phone_join" || fail "$S/phone_join" "$why"
    echo "TIME $S/phone_join $(since "$t0") s"
    [ -z "$why" ]
}

# A wrong password: the station tries HomeNet on its own radio while the phone stays on the
# access point, and the answer to the submission itself says "wrong password".
case_wrong() {
    local t0 why="" rc before; t0=$(now)
    home_on || { fail "$S/wrong" "the home network's hostapd did not start"; return 1; }
    before=$(phone_connects)
    timeout 120 ip netns exec phone "$BIN" provision --transport portal \
        --service_name http://192.168.4.1 --ssid HomeNet --passphrase wrong-horse-1 >"$W/submit-wrong.log" 2>&1
    rc=$?
    [ "$rc" = 5 ] || why="a wrong password submitted over the air: exit $rc (want 5): $(tail -n 3 "$W/submit-wrong.log" | tr '\n' ' ')"
    if [ -z "$why" ]; then
        grep -q 'Wrong password for HomeNet' "$W/submit-wrong.log" \
            || why="the phone was not told the password was wrong: $(tail -n 3 "$W/submit-wrong.log" | tr '\n' ' ')"
        echo "lab: $S: submit to \"wrong password\" on the phone: $(since "$t0") s"
    fi
    if [ -z "$why" ]; then
        [ "$(phone_connects)" = "$before" ] \
            || why="the phone lost the access point during the attempt ($before associations before, $(phone_connects) after)"
    fi
    [ -z "$why" ] && pass "$S/wrong" || fail "$S/wrong" "$why"
    echo "TIME $S/wrong $(since "$t0") s"
    [ -z "$why" ]
}

# The right password: the phone reads the success, with the device's new address and name,
# over the access point; only then does the access point go down.
case_right() {
    local t0 why="" rc before; t0=$(now)
    before=$(phone_connects)
    timeout 120 ip netns exec phone "$BIN" provision --transport portal \
        --service_name http://192.168.4.1 --ssid HomeNet --passphrase "$PSK" --timeout 30 >"$W/submit.log" 2>&1
    rc=$?
    [ "$rc" = 0 ] || why="the right password submitted over the air: exit $rc: $(tail -n 3 "$W/submit.log" | tr '\n' ' ')"
    if [ -z "$why" ]; then
        grep -q "the device is at 192\.168\.77\.[0-9]* / $LOCAL_NAME\.local" "$W/submit.log" \
            || why="the phone did not read the device's new address and name: $(tail -n 3 "$W/submit.log" | tr '\n' ' ')"
        echo "lab: $S: submit to the success on the phone: $(since "$t0") s"
    fi
    if [ -z "$why" ]; then
        [ "$(phone_connects)" = "$before" ] \
            || why="the phone lost the access point before it read the outcome"
    fi
    if [ -z "$why" ]; then
        ip -4 addr show dev wlan1 | grep -q 'inet 192.168.77\.' \
            || why="the device has no address on HomeNet: $(ip -4 -o addr show dev wlan1 | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        ping -c 1 -W 3 192.168.77.1 >/dev/null 2>&1 || why="no ping reply from HomeNet's AP over the air"
    fi
    if [ -z "$why" ]; then
        wait_for 60 grep -q '"event":"ap_down"' "$W/manage.log" \
            || why="the access point stayed up after the phone read the success: $(tail -n 4 "$W/manage.log" | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        wait_for 30 sh -c "! iw dev wlan3 info | grep -q 'type AP'" \
            || why="wlan3 is still in AP mode after ap_down"
    fi
    if [ -z "$why" ]; then
        ip -4 addr show dev wlan1 | grep -q 'inet 192.168.77\.' \
            || why="the station lost HomeNet when the access point went down"
    fi
    [ -z "$why" ] && pass "$S/right" || fail "$S/right" "$why"
    echo "TIME $S/right $(since "$t0") s"
}

if setup && setup_ap_radio; then
    if case_ap_up && case_phone_join; then
        case_wrong && case_right
    fi
fi
stop_all
for ns in home phone; do ip netns del "$ns" 2>/dev/null; done
modprobe -r mac80211_hwsim 2>/dev/null
exit 0
