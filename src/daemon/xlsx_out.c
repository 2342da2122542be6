/* qingdand — workbook (.xlsx) answers. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qingdan/err.h"
#include "qingdan/xlsx.h"
#include "xlsx_out.h"

bool xlsx_requested(struct MHD_Connection *c)
{
	const char *f = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
	if (f)
		return strcmp(f, "xlsx") == 0;
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	return a && strcasestr(a, QD_XLSX_TYPE) != NULL;
}

bool xlsx_format_param(struct MHD_Connection *c, const param *p, bool *xlsx, enum MHD_Result *res)
{
	if (p->value && !(p->len == 4 && memcmp(p->value, "json", 4) == 0) &&
	    !(p->len == 4 && memcmp(p->value, "xlsx", 4) == 0)) {
		*res = respond_param_error(c, E_BAD_PARAMETER, "format",
					   "format: expected json or xlsx (an .xlsx workbook)");
		return false;
	}
	*xlsx = xlsx_requested(c);
	return true;
}

/* What writes a workbook at a path: one of xlsx.h's writers. */
typedef int (*write_fn)(const char *path, const void *a, const void *b, const void *d);

/* Write a workbook into a temporary file (under $TMPDIR, else /tmp),
 * read it back and queue it as an attachment named filename. */
static enum MHD_Result send_workbook(struct MHD_Connection *c, const char *filename, write_fn write,
				     const void *a, const void *b, const void *d)
{
	const char *dir = getenv("TMPDIR");
	char path[512], disp[160];
	snprintf(path, sizeof path, "%s/qingdand-XXXXXX.xlsx", dir && *dir ? dir : "/tmp");
	/* The file is ours alone (0600) and gone before the answer is sent;
	 * the descriptor reads what the writer wrote under the name. */
	int fd = mkstemps(path, 5);
	if (fd < 0)
		return respond_error(c, E_INTERNAL, "cannot create a temporary file for the workbook");
	int err = write(path, a, b, d);
	unlink(path);
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	if (!err && (fstat(fd, &st) != 0 || (data = malloc((size_t)st.st_size + 1)) == NULL))
		err = QD_ENOMEM;
	while (!err && len < (size_t)st.st_size) {
		ssize_t k = pread(fd, data + len, (size_t)st.st_size - len, (off_t)len);
		if (k <= 0)
			err = QD_EIO;
		else
			len += (size_t)k;
	}
	close(fd);
	if (err) {
		free(data);
		return respond_lib_error(c, err, err == QD_EIO ? "cannot write the workbook (temporary files)" : NULL);
	}
	snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", filename);
	return respond_raw(c, MHD_HTTP_OK, data, len, QD_XLSX_TYPE, "no-store", MHD_HTTP_HEADER_CONTENT_DISPOSITION,
			   disp);
}

static int write_list(const char *path, const void *doc, const void *version, const void *unused)
{
	(void)unused;
	return qd_xlsx_write_list(doc, *(const uint32_t *)version, path);
}

enum MHD_Result xlsx_send_version(struct MHD_Connection *c, server *srv, const char *list, uint32_t v,
				  int *err)
{
	qd_listdoc *doc;
	*err = qd_store_get_doc(srv->store, list, v, &doc);
	if (*err)
		return MHD_NO;
	char name[96];
	snprintf(name, sizeof name, "%s-v%u.xlsx", list, v);
	enum MHD_Result res = send_workbook(c, name, write_list, doc, &v, NULL);
	qd_listdoc_free(doc);
	return res;
}

/* The two documents of a diff. */
typedef struct diff_docs {
	const char *list;
	const qd_listdoc *from, *to;
} diff_docs;

static int write_diff(const char *path, const void *docs, const void *diff, const void *unused)
{
	(void)unused;
	const diff_docs *dd = docs;
	return qd_xlsx_write_diff(dd->list, diff, dd->from, dd->to, path);
}

enum MHD_Result xlsx_send_diff(struct MHD_Connection *c, server *srv, const char *list, const qd_diff *d,
			       int *err)
{
	qd_listdoc *from = NULL, *to = NULL;
	enum MHD_Result res = MHD_NO;
	*err = qd_store_get_doc(srv->store, list, d->from, &from);
	if (!*err)
		*err = qd_store_get_doc(srv->store, list, d->to, &to);
	if (!*err) {
		char name[128];
		snprintf(name, sizeof name, "%s-diff-v%u-v%u.xlsx", list, d->from, d->to);
		diff_docs dd = {list, from, to};
		res = send_workbook(c, name, write_diff, &dd, d, NULL);
	}
	qd_listdoc_free(from);
	qd_listdoc_free(to);
	return res;
}

static int write_check(const char *path, const void *asked, const void *answer, const void *unused)
{
	(void)unused;
	return qd_xlsx_write_check(asked, answer, path);
}

enum MHD_Result xlsx_send_check(struct MHD_Connection *c, const json_t *asked, qd_buf *body, size_t start)
{
	json_t *answer = body->oom ? NULL : json_loadb(body->data + start, body->len - start, 0, NULL);
	qd_buf_free(body);
	if (!answer)
		return respond_lib_error(c, QD_ENOMEM, NULL);
	char name[96];
	const char *id = json_string_value(json_object_get(answer, "decision_id"));
	snprintf(name, sizeof name, "check-%s.xlsx", id ? id : "result");
	enum MHD_Result res = send_workbook(c, name, write_check, asked, answer, NULL);
	json_decref(answer);
	return res;
}
