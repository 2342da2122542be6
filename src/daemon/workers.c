/* qingdand — the threads beside libmicrohttpd's (see workers.h). */
#include <stdio.h>

#include <curl/curl.h>

#include "auditq.h"
#include "feedwait.h"
#include "following.h"
#include "jobs.h"
#include "workers.h"

/* A version applied from the primary: wake long polls of this feed. */
static void wake_feed(void *arg)
{
	server *srv = arg;
	feedwait_notify(srv->feedwait);
}

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
	if (srv->cfg.follow) {
		char err[600];
		curl_global_init(CURL_GLOBAL_DEFAULT);
		srv->following = following_start(srv->store, srv->cfg.follow, srv->cfg.follow_key,
						 srv->cfg.follow_interval, srv->cfg.max_staleness,
						 srv->cfg.max_document_bytes,
						 wake_feed, srv, err, sizeof err);
		if (!srv->following) {
			fprintf(stderr, "qingdand: --%s\n", err);
			workers_stop_jobs(srv);
			workers_stop_audit(srv);
			return false;
		}
		fprintf(stderr, "qingdand: following %s (read-only replica)\n", srv->cfg.follow);
	}
	return true;
}

void workers_drain(server *srv)
{
	feedwait_drain(srv->feedwait);
}

void workers_stop_jobs(server *srv)
{
	if (srv->following) {
		following_stop(srv->following);
		srv->following = NULL;
		curl_global_cleanup();
	}
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
