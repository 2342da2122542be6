/* qingdan — helpers for the robustness tests (see robust.h). */
#include "robust.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
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

#include "qingdan/listdoc.h"

long robust_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void robust_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

typedef struct gbuf {
	char *p;
	size_t n, cap;
} gbuf;

static void gputs(gbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void gputs(gbuf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
		va_end(ap);
		if (k < 0)
			abort();
		if (b->p && b->n + (size_t)k < b->cap) {
			b->n += (size_t)k;
			return;
		}
		b->cap = (b->cap + (size_t)k + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
}

char *robust_doc(const char *list, unsigned n, unsigned variant, size_t *len, unsigned *entries)
{
	gbuf b = {0};
	bool a = variant % 2 == 0;
	gputs(&b, "{\"list\":\"%s\",\"kind\":\"positive\",\"title\":{\"zh\":\"鲁棒性测试清单\",\"en\":\"robustness "
		  "test list, variant %u\"},\"issuer\":\"test\",\"published\":\"2024-01-01\",\"source\":null,"
		  "\"clauses\":[{\"id\":\"C1\",\"document\":\"test\",\"article\":\"1\",\"title\":\"t\","
		  "\"text\":\"generated\",\"url\":null}],\"entries\":[",
	      list, variant);
	for (unsigned i = 0; i < n; i++)
		/* Chapters 01..96: never 97, the markers' chapter. */
		gputs(&b, "%s{\"id\":\"E%06u\",\"code\":\"%02u%08u\",\"name\":{\"zh\":\"物品%u 第%u版\","
			  "\"en\":\"item %u v%u\"},\"clauses\":[\"C1\"],\"valid_from\":\"2020-01-01\"}",
		      i ? "," : "", i, 1 + i % 96, i, i, variant, i, variant);
	gputs(&b, "%s{\"id\":\"M1\",\"code\":\"9701\",\"name\":{\"zh\":\"标记一\"},\"clauses\":[\"C1\"],"
		  "\"status\":\"%s\"}",
	      n ? "," : "", a ? "active" : "suspended");
	if (!a)
		gputs(&b, ",{\"id\":\"M2\",\"code\":\"9702\",\"name\":{\"zh\":\"标记二\"},\"clauses\":[\"C1\"]}");
	gputs(&b, "]}\n");
	if (len)
		*len = b.n;
	if (entries)
		*entries = n + (a ? 1 : 2);
	return b.p;
}

bool robust_doc_sha(const char *doc, size_t len, const char *list, char out[QD_SHA256_HEX])
{
	qd_problems pr;
	qd_problems_init(&pr);
	qd_listdoc *d = NULL;
	bool ok = false;
	if (qd_listdoc_parse(doc, len, list, &d, &pr) == 0) {
		size_t n;
		char *canon = qd_listdoc_dump(d, &n);
		if (canon) {
			qd_sha256_hex(canon, n, out);
			ok = true;
		}
		free(canon);
	}
	qd_listdoc_free(d);
	qd_problems_free(&pr);
	return ok;
}

bool robust_write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

int robust_connect_from(const char *src, unsigned port, bool nonblock)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	if (src) {
		struct sockaddr_in from = {.sin_family = AF_INET};
		if (inet_pton(AF_INET, src, &from.sin_addr) != 1 || bind(fd, (struct sockaddr *)&from, sizeof from) != 0) {
			close(fd);
			return -1;
		}
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && !(nonblock && errno == EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

long robust_proc_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = strlen(field);
	long v = -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

unsigned robust_raw(unsigned port, const void *req, size_t len, int timeout_ms, char **resp,
		    const char **body)
{
	return robust_raw_from(NULL, port, req, len, timeout_ms, resp, body);
}

unsigned robust_raw_from(const char *src, unsigned port, const void *req, size_t len, int timeout_ms,
			 char **resp, const char **body)
{
	if (resp)
		*resp = NULL;
	if (body)
		*body = NULL;
	int fd = robust_connect_from(src, port, false);
	if (fd < 0)
		return 0;
	long deadline = robust_now_ms() + timeout_ms;
	const char *p = req;
	size_t off = 0;
	while (off < len) {
		ssize_t w = send(fd, p + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* The daemon may have answered already (413, 431) and stopped reading. */
			struct pollfd pfd = {.fd = fd, .events = POLLOUT | POLLIN};
			if (poll(&pfd, 1, 200) > 0 && !(pfd.revents & POLLIN))
				continue;
			if (pfd.revents & POLLIN)
				break;
			if (robust_now_ms() > deadline)
				break;
			continue;
		}
		break; /* reset or closed: read what was answered */
	}
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		long left = deadline - robust_now_ms();
		if (left <= 0)
			break;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 131072;
			buf = realloc(buf, cap + 1);
			if (!buf)
				abort();
		}
		ssize_t r = recv(fd, buf + n, cap - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		/* A complete response with Content-Length ends the exchange. */
		char *sep = strstr(buf, "\r\n\r\n");
		if (sep) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			if (cl && cl < sep) {
				size_t want = strtoul(cl + 17, NULL, 10);
				if (n - (size_t)(sep + 4 - buf) >= want)
					break;
			}
		}
	}
	close(fd);
	unsigned status = 0;
	if (buf) {
		buf[n] = '\0';
		if (sscanf(buf, "HTTP/1.%*1[01] %u", &status) != 1)
			status = 0;
		char *sep = strstr(buf, "\r\n\r\n");
		if (body)
			*body = sep ? sep + 4 : buf + n;
	}
	if (resp)
		*resp = buf;
	else
		free(buf);
	return status;
}

static long healthz(const harness_daemon *d)
{
	harness_daemon *was = harness_current();
	harness_use((harness_daemon *)d);
	http_response *r = http_request("GET", "/healthz", NULL, NULL, 0);
	long st = r->status;
	http_response_free(r);
	harness_use(was);
	return st;
}

bool robust_start_on(harness_daemon *d, const char *dbdir, const char *const *extra, char *err,
		     size_t errlen)
{
	char keep_dir[256];
	snprintf(keep_dir, sizeof keep_dir, "%s", d->dir);
	memset(d, 0, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "%s", keep_dir);
	snprintf(d->db, sizeof d->db, "%s", dbdir);
	snprintf(d->tokens, sizeof d->tokens, "%s.tokens", dbdir);
	snprintf(d->log, sizeof d->log, "%s.log", dbdir);
	FILE *f = fopen(d->tokens, "w");
	if (!f) {
		snprintf(err, errlen, "cannot write %s", d->tokens);
		return false;
	}
	char hex[QD_SHA256_HEX];
	qd_sha256_hex(HARNESS_ADMIN_TOKEN, strlen(HARNESS_ADMIN_TOKEN), hex);
	fprintf(f, "%s admin %s\n", HARNESS_ADMIN_NAME, hex);
	qd_sha256_hex(HARNESS_ADMIN2_TOKEN, strlen(HARNESS_ADMIN2_TOKEN), hex);
	fprintf(f, "%s admin %s\n", HARNESS_ADMIN2_NAME, hex);
	fclose(f);
	for (int attempt = 0; attempt < 3; attempt++) {
		d->port = harness_free_port();
		snprintf(d->base_url, sizeof d->base_url, "http://127.0.0.1:%u", d->port);
		char listen[40], path[512];
		snprintf(listen, sizeof listen, "127.0.0.1:%u", d->port);
		snprintf(path, sizeof path, "%s/src/daemon/qingdand", env_or("QD_BUILD_ROOT", "build"));
		const char *argv[48] = {path, "--db", dbdir, "--listen", listen, "--tokens", d->tokens,
					"--threads", "2", "--access-log", "off"};
		size_t n = 11;
		for (size_t i = 0; extra && extra[i] && n < 47; i++)
			argv[n++] = extra[i];
		argv[n] = NULL;
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			snprintf(err, errlen, "fork: %s", strerror(errno));
			return false;
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			int out = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
			int in = open("/dev/null", O_RDONLY);
			if (out < 0 || in < 0)
				_exit(127);
			dup2(in, 0);
			dup2(out, 1);
			dup2(out, 2);
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			execv(argv[0], (char *const *)argv);
			_exit(127);
		}
		d->pid = pid;
		long deadline = robust_now_ms() + HARNESS_START_TIMEOUT_MS;
		for (;;) {
			int st;
			if (waitpid(pid, &st, WNOHANG) == pid) {
				d->pid = 0;
				snprintf(err, errlen, "qingdand exited (status %#x) before answering /healthz; log %s", st,
					 d->log);
				break;
			}
			if (healthz(d) == 200) {
				harness_use(d);
				return true;
			}
			if (robust_now_ms() > deadline) {
				robust_kill9(pid);
				d->pid = 0;
				snprintf(err, errlen, "qingdand did not answer /healthz in time; log %s", d->log);
				return false;
			}
			robust_sleep_ms(20);
		}
	}
	return false;
}

void robust_kill9(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

pid_t robust_spawn_ctl(const char *const *args)
{
	char path[512];
	snprintf(path, sizeof path, "%s/src/ctl/qingdanctl", env_or("QD_BUILD_ROOT", "build"));
	const char *argv[32];
	size_t n = 0;
	argv[n++] = path;
	for (size_t i = 0; args && args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void robust_rmtree(const char *dir)
{
	if (dir && dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *robust_entry_doc(const char *id, unsigned nclauses, unsigned nwaives, unsigned nconds, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	ck_assert_ptr_nonnull(f);
	fprintf(f, "{\"list\":\"%s\",\"kind\":\"positive\",\"title\":{\"zh\":\"单条目\"},\"clauses\":[", id);
	for (unsigned i = 0; i < nclauses; i++)
		fprintf(f, "%s{\"id\":\"c%u\",\"document\":\"d\",\"article\":\"a\",\"text\":\"t\"}",
			i ? "," : "", i);
	fputs("],\"entries\":[{\"id\":\"E\",\"code\":\"3822\",\"name\":{\"zh\":\"物品\"},\"clauses\":[", f);
	for (unsigned i = 0; i < nclauses; i++)
		fprintf(f, "%s\"c%u\"", i ? "," : "", i);
	fputs("],\"waives\":[", f);
	for (unsigned i = 0; i < nwaives; i++)
		fprintf(f, "%s\"W%u\"", i ? "," : "", i);
	fputs("],\"conditions\":[", f);
	char text[2001];
	memset(text, 'x', 2000);
	text[2000] = '\0';
	for (unsigned i = 0; i < nconds; i++) {
		int n = snprintf(text, 32, "remark %u ", i);
		text[n] = 'x';
		fprintf(f, "%s{\"type\":\"remark\",\"text\":\"%s\"}", i ? "," : "", text);
	}
	fputs("]}]}", f);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

/* Mount a tmpfs of size bytes on dir, in a mount namespace of this
 * process alone (Check runs each test in a child of its own).  Returns
 * false with the reason in why when that is impossible here. */
bool robust_private_tmpfs(const char *dir, const char *size, char *why, size_t len)
{
	if (unshare(CLONE_NEWNS) != 0) {
		snprintf(why, len, "unshare(CLONE_NEWNS): %s", strerror(errno));
		return false;
	}
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		snprintf(why, len, "making / private: %s", strerror(errno));
		return false;
	}
	char opts[64];
	snprintf(opts, sizeof opts, "size=%s,mode=0700", size);
	if (mount("qd-test", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
		snprintf(why, len, "mount -t tmpfs: %s", strerror(errno));
		return false;
	}
	return true;
}
