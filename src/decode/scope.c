/* scope.c - monitoring authorizations as flat arrays of address ranges.
 *
 * Each authorization's prefixes of one family are kept as the address
 * ranges they cover, sorted and pairwise disjoint: CIDR prefixes either
 * nest or do not meet, so a prefix inside another one is dropped when it is
 * added and what remains never overlaps. A lookup is then a binary search
 * (about ten steps at the cap of 1,024 prefixes) rather than a scan.
 * Addresses are 128-bit keys for both families (IPv4 in the low bits). */
#include "decode/scope.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/cursor.h"
#include "decode/decode.h"

struct key {
	uint64_t h, l;
};

struct scope_range {
	struct key lo, hi; /* first and last address of a prefix */
};

struct scope_auth {
	int64_t id;
	uint32_t v4_first, v4_n;
	uint32_t v6_first, v6_n;
	uint32_t vl_first, vl_n;
};

struct decode_scope {
	struct snap_ref ref; /* first: decode_scope_from_ref casts */
	struct scope_auth *auth;
	struct scope_range *v4; /* per authorization: sorted, disjoint */
	struct scope_range *v6;
	uint16_t *vlan;
	uint32_t n_auth, n_v4, n_v6, n_vlan;
	uint32_t cap_auth, cap_v4, cap_v6, cap_vlan;
};

static void scope_free(struct snap_ref *r)
{
	struct decode_scope *s = (struct decode_scope *)r;

	free(s->auth);
	free(s->v4);
	free(s->v6);
	free(s->vlan);
	free(s);
}

struct decode_scope *decode_scope_new(void)
{
	struct decode_scope *s = yg_calloc(1, sizeof(*s));

	if (s != NULL)
		snap_ref_init(&s->ref, scope_free);
	return s;
}

void decode_scope_release(struct decode_scope *s)
{
	if (s != NULL)
		snap_release(&s->ref);
}

struct snap_ref *decode_scope_ref(struct decode_scope *s)
{
	return s != NULL ? &s->ref : NULL;
}

struct decode_scope *decode_scope_from_ref(struct snap_ref *r)
{
	return (struct decode_scope *)r;
}

/* Makes room for one more element of size sz in *arr. */
static int grow(void *arr, uint32_t n, uint32_t *cap, size_t sz)
{
	void **a = arr;
	uint32_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if ((p = yg_realloc(*a, (size_t)ncap * sz)) == NULL)
		return YG_ENOMEM;
	*a = p;
	*cap = ncap;
	return 0;
}

int decode_scope_add_auth(struct decode_scope *s, int64_t id)
{
	struct scope_auth *a;

	if (s->n_auth >= DECODE_SCOPE_MAX_AUTHS)
		return YG_ELIMIT;
	if (grow(&s->auth, s->n_auth, &s->cap_auth, sizeof(*s->auth)) < 0)
		return YG_ENOMEM;
	a = &s->auth[s->n_auth++];
	memset(a, 0, sizeof(*a));
	a->id = id;
	a->v4_first = s->n_v4;
	a->v6_first = s->n_v6;
	a->vl_first = s->n_vlan;
	return 0;
}

static uint64_t mask64(unsigned bits)
{
	return bits == 0 ? 0 : bits >= 64 ? ~0ULL : ~0ULL << (64 - bits);
}

static uint64_t load64(const uint8_t *p)
{
	return load_be32(p) * (1ULL << 32) + load_be32(p + 4);
}

static int key_le(struct key a, struct key b)
{
	return a.h < b.h || (a.h == b.h && a.l <= b.l);
}

static struct key key_of(const struct ip_addr *a)
{
	struct key k = {0, 0};

	if (a->family == 4)
		k.l = load_be32(a->a);
	else {
		k.h = load64(a->a);
		k.l = load64(a->a + 8);
	}
	return k;
}

/* Adds range r to the n ranges at e (sorted, disjoint; room for one more):
 * nothing if a range holds it, else it replaces the ranges it holds and
 * goes in its place in order. Returns the new count. */
static uint32_t range_insert(struct scope_range *e, uint32_t n, struct scope_range r)
{
	uint32_t i, k = 0;

	for (i = 0; i < n; i++)
		if (key_le(e[i].lo, r.lo) && key_le(r.hi, e[i].hi))
			return n;
	for (i = 0; i < n; i++)
		if (!(key_le(r.lo, e[i].lo) && key_le(e[i].hi, r.hi)))
			e[k++] = e[i];
	for (i = k; i > 0 && key_le(r.hi, e[i - 1].lo); i--)
		e[i] = e[i - 1];
	e[i] = r;
	return k + 1;
}

