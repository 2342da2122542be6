/* qingdan tests — fixtures shared by the store-backed unit tests. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "qingdan/err.h"
#include "qingdan/problems.h"

#include "fixture.h"

static char tmp_root[64];

void fx_rm_rf(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)) != NULL) {
				if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
					continue;
				char child[512];
				snprintf(child, sizeof child, "%s/%s", path, e->d_name);
				fx_rm_rf(child);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

void fx_drop_dir(char *dir)
{
	fx_rm_rf(dir);
	free(dir);
}

void fx_root_setup(const char *name)
{
	snprintf(tmp_root, sizeof tmp_root, "/tmp/qd-test-%.20s-XXXXXX", name);
	if (!mkdtemp(tmp_root)) {
		perror("mkdtemp");
		abort();
	}
}

void fx_root_teardown(void)
{
	fx_rm_rf(tmp_root);
}

char *fx_fresh_dir(void)
{
	char *dir = malloc(strlen(tmp_root) + 16);
	ck_assert_ptr_nonnull(dir);
	sprintf(dir, "%s/st-XXXXXX", tmp_root);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp failed");
	return dir;
}

char *fx_dq(const char *s)
{
	char *r = strdup(s);
	ck_assert_ptr_nonnull(r);
	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

qd_listdoc *fx_parse_doc(const char *text, size_t len, const char *list)
{
	qd_listdoc *doc = NULL;
	qd_problems pr;
	qd_problems_init(&pr);
	int rc = qd_listdoc_parse(text, len, list, &doc, &pr);
	ck_assert_msg(rc == 0, "document %s does not parse (%d): %s: %s", list, rc,
		      pr.count ? pr.items[0].path : "", pr.count ? pr.items[0].message : "");
	qd_problems_free(&pr);
	ck_assert_ptr_nonnull(doc);
	return doc;
}

qd_listdoc *fx_parse_sq(const char *sq, const char *list)
{
	char *text = fx_dq(sq);
	qd_listdoc *doc = fx_parse_doc(text, strlen(text), list);
	free(text);
	return doc;
}

qd_listdoc *fx_mkdoc(const char *list, const char *fmt, ...)
{
	char *raw = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&raw, fmt, ap);
	va_end(ap);
	ck_assert_int_gt(n, 0);
	qd_listdoc *doc = fx_parse_sq(raw, list);
	free(raw);
	return doc;
}

qd_store *fx_open_store(const char *dir, const qd_store_opts *opts)
{
	qd_store *st = NULL;
	char err[256] = "";
	int rc = qd_store_open(dir, opts, &st, err, sizeof err);
	ck_assert_msg(rc == 0, "qd_store_open(%s): %d: %s", dir, rc, err);
	ck_assert_ptr_nonnull(st);
	return st;
}

qd_store *fx_open_retain(const char *dir, unsigned retain)
{
	qd_store_opts opts;
	qd_store_opts_default(&opts);
	opts.retain = retain;
	return fx_open_store(dir, &opts);
}

qd_put_opts fx_put_opts(const char *actor, const char *action, const char *source,
			int64_t now)
{
	qd_put_opts o = {.actor = actor, .action = action, .source = source, .now = now};
	return o;
}

void fx_put_doc_ok(qd_store *st, const qd_listdoc *doc, const qd_put_opts *o,
		   qd_put_result *res)
{
	qd_problems pr;
	qd_problems_init(&pr);
	qd_put_result local;
	int rc = qd_store_put(st, doc, o, res ? res : &local, &pr);
	ck_assert_msg(rc == 0, "put %s failed: %d (%s)", doc->list, rc, qd_strerror(rc));
	ck_assert_uint_eq(pr.count, 0);
	qd_problems_free(&pr);
}

/* Every entry tree fx_entry_tree() handed out, freed at exit. */
static json_t *held_entries;

static void release_held_entries(void)
{
	json_decref(held_entries);
}

json_t *fx_entry_tree(const qd_listdoc *doc, size_t i)
{
	ck_assert_uint_lt(i, doc->n_entries);
	ck_assert_uint_eq(strlen(doc->entries[i].json), doc->entries[i].json_len);
	json_t *e = json_loadb(doc->entries[i].json, doc->entries[i].json_len, 0, NULL);
	ck_assert_ptr_nonnull(e);
	if (held_entries == NULL) {
		held_entries = json_array();
		atexit(release_held_entries);
	}
	json_array_append_new(held_entries, e);
	return e;
}
