/* qingdan tests — fixtures shared by the store-backed unit tests:
 * a temporary root directory per test program, fresh store directories
 * under it, list documents written as JSON with single quotes, and the
 * store calls a test expects to succeed.
 *
 * The builders that can fail assert with Check (ck_assert_*), so they are
 * for use inside a test or a checked fixture; a failure names what broke
 * (the document's first problem, the store's error). */
#ifndef QD_TEST_FIXTURE_H
#define QD_TEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "qingdan/listdoc.h"
#include "qingdan/store.h"

/* ---- directories ---- */

/* Create the program's temporary root, /tmp/qd-test-NAME-XXXXXX; aborts on
 * failure.  Call from an unchecked fixture (it runs in the runner process). */
void fx_root_setup(const char *name);
/* Remove the root and everything in it. */
void fx_root_teardown(void);
/* A fresh, empty directory under the root; free() the result. */
char *fx_fresh_dir(void);
/* Remove path and, for a directory, everything below it. */
void fx_rm_rf(const char *path);
/* Remove dir and everything below it, then free() dir (a string from
 * fx_fresh_dir()). */
void fx_drop_dir(char *dir);

/* ---- documents ---- */

/* Copy of s with single quotes turned into double quotes (fixtures contain
 * no apostrophes); free() the result. */
char *fx_dq(const char *s);
/* Parse len bytes of a list document for list (the list id the document
 * must name).  Fails the test, quoting the first problem, unless it parses.
 * Returns a new document; the caller frees it with qd_listdoc_free(). */
qd_listdoc *fx_parse_doc(const char *text, size_t len, const char *list);
/* fx_parse_doc() of a document written with single quotes (see fx_dq()). */
qd_listdoc *fx_parse_sq(const char *sq, const char *list);
/* fx_parse_sq() of the printf-formatted text fmt: one call builds a
 * fixture document from its parts.  Returns a new document as above. */
qd_listdoc *fx_mkdoc(const char *list, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- the store ---- */

/* Open (creating it if need be) the store in dir with opts (NULL:
 * defaults).  Fails the test with the store's message unless it opens.
 * Returns the handle; the caller closes it with qd_store_close(). */
qd_store *fx_open_store(const char *dir, const qd_store_opts *opts);
/* fx_open_store() with default options except `retain` versions kept. */
qd_store *fx_open_retain(const char *dir, unsigned retain);
/* Put options with the given audit fields; the strings are borrowed and
 * must outlive the put. */
qd_put_opts fx_put_opts(const char *actor, const char *action, const char *source,
			int64_t now);
/* qd_store_put() of doc (borrowed) with options o.  Fails the test unless
 * the put succeeds without a problem.  res, when not NULL, receives the
 * put's result. */
void fx_put_doc_ok(qd_store *st, const qd_listdoc *doc, const qd_put_opts *o,
		   qd_put_result *res);

/* Entry i of doc as a jansson tree, parsed from its canonical bytes
 * (which must be NUL-terminated); held until the test process exits. */
json_t *fx_entry_tree(const qd_listdoc *doc, size_t i);

#endif
