#!/bin/sh
# Issue 6 scenario 3 (guest A): raid5 and raid6 LVs made and activated by
# this project's lvm lose disks while active: d1 (in both LVs) and d3 (in
# raid6 only) are hot-unplugged through QMP (ACPI PCI hotplug); reads still
# return the checksummed data; this project's `lvconvert --repair` (or, if
# it refuses, `--replace` of the failed images) puts new images on spare
# disks d5/d6; the arrays rebuild, `--syncaction check` finds no
# mismatch, the data keeps its sha256 (also after -an/-ay), the missing PVs
# are removed with our `vgreduce --removemissing` and lvm2's `vgck` passes;
# the VG is extended with a new disk (d7) and r5's image 0 moved onto it live.
. ./lib.sh
VG=vgrep
D0=$(dev d0); D1=$(dev d1); D2=$(dev d2); D3=$(dev d3); D4=$(dev d4); D5=$(dev d5); D6=$(dev d6)
note "disks: $D0 $D1 $D2 $D3 $D4 spare: $D5 $D6"

health() { dmsetup status "$VG-$1" | awk '$3=="raid"{print $6}'; }
sums() {
    echo 3 >/proc/sys/vm/drop_caches
    for lv in r5 r6; do
        got="$(dd if="/dev/$VG/$lv" bs=1M 2>/dev/null | sha256sum | cut -d' ' -f1)"
        if [ "$got" = "$(cat "/tmp/$lv.sum")" ]; then pass "sha256-$1-$lv"
        else fail "sha256-$1-$lv" "sha256 $got != $(cat "/tmp/$lv.sum")"; fi
    done
}
# unplug dN: QMP device_del, wait until the kernel dropped the disk
unplug() {
    u_blk=$(basename "$(dev "$1")")
    host "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"$1\"}}"
    u_n=0
    while [ -e "/sys/block/$u_blk" ] && [ $u_n -lt 100 ]; do sleep 0.2; u_n=$((u_n + 1)); done
    check "unplugged-$1" test ! -e "/sys/block/$u_blk"
}

check pvcreate run ours pvcreate "$D0" "$D1" "$D2" "$D3" "$D4" "$D5" "$D6"
check vgcreate run ours vgcreate -s 4m "$VG" "$D0" "$D1" "$D2" "$D3" "$D4" "$D5" "$D6"
check lvcreate-r5 run ours lvcreate -an -y --type raid5 -i 2 -n r5 -L 16m "$VG" "$D0" "$D1" "$D2"
check lvcreate-r6 run ours lvcreate -an -y --type raid6 -i 3 -n r6 -L 12m "$VG" "$D0" "$D1" "$D2" "$D3" "$D4"
check ours-vgchange-ay run ours vgchange -ay "$VG"
check ours-sync run ours lvwait --sync --timeout 120 "$VG/r5" "$VG/r6"
ours lvs -a -o lv_name,lv_attr,segtype,devices,sync_percent "$VG"
for lv in r5 r6; do
    sz=$(blockdev --getsize64 "/dev/$VG/$lv")
    dd if=/dev/urandom of="/tmp/$lv.dat" bs=1M count=$((sz / 1048576)) 2>/dev/null
    sha256sum <"/tmp/$lv.dat" | cut -d' ' -f1 >"/tmp/$lv.sum"
    check "write-$lv" dd if="/tmp/$lv.dat" of="/dev/$VG/$lv" bs=1M conv=fsync
    rm -f "/tmp/$lv.dat"
done
sums healthy

# --- pull d1 (both LVs) and d3 (raid6 only) while active ---------------------
unplug d1
unplug d3
sums degraded          # reads hit the missing legs: md fails them, reconstructs
dmsetup status | grep "^$VG-r[56]:"
h5=$(health r5); h6=$(health r6)
check r5-one-leg-failed test "$(echo "$h5" | tr -cd D | wc -c)" = 1
check r6-two-legs-failed test "$(echo "$h6" | tr -cd D | wc -c)" = 2
ours lvs -a -o lv_name,lv_attr,lv_health_status,devices "$VG" 2>&1
check ours-health-partial sh -c "LVM_SYSTEM_DIR=$OURS_ETC $OURS lvs --noheadings -o lv_health_status $VG/r5 | grep -q partial"

