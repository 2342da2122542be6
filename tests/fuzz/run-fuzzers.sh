#!/usr/bin/env bash
# Fuzz for real: build the libFuzzer targets with clang and ASan + UBSan
# into build-fuzz/, run each for SECONDS (default 300), and copy every
# crash, timeout or out-of-memory input into tests/fuzz/<target>.in/ as a
# regression file (the fuzz-replay suite then replays it in every test run).
#
#   tests/fuzz/run-fuzzers.sh [SECONDS] [TARGET…]
#
# Targets: code entity date listdoc csv xlsx fastjson request (default: all).
# FUZZ_JOBS=N runs N targets at once (default 2: this machine's cores).
# New corpus entries collect in build-fuzz/corpus/<target>/ (kept between
# runs, not in git); only seeds and regressions belong in tests/fuzz/.
# Needs clang and libclang-rt-14-dev (or libfuzzer-14-dev), installed here
# when missing.  Exit status 1 when any target found something.
set -uo pipefail
cd "$(dirname "$0")/../.."

SECONDS_PER_TARGET=${1:-300}
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(code entity date listdoc csv xlsx fastjson request)
JOBS=${FUZZ_JOBS:-2}
B=build-fuzz

QD_EXTRA_PKGS="clang libclang-rt-14-dev" QD_BUILD_DIR=build ./deploy/setup.sh >/dev/null || exit 1
if [ ! -f "$B/build.ninja" ]; then
	CC=clang meson setup "$B" -Dbuildtype=debugoptimized -Dsystemd=disabled \
		-Db_sanitize=address,undefined -Db_lundef=false \
		"-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all" >/dev/null || exit 1
fi
ninja -C "$B" $(printf 'tests/fuzz_%s ' "${TARGETS[@]}") >/dev/null || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export QD_SOURCE_ROOT=$PWD

run_one() {
	local t=$1 corpus=$B/corpus/$1 art=$B/artifacts/$1/
	# Findings of earlier runs were copied already; count only this run's.
	rm -rf "$art"
	mkdir -p "$corpus" "$art"
	local dict=()
	[ -f tests/fuzz/$t.dict ] && dict=(-dict=tests/fuzz/$t.dict)
	local start=$SECONDS
	"$B/tests/fuzz_$t" "$corpus" "tests/fuzz/$t.in" "${dict[@]}" \
		-max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=2048 \
		-artifact_prefix="$art" -print_final_stats=1 >"$B/fuzz-$t.log" 2>&1
	local rc=$? found=0
	for f in "$art"crash-* "$art"timeout-* "$art"oom-* "$art"leak-*; do
		[ -f "$f" ] || continue
		cp "$f" "tests/fuzz/$t.in/regression-$(basename "$f")"
		found=$((found + 1))
	done
	local execs
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$B/fuzz-$t.log" | grep -o '[0-9]*$')
	printf '%-8s %5ss  %10s execs  exit %d  %d finding(s)%s\n' "$t" "$((SECONDS - start))" \
		"${execs:-?}" "$rc" "$found" "$( ((found)) && echo "  -> tests/fuzz/$t.in/regression-*; log $B/fuzz-$t.log")"
	((rc == 0 && found == 0))
}

status=0
pids=()
for t in "${TARGETS[@]}"; do
	run_one "$t" &
	pids+=($!)
	if ((${#pids[@]} >= JOBS)); then
		wait "${pids[0]}" || status=1
		pids=("${pids[@]:1}")
	fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
