/* qingdan — spreadsheet (.xlsx) downloads: a version of a list, the diff
 * of two versions, a check's answer; written with libxlsxwriter.
 *
 * A version's entries sheet has a column for every field of the CSV
 * import, headed by its first Chinese heading, so that the workbook loads
 * back (PUT, qingdanctl load) into the same entries: codes, ids and
 * every other text as text cells (formatted 文本, so that an edit in Excel
 * keeps them text), dates as date cells (yyyy-mm-dd; as text before 1901,
 * which Excel cannot hold), quantity limits as numbers.  Multi-valued
 * cells are joined with '；', which the import splits on.
 *
 * Workbooks are written in libxlsxwriter's constant-memory mode: each row
 * goes to a temporary file as the next begins (inline strings, no shared
 * string table), so a version of many entries is never held as cells. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xlsxwriter.h>

#include "qingdan/err.h"
#include "qingdan/xlsx.h"

#include "../csvdoc/csvdoc_int.h"

/* Excel's most characters in a cell. */
#define CELL_CHARS_MAX 32767

/* A workbook being written.  err keeps the first failure; once it is set
 * nothing more is written. */
struct wb {
	lxw_workbook *b;
	lxw_format *head;   /* headings: bold */
	lxw_format *text;   /* 文本 (@): what is typed there stays text */
	lxw_format *date;   /* yyyy-mm-dd */
	int err;
};

static int lxw_to_qd(lxw_error e)
{
	return e == LXW_NO_ERROR ? 0 : e == LXW_ERROR_MEMORY_MALLOC_FAILED ? QD_ENOMEM : QD_EIO;
}

static int wb_open(struct wb *w, const char *path)
{
	lxw_workbook_options o = { .constant_memory = LXW_TRUE, .tmpdir = NULL, .use_zip64 = LXW_TRUE };

	memset(w, 0, sizeof(*w));
	w->b = workbook_new_opt(path, &o);
	if (w->b == NULL)
		return QD_EIO;
	w->head = workbook_add_format(w->b);
	w->text = workbook_add_format(w->b);
	w->date = workbook_add_format(w->b);
	if (w->head == NULL || w->text == NULL || w->date == NULL) {
		w->err = QD_ENOMEM;
		return 0;
	}
	format_set_bold(w->head);
	format_set_num_format(w->text, "@");
	format_set_num_format(w->date, "yyyy-mm-dd");
	return 0;
}

/* Close (write) the workbook; returns the first error met. */
static int wb_close(struct wb *w)
{
	int rc = lxw_to_qd(workbook_close(w->b));

	return w->err ? w->err : rc;
}

static void note(struct wb *w, lxw_error e)
{
	if (e != LXW_NO_ERROR && w->err == 0)
		w->err = lxw_to_qd(e);
}

static lxw_worksheet *sheet(struct wb *w, const char *name)
{
	lxw_worksheet *s = w->err ? NULL : workbook_add_worksheet(w->b, name);

	if (s == NULL && w->err == 0)
		w->err = QD_ENOMEM;
	return s;
}

/* The first max characters of s, cut at a character. */
static size_t chars_prefix(const char *s, size_t max)
{
	size_t i = 0, n = 0;

	while (s[i] != '\0' && n < max) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		n++;
	}
	return i;
}

/* A text cell (nothing for an empty text).  Text beyond what a cell holds
 * is cut: no entry field is that long, only a very long joined list. */
static void put_str(struct wb *w, lxw_worksheet *s, unsigned row, unsigned col, const char *v)
{
	char *cut = NULL;

	if (w->err || s == NULL || v == NULL || v[0] == '\0')
		return;
	if (strlen(v) > CELL_CHARS_MAX) {
		size_t n = chars_prefix(v, CELL_CHARS_MAX);

		if (v[n] != '\0') {
			cut = strndup(v, n);
			if (cut == NULL) {
				w->err = QD_ENOMEM;
				return;
			}
			v = cut;
		}
	}
	note(w, worksheet_write_string(s, row, (lxw_col_t)col, v, w->text));
	free(cut);
}

static void put_num(struct wb *w, lxw_worksheet *s, unsigned row, unsigned col, double v)
{
	if (!w->err && s != NULL)
		note(w, worksheet_write_number(s, row, (lxw_col_t)col, v, NULL));
}

