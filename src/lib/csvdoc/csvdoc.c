/* qingdan — CSV import of list entries.
 *
 * Three stages, all problems of every stage collected before giving up:
 *
 * 1. Decode.  The bytes become UTF-8 text: UTF-8 is checked (a BOM is
 *    dropped), GB18030 is converted with iconv(3), never by hand.  When no
 *    charset is named, a UTF-8 BOM or valid UTF-8 means UTF-8, and anything
 *    else is converted from GB18030 (what a Chinese Excel writes).  Bytes
 *    that are valid both ways, where the UTF-8 reading holds characters no
 *    Chinese list has (Cyrillic, Latin Extended: GB18030 "芯片" is UTF-8
 *    "оƬ") and the GB18030 reading none, are refused until the charset is
 *    named: mojibake is never stored silently.  If neither
 *    decoding works, the problem names the line where the decoding that got
 *    further failed: that is the encoding the file most likely is in.  GBK
 *    and GB2312 are subsets of GB18030, so they are read as GB18030.
 *    Undecodable text stops the import: nothing after it can be trusted.
 *
 * 2. Tokenise with libcsv (Debian's libcsv3): it implements RFC 4180
 *    quoting including line breaks inside quoted fields, its strict mode
 *    (CSV_STRICT, CSV_STRICT_FINI) reports stray and unclosed quotes instead
 *    of guessing, it skips blank lines, and it keeps no global state (every
 *    callback gets our context).  It does not know line numbers, so we feed
 *    it one physical line at a time (a line ends at "\n", "\r\n" or a lone
 *    "\r"): a record begins on the first line with anything but blanks after
 *    the previous record ended, and a record can only end at the end of a
 *    chunk.  After a quoting error the parser restarts at the next line, so
 *    one stray '"' does not hide the problems of the rest of the file.
 *
 * 3. Build and validate.  Each record becomes an entry object (keys of the
 *    list document) as soon as it ends, and goes in a small batch
 *    (pipe.c) through the document builder (qd_listdoc_begin with the
 *    base document's head), which checks it with every loader rule and
 *    keeps only its canonical bytes; the batch's objects are then dropped
 *    at once, so no tree of all the rows is ever held.  A big file is
 *    tokenised and its entries built on a second thread while the caller
 *    checks the batches before; the problems and the document are the
 *    same either way.  The builder's problems (JSON Pointers
 *    /entries/<i>/<key>/...) are mapped back to the record's line and the
 *    column holding <key>.  Once the file is known invalid, rows are still
 *    checked, so every problem is counted, but none is kept.
 *
 * Decisions beyond DESIGN.md:
 *  - A column "conditions" (备注要求) is accepted; a non-empty cell becomes
 *    one condition {"type": "remark", "text": cell}.  So is a column
 *    "notes" (说明), whose cell becomes a {"type": "note"} after it: a
 *    version downloaded as a workbook loads back with its conditions.
 *  - A header without data rows is a problem ("no entries"), not an empty
 *    list: an empty or truncated upload must not wipe a list.  To remove
 *    every entry, load a JSON document with "entries": [].
 *  - Rows whose cells are all empty (",,,," as spreadsheets write them) are
 *    skipped like blank lines.  A column with an empty heading is ignored as
 *    long as its cells are empty too.
 *  - Dates may also be written 2024/1/5, 2024.1.5, 2024-1-5 or
 *    2024年1月5日 (how spreadsheets in a Chinese locale show them); they
 *    become 2024-01-05.  Anything else passes to the validator unchanged.
 *  - English headings and English effect/status values are matched ignoring
 *    ASCII case.
 *  - Header problems (unknown, repeated, missing columns) do not stop the
 *    rows from being checked; the rule violations that a missing required
 *    column would cause on every row are reported once, on the header.
 *  - Problems are returned sorted by line and column.
 *  - When iconv cannot convert from GB18030 at all (no gconv modules), the
 *    result is QD_EIO: the file is not at fault. */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>

