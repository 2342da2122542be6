/* qingdan — civil dates and instants.
 *
 * A civil date is a day count since 1970-01-01 (proleptic Gregorian).
 * "Today" is the civil date at a fixed UTC offset, by default +08:00
 * (China time), never the UTC date. */
#ifndef QINGDAN_DATE_H
#define QINGDAN_DATE_H

#include <stddef.h>
#include <stdint.h>

typedef int32_t qd_date;

/* Open ends of a validity window. */
#define QD_DATE_MIN INT32_MIN
#define QD_DATE_MAX INT32_MAX

#define QD_UTC_OFFSET_DEFAULT (8 * 60) /* minutes east of UTC */

/* Parse "YYYY-MM-DD": exactly 10 characters, years 0001–9999, a real
 * calendar day (leap years per the Gregorian rule).
 * Returns 0 and sets *out, or QD_EINVAL. */
int qd_date_parse(const char *s, size_t n, qd_date *out);

/* Format a date as "YYYY-MM-DD" into out (11 bytes with the NUL).  Days
 * outside 0001-01-01..9999-12-31 (e.g. QD_DATE_MIN/MAX, the open ends of a
 * window) are clamped to that range; callers print open ends as null. */
void qd_date_format(qd_date d, char out[11]);

/* Build a date from its parts; returns 0, or QD_EINVAL if it is no real day. */
int qd_date_from_ymd(int y, int m, int d, qd_date *out);

/* The civil date at the instant unix_seconds seen at offset_minutes east of UTC. */
qd_date qd_date_at(int64_t unix_seconds, int offset_minutes);

/* Parse a UTC offset "+08:00", "-05:30", "+0800" or "Z"; range -14:00..+14:00.
 * Returns 0 and sets *minutes, or QD_EINVAL. */
int qd_utc_offset_parse(const char *s, int *minutes);

/* Parse an RFC 3339 date-time ("2026-11-26T10:00:00Z",
 * "2026-11-26T18:00:00.5+08:00"; 'T'/'t'/' ' separator, 'Z'/'z' or offset
 * required; fractional seconds truncated).
 * Returns 0 and sets *unix_seconds, or QD_EINVAL. */
int qd_time_parse(const char *s, size_t n, int64_t *unix_seconds);

/* Format an instant as RFC 3339 UTC, "2026-11-26T23:42:04Z" (21 bytes with
 * NUL); instants outside years 0001..9999 are clamped like qd_date_format. */
void qd_time_format(int64_t unix_seconds, char out[21]);

#endif
