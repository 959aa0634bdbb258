#!/bin/sh
# Builds labwc with zerocap: fetches Debian's labwc source package with
# `apt-get source` (deb-src lines needed), applies labwc-zerocap.patch,
# builds it with meson against zerocap staged from ZEROCAP_BUILDDIR (its
# installed headers and zerocap.pc, as any out-of-tree compositor would use
# them) and installs it into WORKDIR/prefix. Prints the labwc binary's path.
# Runs again cheaply: the source is fetched once per version and patch, the
# build is incremental.
#   build.sh ZEROCAP_SRCDIR ZEROCAP_BUILDDIR WORKDIR
set -eu
src=$1
zbuild=$2
work=$3
here=$src/integrations/labwc
version=0.20.2-1
patch=$here/labwc-zerocap.patch
mkdir -p "$work"
work=$(cd "$work" && pwd)

pc=$("$src/scripts/stage-zerocap.sh" "$zbuild" "$work/zerocap")
libdir=$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir zerocap)

# The patched source, made again when the patch changed.
stamp=$(cat "$patch" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$work/source.stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$work/source" "$work/build" "$work/prefix" "$work/source.stamp"
	mkdir "$work/source"
	# This exact version first (the patch is made for it), else sid's current one.
	(cd "$work/source" && { apt-get source -q "labwc=$version" || apt-get source -q labwc; }) \
		>"$work/apt-get.log" 2>&1 || { cat "$work/apt-get.log" >&2; exit 1; }
	dir=$(find "$work/source" -mindepth 1 -maxdepth 1 -type d -name 'labwc-*' | head -n 1)
	[ -n "$dir" ] || { echo "labwc: apt-get source gave no source tree" >&2; exit 1; }
	patch -d "$dir" -p1 --no-backup-if-mismatch <"$patch" >"$work/patch.log" ||
		{ cat "$work/patch.log" >&2; exit 1; }
	ln -s "$(basename "$dir")" "$work/source/labwc"
	echo "$stamp" >"$work/source.stamp"
fi

if [ ! -f "$work/build/build.ninja" ]; then
	PKG_CONFIG_PATH=$pc meson setup "$work/build" "$work/source/labwc" \
		--prefix="$work/prefix" -Dbuildtype=debugoptimized -Dman-pages=disabled \
		-Dnls=disabled -Dsystemd-session=disabled -Dtest=disabled \
		-Dc_link_args="-Wl,-rpath,$libdir" >"$work/setup.log" 2>&1 ||
		{ cat "$work/setup.log" >&2; exit 1; }
fi
PKG_CONFIG_PATH=$pc ninja -C "$work/build" install >"$work/build.log" 2>&1 ||
	{ tail -n 40 "$work/build.log" >&2; exit 1; }
echo "$work/prefix/bin/labwc"
