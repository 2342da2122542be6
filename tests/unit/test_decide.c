/* Unit tests: the decision engine (src/lib/decide.c) over a real store.
 *
 * A decision table: each row is a query (code, CIQ, entity, date, list
 * filter) and the expected decision, reason, basis and per-list results
 * (decision, reason, deciding entry, near misses as "reason:id,…").  The
 * store holds two lists built so that every reason is reached:
 *
 *   gba-pos   positive list, version 2, with a roster
 *   sh-wl     whitelist, version 1, no roster (every entry names institutions)
 *
 * Every test gets a fresh store directory (mkdtemp under a per-run root in
 * /tmp); the root and anything a failed test left in it is removed after
 * the run.  Fixture documents are JSON written with single quotes. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "qingdan/buf.h"
#include "qingdan/code.h"
#include "qingdan/date.h"
#include "qingdan/decide.h"
#include "qingdan/entity.h"
#include "qingdan/err.h"
#include "qingdan/listdoc.h"
#include "qingdan/problems.h"
#include "qingdan/store.h"

#include "fixture.h"

#define TODAY "2026-11-26" /* the query date unless a row says otherwise */

/* Institutions (valid GB 32100-2015 check characters where mainland). */
#define E_OK "91110000600037341L"    /* roster: active, open window */
#define E_SUSP "91350100M000100Y43"  /* roster: suspended */
#define E_LATE "HK:12345678"         /* roster: valid from 2027-01-01 */
#define E_EDGE "MO:EDGE-1"           /* roster: valid to 2026-11-26 */
#define E_SCOPE "91310000MA1FL0001R" /* roster: active; the only one P-SCOPED names */
#define E_OUT "91440101MA5AXXXXXW"   /* on no roster */
#define W2 "91310000MA1FL0002W"      /* whitelist institutions */
#define W3 "91310000MA1FL00030"

/* ---- fixture documents ---- */

#define POS_CLAUSES                                                                  \
	"[{'id':'GACC-143-1','document':'署综函〔2022〕143号','article':'一（一）',"         \
	"'text':'对列入正面清单的科研物资，免于提交进口药品通关单。'},"                        \
	"{'id':'GACC-143-2','document':'署综函〔2022〕143号','article':'一（二）',"          \
	"'text':'清单外物品按现行规定办理。'}]"

#define WL_CLAUSES                                                                   \
	"[{'id':'SH-2023-3','document':'沪商务发〔2023〕1号','article':'第三条',"            \
	"'text':'纳入白名单的研发用物品，进口时免于办理进口药品通关单。'},"                    \
	"{'id':'SH-2023-4','document':'沪商务发〔2023〕1号','article':'第四条',"             \
	"'text':'下列物品不适用本办法。'}]"

/* An entry: id, code, the clause it cites, extra members. */
#define ENT(id, code, clause, extra)                                                 \
	"{'id':'" id "','code':'" code "','name':{'zh':'物品 " id "'},'clauses':['" clause \
	"']" extra "}"
#define PI(id, code, extra) ENT(id, code, "GACC-143-1", extra) /* positive include */
#define PX(id, code, extra) ENT(id, code, "GACC-143-2", ",'effect':'exclude'" extra)
#define WI(id, code, who, extra) ENT(id, code, "SH-2023-3", ",'entities':['" who "']" extra)
#define WX(id, code, who, extra)                                                     \
	ENT(id, code, "SH-2023-4", ",'entities':['" who "'],'effect':'exclude'" extra)

#define POS_ROSTER                                                                   \
	"[{'id':'" E_OK "','name':{'zh':'示例研究院'}},"                                      \
	"{'id':'" E_SUSP "','name':{'zh':'暂停的机构'},'status':'suspended'},"               \
	"{'id':'hk:12345678','name':{'zh':'香港示例大学'},'valid_from':'2027-01-01'},"        \
	"{'id':'" E_EDGE "','name':{'zh':'澳门示例实验室'},'valid_from':'2024-01-01',"       \
	"'valid_to':'2026-11-26'},"                                                          \
	"{'id':'" E_SCOPE "','name':{'zh':'限定机构'}}]"

#define POS_ENTRIES                                                                  \
	"[" PI("P-HEAD", "3822", ",'valid_from':'2022-09-20'") ","                            \
	PX("P-CARVE", "3822.19", "") ","                                                     \
	PI("P-FULL", "3822.1990.00", "") ","                                                 \
	PI("P-EQ-IN", "3822300000", "") ","                                                  \
	PX("P-EQ-EX", "3822300000", "") ","                                                  \
	PI("P-EQ2-A", "3822400000", "") ","                                                  \
	PX("P-EQ2-B", "3822400000", "") ","                                                  \
	PX("P-CIQ-ANY", "3002150010", "") ","                                                \
	PI("P-CIQ-101", "3002150010", ",'ciq':'101'") ","                                    \
	PI("P-REV", "9027", ",'status':'revoked'") ","                                       \
	PI("P-SUSP", "9026", ",'status':'suspended'") ","                                    \
	PI("P-FUTURE", "9018", ",'valid_from':'2027-01-01'") ","                             \
	PI("P-PAST", "9019", ",'valid_from':'2026-01-01','valid_to':'2026-11-25'") ","       \
	PI("P-WIN", "9022", ",'valid_from':'2026-11-26','valid_to':'2026-12-31'") ","        \
	PI("P-SCOPED", "2934", ",'entities':['" E_SCOPE "']") ","                            \
	PI("P-SUSP-OLD", "9030", ",'status':'suspended','valid_to':'2025-01-01'") ","        \
	PI("P-SUSP-2", "9031", ",'status':'suspended'") ","                                  \
	PI("P-OLD-2", "903110", ",'valid_to':'2025-01-01'") "]"

#define WL_ENTRIES                                                                   \
	"[" WI("W-LAPSED", "2941", E_OK, ",'valid_from':'2025-11-26','valid_to':'2026-05-25'") "," \
	WI("W-OTHER-1", "2941", W2, ",'valid_from':'2026-06-01','valid_to':'2026-12-31'") ","      \
	WI("W-OTHER-2", "2941.10", W3, "") ","                                               \
	WI("W-CROSS-REV", "9027.80", E_OK, "") ","                                           \
	WI("W-CROSS-SUSP", "9018.90", E_OK, ",'status':'suspended'") ","                     \
	WI("W-CROSS-EXP", "2934.00", E_OK, ",'valid_from':'2025-08-01','valid_to':'2026-01-31'") "," \
	WI("W-CARVE-OK", "3822190090", E_OK, "") ","                                         \
	WX("W-EXCL", "382211", E_OK, "") ","                                                 \
	WI("W-BOTH", "382250", E_OK, "") "]"

/* ---- the decision table ---- */

/* Expected result of one list. */
typedef struct lres {
	const char *list;     /* NULL: no such result expected */
	const char *decision;
	const char *reason;
	const char *entry;    /* deciding entry id, or NULL for "entry": null */
	const char *misses;   /* near misses as "reason:id,reason:id", "" for none */
} lres;

typedef struct row {
	const char *desc;
	/* query */
	const char *code;     /* as a user writes it */
	const char *ciq;      /* separate ciq=, or NULL */
	const char *entity;   /* as a user writes it, or NULL */
	const char *date;     /* NULL: TODAY */
	const char *list;     /* list filter, or NULL */
	/* expected */
	int rc;               /* qd_decide's return */
	const char *decision, *reason;
	const char *basis_list, *basis_entry, *basis_clause; /* basis_list NULL: basis null */
	lres res[2];
	/* query echo when it differs from the input */
	const char *echo_code, *echo_ciq, *echo_entity;
} row;

#define POS(d, r, e, m) {"gba-pos", d, r, e, m}
#define WL(d, r, e, m) {"sh-wl", d, r, e, m}
#define POS_NL POS("deny", "not_listed", NULL, "")
#define WL_NL WL("deny", "not_listed", NULL, "")
#define NO_BASIS NULL, NULL, NULL
#define NO_RES {{NULL, NULL, NULL, NULL, NULL}}
#define NO_ECHO NULL, NULL, NULL
#define ECHO(code, ciq, entity) code, ciq, entity

