/* qingdand — buffered log files written by a background thread.
 *
 * Request threads append whole lines to a bounded buffer and go on; one
 * writer thread per log flushes it.  When the buffer is full a request
 * thread waits at most LOGQ_WAIT_MS for room, then drops the line and
 * counts it: a slow or failing disk can cost lines (counted, reported in
 * /metrics and on stderr), never a lookup's progress. */
#ifndef QINGDAND_LOGQ_H
#define QINGDAND_LOGQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define LOGQ_CAP ((size_t)4 << 20) /* bytes buffered before lines are dropped */
#define LOGQ_WAIT_MS 50
#define LOGQ_FLUSH_MS 200

typedef struct logq {
	char *path;              /* "-" for stderr */
	int fd;
	pthread_mutex_t mu;      /* guards buf, len, stop, reopen */
	pthread_cond_t has_data, has_room;
	char *buf;
	size_t len;
	bool stop, reopen;
	pthread_t thread;
	atomic_uint_fast64_t lines, dropped, errors;
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
 * Returns a new log, or NULL with a message in err. */
logq *logq_open(const char *path, char *err, size_t errlen);
/* Append one line (a newline is added). Never blocks longer than LOGQ_WAIT_MS. */
void logq_write(logq *q, const char *line, size_t len);
/* Ask the writer to reopen the file (after logrotate moved it). */
void logq_reopen(logq *q);
/* Flush what is buffered, stop the writer and close; NULL is ignored. */
void logq_close(logq *q);

#endif
