#!/bin/sh
# This project's lvm writes 5 PVs, a VG and LVs; Debian's real lvm2 activates
# them, data survives deactivate/activate, and both report the same LVs.
. ./lib.sh
VG=vgours
D0=$(dev d0); D1=$(dev d1); D2=$(dev d2); D3=$(dev d3); D4=$(dev d4)
note "disks: $D0 $D1 $D2 $D3 $D4"
ours version 2>/dev/null | head -n 3

check ours-pvcreate run ours pvcreate "$D0" "$D1" "$D2" "$D3" "$D4"
check ours-vgcreate run ours vgcreate "$VG" "$D0" "$D1" "$D2" "$D3" "$D4"
check ours-lvcreate-linear run ours lvcreate -n lin -L 12m "$VG"
check ours-lvcreate-striped run ours lvcreate -n str -i 2 -I 64k -L 16m "$VG"
LVS="lin str"
RAIDS=""
# RAID creation is being added to this project: use each type that it accepts
for t in raid1 raid5 raid6 raid10; do
    case $t in
        raid1) a="-m 1" ;; raid5) a="-i 2" ;; raid6) a="-i 3" ;; raid10) a="-i 2 -m 1" ;;
    esac
    echo "+ ours lvcreate --type $t $a -n r_$t -L 16m $VG"
    # shellcheck disable=SC2086
    if ours lvcreate --type $t $a -n "r_$t" -L 16m "$VG" >"$RESULTS/lvcreate-$t.txt" 2>&1; then
        pass "ours-lvcreate-$t"; LVS="$LVS r_$t"; RAIDS="$RAIDS r_$t"
    else
        sed 's/^/  | /' "$RESULTS/lvcreate-$t.txt"
        note "SKIP $t: this project's lvcreate refused --type $t"
    fi
done
ours lvs -a -o lv_name,lv_attr,segtype,stripes,lv_size,devices "$VG"

# --- real lvm2 from here ---------------------------------------------------
lvm version | head -n 3
check lvm2-vgck run lvm vgck "$VG"
check lvm2-vgchange-ay run lvm vgchange -ay "$VG"
lvm lvs -a -o lv_name,lv_attr,segtype,stripes,lv_size,devices,sync_percent "$VG"
dmsetup table | sort
for lv in $RAIDS; do check "lvm2-sync-$lv" wait_sync "$VG/$lv" 300; done

for lv in $LVS; do
    dd if=/dev/urandom of="/tmp/$lv.dat" bs=1M count=4 2>/dev/null
    sha256sum <"/tmp/$lv.dat" | cut -d' ' -f1 >"/tmp/$lv.sum"
    check "write-$lv" dd if="/tmp/$lv.dat" of="/dev/mapper/$VG-$lv" bs=1M conv=fsync
done
for lv in $RAIDS; do check "lvm2-resync-$lv" wait_sync "$VG/$lv" 300; done
check lvm2-vgchange-an run lvm vgchange -an "$VG"
check lvm2-vgchange-ay-again run lvm vgchange -ay "$VG"
for lv in $LVS; do
    got="$(dd if="/dev/mapper/$VG-$lv" bs=1M count=4 2>/dev/null | sha256sum | cut -d' ' -f1)"
    if [ "$got" = "$(cat "/tmp/$lv.sum")" ]; then pass "readback-$lv"
    else fail "readback-$lv" "sha256 $got != $(cat "/tmp/$lv.sum")"; fi
done
lvm vgchange -an "$VG"

# --- both tools report the same LVs and VG -----------------------------------
F="--noheadings --units b --nosuffix"
# shellcheck disable=SC2086
lvm lvs $F -o lv_name,segtype,stripes,lv_size "$VG" | sed 's/^ *//; s/  */ /g' | sort >"$RESULTS/lvs.lvm2"
# shellcheck disable=SC2086
ours lvs $F -o lv_name,segtype,stripes,lv_size "$VG" | sed 's/^ *//; s/  */ /g' | sort >"$RESULTS/lvs.ours"
check lvs-equal diff -u "$RESULTS/lvs.lvm2" "$RESULTS/lvs.ours"
# shellcheck disable=SC2086
lvm vgs $F -o vg_name,vg_attr,pv_count,lv_count,vg_size,vg_free "$VG" | sed 's/^ *//; s/  */ /g' >"$RESULTS/vgs.lvm2"
# shellcheck disable=SC2086
ours vgs $F -o vg_name,vg_attr,pv_count,lv_count,vg_size,vg_free "$VG" | sed 's/^ *//; s/  */ /g' >"$RESULTS/vgs.ours"
# shellcheck disable=SC2086
lvm lvs -a $F -o lv_name,segtype,stripes,lv_size,devices "$VG" | sed 's/^ *//; s/  */ /g' | sort >"$RESULTS/lvs-a.lvm2"
# shellcheck disable=SC2086
ours lvs -a $F -o lv_name,segtype,stripes,lv_size,devices "$VG" | sed 's/^ *//; s/  */ /g' | sort >"$RESULTS/lvs-a.ours"
check lvs-a-devices-equal diff -u "$RESULTS/lvs-a.lvm2" "$RESULTS/lvs-a.ours"
check vgs-equal diff -u "$RESULTS/vgs.lvm2" "$RESULTS/vgs.ours"
finish
