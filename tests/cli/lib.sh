# qingdan — what the command-line test scripts share: counting checks and
# the Check-style summary line.  Sourced after TMP is set; fail() shows
# $TMP/err when a check left something there.

CHECKS=0
FAILURES=0
ERRORS=0
pass() { CHECKS=$((CHECKS + 1)); echo "PASS: $1"; }
# fail DESCRIPTION [WHY…]
fail() {
	CHECKS=$((CHECKS + 1)); FAILURES=$((FAILURES + 1)); echo "FAIL: $1"
	shift
	for why in "$@"; do echo "      $why"; done
	if [ -s "$TMP/err" ]; then sed 's/^/      stderr: /' "$TMP/err" | head -20; fi
}
# need TOOL…: an error for each tool that is not on PATH
need() {
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			echo "ERROR: $tool is needed"; ERRORS=$((ERRORS + 1))
		fi
	done
}
# summary: "N%: Checks: N, Failures: N, Errors: N", then exit 1 on any
# failure or error, 0 otherwise
summary() {
	local pct=0
	[ "$CHECKS" -gt 0 ] && pct=$(((CHECKS - FAILURES) * 100 / CHECKS))
	echo "$pct%: Checks: $CHECKS, Failures: $FAILURES, Errors: $ERRORS"
	[ "$FAILURES" -eq 0 ] && [ "$ERRORS" -eq 0 ]
	exit $?
}
