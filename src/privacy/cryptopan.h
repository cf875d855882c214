/* cryptopan.h - prefix-preserving address pseudonyms (Crypto-PAn).
 *
 * Xu, Fan, Ammar and Moon (2002): bit i of the pseudonym is bit i of the
 * address XORed with the top bit of AES-128(the address's first i bits,
 * completed by the encrypted pad). Two addresses that share exactly a k-bit
 * prefix get pseudonyms that share exactly a k-bit prefix, and whoever holds
 * the key can reverse a pseudonym. IPv6 runs the same over 128 bits, as the
 * Go, Rust and JavaScript implementations do, so pseudonyms match theirs.
 *
 * An instance owns an AES context and caches of recently seen prefixes
 * (/24 for IPv4, /64 for IPv6): calls mutate it, so give each thread its own
 * instance (cryptopan_new with the same key). Calls allocate nothing. */
#ifndef YAGURA_PRIVACY_CRYPTOPAN_H
#define YAGURA_PRIVACY_CRYPTOPAN_H

#include <stdint.h>

#include "base/err.h"
#include "base/ipaddr.h"

/* 16 bytes of AES-128 key, then 16 bytes of pad (encrypted under the key
 * before use, as in the original). */
#define CRYPTOPAN_KEY_LEN 32

struct cryptopan;

struct cryptopan_stats {
	uint64_t calls;      /* addresses pseudonymized or recovered */
	uint64_t cache_hits; /* forward calls whose prefix was cached */
	uint64_t blocks;     /* AES blocks encrypted, the pad's included */
};

/* Creates an instance for key, which it copies (the caller may wipe its
 * own). Returns 0 with *out set, YG_ENOMEM, or YG_EIO if libcrypto failed.
 * The instance is not thread-safe: one per thread. */
int cryptopan_new(const uint8_t key[CRYPTOPAN_KEY_LEN], struct cryptopan **out) YG_MUST_CHECK;

/* Wipes the key, pad and caches, then frees. Accepts NULL. */
void cryptopan_free(struct cryptopan *cp);

/* Pseudonymize (anonymize) or recover (deanonymize) one address in network
 * byte order; in and out may be the same buffer. Return 0, or YG_EIO if
 * libcrypto failed, in which case out is all zeros, never the address.
 * Forward costs one batch of at most 32 (IPv4) or 128 (IPv6) AES blocks,
 * fewer when the prefix is cached; reverse goes bit by bit (one block each). */
int cryptopan_anonymize_v4(struct cryptopan *cp, const uint8_t in[4],
			   uint8_t out[4]) YG_MUST_CHECK;
int cryptopan_anonymize_v6(struct cryptopan *cp, const uint8_t in[16],
			   uint8_t out[16]) YG_MUST_CHECK;
int cryptopan_deanonymize_v4(struct cryptopan *cp, const uint8_t in[4],
			     uint8_t out[4]) YG_MUST_CHECK;
int cryptopan_deanonymize_v6(struct cryptopan *cp, const uint8_t in[16],
			     uint8_t out[16]) YG_MUST_CHECK;

/* The same on a struct ip_addr of either family; in and out may be the
 * same. Return 0, YG_EINVAL for a family other than 4 or 6, or YG_EIO (out
 * then holds 0.0.0.0 or ::, never the address). */
int cryptopan_anonymize_addr(struct cryptopan *cp, const struct ip_addr *in,
			     struct ip_addr *out) YG_MUST_CHECK;
int cryptopan_deanonymize_addr(struct cryptopan *cp, const struct ip_addr *in,
			       struct ip_addr *out) YG_MUST_CHECK;

/* Counters since cryptopan_new, owned by the instance; read them from the
 * thread that uses it. */
const struct cryptopan_stats *cryptopan_stats(const struct cryptopan *cp);

#endif
