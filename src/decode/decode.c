/* decode.c - link, network and transport headers. Every length is checked
 * against the bytes present before it is used. */
#include "decode/decode.h"

#include <string.h>

#include "base/cursor.h"
#include "decode/scope.h"

static const char *const counter_names[DC_MAX] = {
	[DC_LINK_TRUNCATED] = "link_truncated",
	[DC_LINK_UNSUPPORTED] = "link_unsupported",
	[DC_VLAN_TRUNCATED] = "vlan_truncated",
	[DC_VLAN_TOO_DEEP] = "vlan_too_deep",
	[DC_PPPOE_TRUNCATED] = "pppoe_truncated",
	[DC_MPLS_TRUNCATED] = "mpls_truncated",
	[DC_ENCAP_TOO_DEEP] = "encap_too_deep",
	[DC_NOT_IP] = "not_ip",
	[DC_IPV4_TRUNCATED] = "ipv4_truncated",
	[DC_IPV4_BAD_VERSION] = "ipv4_bad_version",
	[DC_IPV4_BAD_HLEN] = "ipv4_bad_hlen",
	[DC_IPV4_BAD_LEN] = "ipv4_bad_len",
	[DC_IPV4_OPTIONS] = "ipv4_options",
	[DC_IPV4_FRAG_FIRST] = "ipv4_frag_first",
	[DC_IPV4_FRAG_LATER] = "ipv4_frag_later",
	[DC_IPV6_TRUNCATED] = "ipv6_truncated",
	[DC_IPV6_BAD_VERSION] = "ipv6_bad_version",
	[DC_IPV6_EXT_TRUNCATED] = "ipv6_ext_truncated",
	[DC_IPV6_EXT_TOO_MANY] = "ipv6_ext_too_many",
	[DC_IPV6_FRAG_FIRST] = "ipv6_frag_first",
	[DC_IPV6_FRAG_LATER] = "ipv6_frag_later",
	[DC_TCP_TRUNCATED] = "tcp_truncated",
	[DC_TCP_BAD_HLEN] = "tcp_bad_hlen",
	[DC_UDP_TRUNCATED] = "udp_truncated",
	[DC_ICMP_TRUNCATED] = "icmp_truncated",
	[DC_ICMPV6_TRUNCATED] = "icmpv6_truncated",
	[DC_SCTP_TRUNCATED] = "sctp_truncated",
	[DC_CAPLEN_SHORT] = "caplen_short",
	[DC_UNAUTHORIZED] = "unauthorized",
};

const char *decode_counter_name(enum decode_counter c)
{
	if ((unsigned)c >= DC_MAX)
		return "unknown";
	return counter_names[c];
}

int decode_counter_is_error(enum decode_counter c)
{
	switch (c) {
	case DC_NOT_IP:
	case DC_IPV4_OPTIONS:
	case DC_IPV4_FRAG_FIRST:
	case DC_IPV4_FRAG_LATER:
	case DC_IPV6_FRAG_FIRST:
	case DC_IPV6_FRAG_LATER:
	case DC_CAPLEN_SHORT:
	case DC_UNAUTHORIZED:
		return 0;
	default:
		return 1;
	}
}

void icmp_map_ports(uint8_t proto, uint8_t type, uint8_t code, uint16_t *sport,
		    uint16_t *dport, int *one_way)
{
	int peer = -1;

	if (proto == 1) {
		switch (type) {
		case 8: peer = 0; break;   /* echo */
		case 0: peer = 8; break;   /* echo reply */
		case 13: peer = 14; break; /* timestamp */
		case 14: peer = 13; break;
		case 15: peer = 16; break; /* information */
		case 16: peer = 15; break;
		case 10: peer = 9; break;  /* router solicitation */
		case 9: peer = 10; break;  /* router advertisement */
		case 17: peer = 18; break; /* address mask */
		case 18: peer = 17; break;
		}
	} else {
		switch (type) {
		case 128: peer = 129; break; /* echo request */
		case 129: peer = 128; break;
		case 130: peer = 131; break; /* MLD query / report */
		case 131: peer = 130; break;
		case 133: peer = 134; break; /* router solicit / advert */
		case 134: peer = 133; break;
		case 135: peer = 136; break; /* neighbor solicit / advert */
		case 136: peer = 135; break;
		case 139: peer = 140; break; /* node information */
		case 140: peer = 139; break;
		case 144: peer = 145; break; /* home agent discovery */
		case 145: peer = 144; break;
		}
	}
	*sport = type;
	if (peer >= 0) {
		*dport = (uint16_t)peer;
		*one_way = 0;
	} else {
		*dport = code;
		*one_way = 1;
	}
}

/* Notes which options a SYN carries (TCPO_*) and its MSS. The options
 * lie within the header length, already checked against the bytes. */
