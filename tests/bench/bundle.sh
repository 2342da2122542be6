#!/usr/bin/env bash
# qingdan benchmark bundle: scale.sh with every program and library it
# needs, in one directory that runs anywhere on x86-64 Linux with nothing
# but coreutils (no package manager, no network, no compiler).
#
#   tests/bench/bundle.sh [OUTDIR]   a release build in build-bench/, then the
#                                    bundle in OUTDIR (default bench-bundle/)
#                                    and OUTDIR.tar.gz
#   tests/bench/bundle.sh --smoke    (meson test suite 'bench') a small bundle
#                                    of the build it is run from ($QD_BUILD_ROOT,
#                                    else build/), then the checks below with
#                                    scale.sh at T = 1 for 1 s; asserts no timing
#
# Options: --entries N (10000: the lists' size; --smoke: 200)
#          --build DIR (bundle this build instead of making build-bench/)
#
# The bundle: bin/ (qingdand, qingdanctl, gen, bench_decide, wrk, nginx and
# the bash, awk and taskset scale.sh runs with), lib/ (every shared library
# they load, found with ldd, and the dynamic loader), data/ (the lookups as
# URL paths and the median response nginx serves), scale.sh, lib.sh,
# nginx.conf.in, bundle.conf (the lists' parameters, the commit) and
# `scale`, which runs scale.sh with the bundle's bash.  Every program runs
# as `lib/ld-linux-x86-64.so.2 --library-path lib bin/X`; the lists are
# generated again by gen (it is deterministic) and checked against data/.
#
# Once built, the bundle is checked where it stands and again after a copy
# to another path, run there under `env -i` with a PATH of coreutils alone:
# every library each program loads (LD_DEBUG=libs) comes from its lib/,
# scale.sh prints the table and writes its JSON, and no process is left.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/bench/lib.sh"
SMOKE=0 ENTRIES="" BUILD="" OUT=""
while (($#)); do
	case "$1" in
	--smoke) SMOKE=1 ;;
	--entries) ENTRIES=$2; shift ;;
	--build) BUILD=$2; shift ;;
	-h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "bundle.sh: unknown option $1" >&2; exit 64 ;;
	*) OUT=$1 ;;
	esac
	shift
done
say() { echo "bundle: $*" >&2; }
die() { say "$*"; exit 1; }
FAILS=0
check() { # check DESCRIPTION COMMAND... — say it, count a failure
	local what=$1; shift
	if "$@"; then echo "ok   $what" >&2; return 0; fi
	FAILS=$((FAILS + 1))
	echo "FAIL $what" >&2
	return 1
}

[ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx || NGINX=$(command -v nginx || echo nginx)
TMP=""
trap '[ -n "$TMP" ] && rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
if ((SMOKE)); then
	ENTRIES=${ENTRIES:-200} ROSTER=20 PAIRS=32 CHECK_ITEMS=100
	BUILD=${BUILD:-${QD_BUILD_ROOT:-$ROOT/build}}
	bench_install wrk:wrk "$NGINX:nginx-light"
	TMP=$(mktemp -d /tmp/qingdan-bundle.XXXXXX)
	OUT=${OUT:-$TMP/bundle}
else
	ENTRIES=${ENTRIES:-10000} ROSTER=200 PAIRS=256 CHECK_ITEMS=1000
	if [ -z "$BUILD" ]; then
		BUILD=$ROOT/build-bench
		bench_build_release "$ROOT" "$BUILD" "wrk nginx-light" || exit 1
	fi
	bench_install wrk:wrk "$NGINX:nginx-light"
	OUT=${OUT:-$ROOT/bench-bundle}
fi
[ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx || NGINX=$(command -v nginx)
AWK=$(command -v mawk || command -v gawk || command -v awk)
PROGS=("$BUILD/src/daemon/qingdand" "$BUILD/src/ctl/qingdanctl" "$BUILD/tests/bench/gen"
	"$BUILD/tests/bench/bench_decide" "$(command -v wrk)" "$NGINX"
	"$(command -v bash)" "$(command -v taskset)" "$AWK")
for p in "${PROGS[@]}"; do [ -x "$p" ] || die "missing program: $p"; done

# ---- assemble ----------------------------------------------------------------
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd) || exit 1
say "assembling $OUT from $BUILD"
rm -rf "$OUT/bin" "$OUT/lib" "$OUT/data"
mkdir -p "$OUT/bin" "$OUT/lib" "$OUT/data"
add_libs() { # add_libs FILE — copy into lib/ what ldd says FILE needs, and the loader
	local soname arrow path _
	while read -r soname arrow path _; do
		if [ "$arrow" = "=>" ] && [ "${path:0:1}" = / ]; then
			[ -e "$OUT/lib/$soname" ] || cp -L "$path" "$OUT/lib/$soname"
		elif [[ $soname == /*/ld-linux-x86-64.so.2 ]]; then
			[ -e "$OUT/lib/ld-linux-x86-64.so.2" ] || cp -L "$soname" "$OUT/lib/ld-linux-x86-64.so.2"
		elif [ "$arrow" = "=>" ]; then
			die "$1: $soname not found"
		fi
	done < <(ldd "$1")
}
for p in "${PROGS[@]}"; do
	name=$(basename "$p")
	[ "$p" = "$AWK" ] && name=awk
	cp -L "$p" "$OUT/bin/$name"
	add_libs "$p"
done
# nginx's workers, started as root, call initgroups(), which asks every
# service nsswitch.conf names for groups: glibc loads those modules at run
# time (ldd cannot see them), from lib/ when they are there.
LIBC_DIR=$(dirname "$(ldd "$NGINX" | awk '$1 == "libc.so.6" { print $3 }')")
for m in $(awk '$1 ~ /^(passwd|group|shadow|hosts|services):$/ { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) print $i }' \
	/etc/nsswitch.conf 2>/dev/null | sort -u); do
	f=$LIBC_DIR/libnss_$m.so.2
	[ -e "$f" ] || continue
	cp -L "$f" "$OUT/lib/"
	add_libs "$f"
done
chmod 755 "$OUT/lib/ld-linux-x86-64.so.2"
cp "$ROOT/tests/bench/scale.sh" "$ROOT/tests/bench/lib.sh" "$ROOT/tests/bench/nginx.conf.in" "$OUT/"
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- src include 2>/dev/null || COMMIT="$COMMIT+dirty"
cat >"$OUT/bundle.conf" <<EOF
# Written by tests/bench/bundle.sh: what gen makes and what was built.
ENTRIES=$ENTRIES ROSTER=$ROSTER PAIRS=$PAIRS CHECK_ITEMS=$CHECK_ITEMS
COMMIT=$COMMIT
BUILT="$(date +%Y-%m-%dT%H:%M:%S%z) on $(uname -n), $(meson introspect --buildoptions "$BUILD" 2>/dev/null |
	python3 -c 'import json,sys; print("buildtype " + next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))' 2>/dev/null || echo "buildtype ?")"
EOF
cat >"$OUT/scale" <<'EOF'
#!/bin/sh
# scale.sh with the bundle's own bash and libraries: ./scale --help
d=$(cd "$(dirname "$0")" && pwd)
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" "$d/bin/bash" "$d/scale.sh" "$@"
EOF
chmod 755 "$OUT/scale" "$OUT/scale.sh"

# ---- check it ----------------------------------------------------------------
# every library each program needs resolves inside lib/, by the bundle's loader
libs_inside() { # libs_inside BUNDLE
	local b=$1 x bad=0
	for x in "$b"/bin/*; do
		"$b/lib/ld-linux-x86-64.so.2" --library-path "$b/lib" --list "$x" >"$b.list" 2>&1 || { cat "$b.list" >&2; bad=1; }
		"$AWK" -v lib="$b/lib/" -v x="$x" '$2 == "=>" && (substr($3, 1, length(lib)) != lib) { print x ": " $0; bad = 1 }
			END { exit bad }' "$b.list" >&2 || bad=1
	done
	rm -f "$b.list"
	return $bad
}
check "every program's libraries resolve inside lib/" libs_inside "$OUT" || exit 1
"$OUT/scale" --prepare >&2 || die "scale.sh --prepare failed"

# A copy at another path (the original moved away, so nothing can reach
# back to it), run with an empty environment and a PATH of coreutils alone.
X=$(mktemp -d /tmp/x.XXXXXX)
mkdir "$X/path" "$X/tmp" "$X/trace"
mv "$OUT" "$X/b"
restore() { [ -d "$X/b" ] && mv "$X/b" "$OUT"; rm -rf "$X"; }
trap 'restore; [ -n "$TMP" ] && rm -rf "$TMP"' EXIT
if command -v dpkg >/dev/null; then
	dpkg -L coreutils | while read -r f; do
		[[ $f == */bin/* ]] && [ -x "$f" ] && [ ! -d "$f" ] && ln -sf "$f" "$X/path/"
	done
	[ -e /bin/sh ] && ln -sf /bin/sh "$X/path/sh" # the wrapper's #! is /bin/sh, found without PATH anyway
	CPATH=$X/path
else
	CPATH=/usr/bin:/bin
fi
B=$X/b
for x in bash awk taskset bench_decide; do
	case $x in
	bash) args=(-c true) ;; awk) args=('BEGIN { exit 0 }') ;; taskset) args=(-p $$) ;; *) args=(--help) ;;
	esac
	env -i PATH="$CPATH" LD_DEBUG=libs LD_DEBUG_OUTPUT="$X/trace/$x" \
		"$B/lib/ld-linux-x86-64.so.2" --library-path "$B/lib" "$B/bin/$x" "${args[@]}" >/dev/null 2>&1
done
say "running the copy in $B: env -i PATH=$CPATH $B/scale --threads 1 --rounds 1 --duration 1 …"
env -i PATH="$CPATH" HOME="$X" TMPDIR="$X/tmp" timeout 600 "$B/scale" --threads 1 --rounds 1 --duration 1 \
	--warmup 0 --check-rounds 1 --out "$X/scale.json" --trace-libs "$X/trace" >"$X/stdout" 2>"$X/stderr"
rc=$?
check "scale.sh ran in the copy (exit $rc)" test $rc -eq 0 || cat "$X/stderr" >&2
cat "$X/stdout" >&2
check "it printed the table" "$AWK" '/^\| threads \| qingdand req\/s \| nginx req\/s \| ratio \|/ { h = 1 } h && /^\| 1 \| [0-9]/ { r = 1 }
	END { exit !(h && r) }' "$X/stdout"
check "it wrote the JSON" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
r = j["rows"][0]
assert r["threads"] == 1 and j["failures"] == 0 and j["machine"]["cpus"] >= 1
for k in ("qingdand_rps", "nginx_rps", "ratio", "qingdand_p99_ms", "nginx_p99_ms", "check_item_decisions_per_s"):
    assert r[k] is not None, k
for k in ("qingdand_cpu_us_per_answer", "nginx_cpu_us_per_answer"):
    assert r[k] > 0, k
for k in ("read_cache_lookups", "read_cache_checks"):
    assert r[k]["hits"] + r[k]["misses"] > 0 and r[k]["resets"] >= 0, k
assert r["qingdand_status"]["VmRSS_kib"] > 0' "$X/scale.json"
# LD_DEBUG=libs names each library searched for and each initialised
ld_outside() {
	local f prog progs=0 bad=0
	# a trace of a program from outside (coreutils' env, started by
	# the bundle's taskset) is that program's business
	for f in "$X/trace"/*; do
		prog=$("$AWK" '/initialize program: / { sub(/.*initialize program: /, ""); print; exit }' "$f")
		[[ $prog == "$B/"* ]] || continue
		progs=$((progs + 1))
		"$AWK" -v b="$B/" -v prog="$prog" '/calling init: |trying file=/ { p = $0
			sub(/.*(calling init: |trying file=)/, "", p)
			if (substr(p, 1, length(b)) != b) { print prog ": outside the bundle: " $0; bad = 1 } }
			END { exit bad }' "$f" >&2 || bad=1
	done
	say "$progs traces of the bundle's programs"
	((progs >= 8 && !bad))
}
check "no program of the bundle loaded a library from outside its lib/ (LD_DEBUG=libs)" ld_outside
left() {
	local f
	for f in /proc/[0-9]*/exe; do
		[[ $(readlink "$f" 2>/dev/null) == "$B/"* ]] && echo "left: ${f%/exe} $(tr '\0' ' ' <"${f%/exe}/cmdline" 2>/dev/null)"
	done
}
LEFT=$(left)
check "no process of the bundle is left" test -z "$LEFT" || echo "$LEFT" >&2
restore
trap '[ -n "$TMP" ] && rm -rf "$TMP"' EXIT
((FAILS)) && die "$FAILS check(s) failed"

# ---- the archive ---------------------------------------------------------------
tar -C "$(dirname "$OUT")" -czf "$OUT.tar.gz" "$(basename "$OUT")"
say "bundle $OUT: $(du -sh "$OUT" | cut -f1); $OUT.tar.gz: $(du -sh "$OUT.tar.gz" | cut -f1)"
echo "$OUT"
