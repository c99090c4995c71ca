#!/bin/sh
# systemd guest: this project's udev rule and socket-activated lvmetad
# (instead of Debian's lvm2 event activation) see 4 hotplugged PVs of a VG,
# and this project's lvm, through the daemon, reports the VG complete; the
# daemon, on the system bus with the project's policy, announces it and
# has systemd start lvm-activate@vghot.service, which runs our lvm.
. ./lib.sh
VG=vghot
T=/usr/local/lib/lvmetad-test     # this project's binaries
E=/etc/lvmetad-test               # this project's LVM_SYSTEM_DIR
L=/run/lvmetad-test               # what the udev wrapper records

# --- 1. Debian's lvm2 event activation out of the way -------------------------
ln -sf /dev/null /etc/udev/rules.d/69-lvm.rules
systemctl mask --now lvm2-monitor.service lvm2-lvmpolld.socket lvm2-lvmpolld.service \
    dm-event.socket dm-event.service >/dev/null 2>&1
udevadm control --reload

plug() { host "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-blk-pci\",\"drive\":\"hot$1\",\"id\":\"hot$1\",\"serial\":\"hot$1\"}}"; }
unplug() { host "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"hot$1\"}}"; }
present() { for b in /sys/block/vd*; do [ "$(cat "$b/serial" 2>/dev/null)" = "hot$1" ] && return 0; done; return 1; }
wait_present() { n=0; while ! present "$1"; do sleep 0.2; n=$((n+1)); [ $n -ge 150 ] && return 1; done; return 0; }
wait_absent() { n=0; while present "$1"; do sleep 0.2; n=$((n+1)); [ $n -ge 150 ] && return 1; done; return 0; }

# --- 2. plug 4 disks, make a VG on them with this project's lvm, unplug -------
for i in 0 1 2 3; do plug $i; check "plug-hot$i" wait_present $i; done
udevadm settle
DEVS=""; for i in 0 1 2 3; do DEVS="$DEVS $(dev hot$i)"; done
note "hot disks:$DEVS"
# shellcheck disable=SC2086
check ours-pvcreate run ours pvcreate $DEVS
# shellcheck disable=SC2086
check ours-vgcreate run ours vgcreate "$VG" $DEVS
check ours-lvcreate run ours lvcreate -n data -i 4 -L 32m "$VG"
for i in 0 1 2 3; do unplug $i; check "unplug-hot$i" wait_absent $i; done
udevadm settle

# --- 3. install this project's units, udev rule and config -------------------
install -D -m 0755 /job/bin/lvm "$T/lvm"
install -D -m 0755 /job/bin/lvmetad "$T/lvmetad"
mkdir -p "$E" "$L"
printf 'global {\n    use_lvmetad = 1\n}\n' >"$E/lvm.conf"
# udev's RUN gets no environment of ours: a wrapper sets LVM_SYSTEM_DIR and
# records every call with its exit status
cat >/usr/local/sbin/lvm-lvmetad-test <<EOW
#!/bin/sh
LVM_SYSTEM_DIR=$E $T/lvm "\$@" >>$L/udev-run.out 2>&1
rc=\$?
echo "\$(cut -d' ' -f1 /proc/uptime) rc=\$rc lvm \$*" >>$L/udev-run.log
exit \$rc
EOW
chmod 0755 /usr/local/sbin/lvm-lvmetad-test
sed "s#^ExecStart=/usr/sbin/lvmetad#ExecStart=$T/lvmetad#" /job/units/lvmetad.service \
    >/etc/systemd/system/lvmetad.service
cp /job/units/lvmetad.socket /etc/systemd/system/lvmetad.socket
mkdir -p /etc/systemd/system/lvmetad.service.d
printf '[Service]\nEnvironment=LVM_SYSTEM_DIR=%s\n' "$E" >/etc/systemd/system/lvmetad.service.d/test.conf
sed "s#/usr/sbin/lvm #/usr/local/sbin/lvm-lvmetad-test #g" /job/rules.d/69-lvmetad.rules \
    >/etc/udev/rules.d/69-lvmetad.rules
grep -n RUN /etc/udev/rules.d/69-lvmetad.rules
# the D-Bus policy, and the activation unit running our lvm (the wrapper
# records the call: the unit ran with the right VG)
check dbus-policy install_dbus_policy
sed "s#/usr/sbin/lvm #/usr/local/sbin/lvm-lvmetad-test #" "/job/units/lvm-activate@.service" \
    >"/etc/systemd/system/lvm-activate@.service"
systemctl daemon-reload
check socket-start run systemctl start lvmetad.socket
check service-not-started-yet sh -c '! systemctl is-active --quiet lvmetad.service'
udevadm control --reload

# --- 4. hotplug the 4 PVs back -----------------------------------------------
udevadm monitor --udev --subsystem-match=block >"$RESULTS/udev-monitor.txt" 2>&1 &
MON=$!
for i in 0 1 2 3; do plug $i; check "replug-hot$i" wait_present $i; done
udevadm settle
n=0; while [ "$(wc -l <"$L/udev-run.log" 2>/dev/null || echo 0)" -lt 4 ] && [ $n -lt 100 ]; do sleep 0.2; n=$((n+1)); done
sleep 1
kill $MON 2>/dev/null
cp "$L/udev-run.log" "$L/udev-run.out" "$RESULTS/" 2>/dev/null
echo "--- udev RUN calls:"; cat "$L/udev-run.log"

