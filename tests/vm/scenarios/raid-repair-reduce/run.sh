#!/bin/sh
# Live repair and live reduce of RAID LVs (guest A), each step done by this
# project's lvm on one VG and by Debian's lvm2 on a twin VG of other disks.
# Part 1, repair: vgr (ours, d0-d4) and vgq (lvm2, d13-d17) each get a
# 3-image raid1 (disks 0 1 2) and a raid10 -i2 -m1 (disks 0-3) with 24 MiB
# of checksummed data; disk 0 of each VG (one image of each LV) is
# hot-unplugged through QMP while all are active; reads keep the sha256; a
# rewrite of the first MiB makes dm-raid fail the leg (one `D`);
# `lvconvert -y --repair` of the ACTIVE LVs puts the images on the spare
# disk 4 (r1 with the PV given, r10 without a PV list); the arrays rebuild
# to all `A`, the sha256 holds, our tables and lvm2's `lvs -a` equal those
# of lvm2's repair (device numbers mapped), no `rebuild N` is left in the
# live tables (lvm2 reloads after clearing REBUILD), `vgreduce --removemissing`
# drops the lost PV, lvm2's `vgck` passes and lvm2 deactivates and
# reactivates the VG (no rebuild again, data intact).
# Part 2, lvreduce: vgo (ours, d5-d8) and vgl (lvm2, d9-d12) each get a
# raid5 -i3 48m and a raid1 -m1 48m, 24 MiB of data at the start, then
# `lvreduce -y -f -L 24m` of the ACTIVE LVs by each tool: the first 24 MiB
# keep their sha256, the devices are 24 MiB, lvm2's lvs says 24 MiB, lvm2
# vgck passes on vgo, lvm2's `lvs -a` and the live tables equal for both
# VGs, and the data survives lvm2's `lvchange -an`/`-ay` of our LVs.
. ./lib.sh
devs() { d_out=""; for i in "$@"; do d_out="$d_out $(dev d$i)"; done; echo $d_out; }
# shellcheck disable=SC2046
set -- $(devs 0 1 2 3 4); R0=$1; R1=$2; R2=$3; R3=$4; R4=$5
# shellcheck disable=SC2046
set -- $(devs 13 14 15 16 17); Q0=$1; Q1=$2; Q2=$3; Q3=$4; Q4=$5
DO=$(devs 5 6 7 8); DL=$(devs 9 10 11 12)
note "vgr: $R0 $R1 $R2 $R3 spare $R4; vgq: $Q0 $Q1 $Q2 $Q3 spare $Q4; vgo: $DO; vgl: $DL"

# /dev/vdX and major:minor of every scratch disk -> @dN, N its index in
# its VG (vgr/vgq: d0-d4 / d13-d17 -> @d0-4, vgo/vgl: d5-d8 / d9-d12 -> @d0-3)
{ for b in /sys/block/vd*; do
    s=$(cat "$b/serial"); n=${s#d}
    case "$n" in [0-9]|1[0-9]) ;; *) continue ;; esac
    if [ "$n" -ge 13 ]; then n=$((n - 13)); elif [ "$n" -ge 5 ]; then n=$(( (n - 5) % 4 )); fi
    echo "$(cat "$b/dev") @d$n"; echo "/dev/$(basename "$b") @d$n"
  done; } >/tmp/diskmap
tables() {   # tables VG: live tables, VG name and device numbers normalised,
             # `rebuild N` pairs left out (checked on their own)
    dmsetup table | grep "^$1-" | sed "s/^$1-/VG-/" | mapdisks |
        awk '$4=="raid"{ n=0; for(i=7;i<=NF;i++) if($i=="rebuild") n++; $6=$6-2*n
                         out=""; for(i=1;i<=NF;i++) if($i!="rebuild") out=out" "$i; else i++; print out; next } {print}' |
        sort
}
report() {   # report VG: lvm2's lvs, VG-independent
    lvm lvs -a --noheadings --units b --nosuffix \
        -o lv_name,segtype,stripes,stripe_size,region_size,lv_size,devices "$1" 2>/dev/null |
        sed 's/,/ /g' | mapdisks | sort
}
health() { dmsetup status "$1" | awk '$3=="raid"{print $6}'; }
ndead() { health "$1" | tr -cd D | wc -c; }
sha() {   # sha DEV [MiB]
    echo 3 >/proc/sys/vm/drop_caches
    if [ -n "${2:-}" ]; then dd if="$1" bs=1M count="$2" 2>/dev/null
    else dd if="$1" bs=1M 2>/dev/null; fi | sha256sum | cut -d' ' -f1
}
sums() {   # sums TAG VG LV...: full-device sha256 against /tmp/VG-LV.sum
    s_tag=$1; s_vg=$2; shift 2
    for lv in "$@"; do
        got=$(sha "/dev/$s_vg/$lv" "${SUMMB:-}")
        want=$(cat "/tmp/$s_vg-$lv.sum")
        if [ "$got" = "$want" ]; then pass "sha256-$s_tag-$s_vg-$lv"
        else fail "sha256-$s_tag-$s_vg-$lv" "sha256 $got != $want"; fi
    done
}
fill() {   # fill VG LV MiB: random data at the start, sha256 kept
    dd if=/dev/urandom of=/tmp/fill.dat bs=1M count="$3" 2>/dev/null
    sha256sum </tmp/fill.dat | cut -d' ' -f1 >"/tmp/$1-$2.sum"
    check "write-$1-$2" dd if=/tmp/fill.dat of="/dev/$1/$2" bs=1M conv=fsync
    rm -f /tmp/fill.dat
}
# unplug dN: QMP device_del, wait until the kernel dropped the disk
unplug() {
    u_blk=$(basename "$(dev "$1")")
    host "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"$1\"}}"
    u_n=0
    while [ -e "/sys/block/$u_blk" ] && [ $u_n -lt 150 ]; do sleep 0.2; u_n=$((u_n + 1)); done
    check "unplugged-$1" test ! -e "/sys/block/$u_blk"
}
recov() { dmesg | grep -c "md: recovery of RAID array"; }

