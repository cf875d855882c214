/* scan.c - horizontal and vertical scans, counted from failed attempts;
 * sweeps with ICMP echo and TCP ACK; IP protocol scans; and probes built
 * by scanning tools, which give a scanner away on its first packet.
 *
 * An attempt is a flow the client opened that went nowhere: a TCP SYN
 * that got no SYN-ACK, a reset, or a handshake the client itself reset
 * before sending three packets (a SYN scan's probe of an open port); a
 * TCP flow that began without SYN or ACK (FIN, NULL and Xmas probes); a
 * TCP flow that began with a bare ACK answered by nothing but a reset (an
 * ACK scan); a UDP flow that got no answer; an ICMP echo that got no
 * reply; a flow of any other IP protocol that got no answer. Flows that
 * carried a conversation never count, so a busy client reaching many
 * servers is not a scanner. Multicast and broadcast destinations are
 * ignored. Slow scans, too few in any window for these counts, are left to
 * the sequential test in trw.c, which reads the same verdict. */
#include "detect/detect_int.h"

struct hkey { /* horizontal: one source, one port, many hosts */
	uint8_t src[17];
	uint8_t proto, kind;
	uint16_t port;
};

struct vkey { /* vertical: one source, one host, many ports (or protocols) */
	uint8_t src[17];
	uint8_t dst[17];
	uint8_t proto, kind;
};

struct scan_rec {
	struct window w;
	uint64_t attempts;
	uint64_t pkts, bytes;
	struct reported rep;
	struct distinct seen;
	struct samples ex;
};

struct tkey { /* tool probes: one source */
	uint8_t src[17];
};

struct tool_rec {
	struct window w;
};

int scan_init(struct detect *d)
{
	d->scan_h = dtable_new(d->cfg.table_entries, sizeof(struct hkey), sizeof(struct scan_rec));
	d->scan_v = dtable_new(d->cfg.table_entries, sizeof(struct vkey), sizeof(struct scan_rec));
	d->scan_tool = dtable_new(d->cfg.table_entries / 4 + 64, sizeof(struct tkey),
				  sizeof(struct tool_rec));
	if (d->scan_h == NULL || d->scan_v == NULL || d->scan_tool == NULL)
		return -1;
	dtable_set_zero(d->scan_h, offsetof(struct scan_rec, ex.port));
	dtable_set_zero(d->scan_v, offsetof(struct scan_rec, ex.port));
	dtable_set_age(d->scan_h, (uint64_t)d->cfg.scan_window_s * SEC);
	dtable_set_age(d->scan_v, (uint64_t)d->cfg.scan_window_s * SEC);
	dtable_set_age(d->scan_tool, (uint64_t)d->cfg.scan_window_s * SEC);
	return 0;
}

static void addr_key(uint8_t *k, const uint8_t *a, uint8_t family)
{
	k[0] = family;
	memcpy(k + 1, a, 16);
}

/* Hand-built SYNs, by the tool whose probes they look like. Operating
 * systems open connections with MSS, window scale, SACK-permitted and
 * timestamps (Windows leaves out timestamps, old stacks window scale);
 * nmap's SYN probes carry the MSS alone with a window of 1024 to 4096,
 * masscan's no option at all with a window of 1024, and zmap's at most the
 * MSS, with window 65535 and IP identification 54321. */
enum { TOOL_NONE, TOOL_NMAP, TOOL_MASSCAN, TOOL_ZMAP };
static const char *const tool_name[] = {"", "nmap", "masscan", "zmap"};
static const char *const tool_print[] = {
	"", "window of 1024 to 4096, MSS option alone", "window 1024, no TCP option",
	"window 65535, IP identification 54321, no option but the MSS"};

static int tool_probe(const struct packet *pkt)
{
	uint8_t o = pkt->tcp_opts;

	if (pkt->src.family == 4 && pkt->ip_id == 54321 && pkt->tcp_window == 65535 &&
	    (o & ~TCPO_MSS) == 0)
		return TOOL_ZMAP;
	if (o == 0 && pkt->tcp_window == 1024)
		return TOOL_MASSCAN;
	if (o == TCPO_MSS && pkt->tcp_mss != 0 && pkt->tcp_window <= 4096 &&
	    pkt->tcp_window % 1024 == 0 && pkt->tcp_window != 0)
		return TOOL_NMAP;
	return TOOL_NONE;
}

/* A hand-built SYN's flow has ended. It names its source only when the
 * address proved its own, or the target at least answered: the target
 * reset (a closed port), or accepted and the prober reset (what a SYN scan
 * does: the prober got the SYN-ACK, so the address is real). A forged
 * address in a flood of such SYNs never answers the SYN-ACK; and a SYN
 * toward a service under a SYN flood is taken for part of the flood. */