int decode_scope_add_prefix(struct decode_scope *s, const struct ip_addr *net, unsigned bits)
{
	struct scope_auth *a;
	struct scope_range r;
	struct key k;

	if (s->n_auth == 0)
		return YG_EINVAL;
	if (s->n_v4 + s->n_v6 >= DECODE_SCOPE_MAX_PREFIXES)
		return YG_ELIMIT;
	a = &s->auth[s->n_auth - 1];
	k = key_of(net);
	if (net->family == 4) {
		uint64_t m;
		if (bits > 32)
			return YG_EINVAL;
		if (grow(&s->v4, s->n_v4, &s->cap_v4, sizeof(*s->v4)) < 0)
			return YG_ENOMEM;
		m = bits == 0 ? 0 : (0xffffffffULL << (32 - bits)) & 0xffffffffULL;
		r.lo = r.hi = (struct key){0, k.l & m};
		r.hi.l |= ~m & 0xffffffffULL;
		/* This authorization's ranges are the array's tail. */
		a->v4_n = range_insert(s->v4 + a->v4_first, a->v4_n, r);
		s->n_v4 = a->v4_first + a->v4_n;
		return 0;
	}
	if (net->family != 6 || bits > 128)
		return YG_EINVAL;
	if (grow(&s->v6, s->n_v6, &s->cap_v6, sizeof(*s->v6)) < 0)
		return YG_ENOMEM;
	uint64_t mh = mask64(bits), ml = bits > 64 ? mask64(bits - 64) : 0;
	r.lo = (struct key){k.h & mh, k.l & ml};
	r.hi = (struct key){k.h | ~mh, k.l | ~ml};
	a->v6_n = range_insert(s->v6 + a->v6_first, a->v6_n, r);
	s->n_v6 = a->v6_first + a->v6_n;
	return 0;
}

int decode_scope_add_vlan(struct decode_scope *s, unsigned vid)
{
	if (s->n_auth == 0 || vid > 4095)
		return YG_EINVAL;
	if (s->n_vlan >= DECODE_SCOPE_MAX_VLANS)
		return YG_ELIMIT;
	if (grow(&s->vlan, s->n_vlan, &s->cap_vlan, sizeof(*s->vlan)) < 0)
		return YG_ENOMEM;
	s->vlan[s->n_vlan++] = (uint16_t)vid;
	s->auth[s->n_auth - 1].vl_n++;
	return 0;
}

/* True when k lies in one of the n sorted, disjoint ranges at e. */
static int in_ranges(const struct scope_range *e, uint32_t n, struct key k)
{
	uint32_t lo = 0, hi = n; /* the answer is the last range with lo <= k */

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (key_le(e[mid].lo, k))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && key_le(k, e[lo - 1].hi);
}

static int in_prefixes(const struct decode_scope *s, const struct scope_auth *a,
		       const struct packet *pkt)
{
	const struct scope_range *e;
	uint32_t n;

	if (a->v4_n == 0 && a->v6_n == 0)
		return 1;
	n = pkt->src.family == 4 ? a->v4_n : a->v6_n;
	if (n == 0)
		return 0;
	/* Only now: an empty family's array may be NULL. */
	e = pkt->src.family == 4 ? s->v4 + a->v4_first : s->v6 + a->v6_first;
	return in_ranges(e, n, key_of(&pkt->src)) || in_ranges(e, n, key_of(&pkt->dst));
}

static int in_vlans(const struct decode_scope *s, const struct scope_auth *a,
		    const struct packet *pkt)
{
	const uint16_t *v;

	if (a->vl_n == 0)
		return 1;
	v = s->vlan + a->vl_first; /* not before: vlan may be NULL */
	for (unsigned t = 0; t < pkt->vlan_n; t++)
		for (uint32_t i = 0; i < a->vl_n; i++)
			if (v[i] == pkt->vlan[t])
				return 1;
	return 0;
}

int decode_scope_allows(const struct decode_scope *s, const struct packet *pkt)
{
	for (uint32_t i = 0; i < s->n_auth; i++)
		if (in_vlans(s, &s->auth[i], pkt) && in_prefixes(s, &s->auth[i], pkt))
			return 1;
	return 0;
}

size_t decode_scope_count(const struct decode_scope *s)
{
	return s->n_auth;
}

int64_t decode_scope_id(const struct decode_scope *s, size_t i)
{
	return i < s->n_auth ? s->auth[i].id : -1;
}

int decode_scope_equal(const struct decode_scope *a, const struct decode_scope *b)
{
	if (a->n_auth != b->n_auth || a->n_v4 != b->n_v4 || a->n_v6 != b->n_v6 ||
	    a->n_vlan != b->n_vlan)
		return 0;
	return (a->n_auth == 0 || memcmp(a->auth, b->auth, a->n_auth * sizeof(*a->auth)) == 0) &&
	       (a->n_v4 == 0 || memcmp(a->v4, b->v4, a->n_v4 * sizeof(*a->v4)) == 0) &&
	       (a->n_v6 == 0 || memcmp(a->v6, b->v6, a->n_v6 * sizeof(*a->v6)) == 0) &&
	       (a->n_vlan == 0 || memcmp(a->vlan, b->vlan, a->n_vlan * sizeof(*a->vlan)) == 0);
}
