/* qingdan — the LMDB store.
 *
 * One environment, named databases opened once.  Every list change is one
 * write transaction that writes a complete new version and moves the list's
 * current pointer, so readers see the old or the new version, never a mix.
 * No LMDB type leaves src/lib/store/; callers get plain structs, and the
 * daemon and the CLI render them. */
#ifndef QINGDAN_STORE_H
#define QINGDAN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qingdan/buf.h"
#include "qingdan/code.h"
#include "qingdan/date.h"
#include "qingdan/listdoc.h"
#include "qingdan/problems.h"
#include "qingdan/sha256.h"

#define QD_MAP_SIZE_DEFAULT ((uint64_t)8 << 30) /* 8 GiB of address space, sparse on disk */
#define QD_MAX_READERS_DEFAULT 254
#define QD_RETAIN_DEFAULT 50
#define QD_ACTOR_MAX 64
#define QD_SOURCE_MAX 256

typedef struct qd_store qd_store;

typedef struct qd_store_opts {
	uint64_t map_size;    /* maximum store size in bytes */
	unsigned max_readers; /* concurrent read snapshots (threads + tools) */
	unsigned retain;      /* versions kept per list (>= 1) */
	bool read_only;       /* open without write access */
	/* Versions whose entries render to more than this many bytes of JSON
	 * are stored compressed (less memory, more CPU per entry shown). */
	uint64_t compress_min_bytes;
} qd_store_opts;

/* Fill opts with the defaults above. */
void qd_store_opts_default(qd_store_opts *opts);

/* Open (creating if needed) the store in directory dir, which must exist.
 * Opens every named database in one committed transaction and clears stale
 * reader slots.
 *   opts  NULL for defaults
 *   out   the new store; close with qd_store_close()
 *   err   receives an English message on failure (may be NULL)
 * Returns 0, QD_EIO, QD_ENOMEM or QD_ENOSPC. */
int qd_store_open(const char *dir, const qd_store_opts *opts, qd_store **out,
		  char *err, size_t errlen);

/* Close the store; NULL is ignored.  No snapshot may be open. */
void qd_store_close(qd_store *st);

/* Metadata of one list (its current version). */
typedef struct qd_list_info {
	char id[QD_LIST_ID_MAX + 1];
	enum qd_kind kind;
	uint32_t version;           /* current version */
	uint32_t entries;           /* entries in the current version */
	uint32_t members;           /* roster size of the current version */
	int64_t loaded_at;          /* unix seconds when the current version was stored */
	char sha256[QD_SHA256_HEX]; /* of the canonical document */
	uint16_t code_lengths;      /* bit L set: some entry has an L-digit code (0: unknown, all) */
	char *title;                /* canonical title object as JSON; malloc()ed, or NULL in snapshots */
	qd_list_terms terms;        /* the version's list terms: filled by the qd_snap_*
				     * calls (pointers valid while the snapshot is open);
				     * present is false elsewhere */
	int64_t next_at;            /* a version scheduled to take effect then (unix
				     * seconds) was pending when the list was last
				     * written; 0: none */
	bool has_schedule;          /* some version of the list was ever scheduled */
} qd_list_info;

/* Free the title strings of n infos and the array itself; NULL is ignored. */
void qd_list_infos_free(qd_list_info *infos, size_t n);

/* Every list, ordered by id.
 *   out  a new array of *n infos (titles filled); free with qd_list_infos_free()
 * Returns 0, QD_ENOMEM or QD_EIO. */
int qd_store_lists(qd_store *st, qd_list_info **out, size_t *n);

/* One list's metadata (title filled; free it with free(out->title)).
 * Returns 0, QD_ENOLIST (no such list) or QD_EIO. */
int qd_store_list(qd_store *st, const char *id, qd_list_info *out);

/* How one entry differs between two versions of a list. */
enum qd_change_kind { QD_CHANGE_ADDED, QD_CHANGE_REMOVED, QD_CHANGE_CHANGED };

/* "added", "removed" or "changed" (a static string). */
const char *qd_change_kind_name(enum qd_change_kind kind);

/* One entry-level change. */
typedef struct qd_change {
	char *id;                 /* the entry id; malloc()ed */
	enum qd_change_kind kind;
	char **fields;            /* QD_CHANGE_CHANGED: the keys of the entry object
				   * whose values differ, in the new object's key
				   * order; n_fields malloc()ed strings in a
				   * malloc()ed array (NULL when n_fields is 0) */
	size_t n_fields;
} qd_change;

#define QD_CHANGES_MAX 1000

/* The first QD_CHANGES_MAX changes between two versions, ordered by entry id. */
typedef struct qd_changes {
	qd_change *v;             /* n changes; malloc()ed, with everything they point to */
	size_t n;
} qd_changes;

/* Free what ch holds and leave it empty (reusable); NULL is ignored. */
void qd_changes_free(qd_changes *ch);

