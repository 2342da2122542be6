#include <nettle/sha2.h>

#include "qingdan/sha256.h"

void qd_sha256_hex(const void *p, size_t n, char out[QD_SHA256_HEX])
{
	static const char hex[] = "0123456789abcdef";
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, n, p);
	sha256_digest(&ctx, sizeof digest, digest);
	for (size_t i = 0; i < sizeof digest; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[64] = '\0';
}

int qd_ct_streq(const char *a, const char *b)
{
	size_t la = 0, lb = 0;
	while (a[la])
		la++;
	while (b[lb])
		lb++;
	if (la != lb)
		return 0;
	/* Accumulate every difference so the time does not depend on where
	 * the first mismatch is. */
	volatile unsigned char acc = 0;
	for (size_t i = 0; i < la; i++)
		acc |= (unsigned char)(a[i] ^ b[i]);
	return acc == 0;
}
