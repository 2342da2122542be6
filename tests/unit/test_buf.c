/* Unit tests: the growable byte buffer (src/lib/buf.c).
 *
 * What renderers rely on: appends of every kind land in order and the
 * contents stay NUL-terminated; a reservation holds; JSON strings come out
 * escaped and always valid JSON (broken UTF-8 becomes U+FFFD); an append
 * that cannot be satisfied sets `oom` and later appends are ignored until
 * a reset; reset keeps the memory, steal hands it over, free leaves the
 * buffer reusable; files are read whole, up to a limit. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "qingdan/buf.h"
#include "qingdan/mem.h"

/* The buffer's invariants after any successful append. */
static void check_shape(const qd_buf *b)
{
	ck_assert(!b->oom);
	ck_assert_ptr_nonnull(b->data);
	ck_assert_uint_gt(b->cap, b->len);
	ck_assert_int_eq(b->data[b->len], '\0');
}

/* The JSON string qd_buf_json_str() writes for n bytes of s, as a string
 * that must parse as JSON; returns the decoded value (malloc()ed) and its
 * length. */
static char *json_roundtrip(const char *s, size_t n, size_t *outlen)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_json_str(&b, s, n);
	ck_assert(!b.oom);
	json_error_t je;
	json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	ck_assert_msg(j != NULL, "not JSON (%s): %s", je.text, qd_buf_cstr(&b));
	ck_assert(json_is_string(j));
	*outlen = json_string_length(j);
	char *out = malloc(*outlen + 1);
	ck_assert_ptr_nonnull(out);
	memcpy(out, json_string_value(j), *outlen + 1);
	json_decref(j);
	qd_buf_free(&b);
	return out;
}

/* qd_buf_json_str() of n bytes of s must be exactly want. */
static void json_is(const char *s, size_t n, const char *want)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_json_str(&b, s, n);
	ck_assert_str_eq(qd_buf_cstr(&b), want);
	ck_assert_uint_eq(b.len, strlen(want));
	qd_buf_free(&b);
}

#define U8(s) (const unsigned char *)(s)

/* ---- init, empty, small appends ---- */

START_TEST(init_is_zero_fill)
{
	qd_buf a, z;
	memset(&a, 0x5a, sizeof a);
	qd_buf_init(&a);
	memset(&z, 0, sizeof z);
	ck_assert_ptr_null(a.data);
	ck_assert_uint_eq(a.len, 0);
	ck_assert_uint_eq(a.cap, 0);
	ck_assert(!a.oom);
	ck_assert_int_eq(memcmp(&a, &z, sizeof a), 0);
	/* An empty buffer reads as "" without allocating. */
	ck_assert_str_eq(qd_buf_cstr(&a), "");
	ck_assert_ptr_null(a.data);
	/* A zero-filled buffer is usable as is. */
	qd_buf_puts(&z, "x");
	ck_assert_str_eq(qd_buf_cstr(&z), "x");
	qd_buf_free(&z);
	qd_buf_free(&a);
}
END_TEST

START_TEST(appends_in_order)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_add(&b, "ab", 2);
	check_shape(&b);
	qd_buf_puts(&b, "cd");
	qd_buf_putc(&b, 'e');
	qd_buf_put_uint(&b, 42);
	qd_buf_printf(&b, "[%s:%d]", "f", -7);
	qd_buf_add(&b, "", 0);
	qd_buf_puts(&b, "");
	check_shape(&b);
	ck_assert_str_eq(b.data, "abcde42[f:-7]");
	ck_assert_uint_eq(b.len, 13);
	qd_buf_free(&b);
}
END_TEST

START_TEST(add_keeps_embedded_nul)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_add(&b, "a\0b", 3);
	qd_buf_putc(&b, '\0');
	qd_buf_putc(&b, 'c');
	ck_assert_uint_eq(b.len, 5);
	ck_assert_int_eq(memcmp(b.data, "a\0b\0c", 6), 0);
	qd_buf_free(&b);
}
END_TEST

START_TEST(add_zero_to_empty)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_add(&b, "unused", 0);
	ck_assert(!b.oom);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(qd_buf_cstr(&b), "");
	qd_buf_free(&b);
}
END_TEST

