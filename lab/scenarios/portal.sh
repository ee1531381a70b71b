# lab-needs: curl
# The captive portal as a phone meets it on `wifiprov manage`'s fallback access point
# (wpa_supplicant backend, one radio, the same air as the `fallback` scenario).
#
# Air: mac80211_hwsim with 3 radios: wlan0 in namespace "home" (hostapd WPA2-PSK "HomeNet" on
# channel 1 and dnsmasq, switched on once the phone is on the portal), wlan2 in namespace
# "phone" (wpa_supplicant, udhcpc, busybox nslookup, curl), wlan1 the device's one radio with
# wpa_supplicant -D nl80211 and `wifiprov manage --portal`: the portal on port 80 with its DNS
# responder on 53, ESP provisioning on 8080, the agent's dnsmasq announcing the portal (DHCP
# option 114) and the access point as DNS server.
#
# One radio: joining HomeNet takes the access point away, so the phone reads a failed
# attempt's outcome after the access point comes back, and a success on HomeNet's side.

# The air (setup), the phone's helpers and home_on come from the fallback scenario.
FALLBACK_LIB_ONLY=1
. "$LAB_DIR/scenarios/fallback.sh"
unset FALLBACK_LIB_ONLY

S=portal
PSK=correct-horse
AP_SSID=wifiprov-setup
AP_PSK=setup-me-please
POP=abcd1234

# The A record the device's DNS gives for NAME (busybox nslookup, answer section only).
dns_answer() {
    timeout 10 ip netns exec phone busybox nslookup "$1" 192.168.4.1 2>/dev/null \
        | awk '/^Name:/ { named = 1; next } named && /^Address/ { sub(/^Address( 1)?:[ \t]*/, ""); print; exit }'
}

