#!/usr/bin/env bash
# qingdan benchmark: qingdand side by side with nginx, in one run.
#
#   tests/bench/run.sh              full run (~10 minutes on 2 cores)
#   tests/bench/run.sh --smoke      tiny lists, 1 s runs: checks that the
#                                   machinery works, asserts no timing
#   tests/bench/run.sh --profile    full run plus profiles (callgrind of a
#                                   lookup, of a 100 000-entry load and of
#                                   qingdand under HTTP; perf if it works)
#   tests/bench/run.sh --receipts-only
#                                   only the receipts rounds: lookups with
#                                   receipt=true and checks with a receipt
#                                   (Ed25519, SM2) beside plain ones
#
# Options: --rounds N (5)  --duration S (10)  --connections C (64)
#          --wrk-threads T (2)  --keep (keep the work directory)
#          --no-split (skip the rounds with servers and wrk on separate CPUs)
#
# Installs wrk, nginx-light and valgrind if missing (apt-get; sudo when not
# root), builds a release build in build-bench/ (the smoke run uses the
# build it is run from: $QD_BUILD_ROOT, else build/), generates lists with
# tests/bench/gen, loads them with qingdanctl, starts qingdand and nginx on
# loopback and runs wrk against both, alternating.  Prints one summary
# table and writes it as JSON to tests/bench/out/summary-<date>.json (the
# smoke run keeps its summary in the work directory).  Nothing here fails
# on a timing: targets are reported, never asserted.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/bench/lib.sh"
SMOKE=0 PROFILE=0 KEEP=0 SPLIT=1 RECEIPTS_ONLY=0
ROUNDS=5 DURATION=10 CONNS=64 WRK_THREADS=2
while (($#)); do
	case "$1" in
	--smoke) SMOKE=1 ;;
	--profile) PROFILE=1 ;;
	--keep) KEEP=1 ;;
	--no-split) SPLIT=0 ;;
	--receipts-only) RECEIPTS_ONLY=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--connections) CONNS=$2; shift ;;
	--wrk-threads) WRK_THREADS=$2; shift ;;
	-h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 64 ;;
	esac
	shift
done

DATE=2026-03-16              # the civil date every lookup asks about
if ((SMOKE)); then
	N_SMALL=200 N_BIG=1000 ROSTER=20 PAIRS=32 CHECK_ITEMS=100
	ROUNDS=1 DURATION=1 WARMUP=0 LOAD_REPS=1 CHECK_ROUNDS=1
	MILLION=4000 CHUNKS=2 K1=32 K2=96 CONNS=8
	PROFILE=0
else
	N_SMALL=10000 N_BIG=100000 ROSTER=200 PAIRS=256 CHECK_ITEMS=1000
	WARMUP=3 LOAD_REPS=3 CHECK_ROUNDS=3
	MILLION=1000000 CHUNKS=10 K1=1024 K2=11264
fi

CHECKS=0 FAILS=0
check() { # check DESCRIPTION COMMAND... — count it, say it when it fails
	local what=$1; shift
	CHECKS=$((CHECKS + 1))
	if "$@"; then
		((SMOKE)) && echo "ok   $what" >&2
		return 0
	fi
	FAILS=$((FAILS + 1))
	echo "FAIL $what" >&2
	return 1
}
say() { echo "bench: $*" >&2; }
finish() { # print the Check-style line and exit
	local pct=100
	((CHECKS)) && pct=$(((CHECKS - FAILS) * 100 / CHECKS))
	echo "${pct}%: Checks: $CHECKS, Failures: $FAILS, Errors: 0"
	exit $((FAILS ? 1 : 0))
}

# ---- packages -------------------------------------------------------------
if ((SMOKE)); then
	[ -x /usr/sbin/nginx ] && NGINX_CMD=/usr/sbin/nginx || NGINX_CMD=nginx
	bench_install wrk:wrk "$NGINX_CMD:nginx-light" valgrind:valgrind curl:curl python3:python3
	BUILD=${QD_BUILD_ROOT:-$ROOT/build}
else
	# deploy/setup.sh installs the build dependencies and builds; the
	# benchmark tools come with it.
	BUILD=$ROOT/build-bench
	bench_build_release "$ROOT" "$BUILD" "wrk nginx-light valgrind" || exit 1
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
QD=$BUILD/src/daemon/qingdand
CTL=$BUILD/src/ctl/qingdanctl
GEN=$BUILD/tests/bench/gen
BD=$BUILD/tests/bench/bench_decide
check "tools present (wrk, nginx, valgrind, curl, python3)" \
	bash -c "command -v wrk && [ -x '$NGINX' ] && command -v valgrind && command -v curl && command -v python3" >/dev/null
check "binaries built in $BUILD" test -x "$QD" -a -x "$CTL" -a -x "$GEN" -a -x "$BD" || finish

