#!/bin/bash
# run_disk_bench.sh [BUILD_DIR=build] [N=100]
# Time and space to make N VM disks from a 1 GiB root-filesystem image with
# each disk strategy, through the product path (BUILD_DIR/bench_disks, i.e.
# reconciler/disk_manager), then remove them and check nothing is left.
# Needs root (loop devices, mounts, device-mapper).
#
# The image: a 1 GiB sparse file made an ext4 filesystem holding DATA_MIB of
# incompressible files (/dev/urandom) with `mkfs.ext4 -d` (never mounted on
# the host), so it has both data and holes, like a real root image.
#   reflink   on btrfs and on xfs (-m reflink=1): each made in a sparse 6 GiB
#             file on a loop device, mounted in a private mount namespace
#             (unshare -m), with the image on it (reflink needs one filesystem)
#   copy      on the filesystem holding BUILD_DIR (a sparse copy of the data
#             per disk: N x DATA_MIB; when twice that is more than df's free
#             space, N_COPY=20 disks instead, said in the output)
#   snapshot  in the QEMU test guest (this host's kernel has no device-mapper):
#             the image is made in the guest's /tmp (RAM), from the same files
#   auto      AUTO_N disks on each of them: says which method it picked
# Everything it makes (mounts, loop devices, files) goes at exit, also on
# failure. Ends with a summary table; exits 1 when a run failed.
#
# Environment: DATA_MIB (300), AUTO_N (10), N_COPY (N, or 20 when short of
# space), KEEP_LOG (a file to keep the whole output in), GUEST_CACHE (BUILD_DIR/guest-cache; the guest step is skipped when
# it holds no kernel), GUEST_MEM (MiB, 3072), GUEST_TIMEOUT (s, 1800),
# SKIP="btrfs xfs copy guest" (any of them, to leave runs out).
# BUILD_DIR must not be under /tmp: the guest reads the data files from it.
set -euo pipefail
me=run_disk_bench
die() { echo "$me: error: $*" >&2; exit 1; }

# --- inside the private mount namespace: one filesystem, two runs ------------
if [ "${1:-}" = --in-ns ]; then
    fstype=$2 work=$3 bin=$4 n=$5 auto_n=$6 rootdata=$7
    backing=$work/$fstype.fs mnt=$work/$fstype.mnt loop=
    cleanup_ns() {
        mountpoint -q "$mnt" && umount "$mnt"
        [ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
        rm -f "$backing"
        rmdir "$mnt" 2>/dev/null || true
    }
    trap cleanup_ns EXIT
    truncate -s 6G "$backing"
    loop=$(losetup -f --show "$backing")
    case $fstype in
        btrfs) mkfs.btrfs -q -f "$loop" >/dev/null ;;
        xfs) mkfs.xfs -q -f -m reflink=1 "$loop" >/dev/null ;;
        *) die "unknown filesystem $fstype" ;;
    esac
    mkdir -p "$mnt"
    mount "$loop" "$mnt"
    truncate -s 1G "$mnt/image.ext4"
    mkfs.ext4 -q -F -d "$rootdata" "$mnt/image.ext4"
    rc=0
    echo "### reflink $fstype"
    "$bin" reflink "$mnt/state-reflink" "$mnt/image.ext4" "$n" || rc=1
    echo "### auto $fstype"
    "$bin" auto "$mnt/state-auto" "$mnt/image.ext4" "$auto_n" || rc=1
    exit $rc
fi

