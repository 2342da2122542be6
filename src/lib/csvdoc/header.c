/* qingdan — CSV import: the header row, whose headings (English or
 * Chinese) name the field of each column. */
#include <stdio.h>
#include <stdlib.h>

#include "csvdoc_int.h"

/* The column headings (DESIGN.md, "CSV import"). */
const struct field_def qd_csv_fields[F_COUNT] = {
	[F_ID] = { "id", { "编号", "序号" } },
	[F_CODE] = { "code", { "商品编码", "商品编号", "HS编码" } },
	[F_CIQ] = { "ciq", { "检验检疫编码" } },
	[F_NAME_ZH] = { "name_zh", { "商品名称", "物品名称", "名称" } },
	[F_NAME_EN] = { "name_en", { "英文名称" } },
	[F_SPEC] = { "spec", { "规格型号", "规格" } },
	[F_EFFECT] = { "effect", { "类型" } },
	[F_ENTITIES] = { "entities", { "统一社会信用代码", "单位代码" } },
	[F_VALID_FROM] = { "valid_from", { "有效期起" } },
	[F_VALID_TO] = { "valid_to", { "有效期止" } },
	[F_STATUS] = { "status", { "状态" } },
	[F_WAIVES] = { "waives", { "免于提交单证" } },
	[F_CONDITIONS] = { "conditions", { "备注要求" } },
	[F_NOTES] = { "notes", { "说明" } },
	[F_QTY_LIMIT] = { "quantity_limit", { "数量" } },
	[F_QTY_UNIT] = { "quantity_unit", { "计量单位" } },
	[F_CLAUSES] = { "clauses", { "依据条款" } },
	[F_BATCH] = { "batch", { "批次" } },
	[F_IDENTITY] = { "identity", { "认定方式" } },
	[F_ALIASES] = { "aliases", { "别名", "其他名称" } },
	[F_CUSTOMS] = { "customs", { "关区代码", "适用关区" } },
};

static int field_of_heading(const char *s, size_t n)
{
	for (int f = 0; f < F_COUNT; f++) {
		if (ascii_case_eq(s, n, qd_csv_fields[f].name))
			return f;
		for (const char *const *zh = qd_csv_fields[f].zh; *zh; zh++) {
			if (ascii_case_eq(s, n, *zh))
				return f;
		}
	}
	return -1;
}

/* "id (编号, 序号), code (商品编码, …), …" for messages. */
static void list_fields(char *buf, size_t size, uint32_t which)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int f = 0; f < F_COUNT && o < size; f++) {
		if (!(which & BIT(f)))
			continue;
		o += (size_t)snprintf(buf + o, size - o, "%s%s (", o ? ", " : "", qd_csv_fields[f].name);
		for (const char *const *zh = qd_csv_fields[f].zh; *zh && o < size; zh++)
			o += (size_t)snprintf(buf + o, size - o, "%s%s", zh == qd_csv_fields[f].zh ? "" : ", ", *zh);
		if (o < size)
			o += (size_t)snprintf(buf + o, size - o, ")");
	}
}

/* Record the field of each of the n columns (cells: the trimmed
 * headings); returns how many headings name a field.  Sets im->toom when
 * out of memory. */
static unsigned classify_columns(struct imp *im, char **cells, size_t n)
{
	unsigned recognised = 0;

	im->col_field = calloc(n, sizeof(*im->col_field));
	im->heading = calloc(n, sizeof(*im->heading));
	if (im->col_field == NULL || im->heading == NULL) {
		im->toom = true;
		return 0;
	}
	im->ncols = n;
	for (size_t j = 0; j < n; j++) {
		int f;

		im->heading[j] = strdup(cells[j]);
		if (im->heading[j] == NULL)
			im->toom = true;
		if (cells[j][0] == '\0') {
			im->col_field[j] = COL_BLANK;
			continue;
		}
		f = field_of_heading(cells[j], strlen(cells[j]));
		if (f < 0) {
			im->col_field[j] = COL_UNKNOWN;
		} else if (im->col_of[f] != 0) {
			im->col_field[j] = COL_REPEATED;
		} else {
			im->col_field[j] = f;
			im->col_of[f] = (unsigned)j + 1;
			recognised++;
		}
	}
	return recognised;
}

