/* qingdand — options from the command line and the configuration file. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "qd_config.h"
#include "qingdan/code.h"
#include "qingdan/date.h"
#include "qingdan/size.h"

const char qingdand_usage[] =
	"Usage: qingdand --db DIR --listen ADDR:PORT [options]\n"
	"       qingdand --config FILE [options]\n"
	"\n"
	"Serve the qingdan lists from the LMDB store in DIR over HTTP/JSON.\n"
	"Every option also has a key of the same name in the --config file.\n"
	"\n"
	"  --config FILE                 read options from FILE (key = value lines);\n"
	"                                options on the command line win\n"
	"  --check-config                validate the options and the files they name, then exit\n"
	"  --db DIR                      LMDB store directory (created if missing)\n"
	"  --listen ADDR:PORT            address to listen on, e.g. 127.0.0.1:8080 or [::1]:8080\n"
	"  --tokens FILE                 bearer tokens (NAME ROLE SHA256HEX per line); without\n"
	"                                it admin endpoints answer 403; re-read on SIGHUP\n"
	"  --read-auth open|token        whether read endpoints need a token (default open)\n"
	"  --metrics-auth read|open      whether /metrics needs a token when reads do\n"
	"                                (default read: as the read endpoints)\n"
	"  --threads N                   worker threads (default: number of CPUs)\n"
	"  --listen-per-thread yes|no    each worker thread its own listening socket on\n"
	"                                the address (SO_REUSEPORT), the kernel spreading\n"
	"                                new connections evenly (default yes); no: one\n"
	"                                socket the threads share\n"
	"  --utc-offset +HH:MM           offset for \"today\" (default +08:00, China time)\n"
	"  --customs CODE                4-digit customs code (关区代码) lookups and checks\n"
	"                                are decided for when they name none (default: none,\n"
	"                                customs scopes are shown, not checked)\n"
	"  --retain-versions N           versions kept per list (default 50)\n"
	"  --map-size BYTES              maximum store size (default 8G; suffixes K, M, G)\n"
	"  --read-cache BYTES            bound of each worker thread's cache of what lookups\n"
	"                                read (default 2M; 0 turns it off)\n"
	"  --access-log FILE|-|off       one JSON line per request (default -: stderr)\n"
	"  --decision-log FILE           one JSON line per decision (default: none)\n"
	"  --decision-log-mode best-effort|lossless\n"
	"                                best-effort drops lines the disk cannot take (counted);\n"
	"                                lossless fsyncs them in batches and answers 503\n"
	"                                log_unavailable when a decision cannot be recorded\n"
	"                                (default best-effort)\n"
	"  --decision-log-wait MS        lossless: how long a decision waits for room in the\n"
	"                                log before it is answered 503 (default 200)\n"
	"  --signing-key FILE            sign receipts with this private key (PEM, from\n"
	"                                qingdanctl keygen; not readable by group or others)\n"
	"  --verify-keys FILE            retired public keys (PEM, one or more) receipts\n"
	"                                signed earlier are still checked against\n"
	"  --follow URL                  be a read-only replica of a primary: apply the signed\n"
	"                                versions of its feed (http://HOST:PORT, https://…,\n"
	"                                or file:///DIR written by qingdanctl publish)\n"
	"  --follow-key FILE             the primary's public key(s), PEM: records signed by\n"
	"                                any other key are not applied (required with --follow)\n"
	"  --follow-interval S           seconds between polls of a directory, and the least\n"
	"                                wait after an error (default 2)\n"
	"  --max-staleness S             /readyz answers 503 stale when the feed was last read\n"
	"                                and applied longer ago than this (default 60)\n"
	"  --tls-cert FILE               serve HTTPS with this PEM certificate (needs --tls-key)\n"
	"  --tls-key FILE                PEM private key for --tls-cert (not readable by\n"
	"                                group or others)\n"
	"  --tls-priorities STRING       GnuTLS priority string for --tls-cert (default\n"
	"                                " QD_TLS_PRIORITIES_DEFAULT ")\n"
	"  --max-document-bytes BYTES    largest list document or CSV body (default 64M)\n"
	"  --max-body-bytes BYTES        largest other request body (default 1M)\n"
	"  --max-check-items N           items per POST /v1/check (default 1000)\n"
	"  --max-check-response-bytes BYTES\n"
	"                                largest answer of one POST /v1/check (default 64M)\n"
	"  --max-downloads N             version downloads streamed at once (default 16)\n"
	"  --max-json-depth N            nesting of JSON request bodies (default 64)\n"
	"  --max-connections N           open connections in all (default 1024)\n"
	"  --max-connections-per-ip N    open connections per client address (default 256)\n"
	"  --connection-timeout SECONDS  idle time before a connection is closed (default 30)\n"
	"  --header-timeout SECONDS      time a new connection has to send its request line\n"
	"                                and headers (default 10; the next request on a\n"
	"                                keep-alive connection: --connection-timeout)\n"
	"  --body-timeout SECONDS        time a body may take before --min-body-rate applies\n"
	"                                (default 10)\n"
	"  --min-body-rate BYTES         bytes a second a body must average after that\n"
	"                                (default 1K; 0: no body deadline)\n"
	"  --reserve-connections N       connections kept free for new clients: requests not\n"
	"                                yet in are closed beyond --max-connections - N\n"
	"                                (default 64, at most half of --max-connections)\n"
	"  --max-bodies-in-flight BYTES  memory of request bodies across connections\n"
	"                                (default 256M); beyond it 503\n"
	"  --max-header-bytes BYTES      request line and headers (default 16K)\n"
	"  --shutdown-grace SECONDS      time in-flight requests get at SIGTERM (default 10)\n"
	"  --job-threads N               threads for loads, rollbacks, diffs and audit reads\n"
	"                                (default 2)\n"
	"  --max-queued-jobs N           such requests waiting at once; more answer 503\n"
	"                                (default 64)\n"
	"  --audit-window SECONDS        repeats of one refused or failed attempt are audited\n"
	"                                as one record per window (default 60)\n"
	"  --audit-retain DAYS           audit records of attempts that changed nothing are\n"
	"                                pruned after DAYS (default 365; 0 keeps them)\n"
	"  --audit-max-attempts N        at most N such records are kept, the newest\n"
	"                                (default 100000)\n"
	"  --require-approval yes|no     every list change goes through a proposal that\n"
	"                                another admin approves (default no)\n"
	"  --proposal-ttl DURATION       pending proposals expire after DURATION: 14d,\n"
	"                                12h, 30m or 90s; a bare number is days\n"
	"                                (default 14d, at most 365d)\n"
	"  -h, --help                    show this help and exit\n"
	"  -V, --version                 show the version and exit\n";

enum opt_kind { O_STR, O_UINT, O_SIZE, O_OFFSET, O_READ_AUTH, O_METRICS_AUTH, O_LOG_MODE, O_CUSTOMS, O_YES_NO,
		O_DURATION };

typedef struct opt {
	const char *name;
	enum opt_kind kind;
	size_t off;                  /* offset of the field in settings */
	unsigned long long min, max; /* for O_UINT / O_SIZE; seconds for O_DURATION */
} opt;

