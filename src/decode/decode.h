/* decode.h - frame bytes to a packet view: link layer, IPv4/IPv6, transport.
 *
 * Pure: decode_frame() allocates nothing, does no I/O, and borrows the
 * frame's bytes. A frame that cannot be decoded is a counted event
 * (counters[DC_*]), never an error that stops the caller. */
#ifndef YAGURA_DECODE_DECODE_H
#define YAGURA_DECODE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "base/ipaddr.h"

/* Link types, as numbered by tcpdump.org (LINKTYPE_*). */
enum {
	LINK_NULL = 0,
	LINK_ETHERNET = 1,
	LINK_RAW = 101,
	LINK_LOOP = 108,
	LINK_LINUX_SLL = 113,
	LINK_IPV4 = 228,
	LINK_IPV6 = 229,
	LINK_LINUX_SLL2 = 276,
	LINK_DLT_RAW = 12, /* DLT_RAW on some BSDs; same as LINK_RAW */
	LINK_DLT_RAW14 = 14
};

/* A frame as capture hands it over. data is borrowed: valid until the next
 * capture call. */
struct frame {
	const uint8_t *data;
	uint32_t caplen;  /* bytes present in data */
	uint32_t wirelen; /* bytes the frame had on the wire */
	uint64_t ts_us;   /* microseconds since the epoch, UTC */
	int linktype;
};

/* Decode counters. Names (decode_counter_name) are stable: they appear in
 * the summary and in the stats output. */
enum decode_counter {
	DC_LINK_TRUNCATED,      /* frame shorter than its link header */
	DC_LINK_UNSUPPORTED,    /* link type yagura does not decode */
	DC_VLAN_TRUNCATED,
	DC_VLAN_TOO_DEEP,       /* more than two VLAN tags */
	DC_PPPOE_TRUNCATED,
	DC_MPLS_TRUNCATED,
	DC_ENCAP_TOO_DEEP,      /* Ethernet inside MPLS inside ... too many times */
	DC_NOT_IP,              /* ARP, LLDP, ...: not an error, not a flow */
	DC_IPV4_TRUNCATED,
	DC_IPV4_BAD_VERSION,
	DC_IPV4_BAD_HLEN,
	DC_IPV4_BAD_LEN,
	DC_IPV4_OPTIONS,        /* informational: header had options */
	DC_IPV4_FRAG_FIRST,     /* first fragment: becomes part of its flow */
	DC_IPV4_FRAG_LATER,     /* later fragment: counted, not in a flow */
	DC_IPV6_TRUNCATED,
	DC_IPV6_BAD_VERSION,
	DC_IPV6_EXT_TRUNCATED,
	DC_IPV6_EXT_TOO_MANY,
	DC_IPV6_FRAG_FIRST,
	DC_IPV6_FRAG_LATER,
	DC_TCP_TRUNCATED,
	DC_TCP_BAD_HLEN,
	DC_UDP_TRUNCATED,
	DC_ICMP_TRUNCATED,
	DC_ICMPV6_TRUNCATED,
	DC_SCTP_TRUNCATED,
	DC_CAPLEN_SHORT,        /* informational: frame was cut by the snap length */
	DC_UNAUTHORIZED,        /* IP packet outside every monitoring authorization */
	DC_MAX
};

/* Returns the stable name of a counter, e.g. "ipv4_truncated". */
const char *decode_counter_name(enum decode_counter c);

/* True for counters that record malformed input rather than information. */
int decode_counter_is_error(enum decode_counter c);

enum {
	PKT_HAS_PORTS = 1 << 0, /* sport/dport are meaningful */
	PKT_FRAGMENT = 1 << 1,  /* first fragment of a fragmented datagram */
	PKT_ICMP = 1 << 2       /* sport/dport hold the Community ID ICMP mapping */
};

/* TCP options a SYN carried, for fingerprinting scanners that build their
 * probes by hand (detect/scan.c): operating systems send MSS, window
 * scale, SACK-permitted and timestamps; nmap, masscan and zmap do not. */
enum {
	TCPO_MSS = 1 << 0,
	TCPO_WSCALE = 1 << 1,
	TCPO_SACKOK = 1 << 2,
	TCPO_TS = 1 << 3,
	TCPO_OTHER = 1 << 4, /* any other kind, NOP and EOL excepted */
	TCPO_BAD = 1 << 5    /* an option ran past the header */
};

/* TCP flag bits, as in the header. */
enum {
	TCP_FIN = 0x01,
	TCP_SYN = 0x02,
	TCP_RST = 0x04,
	TCP_PSH = 0x08,
	TCP_ACK = 0x10,
	TCP_URG = 0x20,
	TCP_ECE = 0x40,
	TCP_CWR = 0x80
};

/* A decoded packet. payload points into the frame and is only ever handed
 * to the metadata extractors, never stored. */
struct packet {
	uint64_t ts_us;
	uint32_t wirelen;
	uint16_t vlan[2];
	uint8_t vlan_n;
	uint8_t ip_proto;
	uint8_t flags;     /* PKT_* */
	uint8_t tcp_flags; /* TCP_* */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint16_t sport;
	uint16_t dport;
	uint16_t ip_id;      /* IPv4 identification; 0 for IPv6 */
	uint16_t tcp_window; /* TCP window field, unscaled */
	uint8_t tcp_opts;    /* SYN segments: TCPO_* options present; 0 otherwise */
	uint8_t pad_[3];
	uint16_t tcp_mss;    /* SYN segments: the MSS option's value, 0 if none */
	struct ip_addr src;
	struct ip_addr dst;
	const uint8_t *payload;
	uint32_t payload_len;
	/* The IP packet's length as its header states it (IPv4 total length,
	 * IPv6 40 + payload length): the packet's octets as RFC 7011 and
	 * NetFlow count them, without link header or Ethernet padding, and
	 * whole even when the snap length cut the frame. For a length field
	 * of 0 (IPv4 from segmentation offload, IPv6 jumbogram), the bytes
	 * from the IP header to the frame's end on the wire. Set for every
	 * DECODE_OK. */
	uint32_t ip_len;
};

enum decode_verdict {
	DECODE_OK = 0,   /* pkt describes an IP packet */
	DECODE_SKIP = 1, /* not IP, or a later fragment: counted, no flow */
	DECODE_BAD = 2,  /* malformed: counted */
	DECODE_UNAUTHORIZED = 3 /* outside the scope: counted, nothing past the
				   IP addresses was read */
};

/* Decodes one frame into pkt and bumps counters (an array of DC_MAX).
 * Thread-safe for distinct pkt and counters. */
enum decode_verdict decode_frame(const struct frame *f, struct packet *pkt, uint64_t *counters);

struct decode_scope;

/* decode_frame, but an IPv4 or IPv6 packet outside scope (see scope.h) is
 * counted (DC_UNAUTHORIZED) and returned as DECODE_UNAUTHORIZED right
 * after its addresses are read: its fragment fields, extension headers,
 * transport header and payload are never looked at. pkt then holds only
 * the link fields and the addresses. scope NULL admits everything, as
 * decode_frame. Thread-safe for distinct pkt and counters. */
enum decode_verdict decode_frame_scoped(const struct frame *f, struct packet *pkt,
					uint64_t *counters, const struct decode_scope *scope);

/* Community ID's mapping of ICMP (proto 1) and ICMPv6 (proto 58) type and
 * code to a port pair: requests and their replies map to mirrored pairs.
 * Sets *one_way when the type has no counterpart. */
void icmp_map_ports(uint8_t proto, uint8_t type, uint8_t code, uint16_t *sport,
		    uint16_t *dport, int *one_way);

#endif
