/* qingdanctl — the feed as files (publish) and one round of following a
 * primary (follow-once). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ctl.h"
#include "follow.h"
#include "qingdan/date.h"
#include "qingdan/err.h"
#include "qingdan/sign.h"
#include "qingdan/store.h"

/* ---- publish ---- */

/* Write the n bytes at p to path atomically: a temporary file in the same
 * directory, flushed to disk, then renamed over path, so that a reader
 * (nginx, a copy to a removable disk) sees the old file or the new one,
 * never half of one. */
static int write_atomic(const char *path, const void *p, size_t n)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return -e;
		}
		c += w;
		n -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

/* Flush dir's entries to disk: the renames into it survive a crash or a
 * removable disk pulled out once publish has said it is done. */
static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int e = fsync(fd) != 0 ? -errno : 0;
	close(fd);
	return e;
}

static int mkdir_p(const char *dir)
{
	return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

/* The head a directory was published up to (0 and no hash when none). */
static int published_head(const char *dir, uint64_t *head, char hash[QD_FEED_HASH_HEX])
{
	char path[4200];
	snprintf(path, sizeof path, "%s/feed/index.json", dir);
	*head = 0;
	hash[0] = '\0';
	json_error_t je;
	json_t *idx = json_load_file(path, 0, &je);
	if (!idx)
		return access(path, F_OK) == 0 ? -EINVAL : 0;
	json_t *h = json_object_get(idx, "head");
	const char *hh = json_string_value(json_object_get(idx, "head_hash"));
	int ret = json_is_integer(h) && json_integer_value(h) >= 0 && hh && strlen(hh) == 64 ? 0 : -EINVAL;
	if (!ret) {
		*head = (uint64_t)json_integer_value(h);
		snprintf(hash, QD_FEED_HASH_HEX, "%s", hh);
	}
	json_decref(idx);
	return ret;
}

/* Write docs/<seq>.json: the canonical document of rec's version; *gone
 * set (nothing written) when the store no longer retains it. */
static int publish_doc(qd_store *st, const char *dir, const qd_feed_rec *rec, bool *gone)
{
	*gone = false;
	qd_doc_reader *r;
	int rc = qd_store_doc_reader_open(st, rec->list, rec->version, &r);
	if (rc == QD_EGONE || rc == QD_ENOVERSION || rc == QD_ENOLIST) {
		*gone = true;
		return 0;
	}
	if (rc)
		return rc;
	qd_buf b;
	qd_buf_init(&b);
	const char *data;
	size_t len;
	while (!(rc = qd_store_doc_reader_next(r, &data, &len)) && len)
		qd_buf_add(&b, data, len);
	qd_store_doc_reader_close(r);
	if (!rc && b.oom)
		rc = QD_ENOMEM;
	if (!rc) {
		char path[4200];
		snprintf(path, sizeof path, "%s/feed/docs/%llu.json", dir, (unsigned long long)rec->seq);
		if (write_atomic(path, b.data ? b.data : "", b.len))
			rc = QD_EIO;
	}
	qd_buf_free(&b);
	return rc;
}

int ctl_publish(const char *db, const char *dir)
{
	char sub[4200];
	int e = mkdir_p(dir);
	snprintf(sub, sizeof sub, "%s/feed", dir);
	e = e ? e : mkdir_p(sub);
	snprintf(sub, sizeof sub, "%s/feed/records", dir);
	e = e ? e : mkdir_p(sub);
	snprintf(sub, sizeof sub, "%s/feed/docs", dir);
	e = e ? e : mkdir_p(sub);
	if (e) {
		fprintf(stderr, "qingdanctl: publish: cannot create %s: %s\n", sub, strerror(-e));
		return CTL_EX_CANTCREAT;
	}
	uint64_t from;
	char from_hash[QD_FEED_HASH_HEX];
	if (published_head(dir, &from, from_hash)) {
		fprintf(stderr, "qingdanctl: publish: %s/feed/index.json is not a feed index; "
				"publish into an empty directory or one this store published to\n", dir);
		return CTL_EX_FAIL;
	}
	qd_store *st;
	int ex = ctl_open_store(db, true, &st);
	if (ex)
		return ex;
	uint64_t head;
	char head_hash[QD_FEED_HASH_HEX];
	int rc = qd_store_feed_head(st, &head, head_hash);
	/* Incremental, but only onto this store's own chain. */
	qd_feed_rec last = {0};
	if (!rc && from && (from > head || (rc = qd_store_feed_get(st, from, &last)) != 0 ||
			    strcmp(last.hash, from_hash) != 0)) {
		qd_feed_rec_free(&last);
		qd_store_close(st);
		fprintf(stderr, "qingdanctl: publish: %s holds record %llu of another feed (or of a newer "
				"store); publish into an empty directory\n", dir, (unsigned long long)from);
		return CTL_EX_FAIL;
	}
	qd_feed_rec_free(&last);
	uint64_t docs = 0, gone = 0, after = from;
	qd_buf b;
	qd_buf_init(&b);
	while (!rc && after < head) {
		qd_feed_page page;
		if ((rc = qd_store_feed_page(st, after, QD_FEED_PAGE_MAX, &page)))
			break;
		for (size_t i = 0; !rc && i < page.n; i++) {
			const qd_feed_rec *r = &page.recs[i];
			bool g;
			/* The document before its record: a reader that sees a
			 * record finds its document (unless pruned). */
			if ((rc = publish_doc(st, dir, r, &g)))
				break;
			docs += !g;
			gone += g;
			qd_buf_reset(&b);
			qd_feed_rec_json(&b, r);
			qd_buf_putc(&b, '\n');
			snprintf(sub, sizeof sub, "%s/feed/records/%llu.json", dir, (unsigned long long)r->seq);
			if (b.oom || write_atomic(sub, b.data, b.len))
				rc = QD_EIO;
			after = r->seq;
		}
		if (!page.n)
			break;
		qd_feed_page_free(&page);
	}
	/* The documents and records are on disk before the index names
	 * them. */
	if (!rc && after != from) {
		snprintf(sub, sizeof sub, "%s/feed/docs", dir);
		if (fsync_dir(sub))
			rc = QD_EIO;
		snprintf(sub, sizeof sub, "%s/feed/records", dir);
		if (!rc && fsync_dir(sub))
			rc = QD_EIO;
	}
	if (!rc && after != from) {
		qd_feed_rec r;
		if (!(rc = qd_store_feed_get(st, after, &r))) {
			char now[21];
			qd_time_format((int64_t)time(NULL), now);
			qd_buf_reset(&b);
			qd_buf_printf(&b, "{\"head\":%llu,\"head_hash\":\"%s\",\"published_at\":\"%s\"}\n",
				      (unsigned long long)after, r.hash, now);
			snprintf(sub, sizeof sub, "%s/feed/index.json", dir);
			if (b.oom || write_atomic(sub, b.data, b.len))
				rc = QD_EIO;
			/* The index's rename, and feed/ itself when this
			 * publish made it. */
			snprintf(sub, sizeof sub, "%s/feed", dir);
			if (!rc && (fsync_dir(sub) || fsync_dir(dir)))
				rc = QD_EIO;
			qd_feed_rec_free(&r);
		}
	}
	qd_buf_free(&b);
	qd_store_close(st);
	if (rc) {
		fprintf(stderr, "qingdanctl: publish: %s (the index still names record %llu; run again)\n",
			qd_strerror(rc), (unsigned long long)from);
		return ctl_ex_for(rc);
	}
	if (after == from)
		printf("published: %s is up to date (record %llu)\n", dir, (unsigned long long)from);
	else
		printf("published records %llu to %llu into %s (%llu documents, %llu pruned versions without one)\n",
		       (unsigned long long)from + 1, (unsigned long long)after, dir, (unsigned long long)docs,
		       (unsigned long long)gone);
	return 0;
}

/* ---- follow-once ---- */

int ctl_follow_once(const char *db, const char *source, const char *keyfile)
{
	qd_key **keys = NULL;
	size_t nkeys = 0;
	int rc = qd_keys_load_file(keyfile, &keys, &nkeys);
	if (rc) {
		fprintf(stderr, "qingdanctl: follow-once: --key %s: %s\n", keyfile, qd_strerror(rc));
		return ctl_ex_for(rc);
	}
	int ex = 0;
	char err[512];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	follower *f = follower_new(source, keys, nkeys, CTL_MAX_DOCUMENT_BYTES, err, sizeof err);
	qd_store *st = NULL;
	if (!f) {
		fprintf(stderr, "qingdanctl: follow-once: %s\n", err);
		ex = CTL_EX_USAGE;
	} else if (!(ex = ctl_open_store(db, false, &st))) {
		follow_step s;
		follower_step(f, st, 0, &s);
		if (s.fault) {
			fprintf(stderr, "qingdanctl: follow-once: %s: %s (%s)\n", source, s.why,
				qd_replica_fault_name(s.fault));
			ex = CTL_EX_FAIL;
		}
		printf("follow-once: applied %u record(s); this store is at record %llu, the source at %llu\n",
		       s.applied, (unsigned long long)s.applied_seq, (unsigned long long)s.head_seq);
	}
	qd_store_close(st);
	follower_free(f);
	curl_global_cleanup();
	for (size_t i = 0; i < nkeys; i++)
		qd_key_free(keys[i]);
	free(keys);
	return ex;
}
