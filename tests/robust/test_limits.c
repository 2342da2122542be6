/* qingdan — connection deadlines and the budget of bodies in flight:
 *   - slowloris: four addresses hold as many connections as they are
 *     allowed, each sending a header line a second and reconnecting when
 *     closed; a fifth address still gets its answer at once, and no slow
 *     connection outlives --header-timeout by more than a sweep or two;
 *   - a body dripping a byte a second is cut off after --body-timeout,
 *     while a body sent at an honest rate alongside is answered;
 *   - connections that stop inside their bodies use up
 *     --max-bodies-in-flight: the next body is answered 503 with
 *     Retry-After, the daemon's peak memory stays near the budget, and
 *     once they are gone the budget is whole again;
 *   - --max-connections-per-ip holds for an address over all the
 *     listening sockets of --threads 4 (one per thread) together.
 * Source addresses 127.0.0.2 … 127.0.0.8 are all loopback. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "robust.h"

/* ---- slowloris ---- */

#define SL_ADDRS 4
#define SL_PER_IP 16
#define SL_MAX (SL_ADDRS * SL_PER_IP)
#define SL_HEADER_S 2

typedef struct slow_conn {
	int fd;            /* -1: to reopen */
	long opened_ms;
	long last_ms;      /* last header line sent */
} slow_conn;

typedef struct slowloris {
	unsigned port;
	atomic_bool stop;
	slow_conn c[SL_MAX];
	long longest_ms;   /* longest life of a connection the daemon closed */
	unsigned closed;   /* connections the daemon closed */
	long life_ms[1024]; /* the lives of the first of them */
} slowloris;

static void sl_open(slowloris *s, unsigned i)
{
	char src[24];
	snprintf(src, sizeof src, "127.0.0.%u", 2 + i / SL_PER_IP);
	slow_conn *c = &s->c[i];
	c->fd = robust_connect_from(src, s->port, false);
	c->opened_ms = c->last_ms = robust_now_ms();
	if (c->fd < 0)
		return;
	static const char line[] = "GET /v1/lists HTTP/1.1\r\nHost: t\r\n";
	if (send(c->fd, line, sizeof line - 1, MSG_NOSIGNAL) < 0) {
		close(c->fd);
		c->fd = -1;
	}
}

/* The attack: every connection sends one more header line a second and
 * never ends its head; a closed one is opened again at once. */
static void *sl_run(void *arg)
{
	slowloris *s = arg;
	for (unsigned i = 0; i < SL_MAX; i++)
		sl_open(s, i);
	while (!atomic_load(&s->stop)) {
		struct pollfd p[SL_MAX];
		for (unsigned i = 0; i < SL_MAX; i++)
			p[i] = (struct pollfd){.fd = s->c[i].fd, .events = POLLIN};
		poll(p, SL_MAX, 50);
		long now = robust_now_ms();
		for (unsigned i = 0; i < SL_MAX; i++) {
			slow_conn *c = &s->c[i];
			bool gone = c->fd < 0;
			if (!gone && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
				char buf[512];
				ssize_t r = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
				gone = r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
			}
			if (!gone && now - c->last_ms >= 1000) {
				c->last_ms = now;
				gone = send(c->fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) < 0;
			}
			if (gone) {
				if (c->fd >= 0) {
					close(c->fd);
					if (s->closed < sizeof s->life_ms / sizeof *s->life_ms)
						s->life_ms[s->closed] = now - c->opened_ms;
					s->closed++;
					if (now - c->opened_ms > s->longest_ms)
						s->longest_ms = now - c->opened_ms;
				}
				sl_open(s, i);
			}
		}
	}
	for (unsigned i = 0; i < SL_MAX; i++)
		if (s->c[i].fd >= 0)
			close(s->c[i].fd);
	return NULL;
}

static void start(harness_daemon *d, const char *const *extra)
{
	harness_opts o = {.extra_args = extra};
	char err[512];
	ck_assert_msg(harness_start(d, &o, err, sizeof err), "cannot start qingdand: %s", err);
}

