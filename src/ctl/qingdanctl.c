/* qingdanctl — local administration of a qingdan store, with the same
 * library code as the daemon.  LMDB lets it run while qingdand serves. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qd_config.h"
#include "qingdan/xlsx.h"
#include "qingdan/csvdoc.h"
#include "qingdan/decide.h"
#include "qingdan/err.h"
#include "qingdan/listdoc.h"
#include "qingdan/receipt.h"
#include "qingdan/sha256.h"
#include "qingdan/size.h"
#include "qingdan/store.h"
#include "ctl.h"

/* Exit codes, sysexits(3) style.  A library error exits with the status
 * the library's error table gives it (ex_for()): 65 invalid data, 69 no
 * such list or version, 74 store error, 75 storage full or precondition
 * failed (try again). */
enum {
	EX_OK_ = 0,
	EX_FAIL = 1,      /* the operation ran and said no (verify failed …) */
	EX_USAGE_ = 64,   /* bad command line */
	EX_NOINPUT_ = 66, /* input file missing or unreadable */
	EX_SOFTWARE_ = 70,
	EX_CANTCREAT_ = 73,
};

/* The usage text is usage_head, each command's help lines in the table's
 * order, then usage_tail. */
static const char usage_head[] =
	"Usage: qingdanctl [--db DIR] COMMAND [ARGS]\n"
	"\n"
	"Commands:\n";

static const char usage_tail[] =
	"\n"
	"Options:\n"
	"  --db DIR                  the LMDB store directory (or $QINGDAN_DB)\n"
	"  --utc-offset OFFSET       offset for \"today\" (default +08:00)\n"
	"  --retain-versions N       versions kept per list when this command stores one\n"
	"                            (default 50; use the daemon's value)\n"
	"  --map-size BYTES          maximum store size (default 8G; use the daemon's value)\n"
	"  --signing-key FILE        sign the feed records of versions this command stores\n"
	"                            (use the daemon's --signing-key: followers apply\n"
	"                            signed records only)\n"
	"  -h, --help                show this help\n"
	"  -V, --version             show the version\n"
	"\n"
	"Exit status: 0 success; 1 verify found problems; 64 usage error; 65 invalid\n"
	"data (a document or CSV file breaks the rules); 66 input file unreadable;\n"
	"69 no such list or version; 70 internal error; 73 cannot create; 74 store\n"
	"error; 75 storage full or precondition failed (try again).\n";

/* The exit status for a libqingdan error code: the library's error table
 * says it (include/qingdan/err.h). */
static int ex_for(int err)
{
	return qd_err_exit(err);
}

int ctl_ex_for(int err)
{
	return ex_for(err);
}

static const char *actor_name(void)
{
	const char *u = getenv("SUDO_USER");
	if (u && *u)
		return u;
	struct passwd *pw = getpwuid(getuid());
	return pw ? pw->pw_name : "cli";
}

static void print_problems(const char *file, const qd_problems *p)
{
	for (size_t i = 0; i < p->count; i++) {
		const qd_problem *pr = &p->items[i];
		if (pr->path)
			fprintf(stderr, "%s: %s: %s\n", file, pr->path[0] ? pr->path : "/", pr->message);
		else
			fprintf(stderr, "%s:%u:%u: %s\n", file, pr->line, pr->column, pr->message);
	}
	if (p->omitted)
		fprintf(stderr, "%s: … and %zu more problems\n", file, p->omitted);
}

/* Store options from the command line (--retain-versions, --map-size):
 * they must match the daemon's, or a load here prunes by other rules. */
static qd_store_opts g_store_opts;

/* --signing-key: the key feed records of versions stored here are signed
 * with (as qingdand signs its own), or NULL. */
static qd_key *g_sign_key;

static int ctl_feed_sign(void *ctx, const void *msg, size_t len, qd_buf *out)
{
	return qd_sign(ctx, msg, len, out);
}

static int open_store(const char *db, bool ro, qd_store **st)
{
	char err[512];
	qd_store_opts o = g_store_opts;
	o.read_only = ro;
	int rc = qd_store_open(db, &o, st, err, sizeof err);
	if (rc) {
		fprintf(stderr, "qingdanctl: %s\n", err);
		return ex_for(rc);
	}
	if (!ro && g_sign_key) {
		qd_feed_signer fs = {.sign = ctl_feed_sign, .ctx = g_sign_key, .alg = qd_key_alg(g_sign_key),
				     .kid = qd_key_kid(g_sign_key)};
		qd_store_set_signer(*st, &fs);
	}
	return 0;
}

int ctl_open_store(const char *db, bool ro, qd_store **st)
{
	return open_store(db, ro, st);
}