#include "qingdan/err.h"

#include "csvdoc_int.h"
#include "../listdoc/checker.h"

/* Entry keys of the list document, and the field whose column a problem
 * under /entries/<i>/<key> is reported at. */
static const struct key_field {
	const char *key;
	enum field f;
} key_fields[] = {
	{ "id", F_ID }, { "code", F_CODE }, { "ciq", F_CIQ }, { "name", F_NAME_ZH },
	{ "spec", F_SPEC }, { "effect", F_EFFECT }, { "entities", F_ENTITIES },
	{ "valid_from", F_VALID_FROM }, { "valid_to", F_VALID_TO }, { "status", F_STATUS },
	{ "waives", F_WAIVES }, { "conditions", F_CONDITIONS }, { "quantity", F_QTY_LIMIT },
	{ "clauses", F_CLAUSES }, { "batch", F_BATCH }, { "identity", F_IDENTITY },
	{ "aliases", F_ALIASES }, { "customs", F_CUSTOMS },
};

/* Trim every stored field in place; returns an array of n pointers to
 * them (malloc()ed), or NULL when out of memory. */
char **qd_csv_row_cells(struct imp *im, size_t n)
{
	char **cells = calloc(n ? n : 1, sizeof(*cells));

	if (cells == NULL)
		return NULL;
	for (size_t j = 0; j < n; j++) {
		const char *s = im->row.bytes + im->row.off[j];
		size_t len = strlen(s);

		trim(&s, &len);
		cells[j] = (char *)s;
		cells[j][len] = '\0';
	}
	return cells;
}

bool qd_csv_row_trim(struct imp *im, size_t n)
{
	if (im->row.cells == NULL && (im->row.cells = malloc(FIELDS_MAX * sizeof(char *))) == NULL)
		return false;
	for (size_t j = 0; j < n; j++) {
		const char *t = im->row.bytes + im->row.off[j];
		size_t len = strlen(t);

		trim(&t, &len);
		im->row.cells[j] = (char *)t;
		im->row.cells[j][len] = '\0';
	}
	return true;
}

/* ---- tokenising -------------------------------------------------------------- */

static void on_field(void *s, size_t len, void *data)
{
	struct imp *im = data;
	struct rowbuf *r = &im->row;

	r->nf++;
	if (im->toom || r->nf > FIELDS_MAX)
		return;
	if (s == NULL)
		len = 0;
	if (r->len + len + 1 > r->cap) {
		size_t ncap = r->cap ? r->cap : 256;
		char *nb;

		while (r->len + len + 1 > ncap)
			ncap *= 2;
		nb = realloc(r->bytes, ncap);
		if (nb == NULL) {
			im->toom = true;
			return;
		}
		r->bytes = nb;
		r->cap = ncap;
	}
	if (r->off == NULL && (r->off = malloc(FIELDS_MAX * sizeof(*r->off))) == NULL) {
		im->toom = true;
		return;
	}
	r->off[r->nf - 1] = r->len;
	if (len > 0)
		memcpy(r->bytes + r->len, s, len);
	r->len += len;
	r->bytes[r->len++] = '\0';
}

static void row_reset(struct rowbuf *r)
{
	r->len = 0;
	r->nf = 0;
}

static void on_row(int c, void *data)
{
	struct imp *im = data;

	(void)c;
	im->in_row = false;
	if (!im->toom) {
		if (!im->have_header)
			qd_csv_header(im);
		else
			qd_csv_data_row(im);
	}
	row_reset(&im->row);
}

/* End of the physical line starting at pos: just past its "\n", "\r\n"
 * or lone "\r", or len. */
static size_t line_end(const char *s, size_t len, size_t pos)
{
	for (size_t i = pos; i < len; i++) {
		if (s[i] == '\n')
			return i + 1;
		if (s[i] == '\r')
			return (i + 1 < len && s[i + 1] == '\n') ? i + 2 : i + 1;
	}
	return len;
}

