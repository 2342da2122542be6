/* qingdanctl — local administration of a qingdan store, with the same
 * library code as the daemon.  LMDB lets it run while qingdand serves. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qd_config.h"
#include "qingdan/decide.h"
#include "qingdan/err.h"
#include "qingdan/listdoc.h"
#include "qingdan/sha256.h"
#include "qingdan/store.h"

/* Exit codes, sysexits(3) style. */
enum {
	EX_OK_ = 0,
	EX_FAIL = 1,      /* the operation ran and said no (verify failed …) */
	EX_USAGE_ = 64,   /* bad command line */
	EX_DATAERR_ = 65, /* input data invalid (list document breaks rules) */
	EX_NOINPUT_ = 66, /* input file missing or unreadable */
	EX_SOFTWARE_ = 70,
	EX_CANTCREAT_ = 73,
	EX_IOERR_ = 74,   /* store error */
	EX_TEMPFAIL_ = 75,/* precondition failed, storage full: try again */
};

static const char usage[] =
	"Usage: qingdanctl --db DIR COMMAND [ARGS]\n"
	"\n"
	"Commands:\n"
	"  init                      create an empty store in DIR\n"
	"  load LIST FILE            validate FILE (a JSON list document) and store it\n"
	"                            as LIST's new version (--dry-run: validate and diff only)\n"
	"  lookup CODE [--entity E] [--date YYYY-MM-DD] [--list L] [--ciq NNN]\n"
	"                            decide CODE as GET /v1/lookup would; prints JSON\n"
	"  lists                     list the lists with their current versions\n"
	"  token NAME ROLE           make a new random bearer token (ROLE admin or reader):\n"
	"                            prints the token once, then its tokens-file line\n"
	"\n"
	"Options:\n"
	"  --db DIR                  the LMDB store directory\n"
	"  --utc-offset OFFSET       offset for \"today\" (default +08:00)\n"
	"  -h, --help                show this help\n"
	"  -V, --version             show the version\n"
	"\n"
	"Exit status: 0 success, 1 refused/denied check, 64 usage, 65 invalid data,\n"
	"66 unreadable input, 74 store error, 75 precondition failed or storage full.\n";

