#include "base/digest.h"

#include <pthread.h>

#include <openssl/evp.h>

struct digest_state {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

/* A thread's algorithm and context are freed when it ends (the HTTP
 * workers end at shutdown): a key whose destructor runs at thread exit,
 * one slot per algorithm. */
static pthread_key_t keys[2];
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void state_free(void *arg)
{
	struct digest_state *st = arg;

	EVP_MD_free(st->md);
	EVP_MD_CTX_free(st->ctx);
	st->md = NULL;
	st->ctx = NULL;
}

static void keys_make(void)
{
	(void)pthread_key_create(&keys[0], state_free);
	(void)pthread_key_create(&keys[1], state_free);
}

static int digest_run(struct digest_state *st, int k, const char *name, const void *p, size_t n,
		      uint8_t *out)
{
	if (st->ctx == NULL) {
		(void)pthread_once(&keys_once, keys_make);
		st->md = EVP_MD_fetch(NULL, name, NULL);
		st->ctx = EVP_MD_CTX_new();
		if (st->md == NULL || st->ctx == NULL) {
			EVP_MD_free(st->md);
			EVP_MD_CTX_free(st->ctx);
			st->md = NULL;
			st->ctx = NULL;
			return -1;
		}
		(void)pthread_setspecific(keys[k], st);
	}
	if (EVP_DigestInit_ex2(st->ctx, st->md, NULL) != 1 || EVP_DigestUpdate(st->ctx, p, n) != 1 ||
	    EVP_DigestFinal_ex(st->ctx, out, NULL) != 1)
		return -1;
	return 0;
}

int digest_sha1(const void *p, size_t n, uint8_t out[DIGEST_SHA1_LEN])
{
	static __thread struct digest_state st;

	return digest_run(&st, 0, "SHA1", p, n, out);
}

int digest_sha256(const void *p, size_t n, uint8_t out[DIGEST_SHA256_LEN])
{
	static __thread struct digest_state st;

	return digest_run(&st, 1, "SHA256", p, n, out);
}