# ---- work directory and clean-up ----------------------------------------------
WORK=$(mktemp -d /tmp/qingdan-bench.XXXXXX)
chmod 755 "$WORK"
RES=$WORK/results.jsonl
: >"$RES"
QD_PID="" NGINX_PID="" VG_PID="" RC_PIDS=""
cleanup() {
	for p in $QD_PID $VG_PID $RC_PIDS; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
	if ((KEEP)); then say "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
emit() { echo "$1" >>"$RES"; } # one JSON object per line, collected by the summary

now() { echo "$EPOCHREALTIME"; }
elapsed() { python3 -c "print(round($2 - $1, 3))"; }
free_port() { bench_free_port; }
rss() { bench_rss "$1"; }
wait_http() { # wait_http URL — up to 10 s
	for _ in $(seq 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

# ---- generate ---------------------------------------------------------------------
D=$WORK/data
say "generating lists ($N_SMALL and $N_BIG entries, roster $ROSTER)"
check "gen $N_SMALL" "$GEN" --roster "$ROSTER" --pairs "$PAIRS" --check-items "$CHECK_ITEMS" "$N_SMALL" "$D"
check "gen $N_BIG with CSV" "$GEN" --roster "$ROSTER" --pairs "$PAIRS" --check-items "$CHECK_ITEMS" --csv "$N_BIG" "$D"
check "gen is deterministic" bash -c "'$GEN' --roster $ROSTER --pairs $PAIRS --check-items $CHECK_ITEMS $N_SMALL '$WORK/again' 2>/dev/null &&
	cmp -s '$D/positive-$N_SMALL.json' '$WORK/again/positive-$N_SMALL.json' &&
	cmp -s '$D/whitelist-$N_SMALL.json' '$WORK/again/whitelist-$N_SMALL.json'"
rm -rf "$WORK/again"

# ---- load times -------------------------------------------------------------------
if ((!RECEIPTS_ONLY)); then
timed_load() { # timed_load NAME DB LIST FILE → emits {"section":"load",...}
	local name=$1 db=$2 list=$3 file=$4 t0 t1 rc
	t0=$(now)
	"$CTL" --db "$db" load "$list" "$file" >"$WORK/load.out" 2>&1
	rc=$?
	t1=$(now)
	check "load $name ($(basename "$file"))" test $rc -eq 0 || cat "$WORK/load.out" >&2
	emit "{\"section\":\"load\",\"name\":\"$name\",\"file\":\"$(basename "$file")\",\"bytes\":$(stat -c %s "$file"),\"seconds\":$(elapsed "$t0" "$t1"),\"ok\":$([ $rc -eq 0 ] && echo true || echo false)}"
}
say "timing loads of $N_BIG entries ($LOAD_REPS repetitions)"
for rep in $(seq "$LOAD_REPS"); do
	rm -rf "$WORK/dbload" "$WORK/dbcsv"
	mkdir "$WORK/dbload" "$WORK/dbcsv"
	timed_load json_positive "$WORK/dbload" bench-positive "$D/positive-$N_BIG.json"
	timed_load json_whitelist "$WORK/dbload" bench-whitelist "$D/whitelist-$N_BIG.json"
	timed_load json_positive_reload "$WORK/dbload" bench-positive "$D/positive-$N_BIG.json"
	"$CTL" --db "$WORK/dbcsv" load bench-positive "$D/positive-$N_SMALL.json" >/dev/null
	"$CTL" --db "$WORK/dbcsv" load bench-whitelist "$D/whitelist-$N_SMALL.json" >/dev/null
	timed_load csv_positive "$WORK/dbcsv" bench-positive "$D/positive-$N_BIG.csv"
	timed_load csv_whitelist "$WORK/dbcsv" bench-whitelist "$D/whitelist-$N_BIG.csv"
done
emit "{\"section\":\"store_size\",\"name\":\"two lists of $N_BIG, positive twice\",\"kib\":$(du -sk "$WORK/dbload" | cut -f1)}"
rm -rf "$WORK/dbcsv"  # dbload stays for the RSS series with the big lists
fi

# ---- the benchmark store ------------------------------------------------------------
DB=$WORK/db
mkdir "$DB"
check "load positive $N_SMALL" "$CTL" --db "$DB" load bench-positive "$D/positive-$N_SMALL.json" >/dev/null
check "load whitelist $N_SMALL" "$CTL" --db "$DB" load bench-whitelist "$D/whitelist-$N_SMALL.json" >/dev/null
emit "{\"section\":\"store_size\",\"name\":\"benchmark store, two lists of $N_SMALL\",\"kib\":$(du -sk "$DB" | cut -f1)}"

QPORT=$(free_port)
"$QD" --db "$DB" --listen "127.0.0.1:$QPORT" --threads 2 --access-log off 2>"$WORK/qingdand.log" &
QD_PID=$!
QURL=http://127.0.0.1:$QPORT
check "qingdand answers /healthz" wait_http "$QURL/healthz" || { cat "$WORK/qingdand.log" >&2; finish; }
sleep 0.2
emit "{\"section\":\"rss\",\"store\":\"small\",\"lookups\":0,\"when\":\"after start (lists loaded)\",\"status\":$(rss $QD_PID)}"

# The lookups, as URL paths (code, entity, date).
bench_paths "$D/pairs-$N_SMALL.tsv" "$DATE" >"$WORK/paths.txt"
mkdir "$WORK/bodies"
bad=0 i=0
while read -r path; do
	i=$((i + 1))
	code=$(curl -sS -o "$WORK/bodies/$i.json" -w '%{http_code}' "$QURL$path") || code=000
	[ "$code" = 200 ] || bad=$((bad + 1))
done <"$WORK/paths.txt"
check "all $PAIRS lookups answer 200" test $bad -eq 0
check "lookup bodies are JSON with a decision" python3 - "$WORK/bodies" <<'PY'
import json, os, sys
d = sys.argv[1]
for f in os.listdir(d):
    j = json.load(open(os.path.join(d, f), encoding="utf-8"))
    assert j["decision"] in ("allow", "deny"), f
PY
emit "{\"section\":\"rss\",\"store\":\"small\",\"lookups\":$PAIRS,\"when\":\"after one pass over the lookups\",\"status\":$(rss $QD_PID)}"

# The static body: the response whose size is the median of the set, so
# nginx sends a typical qingdand response, byte for byte.
read -r MED_I MED_SIZE < <(python3 - "$WORK/bodies" "$WORK/paths.txt" "$RES" <<'PY'
import json, os, sys, statistics
d, paths, res = sys.argv[1:4]
sizes = {int(f[:-5]): os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)}
order = sorted(sizes, key=lambda i: (sizes[i], i))
mid = order[len(order) // 2]
allow = sum(json.load(open(os.path.join(d, f"{i}.json")))["decision"] == "allow" for i in sizes)
with open(res, "a") as o:
    o.write(json.dumps({"section": "bodies", "n": len(sizes), "allow": allow,
                        "min": min(sizes.values()), "median": sizes[mid],
                        "mean": round(statistics.mean(sizes.values())), "max": max(sizes.values()),
                        "chosen_index": mid}) + "\n")
print(mid, sizes[mid])
PY
)
ONE_PATH=$(sed -n "${MED_I}p" "$WORK/paths.txt")
mkdir -p "$WORK/www" "$WORK/nginx"
cp "$WORK/bodies/$MED_I.json" "$WORK/www/lookup.json"
chmod 644 "$WORK/www/lookup.json"

nginx_conf() { # nginx_conf DIR PORT WORKERS — one lookup response as a static file
	bench_nginx_conf "$ROOT/tests/bench/nginx.conf.in" "$1" "$2" "$3" "$WORK/www/lookup.json"
}
NPORT=$(free_port)
nginx_conf "$WORK/nginx" "$NPORT" 2
"$NGINX" -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" 2>>"$WORK/nginx/error.log" &
NGINX_PID=$!
NURL=http://127.0.0.1:$NPORT
check "nginx answers" wait_http "$NURL$ONE_PATH" || { cat "$WORK/nginx/error.log" >&2; finish; }

# The same request to both: bodies equal but for the decision_id (same
# length), the same Content-Type.
curl -sS -D "$WORK/q.h" -o "$WORK/q.b" "$QURL$ONE_PATH"
curl -sS -D "$WORK/n.h" -o "$WORK/n.b" "$NURL$ONE_PATH"
check "nginx body is byte-identical to the benchmarked response" cmp -s "$WORK/n.b" "$WORK/www/lookup.json"
check "the same lookup again differs only in decision_id" bash -c \
	"[ \$(stat -c %s '$WORK/q.b') = \$(stat -c %s '$WORK/n.b') ] &&
	 diff <(sed 's/\"decision_id\":\"[^\"]*\"//' '$WORK/q.b') <(sed 's/\"decision_id\":\"[^\"]*\"//' '$WORK/n.b') >/dev/null"
ctype() { tr -d '\r' <"$1" | awk -F': ' 'tolower($1)=="content-type" {print $2}'; }
check "same Content-Type ($(ctype "$WORK/q.h"))" test "$(ctype "$WORK/q.h")" = "$(ctype "$WORK/n.h")"
emit "{\"section\":\"headers\",\"qingdand_bytes\":$(stat -c %s "$WORK/q.h"),\"nginx_bytes\":$(stat -c %s "$WORK/n.h"),\"body_bytes\":$MED_SIZE}"

# ---- wrk ---------------------------------------------------------------------------
bench_lua "$WORK"

wrk_run() { # wrk_run SECTION TARGET ROUND CONNS DURATION SCRIPT URL [ARGS...]
	local section=$1 target=$2 round=$3 c=$4 d=$5 script=$6 url=$7
	shift 7
	local out extra=()
	(($#)) && extra=(-- "$@")
	out=$(${WRK_PIN:-} wrk -t "${WRK_T:-$WRK_THREADS}" -c "$c" -d "${d}s" --latency -s "$script" "$url" "${extra[@]}" 2>&1)
	local j
	j=$(grep '^WRKJSON ' <<<"$out" | sed 's/^WRKJSON //')
	if [ -z "$j" ]; then
		echo "$out" >&2
		check "wrk $section $target round $round ran" false
		return 1
	fi
	emit "{\"section\":\"$section\",\"target\":\"$target\",\"round\":$round,\"connections\":$c,\"run\":$j}"
	WRK_LAST=$j
	check "wrk $section $target round $round: requests and no errors" python3 -c "
import json,sys; j=json.loads(sys.argv[1])
sys.exit(0 if j['requests']>0 and j['err_connect']+j['err_read']+j['err_write']+j['err_status']+j['err_timeout']==0 else 1)" "$j"
}

if ((WARMUP)); then
	say "warming up"
	wrk -t "$WRK_THREADS" -c "$CONNS" -d "${WARMUP}s" -s "$WORK/rotate.lua" "$QURL" -- "$WORK/paths.txt" >/dev/null 2>&1
	wrk -t "$WRK_THREADS" -c "$CONNS" -d "${WARMUP}s" -s "$WORK/rotate.lua" "$NURL" -- "$WORK/paths.txt" >/dev/null 2>&1
fi

# RSS across a million lookups (fresh daemon, before the rounds), read
# after each of about $CHUNKS wrk runs whose length follows the measured rate
# (at most 5 minutes in all).
rss_series() { # rss_series STORE PID URL PATHS
	local store=$1 pid=$2 url=$3 paths=$4 done_lookups=$PAIRS chunk_s=$((SMOKE ? 1 : 2)) k=0 n t_end
	t_end=$((SECONDS + 300))
	say "RSS over $MILLION lookups ($store store, about $CHUNKS checkpoints)"
	while ((done_lookups < MILLION + PAIRS && k < 100 && SECONDS < t_end)); do
		k=$((k + 1))
		WRK_LAST=""
		wrk_run "rss_lookups_$store" qingdand "$k" "$CONNS" "$chunk_s" "$WORK/rotate.lua" "$url" "$paths" >/dev/null
		read -r n chunk_s < <(python3 -c "
import json, sys, math
j = json.loads(sys.argv[1] or '{}')
n = j.get('requests', 0); rate = n / max(j.get('duration_us', 1) / 1e6, 1e-3)
left = int(sys.argv[2]) - n
print(n, max(1, min(60, math.ceil(min(int(sys.argv[3]), max(left, 1)) / max(rate, 1)))))" \
			"$WRK_LAST" "$((MILLION + PAIRS - done_lookups))" "$((MILLION / CHUNKS))")
		done_lookups=$((done_lookups + n))
		emit "{\"section\":\"rss\",\"store\":\"$store\",\"lookups\":$done_lookups,\"when\":\"after wrk run $k\",\"status\":$(rss "$pid")}"
	done
	check "RSS readable at every checkpoint ($store store)" \
		test "$(grep -c "\"section\":\"rss\",\"store\":\"$store\".*VmRSS_kib" "$RES")" -eq $((k + 2))
	((done_lookups >= MILLION)) || say "only $done_lookups lookups in 5 minutes ($store store)"
}
receipts_section() {
	# Lookups and checks with a signed receipt (Ed25519, SM2), each on a
	# daemon of its own over the same store and with the same threads,
	# beside the plain daemon: rounds alternate the three.
	local alg port url r t
	declare -gA RURL
	for alg in ed25519 sm2; do
		"$CTL" keygen --alg "$alg" --out "$WORK/receipt-$alg.key" >/dev/null
		port=$(free_port)
		"$QD" --db "$DB" --listen "127.0.0.1:$port" --threads 2 --access-log off \
			--signing-key "$WORK/receipt-$alg.key" 2>"$WORK/qingdand-$alg.log" &
		RC_PIDS="$RC_PIDS $!"
		RURL[$alg]=http://127.0.0.1:$port
		check "qingdand signing with $alg answers" wait_http "${RURL[$alg]}/healthz" || return 1
	done
	sed 's/$/\&receipt=true/' "$WORK/paths.txt" >"$WORK/paths-receipt.txt"
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["receipt"] = True; json.dump(d, open(sys.argv[2], "w"))' \
		"$D/check-$N_SMALL.json" "$WORK/check-receipt.json"
	for alg in ed25519 sm2; do
		url=${RURL[$alg]}$(head -1 "$WORK/paths-receipt.txt")
		check "a lookup signed with $alg carries its receipt" bash -c "curl -sS '$url' | grep -q '\"receipt\":{\"payload\"'"
	done
	say "receipts: $ROUNDS × ${DURATION}s lookups (plain, ed25519, sm2), $CONNS connections"
	for r in $(seq "$ROUNDS"); do
		case $((r % 3)) in 1) order="plain ed25519 sm2" ;; 2) order="ed25519 sm2 plain" ;; *) order="sm2 plain ed25519" ;; esac
		for t in $order; do
			if [ "$t" = plain ]; then
				wrk_run lookup_receipt plain "$r" "$CONNS" "$DURATION" "$WORK/rotate.lua" "$QURL" "$WORK/paths.txt"
			else
				wrk_run lookup_receipt "$t" "$r" "$CONNS" "$DURATION" "$WORK/rotate.lua" "${RURL[$t]}" "$WORK/paths-receipt.txt"
			fi
		done
	done
	say "receipts: $CHECK_ROUNDS × ${DURATION}s checks of $CHECK_ITEMS items (plain, ed25519, sm2), 4 connections"
	for r in $(seq "$CHECK_ROUNDS"); do
		wrk_run check_receipt plain "$r" 4 "$DURATION" "$WORK/post.lua" "$QURL/v1/check" "$D/check-$N_SMALL.json"
		for alg in ed25519 sm2; do
			wrk_run check_receipt "$alg" "$r" 4 "$DURATION" "$WORK/post.lua" "${RURL[$alg]}/v1/check" "$WORK/check-receipt.json"
		done
	done
	for p in $RC_PIDS; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	RC_PIDS=""
}

if ((!RECEIPTS_ONLY)); then
rss_series small "$QD_PID" "$QURL" "$WORK/paths.txt"

say "lookup rounds: $ROUNDS × ${DURATION}s, $CONNS connections, $WRK_THREADS wrk threads"
for r in $(seq "$ROUNDS"); do
	if ((r % 2)); then order="n_rot q_rot q_one n_one"; else order="n_one q_one q_rot n_rot"; fi
	for t in $order; do
		case $t in
		n_rot) wrk_run lookup nginx "$r" "$CONNS" "$DURATION" "$WORK/rotate.lua" "$NURL" "$WORK/paths.txt" ;;
		q_rot) wrk_run lookup qingdand "$r" "$CONNS" "$DURATION" "$WORK/rotate.lua" "$QURL" "$WORK/paths.txt" ;;
		n_one) wrk_run lookup_one nginx "$r" "$CONNS" "$DURATION" "$WORK/report.lua" "$NURL$ONE_PATH" ;;
		q_one) wrk_run lookup_one qingdand "$r" "$CONNS" "$DURATION" "$WORK/report.lua" "$QURL$ONE_PATH" ;;
		esac
	done
