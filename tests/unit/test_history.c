/* Unit tests: list history and store operations (src/lib/store/) and
 * as-of decisions (src/lib/decide.c).
 *
 * Covers what an operator relies on once a list has versions: the version
 * history, exporting a version as a canonical document (and loading it
 * again), rollbacks, diffs between versions, the audit trail, decisions as
 * of an instant or from one version, the store's statistics, the integrity
 * check (against a store damaged through LMDB directly), backups, and a
 * store whose map is full.
 *
 * Every test gets a fresh store directory made with mkdtemp() inside a
 * per-run root under /tmp; the test removes its directory, and the root
 * (with anything a failed test left behind) is removed after the run.
 *
 * List documents are written inline as JSON with single quotes (turned
 * into double quotes before parsing) so each fixture reads as what it is. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <lmdb.h>

#include "qingdan/buf.h"
#include "qingdan/code.h"
#include "qingdan/date.h"
#include "qingdan/decide.h"
#include "qingdan/err.h"
#include "qingdan/listdoc.h"
#include "qingdan/problems.h"
#include "qingdan/sha256.h"
#include "qingdan/store.h"

#include "fixture.h"
#include "rawdb.h"

#define NOW 1795000000 /* unix seconds recorded as loaded_at */

/* Institutions (valid GB 32100-2015 check characters). */
#define E_OK "91110000600037341L"
#define E_HK "HK:12345678"

/* One clause every fixture entry cites. */
#define CLAUSE                                                                       \
	"{'id':'C-1','document':'署综函〔2022〕143号','article':'一（一）',"                 \
	"'text':'对列入正面清单的科研物资，免于提交进口药品通关单。'}"

/* An entry with the given id and code; `extra` adds members (",'ciq':'101'"). */
#define ENT(id, code, extra)                                                         \
	"{'id':'" id "','code':'" code "','name':{'zh':'物品 " id "'},'clauses':['C-1']" \
	extra "}"

#define ROSTER                                                                       \
	"[{'id':'" E_OK "','name':{'zh':'示例研究院'}},"                                      \
	"{'id':'hk:12345678','name':{'zh':'香港示例大学'},'status':'suspended',"             \
	"'valid_from':'2027-01-01','valid_to':'2027-12-31'}]"

/* ---- temporary directories ---- */

/* Unchecked fixtures: run once in the test runner's process. */
static void root_setup(void)
{
	fx_root_setup("history");
}

static void root_teardown(void)
{
	fx_root_teardown();
}

/* ---- documents ---- */

/* A document for list with a title (its zh text), a roster and entries. */
static qd_listdoc *mkdoc(const char *list, const char *title, const char *roster,
			 const char *entries)
{
	return fx_mkdoc(list,
			"{'list':'%s','kind':'positive','title':{'zh':'%s','en':'Test list %s'},"
			"'clauses':[" CLAUSE "],'entities':%s,'entries':%s}",
			list, title, list, roster, entries);
}

/* The canonical dump of a document (malloc()ed). */
static char *dump_of(const qd_listdoc *doc)
{
	size_t len = 0;
	char *d = qd_listdoc_dump(doc, &len);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(strlen(d), len);
	return d;
}

/* The canonical dump of a stored version (0: current). */
static char *export_of(qd_store *st, const char *list, uint32_t version)
{
	qd_listdoc *doc = NULL;
	int rc = qd_store_get_doc(st, list, version, &doc);
	ck_assert_msg(rc == 0, "qd_store_get_doc(%s, %u): %d (%s)", list, version, rc,
		      qd_strerror(rc));
	char *d = dump_of(doc);
	qd_listdoc_free(doc);
	return d;
}

/* Build, put (action "load" by "tester" at `now`) and free a document. */
static void put_ok(qd_store *st, const char *list, const char *roster, const char *entries,
		   int64_t now, qd_put_result *res)
{
	qd_listdoc *doc = mkdoc(list, "测试清单", roster, entries);
	qd_put_opts o = fx_put_opts("tester", "load", "unit", now);
	fx_put_doc_ok(st, doc, &o, res);
	qd_listdoc_free(doc);
}

/* ---- JSON ---- */

static json_t *buf_json(qd_buf *b)
{
	json_error_t je;
	json_t *j = json_loadb(b->data ? b->data : "", b->len, 0, &je);
	ck_assert_msg(j != NULL, "not JSON (%s): %s", je.text, qd_buf_cstr(b));
	return j;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_string(v), "member %s is not a string", key);
	return json_string_value(v);
}

static json_int_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_integer(v), "member %s is not an integer", key);
	return json_integer_value(v);
}

static qd_versions versions_get(qd_store *st, const char *list)
{
	qd_versions vs;
	int rc = qd_store_versions(st, list, &vs);
	ck_assert_msg(rc == 0, "qd_store_versions(%s): %d", list, rc);
	return vs;
}

/* The retained versions as "current:v,v,…" (newest first). */
static char *versions_of(qd_store *st, const char *list)
{
	qd_versions vs = versions_get(st, list);
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_printf(&b, "%u:", vs.current);
	for (size_t i = 0; i < vs.n; i++)
		qd_buf_printf(&b, "%s%u", i ? "," : "", vs.v[i].version);
	qd_versions_free(&vs);
	char *s = strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	return s;
}

/* qd_store_diff's return; on an error the diff is left empty. */
static int diff_rc(qd_store *st, const char *list, uint32_t from, uint32_t to)
{
	qd_diff d;
	memset(&d, 0xff, sizeof d);
	int rc = qd_store_diff(st, list, from, to, &d);
	if (rc) {
		ck_assert_ptr_null(d.changes.v);
		ck_assert_uint_eq(d.changes.n, 0);
	}
	qd_diff_free(&d);
	return rc;
}

static qd_diff diff_ok(qd_store *st, const char *list, uint32_t from, uint32_t to)
{
	qd_diff d;
	int rc = qd_store_diff(st, list, from, to, &d);
	ck_assert_msg(rc == 0, "qd_store_diff(%s, %u, %u): %d", list, from, to, rc);
	return d;
}

/* The changes as "kind:id[fields],…" with fields sorted. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *changes_str(const qd_changes *ch)
{
	qd_buf b;
	qd_buf_init(&b);
	for (size_t i = 0; i < ch->n; i++) {
		const qd_change *c = &ch->v[i];
		ck_assert_ptr_nonnull(c->id);
		qd_buf_printf(&b, "%s%s:%s", i ? "," : "", qd_change_kind_name(c->kind), c->id);
		if (c->kind == QD_CHANGE_CHANGED) {
			size_t nf = c->n_fields;
			const char **names = calloc(nf ? nf : 1, sizeof *names);
			ck_assert_ptr_nonnull(names);
			for (size_t k = 0; k < nf; k++) {
				names[k] = c->fields[k];
				ck_assert_ptr_nonnull(names[k]);
			}
			qsort(names, nf, sizeof *names, cmp_str);
			qd_buf_putc(&b, '[');
			for (size_t k = 0; k < nf; k++)
				qd_buf_printf(&b, "%s%s", k ? " " : "", names[k]);
			qd_buf_putc(&b, ']');
			free(names);
		} else {
			/* added / removed: no field list */
			ck_assert_msg(c->n_fields == 0, "%s change %s lists fields",
				      qd_change_kind_name(c->kind), c->id);
		}
	}
	char *s = strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	return s;
}

/* Two change lists are the same: ids, kinds and field names, in order. */
static bool changes_equal(const qd_changes *a, const qd_changes *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const qd_change *x = &a->v[i], *y = &b->v[i];
		if (strcmp(x->id, y->id) != 0 || x->kind != y->kind || x->n_fields != y->n_fields)
			return false;
		for (size_t k = 0; k < x->n_fields; k++)
			if (strcmp(x->fields[k], y->fields[k]) != 0)
				return false;
	}
	return true;
}

static qd_audit_page audit_get(qd_store *st, uint64_t before, size_t limit)
{
	qd_audit_page p;
	int rc = qd_store_audit_page(st, before, limit, &p);
	ck_assert_msg(rc == 0, "qd_store_audit_page: %d", rc);
	ck_assert(p.n == 0 || p.recs != NULL);
	return p;
}

static size_t audit_count(qd_store *st)
{
	qd_store_stats s;
	ck_assert_int_eq(qd_store_stats_get(st, &s), 0);
	qd_audit_page p = audit_get(st, 0, 1000);
	size_t n = p.n;
	qd_audit_page_free(&p);
	ck_assert_uint_eq(n, s.audit);
	return n;
}

static void expect_verify_clean(qd_store *st)
{
	qd_problems pr;
	qd_problems_init(&pr);
	int rc = qd_store_verify(st, &pr);
	ck_assert_msg(rc == 0, "qd_store_verify: %d; first problem: %s: %s", rc,
		      pr.count ? pr.items[0].path : "", pr.count ? pr.items[0].message : "");
	ck_assert_uint_eq(qd_problems_total(&pr), 0);
	qd_problems_free(&pr);
}

static void time_str(int64_t t, char out[21])
{
	qd_time_format(t, out);
}

#define ck_str_free_eq(expr, expect)                                                 \
	do {                                                                         \
		char *got_ = (expr);                                                 \
		ck_assert_str_eq(got_, (expect));                                    \
		free(got_);                                                          \
	} while (0)

/* n entries L-<start>…, each with spec `spec` (single-quoted JSON array). */
static char *gen_entries(int start, int n, const char *spec)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_putc(&b, '[');
	for (int i = start; i < start + n; i++)
		qd_buf_printf(&b, "%s{'id':'L-%05d','code':'%08d','name':{'zh':'物品 %d'},"
			      "'spec':'%s','clauses':['C-1']}",
			      i > start ? "," : "", i, 38000000 + i * 7, i, spec);
	qd_buf_putc(&b, ']');
	ck_assert(!b.oom);
	char *s = qd_buf_steal(&b, NULL);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* ---- version history ---- */

#define H_V1 "[" ENT("A", "3822", "") "," ENT("B", "9027", "") "]"
#define H_V2                                                                         \
	"[" ENT("A", "3822", ",'valid_to':'2027-12-31'") "," ENT("C", "2934", "") ","     \
	ENT("D", "9018", "") "]"