static void stop(harness_daemon *d)
{
	char err[512];
	ck_assert_msg(harness_stop(d, err, sizeof err), "qingdand did not stop cleanly: %s", err);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

START_TEST(slowloris_fifth_address_answered)
{
	static const char *const extra[] = {"--max-connections", "64", "--max-connections-per-ip", "16",
					    "--header-timeout", "2", "--reserve-connections", "8",
					    "--access-log", "off", NULL};
	_Static_assert(SL_MAX == 64 && SL_PER_IP == 16 && SL_HEADER_S == 2, "the arguments match");
	harness_daemon d;
	start(&d, extra);
	static slowloris s;
	memset(&s, 0, sizeof s);
	s.port = d.port;
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, sl_run, &s), 0);
	/* Let the attack take every slot and live past one head deadline. */
	robust_sleep_ms(SL_HEADER_S * 1000 + 1000);

	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	long t0 = robust_now_ms();
	unsigned st = robust_raw_from("127.0.0.6", d.port, req, sizeof req - 1, 10000, NULL, NULL);
	long waited = robust_now_ms() - t0;
	/* And again, now that the attack has had time to fill what the first
	 * answer freed. */
	robust_sleep_ms(1500);
	long t1 = robust_now_ms();
	unsigned st2 = robust_raw_from("127.0.0.6", d.port, req, sizeof req - 1, 10000, NULL, NULL);
	long waited2 = robust_now_ms() - t1;

	atomic_store(&s.stop, true);
	pthread_join(t, NULL);
	fprintf(stderr, "slowloris: fifth address answered %u after %ld ms, then %u after %ld ms; "
			"%u slow connections closed, the longest after %ld ms\n",
		st, waited, st2, waited2, s.closed, s.longest_ms);
	ck_assert_msg(st == 200 && waited < 3000, "a fifth address got HTTP %u after %ld ms", st, waited);
	ck_assert_msg(st2 == 200 && waited2 < 3000, "a fifth address got HTTP %u after %ld ms", st2, waited2);
	ck_assert_msg(s.closed >= SL_MAX / 2, "only %u slow connections were closed", s.closed);
	/* A head's deadline runs from when the daemon accepts it.  A slow
	 * head lives the deadline, plus up to a sweep (500 ms), plus the
	 * attacker's own poll: the median life the attacker sees.  While the
	 * daemon is at its connection limit it leaves new connections in the
	 * listen queue, and the attacker, who reconnects at once, sees that
	 * wait too: at most until the oldest head there is swept, one more
	 * deadline and sweep, which bounds the longest life. */
	size_t nl = s.closed < sizeof s.life_ms / sizeof *s.life_ms ? s.closed
								  : sizeof s.life_ms / sizeof *s.life_ms;
	qsort(s.life_ms, nl, sizeof *s.life_ms, cmp_long);
	fprintf(stderr, "slowloris: median life %ld ms, longest %ld ms\n", s.life_ms[nl / 2], s.longest_ms);
	ck_assert_msg(s.life_ms[nl / 2] <= SL_HEADER_S * 1000 + 1500, "slow heads lived %ld ms (median)",
		      s.life_ms[nl / 2]);
	ck_assert_msg(s.longest_ms <= 2 * (SL_HEADER_S * 1000 + 500) + 1500, "a slow head lived %ld ms",
		      s.longest_ms);
	stop(&d);
}
END_TEST

/* ---- a dripping body ---- */

/* Send headers announcing len bytes of a check body; returns the socket. */
static int body_start(unsigned port, size_t len)
{
	int fd = robust_connect_from("127.0.0.3", port, false);
	ck_assert_int_ge(fd, 0);
	char h[256];
	int n = snprintf(h, sizeof h,
			 "POST /v1/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 len);
	ck_assert_int_eq(send(fd, h, (size_t)n, MSG_NOSIGNAL), n);
	return fd;
}

/* Whether the daemon has closed fd (reads and drops what it answered). */
static bool closed_by_daemon(int fd)
{
	char buf[4096];
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (r > 0)
			continue;
		return r == 0 || (errno != EAGAIN && errno != EINTR);
	}
}

/* Read from fd into buf (cap bytes, NUL-terminated) until the end of a
 * response head, the daemon closes, or timeout_ms pass. */
