#!/bin/sh
# Runs NetworkManager on a private "system" D-Bus, for the NetworkManager backend tests.
#
# Usage (as root):
#   unshare --mount --net --propagation private --kill-child=TERM -- sh nm-netns.sh DIR
#
# Must run in fresh mount and network namespaces (the unshare above): /run and
# /var/lib/NetworkManager become private tmpfs mounts and sysfs is remounted for the new
# network namespace, which holds only a loopback interface (no Wi-Fi device). Nothing of
# the host is touched: NetworkManager's profiles go to DIR/system-connections, its state to
# DIR/state, it is told not to manage DNS or the hostname, and it reaches no host daemon.
#
# The bus listens on /run/dbus/system_bus_socket (where NetworkManager looks, inside the
# namespace) and on DIR/bus (for the test, outside it). dbus-daemon's and NetworkManager's
# process ids go to DIR/dbus.pid and DIR/nm.pid, their output to DIR/dbus.log and
# DIR/nm.log. The script stays in the foreground; SIGTERM (sent by unshare --kill-child when
# unshare dies, or directly) stops both daemons, waits for them and exits.
set -eu

D=${1:?usage: nm-netns.sh DIR}
mkdir -p "$D/system-connections" "$D/state" "$D/conf.d"
chmod 700 "$D/system-connections"

cat >"$D/system-bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- test-only "system" bus inside a private mount namespace -->
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <listen>unix:path=$D/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF

cat >"$D/NetworkManager.conf" <<EOF
[main]
plugins=keyfile
auth-polkit=false
dhcp=internal
no-auto-default=*
dns=none
rc-manager=unmanaged
hostname-mode=none
[keyfile]
path=$D/system-connections
[logging]
level=INFO
EOF

mount -t tmpfs tmpfs /run
mkdir -p /run/dbus /run/NetworkManager
mount -t tmpfs tmpfs /var/lib/NetworkManager
mount -t sysfs sysfs /sys
ip link set lo up 2>/dev/null || true

dbus=
nm=
stop() {
    [ -n "$nm" ] && kill -TERM "$nm" 2>/dev/null
    [ -n "$dbus" ] && kill -TERM "$dbus" 2>/dev/null
    wait
    exit 0
}
trap stop TERM INT HUP

dbus-daemon --config-file="$D/system-bus.conf" --nofork >"$D/dbus.log" 2>&1 &
dbus=$!
echo "$dbus" >"$D/dbus.pid"
i=0
while [ ! -S "$D/bus" ] && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
done

NetworkManager --no-daemon --debug \
    --config="$D/NetworkManager.conf" \
    --config-dir="$D/conf.d" \
    --system-config-dir="$D/conf.d" \
    --state-file="$D/state/NetworkManager.state" \
    --pid-file=/run/NetworkManager/NetworkManager.pid >"$D/nm.log" 2>&1 &
nm=$!
echo "$nm" >"$D/nm.pid"

wait
