/* qingdand — connection deadlines and the budget of request bodies in
 * flight (see conn.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "conn.h"
#include "logq.h"

/* In shed order: a connection waiting for its first head, one kept alive
 * waiting for its next, one receiving a body; one being answered is never
 * shed. */
enum phase { PHASE_HEAD, PHASE_NEXT, PHASE_BODY, PHASE_BUSY };

struct conn {
	conn *prev, *next;           /* in conns' list, under its lock */
	conns_share *share;          /* the daemon's share it counts in */
	int fd;                      /* open until the CLOSED notification returns */
	bool doomed;                 /* shut down already, under the lock */
	unsigned char addr[17];      /* the client's address: family, then its bytes (zero-padded) */
	/* Written by the connection's worker thread without the lock, read by
	 * the sweeper: the phase in the low 2 bits, the monotonic millisecond
	 * it began above them, in one word so that both are seen together. */
	_Atomic uint64_t state;
	atomic_uint_fast64_t body_bytes; /* received in PHASE_BODY */
};

uint64_t conns_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void set_phase(conn *k, enum phase p)
{
	atomic_store(&k->state, conns_now_ms() << 2 | (uint64_t)p);
}

void conns_init(conns *cs, unsigned header_s, unsigned idle_s, unsigned body_grace_s, size_t min_body_rate,
		unsigned max_connections, unsigned reserve, unsigned per_ip, size_t body_budget, unsigned shares)
{
	shares = shares < 1 ? 1 : shares > QD_CONNS_SHARES_MAX ? QD_CONNS_SHARES_MAX : shares;
	cs->n_shares = shares;
	pthread_mutex_init(&cs->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cs->wake, &ca);
	pthread_condattr_destroy(&ca);
	cs->head = cs->tail = NULL;
	cs->n = cs->doomed = 0;
	cs->sweeping = cs->stop = false;
	cs->header_ms = (uint64_t)header_s * 1000u;
	cs->next_ms = (uint64_t)(idle_s > header_s ? idle_s : header_s) * 1000u;
	cs->body_grace_ms = (uint64_t)body_grace_s * 1000u;
	cs->min_body_rate = min_body_rate;
	cs->max_connections = max_connections;
	/* A reserve of more than half would shed clients for nothing but
	 * being slow to arrive. */
	cs->reserve = reserve < max_connections / 2 ? reserve : max_connections / 2;
	for (unsigned i = 0; i < shares; i++) {
		conns_share *sh = &cs->shares[i];
		*sh = (conns_share){.cs = cs};
		sh->max = max_connections / shares + (i < max_connections % shares);
		sh->reserve = cs->reserve / shares + (i < cs->reserve % shares);
	}
	cs->per_ip = per_ip;
	cs->body_budget = body_budget;
	atomic_init(&cs->body_bytes, 0);
	atomic_init(&cs->closed_head, 0);
	atomic_init(&cs->closed_body, 0);
	atomic_init(&cs->closed_reserve, 0);
	atomic_init(&cs->closed_per_ip, 0);
}

void conns_fini(conns *cs)
{
	for (conn *k = cs->head, *next; k; k = next) {
		next = k->next;
		free(k);
	}
	cs->head = cs->tail = NULL;
	cs->n = 0;
	cs->n_shares = 0;
	pthread_cond_destroy(&cs->wake);
	pthread_mutex_destroy(&cs->lock);
}

/* The client address of c as a key: the family, then the address bytes
 * (the port left out, as libmicrohttpd's per-address limit does). */
static void addr_key(struct MHD_Connection *c, unsigned char key[17])
{
	memset(key, 0, 17);
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	}
}

static void doom(conns *cs, conn *k);

/* Whether k's address already holds the most connections it may (under
 * the lock, k not yet listed).  Only counted when there are more open
 * connections than the limit: below it no address can be over. */