/* How a list change is made. */
typedef struct qd_put_opts {
	const char *actor;   /* who: token name, or the CLI user */
	const char *action;  /* "load", "import", "rollback" */
	const char *source;  /* free label: file name, "http" …; may be NULL */
	const char *client;  /* the client's address, for the audit; may be NULL */
	int64_t now;         /* unix seconds to record as loaded_at */
	uint32_t if_match;   /* 0: no precondition; else the current version must equal it */
	bool dry_run;        /* validate and diff, store nothing */
	qd_changes *changes; /* NULL, or an empty qd_changes that receives the
			      * entry-level changes (first QD_CHANGES_MAX, by id);
			      * the caller frees it with qd_changes_free() */
	/* A follower applying a primary's version (qd_store_apply()); NULL
	 * for a change made here. */
	const struct qd_feed_rec *applying;
	/* Approving proposal number `proposal` (0: none) with doc, its
	 * document: in the same transaction the store checks that it is
	 * pending and not expired at now, that actor is not its proposer and
	 * that the list is still at its base version, then marks it approved
	 * (decided_by actor, decision_comment comment, may be NULL). */
	uint64_t proposal;
	const char *comment;
	/* Unix seconds at which the new version takes effect; 0 (or not
	 * after now): at once.  A later one stores the version now and makes
	 * it current at that instant, for lookups now and as of then alike
	 * (qd_st_current_at()); a new list cannot be scheduled (QD_EINVAL,
	 * at /effective_at). */
	int64_t effective_at;
} qd_put_opts;

/* What a list change did (or would do, for a dry run). */
typedef struct qd_put_result {
	uint32_t version;    /* the new version (dry run: the version it would get) */
	uint32_t previous;   /* the version it replaced; 0 for a new list */
	bool created;        /* the list did not exist before */
	size_t entries;      /* entries in the new version */
	size_t added, removed, changed; /* by entry id, against the previous version */
	char sha256[QD_SHA256_HEX];     /* of the canonical document */
	int64_t effective_at;           /* a scheduled version: when it takes effect; else 0 */
} qd_put_result;

/* Store a validated document as the list's new current version, in one
 * write transaction; older versions beyond opts.retain are pruned in it.
 *   problems  receives rule violations found while storing: a kind that
 *             changes between versions (at /kind), an entry whose JSON
 *             renders longer than QD_ENTRY_JSON_MAX (at /entries/N)
 * Returns 0; QD_EINVAL (problems filled); QD_ECONFLICT (if_match failed);
 * QD_ENOSPC (storage full; nothing changed); QD_ENOMEM; QD_EIO. */
int qd_store_put(qd_store *st, const qd_listdoc *doc, const qd_put_opts *opts,
		 qd_put_result *res, qd_problems *problems);

/* One retained version of a list, as its history records it. */
typedef struct qd_version_info {
	uint32_t version;
	int64_t loaded_at;          /* unix seconds when it was stored */
	char *actor;                /* who stored it; malloc()ed, NULL when not recorded */
	char *action;               /* "load", "import", "rollback"; malloc()ed, or NULL */
	char sha256[QD_SHA256_HEX]; /* of the canonical document */
	uint32_t entries;
	char *source;               /* the change's source label; malloc()ed, or NULL */
	int64_t effective_at;       /* a version stored ahead of its instant: that instant
				     * (unix seconds); 0: it took effect when stored */
	bool cancelled;             /* its schedule was cancelled: it never takes effect */
} qd_version_info;

/* A list's version history. */
typedef struct qd_versions {
	uint32_t current;           /* the list's current version */
	qd_version_info *v;         /* n retained versions, newest first; malloc()ed */
	size_t n;
} qd_versions;

/* Free what vs holds (the strings and the array) and leave it empty;
 * NULL is ignored. */
void qd_versions_free(qd_versions *vs);

/* The version history of a list.
 *   out  filled on success; free with qd_versions_free() (left empty on error)
 * Returns 0, QD_ENOLIST (no such list), QD_ENOMEM or QD_EIO. */
int qd_store_versions(qd_store *st, const char *list, qd_versions *out);

/* The canonical document of one version of a list.
 *   version  0 for the current version
 *   out      a new document; free with qd_listdoc_free()
 * Returns 0; QD_ENOLIST (no such list); QD_ENOVERSION (the list never had
 * that version); QD_EGONE (the version was pruned); QD_ENOMEM; QD_EIO. */
int qd_store_get_doc(qd_store *st, const char *list, uint32_t version, qd_listdoc **out);

/* The same document without its entries ("entries": []): the metadata,
 * clauses and roster a CSV import keeps.  Returns as qd_store_get_doc(). */
int qd_store_get_head(qd_store *st, const char *list, uint32_t version, qd_listdoc **out);

/* A version's canonical document (the bytes of qd_listdoc_dump() of
 * qd_store_get_doc()'s document) read piecewise, so that a large version
 * is never held whole: only where each entry lies is kept, and each chunk
 * holds about QD_DOC_READER_CHUNK bytes (one entry may make it larger, up
 * to QD_ENTRY_JSON_MAX).  The reader holds its own read transaction until
 * it is closed: it takes one LMDB reader slot and keeps the version's
 * pages from reuse meanwhile, so close it soon.  It may be used by any
 * thread, one at a time. */
typedef struct qd_doc_reader qd_doc_reader;
#define QD_DOC_READER_CHUNK ((size_t)64 << 10)

/* Open a reader of version (0: the current one) of list.
 *   out  a new reader; close it with qd_store_doc_reader_close()
 * Returns as qd_store_get_doc(). */
