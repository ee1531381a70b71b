# lab-needs: bluez bluez-test-tools dbus-daemon
# BLE transport on real BlueZ.
#
# Air: hci_vhci and BlueZ's controller emulator (`btvirt -l2`): two virtual controllers, hci0
# and hci1, whose LE advertising, scanning and connections go through the emulator's link.
# bluetoothd (Debian's bluez) serves both on a private system bus (dbus-daemon, socket in the
# scenario's work directory, DBUS_SYSTEM_BUS_ADDRESS pointing at it).
# Device: `wifiprov device --transport ble --ble-adapter hci0` with the simulated Wi-Fi backend
# (BLE is what is under test). Phone: `wifiprov provision --transport ble --ble-adapter hci1`,
# finding the device by its advertised name.

S=ble
NAME=PROV_lab
POP=abcd1234
SEC2_USER=wifiprov
SEC2_PW=sec2-lab-password
BLUETOOTHD=/usr/libexec/bluetooth/bluetoothd
[ -x "$BLUETOOTHD" ] || BLUETOOTHD=/usr/sbin/bluetoothd

export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$W/system_bus_socket"
AIR_PIDS=()

oneline() { printf '%s' "$1" | tr '\n' ' ' | cut -c1-400; }

# dbus_get PATH IFACE PROP: a property's value as dbus-send prints it (last word).
dbus_get() {
    dbus-send --system --print-reply=literal --dest=org.bluez "$1" \
        org.freedesktop.DBus.Properties.Get "string:$2" "string:$3" 2>/dev/null | awk '{print $NF}'
}
adapter_powered() { [ "$(dbus_get "/org/bluez/$1" org.bluez.Adapter1 Powered)" = true ]; }
both_powered() { adapter_powered hci0 && adapter_powered hci1; }
power_on() {
    dbus-send --system --print-reply --dest=org.bluez "/org/bluez/$1" \
        org.freedesktop.DBus.Properties.Set string:org.bluez.Adapter1 string:Powered variant:boolean:true \
        >/dev/null 2>&1
}

# The bus: everything allowed, as the lab's root-only guest needs nothing else.
start_bus() {
    system_bus_conf "$W/system-bus.conf" "$W/system_bus_socket"
    bg dbus dbus-daemon --nofork --nopidfile --config-file="$W/system-bus.conf"
    AIR_PIDS+=("${LAB_PIDS[-1]}")
    wait_for 20 test -S "$W/system_bus_socket" || { fail "$S/setup" "dbus-daemon did not start: $(oneline "$(cat "$W/dbus.log")")"; return 1; }
}

# Both controllers registered with the kernel's management interface (their HCI setup done).
mgmt_both() {
    local out; out=$(timeout 5 btmgmt info 2>&1) || return 1
    printf '%s' "$out" | grep -q '^hci0:' && printf '%s' "$out" | grep -q '^hci1:'
}

# One attempt at the controllers: hci_vhci, btvirt, bluetoothd, both adapters powered.
# Under TCG a controller sometimes never registers (HCI Reset times out, "Invalid Index").
CTRL_PIDS=()
controllers_try() {
    local n=$1
    local failed0; failed0=$(dmesg | grep -c 'Bluetooth: hci.*failed: -110')
    modprobe hci_vhci || return 1
    bg "btvirt-$n" btvirt -l2
    CTRL_PIDS=("${LAB_PIDS[-1]}")
    local deadline=$(( $(date +%s) + 20 ))
    until mgmt_both; do
        # A controller whose setup failed (HCI Reset timing out) never registers: retry now.
        if [ "$(date +%s)" -ge "$deadline" ] || [ "$(dmesg | grep -c 'Bluetooth: hci.*failed: -110')" != "$failed0" ]; then
            echo "lab: attempt $n: the kernel does not manage both controllers: $(oneline "$(dmesg | grep -i 'Bluetooth: hci' | tail -n 2)")"
            return 1
        fi
        sleep 0.5
    done
    bg "bluetoothd-$n" "$BLUETOOTHD" -n -d -f "$W/main.conf"
    CTRL_PIDS+=("${LAB_PIDS[-1]}")
    wait_for 20 dbus_get /org/bluez/hci1 org.bluez.Adapter1 Address \
        || { echo "lab: attempt $n: bluetoothd does not list both adapters"; return 1; }
    deadline=$(( $(date +%s) + 20 ))
    until both_powered; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "lab: attempt $n: the adapters do not power on: $(oneline "$(grep -iE 'fail|error|invalid' "$W/bluetoothd-$n.log" | tail -n 4)")"
            return 1
        fi
        power_on hci0; power_on hci1
        sleep 0.5
    done
}