START_TEST(versions_history)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_listdoc *d1 = mkdoc("hist", "第一版", "[]", H_V1);
	qd_listdoc *d2 = mkdoc("hist", "第二版", "[]", H_V2);
	qd_put_result r1, r2, r3;
	qd_put_opts o = fx_put_opts("alice", "load", "v1.json", NOW);
	fx_put_doc_ok(st, d1, &o, &r1);
	o = fx_put_opts("bob", "load", "v2.json", NOW + 3600);
	fx_put_doc_ok(st, d2, &o, &r2);
	/* rollback: version 1's document stored again as a new version */
	qd_listdoc *back = NULL;
	ck_assert_int_eq(qd_store_get_doc(st, "hist", 1, &back), 0);
	o = fx_put_opts("carol", "rollback", NULL, NOW + 7200);
	o.if_match = 2;
	fx_put_doc_ok(st, back, &o, &r3);
	qd_listdoc_free(back);
	ck_assert_uint_eq(r3.version, 3);
	ck_assert_uint_eq(r3.previous, 2);

	qd_versions vs = versions_get(st, "hist");
	ck_assert_uint_eq(vs.current, 3);
	ck_assert_uint_eq(vs.n, 3);
	struct {
		uint32_t version;
		int64_t at;
		const char *actor, *action, *sha, *source;
		size_t entries;
	} want[] = {
		{3, NOW + 7200, "carol", "rollback", r1.sha256, NULL, 2},
		{2, NOW + 3600, "bob", "load", r2.sha256, "v2.json", 3},
		{1, NOW, "alice", "load", r1.sha256, "v1.json", 2},
	};
	ck_assert_str_eq(r3.sha256, r1.sha256);
	for (size_t i = 0; i < 3; i++) {
		const qd_version_info *v = &vs.v[i];
		ck_assert_uint_eq(v->version, want[i].version);
		ck_assert_int_eq(v->loaded_at, want[i].at);
		char ts[21], la[21];
		time_str(want[i].at, ts);
		time_str(v->loaded_at, la);
		ck_assert_str_eq(la, ts);
		/* RFC 3339 UTC: parses back to the instant */
		int64_t back_t = 0;
		ck_assert_int_eq(qd_time_parse(la, strlen(la), &back_t), 0);
		ck_assert_int_eq(back_t, want[i].at);
		ck_assert_uint_eq(strlen(la), 20);
		ck_assert_int_eq(la[10], 'T');
		ck_assert_int_eq(la[19], 'Z');
		ck_assert_str_eq(v->actor, want[i].actor);
		ck_assert_str_eq(v->action, want[i].action);
		ck_assert_str_eq(v->sha256, want[i].sha);
		ck_assert_uint_eq(v->entries, want[i].entries);
		if (want[i].source)
			ck_assert_str_eq(v->source, want[i].source);
		else
			ck_assert_ptr_null(v->source);
	}
	qd_versions_free(&vs);

	/* an unknown list has no history */
	ck_assert_int_eq(qd_store_versions(st, "nope", &vs), QD_ENOLIST);
	ck_assert_uint_eq(vs.n, 0);
	ck_assert_int_eq(qd_store_versions(st, "hist-2", &vs), QD_ENOLIST);
	ck_assert_uint_eq(vs.n, 0);

	qd_listdoc_free(d1);
	qd_listdoc_free(d2);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* ---- export ---- */

/* Documents with every header field, a roster and entries using every
 * entry field; v2 changes the header (title, issuer) as well as entries. */
#define X_HEAD(title, issuer)                                                        \
	"{'list':'exp','kind':'positive','title':{'zh':'" title "','en':'Export test'},"  \
	"'issuer':'" issuer "','published':'2024-03-01','source':'https://example.cn/143',"   \
	"'clauses':[" CLAUSE ",{'id':'C-2','document':'署综函〔2022〕143号','article':'二',"  \
	"'title':'附则','text':'本清单自发布之日起施行。','url':'https://example.cn/143#2'}],"   \
	"'entities':" ROSTER ","
#define X_ENTRY_FULL                                                                 \
	"{'id':'F-1','code':'3822.1900.90','ciq':'101','name':{'zh':'诊断试剂','en':'Reagent'}," \
	"'spec':'10 x 1 mL','effect':'include','entities':['" E_OK "'],"                     \
	"'valid_from':'2024-01-01','valid_to':'2026-12-31','status':'active',"               \
	"'waives':['进口药品通关单'],'conditions':[{'type':'remark','text':'仅限科研用途'}],"  \
	"'quantity':{'limit':20,'unit':'盒'},'clauses':['C-1','C-2'],'batch':'第一批'}"
#define X_DOC1                                                                       \
	X_HEAD("跨境科研用物资正面清单", "海关总署")                                         \
	"'entries':[" X_ENTRY_FULL "," ENT("B", "9027", ",'status':'suspended'") ","          \
	ENT("C", "2934", ",'effect':'exclude'") "]}"
#define X_DOC2                                                                       \
	X_HEAD("跨境科研用物资正面清单（第二批）", "海关总署 广东分署")                      \
	"'entries':[" ENT("C", "2934", "") "," X_ENTRY_FULL "," ENT("D", "9018.12", "") "]}"

START_TEST(export_round_trip)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_listdoc *d1 = fx_parse_sq(X_DOC1, "exp"), *d2 = fx_parse_sq(X_DOC2, "exp");
	char *dump1 = dump_of(d1), *dump2 = dump_of(d2);
	ck_assert_str_ne(dump1, dump2);
	qd_put_result r1, r2;
	qd_put_opts o = fx_put_opts("tester", "load", "unit", NOW);
	fx_put_doc_ok(st, d1, &o, &r1);
	o.now = NOW + 60;
	fx_put_doc_ok(st, d2, &o, &r2);

	/* each version exports as the document loaded as it, byte for byte */
	char *e1 = export_of(st, "exp", 1), *e2 = export_of(st, "exp", 2), *e0 = export_of(st, "exp", 0);
	ck_assert_str_eq(e1, dump1);
	ck_assert_str_eq(e2, dump2);
	ck_assert_str_eq(e0, dump2);
	/* …which is what the stored sha256 is of */
	char sha[QD_SHA256_HEX];
	qd_sha256_hex(e1, strlen(e1), sha);
	ck_assert_str_eq(sha, r1.sha256);
	qd_sha256_hex(e2, strlen(e2), sha);
	ck_assert_str_eq(sha, r2.sha256);

	/* loading the current export again: no differences, same hash, and
	 * exporting that gives the same bytes */
	qd_listdoc *again = fx_parse_doc(e2, strlen(e2), "exp");
	ck_str_free_eq(dump_of(again), e2);
	qd_put_result dry;
	o = fx_put_opts("tester", "load", "export", NOW + 120);
	o.dry_run = true;
	fx_put_doc_ok(st, again, &o, &dry);
	ck_assert_uint_eq(dry.added, 0);
	ck_assert_uint_eq(dry.removed, 0);
	ck_assert_uint_eq(dry.changed, 0);
	ck_assert_uint_eq(dry.version, 3);
	ck_assert_uint_eq(dry.previous, 2);
	ck_assert_str_eq(dry.sha256, r2.sha256);
	ck_str_free_eq(versions_of(st, "exp"), "2:2,1");
	qd_listdoc_free(again);

	/* the version-1 export loads again too, and comes back identical */
	again = fx_parse_doc(e1, strlen(e1), "exp");
	ck_str_free_eq(dump_of(again), e1);
	qd_put_result r3;
	o = fx_put_opts("tester", "load", "export", NOW + 180);
	fx_put_doc_ok(st, again, &o, &r3);
	qd_listdoc_free(again);
	ck_assert_uint_eq(r3.version, 3);
	ck_assert_str_eq(r3.sha256, r1.sha256);
	ck_str_free_eq(export_of(st, "exp", 3), dump1);
	/* older exports are unaffected */
	ck_str_free_eq(export_of(st, "exp", 2), dump2);
	ck_str_free_eq(export_of(st, "exp", 1), dump1);

	/* unknown version or list */
	qd_listdoc *none = (qd_listdoc *)0x1;
	ck_assert_int_eq(qd_store_get_doc(st, "exp", 4, &none), QD_ENOVERSION);
	ck_assert_int_eq(qd_store_get_doc(st, "exq", 1, &none), QD_ENOLIST);
	ck_assert_int_eq(qd_store_get_doc(st, "exp", 99, &none), QD_ENOVERSION);

	free(e0);
	free(e1);
	free(e2);
	free(dump1);
	free(dump2);
	qd_listdoc_free(d1);
	qd_listdoc_free(d2);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* Real-number quantity limits and Chinese text survive storage exactly. */
#define R_DOC                                                                        \
	"{'list':'reals','kind':'positive','title':{'zh':'生物医药研发用物品进口“白名单”（试点）'}," \
	"'issuer':'上海市商务委员会','clauses':[" CLAUSE "],'entries':["                     \
	"{'id':'R-1','code':'3002.1500.10','name':{'zh':'单克隆抗体（研发用）','en':'mAb'},"  \
	"'spec':'规格：0.5 mL／支；批号“A-1”','quantity':{'limit':0.5,'unit':'升'},"         \
	"'conditions':[{'type':'note','text':'须于入境后 30 日内报备——详见第三条。'}],"         \
	"'waives':['进口药品通关单','《进口许可证》'],'clauses':['C-1']},"                     \
	"{'id':'R-2','code':'3822','name':{'zh':'试剂'},'quantity':{'limit':0.1,'unit':'千克'},"  \
	"'clauses':['C-1']},"                                                                \
	"{'id':'R-3','code':'9027','name':{'zh':'仪器'},'quantity':{'limit':2.75,'unit':'台'}," \
	"'clauses':['C-1']},"                                                                \
	"{'id':'R-4','code':'2934','name':{'zh':'中间体'},'quantity':{'limit':1.0,'unit':'吨'}," \
	"'clauses':['C-1']},"                                                                \
	"{'id':'R-5','code':'9018','name':{'zh':'耗材'},'quantity':{'limit':3,'unit':'箱'},"   \
	"'clauses':['C-1']},"                                                                \
	"{'id':'R-6','code':'9019','name':{'zh':'载体'},"                                    \
	"'quantity':{'limit':0.30000000000000004,'unit':'克'},'clauses':['C-1']}]}"


static json_t *entry_quantity(const qd_listdoc *doc, size_t i)
{
	json_t *e = fx_entry_tree(doc, i);
	return json_object_get(json_object_get(e, "quantity"), "limit");
}