done

# The same rotating lookups with the load generator off the servers' CPU:
# qingdand (one worker thread) and nginx (one worker) pinned to CPU 0, wrk
# (one thread) to CPU 1, so latency is the server's and not time spent
# waiting for a CPU that wrk holds.
if ((SPLIT)) && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	SPORT=$(free_port)
	taskset -c 0 "$QD" --db "$DB" --listen "127.0.0.1:$SPORT" --threads 1 --access-log off \
		2>"$WORK/qingdand-split.log" &
	QS_PID=$!
	NSPORT=$(free_port)
	nginx_conf "$WORK/nginx-split" "$NSPORT" 1
	taskset -c 0 "$NGINX" -p "$WORK/nginx-split/" -c "$WORK/nginx-split/nginx.conf" \
		-e "$WORK/nginx-split/error.log" 2>>"$WORK/nginx-split/error.log" &
	NS_PID=$!
	wait_both() { wait_http "$1" && wait_http "$2"; }
	if check "split CPUs: qingdand and nginx answer" wait_both "http://127.0.0.1:$SPORT/healthz" "http://127.0.0.1:$NSPORT$ONE_PATH"; then
		say "lookup rounds, split CPUs: $ROUNDS × ${DURATION}s, $CONNS connections, servers on CPU 0, wrk (1 thread) on CPU 1"
		for r in $(seq "$ROUNDS"); do
			if ((r % 2)); then order="n q"; else order="q n"; fi
			for t in $order; do
				if [ "$t" = n ]; then u=http://127.0.0.1:$NSPORT tg=nginx; else u=http://127.0.0.1:$SPORT tg=qingdand; fi
				WRK_PIN="taskset -c 1" WRK_T=1 wrk_run lookup_split "$tg" "$r" "$CONNS" "$DURATION" \
					"$WORK/rotate.lua" "$u" "$WORK/paths.txt"
			done
		done
	fi
	kill -TERM "$QS_PID" 2>/dev/null && wait "$QS_PID" 2>/dev/null
	kill -QUIT "$NS_PID" 2>/dev/null && wait "$NS_PID" 2>/dev/null
