/* qingdan — CSV import: the data rows.  Each row becomes an entry object
 * with the keys of the list document; cells are mapped (aliases of effect
 * and status, dates as spreadsheets write them, multi-valued cells split)
 * but judged by the list document's validator. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "qingdan/jarena.h"

#include "csvdoc_int.h"

/* Values of effect and status as admins write them. */
struct alias {
	const char *text;
	const char *canon;
};

static const struct alias effect_aliases[] = {
	{ "include", "include" }, { "exclude", "exclude" },
	{ "纳入", "include" }, { "排除", "exclude" }, { NULL, NULL },
};

static const struct alias identity_aliases[] = {
	{ "item", "item" }, { "category", "category" }, { "单品", "item" }, { "类别", "category" },
	{ NULL, NULL },
};

static const struct alias status_aliases[] = {
	{ "active", "active" }, { "suspended", "suspended" }, { "revoked", "revoked" },
	{ "有效", "active" }, { "暂停", "suspended" }, { "撤销", "revoked" }, { NULL, NULL },
};

static void put(struct imp *im, json_t *obj, const char *key, json_t *val)
{
	if (val == NULL || json_object_set_new(obj, key, val) != 0)
		im->toom = true;
}

static json_t *str(struct imp *im, const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);

	if (j == NULL)
		im->toom = true;
	return j;
}

/* Split a multi-valued cell on ';', '；' (U+FF1B) or '|'; items are
 * trimmed and empty ones dropped. */
static json_t *split(struct imp *im, const char *s)
{
	json_t *arr = json_array();
	const char *item = s;

	if (arr == NULL) {
		im->toom = true;
		return NULL;
	}
	for (const char *c = s;; c++) {
		size_t seplen = 0;

		if (*c == ';' || *c == '|' || *c == '\0')
			seplen = 1;
		else if (c[0] == '\xef' && c[1] == '\xbc' && c[2] == '\x9b') /* ； */
			seplen = 3;
		if (seplen == 0)
			continue;
		{
			const char *t = item;
			size_t n = (size_t)(c - item);

			trim(&t, &n);
			if (n > 0 && json_array_append_new(arr, str(im, t, n)) != 0)
				im->toom = true;
		}
		if (*c == '\0')
			break;
		c += seplen - 1;
		item = c + 1;
	}
	return arr;
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return n > 0;
}

/* A date as spreadsheets in a Chinese locale write it — 2024/1/5,
 * 2024.1.5, 2024-1-5, 2024年1月5日 — becomes "2024-01-05"; anything else
 * is passed on for the validator to judge. */
static json_t *date_value(struct imp *im, const char *s)
{
	const char *y = s, *m, *d, *end;
	size_t n = strlen(s), ml, dl;
	char buf[16];
	bool zh = false;

	if (n < 8 || !digits(y, 4))
		return str(im, s, n);
	m = y + 4;
	if (*m == '-' || *m == '/' || *m == '.') {
		m++;
	} else if (strncmp(m, "年", strlen("年")) == 0) {
		m += strlen("年");
		zh = true;
	} else {
		return str(im, s, n);
	}
	for (d = m; *d >= '0' && *d <= '9'; d++)
		;
	if (d - m < 1 || d - m > 2)
		return str(im, s, n);
	ml = (size_t)(d - m);
	if (zh && strncmp(d, "月", strlen("月")) == 0)
		d += strlen("月");
	else if (!zh && *d == m[-1])
		d++;
	else
		return str(im, s, n);
	for (end = d; *end >= '0' && *end <= '9'; end++)
		;
	if (end - d < 1 || end - d > 2)
		return str(im, s, n);
	dl = (size_t)(end - d);
	if (zh && strcmp(end, "日") == 0)
		end += strlen("日");
	if (*end != '\0')
		return str(im, s, n);
	/* One or two digits each: no snprintf needed for "%.4s-%02d-%02d". */
	memcpy(buf, y, 4);
	buf[4] = '-';
	buf[5] = ml == 2 ? m[0] : '0';
	buf[6] = m[ml - 1];
	buf[7] = '-';
	buf[8] = dl == 2 ? d[0] : '0';
	buf[9] = d[dl - 1];
	return str(im, buf, 10);
}

