/* flowrec.c - detection from flow records: what a router's NetFlow or
 * IPFIX export says about a connection, with no packet to look at.
 *
 * A record gives a flow's totals: packets, bytes and the OR of the TCP
 * flags each way, first and last times. The detectors that judge flows
 * once they end (scans, the sequential test, brute force) read the same
 * verdicts from it as from a flow the sensor metered itself. What the
 * packet path learns from single packets is inferred here from the totals:
 *   - the marks the packet path sets on a flow's first packet (a scan's
 *     FIN/NULL/Xmas or bare-ACK probe, a flow begun by a SYN-ACK, an
 *     unsolicited UDP response) from the flags and the mean size;
 *   - SYN floods from the SYNs of flows that never completed their
 *     handshake (each of their client packets a SYN), and the handshakes
 *     completed from those that did;
 *   - reflection from the responses' flows, their payload the mean size
 *     less the headers;
 *   - volume toward each address from the flows' packets and bytes, spread
 *     over the flow's life (a long flow's total is not a burst);
 *   - beacons from the start times of the connections;
 *   - known-bad addresses from the two ends.
 * Not from records: hand-built SYNs (no header fields), periodic bursts
 * inside one connection, and anything from payload (DNS, TLS, HTTP, ICS).
 * Brute force tells the sessions open at once from their records' times. */
#include "detect/detect_int.h"

/* The client's first packet, as far as the record tells it. */
static void first_packet(const struct flow *f, struct packet *p)
{
	int c = f->client, s = c ^ 1;

	memset(p, 0, sizeof(*p));
	p->ts_us = f->first_us;
	p->ip_proto = f->key.proto;
	p->src.family = p->dst.family = f->key.family;
	memcpy(p->src.a, f->key.addr[c], 16);
	memcpy(p->dst.a, f->key.addr[s], 16);
	p->sport = f->key.port[c];
	p->dport = f->key.port[s];
	p->vlan[0] = f->key.vlan[0];
	p->vlan[1] = f->key.vlan[1];
	p->tcp_flags = f->tcp_flags[FLOW_TOSERVER] & (TCP_SYN | TCP_ACK | TCP_RST);
	p->icmp_type = f->icmp_type;
	p->icmp_code = f->icmp_code;
	if (f->pkts[FLOW_TOSERVER] != 0) {
		p->wirelen = (uint32_t)(f->bytes[FLOW_TOSERVER] / f->pkts[FLOW_TOSERVER]);
		p->ip_len = (uint32_t)(f->ip_bytes[FLOW_TOSERVER] / f->pkts[FLOW_TOSERVER]);
	}
	if (p->ip_proto == 6 || p->ip_proto == 17 || p->ip_proto == 132)
		p->flags |= PKT_HAS_PORTS;
}

/* The marks the packet path would have set from the flow's first packets. */
static void infer_marks(struct flow *f)
{
	uint8_t cf = f->tcp_flags[FLOW_TOSERVER], sf = f->tcp_flags[FLOW_TOCLIENT];

	f->det_flags = 0;
	if (f->key.proto != 6)
		return;
	if ((sf & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && !(cf & TCP_SYN))
		f->det_flags |= DETF_SYNACK; /* the server began, with a SYN-ACK */
	else if (f->pkts[FLOW_TOSERVER] > 0 && (cf & (TCP_SYN | TCP_ACK | TCP_RST)) == 0)
		f->det_flags |= DETF_STEALTH;
	else if (cf == TCP_ACK && f->pkts[FLOW_TOSERVER] <= 2)
		f->det_flags |= DETF_ACKPROBE;
}

void detect_flow(struct detect *d, struct flow *f, uint32_t hdr)
{
	uint8_t cf = f->tcp_flags[FLOW_TOSERVER], sf = f->tcp_flags[FLOW_TOCLIENT];
	struct packet p;
	int handshake;

	infer_marks(f);
	handshake = f->key.proto == 6 && (cf & TCP_SYN) && (cf & TCP_ACK) && (sf & TCP_SYN) &&
		    !(f->det_flags & DETF_SYNACK);
	first_packet(f, &p);
	intelmatch_flow(d, f, &p);
	dos_flow(d, f, hdr);
	if (handshake) {
		p.ts_us = f->first_us;
		brute_flow(d, f, &p);
		beacon_connection(d, f, &p);
	}
	scan_flow_end(d, f);
	trw_flow_end(d, f);
	brute_flow_end(d, f);
}
