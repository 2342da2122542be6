/* qingdan — following a primary's feed (see follow.h). */
#include "follow.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "qingdan/err.h"

/* Seconds allowed to connect, and to a transfer beyond its long poll. */
#define FOLLOW_CONNECT_S 5
#define FOLLOW_TRANSFER_S 60

struct follower {
	char *source;           /* as given */
	char *base;             /* URL without a trailing slash */
	bool http;              /* a primary's API (else a published directory) */
	bool web;               /* read over http(s) (else file://) */
	qd_key *const *keys;
	size_t nkeys;
	size_t max_bytes;
	CURL *curl;
	const _Atomic bool *stop;   /* NULL, or ends transfers when true */
};

follower *follower_new(const char *source, qd_key *const *keys, size_t n, size_t max_bytes, char *err,
		       size_t errlen)
{
	follower *f = calloc(1, sizeof *f);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->keys = keys;
	f->nkeys = n;
	f->max_bytes = max_bytes;
	f->source = strdup(source);
	size_t sl = strlen(source);
	if (strncmp(source, "http://", 7) == 0 || strncmp(source, "https://", 8) == 0) {
		/* http://HOST:PORT is a primary; a URL with a path names a
		 * published directory that a web server, object storage or a
		 * CDN serves as files. */
		const char *path = strchr(source + (source[4] == 's' ? 8 : 7), '/');
		f->web = true;
		f->http = !path || !path[strspn(path, "/")];
		f->base = strdup(source);
	} else if (strncmp(source, "file:///", 8) == 0) {
		f->base = strdup(source);
	} else if (source[0] == '/') {
		f->base = malloc(sl + 8);
		if (f->base)
			snprintf(f->base, sl + 8, "file://%s", source);
	} else if (sl && !strstr(source, "://")) {
		char cwd[4096];
		if (getcwd(cwd, sizeof cwd)) {
			size_t n2 = strlen(cwd) + sl + 9;
			f->base = malloc(n2);
			if (f->base)
				snprintf(f->base, n2, "file://%s/%s", cwd, source);
		}
	} else {
		snprintf(err, errlen, "%s: expected http://HOST:PORT, https://…, file:///DIR or a directory", source);
		follower_free(f);
		return NULL;
	}
	f->curl = curl_easy_init();
	if (!f->source || !f->base || !f->curl) {
		snprintf(err, errlen, "out of memory");
		follower_free(f);
		return NULL;
	}
	size_t bl = strlen(f->base);
	while (bl > 8 && f->base[bl - 1] == '/')
		f->base[--bl] = '\0';
	return f;
}

void follower_free(follower *f)
{
	if (!f)
		return;
	if (f->curl)
		curl_easy_cleanup(f->curl);
	free(f->source);
	free(f->base);
	free(f);
}

const char *follower_source(const follower *f)
{
	return f->source;
}

bool follower_long_polls(const follower *f)
{
	return f->http;
}

void follower_set_stop(follower *f, const _Atomic bool *stop)
{
	f->stop = stop;
}

/* ---- transfers ---- */

/* libcurl's progress callback, called about once a second even while a
 * long poll receives nothing: a non-zero return ends the transfer. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	const follower *f = arg;
	return f->stop && *f->stop;
}

typedef struct sink {
	qd_buf *b;
	size_t max;
	bool too_big;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	sink *s = arg;
	size_t len = size * n;
	if (s->b->len + len > s->max) {
		s->too_big = true;
		return 0;
	}
	qd_buf_add(s->b, p, len);
	return s->b->oom ? 0 : len;
}

/* GET base + path into out.  Returns 0 and the HTTP status (200 for a
 * file that was read) in *status, or QD_RF_FETCH with why filled; a file
 * that does not exist gives *status 404. */
static enum qd_replica_fault get(follower *f, const char *path, long timeout_s, qd_buf *out, long *status,
				 char *why, size_t whylen)
{
	char url[4096];
	snprintf(url, sizeof url, "%s%s", f->base, path);
	qd_buf_reset(out);
	sink s = {.b = out, .max = f->max_bytes};
	CURL *c = f->curl;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)FOLLOW_CONNECT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, f->web ? "http,https" : "file");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "qingdan-follower");
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
	CURLcode rc = curl_easy_perform(c);
	*status = 0;
	if (rc == CURLE_FILE_COULDNT_READ_FILE) {
		*status = 404;
		return QD_RF_NONE;
	}
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%.300s: %s", url, s.too_big ? "larger than the largest document accepted"
						      : curl_easy_strerror(rc));
		return QD_RF_FETCH;
	}
	if (f->web)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	else
		*status = 200;
	return QD_RF_NONE;
}

/* The records after `after` and the source's head: one page of an HTTP
 * primary's feed, or the index and record files of a directory. */
