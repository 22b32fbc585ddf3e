#!/bin/bash
# Build the banger demo guest artifacts from Debian packages only:
#   CACHE_DIR/vmlinuz      kernel of Debian's linux-image-amd64 (not installed on the host)
#   CACHE_DIR/initrd.img   gzip'd newc cpio: busybox-static + virtio/ext4 modules + /init
#   CACHE_DIR/rootfs.ext4  64 MiB ext4 (mke2fs -d, no loop mount): busybox + /sbin/init web server
#                          + Debian's dropbear SSH server with its libraries
#   CACHE_DIR/SHA256SUMS
# Idempotent: CACHE_DIR/.build-stamp records the input versions/hashes; nothing is
# rebuilt when they are unchanged and all outputs exist.
# Needs (host): apt-get, dpkg-deb, kmod (depmod), busybox-static, dropbear-bin, e2fsprogs, cpio, gzip.
set -euo pipefail

usage() { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
CACHE_DIR=$1
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GUEST_DIR=$SCRIPT_DIR/demo-guest
ROOTFS_SIZE=64M
# Wanted modules (deps are added from modules.dep, builtins are skipped).
REQUIRED_MODULES="virtio_mmio virtio_blk virtio_net crc32c_generic ext4"
OPTIONAL_MODULES="button evdev"   # ACPI power button -> /dev/input/eventN (system_powerdown)

die() { echo "build-demo-artifacts: error: $*" >&2; exit 1; }
log() { echo "build-demo-artifacts: $*" >&2; }

for tool in apt-get apt-cache dpkg-deb dpkg-query depmod mke2fs cpio gzip sha256sum; do
    command -v "$tool" >/dev/null || die "missing host tool: $tool"
done
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do [ -x "$b" ] && BUSYBOX=$b && break; done
[ -n "$BUSYBOX" ] || die "busybox not found (apt-get install busybox-static)"
file_is_static() { ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }
file_is_static "$BUSYBOX" || die "$BUSYBOX is dynamically linked; install busybox-static"
BUSYBOX_VER=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null) || die "package busybox-static is not installed"
DROPBEAR=/usr/sbin/dropbear
[ -x "$DROPBEAR" ] || die "dropbear not found (apt-get install dropbear-bin)"
DROPBEAR_VER=$(dpkg-query -W -f='${Version}' dropbear-bin 2>/dev/null) || die "package dropbear-bin is not installed"
[ -f "$GUEST_DIR/initrd-init" ] && [ -f "$GUEST_DIR/rootfs-init" ] || die "missing $GUEST_DIR/{initrd-init,rootfs-init}"

# --- resolve kernel package --------------------------------------------------
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KPKG" ] || die "cannot resolve the kernel package linux-image-amd64 depends on (run apt-get update?)"
KPKG_VER=$(apt-cache policy "$KPKG" | awk '/Candidate:/{print $2}')
[ -n "$KPKG_VER" ] && [ "$KPKG_VER" != "(none)" ] || die "no candidate version for $KPKG"
KREL=${KPKG#linux-image-}

mkdir -p "$CACHE_DIR"
CACHE_DIR=$(cd "$CACHE_DIR" && pwd)
STAMP=$CACHE_DIR/.build-stamp
stamp_content() {
    echo "format=1"
    echo "kernel=$KPKG=$KPKG_VER"
    echo "busybox-static=$BUSYBOX_VER"
    echo "busybox-sha256=$(sha256sum "$BUSYBOX" | cut -d' ' -f1)"
    echo "dropbear-bin=$DROPBEAR_VER"
    echo "modules=$REQUIRED_MODULES / $OPTIONAL_MODULES"
    echo "rootfs-size=$ROOTFS_SIZE"
    for f in "${BASH_SOURCE[0]}" "$GUEST_DIR"/*; do
        echo "input $(basename "$f")=$(sha256sum "$f" | cut -d' ' -f1)"
    done
}
WANT_STAMP=$(stamp_content)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT_STAMP" ] \
   && [ -s "$CACHE_DIR/vmlinuz" ] && [ -s "$CACHE_DIR/initrd.img" ] && [ -s "$CACHE_DIR/rootfs.ext4" ] \
   && (cd "$CACHE_DIR" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1); then
    log "up to date ($KPKG $KPKG_VER, busybox-static $BUSYBOX_VER): $CACHE_DIR"
    exit 0
fi

T0=$(date +%s.%N)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/banger-demo-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"   # _apt must be able to write the download here

# --- kernel ------------------------------------------------------------------
log "downloading $KPKG=$KPKG_VER"
(cd "$WORK" && apt-get download -q "$KPKG=$KPKG_VER" >/dev/null 2>"$WORK/apt.err") \
    || { cat "$WORK/apt.err" >&2; die "apt-get download $KPKG failed"; }
DEB=$(ls "$WORK"/*.deb)
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
add_module() {  # NAME required|optional
    local name=$1 need=$2 p deps d
    if ! p=$(modpath "$name"); then
        [ "$need" = optional ] && { log "warning: optional module $name not found"; return 0; }
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

# --- initramfs -------------------------------------------------------------------
I=$WORK/initrd
mkdir -p "$I/bin" "$I/lib/modules" "$I/dev" "$I/proc" "$I/sys" "$I/newroot" "$I/tmp"
cp "$BUSYBOX" "$I/bin/busybox"
ln -s busybox "$I/bin/sh"
mknod -m 600 "$I/dev/console" c 5 1
mknod -m 666 "$I/dev/null" c 1 3
install -m 755 "$GUEST_DIR/initrd-init" "$I/init"
: >"$I/modules.order"
for entry in "${ORDER[@]}"; do
    p=${entry% *}; need=${entry#* }
    base=${p##*/}
    case "$base" in
        *.ko) cp "$MODDIR/$p" "$I/lib/modules/$base" ;;
        *.ko.xz) xz -dc "$MODDIR/$p" >"$I/lib/modules/${base%.xz}" ;;
        *.ko.zst) zstd -qdc "$MODDIR/$p" >"$I/lib/modules/${base%.zst}" ;;
        *.ko.gz) gzip -dc "$MODDIR/$p" >"$I/lib/modules/${base%.gz}" ;;
        *) die "unexpected module file $p" ;;
    esac
    name=${base%%.ko*}
    echo "$name $need" >>"$I/modules.order"
