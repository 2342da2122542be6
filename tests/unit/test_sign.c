/* Unit tests: signing keys and signatures (src/lib/sign.c), checked
 * against the openssl command line tool, as anyone verifying a receipt
 * offline would. */
#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "qingdan/err.h"
#include "qingdan/sign.h"

static const enum qd_alg algs[] = {QD_ALG_ED25519, QD_ALG_SM2};
static const char msg[] = "{\"decision\":\"allow\",\"list\":\"whitelist-2026\",\"version\":3}";

static void setup(void)
{
	fx_root_setup("sign");
}

/* Each test's own directory for key, message and signature files. */
static char *dir;

static void dir_setup(void)
{
	dir = fx_fresh_dir();
}

static void dir_teardown(void)
{
	fx_drop_dir(dir);
	dir = NULL;
}

static qd_key *gen(enum qd_alg alg)
{
	qd_key *k = NULL;
	ck_assert_int_eq(qd_key_generate(alg, &k), 0);
	ck_assert_ptr_nonnull(k);
	return k;
}

static char *sign_msg(const qd_key *k, const void *m, size_t n)
{
	qd_buf sig;
	qd_buf_init(&sig);
	ck_assert_int_eq(qd_sign(k, m, n, &sig), 0);
	return qd_buf_steal(&sig, NULL);
}

static int verify_str(const qd_key *k, const char *m, const char *sig)
{
	return qd_verify(k, m, strlen(m), sig, strlen(sig));
}

/* Run a shell command; returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

static char *path_in(const char *name)
{
	char *p = NULL;
	ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

/* The openssl pkeyutl options of an algorithm: SM2 with SM3 and the
 * GM/T 0009 user id. */
static const char *ossl_opts(enum qd_alg alg)
{
	return alg == QD_ALG_SM2 ? "-digest sm3 -pkeyopt distid:" QD_SM2_DEFAULT_ID : "";
}

START_TEST(sign_round_trip)
{
	enum qd_alg alg = algs[_i];
	qd_key *k = gen(alg);
	ck_assert_str_eq(qd_key_alg(k), alg == QD_ALG_SM2 ? "sm2" : "ed25519");
	ck_assert_uint_eq(strlen(qd_key_kid(k)), QD_KID_LEN);
	ck_assert_uint_eq(strspn(qd_key_kid(k), "0123456789abcdef"), QD_KID_LEN);

	char *sig = sign_msg(k, msg, strlen(msg));
	ck_assert_int_eq(verify_str(k, msg, sig), 0);
	qd_buf raw;
	qd_buf_init(&raw);
	ck_assert_int_eq(qd_base64_decode(sig, strlen(sig), &raw), 0);
	if (alg == QD_ALG_ED25519)
		ck_assert_uint_eq(raw.len, 64);
	else /* DER SEQUENCE of two INTEGERs */
		ck_assert_int_eq((unsigned char)raw.data[0], 0x30);
	qd_buf_free(&raw);

	/* An empty message signs and verifies too. */
	char *sig0 = sign_msg(k, "", 0);
	ck_assert_int_eq(qd_verify(k, "", 0, sig0, strlen(sig0)), 0);
	ck_assert_int_eq(verify_str(k, msg, sig0), QD_EBADSIG);
	free(sig0);
	free(sig);
	qd_key_free(k);
}
END_TEST

