/* Unit tests: list document parsing, validation and canonical form
 * (src/lib/listdoc/, src/lib/problems.c). */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qingdan/err.h"
#include "qingdan/jsonw.h"
#include "fixture.h"
#include "qingdan/listdoc.h"
#include "qingdan/problems.h"
#include "qingdan/sha256.h"

/* ---- helpers ------------------------------------------------------------ */

static char *read_fixture(const char *name, size_t *len)
{
	const char *root = getenv("QD_SOURCE_ROOT");
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	/* A bare name is one of ours; a path is relative to the source root. */
	if (strchr(name, '/') != NULL)
		snprintf(path, sizeof(path), "%s/%s", root ? root : ".", name);
	else
		snprintf(path, sizeof(path), "%s/tests/data/listdoc/%s", root ? root : ".", name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s (set QD_SOURCE_ROOT)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static json_t *fixture_json(const char *name)
{
	size_t len;
	char *buf = read_fixture(name, &len);
	json_error_t err;
	json_t *j = json_loadb(buf, len, 0, &err);

	ck_assert_msg(j != NULL, "%s: %s", name, err.text);
	free(buf);
	return j;
}

/* Set (or with val NULL, delete) the value at a simple JSON Pointer in
 * root; steals val. Array indexes may address one past the end (append). */
static void jset(json_t *root, const char *ptr, json_t *val)
{
	char buf[256];
	char *seg, *next;
	json_t *cur = root;

	snprintf(buf, sizeof(buf), "%s", ptr + 1);
	seg = buf;
	for (;;) {
		next = strchr(seg, '/');
		if (next)
			*next = '\0';
		if (next == NULL) {
			if (json_is_array(cur)) {
				size_t i = strtoul(seg, NULL, 10);

				if (val == NULL)
					json_array_remove(cur, i);
				else if (i == json_array_size(cur))
					json_array_append_new(cur, val);
				else
					json_array_set_new(cur, i, val);
			} else if (val == NULL) {
				json_object_del(cur, seg);
			} else {
				json_object_set_new(cur, seg, val);
			}
			return;
		}
		cur = json_is_array(cur) ? json_array_get(cur, strtoul(seg, NULL, 10))
					 : json_object_get(cur, seg);
		ck_assert_msg(cur != NULL, "no %s in fixture", ptr);
		seg = next + 1;
	}
}

static json_t *jv(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &err);

	ck_assert_msg(j != NULL, "bad test JSON %s: %s", text, err.text);
	return j;
}

/* Serialise doc and run it through qd_listdoc_parse like a PUT body would. */
static int run(json_t *doc, const char *expect, qd_listdoc **out, qd_problems *p)
{
	char *s = json_dumps(doc, 0);
	int rc;

	ck_assert_ptr_nonnull(s);
	rc = qd_listdoc_parse(s, strlen(s), expect, out, p);
	free(s);
	return rc;
}

static int parse_str(const char *s, qd_listdoc **out, qd_problems *p)
{
	return qd_listdoc_parse(s, strlen(s), NULL, out, p);
}

static void dump_problems(const qd_problems *p)
{
	for (size_t i = 0; i < p->count; i++)
		fprintf(stderr, "  problem %zu: %s: %s\n", i, p->items[i].path, p->items[i].message);
}

static bool has_problem(const qd_problems *p, const char *path, const char *substr)
{
	for (size_t i = 0; i < p->count; i++) {
		if (p->items[i].path && strcmp(p->items[i].path, path) == 0 &&
		    strstr(p->items[i].message, substr) != NULL)
			return true;
	}
	return false;
}

#define ASSERT_PROBLEM(p, path, substr)                                               \
	do {                                                                          \
		if (!has_problem((p), (path), (substr)))                              \
			dump_problems(p);                                             \
		ck_assert_msg(has_problem((p), (path), (substr)),                     \
			      "no problem at %s containing \"%s\"", (path), (substr)); \
	} while (0)

static const char *minimal_doc =
	"{\"list\":\"m\",\"kind\":\"positive\",\"title\":{\"zh\":\"标题\"},"
	"\"clauses\":[{\"id\":\"c1\",\"document\":\"d\",\"article\":\"a\",\"text\":\"t\"}],"
	"\"entries\":[{\"id\":\"e1\",\"code\":\"38.22\",\"name\":{\"zh\":\"试剂\"},\"clauses\":[\"c1\"]}]}";

/* ---- valid documents ---------------------------------------------------- */


START_TEST(positive_fixture_model)
{
	size_t len;
	char *buf = read_fixture("positive.json", &len);
	qd_listdoc *doc = NULL;
	qd_problems p;
	const qd_entry *e;

	qd_problems_init(&p);
	ck_assert_int_eq(qd_listdoc_parse(buf, len, "gba-research-positive", &doc, &p), 0);
	ck_assert_uint_eq(qd_problems_total(&p), 0);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(doc->list, "gba-research-positive");
	ck_assert_int_eq(doc->kind, QD_KIND_POSITIVE);

	ck_assert_uint_eq(doc->n_clauses, 2);
	ck_assert_str_eq(doc->clauses[0].id, "GACC-2022-143-1-1");
	ck_assert_str_eq(doc->clauses[1].id, "GACC-2022-143-1-2");
	ck_assert_str_eq(json_string_value(json_object_get(doc->clauses[0].json, "article")), "一（一）");
	ck_assert(json_is_null(json_object_get(doc->clauses[1].json, "title")));

	/* roster: ids normalised, defaults and windows */
	ck_assert_uint_eq(doc->n_members, 3);
	ck_assert_str_eq(doc->members[0].id, "91110000600037341L");
	ck_assert_int_eq(doc->members[0].status, QD_STATUS_ACTIVE);
	ck_assert_int_eq(doc->members[0].valid_from, 19358); /* 2023-01-01 */
	ck_assert_int_eq(doc->members[0].valid_to, QD_DATE_MAX);
	ck_assert_int_eq(doc->members[1].status, QD_STATUS_SUSPENDED);
	ck_assert_int_eq(doc->members[1].valid_to, 20453); /* 2025-12-31 */
	ck_assert_str_eq(doc->members[2].id, "HK:12345678");
	ck_assert_int_eq(doc->members[2].valid_from, QD_DATE_MIN);

	ck_assert_uint_eq(doc->n_entries, 3);
	e = &doc->entries[0];
	ck_assert_str_eq(e->id, "PL-0001");
	ck_assert_str_eq(e->code.digits, "3822");
	ck_assert_uint_eq(e->code.len, 4);
	ck_assert_str_eq(e->code.ciq, "");
	ck_assert_int_eq(e->effect, QD_EFFECT_INCLUDE);
	ck_assert_int_eq(e->status, QD_STATUS_ACTIVE);
	ck_assert_int_eq(e->valid_from, 19255); /* 2022-09-20 */
	ck_assert_int_eq(e->valid_to, QD_DATE_MAX);
	ck_assert_uint_eq(e->n_entities, 0);
	ck_assert_uint_eq(e->n_clauses, 1);
	ck_assert_uint_eq(e->clauses[0], 0);
	/* The entry's bytes are its line of the dump. */
	{
		char *dump = qd_listdoc_dump(doc, NULL);
		char *line = strstr(dump, e->json);

		ck_assert_ptr_nonnull(line);
		ck_assert(line[e->json_len] == ',' && strncmp(line - 5, "\n    ", 5) == 0);
		ck_assert_str_eq(json_string_value(json_object_get(fx_entry_tree(doc, 0), "id")), "PL-0001");
		free(dump);
	}

	e = &doc->entries[1];
	ck_assert_str_eq(e->code.digits, "3822190090");
	ck_assert_str_eq(e->code.ciq, "101");
	ck_assert_int_eq(e->effect, QD_EFFECT_EXCLUDE);
	ck_assert_int_eq(e->valid_to, 20818); /* 2026-12-31 */
	ck_assert_uint_eq(e->n_entities, 2);
	ck_assert_str_eq(e->entities[0], "91110000600037341L");
	ck_assert_str_eq(e->entities[1], "HK:12345678");
	ck_assert_uint_eq(e->n_clauses, 2);
	ck_assert_uint_eq(e->clauses[0], 1);
	ck_assert_uint_eq(e->clauses[1], 0);
	ck_assert_str_eq(json_string_value(json_object_get(fx_entry_tree(doc, 1), "code")), "3822190090");

	e = &doc->entries[2];
	ck_assert_str_eq(e->code.digits, "902780");
	ck_assert_int_eq(e->status, QD_STATUS_REVOKED);
	ck_assert(json_is_real(json_object_get(json_object_get(fx_entry_tree(doc, 2), "quantity"), "limit")));
	ck_assert(json_is_integer(json_object_get(json_object_get(fx_entry_tree(doc, 0), "quantity"),
						  "limit")));

	qd_listdoc_free(doc);
	qd_problems_free(&p);
	free(buf);
}
END_TEST

START_TEST(whitelist_fixture_model)
{
	json_t *j = fixture_json("whitelist.json");
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	ck_assert_int_eq(run(j, NULL, &doc, &p), 0);
	ck_assert_int_eq(doc->kind, QD_KIND_WHITELIST);
	ck_assert_uint_eq(doc->entries[0].n_entities, 1);
	/* lowercase reference matches the uppercase roster member */
	ck_assert_str_eq(doc->entries[0].entities[0], "91350100M000100Y43");
	ck_assert_str_eq(doc->entries[0].code.digits, "3002150010");
	qd_listdoc_free(doc);
	qd_problems_free(&p);
	json_decref(j);
}
END_TEST

START_TEST(canonical_defaults_exact)
{
	static const char *expected =
		"{\n"
		"  \"list\": \"m\",\n"
		"  \"kind\": \"positive\",\n"
		"  \"title\": {\n"
		"    \"zh\": \"标题\",\n"
		"    \"en\": null\n"
		"  },\n"
		"  \"issuer\": null,\n"
		"  \"published\": null,\n"
		"  \"source\": null,\n"
		"  \"clauses\": [\n"
		"    {\n"
		"      \"id\": \"c1\",\n"
		"      \"document\": \"d\",\n"
		"      \"article\": \"a\",\n"
		"      \"title\": null,\n"
		"      \"text\": \"t\",\n"
		"      \"url\": null\n"
		"    }\n"
		"  ],\n"
		"  \"entities\": [],\n"
		"  \"entries\": [\n"
		"    {\"id\":\"e1\",\"code\":\"3822\",\"ciq\":null,\"name\":{\"zh\":\"试剂\",\"en\":null},"
		"\"spec\":null,\"effect\":\"include\",\"entities\":[],\"valid_from\":null,\"valid_to\":null,"
		"\"status\":\"active\",\"waives\":[],\"conditions\":[],\"quantity\":null,\"clauses\":[\"c1\"],"
		"\"batch\":null}\n"
		"  ]\n"
		"}\n";
	qd_listdoc *doc = NULL;
	qd_problems p;
	size_t len = 0;
	char *s;

	qd_problems_init(&p);
	ck_assert_int_eq(parse_str(minimal_doc, &doc, &p), 0);
	s = qd_listdoc_dump(doc, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, expected);
	ck_assert_uint_eq(len, strlen(expected));
	free(s);
	qd_listdoc_free(doc);
	qd_problems_free(&p);
}
END_TEST

/* Rebuild j with every object's keys in reverse order. */
static json_t *reverse_keys(json_t *j)
{
	if (json_is_object(j)) {
		const char *keys[64];
		size_t n = 0;
		const char *k;
		json_t *v;
		json_t *r = json_object();

		json_object_foreach(j, k, v) {
			ck_assert_uint_lt(n, 64);
			keys[n++] = k;
		}
		while (n-- > 0)
			json_object_set_new(r, keys[n], reverse_keys(json_object_get(j, keys[n])));
		return r;
	}
	if (json_is_array(j)) {
		json_t *r = json_array();
		size_t i;
		json_t *v;

		json_array_foreach(j, i, v)
			json_array_append_new(r, reverse_keys(v));
		return r;
	}
	return json_incref(j);
}

/* Our fixtures and the shipped examples (they must load and round-trip). */
static const char *const fixtures[] = {
	"positive.json", "whitelist.json",
	"schema/examples/gba-research-positive.json", "schema/examples/biomed-rd-whitelist.json",
};
static const char *const fixture_text[] = {
	"署综函〔2022〕143号", "沪商务发〔2023〕1号", "正面清单", "生物医药研发用物品进口“白名单”",
};

/* The whole canonical document as one tree: its head with the entries
 * parsed from their canonical bytes (new reference). */
static json_t *canonical_tree(const qd_listdoc *doc)
{
	json_t *t = json_copy(doc->json), *arr = json_array();

	for (size_t i = 0; i < doc->n_entries; i++)
		json_array_append_new(arr, json_loadb(doc->entries[i].json, doc->entries[i].json_len, 0, NULL));
	json_object_set_new(t, "entries", arr);
	return t;
}

START_TEST(dump_idempotent)
{
	size_t len, len1, len2, len3;
	char *buf = read_fixture(fixtures[_i], &len);
	qd_listdoc *d1 = NULL, *d2 = NULL, *d3 = NULL, *d4 = NULL;
	qd_problems p;
	char *s1, *s2, *s3, *s4;
	json_t *rev, *orig;

	qd_problems_init(&p);
	ck_assert_int_eq(qd_listdoc_parse(buf, len, NULL, &d1, &p), 0);
	s1 = qd_listdoc_dump(d1, &len1);
	ck_assert_int_eq(qd_listdoc_parse(s1, len1, NULL, &d2, &p), 0);
	s2 = qd_listdoc_dump(d2, &len2);
	ck_assert_uint_eq(len1, len2);
	ck_assert_str_eq(s1, s2);
	ck_assert_int_eq(s1[len1 - 1], '\n');
	/* UTF-8 is written as is, not \u-escaped */
	ck_assert_ptr_nonnull(strstr(s1, fixture_text[_i]));

	/* reading back the stored canonical json gives the same bytes */
	{
		json_t *stored = canonical_tree(d2);

		ck_assert_int_eq(qd_listdoc_from_json(stored, NULL, &d3, &p), 0);
		json_decref(stored);
	}
	s3 = qd_listdoc_dump(d3, &len3);
	ck_assert_str_eq(s1, s3);

	/* key order of the input does not matter */
	orig = json_loadb(buf, len, 0, NULL);
	rev = reverse_keys(orig);
	ck_assert_int_eq(run(rev, NULL, &d4, &p), 0);
	s4 = qd_listdoc_dump(d4, NULL);
	ck_assert_str_eq(s1, s4);
	ck_assert_uint_eq(qd_problems_total(&p), 0);

	json_decref(rev);
	json_decref(orig);
	free(s1);
	free(s2);
	free(s3);
	free(s4);
	qd_listdoc_free(d1);
	qd_listdoc_free(d2);
	qd_listdoc_free(d3);
	qd_listdoc_free(d4);
	qd_problems_free(&p);
	free(buf);
}
END_TEST

START_TEST(real_limits_round_trip)
{
	static const char *const reals[] = {
		"0.1", "0.5", "1.0", "2.5e-07", "123456.789", "1e+300", "0.12345678901234568",
	};
	static const char *const written[] = {
		"0.1", "0.5", "1.0", "2.5e-7", "123456.789", "1e300", "0.123456789012346",
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		json_t *j = fixture_json("positive.json");
		qd_listdoc *d1 = NULL, *d2 = NULL;
		qd_problems p;
		char *s1, *s2;
		size_t n1, n2;

		qd_problems_init(&p);
		jset(j, "/entries/0/quantity/limit", jv(reals[i]));
		ck_assert_int_eq(run(j, NULL, &d1, &p), 0);
		s1 = qd_listdoc_dump(d1, &n1);
		snprintf(buf, sizeof(buf), "\"limit\":%s,", written[i]);
		ck_assert_msg(strstr(s1, buf) != NULL, "%s not written as %s", reals[i], written[i]);
		ck_assert_int_eq(qd_listdoc_parse(s1, n1, NULL, &d2, &p), 0);
		s2 = qd_listdoc_dump(d2, &n2);
		ck_assert_str_eq(s1, s2);
		free(s1);
		free(s2);
		qd_listdoc_free(d1);
		qd_listdoc_free(d2);
		qd_problems_free(&p);
		json_decref(j);
	}
}
END_TEST

START_TEST(from_json_keeps_caller_reference)
{
	json_t *j = fixture_json("positive.json");
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	ck_assert_int_eq(qd_listdoc_from_json(j, "gba-research-positive", &doc, &p), 0);
	ck_assert_int_eq(j->refcount, 1);
	json_decref(j);
	/* the document is independent of the caller's json */
	ck_assert_str_eq(doc->entries[0].id, "PL-0001");
	qd_listdoc_free(doc);

	/* same rules as parse */
	j = fixture_json("positive.json");
	jset(j, "/entries/0/code", json_string("38x2"));
	ck_assert_int_eq(qd_listdoc_from_json(j, NULL, &doc, &p), QD_EINVAL);
	ck_assert_ptr_null(doc);
	ASSERT_PROBLEM(&p, "/entries/0/code", "contains 'x'");
	json_decref(j);
	qd_problems_free(&p);
}
END_TEST

/* Documents live in arenas (jarena.c): each owns its tree, the arena
 * blocks are told from malloc() blocks by address, and a thread that
 * parses does not disturb threads using jansson with malloc() meanwhile. */
struct churn {
	char *buf;
	size_t len;
	char *dump;       /* first thread's canonical dump, compared by all */
	int ok;
};

static void *parse_churn(void *p)
{
	struct churn *c = p;

	c->ok = 1;
	for (int i = 0; i < 40 && c->ok; i++) {
		qd_listdoc *doc = NULL;
		size_t len;
		char *d;

		c->ok = qd_listdoc_parse(c->buf, c->len, NULL, &doc, NULL) == 0;
		d = c->ok ? qd_listdoc_dump(doc, &len) : NULL;
		c->ok = d != NULL && strcmp(d, c->dump) == 0;
		free(d);
		qd_listdoc_free(doc);
	}
	return NULL;
}

static void *malloc_churn(void *p)
{
	struct churn *c = p;

	c->ok = 1;
	for (int i = 0; i < 20000 && c->ok; i++) {
		json_t *j = json_pack("{s:[i, s, f], s:{}}", "a", i, "text", 0.5, "b");
		char *d = json_dumps(j, JSON_COMPACT);

		/* json_dumps' result is a malloc() block: free() must do. */
		c->ok = d != NULL && strncmp(d, "{\"a\":[", 6) == 0;
		free(d);
		json_decref(j);
	}
	return NULL;
}

START_TEST(arena_threads)
{
	struct churn c[3];
	pthread_t t[3];
	qd_listdoc *doc = NULL;
	size_t dlen;

	c[0].buf = read_fixture("positive.json", &c[0].len);
	ck_assert_int_eq(qd_listdoc_parse(c[0].buf, c[0].len, NULL, &doc, NULL), 0);
	ck_assert_ptr_nonnull(doc->arena);
	c[0].dump = qd_listdoc_dump(doc, &dlen);
	ck_assert_ptr_nonnull(c[0].dump);
	c[1] = c[0];
	c[2] = c[0];
	ck_assert_int_eq(pthread_create(&t[0], NULL, parse_churn, &c[0]), 0);
	ck_assert_int_eq(pthread_create(&t[1], NULL, parse_churn, &c[1]), 0);
	ck_assert_int_eq(pthread_create(&t[2], NULL, malloc_churn, &c[2]), 0);
	/* Meanwhile this thread renders the shared document again and again. */
	for (int i = 0; i < 40; i++) {
		char *d = qd_listdoc_dump(doc, &dlen);

		ck_assert_ptr_nonnull(d);
		ck_assert_str_eq(d, c[0].dump);
		free(d);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(c[i].ok, 1);
	}
	qd_listdoc_free(doc);
	free(c[0].dump);
	free(c[0].buf);
}
END_TEST

/* A caller's tree stays the caller's: nothing of the document points into
 * it, nothing of it points into the document's arena. */
START_TEST(from_json_copies_into_arena)
{
	json_t *j = fixture_json("positive.json");
	qd_listdoc *doc = NULL;
	json_t *code = json_object_get(json_array_get(json_object_get(j, "entries"), 0), "id");
	size_t before = code->refcount;

	ck_assert_int_eq(qd_listdoc_from_json(j, NULL, &doc, NULL), 0);
	ck_assert_uint_eq(code->refcount, before);
	if (doc->arena != NULL) {
		ck_assert(qd_jarena_owns(doc->arena, doc->json));
		ck_assert(qd_jarena_owns(doc->arena, doc->entries[0].json));
		ck_assert(qd_jarena_owns(doc->arena, doc->entries[0].id));
		ck_assert(!qd_jarena_owns(doc->arena, j));
		ck_assert(!qd_jarena_owns(doc->arena, json_string_value(code)));
	}
	json_decref(j);
	ck_assert_str_eq(doc->entries[0].id, "PL-0001");
	qd_listdoc_free(doc);
}
END_TEST

START_TEST(expect_list)
{
	json_t *j = fixture_json("positive.json");
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	ck_assert_int_eq(run(j, "other-list", &doc, &p), QD_EINVAL);
	ck_assert_ptr_null(doc);
	ck_assert_uint_eq(p.count, 1);
	ASSERT_PROBLEM(&p, "/list", "\"other-list\"");
	qd_problems_free(&p);
	json_decref(j);
}
END_TEST

/* ---- syntax versus rule errors --------------------------------------------- */

START_TEST(syntax_errors)
{
	static const struct {
		const char *text;
		size_t len;
	} bad[] = {
		{ "", 0 },
		{ "not json", 8 },
		{ "{", 1 },
		{ "{\"list\": \"a\",}", 14 },
		{ "{\"list\": \"\xff\"}", 13 },            /* invalid UTF-8 */
		{ "{\"list\": \"a\\u0000b\"}", 20 },       /* NUL in a string */
		{ "{\"list\": \"a\"} x", 15 },             /* trailing garbage */
		{ "{\"a\": 99999999999999999999}", 27 },  /* integer too big */
		{ "{\"a\": 1}\0", 9 },                    /* NUL byte after the value */
	};
	qd_listdoc *doc;
	qd_problems p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		qd_problems_init(&p);
		doc = (qd_listdoc *)&p; /* must be reset to NULL */
		ck_assert_msg(qd_listdoc_parse(bad[i].text, bad[i].len, NULL, &doc, &p) == QD_ESYNTAX,
			      "case %zu not ESYNTAX", i);
		ck_assert_ptr_null(doc);
		ck_assert_uint_eq(p.count, 1);
		ck_assert_str_eq(p.items[0].path, "");
		ck_assert_ptr_nonnull(strstr(p.items[0].message, "line "));
		ck_assert_ptr_nonnull(strstr(p.items[0].message, "column "));
		qd_problems_free(&p);
	}
	/* deep nesting is a syntax error too, not a crash */
	{
		size_t n = 100000;
		char *deep = malloc(2 * n);

		memset(deep, '[', n);
		memset(deep + n, ']', n);
		qd_problems_init(&p);
		ck_assert_int_eq(qd_listdoc_parse(deep, 2 * n, NULL, &doc, &p), QD_ESYNTAX);
		qd_problems_free(&p);
		free(deep);
	}
}
END_TEST

