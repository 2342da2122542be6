/* qingdand --follow (see following.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "follow.h"
#include "following.h"
#include "qingdan/err.h"

struct following {
	qd_store *st;
	follower *fw;
	qd_key **keys;
	size_t nkeys;
	unsigned interval_s;
	unsigned wait_s;          /* how long a primary may hold a poll (following_poll_wait_s) */
	void (*notify)(void *);
	void *arg;
	pthread_t thread;
	_Atomic bool stop;
	pthread_mutex_t mu;       /* guards state; cv wakes the thread to stop */
	pthread_cond_t cv;
	following_state state;
	int64_t in_sync_at;       /* when this store last had the source's head (0: never) */
};

/* Sleep s seconds, or until told to stop. */
static void pause_s(following *f, unsigned s)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += s;
	pthread_mutex_lock(&f->mu);
	while (!atomic_load(&f->stop) && pthread_cond_timedwait(&f->cv, &f->mu, &until) == 0)
		;
	pthread_mutex_unlock(&f->mu);
}

static int64_t ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void *run(void *arg)
{
	following *f = arg;
	unsigned backoff = 0;
	bool polls = follower_long_polls(f->fw);
	while (!atomic_load(&f->stop)) {
		follow_step s;
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		/* A primary holds the request until it has something, or
		 * f->wait_s; a directory is read again after the interval. */
		follower_step(f->fw, f->st, polls ? f->wait_s : 0, &s);
		if (atomic_load(&f->stop))
			break;
		/* Before the lock: a step that ended early is one the primary
		 * did not hold. */
		bool early = ms_since(&t0) < (int64_t)f->wait_s * 1000;
		int64_t now = (int64_t)time(NULL);
		pthread_mutex_lock(&f->mu);
		following_state *st = &f->state;
		st->applied_seq = s.applied_seq;
		if (s.polled)
			st->head_seq = s.head_seq;
		if (s.polled && s.applied_seq >= s.head_seq)
			f->in_sync_at = now;
		st->fault = s.fault;
		if (s.fault) {
			st->errors[s.fault]++;
			snprintf(st->last_error, sizeof st->last_error, "%s", s.why);
			st->last_error_reason = s.fault;
			st->last_error_at = now;
		} else {
			/* Any answer counts, "nothing new" included: the
			 * source was read and this store has all it showed. */
			st->last_ok = now;
		}
		pthread_mutex_unlock(&f->mu);
		if (s.fault)
			fprintf(stderr, "qingdand: follow %s: %s (%s)\n", follower_source(f->fw), s.why,
				qd_replica_fault_name(s.fault));
		if (s.applied) {
			fprintf(stderr, "qingdand: follow: applied %u record(s), now at record %llu\n", s.applied,
				(unsigned long long)s.applied_seq);
			f->notify(f->arg);
		}
		if (s.fault) {
			/* Back off: the interval, doubling to a minute. */
			backoff = backoff ? backoff * 2 : f->interval_s;
			if (backoff > FOLLOWING_BACKOFF_MAX_S)
				backoff = FOLLOWING_BACKOFF_MAX_S;
			pause_s(f, backoff);
		} else {
			backoff = 0;
			/* After records, poll again at once.  A poll answered
			 * before its wait with nothing new was not held (the
			 * primary holds too many polls already, or is stopping):
			 * polling again at once would be a busy loop. */
			if (!polls || !s.polled || (!s.applied && early))
				pause_s(f, f->interval_s);
		}
	}
	return NULL;
}

unsigned following_poll_wait_s(unsigned max_staleness_s)
{
	unsigned w = max_staleness_s / 2;
	return w < 1 ? 1 : w > FOLLOWING_POLL_MAX_S ? FOLLOWING_POLL_MAX_S : w;
}

following *following_start(qd_store *st, const char *source, const char *key_file, unsigned interval_s,
			   unsigned max_staleness_s, size_t max_bytes, void (*notify)(void *), void *arg, char *err, size_t errlen)
{
	following *f = calloc(1, sizeof *f);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->st = st;
	f->interval_s = interval_s;
	f->wait_s = following_poll_wait_s(max_staleness_s);
	f->notify = notify;
	f->arg = arg;
	int rc = qd_keys_load_file(key_file, &f->keys, &f->nkeys);
	if (rc) {
		snprintf(err, errlen, "follow-key: %s: %s", key_file,
			 rc == QD_EBADKEY ? "holds no Ed25519 or SM2 public key in PEM" : qd_strerror(rc));
		free(f);
		return NULL;
	}
	f->fw = follower_new(source, f->keys, f->nkeys, max_bytes, err, errlen);
	if (!f->fw) {
		following_stop(f);
		return NULL;
	}
	follower_set_stop(f->fw, &f->stop);
	f->state.source = follower_source(f->fw);
	f->state.lag_seconds = -1;
	qd_store_feed_head(st, &f->state.applied_seq, NULL);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (pthread_create(&f->thread, NULL, run, f)) {
		snprintf(err, errlen, "cannot start the follower thread");
		pthread_cond_destroy(&f->cv);
		pthread_mutex_destroy(&f->mu);
		follower_free(f->fw);
		f->fw = NULL;
		following_stop(f);
		return NULL;
	}
	return f;
}

void following_get(following *f, following_state *out)
{
	pthread_mutex_lock(&f->mu);
	*out = f->state;
	out->lag_seconds = f->in_sync_at ? (int64_t)time(NULL) - f->in_sync_at : -1;
	if (out->lag_seconds >= 0 && out->applied_seq >= out->head_seq && !out->fault)
		out->lag_seconds = 0;
	pthread_mutex_unlock(&f->mu);
}

void following_stop(following *f)
{
	if (!f)
		return;
	if (f->fw) {
		pthread_mutex_lock(&f->mu);
		atomic_store(&f->stop, true);
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->thread, NULL);
		pthread_cond_destroy(&f->cv);
		pthread_mutex_destroy(&f->mu);
		follower_free(f->fw);
	}
	for (size_t i = 0; i < f->nkeys; i++)
		qd_key_free(f->keys[i]);
	free(f->keys);
	free(f);
}