int qd_store_doc_reader_open(qd_store *st, const char *list, uint32_t version, qd_doc_reader **out);

/* The length in bytes of the whole document (known at open: nothing is
 * decompressed for it). */
uint64_t qd_store_doc_reader_size(const qd_doc_reader *r);

/* The next chunk of the document.
 *   data, len  the chunk, owned by the reader and valid until the next call
 *              or close; *len 0 at the end of the document
 * Returns 0, QD_ENOMEM or QD_EIO (the document is then cut short). */
int qd_store_doc_reader_next(qd_doc_reader *r, const char **data, size_t *len);

/* Close a reader (NULL is ignored): ends its transaction and frees it. */
void qd_store_doc_reader_close(qd_doc_reader *r);

/* The difference between two versions of a list. */
typedef struct qd_diff {
	uint32_t from, to;               /* the versions compared (0 resolved to the current one) */
	size_t added, removed, changed;  /* entry counts, by entry id */
	qd_changes changes;              /* the first QD_CHANGES_MAX changes, by id */
	uint32_t missing;                /* after QD_ENOVERSION or QD_EGONE: the version
					  * (from or to) that is not there; else 0 */
} qd_diff;

/* Free what d holds and leave it empty; NULL is ignored. */
void qd_diff_free(qd_diff *d);

/* The diff between two versions of a list.
 *   from, to  versions; 0 for the current version
 *   out       filled on success; free with qd_diff_free() (left empty on
 *             error, but for out->missing)
 * Returns 0; QD_ENOLIST (no such list); QD_ENOVERSION (from or to was never
 * a version of it; out->missing says which, from when both); QD_EGONE
 * (pruned; out->missing says which); QD_ENOMEM; QD_EIO. */
int qd_store_diff(qd_store *st, const char *list, uint32_t from, uint32_t to, qd_diff *out);

/* One audit record: who did what to which list, and how it ended.  The
 * caller of qd_store_audit_append() lends the strings; in a qd_audit_page
 * they belong to the page.
 *
 * Records of stored changes are written in the change's own transaction
 * and kept for as long as the store.  Records of attempts that changed
 * nothing (refusals, failures, dry runs) are "attempt records": they may
 * stand for many repeats of one attempt (count, last_time) and are pruned
 * by age and number (qd_audit_retention). */
typedef struct qd_audit_rec {
	uint64_t id;            /* the record's sequence number (set by the store; ignored on append) */
	int64_t time;           /* unix seconds (of the first, for repeats) */
	const char *actor;      /* token name, CLI user or "anonymous" */
	const char *action;     /* "load", "import", "rollback", "dry_run" … */
	const char *list;       /* may be NULL */
	uint32_t version;       /* 0 when none was stored */
	const char *sha256;     /* may be NULL */
	long entries, added, removed, changed; /* -1 when not applicable */
	unsigned status;        /* HTTP-style outcome: 200/201 stored, 4xx refused … */
	const char *outcome;    /* "stored", "dry_run", "refused", "failed" */
	const char *message;    /* why it was refused; may be NULL */
	const char *source;     /* the change's source label (file, "http …"); may be NULL */
	const char *client;     /* the client's address; may be NULL */
	uint64_t count;         /* attempts this record stands for (0 is read as 1) */
	int64_t last_time;      /* when count > 1: the time of the last of them */
	/* A record of a proposal (made, approved, rejected): its number, its
	 * proposer and the comment given with this step (may be NULL); 0 and
	 * NULL for every other record. */
	uint64_t proposal;
	const char *proposer;
	const char *comment;
} qd_audit_rec;

/* Append rec to b as the JSON object GET /v1/audit shows (b->oom on
 * allocation failure). */
void qd_audit_rec_json(qd_buf *b, const qd_audit_rec *rec);

/* The retention qingdand applies by default (--audit-retain,
 * --audit-max-attempts) and qingdanctl audit --prune without bounds. */
#define QD_AUDIT_RETAIN_DAYS_DEFAULT 365
#define QD_AUDIT_MAX_ATTEMPTS_DEFAULT 100000

/* How many attempt records the store keeps.  Zero members mean no limit. */
typedef struct qd_audit_retention {
	int64_t before;         /* drop attempt records older than this (unix seconds) */
	uint64_t max_records;   /* keep at most this many attempt records, the newest */
} qd_audit_retention;

/* Append one attempt record in its own write transaction (the same as
 * qd_store_audit_attempts(st, rec, 1, NULL, NULL)).  Successful
 * qd_store_put() calls write their record themselves, in the same
 * transaction as the change.  Returns 0, QD_ENOSPC, QD_ENOMEM or QD_EIO. */
int qd_store_audit_append(qd_store *st, const qd_audit_rec *rec);

/* Append n attempt records (recs; the strings are lent) in one write
 * transaction, then prune attempt records as ret says (NULL: none), at
 * most QD_AUDIT_PRUNE_BATCH of them, in the same transaction.
 *   pruned  receives how many were removed; may be NULL
 * Returns 0, QD_ENOSPC, QD_ENOMEM or QD_EIO; on error nothing changed. */
