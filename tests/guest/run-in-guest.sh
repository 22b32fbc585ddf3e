#!/bin/bash
# run-in-guest.sh CACHE_DIR -- COMMAND [ARG...]
# Run one command in a throwaway QEMU guest (TCG, -M microvm) booted with Debian's
# kernel from CACHE_DIR (built by build-guest-kernel.sh), on this host's own root
# filesystem shared read-only over 9p: same binaries and libraries, but a kernel
# with device-mapper, loop, tun, bridge and nf_tables. Inside the guest the command
# runs as root in a chroot of the host's /, in the caller's working directory, with
# BANGER_GUEST=1 set, tmpfs on /tmp, /var/tmp, /run and /var/lib/banger (a checkout
# under /tmp or /var/tmp stays visible through them, read-only), and only
# `lo` as network (the host's network is never touched).
# The guest's console (the command's stdout and stderr) is streamed to stdout.
# Exit status: the command's, read from a private writable share the guest writes
# it to (QEMU's own exit code says nothing about the command); 1 with a message
# when the guest reported none (boot failure, crash, timeout).
# Environment: GUEST_TIMEOUT seconds (default 600), GUEST_MEM MiB (default 1024),
# GUEST_CPUS (default 1), GUEST_KERNEL_ARGS appended to the kernel command line,
# BANGER_QEMU_BIN (default qemu-system-x86_64 from PATH).
set -euo pipefail

me=run-in-guest
usage() { echo "usage: $0 CACHE_DIR -- COMMAND [ARG...]" >&2; exit 2; }
die() { echo "$me: error: $*" >&2; exit 1; }
[ $# -ge 3 ] && [ "$2" = -- ] || usage
CACHE_DIR=$1
shift 2

# vmlinux (uncompressed, PVH entry) boots seconds faster under TCG than vmlinuz.
KERNEL=$CACHE_DIR/vmlinux
[ -s "$KERNEL" ] || KERNEL=$CACHE_DIR/vmlinuz
INITRD=$CACHE_DIR/initrd.gz
HOW="build them with $(dirname "$0")/build-guest-kernel.sh $CACHE_DIR"
[ -s "$KERNEL" ] || die "no guest kernel $KERNEL; $HOW"
[ -s "$INITRD" ] || die "no guest initramfs $INITRD; $HOW"
KERNEL=$(realpath "$KERNEL")
INITRD=$(realpath "$INITRD")
QEMU=${BANGER_QEMU_BIN:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null || die "QEMU not found: $QEMU (apt-get install qemu-system-x86)"
TIMEOUT=${GUEST_TIMEOUT:-600}
MEM=${GUEST_MEM:-1024}
CPUS=${GUEST_CPUS:-1}
for v in TIMEOUT MEM CPUS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "GUEST_$v must be a positive integer, not '${!v}'"
done

# --- private dir: the writable share (cmd, status) and the console log -----------
TMP=$(mktemp -d "$(realpath "${TMPDIR:-/tmp}")/banger-guest.XXXXXX")
QPID=
cleanup() {
    [ -z "$QPID" ] || kill "$QPID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "$me: interrupted: stopping the guest" >&2; exit 130' INT
trap 'echo "$me: terminated: stopping the guest" >&2; exit 143' TERM HUP
SHARE=$TMP/share
LOG=$TMP/console.log
mkdir "$SHARE"

quote() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }  # one word for /bin/sh

# The guest has its own tmpfs on /tmp and /var/tmp. A checkout there (the
# working directory, the command) would vanish in it: the guest keeps the
# top folder of each (e.g. /tmp/ci-check) visible, read-only, through /out/keep.
for p in "$PWD" "$(realpath -m "$1")"; do
    case $p in
        /tmp/?*|/var/tmp/?*)
            rest=${p#/tmp/}; top=/tmp
            case $p in /var/tmp/*) rest=${p#/var/tmp/}; top=/var/tmp ;; esac
            echo "$top/${rest%%/*}" ;;
    esac
done | sort -u >"$SHARE/keep"
{
    # /tmp, /var/tmp and /run are the guest's own tmpfs: a cwd there does not exist inside
    printf 'cd %s 2>/dev/null || { printf "%%s: note: %%s does not exist in the guest; running in /\\n" %s %s >&2; cd /; }\n' \
        "$(quote "$PWD")" "$me" "$(quote "$PWD")"
    sep=
    for a in "$@"; do printf '%s%s' "$sep" "$(quote "$a")"; sep=' '; done
    printf '\n'
} >"$SHARE/cmd"

# Under TCG a microvm guest has no timer to calibrate its TSC against and may hang
# at boot; tell it the host's frequency (as the QEMU driver does).
# tsc=reliable: TCG's TSC follows the host clock, while jiffies lag on a loaded host;
# without it the clocksource watchdog drops the TSC for 4 ms jiffies mid-test.
APPEND="console=ttyS0 panic=-1 quiet"
KHZ=$(awk -F: '/^cpu MHz/{printf "%d", $2 * 1000; exit}' /proc/cpuinfo)
[ -z "$KHZ" ] || [ "$KHZ" = 0 ] || APPEND+=" tsc_early_khz=$KHZ tsc=reliable"
[ -z "${GUEST_KERNEL_ARGS:-}" ] || APPEND+=" $GUEST_KERNEL_ARGS"

T0=$(date +%s.%N)
mkfifo "$TMP/console.fifo"
# \r: the serial console ends lines with CRLF
stdbuf -oL tr -d '\r' <"$TMP/console.fifo" | tee "$LOG" &
TEE=$!
timeout -k 5 "$TIMEOUT" "$QEMU" -M microvm -accel tcg -m "$MEM" -smp "$CPUS" \
    -nodefaults -no-user-config -display none -no-reboot -serial stdio \
    -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" \
    -fsdev local,id=fs0,path=/,security_model=passthrough,readonly=on,multidevs=remap \
    -device virtio-9p-device,fsdev=fs0,mount_tag=hostroot \
    -fsdev local,id=fs1,path="$SHARE",security_model=passthrough \
    -device virtio-9p-device,fsdev=fs1,mount_tag=out \
    </dev/null >"$TMP/console.fifo" 2>&1 &
QPID=$!
qrc=0
wait "$QPID" || qrc=$?
QPID=
wait "$TEE" || true
WALL=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')

if [ -f "$SHARE/status" ] && [[ $(cat "$SHARE/status") =~ ^[0-9]+$ ]]; then
    status=$(cat "$SHARE/status")
    echo "$me: command exited with status $status (guest wall time $WALL s)" >&2
    exit "$status"
fi
why="QEMU exited with status $qrc"
[ "$qrc" != 124 ] && [ "$qrc" != 137 ] || why="timed out after $TIMEOUT s (GUEST_TIMEOUT); QEMU was killed"
{
    echo "$me: error: guest did not report a status ($why, after $WALL s)"
    echo "$me: last lines of the guest console:"
    tail -n 30 "$LOG" | sed 's/^/    /'
} >&2
exit 1
