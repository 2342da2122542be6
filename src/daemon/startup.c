/* qingdand — start-up steps shared by qingdand's main() and the request
 * fuzz target. */
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qingdan/xlsx.h"
#include "decisions.h"
#include "snaps.h"
#include "startup.h"

bool parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
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

char *read_pem(const char *path, char *err, size_t errlen)
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

bool check_key_mode(const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return false;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s %s is open to %s (mode %04o): chmod go-rwx %s", what, path,
			 (st.st_mode & S_IRWXG) && (st.st_mode & S_IRWXO) ? "group and others"
			 : st.st_mode & S_IRWXG                          ? "group"
									 : "others",
			 (unsigned)(st.st_mode & 07777), path);
		return false;
	}
	return true;
}

bool server_load_keys(server *srv, char *err, size_t errlen)
{
	const settings *cfg = &srv->cfg;
	if (cfg->signing_key) {
		if (!check_key_mode(cfg->signing_key, "signing-key: the signing key", err, errlen))
			return false;
		errno = 0;
		int rc = qd_key_load_private(cfg->signing_key, &srv->sign_key);
		if (rc == QD_EBADKEY) {
			snprintf(err, errlen,
				 "signing-key: %s holds no Ed25519 or SM2 private key in PEM (make one with "
				 "qingdanctl keygen)",
				 cfg->signing_key);
			return false;
		}
		if (rc) {
			snprintf(err, errlen, "signing-key: cannot read %s: %s", cfg->signing_key,
				 rc == QD_EKEYPERM ? qd_strerror(rc) : errno ? strerror(errno) : qd_strerror(rc));
			return false;
		}
	}
	if (cfg->verify_keys) {
		errno = 0;
		int rc = qd_keys_load_file(cfg->verify_keys, &srv->verify_keys, &srv->n_verify_keys);
		if (rc == QD_EBADKEY) {
			snprintf(err, errlen,
				 "verify-keys: %s must hold one or more Ed25519 or SM2 keys in PEM, and nothing "
				 "else between BEGIN and END lines",
				 cfg->verify_keys);
			return false;
		}
		if (rc) {
			snprintf(err, errlen, "verify-keys: cannot read %s: %s", cfg->verify_keys,
				 errno ? strerror(errno) : qd_strerror(rc));
			return false;
		}
	}
	return true;
}

void server_keys_free(server *srv)
{
	qd_key_free(srv->sign_key);
	srv->sign_key = NULL;
	for (size_t i = 0; i < srv->n_verify_keys; i++)
		qd_key_free(srv->verify_keys[i]);
	free(srv->verify_keys);
	srv->verify_keys = NULL;
	srv->n_verify_keys = 0;
}

typedef struct log_capture {
	char *buf;
	size_t len;
} log_capture;

/* Keep libmicrohttpd's first message, on one line. */
static void capture_log(void *cls, const char *fmt, va_list ap)
{
	log_capture *lc = cls;
	if (lc->buf[0])
		return;
	vsnprintf(lc->buf, lc->len, fmt, ap);
	size_t n = strlen(lc->buf);
	while (n && (lc->buf[n - 1] == '\n' || lc->buf[n - 1] == ' '))
		lc->buf[--n] = '\0';
}

bool check_tls(const char *tls_cert, const char *tls_key, const char *priorities, char *err, size_t errlen)
{
	char msg[384] = "";
	log_capture lc = {msg, sizeof msg};
	/* libmicrohttpd applies the priorities and loads the key pair when it
	 * starts; without a listening socket or thread that is all it does. */
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_TLS | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG, 0, NULL, NULL, qd_access_handler, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, capture_log, &lc,
		MHD_OPTION_HTTPS_PRIORITIES, priorities,
		MHD_OPTION_HTTPS_MEM_CERT, tls_cert,
		MHD_OPTION_HTTPS_MEM_KEY, tls_key,
		MHD_OPTION_END);
	if (d) {
		MHD_stop_daemon(d);
		return true;
	}
	snprintf(err, errlen, "tls-priorities, tls-cert, tls-key: the TLS set-up is refused: %s",
		 msg[0] ? msg : "libmicrohttpd gave no reason");
	return false;
}

bool check_store(const char *db, const qd_store_opts *opts, bool *fresh, char *err, size_t errlen)
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

/* The feed's signer: the daemon's signing key. */
static int feed_sign(void *ctx, const void *msg, size_t len, qd_buf *out)
{
	return qd_sign(ctx, msg, len, out);
}

