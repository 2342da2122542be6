#!/usr/bin/env bash
# qingdan — receipts end to end from the shell: qingdanctl keygen, and the
# round trip of README.md's "Proving an answer later" run as it stands
# there (the block after its "round trip" marker) against a qingdand of
# our own, for Ed25519 and SM2: lookup with a receipt, openssl alone,
# qingdanctl verify-receipt, POST /v1/receipts/verify.  Then what must
# fail: a changed payload (openssl and qingdanctl), a wrong key, a pruned
# version.
#
# Environment (set by meson): QD_BUILD_ROOT, QD_SOURCE_ROOT.  Needs
# python3, curl and openssl (3.0 or later).
#
# Prints one line per check and a Check-style summary; exits 1 on failure.
set -u

BUILD=$(cd "${QD_BUILD_ROOT:-build}" && pwd)
SRC=$(cd "${QD_SOURCE_ROOT:-.}" && pwd)
CTL=$BUILD/src/ctl/qingdanctl
QINGDAND=$BUILD/src/daemon/qingdand
GBA=gba-research-positive
WL=biomed-rd-whitelist

TMP=$(mktemp -d "${TMPDIR:-/tmp}/qd-rcpt-XXXXXX")
DAEMON_PID=
stop_daemon() {
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
		DAEMON_PID=
	fi
}
cleanup() {
	stop_daemon
	rm -rf "$TMP"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"
# check DESCRIPTION COMMAND…: one check that COMMAND succeeds
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what" "failed: $*"; fi
}

need python3 curl openssl
[ -x "$CTL" ] && [ -x "$QINGDAND" ] || { echo "ERROR: qingdand and qingdanctl are not built"; ERRORS=$((ERRORS + 1)); }
((ERRORS)) && summary

# The README's round-trip block, without its two settings (QD=, DB=),
# which the test gives instead.
awk '/<!-- round trip: run by tests\/cli\/test_receipts.sh -->/ { m = 1; next }
     m == 1 && /^```sh$/ { m = 2; next }
     m == 2 && /^```$/ { exit }
     m == 2 { print }' "$SRC/README.md" | grep -v -E '^(QD|DB)=' >"$TMP/roundtrip.sh"
if [ "$(grep -c . "$TMP/roundtrip.sh")" -lt 10 ]; then
	echo "ERROR: no round-trip block found in README.md"
	ERRORS=$((ERRORS + 1))
	summary
fi

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_daemon DB KEY [ARGS…]: qingdand on a free port; sets QD and DAEMON_PID
start_daemon() {
	local db=$1 key=$2 port
	shift 2
	port=$(free_port)
	"$QINGDAND" --db "$db" --listen "127.0.0.1:$port" --signing-key "$key" --access-log off "$@" \
		>"$TMP/daemon.log" 2>&1 &
	DAEMON_PID=$!
	QD=http://127.0.0.1:$port
	# Ready when /healthz answers; the daemon prints nothing we could wait on instead.
	for _ in $(seq 100); do
		curl -sf "$QD/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "qingdand did not start:"; cat "$TMP/daemon.log"
	return 1
}

# json FILE EXPR: a Python expression over the JSON document d in FILE
json() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); r = eval(sys.argv[2]); print(r if isinstance(r, str) else json.dumps(r))' "$1" "$2"
}

