/* dos.c - denial of service: SYN floods, reflection and amplification,
 * volumetric floods.
 *
 * SYN flood: SYN packets toward one service (every one: floods often
 * reuse one source port, so they are few flows) against the handshakes
 * completed there.
 * Reflection: flows that begin with a response nobody asked for, from an
 * amplification service (DNS, NTP, SSDP, memcached, CLDAP, Chargen, SNMP,
 * WS-Discovery) or a TCP SYN-ACK, toward one victim from many servers.
 * Volumetric: packets and bits per second toward one address, counted per
 * packet in a small count-min sketch that stays in cache; only addresses
 * past half the threshold get a record (for their sources). */
#include "detect/detect_int.h"

#include <stdlib.h>

#include "base/alloc.h"

struct amp_service {
	uint16_t port;
	uint32_t sid;
	const char *name;
};

static const struct amp_service amp_services[] = {
	{53, 9200010, "dns"},	    {123, 9200011, "ntp"},   {1900, 9200012, "ssdp"},
	{11211, 9200013, "memcached"}, {389, 9200014, "cldap"}, {19, 9200015, "chargen"},
	{161, 9200016, "snmp"},	    {3702, 9200017, "ws-discovery"},
};
#define N_AMP (sizeof(amp_services) / sizeof(amp_services[0]))

static const struct amp_service *amp_service(uint16_t port)
{
	for (size_t i = 0; i < N_AMP; i++)
		if (amp_services[i].port == port)
			return &amp_services[i];
	return NULL;
}

struct vkey { /* a victim, or a victim's service */
	uint8_t addr[17];
	uint8_t proto;
	uint16_t port;
};

struct dos_rec {
	struct window w;
	uint64_t events; /* SYNs, or unsolicited responses */
	uint64_t completed;
	uint64_t pkts, bytes;
	struct distinct sources;
	struct samples ex;
};

/* One row of counters, 32 KiB: small enough to stay in the L1 cache. A
 * collision only overestimates, and an address past half the threshold
 * gets an exact record anyway. */
#define SKETCH_COLS 4096

struct dos_sketch {
	uint64_t start_us;
	struct {
		uint32_t pkts;
		uint32_t bytes64; /* bytes / 64 */
	} cell[SKETCH_COLS];
};

int dos_init(struct detect *d)
{
	d->syn = dtable_new(d->cfg.table_entries, sizeof(struct vkey), sizeof(struct dos_rec));
	d->refl = dtable_new(d->cfg.table_entries, sizeof(struct vkey), sizeof(struct dos_rec));
	d->vol = dtable_new(d->cfg.table_entries / 16 + 64, sizeof(struct vkey),
			    sizeof(struct dos_rec));
	d->sketch = yg_calloc(1, sizeof(*d->sketch));
	return d->syn && d->refl && d->vol && d->sketch ? 0 : -1;
}

void dos_free(struct detect *d)
{
	free(d->sketch);
}

static void vkey_make(struct vkey *k, const struct ip_addr *a, uint8_t proto, uint16_t port)
{
	memset(k, 0, sizeof(*k));
	k->addr[0] = a->family;
	memcpy(k->addr + 1, a->a, 16);
	k->proto = proto;
	k->port = port;
}

static struct dos_rec *rec_get(struct detect *d, struct dtable *t, const struct vkey *k,
			       uint64_t now, uint32_t window_s)
{
	int is_new;
	struct dos_rec *r = dtable_get(t, k, now, &is_new);

	if (window_roll(&r->w, now, window_s)) {
		uint64_t keep = r->w.start_us;
		memset(r, 0, sizeof(*r));
		r->w.start_us = keep;
	}
	(void)d;
	return r;
}

