/* qingdan tests — fixtures shared by the store-backed unit tests. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "fixture.h"

static char tmp_root[64];

void fx_rm_rf(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)) != NULL) {
				if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
					continue;
				char child[512];
				snprintf(child, sizeof child, "%s/%s", path, e->d_name);
				fx_rm_rf(child);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

void fx_root_setup(const char *name)
{
	snprintf(tmp_root, sizeof tmp_root, "/tmp/qd-test-%.20s-XXXXXX", name);
	if (!mkdtemp(tmp_root)) {
		perror("mkdtemp");
		abort();
	}
}

void fx_root_teardown(void)
{
	fx_rm_rf(tmp_root);
}

char *fx_fresh_dir(void)
{
	char *dir = malloc(strlen(tmp_root) + 16);
	ck_assert_ptr_nonnull(dir);
	sprintf(dir, "%s/st-XXXXXX", tmp_root);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp failed");
	return dir;
}

char *fx_dq(const char *s)
{
	char *r = strdup(s);
	ck_assert_ptr_nonnull(r);
	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}
