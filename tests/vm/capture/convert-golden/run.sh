#!/bin/sh
# Guest job of tests/vm/capture-convert-golden: real lvm2 (Debian 12, 2.03.16)
# runs every RAID conversion on a real kernel (dm-raid) and every step is
# recorded under /results/convert-golden/<case>/<NN-label>/:
#   argv        the command, one argument per line (device paths as in the guest)
#   rc stdout stderr
#   lvs.json    lvs -a -o $LVSF --units b --reportformat json VG, just after the step
#   vgcfg       vgcfgbackup -f of the VG just after the step
#   pvs.json    pvs -o pv_name,pv_uuid --reportformat json
#   dmsetup-table.txt dmsetup-status.txt   just after the step
#   lvs.synced.json vgcfg.synced   after waiting for the sync, only if they differ
#   sync-timeout   present if the LVs did not reach 100% within SYNC_TIMEOUT
# Each case starts from wiped disks: pvcreate + vgcreate of all NDISKS disks, in
# order d0..d7, are its first two steps.  devmap.txt maps dN to the guest node
# and its major:minor; the host (capture-convert-golden) rewrites device names
# to @dN and writes manifest.json.
. ./lib.sh
VG=vgc
N=8
SYNC_TIMEOUT=180
LVSF=lv_name,lv_attr,segtype,stripes,stripe_size,region_size,devices,seg_pe_ranges,lv_size
OUTD="$RESULTS/convert-golden"
mkdir -p "$OUTD"
i=0; ALL=""
while [ $i -lt $N ]; do
    eval "D$i=\$(dev d$i)"
    eval "gd=\$D$i"
    ALL="$ALL $gd"
    echo "d$i $gd $(cat /sys/block/${gd#/dev/}/dev)" >>"$OUTD/devmap.txt"
    i=$((i + 1))
done
cat "$OUTD/devmap.txt"
{
    lvm version
    echo "--- lvm config (effective values used by the conversions)"
    lvm config --typeconfig full global/mirror_segtype_default global/raid10_segtype_default \
        allocation/raid_stripe_all_devices activation/raid_region_size allocation/mirror_logs_require_separate_pvs \
        allocation/raid_stripe_all_devices 2>&1
    echo "--- /etc/lvm/lvm.conf"
    cat /etc/lvm/lvm.conf
    echo "--- disks"
    for gd in $ALL; do echo "$gd $(cat /sys/block/${gd#/dev/}/size) sectors"; done
} >"$OUTD/lvm2-info.txt" 2>&1

waitsync() { # waitsync STEPDIR: every raid LV of VG at 100% (sync or reshape)
    ws_t=0
    while :; do
        ws_p="$(lvm lvs --noheadings -o sync_percent "$VG" 2>/dev/null | tr -d ' ' | grep -v '^$' | grep -v '^100.00$')"
        [ -z "$ws_p" ] && return 0
        if [ "$ws_t" -ge "$SYNC_TIMEOUT" ]; then
            echo "$ws_p" >"$1/sync-timeout"; echo "    sync timeout: $ws_p"; return 1
        fi
        sleep 1; ws_t=$((ws_t + 1))
    done
}

snap() { # snap STEPDIR
    lvm lvs -a -o "$LVSF" --units b --reportformat json "$VG" >"$1/lvs.json" 2>"$1/lvs.err"
    [ -s "$1/lvs.err" ] || rm -f "$1/lvs.err"
    lvm vgcfgbackup -f "$1/vgcfg" "$VG" >/dev/null 2>&1 || rm -f "$1/vgcfg"
    lvm pvs -o pv_name,pv_uuid --reportformat json >"$1/pvs.json" 2>/dev/null
    dmsetup table >"$1/dmsetup-table.txt" 2>&1
    dmsetup status >"$1/dmsetup-status.txt" 2>&1
    waitsync "$1"
    lvm lvs -a -o "$LVSF" --units b --reportformat json "$VG" >"$1/lvs.synced.json" 2>/dev/null
    cmp -s "$1/lvs.json" "$1/lvs.synced.json" && rm -f "$1/lvs.synced.json"
    if [ -f "$1/vgcfg" ]; then
        lvm vgcfgbackup -f "$1/vgcfg.synced" "$VG" >/dev/null 2>&1
        [ "$(grep '^seqno' "$1/vgcfg")" = "$(grep '^seqno' "$1/vgcfg.synced")" ] && rm -f "$1/vgcfg.synced"
    fi
}

