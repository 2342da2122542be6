/* qingdand — the qingdan registry daemon: start-up, signals, shutdown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qd_config.h"
#include "config.h"
#include "qingdand.h"
#include "respond.h"
#include "startup.h"
#include "workers.h"

#ifdef QD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* What start-up reads before the store is opened, and frees at exit. */
typedef struct startup {
	bool check_only;                 /* --check-config */
	struct sockaddr_storage listen;  /* --listen, parsed */
	socklen_t listen_len;
	char *tls_cert, *tls_key;        /* PEM text, malloc()ed; NULL without --tls-cert */
	qd_store_opts store_opts;
} startup;

static void notify(const char *state)
{
#ifdef QD_HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

/* Fill the settings from the command line and --config.  Returns -1 to go
 * on, or the exit status when there is nothing more to do (--help,
 * --version, a bad option). */
static int parse_settings(server *srv, startup *su, int argc, char **argv)
{
	settings_default(&srv->cfg);
	int pr = settings_parse(&srv->cfg, argc, argv, &su->check_only);
	if (pr)
		return pr > 0 ? 0 : 2;
	const settings *cfg = &srv->cfg;
	qd_store_opts_default(&su->store_opts);
	su->store_opts.retain = cfg->retain;
	su->store_opts.map_size = cfg->map_size;
	su->store_opts.max_readers = cfg->threads + 126;
	return -1;
}

/* Read what the settings name besides the store: the listening address,
 * the tokens file, the signing and verification keys and the TLS key pair.  Returns false after a message. */
static bool read_settings_files(server *srv, startup *su)
{
	const settings *cfg = &srv->cfg;
	char err[512];
	if (!parse_listen(cfg->listen, &su->listen, &su->listen_len)) {
		fprintf(stderr, "qingdand: listen: expected ADDR:PORT with a numeric address, got \"%s\"\n", cfg->listen);
		return false;
	}
	if (cfg->tokens && tokens_load(cfg->tokens, &srv->tokens, err, sizeof err)) {
		fprintf(stderr, "qingdand: %s\n", err);
		return false;
	}
	if (!server_load_keys(srv, err, sizeof err)) {
		fprintf(stderr, "qingdand: %s\n", err);
		return false;
	}
	if (cfg->tls_cert) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			fprintf(stderr, "qingdand: this libmicrohttpd has no TLS support; use the nginx front instead\n");
			return false;
		}
		if (!check_key_mode(cfg->tls_key, "TLS key", err, sizeof err) ||
		    !(su->tls_cert = read_pem(cfg->tls_cert, err, sizeof err)) ||
		    !(su->tls_key = read_pem(cfg->tls_key, err, sizeof err)) ||
		    !check_tls(su->tls_cert, su->tls_key, cfg->tls_priorities, err, sizeof err)) {
			fprintf(stderr, "qingdand: %s\n", err);
			return false;
		}
	}
	return true;
}

/* --check-config, once the settings and their files were read: the store.
 * Returns the exit status. */
static int check_config(const settings *cfg, const startup *su)
{
	char err[512];
	bool fresh = false;
	if (!check_store(cfg->db, &su->store_opts, &fresh, err, sizeof err)) {
		fprintf(stderr, "qingdand: %s\n", err);
		return 2;
	}
	if (fresh)
		printf("qingdand: configuration OK (no store in %s yet: qingdand will create an empty one)\n",
		       cfg->db);
	else
		printf("qingdand: configuration OK\n");
	return 0;
}

/* Open the store, making its directory (not its parents) when missing.
 * Returns the store, or NULL after a message. */
static qd_store *open_store(const settings *cfg, const startup *su)
{
	char err[512];
	qd_store *store;
	if (mkdir(cfg->db, 0750) != 0 && errno != EEXIST) {
		fprintf(stderr, "qingdand: cannot create store directory %s: %s\n", cfg->db, strerror(errno));
		return NULL;
	}
	if (qd_store_open(cfg->db, &su->store_opts, &store, err, sizeof err)) {
		fprintf(stderr, "qingdand: %s\n", err);
		return NULL;
	}
	return store;
}

/* Signals are taken synchronously by the main thread with sigtimedwait();
 * blocking them before the first thread is created (the log writers, then
 * libmicrohttpd's) means every thread inherits the mask: no handler ever
 * runs inside libmicrohttpd or LMDB, and a SIGTERM or SIGHUP can never take
 * a thread's default action and kill the process. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Open the access and decision logs the settings ask for; false after a
 * message (logs already open stay for the caller to close). */
static bool start_logs(server *srv)
{
	const settings *cfg = &srv->cfg;
	char err[512];
	if (cfg->access_log && !(srv->access_log = logq_open(cfg->access_log, LOGQ_BEST_EFFORT, 0, err, sizeof err))) {
		fprintf(stderr, "qingdand: access-log: %s\n", err);
		return false;
	}
	if (cfg->decision_log &&
	    !(srv->decision_log = logq_open(cfg->decision_log, cfg->decision_log_lossless ? LOGQ_LOSSLESS : LOGQ_BEST_EFFORT,
					    cfg->decision_log_wait, err, sizeof err))) {
		fprintf(stderr, "qingdand: decision-log: %s\n", err);
		return false;
	}
	return true;
}