static int cmd_init(const char *db)
{
	if (mkdir(db, 0750) != 0 && errno != EEXIST) {
		fprintf(stderr, "qingdanctl: cannot create %s: %s\n", db, strerror(errno));
		return EX_CANTCREAT_;
	}
	qd_store *st;
	int rc = open_store(db, false, &st);
	if (rc)
		return rc;
	qd_store_close(st);
	printf("initialised store in %s\n", db);
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* The bytes of file ("-": standard input), at most 4 GiB, followed by a
 * NUL, in a buffer of our own: read, not mapped, so that a file cut short
 * by someone else while it loads is an error and not a SIGBUS. */
static int read_input(const char *file, char **buf, size_t *len)
{
	qd_buf in;
	qd_buf_init(&in);
	int err = qd_buf_read_file(&in, file, (size_t)1 << 32);
	if (err) {
		fprintf(stderr, "qingdanctl: cannot read %s: %s\n", file, strerror(-err));
		qd_buf_free(&in);
		return EX_NOINPUT_;
	}
	*buf = qd_buf_steal(&in, len);
	return *buf ? 0 : EX_SOFTWARE_;
}

/* Read FILE and build the document it describes for LIST: a JSON list
 * document, or (.csv) the current version with its entries replaced.
 * Prints problems; returns 0 or an exit code. */
static int read_doc(qd_store *st, const char *list, const char *file, const char *charset,
		    const char *sheet, qd_listdoc **doc)
{
	size_t len;
	char *buf;
	int ex = read_input(file, &buf, &len);
	if (ex)
		return ex;
	qd_problems pr;
	qd_problems_init(&pr);
	int rc;
	bool xlsx = ends_with(file, ".xlsx");
	if (sheet && !xlsx) {
		fprintf(stderr, "qingdanctl: --sheet names a sheet of an .xlsx file\n");
		free(buf);
		return EX_USAGE_;
	}
	if (!xlsx && qd_xlsx_looks_like(buf, len)) {
		fprintf(stderr, "qingdanctl: %s is an .xlsx spreadsheet (a zip), not %s: name it FILE.xlsx\n",
			file, ends_with(file, ".csv") || charset ? "CSV text" : "a JSON document");
		free(buf);
		return ex_for(QD_EINVAL);
	}
	if (xlsx || ends_with(file, ".csv") || charset) {
		qd_listdoc *base = NULL;
		rc = qd_store_get_head(st, list, 0, &base);
		if (rc == QD_ENOLIST) {
			fprintf(stderr, "qingdanctl: %s: a %s replaces the entries of an existing list; "
				"load a JSON list document for %s first\n", file, xlsx ? "spreadsheet" : "CSV file",
				list);
			free(buf);
			return ex_for(rc);
		}
		if (!rc && xlsx)
			rc = qd_xlsx_to_listdoc(buf, len, sheet, (size_t)1 << 32, base, doc, &pr);
		else if (!rc)
			rc = qd_csv_to_listdoc(buf, len, charset, base, doc, &pr);
		qd_listdoc_free(base);
	} else {
		rc = qd_listdoc_parse(buf, len, list, doc, &pr);
	}
	free(buf);
	if (rc) {
		print_problems(file, &pr);
		if (rc == QD_EINVAL || rc == QD_ESYNTAX)
			fprintf(stderr, "qingdanctl: %s: %zu problem(s); nothing was stored\n", file,
				qd_problems_total(&pr));
		else
			fprintf(stderr, "qingdanctl: %s: %s\n", file, qd_strerror(rc));
	}
	qd_problems_free(&pr);
	return rc ? ex_for(rc) : 0;
}

/* Store doc (or dry-run it) and print what happened. */
static int put_doc(qd_store *st, const qd_listdoc *doc, const char *action, const char *source,
		   bool dry, bool show_changes)
{
	qd_problems pr;
	qd_problems_init(&pr);
	qd_changes ch = {0};
	qd_put_opts o = {.actor = actor_name(), .action = action, .source = source,
			 .now = (int64_t)time(NULL), .dry_run = dry, .changes = show_changes ? &ch : NULL};
	qd_put_result res;
	int rc = qd_store_put(st, doc, &o, &res, &pr);
	if (rc) {
		print_problems(doc->list, &pr);
		fprintf(stderr, "qingdanctl: %s: %s; nothing was stored\n", doc->list, qd_strerror(rc));
	} else {
		printf("%s %s version %u (previous %u): %zu entries, %zu added, %zu removed, %zu changed, sha256 %s\n",
		       dry ? "dry run:" : "stored", doc->list, res.version, res.previous, res.entries,
		       res.added, res.removed, res.changed, res.sha256);
		for (size_t i = 0; show_changes && i < ch.n; i++) {
			const qd_change *c = &ch.v[i];
			printf("  %-8s %s", qd_change_kind_name(c->kind), c->id);
			for (size_t k = 0; k < c->n_fields; k++)
				printf("%s%s", k ? ", " : " (", c->fields[k]);
			puts(c->n_fields ? ")" : "");
		}
	}
	qd_changes_free(&ch);
	qd_problems_free(&pr);
	return rc ? ex_for(rc) : 0;
}

static int cmd_load(const char *db, const char *list, const char *file, const char *charset,
		    const char *sheet, bool dry, bool show_changes)
{
	if (!qd_list_id_valid(list)) {
		fprintf(stderr, "qingdanctl: \"%s\" is not a list id ([a-z][a-z0-9-]{0,47})\n", list);
		return EX_USAGE_;
	}
	qd_store *st;
	int ex = open_store(db, false, &st);
	if (ex)
		return ex;
	qd_listdoc *doc = NULL;
	ex = read_doc(st, list, file, charset, sheet, &doc);
	if (!ex) {
		const char *base = strrchr(file, '/');
		ex = put_doc(st, doc, ends_with(file, ".csv") || ends_with(file, ".xlsx") || charset ? "import" : "load",
			     base ? base + 1 : file, dry, show_changes);
	}
	qd_listdoc_free(doc);
	qd_store_close(st);
	return ex;
}

static int cmd_lookup(const char *db, int argc, char **argv, int offset)
{
	static const struct option lo[] = {
		{"entity", required_argument, NULL, 'e'},
		{"date", required_argument, NULL, 'd'},
		{"list", required_argument, NULL, 'l'},
		{"ciq", required_argument, NULL, 'c'},
		{"version", required_argument, NULL, 'v'},
		{"at", required_argument, NULL, 'a'},
		{"customs", required_argument, NULL, 'u'},
		{"name", required_argument, NULL, 'n'},
		{"spec", required_argument, NULL, 's'},
		{0},
	};
	const char *entity = NULL, *date = NULL, *list = NULL, *ciq = NULL, *version = NULL, *at = NULL;
	const char *customs = NULL, *name = NULL, *spec = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'e': entity = optarg; break;
		case 'd': date = optarg; break;
		case 'l': list = optarg; break;
		case 'c': ciq = optarg; break;
		case 'v': version = optarg; break;
		case 'a': at = optarg; break;
		case 'u': customs = optarg; break;
		case 'n': name = optarg; break;
		case 's': spec = optarg; break;
		default: return EX_USAGE_;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "qingdanctl: lookup takes exactly one CODE\n");
		return EX_USAGE_;
	}
	const char *why;
	qd_query q;
	memset(&q, 0, sizeof q);
	if (qd_code_parse(argv[optind], strlen(argv[optind]), &q.code, &why)) {
		fprintf(stderr, "qingdanctl: code: %s\n", why);
		return EX_USAGE_;
	}
	if (ciq) {
		if (q.code.ciq[0]) {
			fprintf(stderr, "qingdanctl: ciq: the CIQ code is given twice\n");
			return EX_USAGE_;
		}
		if (qd_ciq_parse(ciq, strlen(ciq), q.code.ciq, &why)) {
			fprintf(stderr, "qingdanctl: ciq: %s\n", why);
			return EX_USAGE_;
		}
	}
	if (q.code.ciq[0] && q.code.len != QD_CODE_MAX) {
		fprintf(stderr, "qingdanctl: ciq: a CIQ code needs the full 10-digit commodity code\n");
		return EX_USAGE_;
	}
	char ent[QD_ENTITY_MAX + 1];
	if (entity) {
		if (qd_entity_parse(entity, strlen(entity), ent, &why)) {
			fprintf(stderr, "qingdanctl: entity: %s\n", why);
			return EX_USAGE_;
		}
		q.entity = ent;
	}
	if (date) {
		if (qd_date_parse(date, strlen(date), &q.date)) {
			fprintf(stderr, "qingdanctl: date: expected YYYY-MM-DD\n");
			return EX_USAGE_;
		}
	} else {
		q.date = qd_date_at((int64_t)time(NULL), offset);
	}
	if (list && !qd_list_id_valid(list)) {
		fprintf(stderr, "qingdanctl: list: not a list id\n");
		return EX_USAGE_;
	}
	q.list = list;
	char cu[QD_CUSTOMS_LEN + 1];
	if (customs) {
		if (qd_customs_parse(customs, strlen(customs), cu, &why)) {
			fprintf(stderr, "qingdanctl: customs: %s\n", why);
			return EX_USAGE_;
		}
		q.customs = cu;
	}
	if (name && !qd_declared_valid(name, strlen(name), &why)) {
		fprintf(stderr, "qingdanctl: name: the declared name %s\n", why);
		return EX_USAGE_;
	}
	if (spec && !qd_declared_valid(spec, strlen(spec), &why)) {
		fprintf(stderr, "qingdanctl: spec: the declared spec %s\n", why);
		return EX_USAGE_;
	}
	q.name = name;
	q.spec = spec;
	if (version) {
		char *end;
		unsigned long v = strtoul(version, &end, 10);
		if (!list || *end || v < 1 || v > 0x7fffffff) {
			fprintf(stderr, "qingdanctl: --version needs --list and a version number\n");
			return EX_USAGE_;
		}
		q.version = (uint32_t)v;
	}
	if (at) {
		if (version || qd_time_parse(at, strlen(at), &q.at)) {
			fprintf(stderr, "qingdanctl: --at: expected an RFC 3339 time (and no --version)\n");
			return EX_USAGE_;
		}
		q.has_at = true;
		if (!date)
			q.date = qd_date_at(q.at, offset);
	}

	qd_store *st;
	int ex = open_store(db, true, &st);
	if (ex)
		return ex;
	qd_snap *s = qd_snap_new(st);
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_putc(&b, '{');
	qd_outcome o = {0};
	int rc = s ? qd_snap_open(s) : QD_ENOMEM;
	if (!rc)
		rc = qd_decide(s, &q, &b, &o);
	qd_snap_free(s);
	qd_store_close(st);
	if (rc) {
		fprintf(stderr, "qingdanctl: %s\n", qd_strerror(rc));
		qd_buf_free(&b);
		return ex_for(rc);
	}
	qd_buf_putc(&b, '}');
	/* Pretty-print through jansson for people; the daemon sends it compact. */
	json_t *j = json_loadb(b.data, b.len, 0, NULL);
	char *pretty = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	puts(pretty ? pretty : qd_buf_cstr(&b));
	free(pretty);
	json_decref(j);
	qd_buf_free(&b);
	return 0;
}

