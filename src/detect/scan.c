/* scan.c - horizontal and vertical scans, counted from failed attempts.
 *
 * An attempt is a flow the client opened that went nowhere: a TCP SYN
 * that got no SYN-ACK, a reset, or a handshake the client itself reset
 * before sending three packets (a SYN scan's probe of an open port); a
 * TCP flow that began without SYN or ACK (FIN, NULL and Xmas probes); a
 * UDP flow that got no answer. Flows that carried a conversation never
 * count, so a busy client reaching many servers is not a scanner.
 * Multicast and broadcast destinations are ignored. */
#include "detect/detect_int.h"

enum scan_kind { SCAN_SYN = 0, SCAN_STEALTH = 1, SCAN_UDP = 2 };

struct hkey { /* horizontal: one source, one port, many hosts */
	uint8_t src[17];
	uint8_t proto, kind;
	uint16_t port;
};

struct vkey { /* vertical: one source, one host, many ports */
	uint8_t src[17];
	uint8_t dst[17];
	uint8_t proto, kind;
};

struct scan_rec {
	struct window w;
	uint64_t attempts;
	struct distinct seen;
	struct samples ex;
};

int scan_init(struct detect *d)
{
	d->scan_h = dtable_new(d->cfg.table_entries, sizeof(struct hkey), sizeof(struct scan_rec));
	d->scan_v = dtable_new(d->cfg.table_entries, sizeof(struct vkey), sizeof(struct scan_rec));
	return d->scan_h && d->scan_v ? 0 : -1;
}

void scan_packet(struct detect *d, struct flow *f, const struct packet *pkt, unsigned ev)
{
	(void)d;
	(void)ev;
	if (pkt->ip_proto == 6 && (pkt->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == 0)
		f->det_flags |= DETF_STEALTH;
}

/* The kind of failed attempt a flow was, or -1. */
static int failed_attempt(const struct flow *f)
{
	uint8_t cf = f->tcp_flags[FLOW_TOSERVER], sf = f->tcp_flags[FLOW_TOCLIENT];

	if (f->key.proto == 6) {
		if (f->det_flags & DETF_STEALTH)
			return SCAN_STEALTH;
		if (!(cf & TCP_SYN) || (f->det_flags & DETF_SYNACK))
			return -1;
		if (!(sf & TCP_SYN) || (sf & TCP_RST))
			return SCAN_SYN;
		if ((cf & TCP_RST) && f->pkts[FLOW_TOSERVER] <= 3)
			return SCAN_SYN;
		return -1;
	}
	if (f->key.proto == 17 && f->pkts[FLOW_TOCLIENT] == 0 && !(f->det_flags & DETF_AMP))
		return SCAN_UDP;
	return -1;
}

static void addr_key(uint8_t *k, const uint8_t *a, uint8_t family)
{
	k[0] = family;
	memcpy(k + 1, a, 16);
}

static const uint32_t hsid[] = {9100001, 9100002, 9100003};
static const uint32_t vsid[] = {9100011, 9100012, 9100013};

void scan_flow_end(struct detect *d, const struct flow *f)
{
	int kind = failed_attempt(f), c = f->client, s = c ^ 1, is_new;
	struct ip_addr src, dst;
	struct hkey hk;
	struct vkey vk;
	struct scan_rec *r;
	struct alert a;
	uint32_t n;

	if (kind < 0)
		return;
	src.family = dst.family = f->key.family;
	memcpy(src.a, f->key.addr[c], 16);
	memcpy(dst.a, f->key.addr[s], 16);
	if (addr_is_multicast_or_broadcast(&dst))
		return;

	memset(&hk, 0, sizeof(hk));
	addr_key(hk.src, f->key.addr[c], f->key.family);
	hk.proto = f->key.proto;
	hk.kind = (uint8_t)kind;
	hk.port = f->key.port[s];
	r = dtable_get(d->scan_h, &hk, f->last_us, &is_new);
	if (window_roll(&r->w, f->first_us, d->cfg.scan_window_s)) {
		memset(&r->seen, 0, sizeof(r->seen));
		r->ex.n = 0;
		r->attempts = 0;
	}
	r->attempts++;
	distinct_add(&r->seen, hash_addr(&dst));
	samples_add(&r->ex, &dst, f->key.port[s]);
	n = distinct_count(&r->seen);
	if (n >= d->cfg.scan_hosts && !r->w.alerted) {
		r->w.alerted = 1;
		alert_init(&a, hsid[kind], f->last_us);
		a.src = src;
		a.dst = r->ex.addr[0];
		a.sport = f->key.port[c];
		a.dport = f->key.port[s];
		a.proto = f->key.proto;
		a.has_ports = 1;
		a.window_start_us = r->w.start_us;
		a.window_end_us = f->last_us;
		alert_num(&a, "distinct_hosts", n);
		alert_num(&a, "attempts", r->attempts);
		alert_samples(&a, "targets", &r->ex, ALERT_SAMPLES_ADDR);
		detect_emit(d, &a);
	}

	memset(&vk, 0, sizeof(vk));
	addr_key(vk.src, f->key.addr[c], f->key.family);
	addr_key(vk.dst, f->key.addr[s], f->key.family);
	vk.proto = f->key.proto;
	vk.kind = (uint8_t)kind;
	r = dtable_get(d->scan_v, &vk, f->last_us, &is_new);
	if (window_roll(&r->w, f->first_us, d->cfg.scan_window_s)) {
		memset(&r->seen, 0, sizeof(r->seen));
		r->ex.n = 0;
		r->attempts = 0;
	}
	r->attempts++;
	distinct_add(&r->seen, f->key.port[s]);
	samples_add(&r->ex, NULL, f->key.port[s]);
	n = distinct_count(&r->seen);
	if (n >= d->cfg.scan_ports && !r->w.alerted) {
		r->w.alerted = 1;
		alert_init(&a, vsid[kind], f->last_us);
		a.src = src;
		a.dst = dst;
		a.sport = f->key.port[c];
		a.dport = r->ex.port[0];
		a.proto = f->key.proto;
		a.has_ports = 1;
		a.window_start_us = r->w.start_us;
		a.window_end_us = f->last_us;
		alert_num(&a, "distinct_ports", n);
		alert_num(&a, "attempts", r->attempts);
		alert_samples(&a, "ports", &r->ex, ALERT_SAMPLES_PORT);
		detect_emit(d, &a);
	}
}
