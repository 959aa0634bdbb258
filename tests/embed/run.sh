#!/bin/sh
# Out-of-tree embedding: installs zerocap from BUILDDIR into a scratch
# prefix, builds tiny-compositor.c with nothing but `pkg-config zerocap`,
# runs it headless and captures it with zerocap-shot; the frame must be the
# compositor's colour.
#   run.sh BUILDDIR SRCDIR ZEROCAP_SHOT
set -eu
build=$1
src=$2
shot=$3
work=$(mktemp -d /tmp/zerocap-embed.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || :; fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

PKG_CONFIG_PATH=$("$src/scripts/stage-zerocap.sh" "$build" "$work")
export PKG_CONFIG_PATH
echo "embed: pkg-config zerocap: $(pkg-config --modversion zerocap)"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -DWLR_USE_UNSTABLE -Wall -Werror \
	-o "$work/tiny" "$src/tests/embed/tiny-compositor.c" \
	$(pkg-config --cflags --libs zerocap) \
	-Wl,-rpath,"$(pkg-config --variable=libdir zerocap)"
echo "embed: built tiny-compositor out of tree"

export XDG_RUNTIME_DIR="$work"
WLR_BACKENDS=headless WLR_RENDERER=pixman "$work/tiny" >"$work/socket" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do
	[ -s "$work/socket" ] && break
	sleep 0.05
done
socket=$(cat "$work/socket")
[ -n "$socket" ] || { echo "embed: the compositor did not start"; cat "$work/log"; exit 1; }
"$shot" -d "$socket" -q "$work/frame.ppm"
# P6 320x200: every pixel is (0, 128, 255) give or take the 0.5 rounding.
python3 - "$work/frame.ppm" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
header = data.split(b'\n', 3)
assert header[0] == b'P6' and header[1] == b'320 200', header[:2]
pixels = header[3]
assert len(pixels) == 320 * 200 * 3, len(pixels)
bad = sum(1 for i in range(0, len(pixels), 3)
          if not (pixels[i] == 0 and abs(pixels[i + 1] - 128) <= 1 and pixels[i + 2] == 255))
print("embed: %d of %d pixels differ from the compositor's colour" % (bad, 320 * 200))
sys.exit(1 if bad else 0)
PY
