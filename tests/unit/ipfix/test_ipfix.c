/* Unit tests for src/ipfix: a known flow byte by byte, templates, MTU
 * splitting, template refresh, sequence numbers, IPv6, VLAN, ICMP, the end
 * reasons, pseudonymization, and the exporter over loopback UDP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipfix/ipfix.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* 10.0.0.2:40000 (the initiator, key side 1) to 10.0.0.1:80, closed. */
static struct flow v4_flow(void)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	f.key.family = 4;
	f.key.proto = 6;
	f.key.addr[0][0] = 10, f.key.addr[0][3] = 1;
	f.key.addr[1][0] = 10, f.key.addr[1][3] = 2;
	f.key.port[0] = 80;
	f.key.port[1] = 40000;
	f.client = 1;
	f.state = FLOW_STATE_CLOSED;
	f.pkts[FLOW_TOSERVER] = 3;
	f.pkts[FLOW_TOCLIENT] = 2;
	/* Octets are IP octets: the frames' 14-byte Ethernet headers (EVE's
	 * bytes) must not reach the record. */
	f.bytes[FLOW_TOSERVER] = 180 + 3 * 14;
	f.bytes[FLOW_TOCLIENT] = 0x010203040506ULL + 2 * 14;
	f.ip_bytes[FLOW_TOSERVER] = 180;
	f.ip_bytes[FLOW_TOCLIENT] = 0x010203040506ULL;
	f.tcp_flags[FLOW_TOSERVER] = 0x1b; /* FIN SYN PSH ACK */
	f.tcp_flags[FLOW_TOCLIENT] = 0x12; /* SYN ACK */
	f.first_us = 1700000000123456ULL;
	f.last_us = 1700000000789999ULL;
	return f;
}

/* 2001:db8::1 (initiator, side 0) port 5353 to 2001:db8::2 port 53, UDP. */
static struct flow v6_flow(void)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	f.key.family = 6;
	f.key.proto = 17;
	f.key.addr[0][0] = 0x20, f.key.addr[0][1] = 0x01, f.key.addr[0][2] = 0x0d;
	f.key.addr[0][3] = 0xb8, f.key.addr[0][15] = 1;
	memcpy(f.key.addr[1], f.key.addr[0], 16);
	f.key.addr[1][15] = 2;
	f.key.port[0] = 5353;
	f.key.port[1] = 53;
	f.client = 0;
	f.pkts[FLOW_TOSERVER] = 1;
	f.pkts[FLOW_TOCLIENT] = 1;
	f.bytes[FLOW_TOSERVER] = 90 + 14;
	f.bytes[FLOW_TOCLIENT] = 150 + 14;
	f.ip_bytes[FLOW_TOSERVER] = 90;
	f.ip_bytes[FLOW_TOCLIENT] = 150;
	f.first_us = 1000;
	f.last_us = 2999;
	return f;
}

static struct ipfix_enc *enc(uint32_t mtu, uint32_t refresh_s, uint32_t refresh_msgs)
{
	struct ipfix_config c;
	struct ipfix_enc *e;

	ipfix_config_defaults(&c);
	c.domain = 7;
	c.mtu = mtu;
	c.refresh_s = refresh_s;
	c.refresh_msgs = refresh_msgs;
	e = ipfix_enc_new(&c);
	assert_non_null(e);
	return e;
}

/* Walks a message: header fields, then sets that add up to its length.
 * Returns the data records found, given each template's record length;
 * *tmpl says whether a template set came along. */
static unsigned walk(const uint8_t *m, size_t n, uint32_t *seq, int *tmpl)
{
	size_t off = 16;
	unsigned records = 0;

	assert_true(n >= 16);
	assert_int_equal(get16(m), 10);
	assert_int_equal(get16(m + 2), n);
	assert_int_equal(get32(m + 12), 7);
	if (seq)
		*seq = get32(m + 8);
	*tmpl = 0;
	while (off < n) {
		uint16_t id = get16(m + off), len = get16(m + off + 2);
		assert_true(len >= 4 && off + len <= n);
		if (id == 2) {
			*tmpl = 1;
		} else {
			unsigned rl = id == IPFIX_TMPL_V4 ? 67 : id == IPFIX_TMPL_V6 ? 91
							: id == IPFIX_TMPL_V4_VLAN ? 71 : 95;
			assert_true(id >= 256 && id <= 259);
			assert_int_equal((len - 4) % rl, 0);
			records += (len - 4) / rl;
		}
		off += len;
	}
	assert_int_equal(off, n);
	return records;
}