START_TEST(sign_tamper_and_wrong_key)
{
	enum qd_alg alg = algs[_i];
	qd_key *k = gen(alg), *other = gen(alg), *other_alg = gen(alg == QD_ALG_SM2 ? QD_ALG_ED25519 : QD_ALG_SM2);
	char *sig = sign_msg(k, msg, strlen(msg));

	/* One byte of the message changed. */
	char *m2 = strdup(msg);
	m2[strlen(m2) / 2] ^= 1;
	ck_assert_int_eq(verify_str(k, m2, sig), QD_EBADSIG);
	/* A message one byte shorter. */
	ck_assert_int_eq(qd_verify(k, msg, strlen(msg) - 1, sig, strlen(sig)), QD_EBADSIG);

	/* One character of the signature changed, still base64 (a character
	 * near the start: its bits are never padding). */
	char *s2 = strdup(sig);
	s2[5] = s2[5] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify_str(k, msg, s2), QD_EBADSIG);

	/* Another key of the same algorithm, and of the other one. */
	ck_assert_int_eq(verify_str(other, msg, sig), QD_EBADSIG);
	ck_assert_int_eq(verify_str(other_alg, msg, sig), QD_EBADSIG);
	ck_assert_str_ne(qd_key_kid(k), qd_key_kid(other));

	/* A well-formed base64 string that is no signature at all. */
	ck_assert_int_eq(verify_str(k, msg, "AAAA"), QD_EBADSIG);
	ck_assert_int_eq(verify_str(k, msg, ""), QD_EBADSIG);
	free(m2);
	free(s2);
	free(sig);
	qd_key_free(k);
	qd_key_free(other);
	qd_key_free(other_alg);
}
END_TEST