/* A date YYYY-MM-DD as a date cell; as text when Excel cannot hold it. */
static void put_date(struct wb *w, lxw_worksheet *s, unsigned row, unsigned col, const char *v)
{
	lxw_datetime dt = { 0 };

	if (w->err || s == NULL || v == NULL || v[0] == '\0')
		return;
	if (sscanf(v, "%4d-%2d-%2d", &dt.year, &dt.month, &dt.day) != 3 || dt.year < 1901) {
		put_str(w, s, row, col, v);
		return;
	}
	note(w, worksheet_write_datetime(s, row, (lxw_col_t)col, &dt, w->date));
}

/* A header row of n headings, frozen in view; the columns formatted as
 * text, so that what is typed into them later stays text (a code keeps
 * its leading zero, a date typed as text is read as one). */
static void header(struct wb *w, lxw_worksheet *s, const char *const *headings, unsigned n,
		   const double *widths)
{
	if (w->err || s == NULL)
		return;
	for (unsigned j = 0; j < n; j++) {
		note(w, worksheet_set_column(s, (lxw_col_t)j, (lxw_col_t)j, widths[j], w->text));
		note(w, worksheet_write_string(s, 0, (lxw_col_t)j, headings[j], w->head));
	}
	worksheet_freeze_panes(s, 1, 0);
}

/* ---- text of JSON values ---------------------------------------------------- */

/* A growing string; oom sticky. */
struct str {
	char *s;
	size_t len, cap;
	bool oom;
};

static void str_add(struct str *t, const char *s)
{
	size_t n = strlen(s);

	if (t->oom)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 64;
		char *ns;

		while (t->len + n + 1 > cap)
			cap *= 2;
		ns = realloc(t->s, cap);
		if (ns == NULL) {
			t->oom = true;
			return;
		}
		t->s = ns;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n + 1);
	t->len += n;
}

static const char *str_get(struct str *t)
{
	return t->oom || t->s == NULL ? "" : t->s;
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The strings of an array joined with '；'. */
static void joined(struct str *t, const json_t *arr)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		if (i > 0)
			str_add(t, "；");
		str_add(t, json_string_value(v) ? json_string_value(v) : "");
	}
}

/* The texts of the conditions of one type, one per line. */
static void conditions(struct str *t, const json_t *arr, const char *type)
{
	size_t i;
	json_t *v;
	bool first = true;

	json_array_foreach(arr, i, v) {
		if (strcmp(jstr(v, "type"), type) != 0)
			continue;
		if (!first)
			str_add(t, "\n");
		str_add(t, jstr(v, "text"));
		first = false;
	}
}

static const char *effect_zh(const char *v)
{
	return strcmp(v, "exclude") == 0 ? "排除" : "纳入";
}

static const char *status_zh(const char *v)
{
	return strcmp(v, "suspended") == 0 ? "暂停" : strcmp(v, "revoked") == 0 ? "撤销" : "有效";
}

/* The quantity limit as the import reads it back: integers as digits,
 * other numbers with 15 significant digits, as the canonical form has them. */
static void number_text(const json_t *v, char *buf, size_t size)
{
	if (json_is_integer(v))
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, size, "%.15g", json_real_value(v));
	else
		buf[0] = '\0';
}

