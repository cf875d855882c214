/* merkle.c - RFC 6962 hashing over stored hashes: the stored-hash
 * numbering, appends, tree hashes, inclusion and consistency proofs.
 *
 * A proof is a list of hashes of ranges of leaves [lo, hi). Each range is
 * the union of at most 64 complete subtrees, whose hashes are stored; so
 * making a proof is: list the ranges, list the stored indexes of their
 * subtrees (ascending, as the ranges do not overlap), read them in one call,
 * and fold each range's subtrees back into its hash. */
#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "tlog/tlog.h"
#include "tlog/tlog_int.h"

static const struct tlog_hash empty_hash = {{
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
}};

void tlog_leaf_hash(const void *entry, size_t len, struct tlog_hash *out)
{
	crypto_hash_sha256_state st;
	static const uint8_t zero = 0x00;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &zero, 1);
	crypto_hash_sha256_update(&st, entry, len);
	crypto_hash_sha256_final(&st, out->b);
}

void tlog_node_hash(const struct tlog_hash *left, const struct tlog_hash *right,
                    struct tlog_hash *out)
{
	uint8_t buf[1 + 2 * TLOG_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left->b, TLOG_HASH_LEN);
	memcpy(buf + 1 + TLOG_HASH_LEN, right->b, TLOG_HASH_LEN);
	crypto_hash_sha256(out->b, buf, sizeof buf);
}

void tlog_empty_hash(struct tlog_hash *out)
{
	*out = empty_hash;
}

void tlog_hash_to_b64(const struct tlog_hash *h, char out[TLOG_HASH_B64_LEN + 1])
{
	tlog_b64_encode(h->b, TLOG_HASH_LEN, out);
}

int tlog_hash_from_b64(const char *s, size_t len, struct tlog_hash *h)
{
	size_t n;

	if (len != TLOG_HASH_B64_LEN || tlog_b64_decode(s, len, h->b, TLOG_HASH_LEN, &n) < 0 ||
	    n != TLOG_HASH_LEN)
		return YG_EFORMAT;
	return 0;
}

/* ---- Stored hash numbering ---- */

static int ctz64(uint64_t x)
{
	return x ? __builtin_ctzll(x) : 64;
}

/* Stored hashes before leaf n's: each earlier leaf i added 1 + ctz(i+1). */
static uint64_t leaf_index(uint64_t n)
{
	return 2 * n - (uint64_t)__builtin_popcountll(n);
}

uint64_t tlog_stored_index(int level, uint64_t n)
{
	/* Stored right after the last leaf it covers, and the levels below. */
	uint64_t last = ((n + 1) << level) - 1;

	return leaf_index(last) + (uint64_t)level;
}

void tlog_stored_split(uint64_t index, int *level, uint64_t *n)
{
	/* leaf_index(m) <= 2m, so leaf m = index/2 is at or before index. */
	uint64_t m = index / 2, at = leaf_index(m);

	while (index - at > (uint64_t)ctz64(m + 1)) { /* at + 1 + ctz <= index */
		at += 1 + (uint64_t)ctz64(m + 1);
		m++;
	}
	*level = (int)(index - at);
	*n = m >> *level;
}

uint64_t tlog_stored_count(uint64_t n)
{
	if (n == 0)
		return 0;
	/* Leaf n-1, and the subtrees it completes. */
	return leaf_index(n - 1) + 1 + (uint64_t)ctz64(n);
}

static int read_hashes(const struct tlog_reader *r, const uint64_t *idx, size_t count,
                       struct tlog_hash *out)
{
	if (count == 0)
		return 0;
	assert(count <= TLOG_READ_MAX);
	return r->read(r->arg, idx, count, out);
}

int tlog_stored_hashes(uint64_t n, const struct tlog_hash *leaf, const struct tlog_reader *r,
                       struct tlog_hash out[TLOG_MAX_STORED], size_t *count)
{
	uint64_t idx[TLOG_MAX_STORED];
	struct tlog_hash old[TLOG_MAX_STORED];
	int m, i, err;