/* Anything but what libcsv skips between records? */
static bool has_content(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return true;
	}
	return false;
}

static const unsigned char csv_opts = CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL;

int qd_csv_tokenise(struct imp *im, const char *text, size_t len)
{
	struct csv_parser cp;
	size_t pos = 0;

	if (csv_init(&cp, csv_opts) != 0)
		return QD_ENOMEM;
	im->line = 1;
	while (pos < len && !im->toom) {
		size_t end = line_end(text, len, pos), n = end - pos;

		if (!im->in_row && has_content(text + pos, n)) {
			im->in_row = true;
			im->row_line = im->line;
		}
		if (csv_parse(&cp, text + pos, n, on_field, on_row, im) < n) {
			if (csv_error(&cp) != CSV_EPARSE) {
				im->toom = true;
				break;
			}
			PROB_AT(im, im->line, (unsigned)im->row.nf + 1,
				"misplaced '\"': a quote inside an unquoted field, or text after a "
				"closing quote (write \"\" for a quote inside a quoted field)");
			/* The record is lost; the next line starts afresh, so later
			 * records are still checked.  A lost header is still a header:
			 * the next record must not be read as one. */
			if (!im->have_header) {
				im->have_header = true;
				im->header_line = im->row_line;
			} else {
				/* A data row, though unreadable: the file is not
				 * "a header but no entries". */
				im->data_rows++;
			}
			row_reset(&im->row);
			im->in_row = false;
			csv_free(&cp);
			if (csv_init(&cp, csv_opts) != 0)
				return QD_ENOMEM;
		}
		if (end > pos && (text[end - 1] == '\n' || text[end - 1] == '\r'))
			im->line++;
		pos = end;
	}
	if (!im->toom && csv_fini(&cp, on_field, on_row, im) != 0) {
		if (csv_error(&cp) == CSV_EPARSE) {
			PROB_AT(im, im->row_line, (unsigned)im->row.nf + 1,
				"the quoted field begun here is never closed (a '\"' is missing)");
			if (im->have_header)
				im->data_rows++;
		} else
			im->toom = true;
	}
	csv_free(&cp);
	return im->toom ? QD_ENOMEM : 0;
}

/* ---- validation ---------------------------------------------------------------- */

/* The field whose column a problem at /entries/<i><rest> belongs to, or
 * -1 for the entry as a whole or an unknown key. */
static int field_of_path(const char *rest)
{
	size_t n;

	if (*rest != '/')
		return -1;
	rest++;
	n = strcspn(rest, "/");
	for (size_t k = 0; k < sizeof(key_fields) / sizeof(key_fields[0]); k++) {
		if (strlen(key_fields[k].key) != n || strncmp(rest, key_fields[k].key, n) != 0)
			continue;
		if (key_fields[k].f == F_NAME_ZH && strncmp(rest + n, "/en", 3) == 0)
			return F_NAME_EN;
		if (key_fields[k].f == F_QTY_LIMIT && strncmp(rest + n, "/unit", 5) == 0)
			return F_QTY_UNIT;
		return key_fields[k].f;
	}
	return -1;
}

/* Report a validator problem of the current entry at the line and column
 * it concerns; flagged: its fields already reported in CSV terms. */
