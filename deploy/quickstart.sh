#!/usr/bin/env bash
# Set everything up and run qingdand on the bundled sample lists:
#   ./deploy/quickstart.sh
# Installs the Debian packages it needs, builds, creates an LMDB store in
# ./var/db, loads schema/examples/*.json (illustrative sample data, not
# official lists), makes an admin token, prints example curl calls and runs
# the daemon on 127.0.0.1:8080 in the foreground (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/setup.sh
BUILD=${QD_BUILD_DIR:-build}
CTL="$BUILD/src/ctl/qingdanctl"
DAEMON="$BUILD/src/daemon/qingdand"
VAR=${QD_VAR:-var}
DB="$VAR/db"
LISTEN=${QD_LISTEN:-127.0.0.1:8080}
mkdir -p "$VAR"

"$CTL" --db "$DB" init >/dev/null
for f in schema/examples/*.json; do
	list=$(basename "$f" .json)
	# Load a sample only when the store does not hold that list yet, so a
	# second start does not pile up identical versions.
	if ! "$CTL" --db "$DB" lists | grep -q "^$list "; then
		"$CTL" --db "$DB" load "$list" "$f"
	fi
done

if [ ! -s "$VAR/admin.token" ]; then
	out=$("$CTL" token quickstart admin)
	umask 077
	sed -n 's/^token: //p' <<<"$out" >"$VAR/admin.token"
	sed -n '2p' <<<"$out" >"$VAR/tokens"
fi
TOKEN=$(cat "$VAR/admin.token")
URL="http://$LISTEN"

cat <<MSG

qingdan is starting on $URL with the sample lists (illustrative data, not official lists).
"deny" means "not covered by the lists: the normal import procedure applies", never "prohibited".

Try, in another terminal:

  # one decision: a reagent for a Nansha institute on the roster
  curl -s '$URL/v1/lookup?code=3822.1900.90&entity=91440115MA9W3K7C66&date=2026-11-26'

  # a carve-out (excluded) and an item the lists do not cover (not_listed)
  curl -s '$URL/v1/lookup?code=3002901000&entity=91440115MA9W3K7C66'
  curl -s '$URL/v1/lookup?code=8471300000&entity=91440115MA9W3K7C66'

  # a whitelisted product where it is declared: at 南沙 (5101) it holds, at 上海 (2201)
  # it is outside the approval's customs scope; another product's name: item_differs
  curl -s '$URL/v1/lookup?code=3002510000&entity=91440115MA9W3K7C66&date=2026-11-26&list=biomed-rd-whitelist&customs=5101'
  curl -s '$URL/v1/lookup?code=3002510000&entity=91440115MA9W3K7C66&date=2026-11-26&list=biomed-rd-whitelist&customs=2201'
  curl -s '$URL/v1/lookup?code=3002510000&entity=91440115MA9W3K7C66&date=2026-11-26&list=biomed-rd-whitelist&name=%E6%8A%97%E4%BD%93'

  # pre-check a whole shipment
  curl -s -H 'Content-Type: application/json' -d '{"entity":"91440115MA9W3K7C66","items":[{"ref":"1","code":"3822190090"},{"ref":"2","code":"3002901000"},{"ref":"3","code":"8471"}]}' $URL/v1/check

  # the lists, one list, its entries
  curl -s $URL/v1/lists
  curl -si $URL/v1/lists/gba-research-positive
  curl -s '$URL/v1/lists/gba-research-positive/entries?prefix=3002&limit=5'

  # load a new version (admin token in $VAR/admin.token)
  curl -s -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
       --data-binary @schema/examples/gba-research-positive.json $URL/v1/lists/gba-research-positive

MSG
exec "$DAEMON" --db "$DB" --listen "$LISTEN" --tokens "$VAR/tokens"
