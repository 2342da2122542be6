/* qingdand — the qingdan registry daemon: start-up, signals, shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
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
#include "config.h"
#include "qingdand.h"

#ifdef QD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

enum MHD_Result qd_access_handler(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls);
void qd_request_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			  enum MHD_RequestTerminationCode toe);

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
	char *end;
	unsigned long p = strtoul(port, &end, 10);
	if (!*port || *end || p > 65535 || port[0] == '-' || port[0] == '+')
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

/* What a worker thread's snapshot key holds: its handle, and the server
 * whose registry lists it (a key destructor is given nothing else). */
typedef struct snap_slot {
	server *srv;
	qd_snap *snap;
} snap_slot;

/* Run at a worker thread's exit.  The handle leaves the registry under the
 * lock before it is freed, so a /metrics scrape on another thread never
 * reads a freed handle; its counters are kept so the sums never go down. */
static void snap_destroy(void *p)
{
	snap_slot *slot = p;
	server *srv = slot->srv;
	qd_snap_cache_stats st;
	qd_snap_cache_stats_get(slot->snap, &st);
	pthread_mutex_lock(&srv->snaps_lock);
	for (size_t i = 0; i < srv->n_snaps; i++) {
		if (srv->snaps[i] == slot->snap) {
			srv->snaps[i] = srv->snaps[--srv->n_snaps];
			break;
		}
	}
	srv->snaps_gone.hits += st.hits;
	srv->snaps_gone.misses += st.misses;
	srv->snaps_gone.resets += st.resets;
	pthread_mutex_unlock(&srv->snaps_lock);
	qd_snap_free(slot->snap);
	free(slot);
}

void snaps_init(server *srv)
{
	pthread_key_create(&srv->snap_key, snap_destroy);
	pthread_mutex_init(&srv->snaps_lock, NULL);
	srv->snaps = NULL;
	srv->n_snaps = srv->cap_snaps = 0;
	memset(&srv->snaps_gone, 0, sizeof srv->snaps_gone);
}

void snaps_fini(server *srv)
{
	pthread_key_delete(srv->snap_key);
	free(srv->snaps);
	srv->snaps = NULL;
	srv->n_snaps = srv->cap_snaps = 0;
	pthread_mutex_destroy(&srv->snaps_lock);
}

/* Make this thread's handle and list it; NULL (nothing kept) on failure. */
static snap_slot *snap_slot_new(server *srv)
{
	snap_slot *slot = malloc(sizeof *slot);
	qd_snap *s = qd_snap_new(srv->store);
	if (!slot || !s)
		goto fail;
	qd_snap_set_cache(s, srv->cfg.read_cache);
	*slot = (snap_slot){srv, s};
	pthread_mutex_lock(&srv->snaps_lock);
	if (srv->n_snaps == srv->cap_snaps) {
		size_t cap = srv->cap_snaps ? srv->cap_snaps * 2 : 16;
		qd_snap **v = realloc(srv->snaps, cap * sizeof *v);
		if (!v) {
			pthread_mutex_unlock(&srv->snaps_lock);
			goto fail;
		}
		srv->snaps = v;
		srv->cap_snaps = cap;
	}
	srv->snaps[srv->n_snaps++] = s;
	pthread_mutex_unlock(&srv->snaps_lock);
	if (pthread_setspecific(srv->snap_key, slot) != 0) {
		snap_destroy(slot);
		return NULL;
	}
	return slot;
fail:
	qd_snap_free(s);
	free(slot);
	return NULL;
}

qd_snap *thread_snap(server *srv)
{
	snap_slot *slot = pthread_getspecific(srv->snap_key);
	if (!slot && !(slot = snap_slot_new(srv)))
		return NULL;
	return qd_snap_open(slot->snap) == 0 ? slot->snap : NULL;
}

void snaps_cache_stats(server *srv, qd_snap_cache_stats *out)
{
	pthread_mutex_lock(&srv->snaps_lock);
	*out = srv->snaps_gone;
	for (size_t i = 0; i < srv->n_snaps; i++) {
		qd_snap_cache_stats st;
		qd_snap_cache_stats_get(srv->snaps[i], &st);
		out->hits += st.hits;
		out->misses += st.misses;
		out->resets += st.resets;
		out->entries += st.entries;
	}
	pthread_mutex_unlock(&srv->snaps_lock);
}

