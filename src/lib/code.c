/* qingdan — commodity codes and CIQ codes. */
#include "qingdan/code.h"

#include <string.h>

#include "qingdan/err.h"

/* Longest text accepted before looking at it closely.  13 digits with a
 * separator between each pair is 25 bytes; 64 leaves room for generous
 * spacing while keeping every loop bounded by a small constant. */
#define CODE_TEXT_MAX 64

/* The separator rule quoted in every message, so users learn the fix. */
#define SEP_RULE "after removing '.', ' ' and '-'"

/* The messages are static (qd_code_parse hands back a const char *), so
 * naming the offending character needs one message per printable ASCII
 * character.  Every message starts with "code " so callers can splice in
 * the value: "code \"38x2\" contains 'x'; …". */
#define BADC(c) "code contains '" c "'; expected 2-10 digits " SEP_RULE
static const char *const bad_char_msg[128] = {
	['!'] = BADC("!"), ['"'] = BADC("\""), ['#'] = BADC("#"), ['$'] = BADC("$"),
	['%'] = BADC("%"), ['&'] = BADC("&"), ['\''] = BADC("'"), ['('] = BADC("("),
	[')'] = BADC(")"), ['*'] = BADC("*"), ['+'] = BADC("+"), [','] = BADC(","),
	['/'] = BADC("/"), [':'] = BADC(":"), [';'] = BADC(";"), ['<'] = BADC("<"),
	['='] = BADC("="), ['>'] = BADC(">"), ['?'] = BADC("?"), ['@'] = BADC("@"),
	['A'] = BADC("A"), ['B'] = BADC("B"), ['C'] = BADC("C"), ['D'] = BADC("D"),
	['E'] = BADC("E"), ['F'] = BADC("F"), ['G'] = BADC("G"), ['H'] = BADC("H"),
	['I'] = BADC("I"), ['J'] = BADC("J"), ['K'] = BADC("K"), ['L'] = BADC("L"),
	['M'] = BADC("M"), ['N'] = BADC("N"), ['O'] = BADC("O"), ['P'] = BADC("P"),
	['Q'] = BADC("Q"), ['R'] = BADC("R"), ['S'] = BADC("S"), ['T'] = BADC("T"),
	['U'] = BADC("U"), ['V'] = BADC("V"), ['W'] = BADC("W"), ['X'] = BADC("X"),
	['Y'] = BADC("Y"), ['Z'] = BADC("Z"), ['['] = BADC("["), ['\\'] = BADC("\\"),
	[']'] = BADC("]"), ['^'] = BADC("^"), ['_'] = BADC("_"), ['`'] = BADC("`"),
	['a'] = BADC("a"), ['b'] = BADC("b"), ['c'] = BADC("c"), ['d'] = BADC("d"),
	['e'] = BADC("e"), ['f'] = BADC("f"), ['g'] = BADC("g"), ['h'] = BADC("h"),
	['i'] = BADC("i"), ['j'] = BADC("j"), ['k'] = BADC("k"), ['l'] = BADC("l"),
	['m'] = BADC("m"), ['n'] = BADC("n"), ['o'] = BADC("o"), ['p'] = BADC("p"),
	['q'] = BADC("q"), ['r'] = BADC("r"), ['s'] = BADC("s"), ['t'] = BADC("t"),
	['u'] = BADC("u"), ['v'] = BADC("v"), ['w'] = BADC("w"), ['x'] = BADC("x"),
	['y'] = BADC("y"), ['z'] = BADC("z"), ['{'] = BADC("{"), ['|'] = BADC("|"),
	['}'] = BADC("}"), ['~'] = BADC("~"),
};

/* Wrong digit counts, indexed by the count (0..13); longer ones share one. */
static const char *const query_len_msg[14] = {
	"code has no digits; expected 2-10, or 13 with the CIQ code",
	"code has 1 digit; expected 2-10, or 13 with the CIQ code",
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	"code has 11 digits; expected 2-10, or 13 with the CIQ code",
	"code has 12 digits; expected 2-10, or 13 with the CIQ code",
	NULL,
};

static const char *const entry_len_msg[14] = {
	"code has no digits; expected 2-10 " SEP_RULE,
	"code has 1 digit; expected 2-10 " SEP_RULE,
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	"code has 11 digits; expected 2-10 " SEP_RULE,
	"code has 12 digits; expected 2-10 " SEP_RULE,
	/* A list names its CIQ code in its own field, never glued to the code. */
	"code has 13 digits; expected 2-10 (put the CIQ code in the \"ciq\" field)",
};

