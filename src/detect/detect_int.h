/* detect_int.h - what the detectors share inside src/detect. */
#ifndef YAGURA_DETECT_DETECT_INT_H
#define YAGURA_DETECT_DETECT_INT_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "detect/detect.h"
#include "detect/dtable.h"

#define SEC 1000000ULL

/* Distinct values: exactly while there are at most DISTINCT_EXACT (by a
 * 32-bit fingerprint of each), by linear counting over 256 bits beyond,
 * which is exact enough for the counts detectors judge past their
 * thresholds (tens to a few hundred) and saturates at 1,500. The exact
 * part matters at the thresholds themselves: linear counting over 256 bits
 * sees 10 values as 9 about one time in six. 96 bytes per record. */
#define DISTINCT_EXACT 15
struct distinct {
	uint64_t bits[4];
	uint32_t fp[DISTINCT_EXACT];
	uint32_t n; /* fingerprints held; DISTINCT_EXACT + 1 once past them */
};

static inline void distinct_add(struct distinct *d, uint64_t h)
{
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	d->bits[(h >> 6) & 3] |= 1ULL << (h & 63);
	if (d->n <= DISTINCT_EXACT) {
		uint32_t fp = (uint32_t)(h >> 32) | 1;
		for (uint32_t i = 0; i < d->n; i++)
			if (d->fp[i] == fp)
				return;
		if (d->n < DISTINCT_EXACT)
			d->fp[d->n] = fp;
		d->n++;
	}
}

static inline uint32_t distinct_count(const struct distinct *d)
{
	int set;
	uint32_t est;

	if (d->n <= DISTINCT_EXACT)
		return d->n;
	set = __builtin_popcountll(d->bits[0]) + __builtin_popcountll(d->bits[1]) +
	      __builtin_popcountll(d->bits[2]) + __builtin_popcountll(d->bits[3]);
	if (set >= 256)
		return 1500; /* saturated: at least this many */
	est = (uint32_t)(-256.0 * log((256.0 - set) / 256.0) + 0.5);
	return est > DISTINCT_EXACT + 1 ? est : DISTINCT_EXACT + 1;
}

/* A fast 64-bit hash: eight bytes at a time, multiply and fold. Not for
 * hostile-collision resistance; tables evict, they do not degrade. */
static inline uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	while (n >= 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
		b += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, b, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 32);
}

static inline uint64_t hash_addr(const struct ip_addr *a)
{
	return hash_bytes(a->a, a->family == 4 ? 4 : 16);
}

/* A few first-seen examples for the evidence. */
#define SAMPLES 5
struct samples {
	uint8_t n;
	uint16_t port[SAMPLES];
	struct ip_addr addr[SAMPLES];
};

static inline void samples_add(struct samples *s, const struct ip_addr *a, uint16_t port)
{
	for (int i = 0; i < s->n; i++)
		if (s->port[i] == port && (a == NULL || memcmp(&s->addr[i], a, sizeof(*a)) == 0))
			return;
	if (s->n == SAMPLES)
		return;
	if (a != NULL)
		s->addr[s->n] = *a;
	s->port[s->n++] = port;
}

/* A tumbling window: restarts when an event comes after it ended. Events
 * a little out of time order (captures interleave) count in the current
 * window. */
struct window {
	uint64_t start_us;
	uint8_t alerted;
};

static inline int window_roll(struct window *w, uint64_t now, uint32_t secs)
{
	if (w->start_us != 0 && now < w->start_us + secs * SEC)
		return 0;
	w->start_us = now ? now : 1;
	w->alerted = 0;
	return 1;
}

/* Escalation: the first alert of a window at the threshold, then one more
 * each time the count grows tenfold (at most four in all), so that the
 * alerts, and the ranking that reads them, show how far an attack went and
 * not only that it crossed the line. w->alerted counts the alerts raised. */
static inline int window_escalate(struct window *w, uint64_t n, uint64_t need)
{
	uint64_t at = need;

	if (w->alerted >= 4)
		return 0;
	for (int i = 0; i < w->alerted; i++)
		at *= 10;
	if (n < at)
		return 0;
	w->alerted++;
	return 1;
}

/* The flow's client and server addresses. */
static inline void flow_endpoints(const struct flow *f, struct ip_addr *client,
				  struct ip_addr *server)
{
	client->family = server->family = f->key.family;
	memcpy(client->a, f->key.addr[f->client], 16);
	memcpy(server->a, f->key.addr[f->client ^ 1], 16);
}

/* What a window's earlier alerts reported, so that an escalation (whose
 * counts are the window's whole) says what is new. */
struct reported {
	uint64_t pkts, bytes;
};

