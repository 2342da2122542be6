/* Fuzz target: institution ids (qd_entity_parse, qd_uscc_check_char).
 *
 * Invariants: a parsed id is NUL-terminated within QD_ENTITY_MAX; parsing
 * the normalised id again gives the same id (normalisation is idempotent);
 * a USCC's 18th character is the check character of the first 17; every
 * error has a message. */
#include <string.h>

#include "fuzz.h"
#include "qingdan/entity.h"
#include "qingdan/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char out[QD_ENTITY_MAX + 1], again[QD_ENTITY_MAX + 1];
	const char *why = NULL;

	int rc = qd_entity_parse(s, size, out, &why);
	if (rc == 0) {
		size_t n = strnlen(out, sizeof out);
		FUZZ_CHECK(n < sizeof out && n == size);
		why = NULL;
		FUZZ_CHECK(qd_entity_parse(out, n, again, &why) == 0);
		FUZZ_CHECK(strcmp(out, again) == 0);
		char *colon = strchr(out, ':');
		if (colon) {
			for (char *p = out; p < colon; p++)
				FUZZ_CHECK(*p >= 'A' && *p <= 'Z');
			/* The id after the scheme is kept as given. */
			FUZZ_CHECK(memcmp(colon, s + (colon - out), n - (size_t)(colon - out)) == 0);
		} else {
			FUZZ_CHECK(n == QD_USCC_LEN);
			FUZZ_CHECK(qd_uscc_check_char(out) == out[17]);
		}
	} else {
		FUZZ_CHECK(rc == QD_EINVAL && why != NULL && *why);
	}

	if (size >= 17) {
		char c = qd_uscc_check_char(s);
		FUZZ_CHECK(c == '\0' || strchr("0123456789ABCDEFGHJKLMNPQRTUWXY", c));
	}
	return 0;
}
