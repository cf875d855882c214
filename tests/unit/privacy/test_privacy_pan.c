/* Unit tests for src/privacy: Crypto-PAn against the reference vectors and
 * an independent bit-by-bit implementation, its properties (prefixes kept,
 * reversible, nothing allocated per call), protected prefix sets and key
 * files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/alloc.h"
#include "base/ipaddr.h"
#include "privacy/cryptopan.h"
#include "privacy/protect.h"

#ifndef YG_SHARED_DIR
#define YG_SHARED_DIR "../shared"
#endif
#define PAN_DIR YG_SHARED_DIR "/data/cryptopan"

/* The sample key of the original Crypto-PAn distribution, as key.txt
 * writes it, and a few of its published pairs, so that the algorithm is
 * checked even where the shared directory is absent. */
static const char sample_key_text[] =
	"21 34 23 141 51 164 207 128 19 10 91 22 73 144 125 16 "
	"216 152 143 131 121 121 101 39 98 87 76 45 42 132 34 2\n";

static const char *const builtin_vectors[][2] = {
	{"128.11.68.132", "135.242.180.132"},
	{"129.118.74.4", "134.136.186.123"},
	{"10.185.25.118", "117.161.29.118"},
	{"64.34.154.117", "0.221.154.117"},
	{"::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"},
	{"2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"},
};

/* OpenSSL allocations, counted through CRYPTO_set_mem_functions. */
static unsigned long ossl_allocs;
static int ossl_counting;

static void *count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	ossl_allocs++;
	return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	ossl_allocs++;
	return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

static uint64_t rng_state = 0x5eed5eed12345678ull;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

static void sample_key(uint8_t key[CRYPTOPAN_KEY_LEN])
{
	char err[256];

	assert_int_equal(protect_key_parse((const uint8_t *)sample_key_text,
					   strlen(sample_key_text), key, err, sizeof(err)),
			 0);
}

static struct cryptopan *sample_pan(void)
{
	uint8_t key[CRYPTOPAN_KEY_LEN];
	struct cryptopan *cp;

	sample_key(key);
	assert_int_equal(cryptopan_new(key, &cp), 0);
	return cp;
}

static struct ip_addr addr(const char *s)
{
	struct ip_addr ip;

	assert_int_equal(ipaddr_parse(s, &ip), 0);
	return ip;
}

static void expect_pair(struct cryptopan *cp, const char *orig, const char *pseud)
{
	struct ip_addr o = addr(orig), p = addr(pseud), r;
	char s[IPADDR_STRLEN];

	assert_int_equal(cryptopan_anonymize_addr(cp, &o, &r), 0);
	ipaddr_fmt(&r, s);
	if (memcmp(&r, &p, sizeof(r)) != 0)
		fail_msg("%s: pseudonym %s, expected %s", orig, s, pseud);
	assert_int_equal(cryptopan_deanonymize_addr(cp, &p, &r), 0);
	ipaddr_fmt(&r, s);
	if (memcmp(&r, &o, sizeof(r)) != 0)
		fail_msg("%s: recovered %s, expected %s", pseud, s, orig);
	/* In place, as protect_addr calls it. */
	r = o;
	assert_int_equal(cryptopan_anonymize_addr(cp, &r, &r), 0);
	assert_memory_equal(&r, &p, sizeof(r));
}

static void test_vectors_builtin(void **state)
{
	struct cryptopan *cp = sample_pan();

	(void)state;
	for (int pass = 0; pass < 2; pass++) /* the second finds prefixes cached */
		for (size_t i = 0; i < sizeof(builtin_vectors) / sizeof(builtin_vectors[0]); i++)
			expect_pair(cp, builtin_vectors[i][0], builtin_vectors[i][1]);
	assert_true(cryptopan_stats(cp)->cache_hits > 0);
	cryptopan_free(cp);
}

static size_t read_whole(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	n = fread(buf, 1, cap, f);
	fclose(f);
	assert_true(n < cap);
	return n;
}

/* Every pair of the shared reference vectors, forward and reverse, on a
 * fresh instance and again with its caches warm. */