static int cmd_lists(const char *db)
{
	qd_store *st;
	int ex = open_store(db, true, &st);
	if (ex)
		return ex;
	qd_list_info *v;
	size_t n;
	int rc = qd_store_lists(st, &v, &n);
	qd_store_close(st);
	if (rc) {
		fprintf(stderr, "qingdanctl: %s\n", qd_strerror(rc));
		return ex_for(rc);
	}
	for (size_t i = 0; i < n; i++) {
		char ts[21];
		qd_time_format(v[i].loaded_at, ts);
		printf("%-32s %-9s v%-5u %7u entries  loaded %s  sha256 %.16s…\n", v[i].id,
		       qd_kind_name(v[i].kind), v[i].version, v[i].entries, ts, v[i].sha256);
	}
	qd_list_infos_free(v, n);
	return 0;
}

static int cmd_token(const char *name, const char *role)
{
	if (strcmp(role, "admin") != 0 && strcmp(role, "reader") != 0) {
		fprintf(stderr, "qingdanctl: token: ROLE must be admin or reader\n");
		return EX_USAGE_;
	}
	size_t nl = strlen(name);
	if (nl == 0 || nl > QD_ACTOR_MAX || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-") != nl) {
		fprintf(stderr, "qingdanctl: token: NAME must be 1-%d of [A-Za-z0-9._@-]\n", QD_ACTOR_MAX);
		return EX_USAGE_;
	}
	unsigned char rnd[32];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		fprintf(stderr, "qingdanctl: token: no randomness: %s\n", strerror(errno));
		return EX_SOFTWARE_;
	}
	char tok[3 + 2 * sizeof rnd + 1] = "qd_";
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(tok + 3 + 2 * i, 3, "%02x", rnd[i]);
	char hex[QD_SHA256_HEX];
	qd_sha256_hex(tok, strlen(tok), hex);
	printf("token: %s\n", tok);
	printf("%s %s %s\n", name, role, hex);
	return 0;
}

static int cmd_versions(const char *db, const char *list)
{
	qd_store *st;
	int ex = open_store(db, true, &st);
	if (ex)
		return ex;
	qd_versions vs;
	int rc = qd_store_versions(st, list, &vs);
	qd_store_close(st);
	if (rc) {
		fprintf(stderr, "qingdanctl: %s: %s\n", list, qd_strerror(rc));
		return ex_for(rc);
	}
	printf("%s (current version %u)\n", list, vs.current);
	for (size_t i = 0; i < vs.n; i++) {
		const qd_version_info *v = &vs.v[i];
		char ts[21];
		qd_time_format(v->loaded_at, ts);
		printf("  v%-5u %s  %-9s %-12s %6u entries  sha256 %.16s…  %s", v->version, ts, v->action,
		       v->actor, v->entries, v->sha256, v->source ? v->source : "");
		if (v->effective_at) {
			qd_time_format(v->effective_at, ts);
			printf("  %s %s", v->cancelled ? "cancelled, was to take effect" : "effective", ts);
		}
		putchar('\n');
	}
	qd_versions_free(&vs);
	return 0;
}