START_TEST(put_uint_digits)
{
	static const struct {
		unsigned long long v;
		const char *s;
	} t[] = {
		{0, "0"}, {9, "9"}, {10, "10"}, {1000000, "1000000"},
		{4294967295ULL, "4294967295"}, {ULLONG_MAX, "18446744073709551615"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		qd_buf b;
		qd_buf_init(&b);
		qd_buf_puts(&b, "=");
		qd_buf_put_uint(&b, t[i].v);
		ck_assert_str_eq(b.data + 1, t[i].s);
		ck_assert_uint_eq(b.len, 1 + strlen(t[i].s));
		qd_buf_free(&b);
	}
}
END_TEST

/* ---- growth ---- */

START_TEST(growth_keeps_contents)
{
	qd_buf b;
	qd_buf_init(&b);
	size_t grows = 0, cap = 0;
	/* 200 000 bytes one at a time, then in odd-sized pieces. */
	for (size_t i = 0; i < 200000; i++) {
		qd_buf_putc(&b, (char)('a' + i % 26));
		if (b.cap != cap) {
			grows++;
			cap = b.cap;
		}
	}
	check_shape(&b);
	ck_assert_uint_eq(b.len, 200000);
	/* Growth is geometric: a handful of reallocations, not one per byte. */
	ck_assert_uint_lt(grows, 20);
	for (size_t i = 0; i < b.len; i++)
		ck_assert_int_eq(b.data[i], (char)('a' + i % 26));

	char piece[977];
	memset(piece, 'z', sizeof piece);
	for (int i = 0; i < 300; i++)
		qd_buf_add(&b, piece, sizeof piece);
	check_shape(&b);
	ck_assert_uint_eq(b.len, 200000 + 300 * sizeof piece);
	ck_assert_int_eq(b.data[199999], (char)('a' + 199999 % 26));
	ck_assert_int_eq(b.data[200000], 'z');
	ck_assert_int_eq(b.data[b.len - 1], 'z');
	qd_buf_free(&b);
}
END_TEST

START_TEST(reserve_holds)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "head:");
	qd_buf_reserve(&b, 10000);
	ck_assert(!b.oom);
	ck_assert_uint_ge(b.cap, b.len + 10000);
	ck_assert_str_eq(b.data, "head:");
	const char *data = b.data;
	size_t cap = b.cap;
	/* Exactly the reserved amount, in pieces of every kind. */
	for (int i = 0; i < 1000; i++)
		qd_buf_add(&b, "0123456", 7);
	for (int i = 0; i < 1000; i++)
		qd_buf_putc(&b, '-');
	for (int i = 0; i < 400; i++)
		qd_buf_printf(&b, "%05d", i);
	ck_assert_uint_eq(b.len, 5 + 10000);
	ck_assert_ptr_eq(b.data, data);
	ck_assert_uint_eq(b.cap, cap);
	check_shape(&b);
	/* A reservation smaller than the room left changes nothing. */
	qd_buf_reset(&b);
	qd_buf_reserve(&b, 1);
	ck_assert_ptr_eq(b.data, data);
	ck_assert_uint_eq(b.cap, cap);
	qd_buf_free(&b);
}
END_TEST

/* ---- printf ---- */

START_TEST(printf_any_length)
{
	/* Around the formatter's on-stack attempt and far beyond it. */
	static const size_t lens[] = {0, 1, 254, 255, 256, 257, 511, 4096, 100000};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		size_t n = lens[i];
		char *s = malloc(n + 1);
		ck_assert_ptr_nonnull(s);
		for (size_t k = 0; k < n; k++)
			s[k] = (char)('A' + k % 23);
		s[n] = '\0';
		qd_buf b;
		qd_buf_init(&b);
		qd_buf_puts(&b, "<");
		qd_buf_printf(&b, "%s|%zu", s, n);
		qd_buf_putc(&b, '>');
		check_shape(&b);
		char tail[32];
		int tl = snprintf(tail, sizeof tail, "|%zu>", n);
		ck_assert_uint_eq(b.len, 1 + n + (size_t)tl);
		ck_assert_int_eq(b.data[0], '<');
		ck_assert_int_eq(memcmp(b.data + 1, s, n), 0);
		ck_assert_str_eq(b.data + 1 + n, tail);
		ck_assert_uint_eq(strlen(b.data), b.len);
		qd_buf_free(&b);
		free(s);
	}
}
END_TEST