fi

# Two bodies: a declaration (gen's check-N.json: an institution's own
# approvals recur, and the daemon decides a repeated item once per request)
# and the same mix with no code twice (check-distinct-N.json).
say "POST /v1/check with $CHECK_ITEMS items"
for body in check check-distinct; do
	curl -sS -o "$WORK/$body.out" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "@$D/$body-$N_SMALL.json" "$QURL/v1/check" >"$WORK/$body.code"
	check "$body answers 200 with every item decided" python3 - "$WORK/$body.out" "$WORK/$body.code" \
		"$CHECK_ITEMS" "$RES" "$body" "$D/$body-$N_SMALL.json" <<'PY'
import json, sys
out, code, n, res, body, req = sys.argv[1], open(sys.argv[2]).read().strip(), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
j = json.load(open(out, encoding="utf-8"))
s = j["summary"]
distinct = len({(i["code"], i.get("ciq")) for i in json.load(open(req, encoding="utf-8"))["items"]})
with open(res, "a") as o:
    o.write(json.dumps({"section": body.replace("-", "_") + "_body", "items": n, "distinct": distinct,
                        "allow": s["allow"], "deny": s["deny"], "invalid": s["invalid"],
                        "response_bytes": len(open(out, "rb").read())}) + "\n")
sys.exit(0 if code == "200" and s["allow"] + s["deny"] == n and len(j["items"]) == n else 1)
PY
done
for r in $(seq "$CHECK_ROUNDS"); do
	wrk_run check qingdand "$r" 4 "$DURATION" "$WORK/post.lua" "$QURL/v1/check" "$D/check-$N_SMALL.json"
	wrk_run check_distinct qingdand "$r" 4 "$DURATION" "$WORK/post.lua" "$QURL/v1/check" "$D/check-distinct-$N_SMALL.json"
