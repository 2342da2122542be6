/* qingdan — HTTP test harness (see harness.h). */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "qingdan/sha256.h"

static harness_daemon *current;

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "harness: out of memory\n");
		abort();
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "harness: out of memory\n");
		abort();
	}
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

void harness_use(harness_daemon *d)
{
	current = d;
}

harness_daemon *harness_current(void)
{
	return current;
}

unsigned harness_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	unsigned port = 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *dir)
{
	if (dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static bool write_tokens(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return false;
	}
	char a[QD_SHA256_HEX], a2[QD_SHA256_HEX], r[QD_SHA256_HEX];
	qd_sha256_hex(HARNESS_ADMIN_TOKEN, strlen(HARNESS_ADMIN_TOKEN), a);
	qd_sha256_hex(HARNESS_ADMIN2_TOKEN, strlen(HARNESS_ADMIN2_TOKEN), a2);
	qd_sha256_hex(HARNESS_READER_TOKEN, strlen(HARNESS_READER_TOKEN), r);
	fprintf(f, "# qingdan test tokens: NAME ROLE SHA256HEX\n");
	fprintf(f, "%s admin %s\n", HARNESS_ADMIN_NAME, a);
	fprintf(f, "%s admin %s\n", HARNESS_ADMIN2_NAME, a2);
	fprintf(f, "\n%s reader %s  # the reader\n", HARNESS_READER_NAME, r);
	if (fclose(f) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return false;
	}
	/* qingdand refuses a tokens file others can write, whatever the umask. */
	if (chmod(path, 0600) != 0) {
		snprintf(err, errlen, "cannot chmod %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

void harness_dump_log(const harness_daemon *d)
{
	FILE *f = fopen(d->log, "r");
	if (!f)
		return;
	fprintf(stderr, "---- qingdand log (%s) ----\n", d->log);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---- end of qingdand log ----\n");
	fclose(f);
}

/* Fork and exec the daemon; returns the pid or -1. */
static pid_t spawn(const char *const *argv, const char *log)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* Child: never outlive the test runner. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	int in = open("/dev/null", O_RDONLY);
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (in < 0 || out < 0)
		_exit(127);
	dup2(in, 0);
	dup2(out, 1);
	dup2(out, 2);
	close(in);
	close(out);
	/* The runner may have signals blocked or ignored; give the daemon a clean slate. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "harness: cannot exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Wait for the child with a timeout; true when it was reaped (status in *st). */
static bool wait_child(pid_t pid, int *st, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	for (;;) {
		pid_t w = waitpid(pid, st, WNOHANG);
		if (w == pid)
			return true;
		if (w < 0 && errno != EINTR)
			return false;
		if (now_ms() > deadline)
			return false;
		sleep_ms(20);
	}
}

static void describe_status(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "ended with wait status %#x", st);
}

static long healthz_status(const harness_daemon *d)
{
	CURL *h = curl_easy_init();
	if (!h)
		return 0;
	char url[128];
	snprintf(url, sizeof url, "%s/healthz", d->base_url);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, NULL);
	FILE *sink = fopen("/dev/null", "w");
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	long status = 0;
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (sink)
		fclose(sink);
	return status;
}

static bool start_once(harness_daemon *d, const harness_opts *o, char *err, size_t errlen,
		       bool *retry)
{
	*retry = false;
	d->port = harness_free_port();
	if (!d->port) {
		snprintf(err, errlen, "cannot find a free loopback port: %s", strerror(errno));
		return false;
	}
	snprintf(d->base_url, sizeof d->base_url, "http://127.0.0.1:%u", d->port);
	char listen[40], daemon_path[512];
	snprintf(listen, sizeof listen, "127.0.0.1:%u", d->port);
	snprintf(daemon_path, sizeof daemon_path, "%s/src/daemon/qingdand", env_or("QD_BUILD_ROOT", "build"));

	const char *argv[64];
	size_t n = 0;
	/* QD_DAEMON_WRAPPER="valgrind -q --error-exitcode=99" runs the daemon
	 * under a tool; its exit status still has to be 0. */
	char wrapper[512] = "";
	const char *wrap_env = getenv("QD_DAEMON_WRAPPER");
	if (wrap_env && *wrap_env) {
		snprintf(wrapper, sizeof wrapper, "%s", wrap_env);
		for (char *save = NULL, *tok = strtok_r(wrapper, " ", &save); tok && n < 32;
		     tok = strtok_r(NULL, " ", &save))
			argv[n++] = tok;
	}
	argv[n++] = daemon_path;
	argv[n++] = "--db";
	argv[n++] = d->db;
	argv[n++] = "--listen";
	argv[n++] = listen;
	if (d->tokens[0]) {
		argv[n++] = "--tokens";
		argv[n++] = d->tokens;
	}
	if (o && o->read_auth) {
		argv[n++] = "--read-auth";
		argv[n++] = "token";
	}
	argv[n++] = "--threads";
	argv[n++] = "2";
	for (size_t i = 0; o && o->extra_args && o->extra_args[i] && n < 63; i++)
		argv[n++] = o->extra_args[i];
	argv[n] = NULL;

	d->pid = spawn(argv, d->log);
	if (d->pid < 0) {
		d->pid = 0;
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return false;
	}
	long timeout = HARNESS_START_TIMEOUT_MS * (wrapper[0] ? 5 : 1);
	long deadline = now_ms() + timeout;
	for (;;) {
		int st;
		pid_t w = waitpid(d->pid, &st, WNOHANG);
		if (w == d->pid) {
			char how[96];
			describe_status(st, how, sizeof how);
			snprintf(err, errlen, "qingdand %s before answering /healthz (log: %s)", how, d->log);
			d->pid = 0;
			/* Most likely the port was taken between picking and binding. */
			*retry = WIFEXITED(st) && WEXITSTATUS(st) == 1;
			return false;
		}
		if (healthz_status(d) == 200)
			return true;
		if (now_ms() > deadline) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &st, 0);
			d->pid = 0;
			snprintf(err, errlen, "qingdand did not answer GET /healthz within %ld ms (log: %s)",
				 timeout, d->log);
			return false;
		}
		sleep_ms(25);
	}
}