START_TEST(sign_malformed_base64)
{
	qd_key *k = gen(algs[_i]);
	char *sig = sign_msg(k, msg, strlen(msg));
	size_t n = strlen(sig);
	static const char *bad[] = {"abc", "ab=c", "a===", "=AAA", "AA AA", "AAA\n", "AA*A", "AAAA====", "Zh==", "Zm9=",
				    "Zg=A"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(verify_str(k, msg, bad[i]) == QD_EBASE64, "\"%s\" taken as base64", bad[i]);
	/* The real signature cut by one character, or with a newline added
	 * (base64 with line breaks is not accepted). */
	ck_assert_int_eq(qd_verify(k, msg, strlen(msg), sig, n - 1), QD_EBASE64);
	char *nl = NULL;
	ck_assert_int_ge(asprintf(&nl, "%s\n", sig), 0);
	ck_assert_int_eq(verify_str(k, msg, nl), QD_EBASE64);
	/* URL-safe alphabet is not RFC 4648 section 4 base64. */
	char *url = strdup(sig);
	for (char *c = url; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	if (strcmp(url, sig) != 0)
		ck_assert_int_eq(verify_str(k, msg, url), QD_EBASE64);
	free(url);
	free(nl);
	free(sig);
	qd_key_free(k);
}
END_TEST

/* RFC 4648 section 10's test vectors, both ways. */
START_TEST(base64_vectors)
{
	static const char *v[][2] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
				     {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
				     {"foobar", "Zm9vYmFy"}};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		qd_buf b;
		qd_buf_init(&b);
		ck_assert_int_eq(qd_base64_encode(v[i][0], strlen(v[i][0]), &b), 0);
		ck_assert_str_eq(qd_buf_cstr(&b), v[i][1]);
		qd_buf_reset(&b);
		ck_assert_int_eq(qd_base64_decode(v[i][1], strlen(v[i][1]), &b), 0);
		ck_assert_uint_eq(b.len, strlen(v[i][0]));
		ck_assert(memcmp(qd_buf_cstr(&b), v[i][0], b.len) == 0);
		qd_buf_free(&b);
	}
}
END_TEST

START_TEST(sign_public_pem)
{
	qd_key *k = gen(algs[_i]);
	qd_buf pem;
	qd_buf_init(&pem);
	ck_assert_int_eq(qd_key_public_pem(k, &pem), 0);
	ck_assert_ptr_nonnull(strstr(qd_buf_cstr(&pem), "-----BEGIN PUBLIC KEY-----\n"));
	ck_assert_ptr_null(strstr(qd_buf_cstr(&pem), "PRIVATE"));
	qd_key *pub = NULL;
	ck_assert_int_eq(qd_key_load_public_pem(pem.data, pem.len, &pub), 0);
	ck_assert_str_eq(qd_key_kid(pub), qd_key_kid(k));
	ck_assert_str_eq(qd_key_alg(pub), qd_key_alg(k));
	char *sig = sign_msg(k, msg, strlen(msg));
	ck_assert_int_eq(verify_str(pub, msg, sig), 0);
	/* A public key cannot sign. */
	qd_buf s;
	qd_buf_init(&s);
	ck_assert_int_eq(qd_sign(pub, msg, strlen(msg), &s), QD_EBADKEY);
	ck_assert_uint_eq(s.len, 0);
	/* Neither a cut PEM nor plain text is a key. */
	qd_key *bad = NULL;
	ck_assert_int_eq(qd_key_load_public_pem(pem.data, pem.len / 2, &bad), QD_EBADKEY);
	ck_assert_int_eq(qd_key_load_public_pem("hello", 5, &bad), QD_EBADKEY);
	ck_assert_ptr_null(bad);
	free(sig);
	qd_buf_free(&pem);
	qd_key_free(pub);
	qd_key_free(k);
}
END_TEST

START_TEST(sign_private_file)
{
	char *path = path_in("signing.pem");
	qd_key *k = gen(algs[_i]);
	ck_assert_int_eq(qd_key_write_private(k, path), 0);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(sh("grep -q -- '-----BEGIN PRIVATE KEY-----' '%s'", path), 0);

	qd_key *back = NULL;
	ck_assert_int_eq(qd_key_load_private(path, &back), 0);
	ck_assert_str_eq(qd_key_kid(back), qd_key_kid(k));
	char *sig = sign_msg(back, msg, strlen(msg));
	ck_assert_int_eq(verify_str(k, msg, sig), 0);

	/* O_EXCL: an existing file is not overwritten, whatever key. */
	qd_key *other = gen(algs[_i]);
	ck_assert_int_eq(qd_key_write_private(other, path), QD_EEXIST);
	qd_key *again = NULL;
	ck_assert_int_eq(qd_key_load_private(path, &again), 0);
	ck_assert_str_eq(qd_key_kid(again), qd_key_kid(k));
	qd_key_free(again);

	/* A public key has no private half to write. */
	qd_buf pem;
	qd_buf_init(&pem);
	ck_assert_int_eq(qd_key_public_pem(k, &pem), 0);
	qd_key *pub = NULL;
	ck_assert_int_eq(qd_key_load_public_pem(pem.data, pem.len, &pub), 0);
	char *pubpath = path_in("pub-as-private.pem");
	ck_assert_int_eq(qd_key_write_private(pub, pubpath), QD_EBADKEY);
	ck_assert_int_ne(access(pubpath, F_OK), 0);
	/* A public key file is not a private key, even at mode 0600. */
	write_file(pubpath, pem.data, pem.len);
	ck_assert_int_eq(chmod(pubpath, 0600), 0);
	qd_key *x = NULL;
	ck_assert_int_eq(qd_key_load_private(pubpath, &x), QD_EBADKEY);

	/* Any group or other bit is refused, before the key is read. */
	static const mode_t modes[] = {0640, 0604, 0620, 0602, 0610, 0601, 0644};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		ck_assert_int_eq(chmod(path, modes[i]), 0);
		ck_assert_msg(qd_key_load_private(path, &x) == QD_EKEYPERM, "mode %o accepted", (unsigned)modes[i]);
	}
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(qd_key_load_private(path, &x), 0);
	qd_key_free(x);
	x = NULL;

	char *missing = path_in("missing.pem");
	ck_assert_int_eq(qd_key_load_private(missing, &x), QD_EIO);
	char *junk = path_in("junk.pem");
	write_file(junk, "not a key\n", 10);
	ck_assert_int_eq(chmod(junk, 0600), 0);
	ck_assert_int_eq(qd_key_load_private(junk, &x), QD_EBADKEY);
	ck_assert_ptr_null(x);

	free(missing);
	free(junk);
	free(pubpath);
	free(sig);
	qd_buf_free(&pem);
	qd_key_free(pub);
	qd_key_free(other);
	qd_key_free(back);
	qd_key_free(k);
	free(path);
}
END_TEST

