#!/usr/bin/env bash
# Smoke test of tests/bench/scale.sh --base in the source tree (meson test
# bench-scale-base-smoke): the build against itself as the base, T = 1, two
# rounds of 1 s.  It checks that the script runs the three servers in each
# round, prints both tables and what the read cache did, and writes the
# base's figures and every server's CPU time per answer in its JSON.  No
# timing is asserted.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${QD_BUILD_ROOT:?QD_BUILD_ROOT names the build}
X=$(mktemp -d "${TMPDIR:-/tmp}/qd-scale-base.XXXXXX") || exit 1
trap 'rm -rf "$X"' EXIT
FAILS=0
check() { # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then echo "ok   $what"; else echo "FAIL $what"; FAILS=$((FAILS + 1)); fi
}
timeout 600 "$HERE/scale.sh" --build "$BUILD" --base "$BUILD" --threads 1 --rounds 2 --duration 1 --warmup 0 \
	--check-rounds 1 --out "$X/scale.json" >"$X/stdout" 2>"$X/stderr"
rc=$?
check "scale.sh --base ran (exit $rc)" test $rc -eq 0 || cat "$X/stderr"
cat "$X/stdout"
check "each round ran nginx, qingdand and the base" test "$(grep -c 'round [12]/2: ' "$X/stderr")" -eq 6
check "it printed the table with CPU time per answer" grep -q '^| threads | .* | CPU µs per answer qingdand / nginx |' "$X/stdout"
check "it printed what the read cache did" grep -Eq '^qingdand read cache, T=1 \(hits / misses / resets\): lookup rounds [0-9]+ / [0-9]+ / [0-9]+, check rounds [0-9]+ / [0-9]+ / [0-9]+$' "$X/stdout"
check "it printed the base's table" awk '/^\| threads \| qingdand req\/s \| base req\/s \| qingdand \/ base \|/ { h = 1 }
	h && /^\| 1 \| [0-9]/ { r = 1 } END { exit !(h && r) }' "$X/stdout"
check "the JSON has the base's figures" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
r = j["rows"][0]
assert j["failures"] == 0 and "--base" in j["command"]
for k in ("base_rps", "ratio_to_base", "base_cpu_us_per_answer", "qingdand_cpu_us_per_answer", "nginx_cpu_us_per_answer"):
    assert r[k] is not None and r[k] > 0, k
assert len(r["rounds"]) == 2
for rd in r["rounds"]:
    assert rd["base"]["requests"] > 0 and rd["base_cpu_us_per_answer"] > 0, rd' "$X/scale.json"
check "a bundle refuses --base" test "$(
	d=$(mktemp -d "$X/b.XXXXXX") && mkdir -p "$d/bin" "$d/lib" && cp "$HERE/scale.sh" "$d/scale" &&
		: >"$d/bin/qingdand" && chmod +x "$d/bin/qingdand" && : >"$d/lib/ld-linux-x86-64.so.2" &&
		: >"$d/bundle.conf" && : >"$d/lib.sh" && "$d/scale" --base "$BUILD" >/dev/null 2>&1
	echo $?)" = 64
echo "$FAILS check(s) failed"
exit $((FAILS ? 1 : 0))
