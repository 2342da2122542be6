/* qingdan benchmark — in-process lookups, for instruction counts.
 *
 *   bench_decide --db DIR --pairs FILE [-n K] [--date YYYY-MM-DD] [--read-cache BYTES]
 *                [--customs NNNN] [--name NAME] [--brief] [--answers FILE]
 *
 * Opens the store read-only and runs K lookups the way GET /v1/lookup does
 * them, without HTTP: parse the code and the entity, open the thread's read
 * snapshot, qd_decide() into a fresh response buffer, close the snapshot,
 * free the buffer.  The lookups cycle through the "CODE<TAB>ENTITY" lines of
 * FILE (gen's pairs-N.tsv), in order, so the workload is fixed.  The
 * snapshot's read cache has its default size unless --read-cache says
 * otherwise (0: off, so every lookup searches the store).  --customs and
 * --name give every lookup an office of declaration and a declared name
 * (the jurisdiction and item checks then run for every candidate).
 * --brief renders every decision in the brief view (view=brief).
 * --answers writes every answer to FILE, one a line, so that two builds'
 * answers can be compared byte for byte.
 *
 * Run it under `valgrind --tool=callgrind` twice, with K1 and K2 lookups:
 * (Ir(K2) − Ir(K1)) / (K2 − K1) is the instruction count of one lookup, with
 * every set-up cost (store open, pairs file, first-touch allocations)
 * cancelled.  K1 and K2 multiples of the pair count keep the mix equal.
 *
 * Prints one JSON line: lookups, response bytes, allow/deny counts and
 * wall-clock nanoseconds per lookup (meaningless under valgrind). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qingdan/buf.h"
#include "qingdan/code.h"
#include "qingdan/decide.h"
#include "qingdan/entity.h"
#include "qingdan/err.h"
#include "qingdan/store.h"

typedef struct pair {
	char code[32];
	char entity[QD_ENTITY_MAX + 1];
} pair;

static pair *read_pairs(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		return NULL;
	}
	size_t cap = 256, k = 0;
	pair *v = malloc(cap * sizeof *v);
	char line[256];
	while (v && fgets(line, sizeof line, f)) {
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		char *ent = tab + 1;
		ent[strcspn(ent, "\r\n")] = '\0';
		if (k == cap) {
			pair *nv = realloc(v, cap * 2 * sizeof *v);
			if (!nv) {
				free(v);
				v = NULL;
				break;
			}
			v = nv;
			cap *= 2;
		}
		snprintf(v[k].code, sizeof v[k].code, "%.31s", line);
		snprintf(v[k].entity, sizeof v[k].entity, "%.73s", ent);
		k++;
	}
	fclose(f);
	*n = k;
	return v;
}

/* Kept out of line so a profile shows the workload as one function. */
__attribute__((noinline)) static int run_lookups(qd_snap *s, const pair *pairs, size_t npairs, long k,
						 const qd_query *base, size_t *bytes, long *allow, FILE *answers)
{
	for (long i = 0; i < k; i++) {
		const pair *p = &pairs[(size_t)i % npairs];
		qd_query q = *base;
		const char *why;
		char ent[QD_ENTITY_MAX + 1];
		if (qd_code_parse(p->code, strlen(p->code), &q.code, &why) ||
		    qd_entity_parse(p->entity, strlen(p->entity), ent, &why)) {
			fprintf(stderr, "bench_decide: bad pair %s %s: %s\n", p->code, p->entity, why);
			return QD_EINVAL;
		}
		q.entity = ent;
		int rc = qd_snap_open(s);
		if (rc)
			return rc;
		qd_buf b;
		qd_buf_init(&b);
		qd_buf_putc(&b, '{');
		qd_outcome o;
		rc = qd_decide(s, &q, &b, &o);
		qd_snap_close(s);
		qd_buf_putc(&b, '}');
		*bytes += b.len;
		if (answers)
			fprintf(answers, "%s\n", qd_buf_cstr(&b));
		*allow += o.allow;
		qd_buf_free(&b);
		if (rc)
			return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"db", required_argument, NULL, 'd'},
		{"pairs", required_argument, NULL, 'p'},
		{"date", required_argument, NULL, 'D'},
		{"lookups", required_argument, NULL, 'n'},
		{"read-cache", required_argument, NULL, 'c'},
		{"customs", required_argument, NULL, 'u'},
		{"name", required_argument, NULL, 'N'},
		{"brief", no_argument, NULL, 'b'},
		{"answers", required_argument, NULL, 'a'},
		{0},
	};
	const char *answers_path = NULL;
	const char *db = NULL, *pairs_path = NULL, *date_s = "2026-03-16", *customs = NULL, *name = NULL;
	long k = 10000;
	long long cache = QD_SNAP_CACHE_DEFAULT;
	int ch;
	bool brief = false;
	while ((ch = getopt_long(argc, argv, "n:", lo, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'p': pairs_path = optarg; break;
		case 'D': date_s = optarg; break;
		case 'n': k = strtol(optarg, NULL, 10); break;
		case 'c': cache = strtoll(optarg, NULL, 10); break;
		case 'u': customs = optarg; break;
		case 'N': name = optarg; break;
		case 'b': brief = true; break;
		case 'a': answers_path = optarg; break;
		default: goto usage;
		}
	}
	if (!db || !pairs_path || k < 0 || cache < 0 || optind != argc)
		goto usage;
	qd_query base;
	memset(&base, 0, sizeof base);
	char cu[QD_CUSTOMS_LEN + 1];
	const char *why;
	if (qd_date_parse(date_s, strlen(date_s), &base.date)) {
		fprintf(stderr, "bench_decide: bad date %s\n", date_s);
		return 64;
	}
	if (customs && qd_customs_parse(customs, strlen(customs), cu, &why)) {
		fprintf(stderr, "bench_decide: customs: %s\n", why);
		return 64;
	}
	base.customs = customs ? cu : NULL;
	base.name = name;
	base.brief = brief;
	size_t npairs;
	pair *pairs = read_pairs(pairs_path, &npairs);
	if (!pairs || !npairs) {
		fprintf(stderr, "bench_decide: no pairs in %s\n", pairs_path);
		return 66;
	}
	qd_store_opts o;
	qd_store_opts_default(&o);
	o.read_only = true;
	qd_store *st;
	char err[512];
	if (qd_store_open(db, &o, &st, err, sizeof err)) {
		fprintf(stderr, "bench_decide: %s\n", err);
		return 74;
	}
	qd_snap *s = qd_snap_new(st);
	if (!s)
		return 70;
	qd_snap_set_cache(s, (size_t)cache);
	FILE *answers = NULL;
	if (answers_path && !(answers = fopen(answers_path, "w"))) {
		perror(answers_path);
		return 73;
	}
	size_t bytes = 0;
	long allow = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = run_lookups(s, pairs, npairs, k, &base, &bytes, &allow, answers);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (answers && fclose(answers) != 0) {
		perror(answers_path);
		rc = rc ? rc : QD_EIO;
	}
	qd_snap_free(s);
	qd_store_close(st);
	free(pairs);
	if (rc) {
		fprintf(stderr, "bench_decide: %s\n", qd_strerror(rc));
		return 1;
	}
	double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	printf("{\"lookups\":%ld,\"pairs\":%zu,\"read_cache\":%lld,\"response_bytes\":%zu,\"allow\":%ld,"
	       "\"deny\":%ld,\"ns_per_lookup\":%.0f}\n",
	       k, npairs, cache, bytes, allow, k - allow, k ? ns / (double)k : 0.0);
	return 0;
usage:
	fputs("Usage: bench_decide --db DIR --pairs FILE [-n K] [--date YYYY-MM-DD] [--read-cache BYTES]\n"
	      "                    [--customs NNNN] [--name NAME] [--brief] [--answers FILE]\n",
	      stderr);
	return 64;
}
