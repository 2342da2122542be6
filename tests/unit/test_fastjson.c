/* Unit tests: the entry reader that skips jansson's lexer
 * (src/lib/listdoc/fast.c), held against json_loadb() with the load's
 * flags.  The one rule: whatever the fast reader returns, jansson returns
 * too, the same tree (same types, same key order, same bytes when dumped);
 * whatever it gives up on, jansson decides.  And it must take the plain
 * shapes of real entries, or loads gain nothing. */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* src/lib/listdoc/listdoc_int.h (not installed) */
json_t *qd_ld_fast_parse(const char *s, size_t n);
#define FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

static size_t n_taken, n_left;

/* Hold the two readers side by side on s[0, n); true when the fast one
 * took it. */
static bool agree(const char *s, size_t n)
{
	json_error_t err;
	json_t *f = qd_ld_fast_parse(s, n);
	json_t *j = json_loadb(s, n, FLAGS, &err);

	if (f != NULL) {
		ck_assert_msg(j != NULL, "fast reader took what jansson refuses (%s): %.*s", err.text,
			      (int)(n < 200 ? n : 200), s);
		char *df = json_dumps(f, JSON_COMPACT | JSON_ENCODE_ANY);
		char *dj = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		ck_assert_ptr_nonnull(df);
		ck_assert_ptr_nonnull(dj);
		ck_assert_msg(strcmp(df, dj) == 0, "trees differ:\n fast    %s\n jansson %s", df, dj);
		ck_assert(json_equal(f, j));
		free(df);
		free(dj);
		n_taken++;
	} else {
		n_left++;
	}
	json_decref(f);
	json_decref(j);
	return f != NULL;
}

static bool agree_s(const char *s)
{
	return agree(s, strlen(s));
}

/* Taken by the fast reader (and the same as jansson's). */
static const char *const taken[] = {
	"{}", "[]", " { } ", "\n[\r\n\t]\n", "0", "-0", "7", "-12", "123456789012345678",
	"-123456789012345678", "true", "false", "null", "\"\"", "\"a\"",
	"{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
	"{\"id\": \"PL-000001\", \"code\": \"30010011\", \"ciq\": null, \"quantity\": {\"limit\": 1200, \"unit\": \"kg\"}}",
	"\"质谱仪（30010011类，第1项）\"",
	"\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"",
	"\"\\u00e9\\u4e2d\\u6587\"", "\"\\u4E2D\"", "\"\\ud83d\\ude00\"", "\"\\uD83D\\uDE00\"",
	"\"a\\u0001b\"", "\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"",
	"\"\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbf \xe0\xa0\x80 \xc2\x80 \x7f\"",
	"{\"\\u952e\": \"\\u503c\", \"k\\n\": [\"\\t\"]}",
	"{\"a\": {\"a\": {\"a\": 1}}}",
	"[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
};

