# lab-needs: bluez bluez-test-tools dbus-daemon
# lab-pip: py-improv-ble-client==2.0.1 bleak==0.22.3 bleak-retry-connector==3.5.0
# Improv Wi-Fi over BLE on real BlueZ, with the air of the `ble` scenario (hci_vhci, two
# btvirt controllers, bluetoothd on a private system bus; its helpers are sourced from ble.sh).
# Device: `wifiprov device --transport ble --improv-ble --ble-adapter hci0` with the simulated
# Wi-Fi backend, the ESP service and Improv's side by side. Phones on hci1:
#   improv_ours — `wifiprov info` and `wifiprov provision --transport improv-ble`, a wrong
#                 passphrase first (exit 5), then the right one;
#   improv_py   — Home Assistant's client library, py-improv-ble-client (on bleak), from a venv
#                 run.sh installs under the lab cache (its wheel declares no dependencies: bleak
#                 and bleak-retry-connector are pinned beside it): the device is found with its
#                 `device_filter` (Improv UUID and service data in the advertisement), a wrong
#                 passphrase fails with "unable to connect", the right one returns the URL.

BLE_LIB_ONLY=1
. "$LAB_DIR/scenarios/ble.sh"
unset BLE_LIB_ONLY
S=improv_ble
NAME=PROV_improv
VENV=${LAB_CACHE:-/var/lib/wifiprov-lab}/venv-improv_ble

# hci1 forgets the device and its cached GATT database: BlueZ numbers an application's
# attributes in the order the application lists its objects, which is not the same from one
# agent process to the next, and a central that trusted the database cached from an earlier
# agent at the same address read and wrote the wrong attributes.
forget_peer() {
    dbus-send --system --print-reply --dest=org.bluez /org/bluez/hci1 org.bluez.Adapter1.RemoveDevice \
        "objpath:$(peer_path)" >/dev/null 2>&1
    rm -rf /var/lib/bluetooth/*/cache/* 2>/dev/null
    true
}

improv_up() {
    forget_peer
    device_up "$1" --improv-ble --security 1 --pop "$POP" --improv-url 'http://{ip}/setup'
}

AGAIN=0
case_improv_ours() {
    local c=improv_ours t0 why="" out rc; t0=$(now)
    improv_up "$c" || { device_down; return; }
    out=$(timeout 120 "$BIN" -v info --transport improv-ble --ble-adapter hci1 --service-name "$NAME" 2>&1); rc=$?
    printf '%s\n' "$out" >"$W/info-$c-${1:-1}.log"
    if [ -z "$1" ] && [ "$rc" = 3 ] && printf '%s' "$out" | grep -q "not seen by /org/bluez/hci1"; then
        echo "lab: $S/$c: hci1 did not see the device; once more on new controllers"
        AGAIN=1
        device_down
        return
    fi
    [ "$rc" = 0 ] && printf '%s' "$out" | grep -q "Firmware: *wifiprov" \
        || why="info exit $rc: $(oneline "$out")"
    if [ -z "$why" ]; then
        out=$(timeout 150 "$BIN" -v provision --transport improv-ble --ble-adapter hci1 --service-name "$NAME" \
            --ssid HomeNet --passphrase wrong-horse 2>&1); rc=$?
        printf '%s\n' "$out" >"$W/wrong-$c.log"
        [ "$rc" = 5 ] || why="wrong passphrase: exit $rc (want 5): $(oneline "$out")"
    fi
    if [ -z "$why" ]; then
        PROV_OUT=$(timeout 150 "$BIN" -v provision --transport improv-ble --ble-adapter hci1 --service-name "$NAME" \
            --ssid HomeNet --passphrase correct-horse --json 2>&1); PROV_RC=$?
        printf '%s\n' "$PROV_OUT" >"$W/provision-$c.log"
        [ "$PROV_RC" = 0 ] || why="provision exit $PROV_RC (want 0): $(oneline "$PROV_OUT")"
        [ -z "$why" ] && ! printf '%s' "$PROV_OUT" | grep -q '"url": *"http://192.168.1.42/setup"' \
            && why="no redirect URL in the JSON: $(oneline "$PROV_OUT")"
        [ -z "$why" ] && ! wait_for 20 sh -c "! kill -0 $DEVICE_PID" && why="the agent still runs 20 s after the join"
    fi
    finish "$c" "$t0" "$why"
}

case_improv_py() {
    local c=improv_py t0 why="" out rc; t0=$(now)
    if [ ! -x "$VENV/bin/python" ]; then
        fail "$S/$c" "no venv with py-improv-ble-client at $VENV (run.sh installs it)"
        return
    fi
    improv_up "$c" || { device_down; return; }
    cat >"$W/driver.py" <<'PY'
import asyncio, sys
from bleak import BleakScanner
from improv_ble_client import ImprovBLEClient, device_filter, errors

async def main(name, ssid, wrong, right):
    found = {}
    def seen(device, adv):
        if name in (device.name, adv.local_name) and device_filter(adv):
            found["it"] = (device, adv)
    scanner = BleakScanner(detection_callback=seen, adapter="hci1")
    await scanner.start()
    for _ in range(600):
        if found:
            break
        await asyncio.sleep(0.1)
    await scanner.stop()
    if not found:
        print("RESULT not-found")
        return 1
    client = ImprovBLEClient(*found["it"])
    print("RESULT need_authorization", await client.need_authorization(), flush=True)
    try:
        await client.provision(ssid, wrong, None)
        print("RESULT wrong-accepted")
        return 1
    except errors.ProvisioningFailed as e:
        print("RESULT wrong", e.error.name, flush=True)
    url = await asyncio.wait_for(client.provision(ssid, right, None), 90)
    print("RESULT url", url, flush=True)
    return 0

sys.exit(asyncio.run(main(*sys.argv[1:])))
PY
    out=$(timeout 200 "$VENV/bin/python" "$W/driver.py" "$NAME" HomeNet wrong-horse correct-horse 2>&1); rc=$?
    printf '%s\n' "$out" >"$W/driver-$c.log"
    [ "$rc" = 0 ] || why="py-improv-ble-client exit $rc: $(oneline "$(printf '%s' "$out" | tail -n 6)")"
    [ -z "$why" ] && ! printf '%s' "$out" | grep -q "RESULT need_authorization False" && why="need_authorization: $(oneline "$out")"
    [ -z "$why" ] && ! printf '%s' "$out" | grep -q "RESULT wrong UNABLE_TO_CONNECT" && why="wrong passphrase: $(oneline "$out")"
    [ -z "$why" ] && ! printf '%s' "$out" | grep -q "RESULT url http://192.168.1.42/setup" && why="no URL: $(oneline "$out")"
    finish "$c" "$t0" "$why"
}

if setup; then
    case_improv_ours
    # The known issue of `ble` (lab/README.md): now and then hci1 never sees an agent's
    # advertising. Then the case runs once more, on new controllers (the lab says so).
    [ "$AGAIN" = 1 ] && fresh_controllers improv_ours && case_improv_ours 2
    fresh_controllers improv_py && case_improv_py
fi
stop_all
modprobe -r hci_vhci 2>/dev/null
exit 0