static void victim_alert(struct detect *d, uint32_t sid, const struct packet *pkt,
			 const struct dos_rec *r, const char *samples_key, uint16_t port)
{
	struct alert a;

	alert_init(&a, sid, pkt->ts_us);
	a.src = r->ex.addr[0];
	a.dst = pkt->dst;
	a.proto = pkt->ip_proto;
	a.has_ports = pkt->ip_proto == 6 || pkt->ip_proto == 17;
	a.sport = r->ex.port[0];
	a.dport = port;
	a.attackers = ALERT_ATTACKER_SAMPLES;
	a.window_start_us = r->w.start_us;
	a.window_end_us = pkt->ts_us;
	a.pkts = r->pkts;
	a.bytes = r->bytes;
	alert_num(&a, "distinct_sources", distinct_count(&r->sources));
	alert_samples(&a, samples_key, &r->ex, ALERT_SAMPLES_ADDR);
	if (sid == 9200001) {
		alert_num(&a, "syn", r->events);
		alert_num(&a, "completed", r->completed);
	} else {
		alert_num(&a, "unsolicited_responses", r->events);
	}
	detect_emit(d, &a);
}

static void syn_flood(struct detect *d, const struct packet *pkt, unsigned ev)
{
	struct vkey k;
	struct dos_rec *r;

	if ((pkt->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
		vkey_make(&k, &pkt->dst, 6, pkt->dport);
		r = rec_get(d, d->syn, &k, pkt->ts_us, d->cfg.syn_window_s);
		r->events++;
		r->pkts++;
		r->bytes += pkt->wirelen;
		distinct_add(&r->sources, hash_addr(&pkt->src));
		samples_add(&r->ex, &pkt->src, pkt->sport);
		if (!r->w.alerted && r->events > r->completed &&
		    r->events - r->completed >= d->cfg.syn_half_open) {
			r->w.alerted = 1;
			victim_alert(d, 9200001, pkt, r, "sources", pkt->dport);
		}
	} else if (ev & FLOW_EV_ESTABLISHED) {
		/* The client's ACK: pkt goes client -> server. */
		vkey_make(&k, &pkt->dst, 6, pkt->dport);
		r = dtable_find(d->syn, &k, pkt->ts_us);
		if (r != NULL)
			r->completed++;
	}
}

static void reflection(struct detect *d, struct flow *f, const struct packet *pkt, unsigned ev)
{
	const struct amp_service *svc = NULL;
	struct vkey k;
	struct dos_rec *r;
	uint32_t sid;

	if (ev & FLOW_EV_NEW) {
		if (pkt->ip_proto == 6) {
			if ((pkt->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) != (TCP_SYN | TCP_ACK))
				return;
			f->det_flags |= DETF_SYNACK;
			sid = 9200018;
		} else if (pkt->ip_proto == 17) {
			svc = amp_service(pkt->sport);
			if (svc == NULL || amp_service(pkt->dport) != NULL)
				return;
			f->det_flags |= DETF_AMP;
			sid = svc->sid;
		} else {
			return;
		}
		vkey_make(&k, &pkt->dst, pkt->ip_proto, svc ? svc->port : 0);
		r = rec_get(d, d->refl, &k, pkt->ts_us, d->cfg.refl_window_s);
		r->events++;
		r->pkts++;
		r->bytes += pkt->wirelen;
		distinct_add(&r->sources, hash_addr(&pkt->src));
		samples_add(&r->ex, &pkt->src, pkt->sport);
		if (!r->w.alerted && distinct_count(&r->sources) >= d->cfg.refl_sources) {
			r->w.alerted = 1;
			victim_alert(d, sid, pkt, r, "reflectors", pkt->dport);
		}
	} else if (f->det_flags & (DETF_AMP | DETF_SYNACK)) {
		/* Later packets of a reflected flow add to the victim's volume. */
		int from_reflector = memcmp(pkt->src.a, f->key.addr[f->client ^ 1], 16) == 0;
		if (!from_reflector)
			return;
		vkey_make(&k, &pkt->dst, pkt->ip_proto,
			  pkt->ip_proto == 17 ? pkt->sport : 0);
		r = dtable_find(d->refl, &k, pkt->ts_us);
		if (r != NULL) {
			r->pkts++;
			r->bytes += pkt->wirelen;
		}
	}
}

static inline uint32_t sketch_col(const struct ip_addr *a)
{
	uint64_t x, y = 0;

	memcpy(&x, a->a, 8);
	if (a->family == 6)
		memcpy(&y, a->a + 8, 8);
	x = (x ^ (y * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
	return (uint32_t)(x >> 52); /* 12 bits */
}

static void volumetric(struct detect *d, const struct packet *pkt)
{
	struct dos_sketch *s = d->sketch;
	uint64_t win = (uint64_t)d->cfg.vol_window_s * SEC;
	uint64_t max_pkts = (uint64_t)d->cfg.vol_pps * d->cfg.vol_window_s;
	uint64_t max_bytes = (uint64_t)d->cfg.vol_mbps * 125000 * d->cfg.vol_window_s;
	uint64_t est_p, est_b;
	struct vkey k;
	struct dos_rec *r;
	uint32_t col;

	if (s->start_us == 0 || pkt->ts_us >= s->start_us + win) {
		memset(s, 0, sizeof(*s));
		s->start_us = pkt->ts_us ? pkt->ts_us : 1;
	}
	col = sketch_col(&pkt->dst);
	est_p = ++s->cell[col].pkts;
	s->cell[col].bytes64 += (pkt->wirelen + 63) >> 6;
	est_b = (uint64_t)s->cell[col].bytes64 << 6;
	if (est_p < max_pkts / 2 && est_b < max_bytes / 2)
		return;
	/* A candidate victim: count it exactly, and its sources, from now on;
	 * the sketch's count so far is its starting point. */
	vkey_make(&k, &pkt->dst, 0, 0);
	r = rec_get(d, d->vol, &k, pkt->ts_us, d->cfg.vol_window_s);
	if (r->pkts == 0) {
		r->pkts = est_p;
		r->bytes = est_b;
	} else {
		r->pkts++;
		r->bytes += pkt->wirelen;
	}
	est_p = r->pkts;
	est_b = r->bytes;
	distinct_add(&r->sources, hash_addr(&pkt->src));
	samples_add(&r->ex, &pkt->src, pkt->sport);
	if (!r->w.alerted && (est_p >= max_pkts || est_b >= max_bytes)) {
		struct alert a;
		r->w.alerted = 1;
		alert_init(&a, 9200002, pkt->ts_us);
		a.src = r->ex.addr[0];
		a.dst = pkt->dst;
		a.proto = pkt->ip_proto;
		a.attackers = ALERT_ATTACKER_SAMPLES;
		a.window_start_us = s->start_us;
		a.window_end_us = pkt->ts_us;
		a.pkts = est_p;
		a.bytes = est_b;
		uint64_t span = pkt->ts_us > s->start_us ? pkt->ts_us - s->start_us : 0;
		alert_num(&a, "packets_per_second", est_p * SEC / (span + 1));
		alert_num(&a, "bits_per_second", est_b * 8 * SEC / (span + 1));
		alert_num(&a, "distinct_sources_seen", distinct_count(&r->sources));
		alert_samples(&a, "sources", &r->ex, ALERT_SAMPLES_ADDR);
		detect_emit(d, &a);
	}
}

void dos_packet(struct detect *d, struct flow *f, const struct packet *pkt, int dir,
		unsigned ev)
{
	(void)dir;
	if (pkt->ip_proto == 6 && ((pkt->tcp_flags & TCP_SYN) || (ev & FLOW_EV_ESTABLISHED)))
		syn_flood(d, pkt, ev);
	if ((ev & FLOW_EV_NEW) || (f->det_flags & (DETF_AMP | DETF_SYNACK)))
		reflection(d, f, pkt, ev);
	volumetric(d, pkt);
}