done
fi # not --receipts-only
receipts_section
emit "{\"section\":\"rss\",\"store\":\"small\",\"lookups\":-1,\"when\":\"at the end (after every round and the checks)\",\"status\":$(rss $QD_PID)}"

# ---- profile: qingdand itself (perf, sampling on the CPU clock) ---------------------
if ((PROFILE)); then
	mkdir -p "$ROOT/tests/bench/out"
	STAMP_P=$(date +%Y-%m-%d-%H%M%S)
	if perf stat -e cpu-clock true >/dev/null 2>&1; then
		say "perf: sampling qingdand under the rotating lookup load"
		perf record -e cpu-clock -F 2000 -p "$QD_PID" -o "$WORK/perf.data" -- sleep "$DURATION" \
			>/dev/null 2>"$WORK/perf.err" &
		PERF_PID=$!
		wrk -t "$WRK_THREADS" -c "$CONNS" -d "${DURATION}s" -s "$WORK/rotate.lua" "$QURL" -- "$WORK/paths.txt" >/dev/null 2>&1
		wait "$PERF_PID"
		{
			echo "# perf (cpu-clock) of qingdand under GET /v1/lookup ($CONNS connections, wrk on the same CPUs)"
			echo "# by object"
			perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -v '^$' | grep -v '^#' | head -12
			echo "# self time by symbol"
			perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^$' | head -80
		} >"$ROOT/tests/bench/out/profile-perf-lookup-$STAMP_P.txt"
		say "wrote tests/bench/out/profile-perf-lookup-$STAMP_P.txt"
	fi
fi

kill -TERM "$QD_PID" 2>/dev/null && wait "$QD_PID" 2>/dev/null
QD_PID=""
kill -QUIT "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
NGINX_PID=""

if ((!RECEIPTS_ONLY)); then
# ---- RSS with the big lists ($N_BIG entries each) ----------------------------------------
bench_paths "$D/pairs-$N_BIG.tsv" "$DATE" >"$WORK/paths-big.txt"
BPORT=$(free_port)
"$QD" --db "$WORK/dbload" --listen "127.0.0.1:$BPORT" --threads 2 --access-log off 2>"$WORK/qingdand-big.log" &
QD_PID=$!
BURL=http://127.0.0.1:$BPORT
if check "qingdand answers on the $N_BIG-entry store" wait_http "$BURL/healthz"; then
	sleep 0.2
	emit "{\"section\":\"rss\",\"store\":\"big\",\"lookups\":0,\"when\":\"after start (lists loaded)\",\"status\":$(rss $QD_PID)}"
	bad=0
	while read -r path; do
		code=$(curl -sS -o /dev/null -w '%{http_code}' "$BURL$path") || code=000
		[ "$code" = 200 ] || bad=$((bad + 1))
	done <"$WORK/paths-big.txt"
	check "all $PAIRS lookups answer 200 ($N_BIG-entry store)" test $bad -eq 0
	emit "{\"section\":\"rss\",\"store\":\"big\",\"lookups\":$PAIRS,\"when\":\"after one pass over the lookups\",\"status\":$(rss $QD_PID)}"
	rss_series big "$QD_PID" "$BURL" "$WORK/paths-big.txt"
fi
kill -TERM "$QD_PID" 2>/dev/null && wait "$QD_PID" 2>/dev/null
QD_PID=""
rm -rf "$WORK/dbload"

# ---- instructions per lookup (callgrind) ----------------------------------------------
# Twice: with the read cache at its default size (the lookups cycle through
# $PAIRS pairs, so after the first pass every code and entity is in it, as
# in the wrk rounds), and with it off (every lookup searches the store).
say "callgrind: $K1 and $K2 lookups in process, read cache on and off"
ir_of() { grep -E '^(summary|totals):' "$1" | head -1 | awk '{print $2}'; }
for cache in default 0; do
	ok=1
	copt=()
	[ "$cache" = default ] || copt=(--read-cache "$cache")
	for k in $K1 $K2; do
		valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$WORK/cg.$k" \
			"$BD" --db "$DB" --pairs "$D/pairs-$N_SMALL.tsv" --date "$DATE" -n "$k" "${copt[@]}" \
			>"$WORK/bd.$k.json" 2>"$WORK/cg.$k.log" || ok=0
	done
	native=$("$BD" --db "$DB" --pairs "$D/pairs-$N_SMALL.tsv" --date "$DATE" -n $((K2 * 2)) "${copt[@]}")
	IR1=$(ir_of "$WORK/cg.$K1") IR2=$(ir_of "$WORK/cg.$K2")
	check "callgrind counted instructions (read cache $cache)" test "$ok" = 1 -a -n "$IR1" -a -n "$IR2" &&
		check "more lookups, more instructions (read cache $cache)" test "${IR2:-0}" -gt "${IR1:-0}"
	# the profile (--profile) is of the default configuration
	[ "$cache" = default ] && cp "$WORK/cg.$K2" "$WORK/cg.$K2.default"
	emit "{\"section\":\"callgrind\",\"read_cache\":\"$cache\",\"k1\":$K1,\"k2\":$K2,\"ir1\":${IR1:-0},\"ir2\":${IR2:-0},\"bench_k2\":$(cat "$WORK/bd.$K2.json" 2>/dev/null || echo null),\"native\":${native:-null}}"