START_TEST(duplicate_key_is_einval)
{
	const char *s = "{\"list\": \"a\",\n \"kind\": \"positive\",\n \"list\": \"b\"}";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	ck_assert_int_eq(parse_str(s, &doc, &p), QD_EINVAL);
	ck_assert_ptr_null(doc);
	ck_assert_uint_eq(p.count, 1);
	ck_assert_str_eq(p.items[0].path, "");
	ck_assert_ptr_nonnull(strstr(p.items[0].message, "duplicate"));
	ck_assert_ptr_nonnull(strstr(p.items[0].message, "list"));
	ck_assert_ptr_nonnull(strstr(p.items[0].message, "line 3"));
	qd_problems_free(&p);

	/* nested duplicate keys too */
	s = "{\"entries\": [{\"id\": \"x\", \"code\": \"38\", \"code\": \"39\"}]}";
	qd_problems_init(&p);
	ck_assert_int_eq(parse_str(s, &doc, &p), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(p.items[0].message, "code"));
	qd_problems_free(&p);
}
END_TEST

START_TEST(root_not_object)
{
	static const char *const bad[] = { "[]", "[1, 2]" };
	qd_listdoc *doc = NULL;
	qd_problems p;

	for (size_t i = 0; i < 2; i++) {
		qd_problems_init(&p);
		ck_assert_int_eq(parse_str(bad[i], &doc, &p), QD_EINVAL);
		ck_assert_uint_eq(p.count, 1);
		ck_assert_str_eq(p.items[0].path, "");
		ck_assert_ptr_nonnull(strstr(p.items[0].message, "JSON object"));
		qd_problems_free(&p);
	}
}
END_TEST

