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
