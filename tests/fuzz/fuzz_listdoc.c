/* Fuzz target: the JSON list document loader (qd_listdoc_parse).
 *
 * Invariants: a refused document comes with at least one problem; an
 * accepted document dumps to its canonical form, and that form loads again
 * and dumps to the identical bytes (dump -> parse -> dump is the identity),
 * which is what makes an exported version reproduce itself on reload.
 * The compact writer (jsonw.c) writes what json_dumps writes: for every
 * value the input parses to, at the loader's precision and at jansson's
 * default, and for every canonical entry. */
#include <string.h>

#include "fuzz.h"
#include "qingdan/err.h"
#include "qingdan/jsonw.h"
#include "qingdan/listdoc.h"

/* dump -> parse -> dump must be a fixed point; shared with fuzz_csv.c. */
static void check_canonical(const qd_listdoc *doc)
{
	size_t len1, len2;
	char *d1 = qd_listdoc_dump(doc, &len1);
	FUZZ_CHECK(d1 != NULL);
	FUZZ_CHECK(strlen(d1) == len1 && len1 > 0 && d1[len1 - 1] == '\n');
	qd_problems pr;
	qd_problems_init(&pr);
	qd_listdoc *again = NULL;
	int rc = qd_listdoc_parse(d1, len1, doc->list, &again, &pr);
	if (rc != 0) {
		fprintf(stderr, "canonical form does not load again (%s):\n", qd_strerror(rc));
		for (size_t i = 0; i < pr.count; i++)
			fprintf(stderr, "  %s: %s\n", pr.items[i].path ? pr.items[i].path : "-", pr.items[i].message);
		fprintf(stderr, "---- canonical form ----\n%s\n", d1);
	}
	FUZZ_CHECK(rc == 0);
	char *d2 = qd_listdoc_dump(again, &len2);
	FUZZ_CHECK(d2 != NULL);
	if (len1 != len2 || memcmp(d1, d2, len1) != 0)
		fprintf(stderr, "---- first dump ----\n%s\n---- second dump ----\n%s\n", d1, d2);
	FUZZ_CHECK(len1 == len2 && memcmp(d1, d2, len1) == 0);
	FUZZ_CHECK(again->n_entries == doc->n_entries && again->n_clauses == doc->n_clauses &&
		   again->n_members == doc->n_members && again->kind == doc->kind);
	/* Each entry line of the dump is json_dumps' rendering of the entry. */
	for (size_t i = 0; i < doc->n_entries; i++) {
		size_t el;
		char *mine = qd_listdoc_entry_json(doc, i, &el);
		json_t *tree = json_loadb(doc->entries[i].json, doc->entries[i].json_len, 0, NULL);
		char *want = json_dumps(tree, JSON_COMPACT | JSON_REAL_PRECISION(15));

		json_decref(tree);

		FUZZ_CHECK(mine != NULL && want != NULL && strcmp(mine, want) == 0 && el == strlen(want));
		free(mine);
		free(want);
	}
	/* The stored form (head and entries' bytes) is loaded back through
	 * qd_listdoc_from_json. */
	qd_listdoc *fj = NULL;
	json_t *whole = json_copy(again->json), *arr = json_array();
	for (size_t i = 0; i < again->n_entries; i++)
		json_array_append_new(arr, json_loadb(again->entries[i].json, again->entries[i].json_len, 0, NULL));
	json_object_set_new(whole, "entries", arr);
	FUZZ_CHECK(qd_listdoc_from_json(whole, doc->list, &fj, &pr) == 0);
	json_decref(whole);
	qd_listdoc_free(fj);
	free(d2);
	qd_listdoc_free(again);
	qd_problems_free(&pr);
	free(d1);
}

#ifndef QD_FUZZ_NO_LISTDOC_TARGET
/* qd_json_write(j) == json_dumps(j), or both fail. */
static void check_writer(const json_t *j, int precision)
{
	char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(precision));
	qd_buf b;
	int rc;

	qd_buf_init(&b);
	rc = qd_json_write(&b, j, precision);
	if (want == NULL) {
		FUZZ_CHECK(rc == QD_EINVAL);
	} else {
		if (rc != 0 || b.len != strlen(want) || memcmp(b.data, want, b.len) != 0)
			fprintf(stderr, "---- json_dumps ----\n%s\n---- qd_json_write (%d) ----\n%.*s\n",
				want, rc, (int)b.len, b.data ? b.data : "");
		FUZZ_CHECK(rc == 0 && b.len == strlen(want) && memcmp(b.data, want, b.len) == 0);
	}
	qd_buf_free(&b);
	free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	qd_problems pr;
	qd_problems_init(&pr);
	qd_listdoc *doc = NULL;
	json_t *any = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (any != NULL) {
		check_writer(any, 15);
		check_writer(any, 0);
		json_decref(any);
	}
	int rc = qd_listdoc_parse((const char *)data, size, NULL, &doc, &pr);
	if (rc == 0) {
		FUZZ_CHECK(doc != NULL && qd_list_id_valid(doc->list));
		check_canonical(doc);
	} else {
		FUZZ_CHECK(rc == QD_EINVAL || rc == QD_ESYNTAX || rc == QD_ENOMEM);
		FUZZ_CHECK(rc == QD_ENOMEM || qd_problems_total(&pr) > 0);
		for (size_t i = 0; i < pr.count; i++)
			FUZZ_CHECK(pr.items[i].message != NULL && pr.items[i].path != NULL);
	}
	qd_listdoc_free(doc);
	qd_problems_free(&pr);
	return 0;
}
#endif