#define F(field) offsetof(settings, field)
static const opt opts[] = {
	{"db", O_STR, F(db), 0, 0},
	{"listen", O_STR, F(listen), 0, 0},
	{"tokens", O_STR, F(tokens), 0, 0},
	{"read-auth", O_READ_AUTH, F(read_auth), 0, 0},
	{"metrics-auth", O_METRICS_AUTH, F(metrics_open), 0, 0},
	{"threads", O_UINT, F(threads), 1, 256},
	{"listen-per-thread", O_YES_NO, F(listen_per_thread), 0, 0},
	{"utc-offset", O_OFFSET, F(utc_offset), 0, 0},
	{"customs", O_CUSTOMS, F(customs), 0, 0},
	{"retain-versions", O_UINT, F(retain), 1, 100000},
	{"map-size", O_SIZE, F(map_size), 1ull << 20, 1ull << 40},
	{"read-cache", O_SIZE, F(read_cache), 0, 1ull << 30},
	{"access-log", O_STR, F(access_log), 0, 0},
	{"decision-log", O_STR, F(decision_log), 0, 0},
	{"decision-log-mode", O_LOG_MODE, F(decision_log_lossless), 0, 0},
	{"decision-log-wait", O_UINT, F(decision_log_wait), 1, 60000},
	{"signing-key", O_STR, F(signing_key), 0, 0},
	{"verify-keys", O_STR, F(verify_keys), 0, 0},
	{"follow", O_STR, F(follow), 0, 0},
	{"follow-key", O_STR, F(follow_key), 0, 0},
	{"follow-interval", O_UINT, F(follow_interval), 1, 3600},
	{"max-staleness", O_UINT, F(max_staleness), 1, 86400},
	{"tls-cert", O_STR, F(tls_cert), 0, 0},
	{"tls-key", O_STR, F(tls_key), 0, 0},
	{"tls-priorities", O_STR, F(tls_priorities), 0, 0},
	{"max-document-bytes", O_SIZE, F(max_document_bytes), 1024, 1ull << 32},
	{"max-body-bytes", O_SIZE, F(max_body_bytes), 1024, 1ull << 30},
	{"max-check-items", O_UINT, F(max_check_items), 1, 100000},
	{"max-check-response-bytes", O_SIZE, F(max_check_response_bytes), 1ull << 16, 1ull << 34},
	{"max-downloads", O_UINT, F(max_downloads), 1, 128},
	{"max-json-depth", O_UINT, F(max_json_depth), 2, 1000},
	{"max-connections", O_UINT, F(max_connections), 1, 1000000},
	{"max-connections-per-ip", O_UINT, F(max_connections_per_ip), 1, 1000000},
	{"connection-timeout", O_UINT, F(connection_timeout), 1, 86400},
	{"header-timeout", O_UINT, F(header_timeout), 1, 3600},
	{"body-timeout", O_UINT, F(body_timeout), 1, 86400},
	{"min-body-rate", O_SIZE, F(min_body_rate), 0, 1ull << 30},
	{"reserve-connections", O_UINT, F(reserve_connections), 0, 500000},
	{"max-bodies-in-flight", O_SIZE, F(max_bodies_in_flight), 1ull << 16, 1ull << 40},
	{"max-header-bytes", O_SIZE, F(max_header_bytes), 4096, 1ull << 24},
	{"shutdown-grace", O_UINT, F(shutdown_grace), 0, 3600},
	{"job-threads", O_UINT, F(job_threads), 1, 64},
	{"max-queued-jobs", O_UINT, F(max_queued_jobs), 1, 100000},
	{"audit-window", O_UINT, F(audit_window), 1, 86400},
	{"audit-retain", O_UINT, F(audit_retain), 0, 36500},
	{"audit-max-attempts", O_UINT, F(audit_max_attempts), 1000, 100000000},
	{"require-approval", O_YES_NO, F(require_approval), 0, 0},
	{"proposal-ttl", O_DURATION, F(proposal_ttl), 1, QD_PROPOSAL_TTL_MAX_S},
};
#define NOPTS (sizeof opts / sizeof opts[0])

