/* qingdan tests — fixtures shared by the store-backed unit tests:
 * a temporary root directory per test program, fresh store directories
 * under it, and JSON written with single quotes. */
#ifndef QD_TEST_FIXTURE_H
#define QD_TEST_FIXTURE_H

/* Create the program's temporary root, /tmp/qd-test-NAME-XXXXXX; aborts on
 * failure.  Call from an unchecked fixture (it runs in the runner process). */
void fx_root_setup(const char *name);
/* Remove the root and everything in it. */
void fx_root_teardown(void);
/* A fresh, empty directory under the root; free() the result. */
char *fx_fresh_dir(void);
/* Remove path and, for a directory, everything below it. */
void fx_rm_rf(const char *path);
/* Copy of s with single quotes turned into double quotes (fixtures contain
 * no apostrophes); free() the result. */
char *fx_dq(const char *s);

#endif
