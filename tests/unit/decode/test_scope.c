/* Unit tests for src/decode/scope.c and decode_frame_scoped(): what a set
 * of monitoring authorizations admits, and that what it does not admit is
 * counted unauthorized before fragments, extension headers or ports are
 * looked at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "decode/decode.h"
#include "decode/scope.h"

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

static uint64_t ctr[DC_MAX];
static struct packet pkt;

static enum decode_verdict run(const struct decode_scope *sc, int linktype, const char *hex)
{
	static uint8_t buf[2048];
	struct frame f;

	memset(ctr, 0, sizeof(ctr));
	f.data = buf;
	f.caplen = f.wirelen = (uint32_t)unhex(hex, buf, sizeof(buf));
	f.ts_us = 42;
	f.linktype = linktype;
	return decode_frame_scoped(&f, &pkt, ctr, sc);
}

#define ETH "000000000002 000000000001"
#define TCPSYN_HEX "3039 0050 00000001 00000000 5002 ffff 0000 0000 41424344"
/* 192.0.2.10 -> 198.51.100.20, TCP. */
#define V4_A "4500002c 0001 4000 4006 0000 c000020a c6336414" TCPSYN_HEX
/* 203.0.113.5 -> 198.51.100.20, TCP. */
#define V4_B "4500002c 0001 4000 4006 0000 cb007105 c6336414" TCPSYN_HEX
/* 198.51.100.20 -> 192.0.2.10: the reply of A. */
#define V4_A_REPLY "4500002c 0001 4000 4006 0000 c6336414 c000020a" TCPSYN_HEX
/* 203.0.113.5 -> 198.51.100.20, a later fragment. */
#define V4_B_FRAG "4500002c 0001 0003 4006 0000 cb007105 c6336414" TCPSYN_HEX
#define IP6_IN "20010db8000000000000000000000001"
#define IP6_OUT "3fff0000000000000000000000000001"
#define IP6_OUT2 "3fff0000000000000000000000000002"
#define UDP6 "14e9 0035 000a 0000 abcd"

static struct decode_scope *prefix_scope(int64_t id, const char *const *pfx, const unsigned *bits,
					 size_t n)
{
	struct decode_scope *s = decode_scope_new();
	struct ip_addr a;

	assert_non_null(s);
	assert_int_equal(decode_scope_add_auth(s, id), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ipaddr_parse(pfx[i], &a), 0);
		assert_int_equal(decode_scope_add_prefix(s, &a, bits[i]), 0);
	}
	return s;
}

static void test_v4_src_or_dst(void **state)
{
	const char *p[] = {"192.0.2.0"};
	unsigned b[] = {24};
	struct decode_scope *s = prefix_scope(3, p, b, 1);

	(void)state;
	assert_int_equal(run(s, LINK_RAW, V4_A), DECODE_OK); /* source inside */
	assert_int_equal(pkt.dport, 80);
	assert_int_equal(run(s, LINK_RAW, V4_A_REPLY), DECODE_OK); /* destination inside */
	assert_int_equal(ctr[DC_UNAUTHORIZED], 0);
	assert_int_equal(run(s, LINK_RAW, V4_B), DECODE_UNAUTHORIZED);
	assert_int_equal(ctr[DC_UNAUTHORIZED], 1);
	/* Nothing past the addresses was read. */
	assert_int_equal(pkt.dport, 0);
	assert_int_equal(pkt.ip_proto, 0);
	assert_null(pkt.payload);
	/* No scope: everything, as decode_frame. */
	assert_int_equal(run(NULL, LINK_RAW, V4_B), DECODE_OK);
	assert_int_equal(decode_scope_count(s), 1);
	assert_int_equal(decode_scope_id(s, 0), 3);
	decode_scope_release(s);
}

static void test_host_bits_and_edges(void **state)
{
	/* Host bits are ignored; /32 and /0. */
	const char *p[] = {"192.0.2.77"};
	unsigned b[] = {24};
	struct decode_scope *s = prefix_scope(1, p, b, 1);
	const char *h[] = {"203.0.113.5"};
	unsigned hb[] = {32};
	struct decode_scope *host = prefix_scope(2, h, hb, 1);
	const char *all[] = {"0.0.0.0"};
	unsigned ab[] = {0};
	struct decode_scope *any4 = prefix_scope(3, all, ab, 1);
	struct ip_addr a;

	(void)state;
	assert_int_equal(run(s, LINK_RAW, V4_A), DECODE_OK);
	assert_int_equal(run(host, LINK_RAW, V4_B), DECODE_OK);
	assert_int_equal(run(host, LINK_RAW, V4_A), DECODE_UNAUTHORIZED);
	assert_int_equal(run(any4, LINK_RAW, V4_A), DECODE_OK);
	/* 0.0.0.0/0 is IPv4 only. */
	assert_int_equal(run(any4, LINK_IPV6, "60000000 000a 11 40" IP6_OUT IP6_OUT2 UDP6),
			 DECODE_UNAUTHORIZED);
	/* Bad lengths are refused. */
	assert_int_equal(ipaddr_parse("192.0.2.0", &a), 0);
	assert_int_equal(decode_scope_add_prefix(s, &a, 33), YG_EINVAL);
	assert_int_equal(ipaddr_parse("2001:db8::", &a), 0);
	assert_int_equal(decode_scope_add_prefix(s, &a, 129), YG_EINVAL);
	decode_scope_release(s);
	decode_scope_release(host);
	decode_scope_release(any4);
}

