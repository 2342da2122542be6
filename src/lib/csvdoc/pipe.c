/* qingdan — CSV import: the entries handed from the tokenising side to
 * the checking side in batches.  The tokenising side (libcsv, the header,
 * each row's entry tree) fills a batch with entries and the problems it
 * found on the way; the checking side takes the batch, puts its problems
 * into the import's collection in the order they were found, checks each
 * entry's id and runs each entry through the document builder just where
 * the single-threaded order would have, so the problems, their order and
 * the document are the same however the work is split.
 *
 * A big file is tokenised on a second thread while the caller checks the
 * batches before, through a small ring (as listdoc/ahead.c does for JSON
 * documents); a small file, and rows fed one by one (spreadsheets), use
 * one batch on the caller's thread, checked as soon as it is full.  The
 * trees of a batch live in an arena of its own, reset at once when the
 * batch is filled again. */
#include <pthread.h>
#include <stdlib.h>

#include "qingdan/err.h"
#include "qingdan/jarena.h"

#include "csvdoc_int.h"
#include "../listdoc/checker.h"

/* Entries per batch, batches in flight, and the fewest lines worth a
 * thread. */
#define BATCH 64
#define SLOTS 4
#define THREAD_MIN 4096
/* The checking side's backlog, in batches, from which the tokenising
 * side checks the batch it hands over. */
#define LAG 2

struct batch {
	struct qd_csv_ent ent[BATCH];
	size_t n;
	qd_problems probs;      /* the tokenising side's, in order */
	qd_jarena *arena;       /* the trees' (NULL: malloc) */
	/* Checked ahead by the tokenising side (threaded, every other batch
	 * once the builder is begun): each entry's check, and the bytes it
	 * refers to. */
	bool checked;
	struct qd_ld_checked chk[BATCH];
	qd_buf bytes;
};

struct qd_csv_pipe {
	struct imp *im;
	struct batch ring[SLOTS];
	struct batch *fill;     /* the batch being filled */
	/* threaded only; head, tail, done under mu */
	bool threaded;
	size_t head, tail;      /* batches handed over, batches checked (counts) */
	bool done;              /* the tokenising side has no more */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const char *text;
	size_t len;
	int rc;                 /* the tokenising side's result */
	/* The checker the checking side gives the tokenising side once the
	 * builder is begun (under mu), and the tokenising side's copy. */
	qd_ld_checker *checker, *tok_checker;
	bool checker_given;
};

/* Release the trees of bt; on the tokenising side, which made them. */
static void clean(struct batch *bt)
{
	for (size_t i = 0; bt->arena == NULL && i < bt->n; i++) {
		json_decref(bt->ent[i].e);
		if (bt->checked)
			json_decref(bt->chk[i].c);
	}
	qd_jarena_reset(bt->arena);
	bt->n = 0;
	bt->checked = false;
	qd_buf_reset(&bt->bytes);
}

/* Check the entries of bt ahead with k (the tokenising side), so that
 * the checking side has only to keep them. */
static void check_ahead(struct batch *bt, qd_ld_checker *k)
{
	qd_jarena *prev = qd_jarena_enter(bt->arena);

	for (size_t i = 0; i < bt->n; i++)
		qd_ld_check_entry(k, bt->ent[i].e, i, &bt->chk[i], &bt->bytes);
	bt->checked = true;
	qd_jarena_leave(prev);
}

/* The tokenising side's problems [*at, to) of bt into the import's. */
static void move(struct imp *im, const qd_problems *from, size_t *at, size_t to)
{
	for (; *at < to; (*at)++) {
		const qd_problem *p = &from->items[*at];

		qd_problems_add_at(im->p, p->line, p->column, "%s", p->message);
	}
}

/* Check the entries of bt and take its problems (the checking side). */
static void check(struct imp *im, struct batch *bt)
{
	size_t at = 0;

	for (size_t i = 0; i < bt->n; i++) {
		const struct qd_csv_ent *ent = &bt->ent[i];
		uint32_t flagged;

		move(im, &bt->probs, &at, ent->np_id);
		flagged = ent->flagged | qd_csv_id_check(im, ent);
		move(im, &bt->probs, &at, ent->np);
		im->ent_line = ent->line;
		im->note_at = ent->note_at;
		if (bt->checked) {
			im->chk = &bt->chk[i];
			im->chk_bytes = bt->bytes.data;
		}
		qd_csv_entry(im, ent->e, flagged);
		im->chk = NULL;
	}
	/* Problems beyond the cap: im->p is full by now, they would be
	 * counted there too. */
	move(im, &bt->probs, &at, bt->probs.count);
	im->p->omitted += bt->probs.omitted;
	qd_problems_free(&bt->probs);
}

static struct qd_csv_pipe *pipe_new(struct imp *im)
{
	struct qd_csv_pipe *pp = calloc(1, sizeof(*pp));

	if (pp == NULL)
		return NULL;
	pp->im = im;
	/* Without arenas the trees are malloc()ed and freed one by one. */
	for (size_t k = 0; k < SLOTS; k++) {
		pp->ring[k].arena = qd_jarena_new();
		qd_buf_init(&pp->ring[k].bytes);
	}
	pp->fill = &pp->ring[0];
	im->pipe = pp;
	im->tp = &pp->fill->probs;
	return pp;
}

int qd_csv_pipe_begin(struct imp *im)
{
	return pipe_new(im) == NULL ? QD_ENOMEM : 0;
}

qd_jarena *qd_csv_pipe_arena(const struct imp *im)
{
	return im->pipe != NULL ? im->pipe->fill->arena : NULL;
}

/* Hand the batch being filled over and take the next (the tokenising
 * side); last: there is no next. */
