/* Unit tests for src/tlog, Merkle half: hashing against the RFC 6962 test
 * tree, the transparency-dev/merkle proof vectors, proofs from stored
 * hashes against the RFC's own recursive definitions, every tree up to 300
 * leaves with every proof checked and corrupted, reads counted at 10
 * million leaves and at the largest size, tiles and entry bundles.
 * test_tlog_note.c has the signed-note half; main() runs both. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first. */
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jbuf.h"
#include "tlog/tlog.h"
#include "tlog_tests.h"

#ifndef YG_SOURCE_DIR
#define YG_SOURCE_DIR "."
#endif

/* ---- helpers ---- */

static int unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static struct tlog_hash H(const char *hex) {
	struct tlog_hash h;

	assert_int_equal(unhex(hex, h.b, 32), 0);
	return h;
}

#define assert_hash_equal(x, y) assert_memory_equal((x)->b, (y)->b, TLOG_HASH_LEN)

/* Hash storage as a growing array, read through the callback, which
 * checks what the core promises: one call, ascending, bounded. */
struct store {
	struct tlog_hash *h;
	size_t len, cap;
	unsigned calls;
	size_t reads;
	int fail; /* the error to return, if any */
};

static int store_read(void *arg, const uint64_t *idx, size_t n, struct tlog_hash *out)
{
	struct store *s = arg;
	size_t i;

	s->calls++;
	s->reads += n;
	assert_true(n > 0 && n <= TLOG_READ_MAX);
	if (s->fail)
		return s->fail;
	for (i = 0; i < n; i++) {
		if (i > 0)
			assert_true(idx[i - 1] < idx[i]);
		assert_true(idx[i] < s->len);
		out[i] = s->h[idx[i]];
	}
	return 0;
}

static void store_put(struct store *s, const struct tlog_hash *h, size_t n)
{
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->h = realloc(s->h, s->cap * sizeof *s->h);
		assert_non_null(s->h);
	}
	memcpy(s->h + s->len, h, n * sizeof *h);
	s->len += n;
}

/* Appends leaves 0..n-1 ("leaf %d" as Go's TestTree writes them), both
 * through tlog_stored_hashes() and the edge, which must agree. */
static void build(struct store *s, struct tlog_hash *leaves, uint64_t n)
{
	struct tlog_reader r = {store_read, s};
	struct tlog_edge e;
	uint64_t i;

	tlog_edge_init(&e);
	for (i = 0; i < n; i++) {
		struct tlog_hash a[TLOG_MAX_STORED], b[TLOG_MAX_STORED];
		size_t na, nb;
		char data[32];
		int len = snprintf(data, sizeof data, "leaf %" PRIu64, i);

		tlog_leaf_hash(data, (size_t)len, &leaves[i]);
		assert_int_equal(tlog_stored_hashes(i, &leaves[i], &r, a, &na), 0);
		assert_int_equal(tlog_edge_append(&e, &leaves[i], b, &nb), 0);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, na * sizeof a[0]);
		assert_int_equal(s->len, tlog_stored_index(0, i));
		store_put(s, a, na);
		assert_int_equal(s->len, tlog_stored_count(i + 1));
	}
}

