/* qingdand — long polls of the feed (see feedwait.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "feedwait.h"

typedef struct parked {
	struct MHD_Connection *c;
	bool *resumed;
	uint64_t after;
	struct timespec deadline;   /* CLOCK_MONOTONIC */
} parked;

struct feedwait {
	qd_store *st;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* CLOCK_MONOTONIC */
	parked p[FEEDWAIT_MAX];     /* n parked, in no order */
	unsigned n;
	bool dirty;                 /* a commit since the watcher last looked */
	bool stopping;
};

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Resume parked[i] (mu held) and drop it from the set. */
static void release(feedwait *fw, unsigned i)
{
	*fw->p[i].resumed = true;
	MHD_resume_connection(fw->p[i].c);
	fw->p[i] = fw->p[--fw->n];
}

static void *watch(void *arg)
{
	feedwait *fw = arg;
	pthread_mutex_lock(&fw->mu);
	while (!fw->stopping) {
		if (!fw->n) {
			pthread_cond_wait(&fw->cv, &fw->mu);
			continue;
		}
		/* Wake at the earliest deadline, or in a second at the latest
		 * (commits of other processes are not notified). */
		struct timespec now, until;
		clock_gettime(CLOCK_MONOTONIC, &now);
		until = now;
		until.tv_sec += 1;
		for (unsigned i = 0; i < fw->n; i++)
			if (before(&fw->p[i].deadline, &until))
				until = fw->p[i].deadline;
		if (!fw->dirty && before(&now, &until))
			pthread_cond_timedwait(&fw->cv, &fw->mu, &until);
		if (fw->stopping)
			break;
		fw->dirty = false;
		pthread_mutex_unlock(&fw->mu);
		uint64_t head = 0;
		/* A head that cannot be read leaves every request parked
		 * until its deadline: it is then answered with what a read
		 * gives, or the error. */
		bool known = qd_store_feed_head(fw->st, &head, NULL) == 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		pthread_mutex_lock(&fw->mu);
		for (unsigned i = 0; i < fw->n;) {
			if ((known && head > fw->p[i].after) || !before(&now, &fw->p[i].deadline))
				release(fw, i);
			else
				i++;
		}
	}
	while (fw->n)
		release(fw, 0);
	pthread_mutex_unlock(&fw->mu);
	return NULL;
}

feedwait *feedwait_start(qd_store *st)
{
	feedwait *fw = calloc(1, sizeof *fw);
	if (!fw)
		return NULL;
	fw->st = st;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&fw->mu, NULL);
	pthread_cond_init(&fw->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&fw->thread, NULL, watch, fw)) {
		pthread_cond_destroy(&fw->cv);
		pthread_mutex_destroy(&fw->mu);
		free(fw);
		return NULL;
	}
	return fw;
}

bool feedwait_park(feedwait *fw, struct MHD_Connection *c, bool *resumed, uint64_t after,
		   unsigned wait_s)
{
	if (!fw)
		return false;
	pthread_mutex_lock(&fw->mu);
	bool ok = !fw->stopping && fw->n < FEEDWAIT_MAX;
	if (ok) {
		parked *p = &fw->p[fw->n++];
		p->c = c;
		p->resumed = resumed;
		p->after = after;
		clock_gettime(CLOCK_MONOTONIC, &p->deadline);
		p->deadline.tv_sec += wait_s;
		/* A commit between the caller's read and now must not be
		 * missed: the watcher looks at the head once at least. */
		fw->dirty = true;
		pthread_cond_signal(&fw->cv);
	}
	pthread_mutex_unlock(&fw->mu);
	return ok;
}

void feedwait_notify(feedwait *fw)
{
	if (!fw)
		return;
	pthread_mutex_lock(&fw->mu);
	fw->dirty = true;
	pthread_cond_signal(&fw->cv);
	pthread_mutex_unlock(&fw->mu);
}

void feedwait_drain(feedwait *fw)
{
	if (!fw)
		return;
	pthread_mutex_lock(&fw->mu);
	fw->stopping = true;
	while (fw->n)
		release(fw, 0);
	pthread_cond_signal(&fw->cv);
	pthread_mutex_unlock(&fw->mu);
}

void feedwait_stop(feedwait *fw)
{
	if (!fw)
		return;
	feedwait_drain(fw);
	pthread_join(fw->thread, NULL);
	pthread_cond_destroy(&fw->cv);
	pthread_mutex_destroy(&fw->mu);
	free(fw);
}