size_t next_decision_id(server *srv, char out[40])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t n = atomic_fetch_add(&srv->id_seq, 1);
	/* By hand, not snprintf("%s-%012llx"): this is on every lookup. */
	size_t k = strnlen(srv->id_prefix, sizeof srv->id_prefix - 1);
	memcpy(out, srv->id_prefix, k);
	out[k++] = '-';
	char digits[16];
	size_t nd = 0;
	do {
		digits[nd++] = hex[n & 15];
		n >>= 4;
	} while (n);
	for (size_t i = nd; i < 12; i++)
		out[k++] = '0';
	while (nd)
		out[k++] = digits[--nd];
	out[k] = '\0';
	return k;
}

void record_decision(server *srv, const char *decision_id, const qd_query *q, const qd_outcome *o,
		     const char *ref)
{
	metrics_decision(&srv->m, o);
	if (!srv->decision_log)
		return;
	/* Plain appends, no printf: with a decision log this runs for every
	 * decision.  What goes in without qd_buf_json_cstr() (ids, times,
	 * validated list ids, reason names, the ref already rendered as JSON)
	 * needs no escaping. */
	char ts[21], date[11];
	qd_time_format((int64_t)time(NULL), ts);
	qd_date_format(q->date, date);
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "{\"time\":\"");
	qd_buf_puts(&b, ts);
	qd_buf_puts(&b, "\",\"decision_id\":\"");
	qd_buf_puts(&b, decision_id);
	qd_buf_putc(&b, '"');
	if (ref) {
		qd_buf_puts(&b, ",\"ref\":");
		qd_buf_puts(&b, ref);
	}
	qd_buf_puts(&b, ",\"query\":{\"code\":");
	qd_buf_json_cstr(&b, q->code.digits);
	qd_buf_puts(&b, ",\"ciq\":");
	qd_buf_json_cstr(&b, q->code.ciq[0] ? q->code.ciq : NULL);
	qd_buf_puts(&b, ",\"entity\":");
	qd_buf_json_cstr(&b, q->entity);
	qd_buf_puts(&b, ",\"date\":\"");
	qd_buf_puts(&b, date);
	qd_buf_puts(&b, "\",\"list\":");
	qd_buf_json_cstr(&b, q->list);
	if (q->version) {
		qd_buf_puts(&b, ",\"version\":");
		qd_buf_put_uint(&b, q->version);
	}
	if (q->has_at) {
		char at[21];
		qd_time_format(q->at, at);
		qd_buf_puts(&b, ",\"at\":\"");
		qd_buf_puts(&b, at);
		qd_buf_putc(&b, '"');
	}
	qd_buf_puts(&b, "},\"decision\":\"");
	qd_buf_puts(&b, o->allow ? "allow" : "deny");
	qd_buf_puts(&b, "\",\"reason\":\"");
	qd_buf_puts(&b, qd_reason_name(o->reason));
	qd_buf_puts(&b, "\",\"lists\":[");
	unsigned n = o->n_lists < QD_OUTCOME_LISTS_MAX ? o->n_lists : QD_OUTCOME_LISTS_MAX;
	for (unsigned i = 0; i < n; i++) {
		qd_buf_puts(&b, i ? ",{\"list\":\"" : "{\"list\":\"");
		qd_buf_puts(&b, o->lists[i].id);
		qd_buf_puts(&b, "\",\"version\":");
		qd_buf_put_uint(&b, o->lists[i].version);
		qd_buf_puts(&b, ",\"decision\":\"");
		qd_buf_puts(&b, o->lists[i].allow ? "allow" : "deny");
		qd_buf_puts(&b, "\",\"reason\":\"");
		qd_buf_puts(&b, qd_reason_name(o->lists[i].reason));
		qd_buf_puts(&b, "\"}");
	}
	qd_buf_puts(&b, "]}");
	if (!b.oom)
		logq_write(srv->decision_log, b.data, b.len);
	qd_buf_free(&b);
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

/* A PEM file into a malloc()ed, NUL-terminated string; NULL with a message. */
static char *read_pem(const char *path, char *err, size_t errlen)
{
	qd_buf b;
	qd_buf_init(&b);
	int rc = qd_buf_read_file(&b, path, (size_t)1 << 20);
	if (rc) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 rc == -EFBIG ? "larger than 1 MiB, not a PEM file" : strerror(-rc));
		qd_buf_free(&b);
		return NULL;
	}
	return qd_buf_steal(&b, NULL);
}

