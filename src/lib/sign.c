/* Signing keys and signatures: Ed25519 and SM2/SM3 through OpenSSL 3's
 * libcrypto.  OpenSSL's error codes are translated here, once. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "qingdan/err.h"
#include "qingdan/sha256.h"
#include "qingdan/sign.h"

struct qd_key {
	EVP_PKEY *pkey;               /* one reference, owned */
	enum qd_alg alg;
	bool priv;                    /* pkey holds the private half */
	char kid[QD_KID_LEN + 1];
};

static const char *alg_name(enum qd_alg alg)
{
	return alg == QD_ALG_SM2 ? "sm2" : "ed25519";
}

enum qd_alg qd_alg_from_name(const char *name)
{
	if (name && strcmp(name, "ed25519") == 0)
		return QD_ALG_ED25519;
	if (name && strcmp(name, "sm2") == 0)
		return QD_ALG_SM2;
	return 0;
}

/* Wrap pkey (taking its reference) in a qd_key: its algorithm and kid.
 * Frees pkey on failure. */
static int key_wrap(EVP_PKEY *pkey, bool priv, qd_key **out)
{
	enum qd_alg alg;
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		alg = QD_ALG_ED25519;
	else if (EVP_PKEY_is_a(pkey, "SM2"))
		alg = QD_ALG_SM2;
	else {
		EVP_PKEY_free(pkey);
		return QD_EBADKEY;
	}
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pkey, &der);
	if (n <= 0) {
		EVP_PKEY_free(pkey);
		return QD_EBADKEY;
	}
	qd_key *k = calloc(1, sizeof *k);
	if (!k) {
		OPENSSL_free(der);
		EVP_PKEY_free(pkey);
		return QD_ENOMEM;
	}
	char hex[QD_SHA256_HEX];
	qd_sha256_hex(der, (size_t)n, hex);
	OPENSSL_free(der);
	memcpy(k->kid, hex, QD_KID_LEN);
	k->kid[QD_KID_LEN] = '\0';
	k->pkey = pkey;
	k->alg = alg;
	k->priv = priv;
	*out = k;
	return 0;
}

int qd_key_generate(enum qd_alg alg, qd_key **out)
{
	if (alg != QD_ALG_ED25519 && alg != QD_ALG_SM2)
		return QD_EINVAL;
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, alg == QD_ALG_SM2 ? "SM2" : "ED25519");
	if (!pkey)
		return QD_EIO;
	return key_wrap(pkey, true, out);
}

/* Read at most max bytes of an open file into b.  Returns 0, QD_EBADKEY
 * when larger, QD_EIO or QD_ENOMEM. */
static int read_fd(int fd, qd_buf *b, size_t max)
{
	char chunk[4096];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return QD_EIO;
		if (r == 0)
			break;
		if (b->len + (size_t)r > max)
			return QD_EBADKEY;
		qd_buf_add(b, chunk, (size_t)r);
		if (b->oom)
			return QD_ENOMEM;
	}
	return 0;
}

static int read_path(const char *path, qd_buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return QD_EIO;
	int rc = read_fd(fd, b, QD_KEY_FILE_MAX);
	close(fd);
	return rc;
}

int qd_key_write_private(const qd_key *k, const char *path)
{
	if (!k->priv)
		return QD_EBADKEY;
	int rc = QD_EIO;
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return QD_ENOMEM;
	char *pem = NULL;
	long len;
	if (!PEM_write_bio_PKCS8PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0)
		goto out_bio;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = errno == EEXIST ? QD_EEXIST : QD_EIO;
		goto out_bio;
	}
	/* The umask can only take bits away; the mode is set again so that no
	 * inherited default ACL leaves the key readable by others. */
	bool ok = fchmod(fd, 0600) == 0;
	for (long off = 0; ok && off < len;) {
		ssize_t w = write(fd, pem + off, (size_t)(len - off));
		if (w < 0 && errno == EINTR)
			continue;
		ok = w > 0;
		off += ok ? w : 0;
	}
	ok = ok && fsync(fd) == 0;
	if (close(fd) != 0)
		ok = false;
	if (!ok) {
		unlink(path);
		goto out_bio;
	}
	rc = 0;