static void tcp_syn_options(const uint8_t *o, size_t n, struct packet *pkt)
{
	size_t i = 0;
	uint8_t seen = 0;

	while (i < n) {
		uint8_t kind = o[i], len;

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || (len = o[i + 1]) < 2 || i + len > n) {
			seen |= TCPO_BAD;
			break;
		}
		switch (kind) {
		case 2:
			seen |= TCPO_MSS;
			if (len == 4)
				pkt->tcp_mss = load_be16(o + i + 2);
			break;
		case 3: seen |= TCPO_WSCALE; break;
		case 4: seen |= TCPO_SACKOK; break;
		case 8: seen |= TCPO_TS; break;
		default: seen |= TCPO_OTHER; break;
		}
		i += len;
	}
	pkt->tcp_opts = seen;
}

/* What the decoders below carry: where to count, and what may be analysed
 * (NULL: everything, at the cost of one predictable branch per packet). */
struct dctx {
	uint64_t *counters;
	const struct decode_scope *scope;
	uint32_t cut; /* bytes the snap length cut off the frame's end */
};

/* Outside the scope: counted and dropped as soon as the addresses are
 * known, before fragments, extension headers or ports are looked at. */
static inline int out_of_scope(struct dctx *cx, const struct packet *pkt)
{
	if (cx->scope == NULL || decode_scope_allows(cx->scope, pkt))
		return 0;
	cx->counters[DC_UNAUTHORIZED]++;
	return 1;
}

#define BAD(ctr)                                                                                   \
	do {                                                                                       \
		cx->counters[ctr]++;                                                               \
		return DECODE_BAD;                                                                 \
	} while (0)

static enum decode_verdict decode_l4(const uint8_t *p, size_t len, struct packet *pkt,
				     struct dctx *cx)
{
	size_t hlen;
	int one_way;

	switch (pkt->ip_proto) {
	case 6:
		if (len < 20)
			BAD(DC_TCP_TRUNCATED);
		hlen = (size_t)(p[12] >> 4) * 4;
		if (hlen < 20)
			BAD(DC_TCP_BAD_HLEN);
		if (hlen > len)
			BAD(DC_TCP_TRUNCATED);
		pkt->sport = load_be16(p);
		pkt->dport = load_be16(p + 2);
		pkt->tcp_flags = p[13];
		pkt->tcp_window = load_be16(p + 14);
		pkt->flags |= PKT_HAS_PORTS;
		if (p[13] & TCP_SYN)
			tcp_syn_options(p + 20, hlen - 20, pkt);
		pkt->payload = p + hlen;
		pkt->payload_len = (uint32_t)(len - hlen);
		break;
	case 17:
		if (len < 8)
			BAD(DC_UDP_TRUNCATED);
		pkt->sport = load_be16(p);
		pkt->dport = load_be16(p + 2);
		pkt->flags |= PKT_HAS_PORTS;
		pkt->payload = p + 8;
		pkt->payload_len = (uint32_t)(len - 8);
		break;
	case 132:
		if (len < 12)
			BAD(DC_SCTP_TRUNCATED);
		pkt->sport = load_be16(p);
		pkt->dport = load_be16(p + 2);
		pkt->flags |= PKT_HAS_PORTS;
		break;
	case 1:
	case 58:
		if (len < 4)
			BAD(pkt->ip_proto == 1 ? DC_ICMP_TRUNCATED : DC_ICMPV6_TRUNCATED);
		pkt->icmp_type = p[0];
		pkt->icmp_code = p[1];
		icmp_map_ports(pkt->ip_proto, p[0], p[1], &pkt->sport, &pkt->dport, &one_way);
		pkt->flags |= PKT_ICMP;
		break;
	default:
		break;
	}
	return DECODE_OK;
}

static enum decode_verdict decode_ipv4(const uint8_t *p, size_t len, struct packet *pkt,
				       struct dctx *cx)
{
	size_t hlen, tot;
	uint16_t frag;