START_TEST(export_round_trip_reals_chinese)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_listdoc *d = fx_parse_sq(R_DOC, "reals");
	char *dump = dump_of(d);
	/* the canonical form itself: short reals, unescaped UTF-8 */
	ck_assert_ptr_nonnull(strstr(dump, "0.5"));
	ck_assert_ptr_nonnull(strstr(dump, "0.1"));
	ck_assert_ptr_null(strstr(dump, "0.10000"));
	ck_assert_ptr_nonnull(strstr(dump, "单克隆抗体（研发用）"));
	ck_assert_ptr_null(strstr(dump, "\\u"));
	qd_put_result r1;
	qd_put_opts o = fx_put_opts("tester", "load", "unit", NOW);
	fx_put_doc_ok(st, d, &o, &r1);

	qd_listdoc *got = NULL;
	ck_assert_int_eq(qd_store_get_doc(st, "reals", 1, &got), 0);
	char *exp = dump_of(got);
	ck_assert_str_eq(exp, dump);
	/* numbers keep their type and value */
	double reals[] = {0.5, 0.1, 2.75, 1.0};
	for (size_t i = 0; i < 4; i++) {
		json_t *lim = entry_quantity(got, i);
		ck_assert_msg(json_is_real(lim), "entry %zu: limit is not a real", i);
		ck_assert_msg(json_real_value(lim) == reals[i], "entry %zu: limit %.17g", i,
			      json_real_value(lim));
	}
	ck_assert(json_is_integer(entry_quantity(got, 4)));
	ck_assert_int_eq(json_integer_value(entry_quantity(got, 4)), 3);
	ck_assert(json_is_real(entry_quantity(got, 5)));
	qd_listdoc_free(got);

	/* load the export again: nothing changes, and it exports the same */
	qd_listdoc *again = fx_parse_doc(exp, strlen(exp), "reals");
	ck_str_free_eq(dump_of(again), exp);
	qd_put_result dry;
	o.dry_run = true;
	fx_put_doc_ok(st, again, &o, &dry);
	ck_assert_uint_eq(dry.added + dry.removed + dry.changed, 0);
	ck_assert_str_eq(dry.sha256, r1.sha256);
	/* and stored for real, it diffs as identical and exports the same bytes */
	o.dry_run = false;
	o.now = NOW + 1;
	qd_put_result r2;
	fx_put_doc_ok(st, again, &o, &r2);
	ck_assert_uint_eq(r2.version, 2);
	ck_assert_uint_eq(r2.added + r2.removed + r2.changed, 0);
	ck_assert_str_eq(r2.sha256, r1.sha256);
	ck_str_free_eq(export_of(st, "reals", 2), dump);
	qd_diff df = diff_ok(st, "reals", 1, 2);
	ck_assert_uint_eq(df.added + df.removed + df.changed, 0);
	ck_assert_uint_eq(df.changes.n, 0);
	qd_diff_free(&df);
	qd_listdoc_free(again);

	free(exp);
	free(dump);
	qd_listdoc_free(d);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* ---- rollback ---- */

