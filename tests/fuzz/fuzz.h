/* qingdan — shared bits of the libFuzzer targets in tests/fuzz/.
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput (and, when it needs
 * set-up, LLVMFuzzerInitialize).  The same file is linked either with
 * libFuzzer (clang -fsanitize=fuzzer, tests/fuzz/run-fuzzers.sh) or with
 * replay.c, a plain main() that feeds every file of a corpus directory to
 * it (the fuzz-replay test suite, built by gcc in every build).
 *
 * A target aborts (FUZZ_CHECK) when an invariant breaks, so a wrong
 * answer is a finding just like a crash. */
#ifndef QD_FUZZ_H
#define QD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", #cond, __FILE__, \
				__LINE__);                                                 \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* The source tree (for the sample documents): $QD_SOURCE_ROOT, else the
 * path meson compiled in. */
static inline const char *fuzz_source_root(void)
{
	const char *s = getenv("QD_SOURCE_ROOT");
#ifdef QD_FUZZ_SOURCE_ROOT
	if (!s || !*s)
		s = QD_FUZZ_SOURCE_ROOT;
#endif
	return s && *s ? s : ".";
}

/* Read $source_root/relpath whole (malloc()ed, NUL-terminated); aborts on
 * error: a target without its fixed inputs cannot run. */
static inline char *fuzz_read_source(const char *relpath, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", fuzz_source_root(), relpath);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz: cannot read %s\n", path);
		abort();
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (!buf)
			abort();
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

#endif