static void read_head(int fd, char *buf, size_t cap, long timeout_ms)
{
	size_t n = 0;
	long deadline = robust_now_ms() + timeout_ms;
	buf[0] = '\0';
	while (n < cap - 1 && robust_now_ms() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
}

START_TEST(dripping_body_cut_off)
{
	static const char *const extra[] = {"--body-timeout", "2", "--min-body-rate", "1K", "--access-log", "off",
					    NULL};
	harness_daemon d;
	start(&d, extra);
	/* An honest body alongside: 8 KiB at 4 KiB a second. */
	static const char item[] = "{\"items\":[{\"code\":\"3822\"}]}";
	size_t honest_len = 8192;
	char *honest = malloc(honest_len);
	memset(honest, ' ', honest_len);
	memcpy(honest, item, sizeof item - 1);
	int hfd = body_start(d.port, honest_len);
	int fd = body_start(d.port, 1000);

	long t0 = robust_now_ms(), cut = -1;
	size_t hsent = 0;
	for (int i = 0; i < 16 && cut < 0; i++) {
		if (hsent < honest_len) {
			size_t k = honest_len - hsent < 2048 ? honest_len - hsent : 2048;
			ck_assert_int_eq(send(hfd, honest + hsent, k, MSG_NOSIGNAL), (ssize_t)k);
			hsent += k;
		}
		if (i % 2 == 0 && (send(fd, " ", 1, MSG_NOSIGNAL) < 0 || closed_by_daemon(fd)))
			cut = robust_now_ms() - t0;
		robust_sleep_ms(500);
		if (cut < 0 && closed_by_daemon(fd))
			cut = robust_now_ms() - t0;
	}
	close(fd);
	fprintf(stderr, "dripping body: cut off after %ld ms\n", cut);
	ck_assert_msg(cut >= 0, "a body dripping a byte a second was still open after 8 s");
	ck_assert_msg(cut >= 1500, "the dripping body was cut off after %ld ms, before --body-timeout", cut);

	/* The honest one is answered. */
	char buf[8192];
	read_head(hfd, buf, sizeof buf, 5000);
	close(hfd);
	free(honest);
	ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "the honest body was answered: %.80s", buf);
	stop(&d);
}
END_TEST

/* ---- bodies in flight ---- */

#define BF_CONNS 96
#define BF_PART (700 * 1000)     /* bytes each sends, of a 1 MiB check body */
#define BF_BUDGET_MIB 4

static char *chunk_of(size_t n, size_t *len)
{
	char *s = malloc(n + 32);
	int h = snprintf(s, 32, "%zx\r\n", n);
	memset(s + h, ' ', n);
	memcpy(s + h + n, "\r\n", 2);
	*len = (size_t)h + n + 2;
	return s;
}