static void test_v6(void **state)
{
	const char *p[] = {"2001:db8::", "3fff::1"};
	unsigned b[] = {32, 128};
	struct decode_scope *s = prefix_scope(7, p, b, 2);

	(void)state;
	assert_int_equal(run(s, LINK_IPV6, "60000000 000a 11 40" IP6_IN IP6_OUT2 UDP6), DECODE_OK);
	assert_int_equal(pkt.dport, 53);
	assert_int_equal(run(s, LINK_IPV6, "60000000 000a 11 40" IP6_OUT2 IP6_IN UDP6), DECODE_OK);
	/* 3fff::1/128 as destination. */
	assert_int_equal(run(s, LINK_IPV6, "60000000 000a 11 40" IP6_OUT2 IP6_OUT UDP6), DECODE_OK);
	/* 3fff::2 is outside the /128. */
	assert_int_equal(run(s, LINK_IPV6, "60000000 000a 11 40" IP6_OUT2 IP6_OUT2 UDP6),
			 DECODE_UNAUTHORIZED);
	assert_int_equal(ctr[DC_UNAUTHORIZED], 1);
	/* IPv4 traffic is not in an IPv6-only authorization. */
	assert_int_equal(run(s, LINK_RAW, V4_A), DECODE_UNAUTHORIZED);
	decode_scope_release(s);
}

/* Outside the scope, a later fragment and a packet behind extension headers
 * are unauthorized, not fragments: the fragment fields are never read. */
static void test_fragments_and_extensions_outside(void **state)
{
	const char *p[] = {"192.0.2.0", "2001:db8::"};
	unsigned b[] = {24, 32};
	struct decode_scope *s = prefix_scope(1, p, b, 2);

	(void)state;
	assert_int_equal(run(s, LINK_RAW, V4_B_FRAG), DECODE_UNAUTHORIZED);
	assert_int_equal(ctr[DC_UNAUTHORIZED], 1);
	assert_int_equal(ctr[DC_IPV4_FRAG_LATER], 0);
	/* Hop-by-hop -> fragment (later) -> UDP, outside. */
	assert_int_equal(run(s, LINK_IPV6, "60000000 0010 00 40" IP6_OUT IP6_OUT2
					   "2c00 000000000000 1100 0009 12345678"),
			 DECODE_UNAUTHORIZED);
	assert_int_equal(ctr[DC_IPV6_FRAG_LATER], 0);
	assert_int_equal(ctr[DC_IPV6_EXT_TRUNCATED], 0);
	/* Nine destination-options headers: too many, but never looked at. */
	assert_int_equal(run(s, LINK_IPV6, "60000000 0048 3c 40" IP6_OUT IP6_OUT2
					   "3c00000000000000 3c00000000000000 3c00000000000000"
					   "3c00000000000000 3c00000000000000 3c00000000000000"
					   "3c00000000000000 3c00000000000000 1100000000000000"),
			 DECODE_UNAUTHORIZED);
	assert_int_equal(ctr[DC_IPV6_EXT_TOO_MANY], 0);
	/* Inside, the same fragment is a fragment. */
	assert_int_equal(run(s, LINK_RAW, "4500002c 0001 0003 4006 0000 c000020a c6336414"
					  TCPSYN_HEX),
			 DECODE_SKIP);
	assert_int_equal(ctr[DC_IPV4_FRAG_LATER], 1);
	decode_scope_release(s);
}