int qd_store_audit_attempts(qd_store *st, const qd_audit_rec *recs, size_t n,
			    const qd_audit_retention *ret, uint64_t *pruned);

/* Attempt records removed per write transaction while pruning, so that a
 * prune never holds the writer for long. */
#define QD_AUDIT_PRUNE_BATCH 10000

/* Remove attempt records as ret says, oldest first, in transactions of at
 * most QD_AUDIT_PRUNE_BATCH records; records of stored changes are never
 * removed.  pruned (may be NULL) receives how many went.
 * Returns 0, QD_ENOMEM or QD_EIO (also for a read-only store). */
int qd_store_audit_prune(qd_store *st, const qd_audit_retention *ret, uint64_t *pruned);

/* One page of the audit log. */
typedef struct qd_audit_page {
	qd_audit_rec *recs;     /* n records, newest first; malloc()ed, and so is
				 * every string they point to */
	size_t n;
	uint64_t next_before;   /* pass as `before` for the next page; 0 when none */
} qd_audit_page;

/* Free what p holds and leave it empty; NULL is ignored. */
void qd_audit_page_free(qd_audit_page *p);

/* One page of the audit log, newest first.
 *   before  0 for the newest, else only records with id < before
 *   limit   page size (>= 1)
 *   out     filled on success; free with qd_audit_page_free() (left empty on error)
 * Returns 0, QD_ENOMEM or QD_EIO (a record does not decode). */
int qd_store_audit_page(qd_store *st, uint64_t before, size_t limit, qd_audit_page *out);

/* One stored entry: its canonical JSON object, the bytes as stored. */
typedef struct qd_entry_json {
	char *json;             /* malloc()ed, NUL-terminated */
	size_t len;
} qd_entry_json;

/* One page of a list's entries. */
typedef struct qd_entries_page {
	qd_entry_json *v;       /* n entries ordered by code; malloc()ed */
	size_t n;
	char *next;             /* malloc()ed cursor for the next page, or NULL at the end */
} qd_entries_page;

/* Free what p holds and leave it empty; NULL is ignored. */
void qd_entries_page_free(qd_entries_page *p);

/* One page of the current version's entries whose code starts with prefix.
 *   prefix  digits (possibly ""), already normalised
 *   cursor  NULL for the first page, else a cursor returned earlier
 *   limit   page size (>= 1)
 *   out     filled on success; free with qd_entries_page_free() (left empty on error)
 * Returns 0, QD_ENOLIST (no such list), QD_EINVAL (bad cursor), QD_ENOMEM, QD_EIO. */
int qd_store_entries_page(qd_store *st, const char *list, const char *prefix,
			  const char *cursor, size_t limit, qd_entries_page *out);

/* ---- scheduled versions ---- */

/* One version stored ahead of the instant it takes effect. */
typedef struct qd_sched_item {
	uint32_t version;
	int64_t effective_at;        /* unix seconds */
} qd_sched_item;

/* The scheduled versions of list still to take effect after `now`,
 * earliest first.
 *   out  a new array of *n (free() it; NULL when none)
 * Returns 0, QD_ENOLIST, QD_ENOMEM or QD_EIO. */
int qd_store_scheduled(qd_store *st, const char *list, int64_t now, qd_sched_item **out, size_t *n);

/* Cancel list's scheduled versions still to come at `now`: version (0:
 * every one).  One write transaction: each gets a feed record (action
 * "cancel", its version, effective_at the instant it would have taken
 * effect) and an audit record.
 *   out, n  the versions cancelled (a new array; free() it)
 * Returns 0; QD_ENOLIST; QD_ENOENT (nothing of that is scheduled);
 * QD_ENOSPC; QD_ENOMEM; QD_EIO. */
int qd_store_cancel_scheduled(qd_store *st, const char *list, uint32_t version, const char *actor,
			      const char *client, int64_t now, qd_sched_item **out, size_t *n);

/* Make the store's clock read `now` (unix seconds) instead of the time:
 * which version is current "now" follows it (tests of scheduling).  0
 * goes back to the time.  Call before the store is shared. */
void qd_store_set_time(qd_store *st, int64_t now);

/* ---- proposals: changes a second admin approves (four eyes) ----
 *
 * A proposal holds a validated list document (its canonical bytes) and
 * the list's version it was compared with.  Approving it stores the
 * document through qd_store_put() (qd_put_opts.proposal), which checks
 * and closes the proposal in the same transaction as the new version. */

#define QD_PROPOSALS_MAX 1000       /* proposals one qd_store_proposals() returns at most */
#define QD_COMMENT_MAX 1000         /* bytes of a proposal's or a decision's comment */

enum qd_proposal_state {
	QD_PROPOSAL_PENDING, QD_PROPOSAL_APPROVED, QD_PROPOSAL_REJECTED, QD_PROPOSAL_EXPIRED,
};

/* "pending", "approved", "rejected", "expired" (a static string). */
const char *qd_proposal_state_name(enum qd_proposal_state s);

/* One proposal.  Strings are malloc()ed (free with qd_proposal_free())
 * when the store returns it; qd_store_proposal_add() only reads them. */