static const uint8_t v4_template[] = {
	0x01, 0x00, 0x00, 0x10,             /* template 256, 16 fields */
	0x00, 0x98, 0x00, 0x08,             /* flowStartMilliseconds */
	0x00, 0x99, 0x00, 0x08,             /* flowEndMilliseconds */
	0x00, 0x08, 0x00, 0x04,             /* sourceIPv4Address */
	0x00, 0x0c, 0x00, 0x04,             /* destinationIPv4Address */
	0x00, 0x07, 0x00, 0x02,             /* sourceTransportPort */
	0x00, 0x0b, 0x00, 0x02,             /* destinationTransportPort */
	0x00, 0x20, 0x00, 0x02,             /* icmpTypeCodeIPv4 */
	0x00, 0x04, 0x00, 0x01,             /* protocolIdentifier */
	0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x72, 0x79, /* reverseTcpControlBits */
	0x00, 0x06, 0x00, 0x01,             /* tcpControlBits */
	0x00, 0x88, 0x00, 0x01,             /* flowEndReason */
	0x00, 0xef, 0x00, 0x01,             /* biflowDirection */
	0x00, 0x02, 0x00, 0x08,             /* packetDeltaCount */
	0x00, 0x01, 0x00, 0x08,             /* octetDeltaCount */
	0x80, 0x02, 0x00, 0x08, 0x00, 0x00, 0x72, 0x79, /* reversePacketDeltaCount */
	0x80, 0x01, 0x00, 0x08, 0x00, 0x00, 0x72, 0x79, /* reverseOctetDeltaCount */
};

static const uint8_t v4_record[] = {
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b, /* start 1700000000123 ms */
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x6b, 0x15, /* end 1700000000789 ms */
	10, 0, 0, 2,                                    /* source: the initiator */
	10, 0, 0, 1,
	0x9c, 0x40, 0x00, 0x50,                         /* 40000 -> 80 */
	0x00, 0x00,                                     /* not ICMP */
	6,
	0x12, 0x1b,                                     /* reverse, forward flags */
	3,                                              /* end of flow detected */
	1,                                              /* initiator */
	0, 0, 0, 0, 0, 0, 0, 3,
	0, 0, 0, 0, 0, 0, 0, 180,
	0, 0, 0, 0, 0, 0, 0, 2,
	0, 0, 1, 2, 3, 4, 5, 6,
};

static void test_known_flow_bytes(void **state)
{
	struct ipfix_enc *e = enc(IPFIX_DEFAULT_MTU, 60, 0);
	struct flow f = v4_flow();
	const uint8_t *m;
	size_t n;

	(void)state;
	assert_int_equal(sizeof(v4_record), 67);
	assert_int_equal(ipfix_enc_take(e, 1, &m), 0);
	assert_null(m);
	assert_int_equal(ipfix_enc_add(e, &f, FLOW_END_CLOSED, 1234567890), 0);
	assert_int_equal(ipfix_enc_pending(e), 1);
	n = ipfix_enc_take(e, 0x11223344, &m);
	assert_int_equal(n, 16 + 340 + 4 + 67);
	/* Header: version 10, length, export time, sequence 0, domain 7. */
	static const uint8_t hdr[] = {0, 10, 0x01, 0xab, 0x11, 0x22, 0x33, 0x44,
				      0, 0,  0,    0,    0,    0,    0,    7};
	assert_memory_equal(m, hdr, 16);
	/* Template set (id 2) of 340 bytes: 256 first, then 257, 258, 259. */
	assert_int_equal(get16(m + 16), 2);
	assert_int_equal(get16(m + 18), 340);
	assert_memory_equal(m + 20, v4_template, sizeof(v4_template));
	assert_int_equal(get16(m + 20 + 80), IPFIX_TMPL_V6);
	assert_int_equal(get16(m + 20 + 80 + 2), 16);
	assert_int_equal(get16(m + 20 + 80 + 4 + 8), 27); /* sourceIPv6Address */
	assert_int_equal(get16(m + 20 + 80 + 4 + 8 + 2), 16);
	assert_int_equal(get16(m + 20 + 160), IPFIX_TMPL_V4_VLAN);
	assert_int_equal(get16(m + 20 + 160 + 2), 18);
	/* The last two fields of 258: vlanId, dot1qCustomerVlanId. */
	assert_int_equal(get16(m + 20 + 248 - 8), 58);
	assert_int_equal(get16(m + 20 + 248 - 4), 245);
	assert_int_equal(get16(m + 20 + 248), IPFIX_TMPL_V6_VLAN);
	/* Data set 256 of one record. */
	assert_int_equal(get16(m + 356), 256);
	assert_int_equal(get16(m + 358), 71);
	assert_memory_equal(m + 360, v4_record, sizeof(v4_record));
	ipfix_enc_free(e);
}