START_TEST(printf_formats)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_printf(&b, "%d %u %x %.2f %c %s %%", -12, 7u, 255u, 2.5, 'q', "中文");
	ck_assert_str_eq(qd_buf_cstr(&b), "-12 7 ff 2.50 q 中文 %");
	qd_buf_printf(&b, "%s", "");
	ck_assert_str_eq(qd_buf_cstr(&b), "-12 7 ff 2.50 q 中文 %");
	qd_buf_free(&b);
}
END_TEST

/* ---- UTF-8 and JSON strings ---- */

START_TEST(utf8_len_accepts)
{
	ck_assert_uint_eq(qd_utf8_len(U8("\xc2\x80"), 2), 2);          /* U+0080 */
	ck_assert_uint_eq(qd_utf8_len(U8("\xdf\xbf"), 2), 2);          /* U+07FF */
	ck_assert_uint_eq(qd_utf8_len(U8("\xe0\xa0\x80"), 3), 3);      /* U+0800 */
	ck_assert_uint_eq(qd_utf8_len(U8("\xe4\xb8\xad"), 3), 3);      /* 中 */
	ck_assert_uint_eq(qd_utf8_len(U8("\xed\x9f\xbf"), 3), 3);      /* U+D7FF */
	ck_assert_uint_eq(qd_utf8_len(U8("\xee\x80\x80"), 3), 3);      /* U+E000 */
	ck_assert_uint_eq(qd_utf8_len(U8("\xef\xbf\xbf"), 3), 3);      /* U+FFFF */
	ck_assert_uint_eq(qd_utf8_len(U8("\xf0\x90\x80\x80"), 4), 4);  /* U+10000 */
	ck_assert_uint_eq(qd_utf8_len(U8("\xf4\x8f\xbf\xbf"), 4), 4);  /* U+10FFFF */
	/* Only the sequence is measured, whatever follows. */
	ck_assert_uint_eq(qd_utf8_len(U8("\xe4\xb8\xad\xe4\xb8\xad"), 6), 3);
	ck_assert_uint_eq(qd_utf8_len(U8("\xc3\xa9x"), 3), 2);
}
END_TEST

START_TEST(utf8_len_rejects)
{
	ck_assert_uint_eq(qd_utf8_len(U8("\x80"), 1), 0);              /* stray continuation */
	ck_assert_uint_eq(qd_utf8_len(U8("\xbf\x80"), 2), 0);
	ck_assert_uint_eq(qd_utf8_len(U8("\xc0\xaf"), 2), 0);          /* overlong '/' */
	ck_assert_uint_eq(qd_utf8_len(U8("\xc1\xbf"), 2), 0);
	ck_assert_uint_eq(qd_utf8_len(U8("\xe0\x9f\xbf"), 3), 0);      /* overlong 3-byte */
	ck_assert_uint_eq(qd_utf8_len(U8("\xf0\x8f\xbf\xbf"), 4), 0);  /* overlong 4-byte */
	ck_assert_uint_eq(qd_utf8_len(U8("\xed\xa0\x80"), 3), 0);      /* U+D800 */
	ck_assert_uint_eq(qd_utf8_len(U8("\xed\xbf\xbf"), 3), 0);      /* U+DFFF */
	ck_assert_uint_eq(qd_utf8_len(U8("\xf4\x90\x80\x80"), 4), 0);  /* U+110000 */
	ck_assert_uint_eq(qd_utf8_len(U8("\xf5\x80\x80\x80"), 4), 0);
	ck_assert_uint_eq(qd_utf8_len(U8("\xff"), 1), 0);
	ck_assert_uint_eq(qd_utf8_len(U8("\xfe"), 1), 0);
	/* Cut short: fewer bytes left than the lead byte announces. */
	ck_assert_uint_eq(qd_utf8_len(U8("\xe4\xb8\xad"), 2), 0);
	ck_assert_uint_eq(qd_utf8_len(U8("\xf0\x90\x80\x80"), 3), 0);
	ck_assert_uint_eq(qd_utf8_len(U8("\xc3\xa9"), 1), 0);
	/* A later byte that is not a continuation byte. */
	ck_assert_uint_eq(qd_utf8_len(U8("\xe4\x41\xad"), 3), 0);
	ck_assert_uint_eq(qd_utf8_len(U8("\xe4\xb8\x41"), 3), 0);
	ck_assert_uint_eq(qd_utf8_len(U8("\xf0\x90\x80\xc0"), 4), 0);
	ck_assert_uint_eq(qd_utf8_len(U8("\xc3\xc3"), 2), 0);
}
END_TEST