controllers_down() {
    local p
    for p in "${CTRL_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    CTRL_PIDS=()
    modprobe -r hci_vhci 2>/dev/null
}

setup() {
    local t0; t0=$(now)
    start_bus || return 1
    # The binaries come over the VM's shared root filesystem: read them once, so that the
    # emulator's first answers (HCI Reset within the kernel's 2 s) do not wait for that.
    cat /usr/bin/btvirt /usr/bin/btmgmt "$BLUETOOTHD" "$BIN" >/dev/null
    modprobe bluetooth
    # A small ATT MTU: BlueZ would otherwise exchange 517, and a 512-byte value would fit one
    # PDU. 48 is the smallest bluetoothd accepts (its L2CAP listeners refuse less). One bearer
    # (no EATT channels, whose MTU is their own).
    printf '[GATT]\nExchangeMTU = 48\nChannels = 1\n' >"$W/main.conf"
    local n
    for n in 1 2 3 4; do
        if controllers_try "$n"; then
            AIR_PIDS+=("${CTRL_PIDS[@]}")
            echo "lab: two powered controllers after $n attempt(s), $(since "$t0") s"
            return 0
        fi
        controllers_down
    done
    fail "$S/setup" "no two powered controllers after 4 attempts: $(oneline "$(tail -n 5 "$W"/bluetoothd-4.log 2>/dev/null)")"
    return 1
}

# device_up CASE ARGS...: the agent on hci0 (simulated Wi-Fi), advertising $NAME.
device_up() {
    local c=$1; shift
    bg "device-$c" "$BIN" device --transport ble --ble-adapter hci0 --service-name "$NAME" \
        --wifi sim --state-dir "$W/state-$c" "$@" -v
    DEVICE_PID=${LAB_PIDS[-1]}
    wait_for 30 grep -q "BLE GATT service registered" "$W/device-$c.log" \
        || { fail "$S/$c" "the agent did not register its GATT service: $(oneline "$(tail -n 5 "$W/device-$c.log")")"; return 1; }
}

device_down() {
    local keep=("${AIR_PIDS[@]}") p
    for p in "${LAB_PIDS[@]}"; do
        case " ${keep[*]} " in *" $p "*) ;; *) kill "$p" 2>/dev/null; wait "$p" 2>/dev/null ;; esac
    done
    LAB_PIDS=("${keep[@]}")
}

# provision LOGNAME ARGS...: the client on hci1; sets PROV_RC and PROV_OUT.
provision() {
    local log=$1; shift
    PROV_OUT=$(timeout 150 "$BIN" provision --transport ble --ble-adapter hci1 --service-name "$NAME" "$@" 2>&1)
    PROV_RC=$?
    printf '%s\n' "$PROV_OUT" >"$W/$log.log"
}

# The peripheral as hci1 sees it: its object path (from the address of hci0).
peer_path() {
    local a; a=$(dbus_get /org/bluez/hci0 org.bluez.Adapter1 Address | tr -d '"' | tr : _)
    echo "/org/bluez/hci1/dev_$a"
}
peer_disconnected() { [ "$(dbus_get "$(peer_path)" org.bluez.Device1 Connected)" != true ]; }

# What BlueZ says about advertising, for a failed case.
adv_state() {
    echo "lab: hci0: $(timeout 5 btmgmt --index 0 info 2>&1 | grep 'current settings' | tr -s '\t ' ' ')"
    echo "lab: hci0 advertising instances: $(dbus_get /org/bluez/hci0 org.bluez.LEAdvertisingManager1 ActiveInstances); $(timeout 5 btmgmt --index 0 advinfo 2>&1 | tr -s "\n\t " " ")"
    grep -hE 'advertis|Advertis|adv_' "$W"/bluetoothd-*.log | tail -n 12 | sed 's/^/lab:   /'
}