static void test_mtu_split(void **state)
{
	struct ipfix_enc *e = enc(IPFIX_MIN_MTU, 0, 0);
	struct flow f = v4_flow();
	const uint8_t *m;
	unsigned counts[8], total = 0, k = 0;
	uint32_t seq;
	int tmpl;
	size_t n;

	(void)state;
	/* 100 records through messages of 512 bytes: 2 beside the templates,
	 * then 7 a message ((512 - 20) / 67). */
	for (int i = 0; i < 30; i++) {
		int r = ipfix_enc_add(e, &f, FLOW_END_TIMEOUT, 5);
		if (r == IPFIX_FULL) {
			n = ipfix_enc_take(e, 5, &m);
			assert_true(n <= IPFIX_MIN_MTU);
			counts[k] = walk(m, n, &seq, &tmpl);
			assert_int_equal(seq, total);
			assert_int_equal(tmpl, k == 0);
			total += counts[k++];
			assert_int_equal(ipfix_enc_add(e, &f, FLOW_END_TIMEOUT, 5), 0);
		} else {
			assert_int_equal(r, 0);
		}
	}
	n = ipfix_enc_take(e, 5, &m);
	counts[k] = walk(m, n, &seq, &tmpl);
	total += counts[k++];
	assert_int_equal(total, 30);
	assert_int_equal(counts[0], 2);
	assert_int_equal(counts[1], 7);
	assert_int_equal(counts[2], 7);
	assert_int_equal(counts[3], 7);
	assert_int_equal(counts[4], 7);
	assert_int_equal(k, 5);
	assert_int_equal(ipfix_enc_stats(e)->records, 30);
	assert_int_equal(ipfix_enc_stats(e)->messages, 5);
	assert_int_equal(ipfix_enc_stats(e)->templates, 1);
	ipfix_enc_free(e);

	/* The default MTU: 20 records after the templates, 20 without. */
	e = enc(IPFIX_DEFAULT_MTU, 0, 0);
	for (k = 0; ipfix_enc_add(e, &f, FLOW_END_TIMEOUT, 5) == 0; k++)
		;
	assert_int_equal(k, (1400 - 16 - 340 - 4) / 67);
	n = ipfix_enc_take(e, 5, &m);
	assert_true(n <= 1400);
	for (k = 0; ipfix_enc_add(e, &f, FLOW_END_TIMEOUT, 5) == 0; k++)
		;
	assert_int_equal(k, (1400 - 20) / 67);
	ipfix_enc_free(e);
}

static void test_mtu_limits(void **state)
{
	struct ipfix_config c;

	(void)state;
	ipfix_config_defaults(&c);
	assert_int_equal(c.mtu, 1400);
	c.mtu = IPFIX_MIN_MTU - 1;
	assert_null(ipfix_enc_new(&c));
	c.mtu = IPFIX_MAX_MTU + 1;
	assert_null(ipfix_enc_new(&c));
}

/* One record a message; returns whether message i carried the templates. */
static int one_message(struct ipfix_enc *e, uint32_t now)
{
	struct flow f = v4_flow();
	const uint8_t *m;
	int tmpl;
	size_t n;

	assert_int_equal(ipfix_enc_add(e, &f, FLOW_END_TIMEOUT, now), 0);
	n = ipfix_enc_take(e, now, &m);
	assert_int_equal(walk(m, n, NULL, &tmpl), 1);
	return tmpl;
}

