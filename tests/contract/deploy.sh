#!/usr/bin/env bash
# The deploy/ files as their tools read them:
#   bash -n on every deploy/*.sh;
#   the admin-only map of deploy/nginx.conf against the daemon's route
#   table (every admin route that changes something, every proposal route,
#   the audit log and the admin page must be kept off the balanced port);
#   `nginx -t` on a copy of deploy/nginx.conf with its paths moved to a
#   temporary directory (SKIP when nginx is not installed);
#   `haproxy -c` on deploy/haproxy.cfg (SKIP when haproxy is not installed).
# Ends with Check's summary line "NN%: Checks: N, Failures: F, Errors: 0".
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${QD_SOURCE_ROOT:-$(cd "$HERE/../.." && pwd)}
checks=0
failures=0
check() { # NAME STATUS [DETAIL]
	checks=$((checks + 1))
	if [ "$2" -eq 0 ]; then
		echo "PASS: $1"
	else
		failures=$((failures + 1))
		echo "FAIL: $1${3:+: $3}"
	fi
}

for f in "$SRC"/deploy/*.sh; do
	out=$(bash -n "$f" 2>&1)
	check "bash -n deploy/$(basename "$f")" $? "$out"
done

out=$(python3 - "$SRC/deploy/nginx.conf" "$SRC/src/daemon/http.c" <<'PY' 2>&1
import re, sys
conf, routes = open(sys.argv[1]).read(), open(sys.argv[2]).read()
m = re.search(r'map "\$request_method \$uri" \$qingdan_admin_only \{(.*?)\n\t\}', conf, re.S)
if not m:
    sys.exit("no map $qingdan_admin_only in nginx.conf")
rules = [(re.compile(rx), v) for rx, v in re.findall(r'"~([^"]+)"\s+(\d+);', m.group(1))]
def value(method, uri):
    for rx, v in rules:
        if rx.search(f"{method} {uri}"):
            return int(v)
    return 0
bad = []
# Every admin route of the daemon's table but the reads a replica answers
# the same (none: GET /v1/audit and GET /v1/proposals are the primary's own).
for path, method in re.findall(r'\{"(/[^"]*)", "([A-Z]+)", \w+, ACCESS_ADMIN', routes):
    uri = path.replace("{id}", "gba-research-positive").replace("{n}", "1")
    for meth in ([method, "HEAD"] if method == "GET" else [method]):
        if value(meth, uri) == 0:
            bad.append(f"{meth} {uri} reaches the balanced pool")
if value("GET", "/ui/admin.html") == 0:
    bad.append("GET /ui/admin.html reaches the balanced pool")
# What replicas answer for everyone stays balanced.
for meth, uri in [("GET", "/v1/lookup"), ("POST", "/v1/check"), ("POST", "/v1/sheet"),
                  ("GET", "/v1/lists"), ("GET", "/v1/lists/gba-research-positive"),
                  ("GET", "/v1/lists/gba-research-positive/versions/1"), ("GET", "/v1/feed"),
                  ("GET", "/ui/index.html"), ("GET", "/readyz"), ("POST", "/v1/receipts/verify")]:
    if value(meth, uri) != 0:
        bad.append(f"{meth} {uri} is kept off the balanced pool")
if len(bad):
    sys.exit("; ".join(bad))
PY
)
check "deploy/nginx.conf keeps every admin route and the admin page off the balanced replicas" $? "$out"

if ! command -v nginx >/dev/null 2>&1; then
	echo "SKIP: nginx is not installed: nginx -t was not run on deploy/nginx.conf"
else
	T=$(mktemp -d "${TMPDIR:-/tmp}/qd-deploy.XXXXXX")
	trap 'rm -rf "$T"' EXIT
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=qingdan.example.cn \
		-keyout "$T/tls.key" -out "$T/tls.crt" >/dev/null 2>&1
	mkdir -p "$T/srv"
	for d in client_body proxy fastcgi uwsgi scgi; do mkdir -p "$T/$d"; done
	# The same file, its paths moved under $T (and the temp paths nginx
	# would otherwise create under /var/lib/nginx).
	sed -e "s|^pid .*;|pid $T/nginx.pid;|" \
		-e "s|/var/log/nginx/|$T/|g" \
		-e "s|/etc/nginx/tls/qingdan.example.cn.crt|$T/tls.crt|" \
		-e "s|/etc/nginx/tls/qingdan.example.cn.key|$T/tls.key|" \
		-e "s|/srv/qingdan-feed/|$T/srv/|" \
		-e "s|^http {|http {\n\tclient_body_temp_path $T/client_body;\n\tproxy_temp_path $T/proxy;\n\tfastcgi_temp_path $T/fastcgi;\n\tuwsgi_temp_path $T/uwsgi;\n\tscgi_temp_path $T/scgi;|" \
		"$SRC/deploy/nginx.conf" >"$T/nginx.conf"
	[ -f /etc/nginx/mime.types ] || sed -i "s|include /etc/nginx/mime.types;|types { application/json json; }|" "$T/nginx.conf"
	out=$(nginx -t -q -p "$T" -e "$T/error.log" -c "$T/nginx.conf" 2>&1)
	check "nginx -t accepts deploy/nginx.conf (paths moved to a temporary directory)" $? "$out"
fi

if ! command -v haproxy >/dev/null 2>&1; then
	echo "SKIP: haproxy is not installed: haproxy -c was not run on deploy/haproxy.cfg"
else
	out=$(haproxy -c -q -f "$SRC/deploy/haproxy.cfg" 2>&1)
	check "haproxy -c accepts deploy/haproxy.cfg" $? "$out"
fi

pct=0
[ $checks -gt 0 ] && pct=$((100 * (checks - failures) / checks))
echo "$pct%: Checks: $checks, Failures: $failures, Errors: 0"
[ $failures -eq 0 ]
