/* test_dns.c - dns_parse() and dns_parse_tcp() on hand-made messages:
 * queries, compressed responses with a CNAME chain, A and AAAA answers,
 * compression loops, bad labels, long names, and every truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decode/appmeta.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const uint8_t query[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0x00, 0x1c, 0x00, 0x01, /* AAAA IN */
};

/* www.example.com A: CNAME cdn.example.com, two A, one AAAA; every name
 * after the question is compressed. Offsets on the right. */
static const uint8_t response[] = {
	0xbe, 0xef, 0x81, 0x80, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, /* 12 */
	0x00, 0x01, 0x00, 0x01,                                                     /* 29 */
	/* 33: www.example.com CNAME cdn.example.com ("cdn" at 45) */
	0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x06,
	3, 'c', 'd', 'n', 0xc0, 0x10,
	/* 51: cdn.example.com A 93.184.216.34 */
	0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04,
	93, 184, 216, 34,
	/* 67: cdn.example.com A 93.184.216.35 */
	0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04,
	93, 184, 216, 35,
	/* 83: cdn.example.com AAAA 2606:2800:220:1:248:1893:25c8:1946 */
	0xc0, 0x2d, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x10,
	0x26, 0x06, 0x28, 0x00, 0x02, 0x20, 0x00, 0x01,
	0x02, 0x48, 0x18, 0x93, 0x25, 0xc8, 0x19, 0x46,
	/* 111 */
};
#define RESP_Q_END 33
static const size_t resp_addr_end[] = {67, 83, 111};

static void assert_addr(const struct ip_addr *got, const char *want)
{
	struct ip_addr w;

	assert_int_equal(ipaddr_parse(want, &w), 0);
	assert_memory_equal(got, &w, sizeof(w));
}

static void test_query(void **state)
{
	struct dns_meta m;

	(void)state;
	assert_int_equal(dns_parse(query, sizeof(query), &m), 0);
	assert_int_equal(m.txid, 0x1234);
	assert_int_equal(m.is_response, 0);
	assert_int_equal(m.rcode, 0);
	assert_int_equal(m.qtype, 28);
	assert_int_equal(m.qclass, 1);
	assert_int_equal(m.ancount, 0);
	assert_string_equal(m.qname, "www.example.com");
	assert_int_equal(m.qname_len, 15);
	assert_int_equal(m.n_addrs, 0);
}

static void test_response_cname_a_aaaa(void **state)
{
	struct dns_meta m;

	(void)state;
	assert_int_equal(sizeof(response), 111);
	assert_int_equal(dns_parse(response, sizeof(response), &m), 0);
	assert_int_equal(m.txid, 0xbeef);
	assert_int_equal(m.is_response, 1);
	assert_int_equal(m.rcode, 0);
	assert_int_equal(m.qtype, 1);
	assert_int_equal(m.ancount, 4);
	assert_string_equal(m.qname, "www.example.com");
	assert_int_equal(m.n_addrs, 3);
	assert_addr(&m.addrs[0], "93.184.216.34");
	assert_addr(&m.addrs[1], "93.184.216.35");
	assert_addr(&m.addrs[2], "2606:2800:220:1:248:1893:25c8:1946");
}

/* Every prefix: ETRUNC until the question is whole, then 0 with exactly
 * the answers whose bytes are all there. */
