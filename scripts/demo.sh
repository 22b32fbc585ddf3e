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

# runtime: auto. The plan names the runtime banger picked and why (QEMU with
# TCG where /dev/kvm is missing or cannot boot an ordinary guest, as on PVM).
echo '== banger apply -f examples/demo --wait   (under TCG the boot takes up to a minute)'
start=$(date +%s)
# --wait: until the VM's readiness probe (http :80/) passes, or exit 1 with
# the last lines of its console.
"$banger" apply -f examples/demo --wait

# Ready means the guest answers on its own IP; the page should now also come
# through the port forward on the host.
tries=0
until page=$(curl -fsS --max-time 2 http://127.0.0.1:8080/ 2>/dev/null); do
  tries=$((tries + 1))
  if [ "$tries" -ge 10 ]; then
    echo "the VM is ready but http://127.0.0.1:8080/ does not answer; the VM's console says:" >&2
    "$banger" logs web --tail 30 >&2 || true
    exit 1
  fi
  sleep 1
done
echo "== http://127.0.0.1:8080/ answered $(( $(date +%s) - start )) s after apply started"

echo "== banger exec web -- uname -a   (over SSH, host key pinned by banger)"
"$banger" exec -i "$cache/demo_ed25519" web -- uname -a
echo "== banger get -o wide"
"$banger" get -o wide
echo "== curl http://127.0.0.1:8080/"
echo "$page"
echo
echo "Log in with: sudo $banger ssh -i $cache/demo_ed25519 web   (or with your own key, if you had one)"
echo "Remove it with: sudo $banger delete -f examples/demo   (or: make demo-clean)"
