#!/usr/bin/env bash
# qingdan benchmark: replicas.  Measures, in one run, on loopback:
#   - replication delay, primary commit → replica answer, over 100 versions:
#     a replica long-polling the primary over HTTP, and one reading a
#     published directory (every --follow-interval 1 s; measured from the
#     end of `qingdanctl publish`);
#   - the time to apply a 100 000-entry version: qingdanctl load on the
#     primary, follow-once into an empty store from a published directory,
#     and a running replica over HTTP (PUT answered → replica serves it);
#   - lookups/s of the replica beside the primary's (wrk, alternating).
#
#   tests/bench/replica.sh [--versions N] [--entries N] [--duration S] [--rounds R]
#
# Uses the build in $QD_BUILD_ROOT (default build/) and wrk, python3, curl.
# Prints a summary; asserts nothing about timings.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${QD_BUILD_ROOT:-$ROOT/build}
CTL=$BUILD/src/ctl/qingdanctl
QD=$BUILD/src/daemon/qingdand
GEN=$BUILD/tests/bench/gen
VERSIONS=100 ENTRIES=100000 DURATION=5 ROUNDS=3
while (($#)); do
	case "$1" in
	--versions) VERSIONS=$2; shift ;;
	--entries) ENTRIES=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	*) echo "replica.sh: unknown option $1" >&2; exit 64 ;;
	esac
	shift
done
W=$(mktemp -d "${TMPDIR:-/tmp}/qd-bench-replica-XXXXXX")
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; [ -n "${QD_BENCH_KEEP:-}" ] || rm -rf "$W"' EXIT
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
TOKEN=qd-bench-replica-admin
echo "bench $(printf '%s' $TOKEN | sha256sum | cut -d' ' -f1)" | sed 's/^bench /bench admin /' >"$W/tokens"
chmod 600 "$W/tokens"
"$CTL" keygen --alg ed25519 --out "$W/k.pem" | sed -n '/BEGIN/,/END/p' >"$W/pub.pem"
for db in p f1 f2; do "$CTL" --db "$W/$db" init >/dev/null; done
"$CTL" --db "$W/p" publish "$W/pub" >/dev/null
PP=$(port) P1=$(port) P2=$(port)
"$QD" --db "$W/p" --listen 127.0.0.1:$PP --tokens "$W/tokens" --signing-key "$W/k.pem" --access-log off 2>"$W/p.log" &
PIDS+=($!)
"$QD" --db "$W/f1" --listen 127.0.0.1:$P1 --follow http://127.0.0.1:$PP --follow-key "$W/pub.pem" --access-log off 2>"$W/f1.log" &
PIDS+=($!)
"$QD" --db "$W/f2" --listen 127.0.0.1:$P2 --follow "file://$W/pub" --follow-key "$W/pub.pem" \
	--follow-interval 1 --access-log off 2>"$W/f2.log" &
PIDS+=($!)
sleep 1

echo "== replication delay over $VERSIONS versions (sample list, $(wc -c <"$ROOT/schema/examples/gba-research-positive.json") bytes)"
python3 - "$PP" "$P1" "$P2" "$VERSIONS" "$ROOT/schema/examples/gba-research-positive.json" "$CTL" "$W" "$TOKEN" <<'PY'
import http.client, json, subprocess, sys, time, statistics
pp, p1, p2, n, doc, ctl, w, token = sys.argv[1:]
n = int(n)
body = open(doc, "rb").read()
conns = {p: http.client.HTTPConnection("127.0.0.1", int(p)) for p in (pp, p1, p2)}
def get(p, path):
    c = conns[p]
    c.request("GET", path)
    r = c.getresponse()
    return r.status, r.read()
def version(p):
    st, b = get(p, "/v1/lists/gba-research-positive")
    return json.loads(b)["version"] if st == 200 else 0