START_TEST(utf8_len_matches_jansson)
{
	/* Every lead byte with every second byte, a fixed continuation after:
	 * accepted exactly when jansson accepts the sequence. */
	for (unsigned c = 0x80; c <= 0xff; c++) {
		for (unsigned d = 0; d <= 0xff; d++) {
			unsigned char s[4] = {(unsigned char)c, (unsigned char)d, 0x80, 0x80};
			size_t k = qd_utf8_len(s, 4);
			ck_assert(k == 0 || (k >= 2 && k <= 4));
			char doc[8] = {'"'};
			size_t dl = 1;
			if (k) {
				memcpy(doc + dl, s, k);
				dl += k;
				doc[dl++] = '"';
				json_error_t je;
				json_t *j = json_loadb(doc, dl, JSON_DECODE_ANY, &je);
				ck_assert_msg(j != NULL, "%02x %02x: accepted but jansson refuses", c, d);
				json_decref(j);
			} else {
				/* An invalid start stays invalid whatever follows it. */
				for (size_t len = 2; len <= 4; len++) {
					memcpy(doc + 1, s, len);
					doc[1 + len] = '"';
					json_error_t je;
					json_t *j = json_loadb(doc, len + 2, JSON_DECODE_ANY, &je);
					ck_assert_msg(j == NULL, "%02x %02x (%zu bytes): refused but jansson accepts",
						      c, d, len);
				}
			}
		}
	}
}
END_TEST

START_TEST(json_str_escapes)
{
	json_is("", 0, "\"\"");
	json_is("plain", 5, "\"plain\"");
	json_is("a\"b", 3, "\"a\\\"b\"");
	json_is("a\\b", 3, "\"a\\\\b\"");
	json_is("\n\r\t", 3, "\"\\n\\r\\t\"");
	json_is("\x01\x1f\b\f", 4, "\"\\u0001\\u001f\\u0008\\u000c\"");
	json_is("a\0b", 3, "\"a\\u0000b\"");
	/* DEL and '/' need no escape in JSON. */
	json_is("\x7f/", 2, "\"\x7f/\"");
	/* Well-formed UTF-8 is copied as is. */
	json_is("中文 é \xf0\x9f\x98\x80", 14, "\"中文 é \xf0\x9f\x98\x80\"");
}
END_TEST

START_TEST(json_str_replaces_bad_utf8)
{
	/* One U+FFFD per byte that does not start a well-formed sequence. */
	json_is("\xff", 1, "\"\xef\xbf\xbd\"");
	json_is("a\x80z", 3, "\"a\xef\xbf\xbdz\"");
	json_is("\xe4\xb8", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");          /* cut short */
	json_is("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* surrogate */
	json_is("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");          /* overlong */
	/* A good character right after a bad byte survives. */
	json_is("\xb8\xe4\xb8\xad", 4, "\"\xef\xbf\xbd中\"");
	/* A string cut inside its last character (a message cut at a byte count). */
	json_is("中文\xe6\x96", 8, "\"中文\xef\xbf\xbd\xef\xbf\xbd\"");
}
END_TEST

START_TEST(json_str_always_valid)
{
	/* Pseudo-random byte strings: the output always parses, and when the
	 * input is valid UTF-8 without NUL it decodes back to the input. */
	unsigned long long x = 0x9e3779b97f4a7c15ULL;
	for (int round = 0; round < 3000; round++) {
		unsigned char s[64];
		size_t n = (size_t)(round % 64);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Bias towards the interesting bytes. */
			unsigned r = (unsigned)(x >> 32);
			s[i] = (r & 3) == 0 ? (unsigned char)(0x80 + (r >> 8) % 0x80)
				: (r & 3) == 1 ? (unsigned char)((r >> 8) % 0x20)
				: (unsigned char)(0x20 + (r >> 8) % 0x60);
		}
		size_t len;
		char *out = json_roundtrip((const char *)s, n, &len);
		bool valid = true;
		for (size_t i = 0; i < n && valid; i++) {
			if (s[i] < 0x80)
				continue;
			size_t k = qd_utf8_len(s + i, n - i);
			if (k == 0)
				valid = false;
			else
				i += k - 1;
		}
		if (valid) {
			ck_assert_uint_eq(len, n);
			ck_assert_int_eq(memcmp(out, s, n), 0);
		}
		free(out);
	}
	/* Every single byte. */
	for (unsigned c = 0; c <= 0xff; c++) {
		char one = (char)c;
		size_t len;
		char *out = json_roundtrip(&one, 1, &len);
		if (c < 0x80) {
			ck_assert_uint_eq(len, 1);
			ck_assert_int_eq(out[0], one);
		} else {
			ck_assert_str_eq(out, "\xef\xbf\xbd");
		}
		free(out);
	}
}
END_TEST

START_TEST(json_str_large)
{
	size_t n = 300000;
	char *s = malloc(n);
	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < n; i += 3)
		memcpy(s + i, i % 2 ? "\"\n\\" : "中", 3);
	size_t len;
	char *out = json_roundtrip(s, n, &len);
	ck_assert_uint_eq(len, n);
	ck_assert_int_eq(memcmp(out, s, n), 0);
	free(out);
	free(s);
}
END_TEST