static int cmd_expiring(const char *db, const char *list, unsigned within, int offset)
{
	qd_store *st;
	int ex = open_store(db, true, &st);
	if (ex)
		return ex;
	qd_date today = qd_date_at((int64_t)time(NULL), offset);
	qd_expiring e;
	int rc = qd_store_expiring(st, list, today, within, false, &e);
	qd_store_close(st);
	if (rc) {
		fprintf(stderr, "qingdanctl: %s: %s\n", list, qd_strerror(rc));
		return ex_for(rc);
	}
	char from[11], until[11];
	qd_date_format(today, from);
	qd_date_format(today + (qd_date)within - 1, until);
	printf("%s v%u: %zu entries and %zu roster members end from %s to %s\n", list, e.version, e.entries,
	       e.members, from, until);
	for (size_t i = 0; i < e.n; i++) {
		const qd_expiring_item *it = &e.v[i];
		char to[11];
		qd_date_format(it->valid_to, to);
		if (it->member)
			printf("  %s  member %-24s %s\n", to, it->id, qd_status_name(it->status));
		else
			printf("  %s  entry  %-24s %-10s%s%-3s %s\n", to, it->id, it->code, it->ciq[0] ? " ciq " : "",
			       it->ciq, qd_status_name(it->status));
	}
	if (e.truncated)
		printf("  … the first %d of them are shown\n", QD_EXPIRING_MAX);
	qd_expiring_free(&e);
	return 0;
}

static int cmd_export(const char *db, const char *list, uint32_t version)
{
	qd_store *st;
	int ex = open_store(db, true, &st);
	if (ex)
		return ex;
	qd_listdoc *doc;
	int rc = qd_store_get_doc(st, list, version, &doc);
	qd_store_close(st);
	if (rc) {
		fprintf(stderr, "qingdanctl: %s: %s\n", list, qd_strerror(rc));
		return ex_for(rc);
	}
	size_t len;
	char *data = qd_listdoc_dump(doc, &len);
	qd_listdoc_free(doc);
	if (!data)
		return EX_SOFTWARE_;
	fwrite(data, 1, len, stdout);
	free(data);
	return 0;
}

static int cmd_rollback(const char *db, const char *list, uint32_t version)
{
	qd_store *st;
	int ex = open_store(db, false, &st);
	if (ex)
		return ex;
	qd_listdoc *doc;
	int rc = qd_store_get_doc(st, list, version, &doc);
	if (rc) {
		fprintf(stderr, "qingdanctl: %s: %s\n", list, qd_strerror(rc));
		qd_store_close(st);
		return ex_for(rc);
	}
	char source[48];
	snprintf(source, sizeof source, "rollback to version %u", version);
	ex = put_doc(st, doc, "rollback", source, false, false);
	qd_listdoc_free(doc);
	qd_store_close(st);
	return ex;
}

static int cmd_audit(const char *db, size_t limit)
{
	qd_store *st;
	int ex = open_store(db, true, &st);
	if (ex)
		return ex;
	qd_audit_page page;
	int rc = qd_store_audit_page(st, 0, limit, &page);
	qd_store_close(st);
	if (rc) {
		fprintf(stderr, "qingdanctl: audit: %s\n", qd_strerror(rc));
		return ex_for(rc);
	}
	for (size_t i = 0; i < page.n; i++) {
		const qd_audit_rec *r = &page.recs[i];
		const char *msg = r->message ? r->message : r->source;
		char ts[21];
		qd_time_format(r->time, ts);
		printf("#%llu %s %-12s %-9s %-24s %3u %-8s", (unsigned long long)r->id, ts, r->actor, r->action,
		       r->list ? r->list : "-", r->status, r->outcome);
		if (r->version)
			printf(" v%u sha256 %.16s…", r->version, r->sha256);
		if (r->client)
			printf(" from %s", r->client);
		if (r->count > 1) {
			char lt[21];
			qd_time_format(r->last_time, lt);
			printf(" ×%llu until %s", (unsigned long long)r->count, lt);
		}
		printf("%s%s\n", msg ? "  " : "", msg ? msg : "");
	}
	qd_audit_page_free(&page);
	return 0;
}

/* Feed signatures checked against the keys of verify --key. */
typedef struct keyring {
	qd_key **k;
	size_t n;
} keyring;

static int verify_feed_sig(void *ctx, const char *alg, const char *kid, const void *msg, size_t len,
			   const char *sig, size_t sig_len)
{
	const keyring *kr = ctx;
	for (size_t i = 0; i < kr->n; i++)
		if (strcmp(qd_key_kid(kr->k[i]), kid) == 0)
			return strcmp(qd_key_alg(kr->k[i]), alg) == 0 ? qd_verify(kr->k[i], msg, len, sig, sig_len)
								       : QD_EBADSIG;
	return QD_ENOENT;
}

/* The keys that signed the records left unchecked ("ed25519 key KID (N
 * records, seq A to B)", joined by "; "), after lead. */
static void print_unchecked_keys(const qd_feed_summary *sum, const char *lead)
{
	const char *sep = lead;
	for (size_t i = 0; i < sum->n_kids; i++) {
		const qd_feed_kid *k = &sum->kids[i];
		if (!k->unknown)
			continue;
		printf("%s%s key %s (%llu record%s, seq %llu to %llu)", sep, k->alg, k->kid,
		       (unsigned long long)k->unknown, k->unknown == 1 ? "" : "s", (unsigned long long)k->first_seq,
		       (unsigned long long)k->last_seq);
		sep = "; ";
	}
	if (sum->kids_left_out)
		printf("%s%llu record%s by other keys", sep, (unsigned long long)sum->kids_left_out,
		       sum->kids_left_out == 1 ? "" : "s");
}

static int cmd_verify(const char *db, const char *keyfile)
{
	keyring kr = {0};
	if (keyfile) {
		int krc = qd_keys_load_file(keyfile, &kr.k, &kr.n);
		if (krc) {
			fprintf(stderr, "qingdanctl: verify: --key %s: %s\n", keyfile, qd_strerror(krc));
			return ex_for(krc);
		}
	}
	qd_store *st;
	int ex = open_store(db, true, &st);
	if (ex)
		return ex;
	qd_problems pr;
	qd_problems_init(&pr);
	int rc = qd_store_verify(st, &pr);
	/* The feed too: its chain, and how its records are signed. */
	qd_feed_summary sum;
	int frc = rc && rc != QD_EINVAL ? 0
		  : qd_store_feed_verify(st, keyfile ? verify_feed_sig : NULL, &kr, &sum, &pr);
	for (size_t i = 0; i < kr.n; i++)
		qd_key_free(kr.k[i]);
	free(kr.k);
	if (frc && frc != QD_EINVAL)
		rc = frc;
	else if (frc == QD_EINVAL && !rc)
		rc = QD_EINVAL;
	qd_store_close(st);
	if (rc == QD_EINVAL) {
		print_problems(db, &pr);
		fprintf(stderr, "qingdanctl: verify: %zu problem(s) in %s\n", qd_problems_total(&pr), db);
		qd_problems_free(&pr);
		return EX_FAIL;
	}
	qd_problems_free(&pr);
	if (rc) {
		fprintf(stderr, "qingdanctl: verify: %s\n", qd_strerror(rc));
		return ex_for(rc);
	}
	printf("verify: %s is consistent\n", db);
	printf("feed: %llu records chained (%llu signed, %llu unsigned)\n", (unsigned long long)sum.records,
	       (unsigned long long)(sum.signed_valid + sum.unknown_kid), (unsigned long long)sum.unsigned_records);
	/* Which keys a record was signed by but not checked against: the
	 * keys to ask for. */
	if (keyfile) {
		printf("feed signatures: %llu valid, %llu by keys not in %s", (unsigned long long)sum.signed_valid,
		       (unsigned long long)sum.unknown_kid, keyfile);
		print_unchecked_keys(&sum, ": ");
		printf("\n");
	} else if (sum.unknown_kid) {
		printf("feed signatures: not checked (give --key FILE with the signer's public key); signed by ");
		print_unchecked_keys(&sum, "");
		printf("\n");
	}
	return 0;
}

