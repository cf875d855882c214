/* dos.c - denial of service: SYN floods, reflection and amplification,
 * volumetric floods; and who is behind each.
 *
 * SYN flood: SYN packets toward one service (every one: floods often
 * reuse one source port, so they are few flows) against the handshakes
 * completed there.
 * Reflection: UDP flows that begin with a response nobody asked for, from
 * one service port toward one victim, from many servers, the responses
 * much larger than any request to that port seen (any port: the named
 * services only label the alert); and TCP flows that begin with a SYN-ACK.
 * Volumetric: packets and bits per second toward one address, counted per
 * packet in a small count-min sketch that stays in cache; only addresses
 * past half the threshold get a record (for their sources).
 *
 * Attribution. Each victim's record keeps its heaviest sources (Space-
 * Saving, struct heavy), the number of distinct sources and of distinct
 * networks (/24, /48) they come from. A flood from many sources that sent
 * a few packets each, spread over unrelated networks, with few handshakes
 * completed, is judged forged: the alert says "spoofed" and why, and names
 * no attacker (the victim is what it is about). Otherwise the sources that
 * sent a real share of the flood themselves are named, never a client that
 * merely completed its handshake meanwhile. Reflectors are named as such:
 * real servers, abused. */
#include "detect/detect_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"

struct amp_service {
	uint16_t port;
	uint32_t sid;
	const char *name;
};

/* Labels only: reflection is recognised by its shape on any port. */
static const struct amp_service amp_services[] = {
	{53, 9200010, "dns"},	    {123, 9200011, "ntp"},	   {1900, 9200012, "ssdp"},
	{11211, 9200013, "memcached"}, {389, 9200014, "cldap"},	   {19, 9200015, "chargen"},
	{161, 9200016, "snmp"},	    {3702, 9200017, "ws-discovery"}, {500, 9200020, "ike"},
	{4500, 9200020, "ike"},	    {47808, 9200021, "bacnet"},	   {5683, 9200022, "coap"},
	{3283, 9200023, "arms"},	    {137, 9200024, "netbios-ns"},   {3389, 9200025, "rdp-udp"},
	{443, 9200025, "dtls"},
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
	struct reported rep;
	uint64_t events;  /* SYNs, unsolicited responses, or packets since the record began */
	uint64_t completed;
	uint64_t pkts, bytes;
	uint64_t payload; /* reflection: payload bytes of the unsolicited responses */
	struct hll64 sources;
	struct hll64 nets;
	struct heavy hh;
};

/* Two rows of counters, 32 KiB in all: small enough to stay in the L1
 * cache. An address's estimate is the smaller of its two cells, so a
 * collision overestimates only if it happens in both rows; an address past
 * half the threshold gets an exact record anyway. */
#define SKETCH_COLS 2048

struct dos_sketch {
	uint64_t start_us;
	struct {
		uint32_t pkts;
		uint32_t bytes64; /* bytes / 64 */
	} cell[2][SKETCH_COLS];
};

int dos_init(struct detect *d)
{
	d->syn = dtable_new(d->cfg.table_entries / 4 + 64, sizeof(struct vkey),
			    sizeof(struct dos_rec));
	d->refl = dtable_new(d->cfg.table_entries / 4 + 64, sizeof(struct vkey),
			     sizeof(struct dos_rec));
	d->vol = dtable_new(d->cfg.table_entries / 16 + 64, sizeof(struct vkey),
			    sizeof(struct dos_rec));
	d->sketch = yg_calloc(1, sizeof(*d->sketch));
	d->udp_req_max = yg_calloc(65536, sizeof(uint16_t));
	if (!d->syn || !d->refl || !d->vol || !d->sketch || !d->udp_req_max)
		return -1;
	/* The heavy hitters' slots are read only below their count. */
	dtable_set_zero(d->syn, offsetof(struct dos_rec, hh.s));
	dtable_set_zero(d->refl, offsetof(struct dos_rec, hh.s));
	dtable_set_zero(d->vol, offsetof(struct dos_rec, hh.s));
	dtable_set_age(d->syn, (uint64_t)d->cfg.syn_window_s * SEC);
	dtable_set_age(d->refl, (uint64_t)d->cfg.refl_window_s * SEC);
	dtable_set_age(d->vol, (uint64_t)d->cfg.vol_window_s * SEC);
	return 0;
}

