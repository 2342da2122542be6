/* Fuzz target: the CSV loader (qd_csv_to_listdoc) against fixed base
 * documents: each input is imported into the sample positive list and the
 * sample whitelist with the charset detected, and into the positive list
 * read as GB18030.
 *
 * Invariants: a refused file comes with at least one problem, each with a
 * line; an accepted file yields a document whose canonical form is a fixed
 * point of dump -> parse -> dump, that keeps the base's id, kind, clauses
 * and roster. */
#include <string.h>

#include "fuzz.h"
#include "qingdan/csvdoc.h"
#include "qingdan/err.h"
#include "qingdan/listdoc.h"

#define QD_FUZZ_NO_LISTDOC_TARGET
#include "fuzz_listdoc.c"

static qd_listdoc *base_positive, *base_whitelist;

static qd_listdoc *load_base(const char *relpath)
{
	size_t len;
	char *buf = fuzz_read_source(relpath, &len);
	qd_problems pr;
	qd_problems_init(&pr);
	qd_listdoc *doc = NULL;
	if (qd_listdoc_parse(buf, len, NULL, &doc, &pr) != 0) {
		fprintf(stderr, "fuzz_csv: the base document %s does not load\n", relpath);
		abort();
	}
	qd_problems_free(&pr);
	free(buf);
	return doc;
}

static void free_bases(void)
{
	qd_listdoc_free(base_positive);
	qd_listdoc_free(base_whitelist);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	base_positive = load_base("schema/examples/gba-research-positive.json");
	base_whitelist = load_base("schema/examples/biomed-rd-whitelist.json");
	atexit(free_bases);
	return 0;
}

static void one(const uint8_t *data, size_t size, const char *charset, const qd_listdoc *base)
{
	qd_problems pr;
	qd_problems_init(&pr);
	qd_listdoc *doc = NULL;
	int rc = qd_csv_to_listdoc((const char *)data, size, charset, base, &doc, &pr);
	if (rc == 0) {
		FUZZ_CHECK(doc != NULL);
		FUZZ_CHECK(strcmp(doc->list, base->list) == 0 && doc->kind == base->kind);
		FUZZ_CHECK(doc->n_clauses == base->n_clauses && doc->n_members == base->n_members);
		check_canonical(doc);
	} else {
		FUZZ_CHECK(rc == QD_EINVAL || rc == QD_ENOMEM);
		FUZZ_CHECK(rc == QD_ENOMEM || qd_problems_total(&pr) > 0);
		for (size_t i = 0; i < pr.count; i++)
			FUZZ_CHECK(pr.items[i].message != NULL);
	}
	qd_listdoc_free(doc);
	qd_problems_free(&pr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base_positive)
		LLVMFuzzerInitialize(NULL, NULL);
	one(data, size, NULL, base_positive);
	one(data, size, NULL, base_whitelist);
	one(data, size, "gb18030", base_positive);
	return 0;
}
