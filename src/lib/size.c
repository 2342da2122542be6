/* qingdan — byte sizes and counts given as option values. */
#include "qingdan/size.h"

#include <stdbool.h>

#include "qingdan/err.h"

static int parse(const char *s, bool suffixes, uint64_t min, uint64_t max, uint64_t *out)
{
	/* A leading digit is required: strtoull would also take blanks, a
	 * sign (a negative wraps round to a huge value) and an empty string. */
	if (!s || *s < '0' || *s > '9')
		return QD_EINVAL;
	uint64_t n = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (n > (UINT64_MAX - d) / 10)
			return QD_EINVAL;
		n = n * 10 + d;
	}
	uint64_t mul = 1;
	if (suffixes) {
		switch (*s) {
		case 'K': case 'k': mul = UINT64_C(1) << 10; s++; break;
		case 'M': case 'm': mul = UINT64_C(1) << 20; s++; break;
		case 'G': case 'g': mul = UINT64_C(1) << 30; s++; break;
		default: break;
		}
	}
	if (*s || n > UINT64_MAX / mul)
		return QD_EINVAL;
	n *= mul;
	if (n < min || n > max)
		return QD_EINVAL;
	*out = n;
	return 0;
}

int qd_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return parse(s, true, min, max, out);
}

int qd_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return parse(s, false, min, max, out);
}
