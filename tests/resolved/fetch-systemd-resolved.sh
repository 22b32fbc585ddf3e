#!/bin/bash
# Debian's systemd-resolved, unpacked into DIR without installing it
# (installing it takes over /etc/resolv.conf): the tests run it against a
# private D-Bus in their own namespaces and check the per-link DNS banger
# sets. The version matching the installed systemd, whose private library
# it links with; the archive's current one when that is gone.
# Usage: tests/resolved/fetch-systemd-resolved.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ -x "$dir/root/lib/systemd/systemd-resolved" ]; then exit 0; fi
work=$(mktemp -d "${TMPDIR:-/tmp}/banger-resolved.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # _apt writes the download here
want="systemd-resolved=$(dpkg-query -W -f='${Version}' systemd)"
get() { (cd "$work" && apt-get download -q "$1" >/dev/null 2>>"$work/apt.err"); }
get "$want" || { apt-get update -qq && get "$want"; } || get systemd-resolved || { cat "$work/apt.err" >&2; exit 1; }
rm -rf "$dir/root"
dpkg-deb -x "$work"/systemd-resolved_*.deb "$dir/root"