void settings_default(settings *s)
{
	memset(s, 0, sizeof *s);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	s->threads = n > 0 && n <= 256 ? (unsigned)n : 2;
	s->listen_per_thread = true;
	s->utc_offset = QD_UTC_OFFSET_DEFAULT;
	s->retain = QD_RETAIN_DEFAULT;
	s->map_size = QD_MAP_SIZE_DEFAULT;
	s->access_log = strdup("-");
	s->tls_priorities = strdup(QD_TLS_PRIORITIES_DEFAULT);
	s->max_document_bytes = QD_BODY_MAX_DOCUMENT;
	s->max_body_bytes = QD_BODY_MAX_DEFAULT;
	s->max_check_items = QD_CHECK_ITEMS_MAX;
	s->max_check_response_bytes = QD_CHECK_RESPONSE_MAX;
	s->max_downloads = QD_DOWNLOADS_MAX;
	s->max_json_depth = QD_JSON_DEPTH_MAX;
	s->max_connections = QD_CONNECTIONS_MAX;
	s->max_connections_per_ip = QD_CONNECTIONS_PER_IP_MAX;
	s->connection_timeout = QD_CONNECTION_TIMEOUT;
	s->header_timeout = QD_HEADER_TIMEOUT;
	s->body_timeout = QD_BODY_TIMEOUT;
	s->min_body_rate = QD_MIN_BODY_RATE;
	s->reserve_connections = QD_CONNECTIONS_RESERVE;
	s->max_bodies_in_flight = QD_BODIES_IN_FLIGHT_MAX;
	s->max_header_bytes = QD_REQUEST_HEADER_MAX;
	s->shutdown_grace = QD_SHUTDOWN_GRACE;
	s->read_cache = QD_SNAP_CACHE_DEFAULT;
	s->job_threads = QD_JOB_THREADS;
	s->max_queued_jobs = QD_QUEUED_JOBS_MAX;
	s->audit_window = QD_AUDIT_WINDOW_S;
	s->audit_retain = QD_AUDIT_RETAIN_DAYS;
	s->audit_max_attempts = QD_AUDIT_MAX_ATTEMPTS;
	s->decision_log_wait = QD_DECISION_LOG_WAIT_MS;
	s->follow_interval = QD_FOLLOW_INTERVAL_S;
	s->max_staleness = QD_MAX_STALENESS_S;
	s->proposal_ttl = QD_PROPOSAL_TTL_S;
}