out_bio:
	BIO_free(bio);
	return rc;
}

int qd_key_load_private(const char *path, qd_key **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return QD_EIO;
	qd_buf b;
	qd_buf_init(&b);
	struct stat st;
	int rc;
	if (fstat(fd, &st) != 0) {
		rc = QD_EIO;
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		rc = QD_EKEYPERM;
		goto out;
	}
	rc = read_fd(fd, &b, QD_KEY_FILE_MAX);
	if (rc)
		goto out;
	rc = QD_EBADKEY;
	BIO *bio = BIO_new_mem_buf(b.data ? b.data : "", (int)b.len);
	if (!bio) {
		rc = QD_ENOMEM;
		goto out;
	}
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey)
		rc = key_wrap(pkey, true, out);
out:
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	qd_buf_free(&b);
	close(fd);
	return rc;
}

int qd_key_load_public_pem(const char *pem, size_t len, qd_key **out)
{
	if (len > QD_KEY_FILE_MAX)
		return QD_EBADKEY;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return QD_ENOMEM;
	EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return pkey ? key_wrap(pkey, false, out) : QD_EBADKEY;
}

/* One PEM block's key: "PUBLIC KEY" or a private key's block name. */
static int key_from_block(const char *name, const unsigned char *der, long len, qd_key **out)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey;
	bool priv = strcmp(name, "PUBLIC KEY") != 0;
	if (!priv)
		pkey = d2i_PUBKEY(NULL, &p, len);
	else if (strcmp(name, "PRIVATE KEY") == 0 || strcmp(name, "EC PRIVATE KEY") == 0)
		pkey = d2i_AutoPrivateKey(NULL, &p, len);
	else
		return QD_EBADKEY;
	if (!pkey || p != der + len) {
		EVP_PKEY_free(pkey);
		return QD_EBADKEY;
	}
	return key_wrap(pkey, priv, out);
}

int qd_keys_load_file(const char *path, qd_key ***keys, size_t *n)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_key **v = NULL;
	size_t nv = 0;
	int rc = read_path(path, &b);
	if (rc)
		goto out;
	BIO *bio = BIO_new_mem_buf(b.data ? b.data : "", (int)b.len);
	if (!bio) {
		rc = QD_ENOMEM;
		goto out;
	}
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *der = NULL;
		long len = 0;
		if (!PEM_read_bio(bio, &name, &header, &der, &len))
			break;
		qd_key *k = NULL;
		qd_key **nv_v = realloc(v, (nv + 1) * sizeof *v);
		rc = nv_v ? key_from_block(name, der, len, &k) : QD_ENOMEM;
		if (nv_v)
			v = nv_v;
		OPENSSL_free(name);
		OPENSSL_free(header);
		if (der)
			OPENSSL_cleanse(der, (size_t)len);
		OPENSSL_free(der);
		if (rc)
			break;
		v[nv++] = k;
	}
	BIO_free(bio);
	if (!rc && nv == 0)
		rc = QD_EBADKEY;
out:
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	qd_buf_free(&b);
	if (rc) {
		for (size_t i = 0; i < nv; i++)
			qd_key_free(v[i]);
		free(v);
		return rc;
	}
	*keys = v;
	*n = nv;
	return 0;
}

int qd_key_public_pem(const qd_key *k, qd_buf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return QD_ENOMEM;
	char *pem = NULL;
	long len;
	int rc = QD_ENOMEM;
	if (PEM_write_bio_PUBKEY(bio, k->pkey) && (len = BIO_get_mem_data(bio, &pem)) > 0) {
		qd_buf_add(out, pem, (size_t)len);
		rc = out->oom ? QD_ENOMEM : 0;
	}
	BIO_free(bio);
	return rc;
}

const char *qd_key_kid(const qd_key *k)
{
	return k->kid;
}

const char *qd_key_alg(const qd_key *k)
{
	return alg_name(k->alg);
}

/* A digest context set up to sign (sign true) or verify with k.  SM2 needs
 * its own key context carrying the user id before the digest starts (the
 * id enters the SM3 hash as Z); *pctx receives it, to be freed after the
 * digest context, which does not own it.  Returns NULL on failure. */
