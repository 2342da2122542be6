#!/usr/bin/env bash
# qingdan — qingdanctl end to end, on temporary stores: every subcommand,
# its output and its exit status (sysexits style: 64 usage, 65 invalid
# data, 66 missing input, 69 unknown list or version; verify 1).
#
# Environment (set by meson): QD_BUILD_ROOT, QD_SOURCE_ROOT.  Needs
# python3, sha256sum and, for the damaged-store checks, mdb_dump and
# mdb_load (lmdb-utils).
#
# Prints one line per check and a Check-style summary; exits 1 on failure.
set -u

BUILD=${QD_BUILD_ROOT:-build}
SRC=${QD_SOURCE_ROOT:-.}
CTL=$BUILD/src/ctl/qingdanctl
GBA=gba-research-positive
WL=biomed-rd-whitelist
GBA_FILE=$SRC/schema/examples/$GBA.json
WL_FILE=$SRC/schema/examples/$WL.json
CSV=$SRC/tests/data/csv
DAY=2026-11-26
ENT=91440101MA5D7R2TX1 # on the positive list's roster, active
CODE=3822190090        # covered by PL-0001 (code 3822)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/qd-cli-XXXXXX")
LOADER_PID=
cleanup() {
	[ -n "$LOADER_PID" ] && kill "$LOADER_PID" 2>/dev/null && wait "$LOADER_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"

# run ARGS…: qingdanctl --db "$DB" ARGS…; stdout in $TMP/out, stderr in $TMP/err, status in $RC
run() {
	"$CTL" --db "$DB" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
}
# run without --db
run_nodb() {
	"$CTL" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
}
# expect_rc WANT DESCRIPTION: one check on the last run's status
expect_rc() {
	if [ "$RC" -eq "$1" ]; then pass "$2"; else fail "$2" "exit status $RC, expected $1"; fi
}
out_has() { grep -qF -- "$1" "$TMP/out"; }
# pj FILE EXPR: evaluate a Python expression over the JSON document d in
# FILE (res(L): the result for list L); strings print as they are, the rest
# as compact JSON.
pj() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
def res(l):
    return [x for x in d["results"] if x["list"] == l][0]
r = eval(sys.argv[2])
print(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
' "$1" "$2" 2>/dev/null
}
err_has() { grep -qF -- "$1" "$TMP/err"; }

need python3 sha256sum
if [ ! -x "$CTL" ]; then echo "ERROR: $CTL is not built"; ERRORS=$((ERRORS + 1)); fi
[ "$ERRORS" -ne 0 ] && summary

# ---- documents ------------------------------------------------------

# v2 of the positive list: PL-0001 suspended (changed: status), PL-0002
# removed, PL-9999 added.  A lookup of $CODE for $ENT is allowed by v1 and
# denied (suspended) by v2.
python3 - "$GBA_FILE" "$TMP/gba-v2.json" "$TMP/gba-invalid.json" <<'EOF'
import copy, json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
v2 = copy.deepcopy(d)
assert [e["id"] for e in v2["entries"][:3]] == ["PL-0001", "PL-0002", "PL-0003"]
added = dict(v2["entries"][2], id="PL-9999", code="9999")
v2["entries"][0]["status"] = "suspended"
del v2["entries"][1]
v2["entries"].append(added)
json.dump(v2, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
# invalid: a bad code
bad = copy.deepcopy(d)
bad["entries"][0]["code"] = "38A2"
json.dump(bad, open(sys.argv[3], "w", encoding="utf-8"), ensure_ascii=False)
EOF
# ~20 000 entries for the backup-during-load check
python3 - "$GBA_FILE" "$TMP/big.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
base = d["entries"]
ents = []
for i in range(20000):
    e = dict(base[i % len(base)])
    e["id"] = "GEN-%05d" % i
    ents.append(e)
d["entries"] = ents
json.dump(d, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
EOF

# ---- init, load, lists ----------------------------------------------

DB=$TMP/db
run init
if [ "$RC" -eq 0 ] && [ -f "$DB/data.mdb" ]; then pass "init creates a store"; else fail "init creates a store" "exit $RC"; fi
run init
expect_rc 0 "init on an existing store is harmless"

run load $GBA "$GBA_FILE"
if [ "$RC" -eq 0 ] && out_has "stored $GBA version 1 (previous 0): 32 entries, 32 added"; then
	pass "load JSON: version 1, 32 entries"
else
	fail "load JSON: version 1, 32 entries" "exit $RC; stdout: $(head -c 300 "$TMP/out")"
fi
SHA_V1=$(sed -n 's/.*sha256 \([0-9a-f]\{64\}\).*/\1/p' "$TMP/out")
FILE_SHA=$(sha256sum "$GBA_FILE" | cut -d' ' -f1)
if [ "$SHA_V1" = "$FILE_SHA" ]; then pass "the sha256 of a canonical sample is that of its bytes"; else fail "sha256 of the canonical sample" "printed $SHA_V1, file $FILE_SHA"; fi
run load $WL "$WL_FILE"
expect_rc 0 "load the whitelist"

run lists
if [ "$RC" -eq 0 ] && [ "$(wc -l <"$TMP/out")" -eq 2 ] && grep -qE "^$WL +whitelist +v1 " "$TMP/out" &&
	grep -qE "^$GBA +positive +v1 +32 entries" "$TMP/out"; then
	pass "lists: both lists at v1 with kind and entry count"
else
	fail "lists: both lists at v1" "exit $RC; stdout: $(cat "$TMP/out")"
fi

# ---- dry run and diff store nothing ---------------------------------

run load $GBA "$TMP/gba-v2.json" --dry-run
if [ "$RC" -eq 0 ] && out_has "dry run: $GBA version 2 (previous 1)" && out_has "1 added, 1 removed, 1 changed"; then
	pass "load --dry-run reports the version it would create and the diff"
else
	fail "load --dry-run reports the diff" "exit $RC; stdout: $(head -c 400 "$TMP/out")"
fi
if grep -qE '^ +changed +PL-0001 \(status\)$' "$TMP/out" && grep -qE '^ +removed +PL-0002$' "$TMP/out" &&
	grep -qE '^ +added +PL-9999$' "$TMP/out"; then
	pass "load --dry-run lists entry changes with kinds and fields"
else
	fail "load --dry-run lists entry changes" "stdout: $(cat "$TMP/out")"
fi
run versions $GBA
if [ "$RC" -eq 0 ] && out_has "(current version 1)" && [ "$(grep -c '^  v' "$TMP/out")" -eq 1 ]; then
	pass "load --dry-run stored nothing"
else
	fail "load --dry-run stored nothing" "$(cat "$TMP/out")"
fi

run diff $GBA "$TMP/gba-v2.json"
if [ "$RC" -eq 0 ] && out_has "1 added, 1 removed, 1 changed" && grep -qE '^ +changed +PL-0001 \(status\)$' "$TMP/out" &&
	grep -qE '^ +removed +PL-0002$' "$TMP/out" && grep -qE '^ +added +PL-9999$' "$TMP/out"; then
	pass "diff LIST FILE prints the changes"
else
	fail "diff LIST FILE prints the changes" "exit $RC; stdout: $(cat "$TMP/out")"
fi
run versions $GBA
if out_has "(current version 1)"; then pass "diff stored nothing"; else fail "diff stored nothing" "$(cat "$TMP/out")"; fi
run diff $GBA "$GBA_FILE"
if [ "$RC" -eq 0 ] && out_has "0 added, 0 removed, 0 changed" && [ "$(grep -c '^  ' "$TMP/out")" -eq 0 ]; then
	pass "diff against the same document: no changes"
else
	fail "diff against the same document" "$(cat "$TMP/out")"
fi

# ---- a second version, later, for versions and as-of lookups ----------

sleep 1.1
run load $GBA "$TMP/gba-v2.json"
if [ "$RC" -eq 0 ] && out_has "stored $GBA version 2 (previous 1)"; then pass "load v2"; else fail "load v2" "exit $RC"; fi
SHA_V2=$(sed -n 's/.*sha256 \([0-9a-f]\{64\}\).*/\1/p' "$TMP/out")

run versions $GBA
ME=$(id -un 2>/dev/null || echo cli)
[ -n "${SUDO_USER:-}" ] && ME=$SUDO_USER
if [ "$RC" -eq 0 ] && out_has "$GBA (current version 2)" && [ "$(grep -c '^  v' "$TMP/out")" -eq 2 ] &&
	sed -n 2p "$TMP/out" | grep -qE "^  v2 +[0-9T:Z-]+ +load +$ME +32 entries +sha256 ${SHA_V2:0:16}… +gba-v2.json$" &&
	sed -n 3p "$TMP/out" | grep -qE "^  v1 +[0-9T:Z-]+ +load +$ME +32 entries +sha256 ${SHA_V1:0:16}… +$GBA.json$"; then
	pass "versions: newest first with time, action, actor, entries, sha256 and source"
else
	fail "versions: newest first" "exit $RC; stdout: $(cat "$TMP/out")"
fi
V1_AT=$(sed -n 3p "$TMP/out" | awk '{print $2}')
V2_AT=$(sed -n 2p "$TMP/out" | awk '{print $2}')

run lookup $CODE --entity $ENT --date $DAY
if [ "$RC" -eq 0 ] && [ "$(pj "$TMP/out" 'd["decision"] + " " + d["reason"]')" = "deny suspended" ] &&
	[ "$(pj "$TMP/out" 'res("'$GBA'")["version"]')" = 2 ]; then
	pass "lookup prints JSON: the current version (2) denies, suspended"
else
	fail "lookup: current version" "exit $RC; $(head -c 400 "$TMP/out")"
fi
run lookup $CODE --entity $ENT --date $DAY --list $GBA --version 1
if [ "$RC" -eq 0 ] && [ "$(pj "$TMP/out" '[d["decision"], d["reason"], d["basis"]["version"], [x["version"] for x in d["results"]]]')" = '["allow","listed",1,[1]]' ]; then
	pass "lookup --list --version 1 answers from version 1 (allow)"
else
	fail "lookup --version 1" "exit $RC; $(head -c 400 "$TMP/out")"
fi
run lookup $CODE --entity $ENT --date $DAY --at "$V1_AT"
if [ "$RC" -eq 0 ] && [ "$(pj "$TMP/out" '[d["decision"], d["basis"]["version"], res("'$GBA'")["version"]]')" = '["allow",1,1]' ]; then
	pass "lookup --at (v1's load time) answers from version 1"
else
	fail "lookup --at $V1_AT" "exit $RC; $(head -c 400 "$TMP/out")"
fi
run lookup $CODE --entity $ENT --date $DAY --at "$V2_AT"
if [ "$RC" -eq 0 ] && [ "$(pj "$TMP/out" '[d["decision"], res("'$GBA'")["version"]]')" = '["deny",2]' ]; then
	pass "lookup --at (v2's load time) answers from version 2"
else
	fail "lookup --at $V2_AT" "exit $RC; $(head -c 400 "$TMP/out")"
fi
run lookup $CODE --version 1
expect_rc 64 "lookup --version without --list: usage error (64)"
run lookup $CODE --list $GBA --at yesterday
expect_rc 64 "lookup --at with a malformed time: usage error (64)"
run lookup $CODE --list $GBA --version 99
expect_rc 69 "lookup --version of an unknown version: 69"
run lookup $CODE --list no-such-list
expect_rc 69 "lookup --list of an unknown list: 69"
run lookup 38A2
expect_rc 64 "lookup of a malformed code: usage error (64)"
# The office of declaration and the declared goods (WL-0008: customs 51).
WLQ=(3002510000 --entity 91440115MA9W3K7C66 --date $DAY --list $WL)
run lookup "${WLQ[@]}" --customs 5101 --name '细胞治疗产品（研发用对照品）'
if [ "$RC" -eq 0 ] && [ "$(pj "$TMP/out" '[d["decision"], d["query"]["customs"], d["basis"]["item_check"]["checked"]]')" = '["allow","5101",["name"]]' ]; then
	pass "lookup --customs --name: allowed, the name checked"
else
	fail "lookup --customs --name" "exit $RC; $(head -c 400 "$TMP/out")"
fi
run lookup "${WLQ[@]}" --customs 2201
if [ "$RC" -eq 0 ] && [ "$(pj "$TMP/out" 'd["reason"]')" = "outside_jurisdiction" ]; then
	pass "lookup --customs outside the entry's scope: outside_jurisdiction"
else
	fail "lookup --customs 2201" "exit $RC; $(head -c 400 "$TMP/out")"
fi
run lookup "${WLQ[@]}" --spec '1mL' --name '抗体'
if [ "$RC" -eq 0 ] && [ "$(pj "$TMP/out" 'd["reason"]')" = "item_differs" ]; then
	pass "lookup --name of another product: item_differs"
else
	fail "lookup --name 抗体" "exit $RC; $(head -c 400 "$TMP/out")"
fi
run lookup $CODE --customs 52
expect_rc 64 "lookup --customs not 4 digits: usage error (64)"
run lookup $CODE --name ''
expect_rc 64 "lookup --name empty: usage error (64)"
A256=$(printf '%0256d' 0 | tr 0 a)
run lookup "${WLQ[@]}" --spec "$A256"
if [ "$RC" -eq 0 ] && [ "$(pj "$TMP/out" 'd["query"]["spec"]')" = "$A256" ]; then pass "lookup --spec of 256 bytes: taken"; else fail "lookup --spec of 256 bytes" "exit $RC; $(cat "$TMP/err")"; fi
run lookup "${WLQ[@]}" --spec "${A256}a"
if [ "$RC" -eq 64 ] && err_has "spec" && err_has "256 bytes" && [ ! -s "$TMP/out" ]; then
	pass "lookup --spec over 256 bytes: usage error (64) naming spec"
else
	fail "lookup --spec over 256 bytes" "exit $RC; $(cat "$TMP/err")"
fi
run lookup "${WLQ[@]}" --name $'\xff\xfe'
if [ "$RC" -eq 64 ] && err_has "name" && err_has "UTF-8"; then pass "lookup --name not UTF-8: usage error (64) naming name"; else fail "lookup --name not UTF-8" "exit $RC; $(cat "$TMP/err")"; fi

# ---- export round trip -----------------------------------------------

run export $GBA --version 1
if [ "$RC" -eq 0 ] && cmp -s "$TMP/out" "$GBA_FILE"; then
	pass "export --version 1 is byte-identical to the canonical sample"
else
	fail "export --version 1 is byte-identical to the sample" "exit $RC; $(cmp "$TMP/out" "$GBA_FILE" 2>&1)"
fi
run export $WL
if [ "$RC" -eq 0 ] && cmp -s "$TMP/out" "$WL_FILE"; then pass "export (current) of the whitelist is byte-identical to its sample"; else fail "export of the whitelist" "exit $RC"; fi
run export $GBA
cp "$TMP/out" "$TMP/exp-v2.json"
if [ "$RC" -eq 0 ] && [ "$(sha256sum <"$TMP/exp-v2.json" | cut -d' ' -f1)" = "$SHA_V2" ]; then
	pass "export (current) hashes to the version's sha256"
else
	fail "export hashes to the version's sha256" "exit $RC"
fi
run load $GBA "$TMP/exp-v2.json"
if [ "$RC" -eq 0 ] && out_has "stored $GBA version 3 (previous 2): 32 entries, 0 added, 0 removed, 0 changed, sha256 $SHA_V2"; then
	pass "export → load: empty diff, same sha256"
else
	fail "export → load: empty diff" "exit $RC; $(cat "$TMP/out")"
fi
run export $GBA
if [ "$RC" -eq 0 ] && cmp -s "$TMP/out" "$TMP/exp-v2.json"; then pass "export → load → export is byte-identical"; else fail "export → load → export is byte-identical" "exit $RC"; fi
run export $GBA --version 99
expect_rc 69 "export --version of an unknown version: 69"
run export $GBA --version x
expect_rc 64 "export --version x: usage error (64)"

# ---- rollback -------------------------------------------------------

run rollback $GBA 1
if [ "$RC" -eq 0 ] && out_has "stored $GBA version 4 (previous 3): 32 entries" && out_has "sha256 $SHA_V1"; then
	pass "rollback LIST 1: a new version (4) with v1's sha256"
else
	fail "rollback LIST 1" "exit $RC; $(cat "$TMP/out")"
fi
run versions $GBA
if sed -n 2p "$TMP/out" | grep -qE "^  v4 .* rollback .*rollback to version 1$" && [ "$(grep -c '^  v' "$TMP/out")" -eq 4 ]; then
	pass "rollback keeps history: v4 is a rollback, v1-v3 remain"
else
	fail "rollback keeps history" "$(cat "$TMP/out")"
fi
run lookup $CODE --entity $ENT --date $DAY --list $GBA
if [ "$(pj "$TMP/out" '[d["decision"], d["basis"]["version"]]')" = '["allow",4]' ]; then pass "after rollback, lookups answer from v4 with v1's content"; else fail "lookup after rollback" "$(head -c 300 "$TMP/out")"; fi
run rollback $GBA 99
expect_rc 69 "rollback to an unknown version: 69"
run rollback $GBA abc
expect_rc 64 "rollback LIST abc: usage error (64)"
run rollback no-such-list 1
expect_rc 69 "rollback of an unknown list: 69"

# ---- CSV import -------------------------------------------------------

run load $GBA "$CSV/$GBA.csv"
if [ "$RC" -eq 0 ] && out_has "stored $GBA version 5 (previous 4): 5 entries"; then pass "load CSV (UTF-8): stored as v5 with 5 entries"; else fail "load CSV (UTF-8)" "exit $RC; $(cat "$TMP/out")"; fi
run versions $GBA
if sed -n 2p "$TMP/out" | grep -qE "^  v5 .* import +$ME +5 entries .*$GBA.csv$"; then pass "a CSV load is recorded as action import"; else fail "CSV load recorded as import" "$(cat "$TMP/out")"; fi
run export $GBA
KEPT='[d[k] for k in ("list", "kind", "title", "issuer", "published", "source", "clauses", "entities")]'
if [ "$(pj "$TMP/out" "$KEPT")" = "$(pj "$GBA_FILE" "$KEPT")" ] &&
	[ "$(pj "$TMP/out" '",".join(e["id"] for e in d["entries"])')" = "PL-0101,PL-0102,PL-0103,PL-0104,PL-0105" ]; then
	pass "CSV import keeps title, clauses and roster and replaces the entries"
else
	fail "CSV import keeps title, clauses and roster" "$(pj "$TMP/out" '[d["title"], len(d["clauses"]), len(d["entities"]), [e["id"] for e in d["entries"]]]')"
fi
run load $GBA "$CSV/$GBA-bom.csv"
if [ "$RC" -eq 0 ] && out_has "0 added, 0 removed, 0 changed"; then pass "load CSV with a BOM: same entries as without"; else fail "load CSV with a BOM" "exit $RC; $(cat "$TMP/out")"; fi
run load $WL "$CSV/$WL-zh.csv"
if [ "$RC" -eq 0 ] && out_has "stored $WL version 2 (previous 1): 4 entries"; then pass "load CSV with Chinese headings"; else fail "load CSV with Chinese headings" "exit $RC; $(cat "$TMP/out")"; fi
run load $WL "$CSV/$WL-gb18030.csv"
if [ "$RC" -eq 0 ] && out_has "0 added, 0 removed, 0 changed"; then pass "load GB18030 CSV (detected): same entries as UTF-8"; else fail "load GB18030 CSV (detected)" "exit $RC; $(cat "$TMP/out")"; fi
run load $WL "$CSV/$WL-gb18030.csv" --charset gb18030
if [ "$RC" -eq 0 ] && out_has "0 added, 0 removed, 0 changed"; then pass "load GB18030 CSV with --charset gb18030"; else fail "load GB18030 CSV with --charset" "exit $RC; $(cat "$TMP/out")"; fi
run load $WL "$CSV/$WL-en.csv" --dry-run
if [ "$RC" -eq 0 ] && out_has "dry run:" && out_has "0 added, 0 removed, 0 changed"; then pass "English-header CSV: same entries as the Chinese-header one"; else fail "English-header CSV" "exit $RC; $(cat "$TMP/out")"; fi
run load $GBA "$CSV/$GBA-bad.csv"
if [ "$RC" -eq 65 ] && err_has "$GBA-bad.csv:3:2: code" && err_has "$GBA-bad.csv:4:8: clause" &&
	err_has "$GBA-bad.csv:5:5: entity" && err_has "$GBA-bad.csv:6:7: quantity" && err_has "$GBA-bad.csv:10:1: id" &&
	err_has "$GBA-bad.csv:9:0: row has 5 fields"; then
	pass "bad CSV: 65 with every problem at line:column"
else
	fail "bad CSV: 65 with line:column" "exit $RC"
fi
run load $GBA "$CSV/bad-bytes.csv"
if [ "$RC" -eq 65 ] && err_has "bad-bytes.csv:3:"; then pass "CSV that is neither UTF-8 nor GB18030: 65 naming line 3"; else fail "CSV with bad bytes" "exit $RC"; fi
run versions $GBA
if out_has "(current version 6)"; then pass "refused CSV loads stored nothing"; else fail "refused CSV loads stored nothing" "$(head -1 "$TMP/out")"; fi
run load no-such-list "$CSV/$GBA.csv"
if [ "$RC" -eq 69 ] && err_has "load a JSON list document"; then pass "CSV for an unknown list: 69, load a JSON document first"; else fail "CSV for an unknown list" "exit $RC"; fi

# ---- spreadsheets (.xlsx) ------------------------------------------------
# The workbook is written by tests/data/xlsx/make_xlsx.py from its
# description: a notes sheet first, then sheet 清单 with the CSV's entries
# under Chinese headings (codes as numbers, dates as date cells).

python3 "$SRC/tests/data/xlsx/make_xlsx.py" "$TMP/$GBA.xlsx" <"$SRC/tests/data/xlsx/$GBA.json"
run diff $GBA "$TMP/$GBA.xlsx" --sheet 清单
if [ "$RC" -eq 0 ] && out_has "5 entries, 0 added, 0 removed, 0 changed"; then
	pass "diff of an .xlsx sheet with the CSV's entries: no change"
else
	fail "diff .xlsx --sheet" "exit $RC; $(cat "$TMP/out")"
fi
run load $GBA "$TMP/$GBA.xlsx"
if [ "$RC" -eq 65 ] && err_has "$GBA.xlsx:1:0: 说明!1: the first line is not a header row"; then
	pass "the first sheet is read by default, its problems named by sheet and row"
else
	fail "load .xlsx, first sheet" "exit $RC"
fi
run load $GBA "$TMP/$GBA.xlsx" --sheet 第三页
if [ "$RC" -eq 65 ] && err_has 'no sheet "第三页"; its sheets are "说明", "清单"'; then pass "--sheet of a sheet the workbook lacks: 65 naming its sheets"; else fail "--sheet unknown" "exit $RC"; fi
cp "$TMP/$GBA.xlsx" "$TMP/saved-as.csv"
run load $GBA "$TMP/saved-as.csv"
if [ "$RC" -eq 65 ] && err_has "is an .xlsx spreadsheet"; then pass "a workbook named .csv: says it is a spreadsheet"; else fail "workbook named .csv" "exit $RC"; fi
run versions $GBA
if out_has "(current version 6)"; then pass "refused spreadsheet loads stored nothing"; else fail "refused spreadsheet loads stored nothing" "$(head -1 "$TMP/out")"; fi

# ---- other exit codes ---------------------------------------------------

run load $GBA "$TMP/gba-invalid.json"
if [ "$RC" -eq 65 ] && err_has "/entries/0/code"; then pass "invalid JSON document: 65 naming the JSON path"; else fail "invalid document: 65" "exit $RC"; fi
# A v2 document with one bad member: 65 naming it, and nothing stored.
run versions $WL
cp "$TMP/out" "$TMP/wl-versions-before"
python3 - "$WL_FILE" "$TMP" <<'EOF2'
import copy, json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
def bad(name, change):
    b = copy.deepcopy(d)
    change(b)
    json.dump(b, open(sys.argv[2] + "/wl-bad-" + name + ".json", "w", encoding="utf-8"), ensure_ascii=False)
bad("scope", lambda b: b["scope"]["customs"].append("520"))
bad("batch", lambda b: b["entries"][0].update(batch="第九批"))
bad("identity", lambda b: b["entries"][0].update(identity="product"))
bad("alias-empty", lambda b: b["entries"][0].update(aliases=[""]))
bad("aliases-string", lambda b: b["entries"][0].update(aliases="x"))
bad("alias-punct", lambda b: b["entries"][0].update(aliases=["（）"]))
EOF2
for c in "scope /scope/customs/7" "batch /entries/0/batch" "identity /entries/0/identity" \
	"alias-empty /entries/0/aliases/0" "aliases-string /entries/0/aliases" "alias-punct /entries/0/aliases/0"; do
	set -- $c
	run load $WL "$TMP/wl-bad-$1.json"
	if [ "$RC" -eq 65 ] && err_has "$2:"; then pass "v2 document, bad $1: 65 naming $2"; else fail "v2 document, bad $1" "exit $RC; $(head -c 400 "$TMP/err")"; fi
done
run versions $WL
if cmp -s "$TMP/out" "$TMP/wl-versions-before"; then pass "refused v2 documents stored nothing"; else fail "refused v2 documents stored nothing" "$(diff "$TMP/wl-versions-before" "$TMP/out")"; fi
printf '{"list": ' >"$TMP/broken.json"
run load $GBA "$TMP/broken.json"
expect_rc 65 "unparseable JSON: 65"
run load $GBA "$TMP/no-such-file.json"
if [ "$RC" -eq 66 ] && err_has "no-such-file.json"; then pass "missing input file: 66"; else fail "missing input file: 66" "exit $RC"; fi
run load $WL "$GBA_FILE"
expect_rc 65 "a document for another list id: 65"
run versions no-such-list
expect_rc 69 "versions of an unknown list: 69"
run export no-such-list
expect_rc 69 "export of an unknown list: 69"
run load $GBA
expect_rc 64 "load without FILE: usage error (64)"
run load BAD_ID "$GBA_FILE"
expect_rc 64 "load with a malformed list id: usage error (64)"
run frobnicate
expect_rc 64 "unknown command: usage error (64)"
run_nodb lists
expect_rc 64 "no --db and no QINGDAN_DB: usage error (64)"
run_nodb
expect_rc 64 "no command at all: usage error (64)"
run --bogus-option lists
expect_rc 64 "unknown option: usage error (64)"
run_nodb --help
if [ "$RC" -eq 0 ] && out_has "Usage: qingdanctl" && out_has "Exit status"; then pass "--help: usage on stdout, exit 0"; else fail "--help" "exit $RC"; fi
# Every option a command takes is in --help, where users look for it.
if out_has "load LIST FILE [--dry-run] [--charset NAME] [--sheet NAME]" &&
	out_has "diff LIST FILE [--charset NAME] [--sheet NAME]"; then
	pass "--help names --charset for load and diff"
else
	fail "--help lacks --charset for load or diff" "$(grep -E '^  (load|diff) ' "$TMP/out")"
fi
run_nodb --version
if [ "$RC" -eq 0 ] && grep -qE '^qingdanctl [0-9]+\.[0-9]+' "$TMP/out"; then pass "--version, exit 0"; else fail "--version" "exit $RC"; fi
run versions $GBA
if out_has "(current version 6)"; then pass "refused commands stored nothing"; else fail "refused commands stored nothing" "$(head -1 "$TMP/out")"; fi

# ---- audit --------------------------------------------------------------

run audit
if [ "$RC" -eq 0 ] && [ "$(grep -c '^#' "$TMP/out")" -ge 9 ] &&
	head -1 "$TMP/out" | grep -qE "^#[0-9]+ [0-9T:Z-]+ +$ME +import +$WL +200 stored +v4 sha256 .*$WL-gb18030.csv$" &&
	grep -qE " import +$GBA +200 stored +v6 sha256 .*$GBA-bom.csv$" "$TMP/out" &&
	grep -qE " rollback +$GBA +200 stored +v4 sha256 ${SHA_V1:0:16}… +rollback to version 1$" "$TMP/out" &&
	grep -qE " load +$GBA +201 stored +v1 sha256 ${SHA_V1:0:16}… +$GBA.json$" "$TMP/out"; then
	pass "audit: every stored change, newest first, with actor, action, status, version and sha256"
else
	fail "audit lists the changes" "exit $RC; $(cat "$TMP/out")"
fi
IDS=$(sed -n 's/^#\([0-9]*\) .*/\1/p' "$TMP/out" | tr '\n' ' ')
if [ "$(echo $IDS | tr ' ' '\n' | sort -rn | tr '\n' ' ')" = "$(echo $IDS | tr ' ' '\n' | tr '\n' ' ')" ]; then pass "audit ids descend (newest first)"; else fail "audit ids descend" "$IDS"; fi
run audit --limit 2
if [ "$RC" -eq 0 ] && [ "$(wc -l <"$TMP/out")" -eq 2 ]; then pass "audit --limit 2 prints two records"; else fail "audit --limit 2" "$(cat "$TMP/out")"; fi
run audit --limit 0
expect_rc 64 "audit --limit 0: usage error (64)"
NREC=$("$CTL" --db "$DB" audit --limit 100000 | grep -c '^#')
run audit --prune --keep 1
if [ "$RC" -eq 0 ] && out_has "pruned 0 audit records" && [ "$("$CTL" --db "$DB" audit --limit 100000 | grep -c '^#')" -eq "$NREC" ]; then
	pass "audit --prune: records of stored changes are never pruned"
else
	fail "audit --prune keeps stored changes" "exit $RC; $(cat "$TMP/out")"
fi
run audit --prune --keep 0
expect_rc 64 "audit --prune --keep 0: usage error (64)"
run audit --prune --older-than soon
expect_rc 64 "audit --prune --older-than soon: usage error (64)"
run audit --prune --sideways 3
expect_rc 64 "audit --prune with an unknown option: usage error (64)"

# ---- stats, token --------------------------------------------------------

run stats
if [ "$RC" -eq 0 ] && grep -qE '^map used +[0-9]+ bytes \([0-9.]+%\)$' "$TMP/out" && grep -qE '^lists +2$' "$TMP/out" &&
	grep -qE '^versions +[0-9]+$' "$TMP/out" && grep -qE '^readers +[0-9]+ in use of [0-9]+$' "$TMP/out"; then
	pass "stats: map use, readers and record counts"
else
	fail "stats" "exit $RC; $(cat "$TMP/out")"
fi

run_nodb token ops-bot admin
TOK=$(sed -n '1s/^token: //p' "$TMP/out")
LINE2=$(sed -n 2p "$TMP/out")
if [ "$RC" -eq 0 ] && [ "$(wc -l <"$TMP/out")" -eq 2 ] && [[ $TOK =~ ^qd_[0-9a-f]{64}$ ]] &&
	[[ $LINE2 =~ ^ops-bot\ admin\ [0-9a-f]{64}$ ]]; then
	pass "token NAME ROLE: 'token: qd_…' then 'NAME ROLE <64 hex>'"
else
	fail "token output format" "$(cat "$TMP/out")"
fi
if [ "${LINE2##* }" = "$(printf %s "$TOK" | sha256sum | cut -d' ' -f1)" ]; then pass "token: the hex is the sha256 of the token"; else fail "token: the hex is the sha256 of the token"; fi
run_nodb token ops-bot admin
TOK2=$(sed -n '1s/^token: //p' "$TMP/out")
if [ -n "$TOK2" ] && [ "$TOK2" != "$TOK" ]; then pass "token: a new random token each time"; else fail "token: a new random token each time"; fi
run_nodb token reader-1 reader
if [ "$RC" -eq 0 ] && sed -n 2p "$TMP/out" | grep -qE '^reader-1 reader [0-9a-f]{64}$'; then pass "token with role reader"; else fail "token with role reader"; fi
run_nodb token ops-bot root
expect_rc 64 "token with an unknown role: 64"
run_nodb token "bad name" admin
expect_rc 64 "token with a bad name: 64"
run_nodb token ops-bot
expect_rc 64 "token without ROLE: 64"

# ---- verify ----------------------------------------------------------------

run verify
if [ "$RC" -eq 0 ] && out_has "is consistent"; then pass "verify on a good store: 0"; else fail "verify on a good store" "exit $RC"; fi

if command -v mdb_dump >/dev/null && command -v mdb_load >/dev/null; then
	mdb_dump -a "$DB" >"$TMP/dump.txt" 2>"$TMP/err"
	# Damage 1: drop the first record of the entries database.
	# Damage 2: drop every record of the versions database.
	python3 - "$TMP/dump.txt" "$TMP/dump-entry.txt" "$TMP/dump-versions.txt" <<'EOF'
import sys
lines = open(sys.argv[1]).read().split("\n")
def rewrite(drop):
    out, db, i, dropped = [], None, 0, 0
    while i < len(lines):
        l = lines[i]
        if l.startswith("database="):
            db = l[len("database="):]
        if l.startswith(" ") and drop(db, i, dropped):
            i += 2  # key line and value line
            dropped += 1
            continue
        out.append(l)
        i += 1
    return "\n".join(out), dropped
a, n1 = rewrite(lambda db, i, n: db == "entries" and n == 0)
b, n2 = rewrite(lambda db, i, n: db == "versions")
assert n1 == 1 and n2 >= 1, (n1, n2)
open(sys.argv[2], "w").write(a)
open(sys.argv[3], "w").write(b)
EOF
	mkdir "$TMP/dmg1" "$TMP/dmg2"
	mdb_load -f "$TMP/dump-entry.txt" "$TMP/dmg1" 2>/dev/null
	mdb_load -f "$TMP/dump-versions.txt" "$TMP/dmg2" 2>/dev/null
	DB=$TMP/dmg1 run verify
	if [ "$RC" -eq 1 ] && grep -qE '/lists/[a-z-]+/versions/[0-9]+: holds [0-9]+ entry records; the version record says [0-9]+' "$TMP/err" &&
		err_has "problem(s)"; then
		pass "verify on a copy missing an entry record: 1, naming the version"
	else
		fail "verify on a copy missing an entry record" "exit $RC"
	fi
	DB=$TMP/dmg2 run verify
	if [ "$RC" -eq 1 ] && err_has "version record is missing" && err_has "not in its history"; then
		pass "verify on a copy missing its version records: 1 with details"
	else
		fail "verify on a copy missing its version records" "exit $RC"
	fi
	run verify
	expect_rc 0 "the original store still verifies"
else
	echo "ERROR: mdb_dump/mdb_load (lmdb-utils) are needed for the damaged-store checks"
	ERRORS=$((ERRORS + 1))
fi

# ---- backup while a large load runs ----------------------------------

DB=$TMP/bk-db
run init
run load $GBA "$GBA_FILE"
run load $GBA "$TMP/big.json" --dry-run
SHA_BIG=$(sed -n 's/.*sha256 \([0-9a-f]\{64\}\).*/\1/p' "$TMP/out")
# Another process alternates the big document and the sample: 4 loads.
(
	for f in "$TMP/big.json" "$GBA_FILE" "$TMP/big.json" "$GBA_FILE"; do
		"$CTL" --db "$DB" load $GBA "$f" >/dev/null 2>"$TMP/loader.err" || exit 1
	done
) &
LOADER_PID=$!
n=0 during=0
while kill -0 "$LOADER_PID" 2>/dev/null && [ $n -lt 8 ]; do
	n=$((n + 1))
	"$CTL" --db "$DB" backup "$TMP/bk$n" >/dev/null 2>"$TMP/bk$n.err" || echo "backup $n: exit $?" >>"$TMP/bk.fail"
	kill -0 "$LOADER_PID" 2>/dev/null && during=$((during + 1))
	sleep 0.2
done
wait "$LOADER_PID"
LRC=$?
LOADER_PID=
if [ "$LRC" -eq 0 ]; then pass "the concurrent loads succeeded"; else fail "the concurrent loads succeeded" "$(cat "$TMP/loader.err")"; fi
if [ "$during" -ge 1 ] && [ ! -e "$TMP/bk.fail" ]; then
	pass "backup DIR ran $during time(s) while a load was running"
else
	fail "backup while a load runs" "backups during a load: $during; $(cat "$TMP/bk.fail" 2>/dev/null)"
fi
bad=
for i in $(seq 1 $n); do
	B=$TMP/bk$i
	[ -f "$B/data.mdb" ] || { bad="$bad; bk$i has no data.mdb"; continue; }
	"$CTL" --db "$B" verify >/dev/null 2>"$TMP/err" || { bad="$bad; bk$i does not verify: $(head -3 "$TMP/err")"; continue; }
	"$CTL" --db "$B" lists >"$TMP/out" 2>"$TMP/err" || { bad="$bad; bk$i: lists failed"; continue; }
	# The list's entry count and the exported document's hash are those
	# of one stored version (the hash pins the whole document).
	cnt=$(awk -v id=$GBA '$1 == id {print $4}' "$TMP/out")
	sha=$("$CTL" --db "$B" export $GBA | sha256sum | cut -d' ' -f1)
	case "$sha:$cnt" in
	"$SHA_V1:32" | "$SHA_BIG:20000") ;;
	*) bad="$bad; bk$i holds $cnt entries, exports sha256 $sha: not one complete version" ;;
	esac
done
if [ -z "$bad" ] && [ "$n" -ge 1 ]; then
	pass "each of the $n backups opens, verifies and holds one complete version"
else
	fail "backups open, verify and hold one complete version" "$bad"
fi
DB=$TMP/bk-db
run backup "$TMP/bk1"
expect_rc 73 "backup into a directory that already holds a store: 73"

# ---- expiring: what ends within DAYS China-time days --------------------

DB=$TMP/exp-db
mkdir -p "$DB"
run init
python3 - "$TMP/exp.json" <<'PY'
import datetime, json, sys
today = (datetime.datetime.utcnow() + datetime.timedelta(hours=8)).date()
day = lambda n: (today + datetime.timedelta(days=n)).isoformat()
clause = {"id": "C-1", "document": "署综函〔2022〕143号", "article": "一", "text": "免于提交。"}
entry = lambda i, code, to, **kw: dict(id=i, code=code, name={"zh": "物品"}, clauses=["C-1"], valid_to=to, **kw)
doc = {"list": "exp", "kind": "positive", "title": {"zh": "到期"}, "clauses": [clause],
       "entities": [{"id": "91110000600037341L", "name": {"zh": "示例研究院"}, "valid_to": day(10)}],
       "entries": [entry("E-2", "3002", day(2)), entry("E-40", "3822", day(40)),
                   entry("E-R", "3003", day(3), status="revoked"), entry("E-PAST", "3004", day(-5))]}
json.dump(doc, open(sys.argv[1], "w"), ensure_ascii=False)
PY
run load exp "$TMP/exp.json"
expect_rc 0 "expiring: load the list"
run expiring exp --within 30
D2=$(python3 -c 'import datetime;print(((datetime.datetime.utcnow()+datetime.timedelta(hours=8)).date()+datetime.timedelta(days=2)).isoformat())')
if [ "$RC" -eq 0 ] && out_has "exp v1: 1 entries and 1 roster members end" && [ "$(grep -c '^  ' "$TMP/out")" -eq 2 ] &&
	sed -n 2p "$TMP/out" | grep -qE "^  $D2  entry  E-2 +3002 +active$" &&
	sed -n 3p "$TMP/out" | grep -qE "^  [0-9-]{10}  member 91110000600037341L +active$"; then
	pass "expiring LIST --within 30: by date, entries and members, not the revoked, the past or day 40"
else
	fail "expiring LIST --within 30" "exit $RC; stdout: $(cat "$TMP/out")"
fi
run expiring exp
if [ "$RC" -eq 0 ] && out_has "1 entries and 1 roster members"; then pass "expiring: 30 days by default"; else fail "expiring: 30 days by default" "$(cat "$TMP/out")"; fi
run expiring exp --within 3660
if [ "$RC" -eq 0 ] && out_has "2 entries and 1 roster members"; then pass "expiring --within 3660 reaches day 40"; else fail "expiring --within 3660" "$(cat "$TMP/out")"; fi
for bad in 0 3661 abc -1; do
	run expiring exp --within "$bad"
	if [ "$RC" -eq 64 ] && grep -q -- "--within" "$TMP/err"; then pass "expiring --within $bad: 64 naming --within"; else fail "expiring --within $bad" "exit $RC"; fi
done
run expiring nosuch
expect_rc 69 "expiring of an unknown list: 69"
run expiring
expect_rc 64 "expiring without a list: 64"

# ---- summary ------------------------------------------------------------

summary