static const row table[] = {
	/* ---- listed and most specific wins ---- */
	{"heading include: listed", "3822900000", NULL, E_OK, NULL, NULL,
	 0, "allow", "listed", "gba-pos", "P-HEAD", "GACC-143-1",
	 {POS("allow", "listed", "P-HEAD", ""), WL_NL}, NO_ECHO},
	{"dotted code and lowercase USCC are normalised", "3822.9000.00", NULL,
	 "91110000600037341l", NULL, NULL,
	 0, "allow", "listed", "gba-pos", "P-HEAD", "GACC-143-1",
	 {POS("allow", "listed", "P-HEAD", ""), WL_NL}, ECHO("3822900000", NULL, E_OK)},
	{"query at heading level", "3822", NULL, E_OK, NULL, NULL,
	 0, "allow", "listed", "gba-pos", "P-HEAD", "GACC-143-1",
	 {POS("allow", "listed", "P-HEAD", ""), WL_NL}, NO_ECHO},
	{"carve-out more specific than the include: excluded", "3822191000", NULL, E_OK, NULL, NULL,
	 0, "deny", "excluded", "gba-pos", "P-CARVE", "GACC-143-2",
	 {POS("deny", "excluded", "P-CARVE", ""), WL_NL}, NO_ECHO},
	{"10-digit include beats carve-out and heading", "3822199000", NULL, E_OK, NULL, NULL,
	 0, "allow", "listed", "gba-pos", "P-FULL", "GACC-143-1",
	 {POS("allow", "listed", "P-FULL", ""), WL_NL}, NO_ECHO},
	{"exclude beats include at equal specificity", "3822300000", NULL, E_OK, NULL, NULL,
	 0, "deny", "excluded", "gba-pos", "P-EQ-EX", "GACC-143-2",
	 {POS("deny", "excluded", "P-EQ-EX", ""), WL_NL}, NO_ECHO},
	{"exclude beats include at equal specificity (include sorts first)", "3822400000", NULL,
	 E_OK, NULL, NULL,
	 0, "deny", "excluded", "gba-pos", "P-EQ2-B", "GACC-143-2",
	 {POS("deny", "excluded", "P-EQ2-B", ""), WL_NL}, NO_ECHO},
	{"CIQ-specific include beats CIQ-less exclude of the same code", "3002150010", "101", E_OK,
	 NULL, NULL,
	 0, "allow", "listed", "gba-pos", "P-CIQ-101", "GACC-143-1",
	 {POS("allow", "listed", "P-CIQ-101", ""), WL_NL}, NO_ECHO},
	{"13-digit form with CIQ, dotted", "3002.1500.10.101", NULL, E_OK, NULL, NULL,
	 0, "allow", "listed", "gba-pos", "P-CIQ-101", "GACC-143-1",
	 {POS("allow", "listed", "P-CIQ-101", ""), WL_NL}, ECHO("3002150010", "101", NULL)},
	{"13-digit form with CIQ", "3002150010101", NULL, E_OK, NULL, NULL,
	 0, "allow", "listed", "gba-pos", "P-CIQ-101", "GACC-143-1",
	 {POS("allow", "listed", "P-CIQ-101", ""), WL_NL}, ECHO("3002150010", "101", NULL)},
	{"another CIQ: only the CIQ-less exclude applies", "3002150010", "102", E_OK, NULL, NULL,
	 0, "deny", "excluded", "gba-pos", "P-CIQ-ANY", "GACC-143-2",
	 {POS("deny", "excluded", "P-CIQ-ANY", ""), WL_NL}, NO_ECHO},
	{"no CIQ: the CIQ-specific entry is no candidate", "3002150010", NULL, E_OK, NULL, NULL,
	 0, "deny", "excluded", "gba-pos", "P-CIQ-ANY", "GACC-143-2",
	 {POS("deny", "excluded", "P-CIQ-ANY", ""), WL_NL}, NO_ECHO},

	/* ---- not listed ---- */
	{"on no list", "8471300000", NULL, E_OK, NULL, NULL,
	 0, "deny", "not_listed", NO_BASIS, {POS_NL, WL_NL}, NO_ECHO},
	{"on no list, no entity: not_listed, not entity_required", "8471300000", NULL, NULL, NULL,
	 NULL, 0, "deny", "not_listed", NO_BASIS, {POS_NL, WL_NL}, NO_ECHO},
	{"on no list, 2-digit query", "84", NULL, E_OK, NULL, NULL,
	 0, "deny", "not_listed", NO_BASIS, {POS_NL, WL_NL}, NO_ECHO},

	/* ---- entity ---- */
	{"entity_required: the list has a roster", "3822900000", NULL, NULL, NULL, NULL,
	 0, "deny", "entity_required", NO_BASIS,
	 {POS("deny", "entity_required", NULL, "entity_required:P-HEAD"), WL_NL}, NO_ECHO},
	{"entity_required: entries name institutions (no roster)", "2941000000", NULL, NULL, NULL,
	 NULL, 0, "deny", "entity_required", NO_BASIS,
	 {POS_NL, WL("deny", "entity_required", NULL,
		     "entity_required:W-LAPSED,entity_required:W-OTHER-1")}, NO_ECHO},
	{"entity_not_eligible: outside the entry's scope", "2934100000", NULL, E_OK, NULL, NULL,
	 0, "deny", "entity_not_eligible", NO_BASIS,
	 {POS("deny", "entity_not_eligible", NULL, "entity_not_eligible:P-SCOPED"), WL_NL}, NO_ECHO},
	{"inside the entry's scope", "2934100000", NULL, E_SCOPE, NULL, NULL,
	 0, "allow", "listed", "gba-pos", "P-SCOPED", "GACC-143-1",
	 {POS("allow", "listed", "P-SCOPED", ""), WL_NL}, NO_ECHO},
	{"entity_not_eligible: roster member suspended", "3822900000", NULL, E_SUSP, NULL, NULL,
	 0, "deny", "entity_not_eligible", NO_BASIS,
	 {POS("deny", "entity_not_eligible", NULL, "entity_not_eligible:P-HEAD"), WL_NL}, NO_ECHO},
	{"entity_not_eligible: roster member not yet valid (scheme normalised)", "3822900000", NULL,
	 "hk:12345678", NULL, NULL,
	 0, "deny", "entity_not_eligible", NO_BASIS,
	 {POS("deny", "entity_not_eligible", NULL, "entity_not_eligible:P-HEAD"), WL_NL},
	 ECHO(NULL, NULL, E_LATE)},
	{"roster window start is inclusive", "3822900000", NULL, E_LATE, "2027-01-01", NULL,
	 0, "allow", "listed", "gba-pos", "P-HEAD", "GACC-143-1",
	 {POS("allow", "listed", "P-HEAD", ""), WL_NL}, NO_ECHO},
	{"roster window end is inclusive", "3822900000", NULL, E_EDGE, "2026-11-26", NULL,
	 0, "allow", "listed", "gba-pos", "P-HEAD", "GACC-143-1",
	 {POS("allow", "listed", "P-HEAD", ""), WL_NL}, NO_ECHO},
	{"entity_not_eligible: the day after the roster window", "3822900000", NULL, E_EDGE,
	 "2026-11-27", NULL,
	 0, "deny", "entity_not_eligible", NO_BASIS,
	 {POS("deny", "entity_not_eligible", NULL, "entity_not_eligible:P-HEAD"), WL_NL}, NO_ECHO},
	{"entity_not_eligible: not on the roster", "3822900000", NULL, E_OUT, NULL, NULL,
	 0, "deny", "entity_not_eligible", NO_BASIS,
	 {POS("deny", "entity_not_eligible", NULL, "entity_not_eligible:P-HEAD"), WL_NL}, NO_ECHO},
	{"a failing exclude entry is no near miss", "3822191000", NULL, E_SUSP, NULL, NULL,
	 0, "deny", "entity_not_eligible", NO_BASIS,
	 {POS("deny", "entity_not_eligible", NULL, "entity_not_eligible:P-HEAD"), WL_NL}, NO_ECHO},
	{"a failing exclude entry alone leaves its list not_listed", "3822110000", NULL, W2, NULL,
	 NULL, 0, "deny", "entity_not_eligible", NO_BASIS,
	 {POS("deny", "entity_not_eligible", NULL, "entity_not_eligible:P-HEAD"), WL_NL}, NO_ECHO},
	{"entity is checked before status: entity_required", "9027000000", NULL, NULL, NULL, NULL,
	 0, "deny", "entity_required", NO_BASIS,
	 {POS("deny", "entity_required", NULL, "entity_required:P-REV"), WL_NL}, NO_ECHO},
	{"entity is checked before status: entity_not_eligible", "9027000000", NULL, E_OUT, NULL,
	 NULL, 0, "deny", "entity_not_eligible", NO_BASIS,
	 {POS("deny", "entity_not_eligible", NULL, "entity_not_eligible:P-REV"), WL_NL}, NO_ECHO},

	/* ---- status and window ---- */
	{"revoked", "9027000000", NULL, E_OK, NULL, NULL,
	 0, "deny", "revoked", NO_BASIS,
	 {POS("deny", "revoked", NULL, "revoked:P-REV"), WL_NL}, NO_ECHO},
	{"suspended", "9026000000", NULL, E_OK, NULL, NULL,
	 0, "deny", "suspended", NO_BASIS,
	 {POS("deny", "suspended", NULL, "suspended:P-SUSP"), WL_NL}, NO_ECHO},
	{"not_yet_effective", "9018000000", NULL, E_OK, NULL, NULL,
	 0, "deny", "not_yet_effective", NO_BASIS,
	 {POS("deny", "not_yet_effective", NULL, "not_yet_effective:P-FUTURE"), WL_NL}, NO_ECHO},
	{"expired", "9019000000", NULL, E_OK, NULL, NULL,
	 0, "deny", "expired", NO_BASIS,
	 {POS("deny", "expired", NULL, "expired:P-PAST"), WL_NL}, NO_ECHO},
	{"window: the day before valid_from", "9022000000", NULL, E_OK, "2026-11-25", NULL,
	 0, "deny", "not_yet_effective", NO_BASIS,
	 {POS("deny", "not_yet_effective", NULL, "not_yet_effective:P-WIN"), WL_NL}, NO_ECHO},
	{"window: valid_from day is allowed", "9022000000", NULL, E_OK, "2026-11-26", NULL,
	 0, "allow", "listed", "gba-pos", "P-WIN", "GACC-143-1",
	 {POS("allow", "listed", "P-WIN", ""), WL_NL}, NO_ECHO},
	{"window: valid_to day is allowed", "9022000000", NULL, E_OK, "2026-12-31", NULL,
	 0, "allow", "listed", "gba-pos", "P-WIN", "GACC-143-1",
	 {POS("allow", "listed", "P-WIN", ""), WL_NL}, NO_ECHO},
	{"window: the day after valid_to is expired", "9022000000", NULL, E_OK, "2027-01-01", NULL,
	 0, "deny", "expired", NO_BASIS,
	 {POS("deny", "expired", NULL, "expired:P-WIN"), WL_NL}, NO_ECHO},

	{"status is checked before the window", "9030000000", NULL, E_OK, NULL, NULL,
	 0, "deny", "suspended", NO_BASIS,
	 {POS("deny", "suspended", NULL, "suspended:P-SUSP-OLD"), WL_NL}, NO_ECHO},

	/* ---- reason order within a list ---- */
	{"the list's reason is its candidates' best failure", "9031100000", NULL, E_OK, NULL, NULL,
	 0, "deny", "expired", NO_BASIS,
	 {POS("deny", "expired", NULL, "expired:P-OLD-2,suspended:P-SUSP-2"), WL_NL}, NO_ECHO},
	{"own whitelist entry lapsed: expired, not other institutions' entries", "2941100000",
	 NULL, E_OK, NULL, NULL,
	 0, "deny", "expired", NO_BASIS,
	 {POS_NL, WL("deny", "expired", NULL,
		     "expired:W-LAPSED,entity_not_eligible:W-OTHER-2,entity_not_eligible:W-OTHER-1")}, NO_ECHO},
	{"whitelist: the institution's own entry (heading)", "2941100000", NULL, W2, NULL, NULL,
	 0, "allow", "listed", "sh-wl", "W-OTHER-1", "SH-2023-3",
	 {POS_NL, WL("allow", "listed", "W-OTHER-1", "")}, NO_ECHO},
	{"whitelist: the institution's own entry (subheading)", "2941100000", NULL, W3, NULL, NULL,
	 0, "allow", "listed", "sh-wl", "W-OTHER-2", "SH-2023-3",
	 {POS_NL, WL("allow", "listed", "W-OTHER-2", "")}, NO_ECHO},

	/* ---- across lists ---- */
	{"across lists: one allows, the basis is that list's", "9027800000", NULL, E_OK, NULL, NULL,
	 0, "allow", "listed", "sh-wl", "W-CROSS-REV", "SH-2023-3",
	 {POS("deny", "revoked", NULL, "revoked:P-REV"),
	  WL("allow", "listed", "W-CROSS-REV", "")}, NO_ECHO},
	{"across lists: allow beats another list's exclusion", "3822190090", NULL, E_OK, NULL, NULL,
	 0, "allow", "listed", "sh-wl", "W-CARVE-OK", "SH-2023-3",
	 {POS("deny", "excluded", "P-CARVE", ""), WL("allow", "listed", "W-CARVE-OK", "")}, NO_ECHO},
	{"across lists: a later exclusion does not undo an allow", "3822110000", NULL, E_OK, NULL,
	 NULL, 0, "allow", "listed", "gba-pos", "P-HEAD", "GACC-143-1",
	 {POS("allow", "listed", "P-HEAD", ""), WL("deny", "excluded", "W-EXCL", "")}, NO_ECHO},
	/* Both allow: the basis is the first allowing list's (lists go by id). */
	{"across lists: both allow", "3822500000", NULL, E_OK, NULL, NULL,
	 0, "allow", "listed", "gba-pos", "P-HEAD", "GACC-143-1",
	 {POS("allow", "listed", "P-HEAD", ""), WL("allow", "listed", "W-BOTH", "")}, NO_ECHO},
	{"across lists: both allow, list filter picks the second", "3822500000", NULL, E_OK, NULL,
	 "sh-wl", 0, "allow", "listed", "sh-wl", "W-BOTH", "SH-2023-3",
	 {WL("allow", "listed", "W-BOTH", "")}, NO_ECHO},
	{"across lists: best deny reason (first list's)", "9018900000", NULL, E_OK, NULL, NULL,
	 0, "deny", "not_yet_effective", NO_BASIS,
	 {POS("deny", "not_yet_effective", NULL, "not_yet_effective:P-FUTURE"),
	  WL("deny", "suspended", NULL, "suspended:W-CROSS-SUSP")}, NO_ECHO},
	{"across lists: best deny reason (second list's)", "2934000000", NULL, E_OK, NULL, NULL,
	 0, "deny", "expired", NO_BASIS,
	 {POS("deny", "entity_not_eligible", NULL, "entity_not_eligible:P-SCOPED"),
	  WL("deny", "expired", NULL, "expired:W-CROSS-EXP")}, NO_ECHO},
	{"across lists: entity_required beats not_listed", "3822110000", NULL, NULL, NULL, NULL,
	 0, "deny", "entity_required", NO_BASIS,
	 {POS("deny", "entity_required", NULL, "entity_required:P-HEAD"), WL_NL}, NO_ECHO},

	/* ---- list filter ---- */
	{"list filter: the whitelist alone allows", "9027800000", NULL, E_OK, NULL, "sh-wl",
	 0, "allow", "listed", "sh-wl", "W-CROSS-REV", "SH-2023-3",
	 {WL("allow", "listed", "W-CROSS-REV", "")}, NO_ECHO},
	{"list filter: the positive list alone denies", "9027800000", NULL, E_OK, NULL, "gba-pos",
	 0, "deny", "revoked", NO_BASIS,
	 {POS("deny", "revoked", NULL, "revoked:P-REV")}, NO_ECHO},
	{"list filter: the whitelist's own exclusion", "3822110000", NULL, E_OK, NULL, "sh-wl",
	 0, "deny", "excluded", "sh-wl", "W-EXCL", "SH-2023-4",
	 {WL("deny", "excluded", "W-EXCL", "")}, NO_ECHO},
	{"list filter: unknown list", "3822900000", NULL, E_OK, NULL, "no-such-list",
	 QD_ENOLIST, NULL, NULL, NO_BASIS, NO_RES, NO_ECHO},
	{"list filter: a prefix of a list id is no list", "3822900000", NULL, E_OK, NULL, "gba",
	 QD_ENOLIST, NULL, NULL, NO_BASIS, NO_RES, NO_ECHO},
};

#define NROWS ((int)(sizeof table / sizeof table[0]))

/* ---- temporary directories ---- */

/* Unchecked fixtures: run once in the test runner's process. */
static void root_setup(void)
{
	fx_root_setup("decide");
}

static void root_teardown(void)
{
	fx_root_teardown();
}

/* ---- documents and the store ---- */

/* A list document; head: more top-level members, each followed by a
 * comma ("" for none). */
static qd_listdoc *mkdoc(const char *list, const char *kind, const char *head, const char *clauses,
			 const char *roster, const char *entries)
{
	return fx_mkdoc(list,
			"{'list':'%s','kind':'%s','title':{'zh':'测试清单 %s'},%s"
			"'clauses':%s,'entities':%s,'entries':%s}",
			list, kind, list, head, clauses, roster, entries);
}

static void put_head_ok(qd_store *st, const char *list, const char *kind, const char *head,
			const char *clauses, const char *roster, const char *entries, uint32_t want_version)
{
	qd_listdoc *doc = mkdoc(list, kind, head, clauses, roster, entries);
	qd_put_opts o = fx_put_opts("tester", "load", "unit", 1795000000);
	qd_put_result res;
	fx_put_doc_ok(st, doc, &o, &res);
	ck_assert_uint_eq(res.version, want_version);
	qd_listdoc_free(doc);
}

static void put_ok(qd_store *st, const char *list, const char *kind, const char *clauses,
		   const char *roster, const char *entries, uint32_t want_version)
{
	put_head_ok(st, list, kind, "", clauses, roster, entries, want_version);
}

/* A snapshot of st, open. */
static qd_snap *open_snap(qd_store *st)
{
	qd_snap *s = qd_snap_new(st);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(qd_snap_open(s), 0);
	return s;
}

/* Free the snapshot, close the store and remove its directory. */
static void drop_store(qd_snap **s, qd_store **st, char **dir)
{
	qd_snap_free(*s);
	*s = NULL;
	qd_store_close(*st);
	*st = NULL;
	fx_rm_rf(*dir);
	free(*dir);
	*dir = NULL;
}

static qd_store *open_store(const char *dir)
{
	return fx_open_store(dir, NULL);
}

/* The table's store, built afresh for each row (checked fixture). */
static char *g_dir;
static qd_store *g_st;
static qd_snap *g_snap;

static void lists_setup(void)
{
	g_dir = fx_fresh_dir();
	g_st = open_store(g_dir);
	/* gba-pos twice so its version (2) differs from sh-wl's (1) */
	put_ok(g_st, "gba-pos", "positive", POS_CLAUSES, POS_ROSTER, POS_ENTRIES, 1);
	put_ok(g_st, "gba-pos", "positive", POS_CLAUSES, POS_ROSTER, POS_ENTRIES, 2);
	put_ok(g_st, "sh-wl", "whitelist", WL_CLAUSES, "[]", WL_ENTRIES, 1);
	g_snap = open_snap(g_st);
}

static void lists_teardown(void)
{
	drop_store(&g_snap, &g_st, &g_dir);
}

/* ---- queries and their JSON ---- */

typedef struct decided {
	int rc;
	json_t *json;        /* the wrapped object; NULL unless rc == 0 */
	qd_outcome outcome;
	char entity[QD_ENTITY_MAX + 1];
} decided;

static void decide_into(qd_snap *s, const qd_query *q, decided *d);

/* Run one query the way the daemon would: parse and normalise, decide,
 * wrap the members in braces and parse the result. */
static decided run_query(qd_snap *s, const char *code, const char *ciq, const char *entity,
			 const char *date, const char *list)
{
	decided d;
	memset(&d, 0, sizeof d);
	qd_query q;
	memset(&q, 0, sizeof q);
	const char *why = NULL;
	ck_assert_msg(qd_code_parse(code, strlen(code), &q.code, &why) == 0, "code %s: %s", code,
		      why);
	if (ciq)
		ck_assert_msg(qd_ciq_parse(ciq, strlen(ciq), q.code.ciq, &why) == 0, "ciq %s: %s", ciq,
			      why);
	if (entity) {
		ck_assert_msg(qd_entity_parse(entity, strlen(entity), d.entity, &why) == 0,
			      "entity %s: %s", entity, why);
		q.entity = d.entity;
	}
	const char *ds = date ? date : TODAY;
	ck_assert_int_eq(qd_date_parse(ds, strlen(ds), &q.date), 0);
	q.list = list;
	decide_into(s, &q, &d);
	return d;
}

