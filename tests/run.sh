#!/usr/bin/env bash
# Set everything up and run the whole test suite:
#   ./tests/run.sh
# Installs the Debian packages it needs, builds, runs every suite (unit,
# http …) and ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

./deploy/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

BUILD=${QD_BUILD_DIR:-build}
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
status=$?

# Count individual checks: every Check program prints
# "NN%: Checks: N, Failures: F, Errors: E"; a test program that printed no
# such line counts as one check, passed or failed by its exit status.
python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, re, sys
passed = failed = 0
rx = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
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