/* Marks alert a as the window's w->alerted-th and what came before it,
 * then notes pkts and bytes as reported. Call after window_escalate(). */
static inline void alert_escalation(struct alert *a, const struct window *w,
				    struct reported *rep, uint64_t pkts, uint64_t bytes)
{
	a->escalation = (uint8_t)(w->alerted - 1);
	a->prior_pkts = rep->pkts;
	a->prior_bytes = rep->bytes;
	rep->pkts = pkts;
	rep->bytes = bytes;
}

/* Address key in canonical form (family + 16 bytes). */
static inline int addr_is_multicast_or_broadcast(const struct ip_addr *a)
{
	if (a->family == 4)
		return a->a[0] >= 224 || (a->a[3] == 255);
	return a->a[0] == 0xff;
}

/* A small HyperLogLog (64 registers, about 13% standard error) for counts
 * past what struct distinct can tell: the sources of a flood. */
struct hll64 {
	uint8_t r[64];
};

static inline void hll64_add(struct hll64 *h, uint64_t x)
{
	x ^= x >> 31;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 29;
	unsigned idx = (unsigned)(x >> 58);
	uint8_t rank = (uint8_t)(__builtin_clzll((x << 6) | (1ULL << 5)) + 1);
	if (rank > h->r[idx])
		h->r[idx] = rank;
}

static inline uint64_t hll64_count(const struct hll64 *h)
{
	double sum = 0, e;
	unsigned zeros = 0;

	for (int i = 0; i < 64; i++) {
		sum += ldexp(1.0, -(int)h->r[i]);
		zeros += h->r[i] == 0;
	}
	e = 0.709 * 64 * 64 / sum;
	if (e <= 2.5 * 64 && zeros)
		e = 64 * log(64.0 / zeros);
	return (uint64_t)(e + 0.5);
}

/* The heaviest few sources toward one victim (Space-Saving, Metwally et
 * al. 2005): a source in the table is never undercounted by more than
 * err, and any source that sent more than events/HH_SLOTS is in it. */
#define HH_SLOTS 8
struct heavy_slot {
	uint64_t h; /* hash_addr(&addr): compared first */
	struct ip_addr addr;
	uint16_t port;
	uint32_t count, err;
};
struct heavy {
	uint8_t n;
	struct heavy_slot s[HH_SLOTS];
};

static inline int heavy_find(const struct heavy *h, const struct ip_addr *a, uint64_t ah)
{
	for (int i = 0; i < h->n; i++)
		if (h->s[i].h == ah && memcmp(&h->s[i].addr, a, sizeof(*a)) == 0)
			return i;
	return -1;
}

/* Counts n from a, whose hash_addr() is ah (weighted Space-Saving). */
static inline void heavy_add_n(struct heavy *h, const struct ip_addr *a, uint64_t ah,
			       uint16_t port, uint32_t n)
{
	int i = heavy_find(h, a, ah), m = 0;

	if (i >= 0) {
		h->s[i].count += n;
		return;
	}
	if (h->n < HH_SLOTS) {
		i = h->n++;
		h->s[i].h = ah;
		h->s[i].addr = *a;
		h->s[i].port = port;
		h->s[i].count = n;
		h->s[i].err = 0;
		return;
	}
	for (i = 1; i < HH_SLOTS; i++)
		if (h->s[i].count < h->s[m].count)
			m = i;
	h->s[m].h = ah;
	h->s[m].addr = *a;
	h->s[m].port = port;
	h->s[m].err = h->s[m].count;
	h->s[m].count += n;
}

static inline void heavy_add(struct heavy *h, const struct ip_addr *a, uint64_t ah, uint16_t port)
{
	heavy_add_n(h, a, ah, port, 1);
}

/* Takes one back (a handshake the source completed: not half-open). */
static inline void heavy_sub(struct heavy *h, const struct ip_addr *a)
{
	int i = heavy_find(h, a, hash_addr(a));

	if (i >= 0 && h->s[i].count > h->s[i].err)
		h->s[i].count--;
}

/* The network an address belongs to for judging spread: /24 or /48. */
static inline uint64_t hash_net(const struct ip_addr *a)
{
	return hash_bytes(a->a, a->family == 4 ? 3 : 6) ^ a->family;
}

enum scan_kind {
	SCAN_SYN = 0,
	SCAN_STEALTH,
	SCAN_UDP,
	SCAN_ACK,
	SCAN_ICMP,
	SCAN_PROTO,
	SCAN_KINDS
};

struct dos_sketch;
struct protect_set;
struct intel_snapshot;

