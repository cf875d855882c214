/* builder.c - collects entries while feeds load, then builds the snapshot's
 * tables in one pass each (see intel_int.h for their layout).
 *
 * Building a prefix table: sort the prefixes (address, length, then
 * preference), sweep them with a stack of the prefixes that cover the
 * current address, and emit a boundary wherever the most specific covering
 * entry changes. The boundaries come out in address order, so they stream
 * straight into the index and its chunks: nothing of the size of the range
 * list is ever held. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "intel/intel_int.h"

#define DEFAULT_MAX_ENTRIES (1u << 30)
#define BLOB_MAX            0x7fffffffu

/* Grows *p (n elements in use, *cap allocated) to hold one more. */
static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *np;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	if (ncap > SIZE_MAX / size)
		return YG_ENOMEM;
	np = yg_realloc(*p, ncap * size);
	if (np == NULL)
		return YG_ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

/* Gives back the unused tail of an array; keeps it as is if that fails. */
static void *shrink(void *p, size_t n, size_t size)
{
	void *np;

	if (p == NULL || n == 0) {
		free(p);
		return NULL;
	}
	np = yg_realloc(p, n * size);
	return np ? np : p;
}

struct intel_builder *intel_builder_new(size_t max_entries)
{
	struct intel_builder *b = yg_calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->max_entries = max_entries ? max_entries : DEFAULT_MAX_ENTRIES;
	if (b->max_entries > DEFAULT_MAX_ENTRIES)
		b->max_entries = DEFAULT_MAX_ENTRIES;
	b->pool_cap = 4096;
	b->pool = yg_malloc(b->pool_cap);
	if (b->pool == NULL) {
		free(b);
		return NULL;
	}
	b->pool[0] = '\0'; /* offset 0 is the empty string */
	b->pool_len = 1;
	return b;
}

void intel_builder_free(struct intel_builder *b)
{
	if (b == NULL)
		return;
	free(b->pool);
	free(b->meta);
	free(b->e4);
	free(b->e6);
	free(b->dom);
	free(b->dslots);
	free(b->src_slots);
	free(b);
}

int builder_str(struct intel_builder *b, const char *s, size_t len, uint32_t *off)
{
	if (len > UINT32_MAX - 1 - b->pool_len)
		return YG_ELIMIT;
	if (b->pool_len + len + 1 > b->pool_cap) {
		size_t ncap = b->pool_cap;
		char *np;

		while (ncap < b->pool_len + len + 1)
			ncap *= 2;
		np = yg_realloc(b->pool, ncap);
		if (np == NULL)
			return YG_ENOMEM;
		b->pool = np;
		b->pool_cap = ncap;
	}
	memcpy(b->pool + b->pool_len, s, len);
	b->pool[b->pool_len + len] = '\0';
	*off = (uint32_t)b->pool_len;
	b->pool_len += len + 1;
	return 0;
}

static uint64_t str_hash(const char *s, size_t len)
{
	uint64_t h = DH_SEED;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
	return dh_final(h);
}

int builder_intern(struct intel_builder *b, const char *s, size_t len, uint32_t *off)
{
	uint32_t i;
	int err;

	if (b->src_used * 2 >= b->src_mask) {
		uint32_t nmask = b->src_mask ? b->src_mask * 2 + 1 : 63;
		uint32_t *ns = yg_calloc((size_t)nmask + 1, sizeof(*ns));

		if (ns == NULL)
			return YG_ENOMEM;
		for (uint32_t j = 0; b->src_slots && j <= b->src_mask; j++) {
			uint32_t o = b->src_slots[j];

			if (o == 0)
				continue;
			i = (uint32_t)str_hash(b->pool + o, strlen(b->pool + o)) & nmask;
			while (ns[i] != 0)
				i = (i + 1) & nmask;
			ns[i] = o;
		}
		free(b->src_slots);
		b->src_slots = ns;
		b->src_mask = nmask;
	}
	i = (uint32_t)str_hash(s, len) & b->src_mask;
	for (;; i = (i + 1) & b->src_mask) {
		uint32_t o = b->src_slots[i];

		if (o == 0)
			break;
		if (strncmp(b->pool + o, s, len) == 0 && b->pool[o + len] == '\0') {
			*off = o;
			return 0;
		}
	}
	err = builder_str(b, s, len, off);
	if (err < 0)
		return err;
	b->src_slots[i] = *off;
	b->src_used++;
	return 0;
}