# ============================ part 1: --repair ================================
# tool VG: "ours" for vgr, "lvm" for vgq
tool() { if [ "$1" = vgr ]; then echo ours; else echo lvm; fi; }
check pvcreate-vgr run ours pvcreate "$R0" "$R1" "$R2" "$R3" "$R4"
check vgcreate-vgr run ours vgcreate -s 4m vgr "$R0" "$R1" "$R2" "$R3" "$R4"
check pvcreate-vgq run lvm pvcreate "$Q0" "$Q1" "$Q2" "$Q3" "$Q4"
check vgcreate-vgq run lvm vgcreate -s 4m vgq "$Q0" "$Q1" "$Q2" "$Q3" "$Q4"
check lvcreate-vgr-r1 run ours lvcreate -y --type raid1 -m2 -L 24m -n r1 vgr "$R0" "$R1" "$R2"
check lvcreate-vgr-r10 run ours lvcreate -y --type raid10 -i2 -m1 -L 24m -n r10 vgr "$R0" "$R1" "$R2" "$R3"
check lvcreate-vgq-r1 run lvm lvcreate -y --type raid1 -m2 -L 24m -n r1 vgq "$Q0" "$Q1" "$Q2"
check lvcreate-vgq-r10 run lvm lvcreate -y --type raid10 -i2 -m1 -L 24m -n r10 vgq "$Q0" "$Q1" "$Q2" "$Q3"
check sync-created-vgr run ours lvwait --sync --timeout 300 vgr/r1 vgr/r10
check sync-created-vgq-r1 wait_sync vgq/r1 300
check sync-created-vgq-r10 wait_sync vgq/r10 300
ours lvs -a -o lv_name,lv_attr,segtype,devices,sync_percent vgr
for lv in r1 r10; do
    check "size-vgr-$lv" test "$(blockdev --getsize64 /dev/vgr/$lv)" = $((24 * 1048576))
    fill vgr $lv 24
    check "copy-to-vgq-$lv" dd if="/dev/vgr/$lv" of="/dev/vgq/$lv" bs=1M conv=fsync
    cp "/tmp/vgr-$lv.sum" "/tmp/vgq-$lv.sum"
done
sums healthy vgr r1 r10
sums healthy vgq r1 r10
tables vgq >"$RESULTS/table-r-created.lvm2"; tables vgr >"$RESULTS/table-r-created.ours"
check table-equals-lvm2-r-created diff -u "$RESULTS/table-r-created.lvm2" "$RESULTS/table-r-created.ours"

unplug d0
unplug d13
sums unplugged vgr r1 r10
sums unplugged vgq r1 r10
# a write reaches every leg: dm-raid fails the one on the pulled disk
for vg in vgr vgq; do
    for lv in r1 r10; do
        dd if="/dev/$vg/$lv" of=/tmp/head bs=1M count=1 2>/dev/null
        check "rewrite-$vg-$lv" dd if=/tmp/head of="/dev/$vg/$lv" bs=1M count=1 conv=notrunc,fsync
    done
done
sleep 1
dmsetup status | grep '^vg[rq]-r1[0-9]*:'
for vg in vgr vgq; do
    check "$vg-r1-one-leg-failed" test "$(ndead $vg-r1)" = 1
    check "$vg-r10-one-leg-failed" test "$(ndead $vg-r10)" = 1