void dos_free(struct detect *d)
{
	free(d->sketch);
	free(d->udp_req_max);
}

static void vkey_make(struct vkey *k, const struct ip_addr *a, uint8_t proto, uint16_t port)
{
	memset(k, 0, sizeof(*k));
	k->addr[0] = a->family;
	memcpy(k->addr + 1, a->a, 16);
	k->proto = proto;
	k->port = port;
}

static struct dos_rec *rec_get(struct dtable *t, const struct vkey *k, uint64_t now,
			       uint32_t window_s)
{
	int is_new;
	struct dos_rec *r = dtable_get(t, k, now, &is_new);

	if (is_new) { /* zeroed already */
		r->w.start_us = now ? now : 1;
		return r;
	}
	if (window_roll(&r->w, now, window_s)) {
		struct window keep = r->w;
		memset(r, 0, offsetof(struct dos_rec, hh.s));
		r->w = keep;
	}
	return r;
}

static void rec_source(struct dos_rec *r, const struct packet *pkt)
{
	uint64_t h = hash_addr(&pkt->src);

	hll64_add(&r->sources, h);
	hll64_add(&r->nets, hash_net(&pkt->src));
	heavy_add(&r->hh, &pkt->src, h, pkt->sport);
}

/* Whether the flood's sources look forged; if so, writes why. */
static int judge_spoofed(const struct detect *d, const struct dos_rec *r, int syn, char *why,
			 size_t len)
{
	uint64_t srcs = hll64_count(&r->sources), nets = hll64_count(&r->nets), top = 0;
	double per;

	for (int i = 0; i < r->hh.n; i++)
		if (r->hh.s[i].count - r->hh.s[i].err > top)
			top = r->hh.s[i].count - r->hh.s[i].err;
	if (srcs < d->cfg.spoof_sources || r->events == 0)
		return 0;
	per = (double)r->events / (double)srcs;
	if (per > d->cfg.spoof_max_per_source)
		return 0; /* sources that send this much are real */
	if (nets * 2 < srcs)
		return 0; /* packed into a few networks: a botnet's hosts, or a NAT */
	if (top * 10 > r->events)
		return 0; /* one source carries a tenth of it */
	if (syn && r->completed * 2 > r->events)
		return 0; /* most handshakes complete: the sources answer */
	snprintf(why, len,
		 "about %llu distinct sources sent %.1f %s each on average; %llu%% of them in "
		 "distinct /24 (/48) networks; the heaviest sent %llu%s",
		 (unsigned long long)srcs, per, syn ? "SYNs" : "packets",
		 (unsigned long long)(nets >= srcs ? 100 : nets * 100 / srcs),
		 (unsigned long long)top,
		 syn ? "; most handshakes never completed" : "");
	return 1;
}

/* Names the heavy hitters that sent at least min themselves, heaviest
 * first, as the alert's sampled sources. */
