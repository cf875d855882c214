/* detect_int.h - what the detectors share inside src/detect. */
#ifndef YAGURA_DETECT_DETECT_INT_H
#define YAGURA_DETECT_DETECT_INT_H

#include <math.h>
#include <string.h>

#include "detect/detect.h"
#include "detect/dtable.h"

#define SEC 1000000ULL

/* Distinct values by linear counting over 256 bits: exact enough for the
 * thresholds detectors use (tens to a few hundred), 32 bytes per record. */
struct distinct {
	uint64_t bits[4];
};

static inline void distinct_add(struct distinct *d, uint64_t h)
{
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	d->bits[(h >> 6) & 3] |= 1ULL << (h & 63);
}

static inline uint32_t distinct_count(const struct distinct *d)
{
	int set = __builtin_popcountll(d->bits[0]) + __builtin_popcountll(d->bits[1]) +
		  __builtin_popcountll(d->bits[2]) + __builtin_popcountll(d->bits[3]);
	if (set >= 256)
		return 1500; /* saturated: at least this many */
	return (uint32_t)(-256.0 * log((256.0 - set) / 256.0) + 0.5);
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

/* Address key in canonical form (family + 16 bytes). */
static inline int addr_is_multicast_or_broadcast(const struct ip_addr *a)
{
	if (a->family == 4)
		return a->a[0] >= 224 || (a->a[3] == 255);
	return a->a[0] == 0xff;
}

struct dos_sketch;
struct protect_set;
struct intel_snapshot;

struct detect {
	struct detect_config cfg;
	alert_fn on_alert;
	void *ctx;
	struct detect_stats stats;
	struct dtable *scan_h, *scan_v;
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

int dos_init(struct detect *d);
void dos_free(struct detect *d);
void dos_packet(struct detect *d, struct flow *f, const struct packet *pkt, int dir,
		unsigned ev);

int brute_init(struct detect *d);
void brute_flow_end(struct detect *d, const struct flow *f);

int beacon_init(struct detect *d);
void beacon_packet(struct detect *d, struct flow *f, const struct packet *pkt, int dir,
		   unsigned ev);

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
	DETF_BEACON_DONE = 1 << 3 /* in-flow beacon alert raised */
	/* 1 << 7 is FLOW_ALERTED (flow.h) */
};

#endif
