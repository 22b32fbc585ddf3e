#!/usr/bin/env bash
# Writes the Kernel and Image manifests of the demo, pinned by sha256, for the
# artifacts that scripts/build-demo-artifacts.sh built into CACHE_DIR.
# Usage: scripts/demo-manifests.sh CACHE_DIR OUT.yaml
set -euo pipefail
cache=$(cd "$1" && pwd)
out=$2
sum() { sha256sum "$cache/$1" | cut -d' ' -f1; }
cat > "$out.tmp" <<YAML
# Written by scripts/demo-manifests.sh from $cache; do not edit.
apiVersion: banger.dev/v1
kind: Kernel
metadata:
  name: demo-kernel
spec:
  path: $cache/vmlinuz
  sha256: $(sum vmlinuz)
  initrd:
    path: $cache/initrd.img
    sha256: $(sum initrd.img)
---
apiVersion: banger.dev/v1
kind: Image
metadata:
  name: demo-rootfs
spec:
  path: $cache/rootfs.ext4
  sha256: $(sum rootfs.ext4)
YAML
mv "$out.tmp" "$out"

# The demo VM's login keys (examples/demo/web.yaml names this file): a key
# made for the demo (so that `banger exec` works for anyone), and the
# invoking user's own public keys when they have some.
keys=$(dirname "$out")/demo-key.pub
[ -s "$cache/demo_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C banger-demo -f "$cache/demo_ed25519"
home=$HOME
[ -n "${SUDO_USER:-}" ] && [ "$(id -u)" = 0 ] && home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
{
    cat "$cache/demo_ed25519.pub"
    for k in "$home"/.ssh/id_ed25519.pub "$home"/.ssh/id_ecdsa.pub "$home"/.ssh/id_rsa.pub; do
        [ -r "$k" ] && cat "$k"
    done
} >"$keys.tmp"
mv "$keys.tmp" "$keys"