static void name_sources(struct alert *a, const struct heavy *h, uint64_t min, const char *key)
{
	int order[HH_SLOTS], n = 0;

	for (int i = 0; i < h->n; i++)
		if (h->s[i].count - h->s[i].err >= min)
			order[n++] = i;
	for (int i = 1; i < n; i++) /* insertion sort, eight at most */
		for (int j = i; j > 0 && h->s[order[j]].count > h->s[order[j - 1]].count; j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	a->samples_key = key;
	a->samples_kind = ALERT_SAMPLES_ADDR;
	a->n_samples = 0;
	for (int i = 0; i < n && i < ALERT_MAX_SAMPLES; i++) {
		const struct heavy_slot *s = &h->s[order[i]];
		a->sample_addr[i] = s->addr;
		a->sample_port[i] = s->port;
		a->sample_pkts[i] = s->count - s->err;
		a->n_samples++;
	}
}

/* Fills who is behind a flood alert: forged, its named sources, or none
 * that stands out. */
static void attribute(struct detect *d, struct alert *a, const struct dos_rec *r, int syn)
{
	char why[ALERT_STR_MAX];
	uint64_t min;

	alert_num(a, "distinct_sources", hll64_count(&r->sources));
	alert_num(a, "distinct_networks", hll64_count(&r->nets));
	if (judge_spoofed(d, r, syn, why, sizeof(why))) {
		a->spoofed = 1;
		a->attackers = ALERT_ATTACKER_NONE;
		alert_str(a, "spoof_reason", why, strlen(why));
		name_sources(a, &r->hh, 1, "sources");
		a->samples_kind = a->n_samples ? ALERT_SAMPLES_ADDR : ALERT_SAMPLES_NONE;
		return;
	}
	min = r->events / 100;
	if (min < 2ULL * d->cfg.spoof_max_per_source)
		min = 2ULL * d->cfg.spoof_max_per_source;
	name_sources(a, &r->hh, min, "sources");
	a->attackers = a->n_samples ? ALERT_ATTACKER_SAMPLES : ALERT_ATTACKER_NONE;
	if (a->n_samples == 0)
		a->samples_kind = ALERT_SAMPLES_NONE;
}

int dos_service_flooded(struct detect *d, const struct ip_addr *dst, uint16_t port,
			uint64_t now)
{
	struct vkey k;
	struct dos_rec *r;

	vkey_make(&k, dst, 6, port);
	r = dtable_find(d->syn, &k, now);
	return r != NULL && r->events > r->completed &&
	       r->events - r->completed >= d->cfg.syn_half_open / 2;
}

static void syn_flood(struct detect *d, const struct packet *pkt, unsigned ev)
{
	struct vkey k;
	struct dos_rec *r;
	struct alert a;

	if ((pkt->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
		vkey_make(&k, &pkt->dst, 6, pkt->dport);
		r = rec_get(d->syn, &k, pkt->ts_us, d->cfg.syn_window_s);
		r->events++;
		r->pkts++;
		r->bytes += pkt->wirelen;
		rec_source(r, pkt);
		if (r->events > r->completed &&
		    window_escalate(&r->w, r->events - r->completed, d->cfg.syn_half_open)) {
			alert_init(&a, 9200001, pkt->ts_us);
			alert_escalation(&a, &r->w, &r->rep, r->pkts, r->bytes);
			a.dst = pkt->dst;
			a.proto = 6;
			a.has_ports = 1;
			a.dport = pkt->dport;
			a.window_start_us = r->w.start_us;
			a.window_end_us = pkt->ts_us;
			a.pkts = r->pkts;
			a.bytes = r->bytes;
			alert_num(&a, "syn", r->events);
			alert_num(&a, "completed", r->completed);
			attribute(d, &a, r, 1);
			a.src = a.n_samples ? a.sample_addr[0] : pkt->src;
			a.sport = a.n_samples ? a.sample_port[0] : pkt->sport;
			detect_emit(d, &a);
		}
	} else if (ev & FLOW_EV_ESTABLISHED) {
		/* The client's ACK: pkt goes client -> server. A source that
		 * completes its handshake is no half-open flooder. */
		vkey_make(&k, &pkt->dst, 6, pkt->dport);
		r = dtable_find(d->syn, &k, pkt->ts_us);
		if (r != NULL) {
			r->completed++;
			heavy_sub(&r->hh, &pkt->src);
		}
	}
}

static void reflection_alert(struct detect *d, uint32_t sid, const struct packet *pkt,
			     const struct dos_rec *r, uint16_t port, const char *svc)
{
	struct alert a;

	alert_init(&a, sid, pkt->ts_us);
	a.dst = pkt->dst;
	a.proto = pkt->ip_proto;
	a.has_ports = 1;
	a.dport = pkt->dport;
	a.attackers = ALERT_ATTACKER_REFLECTORS;
	a.window_start_us = r->w.start_us;
	a.window_end_us = pkt->ts_us;
	a.pkts = r->pkts;
	a.bytes = r->bytes;
	alert_num(&a, "distinct_sources", hll64_count(&r->sources));
	alert_num(&a, "unsolicited_responses", r->events);
	if (pkt->ip_proto == 17) {
		alert_num(&a, "service_port", port);
		alert_num(&a, "mean_response_bytes", r->payload / (r->events ? r->events : 1));
		alert_num(&a, "largest_request_bytes", d->udp_req_max[port]);
		if (svc != NULL)
			alert_str(&a, "service", svc, strlen(svc));
	}
	name_sources(&a, &r->hh, 1, "reflectors");
	a.src = a.n_samples ? a.sample_addr[0] : pkt->src;
	a.sport = a.n_samples ? a.sample_port[0] : pkt->sport;
	detect_emit(d, &a);
}

/* The first packet of a UDP flow: a request (remembered per port, to
 * judge later responses against) or a response nobody asked for. */
static void udp_first(struct detect *d, struct flow *f, const struct packet *pkt)
{
	const struct amp_service *svc;
	struct vkey k;
	struct dos_rec *r;
	uint64_t mean;

	if (pkt->payload_len > d->udp_req_max[pkt->dport])
		d->udp_req_max[pkt->dport] =
			(uint16_t)(pkt->payload_len > 65535 ? 65535 : pkt->payload_len);
	/* Responses carry data; peers on one port (NTP, IKE, BACnet between
	 * their own ports) are not answering anyone. */
	if (pkt->payload_len == 0 || pkt->sport == pkt->dport)
		return;
	svc = amp_service(pkt->sport);
	if (svc == NULL && pkt->payload_len * 2 < d->cfg.refl_min_bytes)
		return;
	if (svc != NULL && amp_service(pkt->dport) != NULL)
		return; /* service to service: not a reflection's shape */
	f->det_flags |= DETF_AMP;
	vkey_make(&k, &pkt->dst, 17, pkt->sport);
	r = rec_get(d->refl, &k, pkt->ts_us, d->cfg.refl_window_s);
	r->events++;
	r->pkts++;
	r->bytes += pkt->wirelen;
	r->payload += pkt->payload_len;
	rec_source(r, pkt);
	/* No fewer responses than sources: the estimate waits until it can pass. */
	if (r->w.alerted || r->events < d->cfg.refl_sources ||
	    hll64_count(&r->sources) < d->cfg.refl_sources)
		return;
	mean = r->payload / r->events;
	if (mean < d->cfg.refl_min_bytes ||
	    mean < (uint64_t)d->cfg.refl_ratio * d->udp_req_max[pkt->sport])
		return;
	r->w.alerted = 1;
	reflection_alert(d, svc ? svc->sid : 9200019, pkt, r, pkt->sport, svc ? svc->name : NULL);
}

static void reflection(struct detect *d, struct flow *f, const struct packet *pkt, unsigned ev)
{
	struct vkey k;
	struct dos_rec *r;

	if (ev & FLOW_EV_NEW) {
		if (pkt->ip_proto == 17) {
			udp_first(d, f, pkt);
			return;
		}
		if (pkt->ip_proto != 6 ||
		    (pkt->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) != (TCP_SYN | TCP_ACK))
			return;
		f->det_flags |= DETF_SYNACK;
		vkey_make(&k, &pkt->dst, 6, 0);
		r = rec_get(d->refl, &k, pkt->ts_us, d->cfg.refl_window_s);
		r->events++;
		r->pkts++;
		r->bytes += pkt->wirelen;
		rec_source(r, pkt);
		if (!r->w.alerted && r->events >= d->cfg.refl_sources &&
		    hll64_count(&r->sources) >= d->cfg.refl_sources) {
			r->w.alerted = 1;
			reflection_alert(d, 9200018, pkt, r, 0, NULL);
		}
	} else if (f->det_flags & (DETF_AMP | DETF_SYNACK)) {
		/* Later packets of a reflected flow add to the victim's volume. */
		int from_reflector = memcmp(pkt->src.a, f->key.addr[f->client ^ 1], 16) == 0;
		if (!from_reflector)
			return;
		vkey_make(&k, &pkt->dst, pkt->ip_proto, pkt->ip_proto == 17 ? pkt->sport : 0);
		r = dtable_find(d->refl, &k, pkt->ts_us);
		if (r != NULL) {
			r->pkts++;
			r->bytes += pkt->wirelen;
			heavy_add(&r->hh, &pkt->src, hash_addr(&pkt->src), pkt->sport);
		}
	}
}

/* The address's hash: two 11-bit columns from its top and middle bits. */
static inline uint64_t sketch_hash(const struct ip_addr *a)
{
	uint64_t x, y = 0;

	memcpy(&x, a->a, 8);
	if (a->family == 6)
		memcpy(&y, a->a + 8, 8);
	return (x ^ (y * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
}

static void volumetric(struct detect *d, const struct packet *pkt)
{
	struct dos_sketch *s = d->sketch;
	uint64_t win = (uint64_t)d->cfg.vol_window_s * SEC;
	uint64_t max_pkts = (uint64_t)d->cfg.vol_pps * d->cfg.vol_window_s;
	uint64_t max_bytes = (uint64_t)d->cfg.vol_mbps * 125000 * d->cfg.vol_window_s;
	uint64_t est_p, est_b, h;
	struct vkey k;
	struct dos_rec *r;
	uint32_t c0, c1;

	if (s->start_us == 0 || pkt->ts_us >= s->start_us + win) {
		memset(s, 0, sizeof(*s));
		s->start_us = pkt->ts_us ? pkt->ts_us : 1;
	}
	h = sketch_hash(&pkt->dst);
	c0 = (uint32_t)(h >> 53);
	c1 = (uint32_t)(h >> 29) & (SKETCH_COLS - 1);
	s->cell[0][c0].pkts++;
	s->cell[1][c1].pkts++;
	s->cell[0][c0].bytes64 += (pkt->wirelen + 63) >> 6;
	s->cell[1][c1].bytes64 += (pkt->wirelen + 63) >> 6;
	est_p = s->cell[0][c0].pkts < s->cell[1][c1].pkts ? s->cell[0][c0].pkts
							   : s->cell[1][c1].pkts;
	est_b = (uint64_t)(s->cell[0][c0].bytes64 < s->cell[1][c1].bytes64 ? s->cell[0][c0].bytes64
									 : s->cell[1][c1].bytes64)
		<< 6;
	if (est_p < max_pkts / 2 && est_b < max_bytes / 2)
		return;
	/* A candidate victim: count it exactly, and its sources, from now on;
	 * the sketch's count so far is its starting point. */
	vkey_make(&k, &pkt->dst, 0, 0);
	r = rec_get(d->vol, &k, pkt->ts_us, d->cfg.vol_window_s);
	if (r->pkts == 0) {
		r->pkts = est_p;
		r->bytes = est_b;
	} else {
		r->pkts++;
		r->bytes += pkt->wirelen;
	}
	r->events++;
	est_p = r->pkts;
	est_b = r->bytes;
	rec_source(r, pkt);
	if (!r->w.alerted && (est_p >= max_pkts || est_b >= max_bytes)) {
		struct alert a;
		uint64_t span = pkt->ts_us > s->start_us ? pkt->ts_us - s->start_us : 0;

		r->w.alerted = 1;
		alert_init(&a, 9200002, pkt->ts_us);
		a.dst = pkt->dst;
		a.proto = pkt->ip_proto;
		a.window_start_us = s->start_us;
		a.window_end_us = pkt->ts_us;
		a.pkts = est_p;
		a.bytes = est_b;
		alert_num(&a, "packets_per_second", est_p * SEC / (span + 1));
		alert_num(&a, "bits_per_second", est_b * 8 * SEC / (span + 1));
		attribute(d, &a, r, 0);
		a.src = a.n_samples ? a.sample_addr[0] : pkt->src;
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
