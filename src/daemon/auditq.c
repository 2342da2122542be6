/* qingdand — the audit of attempts that changed nothing (see auditq.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qingdan/err.h"
#include "auditq.h"
#include "logq.h"

/* How often retention is applied when nothing else is written. */
#define PRUNE_EVERY_S 3600

typedef struct kind {
	bool used;
	qd_audit_rec rec;        /* the first attempt; strings owned */
	bool first_pending;      /* … not written yet */
	uint64_t repeats;        /* attempts since, not written yet */
	int64_t rep_first, rep_last;
} kind;

struct auditq {
	qd_store *st;
	auditq_opts o;
	pthread_mutex_t mu;      /* guards everything below but the counters */
	pthread_cond_t cv;
	pthread_mutex_t write_mu; /* one writer at a time: the thread or a sync */
	kind k[QD_AUDIT_KINDS + 1]; /* the last one counts every other kind */
	unsigned used;
	bool stopping, wake;
	struct timespec window_end;
	pthread_t thread;
	atomic_uint_fast64_t attempts, records, failures;
};

typedef struct batch {
	qd_audit_rec *v;
	size_t n;
} batch;

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The strings of a record, for copying and freeing them together. */
#define REC_STRINGS(r) {&(r)->actor, &(r)->action, &(r)->list, &(r)->sha256, &(r)->outcome, \
			&(r)->message, &(r)->source, &(r)->client}

static void rec_free(qd_audit_rec *r)
{
	const char **s[] = REC_STRINGS(r);
	for (size_t i = 0; i < sizeof s / sizeof *s; i++)
		free((char *)*s[i]);
	memset(r, 0, sizeof *r);
}

/* Copy a's strings into *out.  Returns false when memory ran out. */
static bool rec_copy(qd_audit_rec *out, const qd_audit_rec *a)
{
	*out = *a;
	const char **s[] = REC_STRINGS(out);
	bool ok = true;
	for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
		const char *orig = *s[i];
		*s[i] = dup_or_null(orig);
		if (orig && !*s[i])
			ok = false;
	}
	if (!ok)
		rec_free(out);
	return ok;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Is a the same kind of attempt as b? */
static bool same_kind(const qd_audit_rec *a, const qd_audit_rec *b)
{
	return a->status == b->status && str_eq(a->actor, b->actor) && str_eq(a->client, b->client) &&
	       str_eq(a->action, b->action) && str_eq(a->list, b->list) && str_eq(a->outcome, b->outcome) &&
	       str_eq(a->message, b->message);
}

