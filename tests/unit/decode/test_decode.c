/* Unit tests for src/decode/decode.c: every link type, IPv4/IPv6 corner
 * cases, and truncation at every length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		assert_true(n < cap);
		unsigned v;
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

#define ETH "000000000002 000000000001"
/* IPv4 192.168.0.1 -> 192.168.0.2, TCP 12345 -> 80 SYN, 4 payload bytes. */
#define IP4_TCP "4500002c 0001 4000 4006 0000 c0a80001 c0a80002"
#define TCPSYN_HEX "3039 0050 00000001 00000000 5002 ffff 0000 0000 41424344"

struct sample {
	const char *name;
	int linktype;
	const char *hex;
};

static enum decode_verdict run(int linktype, const char *hex, struct packet *pkt, uint64_t *ctr)
{
	static uint8_t buf[2048];
	struct frame f;

	memset(ctr, 0, sizeof(uint64_t) * DC_MAX);
	f.data = buf;
	f.caplen = f.wirelen = (uint32_t)unhex(hex, buf, sizeof(buf));
	f.ts_us = 42;
	f.linktype = linktype;
	return decode_frame(&f, pkt, ctr);
}

static void assert_v4_tcp(const struct packet *pkt)
{
	assert_int_equal(pkt->src.family, 4);
	assert_memory_equal(pkt->src.a, "\xc0\xa8\x00\x01", 4);
	assert_memory_equal(pkt->dst.a, "\xc0\xa8\x00\x02", 4);
	assert_int_equal(pkt->ip_proto, 6);
	assert_int_equal(pkt->sport, 12345);
	assert_int_equal(pkt->dport, 80);
	assert_int_equal(pkt->tcp_flags, TCP_SYN);
	assert_int_equal(pkt->payload_len, 4);
	assert_memory_equal(pkt->payload, "ABCD", 4);
	assert_int_equal(pkt->ts_us, 42);
}

static void test_link_types(void **state)
{
	static const struct sample s[] = {
		{"ethernet", LINK_ETHERNET, ETH "0800" IP4_TCP TCPSYN_HEX},
		{"sll", LINK_LINUX_SLL, "0000 0001 0006 000000000001 0000 0800" IP4_TCP TCPSYN_HEX},
		{"sll2", LINK_LINUX_SLL2, "0800 0000 00000002 0001 00 06 000000000001 0000"
					  IP4_TCP TCPSYN_HEX},
		{"null-le", LINK_NULL, "02000000" IP4_TCP TCPSYN_HEX},
		{"loop-be", LINK_LOOP, "00000002" IP4_TCP TCPSYN_HEX},
		{"raw", LINK_RAW, IP4_TCP TCPSYN_HEX},
		{"ipv4", LINK_IPV4, IP4_TCP TCPSYN_HEX},
		{"pppoe", LINK_ETHERNET, ETH "8864 1100 0001 002e 0021" IP4_TCP TCPSYN_HEX},
	};
	struct packet pkt;
	uint64_t ctr[DC_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		assert_int_equal(run(s[i].linktype, s[i].hex, &pkt, ctr), DECODE_OK);
		assert_v4_tcp(&pkt);
	}
}

static void test_vlan_qinq(void **state)
{
	struct packet pkt;
	uint64_t ctr[DC_MAX];

	(void)state;
	assert_int_equal(run(LINK_ETHERNET, ETH "88a8 0064 8100 20c8 0800" IP4_TCP TCPSYN_HEX, &pkt,
			     ctr),
			 DECODE_OK);
	assert_v4_tcp(&pkt);
	assert_int_equal(pkt.vlan_n, 2);
	assert_int_equal(pkt.vlan[0], 100);
	assert_int_equal(pkt.vlan[1], 200); /* priority bits masked off */
	assert_int_equal(run(LINK_ETHERNET, ETH "8100 0001 8100 0002 8100 0003 0800" IP4_TCP TCPSYN_HEX,
			     &pkt, ctr),
			 DECODE_BAD);
	assert_int_equal(ctr[DC_VLAN_TOO_DEEP], 1);
}