/* The kid is what anyone computes with openssl and sha256sum from the
 * public key. */
START_TEST(sign_kid_matches_openssl)
{
	char *path = path_in("k.pem"), *out = path_in("kid");
	qd_key *k = gen(algs[_i]);
	ck_assert_int_eq(qd_key_write_private(k, path), 0);
	ck_assert_int_eq(sh("openssl pkey -in '%s' -pubout -outform DER | sha256sum | cut -c1-16 > '%s'", path, out), 0);
	qd_buf kid;
	qd_buf_init(&kid);
	ck_assert_int_eq(qd_buf_read_file(&kid, out, 100), 0);
	ck_assert_str_eq(qd_buf_cstr(&kid) + QD_KID_LEN, "\n");
	kid.data[QD_KID_LEN] = '\0';
	ck_assert_str_eq(kid.data, qd_key_kid(k));
	qd_buf_free(&kid);
	qd_key_free(k);
	free(path);
	free(out);
}
END_TEST

/* A signature made here verifies with openssl pkeyutl, and one made by
 * openssl pkeyutl verifies here; for SM2 only with the GM/T 0009 id. */
START_TEST(sign_interop_openssl)
{
	enum qd_alg alg = algs[_i];
	char *key = path_in("k.pem"), *pub = path_in("p.pem"), *m = path_in("msg"),
	     *sigf = path_in("sig"), *sigb64 = path_in("sig.b64");
	qd_key *k = gen(alg);
	ck_assert_int_eq(qd_key_write_private(k, key), 0);
	qd_buf pem;
	qd_buf_init(&pem);
	ck_assert_int_eq(qd_key_public_pem(k, &pem), 0);
	write_file(pub, pem.data, pem.len);
	write_file(m, msg, strlen(msg));

	/* Ours, checked by openssl. */
	char *sig = sign_msg(k, msg, strlen(msg));
	write_file(sigb64, sig, strlen(sig));
	ck_assert_int_eq(sh("base64 -d '%s' > '%s'", sigb64, sigf), 0);
	ck_assert_int_eq(sh("openssl pkeyutl -verify -pubin -inkey '%s' -rawin -in '%s' -sigfile '%s' %s >/dev/null",
			    pub, m, sigf, ossl_opts(alg)),
			 0);
	/* openssl's verdict on a changed message is no. */
	char *m2 = path_in("msg2");
	write_file(m2, msg, strlen(msg) - 1);
	ck_assert_int_ne(sh("openssl pkeyutl -verify -pubin -inkey '%s' -rawin -in '%s' -sigfile '%s' %s >/dev/null 2>&1",
			    pub, m2, sigf, ossl_opts(alg)),
			 0);

	/* openssl's, checked here. */
	ck_assert_int_eq(sh("openssl pkeyutl -sign -inkey '%s' -rawin -in '%s' -out '%s' %s", key, m, sigf,
			    ossl_opts(alg)),
			 0);
	ck_assert_int_eq(sh("base64 -w0 '%s' > '%s'", sigf, sigb64), 0);
	qd_buf theirs;
	qd_buf_init(&theirs);
	ck_assert_int_eq(qd_buf_read_file(&theirs, sigb64, 1000), 0);
	ck_assert_int_eq(verify_str(k, msg, qd_buf_cstr(&theirs)), 0);

	if (alg == QD_ALG_SM2) {
		/* Signed with another user id (OpenSSL's own default when none is
		 * given differs from GM/T 0009's): not valid here. */
		ck_assert_int_eq(sh("openssl pkeyutl -sign -inkey '%s' -rawin -in '%s' -out '%s' -digest sm3 "
				    "-pkeyopt distid:8765432187654321",
				    key, m, sigf),
				 0);
		ck_assert_int_eq(sh("base64 -w0 '%s' > '%s'", sigf, sigb64), 0);
		qd_buf_reset(&theirs);
		ck_assert_int_eq(qd_buf_read_file(&theirs, sigb64, 1000), 0);
		ck_assert_int_eq(verify_str(k, msg, qd_buf_cstr(&theirs)), QD_EBADSIG);
	}
	qd_buf_free(&theirs);
	qd_buf_free(&pem);
	free(sig);
	qd_key_free(k);
	free(key);
	free(pub);
	free(m);
	free(m2);
	free(sigf);
	free(sigb64);
}
END_TEST