/* RFC 6962 §2.1, written as the RFC writes it: recursive, from the leaves. */
static uint64_t split_k(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

static void ref_mth(const struct tlog_hash *d, uint64_t n, struct tlog_hash *out)
{
	struct tlog_hash l, r;
	uint64_t k;

	if (n == 0) {
		tlog_empty_hash(out);
		return;
	}
	if (n == 1) {
		*out = d[0];
		return;
	}
	k = split_k(n);
	ref_mth(d, k, &l);
	ref_mth(d + k, n - k, &r);
	tlog_node_hash(&l, &r, out);
}

static void ref_path(uint64_t m, const struct tlog_hash *d, uint64_t n, struct tlog_proof *p)
{
	uint64_t k;

	if (n <= 1)
		return;
	k = split_k(n);
	if (m < k) {
		ref_path(m, d, k, p);
		ref_mth(d + k, n - k, &p->h[p->len++]);
	} else {
		ref_path(m - k, d + k, n - k, p);
		ref_mth(d, k, &p->h[p->len++]);
	}
}

static void ref_subproof(uint64_t m, const struct tlog_hash *d, uint64_t n, int b,
                         struct tlog_proof *p)
{
	uint64_t k;

	if (m == n) {
		if (!b)
			ref_mth(d, n, &p->h[p->len++]);
		return;
	}
	k = split_k(n);
	if (m <= k) {
		ref_subproof(m, d, k, b, p);
		ref_mth(d + k, n - k, &p->h[p->len++]);
	} else {
		ref_subproof(m - k, d + k, n - k, 0, p);
		ref_mth(d, k, &p->h[p->len++]);
	}
}

/* ---- RFC 6962 test tree (transparency-dev/merkle testonly/constants.go) ---- */

static const char *const rfc_leaves[8] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

static const char *const rfc_roots[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* NodeHashes(): the complete subtrees, by level. */
static const char *const rfc_nodes[4][8] = {
    {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"},
    {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"},
    {"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
    {"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"},
};

static struct store rfc_store;

static void rfc_build(void)
{
	struct tlog_reader r = {store_read, &rfc_store};
	size_t i;

	if (rfc_store.len)
		return;
	for (i = 0; i < 8; i++) {
		uint8_t in[16];
		size_t n = strlen(rfc_leaves[i]) / 2;
		struct tlog_hash leaf, out[TLOG_MAX_STORED];
		size_t cnt;

		assert_int_equal(unhex(rfc_leaves[i], in, n), 0);
		tlog_leaf_hash(in, n, &leaf);
		assert_int_equal(tlog_stored_hashes(i, &leaf, &r, out, &cnt), 0);
		store_put(&rfc_store, out, cnt);
	}
}

static void test_rfc6962_tree(void **state)
{
	struct tlog_reader r = {store_read, &rfc_store};
	struct tlog_edge e;
	struct tlog_hash h, want;
	int l;
	uint64_t n;

	(void)state;
	rfc_build();
	tlog_empty_hash(&h);
	want = H(rfc_roots[0]);
	assert_hash_equal(&h, &want);
	/* Every complete subtree sits at its stored index. */
	for (l = 0; l < 4; l++)
		for (n = 0; n < (8u >> l); n++) {
			want = H(rfc_nodes[l][n]);
			assert_hash_equal(&rfc_store.h[tlog_stored_index(l, n)], &want);
		}
	assert_int_equal(rfc_store.len, tlog_stored_count(8));
	/* Roots of every size, from stored hashes, from a loaded edge, and by
	 * appending to an edge. */
	for (n = 0; n <= 8; n++) {
		want = H(rfc_roots[n]);
		rfc_store.calls = 0;
		assert_int_equal(tlog_tree_hash(n, &r, &h), 0);
		assert_hash_equal(&h, &want);
		assert_true(rfc_store.calls <= 1);
		assert_int_equal(tlog_edge_load(&e, n, &r), 0);
		tlog_edge_root(&e, &h);
		assert_hash_equal(&h, &want);
	}
	/* The stored layout of the first leaves, as Go numbers it. */
	assert_int_equal(tlog_stored_index(0, 0), 0);
	assert_int_equal(tlog_stored_index(0, 1), 1);
	assert_int_equal(tlog_stored_index(1, 0), 2);
	assert_int_equal(tlog_stored_index(0, 2), 3);
	assert_int_equal(tlog_stored_index(0, 3), 4);
	assert_int_equal(tlog_stored_index(1, 1), 5);
	assert_int_equal(tlog_stored_index(2, 0), 6);
	assert_int_equal(tlog_stored_count(0), 0);
	assert_int_equal(tlog_stored_count(1), 1);
	assert_int_equal(tlog_stored_count(2), 3);
	assert_int_equal(tlog_stored_count(3), 4);
	assert_int_equal(tlog_stored_count(4), 7);
}

/* Go's TestSplitStoredHashIndex, and the numbering near the top. */
static void test_stored_split(void **state)
{
	int l, l1;
	uint64_t n, n1, x;

	(void)state;
	for (l = 0; l < 10; l++)
		for (n = 0; n < 100; n++) {
			x = tlog_stored_index(l, n);
			tlog_stored_split(x, &l1, &n1);
			assert_int_equal(l1, l);
			assert_int_equal(n1, n);
		}
	for (x = 0; x < 5000; x++) {
		tlog_stored_split(x, &l1, &n1);
		assert_int_equal(tlog_stored_index(l1, n1), x);
	}
	n = TLOG_MAX_SIZE - 1;
	x = tlog_stored_index(0, n);
	assert_true(x < (uint64_t)INT64_MAX);
	tlog_stored_split(x, &l1, &n1);
	assert_int_equal(l1, 0);
	assert_int_equal(n1, n);
	assert_true(tlog_stored_count(TLOG_MAX_SIZE - 1) <= (uint64_t)INT64_MAX);
	/* Hostile indexes do not loop or crash. */
	tlog_stored_split(UINT64_MAX, &l1, &n1);
	assert_true(l1 >= 0 && l1 < 64);
}

/* ---- transparency-dev/merkle vectors ---- */

static void test_merkle_vectors(void **state)
{
	char path[512], line[8192];
	FILE *f;
	unsigned total = 0, happy = 0, compared = 0;
	struct tlog_reader r = {store_read, &rfc_store};

	(void)state;
	rfc_build();
	snprintf(path, sizeof path, "%s/tests/unit/tlog/merkle_vectors.txt", YG_SOURCE_DIR);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f)) {
		char kind[16], h1[80], h2[80], *p;
		unsigned long long a, b;
		int want_err, nproof, used, i, rc;
		struct tlog_proof proof;
		struct tlog_hash x, y;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		assert_int_equal(sscanf(line, "%15s %llu %llu %79s %79s %d %d%n", kind, &a, &b, h1,
		                        h2, &want_err, &nproof, &used),
		                 7);
		assert_true(nproof >= 0 && nproof <= TLOG_MAX_PROOF);
		p = line + used;
		for (i = 0; i < nproof; i++) {
			char hx[80];
			int u;
			assert_int_equal(sscanf(p, "%79s%n", hx, &u), 1);
			proof.h[i] = H(hx);
			p += u;
		}
		proof.len = (size_t)nproof;
		x = H(h1);
		y = H(h2);
		if (strcmp(kind, "inclusion") == 0)
			rc = tlog_check_inclusion(&proof, b, &x, a, &y);
		else
			rc = tlog_check_consistency(&proof, b, &y, a, &x);
		if (want_err ? rc == 0 : rc != 0)
			fail_msg("vector %s: got %d, want %s", line, rc, want_err ? "error" : "0");
		total++;
		if (want_err)
			continue;
		happy++;
		/* A valid proof about the RFC test tree is also what we make. */
		if (b > 8 || (a == 0 && strcmp(kind, "consistency") == 0))
			continue;
		{
			struct tlog_hash root = H(rfc_roots[b]), mine_root;
			struct tlog_proof mine;
			const struct tlog_hash *vroot = strcmp(kind, "inclusion") == 0 ? &x : &y;

			if (memcmp(vroot->b, root.b, 32) != 0)
				continue;
			assert_int_equal(tlog_tree_hash(b, &r, &mine_root), 0);
			assert_hash_equal(&mine_root, &root);
			if (strcmp(kind, "inclusion") == 0)
				assert_int_equal(tlog_prove_inclusion(b, a, &r, &mine), 0);
			else
				assert_int_equal(tlog_prove_consistency(b, a, &r, &mine), 0);
			assert_int_equal(mine.len, proof.len);
			assert_memory_equal(mine.h, proof.h, proof.len * sizeof proof.h[0]);
			compared++;
		}
	}
	fclose(f);
	assert_int_equal(total, 195);
	assert_true(happy >= 10);
	assert_true(compared >= 10);
}

/* ---- every tree up to 300 leaves ---- */

#define PROP_MAX 300

static void test_proofs_all_sizes(void **state)
{
	struct store s = {0};
	struct tlog_hash *leaves = calloc(PROP_MAX, sizeof *leaves);
	struct tlog_hash *roots = calloc(PROP_MAX + 1, sizeof *roots);
	struct tlog_reader r = {store_read, &s};
	uint64_t n, i, m;
	unsigned flip = 0;

	(void)state;
	assert_non_null(leaves);
	assert_non_null(roots);
	build(&s, leaves, PROP_MAX);
	for (n = 0; n <= PROP_MAX; n++) {
		struct tlog_hash ref;
		struct tlog_edge e;

		s.calls = 0;
		assert_int_equal(tlog_tree_hash(n, &r, &roots[n]), 0);
		assert_true(s.calls <= 1);
		ref_mth(leaves, n, &ref);
		assert_hash_equal(&roots[n], &ref);
		assert_int_equal(tlog_edge_load(&e, n, &r), 0);
		tlog_edge_root(&e, &ref);
		assert_hash_equal(&roots[n], &ref);
	}
	for (n = 1; n <= PROP_MAX; n++) {
		for (i = 0; i < n; i++) {
			struct tlog_proof p, ref = {0};
			size_t k;

			s.calls = 0;
			s.reads = 0;
			assert_int_equal(tlog_prove_inclusion(n, i, &r, &p), 0);
			assert_true(s.calls <= 1);
			assert_true(s.reads <= 2 * 9);
			if (n <= 64) { /* exactly the RFC's PATH(m, D[n]) */
				ref_path(i, leaves, n, &ref);
				assert_int_equal(p.len, ref.len);
				assert_memory_equal(p.h, ref.h, p.len * sizeof p.h[0]);
			}
			assert_int_equal(tlog_check_inclusion(&p, n, &roots[n], i, &leaves[i]), 0);
			for (k = 0; k < p.len; k++) {
				unsigned bit = flip++ % 256;
				p.h[k].b[bit / 8] ^= (uint8_t)(1u << bit % 8);
				assert_int_equal(
				    tlog_check_inclusion(&p, n, &roots[n], i, &leaves[i]),
				    YG_ECONFLICT);
				p.h[k].b[bit / 8] ^= (uint8_t)(1u << bit % 8);
			}
			/* Wrong leaf, root, index or size; a hash too many or too few. */
			if (n > 1)
				assert_int_equal(
				    tlog_check_inclusion(&p, n, &roots[n], i, &leaves[(i + 1) % n]),
				    YG_ECONFLICT);
			assert_int_not_equal(
			    tlog_check_inclusion(&p, n, &roots[n - 1], i, &leaves[i]), 0);
			if (n > 1)
				assert_int_not_equal(
				    tlog_check_inclusion(&p, n, &roots[n], (i + 1) % n, &leaves[i]),
				    0);
			/* (A proof can hold for another size of the same shape: with
			 * the root of that size it cannot.) */
			if (n < PROP_MAX)
				assert_int_not_equal(
				    tlog_check_inclusion(&p, n + 1, &roots[n + 1], i, &leaves[i]), 0);
			if (p.len < TLOG_MAX_PROOF) {
				p.h[p.len++] = leaves[i];
				assert_int_equal(
				    tlog_check_inclusion(&p, n, &roots[n], i, &leaves[i]),
				    YG_EFORMAT);
				p.len--;
			}
			if (p.len > 0) {
				p.len--;
				assert_int_equal(
				    tlog_check_inclusion(&p, n, &roots[n], i, &leaves[i]),
				    YG_EFORMAT);
			}
		}
		assert_int_equal(tlog_prove_inclusion(n, n, &r, &(struct tlog_proof){0}),
		                 YG_EINVAL);
	}
	for (n = 1; n <= PROP_MAX; n++) {
		for (m = 1; m <= n; m++) {
			struct tlog_proof p, ref = {0};
			size_t k;

			s.calls = 0;
			s.reads = 0;
			assert_int_equal(tlog_prove_consistency(n, m, &r, &p), 0);
			assert_true(s.calls <= 1);
			assert_true(s.reads <= 3 * 9);
			if (n <= 64) { /* exactly the RFC's PROOF(m, D[n]) */
				ref_subproof(m, leaves, n, 1, &ref);
				assert_int_equal(p.len, ref.len);
				assert_memory_equal(p.h, ref.h, p.len * sizeof p.h[0]);
			}
			assert_int_equal(tlog_check_consistency(&p, n, &roots[n], m, &roots[m]), 0);
			for (k = 0; k < p.len; k++) {
				unsigned bit = flip++ % 256;
				p.h[k].b[bit / 8] ^= (uint8_t)(1u << bit % 8);
				assert_int_equal(
				    tlog_check_consistency(&p, n, &roots[n], m, &roots[m]),
				    YG_ECONFLICT);
				p.h[k].b[bit / 8] ^= (uint8_t)(1u << bit % 8);
			}
			if (m < n) {
				assert_int_not_equal(
				    tlog_check_consistency(&p, n, &roots[n], m, &roots[m - 1]), 0);
				assert_int_not_equal(
				    tlog_check_consistency(&p, n, &roots[m], m, &roots[m]), 0);
				assert_int_not_equal(
				    tlog_check_consistency(&p, n - 1, &roots[n - 1], m, &roots[m]),
				    0);
			}
			if (p.len > 0) {
				p.len--;
				assert_int_not_equal(
				    tlog_check_consistency(&p, n, &roots[n], m, &roots[m]), 0);
			}
		}
		assert_int_equal(
		    tlog_check_consistency(&(struct tlog_proof){0}, n, &roots[n], 0, &roots[0]),
		    YG_EINVAL);
	}
	free(s.h);
	free(leaves);
	free(roots);
}

/* Every bit of every hash of a few proofs, as the brief's "any bit". */
static void test_proofs_every_bit(void **state)
{
	struct store s = {0};
	struct tlog_hash leaves[21], roots[22];
	struct tlog_reader r = {store_read, &s};
	uint64_t n, i;

	(void)state;
	build(&s, leaves, 21);
	for (n = 0; n <= 21; n++)
		assert_int_equal(tlog_tree_hash(n, &r, &roots[n]), 0);
	for (n = 1; n <= 21; n++)
		for (i = 0; i < n; i++) {
			struct tlog_proof p, c;
			size_t k;
			unsigned bit;

			assert_int_equal(tlog_prove_inclusion(n, i, &r, &p), 0);
			assert_int_equal(tlog_prove_consistency(n, i + 1, &r, &c), 0);
			for (k = 0; k < p.len; k++)
				for (bit = 0; bit < 256; bit++) {
					p.h[k].b[bit / 8] ^= (uint8_t)(1u << bit % 8);
					assert_int_equal(
					    tlog_check_inclusion(&p, n, &roots[n], i, &leaves[i]),
					    YG_ECONFLICT);
					p.h[k].b[bit / 8] ^= (uint8_t)(1u << bit % 8);
				}
			for (k = 0; k < c.len; k++)
				for (bit = 0; bit < 256; bit++) {
					c.h[k].b[bit / 8] ^= (uint8_t)(1u << bit % 8);
					assert_int_equal(tlog_check_consistency(&c, n, &roots[n],
					                                        i + 1,
					                                        &roots[i + 1]),
					                 YG_ECONFLICT);
					c.h[k].b[bit / 8] ^= (uint8_t)(1u << bit % 8);
				}
			/* The leaf and the roots too. */
			for (bit = 0; bit < 256; bit += 7) {
				struct tlog_hash x = leaves[i];
				x.b[bit / 8] ^= (uint8_t)(1u << bit % 8);
				assert_int_equal(tlog_check_inclusion(&p, n, &roots[n], i, &x),
				                 YG_ECONFLICT);
				x = roots[i + 1];
				x.b[bit / 8] ^= (uint8_t)(1u << bit % 8);
				assert_int_equal(
				    tlog_check_consistency(&c, n, &roots[n], i + 1, &x),
				    YG_ECONFLICT);
			}
		}
	free(s.h);
}

/* ---- large trees: reads counted, not a tree stored ---- */

struct fake {
	unsigned calls;
	size_t reads;
	uint64_t limit; /* tlog_stored_count(size): no index at or past it */
};

static int fake_read(void *arg, const uint64_t *idx, size_t n, struct tlog_hash *out)
{
	struct fake *f = arg;
	size_t i;

	f->calls++;
	f->reads += n;
	assert_true(n <= TLOG_READ_MAX);
	for (i = 0; i < n; i++) {
		assert_true(idx[i] < f->limit);
		if (i > 0)
			assert_true(idx[i - 1] < idx[i]);
		memset(out[i].b, 0, 32);
		memcpy(out[i].b, &idx[i], sizeof idx[i]);
	}
	return 0;
}

static void test_large_sizes(void **state)
{
	static const uint64_t sizes[] = {10000000,
	                                 10000001,
	                                 16777216,
	                                 123456789012,
	                                 TLOG_MAX_SIZE - 1,
	                                 TLOG_MAX_SIZE - 2,
	                                 ((uint64_t)1 << 61) + 1};
	struct fake f;
	struct tlog_reader r = {fake_read, &f};
	struct tlog_proof p;
	struct tlog_hash h, out[TLOG_MAX_STORED];
	struct tlog_edge e;
	size_t i, cnt;

	(void)state;
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint64_t n = sizes[i], probes[] = {0, 1, n / 2, n / 3 + 7, n - 2, n - 1};
		size_t j;

		f.limit = tlog_stored_count(n);
		for (j = 0; j < sizeof probes / sizeof probes[0]; j++) {
			uint64_t x = probes[j];

			f.calls = 0;
			f.reads = 0;
			assert_int_equal(tlog_prove_inclusion(n, x, &r, &p), 0);
			assert_int_equal(f.calls, 1);
			assert_true(f.reads <= 2 * 63);
			assert_true(p.len <= 62);
			f.calls = 0;
			f.reads = 0;
			assert_int_equal(tlog_prove_consistency(n, x + 1, &r, &p), 0);
			assert_true(f.calls <= 1);
			assert_true(f.reads <= 3 * 63);
			assert_true(p.len <= 63);
		}
		f.calls = 0;
		assert_int_equal(tlog_tree_hash(n, &r, &h), 0);
		assert_int_equal(f.calls, 1);
		/* Appending at the largest sizes, with and without reads. */
		f.limit = tlog_stored_count(n);
		assert_int_equal(tlog_edge_load(&e, n - 1, &r), 0);
		assert_int_equal(tlog_stored_hashes(n - 1, &h, &r, out, &cnt), 0);
		assert_int_equal(tlog_edge_append(&e, &h, out, &cnt), 0);
		assert_int_equal(e.size, n);
		assert_int_equal(tlog_stored_index(0, n - 1) + cnt, tlog_stored_count(n));
	}
	/* The size limit. */
	f.limit = UINT64_MAX;
	assert_int_equal(tlog_prove_inclusion(TLOG_MAX_SIZE, 0, &r, &p), YG_EINVAL);
	assert_int_equal(tlog_tree_hash(TLOG_MAX_SIZE, &r, &h), YG_EINVAL);
	assert_int_equal(tlog_edge_load(&e, TLOG_MAX_SIZE, &r), YG_EINVAL);
	assert_int_equal(tlog_edge_load(&e, TLOG_MAX_SIZE - 1, &r), 0);
	assert_int_equal(tlog_edge_append(&e, &h, out, &cnt), YG_EINVAL);
	p.len = 0;
	assert_int_equal(tlog_check_inclusion(&p, UINT64_MAX, &h, 0, &h), YG_EINVAL);
	assert_int_equal(tlog_check_consistency(&p, UINT64_MAX, &h, 1, &h), YG_EINVAL);
	p.len = TLOG_MAX_PROOF + 1;
	assert_int_equal(tlog_check_inclusion(&p, 5, &h, 0, &h), YG_EFORMAT);
}

static void test_reader_errors(void **state)
{
	struct store s = {0};
	struct tlog_hash leaves[5], h, out[TLOG_MAX_STORED];
	struct tlog_reader r = {store_read, &s};
	struct tlog_edge e, before;
	struct tlog_proof p;
	size_t cnt;

	(void)state;
	build(&s, leaves, 5);
	assert_int_equal(tlog_edge_load(&e, 5, &r), 0);
	before = e;
	s.fail = YG_EIO;
	assert_int_equal(tlog_tree_hash(5, &r, &h), YG_EIO);
	assert_int_equal(tlog_prove_inclusion(5, 1, &r, &p), YG_EIO);
	assert_int_equal(tlog_prove_consistency(5, 3, &r, &p), YG_EIO);
	assert_int_equal(tlog_stored_hashes(5, &leaves[0], &r, out, &cnt), YG_EIO);
	assert_int_equal(tlog_edge_load(&e, 3, &r), YG_EIO);
	assert_memory_equal(&e, &before, sizeof e);
	/* What needs no read does not call the reader. */
	s.calls = 0;
	assert_int_equal(tlog_stored_hashes(4, &leaves[0], &r, out, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(tlog_prove_inclusion(1, 0, &r, &p), 0);
	assert_int_equal(p.len, 0);
	assert_int_equal(tlog_prove_consistency(4, 4, &r, &p), 0);
	assert_int_equal(p.len, 0);
	assert_int_equal(s.calls, 0);
	free(s.h);
}

/* ---- tiles ---- */

struct path_case {
	const char *path;
	int level;
	uint64_t n;
	unsigned width;
};

static void test_tile_paths(void **state)
{
	/* Go's TestTilePath without the height element (C2SP tiles have
	 * height 8), the C2SP example, and the edges of each number. */
	static const struct path_case good[] = {
	    {"tile/0/001", 0, 1, 256},
	    {"tile/0/001.p/5", 0, 1, 5},
	    {"tile/5/x123/x456/078", 5, 123456078, 256},
	    {"tile/5/x123/x456/078.p/2", 5, 123456078, 2},
	    {"tile/0/x003/x057/500", 0, 3057500, 256},
	    {"tile/entries/x003/x057/500", TLOG_TILE_ENTRIES, 3057500, 256},
	    {"tile/entries/x001/x234/067.p/1", TLOG_TILE_ENTRIES, 1234067, 1},
	    {"tile/0/x001/x234/067", 0, 1234067, 256},
	    {"tile/0/000", 0, 0, 256},
	    {"tile/63/000.p/255", 63, 0, 255},
	    {"tile/10/999", 10, 999, 256},
	    {"tile/1/x001/000", 1, 1000, 256},
	    {"tile/0/x018/x446/x744/x073/x709/x551/615", 0, UINT64_MAX, 256},
	};
	static const char *const bad[] = {
	    "",
	    "tile",
	    "tile/",
	    "tile/0",
	    "tile/0/",
	    "tile/0/1",
	    "tile/0/01",
	    "tile/0/0001",
	    "tile/3/5/123/456/078",
	    "tile/-1/123",
	    "tile/00/001",
	    "tile/01/001",
	    "tile/64/001",
	    "tile/100/001",
	    "tile/0/x000/001",
	    "tile/0/x001",
	    "tile/0/x001/",
	    "tile/0/001/",
	    "tile/0/x01/001",
	    "tile/0/xx001/001",
	    "tile/0/001.p/256",
	    "tile/0/001.p/0",
	    "tile/0/001.p/01",
	    "tile/0/001.p/",
	    "tile/0/001.p/1x",
	    "tile/0/001.p/1000",
	    "tile/0/001.p",
	    "tile/0/001.q/5",
	    "tile/0/001/.p/5",
	    "tile/entries/",
	    "tile/entries",
	    "tile/entries/x001",
	    "tile//001",
	    "tile/0//001",
	    "/tile/0/001",
	    "tile/0/001 ",
	    "Tile/0/001",
	    "tile/data/001",
	    "tile/8/0/001",
	    "tile/0/x018/x446/x744/x073/x709/x551/616",
	    "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
	    "tile/0/+01",
	    "tile/0/-01",
	    "tile/0/0x1",
	    "tile/ 0/001",
	    "tile/0/001.p/ 5",
	    "tile/0/\xef\xbc\x91\xef\xbc\x92",
	};
	char buf[TLOG_TILE_PATH_MAX];
	struct tlog_tile t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct tlog_tile want = {good[i].level, good[i].n, good[i].width};
		int len;

		if (tlog_tile_parse(good[i].path, strlen(good[i].path), &t) != 0)
			fail_msg("%s: not parsed", good[i].path);
		assert_int_equal(t.level, want.level);
		assert_int_equal(t.n, want.n);
		assert_int_equal(t.width, want.width);
		len = tlog_tile_path(&want, buf, sizeof buf);
		assert_int_equal(len, (int)strlen(good[i].path));
		assert_string_equal(buf, good[i].path);
		assert_int_equal(tlog_tile_path(&want, buf, (size_t)len), YG_ELIMIT);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (tlog_tile_parse(bad[i], strlen(bad[i]), &t) != YG_EFORMAT)
			fail_msg("%s: parsed", bad[i]);
	/* A NUL inside is a byte like any other, and wrong. */
	assert_int_equal(tlog_tile_parse("tile/0/001\0", 11, &t), YG_EFORMAT);
	assert_int_equal(tlog_tile_parse("tile/0\0/001", 11, &t), YG_EFORMAT);
	/* Tiles out of range have no path. */
	assert_int_equal(tlog_tile_path(&(struct tlog_tile){64, 0, 256}, buf, sizeof buf),
	                 YG_EINVAL);
	assert_int_equal(tlog_tile_path(&(struct tlog_tile){-2, 0, 256}, buf, sizeof buf),
	                 YG_EINVAL);
	assert_int_equal(tlog_tile_path(&(struct tlog_tile){0, 0, 0}, buf, sizeof buf), YG_EINVAL);
	assert_int_equal(tlog_tile_path(&(struct tlog_tile){0, 0, 257}, buf, sizeof buf),
	                 YG_EINVAL);
	/* Every path of a sweep of numbers goes there and back. */
	for (i = 0; i < 3000; i++) {
		struct tlog_tile a = {(int)(i % 5) - 1, (uint64_t)i * 7919 * (i % 3 ? 1 : 1000003),
		                      (unsigned)(i % 256) + 1};
		int len = tlog_tile_path(&a, buf, sizeof buf);

		assert_true(len > 0);
		assert_int_equal(tlog_tile_parse(buf, (size_t)len, &t), 0);
		assert_int_equal(t.level, a.level);
		assert_int_equal(t.n, a.n);
		assert_int_equal(t.width, a.width);
	}
}

/* The C2SP tlog-tiles example: a tree of 70,000 leaves. */
static void test_tile_in_tree(void **state)
{
	(void)state;
	assert_true(tlog_tile_in_tree(&(struct tlog_tile){0, 272, 256}, 70000));
	assert_false(tlog_tile_in_tree(&(struct tlog_tile){0, 273, 256}, 70000));
	assert_true(tlog_tile_in_tree(&(struct tlog_tile){0, 273, 112}, 70000));
	assert_false(tlog_tile_in_tree(&(struct tlog_tile){0, 273, 113}, 70000));
	assert_true(tlog_tile_in_tree(&(struct tlog_tile){TLOG_TILE_ENTRIES, 273, 112}, 70000));
	assert_false(tlog_tile_in_tree(&(struct tlog_tile){TLOG_TILE_ENTRIES, 273, 113}, 70000));
	assert_true(tlog_tile_in_tree(&(struct tlog_tile){1, 0, 256}, 70000));
	assert_true(tlog_tile_in_tree(&(struct tlog_tile){1, 1, 17}, 70000));
	assert_false(tlog_tile_in_tree(&(struct tlog_tile){1, 1, 18}, 70000));
	assert_true(tlog_tile_in_tree(&(struct tlog_tile){2, 0, 1}, 70000));
	assert_false(tlog_tile_in_tree(&(struct tlog_tile){2, 0, 2}, 70000));
	assert_false(tlog_tile_in_tree(&(struct tlog_tile){3, 0, 1}, 70000));
	/* 256 leaves: one full level-0 tile and a level-1 tile of width 1. */
	assert_true(tlog_tile_in_tree(&(struct tlog_tile){0, 0, 256}, 256));
	assert_true(tlog_tile_in_tree(&(struct tlog_tile){1, 0, 1}, 256));
	assert_false(tlog_tile_in_tree(&(struct tlog_tile){1, 0, 2}, 256));
	assert_false(tlog_tile_in_tree(&(struct tlog_tile){0, 1, 1}, 256));
	/* Nothing in an empty tree; nothing absurd anywhere. */
	assert_false(tlog_tile_in_tree(&(struct tlog_tile){0, 0, 1}, 0));
	assert_false(tlog_tile_in_tree(&(struct tlog_tile){63, 0, 1}, UINT64_MAX));
	assert_true(tlog_tile_in_tree(&(struct tlog_tile){7, 0, 255}, UINT64_MAX));
	assert_false(tlog_tile_in_tree(&(struct tlog_tile){0, UINT64_MAX, 256}, UINT64_MAX));
	assert_false(tlog_tile_in_tree(&(struct tlog_tile){0, 0, 0}, 100));
}

/* Go's TestTree tile checks: every stored hash can be read back from the
 * tile tlog_tile_for_index() names, built from stored hashes. */
static void test_tile_hashes(void **state)
{
	enum { N = 70000 };
	struct store s = {0};
	struct tlog_hash *leaves = calloc(N, sizeof *leaves);
	uint64_t idx[TLOG_TILE_WIDTH], j,
	    sizes[] = {1, 2, 255, 256, 257, 511, 512, 600, 65535, 65536, N};
	uint8_t *data = malloc(TLOG_TILE_WIDTH * TLOG_HASH_LEN);
	size_t si;

	(void)state;
	assert_non_null(leaves);
	assert_non_null(data);
	build(&s, leaves, N);
	for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		uint64_t size = sizes[si], count = tlog_stored_count(size);
		uint64_t step = count > 5000 ? count / 4000 : 1;

		for (j = 0; j < count; j += step) {
			struct tlog_tile t;
			struct tlog_hash h;
			unsigned w;

			tlog_tile_for_index(j, &t);
			assert_true(tlog_tile_in_tree(&t, size));
			assert_int_equal(tlog_tile_indexes(&t, idx), 0);
			for (w = 0; w < t.width; w++)
				memcpy(data + w * TLOG_HASH_LEN, s.h[idx[w]].b, TLOG_HASH_LEN);
			assert_int_equal(
			    tlog_tile_hash_at(&t, data, t.width * TLOG_HASH_LEN, j, &h), 0);
			assert_hash_equal(&h, &s.h[j]);
			/* A wider tile of the same row serves too; a narrower one, or
			 * short data, does not. */
			if (t.width < TLOG_TILE_WIDTH &&
			    tlog_tile_in_tree(&(struct tlog_tile){t.level, t.n, t.width + 1},
			                      size)) {
				struct tlog_tile wide = {t.level, t.n, t.width + 1};
				assert_int_equal(tlog_tile_indexes(&wide, idx), 0);
				memcpy(data + t.width * TLOG_HASH_LEN, s.h[idx[t.width]].b,
				       TLOG_HASH_LEN);
				assert_int_equal(tlog_tile_hash_at(&wide, data,
				                                   wide.width * TLOG_HASH_LEN, j,
				                                   &h),
				                 0);
				assert_hash_equal(&h, &s.h[j]);
			}
			if (t.width > 1) {
				struct tlog_tile narrow = {t.level, t.n, t.width - 1};
				assert_int_equal(tlog_tile_hash_at(&narrow, data,
				                                   TLOG_TILE_WIDTH * TLOG_HASH_LEN,
				                                   j, &h),
				                 YG_EINVAL);
			}
			assert_int_equal(
			    tlog_tile_hash_at(&t, data, t.width * TLOG_HASH_LEN - 1, j, &h),
			    YG_EFORMAT);
		}
	}
	/* Tile hashes are the hashes of the subtrees C2SP says: a level-1
	 * tile's first hash is the root of the first 256 leaves. */
	{
		struct tlog_tile t = {1, 0, 1};
		struct tlog_hash ref;

		assert_int_equal(tlog_tile_indexes(&t, idx), 0);
		ref_mth(leaves, 256, &ref);
		assert_hash_equal(&s.h[idx[0]], &ref);
		t = (struct tlog_tile){TLOG_TILE_ENTRIES, 1, 3};
		assert_int_equal(tlog_tile_indexes(&t, idx), 0);
		assert_hash_equal(&s.h[idx[2]], &leaves[258]);
	}
	assert_int_equal(tlog_tile_indexes(&(struct tlog_tile){8, 0, 1}, idx), YG_EINVAL);
	assert_int_equal(tlog_tile_indexes(&(struct tlog_tile){0, UINT64_MAX / 256, 1}, idx),
	                 YG_EINVAL);
	assert_int_equal(tlog_tile_hash_at(&(struct tlog_tile){TLOG_TILE_ENTRIES, 0, 1}, data, 32,
	                                   0, &(struct tlog_hash){{0}}),
	                 YG_EINVAL);
	free(data);
	free(leaves);
	free(s.h);
}

static void test_bundles(void **state)
{
	struct jbuf b;
	static uint8_t big[TLOG_ENTRY_MAX + 1];
	const uint8_t *p, *e;
	size_t len, elen;

	(void)state;
	memset(big, 'x', sizeof big);
	assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
	assert_int_equal(tlog_bundle_put(&b, "abc", 3), 0);
	assert_int_equal(tlog_bundle_put(&b, NULL, 0), 0);
	assert_int_equal(tlog_bundle_put(&b, big, TLOG_ENTRY_MAX), 0);
	assert_int_equal(tlog_bundle_put(&b, big, TLOG_ENTRY_MAX + 1), YG_EINVAL);
	assert_int_equal(b.len, 2 + 3 + 2 + 2 + TLOG_ENTRY_MAX);
	assert_memory_equal(b.buf,
	                    "\x00\x03"
	                    "abc"
	                    "\x00\x00"
	                    "\xff\xff",
	                    9);
	p = (const uint8_t *)b.buf;
	len = b.len;
	assert_int_equal(tlog_bundle_next(&p, &len, &e, &elen), 1);
	assert_int_equal(elen, 3);
	assert_memory_equal(e, "abc", 3);
	assert_int_equal(tlog_bundle_next(&p, &len, &e, &elen), 1);
	assert_int_equal(elen, 0);
	assert_int_equal(tlog_bundle_next(&p, &len, &e, &elen), 1);
	assert_int_equal(elen, TLOG_ENTRY_MAX);
	assert_int_equal(tlog_bundle_next(&p, &len, &e, &elen), 0);
	/* Truncated: in the length, and in the entry. */
	p = (const uint8_t *)b.buf;
	len = 1;
	assert_int_equal(tlog_bundle_next(&p, &len, &e, &elen), YG_ETRUNC);
	assert_int_equal(len, 1);
	len = 4;
	assert_int_equal(tlog_bundle_next(&p, &len, &e, &elen), YG_ETRUNC);
	assert_ptr_equal(p, (const uint8_t *)b.buf);
	jbuf_fini(&b);
	/* A full jbuf's error comes back. */
	assert_int_equal(jbuf_init(&b, 4, 8), 0);
	assert_int_equal(tlog_bundle_put(&b, "abcdefgh", 8), YG_ELIMIT);
	jbuf_fini(&b);
}

static void test_hash_b64(void **state)
{
	struct tlog_hash h, g;
	char s[TLOG_HASH_B64_LEN + 1];

	(void)state;
	/* Go's TestFormatTree hash: RecordHash("hello world"). */
	tlog_leaf_hash("hello world", 11, &h);
	tlog_hash_to_b64(&h, s);
	assert_string_equal(s, "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=");
	assert_int_equal(tlog_hash_from_b64(s, strlen(s), &g), 0);
	assert_hash_equal(&g, &h);
	/* Non-canonical: low bits set under the padding; wrong lengths. */
	assert_int_equal(tlog_hash_from_b64("TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb1=", 44, &g),
	                 YG_EFORMAT);
	assert_int_equal(tlog_hash_from_b64("TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0", 43, &g),
	                 YG_EFORMAT);
	assert_int_equal(
	    tlog_hash_from_b64("TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=", 48, &g),
	    YG_EFORMAT);
	assert_int_equal(tlog_hash_from_b64("TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40Hmuw====", 44, &g),
	                 YG_EFORMAT);
	assert_int_equal(tlog_hash_from_b64("TszzRgjTG6xce-z2AG31kAXYKBgQVtCSCE40HmuwBb0=", 44, &g),
	                 YG_EFORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6962_tree),     cmocka_unit_test(test_stored_split),
	    cmocka_unit_test(test_merkle_vectors),   cmocka_unit_test(test_proofs_all_sizes),
	    cmocka_unit_test(test_proofs_every_bit), cmocka_unit_test(test_large_sizes),
	    cmocka_unit_test(test_reader_errors),    cmocka_unit_test(test_tile_paths),
	    cmocka_unit_test(test_tile_in_tree),     cmocka_unit_test(test_tile_hashes),
	    cmocka_unit_test(test_bundles),          cmocka_unit_test(test_hash_b64),
	};
	int failed = cmocka_run_group_tests_name("tlog merkle", tests, NULL, NULL);

	failed += tlog_note_tests();
	free(rfc_store.h);
	return failed;
}
