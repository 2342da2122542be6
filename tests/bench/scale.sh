#!/usr/bin/env bash
# qingdan thread scaling: qingdand --threads T beside nginx with T workers.
#
#   scale.sh [options]     in a bundle made by bundle.sh (its own programs and
#                          libraries, nothing from the machine but coreutils)
#                          or in the source tree (a build, wrk and nginx)
#
# For T = 1, 2, 4, 8 (only those ≤ CPUs/2): qingdand --threads T and nginx
# with T workers, serving the same body byte for byte, pinned to the first
# T CPUs, with wrk (8 threads) on CPUs 8–15, when there are 16 CPUs or more.
# With fewer it says so and runs T = 1 alone: the servers on one CPU, wrk
# (1 thread) on another.  Rounds alternate the servers and rotate through
# the benchmark's lookups of its 10 000-entry lists; the table shows the
# medians of the rounds, then POST /v1/check (1 000 items) in item
# decisions/s and qingdand's RSS.  Beside each server's rate: the CPU time
# its processes spent per answer (user and system, from /proc), which a
# busy machine disturbs less than the rate.  Nothing here fails on a timing.
#
# Options: --rounds N (5)  --duration S (10)  --warmup S (3)
#          --connections C (64)  --check-rounds N (3)  --check-connections C (16)
#          --threads "1 2 4 8" (the Ts to try)
#          --out FILE (the JSON; default scale-DATE.json in the current directory)
#          --keep (keep the work directory)
#          --build DIR (source tree: the build; default $QD_BUILD_ROOT, else build-bench/)
#          --base DIR (source tree: a second build, say of the commit before, run
#                      as a third server in every round: its rate, CPU time and
#                      the ratio of the two builds, measured side by side)
#          --prepare (bundle.sh: write data/paths.txt and data/lookup.json, stop)
#          --trace-libs DIR (LD_DEBUG=libs of every bundled program into DIR)
set -uo pipefail
set -m # each server in its own process group: stopping it stops its workers

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=5 DURATION=10 WARMUP="" CONNS=64 CHECK_ROUNDS=3 CHECK_CONNS=16
TS="1 2 4 8" OUT="" KEEP=0 BUILD="" BASE="" PREPARE=0 TRACE=""
while (($#)); do
	case "$1" in
	--rounds) ROUNDS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--connections) CONNS=$2; shift ;;
	--check-rounds) CHECK_ROUNDS=$2; shift ;;
	--check-connections) CHECK_CONNS=$2; shift ;;
	--threads) TS=$2; shift ;;
	--out) OUT=$2; shift ;;
	--keep) KEEP=1 ;;
	--build) BUILD=$2; shift ;;
	--base) BASE=$2; shift ;;
	--prepare) PREPARE=1 ;;
	--trace-libs) TRACE=$2; shift ;;
	-h|--help) while IFS= read -r l; do [[ $l == \#* ]] || break; [[ $l == '#!'* ]] || { l=${l#\#}; echo "${l# }"; }; done <"$0"; exit 0 ;;
	*) echo "scale.sh: unknown option $1" >&2; exit 64 ;;
	esac
	shift
done
[ -n "$WARMUP" ] || WARMUP=$((DURATION < 3 ? DURATION : 3))

# ---- programs ---------------------------------------------------------------
TR=()
ENTRIES=10000 ROSTER=200 PAIRS=256 CHECK_ITEMS=1000 COMMIT="" BUILT=""
if [ -x "$HERE/bin/qingdand" ] && [ -e "$HERE/lib/ld-linux-x86-64.so.2" ]; then
	BUNDLE=$HERE
	. "$BUNDLE/bundle.conf"
	RUN=("$BUNDLE/lib/ld-linux-x86-64.so.2" --library-path "$BUNDLE/lib")
	if [ -n "$TRACE" ]; then
		# before each command that starts with a bundled program (taskset
		# then runs the next one with the same environment)
		mkdir -p "$TRACE"
		TR=(env LD_DEBUG=libs LD_DEBUG_OUTPUT="$TRACE/ld")
	fi
	B=$BUNDLE/bin
	QD=("${RUN[@]}" "$B/qingdand") CTL=("${RUN[@]}" "$B/qingdanctl") GEN=("${RUN[@]}" "$B/gen")
	WRK=("${RUN[@]}" "$B/wrk") NGINX=("${RUN[@]}" "$B/nginx") TASKSET=("${RUN[@]}" "$B/taskset")
	awk() { "${TR[@]}" "${RUN[@]}" "$B/awk" "$@"; }
	TEMPLATE=$BUNDLE/nginx.conf.in
	. "$BUNDLE/lib.sh"
	WHERE="bundle $BUNDLE"
else
	BUNDLE=""
	ROOT=$(cd "$HERE/../.." && pwd)
	BUILD=${BUILD:-${QD_BUILD_ROOT:-$ROOT/build-bench}}
	QD=("$BUILD/src/daemon/qingdand") CTL=("$BUILD/src/ctl/qingdanctl") GEN=("$BUILD/tests/bench/gen")
	WRK=(wrk) NGINX=("$(command -v nginx || echo /usr/sbin/nginx)") TASKSET=(taskset)
	command -v taskset >/dev/null || TASKSET=()
	TEMPLATE=$HERE/nginx.conf.in
	. "$HERE/lib.sh"
	COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	git -C "$ROOT" diff --quiet HEAD -- src include 2>/dev/null || COMMIT="$COMMIT+dirty"
	WHERE="build $BUILD"
	if [ -n "$BASE" ]; then
		QB=("$BASE/src/daemon/qingdand")
		WHERE="$WHERE, base build $BASE"
	fi
fi
[ -z "$BASE" ] || [ -z "$BUNDLE" ] || { echo "scale.sh: --base is for the source tree, not a bundle" >&2; exit 64; }
[ -z "$BASE" ] || [ -x "$BASE/src/daemon/qingdand" ] || { echo "scale.sh: no qingdand in $BASE/src/daemon" >&2; exit 64; }
DATE=2026-03-16 # the civil date every lookup asks about

CHECKS=0 FAILS=0
check() { # check DESCRIPTION COMMAND... — count it, say it when it fails
	local what=$1; shift
	CHECKS=$((CHECKS + 1))
	"$@" && return 0
	FAILS=$((FAILS + 1))
	echo "FAIL $what" >&2
	return 1
}
say() { echo "scale: $*" >&2; }
die() { say "$*"; exit 1; }

# ---- processes: every one started here is stopped on every way out -----------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/qingdan-scale.XXXXXX") || exit 1
chmod 755 "$WORK"
GROUPS_STARTED="" # every process group started, for the final check
GROUPS_LIVE=""    # those not yet stopped
group_alive() { # group_alive PGID — true while a process of the group runs (zombies aside)
	local f s st pg
	for f in /proc/[0-9]*/stat; do
		{ read -r s <"$f"; } 2>/dev/null || continue
		s=${s##*) } # after the command name: state, parent, group
		read -r st _ pg _ <<<"$s"
		[ "$pg" = "$1" ] && [ "$st" != Z ] && return 0
	done
	return 1
}
start_group() { # start_group VAR CMD... — run CMD in the background, its own group
	local var=$1; shift
	"$@" &
	printf -v "$var" %s "$!"
	GROUPS_STARTED+=" $!" GROUPS_LIVE+=" $!"
}
stop_group() { # stop_group PGID [SIGNAL] — signal the group, wait for it, kill what stays
	local pg=$1 sig=${2:-TERM} i
	[ -n "$pg" ] || return 0
	kill "-$sig" -- "-$pg" 2>/dev/null
	for ((i = 0; i < 100; i++)); do group_alive "$pg" || break; sleep 0.1; done
	group_alive "$pg" && kill -KILL -- "-$pg" 2>/dev/null
	wait "$pg" 2>/dev/null
	GROUPS_LIVE=${GROUPS_LIVE/ $pg/}
	return 0
}
left_over() { # the processes of the groups started here that still run
	local pg
	if command -v pgrep >/dev/null && [ -n "$GROUPS_STARTED" ]; then
		pgrep -g "$(echo $GROUPS_STARTED | tr ' ' ,)" -a
		return 0
	fi
	for pg in $GROUPS_STARTED; do group_alive "$pg" && echo "process group $pg"; done
	return 0
}
cleanup() {
	local pg
	for pg in $GROUPS_LIVE; do stop_group "$pg"; done
	if ((KEEP)); then say "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# http PORT METHOD PATH OUT [BODYFILE] — one HTTP/1.0 request over bash's
# /dev/tcp (no curl on a bare machine): OUT gets the body, OUT.h the
# headers; prints the status code.
http() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		if [ -n "${5:-}" ]; then
			printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n' \
				"$2" "$3" "$(stat -c %s "$5")" >&3
			timeout 10 cat "$5" >&3 || exit 1
		else
			printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" "$3" >&3
		fi
		timeout 30 cat <&3 >"$4.raw" || exit 1
	) 2>/dev/null || { echo 000; return 1; }
	local n
	n=$(awk '{ n += length($0) + 1; print > (FILENAME ".h"); if ($0 == "\r") { print n; exit } }' "$4.raw")
	mv -f "$4.raw.h" "$4.h" 2>/dev/null || : >"$4.h"
	tail -c "+$((n + 1))" "$4.raw" >"$4"
	rm -f "$4.raw"
	awk 'NR == 1 { print $2; exit }' "$4.h"
}
wait_http() { # wait_http PORT PATH — up to 10 s for a 200
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(http "$1" GET "$2" "$WORK/probe")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}
ctype() { awk -F': ' 'tolower($1) == "content-type" { sub(/\r$/, "", $2); print $2 }' "$1"; }
same() { [ "$(sha256sum <"$1")" = "$(sha256sum <"$2")" ]; } # no cmp: diffutils may be missing
no_id() { awk '{ gsub(/"decision_id":"[^"]*"/, ""); print }' "$1"; }
col() { awk -v k="$1" '{ print $k }' "$WORK/cols" | med; } # col N — the median of column N of the rounds
# group_ticks PGID — clock ticks (user + system) the group's processes have
# run, nginx's workers with their master
group_ticks() {
	local f s pg ut st sum=0
	for f in /proc/[0-9]*/stat; do
		{ read -r s <"$f"; } 2>/dev/null || continue
		s=${s##*) } # after the command name: state, parent, group, …, utime (12th), stime
		read -r _ _ pg _ _ _ _ _ _ _ _ ut st _ <<<"$s"
		[ "$pg" = "$1" ] && sum=$((sum + ut + st))
	done
	echo "$sum"
}
HZ=100 # USER_HZ: the unit of /proc/PID/stat's times on Linux
# cache_counts PORT — qingdand's read-cache hits, misses and resets so far
# (its /metrics, summed over the worker threads)
cache_counts() {
	http "$1" GET /metrics "$WORK/metrics" >/dev/null || { echo "0 0 0"; return; }
	awk '$1 == "qingdan_read_cache_hits_total" { h = $2 } $1 == "qingdan_read_cache_misses_total" { m = $2 }
		$1 == "qingdan_read_cache_resets_total" { r = $2 } END { printf "%d %d %d\n", h, m, r }' "$WORK/metrics"
}
# cache_delta "H0 M0 R0" "H1 M1 R1" — what happened between two cache_counts
cache_delta() {
	local a=($1) b=($2)
	echo "$((b[0] - a[0])) $((b[1] - a[1])) $((b[2] - a[2]))"
}
cache_json() { # cache_json "H M R"
	local a=($1)
	echo "{\"hits\":${a[0]},\"misses\":${a[1]},\"resets\":${a[2]}}"
}
num() { echo "${1:-null}"; }
med() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else if (NR) print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# ---- CPUs and the layout ----------------------------------------------------
CPUS=($(awk '/^Cpus_allowed_list:/ { n = split($2, r, ",")
	for (i = 1; i <= n; i++) { m = split(r[i], ab, "-"); for (c = ab[1]; c <= ab[m]; c++) printf "%d ", c } }' /proc/self/status))
NCPU=${#CPUS[@]}
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
PIN=0
if ((NCPU >= 16)) && ((${#TASKSET[@]})); then
	PIN=1 WRK_THREADS=8
	WRK_CPUS=$(echo "${CPUS[@]:8:8}" | tr ' ' ,)
	RUN_TS=""
	for t in $TS; do ((t <= NCPU / 2)) && RUN_TS+=" $t"; done
	LAYOUT="$NCPU CPUs: qingdand and nginx pinned to the first T CPUs (${CPUS[0]}…), wrk ($WRK_THREADS threads) to CPUs $WRK_CPUS"
else
	WRK_THREADS=1 RUN_TS=""
	for t in $TS; do ((t == 1)) && RUN_TS=1; done
	if ((NCPU >= 2)) && ((${#TASKSET[@]})); then
		PIN=2 WRK_CPUS=${CPUS[1]}
		LAYOUT="fewer than 16 CPUs ($NCPU): T = 1 only, qingdand and nginx pinned to CPU ${CPUS[0]}, wrk (1 thread) to CPU ${CPUS[1]}"
	else
		WRK_CPUS=""
		LAYOUT="fewer than 16 CPUs ($NCPU) and no pinning (taskset or a second CPU missing): T = 1 only, unpinned"
	fi
fi
if ((PREPARE)); then
	[ -n "$BUNDLE" ] || die "--prepare is for a bundle"
	RUN_TS=1
fi
[ -n "$RUN_TS" ] || die "no T of \"$TS\" fits: $LAYOUT"
server_pin() { # server_pin T — the command prefix that pins a server
	((PIN)) || return 0
	local t=$1
	((PIN == 2)) && t=1
	SERVER_CPUS=$(echo "${CPUS[@]:0:t}" | tr ' ' ,)
	PIN_CMD=("${TASKSET[@]}" -c "$SERVER_CPUS")
}
siblings() { # the hyperthread siblings of the CPUs in $1 (comma list), or nothing
	local c out=""
	for c in ${1//,/ }; do
		[ -r "/sys/devices/system/cpu/cpu$c/topology/thread_siblings_list" ] &&
			out+="${out:+ }$c:$(<"/sys/devices/system/cpu/cpu$c/topology/thread_siblings_list")"
	done
	echo "$out"
}

# ---- data -------------------------------------------------------------------------
say "$LAYOUT"
say "programs: $WHERE; work directory $WORK"
D=$WORK/data
timeout 600 "${TR[@]}" "${GEN[@]}" --roster "$ROSTER" --pairs "$PAIRS" --check-items "$CHECK_ITEMS" "$ENTRIES" "$D" >&2 ||
	die "gen failed"
bench_paths "$D/pairs-$ENTRIES.tsv" "$DATE" >"$WORK/paths.txt"
if [ -n "$BUNDLE" ] && ((!PREPARE)); then
	check "gen gives the bundle's lookups (data/paths.txt)" same "$WORK/paths.txt" "$BUNDLE/data/paths.txt"
fi
DB=$WORK/db
mkdir "$DB"
for l in positive whitelist; do
	timeout 600 "${TR[@]}" "${CTL[@]}" --db "$DB" load "bench-$l" "$D/$l-$ENTRIES.json" >"$WORK/load.out" 2>&1 ||
		{ cat "$WORK/load.out" >&2; die "loading $l-$ENTRIES.json failed"; }
done
bench_lua "$WORK"
mkdir -p "$WORK/www" "$WORK/bodies"

QD_PG="" NG_PG="" QB_PG=""
start_qingdand() { # start_qingdand T
	PIN_CMD=()
	server_pin "$1"
	QPORT=$(bench_free_port)
	start_group QD_PG "${TR[@]}" "${PIN_CMD[@]}" "${QD[@]}" --db "$DB" --listen "127.0.0.1:$QPORT" --threads "$1" \
		--access-log off 2>"$WORK/qingdand-$1.log"
	wait_http "$QPORT" /healthz || { cat "$WORK/qingdand-$1.log" >&2; return 1; }
}
start_base() { # start_base T — the --base build's qingdand, reading the same store
	PIN_CMD=()
	server_pin "$1"
	BPORT=$(bench_free_port)
	start_group QB_PG "${PIN_CMD[@]}" "${QB[@]}" --db "$DB" --listen "127.0.0.1:$BPORT" --threads "$1" \
		--access-log off 2>"$WORK/base-$1.log"
	wait_http "$BPORT" /healthz || { cat "$WORK/base-$1.log" >&2; return 1; }
}
start_nginx() { # start_nginx T
	PIN_CMD=()
	server_pin "$1"
	NPORT=$(bench_free_port)
	bench_nginx_conf "$TEMPLATE" "$WORK/nginx-$1" "$NPORT" "$1" "$WORK/www/lookup.json"
	start_group NG_PG "${TR[@]}" "${PIN_CMD[@]}" "${NGINX[@]}" -p "$WORK/nginx-$1/" -c "$WORK/nginx-$1/nginx.conf" \
		-e "$WORK/nginx-$1/error.log" 2>>"$WORK/nginx-$1/error.log"
	wait_http "$NPORT" "$ONE_PATH" || { cat "$WORK/nginx-$1/error.log" >&2; return 1; }
}

# The first pass: every lookup answers 200; the body nginx serves is the
# response whose size is the median of the set (ties: the earlier lookup).
first_pass() {
	local i=0 bad=0 path code
	while IFS= read -r path; do
		i=$((i + 1))
		code=$(http "$QPORT" GET "$path" "$WORK/bodies/$i.json")
		[ "$code" = 200 ] || bad=$((bad + 1))
		echo "$(stat -c %s "$WORK/bodies/$i.json" 2>/dev/null || echo 0) $i"
	done <"$WORK/paths.txt" >"$WORK/sizes"
	check "all $i lookups answer 200" test "$bad" -eq 0 || return 1
	MED_I=$(sort -n -k1,1 -k2,2 "$WORK/sizes" | awk -v n="$i" 'NR == int(n / 2) + 1 { print $2 }')
	ONE_PATH=$(awk -v k="$MED_I" 'NR == k' "$WORK/paths.txt")
	if ((PREPARE)); then
		mkdir -p "$BUNDLE/data"
		cp "$WORK/paths.txt" "$BUNDLE/data/paths.txt"
		cp "$WORK/bodies/$MED_I.json" "$BUNDLE/data/lookup.json"
		say "wrote data/paths.txt and data/lookup.json (lookup $MED_I, $(stat -c %s "$WORK/bodies/$MED_I.json") B)"
		return 0
	fi
	if [ -n "$BUNDLE" ]; then
		cp "$BUNDLE/data/lookup.json" "$WORK/www/lookup.json"
		check "the bundle's body is the median response here, but for its decision_id" \
			same <(no_id "$WORK/bodies/$MED_I.json") <(no_id "$WORK/www/lookup.json")
	else
		cp "$WORK/bodies/$MED_I.json" "$WORK/www/lookup.json"
	fi
	chmod 644 "$WORK/www/lookup.json"
	BODY_BYTES=$(stat -c %s "$WORK/www/lookup.json")
}

# The same request to both: the same Content-Type, bodies equal but for
# the decision_id (same length).
same_answer() {
	http "$QPORT" GET "$ONE_PATH" "$WORK/q.b" >/dev/null
	http "$NPORT" GET "$ONE_PATH" "$WORK/n.b" >/dev/null
	check "nginx (T=$1) sends the benchmarked body byte for byte" same "$WORK/n.b" "$WORK/www/lookup.json" &&
		check "qingdand (T=$1) answers the same lookup with the same body but for its decision_id" \
			test "$(stat -c %s "$WORK/q.b")" = "$(stat -c %s "$WORK/n.b")" -a \
			"$(no_id "$WORK/q.b")" = "$(no_id "$WORK/n.b")" &&
		check "same Content-Type (T=$1)" test "$(ctype "$WORK/q.b.h")" = "$(ctype "$WORK/n.b.h")" || return 1
	[ -n "$BASE" ] || return 0
	http "$BPORT" GET "$ONE_PATH" "$WORK/b.b" >/dev/null
	check "the base build (T=$1) answers the same lookup with the same body but for its decision_id" \
		test "$(no_id "$WORK/b.b")" = "$(no_id "$WORK/q.b")"
}

# The check body answers 200 with every item decided.
check_answer() {
	local code s
	code=$(http "$QPORT" POST /v1/check "$WORK/check.out" "$D/check-$ENTRIES.json")
	s=$(awk '{ if (match($0, /"summary":\{[^}]*\}/)) { print substr($0, RSTART, RLENGTH); exit } }' "$WORK/check.out")
	CHECK_ALLOW=$(bench_wrk_field "$s" allow) CHECK_DENY=$(bench_wrk_field "$s" deny)
	CHECK_RESPONSE_BYTES=$(stat -c %s "$WORK/check.out")
	check "POST /v1/check answers 200 with all $CHECK_ITEMS items decided" \
		test "$code" = 200 -a "$((${CHECK_ALLOW:-0} + ${CHECK_DENY:-0}))" = "$CHECK_ITEMS"
}

# wrk_run TAG PORT CONNS DURATION SCRIPT PATH [ARG] — one wrk run, in the
# background so that a signal stops it; WRK_J gets its WRKJSON object.  A
# request counts as timed out after 10 s, not wrk's 2 s: a busy machine is
# slow, not wrong.
wrk_run() {
	local tag=$1 port=$2 c=$3 d=$4 script=$5 path=$6 wt=$WRK_THREADS extra=() pin=() pg e
	shift 6
	(($#)) && extra=(-- "$@")
	((c < wt)) && wt=$c
	[ -n "$WRK_CPUS" ] && pin=("${TASKSET[@]}" -c "$WRK_CPUS")
	start_group pg timeout $((d + 30)) "${TR[@]}" "${pin[@]}" "${WRK[@]}" -t "$wt" -c "$c" -d "${d}s" --timeout 10s --latency \
		-s "$script" "http://127.0.0.1:$port$path" "${extra[@]}" >"$WORK/wrk.out" 2>&1
	wait "$pg"
	GROUPS_LIVE=${GROUPS_LIVE/ $pg/}
	WRK_J=$(awk '/^WRKJSON / { sub(/^WRKJSON /, ""); print }' "$WORK/wrk.out")
	if [ -z "$WRK_J" ]; then
		cat "$WORK/wrk.out" >&2
		check "wrk $tag ran" false
		return 1
	fi
	e=0
	for k in err_connect err_read err_write err_status err_timeout; do
		e=$((e + $(bench_wrk_field "$WRK_J" $k)))
	done
	check "wrk $tag: requests and no errors" test "$(bench_wrk_field "$WRK_J" requests)" -gt 0 -a "$e" -eq 0
}
rps() { awk -v r="$(bench_wrk_field "$1" requests)" -v d="$(bench_wrk_field "$1" duration_us)" 'BEGIN { printf "%.1f", r / (d / 1e6) }'; }
ms() { awk -v u="$(bench_wrk_field "$1" "$2")" 'BEGIN { printf "%.3f", u / 1000 }'; }

# ---- the runs -------------------------------------------------------------------
: >"$WORK/rows.json"
: >"$WORK/table"
: >"$WORK/caches"
FIRST=1
for T in $RUN_TS; do
	start_qingdand "$T" || { check "qingdand --threads $T answers" false; break; }
	if ((FIRST)); then
		first_pass || break
		((PREPARE)) && break
		check_answer
		FIRST=0
	fi
	start_nginx "$T" || { check "nginx with $T workers answers" false; break; }
	if [ -n "$BASE" ]; then
		start_base "$T" || { check "the base build's qingdand --threads $T answers" false; break; }
	fi
	same_answer "$T"
	if ((PIN)); then
		say "T=$T: servers on CPUs $SERVER_CPUS ($(siblings "$SERVER_CPUS")), wrk on CPUs $WRK_CPUS ($(siblings "$WRK_CPUS"))"
	fi
	SERVERS="n q"
	[ -n "$BASE" ] && SERVERS="n q b"
	if ((WARMUP > 0)); then
		wrk_run "warm-up qingdand T=$T" "$QPORT" "$CONNS" "$WARMUP" "$WORK/rotate.lua" "" "$WORK/paths.txt"
		wrk_run "warm-up nginx T=$T" "$NPORT" "$CONNS" "$WARMUP" "$WORK/rotate.lua" "" "$WORK/paths.txt"
		[ -z "$BASE" ] ||
			wrk_run "warm-up base T=$T" "$BPORT" "$CONNS" "$WARMUP" "$WORK/rotate.lua" "" "$WORK/paths.txt"
	fi
	rounds=""
	: >"$WORK/cols"
	K0=$(cache_counts "$QPORT")
	for ((r = 1; r <= ROUNDS; r++)); do
		# Each round starts with the next server: each goes first as often.
		set -- $SERVERS
		for ((i = 0; i < (r - 1) % $#; i++)); do set -- "${@:2}" "$1"; done
		order="$*"
		for s in $order; do
			case $s in
			n) port=$NPORT name=nginx pg=$NG_PG ;;
			q) port=$QPORT name=qingdand pg=$QD_PG ;;
			b) port=$BPORT name="qingdand (base)" pg=$QB_PG ;;
			esac
			say "T=$T round $r/$ROUNDS: $name, ${DURATION}s"
			t0=$(group_ticks "$pg")
			if wrk_run "lookup $name T=$T round $r" "$port" "$CONNS" "$DURATION" "$WORK/rotate.lua" "" "$WORK/paths.txt"; then
				t1=$(group_ticks "$pg")
				printf -v "J_$s" %s "$WRK_J"
				printf -v "C_$s" %s "$(awk -v t=$((t1 - t0)) -v n="$(bench_wrk_field "$WRK_J" requests)" -v hz=$HZ \
					'BEGIN { printf "%.2f", (n > 0 ? t * 1e6 / hz / n : 0) }')"
			else
				printf -v "J_$s" %s ""
			fi
		done
		[ -n "$J_n" ] && [ -n "$J_q" ] || continue
		[ -z "$BASE" ] || [ -n "$J_b" ] || continue
		qr=$(rps "$J_q") nr=$(rps "$J_n")
		ratio=$(awk -v q="$qr" -v n="$nr" 'BEGIN { printf "%.3f", q / n }')
		if [ -n "$BASE" ]; then
			br=$(rps "$J_b")
			bratio=$(awk -v q="$qr" -v b="$br" 'BEGIN { printf "%.3f", q / b }')
			bcols="$br $bratio $C_b $(ms "$J_b" lat_p99_us)"
			bjson=",\"base\":$J_b,\"base_cpu_us_per_answer\":$C_b,\"ratio_to_base\":$bratio"
		else
			bcols="" bjson=""
		fi
		echo "$qr $nr $ratio $(ms "$J_q" lat_p99_us) $(ms "$J_n" lat_p99_us) $(ms "$J_q" lat_p50_us) $(ms "$J_n" lat_p50_us) $C_q $C_n $bcols" >>"$WORK/cols"
		rounds+="${rounds:+,}{\"round\":$r,\"qingdand\":$J_q,\"nginx\":$J_n,\"ratio\":$ratio,\"qingdand_cpu_us_per_answer\":$C_q,\"nginx_cpu_us_per_answer\":$C_n$bjson}"
	done
	Q_RPS=$(col 1) N_RPS=$(col 2) RATIO=$(col 3) Q_P99=$(col 4) N_P99=$(col 5) Q_P50=$(col 6) N_P50=$(col 7)
	Q_CPU=$(col 8) N_CPU=$(col 9) B_RPS="" B_RATIO="" B_CPU="" B_P99=""
	[ -z "$BASE" ] || { B_RPS=$(col 10) B_RATIO=$(col 11) B_CPU=$(col 12) B_P99=$(col 13); }
	K1=$(cache_counts "$QPORT")
	checks=""
	: >"$WORK/ccols"
	for ((r = 1; r <= CHECK_ROUNDS; r++)); do
		say "T=$T check round $r/$CHECK_ROUNDS: ${DURATION}s"
		wrk_run "check T=$T round $r" "$QPORT" "$CHECK_CONNS" "$DURATION" "$WORK/post.lua" /v1/check "$D/check-$ENTRIES.json" || continue
		ips=$(awk -v r="$(rps "$WRK_J")" -v n="$CHECK_ITEMS" 'BEGIN { printf "%.0f", r * n }')
		echo "$ips $(ms "$WRK_J" lat_p99_us)" >>"$WORK/ccols"
		checks+="${checks:+,}{\"round\":$r,\"item_decisions_per_s\":$ips,\"run\":$WRK_J}"
	done
	C_IPS=$(awk '{ print $1 }' "$WORK/ccols" | med) C_P99=$(awk '{ print $2 }' "$WORK/ccols" | med)
	K2=$(cache_counts "$QPORT")
	KL=$(cache_delta "$K0" "$K1") KC=$(cache_delta "$K1" "$K2")
	echo "$T $KL $KC" >>"$WORK/caches"
	KL=$(cache_json "$KL") KC=$(cache_json "$KC")
	RSS=$(bench_rss "$QD_PG")
	RSS_KIB=$(bench_wrk_field "$RSS" VmRSS_kib)
	stop_group "$NG_PG" QUIT
	stop_group "$QD_PG"
	stop_group "$QB_PG"
	NG_PG="" QD_PG="" QB_PG=""
	echo "$T|${Q_RPS:-}|${N_RPS:-}|${RATIO:-}|${Q_P99:-}|${N_P99:-}|${C_IPS:-}|${RSS_KIB:-}|${Q_CPU:-}|${N_CPU:-}|${B_RPS:-}|${B_RATIO:-}|${B_CPU:-}|${B_P99:-}" >>"$WORK/table"
	bjson=""
	[ -z "$BASE" ] || bjson=",\"base_rps\":$(num "$B_RPS"),\"ratio_to_base\":$(num "$B_RATIO"),\"base_cpu_us_per_answer\":$(num "$B_CPU"),\"base_p99_ms\":$(num "$B_P99")"
	echo "{\"threads\":$T,\"server_cpus\":\"${SERVER_CPUS:-}\",\"qingdand_rps\":$(num "$Q_RPS"),\"nginx_rps\":$(num "$N_RPS"),\"ratio\":$(num "$RATIO"),\"qingdand_p50_ms\":$(num "$Q_P50"),\"nginx_p50_ms\":$(num "$N_P50"),\"qingdand_p99_ms\":$(num "$Q_P99"),\"nginx_p99_ms\":$(num "$N_P99"),\"qingdand_cpu_us_per_answer\":$(num "$Q_CPU"),\"nginx_cpu_us_per_answer\":$(num "$N_CPU")$bjson,\"check_item_decisions_per_s\":$(num "$C_IPS"),\"check_p99_ms\":$(num "$C_P99"),\"read_cache_lookups\":$KL,\"read_cache_checks\":$KC,\"qingdand_status\":$RSS,\"rounds\":[$rounds],\"check_rounds\":[$checks]}" >>"$WORK/rows.json"
done
stop_group "$NG_PG" QUIT
stop_group "$QD_PG"
stop_group "$QB_PG"
if ((PREPARE)); then
	LEFT=$(left_over)
	[ -z "$LEFT" ] || { echo "$LEFT" >&2; die "processes left over"; }
	((FAILS)) && exit 1
	exit 0
fi

LEFT=$(left_over)
check "no process started here is left" test -z "$LEFT" || echo "$LEFT" >&2

# ---- the table and the JSON --------------------------------------------------------
STAMP=$(date +%Y-%m-%dT%H:%M:%S%z)
WRK_V=$("${TR[@]}" "${WRK[@]}" -v 2>&1 | awk 'NR == 1')
NGINX_V=$("${TR[@]}" "${NGINX[@]}" -v 2>&1 | awk 'NR == 1')
{
	echo "qingdan thread scaling  $STAMP  commit ${COMMIT:-unknown}  ($NCPU CPUs: $CPU_MODEL)"
	echo "$LAYOUT"
	echo "$WRK_V | $NGINX_V | $WHERE"
	echo "GET /v1/lookup rotating over $PAIRS lookups of two $ENTRIES-entry lists (nginx: the median response, ${BODY_BYTES:-?} B), $CONNS connections, keep-alive, medians of $ROUNDS rounds of ${DURATION} s; POST /v1/check: $CHECK_ITEMS items, $CHECK_CONNS connections, median of $CHECK_ROUNDS rounds; RSS: qingdand's VmRSS after its runs"
	echo
	echo "| threads | qingdand req/s | nginx req/s | ratio | p99 qingdand / nginx | CPU µs per answer qingdand / nginx | check item decisions/s | qingdand RSS |"
	echo "|---:|---:|---:|---:|---|---|---:|---:|"
	# g: a count with thin spaces between thousands; f: x with p decimals
	FMT='function g(x,   s, i) { if (x == "") return "—"; x = sprintf("%.0f", x); s = ""
			while (length(x) > 3) { s = " " substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
			return x s }
		function f(x, p) { return x == "" ? "—" : sprintf("%." p "f", x) }'
	awk -F'|' "$FMT"'
		{ printf "| %s | %s | %s | %s | %s / %s ms | %s / %s | %s | %s MiB |\n", $1, g($2), g($3), f($4, 2), f($5, 2), f($6, 2),
			f($9, 1), f($10, 1), g($7), $8 == "" ? "—" : sprintf("%.1f", $8 / 1024) }' "$WORK/table"
	# A cache that keeps emptying itself (resets) during the checks no
	# longer holds the declaration's answers: the checks then search the store.
	awk '{ printf "qingdand read cache, T=%s (hits / misses / resets): lookup rounds %s / %s / %s, check rounds %s / %s / %s\n",
			$1, $2, $3, $4, $5, $6, $7 }' "$WORK/caches"
	if [ -n "$BASE" ]; then
		echo
		echo "The base build ($BASE) in the same rounds:"
		echo
		echo "| threads | qingdand req/s | base req/s | qingdand / base | p99 qingdand / base | CPU µs per answer qingdand / base |"
		echo "|---:|---:|---:|---:|---|---|"
		awk -F'|' "$FMT"'
			{ printf "| %s | %s | %s | %s | %s / %s ms | %s / %s |\n", $1, g($2), g($11), f($12, 2), f($5, 2), f($14, 2),
				f($9, 1), f($13, 1) }' "$WORK/table"
	fi
} >"$WORK/table.md"
cat "$WORK/table.md"
OUT=${OUT:-$PWD/scale-$(date +%Y%m%d-%H%M%S).json}
jstr() { awk 'BEGIN { s = ARGV[1]; ARGV[1] = ""; gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, " ", s); printf "\"%s\"", s }' "$1"; }
{
	printf '{"date":%s,"command":%s,"commit":%s,"programs":%s,' "$(jstr "$STAMP")" \
		"$(jstr "scale.sh --rounds $ROUNDS --duration $DURATION --warmup $WARMUP --connections $CONNS --check-rounds $CHECK_ROUNDS --check-connections $CHECK_CONNS --threads \"$TS\"${BASE:+ --base $BASE}")" \
		"$(jstr "${COMMIT:-unknown}")" "$(jstr "$WHERE${BUILT:+ (built $BUILT)}")"
	printf '"machine":{"cpus":%s,"cpu_list":%s,"cpu":%s,"kernel":%s,"pinned":%s,"many_core":%s,"layout":%s,"wrk_cpus":%s,"wrk_cpu_siblings":%s},' \
		"$NCPU" "$(jstr "${CPUS[*]}")" "$(jstr "$CPU_MODEL")" "$(jstr "$(uname -r)")" "$( ((PIN)) && echo true || echo false)" \
		"$( ((NCPU >= 16)) && echo true || echo false)" "$(jstr "$LAYOUT")" "$(jstr "$WRK_CPUS")" "$(jstr "$(siblings "$WRK_CPUS")")"
	printf '"tools":{"wrk":%s,"nginx":%s},' "$(jstr "$WRK_V")" "$(jstr "$NGINX_V")"
	printf '"params":{"entries":%s,"roster":%s,"pairs":%s,"date":"%s","rounds":%s,"duration_s":%s,"warmup_s":%s,"connections":%s,"wrk_threads":%s,"check_items":%s,"check_connections":%s,"check_rounds":%s,"threads_asked":%s,"threads_run":%s},' \
		"$ENTRIES" "$ROSTER" "$PAIRS" "$DATE" "$ROUNDS" "$DURATION" "$WARMUP" "$CONNS" "$WRK_THREADS" "$CHECK_ITEMS" \
		"$CHECK_CONNS" "$CHECK_ROUNDS" "$(jstr "$TS")" "$(jstr "${RUN_TS# }")"
	printf '"body_bytes":%s,"check":{"allow":%s,"deny":%s,"response_bytes":%s},' "${BODY_BYTES:-null}" \
		"${CHECK_ALLOW:-null}" "${CHECK_DENY:-null}" "${CHECK_RESPONSE_BYTES:-null}"
	printf '"rows":['
	awk 'NR > 1 { printf "," } { printf "%s", $0 }' "$WORK/rows.json"
	printf '],"checks":%s,"failures":%s}\n' "$CHECKS" "$FAILS"
} >"$OUT"
echo
echo "written: $OUT"
echo "checks: $CHECKS, failures: $FAILS"
exit $((FAILS ? 1 : 0))