/* A quantity limit: a decimal number, integers kept as integers.  Returns
 * NULL when the cell is not a number (*oom untouched) or on out-of-memory. */
static json_t *number(struct imp *im, const char *s)
{
	size_t n = strlen(s);
	char *end;
	json_t *j;

	/* strtod alone would take "0x1p3", "nan" and "inf". */
	if (strspn(s, "0123456789+-.eE") != n || n == 0)
		return NULL;
	errno = 0;
	{
		long long v = strtoll(s, &end, 10);

		if (end == s + n && errno == 0) {
			j = json_integer((json_int_t)v);
			goto out;
		}
	}
	errno = 0;
	{
		double v = strtod(s, &end);

		if (end != s + n || !isfinite(v))
			return NULL;
		j = json_real(v);
	}
out:
	if (j == NULL)
		im->toom = true;
	return j;
}

/* Map an effect or status cell through its aliases; NULL after reporting
 * an unknown value. */
static const char *alias(struct imp *im, const struct alias *a, enum field f, const char *s)
{
	char allowed[128], q[QBUF];
	size_t o = 0;

	for (const struct alias *x = a; x->text; x++) {
		if (ascii_case_eq(s, strlen(s), x->text))
			return x->canon;
	}
	allowed[0] = '\0';
	for (const struct alias *x = a; x->text && o < sizeof(allowed); x++)
		o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s", o ? ", " : "", x->text);
	PROB_AT(im, im->row_line, im->col_of[f], "%s %s is not one of %s",
		hd(im, f), qd_quote(s, strlen(s), q), allowed);
	return NULL;
}

/* The non-empty cells of a data row by field: c[f] for the cells[] (the
 * trimmed fields) under field f's column.  A cell under a column without
 * heading is reported, once per column. */
static void cells_by_field(struct imp *im, char **cells, const char **c)
{
	char q[QBUF];

	for (size_t j = 0; j < im->ncols; j++) {
		if (im->col_field[j] >= 0 && cells[j][0] != '\0') {
			c[im->col_field[j]] = cells[j];
		} else if (im->col_field[j] == COL_BLANK && cells[j][0] != '\0') {
			PROB_AT(im, im->row_line, (unsigned)j + 1,
				"this cell holds %s but its column has no heading",
				qd_quote(cells[j], strlen(cells[j]), q));
			im->col_field[j] = COL_BLANK_REPORTED;
		}
	}
}

/* Required cells: one message naming the heading, instead of the
 * validator's "is required" about a JSON key.  Returns the fields
 * reported. */
static uint32_t required_cells(struct imp *im, const char **c)
{
	static const enum field required[] = { F_ID, F_CODE, F_NAME_ZH, F_CLAUSES };
	uint32_t flagged = 0;

	for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++) {
		enum field f = required[k];

		if (im->col_of[f] != 0 && c[f] == NULL) {
			PROB_AT(im, im->row_line, im->col_of[f], "%s is empty; every entry needs one",
				hd(im, f));
			flagged |= BIT(f);
		}
	}
	return flagged;
}

/* The entry's id; whether an earlier row used it is for the checking
 * side to say (qd_csv_id_check), which knows every earlier entry. */
static void id_cell(struct imp *im, json_t *e, const char *id, struct qd_csv_ent *ent)
{
	json_t *j;

	ent->id = NULL;
	if (id == NULL)
		return;
	j = str(im, id, strlen(id));
	if (j == NULL || json_object_set_new(e, "id", j) != 0)
		im->toom = true;
	else
		ent->id = json_string_value(j);
}

/* What the entry is: code, ciq, name (zh, en), spec, identity and
 * aliases.  Returns the fields reported. */
