/* Unit tests: the compact JSON writer (src/lib/jsonw.c) against json_dumps,
 * on hand-built values and on parsed documents. */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/err.h"
#include "qingdan/jsonw.h"
#include "qingdan/listdoc.h"

/* The writer's bytes must be json_dumps' bytes, or both must fail. */
static void same_as_dumps(const json_t *j, int precision)
{
	char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(precision));
	qd_buf b;
	int rc;

	qd_buf_init(&b);
	rc = qd_json_write(&b, j, precision);
	if (want == NULL) {
		ck_assert_int_eq(rc, QD_EINVAL);
	} else {
		ck_assert_int_eq(rc, 0);
		ck_assert_msg(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0,
			      "precision %d:\n json_dumps %s\n qd_json_write %.*s", precision, want,
			      (int)b.len, b.data ? b.data : "");
	}
	qd_buf_free(&b);
	free(want);
}

static void same_all_precisions(const json_t *j)
{
	static const int precisions[] = { 0, 1, 2, 6, 15, 16, 17, 20, 31 };

	for (size_t i = 0; i < sizeof(precisions) / sizeof(precisions[0]); i++)
		same_as_dumps(j, precisions[i]);
}

static void same_steal(json_t *j)
{
	ck_assert_ptr_nonnull(j);
	same_all_precisions(j);
	json_decref(j);
}

/* A fixed pseudo-random sequence (xorshift64), so failures reproduce. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

START_TEST(reals)
{
	static const double fixed[] = {
		0.0, -0.0, 0.1, 0.2, 0.3, 1.0, -1.0, 100.0, 500.0, 1e300, -1e300, 1.5e-7, 1e-7,
		1e21, 1e22, 1e15, 1e16, 1e17, 123456789012345678.0, 2.5, 1.0 / 3.0, 2.0 / 3.0,
		0.1 + 0.2, 5e-324, 2.2250738585072014e-308, -1.2345678901234567e-308,
		1.7976931348623157e308, 9007199254740993.0, 1e-5, 1e-4, 0.001, 12.5, 1234567.0,
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		same_steal(json_real(fixed[i]));
	/* Every decimal magnitude, with a few mantissas each. */
	for (int e = -323; e <= 308; e++) {
		static const double mant[] = { 1.0, 1.5, 9.999999, 3.14159265358979, 7.0 };

		for (size_t k = 0; k < sizeof(mant) / sizeof(mant[0]); k++) {
			double x = mant[k] * pow(10.0, e);

			if (isfinite(x))
				same_steal(json_real(e % 2 ? -x : x));
		}
	}
}
END_TEST

START_TEST(reals_random)
{
	/* Arbitrary bit patterns (jansson refuses NaN and infinities), each
	 * at some precision. */
	for (int i = 0; i < 20000; i++) {
		uint64_t bits = rnd();
		double x;

		memcpy(&x, &bits, sizeof(x));
		if (isfinite(x)) {
			json_t *j = json_real(x);

			same_as_dumps(j, (int)(bits % 32));
			json_decref(j);
		}
	}
}
END_TEST