/* ---- every rule ------------------------------------------------------------ */

struct rule_case {
	const char *fixture;
	const char *set;    /* JSON Pointer to change */
	const char *value;  /* JSON text, or NULL to delete */
	const char *path;   /* expected problem path */
	const char *substr; /* expected in its message */
	size_t count;       /* expected number of problems */
};

#define P "positive.json"
#define W "whitelist.json"
static const struct rule_case rule_cases[] = {
	{ P, "/list", "\"Bad_ID\"", "/list", "list id \"Bad_ID\" is not valid", 1 },
	{ P, "/list", NULL, "/list", "\"list\" is required", 1 },
	{ P, "/list", "7", "/list", "expected a string for \"list\", got a number", 1 },
	{ P, "/kind", "\"blacklist\"", "/kind", "kind \"blacklist\" is not one of positive, whitelist", 1 },
	{ P, "/kind", NULL, "/kind", "\"kind\" is required", 1 },
	{ P, "/kind", "true", "/kind", "expected a string for \"kind\", got true", 1 },
	{ P, "/title", NULL, "/title", "\"title\" is required", 1 },
	{ P, "/title", "\"x\"", "/title", "expected an object for \"title\", got a string", 1 },
	{ P, "/title/zh", "\"\"", "/title/zh", "\"zh\" must not be empty", 1 },
	{ P, "/title/zh", NULL, "/title/zh", "\"zh\" is required", 1 },
	{ P, "/title/en", "[]", "/title/en", "expected a string for \"en\", got an array", 1 },
	{ P, "/issuer", "5", "/issuer", "expected a string", 1 },
	{ P, "/published", "\"2023-02-29\"", "/published", "published \"2023-02-29\" is not a real calendar date", 1 },
	{ P, "/published", "\"2022/09/20\"", "/published", "YYYY-MM-DD", 1 },
	{ P, "/clauses", "[]", "/clauses", "at least one clause", 5 }, /* + 4 dangling references */
	{ P, "/clauses", NULL, "/clauses", "\"clauses\" is required", 5 },
	{ P, "/clauses", "{}", "/clauses", "expected an array for \"clauses\", got an object", 5 },
	{ P, "/clauses/0", "\"c\"", "/clauses/0", "expected an object for a clause, got a string", 4 },
	{ P, "/clauses/0/id", "\"bad id!\"", "/clauses/0/id", "must start with a letter or digit", 4 },
	{ P, "/clauses/0/id", "\"-x\"", "/clauses/0/id", "must start with a letter or digit", 4 },
	{ P, "/clauses/1/id", "\"GACC-2022-143-1-1\"", "/clauses/1/id",
	  "clause id \"GACC-2022-143-1-1\" is already used by /clauses/0", 2 },
	{ P, "/clauses/0/document", NULL, "/clauses/0/document", "\"document\" is required", 1 },
	{ P, "/clauses/0/article", "\"\"", "/clauses/0/article", "must not be empty", 1 },
	{ P, "/clauses/0/text", NULL, "/clauses/0/text", "\"text\" is required", 1 },
	{ P, "/clauses/0/url", "1", "/clauses/0/url", "expected a string", 1 },
	{ P, "/entities", "\"x\"", "/entities", "expected an array", 1 },
	{ P, "/entities/0", "5", "/entities/0", "expected an object for an entity", 2 }, /* + not on roster */
	{ P, "/entities/0/id", "\"91110000600037341X\"", "/entities/0/id", "check character", 2 },
	{ P, "/entities/0/id", NULL, "/entities/0/id", "\"id\" is required", 2 },
	{ P, "/entities/0/id", "\"ABC\"", "/entities/0/id", "neither an 18-character USCC nor SCHEME:ID", 2 },
	{ P, "/entities/2/id", "\"HK:\"", "/entities/2/id", "after ':' is empty", 2 },
	{ P, "/entities/1/id", "\"91110000600037341L\"", "/entities/1/id",
	  "entity \"91110000600037341L\" is listed twice (also /entities/0)", 1 },
	{ P, "/entities/2/id", "\"Hk:12345678\"", "/entities/2/id", "is listed twice", 0 }, /* 0: not a dup */
	{ P, "/entities/0/name", NULL, "/entities/0/name", "\"name\" is required", 1 },
	{ P, "/entities/0/name/zh", NULL, "/entities/0/name/zh", "\"zh\" is required", 1 },
	{ P, "/entities/0/status", "\"gone\"", "/entities/0/status", "not one of active, suspended, revoked", 1 },
	{ P, "/entities/0/valid_to", "\"2022-12-31\"", "/entities/0/valid_to",
	  "valid_from 2023-01-01 is after valid_to 2022-12-31", 1 },
	{ P, "/entities/0/valid_to", "\"2023-01-01\"", "", "", 0 }, /* one-day window is fine */
	{ P, "/entities/0/valid_from", "\"2023-13-01\"", "/entities/0/valid_from", "not a real calendar date", 1 },
	{ P, "/entries", NULL, "/entries", "\"entries\" is required", 1 },
	{ P, "/entries", "[]", "", "", 0 },
	{ P, "/entries/0", "[]", "/entries/0", "expected an object for an entry, got an array", 1 },
	{ P, "/entries/0/id", NULL, "/entries/0/id", "\"id\" is required", 1 },
	{ P, "/entries/0/id", "\"\"", "/entries/0/id", "must not be empty", 1 },
	{ P, "/entries/1/id", "\"PL-0001\"", "/entries/1/id", "entry id \"PL-0001\" is already used by /entries/0", 1 },
	{ P, "/entries/0/code", "\"38x2\"", "/entries/0/code",
	  "code \"38x2\" contains 'x'; expected 2-10 digits after removing '.', ' ' and '-'", 1 },
	{ P, "/entries/0/code", "\"3\"", "/entries/0/code", "code \"3\" has 1 digit", 1 },
	{ P, "/entries/0/code", "\"38221900901\"", "/entries/0/code", "has 11 digits", 1 },
	{ P, "/entries/0/code", "\"3822190090101\"", "/entries/0/code", "ciq", 1 },
	{ P, "/entries/0/code", "3822", "/entries/0/code", "expected a string for \"code\", got a number", 1 },
	{ P, "/entries/0/code", NULL, "/entries/0/code", "\"code\" is required", 1 },
	{ P, "/entries/0/code", "\"38\"", "", "", 0 },           /* chapter level */
	{ P, "/entries/0/code", "\"3822190090\"", "", "", 0 },   /* full code */
	{ P, "/entries/0/ciq", "\"12\"", "/entries/0/ciq", "ciq \"12\" is invalid", 1 },
	{ P, "/entries/0/ciq", "101", "/entries/0/ciq", "expected a string", 1 },
	{ P, "/entries/0/ciq", "\"101\"", "/entries/0/ciq", "ciq \"101\" needs a 10-digit code; code \"3822\" has 4 digits", 1 },
	{ P, "/entries/0/name", NULL, "/entries/0/name", "\"name\" is required", 1 },
	{ P, "/entries/0/name/zh", NULL, "/entries/0/name/zh", "\"zh\" is required", 1 },
	{ P, "/entries/0/spec", "{}", "/entries/0/spec", "expected a string", 1 },
	{ P, "/entries/0/effect", "\"includ\"", "/entries/0/effect", "effect \"includ\" is not one of include, exclude", 1 },
	{ P, "/entries/0/status", "\"expired\"", "/entries/0/status", "status \"expired\" is not one of", 1 },
	{ P, "/entries/1/valid_to", "\"2022-12-31\"", "/entries/1/valid_to",
	  "valid_from 2023-01-01 is after valid_to 2022-12-31", 1 },
	{ P, "/entries/0/valid_from", "\"2022-9-20\"", "/entries/0/valid_from", "YYYY-MM-DD", 1 },
	{ P, "/entries/0/entities", "{}", "/entries/0/entities", "expected an array", 1 },
	{ P, "/entries/1/entities/0", "\"91110000600037341X\"", "/entries/1/entities/0",
	  "entity \"91110000600037341X\" is invalid: USCC check character", 1 },
	{ P, "/entries/1/entities/0", "7", "/entries/1/entities/0", "expected a string", 1 },
	{ P, "/entries/1/entities/1", "\"91110000600037341l\"", "/entries/1/entities/1",
	  "entity \"91110000600037341L\" is listed twice", 1 },
	{ P, "/entries/1/entities/1", "\"91440101MA5AXXXXXW\"", "/entries/1/entities/1",
	  "entity \"91440101MA5AXXXXXW\" is not on the list's roster (/entities)", 1 },
	{ P, "/entries/1/entities/1", "\"HK:12345679\"", "/entries/1/entities/1", "not on the list's roster", 1 },
	{ P, "/entries/1/entities/1", "\"hk:12345678\"", "", "", 0 }, /* scheme is case-insensitive */
	{ P, "/entries/0/waives", "[\"Q\", \"Q\"]", "/entries/0/waives/1", "waiver \"Q\" is listed twice", 1 },
	{ P, "/entries/0/waives", "[\"\"]", "/entries/0/waives/0", "must not be empty", 1 },
	{ P, "/entries/0/waives", "[1]", "/entries/0/waives/0", "expected a string", 1 },
	{ P, "/entries/0/waives",
	  "[\"12345678901234567890123456789012345678901234567890123456789012345\"]",
	  "/entries/0/waives/0", "65 characters long; at most 64", 1 },
	{ P, "/entries/0/conditions/0/type", "\"warning\"", "/entries/0/conditions/0/type",
	  "type \"warning\" is not one of remark, note", 1 },
	{ P, "/entries/0/conditions/0/type", NULL, "/entries/0/conditions/0/type", "\"type\" is required", 1 },
	{ P, "/entries/0/conditions/0/text", NULL, "/entries/0/conditions/0/text", "\"text\" is required", 1 },
	{ P, "/entries/0/conditions/0", "\"remark\"", "/entries/0/conditions/0", "expected an object", 1 },
	{ P, "/entries/0/quantity/limit", "0", "/entries/0/quantity/limit", "greater than 0", 1 },
	{ P, "/entries/0/quantity/limit", "-1.5", "/entries/0/quantity/limit", "greater than 0", 1 },
	{ P, "/entries/0/quantity/limit", "\"5\"", "/entries/0/quantity/limit", "expected a number", 1 },
	{ P, "/entries/0/quantity/limit", NULL, "/entries/0/quantity/limit", "\"limit\" is required", 1 },
	{ P, "/entries/0/quantity/unit", NULL, "/entries/0/quantity/unit", "\"unit\" is required", 1 },
	{ P, "/entries/0/quantity/unit", "\"\"", "/entries/0/quantity/unit", "must not be empty", 1 },
	{ P, "/entries/0/quantity", "[]", "/entries/0/quantity", "expected an object", 1 },
	{ P, "/entries/0/clauses", "[]", "/entries/0/clauses", "must cite at least one clause", 1 },
	{ P, "/entries/0/clauses", NULL, "/entries/0/clauses", "\"clauses\" is required", 1 },
	{ P, "/entries/0/clauses", "[\"NOPE\"]", "/entries/0/clauses/0", "clause \"NOPE\" is not defined in /clauses", 1 },
	{ P, "/entries/1/clauses/1", "\"GACC-2022-143-1-2\"", "/entries/1/clauses/1",
	  "clause \"GACC-2022-143-1-2\" is cited twice", 1 },
	{ P, "/entries/0/clauses/0", "3", "/entries/0/clauses/0", "expected a string", 1 },
	{ P, "/entries/0/batch", "1", "/entries/0/batch", "expected a string", 1 },
	{ W, "/entries/0/entities", "[]", "/entries/0/entities", "a whitelist entry must name at least one entity", 1 },
	{ W, "/entries/0/entities", NULL, "/entries/0/entities", "a whitelist entry must name at least one entity", 1 },
	{ W, "/entries/0/entities/0", "\"91110000600037341L\"", "/entries/0/entities/0", "not on the list's roster", 1 },
	{ W, "/entities", "[]", "", "", 0 }, /* no roster: any well-formed entity */
	{ W, "/kind", "\"positive\"", "", "", 0 },
	/* v2: the list's term, successor, scope and batches */
	{ P, "/valid_from", "\"2023-02-30\"", "/valid_from", "valid_from \"2023-02-30\" is not a real calendar date", 1 },
	{ P, "/valid_to", "20261231", "/valid_to", "expected a string for \"valid_to\"", 1 },
	{ P, "/valid_to", "\"2026-12-31\"", "", "", 0 },
	{ P, "/superseded_by", "\"Next_List\"", "/superseded_by", "superseded_by \"Next_List\" is not a list id", 1 },
	{ P, "/superseded_by", "\"gba-research-positive\"", "/superseded_by", "cannot be superseded by itself", 1 },
	{ P, "/superseded_by", "\"gba-research-positive-2027\"", "", "", 0 },
	{ P, "/scope", "\"52\"", "/scope", "expected an object for \"scope\"", 1 },
	{ P, "/scope", "{\"customs\": \"52\"}", "/scope/customs", "expected an array for \"customs\"", 1 },
	{ P, "/scope", "{\"customs\": [\"521\"]}", "/scope/customs/0",
	  "customs code \"521\" must be 2 or 4 digits", 1 },
	{ P, "/scope", "{\"customs\": [\"52a1\"]}", "/scope/customs/0", "must be 2 or 4 digits", 1 },
	{ P, "/scope", "{\"customs\": [52]}", "/scope/customs/0", "expected a string for a customs code", 1 },
	{ P, "/scope", "{\"customs\": [\"52\", \"52\"]}", "/scope/customs/1", "customs code \"52\" is listed twice", 1 },
	{ P, "/scope", "{\"customs\": [\"52\"], \"region\": 5}", "/scope/region", "expected a string", 1 },
	{ P, "/scope", "{\"custom\": [\"52\"]}", "/scope/custom", "unknown key", 1 },
	{ P, "/scope", "{\"customs\": [\"52\", \"5101\"], \"region\": \"广东\"}", "", "", 0 },
	{ P, "/batches", "\"第一批\"", "/batches", "expected an array for \"batches\"", 1 },
	{ P, "/batches", "[]", "/entries/0/batch", "batch \"第一批\" is not defined in /batches", 1 },
	{ P, "/batches", "[{\"id\": \"第一批\"}]", "", "", 0 },
	{ P, "/batches", "[{\"id\": \"第一批\"}, {\"id\": \"第一批\"}]", "/batches/1/id",
	  "batch id \"第一批\" is already used by /batches/0", 1 },
	{ P, "/batches", "[{\"id\": \"\"}, {\"id\": \"第一批\"}]", "/batches/0/id", "must not be empty", 1 },
	/* batch ids count characters, as the schema's maxLength does: 64 Chinese
	 * characters (192 bytes) are taken, 65 are not */
	{ P, "/batches", "[{\"id\": \"第一批\"}, {\"id\": \"批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批\"}]", "", "", 0 },
	{ P, "/batches", "[{\"id\": \"第一批\"}, {\"id\": \"批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批批\"}]", "/batches/1/id",
	  "must be 1 to 64 characters", 1 },
	{ P, "/batches", "[{\"id\": \"第一批\", \"published\": \"2022-02-30\"}]", "/batches/0/published",
	  "not a real calendar date", 1 },
	/* + the entry of that batch, whose window it empties */
	{ P, "/batches", "[{\"id\": \"第一批\", \"valid_from\": \"2023-01-01\", \"valid_to\": \"2022-01-01\"}]",
	  "/batches/0/valid_to", "valid_from 2023-01-01 is after valid_to 2022-01-01", 2 },
	{ P, "/batches", "[{\"id\": \"第一批\", \"notice\": \"x\"}]", "/batches/0/notice", "unknown key", 1 },
	/* the batch's window is the default of its entries': empty with the entry's own valid_from */
	{ P, "/batches", "[{\"id\": \"第一批\", \"valid_to\": \"2022-01-01\"}]", "/entries/0/batch",
	  "would be valid from 2022-09-20 to 2022-01-01", 1 },
	/* v2: an entry's identity, aliases and customs */
	{ P, "/entries/0/identity", "\"product\"", "/entries/0/identity",
	  "identity \"product\" is not one of item, category", 1 },
	{ P, "/entries/0/identity", "1", "/entries/0/identity", "expected a string for \"identity\"", 1 },
	{ P, "/entries/0/identity", "\"item\"", "", "", 0 },
	{ P, "/entries/0/aliases", "\"试剂\"", "/entries/0/aliases", "expected an array for \"aliases\"", 1 },
	{ P, "/entries/0/aliases", "[\"\"]", "/entries/0/aliases/0", "\"aliases\" must not be empty", 1 },
	{ P, "/entries/0/aliases", "[1]", "/entries/0/aliases/0", "expected a string", 1 },
	{ P, "/entries/0/aliases", "[\"试剂\", \"试剂\"]", "/entries/0/aliases/1", "alias \"试剂\" is listed twice", 1 },
	/* an alias that normalises to nothing could never match a declared name */
	{ P, "/entries/0/aliases", "[\"（）\"]", "/entries/0/aliases/0", "alias \"（）\" is only spaces and punctuation", 1 },
	{ W, "/entries/0/aliases", "[\"试剂\", \" 【-】、\u3000. \"]", "/entries/0/aliases/1", "is only spaces and punctuation", 1 },
	{ W, "/entries/0/aliases", "[\"（1.5）\", \"。A。\"]", "", "", 0 },
	{ P, "/entries/0/customs", "[\"5\"]", "/entries/0/customs/0", "customs code \"5\" must be 2 or 4 digits", 1 },
	{ P, "/entries/0/customs", "{}", "/entries/0/customs", "expected an array for \"customs\"", 1 },
	{ P, "/entries/0/customs", "[\"5201\", \"52\"]", "", "", 0 },
	{ W, "/entries/0/identity", "\"category\"", "", "", 0 },
};

