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
