/* qingdan — civil dates and instants (proleptic Gregorian, no time zone
 * database: only fixed offsets, which is all the lists need). */
#include "qingdan/date.h"

#include <string.h>

#include "qingdan/err.h"

#define SECS_PER_DAY 86400
#define OFFSET_MAX_MIN (14 * 60)

/* Day numbers of 0001-01-01 and 9999-12-31: the range we can write as
 * YYYY-MM-DD.  Formatting clamps to it so the 11-byte buffer always fits. */
#define DAY_FIRST (-719162)
#define DAY_LAST 2932896

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Howard Hinnant's days_from_civil; valid for any year we accept. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Howard Hinnant's civil_from_days. */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

/* Floor division for a possibly negative numerator (C truncates toward 0). */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Parse exactly `n` ASCII digits; -1 when any is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int qd_date_from_ymd(int y, int m, int d, qd_date *out)
{
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return QD_EINVAL;
	*out = (qd_date)days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

int qd_date_parse(const char *s, size_t n, qd_date *out)
{
	int y, m, d;

	if (n != 10 || s[4] != '-' || s[7] != '-')
		return QD_EINVAL;
	y = digits(s, 4);
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 0 || m < 0 || d < 0)
		return QD_EINVAL;
	return qd_date_from_ymd(y, m, d, out);
}

void qd_date_format(qd_date d, char out[11])
{
	int y, m, dd;
	int64_t z = d;

	if (z < DAY_FIRST)
		z = DAY_FIRST;
	if (z > DAY_LAST)
		z = DAY_LAST;
	civil_from_days(z, &y, &m, &dd);
	/* Clamped above, so each field has exactly its width: no truncation. */
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + dd / 10);
	out[9] = (char)('0' + dd % 10);
	out[10] = '\0';
}

qd_date qd_date_at(int64_t unix_seconds, int offset_minutes)
{
	int64_t local, day;

	/* Overflow is only possible for instants billions of years away; those
	 * saturate to the open ends rather than wrapping around. */
	if (__builtin_add_overflow(unix_seconds, (int64_t)offset_minutes * 60, &local))
		return unix_seconds > 0 ? QD_DATE_MAX : QD_DATE_MIN;
	day = floor_div(local, SECS_PER_DAY);
	if (day < INT32_MIN)
		return QD_DATE_MIN;
	if (day > INT32_MAX)
		return QD_DATE_MAX;
	return (qd_date)day;
}

/* Parse "HH:MM" (colon required) or "HHMM" (colon_optional) after a sign.
 * Returns the number of characters used, or -1. */
static int parse_hhmm(const char *s, size_t n, int colon_optional, int *hh, int *mm)
{
	if (n >= 5 && s[2] == ':') {
		*hh = digits(s, 2);
		*mm = digits(s + 3, 2);
		return (*hh < 0 || *mm < 0) ? -1 : 5;
	}
	if (colon_optional && n >= 4) {
		*hh = digits(s, 2);
		*mm = digits(s + 2, 2);
		return (*hh < 0 || *mm < 0) ? -1 : 4;
	}
	return -1;
}

int qd_utc_offset_parse(const char *s, int *minutes)
{
	size_t n = strlen(s);
	int hh, mm, sign, used, total;

	if (n == 1 && s[0] == 'Z') {
		*minutes = 0;
		return 0;
	}
	if (n < 5 || (s[0] != '+' && s[0] != '-'))
		return QD_EINVAL;
	sign = s[0] == '-' ? -1 : 1;
	used = parse_hhmm(s + 1, n - 1, 1, &hh, &mm);
	if (used < 0 || (size_t)used != n - 1 || mm > 59)
		return QD_EINVAL;
	total = hh * 60 + mm;
	/* Real zones span -12:00..+14:00; anything beyond is a typo. */
	if (total > OFFSET_MAX_MIN)
		return QD_EINVAL;
	*minutes = sign * total;
	return 0;
}

int qd_time_parse(const char *s, size_t n, int64_t *unix_seconds)
{
	qd_date day;
	int hh, mi, ss, off = 0;
	size_t i;

	/* "YYYY-MM-DDTHH:MM:SS" is 19 characters and needs at least "Z" after. */
	if (n < 20 || qd_date_parse(s, 10, &day) != 0)
		return QD_EINVAL;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return QD_EINVAL;
	if (s[13] != ':' || s[16] != ':')
		return QD_EINVAL;
	hh = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	ss = digits(s + 17, 2);
	/* Leap seconds (":60") are rejected: POSIX time cannot represent them. */
	if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59)
		return QD_EINVAL;
	i = 19;
	if (s[i] == '.') {
		size_t start = ++i;

		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return QD_EINVAL;
	}
	if (i >= n)
		return QD_EINVAL;
	if (s[i] == 'Z' || s[i] == 'z') {
		if (i + 1 != n)
			return QD_EINVAL;
	} else if (s[i] == '+' || s[i] == '-') {
		int oh, om, used;

		used = parse_hhmm(s + i + 1, n - i - 1, 0, &oh, &om);
		/* RFC 3339 time-numoffset: hours 00-23, minutes 00-59. */
		if (used < 0 || i + 1 + (size_t)used != n || oh > 23 || om > 59)
			return QD_EINVAL;
		off = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
	} else {
		return QD_EINVAL;
	}
	*unix_seconds = (int64_t)day * SECS_PER_DAY + hh * 3600 + mi * 60 + ss - (int64_t)off * 60;
	return 0;
}

void qd_time_format(int64_t unix_seconds, char out[21])
{
	int64_t day = floor_div(unix_seconds, SECS_PER_DAY);
	/* Not unix_seconds - day * 86400: that overflows near INT64_MIN. */
	int64_t sod = unix_seconds % SECS_PER_DAY;
	int hh, mi, ss;

	if (sod < 0)
		sod += SECS_PER_DAY;

	/* Same clamp as qd_date_format, for the same reason. */
	if (day < DAY_FIRST) {
		day = DAY_FIRST;
		sod = 0;
	} else if (day > DAY_LAST) {
		day = DAY_LAST;
		sod = SECS_PER_DAY - 1;
	}
	hh = (int)(sod / 3600);
	mi = (int)(sod / 60 % 60);
	ss = (int)(sod % 60);
	qd_date_format((qd_date)day, out);
	out[10] = 'T';
	out[11] = (char)('0' + hh / 10);
	out[12] = (char)('0' + hh % 10);
	out[13] = ':';
	out[14] = (char)('0' + mi / 10);
	out[15] = (char)('0' + mi % 10);
	out[16] = ':';
	out[17] = (char)('0' + ss / 10);
	out[18] = (char)('0' + ss % 10);
	out[19] = 'Z';
	out[20] = '\0';
}