void settings_free(settings *s)
{
	char **strs[] = {&s->db, &s->listen, &s->tokens, &s->access_log, &s->decision_log, &s->tls_cert, &s->tls_key,
			 &s->tls_priorities, &s->signing_key, &s->verify_keys, &s->follow, &s->follow_key};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

/* Parse a duration: decimal digits and one unit, d (days), h, m or s; a
 * bare number is days (what --proposal-ttl took before it had units).
 * Returns 0 with the seconds in *out, or -1 when s is malformed, does not
 * fit, or lies outside [min, max] seconds. */
static int parse_duration(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 9 || (s[n] && s[n + 1]))
		return -1;
	uint64_t unit;
	switch (s[n]) {
	case '\0':
	case 'd': unit = 86400; break;
	case 'h': unit = 3600; break;
	case 'm': unit = 60; break;
	case 's': unit = 1; break;
	default: return -1;
	}
	uint64_t v = strtoull(s, NULL, 10) * unit; /* at most 9 digits: no overflow */
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Apply one option; on error write why into err and return -1. */
static int apply(settings *s, const opt *o, const char *v, char *err, size_t errlen)
{
	void *field = (char *)s + o->off;
	uint64_t n;
	switch (o->kind) {
	case O_STR:
		if (!*v) {
			snprintf(err, errlen, "%s: needs a value", o->name);
			return -1;
		}
		free(*(char **)field);
		*(char **)field = strdup(v);
		return 0;
	case O_READ_AUTH:
		if (strcmp(v, "open") == 0)
			*(bool *)field = false;
		else if (strcmp(v, "token") == 0)
			*(bool *)field = true;
		else {
			snprintf(err, errlen, "%s: expected open or token, got \"%s\"", o->name, v);
			return -1;
		}
		return 0;
	case O_METRICS_AUTH:
		if (strcmp(v, "read") == 0)
			*(bool *)field = false;
		else if (strcmp(v, "open") == 0)
			*(bool *)field = true;
		else {
			snprintf(err, errlen, "%s: expected read or open, got \"%s\"", o->name, v);
			return -1;
		}
		return 0;
	case O_YES_NO:
		if (strcmp(v, "no") == 0)
			*(bool *)field = false;
		else if (strcmp(v, "yes") == 0)
			*(bool *)field = true;
		else {
			snprintf(err, errlen, "%s: expected yes or no, got \"%s\"", o->name, v);
			return -1;
		}
		return 0;
	case O_LOG_MODE:
		if (strcmp(v, "best-effort") == 0)
			*(bool *)field = false;
		else if (strcmp(v, "lossless") == 0)
			*(bool *)field = true;
		else {
			snprintf(err, errlen, "%s: expected best-effort or lossless, got \"%s\"", o->name, v);
			return -1;
		}
		return 0;
	case O_CUSTOMS: {
		const char *why;
		if (qd_customs_parse(v, strlen(v), (char *)field, &why)) {
			snprintf(err, errlen, "%s: %s, got \"%s\"", o->name, why, v);
			return -1;
		}
		return 0;
	}
	case O_OFFSET:
		if (qd_utc_offset_parse(v, (int *)field)) {
			snprintf(err, errlen, "%s: expected +HH:MM within ±14:00 (e.g. +08:00), got \"%s\"", o->name, v);
			return -1;
		}
		return 0;
	case O_DURATION:
		if (parse_duration(v, o->min, o->max, &n)) {
			snprintf(err, errlen, "%s: expected a duration from %llus to %llud: digits and a unit, "
				 "d, h, m or s (14d, 12h, 30m, 90s; a bare number is days), got \"%s\"",
				 o->name, o->min, o->max / 86400, v);
			return -1;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	case O_UINT:
	case O_SIZE:
		if ((o->kind == O_SIZE ? qd_parse_size : qd_parse_uint)(v, o->min, o->max, &n)) {
			snprintf(err, errlen, "%s: expected %s from %llu to %llu, got \"%s\"", o->name,
				 o->kind == O_SIZE ? "a size in bytes (suffixes K, M, G)" : "an integer", o->min,
				 o->max, v);
			return -1;
		}
		if (o->kind == O_UINT)
			*(unsigned *)field = (unsigned)n;
		else if (o->off == F(map_size))
			*(uint64_t *)field = n;
		else
			*(size_t *)field = (size_t)n;
		return 0;
	}
	return -1;
}

static const opt *find_opt(const char *name)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

static char *trim(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' || p[n - 1] == '\r'))
		p[--n] = '\0';
	return p;
}

static int load_file(settings *s, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "qingdand: cannot read config %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[4096], err[512];
	unsigned lineno = 0;
	int ret = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(stderr, "qingdand: %s:%u: line too long\n", path, lineno);
			ret = -1;
			break;
		}
		char *p = trim(line);
		if (!*p || *p == '#')
			continue;
		char *eq = strchr(p, '=');
		if (!eq) {
			fprintf(stderr, "qingdand: %s:%u: expected \"key = value\"\n", path, lineno);
			ret = -1;
			continue;
		}
		*eq = '\0';
		char *key = trim(p), *val = trim(eq + 1);
		/* A value may be quoted to keep spaces or a '#'; a comment may
		 * follow the closing quote. */
		if (val[0] == '"') {
			char *close = strchr(val + 1, '"'), *rest = close ? trim(close + 1) : NULL;
			if (!close || (*rest && *rest != '#')) {
				fprintf(stderr, "qingdand: %s:%u: %s\n", path, lineno,
					close ? "text after the closing quote (only a # comment may follow)"
					      : "the quote is never closed");
				ret = -1;
				continue;
			}
			*close = '\0';
			val++;
		} else {
			char *hash = strstr(val, " #");
			if (hash) {
				*hash = '\0';
				val = trim(val);
			}
		}
		const opt *o = find_opt(key);
		if (!o || strcmp(key, "config") == 0) {
			fprintf(stderr, "qingdand: %s:%u: unknown key \"%s\" (see qingdand --help)\n", path, lineno, key);
			ret = -1;
			continue;
		}
		if (apply(s, o, val, err, sizeof err)) {
			fprintf(stderr, "qingdand: %s:%u: %s\n", path, lineno, err);
			ret = -1;
		}
	}
	fclose(f);
	return ret;
}

