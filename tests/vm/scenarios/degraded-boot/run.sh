#!/bin/bash
# Issue 6 scenario 6 (systemd guest): 3 of the 4 disks of a VG with raid5
# and raid1 LVs appear; after lvmetad's (here 5 s) degraded timeout
# lvm-activate-degraded@VG.service activates the RAID LVs degraded; the
# data reads back; when the 4th disk returns, lvmetad starts
# lvm-activate@VG.service, whose vgchange reloads (refreshes) the arrays
# with the returned images, and they resync.
. ./lib.sh
VG=vgdeg
T=/usr/local/lib/lvmetad-test
E=/etc/lvmetad-test
L=/run/lvmetad-test
LVS="lin r1 r5"

ln -sf /dev/null /etc/udev/rules.d/69-lvm.rules
systemctl mask --now lvm2-monitor.service lvm2-lvmpolld.socket lvm2-lvmpolld.service \
    dm-event.socket dm-event.service >/dev/null 2>&1
udevadm control --reload

plug() { host "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-blk-pci\",\"drive\":\"hot$1\",\"id\":\"hot$1\",\"serial\":\"hot$1\"}}"; }
unplug() { host "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"hot$1\"}}"; }
present() { for b in /sys/block/vd*; do [ "$(cat "$b/serial" 2>/dev/null)" = "hot$1" ] && return 0; done; return 1; }
wait_present() { n=0; while ! present "$1"; do sleep 0.05; n=$((n+1)); [ $n -ge 600 ] && return 1; done; return 0; }
wait_absent() { n=0; while present "$1"; do sleep 0.2; n=$((n+1)); [ $n -ge 150 ] && return 1; done; return 0; }
all_active() { for lv in $LVS; do [ -b "/dev/$VG/$lv" ] || return 1; done; return 0; }
wait_active() { n=0; while ! all_active; do sleep 0.1; n=$((n+1)); [ $n -ge "${1:-600}" ] && return 1; done; return 0; }
# no error mapping of a missing PV left in the VG, no dead (D) image
r5_whole() {
    ! dmsetup ls | grep -q "^$VG-.*missing" && ! dmsetup status "$VG-r5" | grep -q " [A-Da-d]*D[A-Da-d]* " &&
    ! dmsetup status "$VG-r1" | grep -q " [A-Da-d]*D[A-Da-d]* "
}
degraded() { dmsetup ls | grep -q "^$VG-r5_.*missing" && dmsetup status "$VG-r5" | grep -q " [Aa]*D[Aa]* "; }
wait_whole() { n=0; while ! r5_whole; do sleep 0.2; n=$((n+1)); [ $n -ge 300 ] && return 1; done; return 0; }
readback() {
    for lv in $LVS; do
        got="$(dd if="/dev/$VG/$lv" bs=1M count=4 2>/dev/null | sha256sum | cut -d' ' -f1)"
        if [ "$got" = "$(cat "/tmp/$lv.sum")" ]; then pass "readback-$1-$lv"
        else fail "readback-$1-$lv" "sha256 $got != $(cat "/tmp/$lv.sum")"; fi
    done
}

for i in 0 1 2 3; do plug $i; check "plug-hot$i" wait_present $i; done
udevadm settle
DEVS=""; for i in 0 1 2 3; do DEVS="$DEVS $(dev hot$i)"; done
check ours-pvcreate run ours pvcreate $DEVS
check ours-vgcreate run ours vgcreate "$VG" $DEVS
check lvcreate-lin run ours lvcreate -n lin -L 8m "$VG" "$(dev hot0)"
check lvcreate-r1 run ours lvcreate --type raid1 -m 1 -n r1 -L 8m "$VG" "$(dev hot2)" "$(dev hot3)"
check lvcreate-r5 run ours lvcreate --type raid5 -i 3 -n r5 -L 12m "$VG"
check ours-vgchange-ay run ours vgchange -ay "$VG"
for lv in r1 r5; do check "sync-$lv" wait_sync "$VG/$lv" 120; done
for lv in $LVS; do
    dd if=/dev/urandom of="/tmp/$lv.dat" bs=1M count=4 2>/dev/null
    sha256sum <"/tmp/$lv.dat" | cut -d' ' -f1 >"/tmp/$lv.sum"
    check "write-$lv" dd if="/tmp/$lv.dat" of="/dev/$VG/$lv" bs=1M conv=fsync
done
for lv in r1 r5; do wait_sync "$VG/$lv" 120 >/dev/null; done
check ours-vgchange-an run ours vgchange -an "$VG"
for i in 0 1 2 3; do unplug $i; check "unplug-hot$i" wait_absent $i; done
udevadm settle

