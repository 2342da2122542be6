/* qingdand — buffered log files written by a background thread.
 *
 * Request threads append whole lines to a bounded buffer and go on; one
 * writer thread per log flushes it.  Two modes:
 *
 *  - best effort (the access log, and the decision log by default): when
 *    the buffer is full a request thread waits at most LOGQ_WAIT_MS for
 *    room, then drops the line and counts it: a slow or failing disk can
 *    cost lines (counted, reported in /metrics and on stderr), never a
 *    lookup's progress.
 *  - lossless (--decision-log-mode lossless): the writer writes and fsyncs
 *    in batches (whatever was queued while the previous batch was being
 *    synced) and keeps a batch until both succeeded, retrying a failing
 *    device; the buffer's room counts the batch it holds.  A request thread
 *    waits at most the log's wait for room and is told when its lines
 *    could not be queued, so that it answers 503 instead of giving an
 *    answer with no record.  A line is never dropped; after an fsync error
 *    the batch is written again, so a line may appear twice, never not. */
#ifndef QINGDAND_LOGQ_H
#define QINGDAND_LOGQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define LOGQ_CAP ((size_t)4 << 20) /* bytes buffered before lines are dropped or refused */
#define LOGQ_WAIT_MS 50            /* best effort: wait for room before a line is dropped */
#define LOGQ_FLUSH_MS 200
#define LOGQ_RETRY_MS 100          /* lossless: first pause before a failed batch is retried */
#define LOGQ_RETRY_MAX_MS 1000     /* lossless: longest pause between retries */
/* lossless: retries of a failed batch at shutdown before its lines are
 * given up (and counted as errors). */
#define LOGQ_STOP_RETRIES 5

enum logq_mode { LOGQ_BEST_EFFORT, LOGQ_LOSSLESS };

typedef struct logq {
	char *path;              /* "-" for stderr */
	int fd;
	enum logq_mode mode;     /* fixed at open */
	long wait_ms;            /* lossless: how long a request waits for room */
	pthread_mutex_t mu;      /* guards buf, len, held, stop, reopen */
	pthread_cond_t has_data, has_room;
	char *buf;
	size_t len;
	/* Lossless: bytes the writer took from buf and has not yet written
	 * and synced.  Invariant: len + held <= LOGQ_CAP, so the writer's
	 * batch buffer (LOGQ_CAP bytes) always has room for buf. */
	size_t held;
	bool stop, reopen;
	pthread_t thread;
	atomic_uint_fast64_t lines, dropped, errors;
	/* Lossless: requests whose lines could not be queued (answered 503),
	 * batches written and synced, and failed write or fsync attempts. */
	atomic_uint_fast64_t refused, syncs, write_failures;
} logq;

/* Copy s into out (cap > 0 bytes, cut to fit) with every byte outside
 * printable ASCII, and the backslash, written as \xNN: a string from a
 * request then cannot end a log line or start a forged one.  Returns out. */
const char *log_escape(char *out, size_t cap, const char *s);

/* A stderr line that can repeat once per request (a failing audit write):
 * at most one each LOG_REPEAT_INTERVAL_S seconds; the next one written says
 * how many were left out meanwhile.  Define with LOG_LIMIT_INIT. */
#define LOG_REPEAT_INTERVAL_S 1
typedef struct log_limit {
	pthread_mutex_t mu;      /* guards the rest */
	bool written;            /* a line has been written: `last_ms` is set */
	long last_ms;            /* CLOCK_MONOTONIC milliseconds of that line */
	unsigned long long suppressed; /* lines left out since */
} log_limit;
#define LOG_LIMIT_INIT {PTHREAD_MUTEX_INITIALIZER, false, 0, 0}
/* Write the printf-formatted line (without its newline) to stderr unless
 * one went out through l less than LOG_REPEAT_INTERVAL_S seconds ago.
 * Arguments from a request must have gone through log_escape(). */
void log_limited(log_limit *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open path for appending ("-" = stderr) and start the writer thread.
 *   mode     LOGQ_BEST_EFFORT or LOGQ_LOSSLESS (see above)
 *   wait_ms  lossless: how long logq_put() waits for room; ignored
 *            otherwise (best effort waits LOGQ_WAIT_MS)
 * Returns a new log, or NULL with a message in err. */
logq *logq_open(const char *path, enum logq_mode mode, unsigned wait_ms, char *err, size_t errlen);
/* Append lines as one unit: all of them are queued or none.
 *   data, len  the lines, separated by '\n', without the last newline
 *              (it is added); borrowed
 *   nlines     how many lines data holds, for the counters
 * Waits for room at most LOGQ_WAIT_MS (best effort) or the log's wait
 * (lossless).  Returns true when queued; false when not: best effort
 * counts the lines dropped, lossless counts a refusal (the caller must
 * not give the answer the lines record). */
bool logq_put(logq *q, const char *data, size_t len, unsigned nlines);
/* Append one line (a newline is added); logq_put() of one line, for the
 * best-effort logs that do not care whether it was queued. */
void logq_write(logq *q, const char *line, size_t len);
/* Ask the writer to reopen the file (after logrotate moved it). */
void logq_reopen(logq *q);
/* Flush what is buffered, stop the writer and close; NULL is ignored. */
void logq_close(logq *q);

#endif
