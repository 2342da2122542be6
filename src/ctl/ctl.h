/* qingdanctl — what the command files share (qingdanctl.c holds the
 * command table, option parsing and most commands; replica.c publish and
 * follow-once). */
#ifndef QINGDANCTL_CTL_H
#define QINGDANCTL_CTL_H

#include <stdbool.h>

#include "qingdan/store.h"

/* Exit statuses beyond the library's (sysexits(3) style). */
enum {
	CTL_EX_FAIL = 1,       /* the operation ran and said no (verify failed …) */
	CTL_EX_USAGE = 64,     /* bad command line */
	CTL_EX_NOINPUT = 66,   /* input file missing or unreadable */
	CTL_EX_CANTCREAT = 73,
};

/* The largest document follow-once accepts: qingdand's default
 * --max-document-bytes. */
#define CTL_MAX_DOCUMENT_BYTES ((size_t)64 << 20)

/* Open the store in db (read-only or not) with the command line's store
 * options; says why on stderr.  Returns 0 or the exit status. */
int ctl_open_store(const char *db, bool ro, qd_store **st);

/* The exit status of a libqingdan error (its table in err.h). */
int ctl_ex_for(int err);

/* publish DIR: write the feed's new records and documents as files. */
int ctl_publish(const char *db, const char *dir);

/* follow-once SOURCE --key FILE: apply what the source has that db lacks. */
int ctl_follow_once(const char *db, const char *source, const char *keyfile);

#endif