	if (n >= TLOG_MAX_SIZE - 1)
		return YG_EINVAL;
	/* Each trailing 1 bit of n completes a subtree with a left sibling. */
	m = ctz64(n + 1);
	for (i = 0; i < m; i++)
		idx[m - 1 - i] = tlog_stored_index(i, (n >> i) - 1);
	if ((err = read_hashes(r, idx, (size_t)m, old)) < 0)
		return err;
	out[0] = *leaf;
	for (i = 0; i < m; i++)
		tlog_node_hash(&old[m - 1 - i], &out[i], &out[i + 1]);
	*count = (size_t)m + 1;
	return 0;
}

/* ---- The right edge ---- */

void tlog_edge_init(struct tlog_edge *e)
{
	memset(e, 0, sizeof *e);
}

/* The stored indexes of the complete subtrees that make up [0, size), left
 * to right (ascending); their levels are the set bits of size, high first. */
static size_t edge_indexes(uint64_t size, uint64_t *idx, int *levels)
{
	uint64_t lo = 0;
	size_t k = 0;
	int l;

	for (l = 63; l >= 0; l--) {
		if (!(size >> l & 1))
			continue;
		idx[k] = tlog_stored_index(l, lo >> l);
		if (levels)
			levels[k] = l;
		k++;
		lo += (uint64_t)1 << l;
	}
	return k;
}

int tlog_edge_load(struct tlog_edge *e, uint64_t size, const struct tlog_reader *r)
{
	uint64_t idx[64];
	int levels[64];
	struct tlog_hash h[64];
	size_t k, i;
	int err;

	if (size >= TLOG_MAX_SIZE)
		return YG_EINVAL;
	k = edge_indexes(size, idx, levels);
	if ((err = read_hashes(r, idx, k, h)) < 0)
		return err;
	memset(e, 0, sizeof *e);
	e->size = size;
	for (i = 0; i < k; i++)
		e->root[levels[i]] = h[i];
	return 0;
}

int tlog_edge_append(struct tlog_edge *e, const struct tlog_hash *leaf,
                     struct tlog_hash out[TLOG_MAX_STORED], size_t *count)
{
	size_t k = 0;
	int l = 0;

	if (e->size >= TLOG_MAX_SIZE - 1)
		return YG_EINVAL;
	out[k++] = *leaf;
	/* Carry: each set low bit is a left sibling the new subtree completes. */
	while (e->size >> l & 1) {
		tlog_node_hash(&e->root[l], &out[k - 1], &out[k]);
		k++;
		l++;
	}
	e->root[l] = out[k - 1];
	e->size++;
	*count = k;
	return 0;
}

void tlog_edge_root(const struct tlog_edge *e, struct tlog_hash *root)
{
	int l, have = 0;

	for (l = 0; l < 64; l++) {
		if (!(e->size >> l & 1))
			continue;
		if (!have)
			*root = e->root[l];
		else
			tlog_node_hash(&e->root[l], root, root);
		have = 1;
	}
	if (!have)
		*root = empty_hash;
}

/* ---- Ranges and proofs ---- */

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

struct range {
	uint64_t lo, hi;
	int slot; /* where its hash goes in the proof */
};

struct plan {
	struct range rg[TLOG_MAX_PROOF + 1];
	size_t nrg;
	uint64_t idx[TLOG_READ_MAX];
	uint16_t parts[TLOG_MAX_PROOF + 1]; /* stored hashes per range, in rg order */
	size_t nidx;
};

/* Appends the stored indexes of the complete subtrees of [lo, hi), left to
 * right: each the largest aligned power of two that fits. */
static size_t range_indexes(uint64_t lo, uint64_t hi, uint64_t *idx)
{
	size_t k = 0;

	while (lo < hi) {
		int l = 63 - __builtin_clzll(hi - lo);
		uint64_t size = (uint64_t)1 << l;

		assert((lo & (size - 1)) == 0);
		idx[k++] = tlog_stored_index(l, lo >> l);
		lo += size;
	}
	return k;
}

