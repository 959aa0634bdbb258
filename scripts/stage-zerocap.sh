#!/bin/sh
# Installs zerocap from BUILDDIR into DEST/root and writes DEST/pc/zerocap.pc
# with its prefix moved there, so that an out-of-tree build finds the
# installed headers and library with PKG_CONFIG_PATH=DEST/pc alone (a
# global --define-variable would move wlroots' prefix too). Prints DEST/pc.
#   stage-zerocap.sh BUILDDIR DEST
set -eu
build=$1
dest=$2
rm -rf "$dest/root" "$dest/pc"
meson install -C "$build" --destdir "$dest/root" --quiet --no-rebuild >/dev/null
pc=$(find "$dest/root" -name zerocap.pc | head -n 1)
[ -n "$pc" ] || { echo "stage-zerocap: no zerocap.pc installed" >&2; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$pc")
mkdir -p "$dest/pc"
sed "s|^prefix=.*|prefix=$dest/root$prefix|" "$pc" >"$dest/pc/zerocap.pc"
echo "$dest/pc"
