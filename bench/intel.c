/* intel.c - benchmark of the intel store (src/intel).
 *
 * For each size N (default 1M and 10M) it writes N mixed indicators as a
 * plain list (50% IPv4: 95% single addresses, 4% /24-/31, 1% /16-/23; 20%
 * IPv6: half /128 in 2000::/3, half /32-/64 prefixes; 30% domains), loads
 * the file into a snapshot and prints:
 *
 *   - load seconds (read, parse, sort, build) and bytes per entry, measured
 *     with mallinfo2() around the load (all heap memory the snapshot keeps);
 *   - bytes per IPv4 prefix, all included, from a second load of the IPv4
 *     part alone;
 *   - lookups per second on this core: IPv4 uniformly random (mostly
 *     misses) and inside loaded prefixes (all hits), IPv6 likewise, domains
 *     (subdomains of loaded names, and random names);
 *   - the reference: a sorted array of the disjoint ranges the same IPv4
 *     prefixes make, searched by bisection, on the same queries, after
 *     checking that both give the same answers.
 *
 * Usage: bench_intel [N...]   (run it pinned: taskset -c 0 bench_intel)
 * The list files go to $TMPDIR (default /tmp) and are removed afterwards. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "intel/intel.h"

#define Q4   (8u << 20) /* IPv4 queries per run */
#define Q6   (2u << 20)
#define QDOM (2u << 20)

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL) {
		fprintf(stderr, "bench_intel: out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

struct set {
	size_t n4, n6, ndom;
	uint32_t *a4;  /* IPv4 prefixes */
	uint8_t *l4;
	uint8_t (*a6)[16];
	uint8_t *l6;
	char (*dom)[48]; /* a sample of the domains, for hit queries */
	size_t ndom_sample;
};

static const char *const tlds[] = {"com", "net", "org", "info", "ru", "cn", "xyz", "top", "io"};

static void gen_domain(char *out)
{
	unsigned labels = 1 + (unsigned)(rnd() % 3), n = 0;

	for (unsigned l = 0; l < labels; l++) {
		unsigned len = 5 + (unsigned)(rnd() % 8);

		for (unsigned i = 0; i < len; i++)
			out[n++] = (char)('a' + rnd() % 26);
		out[n++] = '.';
	}
	strcpy(out + n, tlds[rnd() % 9]);
}

/* Writes n mixed entries to path (and, if path4 is set, the IPv4 ones
 * alone to path4), remembering them in s for the queries. */
static void gen_files(const char *path, const char *path4, size_t n, struct set *s)
{
	FILE *f = fopen(path, "w"), *f4 = fopen(path4, "w");
	char line[64];

	if (f == NULL || f4 == NULL) {
		perror("bench_intel: fopen");
		exit(1);
	}
	memset(s, 0, sizeof(*s));
	s->a4 = xmalloc(n * sizeof(*s->a4));
	s->l4 = xmalloc(n);
	s->a6 = xmalloc(n * sizeof(*s->a6));
	s->l6 = xmalloc(n);
	s->dom = xmalloc(65536 * sizeof(*s->dom));
	for (size_t i = 0; i < n; i++) {
		unsigned r = (unsigned)(rnd() % 10);

		if (r < 5) {
			uint32_t a = (uint32_t)rnd();
			unsigned r2 = (unsigned)(rnd() % 100);
			unsigned plen = r2 < 95 ? 32
					: r2 < 99 ? 24 + (unsigned)(rnd() % 8)
						  : 16 + (unsigned)(rnd() % 8);

			a &= plen ? ~(uint32_t)0 << (32 - plen) : 0;
			s->a4[s->n4] = a;
			s->l4[s->n4++] = (uint8_t)plen;
			snprintf(line, sizeof(line), "%u.%u.%u.%u/%u\n", a >> 24, a >> 16 & 255,
				 a >> 8 & 255, a & 255, plen);
			fputs(line, f);
			fputs(line, f4);
		} else if (r < 7) {
			uint8_t *a = s->a6[s->n6];
			unsigned plen = rnd() % 2 ? 128 : 32 + (unsigned)(rnd() % 33);
			int len = 0;

			for (int k = 0; k < 16; k++)
				a[k] = (uint8_t)rnd();
			a[0] = (uint8_t)(0x20 | (a[0] & 0x1f));
			for (unsigned k = 0; k < 16; k++) {
				unsigned bits = plen > k * 8 ? plen - k * 8 : 0;

				if (bits < 8)
					a[k] &= (uint8_t)(0xff00 >> bits);
			}
			s->l6[s->n6++] = (uint8_t)plen;
			for (int k = 0; k < 16; k += 2)
				len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%x",
						k ? ":" : "", a[k] << 8 | a[k + 1]);
			snprintf(line + len, sizeof(line) - (size_t)len, "/%u\n", plen);
			fputs(line, f);
		} else {
			char d[48];

			gen_domain(d);
			if (s->ndom_sample < 65536)
				memcpy(s->dom[s->ndom_sample++], d, strlen(d) + 1);
			else if (rnd() % 8 == 0)
				memcpy(s->dom[rnd() % 65536], d, strlen(d) + 1);
			s->ndom++;
			fputs(d, f);
			fputc('\n', f);
		}
	}
	if (fclose(f) != 0 || fclose(f4) != 0) {
		perror("bench_intel: write");
		exit(1);
	}
}

static struct intel_snapshot *load(const char *path, double *secs, size_t *bytes)
{
	struct intel_report rep;
	struct intel_builder *b;
	struct intel_snapshot *snap = NULL;
	size_t before;
	double t0;

	intel_report_init(&rep);
	before = heap_bytes();
	t0 = now_s();
	b = intel_builder_new(0);
	if (b == NULL || intel_load_path(b, path, NULL, &rep) != 0 ||
	    intel_builder_finish(b, &snap) != 0) {
		fprintf(stderr, "bench_intel: loading %s failed\n", path);
		exit(1);
	}
	*secs = now_s() - t0;
	*bytes = heap_bytes() - before;
	if (rep.rejected) {
		fprintf(stderr, "bench_intel: %s: %llu entries rejected: %s\n", path,
			(unsigned long long)rep.rejected, rep.messages[0]);
		exit(1);
	}
	return snap;
}

/* --- the reference: disjoint ranges, sorted, searched by bisection --- */

struct ref {
	uint32_t *start; /* first address of each range */
	uint32_t *val;   /* index of the prefix that covers it, or UINT32_MAX */
	size_t n;
};

struct rp {
	uint32_t a;
	uint8_t l;
	uint32_t i;
};

static int rp_cmp(const void *x, const void *y)
{
	const struct rp *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return (a->l > b->l) - (a->l < b->l);
}

static void ref_push(struct ref *r, uint32_t pos, uint32_t val)
{
	if (r->n && r->start[r->n - 1] == pos) {
		r->val[r->n - 1] = val;
		return;
	}
	if (r->n && r->val[r->n - 1] == val)
		return;
	r->start[r->n] = pos;
	r->val[r->n++] = val;
}

static void ref_build(struct ref *r, const struct set *s)
{
	struct rp *p = xmalloc(s->n4 * sizeof(*p));
	struct {
		uint64_t end;
		uint32_t i;
	} st[40];
	int sp = 0;

	for (size_t i = 0; i < s->n4; i++)
		p[i] = (struct rp){s->a4[i], s->l4[i], (uint32_t)i};
	qsort(p, s->n4, sizeof(*p), rp_cmp);
	r->start = xmalloc((2 * s->n4 + 1) * sizeof(uint32_t));
	r->val = xmalloc((2 * s->n4 + 1) * sizeof(uint32_t));
	r->n = 0;
	ref_push(r, 0, UINT32_MAX);
	for (size_t i = 0; i < s->n4; i++) {
		uint64_t end = (uint64_t)p[i].a + ((uint64_t)1 << (32 - p[i].l));

		if (i + 1 < s->n4 && p[i + 1].a == p[i].a && p[i + 1].l == p[i].l)
			continue; /* same prefix twice: keep one */
		while (sp > 0 && st[sp - 1].end <= p[i].a) {
			sp--;
			ref_push(r, (uint32_t)st[sp].end, sp ? st[sp - 1].i : UINT32_MAX);
		}
		ref_push(r, p[i].a, p[i].i);
		st[sp].end = end;
		st[sp++].i = p[i].i;
	}
	while (sp > 0) {
		sp--;
		if (st[sp].end <= UINT32_MAX)
			ref_push(r, (uint32_t)st[sp].end, sp ? st[sp - 1].i : UINT32_MAX);
	}
	free(p);
}

static uint32_t ref_lookup(const struct ref *r, uint32_t a)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->start[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return r->val[lo - 1];
}

/* --- timing loops --- */

static double run_v4(const struct intel_snapshot *snap, const uint32_t *q, size_t n, size_t *hits)
{
	struct intel_match m;
	size_t h = 0;
	double t0 = now_s();

	for (size_t i = 0; i < n; i++)
		h += intel_lookup_ipv4(snap, q[i], 0, &m) == 0;
	*hits = h;
	return (double)n / (now_s() - t0);
}

#define BATCH 32 /* as the packet pipeline batches */

static double run_v4_batch(const struct intel_snapshot *snap, const uint32_t *q, size_t n,
			   size_t *hits)
{
	struct intel_match m[BATCH];
	size_t h = 0;
	double t0 = now_s();

	for (size_t i = 0; i + BATCH <= n; i += BATCH)
		h += (size_t)__builtin_popcountll(intel_lookup_ipv4_batch(snap, q + i, BATCH, 0, m));
	*hits = h;
	return (double)n / (now_s() - t0);
}

static double run_ref(const struct ref *r, const uint32_t *q, size_t n, size_t *hits)
{
	size_t h = 0;
	double t0 = now_s();

	for (size_t i = 0; i < n; i++)
		h += ref_lookup(r, q[i]) != UINT32_MAX;
	*hits = h;
	return (double)n / (now_s() - t0);
}

static double run_v6(const struct intel_snapshot *snap, uint8_t (*q)[16], size_t n, size_t *hits)
{
	struct intel_match m;
	size_t h = 0;
	double t0 = now_s();

	for (size_t i = 0; i < n; i++)
		h += intel_lookup_ipv6(snap, q[i], 0, &m) == 0;
	*hits = h;
	return (double)n / (now_s() - t0);
}

static double run_dom(const struct intel_snapshot *snap, char (*q)[64], size_t n, size_t *hits)
{
	struct intel_match m;
	size_t h = 0;
	double t0 = now_s();

	for (size_t i = 0; i < n; i++)
		h += intel_lookup_domain(snap, q[i], strlen(q[i]), 0, &m) == 0;
	*hits = h;
	return (double)n / (now_s() - t0);
}

static void bench(size_t n, const char *dir)
{
	char path[512], path4[512];
	struct set s;
	struct intel_snapshot *snap, *snap4;
	struct intel_stats st;
	struct ref ref;
	double secs, secs4, t0, tref, rate;
	size_t bytes, bytes4, hits, rhits, entries;
	uint32_t *q4 = xmalloc(Q4 * sizeof(*q4)), *q4h = xmalloc(Q4 * sizeof(*q4h));
	uint8_t (*q6)[16] = xmalloc(Q6 * sizeof(*q6)), (*q6h)[16] = xmalloc(Q6 * sizeof(*q6h));
	char (*qd)[64] = xmalloc(QDOM * sizeof(*qd)), (*qdh)[64] = xmalloc(QDOM * sizeof(*qdh));
	size_t mismatches = 0;

	snprintf(path, sizeof(path), "%s/bench-intel-%zu-%d.txt", dir, n, (int)getpid());
	snprintf(path4, sizeof(path4), "%s/bench-intel-%zu-%d-v4.txt", dir, n, (int)getpid());
	t0 = now_s();
	gen_files(path, path4, n, &s);
	printf("\n== %zu entries: %zu IPv4, %zu IPv6, %zu domains (generated in %.1f s)\n", n, s.n4,
	       s.n6, s.ndom, now_s() - t0);

	snap = load(path, &secs, &bytes);
	intel_snapshot_stats(snap, &st);
	entries = st.v4_entries + st.v6_entries + st.domain_entries;
	printf("load          %8.2f s   %8.2f M entries/s\n", secs, (double)entries / secs / 1e6);
	printf("memory        %8.1f MB  %8.1f bytes/entry (mallinfo2)  [snapshot's own count: "
	       "%.1f MB]\n",
	       (double)bytes / 1e6, (double)bytes / (double)entries, (double)st.bytes / 1e6);
	printf("  by table    IPv4 %.1f B/prefix (index %u bits), IPv6 %.1f B/prefix (index %u "
	       "bits), domains %.1f B/name\n",
	       (double)st.v4_bytes / (double)st.v4_entries, st.v4_index_bits,
	       (double)st.v6_bytes / (double)st.v6_entries, st.v6_index_bits,
	       (double)(st.domain_bytes + st.meta_bytes) / (double)st.domain_entries);
	snap4 = load(path4, &secs4, &bytes4);
	intel_snapshot_stats(snap4, &st);
	printf("IPv4 alone    %8.2f s   %8.1f bytes/prefix, all included (mallinfo2, %llu prefixes)\n",
	       secs4, (double)bytes4 / (double)st.v4_entries, (unsigned long long)st.v4_entries);
	intel_snapshot_release(snap4);
	unlink(path);
	unlink(path4);

	t0 = now_s();
	ref_build(&ref, &s);
	tref = now_s() - t0;

	/* Queries: random, and inside what was loaded. */
	for (size_t i = 0; i < Q4; i++) {
		size_t k = rnd() % s.n4;

		q4[i] = (uint32_t)rnd();
		q4h[i] = s.a4[k] | ((uint32_t)rnd() & (s.l4[k] == 32 ? 0 : UINT32_MAX >> s.l4[k]));
	}
	for (size_t i = 0; i < Q6; i++) {
		size_t k = rnd() % s.n6;

		for (int j = 0; j < 16; j++)
			q6[i][j] = (uint8_t)rnd();
		q6[i][0] = (uint8_t)(0x20 | (q6[i][0] & 0x1f));
		memcpy(q6h[i], s.a6[k], 16);
		for (unsigned j = s.l6[k]; j < 128; j++)
			if (rnd() & 1)
				q6h[i][j / 8] |= (uint8_t)(0x80 >> (j % 8));
	}
	for (size_t i = 0; i < QDOM; i++) {
		snprintf(qdh[i], sizeof(qdh[i]), "www.%s", s.dom[rnd() % s.ndom_sample]);
		gen_domain(qd[i]);
	}
	/* Both structures must agree before their speeds mean anything. */
	for (size_t i = 0; i < 1000000; i++) {
		uint32_t a = i % 2 ? q4[i] : q4h[i];
		struct intel_match m;
		uint32_t r = ref_lookup(&ref, a);
		int rc = intel_lookup_ipv4(snap, a, 0, &m);
		uint32_t ma = (uint32_t)m.addr.a[0] << 24 | (uint32_t)m.addr.a[1] << 16 |
			      (uint32_t)m.addr.a[2] << 8 | m.addr.a[3];

		if ((r == UINT32_MAX) != (rc != 0) ||
		    (rc == 0 && (ma != s.a4[r] || m.prefix_len != s.l4[r])))
			mismatches++;
	}
	printf("check         %zu of 1000000 IPv4 answers differ from the reference\n", mismatches);

	rate = run_v4(snap, q4, Q4, &hits);
	printf("IPv4 random   %8.1f M lookups/s   (%.1f%% hit)\n", rate / 1e6,
	       100.0 * (double)hits / Q4);
	rate = run_v4_batch(snap, q4, Q4, &hits);
	printf("  batch of %d %8.1f M lookups/s   (%.1f%% hit)\n", BATCH, rate / 1e6,
	       100.0 * (double)hits / Q4);
	rate = run_ref(&ref, q4, Q4, &rhits);
	printf("  reference   %8.1f M lookups/s   (%.1f%% hit; sorted array of %zu ranges, %.1f MB, "
	       "built in %.2f s)\n",
	       rate / 1e6, 100.0 * (double)rhits / Q4, ref.n, (double)ref.n * 8 / 1e6, tref);
	rate = run_v4(snap, q4h, Q4, &hits);
	printf("IPv4 in set   %8.1f M lookups/s   (%.1f%% hit)\n", rate / 1e6,
	       100.0 * (double)hits / Q4);
	rate = run_v4_batch(snap, q4h, Q4, &hits);
	printf("  batch of %d %8.1f M lookups/s   (%.1f%% hit)\n", BATCH, rate / 1e6,
	       100.0 * (double)hits / Q4);
	rate = run_ref(&ref, q4h, Q4, &rhits);
	printf("  reference   %8.1f M lookups/s   (%.1f%% hit)\n", rate / 1e6,
	       100.0 * (double)rhits / Q4);
	rate = run_v6(snap, q6, Q6, &hits);
	printf("IPv6 random   %8.1f M lookups/s   (%.1f%% hit, in 2000::/3)\n", rate / 1e6,
	       100.0 * (double)hits / Q6);
	rate = run_v6(snap, q6h, Q6, &hits);
	printf("IPv6 in set   %8.1f M lookups/s   (%.1f%% hit)\n", rate / 1e6,
	       100.0 * (double)hits / Q6);
	rate = run_dom(snap, qd, QDOM, &hits);
	printf("domain random %8.1f M lookups/s   (%.1f%% hit)\n", rate / 1e6,
	       100.0 * (double)hits / QDOM);
	rate = run_dom(snap, qdh, QDOM, &hits);
	printf("domain in set %8.1f M lookups/s   (%.1f%% hit, www.<loaded name>)\n", rate / 1e6,
	       100.0 * (double)hits / QDOM);

	intel_snapshot_release(snap);
	free(ref.start);
	free(ref.val);
	free(s.a4);
	free(s.l4);
	free(s.a6);
	free(s.l6);
	free(s.dom);
	free(q4);
	free(q4h);
	free(q6);
	free(q6h);
	free(qd);
	free(qdh);
	if (mismatches)
		exit(1);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	size_t sizes[16] = {1000000, 10000000};
	int nsizes = 2;

	if (argc > 1) {
		nsizes = 0;
		for (int i = 1; i < argc && nsizes < 16; i++) {
			char *end;
			unsigned long long v = strtoull(argv[i], &end, 10);

			if (*end != '\0' || v < 1000) {
				fprintf(stderr, "usage: bench_intel [N...]   (N >= 1000)\n");
				return 2;
			}
			sizes[nsizes++] = (size_t)v;
		}
	}
	printf("bench_intel: the intel store vs a sorted-array bisection, one core\n");
	for (int i = 0; i < nsizes; i++)
		bench(sizes[i], dir);
	return 0;
}