LAST=""
step() { # step LABEL CMD...: run, record, snapshot; returns CMD's rc
    S=$((S + 1)); LAST="$CD/$(printf %02d "$S")-$1"; shift
    mkdir -p "$LAST"
    printf '%s\n' "$@" >"$LAST/argv"
    echo "+ $*"
    "$@" </dev/null >"$LAST/stdout" 2>"$LAST/stderr"
    st_rc=$?
    echo "$st_rc" >"$LAST/rc"
    cat "$LAST/stdout" "$LAST/stderr" | sed 's/^/    | /'
    [ "$st_rc" = 0 ] || echo "    (rc=$st_rc)"
    snap "$LAST"
    return "$st_rc"
}

# stepr LABEL CMD...: step, then repeat it (label-again, -again2) while lvm2 says
# "Repeat this command" (takeovers that go through an interim type)
stepr() {
    sr_l="$1"; shift
    step "$sr_l" "$@"; sr_rc=$?
    sr_n=0
    while grep -q "Repeat this command" "$LAST/stdout" "$LAST/stderr" && [ $sr_n -lt 3 ]; do
        sr_n=$((sr_n + 1))
        step "$sr_l-again$sr_n" "$@"; sr_rc=$?
    done
    return $sr_rc
}

# begin NAME DESCRIPTION: wipe all disks, then pvcreate + vgcreate as steps 01, 02
begin() {
    lvm vgremove -ff -y "$VG" >/dev/null 2>&1
    # shellcheck disable=SC2086
    lvm pvremove -ff -y $ALL >/dev/null 2>&1
    for gd in $ALL; do dd if=/dev/zero of="$gd" bs=1M count=4 conv=fsync 2>/dev/null; done
    [ -z "$(dmsetup ls 2>/dev/null | grep -v 'No devices')" ] || { echo "leftover dm devices:"; dmsetup ls; dmsetup remove_all; }
    CD="$OUTD/$1"; S=0
    mkdir -p "$CD"
    echo "$2" >"$CD/description"
    echo "=== case $1: $2"
    # shellcheck disable=SC2086
    step pvcreate lvm pvcreate -y $ALL
    # shellcheck disable=SC2086
    step vgcreate lvm vgcreate -s 4m "$VG" $ALL
}

L="$VG/lv"
# ------------------------------------------------------------------ raid1 images
begin linear_to_raid1_type "linear -> raid1 with --type raid1 -m1, then back with -m0"
step lvcreate lvm lvcreate -y -n lv -L 8m "$VG"
step to-raid1 lvm lvconvert -y --type raid1 -m1 "$L"
step to-linear lvm lvconvert -y -m0 "$L"

begin linear_to_raid1_m1 "linear -> raid1 with plain -m1 (mirror_segtype_default=raid1)"
step lvcreate lvm lvcreate -y -n lv -L 8m "$VG"
step m1 lvm lvconvert -y -m1 "$L"

begin linear_to_raid1_pv "linear -> raid1 -m1 onto an explicit PV (d3)"
step lvcreate lvm lvcreate -y -n lv -L 8m "$VG"
step to-raid1-d3 lvm lvconvert -y --type raid1 -m1 "$L" "$D3"

begin linear_to_raid1_m2 "linear -> 3-way raid1 in one step (-m2)"
step lvcreate lvm lvcreate -y -n lv -L 8m "$VG"
step m2 lvm lvconvert -y --type raid1 -m2 "$L"

begin raid1_up_down "raid1 -m1 -> -m2 -> -m1 -> -m0 (linear)"
step lvcreate lvm lvcreate -y --type raid1 -m1 -n lv -L 8m "$VG"
step m2 lvm lvconvert -y -m2 "$L"
step m1 lvm lvconvert -y -m1 "$L"
step m0 lvm lvconvert -y -m0 "$L"

begin raid1_plus2 "raid1 -m1 -> -m +2 (4 images) -> -m -1"
step lvcreate lvm lvcreate -y --type raid1 -m1 -n lv -L 8m "$VG"
step mplus2 lvm lvconvert -y -m +2 "$L"
step mminus1 lvm lvconvert -y -m -1 "$L"