static EVP_MD_CTX *md_ctx(const qd_key *k, bool sign, EVP_PKEY_CTX **pctx)
{
	*pctx = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md)
		return NULL;
	const char *digest = NULL;
	if (k->alg == QD_ALG_SM2) {
		digest = "SM3";
		*pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
		if (!*pctx || EVP_PKEY_CTX_set1_id(*pctx, QD_SM2_DEFAULT_ID, strlen(QD_SM2_DEFAULT_ID)) <= 0)
			goto fail;
		EVP_MD_CTX_set_pkey_ctx(md, *pctx);
	}
	int ok = sign ? EVP_DigestSignInit_ex(md, NULL, digest, NULL, NULL, k->pkey, NULL)
		      : EVP_DigestVerifyInit_ex(md, NULL, digest, NULL, NULL, k->pkey, NULL);
	if (ok == 1)
		return md;
fail:
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(*pctx);
	*pctx = NULL;
	return NULL;
}

int qd_sign(const qd_key *k, const void *msg, size_t len, qd_buf *sig_b64)
{
	if (!k->priv)
		return QD_EBADKEY;
	EVP_PKEY_CTX *pctx;
	EVP_MD_CTX *md = md_ctx(k, true, &pctx);
	if (!md)
		return QD_EIO;
	/* Ed25519 is 64 bytes; an SM2 DER signature at most 72. */
	unsigned char sig[128];
	size_t siglen = sizeof sig;
	int rc = QD_EIO;
	if (EVP_DigestSign(md, sig, &siglen, msg, len) == 1)
		rc = qd_base64_encode(sig, siglen, sig_b64);
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

int qd_verify(const qd_key *k, const void *msg, size_t len, const char *sig_b64, size_t sig_len)
{
	qd_buf sig;
	qd_buf_init(&sig);
	int rc = qd_base64_decode(sig_b64, sig_len, &sig);
	if (rc)
		goto out;
	EVP_PKEY_CTX *pctx;
	EVP_MD_CTX *md = md_ctx(k, false, &pctx);
	if (!md) {
		rc = QD_ENOMEM;
		goto out;
	}
	/* 1 valid; 0 invalid; negative for a signature OpenSSL cannot even
	 * parse (an SM2 signature that is not DER): invalid too. */
	rc = EVP_DigestVerify(md, (const unsigned char *)sig.data, sig.len, msg, len) == 1 ? 0 : QD_EBADSIG;
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pctx);
out:
	qd_buf_free(&sig);
	return rc;
}

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int qd_base64_encode(const void *p, size_t n, qd_buf *out)
{
	size_t need = (n + 2) / 3 * 4;
	qd_buf_reserve(out, need + 1);
	if (out->oom || n > INT_MAX / 2)
		return QD_ENOMEM;
	/* EVP_EncodeBlock writes the padded text and a NUL, no line breaks. */
	EVP_EncodeBlock((unsigned char *)out->data + out->len, p, (int)n);
	out->len += need;
	return 0;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64_alphabet, c) : NULL;
	return p ? (int)(p - b64_alphabet) : -1;
}

int qd_base64_decode(const char *s, size_t n, qd_buf *out)
{
	if (n % 4)
		return QD_EBASE64;
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		int pad = last ? (s[i + 3] == '=') + (s[i + 2] == '=' && s[i + 3] == '=') : 0;
		int d[4] = {0, 0, 0, 0};
		for (int j = 0; j < 4 - pad; j++)
			if ((d[j] = b64_value(s[i + j])) < 0)
				return QD_EBASE64;
		unsigned v = (unsigned)d[0] << 18 | (unsigned)d[1] << 12 | (unsigned)d[2] << 6 | (unsigned)d[3];
		/* Bits below the last full byte must be zero: one byte string,
		 * one encoding. */
		if ((pad == 2 && (v & 0xffff)) || (pad == 1 && (v & 0xff)))
			return QD_EBASE64;
		unsigned char b[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
		qd_buf_add(out, b, 3 - (size_t)pad);
	}
	return out->oom ? QD_ENOMEM : 0;
}

void qd_key_free(qd_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}