done
sums degraded vgr r1 r10
ours lvs -a -o lv_name,lv_attr,lv_health_status,devices vgr 2>&1
check ours-health-partial sh -c "LVM_SYSTEM_DIR=$OURS_ETC $OURS lvs --noheadings -o lv_health_status vgr/r1 | grep -q partial"

REC0=$(recov)
check repair-vgr-r1 run ours lvconvert -y --repair vgr/r1 "$R4"
check repair-vgr-r10 run ours lvconvert -y --repair vgr/r10
check repair-vgq-r1 run lvm lvconvert -y --repair vgq/r1 "$Q4"
check repair-vgq-r10 run lvm lvconvert -y --repair vgq/r10
ours lvs -a -o lv_name,lv_attr,segtype,devices,sync_percent vgr 2>&1
dmsetup table | grep '^vg[rq]-r1[0-9]*:'
check resync-vgr run ours lvwait --sync --timeout 300 vgr/r1 vgr/r10
check resync-vgq-r1 wait_sync vgq/r1 300
check resync-vgq-r10 wait_sync vgq/r10 300
dmsetup status | grep '^vg[rq]-r1[0-9]*:'
check rebuilt-all test "$(recov)" -ge $((REC0 + 4))
for vg in vgr vgq; do
    check "$vg-r1-healthy" test "$(health $vg-r1)" = AAA
    check "$vg-r10-healthy" test "$(health $vg-r10)" = AAAA
done
check no-missing-pv-used sh -c "! LVM_SYSTEM_DIR=$OURS_ETC $OURS lvs --noheadings -a -o devices vgr | grep -q unknown"
check r1-image-on-spare sh -c "LVM_SYSTEM_DIR=$OURS_ETC $OURS lvs --noheadings -a -o lv_name,devices vgr | grep -q 'r1_rimage_0.* $R4('"
check r10-image-on-spare sh -c "LVM_SYSTEM_DIR=$OURS_ETC $OURS lvs --noheadings -a -o lv_name,devices vgr | grep -q 'r10_rimage_0.* $R4('"
check no-extracted-lvs sh -c "! dmsetup ls | grep -q extracted"
sums repaired vgr r1 r10
sums repaired vgq r1 r10
tables vgq >"$RESULTS/table-repaired.lvm2"; tables vgr >"$RESULTS/table-repaired.ours"
check table-equals-lvm2-repaired diff -u "$RESULTS/table-repaired.lvm2" "$RESULTS/table-repaired.ours"
# lvm2 (_lv_raid_rebuild_or_replace) clears REBUILD and reloads once more:
# the live table has no `rebuild N` left after the repair
for vg in vgq vgr; do
    for lv in r1 r10; do
        check "no-rebuild-in-live-table-$vg-$lv" sh -c "dmsetup table $vg-$lv; ! dmsetup table $vg-$lv | grep -q ' rebuild '"
    done
done
check ours-vgreduce-removemissing run ours vgreduce --removemissing vgr
check lvm2-vgreduce-removemissing run lvm vgreduce --removemissing vgq
check lvm2-vgck-repaired run lvm vgck vgr
lvm lvs -a -o lv_name,lv_attr,segtype,devices vgr vgq
report vgq >"$RESULTS/lvs-repaired.lvm2"; report vgr >"$RESULTS/lvs-repaired.ours"
check lvs-equals-lvm2-repaired diff -u "$RESULTS/lvs-repaired.lvm2" "$RESULTS/lvs-repaired.ours"
check lvm2-no-missing sh -c "! lvm vgs --noheadings -o vg_attr vgr | grep -q '.....p'"
check lvm2-deactivates-repaired run lvm vgchange -an vgr
REC1=$(recov)
check lvm2-activates-repaired run lvm vgchange -ay vgr
sleep 1
check no-rebuild-again test "$(recov)" = "$REC1"
check vgr-r1-healthy-lvm2-activated test "$(health vgr-r1)" = AAA
check vgr-r10-healthy-lvm2-activated test "$(health vgr-r10)" = AAAA
sums lvm2-reactivated vgr r1 r10
check lvm2-deactivates-vgr-vgq run lvm vgchange -an vgr vgq