def wait_for(p, v, limit=30):
    t = time.monotonic()
    while version(p) < v:
        if time.monotonic() - t > limit:
            raise SystemExit("replica on %s did not reach version %d" % (p, v))
        time.sleep(0.0005)
    return time.monotonic()
http_ms, file_ms = [], []
for i in range(n):
    c = conns[pp]
    c.request("PUT", "/v1/lists/gba-research-positive", body,
              {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = c.getresponse(); ans = json.loads(r.read())
    t0 = time.monotonic()
    v = ans["version"]
    http_ms.append((wait_for(p1, v) - t0) * 1000)
    subprocess.run([ctl, "--db", w + "/p", "publish", w + "/pub"], check=True, capture_output=True)
    t1 = time.monotonic()
    file_ms.append((wait_for(p2, v) - t1) * 1000)
def q(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]
for name, xs in (("HTTP long poll", http_ms), ("published directory, 1 s polls", file_ms)):
    print("  %-32s median %8.1f ms   p99 %8.1f ms   max %8.1f ms" % (name, statistics.median(xs), q(xs, 0.99), max(xs)))
PY

echo "== applying a $ENTRIES-entry version"
"$GEN" --seed 7 --check-items 10 "$ENTRIES" "$W/gen" >/dev/null
BIG="$W/gen/positive-$ENTRIES.json"
BIGLIST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["list"])' "$BIG")
echo "  document: $(du -h "$BIG" | cut -f1), list $BIGLIST"
t0=$(date +%s.%N)
curl -s -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary @"$BIG" "http://127.0.0.1:$PP/v1/lists/$BIGLIST"
t1=$(date +%s.%N)
while [ "$(curl -s "http://127.0.0.1:$P1/v1/lists/$BIGLIST" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("version", 0))' 2>/dev/null)" != 1 ]; do sleep 0.02; done
t2=$(date +%s.%N)
"$CTL" --db "$W/p" publish "$W/pub" >/dev/null
"$CTL" --db "$W/f3" init >/dev/null
t3=$(date +%s.%N)
"$CTL" --db "$W/f3" follow-once "$W/pub" --key "$W/pub.pem" >/dev/null
t4=$(date +%s.%N)
"$CTL" --db "$W/l" init >/dev/null
t5=$(date +%s.%N)
"$CTL" --db "$W/l" load "$BIGLIST" "$BIG" >/dev/null
t6=$(date +%s.%N)
python3 -c '
import sys
t = [float(x) for x in sys.argv[1:]]
print("  primary: PUT answered after        %6.2f s" % (t[1] - t[0]))
print("  replica over HTTP: serving it      %6.2f s after the PUT was answered" % (t[2] - t[1]))
print("  follow-once, every record from files into an empty store: %6.2f s (the whole feed)" % (t[4] - t[3]))
print("  qingdanctl load of the same document into an empty store:  %6.2f s" % (t[6] - t[5]))
' "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$t6"

echo "== lookups/s, primary beside replica (wrk, 2 threads, 64 connections, ${DURATION} s, $ROUNDS rounds)"
Q="/v1/lookup?code=3822190090&entity=91440101MA5D7R2TX1&date=2026-11-26"
for r in $(seq "$ROUNDS"); do
	for who in primary:$PP replica:$P1; do
		n=${who%%:*} p=${who##*:}
		rps=$(wrk -t2 -c64 -d"${DURATION}s" "http://127.0.0.1:$p$Q" 2>/dev/null | awk '/Requests\/sec/ {print $2}')
		echo "$n $rps" >>"$W/rps"
	done
done
python3 - "$W/rps" <<'PY'
import statistics, sys
d = {}
for line in open(sys.argv[1]):
    k, v = line.split(); d.setdefault(k, []).append(float(v))
p, r = statistics.median(d["primary"]), statistics.median(d["replica"])
print("  primary median %9.0f /s   replica median %9.0f /s   replica/primary %.2f" % (p, r, r / p))
print("  rounds: primary %s; replica %s" % (d["primary"], d["replica"]))
PY