static bool over_per_ip(const conns *cs, const conn *k)
{
	if (!cs->per_ip || !k->addr[0] || cs->n - cs->doomed < cs->per_ip)
		return false;
	unsigned same = 0;
	for (const conn *o = cs->head; o; o = o->next)
		if (!o->doomed && memcmp(o->addr, k->addr, sizeof k->addr) == 0 && ++same >= cs->per_ip)
			return true;
	return false;
}

void conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		  enum MHD_ConnectionNotificationCode code)
{
	conns_share *sh = cls;
	conns *cs = sh->cs;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		/* On cache lines of its own: its worker thread writes the
		 * phase a few times a request, and two connections of two
		 * threads must not share a line. */
		size_t size = (sizeof(conn) + 63) / 64 * 64;
		conn *k = aligned_alloc(64, size);
		if (k)
			memset(k, 0, size);
		/* Untracked, the connection only has libmicrohttpd's idle
		 * timeout: out of memory is no reason to refuse it. */
		if (!k || !ci) {
			free(k);
			*socket_context = NULL;
			return;
		}
		k->fd = ci->connect_fd;
		k->share = sh;
		addr_key(c, k->addr);
		set_phase(k, PHASE_HEAD);
		pthread_mutex_lock(&cs->lock);
		bool over = over_per_ip(cs, k);
		k->prev = cs->tail;
		if (cs->tail)
			cs->tail->next = k;
		else
			cs->head = k;
		cs->tail = k;
		cs->n++;
		sh->n++;
		if (over) {
			doom(cs, k);
			atomic_fetch_add(&cs->closed_per_ip, 1);
		}
		pthread_mutex_unlock(&cs->lock);
		*socket_context = k;
		return;
	}
	conn *k = *socket_context;
	if (!k)
		return;
	pthread_mutex_lock(&cs->lock);
	if (k->prev)
		k->prev->next = k->next;
	else
		cs->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		cs->tail = k->prev;
	cs->n--;
	k->share->n--;
	if (k->doomed) {
		cs->doomed--;
		k->share->doomed--;
	}
	pthread_mutex_unlock(&cs->lock);
	free(k);
	*socket_context = NULL;
}

conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void conn_head_done(conn *k)
{
	if (!k)
		return;
	atomic_store_explicit(&k->body_bytes, 0, memory_order_relaxed);
	set_phase(k, PHASE_BODY);
}

void conn_body_progress(conn *k, size_t n)
{
	if (k)
		atomic_fetch_add_explicit(&k->body_bytes, n, memory_order_relaxed);
}

void conn_request_in(conn *k)
{
	if (k)
		set_phase(k, PHASE_BUSY);
}

void conn_request_done(conn *k)
{
	if (k)
		set_phase(k, PHASE_NEXT);
}

/* Shut k down (under the lock): libmicrohttpd reads the end of the stream
 * and closes the connection. */
static void doom(conns *cs, conn *k)
{
	shutdown(k->fd, SHUT_RDWR);
	k->doomed = true;
	cs->doomed++;
	k->share->doomed++;
}

/* Whether k has missed its head or body deadline at now. */
static bool late(const conns *cs, conn *k, uint64_t now, bool *head)
{
	uint64_t st = atomic_load(&k->state);
	uint64_t since = st >> 2, age = now > since ? now - since : 0;
	*head = (st & 3) == PHASE_HEAD || (st & 3) == PHASE_NEXT;
	if (*head)
		return age >= ((st & 3) == PHASE_HEAD ? cs->header_ms : cs->next_ms);
	if ((st & 3) != PHASE_BODY || !cs->min_body_rate || age <= cs->body_grace_ms)
		return false;
	uint64_t got = atomic_load_explicit(&k->body_bytes, memory_order_relaxed);
	return got * 1000u < cs->min_body_rate * age;
}