begin raid1_remove_pv "3-way raid1: remove the images on given PVs (first image: names shift)"
step lvcreate lvm lvcreate -y --type raid1 -m2 -n lv -L 8m "$VG"
step m1-d0 lvm lvconvert -y -m1 "$L" "$D0"
step m2-d4 lvm lvconvert -y -m2 "$L" "$D4"
step m1-d2 lvm lvconvert -y -m1 "$L" "$D2"
step m0-d1 lvm lvconvert -y -m0 "$L" "$D1"

begin raid1_refusals "raid1 refusals: -m same count, -m1 with a PV holding no image"
step lvcreate lvm lvcreate -y --type raid1 -m1 -n lv -L 8m "$VG"
step m1-same lvm lvconvert -y -m1 "$L"
step m0-d5 lvm lvconvert -y -m0 "$L" "$D5"
step type-raid1-m1 lvm lvconvert -y --type raid1 -m1 "$L"

# ------------------------------------------------------------------ split
begin split_3way "split one image off a 3-way raid1"
step lvcreate lvm lvcreate -y --type raid1 -m2 -n lv -L 8m "$VG"
step split lvm lvconvert -y --splitmirrors 1 -n split "$L"

begin split_2way "split a 2-way raid1 (without -y, then with -y)"
step lvcreate lvm lvcreate -y --type raid1 -m1 -n lv -L 8m "$VG"
step split-noy lvm lvconvert --splitmirrors 1 -n split "$L" ||
    step split-y lvm lvconvert -y --splitmirrors 1 -n split "$L"

begin split_pv "split the image on a given PV (d0) off a 3-way raid1"
step lvcreate lvm lvcreate -y --type raid1 -m2 -n lv -L 8m "$VG"
step split-d0 lvm lvconvert -y --splitmirrors 1 -n split "$L" "$D0"

begin split_track_merge "--splitmirrors 1 --trackchanges, -m+1 refused while tracking, --merge back"
step lvcreate lvm lvcreate -y --type raid1 -m2 -n lv -L 8m "$VG"
step track lvm lvconvert -y --splitmirrors 1 --trackchanges "$L"
step mplus1-refused lvm lvconvert -y -m +1 "$L"
step track-again lvm lvconvert -y --splitmirrors 1 --trackchanges "$L"
step merge lvm lvconvert -y --merge "$VG/lv_rimage_2"

begin split_track_2way "--trackchanges on a 2-way raid1, then merge"
step lvcreate lvm lvcreate -y --type raid1 -m1 -n lv -L 8m "$VG"
step track lvm lvconvert -y --splitmirrors 1 --trackchanges "$L"
step merge lvm lvconvert -y --merge "$VG/lv_rimage_1"

begin split_track_then_split "tracked image split off for good"
step lvcreate lvm lvcreate -y --type raid1 -m2 -n lv -L 8m "$VG"
step track lvm lvconvert -y --splitmirrors 1 --trackchanges "$L"
step split lvm lvconvert -y --splitmirrors 1 -n split "$L" ||
    step split-d2 lvm lvconvert -y --splitmirrors 1 -n split "$L" "$D2"

begin split_track_other_pv "tracking: splitting an image other than the tracked one is refused"
step lvcreate lvm lvcreate -y --type raid1 -m2 -n lv -L 8m "$VG"
step track lvm lvconvert -y --splitmirrors 1 --trackchanges "$L"
step split-d0 lvm lvconvert -y --splitmirrors 1 -n split "$L" "$D0"

# ------------------------------------------------------------------ replace
begin replace_raid1 "--replace on raid1: allocator's choice, then an explicit target PV"
step lvcreate lvm lvcreate -y --type raid1 -m1 -n lv -L 8m "$VG"
step replace-d0 lvm lvconvert -y --replace "$D0" "$L"
step replace-d1-to-d5 lvm lvconvert -y --replace "$D1" "$L" "$D5"
step replace-unused lvm lvconvert -y --replace "$D7" "$L"

begin replace_raid5 "--replace on raid5 (3 devices)"
step lvcreate lvm lvcreate -y --type raid5 -i2 -n lv -L 16m "$VG"
step replace-d1 lvm lvconvert -y --replace "$D1" "$L"
step replace-d0-to-d6 lvm lvconvert -y --replace "$D0" "$L" "$D6"

