#!/bin/sh
# Builds the protocol fuzzer with clang and runs it for a bounded time over a
# copy of the seed corpus. Exits non-zero on any crash, leak, sanitizer
# report or harness invariant failure. See tests/fuzz/README.md.
#
#   tests/fuzz/run-fuzz.sh [SECONDS] [extra libFuzzer flags...]
#
# Environment:
#   ZC_FUZZ_BUILD   clang build directory (default: build-fuzz)
#   ZC_FUZZ_OUT     keep the grown corpus and any crash inputs here
#                   (default: a temporary directory, removed afterwards)
#   ZC_FUZZ_JOBS    parallel fuzzing processes (default: 1)
#   ZC_FUZZ_WLROOTS wlroots version for a new build directory: 0.18, 0.19,
#                   0.20 or auto (default: auto, the newest installed)
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

seconds=${1:-60}
[ $# -gt 0 ] && shift
build=${ZC_FUZZ_BUILD:-build-fuzz}
jobs=${ZC_FUZZ_JOBS:-1}
target=tests/fuzz/zerocap-fuzz-protocol

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dbuildtype=debugoptimized \
		-Dwlroots="${ZC_FUZZ_WLROOTS:-auto}"
fi
if ! ninja -C "$build" -t targets all | grep -q "^$target:"; then
	echo "fuzz: $build is not a clang build directory (see tests/fuzz/README.md)" >&2
	exit 1
fi
ninja -C "$build" "$target"

if [ -n "${ZC_FUZZ_OUT:-}" ]; then
	work=$ZC_FUZZ_OUT
	mkdir -p "$work"
else
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/corpus" "$work/artifacts"
work=$(cd "$work" && pwd)
case $build in
/*) binary=$build/$target ;;
*) binary=$top/$build/$target ;;
esac
# The run adds to its corpus: never to the one in the repository.
cp tests/fuzz/corpus/* "$work/corpus/"

log="$work/fuzz.log"
echo "fuzz: $target for ${seconds}s, $jobs job(s), corpus in $work/corpus"
if [ "$jobs" -gt 1 ]; then
	# Each job logs to fuzz-N.log in the current directory: $work.
	set -- -jobs="$jobs" -workers="$jobs" "$@"
fi
status=0
# abort_on_error/halt_on_error: every report ends the run as a crash, with
# the input saved. detect_leaks: LeakSanitizer after inputs and at exit.
(cd "$work" &&
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
	"$binary" \
		-max_total_time="$seconds" \
		-timeout=20 \
		-rss_limit_mb=4096 \
		-max_len=4096 \
		-detect_leaks=1 \
		-print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" \
		"$@" \
		"$work/corpus") >"$log" 2>&1 || status=$?
cat "$work"/fuzz-*.log >>"$log" 2>/dev/null || true

tail -n 25 "$log"
if grep -q "libFuzzer disabled leak detection" "$log"; then
	echo "fuzz: warning: leaks were checked at exit only, not after each input" >&2
fi
# Sanitizer reports, and the harness's own invariant messages.
reports="ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: "
reports="$reports|zerocap-fuzz: .*(outlived|still|twice|unknown output)"
found=0
if grep -E -q "$reports" "$log"; then
	found=1
fi
if [ "$status" -ne 0 ] || [ "$found" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
	trap - EXIT
	echo "fuzz: FAILED (exit status $status); crashing inputs:" >&2
	for f in "$work/artifacts"/*; do
		[ -e "$f" ] || continue
		echo "  $f" >&2
		od -A d -t x1 "$f" | head -n 20 >&2
	done
	echo "fuzz: full log: $log; reproduce with: $binary INPUT" >&2
	echo "fuzz: (tests/fuzz/README.md: reproducing and minimizing)" >&2
	exit 1
fi
echo "fuzz: OK"