/* Decide q into d (rc, and the wrapped object when rc is 0). */
static void decide_into(qd_snap *s, const qd_query *q, decided *d)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_putc(&b, '{');
	d->outcome.allow = true;
	d->outcome.reason = QD_REASON_COUNT;
	d->rc = qd_decide(s, q, &b, &d->outcome);
	qd_buf_putc(&b, '}');
	ck_assert(!b.oom);
	if (d->rc == 0) {
		json_error_t je;
		d->json = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &je);
		ck_assert_msg(d->json != NULL, "decision is not JSON (%s at %d): %s", je.text,
			      je.position, qd_buf_cstr(&b));
	}
	qd_buf_free(&b);
}

/* Member key of obj: a string, or NULL for JSON null; fails when absent or
 * of another type. */
static const char *jstr(const char *ctx, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	ck_assert_msg(v != NULL, "%s: member \"%s\" missing", ctx, key);
	if (json_is_null(v))
		return NULL;
	ck_assert_msg(json_is_string(v), "%s: member \"%s\" is not a string", ctx, key);
	return json_string_value(v);
}

/* want NULL means JSON null. */
static void expect_str(const char *ctx, const char *what, const char *got, const char *want)
{
	if (!want)
		ck_assert_msg(got == NULL, "%s: %s is \"%s\", expected null", ctx, what, got);
	else
		ck_assert_msg(got && strcmp(got, want) == 0, "%s: %s is %s%s%s, expected \"%s\"", ctx,
			      what, got ? "\"" : "", got ? got : "null", got ? "\"" : "", want);
}

/* The near misses of a result as "reason:id,…"; free() it. */
static char *misses_of(const char *ctx, json_t *result)
{
	json_t *nm = json_object_get(result, "near_misses");
	ck_assert_msg(json_is_array(nm), "%s: near_misses is not an array", ctx);
	qd_buf b;
	qd_buf_init(&b);
	size_t i;
	json_t *m;
	json_array_foreach(nm, i, m) {
		if (i)
			qd_buf_putc(&b, ',');
		json_t *e = json_object_get(m, "entry");
		ck_assert_msg(json_is_object(e), "%s: near miss %zu has no entry object", ctx, i);
		const char *r = jstr(ctx, m, "reason");
		const char *id = jstr(ctx, e, "id");
		qd_buf_printf(&b, "%s:%s", r ? r : "null", id ? id : "null");
	}
	char *s = strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	return s;
}

static const char *kind_of(const char *list)
{
	return strcmp(list, "sh-wl") == 0 ? "whitelist" : "positive";
}

static json_int_t version_of(const char *list)
{
	return strcmp(list, "gba-pos") == 0 ? 2 : 1;
}

/* ---- the table test ---- */

START_TEST(decide_table)
{
	const row *r = &table[_i];
	const char *ctx = r->desc;
	decided d = run_query(g_snap, r->code, r->ciq, r->entity, r->date, r->list);
	ck_assert_msg(d.rc == r->rc, "%s: qd_decide returned %d, expected %d", ctx, d.rc, r->rc);
	if (r->rc != 0)
		return;
	json_t *j = d.json;

	/* decision and reason, in the JSON and in the outcome */
	expect_str(ctx, "decision", jstr(ctx, j, "decision"), r->decision);
	expect_str(ctx, "reason", jstr(ctx, j, "reason"), r->reason);
	ck_assert_msg(d.outcome.allow == (strcmp(r->decision, "allow") == 0),
		      "%s: outcome.allow is %d", ctx, d.outcome.allow);
	expect_str(ctx, "outcome.reason", qd_reason_name(d.outcome.reason), r->reason);

	/* the query echo */
	json_t *q = json_object_get(j, "query");
	ck_assert_msg(json_is_object(q), "%s: no query object", ctx);
	expect_str(ctx, "query.code", jstr(ctx, q, "code"), r->echo_code ? r->echo_code : r->code);
	expect_str(ctx, "query.ciq", jstr(ctx, q, "ciq"), r->echo_ciq ? r->echo_ciq : r->ciq);
	expect_str(ctx, "query.entity", jstr(ctx, q, "entity"),
		   r->echo_entity ? r->echo_entity : r->entity);
	expect_str(ctx, "query.date", jstr(ctx, q, "date"), r->date ? r->date : TODAY);
	expect_str(ctx, "query.list", jstr(ctx, q, "list"), r->list);

	/* the basis: null for every deny but excluded */
	json_t *basis = json_object_get(j, "basis");
	ck_assert_msg(basis != NULL, "%s: no basis member", ctx);
	if (!r->basis_list) {
		ck_assert_msg(json_is_null(basis), "%s: basis is not null", ctx);
		ck_assert_msg(strcmp(r->reason, "excluded") != 0 && strcmp(r->reason, "listed") != 0,
			      "%s: table row expects no basis for %s", ctx, r->reason);
	} else {
		ck_assert_msg(json_is_object(basis), "%s: basis is not an object", ctx);
		expect_str(ctx, "basis.list", jstr(ctx, basis, "list"), r->basis_list);
		ck_assert_msg(json_integer_value(json_object_get(basis, "version")) ==
				      version_of(r->basis_list),
			      "%s: basis.version", ctx);
		json_t *e = json_object_get(basis, "entry");
		ck_assert_msg(json_is_object(e), "%s: basis.entry is not an object", ctx);
		expect_str(ctx, "basis.entry.id", jstr(ctx, e, "id"), r->basis_entry);
		json_t *cl = json_object_get(basis, "clauses");
		ck_assert_msg(json_is_array(cl) && json_array_size(cl) == 1,
			      "%s: basis.clauses is not one clause", ctx);
		json_t *c0 = json_array_get(cl, 0);
		expect_str(ctx, "basis.clauses[0].id", jstr(ctx, c0, "id"), r->basis_clause);
		/* full clause objects, not just ids */
		ck_assert_msg(jstr(ctx, c0, "document") && jstr(ctx, c0, "text"),
			      "%s: basis clause lacks document/text", ctx);
	}

	/* per-list results, in list order */
	json_t *results = json_object_get(j, "results");
	ck_assert_msg(json_is_array(results), "%s: results is not an array", ctx);
	size_t nres = 0;
	while (nres < 2 && r->res[nres].list)
		nres++;
	ck_assert_msg(json_array_size(results) == nres, "%s: %zu results, expected %zu", ctx,
		      json_array_size(results), nres);
	for (size_t i = 0; i < nres; i++) {
		const lres *want = &r->res[i];
		json_t *res = json_array_get(results, i);
		char rctx[256];
		snprintf(rctx, sizeof rctx, "%s [results %s]", ctx, want->list);
		expect_str(rctx, "list", jstr(rctx, res, "list"), want->list);
		expect_str(rctx, "kind", jstr(rctx, res, "kind"), kind_of(want->list));
		ck_assert_msg(json_integer_value(json_object_get(res, "version")) ==
				      version_of(want->list),
			      "%s: version", rctx);
		expect_str(rctx, "decision", jstr(rctx, res, "decision"), want->decision);
		expect_str(rctx, "reason", jstr(rctx, res, "reason"), want->reason);
		json_t *e = json_object_get(res, "entry");
		json_t *cl = json_object_get(res, "clauses");
		ck_assert_msg(e != NULL && json_is_array(cl), "%s: entry/clauses missing", rctx);
		if (want->entry) {
			ck_assert_msg(json_is_object(e), "%s: entry is not an object", rctx);
			expect_str(rctx, "entry.id", jstr(rctx, e, "id"), want->entry);
			ck_assert_msg(json_array_size(cl) >= 1, "%s: no clauses", rctx);
		} else {
			ck_assert_msg(json_is_null(e), "%s: entry is not null", rctx);
			ck_assert_msg(json_array_size(cl) == 0, "%s: clauses without entry", rctx);
		}
		char *m = misses_of(rctx, res);
		ck_assert_msg(strcmp(m, want->misses) == 0, "%s: near_misses \"%s\", expected \"%s\"",
			      rctx, m, want->misses);
		free(m);
	}
#ifdef QD_OUTCOME_LISTS_MAX
	/* the per-list outcome agrees with the rendered results */
	ck_assert_msg(d.outcome.n_lists == nres, "%s: outcome.n_lists %u, expected %zu", ctx,
		      d.outcome.n_lists, nres);
	for (size_t i = 0; i < nres; i++) {
		const lres *want = &r->res[i];
		ck_assert_msg(strcmp(d.outcome.lists[i].id, want->list) == 0,
			      "%s: outcome.lists[%zu].id %s", ctx, i, d.outcome.lists[i].id);
		ck_assert_msg(d.outcome.lists[i].version == version_of(want->list),
			      "%s: outcome.lists[%zu].version", ctx, i);
		ck_assert_msg(d.outcome.lists[i].allow == (strcmp(want->decision, "allow") == 0),
			      "%s: outcome.lists[%zu].allow", ctx, i);
		expect_str(ctx, "outcome.lists[].reason", qd_reason_name(d.outcome.lists[i].reason),
			   want->reason);
	}
#endif
	json_decref(j);
}
END_TEST


/* ---- v2: jurisdiction, item identity, batches and list terms ---- */

/* A second store: two regional whitelists and a v1 positive list.
 *
 *   gz-wl   whitelist, scope 51 + 5201 (广州), term 2026-01-01..2027-12-31,
 *           superseded by gz-wl-2028; batch 第一批 valid 2026-01-10..2027-01-09
 *   sc-wl   whitelist, scope 79 (成都)
 *   v1-pos  a positive list in the v1 form (no v2 fields)
 */
#define GZ_HEAD                                                                      \
	"'valid_from':'2026-01-01','valid_to':'2027-12-31','superseded_by':'gz-wl-2028',"  \
	"'scope':{'customs':['51','5201'],'region':'广州'},"                                 \
	"'batches':[{'id':'第一批','title':'第一批白名单','document':'穗示例〔2026〕1号',"       \
	"'published':'2026-01-05','valid_from':'2026-01-10','valid_to':'2027-01-09'}],"

/* A v2 whitelist entry for E_OK: id, code, name object, extra members. */
#define VI(id, code, name, extra)                                                    \
	"{'id':'" id "','code':'" code "','name':" name ",'entities':['" E_OK "'],"       \
	"'clauses':['SH-2023-3']" extra "}"

#define GZ_ENTRIES                                                                   \
	"[" VI("V-ITEM", "2941", "{'zh':'环孢菌素A','en':'Cyclosporin A'}",                  \
	       ",'spec':'500mg/瓶','aliases':['环孢素A'],'customs':['5201'],'batch':'第一批'") "," \
	VI("V-CAT", "3822", "{'zh':'诊断试剂'}", ",'identity':'category'") ","                 \
	VI("V-SUSP", "9027", "{'zh':'分析仪Y'}", ",'customs':['5201'],'status':'suspended'") "," \
	VI("V-SUSP2", "902780", "{'zh':'分析仪Z'}", ",'status':'suspended'") ","               \
	VI("V-J", "9018", "{'zh':'导管'}", ",'customs':['5201']") ","                          \
	VI("V-I", "901839", "{'zh':'支架'}", "") ","                                          \
	VI("V-LATE", "3004", "{'zh':'参比制剂'}", ",'batch':'第一批','valid_to':'2026-06-30'") ","   \
	VI("V-REV", "8501", "{'zh':'电动机'}", ",'status':'revoked'") ","                      \
	VI("V-RJ", "850110", "{'zh':'微电机'}", ",'customs':['5201']") ","                     \
	"{'id':'V-W2','code':'8502','name':{'zh':'发电机组'},'entities':['" W2 "'],"            \
	"'clauses':['SH-2023-3']}," VI("V-ID", "850220", "{'zh':'柴油发电机组'}", "") "]"

#define SC_ENTRIES "[" VI("V-SC", "2941", "{'zh':'环孢菌素A'}", "") "]"

#define V1_ENTRIES "[" PI("P-V1", "8471", "") "]"

typedef struct v2row {
	const char *desc;
	const char *code, *entity, *date, *customs, *name, *spec;   /* entity, date: NULL E_OK, TODAY */
	const char *decision, *reason;
	const char *basis;    /* deciding entry, or NULL: basis null */
	const char *scope;    /* basis scope customs joined by ',' ("" empty), NULL: scope null */
	const char *checked;  /* basis item_check.checked joined by ',', NULL: item_check null */
	const char *batch;    /* basis batch id, or NULL: batch null */
	/* per list, "reason[near misses]" (near misses as reason:id,…) */
	const char *gz, *sc, *v1;
} v2row;