START_TEST(integers)
{
	static const json_int_t fixed[] = {
		0, 1, -1, 9, 10, -10, 99, 100, 500, INT_MAX, INT_MIN, (json_int_t)INT_MAX + 1,
		LLONG_MAX, LLONG_MIN, LLONG_MIN + 1, 9007199254740993LL, -9007199254740993LL,
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		same_steal(json_integer(fixed[i]));
	for (int i = 0; i < 2000; i++)
		same_steal(json_integer((json_int_t)rnd() >> (rnd() % 64)));
}
END_TEST

START_TEST(literals)
{
	same_steal(json_null());
	same_steal(json_true());
	same_steal(json_false());
}
END_TEST

START_TEST(strings)
{
	char s[8];
	json_t *o = json_object();

	/* Every byte below 0x80, alone and between others, as value and key. */
	for (int c = 0; c < 0x80; c++) {
		char key[4] = { 'k', (char)c, 'k', '\0' };

		s[0] = 'a';
		s[1] = (char)c;
		s[2] = 'b';
		same_steal(json_stringn(s, 3));
		same_steal(json_stringn(s + 1, 1));
		if (c != 0)
			ck_assert_int_eq(json_object_set_new(o, key, json_stringn(s, 3)), 0);
	}
	same_steal(o);
	same_steal(json_string(""));
	same_steal(json_string("/path/to\\file \"quoted\" </script>"));
	same_steal(json_string("商品名称：医疗器械（二类）；规格 5×10 ml"));
	same_steal(json_string("emoji \xf0\x9f\x98\x80 and U+FFFF \xef\xbf\xbf, U+10FFFF \xf4\x8f\xbf\xbf"));
	same_steal(json_string("\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"));
	same_steal(json_stringn("nul\0inside", 10));
	same_steal(json_string("\x7f del stays"));
	/* Not UTF-8: only a _nocheck constructor makes one; both refuse it. */
	same_steal(json_stringn_nocheck("bad \xff byte", 10));
	same_steal(json_stringn_nocheck("cut \xe5\x95", 6));
	same_steal(json_stringn_nocheck("surrogate \xed\xa0\x80", 13));
	same_steal(json_stringn_nocheck("overlong \xc0\xaf", 11));
}
END_TEST

START_TEST(containers)
{
	json_t *deep = json_array(), *cur = deep;

	same_steal(json_object());
	same_steal(json_array());
	same_steal(json_pack("{s:{}, s:[], s:[{}], s:[[]], s:{s:[]}}", "a", "b", "c", "d", "e", "f"));
	same_steal(json_pack("[i, f, s, n, b, b, [i, [i, [i]]], {s:{s:{s:i}}}]", 1, 2.5, "x", 1, 0,
			     2, 3, 4, "p", "q", "r", 5));
	/* Insertion order, also after a key was deleted and set again. */
	{
		json_t *o = json_pack("{s:i, s:i, s:i}", "zeta", 1, "alpha", 2, "mid", 3);

		ck_assert_int_eq(json_object_del(o, "alpha"), 0);
		ck_assert_int_eq(json_object_set_new(o, "alpha", json_integer(4)), 0);
		ck_assert_int_eq(json_object_set_new(o, "zeta", json_integer(5)), 0);
		same_steal(o);
	}
	/* Keys with escapes and a NUL. */
	{
		json_t *o = json_object();

		ck_assert_int_eq(json_object_setn_new(o, "a\0b", 3, json_true()), 0);
		ck_assert_int_eq(json_object_set_new(o, "tab\there \"q\" \\ 键", json_false()), 0);
		same_steal(o);
	}
	for (int i = 0; i < 3000; i++) {
		json_t *next = json_array();

		ck_assert_int_eq(json_array_append_new(cur, next), 0);
		cur = next;
	}
	same_steal(deep);
}
END_TEST

START_TEST(too_deep)
{
	json_t *deep = json_object(), *cur = deep;
	qd_buf b;

	for (int i = 0; i < QD_JSONW_DEPTH_MAX; i++) {
		json_t *next = json_object();

		ck_assert_int_eq(json_object_set_new(cur, "k", next), 0);
		cur = next;
	}
	qd_buf_init(&b);
	ck_assert_int_eq(qd_json_write(&b, deep, 15), QD_EINVAL);
	ck_assert_int_eq(qd_json_write(&b, NULL, 15), QD_EINVAL);
	ck_assert_int_eq(qd_json_write(&b, json_null(), 32), QD_EINVAL);
	qd_buf_free(&b);
	json_decref(deep);
}
END_TEST

/* A random string of pieces that need escaping or are multibyte. */
static size_t random_str(char s[64])
{
	static const char *const pieces[] = { "a", "键", "\"", "\\", "\n", "\x01", "/", "é", " ", "0" };
	size_t n = 0;

	for (unsigned k = (unsigned)(rnd() % 6); k > 0; k--) {
		const char *p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];

		memcpy(s + n, p, strlen(p));
		n += strlen(p);
	}
	s[n] = '\0';
	return n;
}

