#!/bin/sh
# Live image operations of this project's lvconvert on an active LV (the
# lvconvert.rs commit_live path): linear -> raid1 (-m 1), -m +1, --replace of
# a healthy image, -m -1 naming the PV of image 0 (shift + rename of the
# sub-LVs), --splitmirrors 1 -n (split LV stays active as its own LV), each
# while the LV is active: data keeps its sha256, the array resyncs to all
# 'A', no stray device (`*_extracted`, old sub-LVs) is left in the kernel,
# REBUILD is cleared from the metadata after the reload (a fresh activation
# has no `rebuild` in its table), real lvm2's vgck passes after every step.
. ./lib.sh
VG=vgl
D0=$(dev d0); D1=$(dev d1); D2=$(dev d2); D3=$(dev d3); D4=$(dev d4)
note "disks: $D0 $D1 $D2 $D3 $D4"
sha() { dd if="$1" bs=1M count=8 2>/dev/null | sha256sum | cut -d' ' -f1; }
health() { dmsetup status "$VG-$1" | awk '$3=="raid"{print $6}'; }
datacheck() {   # datacheck LABEL [LV]
    echo 3 >/proc/sys/vm/drop_caches
    d_got=$(sha "/dev/$VG/${2:-lv}")
    if [ "$d_got" = "$SUM" ]; then pass "sha256-$1"; else fail "sha256-$1" "$d_got != $SUM"; fi
}
# the VG's DM devices, sorted, for comparison with what the metadata says
devs() { dmsetup ls | awk -v p="$VG-" 'index($1,p)==1{print $1}' | sort | tr '\n' ' '; }
expect_devs() {   # expect_devs LABEL NAME... (without the VG- prefix)
    e_l=$1; shift
    e_want=$(for n in "$@"; do echo "$VG-$n"; done | sort | tr '\n' ' ')
    e_got=$(devs)
    if [ "$e_got" = "$e_want" ]; then pass "devices-$e_l"; else fail "devices-$e_l" "got [$e_got] want [$e_want]"; fi
}
conv() {   # conv LABEL ARGS...
    c_l=$1; shift
    if run ours lvconvert "$@" >"$RESULTS/conv-$c_l.txt" 2>&1; then
        cat "$RESULTS/conv-$c_l.txt"; pass "live-$c_l"
    else
        cat "$RESULTS/conv-$c_l.txt"; fail "live-$c_l" "our lvconvert $* on the active LV"
    fi
    dmsetup table | grep "^$VG-" || true
}
synced() {   # synced LABEL HEALTH
    check "resync-$1" run ours lvwait --sync --timeout 120 "$VG/lv"
    check "healthy-$1" test "$(health lv)" = "$2"
    datacheck "$1"
    check "lvm2-vgck-$1" run lvm vgck "$VG"
    ours vgcfgbackup -f "/tmp/vg-$1.vg" "$VG" >/dev/null 2>&1
    check "no-rebuild-flag-$1" sh -c "test -s /tmp/vg-$1.vg && ! grep -q REBUILD /tmp/vg-$1.vg"
}

check pvcreate run ours pvcreate "$D0" "$D1" "$D2" "$D3" "$D4"
check vgcreate run ours vgcreate -s 4m "$VG" "$D0" "$D1" "$D2" "$D3" "$D4"
check lvcreate run ours lvcreate -an -y -n lv -L 8m "$VG" "$D0"
check lvchange-ay run ours lvchange -ay "$VG/lv"
dd if=/dev/urandom of=/tmp/a.dat bs=1M count=8 2>/dev/null
SUM=$(sha256sum </tmp/a.dat | cut -d' ' -f1)
check write dd if=/tmp/a.dat of="/dev/$VG/lv" bs=1M conv=fsync

# --- linear -> raid1 ------------------------------------------------------------
conv lin-raid1 -y -m 1 "$VG/lv" "$D1"
check is-raid1 test "$(ours lvs --noheadings -o segtype "$VG/lv" | tr -d ' ')" = raid1
synced raid1-2 AA
expect_devs raid1-2 lv lv_rimage_0 lv_rimage_1 lv_rmeta_0 lv_rmeta_1

# --- -m +1 ------------------------------------------------------------------------
conv plus1 -y -m +1 "$VG/lv" "$D2"
synced raid1-3 AAA
expect_devs raid1-3 lv lv_rimage_0 lv_rimage_1 lv_rimage_2 lv_rmeta_0 lv_rmeta_1 lv_rmeta_2

# --- --replace of a healthy image (d1 -> d3) ---------------------------------------
conv replace -y --replace "$D1" "$VG/lv" "$D3"
check replaced-off-d1 sh -c "! LVM_SYSTEM_DIR=$OURS_ETC $OURS lvs --noheadings -a -o devices $VG | grep -q '$D1'"
synced replaced AAA
expect_devs replaced lv lv_rimage_0 lv_rimage_1 lv_rimage_2 lv_rmeta_0 lv_rmeta_1 lv_rmeta_2

# --- -m -1 from d0 (image 0 goes, images 1/2 shift down and are renamed) -----------
conv minus1 -y -m -1 "$VG/lv" "$D0"
check off-d0 sh -c "! LVM_SYSTEM_DIR=$OURS_ETC $OURS lvs --noheadings -a -o devices $VG | grep -q '$D0'"
synced raid1-2b AA
expect_devs raid1-2b lv lv_rimage_0 lv_rimage_1 lv_rmeta_0 lv_rmeta_1

# --- --splitmirrors 1 -n split: lv becomes linear, split stays active ---------------
conv split -y --splitmirrors 1 -n split "$VG/lv"
check now-linear test "$(ours lvs --noheadings -o segtype "$VG/lv" | tr -d ' ')" = linear
datacheck split-lv
datacheck split-split split
expect_devs split lv split
check lvm2-vgck-split run lvm vgck "$VG"

# --- everything again from a fresh activation ---------------------------------------
check vgchange-an run ours vgchange -an "$VG"
expect_devs an
check vgchange-ay run ours vgchange -ay "$VG"
datacheck reactivated-lv
datacheck reactivated-split split
check vgchange-an-2 run ours vgchange -an "$VG"
finish