/* The cell text of field f of the entry e (canonical form) into t. */
static void field_text(struct str *t, const json_t *e, enum field f)
{
	json_t *q = json_object_get(e, "quantity");
	char num[40];

	switch (f) {
	case F_ID: str_add(t, jstr(e, "id")); break;
	case F_CODE: str_add(t, jstr(e, "code")); break;
	case F_CIQ: str_add(t, jstr(e, "ciq")); break;
	case F_NAME_ZH: str_add(t, jstr(json_object_get(e, "name"), "zh")); break;
	case F_NAME_EN: str_add(t, jstr(json_object_get(e, "name"), "en")); break;
	case F_SPEC: str_add(t, jstr(e, "spec")); break;
	case F_EFFECT: str_add(t, effect_zh(jstr(e, "effect"))); break;
	case F_ENTITIES: joined(t, json_object_get(e, "entities")); break;
	case F_VALID_FROM: str_add(t, jstr(e, "valid_from")); break;
	case F_VALID_TO: str_add(t, jstr(e, "valid_to")); break;
	case F_STATUS: str_add(t, status_zh(jstr(e, "status"))); break;
	case F_WAIVES: joined(t, json_object_get(e, "waives")); break;
	case F_CONDITIONS: conditions(t, json_object_get(e, "conditions"), "remark"); break;
	case F_NOTES: conditions(t, json_object_get(e, "conditions"), "note"); break;
	case F_QTY_LIMIT:
		number_text(json_object_get(q, "limit"), num, sizeof(num));
		str_add(t, num);
		break;
	case F_QTY_UNIT: str_add(t, jstr(q, "unit")); break;
	case F_CLAUSES: joined(t, json_object_get(e, "clauses")); break;
	case F_BATCH: str_add(t, jstr(e, "batch")); break;
	case F_IDENTITY: {
		/* Written only where the entry says it (the canonical form
		 * omits the kind's default), in the words the import reads. */
		const char *id = jstr(e, "identity");
		str_add(t, strcmp(id, "item") == 0 ? "单品" : strcmp(id, "category") == 0 ? "类别" : "");
		break;
	}
	case F_ALIASES: joined(t, json_object_get(e, "aliases")); break;
	case F_CUSTOMS: joined(t, json_object_get(e, "customs")); break;
	case F_COUNT: break;
	}
}

/* Field f of entry e into its cell: dates as dates, the limit as a number. */
static void put_field(struct wb *w, lxw_worksheet *s, unsigned row, const json_t *e, enum field f)
{
	struct str t = { 0 };
	json_t *lim;

	if (f == F_VALID_FROM || f == F_VALID_TO) {
		put_date(w, s, row, f, jstr(e, f == F_VALID_FROM ? "valid_from" : "valid_to"));
		return;
	}
	lim = json_object_get(json_object_get(e, "quantity"), "limit");
	if (f == F_QTY_LIMIT && json_is_number(lim)) {
		put_num(w, s, row, f, json_number_value(lim));
		return;
	}
	field_text(&t, e, f);
	if (t.oom && w->err == 0)
		w->err = QD_ENOMEM;
	put_str(w, s, row, f, str_get(&t));
	free(t.s);
}

static json_t *entry_tree(const qd_entry *e)
{
	return json_loadb(e->json, e->json_len, 0, NULL);
}

/* ---- a version ---------------------------------------------------------------- */

static void entries_sheet(struct wb *w, const qd_listdoc *doc)
{
	lxw_worksheet *s = sheet(w, "清单");
	const char *headings[F_COUNT];
	double widths[F_COUNT];

	for (int f = 0; f < F_COUNT; f++) {
		headings[f] = qd_csv_fields[f].zh[0];
		widths[f] = f == F_NAME_ZH || f == F_NAME_EN || f == F_CONDITIONS || f == F_NOTES ? 30 : 14;
	}
	widths[F_ENTITIES] = 22;
	header(w, s, headings, F_COUNT, widths);
	for (size_t i = 0; i < doc->n_entries && !w->err; i++) {
		json_t *e = entry_tree(&doc->entries[i]);

		if (e == NULL) {
			w->err = QD_ENOMEM;
			break;
		}
		for (int f = 0; f < F_COUNT; f++)
			put_field(w, s, (unsigned)i + 1, e, (enum field)f);
		json_decref(e);
	}
}

static void clauses_sheet(struct wb *w, const qd_listdoc *doc)
{
	static const char *const headings[] = { "编号", "文件", "条目", "标题", "条文", "链接" };
	static const char *const keys[] = { "id", "document", "article", "title", "text", "url" };
	static const double widths[] = { 20, 30, 12, 24, 60, 30 };
	lxw_worksheet *s = sheet(w, "条款");
	json_t *arr = json_object_get(doc->json, "clauses"), *c;
	size_t i;

	header(w, s, headings, 6, widths);
	json_array_foreach(arr, i, c) {
		for (unsigned j = 0; j < 6; j++)
			put_str(w, s, (unsigned)i + 1, j, jstr(c, keys[j]));
	}
}

