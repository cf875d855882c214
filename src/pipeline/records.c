/* records.c - flow records in: a collector's NetFlow and IPFIX records
 * made into the bidirectional flows the rest of the sensor reads.
 *
 * Exporters send one record per direction of a connection. The first
 * direction's record waits in a small table (keyed on the 5-tuple in
 * canonical order, oldest first in a list) for the other's; the two are
 * joined when their times are within the idle timeout of each other, or
 * the first is taken alone after pair_wait_us of arrival time, when the
 * table is full, or at the end. A biflow record (RFC 5103) needs no wait. */
#include "pipeline/pipeline_int.h"

#include <stdlib.h>

#include "base/alloc.h"
#include "netflow/netflow.h"

#define NIL UINT32_MAX
#define DEFAULT_PAIR_WAIT_US (5 * 1000000ULL)

/* One direction, ports as the flow table keeps them (ICMP mapped). */
struct half {
	struct ip_addr src, dst;
	uint16_t sport, dport;
	uint16_t vlan;
	uint8_t proto, tcp_flags;
	uint8_t icmp_type, icmp_code;
	uint64_t pkts, bytes;
	uint64_t first_us, last_us;
};

struct pend {
	struct half h;
	uint64_t arrived_us;
	uint64_t hash;
	uint32_t hnext;      /* bucket chain, or the free list */
	uint32_t prev, next; /* by arrival */
};

/* Sized to what waits, not to what may: most records find their other
 * direction within the same export, so the table stays small and in cache;
 * it doubles as it fills, up to cap entries. */
struct pairer {
	uint32_t cap;    /* entries at most */
	uint32_t size;   /* entries allocated */
	uint32_t hw;     /* entries ever handed out (the rest are untouched) */
	uint32_t mask;   /* buckets - 1 */
	uint32_t *buckets;
	struct pend *pool;
	uint32_t free;       /* entries given back */
	uint32_t head, tail; /* oldest, newest */
	uint32_t n;          /* waiting */
};

#define PAIRER_START 1024

static struct pairer *pairer_new(uint32_t cap)
{
	struct pairer *t = yg_calloc(1, sizeof(*t));
	uint32_t start = cap < PAIRER_START ? cap : PAIRER_START;

	if (t == NULL)
		return NULL;
	t->cap = cap;
	t->size = start;
	t->mask = start * 2 - 1;
	t->buckets = yg_malloc(sizeof(uint32_t) * (t->mask + 1));
	t->pool = yg_malloc(sizeof(struct pend) * start);
	if (t->buckets == NULL || t->pool == NULL) {
		free(t->buckets);
		free(t->pool);
		free(t);
		return NULL;
	}
	memset(t->buckets, 0xff, sizeof(uint32_t) * (t->mask + 1));
	t->free = t->head = t->tail = NIL;
	return t;
}

static void pairer_free(struct pairer *t)
{
	if (t == NULL)
		return;
	free(t->buckets);
	free(t->pool);
	free(t);
}

/* Doubles the entries and the buckets. Returns 0, or -1 (no memory: the
 * table stays as it was). */
static int pairer_grow(struct pairer *t)
{
	uint32_t size = t->size * 2 > t->cap ? t->cap : t->size * 2, nb = size * 2;
	struct pend *pool = yg_realloc(t->pool, sizeof(struct pend) * size);
	uint32_t *buckets;

	if (pool == NULL)
		return -1;
	t->pool = pool;
	t->size = size;
	if ((buckets = yg_malloc(sizeof(uint32_t) * nb)) == NULL)
		return 0; /* more entries, the old buckets: still correct */
	memset(buckets, 0xff, sizeof(uint32_t) * nb);
	free(t->buckets);
	t->buckets = buckets;
	t->mask = nb - 1;
	for (uint32_t i = t->head; i != NIL; i = t->pool[i].next) {
		uint32_t *b = &t->buckets[t->pool[i].hash & t->mask];
		t->pool[i].hnext = *b;
		*b = i;
	}
	return 0;
}

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/* The same for both directions of a connection. */
static uint64_t half_hash(const struct half *h)
{
	uint64_t a = 0, b = 0, x = 0, y = 0;

	memcpy(&a, h->src.a, 8);
	memcpy(&x, h->src.a + 8, 8);
	memcpy(&b, h->dst.a, 8);
	memcpy(&y, h->dst.a + 8, 8);
	a = mix(a, x) + h->sport;
	b = mix(b, y) + h->dport;
	return mix(mix(a ^ b, a + b), (uint64_t)h->proto << 16 | h->vlan);
}

