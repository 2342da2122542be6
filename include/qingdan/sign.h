/* qingdan — signing keys and signatures (OpenSSL 3 libcrypto).
 *
 * Two algorithms: Ed25519 (RFC 8032, 64-byte signatures) and SM2 with SM3
 * and the GM/T 0009 default user id "1234567812345678" (set explicitly:
 * OpenSSL 3's own default differs), DER-encoded signatures.  Signatures
 * travel as base64 (RFC 4648, with padding).  A key's id (kid) is the
 * first 16 hex digits of the sha256 of its SubjectPublicKeyInfo DER, what
 * `openssl pkey -pubout -outform DER | sha256sum` prints.
 *
 * A qd_key is immutable once made: any number of threads may sign or
 * verify with one key at once (each call uses its own contexts). */
#ifndef QINGDAN_SIGN_H
#define QINGDAN_SIGN_H

#include <stddef.h>

#include "qingdan/buf.h"

enum qd_alg { QD_ALG_ED25519 = 1, QD_ALG_SM2 = 2 };

#define QD_KID_LEN 16            /* hex digits of a key id */
#define QD_SM2_DEFAULT_ID "1234567812345678"
/* Bytes of a key file read at most: a PEM key is well under 1 KiB; a file
 * of retired keys holds a few dozen. */
#define QD_KEY_FILE_MAX ((size_t)1 << 20)

typedef struct qd_key qd_key;    /* a private or public key */

/* Make a new private key.
 *   alg  QD_ALG_ED25519 or QD_ALG_SM2
 *   out  receives the key (caller frees with qd_key_free())
 * Returns 0, QD_EINVAL for another alg, QD_ENOMEM or QD_EIO. */
int qd_key_generate(enum qd_alg alg, qd_key **out);

/* Write a private key to a new file as PEM PKCS#8, mode 0600.  The file is
 * created with O_EXCL: an existing file is never overwritten.
 *   k     a private key
 *   path  the file to create
 * Returns 0, QD_EEXIST when path exists, QD_EBADKEY when k holds no
 * private key, QD_EIO when the file cannot be written (it is removed). */
int qd_key_write_private(const qd_key *k, const char *path);

/* Load a private key from a PEM file (PKCS#8 or the traditional forms).
 * A file its group or others may read or write is refused: a signing key
 * others can read signs for them too.
 *   path  the file
 *   out   receives the key (caller frees with qd_key_free())
 * Returns 0, QD_EKEYPERM for group/other permission bits, QD_EIO when it
 * cannot be read, QD_EBADKEY when it holds no private key of a supported
 * algorithm. */
int qd_key_load_private(const char *path, qd_key **out);

/* Parse one PEM public key ("BEGIN PUBLIC KEY").
 *   pem, len  the text
 *   out       receives the key (caller frees with qd_key_free())
 * Returns 0 or QD_EBADKEY (not a PEM public key of a supported algorithm). */
int qd_key_load_public_pem(const char *pem, size_t len, qd_key **out);

/* Load every key of a file of one or more PEM keys, public or private
 * (a file of retired public keys).  Text between the PEM blocks is
 * ignored.
 *   path  the file (at most QD_KEY_FILE_MAX bytes)
 *   keys  receives a malloc()ed array of *n keys (caller frees each with
 *         qd_key_free() and the array with free())
 *   n     receives the count, at least 1
 * Returns 0, QD_EIO when it cannot be read, QD_EBADKEY when a block is not
 * a key of a supported algorithm or the file holds none. */
int qd_keys_load_file(const char *path, qd_key ***keys, size_t *n);

/* Append the public half of k as PEM ("BEGIN PUBLIC KEY", ending in a
 * newline).  Returns 0 or QD_ENOMEM. */
int qd_key_public_pem(const qd_key *k, qd_buf *out);

/* The key id: 16 lowercase hex digits (borrowed; lives as long as k). */
const char *qd_key_kid(const qd_key *k);

/* The algorithm's name: "ed25519" or "sm2" (a static string). */
const char *qd_key_alg(const qd_key *k);

/* The algorithm of a name ("ed25519", "sm2").  Returns its qd_alg, or 0
 * for any other name. */
enum qd_alg qd_alg_from_name(const char *name);

/* Sign len bytes at msg.
 *   k        a private key
 *   sig_b64  the base64 signature is appended (NUL-terminated)
 * Returns 0, QD_EBADKEY when k holds no private key, QD_ENOMEM or
 * QD_EIO. */
int qd_sign(const qd_key *k, const void *msg, size_t len, qd_buf *sig_b64);

/* Check a base64 signature of len bytes at msg.
 *   k        a public (or private) key
 *   sig_b64  sig_len characters of base64 (RFC 4648, padded, no white
 *            space)
 * Returns 0 when the signature is valid, QD_EBADSIG when it is not (wrong
 * key, altered message or signature), QD_EBASE64 when sig_b64 is not
 * base64, QD_ENOMEM. */
int qd_verify(const qd_key *k, const void *msg, size_t len, const char *sig_b64, size_t sig_len);

/* Decode strict base64 (RFC 4648 with padding, no white space, canonical
 * trailing bits).
 *   s, n  the text
 *   out   the bytes are appended
 * Returns 0, QD_EBASE64 or QD_ENOMEM. */
int qd_base64_decode(const char *s, size_t n, qd_buf *out);

/* Append the base64 (RFC 4648, padded) of n bytes at p.  Returns 0 or
 * QD_ENOMEM. */
int qd_base64_encode(const void *p, size_t n, qd_buf *out);

/* Free a key; NULL is ignored. */
void qd_key_free(qd_key *k);

#endif