void server_init(server *srv, qd_store *store)
{
	srv->tokens_path = srv->cfg.tokens;
	srv->read_auth = srv->cfg.read_auth;
	srv->metrics_open = srv->cfg.metrics_open;
	srv->utc_offset = srv->cfg.utc_offset;
	pthread_rwlock_init(&srv->tokens_lock, NULL);
	metrics_route labels[METRICS_ROUTES_MAX];
	metrics_init(&srv->m, labels, route_labels(labels, METRICS_ROUTES_MAX));
	srv->store = store;
	/* Every version committed from now on gets a signed feed record. */
	if (srv->sign_key) {
		qd_feed_signer fs = {.sign = feed_sign, .ctx = srv->sign_key, .alg = qd_key_alg(srv->sign_key),
				     .kid = qd_key_kid(srv->sign_key)};
		qd_store_set_signer(store, &fs);
	}
	snaps_init(&srv->snaps, store, srv->cfg.read_cache);
	decisions_init(srv);
	const settings *cfg = &srv->cfg;
	conns_init(&srv->conns, cfg->header_timeout, cfg->connection_timeout, cfg->body_timeout, cfg->min_body_rate,
		   cfg->max_connections, cfg->reserve_connections, cfg->max_connections_per_ip,
		   cfg->max_bodies_in_flight, server_listeners(cfg));
	qd_xlsx_init();
	srv->started = (int64_t)time(NULL);
}

void server_fini(server *srv)
{
	snaps_fini(&srv->snaps);
	conns_fini(&srv->conns);
	qd_store_close(srv->store);
	srv->store = NULL;
	pthread_rwlock_destroy(&srv->tokens_lock);
	metrics_fini(&srv->m);
}

/* A listening socket on sa with SO_REUSEPORT, so that each worker thread
 * has one of its own on the same address and the kernel spreads new
 * connections over them; port overrides sa's (0: sa's own).  Returns the
 * socket, or -1 with errno set. */