static void roster_sheet(struct wb *w, const qd_listdoc *doc)
{
	static const char *const headings[] = { "统一社会信用代码", "单位名称", "英文名称", "状态", "有效期起",
						"有效期止" };
	static const double widths[] = { 22, 36, 36, 8, 12, 12 };
	json_t *arr = json_object_get(doc->json, "entities"), *m;
	lxw_worksheet *s;
	size_t i;

	if (json_array_size(arr) == 0)
		return;
	s = sheet(w, "名录");
	header(w, s, headings, 6, widths);
	json_array_foreach(arr, i, m) {
		unsigned row = (unsigned)i + 1;

		put_str(w, s, row, 0, jstr(m, "id"));
		put_str(w, s, row, 1, jstr(json_object_get(m, "name"), "zh"));
		put_str(w, s, row, 2, jstr(json_object_get(m, "name"), "en"));
		put_str(w, s, row, 3, status_zh(jstr(m, "status")));
		put_date(w, s, row, 4, jstr(m, "valid_from"));
		put_date(w, s, row, 5, jstr(m, "valid_to"));
	}
}

/* Rows of two columns: a label, then its value (text or a number). */
struct kv {
	const char *label;
	const char *text;   /* NULL: the number */
	double num;
};

static void kv_sheet(struct wb *w, const char *name, const struct kv *rows, size_t n)
{
	static const char *const headings[] = { "项目", "内容" };
	static const double widths[] = { 16, 60 };
	lxw_worksheet *s = sheet(w, name);

	header(w, s, headings, 2, widths);
	for (size_t i = 0; i < n; i++) {
		put_str(w, s, (unsigned)i + 1, 0, rows[i].label);
		if (rows[i].text != NULL)
			put_str(w, s, (unsigned)i + 1, 1, rows[i].text);
		else
			put_num(w, s, (unsigned)i + 1, 1, rows[i].num);
	}
}

int qd_xlsx_write_list(const qd_listdoc *doc, uint32_t version, const char *path)
{
	json_t *title = json_object_get(doc->json, "title");
	struct wb w;
	int rc = wb_open(&w, path);

	if (rc)
		return rc;
	entries_sheet(&w, doc);
	clauses_sheet(&w, doc);
	roster_sheet(&w, doc);
	{
		const struct kv rows[] = {
			{ "清单", doc->list, 0 },
			{ "类型", doc->kind == QD_KIND_WHITELIST ? "白名单 (whitelist)" : "正面清单 (positive)", 0 },
			{ "标题", jstr(title, "zh"), 0 },
			{ "英文标题", jstr(title, "en"), 0 },
			{ "版本", NULL, version },
			{ "发布单位", jstr(doc->json, "issuer"), 0 },
			{ "发布日期", jstr(doc->json, "published"), 0 },
			{ "来源", jstr(doc->json, "source"), 0 },
			{ "条目数", NULL, (double)doc->n_entries },
		};

		kv_sheet(&w, "版本", rows, sizeof(rows) / sizeof(rows[0]));
	}
	return wb_close(&w);
}

/* ---- a diff ------------------------------------------------------------------- */

/* Entries of a document by id, for the changes' lookups. */
struct by_id {
	const qd_listdoc *doc;
	size_t *ix;   /* indexes of doc's entries sorted by id */
};

static int cmp_ix(const void *a, const void *b, void *doc)
{
	const qd_listdoc *d = doc;

	return strcmp(d->entries[*(const size_t *)a].id, d->entries[*(const size_t *)b].id);
}

static int by_id_init(struct by_id *x, const qd_listdoc *doc)
{
	x->doc = doc;
	x->ix = malloc((doc->n_entries ? doc->n_entries : 1) * sizeof(*x->ix));
	if (x->ix == NULL)
		return QD_ENOMEM;
	for (size_t i = 0; i < doc->n_entries; i++)
		x->ix[i] = i;
	qsort_r(x->ix, doc->n_entries, sizeof(*x->ix), cmp_ix, (void *)doc);
	return 0;
}