begin replace_raid6 "--replace two devices at once on raid6 (5 devices)"
step lvcreate lvm lvcreate -y --type raid6 -i3 -n lv -L 12m "$VG"
step replace-d0-d1 lvm lvconvert -y --replace "$D0" --replace "$D1" "$L"
step replace-d2-d3-to-d0-d1 lvm lvconvert -y --replace "$D2" --replace "$D3" "$L" "$D0" "$D1"

begin replace_raid10 "--replace on raid10 (4 devices), explicit target"
step lvcreate lvm lvcreate -y --type raid10 -i2 -m1 -n lv -L 16m "$VG"
step replace-d2-to-d6 lvm lvconvert -y --replace "$D2" "$L" "$D6"
step replace-d0 lvm lvconvert -y --replace "$D0" "$L"

begin replace_refusals "--replace refusals: all images of raid1, too many on raid5"
step lvcreate lvm lvcreate -y --type raid5 -i2 -n lv -L 16m "$VG"
step replace-two-raid5 lvm lvconvert -y --replace "$D0" --replace "$D1" "$L"
step lvcreate-r1 lvm lvcreate -y --type raid1 -m1 -n r1 -L 8m "$VG"
step replace-all-raid1 lvm lvconvert -y --replace "$D3" --replace "$D4" "$VG/r1"

# ------------------------------------------------------------------ region size
begin region_raid1 "-R on raid1: change, same again, too large"
step lvcreate lvm lvcreate -y --type raid1 -m1 -n lv -L 8m "$VG"
step R1m lvm lvconvert -y -R 1m "$L"
step R1m-again lvm lvconvert -y -R 1m "$L"
step R256k lvm lvconvert -y -R 256k "$L"
step R16m lvm lvconvert -y -R 16m "$L"

begin region_raid5 "-R on raid5"
step lvcreate lvm lvcreate -y --type raid5 -i2 -n lv -L 16m "$VG"
step R512k lvm lvconvert -y -R 512k "$L"
step R512k-again lvm lvconvert -y -R 512k "$L"

# ------------------------------------------------------------------ takeover
begin takeover_striped_raid0 "striped <-> raid0 <-> raid0_meta"
step lvcreate lvm lvcreate -y -i2 -I64k -n lv -L 16m "$VG"
stepr to-raid0 lvm lvconvert -y --type raid0 "$L"
stepr to-raid0_meta lvm lvconvert -y --type raid0_meta "$L"
stepr to-raid0 lvm lvconvert -y --type raid0 "$L"
stepr to-striped lvm lvconvert -y --type striped "$L"

begin takeover_raid0_meta_striped "raid0_meta -> striped directly, striped -> raid0_meta"
step lvcreate lvm lvcreate -y --type raid0_meta -i2 -n lv -L 16m "$VG"
stepr to-striped lvm lvconvert -y --type striped "$L"
stepr to-raid0_meta lvm lvconvert -y --type raid0_meta "$L"

begin takeover_raid0_chain "raid0 -> raid4 -> raid5_n -> raid6_n_6 -> raid5_n -> raid4 -> raid0 -> striped"
step lvcreate lvm lvcreate -y --type raid0 -i2 -n lv -L 16m "$VG"
stepr to-raid4 lvm lvconvert -y --type raid4 "$L"
stepr to-raid5_n lvm lvconvert -y --type raid5_n "$L"
stepr to-raid6_n_6 lvm lvconvert -y --type raid6_n_6 "$L"
stepr to-raid5_n lvm lvconvert -y --type raid5_n "$L"
stepr to-raid4 lvm lvconvert -y --type raid4 "$L"
stepr to-raid0 lvm lvconvert -y --type raid0 "$L"
stepr to-striped lvm lvconvert -y --type striped "$L"

begin takeover_raid0_3_raid6 "raid0 with 3 stripes -> raid6_n_6 -> raid0"
step lvcreate lvm lvcreate -y --type raid0 -i3 -n lv -L 12m "$VG"
stepr to-raid6_n_6 lvm lvconvert -y --type raid6_n_6 "$L"
stepr to-raid0 lvm lvconvert -y --type raid0 "$L"

begin takeover_striped_raid5 "striped -> raid5 (lvm2 picks raid5_n, says to repeat), then raid5 -> striped"
step lvcreate lvm lvcreate -y -i2 -I64k -n lv -L 16m "$VG"
stepr to-raid5 lvm lvconvert -y --type raid5 "$L"
stepr to-striped lvm lvconvert -y --type striped "$L"

