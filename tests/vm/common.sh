# shellcheck shell=bash
# common.sh - shared helpers of the VM test harness (sourced, not executed).
# Adapted from the QEMU test recipe; owned by this project (tests/vm/README.md).
#
# Environment knobs (all optional):
#   VMR_CACHE    cache dir for kernel/initramfs/rootfs   (default: tests/vm/cache)
#   KERNEL_PKG   Debian kernel package to boot, e.g. linux-image-6.1.0-56-amd64
#                (default: whatever the linux-image-amd64 metapackage depends on)
#   KERNEL_DEB   path to an already downloaded linux-image-*.deb (skips apt-get download)
#   ACCEL        kvm | tcg | auto (default auto: probe KVM once, fall back to TCG)

set -euo pipefail

VMR_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VMR_CACHE="${VMR_CACHE:-$VMR_DIR/cache}"
mkdir -p "$VMR_CACHE"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"

# apt-get with retries: the Debian mirror occasionally fails a single fetch
# (we saw a spurious "rename failed" from apt once); a retry fixes it.
apt_install() {
    local i
    export DEBIAN_FRONTEND=noninteractive
    for i in 1 2 3; do
        if apt-get install -y --no-install-recommends "$@"; then return 0; fi
        log "apt-get install failed (try $i), retrying after apt-get update"
        apt-get update || true
        sleep 3
    done
    die "apt-get install $* failed"
}

# Install host packages only if a needed command is missing (keeps reruns fast).
ensure_host_tools() {
    local need=()
    # fresh machines/containers often have no package lists yet
    if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
        log "no apt package lists: running apt-get update"
        apt-get update || die "apt-get update failed"
    fi
    command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
    dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
    command -v cpio   >/dev/null || need+=(cpio)
    command -v depmod >/dev/null || need+=(kmod)
    command -v lvm    >/dev/null || need+=(lvm2)
    command -v socat  >/dev/null || need+=(socat)
    command -v mke2fs >/dev/null || need+=(e2fsprogs)
    command -v gzip   >/dev/null || need+=(gzip)
    command -v bc     >/dev/null || need+=(bc)
    if [ "${#need[@]}" -gt 0 ]; then
        log "installing host packages: ${need[*]}"
        apt_install "${need[@]}"
    fi
}

# Resolve the kernel package name and make sure the .deb is in the cache.
# Sets KERNEL_PKG, KVER, KDIR (extracted package root).
fetch_kernel() {
    if [ -n "${KERNEL_DEB:-}" ]; then
        [ -f "$KERNEL_DEB" ] || die "KERNEL_DEB=$KERNEL_DEB not found"
        KERNEL_PKG="$(dpkg-deb -f "$KERNEL_DEB" Package)"
    else
        if [ -z "${KERNEL_PKG:-}" ]; then
            KERNEL_PKG="$(apt-cache depends linux-image-amd64 2>/dev/null \
                | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
            [ -n "$KERNEL_PKG" ] || die "cannot resolve linux-image-amd64 (did apt-get update run?)"
        fi
        KERNEL_DEB="$(ls "$VMR_CACHE"/debs/"${KERNEL_PKG}"_*_amd64.deb 2>/dev/null | head -n1 || true)"
        if [ -z "$KERNEL_DEB" ]; then
            mkdir -p "$VMR_CACHE/debs"
            log "downloading $KERNEL_PKG"
            # apt-get download normally drops privileges to _apt, which cannot
            # write into root-only dirs (e.g. under /root) and then warns
            # "Download is performed unsandboxed"; download as root directly.
            (cd "$VMR_CACHE/debs" && apt-get -o APT::Sandbox::User=root download "$KERNEL_PKG") \
                || die "apt-get download $KERNEL_PKG failed"
            KERNEL_DEB="$(ls "$VMR_CACHE"/debs/"${KERNEL_PKG}"_*_amd64.deb | head -n1)"
        fi
    fi
    KVER="${KERNEL_PKG#linux-image-}"
    KDIR="$VMR_CACHE/kernel-$KVER"
    if [ ! -f "$KDIR/.extracted" ]; then
        log "extracting $KERNEL_DEB"
        rm -rf "$KDIR"; mkdir -p "$KDIR"
        dpkg-deb -x "$KERNEL_DEB" "$KDIR"
        touch "$KDIR/.extracted"
    fi
    [ -f "$KDIR/boot/vmlinuz-$KVER" ] || die "no vmlinuz in $KERNEL_DEB"
    export KERNEL_PKG KVER KDIR
}