static void test_template_refresh(void **state)
{
	struct ipfix_enc *e;

	(void)state;
	/* Every 3 messages. */
	e = enc(IPFIX_DEFAULT_MTU, 0, 3);
	for (int i = 0; i < 10; i++)
		assert_int_equal(one_message(e, 100), i % 3 == 0);
	ipfix_enc_free(e);
	/* Every 10 seconds of export time. */
	e = enc(IPFIX_DEFAULT_MTU, 10, 0);
	assert_true(one_message(e, 100));
	assert_false(one_message(e, 105));
	assert_false(one_message(e, 109));
	assert_true(one_message(e, 110));
	assert_false(one_message(e, 119));
	assert_true(one_message(e, 125));
	assert_true(one_message(e, 50)); /* the clock stepped back */
	ipfix_enc_free(e);
	/* Neither: the templates once. */
	e = enc(IPFIX_DEFAULT_MTU, 0, 0);
	assert_true(one_message(e, 100));
	for (int i = 0; i < 200; i++)
		assert_false(one_message(e, 100 + (uint32_t)i * 1000));
	ipfix_enc_free(e);
	/* Both: whichever comes first. */
	e = enc(IPFIX_DEFAULT_MTU, 60, 2);
	assert_true(one_message(e, 100));
	assert_false(one_message(e, 101));
	assert_true(one_message(e, 102));
	ipfix_enc_free(e);
}

static void test_sequence_numbers(void **state)
{
	struct ipfix_enc *e = enc(IPFIX_DEFAULT_MTU, 0, 0);
	struct flow f = v4_flow();
	const uint8_t *m;
	unsigned sizes[] = {3, 1, 5, 2};
	uint32_t expect = 0, seq;
	int tmpl;
	size_t n;

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		for (unsigned j = 0; j < sizes[i]; j++)
			assert_int_equal(ipfix_enc_add(e, &f, FLOW_END_TIMEOUT, 1), 0);
		n = ipfix_enc_take(e, 1, &m);
		assert_int_equal(walk(m, n, &seq, &tmpl), sizes[i]);
		assert_int_equal(seq, expect);
		expect += sizes[i];
	}
	/* Templates alone never count; an empty take sends nothing. */
	assert_int_equal(ipfix_enc_take(e, 1, &m), 0);
	assert_int_equal(ipfix_enc_add(e, &f, FLOW_END_TIMEOUT, 1), 0);
	n = ipfix_enc_take(e, 1, &m);
	assert_int_equal(get32(m + 8), 11);
	ipfix_enc_free(e);
}

static void test_ipv6_and_mixed_sets(void **state)
{
	struct ipfix_enc *e = enc(IPFIX_DEFAULT_MTU, 0, 0);
	struct flow f6 = v6_flow(), f4 = v4_flow();
	const uint8_t *m, *r;
	int tmpl;
	size_t n;

	(void)state;
	assert_int_equal(ipfix_enc_add(e, &f6, FLOW_END_TIMEOUT, 1), 0);
	assert_int_equal(ipfix_enc_add(e, &f6, FLOW_END_SHUTDOWN, 1), 0);
	assert_int_equal(ipfix_enc_add(e, &f4, FLOW_END_TIMEOUT, 1), 0);
	assert_int_equal(ipfix_enc_add(e, &f6, FLOW_END_EVICTED, 1), 0);
	n = ipfix_enc_take(e, 1, &m);
	assert_int_equal(walk(m, n, NULL, &tmpl), 4);
	/* Sets: templates, 257 x2, 256 x1, 257 x1. */
	assert_int_equal(n, 16 + 340 + (4 + 2 * 91) + (4 + 67) + (4 + 91));
	r = m + 356;
	assert_int_equal(get16(r), IPFIX_TMPL_V6);
	assert_int_equal(get16(r + 2), 4 + 2 * 91);
	r += 4;
	static const uint8_t v6_record[] = {
		0, 0, 0, 0, 0, 0, 0, 1, /* start: 1000 us */
		0, 0, 0, 0, 0, 0, 0, 2, /* end: 2999 us, truncated to ms */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
		0x14, 0xe9, 0x00, 0x35, /* 5353 -> 53 */
		0, 0,                   /* icmpTypeCodeIPv6 */
		17, 0, 0,
		1, /* idle timeout */
		1,
		0, 0, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 0, 90,
		0, 0, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 0, 150,
	};
	assert_int_equal(sizeof(v6_record), 91);
	assert_memory_equal(r, v6_record, 91);
	assert_int_equal(r[91 + 8 + 8 + 32 + 4 + 2 + 3], 4); /* shutdown: forced end */
	r += 2 * 91;
	assert_int_equal(get16(r), IPFIX_TMPL_V4);
	assert_int_equal(get16(r + 2), 71);
	r += 71;
	assert_int_equal(get16(r), IPFIX_TMPL_V6);
	assert_int_equal(r[4 + 8 + 8 + 32 + 4 + 2 + 3], 5); /* evicted: lack of resources */
	ipfix_enc_free(e);
}

