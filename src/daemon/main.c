/* qingdand — the qingdan registry daemon: start-up, signals, shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qd_config.h"
#include "qingdan/err.h"
#include "qingdand.h"

enum MHD_Result qd_access_handler(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls);
void qd_request_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			  enum MHD_RequestTerminationCode toe);

#define SHUTDOWN_GRACE_SECONDS 10
#define CONNECTION_LIMIT 1024
#define PER_IP_CONNECTION_LIMIT 256
#define CONNECTION_TIMEOUT_SECONDS 30

static const char usage[] =
	"Usage: qingdand --db DIR --listen ADDR:PORT [options]\n"
	"\n"
	"Serve the qingdan lists from the LMDB store in DIR over HTTP/JSON.\n"
	"\n"
	"  --db DIR              LMDB store directory (created if missing)\n"
	"  --listen ADDR:PORT    address to listen on, e.g. 127.0.0.1:8080 or [::1]:8080\n"
	"  --tokens FILE         bearer tokens file (NAME ROLE SHA256HEX per line);\n"
	"                        without it admin endpoints answer 403\n"
	"  --read-auth MODE      open (default) or token: whether reads need a token\n"
	"  --threads N           worker threads (default: number of CPUs)\n"
	"  --utc-offset OFFSET   offset for \"today\" (default +08:00, China time)\n"
	"  --retain-versions N   versions kept per list (default 50)\n"
	"  --map-size BYTES      maximum store size (default 8 GiB; suffixes K, M, G)\n"
	"  -h, --help            show this help and exit\n"
	"  -V, --version         show the version and exit\n";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "qingdand: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned long long mul = 1;
	if (*end == 'K' || *end == 'k')
		mul = 1ull << 10;
	else if (*end == 'M' || *end == 'm')
		mul = 1ull << 20;
	else if (*end == 'G' || *end == 'g')
		mul = 1ull << 30;
	if (mul != 1)
		end++;
	if (errno || *end || v > max / mul)
		return false;
	*out = v * mul;
	return v * mul <= max;
}

/* Parse "ADDR:PORT" or "[V6ADDR]:PORT" into a socket address. */
static bool parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *port;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof host)
			return false;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
		port = rb + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof host)
			return false;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
	}
	unsigned long long p;
	if (!parse_uint(port, 65535, &p))
		return false;
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return false;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return true;
}

static void snap_destroy(void *p)
{
	qd_snap_free(p);
}

qd_snap *thread_snap(server *srv)
{
	qd_snap *s = pthread_getspecific(srv->snap_key);
	if (!s) {
		s = qd_snap_new(srv->store);
		if (!s)
			return NULL;
		pthread_setspecific(srv->snap_key, s);
	}
	return qd_snap_open(s) == 0 ? s : NULL;
}

void next_decision_id(server *srv, char out[40])
{
	uint64_t n = atomic_fetch_add(&srv->id_seq, 1);
	snprintf(out, 40, "%s-%012llx", srv->id_prefix, (unsigned long long)n);
}

