/* qingdan — the entries of a big JSON list document parsed and checked on
 * two threads.
 *
 * The entries are taken in batches of BATCH, in a ring of SLOTS.  For a
 * big document (THREAD_MIN entries or more, whose spans the scanner noted)
 * a second thread parses and checks batches as far ahead as the ring
 * allows, and the caller does each batch it comes to that the thread has
 * not claimed yet, each side with a checker of its own
 * (qd_ld_check_entry(): the entry's checks and canonical bytes, with no
 * write to the builder); the caller, rather than wait for a batch being
 * filled, fills the next unclaimed one.  The work so splits as the two
 * sides' speeds allow: the caller, which also keeps every entry, fills
 * fewer.  The caller takes every entry in document order and keeps it
 * with qd_listdoc_add_checked(), which does only what
 * depends on the entries before it (the id not taken, the pool, the id
 * map) and hands any entry with a problem to qd_listdoc_add(), which
 * checks it again in line: so the document, its problems and their order
 * are exactly those of a check in line.  A small document is parsed in
 * line, with no thread and no checker. */
#include <pthread.h>

#include "qingdan/jarena.h"

#include "listdoc_int.h"

/* Entries per batch, batches in flight, and the fewest entries worth a
 * thread. */
#define BATCH 64
#define SLOTS 4
#define THREAD_MIN 4096

struct batch {
	struct qd_ld_parsed item[BATCH];
	struct qd_ld_checked chk[BATCH];
	size_t k;               /* which batch (threaded) */
	size_t n;               /* items; the last one's e is NULL when it is not JSON */
	bool checked;           /* chk[] holds each item's check */
	bool ready;             /* filled by the other thread, not yet taken */
	json_error_t err;       /* why the item that is not JSON is not */
	qd_buf bytes;           /* the checked items' canonical bytes */
	qd_jarena *arena;       /* the trees' (NULL: malloc) */
};

struct qd_ld_ahead {
	const char *buf;
	const struct qd_ld_scan *sc;
	size_t flags;
	size_t pos;             /* the scanner's place (in line) */
	bool done;              /* in line: nothing more */
	size_t nb;              /* batches (threaded) */
	size_t next;            /* the next batch the caller takes */
	size_t taken;           /* batches the caller is done with (under mu) */
	size_t claimed;         /* batches [0, claimed) have a side filling them (under mu) */
	struct batch ring[SLOTS];
	qd_ld_checker *mine, *theirs;  /* this thread's and the other's (NULL: parse only) */
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
	if (bt->arena != NULL) {
		qd_jarena_reset(bt->arena);
	} else {
		for (size_t i = 0; i < bt->n; i++) {
			json_decref(bt->item[i].e);
			if (bt->checked)
				json_decref(bt->chk[i].c);
		}
	}
	bt->n = 0;
	bt->checked = false;
	qd_buf_reset(&bt->bytes);
}

/* Parse one entry, s[start, end), into the next item of bt (and check it
 * with k, if any); false when it is not JSON. */
static bool take(qd_ld_ahead *a, struct batch *bt, size_t index, size_t start, size_t end,
		 qd_ld_checker *k)
{
	struct qd_ld_parsed *p = &bt->item[bt->n];

	p->start = start;
	/* The common shapes without jansson's lexer; the rest, and every
	 * error, with it. */
	p->e = a->flags == QD_LD_FAST_FLAGS ? qd_ld_fast_parse(a->buf + start, end - start) : NULL;
	if (p->e == NULL)
		p->e = json_loadb(a->buf + start, end - start, a->flags, &bt->err);
	if (k != NULL && p->e != NULL)
		qd_ld_check_entry(k, p->e, index, &bt->chk[bt->n], &bt->bytes);
	else
		bt->chk[bt->n].c = NULL;
	bt->n++;
	return p->e != NULL;
}

/* Batch k of a document whose spans are known, parsed (and checked with
 * k, if any) into bt. */
static void fill_batch(qd_ld_ahead *a, struct batch *bt, size_t k, qd_ld_checker *chk)
{
	size_t from = k * BATCH, to = from + BATCH < a->sc->n ? from + BATCH : a->sc->n;
	qd_jarena *prev;

	/* The batch's earlier trees go all at once, and their memory is
	 * used again for the next ones. */
	drop(bt);
	bt->k = k;
	bt->checked = chk != NULL;
	prev = qd_jarena_enter(bt->arena);
	for (size_t i = from; i < to; i++)
		if (!take(a, bt, i, a->sc->span[2 * i], a->sc->span[2 * i + 1], chk))
			break;
	qd_jarena_leave(prev);
}

/* In line: the next entries into bt; false when none can follow them
 * (the last was found, or one was not JSON). */
static bool fill_next(qd_ld_ahead *a, struct batch *bt)
{
	size_t start, end, index = a->next * BATCH;
	qd_jarena *prev;
	bool more = true;

	drop(bt);
	prev = qd_jarena_enter(bt->arena);
	while (bt->n < BATCH && qd_ld_scan_next(a->buf, a->sc, &a->pos, &start, &end)) {
		if (!take(a, bt, index + bt->n, start, end, NULL)) {
			more = false;
			break;
		}
	}
	qd_jarena_leave(prev);
	return more && bt->n == BATCH;
}