static void hand_over(struct qd_csv_pipe *pp, bool last)
{
	struct imp *im = pp->im;

	if (!pp->threaded) {
		check(im, pp->fill);
		clean(pp->fill);
		return;
	}
	/* A batch is checked here too, once the checking side has a builder
	 * to check for, when that side is behind: LAG or more batches handed
	 * over and not yet checked.  When it waits for batches, they go over
	 * at once.  The two sides so share the checks as their speeds allow
	 * (a row of a whitelist takes longer to tokenise than one of a
	 * positive list).  Every fourth batch is checked here in any case, so
	 * that both ways are always in use, in tests too. */
	if (pp->tok_checker != NULL) {
		pthread_mutex_lock(&pp->mu);
		size_t lag = pp->head - pp->tail;
		pthread_mutex_unlock(&pp->mu);
		if (lag >= LAG || pp->head % 4 == 3)
			check_ahead(pp->fill, pp->tok_checker);
	}
	pthread_mutex_lock(&pp->mu);
	pp->tok_checker = pp->checker;
	pp->head++;
	pp->done = last;
	pthread_cond_broadcast(&pp->cv);
	while (!last && pp->head - pp->tail == SLOTS)
		pthread_cond_wait(&pp->cv, &pp->mu);
	pthread_mutex_unlock(&pp->mu);
	if (last)
		return;
	pp->fill = &pp->ring[pp->head % SLOTS];
	clean(pp->fill);
	im->tp = &pp->fill->probs;
}

void qd_csv_pipe_put(struct imp *im, const struct qd_csv_ent *ent)
{
	struct qd_csv_pipe *pp = im->pipe;

	pp->fill->ent[pp->fill->n++] = *ent;
	if (pp->fill->n == BATCH)
		hand_over(pp, false);
}

void qd_csv_pipe_flush(struct imp *im)
{
	if (im->pipe != NULL && !im->pipe->threaded)
		hand_over(im->pipe, false);
}

void qd_csv_pipe_end(struct imp *im)
{
	struct qd_csv_pipe *pp = im->pipe;

	if (pp == NULL)
		return;
	qd_csv_pipe_flush(im);
	for (size_t k = 0; k < SLOTS; k++) {
		clean(&pp->ring[k]);
		qd_problems_free(&pp->ring[k].probs);
		qd_jarena_free(pp->ring[k].arena);
		qd_buf_free(&pp->ring[k].bytes);
	}
	qd_ld_checker_free(pp->checker);
	free(pp);
	im->pipe = NULL;
	im->tp = im->p;
}

static void *tokenise_thread(void *arg)
{
	struct qd_csv_pipe *pp = arg;

	pp->rc = qd_csv_tokenise(pp->im, pp->text, pp->len);
	hand_over(pp, true);
	return NULL;
}

/* Are there at least THREAD_MIN bytes c in the text? */
static bool many(const char *text, size_t len, char c)
{
	const char *s = text, *end = text + len;
	size_t n = 0;

	while (n < THREAD_MIN && (s = memchr(s, c, (size_t)(end - s))) != NULL) {
		n++;
		s++;
	}
	return n >= THREAD_MIN;
}

/* Does the text have at least THREAD_MIN lines?  They end in LF or CRLF,
 * or in a bare CR (as old Mac spreadsheets write them). */
static bool big(const char *text, size_t len)
{
	return many(text, len, '\n') || many(text, len, '\r');
}

/* Start the tokenising thread; false when none can be had. */
static bool start_thread(struct qd_csv_pipe *pp)
{
	if (pthread_mutex_init(&pp->mu, NULL) != 0)
		return false;
	if (pthread_cond_init(&pp->cv, NULL) != 0) {
		pthread_mutex_destroy(&pp->mu);
		return false;
	}
	pp->threaded = true;
	if (pthread_create(&pp->thread, NULL, tokenise_thread, pp) != 0) {
		pp->threaded = false;
		pthread_cond_destroy(&pp->cv);
		pthread_mutex_destroy(&pp->mu);
	}
	return pp->threaded;
}

/* Check the batches as the thread hands them over (the caller's side). */
static void check_all(struct qd_csv_pipe *pp)
{
	pthread_mutex_lock(&pp->mu);
	for (;;) {
		struct batch *bt;

		while (pp->head == pp->tail && !pp->done)
			pthread_cond_wait(&pp->cv, &pp->mu);
		if (pp->head == pp->tail)
			break;
		bt = &pp->ring[pp->tail % SLOTS];
		pthread_mutex_unlock(&pp->mu);
		check(pp->im, bt);
		/* The builder is begun with the first entry: from then on the
		 * tokenising side can check for it. */
		qd_ld_checker *k = NULL;
		if (!pp->checker_given && pp->im->b != NULL) {
			k = qd_ld_checker_new(pp->im->b);
			pp->checker_given = true;
		}
		pthread_mutex_lock(&pp->mu);
		if (k != NULL)
			pp->checker = k;
		pp->tail++;
		pthread_cond_broadcast(&pp->cv);
	}
	pthread_mutex_unlock(&pp->mu);
}

int qd_csv_pipe_run(struct imp *im, const char *text, size_t len)
{
	struct qd_csv_pipe *pp = pipe_new(im);
	int rc;

	if (pp == NULL)
		return QD_ENOMEM;
	pp->text = text;
	pp->len = len;
	if (big(text, len) && start_thread(pp)) {
		check_all(pp);
		pthread_join(pp->thread, NULL);
		pthread_cond_destroy(&pp->cv);
		pthread_mutex_destroy(&pp->mu);
		pp->threaded = false;
		/* Every batch is checked, the one filled last too. */
		clean(pp->fill);
		rc = pp->rc;
	} else {
		rc = qd_csv_tokenise(im, text, len);
	}
	qd_csv_pipe_end(im);
	return rc;
}