static int is_reverse(const struct half *a, const struct half *b, uint64_t slack)
{
	if (a->proto != b->proto || a->vlan != b->vlan || a->sport != b->dport ||
	    a->dport != b->sport || memcmp(&a->src, &b->dst, sizeof(a->src)) != 0 ||
	    memcmp(&a->dst, &b->src, sizeof(a->dst)) != 0)
		return 0;
	/* Times within the idle timeout: the same connection, not the next
	 * one on the same ports. */
	return a->first_us <= b->last_us + slack && b->first_us <= a->last_us + slack;
}

static void half_from_record(struct half *h, const struct nf_record *r)
{
	int one_way;

	memset(h, 0, sizeof(*h));
	h->src = r->src;
	h->dst = r->dst;
	h->proto = r->proto;
	h->vlan = (r->flags & NF_REC_VLAN) ? r->vlan : 0;
	h->sport = r->sport;
	h->dport = r->dport;
	if (r->proto == 1 || r->proto == 58) {
		h->icmp_type = (uint8_t)(r->dport >> 8);
		h->icmp_code = (uint8_t)r->dport;
		icmp_map_ports(r->proto, h->icmp_type, h->icmp_code, &h->sport, &h->dport,
			       &one_way);
	}
	h->tcp_flags = r->proto == 6 ? r->tcp_flags : 0;
	h->pkts = r->packets;
	h->bytes = r->octets;
	h->first_us = r->first_us;
	h->last_us = r->last_us >= r->first_us ? r->last_us : r->first_us;
}

/* The reverse direction of a biflow record. ICMP: the type is the
 * answer's (the request's peer) when the record counted both directions,
 * the record's own when only the reverse sent anything (an exporter keys
 * a lone direction's flow on its own type). */
static void half_reverse(struct half *rev, const struct half *fwd, const struct nf_record *r)
{
	int one_way;

	*rev = *fwd;
	rev->src = fwd->dst;
	rev->dst = fwd->src;
	rev->sport = fwd->dport;
	rev->dport = fwd->sport;
	if (r->proto == 1 || r->proto == 58) {
		rev->icmp_type = r->packets ? (uint8_t)fwd->dport : fwd->icmp_type;
		rev->icmp_code = r->packets ? 0 : fwd->icmp_code;
		icmp_map_ports(r->proto, rev->icmp_type, rev->icmp_code, &rev->sport, &rev->dport,
			       &one_way);
	}
	rev->tcp_flags = r->proto == 6 ? r->rev_tcp_flags : 0;
	rev->pkts = r->rev_packets;
	rev->bytes = r->rev_octets;
}

/* A SYN-ACK without data: an answer to a SYN, not a conversation. */
static int synack_only(const struct half *h)
{
	return (h->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) &&
	       !(h->tcp_flags & (TCP_PSH | TCP_FIN));
}

/* Which of two directions began the connection: 0 for a, 1 for b. */
static int began(const struct half *a, const struct half *b)
{
	int sa = (a->tcp_flags & TCP_SYN) != 0, sb = (b->tcp_flags & TCP_SYN) != 0;

	if (a->proto == 6 && sa != sb) {
		/* One side sent a SYN: it began, unless it was a SYN-ACK, which
		 * the flow table takes as begun by the side it went to. */
		int synack = synack_only(sa ? a : b);
		return (sa != 0) != (synack != 0) ? 0 : 1;
	}
	if (a->first_us != b->first_us)
		return a->first_us < b->first_us ? 0 : 1;
	/* Same time (exporters with coarse clocks): the ephemeral port. */
	return a->sport >= b->sport ? 0 : 1;
}