# Tiny busybox initramfs used by the accelerator probe (and step 1 smoke test).
build_probe_initramfs() {
    local out="$VMR_CACHE/probe.cpio.gz" d
    [ -f "$out" ] && { echo "$out"; return; }
    d="$(mktemp -d)"
    mkdir -p "$d"/{bin,proc,sys,dev}
    cp /bin/busybox "$d/bin/busybox"
    cat >"$d/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
echo "=== /proc/misc ==="; cat /proc/misc
echo "=== uptime: $(cat /proc/uptime) ==="
echo "@@PROBE-OK@@"
poweroff -f
EOF
    chmod +x "$d/init"
    (cd "$d" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
    rm -rf "$d"
    echo "$out"
}

# Decide between KVM and TCG.  Result is cached per kernel in $VMR_CACHE/accel.
#
# Why a probe and not just "[ -w /dev/kvm ]": on some sandboxes /dev/kvm is
# provided by kvm_pvm (Ant Group's "Pagetable-based Virtual Machine"), which
# only runs PVM-aware guest kernels.  A stock Debian kernel gets stuck in the
# bootstrap (instruction-emulated) mode, i.e. inside the kernel decompressor,
# for ever.  So we boot the tiny probe initramfs with a short timeout.
detect_accel() {
    local want="${ACCEL:-auto}" cache="$VMR_CACHE/accel-$KVER" probe t0 t1
    case "$want" in
        kvm|tcg) echo "$want"; return ;;
        auto) ;;
        *) die "ACCEL must be kvm, tcg or auto" ;;
    esac
    if [ -f "$cache" ]; then cat "$cache"; return; fi
    if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
        log "no usable /dev/kvm -> tcg"; echo tcg | tee "$cache"; return
    fi
    if [ -d /sys/module/kvm_pvm ]; then
        log "NOTE: /dev/kvm is backed by kvm_pvm (PVM); stock kernels do not boot there, probing anyway"
    fi
    probe="$(build_probe_initramfs)"
    t0=$(date +%s.%N)
    if timeout "${KVM_PROBE_TIMEOUT:-45}" qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 \
            -nodefaults -no-user-config -display none -serial stdio -no-reboot \
            -kernel "$KDIR/boot/vmlinuz-$KVER" -initrd "$probe" \
            -append "console=ttyS0 panic=-1 quiet" </dev/null 2>&1 | grep -q '@@PROBE-OK@@'; then
        t1=$(date +%s.%N)
        log "KVM probe booted in $(echo "$t1 - $t0" | bc) s -> kvm"
        echo kvm | tee "$cache"
    else
        log "KVM probe did not finish within ${KVM_PROBE_TIMEOUT:-45}s -> tcg"
        echo tcg | tee "$cache"
    fi
}

# qemu accelerator arguments for the chosen mode.
accel_args() {
    case "$1" in
        kvm) echo "-accel kvm -cpu host" ;;
        # multi-threaded TCG uses all host cores for an -smp N guest
        tcg) echo "-accel tcg,thread=multi,tb-size=256 -cpu max" ;;
    esac
}

# ---------------------------------------------------------------------------
# Scratch/job/results disks and the qemu launcher shared by both variants.
# ---------------------------------------------------------------------------

# make_disks <dir> <n> <size>: sparse raw images d0..d{n-1}.img (kept if they exist)
make_disks() {
    local dir="$1" n="$2" size="$3" i
    mkdir -p "$dir"
    for ((i = 0; i < n; i++)); do
        [ -f "$dir/d$i.img" ] || truncate -s "$size" "$dir/d$i.img"
    done
}

# disk_args <dir> <n> <omit-list>: qemu args for the scratch disks, serial d<i>,
# qdev id d<i> (use that id with QMP device_del).  Disks in <omit-list> are left
# out, which looks to the guest exactly like a disk that was pulled while off.
disk_args() {
    local dir="$1" n="$2" omit=" ${3:-} " i
    for ((i = 0; i < n; i++)); do
        case "$omit" in *" $i "*) continue ;; esac
        printf -- '-drive file=%s,format=raw,if=none,id=drv%s,cache=unsafe,aio=threads ' "$dir/d$i.img" "$i"
        printf -- '-device virtio-blk-pci,drive=drv%s,id=d%s,serial=d%s ' "$i" "$i" "$i"
    done
}