/* Random trees: every kind of value, random keys with escapes. */
static json_t *random_tree(int depth)
{
	unsigned kind = (unsigned)(rnd() % (depth > 4 ? 6 : 8));
	char s[64];
	size_t n = random_str(s);

	switch (kind) {
	case 0: return json_null();
	case 1: return json_boolean(rnd() & 1);
	case 2: return json_integer((json_int_t)rnd());
	case 3: return json_real((double)(int64_t)rnd() / (double)(1ULL << (rnd() % 64)));
	case 4:
	case 5: return json_stringn(s, n);
	case 6: {
		json_t *a = json_array();

		for (unsigned k = (unsigned)(rnd() % 5); k > 0; k--)
			json_array_append_new(a, random_tree(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();

		for (unsigned k = (unsigned)(rnd() % 5); k > 0; k--) {
			n = random_str(s);
			ck_assert_int_eq(json_object_setn_new(o, s, n, random_tree(depth + 1)), 0);
		}
		return o;
	}
	}
}

START_TEST(random_trees)
{
	for (int i = 0; i < 3000; i++)
		same_steal(random_tree(0));
}
END_TEST

static void same_file(const char *path)
{
	json_error_t err;
	json_t *j = json_load_file(path, JSON_DECODE_ANY, &err);

	if (j == NULL)
		return; /* the broken fixtures are there to be refused */
	same_steal(j);
}

static void same_dir(const char *rel)
{
	const char *root = getenv("QD_SOURCE_ROOT");
	char dir[1024], path[2048];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/%s", root ? root : ".", rel);
	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s (set QD_SOURCE_ROOT)", dir);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		same_file(path);
		n++;
	}
	closedir(d);
	ck_assert_int_gt(n, 0);
}

START_TEST(parsed_documents)
{
	same_dir("schema/examples");
	same_dir("tests/data/listdoc");
	same_file("/dev/null");
}
END_TEST

/* The loader's entry renderings are json_dumps' with 15 digits. */
START_TEST(listdoc_entries)
{
	const char *root = getenv("QD_SOURCE_ROOT");
	static const char *const files[] = { "schema/examples/gba-research-positive.json",
					     "schema/examples/biomed-rd-whitelist.json" };

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char path[1024];
		FILE *fp;
		char buf[1 << 16];
		size_t len;
		qd_listdoc *doc = NULL;

		snprintf(path, sizeof(path), "%s/%s", root ? root : ".", files[f]);
		fp = fopen(path, "rb");
		ck_assert_msg(fp != NULL, "cannot open %s", path);
		len = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		ck_assert_int_eq(qd_listdoc_parse(buf, len, NULL, &doc, NULL), 0);
		ck_assert_uint_gt(doc->n_entries, 0);
		for (size_t i = 0; i < doc->n_entries; i++) {
			size_t l;
			char *mine = qd_listdoc_entry_json(doc, i, &l);
			json_t *tree = json_loadb(doc->entries[i].json, doc->entries[i].json_len, 0, NULL);
			char *want = json_dumps(tree, JSON_COMPACT | JSON_REAL_PRECISION(15));

			json_decref(tree);

			ck_assert_ptr_nonnull(mine);
			ck_assert_ptr_nonnull(want);
			ck_assert_str_eq(mine, want);
			ck_assert_uint_eq(l, strlen(want));
			free(mine);
			free(want);
		}
		qd_listdoc_free(doc);
	}
}
END_TEST

/* Writing reads the tree only: reference counts stay, and two threads may
 * write one tree at once. */
struct writer_arg {
	const json_t *tree;
	const char *want;
	int ok;
};

static void *writer(void *p)
{
	struct writer_arg *a = p;
	qd_buf b;

	qd_buf_init(&b);
	a->ok = 1;
	for (int i = 0; i < 2000 && a->ok; i++) {
		qd_buf_reset(&b);
		a->ok = qd_json_write(&b, a->tree, 15) == 0 && strcmp(qd_buf_cstr(&b), a->want) == 0;
	}
	qd_buf_free(&b);
	return NULL;
}

START_TEST(read_only)
{
	json_t *tree = json_pack("{s:[s, {s:f}], s:{s:i}}", "a", "x", "b", 0.1, "c", "d", 7);
	json_t *inner = json_object_get(tree, "a");
	size_t before = tree->refcount, inner_before = inner->refcount;
	char *want = json_dumps(tree, JSON_COMPACT | JSON_REAL_PRECISION(15));
	struct writer_arg args[2] = { { tree, want, 0 }, { tree, want, 0 } };
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, writer, &args[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(args[i].ok, 1);
	}
	ck_assert_uint_eq(tree->refcount, before);
	ck_assert_uint_eq(inner->refcount, inner_before);
	free(want);
	json_decref(tree);
}
END_TEST

static Suite *jsonw_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("jsonw");

	tcase_add_test(tc, reals);
	tcase_add_test(tc, reals_random);
	tcase_add_test(tc, integers);
	tcase_add_test(tc, literals);
	tcase_add_test(tc, strings);
	tcase_add_test(tc, containers);
	tcase_add_test(tc, too_deep);
	tcase_add_test(tc, random_trees);
	tcase_add_test(tc, parsed_documents);
	tcase_add_test(tc, listdoc_entries);
	tcase_add_test(tc, read_only);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jsonw_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