static void mono_now(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

static bool mono_reached(const struct timespec *t)
{
	struct timespec now;
	mono_now(&now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

void auditq_add(auditq *q, const qd_audit_rec *rec)
{
	atomic_fetch_add(&q->attempts, 1);
	int64_t now = rec->time;
	pthread_mutex_lock(&q->mu);
	kind *k = NULL;
	for (unsigned i = 0; i < QD_AUDIT_KINDS && !k; i++)
		if (q->k[i].used && same_kind(&q->k[i].rec, rec))
			k = &q->k[i];
	if (!k && q->used < QD_AUDIT_KINDS) {
		for (unsigned i = 0; i < QD_AUDIT_KINDS && !k; i++) {
			if (!q->k[i].used && rec_copy(&q->k[i].rec, rec)) {
				k = &q->k[i];
				k->used = true;
				k->first_pending = true;
				k->repeats = 0;
				q->used++;
				q->wake = true;
				pthread_cond_signal(&q->cv);
			}
		}
		if (k) {
			if (q->used == 1) {
				mono_now(&q->window_end);
				q->window_end.tv_sec += q->o.window_s;
			}
			pthread_mutex_unlock(&q->mu);
			return;
		}
	}
	if (!k) {
		/* Every kind of this window is taken (or no memory): counted with
		 * the rest, the fields that differ left out. */
		k = &q->k[QD_AUDIT_KINDS];
		if (!k->used) {
			qd_audit_rec other = {
				.time = now, .actor = "*", .action = "*", .client = "*",
				.entries = -1, .added = -1, .removed = -1, .changed = -1,
				.status = rec->status, .outcome = rec->outcome,
				.message = "attempts of more kinds than one audit window keeps apart "
					   "(actor, client, action, list, status or message differ)",
			};
			if (!rec_copy(&k->rec, &other)) {
				pthread_mutex_unlock(&q->mu);
				return;
			}
			k->used = true;
			k->first_pending = false;
			k->repeats = 0;
		}
	}
	if (k->repeats++ == 0)
		k->rep_first = now;
	k->rep_last = now;
	pthread_mutex_unlock(&q->mu);
}

static bool batch_add(batch *b, const qd_audit_rec *r)
{
	qd_audit_rec *v = realloc(b->v, (b->n + 1) * sizeof *v);
	if (!v)
		return false;
	b->v = v;
	if (!rec_copy(&b->v[b->n], r))
		return false;
	b->n++;
	return true;
}

/* Take what is due from the table into b (under mu): the first attempts
 * not yet written and, when the window is over (or all: stopping), the
 * repeats, clearing the table for the next window. */
static void collect(auditq *q, batch *b, bool window_over)
{
	for (unsigned i = 0; i <= QD_AUDIT_KINDS; i++) {
		kind *k = &q->k[i];
		if (k->used && k->first_pending) {
			k->rec.count = 1;
			if (batch_add(b, &k->rec))
				k->first_pending = false;
		}
	}
	if (!window_over)
		return;
	for (unsigned i = 0; i <= QD_AUDIT_KINDS; i++) {
		kind *k = &q->k[i];
		if (!k->used)
			continue;
		if (k->repeats) {
			qd_audit_rec r = k->rec;
			r.time = k->rep_first;
			r.count = k->repeats;
			r.last_time = k->rep_last;
			batch_add(b, &r);
		}
		rec_free(&k->rec);
		k->used = false;
	}
	q->used = 0;
}

/* Write b (then free it) with the retention applied; failures are logged,
 * at most one line a second, every string escaped. */
static void write_batch(auditq *q, batch *b, bool prune_only)
{
	if (b->n == 0 && !prune_only)
		return;
	qd_audit_retention ret = {.max_records = q->o.max_attempts};
	if (q->o.retain_days)
		ret.before = (int64_t)time(NULL) - (int64_t)q->o.retain_days * 86400;
	int err = b->n ? qd_store_audit_attempts(q->st, b->v, b->n, &ret, NULL)
		       : qd_store_audit_prune(q->st, &ret, NULL);
	if (err) {
		atomic_fetch_add(&q->failures, 1);
		static log_limit audit_failed = LOG_LIMIT_INIT;
		char list[4 * QD_LIST_ID_MAX + 1], actor[4 * QD_ACTOR_MAX + 1];
		/* One line per record that was lost (the limit keeps it to one a
		 * second, and the next line counts the ones left out). */
		for (size_t i = 0; i < b->n; i++) {
			const qd_audit_rec *a = &b->v[i];
			log_limited(&audit_failed, "qingdand: cannot write audit record (%s %s by %s): %s",
				    a->action, a->list ? log_escape(list, sizeof list, a->list) : "-",
				    log_escape(actor, sizeof actor, a->actor ? a->actor : "anonymous"),
				    qd_strerror(err));
		}
		if (!b->n)
			log_limited(&audit_failed, "qingdand: cannot prune the audit log: %s", qd_strerror(err));
	} else {
		atomic_fetch_add(&q->records, b->n);
	}
	for (size_t i = 0; i < b->n; i++)
		rec_free(&b->v[i]);
	free(b->v);
	*b = (batch){0};
}

static void *writer(void *arg)
{
	auditq *q = arg;
	struct timespec next_prune;
	mono_now(&next_prune); /* retention applies at start */
	pthread_mutex_lock(&q->mu);
	for (;;) {
		bool prune = mono_reached(&next_prune);
		bool window_over = q->used && mono_reached(&q->window_end);
		if (!q->wake && !q->stopping && !prune && !window_over) {
			struct timespec until = next_prune;
			if (q->used && (q->window_end.tv_sec < until.tv_sec ||
					(q->window_end.tv_sec == until.tv_sec && q->window_end.tv_nsec < until.tv_nsec)))
				until = q->window_end;
			pthread_cond_timedwait(&q->cv, &q->mu, &until);
			continue;
		}
		bool stop = q->stopping;
		q->wake = false;
		pthread_mutex_unlock(&q->mu);
		pthread_mutex_lock(&q->write_mu);
		batch b = {0};
		pthread_mutex_lock(&q->mu);
		collect(q, &b, stop || window_over);
		pthread_mutex_unlock(&q->mu);
		write_batch(q, &b, prune);
		pthread_mutex_unlock(&q->write_mu);
		if (prune) {
			mono_now(&next_prune);
			next_prune.tv_sec += PRUNE_EVERY_S;
		}
		pthread_mutex_lock(&q->mu);
		if (stop)
			break;
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

auditq *auditq_start(qd_store *st, const auditq_opts *o)
{
	auditq *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	q->st = st;
	q->o = *o;
	if (!q->o.window_s)
		q->o.window_s = 1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&q->mu, NULL);
	pthread_mutex_init(&q->write_mu, NULL);
	if (pthread_create(&q->thread, NULL, writer, q) != 0) {
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
		pthread_mutex_destroy(&q->write_mu);
		free(q);
		return NULL;
	}
	return q;
}

void auditq_sync(auditq *q)
{
	pthread_mutex_lock(&q->write_mu);
	batch b = {0};
	pthread_mutex_lock(&q->mu);
	collect(q, &b, false);
	pthread_mutex_unlock(&q->mu);
	write_batch(q, &b, false);
	pthread_mutex_unlock(&q->write_mu);
}

void auditq_counts(auditq *q, uint64_t *attempts, uint64_t *records, uint64_t *failures)
{
	*attempts = atomic_load(&q->attempts);
	*records = atomic_load(&q->records);
	*failures = atomic_load(&q->failures);
}

void auditq_stop(auditq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	for (unsigned i = 0; i <= QD_AUDIT_KINDS; i++)
		if (q->k[i].used)
			rec_free(&q->k[i].rec);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	pthread_mutex_destroy(&q->write_mu);
	free(q);
}