static void test_response_every_length(void **state)
{
	(void)state;
	for (size_t n = 0; n <= sizeof(response); n++) {
		struct dns_meta m;
		int rc = dns_parse(response, n, &m);
		unsigned want = 0;

		if (n < RESP_Q_END) {
			assert_int_equal(rc, YG_ETRUNC);
			assert_int_equal(m.n_addrs, 0);
			assert_int_equal(m.qname_len, 0);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(m.qname, "www.example.com");
		for (size_t i = 0; i < N(resp_addr_end); i++)
			want += n >= resp_addr_end[i];
		assert_int_equal(m.n_addrs, want);
	}
}

static void test_nxdomain(void **state)
{
	uint8_t b[sizeof(query)];
	struct dns_meta m;

	(void)state;
	memcpy(b, query, sizeof(b));
	b[2] = 0x81;
	b[3] = 0x83; /* response, NXDOMAIN */
	assert_int_equal(dns_parse(b, sizeof(b), &m), 0);
	assert_int_equal(m.is_response, 1);
	assert_int_equal(m.rcode, 3);
}

static void test_qdcount(void **state)
{
	uint8_t b[sizeof(query)];
	struct dns_meta m;

	(void)state;
	memcpy(b, query, sizeof(b));
	b[5] = 0;
	assert_int_equal(dns_parse(b, sizeof(b), &m), YG_EFORMAT);
	b[5] = 2;
	assert_int_equal(dns_parse(b, sizeof(b), &m), YG_EFORMAT);
	b[4] = 1;
	b[5] = 1;
	assert_int_equal(dns_parse(b, sizeof(b), &m), YG_EFORMAT);
}

static void test_compression_loops(void **state)
{
	/* The question name points at itself. */
	static const uint8_t self[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1};
	/* A label, then a pointer back to the label: backward from the
	 * pointer, but into its own run, so it would loop. */
	static const uint8_t run_loop[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
					   1, 'a', 0xc0, 0x0c, 0, 1, 0, 1};
	/* Forward pointer, past the end of the message. */
	static const uint8_t forward[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x40, 0, 1, 0, 1};
	/* A pointer whose second byte is missing. */
	static const uint8_t half[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0xc0};
	struct dns_meta m;

	(void)state;
	assert_int_equal(dns_parse(self, sizeof(self), &m), YG_EFORMAT);
	assert_int_equal(dns_parse(run_loop, sizeof(run_loop), &m), YG_EFORMAT);
	assert_int_equal(dns_parse(forward, sizeof(forward), &m), YG_EFORMAT);
	assert_int_equal(dns_parse(half, sizeof(half), &m), YG_ETRUNC);
	assert_int_equal(m.qname_len, 0);
	assert_string_equal(m.qname, "");
}

/* A backward pointer into the header is legal, if odd: the txid 0x0161
 * reads as the label "a" and the flags' zero high byte ends the name. */
static void test_pointer_backward(void **state)
{
	static const uint8_t msg[] = {0x01, 'a', 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
				      1,    'b', 0xc0, 0x00, 0, 1, 0, 1};
	struct dns_meta m;

	(void)state;
	assert_int_equal(dns_parse(msg, sizeof(msg), &m), 0);
	assert_string_equal(m.qname, "b.a");
	assert_int_equal(m.qtype, 1);
}

/* Answer names are checked as the question's is: a loop or a forward
 * pointer there makes the message malformed. */
static void test_answer_name_loops(void **state)
{
	uint8_t b[sizeof(response)];
	struct dns_meta m;

	(void)state;
	memcpy(b, response, sizeof(b));
	b[52] = 51; /* the first A record's name points at itself */
	assert_int_equal(dns_parse(b, sizeof(b), &m), YG_EFORMAT);
	assert_int_equal(m.n_addrs, 0);

	memcpy(b, response, sizeof(b));
	b[50] = 0x2d; /* the CNAME target's tail points at its own "cdn" */
	assert_int_equal(dns_parse(b, sizeof(b), &m), YG_EFORMAT);

	memcpy(b, response, sizeof(b));
	b[52] = 90; /* forward, into the AAAA record */
	assert_int_equal(dns_parse(b, sizeof(b), &m), YG_EFORMAT);
}

static void test_bad_labels(void **state)
{
	/* 0x40: extended label type; 0x80: reserved. */
	static const uint8_t ext[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'a', 0, 0, 1, 0, 1};
	static const uint8_t rsv[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x81, 'a', 0, 0, 1, 0, 1};
	/* An answer name with a reserved label type. */
	uint8_t ans[sizeof(response)];
	struct dns_meta m;

	(void)state;
	assert_int_equal(dns_parse(ext, sizeof(ext), &m), YG_EFORMAT);
	assert_int_equal(dns_parse(rsv, sizeof(rsv), &m), YG_EFORMAT);
	memcpy(ans, response, sizeof(ans));
	ans[51] = 0x80;
	assert_int_equal(dns_parse(ans, sizeof(ans), &m), YG_EFORMAT);
}

static void test_escapes_and_root(void **state)
{
	static const uint8_t esc[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				      3, 'a', '.', 'b', 3, 'c', '\\', 'd', 0, 0, 1, 0, 1};
	static const uint8_t root[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1};
	struct dns_meta m;

	(void)state;
	assert_int_equal(dns_parse(esc, sizeof(esc), &m), 0);
	assert_string_equal(m.qname, "a\\.b.c\\\\d");
	assert_int_equal(m.qname_len, 9);
	assert_int_equal(dns_parse(root, sizeof(root), &m), 0);
	assert_string_equal(m.qname, "");
	assert_int_equal(m.qname_len, 0);
	assert_int_equal(m.qtype, 2);
}

/* Writes a query whose name has labels of the given lengths, filled with
 * fill; returns the message length. */
static size_t name_query(uint8_t *b, const unsigned *labels, size_t n, uint8_t fill)
{
	static const uint8_t hdr[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	size_t o = sizeof(hdr);

	memcpy(b, hdr, sizeof(hdr));
	for (size_t i = 0; i < n; i++) {
		b[o++] = (uint8_t)labels[i];
		memset(b + o, fill, labels[i]);
		o += labels[i];
	}
	b[o++] = 0;
	memcpy(b + o, "\0\1\0\1", 4);
	return o + 4;
}

static void test_name_lengths(void **state)
{
	static const unsigned max[] = {63, 63, 63, 61};  /* 253 in presentation */
	static const unsigned over[] = {63, 63, 63, 62}; /* 254 */
	static const unsigned one_esc[] = {63, 63, 63, 60};
	uint8_t b[600];
	struct dns_meta m;
	size_t n;

	(void)state;
	n = name_query(b, max, N(max), 'x');
	assert_int_equal(dns_parse(b, n, &m), 0);
	assert_int_equal(m.qname_len, 253);
	assert_int_equal(strlen(m.qname), 253);

	n = name_query(b, over, N(over), 'x');
	assert_int_equal(dns_parse(b, n, &m), YG_EFORMAT);

	/* 252 wire characters, one of them escaped: 253, fits. */
	n = name_query(b, one_esc, N(one_esc), 'x');
	b[12 + 1] = '.';
	assert_int_equal(dns_parse(b, n, &m), 0);
	assert_int_equal(m.qname_len, 253);
	assert_memory_equal(m.qname, "\\.x", 3);

	/* Escapes push a short wire name past the cap. */
	n = name_query(b, max, N(max), '\\');
	assert_int_equal(dns_parse(b, n, &m), YG_EFORMAT);
}

/* More than DNS_MAX_ADDRS answers; a wrong rdlen and a non-IN class are
 * skipped; the mDNS cache-flush bit on class IN is not. */
static void test_answers_kept(void **state)
{
	uint8_t b[512] = {0};
	struct dns_meta m;
	size_t o = 33;

	(void)state;
	memcpy(b, response, 33);
	b[7] = 12; /* ancount */
	for (int i = 0; i < 12; i++) {
		static const uint8_t rr[] = {0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0, 0, 0, 60, 0x00, 0x04};

		memcpy(b + o, rr, sizeof(rr));
		if (i == 0)
			b[o + 11] = 5; /* rdlen 5 */
		if (i == 1)
			b[o + 5] = 3; /* class CH */
		if (i == 2)
			b[o + 4] = 0x80; /* class IN, cache flush */
		o += sizeof(rr);
		memcpy(b + o, "\x0a\x00\x00", 3);
		b[o + 3] = (uint8_t)i;
		o += 4 + (i == 0);
	}
	assert_int_equal(dns_parse(b, o, &m), 0);
	assert_int_equal(m.n_addrs, DNS_MAX_ADDRS);
	assert_addr(&m.addrs[0], "10.0.0.2");
	assert_addr(&m.addrs[7], "10.0.0.9");
}

static void test_tcp(void **state)
{
	uint8_t b[2 + 2 * sizeof(response)];
	struct dns_meta m;

	(void)state;
	b[0] = 0;
	b[1] = sizeof(response);
	memcpy(b + 2, response, sizeof(response));
	assert_int_equal(dns_parse_tcp(b, 2 + sizeof(response), &m), 0);
	assert_int_equal(m.txid, 0xbeef);
	assert_int_equal(m.n_addrs, 3);

	/* Two pipelined messages: the first one only. */
	memcpy(b + 2 + sizeof(response), query, sizeof(query));
	assert_int_equal(dns_parse_tcp(b, 2 + sizeof(response) + sizeof(query), &m), 0);
	assert_int_equal(m.txid, 0xbeef);
	assert_int_equal(m.n_addrs, 3);

	/* The length says more than the segment holds. */
	b[1] = 200;
	assert_int_equal(dns_parse_tcp(b, 2 + 70, &m), 0);
	assert_int_equal(m.n_addrs, 1);
	assert_int_equal(dns_parse_tcp(b, 2 + 20, &m), YG_ETRUNC);

	/* A length shorter than a header. */
	b[1] = 11;
	assert_int_equal(dns_parse_tcp(b, sizeof(b), &m), YG_EFORMAT);
	assert_int_equal(dns_parse_tcp(b, 1, &m), YG_ETRUNC);
	assert_int_equal(dns_parse_tcp(b, 0, &m), YG_ETRUNC);

	/* Every prefix of the framed message. */
	b[1] = sizeof(response);
	for (size_t n = 0; n <= 2 + sizeof(response); n++) {
		int rc = dns_parse_tcp(b, n, &m);

		assert_int_equal(rc, n < 2 + RESP_Q_END ? YG_ETRUNC : 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_response_cname_a_aaaa),
		cmocka_unit_test(test_response_every_length),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_qdcount),
		cmocka_unit_test(test_compression_loops),
		cmocka_unit_test(test_pointer_backward),
		cmocka_unit_test(test_answer_name_loops),
		cmocka_unit_test(test_bad_labels),
		cmocka_unit_test(test_escapes_and_root),
		cmocka_unit_test(test_name_lengths),
		cmocka_unit_test(test_answers_kept),
		cmocka_unit_test(test_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