done
fi # not --receipts-only

if ((PROFILE)); then
	say "callgrind: profiles of a lookup, a $N_BIG-entry load and qingdand over HTTP (slow)"
	{
		echo "# callgrind, bench_decide: $K2 lookups (inclusive)"
		callgrind_annotate --inclusive=yes "$WORK/cg.$K2.default" 2>/dev/null | head -70
		echo
		echo "# the same, self cost"
		callgrind_annotate "$WORK/cg.$K2.default" 2>/dev/null | head -60
	} >"$ROOT/tests/bench/out/profile-callgrind-lookup-$STAMP_P.txt"
	rm -rf "$WORK/dbprof" && mkdir "$WORK/dbprof"
	valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$WORK/cg.load" \
		"$CTL" --db "$WORK/dbprof" load bench-positive "$D/positive-$N_BIG.json" >/dev/null 2>"$WORK/cg.load.log"
	{
		echo "# callgrind, qingdanctl load of positive-$N_BIG.json into an empty store (inclusive)"
		callgrind_annotate --inclusive=yes "$WORK/cg.load" 2>/dev/null | head -70
		echo
		echo "# the same, self cost"
		callgrind_annotate "$WORK/cg.load" 2>/dev/null | head -60
	} >"$ROOT/tests/bench/out/profile-callgrind-load-$STAMP_P.txt"
	rm -rf "$WORK/dbprof" && mkdir "$WORK/dbprof"
	if perf stat -e cpu-clock true >/dev/null 2>&1; then
		# Real time differs from instruction counts here: allocator work
		# (malloc_consolidate walking freed chunks) costs cache misses.
		perf record -e cpu-clock -F 1000 -o "$WORK/perf.load.data" \
			"$CTL" --db "$WORK/dbprof" load bench-positive "$D/positive-$N_BIG.json" >/dev/null 2>&1
		{
			echo "# perf (cpu-clock) of qingdanctl load of positive-$N_BIG.json into an empty store"
			echo "# by object"
			perf report -i "$WORK/perf.load.data" --no-children --sort dso --stdio 2>/dev/null | grep -v '^$' | grep -v '^#' | head -12
			echo "# self time by symbol"
			perf report -i "$WORK/perf.load.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^$' | head -60
		} >"$ROOT/tests/bench/out/profile-perf-load-$STAMP_P.txt"
	fi
	rm -rf "$WORK/dbprof"
	# qingdand under callgrind, one worker thread, a fixed number of lookups.
	VPORT=$(free_port)
	valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$WORK/cg.http" \
		"$QD" --db "$DB" --listen "127.0.0.1:$VPORT" --threads 1 --access-log off 2>"$WORK/cg.http.log" &
	VG_PID=$!
	if wait_http "http://127.0.0.1:$VPORT/healthz" || { sleep 5; wait_http "http://127.0.0.1:$VPORT/healthz"; }; then
		wrk -t 1 -c 4 -d 30s -s "$WORK/rotate.lua" "http://127.0.0.1:$VPORT" -- "$WORK/paths.txt" \
			>"$WORK/cg.http.wrk" 2>&1
	fi
	kill -TERM "$VG_PID" 2>/dev/null && wait "$VG_PID" 2>/dev/null
	VG_PID=""
	{
		echo "# callgrind, qingdand --threads 1 answering GET /v1/lookup for 30 s over keep-alive (requests: see WRKJSON) (inclusive)"
		grep WRKJSON "$WORK/cg.http.wrk"
		callgrind_annotate --inclusive=yes "$WORK/cg.http" 2>/dev/null | head -80
		echo
		echo "# the same, self cost"
		callgrind_annotate "$WORK/cg.http" 2>/dev/null | head -60
	} >"$ROOT/tests/bench/out/profile-callgrind-http-$STAMP_P.txt"
	say "wrote tests/bench/out/profile-*-$STAMP_P.txt"
fi

# ---- summary ------------------------------------------------------------------------
if ((SMOKE)); then SUMMARY=$WORK/summary-smoke.json; else
	mkdir -p "$ROOT/tests/bench/out"
	SUMMARY=$ROOT/tests/bench/out/summary-$(date +%Y-%m-%d-%H%M%S).json
