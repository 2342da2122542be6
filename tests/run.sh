#!/usr/bin/env bash
# Set everything up and run the whole test suite:
#   ./tests/run.sh
# Installs the Debian packages it needs, builds, runs every suite (unit,
# http …), runs them again under ASan + UBSan (build-asan/) and ends with
# one line "N passed, N failed" counting both builds.
set -uo pipefail
cd "$(dirname "$0")/.."

./deploy/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

BUILD=${QD_BUILD_DIR:-build}
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
status=$?
logs=("$BUILD/meson-logs/testlog.json")

# The whole suite again in an AddressSanitizer + UndefinedBehaviorSanitizer
# build (the daemons the HTTP tests start are that build's too): any
# sanitizer finding or leak aborts the program and fails its test.  The
# contract suite (tests/contract/) validates what the daemon answers, not
# how: it runs once.  Leak
# suppressions (tests/lsan.supp) are for third-party code only.  The
# browser suite does not run twice, nor the benchmark smoke run (timings
# under ASan measure nothing, and its callgrind step cannot run ASan
# binaries).  QD_SKIP_ASAN=1 skips this pass.
if [ "${QD_SKIP_ASAN:-0}" != 1 ]; then
	ASAN_BUILD=${QD_ASAN_BUILD_DIR:-build-asan}
	if QD_BUILD_DIR=$ASAN_BUILD QD_MESON_ARGS="-Dbuildtype=debug -Db_sanitize=address,undefined \
		-Db_lundef=false -Dc_args=-fno-sanitize-recover=all" ./deploy/setup.sh >/dev/null; then
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 \
			meson test -C "$ASAN_BUILD" --print-errorlogs --num-processes 2 \
			--no-suite browser --no-suite bench --no-suite contract "$@" || status=1
		logs+=("$ASAN_BUILD/meson-logs/testlog.json")
	else
		echo "run.sh: cannot build the sanitizer build in $ASAN_BUILD" >&2
		status=1
	fi
fi

# Count individual checks: every Check program prints
# "NN%: Checks: N, Failures: F, Errors: E"; a test program that printed no
# such line counts as one check, passed or failed by its exit status.
python3 - "${logs[@]}" <<'PY'
import json, re, sys
passed = failed = 0
rx = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")
for line in (l for path in sys.argv[1:] for l in open(path, encoding="utf-8", errors="replace")):
    t = json.loads(line)
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    m = rx.findall(out)
    ok = t.get("result") in ("OK", "EXPECTEDFAIL", "SKIP")
    if m:
        n, f, e = (sum(int(x[i]) for x in m) for i in range(3))
        passed += n - f - e
        failed += f + e
        if not ok and f + e == 0:
            failed += 1  # crashed or timed out after its checks
    else:
        passed += ok
        failed += not ok
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
rc=$?
[ $status -eq 0 ] || rc=1
exit $rc