	if (len < 20)
		BAD(DC_IPV4_TRUNCATED);
	if ((p[0] >> 4) != 4)
		BAD(DC_IPV4_BAD_VERSION);
	hlen = (size_t)(p[0] & 0x0f) * 4;
	if (hlen < 20)
		BAD(DC_IPV4_BAD_HLEN);
	if (hlen > len)
		BAD(DC_IPV4_TRUNCATED);
	tot = load_be16(p + 2);
	if (tot == 0) {
		tot = len; /* segmentation offload: the NIC fills it in later */
		pkt->ip_len = (uint32_t)len + cx->cut;
	} else if (tot < hlen) {
		BAD(DC_IPV4_BAD_LEN);
	} else {
		/* What the header says, past the snap length and short of
		 * Ethernet padding: nfdump's and softflowd's count. */
		pkt->ip_len = (uint32_t)tot;
		if (tot > len)
			tot = len; /* cut by the snap length; counted by the caller */
	}
	ipaddr_set4(&pkt->src, p + 12);
	ipaddr_set4(&pkt->dst, p + 16);
	if (out_of_scope(cx, pkt))
		return DECODE_UNAUTHORIZED;
	if (hlen > 20)
		cx->counters[DC_IPV4_OPTIONS]++;
	pkt->ip_proto = p[9];
	pkt->ip_id = load_be16(p + 4);
	frag = load_be16(p + 6);
	if (frag & 0x1fff) {
		cx->counters[DC_IPV4_FRAG_LATER]++;
		return DECODE_SKIP;
	}
	if (frag & 0x2000) {
		cx->counters[DC_IPV4_FRAG_FIRST]++;
		pkt->flags |= PKT_FRAGMENT;
	}
	return decode_l4(p + hlen, tot - hlen, pkt, cx);
}

static enum decode_verdict decode_ipv6(const uint8_t *p, size_t len, struct packet *pkt,
				       struct dctx *cx)
{
	size_t plen, off, elen;
	uint8_t nh;
	int n;

	if (len < 40)
		BAD(DC_IPV6_TRUNCATED);
	if ((p[0] >> 4) != 6)
		BAD(DC_IPV6_BAD_VERSION);
	plen = load_be16(p + 4);
	pkt->ip_len = plen != 0 ? 40 + (uint32_t)plen : (uint32_t)len + cx->cut;
	if (plen == 0 || 40 + plen > len)
		plen = len - 40; /* jumbogram or snap length */
	ipaddr_set6(&pkt->src, p + 8);
	ipaddr_set6(&pkt->dst, p + 24);
	if (out_of_scope(cx, pkt))
		return DECODE_UNAUTHORIZED;
	nh = p[6];
	p += 40;
	off = 0;
	for (n = 0;; n++) {
		if (n == 8)
			BAD(DC_IPV6_EXT_TOO_MANY);
		switch (nh) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
		case 139: /* HIP */
		case 140: /* shim6 */
			if (plen - off < 8)
				BAD(DC_IPV6_EXT_TRUNCATED);
			elen = ((size_t)p[off + 1] + 1) * 8;
			break;
		case 51: /* AH: length in 4-byte units, minus 2 */
			if (plen - off < 8)
				BAD(DC_IPV6_EXT_TRUNCATED);
			elen = ((size_t)p[off + 1] + 2) * 4;
			break;
		case 44: /* fragment */
			if (plen - off < 8)
				BAD(DC_IPV6_EXT_TRUNCATED);
			if (load_be16(p + off + 2) & 0xfff8) {
				pkt->ip_proto = p[off];
				cx->counters[DC_IPV6_FRAG_LATER]++;
				return DECODE_SKIP;
			}
			if (load_be16(p + off + 2) & 1) {
				cx->counters[DC_IPV6_FRAG_FIRST]++;
				pkt->flags |= PKT_FRAGMENT;
			}
			elen = 8;
			break;
		default:
			pkt->ip_proto = nh;
			return decode_l4(p + off, plen - off, pkt, cx);
		}
		if (elen > plen - off)
			BAD(DC_IPV6_EXT_TRUNCATED);
		nh = p[off];
		off += elen;
	}
}

static enum decode_verdict decode_ether(const uint8_t *p, size_t len, struct packet *pkt,
					struct dctx *cx, int depth);

/* MPLS label stack, then IPv4, IPv6, or a pseudowire control word and an
 * Ethernet frame (RFC 4448), told apart by the first nibble. */
static enum decode_verdict decode_mpls(const uint8_t *p, size_t len, struct packet *pkt,
				       struct dctx *cx, int depth)
{
	for (;;) {
		if (len < 4)
			BAD(DC_MPLS_TRUNCATED);
		int bottom = p[2] & 1;
		p += 4;
		len -= 4;
		if (bottom)
			break;
	}
	if (len < 1)
		BAD(DC_MPLS_TRUNCATED);
	switch (p[0] >> 4) {
	case 4:
		return decode_ipv4(p, len, pkt, cx);
	case 6:
		return decode_ipv6(p, len, pkt, cx);
	case 0:
		if (len < 4)
			BAD(DC_MPLS_TRUNCATED);
		return decode_ether(p + 4, len - 4, pkt, cx, depth + 1);
	}
	cx->counters[DC_NOT_IP]++;
	return DECODE_SKIP;
}

