#!/bin/bash
# Build the throwaway test guest (see run-in-guest.sh) from Debian packages only:
#   CACHE_DIR/vmlinuz    kernel of Debian's linux-image-amd64 (not installed on the host):
#                        it has device-mapper, loop and 9p as modules, this host's kernel
#                        has no device-mapper at all
#   CACHE_DIR/vmlinux    the same kernel uncompressed (booted through its PVH entry: no
#                        xz decompression under TCG, seconds less per boot)
#   CACHE_DIR/initrd.gz  gzip'd newc cpio: busybox-static, the modules below laid out as
#                        /lib/modules/<release>/ (with depmod's indexes, so the kernel can
#                        also autoload e.g. nft expressions through busybox modprobe) and
#                        tests/guest/guest-init as /init
#   CACHE_DIR/debs/      the downloaded kernel .deb, reused while its version is current
# Idempotent: CACHE_DIR/.build-stamp records the input versions/hashes; nothing is
# rebuilt when they are unchanged and both outputs exist. Concurrent runs on one
# CACHE_DIR serialise on CACHE_DIR/.lock.
# The approach (kernel via apt-get download, depmod, module order from modules.dep,
# busybox initramfs) is the one of scripts/build-demo-artifacts.sh.
# Needs (host): apt-get, apt-cache, dpkg-deb, kmod (depmod), busybox-static, cpio, gzip, flock.
set -euo pipefail

usage() { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
CACHE_DIR=$1
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GUEST_INIT=$SCRIPT_DIR/guest-init
# Loaded by /init in this order after their dependencies (from modules.dep);
# builtins are skipped. Without these the runner is useless.
REQUIRED_MODULES="virtio_ring virtio virtio_mmio netfs fscache 9pnet 9pnet_virtio 9p
                  dm-mod dm-bufio dm-snapshot loop"
# Best effort, so that the real `banger apply` (taps, bridges, veths, nftables NAT)
# and filesystem tests (reflink on btrfs/xfs, ext4 images) can run in the guest.
# crc32c_generic first: libcrc32c asks the crypto API for "crc32c" when it loads.
OPTIONAL_MODULES="crc32c_generic tun bridge veth
                  nf_tables nft_chain_nat nf_nat nf_conntrack nft_fib nft_fib_ipv4
                  nft_masq nft_nat nft_ct"
# Filesystems: in the initramfs but not loaded at boot (under TCG they cost ~2 s per
# boot, btrfs benchmarks raid6): the kernel loads them on first mount through
# busybox modprobe and the aliases depmod writes (fs-btrfs, ...).
ONDEMAND_MODULES="overlay ext4 xfs btrfs"

die() { echo "build-guest-kernel: error: $*" >&2; exit 1; }
log() { echo "build-guest-kernel: $*" >&2; }

for tool in apt-get apt-cache dpkg-deb dpkg-query depmod cpio gzip sha256sum flock; do
    command -v "$tool" >/dev/null || die "missing host tool: $tool"
done
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do [ -x "$b" ] && BUSYBOX=$b && break; done
[ -n "$BUSYBOX" ] || die "busybox not found (apt-get install busybox-static)"
! LC_ALL=C ldd "$BUSYBOX" >/dev/null 2>&1 || die "$BUSYBOX is dynamically linked; install busybox-static"
BUSYBOX_VER=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null) || die "package busybox-static is not installed"
[ -f "$GUEST_INIT" ] || die "missing $GUEST_INIT"