static const v2row v2table[] = {
	/* ---- jurisdiction ---- */
	{"no customs code: the scope is shown, not checked", "2941000000", NULL, NULL, NULL, NULL, NULL,
	 "allow", "listed", "V-ITEM", "5201", "", "第一批",
	 "listed[]", "listed[]", "not_listed[]"},
	{"customs inside the entry's scope", "2941000000", NULL, NULL, "5201", NULL, NULL,
	 "allow", "listed", "V-ITEM", "5201", "", "第一批",
	 "listed[]", "outside_jurisdiction[outside_jurisdiction:V-SC]", "not_listed[]"},
	{"customs in the list's scope but not the entry's: outside_jurisdiction", "2941000000", NULL, NULL,
	 "5101", NULL, NULL, "deny", "outside_jurisdiction", NULL, NULL, NULL, NULL,
	 "outside_jurisdiction[outside_jurisdiction:V-ITEM]",
	 "outside_jurisdiction[outside_jurisdiction:V-SC]", "not_listed[]"},
	{"another region's list allows; this one is outside its scope", "2941000000", NULL, NULL, "7901",
	 NULL, NULL, "allow", "listed", "V-SC", "79", "", NULL,
	 "outside_jurisdiction[outside_jurisdiction:V-ITEM]", "listed[]", "not_listed[]"},
	{"entry without customs: the list's scope applies", "3822000000", NULL, NULL, "5101", NULL, NULL,
	 "allow", "listed", "V-CAT", "51,5201", NULL, NULL,
	 "listed[]", "not_listed[]", "not_listed[]"},
	{"entry without customs, outside the list's scope", "3822000000", NULL, NULL, "2201", NULL, NULL,
	 "deny", "outside_jurisdiction", NULL, NULL, NULL, NULL,
	 "outside_jurisdiction[outside_jurisdiction:V-CAT]", "not_listed[]", "not_listed[]"},

	/* ---- item identity ---- */
	{"declared name: an alias", "2941000000", NULL, NULL, NULL, "环孢素A", NULL,
	 "allow", "listed", "V-ITEM", "5201", "name", "第一批",
	 "listed[]", "item_differs[item_differs:V-SC]", "not_listed[]"},
	{"declared name: name.en in full-width capitals", "2941000000", NULL, NULL, NULL, "ＣＹＣＬＯＳＰＯＲＩＮ a", NULL,
	 "allow", "listed", "V-ITEM", "5201", "name", "第一批",
	 "listed[]", "item_differs[item_differs:V-SC]", "not_listed[]"},
	{"declared name and spec, written differently", "2941000000", NULL, NULL, NULL, "环孢菌素 A", "500 MG／瓶",
	 "allow", "listed", "V-ITEM", "5201", "name,spec", "第一批",
	 "listed[]", "listed[]", "not_listed[]"},
	{"another product under the same code: item_differs", "2941000000", NULL, NULL, NULL, "他克莫司", NULL,
	 "deny", "item_differs", NULL, NULL, NULL, NULL,
	 "item_differs[item_differs:V-ITEM]", "item_differs[item_differs:V-SC]", "not_listed[]"},
	{"another spec: item_differs", "2941000000", NULL, NULL, NULL, NULL, "250mg/瓶",
	 "allow", "listed", "V-SC", "79", "", NULL,
	 "item_differs[item_differs:V-ITEM]", "listed[]", "not_listed[]"},
	{"a category entry takes any name", "3822000000", NULL, NULL, NULL, "任意名称", "1L",
	 "allow", "listed", "V-CAT", "51,5201", NULL, NULL,
	 "listed[]", "not_listed[]", "not_listed[]"},

	/* ---- check order on one candidate ---- */
	{"entity before item", "2941000000", E_OUT, NULL, NULL, "他克莫司", NULL,
	 "deny", "entity_not_eligible", NULL, NULL, NULL, NULL,
	 "entity_not_eligible[entity_not_eligible:V-ITEM]", "entity_not_eligible[entity_not_eligible:V-SC]",
	 "not_listed[]"},
	{"item before jurisdiction (two failures, one reason)", "2941000000", NULL, NULL, "5101", "他克莫司", NULL,
	 "deny", "item_differs", NULL, NULL, NULL, NULL,
	 "item_differs[item_differs:V-ITEM]", "item_differs[item_differs:V-SC]", "not_listed[]"},
	{"jurisdiction before status", "9027000000", NULL, NULL, "5101", NULL, NULL,
	 "deny", "outside_jurisdiction", NULL, NULL, NULL, NULL,
	 "outside_jurisdiction[outside_jurisdiction:V-SUSP]", "not_listed[]", "not_listed[]"},
	{"inside the scope the status decides", "9027000000", NULL, NULL, "5201", NULL, NULL,
	 "deny", "suspended", NULL, NULL, NULL, NULL,
	 "suspended[suspended:V-SUSP]", "not_listed[]", "not_listed[]"},

	{"item before window (two failures, one reason)", "3004000000", NULL, "2026-07-01", NULL, "别的制剂", NULL,
	 "deny", "item_differs", NULL, NULL, NULL, NULL,
	 "item_differs[item_differs:V-LATE]", "not_listed[]", "not_listed[]"},
	{"jurisdiction before window (two failures, one reason)", "2941000000", NULL, "2027-01-10", "5101", NULL,
	 NULL, "deny", "outside_jurisdiction", NULL, NULL, NULL, NULL,
	 "outside_jurisdiction[outside_jurisdiction:V-ITEM]", "outside_jurisdiction[outside_jurisdiction:V-SC]",
	 "not_listed[]"},

	/* ---- reason order across candidates ---- */
	{"revoked beats outside_jurisdiction", "8501100000", NULL, NULL, "5101", NULL, NULL,
	 "deny", "revoked", NULL, NULL, NULL, NULL,
	 "revoked[revoked:V-REV,outside_jurisdiction:V-RJ]", "not_listed[]", "not_listed[]"},
	{"inside both scopes the narrower entry allows over the revoked one", "8501100000", NULL, NULL, "5201",
	 NULL, NULL, "allow", "listed", "V-RJ", "5201", "", NULL,
	 "listed[]", "not_listed[]", "not_listed[]"},
	{"item_differs beats entity_not_eligible on one list", "8502200000", NULL, NULL, NULL, "汽油发电机组", NULL,
	 "deny", "item_differs", NULL, NULL, NULL, NULL,
	 "item_differs[item_differs:V-ID,entity_not_eligible:V-W2]", "not_listed[]", "not_listed[]"},
	{"suspended beats item_differs", "9027800000", NULL, NULL, NULL, "分析仪Y", NULL,
	 "deny", "suspended", NULL, NULL, NULL, NULL,
	 "suspended[suspended:V-SUSP,item_differs:V-SUSP2]", "not_listed[]", "not_listed[]"},
	{"outside_jurisdiction beats item_differs", "9018390000", NULL, NULL, "5101", "导管", NULL,
	 "deny", "outside_jurisdiction", NULL, NULL, NULL, NULL,
	 "outside_jurisdiction[outside_jurisdiction:V-J,item_differs:V-I]", "not_listed[]", "not_listed[]"},
	{"both pass: the most specific decides", "9018390000", NULL, NULL, "5201", NULL, NULL,
	 "allow", "listed", "V-I", "51,5201", "", NULL,
	 "listed[]", "not_listed[]", "not_listed[]"},

	/* ---- batch window and list term ---- */
	{"the batch's window is the entry's: expired after it", "2941000000", NULL, "2027-01-10", NULL, NULL,
	 NULL, "allow", "listed", "V-SC", "79", "", NULL,
	 "expired[expired:V-ITEM]", "listed[]", "not_listed[]"},
	{"the batch's window is the entry's: before it", "2941000000", NULL, "2026-01-09", "5201", NULL, NULL,
	 "deny", "not_yet_effective", NULL, NULL, NULL, NULL,
	 "not_yet_effective[not_yet_effective:V-ITEM]", "outside_jurisdiction[outside_jurisdiction:V-SC]",
	 "not_listed[]"},
	{"an entry's own valid_to beats its batch's", "3004000000", NULL, "2026-07-01", NULL, NULL, NULL,
	 "deny", "expired", NULL, NULL, NULL, NULL,
	 "expired[expired:V-LATE]", "not_listed[]", "not_listed[]"},
	{"the batch's valid_from applies under the entry's valid_to", "3004000000", NULL, "2026-06-30", NULL,
	 NULL, NULL, "allow", "listed", "V-LATE", "51,5201", "", "第一批",
	 "listed[]", "not_listed[]", "not_listed[]"},
	{"after the list's term: expired", "3822000000", NULL, "2028-01-05", NULL, NULL, NULL,
	 "deny", "expired", NULL, NULL, NULL, NULL,
	 "expired[expired:V-CAT]", "not_listed[]", "not_listed[]"},
	{"before the list's term: not_yet_effective", "3822000000", NULL, "2025-12-31", NULL, NULL, NULL,
	 "deny", "not_yet_effective", NULL, NULL, NULL, NULL,
	 "not_yet_effective[not_yet_effective:V-CAT]", "not_listed[]", "not_listed[]"},

	/* ---- a v1 list decides as before ---- */
	{"v1 list: customs, name and spec change nothing", "8471300000", NULL, NULL, "2201", "任意", "x",
	 "allow", "listed", "P-V1", NULL, NULL, NULL,
	 "not_listed[]", "not_listed[]", "listed[]"},
};

#define NV2ROWS ((int)(sizeof v2table / sizeof v2table[0]))

static char *v2_dir;
static qd_store *v2_st;
static qd_snap *v2_snap;

static void v2_setup(void)
{
	v2_dir = fx_fresh_dir();
	v2_st = open_store(v2_dir);
	put_head_ok(v2_st, "gz-wl", "whitelist", GZ_HEAD, WL_CLAUSES, "[]", GZ_ENTRIES, 1);
	put_head_ok(v2_st, "sc-wl", "whitelist", "'scope':{'customs':['79'],'region':'成都'},", WL_CLAUSES, "[]",
		    SC_ENTRIES, 1);
	put_ok(v2_st, "v1-pos", "positive", POS_CLAUSES, "[]", V1_ENTRIES, 1);
	v2_snap = open_snap(v2_st);
}

static void v2_teardown(void)
{
	drop_store(&v2_snap, &v2_st, &v2_dir);
}

/* The strings of array a joined by ','; free() it. */
static char *joined(json_t *a)
{
	qd_buf b;
	qd_buf_init(&b);
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (i)
			qd_buf_putc(&b, ',');
		qd_buf_puts(&b, json_string_value(v));
	}
	char *r = strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	return r;
}

/* Compare the joined strings of a with want (NULL: a must be absent). */
static void expect_joined(const char *ctx, const char *what, json_t *a, const char *want)
{
	if (!want) {
		ck_assert_msg(json_is_null(a), "%s: %s is not null", ctx, what);
		return;
	}
	ck_assert_msg(json_is_array(a), "%s: %s is not an array", ctx, what);
	char *got = joined(a);
	ck_assert_msg(strcmp(got, want) == 0, "%s: %s is \"%s\", expected \"%s\"", ctx, what, got, want);
	free(got);
}

START_TEST(decide_v2_table)
{
	const v2row *r = &v2table[_i];
	const char *ctx = r->desc;
	decided d;
	memset(&d, 0, sizeof d);
	qd_query q;
	memset(&q, 0, sizeof q);
	const char *why;
	ck_assert_int_eq(qd_code_parse(r->code, strlen(r->code), &q.code, &why), 0);
	const char *ent = r->entity ? r->entity : E_OK, *ds = r->date ? r->date : TODAY;
	ck_assert_int_eq(qd_entity_parse(ent, strlen(ent), d.entity, &why), 0);
	q.entity = d.entity;
	ck_assert_int_eq(qd_date_parse(ds, strlen(ds), &q.date), 0);
	char customs[QD_CUSTOMS_LEN + 1];
	if (r->customs) {
		ck_assert_int_eq(qd_customs_parse(r->customs, strlen(r->customs), customs, &why), 0);
		q.customs = customs;
	}
	q.name = r->name;
	q.spec = r->spec;
	decide_into(v2_snap, &q, &d);
	ck_assert_int_eq(d.rc, 0);
	json_t *j = d.json;
	expect_str(ctx, "decision", jstr(ctx, j, "decision"), r->decision);
	expect_str(ctx, "reason", jstr(ctx, j, "reason"), r->reason);
	json_t *qj = json_object_get(j, "query");
	expect_str(ctx, "query.customs", jstr(ctx, qj, "customs"), r->customs);
	expect_str(ctx, "query.name", jstr(ctx, qj, "name"), r->name);
	expect_str(ctx, "query.spec", jstr(ctx, qj, "spec"), r->spec);

	json_t *basis = json_object_get(j, "basis");
	if (!r->basis) {
		ck_assert_msg(json_is_null(basis), "%s: basis is not null", ctx);
	} else {
		expect_str(ctx, "basis.entry.id", jstr(ctx, json_object_get(basis, "entry"), "id"), r->basis);
		json_t *sc = json_object_get(basis, "scope");
		ck_assert_msg(sc != NULL, "%s: basis.scope missing", ctx);
		expect_joined(ctx, "basis.scope.customs", r->scope ? json_object_get(sc, "customs") : sc, r->scope);
		json_t *ic = json_object_get(basis, "item_check");
		ck_assert_msg(ic != NULL, "%s: basis.item_check missing", ctx);
		expect_joined(ctx, "basis.item_check.checked", r->checked ? json_object_get(ic, "checked") : ic,
			      r->checked);
		json_t *bt = json_object_get(basis, "batch");
		ck_assert_msg(bt != NULL, "%s: basis.batch missing", ctx);
		expect_str(ctx, "basis.batch.id", json_is_null(bt) ? NULL : jstr(ctx, bt, "id"), r->batch);
	}

	const char *want[3] = {r->gz, r->sc, r->v1};
	const char *ids[3] = {"gz-wl", "sc-wl", "v1-pos"};
	json_t *results = json_object_get(j, "results");
	ck_assert_msg(json_array_size(results) == 3, "%s: %zu results", ctx, json_array_size(results));
	for (size_t i = 0; i < 3; i++) {
		json_t *res = json_array_get(results, i);
		char rctx[256], got[512];
		snprintf(rctx, sizeof rctx, "%s [results %s]", ctx, ids[i]);
		expect_str(rctx, "list", jstr(rctx, res, "list"), ids[i]);
		char *m = misses_of(rctx, res);
		snprintf(got, sizeof got, "%s[%s]", jstr(rctx, res, "reason"), m);
		free(m);
		ck_assert_msg(strcmp(got, want[i]) == 0, "%s: \"%s\", expected \"%s\"", rctx, got, want[i]);
		/* Every result names the list's terms and the scope that applies. */
		json_t *terms = json_object_get(res, "terms"), *scope = json_object_get(res, "scope");
		ck_assert_msg(terms && scope && json_object_get(res, "item_check") && json_object_get(res, "batch"),
			      "%s: terms, scope, item_check or batch missing", rctx);
		if (i == 0) {
			expect_str(rctx, "terms.superseded_by", jstr(rctx, terms, "superseded_by"), "gz-wl-2028");
			expect_str(rctx, "terms.valid_to", jstr(rctx, terms, "valid_to"), "2027-12-31");
			expect_str(rctx, "scope.region", jstr(rctx, scope, "region"), "广州");
		} else {
			ck_assert_msg(json_is_null(terms), "%s: terms of a list without a term", rctx);
		}
		if (i == 2)
			ck_assert_msg(json_is_null(scope), "%s: a v1 list has a scope", rctx);
	}
	/* The outcome agrees with the rendering. */
	expect_str(ctx, "outcome.reason", qd_reason_name(d.outcome.reason), r->reason);
	json_decref(j);
}
END_TEST

/* results[i].key of a decision. */
static json_t *jptr_of(json_t *j, const char *arr, size_t i, const char *key)
{
	return json_object_get(json_array_get(json_object_get(j, arr), i), key);
}

/* A query for code 2941000000 today, nothing else set. */
static qd_query v2_query(void)
{
	qd_query q;
	memset(&q, 0, sizeof q);
	const char *why;
	ck_assert_int_eq(qd_code_parse("2941000000", 10, &q.code, &why), 0);
	ck_assert_int_eq(qd_date_parse(TODAY, strlen(TODAY), &q.date), 0);
	return q;
}

/* As-of lookups across a version that adds a scope: each instant is
 * decided by the terms of the version current then. */