/* Start serving and say so; false after a message. */
static bool start_http(server *srv, const startup *su, listeners *l)
{
	const settings *cfg = &srv->cfg;
	errno = 0;
	if (!server_listen(srv, (const struct sockaddr *)&su->listen, su->tls_cert, su->tls_key, NULL, NULL, l)) {
		fprintf(stderr, "qingdand: cannot listen on %s: %s\n", cfg->listen,
			errno ? strerror(errno) : "libmicrohttpd failed to start");
		return false;
	}
	fprintf(stderr, "qingdand %s: serving %s on %s://%s (port %u, %u threads, %u listening %s, admin %s, reads %s)\n",
		QD_VERSION, cfg->db, su->tls_cert ? "https" : "http", cfg->listen, l->port, cfg->threads, l->n,
		l->n == 1 ? "socket" : "sockets",
		srv->tokens_path ? "by token" : "disabled (no --tokens)", srv->read_auth ? "need a token" : "open");
	if (srv->sign_key)
		fprintf(stderr, "qingdand: receipts and feed records are signed with the %s key %s (%zu retired keys)\n",
			qd_key_alg(srv->sign_key), qd_key_kid(srv->sign_key), srv->n_verify_keys);
	notify("READY=1");
	return true;
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

/* Serve until SIGINT or SIGTERM: SIGHUP reloads the tokens and reopens the
 * logs, and a second without a signal trims the response pool. */
static void wait_for_signals(server *srv, const sigset_t *set)
{
	for (;;) {
		struct timespec tick = {1, 0};
		int sig = sigtimedwait(set, NULL, &tick);
		if (sig < 0) {
			if (errno == EAGAIN)
				response_pool_trim();
			continue;
		}
		if (sig == SIGHUP) {
			notify("RELOADING=1");
			reload_tokens(srv);
			logq_reopen(srv->access_log);
			logq_reopen(srv->decision_log);
			notify("READY=1");
			continue;
		}
		fprintf(stderr, "qingdand: %s: finishing in-flight requests\n", strsignal(sig));
		return;
	}
}

/* Stop accepting, then give in-flight requests a bounded time; a job
 * still running then (a load) is waited for: it commits whole or not at
 * all, and its connection must be handed back before libmicrohttpd
 * stops. */
static void stop_http(server *srv, listeners *l, unsigned grace_s)
{
	notify("STOPPING=1");
	listeners_quiesce(l);
	workers_drain(srv);
	for (unsigned i = 0; i < grace_s * 10; i++) {
		if (listeners_connections(l) == 0)
			break;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	workers_stop_jobs(srv);
	listeners_stop(l);
	workers_stop_audit(srv);
	response_pool_free();
	fprintf(stderr, "qingdand: stopped\n");
}

int main(int argc, char **argv)
{
	server srv;
	startup su;
	memset(&srv, 0, sizeof srv);
	memset(&su, 0, sizeof su);
	int status = parse_settings(&srv, &su, argc, argv);
	if (status >= 0)
		goto out_cfg;
	status = 2;
	if (!read_settings_files(&srv, &su))
		goto out_cfg;
	if (su.check_only) {
		status = check_config(&srv.cfg, &su);
		goto out_cfg;
	}
	qd_store *store = open_store(&srv.cfg, &su);
	if (!store)
		goto out_cfg;
	server_init(&srv, store);
	sigset_t set;
	block_signals(&set);
	if (!start_logs(&srv))
		goto out_logs;
	if (!workers_start(&srv)) {
		status = 1;
		goto out_logs;
	}
	/* Running until libmicrohttpd is stopped: connections keep their
	 * deadlines through the shutdown grace. */
	int err = conns_start(&srv.conns);
	if (err) {
		fprintf(stderr, "qingdand: cannot start the connection sweeper: %s\n", strerror(err));
		status = 1;
		workers_stop_jobs(&srv);
		workers_stop_audit(&srv);
		goto out_logs;
	}
	listeners l;
	if (!start_http(&srv, &su, &l)) {
		status = 1;
		workers_stop_jobs(&srv);
		workers_stop_audit(&srv);
		goto out_sweeper;
	}
	wait_for_signals(&srv, &set);
	stop_http(&srv, &l, srv.cfg.shutdown_grace);
	status = 0;
out_sweeper:
	conns_stop(&srv.conns);
out_logs:
	logq_close(srv.access_log);
	logq_close(srv.decision_log);
	server_fini(&srv);
out_cfg:
	server_keys_free(&srv);
	tokens_free(&srv.tokens);
	free(su.tls_cert);
	free(su.tls_key);
	settings_free(&srv.cfg);
	return status;
}
