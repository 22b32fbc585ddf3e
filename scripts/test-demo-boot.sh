#!/bin/bash
# Boot the demo artifacts (from build-demo-artifacts.sh) under QEMU -M microvm
# WITHOUT banger, inside a private network namespace, and measure:
#   - time from qemu start until http://GUEST_IP/ answers with the page
#   - time from QMP system_powerdown until qemu exits (kill after 15 s)
#   - qemu peak RSS (VmHWM) just before stopping
# Everything (qemu, netns, temp files) is cleaned up on exit, also on failure.
# Must run as root (creates a tap in a private netns via unshare -n).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
CACHE_DIR=$(cd "$1" && pwd)
for f in vmlinuz initrd.img rootfs.ext4; do
    [ -s "$CACHE_DIR/$f" ] || { echo "test-demo-boot: missing $CACHE_DIR/$f (run build-demo-artifacts.sh)" >&2; exit 1; }
done
command -v qemu-system-x86_64 >/dev/null || { echo "test-demo-boot: qemu-system-x86_64 not found" >&2; exit 1; }
command -v unshare >/dev/null || { echo "test-demo-boot: unshare not found" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/banger-demo-test.XXXXXX")
INNER_PID=
cleanup_outer() {
    if [ -n "$INNER_PID" ] && kill -0 "$INNER_PID" 2>/dev/null; then
        kill -TERM "$INNER_PID" 2>/dev/null; wait "$INNER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup_outer EXIT
trap 'exit 143' TERM INT HUP
cp --sparse=always "$CACHE_DIR/rootfs.ext4" "$WORK/rootfs-copy.ext4"

cat >"$WORK/inner.sh" <<'INNER'
set -euo pipefail
CACHE_DIR=$1 WORK=$2 MACHINE=$3
QEMU_PID=
cleanup() {
    rc=$?
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        echo "test-demo-boot: cleanup: killing qemu $QEMU_PID"
        kill -KILL "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    ip link del dtap0 2>/dev/null || true
    if [ $rc -ne 0 ] && [ -f "$WORK/console.log" ]; then
        echo "---- guest console (last 40 lines) ----"
        tail -n 40 "$WORK/console.log" | tr -d '\r'
        echo "---------------------------------------"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }

ip link set lo up
ip tuntap add dev dtap0 mode tap
ip addr add 10.99.0.1/24 dev dtap0
ip link set dtap0 up

if command -v curl >/dev/null; then fetch() { curl -s -m 2 http://10.99.0.2/; }
else fetch() { busybox wget -q -T 2 -O- http://10.99.0.2/; }; fi

QMP=$WORK/qmp.sock
# Under TCG the guest TSC is the host TSC, and the kernel's PIT-based TSC
# calibration fails intermittently on a loaded host (no HPET/PM timer on
# microvm); the boot then hangs forever in "Calibrating delay loop".
# Passing the host TSC frequency skips that calibration.
KHZ=$(awk -F: '/^cpu MHz/{printf "%d", $2 * 1000; exit}' /proc/cpuinfo)
TSC_ARG=${KHZ:+tsc_early_khz=$KHZ}
QEMU_CMD=(qemu-system-x86_64 -M "$MACHINE" -m 256 -smp 1 -nodefaults -no-user-config -nographic -no-reboot
    -kernel "$CACHE_DIR/vmlinuz" -initrd "$CACHE_DIR/initrd.img"
    -append "console=ttyS0 reboot=k panic=1 $TSC_ARG ip=10.99.0.2::10.99.0.1:255.255.255.0:web:eth0:off"
    -drive id=root,file="$WORK/rootfs-copy.ext4",format=raw,if=none
    -device virtio-blk-device,drive=root
    -netdev tap,id=n0,ifname=dtap0,script=no,downscript=no
    -device virtio-net-device,netdev=n0,mac=06:00:0A:63:00:02
    -serial file:"$WORK/console.log" -qmp unix:"$QMP",server=on,wait=off)
echo "test-demo-boot: ${QEMU_CMD[*]}"
T0=$(now)
"${QEMU_CMD[@]}" </dev/null >"$WORK/qemu.out" 2>&1 &
QEMU_PID=$!

PAGE=
while :; do
    if ! kill -0 "$QEMU_PID" 2>/dev/null; then
        echo "test-demo-boot: FAIL: qemu exited before the page answered"; cat "$WORK/qemu.out"; exit 1
    fi
    if PAGE=$(fetch 2>/dev/null) && [[ "$PAGE" == *"served by banger"* ]]; then break; fi
    if awk -v e="$(elapsed "$T0" "$(now)")" 'BEGIN{exit !(e>90)}'; then
        echo "test-demo-boot: FAIL: no page after 90 s"; exit 1
    fi
    sleep 0.2
done
T1=$(now)
BOOT_S=$(elapsed "$T0" "$T1")
echo "test-demo-boot: page answered after $BOOT_S s:"
echo "$PAGE" | sed 's/^/    /'
grep -a 'banger-demo: ready' "$WORK/console.log" | tr -d '\r' | sed 's/^/    console: /' || true
[[ "$PAGE" == *"<h1>web</h1>"* ]] || { echo "test-demo-boot: FAIL: page lacks the hostname"; exit 1; }
HWM=$(awk '/^VmHWM:/{print $2, $3}' "/proc/$QEMU_PID/status")
echo "test-demo-boot: qemu VmHWM before stop: $HWM"

T2=$(now)
python3 - "$QMP" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
f = s.makefile("rw")
def cmd(c):
    f.write(json.dumps({"execute": c}) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            return r
json.loads(f.readline())  # greeting
cmd("qmp_capabilities")
r = cmd("system_powerdown")
print("test-demo-boot: QMP system_powerdown ->", json.dumps(r))
PY
HOW=powerdown
while kill -0 "$QEMU_PID" 2>/dev/null; do
    if awk -v e="$(elapsed "$T2" "$(now)")" 'BEGIN{exit !(e>15)}'; then
        echo "test-demo-boot: qemu still running 15 s after system_powerdown: killing it"
        kill -KILL "$QEMU_PID"; HOW=killed; break
    fi
    sleep 0.05
done
wait "$QEMU_PID" 2>/dev/null || true
T3=$(now)
QEMU_PID=
STOP_S=$(elapsed "$T2" "$T3")
echo "---- guest console (tail) ----"; tail -n 8 "$WORK/console.log" | tr -d '\r'; echo "------------------------------"
echo "RESULT boot_to_page_s=$BOOT_S stop_s=$STOP_S stop_method=$HOW qemu_vmhwm=\"$HWM\""
[ "$HOW" = powerdown ]
INNER

# DEMO_MACHINE overrides -M (default microvm,acpi=on: ACPI is what delivers
# system_powerdown to the guest as a power-button press).
unshare -n bash "$WORK/inner.sh" "$CACHE_DIR" "$WORK" "${DEMO_MACHINE:-microvm,acpi=on}" &
INNER_PID=$!
wait "$INNER_PID"
