#!/bin/sh
# The main job: the reference compositor, headless, with its animated demo
# scene and a capture client. Prints what the capture did.
#   tests/demo.sh BUILDDIR [OUTPUT.png]
set -eu
build=${1:-build}
png=${2:-zerocap-demo.png}
comp="$build/example-compositor/zerocap-compositor"
shot="$build/tools/zerocap-shot"

if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -w "$XDG_RUNTIME_DIR" ]; then
	XDG_RUNTIME_DIR=$(mktemp -d /tmp/zerocap-runtime.XXXXXX)
	export XDG_RUNTIME_DIR
fi
socket="zerocap-demo-$$"
log=$(mktemp /tmp/zerocap-demo-log.XXXXXX)

echo "demo: starting zerocap-compositor (headless, pixman renderer, 1280x720, animated scene)"
WLR_BACKENDS=headless WLR_RENDERER=${WLR_RENDERER:-pixman} "$comp" --socket "$socket" \
	--output 1280x720 --demo --demo-damage 1 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT INT TERM

for _ in $(seq 50); do
	[ -S "$XDG_RUNTIME_DIR/$socket" ] && break
	sleep 0.1
done

echo "demo: sources offered by the compositor:"
"$shot" -d "$socket" list | sed 's/^/  /'
echo "demo: capturing 10 frames into one re-used buffer (only damage is written):"
"$shot" -d "$socket" -n 10 --reuse "$png" | sed 's/^/  /'
echo "demo: capturing one frame with the cursor painted:"
"$shot" -d "$socket" -c -q "${png%.png}-cursor.png" && echo "  wrote ${png%.png}-cursor.png"
echo "demo: done; the last frame is in $png"
