#!/bin/bash
# Issue 6 scenario 1 (systemd guest): 4 disks holding a VG appear (hotplug
# after the project's units are installed, as at boot): udev -> pvscan
# --cache -> socket-activated lvmetad -> VolumeGroupComplete ->
# lvm-activate@VG.service (this project's vgchange -aay --autoactivation
# event) -> every LV active and readable with its data.
# Then the benchmark: time from the last PV's appearance to every LV active,
# ours vs Debian lvm2 2.03's own event activation on the same disks.
. ./lib.sh
VG=vgboot
T=/usr/local/lib/lvmetad-test     # this project's binaries
E=/etc/lvmetad-test               # this project's LVM_SYSTEM_DIR
L=/run/lvmetad-test               # what the wrappers record
LVS="lin str r1 r5 r10"

# --- Debian's lvm2 event activation out of the way (restored for the bench) --
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
wait_active() { n=0; while ! all_active; do sleep 0.05; n=$((n+1)); [ $n -ge "${1:-1200}" ] && return 1; done; return 0; }

# --- a VG with data, made by this project's lvm ------------------------------
for i in 0 1 2 3; do plug $i; check "plug-hot$i" wait_present $i; done
udevadm settle
DEVS=""; for i in 0 1 2 3; do DEVS="$DEVS $(dev hot$i)"; done
note "hot disks:$DEVS"
check ours-pvcreate run ours pvcreate $DEVS
check ours-vgcreate run ours vgcreate "$VG" $DEVS
check lvcreate-lin run ours lvcreate -n lin -L 8m "$VG"
check lvcreate-str run ours lvcreate -n str -i 4 -L 8m "$VG"
check lvcreate-r1 run ours lvcreate --type raid1 -m 1 -n r1 -L 8m "$VG"
check lvcreate-r5 run ours lvcreate --type raid5 -i 3 -n r5 -L 12m "$VG"
check lvcreate-r10 run ours lvcreate --type raid10 -i 2 -m 1 -n r10 -L 8m "$VG"
check ours-vgchange-ay-udev run ours vgchange -ay "$VG"
check links-by-udev all_active
for lv in r1 r5 r10; do check "sync-$lv" wait_sync "$VG/$lv" 120; done
for lv in $LVS; do
    dd if=/dev/urandom of="/tmp/$lv.dat" bs=1M count=4 2>/dev/null
    sha256sum <"/tmp/$lv.dat" | cut -d' ' -f1 >"/tmp/$lv.sum"
    check "write-$lv" dd if="/tmp/$lv.dat" of="/dev/$VG/$lv" bs=1M conv=fsync
done
for lv in r1 r5 r10; do wait_sync "$VG/$lv" 120 >/dev/null; done
check ours-vgchange-an run ours vgchange -an "$VG"
check links-gone test ! -e "/dev/$VG"
for i in 0 1 2 3; do unplug $i; check "unplug-hot$i" wait_absent $i; done
udevadm settle

# --- this project's units, udev rule and config ------------------------------
install -D -m 0755 /job/bin/lvm "$T/lvm"
install -D -m 0755 /job/bin/lvmetad "$T/lvmetad"
mkdir -p "$E" "$L"
printf 'global {\n    use_lvmetad = 1\n}\n' >"$E/lvm.conf"
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
check dbus-policy install_dbus_policy
systemctl daemon-reload
check socket-start run systemctl start lvmetad.socket
udevadm control --reload

# --- the disks appear: event activation ------------------------------------
for i in 0 1 2 3; do plug $i; check "replug-hot$i" wait_present $i; done
t_last=$(up)
if wait_active 1200; then t_done=$(up); pass all-lvs-active-ours
else t_done=""; fail all-lvs-active-ours "not every /dev/$VG/LV after 60 s"; ls -l "/dev/$VG" /dev/mapper; fi
udevadm settle
echo "--- wrapper calls:"; cat "$L/run.log"; cat "$L/run.out"
cp "$L/run.log" "$L/run.out" "$RESULTS/" 2>/dev/null
check lvmetad-socket-activated systemctl is-active lvmetad.service
check activate-unit-ran grep -q "rc=0 lvm vgchange -aay --autoactivation event $VG" "$L/run.log"
check unit-result sh -c "systemctl show -p Result lvm-activate@$VG.service | grep -q Result=success"
for lv in $LVS; do
    got="$(dd if="/dev/$VG/$lv" bs=1M count=4 2>/dev/null | sha256sum | cut -d' ' -f1)"
    if [ "$got" = "$(cat "/tmp/$lv.sum")" ]; then pass "readback-$lv"
    else fail "readback-$lv" "sha256 $got != $(cat "/tmp/$lv.sum")"; fi
done
LVM_SYSTEM_DIR=$E $T/lvm lvs -o lv_name,lv_attr,sync_percent,raid_sync_action,lv_health_status "$VG" | tee "$RESULTS/lvs-ours.txt"
check lvs-ours-active sh -c "[ \$(LVM_SYSTEM_DIR=$E $T/lvm lvs --noheadings -o lv_attr $VG | awk 'substr(\$1,5,1)==\"a\"' | wc -l) = 5 ]"
journalctl -u lvmetad.service -u "lvm-activate@$VG.service" --no-pager >"$RESULTS/journal-activation.txt" 2>&1
[ -n "$t_done" ] && echo "BENCH ours last-PV-to-all-active $(awk "BEGIN{printf \"%.2f\", $t_done - $t_last}") s" | tee "$RESULTS/bench-ours.txt"

# --- benchmark: Debian lvm2's own event activation on the same disks --------
check ours-vgchange-an-2 run env LVM_SYSTEM_DIR=$E $T/lvm vgchange -an "$VG"
for i in 0 1 2 3; do unplug $i; wait_absent $i; done
udevadm settle
systemctl stop lvmetad.service lvmetad.socket
rm -f /etc/udev/rules.d/69-lvmetad.rules /etc/udev/rules.d/69-lvm.rules
rm -rf /run/lvm/pvs_online /run/lvm/vgs_online
udevadm control --reload
for i in 0 1 2 3; do plug $i; wait_present $i; done
t_last=$(up)
if wait_active 1200; then t_done=$(up); pass all-lvs-active-lvm2
    echo "BENCH lvm2 last-PV-to-all-active $(awk "BEGIN{printf \"%.2f\", $t_done - $t_last}") s" | tee "$RESULTS/bench-lvm2.txt"
else fail all-lvs-active-lvm2 "lvm2 event activation did not activate every LV in 60 s"; fi
lvm lvs -o lv_name,lv_attr "$VG"
journalctl --no-pager | grep -i "lvm-activate\|pvscan" | tail -n 20 >"$RESULTS/journal-lvm2.txt"
finish
