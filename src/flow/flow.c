/* flow.c - hash table with chaining through pool indexes, and two timeout
 * lists (open and closed flows).
 *
 * The lists are kept in last-seen order lazily: a packet moves its flow to
 * the tail only when the flow was queued in an earlier ~1 s tick (last_us
 * >> 20), so most packets touch no other flow's memory. Expiry looks at
 * the head: expired flows end, flows seen since they were queued go back
 * to the tail, and the first flow that is neither stops the scan. Since
 * order within a tick is loose, a lookup also checks the idle timeout of
 * the flow it finds, so that flows split exactly at their timeout. */
#include "flow/flow.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/alloc.h"

#define NIL UINT32_MAX

struct lru {
	uint32_t head, tail;
};

struct flow_table {
	struct flow_config cfg;
	flow_end_fn on_end;
	void *ctx;
	struct flow *pool;
	size_t pool_bytes;
	uint32_t *buckets;
	uint32_t mask;
	uint32_t used;      /* pool slots ever handed out (bump allocator) */
	uint32_t free_head; /* slots returned, chained through hnext */
	struct lru open, closed;
	struct flow_stats stats;
	uint64_t seq;
};

const char *flow_state_name(enum flow_state s)
{
	switch (s) {
	case FLOW_STATE_NEW:
		return "new";
	case FLOW_STATE_ESTABLISHED:
		return "established";
	case FLOW_STATE_CLOSED:
		return "closed";
	}
	return "unknown";
}

const char *flow_end_reason_name(enum flow_end_reason r)
{
	switch (r) {
	case FLOW_END_TIMEOUT:
		return "timeout";
	case FLOW_END_ACTIVE_TIMEOUT:
		return "active_timeout";
	case FLOW_END_CLOSED:
		return "closed";
	case FLOW_END_SHUTDOWN:
		return "shutdown";
	case FLOW_END_EVICTED:
		return "evicted";
	}
	return "unknown";
}

const char *app_proto_name(enum app_proto p)
{
	switch (p) {
	case APP_DNS:
		return "dns";
	case APP_TLS:
		return "tls";
	case APP_HTTP:
		return "http";
	case APP_NONE:
		break;
	}
	return NULL;
}

