/* Fuzz target: the request layer — query strings of GET /v1/lookup, bodies
 * of POST /v1/check, and any GET path with its query string.
 *
 * How: the daemon's own code (its core library: dispatcher, route table,
 * handlers, start-up helpers) runs in-process behind a real libmicrohttpd
 * daemon on an ephemeral loopback port, started once by the same
 * server_init() and server_listen() as qingdand, over a temporary store
 * holding the two sample lists, signing receipts with an Ed25519 key made
 * at start.  Each input becomes one raw HTTP/1.1 request on a new
 * connection.  This keeps libmicrohttpd's own parsing (percent-decoding,
 * argument splitting, Content-Length) in the loop, so the handlers see
 * exactly what they see in production; no shim can drift from it.  Only
 * reads are sent, so the store never changes and every input replays the
 * same way.
 *
 * Input: a selector line, then the payload —
 *   "lookup\n<query string>"   GET /v1/lookup?<payload>
 *   "check\n<JSON body>"       POST /v1/check with that body
 *   "verify\n<JSON body>"      POST /v1/receipts/verify with that body
 *   "get\n<path?query>"        GET <payload>
 * Bytes that cannot appear raw in a request line (controls, space, DEL)
 * are percent-encoded, so they still reach the handlers after decoding.
 *
 * Invariants: every request is answered within 10 s (unless libmicrohttpd
 * says it ran out of connection memory, see pool_exhausted); never a 5xx
 * other than 503/507; every application/json body parses as JSON; every JSON
 * error (4xx) has the {"error":{"code","message","details"}} shape. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "config.h"
#include "qingdan/err.h"
#include "qingdan/listdoc.h"
#include "qingdand.h"
#include "startup.h"
#include "workers.h"

#define ANSWER_TIMEOUT_MS 10000
#define PAYLOAD_MAX (16 * 1024)

/* Set by the logger when libmicrohttpd ran out of its per-connection
 * memory (--max-header-bytes) for this input: a request whose URL splits
 * into hundreds of arguments leaves no room for the argument records or the
 * answer's headers, and libmicrohttpd 0.9.75 then closes the connection
 * without an answer (or keeps it until --connection-timeout).  That is its
 * documented limit, not the application's doing, so such a silent close is
 * accepted; any other silent close is a finding. */
static atomic_bool pool_exhausted;

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (strstr(msg, "Not enough memory in pool") || strstr(msg, "failed to create response header") ||
	    strstr(msg, "too big for the memory constraints")) {
		atomic_store(&pool_exhausted, true);
		return;
	}
	fputs(msg, stderr);
}

static server srv;
static listeners daemons_;
static unsigned port;
static char dir[256];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void teardown(void)
{
	workers_stop_jobs(&srv);
	listeners_stop(&daemons_);
	workers_stop_audit(&srv);
	if (srv.store)
		server_fini(&srv);
	if (dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	server_keys_free(&srv);
	settings_free(&srv.cfg);
}

static void load_sample(const char *relpath)
{
	size_t len;
	char *buf = fuzz_read_source(relpath, &len);
	qd_problems pr;
	qd_problems_init(&pr);
	qd_listdoc *doc = NULL;
	qd_put_result res;
	qd_put_opts o = {.actor = "fuzz", .action = "load", .source = relpath, .now = 1767225600};
	if (qd_listdoc_parse(buf, len, NULL, &doc, &pr) != 0 || qd_store_put(srv.store, doc, &o, &res, &pr) != 0) {
		fprintf(stderr, "fuzz_request: cannot load %s\n", relpath);
		abort();
	}
	qd_listdoc_free(doc);
	qd_problems_free(&pr);
	free(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (daemons_.n)
		return 0;
	signal(SIGPIPE, SIG_IGN);
	settings_default(&srv.cfg);
	/* No access log: it would be one line per input on stderr. */
	free(srv.cfg.access_log);
	srv.cfg.access_log = NULL;
	srv.cfg.threads = 2;

	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/qd-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("fuzz_request: mkdtemp");
		abort();
	}
	qd_store_opts so;
	qd_store_opts_default(&so);
	so.map_size = 64u << 20;
	char err[256];
	qd_store *store;
	if (qd_store_open(dir, &so, &store, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_request: %s\n", err);
		abort();
	}
	server_init(&srv, store);
	snprintf(srv.id_prefix, sizeof srv.id_prefix, "fuzz0000");
	if (qd_key_generate(QD_ALG_ED25519, &srv.sign_key) != 0) {
		fprintf(stderr, "fuzz_request: cannot make a signing key\n");
		abort();
	}
	load_sample("schema/examples/gba-research-positive.json");
	load_sample("schema/examples/biomed-rd-whitelist.json");
	free(srv.cfg.db);
	srv.cfg.db = strdup(dir);
	if (!workers_start(&srv))
		abort();

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!server_listen(&srv, (const struct sockaddr *)&sa, NULL, NULL, mhd_log, NULL, &daemons_)) {
		fprintf(stderr, "fuzz_request: MHD_start_daemon failed\n");
		abort();
	}
	port = daemons_.port;
	if (!port)
		abort();
	atexit(teardown);
	return 0;
}

typedef struct sbuf {
	char *p;
	size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* Append bytes for a request line: raw where the HTTP grammar allows,
 * percent-encoded where a raw byte would end the line or the target. */
static void sb_target(sbuf *b, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c <= 0x20 || c == 0x7f) {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			sb_add(b, e, 3);
		} else {
			sb_add(b, &c, 1);
		}
	}
}