static void test_vectors_shared(void **state)
{
	uint8_t key[CRYPTOPAN_KEY_LEN], buf[8192];
	char err[256], line[256], *tab;
	struct cryptopan *cp;
	struct stat st;
	unsigned n4 = 0, n6 = 0;
	size_t n;
	FILE *f;

	(void)state;
	if (stat(PAN_DIR, &st) < 0) {
		print_message("%s absent: reference vectors skipped\n", PAN_DIR);
		skip();
	}
	n = read_whole(PAN_DIR "/key.txt", buf, sizeof(buf));
	if (protect_key_parse(buf, n, key, err, sizeof(err)) < 0)
		fail_msg("key.txt: %s", err);
	assert_int_equal(cryptopan_new(key, &cp), 0);
	for (int pass = 0; pass < 2; pass++) {
		f = fopen(PAN_DIR "/vectors.tsv", "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			tab = strchr(line, '\t');
			if (tab == NULL || strcmp(line, "original\tpseudonym") == 0)
				continue;
			*tab = '\0';
			expect_pair(cp, line, tab + 1);
			if (pass == 0)
				*(strchr(line, ':') != NULL ? &n6 : &n4) += 1;
		}
		fclose(f);
	}
	print_message("reference vectors: %u IPv4, %u IPv6 pairs, both ways\n", n4, n6);
	assert_true(n4 >= 70);
	assert_true(n6 >= 5);
	cryptopan_free(cp);
}

/* An independent, slow transcription of the original C++ (IPv4) and of the
 * Go extension (IPv6): one AES call per bit, no caches, no batching. */
struct ref_pan {
	EVP_CIPHER_CTX *ctx;
	uint8_t pad[16];
};

static void ref_init(struct ref_pan *r, const uint8_t key[CRYPTOPAN_KEY_LEN])
{
	int outl;

	r->ctx = EVP_CIPHER_CTX_new();
	assert_non_null(r->ctx);
	assert_int_equal(EVP_EncryptInit_ex(r->ctx, EVP_aes_128_ecb(), NULL, key, NULL), 1);
	EVP_CIPHER_CTX_set_padding(r->ctx, 0);
	assert_int_equal(EVP_EncryptUpdate(r->ctx, r->pad, &outl, key + 16, 16), 1);
}

static unsigned ref_bit(struct ref_pan *r, const uint8_t *in)
{
	uint8_t out[16];
	int outl;

	assert_int_equal(EVP_EncryptUpdate(r->ctx, out, &outl, in, 16), 1);
	return out[0] >> 7;
}

static uint32_t ref_anon4(struct ref_pan *r, uint32_t orig)
{
	uint32_t first4 = (uint32_t)r->pad[0] << 24 | (uint32_t)r->pad[1] << 16 |
			  (uint32_t)r->pad[2] << 8 | r->pad[3];
	uint32_t result = 0, newpad;
	uint8_t in[16];

	memcpy(in, r->pad, 16);
	for (int pos = 0; pos <= 31; pos++) {
		newpad = pos == 0 ? first4
				  : ((orig >> (32 - pos)) << (32 - pos)) | ((first4 << pos) >> pos);
		in[0] = (uint8_t)(newpad >> 24);
		in[1] = (uint8_t)(newpad >> 16);
		in[2] = (uint8_t)(newpad >> 8);
		in[3] = (uint8_t)newpad;
		result |= (uint32_t)ref_bit(r, in) << (31 - pos);
	}
	return result ^ orig;
}

static void ref_anon6(struct ref_pan *r, const uint8_t orig[16], uint8_t out[16])
{
	uint8_t in[16];

	memset(out, 0, 16);
	for (int pos = 0; pos < 128; pos++) {
		for (int b = 0; b < 128; b++) {
			const uint8_t *src = b < pos ? orig : r->pad;
			unsigned bit = (src[b / 8] >> (7 - b % 8)) & 1;

			if (b % 8 == 0)
				in[b / 8] = 0;
			in[b / 8] |= (uint8_t)(bit << (7 - b % 8));
		}
		out[pos / 8] |= (uint8_t)(ref_bit(r, in) << (7 - pos % 8));
	}
	for (int i = 0; i < 16; i++)
		out[i] ^= orig[i];
}