# finish CASE T0 WHY: the verdict, the time, and the agent stopped.
finish() {
    [ -n "$3" ] && adv_state
    [ -z "$3" ] && pass "$S/$1" || fail "$S/$1" "$3"
    echo "TIME $S/$1 $(since "$2") s"
    device_down
    wait_for 20 peer_disconnected || echo "lab: hci1 still connected to the device after $S/$1"
}

# Provisioned to Connected: exit 0, the agent reports the join and stops (auto-stop).
check_joined() {
    local why=""
    [ "$PROV_RC" = 0 ] || why="provision exit $PROV_RC (want 0): $(oneline "$PROV_OUT")"
    if [ -z "$why" ]; then
        printf '%s' "$PROV_OUT" | grep -q "^Provisioned: " || why="the client does not report the join: $(oneline "$PROV_OUT")"
    fi
    if [ -z "$why" ]; then
        wait_for 20 sh -c "! kill -0 $DEVICE_PID" || why="the agent still runs 20 s after the join"
    fi
    printf '%s' "$why"
}

case_discover_by_name() {
    local c=discover_by_name t0; t0=$(now)
    device_up "$c" --security 1 --pop "$POP" || { device_down; return; }
    provision "provision-$c" --sec-ver 1 --pop "$POP" --ssid HomeNet --passphrase correct-horse
    local why; why=$(check_joined)
    if [ -z "$why" ]; then
        # The device hci1 saw carries the advertised name, also after connecting (GAP name).
        local n; n=$(dbus_get "$(peer_path)" org.bluez.Device1 Name)
        [ "$n" = "\"$NAME\"" ] || [ "$n" = "$NAME" ] || why="hci1 names the device $n, not $NAME"
    fi
    finish "$c" "$t0" "$why"
}

case_sec1() {
    local c=sec1 t0; t0=$(now)
    device_up "$c" --security 1 --pop "$POP" || { device_down; return; }
    provision "provision-$c" --sec-ver 1 --pop "$POP" --ssid MeshNet --passphrase battery-staple
    local why; why=$(check_joined)
    if [ -z "$why" ]; then
        printf '%s' "$PROV_OUT" | grep -q "security 1" || why="no security 1 session: $(oneline "$PROV_OUT")"
    fi
    finish "$c" "$t0" "$why"
}

case_sec2() {
    local c=sec2 t0; t0=$(now)
    device_up "$c" --security 2 --sec2-username "$SEC2_USER" --sec2-password "$SEC2_PW" || { device_down; return; }
    provision "provision-$c" --sec-ver 2 --sec2-username "$SEC2_USER" --sec2-password "$SEC2_PW" \
        --ssid HomeNet --passphrase correct-horse
    local why; why=$(check_joined)
    if [ -z "$why" ]; then
        printf '%s' "$PROV_OUT" | grep -q "security 2" || why="no security 2 session: $(oneline "$PROV_OUT")"
    fi
    finish "$c" "$t0" "$why"
}

# Values far beyond one ATT PDU at the default MTU (23; the emulator's links reach 48 at
# most): a 32-byte SSID with a 63-byte passphrase, and 400 bytes of custom data echoed back
# by a custom endpoint (long write out, long read back).
case_long_write() {
    local c=long_write t0; t0=$(now)
    local ssid=LabNetwork-with-a-32-byte-SSID-x
    local pass=abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ-012345678
    local data; data=$(printf 'custom-data-%04d;' $(seq 1 24) | cut -c1-400)
    device_up "$c" --security 1 --pop "$POP" --sim-ap "$ssid:$pass" --endpoint "custom-data=cat" \
        || { device_down; return; }
    local preps0; preps0=$(cat "$W"/bluetoothd-*.log | grep -c "Prep Write Req")
    provision "provision-$c" --sec-ver 1 --pop "$POP" --ssid "$ssid" --passphrase "$pass" --custom-data "$data"
    local why; why=$(check_joined)
    # bluetoothd (-d) on the device's side logs every Prepare Write it serves.
    local preps=$(( $(cat "$W"/bluetoothd-*.log | grep -c "Prep Write Req") - preps0 ))
    echo "lab: $S/$c: $preps Prepare Write requests; $(grep -ho 'MTU exchange complete, with MTU: [0-9]*' "$W"/bluetoothd-*.log | sort | uniq -c | tr -s '\n ' ' ')"
    if [ -z "$why" ] && [ "$preps" -lt 2 ]; then
        why="bluetoothd served $preps Prepare Write requests (want long writes)"
    fi
    if [ -z "$why" ]; then
        printf '%s' "$PROV_OUT" | grep -qF "$data" || why="the 400-byte custom data did not come back: $(oneline "$PROV_OUT")"
    fi
    if [ -z "$why" ]; then
        grep -qF "$ssid" "$W/state-$c/credentials.json" 2>/dev/null \
            || why="the stored credentials lack the 32-byte SSID"
    fi
    finish "$c" "$t0" "$why"
}

