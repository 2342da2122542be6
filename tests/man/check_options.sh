#!/usr/bin/env bash
# Keep the manual pages in step with the programs:
#  - every --option in `qingdand --help` is documented in man/qingdand.8, and
#    every option that is also a configuration key (all but --config,
#    --check-config, --help, --version) appears as a key in its CONFIGURATION
#    FILE section and in the example deploy/qingdand.conf;
#  - every --option and every command in `qingdanctl --help` is documented in
#    man/qingdanctl.1 (a command as the tag of its own entry);
#  - every page in man/ renders with `man -l` and with groff, without a single
#    warning.
# One line per failure, then a Check-style summary line
# "NN%: Checks: N, Failures: F, Errors: 0".  Exit 1 on any failure.
set -u
export LC_ALL=C.UTF-8

src=${QD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bld=${QD_BUILD_ROOT:-$src/build}
qingdand=$bld/src/daemon/qingdand
qingdanctl=$bld/src/ctl/qingdanctl
man8=$src/man/qingdand.8
man1=$src/man/qingdanctl.1
conf=$src/deploy/qingdand.conf

checks=0
failures=0
errors=0
pass() { checks=$((checks + 1)); }
fail() {
	checks=$((checks + 1))
	failures=$((failures + 1))
	echo "FAIL: $*"
}
summary() {
	local pct=100
	((checks)) && pct=$(((checks - failures - errors) * 100 / checks))
	echo "$pct%: Checks: $checks, Failures: $failures, Errors: $errors"
	((failures + errors == 0))
	exit $?
}

# The man source as text: "\-" and "\(hy" become "-", font changes and
# zero-width "\&" disappear, so that a grep for "--max-body-bytes" or a
# heading ".B load" matches however the page spells it.
normalise() {
	sed -e 's/\\-/-/g' -e 's/\\(hy/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' \
	    -e 's/\\&//g' "$1"
}

# Is word $2 (letters, digits, '-') in the text on stdin, not as part of a
# longer word?
has_word() {
	grep -qE -- "(^|[^A-Za-z0-9-])$1([^A-Za-z0-9-]|\$)"
}

long_options() {
	grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

for f in "$qingdand" "$qingdanctl"; do
	if [ ! -x "$f" ]; then
		echo "ERROR: $f is not built (QD_BUILD_ROOT=$bld)"
		errors=$((errors + 1))
	fi
done
for f in "$man8" "$man1" "$conf"; do
	if [ ! -f "$f" ]; then
		echo "ERROR: $f is missing"
		errors=$((errors + 1))
	fi
done
((errors == 0)) || summary

# ---- qingdand ---------------------------------------------------------------
if ! d_help=$("$qingdand" --help); then
	fail "qingdand --help exits non-zero"
	d_help=""
fi
m8=$(normalise "$man8")
m8_conf=$(awk '/^\.SH "?CONFIGURATION FILE/ {on = 1; next} /^\.SH/ {on = 0} on' <<<"$m8")
d_opts=$(long_options <<<"$d_help")
[ -n "$d_opts" ] || fail "qingdand --help lists no --options"
for o in $d_opts; do
	if has_word "$o" <<<"$m8"; then pass; else fail "qingdand $o is not in man/qingdand.8"; fi
done
# Option definitions are the help lines that start with "  --NAME"; all but
# four are configuration keys.
for o in $(grep -oE -- '^ +--[a-z][a-z0-9-]*' <<<"$d_help" | tr -d ' ' | sort -u); do
	key=${o#--}
	case $key in config | check-config | help | version) continue ;; esac
	if has_word "$key" <<<"$m8_conf"; then pass; else
		fail "config key $key is not in the CONFIGURATION FILE section of man/qingdand.8"
	fi
	if grep -qE "^#?$key = " "$conf"; then pass; else
		fail "config key $key is not in deploy/qingdand.conf"
	fi
done

# ---- qingdanctl -------------------------------------------------------------
if ! c_help=$("$qingdanctl" --help); then
	fail "qingdanctl --help exits non-zero"
	c_help=""
fi
m1=$(normalise "$man1")
c_opts=$(long_options <<<"$c_help")
[ -n "$c_opts" ] || fail "qingdanctl --help lists no --options"
for o in $c_opts; do
	if has_word "$o" <<<"$m1"; then pass; else fail "qingdanctl $o is not in man/qingdanctl.1"; fi
done
# Commands: the lines of the "Commands:" block indented by two spaces
# (deeper indents continue the description).
cmds=$(awk '/^Commands:/ {on = 1; next} /^[^ ]/ {on = 0} on && /^  [a-z]/ {print $1}' <<<"$c_help")
[ -n "$cmds" ] || fail "qingdanctl --help lists no commands"
for c in $cmds; do
	if grep -qE "^\.(B|BI|BR|IR|I) +\"?$c([ \"]|\$)" <<<"$m1"; then pass; else
		fail "qingdanctl command $c has no entry in man/qingdanctl.1"
	fi
done

# ---- rendering --------------------------------------------------------------
missing_tools=0
for t in man groff; do
	if ! command -v "$t" >/dev/null; then
		echo "ERROR: $t is not installed (Debian packages man-db and groff-base; deploy/setup.sh installs them)"
		errors=$((errors + 1))
		missing_tools=1
	fi
done
if ((missing_tools == 0)); then
	for page in "$src"/man/*.[0-9]; do
		name=${page##*/}
		# groff with every warning on, output discarded.
		out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
		if [ -z "$out" ]; then pass; else
			while IFS= read -r line; do fail "$name: groff: $line"; done <<<"$out"
		fi
		# man -l as a reader would run it; any message on stderr is a failure.
		err=$(MANWIDTH=80 MANPAGER=cat PAGER=cat man --warnings=w -l "$page" 2>&1 >/dev/null)
		rc=$?
		text=$(MANWIDTH=80 MANPAGER=cat PAGER=cat man -l "$page" 2>/dev/null)
		if ((rc == 0)) && [ -z "$err" ] && grep -q '^NAME' <<<"$text"; then pass; else
			fail "$name: man -l exit $rc${err:+: $(head -n 3 <<<"$err" | tr '\n' ' ')}"
		fi
	done
fi

summary
