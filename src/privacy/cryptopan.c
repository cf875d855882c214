/* cryptopan.c - Crypto-PAn over AES-128-ECB from libcrypto.
 *
 * Addresses are handled as 128-bit big-endian numbers (hi, lo); an IPv4
 * address is the top 32 bits of hi, so both families share one code path.
 * The block for bit position i is the address's first i bits followed by
 * the pad's remaining 128 - i bits. Forward, all blocks are known up front
 * and go through AES in one EVP call (AES-NI pipelines them); reverse needs
 * each recovered bit before it can build the next block. */
#include "privacy/cryptopan.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/alloc.h"

#define PAN_BLOCK 16
#define PAN_MAX_BITS 128

/* Direct-mapped prefix caches: forward results for a /24 (IPv4) or a /64
 * (IPv6) leave 8 or 64 blocks to encrypt instead of 32 or 128. */
#define PAN_C4_BITS 12
#define PAN_C6_BITS 10
#define PAN_C4_SIZE (1u << PAN_C4_BITS)
#define PAN_C6_SIZE (1u << PAN_C6_BITS)
#define PAN_C4_PREFIX 24
#define PAN_C6_PREFIX 64

struct pan_c4 {
	uint32_t tag; /* original /24 in the top bits, bit 0 set when valid */
	uint32_t val; /* its pseudonym /24 */
};

struct pan_c6 {
	uint64_t pfx; /* original /64 */
	uint64_t val; /* its pseudonym /64 */
};

struct cryptopan {
	EVP_CIPHER_CTX *ctx;
	uint64_t pad_hi, pad_lo; /* the encrypted pad */
	unsigned bit0;           /* one-time-pad bit 0: AES(pad) does not depend on the address */
	struct cryptopan_stats stats;
	struct pan_c4 c4[PAN_C4_SIZE];
	struct pan_c6 c6[PAN_C6_SIZE];
	uint8_t c6_ok[PAN_C6_SIZE];
	_Alignas(16) uint8_t blk[PAN_MAX_BITS * PAN_BLOCK];
};

static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

static inline void store_be64(uint8_t *p, uint64_t v)
{
	v = __builtin_bswap64(v);
	memcpy(p, &v, 8);
}

static inline uint32_t load_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
}

/* Bit pos (0 = most significant) of the 128-bit (hi, lo), as a mask. */
static inline void pan_bit(int pos, uint64_t *mh, uint64_t *ml)
{
	*mh = pos < 64 ? 1ULL << (63 - pos) : 0;
	*ml = pos < 64 ? 0 : 1ULL << (127 - pos);
}

/* Writes the block for bit position pos: the first pos bits of (hi, lo),
 * then the pad's. */
static inline void pan_block(const struct cryptopan *cp, uint8_t *b, int pos, uint64_t hi,
			     uint64_t lo)
{
	uint64_t mh, ml;

	if (pos <= 64) {
		mh = pos == 0 ? 0 : ~0ULL << (64 - pos);
		ml = 0;
	} else {
		mh = ~0ULL;
		ml = ~0ULL << (128 - pos);
	}
	store_be64(b, (hi & mh) | (cp->pad_hi & ~mh));
	store_be64(b + 8, (lo & ml) | (cp->pad_lo & ~ml));
}

/* The one-time-pad bits [from, to) for the address (hi, lo), in one EVP
 * call. Returns 0 or YG_EIO. */
