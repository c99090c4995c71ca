#!/bin/sh
# Issue 6 scenario 4 (guest A): a 3-image raid1 made and activated by this
# project's lvm (lvm2's golden case split_track_merge: 8 PVs, -s 4m, -m2,
# 8 MiB = 4 regions of 2 MiB); our live `lvconvert --splitmirrors 1
# --trackchanges` leaves `- -` in the array's slot and lv_rimage_2 readable
# with the old data; 1 MiB written to region 1 of the array; with the
# recovery rate limited (128..512 KiB/s) our live `lvconvert --merge`
# resyncs only that region: the merge resync takes well under half the
# time of a full `lvchange --resync` at the same rate; all three legs
# are equal afterwards and the data keeps its sha256. Tables after each
# step equal lvm2's (tests/fixtures/convert-golden/split_track_merge,
# copied to golden/; device numbers mapped, recovery-rate params dropped).
. ./lib.sh
VG=vgc
DS=""; for i in 0 1 2 3 4 5 6 7; do DS="$DS $(dev d$i)"; done
note "disks:$DS"

# our table of VG, normalised as the golden one: scratch disks -> @dN,
# other device numbers -> DEV, recovery-rate params dropped
norm() {
    awk 'NR==FNR{m[$1]=$2;next}
        { for(i=1;i<=NF;i++){ if($i in m) $i=m[$i]; else if($i ~ /^[0-9]+:[0-9]+$/) $i="DEV" }
          if($4!="raid"){ print; next }
          n=$6; out=""
          for(i=1;i<=NF;i++){
              if($i=="min_recovery_rate"||$i=="max_recovery_rate"){ i++; n-=2; continue }
              out=out (out==""?"":" ") (i==6?"@NP@":$i) }
          sub("@NP@", n, out); print out }' /tmp/diskmap - | sort
}
# golden_cmp STEP [GOLDEN-LINE-TO-DROP]: after lvm2's live split, lvm2 still
# has vgc-lv_rmeta_2 loaded although no table uses it: its reload does not
# remove it, while its activation (dev_manager.c _add_segment_to_dtree: "do
# not bring up tracked image", rimage and rmeta) never loads it; this
# project's reload drops it, as an activation of that metadata would
golden_cmp() {
    { echo "x x"; for b in /sys/block/vd*; do echo "$(cat "$b/dev") @$(cat "$b/serial")"; done; } >/tmp/diskmap
    dmsetup table | grep "^$VG-" | norm >"$RESULTS/table-$1.ours"
    grep -v "^${2:-@none@}:" "golden/split_track_merge-$1.table" | norm >"$RESULTS/table-$1.lvm2"
    check "table-equals-lvm2-$1" diff -u "$RESULTS/table-$1.lvm2" "$RESULTS/table-$1.ours"
}
sha() { dd if="$1" bs=1M count=8 2>/dev/null | sha256sum | cut -d' ' -f1; }
t() { cut -d' ' -f1 /proc/uptime; }

# shellcheck disable=SC2086
check pvcreate run ours pvcreate $DS
# shellcheck disable=SC2086
check vgcreate run ours vgcreate -s 4m "$VG" $DS
check lvcreate run ours lvcreate -an -y --type raid1 -m2 -n lv -L 8m "$VG"
check lvchange-ay run ours lvchange -ay "$VG/lv"
check sync run ours lvwait --sync --timeout 120 "$VG/lv"
golden_cmp 03-lvcreate
dd if=/dev/urandom of=/tmp/a.dat bs=1M count=8 2>/dev/null
check write-a dd if=/tmp/a.dat of="/dev/$VG/lv" bs=1M conv=fsync
A=$(sha256sum </tmp/a.dat | cut -d' ' -f1)

# --- split with tracking, live -----------------------------------------------
if run ours lvconvert -y --splitmirrors 1 --trackchanges "$VG/lv" >"$RESULTS/split.txt" 2>&1; then
    cat "$RESULTS/split.txt"; pass split-track-live; LIVE=1
