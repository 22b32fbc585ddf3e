#!/bin/bash
# Debian's cloud-init, unpacked into DIR without installing it: its schema
# and network-config parser check banger's NoCloud seeds, and nothing of it
# (no systemd unit, no datasource probe at boot) lands on the host.
# Usage: tests/cloudinit/fetch-cloud-init.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ -d "$dir/root/usr/lib/python3/dist-packages/cloudinit" ]; then exit 0; fi
work=$(mktemp -d "${TMPDIR:-/tmp}/banger-cloud-init.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # _apt writes the download here
(cd "$work" && apt-get download -q cloud-init >/dev/null 2>"$work/apt.err") || {
    (apt-get update -qq && cd "$work" && apt-get download -q cloud-init >/dev/null) || { cat "$work/apt.err" >&2; exit 1; }
}
rm -rf "$dir/root"
dpkg-deb -x "$work"/cloud-init_*.deb "$dir/root"
