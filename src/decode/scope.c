/* scope.c - monitoring authorizations as flat arrays of precomputed masks. */
#include "decode/scope.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/cursor.h"
#include "decode/decode.h"

struct scope_v4 {
	uint32_t net, mask; /* host order, net already masked */
};

struct scope_v6 {
	uint64_t net[2], mask[2];
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
	struct scope_v4 *v4;
	struct scope_v6 *v6;
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

int decode_scope_add_prefix(struct decode_scope *s, const struct ip_addr *net, unsigned bits)
{
	struct scope_auth *a;

	if (s->n_auth == 0)
		return YG_EINVAL;
	if (s->n_v4 + s->n_v6 >= DECODE_SCOPE_MAX_PREFIXES)
		return YG_ELIMIT;
	a = &s->auth[s->n_auth - 1];
	if (net->family == 4) {
		struct scope_v4 *e;
		if (bits > 32)
			return YG_EINVAL;
		if (grow(&s->v4, s->n_v4, &s->cap_v4, sizeof(*s->v4)) < 0)
			return YG_ENOMEM;
		e = &s->v4[s->n_v4++];
		e->mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
		e->net = load_be32(net->a) & e->mask;
		a->v4_n++;
		return 0;
	}
	if (net->family != 6 || bits > 128)
		return YG_EINVAL;
	struct scope_v6 *e;
	if (grow(&s->v6, s->n_v6, &s->cap_v6, sizeof(*s->v6)) < 0)
		return YG_ENOMEM;
	e = &s->v6[s->n_v6++];
	e->mask[0] = mask64(bits);
	e->mask[1] = bits > 64 ? mask64(bits - 64) : 0;
	e->net[0] = load64(net->a) & e->mask[0];
	e->net[1] = load64(net->a + 8) & e->mask[1];
	a->v6_n++;
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

static int in_prefixes(const struct decode_scope *s, const struct scope_auth *a,
		       const struct packet *pkt)
{
	uint32_t i;

	if (a->v4_n == 0 && a->v6_n == 0)
		return 1;
	if (pkt->src.family == 4) {
		uint32_t sa = load_be32(pkt->src.a), da = load_be32(pkt->dst.a);
		const struct scope_v4 *e;
		if (a->v4_n == 0)
			return 0;
		e = s->v4 + a->v4_first; /* not before: v4 may be NULL */
		for (i = 0; i < a->v4_n; i++)
			if ((sa & e[i].mask) == e[i].net || (da & e[i].mask) == e[i].net)
				return 1;
		return 0;
	}
	uint64_t s0 = load64(pkt->src.a), s1 = load64(pkt->src.a + 8);
	uint64_t d0 = load64(pkt->dst.a), d1 = load64(pkt->dst.a + 8);
	const struct scope_v6 *e;
	if (a->v6_n == 0)
		return 0;
	e = s->v6 + a->v6_first;
	for (i = 0; i < a->v6_n; i++) {
		if (((s0 & e[i].mask[0]) == e[i].net[0] && (s1 & e[i].mask[1]) == e[i].net[1]) ||
		    ((d0 & e[i].mask[0]) == e[i].net[0] && (d1 & e[i].mask[1]) == e[i].net[1]))
			return 1;
	}
	return 0;
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