/* The entry with that id as a tree (new reference), or NULL. */
static json_t *by_id_get(const struct by_id *x, const char *id)
{
	size_t lo = 0, hi = x->doc->n_entries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(x->doc->entries[x->ix[mid]].id, id);

		if (c == 0)
			return entry_tree(&x->doc->entries[x->ix[mid]]);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The CSV fields of an entry key: name and quantity have two. */
static int key_fields(const char *key, enum field out[2])
{
	for (int f = 0; f < F_COUNT; f++) {
		if (strcmp(key, qd_csv_fields[f].name) == 0) {
			out[0] = (enum field)f;
			if (f == F_CONDITIONS) {
				out[1] = F_NOTES;
				return 2;
			}
			return 1;
		}
	}
	if (strcmp(key, "name") == 0) {
		out[0] = F_NAME_ZH;
		out[1] = F_NAME_EN;
		return 2;
	}
	if (strcmp(key, "quantity") == 0) {
		out[0] = F_QTY_LIMIT;
		out[1] = F_QTY_UNIT;
		return 2;
	}
	return 0;
}

enum { D_ID, D_KIND, D_FIELD, D_OLD, D_NEW, D_CODE, D_NAME, D_COLS };

/* The code and name of the entry the change is about (the new one, or
 * the old one for a removal). */
static void change_goods(struct wb *w, lxw_worksheet *s, unsigned row, const json_t *e)
{
	put_str(w, s, row, D_CODE, jstr(e, "code"));
	put_str(w, s, row, D_NAME, jstr(json_object_get(e, "name"), "zh"));
}

static const char *kind_zh(enum qd_change_kind k)
{
	return k == QD_CHANGE_ADDED ? "新增" : k == QD_CHANGE_REMOVED ? "删除" : "修改";
}

/* The rows of one change from row on; returns the next free row. */
static unsigned change_rows(struct wb *w, lxw_worksheet *s, unsigned row, const qd_change *ch,
			    const json_t *old, const json_t *new)
{
	if (ch->kind != QD_CHANGE_CHANGED) {
		put_str(w, s, row, D_ID, ch->id);
		put_str(w, s, row, D_KIND, kind_zh(ch->kind));
		change_goods(w, s, row, ch->kind == QD_CHANGE_ADDED ? new : old);
		return row + 1;
	}
	for (size_t k = 0; k < ch->n_fields; k++) {
		enum field fs[2];
		int n = key_fields(ch->fields[k], fs);

		for (int j = 0; j < n; j++) {
			struct str a = { 0 }, b = { 0 };

			field_text(&a, old, fs[j]);
			field_text(&b, new, fs[j]);
			if (a.oom || b.oom)
				w->err = w->err ? w->err : QD_ENOMEM;
			if (strcmp(str_get(&a), str_get(&b)) != 0) {
				put_str(w, s, row, D_ID, ch->id);
				put_str(w, s, row, D_KIND, kind_zh(ch->kind));
				put_str(w, s, row, D_FIELD, qd_csv_fields[fs[j]].zh[0]);
				put_str(w, s, row, D_OLD, str_get(&a));
				put_str(w, s, row, D_NEW, str_get(&b));
				change_goods(w, s, row, new);
				row++;
			}
			free(a.s);
			free(b.s);
		}
		if (n == 0) {
			put_str(w, s, row, D_ID, ch->id);
			put_str(w, s, row, D_KIND, kind_zh(ch->kind));
			put_str(w, s, row, D_FIELD, ch->fields[k]);
			change_goods(w, s, row, new);
			row++;
		}
	}
	return row;
}

int qd_xlsx_write_diff(const char *list, const qd_diff *d, const qd_listdoc *from, const qd_listdoc *to,
		       const char *path)
{
	static const char *const headings[D_COLS] = { "编号", "变动", "字段", "原值", "新值", "商品编码",
						      "商品名称" };
	static const double widths[D_COLS] = { 14, 8, 14, 36, 36, 14, 30 };
	struct by_id old = { 0 }, new = { 0 };
	lxw_worksheet *s;
	unsigned row = 1;
	struct wb w;
	int rc;
	size_t total = d->added + d->removed + d->changed;
	char note_text[160];

	if ((rc = by_id_init(&old, from)) != 0 || (rc = by_id_init(&new, to)) != 0)
		goto out;
	if ((rc = wb_open(&w, path)) != 0)
		goto out;
	s = sheet(&w, "变动");
	header(&w, s, headings, D_COLS, widths);
	for (size_t i = 0; i < d->changes.n && !w.err; i++) {
		const qd_change *ch = &d->changes.v[i];
		json_t *o = by_id_get(&old, ch->id), *n = by_id_get(&new, ch->id);

		row = change_rows(&w, s, row, ch, o, n);
		json_decref(o);
		json_decref(n);
	}
	snprintf(note_text, sizeof(note_text),
		 d->changes.n < total ? "按编号列出前 %zu 项变动（共 %zu 项）" : "按编号列出全部 %zu 项变动",
		 d->changes.n, total);
	{
		const struct kv rows[] = {
			{ "清单", list, 0 },
			{ "原版本", NULL, d->from },
			{ "新版本", NULL, d->to },
			{ "新增条目", NULL, (double)d->added },
			{ "删除条目", NULL, (double)d->removed },
			{ "修改条目", NULL, (double)d->changed },
			{ "说明", note_text, 0 },
		};

		kv_sheet(&w, "概要", rows, sizeof(rows) / sizeof(rows[0]));
	}
	rc = wb_close(&w);
out:
	free(old.ix);
	free(new.ix);
	return rc;
}

/* ---- a check's answer ------------------------------------------------------------ */

/* The reasons in words (as the pre-check page gives them). */
static const struct {
	const char *reason, *zh;
} reasons[] = {
	{ "listed", "已列入清单，可适用便利措施。" },
	{ "excluded", "该商品被清单的排除条目明确排除，不适用便利措施；按常规程序办理。" },
	{ "not_listed", "未列入任何清单；按常规程序办理。" },
	{ "entity_required", "需要填写单位代码才能判断（该清单只适用于名册内的单位）。" },
	{ "entity_not_eligible", "本单位不在适用范围内（条目批准给其他单位，或本单位不在该清单的单位名册中）；按常规程序办理。" },
	{ "not_yet_effective", "相关条目尚未生效；在生效前按常规程序办理。" },
	{ "expired", "相关条目已过有效期；按常规程序办理。" },
	{ "suspended", "相关条目已暂停；按常规程序办理。" },
	{ "revoked", "相关条目已撤销；按常规程序办理。" },
};

static const char *reason_zh(const char *reason)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (strcmp(reasons[i].reason, reason) == 0)
			return reasons[i].zh;
	}
	return reason;
}