START_TEST(rule)
{
	const struct rule_case *c = &rule_cases[_i];
	json_t *j = fixture_json(c->fixture);
	qd_listdoc *doc = NULL;
	qd_problems p;
	int rc;

	jset(j, c->set, c->value ? jv(c->value) : NULL);
	qd_problems_init(&p);
	rc = run(j, NULL, &doc, &p);
	if (p.count != c->count) {
		fprintf(stderr, "case %d (%s = %s):\n", _i, c->set, c->value ? c->value : "<deleted>");
		dump_problems(&p);
	}
	ck_assert_uint_eq(p.count, c->count);
	if (c->count == 0) {
		ck_assert_int_eq(rc, 0);
		ck_assert_ptr_nonnull(doc);
	} else {
		ck_assert_int_eq(rc, QD_EINVAL);
		ck_assert_ptr_null(doc);
		ASSERT_PROBLEM(&p, c->path, c->substr);
	}
	qd_listdoc_free(doc);
	qd_problems_free(&p);
	json_decref(j);
}
END_TEST

/* ---- v2: rules across members, and what the canonical form keeps ---------- */

/* A whitelist document's head up to its v2 members, its clauses, and an
 * entry without its closing brace. */
#define V2_HEAD "{\"list\":\"m\",\"kind\":\"whitelist\",\"title\":{\"zh\":\"标题\"},"
#define V2_CLAUSES "\"clauses\":[{\"id\":\"c1\",\"document\":\"d\",\"article\":\"a\",\"text\":\"t\"}],"
#define V2_ENTRY(id, code)                                                                        \
	"{\"id\":\"" #id "\",\"code\":\"" #code "\",\"name\":{\"zh\":\"试剂\"},\"clauses\":[\"c1\"]," \
	"\"entities\":[\"91110000600037341L\"]"

/* An entry's customs must overlap its list's scope; the list's term must
 * not be empty. */
START_TEST(v2_cross_rules)
{
	static const char *doc =
		V2_HEAD "\"valid_from\":\"2027-01-01\",\"valid_to\":\"2026-12-31\","
		"\"scope\":{\"customs\":[\"52\",\"5101\"]}," V2_CLAUSES
		"\"entries\":[" V2_ENTRY(e1, 2941) ",\"customs\":[\"5201\",\"51\",\"22\"]}]}";
	qd_listdoc *d = NULL;
	qd_problems p;

	qd_problems_init(&p);
	ck_assert_int_eq(parse_str(doc, &d, &p), QD_EINVAL);
	ASSERT_PROBLEM(&p, "/valid_to", "valid_from 2027-01-01 is after valid_to 2026-12-31");
	/* 5201 is inside 52, 51 contains 5101: both overlap; 22 does not */
	ASSERT_PROBLEM(&p, "/entries/0/customs/2", "customs code \"22\" is outside the list's scope");
	ck_assert_uint_eq(p.count, 2);
	qd_problems_free(&p);
}
END_TEST

/* v2 members are written only when given, an identity only when it is not
 * the kind's default; a document without them dumps as before. */