START_TEST(decide_v2_as_of_scope)
{
	char *dir = fx_fresh_dir();
	qd_store *st = open_store(dir);
	qd_listdoc *v1 = mkdoc("gz-wl", "whitelist", "", WL_CLAUSES, "[]", SC_ENTRIES);
	qd_listdoc *v2 = mkdoc("gz-wl", "whitelist", "'scope':{'customs':['51']},", WL_CLAUSES, "[]", SC_ENTRIES);
	qd_put_opts o = fx_put_opts("tester", "load", "unit", 1795000000);
	qd_put_result res;
	fx_put_doc_ok(st, v1, &o, &res);
	o.now = 1795000100;
	fx_put_doc_ok(st, v2, &o, &res);
	ck_assert_uint_eq(res.version, 2);
	qd_snap *s = open_snap(st);
	static const struct {
		bool has_at;
		int64_t at;
		uint32_t version;
		const char *reason;
	} cases[] = {
		{true, 1795000050, 0, "listed"},                 /* v1 current then: no scope */
		{true, 1795000150, 0, "outside_jurisdiction"},   /* v2 */
		{false, 0, 1, "listed"},
		{false, 0, 2, "outside_jurisdiction"},
		{false, 0, 0, "outside_jurisdiction"},           /* current */
	};
	char customs[] = "2201";
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		qd_query q = v2_query();
		q.entity = E_OK;
		q.customs = customs;
		q.has_at = cases[i].has_at;
		q.at = cases[i].at;
		q.version = cases[i].version;
		q.list = cases[i].version ? "gz-wl" : NULL;
		decided d;
		memset(&d, 0, sizeof d);
		decide_into(s, &q, &d);
		ck_assert_int_eq(d.rc, 0);
		expect_str("as of", "reason", jstr("as of", d.json, "reason"), cases[i].reason);
		json_t *sc = jptr_of(d.json, "results", 0, "scope");
		ck_assert_msg(i == 0 || i == 2 ? json_is_null(sc) : json_is_object(sc), "case %zu: scope", i);
		json_decref(d.json);
	}
	drop_store(&s, &st, &dir);
	qd_listdoc_free(v1);
	qd_listdoc_free(v2);
}
END_TEST

/* Declared goods that are not acceptable are refused, not decided. */
/* The answer to q from s, as bytes (NULL when deciding fails). */
static char *decide_bytes(qd_snap *s, const qd_query *q)
{
	qd_buf b;
	qd_buf_init(&b);
	int rc = qd_decide(s, q, &b, NULL);
	char *out = rc ? NULL : strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	return out;
}

/* The v2 lists stored with every entry compressed give every row of the
 * v2 table, full and brief, the same bytes as stored plain: an item
 * entry's item_check, rebuilt from its entry's JSON (terms flag 4), comes
 * out the same whether that JSON lies plain in the map or must be
 * decompressed. */
START_TEST(decide_v2_compressed_same)
{
	char *zdir = fx_fresh_dir();
	qd_store_opts so;
	qd_store_opts_default(&so);
	so.compress_min_bytes = 0;
	qd_store *zst = fx_open_store(zdir, &so);
	/* A version is compressed only with entries enough to train its
	 * dictionary on (1 000): gz-wl gets that many more, under codes of
	 * chapter 01, which no row asks about. */
	qd_buf ge;
	qd_buf_init(&ge);
	qd_buf_add(&ge, GZ_ENTRIES, strlen(GZ_ENTRIES) - 1);
	for (int i = 0; i < 1200; i++)
		qd_buf_printf(&ge, ",{'id':'F-%04d','code':'0101%06d','name':{'zh':'示例物品 %d'},"
			      "'clauses':['SH-2023-3'],'entities':['" E_OK "']}", i, i, i);
	qd_buf_putc(&ge, ']');
	put_head_ok(zst, "gz-wl", "whitelist", GZ_HEAD, WL_CLAUSES, "[]", ge.data, 1);
	qd_buf_free(&ge);
	put_head_ok(zst, "sc-wl", "whitelist", "'scope':{'customs':['79'],'region':'成都'},", WL_CLAUSES, "[]",
		    SC_ENTRIES, 1);
	put_ok(zst, "v1-pos", "positive", POS_CLAUSES, "[]", V1_ENTRIES, 1);
	qd_snap *zs = open_snap(zst);
	int item_checks = 0;
	for (int i = 0; i < NV2ROWS; i++) {
		const v2row *r = &v2table[i];
		qd_query q;
		memset(&q, 0, sizeof q);
		const char *why;
		char ent[QD_ENTITY_MAX + 1], customs[QD_CUSTOMS_LEN + 1];
		ck_assert_int_eq(qd_code_parse(r->code, strlen(r->code), &q.code, &why), 0);
		const char *e = r->entity ? r->entity : E_OK, *ds = r->date ? r->date : TODAY;
		ck_assert_int_eq(qd_entity_parse(e, strlen(e), ent, &why), 0);
		q.entity = ent;
		ck_assert_int_eq(qd_date_parse(ds, strlen(ds), &q.date), 0);
		if (r->customs) {
			ck_assert_int_eq(qd_customs_parse(r->customs, strlen(r->customs), customs, &why), 0);
			q.customs = customs;
		}
		q.name = r->name;
		q.spec = r->spec;
		for (int brief = 0; brief < 2; brief++) {
			q.brief = brief;
			char *plain = decide_bytes(v2_snap, &q), *z = decide_bytes(zs, &q);
			ck_assert_msg(plain && z, "%s: deciding failed (brief %d)", r->desc, brief);
			ck_assert_msg(strcmp(plain, z) == 0, "%s (brief %d):\nplain: %s\ncompressed: %s", r->desc,
				      brief, plain, z);
			item_checks += strstr(plain, "\"item_check\":{") != NULL;
			free(plain);
			free(z);
		}
	}
	ck_assert_int_ge(item_checks, 4);
	qd_snap_free(zs);
	qd_store_close(zst);
	fx_rm_rf(zdir);
	free(zdir);
}
END_TEST

START_TEST(decide_v2_bad_declared)
{
	qd_query q = v2_query();
	char big[QD_DECLARED_MAX + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	const char *bad[] = {big, "\xe7\x8e", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		decided d;
		memset(&d, 0, sizeof d);
		q.name = bad[i];
		q.spec = NULL;
		decide_into(v2_snap, &q, &d);
		ck_assert_int_eq(d.rc, QD_EINVAL);
		q.name = NULL;
		q.spec = bad[i];
		decide_into(v2_snap, &q, &d);
		ck_assert_int_eq(d.rc, QD_EINVAL);
	}
}
END_TEST

/* A check's items with declared goods are each decided on their own: the
 * batch answers as deciding each alone would. */
START_TEST(decide_v2_batch_declared)
{
	qd_buf out, alone;
	qd_buf_init(&out);
	qd_buf_init(&alone);
	qd_batch *b = qd_batch_new(v2_snap, &out, 8);
	ck_assert_ptr_nonnull(b);
	const char *names[] = {"环孢素A", "他克莫司", "环孢素A", NULL, "他克莫司"};
	char customs[] = "5201";
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		qd_query q = v2_query();
		q.entity = E_OK;
		q.customs = customs;
		q.name = names[i];
		size_t at = out.len;
		qd_outcome o1, o2;
		ck_assert_int_eq(qd_batch_decide(b, &q, &o1), 0);
		qd_buf_reset(&alone);
		ck_assert_int_eq(qd_decide(v2_snap, &q, &alone, &o2), 0);
		ck_assert_uint_eq(out.len - at, alone.len);
		ck_assert(memcmp(out.data + at, alone.data, alone.len) == 0);
		ck_assert_int_eq(o1.reason, o2.reason);
		ck_assert_int_eq(o1.reason, names[i] && strcmp(names[i], "他克莫司") == 0 ? QD_REASON_ITEM_DIFFERS
											 : QD_REASON_LISTED);
	}
	qd_batch_free(b);
	qd_buf_free(&out);
	qd_buf_free(&alone);
}
END_TEST

/* Every reason appears in a table (as an overall or per-list result). */
START_TEST(table_reaches_every_reason)
{
	bool seen[QD_REASON_COUNT] = {false};
	for (int i = 0; i < NROWS; i++) {
		for (int r = 0; r < QD_REASON_COUNT; r++) {
			const char *name = qd_reason_name((enum qd_reason)r);
			if (table[i].reason && strcmp(table[i].reason, name) == 0)
				seen[r] = true;
		}
	}
	/* The v2 reasons are reached by the v2 table. */
	for (int i = 0; i < NV2ROWS; i++)
		for (int r = 0; r < QD_REASON_COUNT; r++)
			if (strcmp(v2table[i].reason, qd_reason_name((enum qd_reason)r)) == 0)
				seen[r] = true;
	for (int r = 0; r < QD_REASON_COUNT; r++)
		ck_assert_msg(seen[r], "no table row decides with reason %s",
			      qd_reason_name((enum qd_reason)r));
	ck_assert_str_eq(qd_reason_name(QD_REASON_COUNT), "unknown");
}
END_TEST

/* ---- beyond the table ---- */