/* Mixes the key's 44 bytes (read as 64-bit words plus a tail) into 64 bits. */
static inline uint64_t key_hash(const struct flow_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = 0x9e3779b97f4a7c15ULL, w;
	uint32_t tail;

	for (int i = 0; i < 5; i++) {
		memcpy(&w, p + i * 8, 8);
		h ^= w;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	memcpy(&tail, p + 40, 4);
	h ^= tail;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return h;
}

struct flow_table *flow_table_new(const struct flow_config *cfg, flow_end_fn on_end, void *ctx)
{
	struct flow_table *t;
	uint64_t nb;

	if (cfg->max_flows == 0 || cfg->max_flows > (1u << 31))
		return NULL;
	t = yg_calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->cfg = *cfg;
	t->on_end = on_end;
	t->ctx = ctx;
	/* Reserve the pool without touching it: pages become resident only
	 * as flows use them, so a generous --max-flows costs nothing. */
	t->pool_bytes = (size_t)cfg->max_flows * sizeof(struct flow);
	t->pool = mmap(NULL, t->pool_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t->pool == MAP_FAILED)
		goto fail;
	nb = 1024;
	while (nb < (uint64_t)cfg->max_flows)
		nb <<= 1;
	t->buckets = yg_malloc(nb * sizeof(uint32_t));
	if (t->buckets == NULL)
		goto fail;
	memset(t->buckets, 0xff, nb * sizeof(uint32_t));
	t->mask = (uint32_t)(nb - 1);
	t->free_head = NIL;
	t->open.head = t->open.tail = NIL;
	t->closed.head = t->closed.tail = NIL;
	return t;
fail:
	if (t->pool != NULL && t->pool != MAP_FAILED)
		munmap(t->pool, t->pool_bytes);
	free(t);
	return NULL;
}

const struct flow_stats *flow_table_stats(const struct flow_table *t)
{
	return &t->stats;
}

static void lru_unlink(struct flow_table *t, struct lru *l, uint32_t i)
{
	struct flow *f = &t->pool[i];

	if (f->prev != NIL)
		t->pool[f->prev].next = f->next;
	else
		l->head = f->next;
	if (f->next != NIL)
		t->pool[f->next].prev = f->prev;
	else
		l->tail = f->prev;
}

static void lru_append(struct flow_table *t, struct lru *l, uint32_t i)
{
	struct flow *f = &t->pool[i];

	f->next = NIL;
	f->prev = l->tail;
	if (l->tail != NIL)
		t->pool[l->tail].next = i;
	else
		l->head = i;
	l->tail = i;
}

static inline struct lru *flow_lru(struct flow_table *t, const struct flow *f)
{
	return f->state == FLOW_STATE_CLOSED ? &t->closed : &t->open;
}

/* Removes flow i from the hash chain, its list, and returns its slot. */
static void flow_end(struct flow_table *t, uint32_t i, enum flow_end_reason why)
{
	struct flow *f = &t->pool[i];
	uint32_t *pp = &t->buckets[key_hash(&f->key) & t->mask];

	if (t->on_end != NULL)
		t->on_end(t->ctx, f, why);
	while (*pp != i)
		pp = &t->pool[*pp].hnext;
	*pp = f->hnext;
	lru_unlink(t, flow_lru(t, f), i);
	f->hnext = t->free_head;
	t->free_head = i;
	t->stats.ended++;
	t->stats.active--;
	if (why == FLOW_END_EVICTED)
		t->stats.evicted++;
}

#define TICK(us) ((uint32_t)((us) >> 20))

static void expire(struct flow_table *t, struct lru *l, uint64_t timeout, uint64_t now)
{
	while (l->head != NIL) {
		uint32_t i = l->head;
		struct flow *f = &t->pool[i];
		if (f->last_us + timeout < now) {
			flow_end(t, i, FLOW_END_TIMEOUT);
		} else if (f->queued != TICK(f->last_us)) {
			lru_unlink(t, l, i);
			lru_append(t, l, i);
			f->queued = TICK(f->last_us);
		} else {
			break;
		}
	}
}

static inline uint64_t flow_timeout(const struct flow_table *t, const struct flow *f)
{
	return f->state == FLOW_STATE_CLOSED ? t->cfg.closed_timeout_us : t->cfg.idle_timeout_us;
}

void flow_table_advance(struct flow_table *t, uint64_t now_us)
{
	expire(t, &t->open, t->cfg.idle_timeout_us, now_us);
	expire(t, &t->closed, t->cfg.closed_timeout_us, now_us);
}

void flow_table_flush(struct flow_table *t, enum flow_end_reason why)
{
	while (t->open.head != NIL)
		flow_end(t, t->open.head, why);
	while (t->closed.head != NIL)
		flow_end(t, t->closed.head, why);
}

void flow_table_free(struct flow_table *t)
{
	if (t == NULL)
		return;
	flow_table_flush(t, FLOW_END_SHUTDOWN);
	munmap(t->pool, t->pool_bytes);
	free(t->buckets);
	free(t);
}

static uint32_t slot_take(struct flow_table *t)
{
	uint32_t i;

	if (t->free_head != NIL) {
		i = t->free_head;
		t->free_head = t->pool[i].hnext;
		return i;
	}
	if (t->used < t->cfg.max_flows)
		return t->used++;
	/* Full: evict the flow idle longest, closed ones first. */
	flow_end(t, t->closed.head != NIL ? t->closed.head : t->open.head, FLOW_END_EVICTED);
	i = t->free_head;
	t->free_head = t->pool[i].hnext;
	return i;
}

/* Builds the canonical key; *swapped tells whether the packet's source is
 * side 1. */
static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

/* memcmp order of two addresses of the same family, without a call. */
static inline int addr_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
	uint64_t x = load_be64(a->a), y = load_be64(b->a);

	if (x == y && a->family == 6) {
		x = load_be64(a->a + 8);
		y = load_be64(b->a + 8);
	}
	return (x > y) - (x < y);
}