typedef struct qd_proposal {
	uint64_t id;                 /* 1, 2, 3 … (set by qd_store_proposal_add()) */
	char list[QD_LIST_ID_MAX + 1];
	uint32_t base_version;       /* the version the document was compared with; 0: a new list */
	enum qd_proposal_state state; /* a pending one past expires_at reads as expired */
	char *action;                /* what approving stores: "load", "import", "rollback" */
	char *source;                /* the change's source label; may be NULL */
	char *proposer;              /* token name */
	char *comment;               /* the proposer's; may be NULL */
	int64_t created_at, expires_at;  /* unix seconds */
	int64_t effective_at;        /* when the version is to take effect; 0: at approval */
	char sha256[QD_SHA256_HEX];  /* of the canonical document */
	long entries;
	long added, removed, changed; /* against base_version */
	char *changes;               /* the entry-level changes as the proposer's caller
				      * rendered them: a JSON array; may be NULL */
	char *decided_by;            /* approved or rejected: who; else NULL */
	char *decision_comment;      /* may be NULL */
	int64_t decided_at;          /* 0 while pending */
	uint32_t version;            /* approved: the version stored; else 0 */
} qd_proposal;

/* Free the strings p holds and leave it zeroed; NULL is ignored. */
void qd_proposal_free(qd_proposal *p);

/* Free n proposals and the array; NULL is ignored. */
void qd_proposals_free(qd_proposal *v, size_t n);

/* Store a new pending proposal with its document's canonical bytes, in
 * one write transaction with its audit record (action "propose", outcome
 * "proposed", status 202).  The caller has validated the document and
 * compared it with base_version (a dry run).  Documents of proposals that
 * expired meanwhile are dropped in the same transaction (their records
 * stay, as expired).
 *   p       list, base_version, action, source, proposer, comment,
 *           created_at, expires_at, effective_at, sha256, entries, the
 *           counts and changes are read; p->id receives the new number
 *   client  the client's address for the audit record; may be NULL
 * Returns 0, QD_ENOSPC, QD_ENOMEM or QD_EIO. */
int qd_store_proposal_add(qd_store *st, qd_proposal *p, const char *doc, size_t len, const char *client);

/* Up to limit (at most QD_PROPOSALS_MAX) proposals, newest first, those in
 * state `state` only (-1: every state); `now` decides which pending ones
 * read as expired.
 *   out  a new array of *n; free with qd_proposals_free()
 * Returns 0, QD_ENOMEM or QD_EIO. */
int qd_store_proposals(qd_store *st, int64_t now, int state, size_t limit, qd_proposal **out, size_t *n);

/* Proposal id, read at `now`.
 *   doc, len  when doc is not NULL: a malloc()ed copy of its document
 *             while it is pending and not expired, else NULL
 * Returns 0, QD_ENOPROPOSAL, QD_ENOMEM or QD_EIO. */
int qd_store_proposal_get(qd_store *st, uint64_t id, int64_t now, qd_proposal *out, char **doc, size_t *len);

/* Reject proposal id, in one write transaction with its audit record
 * (action "reject", outcome "rejected").  Its document is dropped.
 *   out  when not NULL, receives the proposal as it now stands
 * Returns 0; QD_ENOPROPOSAL; QD_EDECIDED (approved or rejected already);
 * QD_EEXPIRED; QD_ESAMEPERSON (actor proposed it); QD_ENOSPC; QD_ENOMEM;
 * QD_EIO. */
int qd_store_proposal_reject(qd_store *st, uint64_t id, const char *actor, const char *comment,
			     const char *client, int64_t now, qd_proposal *out);

/* ---- the expiry watch ---- */

/* Items a qd_expiring lists at most; its counts go on past them. */
#define QD_EXPIRING_MAX 10000
/* The widest window qd_store_expiring() takes, in days (ten years). */
#define QD_EXPIRING_DAYS_MAX 3660

/* One entry or roster member whose validity ends within the window. */
typedef struct qd_expiring_item {
	bool member;                 /* a roster member; else an entry */
	char *id;                    /* the entry id or the member's entity id; malloc()ed */
	char code[QD_CODE_MAX + 1];  /* an entry's commodity code digits; "" for a member */
	char ciq[QD_CIQ_LEN + 1];    /* an entry's CIQ code; "" when none, or for a member */
	enum qd_status status;
	qd_date valid_from, valid_to; /* valid_from QD_DATE_MIN when open */
	char *json;                  /* an entry's canonical object as stored; malloc()ed,
				      * NULL for a member and when counting only */
	size_t json_len;
} qd_expiring_item;

/* What the expiry watch found in a list's current version. */
typedef struct qd_expiring {
	uint32_t version;            /* the version read */
	size_t entries, members;     /* how many expire in the window (all of them) */
	qd_expiring_item *v;         /* the first QD_EXPIRING_MAX of them, by valid_to,
				      * then entries before members, then by id; malloc()ed */
	size_t n;
	bool truncated;              /* more expire than v holds */
} qd_expiring;

/* Free what e holds and leave it empty; NULL is ignored. */
void qd_expiring_free(qd_expiring *e);