# --- 5. checks ----------------------------------------------------------------
for i in 0 1 2 3; do
    d=$(dev hot$i); mm="$(stat -c '%t %T' "$d")"
    maj=$((0x${mm% *})); min=$((0x${mm#* }))
    check "udev-pvscan-hot$i" grep -q "rc=0 lvm pvscan --cache --major $maj --minor $min\$" "$L/udev-run.log"
done
check lvmetad-socket-activated systemctl is-active lvmetad.service
LVM_SYSTEM_DIR=$E $T/lvm vgs -o vg_name,vg_attr --noheadings "$VG" >"$RESULTS/vgs.txt" 2>&1
echo "--- ours vgs (use_lvmetad=1):"; cat "$RESULTS/vgs.txt"
attr="$(awk -v vg="$VG" '$1 == vg {print $2}' "$RESULTS/vgs.txt")"
case "$attr" in
    "") fail vg-complete "no $VG in vgs output" ;;
    ?????p*) fail vg-complete "attr $attr is partial" ;;
    *) pass vg-complete ;;
esac
LVM_SYSTEM_DIR=$E $T/lvm lvs -o lv_name,segtype,stripes --noheadings "$VG"
journalctl -u lvmetad.service -u lvmetad.socket --no-pager >"$RESULTS/lvmetad-journal.txt" 2>&1
echo "--- journalctl -u lvmetad:"; tail -n 30 "$RESULTS/lvmetad-journal.txt"
check journal-vg-complete grep -q "$VG.* is complete" "$RESULTS/lvmetad-journal.txt"
# --- 6. D-Bus and event activation -------------------------------------------
n=0; while ! grep -q "lvm vgchange -aay --autoactivation event $VG\$" "$L/udev-run.log" && [ $n -lt 100 ]; do sleep 0.2; n=$((n+1)); done
cp "$L/udev-run.log" "$RESULTS/udev-run.log"
check activation-unit-ran-vgchange grep -q "lvm vgchange -aay --autoactivation event $VG\$" "$L/udev-run.log"
journalctl -u "lvm-activate@$VG.service" --no-pager >"$RESULTS/lvm-activate-journal.txt" 2>&1
echo "--- journalctl -u lvm-activate@$VG:"; cat "$RESULTS/lvm-activate-journal.txt"
check journal-started-activation-unit grep -q "started lvm-activate@$VG.service" "$RESULTS/lvmetad-journal.txt"
check activation-unit-exactly-once sh -c "[ \$(grep -c 'lvm vgchange -aay --autoactivation event $VG\$' $L/udev-run.log) -eq 1 ]"
busctl call org.lvm.Lvmetad1 /org/lvm/Lvmetad1 org.lvm.Lvmetad1.Manager ListVgs >"$RESULTS/busctl-listvgs.txt" 2>&1
echo "--- busctl ListVgs:"; cat "$RESULTS/busctl-listvgs.txt"
check dbus-listvgs grep -q "\"$VG\"" "$RESULTS/busctl-listvgs.txt"
busctl get-property org.lvm.Lvmetad1 "/org/lvm/Lvmetad1/VolumeGroup/$VG" org.lvm.Lvmetad1.VolumeGroup Complete >"$RESULTS/busctl-complete.txt" 2>&1
check dbus-vg-complete-property grep -qx "b true" "$RESULTS/busctl-complete.txt"
# nobody may read but not change the cache
check dbus-nobody-refused sh -c "! setpriv --reuid=65534 --regid=65534 --clear-groups busctl call org.lvm.Lvmetad1 /org/lvm/Lvmetad1 org.lvm.Lvmetad1.Manager PvGone s x"
check vgwait-complete env LVM_SYSTEM_DIR=$E $T/lvm vgwait "$VG" --timeout 5
# A RAID method of the sandboxed daemon: the lvcreate runs as a transient
# unit (systemd-run) outside the sandbox, and the new LV shows up.
busctl call org.lvm.Lvmetad1 "/org/lvm/Lvmetad1/VolumeGroup/$VG" org.lvm.Lvmetad1.VolumeGroup \
    CreateRaidLv sstuuas dbusr1 raid1 8388608 0 1 0 >"$RESULTS/busctl-create-raid.txt" 2>&1
echo "--- busctl CreateRaidLv:"; cat "$RESULTS/busctl-create-raid.txt"
check dbus-create-raid-ran grep -q "created" "$RESULTS/busctl-create-raid.txt"
LVM_SYSTEM_DIR=$E $T/lvm lvs -a -o lv_name,segtype --noheadings "$VG" >"$RESULTS/lvs-after-dbus.txt" 2>&1
check dbus-created-raid1-lv grep -q "dbusr1 *raid1" "$RESULTS/lvs-after-dbus.txt"
check dbus-created-lv-vgck-lvm2 lvm vgck "$VG"
systemctl status --no-pager lvmetad.service lvmetad.socket >"$RESULTS/systemctl-status.txt" 2>&1
finish
