/* qingdand — buffered log files written by a background thread, and the
 * escaping and rate limit of stderr lines that carry request data. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logq.h"

static int open_log(const char *path)
{
	if (strcmp(path, "-") == 0)
		return STDERR_FILENO;
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

static void deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void write_all(logq *q, const char *p, size_t n)
{
	static const char *const what = "qingdand: cannot write log";
	while (n) {
		ssize_t w = q->fd >= 0 ? write(q->fd, p, n) : -1;
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* Count every line lost and say so, at most once a minute. */
			size_t lost = 0;
			for (size_t i = 0; i < n; i++)
				lost += p[i] == '\n';
			uint_fast64_t before = atomic_fetch_add(&q->errors, lost ? lost : 1);
			static __thread time_t last_report;
			time_t now = time(NULL);
			if (now - last_report >= 60 || before == 0) {
				fprintf(stderr, "%s %s: %s (%llu lines lost so far)\n", what, q->path,
					q->fd < 0 ? "not open" : strerror(errno),
					(unsigned long long)(before + (lost ? lost : 1)));
				last_report = now;
			}
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Reopen the file after logrotate moved it; the old one stays on failure. */
static void reopen_log(logq *q)
{
	if (q->fd == STDERR_FILENO)
		return;
	int fd = open_log(q->path);
	if (fd < 0) {
		fprintf(stderr, "qingdand: cannot reopen log %s: %s (keeping the old file)\n", q->path, strerror(errno));
		return;
	}
	if (q->fd >= 0)
		close(q->fd);
	q->fd = fd;
}

static void *writer_best_effort(logq *q)
{
	char *out = malloc(LOGQ_CAP);
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->len && !q->stop && !q->reopen) {
			struct timespec ts;
			deadline(&ts, LOGQ_FLUSH_MS);
			pthread_cond_timedwait(&q->has_data, &q->mu, &ts);
		}
		size_t n = q->len;
		if (out && n)
			memcpy(out, q->buf, n);
		q->len = 0;
		bool reopen = q->reopen, stop = q->stop;
		q->reopen = false;
		pthread_cond_broadcast(&q->has_room);
		pthread_mutex_unlock(&q->mu);
		if (n)
			write_all(q, out ? out : "", out ? n : 0);
		if (reopen)
			reopen_log(q);
		pthread_mutex_lock(&q->mu);
		if (stop && !q->len)
			break;
	}
	pthread_mutex_unlock(&q->mu);
	free(out);
	return NULL;
}

static unsigned count_lines(const char *p, size_t n)
{
	unsigned k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i] == '\n';
	return k;
}

/* Write out[*done..n) and fsync.  *done advances over what was written,
 * so a retry after a short write (a full disk) goes on where it stopped
 * rather than writing a line twice.  Returns 0 or the errno of the
 * failure. */
