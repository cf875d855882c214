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

/* n SYNs (bytes in all) from src toward the service dst:dport, at ts. */
static void syn_count(struct detect *d, const struct ip_addr *dst, uint16_t dport,
		      const struct ip_addr *src, uint16_t sport, uint64_t ts, uint64_t n,
		      uint64_t bytes)
{
	struct vkey k;
	struct dos_rec *r;
	struct alert a;
	uint64_t h = hash_addr(src);

	vkey_make(&k, dst, 6, dport);
	r = rec_get(d->syn, &k, ts, d->cfg.syn_window_s);
	r->events += n;
	r->pkts += n;
	r->bytes += bytes;
	hll64_add(&r->sources, h);
	hll64_add(&r->nets, hash_net(src));
	heavy_add_n(&r->hh, src, h, sport, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
	if (r->events > r->completed &&
	    window_escalate(&r->w, r->events - r->completed, d->cfg.syn_half_open)) {
		alert_init(&a, 9200001, ts);
		alert_escalation(&a, &r->w, &r->rep, r->pkts, r->bytes);
		a.dst = *dst;
		a.proto = 6;
		a.has_ports = 1;
		a.dport = dport;
		a.window_start_us = r->w.start_us;
		a.window_end_us = ts;
		a.pkts = r->pkts;
		a.bytes = r->bytes;
		alert_num(&a, "syn", r->events);
		alert_num(&a, "completed", r->completed);
		attribute(d, &a, r, 1);
		a.src = a.n_samples ? a.sample_addr[0] : *src;
		a.sport = a.n_samples ? a.sample_port[0] : sport;
		detect_emit(d, &a);
	}
}

/* src completed its handshake with dst:dport: no half-open flooder. */
static void syn_completed(struct detect *d, const struct ip_addr *dst, uint16_t dport,
			  const struct ip_addr *src, uint64_t ts)
{
	struct vkey k;
	struct dos_rec *r;

	vkey_make(&k, dst, 6, dport);
	r = dtable_find(d->syn, &k, ts);
	if (r != NULL) {
		r->completed++;
		heavy_sub(&r->hh, src);
	}
}

static void syn_flood(struct detect *d, const struct packet *pkt, unsigned ev)
{
	if ((pkt->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN)
		syn_count(d, &pkt->dst, pkt->dport, &pkt->src, pkt->sport, pkt->ts_us, 1,
			  pkt->wirelen);
	else if (ev & FLOW_EV_ESTABLISHED)
		/* The client's ACK: pkt goes client -> server. */
		syn_completed(d, &pkt->dst, pkt->dport, &pkt->src, pkt->ts_us);
}

/* One unsolicited response toward a victim, or a flow of them: who sent
 * it, to whom, when, and how much. */
struct response {
	const struct ip_addr *src, *dst;
	uint16_t sport, dport;
	uint8_t proto;
	uint64_t ts;
	uint64_t pkts, bytes;
	uint32_t payload; /* the first (or an average) response's payload */
};

static void reflection_alert(struct detect *d, uint32_t sid, const struct response *rs,
			     const struct dos_rec *r, uint16_t port, const char *svc)
{
	struct alert a;

	alert_init(&a, sid, rs->ts);
	a.dst = *rs->dst;
	a.proto = rs->proto;
	a.has_ports = 1;
	a.dport = rs->dport;
	a.attackers = ALERT_ATTACKER_REFLECTORS;
	a.window_start_us = r->w.start_us;
	a.window_end_us = rs->ts;
	a.pkts = r->pkts;
	a.bytes = r->bytes;
	alert_num(&a, "distinct_sources", hll64_count(&r->sources));
	alert_num(&a, "unsolicited_responses", r->events);
	if (rs->proto == 17) {
		alert_num(&a, "service_port", port);
		alert_num(&a, "mean_response_bytes", r->payload / (r->events ? r->events : 1));
		alert_num(&a, "largest_request_bytes", d->udp_req_max[port]);
		if (svc != NULL)
			alert_str(&a, "service", svc, strlen(svc));
	}
	name_sources(&a, &r->hh, 1, "reflectors");
	a.src = a.n_samples ? a.sample_addr[0] : *rs->src;
	a.sport = a.n_samples ? a.sample_port[0] : rs->sport;
	detect_emit(d, &a);
}

/* Counts a response's flow toward its victim's record and alerts when
 * enough reflectors sent them. */
static void reflection_count(struct detect *d, const struct response *rs, uint16_t port,
			     const struct amp_service *svc)
{
	struct vkey k;
	struct dos_rec *r;
	uint64_t h = hash_addr(rs->src), mean;

	vkey_make(&k, rs->dst, rs->proto, port);
	r = rec_get(d->refl, &k, rs->ts, d->cfg.refl_window_s);
	r->events++;
	r->pkts += rs->pkts;
	r->bytes += rs->bytes;
	r->payload += rs->payload;
	hll64_add(&r->sources, h);
	hll64_add(&r->nets, hash_net(rs->src));
	heavy_add_n(&r->hh, rs->src, h, rs->sport,
		    rs->pkts > UINT32_MAX ? UINT32_MAX : (uint32_t)rs->pkts);
	/* No fewer responses than sources: the estimate waits until it can pass. */
	if (r->w.alerted || r->events < d->cfg.refl_sources ||
	    hll64_count(&r->sources) < d->cfg.refl_sources)
		return;
	if (rs->proto == 17) {
		mean = r->payload / r->events;
		if (mean < d->cfg.refl_min_bytes ||
		    mean < (uint64_t)d->cfg.refl_ratio * d->udp_req_max[port])
			return;
	}
	r->w.alerted = 1;
	reflection_alert(d, rs->proto == 6 ? 9200018 : svc ? svc->sid : 9200019, rs, r, port,
			 svc ? svc->name : NULL);
}

/* The first packet of a UDP flow, payload bytes long from sport to dport:
 * a request (remembered per port, to judge later responses against), or
 * a response nobody asked for, whose flow is marked DETF_AMP. Returns
 * whether it is such a response. */
static int udp_first(struct detect *d, struct flow *f, uint16_t sport, uint16_t dport,
		     uint32_t payload)
{
	const struct amp_service *svc;

	if (payload > d->udp_req_max[dport])
		d->udp_req_max[dport] = (uint16_t)(payload > 65535 ? 65535 : payload);
	/* Responses carry data; peers on one port (NTP, IKE, BACnet between
	 * their own ports) are not answering anyone. */
	if (payload == 0 || sport == dport)
		return 0;
	svc = amp_service(sport);
	if (svc == NULL && payload * 2 < d->cfg.refl_min_bytes)
		return 0;
	if (svc != NULL && amp_service(dport) != NULL)
		return 0; /* service to service: not a reflection's shape */
	f->det_flags |= DETF_AMP;
	return 1;
}

static void reflection(struct detect *d, struct flow *f, const struct packet *pkt, unsigned ev)
{
	struct response rs = {&pkt->src, &pkt->dst, pkt->sport, pkt->dport, pkt->ip_proto,
			      pkt->ts_us, 1, pkt->wirelen, pkt->payload_len};
	struct vkey k;
	struct dos_rec *r;

	if (ev & FLOW_EV_NEW) {
		if (pkt->ip_proto == 17) {
			if (udp_first(d, f, pkt->sport, pkt->dport, pkt->payload_len))
				reflection_count(d, &rs, pkt->sport, amp_service(pkt->sport));
			return;
		}
		if (pkt->ip_proto != 6 ||
		    (pkt->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) != (TCP_SYN | TCP_ACK))
			return;
		f->det_flags |= DETF_SYNACK;
		rs.payload = 0;
		reflection_count(d, &rs, 0, NULL);
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

/* pkts packets of bytes in all toward dst from src, the last at ts. */
static void volumetric_add(struct detect *d, const struct ip_addr *dst, const struct ip_addr *src,
			   uint16_t sport, uint8_t proto, uint64_t ts, uint64_t pkts, uint64_t bytes)
{
	struct dos_sketch *s = d->sketch;
	uint64_t win = (uint64_t)d->cfg.vol_window_s * SEC;
	uint64_t max_pkts = (uint64_t)d->cfg.vol_pps * d->cfg.vol_window_s;
	uint64_t max_bytes = (uint64_t)d->cfg.vol_mbps * 125000 * d->cfg.vol_window_s;
	uint64_t est_p, est_b, h, b64 = (bytes + 63 * pkts) >> 6;
	struct vkey k;
	struct dos_rec *r;
	uint32_t c0, c1;

	if (s->start_us == 0 || ts >= s->start_us + win) {
		memset(s, 0, sizeof(*s));
		s->start_us = ts ? ts : 1;
	}
	h = sketch_hash(dst);
	c0 = (uint32_t)(h >> 53);
	c1 = (uint32_t)(h >> 29) & (SKETCH_COLS - 1);
	s->cell[0][c0].pkts += (uint32_t)pkts;
	s->cell[1][c1].pkts += (uint32_t)pkts;
	s->cell[0][c0].bytes64 += (uint32_t)b64;
	s->cell[1][c1].bytes64 += (uint32_t)b64;
	est_p = s->cell[0][c0].pkts < s->cell[1][c1].pkts ? s->cell[0][c0].pkts
							   : s->cell[1][c1].pkts;
	est_b = (uint64_t)(s->cell[0][c0].bytes64 < s->cell[1][c1].bytes64 ? s->cell[0][c0].bytes64
									 : s->cell[1][c1].bytes64)
		<< 6;
	if (est_p < max_pkts / 2 && est_b < max_bytes / 2)
		return;
	/* A candidate victim: count it exactly, and its sources, from now on;
	 * the sketch's count so far is its starting point. */
	vkey_make(&k, dst, 0, 0);
	r = rec_get(d->vol, &k, ts, d->cfg.vol_window_s);
	if (r->pkts == 0) {
		r->pkts = est_p;
		r->bytes = est_b;
	} else {
		r->pkts += pkts;
		r->bytes += bytes;
	}
	r->events += pkts;
	est_p = r->pkts;
	est_b = r->bytes;
	h = hash_addr(src);
	hll64_add(&r->sources, h);
	hll64_add(&r->nets, hash_net(src));
	heavy_add_n(&r->hh, src, h, sport, pkts > UINT32_MAX ? UINT32_MAX : (uint32_t)pkts);
	if (!r->w.alerted && (est_p >= max_pkts || est_b >= max_bytes)) {
		struct alert a;
		uint64_t span = ts > s->start_us ? ts - s->start_us : 0;

		r->w.alerted = 1;
		alert_init(&a, 9200002, ts);
		a.dst = *dst;
		a.proto = proto;
		a.window_start_us = s->start_us;
		a.window_end_us = ts;
		a.pkts = est_p;
		a.bytes = est_b;
		alert_num(&a, "packets_per_second", est_p * SEC / (span + 1));
		alert_num(&a, "bits_per_second", est_b * 8 * SEC / (span + 1));
		attribute(d, &a, r, 0);
		a.src = a.n_samples ? a.sample_addr[0] : *src;
		detect_emit(d, &a);
	}
}

static void volumetric(struct detect *d, const struct packet *pkt)
{
	volumetric_add(d, &pkt->dst, &pkt->src, pkt->sport, pkt->ip_proto, pkt->ts_us, 1,
		       pkt->wirelen);
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

void dos_flow(struct detect *d, struct flow *f, uint32_t hdr)
{
	int c = f->client, s = c ^ 1;
	uint8_t cf = f->tcp_flags[FLOW_TOSERVER], sf = f->tcp_flags[FLOW_TOCLIENT];
	uint64_t pc = f->pkts[FLOW_TOSERVER], ps = f->pkts[FLOW_TOCLIENT];
	uint64_t bc = f->bytes[FLOW_TOSERVER], bs = f->bytes[FLOW_TOCLIENT];
	uint64_t life = f->last_us > f->first_us ? f->last_us - f->first_us : 0;
	uint64_t win = (uint64_t)d->cfg.vol_window_s * SEC;
	uint16_t cport = f->key.port[c], sport = f->key.port[s];
	struct ip_addr cl, sv;

	flow_endpoints(f, &cl, &sv);
	if (f->key.proto == 6 && (f->det_flags & DETF_SYNACK)) {
		/* Begun by the server's SYN-ACK: a reflector toward the client. */
		struct response rs = {&sv, &cl, sport, cport, 6, f->first_us, ps, bs, 0};
		reflection_count(d, &rs, 0, NULL);
	} else if (f->key.proto == 6 && (cf & TCP_SYN) && pc > 0) {
		/* A handshake completed took one SYN; one that never did, every
		 * packet the client sent (SYNs, and their retransmissions). */
		int done = (cf & TCP_ACK) && (sf & TCP_SYN) && !(sf & TCP_RST);
		uint64_t syns = done ? 1 : pc;
		syn_count(d, &sv, sport, &cl, cport, done ? f->first_us : f->last_us, syns,
			  bc / pc * syns);
		if (done)
			syn_completed(d, &sv, sport, &cl, f->first_us);
	} else if (f->key.proto == 17 && pc > 0) {
		uint64_t mean = bc / pc;
		uint32_t payload = mean > hdr ? (uint32_t)(mean - hdr) : 0;
		if (udp_first(d, f, cport, sport, payload)) {
			struct response rs = {&cl, &sv, cport, sport, 17, f->first_us, pc, bc,
					      payload};
			reflection_count(d, &rs, cport, amp_service(cport));
		}
	}
	/* Volume: a flow that lasted longer than the window counts the
	 * window's share of it, at its rate. */
	if (life > win) {
		pc = pc * win / life;
		bc = bc * win / life;
		ps = ps * win / life;
		bs = bs * win / life;
	}
	if (pc > 0)
		volumetric_add(d, &sv, &cl, cport, f->key.proto, f->last_us, pc, bc);
	if (ps > 0)
		volumetric_add(d, &cl, &sv, sport, f->key.proto, f->last_us, ps, bs);
}
