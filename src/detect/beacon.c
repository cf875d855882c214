/* beacon.c - command-and-control beaconing: a host calling the same
 * server at a regular interval.
 *
 * Across connections: the start times of the last BEACON_RING TCP
 * connections (counted once established) from
 * one client to one server port; with beacon.min_events of them, the
 * intervals' median must be at least beacon.min_interval and their median
 * absolute deviation at most beacon.max_jitter percent of it.
 * Inside one connection: the client's bursts (payload after at least a
 * second of silence), with a running mean and variance in the flow itself;
 * the coefficient of variation must be at most beacon.max_jitter percent,
 * and the server must have answered (one-way streams such as syslog are
 * periodic by design).
 * DNS and NTP (periodic by design) and multicast are left out. */
#include "detect/detect_int.h"

#include <stdlib.h>

#define BEACON_RING 16
#define BURST_GAP_MS 1000
#define REALERT_US (3600 * SEC)

struct bkey {
	uint8_t client[17];
	uint8_t server[17];
	uint8_t proto;
	uint16_t port;
};

struct beacon_rec {
	uint64_t starts[BEACON_RING];
	uint32_t n;	  /* starts recorded (ring position = n % BEACON_RING) */
	uint64_t alerted_us;
};

int beacon_init(struct detect *d)
{
	if (!(d->part & DETECT_PART_CROSS))
		return 0; /* bursts inside a connection keep their state in the flow */
	d->beacon = dtable_new(d->cfg.table_entries, sizeof(struct bkey), sizeof(struct beacon_rec));
	return d->beacon ? 0 : -1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int excluded(const struct packet *pkt)
{
	if (pkt->ip_proto != 6 && pkt->ip_proto != 17)
		return 1;
	if (pkt->ip_proto == 17 && (pkt->dport == 53 || pkt->dport == 123 || pkt->dport == 5353))
		return 1;
	return addr_is_multicast_or_broadcast(&pkt->dst);
}

static void beacon_emit(struct detect *d, uint32_t sid, const struct packet *pkt,
			const struct flow *f, uint32_t events, uint64_t period_us,
			uint32_t jitter_pct, uint64_t first_us)
{
	struct alert a;

	alert_from_packet(&a, sid, f, pkt);
	a.window_start_us = first_us;
	a.window_end_us = pkt->ts_us;
	alert_num(&a, "events", events);
	alert_num(&a, "period_ms", period_us / 1000);
	alert_num(&a, "jitter_pct", jitter_pct);
	detect_emit(d, &a);
}

static void across_connections(struct detect *d, const struct flow *f, const struct packet *pkt)
{
	uint64_t iv[BEACON_RING], dev[BEACON_RING], med, mad;
	struct beacon_rec *r;
	struct bkey k;
	uint32_t m, i;
	int is_new;

	memset(&k, 0, sizeof(k));
	k.client[0] = k.server[0] = pkt->src.family;
	memcpy(k.client + 1, pkt->src.a, 16);
	memcpy(k.server + 1, pkt->dst.a, 16);
	k.proto = pkt->ip_proto;
	k.port = pkt->dport;
	r = dtable_get(d->beacon, &k, pkt->ts_us, &is_new);
	r->starts[r->n % BEACON_RING] = pkt->ts_us;
	r->n++;
	m = r->n < BEACON_RING ? r->n : BEACON_RING;
	if (m < d->cfg.beacon_min_events)
		return;
	if (r->alerted_us != 0 && pkt->ts_us < r->alerted_us + REALERT_US)
		return;
	/* Intervals between consecutive starts, oldest first. */
	uint64_t s[BEACON_RING];
	for (i = 0; i < m; i++)
		s[i] = r->starts[(r->n - m + i) % BEACON_RING];
	for (i = 1; i < m; i++)
		iv[i - 1] = s[i] > s[i - 1] ? s[i] - s[i - 1] : 0;
	qsort(iv, m - 1, sizeof(iv[0]), cmp_u64);
	med = iv[(m - 1) / 2];
	if (med < d->cfg.beacon_min_interval_s * SEC)
		return;
	for (i = 0; i < m - 1; i++)
		dev[i] = iv[i] > med ? iv[i] - med : med - iv[i];
	qsort(dev, m - 1, sizeof(dev[0]), cmp_u64);
	mad = dev[(m - 1) / 2];
	if (mad * 100 > med * d->cfg.beacon_max_jitter_pct)
		return;
	r->alerted_us = pkt->ts_us;
	beacon_emit(d, 9400001, pkt, f, m, med, (uint32_t)(mad * 100 / med), s[0]);
}

static void inside_connection(struct detect *d, struct flow *f, const struct packet *pkt)
{
	uint64_t rel = pkt->ts_us > f->first_us ? pkt->ts_us - f->first_us : 0;
	uint32_t ms = (uint32_t)(rel / 1000), gap;
	double x, delta;

	if (f->beat_last_ms != 0 && ms < f->beat_seen_ms + BURST_GAP_MS) {
		if (ms > f->beat_seen_ms)
			f->beat_seen_ms = ms;
		return; /* same burst (or a packet slightly out of order) */
	}
	f->beat_seen_ms = ms;
	if (f->beat_last_ms == 0) {
		f->beat_last_ms = ms + 1;
		return;
	}
	gap = ms + 1 - f->beat_last_ms;
	f->beat_last_ms = ms + 1;
	x = gap / 1000.0;
	f->beat_n++;
	delta = x - f->beat_mean;
	f->beat_mean += (float)(delta / f->beat_n);
	f->beat_m2 += (float)(delta * (x - f->beat_mean));
	if (f->beat_n < d->cfg.beacon_min_events || (f->det_flags & DETF_BEACON_DONE))
		return;
	if (f->beat_mean < (float)d->cfg.beacon_min_interval_s)
		return;
	/* C2 is a conversation: one-way streams (syslog, flow export, traps)
	 * are periodic by design. */
	if (f->pkts[FLOW_TOCLIENT] == 0)
		return;
	double sd = sqrt(f->beat_m2 / (f->beat_n - 1));
	uint32_t cv = (uint32_t)(sd * 100.0 / f->beat_mean);
	if (cv > d->cfg.beacon_max_jitter_pct)
		return;
	f->det_flags |= DETF_BEACON_DONE;
	beacon_emit(d, 9400002, pkt, f, f->beat_n, (uint64_t)(f->beat_mean * 1e6), cv,
		    f->first_us);
}

void beacon_connection(struct detect *d, const struct flow *f, const struct packet *pkt)
{
	if (excluded(pkt) || (f->det_flags & (DETF_AMP | DETF_SYNACK | DETF_STEALTH)))
		return;
	across_connections(d, f, pkt);
}

void beacon_packet(struct detect *d, struct flow *f, const struct packet *pkt, int dir,
		   unsigned ev)
{
	if (dir != FLOW_TOSERVER || excluded(pkt))
		return;
	/* A TCP connection counts once it is established: a C2 client talks
	 * to its server, while SYN floods and scans never finish handshakes. */
	if ((d->part & DETECT_PART_CROSS) && pkt->ip_proto == 6 && (ev & FLOW_EV_ESTABLISHED) &&
	    !(f->det_flags & (DETF_AMP | DETF_SYNACK | DETF_STEALTH)))
		across_connections(d, f, pkt);
	if ((d->part & DETECT_PART_FLOW) && pkt->payload_len > 0)
		inside_connection(d, f, pkt);
}
