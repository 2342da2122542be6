/* qingdan — institution identifiers (USCC, SCHEME:ID). */
#include "qingdan/entity.h"

#include <string.h>

#include "qingdan/err.h"

/* GB 32100-2015: 31 characters, values 0..30 in this order (no I, O, S, V, Z). */
static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const unsigned char uscc_weights[17] = {
	1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
};

#define SCHEME_MIN 2
#define SCHEME_MAX 8
#define ID_MAX 64

static char ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_id_char(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* Each USCC character's value + 1, either case; 0: outside the alphabet
 * (a table, not a search of uscc_alphabet: every lookup that names an
 * institution parses its id). */
static const unsigned char uscc_values[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
	['8'] = 9, ['9'] = 10, ['A'] = 11, ['a'] = 11, ['B'] = 12, ['b'] = 12, ['C'] = 13, ['c'] = 13,
	['D'] = 14, ['d'] = 14, ['E'] = 15, ['e'] = 15, ['F'] = 16, ['f'] = 16,
	['G'] = 17, ['g'] = 17, ['H'] = 18, ['h'] = 18, ['J'] = 19, ['j'] = 19,
	['K'] = 20, ['k'] = 20, ['L'] = 21, ['l'] = 21, ['M'] = 22, ['m'] = 22,
	['N'] = 23, ['n'] = 23, ['P'] = 24, ['p'] = 24, ['Q'] = 25, ['q'] = 25,
	['R'] = 26, ['r'] = 26, ['T'] = 27, ['t'] = 27, ['U'] = 28, ['u'] = 28,
	['W'] = 29, ['w'] = 29, ['X'] = 30, ['x'] = 30, ['Y'] = 31, ['y'] = 31,
};

/* Value of a USCC character (either case), or -1 when outside the alphabet. */
static int uscc_value(char c)
{
	return (int)uscc_values[(unsigned char)c] - 1;
}

char qd_uscc_check_char(const char first17[17])
{
	unsigned sum = 0;

	for (int i = 0; i < 17; i++) {
		int v = uscc_value(first17[i]);

		if (v < 0)
			return '\0';
		sum += (unsigned)v * uscc_weights[i];
	}
	return uscc_alphabet[(31 - sum % 31) % 31];
}

static int parse_uscc(const char *s, char out[QD_ENTITY_MAX + 1], const char **why)
{
	char check;

	for (int i = 0; i < QD_USCC_LEN; i++) {
		if (uscc_value(s[i]) < 0) {
			*why = "USCC contains a character outside 0-9 and A-Z "
			       "(I, O, S, V and Z are not used)";
			return QD_EINVAL;
		}
	}
	check = qd_uscc_check_char(s);
	if (ascii_upper(s[QD_USCC_LEN - 1]) != check) {
		*why = "USCC check character (the 18th) does not match the first 17 characters";
		return QD_EINVAL;
	}
	for (int i = 0; i < QD_USCC_LEN; i++)
		out[i] = ascii_upper(s[i]);
	out[QD_USCC_LEN] = '\0';
	return 0;
}

static int parse_scheme_id(const char *s, size_t n, size_t colon,
			   char out[QD_ENTITY_MAX + 1], const char **why)
{
	size_t idlen = n - colon - 1;

	if (colon < SCHEME_MIN || colon > SCHEME_MAX) {
		*why = "entity scheme (before ':') must be 2-8 letters";
		return QD_EINVAL;
	}
	for (size_t i = 0; i < colon; i++) {
		if (!is_alpha(s[i])) {
			*why = "entity scheme (before ':') must be 2-8 letters";
			return QD_EINVAL;
		}
	}
	if (idlen == 0) {
		*why = "entity id after ':' is empty";
		return QD_EINVAL;
	}
	if (idlen > ID_MAX) {
		*why = "entity id after ':' is longer than 64 characters";
		return QD_EINVAL;
	}
	for (size_t i = colon + 1; i < n; i++) {
		if (!is_id_char(s[i])) {
			*why = "entity id after ':' may only contain A-Z, a-z, 0-9, '.', '_' and '-'";
			return QD_EINVAL;
		}
	}
	for (size_t i = 0; i < colon; i++)
		out[i] = ascii_upper(s[i]);
	/* The id after the scheme is kept as given: foreign registries may be
	 * case-sensitive, and we cannot know their rules. */
	memcpy(out + colon, s + colon, n - colon);
	out[n] = '\0';
	return 0;
}

int qd_entity_parse(const char *s, size_t n, char out[QD_ENTITY_MAX + 1], const char **why)
{
	const char *colon;

	if (n == 0) {
		*why = "entity id is empty";
		return QD_EINVAL;
	}
	if (memchr(s, '\0', n) != NULL) {
		*why = "entity id contains a NUL byte";
		return QD_EINVAL;
	}
	colon = memchr(s, ':', n);
	if (colon != NULL) {
		/* Checked before the parts so out[] (QD_ENTITY_MAX + 1) never overflows. */
		if (n > QD_ENTITY_MAX) {
			*why = "entity id is longer than SCHEME:ID allows (8 + 1 + 64 characters)";
			return QD_EINVAL;
		}
		return parse_scheme_id(s, n, (size_t)(colon - s), out, why);
	}
	if (n == QD_USCC_LEN)
		return parse_uscc(s, out, why);
	*why = "entity id is neither an 18-character USCC nor SCHEME:ID (e.g. HK:12345678)";
	return QD_EINVAL;
}