int builder_meta(struct intel_builder *b, const struct intel_meta *m, uint32_t *idx)
{
	if (b->nmeta >= META_MAX)
		return YG_ELIMIT;
	if (grow((void **)&b->meta, &b->cap_meta, b->nmeta, sizeof(*b->meta)) < 0)
		return YG_ENOMEM;
	b->meta[b->nmeta] = *m;
	*idx = (uint32_t)b->nmeta++;
	return 0;
}

static int take_entry(struct intel_builder *b)
{
	if (b->n_entries >= b->max_entries)
		return YG_ELIMIT;
	return 0;
}

int builder_add_v4(struct intel_builder *b, uint32_t addr, unsigned plen, uint32_t meta)
{
	struct v4ent *e;

	if (take_entry(b) < 0)
		return YG_ELIMIT;
	if (grow((void **)&b->e4, &b->cap4, b->n4, sizeof(*b->e4)) < 0)
		return YG_ENOMEM;
	e = &b->e4[b->n4++];
	e->addr = plen ? addr & ~(uint32_t)0 << (32 - plen) : 0;
	e->mp = meta << PLEN_BITS | plen;
	e->next = b->meta[meta].confidence;
	b->n_entries++;
	return 0;
}

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int builder_add_v6(struct intel_builder *b, const uint8_t a[16], unsigned plen, uint32_t meta)
{
	struct v6ent *e;

	if (plen >= 96 && memcmp(a, v4mapped, 12) == 0)
		return builder_add_v4(b, (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 |
					    (uint32_t)a[14] << 8 | a[15],
				      plen - 96, meta);
	if (take_entry(b) < 0)
		return YG_ELIMIT;
	if (grow((void **)&b->e6, &b->cap6, b->n6, sizeof(*b->e6)) < 0)
		return YG_ENOMEM;
	e = &b->e6[b->n6++];
	memset(e, 0, sizeof(*e));
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = plen > i * 8 ? plen - i * 8 : 0;

		e->a[i] = bits >= 8 ? a[i] : (uint8_t)(a[i] & (0xff00 >> bits));
	}
	e->meta = meta;
	e->next = NIL;
	e->plen = (uint8_t)plen;
	e->conf = b->meta[meta].confidence;
	b->n_entries++;
	return 0;
}

static int dslots_grow(struct intel_builder *b)
{
	uint32_t nmask = b->dmask ? b->dmask * 2 + 1 : 1023;
	struct dslot *ns;

	if (nmask > (1u << 31) - 1)
		return YG_ELIMIT;
	ns = yg_malloc(((size_t)nmask + 1) * sizeof(*ns));
	if (ns == NULL)
		return YG_ENOMEM;
	for (uint32_t i = 0; i <= nmask; i++)
		ns[i].idx = NIL;
	for (uint32_t j = 0; b->dslots && j <= b->dmask; j++) {
		struct dslot s = b->dslots[j];
		const struct dent *e;
		uint64_t h = DH_SEED;
		uint32_t i;

		if (s.idx == NIL)
			continue;
		e = &b->dom[s.idx];
		for (size_t k = e->len; k-- > 0;)
			h = dh_step(h, (uint8_t)b->pool[e->str + k]);
		h = dh_final(h);
		i = (uint32_t)h & nmask;
		while (ns[i].idx != NIL)
			i = (i + 1) & nmask;
		ns[i] = s;
	}
	free(b->dslots);
	b->dslots = ns;
	b->dmask = nmask;
	return 0;
}