START_TEST(rollback_restores_content)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_listdoc *d1 = mkdoc("rb", "第一版", ROSTER, H_V1);
	qd_listdoc *d2 = mkdoc("rb", "第二版", "[]", H_V2);
	char *dump1 = dump_of(d1), *dump2 = dump_of(d2);
	qd_put_result r1, r2, r3;
	qd_put_opts o = fx_put_opts("tester", "load", "unit", NOW);
	fx_put_doc_ok(st, d1, &o, &r1);
	fx_put_doc_ok(st, d2, &o, &r2);

	qd_listdoc *back = NULL;
	ck_assert_int_eq(qd_store_get_doc(st, "rb", 1, &back), 0);
	o = fx_put_opts("admin", "rollback", "rollback to 1", NOW + 10);
	o.if_match = 2;
	fx_put_doc_ok(st, back, &o, &r3);
	qd_listdoc_free(back);
	ck_assert_uint_eq(r3.version, 3);
	ck_assert_uint_eq(r3.previous, 2);
	ck_assert(!r3.created);
	/* the change is the reverse of version 2's */
	ck_assert_uint_eq(r3.added, r2.removed);
	ck_assert_uint_eq(r3.removed, r2.added);
	ck_assert_uint_eq(r3.changed, r2.changed);
	ck_assert_str_eq(r3.sha256, r1.sha256);

	/* the current version is version 1's content */
	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "rb", &li), 0);
	ck_assert_uint_eq(li.version, 3);
	ck_assert_str_eq(li.sha256, r1.sha256);
	ck_assert_uint_eq(li.entries, 2);
	ck_assert_uint_eq(li.members, 2);
	ck_assert_int_eq(li.loaded_at, NOW + 10);
	json_t *t = json_loads(li.title, 0, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(jstr(t, "zh"), "第一版");
	json_decref(t);
	free(li.title);
	ck_str_free_eq(export_of(st, "rb", 0), dump1);

	/* history keeps version 2 (and 1) */
	ck_str_free_eq(versions_of(st, "rb"), "3:3,2,1");
	ck_str_free_eq(export_of(st, "rb", 2), dump2);
	ck_str_free_eq(export_of(st, "rb", 1), dump1);
	qd_diff df = diff_ok(st, "rb", 1, 3);
	ck_assert_uint_eq(df.added + df.removed + df.changed, 0);
	qd_diff_free(&df);
	df = diff_ok(st, "rb", 2, 3);
	ck_assert_uint_eq(df.added, r3.added);
	ck_assert_uint_eq(df.removed, r3.removed);
	ck_assert_uint_eq(df.changed, r3.changed);
	qd_diff_free(&df);

	/* a stale rollback (If-Match 2 again) is refused and changes nothing */
	ck_assert_int_eq(qd_store_get_doc(st, "rb", 2, &back), 0);
	qd_put_result r4;
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(qd_store_put(st, back, &o, &r4, &pr), QD_ECONFLICT);
	qd_problems_free(&pr);
	qd_listdoc_free(back);
	ck_str_free_eq(versions_of(st, "rb"), "3:3,2,1");
	expect_verify_clean(st);

	free(dump1);
	free(dump2);
	qd_listdoc_free(d1);
	qd_listdoc_free(d2);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* ---- diff ---- */

START_TEST(diff_fields)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put_ok(st, "df", "[]",
	       "[" ENT("A", "3822", "") "," ENT("B", "9027", "") "," ENT("C", "2934", "") "]", NOW,
	       NULL);
	put_ok(st, "df", "[]",
	       "[{'id':'A','code':'3822','name':{'zh':'新名称'},'valid_to':'2027-12-31',"
	       "'clauses':['C-1']}," ENT("C", "2934", "") "," ENT("D", "9018", "") ","
	       ENT("E", "9019", "") "]",
	       NOW + 1, NULL);

	qd_diff df = diff_ok(st, "df", 1, 2);
	ck_assert_uint_eq(df.from, 1);
	ck_assert_uint_eq(df.to, 2);
	ck_assert_uint_eq(df.added, 2);
	ck_assert_uint_eq(df.removed, 1);
	ck_assert_uint_eq(df.changed, 1);
	ck_str_free_eq(changes_str(&df.changes), "changed:A[name valid_to],removed:B,added:D,added:E");
	/* the field names are exactly those two */
	ck_assert_uint_eq(df.changes.v[0].n_fields, 2);
	qd_diff_free(&df);

	/* the other way round */
	df = diff_ok(st, "df", 2, 1);
	ck_assert_uint_eq(df.from, 2);
	ck_assert_uint_eq(df.to, 1);
	ck_assert_uint_eq(df.added, 1);
	ck_assert_uint_eq(df.removed, 2);
	ck_assert_uint_eq(df.changed, 1);
	ck_str_free_eq(changes_str(&df.changes), "changed:A[name valid_to],added:B,removed:D,removed:E");
	qd_diff_free(&df);

	/* a version against itself */
	df = diff_ok(st, "df", 2, 2);
	ck_assert_uint_eq(df.added + df.removed + df.changed, 0);
	ck_assert_uint_eq(df.changes.n, 0);
	qd_diff_free(&df);

	/* unknown versions and lists */
	ck_assert_int_eq(diff_rc(st, "df", 1, 3), QD_ENOVERSION);
	ck_assert_int_eq(diff_rc(st, "df", 9, 1), QD_ENOVERSION);
	ck_assert_int_eq(diff_rc(st, "dg", 1, 2), QD_ENOLIST);

	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(diff_pruned)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_retain(dir, 2);
	const char *docs[] = {
		"[" ENT("A", "3822", "") "]",
		"[" ENT("A", "3822", "") "," ENT("B", "9027", "") "]",
		"[" ENT("B", "9027", "") "]",
		"[" ENT("B", "9027", ",'status':'revoked'") "]",
	};
	for (int i = 0; i < 4; i++)
		put_ok(st, "pr", "[]", docs[i], NOW + i, NULL);
	ck_str_free_eq(versions_of(st, "pr"), "4:4,3");
	ck_assert_int_eq(diff_rc(st, "pr", 1, 4), QD_EGONE);
	ck_assert_int_eq(diff_rc(st, "pr", 2, 4), QD_EGONE);
	ck_assert_int_eq(diff_rc(st, "pr", 4, 1), QD_EGONE);
	ck_assert_int_eq(diff_rc(st, "pr", 3, 5), QD_ENOVERSION);
	qd_diff df = diff_ok(st, "pr", 3, 4);
	ck_str_free_eq(changes_str(&df.changes), "changed:B[status]");
	qd_diff_free(&df);
	qd_listdoc *doc = NULL;
	ck_assert_int_eq(qd_store_get_doc(st, "pr", 1, &doc), QD_EGONE);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* More than QD_CHANGES_MAX changes: the counts stay exact, the list is the
 * first QD_CHANGES_MAX by id. */
START_TEST(diff_changes_capped)
{
	enum { N = 1250, SHIFT = 50 };
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	char *e1 = gen_entries(0, N, "旧规格");
	char *e2 = gen_entries(SHIFT, N, "新规格");
	put_ok(st, "cap", "[]", e1, NOW, NULL);
	qd_listdoc *d2 = mkdoc("cap", "测试清单", "[]", e2);
	qd_changes ch = {0};
	qd_put_opts o = fx_put_opts("tester", "load", "unit", NOW + 1);
	o.changes = &ch;
	qd_put_result r2;
	fx_put_doc_ok(st, d2, &o, &r2);
	ck_assert_uint_eq(r2.added, SHIFT);
	ck_assert_uint_eq(r2.removed, SHIFT);
	ck_assert_uint_eq(r2.changed, N - SHIFT);

	qd_diff df = diff_ok(st, "cap", 1, 2);
	ck_assert_uint_eq(df.added, SHIFT);
	ck_assert_uint_eq(df.removed, SHIFT);
	ck_assert_uint_eq(df.changed, N - SHIFT);
	ck_assert_uint_eq(df.changes.n, QD_CHANGES_MAX);
	const char *prev = "";
	for (size_t i = 0; i < df.changes.n; i++) {
		const qd_change *c = &df.changes.v[i];
		const char *id = c->id;
		ck_assert_msg(strcmp(prev, id) < 0, "changes not ordered by id at %zu: %s, %s", i, prev,
			      id);
		prev = id;
		char want[32];
		snprintf(want, sizeof want, "L-%05zu", i);
		ck_assert_str_eq(id, want);
		ck_assert_str_eq(qd_change_kind_name(c->kind), i < SHIFT ? "removed" : "changed");
		if (i >= SHIFT) {
			ck_assert_uint_eq(c->n_fields, 1);
			ck_assert_str_eq(c->fields[0], "spec");
		}
	}
	/* the put reported the same capped list */
	ck_assert_msg(changes_equal(&ch, &df.changes), "put changes differ from qd_store_diff's");
	qd_diff_free(&df);

	qd_changes_free(&ch);
	qd_listdoc_free(d2);
	free(e1);
	free(e2);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* Version 1 or 2 of n entries: version 2 drops every 11th, gives every
 * 7th another code under the same id (its key moves), changes the spec of
 * every 5th and adds an entry after every 13th. */
static char *gen_moves(int version, int n)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_putc(&b, '[');
	for (int i = 0; i < n; i++) {
		bool two = version == 2;
		if (!(two && i % 11 == 3))
			qd_buf_printf(&b, "%s{'id':'L-%05d','code':'%08ld','name':{'zh':'物品 %d'},"
				      "'spec':'%s','clauses':['C-1']}",
				      b.len > 1 ? "," : "", i, two && i % 7 == 1 ? 90000000L + i : 38000000L + i * 7,
				      i, two && i % 5 == 2 ? "新规格" : "旧规格");
		if (two && i % 13 == 6)
			qd_buf_printf(&b, ",{'id':'M-%05d','code':'%08ld','name':{'zh':'新物品'},'clauses':['C-1']}",
				      i, 38000000L + i * 7 + 1);
	}
	qd_buf_putc(&b, ']');
	ck_assert(!b.oom);
	char *s = qd_buf_steal(&b, NULL);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Entries that move to another code, change, go and arrive, in versions
 * stored compressed and plain: what the put counts and lists is what
 * qd_store_diff() finds, and what the documents differ by. */
START_TEST(put_changes_match_diff_moved)
{
	enum { N = 1300 };
	char *e1 = gen_moves(1, N), *e2 = gen_moves(2, N);
	size_t added = 0, removed = 0, changed = 0;
	for (int i = 0; i < N; i++) {
		added += i % 13 == 6;
		removed += i % 11 == 3;
		changed += i % 11 != 3 && (i % 7 == 1 || i % 5 == 2);
	}
	for (int compressed = 0; compressed < 2; compressed++) {
		char *dir = fx_fresh_dir();
		qd_store_opts so;
		qd_store_opts_default(&so);
		if (compressed)
			so.compress_min_bytes = 0;
		qd_store *st = fx_open_store(dir, &so);
		put_ok(st, "mv", "[]", e1, NOW, NULL);
		qd_changes ch = {0};
		qd_put_result r2;
		qd_listdoc *d2 = mkdoc("mv", "测试清单", "[]", e2);
		{
			qd_put_opts o = fx_put_opts("tester", "load", "unit", NOW + 1);
			o.changes = &ch;
			fx_put_doc_ok(st, d2, &o, &r2);
		}
		qd_diff df = diff_ok(st, "mv", 1, 2);
		size_t want[3] = {added, removed, changed};
		size_t put[3] = {r2.added, r2.removed, r2.changed}, diff[3] = {df.added, df.removed, df.changed};
		for (int k = 0; k < 3; k++) {
			ck_assert_uint_eq(put[k], want[k]);
			ck_assert_uint_eq(diff[k], want[k]);
		}
		ck_assert_uint_eq(ch.n, added + removed + changed);
		ck_assert_msg(changes_equal(&ch, &df.changes), "put changes differ from qd_store_diff's");
		qd_diff_free(&df);
		qd_changes_free(&ch);
		qd_listdoc_free(d2);
		qd_store_close(st);
		fx_drop_dir(dir);
	}
	free(e1);
	free(e2);
}
END_TEST

/* ---- put: changes output ---- */

START_TEST(put_changes_match_diff)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_put_opts o = fx_put_opts("tester", "load", "unit", NOW);
	qd_changes ch = {0};
	o.changes = &ch;

	/* a new list: everything is added */
	qd_listdoc *d1 = mkdoc("pc", "测试清单", ROSTER,
			       "[" ENT("B", "9027", "") "," ENT("A", "3822", "") ","
			       ENT("C", "2934", ",'entities':['" E_OK "']") "]");
	fx_put_doc_ok(st, d1, &o, NULL);
	ck_str_free_eq(changes_str(&ch), "added:A,added:B,added:C");

	/* version 2 with every kind of change */
	qd_listdoc *d2 = mkdoc("pc", "测试清单", ROSTER,
			       "[" ENT("A", "3822", ",'spec':'100 mL'") ","
			       ENT("C", "2934", ",'entities':['" E_HK "'],'status':'suspended'") ","
			       ENT("D", "9018", "") "]");
	qd_changes_free(&ch);
	qd_put_result r2;
	o.now = NOW + 1;
	fx_put_doc_ok(st, d2, &o, &r2);
	qd_diff dj = diff_ok(st, "pc", 1, 2);
	ck_assert(changes_equal(&ch, &dj.changes));
	ck_str_free_eq(changes_str(&ch), "changed:A[spec],removed:B,changed:C[entities status],added:D");
	ck_assert_uint_eq(dj.added, r2.added);
	ck_assert_uint_eq(dj.removed, r2.removed);
	ck_assert_uint_eq(dj.changed, r2.changed);
	qd_diff_free(&dj);

	/* a dry run reports what the real put then reports, and the diff agrees */
	qd_listdoc *d3 = mkdoc("pc", "测试清单", ROSTER,
			       "[" ENT("A", "3822", ",'spec':'100 mL','batch':'第二批'") ","
			       ENT("E", "9019", "") "]");
	qd_changes dry = {0};
	o.changes = &dry;
	o.dry_run = true;
	qd_put_result rd, r3;
	fx_put_doc_ok(st, d3, &o, &rd);
	ck_str_free_eq(versions_of(st, "pc"), "2:2,1");
	qd_changes_free(&ch);
	o.changes = &ch;
	o.dry_run = false;
	o.now = NOW + 2;
	fx_put_doc_ok(st, d3, &o, &r3);
	ck_assert_uint_eq(rd.version, r3.version);
	ck_assert_uint_eq(rd.added, r3.added);
	ck_assert_uint_eq(rd.removed, r3.removed);
	ck_assert_uint_eq(rd.changed, r3.changed);
	ck_assert(changes_equal(&dry, &ch));
	dj = diff_ok(st, "pc", 2, 3);
	ck_assert(changes_equal(&ch, &dj.changes));
	ck_str_free_eq(changes_str(&ch), "changed:A[batch],removed:C,removed:D,added:E");
	qd_diff_free(&dj);

	qd_changes_free(&dry);
	qd_changes_free(&ch);
	qd_listdoc_free(d1);
	qd_listdoc_free(d2);
	qd_listdoc_free(d3);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* ---- audit ---- */

static void expect_stored_record(const qd_audit_rec *r, uint64_t id, int64_t t, const char *actor,
				 const char *action, const char *list, const qd_put_result *res,
				 unsigned status)
{
	ck_assert_uint_eq(r->id, id);
	ck_assert_int_eq(r->time, t);
	ck_assert_str_eq(r->actor, actor);
	ck_assert_str_eq(r->action, action);
	ck_assert_str_eq(r->list, list);
	ck_assert_uint_eq(r->version, res->version);
	ck_assert_str_eq(r->sha256, res->sha256);
	ck_assert_int_eq(r->entries, (long)res->entries);
	ck_assert_int_eq(r->added, (long)res->added);
	ck_assert_int_eq(r->removed, (long)res->removed);
	ck_assert_int_eq(r->changed, (long)res->changed);
	ck_assert_uint_eq(r->status, status);
	ck_assert_str_eq(r->outcome, "stored");
}

START_TEST(audit_records_puts)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	ck_assert_uint_eq(audit_count(st), 0);

	qd_listdoc *d1 = mkdoc("au", "测试清单", "[]", H_V1);
	qd_listdoc *d2 = mkdoc("au", "测试清单", "[]", H_V2);
	qd_put_result r1, r2, rd;
	qd_put_opts o = fx_put_opts("alice", "load", "a.json", NOW);
	fx_put_doc_ok(st, d1, &o, &r1);
	ck_assert_uint_eq(audit_count(st), 1);

	/* a dry run writes no record by itself */
	o = fx_put_opts("bob", "load", "b.json", NOW + 5);
	o.dry_run = true;
	fx_put_doc_ok(st, d2, &o, &rd);
	ck_assert_uint_eq(audit_count(st), 1);

	/* neither does a refused put */
	qd_problems pr;
	qd_problems_init(&pr);
	o.dry_run = false;
	o.if_match = 7;
	ck_assert_int_eq(qd_store_put(st, d2, &o, &rd, &pr), QD_ECONFLICT);
	ck_assert_uint_eq(audit_count(st), 1);
	qd_listdoc *wl = fx_parse_sq("{'list':'au','kind':'whitelist','title':{'zh':'白名单'},"
				  "'clauses':[" CLAUSE "],'entries':[" ENT("W", "3822",
				  ",'entities':['" E_OK "']") "]}", "au");
	o.if_match = 0;
	ck_assert_int_eq(qd_store_put(st, wl, &o, &rd, &pr), QD_EINVAL);
	qd_listdoc_free(wl);
	qd_problems_free(&pr);
	ck_assert_uint_eq(audit_count(st), 1);

	o = fx_put_opts("bob", "import", "b.csv", NOW + 10);
	o.if_match = 1;
	fx_put_doc_ok(st, d2, &o, &r2);
	ck_assert_uint_eq(audit_count(st), 2);

	qd_audit_page pg = audit_get(st, 0, 10);
	ck_assert_uint_eq(pg.n, 2);
	ck_assert_uint_eq(pg.next_before, 0);
	/* newest first: version 2 (200), then the creation (201) */
	expect_stored_record(&pg.recs[0], 2, NOW + 10, "bob", "import", "au", &r2, 200);
	expect_stored_record(&pg.recs[1], 1, NOW, "alice", "load", "au", &r1, 201);
	ck_assert_int_eq(pg.recs[0].added, 2);
	ck_assert_int_eq(pg.recs[0].removed, 1);
	ck_assert_int_eq(pg.recs[0].changed, 1);
	qd_audit_page_free(&pg);

	qd_listdoc_free(d1);
	qd_listdoc_free(d2);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(audit_append_and_paging)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_put_result r1;
	put_ok(st, "ap", "[]", H_V1, NOW, &r1);

	qd_audit_rec refused = {
		.time = NOW + 1, .actor = "mallory", .action = "load", .list = "ap",
		.version = 0, .sha256 = NULL, .entries = -1, .added = -1, .removed = -1,
		.changed = -1, .status = 401, .outcome = "refused",
		.message = "missing or invalid bearer token",
	};
	ck_assert_int_eq(qd_store_audit_append(st, &refused), 0);
	ck_assert_uint_eq(audit_count(st), 2);
	qd_audit_page pg = audit_get(st, 0, 1);
	ck_assert_uint_eq(pg.n, 1);
	const qd_audit_rec *r = &pg.recs[0];
	ck_assert_uint_eq(r->id, 2);
	ck_assert_int_eq(r->time, NOW + 1);
	ck_assert_str_eq(r->actor, "mallory");
	ck_assert_str_eq(r->action, "load");
	ck_assert_str_eq(r->list, "ap");
	ck_assert_uint_eq(r->version, 0);
	ck_assert_ptr_null(r->sha256);
	ck_assert_int_eq(r->entries, -1);
	ck_assert_int_eq(r->added, -1);
	ck_assert_int_eq(r->removed, -1);
	ck_assert_int_eq(r->changed, -1);
	ck_assert_uint_eq(r->status, 401);
	ck_assert_str_eq(r->outcome, "refused");
	ck_assert_str_eq(r->message, "missing or invalid bearer token");
	ck_assert_ptr_null(r->source);
	/* one page of one of two: the next page starts before record 2 */
	ck_assert_uint_eq(pg.next_before, 2);
	qd_audit_page_free(&pg);

	/* a record without actor or list */
	qd_audit_rec anon = {
		.time = NOW + 2, .action = "rollback", .entries = -1, .added = -1, .removed = -1,
		.changed = -1, .status = 403, .outcome = "refused", .message = "需要管理员令牌",
	};
	ck_assert_int_eq(qd_store_audit_append(st, &anon), 0);
	pg = audit_get(st, 0, 1);
	ck_assert_uint_eq(pg.n, 1);
	r = &pg.recs[0];
	ck_assert_uint_eq(r->id, 3);
	ck_assert_str_eq(r->actor, "anonymous");
	ck_assert_ptr_null(r->list);
	ck_assert_str_eq(r->message, "需要管理员令牌");
	qd_audit_page_free(&pg);

	/* seven records in all: puts and appends interleaved */
	put_ok(st, "ap", "[]", H_V2, NOW + 3, NULL);
	ck_assert_int_eq(qd_store_audit_append(st, &refused), 0);
	put_ok(st, "ap-2", "[]", H_V1, NOW + 4, NULL);
	ck_assert_int_eq(qd_store_audit_append(st, &anon), 0);
	enum { TOTAL = 7 };
	ck_assert_uint_eq(audit_count(st), TOTAL);

	/* every page size walks every record exactly once, newest first */
	for (size_t limit = 1; limit <= TOTAL + 1; limit++) {
		uint64_t before = 0;
		uint64_t expect = TOTAL;
		unsigned pages = 0;
		for (;;) {
			pg = audit_get(st, before, limit);
			size_t n = pg.n;
			ck_assert_msg(n >= 1 && n <= limit, "limit %zu: page of %zu", limit, n);
			for (size_t i = 0; i < n; i++) {
				ck_assert_msg(pg.recs[i].id == expect, "limit %zu: record %llu where %llu was expected",
					      limit, (unsigned long long)pg.recs[i].id, (unsigned long long)expect);
				expect--;
			}
			pages++;
			uint64_t nb = pg.next_before;
			qd_audit_page_free(&pg);
			if (nb == 0)
				break;
			ck_assert_uint_eq(nb, expect + 1);
			before = nb;
			ck_assert_uint_le(pages, TOTAL);
		}
		ck_assert_msg(expect == 0, "limit %zu: stopped before record %llu", limit,
			      (unsigned long long)expect);
		ck_assert_uint_eq(pages, (TOTAL + limit - 1) / limit);
	}

	/* before=1: nothing is older */
	pg = audit_get(st, 1, 10);
	ck_assert_uint_eq(pg.n, 0);
	ck_assert_uint_eq(pg.next_before, 0);
	qd_audit_page_free(&pg);
	/* before beyond the newest: from the newest */
	pg = audit_get(st, 1000, 2);
	ck_assert_uint_ge(pg.n, 1);
	ck_assert_uint_eq(pg.recs[0].id, TOTAL);
	qd_audit_page_free(&pg);

	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* ---- as-of decisions ---- */

typedef struct decided {
	int rc;
	json_t *json;
	qd_outcome outcome;
} decided;

static decided decide(qd_snap *s, const char *code, const char *list, uint32_t version,
		      bool has_at, int64_t at)
{
	qd_query q;
	memset(&q, 0, sizeof q);
	const char *why = NULL;
	ck_assert_msg(qd_code_parse(code, strlen(code), &q.code, &why) == 0, "code %s: %s", code, why);
	ck_assert_int_eq(qd_date_parse("2026-11-26", 10, &q.date), 0);
	q.list = list;
	q.version = version;
	q.has_at = has_at;
	q.at = at;
	decided d;
	memset(&d, 0, sizeof d);
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_putc(&b, '{');
	d.rc = qd_decide(s, &q, &b, &d.outcome);
	if (d.rc == 0) {
		qd_buf_putc(&b, '}');
		d.json = buf_json(&b);
	}
	qd_buf_free(&b);
	return d;
}

/* results as "list@version:decision/reason,…" */
static char *results_str(json_t *j)
{
	json_t *res = json_object_get(j, "results");
	ck_assert(json_is_array(res));
	qd_buf b;
	qd_buf_init(&b);
	size_t i;
	json_t *r;
	json_array_foreach(res, i, r)
		qd_buf_printf(&b, "%s%s@%" JSON_INTEGER_FORMAT ":%s/%s", i ? "," : "", jstr(r, "list"),
			      jint(r, "version"), jstr(r, "decision"), jstr(r, "reason"));
	char *s = strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	return s;
}

/* The overall decision and the results, "decision/reason|results". */
static char *decision_str(qd_snap *s, const char *code, const char *list, uint32_t version,
			  bool has_at, int64_t at)
{
	decided d = decide(s, code, list, version, has_at, at);
	ck_assert_msg(d.rc == 0, "qd_decide(%s, at %lld): %d", code, (long long)at, d.rc);
	char *res = results_str(d.json);
	char *out = NULL;
	ck_assert_int_gt(asprintf(&out, "%s/%s|%s", jstr(d.json, "decision"), jstr(d.json, "reason"),
				  res), 0);
	/* outcome agrees with the JSON */
	ck_assert_uint_eq(d.outcome.n_lists, json_array_size(json_object_get(d.json, "results")));
	for (unsigned i = 0; i < d.outcome.n_lists && i < QD_OUTCOME_LISTS_MAX; i++) {
		json_t *r = json_array_get(json_object_get(d.json, "results"), i);
		ck_assert_str_eq(d.outcome.lists[i].id, jstr(r, "list"));
		ck_assert_int_eq(d.outcome.lists[i].version, jint(r, "version"));
	}
	/* a basis names the version that answered */
	json_t *basis = json_object_get(d.json, "basis");
	if (json_is_object(basis)) {
		json_t *res0 = NULL;
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(d.json, "results"), i, r)
			if (strcmp(jstr(r, "list"), jstr(basis, "list")) == 0)
				res0 = r;
		ck_assert_ptr_nonnull(res0);
		ck_assert_int_eq(jint(basis, "version"), jint(res0, "version"));
	} else {
		ck_assert(json_is_null(basis));
	}
	free(res);
	json_decref(d.json);
	return out;
}

static int decide_rc(qd_snap *s, const char *code, const char *list, uint32_t version,
		     bool has_at, int64_t at)
{
	decided d = decide(s, code, list, version, has_at, at);
	json_decref(d.json);
	return d.rc;
}

/* v1 (at 1000): A on 3822 active.  v2 (at 2000): A revoked, B on 9027. */
#define AS_V1 "[" ENT("A", "3822", "") "]"
#define AS_V2 "[" ENT("A", "3822", ",'status':'revoked'") "," ENT("B", "9027", "") "]"

START_TEST(as_of_decisions)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_put_result r1, r2;
	put_ok(st, "asof", "[]", AS_V1, 1000, &r1);
	put_ok(st, "asof", "[]", AS_V2, 2000, &r2);
	put_ok(st, "later", "[]", "[" ENT("L", "3822", "") "]", 3000, NULL);
	qd_snap *s = qd_snap_new(st);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(qd_snap_open(s), 0);

	/* now: the current versions */
	ck_str_free_eq(decision_str(s, "3822000000", NULL, 0, false, 0),
		       "allow/listed|asof@2:deny/revoked,later@1:allow/listed");
	/* at 1500 version 1 answered: only it lists A */
	ck_str_free_eq(decision_str(s, "3822000000", NULL, 0, true, 1500),
		       "allow/listed|asof@1:allow/listed");
	ck_str_free_eq(decision_str(s, "9027000000", NULL, 0, true, 1500),
		       "deny/not_listed|asof@1:deny/not_listed");
	/* the instant a version was stored belongs to it */
	ck_str_free_eq(decision_str(s, "3822000000", NULL, 0, true, 1000),
		       "allow/listed|asof@1:allow/listed");
	ck_str_free_eq(decision_str(s, "3822000000", NULL, 0, true, 1999),
		       "allow/listed|asof@1:allow/listed");
	ck_str_free_eq(decision_str(s, "3822000000", NULL, 0, true, 2000),
		       "deny/revoked|asof@2:deny/revoked");
	/* at 2500 version 2; "later" did not exist yet */
	ck_str_free_eq(decision_str(s, "3822000000", NULL, 0, true, 2500),
		       "deny/revoked|asof@2:deny/revoked");
	ck_str_free_eq(decision_str(s, "9027000000", NULL, 0, true, 2500),
		       "allow/listed|asof@2:allow/listed");
	ck_str_free_eq(decision_str(s, "3822000000", NULL, 0, true, 3500),
		       "allow/listed|asof@2:deny/revoked,later@1:allow/listed");
	/* at 500 no list existed */
	ck_str_free_eq(decision_str(s, "3822000000", NULL, 0, true, 500), "deny/not_listed|");
	/* with a list filter */
	ck_str_free_eq(decision_str(s, "3822000000", "asof", 0, true, 1500),
		       "allow/listed|asof@1:allow/listed");
	ck_assert_int_eq(decide_rc(s, "3822000000", "later", 0, true, 2500), QD_ENOLIST);

	/* one version of one list */
	ck_str_free_eq(decision_str(s, "3822000000", "asof", 1, false, 0),
		       "allow/listed|asof@1:allow/listed");
	ck_str_free_eq(decision_str(s, "3822000000", "asof", 2, false, 0),
		       "deny/revoked|asof@2:deny/revoked");
	ck_str_free_eq(decision_str(s, "9027000000", "asof", 1, false, 0),
		       "deny/not_listed|asof@1:deny/not_listed");
	ck_assert_int_eq(decide_rc(s, "3822000000", "asof", 9, false, 0), QD_ENOVERSION);
	ck_assert_int_eq(decide_rc(s, "3822000000", "nope", 1, false, 0), QD_ENOLIST);

	/* the basis of an as-of allow is the entry of that version */
	decided d = decide(s, "3822000000", NULL, 0, true, 1500);
	ck_assert_int_eq(d.rc, 0);
	json_t *basis = json_object_get(d.json, "basis");
	ck_assert_str_eq(jstr(basis, "list"), "asof");
	ck_assert_int_eq(jint(basis, "version"), 1);
	ck_assert_str_eq(jstr(json_object_get(basis, "entry"), "status"), "active");
	ck_assert(d.outcome.allow);
	ck_assert_uint_eq(d.outcome.n_lists, 1);
	ck_assert_uint_eq(d.outcome.lists[0].version, 1);
	json_decref(d.json);

	/* the lists at an instant, directly */
	const qd_list_info *ls = NULL;
	size_t n = 0;
	ck_assert_int_eq(qd_snap_lists_at(s, 1500, &ls, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ls[0].id, "asof");
	ck_assert_uint_eq(ls[0].version, 1);
	ck_assert_uint_eq(ls[0].entries, 1);
	ck_assert_int_eq(ls[0].loaded_at, 1000);
	ck_assert_str_eq(ls[0].sha256, r1.sha256);
	ck_assert_int_eq(ls[0].kind, QD_KIND_POSITIVE);
	ck_assert_int_eq(qd_snap_lists_at(s, 3000, &ls, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ls[0].id, "asof");
	ck_assert_uint_eq(ls[0].version, 2);
	ck_assert_str_eq(ls[0].sha256, r2.sha256);
	ck_assert_str_eq(ls[1].id, "later");
	ck_assert_int_eq(qd_snap_lists_at(s, 999, &ls, &n), 0);
	ck_assert_uint_eq(n, 0);

	/* one version's metadata */
	qd_list_info li;
	ck_assert_int_eq(qd_snap_list_version(s, "asof", 1, &li), 0);
	ck_assert_str_eq(li.id, "asof");
	ck_assert_uint_eq(li.version, 1);
	ck_assert_uint_eq(li.entries, 1);
	ck_assert_uint_eq(li.members, 0);
	ck_assert_int_eq(li.loaded_at, 1000);
	ck_assert_str_eq(li.sha256, r1.sha256);
	ck_assert_int_eq(qd_snap_list_version(s, "asof", 2, &li), 0);
	ck_assert_uint_eq(li.version, 2);
	ck_assert_uint_eq(li.entries, 2);
	ck_assert_int_eq(li.loaded_at, 2000);
	ck_assert_str_eq(li.sha256, r2.sha256);
	ck_assert_int_eq(qd_snap_list_version(s, "asof", 0, &li), 0);
	ck_assert_uint_eq(li.version, 2);
	ck_assert_int_eq(qd_snap_list_version(s, "asof", 3, &li), QD_ENOVERSION);
	ck_assert_int_eq(qd_snap_list_version(s, "nope", 1, &li), QD_ENOLIST);

	qd_snap_free(s);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(as_of_pruned)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_retain(dir, 1);
	qd_put_result r2;
	put_ok(st, "asof", ROSTER, AS_V1, 1000, NULL);
	put_ok(st, "asof", ROSTER, AS_V2, 2000, &r2);
	qd_snap *s = qd_snap_new(st);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(qd_snap_open(s), 0);

	ck_assert_int_eq(decide_rc(s, "3822000000", NULL, 0, true, 1500), QD_EGONE);
	ck_assert_int_eq(decide_rc(s, "3822000000", "asof", 1, false, 0), QD_EGONE);
	const qd_list_info *ls = NULL;
	size_t n = 0;
	ck_assert_int_eq(qd_snap_lists_at(s, 1500, &ls, &n), QD_EGONE);
	qd_list_info li;
	ck_assert_int_eq(qd_snap_list_version(s, "asof", 1, &li), QD_EGONE);

	/* the retained version still answers */
	ck_str_free_eq(decision_str(s, "9027000000", NULL, 0, true, 2500),
		       "deny/entity_required|asof@2:deny/entity_required");
	ck_assert_int_eq(qd_snap_list_version(s, "asof", 2, &li), 0);
	ck_assert_uint_eq(li.members, 2);
	ck_assert_str_eq(li.sha256, r2.sha256);

	qd_snap_free(s);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* ---- stats ---- */

START_TEST(stats_counts)
{
	char *dir = fx_fresh_dir();
	qd_store_opts opts;
	qd_store_opts_default(&opts);
	opts.map_size = (uint64_t)64 << 20;
	opts.max_readers = 20;
	qd_store *st = fx_open_store(dir, &opts);

	qd_store_stats s;
	memset(&s, 0xa5, sizeof s);
	ck_assert_int_eq(qd_store_stats_get(st, &s), 0);
	ck_assert_uint_eq(s.lists + s.versions + s.entries + s.members + s.audit, 0);
	ck_assert_uint_eq(s.map_size, (uint64_t)64 << 20);
	ck_assert_uint_gt(s.map_used, 0);
	ck_assert_uint_le(s.map_used, s.map_size);
	ck_assert_uint_ge(s.readers_max, 20);
	ck_assert_uint_le(s.readers_used, s.readers_max);
	uint64_t used0 = s.map_used;

	/* a: 3 entries + 2 members, then 2 entries + 1 member; b: 1 entry */
	put_ok(st, "a", ROSTER,
	       "[" ENT("A", "3822", "") "," ENT("B", "9027", "") "," ENT("C", "2934", "") "]", NOW,
	       NULL);
	put_ok(st, "a", "[{'id':'" E_OK "','name':{'zh':'示例研究院'}}]",
	       "[" ENT("A", "3822", "") "," ENT("B", "9027", "") "]", NOW + 1, NULL);
	put_ok(st, "b", "[]", "[" ENT("X", "9018", "") "]", NOW + 2, NULL);
	qd_audit_rec rec = {.time = NOW, .actor = "x", .action = "load", .list = "b",
			    .entries = -1, .added = -1, .removed = -1, .changed = -1,
			    .status = 412, .outcome = "refused", .message = "stale If-Match"};
	ck_assert_int_eq(qd_store_audit_append(st, &rec), 0);
	/* a dry run counts nothing */
	qd_listdoc *d = mkdoc("c", "测试清单", "[]", "[" ENT("Y", "9019", "") "]");
	qd_put_opts o = fx_put_opts("tester", "load", "unit", NOW);
	o.dry_run = true;
	fx_put_doc_ok(st, d, &o, NULL);
	qd_listdoc_free(d);

	ck_assert_int_eq(qd_store_stats_get(st, &s), 0);
	ck_assert_uint_eq(s.lists, 2);
	ck_assert_uint_eq(s.versions, 3);
	ck_assert_uint_eq(s.entries, 3 + 2 + 1);
	ck_assert_uint_eq(s.members, 2 + 1);
	ck_assert_uint_eq(s.audit, 4);
	ck_assert_uint_eq(s.map_size, (uint64_t)64 << 20);
	ck_assert_uint_gt(s.map_used, 0);
	ck_assert_uint_ge(s.map_used, used0);
	ck_assert_uint_le(s.map_used, s.map_size);

	/* pruning shows in the counts */
	qd_store_close(st);
	opts.retain = 1;
	st = fx_open_store(dir, &opts);
	put_ok(st, "a", "[]", "[" ENT("A", "3822", "") "]", NOW + 3, NULL);
	ck_assert_int_eq(qd_store_stats_get(st, &s), 0);
	ck_assert_uint_eq(s.lists, 2);
	ck_assert_uint_eq(s.versions, 2);
	ck_assert_uint_eq(s.entries, 1 + 1);
	ck_assert_uint_eq(s.members, 0);
	ck_assert_uint_eq(s.audit, 5);
	expect_verify_clean(st);

	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* ---- verify ---- */

/* A store with list "vf" (versions 1 and 2, with a roster) and "vf-b". */
static char *verify_fixture(void)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put_ok(st, "vf", ROSTER, "[" ENT("A", "3822", "") "," ENT("B", "9027", "") "]", NOW, NULL);
	put_ok(st, "vf", ROSTER,
	       "[" ENT("A", "3822", "") "," ENT("B", "9027", "") ","
	       ENT("C", "2934", ",'entities':['" E_OK "']") "]",
	       NOW + 1, NULL);
	put_ok(st, "vf-b", "[]", "[" ENT("Z", "3822", "") "]", NOW + 2, NULL);
	expect_verify_clean(st);
	qd_store_close(st);
	return dir;
}

/* list|\0|be32(version) */
static size_t raw_vkey(unsigned char *k, const char *list, uint32_t v)
{
	size_t n = strlen(list);
	memcpy(k, list, n);
	k[n] = 0;
	k[n + 1] = (unsigned char)(v >> 24);
	k[n + 2] = (unsigned char)(v >> 16);
	k[n + 3] = (unsigned char)(v >> 8);
	k[n + 4] = (unsigned char)v;
	return n + 5;
}

/* n attempt records at times NOW + base … NOW + base + n - 1 (one append). */
static void attempts(qd_store *st, int base, int n, const qd_audit_retention *ret, uint64_t *pruned)
{
	qd_audit_rec v[16];
	ck_assert_int_le(n, 16);
	for (int i = 0; i < n; i++)
		v[i] = (qd_audit_rec){
			.time = NOW + base + i, .action = "load", .list = "pa", .entries = -1, .added = -1,
			.removed = -1, .changed = -1, .status = 401, .outcome = "refused",
			.message = "missing bearer token", .client = "127.0.0.9",
		};
	ck_assert_int_eq(qd_store_audit_attempts(st, v, (size_t)n, ret, pruned), 0);
}

static uint64_t attempt_count(qd_store *st)
{
	qd_store_stats s;
	ck_assert_int_eq(qd_store_stats_get(st, &s), 0);
	return s.audit_attempts;
}

/* Attempt records are pruned by number and by age, oldest first, in the
 * append's own transaction or by qd_store_audit_prune(); records of
 * stored changes never are. */
START_TEST(audit_attempts_pruned)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put_ok(st, "pa", "[]", H_V1, NOW - 100, NULL);
	uint64_t pruned = 99;
	attempts(st, 0, 10, NULL, &pruned);
	ck_assert_uint_eq(pruned, 0);
	ck_assert_uint_eq(audit_count(st), 11);
	ck_assert_uint_eq(attempt_count(st), 10);

	/* at most 4 kept: the append of 2 more prunes 8, the oldest */
	qd_audit_retention four = {.max_records = 4};
	attempts(st, 10, 2, &four, &pruned);
	ck_assert_uint_eq(pruned, 8);
	ck_assert_uint_eq(attempt_count(st), 4);
	qd_audit_page pg = audit_get(st, 0, 100);
	ck_assert_uint_eq(pg.n, 5);
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(pg.recs[i].time, NOW + 11 - (int64_t)i);
	ck_assert_str_eq(pg.recs[0].client, "127.0.0.9");
	ck_assert_uint_eq(pg.recs[0].count, 1);
	ck_assert_str_eq(pg.recs[4].outcome, "stored"); /* the change, oldest of all, stays */
	qd_audit_page_free(&pg);

	/* by age: older than NOW + 10 goes */
	qd_audit_retention age = {.before = NOW + 10};
	ck_assert_int_eq(qd_store_audit_prune(st, &age, &pruned), 0);
	ck_assert_uint_eq(pruned, 2);
	ck_assert_uint_eq(attempt_count(st), 2);

	/* an aggregate: first and last time, count, client */
	qd_audit_rec agg = {
		.time = NOW + 20, .last_time = NOW + 80, .count = 1234, .actor = "anonymous",
		.action = "audit", .entries = -1, .added = -1, .removed = -1, .changed = -1,
		.status = 401, .outcome = "refused", .client = "127.0.0.3",
	};
	ck_assert_int_eq(qd_store_audit_attempts(st, &agg, 1, NULL, NULL), 0);
	pg = audit_get(st, 0, 1);
	ck_assert_uint_eq(pg.recs[0].count, 1234);
	ck_assert_int_eq(pg.recs[0].time, NOW + 20);
	ck_assert_int_eq(pg.recs[0].last_time, NOW + 80);
	ck_assert_str_eq(pg.recs[0].client, "127.0.0.3");
	qd_audit_page_free(&pg);
	/* age counts from an aggregate's last attempt */
	qd_audit_retention age2 = {.before = NOW + 50};
	ck_assert_int_eq(qd_store_audit_prune(st, &age2, &pruned), 0);
	ck_assert_uint_eq(pruned, 2);
	ck_assert_uint_eq(attempt_count(st), 1);

	/* everything that is an attempt, however far the bound: the change stays */
	qd_audit_retention all = {.before = NOW + 1000000};
	ck_assert_int_eq(qd_store_audit_prune(st, &all, &pruned), 0);
	ck_assert_uint_eq(pruned, 1);
	ck_assert_uint_eq(attempt_count(st), 0);
	ck_assert_uint_eq(audit_count(st), 1);
	pg = audit_get(st, 0, 10);
	ck_assert_str_eq(pg.recs[0].outcome, "stored");
	ck_assert_uint_eq(pg.recs[0].version, 1);
	qd_audit_page_free(&pg);
	/* more than one prune transaction's worth */
	for (int k = 0; k < QD_AUDIT_PRUNE_BATCH / 16 + 2; k++)
		attempts(st, 100 + 16 * k, 16, NULL, NULL);
	uint64_t many = attempt_count(st);
	ck_assert_uint_gt(many, QD_AUDIT_PRUNE_BATCH);
	qd_audit_retention ten = {.max_records = 10};
	ck_assert_int_eq(qd_store_audit_prune(st, &ten, &pruned), 0);
	ck_assert_uint_eq(pruned, many - 10);
	ck_assert_uint_eq(attempt_count(st), 10);
	qd_store_close(st);
	free(dir);
}
END_TEST

/* A store written before attempt records were indexed: its attempt
 * records (in the old format, without client or count) are indexed when
 * it is first opened read-write, and can be pruned. */
START_TEST(audit_attempts_index_built)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put_ok(st, "pb", "[]", H_V1, NOW, NULL);
	attempts(st, 1, 3, NULL, NULL);
	put_ok(st, "pb", "[]", H_V2, NOW + 5, NULL);
	qd_store_close(st);

	raw r = raw_open(dir, "attempts");
	ck_assert_int_eq(mdb_drop(r.txn, r.dbi, 1), 0);
	MDB_dbi audit;
	ck_assert_int_eq(mdb_dbi_open(r.txn, "audit", 0, &audit), 0);
	unsigned char key[8] = {0, 0, 0, 0, 0, 0, 0, 6};
	static const char old[] =
		"{\"id\":6,\"time\":\"2026-03-16T00:00:00Z\",\"actor\":\"anonymous\",\"action\":\"load\","
		"\"list\":\"pb\",\"version\":null,\"sha256\":null,\"entries\":null,\"added\":null,"
		"\"removed\":null,\"changed\":null,\"status\":403,\"outcome\":\"refused\","
		"\"message\":\"the token lacks the admin role\",\"source\":null}";
	MDB_val k = {8, key}, d = {sizeof old - 1, (void *)old};
	ck_assert_int_eq(mdb_put(r.txn, audit, &k, &d, 0), 0);
	raw_commit(&r);

	st = fx_open_store(dir, NULL);
	ck_assert_uint_eq(audit_count(st), 6);
	ck_assert_uint_eq(attempt_count(st), 4);
	qd_audit_page pg = audit_get(st, 0, 1);
	ck_assert_uint_eq(pg.recs[0].id, 6);
	ck_assert_uint_eq(pg.recs[0].count, 1);
	ck_assert_ptr_null(pg.recs[0].client);
	ck_assert_uint_eq(pg.recs[0].status, 403);
	qd_audit_page_free(&pg);
	uint64_t pruned;
	qd_audit_retention one = {.max_records = 1};
	ck_assert_int_eq(qd_store_audit_prune(st, &one, &pruned), 0);
	ck_assert_uint_eq(pruned, 3);
	ck_assert_uint_eq(audit_count(st), 3); /* two changes and the newest attempt */
	qd_store_close(st);
	free(dir);
}
END_TEST


/* Verify the damaged store; every problem path must be one of `paths`
 * (NULL-terminated; "*" allows any) and the first of them must occur. */
static void expect_verify_finds(const char *dir, const char *const *paths)
{
	qd_store *st = fx_open_store(dir, NULL);
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(qd_store_verify(st, &pr), QD_EINVAL);
	ck_assert_uint_gt(pr.count, 0);
	bool found = false;
	for (size_t i = 0; i < pr.count; i++) {
		ck_assert_ptr_nonnull(pr.items[i].path);
		ck_assert_ptr_nonnull(pr.items[i].message);
		if (strcmp(pr.items[i].path, paths[0]) == 0)
			found = true;
		bool allowed = false;
		for (size_t k = 0; paths[k]; k++)
			if (strcmp(paths[k], "*") == 0 || strcmp(pr.items[i].path, paths[k]) == 0)
				allowed = true;
		ck_assert_msg(allowed, "unexpected problem at %s: %s", pr.items[i].path,
			      pr.items[i].message);
	}
	ck_assert_msg(found, "no problem at %s (first: %s: %s)", paths[0], pr.items[0].path,
		      pr.items[0].message);
	qd_problems_free(&pr);
	qd_store_close(st);
}

START_TEST(verify_missing_entry)
{
	char *dir = verify_fixture();
	/* delete one entry record of the current version */
	raw r = raw_open(dir, "entries");
	MDB_cursor *c;
	ck_assert_int_eq(mdb_cursor_open(r.txn, r.dbi, &c), 0);
	unsigned char k[64];
	MDB_val key = {raw_vkey(k, "vf", 2), k}, val;
	size_t pl = key.mv_size;
	ck_assert_int_eq(mdb_cursor_get(c, &key, &val, MDB_SET_RANGE), 0);
	ck_assert(key.mv_size > pl && memcmp(key.mv_data, k, pl) == 0);
	ck_assert_int_eq(mdb_cursor_del(c, 0), 0);
	mdb_cursor_close(c);
	raw_commit(&r);

	const char *paths[] = {"/lists/vf/versions/2", NULL};
	expect_verify_finds(dir, paths);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(verify_garbage_version)
{
	char *dir = verify_fixture();
	raw r = raw_open(dir, "versions");
	unsigned char k[64];
	MDB_val key = {raw_vkey(k, "vf", 2), k};
	MDB_val val = {sizeof "garbage", (void *)"garbage"};
	ck_assert_int_eq(mdb_put(r.txn, r.dbi, &key, &val, 0), 0);
	raw_commit(&r);

	const char *paths[] = {"/lists/vf/versions/2", NULL};
	expect_verify_finds(dir, paths);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(verify_missing_version)
{
	char *dir = verify_fixture();
	raw r = raw_open(dir, "versions");
	unsigned char k[64];
	MDB_val key = {raw_vkey(k, "vf", 2), k};
	ck_assert_int_eq(mdb_del(r.txn, r.dbi, &key, NULL), 0);
	raw_commit(&r);

	/* the missing record, and the entry / roster records left without a
	 * version (reported at "/") */
	const char *paths[] = {"/lists/vf/versions/2", "/", NULL};
	expect_verify_finds(dir, paths);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(verify_old_version_damage)
{
	char *dir = verify_fixture();
	/* a retained older version loses an entry */
	raw r = raw_open(dir, "entries");
	MDB_cursor *c;
	ck_assert_int_eq(mdb_cursor_open(r.txn, r.dbi, &c), 0);
	unsigned char k[64];
	MDB_val key = {raw_vkey(k, "vf", 1), k}, val;
	size_t pl = key.mv_size;
	ck_assert_int_eq(mdb_cursor_get(c, &key, &val, MDB_SET_RANGE), 0);
	ck_assert(key.mv_size > pl && memcmp(key.mv_data, k, pl) == 0);
	ck_assert_int_eq(mdb_cursor_del(c, 0), 0);
	mdb_cursor_close(c);
	raw_commit(&r);

	const char *paths[] = {"/lists/vf/versions/1", NULL};
	expect_verify_finds(dir, paths);
	fx_drop_dir(dir);
}
END_TEST

/* ---- backup ---- */

START_TEST(backup_copy)
{
	char *dir = fx_fresh_dir(), *bak = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put_ok(st, "bk", ROSTER, H_V1, NOW, NULL);
	put_ok(st, "bk", ROSTER, H_V2, NOW + 1, NULL);
	put_ok(st, "bk-2", "[]", "[" ENT("Z", "3822", "") "]", NOW + 2, NULL);
	char err[512] = "";
	ck_assert_msg(qd_store_backup(st, bak, err, sizeof err) == 0, "backup: %s", err);

	/* the original goes on working */
	put_ok(st, "bk-2", "[]", "[" ENT("Y", "9027", "") "]", NOW + 3, NULL);

	qd_store *cp = fx_open_store(bak, NULL);
	expect_verify_clean(cp);
	qd_list_info *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	ck_assert_int_eq(qd_store_lists(cp, &b, &nb), 0);
	ck_assert_uint_eq(nb, 2);
	ck_assert_str_eq(b[0].id, "bk");
	ck_assert_uint_eq(b[0].version, 2);
	ck_assert_str_eq(b[1].id, "bk-2");
	ck_assert_uint_eq(b[1].version, 1); /* as it was when backed up */
	ck_assert_int_eq(qd_store_lists(st, &a, &na), 0);
	ck_assert_uint_eq(na, 2);
	ck_assert_str_eq(a[0].sha256, b[0].sha256);
	ck_assert_str_eq(a[0].title, b[0].title);
	ck_assert_uint_eq(a[0].entries, b[0].entries);
	ck_assert_uint_eq(a[0].members, b[0].members);
	ck_assert_int_eq(a[0].loaded_at, b[0].loaded_at);
	ck_assert_uint_eq(a[1].version, 2);
	qd_list_infos_free(a, na);
	qd_list_infos_free(b, nb);
	/* the history and its documents came along */
	ck_str_free_eq(versions_of(cp, "bk"), "2:2,1");
	for (uint32_t v = 1; v <= 2; v++) {
		char *x = export_of(st, "bk", v), *y = export_of(cp, "bk", v);
		ck_assert_str_eq(x, y);
		free(x);
		free(y);
	}
	qd_store_stats ss;
	ck_assert_int_eq(qd_store_stats_get(cp, &ss), 0);
	ck_assert_uint_eq(ss.audit, 3);
	ck_assert_uint_eq(ss.versions, 3);
	/* the copy is a working store */
	qd_put_result r;
	put_ok(cp, "bk", ROSTER, H_V1, NOW + 4, &r);
	ck_assert_uint_eq(r.version, 3);
	expect_verify_clean(cp);
	qd_store_close(cp);

	/* a directory that already holds a store is refused, the copy kept */
	err[0] = '\0';
	ck_assert_int_eq(qd_store_backup(st, bak, err, sizeof err), QD_EIO);
	ck_assert_msg(err[0] != '\0', "no message");
	cp = fx_open_store(bak, NULL);
	ck_str_free_eq(versions_of(cp, "bk"), "3:3,2,1");
	qd_store_close(cp);

	qd_store_close(st);
	fx_drop_dir(bak);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(backup_bad_dir)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put_ok(st, "bk", "[]", H_V1, NOW, NULL);
	char missing[600];
	snprintf(missing, sizeof missing, "%s/does-not-exist", dir);
	char err[1024] = "";
	ck_assert_int_eq(qd_store_backup(st, missing, err, sizeof err), QD_EIO);
	ck_assert_msg(err[0] != '\0', "no message");
	ck_assert_msg(strstr(err, missing) != NULL, "message does not name the directory: %s", err);
	struct stat sb;
	ck_assert_int_ne(stat(missing, &sb), 0);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* ---- map full ---- */

START_TEST(map_full)
{
	enum { BIG = 5000 };
	char *dir = fx_fresh_dir();
	qd_store_opts opts;
	qd_store_opts_default(&opts);
	opts.map_size = 256 << 10;
	qd_store *st = fx_open_store(dir, &opts);
	qd_listdoc *small = mkdoc("mf", "测试清单", ROSTER, H_V1);
	char *small_dump = dump_of(small);
	qd_put_result r1;
	qd_put_opts o = fx_put_opts("tester", "load", "unit", NOW);
	fx_put_doc_ok(st, small, &o, &r1);

	char *big_entries = gen_entries(0, BIG, "规格说明：每盒十支，每支一毫升，冷链运输，二至八摄氏度保存");
	qd_listdoc *big = mkdoc("mf", "测试清单", ROSTER, big_entries);
	free(big_entries);
	qd_put_result rb;
	qd_problems pr;
	qd_problems_init(&pr);
	o.now = NOW + 1;
	ck_assert_int_eq(qd_store_put(st, big, &o, &rb, &pr), QD_ENOSPC);
	ck_assert_uint_eq(pr.count, 0);
	qd_problems_free(&pr);
	/* a dry run of it is fine: it writes nothing */
	o.dry_run = true;
	fx_put_doc_ok(st, big, &o, &rb);
	ck_assert_uint_eq(rb.version, 2);
	o.dry_run = false;

	/* nothing changed: version 1 is current and readable */
	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "mf", &li), 0);
	ck_assert_uint_eq(li.version, 1);
	ck_assert_uint_eq(li.entries, 2);
	ck_assert_str_eq(li.sha256, r1.sha256);
	free(li.title);
	ck_str_free_eq(export_of(st, "mf", 0), small_dump);
	qd_listdoc *none = NULL;
	ck_assert_int_eq(qd_store_get_doc(st, "mf", 2, &none), QD_ENOVERSION);
	ck_str_free_eq(versions_of(st, "mf"), "1:1");
	qd_store_stats s;
	ck_assert_int_eq(qd_store_stats_get(st, &s), 0);
	ck_assert_uint_eq(s.map_size, 256 << 10);
	ck_assert_uint_le(s.map_used, s.map_size);
	ck_assert_uint_eq(s.versions, 1);
	ck_assert_uint_eq(s.entries, 2);
	ck_assert_uint_eq(s.audit, 1);
	expect_verify_clean(st);

	/* a later small change goes through, as version 2 */
	qd_listdoc *small2 = mkdoc("mf", "测试清单", ROSTER, H_V2);
	qd_put_result r2;
	o.now = NOW + 2;
	fx_put_doc_ok(st, small2, &o, &r2);
	ck_assert_uint_eq(r2.version, 2);
	ck_assert_uint_eq(r2.previous, 1);
	ck_str_free_eq(versions_of(st, "mf"), "2:2,1");
	ck_str_free_eq(export_of(st, "mf", 1), small_dump);
	ck_assert_int_eq(qd_store_stats_get(st, &s), 0);
	ck_assert_uint_eq(s.audit, 2);
	expect_verify_clean(st);
	qd_store_close(st);

	/* and the store reopens intact */
	st = fx_open_store(dir, &opts);
	ck_str_free_eq(versions_of(st, "mf"), "2:2,1");
	expect_verify_clean(st);
	qd_store_close(st);

	qd_listdoc_free(small2);
	qd_listdoc_free(big);
	qd_listdoc_free(small);
	free(small_dump);
	fx_drop_dir(dir);
}
END_TEST

/* ---- verify: what an entry record says against its JSON ---- */

/* A closed store holding list "vc", version 1: entry "A" citing C-1 and C-2. */
static char *two_clause_fixture(void)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_listdoc *doc = fx_mkdoc("vc",
				   "{'list':'vc','kind':'positive','title':{'zh':'测试清单'},"
				   "'clauses':[" CLAUSE ",{'id':'C-2','document':'d','article':'2','text':'t'}],"
				   "'entries':[{'id':'A','code':'3822','name':{'zh':'物品 A'},"
				   "'clauses':['C-1','C-2']}]}");
	qd_put_opts o = fx_put_opts("tester", "load", "unit", NOW);
	fx_put_doc_ok(st, doc, &o, NULL);
	qd_listdoc_free(doc);
	expect_verify_clean(st);
	qd_store_close(st);
	return dir;
}

/* Replace the record of the first entry of vc@1 with edit(old record). */
static void edit_first_entry(const char *dir, void (*edit)(const MDB_val *old, qd_buf *neu))
{
	raw r = raw_open(dir, "entries");
	MDB_cursor *c;
	ck_assert_int_eq(mdb_cursor_open(r.txn, r.dbi, &c), 0);
	unsigned char k[64];
	MDB_val key = {raw_vkey(k, "vc", 1), k}, val;
	ck_assert_int_eq(mdb_cursor_get(c, &key, &val, MDB_SET_RANGE), 0);
	qd_buf b;
	qd_buf_init(&b);
	edit(&val, &b);
	ck_assert(!b.oom);
	MDB_val nv = {b.len, b.data};
	ck_assert_int_eq(mdb_cursor_put(c, &key, &nv, MDB_CURRENT), 0);
	mdb_cursor_close(c);
	raw_commit(&r);
	qd_buf_free(&b);
}

/* The clause count (16 bits at offset 6 of an entry record) says 1 where
 * the JSON cites 2: what a count of 65 537 truncated to 16 bits reads as. */
static void count_one_clause(const MDB_val *old, qd_buf *neu)
{
	qd_buf_add(neu, old->mv_data, old->mv_size);
	ck_assert_uint_eq(neu->data[6] | neu->data[7] << 8, 2);
	neu->data[6] = 1;
	neu->data[7] = 0;
}

START_TEST(verify_clause_count_mismatch)
{
	char *dir = two_clause_fixture();
	edit_first_entry(dir, count_one_clause);
	const char *paths[] = {"/lists/vc/versions/1", NULL};
	expect_verify_finds(dir, paths);
	fx_drop_dir(dir);
}
END_TEST

/* A format-3 record (header of 30 bytes; entity bytes, JSON and clause-id
 * bytes at offsets 22, 26 and 24) whose plain JSON gains a "spec" so long
 * that the entry renders past QD_ENTRY_JSON_MAX. */
static void oversize_json(const MDB_val *old, qd_buf *neu)
{
	const unsigned char *p = old->mv_data;
	ck_assert_uint_eq(p[0], 3);
	ck_assert_uint_eq(p[5], 0); /* stored plain */
	size_t entlen = (size_t)(p[22] | p[23] << 8), cllen = (size_t)(p[24] | p[25] << 8);
	uint32_t jl;
	memcpy(&jl, p + 26, 4);
	const char *json = (const char *)p + 30 + entlen;
	ck_assert(json[jl - 1] == '}');
	size_t pad = QD_ENTRY_JSON_MAX + 1;
	uint32_t nl = (uint32_t)(jl - 1 + strlen(",'x':''") + pad + 1);
	unsigned char h[30];
	memcpy(h, p, 30);
	memcpy(h + 26, &nl, 4);
	qd_buf_add(neu, h, 30);
	qd_buf_add(neu, p + 30, entlen);
	qd_buf_add(neu, json, jl - 1);
	qd_buf_puts(neu, ",\"x\":\"");
	qd_buf_reserve(neu, pad);
	ck_assert(!neu->oom);
	memset(neu->data + neu->len, 'x', pad);
	neu->len += pad;
	qd_buf_puts(neu, "\"}");
	qd_buf_add(neu, "", 1);
	qd_buf_add(neu, json + jl + 1, cllen);
}

START_TEST(verify_entry_over_json_max)
{
	char *dir = two_clause_fixture();
	edit_first_entry(dir, oversize_json);
	const char *paths[] = {"/lists/vc/versions/1", NULL};
	expect_verify_finds(dir, paths);
	fx_drop_dir(dir);
}
END_TEST

static Suite *history_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("history");

	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_test(tc, versions_history);
	tcase_add_test(tc, export_round_trip);
	tcase_add_test(tc, export_round_trip_reals_chinese);
	tcase_add_test(tc, rollback_restores_content);
	tcase_add_test(tc, diff_fields);
	tcase_add_test(tc, diff_pruned);
	tcase_add_test(tc, diff_changes_capped);
	tcase_add_test(tc, put_changes_match_diff);
	tcase_add_test(tc, put_changes_match_diff_moved);
	tcase_add_test(tc, audit_records_puts);
	tcase_add_test(tc, audit_append_and_paging);
	tcase_add_test(tc, audit_attempts_pruned);
	tcase_add_test(tc, audit_attempts_index_built);
	tcase_add_test(tc, as_of_decisions);
	tcase_add_test(tc, as_of_pruned);
	tcase_add_test(tc, stats_counts);
	tcase_add_test(tc, verify_missing_entry);
	tcase_add_test(tc, verify_garbage_version);
	tcase_add_test(tc, verify_missing_version);
	tcase_add_test(tc, verify_old_version_damage);
	tcase_add_test(tc, backup_copy);
	tcase_add_test(tc, backup_bad_dir);
	tcase_add_test(tc, map_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("verify-entry");
	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_test(tc, verify_clause_count_mismatch);
	tcase_add_test(tc, verify_entry_over_json_max);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(history_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