for ALG in ed25519 sm2; do
	W=$TMP/$ALG
	mkdir -p "$W/db"
	KEY=$W/receipt.key

	# ---- keygen ----
	"$CTL" keygen --alg "$ALG" --out "$KEY" >"$W/keygen.out" 2>"$W/keygen.err"
	check "$ALG: keygen exits 0" test $? -eq 0
	check "$ALG: keygen writes mode 0600" test "$(stat -c %a "$KEY")" = 600
	check "$ALG: keygen writes PEM PKCS#8" grep -q -- '-----BEGIN PRIVATE KEY-----' "$KEY"
	KID=$(sed -n 's/^kid: //p' "$W/keygen.out")
	WANT=$(openssl pkey -in "$KEY" -pubout -outform DER | sha256sum | cut -c1-16)
	check "$ALG: keygen prints the kid openssl computes" test "$KID" = "$WANT"
	openssl pkey -in "$KEY" -pubout >"$W/pub.pem"
	check "$ALG: keygen prints the public key" grep -qF -- "$(sed -n 2p "$W/pub.pem")" "$W/keygen.out"
	check "$ALG: openssl reads the key as $ALG" sh -c "openssl pkey -in '$KEY' -text -noout | grep -qi '$([ "$ALG" = sm2 ] && echo 'Private-Key: (256 bit)' || echo 'ED25519 Private-Key')'"
	cp "$KEY" "$W/before"
	"$CTL" keygen --alg "$ALG" --out "$KEY" >/dev/null 2>"$W/keygen.err"
	check "$ALG: keygen refuses an existing file (exit 73)" test $? -eq 73
	check "$ALG: the existing key is untouched" cmp -s "$KEY" "$W/before"
	check "$ALG: keygen says why" grep -q "never overwritten" "$W/keygen.err"

	"$CTL" --db "$W/db" load "$GBA" "$SRC/schema/examples/$GBA.json" >/dev/null &&
		"$CTL" --db "$W/db" load "$WL" "$SRC/schema/examples/$WL.json" >/dev/null
	check "$ALG: sample lists loaded" test $? -eq 0
	if ! start_daemon "$W/db" "$KEY" --retain-versions 2; then
		fail "$ALG: qingdand starts with the key"
		continue
	fi

	# ---- the README's round trip ----
	mkdir -p "$W/office"
	(cd "$W/office" && QD=$QD DB=$W/db PATH=$BUILD/src/ctl:$PATH bash -e -o pipefail "$TMP/roundtrip.sh") \
		>"$W/rt.out" 2>"$W/rt.err"
	rc=$?
	check "$ALG: the README round trip runs (exit 0)" test $rc -eq 0
	[ $rc -eq 0 ] || sed 's/^/      /' "$W/rt.out" "$W/rt.err" | head -30
	O=$W/office
	check "$ALG: the answer has a receipt of this key" test "$(json "$O/answer.json" 'd["receipt"]["kid"]')" = "$KID"
	check "$ALG: the receipt names its algorithm" test "$(json "$O/answer.json" 'd["receipt"]["alg"]')" = "$ALG"
	check "$ALG: openssl verifies the signature" grep -q "Signature Verified Successfully" "$W/rt.out"
	check "$ALG: the key from GET /v1/keys is the server's" cmp -s "$O/receipt-key.pem" "$W/pub.pem"
	check "$ALG: the payload holds the client_ref" test "$(json "$O/payload.json" 'd["client_ref"]')" = DEC-2026-000123
	check "$ALG: the payload holds the decision" test "$(json "$O/payload.json" 'd["decision"]')" = allow
	check "$ALG: qingdanctl: signature valid" grep -q "^signature: valid ($ALG key $KID)" "$W/rt.out"
	check "$ALG: qingdanctl: reproduced" grep -q "^reproduced: yes" "$W/rt.out"
	check "$ALG: the server: valid and reproduced" grep -qF '{"valid":true,"kid":"'"$KID"'","reproduced":true,"reason":null}' "$W/rt.out"

	# ---- what must fail ----
	# One byte of the payload changed: openssl and qingdanctl say no.
	python3 -c 'import sys; p = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(p.replace(b"\"allow\"", b"\"deny\"", 1))' \
		"$O/payload.json" "$W/tampered.json"
	OPTS=()
	[ "$ALG" = sm2 ] && OPTS=(-digest sm3 -pkeyopt distid:1234567812345678)
	openssl pkeyutl -verify -pubin -inkey "$O/receipt-key.pem" -rawin -in "$W/tampered.json" \
		-sigfile "$O/payload.sig" "${OPTS[@]}" >"$W/ossl.out" 2>&1
	check "$ALG: openssl refuses a changed payload" test $? -ne 0
	check "$ALG: openssl says so" grep -q "Signature Verification Failure" "$W/ossl.out"
	if [ "$ALG" = sm2 ]; then
		openssl pkeyutl -verify -pubin -inkey "$O/receipt-key.pem" -rawin -in "$O/payload.json" \
			-sigfile "$O/payload.sig" -digest sm3 -pkeyopt distid:8765432187654321 >/dev/null 2>&1
		check "sm2: the signature holds for user id 1234567812345678 only" test $? -ne 0
	fi
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); d["receipt"]["payload"] = open(sys.argv[2]).read(); json.dump(d, open(sys.argv[3], "w"))' \
		"$O/answer.json" "$W/tampered.json" "$W/tampered-answer.json"
	"$CTL" verify-receipt "$W/tampered-answer.json" --key "$O/receipt-key.pem" >"$W/v.out" 2>&1
	check "$ALG: qingdanctl refuses a changed payload (exit 1)" test $? -eq 1
	check "$ALG: qingdanctl says the signature is invalid" grep -q "^signature: INVALID" "$W/v.out"
	OTHER=$([ "$ALG" = sm2 ] && echo ed25519 || echo sm2)
	"$CTL" keygen --alg "$OTHER" --out "$W/other.key" >/dev/null 2>&1
	openssl pkey -in "$W/other.key" -pubout >"$W/other.pem" 2>/dev/null
	"$CTL" verify-receipt "$O/answer.json" --key "$W/other.pem" >"$W/v.out" 2>&1
	check "$ALG: qingdanctl with another key: exit 1, no key has the kid" \
		sh -c "test $? -eq 1 && grep -q 'no known key has this kid' '$W/v.out'"
	# Both keys in one file (a current and a retired one): valid.
	cat "$W/other.pem" "$O/receipt-key.pem" >"$W/both.pem"
	"$CTL" verify-receipt "$O/answer.json" --key "$W/both.pem" >"$W/v.out" 2>&1
	check "$ALG: qingdanctl finds the kid among several keys" sh -c "test $? -eq 0 && grep -q '^signature: valid' '$W/v.out'"

	# Two more versions (--retain-versions 2): the receipt's version is
	# pruned, the signature still holds, the answer cannot be reproduced.
	for _ in 1 2; do
		"$CTL" --retain-versions 2 --db "$W/db" load "$GBA" "$SRC/schema/examples/$GBA.json" >/dev/null
	done
	"$CTL" verify-receipt "$O/answer.json" --key "$O/receipt-key.pem" --db "$W/db" >"$W/v.out" 2>&1
	check "$ALG: a pruned version: exit 0" test $? -eq 0
	check "$ALG: a pruned version: reproduced unknown" grep -q "^reproduced: unknown: $GBA version 1 is no longer retained" "$W/v.out"
	stop_daemon
done

summary