# ============================ part 2: lvreduce ================================
# shellcheck disable=SC2086
check pvcreate-ours run ours pvcreate $DO
# shellcheck disable=SC2086
check vgcreate-ours run ours vgcreate -s 4m vgo $DO
# shellcheck disable=SC2086
check pvcreate-lvm2 run lvm pvcreate $DL
# shellcheck disable=SC2086
check vgcreate-lvm2 run lvm vgcreate -s 4m vgl $DL
# shellcheck disable=SC2086
set -- $DO; O1=$1; O2=$2
# shellcheck disable=SC2086
set -- $DL; L1=$1; L2=$2
check lvcreate-ours-r5 run ours lvcreate -y --type raid5 -i3 -L 48m -n r5 vgo
check lvcreate-ours-r1 run ours lvcreate -y --type raid1 -m1 -L 48m -n r1 vgo "$O1" "$O2"
check lvcreate-lvm2-r5 run lvm lvcreate -y --type raid5 -i3 -L 48m -n r5 vgl
check lvcreate-lvm2-r1 run lvm lvcreate -y --type raid1 -m1 -L 48m -n r1 vgl "$L1" "$L2"
check sync-ours run ours lvwait --sync --timeout 300 vgo/r5 vgo/r1
check sync-lvm2-r5 wait_sync vgl/r5 300
check sync-lvm2-r1 wait_sync vgl/r1 300
report vgl >"$RESULTS/lvs-created.lvm2"; report vgo >"$RESULTS/lvs-created.ours"
check lvs-equals-lvm2-created diff -u "$RESULTS/lvs-created.lvm2" "$RESULTS/lvs-created.ours"
tables vgl >"$RESULTS/table-created.lvm2"; tables vgo >"$RESULTS/table-created.ours"
check table-equals-lvm2-created diff -u "$RESULTS/table-created.lvm2" "$RESULTS/table-created.ours"
for lv in r5 r1; do
    fill vgo $lv 24
    cp "/tmp/vgo-$lv.sum" "/tmp/vgl-$lv.sum"
done
# the same data on the twins
for lv in r5 r1; do
    check "copy-to-lvm2-$lv" dd if="/dev/vgo/$lv" of="/dev/vgl/$lv" bs=1M count=24 conv=fsync
done
SUMMB=24
sums created vgo r5 r1
sums created vgl r5 r1

check ours-lvreduce-r5 run ours lvreduce -y -f -L 24m vgo/r5
check ours-lvreduce-r1 run ours lvreduce -y -f -L 24m vgo/r1
check lvm2-lvreduce-r5 run lvm lvreduce -y -f -L 24m vgl/r5
check lvm2-lvreduce-r1 run lvm lvreduce -y -f -L 24m vgl/r1
dmsetup status | grep '^vg[ol]-r'
check sync-reduced-ours run ours lvwait --sync --timeout 300 vgo/r5 vgo/r1
check sync-reduced-lvm2-r5 wait_sync vgl/r5 300
check sync-reduced-lvm2-r1 wait_sync vgl/r1 300
for vg in vgo vgl; do
    for lv in r5 r1; do
        check "size-$vg-$lv" test "$(blockdev --getsize64 /dev/$vg/$lv)" = $((24 * 1048576))
        check "lvm2-lvs-24m-$vg-$lv" test "$(lvm lvs --noheadings --units b --nosuffix -o lv_size $vg/$lv | tr -d ' ')" = $((24 * 1048576))
    done
done
check r5-healthy-reduced test "$(health vgo-r5)" = AAAA
check r1-healthy-reduced test "$(health vgo-r1)" = AA
sums reduced vgo r5 r1
sums reduced vgl r5 r1
check lvm2-vgck-reduced run lvm vgck vgo
report vgl >"$RESULTS/lvs-reduced.lvm2"; report vgo >"$RESULTS/lvs-reduced.ours"
check lvs-equals-lvm2-reduced diff -u "$RESULTS/lvs-reduced.lvm2" "$RESULTS/lvs-reduced.ours"
tables vgl >"$RESULTS/table-reduced.lvm2"; tables vgo >"$RESULTS/table-reduced.ours"
check table-equals-lvm2-reduced diff -u "$RESULTS/table-reduced.lvm2" "$RESULTS/table-reduced.ours"

check lvm2-deactivates-ours run lvm lvchange -an vgo/r5 vgo/r1
check lvm2-activates-ours run lvm lvchange -ay vgo/r5 vgo/r1
check lvm2-deactivates-lvm2 run lvm lvchange -an vgl/r5 vgl/r1
check lvm2-activates-lvm2 run lvm lvchange -ay vgl/r5 vgl/r1
sleep 1
dmsetup status | grep '^vg[ol]-r'
check vgo-r5-healthy-lvm2-activated test "$(health vgo-r5)" = AAAA
check vgo-r1-healthy-lvm2-activated test "$(health vgo-r1)" = AA
check size-lvm2-activated-r5 test "$(blockdev --getsize64 /dev/vgo/r5)" = $((24 * 1048576))
check size-lvm2-activated-r1 test "$(blockdev --getsize64 /dev/vgo/r1)" = $((24 * 1048576))
sums lvm2-reactivated vgo r5 r1
tables vgl >"$RESULTS/table-reactivated.lvm2"; tables vgo >"$RESULTS/table-reactivated.ours"
check table-equals-lvm2-reactivated diff -u "$RESULTS/table-reactivated.lvm2" "$RESULTS/table-reactivated.ours"
check lvm2-vgchange-an run lvm vgchange -an vgo vgl
finish