static void test_vlans(void **state)
{
	struct decode_scope *only = decode_scope_new(), *both = decode_scope_new();
	struct ip_addr a;

	(void)state;
	/* VLAN 100 or 200, any address. */
	assert_int_equal(decode_scope_add_auth(only, 5), 0);
	assert_int_equal(decode_scope_add_vlan(only, 100), 0);
	assert_int_equal(decode_scope_add_vlan(only, 200), 0);
	assert_int_equal(decode_scope_add_vlan(only, 4096), YG_EINVAL);
	assert_int_equal(run(only, LINK_ETHERNET, ETH "8100 00c8 0800" V4_B), DECODE_OK);
	assert_int_equal(pkt.vlan[0], 200);
	/* The inner tag of Q-in-Q counts too. */
	assert_int_equal(run(only, LINK_ETHERNET, ETH "88a8 0007 8100 0064 0800" V4_B), DECODE_OK);
	assert_int_equal(run(only, LINK_ETHERNET, ETH "8100 0065 0800" V4_B), DECODE_UNAUTHORIZED);
	/* Untagged traffic is in no VLAN. */
	assert_int_equal(run(only, LINK_ETHERNET, ETH "0800" V4_B), DECODE_UNAUTHORIZED);
	assert_int_equal(run(only, LINK_RAW, V4_B), DECODE_UNAUTHORIZED);

	/* 192.0.2.0/24 on VLAN 100: both must hold. */
	assert_int_equal(decode_scope_add_auth(both, 6), 0);
	assert_int_equal(ipaddr_parse("192.0.2.0", &a), 0);
	assert_int_equal(decode_scope_add_prefix(both, &a, 24), 0);
	assert_int_equal(decode_scope_add_vlan(both, 100), 0);
	assert_int_equal(run(both, LINK_ETHERNET, ETH "8100 0064 0800" V4_A), DECODE_OK);
	assert_int_equal(run(both, LINK_ETHERNET, ETH "8100 0064 0800" V4_B), DECODE_UNAUTHORIZED);
	assert_int_equal(run(both, LINK_ETHERNET, ETH "8100 00c8 0800" V4_A), DECODE_UNAUTHORIZED);
	assert_int_equal(run(both, LINK_ETHERNET, ETH "0800" V4_A), DECODE_UNAUTHORIZED);
	/* A second authorization adds to the first: now B on VLAN 100 too. */
	assert_int_equal(decode_scope_add_auth(both, 7), 0);
	assert_int_equal(ipaddr_parse("203.0.113.0", &a), 0);
	assert_int_equal(decode_scope_add_prefix(both, &a, 24), 0);
	assert_int_equal(run(both, LINK_ETHERNET, ETH "8100 0064 0800" V4_B), DECODE_OK);
	assert_int_equal(run(both, LINK_ETHERNET, ETH "0800" V4_B), DECODE_OK);
	assert_int_equal(decode_scope_count(both), 2);
	assert_int_equal(decode_scope_id(both, 1), 7);
	decode_scope_release(only);
	decode_scope_release(both);
}

static void test_empty_and_not_ip(void **state)
{
	struct decode_scope *s = decode_scope_new();

	(void)state;
	assert_int_equal(run(s, LINK_RAW, V4_A), DECODE_UNAUTHORIZED);
	assert_int_equal(run(s, LINK_IPV6, "60000000 000a 11 40" IP6_IN IP6_OUT UDP6),
			 DECODE_UNAUTHORIZED);
	/* Not IP, and malformed IP headers, are as without a scope. */
	assert_int_equal(run(s, LINK_ETHERNET, ETH "0806 0001080006040001"), DECODE_SKIP);
	assert_int_equal(ctr[DC_NOT_IP], 1);
	assert_int_equal(ctr[DC_UNAUTHORIZED], 0);
	assert_int_equal(run(s, LINK_RAW, "4500002c 0001"), DECODE_BAD);
	assert_int_equal(ctr[DC_IPV4_TRUNCATED], 1);
	assert_int_equal(ctr[DC_UNAUTHORIZED], 0);
	/* No authorization started: nothing to add to. */
	struct ip_addr a;
	assert_int_equal(ipaddr_parse("192.0.2.0", &a), 0);
	assert_int_equal(decode_scope_add_prefix(s, &a, 24), YG_EINVAL);
	assert_int_equal(decode_scope_add_vlan(s, 1), YG_EINVAL);
	decode_scope_release(s);
}