static void test_matches_reference(void **state)
{
	uint8_t key[CRYPTOPAN_KEY_LEN], a[16], p[16], want[16];
	struct cryptopan *cp;
	struct ref_pan ref;
	uint32_t x, y = 0;

	(void)state;
	for (int k = 0; k < 3; k++) {
		if (k == 0)
			sample_key(key);
		else
			rng_bytes(key, sizeof(key));
		ref_init(&ref, key);
		assert_int_equal(cryptopan_new(key, &cp), 0);
		for (int i = 0; i < 3000; i++) {
			/* A third share a /24 with the previous address: cache hits. */
			x = (uint32_t)rng();
			if (i % 3 == 1)
				x = (x & 0xff) | (y & 0xffffff00u);
			y = x;
			a[0] = (uint8_t)(x >> 24);
			a[1] = (uint8_t)(x >> 16);
			a[2] = (uint8_t)(x >> 8);
			a[3] = (uint8_t)x;
			assert_int_equal(cryptopan_anonymize_v4(cp, a, p), 0);
			x = ref_anon4(&ref, x);
			assert_int_equal((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
						 (uint32_t)p[2] << 8 | p[3],
					 x);
		}
		for (int i = 0; i < 300; i++) {
			if (i % 3 == 1)
				rng_bytes(a + 8, 8); /* same /64 as before */
			else
				rng_bytes(a, 16);
			assert_int_equal(cryptopan_anonymize_v6(cp, a, p), 0);
			ref_anon6(&ref, a, want);
			assert_memory_equal(p, want, 16);
		}
		assert_true(cryptopan_stats(cp)->cache_hits >= 1000);
		cryptopan_free(cp);
		EVP_CIPHER_CTX_free(ref.ctx);
	}
}

static int common_prefix(const uint8_t *a, const uint8_t *b, int nbits)
{
	int i;

	for (i = 0; i < nbits; i++)
		if (((a[i / 8] ^ b[i / 8]) >> (7 - i % 8)) & 1)
			break;
	return i;
}

/* Two addresses sharing exactly k leading bits have pseudonyms sharing
 * exactly k leading bits. */
static void test_prefix_preserved(void **state)
{
	struct cryptopan *cp = sample_pan();
	uint8_t a[16], b[16], pa[16], pb[16];

	(void)state;
	for (int fam = 4; fam <= 6; fam += 2) {
		int nbits = fam == 4 ? 32 : 128;

		for (int i = 0; i < 20000; i++) {
			int k = (int)(rng() % (uint64_t)(nbits + 1));

			rng_bytes(a, 16);
			rng_bytes(b, 16);
			for (int bit = 0; bit < k; bit++) {
				uint8_t m = (uint8_t)(0x80 >> (bit % 8));

				b[bit / 8] = (uint8_t)((b[bit / 8] & ~m) | (a[bit / 8] & m));
			}
			if (k < nbits)
				b[k / 8] = (uint8_t)(b[k / 8] & ~(0x80 >> (k % 8))) |
					   (uint8_t)(~a[k / 8] & (0x80 >> (k % 8)));
			assert_int_equal(common_prefix(a, b, nbits), k);
			if (fam == 4) {
				assert_int_equal(cryptopan_anonymize_v4(cp, a, pa), 0);
				assert_int_equal(cryptopan_anonymize_v4(cp, b, pb), 0);
			} else {
				assert_int_equal(cryptopan_anonymize_v6(cp, a, pa), 0);
				assert_int_equal(cryptopan_anonymize_v6(cp, b, pb), 0);
			}
			if (common_prefix(pa, pb, nbits) != k)
				fail_msg("IPv%d: inputs share %d bits, pseudonyms %d", fam, k,
					 common_prefix(pa, pb, nbits));
		}
	}
	cryptopan_free(cp);
}

/* deanonymize(anonymize(x)) == x and the other way round. */
static void test_roundtrip(void **state)
{
	uint8_t key[CRYPTOPAN_KEY_LEN], a[16], p[16], r[16];
	struct cryptopan *cp;

	(void)state;
	rng_bytes(key, sizeof(key));
	assert_int_equal(cryptopan_new(key, &cp), 0);
	for (int i = 0; i < 100000; i++) {
		rng_bytes(a, 4);
		assert_int_equal(cryptopan_anonymize_v4(cp, a, p), 0);
		assert_int_equal(cryptopan_deanonymize_v4(cp, p, r), 0);
		assert_memory_equal(a, r, 4);
		assert_int_equal(cryptopan_deanonymize_v4(cp, a, p), 0);
		assert_int_equal(cryptopan_anonymize_v4(cp, p, r), 0);
		assert_memory_equal(a, r, 4);
	}
	for (int i = 0; i < 10000; i++) {
		rng_bytes(a, 16);
		assert_int_equal(cryptopan_anonymize_v6(cp, a, p), 0);
		assert_int_equal(cryptopan_deanonymize_v6(cp, p, r), 0);
		assert_memory_equal(a, r, 16);
		assert_int_equal(cryptopan_deanonymize_v6(cp, a, p), 0);
		assert_int_equal(cryptopan_anonymize_v6(cp, p, r), 0);
		assert_memory_equal(a, r, 16);
	}
	/* The edges. */
	memset(a, 0, 16);
	assert_int_equal(cryptopan_anonymize_v6(cp, a, p), 0);
	assert_int_equal(cryptopan_deanonymize_v6(cp, p, r), 0);
	assert_memory_equal(a, r, 16);
	memset(a, 0xff, 16);
	assert_int_equal(cryptopan_anonymize_v4(cp, a, p), 0);
	assert_int_equal(cryptopan_deanonymize_v4(cp, p, r), 0);
	assert_memory_equal(a, r, 4);
	cryptopan_free(cp);
}

static void test_addr_family(void **state)
{
	struct cryptopan *cp = sample_pan();
	struct ip_addr ip = addr("192.0.2.1"), out;

	(void)state;
	ip.family = 5;
	assert_int_equal(cryptopan_anonymize_addr(cp, &ip, &out), YG_EINVAL);
	assert_int_equal(cryptopan_deanonymize_addr(cp, &ip, &out), YG_EINVAL);
	/* An IPv4 pseudonym keeps the struct's zeroed tail. */
	ip = addr("192.0.2.1");
	assert_int_equal(cryptopan_anonymize_addr(cp, &ip, &out), 0);
	assert_int_equal(out.family, 4);
	for (int i = 4; i < 16; i++)
		assert_int_equal(out.a[i], 0);
	cryptopan_free(cp);
}

/* After cryptopan_new, calls allocate nothing: neither through yg_malloc
 * (every allocation would fail) nor inside libcrypto (counted). */
static void test_no_alloc_per_call(void **state)
{
	struct protect_set *ps;
	struct cryptopan *cp;
	struct ip_addr ip;
	uint8_t a[16], p[16];
	unsigned long before;
	char err[128];

	(void)state;
	assert_int_equal(protect_set_parse("10.0.0.0/8,2001:db8::/32", &ps, err, sizeof(err)), 0);
	cp = sample_pan();
	yg_alloc_fail_after(0);
	before = ossl_allocs;
	for (int i = 0; i < 2000; i++) {
		rng_bytes(a, 16);
		assert_int_equal(cryptopan_anonymize_v4(cp, a, p), 0);
		assert_int_equal(cryptopan_deanonymize_v4(cp, a, p), 0);
		assert_int_equal(cryptopan_anonymize_v6(cp, a, p), 0);
		assert_int_equal(cryptopan_deanonymize_v6(cp, a, p), 0);
		a[0] = 10;
		ipaddr_set4(&ip, a);
		assert_int_equal(protect_addr(ps, cp, &ip), 1);
		memcpy(a, "\x20\x01\x0d\xb8", 4);
		ipaddr_set6(&ip, a);
		assert_int_equal(protect_addr(ps, cp, &ip), 1);
	}
	yg_alloc_fail_after(-1);
	if (ossl_counting) {
		EVP_CIPHER_CTX *probe;

		assert_int_equal(ossl_allocs, before);
		/* The hook is live: libcrypto's own allocations are seen. */
		probe = EVP_CIPHER_CTX_new();
		assert_true(ossl_allocs > before);
		EVP_CIPHER_CTX_free(probe);
		print_message("12000 calls: 0 allocations (yg_malloc and libcrypto)\n");
	} else {
		print_message("libcrypto allocations not countable here: checked yg_malloc only\n");
	}
	cryptopan_free(cp);
	protect_set_free(ps);
}

static void test_new_alloc_failure(void **state)
{
	uint8_t key[CRYPTOPAN_KEY_LEN];
	struct cryptopan *cp = (struct cryptopan *)1;

	(void)state;
	sample_key(key);
	yg_alloc_fail_after(0);
	assert_int_equal(cryptopan_new(key, &cp), YG_ENOMEM);
	assert_null(cp);
	yg_alloc_fail_after(-1);
	cryptopan_free(NULL);
}

/* Protected prefix sets */

static struct protect_set *parse_ok(const char *spec)
{
	struct protect_set *ps;
	char err[256];

	if (protect_set_parse(spec, &ps, err, sizeof(err)) != 0)
		fail_msg("'%s': %s", spec != NULL ? spec : "(null)", err);
	return ps;
}

static void test_protect_membership(void **state)
{
	static const char *const in[] = {
		"192.0.2.0",  "192.0.2.255", "10.0.0.0",   "10.255.255.255",
		"10.1.2.3",   "2001:db8::",  "2001:db8:1::5",
		"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	static const char *const out[] = {
		"192.0.1.255", "192.0.3.0", "9.255.255.255", "11.0.0.0", "0.0.0.0",
		"255.255.255.255", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::", "::",
		"::ffff:10.0.0.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	struct protect_set *ps = parse_ok("192.0.2.0/24,2001:db8::/32,10.0.0.0/8");
	struct cryptopan *cp = sample_pan();
	struct ip_addr ip, orig, want;
	size_t i;

	(void)state;
	assert_int_equal(protect_set_count(ps), 3);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		orig = ip = addr(in[i]);
		if (!protect_set_contains(ps, &ip))
			fail_msg("%s should be protected", in[i]);
		assert_int_equal(cryptopan_anonymize_addr(cp, &orig, &want), 0);
		assert_int_equal(protect_addr(ps, cp, &ip), 1);
		assert_memory_equal(&ip, &want, sizeof(ip));
		assert_int_equal(cryptopan_deanonymize_addr(cp, &ip, &ip), 0);
		assert_memory_equal(&ip, &orig, sizeof(ip));
	}
	for (i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		orig = ip = addr(out[i]);
		if (protect_set_contains(ps, &ip))
			fail_msg("%s should not be protected", out[i]);
		assert_int_equal(protect_addr(ps, cp, &ip), 0);
		assert_memory_equal(&ip, &orig, sizeof(ip));
	}
	/* The sample pseudonym of 10.185.25.118 is outside every prefix. */
	ip = addr("10.185.25.118");
	assert_int_equal(protect_addr(ps, cp, &ip), 1);
	want = addr("117.161.29.118");
	assert_memory_equal(&ip, &want, sizeof(ip));
	/* No set, or an empty one: nothing is protected. */
	ip = addr("10.1.2.3");
	assert_int_equal(protect_addr(NULL, cp, &ip), 0);
	protect_set_free(ps);
	ps = parse_ok("  ");
	assert_int_equal(protect_set_count(ps), 0);
	assert_int_equal(protect_addr(ps, cp, &ip), 0);
	protect_set_free(ps);
	ps = parse_ok(NULL);
	assert_int_equal(protect_set_count(ps), 0);
	protect_set_free(ps);
	/* /0 takes a whole family, and only it. */
	ps = parse_ok("0.0.0.0/0");
	assert_true(protect_set_contains(ps, &ip));
	ip = addr("::1");
	assert_false(protect_set_contains(ps, &ip));
	protect_set_free(ps);
	ps = parse_ok("::/0");
	assert_true(protect_set_contains(ps, &ip));
	ip = addr("10.1.2.3");
	assert_false(protect_set_contains(ps, &ip));
	protect_set_free(ps);
	cryptopan_free(cp);
}

static void expect_format(const char *spec, const char *want)
{
	struct protect_set *ps = parse_ok(spec);
	char buf[512];
	size_t n = protect_set_format(ps, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
	protect_set_free(ps);
}

static void test_protect_normalized(void **state)
{
	const char *full = "10.0.0.0/8,192.0.2.0/24";
	struct protect_set *ps;
	char small[8];

	(void)state;
	expect_format("10.1.0.0/16, 10.0.0.0/8,\t192.0.2.0/24 ,2001:db8::/32,2001:db8:1::/48,"
		      "10.0.0.0/8,10.255.255.255",
		      "10.0.0.0/8,192.0.2.0/24,2001:db8::/32");
	expect_format("2001:DB8::1,192.0.2.8/32,192.0.2.7",
		      "192.0.2.7/32,192.0.2.8/32,2001:db8::1/128");
	expect_format("192.0.2.0/25,192.0.2.128/25", "192.0.2.0/25,192.0.2.128/25");
	expect_format("", "");
	ps = parse_ok("192.0.2.0/24,10.0.0.0/8");
	assert_int_equal(protect_set_format(ps, small, sizeof(small)), strlen(full));
	assert_string_equal(small, "10.0.0.");
	assert_int_equal(protect_set_format(ps, NULL, 0), strlen(full));
	protect_set_free(ps);
}

/* Membership against a linear scan, over random nested and disjoint sets. */
static void test_protect_random_sets(void **state)
{
	char spec[8192], net[IPADDR_STRLEN];
	struct ip_addr pfx[120], ip;
	unsigned len[120];
	size_t off;

	(void)state;
	for (int round = 0; round < 30; round++) {
		struct protect_set *ps;
		int n = 1 + (int)(rng() % 120);

		off = 0;
		for (int i = 0; i < n; i++) {
			uint8_t a[16];
			int v6 = rng() % 3 == 0;
			unsigned max = v6 ? 128 : 32;

			rng_bytes(a, 16);
			a[0] = (uint8_t)(a[0] & 0x0f); /* crowd them so that they nest */
			len[i] = (unsigned)(rng() % (max + 1));
			if (v6)
				ipaddr_set6(&pfx[i], a);
			else
				ipaddr_set4(&pfx[i], a);
			for (unsigned b = len[i]; b < max; b++)
				pfx[i].a[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
			ipaddr_fmt(&pfx[i], net);
			off += (size_t)snprintf(spec + off, sizeof(spec) - off, "%s%s/%u",
						i ? "," : "", net, len[i]);
			assert_true(off < sizeof(spec));
		}
		ps = parse_ok(spec);
		for (int t = 0; t < 3000; t++) {
			int want = 0;

			/* Near a prefix: its start with random low bits. */
			ip = pfx[rng() % (uint64_t)n];
			for (unsigned b = (unsigned)(rng() % 129); b < 128; b++)
				if (rng() & 1)
					ip.a[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
			if (ip.family == 4)
				memset(ip.a + 4, 0, 12);
			for (int i = 0; i < n && !want; i++) {
				int nbits = (int)len[i];

				want = pfx[i].family == ip.family &&
				       common_prefix(pfx[i].a, ip.a, nbits) == nbits;
			}
			if (protect_set_contains(ps, &ip) != want) {
				ipaddr_fmt(&ip, net);
				fail_msg("%s: contains %d, linear scan %d (set %s)", net, !want,
					 want, spec);
			}
		}
		protect_set_free(ps);
	}
}

static void expect_parse_error(const char *spec, int code, const char *want1, const char *want2)
{
	struct protect_set *ps = (struct protect_set *)1;
	char err[256];

	if (protect_set_parse(spec, &ps, err, sizeof(err)) != code)
		fail_msg("'%s' should fail with %d", spec, code);
	assert_null(ps);
	if (strstr(err, want1) == NULL || (want2 != NULL && strstr(err, want2) == NULL))
		fail_msg("'%s': message '%s' lacks '%s' / '%s'", spec, err, want1,
			 want2 ? want2 : "");
	for (const char *c = err; *c; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
}

static void test_protect_parse_errors(void **state)
{
	char long_item[400];

	(void)state;
	expect_parse_error("10.0.0.0/33", YG_EINVAL, "'10.0.0.0/33'", "0 to 32");
	expect_parse_error("2001:db8::/129", YG_EINVAL, "'2001:db8::/129'", "0 to 128");
	expect_parse_error("192.0.2.0/24,10.0.0.1/8", YG_EINVAL, "item 2 '10.0.0.1/8'",
			   "host bits set (the prefix is 10.0.0.0/8)");
	expect_parse_error("2001:db8::1/32", YG_EINVAL, "host bits", "2001:db8::/32");
	expect_parse_error("300.0.0.0/8", YG_EINVAL, "'300.0.0.0/8'", "not an IPv4 or IPv6");
	expect_parse_error("10.0.0.0/", YG_EINVAL, "'10.0.0.0/'", "prefix length");
	expect_parse_error("10.0.0.0/8x", YG_EINVAL, "'10.0.0.0/8x'", "prefix length");
	expect_parse_error("10.0.0.0/-1", YG_EINVAL, "'10.0.0.0/-1'", "prefix length");
	expect_parse_error("10.0.0.0/0008", YG_EINVAL, "'10.0.0.0/0008'", "prefix length");
	expect_parse_error("10.0.0.0/8,,192.0.2.0/24", YG_EINVAL, "item 2 is empty", NULL);
	expect_parse_error("10.0.0.0/8, ", YG_EINVAL, "item 2 is empty", NULL);
	expect_parse_error(",10.0.0.0/8", YG_EINVAL, "item 1 is empty", NULL);
	expect_parse_error("/8", YG_EINVAL, "'/8'", "not an IPv4");
	expect_parse_error("192.0.2.0/24;10.0.0.0/8", YG_EINVAL, "'192.0.2.0/24;10.0.0.0/8'", NULL);
	expect_parse_error("010.0.0.0/8", YG_EINVAL, "'010.0.0.0/8'", "not an IPv4");
	expect_parse_error("10.0.0.0 /8", YG_EINVAL, "'10.0.0.0 /8'", NULL);
	expect_parse_error("example.org", YG_EINVAL, "'example.org'", NULL);
	/* Control bytes and length are tamed in the message. */
	memset(long_item, 'a', sizeof(long_item) - 1);
	long_item[sizeof(long_item) - 1] = '\0';
	long_item[3] = '\n';
	long_item[4] = '\x1b';
	expect_parse_error(long_item, YG_EINVAL, "'aaa??aaa", "...'");
}

static void test_protect_parse_alloc_failures(void **state)
{
	const char *spec = "192.0.2.0/24,2001:db8::/32,10.0.0.0/8";
	struct protect_set *ps;
	char err[256];
	long n;
	int rc;

	(void)state;
	for (n = 0;; n++) {
		yg_alloc_fail_after(n);
		rc = protect_set_parse(spec, &ps, err, sizeof(err));
		yg_alloc_fail_after(-1);
		if (rc == 0)
			break;
		assert_int_equal(rc, YG_ENOMEM);
		assert_null(ps);
		assert_string_equal(err, "out of memory");
	}
	assert_int_equal(n, 2);
	assert_int_equal(protect_set_count(ps), 3);
	protect_set_free(ps);
}

/* Key files */

static void expect_key(const void *buf, size_t len, const uint8_t *want)
{
	uint8_t key[CRYPTOPAN_KEY_LEN];
	char err[256];

	if (protect_key_parse(buf, len, key, err, sizeof(err)) != 0)
		fail_msg("%zu-byte key rejected: %s", len, err);
	assert_memory_equal(key, want, CRYPTOPAN_KEY_LEN);
}

static void test_key_formats(void **state)
{
	uint8_t want[CRYPTOPAN_KEY_LEN], raw[CRYPTOPAN_KEY_LEN];
	char hex[2 * CRYPTOPAN_KEY_LEN + 8], text[200];
	size_t off = 0;
	int i;

	(void)state;
	sample_key(want);
	assert_int_equal(want[0], 21);
	assert_int_equal(want[31], 2);
	/* Raw bytes, NULs and newlines included. */
	expect_key(want, sizeof(want), want);
	rng_bytes(raw, sizeof(raw));
	raw[5] = 0;
	raw[6] = '\n';
	expect_key(raw, sizeof(raw), raw);
	/* nfanon's 32-character string keys, as they are. */
	expect_key("abcdefghijklmnopqrstuvwxyz012345", 32,
		   (const uint8_t *)"abcdefghijklmnopqrstuvwxyz012345");
	/* Hex: lower, upper, 0x, trailing LF or CRLF. */
	for (i = 0; i < CRYPTOPAN_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", want[i]);
	expect_key(hex, 64, want);
	memcpy(hex + 64, "\n", 2);
	expect_key(hex, 65, want);
	memcpy(hex + 64, "\r\n", 3);
	expect_key(hex, 66, want);
	for (i = 0; i < 64; i++)
		if (hex[i] >= 'a')
			hex[i] = (char)(hex[i] - 'a' + 'A');
	expect_key(hex, 64, want);
	memmove(hex + 2, hex, 66);
	hex[0] = '0';
	hex[1] = 'x';
	expect_key(hex, 67, want);
	/* Decimal, as key.txt, on several lines with tabs, no final newline. */
	expect_key(sample_key_text, strlen(sample_key_text), want);
	for (i = 0; i < CRYPTOPAN_KEY_LEN; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%u%s", want[i],
					i % 8 == 7 ? "\n" : "\t");
	expect_key(text, off - 1, want);
}

static void expect_key_error(const void *buf, size_t len, const char *want)
{
	uint8_t key[CRYPTOPAN_KEY_LEN], untouched[CRYPTOPAN_KEY_LEN];
	char err[256];

	memset(key, 0xaa, sizeof(key));
	memset(untouched, 0xaa, sizeof(untouched));
	if (protect_key_parse(buf, len, key, err, sizeof(err)) != YG_EFORMAT)
		fail_msg("%zu-byte key accepted, expected '%s'", len, want);
	if (strstr(err, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err, want);
	assert_null(strchr(err, '\n'));
	assert_memory_equal(key, untouched, sizeof(key));
}

static void test_key_errors(void **state)
{
	char buf[300];
	uint8_t bin[40];
	size_t i, off = 0;

	(void)state;
	expect_key_error("", 0, "empty");
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i + 1);
	expect_key_error(bin, 31, "unexpected byte 0x01 at offset 0");
	expect_key_error(bin, 33, "unexpected byte 0x01");
	memset(buf, '7', 70);
	expect_key_error(buf, 63, "63 hex digits");
	expect_key_error(buf, 65, "65 hex digits");
	memcpy(buf, "0x", 2);
	expect_key_error(buf, 64, "62 hex digits");
	memset(buf, 'a', 64);
	buf[10] = 'g';
	expect_key_error(buf, 64, "unexpected byte 0x67 at offset 10");
	memset(buf, 'a', 64);
	memcpy(buf + 64, "\n\n", 2);
	expect_key_error(buf, 66, "white space at offset 64 among hex digits");
	/* Zeros, whatever the form. */
	memset(bin, 0, 32);
	expect_key_error(bin, 32, "all zeros");
	memset(buf, '0', 64);
	expect_key_error(buf, 64, "all zeros");
	for (i = 0; i < 32; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "0 ");
	expect_key_error(buf, off, "all zeros");
	/* Decimal: count and range. */
	expect_key_error(sample_key_text, strlen(sample_key_text) - 3, "31 numbers");
	snprintf(buf, sizeof(buf), "%s 7", sample_key_text);
	expect_key_error(buf, strlen(buf), "more than 32 numbers");
	snprintf(buf, sizeof(buf), "256 %s", sample_key_text + 3);
	expect_key_error(buf, strlen(buf), "number 1 (at byte 0) is over 255");
	snprintf(buf, sizeof(buf), "1,2,3");
	expect_key_error(buf, strlen(buf), "unexpected byte 0x2c at offset 1");
	snprintf(buf, sizeof(buf), "-1 2 3");
	expect_key_error(buf, strlen(buf), "unexpected byte 0x2d at offset 0");
	/* A line of text where 32 raw bytes were meant. */
	expect_key_error("secretsecretsecretsecretsecret1\n", 32, "31-character line");
}

static char tmpdir[64];

static void write_file(const char *path, const char *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void expect_load(const char *path, int code, const char *want)
{
	uint8_t key[CRYPTOPAN_KEY_LEN];
	char err[256];
	int rc = protect_key_load(path, key, err, sizeof(err));

	if (rc != code)
		fail_msg("%s: %d (%s), expected %d", path, rc, err, code);
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("%s: message '%s' lacks '%s'", path, err, want);
}

static void test_key_load(void **state)
{
	uint8_t want[CRYPTOPAN_KEY_LEN], key[CRYPTOPAN_KEY_LEN];
	char path[128], big[PROTECT_KEY_FILE_MAX + 10], err[256];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/yg_pan_XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	sample_key(want);
	snprintf(path, sizeof(path), "%s/key", tmpdir);
	write_file(path, sample_key_text, strlen(sample_key_text), 0600);
	assert_int_equal(protect_key_load(path, key, err, sizeof(err)), 0);
	assert_memory_equal(key, want, sizeof(key));
	write_file(path, sample_key_text, strlen(sample_key_text), 0400);
	expect_load(path, 0, NULL);
	write_file(path, sample_key_text, strlen(sample_key_text), 0640);
	expect_load(path, YG_EINVAL, "permissions 0640 are too open");
	write_file(path, sample_key_text, strlen(sample_key_text), 0604);
	expect_load(path, YG_EINVAL, "chmod 600");
	write_file(path, sample_key_text, strlen(sample_key_text), 0620);
	expect_load(path, YG_EINVAL, "permissions 0620");
	write_file(path, "12 34", 5, 0600);
	expect_load(path, YG_EFORMAT, "2 numbers");
	memset(big, '1', sizeof(big));
	write_file(path, big, sizeof(big), 0600);
	expect_load(path, YG_EINVAL, "larger than 4096 bytes");
	expect_load(tmpdir, YG_EINVAL, "not a regular file");
	unlink(path);
	expect_load(path, YG_EIO, "cannot open: No such file or directory");
	rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_builtin),
		cmocka_unit_test(test_vectors_shared),
		cmocka_unit_test(test_matches_reference),
		cmocka_unit_test(test_prefix_preserved),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_addr_family),
		cmocka_unit_test(test_no_alloc_per_call),
		cmocka_unit_test(test_new_alloc_failure),
		cmocka_unit_test(test_protect_membership),
		cmocka_unit_test(test_protect_normalized),
		cmocka_unit_test(test_protect_random_sets),
		cmocka_unit_test(test_protect_parse_errors),
		cmocka_unit_test(test_protect_parse_alloc_failures),
		cmocka_unit_test(test_key_formats),
		cmocka_unit_test(test_key_errors),
		cmocka_unit_test(test_key_load),
	};

	/* Before libcrypto allocates anything, or it refuses the hooks. */
	ossl_counting = CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
