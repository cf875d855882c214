/* digest.h - SHA-1 and SHA-256 through OpenSSL's libcrypto, without the
 * per-call provider lookup and allocation of the one-shot functions: each
 * thread fetches the algorithm and a context once and reuses them. */
#ifndef YAGURA_BASE_DIGEST_H
#define YAGURA_BASE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_SHA1_LEN 20
#define DIGEST_SHA256_LEN 32

/* Return 0, or -1 if libcrypto failed (out of memory at first use). */
int digest_sha1(const void *p, size_t n, uint8_t out[DIGEST_SHA1_LEN]);
int digest_sha256(const void *p, size_t n, uint8_t out[DIGEST_SHA256_LEN]);

#endif
