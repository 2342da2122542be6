/* qingdan — corpus replay: feed every file of the given corpus directories
 * (or single files) to a fuzz target's LLVMFuzzerTestOneInput, once each,
 * in name order.  Built by meson with the normal compiler, so the corpora
 * in tests/fuzz/<target>.in/ — seeds and every crash ever found — run in
 * every test run without clang.  Prints a Check-style summary line.
 *
 * Usage: replay_<target> DIR|FILE…   (exit 0 when every input ran; a
 * broken invariant or a sanitizer finding aborts, naming the file). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* Targets that need no set-up do not define it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
/* Present when a sanitizer runtime is linked in. */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static char current[4096];

static void say_current(void)
{
	static const char pre[] = "replay: while running ";
	if (!current[0])
		return;
	ssize_t w = write(2, pre, sizeof pre - 1);
	w = write(2, current, strlen(current));
	w = write(2, "\n", 1);
	(void)w;
}

static void on_fatal(int sig)
{
	say_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int replay_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (!buf)
			abort();
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
	fclose(f);
	/* An exact-size copy, so that reading past the input is caught by
	 * the sanitizers as it would be under libFuzzer. */
	uint8_t *exact = malloc(n ? n : 1);
	if (!exact)
		abort();
	memcpy(exact, buf, n);
	free(buf);
	snprintf(current, sizeof current, "%s", path);
	LLVMFuzzerTestOneInput(exact, n);
	current[0] = '\0';
	free(exact);
	(*count)++;
	return 0;
}

static int skip_dot(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR|FILE…\n", argv[0]);
		return 2;
	}
	signal(SIGSEGV, on_fatal);
	signal(SIGABRT, on_fatal);
	signal(SIGBUS, on_fatal);
	signal(SIGFPE, on_fatal);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(say_current);
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	const char *name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	printf("Running suite(s): fuzz-replay %s\n", name);
	fflush(stdout);
	size_t count = 0;
	int failures = 0;
	for (int i = 1; i < argc; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			failures++;
			continue;
		}
		if (!S_ISDIR(sb.st_mode)) {
			failures += replay_file(argv[i], &count) != 0;
			continue;
		}
		struct dirent **ents;
		int n = scandir(argv[i], &ents, skip_dot, alphasort);
		if (n < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			failures++;
			continue;
		}
		for (int k = 0; k < n; k++) {
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", argv[i], ents[k]->d_name);
			if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
				failures += replay_file(path, &count) != 0;
			free(ents[k]);
		}
		free(ents);
	}
	if (count == 0) {
		fprintf(stderr, "replay: no input files: an empty corpus replays nothing\n");
		failures++;
	}
	/* Every replayed file is one check; it either ran or aborted. */
	size_t checks = count + (size_t)failures;
	printf("%d%%: Checks: %zu, Failures: 0, Errors: %d\n",
	       checks ? (int)(100 * count / checks) : 0, checks, failures);
	return failures ? 1 : 0;
}
