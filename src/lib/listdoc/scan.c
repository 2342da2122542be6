/* qingdan — finding the entries of a JSON list document by its structure
 * alone, so that each entry can be parsed, checked and dropped on its own
 * instead of parsing the whole document into one tree.
 *
 * The scanner knows strings (with escapes) and nesting, nothing more:
 * whether the bytes are JSON is left to jansson, which parses every part.
 * Whatever the scanner cannot follow it reports as odd, and the caller
 * then parses the document whole. */
#include "listdoc_int.h"

/* Nesting the scanner follows.  jansson refuses a document nested deeper
 * than 2048; an entry parsed alone sits two levels higher than in the
 * document, so deep nesting goes to the whole-document parse, which
 * judges it as before. */
#define SCAN_DEPTH_MAX 2000

static size_t ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* s[i] is '"': the offset just past the closing quote, or 0.  A quote
 * after an odd run of backslashes is escaped. */
static size_t str_end(const char *s, size_t n, size_t i)
{
	const char *from = s + i + 1, *p = from, *stop = s + n;

	for (;;) {
		const char *q = memchr(p, '"', (size_t)(stop - p));
		const char *b;

		if (q == NULL)
			return 0;
		for (b = q; b > from && b[-1] == '\\'; b--)
			;
		if (((q - b) & 1) == 0)
			return (size_t)(q - s) + 1;
		p = q + 1;
	}
}

static bool delimiter(char c)
{
	return c == ',' || c == ']' || c == '}' || c == ':' || c == ' ' || c == '\t' ||
	       c == '\n' || c == '\r' || c == '"' || c == '[' || c == '{';
}

/* The bytes skip_value() stops at inside an object or array. */
static const bool structural[256] = {
	['"'] = true, ['{'] = true, ['['] = true, ['}'] = true, [']'] = true,
};

/* The offset just past the value starting at s[i], nested depth levels
 * deep; 0 when odd. */
static size_t skip_value(const char *s, size_t n, size_t i, int depth)
{
	size_t j;
	int d = 0;

	if (i >= n)
		return 0;
	if (s[i] == '"')
		return str_end(s, n, i);
	if (s[i] != '{' && s[i] != '[') {
		for (j = i; j < n && !delimiter(s[j]); j++)
			;
		return j > i ? j : 0;
	}
	for (j = i; j < n; j++) {
		char c = s[j];

		if (!structural[(unsigned char)c])
			continue;
		if (c == '"') {
			size_t e = str_end(s, n, j);

			if (e == 0)
				return 0;
			j = e - 1;
		} else if (c == '{' || c == '[') {
			if (++d + depth > SCAN_DEPTH_MAX)
				return 0;
		} else if (c == '}' || c == ']') {
			if (--d == 0)
				return j + 1;
		}
	}
	return 0;
}

size_t qd_ld_skip_value(const char *s, size_t n, size_t i)
{
	return skip_value(s, n, i, 0);
}

/* Is the key s[i, e) (quotes included) "entries"? */
static bool is_entries(const char *s, size_t i, size_t e)
{
	static const char want[] = "\"entries\"";
	json_t *k;
	bool r;

	if (memchr(s + i, '\\', e - i) == NULL)
		return e - i == sizeof(want) - 1 && memcmp(s + i, want, e - i) == 0;
	/* Escapes: let jansson say what the key is. */
	k = json_loadb(s + i, e - i, JSON_DECODE_ANY, NULL);
	r = json_is_string(k) && json_string_length(k) == 7 &&
	    memcmp(json_string_value(k), "entries", 7) == 0;
	json_decref(k);
	return r;
}

/* Note the span [start, end) of element sc->n; false when out of memory
 * (the spans are then dropped, and stay dropped). */
static bool keep_span(struct qd_ld_scan *sc, size_t *cap, size_t start, size_t end)
{
	if (sc->n > 0 && sc->span == NULL)
		return false;
	if (sc->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		size_t *ns = realloc(sc->span, 2 * nc * sizeof(*ns));

		if (ns == NULL) {
			qd_ld_scan_free(sc);
			return false;
		}
		sc->span = ns;
		*cap = nc;
	}
	sc->span[2 * sc->n] = start;
	sc->span[2 * sc->n + 1] = end;
	return true;
}

void qd_ld_scan_free(struct qd_ld_scan *sc)
{
	free(sc->span);
	sc->span = NULL;
}

int qd_ld_scan_entries(const char *s, size_t n, struct qd_ld_scan *sc)
{
	size_t i = ws(s, n, 0), cap = 0;

	memset(sc, 0, sizeof(*sc));
	if (i >= n || s[i] != '{')
		return 0;
	i = ws(s, n, i + 1);
	if (i < n && s[i] == '}')
		return 0;
	for (;;) {
		size_t kend;
		bool ent;

		if (i >= n || s[i] != '"' || (kend = str_end(s, n, i)) == 0)
			return -1;
		ent = is_entries(s, i, kend);
		i = ws(s, n, kend);
		if (i >= n || s[i] != ':')
			return -1;
		i = ws(s, n, i + 1);
		if (ent && i < n && s[i] == '[') {
			size_t j = ws(s, n, i + 1);

			sc->open = i;
			if (j < n && s[j] == ']') {
				sc->close = j;
				return 1;
			}
			for (;;) {
				size_t e = skip_value(s, n, j, 2);

				if (e == 0) {
					qd_ld_scan_free(sc);
					return -1;
				}
				if (!keep_span(sc, &cap, j, e))
					cap = 0; /* no spans: out of memory */
				sc->n++;
				j = ws(s, n, e);
				if (j < n && s[j] == ',') {
					j = ws(s, n, j + 1);
				} else if (j < n && s[j] == ']') {
					sc->close = j;
					return 1;
				} else {
					qd_ld_scan_free(sc);
					return -1;
				}
			}
		}
		if ((i = skip_value(s, n, i, 1)) == 0)
			return -1;
		i = ws(s, n, i);
		if (i < n && s[i] == ',')
			i = ws(s, n, i + 1);
		else
			return i < n && s[i] == '}' ? 0 : -1;
	}
}

bool qd_ld_scan_next(const char *s, const struct qd_ld_scan *sc, size_t *pos,
		     size_t *start, size_t *end)
{
	size_t i = ws(s, sc->close, *pos);

	if (i >= sc->close)
		return false;
	*start = i;
	*end = skip_value(s, sc->close, i, 2);
	i = ws(s, sc->close, *end);
	*pos = i < sc->close && s[i] == ',' ? i + 1 : i;
	return true;
}

void qd_ld_line_col(const char *s, size_t pos, int *line, int *column)
{
	int l = 1, c = 0;

	for (size_t i = 0; i < pos; i++) {
		unsigned char u = (unsigned char)s[i];

		if (u == '\n') {
			l++;
			c = 0;
		} else if (u < 0x80 || (u >= 0xC2 && u <= 0xF4)) {
			/* jansson counts a character at its first byte */
			c++;
		}
	}
	*line = l;
	*column = c;
}