static int reuseport_socket(const struct sockaddr *sa, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	memcpy(&ss, sa, len);
	if (port && ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	else if (port)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int on = 1;
	/* As libmicrohttpd sets up its own: an IPv6 address is IPv6 only. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) ||
	    bind(fd, (const struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Whether sa's port is free to listen on: a socket bound there without
 * SO_REUSEPORT fails with EADDRINUSE while any other socket listens on it,
 * even one that allows sharing.  The listeners set SO_REUSEPORT (their own,
 * and libmicrohttpd's with address reuse), which a second qingdand of the
 * same user would otherwise join silently, taking half the connections to
 * another store.  Port 0 (any free port) is always free.  Returns false
 * with errno set when the port is taken or the probe cannot be made. */
static bool port_free(const struct sockaddr *sa)
{
	socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	uint16_t port = sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
						 : ((const struct sockaddr_in *)sa)->sin_port;
	if (!port)
		return true;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	int on = 1;
	/* SO_REUSEADDR lets the probe past connections of a stopped daemon
	 * in TIME_WAIT, never past a socket that listens. */
	bool ok = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
		  (sa->sa_family != AF_INET6 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) == 0) &&
		  bind(fd, sa, len) == 0;
	int e = errno;
	close(fd);
	errno = e;
	return ok;
}

/* The bound port of a listening socket; 0 when it cannot be read. */
static uint16_t socket_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

/* One libmicrohttpd daemon: on fd (one worker thread) when fd >= 0, else
 * binding sa itself with a pool of pool threads sharing its socket.
 *   share       its share of the connections (and of --max-connections) */
static struct MHD_Daemon *start_one(server *srv, const struct sockaddr *sa, int fd, unsigned pool,
				    conns_share *share, const char *tls_cert, const char *tls_key,
				    MHD_LogCallback log, void *log_cls)
{
	const settings *cfg = &srv->cfg;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (tls_cert)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls_opts[] = {
		{tls_cert ? MHD_OPTION_HTTPS_PRIORITIES : MHD_OPTION_END, 0, cfg->tls_priorities},
		{MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)tls_cert},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)tls_key},
		{MHD_OPTION_END, 0, NULL},
	};
	/* A pool of one thread is not a pool: libmicrohttpd ignores it with a
	 * warning, and runs its one internal thread either way. */
	struct MHD_OptionItem pool_opts[] = {
		{pool > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)pool, NULL},
		{MHD_OPTION_END, 0, NULL},
	};
	/* libmicrohttpd calls the logger it is given unchecked: without one,
	 * the option is left out so its own stays.  It goes first: options
	 * before it would log through libmicrohttpd's own. */
	struct MHD_OptionItem log_opts[] = {
		{log ? MHD_OPTION_EXTERNAL_LOGGER : MHD_OPTION_END, (intptr_t)log, log_cls},
		{MHD_OPTION_END, 0, NULL},
	};
	return MHD_start_daemon(
		flags, 0, NULL, NULL, qd_access_handler, srv,
		MHD_OPTION_ARRAY, log_opts,
		/* A socket given (fd >= 0) is used as it is; sa and the reuse
		 * of the address are for the one libmicrohttpd binds itself. */
		MHD_OPTION_SOCK_ADDR, sa,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		MHD_OPTION_ARRAY, pool_opts,
		MHD_OPTION_NOTIFY_COMPLETED, qd_request_completed, srv,
		/* Deadlines for heads and bodies (conn.h): the timeout below
		 * only closes connections that send nothing at all. */
		MHD_OPTION_NOTIFY_CONNECTION, conns_notify, share,
		MHD_OPTION_URI_LOG_CALLBACK, qd_uri_logged, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, qd_unescape, NULL,
		MHD_OPTION_CONNECTION_LIMIT, share->max,
		/* Per daemon; conns_notify() holds every address to it over all
		 * the daemons together. */
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout,
		/* The per-connection pool holds the request line and headers; a
		 * request that does not fit is answered 431 by libmicrohttpd. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->max_header_bytes,
		MHD_OPTION_ARRAY, tls_opts,
		MHD_OPTION_END);
}

unsigned server_listeners(const settings *cfg)
{
	return cfg->listen_per_thread && cfg->threads > 1 ? cfg->threads : 1;
}

bool server_listen(server *srv, const struct sockaddr *sa, const char *tls_cert, const char *tls_key,
		   MHD_LogCallback log, void *log_cls, listeners *out)
{
	const settings *cfg = &srv->cfg;
	unsigned n = srv->conns.n_shares;
	*out = (listeners){NULL, NULL, 0, 0};
	if (!port_free(sa))
		return false;
	*out = (listeners){calloc(n, sizeof *out->d), malloc(n * sizeof *out->quiesced), 0, 0};
	if (!out->d || !out->quiesced) {
		free(out->d);
		free(out->quiesced);
		*out = (listeners){NULL, NULL, 0, 0};
		errno = ENOMEM;
		return false;
	}
	for (unsigned i = 0; i < n; i++)
		out->quiesced[i] = MHD_INVALID_SOCKET;
	if (n == 1) {
		out->d[0] = start_one(srv, sa, -1, cfg->threads, &srv->conns.shares[0], tls_cert, tls_key, log, log_cls);
		if (!out->d[0]) {
			int e = errno;
			listeners_stop(out);
			errno = e;
			return false;
		}
		out->n = 1;
		const union MHD_DaemonInfo *pi = MHD_get_daemon_info(out->d[0], MHD_DAEMON_INFO_BIND_PORT);
		out->port = pi ? pi->port : 0;
		return true;
	}
	/* --max-connections shared out (conns_init()) as libmicrohttpd's own
	 * pool does: the remainder one each to the first daemons. */
	for (unsigned i = 0; i < n; i++) {
		conns_share *share = &srv->conns.shares[i];
		int fd = reuseport_socket(sa, out->port);
		struct MHD_Daemon *d = fd < 0 || share->max == 0
					       ? NULL
					       : start_one(srv, sa, fd, 1, share, tls_cert, tls_key, log, log_cls);
		if (!d) {
			int e = fd >= 0 && share->max == 0 ? EINVAL : errno;
			if (fd >= 0)
				close(fd);
			listeners_stop(out);
			errno = e;
			return false;
		}
		if (!out->port)
			out->port = socket_port(fd);
		out->d[out->n++] = d;
	}
	return true;
}

/* The socket MHD_quiesce_daemon() hands back is still in the daemon's
 * epoll set until its thread takes it out, a moment later: closed at once,
 * that thread's epoll_ctl() fails and libmicrohttpd aborts the process
 * ("Failed to remove listen FD from epoll set").  So it is only shut
 * down now (it stops listening: a new connection is refused at once, and
 * one waiting in its backlog is reset, as a balancer expects of a server
 * going away) and closed once the daemon has stopped (which leaves a
 * quiesced daemon's socket alone). */
void listeners_quiesce(listeners *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->quiesced[i] == MHD_INVALID_SOCKET) {
			l->quiesced[i] = MHD_quiesce_daemon(l->d[i]);
			if (l->quiesced[i] != MHD_INVALID_SOCKET)
				shutdown(l->quiesced[i], SHUT_RDWR);
		}
}

unsigned listeners_connections(const listeners *l)
{
	unsigned sum = 0;
	for (unsigned i = 0; i < l->n; i++) {
		const union MHD_DaemonInfo *ci = MHD_get_daemon_info(l->d[i], MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		sum += ci ? ci->num_connections : 0;
	}
	return sum;
}

void listeners_stop(listeners *l)
{
	for (unsigned i = 0; i < l->n; i++) {
		MHD_stop_daemon(l->d[i]);
		if (l->quiesced[i] != MHD_INVALID_SOCKET)
			close(l->quiesced[i]);
	}
	free(l->d);
	free(l->quiesced);
	*l = (listeners){NULL, NULL, 0, 0};
}