static void notify(const char *state)
{
#ifdef QD_HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

/* --check-config's look at the store, changing nothing: an existing store
 * must open (read-only); where there is none yet, qingdand must be able to
 * make it — its directory writable, or creatable in a writable parent. */
static bool check_store(const char *db, const qd_store_opts *opts, bool *fresh, char *err, size_t errlen)
{
	char data[4096];
	struct stat st;
	if (snprintf(data, sizeof data, "%s/data.mdb", db) >= (int)sizeof data) {
		snprintf(err, errlen, "db: the path is too long");
		return false;
	}
	if (stat(data, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
		*fresh = true;
		const char *dir = db;
		char parent[4096];
		if (stat(db, &st) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				snprintf(err, errlen, "db: %s is not a directory", db);
				return false;
			}
		} else if (errno == ENOENT) {
			/* mkdir() of the last component only, as at start. */
			snprintf(parent, sizeof parent, "%s", db);
			dir = dirname(parent);
			if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
				snprintf(err, errlen, "db: cannot create store directory %s: %s does not exist", db, dir);
				return false;
			}
		} else {
			snprintf(err, errlen, "db: %s: %s", db, strerror(errno));
			return false;
		}
		if (access(dir, W_OK | X_OK) != 0) {
			snprintf(err, errlen, "db: cannot create the store in %s: %s", dir, strerror(errno));
			return false;
		}
		return true;
	}
	*fresh = false;
	qd_store_opts ro = *opts;
	ro.read_only = true;
	qd_store *store;
	if (qd_store_open(db, &ro, &store, err, errlen))
		return false;
	qd_store_close(store);
	return true;
}

