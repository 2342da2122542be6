/* qingdand — the job threads (see jobs.h). */
#include <pthread.h>
#include <stdlib.h>

#include "jobs.h"

typedef struct job {
	void (*fn)(void *);
	void *arg;
} job;

struct jobs {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	job *ring;                   /* max slots; head is the oldest */
	unsigned max, head, n, running;
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
};

static void *worker(void *arg)
{
	jobs *j = arg;
	pthread_mutex_lock(&j->mu);
	for (;;) {
		while (j->n == 0 && !j->stopping)
			pthread_cond_wait(&j->cv, &j->mu);
		if (j->n == 0)
			break; /* stopping, and nothing left to run */
		job w = j->ring[j->head];
		j->head = (j->head + 1) % j->max;
		j->n--;
		j->running++;
		pthread_mutex_unlock(&j->mu);
		w.fn(w.arg);
		pthread_mutex_lock(&j->mu);
		j->running--;
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

jobs *jobs_start(unsigned n, unsigned max_queued)
{
	jobs *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->max = max_queued ? max_queued : 1;
	j->ring = calloc(j->max, sizeof *j->ring);
	j->threads = calloc(n ? n : 1, sizeof *j->threads);
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	if (!j->ring || !j->threads) {
		jobs_stop(j);
		return NULL;
	}
	for (unsigned i = 0; i < (n ? n : 1); i++) {
		if (pthread_create(&j->threads[i], NULL, worker, j) != 0) {
			jobs_stop(j);
			return NULL;
		}
		j->nthreads++;
	}
	return j;
}

bool jobs_submit(jobs *j, void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&j->mu);
	bool ok = !j->stopping && j->n < j->max;
	if (ok) {
		j->ring[(j->head + j->n) % j->max] = (job){fn, arg};
		j->n++;
		pthread_cond_signal(&j->cv);
	}
	pthread_mutex_unlock(&j->mu);
	return ok;
}

unsigned jobs_pending(jobs *j)
{
	pthread_mutex_lock(&j->mu);
	unsigned n = j->n + j->running;
	pthread_mutex_unlock(&j->mu);
	return n;
}

void jobs_stop(jobs *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	j->stopping = true;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	for (unsigned i = 0; i < j->nthreads; i++)
		pthread_join(j->threads[i], NULL);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	free(j->threads);
	free(j->ring);
	free(j);
}