static void tool_flow_end(struct detect *d, const struct flow *f)
{
	uint8_t cf = f->tcp_flags[FLOW_TOSERVER], sf = f->tcp_flags[FLOW_TOCLIENT];
	int c = f->client, s = c ^ 1, tool = f->det_aux, is_new;
	struct ip_addr dst;
	struct tkey k;
	struct tool_rec *r;
	struct alert a;

	if (tool <= TOOL_NONE || tool > TOOL_ZMAP)
		return;
	if (!(sf & TCP_RST) && !((sf & TCP_SYN) && (cf & TCP_RST)))
		return;
	if ((sf & TCP_SYN) && (f->tcp_flags[FLOW_TOSERVER] & TCP_ACK) && !(cf & TCP_RST))
		return; /* a handshake completed: a connection, not a probe */
	dst.family = f->key.family;
	memcpy(dst.a, f->key.addr[s], 16);
	if (dos_service_flooded(d, &dst, f->key.port[s], f->last_us))
		return;
	memset(&k, 0, sizeof(k));
	addr_key(k.src, f->key.addr[c], f->key.family);
	r = dtable_get(d->scan_tool, &k, f->last_us, &is_new);
	window_roll(&r->w, f->first_us, d->cfg.scan_window_s);
	if (r->w.alerted)
		return;
	r->w.alerted = 1;
	alert_init(&a, 9100021, f->last_us);
	a.src.family = f->key.family;
	memcpy(a.src.a, f->key.addr[c], 16);
	a.dst = dst;
	a.sport = f->key.port[c];
	a.dport = f->key.port[s];
	a.proto = 6;
	a.has_ports = 1;
	a.flow_id = f->flow_id;
	a.pkts = f->pkts[FLOW_TOSERVER];
	a.bytes = f->bytes[FLOW_TOSERVER];
	alert_str(&a, "looks_like", tool_name[tool], strlen(tool_name[tool]));
	alert_str(&a, "fingerprint", tool_print[tool], strlen(tool_print[tool]));
	alert_str(&a, "answer", (sf & TCP_RST) ? "reset" : "accepted, then reset by the prober",
		  (sf & TCP_RST) ? 5 : 34);
	detect_emit(d, &a);
}