/* Given up on; jansson refuses some and takes others. */
static const char *const left[] = {
	"", " ", "1.5", "1e5", "1E5", "-1.0e-3", "0.0", "1234567890123456789",
	"99999999999999999999", "9999999999999999999999999999", "-9999999999999999999", "01", "-", "--1", "+1", ".5", "1.", "truex", "tru", "nul",
	"nulll", "True", "[1,]", "[,1]", "{,}", "{\"a\" 1}", "{\"a\":}", "{\"a\":1,}", "[1 2]",
	"{} x", "{}{}", "[1]]", "\"abc", "\"a\\\"", "{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":2,\"a\":1}",
	"\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"",
	"\"\\u12g4\"", "\"\\u12\"", "\"\\x41\"", "\"\\\"", "\"\\a\"", "\"a\x01b\"", "\"\x1f\"",
	"\"\xc0\x80\"", "\"\xc1\xbf\"", "\"\x80\"", "\"\xbf\"", "\"\xe0\x80\x80\"",
	"\"\xed\xa0\x80\"", "\"\xf0\x80\x80\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"",
	"\"\xff\"", "\"\xe4\xb8\"", "\"\xe4\"", "{\"\xe4\":1}", "[\"a\"\xe4]",
	"[1, 2.5]", "{\"limit\": 0.1}",
	"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	"{\"a\":[1,{\"b\":\"\\u0000\"}]",
};

START_TEST(table)
{
	for (size_t i = 0; i < sizeof taken / sizeof *taken; i++)
		ck_assert_msg(agree_s(taken[i]), "not taken: %s", taken[i]);
	for (size_t i = 0; i < sizeof left / sizeof *left; i++)
		ck_assert_msg(!agree_s(left[i]), "taken: %s", left[i]);
	/* A NUL byte in the text, where a C string cannot show it. */
	ck_assert(!agree("\"a\0b\"", 5));
	ck_assert(!agree("[1]\0", 4));
	/* Escaped keys longer than the reader's key buffer. */
	char big[1400];
	strcpy(big, "{\"");
	for (int i = 0; i < 200; i++)
		strcat(big, "\\u4e2d");
	strcat(big, "\": 1}");
	ck_assert(agree_s(big));
}
END_TEST

/* The entries of every sample and test list document, as written and
 * re-dumped three ways (compact, indented, \u-escaped). */
static json_t *entry_texts(void)
{
	static const char *const dirs[] = {"schema/examples", "tests/data/listdoc",
					   "tests/fuzz/listdoc.in"};
	const char *root = getenv("QD_SOURCE_ROOT");
	json_t *out = json_array();

	ck_assert_ptr_nonnull(root);
	for (size_t d = 0; d < sizeof dirs / sizeof *dirs; d++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", root, dirs[d]);
		DIR *dir = opendir(path);
		ck_assert_msg(dir != NULL, "%s", path);
		struct dirent *de;
		while ((de = readdir(dir)) != NULL) {
			size_t l = strlen(de->d_name);
			if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
				continue;
			snprintf(path, sizeof path, "%s/%s/%s", root, dirs[d], de->d_name);
			json_t *doc = json_load_file(path, 0, NULL);
			json_t *ents = json_object_get(doc, "entries");
			for (size_t i = 0; i < json_array_size(ents); i++) {
				static const size_t how[] = {JSON_COMPACT, JSON_INDENT(2),
							     JSON_ENSURE_ASCII | JSON_INDENT(1)};
				for (size_t h = 0; h < 3; h++) {
					char *s = json_dumps(json_array_get(ents, i), how[h] | JSON_ENCODE_ANY);
					ck_assert_ptr_nonnull(s);
					json_array_append_new(out, json_string(s));
					free(s);
				}
			}
			json_decref(doc);
		}
		closedir(dir);
	}
	return out;
}

START_TEST(sample_entries)
{
	json_t *all = entry_texts();
	size_t n = json_array_size(all), took = 0;

	ck_assert_uint_gt(n, 300);
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(all, i);
		took += agree(json_string_value(s), json_string_length(s));
	}
	/* Entries with real numbers (a quantity of 0.5 kg) go to jansson;
	 * nearly all the rest must not. */
	ck_assert_msg(took * 10 >= n * 9, "the fast reader took %zu of %zu entries", took, n);
	json_decref(all);
}
END_TEST

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Mutations of sample entries, held side by side: bytes that matter to
 * a JSON reader put in, taken out and changed at random. */
START_TEST(mutations)
{
	static const unsigned char interesting[] = {
		'"', '\\', 'u', '0', '9', '-', '.', 'e', 'E', ',', ':', '{', '}', '[', ']', ' ', '\n',
		'd', 'D', '8', 'c', 'f', 't', 'n', 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xa0, 0xbf, 0xc0,
		0xc2, 0xdf, 0xe0, 0xe4, 0xed, 0xef, 0xf0, 0xf4, 0x90, 0x8f, 0xf5, 0xff,
	};
	json_t *all = entry_texts();
	size_t n = json_array_size(all);
	size_t taken0 = n_taken, left0 = n_left;
	char buf[8192];

	for (int it = 0; it < 40000; it++) {
		json_t *s = json_array_get(all, next() % n);
		size_t l = json_string_length(s);
		if (l >= sizeof buf - 16)
			continue;
		memcpy(buf, json_string_value(s), l);
		int muts = 1 + (int)(next() % 3);
		for (int m = 0; m < muts && l > 0; m++) {
			size_t at = next() % l;
			unsigned char c = interesting[next() % sizeof interesting];
			switch (next() % 4) {
			case 0: /* change */
				buf[at] = (char)c;
				break;
			case 1: /* insert */
				memmove(buf + at + 1, buf + at, l - at);
				buf[at] = (char)c;
				l++;
				break;
			case 2: /* delete */
				memmove(buf + at, buf + at + 1, l - at - 1);
				l--;
				break;
			default: /* an escape where a character was */
				if (l + 6 < sizeof buf) {
					static const char *const esc[] = {"\\u0000", "\\ud800", "\\udc00",
									  "\\u00e9", "\\\\", "\\\"", "\\uD83D"};
					const char *e = esc[next() % 7];
					size_t el = strlen(e);
					memmove(buf + at + el, buf + at + 1, l - at - 1);
					memcpy(buf + at, e, el);
					l += el - 1;
				}
			}
		}
		agree(buf, l);
	}
	/* Both outcomes were seen many times, so both paths were held. */
	ck_assert_uint_gt(n_taken - taken0, 2000);
	ck_assert_uint_gt(n_left - left0, 2000);
	json_decref(all);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fastjson");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, table);
	tcase_add_test(tc, sample_entries);
	tcase_add_test(tc, mutations);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