START_TEST(json_cstr_null_and_string)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_json_cstr(&b, NULL);
	qd_buf_putc(&b, ',');
	qd_buf_json_cstr(&b, "");
	qd_buf_putc(&b, ',');
	qd_buf_json_cstr(&b, "x\"y");
	ck_assert_str_eq(qd_buf_cstr(&b), "null,\"\",\"x\\\"y\"");
	qd_buf_free(&b);
}
END_TEST

/* ---- out of memory ---- */

/* A request the buffer can never satisfy (its capacity would pass
 * SIZE_MAX / 2): the buffer reports it without asking malloc(). */
#define HOPELESS (SIZE_MAX / 2 + 1)

START_TEST(oom_sticks_until_reset)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "kept");
	const char *data = b.data;
	qd_buf_reserve(&b, HOPELESS);
	ck_assert(b.oom);
	/* What was there stays; every later append is ignored. */
	ck_assert_str_eq(qd_buf_cstr(&b), "kept");
	ck_assert_ptr_eq(b.data, data);
	qd_buf_puts(&b, "x");
	qd_buf_putc(&b, 'y');
	qd_buf_add(&b, "z", 1);
	qd_buf_put_uint(&b, 5);
	qd_buf_printf(&b, "%d", 6);
	qd_buf_printf(&b, "%300s", "long");
	qd_buf_json_str(&b, "w", 1);
	qd_buf_json_cstr(&b, NULL);
	ck_assert(b.oom);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_str_eq(qd_buf_cstr(&b), "kept");
	/* A reset makes the buffer usable again. */
	qd_buf_reset(&b);
	ck_assert(!b.oom);
	qd_buf_puts(&b, "again");
	check_shape(&b);
	ck_assert_str_eq(b.data, "again");
	qd_buf_free(&b);
}
END_TEST

START_TEST(oom_from_add)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_add(&b, "never read", HOPELESS);
	ck_assert(b.oom);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(qd_buf_cstr(&b), "");
	qd_buf_free(&b);
	ck_assert(!b.oom);
}
END_TEST

START_TEST(oom_steal_returns_null)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "partial");
	qd_buf_reserve(&b, HOPELESS);
	ck_assert(b.oom);
	size_t len = 12345;
	ck_assert_ptr_null(qd_buf_steal(&b, &len));
	/* The incomplete contents are freed and the buffer is empty again. */
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert(!b.oom);
	qd_buf_puts(&b, "fresh");
	ck_assert_str_eq(qd_buf_cstr(&b), "fresh");
	qd_buf_free(&b);
}
END_TEST

/* ---- reset, steal, free ---- */