phone_status() { ip netns exec phone curl -s -m 5 http://192.168.4.1/api/status; }

case_ap_up() {
    local t0; t0=$(now) why=""
    bg manage "$BIN" manage --wifi wpa-supplicant --wpa-ctrl /run/wpa_supplicant/wlan1 \
        --networks "$W/networks.json" --state-dir "$W/state" --control "$W/control.sock" \
        --security 1 --pop "$POP" --portal --events json -v
    wait_for 90 grep -q '"event":"provisioning"' "$W/manage.log" \
        || why="no provisioning service on the access point within 90 s: $(tail -n 5 "$W/manage.log" | tr '\n' ' ')"
    [ -z "$why" ] && pass "$S/ap_up" || fail "$S/ap_up" "$why"
    echo "TIME $S/ap_up $(since "$t0") s"
    [ -z "$why" ]
}

# The phone joins, and its DHCP lease names the portal (RFC 8910) and the DNS server.
case_phone_dhcp() {
    local t0; t0=$(now) why=""
    wait_for 30 phone_sees_ap || why="the phone's scans never showed $AP_SSID"
    if [ -z "$why" ]; then
        why=$(phone_join_ap)
    fi
    if [ -z "$why" ]; then
        printf '#!/bin/sh\n/etc/udhcpc/default.script "$@"\nenv >>"%s/lease.env"\n' "$W" >"$W/phone.script"
        chmod +x "$W/phone.script"
        timeout 40 ip netns exec phone udhcpc -i wlan2 -n -q -t 10 -T 1 -O 114 -s "$W/phone.script" >"$W/udhcpc-phone.log" 2>&1 \
            || why="the phone got no address from the device: $(tail -n 3 "$W/udhcpc-phone.log" | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        # Option 114 as busybox hands over an option it has no name for: hex.
        grep -qi '^opt114=.*2f6170692f63617074697665' "$W/lease.env" \
            || grep -q '^opt114=.*/api/captive' "$W/lease.env" \
            || why="the lease has no captive-portal URL (option 114): $(grep -i 'opt\|dns' "$W/lease.env" | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then
        grep -q '^dns=.*192\.168\.4\.1' "$W/lease.env" \
            || why="the lease does not name the access point as DNS server: $(grep '^dns=' "$W/lease.env")"
    fi
    [ -z "$why" ] && pass "$S/phone_dhcp" || fail "$S/phone_dhcp" "$why"
    echo "TIME $S/phone_dhcp $(since "$t0") s"
    [ -z "$why" ]
}

# Any name resolves to the portal; Android's probe is sent to the portal; the page loads.
case_probe() {
    local t0 why="" name answer code; t0=$(now)
    for name in connectivitycheck.gstatic.com captive.apple.com example.org; do
        answer=$(dns_answer "$name")
        [ "$answer" = 192.168.4.1 ] || { why="$name resolved to '${answer}', not the portal"; break; }
    done
    if [ -z "$why" ]; then
        code=$(ip netns exec phone curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' \
            --resolve connectivitycheck.gstatic.com:80:192.168.4.1 http://connectivitycheck.gstatic.com/generate_204)
        case $code in
            30[12378]\ http://192.168.4.1*) ;;
            *) why="Android's probe answered '$code' (expected a redirect to the portal)" ;;
        esac
    fi
    if [ -z "$why" ]; then
        local load again assets
        load=$(ip netns exec phone curl -s -m 10 -o "$W/page.html" -w '%{time_total}' http://192.168.4.1/)
        grep -qi '<form' "$W/page.html" || why="the portal page has no form: $(head -c 200 "$W/page.html")"
        again=$(ip netns exec phone curl -s -m 10 -o /dev/null -w '%{time_total}' http://192.168.4.1/)
        assets=$(ip netns exec phone curl -s -m 10 -o /dev/null -w '%{time_total} s ' \
            http://192.168.4.1/portal.css -o /dev/null http://192.168.4.1/portal.js)
        echo "lab: $S: the page (with the device's scan in it, $(wc -c <"$W/page.html") bytes) loaded over the air in ${load} s, again in ${again} s; its CSS and script in ${assets}"
    fi
    [ -z "$why" ] && pass "$S/probe" || fail "$S/probe" "$why"
    echo "TIME $S/probe $(since "$t0") s"
    [ -z "$why" ]
}

# A wrong password submitted over the air: the radio leaves to try HomeNet, comes back, and the
# phone reads "wrong password" from the portal, no reset.
case_wrong() {
    local t0 why="" status; t0=$(now)
    home_on || { fail "$S/wrong" "the home network's hostapd did not start"; return 1; }
    timeout 120 ip netns exec phone "$BIN" provision --transport portal \
        --service_name http://192.168.4.1 --ssid HomeNet --passphrase wrong-horse-1 >"$W/submit-wrong.log" 2>&1
    wait_for 90 sh -c "timeout 10 ip netns exec phone wpa_cli -p '$W/wpa-phone' -i wlan2 status | grep -q wpa_state=COMPLETED && ip netns exec phone curl -s -m 3 http://192.168.4.1/api/status | grep -q '\"state\":\"failed\"'" \
        || why="the phone never read the failure from the portal: $(phone_status | cut -c1-200) $(tail -n 3 "$W/submit-wrong.log" | tr '\n' ' ')"
    if [ -z "$why" ]; then
        status=$(phone_status)
        printf '%s' "$status" | grep -q '"reason":"wrong-password"' \
            || why="the portal's outcome is not a wrong password: $(printf '%s' "$status" | cut -c1-200)"
        echo "lab: $S: submit to the outcome read on the phone: $(since "$t0") s"
    fi
    [ -z "$why" ] && pass "$S/wrong" || fail "$S/wrong" "$why"
    echo "TIME $S/wrong $(since "$t0") s"
    [ -z "$why" ]
}

case_right() {
    local t0; t0=$(now) why=""
    timeout 120 ip netns exec phone "$BIN" provision --transport portal \
        --service_name http://192.168.4.1 --ssid HomeNet --passphrase "$PSK" --timeout 30 >"$W/submit.log" 2>&1
    wait_for 60 sh -c "ip -4 addr show dev wlan1 | grep -q 'inet 192.168.77\.'" \
        || why="the device has no address on HomeNet: $(ip -4 -o addr show dev wlan1 | tr '\n' ' ') $(tail -n 3 "$W/submit.log" | tr '\n' ' ')"
    if [ -z "$why" ]; then
        ping -c 1 -W 3 192.168.77.1 >/dev/null 2>&1 || why="no ping reply from HomeNet's AP over the air"
    fi
    [ -z "$why" ] && pass "$S/right" || fail "$S/right" "$why"
    echo "TIME $S/right $(since "$t0") s"
}

if setup; then
    if case_ap_up && case_phone_dhcp && case_probe; then
        case_wrong && case_right
    fi
fi
stop_all
for ns in home phone; do ip netns del "$ns" 2>/dev/null; done
modprobe -r mac80211_hwsim 2>/dev/null
exit 0
