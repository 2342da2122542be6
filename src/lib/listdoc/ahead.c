/* qingdan — the entries of a JSON list document parsed ahead: a second
 * thread finds each entry (scan.c) and parses it with jansson while the
 * caller checks and renders the ones before it, in batches handed over
 * through a small ring.  The caller sees the entries in document order,
 * exactly as a parse in line would give them; a small document is parsed
 * in line, with no thread. */
#include <pthread.h>

#include "qingdan/jarena.h"

#include "listdoc_int.h"

/* Entries per batch, batches in flight, and the fewest entries worth a
 * thread. */
#define BATCH 64
#define SLOTS 8
#define THREAD_MIN 4096

struct batch {
	struct qd_ld_parsed item[BATCH];
	size_t n;
	qd_jarena *arena;       /* the trees' (NULL: malloc) */
};

struct qd_ld_ahead {
	const char *buf;
	const struct qd_ld_scan *sc;
	size_t flags;
	size_t pos;             /* the scanner's place (the parsing side's) */
	json_error_t err;       /* why the entry that is not JSON is not */
	struct batch ring[SLOTS];
	size_t head, tail;      /* batches filled, batches taken (counts) */
	bool done;              /* the parsing side has no more */
	bool stop;              /* the taking side wants no more */
	bool threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch *cur;      /* the batch being taken from (NULL: none) */
	size_t at;              /* its next item */
};

/* Release the trees of bt. */
static void drop(struct batch *bt)
{
	if (bt->arena != NULL)
		qd_jarena_reset(bt->arena);
	else
		for (size_t i = 0; i < bt->n; i++)
			json_decref(bt->item[i].e);
	bt->n = 0;
}

/* Parse the next entries into bt; false when none can follow them (the
 * last was found, or one was not JSON). */
static bool fill(qd_ld_ahead *a, struct batch *bt)
{
	size_t start, end;

	qd_jarena *prev;
	bool more = true;

	/* The batch's earlier trees go all at once, and their memory is
	 * used again for the next ones. */
	drop(bt);
	prev = qd_jarena_enter(bt->arena);
	while (bt->n < BATCH && qd_ld_scan_next(a->buf, a->sc, &a->pos, &start, &end)) {
		struct qd_ld_parsed *p = &bt->item[bt->n++];

		p->start = start;
		/* The common shapes without jansson's lexer; the rest, and
		 * every error, with it. */
		p->e = a->flags == QD_LD_FAST_FLAGS ? qd_ld_fast_parse(a->buf + start, end - start) : NULL;
		if (p->e == NULL)
			p->e = json_loadb(a->buf + start, end - start, a->flags, &a->err);
		if (p->e == NULL) {
			more = false;
			break;
		}
	}
	qd_jarena_leave(prev);
	return more && bt->n == BATCH;
}

static void *parse_thread(void *arg)
{
	qd_ld_ahead *a = arg;
	bool more = true;

	pthread_mutex_lock(&a->mu);
	while (more) {
		while (a->head - a->tail == SLOTS && !a->stop)
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->stop)
			break;
		struct batch *bt = &a->ring[a->head % SLOTS];
		pthread_mutex_unlock(&a->mu);
		more = fill(a, bt);
		pthread_mutex_lock(&a->mu);
		a->head++;
		a->done = !more;
		pthread_cond_broadcast(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

qd_ld_ahead *qd_ld_ahead_start(const char *buf, const struct qd_ld_scan *sc, size_t flags)
{
	qd_ld_ahead *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->buf = buf;
	a->sc = sc;
	a->flags = flags;
	a->pos = sc->open + 1;
	/* Without arenas the trees are malloc()ed and freed one by one. */
	for (size_t k = 0; k < SLOTS; k++)
		a->ring[k].arena = qd_jarena_new();
	if (sc->n >= THREAD_MIN && pthread_mutex_init(&a->mu, NULL) == 0) {
		if (pthread_cond_init(&a->cv, NULL) == 0) {
			a->threaded = pthread_create(&a->thread, NULL, parse_thread, a) == 0;
			if (!a->threaded)
				pthread_cond_destroy(&a->cv);
		}
		if (!a->threaded)
			pthread_mutex_destroy(&a->mu);
	}
	return a;
}

/* The next batch to take from, the one before it given back; NULL when
 * there are no more. */
static struct batch *next_batch(qd_ld_ahead *a)
{
	struct batch *bt;

	if (!a->threaded) {
		if (a->done)
			return NULL;
		a->done = !fill(a, &a->ring[0]);
		return &a->ring[0];
	}
	pthread_mutex_lock(&a->mu);
	if (a->cur != NULL) {
		a->tail++;
		pthread_cond_broadcast(&a->cv);
	}
	while (a->head == a->tail && !a->done)
		pthread_cond_wait(&a->cv, &a->mu);
	bt = a->head == a->tail ? NULL : &a->ring[a->tail % SLOTS];
	pthread_mutex_unlock(&a->mu);
	return bt;
}

bool qd_ld_ahead_next(qd_ld_ahead *a, struct qd_ld_parsed *out, const json_error_t **err)
{
	while (a->cur == NULL || a->at == a->cur->n) {
		a->cur = next_batch(a);
		a->at = 0;
		if (a->cur == NULL)
			return false;
	}
	*out = a->cur->item[a->at++];
	*err = &a->err;
	return true;
}

void qd_ld_ahead_end(qd_ld_ahead *a)
{
	if (a == NULL)
		return;
	if (a->threaded) {
		pthread_mutex_lock(&a->mu);
		a->stop = true;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
	}
	/* Every tree parsed stays in its batch until the batch is filled
	 * again. */
	for (size_t k = 0; k < SLOTS; k++) {
		drop(&a->ring[k]);
		qd_jarena_free(a->ring[k].arena);
	}
	free(a);
}
