/* qingdand — the threads beside libmicrohttpd's (see workers.h). */
#include <stdio.h>

#include "auditq.h"
#include "feedwait.h"
#include "jobs.h"
#include "workers.h"

bool workers_start(server *srv)
{
	auditq_opts ao = {.window_s = srv->cfg.audit_window, .retain_days = srv->cfg.audit_retain,
			  .max_attempts = srv->cfg.audit_max_attempts};
	srv->auditq = auditq_start(srv->store, &ao);
	srv->jobs = srv->auditq ? jobs_start(srv->cfg.job_threads, srv->cfg.max_queued_jobs) : NULL;
	srv->feedwait = srv->jobs ? feedwait_start(srv->store) : NULL;
	if (!srv->feedwait) {
		jobs_stop(srv->jobs);
		srv->jobs = NULL;
		fprintf(stderr, "qingdand: cannot start the audit and job threads\n");
		workers_stop_audit(srv);
		return false;
	}
	return true;
}

void workers_stop_jobs(server *srv)
{
	feedwait_stop(srv->feedwait);
	srv->feedwait = NULL;
	jobs_stop(srv->jobs);
	srv->jobs = NULL;
}

void workers_stop_audit(server *srv)
{
	auditq_stop(srv->auditq);
	srv->auditq = NULL;
}