START_TEST(empty_store)
{
	char *dir = fx_fresh_dir();
	qd_store *st = open_store(dir);
	qd_snap *s = qd_snap_new(st);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(qd_snap_open(s), 0);

	decided d = run_query(s, "3822900000", NULL, E_OK, NULL, NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert_str_eq(json_string_value(json_object_get(d.json, "decision")), "deny");
	ck_assert_str_eq(json_string_value(json_object_get(d.json, "reason")), "not_listed");
	ck_assert(json_is_null(json_object_get(d.json, "basis")));
	json_t *results = json_object_get(d.json, "results");
	ck_assert(json_is_array(results));
	ck_assert_uint_eq(json_array_size(results), 0);
	ck_assert(!d.outcome.allow);
	ck_assert_int_eq(d.outcome.reason, QD_REASON_NOT_LISTED);
#ifdef QD_OUTCOME_LISTS_MAX
	ck_assert_uint_eq(d.outcome.n_lists, 0);
#endif
	json_decref(d.json);

	/* no entity, no lists: still not_listed */
	d = run_query(s, "38", NULL, NULL, NULL, NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert_str_eq(json_string_value(json_object_get(d.json, "reason")), "not_listed");
	json_decref(d.json);

	/* a list filter names no list */
	d = run_query(s, "3822900000", NULL, E_OK, NULL, "gba-pos");
	ck_assert_int_eq(d.rc, QD_ENOLIST);

	qd_snap_free(s);
	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

/* The query of 3822900000 for E_OK on TODAY. */
static qd_query query_3822(void)
{
	qd_query q;
	memset(&q, 0, sizeof q);
	const char *why;
	ck_assert_int_eq(qd_code_parse("3822900000", 10, &q.code, &why), 0);
	q.entity = E_OK;
	ck_assert_int_eq(qd_date_parse(TODAY, 10, &q.date), 0);
	return q;
}

/* qd_decide appends members: whatever the caller wrote first stays. */
START_TEST(decide_appends)
{
	qd_query q = query_3822();
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "{\"ref\":\"line-1\",");
	ck_assert_int_eq(qd_decide(g_snap, &q, &b, NULL), 0); /* res may be NULL */
	qd_buf_puts(&b, ",\"decision_id\":\"d-1\"}");
	json_t *j = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", qd_buf_cstr(&b));
	ck_assert_str_eq(json_string_value(json_object_get(j, "ref")), "line-1");
	ck_assert_str_eq(json_string_value(json_object_get(j, "decision_id")), "d-1");
	ck_assert_str_eq(json_string_value(json_object_get(j, "decision")), "allow");
	json_decref(j);
	qd_buf_free(&b);
}
END_TEST

/* The same snapshot answers many queries (candidates are reused). */
START_TEST(decide_repeated_on_one_snapshot)
{
	for (int round = 0; round < 3; round++) {
		decided d = run_query(g_snap, "2941100000", NULL, E_OK, NULL, NULL);
		ck_assert_int_eq(d.rc, 0);
		ck_assert_str_eq(json_string_value(json_object_get(d.json, "reason")), "expired");
		json_decref(d.json);
		d = run_query(g_snap, "9027800000", NULL, E_OK, NULL, NULL);
		ck_assert_int_eq(d.rc, 0);
		ck_assert_str_eq(json_string_value(json_object_get(d.json, "decision")), "allow");
		json_decref(d.json);
	}
}
END_TEST

/* More failing include entries than QD_NEAR_MISSES_MAX: the most
 * informative come first (reason order, then the more specific code),
 * and the list is capped. */
START_TEST(near_misses_ordered_and_capped)
{
	ck_assert_int_eq(QD_NEAR_MISSES_MAX, 20);
	const char *full = "3004900000";
	qd_buf e;
	qd_buf_init(&e);
	qd_buf_putc(&e, '[');
	/* 17 entries for other institutions, codes of every length 2..10 */
	for (int i = 0; i < 17; i++) {
		int len = 2 + i % 9;
		qd_buf_printf(&e,
			      "%s{'id':'ENE-%02d','code':'%.*s','name':{'zh':'物品'},"
			      "'entities':['HK:N%02d'],'clauses':['SH-2023-3']}",
			      i ? "," : "", i, len, full, i);
	}
	/* then, in reverse reason order, two of each for the queried institution */
	static const struct {
		const char *id, *code, *extra;
	} own[] = {
		{"REV-1", "3004", ",'status':'revoked'"},
		{"REV-2", "30049000", ",'status':'revoked'"},
		{"SUS-1", "3004", ",'status':'suspended'"},
		{"SUS-2", "300490", ",'status':'suspended'"},
		{"NYE-1", "30", ",'valid_from':'2027-01-01'"},
		{"NYE-2", "3004900000", ",'valid_from':'2027-01-01'"},
		{"EXP-1", "3004", ",'valid_to':'2026-01-01'"},
		{"EXP-2", "300490", ",'valid_to':'2026-01-01'"},
	};
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
		qd_buf_printf(&e,
			      ",{'id':'%s','code':'%s','name':{'zh':'物品'},'entities':['" E_OK
			      "'],'clauses':['SH-2023-3']%s}",
			      own[i].id, own[i].code, own[i].extra);
	qd_buf_putc(&e, ']');

	char *dir = fx_fresh_dir();
	qd_store *st = open_store(dir);
	put_ok(st, "cap-wl", "whitelist", WL_CLAUSES, "[]", qd_buf_cstr(&e), 1);
	qd_buf_free(&e);
	qd_snap *s = qd_snap_new(st);
	ck_assert_int_eq(qd_snap_open(s), 0);

	decided d = run_query(s, full, NULL, E_OK, NULL, NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert_str_eq(json_string_value(json_object_get(d.json, "decision")), "deny");
	ck_assert_str_eq(json_string_value(json_object_get(d.json, "reason")), "expired");
	ck_assert_int_eq(d.outcome.reason, QD_REASON_EXPIRED);
	json_t *res = json_array_get(json_object_get(d.json, "results"), 0);
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(json_string_value(json_object_get(res, "reason")), "expired");
	json_t *nm = json_object_get(res, "near_misses");
	ck_assert_uint_eq(json_array_size(nm), QD_NEAR_MISSES_MAX);

	/* the eight own entries first: reason order, more specific code first */
	static const char *const first[] = {
		"expired:EXP-2", "expired:EXP-1",
		"not_yet_effective:NYE-2", "not_yet_effective:NYE-1",
		"suspended:SUS-2", "suspended:SUS-1",
		"revoked:REV-2", "revoked:REV-1",
	};
	for (size_t i = 0; i < 8; i++) {
		json_t *m = json_array_get(nm, i);
		char got[64];
		snprintf(got, sizeof got, "%s:%s", json_string_value(json_object_get(m, "reason")),
			 json_string_value(json_object_get(json_object_get(m, "entry"), "id")));
		ck_assert_msg(strcmp(got, first[i]) == 0, "near_misses[%zu] is %s, expected %s", i,
			      got, first[i]);
	}
	/* then the twelve most specific of the 17 other institutions' entries */
	static const size_t lens[] = {10, 9, 9, 8, 8, 7, 7, 6, 6, 5, 5, 4};
	for (size_t i = 8; i < QD_NEAR_MISSES_MAX; i++) {
		json_t *m = json_array_get(nm, i);
		json_t *ent = json_object_get(m, "entry");
		ck_assert_str_eq(json_string_value(json_object_get(m, "reason")),
				 "entity_not_eligible");
		ck_assert_msg(strncmp(json_string_value(json_object_get(ent, "id")), "ENE-", 4) == 0,
			      "near_misses[%zu] is not an ENE entry", i);
		ck_assert_uint_eq(strlen(json_string_value(json_object_get(ent, "code"))),
				  lens[i - 8]);
	}
	json_decref(d.json);

	/* Without an entity every one of the 25 fails the same way: still capped. */
	d = run_query(s, full, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert_str_eq(json_string_value(json_object_get(d.json, "reason")), "entity_required");
	res = json_array_get(json_object_get(d.json, "results"), 0);
	nm = json_object_get(res, "near_misses");
	ck_assert_uint_eq(json_array_size(nm), QD_NEAR_MISSES_MAX);
	size_t prev = 11;
	size_t i;
	json_t *m;
	json_array_foreach(nm, i, m) {
		ck_assert_str_eq(json_string_value(json_object_get(m, "reason")), "entity_required");
		size_t len = strlen(json_string_value(
			json_object_get(json_object_get(m, "entry"), "code")));
		ck_assert_msg(len <= prev, "near_misses[%zu]: code length %zu after %zu", i, len,
			      prev);
		prev = len;
	}
	json_decref(d.json);

	/* An applicable entry: no near misses at all, even with many failures. */
	d = run_query(s, full, NULL, "HK:N08", NULL, NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert_str_eq(json_string_value(json_object_get(d.json, "decision")), "allow");
	res = json_array_get(json_object_get(d.json, "results"), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(res, "near_misses")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(res, "entry"), "id")),
			 "ENE-08");
	json_decref(d.json);

	qd_snap_free(s);
	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

/* ---- the snapshot's read cache ---- */

/* A row's query decided on s, as raw bytes (NULL when qd_decide fails:
 * *rc says how). */
static char *decide_raw(qd_snap *s, const row *r, int *rc)
{
	qd_query q;
	memset(&q, 0, sizeof q);
	const char *why;
	char entity[QD_ENTITY_MAX + 1];
	if (qd_code_parse(r->code, strlen(r->code), &q.code, &why))
		return NULL;
	if (r->ciq && qd_ciq_parse(r->ciq, strlen(r->ciq), q.code.ciq, &why))
		return NULL;
	if (r->entity) {
		if (qd_entity_parse(r->entity, strlen(r->entity), entity, &why))
			return NULL;
		q.entity = entity;
	}
	const char *ds = r->date ? r->date : TODAY;
	ck_assert_int_eq(qd_date_parse(ds, strlen(ds), &q.date), 0);
	q.list = r->list;
	qd_buf b;
	qd_buf_init(&b);
	*rc = qd_decide(s, &q, &b, NULL);
	char *out = *rc ? NULL : strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	return out;
}

/* The deciding entry's clause texts are kept in the read cache too (by
 * list, version and clause id): a snapshot that answers from it gives the
 * bytes the store holds, and after a write commits (here a new version
 * whose clause says something else) it gives the new text, not the kept
 * one. */
START_TEST(read_cache_clause_texts)
{
	static const char *const old_text = "对列入正面清单的科研物资，免于提交进口药品通关单。";
	static const char *const new_text = "正面清单所列科研物资，凭清单通关。";
	char *dir = fx_fresh_dir();
	qd_store *st = open_store(dir);
	put_ok(st, "gba-pos", "positive", POS_CLAUSES, POS_ROSTER, POS_ENTRIES, 1);
	qd_snap *cached = qd_snap_new(st), *plain = qd_snap_new(st);
	ck_assert_ptr_nonnull(cached);
	ck_assert_ptr_nonnull(plain);
	qd_snap_set_cache(plain, 0);
	const row r = {.desc = "P-FULL cites GACC-143-1", .code = "3822.1990.00", .entity = E_OK};
	char *clauses = strdup(POS_CLAUSES);
	for (int version = 1; version <= 2; version++) {
		const char *text = version == 1 ? old_text : new_text;
		ck_assert_int_eq(qd_snap_open(cached), 0);
		ck_assert_int_eq(qd_snap_open(plain), 0);
		qd_snap_cache_stats held;
		qd_snap_cache_stats_get(cached, &held);
		ck_assert_uint_eq(held.entries, 0); /* nothing kept from before the write */
		int rc = -1;
		char *want = decide_raw(plain, &r, &rc);
		ck_assert_int_eq(rc, 0);
		ck_assert_ptr_nonnull(want);
		/* Twice: read from the store and kept, then from the cache. */
		for (int pass = 0; pass < 2; pass++) {
			char *got = decide_raw(cached, &r, &rc);
			ck_assert_int_eq(rc, 0);
			ck_assert_ptr_nonnull(got);
			ck_assert_str_eq(got, want);
			/* in the basis and in the list's result */
			const char *at = strstr(got, text);
			ck_assert_msg(at && strstr(at + 1, text), "version %d pass %d: %s", version, pass, got);
			if (version == 2)
				ck_assert_msg(!strstr(got, old_text), "kept clause text after a write: %s", got);
			free(got);
		}
		qd_snap_cache_stats_get(cached, &held);
		ck_assert_uint_gt(held.entries, 0);
		free(want);
		qd_snap_close(cached);
		qd_snap_close(plain);
		if (version == 1) {
			/* Version 2: the same clause id with another text. */
			char *at = strstr(clauses, old_text);
			ck_assert_ptr_nonnull(at);
			char *doc = NULL;
			ck_assert_int_gt(asprintf(&doc, "%.*s%s%s", (int)(at - clauses), clauses, new_text,
						  at + strlen(old_text)),
					 0);
			put_ok(st, "gba-pos", "positive", doc, POS_ROSTER, POS_ENTRIES, 2);
			free(doc);
		}
	}
	free(clauses);
	qd_snap_free(cached);
	qd_snap_free(plain);
	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

/* Every table query, decided by snapshots with the cache off, at its
 * default size and so small that it keeps emptying itself, three times
 * over: the same bytes each time.  Then a write changes the answers: the
 * cached snapshots give the new ones at once. */
START_TEST(read_cache_agrees)
{
	char *dir = fx_fresh_dir();
	qd_store *st = open_store(dir);
	put_ok(st, "gba-pos", "positive", POS_CLAUSES, POS_ROSTER, POS_ENTRIES, 1);
	put_ok(st, "sh-wl", "whitelist", WL_CLAUSES, "[]", WL_ENTRIES, 1);
	enum { OFF, DEFAULT, TINY, NSNAP };
	qd_snap *s[NSNAP];
	for (int i = 0; i < NSNAP; i++) {
		s[i] = qd_snap_new(st);
		ck_assert_ptr_nonnull(s[i]);
	}
	qd_snap_set_cache(s[OFF], 0);
	qd_snap_set_cache(s[TINY], 4096); /* room for a few answers only */

	static const char *const before_head = "\"decision\":\"allow\",\"reason\":\"listed\"";
	for (int phase = 0; phase < 2; phase++) {
		for (int i = 0; i < NSNAP; i++)
			ck_assert_int_eq(qd_snap_open(s[i]), 0);
		int compared = 0;
		for (int pass = 0; pass < 3; pass++) {
			for (int k = 0; k < NROWS; k++) {
				int rc0 = 0;
				char *want = decide_raw(s[OFF], &table[k], &rc0);
				for (int i = DEFAULT; i < NSNAP; i++) {
					int rc = 0;
					char *got = decide_raw(s[i], &table[k], &rc);
					ck_assert_msg(rc == rc0, "phase %d pass %d row %d (%s): rc %d, uncached %d",
						      phase, pass, k, table[k].desc, rc, rc0);
					ck_assert_msg((!want && !got) || (want && got && strcmp(want, got) == 0),
						      "phase %d pass %d row %d (%s), snapshot %d:\n%s\nuncached:\n%s",
						      phase, pass, k, table[k].desc, i, got ? got : "(none)",
						      want ? want : "(none)");
					free(got);
					compared++;
				}
				/* The first row is the heading include: listed before the
				 * write, revoked after it. */
				if (k == 0 && want) {
					ck_assert_msg((strstr(want, before_head) == want) == (phase == 0),
						      "phase %d: %s", phase, want);
				}
				free(want);
			}
		}
		ck_assert_int_eq(compared, 3 * NROWS * 2);
		qd_snap_cache_stats held;
		for (int i = 0; i < NSNAP; i++)
			qd_snap_close(s[i]);
		/* Reopened with no write since: the answers are still there. */
		ck_assert_int_eq(qd_snap_open(s[DEFAULT]), 0);
		qd_snap_cache_stats_get(s[DEFAULT], &held);
		ck_assert_uint_gt(held.entries, 0);
		qd_snap_close(s[DEFAULT]);
		if (phase == 0) {
			/* A new version: the heading entry revoked, the roster
			 * member suspended. */
			qd_buf ent;
			qd_buf_init(&ent);
			qd_buf_puts(&ent, POS_ENTRIES);
			char *v = fx_dq(ent.data);
			qd_buf_free(&ent);
			char *at = strstr(v, "\"valid_from\":\"2022-09-20\"");
			ck_assert_ptr_nonnull(at);
			char *doc = NULL;
			ck_assert_int_gt(asprintf(&doc, "%.*s\"status\":\"revoked\",%s", (int)(at - v), v, at), 0);
			free(v);
			/* back to the single quotes put_ok() expects */
			for (char *c = doc; *c; c++)
				if (*c == '"')
					*c = '\'';
			put_ok(st, "gba-pos", "positive", POS_CLAUSES, POS_ROSTER, doc, 2);
			free(doc);
			/* A committed write: the map pages the cache refers to may be
			 * reused, so the next open forgets everything. */
			ck_assert_int_eq(qd_snap_open(s[DEFAULT]), 0);
			qd_snap_cache_stats_get(s[DEFAULT], &held);
			ck_assert_uint_eq(held.entries, 0);
			qd_snap_close(s[DEFAULT]);
		}
	}

	qd_snap_cache_stats cs[NSNAP];
	for (int i = 0; i < NSNAP; i++)
		qd_snap_cache_stats_get(s[i], &cs[i]);
	ck_assert_uint_eq(cs[OFF].hits + cs[OFF].misses + cs[OFF].resets, 0);
	/* Passes 2 and 3 of each phase find every code and entity again. */
	ck_assert_uint_gt(cs[DEFAULT].hits, 2 * cs[DEFAULT].misses);
	ck_assert_uint_eq(cs[DEFAULT].resets, 0);
	ck_assert_uint_gt(cs[TINY].resets, 0);
	ck_assert_uint_gt(cs[TINY].hits, 0);

	for (int i = 0; i < NSNAP; i++)
		qd_snap_free(s[i]);
	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

/* A handle holds each version's clause texts and small roster with its
 * lists (qd_snap_cache_stats: held_clauses, held_members) and reads a
 * bigger one from the store.  The same lists, once as they are and once
 * with 300 more clauses and 2 100 more roster members (nothing the table
 * asks about), give every table row the same bytes, the cache off: what
 * is held answers as the store does.  After a write, what is held is the
 * new version's. */
START_TEST(held_tables_agree_with_the_store)
{
	qd_buf pc, pr;
	qd_buf_init(&pc);
	qd_buf_init(&pr);
	qd_buf_add(&pc, POS_CLAUSES, strlen(POS_CLAUSES) - 1); /* without its ']' */
	for (int i = 0; i < 300; i++)
		qd_buf_printf(&pc, ",{'id':'PAD-%03d','document':'示例','article':'%d','text':'示例条款。'}", i, i);
	qd_buf_putc(&pc, ']');
	qd_buf_add(&pr, POS_ROSTER, strlen(POS_ROSTER) - 1);
	for (int i = 0; i < 2100; i++)
		qd_buf_printf(&pr, ",{'id':'PAD:M-%04d','name':{'zh':'示例机构'}}", i);
	qd_buf_putc(&pr, ']');

	char *dir[2] = {fx_fresh_dir(), fx_fresh_dir()};
	qd_store *st[2];
	qd_snap *s[2];
	for (int i = 0; i < 2; i++) {
		st[i] = open_store(dir[i]);
		put_ok(st[i], "gba-pos", "positive", i ? pc.data : POS_CLAUSES, i ? pr.data : POS_ROSTER,
		       POS_ENTRIES, 1);
		put_ok(st[i], "sh-wl", "whitelist", WL_CLAUSES, "[]", WL_ENTRIES, 1);
		s[i] = qd_snap_new(st[i]);
		ck_assert_ptr_nonnull(s[i]);
		qd_snap_set_cache(s[i], 0);
	}
	int compared = 0, allowed = 0;
	for (int k = 0; k < NROWS; k++) {
		int rc[2];
		char *got[2];
		for (int i = 0; i < 2; i++) {
			ck_assert_int_eq(qd_snap_open(s[i]), 0);
			got[i] = decide_raw(s[i], &table[k], &rc[i]);
			qd_snap_close(s[i]);
		}
		ck_assert_msg(rc[0] == rc[1], "row %d (%s): rc %d held, %d read", k, table[k].desc, rc[0], rc[1]);
		ck_assert_msg((!got[0] && !got[1]) || (got[0] && got[1] && strcmp(got[0], got[1]) == 0),
			      "row %d (%s):\nheld: %s\nread: %s", k, table[k].desc, got[0] ? got[0] : "(none)",
			      got[1] ? got[1] : "(none)");
		if (got[0]) {
			compared++;
			allowed += strstr(got[0], "\"decision\":\"allow\"") == got[0];
		}
		free(got[0]);
		free(got[1]);
	}
	ck_assert_int_gt(compared, NROWS / 2);
	ck_assert_int_gt(allowed, 0);
	qd_snap_cache_stats cs[2];
	for (int i = 0; i < 2; i++)
		qd_snap_cache_stats_get(s[i], &cs[i]);
	ck_assert_uint_eq(cs[0].held_clauses, 4); /* both lists' two */
	ck_assert_uint_eq(cs[0].held_members, 5); /* gba-pos's roster; sh-wl has none */
	ck_assert_uint_eq(cs[1].held_clauses, 2); /* sh-wl's: gba-pos has 302 */
	ck_assert_uint_eq(cs[1].held_members, 0); /* 2 105 members: read from the store */

	/* A new version whose roster suspends E_OK: held, and decided by. */
	static const char ok_member[] = "{'id':'" E_OK "','name':{'zh':'示例研究院'}}";
	const char *at = strstr(POS_ROSTER, ok_member);
	ck_assert_ptr_nonnull(at);
	char *nr = NULL;
	ck_assert_int_gt(asprintf(&nr, "%.*s{'id':'" E_OK "','name':{'zh':'示例研究院'},'status':'suspended'}%s",
				  (int)(at - POS_ROSTER), POS_ROSTER, at + strlen(ok_member)),
			 0);
	put_ok(st[0], "gba-pos", "positive", POS_CLAUSES, nr, POS_ENTRIES, 2);
	free(nr);
	const row r = {.desc = "P-FULL for E_OK", .code = "3822.1990.00", .entity = E_OK, .list = "gba-pos"};
	ck_assert_int_eq(qd_snap_open(s[0]), 0);
	int rc = -1;
	char *after = decide_raw(s[0], &r, &rc);
	qd_snap_close(s[0]);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(after);
	ck_assert_msg(strstr(after, "\"decision\":\"deny\",\"reason\":\"entity_not_eligible\"") == after,
		      "after the write: %s", after);
	free(after);
	qd_snap_cache_stats_get(s[0], &cs[0]);
	ck_assert_uint_eq(cs[0].held_members, 5);

	for (int i = 0; i < 2; i++) {
		qd_snap_free(s[i]);
		qd_store_close(st[i]);
		fx_rm_rf(dir[i]);
		free(dir[i]);
	}
	qd_buf_free(&pc);
	qd_buf_free(&pr);
}
END_TEST

/* ---- batches (qd_batch) ---- */

/* The daemon's default bound on the items of one check. */
#define CHECK_ITEMS_MAX 1000

/* One query of a batch test, as a user writes it. */
typedef struct bq {
	const char *code, *ciq, *entity, *date, *list;
	uint32_t version;   /* with list: that version */
	int64_t at;         /* 0: no at */
	int rc;             /* what deciding it returns */
	const char *decision, *reason; /* expected; NULL: not checked (an error) */
} bq;

/* A parsed query with the storage its strings point into. */
typedef struct pq {
	qd_query q;
	char entity[QD_ENTITY_MAX + 1];
} pq;

/* Parse and normalise as the daemon does; false when the code or CIQ is
 * invalid (the daemon answers such an item with an error of its own and
 * does not decide it). */
static bool parse_bq(const bq *b, pq *p)
{
	memset(p, 0, sizeof *p);
	const char *why;
	if (qd_code_parse(b->code, strlen(b->code), &p->q.code, &why))
		return false;
	if (b->ciq) {
		/* given twice (13-digit code and ciq), or malformed */
		if (p->q.code.ciq[0] || qd_ciq_parse(b->ciq, strlen(b->ciq), p->q.code.ciq, &why))
			return false;
	}
	if (p->q.code.ciq[0] && p->q.code.len != QD_CODE_MAX)
		return false;
	if (b->entity) {
		ck_assert_msg(qd_entity_parse(b->entity, strlen(b->entity), p->entity, &why) == 0,
			      "entity %s: %s", b->entity, why);
		p->q.entity = p->entity;
	}
	const char *ds = b->date ? b->date : TODAY;
	ck_assert_int_eq(qd_date_parse(ds, strlen(ds), &p->q.date), 0);
	p->q.list = b->list;
	p->q.version = b->version;
	p->q.has_at = b->at != 0;
	p->q.at = b->at;
	return true;
}

/* A table row as a batch query (the row's expectations included). */
static bq bq_of_row(const row *r)
{
	return (bq){r->code, r->ciq, r->entity, r->date, r->list, 0, 0, r->rc, r->decision, r->reason};
}

/* What deciding one query alone gives. */
typedef struct single {
	int rc;
	char *bytes;        /* NULL unless rc == 0 */
	qd_outcome o;
} single;

static single decide_alone(qd_snap *s, const qd_query *q)
{
	single a;
	memset(&a, 0, sizeof a);
	qd_buf b;
	qd_buf_init(&b);
	a.rc = qd_decide(s, q, &b, &a.o);
	ck_assert(!b.oom);
	if (a.rc == 0)
		a.bytes = strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	return a;
}

static void expect_same_outcome(const char *ctx, const qd_outcome *got, const qd_outcome *want)
{
	ck_assert_msg(got->allow == want->allow && got->reason == want->reason,
		      "%s: outcome %d/%s, alone %d/%s", ctx, got->allow, qd_reason_name(got->reason),
		      want->allow, qd_reason_name(want->reason));
	ck_assert_msg(got->n_lists == want->n_lists, "%s: %u lists, alone %u", ctx, got->n_lists,
		      want->n_lists);
	for (unsigned i = 0; i < want->n_lists && i < QD_OUTCOME_LISTS_MAX; i++) {
		const struct qd_list_outcome *g = &got->lists[i], *w = &want->lists[i];
		ck_assert_msg(strcmp(g->id, w->id) == 0 && g->version == w->version &&
				      g->allow == w->allow && g->reason == w->reason,
			      "%s: list %u is %s v%u %d/%s, alone %s v%u %d/%s", ctx, i, g->id, g->version,
			      g->allow, qd_reason_name(g->reason), w->id, w->version, w->allow,
			      qd_reason_name(w->reason));
	}
}

/* Decide items qs[order[0..n)] as one batch keeping at most keep distinct
 * items, the way POST /v1/check does: each decided item wrapped as
 * {"ref":k,…}, an item the caller finds invalid answered with its own
 * error member and not decided.  Every item must give what deciding it
 * alone gives (return, bytes, outcome), in request order; its expected
 * decision and reason, when given, are checked in the JSON.  Returns how
 * many items were decided. */
static size_t check_batch(qd_snap *s, const bq *qs, size_t nq, const size_t *order, size_t n,
			  size_t keep)
{
	pq *p = calloc(nq, sizeof *p);
	bool *valid = calloc(nq, sizeof *valid);
	single *alone = calloc(nq, sizeof *alone);
	ck_assert(p && valid && alone);
	for (size_t k = 0; k < nq; k++) {
		valid[k] = parse_bq(&qs[k], &p[k]);
		if (valid[k])
			alone[k] = decide_alone(s, &p[k].q);
	}

	qd_buf out, want;
	qd_buf_init(&out);
	qd_buf_init(&want);
	qd_buf_putc(&out, '[');
	qd_buf_putc(&want, '[');
	qd_batch *b = qd_batch_new(s, &out, keep);
	ck_assert_ptr_nonnull(b);
	size_t n_decided = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = order[i];
		const bq *e = &qs[k];
		char ctx[160];
		snprintf(ctx, sizeof ctx, "item %zu (query %zu: %s ciq %s entity %s date %s list %s v%u at %lld)",
			 i, k, e->code, e->ciq ? e->ciq : "-", e->entity ? e->entity : "-",
			 e->date ? e->date : "-", e->list ? e->list : "-", e->version, (long long)e->at);
		qd_buf_printf(&out, "%s{\"ref\":%zu", i ? "," : "", i);
		qd_buf_printf(&want, "%s{\"ref\":%zu", i ? "," : "", i);
		if (!valid[k]) {
			ck_assert_msg(e->rc == QD_EINVAL, "%s: does not parse", ctx);
			qd_buf_puts(&out, ",\"error\":\"bad_item\"}");
			qd_buf_puts(&want, ",\"error\":\"bad_item\"}");
			continue;
		}
		qd_buf_putc(&out, ',');
		size_t at = out.len;
		qd_outcome o;
		memset(&o, 0xa5, sizeof o);
		int rc = qd_batch_decide(b, &p[k].q, &o);
		ck_assert_msg(rc == alone[k].rc, "%s: returns %d, alone %d", ctx, rc, alone[k].rc);
		ck_assert_msg(rc == e->rc, "%s: returns %d (%s), expected %d", ctx, rc, qd_strerror(rc), e->rc);
		if (rc) {
			/* The item's error is its own: nothing of it in the buffer. */
			ck_assert_msg(out.len == at, "%s: failed, yet left %zu bytes", ctx, out.len - at);
			out.len--;
			qd_buf_puts(&out, ",\"error\":\"failed\"}");
			qd_buf_puts(&want, ",\"error\":\"failed\"}");
			continue;
		}
		n_decided++;
		ck_assert_msg(out.len - at == strlen(alone[k].bytes) &&
				      memcmp(out.data + at, alone[k].bytes, out.len - at) == 0,
			      "%s: in the batch\n%.*s\nalone\n%s", ctx, (int)(out.len - at), out.data + at,
			      alone[k].bytes);
		expect_same_outcome(ctx, &o, &alone[k].o);
		qd_buf_putc(&out, '}');
		qd_buf_putc(&want, ',');
		qd_buf_puts(&want, alone[k].bytes);
		qd_buf_putc(&want, '}');
		if (e->decision) {
			char *obj = NULL;
			ck_assert_int_gt(asprintf(&obj, "{%s}", alone[k].bytes), 0);
			json_t *j = json_loads(obj, 0, NULL);
			ck_assert_msg(j != NULL, "%s: not JSON", ctx);
			expect_str(ctx, "decision", jstr(ctx, j, "decision"), e->decision);
			expect_str(ctx, "reason", jstr(ctx, j, "reason"), e->reason);
			json_decref(j);
			free(obj);
		}
	}
	qd_buf_putc(&out, ']');
	qd_buf_putc(&want, ']');
	ck_assert(!out.oom && !want.oom);
	/* Request order, and no item's bytes disturbed by a later one. */
	ck_assert_msg(out.len == want.len && memcmp(out.data, want.data, out.len) == 0,
		      "the batch's buffer differs from the items decided alone, in order");
	json_error_t je;
	json_t *all = json_loadb(out.data, out.len, JSON_REJECT_DUPLICATES, &je);
	ck_assert_msg(all != NULL, "the batch is not JSON: %s at %d", je.text, je.position);
	ck_assert_uint_eq(json_array_size(all), n);
	json_decref(all);

	qd_batch_free(b);
	qd_buf_free(&out);
	qd_buf_free(&want);
	for (size_t k = 0; k < nq; k++)
		free(alone[k].bytes);
	free(alone);
	free(valid);
	free(p);
	return n_decided;
}

/* Every table query in one batch, then again in the same order, then in
 * reverse: each repeat says what deciding it alone says, in request order;
 * the unknown-list rows fail alone, every time. */
START_TEST(batch_table)
{
	bq *qs = calloc(NROWS, sizeof *qs);
	size_t *order = calloc(3 * NROWS, sizeof *order);
	ck_assert(qs && order);
	size_t n_err = 0;
	for (int k = 0; k < NROWS; k++) {
		qs[k] = bq_of_row(&table[k]);
		n_err += table[k].rc != 0;
		order[k] = order[NROWS + k] = (size_t)k;
		order[3 * NROWS - 1 - k] = (size_t)k;
	}
	ck_assert_uint_gt(n_err, 0);
	size_t n_decided = check_batch(g_snap, qs, NROWS, order, 3 * NROWS, 3 * NROWS);
	ck_assert_uint_eq(n_decided, 3 * (NROWS - n_err));
	free(order);
	free(qs);
}
END_TEST

/* Items that share a code but differ in anything else a query asks are
 * different items: none takes another's answer, however they interleave. */
static const bq distinct[] = {
	{"3822900000", NULL, E_OK, NULL, NULL, 0, 0, 0, "allow", "listed"},
	{"3822900000", NULL, NULL, NULL, NULL, 0, 0, 0, "deny", "entity_required"},
	{"3822900000", NULL, E_SUSP, NULL, NULL, 0, 0, 0, "deny", "entity_not_eligible"},
	{"3822900000", NULL, E_EDGE, "2026-11-26", NULL, 0, 0, 0, "allow", "listed"},
	{"3822900000", NULL, E_EDGE, "2026-11-27", NULL, 0, 0, 0, "deny", "entity_not_eligible"},
	{"3822900000", NULL, E_OK, NULL, "sh-wl", 0, 0, 0, "deny", "not_listed"},
	{"3822900000", NULL, E_OK, NULL, "gba-pos", 0, 0, 0, "allow", "listed"},
	{"3822900000", NULL, E_OK, NULL, "gba-pos", 1, 0, 0, "allow", "listed"},
	{"3822900000", NULL, E_OK, NULL, "gba-pos", 2, 0, 0, "allow", "listed"},
	{"3822900000", NULL, E_OK, NULL, NULL, 0, 1795000000, 0, "allow", "listed"},
	{"3822900000", NULL, E_OK, NULL, "gba-pos", 0, 1795000000, 0, "allow", "listed"},
	{"3822900000", NULL, E_OK, NULL, NULL, 0, 1700000000, 0, "deny", "not_listed"},
	{"3002150010", "101", E_OK, NULL, NULL, 0, 0, 0, "allow", "listed"},
	{"3002150010", "102", E_OK, NULL, NULL, 0, 0, 0, "deny", "excluded"},
	{"3002150010", NULL, E_OK, NULL, NULL, 0, 0, 0, "deny", "excluded"},
	{"30021500", NULL, E_OK, NULL, NULL, 0, 0, 0, "deny", "not_listed"},
	{"9022000000", NULL, E_OK, "2026-11-25", NULL, 0, 0, 0, "deny", "not_yet_effective"},
	{"9022000000", NULL, E_OK, "2026-11-26", NULL, 0, 0, 0, "allow", "listed"},
	{"9022000000", NULL, E_OK, "2027-01-01", NULL, 0, 0, 0, "deny", "expired"},
};
#define NDISTINCT (sizeof distinct / sizeof distinct[0])

START_TEST(batch_distinct_items)
{
	size_t order[4 * NDISTINCT];
	for (size_t k = 0; k < NDISTINCT; k++) {
		order[k] = k;                              /* in turn */
		order[NDISTINCT + k] = NDISTINCT - 1 - k;  /* reversed */
		order[2 * NDISTINCT + 2 * k] = k;          /* each twice running */
		order[2 * NDISTINCT + 2 * k + 1] = k;
	}
	ck_assert_uint_eq(check_batch(g_snap, distinct, NDISTINCT, order, 4 * NDISTINCT, 4 * NDISTINCT),
			  4 * NDISTINCT);
}
END_TEST

/* Errors are per item, as POST /v1/check answers them: an item whose code
 * or CIQ is invalid is answered alone by the caller and not decided; an
 * item that asks for no list or no version fails alone, every time it
 * comes, and leaves nothing in the buffer; the items around them are
 * decided as if they were not there. */
static const bq with_errors[] = {
	{"3822.1900.90", NULL, E_OK, NULL, NULL, 0, 0, 0, "allow", "listed"},
	{"38AB", NULL, E_OK, NULL, NULL, 0, 0, QD_EINVAL, NULL, NULL},
	{"0106190090101", "101", E_OK, NULL, NULL, 0, 0, QD_EINVAL, NULL, NULL},
	{"3822900000", NULL, E_OK, NULL, "no-such-list", 0, 0, QD_ENOLIST, NULL, NULL},
	{"3822900000", NULL, E_OK, NULL, "gba-pos", 3, 0, QD_ENOVERSION, NULL, NULL},
	{"3822900000", NULL, E_OK, NULL, "no-such-list", 0, 1795000000, QD_ENOLIST, NULL, NULL},
	{"8471300000", NULL, E_OK, NULL, NULL, 0, 0, 0, "deny", "not_listed"},
	{"3822900000", NULL, E_OK, NULL, "gba-pos", 2, 0, 0, "allow", "listed"},
};
#define NERRORS (sizeof with_errors / sizeof with_errors[0])

START_TEST(batch_errors_per_item)
{
	size_t order[3 * NERRORS];
	for (size_t k = 0; k < 3 * NERRORS; k++)
		order[k] = (k * 5) % NERRORS; /* 5 and NERRORS coprime: every item, shuffled */
	ck_assert_uint_eq(check_batch(g_snap, with_errors, NERRORS, order, 3 * NERRORS, 3 * NERRORS),
			  3 * 3);
}
END_TEST

/* A check of the largest size the daemon takes by default, repeats and
 * distinct items mixed (the table's and the ones above), kept in full; then
 * the same with room for a few items only: those past it are decided each
 * time, with the same answers. */
START_TEST(batch_max_size)
{
	size_t nq = NROWS + NDISTINCT + NERRORS;
	bq *qs = calloc(nq, sizeof *qs);
	size_t *order = calloc(CHECK_ITEMS_MAX, sizeof *order);
	ck_assert(qs && order);
	for (int k = 0; k < NROWS; k++)
		qs[k] = bq_of_row(&table[k]);
	memcpy(qs + NROWS, distinct, sizeof distinct);
	memcpy(qs + NROWS + NDISTINCT, with_errors, sizeof with_errors);
	/* A fixed pseudo-random draw: runs repeat, and every query comes. */
	uint32_t x = 12345;
	for (size_t i = 0; i < CHECK_ITEMS_MAX; i++) {
		x = x * 1103515245u + 12345u;
		order[i] = i < nq ? i : (x >> 8) % nq;
	}
	size_t n_decided = check_batch(g_snap, qs, nq, order, CHECK_ITEMS_MAX, CHECK_ITEMS_MAX);
	ck_assert_uint_gt(n_decided, CHECK_ITEMS_MAX / 2);
	ck_assert_uint_eq(check_batch(g_snap, qs, nq, order, CHECK_ITEMS_MAX, 4), n_decided);
	free(order);
	free(qs);
}
END_TEST

/* The caller may cut its buffer back under items the batch kept, even
 * write other decisions where they were: they are then decided afresh,
 * not copied from bytes that are gone, and kept anew. */
START_TEST(batch_buffer_cut_back)
{
	pq a, c;
	ck_assert(parse_bq(&distinct[0], &a));
	ck_assert(parse_bq(&distinct[1], &c));
	single alone_a = decide_alone(g_snap, &a.q);
	single alone_c = decide_alone(g_snap, &c.q);
	ck_assert_int_eq(alone_a.rc, 0);
	ck_assert_int_eq(alone_c.rc, 0);
	size_t la = strlen(alone_a.bytes), lc = strlen(alone_c.bytes);
	qd_buf out;
	qd_buf_init(&out);
	qd_batch *b = qd_batch_new(g_snap, &out, 8);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(qd_batch_decide(b, &a.q, NULL), 0);
	ck_assert_int_eq(qd_batch_decide(b, &c.q, NULL), 0);
	qd_buf_reset(&out);
	qd_outcome o;
	ck_assert_int_eq(qd_batch_decide(b, &c.q, &o), 0);
	expect_same_outcome("cut back, c", &o, &alone_c.o);
	ck_assert_int_eq(qd_batch_decide(b, &a.q, &o), 0);
	expect_same_outcome("cut back, a", &o, &alone_a.o);
	ck_assert_uint_eq(out.len, lc + la);
	ck_assert(memcmp(out.data, alone_c.bytes, lc) == 0);
	ck_assert(memcmp(out.data + lc, alone_a.bytes, la) == 0);
	/* cut to a length between kept items, then repeats */
	out.len = lc;
	ck_assert_int_eq(qd_batch_decide(b, &a.q, NULL), 0);
	ck_assert_int_eq(qd_batch_decide(b, &c.q, NULL), 0);
	ck_assert_int_eq(qd_batch_decide(b, &a.q, &o), 0);
	expect_same_outcome("cut back, repeated", &o, &alone_a.o);
	ck_assert_uint_eq(out.len, 2 * lc + 2 * la);
	ck_assert(memcmp(out.data + lc, alone_a.bytes, la) == 0);
	ck_assert(memcmp(out.data + lc + la, alone_c.bytes, lc) == 0);
	ck_assert(memcmp(out.data + 2 * lc + la, alone_a.bytes, la) == 0);
	qd_batch_free(b);
	qd_batch_free(NULL);
	qd_buf_free(&out);
	free(alone_a.bytes);
	free(alone_c.bytes);
}
END_TEST

/* One batch asked the same item in both views: each answer is what
 * deciding it alone in that view gives — a repeat is never the other
 * view's bytes — and both views come to the same outcome. */
START_TEST(batch_views)
{
	pq a;
	ck_assert(parse_bq(&distinct[0], &a));
	qd_query brief = a.q;
	brief.brief = true;
	single full_alone = decide_alone(g_snap, &a.q);
	single brief_alone = decide_alone(g_snap, &brief);
	ck_assert_int_eq(full_alone.rc, 0);
	ck_assert_int_eq(brief_alone.rc, 0);
	size_t lf = strlen(full_alone.bytes), lb = strlen(brief_alone.bytes);
	ck_assert_msg(lb < lf && !strstr(brief_alone.bytes, "\"query\""), "not a brief rendering: %s",
		      brief_alone.bytes);
	expect_same_outcome("brief alone", &brief_alone.o, &full_alone.o);
	qd_buf out;
	qd_buf_init(&out);
	qd_batch *b = qd_batch_new(g_snap, &out, 8);
	ck_assert_ptr_nonnull(b);
	qd_outcome o;
	const qd_query *order[] = {&brief, &a.q, &brief, &a.q};
	size_t at = 0;
	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(qd_batch_decide(b, order[i], &o), 0);
		expect_same_outcome("batch", &o, &full_alone.o);
		const single *want = order[i] == &brief ? &brief_alone : &full_alone;
		size_t n = order[i] == &brief ? lb : lf;
		ck_assert_uint_eq(out.len, at + n);
		ck_assert_msg(memcmp(out.data + at, want->bytes, n) == 0, "item %zu: not its view's rendering", i);
		at += n;
	}
	qd_batch_free(b);
	qd_buf_free(&out);
	free(full_alone.bytes);
	free(brief_alone.bytes);
}
END_TEST

/* ---- pins: the lists and versions a receipt names ---- */

/* Decide code for E_OK on s pinned to pins; the decision parsed into *j
 * when it succeeds. */
static int decide_pinned(qd_snap *s, const qd_pin *pins, size_t n, qd_outcome *o, json_t **j)
{
	qd_query q = query_3822();
	q.pins = pins;
	q.n_pins = n;
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_putc(&b, '{');
	int rc = qd_decide(s, &q, &b, o);
	qd_buf_putc(&b, '}');
	*j = rc ? NULL : json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
	ck_assert(rc || *j);
	qd_buf_free(&b);
	return rc;
}

static const char *basis_entry(json_t *j)
{
	json_t *basis = json_object_get(j, "basis");
	return json_is_null(basis) ? NULL : json_string_value(json_object_get(json_object_get(basis, "entry"), "id"));
}

START_TEST(decide_pins)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_retain(dir, 2);
	put_ok(st, "pin-pos", "positive", POS_CLAUSES, POS_ROSTER, "[" PI("P-A", "3822", "") "]", 1);
	put_ok(st, "pin-pos", "positive", POS_CLAUSES, POS_ROSTER, "[" PI("P-B", "9027", "") "]", 2);
	put_ok(st, "pin-z", "positive", POS_CLAUSES, POS_ROSTER, "[" PI("P-Z", "3822.90", "") "]", 1);
	qd_snap *s = qd_snap_new(st);
	ck_assert_int_eq(qd_snap_open(s), 0);
	qd_outcome o;
	json_t *j;

	/* Version 1 allowed what the current version 2 does not list. */
	ck_assert_int_eq(decide_pinned(s, (qd_pin[]){{"pin-pos", 1}}, 1, &o, &j), 0);
	ck_assert(o.allow);
	ck_assert_uint_eq(o.n_lists, 1);
	ck_assert_uint_eq(o.lists[0].version, 1);
	ck_assert_str_eq(basis_entry(j), "P-A");
	json_decref(j);
	ck_assert_int_eq(decide_pinned(s, (qd_pin[]){{"pin-pos", 2}}, 1, &o, &j), 0);
	ck_assert(!o.allow);
	ck_assert_int_eq(o.reason, QD_REASON_NOT_LISTED);
	json_decref(j);

	/* Exactly the pinned lists, in the pins' order: pin-z's version 1
	 * decides though pin-pos comes first by id. */
	ck_assert_int_eq(decide_pinned(s, (qd_pin[]){{"pin-z", 1}, {"pin-pos", 2}}, 2, &o, &j), 0);
	ck_assert(o.allow);
	ck_assert_uint_eq(o.n_lists, 2);
	ck_assert_str_eq(o.lists[0].id, "pin-z");
	ck_assert_str_eq(o.lists[1].id, "pin-pos");
	ck_assert_str_eq(basis_entry(j), "P-Z");
	ck_assert_uint_eq(json_array_size(json_object_get(j, "results")), 2);
	json_decref(j);

	/* Unknown list, a version never stored, too many pins. */
	ck_assert_int_eq(decide_pinned(s, (qd_pin[]){{"pin-z", 1}, {"no-such", 1}}, 2, &o, &j), QD_ENOLIST);
	ck_assert_int_eq(decide_pinned(s, (qd_pin[]){{"pin-pos", 9}}, 1, &o, &j), QD_ENOVERSION);
	qd_pin many[QD_PINS_MAX + 1];
	for (size_t i = 0; i < QD_PINS_MAX + 1; i++)
		many[i] = (qd_pin){"pin-z", 1};
	ck_assert_int_eq(decide_pinned(s, many, QD_PINS_MAX + 1, &o, &j), QD_EINVAL);

	/* A batch decides a pinned item each time: the same code under other
	 * pins gets its own answer. */
	qd_buf b;
	qd_buf_init(&b);
	qd_batch *batch = qd_batch_new(s, &b, 4);
	qd_query q = query_3822();
	q.pins = (qd_pin[]){{"pin-pos", 1}};
	q.n_pins = 1;
	ck_assert_int_eq(qd_batch_decide(batch, &q, &o), 0);
	ck_assert(o.allow);
	q.pins = (qd_pin[]){{"pin-pos", 2}};
	ck_assert_int_eq(qd_batch_decide(batch, &q, &o), 0);
	ck_assert(!o.allow);
	qd_batch_free(batch);
	qd_buf_free(&b);

	/* Version 1 pruned (two versions kept): gone. */
	qd_snap_close(s);
	put_ok(st, "pin-pos", "positive", POS_CLAUSES, POS_ROSTER, "[" PI("P-B", "9027", "") "]", 3);
	ck_assert_int_eq(qd_snap_open(s), 0);
	ck_assert_int_eq(decide_pinned(s, (qd_pin[]){{"pin-pos", 1}}, 1, &o, &j), QD_EGONE);
	ck_assert_int_eq(decide_pinned(s, (qd_pin[]){{"pin-pos", 2}}, 1, &o, &j), 0);
	json_decref(j);

	qd_snap_free(s);
	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

static Suite *decide_suite(void)
{
	Suite *s = suite_create("unit");

	TCase *tc = tcase_create("decide_table");
	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_checked_fixture(tc, lists_setup, lists_teardown);
	tcase_add_loop_test(tc, decide_table, 0, NROWS);
	tcase_add_test(tc, decide_appends);
	tcase_add_test(tc, decide_repeated_on_one_snapshot);
	suite_add_tcase(s, tc);

	TCase *tm = tcase_create("decide");
	tcase_add_unchecked_fixture(tm, root_setup, root_teardown);
	tcase_add_test(tm, table_reaches_every_reason);
	tcase_add_test(tm, empty_store);
	tcase_add_test(tm, near_misses_ordered_and_capped);
	tcase_add_test(tm, read_cache_agrees);
	tcase_add_test(tm, read_cache_clause_texts);
	tcase_add_test(tm, held_tables_agree_with_the_store);
	tcase_add_test(tm, decide_pins);
	suite_add_tcase(s, tm);

	TCase *tb = tcase_create("batch");
	tcase_add_unchecked_fixture(tb, root_setup, root_teardown);
	tcase_add_checked_fixture(tb, lists_setup, lists_teardown);
	tcase_add_test(tb, batch_table);
	tcase_add_test(tb, batch_distinct_items);
	tcase_add_test(tb, batch_errors_per_item);
	tcase_add_test(tb, batch_max_size);
	tcase_add_test(tb, batch_buffer_cut_back);
	tcase_add_test(tb, batch_views);
	suite_add_tcase(s, tb);

	TCase *tv = tcase_create("decide-v2");
	tcase_add_unchecked_fixture(tv, root_setup, root_teardown);
	tcase_add_checked_fixture(tv, v2_setup, v2_teardown);
	tcase_add_loop_test(tv, decide_v2_table, 0, NV2ROWS);
	tcase_add_test(tv, decide_v2_bad_declared);
	tcase_add_test(tv, decide_v2_compressed_same);
	tcase_add_test(tv, decide_v2_as_of_scope);
	tcase_add_test(tv, decide_v2_batch_declared);
	suite_add_tcase(s, tv);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(decide_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