/* Send the request on a new connection and read the answer until the
 * daemon closes (Connection: close).  Aborts when no answer comes. */
static void exchange(const sbuf *req, sbuf *resp)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd;
	for (int attempt = 0;; attempt++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			abort();
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			break;
		/* libFuzzer's timer signal interrupts connect(); start over. */
		int e = errno;
		close(fd);
		if (e != EINTR || attempt == 100) {
			fprintf(stderr, "fuzz_request: connect: %s\n", strerror(e));
			abort();
		}
	}
	size_t off = 0;
	while (off < req->n) {
		ssize_t w = send(fd, req->p + off, req->n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* the daemon may answer (413, 431) and close early */
		off += (size_t)w;
	}
	char buf[65536];
	int waited = 0;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, 100);
		if (pr == 0) {
			if (atomic_load(&pool_exhausted))
				break;
			waited += 100;
			if (waited >= ANSWER_TIMEOUT_MS) {
				fprintf(stderr, "fuzz_request: no answer within %d ms\n", ANSWER_TIMEOUT_MS);
				abort();
			}
			continue;
		}
		if (pr < 0 && errno == EINTR)
			continue;
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		sb_add(resp, buf, (size_t)r);
	}
	close(fd);
}

static const char *find_header(const char *head, size_t head_len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = head, *end = head + head_len;
	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (v < eol && *v == ' ')
				v++;
			*vlen = (size_t)(eol - v);
			return v;
		}
		p = eol + 2;
	}
	return NULL;
}

static void check_response(const sbuf *resp, const sbuf *req)
{
	if (resp->n == 0 && atomic_load(&pool_exhausted))
		return;
	if (resp->n == 0) {
		fprintf(stderr, "fuzz_request: the daemon closed without answering:\n%.*s\n", (int)(req->n > 2000 ? 2000 : req->n), req->p);
		abort();
	}
	unsigned status = 0;
	FUZZ_CHECK(sscanf(resp->p, "HTTP/1.%*1[01] %u", &status) == 1);
	const char *sep = memmem(resp->p, resp->n, "\r\n\r\n", 4);
	FUZZ_CHECK(sep != NULL);
	if (status >= 500 && status != 503 && status != 507) {
		fprintf(stderr, "fuzz_request: answered %u to:\n%.*s\n---- answer ----\n%s\n", status,
			(int)(req->n > 2000 ? 2000 : req->n), req->p, resp->p);
		abort();
	}
	size_t ctl = 0;
	const char *ct = find_header(resp->p, (size_t)(sep - resp->p), "Content-Type", &ctl);
	if (!ct || ctl < 16 || strncasecmp(ct, "application/json", 16) != 0)
		return;
	const char *body = sep + 4;
	size_t blen = resp->n - (size_t)(body - resp->p);
	json_error_t je;
	json_t *j = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		fprintf(stderr, "fuzz_request: a JSON answer does not parse (%s):\n%s\n", je.text, resp->p);
		abort();
	}
	if (status >= 400) {
		json_t *e = json_object_get(j, "error");
		FUZZ_CHECK(json_is_object(e));
		FUZZ_CHECK(json_is_string(json_object_get(e, "code")));
		FUZZ_CHECK(json_is_string(json_object_get(e, "message")));
		FUZZ_CHECK(json_is_array(json_object_get(e, "details")));
	}
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!daemons_.n)
		LLVMFuzzerInitialize(NULL, NULL);
	const uint8_t *nl = memchr(data, '\n', size < 16 ? size : 16);
	if (!nl)
		return 0;
	size_t sl = (size_t)(nl - data);
	const uint8_t *payload = nl + 1;
	size_t plen = size - sl - 1;
	if (plen > PAYLOAD_MAX)
		plen = PAYLOAD_MAX;
	sbuf req = {0}, resp = {0};
	if (sl == 6 && memcmp(data, "lookup", 6) == 0) {
		sb_puts(&req, "GET /v1/lookup?");
		sb_target(&req, payload, plen);
		sb_puts(&req, " HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n");
	} else if ((sl == 5 && memcmp(data, "check", 5) == 0) || (sl == 6 && memcmp(data, "verify", 6) == 0)) {
		char head[256];
		snprintf(head, sizeof head,
			 "POST %s HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 sl == 5 ? "/v1/check" : "/v1/receipts/verify", plen);
		sb_puts(&req, head);
		sb_add(&req, payload, plen);
	} else if (sl == 3 && memcmp(data, "get", 3) == 0) {
		sb_puts(&req, "GET ");
		if (plen == 0 || payload[0] != '/')
			sb_puts(&req, "/");
		sb_target(&req, payload, plen);
		sb_puts(&req, " HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n");
	} else {
		return 0;
	}
	atomic_store(&pool_exhausted, false);
	exchange(&req, &resp);
	check_response(&resp, &req);
	free(req.p);
	free(resp.p);
	return 0;
}