static int cmd_backup(const char *db, const char *dir)
{
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		fprintf(stderr, "qingdanctl: cannot create %s: %s\n", dir, strerror(errno));
		return EX_CANTCREAT_;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "qingdanctl: %s already holds a store; back up into an empty directory\n", dir);
		return EX_CANTCREAT_;
	}
	qd_store *st;
	int ex = open_store(db, true, &st);
	if (ex)
		return ex;
	char err[512];
	int rc = qd_store_backup(st, dir, err, sizeof err);
	qd_store_close(st);
	if (rc) {
		fprintf(stderr, "qingdanctl: %s\n", err);
		return ex_for(rc);
	}
	printf("backup: wrote a compacted copy of %s to %s\n", db, dir);
	return 0;
}

static int cmd_stats(const char *db)
{
	qd_store *st;
	int ex = open_store(db, true, &st);
	if (ex)
		return ex;
	qd_store_stats s;
	int rc = qd_store_stats_get(st, &s);
	qd_store_close(st);
	if (rc) {
		fprintf(stderr, "qingdanctl: stats: %s\n", qd_strerror(rc));
		return ex_for(rc);
	}
	printf("map size      %llu bytes\n", (unsigned long long)s.map_size);
	printf("map used      %llu bytes (%.2f%%)\n", (unsigned long long)s.map_used,
	       s.map_size ? 100.0 * (double)s.map_used / (double)s.map_size : 0.0);
	printf("readers       %u in use of %u\n", s.readers_used, s.readers_max);
	printf("lists         %llu\nversions      %llu\nentries       %llu\nroster        %llu\naudit         %llu\n",
	       (unsigned long long)s.lists, (unsigned long long)s.versions, (unsigned long long)s.entries,
	       (unsigned long long)s.members, (unsigned long long)s.audit);
	return 0;
}

static uint32_t arg_version(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	return *s >= '1' && *s <= '9' && !*end && v <= 0x7fffffff ? (uint32_t)v : 0;
}

/* ---- the command table ------------------------------------------------ */

/* Options given before the command. */
typedef struct globals {
	const char *db; /* --db DIR or $QINGDAN_DB; NULL when neither is given */
	int offset;     /* --utc-offset, minutes east of UTC */
} globals;

/* A command: argv[0] is its name, argv[1] … argv[argc - 1] the words after
 * it (already counted against the table).  Returns the exit status. */
typedef int cmd_fn(const globals *g, int argc, char **argv);

typedef struct command {
	const char *name;
	/* Words after the name: fewer than min_args or more than max_args
	 * (-1: no limit) is a usage error before the command runs.  A command
	 * whose words include options checks their shape itself. */
	int min_args, max_args;
	bool needs_db;         /* false: runs without --db (token) */
	cmd_fn *run;
	/* Printed as "usage: SYNOPSIS" when the words are wrong; NULL: the
	 * whole usage text, after "unknown command or wrong arguments". */
	const char *synopsis;
	const char *help;      /* its lines in the Commands section of --help */
} command;

static void print_usage(FILE *f);

/* The words after a command do not fit it.  Returns EX_USAGE_. */
static int wrong_args(const char *name)
{
	fprintf(stderr, "qingdanctl: unknown command or wrong arguments: %s\n", name);
	print_usage(stderr);
	return EX_USAGE_;
}

static int synopsis_error(const char *synopsis)
{
	fprintf(stderr, "qingdanctl: usage: %s\n", synopsis);
	return EX_USAGE_;
}

static int run_init(const globals *g, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_init(g->db);
}

/* load and diff: LIST FILE with options anywhere among them. */
static int load_or_diff(const globals *g, int argc, char **argv, bool is_diff, const char *synopsis)
{
	const char *pos[2], *charset = NULL, *sheet = NULL;
	int np = 0;
	bool dry = false, bad = false;
	for (int k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--dry-run") == 0 && !is_diff)
			dry = true;
		else if (strcmp(argv[k], "--charset") == 0 && k + 1 < argc)
			charset = argv[++k];
		else if (strcmp(argv[k], "--sheet") == 0 && k + 1 < argc)
			sheet = argv[++k];
		else if (argv[k][0] == '-' && argv[k][1])
			bad = true;
		else if (np < 2)
			pos[np++] = argv[k];
		else
			bad = true;
	}
	if (np != 2 || bad)
		return synopsis_error(synopsis);
	return cmd_load(g->db, pos[0], pos[1], charset, sheet, dry || is_diff, dry || is_diff);
}

#define LOAD_SYNOPSIS "load LIST FILE [--dry-run] [--charset NAME] [--sheet NAME]"
#define DIFF_SYNOPSIS "diff LIST FILE [--charset NAME] [--sheet NAME]"

static int run_load(const globals *g, int argc, char **argv)
{
	return load_or_diff(g, argc, argv, false, LOAD_SYNOPSIS);
}

static int run_diff(const globals *g, int argc, char **argv)
{
	return load_or_diff(g, argc, argv, true, DIFF_SYNOPSIS);
}

static int run_lookup(const globals *g, int argc, char **argv)
{
	return cmd_lookup(g->db, argc, argv, g->offset);
}

static int run_lists(const globals *g, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_lists(g->db);
}

static int run_versions(const globals *g, int argc, char **argv)
{
	(void)argc;
	return cmd_versions(g->db, argv[1]);
}