[ "$(id -u)" = 0 ] || die "needs root (loop devices, mounts, device-mapper)"
HERE=$(dirname "$(realpath "$0")")
BUILD=$(realpath "${1:-build}")
N=${2:-100}
BIN=$BUILD/bench_disks
DATA_MIB=${DATA_MIB:-300}
AUTO_N=${AUTO_N:-10}
GUEST_CACHE=${GUEST_CACHE:-$BUILD/guest-cache}
SKIP=${SKIP:-}
[ -x "$BIN" ] || die "no $BIN; build it: cmake --build $BUILD --target bench_disks"
for v in N DATA_MIB AUTO_N; do [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"; done
case $BUILD in /tmp/* | /var/tmp/*) die "BUILD_DIR $BUILD is under a tmpfs of the test guest; use another" ;; esac
skipped() { [[ " $SKIP " == *" $1 "* ]]; }

WORK=$(mktemp -d "$BUILD/disk-bench.XXXXXX")
LOG=$WORK/all.log
cleanup() {
    # The namespaced runs clean up after themselves; this is for the rest.
    [ -z "${KEEP_LOG:-}" ] || cp "$LOG" "$KEEP_LOG" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# A root filesystem's worth of files: big libraries, many programs, a few
# larger data files and small config files.
ROOTDATA=$WORK/rootdata
mkdir -p "$ROOTDATA"/{etc,usr/bin,usr/lib/x86_64-linux-gnu,var/lib/db,home,tmp}
left=$((DATA_MIB << 20)) i=0
while [ $left -gt 0 ]; do
    case $((i % 4)) in
        0) f=usr/lib/x86_64-linux-gnu/lib$i.so sz=$((6 << 20)) ;;
        1 | 2) f=usr/bin/prog$i sz=$((1 << 20)) ;;
        3) f=var/lib/db/data$i sz=$((12 << 20)) ;;
    esac
    [ $sz -le $left ] || sz=$left
    head -c $sz /dev/urandom >"$ROOTDATA/$f"
    left=$((left - sz)) i=$((i + 1))
done
for j in $(seq 1 100); do head -c 1500 /dev/urandom | base64 >"$ROOTDATA/etc/conf$j"; done
echo "$me: image data: $(du -sm "$ROOTDATA" | cut -f1) MiB in $(find "$ROOTDATA" -type f | wc -l) files"

rc=0
{
    for fs in btrfs xfs; do
        skipped "$fs" && { echo "$me: $fs skipped (SKIP)"; continue; }
        unshare -m --propagation private "$HERE/$(basename "$0")" --in-ns "$fs" "$WORK" "$BIN" "$N" "$AUTO_N" "$ROOTDATA" || rc=1
    done

    if ! skipped copy; then
        IMG=$WORK/image.ext4
        truncate -s 1G "$IMG"
        mkfs.ext4 -q -F -d "$ROOTDATA" "$IMG"
        alloc=$(($(stat -c %b "$IMG") * 512))
        avail=$(($(df --output=avail -B1 "$WORK" | tail -1)))
        fstype=$(findmnt -n -o FSTYPE -T "$WORK")
        NC=${N_COPY:-$N}
        # The copy run's disks are removed before the auto run makes its own.
        peak=$((NC > AUTO_N ? NC : AUTO_N))
        if [ -z "${N_COPY:-}" ] && [ $((2 * peak * alloc)) -gt "$avail" ]; then
            echo "$me: $peak copies of $((alloc >> 20)) MiB need more than half of the $((avail >> 30)) GiB free on $WORK: N=20 for copy"
            NC=20
        fi
        echo "### copy $fstype"
        "$BIN" copy "$WORK/state-copy" "$IMG" "$NC" || rc=1
        echo "### auto $fstype"
        "$BIN" auto "$WORK/state-auto" "$IMG" "$AUTO_N" || rc=1
        rm -f "$IMG"
    fi

    if skipped guest; then
        echo "$me: guest skipped (SKIP)"
    elif [ ! -s "$GUEST_CACHE/initrd.gz" ]; then
        echo "$me: snapshot skipped: no guest kernel in $GUEST_CACHE (tests/guest/build-guest-kernel.sh $GUEST_CACHE)"
    else
        # In the guest /tmp is RAM: a sparse image, sparse COW files.
        guest_cmd="set -u; truncate -s 1G /tmp/image.ext4 && mkfs.ext4 -q -F -d '$ROOTDATA' /tmp/image.ext4 || exit 1
            rc=0
            echo '### snapshot guest-tmpfs'; '$BIN' snapshot /tmp/state-snap /tmp/image.ext4 $N || rc=1
            echo '### auto guest-tmpfs'; '$BIN' auto /tmp/state-auto /tmp/image.ext4 $AUTO_N || rc=1
            exit \$rc"
        # (cd: the guest runs the command in the caller's cwd, which must exist there)
        (cd "$BUILD" && GUEST_MEM=${GUEST_MEM:-3072} GUEST_TIMEOUT=${GUEST_TIMEOUT:-1800} \
            "$HERE/../tests/guest/run-in-guest.sh" "$GUEST_CACHE" -- sh -c "$guest_cmd") || rc=1
    fi
    exit $rc
} 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}

# --- summary: one row per run, from the key: value lines ----------------------
echo
tr -d '\r' <"$LOG" | awk '
    function row() {
        if (run == "") return
        printf "| %-8s | %-12s | %4s | %-13s | %9s | %10s | %10s | %12s | %11s | %12s | %11s | %9s | %10s | %-9s |\n",
            run, fs, v["disks"], v["method_used"], v["create_total"], v["create_median"], v["create_max"],
            v["allocated_total (st_blocks)"], v["allocated_per_disk (st_blocks)"],
            v["fs_used_delta_total (statvfs)"], v["fs_used_delta_per_disk (statvfs)"],
            v["remove_total"], v["remove_median"], (v["leftovers"] == "" ? "FAILED" : v["leftovers"])
        delete v
    }
    BEGIN {
        printf "| %-8s | %-12s | %4s | %-13s | %9s | %10s | %10s | %12s | %11s | %12s | %11s | %9s | %10s | %-9s |\n",
            "strategy", "filesystem", "N", "method", "create", "median", "max", "alloc total",
            "alloc/disk", "fs delta", "delta/disk", "remove", "rm median", "leftovers"
        print "|----------|--------------|------|---------------|-----------|------------|------------|--------------|-------------|--------------|-------------|-----------|------------|-----------|"
    }
    /^### / { row(); run = $2; fs = $3; next }
    /^[a-z_]+( \([a-z_]+\))?: / { k = $0; sub(/: .*/, "", k); val = $0; sub(/^[^:]*: /, "", val); v[k] = val }
    END { row() }'
exit "$rc"