static enum qd_replica_fault read_page(follower *f, uint64_t after, unsigned wait_s, json_t **records,
				       uint64_t *head, qd_buf *b, char *why, size_t whylen)
{
	char path[128];
	long status;
	enum qd_replica_fault fault;
	*records = NULL;
	if (f->http)
		snprintf(path, sizeof path, "/v1/feed?after=%llu&limit=%d&wait=%u", (unsigned long long)after,
			 FOLLOW_PAGE, wait_s);
	else
		snprintf(path, sizeof path, "/feed/index.json");
	if ((fault = get(f, path, (long)wait_s + FOLLOW_TRANSFER_S, b, &status, why, whylen)))
		return fault;
	if (status != 200) {
		snprintf(why, whylen, "%s%s: %s %ld", f->base, path, f->http ? "HTTP" : "missing, status", status);
		return QD_RF_FETCH;
	}
	json_t *page = json_loadb(b->data, b->len, 0, NULL);
	json_t *h = json_object_get(page, "head");
	if (!json_is_integer(h) || json_integer_value(h) < 0 ||
	    (f->http && !json_is_array(json_object_get(page, "records")))) {
		json_decref(page);
		snprintf(why, whylen, "%s%s is not a feed page", f->base, path);
		return QD_RF_FORMAT;
	}
	*head = (uint64_t)json_integer_value(h);
	if (f->http) {
		*records = json_incref(json_object_get(page, "records"));
		json_decref(page);
		return QD_RF_NONE;
	}
	json_decref(page);
	*records = json_array();
	for (uint64_t seq = after + 1; seq <= *head && seq <= after + FOLLOW_PAGE; seq++) {
		snprintf(path, sizeof path, "/feed/records/%llu.json", (unsigned long long)seq);
		if ((fault = get(f, path, FOLLOW_TRANSFER_S, b, &status, why, whylen)))
			return fault;
		json_t *rec = status == 200 ? json_loadb(b->data, b->len, 0, NULL) : NULL;
		if (!rec) {
			/* The records before it are still applied; this one is
			 * the step's fault. */
			snprintf(why, whylen, "%s%s: %s", f->base, path,
				 status == 200 ? "not JSON" : "missing (the index names a record that is not there)");
			return status == 200 ? QD_RF_FORMAT : QD_RF_CHAIN;
		}
		json_array_append_new(*records, rec);
	}
	return QD_RF_NONE;
}

/* Check, fetch the document of, and apply one record. */
static enum qd_replica_fault apply_one(follower *f, qd_store *st, json_t *j, qd_buf *b, char *why,
				       size_t whylen)
{
	qd_feed_rec rec;
	if (qd_feed_rec_from_json(j, &rec)) {
		snprintf(why, whylen, "a record of the feed is not a feed record");
		return QD_RF_FORMAT;
	}
	qd_feed_fields ff;
	enum qd_replica_fault fault = qd_replica_check(&rec, f->keys, f->nkeys, &ff, why, whylen);
	uint64_t head = 0;
	char hash[QD_FEED_HASH_HEX];
	if (!fault && qd_store_feed_head(st, &head, hash)) {
		snprintf(why, whylen, "cannot read this store's feed");
		fault = QD_RF_STORE;
	}
	/* Before the download: a record out of order, or one whose prev is
	 * not this store's head, is never applied, whatever its document. */
	if (!fault && (ff.seq != head + 1 || strcmp(ff.prev, hash) != 0)) {
		snprintf(why, whylen,
			 ff.seq != head + 1 ? "record %llu came where record %llu was due: the feed is reordered or a record is missing"
					    : "record %llu: prev is not the hash of this store's record %llu",
			 (unsigned long long)ff.seq, (unsigned long long)head + (ff.seq != head + 1));
		fault = QD_RF_CHAIN;
	}
	if (!fault) {
		char path[96];
		long status;
		snprintf(path, sizeof path, f->http ? "/v1/feed/%llu" : "/feed/docs/%llu.json", (unsigned long long)ff.seq);
		fault = get(f, path, FOLLOW_TRANSFER_S, b, &status, why, whylen);
		if (!fault && (status == 410 || (!f->http && status == 404))) {
			snprintf(why, whylen,
				 "record %llu names version %u of %s, which the primary no longer retains: "
				 "start this replica from a qingdanctl backup of the primary",
				 (unsigned long long)ff.seq, ff.version, ff.list);
			fault = QD_RF_GONE;
		} else if (!fault && status != 200) {
			snprintf(why, whylen, "%s%s: HTTP %ld", f->base, path, status);
			fault = QD_RF_FETCH;
		}
	}
	if (!fault) {
		char source[256];
		snprintf(source, sizeof source, "follow %s", f->source);
		fault = qd_replica_apply(st, &rec, &ff, b->data ? b->data : "", b->len, source, why, whylen);
	}
	qd_feed_rec_free(&rec);
	return fault;
}

void follower_step(follower *f, qd_store *st, unsigned wait_s, follow_step *out)
{
	memset(out, 0, sizeof *out);
	qd_buf b;
	qd_buf_init(&b);
	for (;;) {
		uint64_t after = 0;
		if (qd_store_feed_head(st, &after, NULL)) {
			snprintf(out->why, sizeof out->why, "cannot read this store's feed");
			out->fault = QD_RF_STORE;
			break;
		}
		out->applied_seq = after;
		json_t *records;
		/* Only the first read of a step waits: later pages are read
		 * while catching up. */
		enum qd_replica_fault page_fault = read_page(f, after, out->polled ? 0 : wait_s, &records,
							      &out->head_seq, &b, out->why, sizeof out->why);
		char page_why[sizeof out->why];
		memcpy(page_why, out->why, sizeof page_why);
		if (!page_fault)
			out->polled = true;
		size_t n = json_array_size(records);
		for (size_t i = 0; !out->fault && i < n; i++) {
			out->fault = apply_one(f, st, json_array_get(records, i), &b, out->why, sizeof out->why);
			if (!out->fault) {
				out->applied++;
				out->applied_seq++;
			}
		}
		json_decref(records);
		if (!out->fault && page_fault) {
			out->fault = page_fault;
			memcpy(out->why, page_why, sizeof page_why);
		}
		if (out->fault || !n || out->applied_seq >= out->head_seq)
			break;
	}
	qd_buf_free(&b);
}