int builder_add_domain(struct intel_builder *b, const char *name, size_t len, uint32_t meta)
{
	uint64_t h = DH_SEED;
	uint32_t i, tag, idx;
	struct dent *e;
	int err;

	if (take_entry(b) < 0)
		return YG_ELIMIT;
	if ((b->dused + 1) * 2 > b->dmask && (err = dslots_grow(b)) < 0)
		return err;
	if (grow((void **)&b->dom, &b->cap_dom, b->ndom, sizeof(*b->dom)) < 0)
		return YG_ENOMEM;
	for (size_t k = len; k-- > 0;)
		h = dh_step(h, (uint8_t)name[k]);
	h = dh_final(h);
	tag = (uint32_t)(h >> 32);
	for (i = (uint32_t)h & b->dmask;; i = (i + 1) & b->dmask) {
		const struct dent *o;

		if (b->dslots[i].idx == NIL)
			break;
		o = &b->dom[b->dslots[i].idx];
		if (b->dslots[i].tag == tag && o->len == len &&
		    memcmp(b->pool + o->str, name, len) == 0)
			break;
	}
	idx = (uint32_t)b->ndom;
	e = &b->dom[idx];
	memset(e, 0, sizeof(*e));
	e->meta = meta;
	e->len = (uint8_t)len;
	e->conf = b->meta[meta].confidence;
	if (b->dslots[i].idx == NIL) {
		err = builder_str(b, name, len, &e->str);
		if (err < 0)
			return err;
		e->next = NIL;
		b->dslots[i].tag = tag;
		b->dslots[i].idx = idx;
		b->dused++;
	} else {
		/* Same name again: keep the chain in preference order, and the
		 * same record loaded twice once. */
		uint32_t *link = &b->dslots[i].idx;

		e->str = b->dom[*link].str;
		while (*link != NIL && b->dom[*link].conf > e->conf)
			link = &b->dom[*link].next;
		for (uint32_t x = *link; x != NIL; x = b->dom[x].next)
			if (b->dom[x].meta == meta)
				return 0;
		e->next = *link;
		*link = idx;
	}
	b->ndom++;
	b->n_entries++;
	return 0;
}

/* --- prefix tables --- */

struct emitter {
	struct lpm *t;
	unsigned width, kw, shift; /* key bits, key words, width - bits */
	uint64_t nbuckets, cur;
	uint32_t start_val, last_val;
	u128 *pk;
	uint32_t *pv;
	size_t pn, pcap, blob_cap;
	int err;
};

static void emit_flush(struct emitter *em)
{
	struct lpm *t = em->t;
	size_t words = 2 + em->pn * (em->kw + 1);
	uint32_t *w;

	if (em->pn == 0) {
		t->index[em->cur] = DIRECT | em->start_val;
		return;
	}
	if (t->blob_len + words > BLOB_MAX) {
		em->err = YG_ELIMIT;
		return;
	}
	while (t->blob_len + words > em->blob_cap) {
		size_t ncap = em->blob_cap ? em->blob_cap * 2 : 4096;
		uint32_t *nb = yg_realloc(t->blob, ncap * sizeof(*nb));

		if (nb == NULL) {
			em->err = YG_ENOMEM;
			return;
		}
		t->blob = nb;
		em->blob_cap = ncap;
	}
	t->index[em->cur] = (uint32_t)t->blob_len;
	w = t->blob + t->blob_len;
	*w++ = (uint32_t)em->pn;
	*w++ = em->start_val;
	for (size_t i = 0; i < em->pn; i++)
		for (unsigned k = em->kw; k-- > 0;)
			*w++ = (uint32_t)(em->pk[i] >> (32 * k));
	for (size_t i = 0; i < em->pn; i++)
		*w++ = em->pv[i];
	t->blob_len += words;
}

/* From pos on, the most specific entry is val. Positions never decrease. */
static void emit(struct emitter *em, u128 pos, uint32_t val)
{
	uint64_t b = (uint64_t)(pos >> em->shift);

	if (em->err)
		return;
	if (b != em->cur) {
		emit_flush(em);
		for (uint64_t x = em->cur + 1; x < b; x++)
			em->t->index[x] = DIRECT | em->last_val;
		em->cur = b;
		em->start_val = em->last_val;
		em->pn = 0;
	}
	if (pos == (u128)b << em->shift) {
		em->start_val = em->last_val = val;
		return;
	}
	if (em->pn > 0 && em->pk[em->pn - 1] == pos) {
		uint32_t before = em->pn > 1 ? em->pv[em->pn - 2] : em->start_val;

		em->pv[em->pn - 1] = val;
		if (val == before)
			em->pn--;
		em->last_val = val;
		return;
	}
	if (val == em->last_val)
		return;
	if (em->pn == em->pcap) {
		size_t ncap = em->pcap ? em->pcap * 2 : 64;
		u128 *nk = yg_realloc(em->pk, ncap * sizeof(*nk));
		uint32_t *nv;

		if (nk == NULL) {
			em->err = YG_ENOMEM;
			return;
		}
		em->pk = nk;
		nv = yg_realloc(em->pv, ncap * sizeof(*nv));
		if (nv == NULL) {
			em->err = YG_ENOMEM;
			return;
		}
		em->pv = nv;
		em->pcap = ncap;
	}
	em->pk[em->pn] = pos;
	em->pv[em->pn++] = val;
	em->last_val = val;
}