static void test_equal_and_limits(void **state)
{
	const char *p[] = {"192.0.2.0", "2001:db8::"};
	unsigned b[] = {24, 32};
	struct decode_scope *x = prefix_scope(1, p, b, 2), *y = prefix_scope(1, p, b, 2);
	struct decode_scope *z = prefix_scope(2, p, b, 2), *big = decode_scope_new();
	struct ip_addr a;

	(void)state;
	assert_true(decode_scope_equal(x, y));
	assert_false(decode_scope_equal(x, z));
	assert_int_equal(decode_scope_add_vlan(y, 9), 0);
	assert_false(decode_scope_equal(x, y));
	assert_int_equal(decode_scope_add_auth(big, 1), 0);
	for (int i = 0; i < DECODE_SCOPE_MAX_PREFIXES; i++) {
		uint8_t b4[4] = {10, (uint8_t)(i >> 8), (uint8_t)i, 0};
		ipaddr_set4(&a, b4);
		assert_int_equal(decode_scope_add_prefix(big, &a, 24), 0);
	}
	assert_int_equal(decode_scope_add_prefix(big, &a, 8), YG_ELIMIT);
	for (int i = 1; i < DECODE_SCOPE_MAX_AUTHS; i++)
		assert_int_equal(decode_scope_add_auth(big, i + 1), 0);
	assert_int_equal(decode_scope_add_auth(big, 999), YG_ELIMIT);
	/* Allocation failure is reported, not a crash. */
	struct decode_scope *f = decode_scope_new();
	assert_int_equal(decode_scope_add_auth(f, 1), 0);
	yg_alloc_fail_after(0);
	assert_int_equal(decode_scope_add_prefix(f, &a, 8), YG_ENOMEM);
	yg_alloc_fail_after(-1);
	decode_scope_release(f);
	decode_scope_release(x);
	decode_scope_release(y);
	decode_scope_release(z);
	decode_scope_release(big);
}

/* A reference: every prefix as given, scanned. */
struct ref_pfx {
	struct ip_addr net;
	unsigned bits;
};

static int ref_in(const struct ref_pfx *p, const struct ip_addr *a)
{
	if (p->net.family != a->family)
		return 0;
	for (unsigned b = 0; b < p->bits; b++) {
		unsigned bit = 7 - b % 8;
		if (((p->net.a[b / 8] >> bit) & 1) != ((a->a[b / 8] >> bit) & 1))
			return 0;
	}
	return 1;
}

/* Random, often nested prefixes of both families against the scan. */
static void test_against_reference(void **state)
{
	struct ref_pfx ref[300];
	struct packet p;

	(void)state;
	srand(1);
	for (int round = 0; round < 50; round++) {
		struct decode_scope *s = decode_scope_new();
		int n = 1 + rand() % 300;
		assert_int_equal(decode_scope_add_auth(s, round), 0);
		for (int i = 0; i < n; i++) {
			uint8_t b[16] = {0};
			int v6 = rand() % 3 == 0;
			/* A small address space, so that prefixes nest and meet. */
			b[0] = v6 ? 0x20 : 10;
			b[1] = (uint8_t)(rand() % 4);
			b[2] = (uint8_t)(rand() % 4);
			b[3] = (uint8_t)(rand() % 256);
			if (v6)
				ipaddr_set6(&ref[i].net, b);
			else
				ipaddr_set4(&ref[i].net, b);
			ref[i].bits = v6 ? (unsigned)(rand() % 129) : (unsigned)(rand() % 33);
			if (rand() % 4)
				ref[i].bits = v6 ? 8 + (unsigned)(rand() % 20) : 8 + (unsigned)(rand() % 20);
			assert_int_equal(decode_scope_add_prefix(s, &ref[i].net, ref[i].bits), 0);
		}
		for (int q = 0; q < 2000; q++) {
			uint8_t b[16] = {0}, c[16] = {0};
			int v6 = rand() % 2, want = 0;
			b[0] = c[0] = v6 ? 0x20 : 10;
			for (int k = 1; k < 4; k++) {
				b[k] = (uint8_t)(rand() % (k == 3 ? 256 : 5));
				c[k] = (uint8_t)(rand() % (k == 3 ? 256 : 5));
			}
			if (rand() % 8 == 0)
				b[0] = c[0] = (uint8_t)rand();
			memset(&p, 0, sizeof(p));
			if (v6) {
				ipaddr_set6(&p.src, b);
				ipaddr_set6(&p.dst, c);
			} else {
				ipaddr_set4(&p.src, b);
				ipaddr_set4(&p.dst, c);
			}
			for (int i = 0; i < n && !want; i++)
				want = ref_in(&ref[i], &p.src) || ref_in(&ref[i], &p.dst);
			if (decode_scope_allows(s, &p) != want)
				fail_msg("round %d query %d: scope says %d, reference %d", round, q,
					 !want, want);
		}
		decode_scope_release(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_src_or_dst),
		cmocka_unit_test(test_host_bits_and_edges),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_fragments_and_extensions_outside),
		cmocka_unit_test(test_vlans),
		cmocka_unit_test(test_empty_and_not_ip),
		cmocka_unit_test(test_equal_and_limits),
		cmocka_unit_test(test_against_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