/* The other thread: the next unclaimed batch, as far ahead as the ring
 * allows. */
static void *parse_thread(void *arg)
{
	qd_ld_ahead *a = arg;

	for (;;) {
		size_t k;

		pthread_mutex_lock(&a->mu);
		/* The slot is free once its batch before (k - SLOTS) is taken. */
		while (!a->stop && a->claimed < a->nb && a->claimed >= a->taken + SLOTS)
			pthread_cond_wait(&a->cv, &a->mu);
		bool stop = a->stop || a->claimed == a->nb;
		k = a->claimed;
		if (!stop)
			a->claimed++;
		pthread_mutex_unlock(&a->mu);
		if (stop)
			break;
		struct batch *bt = &a->ring[k % SLOTS];
		fill_batch(a, bt, k, a->theirs);
		pthread_mutex_lock(&a->mu);
		bt->ready = true;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		if (bt->n > 0 && bt->item[bt->n - 1].e == NULL)
			break; /* not JSON: nothing after it is asked for */
	}
	return NULL;
}

qd_ld_ahead *qd_ld_ahead_start(const char *buf, const struct qd_ld_scan *sc, size_t flags,
			       const qd_listdoc_builder *b)
{
	qd_ld_ahead *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->buf = buf;
	a->sc = sc;
	a->flags = flags;
	a->pos = sc->open + 1;
	/* Without arenas the trees are malloc()ed and freed one by one. */
	for (size_t k = 0; k < SLOTS; k++) {
		a->ring[k].arena = qd_jarena_new();
		qd_buf_init(&a->ring[k].bytes);
	}
	if (sc->n < THREAD_MIN || sc->span == NULL)
		return a;
	a->nb = (sc->n + BATCH - 1) / BATCH;
	/* A builder that has already failed keeps nothing: every entry is
	 * then only checked in line, for its problems. */
	a->mine = qd_ld_checker_new(b);
	a->theirs = a->mine != NULL ? qd_ld_checker_new(b) : NULL;
	if (a->theirs == NULL) {
		qd_ld_checker_free(a->mine);
		a->mine = NULL;
	}
	if (pthread_mutex_init(&a->mu, NULL) == 0) {
		if (pthread_cond_init(&a->cv, NULL) == 0) {
			a->threaded = pthread_create(&a->thread, NULL, parse_thread, a) == 0;
			if (!a->threaded)
				pthread_cond_destroy(&a->cv);
		}
		if (!a->threaded)
			pthread_mutex_destroy(&a->mu);
	}
	if (!a->threaded) {
		/* In line after all: the spans still serve. */
		qd_ld_checker_free(a->mine);
		qd_ld_checker_free(a->theirs);
		a->mine = a->theirs = NULL;
	}
	return a;
}

/* The next batch to take from, the one before it given back; NULL when
 * there are no more. */
static struct batch *next_batch(qd_ld_ahead *a)
{
	struct batch *bt;
	size_t k;

	if (!a->threaded) {
		if (a->done)
			return NULL;
		a->done = !fill_next(a, &a->ring[0]);
		a->next++;
		return &a->ring[0];
	}
	k = a->next++;
	pthread_mutex_lock(&a->mu);
	if (a->cur != NULL) {
		a->cur->ready = false;
		a->taken++;
		pthread_cond_broadcast(&a->cv);
	}
	if (k >= a->nb) {
		pthread_mutex_unlock(&a->mu);
		return NULL;
	}
	bt = &a->ring[k % SLOTS];
	if (k == a->claimed) {
		/* Not claimed yet: done here (its slot's batch before,
		 * k - SLOTS, is taken). */
		a->claimed++;
		pthread_mutex_unlock(&a->mu);
		fill_batch(a, bt, k, a->mine);
		return bt;
	}
	/* The other side is filling batch k.  Rather than wait, fill the
	 * next unclaimed batch here, if its slot is free, and come back. */
	while (!(bt->ready && bt->k == k)) {
		if (a->claimed < a->nb && a->claimed < a->taken + SLOTS) {
			size_t j = a->claimed++;
			struct batch *bj = &a->ring[j % SLOTS];

			pthread_mutex_unlock(&a->mu);
			fill_batch(a, bj, j, a->mine);
			pthread_mutex_lock(&a->mu);
			bj->ready = true;
			continue;
		}
		pthread_cond_wait(&a->cv, &a->mu);
	}
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
	*out = a->cur->item[a->at];
	out->checked = a->cur->checked ? &a->cur->chk[a->at] : NULL;
	out->bytes = a->cur->bytes.data;
	a->at++;
	*err = &a->cur->err;
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
		qd_buf_free(&a->ring[k].bytes);
	}
	qd_ld_checker_free(a->mine);
	qd_ld_checker_free(a->theirs);
	free(a);
}
