/* fuzz_tlog_note.c - the transparency log's parsers and verifiers
 * (src/tlog) on hostile input. The first byte picks what the rest is:
 *
 *   0  a signed note, opened with five known keys: the C2SP example key,
 *      Go's two test keys, a log key and a witness cosignature key;
 *   1  checkpoint text;   2  a verifier or signer key text;
 *   3  a tile path;       4  an entry bundle;
 *   5  a proof against a real 64-leaf tree, or with hostile sizes.
 *
 * What it checks beyond not crashing: whatever parses formats back to the
 * same bytes (checkpoints, keys, tile paths, bundles: one canonical form);
 * an opened note's text and signatures lie inside the input and agree with
 * its counts; a proof accepted against the real tree is the real proof. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jbuf.h"
#include "tlog/tlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TREE 64

static struct tlog_verifier keys[5];
static struct tlog_hash stored[2 * TREE], roots[TREE + 1];
static size_t nstored;
static struct tlog_note note;

static int read_stored(void *arg, const uint64_t *idx, size_t n, struct tlog_hash *out)
{
	size_t i;

	(void)arg;
	for (i = 0; i < n; i++) {
		if (idx[i] >= nstored)
			abort();
		out[i] = stored[idx[i]];
	}
	return 0;
}

static const struct tlog_reader reader = {read_stored, NULL};

static void setup(void)
{
	static const char *const vkeys[] = {
	    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop",
	};
	static const uint8_t log_seed[32] = {1}, wit_seed[32] = {2};
	struct tlog_signer s;
	struct tlog_edge e;
	size_t i, n;

	for (i = 0; i < 3; i++)
		if (tlog_vkey_parse(vkeys[i], strlen(vkeys[i]), &keys[i]) != 0)
			abort();
	if (tlog_signer_from_seed("example.com/log", 15, TLOG_SIG_ED25519, log_seed, &s) != 0)
		abort();
	tlog_signer_verifier(&s, &keys[3]);
	if (tlog_signer_from_seed("witness.example/w1", 18, TLOG_SIG_COSIGNATURE, wit_seed, &s) !=
	    0)
		abort();
	tlog_signer_verifier(&s, &keys[4]);
	tlog_signer_wipe(&s);
	tlog_edge_init(&e);
	tlog_empty_hash(&roots[0]);
	for (i = 0; i < TREE; i++) {
		struct tlog_hash leaf, out[TLOG_MAX_STORED];
		uint8_t b = (uint8_t)i;

		tlog_leaf_hash(&b, 1, &leaf);
		if (tlog_edge_append(&e, &leaf, out, &n) != 0)
			abort();
		memcpy(stored + nstored, out, n * sizeof out[0]);
		nstored += n;
		tlog_edge_root(&e, &roots[i + 1]);
	}
}

static void check_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen || memcmp(a, b, alen) != 0)
		abort();
}

static void fuzz_note(const char *p, size_t n)
{
	struct tlog_checkpoint c;
	size_t i, verified = 0;
	int rc = tlog_note_open(p, n, keys, 5, &note);

	if (rc != 0 && rc != YG_ENOTFOUND)
		return;
	if (note.text != p || note.text_len == 0 || note.text_len >= n ||
	    p[note.text_len - 1] != '\n' || note.nsigs == 0 || note.nsigs > TLOG_NOTE_MAX_SIGS)
		abort();
	for (i = 0; i < note.nsigs; i++) {
		const struct tlog_note_sig *s = &note.sigs[i];
		if (s->name < p + note.text_len || s->name + s->name_len > p + n ||
		    s->name_len == 0)
			abort();
		if (s->key >= 0) {
			if (s->key >= 5 || keys[s->key].id != s->id)
				abort();
			verified++;
		}
	}
	if (verified != note.verified || (rc == 0) != (verified > 0))
		abort();
	if (tlog_checkpoint_parse(note.text, note.text_len, &c) == 0) {
		struct jbuf b;
		if (jbuf_init(&b, 256, TLOG_NOTE_MAX) != 0)
			abort();
		if (tlog_checkpoint_format(&c, &b) != 0)
			abort();
		check_equal(b.buf, b.len, note.text, note.text_len);
		jbuf_fini(&b);
	}
}

static void fuzz_checkpoint(const char *p, size_t n)
{
	struct tlog_checkpoint c;
	struct jbuf b;

	if (tlog_checkpoint_parse(p, n, &c) != 0)
		return;
	if (jbuf_init(&b, 256, TLOG_NOTE_MAX) != 0 || tlog_checkpoint_format(&c, &b) != 0)
		abort();
	check_equal(b.buf, b.len, p, n);
	jbuf_fini(&b);
}

static void fuzz_key(const char *p, size_t n)
{
	char buf[TLOG_KEY_TEXT_MAX];
	struct tlog_verifier v;
	struct tlog_signer s;
	int len;

	if (tlog_vkey_parse(p, n, &v) == 0) {
		if ((len = tlog_vkey_format(&v, buf, sizeof buf)) < 0)
			abort();
		check_equal(buf, (size_t)len, p, n);
	}
	if (tlog_skey_parse(p, n, &s) == 0) {
		if ((len = tlog_skey_format(&s, buf, sizeof buf)) < 0)
			abort();
		check_equal(buf, (size_t)len, p, n);
		tlog_signer_wipe(&s);
	}
}

static void fuzz_tile(const char *p, size_t n)
{
	char buf[TLOG_TILE_PATH_MAX];
	uint64_t idx[TLOG_TILE_WIDTH];
	struct tlog_tile t;
	int len;

	if (tlog_tile_parse(p, n, &t) != 0)
		return;
	if ((len = tlog_tile_path(&t, buf, sizeof buf)) < 0)
		abort();
	check_equal(buf, (size_t)len, p, n);
	if (tlog_tile_indexes(&t, idx) == 0 && !tlog_tile_in_tree(&t, TLOG_MAX_SIZE))
		abort();
	(void)tlog_tile_in_tree(&t, (uint64_t)n << 20);
}

static void fuzz_bundle(const uint8_t *p, size_t n)
{
	const uint8_t *at = p, *e;
	size_t left = n, elen;
	struct jbuf b;
	int rc;

	if (jbuf_init(&b, 64, n + 16) != 0)
		abort();
	while ((rc = tlog_bundle_next(&at, &left, &e, &elen)) == 1) {
		if (e < p || e + elen > p + n)
			abort();
		if (tlog_bundle_put(&b, e, elen) != 0)
			abort();
	}
	if (rc == 0)
		check_equal(b.buf, b.len, p, n);
	else if (rc != YG_ETRUNC)
		abort();
	jbuf_fini(&b);
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void fuzz_proof(const uint8_t *p, size_t n)
{
	struct tlog_proof real, got;
	uint8_t kind;
	uint64_t size, x;
	size_t i;
	int rc;

	if (n < 3)
		return;
	kind = p[0];
	if (kind & 0x80) { /* hostile sizes and hashes, straight in */
		struct tlog_hash a, b;
		if (n < 1 + 16 + 64)
			return;
		size = load64(p + 1);
		x = load64(p + 9);
		memcpy(a.b, p + 17, 32);
		memcpy(b.b, p + 49, 32);
		p += 81;
		n -= 81;
		got.len = n / 32 > TLOG_MAX_PROOF ? TLOG_MAX_PROOF : n / 32;
		for (i = 0; i < got.len; i++)
			memcpy(got.h[i].b, p + 32 * i, 32);
		(void)tlog_check_inclusion(&got, size, &a, x, &b);
		(void)tlog_check_consistency(&got, size, &a, x, &b);
		return;
	}
	size = p[1] % TREE + 1;
	x = p[2] % size;
	p += 3;
	n -= 3;
	if (kind & 1) {
		if (tlog_prove_inclusion(size, x, &reader, &real) != 0)
			abort();
	} else {
		x += 1; /* the old size, 1..size */
		if (tlog_prove_consistency(size, x, &reader, &real) != 0)
			abort();
	}
	/* The fuzzer's bytes XOR the real proof, and may lengthen or shorten it. */
	got = real;
	if (kind & 2) {
		int d = (kind >> 2) % 3 - 1;
		if ((d > 0 && got.len < TLOG_MAX_PROOF) || (d < 0 && got.len > 0))
			got.len = (size_t)((long)got.len + d);
		if (got.len > real.len)
			memset(got.h[got.len - 1].b, 0, 32);
	}
	for (i = 0; i < got.len && n >= 32; i++, p += 32, n -= 32) {
		size_t k;
		for (k = 0; k < 32; k++)
			got.h[i].b[k] ^= p[k];
	}
	if (kind & 1) {
		struct tlog_hash leaf;
		uint8_t b = (uint8_t)x;
		tlog_leaf_hash(&b, 1, &leaf);
		rc = tlog_check_inclusion(&got, size, &roots[size], x, &leaf);
	} else {
		rc = tlog_check_consistency(&got, size, &roots[size], x, &roots[x]);
	}
	if (rc == 0)
		check_equal(got.h, got.len * sizeof got.h[0], real.h, real.len * sizeof real.h[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const char *text = (const char *)data + 1;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		fuzz_note(text, size - 1);
		break;
	case 1:
		fuzz_checkpoint(text, size - 1);
		break;
	case 2:
		fuzz_key(text, size - 1);
		break;
	case 3:
		fuzz_tile(text, size - 1);
		break;
	case 4:
		fuzz_bundle(data + 1, size - 1);
		break;
	default:
		fuzz_proof(data + 1, size - 1);
		break;
	}
	return 0;
}