/* The entries and roster members of list's current version whose valid_to
 * falls on one of the `days` civil days starting with `today`
 * (today <= valid_to < today + days).  Revoked entries and members are
 * left out: they have ended already.  Entries and members whose window is
 * open at the end never expire.
 *   days        1 .. QD_EXPIRING_DAYS_MAX
 *   count_only  fill the counts only (out->v stays empty)
 *   out         filled on success; free with qd_expiring_free() (left
 *               empty on error)
 * Returns 0, QD_EINVAL (days out of range), QD_ENOLIST (no such list),
 * QD_ENOMEM or QD_EIO. */
int qd_store_expiring(qd_store *st, const char *list, qd_date today, unsigned days, bool count_only,
		      qd_expiring *out);

/* ---- the feed: a signed chain of every committed version ----
 *
 * Every version a qd_store_put() commits (load, import, rollback) appends
 * one feed record in the same write transaction: the members
 *   seq, list, version, action, sha256 (of the canonical document),
 *   entries, committed_at, effective_at (RFC 3339 UTC), actor, prev
 * (strings, integers and null), where prev is the hash of the record
 * before it (64 zeros for record 1) and a record's hash is the SHA-256 of
 * its canonical JSON (RFC 8785, jcs.h).  With a signer, each record also
 * carries a signature over those canonical bytes.  A store that predates
 * the feed gets it built once, unsigned, from its audit log's records of
 * stored changes, by the first read-write open (the signed records that
 * follow chain over them). */

#define QD_FEED_HASH_HEX 65          /* 64 hex digits and a NUL */
#define QD_FEED_PAGE_MAX 1000        /* records one qd_store_feed_page() returns at most */

/* How records are signed: the store calls sign(ctx, msg, len, out) with a
 * record's canonical bytes, and it appends the base64 signature to out;
 * alg and kid name the key.  The signer's strings and ctx are borrowed
 * for as long as the store uses them. */
typedef struct qd_feed_signer {
	int (*sign)(void *ctx, const void *msg, size_t len, qd_buf *out);
	void *ctx;
	const char *alg, *kid;
} qd_feed_signer;

/* Sign the records committed from now on with s (NULL: stop signing).
 * Call before the store is shared between threads. */
void qd_store_set_signer(qd_store *st, const qd_feed_signer *s);

/* One feed record. */
typedef struct qd_feed_rec {
	uint64_t seq;
	char hash[QD_FEED_HASH_HEX];  /* sha256 of json */
	char *json;                   /* the canonical JSON, without sig; malloc()ed */
	size_t json_len;
	char *sig;                    /* {"alg","kid","value"} compact, or NULL (unsigned); malloc()ed */
	char list[QD_LIST_ID_MAX + 1];
	uint32_t version;
} qd_feed_rec;

/* Free what r holds; NULL is ignored. */
void qd_feed_rec_free(qd_feed_rec *r);

/* Append r to b as the feed shows it: its canonical members and "sig"
 * (null when unsigned).  b->oom on allocation failure. */
void qd_feed_rec_json(qd_buf *b, const qd_feed_rec *r);

/* A page of the feed. */
typedef struct qd_feed_page {
	qd_feed_rec *recs;            /* n records, oldest first; malloc()ed */
	size_t n;
	uint64_t head;                /* the last record's seq (0: the feed is empty) */
} qd_feed_page;

/* Free what p holds and leave it empty; NULL is ignored. */
void qd_feed_page_free(qd_feed_page *p);

/* The last record's seq (0 when none) and hash (64 zeros when none).
 * hash may be NULL.  Returns 0, QD_ENOMEM or QD_EIO. */
int qd_store_feed_head(qd_store *st, uint64_t *seq, char hash[QD_FEED_HASH_HEX]);

/* Up to limit (at most QD_FEED_PAGE_MAX) records with seq > after, oldest
 * first, and the head, read in one snapshot.
 * Returns 0, QD_ENOMEM or QD_EIO. */
int qd_store_feed_page(qd_store *st, uint64_t after, size_t limit, qd_feed_page *out);

/* Record seq.  Returns 0; QD_ENOENT (no such record); QD_ENOMEM; QD_EIO. */
int qd_store_feed_get(qd_store *st, uint64_t seq, qd_feed_rec *out);

/* How qd_store_feed_verify() checks a signature: verify(ctx, alg, kid,
 * msg, len, sig, sig_len) returns 0 when valid, QD_ENOENT when it knows
 * no key kid, anything else when the signature is bad. */
typedef int (*qd_feed_verify_fn)(void *ctx, const char *alg, const char *kid, const void *msg,
				 size_t len, const char *sig, size_t sig_len);

/* The keys that signed a feed, as qd_store_feed_verify() met them. */
#define QD_FEED_KIDS_MAX 16
typedef struct qd_feed_kid {
	char alg[16];                 /* as the signature names it, cut to fit */
	char kid[72];
	uint64_t records;             /* records it signed */
	uint64_t unknown;             /* of them, left unchecked: verify did not know the key (all, without verify) */
	uint64_t first_seq, last_seq; /* the first and last of them */
} qd_feed_kid;

/* What qd_store_feed_verify() found. */
typedef struct qd_feed_summary {
	uint64_t records;             /* records read */
	uint64_t signed_valid;        /* signatures checked and valid */
	uint64_t unsigned_records;    /* records without a signature */
	uint64_t unknown_kid;         /* signed by a key verify did not know (all signed ones without verify) */
	qd_feed_kid kids[QD_FEED_KIDS_MAX]; /* the signing keys, in the order first met */
	size_t n_kids;
	uint64_t kids_left_out;       /* unchecked records by keys past the first QD_FEED_KIDS_MAX */
} qd_feed_summary;