# A client killed after its session is set up, then one with a wrong PoP; then a correct
# client must still provision.
case_disconnect() {
    local c=disconnect t0; t0=$(now)
    device_up "$c" --security 1 --pop "$POP" || { device_down; return; }
    local why=""
    # The first client runs on a terminal without --passphrase: after the session it waits
    # for the passphrase prompt, and is killed there.
    bg "killed-$c" script -qfec "exec $BIN provision --transport ble --ble-adapter hci1 --service-name $NAME --sec-ver 1 --pop $POP --ssid HomeNet" /dev/null
    local script_pid=${LAB_PIDS[-1]} client_pid=""
    if wait_for 90 grep -q "Session established" "$W/killed-$c.log"; then
        client_pid=$(pgrep -P "$script_pid" | head -n1)
        [ -n "$client_pid" ] && kill -9 "$client_pid"
        wait "$script_pid" 2>/dev/null
    else
        why="the first client did not set up a session: $(oneline "$(cat "$W/killed-$c.log")")"
    fi
    if [ -z "$why" ]; then
        provision "wrong-$c" --sec-ver 1 --pop wrong-pop-0000 --ssid HomeNet --passphrase correct-horse
        [ "$PROV_RC" = 4 ] && printf '%s' "$PROV_OUT" | grep -q "authentication failed" \
            || why="the wrong-PoP client exited $PROV_RC (want 4, authentication failed): $(oneline "$PROV_OUT")"
    fi
    if [ -z "$why" ]; then
        provision "provision-$c" --sec-ver 1 --pop "$POP" --ssid HomeNet --passphrase correct-horse
        if [ "$PROV_RC" = 3 ]; then
            # The emulated link at times answers a third central's first request with nothing
            # (lab/README.md, known issues); a person would run the command again.
            echo "lab: $S/$c: the third client was not answered (exit 3); running it once more"
            provision "provision-$c-again" --sec-ver 1 --pop "$POP" --ssid HomeNet --passphrase correct-horse
        fi
        why=$(check_joined)
    fi
    finish "$c" "$t0" "$why"
}

# fresh_controllers CASE: new controllers and bluetoothd for the next case. A second agent
# advertising on the same emulated controller was at times never seen by the other one (see
# lab/README.md); the first agent on new controllers always was, and every case here is about
# one agent.
fresh_controllers() {
    local keep=() p n
    for p in "${AIR_PIDS[@]}"; do
        case " ${CTRL_PIDS[*]} " in *" $p "*) ;; *) keep+=("$p") ;; esac
    done
    AIR_PIDS=("${keep[@]}")
    controllers_down
    for n in 1 2 3 4; do
        if controllers_try "$1-$n"; then
            AIR_PIDS+=("${CTRL_PIDS[@]}")
            return 0
        fi
        controllers_down
    done
    fail "$S/$1" "no two powered controllers after 4 attempts"
    return 1
}

# Sourced by another scenario for its helpers only (improv_ble.sh).
[ -n "${BLE_LIB_ONLY:-}" ] && return 0

if setup; then
    case_discover_by_name
    fresh_controllers sec1 && case_sec1
    fresh_controllers sec2 && case_sec2
    fresh_controllers long_write && case_long_write
    fresh_controllers disconnect && case_disconnect
fi
stop_all
modprobe -r hci_vhci 2>/dev/null
exit 0