done
log "initramfs modules (load order): $(cut -d' ' -f1 "$I/modules.order" | tr '\n' ' ')"
find "$I" -exec touch -h -d @0 {} +
(cd "$I" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9n) >"$WORK/initrd.img"

# --- root filesystem ---------------------------------------------------------------
R=$WORK/rootfs
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,www,etc,root,run,var/log}
chmod 1777 "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
"$BUSYBOX" --list-full | while read -r applet; do
    [ -e "$R/$applet" ] || [ -L "$R/$applet" ] || ln -s /bin/busybox "$R/$applet"
done
[ -e "$R/bin/sh" ] || ln -s busybox "$R/bin/sh"
rm -f "$R/sbin/init"
install -m 755 "$GUEST_DIR/rootfs-init" "$R/sbin/init"
# The SSH server: Debian's dropbear and the libraries it links (ldd), at the
# same paths. rootfs-init starts it with the host key banger wrote.
cp "$DROPBEAR" "$R/usr/sbin/dropbear"
for lib in $(ldd "$DROPBEAR" | awk '/=> \//{print $3} /^\t\/lib/{print $1}'); do
    real=$(readlink -f "$lib")
    mkdir -p "$R$(dirname "$lib")"
    cp "$real" "$R$lib"
done
mkdir -p "$R/etc/dropbear" "$R/dev/pts"
chmod 700 "$R/root"
echo "/bin/sh" >"$R/etc/shells"
echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"
find "$R" -exec touch -h -d @0 {} +
E2FSPROGS_FAKE_TIME=1 mke2fs -q -F -t ext4 -L banger-demo -U 6b616e67-6572-4465-8d6f-000000000001 \
    -E root_owner=0:0,hash_seed=6b616e67-6572-4465-8d6f-000000000002 \
    -d "$R" "$WORK/rootfs.ext4" "$ROOTFS_SIZE" >/dev/null || die "mke2fs failed"

# --- install atomically ----------------------------------------------------------
rm -f "$STAMP"
cp "$WORK/k/boot/vmlinuz-$KREL" "$CACHE_DIR/vmlinuz.tmp" && mv -f "$CACHE_DIR/vmlinuz.tmp" "$CACHE_DIR/vmlinuz"
mv -f "$WORK/initrd.img" "$CACHE_DIR/initrd.img"
mv -f "$WORK/rootfs.ext4" "$CACHE_DIR/rootfs.ext4"
(cd "$CACHE_DIR" && sha256sum vmlinuz initrd.img rootfs.ext4 >SHA256SUMS.tmp && mv -f SHA256SUMS.tmp SHA256SUMS)
echo "$WANT_STAMP" >"$STAMP"
T1=$(date +%s.%N)
log "built in $(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b-a}') s: $CACHE_DIR ($KPKG $KPKG_VER)"
