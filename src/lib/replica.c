/* qingdan — what a replica checks before it applies a primary's version
 * (see replica.h). */
#include "qingdan/replica.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/err.h"
#include "qingdan/jcs.h"
#include "qingdan/listdoc.h"
#include "qingdan/sha256.h"

const char *qd_replica_fault_name(enum qd_replica_fault f)
{
	static const char *const names[QD_RF_COUNT] = {
		[QD_RF_NONE] = "none", [QD_RF_FETCH] = "fetch", [QD_RF_FORMAT] = "format",
		[QD_RF_SIGNATURE] = "signature", [QD_RF_CHAIN] = "chain", [QD_RF_DOCUMENT] = "document",
		[QD_RF_GONE] = "gone", [QD_RF_STORE] = "store",
	};
	return f < QD_RF_COUNT ? names[f] : "unknown";
}

int qd_feed_rec_from_json(const json_t *rec, qd_feed_rec *out)
{
	memset(out, 0, sizeof *out);
	if (!json_is_object(rec))
		return QD_EINVAL;
	json_t *sig = json_object_get(rec, "sig");
	if (sig && !json_is_null(sig) &&
	    !(json_is_object(sig) && json_object_size(sig) == 3 &&
	      json_is_string(json_object_get(sig, "alg")) && json_is_string(json_object_get(sig, "kid")) &&
	      json_is_string(json_object_get(sig, "value"))))
		return QD_EINVAL;
	json_t *body = json_copy((json_t *)rec);
	if (!body)
		return QD_ENOMEM;
	json_object_del(body, "sig");
	qd_buf b;
	qd_buf_init(&b);
	int ret = qd_jcs_dump(body, &b);
	json_decref(body);
	if (ret) {
		qd_buf_free(&b);
		return ret;
	}
	if (json_is_object(sig)) {
		out->sig = json_dumps(sig, JSON_COMPACT | JSON_SORT_KEYS);
		if (!out->sig) {
			qd_buf_free(&b);
			return QD_ENOMEM;
		}
	}
	out->json = qd_buf_steal(&b, &out->json_len);
	if (!out->json) {
		qd_feed_rec_free(out);
		return QD_ENOMEM;
	}
	qd_sha256_hex(out->json, out->json_len, out->hash);
	json_t *seq = json_object_get(rec, "seq"), *ver = json_object_get(rec, "version");
	const char *list = json_string_value(json_object_get(rec, "list"));
	out->seq = json_is_integer(seq) && json_integer_value(seq) > 0 ? (uint64_t)json_integer_value(seq) : 0;
	out->version = json_is_integer(ver) ? (uint32_t)json_integer_value(ver) : 0;
	snprintf(out->list, sizeof out->list, "%s", list ? list : "");
	return 0;
}

enum qd_replica_fault qd_replica_check(const qd_feed_rec *rec, qd_key *const *keys, size_t n,
				       qd_feed_fields *f, char *why, size_t whylen)
{
	if (qd_feed_fields_parse(rec->json, rec->json_len, f)) {
		snprintf(why, whylen, "record %llu is not a feed record (a member is missing or malformed)",
			 (unsigned long long)rec->seq);
		return QD_RF_FORMAT;
	}
	if (!rec->sig) {
		snprintf(why, whylen, "record %llu is not signed; a follower applies signed records only",
			 (unsigned long long)f->seq);
		return QD_RF_SIGNATURE;
	}
	json_t *s = json_loads(rec->sig, 0, NULL);
	const char *alg = json_string_value(json_object_get(s, "alg"));
	const char *kid = json_string_value(json_object_get(s, "kid"));
	const char *val = json_string_value(json_object_get(s, "value"));
	enum qd_replica_fault fault = QD_RF_SIGNATURE;
	const qd_key *k = NULL;
	for (size_t i = 0; kid && i < n; i++)
		if (strcmp(qd_key_kid(keys[i]), kid) == 0)
			k = keys[i];
	if (!alg || !kid || !val) {
		snprintf(why, whylen, "record %llu: sig is not {alg, kid, value}", (unsigned long long)f->seq);
		fault = QD_RF_FORMAT;
	} else if (!k) {
		snprintf(why, whylen, "record %llu is signed by key %.32s, which is not among the --follow-key keys",
			 (unsigned long long)f->seq, kid);
	} else if (strcmp(qd_key_alg(k), alg) != 0) {
		snprintf(why, whylen, "record %llu says alg %.16s, but key %s is %s", (unsigned long long)f->seq,
			 alg, kid, qd_key_alg(k));
	} else {
		int rc = qd_verify(k, rec->json, rec->json_len, val, strlen(val));
		if (rc == 0)
			fault = QD_RF_NONE;
		else
			snprintf(why, whylen, "record %llu: the %s signature by key %s %s", (unsigned long long)f->seq,
				 alg, kid, rc == QD_EBASE64 ? "is not base64" : "does not verify");
	}
	json_decref(s);
	return fault;
}

enum qd_replica_fault qd_replica_apply(qd_store *st, const qd_feed_rec *rec, const qd_feed_fields *f,
				       const char *doc, size_t len, const char *source, char *why,
				       size_t whylen)
{
	char h[QD_SHA256_HEX];
	qd_sha256_hex(doc, len, h);
	if (!f->sha256[0] || strcmp(h, f->sha256) != 0) {
		snprintf(why, whylen, "the document of record %llu hashes to %s, the record says %s",
			 (unsigned long long)f->seq, h, f->sha256[0] ? f->sha256 : "null");
		return QD_RF_DOCUMENT;
	}
	qd_problems pr;
	qd_problems_init(&pr);
	qd_listdoc *d = NULL;
	int rc = qd_listdoc_parse(doc, len, f->list, &d, &pr);
	if (rc) {
		const qd_problem *p0 = pr.count ? &pr.items[0] : NULL;
		snprintf(why, whylen, "the document of record %llu does not load: %s %s", (unsigned long long)f->seq,
			 p0 && p0->path ? p0->path : "", p0 ? p0->message : qd_strerror(rc));
		qd_problems_free(&pr);
		return QD_RF_DOCUMENT;
	}
	qd_put_opts o = {.actor = f->actor[0] ? f->actor : NULL, .action = f->action, .source = source};
	qd_put_result res;
	rc = qd_store_apply(st, d, rec, &o, &res, &pr);
	qd_listdoc_free(d);
	enum qd_replica_fault fault = QD_RF_NONE;
	if (rc == QD_ECONFLICT) {
		uint64_t head = 0;
		qd_store_feed_head(st, &head, NULL);
		snprintf(why, whylen, "record %llu does not follow this store's head (record %llu): its seq or prev differs",
			 (unsigned long long)f->seq, (unsigned long long)head);
		fault = QD_RF_CHAIN;
	} else if (rc == QD_EINVAL) {
		snprintf(why, whylen, "record %llu: %s", (unsigned long long)f->seq,
			 pr.count ? pr.items[0].message : "refused by the store");
		fault = QD_RF_DOCUMENT;
	} else if (rc) {
		snprintf(why, whylen, "record %llu could not be stored: %s", (unsigned long long)f->seq, qd_strerror(rc));
		fault = QD_RF_STORE;
	}
	qd_problems_free(&pr);
	return fault;
}