static int write_sync(logq *q, const char *out, size_t n, size_t *done)
{
	while (*done < n) {
		if (q->fd < 0)
			return EBADF;
		ssize_t w = write(q->fd, out + *done, n - *done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		if (w == 0)
			return ENOSPC;
		*done += (size_t)w;
	}
	/* stderr may be a pipe or a terminal, which cannot be synced. */
	if (fsync(q->fd) != 0 && errno != EINVAL && errno != EROFS)
		return errno;
	return 0;
}

static void *writer_lossless(logq *q)
{
	static log_limit failing = LOG_LIMIT_INIT;
	char *out = malloc(LOGQ_CAP);
	size_t n = 0, done = 0;        /* the batch in out, and how much of it is written */
	long pause_ms = 0;             /* after a failure: wait before the retry */
	unsigned long long failures = 0, stop_tries = 0;
	if (!out) {
		fprintf(stderr, "qingdand: log %s: out of memory for the writer: no line is written\n", q->path);
		return writer_best_effort(q);
	}
	pthread_mutex_lock(&q->mu);
	for (;;) {
		if (pause_ms) {
			/* New lines may still come in (and fill the room) meanwhile;
			 * at shutdown the few last tries come quicker. */
			struct timespec ts;
			deadline(&ts, q->stop ? LOGQ_RETRY_MS : pause_ms);
			while (!q->reopen)
				if (pthread_cond_timedwait(&q->has_data, &q->mu, &ts) == ETIMEDOUT)
					break;
		} else {
			while (!q->len && !q->stop && !q->reopen) {
				struct timespec ts;
				deadline(&ts, LOGQ_FLUSH_MS);
				pthread_cond_timedwait(&q->has_data, &q->mu, &ts);
			}
		}
		/* len + held <= LOGQ_CAP and held == n: buf fits behind the batch. */
		memcpy(out + n, q->buf, q->len);
		n += q->len;
		q->len = 0;
		q->held = n;
		bool reopen = q->reopen, stop = q->stop;
		q->reopen = false;
		pthread_mutex_unlock(&q->mu);
		if (reopen)
			reopen_log(q);
		int e = n ? write_sync(q, out, n, &done) : 0;
		if (e) {
			atomic_fetch_add(&q->write_failures, 1);
			failures++;
			/* After a failed fsync the kernel may have dropped the pages
			 * it could not write back: write the whole batch again. */
			if (done == n)
				done = 0;
			log_limited(&failing,
				    "qingdand: cannot write log %s: %s (%zu bytes kept, retrying; decisions are "
				    "answered 503 log_unavailable while its buffer is full)",
				    q->path, strerror(e), n);
			pause_ms = pause_ms ? pause_ms * 2 : LOGQ_RETRY_MS;
			if (pause_ms > LOGQ_RETRY_MAX_MS)
				pause_ms = LOGQ_RETRY_MAX_MS;
		} else {
			if (n)
				atomic_fetch_add(&q->syncs, 1);
			if (failures)
				fprintf(stderr, "qingdand: log %s is written again (after %llu failed attempts)\n",
					q->path, failures);
			failures = 0;
			pause_ms = 0;
			n = done = 0;
		}
		pthread_mutex_lock(&q->mu);
		q->held = n;
		pthread_cond_broadcast(&q->has_room);
		if (stop && !q->len && (!n || ++stop_tries > LOGQ_STOP_RETRIES))
			break;
	}
	pthread_mutex_unlock(&q->mu);
	if (n) {
		unsigned lost = count_lines(out + done, n - done);
		atomic_fetch_add(&q->errors, lost);
		fprintf(stderr, "qingdand: log %s: stopping with %u lines that could not be written\n", q->path,
			lost);
	}
	free(out);
	return NULL;
}

static void *writer(void *arg)
{
	logq *q = arg;
	return q->mode == LOGQ_LOSSLESS ? writer_lossless(q) : writer_best_effort(q);
}

logq *logq_open(const char *path, enum logq_mode mode, unsigned wait_ms, char *err, size_t errlen)
{
	logq *q = calloc(1, sizeof *q);
	if (!q || !(q->path = strdup(path)) || !(q->buf = malloc(LOGQ_CAP))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	q->mode = mode;
	q->wait_ms = mode == LOGQ_LOSSLESS ? (long)wait_ms : LOGQ_WAIT_MS;
	q->fd = open_log(path);
	if (q->fd < 0) {
		snprintf(err, errlen, "cannot open log %s: %s", path, strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->has_data, NULL);
	pthread_cond_init(&q->has_room, NULL);
	if (pthread_create(&q->thread, NULL, writer, q) != 0) {
		snprintf(err, errlen, "cannot start the log writer for %s", path);
		if (q->fd != STDERR_FILENO)
			close(q->fd);
		goto fail;
	}
	return q;
fail:
	if (q) {
		free(q->buf);
		free(q->path);
		free(q);
	}
	return NULL;
}

static void refuse(logq *q, unsigned nlines)
{
	if (q->mode == LOGQ_LOSSLESS) {
		atomic_fetch_add(&q->refused, 1);
		return;
	}
	uint_fast64_t d = atomic_fetch_add(&q->dropped, nlines);
	/* The 1st, 2nd, 4th, 8th … drop: say so without flooding. */
	for (uint_fast64_t k = d + 1; k <= d + nlines; k++)
		if ((k & (k - 1)) == 0) {
			fprintf(stderr, "qingdand: log %s cannot keep up: %llu lines dropped\n", q->path,
				(unsigned long long)k);
			break;
		}
}

bool logq_put(logq *q, const char *data, size_t len, unsigned nlines)
{
	if (len + 1 > LOGQ_CAP) {
		refuse(q, nlines);
		return false;
	}
	pthread_mutex_lock(&q->mu);
	if (q->len + q->held + len + 1 > LOGQ_CAP) {
		struct timespec ts;
		deadline(&ts, q->wait_ms);
		while (q->len + q->held + len + 1 > LOGQ_CAP && !q->stop)
			if (pthread_cond_timedwait(&q->has_room, &q->mu, &ts) == ETIMEDOUT)
				break;
	}
	if (q->len + q->held + len + 1 > LOGQ_CAP) {
		pthread_mutex_unlock(&q->mu);
		refuse(q, nlines);
		return false;
	}
	memcpy(q->buf + q->len, data, len);
	q->buf[q->len + len] = '\n';
	q->len += len + 1;
	pthread_cond_signal(&q->has_data);
	pthread_mutex_unlock(&q->mu);
	atomic_fetch_add(&q->lines, nlines);
	return true;
}

void logq_write(logq *q, const char *line, size_t len)
{
	logq_put(q, line, len, 1);
}

void logq_reopen(logq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->reopen = true;
	pthread_cond_signal(&q->has_data);
	pthread_mutex_unlock(&q->mu);
}

void logq_close(logq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_signal(&q->has_data);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	if (q->fd >= 0 && q->fd != STDERR_FILENO)
		close(q->fd);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->has_data);
	pthread_cond_destroy(&q->has_room);
	free(q->buf);
	free(q->path);
	free(q);
}

/* ---- stderr lines ---- */

const char *log_escape(char *out, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = c >= 0x20 && c < 0x7f && c != '\\';
		if (k + (plain ? 1 : 4) >= cap)
			break;
		if (plain) {
			out[k++] = (char)c;
		} else {
			out[k++] = '\\';
			out[k++] = 'x';
			out[k++] = hex[c >> 4];
			out[k++] = hex[c & 15];
		}
	}
	out[k] = '\0';
	return out;
}

void log_limited(log_limit *l, const char *fmt, ...)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long now_ms = (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	unsigned long long left_out;
	pthread_mutex_lock(&l->mu);
	if (l->written && now_ms - l->last_ms < LOG_REPEAT_INTERVAL_S * 1000L) {
		l->suppressed++;
		pthread_mutex_unlock(&l->mu);
		return;
	}
	l->written = true;
	l->last_ms = now_ms;
	left_out = l->suppressed;
	l->suppressed = 0;
	pthread_mutex_unlock(&l->mu);
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* One fprintf, so that the line and its count reach stderr whole. */
	if (left_out)
		fprintf(stderr, "%s (%llu more like it in the last %d s not shown)\n", line, left_out,
			LOG_REPEAT_INTERVAL_S);
	else
		fprintf(stderr, "%s\n", line);
}
