#!/bin/bash
# build-initramfs.sh - Variant A: a self-contained initramfs test guest.
#
# Produces:
#   cache/vmlinuz                  the stock Debian kernel (copied from the .deb)
#   cache/initramfs.cpio.gz        busybox + kmod + Debian lvm2/dmsetup (+ shared libs via ldd)
#                                  + the md/dm/raid/virtio kernel modules with modules.dep
#
# The guest /init (see below) finds its disks by virtio serial number:
#   serial "job"      : a tar archive holding run.sh (+ anything else, e.g. your binaries)
#   serial "results"  : blank disk, receives a tar of /results at the end
#   anything else     : scratch disks, symlinked as /dev/disk/by-id/virtio-<serial>
# It runs /job/run.sh, prints "@@VMTEST-RC=<n>@@" on the serial console, writes
# /results (including rc) to the results disk and powers off.
#
# usage: ./build-initramfs.sh            (env: KERNEL_PKG, KERNEL_DEB, EXTRA_BINS)
#   EXTRA_BINS="path1 path2"  extra host binaries to copy (with their libs) into /usr/bin
source "$(dirname "$0")/common.sh"

T0=$(date +%s)
ensure_host_tools
fetch_kernel

OUT="$VMR_CACHE/initramfs.cpio.gz"
STAMP_WANT="$( { cat "$VMR_DIR/build-initramfs.sh" "$VMR_DIR/common.sh"; echo "$KVER ${EXTRA_BINS:-} ${EXTRA_MODS:-}"; dpkg-query -W lvm2 dmsetup kmod e2fsprogs busybox-static; } | sha256sum | cut -c1-16)"
if [ -z "${FORCE:-}" ] && [ -f "$OUT" ] && [ "$(cat "$VMR_CACHE/initramfs.stamp" 2>/dev/null)" = "$STAMP_WANT" ]; then
    log "initramfs is up to date (stamp $STAMP_WANT); FORCE=1 to rebuild"
    exit 0
fi

OUT="$VMR_CACHE/initramfs.cpio.gz"
ROOT="$(mktemp -d /tmp/vmr-initramfs.XXXXXX)"
trap 'rm -rf "$ROOT"' EXIT

mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc/lvm,proc,sys,dev,run,tmp,job,results,mnt}

# --- busybox (static) provides the shell and coreutils-like applets ----------
cp /bin/busybox "$ROOT/bin/busybox"

