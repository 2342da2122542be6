#!/usr/bin/env bash
# Contract tests: third-party validators over the published contract.
#
#   tests/contract/run.sh       (meson test -C build --suite contract runs it too)
#
# Installs ajv, ajv-formats, @apidevtools/swagger-parser and
# @redocly/openapi-core from the npm registry with npm ci (package-lock.json),
# starts qingdand on a free port with a fresh store and the sample lists,
# and runs contract.test.js: the list schema compiled by ajv in strict mode
# and every sample, fixture and export validated against it; the OpenAPI
# document validated and linted; a range of real answers (successes and
# errors) validated against the OpenAPI response schemas of their status;
# then every answer the HTTP suites (tests/http/test_*.c) get, recorded by
# their harness (QD_RECORD_RESPONSES) while they run here once more, is
# validated the same way.
# Ends with Check's summary line "NN%: Checks: N, Failures: F, Errors: 0".
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${QD_SOURCE_ROOT:-$(cd "$HERE/../.." && pwd)}
BUILD=${QD_BUILD_ROOT:-$SRC/build}
case "$BUILD" in /*) ;; *) BUILD="$SRC/$BUILD" ;; esac
QINGDAND="$BUILD/src/daemon/qingdand"
QINGDANCTL="$BUILD/src/ctl/qingdanctl"

fail() {
	echo "contract: $*" >&2
	echo "0%: Checks: 1, Failures: 1, Errors: 0"
	exit 1
}

[ -x "$QINGDAND" ] && [ -x "$QINGDANCTL" ] || fail "build qingdand and qingdanctl first (ninja -C $BUILD)"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq || fail "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null ||
		fail "cannot install nodejs npm"
fi
if [ ! -d "$HERE/node_modules/ajv" ] || [ ! -d "$HERE/node_modules/@redocly/openapi-core" ]; then
	echo "contract: npm ci in tests/contract"
	(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/qd-contract.XXXXXX")
PID=""
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$QINGDANCTL" token contract-admin admin >"$WORK/token.out" || fail "qingdanctl token failed"
TOKEN=$(sed -n 's/^token: //p' "$WORK/token.out")
grep -v '^token:' "$WORK/token.out" >"$WORK/tokens"
chmod 600 "$WORK/tokens"
[ -n "$TOKEN" ] || fail "cannot make an admin token"
mkdir -p "$WORK/db"
for f in "$SRC"/schema/examples/*.json; do
	"$QINGDANCTL" --db "$WORK/db" load "$(basename "$f" .json)" "$f" >/dev/null || fail "cannot load $f"
done

PORT=""
for attempt in 1 2 3 4 5; do
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
	"$QINGDAND" --db "$WORK/db" --listen "127.0.0.1:$PORT" --tokens "$WORK/tokens" >"$WORK/daemon.log" 2>&1 &
	PID=$!
	up=0
	for _ in $(seq 100); do
		kill -0 "$PID" 2>/dev/null || break
		if curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then up=1; break; fi
		sleep 0.1
	done
	[ $up -eq 1 ] && break
	kill "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=""
done
[ -n "$PID" ] || { tail -20 "$WORK/daemon.log" >&2; fail "qingdand did not start"; }

# The HTTP suites, run again with their answers recorded; their own
# pass or fail is counted by their meson tests, so only the recording
# matters here (a suite that cannot run at all is a failure).
RECORDED="$WORK/recorded.jsonl"
: >"$RECORDED"
for src in "$SRC"/tests/http/test_*.c; do
	exe="$BUILD/tests/$(basename "$src" .c)"
	[ -x "$exe" ] || fail "$exe is not built (ninja -C $BUILD)"
	QD_RECORD_RESPONSES="$RECORDED" QD_SOURCE_ROOT="$SRC" QD_BUILD_ROOT="$BUILD" CK_DEFAULT_TIMEOUT=60 \
		"$exe" >"$WORK/suite.log" 2>&1 || echo "contract: $(basename "$exe") failed while recording (its own test reports it)" >&2
done
[ -s "$RECORDED" ] || fail "the HTTP suites recorded no answer"

QD_URL="http://127.0.0.1:$PORT" QD_ADMIN_TOKEN="$TOKEN" QD_SRC="$SRC" QD_RECORDED="$RECORDED" \
	node "$HERE/contract.test.js"
rc=$?
[ $rc -eq 0 ] || { echo "contract: daemon log (last lines):" >&2; tail -20 "$WORK/daemon.log" >&2; }
exit $rc