static void test_vlan(void **state)
{
	struct ipfix_enc *e = enc(IPFIX_DEFAULT_MTU, 0, 0);
	struct flow f = v4_flow(), g = v6_flow();
	const uint8_t *m, *r;
	int tmpl;
	size_t n;

	(void)state;
	f.key.vlan[0] = 100;
	g.key.vlan[0] = 200;
	g.key.vlan[1] = 4094;
	assert_int_equal(ipfix_enc_add(e, &f, FLOW_END_TIMEOUT, 1), 0);
	assert_int_equal(ipfix_enc_add(e, &g, FLOW_END_TIMEOUT, 1), 0);
	n = ipfix_enc_take(e, 1, &m);
	assert_int_equal(walk(m, n, NULL, &tmpl), 2);
	r = m + 356;
	assert_int_equal(get16(r), IPFIX_TMPL_V4_VLAN);
	assert_int_equal(get16(r + 2), 4 + 71);
	assert_memory_equal(r + 4, v4_record, 67); /* same fields, tags after */
	assert_int_equal(get16(r + 4 + 67), 100);
	assert_int_equal(get16(r + 4 + 69), 0);
	r += 4 + 71;
	assert_int_equal(get16(r), IPFIX_TMPL_V6_VLAN);
	assert_int_equal(get16(r + 4 + 91), 200);
	assert_int_equal(get16(r + 4 + 93), 4094);
	ipfix_enc_free(e);
}

static void test_icmp(void **state)
{
	struct ipfix_enc *e = enc(IPFIX_DEFAULT_MTU, 0, 0);
	struct flow f = v4_flow();
	const uint8_t *m, *r;
	size_t n;

	(void)state;
	f.key.proto = 1;
	f.key.port[0] = 8; /* Community ID's mapping: not exported as ports */
	f.key.port[1] = 0;
	f.icmp_type = 8;
	f.icmp_code = 0;
	f.tcp_flags[0] = f.tcp_flags[1] = 0;
	assert_int_equal(ipfix_enc_add(e, &f, FLOW_END_TIMEOUT, 1), 0);
	n = ipfix_enc_take(e, 1, &m);
	assert_int_equal(n, 427);
	r = m + 360 + 16 + 8;
	assert_int_equal(get16(r), 0);
	assert_int_equal(get16(r + 2), 0);
	assert_int_equal(get16(r + 4), 0x0800); /* echo request */
	assert_int_equal(r[6], 1);
	ipfix_enc_free(e);
}

static void test_end_reasons(void **state)
{
	(void)state;
	assert_int_equal(ipfix_end_reason(FLOW_END_TIMEOUT, FLOW_STATE_ESTABLISHED), 1);
	assert_int_equal(ipfix_end_reason(FLOW_END_TIMEOUT, FLOW_STATE_CLOSED), 3);
	assert_int_equal(ipfix_end_reason(FLOW_END_ACTIVE_TIMEOUT, FLOW_STATE_NEW), 2);
	assert_int_equal(ipfix_end_reason(FLOW_END_CLOSED, FLOW_STATE_CLOSED), 3);
	assert_int_equal(ipfix_end_reason(FLOW_END_SHUTDOWN, FLOW_STATE_NEW), 4);
	assert_int_equal(ipfix_end_reason(FLOW_END_EVICTED, FLOW_STATE_NEW), 5);
}

static int zero_last_byte(void *ctx, struct ip_addr *a)
{
	(*(int *)ctx)++;
	a->a[a->family == 4 ? 3 : 15] = 0;
	return 0;
}