START_TEST(reset_keeps_memory)
{
	qd_buf b;
	qd_buf_init(&b);
	for (int i = 0; i < 100; i++)
		qd_buf_puts(&b, "0123456789");
	const char *data = b.data;
	size_t cap = b.cap;
	qd_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_eq(b.data, data);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_str_eq(qd_buf_cstr(&b), "");
	qd_buf_puts(&b, "short");
	ck_assert_str_eq(qd_buf_cstr(&b), "short");
	ck_assert_ptr_eq(b.data, data);
	/* Resetting a buffer that never allocated is harmless. */
	qd_buf e;
	qd_buf_init(&e);
	qd_buf_reset(&e);
	ck_assert_ptr_null(e.data);
	ck_assert_str_eq(qd_buf_cstr(&e), "");
	qd_buf_free(&b);
}
END_TEST

START_TEST(steal_hands_over)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "owned by the caller");
	size_t len = 0;
	char *p = qd_buf_steal(&b, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, 19);
	ck_assert_str_eq(p, "owned by the caller");
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	/* The buffer is reusable and no longer shares the memory. */
	qd_buf_puts(&b, "next");
	ck_assert_ptr_ne(b.data, p);
	ck_assert_str_eq(p, "owned by the caller");
	free(p);
	/* len may be NULL. */
	p = qd_buf_steal(&b, NULL);
	ck_assert_str_eq(p, "next");
	free(p);
	qd_buf_free(&b);
}
END_TEST

START_TEST(steal_empty_is_empty_string)
{
	qd_buf b;
	qd_buf_init(&b);
	size_t len = 99;
	char *p = qd_buf_steal(&b, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(len, 0);
	free(p);
	/* After a reset too: the old contents are not handed over. */
	qd_buf_puts(&b, "gone");
	qd_buf_reset(&b);
	p = qd_buf_steal(&b, &len);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(len, 0);
	free(p);
}
END_TEST

START_TEST(free_leaves_reusable)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_free(&b);
	qd_buf_puts(&b, "one");
	qd_buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_str_eq(qd_buf_cstr(&b), "");
	qd_buf_puts(&b, "two");
	ck_assert_str_eq(qd_buf_cstr(&b), "two");
	qd_buf_free(&b);
	qd_buf_free(&b);
}
END_TEST

/* ---- files ---- */

static char *temp_file(const void *data, size_t n)
{
	char *path = strdup("/tmp/qd-test-buf-XXXXXX");
	ck_assert_ptr_nonnull(path);
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		ck_assert_int_gt(w, 0);
		p += w;
		n -= (size_t)w;
	}
	close(fd);
	return path;
}

static char *pattern(size_t n)
{
	char *s = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)(i * 7 + i / 251);
	return s;
}

START_TEST(read_file_whole)
{
	/* Empty, small, and larger than one read. */
	/* Past 2 MiB (read into huge pages where the kernel gives them), and
	 * the prefix, the file, the NUL and the byte that finds the end
	 * exactly 4 MiB (and one less, and one more), so the room sized from
	 * the file's length is full at the end. */
	static const size_t sizes[] = {0, 1, 100, 65535, 65536, 65537, 300001, (2u << 20) + 12345,
				       (4u << 20) - 6, (4u << 20) - 5, (4u << 20) - 4};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i];
		char *data = pattern(n);
		char *path = temp_file(data, n);
		qd_buf b;
		qd_buf_init(&b);
		qd_buf_puts(&b, "pre");
		ck_assert_int_eq(qd_buf_read_file(&b, path, n), 0);
		ck_assert(!b.oom);
		ck_assert_uint_eq(b.len, 3 + n);
		ck_assert_int_eq(memcmp(b.data, "pre", 3), 0);
		ck_assert_int_eq(memcmp(b.data + 3, data, n), 0);
		ck_assert_int_eq(b.data[b.len], '\0');
		qd_buf_free(&b);
		unlink(path);
		free(path);
		free(data);
	}
}
END_TEST

START_TEST(read_file_limit)
{
	size_t n = 100000;
	char *data = pattern(n);
	char *path = temp_file(data, n);
	qd_buf b;
	qd_buf_init(&b);
	/* The limit counts this file's bytes, not what the buffer held. */
	qd_buf_puts(&b, "0123456789");
	ck_assert_int_eq(qd_buf_read_file(&b, path, n), 0);
	ck_assert_uint_eq(b.len, 10 + n);
	qd_buf_reset(&b);
	ck_assert_int_eq(qd_buf_read_file(&b, path, n - 1), -EFBIG);
	qd_buf_reset(&b);
	ck_assert_int_eq(qd_buf_read_file(&b, path, 10), -EFBIG);
	qd_buf_reset(&b);
	ck_assert_int_eq(qd_buf_read_file(&b, path, 0), -EFBIG);
	qd_buf_free(&b);
	unlink(path);
	free(path);
	free(data);
}
END_TEST

