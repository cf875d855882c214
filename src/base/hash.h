/* hash.h - a fast 64-bit hash for in-memory tables and sketches (not for
 * anything an adversary must not collide: use BLAKE2b from libsodium). */
#ifndef YAGURA_BASE_HASH_H
#define YAGURA_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* MurmurHash3's 64-bit finalizer: every input bit reaches every output bit. */
static inline uint64_t yg_fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* FNV-1a over the bytes, then yg_fmix64. */
static inline uint64_t yg_hash64(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return yg_fmix64(h);
}

#endif