static const char *decision_zh(const char *d)
{
	return strcmp(d, "allow") == 0 ? "适用便利措施" : "未纳入（按常规程序办理）";
}

enum { K_NO, K_REF, K_CODE, K_CIQ, K_DECISION, K_REASON, K_LIST, K_VERSION, K_ENTRY, K_NAME, K_CLAUSES,
       K_WAIVES, K_REMARK, K_NOTES, K_QTY, K_COLS };

/* A ref as text: a string as it is, a number as its digits. */
static void ref_text(const json_t *ref, char *buf, size_t size)
{
	if (json_is_string(ref))
		snprintf(buf, size, "%s", json_string_value(ref));
	else if (json_is_integer(ref))
		snprintf(buf, size, "%lld", (long long)json_integer_value(ref));
	else
		buf[0] = '\0';
}

/* The deciding entry of a decided item: list, entry, clauses, waivers,
 * conditions and quantity. */
static void basis_cells(struct wb *w, lxw_worksheet *s, unsigned row, const json_t *basis)
{
	const json_t *e = json_object_get(basis, "entry"), *c;
	struct str cl = { 0 }, t = { 0 };
	char num[40];
	size_t i;

	if (!json_is_object(basis))
		return;
	put_str(w, s, row, K_LIST, jstr(basis, "list"));
	put_num(w, s, row, K_VERSION, json_number_value(json_object_get(basis, "version")));
	put_str(w, s, row, K_ENTRY, jstr(e, "id"));
	put_str(w, s, row, K_NAME, jstr(json_object_get(e, "name"), "zh"));
	json_array_foreach(json_object_get(basis, "clauses"), i, c) {
		if (i > 0)
			str_add(&cl, "；");
		str_add(&cl, jstr(c, "document"));
		str_add(&cl, " ");
		str_add(&cl, jstr(c, "article"));
		str_add(&cl, "（");
		str_add(&cl, jstr(c, "id"));
		str_add(&cl, "）");
	}
	put_str(w, s, row, K_CLAUSES, str_get(&cl));
	free(cl.s);
	field_text(&t, e, F_WAIVES);
	put_str(w, s, row, K_WAIVES, str_get(&t));
	t.len = 0;
	if (t.s != NULL)
		t.s[0] = '\0';
	field_text(&t, e, F_CONDITIONS);
	put_str(w, s, row, K_REMARK, str_get(&t));
	t.len = 0;
	if (t.s != NULL)
		t.s[0] = '\0';
	field_text(&t, e, F_NOTES);
	put_str(w, s, row, K_NOTES, str_get(&t));
	if (t.oom && w->err == 0)
		w->err = QD_ENOMEM;
	free(t.s);
	number_text(json_object_get(json_object_get(e, "quantity"), "limit"), num, sizeof(num));
	if (num[0] != '\0') {
		char q[160];

		snprintf(q, sizeof(q), "%s %s", num, jstr(json_object_get(e, "quantity"), "unit"));
		put_str(w, s, row, K_QTY, q);
	}
}