fi
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- src include 2>/dev/null || COMMIT="$COMMIT+dirty"
check "summary table and JSON" python3 - "$RES" "$SUMMARY" <<PY
import json, statistics, sys, os, platform, subprocess, datetime
res_path, out_path = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(res_path, encoding="utf-8") if l.strip()]
def sec(name): return [r for r in rows if r["section"] == name]
def rps(run): return run["requests"] / (run["duration_us"] / 1e6)
med = statistics.median
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
def ver(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except Exception: return "?"
S = {
  "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
  "command": "tests/bench/run.sh" + (" --smoke" if $SMOKE else ""),
  "commit": "$COMMIT", "build": "$BUILD",
  "machine": {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
              "note": "lookup and lookup_one: wrk, qingdand (2 worker threads) and nginx (2 workers) share the CPUs; lookup_split: servers (1 thread/worker) on CPU 0, wrk (1 thread) on CPU 1"},
  "tools": {"wrk": ver(["wrk", "-v"]), "nginx": ver(["$NGINX", "-v"])},
  "params": {"entries_small": $N_SMALL, "entries_big": $N_BIG, "roster": $ROSTER, "pairs": $PAIRS,
             "rounds": $ROUNDS, "duration_s": $DURATION, "connections": $CONNS, "wrk_threads": $WRK_THREADS,
             "check_items": $CHECK_ITEMS, "date": "$DATE"},
}
b = sec("bodies")[0]; h = sec("headers")[0]
S["bodies"] = b; S["headers"] = h
lines = []
P = lines.append
P(f"qingdan benchmark  {S['date']}  commit {S['commit']}  ({S['machine']['cpus']} CPUs: {cpu}; wrk and the servers share them)")
P(f"{S['tools']['wrk']} | {S['tools']['nginx']}")
P("")
for sect, title in (("lookup", f"GET /v1/lookup, rotating over {b['n']} code+entity pairs (nginx: one median-size body, {b['median']} B)"),
                    ("lookup_one", f"GET /v1/lookup, the one pair whose body nginx serves ({h['body_bytes']} B)"),
                    ("lookup_split", f"GET /v1/lookup, rotating as above, CPUs split: qingdand (1 thread) and nginx (1 worker) on CPU 0, wrk on CPU 1")):
    runs = sec(sect)
    if not runs: continue
    P(f"{title}; {$CONNS} connections, {1 if sect == 'lookup_split' else $WRK_THREADS} wrk thread(s), keep-alive, {$DURATION} s per run")
    P(f"  {'round':>6} | {'nginx req/s':>11} {'p50 ms':>7} {'p99 ms':>7} | {'qingdand req/s':>14} {'p50 ms':>7} {'p99 ms':>7} | {'ratio':>5}")
    per = []
    for r in sorted({x["round"] for x in runs}):
        n = next((x["run"] for x in runs if x["round"] == r and x["target"] == "nginx"), None)
        q = next((x["run"] for x in runs if x["round"] == r and x["target"] == "qingdand"), None)
        if not n or not q: continue
        ratio = rps(q) / rps(n)
        per.append({"round": r, "nginx_rps": round(rps(n)), "nginx_p50_ms": n["lat_p50_us"] / 1000, "nginx_p99_ms": n["lat_p99_us"] / 1000,
                    "qingdand_rps": round(rps(q)), "qingdand_p50_ms": q["lat_p50_us"] / 1000, "qingdand_p99_ms": q["lat_p99_us"] / 1000,
                    "ratio": round(ratio, 3)})
        p = per[-1]
        P(f"  {r:>6} | {p['nginx_rps']:>11} {p['nginx_p50_ms']:>7.3f} {p['nginx_p99_ms']:>7.3f} | {p['qingdand_rps']:>14} {p['qingdand_p50_ms']:>7.3f} {p['qingdand_p99_ms']:>7.3f} | {p['ratio']:>5.2f}")
    if per:
        m = {k: med([p[k] for p in per]) for k in per[0] if k != "round"}
        P(f"  {'median':>6} | {m['nginx_rps']:>11.0f} {m['nginx_p50_ms']:>7.3f} {m['nginx_p99_ms']:>7.3f} | {m['qingdand_rps']:>14.0f} {m['qingdand_p50_ms']:>7.3f} {m['qingdand_p99_ms']:>7.3f} | {m['ratio']:>5.2f}")
        S[sect] = {"rounds": per, "median": m}
    P("")
P(f"  response bodies over the pairs: min {b['min']}, median {b['median']}, mean {b['mean']}, max {b['max']} bytes; {b['allow']}/{b['n']} allow; "
  f"response headers: qingdand {h['qingdand_bytes']} B, nginx {h['nginx_bytes']} B")
for name, what in (("check", "a declaration"), ("check_distinct", "no code twice")):
    chk = sec(name)
    if not chk: continue
    cb = sec(name + "_body")[0]
    per = [{"round": x["round"], "requests_per_s": round(rps(x["run"]), 2), "item_decisions_per_s": round(rps(x["run"]) * cb["items"]),
            "p50_ms": x["run"]["lat_p50_us"] / 1000, "p99_ms": x["run"]["lat_p99_us"] / 1000} for x in chk]
    m = med([p["item_decisions_per_s"] for p in per])
    S[name] = {"items": cb["items"], "distinct": cb["distinct"], "response_bytes": cb["response_bytes"], "allow": cb["allow"], "deny": cb["deny"],
               "connections": chk[0]["connections"], "rounds": per, "median_item_decisions_per_s": m,
               "median_p50_ms": med([p["p50_ms"] for p in per]), "median_p99_ms": med([p["p99_ms"] for p in per])}
    P(f"POST /v1/check, {cb['items']} items, {what} ({cb['distinct']} distinct codes; {cb['allow']} allow, {cb['deny']} deny; response {cb['response_bytes']} B), {chk[0]['connections']} connections:")
    P("  " + "; ".join(f"{p['item_decisions_per_s']} items/s (p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms)" for p in per) + f"  → median {m:.0f} item decisions/s")
    P("")
def receipt_table(sect, title, unit, scale):
    runs = sec(sect)
    if not runs: return
    P(title)
    P(f"  {'round':>6} | " + " | ".join(f"{t + ' ' + unit:>16} {'p50 ms':>7} {'p99 ms':>7}" for t in ("plain", "ed25519", "sm2")))
    per = []
    for r in sorted({x["round"] for x in runs}):
        row = {"round": r}
        for t in ("plain", "ed25519", "sm2"):
            x = next((x["run"] for x in runs if x["round"] == r and x["target"] == t), None)
            if x: row[t] = {"rate": round(rps(x) * scale), "p50_ms": x["lat_p50_us"] / 1000, "p99_ms": x["lat_p99_us"] / 1000}
        if len(row) < 4: continue
        per.append(row)
        P(f"  {r:>6} | " + " | ".join(f"{row[t]['rate']:>16} {row[t]['p50_ms']:>7.3f} {row[t]['p99_ms']:>7.3f}" for t in ("plain", "ed25519", "sm2")))
    if not per: return
    m = {t: {k: med([p[t][k] for p in per]) for k in ("rate", "p50_ms", "p99_ms")} for t in ("plain", "ed25519", "sm2")}
    P(f"  {'median':>6} | " + " | ".join(f"{m[t]['rate']:>16.0f} {m[t]['p50_ms']:>7.3f} {m[t]['p99_ms']:>7.3f}" for t in ("plain", "ed25519", "sm2")))
    P(f"  signed / plain: ed25519 {m['ed25519']['rate'] / m['plain']['rate']:.2f}, sm2 {m['sm2']['rate'] / m['plain']['rate']:.2f}")
    S[sect] = {"rounds": per, "median": m}
    P("")
receipt_table("lookup_receipt", f"GET /v1/lookup with receipt=true (a daemon per key) beside plain lookups, rotating over {b['n']} pairs; {$CONNS} connections, {$DURATION} s per run", "req/s", 1)
receipt_table("check_receipt", f"POST /v1/check, {$CHECK_ITEMS} items, with \"receipt\": true beside plain; 4 connections", "items/s", $CHECK_ITEMS)
loads = sec("load")
if loads:
    S["load"] = {}
    P(f"loads with qingdanctl (wall clock, median of {$LOAD_REPS}; {$N_BIG} entries):")
    for name in dict.fromkeys(l["name"] for l in loads):
        v = [l["seconds"] for l in loads if l["name"] == name]
        f = next(l for l in loads if l["name"] == name)
        S["load"][name] = {"file": f["file"], "bytes": f["bytes"], "seconds": v, "median_s": med(v)}
        P(f"  {name:<22} {f['file']:<24} {f['bytes'] / 1048576:6.1f} MiB  {med(v):6.2f} s   ({', '.join(f'{x:.2f}' for x in v)})")
    for s in sec("store_size"):
        P(f"  store size, {s['name']}: {s['kib'] / 1024:.1f} MiB")
    S["store_size"] = sec("store_size")
    P("")
S["rss"] = {}
for store, label in (("small", f"two lists of {$N_SMALL}"), ("big", f"two lists of {$N_BIG} (positive twice)")):
    rs = [r for r in sec("rss") if r.get("store") == store]
    if not rs: continue
    rates = [rps(x["run"]) for x in sec(f"rss_lookups_{store}")]
    S["rss"][store] = {"store": label, "checkpoints": [{"lookups": r["lookups"], "when": r["when"], **r["status"]} for r in rs],
                       "lookup_rps_median": round(med(rates)) if rates else None}
    P(f"qingdand memory, store with {label}, KiB (VmRSS = anon + file-backed LMDB pages)"
      + (f"; lookups ran at a median {med(rates):.0f} req/s" if rates else "") + ":")
    for r in S["rss"][store]["checkpoints"]:
        lk = "at end" if r["lookups"] < 0 else f"{r['lookups']:>9} lookups"
        P(f"  {lk:>17}: VmRSS {r.get('VmRSS_kib', 0):>7}  anon {r.get('RssAnon_kib', 0):>7}  file {r.get('RssFile_kib', 0):>7}  peak {r.get('VmHWM_kib', 0):>7}   {r['when']}")
cg = sec("callgrind")
if cg:
    P("")
    for c in cg:
        per = (c["ir2"] - c["ir1"]) / (c["k2"] - c["k1"]) if c["k2"] > c["k1"] else 0
        key = "callgrind" if c.get("read_cache", "default") == "default" else "callgrind_no_cache"
        S[key] = {**c, "ir_per_lookup": round(per)}
        nat = c.get("native") or {}
        what = "read cache on" if key == "callgrind" else "read cache off"
        P(f"instructions per lookup, {what} (callgrind, in process, (Ir({c['k2']}) - Ir({c['k1']})) / {c['k2'] - c['k1']}): {per:,.0f}"
          + (f"; native {nat.get('ns_per_lookup')} ns/lookup, {nat.get('response_bytes', 0) // max(nat.get('lookups', 1), 1)} B/response" if nat else ""))
# Targets (reported, never asserted).
t = []
if "lookup" in S:
    t.append(("lookup ≥ 0.7× nginx req/s (median ratio)", S["lookup"]["median"]["ratio"] >= 0.7, f"{S['lookup']['median']['ratio']:.3f}"))
    t.append(("lookup p99 < 2 ms, wrk and servers sharing both CPUs (median of rounds)", S["lookup"]["median"]["qingdand_p99_ms"] < 2,
              f"{S['lookup']['median']['qingdand_p99_ms']:.2f} ms (nginx {S['lookup']['median']['nginx_p99_ms']:.2f} ms)"))
if "lookup_split" in S:
    m = S["lookup_split"]["median"]
    t.append(("lookup ≥ 0.7× nginx req/s, CPUs split (median ratio)", m["ratio"] >= 0.7, f"{m['ratio']:.3f}"))
    t.append(("lookup p99 < 2 ms, CPUs split (median of rounds)", m["qingdand_p99_ms"] < 2,
              f"{m['qingdand_p99_ms']:.2f} ms (nginx {m['nginx_p99_ms']:.2f} ms)"))
for name, what in (("check", "a declaration"), ("check_distinct", "no code twice")):
    if name in S:
        v = S[name]
        t.append((f"check ≥ 200 000 item decisions/s, {what} ({v['distinct']} distinct of {v['items']})",
                  v["median_item_decisions_per_s"] >= 200000, f"{v['median_item_decisions_per_s']:.0f}"))
if "load" in S:
    for name in ("json_positive", "json_whitelist", "json_positive_reload", "csv_positive", "csv_whitelist"):
        if name in S["load"]:
            t.append((f"load {name} < 1 s", S["load"][name]["median_s"] < 1, f"{S['load'][name]['median_s']:.2f} s"))
for store, v in S["rss"].items():
    mil = [r for r in v["checkpoints"] if r["lookups"] >= 0]
    last = mil[-1]
    t.append((f"RSS < 64 MiB after the lookups ({v['store']})", last["VmRSS_kib"] < 65536,
              f"{last['VmRSS_kib'] / 1024:.1f} MiB (anon {last['RssAnon_kib'] / 1024:.1f}, file {last['RssFile_kib'] / 1024:.1f}) after {last['lookups']} lookups"))
    # Flat: the last checkpoint is no higher than the highest of the first
    # half of the series (after the warm-up pass) plus 1 MiB.
    after = [r for r in mil if r["lookups"] > $PAIRS]
    if len(after) >= 3:
        first = max(r["VmRSS_kib"] for r in after[:len(after) // 2])
        growth = after[-1]["VmRSS_kib"] - first
        t.append((f"RSS flat over the lookups ({v['store']})", growth <= 1024,
                  f"{growth:+d} KiB: last checkpoint vs the highest of the first half ({after[0]['lookups']}…{after[-1]['lookups']} lookups)"))
S["targets"] = [{"target": a, "met": b_, "value": v} for a, b_, v in t]
P("")
P("targets (reported, not asserted):")
for a, b_, v in t:
    P(f"  {'met ' if b_ else 'MISS'}  {a}: {v}")
print("\n".join(lines))
json.dump(S, open(out_path, "w", encoding="utf-8"), ensure_ascii=False, indent=2)
print(f"\nwritten: {out_path}")
PY
finish