/* The prefixes of one table, seen through the two entry layouts. */
struct pfx_src {
	unsigned width;
	struct v4ent *e4;
	struct v6ent *e6;
};

static u128 pfx_start(const struct pfx_src *src, size_t i)
{
	u128 v = 0;

	if (src->e4)
		return src->e4[i].addr;
	for (int k = 0; k < 16; k++)
		v = v << 8 | src->e6[i].a[k];
	return v;
}

static unsigned pfx_len(const struct pfx_src *src, size_t i)
{
	return src->e4 ? src->e4[i].mp & ((1u << PLEN_BITS) - 1) : src->e6[i].plen;
}

static void pfx_set_next(struct pfx_src *src, size_t i, uint32_t next)
{
	if (src->e4)
		src->e4[i].next = next;
	else
		src->e6[i].next = next;
}

static unsigned index_bits(size_t n, unsigned extra)
{
	unsigned k = 0;

	while (k < 24 && ((size_t)1 << k) < n)
		k++;
	k += extra;
	return k < 8 ? 8 : k > 24 ? 24 : k;
}

/* Builds t over the n sorted, deduplicated prefixes of src, and links each
 * entry to the next one a lookup should try. */
static int lpm_build(struct lpm *t, struct pfx_src *src, size_t n, unsigned extra_bits)
{
	struct emitter em;
	struct {
		u128 last;
		uint32_t head;
	} st[129];
	unsigned sp = 0;
	const u128 top = src->width == 32 ? (u128)UINT32_MAX : ~(u128)0;
	int err;

	memset(t, 0, sizeof(*t));
	if (n == 0)
		return 0;
	if (n >= NIL)
		return YG_ELIMIT;
	t->bits = index_bits(n, extra_bits);
	t->index = yg_malloc(sizeof(uint32_t) << t->bits);
	if (t->index == NULL)
		return YG_ENOMEM;
	memset(&em, 0, sizeof(em));
	em.t = t;
	em.width = src->width;
	em.kw = src->width / 32;
	em.shift = src->width - t->bits;
	em.nbuckets = (uint64_t)1 << t->bits;
	em.start_val = em.last_val = NIL;

	for (size_t i = 0; i < n && !em.err;) {
		u128 s = pfx_start(src, i);
		unsigned plen = pfx_len(src, i);
		u128 last = plen >= src->width ? s : s | (top >> plen);
		size_t j = i;

		while (j + 1 < n && pfx_start(src, j + 1) == s && pfx_len(src, j + 1) == plen)
			j++;
		while (sp > 0 && st[sp - 1].last < s) {
			sp--;
			emit(&em, st[sp].last + 1, sp ? st[sp - 1].head : NIL);
		}
		/* The run i..j is one prefix; j, sorted last, is preferred. */
		pfx_set_next(src, i, sp ? st[sp - 1].head : NIL);
		for (size_t m = i + 1; m <= j; m++)
			pfx_set_next(src, m, (uint32_t)(m - 1));
		st[sp].last = last;
		st[sp++].head = (uint32_t)j;
		emit(&em, s, (uint32_t)j);
		i = j + 1;
	}
	while (sp > 0 && !em.err) {
		sp--;
		if (st[sp].last != top)
			emit(&em, st[sp].last + 1, sp ? st[sp - 1].head : NIL);
	}
	if (!em.err) {
		emit_flush(&em);
		for (uint64_t x = em.cur + 1; x < em.nbuckets; x++)
			t->index[x] = DIRECT | em.last_val;
	}
	free(em.pk);
	free(em.pv);
	err = em.err;
	if (err < 0) {
		free(t->index);
		free(t->blob);
		memset(t, 0, sizeof(*t));
		return err;
	}
	t->blob = shrink(t->blob, t->blob_len, sizeof(*t->blob));
	return 0;
}