static void map_problem(struct imp *im, const qd_problem *vp, uint32_t flagged)
{
	const char *path = vp->path ? vp->path : "";
	const char *prefix = "/entries/";
	size_t plen = strlen(prefix);

	if (strncmp(path, prefix, plen) == 0 && path[plen] >= '0' && path[plen] <= '9') {
		char *rest;
		unsigned long i = strtoul(path + plen, &rest, 10);

		if (i == im->n) {
			int f = field_of_path(rest);

			/* The note (说明) is a condition of its own column. */
			if (f == F_CONDITIONS && im->note_at >= 0 && rest[strlen("/conditions")] == '/' &&
			    strtol(rest + strlen("/conditions/"), NULL, 10) == im->note_at)
				f = F_NOTES;

			/* Already said, in CSV terms: on the header or for this cell. */
			if (f >= 0 && ((im->missing & BIT(f)) || (flagged & BIT(f))))
				return;
			qd_problems_add_at(im->p, im->ent_line, f >= 0 ? im->col_of[f] : 0, "%s",
					   vp->message);
			return;
		}
	}
	qd_problems_add_at(im->p, 0, 0, "%s: %s", path[0] ? path : "/", vp->message);
}

/* Take the builder's problems out, mapped to lines and columns. */
static void take_problems(struct imp *im, uint32_t flagged)
{
	for (size_t i = 0; i < im->vp.count; i++)
		map_problem(im, &im->vp.items[i], flagged);
	im->p->omitted += im->vp.omitted;
	qd_problems_free(&im->vp);
}

/* Begin the document: the base document's head with no entries.  The
 * head is copied: the base may be shared. */
static void start(struct imp *im)
{
	json_t *head = json_deep_copy(im->base->json);

	if (head == NULL || json_object_set_new(head, "entries", json_array()) != 0) {
		json_decref(head);
		im->oom = true;
		return;
	}
	im->b = qd_listdoc_begin(head, im->base->list, &im->vp);
	json_decref(head);
	if (im->b == NULL)
		im->oom = true;
	take_problems(im, 0);
}

static const char *other_id_of(const void *ctx, uint32_t val)
{
	const struct imp *im = ctx;

	return im->others[val].id;
}

/* The current row brought a new id the builder did not take (not a
 * valid id): remember it with its line. */
static void keep_other_id(struct imp *im)
{
	size_t n = strlen(im->row_id);

	if (im->n_others == im->cap_others) {
		size_t ncap = im->cap_others ? im->cap_others * 2 : 16;
		struct other_id *no = realloc(im->others, ncap * sizeof(*no));

		if (no == NULL) {
			im->oom = true;
			return;
		}
		im->others = no;
		im->cap_others = ncap;
	}
	if (im->id_text == NULL && (im->id_text = qd_pool_new()) == NULL) {
		im->oom = true;
		return;
	}
	im->others[im->n_others].id = qd_pool_strndup(im->id_text, im->row_id, n);
	im->others[im->n_others].line = im->ent_line;
	im->other_ids.key_of = other_id_of;
	im->other_ids.ctx = im;
	if (im->others[im->n_others].id == NULL ||
	    !qd_idmap_put(&im->other_ids, im->row_id, n, (uint32_t)im->n_others))
		im->oom = true;
	else
		im->n_others++;
}

uint32_t qd_csv_id_check(struct imp *im, const struct qd_csv_ent *ent)
{
	uint32_t other;
	size_t k, n;
	unsigned prev;
	char q[QBUF];

	im->row_id = NULL;
	if (ent->id == NULL)
		return 0;
	n = strlen(ent->id);
	if (qd_listdoc_find(im->b, ent->id, &k))
		prev = im->lines[k];
	else if (qd_idmap_get(&im->other_ids, ent->id, n, &other))
		prev = im->others[other].line;
	else {
		im->row_id = ent->id;
		return 0;
	}
	qd_problems_add_at(im->p, ent->line, im->col_of[F_ID], "%s %s is already used on line %u",
			   hd(im, F_ID), qd_quote(ent->id, n, q), prev);
	return BIT(F_ID);
}

