#!/bin/sh
# Debian's real lvm2 creates a VG with linear, striped, raid1 and raid5 LVs and
# writes data; this project's lvm reads the same disks and reports what lvm2
# reports (except the activation-state characters of lv_attr), and vgck passes.
. ./lib.sh
VG=vglvm2
D0=$(dev d0); D1=$(dev d1); D2=$(dev d2); D3=$(dev d3)
note "disks: $D0 $D1 $D2 $D3"
lvm version | head -n 1

check lvm2-pvcreate run lvm pvcreate -y "$D0" "$D1" "$D2" "$D3"
check lvm2-vgcreate run lvm vgcreate "$VG" "$D0" "$D1" "$D2" "$D3"
check lvm2-lvcreate-linear run lvm lvcreate -y -n lin -L 12m "$VG"
check lvm2-lvcreate-striped run lvm lvcreate -y -n str -i 2 -I 64k -L 16m "$VG"
check lvm2-lvcreate-raid1 run lvm lvcreate -y --type raid1 -m 1 -n r1 -L 16m "$VG"
check lvm2-lvcreate-raid5 run lvm lvcreate -y --type raid5 -i 2 -n r5 -L 16m "$VG"
check lvm2-sync-r1 wait_sync "$VG/r1" 300
check lvm2-sync-r5 wait_sync "$VG/r5" 300
for lv in lin str r1 r5; do
    check "write-$lv" dd if=/dev/urandom of="/dev/mapper/$VG-$lv" bs=1M count=4 conv=fsync
done
check lvm2-resync-r1 wait_sync "$VG/r1" 300
check lvm2-resync-r5 wait_sync "$VG/r5" 300

O="-a -o lv_name,lv_attr,segtype,stripes,devices --reportformat json"
# lv_attr: 5th (state) and 6th (open) characters come from the kernel, as do
# the raid image sync flag (I/i, 1st) and the health flag (9th), which this
# project cannot know without device-mapper: mask them on both sides.
mask() {
    sed -e 's/\("lv_attr":"\)\([^"]\)\([^"][^"][^"]\)[^"][^"]\([^"][^"]\)[^"]/\1\2\3..\4./' \
        -e 's/\("lv_attr":"\)[Ii]/\1i/'
}
# shellcheck disable=SC2086
lvm lvs $O "$VG" >"$RESULTS/lvs-active.lvm2.json"
# shellcheck disable=SC2086
ours lvs $O "$VG" >"$RESULTS/lvs.ours.json"
mask <"$RESULTS/lvs-active.lvm2.json" >"$RESULTS/lvs-active.lvm2.masked"
mask <"$RESULTS/lvs.ours.json" >"$RESULTS/lvs.ours.masked"
cat "$RESULTS/lvs.ours.json"
check lvs-json-equal-active diff -u "$RESULTS/lvs-active.lvm2.masked" "$RESULTS/lvs.ours.masked"

check lvm2-vgchange-an run lvm vgchange -an "$VG"
# shellcheck disable=SC2086
lvm lvs $O "$VG" >"$RESULTS/lvs-inactive.lvm2.json"
# shellcheck disable=SC2086
ours lvs $O "$VG" >"$RESULTS/lvs-inactive.ours.json"
mask <"$RESULTS/lvs-inactive.lvm2.json" >"$RESULTS/lvs-inactive.lvm2.masked"
mask <"$RESULTS/lvs-inactive.ours.json" >"$RESULTS/lvs-inactive.ours.masked"
check lvs-json-equal-inactive diff -u "$RESULTS/lvs-inactive.lvm2.masked" "$RESULTS/lvs-inactive.ours.masked"
check lvs-json-equal-inactive-unmasked diff -u "$RESULTS/lvs-inactive.lvm2.json" "$RESULTS/lvs-inactive.ours.json"
check ours-vgck run ours vgck "$VG"
check lvm2-vgck run lvm vgck "$VG"
finish