begin takeover_striped_raid4 "striped -> raid4 -> striped"
step lvcreate lvm lvcreate -y -i2 -I64k -n lv -L 16m "$VG"
stepr to-raid4 lvm lvconvert -y --type raid4 "$L"
stepr to-striped lvm lvconvert -y --type striped "$L"

begin takeover_striped_raid10 "striped -> raid10, raid10 -> striped"
step lvcreate lvm lvcreate -y -i2 -I64k -n lv -L 16m "$VG"
stepr to-raid10 lvm lvconvert -y --type raid10 "$L"
stepr to-striped lvm lvconvert -y --type striped "$L"

begin takeover_raid10_raid0 "raid10 -> raid0 -> raid10"
step lvcreate lvm lvcreate -y --type raid10 -i2 -m1 -n lv -L 16m "$VG"
stepr to-raid0 lvm lvconvert -y --type raid0 "$L"
stepr to-raid10 lvm lvconvert -y --type raid10 "$L"

begin takeover_raid1_raid5 "raid1 (2 images) -> raid5 -> raid1"
step lvcreate lvm lvcreate -y --type raid1 -m1 -n lv -L 8m "$VG"
stepr to-raid5 lvm lvconvert -y --type raid5 "$L"
stepr to-raid1 lvm lvconvert -y --type raid1 "$L"

begin takeover_raid1_raid5_n "raid1 (2 images) -> raid5_n; linear -> raid1 via raid5? (linear -> raid5)"
step lvcreate lvm lvcreate -y --type raid1 -m1 -n lv -L 8m "$VG"
stepr to-raid5_n lvm lvconvert -y --type raid5_n "$L"
step lvcreate-lin lvm lvcreate -y -n lin -L 8m "$VG"
stepr lin-to-raid5 lvm lvconvert -y --type raid5 "$VG/lin"

begin takeover_raid5_2_raid1 "raid5 with 2 devices (-i1) -> raid1"
step lvcreate lvm lvcreate -y --type raid5 -i1 -n lv -L 8m "$VG"
stepr to-raid1 lvm lvconvert -y --type raid1 "$L"

begin takeover_raid5_ls_raid6 "raid5_ls -> raid6_ls_6 -> raid5_ls"
step lvcreate lvm lvcreate -y --type raid5_ls -i3 -n lv -L 12m "$VG"
stepr to-raid6_ls_6 lvm lvconvert -y --type raid6_ls_6 "$L"
stepr to-raid5_ls lvm lvconvert -y --type raid5_ls "$L"

begin takeover_raid5_raid6 "raid5 (default layout) -> raid6 (default layout): what lvm2 does"
step lvcreate lvm lvcreate -y --type raid5 -i3 -n lv -L 12m "$VG"
stepr to-raid6 lvm lvconvert -y --type raid6 "$L"

begin takeover_raid5_n_raid0 "raid5_n -> raid0 -> raid5_n; raid5_n -> striped"
step lvcreate lvm lvcreate -y --type raid5_n -i2 -n lv -L 16m "$VG"
stepr to-raid0 lvm lvconvert -y --type raid0 "$L"
stepr to-raid5_n lvm lvconvert -y --type raid5_n "$L"
stepr to-striped lvm lvconvert -y --type striped "$L"

begin takeover_raid4_raid6 "raid4 -> raid6 (-> raid6_n_6?) -> raid4"
step lvcreate lvm lvcreate -y --type raid4 -i3 -n lv -L 12m "$VG"
stepr to-raid6 lvm lvconvert -y --type raid6 "$L"
stepr to-raid4 lvm lvconvert -y --type raid4 "$L"

begin takeover_refusals "refusals: raid6 from 2 stripes, -m on raid5, unknown type, raid1 from striped"
step lvcreate lvm lvcreate -y --type raid0 -i2 -n lv -L 16m "$VG"
stepr raid0-to-raid6 lvm lvconvert -y --type raid6 "$L"
step lvcreate-r5 lvm lvcreate -y --type raid5 -i2 -n r5 -L 16m "$VG"
step r5-m1 lvm lvconvert -y -m1 "$VG/r5"
step r5-raid7 lvm lvconvert -y --type raid7 "$VG/r5"
step r5-raid1 lvm lvconvert -y --type raid1 "$VG/r5"
step lvcreate-str lvm lvcreate -y -i2 -I64k -n str -L 16m "$VG"
step str-raid1 lvm lvconvert -y --type raid1 "$VG/str"
step str-mirror lvm lvconvert -y --type raid1 -m1 "$VG/str"
step lvcreate-r6 lvm lvcreate -y --type raid6 -i2 -n r6 -L 16m "$VG"

