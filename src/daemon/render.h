/* qingdand — JSON renderings of what the store returns: version
 * histories, diffs and changes, load results, audit pages and entry pages.
 * Each appends to b and returns 0, or QD_ENOMEM when b ran out of memory
 * (b then holds a partial rendering). */
#ifndef QINGDAND_RENDER_H
#define QINGDAND_RENDER_H

#include <stdbool.h>

#include "qingdan/buf.h"
#include "qingdan/store.h"

/* {"list":…,"current":N,"versions":[{"version","loaded_at","actor",
 * "action","sha256","entries","source"}…]}, newest first; strings are
 * escaped as jansson writes them.  vs is only read. */
int render_versions(qd_buf *b, const char *list, const qd_versions *vs);

/* The changes as a JSON array of {"id","kind"} objects; "changed" ones
 * also carry "fields".  ch is only read. */
int render_changes(qd_buf *b, const qd_changes *ch);

/* {"list","from","to","diff":{"added","removed","changed"},"changes":[…]}.
 * d is only read. */
int render_diff(qd_buf *b, const char *list, const qd_diff *d);

/* The answer to a load, an import or a rollback:
 * {"list","version","previous","entries","diff":{…},"sha256","action",
 * "changes":[…]} and "dry_run":true for a dry run.  Everything is only read. */
int render_put_result(qd_buf *b, const char *list, const qd_put_result *res, const char *action,
		      const qd_changes *changes, bool dry);

/* One audit record, the bytes the store keeps for it. */
int render_audit_rec(qd_buf *b, const qd_audit_rec *r);

/* {"records":[…],"next_before":N|null}.  p is only read. */
int render_audit_page(qd_buf *b, const qd_audit_page *p);

/* {"list":…,"entries":[…],"next_cursor":…|null}: the entries' objects as
 * stored.  p is only read. */
int render_entries_page(qd_buf *b, const char *list, const qd_entries_page *p);

/* The expiry watch's answer: {"list","version","today","within","until",
 * "entries","members","truncated","items":[{"kind":"entry"|"member","id",
 * "code","ciq","status","valid_from","valid_to","entry"}…]}; "until" is
 * the window's last day; a member's code, ciq and entry are null.  e is
 * only read. */
int render_expiring(qd_buf *b, const char *list, qd_date today, unsigned within, const qd_expiring *e);

/* A proposal: {"proposal","list","base_version","state","stale","action",
 * "source","proposer","comment","created_at","expires_at","effective_at",
 * "sha256","entries","diff":{…},"decided_by","decided_at",
 * "decision_comment","version"} and, with_changes, "changes":[…].
 * stale: a pending proposal whose list has moved on from base_version.
 * p is only read. */
int render_proposal(qd_buf *b, const qd_proposal *p, bool stale, bool with_changes);

/* The scheduled versions of a list: "scheduled": the next one
 * ({"version","effective_at"}) or null, "schedule": every one, earliest
 * first; appended inside an object (starts with a comma). */
int render_schedule(qd_buf *b, const qd_sched_item *v, size_t n);

/* One list's metadata object: {"id","kind","title","version","entries",
 * "loaded_at","sha256"}.  l is only read.  Returns nothing: b->oom says
 * whether it fit. */
void render_list_meta(qd_buf *b, const qd_list_info *l);

#endif
