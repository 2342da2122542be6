/* qingdan — helpers shared by the robustness tests (tests/robust/): large
 * generated list documents, raw HTTP over a socket, and running the
 * daemon or qingdanctl as children that the tests may SIGKILL.
 *
 * Builds on tests/http/harness.[ch] (daemon start/stop, libcurl client). */
#ifndef QD_ROBUST_H
#define QD_ROBUST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../http/harness.h"
#include "qingdan/sha256.h"

/* Marker entries that make a document's variant visible in decisions:
 *   code 9701000000: variant A (even) allows it ("listed"), variant B (odd)
 *                    has the entry suspended ("suspended");
 *   code 9702000000: not listed in A ("not_listed"), allowed in B.
 * Filler entries never use chapter 97. */
#define ROBUST_CODE_FLIP "9701000000"
#define ROBUST_CODE_NEW "9702000000"

/* A valid positive list document for list id `list` with n filler entries
 * plus the markers; `variant` changes every entry name (so each variant
 * has its own sha256) and picks A (even) or B (odd).  malloc()ed,
 * NUL-terminated; *entries receives the number of entries. */
char *robust_doc(const char *list, unsigned n, unsigned variant, size_t *len, unsigned *entries);

/* The sha256 (hex) of the canonical form of a document, as the store
 * records it.  Returns false when the document does not load. */
bool robust_doc_sha(const char *doc, size_t len, const char *list, char out[QD_SHA256_HEX]);

/* Write len bytes to path; false on error. */
bool robust_write_file(const char *path, const void *p, size_t len);

/* A raw HTTP exchange on a new loopback connection: send all bytes (as
 * far as the daemon reads them), then read until the daemon closes, a
 * complete response with Content-Length has arrived, or timeout_ms passes.
 * Returns the status (0 when the connection closed without a response).
 * *resp receives everything read (malloc()ed, NUL-terminated, may be NULL);
 * *body points into it, at the body. */
unsigned robust_raw(unsigned port, const void *req, size_t len, int timeout_ms, char **resp,
		    const char **body);

/* The same from source address src ("127.0.0.5"; NULL: the kernel's
 * choice), for tests of per-address limits: 127.0.0.0/8 is all loopback. */
unsigned robust_raw_from(const char *src, unsigned port, const void *req, size_t len, int timeout_ms,
			 char **resp, const char **body);

/* A TCP connection to 127.0.0.1:port from source address src (NULL: the
 * kernel's choice).  nonblock: connect without waiting (the handshake may
 * still be under way).  Returns the socket, or -1. */
int robust_connect_from(const char *src, unsigned port, bool nonblock);

/* A field of /proc/PID/status in KiB (VmHWM, VmRSS …); -1 when absent. */
long robust_proc_kib(pid_t pid, const char *field);

/* Start qingdand as a child on an existing store directory (unlike
 * harness_start, which makes a fresh one), with an admin tokens file
 * written next to it and the given extra arguments (NULL-terminated, may be
 * NULL); waits for /healthz.  Fills d (port, base_url, pid, log) and makes
 * it current for http_request().  Returns false with a message in err. */
bool robust_start_on(harness_daemon *d, const char *dbdir, const char *const *extra, char *err,
		     size_t errlen);

/* SIGKILL the child (if running) and reap it. */
void robust_kill9(pid_t pid);

/* Spawn $QD_BUILD_ROOT/src/ctl/qingdanctl with args (NULL-terminated, not
 * argv[0]), output to /dev/null.  Returns the pid, or -1. */
pid_t robust_spawn_ctl(const char *const *args);

/* Remove a directory tree. */
void robust_rmtree(const char *dir);

/* Monotonic milliseconds. */
long robust_now_ms(void);

/* Sleep for ms milliseconds. */
void robust_sleep_ms(long ms);

/* A list document for list id: `nclauses` clauses c0 …, one entry (code
 * 3822) citing all of them and waiving W0 … W<nwaives-1>, with `nconds`
 * remarks of 2 000 bytes.  malloc()ed, *len set. */
char *robust_entry_doc(const char *id, unsigned nclauses, unsigned nwaives, unsigned nconds, size_t *len);

/* Mount a tmpfs of size bytes (e.g. "8M") on dir, in a mount namespace of
 * this process alone (Check runs each test in a child of its own).
 * Returns false with the reason in why when that is impossible here. */
bool robust_private_tmpfs(const char *dir, const char *size, char *why, size_t len);

#endif