static int cmp_v4(const void *pa, const void *pb)
{
	const struct v4ent *a = pa, *b = pb;
	uint32_t la = a->mp & ((1u << PLEN_BITS) - 1), lb = b->mp & ((1u << PLEN_BITS) - 1);

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (la != lb)
		return la < lb ? -1 : 1;
	if (a->next != b->next) /* confidence, until the sort is done */
		return a->next < b->next ? -1 : 1;
	if (a->mp != b->mp)
		return a->mp < b->mp ? -1 : 1;
	return 0;
}

static int cmp_v6(const void *pa, const void *pb)
{
	const struct v6ent *a = pa, *b = pb;
	int c = memcmp(a->a, b->a, 16);

	if (c != 0)
		return c;
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	if (a->conf != b->conf)
		return a->conf < b->conf ? -1 : 1;
	if (a->meta != b->meta)
		return a->meta < b->meta ? -1 : 1;
	return 0;
}

static size_t dedup_v4(struct v4ent *e, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		if (o == 0 || e[i].addr != e[o - 1].addr || e[i].mp != e[o - 1].mp)
			e[o++] = e[i];
	return o;
}

static size_t dedup_v6(struct v6ent *e, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		if (o == 0 || memcmp(e[i].a, e[o - 1].a, 16) != 0 || e[i].plen != e[o - 1].plen ||
		    e[i].meta != e[o - 1].meta)
			e[o++] = e[i];
	return o;
}

int intel_builder_finish(struct intel_builder *b, struct intel_snapshot **out)
{
	struct intel_snapshot *s;
	struct pfx_src src;
	int err = YG_ENOMEM;

	*out = NULL;
	s = yg_calloc(1, sizeof(*s));
	if (s == NULL)
		goto fail;
	snap_ref_init(&s->ref, intel_snapshot_free_ref);

	if (b->n4 > 0) {
		qsort(b->e4, b->n4, sizeof(*b->e4), cmp_v4);
		b->n4 = dedup_v4(b->e4, b->n4);
	}
	src = (struct pfx_src){.width = 32, .e4 = b->e4};
	err = lpm_build(&s->v4, &src, b->n4, 0);
	if (err < 0)
		goto fail;
	s->e4 = shrink(b->e4, b->n4, sizeof(*b->e4));
	s->n4 = s->e4 ? b->n4 : 0;
	b->e4 = NULL;

	if (b->n6 > 0) {
		qsort(b->e6, b->n6, sizeof(*b->e6), cmp_v6);
		b->n6 = dedup_v6(b->e6, b->n6);
	}
	src = (struct pfx_src){.width = 128, .e6 = b->e6};
	/* Two more index bits: announced IPv6 space is all under 2000::/3. */
	err = lpm_build(&s->v6, &src, b->n6, 2);
	if (err < 0)
		goto fail;
	s->e6 = shrink(b->e6, b->n6, sizeof(*b->e6));
	s->n6 = s->e6 ? b->n6 : 0;
	b->e6 = NULL;

	s->dom = shrink(b->dom, b->ndom, sizeof(*b->dom));
	s->ndom = s->dom ? b->ndom : 0;
	b->dom = NULL;
	if (s->ndom > 0) {
		s->dslots = b->dslots;
		s->dmask = b->dmask;
		b->dslots = NULL;
	}
	s->meta = shrink(b->meta, b->nmeta, sizeof(*b->meta));
	s->nmeta = s->meta ? b->nmeta : 0;
	b->meta = NULL;
	s->pool = shrink(b->pool, b->pool_len, 1);
	s->pool_len = b->pool_len;
	b->pool = NULL;
	intel_builder_free(b);
	*out = s;
	return 0;

fail:
	intel_builder_free(b);
	intel_snapshot_release(s);
	return err;
}