static void test_mpls_pseudowire(void **state)
{
	struct packet pkt;
	uint64_t ctr[DC_MAX];

	(void)state;
	/* Two labels, control word, inner Ethernet with a VLAN tag. */
	assert_int_equal(run(LINK_ETHERNET, ETH "8847 00010040 00020140 00000000" ETH
					    "8100 0007 0800" IP4_TCP TCPSYN_HEX,
			     &pkt, ctr),
			 DECODE_OK);
	assert_v4_tcp(&pkt);
	assert_int_equal(pkt.vlan[0], 7);
	/* Label stack that never ends. */
	assert_int_equal(run(LINK_ETHERNET, ETH "8847 00010040 00020040", &pkt, ctr), DECODE_BAD);
	assert_int_equal(ctr[DC_MPLS_TRUNCATED], 1);
}

static void test_ipv4_padding_options_fragments(void **state)
{
	struct packet pkt;
	uint64_t ctr[DC_MAX];

	(void)state;
	/* Ethernet padding after the datagram is not payload. */
	assert_int_equal(run(LINK_ETHERNET, ETH "0800" IP4_TCP TCPSYN_HEX "000000000000", &pkt, ctr),
			 DECODE_OK);
	assert_int_equal(pkt.payload_len, 4);
	/* Options: header length 24. */
	assert_int_equal(run(LINK_RAW, "46000030 0001 4000 4006 0000 c0a80001 c0a80002 01010100"
				       TCPSYN_HEX,
			     &pkt, ctr),
			 DECODE_OK);
	assert_v4_tcp(&pkt);
	assert_int_equal(ctr[DC_IPV4_OPTIONS], 1);
	/* First fragment (MF set, offset 0) keeps its ports. */
	assert_int_equal(run(LINK_RAW, "4500002c 0001 2000 4006 0000 c0a80001 c0a80002" TCPSYN_HEX,
			     &pkt, ctr),
			 DECODE_OK);
	assert_true(pkt.flags & PKT_FRAGMENT);
	assert_int_equal(pkt.dport, 80);
	assert_int_equal(ctr[DC_IPV4_FRAG_FIRST], 1);
	/* Later fragment: counted, no flow. */
	assert_int_equal(run(LINK_RAW, "4500002c 0001 0003 4006 0000 c0a80001 c0a80002" TCPSYN_HEX,
			     &pkt, ctr),
			 DECODE_SKIP);
	assert_int_equal(ctr[DC_IPV4_FRAG_LATER], 1);
	/* Total length shorter than the header. */
	assert_int_equal(run(LINK_RAW, "45000010 0001 4000 4006 0000 c0a80001 c0a80002", &pkt, ctr),
			 DECODE_BAD);
	assert_int_equal(ctr[DC_IPV4_BAD_LEN], 1);
	/* Header length below 20. */
	assert_int_equal(run(LINK_RAW, "44000014 0001 4000 4006 0000 c0a80001 c0a80002", &pkt, ctr),
			 DECODE_BAD);
	assert_int_equal(ctr[DC_IPV4_BAD_HLEN], 1);
	/* TCP data offset below 5. */
	assert_int_equal(run(LINK_RAW, "45000028 0001 4000 4006 0000 c0a80001 c0a80002"
				       "3039 0050 00000001 00000000 4002 ffff 0000 0000",
			     &pkt, ctr),
			 DECODE_BAD);
	assert_int_equal(ctr[DC_TCP_BAD_HLEN], 1);
}

#define IP6_SRC "20010db8000000000000000000000001"
#define IP6_DST "20010db8000000000000000000000002"

