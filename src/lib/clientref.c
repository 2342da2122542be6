/* qingdan — a client's reference to its own paperwork. */
#include "qingdan/clientref.h"

static bool ref_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == ':' || c == '/' || c == '-';
}

bool qd_client_ref_valid(const char *s, size_t n, const char **why)
{
	const char *w = NULL;
	if (!s || n == 0)
		w = "must not be empty (1 to 64 characters of A-Z a-z 0-9 . _ : / -)";
	else if (n > QD_CLIENT_REF_MAX)
		w = "is longer than 64 characters";
	else
		for (size_t i = 0; i < n && !w; i++)
			if (!ref_char((unsigned char)s[i]))
				w = "may hold only the characters A-Z a-z 0-9 . _ : / -";
	if (w && why)
		*why = w;
	return !w;
}