# ------------------------------------------------------------------ more (second batch)
begin linear_to_raid1_region "linear -> raid1 -m1 with -R 512k"
step lvcreate lvm lvcreate -y -n lv -L 8m "$VG"
step to-raid1-R512k lvm lvconvert -y --type raid1 -m1 -R 512k "$L"

begin split_4way_2 "--splitmirrors 2 off a 4-way raid1 (new LV is a 2-way raid1?)"
step lvcreate lvm lvcreate -y --type raid1 -m3 -n lv -L 8m "$VG"
step split2 lvm lvconvert -y --splitmirrors 2 -n split "$L"

begin images_raid10_m "-m on raid10 (refused?)"
step lvcreate lvm lvcreate -y --type raid10 -i2 -m1 -n lv -L 16m "$VG"
step m2 lvm lvconvert -y -m2 "$L"

begin takeover_raid5_ls_raid0 "raid5 (ls) -> raid0 (via raid5_n?) -> striped"
step lvcreate lvm lvcreate -y --type raid5 -i2 -n lv -L 16m "$VG"
stepr to-raid0 lvm lvconvert -y --type raid0 "$L"
stepr to-striped lvm lvconvert -y --type striped "$L"

begin takeover_raid6_raid5 "raid6 (zr) -> raid5"
step lvcreate lvm lvcreate -y --type raid6 -i3 -n lv -L 12m "$VG"
stepr to-raid5 lvm lvconvert -y --type raid5 "$L"

begin takeover_raid6_n_6_striped "raid6_n_6 -> striped directly"
step lvcreate lvm lvcreate -y --type raid6_n_6 -i3 -n lv -L 12m "$VG"
stepr to-striped lvm lvconvert -y --type striped "$L"

begin takeover_linear_raid0 "linear -> raid0, linear -> striped, linear -> raid4"
step lvcreate lvm lvcreate -y -n lv -L 8m "$VG"
stepr to-raid0 lvm lvconvert -y --type raid0 "$L"
step lvcreate-l2 lvm lvcreate -y -n l2 -L 8m "$VG"
stepr l2-to-striped lvm lvconvert -y --type striped "$VG/l2"
step lvcreate-l3 lvm lvcreate -y -n l3 -L 8m "$VG"
stepr l3-to-raid4 lvm lvconvert -y --type raid4 "$VG/l3"

begin takeover_raid1_3_raid5 "3-way raid1 -> raid5 (refused?)"
step lvcreate lvm lvcreate -y --type raid1 -m2 -n lv -L 8m "$VG"
stepr to-raid5 lvm lvconvert -y --type raid5 "$L"

begin takeover_raid1_raid10 "raid1 -> raid10, raid1 -> raid0"
step lvcreate lvm lvcreate -y --type raid1 -m1 -n lv -L 8m "$VG"
stepr to-raid10 lvm lvconvert -y --type raid10 "$L"
step lvcreate-r2 lvm lvcreate -y --type raid1 -m1 -n r2 -L 8m "$VG"
stepr r2-to-raid0 lvm lvconvert -y --type raid0 "$VG/r2"

begin takeover_striped3_raid6 "striped with 3 stripes -> raid6 (interim raid6_n_6?)"
step lvcreate lvm lvcreate -y -i3 -I64k -n lv -L 12m "$VG"
stepr to-raid6 lvm lvconvert -y --type raid6 "$L"

begin takeover_raid0_meta_raid5 "raid0_meta -> raid5_n -> raid0_meta"
step lvcreate lvm lvcreate -y --type raid0_meta -i2 -n lv -L 16m "$VG"
stepr to-raid5_n lvm lvconvert -y --type raid5_n "$L"
stepr to-raid0_meta lvm lvconvert -y --type raid0_meta "$L"

echo "=== done"
lvm vgremove -ff -y "$VG" >/dev/null 2>&1
exit 0