static void test_ipv6_extension_headers(void **state)
{
	struct packet pkt;
	uint64_t ctr[DC_MAX];

	(void)state;
	/* Hop-by-hop (8) -> fragment, first (8) -> UDP 5353 -> 53 with 2 bytes. */
	assert_int_equal(run(LINK_IPV6, "60000000 0020 00 40" IP6_SRC IP6_DST
					"2c00 0000 00000000"
					"1100 0001 12345678"
					"14e9 0035 000a 0000 abcd",
			     &pkt, ctr),
			 DECODE_OK);
	assert_int_equal(pkt.src.family, 6);
	assert_int_equal(pkt.ip_proto, 17);
	assert_int_equal(pkt.sport, 5353);
	assert_int_equal(pkt.dport, 53);
	assert_int_equal(pkt.payload_len, 2);
	assert_true(pkt.flags & PKT_FRAGMENT);
	/* Later fragment. */
	assert_int_equal(run(LINK_IPV6, "60000000 0010 2c 40" IP6_SRC IP6_DST
					"1100 0009 12345678 0000000000000000",
			     &pkt, ctr),
			 DECODE_SKIP);
	assert_int_equal(ctr[DC_IPV6_FRAG_LATER], 1);
	/* Extension header longer than the packet. */
	assert_int_equal(run(LINK_IPV6, "60000000 0008 00 40" IP6_SRC IP6_DST "1105 0000 00000000",
			     &pkt, ctr),
			 DECODE_BAD);
	assert_int_equal(ctr[DC_IPV6_EXT_TRUNCATED], 1);
	/* Nine destination-options headers in a row. */
	assert_int_equal(run(LINK_IPV6, "60000000 0048 3c 40" IP6_SRC IP6_DST
					"3c00000000000000 3c00000000000000 3c00000000000000"
					"3c00000000000000 3c00000000000000 3c00000000000000"
					"3c00000000000000 3c00000000000000 1100000000000000",
			     &pkt, ctr),
			 DECODE_BAD);
	assert_int_equal(ctr[DC_IPV6_EXT_TOO_MANY], 1);
	/* BSD loopback with AF_INET6 = 30 (macOS) in host order. */
	assert_int_equal(run(LINK_NULL, "1e000000 60000000 0008 11 40" IP6_SRC IP6_DST
					"14e9 0035 0008 0000",
			     &pkt, ctr),
			 DECODE_OK);
	assert_int_equal(pkt.dport, 53);
}

/* A frame whose snap length kept only caplen of its bytes. */
static enum decode_verdict run_cut(int linktype, const char *hex, uint32_t caplen,
                                   struct packet *pkt, uint64_t *ctr)
{
	static uint8_t buf[2048];
	struct frame f;

	memset(ctr, 0, sizeof(uint64_t) * DC_MAX);
	f.data = buf;
	f.wirelen = (uint32_t)unhex(hex, buf, sizeof(buf));
	assert_true(caplen <= f.wirelen);
	f.caplen = caplen;
	f.ts_us = 42;
	f.linktype = linktype;
	return decode_frame(&f, pkt, ctr);
}

/* ip_len is what IPFIX exports as octets: the IP header's length field,
 * never the frame's link header, padding or snap length. */
