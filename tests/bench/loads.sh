#!/usr/bin/env bash
# qingdan benchmark — loads of big lists, one build beside another.
#
#   tests/bench/loads.sh --build DIR [--base DIR] [--entries N] [--rounds R]
#
# The load rows of tests/bench/run.sh, alone and side by side: gen's seeded
# lists of N entries (default 100 000) and their CSV files, loaded with
# each build's qingdanctl, the builds alternating round by round (default 5
# rounds), wall clock and CPU time (user + system) from /usr/bin/time.
# Six loads: the JSON positive list into an empty store; the same document
# again (a new version equal to the last); a version of it with every
# 100th entry suspended; the JSON whitelist into an empty store; and the
# two CSV files replacing the entries of lists loaded from gen's 10 000-
# entry documents (as run.sh does).  Prints the medians and the ratio
# new / base; writes every round to OUT/loads-<date>.tsv.  Builds should be
# release builds (-Dbuildtype=release -Db_ndebug=true).  Timings depend on
# how busy the machine is: compare the two builds of one run.
set -euo pipefail

BUILD="" BASE="" N=100000 ROUNDS=5
while (($#)); do
	case "$1" in
	--build) BUILD=$2; shift ;;
	--base) BASE=$2; shift ;;
	--entries) N=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	-h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "loads.sh: unknown option $1" >&2; exit 64 ;;
	esac
	shift
done
[ -n "$BUILD" ] || { echo "loads.sh: --build DIR is required" >&2; exit 64; }
[ -x /usr/bin/time ] || { echo "loads.sh: /usr/bin/time is not installed (package time)" >&2; exit 69; }
OUT=$(cd "$(dirname "$0")" && pwd)/out
mkdir -p "$OUT"
TSV="$OUT/loads-$(date -u +%Y%m%dT%H%M%SZ).tsv"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/qd-loads.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
D="$WORK/data"
"$BUILD/tests/bench/gen" --roster 200 --pairs 256 --check-items 1000 --csv "$N" "$D" >/dev/null
"$BUILD/tests/bench/gen" --roster 200 --pairs 256 --check-items 1000 10000 "$D" >/dev/null
# A new version: every 100th entry suspended.
awk '/^ *\{"id": "PL-/ { if (++n % 100 == 0) sub(/"status": "active"/, "\"status\": \"suspended\"") } { print }' \
	"$D/positive-$N.json" >"$D/positive-$N-changed.json"

# timed NAME CTL ARGS…: one load, its wall and CPU seconds appended to TSV
timed() {
	local name=$1 label=$2 t
	shift 2
	t=$(/usr/bin/time -f '%e %U %S' "$@" 2>&1 >/dev/null | tail -1) ||
		{ echo "loads.sh: $label $name failed: $t" >&2; exit 1; }
	set -- $t
	printf '%s\t%s\t%s\t%s\n' "$label" "$name" "$1" "$(echo "$2 + $3" | bc)" >>"$TSV"
}

printf 'build\tload\twall_s\tcpu_s\n' >"$TSV"
for ((r = 1; r <= ROUNDS; r++)); do
	for b in ${BASE:+"$BASE"} "$BUILD"; do
		label=new
		[ "$b" = "$BUILD" ] || label=base
		C="$b/src/ctl/qingdanctl" db="$WORK/db-$label"
		rm -rf "$db" && mkdir "$db"
		timed json_positive_new "$label" "$C" --db "$db" load bench-positive "$D/positive-$N.json"
		timed json_positive_same "$label" "$C" --db "$db" load bench-positive "$D/positive-$N.json"
		timed json_positive_changed "$label" "$C" --db "$db" load bench-positive "$D/positive-$N-changed.json"
		timed json_whitelist_new "$label" "$C" --db "$db" load bench-whitelist "$D/whitelist-$N.json"
		rm -rf "$db" && mkdir "$db"
		"$C" --db "$db" load bench-positive "$D/positive-10000.json" >/dev/null
		"$C" --db "$db" load bench-whitelist "$D/whitelist-10000.json" >/dev/null
		timed csv_positive "$label" "$C" --db "$db" load bench-positive "$D/positive-$N.csv"
		timed csv_whitelist "$label" "$C" --db "$db" load bench-whitelist "$D/whitelist-$N.csv"
	done
done

python3 - "$TSV" "$N" <<'EOF'
import collections, statistics, sys
rows = collections.defaultdict(list)
with open(sys.argv[1]) as f:
    next(f)
    for line in f:
        b, load, wall, cpu = line.split("\t")
        rows[(load, b)].append((float(wall), float(cpu)))
loads = ["json_positive_new", "json_positive_same", "json_positive_changed",
         "json_whitelist_new", "csv_positive", "csv_whitelist"]
base = any(b == "base" for _, b in rows)
print(f"loads of {sys.argv[2]} entries, median of {len(rows[(loads[0], 'new')])} rounds (wall / CPU seconds)")
print(f"{'load':24s}" + (f"{'base':>14s}" if base else "") + f"{'new':>14s}" + (f"{'new/base':>10s}" if base else ""))
for l in loads:
    med = {b: (statistics.median(w for w, _ in rows[(l, b)]), statistics.median(c for _, c in rows[(l, b)]))
           for b in ("base", "new") if rows[(l, b)]}
    line = f"{l:24s}"
    if base:
        line += f"{med['base'][0]:7.2f} /{med['base'][1]:5.2f}"
    line += f"{med['new'][0]:7.2f} /{med['new'][1]:5.2f}"
    if base:
        line += f"{med['new'][0] / med['base'][0]:10.2f}"
    print(line)
EOF
echo "rounds: $TSV"
