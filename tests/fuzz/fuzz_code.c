/* Fuzz target: commodity and CIQ code normalisation (qd_code_parse,
 * qd_code_parse_entry, qd_ciq_parse).
 *
 * Invariants: a parsed code is 2-10 ASCII digits (+ "" or 3 CIQ digits);
 * parsing its normal form again gives the same code; every error has a
 * message, and code messages start with "code " (callers splice the value
 * in); the entry parser accepts exactly what the query parser accepts
 * without a CIQ part. */
#include <string.h>

#include "fuzz.h"
#include "qingdan/code.h"
#include "qingdan/err.h"

static void check_code(const qd_code *c)
{
	FUZZ_CHECK(c->len >= QD_CODE_MIN && c->len <= QD_CODE_MAX);
	FUZZ_CHECK(strlen(c->digits) == c->len);
	for (unsigned i = 0; i < c->len; i++)
		FUZZ_CHECK(c->digits[i] >= '0' && c->digits[i] <= '9');
	size_t cl = strlen(c->ciq);
	FUZZ_CHECK(cl == 0 || (cl == QD_CIQ_LEN && c->len == QD_CODE_MAX));
	for (size_t i = 0; i < cl; i++)
		FUZZ_CHECK(c->ciq[i] >= '0' && c->ciq[i] <= '9');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *why = NULL;
	qd_code q, e, again;

	int rq = qd_code_parse(s, size, &q, &why);
	if (rq == 0) {
		check_code(&q);
		char norm[QD_CODE_MAX + QD_CIQ_LEN + 1];
		snprintf(norm, sizeof norm, "%s%s", q.digits, q.ciq);
		why = NULL;
		FUZZ_CHECK(qd_code_parse(norm, strlen(norm), &again, &why) == 0);
		FUZZ_CHECK(strcmp(again.digits, q.digits) == 0 && strcmp(again.ciq, q.ciq) == 0);
	} else {
		FUZZ_CHECK(rq == QD_EINVAL);
		FUZZ_CHECK(why != NULL && strncmp(why, "code ", 5) == 0);
	}

	why = NULL;
	int re = qd_code_parse_entry(s, size, &e, &why);
	if (re == 0) {
		check_code(&e);
		FUZZ_CHECK(e.ciq[0] == '\0');
		/* Whatever an entry accepts, a query accepts the same way. */
		FUZZ_CHECK(rq == 0 && q.ciq[0] == '\0' && strcmp(q.digits, e.digits) == 0);
	} else {
		FUZZ_CHECK(re == QD_EINVAL);
		FUZZ_CHECK(why != NULL && strncmp(why, "code ", 5) == 0);
		/* A query accepts more only through the 13-digit form. */
		FUZZ_CHECK(rq != 0 || q.ciq[0] != '\0');
	}

	char ciq[QD_CIQ_LEN + 1];
	why = NULL;
	int rc = qd_ciq_parse(s, size, ciq, &why);
	if (rc == 0) {
		FUZZ_CHECK(size == QD_CIQ_LEN && memcmp(ciq, s, QD_CIQ_LEN) == 0 && ciq[QD_CIQ_LEN] == '\0');
	} else {
		FUZZ_CHECK(rc == QD_EINVAL && why != NULL);
	}
	return 0;
}