static void reload_tokens(server *srv)
{
	if (!srv->tokens_path)
		return;
	tokens t;
	char err[512];
	if (tokens_load(srv->tokens_path, &t, err, sizeof err)) {
		fprintf(stderr, "qingdand: SIGHUP: keeping the old tokens: %s\n", err);
		return;
	}
	pthread_rwlock_wrlock(&srv->tokens_lock);
	tokens old = srv->tokens;
	srv->tokens = t;
	pthread_rwlock_unlock(&srv->tokens_lock);
	tokens_free(&old);
	fprintf(stderr, "qingdand: SIGHUP: reloaded %zu tokens from %s\n", t.n, srv->tokens_path);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"tokens", required_argument, NULL, 't'},
		{"read-auth", required_argument, NULL, 'r'},
		{"threads", required_argument, NULL, 'n'},
		{"utc-offset", required_argument, NULL, 'u'},
		{"retain-versions", required_argument, NULL, 'R'},
		{"map-size", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	const char *db = NULL, *listen_s = NULL;
	server srv;
	memset(&srv, 0, sizeof srv);
	srv.utc_offset = QD_UTC_OFFSET_DEFAULT;
	long threads = sysconf(_SC_NPROCESSORS_ONLN);
	qd_store_opts so;
	qd_store_opts_default(&so);
	int ch;
	unsigned long long v;
	while ((ch = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'l': listen_s = optarg; break;
		case 't': srv.tokens_path = optarg; break;
		case 'r':
			if (strcmp(optarg, "open") == 0)
				srv.read_auth = false;
			else if (strcmp(optarg, "token") == 0)
				srv.read_auth = true;
			else
				die("--read-auth: expected open or token, got \"%s\"", optarg);
			break;
		case 'n':
			if (!parse_uint(optarg, 256, &v) || v < 1)
				die("--threads: expected 1 to 256, got \"%s\"", optarg);
			threads = (long)v;
			break;
		case 'u':
			if (qd_utc_offset_parse(optarg, &srv.utc_offset))
				die("--utc-offset: expected +HH:MM (e.g. +08:00), got \"%s\"", optarg);
			break;
		case 'R':
			if (!parse_uint(optarg, 100000, &v) || v < 1)
				die("--retain-versions: expected 1 to 100000, got \"%s\"", optarg);
			so.retain = (unsigned)v;
			break;
		case 'm':
			if (!parse_uint(optarg, 1ull << 40, &v) || v < (1u << 20))
				die("--map-size: expected 1M to 1024G, got \"%s\"", optarg);
			so.map_size = v;
			break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': printf("qingdand %s\n", QD_VERSION); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc)
		die("unexpected argument \"%s\" (see --help)", argv[optind]);
	if (!db)
		die("%s", "--db DIR is required (see --help)");
	if (!listen_s)
		die("%s", "--listen ADDR:PORT is required (see --help)");
	if (threads < 1)
		threads = 1;
	so.max_readers = (unsigned)threads + 126;

	struct sockaddr_storage ss;
	socklen_t sslen;
	if (!parse_listen(listen_s, &ss, &sslen))
		die("--listen: expected ADDR:PORT with a numeric address, got \"%s\"", listen_s);

	if (srv.tokens_path) {
		char err[512];
		if (tokens_load(srv.tokens_path, &srv.tokens, err, sizeof err))
			die("%s", err);
	}
	pthread_rwlock_init(&srv.tokens_lock, NULL);
	pthread_key_create(&srv.snap_key, snap_destroy);

	if (mkdir(db, 0750) != 0 && errno != EEXIST)
		die("cannot create store directory: %s", strerror(errno));
	char err[512];
	if (qd_store_open(db, &so, &srv.store, err, sizeof err))
		die("%s", err);

	unsigned char rnd[4];
	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
		unsigned t = (unsigned)time(NULL) ^ (unsigned)getpid();
		memcpy(rnd, &t, sizeof rnd);
	}
	snprintf(srv.id_prefix, sizeof srv.id_prefix, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);

	/* Signals are taken synchronously by the main thread with sigwait();
	 * blocking them first means every worker thread inherits the mask and
	 * no handler ever runs inside libmicrohttpd or LMDB. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, 0, NULL, NULL, qd_access_handler, &srv,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
		MHD_OPTION_NOTIFY_COMPLETED, qd_request_completed, &srv,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_CONNECTION_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_SECONDS,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "qingdand: cannot listen on %s: %s\n", listen_s,
			errno ? strerror(errno) : "libmicrohttpd failed to start");
		qd_store_close(srv.store);
		return 1;
	}
	const union MHD_DaemonInfo *pi = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	fprintf(stderr, "qingdand %s: serving %s on %s (port %u, %ld threads, admin %s, reads %s)\n",
		QD_VERSION, db, listen_s, pi ? pi->port : 0, threads,
		srv.tokens_path ? "by token" : "disabled (no --tokens)",
		srv.read_auth ? "need a token" : "open");

	for (;;) {
		int sig;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload_tokens(&srv);
			continue;
		}
		fprintf(stderr, "qingdand: %s: finishing in-flight requests\n", strsignal(sig));
		break;
	}
	/* Stop accepting, then give in-flight requests a bounded time. */
	MHD_socket ls = MHD_quiesce_daemon(d);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	for (int i = 0; i < SHUTDOWN_GRACE_SECONDS * 10; i++) {
		const union MHD_DaemonInfo *ci = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (!ci || ci->num_connections == 0)
			break;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(d);
	qd_store_close(srv.store);
	tokens_free(&srv.tokens);
	pthread_rwlock_destroy(&srv.tokens_lock);
	fprintf(stderr, "qingdand: stopped\n");
	return 0;
}