/* expiring LIST [--within DAYS] */
static int run_expiring(const globals *g, int argc, char **argv)
{
	uint64_t within = 30;
	if (argc == 4 && strcmp(argv[2], "--within") == 0) {
		if (qd_parse_uint(argv[3], 1, QD_EXPIRING_DAYS_MAX, &within)) {
			fprintf(stderr, "qingdanctl: expiring: --within must be a number of days from 1 to %d\n",
				QD_EXPIRING_DAYS_MAX);
			return EX_USAGE_;
		}
	} else if (argc != 2) {
		return synopsis_error("expiring LIST [--within DAYS]");
	}
	return cmd_expiring(g->db, argv[1], (unsigned)within, g->offset);
}

/* export LIST [--version N] */
static int run_export(const globals *g, int argc, char **argv)
{
	if (argc != 2 && (argc != 4 || strcmp(argv[2], "--version") != 0))
		return wrong_args(argv[0]);
	uint32_t v = argc == 4 ? arg_version(argv[3]) : 0;
	if (argc == 4 && !v) {
		fprintf(stderr, "qingdanctl: --version: expected a version number\n");
		return EX_USAGE_;
	}
	return cmd_export(g->db, argv[1], v);
}

static int run_rollback(const globals *g, int argc, char **argv)
{
	(void)argc;
	uint32_t v = arg_version(argv[2]);
	if (!v) {
		fprintf(stderr, "qingdanctl: rollback: N must be a version number\n");
		return EX_USAGE_;
	}
	return cmd_rollback(g->db, argv[1], v);
}

/* Prune the audit records of attempts that changed nothing: older than
 * days or beyond the newest keep (0: no such bound). */
static int cmd_audit_prune(const char *db, uint32_t days, uint32_t keep)
{
	qd_store *st;
	int ex = open_store(db, false, &st);
	if (ex)
		return ex;
	qd_audit_retention ret = {.max_records = keep};
	if (days)
		ret.before = (int64_t)time(NULL) - (int64_t)days * 86400;
	uint64_t n = 0;
	int rc = qd_store_audit_prune(st, &ret, &n);
	qd_store_close(st);
	if (rc) {
		fprintf(stderr, "qingdanctl: audit --prune: %s\n", qd_strerror(rc));
		return ex_for(rc);
	}
	printf("pruned %llu audit records of attempts that changed nothing "
	       "(records of stored changes are kept)\n", (unsigned long long)n);
	return 0;
}

/* audit [--limit N] | audit --prune [--older-than DAYS] [--keep N] */
static int run_audit(const globals *g, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--prune") == 0) {
		uint32_t days = 0, keep = 0;
		bool have_days = false, have_keep = false;
		for (int i = 2; i < argc; i += 2) {
			bool d = strcmp(argv[i], "--older-than") == 0, k = strcmp(argv[i], "--keep") == 0;
			if ((!d && !k) || i + 1 >= argc || (d && have_days) || (k && have_keep))
				return wrong_args(argv[0]);
			uint32_t v = arg_version(argv[i + 1]);
			if (!v) {
				fprintf(stderr, "qingdanctl: audit: %s must be a positive number\n", argv[i]);
				return EX_USAGE_;
			}
			*(d ? &days : &keep) = v;
			*(d ? &have_days : &have_keep) = true;
		}
		if (!have_days && !have_keep) {
			days = QD_AUDIT_RETAIN_DAYS_DEFAULT;
			keep = QD_AUDIT_MAX_ATTEMPTS_DEFAULT;
		}
		return cmd_audit_prune(g->db, days, keep);
	}
	if (argc != 1 && (argc != 3 || strcmp(argv[1], "--limit") != 0))
		return wrong_args(argv[0]);
	uint32_t n = argc == 3 ? arg_version(argv[2]) : 50;
	if (!n) {
		fprintf(stderr, "qingdanctl: audit: --limit must be a positive number\n");
		return EX_USAGE_;
	}
	return cmd_audit(g->db, n);
}

/* verify [--key FILE] */
static int run_verify(const globals *g, int argc, char **argv)
{
	if (argc != 1 && (argc != 3 || strcmp(argv[1], "--key") != 0))
		return synopsis_error("verify [--key FILE]");
	return cmd_verify(g->db, argc == 3 ? argv[2] : NULL);
}

static int run_backup(const globals *g, int argc, char **argv)
{
	(void)argc;
	return cmd_backup(g->db, argv[1]);
}

static int run_stats(const globals *g, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_stats(g->db);
}

static int run_publish(const globals *g, int argc, char **argv)
{
	(void)argc;
	return ctl_publish(g->db, argv[1]);
}

/* follow-once SOURCE --key FILE */
static int run_follow_once(const globals *g, int argc, char **argv)
{
	if (argc != 4 || strcmp(argv[2], "--key") != 0)
		return synopsis_error("follow-once SOURCE --key FILE");
	return ctl_follow_once(g->db, argv[1], argv[3]);
}

#define KEYGEN_SYNOPSIS "keygen --alg ed25519|sm2 --out FILE"
#define VERIFY_RECEIPT_SYNOPSIS "verify-receipt FILE --key PUB [--db DIR]"

/* keygen --alg ed25519|sm2 --out FILE */
static int cmd_keygen(int argc, char **argv)
{
	const char *alg = NULL, *out = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--alg") == 0)
			alg = argv[i + 1];
		else if (strcmp(argv[i], "--out") == 0)
			out = argv[i + 1];
	}
	if (argc != 5 || !alg || !out)
		return synopsis_error(KEYGEN_SYNOPSIS);
	enum qd_alg a = qd_alg_from_name(alg);
	if (!a) {
		fprintf(stderr, "qingdanctl: keygen: --alg must be ed25519 or sm2, got \"%s\"\n", alg);
		return EX_USAGE_;
	}
	qd_key *k;
	int rc = qd_key_generate(a, &k);
	if (rc) {
		fprintf(stderr, "qingdanctl: keygen: %s\n", qd_strerror(rc));
		return ex_for(rc);
	}
	qd_buf pem;
	qd_buf_init(&pem);
	rc = qd_key_write_private(k, out);
	if (rc == QD_EEXIST)
		fprintf(stderr, "qingdanctl: keygen: %s exists: a key file is never overwritten\n", out);
	else if (rc)
		fprintf(stderr, "qingdanctl: keygen: cannot write %s: %s\n", out, strerror(errno));
	else if ((rc = qd_key_public_pem(k, &pem)) == 0)
		printf("%skid: %s\nalg: %s\nprivate key: %s (mode 0600)\n", qd_buf_cstr(&pem), qd_key_kid(k),
		       qd_key_alg(k), out);
	qd_buf_free(&pem);
	qd_key_free(k);
	return rc == QD_EIO ? EX_CANTCREAT_ : ex_for(rc);
}

/* The receipt object of a file: the receipt itself, or an answer (or
 * {"receipt": …}) that holds one. */