static void test_ip_length(void **state)
{
	struct packet pkt;
	uint64_t ctr[DC_MAX];

	(void)state;
	/* A 60-byte Ethernet frame (the minimum) carrying a 40-byte SYN:
	 * 6 bytes of padding. */
	assert_int_equal(run(LINK_ETHERNET,
	                     ETH "0800 45000028 0001 4000 4006 0000 c0a80001 c0a80002"
	                         "3039 0050 00000001 00000000 5002 ffff 0000 0000"
	                         "000000000000",
	                     &pkt, ctr),
	                 DECODE_OK);
	assert_int_equal(pkt.wirelen, 60);
	assert_int_equal(pkt.ip_len, 40);
	assert_int_equal(pkt.payload_len, 0);
	/* Link headers do not count: Ethernet, Q-in-Q, MPLS pseudowire, SLL2. */
	assert_int_equal(run(LINK_ETHERNET, ETH "0800" IP4_TCP TCPSYN_HEX, &pkt, ctr), DECODE_OK);
	assert_int_equal(pkt.ip_len, 44);
	assert_int_equal(
	    run(LINK_ETHERNET, ETH "88a8 0064 8100 00c8 0800" IP4_TCP TCPSYN_HEX, &pkt, ctr),
	    DECODE_OK);
	assert_int_equal(pkt.ip_len, 44);
	assert_int_equal(run(LINK_ETHERNET,
	                     ETH "8847 00010140 00000000" ETH "0800" IP4_TCP TCPSYN_HEX, &pkt, ctr),
	                 DECODE_OK);
	assert_int_equal(pkt.ip_len, 44);
	assert_int_equal(run(LINK_LINUX_SLL2,
	                     "0800 0000 00000002 0001 00 06 000000000001 0000" IP4_TCP TCPSYN_HEX,
	                     &pkt, ctr),
	                 DECODE_OK);
	assert_int_equal(pkt.ip_len, 44);
	/* IPv6 over Ethernet: 40 + payload length 8. */
	assert_int_equal(run(LINK_ETHERNET,
	                     ETH "86dd 60000000 0008 11 40" IP6_SRC IP6_DST "14e9 0035 0008 0000",
	                     &pkt, ctr),
	                 DECODE_OK);
	assert_int_equal(pkt.wirelen, 14 + 48);
	assert_int_equal(pkt.ip_len, 48);
	/* IPv6 with extension headers: they are part of the payload length. */
	assert_int_equal(run(LINK_IPV6,
	                     "60000000 0020 00 40" IP6_SRC IP6_DST
	                     "2c00 0000 00000000 1100 0001 12345678"
	                     "14e9 0035 000a 0000 abcd",
	                     &pkt, ctr),
	                 DECODE_OK);
	assert_int_equal(pkt.ip_len, 72);
	/* Cut by the snap length after the TCP header: the header's length
	 * counts, as nfdump and softflowd count the packet's original size. */
	assert_int_equal(run_cut(LINK_ETHERNET, ETH "0800" IP4_TCP TCPSYN_HEX, 14 + 40, &pkt, ctr),
	                 DECODE_OK);
	assert_int_equal(ctr[DC_CAPLEN_SHORT], 1);
	assert_int_equal(pkt.payload_len, 0);
	assert_int_equal(pkt.ip_len, 44);
	assert_int_equal(run_cut(LINK_ETHERNET,
	                         ETH "86dd 60000000 0010 11 40" IP6_SRC IP6_DST
	                             "14e9 0035 0010 0000 0102030405060708",
	                         14 + 48, &pkt, ctr),
	                 DECODE_OK);
	assert_int_equal(pkt.ip_len, 56);
	/* Total length 0 (segmentation offload): what the frame carries past
	 * its link header on the wire, cut or not. */
	assert_int_equal(run(LINK_ETHERNET,
	                     ETH "0800 45000000 0001 4000 4006 0000 c0a80001 c0a80002" TCPSYN_HEX,
	                     &pkt, ctr),
	                 DECODE_OK);
	assert_int_equal(pkt.ip_len, 44);
	assert_int_equal(run_cut(LINK_ETHERNET,
	                         ETH "0800 45000000 0001 4000 4006 0000 c0a80001"
	                             "c0a80002" TCPSYN_HEX,
	                         14 + 40, &pkt, ctr),
	                 DECODE_OK);
	assert_int_equal(pkt.ip_len, 44);
	/* Not IP: no length. */
	pkt.ip_len = 99;
	assert_int_equal(run(LINK_ETHERNET, ETH "0806 0001 0800 0604 0001", &pkt, ctr),
	                 DECODE_SKIP);
	assert_int_equal(pkt.ip_len, 0);
}

static void test_icmp_mapping(void **state)
{
	struct packet pkt;
	uint64_t ctr[DC_MAX];

	(void)state;
	assert_int_equal(run(LINK_RAW, "45000020 0001 0000 4001 0000 01020304 05060708"
				       "0800 0000 0001 0001 00000000",
			     &pkt, ctr),
			 DECODE_OK);
	assert_true(pkt.flags & PKT_ICMP);
	assert_int_equal(pkt.sport, 8);
	assert_int_equal(pkt.dport, 0);
	assert_int_equal(run(LINK_RAW, "45000020 0001 0000 4001 0000 05060708 01020304"
				       "0000 0000 0001 0001 00000000",
			     &pkt, ctr),
			 DECODE_OK);
	assert_int_equal(pkt.sport, 0);
	assert_int_equal(pkt.dport, 8);
	/* Destination unreachable, port unreachable: one way, code as port. */
	assert_int_equal(run(LINK_RAW, "45000020 0001 0000 4001 0000 05060708 01020304"
				       "0303 0000 0000 0000 00000000",
			     &pkt, ctr),
			 DECODE_OK);
	assert_int_equal(pkt.sport, 3);
	assert_int_equal(pkt.dport, 3);
	assert_int_equal(pkt.icmp_type, 3);
	assert_int_equal(pkt.icmp_code, 3);
	/* Other protocol (GRE, 47): a flow without ports. */
	assert_int_equal(run(LINK_RAW, "45000018 0001 0000 402f 0000 05060708 01020304 00000800",
			     &pkt, ctr),
			 DECODE_OK);
	assert_int_equal(pkt.ip_proto, 47);
	assert_int_equal(pkt.flags & (PKT_HAS_PORTS | PKT_ICMP), 0);
}

