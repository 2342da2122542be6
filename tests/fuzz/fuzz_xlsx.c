/* Fuzz target: the spreadsheet loader (qd_xlsx_to_listdoc) against the
 * sample positive list, first sheet and a named one, with a small
 * inflation limit so that size checks are reached; and the plain rows
 * reader (qd_xlsx_rows) of POST /v1/sheet on the same bytes.
 *
 * Invariants: a refused workbook comes with at least one problem; an
 * accepted one yields a document whose canonical form is a fixed point of
 * dump -> parse -> dump and keeps the base's id, kind, clauses and roster;
 * accepted rows are at most the limit, each with an increasing line and
 * text cells. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "qingdan/err.h"
#include "qingdan/listdoc.h"
#include "qingdan/xlsx.h"

#define QD_FUZZ_NO_LISTDOC_TARGET
#include "fuzz_listdoc.c"

static qd_listdoc *base;

static void free_base(void)
{
	qd_listdoc_free(base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t len;
	char *buf = fuzz_read_source("schema/examples/gba-research-positive.json", &len);

	(void)argc;
	(void)argv;
	qd_xlsx_init();
	if (qd_listdoc_parse(buf, len, NULL, &base, NULL) != 0) {
		fprintf(stderr, "fuzz_xlsx: the base document does not load\n");
		abort();
	}
	free(buf);
	atexit(free_base);
	return 0;
}

static void one(const uint8_t *data, size_t size, const char *sheet, size_t max)
{
	qd_problems pr;
	qd_listdoc *doc = NULL;
	int rc;

	qd_problems_init(&pr);
	rc = qd_xlsx_to_listdoc((const char *)data, size, sheet, max, base, &doc, &pr);
	if (rc == 0) {
		FUZZ_CHECK(doc != NULL);
		FUZZ_CHECK(strcmp(doc->list, base->list) == 0 && doc->kind == base->kind);
		FUZZ_CHECK(doc->n_clauses == base->n_clauses && doc->n_members == base->n_members);
		check_canonical(doc);
	} else {
		FUZZ_CHECK(rc == QD_EINVAL || rc == QD_ENOMEM);
		FUZZ_CHECK(rc == QD_ENOMEM || qd_problems_total(&pr) > 0);
	}
	qd_listdoc_free(doc);
	qd_problems_free(&pr);
}

static void rows(const uint8_t *data, size_t size, size_t max_rows)
{
	qd_problems pr;
	json_t *r = NULL, *row;
	char *name = NULL;
	size_t i;
	json_int_t prev = 0;
	int rc;

	qd_problems_init(&pr);
	rc = qd_xlsx_rows((const char *)data, size, NULL, (size_t)1 << 20, max_rows, &name, &r, &pr);
	if (rc == 0) {
		FUZZ_CHECK(name != NULL && json_is_array(r) && json_array_size(r) <= max_rows);
		json_array_foreach(r, i, row) {
			json_t *line = json_object_get(row, "line"), *cells = json_object_get(row, "cells"), *c;
			size_t j;

			FUZZ_CHECK(json_is_integer(line) && json_integer_value(line) > prev);
			prev = json_integer_value(line);
			FUZZ_CHECK(json_is_array(cells));
			json_array_foreach(cells, j, c)
				FUZZ_CHECK(json_is_string(c));
		}
	} else {
		FUZZ_CHECK(rc == QD_EINVAL || rc == QD_ENOMEM);
		FUZZ_CHECK(r == NULL && name == NULL);
		FUZZ_CHECK(rc == QD_ENOMEM || qd_problems_total(&pr) > 0);
	}
	json_decref(r);
	free(name);
	qd_problems_free(&pr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base)
		LLVMFuzzerInitialize(NULL, NULL);
	one(data, size, NULL, (size_t)1 << 20);
	one(data, size, "清单", 4096);
	rows(data, size, 3);
	return 0;
}