static int ex_for(int err)
{
	switch (err) {
	case QD_EINVAL: return EX_DATAERR_;
	case QD_ESYNTAX: return EX_DATAERR_;
	case QD_ENOENT: return EX_DATAERR_;
	case QD_ENOSPC: return EX_TEMPFAIL_;
	case QD_ECONFLICT: return EX_TEMPFAIL_;
	default: return EX_IOERR_;
	}
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	bool bad = ferror(f);
	if (f != stdin)
		fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
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

static int open_store(const char *db, bool ro, qd_store **st)
{
	char err[512];
	qd_store_opts o;
	qd_store_opts_default(&o);
	o.read_only = ro;
	int rc = qd_store_open(db, &o, st, err, sizeof err);
	if (rc) {
		fprintf(stderr, "qingdanctl: %s\n", err);
		return EX_IOERR_;
	}
	return 0;
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

static int cmd_load(const char *db, const char *list, const char *file, bool dry)
{
	if (!qd_list_id_valid(list)) {
		fprintf(stderr, "qingdanctl: \"%s\" is not a list id ([a-z][a-z0-9-]{0,47})\n", list);
		return EX_USAGE_;
	}
	size_t len;
	char *buf = read_file(file, &len);
	if (!buf) {
		fprintf(stderr, "qingdanctl: cannot read %s: %s\n", file, strerror(errno));
		return EX_NOINPUT_;
	}
	qd_problems pr;
	qd_problems_init(&pr);
	qd_listdoc *doc = NULL;
	int ex = 0;
	int rc = qd_listdoc_parse(buf, len, list, &doc, &pr);
	free(buf);
	if (rc) {
		print_problems(file, &pr);
		fprintf(stderr, "qingdanctl: %s: %zu problem(s); nothing was stored\n", file,
			qd_problems_total(&pr));
		ex = ex_for(rc);
		goto out;
	}
	qd_store *st;
	if ((ex = open_store(db, false, &st)))
		goto out;
	const char *base = strrchr(file, '/');
	qd_put_opts o = {.actor = actor_name(), .action = "load", .source = base ? base + 1 : file,
			 .now = (int64_t)time(NULL), .dry_run = dry};
	qd_put_result res;
	rc = qd_store_put(st, doc, &o, &res, &pr);
	qd_store_close(st);
	if (rc) {
		print_problems(file, &pr);
		fprintf(stderr, "qingdanctl: %s: %s; nothing was stored\n", file, qd_strerror(rc));
		ex = ex_for(rc);
		goto out;
	}
	printf("%s %s version %u (previous %u): %zu entries, %zu added, %zu removed, %zu changed, sha256 %s\n",
	       dry ? "dry run:" : "stored", list, res.version, res.previous, res.entries, res.added,
	       res.removed, res.changed, res.sha256);
out:
	qd_listdoc_free(doc);
	qd_problems_free(&pr);
	return ex;
}

static int cmd_lookup(const char *db, int argc, char **argv, int offset)
{
	static const struct option lo[] = {
		{"entity", required_argument, NULL, 'e'},
		{"date", required_argument, NULL, 'd'},
		{"list", required_argument, NULL, 'l'},
		{"ciq", required_argument, NULL, 'c'},
		{0},
	};
	const char *entity = NULL, *date = NULL, *list = NULL, *ciq = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'e': entity = optarg; break;
		case 'd': date = optarg; break;
		case 'l': list = optarg; break;
		case 'c': ciq = optarg; break;
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
	(void)offset;

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
		fprintf(stderr, "qingdanctl: %s\n", rc == QD_ENOENT ? "no such list" : qd_strerror(rc));
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

int main(int argc, char **argv)
{
	const char *db = getenv("QINGDAN_DB");
	int offset = QD_UTC_OFFSET_DEFAULT;
	bool dry = false;
	/* Global options come before the command. */
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--db") == 0 && i + 1 < argc) {
			db = argv[++i];
		} else if (strncmp(a, "--db=", 5) == 0) {
			db = a + 5;
		} else if (strcmp(a, "--utc-offset") == 0 && i + 1 < argc) {
			if (qd_utc_offset_parse(argv[++i], &offset)) {
				fprintf(stderr, "qingdanctl: --utc-offset: expected +HH:MM\n");
				return EX_USAGE_;
			}
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("qingdanctl %s\n", QD_VERSION);
			return 0;
		} else if (a[0] == '-') {
			fprintf(stderr, "qingdanctl: unknown option %s\n%s", a, usage);
			return EX_USAGE_;
		} else {
			break;
		}
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return EX_USAGE_;
	}
	if (strcmp(argv[i], "token") == 0) {
		if (argc - i != 3) {
			fprintf(stderr, "qingdanctl: usage: token NAME ROLE\n");
			return EX_USAGE_;
		}
		return cmd_token(argv[i + 1], argv[i + 2]);
	}
	if (!db) {
		fprintf(stderr, "qingdanctl: --db DIR is required (or set QINGDAN_DB)\n");
		return EX_USAGE_;
	}
	const char *cmd = argv[i];
	char **args = argv + i;
	int nargs = argc - i;
	if (strcmp(cmd, "init") == 0 && nargs == 1)
		return cmd_init(db);
	if (strcmp(cmd, "load") == 0) {
		char *pos[2];
		int np = 0;
		for (int k = 1; k < nargs; k++) {
			if (strcmp(args[k], "--dry-run") == 0)
				dry = true;
			else if (np < 2)
				pos[np++] = args[k];
			else
				np = 3;
		}
		if (np != 2) {
			fprintf(stderr, "qingdanctl: usage: load LIST FILE [--dry-run]\n");
			return EX_USAGE_;
		}
		return cmd_load(db, pos[0], pos[1], dry);
	}
	if (strcmp(cmd, "lookup") == 0)
		return cmd_lookup(db, nargs, args, offset);
	if (strcmp(cmd, "lists") == 0 && nargs == 1)
		return cmd_lists(db);
	fprintf(stderr, "qingdanctl: unknown command or wrong arguments: %s\n%s", cmd, usage);
	return EX_USAGE_;
}