static void check_row(struct wb *w, lxw_worksheet *s, unsigned row, const json_t *asked, const json_t *item)
{
	const json_t *err = json_object_get(item, "error");
	char ref[64];

	put_num(w, s, row, K_NO, row);
	ref_text(json_object_get(item, "ref"), ref, sizeof(ref));
	put_str(w, s, row, K_REF, ref);
	if (err != NULL) {
		put_str(w, s, row, K_CODE, jstr(asked, "code"));
		put_str(w, s, row, K_CIQ, jstr(asked, "ciq"));
		put_str(w, s, row, K_DECISION, "编码无效");
		{
			struct str t = { 0 };

			str_add(&t, "商品编号格式不正确：应为 2–10 位数字，或 13 位（含检验检疫编码）。（");
			str_add(&t, jstr(err, "message"));
			str_add(&t, "）");
			put_str(w, s, row, K_REASON, str_get(&t));
			free(t.s);
		}
		return;
	}
	put_str(w, s, row, K_CODE, jstr(json_object_get(item, "query"), "code"));
	put_str(w, s, row, K_CIQ, jstr(json_object_get(item, "query"), "ciq"));
	put_str(w, s, row, K_DECISION, decision_zh(jstr(item, "decision")));
	put_str(w, s, row, K_REASON, reason_zh(jstr(item, "reason")));
	basis_cells(w, s, row, json_object_get(item, "basis"));
}

int qd_xlsx_write_check(const json_t *request, const json_t *answer, const char *path)
{
	static const char *const headings[K_COLS] = { "序号", "参考号", "商品编号", "检验检疫编码", "结论", "原因",
						      "清单", "版本", "条目", "商品名称", "依据条款",
						      "免于提交单证", "备注要求", "说明", "数量上限" };
	static const double widths[K_COLS] = { 6, 14, 14, 10, 20, 40, 22, 6, 12, 30, 36, 14, 24, 30, 12 };
	const json_t *items = json_object_get(answer, "items"), *asked = json_object_get(request, "items");
	const json_t *summary = json_object_get(answer, "summary"), *item;
	const char *date = "";
	lxw_worksheet *s;
	struct wb w;
	size_t i;
	int rc = wb_open(&w, path);

	if (rc)
		return rc;
	s = sheet(&w, "预检结果");
	header(&w, s, headings, K_COLS, widths);
	json_array_foreach(items, i, item) {
		check_row(&w, s, (unsigned)i + 1, json_array_get(asked, i), item);
		if (date[0] == '\0')
			date = jstr(json_object_get(item, "query"), "date");
	}
	{
		const json_t *d = json_object_get(request, "date");
		const struct kv rows[] = {
			{ "决定编号", jstr(answer, "decision_id"), 0 },
			{ "客户参考号", jstr(answer, "client_ref"), 0 },
			{ "结论", strcmp(jstr(answer, "decision"), "allow") == 0
					  ? "全部货物均适用便利措施"
					  : "部分货物不适用便利措施（按常规程序办理）", 0 },
			{ "适用便利措施", NULL, json_number_value(json_object_get(summary, "allow")) },
			{ "未纳入", NULL, json_number_value(json_object_get(summary, "deny")) },
			{ "编码无效", NULL, json_number_value(json_object_get(summary, "invalid")) },
			{ "单位代码", jstr(request, "entity"), 0 },
			{ "日期", json_is_string(d) ? json_string_value(d) : date, 0 },
			{ "清单", jstr(request, "list"), 0 },
		};

		kv_sheet(&w, "概要", rows, sizeof(rows) / sizeof(rows[0]));
	}
	return wb_close(&w);
}
