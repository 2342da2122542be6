#!/usr/bin/env bash
# qingdan benchmark: POST /v1/check in the brief view beside the full view.
# Generates the benchmark's 10 000-entry lists with tests/bench/gen, loads
# them, starts one qingdand (--threads 2) and runs wrk against it with a
# 1 000-item check (gen's check-10000.json: a declaration) as it is and with
# "view": "brief", alternately: item decisions/s (requests/s × items),
# p99 latency and response bytes per item, medians of the rounds.  Asserts
# nothing about timings.
#   tests/bench/brief.sh [--rounds R] [--duration S] [--connections C]
# Uses the build in $QD_BUILD_ROOT (default build-bench/, as run.sh makes
# it; else build/).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/bench/lib.sh"
BUILD=${QD_BUILD_ROOT:-$ROOT/build-bench}
[ -x "$BUILD/src/daemon/qingdand" ] || BUILD=$ROOT/build
CTL=$BUILD/src/ctl/qingdanctl QD=$BUILD/src/daemon/qingdand GEN=$BUILD/tests/bench/gen
ROUNDS=3 DURATION=5 CONNS=4 N=10000 ITEMS=1000
while (($#)); do
	case "$1" in
	--rounds) ROUNDS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--connections) CONNS=$2; shift ;;
	*) echo "brief.sh: unknown option $1" >&2; exit 64 ;;
	esac
	shift
done
for t in "$CTL" "$QD" "$GEN"; do [ -x "$t" ] || { echo "brief.sh: $t not built" >&2; exit 66; }; done
command -v wrk >/dev/null || { echo "brief.sh: wrk not installed (tests/bench/run.sh installs it)" >&2; exit 69; }
W=$(mktemp -d "${TMPDIR:-/tmp}/qd-bench-brief-XXXXXX")
QD_PID=""
trap '[ -n "$QD_PID" ] && kill "$QD_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
"$GEN" --roster 200 --pairs 256 --check-items "$ITEMS" "$N" "$W/data" >/dev/null
"$CTL" --db "$W/db" init >/dev/null
"$CTL" --db "$W/db" load bench-positive "$W/data/positive-$N.json" >/dev/null
"$CTL" --db "$W/db" load bench-whitelist "$W/data/whitelist-$N.json" >/dev/null
cp "$W/data/check-$N.json" "$W/full.json"
python3 - "$W/full.json" "$W/brief.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
b["view"] = "brief"
json.dump(b, open(sys.argv[2], "w"), ensure_ascii=False)
PY
port=$(bench_free_port)
"$QD" --db "$W/db" --listen "127.0.0.1:$port" --threads 2 --access-log off 2>"$W/qingdand.log" &
QD_PID=$!
URL="http://127.0.0.1:$port/v1/check"
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break; sleep 0.1; done
bench_lua "$W"
for view in full brief; do
	curl -fsS -H 'Content-Type: application/json' --data-binary "@$W/$view.json" "$URL" -o "$W/$view.out" ||
		{ echo "brief.sh: the $view check failed" >&2; exit 1; }
done
for r in $(seq "$ROUNDS"); do
	for view in full brief; do
		wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$W/post.lua" "$URL" "$W/$view.json" >"$W/wrk" 2>&1
		echo "$view $(grep '^WRKJSON' "$W/wrk" | sed 's/^WRKJSON //')" >>"$W/rounds"
	done
done
python3 - "$W/rounds" "$W/full.out" "$W/brief.out" "$ITEMS" <<'PY'
import json, statistics, sys
d = {}
for line in open(sys.argv[1]):
    v, j = line.split(" ", 1)
    d.setdefault(v, []).append(json.loads(j))
items = int(sys.argv[4])
size = {"full": len(open(sys.argv[2], "rb").read()), "brief": len(open(sys.argv[3], "rb").read())}
res = {}
for v in ("full", "brief"):
    r = d[v]
    ips = [x["requests"] / (x["duration_us"] / 1e6) * items for x in r]
    bad = sum(x["err_status"] + x["err_timeout"] for x in r)
    res[v] = statistics.median(ips)
    print("  %-5s median %9.0f item decisions/s  p99 %7.1f ms  %6.0f bytes per item  rounds %s  errors %d" % (
        v, res[v], statistics.median(x["lat_p99_us"] for x in r) / 1000, size[v] / items,
        [round(x) for x in ips], bad))
print("  brief / full: %.2f× the items/s, %.3f of the bytes" % (res["brief"] / res["full"], size["brief"] / size["full"]))
PY
