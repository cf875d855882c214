/* lookup.c - queries on a snapshot, its lifetime, and the handle that
 * publishes snapshots to packet threads (base/snap.h's protocol). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "intel/intel_int.h"

const char *intel_kind_name(enum intel_kind k)
{
	switch (k) {
	case INTEL_KIND_IP:
		return "ip";
	case INTEL_KIND_CIDR:
		return "cidr";
	case INTEL_KIND_DOMAIN:
		return "domain";
	case INTEL_KIND_URL:
		return "url";
	}
	return "unknown";
}

const char *intel_tlp_name(enum intel_tlp t)
{
	switch (t) {
	case INTEL_TLP_NONE:
		return NULL;
	case INTEL_TLP_CLEAR:
		return "TLP:CLEAR";
	case INTEL_TLP_WHITE:
		return "TLP:WHITE";
	case INTEL_TLP_GREEN:
		return "TLP:GREEN";
	case INTEL_TLP_AMBER:
		return "TLP:AMBER";
	case INTEL_TLP_AMBER_STRICT:
		return "TLP:AMBER+STRICT";
	case INTEL_TLP_RED:
		return "TLP:RED";
	}
	return NULL;
}

/* The entry for a in the chunk c: the value of the last key <= a, or the
 * value at the chunk's start. */
static inline uint32_t chunk4_find(const uint32_t *c, uint32_t a)
{
	const uint32_t *k = c + 2;
	uint32_t n = c[0], i = 0;

	if (n <= 8) {
		/* Keys are sorted: counting those <= a gives the position,
		 * without a branch per key. */
		for (uint32_t j = 0; j < n; j++)
			i += k[j] <= a;
	} else {
		uint32_t lo = 0, hi = n;

		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;

			if (k[mid] <= a)
				lo = mid + 1;
			else
				hi = mid;
		}
		i = lo;
	}
	return i ? k[n + i - 1] : c[1];
}

static inline uint32_t lpm4_find(const struct lpm *t, uint32_t a)
{
	uint32_t d;

	if (t->bits == 0)
		return NIL;
	d = t->index[a >> (32 - t->bits)];
	if (d & DIRECT)
		return d & ~DIRECT;
	return chunk4_find(t->blob + d, a);
}

static inline u128 key6(const uint32_t *w)
{
	return (u128)w[0] << 96 | (u128)w[1] << 64 | (u128)w[2] << 32 | w[3];
}