START_TEST(v2_canonical_form)
{
	static const char *wl =
		V2_HEAD "\"scope\":{\"customs\":[],\"region\":null},\"batches\":[{\"id\":\"第一批\"}]," V2_CLAUSES
		"\"entries\":[" V2_ENTRY(e1, 2941) ",\"identity\":\"item\",\"aliases\":[],\"customs\":[],"
		"\"batch\":\"第一批\"}," V2_ENTRY(e2, 3822) ",\"identity\":\"category\"}]}";
	qd_listdoc *d = NULL, *m = NULL;
	qd_problems p;

	qd_problems_init(&p);
	ck_assert_int_eq(parse_str(wl, &d, &p), 0);
	/* an empty scope is no scope; the batches table stays */
	ck_assert_ptr_null(json_object_get(d->json, "scope"));
	ck_assert(json_is_array(json_object_get(d->json, "batches")));
	ck_assert_ptr_nonnull(d->terms);
	ck_assert_ptr_null(strstr(d->entries[0].json, "identity"));
	ck_assert_ptr_null(strstr(d->entries[0].json, "aliases"));
	ck_assert_ptr_null(strstr(d->entries[0].json, "customs"));
	ck_assert_ptr_nonnull(strstr(d->entries[1].json, "\"identity\":\"category\""));
	/* item entries carry decision terms; a category entry without customs or batch none */
	qd_entry_terms t;
	ck_assert_int_eq(qd_entry_terms_decode(d->entries[0].terms, d->entries[0].terms_len, &t), 0);
	ck_assert(t.item && t.has_batch && t.batch == 0);
	ck_assert_ptr_null(d->entries[1].terms);
	/* a v1 document has no terms and no v2 member */
	ck_assert_int_eq(parse_str(minimal_doc, &m, &p), 0);
	ck_assert_ptr_null(m->terms);
	size_t n;
	char *dump = qd_listdoc_dump(m, &n);
	ck_assert_ptr_null(strstr(dump, "scope"));
	ck_assert_ptr_null(strstr(dump, "identity"));
	free(dump);
	qd_listdoc_free(m);
	qd_listdoc_free(d);
	qd_problems_free(&p);
}
END_TEST

START_TEST(string_limits)
{
	json_t *j;
	qd_listdoc *doc = NULL;
	qd_problems p;
	char *big = malloc(20002);

	memset(big, 'a', 20001);
	big[20001] = '\0';

	/* clause text: 20000 characters accepted, 20001 not */
	qd_problems_init(&p);
	j = fixture_json("positive.json");
	jset(j, "/clauses/0/text", json_stringn(big, 20000));
	ck_assert_int_eq(run(j, NULL, &doc, &p), 0);
	qd_listdoc_free(doc);
	jset(j, "/clauses/0/text", json_stringn(big, 20001));
	ck_assert_int_eq(run(j, NULL, &doc, &p), QD_EINVAL);
	ASSERT_PROBLEM(&p, "/clauses/0/text", "20001 characters long; at most 20000 allowed");
	ck_assert_uint_eq(p.count, 1);
	qd_problems_free(&p);

	/* ordinary strings: 2048 accepted, 2049 not */
	jset(j, "/clauses/0/text", json_string("t"));
	jset(j, "/entries/0/spec", json_stringn(big, 2048));
	ck_assert_int_eq(run(j, NULL, &doc, &p), 0);
	qd_listdoc_free(doc);
	jset(j, "/entries/0/spec", json_stringn(big, 2049));
	jset(j, "/title/zh", json_stringn(big, 2049));
	ck_assert_int_eq(run(j, NULL, &doc, &p), QD_EINVAL);
	ASSERT_PROBLEM(&p, "/entries/0/spec", "at most 2048");
	ASSERT_PROBLEM(&p, "/title/zh", "at most 2048");
	qd_problems_free(&p);
	json_decref(j);

	/* ids: 64 characters accepted, 65 not */
	j = fixture_json("positive.json");
	memset(big, 'E', 65);
	jset(j, "/entries/0/id", json_stringn(big, 64));
	ck_assert_int_eq(run(j, NULL, &doc, &p), 0);
	qd_listdoc_free(doc);
	jset(j, "/entries/0/id", json_stringn(big, 65));
	ck_assert_int_eq(run(j, NULL, &doc, &p), QD_EINVAL);
	ASSERT_PROBLEM(&p, "/entries/0/id", "at most 64 characters");
	qd_problems_free(&p);
	json_decref(j);

	/* a json_t built by a caller may carry a NUL inside a string */
	j = fixture_json("positive.json");
	jset(j, "/issuer", json_stringn("a\0b", 3));
	ck_assert_int_eq(qd_listdoc_from_json(j, NULL, &doc, &p), QD_EINVAL);
	ASSERT_PROBLEM(&p, "/issuer", "NUL");
	qd_problems_free(&p);
	json_decref(j);
	free(big);
}
END_TEST

/* Limits count characters as the schema's maxLength does: Chinese text,
 * three bytes a character in UTF-8, gets the same room as ASCII. */
START_TEST(string_limits_count_characters)
{
	json_t *j = fixture_json("whitelist.json");
	qd_listdoc *doc = NULL;
	qd_problems p;
	size_t unit = strlen("血"), n;
	char *zh = malloc(2049 * unit + 1);

	for (size_t i = 0; i < 2049; i++)
		memcpy(zh + i * unit, "血", unit);
	zh[2049 * unit] = '\0';
	qd_problems_init(&p);
	/* 25 characters, 75 bytes: a waiver the 64-character rule admits */
	jset(j, "/entries/0/waives", json_pack("[s#]", zh, (int)(25 * unit)));
	/* 1000 characters, 3000 bytes: a name under 2048 characters */
	jset(j, "/entries/0/name/zh", json_stringn(zh, 1000 * unit));
	jset(j, "/clauses/0/text", json_stringn(zh, 2049 * unit));
	ck_assert_int_eq(run(j, NULL, &doc, &p), 0);
	qd_listdoc_free(doc);
	doc = NULL;
	jset(j, "/entries/0/waives", json_pack("[s#]", zh, (int)(65 * unit)));
	jset(j, "/entries/0/name/zh", json_stringn(zh, 2049 * unit));
	ck_assert_int_eq(run(j, NULL, &doc, &p), QD_EINVAL);
	ASSERT_PROBLEM(&p, "/entries/0/waives/0", "65 characters long; at most 64 allowed");
	ASSERT_PROBLEM(&p, "/entries/0/name/zh", "2049 characters long; at most 2048 allowed");
	n = p.count;
	ck_assert_uint_eq(n, 2);
	qd_problems_free(&p);
	json_decref(j);
	free(zh);
}
END_TEST

/* null stands for "absent" wherever the schema allows it. */
START_TEST(nulls_mean_absent)
{
	static const char *const paths[] = {
		"/entries/0/effect", "/entries/0/status", "/entries/0/waives",
		"/entries/0/conditions", "/entities/0/status", "/entries/0/spec",
	};
	json_t *j = fixture_json("positive.json");
	qd_listdoc *doc = NULL;
	qd_problems p;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		jset(j, paths[i], json_null());
	jset(j, "/entries/1/entities", json_null());
	qd_problems_init(&p);
	if (run(j, NULL, &doc, &p) != 0)
		dump_problems(&p);
	ck_assert_ptr_nonnull(doc);
	qd_listdoc_free(doc);
	doc = NULL;
	jset(j, "/entities", json_null());
	ck_assert_int_eq(run(j, NULL, &doc, &p), 0);
	qd_listdoc_free(doc);
	qd_problems_free(&p);
	json_decref(j);
}
END_TEST

START_TEST(unknown_keys)
{
	json_t *j = fixture_json("positive.json");
	qd_listdoc *doc = NULL;
	qd_problems p;

	jset(j, "/efect", json_string("include"));
	jset(j, "/title/fr", json_string("x"));
	jset(j, "/clauses/0/txt", json_string("x"));
	jset(j, "/entities/1/nmae", json_string("x"));
	jset(j, "/entities/1/name/ja", json_string("x"));
	jset(j, "/entries/0/efect", json_string("exclude"));
	jset(j, "/entries/0/conditions/0/kind", json_string("x"));
	jset(j, "/entries/0/quantity/units", json_string("x"));
	json_object_set_new(json_array_get(json_object_get(j, "entries"), 2), "a/b~c", json_true());

	qd_problems_init(&p);
	ck_assert_int_eq(run(j, NULL, &doc, &p), QD_EINVAL);
	ck_assert_ptr_null(doc);
	ASSERT_PROBLEM(&p, "/efect", "unknown key \"efect\"");
	ASSERT_PROBLEM(&p, "/title/fr", "unknown key \"fr\"");
	ASSERT_PROBLEM(&p, "/clauses/0/txt", "unknown key \"txt\"; did you mean \"text\"?");
	ASSERT_PROBLEM(&p, "/entities/1/nmae", "did you mean \"name\"?");
	ASSERT_PROBLEM(&p, "/entities/1/name/ja", "unknown key \"ja\"");
	ASSERT_PROBLEM(&p, "/entries/0/efect", "unknown key \"efect\"; did you mean \"effect\"?");
	ASSERT_PROBLEM(&p, "/entries/0/conditions/0/kind", "unknown key \"kind\"");
	ASSERT_PROBLEM(&p, "/entries/0/quantity/units", "did you mean \"unit\"?");
	/* JSON Pointer escaping: ~ -> ~0, / -> ~1 */
	ASSERT_PROBLEM(&p, "/entries/2/a~1b~0c", "unknown key \"a/b~c\"");
	ck_assert_uint_eq(p.count, 9);
	qd_problems_free(&p);
	json_decref(j);
}
END_TEST

START_TEST(all_violations_at_once)
{
	json_t *j = fixture_json("positive.json");
	qd_listdoc *doc = NULL;
	qd_problems p;

	jset(j, "/kind", json_string("list"));
	jset(j, "/entries/0/code", json_string("38x2"));
	jset(j, "/entries/1/valid_from", json_string("2024-05-01"));
	jset(j, "/entries/1/valid_to", json_string("2024-01-01"));
	jset(j, "/entries/2/clauses/0", json_string("X"));
	jset(j, "/entries/1/entities/0", json_string("91440101MA5AXXXXXW"));
	jset(j, "/entities/0/status", json_string("gone"));

	qd_problems_init(&p);
	ck_assert_int_eq(run(j, NULL, &doc, &p), QD_EINVAL);
	ck_assert_uint_eq(p.count, 6);
	/* reported in document order */
	ck_assert_str_eq(p.items[0].path, "/kind");
	ck_assert_str_eq(p.items[1].path, "/entities/0/status");
	ck_assert_str_eq(p.items[2].path, "/entries/0/code");
	ck_assert_str_eq(p.items[2].message,
			 "code \"38x2\" contains 'x'; expected 2-10 digits after removing '.', ' ' and '-'");
	ck_assert_str_eq(p.items[3].path, "/entries/1/entities/0");
	ck_assert_str_eq(p.items[3].message,
			 "entity \"91440101MA5AXXXXXW\" is not on the list's roster (/entities)");
	ck_assert_str_eq(p.items[4].path, "/entries/1/valid_to");
	ck_assert_str_eq(p.items[4].message, "valid_from 2024-05-01 is after valid_to 2024-01-01");
	ck_assert_str_eq(p.items[5].path, "/entries/2/clauses/0");
	ck_assert_str_eq(p.items[5].message, "clause \"X\" is not defined in /clauses");
	qd_problems_free(&p);
	json_decref(j);
}
END_TEST

START_TEST(problem_cap)
{
	json_t *j = fixture_json("positive.json");
	json_t *entries = json_array();
	qd_listdoc *doc = NULL;
	qd_problems p;
	char id[16];

	for (int i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "E%d", i);
		json_array_append_new(entries, json_pack("{s:s, s:s, s:{s:s}, s:[s]}", "id", id, "code",
							 "bad", "name", "zh", "x", "clauses",
							 "GACC-2022-143-1-1"));
	}
	json_object_set_new(j, "entries", entries);
	qd_problems_init(&p);
	ck_assert_int_eq(run(j, NULL, &doc, &p), QD_EINVAL);
	ck_assert_uint_eq(p.count, QD_PROBLEMS_CAP);
	ck_assert_uint_eq(p.omitted, 300 - QD_PROBLEMS_CAP);
	ck_assert_uint_eq(qd_problems_total(&p), 300);
	ck_assert_str_eq(p.items[0].path, "/entries/0/code");
	ck_assert_str_eq(p.items[QD_PROBLEMS_CAP - 1].path, "/entries/199/code");
	qd_problems_free(&p);
	json_decref(j);
}
END_TEST

