/* qingdand — start-up steps shared by qingdand's main() and the request
 * fuzz target: reading what the settings name, setting up the server and
 * starting libmicrohttpd with qingdand's options. */
#ifndef QINGDAND_STARTUP_H
#define QINGDAND_STARTUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "qingdand.h"

/* Parse "ADDR:PORT" or "[V6ADDR]:PORT" (numeric address and port) into a
 * socket address.
 *   ss, len  the address and its length, set on success
 * Returns true, or false when s is not of that form. */
bool parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* Read a PEM file (at most 1 MiB).
 * Returns its text, malloc()ed and NUL-terminated (the caller frees it), or
 * NULL with an English message in err. */
char *read_pem(const char *path, char *err, size_t errlen);

/* Is the key at path private to its owner?  A key that group or others
 * may read, write or run is refused.
 *   what  the key's name in the message ("TLS key", "signing key")
 * Returns true, or false with an English message in err naming the mode
 * and the chmod that fixes it. */
bool check_key_mode(const char *path, const char *what, char *err, size_t errlen);

/* Load --signing-key and --verify-keys into srv->sign_key and
 * srv->verify_keys (each left NULL when its option is not set).
 * Returns true, or false with an English message in err naming the option
 * and the file; what was loaded stays for server_keys_free(). */
bool server_load_keys(server *srv, char *err, size_t errlen);

/* Free the keys server_load_keys() loaded. */
void server_keys_free(server *srv);

/* Try the built-in TLS set-up without listening: the GnuTLS priority
 * string and the key pair, as libmicrohttpd will use them.
 *   tls_cert, tls_key  PEM text (borrowed)
 *   priorities         GnuTLS priority string (borrowed)
 * Returns true, or false with an English message in err that carries
 * libmicrohttpd's reason. */
bool check_tls(const char *tls_cert, const char *tls_key, const char *priorities, char *err, size_t errlen);

/* --check-config's look at the store in db, changing nothing: an existing
 * store must open (read-only, with opts otherwise); where there is none
 * yet, qingdand must be able to make it — its directory writable, or
 * creatable in a writable parent.
 *   fresh  set when there is no store yet
 * Returns true, or false with an English message in err. */
bool check_store(const char *db, const qd_store_opts *opts, bool *fresh, char *err, size_t errlen);

/* Set up srv around an open store, before the first request: copies what
 * the request path reads from srv->cfg (tokens path, --read-auth,
 * --metrics-auth, UTC offset), the tokens lock, the metrics with the route table's labels, the
 * read snapshot registry, the decision id prefix and the start time.
 * srv->cfg must be filled and srv->tokens loaded (or empty) already.
 *   store  taken over: server_fini() closes it */
void server_init(server *srv, qd_store *store);

/* Undo server_init() and close the store; after libmicrohttpd has stopped. */
void server_fini(server *srv);

/* The libmicrohttpd daemons qingdand serves with: with
 * --listen-per-thread yes and more than one thread, one per worker thread,
 * each with its own listening socket on the address (SO_REUSEPORT), so the
 * kernel spreads new connections evenly; else one daemon whose pool of
 * --threads threads shares one socket. */
typedef struct listeners {
	struct MHD_Daemon **d;
	MHD_socket *quiesced;        /* per daemon: its listening socket once quiesced, closed after it stops */
	unsigned n;
	uint16_t port;               /* the bound port (the one asked, or the kernel's for 0) */
} listeners;

/* How many libmicrohttpd daemons server_listen() starts for cfg. */
unsigned server_listeners(const settings *cfg);

/* Start libmicrohttpd on sa with qingdand's options and limits from
 * srv->cfg (threads and listening sockets, connection limits — shared out
 * among the daemons —, timeout, header memory, TLS priorities),
 * dispatching to qd_access_handler() with srv.
 *   tls_cert, tls_key  PEM text (borrowed, kept until the daemons stop);
 *                      NULL: plain HTTP
 *   log, log_cls       libmicrohttpd's error logger; NULL: its own (stderr)
 *   out                the running daemons (stop with listeners_stop())
 * Returns true, or false with nothing running and errno set where the
 * socket calls or libmicrohttpd set it. */
bool server_listen(server *srv, const struct sockaddr *sa, const char *tls_cert, const char *tls_key,
		   MHD_LogCallback log, void *log_cls, listeners *out);
/* Stop accepting: every daemon's listening socket shut down (closed by
 * listeners_stop()). */
void listeners_quiesce(listeners *l);
/* Open connections over every daemon. */
unsigned listeners_connections(const listeners *l);
/* Stop every daemon (MHD_stop_daemon()) and free l's array. */
void listeners_stop(listeners *l);

#endif
