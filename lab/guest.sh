#!/usr/bin/env bash
# Runs inside the lab VM (see run.sh): each named scenario in its own subshell, timed.
# The host's root filesystem is read-only here with writable overlays; /tmp is the guest's own.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LAB_DIR=$here
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export WIFIPROV_BIN
echo "lab-guest: kernel $(uname -r), $(nproc) cpus"
for s in "$@"; do
    export LAB_WORK=/tmp/lab-$s
    rm -rf "$LAB_WORK"; mkdir -p "$LAB_WORK"
    t0=$(date +%s.%N)
    echo "lab-guest: scenario $s"
    bash -c '. "$LAB_DIR/lib.sh"; . "$LAB_DIR/scenarios/$1.sh"' lab-"$s" "$s"
    rc=$?
    t1=$(date +%s.%N)
    [ $rc = 0 ] || echo "FAIL $s: the scenario script itself exited $rc"
    printf 'TIME %s %.1f s\n' "$s" "$(echo "$t1 - $t0" | bc 2>/dev/null || awk "BEGIN{print $t1-$t0}")"
done
echo "lab-guest: finished"