/* A follower's write: store doc as the version the primary's feed record
 * rec names, in one write transaction, keeping the primary's version
 * number, committed_at (as loaded_at) and its record — bytes, hash and
 * signature — as this store's record of the same seq.  The caller has
 * checked rec's signature and that doc's canonical bytes hash to rec's
 * sha256; the store checks, inside the transaction, that rec follows its
 * own head (seq, prev), that rec's version is newer than the list's last,
 * and that the document's digest is rec's.  Older versions beyond the
 * store's retention are pruned as a qd_store_put() prunes them.
 *   o    actor, action, source and client of the audit record (now,
 *        if_match, dry_run, changes and applying are ignored)
 * Returns 0; QD_ECONFLICT (rec does not follow the head: nothing changed);
 * QD_EINVAL (problems filled: digest, version or kind); QD_ENOSPC;
 * QD_ENOMEM; QD_EIO. */
int qd_store_apply(qd_store *st, const qd_listdoc *doc, const qd_feed_rec *rec, const qd_put_opts *o,
		   qd_put_result *res, qd_problems *problems);

/* The members of a feed record's canonical JSON a follower needs. */
typedef struct qd_feed_fields {
	uint64_t seq;
	char list[QD_LIST_ID_MAX + 1];
	uint32_t version;
	char action[16];
	char sha256[QD_SHA256_HEX];   /* "" when null */
	char prev[QD_FEED_HASH_HEX];
	char actor[64];               /* "" when null; longer names are cut (audit only) */
	int64_t committed_at, effective_at;
} qd_feed_fields;

/* Read the members of a record's canonical JSON (json, len).
 * Returns 0 or QD_EINVAL (not a feed record: a member missing or of the
 * wrong type, a list id or hash that is not one). */
int qd_feed_fields_parse(const char *json, size_t len, qd_feed_fields *out);

/* Check the feed in one read snapshot: sequence numbers follow on from 1,
 * each record's bytes are canonical and hash to what is stored, prev is
 * the hash of the record before, a record of a retained version agrees
 * with its version record (sha256), every version the history holds has a
 * record, and each signature verifies (when verify is not NULL).  Each
 * finding is a problem at "/feed/SEQ".
 * Returns 0 when clean, QD_EINVAL with problems, QD_ENOMEM, QD_EIO. */
int qd_store_feed_verify(qd_store *st, qd_feed_verify_fn verify, void *ctx,
			 qd_feed_summary *sum, qd_problems *problems);

/* ---- operations ---- */

typedef struct qd_store_stats {
	uint64_t map_size;     /* bytes of address space reserved (the store's maximum) */
	uint64_t map_used;     /* bytes in use (pages up to the last used one) */
	unsigned readers_max;  /* reader slots */
	unsigned readers_used; /* reader slots in use (all processes) */
	uint64_t lists, versions, entries, members, audit; /* records per database */
	uint64_t audit_attempts; /* of the audit records, those of attempts that changed nothing */
} qd_store_stats;

/* Fill out with the store's size and record counts.  Returns 0 or QD_EIO. */
int qd_store_stats_get(qd_store *st, qd_store_stats *out);

/* Check the store's integrity in one read snapshot: every list's current
 * pointer resolves to a stored version; retained versions are complete;
 * every entry record decodes and agrees with its key and its JSON (id,
 * code, CIQ); entry counts and roster sizes match the records; entry
 * entities resolve on the roster when the list has one; no records belong
 * to versions that are not in the history.  Each finding is a problem whose
 * path names the record ("/lists/ID/versions/N/entries/EID").
 * Returns 0 when clean, QD_EINVAL with problems, or QD_ENOMEM / QD_EIO. */
int qd_store_verify(qd_store *st, qd_problems *problems);

/* Write a compacted, consistent copy of the store into directory dir (which
 * must exist and hold no store); safe while other processes write.
 * Returns 0, or QD_EIO with a message in err. */
int qd_store_backup(qd_store *st, const char *dir, char *err, size_t errlen);

/* ---- read snapshots for decisions ---- */

typedef struct qd_snap qd_snap;

/* A candidate entry read from a snapshot.  Every pointer is valid until the
 * next qd_snap_candidates() call on the snapshot or until it ends. */
typedef struct qd_cand {
	const char *id;
	unsigned code_len;
	bool has_ciq;
	enum qd_status status;
	enum qd_effect effect;
	qd_date valid_from, valid_to;
	const char *entities;       /* n_entities NUL-terminated ids, back to back */
	unsigned n_entities;
	const char *entry_json;     /* the entry object as stored: read it with */
	size_t entry_json_len;      /* qd_snap_entry_json() */
	unsigned entry_json_comp;   /* how it is stored (plain or compressed) */
	const char *clause_ids;     /* n_clauses NUL-terminated clause ids, back to back */
	unsigned n_clauses;
	const char *terms;          /* the entry's decision terms (qd_entry_terms_decode), */
	size_t terms_len;           /* or NULL: none */
} qd_cand;

