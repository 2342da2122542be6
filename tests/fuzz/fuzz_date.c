/* Fuzz target: dates, instants and UTC offsets (qd_date_parse,
 * qd_time_parse, qd_utc_offset_parse, and the formatters).
 *
 * Invariants: a parsed date formats back to the very same 10 bytes (the
 * only accepted form is the canonical one); a parsed instant formats to an
 * RFC 3339 UTC string that parses to the same instant; a parsed offset is
 * within ±14:00; qd_date_at never crashes on any instant and offset. */
#include <string.h>

#include "fuzz.h"
#include "qingdan/date.h"
#include "qingdan/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	qd_date d;
	if (qd_date_parse(s, size, &d) == 0) {
		char out[11];
		qd_date_format(d, out);
		FUZZ_CHECK(size == 10 && memcmp(out, s, 10) == 0);
		qd_date d2;
		int y = atoi(out), m = atoi(out + 5), dd = atoi(out + 8);
		FUZZ_CHECK(qd_date_from_ymd(y, m, dd, &d2) == 0 && d2 == d);
	}

	int64_t t;
	if (qd_time_parse(s, size, &t) == 0) {
		char out[21];
		qd_time_format(t, out);
		int64_t t2;
		/* Years 0001 and 9999 with an offset can land outside the
		 * formattable range, where the formatter clamps. */
		if (t >= -62135596800LL && t <= 253402300799LL) {
			FUZZ_CHECK(qd_time_parse(out, strlen(out), &t2) == 0);
			FUZZ_CHECK(t2 == t);
		}
		for (int off = -14 * 60; off <= 14 * 60; off += 7 * 60)
			(void)qd_date_at(t, off);
	}

	/* qd_utc_offset_parse takes a NUL-terminated string. */
	char *z = malloc(size + 1);
	if (!z)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	int minutes = 12345;
	if (qd_utc_offset_parse(z, &minutes) == 0)
		FUZZ_CHECK(minutes >= -14 * 60 && minutes <= 14 * 60);
	free(z);

	/* Instants from raw bytes, at the extremes too. */
	if (size >= 8) {
		int64_t raw;
		memcpy(&raw, data, 8);
		char out[21], dout[11];
		qd_time_format(raw, out);
		FUZZ_CHECK(strlen(out) == 20);
		qd_date_format(qd_date_at(raw, size > 8 ? (int)(int8_t)data[8] * 7 : 480), dout);
		FUZZ_CHECK(strlen(dout) == 10);
	}
	return 0;
}