bool harness_start(harness_daemon *d, const harness_opts *o, char *err, size_t errlen)
{
	memset(d, 0, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "%s/qd-http-XXXXXX", env_or("TMPDIR", "/tmp"));
	if (!mkdtemp(d->dir)) {
		snprintf(err, errlen, "mkdtemp %s: %s", d->dir, strerror(errno));
		d->dir[0] = '\0';
		return false;
	}
	snprintf(d->db, sizeof d->db, "%s/db", d->dir);
	snprintf(d->log, sizeof d->log, "%s/qingdand.log", d->dir);
	if (o && o->tokens) {
		snprintf(d->tokens, sizeof d->tokens, "%s/tokens", d->dir);
		if (!write_tokens(d->tokens, err, errlen)) {
			remove_tree(d->dir);
			return false;
		}
	}
	bool retry = true;
	for (int attempt = 0; attempt < 3 && retry; attempt++) {
		if (start_once(d, o, err, errlen, &retry)) {
			current = d;
			return true;
		}
	}
	harness_dump_log(d);
	remove_tree(d->dir);
	d->dir[0] = '\0';
	return false;
}

bool harness_stop(harness_daemon *d, char *err, size_t errlen)
{
	return harness_stop_signal(d, SIGTERM, err, errlen);
}

bool harness_stop_signal(harness_daemon *d, int sig, char *err, size_t errlen)
{
	bool ok = true;
	if (d->pid > 0) {
		int st = 0;
		if (kill(d->pid, sig) != 0) {
			snprintf(err, errlen, "kill(%d, %s): %s", (int)d->pid, strsignal(sig), strerror(errno));
			ok = false;
		} else if (!wait_child(d->pid, &st, HARNESS_STOP_TIMEOUT_MS)) {
			snprintf(err, errlen, "qingdand did not exit within %d ms of %s",
				 HARNESS_STOP_TIMEOUT_MS, strsignal(sig));
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &st, 0);
			ok = false;
		} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			char how[96];
			describe_status(st, how, sizeof how);
			snprintf(err, errlen, "qingdand %s after %s (expected exit status 0)", how, strsignal(sig));
			ok = false;
		}
		d->pid = 0;
	} else {
		snprintf(err, errlen, "qingdand is not running");
		ok = false;
	}
	if (!ok)
		harness_dump_log(d);
	remove_tree(d->dir);
	d->dir[0] = '\0';
	if (current == d)
		current = NULL;
	return ok;
}

/* ---- HTTP ---- */

typedef struct upload {
	const char *p;
	size_t left;
} upload;

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
	upload *u = ud;
	size_t n = size * nmemb;
	/* Small pieces, so that a chunked body really arrives in many chunks. */
	if (n > 16384)
		n = 16384;
	if (n > u->left)
		n = u->left;
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

