/* qingdand — connection deadlines and the budget of request bodies in
 * flight.
 *
 * libmicrohttpd's own timeout (--connection-timeout) only closes a
 * connection that has been idle: one header line every few seconds, or a
 * body dripping a byte at a time, keeps a connection and its slot for
 * ever.  Here every connection is tracked from accept to close (through
 * MHD_OPTION_NOTIFY_CONNECTION) with the phase of its current request,
 * and a sweeper thread shuts down those that miss a deadline:
 *   - head: the request line and headers complete within --header-timeout
 *     of the accept; on a keep-alive connection, the next request's within
 *     --connection-timeout (or --header-timeout, if longer) of the end of
 *     the previous one, so that an idle connection lasts as long as it
 *     always has (a proxy keeps its idle upstream connections for less)
 *     but a drip cannot make it last longer;
 *   - body: after --body-timeout seconds, a body must have averaged at
 *     least --min-body-rate bytes a second since its head was complete; a
 *     drip cannot last longer than its bytes pay for;
 *   - reserve: when fewer than --reserve-connections slots of
 *     --max-connections are free, connections whose request is not in
 *     (heads first, then bodies; the longest waiting first) are shut down
 *     until they are, so that a new client is accepted and answered.  With
 *     a listening socket per thread each socket's daemon holds its own
 *     share of the connections (a new connection waits for a slot of the
 *     socket the kernel gave it to), so the reserve is kept per share.
 * The sweeper only calls shutdown(2); libmicrohttpd then sees the end of
 * the stream, finishes the request (the completion callback runs) and
 * closes the connection itself.
 *
 * The budget counts the bytes of memory that request bodies hold across
 * all connections (their buffers, doubling included); http.c charges it
 * before a body's buffer grows and releases it when the request ends. */
#ifndef QD_CONN_H
#define QD_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

/* The most libmicrohttpd daemons the connections are shared among: one a
 * thread at most (--threads is 1–256). */
#define QD_CONNS_SHARES_MAX 256

/* Milliseconds between two sweeps: how late a deadline may be enforced. */
#define QD_SWEEP_MS 500

/* One open connection; hangs off libmicrohttpd's socket context. */
typedef struct conn conn;
typedef struct conns conns;

/* One libmicrohttpd daemon's part of the connections: the cls of its
 * MHD_OPTION_NOTIFY_CONNECTION. */
typedef struct conns_share {
	conns *cs;
	unsigned max, reserve;       /* its connection limit and reserve; fixed */
	unsigned n, doomed;          /* open and shut down of them, under cs->lock */
} conns_share;

struct conns {
	/* Guards the list, n, doomed and every conn's links and fd.  Held by
	 * the CLOSED notification, which libmicrohttpd sends before it closes
	 * the socket: while the sweeper holds it, every fd in the list is
	 * still that connection's, never a reused descriptor. */
	pthread_mutex_t lock;
	pthread_cond_t wake;         /* signalled (under lock) to stop the sweeper */
	conn *head, *tail;           /* open connections, in the order accepted */
	unsigned n;                  /* in the list */
	conns_share shares[QD_CONNS_SHARES_MAX]; /* one per libmicrohttpd daemon */
	unsigned n_shares;
	unsigned doomed;             /* of them, shut down and not yet closed */
	bool sweeping;               /* the sweeper thread runs */
	bool stop;                   /* asks it to end */
	pthread_t sweeper;
	/* Rules, in milliseconds and bytes; fixed after conns_init(). */
	uint64_t header_ms;          /* first head, from the accept */
	uint64_t next_ms;            /* a keep-alive connection's next head, from the last answer */
	uint64_t body_grace_ms;
	uint64_t min_body_rate;      /* bytes a second; 0: no body deadline */
	unsigned max_connections, reserve;
	/* Open connections one client address may hold, over every
	 * listening socket (libmicrohttpd counts per daemon); 0: no limit. */
	unsigned per_ip;
	size_t body_budget;
	atomic_size_t body_bytes;    /* charged by bodies in flight, <= body_budget */
	/* Connections shut down, by reason (for the tests and the log). */
	atomic_ulong closed_head, closed_body, closed_reserve, closed_per_ip;
};

/* Set up the tracking and the budget (the sweeper is not started).
 *   header_s       --header-timeout
 *   idle_s         --connection-timeout
 *   body_grace_s   --body-timeout
 *   min_body_rate  --min-body-rate (0: bodies have no deadline)
 *   max_connections, reserve  --max-connections, --reserve-connections
 *                  (reserve is cut to half of max_connections)
 *   per_ip         --max-connections-per-ip: a connection beyond it is shut
 *                  down as it starts (0: no limit)
 *   body_budget    --max-bodies-in-flight
 *   shares         libmicrohttpd daemons the connections are shared out
 *                  among (1 to QD_CONNS_SHARES_MAX), max_connections and
 *                  reserve split as evenly as they go: the first ones get
 *                  the remainders */
void conns_init(conns *cs, unsigned header_s, unsigned idle_s, unsigned body_grace_s, size_t min_body_rate,
		unsigned max_connections, unsigned reserve, unsigned per_ip, size_t body_budget, unsigned shares);
/* Free what is left; the sweeper must be stopped and libmicrohttpd gone. */
void conns_fini(conns *cs);

/* Start the sweeper thread.  Returns 0, or an errno value. */
int conns_start(conns *cs);
/* Stop it and wait for it; nothing when it is not running. */
void conns_stop(conns *cs);

/* Look at every connection once: what the sweeper does each QD_SWEEP_MS.
 * now_ms is CLOCK_MONOTONIC milliseconds (conns_now_ms()). */
void conns_sweep(conns *cs, uint64_t now_ms);
uint64_t conns_now_ms(void);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback, cls being the
 * daemon's conns_share: tracks the connection from STARTED to CLOSED in
 * *socket_context. */
void conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		  enum MHD_ConnectionNotificationCode code);

/* The tracking of connection c; NULL when libmicrohttpd runs without
 * conns_notify (the functions below then do nothing). */
conn *conn_of(struct MHD_Connection *c);
/* c's request head is complete: its body (if any) starts now. */
void conn_head_done(conn *k);
/* n more body bytes arrived. */
void conn_body_progress(conn *k, size_t n);
/* The whole request is in: no deadline while it is answered. */
void conn_request_in(conn *k);
/* The request is answered: on a keep-alive connection the next one's head
 * is due. */
void conn_request_done(conn *k);

/* Charge n bytes of body memory.  Returns false, charging nothing, when
 * the budget cannot hold them. */
bool conns_body_charge(conns *cs, size_t n);
/* Give back n bytes charged before. */
void conns_body_release(conns *cs, size_t n);
/* Bytes charged now. */
size_t conns_body_in_flight(conns *cs);

#endif
