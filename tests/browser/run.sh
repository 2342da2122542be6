#!/usr/bin/env bash
# Browser tests of the pages qingdand serves (/ui/ and /ui/admin), in
# Debian's headless Chromium driven by playwright-core.
#
#   tests/browser/run.sh            (meson test -C build --suite browser runs it too)
#
# Installs what it needs when missing (Debian chromium, a CJK font for the
# screenshots, node/npm; playwright-core from the npm registry with npm ci —
# never a browser download), starts qingdand on a free port with a fresh
# store, the sample lists, an admin token and an SM2 receipt signing key, and a second one with
# --read-auth token (its own store) for the pre-check page's reader token,
# runs tests/browser/ui.test.js and stops both daemons.  Screenshots go to
# tests/artifacts/ (gitignored).
# Ends with Check's summary line "NN%: Checks: N, Failures: F, Errors: 0".
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${QD_SOURCE_ROOT:-$(cd "$HERE/../.." && pwd)}
BUILD=${QD_BUILD_ROOT:-$SRC/build}
case "$BUILD" in /*) ;; *) BUILD="$SRC/$BUILD" ;; esac
QINGDAND="$BUILD/src/daemon/qingdand"
QINGDANCTL="$BUILD/src/ctl/qingdanctl"

fail() {
	echo "browser: $*" >&2
	echo "0%: Checks: 1, Failures: 1, Errors: 0"
	exit 1
}

[ -x "$QINGDAND" ] && [ -x "$QINGDANCTL" ] || fail "build qingdand and qingdanctl first (ninja -C $BUILD)"

# ---- what the tests need from Debian ----
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# Without a CJK font the screenshots show empty boxes for Chinese text.
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=zh 2>/dev/null | head -1)" ]; then
	need+=(fonts-wqy-microhei)
fi
if ((${#need[@]})); then
	echo "browser: installing Debian packages: ${need[*]}"
	$SUDO apt-get update -qq || fail "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null ||
		fail "cannot install ${need[*]}"
fi
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing"

# ---- playwright-core (the driver only: the browser is Debian's) ----
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
	echo "browser: npm ci in tests/browser"
	(cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) ||
		fail "npm ci failed"
fi

# ---- a daemon of our own ----
WORK=$(mktemp -d "${TMPDIR:-/tmp}/qd-browser.XXXXXX")
PID=""
PID_AUTH=""
stop() {
	if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$1" 2>/dev/null
	fi
}
cleanup() {
	stop "$PID"
	stop "$PID_AUTH"
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK/db" "$WORK/db-auth"
"$QINGDANCTL" token ui-admin admin >"$WORK/token.out" || fail "qingdanctl token failed"
TOKEN=$(sed -n 's/^token: //p' "$WORK/token.out")
grep -v '^token:' "$WORK/token.out" >"$WORK/tokens"
[ -n "$TOKEN" ] && [ -s "$WORK/tokens" ] || fail "cannot make an admin token"
# A second admin, who approves what the first proposes (four eyes).
"$QINGDANCTL" token ui-approver admin >"$WORK/approver.out" || fail "qingdanctl token failed"
APPROVER_TOKEN=$(sed -n 's/^token: //p' "$WORK/approver.out")
grep -v '^token:' "$WORK/approver.out" >>"$WORK/tokens"
[ -n "$APPROVER_TOKEN" ] || fail "cannot make a second admin token"
"$QINGDANCTL" token ui-reader reader >"$WORK/reader.out" || fail "qingdanctl token failed"
READER_TOKEN=$(sed -n 's/^token: //p' "$WORK/reader.out")
grep -v '^token:' "$WORK/reader.out" >>"$WORK/tokens"
chmod 600 "$WORK/tokens"
[ -n "$READER_TOKEN" ] || fail "cannot make a reader token"
for db in db db-auth; do
	for f in "$SRC"/schema/examples/*.json; do
		"$QINGDANCTL" --db "$WORK/$db" load "$(basename "$f" .json)" "$f" >/dev/null ||
			fail "cannot load $f"
	done
done

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# start_daemon DB LOG [OPTION…]: start qingdand on a free port; sets
# STARTED_PID and STARTED_PORT, or fails.
start_daemon() {
	local db=$1 log=$2
	shift 2
	STARTED_PID=""
	for attempt in 1 2 3 4 5; do
		STARTED_PORT=$(free_port)
		"$QINGDAND" --db "$db" --listen "127.0.0.1:$STARTED_PORT" --tokens "$WORK/tokens" "$@" >"$log" 2>&1 &
		STARTED_PID=$!
		local up=0
		for _ in $(seq 100); do
			kill -0 "$STARTED_PID" 2>/dev/null || break
			if curl -sf "http://127.0.0.1:$STARTED_PORT/healthz" >/dev/null 2>&1; then up=1; break; fi
			sleep 0.1
		done
		[ $up -eq 1 ] && return 0
		kill "$STARTED_PID" 2>/dev/null
		wait "$STARTED_PID" 2>/dev/null
		STARTED_PID=""
	done
	tail -20 "$log" >&2
	fail "qingdand $* did not start"
}
# The first daemon signs receipts (SM2); the second does not.
"$QINGDANCTL" keygen --alg sm2 --out "$WORK/receipt.key" >/dev/null || fail "qingdanctl keygen failed"
start_daemon "$WORK/db" "$WORK/daemon.log" --signing-key "$WORK/receipt.key"
PID=$STARTED_PID PORT=$STARTED_PORT
start_daemon "$WORK/db-auth" "$WORK/daemon-auth.log" --read-auth token
PID_AUTH=$STARTED_PID PORT_AUTH=$STARTED_PORT

ARTIFACTS="$SRC/tests/artifacts"
mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS"/FAILED-*.png
QD_URL="http://127.0.0.1:$PORT" QD_ADMIN_TOKEN="$TOKEN" QD_APPROVER_TOKEN="$APPROVER_TOKEN" QD_EXAMPLES="$SRC/schema/examples" \
	QD_AUTH_URL="http://127.0.0.1:$PORT_AUTH" QD_READER_TOKEN="$READER_TOKEN" \
	QD_UI_SRC="$SRC/src/daemon/ui" QD_ARTIFACTS="$ARTIFACTS" QD_USER_DATA="$WORK/chromium" \
	node "$HERE/ui.test.js"
rc=$?
if [ $rc -ne 0 ]; then
	echo "browser: daemon log (last lines):" >&2
	tail -20 "$WORK/daemon.log" >&2
	echo "browser: --read-auth token daemon log (last lines):" >&2
	tail -20 "$WORK/daemon-auth.log" >&2
fi
exit $rc