static size_t body_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	http_response *r = ud;
	size_t n = size * nmemb;
	if (r->body_len + n + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 16384;
		while (r->body_len + n + 1 > cap)
			cap *= 2;
		r->body = xrealloc(r->body, cap);
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return n;
}

static void clear_headers(http_response *r)
{
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->n_headers = 0;
}

static size_t header_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	http_response *r = ud;
	size_t n = size * nmemb, len = n;
	while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
		len--;
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new status line: keep only the final response's headers. */
		clear_headers(r);
		return n;
	}
	const char *colon = memchr(p, ':', len);
	if (!colon)
		return n;
	const char *v = colon + 1;
	while (v < p + len && (*v == ' ' || *v == '\t'))
		v++;
	r->headers = xrealloc(r->headers, (r->n_headers + 1) * sizeof *r->headers);
	r->headers[r->n_headers].name = xstrndup(p, (size_t)(colon - p));
	r->headers[r->n_headers].value = xstrndup(v, (size_t)(p + len - v));
	r->n_headers++;
	return n;
}

static bool has_header(const char *const *headers, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; headers && headers[i]; i++)
		if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
			return true;
	return false;
}

static bool wants_chunked(const char *const *headers)
{
	for (size_t i = 0; headers && headers[i]; i++)
		if (strncasecmp(headers[i], "Transfer-Encoding:", 18) == 0 && strcasestr(headers[i], "chunked"))
			return true;
	return false;
}

/* With QD_RECORD_RESPONSES set to a file, every answer is appended to it
 * as one JSON line {method, path, status, content_type, body} (body only
 * when it is valid UTF-8 text; "binary": true otherwise), so the contract
 * suite (tests/contract/run.sh) can validate what the HTTP suites really
 * got against the OpenAPI document.  One write() per line with O_APPEND:
 * the forked test processes of a suite do not interleave their lines. */
static void record_response(const char *method, const char *path, const http_response *r)
{
	const char *file = getenv("QD_RECORD_RESPONSES");
	if (!file || !*file || r->status == 0)
		return;
	const char *ct = http_header(r, "Content-Type");
	json_t *o = json_pack("{s:s, s:s, s:i, s:s?}", "method", method, "path", path, "status",
			      (json_int_t)r->status, "content_type", ct);
	if (!o)
		return;
	json_t *b = strcmp(method, "HEAD") == 0 ? NULL : json_stringn(r->body, r->body_len);
	json_object_set_new(o, b ? "body" : "binary", b ? b : json_true());
	char *line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!line)
		return;
	size_t n = strlen(line);
	line[n] = '\n'; /* the NUL goes: the length is known */
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		ssize_t w = write(fd, line, n + 1);
		(void)w;
		close(fd);
	}
	free(line);
}

http_response *http_request(const char *method, const char *path, const char *const *headers,
			    const void *body, size_t len)
{
	http_response *r = xmalloc(sizeof *r);
	memset(r, 0, sizeof *r);
	r->body = xmalloc(1);
	r->body[0] = '\0';
	if (!current) {
		snprintf(r->curl_error, sizeof r->curl_error, "no daemon is running");
		return r;
	}
	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(r->curl_error, sizeof r->curl_error, "curl_easy_init failed");
		return r;
	}
	size_t ulen = strlen(current->base_url) + strlen(path) + 1;
	char *url = xmalloc(ulen);
	snprintf(url, ulen, "%s%s", current->base_url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curl_error);

	struct curl_slist *hl = NULL;
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	/* No "Expect: 100-continue" round trip unless the test asks for it. */
	if (!has_header(headers, "Expect"))
		hl = curl_slist_append(hl, "Expect:");
	upload up = {body, len};
	if (body) {
		if (!has_header(headers, "Content-Type"))
			hl = curl_slist_append(hl, "Content-Type: application/json");
		if (wants_chunked(headers)) {
			curl_easy_setopt(h, CURLOPT_POST, 1L);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
			curl_easy_setopt(h, CURLOPT_READDATA, &up);
		} else {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		}
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);

	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	} else {
		if (!r->curl_error[0])
			snprintf(r->curl_error, sizeof r->curl_error, "%s", curl_easy_strerror(rc));
		r->status = 0;
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(hl);
	free(url);
	if (r->body_len)
		r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
	record_response(method, path, r);
	return r;
}

http_response *http_get(const char *fmt, ...)
{
	char path[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof path, fmt, ap);
	va_end(ap);
	return http_request("GET", path, NULL, NULL, 0);
}

