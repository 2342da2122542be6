#!/usr/bin/env bash
# Try replication on one machine: a primary and two replicas.
#   ./deploy/replicas.sh            (after ./deploy/quickstart.sh has built)
# Makes, under ./var/replicas: a signing key, an admin token, a primary on
# 127.0.0.1:8090 loaded with the sample lists (illustrative data), a replica
# on :8091 following the primary over HTTP, and a replica on :8092 following
# a directory the primary's feed is published into (as a port fed by disk
# would).  Prints what to try; Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${QD_BUILD_DIR:-build}
CTL="$BUILD/src/ctl/qingdanctl"
DAEMON="$BUILD/src/daemon/qingdand"
[ -x "$CTL" ] && [ -x "$DAEMON" ] || { echo "build first: ./deploy/quickstart.sh or ./deploy/setup.sh" >&2; exit 1; }
VAR=${QD_VAR:-var}/replicas
mkdir -p "$VAR"
umask 077

[ -s "$VAR/primary.key" ] ||
	"$CTL" keygen --alg sm2 --out "$VAR/primary.key" | sed -n '/BEGIN/,/END/p' >"$VAR/primary.pub"
if [ ! -s "$VAR/admin.token" ]; then
	out=$("$CTL" token replicas admin)
	sed -n 's/^token: //p' <<<"$out" >"$VAR/admin.token"
	sed -n '2p' <<<"$out" >"$VAR/tokens"
fi
TOKEN=$(cat "$VAR/admin.token")

for db in primary replica1 replica2; do "$CTL" --db "$VAR/$db" init >/dev/null; done
for f in schema/examples/*.json; do
	list=$(basename "$f" .json)
	"$CTL" --db "$VAR/primary" lists | grep -q "^$list " ||
		"$CTL" --db "$VAR/primary" --signing-key "$VAR/primary.key" load "$list" "$f" >/dev/null
done
"$CTL" --db "$VAR/primary" publish "$VAR/feed" >/dev/null

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
"$DAEMON" --db "$VAR/primary" --listen 127.0.0.1:8090 --tokens "$VAR/tokens" \
	--signing-key "$VAR/primary.key" --access-log off 2>"$VAR/primary.log" &
pids+=($!)
# replica1 keeps the primary's tokens file, as a replica built from the
# same configuration would: its reads need no token, and a change sent
# with the admin token is refused as read-only (409), not for want of
# tokens (403 admin_disabled).
"$DAEMON" --db "$VAR/replica1" --listen 127.0.0.1:8091 --follow http://127.0.0.1:8090 \
	--follow-key "$VAR/primary.pub" --tokens "$VAR/tokens" --access-log off 2>"$VAR/replica1.log" &
pids+=($!)
"$DAEMON" --db "$VAR/replica2" --listen 127.0.0.1:8092 --follow "file://$PWD/$VAR/feed" \
	--follow-key "$VAR/primary.pub" --follow-interval 2 --access-log off 2>"$VAR/replica2.log" &
pids+=($!)
# Publish the primary's feed into the directory every few seconds, as cron
# (or a copy to a removable disk) would.
( while sleep 3; do "$CTL" --db "$VAR/primary" publish "$VAR/feed" >/dev/null 2>&1 || true; done ) &
pids+=($!)

cat <<MSG

primary  http://127.0.0.1:8090   (signs with $VAR/primary.key, takes list changes)
replica1 http://127.0.0.1:8091   (follows the primary over HTTP, long polls)
replica2 http://127.0.0.1:8092   (follows $VAR/feed, published every 3 s)

Change a list on the primary, then watch both replicas apply it:
  curl -s -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
       --data-binary @schema/examples/gba-research-positive.json http://127.0.0.1:8090/v1/lists/gba-research-positive
  for p in 8090 8091 8092; do curl -s http://127.0.0.1:\$p/v1/lists | head -c 300; echo; done
  curl -s http://127.0.0.1:8091/v1/status | python3 -m json.tool | grep -A8 '"follow"'
A replica refuses changes, even with the admin token (409 read_only_replica):
  curl -s -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
       --data-binary @schema/examples/gba-research-positive.json http://127.0.0.1:8091/v1/lists/gba-research-positive
Ctrl-C stops all three.
MSG
wait