START_TEST(long_values_are_shortened)
{
	json_t *j = fixture_json("positive.json");
	qd_listdoc *doc = NULL;
	qd_problems p;
	char big[1000];

	memset(big, 'Z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	jset(j, "/entries/0/status", json_string(big));
	jset(j, "/entries/1/effect", json_string("a\"b\n"));
	qd_problems_init(&p);
	ck_assert_int_eq(run(j, NULL, &doc, &p), QD_EINVAL);
	ck_assert_uint_eq(p.count, 2);
	ck_assert_uint_lt(strlen(p.items[0].message), 200);
	ck_assert_ptr_nonnull(strstr(p.items[0].message, "\xe2\x80\xa6")); /* … */
	ck_assert_str_eq(p.items[1].message, "effect \"a\\\"b\\u000a\" is not one of include, exclude");
	qd_problems_free(&p);
	json_decref(j);
}
END_TEST

START_TEST(list_ids)
{
	char id48[49], id49[50];

	memset(id48, 'a', 48);
	id48[48] = '\0';
	memset(id49, 'a', 49);
	id49[49] = '\0';
	ck_assert(qd_list_id_valid("gba-research-positive"));
	ck_assert(qd_list_id_valid("a"));
	ck_assert(qd_list_id_valid("a-"));
	ck_assert(qd_list_id_valid("a1"));
	ck_assert(qd_list_id_valid(id48));
	ck_assert(!qd_list_id_valid(id49));
	ck_assert(!qd_list_id_valid(""));
	ck_assert(!qd_list_id_valid(NULL));
	ck_assert(!qd_list_id_valid("A"));
	ck_assert(!qd_list_id_valid("1a"));
	ck_assert(!qd_list_id_valid("-a"));
	ck_assert(!qd_list_id_valid("a_b"));
	ck_assert(!qd_list_id_valid("a.b"));
	ck_assert(!qd_list_id_valid("aB"));
	ck_assert(!qd_list_id_valid("a b"));
	ck_assert(!qd_list_id_valid("a/.."));
}
END_TEST

START_TEST(enum_names)
{
	ck_assert_str_eq(qd_kind_name(QD_KIND_POSITIVE), "positive");
	ck_assert_str_eq(qd_kind_name(QD_KIND_WHITELIST), "whitelist");
	ck_assert_str_eq(qd_status_name(QD_STATUS_ACTIVE), "active");
	ck_assert_str_eq(qd_status_name(QD_STATUS_SUSPENDED), "suspended");
	ck_assert_str_eq(qd_status_name(QD_STATUS_REVOKED), "revoked");
	ck_assert_str_eq(qd_effect_name(QD_EFFECT_INCLUDE), "include");
	ck_assert_str_eq(qd_effect_name(QD_EFFECT_EXCLUDE), "exclude");
	ck_assert_str_eq(qd_kind_name((enum qd_kind)0), "unknown");
}
END_TEST

START_TEST(problems_collection)
{
	qd_problems p;

	qd_problems_init(&p);
	ck_assert_uint_eq(qd_problems_total(&p), 0);
	qd_problems_add(&p, "/a~1b", "value %d is %s", 5, "bad");
	qd_problems_add(&p, NULL, "root");
	qd_problems_add_at(&p, 3, 7, "cell %s", "x");
	ck_assert_uint_eq(p.count, 3);
	ck_assert_str_eq(p.items[0].path, "/a~1b");
	ck_assert_str_eq(p.items[0].message, "value 5 is bad");
	ck_assert_uint_eq(p.items[0].line, 0);
	ck_assert_str_eq(p.items[1].path, "");
	ck_assert_ptr_null(p.items[2].path);
	ck_assert_uint_eq(p.items[2].line, 3);
	ck_assert_uint_eq(p.items[2].column, 7);
	ck_assert_str_eq(p.items[2].message, "cell x");
	for (int i = 0; i < QD_PROBLEMS_CAP + 10; i++)
		qd_problems_add_at(&p, (unsigned)i + 2, 0, "line %d", i);
	ck_assert_uint_eq(p.count, QD_PROBLEMS_CAP);
	ck_assert_uint_eq(p.omitted, 13);
	ck_assert_uint_eq(qd_problems_total(&p), QD_PROBLEMS_CAP + 13);
	qd_problems_free(&p);
	ck_assert_uint_eq(p.count, 0);
	ck_assert_uint_eq(p.omitted, 0);
	ck_assert_ptr_null(p.items);
	/* reusable after free */
	qd_problems_add(&p, "/x", "again");
	ck_assert_uint_eq(p.count, 1);
	qd_problems_free(&p);
}
END_TEST

/* ---- per-entry limits and long arrays ------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* minimal_doc with clauses c0 … c<defined-1> defined and its entry citing
 * c0 … c<cited-1> and waiving W0 … W<waived-1>. */
static json_t *long_entry_doc(size_t defined, size_t cited, size_t waived)
{
	json_t *doc = jv(minimal_doc);
	json_t *cl = json_array(), *cite = json_array(), *w = json_array();
	char id[32];

	for (size_t i = 0; i < defined; i++) {
		snprintf(id, sizeof id, "c%zu", i);
		json_array_append_new(cl, json_pack("{s:s, s:s, s:s, s:s}", "id", id,
						     "document", "d", "article", "a", "text", "t"));
	}
	for (size_t i = 0; i < cited; i++) {
		snprintf(id, sizeof id, "c%zu", i);
		json_array_append_new(cite, json_string(id));
	}
	for (size_t i = 0; i < waived; i++) {
		snprintf(id, sizeof id, "W%zu", i);
		json_array_append_new(w, json_string(id));
	}
	jset(doc, "/clauses", cl);
	jset(doc, "/entries/0/clauses", cite);
	jset(doc, "/entries/0/waives", w);
	return doc;
}

START_TEST(clauses_per_entry_cap)
{
	static const size_t over[] = { QD_ENTRY_CLAUSES_MAX + 1, 65537 };
	qd_listdoc *d = NULL;
	qd_problems p;
	json_t *doc = long_entry_doc(QD_ENTRY_CLAUSES_MAX, QD_ENTRY_CLAUSES_MAX, 0);

	qd_problems_init(&p);
	ck_assert_int_eq(run(doc, NULL, &d, &p), 0);
	ck_assert_uint_eq(d->entries[0].n_clauses, QD_ENTRY_CLAUSES_MAX);
	ck_assert_uint_eq(d->entries[0].clauses[QD_ENTRY_CLAUSES_MAX - 1], QD_ENTRY_CLAUSES_MAX - 1);
	qd_listdoc_free(d);
	json_decref(doc);
	qd_problems_free(&p);

	/* The entry record counts clauses in 16 bits: 65 537 would read as 1. */
	for (size_t k = 0; k < sizeof(over) / sizeof(over[0]); k++) {
		doc = long_entry_doc(over[k], over[k], 0);
		d = NULL;
		qd_problems_init(&p);
		ck_assert_int_eq(run(doc, NULL, &d, &p), QD_EINVAL);
		ck_assert_ptr_null(d);
		ASSERT_PROBLEM(&p, "/entries/0/clauses", "at most 1000 allowed");
		ck_assert_uint_eq(p.count, 1);
		json_decref(doc);
		qd_problems_free(&p);
	}
}
END_TEST

START_TEST(long_arrays_check_in_linear_time)
{
	enum { NW = 40000 };
	qd_listdoc *d = NULL;
	qd_problems p;
	json_t *doc = long_entry_doc(QD_ENTRY_CLAUSES_MAX, QD_ENTRY_CLAUSES_MAX, NW);
	double t0 = now_s(), dt;

	qd_problems_init(&p);
	ck_assert_int_eq(run(doc, NULL, &d, &p), 0);
	dt = now_s() - t0;
	/* Pairwise comparison takes seconds for this entry; a set, milliseconds. */
	ck_assert_msg(dt < 1.5, "40 000 waivers and 1 000 clauses took %.2f s to check", dt);
	ck_assert_uint_eq(json_array_size(json_object_get(fx_entry_tree(d, 0), "waives")), NW);
	qd_listdoc_free(d);
	qd_problems_free(&p);

	/* Repeats are still found, at the repeat, in long arrays as in short ones. */
	json_array_append_new(json_object_get(json_array_get(json_object_get(doc, "entries"), 0), "waives"),
			      json_string("W17"));
	json_array_set_new(json_object_get(json_array_get(json_object_get(doc, "entries"), 0), "clauses"),
			   QD_ENTRY_CLAUSES_MAX - 1, json_string("c3"));
	d = NULL;
	qd_problems_init(&p);
	ck_assert_int_eq(run(doc, NULL, &d, &p), QD_EINVAL);
	ASSERT_PROBLEM(&p, "/entries/0/waives/40000", "waiver \"W17\" is listed twice");
	ASSERT_PROBLEM(&p, "/entries/0/clauses/999", "clause \"c3\" is cited twice");
	ck_assert_uint_eq(p.count, 2);
	json_decref(doc);
	qd_problems_free(&p);
}
END_TEST

/* ---- entry by entry ------------------------------------------------------- */

#define SMALL_HEAD "{\"list\":\"a\",\"kind\":\"positive\",\"title\":{\"zh\":\"t\"}," \
	"\"clauses\":[{\"id\":\"C1\",\"document\":\"d\",\"article\":\"a\",\"text\":\"t\"}],"

static void expect_one(const char *doc, int rc, const char *message)
{
	qd_listdoc *d = NULL;
	qd_problems p;

	qd_problems_init(&p);
	ck_assert_int_eq(qd_listdoc_parse(doc, strlen(doc), NULL, &d, &p), rc);
	ck_assert_ptr_null(d);
	ck_assert_uint_eq(qd_problems_total(&p), 1);
	ck_assert_str_eq(p.items[0].path, "");
	ck_assert_str_eq(p.items[0].message, message);
	qd_problems_free(&p);
}

/* Entries are parsed one at a time, yet an error is placed in the whole
 * document, and the first one in it is the one reported. */
START_TEST(errors_placed_in_whole_document)
{
	expect_one(SMALL_HEAD "\"entries\":[\n"
		   "  {\"id\":\"E1\",\"code\":\"0101\",\"name\":{\"zh\":\"名\"},\"clauses\":[\"C1\"]},\n"
		   "  {\"id\":\"E2\",\"code\":\"0101\",\"name\":{\"zh\":\"名\" \"clauses\":[\"C1\"]}]}",
		   QD_ESYNTAX, "not valid JSON: '}' expected near '\"clauses\"' (line 3, column 53)");
	/* after the entries, on the line where they end */
	expect_one(SMALL_HEAD "\"entries\":[{\"id\":\"E1\",\"code\":\"0101\",\"name\":{\"zh\":\"名\"},"
		   "\"clauses\":[\"C1\"]}], \"x\" 1}",
		   QD_ESYNTAX, "not valid JSON: ':' expected near '1' (line 1, column 192)");
	/* after the entries: an error inside them still comes first */
	expect_one(SMALL_HEAD "\"entries\":[{\"id\":\"E1\",\"code\":\"0101\",\"name\":{\"zh\":\"名\"}\n"
		   ",\"clauses\":[\"C1\"] 2}\n], \"x\" 1}",
		   QD_ESYNTAX, "not valid JSON: '}' expected near '2' (line 2, column 19)");
	/* a second "entries" is a repeated key, as any other */
	expect_one(SMALL_HEAD "\"entries\":[\n{\"id\":\"E1\",\"code\":\"0101\",\"name\":{\"zh\":\"x\"},"
		   "\"clauses\":[\"C1\"]}\n],\"entries\":[]}",
		   QD_EINVAL, "duplicate object key near '\"entries\"' (line 3, column 11)");
	/* a repeated key inside an entry */
	expect_one(SMALL_HEAD "\"entries\":[{\"id\":\"E1\",\"id\":\"E2\"}]}",
		   QD_EINVAL, "duplicate object key near '\"id\"' (line 1, column 139)");
}
END_TEST

/* The builder gives what the parse of the whole document gives, and the
 * dump's sha256 is taken piecewise. */
START_TEST(builder_matches_parse)
{
	size_t len, dlen;
	char *buf = read_fixture("positive.json", &len);
	json_t *all = json_loadb(buf, len, 0, NULL), *head = json_copy(all);
	json_t *entries = json_object_get(all, "entries"), *e;
	qd_listdoc *d1 = NULL, *d2 = NULL;
	qd_listdoc_builder *b;
	qd_problems p;
	char *s1, *s2, sha[65], want[65];
	size_t i;

	qd_problems_init(&p);
	ck_assert_int_eq(qd_listdoc_parse(buf, len, NULL, &d1, &p), 0);
	json_object_set_new(head, "entries", json_array());
	b = qd_listdoc_begin(head, NULL, &p);
	ck_assert_ptr_nonnull(b);
	json_array_foreach(entries, i, e) {
		size_t at;

		qd_listdoc_add(b, e);
		ck_assert(qd_listdoc_find(b, json_string_value(json_object_get(e, "id")), &at));
		ck_assert_uint_eq(at, i);
	}
	ck_assert(!qd_listdoc_failed(b));
	ck_assert_int_eq(qd_listdoc_finish(b, &d2), 0);
	s1 = qd_listdoc_dump(d1, &dlen);
	s2 = qd_listdoc_dump(d2, NULL);
	ck_assert_str_eq(s1, s2);
	qd_sha256_hex(s1, dlen, want);
	ck_assert_int_eq(qd_listdoc_sha256(d2, sha), 0);
	ck_assert_str_eq(sha, want);

	/* a repeated entry fails the document, and it stays failed */
	b = qd_listdoc_begin(head, NULL, &p);
	qd_listdoc_add(b, json_array_get(entries, 0));
	qd_listdoc_add(b, json_array_get(entries, 0));
	ck_assert(qd_listdoc_failed(b));
	ck_assert_uint_eq(qd_problems_total(&p), 1);
	ck_assert_str_eq(p.items[0].path, "/entries/1/id");
	qd_problems_free(&p);
	qd_listdoc_add(b, json_array_get(entries, 1));
	ck_assert(qd_listdoc_failed(b));
	ck_assert_int_eq(qd_listdoc_finish(b, NULL), QD_EINVAL);

	/* the caller's own verdict */
	b = qd_listdoc_begin(head, NULL, &p);
	qd_listdoc_discard(b);
	qd_listdoc_add(b, json_array_get(entries, 0));
	ck_assert_uint_eq(qd_problems_total(&p), 0);
	ck_assert_int_eq(qd_listdoc_finish(b, NULL), QD_EINVAL);

	free(s1);
	free(s2);
	qd_listdoc_free(d1);
	qd_listdoc_free(d2);
	json_decref(head);
	json_decref(all);
	free(buf);
}
END_TEST

/* A document of n entries, one a line after a head line; entry bad (or
 * none, when n) written as given instead. */
static char *many_entries(size_t n, size_t bad, const char *instead, size_t *len)
{
	size_t cap = 256 + n * 128 + (instead ? strlen(instead) : 0), o;
	char *d = malloc(cap);

	ck_assert_ptr_nonnull(d);
	o = (size_t)snprintf(d, cap, "%s\"entries\":[\n", SMALL_HEAD);
	for (size_t i = 0; i < n; i++) {
		const char *sep = i + 1 < n ? ",\n" : "\n";

		if (i == bad)
			o += (size_t)snprintf(d + o, cap - o, "%s%s", instead, sep);
		else
			o += (size_t)snprintf(d + o, cap - o, "{\"id\":\"E%zu\",\"code\":\"%04zu\","
					      "\"name\":{\"zh\":\"名%zu\"},\"clauses\":[\"C1\"]}%s",
					      i, 101 + i % 9000, i, sep);
	}
	o += (size_t)snprintf(d + o, cap - o, "]}");
	*len = o;
	return d;
}

/* A big document's entries are parsed ahead on a second thread: the
 * document, its digest and every problem (in document order, the first
 * syntax error alone, placed in the whole document) are those of a parse
 * in one piece. */
START_TEST(big_document_parsed_ahead)
{
	const size_t n = 6000;
	size_t len, wlen;
	char *doc = many_entries(n, n, NULL, &len), *bad, sha[65], want[65];
	json_t *whole = json_loadb(doc, len, 0, NULL);
	qd_listdoc *d = NULL, *w = NULL;
	qd_problems p;
	char *dump;

	qd_problems_init(&p);
	ck_assert_int_eq(qd_listdoc_parse(doc, len, "a", &d, &p), 0);
	ck_assert_uint_eq(d->n_entries, n);
	ck_assert_str_eq(d->entries[5999].id, "E5999");
	/* the tree of the whole document goes through no parsing thread */
	ck_assert_int_eq(qd_listdoc_from_json(whole, "a", &w, &p), 0);
	dump = qd_listdoc_dump(w, &wlen);
	qd_sha256_hex(dump, wlen, want);
	ck_assert_int_eq(qd_listdoc_sha256(d, sha), 0);
	ck_assert_str_eq(sha, want);
	free(dump);
	qd_listdoc_free(d);
	qd_listdoc_free(w);
	json_decref(whole);
	free(doc);

	/* rule violations of late entries, in order, and nothing kept */
	doc = many_entries(n, 4800, "{\"id\":\"E4800\",\"code\":\"12345678901\",\"name\":{\"zh\":\"x\"},"
			   "\"clauses\":[\"C1\"]}", &len);
	bad = strstr(doc, "{\"id\":\"E4200\"");
	ck_assert_ptr_nonnull(bad);
	memcpy(bad + 8, "10\",  ", 6);  /* E4200 becomes a second E10 */
	d = NULL;
	ck_assert_int_eq(qd_listdoc_parse(doc, len, "a", &d, &p), QD_EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_uint_eq(qd_problems_total(&p), 2);
	ck_assert_str_eq(p.items[0].path, "/entries/4200/id");
	ck_assert_str_eq(p.items[1].path, "/entries/4800/code");
	qd_problems_free(&p);
	free(doc);

	/* a syntax error late, and one early while the entries after it are
	 * being parsed ahead: the first is the only problem */
	for (size_t at = 5000; at > 0; at = at == 5000 ? 3 : 0) {
		char want_msg[200];
		json_error_t err;

		doc = many_entries(n, at, "{\"id\":\"EX\" \"code\":\"0101\"}", &len);
		/* where jansson places it in the whole document */
		ck_assert_ptr_null(json_loadb(doc, len, 0, &err));
		ck_assert_int_eq(err.line, (int)at + 2);
		snprintf(want_msg, sizeof want_msg, "not valid JSON: %s (line %d, column %d)",
			 err.text, err.line, err.column);
		ck_assert_int_eq(qd_listdoc_parse(doc, len, "a", &d, &p), QD_ESYNTAX);
		ck_assert_ptr_null(d);
		ck_assert_uint_eq(qd_problems_total(&p), 1);
		ck_assert_str_eq(p.items[0].message, want_msg);
		qd_problems_free(&p);
		free(doc);
	}
}
END_TEST

/* A whitelist of n entries where entry i is spoiled as flaw(i) says:
 * a problem of some kind, or none. */
static char *flawed_whitelist(size_t n, const char *(*flaw)(size_t), size_t *len)
{
	static const char head[] =
		"{\"list\":\"w\",\"kind\":\"whitelist\",\"title\":{\"zh\":\"白名单\"},"
		"\"clauses\":[{\"id\":\"C1\",\"document\":\"d\",\"article\":\"a\",\"text\":\"t\"},"
		"{\"id\":\"C2\",\"document\":\"d\",\"article\":\"b\",\"text\":\"t\"}],"
		"\"entities\":[{\"id\":\"91110000600037341L\",\"name\":{\"zh\":\"甲\"}},"
		"{\"id\":\"HK:12345678\",\"name\":{\"zh\":\"乙\"}}],\"entries\":[\n";
	size_t cap = sizeof head + n * 400, o;
	char *d = malloc(cap);

	ck_assert_ptr_nonnull(d);
	o = (size_t)snprintf(d, cap, "%s", head);
	for (size_t i = 0; i < n; i++) {
		const char *f = flaw(i), *sep = i + 1 < n ? ",\n" : "\n";
		const char *entity = i % 2 ? "HK:12345678" : "91110000600037341L";
		const char *code = "3822001000", *extra = "";
		char id[32], clause[8];

		snprintf(id, sizeof id, "W%zu", i);
		snprintf(clause, sizeof clause, "C%zu", 1 + i % 2);
		if (f == NULL)
			;
		else if (strncmp(f, "id=", 3) == 0)
			snprintf(id, sizeof id, "%s", f + 3);
		else if (strncmp(f, "clause=", 7) == 0)
			snprintf(clause, sizeof clause, "%s", f + 7);
		else if (strncmp(f, "entity=", 7) == 0)
			entity = f + 7;
		else if (strcmp(f, "code") == 0)
			code = "12345678901";
		else
			extra = f;
		o += (size_t)snprintf(d + o, cap - o,
				      "{\"id\":\"%s\",\"code\":\"%s\",\"name\":{\"zh\":\"试剂%zu\",\"en\":\"Reagent \\\"%zu\\\"\"},"
				      "\"spec\":\"%zumL/瓶\",\"entities\":[\"%s\"],\"valid_from\":\"2026-01-01\","
				      "\"valid_to\":\"2026-12-31\",\"clauses\":[\"%s\"]%s%s}%s",
				      id, code, i, i, i % 50 + 1, entity, clause, *extra ? "," : "", extra, sep);
		ck_assert_uint_lt(o, cap);
	}
	o += (size_t)snprintf(d + o, cap - o, "]}");
	*len = o;
	return d;
}

/* Flaws on entries of both threads' batches: unknown keys, bad codes, an
 * id taken by an earlier entry (in a batch of the other thread, and of
 * the same), a clause not defined, an entity off the roster. */
static const char *some_flaws(size_t i)
{
	if (i == 70)
		return "id=W3";     /* batch 1 (second thread) repeats batch 0's */
	if (i == 5000)
		return "id=W4999";  /* the same batch */
	if (i == 8191)
		return "id=W130";   /* batch 127 repeats batch 2's */
	if (i % 997 == 13)
		return "\"colour\":\"red\"";
	if (i % 1009 == 500)
		return "code";
	if (i % 1201 == 77)
		return "clause=C9";
	if (i % 1301 == 3)
		return "entity=91110000600037341X";
	return NULL;
}

/* Past the 200 problems kept: every entry from 3000 on is flawed. */
static const char *many_flaws(size_t i)
{
	return i >= 3000 && i % 3 ? "\"colour\":\"red\"" : i >= 3000 ? "code" : NULL;
}

static const char *no_flaw(size_t i)
{
	(void)i;
	return NULL;
}

/* A big document checked on two threads gives what one tree checked in
 * line gives: the same verdict, every problem in the same order with the
 * same words, the same count past the cap, the same digest. */
/* {"name":…,"spec":…,"aliases":…} of the entry JSON json, written from a
 * parse of it: what the terms held as item_check before flag 4. */
static char *item_check_parsed(const char *json, size_t n)
{
	json_t *e = json_loadb(json, n, 0, NULL);
	ck_assert_ptr_nonnull(e);
	json_t *al = json_object_get(e, "aliases"), *spec = json_object_get(e, "spec");
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "{\"name\":");
	ck_assert_int_eq(qd_json_write(&b, json_object_get(e, "name"), 15), 0);
	qd_buf_puts(&b, ",\"spec\":");
	if (spec)
		ck_assert_int_eq(qd_json_write(&b, spec, 15), 0);
	else
		qd_buf_puts(&b, "null");
	qd_buf_puts(&b, ",\"aliases\":");
	if (al)
		ck_assert_int_eq(qd_json_write(&b, al, 15), 0);
	else
		qd_buf_puts(&b, "[]");
	qd_buf_putc(&b, '}');
	json_decref(e);
	char *r = strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	return r;
}

/* An item entry's terms no longer hold its item_check object (flag 4): it
 * is rebuilt from the entry's JSON (qd_item_check_from_entry), which must
 * give the object the terms held — for every item entry of the sample
 * whitelist, and for entries whose names, spec and aliases hold quotes,
 * backslashes, escapes and the text of other keys. */
START_TEST(item_check_rebuilt_from_entry)
{
	static const char *const tricky =
		"{\"list\":\"t-pos\",\"kind\":\"positive\",\"title\":{\"zh\":\"测试\"},"
		"\"clauses\":[{\"id\":\"C1\",\"document\":\"d\",\"article\":\"a\",\"text\":\"t\"}],"
		"\"entries\":["
		"{\"id\":\"E-1\",\"code\":\"3002150000\",\"ciq\":\"101\",\"name\":{\"zh\":\"带\\\"引号\\\"的名称\","
		"\"en\":\"back\\\\slash \\\",\\\"spec\\\":1 \\u00e9\"},\"spec\":\"10 mL \\\"x\\\" ,\\\"aliases\\\":[]\","
		"\"identity\":\"item\",\"aliases\":[\"别名 \\\"一\\\"\",\"{\\\"effect\\\":2}\"],\"clauses\":[\"C1\"]},"
		"{\"id\":\"E.2_x\",\"code\":\"3002\",\"name\":{\"zh\":\"无规格\"},\"identity\":\"item\",\"clauses\":[\"C1\"],"
		"\"conditions\":[{\"type\":\"note\",\"text\":\"\\\"aliases\\\":[\\\"x\\\"]\"}]},"
		"{\"id\":\"E-3\",\"code\":\"3002150000\",\"name\":{\"zh\":\"类别\"},\"customs\":[\"22\"],"
		"\"clauses\":[\"C1\"]}]}";
	struct {
		const char *text;
		size_t len;
		char *owned;
	} docs[2] = {{tricky, strlen(tricky), NULL}, {NULL, 0, NULL}};
	docs[1].owned = read_fixture("schema/examples/biomed-rd-whitelist.json", &docs[1].len);
	docs[1].text = docs[1].owned;
	int items = 0, categories = 0, with_aliases = 0;
	for (int k = 0; k < 2; k++) {
		qd_listdoc *doc = NULL;
		qd_problems pr;
		qd_problems_init(&pr);
		int rc = qd_listdoc_parse(docs[k].text, docs[k].len, NULL, &doc, &pr);
		ck_assert_msg(rc == 0, "document %d: %s", k, pr.count ? pr.items[0].message : "");
		for (size_t i = 0; i < doc->n_entries; i++) {
			const qd_entry *e = &doc->entries[i];
			qd_entry_terms t;
			if (!e->terms) {
				categories++;
				continue;
			}
			ck_assert_int_eq(qd_entry_terms_decode(e->terms, e->terms_len, &t), 0);
			if (!t.item) {
				ck_assert(!t.item_in_entry);
				ck_assert_str_eq(t.item_check, "");
				categories++;
				continue;
			}
			ck_assert_msg(t.item_in_entry, "%s: flag 4 not set", e->id);
			ck_assert_str_eq(t.item_check, "");
			char *want = item_check_parsed(e->json, e->json_len);
			qd_buf got;
			qd_buf_init(&got);
			ck_assert_int_eq(qd_item_check_from_entry(e->json, e->json_len, &got), 0);
			ck_assert_msg(strcmp(qd_buf_cstr(&got), want) == 0, "%s:\nrebuilt %s\nparsed  %s", e->id,
				      qd_buf_cstr(&got), want);
			with_aliases += strstr(want, "\"aliases\":[]") == NULL;
			items++;
			free(want);
			qd_buf_free(&got);
		}
		qd_listdoc_free(doc);
		qd_problems_free(&pr);
	}
	ck_assert_int_ge(items, 5);
	ck_assert_int_ge(with_aliases, 3);
	ck_assert_int_ge(categories, 1);
	free(docs[1].owned);

	/* Not an object it can read: refused, nothing half written. */
	static const char *const bad[] = {"", "[]", "{\"name\":{\"zh\":\"x\"", "{\"name\":\"x", "{\"id\":1,"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		qd_buf b;
		qd_buf_init(&b);
		ck_assert_msg(qd_item_check_from_entry(bad[i], strlen(bad[i]), &b) == -1, "accepted %s", bad[i]);
		qd_buf_free(&b);
	}
}
END_TEST

START_TEST(big_document_checked_on_two_threads)
{
	const char *(*const flaws[])(size_t) = { no_flaw, some_flaws, many_flaws };

	for (size_t f = 0; f < sizeof flaws / sizeof *flaws; f++) {
		const size_t n = 9000;
		size_t len;
		char *doc = flawed_whitelist(n, flaws[f], &len);
		json_t *whole = json_loadb(doc, len, 0, NULL);
		qd_listdoc *d = NULL, *w = NULL;
		qd_problems p, q;
		int rc;

		ck_assert_ptr_nonnull(whole);
		qd_problems_init(&p);
		qd_problems_init(&q);
		rc = qd_listdoc_parse(doc, len, "w", &d, &p);
		ck_assert_int_eq(qd_listdoc_from_json(whole, "w", &w, &q), rc);
		ck_assert_int_eq(rc, f == 0 ? 0 : QD_EINVAL);
		ck_assert_uint_eq(p.count, q.count);
		ck_assert_uint_eq(p.omitted, q.omitted);
		for (size_t i = 0; i < p.count; i++) {
			ck_assert_str_eq(p.items[i].path, q.items[i].path);
			ck_assert_str_eq(p.items[i].message, q.items[i].message);
		}
		if (f == 1) {
			/* each kind of flaw is there, the repeated ids too */
			static const char *const want[][2] = {
				{"/entries/3/entities/0", "check character"},
				{"/entries/13/colour", "unknown key"},
				{"/entries/70/id", "already used by /entries/3"},
				{"/entries/77/clauses/0", "not defined"},
				{"/entries/500/code", "code"},
				{"/entries/5000/id", "already used by /entries/4999"},
				{"/entries/8191/id", "already used by /entries/130"},
			};
			for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
				bool found = false;
				for (size_t i = 0; i < p.count && !found; i++)
					found = strcmp(p.items[i].path, want[k][0]) == 0 &&
						strstr(p.items[i].message, want[k][1]) != NULL;
				ck_assert_msg(found, "no problem at %s", want[k][0]);
			}
		}
		if (f == 2)
			ck_assert_uint_gt(p.omitted, 1000);
		if (rc == 0) {
			char a[65], b[65];

			ck_assert_uint_eq(d->n_entries, n);
			ck_assert_int_eq(qd_listdoc_sha256(d, a), 0);
			ck_assert_int_eq(qd_listdoc_sha256(w, b), 0);
			ck_assert_str_eq(a, b);
			for (size_t i = 0; i < n; i++) {
				ck_assert_str_eq(d->entries[i].id, w->entries[i].id);
				ck_assert_uint_eq(d->entries[i].n_entities, 1);
				ck_assert_str_eq(d->entries[i].entities[0], w->entries[i].entities[0]);
				ck_assert_uint_eq(d->entries[i].n_clauses, 1);
				ck_assert_uint_eq(d->entries[i].clauses[0], i % 2);
				ck_assert_uint_eq(d->entries[i].terms_len, w->entries[i].terms_len);
				ck_assert(memcmp(d->entries[i].terms, w->entries[i].terms,
						 w->entries[i].terms_len) == 0);
				ck_assert_int_eq(d->entries[i].valid_to, w->entries[i].valid_to);
			}
		}
		qd_listdoc_free(d);
		qd_listdoc_free(w);
		qd_problems_free(&p);
		qd_problems_free(&q);
		json_decref(whole);
		free(doc);
	}

	/* A head with a problem: nothing is kept, every entry is still
	 * checked, and the problems are those of the tree checked in line. */
	size_t len;
	char *doc = flawed_whitelist(6000, some_flaws, &len), *t = strstr(doc, "\"title\"");
	ck_assert_ptr_nonnull(t);
	memcpy(t, "\"titel\"", 7);
	json_t *whole = json_loadb(doc, len, 0, NULL);
	qd_listdoc *d = NULL, *w = NULL;
	qd_problems p, q;
	qd_problems_init(&p);
	qd_problems_init(&q);
	ck_assert_int_eq(qd_listdoc_parse(doc, len, "w", &d, &p), QD_EINVAL);
	ck_assert_int_eq(qd_listdoc_from_json(whole, "w", &w, &q), QD_EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_uint_gt(p.count, 10);
	ck_assert_uint_eq(p.count, q.count);
	ck_assert_uint_eq(p.omitted, q.omitted);
	for (size_t i = 0; i < p.count; i++) {
		ck_assert_str_eq(p.items[i].path, q.items[i].path);
		ck_assert_str_eq(p.items[i].message, q.items[i].message);
	}
	ck_assert_str_eq(p.items[0].path, "/titel");
	qd_problems_free(&p);
	qd_problems_free(&q);
	json_decref(whole);
	free(doc);
}
END_TEST

static Suite *listdoc_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("listdoc");

	tcase_add_test(tc, positive_fixture_model);
	tcase_add_test(tc, whitelist_fixture_model);
	tcase_add_test(tc, canonical_defaults_exact);
	tcase_add_loop_test(tc, dump_idempotent, 0, (int)(sizeof(fixtures) / sizeof(fixtures[0])));
	tcase_add_test(tc, real_limits_round_trip);
	tcase_add_test(tc, from_json_keeps_caller_reference);
	tcase_add_test(tc, arena_threads);
	tcase_add_test(tc, from_json_copies_into_arena);
	tcase_add_test(tc, expect_list);
	tcase_add_test(tc, syntax_errors);
	tcase_add_test(tc, duplicate_key_is_einval);
	tcase_add_test(tc, root_not_object);
	tcase_add_test(tc, v2_cross_rules);
	tcase_add_test(tc, v2_canonical_form);
	tcase_add_loop_test(tc, rule, 0, (int)(sizeof(rule_cases) / sizeof(rule_cases[0])));
	tcase_add_test(tc, string_limits);
	tcase_add_test(tc, string_limits_count_characters);
	tcase_add_test(tc, nulls_mean_absent);
	tcase_add_test(tc, unknown_keys);
	tcase_add_test(tc, all_violations_at_once);
	tcase_add_test(tc, problem_cap);
	tcase_add_test(tc, long_values_are_shortened);
	tcase_add_test(tc, list_ids);
	tcase_add_test(tc, enum_names);
	tcase_add_test(tc, problems_collection);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, clauses_per_entry_cap);
	tcase_add_test(tc, long_arrays_check_in_linear_time);
	tcase_add_test(tc, errors_placed_in_whole_document);
	tcase_add_test(tc, builder_matches_parse);
	tcase_add_test(tc, big_document_parsed_ahead);
	tcase_add_test(tc, big_document_checked_on_two_threads);
	tcase_add_test(tc, item_check_rebuilt_from_entry);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(listdoc_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