struct detect {
	struct detect_config cfg;
	unsigned part; /* enum detect_part */
	alert_fn on_alert;
	void *ctx;
	struct detect_stats stats;
	struct dtable *scan_h, *scan_v, *scan_tool;
	struct dtable *trw;
	float trw_step_fail, trw_step_ok, trw_upper, trw_lower;
	uint16_t *udp_req_max; /* largest UDP request payload seen, per service port */
	struct dtable *syn, *refl, *vol;
	struct dos_sketch *sketch;
	struct dtable *brute;
	struct dtable *beacon;
	struct dtable *dns_tun, *dns_nx;
	struct dtable *ics;
	const struct protect_set *ics_allow;
	struct dtable *intel_seen;
	const struct intel_snapshot *intel; /* held by the caller for the current batch */
};

const struct signature *detect_sig(uint32_t sid);
void detect_emit(struct detect *d, struct alert *a);
void alert_init(struct alert *a, uint32_t sid, uint64_t ts);
/* alert_init, then the packet's endpoints and its flow's id. */
void alert_from_packet(struct alert *a, uint32_t sid, const struct flow *f,
		       const struct packet *pkt);
void alert_samples(struct alert *a, const char *key, const struct samples *s, int kind);

/* The detectors. */
int scan_init(struct detect *d);
void scan_packet(struct detect *d, struct flow *f, const struct packet *pkt, unsigned ev);
void scan_flow_end(struct detect *d, const struct flow *f);
/* The kind of failed attempt a flow was (enum scan_kind), or -1. */
int scan_failed_attempt(const struct flow *f);
/* Whether the flow was its client's attempt to reach the server (TCP
 * opened by the client, ICMP echo), whose outcome TRW weighs. */
int scan_first_contact(const struct flow *f);

int trw_init(struct detect *d);
/* The sequential test's steps and bounds, from d->cfg. */
void trw_steps(struct detect *d);
void trw_flow_end(struct detect *d, const struct flow *f);

int dos_init(struct detect *d);
/* Whether a service is under a SYN flood (half its threshold reached). */
int dos_service_flooded(struct detect *d, const struct ip_addr *dst, uint16_t port,
			uint64_t now);
void dos_free(struct detect *d);
void dos_packet(struct detect *d, struct flow *f, const struct packet *pkt, int dir,
		unsigned ev);

int brute_init(struct detect *d);
void brute_packet(struct detect *d, struct flow *f, const struct packet *pkt);
void brute_flow_end(struct detect *d, const struct flow *f);
/* brute_packet for a flow known from its record (flowrec.c): the sessions
 * open at once are those whose records overlap in time. */
void brute_flow(struct detect *d, struct flow *f, const struct packet *pkt);

int beacon_init(struct detect *d);
/* Connections across (DETECT_PART_CROSS), bursts inside one
 * (DETECT_PART_FLOW), as d->part says. */
void beacon_packet(struct detect *d, struct flow *f, const struct packet *pkt, int dir,
		   unsigned ev);

/* A flow's totals toward the floods, at once (flowrec.c). hdr: bytes of
 * headers below the payload in each packet's count. */
void dos_flow(struct detect *d, struct flow *f, uint32_t hdr);
/* A connection established at pkt->ts_us, pkt its client's packet. */
void beacon_connection(struct detect *d, const struct flow *f, const struct packet *pkt);

int icsabuse_init(struct detect *d);
struct ics_op;
void icsabuse_op(struct detect *d, const struct flow *f, const struct packet *pkt,
		 const struct ics_op *op);

int intelmatch_init(struct detect *d);
void intelmatch_flow(struct detect *d, const struct flow *f, const struct packet *pkt);
void intelmatch_dns(struct detect *d, const struct flow *f, const struct packet *pkt,
		    const struct dns_meta *m);
void intelmatch_name(struct detect *d, const struct flow *f, const struct packet *pkt,
		     const char *name, size_t len, int is_sni);

int dnsanom_init(struct detect *d);
void dnsanom_dns(struct detect *d, const struct flow *f, const struct packet *pkt,
		 const struct dns_meta *m);

/* Per-flow marks in flow->det_flags. */
enum {
	DETF_STEALTH = 1 << 0,    /* first client packet had no SYN and no ACK */
	DETF_AMP = 1 << 1,        /* unsolicited response from an amplification port */
	DETF_SYNACK = 1 << 2,     /* began with an unsolicited SYN-ACK */
	DETF_BEACON_DONE = 1 << 3, /* in-flow beacon alert raised */
	DETF_ACKPROBE = 1 << 4,    /* first client packet a bare ACK without payload */
	DETF_AUTH_OPEN = 1 << 5,   /* an established session counted open by brute.c */
	DETF_TOOLSYN = 1 << 6      /* opened by a hand-built SYN; det_aux: which tool (scan.c) */
	/* 1 << 7 is FLOW_ALERTED (flow.h) */
};

#endif