static json_t *receipt_of(json_t *doc)
{
	json_t *r = json_object_get(doc, "receipt");
	return json_is_object(r) ? r : doc;
}

/* Decide the payload again on the store in db; prints the outcome.
 * Returns the exit status. */
static int reproduce_receipt(const char *db, const qd_receipt *r)
{
	qd_store *st;
	int ex = open_store(db, true, &st);
	if (ex)
		return ex;
	qd_snap *s = qd_snap_new(st);
	int rc = s ? qd_snap_open(s) : QD_ENOMEM;
	enum qd_reproduced rep = QD_REPRO_DIFFERS;
	char why[256] = "";
	if (!rc)
		rc = qd_receipt_reproduce(s, r->payload, r->payload_len, &rep, why, sizeof why);
	qd_snap_free(s);
	qd_store_close(st);
	if (rc) {
		fprintf(stderr, "qingdanctl: verify-receipt: payload: %s\n", rc == QD_EINVAL ? why : qd_strerror(rc));
		return ex_for(rc);
	}
	if (rep == QD_REPRO_SAME) {
		printf("reproduced: yes (the same decision and reason on the receipt's list versions)\n");
		return 0;
	}
	printf("reproduced: %s: %s\n", rep == QD_REPRO_GONE ? "unknown" : "no", why);
	return rep == QD_REPRO_GONE ? 0 : EX_FAIL;
}

/* verify-receipt FILE --key PUB [--db DIR] */
static int cmd_verify_receipt(const char *gdb, int argc, char **argv)
{
	const char *file = NULL, *keyfile = NULL, *db = gdb;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			keyfile = argv[++i];
		else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			return synopsis_error(VERIFY_RECEIPT_SYNOPSIS);
	}
	if (!file || !keyfile)
		return synopsis_error(VERIFY_RECEIPT_SYNOPSIS);
	qd_key **keys = NULL;
	size_t n = 0;
	int rc = qd_keys_load_file(keyfile, &keys, &n);
	if (rc) {
		fprintf(stderr, "qingdanctl: verify-receipt: %s: %s\n", keyfile,
			rc == QD_EIO ? strerror(errno) : "not one or more Ed25519 or SM2 keys in PEM");
		return rc == QD_EIO ? EX_NOINPUT_ : ex_for(rc);
	}
	json_error_t je;
	json_t *doc = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	qd_receipt r;
	const char *member = "";
	int ex = 0;
	if (!doc && access(file, R_OK) != 0) {
		fprintf(stderr, "qingdanctl: verify-receipt: cannot read %s: %s\n", file, strerror(errno));
		ex = EX_NOINPUT_;
	} else if (!doc) {
		fprintf(stderr, "qingdanctl: verify-receipt: %s:%d:%d: %s\n", file, je.line, je.column, je.text);
		ex = ex_for(QD_ESYNTAX);
	} else if (qd_receipt_read(receipt_of(doc), &r, &member)) {
		fprintf(stderr, "qingdanctl: verify-receipt: %s: receipt.%s: missing, or not a string\n", file,
			*member ? member : "payload");
		ex = ex_for(QD_EINVAL);
	} else {
		const char *why = NULL;
		rc = qd_receipt_verify(&r, keys, n, &why);
		if (rc == QD_EBASE64) {
			fprintf(stderr, "qingdanctl: verify-receipt: %s: receipt.sig: %s\n", file, why);
			ex = ex_for(rc);
		} else if (rc) {
			printf("signature: INVALID (kid %s): %s\n", r.kid, why ? why : qd_strerror(rc));
			ex = EX_FAIL;
		} else {
			printf("signature: valid (%s key %s)\n", r.alg, r.kid);
			ex = db ? reproduce_receipt(db, &r) : 0;
			if (!db)
				printf("reproduced: not checked (give --db DIR to decide the query again)\n");
		}
	}
	json_decref(doc);
	for (size_t i = 0; i < n; i++)
		qd_key_free(keys[i]);
	free(keys);
	return ex;
}

static int run_keygen(const globals *g, int argc, char **argv)
{
	(void)g;
	return cmd_keygen(argc, argv);
}

static int run_verify_receipt(const globals *g, int argc, char **argv)
{
	return cmd_verify_receipt(g->db, argc, argv);
}

static int run_token(const globals *g, int argc, char **argv)
{
	(void)g;
	(void)argc;
	return cmd_token(argv[1], argv[2]);
}