# --- resolve kernel package --------------------------------------------------
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KPKG" ] || die "cannot resolve the kernel package linux-image-amd64 depends on (run apt-get update?)"
KPKG_VER=$(apt-cache policy "$KPKG" | awk '/Candidate:/{print $2}')
[ -n "$KPKG_VER" ] && [ "$KPKG_VER" != "(none)" ] || die "no candidate version for $KPKG"
KPKG_SHA=$(apt-cache show "$KPKG=$KPKG_VER" 2>/dev/null | awk '/^SHA256:/{print $2; exit}')
KREL=${KPKG#linux-image-}

mkdir -p "$CACHE_DIR"
CACHE_DIR=$(cd "$CACHE_DIR" && pwd)
exec 9>"$CACHE_DIR/.lock"
flock 9
STAMP=$CACHE_DIR/.build-stamp
stamp_content() {
    echo "format=2"
    echo "kernel=$KPKG=$KPKG_VER"
    echo "busybox-static=$BUSYBOX_VER"
    echo "busybox-sha256=$(sha256sum "$BUSYBOX" | cut -d' ' -f1)"
    echo "modules=$(echo $REQUIRED_MODULES) / $(echo $OPTIONAL_MODULES) / $ONDEMAND_MODULES"
    for f in "${BASH_SOURCE[0]}" "$GUEST_INIT"; do
        echo "input $(basename "$f")=$(sha256sum "$f" | cut -d' ' -f1)"
    done
}
WANT_STAMP=$(stamp_content)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT_STAMP" ] \
   && [ -s "$CACHE_DIR/vmlinuz" ] && [ -s "$CACHE_DIR/initrd.gz" ] \
   && (cd "$CACHE_DIR" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1); then
    log "up to date ($KPKG $KPKG_VER, busybox-static $BUSYBOX_VER): $CACHE_DIR"
    exit 0
fi

T0=$(date +%s.%N)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/banger-guest-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# --- kernel (the .deb is kept in CACHE_DIR/debs while it is the current version) ---
DEBS=$CACHE_DIR/debs
mkdir -p "$DEBS"
deb_ok() {  # FILE: the archive's hash matches the one apt lists (or is readable when apt lists none)
    [ -s "$1" ] || return 1
    if [ -n "$KPKG_SHA" ]; then [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$KPKG_SHA" ]
    else dpkg-deb --info "$1" >/dev/null 2>&1; fi
}
DEB=
for f in "$DEBS/${KPKG}_"*.deb; do
    [ -e "$f" ] || continue
    if [ "$(dpkg-deb -f "$f" Version 2>/dev/null)" = "$KPKG_VER" ] && deb_ok "$f"; then DEB=$f; else rm -f "$f"; fi
done
if [ -z "$DEB" ]; then
    log "downloading $KPKG=$KPKG_VER"
    mkdir -p "$WORK/dl" && chmod 755 "$WORK" "$WORK/dl"   # _apt must be able to write here
    (cd "$WORK/dl" && apt-get download -q "$KPKG=$KPKG_VER" >/dev/null 2>"$WORK/apt.err") \
        || { cat "$WORK/apt.err" >&2; die "apt-get download $KPKG failed"; }
    f=$(ls "$WORK/dl"/*.deb)
    deb_ok "$f" || die "downloaded $f does not match the SHA256 apt lists ($KPKG_SHA)"
    DEB=$DEBS/${f##*/}
    mv -f "$f" "$DEB"
else
    log "reusing $DEB"
fi
dpkg-deb -x "$DEB" "$WORK/k"
[ -f "$WORK/k/boot/vmlinuz-$KREL" ] || die "vmlinuz-$KREL not found in $DEB"
MODDIR=$WORK/k/lib/modules/$KREL
depmod -b "$WORK/k" "$KREL" || die "depmod failed"

# --- module dependency order ----------------------------------------------------
declare -A SEEN=()
ORDER=()
modpath() {  # NAME -> path relative to MODDIR ('' if builtin, fail if absent)
    local n=$1 alt=${1//_/-} alt2=${1//-/_}
    local p
    p=$(awk -F: -v a="$n" -v b="$alt" -v c="$alt2" '{f=$1; sub(/.*\//,"",f); sub(/\.ko(\.[a-z]+)?$/,"",f); if (f==a||f==b||f==c) {print $1; exit}}' "$MODDIR/modules.dep")
    if [ -n "$p" ]; then echo "$p"; return 0; fi
    if grep -Eq "/($n|$alt|$alt2)\.ko\$" "$MODDIR/modules.builtin"; then echo ""; return 0; fi
    return 1
}
add_module() {  # NAME required|optional|ondemand
    local name=$1 need=$2 p deps d
    if ! p=$(modpath "$name"); then
        [ "$need" != required ] && { log "warning: optional module $name not found in $KREL"; return 0; }
        die "module $name is neither built in nor a module of $KREL"
    fi
    [ -n "$p" ] || { log "$name is built into the kernel"; return 0; }
    [ -z "${SEEN[$p]:-}" ] || return 0
    SEEN[$p]=1
    deps=$(awk -F: -v m="$p" '$1==m{print $2; exit}' "$MODDIR/modules.dep")
    # modules.dep lists deps so that loading them right-to-left works
    for d in $(echo $deps | tr ' ' '\n' | tac); do
        d=${d##*/}; d=${d%%.ko*}
        add_module "$d" "$need"
    done
    ORDER+=("$p $need")
}
for m in $REQUIRED_MODULES; do add_module "$m" required; done
for m in $OPTIONAL_MODULES; do add_module "$m" optional; done
for m in $ONDEMAND_MODULES; do add_module "$m" ondemand; done

# --- initramfs -------------------------------------------------------------------
I=$WORK/initrd
IMOD=$I/lib/modules/$KREL
mkdir -p "$I/bin" "$I/sbin" "$I/usr/bin" "$I/usr/sbin" "$I/dev" "$I/proc" "$I/sys" "$I/host" "$I/out" "$I/tmp" "$IMOD"
cp "$BUSYBOX" "$I/bin/busybox"
ln -s busybox "$I/bin/sh"
mknod -m 600 "$I/dev/console" c 5 1
mknod -m 666 "$I/dev/null" c 1 3
install -m 755 "$GUEST_INIT" "$I/init"
echo "$KREL" >"$I/kernel-release"
: >"$I/modules.load"
for entry in "${ORDER[@]}"; do
    p=${entry% *}; need=${entry#* }
    dst=$IMOD/${p%.ko*}.ko
    mkdir -p "${dst%/*}"
    case "$p" in
        *.ko) cp "$MODDIR/$p" "$dst" ;;
        *.ko.xz) xz -dc "$MODDIR/$p" >"$dst" ;;
        *.ko.zst) zstd -qdc "$MODDIR/$p" >"$dst" ;;
        *.ko.gz) gzip -dc "$MODDIR/$p" >"$dst" ;;
        *) die "unexpected module file $p" ;;
    esac
    # "NAME PATH required|optional|ondemand", PATH relative to /lib/modules/<release>
    echo "$(basename "${p%.ko*}") ${p%.ko*}.ko $need" >>"$I/modules.load"