# --- dynamically linked Debian binaries + their shared libraries ---------------
copy_bin() { # copy binary $1 to $ROOT$2 and every library ldd reports
    local src="$1" dst="$2" lib
    install -D -m 0755 "$src" "$ROOT$dst"
    for lib in $(ldd "$src" 2>/dev/null | awk '/=>/ {print $3} /^\s*\/lib/ {print $1}'); do
        [ -f "$lib" ] || continue
        [ -e "$ROOT$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$ROOT$lib"
    done
}
copy_bin /sbin/lvm          /sbin/lvm
copy_bin /sbin/dmsetup      /sbin/dmsetup
copy_bin /bin/kmod          /bin/kmod
copy_bin /sbin/mke2fs       /sbin/mke2fs
copy_bin /sbin/e2fsck       /sbin/e2fsck
copy_bin /usr/bin/lsblk     /usr/bin/lsblk
# Rust binaries shipped by the tests (tests/vm/run-all) need libgcc_s too
for l in /lib/x86_64-linux-gnu/libgcc_s.so.1; do install -D -m 0755 "$(readlink -f "$l")" "$ROOT$l"; done
for b in ${EXTRA_BINS:-}; do copy_bin "$b" "/usr/bin/$(basename "$b")"; done
# the dynamic loader itself (ldd prints it without "=>")
install -D -m 0755 "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$ROOT/lib64/ld-linux-x86-64.so.2"
[ -e "$ROOT/lib/x86_64-linux-gnu" ] || mkdir -p "$ROOT/lib/x86_64-linux-gnu"

# kmod multiplexes on argv[0]; lvm on argv[0] too (pvcreate -> lvm pvcreate)
for a in modprobe insmod rmmod lsmod depmod modinfo; do ln -sf /bin/kmod "$ROOT/sbin/$a"; done
for a in pvcreate pvs pvscan pvremove pvmove pvchange pvresize pvdisplay pvck \
         vgcreate vgs vgscan vgchange vgremove vgextend vgreduce vgdisplay vgcfgbackup vgcfgrestore vgck vgmknodes vgimportdevices \
         lvcreate lvs lvscan lvchange lvremove lvconvert lvextend lvreduce lvresize lvrename lvdisplay; do
    ln -sf lvm "$ROOT/sbin/$a"
done
ln -sf mke2fs "$ROOT/sbin/mkfs.ext4"
ln -sf e2fsck "$ROOT/sbin/fsck.ext4"

# --- kernel modules: closure of what we need, with a fresh modules.dep --------
MODS="virtio_pci virtio_blk virtio_rng dm_mod dm_raid raid0 raid1 raid10 raid456 md_mod
      dm_mirror dm_log dm_region_hash dm_snapshot dm_zero dm_delay dm_flakey dm_integrity
      loop ext4 crc32c_generic ${EXTRA_MODS:-}"
[ -f "$KDIR/lib/modules/$KVER/modules.dep" ] || depmod -b "$KDIR" "$KVER"
for m in $MODS; do
    modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | sort -u | while read -r ko; do
    rel="${ko#"$KDIR"}"
    install -D -m 0644 "$ko" "$ROOT$rel"
done
cp "$KDIR/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$ROOT/lib/modules/$KVER/"
depmod -b "$ROOT" "$KVER"

# --- lvm.conf for a guest without udev ---------------------------------------
cat >"$ROOT/etc/lvm/lvm.conf" <<'EOF'
# No udev in this guest: libdevmapper creates /dev/mapper nodes itself.
devices {
    obtain_device_list_from_udev = 0
    external_device_info_source = "none"
    use_devicesfile = 0
}
activation {
    udev_sync = 0
    udev_rules = 0
    verify_udev_operations = 0
    monitoring = 0          # no dmeventd in the initramfs
}
global {
    use_lvmpolld = 0        # lvm polls in-process instead
}
backup {
    backup = 1
    archive = 0
}
EOF

# --- /init -------------------------------------------------------------------
cat >"$ROOT/init" <<'EOF'
#!/bin/busybox sh
# Variant A guest init: mount, load modules, run /job/run.sh, save results, power off.
/bin/busybox --install -s /bin
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/disk/by-id /run/lock/lvm /run/lvm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mkdir -p /run/lock/lvm /run/lvm
mount -t tmpfs tmpfs /tmp
ln -sf /proc/self/fd /dev/fd

say() { echo "@@VMTEST $*" > /dev/console; }
finish() {
    rc="$1"
    echo "$rc" > /results/rc
    dmesg > /results/dmesg.txt 2>/dev/null
    if [ -n "$RESDEV" ]; then
        (cd /results && tar -cf "$RESDEV" .) && sync
    fi
    echo "@@VMTEST-RC=$rc@@" > /dev/console
    poweroff -f
}

say "init start uptime=$(cut -d' ' -f1 /proc/uptime)"
# base modules: virtio disks + the whole md/dm raid stack
for m in virtio_pci virtio_blk virtio_rng dm_mod dm_raid raid0 raid1 raid10 raid456 \
         dm_mirror dm_snapshot dm_zero loop; do
    modprobe "$m" || say "modprobe $m failed"
done
# wait for the virtio disks
i=0; while [ -z "$(ls /sys/block | grep '^vd')" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
sleep 0.3
JOBDEV=; RESDEV=
for b in /sys/block/vd*; do
    n="${b##*/}"; s="$(cat "$b/serial" 2>/dev/null)"
    [ -n "$s" ] && ln -sf "../../$n" "/dev/disk/by-id/virtio-$s"
    case "$s" in
        job) JOBDEV="/dev/$n" ;;
        results) RESDEV="/dev/$n" ;;
    esac
done
say "disks: $(for b in /sys/block/vd*; do printf '%s=%s ' "${b##*/}" "$(cat $b/serial)"; done)"
[ -n "$JOBDEV" ] || { say "no job disk"; finish 254; }
tar -xf "$JOBDEV" -C /job || { say "cannot unpack job"; finish 253; }
export JOBDEV RESDEV RESULTS=/results
say "running job uptime=$(cut -d' ' -f1 /proc/uptime)"
cd /job
( sh ./run.sh 2>&1; echo $? > /tmp/job-rc ) | tee /results/console.txt > /dev/console
rc="$(cat /tmp/job-rc 2>/dev/null || echo 252)"
say "job done rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
finish "$rc"
EOF
chmod 0755 "$ROOT/init"

# --- pack --------------------------------------------------------------------
(cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -6) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cp "$KDIR/boot/vmlinuz-$KVER" "$VMR_CACHE/vmlinuz"
echo "$KVER" >"$VMR_CACHE/initramfs.kver"
echo "$STAMP_WANT" >"$VMR_CACHE/initramfs.stamp"
log "initramfs: $OUT ($(du -h "$OUT" | cut -f1), $(du -sh "$ROOT" | cut -f1) unpacked), kernel $KVER"
log "build-initramfs took $(( $(date +%s) - T0 )) s"
