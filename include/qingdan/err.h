/* qingdan — error codes shared by every libqingdan module.
 *
 * Every function that can fail returns int: 0 on success, one of the
 * negative qd_err values otherwise.  Foreign codes (LMDB, errno, jansson)
 * are translated once, where they are met. */
#ifndef QINGDAN_ERR_H
#define QINGDAN_ERR_H

enum qd_err {
	QD_OK = 0,
	QD_EINVAL = -1,    /* input breaks a rule (422 for documents, 400 otherwise) */
	QD_ENOENT = -2,    /* list, version or record not found */
	QD_ENOSPC = -3,    /* storage full (MDB_MAP_FULL, MDB_TXN_FULL) */
	QD_ENOMEM = -4,    /* out of memory */
	QD_EIO = -5,       /* storage or system error */
	QD_ECONFLICT = -6, /* precondition failed (If-Match version mismatch) */
	QD_ESYNTAX = -7,   /* bytes are not JSON / not UTF-8 at all (400) */
	QD_EGONE = -8,     /* the version existed but is no longer retained */
};

/* Short English description of an error code; never NULL, static storage. */
const char *qd_strerror(int err);

#endif