done
# Indexes for the subset, so that busybox modprobe (the kernel's modprobe helper in
# the guest) resolves aliases such as nft-expr-masq or crypto-crc32c.
cp "$MODDIR/modules.builtin" "$MODDIR/modules.builtin.modinfo" "$MODDIR/modules.order" "$IMOD/"
depmod -b "$I" "$KREL" || die "depmod of the initramfs module subset failed"
log "initramfs modules, loaded at boot in this order: $(awk '$3!="ondemand"{printf "%s ", $1}' "$I/modules.load")"
log "initramfs modules, loaded on demand: $(awk '$3=="ondemand"{printf "%s ", $1}' "$I/modules.load")"
find "$I" -exec touch -h -d @0 {} +
(cd "$I" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6n) >"$WORK/initrd.gz"

# --- uncompressed kernel -----------------------------------------------------------
# Under TCG the bzImage's own xz decompression costs seconds per boot; QEMU boots
# the uncompressed ELF directly through its PVH entry (CONFIG_PVH). Best effort:
# without it run-in-guest.sh boots vmlinuz.
VMLINUZ=$WORK/k/boot/vmlinuz-$KREL
OUTPUTS="vmlinuz initrd.gz"
if grep -q '^CONFIG_PVH=y' "$WORK/k/boot/config-$KREL" 2>/dev/null && command -v xz >/dev/null; then
    off=$(LC_ALL=C grep -m 1 -abo $'\xfd7zXZ\x00' "$VMLINUZ" | head -n 1 | cut -d: -f1 || true)
    # (a file, not a pipe: xz stops after the stream and pipefail would see tail's SIGPIPE)
    if [ -n "$off" ] && tail -c +$((off + 1)) "$VMLINUZ" >"$WORK/payload.xz" \
       && xz -dc --single-stream "$WORK/payload.xz" >"$WORK/vmlinux" 2>/dev/null \
       && [ "$(head -c 4 "$WORK/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then
        OUTPUTS="$OUTPUTS vmlinux"
    else
        rm -f "$WORK/vmlinux"
        log "warning: could not extract an uncompressed vmlinux from $VMLINUZ; the guest boots the slower vmlinuz"
    fi
fi

# --- install atomically ----------------------------------------------------------
rm -f "$STAMP" "$CACHE_DIR/vmlinux"
cp "$VMLINUZ" "$CACHE_DIR/vmlinuz.tmp" && mv -f "$CACHE_DIR/vmlinuz.tmp" "$CACHE_DIR/vmlinuz"
mv -f "$WORK/initrd.gz" "$CACHE_DIR/initrd.gz"
[ ! -f "$WORK/vmlinux" ] || mv -f "$WORK/vmlinux" "$CACHE_DIR/vmlinux"
(cd "$CACHE_DIR" && sha256sum $OUTPUTS >SHA256SUMS.tmp && mv -f SHA256SUMS.tmp SHA256SUMS)
echo "$WANT_STAMP" >"$STAMP"
T1=$(date +%s.%N)
log "built in $(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b-a}') s: $CACHE_DIR ($KPKG $KPKG_VER, initrd $(du -k "$CACHE_DIR/initrd.gz" | cut -f1) KiB)"