int settings_parse(settings *s, int argc, char **argv, bool *check_only)
{
	static struct option lo[NOPTS + 5];
	size_t k = 0;
	for (; k < NOPTS; k++)
		lo[k] = (struct option){opts[k].name, required_argument, NULL, (int)(1000 + k)};
	lo[k++] = (struct option){"config", required_argument, NULL, 'c'};
	lo[k++] = (struct option){"check-config", no_argument, NULL, 'C'};
	lo[k++] = (struct option){"help", no_argument, NULL, 'h'};
	lo[k++] = (struct option){"version", no_argument, NULL, 'V'};
	lo[k] = (struct option){0};

	/* First pass: --config, --help, --version; the file is applied before
	 * the command line so that the command line wins. */
	const char *config = NULL;
	*check_only = false;
	int ch;
	opterr = 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hV", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'C': *check_only = true; break;
		case 'h': fputs(qingdand_usage, stdout); return 1;
		case 'V': printf("qingdand %s\n", QD_VERSION); return 1;
		case '?': fprintf(stderr, "qingdand: see --help\n"); return -1;
		default: break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "qingdand: unexpected argument \"%s\" (see --help)\n", argv[optind]);
		return -1;
	}
	if (config && load_file(s, config))
		return -1;
	optind = 1;
	char err[512];
	while ((ch = getopt_long(argc, argv, "hV", lo, NULL)) != -1) {
		if (ch >= 1000 && ch < 1000 + (int)NOPTS && apply(s, &opts[ch - 1000], optarg, err, sizeof err)) {
			fprintf(stderr, "qingdand: --%s\n", err);
			return -1;
		}
	}
	if (!s->db) {
		fprintf(stderr, "qingdand: --db DIR (or db = DIR in --config) is required; see --help\n");
		return -1;
	}
	if (!s->listen) {
		fprintf(stderr, "qingdand: --listen ADDR:PORT (or listen = … in --config) is required; see --help\n");
		return -1;
	}
	if (!s->tls_cert != !s->tls_key) {
		fprintf(stderr, "qingdand: --tls-cert and --tls-key go together\n");
		return -1;
	}
	/* A priority string that serves nothing would go unchecked. */
	if (!s->tls_cert && strcmp(s->tls_priorities, QD_TLS_PRIORITIES_DEFAULT) != 0) {
		fprintf(stderr, "qingdand: --tls-priorities applies to --tls-cert, which is not given\n");
		return -1;
	}
	/* A budget that cannot hold one document would refuse every load of
	 * the largest size with 503, for ever. */
	if (s->max_bodies_in_flight <= s->max_document_bytes || s->max_bodies_in_flight <= s->max_body_bytes) {
		fprintf(stderr, "qingdand: --max-bodies-in-flight (%zu) must be larger than --max-document-bytes "
				"(%zu) and --max-body-bytes (%zu)\n",
			s->max_bodies_in_flight, s->max_document_bytes, s->max_body_bytes);
		return -1;
	}
	/* Fail closed: a follower without the primary's key would have to
	 * apply whatever the source serves. */
	if (s->follow && !s->follow_key) {
		fprintf(stderr, "qingdand: --follow needs --follow-key FILE (the primary's public key): a "
				"replica applies only versions signed by it\n");
		return -1;
	}
	if (s->follow_key && !s->follow) {
		fprintf(stderr, "qingdand: --follow-key applies to --follow, which is not given\n");
		return -1;
	}
	if (s->decision_log_lossless && !s->decision_log) {
		fprintf(stderr, "qingdand: --decision-log-mode lossless needs --decision-log FILE\n");
		return -1;
	}
	if (s->access_log && strcmp(s->access_log, "off") == 0) {
		free(s->access_log);
		s->access_log = NULL;
	}
	return 0;
}
