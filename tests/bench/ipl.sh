#!/usr/bin/env bash
# qingdan benchmark — instructions per lookup, one build beside another.
#
#   tests/bench/ipl.sh --build DIR [--base DIR] [--k1 N] [--k2 N] [-- BENCH_DECIDE_ARGS…]
#
# The in-process count of tests/bench/run.sh ("instructions per lookup"),
# alone: gen's 10 000-entry positive list and whitelist (seeded, so every
# run reads the same store), loaded with the build's qingdanctl into a
# temporary store, then bench_decide under valgrind --tool=callgrind with
# K1 and K2 lookups (default 1 024 and 11 264, multiples of the 256 pairs);
# (Ir(K2) − Ir(K1)) / (K2 − K1) is one lookup, set-up cancelled.  Twice per
# build: the read cache at its default size and off (--read-cache 0).
# Arguments after -- go to every bench_decide run (--brief, --customs NNNN,
# --name NAME).  --base DIR measures a second build (say, a release build
# of main) on the same store, so the two columns compare.  Builds should be
# release builds (-Dbuildtype=release -Db_ndebug=true), as run.sh makes.
# Counts do not depend on the machine's load.  Needs valgrind.
set -euo pipefail

BUILD="" BASE="" K1=1024 K2=11264
while (($#)); do
	case "$1" in
	--build) BUILD=$2; shift ;;
	--base) BASE=$2; shift ;;
	--k1) K1=$2; shift ;;
	--k2) K2=$2; shift ;;
	--) shift; break ;;
	-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "ipl.sh: unknown option $1" >&2; exit 64 ;;
	esac
	shift
done
[ -n "$BUILD" ] || { echo "ipl.sh: --build DIR is required" >&2; exit 64; }
command -v valgrind >/dev/null || { echo "ipl.sh: valgrind is not installed" >&2; exit 69; }
((K2 > K1)) || { echo "ipl.sh: --k2 must be above --k1" >&2; exit 64; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/qd-ipl.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
"$BUILD/tests/bench/gen" --roster 200 --pairs 256 --check-items 1000 10000 "$WORK/data" >/dev/null
mkdir "$WORK/db"
for kind in positive whitelist; do
	"$BUILD/src/ctl/qingdanctl" --db "$WORK/db" load "bench-$kind" "$WORK/data/$kind-10000.json" >/dev/null
done

ir_of() { grep -E '^(summary|totals):' "$1" | head -1 | awk '{print $2}'; }
# per_lookup BUILD CACHE ARGS…: one lookup's instructions
per_lookup() {
	local build=$1 cache=$2 k ir=()
	shift 2
	for k in "$K1" "$K2"; do
		valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$WORK/cg.out" \
			"$build/tests/bench/bench_decide" --db "$WORK/db" --pairs "$WORK/data/pairs-10000.tsv" \
			--date 2026-03-16 -n "$k" --read-cache "$cache" "$@" >/dev/null 2>"$WORK/cg.log" ||
			{ cat "$WORK/cg.log" >&2; return 1; }
		ir+=("$(ir_of "$WORK/cg.out")")
	done
	echo $(((ir[1] - ir[0]) / (K2 - K1)))
}

DEFAULT_CACHE=2097152 # QD_SNAP_CACHE_DEFAULT
printf '%-40s %12s %12s\n' "build (bench_decide $*)" "cache on" "cache off"
for b in ${BASE:+"$BASE"} "$BUILD"; do
	on=$(per_lookup "$b" "$DEFAULT_CACHE" "$@")
	off=$(per_lookup "$b" 0 "$@")
	printf '%-40s %12s %12s\n' "$b" "$on" "$off"
done
