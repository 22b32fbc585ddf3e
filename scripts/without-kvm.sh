#!/usr/bin/env bash
# without-kvm.sh COMMAND [ARG...]
# Runs COMMAND as on a host without /dev/kvm: in a private mount namespace
# whose /dev is a copy of this one less kvm (the host's /dev is untouched).
# How `make test-without-kvm` checks that banger, its tests and the demo
# work on the third kind of host (no KVM at all) from a machine that has one.
# Needs root (unshare).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "without-kvm: needs root (a mount namespace)" >&2; exit 1; }

exec unshare --mount --propagation private -- bash -euo pipefail -c '
  new=$(mktemp -d "${TMPDIR:-/tmp}/banger-nokvm-dev.XXXXXX")
  mount -t tmpfs -o mode=0755,nosuid tmpfs "$new"
  # Device nodes, symlinks and folders; the mounts under /dev are bound below.
  cp -a /dev/. "$new"/ 2>/dev/null || true
  rm -f "$new/kvm"
  # Loop devices the kernel makes later (LOOP_CTL_GET_FREE) would have no node
  # in the copy: make them now.
  for i in $(seq 0 255); do [ -e "$new/loop$i" ] || mknod -m 0660 "$new/loop$i" b 7 "$i"; done
  for m in pts shm mqueue hugepages; do
    if mountpoint -q "/dev/$m"; then mkdir -p "$new/$m"; mount --rbind "/dev/$m" "$new/$m"; fi
  done
  mount --move "$new" /dev
  rmdir "$new"
  [ ! -e /dev/kvm ] || { echo "without-kvm: /dev/kvm is still there" >&2; exit 1; }
  exec "$@"
' without-kvm "$@"