install -D -m 0755 /job/bin/lvm "$T/lvm"
install -D -m 0755 /job/bin/lvmetad "$T/lvmetad"
mkdir -p "$E" "$L"
printf 'global {\n    use_lvmetad = 1\n}\nlvmetad {\n    degraded_activation_timeout = 5\n}\n' >"$E/lvm.conf"
cat >/usr/local/sbin/lvm-lvmetad-test <<EOW
#!/bin/sh
LVM_SYSTEM_DIR=$E $T/lvm "\$@" >>$L/run.out 2>&1
rc=\$?
echo "\$(cut -d' ' -f1 /proc/uptime) rc=\$rc lvm \$*" >>$L/run.log
exit \$rc
EOW
chmod 0755 /usr/local/sbin/lvm-lvmetad-test
sed "s#^ExecStart=/usr/sbin/lvmetad#ExecStart=$T/lvmetad#" /job/units/lvmetad.service \
    >/etc/systemd/system/lvmetad.service
cp /job/units/lvmetad.socket /etc/systemd/system/lvmetad.socket
for u in lvm-activate@.service lvm-activate-degraded@.service; do
    sed "s#/usr/sbin/lvm #/usr/local/sbin/lvm-lvmetad-test #" "/job/units/$u" >"/etc/systemd/system/$u"
done
mkdir -p /etc/systemd/system/lvmetad.service.d
printf '[Service]\nEnvironment=LVM_SYSTEM_DIR=%s\n' "$E" >/etc/systemd/system/lvmetad.service.d/test.conf
sed "s#/usr/sbin/lvm #/usr/local/sbin/lvm-lvmetad-test #g" /job/rules.d/69-lvmetad.rules \
    >/etc/udev/rules.d/69-lvmetad.rules
systemctl daemon-reload
check socket-start run systemctl start lvmetad.socket
udevadm control --reload

# --- 3 of 4 disks: degraded activation after the timeout --------------------
for i in 0 1 2; do plug $i; check "replug-hot$i" wait_present $i; done
t0=$(up)
check degraded-active wait_active 600
note "degraded activation $(awk "BEGIN{printf \"%.2f\", $(up) - $t0}") s after the 3rd disk"
cat "$L/run.log"; cat "$L/run.out"
check degraded-unit-ran grep -q "rc=0 lvm vgchange -aay --activationmode degraded --autoactivation event $VG" "$L/run.log"
check normal-unit-not-ok sh -c "! grep -q 'rc=0 lvm vgchange -aay --autoactivation event $VG' $L/run.log"
dmsetup table | grep "$VG-r"
dmsetup status | grep "$VG-r"
check r5-degraded degraded
readback degraded
LVM_SYSTEM_DIR=$E $T/lvm lvs -o lv_name,lv_attr,sync_percent,lv_health_status "$VG"

# Until now lvmetad had no bus name (no policy): the degraded unit was started
# through systemd's private socket, whose messages name their sender
# org.freedesktop.systemd1. With the policy, it joins the bus (retry <= 5 s)
# and the next start goes over the bus.
check degraded-via-private-socket sh -c "journalctl -u lvmetad.service --no-pager | grep -q 'started lvm-activate-degraded@$VG.service (systemd.s private socket)'"
check dbus-policy install_dbus_policy
on_bus() { journalctl -u lvmetad.service --no-pager | grep -q "serving org.lvm.Lvmetad1"; }
wait_on_bus() { n=0; while ! on_bus; do sleep 0.5; n=$((n+1)); [ $n -ge 60 ] && return 1; done; return 0; }
check lvmetad-joins-bus wait_on_bus

# --- the 4th disk returns: refreshed, resynced --------------------------------
plug 3; check replug-hot3 wait_present 3
check r5-refreshed wait_whole
cat "$L/run.log"
dmsetup table | grep "$VG-r"
for lv in r1 r5; do check "resync-$lv" wait_sync "$VG/$lv" 120; done
check healthy-r5 sh -c "dmsetup status $VG-r5 | grep -q ' AAAA '"
check healthy-r1 sh -c "dmsetup status $VG-r1 | grep -q ' AA '"
check no-refresh-needed sh -c "! LVM_SYSTEM_DIR=$E $T/lvm lvs --noheadings -o lv_health_status $VG | grep -q '[a-z]'"
n=0; while ! grep -q "rc=0 lvm vgchange -aay --autoactivation event $VG" "$L/run.log" && [ $n -lt 100 ]; do sleep 0.2; n=$((n+1)); done
check activate-unit-after-return grep -q "rc=0 lvm vgchange -aay --autoactivation event $VG" "$L/run.log"
dmsetup status | grep "$VG-r"
readback whole
LVM_SYSTEM_DIR=$E $T/lvm lvs -o lv_name,lv_attr,sync_percent,raid_sync_action,lv_health_status "$VG" | tee "$RESULTS/lvs-end.txt"
check no-startunit-error sh -c "journalctl -u lvmetad.service --no-pager | grep 'started lvm-activate' && ! journalctl -u lvmetad.service --no-pager | grep -E 'StartUnit|not starting'"
journalctl -u lvmetad.service -u "lvm-activate@$VG.service" -u "lvm-activate-degraded@$VG.service" --no-pager >"$RESULTS/journal.txt" 2>&1
finish