static void plan_add(struct plan *pl, uint64_t lo, uint64_t hi, int slot)
{
	assert(pl->nrg < TLOG_MAX_PROOF + 1);
	pl->rg[pl->nrg].lo = lo;
	pl->rg[pl->nrg].hi = hi;
	pl->rg[pl->nrg].slot = slot;
	pl->nrg++;
}

/* Sorts the ranges left to right, reads all their stored hashes in one
 * call, and folds each range into p->h[slot]. */
static int plan_run(struct plan *pl, const struct tlog_reader *r, struct tlog_proof *p)
{
	struct tlog_hash h[TLOG_READ_MAX];
	size_t i, j, at = 0;
	int err;

	for (i = 1; i < pl->nrg; i++) { /* insertion sort: at most 65 ranges */
		struct range x = pl->rg[i];
		for (j = i; j > 0 && pl->rg[j - 1].lo > x.lo; j--)
			pl->rg[j] = pl->rg[j - 1];
		pl->rg[j] = x;
	}
	pl->nidx = 0;
	for (i = 0; i < pl->nrg; i++) {
		/* A range has at most 63 subtrees, and at most two ranges of a
		 * proof are not complete subtrees: 256 indexes always suffice. */
		assert(pl->nidx + 64 <= TLOG_READ_MAX);
		size_t k = range_indexes(pl->rg[i].lo, pl->rg[i].hi, pl->idx + pl->nidx);
		pl->parts[i] = (uint16_t)k;
		pl->nidx += k;
	}
	if ((err = read_hashes(r, pl->idx, pl->nidx, h)) < 0)
		return err;
	for (i = 0; i < pl->nrg; i++) {
		size_t k = pl->parts[i];
		struct tlog_hash acc = h[at + k - 1];

		for (j = k - 1; j-- > 0;)
			tlog_node_hash(&h[at + j], &acc, &acc);
		at += k;
		if (pl->rg[i].slot >= 0)
			p->h[pl->rg[i].slot] = acc;
		else
			p->h[0] = acc; /* a tree hash: one range, no proof */
	}
	return 0;
}

int tlog_tree_hash(uint64_t n, const struct tlog_reader *r, struct tlog_hash *root)
{
	struct plan pl;
	struct tlog_proof out;
	int err;

	if (n >= TLOG_MAX_SIZE)
		return YG_EINVAL;
	if (n == 0) {
		*root = empty_hash;
		return 0;
	}
	pl.nrg = 0;
	plan_add(&pl, 0, n, -1);
	if ((err = plan_run(&pl, r, &out)) < 0)
		return err;
	*root = out.h[0];
	return 0;
}

int tlog_prove_inclusion(uint64_t size, uint64_t index, const struct tlog_reader *r,
                         struct tlog_proof *p)
{
	struct plan pl;
	uint64_t lo = 0, hi = size;
	size_t depth = 0, i;
	int err;

	if (size >= TLOG_MAX_SIZE || index >= size)
		return YG_EINVAL;
	pl.nrg = 0;
	/* Walk down from the root towards the leaf; at each step the sibling
	 * on the path not taken is a proof hash. The top one goes last. */
	while (hi - lo > 1) {
		uint64_t k = split_point(hi - lo);
		if (index < lo + k) {
			plan_add(&pl, lo + k, hi, (int)depth);
			hi = lo + k;
		} else {
			plan_add(&pl, lo, lo + k, (int)depth);
			lo += k;
		}
		depth++;
	}
	for (i = 0; i < pl.nrg; i++)
		pl.rg[i].slot = (int)(depth - 1) - pl.rg[i].slot;
	p->len = depth;
	if ((err = plan_run(&pl, r, p)) < 0)
		return err;
	return 0;
}