# qmp <socket> <json>: send one QMP command (after the mandatory handshake).
qmp() {
    printf '{"execute":"qmp_capabilities"}\n%s\n' "$2" | socat -t 3 - "UNIX-CONNECT:$1" 2>&1 || true
}

# run_vm <outdir> <timeout-s> <qemu args...>
# Runs qemu with the serial console on stdout, copies it to <outdir>/serial.log,
# and implements the tiny host<->guest protocol on the console:
#   guest prints  "@@QMP <json>"       -> host sends <json> to the QMP socket
#                                        (reply appended to <outdir>/qmp.log)
#   guest prints  "@@VMTEST-RC=<n>@@"  -> guest's job exit status
# <outdir>/serial.timed.log has the same lines prefixed with host seconds since start.
# Returns the guest's rc, 124 on timeout, 125 if the guest never reported one.
run_vm() {
    local out="$1" tmo="$2"; shift 2
    local qsock="$out/qmp.sock" rc line t0
    local -            # keep the caller's set -e/-u state untouched
    set +e
    mkdir -p "$out"; rm -f "$qsock" "$out/serial.log" "$out/serial.timed.log" "$out/qmp.log"
    t0=$(date +%s.%N)
    local us0=${EPOCHREALTIME/./} us
    timeout -k 10 "$tmo" qemu-system-x86_64 "$@" \
        -nodefaults -no-user-config -display none -no-reboot \
        -serial stdio -qmp "unix:$qsock,server=on,wait=off" </dev/null 2>&1 |
    while IFS= read -r line; do
        line="${line%$'\r'}"
        printf '%s\n' "$line" >>"$out/serial.log"
        us=$(( ${EPOCHREALTIME/./} - us0 ))
        printf '[%4d.%02d] %s\n' $((us / 1000000)) $((us % 1000000 / 10000)) "$line" >>"$out/serial.timed.log"
        [ -n "${VMR_QUIET:-}" ] || printf '%s\n' "$line" >&2
        case "$line" in
            *"@@QMP "*)
                { echo ">>> ${line#*@@QMP }"; qmp "$qsock" "${line#*@@QMP }"; echo; } >>"$out/qmp.log" ;;
        esac
    done
    rc=${PIPESTATUS[0]}
    log "qemu exited rc=$rc after $(echo "$(date +%s.%N) - $t0" | bc) s"
    [ "$rc" = 124 ] || [ "$rc" = 137 ] && return 124
    line="$(grep -ao '@@VMTEST-RC=[0-9]*@@' "$out/serial.log" | tail -n1)"
    [ -n "$line" ] || return 125
    rc="${line#@@VMTEST-RC=}"; rc="${rc%@@}"
    return "$rc"
}

# The Debian mirror apt is configured with (debootstrap must use the same one:
# in CI nothing else is reachable).  Override with DEBIAN_MIRROR=...
debian_mirror() {
    local m=""
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
    # deb822 *.sources: first stanza whose Suites has plain "bookworm"
    if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
        m="$(awk -v RS= '
            { uris=""; suites=""
              n = split($0, L, "\n")
              for (i = 1; i <= n; i++) {
                  if (L[i] ~ /^URIs:/)   { sub(/^URIs:[ \t]*/, "", L[i]); uris = L[i] }
                  if (L[i] ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", L[i]); suites = " " L[i] " " }
              }
              if (suites ~ / bookworm / && uris != "") { split(uris, U, /[ \t]+/); print U[1]; exit } }' \
            /etc/apt/sources.list.d/*.sources)"
    fi
    if [ -z "$m" ]; then
        m="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | awk '$1=="deb" && $3=="bookworm" {for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}')"
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

# If apt uses an HTTP proxy, debootstrap (wget) must use it too.
export_apt_proxy() {
    local p
    p="$(apt-config shell P Acquire::http::Proxy 2>/dev/null | sed -n "s/^P='\(.*\)'$/\1/p")"
    if [ -n "$p" ] && [ -z "${http_proxy:-}" ]; then export http_proxy="$p"; log "using apt proxy $p"; fi
}