/* A roster member as stored. */
typedef struct qd_member_rec {
	enum qd_status status;
	qd_date valid_from, valid_to;
} qd_member_rec;

/* Allocate a snapshot handle for st (no transaction yet).
 * Returns NULL on out-of-memory. */
qd_snap *qd_snap_new(qd_store *st);

/* Start (or renew) the read transaction: from now on every read sees the
 * store as it was at this instant.  Returns 0 or QD_EIO. */
int qd_snap_open(qd_snap *s);

/* End the read transaction (reset; the handle can be opened again). */
void qd_snap_close(qd_snap *s);

/* Free the handle (closing it first); NULL is ignored. */
void qd_snap_free(qd_snap *s);

/* Default bound of a snapshot handle's read cache, in bytes. */
#define QD_SNAP_CACHE_DEFAULT (2u << 20)

/* Bound the handle's read cache to about `bytes` (0: no cache).  The cache
 * remembers, for the committed state the handle last read, which entries
 * are candidates for a code and what the roster says of an entity, so a
 * code or entity asked again needs no B-tree search for them.  It is emptied when a
 * write has committed since, and when it would outgrow its bound.  A new
 * handle has QD_SNAP_CACHE_DEFAULT. */
void qd_snap_set_cache(qd_snap *s, size_t bytes);

/* The handle's read cache: lookups answered from it (hits) and not
 * (misses), times it was emptied to make room (resets) since the handle
 * was made, and the answers it holds now (entries).  Besides the cache,
 * whatever its size, a handle reads with its lists the clause texts of
 * each version with at most 256 clauses and the roster of each with at
 * most 2 048 members, and holds them until a write commits (held_clauses,
 * held_members: how many it holds now); a lookup then finds the deciding
 * entry's clauses and the institution's roster record without a search
 * of the store.  Safe to call from another thread than the one using the
 * handle. */
typedef struct qd_snap_cache_stats {
	uint64_t hits, misses, resets, entries;
	uint64_t held_clauses, held_members;
} qd_snap_cache_stats;
void qd_snap_cache_stats_get(const qd_snap *s, qd_snap_cache_stats *out);

#define QD_SNAP_SCRATCH 3
/* Scratch buffer i (< QD_SNAP_SCRATCH) owned by the handle, emptied, for a
 * caller that renders with this snapshot: reusing it across requests saves
 * a malloc/free per buffer per decision.  Valid until the handle is freed. */
qd_buf *qd_snap_scratch(qd_snap *s, unsigned i);

/* The lists at this snapshot, ordered by id (titles not filled).
 *   out  pointer to an array owned by the snapshot, valid until it closes
 * Returns 0, QD_ENOMEM or QD_EIO. */
int qd_snap_lists(qd_snap *s, const qd_list_info **out, size_t *n);

/* Entries of the list's current version that are candidates for code q:
 * entry code a prefix of q->digits, entry CIQ absent or equal to q->ciq, in version l->version.
 *   out  array owned by the snapshot, valid until the next call / close
 * Returns 0, QD_ENOMEM or QD_EIO. */
int qd_snap_candidates(qd_snap *s, const qd_list_info *l, const qd_code *q,
		       const qd_cand **out, size_t *n);

/* The lists as they were at instant `at` (unix seconds): for each list the
 * version that was current then (the newest stored at or before `at`);
 * lists created later are left out.
 *   out  array owned by the snapshot, valid until the next call / close
 * Returns 0; QD_EGONE when a list's version of that time has been pruned;
 * QD_ENOMEM; QD_EIO. */
int qd_snap_lists_at(qd_snap *s, int64_t at, const qd_list_info **out, size_t *n);

/* One list as it was at instant `at`: the version current then.
 * Returns 0; QD_ENOLIST (no such list, or it did not exist yet); QD_EGONE
 * (the version of that time was pruned); QD_EIO. */
int qd_snap_list_at(qd_snap *s, const char *list, int64_t at, qd_list_info *out);

/* One list at a given version (entries/members/sha/loaded_at of that
 * version).  Returns 0, QD_ENOLIST (no such list), QD_ENOVERSION (the list
 * never had that version), QD_EGONE (pruned), QD_EIO. */
int qd_snap_list_version(qd_snap *s, const char *list, uint32_t version, qd_list_info *out);

/* Append to out the JSON array of the clause objects candidate c cites
 * (pre-rendered at load time, one record per clause and version).
 * Returns 0, QD_EIO (a cited clause is missing) or QD_ENOMEM. */
int qd_snap_clauses_json(qd_snap *s, const qd_list_info *l, const qd_cand *c, qd_buf *out);

/* Append the canonical JSON object of candidate c of list l to out
 * (decompressing it when it is stored compressed).  Returns 0, QD_EIO or
 * QD_ENOMEM. */
int qd_snap_entry_json(qd_snap *s, const qd_list_info *l, const qd_cand *c, qd_buf *out);

/* Look up entity on the list's roster (at l->version).
 * Returns 0 and fills out, QD_ENOENT when not on the roster, or QD_EIO. */
int qd_snap_member(qd_snap *s, const qd_list_info *l, const char *entity,
		   qd_member_rec *out);

#endif
