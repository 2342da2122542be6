# qingdan benchmark: pieces shared by run.sh, bundle.sh and scale.sh.
# Sourced, never run.  Everything here needs bash and awk alone (scale.sh
# runs on machines with coreutils and nothing else: it brings its own awk),
# except bench_install and bench_build_release, which need Debian.

# bench_install CMD:PACKAGE... — install (apt-get; sudo when not root) the
# packages whose command is missing.  A CMD with a slash is a path to test.
bench_install() {
	local need=() spec cmd sudo=""
	for spec in "$@"; do
		cmd=${spec%%:*}
		if [[ $cmd == */* ]]; then [ -x "$cmd" ] && continue
		else command -v "$cmd" >/dev/null && continue; fi
		need+=("${spec#*:}")
	done
	((${#need[@]})) || return 0
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "bench: installing ${need[*]}" >&2
	$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		--no-install-recommends "${need[@]}" >/dev/null
}

# bench_build_release ROOT BUILD EXTRA_PKGS — a release build in BUILD
# (deploy/setup.sh installs the build dependencies and EXTRA_PKGS).  A tree
# someone is editing may fail to build for a moment: retry.
bench_build_release() {
	local root=$1 build=$2 pkgs=$3 try
	for try in 1 2 3 4 5 0; do
		((try)) || { echo "bench: setup/build failed" >&2; return 1; }
		QD_EXTRA_PKGS="$pkgs" QD_BUILD_DIR=$build \
			QD_MESON_ARGS="-Dbuildtype=release -Db_ndebug=true" "$root/deploy/setup.sh" >&2 &&
			meson configure "$build" -Dbuildtype=release -Db_ndebug=true >/dev/null &&
			ninja -C "$build" >/dev/null && return 0
		echo "bench: build failed (try $try); retrying in 30 s" >&2
		sleep 30
	done
}

# bench_paths PAIRS_TSV DATE — the lookups as URL paths, one a line.
bench_paths() {
	awk -F'\t' -v d="$2" '{printf "/v1/lookup?code=%s&entity=%s&date=%s\n", $1, $2, d}' "$1"
}

# bench_free_port — a loopback TCP port nothing has bound (from /proc/net).
bench_free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		awk -v p="$p" 'FNR > 1 { split($2, a, ":"); if (a[2] == sprintf("%04X", p)) used = 1 }
			END { exit used }' /proc/net/tcp /proc/net/tcp6 2>/dev/null && break
	done
	echo "$p"
}

# bench_rss PID — the memory lines of /proc/PID/status as JSON, in KiB.
bench_rss() {
	awk '/^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem):/ {
		sub(":", "", $1); printf "%s\"%s_kib\":%s", n++ ? "," : "{", $1, $2 }
		END { print "}" }' "/proc/$1/status"
}

# bench_nginx_conf TEMPLATE DIR PORT WORKERS BODY — DIR/nginx.conf: nginx
# serving the file BODY for every GET /v1/lookup on 127.0.0.1:PORT, with
# WORKERS worker processes and everything it writes under DIR.
bench_nginx_conf() {
	local user=""
	# as root nginx would switch its workers to "nobody", who may not
	# exist and may not read BODY
	[ "$(id -u)" -eq 0 ] && user="user root;"
	mkdir -p "$2"
	awk -v prefix="$2" -v port="$3" -v workers="$4" -v body="$5" -v user="$user" '{
		gsub(/@PREFIX@/, prefix); gsub(/@PORT@/, port); gsub(/@WORKERS@/, workers)
		gsub(/@BODY@/, body); gsub(/@USER@/, user); print }' "$1" >"$2/nginx.conf"
}

# bench_lua DIR — the wrk scripts: DIR/report.lua prints the run as one
# line "WRKJSON {...}" (latencies in microseconds); DIR/rotate.lua (args:
# a file of paths) cycles through the paths, each thread starting
# elsewhere; DIR/post.lua (args: a file) POSTs the file as JSON.
bench_lua() {
	cat >"$1/report.lua" <<'EOF'
-- Print the run as one JSON line (latencies in microseconds).
function done(s, lat, req)
	local e = s.errors
	io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
		'"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
		'"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_p999_us":%d,"lat_max_us":%d}\n',
		s.requests, s.duration, s.bytes, e.connect, e.read, e.write, e.status, e.timeout,
		lat.mean, lat:percentile(50), lat:percentile(90), lat:percentile(99), lat:percentile(99.9), lat.max))
end
EOF
	cat "$1/report.lua" - >"$1/rotate.lua" <<'EOF'
local n = 0
function setup(thread) thread:set("tid", n); n = n + 1 end
local paths, idx = {}, 0
function init(args)
	for line in io.lines(args[1]) do paths[#paths + 1] = line end
	idx = ((tid or 0) * 97) % #paths
end
function request()
	idx = idx % #paths + 1
	return wrk.format(nil, paths[idx])
end
EOF
	cat "$1/report.lua" - >"$1/post.lua" <<'EOF'
-- wrk builds its one request after init, so the body can be set here.
function init(args)
	local f = assert(io.open(args[1], "rb"))
	wrk.method = "POST"
	wrk.body = f:read("*a")
	f:close()
	wrk.headers["Content-Type"] = "application/json"
end
EOF
}

# bench_wrk_field JSON KEY — one number of a WRKJSON object.
bench_wrk_field() {
	awk -v k="$2" 'BEGIN { s = ARGV[1]; ARGV[1] = ""
		if (match(s, "\"" k "\":[-0-9.]+")) print substr(s, RSTART + length(k) + 3, RLENGTH - length(k) - 3) }' "$1"
}