static void test_protect(void **state)
{
	struct ipfix_enc *e = enc(IPFIX_DEFAULT_MTU, 0, 0);
	struct flow f = v4_flow();
	const uint8_t *m;
	int calls = 0;

	(void)state;
	ipfix_enc_set_protect(e, zero_last_byte, &calls);
	assert_int_equal(ipfix_enc_add(e, &f, FLOW_END_TIMEOUT, 1), 0);
	assert_int_equal(ipfix_enc_take(e, 1, &m), 427);
	assert_int_equal(calls, 2);
	static const uint8_t addrs[] = {10, 0, 0, 0, 10, 0, 0, 0};
	assert_memory_equal(m + 360 + 16, addrs, 8);
	ipfix_enc_free(e);
}

static void test_exporter_udp(void **state)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct ipfix_config c;
	struct ipfix_exporter *x;
	struct ipfix_stats st;
	struct flow f = v4_flow();
	char dest[64], err[256];
	uint8_t buf[2048];
	int fd, tmpl;
	ssize_t n;

	(void)state;
	ipfix_config_defaults(&c);
	c.domain = 7;
	assert_int_equal(ipfix_exporter_open("127.0.0.1", &c, &x, err, sizeof(err)), YG_EINVAL);
	assert_int_equal(ipfix_exporter_open("::1:4739", &c, &x, err, sizeof(err)), YG_EINVAL);
	assert_int_equal(ipfix_exporter_open("127.0.0.1:0", &c, &x, err, sizeof(err)), YG_EINVAL);
	assert_int_equal(ipfix_exporter_open("127.0.0.1:70000", &c, &x, err, sizeof(err)),
			 YG_EINVAL);
	assert_int_equal(ipfix_exporter_open("[::1:4739", &c, &x, err, sizeof(err)), YG_EINVAL);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(dest, sizeof(dest), "127.0.0.1:%u", ntohs(sin.sin_port));
	assert_int_equal(ipfix_exporter_open(dest, &c, &x, err, sizeof(err)), 0);
	for (int i = 0; i < 45; i++) /* 15 beside the templates, 20, 10 */
		ipfix_exporter_flow(x, &f, FLOW_END_TIMEOUT);
	ipfix_exporter_flush(x);
	ipfix_exporter_stats(x, &st);
	assert_int_equal(st.records, 45);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.send_errors, 0);
	for (int i = 0; i < 3; i++) {
		n = recv(fd, buf, sizeof(buf), 0);
		assert_true(n > 0 && n <= 1400);
		assert_int_equal(walk(buf, (size_t)n, NULL, &tmpl), i == 0 ? 15 : i == 1 ? 20 : 10);
		assert_int_equal(tmpl, i == 0);
	}
	ipfix_exporter_free(x);
	close(fd);

	/* To an IPv6 address in brackets, where the host has ::1. */
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd >= 0) {
		struct sockaddr_in6 s6;
		socklen_t l6 = sizeof(s6);
		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_addr = in6addr_loopback;
		if (bind(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0 &&
		    getsockname(fd, (struct sockaddr *)&s6, &l6) == 0) {
			snprintf(dest, sizeof(dest), "[::1]:%u", ntohs(s6.sin6_port));
			assert_int_equal(ipfix_exporter_open(dest, &c, &x, err, sizeof(err)), 0);
			ipfix_exporter_flow(x, &f, FLOW_END_TIMEOUT);
			ipfix_exporter_free(x); /* sends what waits */
			n = recv(fd, buf, sizeof(buf), 0);
			assert_int_equal(n, 427);
		} else {
			print_message("no ::1 here: the IPv6 destination is not tried\n");
		}
		close(fd);
	}

	/* Nobody listening: refused sends are counted, not fatal. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	close(fd); /* the port is now most likely closed */
	assert_int_equal(ipfix_exporter_open(dest, &c, &x, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++) {
		ipfix_exporter_flow(x, &f, FLOW_END_TIMEOUT);
		ipfix_exporter_flush(x);
		usleep(10000);
	}
	ipfix_exporter_stats(x, &st);
	assert_int_equal(st.messages, 3);
	assert_true(st.send_errors >= 1); /* ICMP port unreachable comes back */
	assert_int_equal(st.records_lost, st.send_errors);
	ipfix_exporter_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_flow_bytes),
		cmocka_unit_test(test_mtu_split),
		cmocka_unit_test(test_mtu_limits),
		cmocka_unit_test(test_template_refresh),
		cmocka_unit_test(test_sequence_numbers),
		cmocka_unit_test(test_ipv6_and_mixed_sets),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_end_reasons),
		cmocka_unit_test(test_protect),
		cmocka_unit_test(test_exporter_udp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
