/* qingdand — the threads beside libmicrohttpd's: the audit queue's writer
 * (auditq.h), the job threads (jobs.h) and the watcher of parked long
 * polls of the feed (feedwait.h). */
#ifndef QINGDAND_WORKERS_H
#define QINGDAND_WORKERS_H

#include <stdbool.h>

#include "qingdand.h"

/* Start srv's audit queue and job threads as srv->cfg says, after
 * server_init() and before libmicrohttpd starts.  Returns false (having
 * said why on stderr) when a thread cannot be had. */
bool workers_start(server *srv);

/* Answer the parked long polls of the feed at once: when libmicrohttpd
 * stops accepting, before the grace for requests in flight. */
void workers_drain(server *srv);

/* Answer the parked long polls, run the queued jobs to their end and stop
 * the job threads: after
 * libmicrohttpd stopped accepting, before MHD_stop_daemon() (a suspended
 * connection must be handed back first). */
void workers_stop_jobs(server *srv);

/* Write what the audit queue still counts and stop it: after
 * MHD_stop_daemon(). */
void workers_stop_audit(server *srv);

#endif