int main(int argc, char **argv)
{
	server srv;
	memset(&srv, 0, sizeof srv);
	settings_default(&srv.cfg);
	bool check_only;
	int pr = settings_parse(&srv.cfg, argc, argv, &check_only);
	if (pr) {
		settings_free(&srv.cfg);
		return pr > 0 ? 0 : 2;
	}
	settings *cfg = &srv.cfg;
	srv.tokens_path = cfg->tokens;
	srv.read_auth = cfg->read_auth;
	srv.utc_offset = cfg->utc_offset;
	qd_store_opts so;
	qd_store_opts_default(&so);
	so.retain = cfg->retain;
	so.map_size = cfg->map_size;
	so.max_readers = cfg->threads + 126;
	int status = 2;

	struct sockaddr_storage ss;
	socklen_t sslen;
	char err[512];
	char *tls_cert = NULL, *tls_key = NULL;
	if (!parse_listen(cfg->listen, &ss, &sslen)) {
		fprintf(stderr, "qingdand: listen: expected ADDR:PORT with a numeric address, got \"%s\"\n", cfg->listen);
		goto out_cfg;
	}
	if (srv.tokens_path && tokens_load(srv.tokens_path, &srv.tokens, err, sizeof err)) {
		fprintf(stderr, "qingdand: %s\n", err);
		goto out_cfg;
	}
	if (cfg->tls_cert) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			fprintf(stderr, "qingdand: this libmicrohttpd has no TLS support; use the nginx front instead\n");
			goto out_cfg;
		}
		if (!(tls_cert = read_pem(cfg->tls_cert, err, sizeof err)) ||
		    !(tls_key = read_pem(cfg->tls_key, err, sizeof err))) {
			fprintf(stderr, "qingdand: %s\n", err);
			goto out_cfg;
		}
	}
	if (check_only) {
		bool fresh = false;
		if (!check_store(cfg->db, &so, &fresh, err, sizeof err)) {
			fprintf(stderr, "qingdand: %s\n", err);
			goto out_cfg;
		}
		if (fresh)
			printf("qingdand: configuration OK (no store in %s yet: qingdand will create an empty one)\n",
			       cfg->db);
		else
			printf("qingdand: configuration OK\n");
		status = 0;
		goto out_cfg;
	}
	pthread_rwlock_init(&srv.tokens_lock, NULL);
	snaps_init(&srv);
	metrics_init(&srv.m);

	if (mkdir(cfg->db, 0750) != 0 && errno != EEXIST) {
		fprintf(stderr, "qingdand: cannot create store directory %s: %s\n", cfg->db, strerror(errno));
		goto out_cfg;
	}
	if (qd_store_open(cfg->db, &so, &srv.store, err, sizeof err)) {
		fprintf(stderr, "qingdand: %s\n", err);
		goto out_cfg;
	}
	/* Signals are taken synchronously by the main thread with sigtimedwait();
	 * blocking them before the first thread is created (the log writers
	 * below, then libmicrohttpd's) means every thread inherits the mask:
	 * no handler ever runs inside libmicrohttpd or LMDB, and a SIGTERM or
	 * SIGHUP can never take a thread's default action and kill the process. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cfg->access_log && !(srv.access_log = logq_open(cfg->access_log, err, sizeof err))) {
		fprintf(stderr, "qingdand: access-log: %s\n", err);
		goto out_store;
	}
	if (cfg->decision_log && !(srv.decision_log = logq_open(cfg->decision_log, err, sizeof err))) {
		fprintf(stderr, "qingdand: decision-log: %s\n", err);
		goto out_store;
	}

	unsigned char rnd[4];
	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
		unsigned t = (unsigned)time(NULL) ^ (unsigned)getpid();
		memcpy(rnd, &t, sizeof rnd);
	}
	snprintf(srv.id_prefix, sizeof srv.id_prefix, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	srv.started = (int64_t)time(NULL);

	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (tls_cert)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls_opts[] = {
		{tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, tls_cert},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key},
		{MHD_OPTION_END, 0, NULL},
	};
	/* A pool of one thread is not a pool: libmicrohttpd ignores it with a
	 * warning, and runs its one internal thread either way. */
	struct MHD_OptionItem pool_opts[] = {
		{cfg->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)cfg->threads, NULL},
		{MHD_OPTION_END, 0, NULL},
	};
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, 0, NULL, NULL, qd_access_handler, &srv,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_ARRAY, pool_opts,
		MHD_OPTION_NOTIFY_COMPLETED, qd_request_completed, &srv,
		MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout,
		/* The per-connection pool holds the request line and headers; a
		 * request that does not fit is answered 431 by libmicrohttpd. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->max_header_bytes,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		MHD_OPTION_ARRAY, tls_opts,
		MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "qingdand: cannot listen on %s: %s\n", cfg->listen,
			errno ? strerror(errno) : "libmicrohttpd failed to start");
		status = 1;
		goto out_logs;
	}
	const union MHD_DaemonInfo *pi = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	fprintf(stderr, "qingdand %s: serving %s on %s://%s (port %u, %u threads, admin %s, reads %s)\n",
		QD_VERSION, cfg->db, tls_cert ? "https" : "http", cfg->listen, pi ? pi->port : 0, cfg->threads,
		srv.tokens_path ? "by token" : "disabled (no --tokens)", srv.read_auth ? "need a token" : "open");
	notify("READY=1");

	for (;;) {
		/* Once a second without a signal: housekeeping. */
		struct timespec tick = {1, 0};
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig < 0) {
			if (errno == EAGAIN)
				response_pool_trim();
			continue;
		}
		if (sig == SIGHUP) {
			notify("RELOADING=1");
			reload_tokens(&srv);
			logq_reopen(srv.access_log);
			logq_reopen(srv.decision_log);
			notify("READY=1");
			continue;
		}
		fprintf(stderr, "qingdand: %s: finishing in-flight requests\n", strsignal(sig));
		break;
	}
	notify("STOPPING=1");
	/* Stop accepting, then give in-flight requests a bounded time. */
	MHD_socket ls = MHD_quiesce_daemon(d);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	for (unsigned i = 0; i < cfg->shutdown_grace * 10; i++) {
		const union MHD_DaemonInfo *ci = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (!ci || ci->num_connections == 0)
			break;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(d);
	response_pool_free();
	status = 0;
	fprintf(stderr, "qingdand: stopped\n");
out_logs:
	logq_close(srv.access_log);
	logq_close(srv.decision_log);
out_store:
	snaps_fini(&srv);
	qd_store_close(srv.store);
	pthread_rwlock_destroy(&srv.tokens_lock);
	pthread_mutex_destroy(&srv.m.mu);
out_cfg:
	tokens_free(&srv.tokens);
	free(tls_cert);
	free(tls_key);
	settings_free(&srv.cfg);
	return status;
}