/* Shed order: heads before bodies, the longest waiting first. */
static int shed_cmp(const void *a, const void *b)
{
	uint64_t x = atomic_load(&(*(conn *const *)a)->state), y = atomic_load(&(*(conn *const *)b)->state);
	if ((x & 3) != (y & 3))
		return (x & 3) < (y & 3) ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Shut down connections of share sh whose request is not in until its
 * reserve of slots is free (under the lock).  Those that began their
 * phase within the last sweep are spared: a client that has just arrived
 * is the one the reserve is for. */
static void shed(conns *cs, conns_share *sh, uint64_t now)
{
	unsigned open = sh->n - sh->doomed;
	if (!sh->reserve || open + sh->reserve <= sh->max)
		return;
	unsigned want = open + sh->reserve - sh->max;
	conn **v = malloc((size_t)open * sizeof *v);
	if (!v)
		return;
	size_t m = 0;
	for (conn *k = cs->head; k; k = k->next) {
		uint64_t st = atomic_load(&k->state);
		if (k->share == sh && !k->doomed && (st & 3) != PHASE_BUSY && (st >> 2) + QD_SWEEP_MS <= now &&
		    m < open)
			v[m++] = k;
	}
	qsort(v, m, sizeof *v, shed_cmp);
	for (size_t i = 0; i < m && i < want; i++) {
		doom(cs, v[i]);
		atomic_fetch_add(&cs->closed_reserve, 1);
	}
	free(v);
}

void conns_sweep(conns *cs, uint64_t now)
{
	static log_limit swept = LOG_LIMIT_INIT;
	unsigned long h0 = atomic_load(&cs->closed_head), b0 = atomic_load(&cs->closed_body),
		      r0 = atomic_load(&cs->closed_reserve);
	pthread_mutex_lock(&cs->lock);
	for (conn *k = cs->head; k; k = k->next) {
		bool head;
		if (k->doomed || !late(cs, k, now, &head))
			continue;
		doom(cs, k);
		atomic_fetch_add(head ? &cs->closed_head : &cs->closed_body, 1);
	}
	for (unsigned i = 0; i < cs->n_shares; i++)
		shed(cs, &cs->shares[i], now);
	pthread_mutex_unlock(&cs->lock);
	unsigned long h = atomic_load(&cs->closed_head) - h0, b = atomic_load(&cs->closed_body) - b0,
		      r = atomic_load(&cs->closed_reserve) - r0;
	if (h || b || r)
		log_limited(&swept,
			    "qingdand: closed %lu connections without a request head in time, %lu with a body "
			    "below the minimum rate, %lu to keep connections free for new clients",
			    h, b, r);
}

static void *sweeper(void *arg)
{
	conns *cs = arg;
	pthread_mutex_lock(&cs->lock);
	while (!cs->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += QD_SWEEP_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		if (pthread_cond_timedwait(&cs->wake, &cs->lock, &ts) != ETIMEDOUT || cs->stop)
			continue;
		pthread_mutex_unlock(&cs->lock);
		conns_sweep(cs, conns_now_ms());
		pthread_mutex_lock(&cs->lock);
	}
	pthread_mutex_unlock(&cs->lock);
	return NULL;
}

int conns_start(conns *cs)
{
	cs->stop = false;
	int err = pthread_create(&cs->sweeper, NULL, sweeper, cs);
	cs->sweeping = err == 0;
	return err;
}

void conns_stop(conns *cs)
{
	if (!cs->sweeping)
		return;
	pthread_mutex_lock(&cs->lock);
	cs->stop = true;
	pthread_cond_signal(&cs->wake);
	pthread_mutex_unlock(&cs->lock);
	pthread_join(cs->sweeper, NULL);
	cs->sweeping = false;
}

bool conns_body_charge(conns *cs, size_t n)
{
	size_t cur = atomic_load(&cs->body_bytes);
	do {
		if (n > cs->body_budget || cur > cs->body_budget - n)
			return false;
	} while (!atomic_compare_exchange_weak(&cs->body_bytes, &cur, cur + n));
	return true;
}

void conns_body_release(conns *cs, size_t n)
{
	atomic_fetch_sub(&cs->body_bytes, n);
}

size_t conns_body_in_flight(conns *cs)
{
	return atomic_load(&cs->body_bytes);
}