static int pan_otp(struct cryptopan *cp, uint64_t hi, uint64_t lo, int from, int to, uint64_t *oh,
		   uint64_t *ol)
{
	uint64_t h = 0, l = 0;
	int pos, n, outl;

	assert(from <= to && to <= PAN_MAX_BITS);
	if (from == 0) {
		if (cp->bit0)
			h = 1ULL << 63;
		from = 1;
	}
	n = to - from;
	for (pos = from; pos < to; pos++)
		pan_block(cp, cp->blk + (size_t)(pos - from) * PAN_BLOCK, pos, hi, lo);
	if (n > 0) {
		if (EVP_EncryptUpdate(cp->ctx, cp->blk, &outl, cp->blk, n * PAN_BLOCK) != 1 ||
		    outl != n * PAN_BLOCK)
			return YG_EIO;
		cp->stats.blocks += (uint64_t)n;
	}
	/* Branch-free: the bits are random, a branch on each would miss half
	 * the time. */
	for (pos = from; pos < to && pos < 64; pos++)
		h |= (uint64_t)(cp->blk[(size_t)(pos - from) * PAN_BLOCK] >> 7) << (63 - pos);
	for (; pos < to; pos++)
		l |= (uint64_t)(cp->blk[(size_t)(pos - from) * PAN_BLOCK] >> 7) << (127 - pos);
	*oh = h;
	*ol = l;
	return 0;
}

/* Recovers the address whose pseudonym is (hi, lo) over its first nbits
 * bits: bit i of the pseudonym XOR the pad bit that the already recovered
 * bits 0..i-1 select. */
static int pan_reverse(struct cryptopan *cp, uint64_t hi, uint64_t lo, int nbits, uint64_t *oh,
		       uint64_t *ol)
{
	uint64_t h = 0, l = 0, mh, ml, flip;
	unsigned bit;
	int pos, outl;

	for (pos = 0; pos < nbits; pos++) {
		if (pos == 0) {
			bit = cp->bit0;
		} else {
			pan_block(cp, cp->blk, pos, h, l);
			if (EVP_EncryptUpdate(cp->ctx, cp->blk, &outl, cp->blk, PAN_BLOCK) != 1 ||
			    outl != PAN_BLOCK)
				return YG_EIO;
			bit = cp->blk[0] >> 7;
		}
		flip = bit ? ~0ULL : 0;
		pan_bit(pos, &mh, &ml);
		h |= (hi ^ flip) & mh;
		l |= (lo ^ flip) & ml;
	}
	cp->stats.blocks += (uint64_t)(nbits - 1);
	*oh = h;
	*ol = l;
	return 0;
}