static uint32_t goods_cells(struct imp *im, json_t *e, const char **c)
{
	if (c[F_CODE] != NULL)
		put(im, e, "code", str(im, c[F_CODE], strlen(c[F_CODE])));
	if (c[F_CIQ] != NULL)
		put(im, e, "ciq", str(im, c[F_CIQ], strlen(c[F_CIQ])));
	if (c[F_NAME_ZH] != NULL || c[F_NAME_EN] != NULL) {
		json_t *name = json_object();

		if (name == NULL)
			im->toom = true;
		if (name != NULL && c[F_NAME_ZH] != NULL)
			put(im, name, "zh", str(im, c[F_NAME_ZH], strlen(c[F_NAME_ZH])));
		if (name != NULL && c[F_NAME_EN] != NULL)
			put(im, name, "en", str(im, c[F_NAME_EN], strlen(c[F_NAME_EN])));
		put(im, e, "name", name);
	}
	if (c[F_SPEC] != NULL)
		put(im, e, "spec", str(im, c[F_SPEC], strlen(c[F_SPEC])));
	if (c[F_ALIASES] != NULL)
		put(im, e, "aliases", split(im, c[F_ALIASES]));
	if (c[F_IDENTITY] != NULL) {
		const char *v = alias(im, identity_aliases, F_IDENTITY, c[F_IDENTITY]);

		if (v == NULL)
			return BIT(F_IDENTITY);
		put(im, e, "identity", str(im, v, strlen(v)));
	}
	return 0;
}

/* Whom and when the entry applies to: effect, entities, valid_from,
 * valid_to and status.  Returns the fields reported. */
static uint32_t scope_cells(struct imp *im, json_t *e, const char **c)
{
	uint32_t flagged = 0;

	if (c[F_EFFECT] != NULL) {
		const char *v = alias(im, effect_aliases, F_EFFECT, c[F_EFFECT]);

		if (v != NULL)
			put(im, e, "effect", str(im, v, strlen(v)));
		else
			flagged |= BIT(F_EFFECT);
	}
	if (c[F_ENTITIES] != NULL)
		put(im, e, "entities", split(im, c[F_ENTITIES]));
	if (c[F_CUSTOMS] != NULL)
		put(im, e, "customs", split(im, c[F_CUSTOMS]));
	if (c[F_VALID_FROM] != NULL)
		put(im, e, "valid_from", date_value(im, c[F_VALID_FROM]));
	if (c[F_VALID_TO] != NULL)
		put(im, e, "valid_to", date_value(im, c[F_VALID_TO]));
	if (c[F_STATUS] != NULL) {
		const char *v = alias(im, status_aliases, F_STATUS, c[F_STATUS]);

		if (v != NULL)
			put(im, e, "status", str(im, v, strlen(v)));
		else
			flagged |= BIT(F_STATUS);
	}
	return flagged;
}

/* One condition {"type": type, "text": text} appended to arr. */
static void condition(struct imp *im, json_t *arr, const char *type, const char *text)
{
	json_t *cond = json_object();

	if (cond == NULL || json_array_append_new(arr, cond) != 0) {
		im->toom = true;
		return;
	}
	put(im, cond, "type", str(im, type, strlen(type)));
	put(im, cond, "text", str(im, text, strlen(text)));
}

/* What the entry spares and asks for: waives, and conditions — the
 * remark (备注要求) first, then the note (说明). */
static void waiver_cells(struct imp *im, json_t *e, const char **c, int *note_at)
{
	*note_at = -1;
	if (c[F_WAIVES] != NULL)
		put(im, e, "waives", split(im, c[F_WAIVES]));
	if (c[F_CONDITIONS] != NULL || c[F_NOTES] != NULL) {
		json_t *arr = json_array();

		if (arr == NULL) {
			im->toom = true;
			return;
		}
		if (c[F_CONDITIONS] != NULL)
			condition(im, arr, "remark", c[F_CONDITIONS]);
		if (c[F_NOTES] != NULL) {
			*note_at = (int)json_array_size(arr);
			condition(im, arr, "note", c[F_NOTES]);
		}
		put(im, e, "conditions", arr);
	}
}

