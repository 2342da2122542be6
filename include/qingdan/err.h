/* qingdan — error codes shared by every libqingdan module.
 *
 * Every function that can fail returns int: 0 on success, one of the
 * negative qd_err values otherwise.  Foreign codes (LMDB, errno, jansson)
 * are translated once, where they are met. */
#ifndef QINGDAN_ERR_H
#define QINGDAN_ERR_H

/* The errors, one row each:
 *   X(name, value, code, http, exit, message)
 * name     the enum constant
 * value    its value (0 or negative, never reused)
 * code     snake_case name of the error, distinct per row
 * http     the HTTP status a request failing with it is answered with
 *          (the daemon's table of HTTP errors checks itself against it)
 * exit     the sysexits(3) status a command failing with it exits with
 * message  short English description (qd_strerror())
 * QD_EINVAL is 422 because it means "breaks the rules" (problems filled);
 * a caller whose rule is a query parameter's answers 400 itself. */
#define QD_ERRORS(X) \
	X(QD_OK,          0, "ok",                  200,  0 /* EX_OK */,          "success") \
	X(QD_EINVAL,     -1, "invalid_input",       422, 65 /* EX_DATAERR */,     "invalid input") \
	X(QD_ENOLIST,    -2, "list_not_found",      404, 69 /* EX_UNAVAILABLE */, "no such list") \
	X(QD_ENOSPC,     -3, "storage_full",        507, 75 /* EX_TEMPFAIL */,    "storage full") \
	X(QD_ENOMEM,     -4, "out_of_memory",       500, 74 /* EX_IOERR */,       "out of memory") \
	X(QD_EIO,        -5, "io_error",            500, 74 /* EX_IOERR */,       "storage or system error") \
	X(QD_ECONFLICT,  -6, "precondition_failed", 412, 75 /* EX_TEMPFAIL */,    "precondition failed") \
	X(QD_ESYNTAX,    -7, "bad_json",            400, 65 /* EX_DATAERR */,     "not valid JSON") \
	X(QD_EGONE,      -8, "version_gone",        404, 69 /* EX_UNAVAILABLE */, "version no longer retained") \
	X(QD_ENOVERSION, -9, "version_not_found",   404, 69 /* EX_UNAVAILABLE */, "no such version") \
	X(QD_ENOENT,    -10, "not_found",           404, 69 /* EX_UNAVAILABLE */, "no such record") \
	X(QD_EEXIST,    -11, "already_exists",      409, 73 /* EX_CANTCREAT */,   "file already exists") \
	X(QD_EKEYPERM,  -12, "key_permissions",     403, 77 /* EX_NOPERM */,      "key file is readable or writable by group or others") \
	X(QD_EBADKEY,   -13, "bad_key",             422, 65 /* EX_DATAERR */,     "not a key of a supported algorithm") \
	X(QD_EBADSIG,   -14, "bad_signature",       422, 65 /* EX_DATAERR */,     "signature does not verify") \
	X(QD_EBASE64,   -15, "bad_encoding",        400, 65 /* EX_DATAERR */,     "malformed base64") \
	X(QD_ENOPROPOSAL, -16, "proposal_not_found", 404, 69 /* EX_UNAVAILABLE */, "no such proposal") \
	X(QD_EEXPIRED,  -17, "proposal_expired",    410, 69 /* EX_UNAVAILABLE */, "the proposal has expired") \
	X(QD_EDECIDED,  -18, "proposal_decided",    409, 75 /* EX_TEMPFAIL */,    "the proposal was approved or rejected already") \
	X(QD_ESAMEPERSON, -19, "same_person",       403, 77 /* EX_NOPERM */,      "a proposal is approved or rejected by someone other than its proposer") \
	X(QD_ESCHEDULE, -20, "schedule_conflict",   409, 75 /* EX_TEMPFAIL */,    "a later instant is scheduled already")

/* QD_ENOLIST: the list was never stored.  QD_ENOVERSION: the list exists
 * but never had that version.  QD_EGONE: the version existed but is no
 * longer retained.  QD_ENOENT: some other record is absent (an entity not
 * on a roster).  QD_EEXIST: a file that must be new exists.  QD_EKEYPERM: a
 * private key file others may read.  QD_EBADKEY: a key file or PEM text
 * that holds no usable key.  QD_EBADSIG: a well-formed signature that does
 * not verify.  QD_EBASE64: text that is not strict base64.
 * QD_ENOPROPOSAL: no proposal has that number.  QD_EEXPIRED: a pending
 * proposal past its expiry.  QD_EDECIDED: a proposal approved or rejected
 * already.  QD_ESAMEPERSON: its proposer asked to approve or reject it.
 * QD_ESCHEDULE: a version to take effect before one of the list's versions
 * already scheduled (which would then take over from it). */
enum qd_err {
#define QD_ERR_ENUM_(name, value, code, http, exit, msg) name = value,
	QD_ERRORS(QD_ERR_ENUM_)
#undef QD_ERR_ENUM_
};

/* Short English description of an error code.
 *   err  a qd_err value; any other int gives "unknown error"
 * Returns a static string, never NULL. */
const char *qd_strerror(int err);

/* The snake_case name of an error ("list_not_found" …).
 *   err  a qd_err value; any other int gives "unknown_error"
 * Returns a static string, never NULL. */
const char *qd_err_code(int err);

/* The sysexits(3) status for an error: 0 for QD_OK, 65 invalid data, 69
 * no such list or version, 74 storage or system error, 75 try again.
 *   err  a qd_err value; any other int gives 74 (EX_IOERR)
 * Returns the status. */
int qd_err_exit(int err);

/* The HTTP status for an error (404, 507 …), and its snake_case name.
 *   err   a qd_err value; any other int gives 500 and "unknown_error"
 *   code  receives the name (a static string); may be NULL
 * Returns the status. */
unsigned qd_err_http(int err, const char **code);

#endif