int cryptopan_new(const uint8_t key[CRYPTOPAN_KEY_LEN], struct cryptopan **out)
{
	struct cryptopan *cp;
	uint8_t pad[PAN_BLOCK];
	int outl, rc = YG_EIO;

	*out = NULL;
	cp = yg_calloc(1, sizeof(*cp));
	if (cp == NULL)
		return YG_ENOMEM;
	cp->ctx = EVP_CIPHER_CTX_new();
	if (cp->ctx == NULL) {
		rc = YG_ENOMEM;
		goto fail;
	}
	if (EVP_EncryptInit_ex(cp->ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(cp->ctx, 0) != 1)
		goto fail;
	if (EVP_EncryptUpdate(cp->ctx, pad, &outl, key + 16, PAN_BLOCK) != 1 || outl != PAN_BLOCK)
		goto fail;
	cp->pad_hi = load_be64(pad);
	cp->pad_lo = load_be64(pad + 8);
	OPENSSL_cleanse(pad, sizeof(pad));
	/* Bit 0's block is the pad itself, whatever the address. */
	pan_block(cp, cp->blk, 0, 0, 0);
	if (EVP_EncryptUpdate(cp->ctx, cp->blk, &outl, cp->blk, PAN_BLOCK) != 1 ||
	    outl != PAN_BLOCK)
		goto fail;
	cp->bit0 = cp->blk[0] >> 7;
	cp->stats.blocks = 2;
	*out = cp;
	return 0;
fail:
	cryptopan_free(cp);
	return rc;
}

void cryptopan_free(struct cryptopan *cp)
{
	if (cp == NULL)
		return;
	EVP_CIPHER_CTX_free(cp->ctx);
	OPENSSL_cleanse(cp, sizeof(*cp));
	free(cp);
}

static inline uint32_t pan_c4_index(uint32_t p24)
{
	return (p24 * 0x9e3779b1u) >> (32 - PAN_C4_BITS);
}

static inline uint32_t pan_c6_index(uint64_t p64)
{
	return (uint32_t)((p64 * 0x9e3779b97f4a7c15ull) >> (64 - PAN_C6_BITS));
}

int cryptopan_anonymize_v4(struct cryptopan *cp, const uint8_t in[4], uint8_t out[4])
{
	uint32_t x = load_be32(in), tag = (x & 0xffffff00u) | 1, top;
	struct pan_c4 *e = &cp->c4[pan_c4_index(x >> 8)];
	uint64_t oh, ol;
	int from = 0;

	cp->stats.calls++;
	if (e->tag == tag) {
		cp->stats.cache_hits++;
		from = PAN_C4_PREFIX;
	}
	if (pan_otp(cp, (uint64_t)x << 32, 0, from, 32, &oh, &ol) < 0) {
		memset(out, 0, 4);
		return YG_EIO;
	}
	if (from == 0) {
		top = (x ^ (uint32_t)(oh >> 32)) & 0xffffff00u;
		e->tag = tag;
		e->val = top;
	} else {
		top = e->val;
	}
	store_be32(out, top | ((x ^ (uint32_t)(oh >> 32)) & 0xffu));
	return 0;
}

int cryptopan_anonymize_v6(struct cryptopan *cp, const uint8_t in[16], uint8_t out[16])
{
	uint64_t hi = load_be64(in), lo = load_be64(in + 8), oh, ol, top;
	uint32_t i = pan_c6_index(hi);
	int from = 0;

	cp->stats.calls++;
	if (cp->c6_ok[i] && cp->c6[i].pfx == hi) {
		cp->stats.cache_hits++;
		from = PAN_C6_PREFIX;
	}
	if (pan_otp(cp, hi, lo, from, 128, &oh, &ol) < 0) {
		memset(out, 0, 16);
		return YG_EIO;
	}
	if (from == 0) {
		top = hi ^ oh;
		cp->c6[i].pfx = hi;
		cp->c6[i].val = top;
		cp->c6_ok[i] = 1;
	} else {
		top = cp->c6[i].val;
	}
	store_be64(out, top);
	store_be64(out + 8, lo ^ ol);
	return 0;
}

int cryptopan_deanonymize_v4(struct cryptopan *cp, const uint8_t in[4], uint8_t out[4])
{
	uint64_t oh, ol;

	cp->stats.calls++;
	if (pan_reverse(cp, (uint64_t)load_be32(in) << 32, 0, 32, &oh, &ol) < 0) {
		memset(out, 0, 4);
		return YG_EIO;
	}
	store_be32(out, (uint32_t)(oh >> 32));
	return 0;
}

int cryptopan_deanonymize_v6(struct cryptopan *cp, const uint8_t in[16], uint8_t out[16])
{
	uint64_t oh, ol;

	cp->stats.calls++;
	if (pan_reverse(cp, load_be64(in), load_be64(in + 8), 128, &oh, &ol) < 0) {
		memset(out, 0, 16);
		return YG_EIO;
	}
	store_be64(out, oh);
	store_be64(out + 8, ol);
	return 0;
}

static int pan_addr(struct cryptopan *cp, const struct ip_addr *in, struct ip_addr *out,
		    int reverse)
{
	uint8_t a[16];
	int rc;

	if (in->family == 4) {
		rc = reverse ? cryptopan_deanonymize_v4(cp, in->a, a)
			     : cryptopan_anonymize_v4(cp, in->a, a);
		ipaddr_set4(out, a);
	} else if (in->family == 6) {
		rc = reverse ? cryptopan_deanonymize_v6(cp, in->a, a)
			     : cryptopan_anonymize_v6(cp, in->a, a);
		ipaddr_set6(out, a);
	} else {
		return YG_EINVAL;
	}
	return rc;
}

int cryptopan_anonymize_addr(struct cryptopan *cp, const struct ip_addr *in, struct ip_addr *out)
{
	return pan_addr(cp, in, out, 0);
}

int cryptopan_deanonymize_addr(struct cryptopan *cp, const struct ip_addr *in,
			       struct ip_addr *out)
{
	return pan_addr(cp, in, out, 1);
}

const struct cryptopan_stats *cryptopan_stats(const struct cryptopan *cp)
{
	return &cp->stats;
}
