#include "base/digest.h"

#include <openssl/evp.h>

struct digest_state {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

static int digest_run(struct digest_state *st, const char *name, const void *p, size_t n,
		      uint8_t *out)
{
	if (st->ctx == NULL) {
		st->md = EVP_MD_fetch(NULL, name, NULL);
		st->ctx = EVP_MD_CTX_new();
		if (st->md == NULL || st->ctx == NULL) {
			EVP_MD_free(st->md);
			EVP_MD_CTX_free(st->ctx);
			st->md = NULL;
			st->ctx = NULL;
			return -1;
		}
	}
	if (EVP_DigestInit_ex2(st->ctx, st->md, NULL) != 1 || EVP_DigestUpdate(st->ctx, p, n) != 1 ||
	    EVP_DigestFinal_ex(st->ctx, out, NULL) != 1)
		return -1;
	return 0;
}

int digest_sha1(const void *p, size_t n, uint8_t out[DIGEST_SHA1_LEN])
{
	static __thread struct digest_state st;

	return digest_run(&st, "SHA1", p, n, out);
}

int digest_sha256(const void *p, size_t n, uint8_t out[DIGEST_SHA256_LEN])
{
	static __thread struct digest_state st;

	return digest_run(&st, "SHA256", p, n, out);
}
