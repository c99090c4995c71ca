# guest-lib.sh - POSIX sh helpers for the scenario scripts (runs in the guest:
# busybox sh in the initramfs guest, bash in the systemd guest).
# The job dir (/job) holds: run.sh (the scenario), lib.sh (this file),
# bin/lvm and bin/lvmetad (this project's fresh release binaries), units/,
# rules.d/.  RESULTS=/results is brought back to the host.
# No `local` (busybox sh): helper variables use a gl_ prefix.

OURS=/job/bin/lvm
: "${RESULTS:=/results}"
GL_FAILS=0
mkdir -p "$RESULTS"

# this project's lvm gets its own config dir; Debian's lvm2 keeps /etc/lvm
OURS_ETC=/run/ours-etc
mkdir -p "$OURS_ETC"
[ -f "$OURS_ETC/lvm.conf" ] || printf 'global {\n    use_lvmetad = 0\n}\n' >"$OURS_ETC/lvm.conf"
ours() { LVM_SYSTEM_DIR="$OURS_ETC" "$OURS" "$@"; }

up() { cut -d' ' -f1 /proc/uptime; }
note() { echo "NOTE [$(up)] $*"; }

# check NAME CMD...: run CMD, record PASS/FAIL
check() {
    gl_name="$1"; shift
    if "$@" >"$RESULTS/check.out" 2>&1; then
        echo "CHECK $gl_name PASS [$(up)]"
    else
        echo "CHECK $gl_name FAIL [$(up)]: $*"
        sed 's/^/    | /' "$RESULTS/check.out" | tail -n 30
        GL_FAILS=$((GL_FAILS + 1))
    fi
}
fail() { echo "CHECK $1 FAIL [$(up)]: $2"; GL_FAILS=$((GL_FAILS + 1)); }
pass() { echo "CHECK $1 PASS [$(up)]"; }

# run CMD...: log and run a command, output to the console; returns its rc
run() {
    echo "+ $*"
    "$@"
    gl_rc=$?
    [ "$gl_rc" = 0 ] || echo "  (rc=$gl_rc)"
    return "$gl_rc"
}

# dev N: the /dev node of scratch disk dN (vdX letters shift: use the serial)
dev() { readlink -f "/dev/disk/by-id/virtio-$1"; }

# wait_sync VG/LV [timeout-s]: wait until lvm2 says the raid LV is 100% synced
wait_sync() {
    gl_t=0
    while :; do
        gl_p="$(lvm lvs --noheadings -o sync_percent "$1" 2>/dev/null | tr -d ' ')"
        case "$gl_p" in 100.00|100) return 0 ;; esac
        [ "$gl_t" -ge "${2:-300}" ] && { echo "wait_sync $1: still $gl_p after ${2:-300}s"; return 1; }
        sleep 1; gl_t=$((gl_t + 1))
    done
}

# install_dbus_policy: let lvmetad own org.lvm.Lvmetad1 on the system bus
# (systemd guest; run-all ships the project's dbus/ as /job/dbus)
install_dbus_policy() {
    install -D -m 0644 /job/dbus/org.lvm.Lvmetad1.conf /etc/dbus-1/system.d/org.lvm.Lvmetad1.conf
    systemctl reload dbus.service 2>/dev/null || systemctl reload dbus-broker.service
}

# mapdisks: stdin to stdout with the words /tmp/diskmap names (a device
# number or /dev/vdX, optionally followed by "(N)") replaced by its
# label, and any other MAJ:MIN by DEV (twin-VG comparisons)
mapdisks() {
    awk 'NR==FNR{m[$1]=$2;next}
        { for(i=1;i<=NF;i++){ w=$i; sub(/\([0-9]+\)$/,"",w); if(w in m){ $i=m[w] substr($i,length(w)+1) }
              else if($i ~ /^[0-9]+:[0-9]+$/) $i="DEV" } print }' /tmp/diskmap -
}

# host JSON: ask the host to send a QMP command
host() { echo "@@QMP $*" >/dev/ttyS0 2>/dev/null || echo "@@QMP $*" >/dev/console; }

# finish: exit status of the scenario
finish() {
    if [ "$GL_FAILS" = 0 ]; then echo "SCENARIO PASS"; exit 0; fi
    echo "SCENARIO FAIL ($GL_FAILS failed checks)"; exit 1
}