START_TEST(bodies_budget)
{
	static const char *const extra[] = {"--max-bodies-in-flight", "4M", "--max-body-bytes", "1M",
					    "--max-document-bytes", "1M", "--min-body-rate", "0",
					    "--access-log", "off", NULL};
	_Static_assert(BF_BUDGET_MIB == 4, "the arguments match");
	harness_daemon d;
	start(&d, extra);
	long base = robust_proc_kib(d.pid, "VmHWM");
	ck_assert_int_gt(base, 0);

	/* Chunked, so that nothing is refused from a Content-Length: the
	 * budget is spent by what arrives. */
	static const char head[] = "POST /v1/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	size_t clen;
	char *chunk = chunk_of(BF_PART, &clen);
	int fds[BF_CONNS];
	for (int i = 0; i < BF_CONNS; i++) {
		fds[i] = robust_connect_from("127.0.0.4", d.port, false);
		ck_assert_int_ge(fds[i], 0);
		ck_assert_int_eq(send(fds[i], head, sizeof head - 1, MSG_NOSIGNAL), (ssize_t)(sizeof head - 1));
		/* A refused connection is closed under the send: not an error here. */
		for (size_t off = 0; off < clen;) {
			ssize_t w = send(fds[i], chunk + off, clen - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	free(chunk);
	robust_sleep_ms(1500);
	long peak = robust_proc_kib(d.pid, "VmHWM");

	/* The next body, whole and small, finds the budget spent. */
	static const char item[] = "{\"items\":[{\"code\":\"3822\"}]}";
	char req[512];
	int n = snprintf(req, sizeof req,
			 "POST /v1/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 sizeof item - 1, item);
	char *resp = NULL;
	const char *body = NULL;
	unsigned st = robust_raw_from("127.0.0.5", d.port, req, (size_t)n, 5000, &resp, &body);
	fprintf(stderr, "bodies in flight: VmHWM %ld KiB before, %ld KiB with %d partial bodies; next body HTTP %u\n",
		base, peak, BF_CONNS, st);
	ck_assert_msg(st == 503, "the next body got HTTP %u: %s", st, resp ? resp : "");
	ck_assert_msg(strcasestr(resp, "\r\nRetry-After: "), "no Retry-After: %s", resp);
	json_error_t jerr;
	json_t *j = json_loads(body, 0, &jerr);
	ck_assert_msg(j, "not JSON: %s", body);
	ck_assert_str_eq(jptr_str(j, "/error/code"), "bodies_budget_exhausted");
	json_decref(j);
	free(resp);
	/* 96 bodies of 1 MiB each without the budget; the budget and the
	 * connections' own buffers with it. */
	ck_assert_msg(peak - base < 40 * 1024, "VmHWM grew by %ld KiB", peak - base);

	for (int i = 0; i < BF_CONNS; i++)
		close(fds[i]);
	/* Once they are gone, the budget is whole again. */
	st = 0;
	for (long t0 = robust_now_ms(); robust_now_ms() - t0 < 5000 && st != 200;) {
		robust_sleep_ms(100);
		st = robust_raw_from("127.0.0.5", d.port, req, (size_t)n, 5000, NULL, NULL);
	}
	ck_assert_msg(st == 200, "after the partial bodies left, a check got HTTP %u", st);
	stop(&d);
}
END_TEST

/* ---- the per-address limit over every listening socket ---- */

/* Send GET /healthz on fd (keep-alive) and read the answer's head.
 * Returns the status, 0 when the daemon closed the connection first. */
static unsigned healthz_on(int fd)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
	if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1))
		return 0;
	char buf[2048];
	read_head(fd, buf, sizeof buf, 10000);
	unsigned st = 0;
	return sscanf(buf, "HTTP/1.1 %u", &st) == 1 ? st : 0;
}

#define PI_LIMIT 3
#define PI_EXTRA 8

START_TEST(per_ip_limit_over_listeners)
{
	static const char *const extra[] = {"--threads", "4", "--listen-per-thread", "yes",
					    "--max-connections-per-ip", "3", "--access-log", "off", NULL};
	_Static_assert(PI_LIMIT == 3, "the argument matches");
	harness_daemon d;
	start(&d, extra);
	/* The address's allowance, held open and answered. */
	int held[PI_LIMIT];
	for (unsigned i = 0; i < PI_LIMIT; i++) {
		held[i] = robust_connect_from("127.0.0.7", d.port, false);
		ck_assert_int_ge(held[i], 0);
		ck_assert_uint_eq(healthz_on(held[i]), 200);
	}
	/* Each connection more is closed unanswered, whichever of the four
	 * sockets the kernel gives it to. */
	for (unsigned i = 0; i < PI_EXTRA; i++) {
		int fd = robust_connect_from("127.0.0.7", d.port, false);
		ck_assert_int_ge(fd, 0);
		unsigned st = healthz_on(fd);
		close(fd);
		ck_assert_msg(st == 0, "connection %u past the limit of %u for one address got HTTP %u", i + 1,
			      PI_LIMIT, st);
	}
	/* Another address is not held to the first one's count, and the
	 * connections within the limit still serve. */
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	ck_assert_uint_eq(robust_raw_from("127.0.0.8", d.port, req, sizeof req - 1, 10000, NULL, NULL), 200);
	for (unsigned i = 0; i < PI_LIMIT; i++) {
		ck_assert_uint_eq(healthz_on(held[i]), 200);
		close(held[i]);
	}
	stop(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("robust-limits");
	TCase *tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, slowloris_fifth_address_answered);
	tcase_add_test(tc, dripping_body_cut_off);
	tcase_add_test(tc, bodies_budget);
	tcase_add_test(tc, per_ip_limit_over_listeners);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