static enum decode_verdict decode_ethertype(uint16_t type, const uint8_t *p, size_t len,
					    struct packet *pkt, struct dctx *cx, int depth)
{
	switch (type) {
	case 0x0800:
		return decode_ipv4(p, len, pkt, cx);
	case 0x86dd:
		return decode_ipv6(p, len, pkt, cx);
	case 0x8864: /* PPPoE session: 6-byte header, then the PPP protocol */
		if (len < 8)
			BAD(DC_PPPOE_TRUNCATED);
		if (load_be16(p + 6) == 0x0021)
			return decode_ipv4(p + 8, len - 8, pkt, cx);
		if (load_be16(p + 6) == 0x0057)
			return decode_ipv6(p + 8, len - 8, pkt, cx);
		break;
	case 0x8847:
	case 0x8848:
		return decode_mpls(p, len, pkt, cx, depth);
	}
	cx->counters[DC_NOT_IP]++;
	return DECODE_SKIP;
}

static enum decode_verdict decode_ether(const uint8_t *p, size_t len, struct packet *pkt,
					struct dctx *cx, int depth)
{
	uint16_t type;

	if (depth > 2)
		BAD(DC_ENCAP_TOO_DEEP);
	if (len < 14)
		BAD(DC_LINK_TRUNCATED);
	type = load_be16(p + 12);
	p += 14;
	len -= 14;
	while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
		if (len < 4)
			BAD(DC_VLAN_TRUNCATED);
		if (pkt->vlan_n == 2)
			BAD(DC_VLAN_TOO_DEEP);
		pkt->vlan[pkt->vlan_n++] = load_be16(p) & 0x0fff;
		type = load_be16(p + 2);
		p += 4;
		len -= 4;
	}
	return decode_ethertype(type, p, len, pkt, cx, depth);
}

/* Raw IP: the version nibble says which. */
static enum decode_verdict decode_raw(const uint8_t *p, size_t len, struct packet *pkt,
				      struct dctx *cx)
{
	if (len < 1)
		BAD(DC_LINK_TRUNCATED);
	switch (p[0] >> 4) {
	case 4:
		return decode_ipv4(p, len, pkt, cx);
	case 6:
		return decode_ipv6(p, len, pkt, cx);
	}
	cx->counters[DC_NOT_IP]++;
	return DECODE_SKIP;
}

static inline enum decode_verdict decode_frame_cx(const struct frame *f, struct packet *pkt,
						   struct dctx *cx)
{
	const uint8_t *p = f->data;
	size_t len = f->caplen;
	uint32_t af;

	memset(pkt, 0, offsetof(struct packet, src));
	pkt->ts_us = f->ts_us;
	pkt->wirelen = f->wirelen;
	pkt->payload = NULL;
	pkt->payload_len = 0;
	pkt->ip_len = 0;
	cx->cut = 0;
	if (f->caplen < f->wirelen) {
		cx->counters[DC_CAPLEN_SHORT]++;
		cx->cut = f->wirelen - f->caplen;
	}

	switch (f->linktype) {
	case LINK_ETHERNET:
		return decode_ether(p, len, pkt, cx, 0);
	case LINK_RAW:
	case LINK_DLT_RAW:
	case LINK_DLT_RAW14:
	case LINK_IPV4:
	case LINK_IPV6:
		return decode_raw(p, len, pkt, cx);
	case LINK_LINUX_SLL:
		if (len < 16)
			BAD(DC_LINK_TRUNCATED);
		return decode_ethertype(load_be16(p + 14), p + 16, len - 16, pkt, cx, 0);
	case LINK_LINUX_SLL2:
		if (len < 20)
			BAD(DC_LINK_TRUNCATED);
		return decode_ethertype(load_be16(p), p + 20, len - 20, pkt, cx, 0);
	case LINK_NULL:
	case LINK_LOOP:
		if (len < 4)
			BAD(DC_LINK_TRUNCATED);
		/* NULL stores the family in the capturing host's byte order,
		 * LOOP in network order; the values are small, so take the
		 * non-zero end. */
		af = load_be32(p);
		if ((af & 0xffff) == 0)
			af >>= 24;
		if (af == 2)
			return decode_ipv4(p + 4, len - 4, pkt, cx);
		if (af == 24 || af == 28 || af == 30 || af == 10)
			return decode_ipv6(p + 4, len - 4, pkt, cx);
		cx->counters[DC_NOT_IP]++;
		return DECODE_SKIP;
	default:
		BAD(DC_LINK_UNSUPPORTED);
	}
}

enum decode_verdict decode_frame(const struct frame *f, struct packet *pkt, uint64_t *counters)
{
	struct dctx cx = {counters, NULL, 0};

	return decode_frame_cx(f, pkt, &cx);
}

enum decode_verdict decode_frame_scoped(const struct frame *f, struct packet *pkt,
					uint64_t *counters, const struct decode_scope *scope)
{
	struct dctx cx = {counters, scope, 0};

	return decode_frame_cx(f, pkt, &cx);
}