static void emit(struct pipeline *p, const struct half *cl, const struct half *sv)
{
	struct flow f;
	struct packet pk;
	struct decode_scope *scope;
	struct intel_snapshot *snap;
	int side, c;
	uint32_t hdr;

	memset(&pk, 0, sizeof(pk));
	pk.src = cl->src;
	pk.dst = cl->dst;
	pk.vlan[0] = cl->vlan;
	pk.vlan_n = cl->vlan != 0;
	pk.ip_proto = cl->proto;
	scope = pipeline_scope_hold(p);
	if (scope != NULL && !decode_scope_allows(scope, &pk)) {
		p->rstats.unauthorized++;
		if (scope != p->no_scope)
			decode_scope_release(scope);
		return;
	}
	if (scope != NULL && scope != p->no_scope)
		decode_scope_release(scope);

	memset(&f, 0, sizeof(f));
	c = memcmp(cl->src.a, cl->dst.a, 16);
	if (c == 0)
		c = (int)cl->sport - (int)cl->dport;
	side = c <= 0 ? 0 : 1; /* the client's key side */
	memcpy(f.key.addr[side], cl->src.a, 16);
	memcpy(f.key.addr[side ^ 1], cl->dst.a, 16);
	f.key.port[side] = cl->sport;
	f.key.port[side ^ 1] = cl->dport;
	f.key.vlan[0] = cl->vlan;
	f.key.proto = cl->proto;
	f.key.family = cl->src.family;
	f.client = (uint8_t)side;
	f.icmp_type = cl->icmp_type;
	f.icmp_code = cl->icmp_code;
	f.pkts[FLOW_TOSERVER] = cl->pkts;
	/* A record's octets are IP octets: no frame to measure, so EVE's
	 * bytes and IPFIX's octets are the same count. */
	f.bytes[FLOW_TOSERVER] = cl->bytes;
	f.ip_bytes[FLOW_TOSERVER] = cl->bytes;
	f.tcp_flags[FLOW_TOSERVER] = cl->tcp_flags;
	f.first_us = UINT64_MAX;
	if (cl->pkts > 0) {
		f.first_us = cl->first_us;
		f.last_us = cl->last_us;
	}
	if (sv != NULL) {
		f.pkts[FLOW_TOCLIENT] = sv->pkts;
		f.bytes[FLOW_TOCLIENT] = sv->bytes;
		f.ip_bytes[FLOW_TOCLIENT] = sv->bytes;
		f.tcp_flags[FLOW_TOCLIENT] = sv->tcp_flags;
		if (sv->pkts > 0 && sv->first_us < f.first_us)
			f.first_us = sv->first_us;
		if (sv->pkts > 0 && sv->last_us > f.last_us)
			f.last_us = sv->last_us;
	}
	if (f.first_us == UINT64_MAX) {
		f.first_us = cl->first_us;
		f.last_us = cl->last_us;
	}
	if (f.key.proto == 6) {
		uint8_t all = f.tcp_flags[0] | f.tcp_flags[1];
		f.state = (all & TCP_RST) || ((f.tcp_flags[0] & TCP_FIN) && (f.tcp_flags[1] & TCP_FIN))
				  ? FLOW_STATE_CLOSED
			  : f.pkts[FLOW_TOCLIENT] && (f.tcp_flags[1] & TCP_SYN) ? FLOW_STATE_ESTABLISHED
										: FLOW_STATE_NEW;
	} else {
		f.state = f.pkts[FLOW_TOCLIENT] ? FLOW_STATE_ESTABLISHED : FLOW_STATE_NEW;
	}
	f.flow_id = (half_hash(cl) ^ (f.first_us * 0x9e3779b97f4a7c15ULL)) + ++p->rec_seq;
	f.flow_id &= (1ULL << 53) - 1;
	p->rstats.flows++;
	hdr = (f.key.family == 4 ? 20 : 40) + (f.key.proto == 17 ? 8 : 0);
	if (p->det != NULL) {
		pipeline_detect_update(p);
		snap = pipeline_intel_hold(p);
		p->cur = &f;
		detect_flow(p->det, &f, hdr);
		p->cur = NULL;
		pipeline_intel_drop(p, snap);
	}
	eve_flow(p->eve, &f, FLOW_END_TIMEOUT);
	if (p->cfg.flow_tap != NULL)
		p->cfg.flow_tap(p->cfg.flow_tap_ctx, &f, FLOW_END_TIMEOUT);
}

static void emit_two(struct pipeline *p, const struct half *a, const struct half *b)
{
	if (began(a, b) == 0)
		emit(p, a, b);
	else
		emit(p, b, a);
}

/* A record with no answer: its sender began it, unless it is a SYN-ACK
 * nobody asked for (reflection), which the flow table also takes as begun
 * by the side it was sent to. */
static void emit_alone(struct pipeline *p, const struct half *h)
{
	struct half none = *h;

	if (h->proto == 6 && synack_only(h)) {
		none.src = h->dst;
		none.dst = h->src;
		none.sport = h->dport;
		none.dport = h->sport;
		none.pkts = none.bytes = 0;
		none.tcp_flags = 0;
		emit(p, &none, h);
		return;
	}
	emit(p, h, NULL);
}