static void test_not_ip_and_unsupported(void **state)
{
	struct packet pkt;
	uint64_t ctr[DC_MAX];

	(void)state;
	assert_int_equal(run(LINK_ETHERNET, ETH "0806 0001 0800 0604 0001", &pkt, ctr),
			 DECODE_SKIP);
	assert_int_equal(ctr[DC_NOT_IP], 1);
	assert_false(decode_counter_is_error(DC_NOT_IP));
	assert_int_equal(run(147, "00112233", &pkt, ctr), DECODE_BAD);
	assert_int_equal(ctr[DC_LINK_UNSUPPORTED], 1);
	assert_true(decode_counter_is_error(DC_LINK_UNSUPPORTED));
	assert_string_equal(decode_counter_name(DC_TCP_TRUNCATED), "tcp_truncated");
}

/* Every prefix of every sample decodes without reading past its end (the
 * bytes are copied into an exact-size allocation, so ASan sees overreads),
 * and a prefix that cuts a header is never DECODE_OK. */
static void test_truncation_at_every_length(void **state)
{
	static const struct sample s[] = {
		{"eth-tcp", LINK_ETHERNET, ETH "0800" IP4_TCP TCPSYN_HEX},
		{"qinq", LINK_ETHERNET, ETH "88a8 0064 8100 00c8 0800" IP4_TCP TCPSYN_HEX},
		{"mpls", LINK_ETHERNET, ETH "8847 00010140 00000000" ETH "0800" IP4_TCP TCPSYN_HEX},
		{"pppoe", LINK_ETHERNET, ETH "8864 1100 0001 002e 0021" IP4_TCP TCPSYN_HEX},
		{"sll2", LINK_LINUX_SLL2, "0800 0000 00000002 0001 00 06 000000000001 0000"
					  IP4_TCP TCPSYN_HEX},
		{"v6-ext", LINK_IPV6, "60000000 0020 00 40" IP6_SRC IP6_DST
				      "2c00 0000 00000000 1100 0001 12345678 14e9 0035 000a 0000 abcd"},
		{"icmp", LINK_RAW, "45000020 0001 0000 4001 0000 01020304 05060708 0800 0000 0001 0001"},
		{"sctp", LINK_RAW, "45000020 0001 0000 4084 0000 01020304 05060708"
				   "0b54 0d10 00000000 00000000"},
	};
	static uint8_t full[2048];
	uint64_t ctr[DC_MAX];
	struct packet pkt;
	struct frame f;

	(void)state;
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		size_t n = unhex(s[i].hex, full, sizeof(full));
		uint32_t ip_len;
		f.data = full;
		f.caplen = f.wirelen = (uint32_t)n;
		f.ts_us = 1;
		f.linktype = s[i].linktype;
		assert_int_equal(decode_frame(&f, &pkt, ctr), DECODE_OK);
		ip_len = pkt.ip_len;
		assert_true(ip_len > 0);
		for (size_t len = 0; len <= n; len++) {
			uint8_t *copy = malloc(len ? len : 1);
			memcpy(copy, full, len);
			memset(ctr, 0, sizeof(ctr));
			f.data = copy;
			f.caplen = (uint32_t)len;
			f.wirelen = (uint32_t)n;
			f.ts_us = 1;
			f.linktype = s[i].linktype;
			enum decode_verdict v = decode_frame(&f, &pkt, ctr);
			if (len == n)
				assert_int_equal(v, DECODE_OK);
			if (v == DECODE_OK && pkt.payload_len > 0)
				assert_true(pkt.payload + pkt.payload_len <= copy + len);
			if (v == DECODE_OK) /* the header's, however short the capture */
				assert_int_equal(pkt.ip_len, ip_len);
			if (len < n)
				assert_int_equal(ctr[DC_CAPLEN_SHORT], 1);
			free(copy);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_types),
		cmocka_unit_test(test_vlan_qinq),
		cmocka_unit_test(test_mpls_pseudowire),
		cmocka_unit_test(test_ipv4_padding_options_fragments),
		cmocka_unit_test(test_ipv6_extension_headers),
	    cmocka_unit_test(test_ip_length),
		cmocka_unit_test(test_icmp_mapping),
		cmocka_unit_test(test_not_ip_and_unsupported),
		cmocka_unit_test(test_truncation_at_every_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
