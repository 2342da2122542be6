/* qingdan — a collection of validation problems. */
#include "qingdan/problems.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void qd_problems_init(qd_problems *p)
{
	memset(p, 0, sizeof(*p));
}

/* Append one problem, taking ownership of path and message (either may be
 * NULL only for path).  A full collection or a failed allocation counts
 * the problem in `omitted`: the caller still learns that something was
 * wrong, and a validator never has to handle out-of-memory mid-walk. */
static void push(qd_problems *p, char *path, unsigned line, unsigned column, char *message)
{
	if (message == NULL || p->count >= QD_PROBLEMS_CAP)
		goto omit;
	if (p->count == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;
		qd_problem *n;

		if (ncap > QD_PROBLEMS_CAP)
			ncap = QD_PROBLEMS_CAP;
		n = realloc(p->items, ncap * sizeof(*n));
		if (n == NULL)
			goto omit;
		p->items = n;
		p->cap = ncap;
	}
	p->items[p->count].path = path;
	p->items[p->count].line = line;
	p->items[p->count].column = column;
	p->items[p->count].message = message;
	p->count++;
	return;
omit:
	free(path);
	free(message);
	p->omitted++;
}

static char *vformat(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));

static char *vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	char *s;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s != NULL)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

void qd_problems_add(qd_problems *p, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *msg, *pcopy;

	/* Skip the formatting work once the cap is reached. */
	if (p->count >= QD_PROBLEMS_CAP) {
		p->omitted++;
		return;
	}
	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	pcopy = strdup(path ? path : "");
	if (pcopy == NULL) {
		free(msg);
		p->omitted++;
		return;
	}
	push(p, pcopy, 0, 0, msg);
}

void qd_problems_add_at(qd_problems *p, unsigned line, unsigned column, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (p->count >= QD_PROBLEMS_CAP) {
		p->omitted++;
		return;
	}
	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	push(p, NULL, line, column, msg);
}

size_t qd_problems_total(const qd_problems *p)
{
	return p->count + p->omitted;
}

void qd_problems_free(qd_problems *p)
{
	for (size_t i = 0; i < p->count; i++) {
		free(p->items[i].path);
		free(p->items[i].message);
	}
	free(p->items);
	qd_problems_init(p);
}

const char *qd_quote(const char *s, size_t n, char buf[QD_QUOTE_BUF])
{
	size_t o = 0;

	buf[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		/* Cut before a UTF-8 lead byte so a character is never split.
		 * The bytes before the cut take at most 6 past QD_QUOTE_MAX
		 * and a character at most 3 more: a longer run of continuation
		 * bytes is not UTF-8 and is cut anywhere, so the buffer holds. */
		if (o >= QD_QUOTE_MAX && ((c & 0xC0) != 0x80 || o >= QD_QUOTE_MAX + 6 + 3)) {
			memcpy(buf + o, "\xe2\x80\xa6", 3); /* … */
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, 7, "\\u%04x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