/* The quantity, from its limit and unit cells.  Returns the fields
 * reported. */
static uint32_t quantity_cells(struct imp *im, json_t *e, const char **c)
{
	const char *lim = c[F_QTY_LIMIT], *unit = c[F_QTY_UNIT];
	bool was_oom;
	json_t *limit, *qty;
	char q[QBUF];

	/* Both or neither; with only one of the columns the header said so. */
	if ((im->missing & BIT(F_QTY_LIMIT)) || (lim == NULL && unit == NULL))
		return 0;
	if (lim == NULL || unit == NULL) {
		enum field lack = lim == NULL ? F_QTY_LIMIT : F_QTY_UNIT;
		enum field have = lim == NULL ? F_QTY_UNIT : F_QTY_LIMIT;

		PROB_AT(im, im->row_line, im->col_of[lack],
			"%s is given but %s is empty; give both or neither", hd(im, have), hd(im, lack));
		return BIT(F_QTY_LIMIT) | BIT(F_QTY_UNIT);
	}
	was_oom = im->toom;
	limit = number(im, lim);
	if (limit == NULL && im->toom == was_oom) {
		PROB_AT(im, im->row_line, im->col_of[F_QTY_LIMIT], "%s %s is not a number",
			hd(im, F_QTY_LIMIT), qd_quote(lim, strlen(lim), q));
		return BIT(F_QTY_LIMIT);
	}
	if (limit == NULL)
		return 0;
	qty = json_object();
	if (qty == NULL) {
		json_decref(limit);
		im->toom = true;
		return 0;
	}
	put(im, qty, "limit", limit);
	put(im, qty, "unit", str(im, unit, strlen(unit)));
	put(im, e, "quantity", qty);
	return 0;
}

/* Build the entry of one data row, in the pipe's arena, and hand it
 * over; cells[] are the trimmed fields. */
static void entry(struct imp *im, char **cells)
{
	const char *c[F_COUNT] = { 0 };
	struct qd_csv_ent ent = { .line = im->row_line };
	qd_jarena *prev = qd_jarena_enter(qd_csv_pipe_arena(im));
	json_t *e = json_object();

	if (e == NULL) {
		im->toom = true;
		qd_jarena_leave(prev);
		return;
	}
	cells_by_field(im, cells, c);
	ent.flagged = required_cells(im, c);
	/* The id check goes here in the order of the row's problems. */
	ent.np_id = im->tp->count;
	id_cell(im, e, c[F_ID], &ent);
	ent.flagged |= goods_cells(im, e, c);
	ent.flagged |= scope_cells(im, e, c);
	waiver_cells(im, e, c, &ent.note_at);
	ent.flagged |= quantity_cells(im, e, c);
	if (c[F_CLAUSES] != NULL)
		put(im, e, "clauses", split(im, c[F_CLAUSES]));
	if (c[F_BATCH] != NULL)
		put(im, e, "batch", str(im, c[F_BATCH], strlen(c[F_BATCH])));
	qd_jarena_leave(prev);
	ent.e = e;
	ent.np = im->tp->count;
	qd_csv_pipe_put(im, &ent);
}

void qd_csv_data_row(struct imp *im)
{
	size_t n = im->row.nf < FIELDS_MAX ? im->row.nf : FIELDS_MAX;
	char **cells;
	bool empty = true;

	if (!qd_csv_row_trim(im, n)) {
		im->toom = true;
		return;
	}
	cells = im->row.cells;
	for (size_t j = 0; j < n && empty; j++)
		empty = cells[j][0] == '\0';
	if (empty && im->row.nf <= FIELDS_MAX)
		return;
	im->data_rows++;
	if (!im->header_ok)
		return;
	if (im->row.nf != im->ncols) {
		PROB_AT(im, im->row_line, 0, "row has %zu field%s; the header has %zu",
			im->row.nf, im->row.nf == 1 ? "" : "s", im->ncols);
		return;
	}
	entry(im, cells);
}
