#include <stddef.h>

#include "qingdan/err.h"

typedef struct err_row {
	const char *code;
	const char *message;
	unsigned short http;
	unsigned char exit;
	unsigned char known;
} err_row;

/* Indexed by -value: the values are 0, -1, -2 … with no gaps. */
static const err_row rows[] = {
#define X(name, value, code, http, exit, msg) [-(value)] = {code, msg, http, exit, 1},
	QD_ERRORS(X)
#undef X
};

#define NROWS ((int)(sizeof rows / sizeof rows[0]))

static const err_row unknown = {"unknown_error", "unknown error", 500, 74, 0};

static const err_row *row(int err)
{
	if (err > 0 || err <= -NROWS || !rows[-err].known)
		return &unknown;
	return &rows[-err];
}

const char *qd_strerror(int err)
{
	return row(err)->message;
}

const char *qd_err_code(int err)
{
	return row(err)->code;
}

int qd_err_exit(int err)
{
	return row(err)->exit;
}

unsigned qd_err_http(int err, const char **code)
{
	const err_row *r = row(err);
	if (code)
		*code = r->code;
	return r->http;
}