# --- repair onto the spare disks ------------------------------------------------
# lvconvert --repair (lvm2's way); if our tool refuses, --replace of the
# images on the missing PV, named as sub-LVs (r5_rimage_1, r6_rimage_1/_3)
repair() {
    r_lv=$1; shift   # remaining: sub-LVs to --replace, then "--" and PVs
    if run ours lvconvert --repair -y "$VG/$r_lv" "$D5" "$D6" >"$RESULTS/repair-$r_lv.txt" 2>&1; then
        cat "$RESULTS/repair-$r_lv.txt"; pass "repair-$r_lv"; return 0
    fi
    cat "$RESULTS/repair-$r_lv.txt"
    fail "repair-$r_lv" "our lvconvert --repair refused/failed on the active degraded LV"
    r_rep=""
    while [ "$1" != -- ]; do r_rep="$r_rep --replace $1"; shift; done; shift
    # shellcheck disable=SC2086
    if run ours lvconvert -y $r_rep "$VG/$r_lv" "$@" >"$RESULTS/replace-$r_lv.txt" 2>&1; then
        cat "$RESULTS/replace-$r_lv.txt"; pass "replace-live-$r_lv"; return 0
    fi
    cat "$RESULTS/replace-$r_lv.txt"
    fail "replace-live-$r_lv" "our lvconvert$r_rep refused/failed on the active degraded LV"
}
recov() { dmesg | grep -c "md: recovery of RAID array"; }
R0=$(recov)
repair r5 r5_rimage_1 -- "$D5"
repair r6 r6_rimage_1 r6_rimage_3 -- "$D5" "$D6"
ours lvs -a -o lv_name,lv_attr,segtype,devices,sync_percent "$VG" 2>&1
dmsetup table | grep "^$VG-r[56]:"
check resync run ours lvwait --sync --timeout 120 "$VG/r5" "$VG/r6"
check rebuilt-both test "$(recov)" -ge $((R0 + 2))   # dm-raid recovered the new images
check r5-healthy test "$(health r5)" = AAA
check r6-healthy test "$(health r6)" = AAAAA
check no-missing-pv-used sh -c "! LVM_SYSTEM_DIR=$OURS_ETC $OURS lvs --noheadings -a -o devices $VG | grep -q unknown"
sums repaired
for lv in r5 r6; do
    check "syncaction-check-$lv" run ours lvchange --syncaction check "$VG/$lv"
done
sleep 1
check check-done run ours lvwait --sync --timeout 120 "$VG/r5" "$VG/r6"
for lv in r5 r6; do
    n=0; while dmsetup status "$VG-$lv" >/dev/null 2>&1 &&
        [ "$(dmsetup status "$VG-$lv" | awk '{print $8}')" != idle ] && [ $n -lt 60 ]; do sleep 0.5; n=$((n+1)); done
    dmsetup status "$VG-$lv"
    check "no-mismatch-$lv" test "$(dmsetup status "$VG-$lv" | awk '{print $9}')" = 0
done
check ours-vgreduce-removemissing run ours vgreduce --removemissing "$VG"
# the VG takes a new disk again, and an image moves onto it (live)
D7=$(dev d7)
check pvcreate-new run ours pvcreate "$D7"
check vgextend-after-removemissing run ours vgextend "$VG" "$D7"
check lvm2-sees-new-pv sh -c "lvm pvs --noheadings -o vg_name $D7 | grep -qw $VG"
R5PV=$(ours lvs --noheadings -o devices "$VG/r5_rimage_0" | sed 's/(.*//' | tr -d ' ')
check replace-onto-new-pv run ours lvconvert -y --replace "$R5PV" "$VG/r5" "$D7"
check replace-new-synced run ours lvwait --sync --timeout 120 "$VG/r5"
R5NEW=$(ours lvs --noheadings -o devices "$VG/r5_rimage_0" | sed 's/(.*//' | tr -d ' ')
note "r5_rimage_0: $R5PV -> $R5NEW"
check r5-image-on-new-pv test "$R5NEW" = "$D7"
check ours-vgchange-an run ours vgchange -an "$VG"
check lvm2-vgck run lvm vgck "$VG"
lvm lvs -a -o lv_name,lv_attr,segtype,devices "$VG"
check lvm2-no-missing sh -c "! lvm vgs --noheadings -o vg_attr $VG | grep -q '.....p'"
R1=$(recov)
check ours-vgchange-ay-again run ours vgchange -ay "$VG"
sleep 1
check no-rebuild-again test "$(recov)" = "$R1"   # REBUILD was cleared from the metadata
sums reactivated
check ours-vgchange-an-2 run ours vgchange -an "$VG"
finish
