#!/bin/bash
# The .deb as a user gets it: built by CPack from this build, checked by
# lintian (no error or warning), unpacked into a throwaway root and run from
# there (--version, validate, completion), its files and conffile checked,
# then removed. Usage: tests/packaging/check_deb.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/banger-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_deb: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$tmp"/out/banger_*_amd64.deb)
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"

if command -v lintian >/dev/null; then
    lintian --fail-on error,warning "$deb" 2>&1 | grep -v 'running with root privileges' | tee "$tmp/lintian.txt" || true
    grep -qE '^[EW]: ' "$tmp/lintian.txt" && fail "lintian found the above"
    echo "lintian: clean"
fi

control=$(dpkg-deb -I "$deb")
grep -q '^ Depends: .*dnsmasq-base' <<<"$control" || fail "Depends lacks dnsmasq-base"
grep -q '^ Recommends: .*qemu-system-x86' <<<"$control" || fail "Recommends lacks qemu-system-x86"
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/default/banger-watch ] || fail "conffiles is not /etc/default/banger-watch"

root=$tmp/root
dpkg-deb -x "$deb" "$root"
for f in usr/bin/banger usr/bin/banger-launch lib/systemd/system/banger-watch.service etc/default/banger-watch \
         usr/share/banger/schemas/banger.schema.json usr/share/bash-completion/completions/banger \
         usr/share/zsh/vendor-completions/_banger usr/share/fish/vendor_completions.d/banger.fish \
         usr/share/man/man1/banger.1.gz usr/share/doc/banger/copyright; do
    [ -e "$root/$f" ] || fail "the package lacks /$f"
done
grep -q '^ExecStart=/usr/bin/banger watch ' "$root/lib/systemd/system/banger-watch.service" || fail "the unit does not run /usr/bin/banger"
version=$("$root/usr/bin/banger" --version)
[ "$version" = "banger version $(sed -n 's/^project(banger VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")" ] || fail "--version says $version"
"$root/usr/bin/banger" validate -f "$src/examples/manifests" >/dev/null || fail "validate from the package failed"
bash -n "$root/usr/share/bash-completion/completions/banger" || fail "the bash completion does not parse"
cmp -s "$root/usr/share/bash-completion/completions/banger" <("$root/usr/bin/banger" completion bash) || fail "the shipped bash completion is not what the binary writes"
zcat "$root/usr/share/man/man1/banger.1.gz" | grep -q '^\.SH MANIFESTS' || fail "the man page lacks its MANIFESTS section"
echo "installed into $root and ran from it: $version"

# The postinst makes the group banger, once, in the root dpkg names
# (DPKG_ROOT, as `dpkg --root` without a chroot sets it): a copy of this
# host's account files, never the host's own.
dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$tmp" ./postinst
[ "$(stat -c %a "$tmp/postinst")" = 755 ] || fail "postinst is not 0755"
target=$tmp/target
mkdir -p "$target/etc"
for f in group gshadow passwd shadow login.defs; do [ -e "/etc/$f" ] && cp -p "/etc/$f" "$target/etc/"; done
grep -q '^banger:' "$target/etc/group" && sed -i '/^banger:/d' "$target/etc/group" "$target/etc/gshadow"
DPKG_ROOT=$target sh "$tmp/postinst" configure || fail "postinst configure failed"
grep -q '^banger:x:[0-9]*:$' "$target/etc/group" || fail "postinst made no group banger: $(grep banger "$target/etc/group")"
gid=$(sed -n 's/^banger:x:\([0-9]*\):.*/\1/p' "$target/etc/group")
[ "$gid" -lt 1000 ] || fail "the group banger is no system group (gid $gid)"
DPKG_ROOT=$target sh "$tmp/postinst" configure || fail "postinst configure failed the second time"
[ "$(grep -c '^banger:' "$target/etc/group")" = 1 ] || fail "a second configure made the group again"
echo "postinst: made the system group banger (gid $gid) once"