int tlog_prove_consistency(uint64_t n, uint64_t m, const struct tlog_reader *r,
                           struct tlog_proof *p)
{
	struct plan pl;
	uint64_t lo = 0, hi = n;
	size_t depth = 0, i;
	int err;

	if (n >= TLOG_MAX_SIZE || m == 0 || m > n)
		return YG_EINVAL;
	pl.nrg = 0;
	/* RFC 6962 §2.1.2's SUBPROOF, top down: descend until the old tree's
	 * boundary falls on a subtree edge; that subtree's hash goes first in
	 * the proof unless it is the whole old tree, which the verifier has. */
	while (m != hi) {
		uint64_t k = split_point(hi - lo);
		if (m <= lo + k) {
			plan_add(&pl, lo + k, hi, (int)depth);
			hi = lo + k;
		} else {
			plan_add(&pl, lo, lo + k, (int)depth);
			lo += k;
		}
		depth++;
	}
	if (lo != 0) {
		plan_add(&pl, lo, hi, (int)depth);
		depth++;
	}
	for (i = 0; i < pl.nrg; i++)
		pl.rg[i].slot = (int)(depth - 1) - pl.rg[i].slot;
	p->len = depth;
	if ((err = plan_run(&pl, r, p)) < 0)
		return err;
	return 0;
}

/* ---- Verification: RFC 9162 §2.1.3.2 and §2.1.4.2 ---- */

static int hash_eq(const struct tlog_hash *a, const struct tlog_hash *b)
{
	return sodium_memcmp(a->b, b->b, TLOG_HASH_LEN) == 0;
}

int tlog_check_inclusion(const struct tlog_proof *p, uint64_t size, const struct tlog_hash *root,
                         uint64_t index, const struct tlog_hash *leaf)
{
	uint64_t fn = index, sn;
	struct tlog_hash r = *leaf;
	size_t i;

	if (size >= TLOG_MAX_SIZE || index >= size)
		return YG_EINVAL;
	if (p->len > TLOG_MAX_PROOF)
		return YG_EFORMAT;
	sn = size - 1;
	for (i = 0; i < p->len; i++) {
		if (sn == 0)
			return YG_EFORMAT; /* longer than the path */
		if ((fn & 1) || fn == sn) {
			tlog_node_hash(&p->h[i], &r, &r);
			if (!(fn & 1)) /* the right edge: skip levels with no sibling */
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			tlog_node_hash(&r, &p->h[i], &r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return YG_EFORMAT; /* shorter than the path */
	return hash_eq(&r, root) ? 0 : YG_ECONFLICT;
}

int tlog_check_consistency(const struct tlog_proof *p, uint64_t n, const struct tlog_hash *new_root,
                           uint64_t m, const struct tlog_hash *old_root)
{
	uint64_t fn, sn;
	struct tlog_hash fr, sr;
	size_t i = 0;

	if (n >= TLOG_MAX_SIZE || m == 0 || m > n)
		return YG_EINVAL;
	if (p->len > TLOG_MAX_PROOF)
		return YG_EFORMAT;
	if (m == n) {
		if (p->len != 0)
			return YG_EFORMAT;
		return hash_eq(old_root, new_root) ? 0 : YG_ECONFLICT;
	}
	if (p->len == 0)
		return YG_EFORMAT;
	/* An old tree of a power-of-two size is a subtree of the new one: the
	 * proof leaves out its hash, which the verifier has. */
	if ((m & (m - 1)) == 0) {
		fr = sr = *old_root;
	} else {
		fr = sr = p->h[0];
		i = 1;
	}
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < p->len; i++) {
		if (sn == 0)
			return YG_EFORMAT;
		if ((fn & 1) || fn == sn) {
			tlog_node_hash(&p->h[i], &fr, &fr);
			tlog_node_hash(&p->h[i], &sr, &sr);
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			tlog_node_hash(&sr, &p->h[i], &sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return YG_EFORMAT;
	return hash_eq(&fr, old_root) && hash_eq(&sr, new_root) ? 0 : YG_ECONFLICT;
}