/* Unknown and repeated columns; list names every heading known. */
static void report_columns(struct imp *im, const char *list)
{
	char q[QBUF];

	for (size_t j = 0; j < im->ncols; j++) {
		const char *h = im->heading[j];

		if (im->col_field[j] == COL_UNKNOWN) {
			PROB_AT(im, im->row_line, (unsigned)j + 1, "unknown column %s; expected one of %s",
				qd_quote(h, strlen(h), q), list);
		} else if (im->col_field[j] == COL_REPEATED) {
			int f = field_of_heading(h, strlen(h));

			PROB_AT(im, im->row_line, (unsigned)j + 1,
				"column %s repeats column %u (%s): each field may appear once",
				qd_quote(h, strlen(h), q), im->col_of[f], qd_csv_fields[f].name);
		}
	}
}

/* Required columns that are absent, reported once and remembered in
 * im->missing so that no row repeats the problem. */
static void report_missing(struct imp *im)
{
	uint32_t required = BIT(F_ID) | BIT(F_CODE) | BIT(F_NAME_ZH) | BIT(F_CLAUSES);
	char list[1024];

	if (im->base->kind == QD_KIND_WHITELIST)
		required |= BIT(F_ENTITIES);
	for (int f = 0; f < F_COUNT; f++) {
		if ((required & BIT(f)) && im->col_of[f] == 0)
			im->missing |= BIT(f);
	}
	if (im->missing != 0) {
		list_fields(list, sizeof(list), im->missing);
		PROB_AT(im, im->row_line, 0, "missing required column%s %s%s",
			(im->missing & (im->missing - 1)) ? "s" : "", list,
			im->base->kind == QD_KIND_WHITELIST && (im->missing & BIT(F_ENTITIES))
				? " (a whitelist names the entities of every entry)" : "");
	}
}

/* A quantity is a limit and a unit: one column alone cannot make one. */
static void check_quantity_columns(struct imp *im)
{
	char q[QBUF];

	if ((im->col_of[F_QTY_LIMIT] != 0) != (im->col_of[F_QTY_UNIT] != 0)) {
		enum field have = im->col_of[F_QTY_LIMIT] ? F_QTY_LIMIT : F_QTY_UNIT;
		enum field lack = have == F_QTY_LIMIT ? F_QTY_UNIT : F_QTY_LIMIT;

		PROB_AT(im, im->row_line, im->col_of[have], "column %s needs a %s (%s) column as well",
			qd_quote(hd(im, have), strlen(hd(im, have)), q), qd_csv_fields[lack].name,
			qd_csv_fields[lack].zh[0]);
		im->missing |= BIT(F_QTY_LIMIT) | BIT(F_QTY_UNIT);
	}
}

void qd_csv_header(struct imp *im)
{
	size_t n = im->row.nf;
	char **cells;
	unsigned recognised;
	bool blank = true;
	char list[1024];

	if (n > FIELDS_MAX) {
		im->have_header = true;
		PROB_AT(im, im->row_line, 0, "the header has %zu columns; at most %d are read", n, FIELDS_MAX);
		return;
	}
	cells = qd_csv_row_cells(im, n);
	if (cells == NULL) {
		im->toom = true;
		return;
	}
	/* Rows of empty cells above the header are skipped like blank lines. */
	for (size_t j = 0; j < n && blank; j++)
		blank = cells[j][0] == '\0';
	if (blank) {
		free(cells);
		return;
	}
	im->have_header = true;
	im->header_line = im->row_line;
	recognised = classify_columns(im, cells, n);
	free(cells);
	if (im->toom)
		return;
	list_fields(list, sizeof(list), UINT32_MAX);
	if (recognised == 0) {
		/* Every cell unknown: a missing header, not a header full of typos. */
		PROB_AT(im, im->row_line, 0, "the first line is not a header row: none of its cells "
			"names a column; expected headings among %s", list);
		return;
	}
	im->header_ok = true;
	report_columns(im, list);
	report_missing(im);
	check_quantity_columns(im);
}