/* In the order --help lists them. */
static const command commands[] = {
	{"init", 0, 0, true, run_init, NULL,
	 "  init                      create an empty store in DIR\n"},
	{"load", 2, -1, true, run_load, LOAD_SYNOPSIS,
	 "  load LIST FILE [--dry-run] [--charset NAME] [--sheet NAME]\n"
	 "                            validate FILE and store it as LIST's new version:\n"
	 "                            a JSON list document, or a .csv file of entries that\n"
	 "                            replaces the entries of an existing list (UTF-8 or\n"
	 "                            GB18030, detected; --charset NAME to force), or an\n"
	 "                            .xlsx workbook whose first sheet (or --sheet NAME)\n"
	 "                            holds them with the CSV's headings\n"},
	/* lookup says itself what is wrong with its words. */
	{"lookup", 0, -1, true, run_lookup, NULL,
	 "  lookup CODE [--entity E] [--date YYYY-MM-DD] [--list L] [--ciq NNN]\n"
	 "              [--version N | --at RFC3339] [--customs NNNN]\n"
	 "              [--name NAME] [--spec SPEC]\n"
	 "                            decide CODE as GET /v1/lookup would; prints JSON\n"},
	{"lists", 0, 0, true, run_lists, NULL,
	 "  lists                     the lists with their current versions\n"},
	{"versions", 1, 1, true, run_versions, NULL,
	 "  versions LIST             LIST's version history, newest first\n"},
	{"expiring", 1, 3, true, run_expiring, "expiring LIST [--within DAYS]",
	 "  expiring LIST [--within DAYS]\n"
	 "                            the entries and roster members of LIST whose validity\n"
	 "                            ends within DAYS days (default 30), today included\n"},
	{"export", 1, 3, true, run_export, NULL,
	 "  export LIST [--version N] print a version (default: current) as a canonical\n"
	 "                            list document\n"},
	{"diff", 2, -1, true, run_diff, DIFF_SYNOPSIS,
	 "  diff LIST FILE [--charset NAME] [--sheet NAME]\n"
	 "                            what loading FILE would change (dry run)\n"},
	{"rollback", 2, 2, true, run_rollback, NULL,
	 "  rollback LIST N           store version N's content as a new version\n"},
	{"audit", 0, 5, true, run_audit, NULL,
	 "  audit [--limit N]         the audit log, newest first\n"
	 "  audit --prune [--older-than DAYS] [--keep N]\n"
	 "                            remove audit records of attempts that changed nothing\n"
	 "                            (refusals, failures, dry runs) older than DAYS or beyond\n"
	 "                            the newest N (default: as qingdand, 365 days, 100000)\n"},
	{"verify", 0, 2, true, run_verify, "verify [--key FILE]",
	 "  verify [--key FILE]       check the store's integrity and its feed's chain (exit 1\n"
	 "                            on findings); with --key, the feed's signatures too\n"},
	{"backup", 1, 1, true, run_backup, NULL,
	 "  backup DIR                write a compacted, consistent copy into DIR\n"
	 "                            (safe while qingdand runs)\n"},
	{"publish", 1, 1, true, run_publish, NULL,
	 "  publish DIR               write the feed's records and documents as files into\n"
	 "                            DIR/feed (incremental; each file replaced atomically)\n"
	 "                            for followers to read from a web server or a disk\n"},
	{"follow-once", 3, 3, true, run_follow_once, "follow-once SOURCE --key FILE",
	 "  follow-once SOURCE --key FILE\n"
	 "                            apply the signed versions SOURCE (http://primary:port,\n"
	 "                            or a directory written by publish) has and this store\n"
	 "                            lacks, checked against the public keys in FILE; exits\n"},
	{"stats", 0, 0, true, run_stats, NULL,
	 "  stats                     store size, map use, readers, record counts\n"},
	{"keygen", 4, 4, false, run_keygen, KEYGEN_SYNOPSIS,
	 "  keygen --alg ed25519|sm2 --out FILE\n"
	 "                            make a receipt signing key: writes the private key\n"
	 "                            to FILE (mode 0600, never overwritten), prints the\n"
	 "                            public key and its kid (no --db needed)\n"},
	{"verify-receipt", 3, 5, false, run_verify_receipt, VERIFY_RECEIPT_SYNOPSIS,
	 "  verify-receipt FILE --key PUB [--db DIR]\n"
	 "                            check a receipt's signature with the public key(s)\n"
	 "                            in PUB (exit 1 when invalid); with --db, decide its\n"
	 "                            query again on the versions it names\n"},
	{"token", 2, 2, false, run_token, "token NAME ROLE",
	 "  token NAME ROLE           make a new random bearer token (ROLE admin or\n"
	 "                            reader): prints the token once, then its\n"
	 "                            tokens-file line\n"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *f)
{
	fputs(usage_head, f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fputs(commands[i].help, f);
	fputs(usage_tail, f);
}

static const command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* ---- global options and main ------------------------------------------ */

/* The daemon's bounds for the same options (src/daemon/config.c): a store
 * opened here with other values would be pruned or sized by other rules. */
#define RETAIN_MIN 1
#define RETAIN_MAX 100000
#define MAP_SIZE_MIN ((uint64_t)1 << 20)
#define MAP_SIZE_MAX ((uint64_t)1 << 40)

/* Parse the options before the command into g and g_store_opts; *cmd is
 * set to the index of the command word (argc when there is none).
 * Returns -1 to go on, or the exit status (--help, --version, an error). */
static int parse_globals(int argc, char **argv, globals *g, int *cmd)
{
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		uint64_t n;
		if (strcmp(a, "--db") == 0 && i + 1 < argc) {
			g->db = argv[++i];
		} else if (strncmp(a, "--db=", 5) == 0) {
			g->db = a + 5;
		} else if (strcmp(a, "--retain-versions") == 0 && i + 1 < argc) {
			if (qd_parse_uint(argv[++i], RETAIN_MIN, RETAIN_MAX, &n)) {
				fprintf(stderr, "qingdanctl: %s: expected 1 to 100000\n", a);
				return EX_USAGE_;
			}
			g_store_opts.retain = (unsigned)n;
		} else if (strcmp(a, "--map-size") == 0 && i + 1 < argc) {
			if (qd_parse_size(argv[++i], MAP_SIZE_MIN, MAP_SIZE_MAX, &g_store_opts.map_size)) {
				fprintf(stderr, "qingdanctl: %s: expected a size from 1M to 1024G (suffixes K, M, G)\n", a);
				return EX_USAGE_;
			}
		} else if (strcmp(a, "--signing-key") == 0 && i + 1 < argc) {
			const char *path = argv[++i];
			int rc = qd_key_load_private(path, &g_sign_key);
			if (rc) {
				fprintf(stderr, "qingdanctl: --signing-key %s: %s\n", path,
					rc == QD_EIO ? strerror(errno) : qd_strerror(rc));
				return ex_for(rc);
			}
		} else if (strcmp(a, "--utc-offset") == 0 && i + 1 < argc) {
			if (qd_utc_offset_parse(argv[++i], &g->offset)) {
				fprintf(stderr, "qingdanctl: --utc-offset: expected +HH:MM\n");
				return EX_USAGE_;
			}
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			print_usage(stdout);
			return 0;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("qingdanctl %s\n", QD_VERSION);
			return 0;
		} else if (a[0] == '-') {
			fprintf(stderr, "qingdanctl: unknown option %s\n", a);
			print_usage(stderr);
			return EX_USAGE_;
		} else {
			break;
		}
	}
	*cmd = i;
	return -1;
}

int main(int argc, char **argv)
{
	globals g = {.db = getenv("QINGDAN_DB"), .offset = QD_UTC_OFFSET_DEFAULT};
	qd_store_opts_default(&g_store_opts);
	int i = 0, ex = parse_globals(argc, argv, &g, &i);
	if (ex >= 0)
		return ex;
	if (i >= argc) {
		print_usage(stderr);
		return EX_USAGE_;
	}
	const command *c = find_command(argv[i]);
	/* Without --db even an unknown command is answered with the missing
	 * --db: only token runs without a store. */
	if ((!c || c->needs_db) && !g.db) {
		fprintf(stderr, "qingdanctl: --db DIR is required (or set QINGDAN_DB)\n");
		return EX_USAGE_;
	}
	if (!c)
		return wrong_args(argv[i]);
	int words = argc - i - 1;
	if (words < c->min_args || (c->max_args >= 0 && words > c->max_args))
		return c->synopsis ? synopsis_error(c->synopsis) : wrong_args(c->name);
	ex = c->run(&g, argc - i, argv + i);
	qd_key_free(g_sign_key);
	return ex;
}
