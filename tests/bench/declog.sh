#!/usr/bin/env bash
# qingdan benchmark: the decision log's two modes side by side.  Starts
# qingdand on the sample lists with --decision-log-mode best-effort and
# with lossless (each its own log file on the same disk), and runs wrk
# against them alternately: lookups/s and p99 latency, medians of the
# rounds.  Asserts nothing about timings.
#   tests/bench/declog.sh [--rounds R] [--duration S] [--connections C]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${QD_BUILD_ROOT:-$ROOT/build}
CTL=$BUILD/src/ctl/qingdanctl
QD=$BUILD/src/daemon/qingdand
ROUNDS=3 DURATION=5 CONNS=64
while (($#)); do
	case "$1" in
	--rounds) ROUNDS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--connections) CONNS=$2; shift ;;
	*) echo "declog.sh: unknown option $1" >&2; exit 64 ;;
	esac
	shift
done
W=$(mktemp -d "${TMPDIR:-/tmp}/qd-bench-declog-XXXXXX")
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
"$CTL" --db "$W/db" init >/dev/null
for f in "$ROOT"/schema/examples/*.json; do "$CTL" --db "$W/db" load "$(basename "$f" .json)" "$f" >/dev/null; done
declare -A URL
for mode in best-effort lossless; do
	p=$(port)
	"$QD" --db "$W/db" --listen 127.0.0.1:$p --access-log off --decision-log "$W/$mode.log" \
		--decision-log-mode $mode 2>"$W/$mode.err" &
	PIDS+=($!)
	URL[$mode]="http://127.0.0.1:$p/v1/lookup?code=3822190090&entity=91440101MA5D7R2TX1&date=2026-11-26"
done
sleep 1
for r in $(seq "$ROUNDS"); do
	for mode in best-effort lossless; do
		wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "${URL[$mode]}" >"$W/wrk" 2>&1
		rps=$(awk '/Requests\/sec/ {print $2}' "$W/wrk")
		p99=$(awk '$1 == "99%" {print $2}' "$W/wrk")
		non2xx=$(awk '/Non-2xx/ {print $4}' "$W/wrk")
		echo "$mode $rps $p99 ${non2xx:-0}" >>"$W/rounds"
	done
done
kill "${PIDS[@]}"; wait 2>/dev/null; PIDS=()
python3 - "$W/rounds" "$W/best-effort.log" "$W/lossless.log" <<'PY'
import statistics, sys
d = {}
def ms(s):
    return float(s[:-2]) if s.endswith("ms") else float(s[:-2]) / 1000 if s.endswith("us") else float(s[:-1]) * 1000
for line in open(sys.argv[1]):
    m, rps, p99, bad = line.split()
    d.setdefault(m, []).append((float(rps), ms(p99), int(bad)))
for m in ("best-effort", "lossless"):
    r = d[m]
    print("  %-12s median %8.0f lookups/s  p99 %6.2f ms   rounds %s   non-2xx %d" % (
        m, statistics.median(x[0] for x in r), statistics.median(x[1] for x in r),
        [round(x[0]) for x in r], sum(x[2] for x in r)))
be = statistics.median(x[0] for x in d["best-effort"]); ll = statistics.median(x[0] for x in d["lossless"])
print("  lossless / best-effort %.2f" % (ll / be))
for f, m in ((sys.argv[2], "best-effort"), (sys.argv[3], "lossless")):
    print("  %s log lines: %d" % (m, sum(1 for _ in open(f))))
PY
