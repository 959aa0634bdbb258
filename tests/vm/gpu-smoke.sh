#!/bin/sh
# Checks, inside the test VM, that the GPU test bed works:
#   run-in-vm -- gpu-smoke.sh PATH/TO/zc-gbm-probe [PATH/TO/libzc-render-node-redirect.so]
set -u

probe=${1:?usage: gpu-smoke.sh ZC_GBM_PROBE [RENDER_NODE_REDIRECT_SO]}
redirect_shim=${2:-}
failures=0

check() {
	description=$1
	shift
	if "$@"; then
		echo "ok: $description"
	else
		echo "FAIL: $description"
		failures=$((failures + 1))
	fi
}

echo "kernel: $(uname -r)"
ls -l /dev/dri || { echo "FAIL: no /dev/dri"; exit 1; }

check "/dev/shm is a writable tmpfs" sh -c \
	'grep -q " /dev/shm tmpfs " /proc/mounts && touch /dev/shm/zc-smoke && rm /dev/shm/zc-smoke'
check "XDG_RUNTIME_DIR is set and private" sh -c \
	'[ -n "${XDG_RUNTIME_DIR:-}" ] && [ "$(stat -c %a "$XDG_RUNTIME_DIR")" = 700 ]'
check "GBM + EGL dma-buf round trip on the primary node" "$probe" /dev/dri/card0

if [ -n "$redirect_shim" ] && [ -e /dev/dri/renderD128 ]; then
	check "the same through renderD128 with the redirect shim" \
		env LD_PRELOAD="$redirect_shim" ZC_RENDER_NODE_REDIRECT_DEBUG=1 \
		"$probe" /dev/dri/renderD128
fi

if [ "$failures" -ne 0 ]; then
	echo "gpu-smoke: $failures check(s) failed"
	exit 1
fi
echo "gpu-smoke: all checks passed"