static uint32_t lpm6_find(const struct lpm *t, u128 a)
{
	const uint32_t *c, *k;
	uint32_t d, n, lo = 0, hi;

	if (t->bits == 0)
		return NIL;
	d = t->index[(uint64_t)(a >> (128 - t->bits))];
	if (d & DIRECT)
		return d & ~DIRECT;
	c = t->blob + d;
	n = c[0];
	k = c + 2;
	hi = n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (key6(k + 4 * mid) <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? k[4 * n + lo - 1] : c[1];
}

static void fill_meta(const struct intel_snapshot *s, const struct intel_meta *m,
		      struct intel_match *out)
{
	out->tlp = (enum intel_tlp)m->tlp;
	out->confidence = m->confidence;
	out->valid_until = m->valid_until;
	out->id = s->pool + m->id;
	out->source = s->pool + m->source;
	out->value = m->url ? s->pool + m->url : NULL;
}

/* Walks the chain from entry e to the first entry valid at now. */
static int resolve4(const struct intel_snapshot *s, uint32_t e, int64_t now, struct intel_match *m)
{
	for (; e != NIL; e = s->e4[e].next) {
		const struct v4ent *x = &s->e4[e];
		const struct intel_meta *md = &s->meta[x->mp >> PLEN_BITS];
		unsigned plen = x->mp & ((1u << PLEN_BITS) - 1);
		uint8_t b[4] = {(uint8_t)(x->addr >> 24), (uint8_t)(x->addr >> 16),
				(uint8_t)(x->addr >> 8), (uint8_t)x->addr};

		if (md->valid_until < now)
			continue;
		fill_meta(s, md, m);
		ipaddr_set4(&m->addr, b);
		m->prefix_len = (uint8_t)plen;
		m->kind = md->url ? INTEL_KIND_URL : plen == 32 ? INTEL_KIND_IP : INTEL_KIND_CIDR;
		return 0;
	}
	return YG_ENOTFOUND;
}

int intel_lookup_ipv4(const struct intel_snapshot *s, uint32_t addr, int64_t now,
		      struct intel_match *m)
{
	if (s == NULL)
		return YG_ENOTFOUND;
	return resolve4(s, lpm4_find(&s->v4, addr), now, m);
}

uint64_t intel_lookup_ipv4_batch(const struct intel_snapshot *s, const uint32_t *addr, unsigned n,
				 int64_t now, struct intel_match *m)
{
	uint32_t v[INTEL_BATCH_MAX];
	const struct lpm *t;
	unsigned shift;
	uint64_t hits = 0;

	if (s == NULL || s->v4.bits == 0)
		return 0;
	if (n > INTEL_BATCH_MAX)
		n = INTEL_BATCH_MAX;
	t = &s->v4;
	shift = 32 - t->bits;
	/* One stage per dependent load, each stage issuing the next one's
	 * loads for every address before any of them is waited for. */
	for (unsigned i = 0; i < n; i++)
		__builtin_prefetch(&t->index[addr[i] >> shift]);
	for (unsigned i = 0; i < n; i++) {
		v[i] = t->index[addr[i] >> shift];
		if (!(v[i] & DIRECT))
			__builtin_prefetch(t->blob + v[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		v[i] = v[i] & DIRECT ? v[i] & ~DIRECT : chunk4_find(t->blob + v[i], addr[i]);
		if (v[i] != NIL)
			__builtin_prefetch(&s->e4[v[i]]);
	}
	for (unsigned i = 0; i < n; i++)
		if (v[i] != NIL)
			__builtin_prefetch(&s->meta[s->e4[v[i]].mp >> PLEN_BITS]);
	for (unsigned i = 0; i < n; i++)
		if (v[i] != NIL && resolve4(s, v[i], now, &m[i]) == 0)
			hits |= (uint64_t)1 << i;
	return hits;
}

int intel_lookup_ipv6(const struct intel_snapshot *s, const uint8_t addr[16], int64_t now,
		      struct intel_match *m)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	u128 a = 0;

	if (s == NULL)
		return YG_ENOTFOUND;
	if (memcmp(addr, mapped, 12) == 0)
		return intel_lookup_ipv4(s,
					 (uint32_t)addr[12] << 24 | (uint32_t)addr[13] << 16 |
						 (uint32_t)addr[14] << 8 | addr[15],
					 now, m);
	for (int i = 0; i < 16; i++)
		a = a << 8 | addr[i];
	for (uint32_t e = lpm6_find(&s->v6, a); e != NIL; e = s->e6[e].next) {
		const struct v6ent *x = &s->e6[e];
		const struct intel_meta *md = &s->meta[x->meta];

		if (md->valid_until < now)
			continue;
		fill_meta(s, md, m);
		ipaddr_set6(&m->addr, x->a);
		m->prefix_len = x->plen;
		m->kind = md->url      ? INTEL_KIND_URL
			  : x->plen == 128 ? INTEL_KIND_IP
					   : INTEL_KIND_CIDR;
		return 0;
	}
	return YG_ENOTFOUND;
}

int intel_lookup_ip(const struct intel_snapshot *s, const struct ip_addr *ip, int64_t now,
		    struct intel_match *m)
{
	if (ip->family == 4)
		return intel_lookup_ipv4(s,
					 (uint32_t)ip->a[0] << 24 | (uint32_t)ip->a[1] << 16 |
						 (uint32_t)ip->a[2] << 8 | ip->a[3],
					 now, m);
	if (ip->family == 6)
		return intel_lookup_ipv6(s, ip->a, now, m);
	return YG_ENOTFOUND;
}

/* The head of the chain for the name q (already lowercase-compared). */
static uint32_t dom_probe(const struct intel_snapshot *s, uint64_t h, const char *q, size_t len)
{
	uint64_t f = dh_final(h);
	uint32_t tag = (uint32_t)(f >> 32);

	for (uint32_t i = (uint32_t)f & s->dmask;; i = (i + 1) & s->dmask) {
		struct dslot sl = s->dslots[i];
		const struct dent *e;
		const char *str;
		size_t j;

		if (sl.idx == NIL)
			return NIL;
		if (sl.tag != tag)
			continue;
		e = &s->dom[sl.idx];
		if (e->len != len)
			continue;
		str = s->pool + e->str;
		for (j = 0; j < len && intel_lower((uint8_t)q[j]) == (uint8_t)str[j]; j++)
			;
		if (j == len)
			return sl.idx;
	}
}

int intel_lookup_domain(const struct intel_snapshot *s, const char *name, size_t len, int64_t now,
			struct intel_match *m)
{
	uint64_t hs[256], h = DH_SEED;
	uint8_t pos[256];
	unsigned n = 0;

	if (s == NULL || s->dslots == NULL)
		return YG_ENOTFOUND;
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return YG_ENOTFOUND;
	/* One pass right to left gives the hash of every suffix that starts
	 * a label; probe them longest (most specific) first. */
	for (size_t i = len; i-- > 0;) {
		h = dh_step(h, (uint8_t)name[i]);
		if (i == 0 || name[i - 1] == '.') {
			hs[n] = h;
			pos[n++] = (uint8_t)i;
		}
	}
	while (n-- > 0) {
		uint32_t e = dom_probe(s, hs[n], name + pos[n], len - pos[n]);

		for (; e != NIL; e = s->dom[e].next) {
			const struct dent *x = &s->dom[e];
			const struct intel_meta *md = &s->meta[x->meta];

			if (md->valid_until < now)
				continue;
			fill_meta(s, md, m);
			if (m->value == NULL)
				m->value = s->pool + x->str;
			memset(&m->addr, 0, sizeof(m->addr));
			m->prefix_len = 0;
			m->kind = md->url ? INTEL_KIND_URL : INTEL_KIND_DOMAIN;
			return 0;
		}
	}
	return YG_ENOTFOUND;
}

int intel_match_format(const struct intel_match *m, char *buf, size_t n)
{
	char a[IPADDR_STRLEN];

	if (m->kind == INTEL_KIND_DOMAIN || m->kind == INTEL_KIND_URL)
		return snprintf(buf, n, "%s", m->value ? m->value : "");
	ipaddr_fmt(&m->addr, a);
	if (m->kind == INTEL_KIND_CIDR)
		return snprintf(buf, n, "%s/%u", a, m->prefix_len);
	return snprintf(buf, n, "%s", a);
}

static uint64_t lpm_bytes(const struct lpm *t)
{
	return t->bits ? ((uint64_t)4 << t->bits) + t->blob_len * 4 : 0;
}

void intel_snapshot_stats(const struct intel_snapshot *s, struct intel_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (s == NULL)
		return;
	st->v4_entries = s->n4;
	st->v6_entries = s->n6;
	st->domain_entries = s->ndom;
	st->indicators = s->nmeta;
	st->v4_bytes = lpm_bytes(&s->v4) + s->n4 * sizeof(*s->e4);
	st->v6_bytes = lpm_bytes(&s->v6) + s->n6 * sizeof(*s->e6);
	st->domain_bytes = s->ndom * sizeof(*s->dom) +
			   (s->dslots ? ((uint64_t)s->dmask + 1) * sizeof(*s->dslots) : 0);
	st->meta_bytes = s->nmeta * sizeof(*s->meta) + s->pool_len;
	st->bytes = sizeof(*s) + st->v4_bytes + st->v6_bytes + st->domain_bytes + st->meta_bytes;
	st->v4_index_bits = s->v4.bits;
	st->v6_index_bits = s->v6.bits;
}

/* The last reference's going: frees the snapshot (snap_ref's free_fn). */
void intel_snapshot_free_ref(struct snap_ref *r)
{
	struct intel_snapshot *s = (struct intel_snapshot *)r;

	free(s->v4.index);
	free(s->v4.blob);
	free(s->v6.index);
	free(s->v6.blob);
	free(s->e4);
	free(s->e6);
	free(s->dom);
	free(s->dslots);
	free(s->meta);
	free(s->pool);
	free(s);
}

void intel_snapshot_release(struct intel_snapshot *s)
{
	if (s != NULL)
		snap_release(&s->ref);
}

struct intel_handle *intel_handle_new(void)
{
	struct intel_handle *h = yg_calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	if ((h->h = snap_handle_new()) == NULL) {
		free(h);
		return NULL;
	}
	return h;
}

void intel_handle_free(struct intel_handle *h)
{
	if (h == NULL)
		return;
	snap_handle_free(h->h);
	free(h);
}

void intel_handle_publish(struct intel_handle *h, struct intel_snapshot *s)
{
	snap_handle_publish(h->h, s != NULL ? &s->ref : NULL);
}

struct intel_snapshot *intel_handle_acquire(struct intel_handle *h)
{
	return (struct intel_snapshot *)snap_handle_acquire(h->h);
}