static int is_sep(unsigned char c)
{
	return c == '.' || c == ' ' || c == '-';
}

static const char *bad_char_why(unsigned char c)
{
	if (c == '\0')
		return "code contains a NUL byte";
	if (c >= 0x80)
		/* Typically full-width digits or a full-width '．' from a Chinese IME. */
		return "code contains a non-ASCII character; expected 2-10 ASCII digits " SEP_RULE;
	if (bad_char_msg[c] != NULL)
		return bad_char_msg[c];
	return "code contains a control character; expected 2-10 digits " SEP_RULE;
}

/* Strip the separators into digits[] (room for 64 + NUL).  Returns the
 * number of digits, or -1 with *why set when a character is not allowed. */
static int strip(const char *s, size_t n, char *digits, const char **why)
{
	int nd = 0;

	if (n == 0) {
		*why = "code is empty; expected 2-10 digits";
		return -1;
	}
	if (n > CODE_TEXT_MAX) {
		*why = "code is longer than 64 characters";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= '0' && c <= '9')
			digits[nd++] = (char)c;
		else if (!is_sep(c)) {
			*why = bad_char_why(c);
			return -1;
		}
	}
	digits[nd] = '\0';
	return nd;
}

static const char *len_why(const char *const table[14], int nd, const char *longer)
{
	if (nd < 14 && table[nd] != NULL)
		return table[nd];
	return longer;
}

int qd_code_parse(const char *s, size_t n, qd_code *out, const char **why)
{
	char digits[CODE_TEXT_MAX + 1];
	int nd = strip(s, n, digits, why);

	if (nd < 0)
		return QD_EINVAL;
	if (nd >= QD_CODE_MIN && nd <= QD_CODE_MAX) {
		memcpy(out->digits, digits, (size_t)nd + 1);
		out->len = (unsigned)nd;
		out->ciq[0] = '\0';
		return 0;
	}
	if (nd == QD_CODE_MAX + QD_CIQ_LEN) {
		memcpy(out->digits, digits, QD_CODE_MAX);
		out->digits[QD_CODE_MAX] = '\0';
		out->len = QD_CODE_MAX;
		memcpy(out->ciq, digits + QD_CODE_MAX, QD_CIQ_LEN + 1);
		return 0;
	}
	*why = len_why(query_len_msg, nd,
		       "code has more than 13 digits; expected 2-10, or 13 with the CIQ code");
	return QD_EINVAL;
}

int qd_code_parse_entry(const char *s, size_t n, qd_code *out, const char **why)
{
	char digits[CODE_TEXT_MAX + 1];
	int nd = strip(s, n, digits, why);

	if (nd < 0)
		return QD_EINVAL;
	if (nd < QD_CODE_MIN || nd > QD_CODE_MAX) {
		*why = len_why(entry_len_msg, nd, "code has more than 13 digits; expected 2-10 " SEP_RULE);
		return QD_EINVAL;
	}
	memcpy(out->digits, digits, (size_t)nd + 1);
	out->len = (unsigned)nd;
	out->ciq[0] = '\0';
	return 0;
}

int qd_ciq_parse(const char *s, size_t n, char out[QD_CIQ_LEN + 1], const char **why)
{
	if (n == 0) {
		*why = "CIQ code is empty; expected exactly 3 digits";
		return QD_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			/* No separators here: a CIQ code is too short to be written with any. */
			*why = "CIQ code contains a character that is not a digit; expected exactly 3 digits";
			return QD_EINVAL;
		}
	}
	if (n != QD_CIQ_LEN) {
		*why = "CIQ code must be exactly 3 digits";
		return QD_EINVAL;
	}
	memcpy(out, s, QD_CIQ_LEN);
	out[QD_CIQ_LEN] = '\0';
	return 0;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int qd_customs_parse(const char *s, size_t n, char out[QD_CUSTOMS_LEN + 1], const char **why)
{
	if (n != QD_CUSTOMS_LEN || !all_digits(s, n)) {
		*why = "customs code must be exactly 4 digits (关区代码, e.g. 5201)";
		return QD_EINVAL;
	}
	memcpy(out, s, QD_CUSTOMS_LEN);
	out[QD_CUSTOMS_LEN] = '\0';
	return 0;
}

bool qd_customs_prefix_valid(const char *s, size_t n)
{
	return (n == 2 || n == QD_CUSTOMS_LEN) && all_digits(s, n);
}
