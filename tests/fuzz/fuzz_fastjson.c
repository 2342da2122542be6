/* Fuzz target: the entry reader that skips jansson's lexer
 * (src/lib/listdoc/fast.c).
 *
 * Invariant: whatever it returns, json_loadb() with the load's flags
 * returns too, and the same tree (the same bytes when both are dumped);
 * whatever it gives up on is jansson's to decide. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* src/lib/listdoc/listdoc_int.h (not installed) */
json_t *qd_ld_fast_parse(const char *s, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	json_t *f = qd_ld_fast_parse(s, size);

	if (f != NULL) {
		json_t *j = json_loadb(s, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
		FUZZ_CHECK(j != NULL);
		char *df = json_dumps(f, JSON_COMPACT | JSON_ENCODE_ANY);
		char *dj = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		FUZZ_CHECK(df != NULL && dj != NULL && strcmp(df, dj) == 0);
		free(df);
		free(dj);
		json_decref(j);
	}
	json_decref(f);
	return 0;
}