void qd_csv_entry(struct imp *im, json_t *e, uint32_t flagged)
{
	size_t k;

	if (im->b == NULL && !im->oom)
		start(im);
	if (im->n == im->cap) {
		size_t ncap = im->cap ? im->cap * 2 : 64;
		unsigned *nl = realloc(im->lines, ncap * sizeof(*nl));

		if (nl == NULL) {
			im->oom = true;
			return;
		}
		im->lines = nl;
		im->cap = ncap;
	}
	im->lines[im->n] = im->ent_line;
	if (im->b != NULL) {
		/* Invalid already: nothing built from here on is wanted. */
		if (qd_problems_total(im->p) > 0)
			qd_listdoc_discard(im->b);
		if (im->chk != NULL)
			qd_listdoc_add_checked(im->b, e, im->chk, im->chk_bytes);
		else
			qd_listdoc_add(im->b, e);
		take_problems(im, flagged);
		if (im->row_id != NULL && !(qd_listdoc_find(im->b, im->row_id, &k) && k == im->n))
			keep_other_id(im);
	}
	im->row_id = NULL;
	im->n++;
}

/* ---- the entry point -------------------------------------------------------------- */

struct sorted {
	const qd_problem *p;
	size_t seq;
};

static int by_position(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;

	if (x->p->line != y->p->line)
		return x->p->line < y->p->line ? -1 : 1;
	if (x->p->column != y->p->column)
		return x->p->column < y->p->column ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hand the collected problems to the caller, sorted by line and column. */
static int transfer(qd_problems *from, qd_problems *to)
{
	struct sorted *s = calloc(from->count ? from->count : 1, sizeof(*s));

	if (s == NULL)
		return QD_ENOMEM;
	for (size_t i = 0; i < from->count; i++) {
		s[i].p = &from->items[i];
		s[i].seq = i;
	}
	qsort(s, from->count, sizeof(*s), by_position);
	for (size_t i = 0; i < from->count; i++)
		qd_problems_add_at(to, s[i].p->line, s[i].p->column, "%s", s[i].p->message);
	to->omitted += from->omitted;
	free(s);
	return 0;
}

static void imp_free(struct imp *im)
{
	qd_csv_pipe_end(im);
	for (size_t j = 0; im->heading != NULL && j < im->ncols; j++)
		free(im->heading[j]);
	free(im->heading);
	free(im->col_field);
	free(im->row.bytes);
	free(im->row.off);
	free(im->row.cells);
	qd_listdoc_finish(im->b, NULL);
	qd_problems_free(&im->vp);
	qd_idmap_free(&im->other_ids);
	free(im->others);
	free(im->lines);
	qd_pool_free(im->id_text);
}

/* After the last record: the checks of the file as a whole, and the
 * document when every row was valid. */
static int build(struct imp *im, qd_listdoc **doc)
{
	int rc;

	/* Not when the source stopped early: it said why, and the rest was
	 * not read. */
	if (!im->cut && !im->have_header)
		PROB_AT(im, 1, 0, "the file is empty; a header row naming the columns is required");
	else if (!im->cut && im->header_ok && im->data_rows == 0)
		PROB_AT(im, im->header_line, 0, "the file has a header but no entries; to remove every "
			"entry load a JSON document with \"entries\": []");
	if (im->header_ok) {
		if (im->b == NULL && !im->oom)
			start(im);
		rc = qd_listdoc_finish(im->b, doc);
		im->b = NULL;
		take_problems(im, 0);
		if (rc == QD_ENOMEM)
			return rc;
	}
	return im->oom || im->toom ? QD_ENOMEM : 0;
}

/* The result: rc, made QD_EINVAL by any problem, whose problems go to
 * the caller sorted; *doc moves to *out on success. */
static int hand_over(int rc, qd_problems *mine, qd_problems *problems, qd_listdoc **doc, qd_listdoc **out)
{
	if (rc == 0 && qd_problems_total(mine) > 0)
		rc = QD_EINVAL;
	if (rc == QD_EINVAL && transfer(mine, problems) != 0)
		rc = QD_ENOMEM;
	if (rc == 0) {
		*out = *doc;
		*doc = NULL;
	}
	return rc;
}

int qd_csv_to_listdoc(const char *buf, size_t len, const char *charset,
		      const qd_listdoc *base, qd_listdoc **out, qd_problems *problems)
{
	qd_problems mine, scratch;
	struct imp im = { .base = base, .p = &mine, .tp = &mine };
	qd_listdoc *doc = NULL;
	const char *text = NULL;
	char *owned = NULL;
	size_t tlen = 0;
	int rc;

	*out = NULL;
	qd_problems_init(&mine);
	qd_problems_init(&scratch);
	/* A caller that wants only the verdict may pass no collection. */
	if (problems == NULL)
		problems = &scratch;
	if (base == NULL || base->json == NULL || (buf == NULL && len > 0)) {
		qd_problems_add_at(problems, 0, 0, "no base document or no CSV bytes");
		rc = QD_EINVAL;
		goto out;
	}
	rc = qd_csv_decode(&im, buf ? buf : "", len, charset, &text, &tlen, &owned);
	if (rc != 0)
		goto done;
	rc = qd_csv_pipe_run(&im, text, tlen);
	if (rc == 0)
		rc = build(&im, &doc);
done:
	rc = hand_over(rc, &mine, problems, &doc, out);
out:
	imp_free(&im);
	qd_listdoc_free(doc);
	free(owned);
	qd_problems_free(&mine);
	qd_problems_free(&scratch);
	return rc;
}

/* ---- rows from elsewhere (spreadsheets) ------------------------------------------- */

struct qd_csv_rows {
	struct imp im;
	qd_problems mine;
};

qd_csv_rows *qd_csv_rows_begin(const qd_listdoc *base)
{
	qd_csv_rows *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	qd_problems_init(&r->mine);
	r->im.base = base;
	r->im.p = &r->mine;
	r->im.tp = &r->mine;
	if (qd_csv_pipe_begin(&r->im) != 0)
		r->im.toom = true;
	return r;
}

void qd_csv_rows_add(qd_csv_rows *r, unsigned line, const char *const *cells, size_t n)
{
	struct imp *im = &r->im;

	im->line = line;
	im->row_line = line;
	for (size_t j = 0; j < n && !im->toom; j++)
		on_field((void *)cells[j], strlen(cells[j]), im);
	on_row(0, im);
	qd_csv_pipe_flush(im);
}

const char *qd_csv_rows_heading(const qd_csv_rows *r, unsigned column, const char **field)
{
	const struct imp *im = &r->im;
	int f;

	if (field != NULL)
		*field = NULL;
	if (!im->header_ok || column == 0 || column > im->ncols)
		return NULL;
	f = im->col_field[column - 1];
	if (field != NULL && f >= 0)
		*field = qd_csv_fields[f].name;
	return im->heading[column - 1];
}

void qd_csv_rows_problem(qd_csv_rows *r, unsigned line, unsigned column, const char *message)
{
	qd_csv_pipe_flush(&r->im);
	qd_problems_add_at(r->im.p, line, column, "%s", message);
}

void qd_csv_rows_cut(qd_csv_rows *r)
{
	if (r != NULL)
		r->im.cut = true;
}

int qd_csv_rows_end(qd_csv_rows *r, int rc, qd_listdoc **out, qd_problems *problems)
{
	qd_listdoc *doc = NULL;
	qd_problems scratch;

	*out = NULL;
	qd_problems_init(&scratch);
	if (problems == NULL)
		problems = &scratch;
	if (r == NULL)
		return QD_ENOMEM;
	qd_csv_pipe_end(&r->im);
	if (rc == 0 || rc == QD_EINVAL)
		rc = build(&r->im, &doc);
	rc = hand_over(rc, &r->mine, problems, &doc, out);
	imp_free(&r->im);
	qd_listdoc_free(doc);
	qd_problems_free(&r->mine);
	qd_problems_free(&scratch);
	free(r);
	return rc;
}
