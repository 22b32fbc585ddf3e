#!/usr/bin/env bash
# make demo: build the demo artifacts from Debian packages, apply
# examples/demo, wait for the VM's page through its port forward, show it.
# Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
banger="$build/banger"
cache="$build/demo-cache"

echo "== building the demo kernel, initrd and root filesystem from Debian packages (cached)"
scripts/build-demo-artifacts.sh "$cache"
scripts/demo-manifests.sh "$cache" examples/demo/artifacts.yaml

echo "== banger apply -f examples/demo"
"$banger" apply -f examples/demo

start=$(date +%s)
printf '== waiting for http://127.0.0.1:8080/ (the VM boots under %s)' \
  "$([ -w /dev/kvm ] && echo KVM || echo 'software emulation: up to a minute')"
until page=$(curl -fsS --max-time 2 http://127.0.0.1:8080/ 2>/dev/null); do
  if [ $(( $(date +%s) - start )) -ge 120 ]; then
    echo; echo "the page did not answer within 120 s; the VM's console says:" >&2
    "$banger" logs web --tail 30 >&2 || true
    exit 1
  fi
  printf '.'; sleep 1
done
echo " answered after $(( $(date +%s) - start )) s"

echo "== banger get -o wide"
"$banger" get -o wide
echo "== curl http://127.0.0.1:8080/"
echo "$page"
echo
echo "Remove it with: sudo $banger delete -f examples/demo   (or: make demo-clean)"