static inline int key_eq(const struct flow_key *a, const struct flow_key *b)
{
	const uint8_t *p = (const uint8_t *)a, *q = (const uint8_t *)b;
	uint64_t d = 0, x, y;
	uint32_t u, v;

	for (int i = 0; i < 5; i++) {
		memcpy(&x, p + i * 8, 8);
		memcpy(&y, q + i * 8, 8);
		d |= x ^ y;
	}
	memcpy(&u, p + 40, 4);
	memcpy(&v, q + 40, 4);
	return d == 0 && u == v;
}

static inline void key_make(const struct packet *pkt, struct flow_key *k, int *swapped)
{
	int c = addr_cmp(&pkt->src, &pkt->dst);

	if (c == 0)
		c = (int)pkt->sport - (int)pkt->dport;
	memset(k, 0, sizeof(*k));
	if (c <= 0) {
		memcpy(k->addr[0], pkt->src.a, 16);
		memcpy(k->addr[1], pkt->dst.a, 16);
		k->port[0] = pkt->sport;
		k->port[1] = pkt->dport;
		*swapped = 0;
	} else {
		memcpy(k->addr[0], pkt->dst.a, 16);
		memcpy(k->addr[1], pkt->src.a, 16);
		k->port[0] = pkt->dport;
		k->port[1] = pkt->sport;
		*swapped = 1;
	}
	k->vlan[0] = pkt->vlan[0];
	k->vlan[1] = pkt->vlan[1];
	k->proto = pkt->ip_proto;
	k->family = pkt->src.family;
}

