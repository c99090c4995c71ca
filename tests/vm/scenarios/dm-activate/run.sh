#!/bin/sh
# Issue 6 scenarios 2 and 7 in the initramfs guest (no udev: this project's
# lvm makes /dev/mapper nodes and /dev/VG/LV links itself):
# - this project's lvm creates one LV of every RAID type (plus linear and
#   striped) and activates them with its own vgchange; real lvm2 sees them
#   active; they sync; data with a sha256 survives our -an/-ay;
# - the DM tables and UUIDs we load equal the ones real lvm2 loads for the
#   same VG;
# - we deactivate what lvm2 activated, and activate/deactivate a VG lvm2
#   created, and lvm2 sees that.
. ./lib.sh
VG=vgdm
D0=$(dev d0); D1=$(dev d1); D2=$(dev d2); D3=$(dev d3); D4=$(dev d4); D5=$(dev d5)
note "disks: $D0 $D1 $D2 $D3 $D4 $D5"

# dmsetup table with device numbers replaced by names, sorted
tables() {
    for d in /sys/dev/block/*; do
        n=$(basename "$d")
        nm=$(cat "$d/dm/name" 2>/dev/null || basename "$(readlink -f "$d")")
        echo "$n $nm"
    done >/tmp/devmap
    dmsetup table | awk 'NR==FNR{m[$1]=$2;next} {for(i=1;i<=NF;i++) if($i in m) $i=m[$i]; print}' /tmp/devmap - | sort
    dmsetup info -c --noheadings -o name,uuid --separator ' ' | sort
}
vg_devs() { dmsetup info -c --noheadings -o name 2>/dev/null | grep -c "^$1-" ; }

check pvcreate run ours pvcreate "$D0" "$D1" "$D2" "$D3" "$D4" "$D5"
check vgcreate run ours vgcreate "$VG" "$D0" "$D1" "$D2" "$D3" "$D4" "$D5"
check lvcreate-lin run ours lvcreate -an -n lin -L 8m "$VG"
check lvcreate-str run ours lvcreate -an -n str -i 2 -I 64k -L 8m "$VG"
LVS="lin str"; RAIDS=""
for t in raid0 raid0_meta raid1 raid4 raid5 raid5_n raid6 raid10; do
    case $t in
        raid0|raid0_meta) a="-i 3" ;; raid1) a="-m 2" ;; raid4|raid5|raid5_n) a="-i 2" ;;
        raid6) a="-i 3" ;; raid10) a="-i 2 -m 1" ;;
    esac
    # shellcheck disable=SC2086
    if run ours lvcreate -an --type $t $a -n "r_$t" -L 8m "$VG" >"$RESULTS/lvcreate-$t.txt" 2>&1; then
        pass "lvcreate-$t"; LVS="$LVS r_$t"
        case $t in raid0*) ;; *) RAIDS="$RAIDS r_$t" ;; esac
    else
        sed 's/^/  | /' "$RESULTS/lvcreate-$t.txt"
        note "SKIP $t: this project's lvcreate refused --type $t"
    fi
done
ours lvs -a -o lv_name,lv_attr,segtype,stripes,lv_size "$VG"

# --- activation with our tools -------------------------------------------
check ours-vgchange-ay run ours vgchange -ay "$VG"
for lv in $LVS; do
    check "node-$lv" test -b "/dev/$VG/$lv" -a -b "/dev/mapper/$VG-$lv"
done
lvm lvs -a -o lv_name,lv_attr,sync_percent "$VG"
n=$(lvm lvs --noheadings -o lv_attr "$VG" | awk 'substr($1,5,1)=="a"' | wc -l)
check lvm2-sees-ours-active test "$n" = "$(echo $LVS | wc -w)"
# lvchange settings that live in the metadata and the table: the table we
# load must be the one lvm2 loads from the metadata we wrote (compared below)
check lvchange-writemostly run ours lvchange --writemostly "$D1" "$VG/r_raid1"
check lvchange-recoveryrate run ours lvchange --maxrecoveryrate 4M --minrecoveryrate 128 "$VG/r_raid5"
dmsetup table "$VG-r_raid1"; dmsetup table "$VG-r_raid5"
check writemostly-in-table sh -c "dmsetup table $VG-r_raid1 | grep -q ' write_mostly 1 '"
check recoveryrate-in-table sh -c "dmsetup table $VG-r_raid5 | grep -q 'max_recovery_rate 4096'"
check ours-lvwait run ours lvwait --sync --timeout 120 $(for lv in $RAIDS; do printf '%s ' "$VG/$lv"; done)
for lv in $RAIDS; do check "sync-$lv" wait_sync "$VG/$lv" 120; done
tables >"$RESULTS/tables.ours"
check lvchange-an-lin run ours lvchange -an "$VG/lin"
check lin-inactive test ! -e "/dev/$VG/lin"
check lvchange-ay-lin run ours lvchange -ay "$VG/lin"
check lvchange-refresh run ours lvchange --refresh "$VG/r_raid5"
check lvchange-syncaction-check run ours lvchange --syncaction check "$VG/r_raid1"
sleep 1
check check-done wait_sync "$VG/r_raid1" 120
n=0; while [ "$(ours lvs --noheadings -o raid_sync_action "$VG/r_raid1" | tr -d ' ')" != idle ] && [ $n -lt 120 ]; do sleep 1; n=$((n+1)); done
before=$(dmesg | grep -c "resync of RAID array")
check lvchange-resync run ours lvchange --resync -y "$VG/r_raid1"
n=0; while [ "$(dmesg | grep -c "resync of RAID array")" -le "$before" ] && [ $n -lt 50 ]; do sleep 0.2; n=$((n+1)); done
check resync-started test "$(dmesg | grep -c "resync of RAID array")" -gt "$before"
check resync-active test -b "/dev/$VG/r_raid1"
check resync-done run ours lvwait --sync --timeout 120 "$VG/r_raid1"
# kernel status in our report equals lvm2's
F="--noheadings -o lv_name,lv_attr,sync_percent,raid_sync_action,raid_mismatch_count,lv_health_status"
# shellcheck disable=SC2086
ours lvs $F "$VG" | sed 's/^ *//; s/  */ /g' | sort >"$RESULTS/status.ours"
# shellcheck disable=SC2086
lvm lvs $F "$VG" | sed 's/^ *//; s/  */ /g' | sort >"$RESULTS/status.lvm2"
cat "$RESULTS/status.ours"
check kernel-status-equal diff -u "$RESULTS/status.lvm2" "$RESULTS/status.ours"

for lv in $LVS; do
    dd if=/dev/urandom of="/tmp/$lv.dat" bs=1M count=4 2>/dev/null
    sha256sum <"/tmp/$lv.dat" | cut -d' ' -f1 >"/tmp/$lv.sum"
    check "write-$lv" dd if="/tmp/$lv.dat" of="/dev/$VG/$lv" bs=1M conv=fsync
done
for lv in $RAIDS; do wait_sync "$VG/$lv" 120 >/dev/null; done
check ours-vgchange-an run ours vgchange -an "$VG"
check no-devices-left test "$(vg_devs $VG)" = 0
check no-links-left test ! -e "/dev/$VG"
check ours-vgchange-ay-again run ours vgchange -ay "$VG"
readback() {
    for lv in $LVS; do
        got="$(dd if="/dev/$VG/$lv" bs=1M count=4 2>/dev/null | sha256sum | cut -d' ' -f1)"
        if [ "$got" = "$(cat "/tmp/$lv.sum")" ]; then pass "readback-$1-$lv"
        else fail "readback-$1-$lv" "sha256 $got != $(cat "/tmp/$lv.sum")"; fi
    done
}
readback ours
check ours-vgchange-an-2 run ours vgchange -an "$VG"

# --- the same VG activated by real lvm2: same tables ----------------------
check lvm2-vgchange-ay run lvm vgchange -ay "$VG"
tables >"$RESULTS/tables.lvm2"
check tables-equal diff -u "$RESULTS/tables.lvm2" "$RESULTS/tables.ours"
readback lvm2
check ours-deactivates-lvm2s run ours vgchange -an "$VG"
check no-devices-left-2 test "$(vg_devs $VG)" = 0
n=$(lvm lvs --noheadings -o lv_attr "$VG" | awk 'substr($1,5,1)=="a"' | wc -l)
check lvm2-sees-inactive test "$n" = 0

# autoactivation (-aay, what lvm-activate@.service runs): the LV flag real
# lvm2 writes with --setautoactivation n, and activation/auto_activation_volume_list
check lvm2-setautoactivation-n run lvm lvchange --setautoactivation n "$VG/str"
check ours-vgchange-aay run ours vgchange -aay --autoactivation event "$VG"
check aay-skips-noautoactivate test ! -e "/dev/$VG/str"
check aay-activates-lin test -b "/dev/$VG/lin"
check aay-activates-raid1 test -b "/dev/$VG/r_raid1"
check ours-vgchange-an-aay run ours vgchange -an "$VG"
check ours-vgchange-aay-list run ours vgchange -aay --config 'activation { auto_activation_volume_list = [ "vgdm/lin" ] }' "$VG"
check aay-list-activates-lin test -b "/dev/$VG/lin"
check aay-list-skips-raid1 test ! -e "/dev/$VG/r_raid1"
check ours-vgchange-ay-ignores-list run ours vgchange -ay --config 'activation { auto_activation_volume_list = [ "vgdm/lin" ] }' "$VG"
check ay-activates-str test -b "/dev/$VG/str"
check ours-vgchange-an-aay-2 run ours vgchange -an "$VG"
check lvm2-setautoactivation-y run lvm lvchange --setautoactivation y "$VG/str"
check lvm2-vg-setautoactivation-n run lvm vgchange --setautoactivation n "$VG"
check ours-vgchange-aay-vg-off run ours vgchange -aay "$VG"
check aay-vg-off-activates-nothing test "$(vg_devs $VG)" = 0
check lvm2-vg-setautoactivation-y run lvm vgchange --setautoactivation y "$VG"
check no-devices-left-aay test "$(vg_devs $VG)" = 0

# lvremove of an active LV deactivates it first
check lvchange-ay-r5 run ours lvchange -ay "$VG/r_raid5"
check lvremove-active run ours lvremove "$VG/r_raid5"
check lvremove-deactivated test "$(dmsetup info -c --noheadings -o name | grep -cE "^$VG-r_raid5($|_r)")" = 0

# --- commands on active LVs (lvm2 2.03.16 behaviour) -------------------------
size_of() { blockdev --getsize64 "$1" 2>/dev/null || echo 0; }
refuses() { ! "$@" </dev/null; }
# lvcreate activates by default (-ay) and zeroes the first 4 KiB: a second LV
# on the extents of a removed one reads zeros there, the old data after it
check lvcreate-ay run ours lvcreate -n act -L 8m "$VG"
check lvcreate-ay-node test -b "/dev/$VG/act" -a -b "/dev/mapper/$VG-act"
check act-fill dd if=/dev/urandom of="/dev/$VG/act" bs=64k count=2 conv=fsync
check act-remove run ours lvremove -f "$VG/act"
check lvcreate-ay-2 run ours lvcreate -n act -L 8m "$VG"
check lvcreate-zeroed test "$(dd if="/dev/$VG/act" bs=4096 count=1 2>/dev/null | tr -d '\000' | wc -c)" = 0
check lvcreate-zero-4k-only test "$(dd if="/dev/$VG/act" bs=4096 skip=1 count=1 2>/dev/null | tr -d '\000' | wc -c)" -gt 0
check lvcreate-an run ours lvcreate -an -n inact -L 8m "$VG"
check lvcreate-an-inactive test ! -e "/dev/mapper/$VG-inact"
check lvcreate-k run ours lvcreate -k y -n skipped -L 8m "$VG"
check lvcreate-k-inactive test ! -e "/dev/mapper/$VG-skipped"
# lvextend/lvreduce of active LVs reload the table (linear and raid1)
check lvextend-lin run ours lvextend -L 16m "$VG/act"
check lvextend-lin-grew test "$(size_of "/dev/$VG/act")" = $((16 << 20))
check lvreduce-active-needs-f refuses ours lvreduce -L 12m "$VG/act"
check lvreduce-lin run ours lvreduce -f -L 12m "$VG/act"
check lvreduce-lin-shrank test "$(size_of "/dev/$VG/act")" = $((12 << 20))
check lvcreate-r1 run ours lvcreate --type raid1 -m 1 -n r1 -L 8m "$VG"
check r1-active test -b "/dev/$VG/r1"
check r1-sync run ours lvwait --sync --timeout 120 "$VG/r1"
check lvextend-r1 run ours lvextend -L 16m "$VG/r1"
check lvextend-r1-grew test "$(size_of "/dev/$VG/r1")" = $((16 << 20))
dmsetup table | grep "^$VG-r1"
for i in 0 1; do
    check "lvextend-r1-image$i-grew" test "$(size_of "/dev/mapper/$VG-r1_rimage_$i")" = $((16 << 20))
done
check r1-sync-2 run ours lvwait --sync --timeout 120 "$VG/r1"
# lvrename of an active LV renames its devices and the /dev/VG/LV link
check lvrename-active run ours lvrename "$VG" act act2
check lvrename-new-link test -b "/dev/$VG/act2" -a -b "/dev/mapper/$VG-act2"
check lvrename-old-gone test ! -e "/dev/$VG/act" -a ! -e "/dev/mapper/$VG-act"
check lvrename-r1 run ours lvrename "$VG/r1" "$VG/r1b"
check lvrename-r1-subs test "$(dmsetup info -c --noheadings -o name | grep -cE "^$VG-r1b_r(image|meta)_[01]$")" = 4
check lvrename-r1-old-gone test "$(dmsetup info -c --noheadings -o name | grep -cE "^$VG-r1($|_)")" = 0
# an offline lvconvert -m +1 leaves REBUILD; the next activation loads
# `rebuild`, then the metadata is committed without REBUILD
check r1b-an run ours lvchange -an "$VG/r1b"
check lvconvert-offline run ours lvconvert -y -m +1 "$VG/r1b"
lvm vgcfgbackup -f /tmp/vg.rebuild "$VG" >/dev/null 2>&1
check rebuild-in-metadata test "$(grep -c REBUILD /tmp/vg.rebuild)" -gt 0
check r1b-ay run ours lvchange -ay "$VG/r1b"
dmsetup table "$VG-r1b"
check rebuild-in-first-table sh -c "dmsetup table $VG-r1b | grep -q ' rebuild 2'"
lvm vgcfgbackup -f /tmp/vg.rebuilt "$VG" >/dev/null 2>&1
check rebuild-cleared test "$(grep -c REBUILD /tmp/vg.rebuilt)" = 0
check r1b-sync run ours lvwait --sync --timeout 120 "$VG/r1b"
check r1b-an-2 run ours lvchange -an "$VG/r1b"
check r1b-ay-2 run ours lvchange -ay "$VG/r1b"
dmsetup table "$VG-r1b"
check no-rebuild-second-table sh -c "! dmsetup table $VG-r1b | grep -q rebuild"
# vgremove -f deactivates the active LVs first
check vgchange-ay-before-vgremove run ours vgchange -ay "$VG"
check some-active test "$(vg_devs $VG)" -gt 0

# --- a VG real lvm2 created --------------------------------------------------
check lvm2-vgremove run ours vgremove -f "$VG"
check vgremove-no-devices-left test "$(vg_devs $VG)" = 0
check vgremove-no-links-left test ! -e "/dev/$VG"
check lvm2-vgcreate run lvm vgcreate vgl "$D0" "$D1" "$D2" "$D3"
check lvm2-lvcreate-lin run lvm lvcreate -an -n lin -L 8m vgl
check lvm2-lvcreate-r5 run lvm lvcreate -an --type raid5 -i 2 -n r5 -L 8m vgl
check lvm2-lvcreate-r1 run lvm lvcreate -an --type raid1 -m 1 -n r1 -L 8m vgl
check ours-activates-lvm2s run ours vgchange -ay vgl
lvm lvs -a -o lv_name,lv_attr,sync_percent vgl
n=$(lvm lvs --noheadings -o lv_attr vgl | awk 'substr($1,5,1)=="a"' | wc -l)
check lvm2-sees-3-active test "$n" = 3
tables >"$RESULTS/tables-vgl.ours"
check ours-deactivates-vgl run ours vgchange -an vgl
check lvm2-activates-vgl run lvm vgchange -ay vgl
tables >"$RESULTS/tables-vgl.lvm2"
check tables-equal-vgl diff -u "$RESULTS/tables-vgl.lvm2" "$RESULTS/tables-vgl.ours"
check lvm2-deactivates-vgl run lvm vgchange -an vgl
finish