START_TEST(read_file_errors)
{
	qd_buf b;
	qd_buf_init(&b);
	ck_assert_int_eq(qd_buf_read_file(&b, "/nonexistent/qd-test/none", 100), -ENOENT);
	ck_assert(!b.oom);
	int rc = qd_buf_read_file(&b, "/tmp", 100);
	ck_assert_msg(rc < 0 && rc != -EFBIG, "reading a directory: %d", rc);
	qd_buf_free(&b);
}
END_TEST

START_TEST(read_file_stdin)
{
	const char text[] = "from standard input\n";
	char *path = temp_file(text, sizeof text - 1);
	int saved = dup(STDIN_FILENO);
	ck_assert_int_ge(saved, 0);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(dup2(fd, STDIN_FILENO), 0);
	close(fd);
	qd_buf b;
	qd_buf_init(&b);
	ck_assert_int_eq(qd_buf_read_file(&b, "-", 1000), 0);
	ck_assert_str_eq(qd_buf_cstr(&b), text);
	qd_buf_free(&b);
	dup2(saved, STDIN_FILENO);
	close(saved);
	clearerr(stdin);
	unlink(path);
	free(path);
}
END_TEST

/* ---- memory committed ahead (mem.h) ---- */

START_TEST(commit_keeps_contents)
{
	/* Whatever the block holds stays: committing only faults pages in.
	 * Blocks small and big, at odd offsets, over what was written and
	 * beyond it. */
	static const size_t sizes[] = {1, 4095, QD_MEM_COMMIT_MIN - 1, QD_MEM_COMMIT_MIN,
				       (2u << 20) + 777, (5u << 20) + 3};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i];
		char *data = pattern(n);
		char *blk = malloc(n + 64);
		ck_assert_ptr_nonnull(blk);
		memcpy(blk + 13, data, n / 2);
		qd_mem_commit(blk + 13, n);
		ck_assert_int_eq(memcmp(blk + 13, data, n / 2), 0);
		memcpy(blk + 13 + n / 2, data + n / 2, n - n / 2);
		qd_mem_populate(blk + 5, n + 8);
		ck_assert_int_eq(memcmp(blk + 13, data, n), 0);
		free(blk);
		free(data);
	}
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, init_is_zero_fill);
	tcase_add_test(tc, appends_in_order);
	tcase_add_test(tc, add_keeps_embedded_nul);
	tcase_add_test(tc, add_zero_to_empty);
	tcase_add_test(tc, put_uint_digits);
	tcase_add_test(tc, growth_keeps_contents);
	tcase_add_test(tc, reserve_holds);
	tcase_add_test(tc, printf_any_length);
	tcase_add_test(tc, printf_formats);
	tcase_add_test(tc, utf8_len_accepts);
	tcase_add_test(tc, utf8_len_rejects);
	tcase_add_test(tc, utf8_len_matches_jansson);
	tcase_add_test(tc, json_str_escapes);
	tcase_add_test(tc, json_str_replaces_bad_utf8);
	tcase_add_test(tc, json_str_always_valid);
	tcase_add_test(tc, json_str_large);
	tcase_add_test(tc, json_cstr_null_and_string);
	tcase_add_test(tc, oom_sticks_until_reset);
	tcase_add_test(tc, oom_from_add);
	tcase_add_test(tc, oom_steal_returns_null);
	tcase_add_test(tc, reset_keeps_memory);
	tcase_add_test(tc, steal_hands_over);
	tcase_add_test(tc, steal_empty_is_empty_string);
	tcase_add_test(tc, free_leaves_reusable);
	tcase_add_test(tc, read_file_whole);
	tcase_add_test(tc, read_file_limit);
	tcase_add_test(tc, read_file_errors);
	tcase_add_test(tc, read_file_stdin);
	tcase_add_test(tc, commit_keeps_contents);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
