/* qingdand — the tokens file: "NAME ROLE SHA256HEX" per line. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qingdand.h"

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > QD_ACTOR_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._@-", s[i]))
			return false;
	return true;
}

static bool hex_ok(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

int tokens_load(const char *path, tokens *out, char *err, size_t errlen)
{
	out->v = NULL;
	out->n = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open tokens file %s: %m", path);
		return -1;
	}
	/* The mode of the file read, not of a path that may be swapped. */
	struct stat st;
	if (fstat(fileno(f), &st) != 0) {
		snprintf(err, errlen, "cannot stat tokens file %s: %m", path);
		fclose(f);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "tokens file %s is writable by %s (mode %04o): chmod go-w %s", path,
			 (st.st_mode & S_IWGRP) && (st.st_mode & S_IWOTH) ? "group and others"
			 : st.st_mode & S_IWGRP                          ? "group"
									 : "others",
			 (unsigned)(st.st_mode & 07777), path);
		fclose(f);
		return -1;
	}
	char line[1024];
	unsigned lineno = 0;
	size_t cap = 0;
	int ret = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			ret = -1;
			break;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char name[256], role[256], sha[256], extra[8];
		int k = sscanf(line, "%255s %255s %255s %7s", name, role, sha, extra);
		if (k <= 0)
			continue;
		if (k != 3) {
			snprintf(err, errlen, "%s:%u: expected NAME ROLE SHA256HEX", path, lineno);
			ret = -1;
			break;
		}
		if (!name_ok(name)) {
			snprintf(err, errlen, "%s:%u: bad token name (1-%d of [A-Za-z0-9._@-])", path,
				 lineno, QD_ACTOR_MAX);
			ret = -1;
			break;
		}
		enum role r;
		if (strcmp(role, "admin") == 0)
			r = ROLE_ADMIN;
		else if (strcmp(role, "reader") == 0)
			r = ROLE_READER;
		else {
			snprintf(err, errlen, "%s:%u: role must be admin or reader", path, lineno);
			ret = -1;
			break;
		}
		if (!hex_ok(sha)) {
			snprintf(err, errlen, "%s:%u: third field must be the 64 hex digits of the token's SHA-256",
				 path, lineno);
			ret = -1;
			break;
		}
		if (out->n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			token *nv = realloc(out->v, nc * sizeof *nv);
			if (!nv) {
				snprintf(err, errlen, "out of memory");
				ret = -1;
				break;
			}
			out->v = nv;
			cap = nc;
		}
		token *t = &out->v[out->n++];
		snprintf(t->name, sizeof t->name, "%.*s", (int)sizeof t->name - 1, name); /* name_ok() bounds it */
		t->role = r;
		for (size_t i = 0; i < 64; i++)
			t->sha256[i] = (char)tolower((unsigned char)sha[i]);
		t->sha256[64] = '\0';
	}
	fclose(f);
	if (ret)
		tokens_free(out);
	return ret;
}

void tokens_free(tokens *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}