else
    cat "$RESULTS/split.txt"; fail split-track-live "our lvconvert --splitmirrors 1 --trackchanges on the active LV"
    LIVE=0
    # offline, so the rest still shows something
    run ours lvchange -an "$VG/lv"; run ours lvconvert -y --splitmirrors 1 --trackchanges "$VG/lv"
    run ours lvchange -ay "$VG/lv"
fi
check split-message grep -q "lv_rimage_2 split from $VG/lv for read-only purposes" "$RESULTS/split.txt"
dmsetup table "$VG-lv"
check tracked-slot-empty sh -c "dmsetup table $VG-lv | grep -q -- ' - -\$'"
golden_cmp 04-track vgc-lv_rmeta_2
ours lvs -a -o lv_name,lv_attr,segtype,devices "$VG"
lvm lvs -a -o lv_name,lv_attr,segtype,devices "$VG"
check lvm2-vgck-tracking run lvm vgck "$VG"
check tracked-image-readable test -b "/dev/mapper/$VG-lv_rimage_2"
check tracked-image-old-data test "$(sha "/dev/mapper/$VG-lv_rimage_2")" = "$A"

# --- change region 1 of the array (2 MiB regions: bytes 2M..4M) ---------------
dd if=/dev/urandom of=/tmp/b.dat bs=1M count=1 2>/dev/null
check write-b dd if=/tmp/b.dat of="/dev/$VG/lv" bs=1M seek=2 conv=fsync
dd if=/tmp/b.dat of=/tmp/a.dat bs=1M seek=2 conv=notrunc 2>/dev/null
B=$(sha256sum </tmp/a.dat | cut -d' ' -f1)
echo 3 >/proc/sys/vm/drop_caches
check array-new-data test "$(sha "/dev/$VG/lv")" = "$B"
check tracked-image-unchanged test "$(sha "/dev/mapper/$VG-lv_rimage_2")" = "$A"

# --- merge, with the recovery rate limited --------------------------------------
check rate-limit run ours lvchange --minrecoveryrate 128 --maxrecoveryrate 512 "$VG/lv"
dmsetup table "$VG-lv"
t0=$(t)
if run ours lvconvert -y --merge "$VG/lv_rimage_2" >"$RESULTS/merge.txt" 2>&1; then
    cat "$RESULTS/merge.txt"; pass merge-live
else
    cat "$RESULTS/merge.txt"; fail merge-live "our lvconvert --merge of the active LV's tracked image"
    run ours lvchange -an "$VG/lv"; run ours lvconvert -y --merge "$VG/lv_rimage_2"
    t0=$(t); run ours lvchange -ay "$VG/lv"
fi
dmsetup status "$VG-lv"
check merge-resync run ours lvwait --sync --timeout 120 "$VG/lv"
t1=$(t)
check merge-message grep -q "lv_rimage_2 successfully merged back into $VG/lv" "$RESULTS/merge.txt"
dmsetup status "$VG-lv"
check merged-healthy test "$(dmsetup status "$VG-lv" | awk '{print $6}')" = AAA
golden_cmp 07-merge
echo 3 >/proc/sys/vm/drop_caches
check array-data-after-merge test "$(sha "/dev/$VG/lv")" = "$B"
for i in 0 1 2; do
    check "leg-$i-equal" test "$(sha "/dev/mapper/$VG-lv_rimage_$i")" = "$B"
done

# --- a full resync at the same rate, for comparison ---------------------------
t2=$(t)
check full-resync run ours lvchange --resync -y "$VG/lv"
sleep 1
check full-resync-done run ours lvwait --sync --timeout 120 "$VG/lv"
t3=$(t)
note "merge resync $(echo "$t0 $t1" | awk '{print $2-$1}') s, full resync $(echo "$t2 $t3" | awk '{print $2-$1}') s"
check merge-resync-partial awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN{exit !((b-a)*2 < (d-c))}'
echo 3 >/proc/sys/vm/drop_caches
check array-data-after-full-resync test "$(sha "/dev/$VG/lv")" = "$B"
check ours-lvchange-an run ours lvchange -an "$VG/lv"
check lvm2-vgck run lvm vgck "$VG"
finish