static uint32_t flow_create(struct flow_table *t, const struct flow_key *k, uint64_t h,
			    const struct packet *pkt, int side)
{
	uint32_t i = slot_take(t);
	struct flow *f = &t->pool[i];
	uint32_t *bucket;

	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->client = (uint8_t)side;
	/* A SYN-ACK as first packet: the receiver is the initiator. */
	if (pkt->ip_proto == 6 && (pkt->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
		f->client ^= 1;
	f->icmp_type = pkt->icmp_type;
	f->icmp_code = pkt->icmp_code;
	f->first_us = pkt->ts_us;
	f->last_us = pkt->ts_us;
	f->queued = TICK(pkt->ts_us);
	/* Unique for the run, stable across runs on the same input, and under
	 * 2^53 so that JSON consumers keep it exact. */
	f->flow_id = ((h ^ (pkt->ts_us * 0x9e3779b97f4a7c15ULL)) + ++t->seq) & ((1ULL << 53) - 1);
	bucket = &t->buckets[h & t->mask];
	f->hnext = *bucket;
	*bucket = i;
	lru_append(t, &t->open, i);
	t->stats.created++;
	t->stats.active++;
	if (t->stats.active > t->stats.peak)
		t->stats.peak = t->stats.active;
	return i;
}

static void tcp_track(struct flow_table *t, uint32_t i, int dir, uint8_t flags)
{
	struct flow *f = &t->pool[i];

	f->tcp_flags[dir] |= flags;
	if (f->state == FLOW_STATE_CLOSED)
		return;
	if (flags & TCP_FIN)
		f->fin_seen |= (uint8_t)(1 << dir);
	if ((flags & TCP_RST) || f->fin_seen == 3) {
		lru_unlink(t, &t->open, i);
		f->state = FLOW_STATE_CLOSED;
		lru_append(t, &t->closed, i);
		f->queued = TICK(f->last_us);
		return;
	}
	/* Established once the client acknowledged the server's SYN-ACK, or
	 * once both sides sent anything for a connection seen mid-stream. */
	if (f->state == FLOW_STATE_NEW && (f->tcp_flags[FLOW_TOCLIENT] & TCP_SYN) &&
	    dir == FLOW_TOSERVER && (flags & TCP_ACK))
		f->state = FLOW_STATE_ESTABLISHED;
	else if (f->state == FLOW_STATE_NEW && !(f->tcp_flags[FLOW_TOSERVER] & TCP_SYN) &&
		 f->pkts[0] && f->pkts[1])
		f->state = FLOW_STATE_ESTABLISHED;
}

void flow_lookup_prepare(const struct packet *pkt, struct flow_lookup *lk)
{
	key_make(pkt, &lk->key, &lk->side);
	lk->hash = key_hash(&lk->key);
}

void flow_table_prefetch_bucket(const struct flow_table *t, const struct flow_lookup *lk)
{
	__builtin_prefetch(&t->buckets[lk->hash & t->mask]);
}

void flow_table_prefetch_flow(const struct flow_table *t, const struct flow_lookup *lk)
{
	uint32_t i = t->buckets[lk->hash & t->mask];

	if (i != NIL) {
		__builtin_prefetch(&t->pool[i], 1);
		__builtin_prefetch((const char *)&t->pool[i] + 64, 1);
	}
}

struct flow *flow_table_update(struct flow_table *t, const struct packet *pkt, int *dir,
			       unsigned *events)
{
	struct flow_lookup lk;

	flow_lookup_prepare(pkt, &lk);
	return flow_table_update_prepared(t, pkt, &lk, dir, events);
}

struct flow *flow_table_update_prepared(struct flow_table *t, const struct packet *pkt,
					const struct flow_lookup *lk, int *dir, unsigned *events)
{
	unsigned ev = 0;
	const struct flow_key *k = &lk->key;
	struct flow *f;
	uint64_t h = lk->hash, now = pkt->ts_us;
	uint32_t i;
	int side = lk->side;

	expire(t, &t->open, t->cfg.idle_timeout_us, now);
	expire(t, &t->closed, t->cfg.closed_timeout_us, now);

	for (i = t->buckets[h & t->mask]; i != NIL; i = t->pool[i].hnext)
		if (key_eq(&t->pool[i].key, k))
			break;

	if (i != NIL) {
		f = &t->pool[i];
		if (now > f->last_us && now - f->last_us > flow_timeout(t, f)) {
			/* Idle past its timeout, not yet reached by expire(). */
			flow_end(t, i, FLOW_END_TIMEOUT);
			i = flow_create(t, k, h, pkt, side);
			ev = FLOW_EV_NEW;
		} else if (now > f->first_us && now - f->first_us > t->cfg.active_timeout_us) {
			int client = f->client;
			flow_end(t, i, FLOW_END_ACTIVE_TIMEOUT);
			i = flow_create(t, k, h, pkt, side);
			t->pool[i].client = (uint8_t)client; /* same conversation goes on */
			t->pool[i].state = FLOW_STATE_ESTABLISHED;
		} else if (f->state == FLOW_STATE_CLOSED && pkt->ip_proto == 6 &&
			   (pkt->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
			/* A new connection on a closed tuple (port reuse). */
			flow_end(t, i, FLOW_END_CLOSED);
			i = flow_create(t, k, h, pkt, side);
			ev = FLOW_EV_NEW;
		}
	} else {
		i = flow_create(t, k, h, pkt, side);
		ev = FLOW_EV_NEW;
	}

	f = &t->pool[i];
	*dir = side == f->client ? FLOW_TOSERVER : FLOW_TOCLIENT;
	f->pkts[*dir]++;
	f->bytes[*dir] += pkt->wirelen;
	f->ip_bytes[*dir] += pkt->ip_len;
	if (now > f->last_us)
		f->last_us = now;
	if (pkt->ip_proto == 6) {
		uint8_t before = f->state;
		tcp_track(t, i, *dir, pkt->tcp_flags);
		if (before == FLOW_STATE_NEW && f->state == FLOW_STATE_ESTABLISHED)
			ev |= FLOW_EV_ESTABLISHED;
	} else if (f->state == FLOW_STATE_NEW && f->pkts[0] && f->pkts[1]) {
		f->state = FLOW_STATE_ESTABLISHED;
	}
	*events = ev;
	return f;
}