/* A key made by openssl loads, with the same kid. */
START_TEST(sign_loads_openssl_keys)
{
	char *key = path_in("k.pem"), *pub = path_in("p.pem"), *kid = path_in("kid");
	ck_assert_int_eq(sh("umask 077 && openssl genpkey -algorithm %s -out '%s'", algs[_i] == QD_ALG_SM2 ? "SM2" : "ED25519",
			    key),
			 0);
	ck_assert_int_eq(sh("openssl pkey -in '%s' -pubout -out '%s'", key, pub), 0);
	ck_assert_int_eq(sh("openssl pkey -in '%s' -pubout -outform DER | sha256sum | cut -c1-16 | tr -d '\\n' > '%s'",
			    key, kid),
			 0);
	qd_buf want;
	qd_buf_init(&want);
	ck_assert_int_eq(qd_buf_read_file(&want, kid, 100), 0);
	qd_key *k = NULL;
	ck_assert_int_eq(qd_key_load_private(key, &k), 0);
	ck_assert_str_eq(qd_key_kid(k), qd_buf_cstr(&want));
	ck_assert_int_eq(qd_key_generate(3, &(qd_key *){NULL}), QD_EINVAL);
	qd_key **keys = NULL;
	size_t n = 0;
	ck_assert_int_eq(qd_keys_load_file(pub, &keys, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(qd_key_kid(keys[0]), qd_buf_cstr(&want));
	qd_key_free(keys[0]);
	free(keys);
	qd_buf_free(&want);
	qd_key_free(k);
	free(key);
	free(pub);
	free(kid);
}
END_TEST

START_TEST(keys_file_several)
{
	char *path = path_in("retired.pem");
	qd_key *a = gen(QD_ALG_ED25519), *b = gen(QD_ALG_SM2), *c = gen(QD_ALG_ED25519);
	qd_buf f;
	qd_buf_init(&f);
	qd_buf_puts(&f, "# retired 2026-01\n");
	ck_assert_int_eq(qd_key_public_pem(a, &f), 0);
	qd_buf_puts(&f, "\nretired 2026-06:\n");
	ck_assert_int_eq(qd_key_public_pem(b, &f), 0);
	char *cpath = path_in("c.pem");
	ck_assert_int_eq(qd_key_write_private(c, cpath), 0);
	ck_assert_int_eq(qd_buf_read_file(&f, cpath, 10000), 0);
	write_file(path, f.data, f.len);

	qd_key **keys = NULL;
	size_t n = 0;
	ck_assert_int_eq(qd_keys_load_file(path, &keys, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(qd_key_kid(keys[0]), qd_key_kid(a));
	ck_assert_str_eq(qd_key_alg(keys[1]), "sm2");
	ck_assert_str_eq(qd_key_kid(keys[1]), qd_key_kid(b));
	ck_assert_str_eq(qd_key_kid(keys[2]), qd_key_kid(c));
	char *sig = sign_msg(b, msg, strlen(msg));
	ck_assert_int_eq(verify_str(keys[1], msg, sig), 0);
	free(sig);
	for (size_t i = 0; i < n; i++)
		qd_key_free(keys[i]);
	free(keys);

	/* No key at all, a block that is not a key, a missing file. */
	keys = NULL;
	n = 0;
	write_file(path, "# nothing here\n", 15);
	ck_assert_int_eq(qd_keys_load_file(path, &keys, &n), QD_EBADKEY);
	qd_buf_reset(&f);
	ck_assert_int_eq(qd_key_public_pem(a, &f), 0);
	qd_buf_puts(&f, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	write_file(path, f.data, f.len);
	ck_assert_int_eq(qd_keys_load_file(path, &keys, &n), QD_EBADKEY);
	qd_buf_reset(&f);
	qd_buf_puts(&f, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
	write_file(path, f.data, f.len);
	ck_assert_int_eq(qd_keys_load_file(path, &keys, &n), QD_EBADKEY);
	char *missing = path_in("missing.pem");
	ck_assert_int_eq(qd_keys_load_file(missing, &keys, &n), QD_EIO);
	ck_assert_ptr_null(keys);
	ck_assert_uint_eq(n, 0);

	free(missing);
	free(cpath);
	qd_buf_free(&f);
	qd_key_free(a);
	qd_key_free(b);
	qd_key_free(c);
	free(path);
}
END_TEST

/* Many threads sign with one key at once; every signature verifies. */
#define SIGNERS 8
#define SIGNATURES 200

static void *signer(void *arg)
{
	const qd_key *k = arg;
	intptr_t bad = 0;
	for (int i = 0; i < SIGNATURES; i++) {
		char m[64];
		int n = snprintf(m, sizeof m, "message %d of %p", i, (void *)&m);
		qd_buf sig;
		qd_buf_init(&sig);
		if (qd_sign(k, m, (size_t)n, &sig) != 0 || qd_verify(k, m, (size_t)n, sig.data, sig.len) != 0)
			bad++;
		qd_buf_free(&sig);
	}
	return (void *)bad;
}

START_TEST(sign_concurrent)
{
	qd_key *k = gen(algs[_i]);
	pthread_t t[SIGNERS];
	for (int i = 0; i < SIGNERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, signer, k), 0);
	for (int i = 0; i < SIGNERS; i++) {
		void *bad;
		ck_assert_int_eq(pthread_join(t[i], &bad), 0);
		ck_assert_int_eq((intptr_t)bad, 0);
	}
	qd_key_free(k);
}
END_TEST

START_TEST(alg_names)
{
	ck_assert_int_eq(qd_alg_from_name("ed25519"), QD_ALG_ED25519);
	ck_assert_int_eq(qd_alg_from_name("sm2"), QD_ALG_SM2);
	ck_assert_int_eq(qd_alg_from_name("SM2"), 0);
	ck_assert_int_eq(qd_alg_from_name("rsa"), 0);
	ck_assert_int_eq(qd_alg_from_name(NULL), 0);
}
END_TEST

static Suite *sign_suite(void)
{
	Suite *s = suite_create("sign");
	TCase *tc = tcase_create("sign");
	tcase_add_unchecked_fixture(tc, setup, fx_root_teardown);
	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	int na = (int)(sizeof algs / sizeof algs[0]);
	tcase_add_loop_test(tc, sign_round_trip, 0, na);
	tcase_add_loop_test(tc, sign_tamper_and_wrong_key, 0, na);
	tcase_add_loop_test(tc, sign_malformed_base64, 0, na);
	tcase_add_test(tc, base64_vectors);
	tcase_add_loop_test(tc, sign_public_pem, 0, na);
	tcase_add_loop_test(tc, sign_private_file, 0, na);
	tcase_add_loop_test(tc, sign_kid_matches_openssl, 0, na);
	tcase_add_loop_test(tc, sign_interop_openssl, 0, na);
	tcase_add_loop_test(tc, sign_loads_openssl_keys, 0, na);
	tcase_add_test(tc, keys_file_several);
	tcase_add_loop_test(tc, sign_concurrent, 0, na);
	tcase_add_test(tc, alg_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sign_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