void scan_packet(struct detect *d, struct flow *f, const struct packet *pkt, unsigned ev)
{
	uint8_t fl = pkt->tcp_flags;

	(void)ev;
	if (pkt->ip_proto != 6)
		return;
	if ((fl & (TCP_SYN | TCP_ACK | TCP_RST)) == 0)
		f->det_flags |= DETF_STEALTH;
	else if (fl == TCP_ACK && pkt->payload_len == 0)
		f->det_flags |= DETF_ACKPROBE;
	else if ((fl & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN && pkt->payload_len == 0) {
		int tool = tool_probe(pkt);
		if (tool != TOOL_NONE) {
			f->det_flags |= DETF_TOOLSYN;
			f->det_aux = (uint8_t)tool;
		}
	}
}

/* ICMP types that ask for an answer: echo, timestamp, address mask, and
 * ICMPv6 echo. */
static int icmp_probe(const struct flow *f)
{
	if (f->key.proto == 1)
		return f->icmp_type == 8 || f->icmp_type == 13 || f->icmp_type == 17;
	return f->icmp_type == 128;
}

int scan_failed_attempt(const struct flow *f)
{
	uint8_t cf = f->tcp_flags[FLOW_TOSERVER], sf = f->tcp_flags[FLOW_TOCLIENT];

	switch (f->key.proto) {
	case 6:
		if (f->det_flags & DETF_STEALTH)
			return SCAN_STEALTH;
		if (f->det_flags & DETF_ACKPROBE) {
			if ((sf & ~(TCP_RST | TCP_ACK)) == 0 && f->pkts[FLOW_TOSERVER] <= 2 &&
			    f->pkts[FLOW_TOCLIENT] <= 2)
				return SCAN_ACK;
			return -1;
		}
		if (!(cf & TCP_SYN) || (f->det_flags & DETF_SYNACK))
			return -1;
		if (!(sf & TCP_SYN) || (sf & TCP_RST))
			return SCAN_SYN;
		if ((cf & TCP_RST) && f->pkts[FLOW_TOSERVER] <= 3)
			return SCAN_SYN;
		return -1;
	case 17:
		if (f->pkts[FLOW_TOCLIENT] == 0 && !(f->det_flags & DETF_AMP))
			return SCAN_UDP;
		return -1;
	case 1:
	case 58:
		if (icmp_probe(f) && f->pkts[FLOW_TOCLIENT] == 0)
			return SCAN_ICMP;
		return -1;
	case 132:
		return -1;
	default:
		return f->pkts[FLOW_TOCLIENT] == 0 ? SCAN_PROTO : -1;
	}
}

int scan_first_contact(const struct flow *f)
{
	switch (f->key.proto) {
	case 6:
		if (f->det_flags & (DETF_STEALTH | DETF_ACKPROBE))
			return 1;
		return (f->tcp_flags[FLOW_TOSERVER] & TCP_SYN) && !(f->det_flags & DETF_SYNACK);
	case 1:
	case 58:
		return icmp_probe(f);
	default:
		return 0;
	}
}

static const uint32_t hsid[SCAN_KINDS] = {9100001, 9100002, 9100003, 9100004, 9100005, 0};
static const uint32_t vsid[SCAN_KINDS] = {9100011, 9100012, 9100013, 9100015, 0, 9100014};

static void rec_roll(struct scan_rec *r, const struct flow *f, uint32_t window_s)
{
	if (window_roll(&r->w, f->first_us, window_s)) {
		memset(&r->seen, 0, sizeof(r->seen));
		r->ex.n = 0;
		r->attempts = r->pkts = r->bytes = 0;
		memset(&r->rep, 0, sizeof(r->rep));
	}
	r->attempts++;
	r->pkts += f->pkts[FLOW_TOSERVER];
	r->bytes += f->bytes[FLOW_TOSERVER];
}

static void scan_alert(struct detect *d, const struct flow *f, struct scan_rec *r,
		       uint32_t sid, const struct ip_addr *src, const struct ip_addr *dst,
		       uint16_t dport, int horizontal, uint32_t n, int kind)
{
	int c = f->client;
	struct alert a;

	alert_init(&a, sid, f->last_us);
	a.src = *src;
	a.dst = *dst;
	a.proto = kind == SCAN_PROTO ? 0 : f->key.proto;
	a.has_ports = f->key.proto == 6 || f->key.proto == 17;
	a.sport = f->key.port[c];
	a.dport = dport;
	a.window_start_us = r->w.start_us;
	a.window_end_us = f->last_us;
	a.pkts = r->pkts;
	a.bytes = r->bytes;
	alert_escalation(&a, &r->w, &r->rep, r->pkts, r->bytes);
	alert_num(&a,
		  horizontal		? "distinct_hosts"
		  : kind == SCAN_PROTO ? "distinct_protocols"
				       : "distinct_ports",
		  n);
	alert_num(&a, "attempts", r->attempts);
	if (horizontal)
		alert_samples(&a, "targets", &r->ex, ALERT_SAMPLES_ADDR);
	else
		alert_samples(&a, kind == SCAN_PROTO ? "protocols" : "ports", &r->ex,
			      ALERT_SAMPLES_PORT);
	detect_emit(d, &a);
}

void scan_flow_end(struct detect *d, const struct flow *f)
{
	int kind = scan_failed_attempt(f), c = f->client, s = c ^ 1, is_new;
	struct ip_addr src, dst;
	struct hkey hk;
	struct vkey vk;
	struct scan_rec *r;
	uint32_t n;

	if (f->det_flags & DETF_TOOLSYN)
		tool_flow_end(d, f);
	if (kind < 0)
		return;
	flow_endpoints(f, &src, &dst);
	if (addr_is_multicast_or_broadcast(&dst))
		return;

	if (hsid[kind] != 0) {
		memset(&hk, 0, sizeof(hk));
		addr_key(hk.src, f->key.addr[c], f->key.family);
		hk.proto = f->key.proto;
		hk.kind = (uint8_t)kind;
		hk.port = kind == SCAN_ICMP ? 0 : f->key.port[s];
		r = dtable_get(d->scan_h, &hk, f->last_us, &is_new);
		rec_roll(r, f, d->cfg.scan_window_s);
		distinct_add(&r->seen, hash_addr(&dst));
		samples_add(&r->ex, &dst, hk.port);
		n = distinct_count(&r->seen);
		if (window_escalate(&r->w, n, d->cfg.scan_hosts))
			scan_alert(d, f, r, hsid[kind], &src, &r->ex.addr[0], hk.port, 1, n,
				   kind);
	}

	if (vsid[kind] != 0) {
		uint16_t what = kind == SCAN_PROTO ? f->key.proto : f->key.port[s];
		uint32_t need = kind == SCAN_PROTO ? d->cfg.scan_protos : d->cfg.scan_ports;

		memset(&vk, 0, sizeof(vk));
		addr_key(vk.src, f->key.addr[c], f->key.family);
		addr_key(vk.dst, f->key.addr[s], f->key.family);
		vk.proto = kind == SCAN_PROTO ? 0 : f->key.proto;
		vk.kind = (uint8_t)kind;
		r = dtable_get(d->scan_v, &vk, f->last_us, &is_new);
		rec_roll(r, f, d->cfg.scan_window_s);
		distinct_add(&r->seen, what);
		samples_add(&r->ex, NULL, what);
		n = distinct_count(&r->seen);
		if (window_escalate(&r->w, n, need))
			scan_alert(d, f, r, vsid[kind], &src, &dst, r->ex.port[0], 0, n, kind);
	}
}