http_response *http_request_auth(const char *method, const char *path, const char *token,
				 const char *extra_header, const void *body, size_t len)
{
	char auth[600];
	const char *hs[3];
	size_t n = 0;
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		hs[n++] = auth;
	}
	if (extra_header)
		hs[n++] = extra_header;
	hs[n] = NULL;
	return http_request(method, path, hs, body, len);
}

const char *http_header(const http_response *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

void http_response_free(http_response *r)
{
	if (!r)
		return;
	clear_headers(r);
	free(r->body);
	json_decref(r->json);
	free(r);
}

/* ---- files and JSON ---- */

char *harness_read_source(const char *relpath, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", env_or("QD_SOURCE_ROOT", "."), relpath);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = xrealloc(buf, cap + 1);
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

json_t *harness_load_json(const char *relpath)
{
	size_t n;
	char *s = harness_read_source(relpath, &n);
	if (!s)
		return NULL;
	json_t *j = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL);
	free(s);
	return j;
}

json_t *jptr(json_t *root, const char *pointer)
{
	json_t *v = root;
	const char *p = pointer;
	while (v && *p) {
		if (*p != '/')
			return NULL;
		p++;
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		/* Unescape ~1 and ~0 (RFC 6901). */
		char *tok = xmalloc(n + 1);
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
				tok[k++] = p[i + 1] == '0' ? '~' : '/';
				i++;
			} else {
				tok[k++] = p[i];
			}
		}
		tok[k] = '\0';
		if (json_is_object(v)) {
			v = json_object_get(v, tok);
		} else if (json_is_array(v)) {
			char *e;
			unsigned long idx = strtoul(tok, &e, 10);
			v = (k && !*e) ? json_array_get(v, idx) : NULL;
		} else {
			v = NULL;
		}
		free(tok);
		p += n;
	}
	return v;
}

const char *jptr_str(json_t *root, const char *pointer)
{
	return json_string_value(jptr(root, pointer));
}

char *json_compact(const json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s) {
		fprintf(stderr, "harness: json_dumps failed\n");
		abort();
	}
	if (len)
		*len = strlen(s);
	return s;
}

/* ---- qingdanctl ---- */

int harness_run_ctl(const char *const *args, char **out)
{
	char path[512];
	snprintf(path, sizeof path, "%s/src/ctl/qingdanctl", env_or("QD_BUILD_ROOT", "build"));
	const char *argv[64];
	size_t n = 0;
	argv[n++] = path;
	for (size_t i = 0; args && args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int pfd[2];
	if (pipe(pfd) != 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	char chunk[65536];
	ssize_t k;
	while ((k = read(pfd[0], chunk, sizeof chunk)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* Doubling: an export of several MB read 4 KiB at a time would
		 * otherwise be copied over and over (slow under ASan). */
		if (len + (size_t)k + 1 > cap) {
			cap = cap ? cap : 65536;
			while (len + (size_t)k + 1 > cap)
				cap *= 2;
			buf = xrealloc(buf, cap);
		}
		memcpy(buf + len, chunk, (size_t)k);
		len += (size_t)k;
	}
	close(pfd[0]);
	if (!buf)
		buf = xstrndup("", 0);
	buf[len] = '\0';
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			free(buf);
			return -1;
		}
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

char *harness_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0, k;
	char *buf = xmalloc(cap + 1);
	while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

int harness_run_daemon(const char *const *args, long timeout_ms, char **out, char **err)
{
	const char *t = getenv("TMPDIR");
	char dir[256], po[300], pe[300], exe[512];
	snprintf(dir, sizeof dir, "%s/qd-run-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	snprintf(po, sizeof po, "%s/out", dir);
	snprintf(pe, sizeof pe, "%s/err", dir);
	snprintf(exe, sizeof exe, "%s/src/daemon/qingdand", env_or("QD_BUILD_ROOT", "build"));
	const char *argv[32];
	size_t n = 0;
	argv[n++] = exe;
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		remove_tree(dir);
		return -1;
	}
	if (pid == 0) {
		/* Never outlive the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600), fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int in = open("/dev/null", O_RDONLY);
		dup2(in, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	int st = 0, status = -1;
	long deadline = now_ms() + timeout_ms;
	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			break;
		}
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		sleep_ms(10);
	}
	if (out)
		*out = harness_read_file(po);
	if (err)
		*err = harness_read_file(pe);
	remove_tree(dir);
	return status;
}