static void unlink_pend(struct pairer *t, uint32_t i)
{
	struct pend *e = &t->pool[i];
	uint32_t *pp = &t->buckets[e->hash & t->mask];

	while (*pp != i)
		pp = &t->pool[*pp].hnext;
	*pp = e->hnext;
	if (e->prev != NIL)
		t->pool[e->prev].next = e->next;
	else
		t->head = e->next;
	if (e->next != NIL)
		t->pool[e->next].prev = e->prev;
	else
		t->tail = e->prev;
	e->hnext = t->free;
	t->free = i;
	t->n--;
}

/* Takes the oldest waiting record alone. */
static void pop_oldest(struct pipeline *p)
{
	struct pairer *t = p->pairer;
	uint32_t i = t->head;
	struct half h = t->pool[i].h;

	unlink_pend(t, i);
	p->rstats.waiting--;
	emit_alone(p, &h);
}

void pipeline_records_advance(struct pipeline *p, uint64_t now_us)
{
	struct pairer *t = p->pairer;
	uint64_t wait = p->cfg.pair_wait_us ? p->cfg.pair_wait_us : DEFAULT_PAIR_WAIT_US;

	while (t != NULL && t->head != NIL && t->pool[t->head].arrived_us + wait <= now_us)
		pop_oldest(p);
}

void pipeline_records_flush(struct pipeline *p)
{
	while (p->pairer != NULL && p->pairer->head != NIL)
		pop_oldest(p);
}

void pipeline_records_free(struct pipeline *p)
{
	pipeline_records_flush(p);
	pairer_free(p->pairer);
	p->pairer = NULL;
}

const struct pipeline_record_stats *pipeline_record_stats(const struct pipeline *p)
{
	return &p->rstats;
}

void pipeline_record(struct pipeline *p, const struct nf_record *r, uint64_t now_us)
{
	uint64_t slack = p->cfg.flow.idle_timeout_us;
	struct pairer *t;
	struct half h, rev;
	struct pend *e;
	uint32_t i;

	p->rstats.records++;
	half_from_record(&h, r);
	if (r->flags & NF_REC_BIFLOW) {
		half_reverse(&rev, &h, r);
		if (h.pkts > 0 && rev.pkts > 0) {
			p->rstats.biflows++;
			emit_two(p, &h, &rev);
			return;
		}
		/* One direction only: a record like any other, which may pair
		 * with the other direction's (exporters that key ICMP on the
		 * type give request and answer records of their own). */
		if (h.pkts == 0)
			h = rev;
	}
	if (p->pairer == NULL) {
		p->pairer = pairer_new(p->cfg.flow.max_flows < 1u << 20 ? p->cfg.flow.max_flows
									 : 1u << 20);
		if (p->pairer == NULL) { /* no memory: every record alone */
			emit_alone(p, &h);
			return;
		}
	}
	t = p->pairer;
	/* The clock is read per datagram: a record's wait is ended by the next
	 * record that comes later, or by pipeline_advance(). */
	if (t->head != NIL && now_us != t->pool[t->tail].arrived_us)
		pipeline_records_advance(p, now_us);
	uint64_t hash = half_hash(&h);
	for (i = t->buckets[hash & t->mask]; i != NIL; i = t->pool[i].hnext) {
		if (t->pool[i].hash != hash || !is_reverse(&t->pool[i].h, &h, slack))
			continue;
		struct half a = t->pool[i].h;
		unlink_pend(t, i);
		p->rstats.waiting--;
		p->rstats.paired++;
		emit_two(p, &a, &h);
		return;
	}
	if (t->free == NIL && t->hw == t->size && (t->size == t->cap || pairer_grow(t) < 0))
		pop_oldest(p); /* full: the oldest goes alone */
	if (t->free != NIL) {
		i = t->free;
		t->free = t->pool[i].hnext;
	} else {
		i = t->hw++;
	}
	e = &t->pool[i];
	t->n++;
	e->h = h;
	e->hash = hash;
	e->arrived_us = now_us;
	e->hnext = t->buckets[hash & t->mask];
	t->buckets[hash & t->mask] = i;
	e->prev = t->tail;
	e->next = NIL;
	if (t->tail != NIL)
		t->pool[t->tail].next = i;
	else
		t->head = i;
	t->tail = i;
	p->rstats.waiting++;
}
