/* Unit tests for src/netflow: hand-built NetFlow v5, v9 and IPFIX
 * datagrams for each feature (templates, options and sampling, withdrawal,
 * expiry, limits, sequence gaps, times, biflows, variable-length fields)
 * and for hostile input (truncation, absurd lengths and counts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "netflow/netflow.h"

#define SEC      1000000ULL
#define MAX_RECS 64

static struct nf_record recs[MAX_RECS];
static int n_recs;

static void on_record(void *ctx, const struct nf_record *r)
{
	(void)ctx;
	if (n_recs < MAX_RECS)
		recs[n_recs] = *r;
	n_recs++;
}

static struct nf_collector *collector(uint32_t max_exporters, uint32_t max_templates,
                                      uint64_t timeout_us)
{
	struct nf_config cfg = {.max_exporters = max_exporters,
	                        .max_templates = max_templates,
	                        .template_timeout_us = timeout_us};
	n_recs = 0;
	memset(recs, 0, sizeof(recs));
	return nf_collector_new(&cfg, on_record, NULL);
}

static uint64_t ctr(const struct nf_collector *c, enum nf_counter k)
{
	return nf_collector_stats(c)->c[k];
}

/* ---- a datagram builder ------------------------------------------------- */

struct buf {
	uint8_t b[70000];
	size_t n;
	size_t mark[8]; /* where a length field waits to be filled */
	int nmark;
};

static void u8(struct buf *b, unsigned v)
{
	b->b[b->n++] = (uint8_t)v;
}

static void u16(struct buf *b, unsigned v)
{
	u8(b, v >> 8);
	u8(b, v);
}

static void u32(struct buf *b, uint32_t v)
{
	u16(b, v >> 16);
	u16(b, v & 0xffff);
}

static void u64(struct buf *b, uint64_t v)
{
	u32(b, (uint32_t)(v >> 32));
	u32(b, (uint32_t)v);
}

static void ip4(struct buf *b, uint8_t a, uint8_t c, uint8_t d, uint8_t e)
{
	u8(b, a);
	u8(b, c);
	u8(b, d);
	u8(b, e);
}

static void zeros(struct buf *b, size_t n)
{
	memset(b->b + b->n, 0, n);
	b->n += n;
}

/* Opens a set (flowset) with id; set_end() fills its length. */
static void set_begin(struct buf *b, unsigned id)
{
	u16(b, id);
	b->mark[b->nmark++] = b->n;
	u16(b, 0);
}

static void set_end(struct buf *b)
{
	size_t at = b->mark[--b->nmark];
	size_t len = b->n - at + 2;

	b->b[at] = (uint8_t)(len >> 8);
	b->b[at + 1] = (uint8_t)len;
}

static void v9_header(struct buf *b, uint32_t uptime, uint32_t secs, uint32_t seq, uint32_t source)
{
	b->n = 0;
	b->nmark = 0;
	u16(b, 9);
	u16(b, 1); /* count: not relied upon */
	u32(b, uptime);
	u32(b, secs);
	u32(b, seq);
	u32(b, source);
}

static void ipfix_header(struct buf *b, uint32_t secs, uint32_t seq, uint32_t domain)
{
	b->n = 0;
	b->nmark = 0;
	u16(b, 10);
	u16(b, 0); /* filled by ipfix_end */
	u32(b, secs);
	u32(b, seq);
	u32(b, domain);
}

static void ipfix_end(struct buf *b)
{
	b->b[2] = (uint8_t)(b->n >> 8);
	b->b[3] = (uint8_t)b->n;
}

static struct ip_addr exporter(uint8_t last)
{
	struct ip_addr a;
	uint8_t p[4] = {192, 0, 2, last};

	ipaddr_set4(&a, p);
	return a;
}

static int feed(struct nf_collector *c, const struct buf *b, uint64_t now)
{
	struct ip_addr e = exporter(1);

	return nf_collector_datagram(c, b->b, b->n, &e, 2055, now);
}

static void assert_ip4(const struct ip_addr *a, uint8_t w, uint8_t x, uint8_t y, uint8_t z)
{
	assert_int_equal(a->family, 4);
	assert_int_equal(a->a[0], w);
	assert_int_equal(a->a[1], x);
	assert_int_equal(a->a[2], y);
	assert_int_equal(a->a[3], z);
	/* and nothing else: two records of one address compare equal */
	for (int i = 4; i < 16; i++)
		assert_int_equal(a->a[i], 0);
}

/* ---- NetFlow v5 --------------------------------------------------------- */

static void v5_header(struct buf *b, uint16_t count, uint32_t uptime, uint32_t secs, uint32_t seq,
                      uint16_t sampling)
{
	b->n = 0;
	u16(b, 5);
	u16(b, count);
	u32(b, uptime);
	u32(b, secs);
	u32(b, 500000000); /* nsecs: +500 ms */
	u32(b, seq);
	u8(b, 1); /* engine type */
	u8(b, 2); /* engine id */
	u16(b, sampling);
}

static void v5_record(struct buf *b, uint8_t host, uint32_t pkts, uint32_t octets, uint32_t first,
                      uint32_t last)
{
	ip4(b, 10, 0, 0, host);
	ip4(b, 10, 0, 1, host);
	ip4(b, 0, 0, 0, 0); /* next hop */
	u16(b, 3);          /* input */
	u16(b, 4);          /* output */
	u32(b, pkts);
	u32(b, octets);
	u32(b, first);
	u32(b, last);
	u16(b, 40000 + host);
	u16(b, 80);
	u8(b, 0);
	u8(b, 0x1b); /* tcp flags */
	u8(b, 6);
	u8(b, 0);
	zeros(b, 8); /* AS, masks, pad */
}

static void test_v5(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	/* Uptime 100 s at 1,700,000,000.5: a flow from uptime 90 s to 95 s. */
	v5_header(&b, 2, 100000, 1700000000, 1000, 0);
	v5_record(&b, 1, 5, 500, 90000, 95000);
	v5_record(&b, 2, 1, 40, 99000, 99000);
	assert_int_equal(feed(c, &b, 1), 2);
	assert_int_equal(n_recs, 2);
	assert_int_equal(recs[0].version, 5);
	assert_ip4(&recs[0].src, 10, 0, 0, 1);
	assert_ip4(&recs[0].dst, 10, 0, 1, 1);
	assert_int_equal(recs[0].sport, 40001);
	assert_int_equal(recs[0].dport, 80);
	assert_int_equal(recs[0].proto, 6);
	assert_int_equal(recs[0].tcp_flags, 0x1b);
	assert_int_equal(recs[0].packets, 5);
	assert_int_equal(recs[0].octets, 500);
	assert_int_equal(recs[0].in_if, 3);
	assert_int_equal(recs[0].out_if, 4);
	assert_int_equal(recs[0].sampling, 1);
	assert_int_equal(recs[0].domain, 0x0102);
	assert_int_equal(recs[0].first_us, (1700000000500ULL - 10000) * 1000);
	assert_int_equal(recs[0].last_us, (1700000000500ULL - 5000) * 1000);
	assert_int_equal(recs[0].exporter_port, 2055);
	assert_ip4(&recs[0].exporter, 192, 0, 2, 1);

	/* Sequence: v5 counts flows. 1002 follows; 1010 skips 6. */
	v5_header(&b, 1, 100000, 1700000001, 1002, 0);
	v5_record(&b, 3, 1, 40, 99000, 99000);
	assert_int_equal(feed(c, &b, 2), 1);
	assert_int_equal(ctr(c, NF_C_SEQ_GAPS), 0);
	v5_header(&b, 1, 100000, 1700000001, 1009, 0);
	v5_record(&b, 3, 1, 40, 99000, 99000);
	assert_int_equal(feed(c, &b, 3), 1);
	assert_int_equal(ctr(c, NF_C_SEQ_GAPS), 1);
	assert_int_equal(ctr(c, NF_C_SEQ_LOST), 6);
	nf_collector_free(c);
}

static void test_v5_sampling_and_wrap(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	/* Mode 1 (deterministic), interval 100; uptime wrapped past 2^32 ms
	 * since the flow started at 0xfffff000. */
	v5_header(&b, 1, 0x1000, 1700000000, 0, 0x4000 | 100);
	v5_record(&b, 1, 7, 700, 0xfffff000u, 0x800);
	assert_int_equal(feed(c, &b, 1), 1);
	assert_int_equal(recs[0].sampling, 100);
	assert_int_equal(recs[0].packets, 700);
	assert_int_equal(recs[0].octets, 70000);
	assert_int_equal(recs[0].first_us, (1700000000500ULL - 0x2000) * 1000);
	assert_int_equal(recs[0].last_us, (1700000000500ULL - 0x800) * 1000);
	nf_collector_free(c);
}

static void test_v5_hostile(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	/* Count says 2, one record follows. */
	v5_header(&b, 2, 0, 1700000000, 0, 0);
	v5_record(&b, 1, 1, 1, 0, 0);
	assert_int_equal(feed(c, &b, 1), YG_EFORMAT);
	assert_int_equal(ctr(c, NF_C_BAD_LENGTH), 1);
	/* Count 31 (v5 holds 30 at most), with room for them. */
	v5_header(&b, 31, 0, 1700000000, 0, 0);
	for (int i = 0; i < 31; i++)
		v5_record(&b, 1, 1, 1, 0, 0);
	assert_int_equal(feed(c, &b, 1), YG_EFORMAT);
	assert_int_equal(ctr(c, NF_C_BAD_LENGTH), 2);
	/* Every prefix of a good datagram is refused without a record. */
	v5_header(&b, 1, 0, 1700000000, 0, 0);
	v5_record(&b, 1, 1, 1, 0, 0);
	for (size_t n = 0; n < b.n; n++) {
		struct ip_addr e = exporter(1);
		assert_true(nf_collector_datagram(c, b.b, n, &e, 1, 1) < 0);
	}
	assert_int_equal(n_recs, 0);
	/* Unknown version. */
	b.b[1] = 7;
	assert_int_equal(feed(c, &b, 1), YG_EFORMAT);
	assert_int_equal(ctr(c, NF_C_BAD_VERSION), 1);
	nf_collector_free(c);
}

/* ---- NetFlow v9 --------------------------------------------------------- */

/* Template 256: src4 dst4 sport dport proto flags pkts octets first last in out. */
static void v9_template_256(struct buf *b)
{
	set_begin(b, 0);
	u16(b, 256);
	u16(b, 12);
	u16(b, 8);
	u16(b, 4);
	u16(b, 12);
	u16(b, 4);
	u16(b, 7);
	u16(b, 2);
	u16(b, 11);
	u16(b, 2);
	u16(b, 4);
	u16(b, 1);
	u16(b, 6);
	u16(b, 1);
	u16(b, 2);
	u16(b, 4);
	u16(b, 1);
	u16(b, 8); /* IN_BYTES in 8 bytes */
	u16(b, 22);
	u16(b, 4);
	u16(b, 21);
	u16(b, 4);
	u16(b, 10);
	u16(b, 2);
	u16(b, 14);
	u16(b, 2);
	set_end(b);
}

/* A record of template 256 (36 bytes). */
static void v9_rec_256(struct buf *b, uint8_t host, uint32_t pkts, uint64_t octets, uint32_t first,
                       uint32_t last)
{
	ip4(b, 10, 0, 0, host);
	ip4(b, 10, 9, 9, 9);
	u16(b, 1000 + host);
	u16(b, 443);
	u8(b, 6);
	u8(b, 0x12);
	u32(b, pkts);
	u64(b, octets);
	u32(b, first);
	u32(b, last);
	u16(b, 7);
	u16(b, 8);
}

static void test_v9_template_and_data(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	v9_header(&b, 60000, 1700000000, 1, 42);
	v9_template_256(&b);
	set_begin(&b, 256);
	v9_rec_256(&b, 1, 3, 5000000000ULL, 50000, 59000);
	v9_rec_256(&b, 2, 1, 60, 59999, 59999);
	zeros(&b, 2); /* padding to four bytes */
	set_end(&b);
	assert_int_equal(feed(c, &b, 1), 2);
	assert_int_equal(n_recs, 2);
	assert_int_equal(recs[0].version, 9);
	assert_int_equal(recs[0].domain, 42);
	assert_ip4(&recs[0].src, 10, 0, 0, 1);
	assert_ip4(&recs[0].dst, 10, 9, 9, 9);
	assert_int_equal(recs[0].sport, 1001);
	assert_int_equal(recs[0].dport, 443);
	assert_int_equal(recs[0].proto, 6);
	assert_int_equal(recs[0].tcp_flags, 0x12);
	assert_int_equal(recs[0].packets, 3);
	assert_int_equal(recs[0].octets, 5000000000ULL);
	assert_int_equal(recs[0].first_us, (1700000000000ULL - 10000) * 1000);
	assert_int_equal(recs[0].last_us, (1700000000000ULL - 1000) * 1000);
	assert_int_equal(recs[0].in_if, 7);
	assert_int_equal(recs[0].out_if, 8);
	assert_int_equal(recs[0].flags & NF_REC_NO_TIME, 0);
	assert_int_equal(ctr(c, NF_C_TEMPLATES_ADDED), 1);
	assert_int_equal(nf_collector_stats(c)->templates, 1);

	/* Re-announced unchanged: a refresh, not a change. */
	v9_header(&b, 61000, 1700000001, 2, 42);
	v9_template_256(&b);
	assert_int_equal(feed(c, &b, 2), 0);
	assert_int_equal(ctr(c, NF_C_TEMPLATES_CHANGED), 0);
	assert_int_equal(ctr(c, NF_C_TEMPLATES_ADDED), 1);
	nf_collector_free(c);
}

static void test_v9_data_before_template(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	v9_header(&b, 60000, 1700000000, 1, 0);
	set_begin(&b, 256);
	v9_rec_256(&b, 1, 3, 300, 50000, 59000);
	set_end(&b);
	assert_int_equal(feed(c, &b, 1), 0);
	assert_int_equal(ctr(c, NF_C_NO_TEMPLATE), 1);

	/* The template arrives; the records sent before it are not replayed. */
	v9_header(&b, 60000, 1700000000, 2, 0);
	v9_template_256(&b);
	assert_int_equal(feed(c, &b, 2), 0);
	v9_header(&b, 60000, 1700000000, 3, 0);
	set_begin(&b, 256);
	v9_rec_256(&b, 1, 3, 300, 50000, 59000);
	set_end(&b);
	assert_int_equal(feed(c, &b, 3), 1);
	assert_int_equal(n_recs, 1);

	/* Another source id of the same exporter has its own templates. */
	v9_header(&b, 60000, 1700000000, 1, 1);
	set_begin(&b, 256);
	v9_rec_256(&b, 1, 3, 300, 50000, 59000);
	set_end(&b);
	assert_int_equal(feed(c, &b, 4), 0);
	assert_int_equal(ctr(c, NF_C_NO_TEMPLATE), 2);
	assert_int_equal(nf_collector_stats(c)->exporters, 2);
	nf_collector_free(c);
}

static void test_v9_options_sampling(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	v9_header(&b, 60000, 1700000000, 1, 0);
	v9_template_256(&b);
	/* Options template 257: scope System (4 bytes), SAMPLING_INTERVAL (4),
	 * SAMPLING_ALGORITHM (1); padded to four bytes. */
	set_begin(&b, 1);
	u16(&b, 257);
	u16(&b, 4);
	u16(&b, 8);
	u16(&b, 1);
	u16(&b, 4);
	u16(&b, 34);
	u16(&b, 4);
	u16(&b, 35);
	u16(&b, 1);
	zeros(&b, 2);
	set_end(&b);
	/* A record before the options: unsampled. */
	set_begin(&b, 256);
	v9_rec_256(&b, 1, 3, 300, 50000, 59000);
	set_end(&b);
	set_begin(&b, 257);
	u32(&b, 0);
	u32(&b, 64);
	u8(&b, 2);
	zeros(&b, 3);
	set_end(&b);
	set_begin(&b, 256);
	v9_rec_256(&b, 2, 3, 300, 50000, 59000);
	set_end(&b);
	assert_int_equal(feed(c, &b, 1), 2);
	assert_int_equal(ctr(c, NF_C_OPTION_RECORDS), 1);
	assert_int_equal(recs[0].sampling, 1);
	assert_int_equal(recs[0].packets, 3);
	assert_int_equal(recs[1].sampling, 64);
	assert_int_equal(recs[1].packets, 192);
	assert_int_equal(recs[1].octets, 19200);
	assert_true(recs[1].flags & NF_REC_SAMPLED);
	nf_collector_free(c);
}

static void test_v9_sampler_table(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	v9_header(&b, 60000, 1700000000, 1, 0);
	/* Options template 300: scope Interface, FLOW_SAMPLER_ID (1),
	 * FLOW_SAMPLER_MODE (1), FLOW_SAMPLER_RANDOM_INTERVAL (4). */
	set_begin(&b, 1);
	u16(&b, 300);
	u16(&b, 4);
	u16(&b, 12);
	u16(&b, 2);
	u16(&b, 4);
	u16(&b, 48);
	u16(&b, 1);
	u16(&b, 49);
	u16(&b, 1);
	u16(&b, 50);
	u16(&b, 4);
	zeros(&b, 2);
	set_end(&b);
	/* Data template 301: src dst pkts bytes FLOW_SAMPLER_ID. */
	set_begin(&b, 0);
	u16(&b, 301);
	u16(&b, 5);
	u16(&b, 8);
	u16(&b, 4);
	u16(&b, 12);
	u16(&b, 4);
	u16(&b, 2);
	u16(&b, 4);
	u16(&b, 1);
	u16(&b, 4);
	u16(&b, 48);
	u16(&b, 1);
	set_end(&b);
	set_begin(&b, 300);
	u32(&b, 1);
	u8(&b, 5);
	u8(&b, 2);
	u32(&b, 1000);
	u32(&b, 1);
	u8(&b, 6);
	u8(&b, 2);
	u32(&b, 10);
	set_end(&b);
	set_begin(&b, 301);
	ip4(&b, 1, 1, 1, 1);
	ip4(&b, 2, 2, 2, 2);
	u32(&b, 2);
	u32(&b, 100);
	u8(&b, 5);
	ip4(&b, 1, 1, 1, 1);
	ip4(&b, 2, 2, 2, 2);
	u32(&b, 2);
	u32(&b, 100);
	u8(&b, 6);
	ip4(&b, 1, 1, 1, 1);
	ip4(&b, 2, 2, 2, 2);
	u32(&b, 2);
	u32(&b, 100);
	u8(&b, 7);
	set_end(&b);
	assert_int_equal(feed(c, &b, 1), 3);
	assert_int_equal(recs[0].sampling, 1000);
	assert_int_equal(recs[0].packets, 2000);
	assert_int_equal(recs[1].sampling, 10);
	assert_int_equal(recs[1].octets, 1000);
	assert_int_equal(recs[2].sampling, 1); /* sampler 7 never announced */
	assert_true(recs[0].flags & NF_REC_NO_TIME);
	assert_int_equal(recs[0].first_us, 1700000000ULL * SEC);
	nf_collector_free(c);
}

static void test_v9_sequence(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	for (uint32_t seq = 10; seq < 13; seq++) {
		v9_header(&b, 60000, 1700000000, seq, 0);
		assert_int_equal(feed(c, &b, 1), 0);
	}
	assert_int_equal(ctr(c, NF_C_SEQ_GAPS), 0);
	/* 13 and 14 lost. */
	v9_header(&b, 60000, 1700000000, 15, 0);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_SEQ_GAPS), 1);
	assert_int_equal(ctr(c, NF_C_SEQ_LOST), 2);
	/* 14 arrives late: counted, and 16 is still expected. */
	v9_header(&b, 60000, 1700000000, 14, 0);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_SEQ_LATE), 1);
	v9_header(&b, 60000, 1700000000, 16, 0);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_SEQ_GAPS), 1);
	/* The exporter restarts at 0: late twice, then followed. */
	for (uint32_t seq = 0; seq < 4; seq++) {
		v9_header(&b, 60000, 1700000000, seq, 0);
		feed(c, &b, 1);
	}
	assert_int_equal(ctr(c, NF_C_SEQ_LATE), 3);
	assert_int_equal(ctr(c, NF_C_SEQ_GAPS), 1);
	nf_collector_free(c);
}

static void test_v9_hostile(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	/* A zero-length flowset: the rest of the datagram is refused. */
	v9_header(&b, 60000, 1700000000, 1, 0);
	u16(&b, 256);
	u16(&b, 0);
	zeros(&b, 64);
	assert_int_equal(feed(c, &b, 1), 0);
	assert_int_equal(ctr(c, NF_C_BAD_SET), 1);
	/* A flowset longer than the datagram. */
	v9_header(&b, 60000, 1700000000, 2, 0);
	u16(&b, 0);
	u16(&b, 400);
	zeros(&b, 16);
	assert_int_equal(feed(c, &b, 1), 0);
	assert_int_equal(ctr(c, NF_C_BAD_SET), 2);
	/* A template claiming more fields than its flowset holds. */
	v9_header(&b, 60000, 1700000000, 3, 0);
	set_begin(&b, 0);
	u16(&b, 256);
	u16(&b, 200);
	u16(&b, 8);
	u16(&b, 4);
	set_end(&b);
	assert_int_equal(feed(c, &b, 1), 0);
	assert_int_equal(ctr(c, NF_C_BAD_TEMPLATE), 1);
	/* A template id below 256. */
	v9_header(&b, 60000, 1700000000, 4, 0);
	set_begin(&b, 0);
	u16(&b, 255);
	u16(&b, 1);
	u16(&b, 8);
	u16(&b, 4);
	set_end(&b);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_BAD_TEMPLATE), 2);
	/* Records longer than any datagram: 2 fields of 40,000 bytes. */
	v9_header(&b, 60000, 1700000000, 5, 0);
	set_begin(&b, 0);
	u16(&b, 256);
	u16(&b, 2);
	u16(&b, 8);
	u16(&b, 40000);
	u16(&b, 12);
	u16(&b, 40000);
	set_end(&b);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_TEMPLATE_LENGTH), 1);
	/* Records of zero bytes: refused, or a data set would never end. */
	v9_header(&b, 60000, 1700000000, 6, 0);
	set_begin(&b, 0);
	u16(&b, 256);
	u16(&b, 1);
	u16(&b, 8);
	u16(&b, 0);
	set_end(&b);
	set_begin(&b, 256);
	zeros(&b, 8);
	set_end(&b);
	assert_int_equal(feed(c, &b, 1), 0);
	assert_int_equal(ctr(c, NF_C_TEMPLATE_LENGTH), 2);
	assert_int_equal(nf_collector_stats(c)->templates, 0);
	/* A source address 2 bytes long is read as an unknown field; the
	 * record then has no source and is not delivered. */
	v9_header(&b, 60000, 1700000000, 7, 0);
	set_begin(&b, 0);
	u16(&b, 260);
	u16(&b, 2);
	u16(&b, 8);
	u16(&b, 2);
	u16(&b, 12);
	u16(&b, 4);
	set_end(&b);
	set_begin(&b, 260);
	u16(&b, 1);
	ip4(&b, 1, 2, 3, 4);
	set_end(&b);
	assert_int_equal(feed(c, &b, 1), 0);
	assert_int_equal(ctr(c, NF_C_FIELD_LENGTH), 1);
	assert_int_equal(ctr(c, NF_C_NO_ADDRESS), 1);
	/* A reserved flowset id is skipped; the next one is read. */
	v9_header(&b, 60000, 1700000000, 8, 0);
	set_begin(&b, 7);
	zeros(&b, 4);
	set_end(&b);
	v9_template_256(&b);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_RESERVED_SET), 1);
	assert_int_equal(nf_collector_stats(c)->templates, 2); /* 260 and 256 */
	/* Short header. */
	b.n = 19;
	assert_int_equal(feed(c, &b, 1), YG_ETRUNC);
	assert_int_equal(ctr(c, NF_C_SHORT_HEADER), 1);
	nf_collector_free(c);
}

/* ---- IPFIX -------------------------------------------------------------- */

/* Template 300: src4 dst4 sport dport proto octetDeltaCount packetDeltaCount
 * flowStartMilliseconds flowEndMilliseconds, then an enterprise field of
 * 6 bytes (PEN 9), a variable-length field, reverse octets and packets
 * (PEN 29305), reverse flags, vlanId. */
static void ipfix_template_300(struct buf *b, unsigned id)
{
	set_begin(b, 2);
	u16(b, id);
	u16(b, 15);
	u16(b, 8);
	u16(b, 4);
	u16(b, 12);
	u16(b, 4);
	u16(b, 7);
	u16(b, 2);
	u16(b, 11);
	u16(b, 2);
	u16(b, 4);
	u16(b, 1);
	u16(b, 1);
	u16(b, 8);
	u16(b, 2);
	u16(b, 4); /* reduced-size encoding */
	u16(b, 152);
	u16(b, 8);
	u16(b, 153);
	u16(b, 8);
	u16(b, 0x8000 | 1);
	u16(b, 6);
	u32(b, 9);
	u16(b, 82);
	u16(b, 65535); /* interfaceName, variable */
	u16(b, 0x8000 | 1);
	u16(b, 8);
	u32(b, 29305);
	u16(b, 0x8000 | 2);
	u16(b, 4);
	u32(b, 29305);
	u16(b, 0x8000 | 6);
	u16(b, 1);
	u32(b, 29305);
	u16(b, 58);
	u16(b, 2);
	set_end(b);
}

static void ipfix_rec_300(struct buf *b, uint8_t host, size_t name_len)
{
	ip4(b, 172, 16, 0, host);
	ip4(b, 172, 16, 1, 1);
	u16(b, 5353);
	u16(b, 53);
	u8(b, 17);
	u64(b, 1234);
	u32(b, 10);
	u64(b, 1700000000123ULL);
	u64(b, 1700000004567ULL);
	u16(b, 0xdead);
	u32(b, 0xbeef0000); /* enterprise field */
	if (name_len < 255) {
		u8(b, (unsigned)name_len);
	} else {
		u8(b, 255);
		u16(b, (unsigned)name_len);
	}
	memset(b->b + b->n, 'x', name_len);
	b->n += name_len;
	u64(b, 4321);
	u32(b, 9);
	u8(b, 0x18);
	u16(b, 0x1064); /* priority bits above the 12-bit id */
}

static void test_ipfix_data(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	ipfix_header(&b, 1700000010, 0, 7);
	ipfix_template_300(&b, 300);
	set_begin(&b, 300);
	ipfix_rec_300(&b, 1, 4);
	ipfix_rec_300(&b, 2, 300); /* three-byte length */
	ipfix_rec_300(&b, 3, 0);
	set_end(&b);
	ipfix_end(&b);
	assert_int_equal(feed(c, &b, 1), 3);
	assert_int_equal(recs[0].version, 10);
	assert_int_equal(recs[0].domain, 7);
	assert_ip4(&recs[0].src, 172, 16, 0, 1);
	assert_ip4(&recs[2].src, 172, 16, 0, 3);
	assert_int_equal(recs[0].sport, 5353);
	assert_int_equal(recs[0].dport, 53);
	assert_int_equal(recs[0].proto, 17);
	assert_int_equal(recs[1].octets, 1234);
	assert_int_equal(recs[1].packets, 10);
	assert_int_equal(recs[1].first_us, 1700000000123000ULL);
	assert_int_equal(recs[1].last_us, 1700000004567000ULL);
	assert_true(recs[1].flags & NF_REC_BIFLOW);
	assert_int_equal(recs[1].rev_octets, 4321);
	assert_int_equal(recs[1].rev_packets, 9);
	assert_int_equal(recs[1].rev_tcp_flags, 0x18);
	assert_true(recs[2].flags & NF_REC_VLAN);
	assert_int_equal(recs[2].vlan, 0x064);
	nf_collector_free(c);
}

/* A template that carries an IPv6 source before an IPv4 one (found by
 * fuzz_netflow): the record's source is the IPv4 address alone, not its 4
 * bytes over the IPv6 one's other 12. */
static void test_ipfix_v6_then_v4(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 2);
	u16(&b, 310);
	u16(&b, 4);
	u16(&b, 27); /* sourceIPv6Address */
	u16(&b, 16);
	u16(&b, 8); /* sourceIPv4Address */
	u16(&b, 4);
	u16(&b, 28); /* destinationIPv6Address */
	u16(&b, 16);
	u16(&b, 12); /* destinationIPv4Address */
	u16(&b, 4);
	set_end(&b);
	set_begin(&b, 310);
	for (int i = 0; i < 16; i++)
		u8(&b, 0x20 + (unsigned)i);
	ip4(&b, 192, 0, 2, 1);
	for (int i = 0; i < 16; i++)
		u8(&b, 0x40 + (unsigned)i);
	ip4(&b, 198, 51, 100, 2);
	set_end(&b);
	ipfix_end(&b);
	assert_int_equal(feed(c, &b, 1), 1);
	assert_ip4(&recs[0].src, 192, 0, 2, 1);
	assert_ip4(&recs[0].dst, 198, 51, 100, 2);
	nf_collector_free(c);
}

static void test_ipfix_varlen_truncated(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	ipfix_header(&b, 1700000010, 0, 7);
	ipfix_template_300(&b, 300);
	set_begin(&b, 300);
	ipfix_rec_300(&b, 1, 4);
	ipfix_rec_300(&b, 2, 300);
	b.n -= 200; /* the second record's name runs past the set */
	set_end(&b);
	ipfix_end(&b);
	assert_int_equal(feed(c, &b, 1), 1);
	assert_int_equal(ctr(c, NF_C_RECORD_TRUNCATED), 1);

	/* Message length beyond the datagram, and below the header. */
	ipfix_header(&b, 1700000010, 1, 7);
	ipfix_end(&b);
	b.b[3] = 200;
	assert_int_equal(feed(c, &b, 1), YG_ETRUNC);
	b.b[3] = 15;
	assert_int_equal(feed(c, &b, 1), YG_EFORMAT);
	assert_int_equal(ctr(c, NF_C_BAD_LENGTH), 2);
	/* Bytes after the message length are not read. */
	ipfix_header(&b, 1700000010, 1, 7);
	ipfix_end(&b);
	u16(&b, 0xffff);
	u16(&b, 0);
	assert_int_equal(feed(c, &b, 1), 0);
	assert_int_equal(ctr(c, NF_C_BAD_SET), 0);
	nf_collector_free(c);
}

static void test_ipfix_withdrawal(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	ipfix_header(&b, 1700000010, 0, 7);
	ipfix_template_300(&b, 300);
	ipfix_template_300(&b, 301);
	ipfix_template_300(&b, 302);
	ipfix_end(&b);
	feed(c, &b, 1);
	assert_int_equal(nf_collector_stats(c)->templates, 3);
	/* Withdraw 301 alone. */
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 2);
	u16(&b, 301);
	u16(&b, 0);
	set_end(&b);
	set_begin(&b, 301);
	ipfix_rec_300(&b, 1, 0);
	set_end(&b);
	set_begin(&b, 300);
	ipfix_rec_300(&b, 1, 0);
	set_end(&b);
	ipfix_end(&b);
	assert_int_equal(feed(c, &b, 2), 1);
	assert_int_equal(ctr(c, NF_C_TEMPLATES_WITHDRAWN), 1);
	assert_int_equal(ctr(c, NF_C_NO_TEMPLATE), 1);
	/* Withdraw all data templates (id 2, count 0). */
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 2);
	u16(&b, 2);
	u16(&b, 0);
	set_end(&b);
	ipfix_end(&b);
	feed(c, &b, 3);
	assert_int_equal(ctr(c, NF_C_TEMPLATES_WITHDRAWN), 3);
	assert_int_equal(nf_collector_stats(c)->templates, 0);
	/* A changed layout under the same id is counted. */
	ipfix_header(&b, 1700000010, 0, 7);
	ipfix_template_300(&b, 300);
	set_begin(&b, 2);
	u16(&b, 300);
	u16(&b, 2);
	u16(&b, 8);
	u16(&b, 4);
	u16(&b, 12);
	u16(&b, 4);
	set_end(&b);
	ipfix_end(&b);
	feed(c, &b, 4);
	assert_int_equal(ctr(c, NF_C_TEMPLATES_CHANGED), 1);
	assert_int_equal(nf_collector_stats(c)->templates, 1);
	nf_collector_free(c);
}

static void test_ipfix_expiry_and_limits(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(2, 2, 60 * SEC);
	struct ip_addr e3 = exporter(3), e4 = exporter(4);

	(void)state;
	ipfix_header(&b, 1700000010, 0, 7);
	ipfix_template_300(&b, 300);
	ipfix_end(&b);
	feed(c, &b, 100 * SEC);
	/* Refreshed at 150 s: alive at 200 s. */
	feed(c, &b, 150 * SEC);
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 300);
	ipfix_rec_300(&b, 1, 0);
	set_end(&b);
	ipfix_end(&b);
	assert_int_equal(feed(c, &b, 200 * SEC), 1);
	/* Not refreshed for 61 s: dropped, the records counted. */
	assert_int_equal(feed(c, &b, 261 * SEC), 0);
	assert_int_equal(ctr(c, NF_C_TEMPLATES_EXPIRED), 1);
	assert_int_equal(ctr(c, NF_C_NO_TEMPLATE), 1);

	/* Two templates per session at most. */
	ipfix_header(&b, 1700000010, 0, 7);
	ipfix_template_300(&b, 300);
	ipfix_template_300(&b, 301);
	ipfix_template_300(&b, 302);
	ipfix_end(&b);
	feed(c, &b, 300 * SEC);
	assert_int_equal(ctr(c, NF_C_TEMPLATE_LIMIT), 1);
	assert_int_equal(nf_collector_stats(c)->templates, 2);

	/* Two sessions at most: a third exporter is refused while the others
	 * are alive, accepted once they have gone quiet and expired. */
	assert_int_equal(nf_collector_datagram(c, b.b, b.n, &e3, 1, 300 * SEC), 0);
	assert_int_equal(nf_collector_datagram(c, b.b, b.n, &e4, 1, 300 * SEC), YG_ELIMIT);
	assert_int_equal(ctr(c, NF_C_EXPORTER_LIMIT), 1);
	nf_collector_expire(c, 500 * SEC);
	assert_int_equal(nf_collector_stats(c)->exporters, 0);
	assert_int_equal(nf_collector_stats(c)->templates, 0);
	assert_int_equal(nf_collector_datagram(c, b.b, b.n, &e4, 1, 500 * SEC), 0);
	assert_int_equal(nf_collector_stats(c)->exporters, 1);
	nf_collector_free(c);
}

/* Options template 400 (scope meteringProcessId) with the fields given,
 * then one options record of their values. */
static void test_ipfix_options_sysinit_and_packet_sampling(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 3);
	u16(&b, 400);
	u16(&b, 4);
	u16(&b, 1);
	u16(&b, 143);
	u16(&b, 4);
	u16(&b, 160);
	u16(&b, 8);
	u16(&b, 305);
	u16(&b, 4);
	u16(&b, 306);
	u16(&b, 4);
	set_end(&b);
	/* Data template 401: src dst pkts octets flowStart/EndSysUpTime. */
	set_begin(&b, 2);
	u16(&b, 401);
	u16(&b, 6);
	u16(&b, 8);
	u16(&b, 4);
	u16(&b, 12);
	u16(&b, 4);
	u16(&b, 2);
	u16(&b, 4);
	u16(&b, 1);
	u16(&b, 4);
	u16(&b, 22);
	u16(&b, 4);
	u16(&b, 21);
	u16(&b, 4);
	set_end(&b);
	/* Options: booted at 1,699,999,000,000 ms; 1 packet in 1 + 9 taken. */
	set_begin(&b, 400);
	u32(&b, 1);
	u64(&b, 1699999000000ULL);
	u32(&b, 1);
	u32(&b, 9);
	set_end(&b);
	set_begin(&b, 401);
	ip4(&b, 1, 1, 1, 1);
	ip4(&b, 2, 2, 2, 2);
	u32(&b, 3);
	u32(&b, 120);
	u32(&b, 5000);
	u32(&b, 7500);
	set_end(&b);
	ipfix_end(&b);
	assert_int_equal(feed(c, &b, 1), 1);
	assert_int_equal(recs[0].sampling, 10);
	assert_int_equal(recs[0].packets, 30);
	assert_int_equal(recs[0].octets, 1200);
	assert_int_equal(recs[0].first_us, 1699999005000000ULL);
	assert_int_equal(recs[0].last_us, 1699999007500000ULL);

	/* Withdraw the options templates (id 3 in set 3); what they said
	 * stays in force. */
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 3);
	u16(&b, 3);
	u16(&b, 0);
	set_end(&b);
	ipfix_end(&b);
	feed(c, &b, 2);
	assert_int_equal(ctr(c, NF_C_TEMPLATES_WITHDRAWN), 1);
	assert_int_equal(nf_collector_stats(c)->templates, 1);
	nf_collector_free(c);
}

static void test_ipfix_uptime_without_init(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 2);
	u16(&b, 401);
	u16(&b, 3);
	u16(&b, 8);
	u16(&b, 4);
	u16(&b, 12);
	u16(&b, 4);
	u16(&b, 22);
	u16(&b, 4);
	set_end(&b);
	set_begin(&b, 401);
	ip4(&b, 1, 1, 1, 1);
	ip4(&b, 2, 2, 2, 2);
	u32(&b, 5000);
	set_end(&b);
	ipfix_end(&b);
	assert_int_equal(feed(c, &b, 1), 1);
	assert_true(recs[0].flags & NF_REC_NO_TIME);
	assert_int_equal(recs[0].first_us, 1700000010ULL * SEC);
	nf_collector_free(c);
}

static void test_ipfix_sampling_variants(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);
	uint64_t prob;
	double p = 0.25;

	(void)state;
	memcpy(&prob, &p, 8);
	ipfix_header(&b, 1700000010, 0, 7);
	/* Options 402: scope selectorId (302); samplingProbability (311). */
	set_begin(&b, 3);
	u16(&b, 402);
	u16(&b, 2);
	u16(&b, 1);
	u16(&b, 302);
	u16(&b, 8);
	u16(&b, 311);
	u16(&b, 8);
	set_end(&b);
	/* Options 403: samplerId scope, samplerRandomInterval (50). */
	set_begin(&b, 3);
	u16(&b, 403);
	u16(&b, 2);
	u16(&b, 1);
	u16(&b, 48);
	u16(&b, 2);
	u16(&b, 50);
	u16(&b, 4);
	set_end(&b);
	/* Data 404: src dst pkts selectorId. */
	set_begin(&b, 2);
	u16(&b, 404);
	u16(&b, 4);
	u16(&b, 8);
	u16(&b, 4);
	u16(&b, 12);
	u16(&b, 4);
	u16(&b, 2);
	u16(&b, 4);
	u16(&b, 302);
	u16(&b, 8);
	set_end(&b);
	/* Data 405: src dst pkts samplingInterval (34) in the record itself. */
	set_begin(&b, 2);
	u16(&b, 405);
	u16(&b, 4);
	u16(&b, 8);
	u16(&b, 4);
	u16(&b, 12);
	u16(&b, 4);
	u16(&b, 2);
	u16(&b, 4);
	u16(&b, 34);
	u16(&b, 4);
	set_end(&b);
	set_begin(&b, 402);
	u64(&b, 77);
	u64(&b, prob);
	set_end(&b);
	set_begin(&b, 403);
	u16(&b, 78);
	u32(&b, 500);
	set_end(&b);
	set_begin(&b, 404);
	ip4(&b, 1, 1, 1, 1);
	ip4(&b, 2, 2, 2, 2);
	u32(&b, 1);
	u64(&b, 77);
	ip4(&b, 1, 1, 1, 1);
	ip4(&b, 2, 2, 2, 2);
	u32(&b, 1);
	u64(&b, 78);
	set_end(&b);
	set_begin(&b, 405);
	ip4(&b, 1, 1, 1, 1);
	ip4(&b, 2, 2, 2, 2);
	u32(&b, 1);
	u32(&b, 3);
	set_end(&b);
	ipfix_end(&b);
	assert_int_equal(feed(c, &b, 1), 3);
	assert_int_equal(recs[0].sampling, 4);
	assert_int_equal(recs[1].sampling, 500);
	assert_int_equal(recs[2].sampling, 3);
	assert_int_equal(recs[2].packets, 3);
	nf_collector_free(c);
}

static void test_ipfix_single_sampler(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	ipfix_header(&b, 1700000010, 0, 7);
	/* Options 410: scope selectorId, samplingPacketInterval/Space 1 in 100. */
	set_begin(&b, 3);
	u16(&b, 410);
	u16(&b, 3);
	u16(&b, 1);
	u16(&b, 302);
	u16(&b, 4);
	u16(&b, 305);
	u16(&b, 4);
	u16(&b, 306);
	u16(&b, 4);
	set_end(&b);
	/* Data 411 names no sampler. */
	set_begin(&b, 2);
	u16(&b, 411);
	u16(&b, 3);
	u16(&b, 8);
	u16(&b, 4);
	u16(&b, 12);
	u16(&b, 4);
	u16(&b, 2);
	u16(&b, 4);
	set_end(&b);
	set_begin(&b, 411);
	ip4(&b, 1, 1, 1, 1);
	ip4(&b, 2, 2, 2, 2);
	u32(&b, 1);
	set_end(&b);
	set_begin(&b, 410);
	u32(&b, 5);
	u32(&b, 1);
	u32(&b, 99);
	set_end(&b);
	set_begin(&b, 411);
	ip4(&b, 1, 1, 1, 1);
	ip4(&b, 2, 2, 2, 2);
	u32(&b, 1);
	set_end(&b);
	/* A second sampler: which one applies is no longer known. */
	set_begin(&b, 410);
	u32(&b, 6);
	u32(&b, 1);
	u32(&b, 9);
	set_end(&b);
	set_begin(&b, 411);
	ip4(&b, 1, 1, 1, 1);
	ip4(&b, 2, 2, 2, 2);
	u32(&b, 1);
	set_end(&b);
	ipfix_end(&b);
	assert_int_equal(feed(c, &b, 1), 3);
	assert_int_equal(recs[0].sampling, 1);
	assert_int_equal(recs[1].sampling, 100);
	assert_int_equal(recs[1].packets, 100);
	assert_int_equal(recs[2].sampling, 1);
	nf_collector_free(c);
}

static void test_ipfix_ntp_times_v6_icmp(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);
	uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8};

	(void)state;
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 2);
	u16(&b, 500);
	u16(&b, 6);
	u16(&b, 27);
	u16(&b, 16);
	u16(&b, 28);
	u16(&b, 16);
	u16(&b, 4);
	u16(&b, 1);
	u16(&b, 139);
	u16(&b, 2);
	u16(&b, 156);
	u16(&b, 8); /* nanoseconds */
	u16(&b, 155);
	u16(&b, 8); /* microseconds */
	set_end(&b);
	set_begin(&b, 500);
	memcpy(b.b + b.n, a6, 16);
	b.n += 16;
	a6[15] = 1;
	memcpy(b.b + b.n, a6, 16);
	b.n += 16;
	u8(&b, 58);
	u16(&b, 128 << 8); /* echo request */
	u32(&b, (uint32_t)(1700000000ULL + 2208988800ULL));
	u32(&b, 0x80000000u); /* .5 s */
	u32(&b, (uint32_t)(1700000001ULL + 2208988800ULL));
	u32(&b, 0x40000000u | 0x7ff); /* .25 s; the low 11 bits ignored */
	set_end(&b);
	ipfix_end(&b);
	assert_int_equal(feed(c, &b, 1), 1);
	assert_int_equal(recs[0].src.family, 6);
	assert_int_equal(recs[0].dst.a[15], 1);
	assert_int_equal(recs[0].proto, 58);
	assert_int_equal(recs[0].sport, 0);
	assert_int_equal(recs[0].dport, 128 << 8);
	assert_int_equal(recs[0].first_us, 1700000000500000ULL);
	assert_int_equal(recs[0].last_us, 1700000001250000ULL);
	nf_collector_free(c);
}

static void test_ipfix_sequence(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	/* IPFIX counts data records: 100 + 2 records, then 102 expected. */
	ipfix_header(&b, 1700000010, 100, 7);
	ipfix_template_300(&b, 300);
	set_begin(&b, 300);
	ipfix_rec_300(&b, 1, 0);
	ipfix_rec_300(&b, 2, 0);
	set_end(&b);
	ipfix_end(&b);
	feed(c, &b, 1);
	ipfix_header(&b, 1700000010, 102, 7);
	set_begin(&b, 300);
	ipfix_rec_300(&b, 1, 0);
	set_end(&b);
	ipfix_end(&b);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_SEQ_GAPS), 0);
	ipfix_header(&b, 1700000010, 110, 7);
	ipfix_end(&b);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_SEQ_GAPS), 1);
	assert_int_equal(ctr(c, NF_C_SEQ_LOST), 7);
	/* A message with a data set of unknown template: its record count is
	 * unknown, so the next message is not called a gap. */
	ipfix_header(&b, 1700000010, 110, 7);
	set_begin(&b, 999);
	zeros(&b, 40);
	set_end(&b);
	ipfix_end(&b);
	feed(c, &b, 1);
	ipfix_header(&b, 1700000010, 140, 7);
	ipfix_end(&b);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_SEQ_GAPS), 1);
	nf_collector_free(c);
}

static void test_ipfix_hostile_templates(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);

	(void)state;
	/* 600 fields (> NF_MAX_FIELDS): skipped whole, the next template read. */
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 2);
	u16(&b, 300);
	u16(&b, 600);
	for (int i = 0; i < 600; i++) {
		u16(&b, 8);
		u16(&b, 4);
	}
	u16(&b, 301);
	u16(&b, 2);
	u16(&b, 8);
	u16(&b, 4);
	u16(&b, 12);
	u16(&b, 4);
	set_end(&b);
	ipfix_end(&b);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_TEMPLATE_FIELDS), 1);
	assert_int_equal(nf_collector_stats(c)->templates, 1);
	/* Options template with scope count 0, and above its field count. */
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 3);
	u16(&b, 302);
	u16(&b, 1);
	u16(&b, 0);
	u16(&b, 8);
	u16(&b, 4);
	set_end(&b);
	set_begin(&b, 3);
	u16(&b, 303);
	u16(&b, 1);
	u16(&b, 2);
	u16(&b, 8);
	u16(&b, 4);
	set_end(&b);
	ipfix_end(&b);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_BAD_TEMPLATE), 2);
	/* An enterprise specifier cut in the middle of its number. */
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 2);
	u16(&b, 304);
	u16(&b, 1);
	u16(&b, 0x8001);
	u16(&b, 4);
	u16(&b, 0);
	set_end(&b);
	ipfix_end(&b);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_BAD_TEMPLATE), 3);
	/* Set id 1 (reserved in IPFIX), and a set length of 3. */
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 1);
	zeros(&b, 4);
	set_end(&b);
	u16(&b, 2);
	u16(&b, 3);
	zeros(&b, 8);
	ipfix_end(&b);
	feed(c, &b, 1);
	assert_int_equal(ctr(c, NF_C_RESERVED_SET), 1);
	assert_int_equal(ctr(c, NF_C_BAD_SET), 1);
	assert_int_equal(nf_collector_stats(c)->templates, 1);
	nf_collector_free(c);
}

static void test_many_templates_and_quiet_exporters(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(1, 64, 60 * SEC);
	struct ip_addr e2 = exporter(2);

	(void)state;
	/* 50 templates announced in descending id order, each used once. */
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 2);
	for (unsigned id = 1000; id > 950; id--) {
		u16(&b, id);
		u16(&b, 3);
		u16(&b, 8);
		u16(&b, 4);
		u16(&b, 12);
		u16(&b, 4);
		u16(&b, 2);
		u16(&b, 2);
	}
	set_end(&b);
	for (unsigned id = 951; id <= 1000; id++) {
		set_begin(&b, id);
		ip4(&b, 1, 1, 1, 1);
		ip4(&b, 2, 2, 2, 2);
		u16(&b, id);
		set_end(&b);
	}
	ipfix_end(&b);
	assert_int_equal(feed(c, &b, 1 * SEC), 50);
	for (int i = 0; i < 50; i++)
		assert_int_equal(recs[i].packets, 951 + i);
	assert_int_equal(nf_collector_stats(c)->templates, 50);

	/* One session at most: a second exporter is refused while the first
	 * is alive, and takes its place, without an nf_collector_expire()
	 * call, once its templates have expired. */
	ipfix_header(&b, 1700000010, 0, 7);
	ipfix_end(&b);
	assert_int_equal(nf_collector_datagram(c, b.b, b.n, &e2, 1, 30 * SEC), YG_ELIMIT);
	assert_int_equal(nf_collector_datagram(c, b.b, b.n, &e2, 1, 30 * SEC + 1), YG_ELIMIT);
	assert_int_equal(nf_collector_datagram(c, b.b, b.n, &e2, 1, 100 * SEC), 0);
	assert_int_equal(ctr(c, NF_C_EXPORTER_LIMIT), 2);
	assert_int_equal(ctr(c, NF_C_TEMPLATES_EXPIRED), 50);
	assert_int_equal(nf_collector_stats(c)->templates, 0);
	nf_collector_free(c);
}

/* The largest message IPFIX can carry, of the smallest records: one pass,
 * every record read, nothing past the end. */
static void test_ipfix_largest_message(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);
	size_t n;

	(void)state;
	ipfix_header(&b, 1700000010, 0, 7);
	set_begin(&b, 2);
	u16(&b, 256);
	u16(&b, 1);
	u16(&b, 4);
	u16(&b, 1); /* protocolIdentifier alone: records of one byte, no address */
	set_end(&b);
	set_begin(&b, 256);
	n = 65535 - b.n;
	zeros(&b, n);
	set_end(&b);
	ipfix_end(&b);
	assert_int_equal(b.n, 65535);
	assert_int_equal(feed(c, &b, 1), 0);
	assert_int_equal(ctr(c, NF_C_NO_ADDRESS), n);
	/* A datagram longer than its message: the rest is not read. */
	b.n = 65535 + 100;
	assert_int_equal(feed(c, &b, 1), 0);
	assert_int_equal(ctr(c, NF_C_NO_ADDRESS), 2 * n);
	nf_collector_free(c);
}

static void test_alloc_failure(void **state)
{
	static struct buf b;
	struct nf_collector *c;

	(void)state;
	/* Fail each allocation of a session and its template in turn. */
	for (long n = 0; n < 4; n++) {
		c = collector(8, 8, 0);
		assert_non_null(c);
		ipfix_header(&b, 1700000010, 0, 7);
		ipfix_template_300(&b, 300);
		set_begin(&b, 300);
		ipfix_rec_300(&b, 1, 0);
		set_end(&b);
		ipfix_end(&b);
		yg_alloc_fail_after(n);
		int rc = feed(c, &b, 1);
		yg_alloc_fail_after(-1);
		assert_true(rc == 1 || rc == 0 || rc == YG_ELIMIT);
		if (rc != 1)
			assert_true(ctr(c, NF_C_NOMEM) >= 1);
		nf_collector_free(c);
	}
	for (long n = 0; n < 4; n++) {
		struct nf_config cfg = {.max_exporters = 8, .max_templates = 8};
		yg_alloc_fail_after(n);
		c = nf_collector_new(&cfg, on_record, NULL);
		yg_alloc_fail_after(-1);
		assert_null(c);
	}
}

static void test_config_and_names(void **state)
{
	struct nf_config bad = {.max_exporters = 0, .max_templates = 8};

	(void)state;
	assert_null(nf_collector_new(&bad, on_record, NULL));
	bad.max_exporters = 8;
	bad.max_templates = 70000;
	assert_null(nf_collector_new(&bad, on_record, NULL));
	for (int i = 0; i < NF_C_MAX; i++) {
		assert_non_null(nf_counter_name(i));
		assert_string_not_equal(nf_counter_name(i), "unknown");
	}
	assert_string_equal(nf_counter_name(NF_C_MAX), "unknown");
}

struct seen {
	int n;
	uint64_t datagrams;
};

static void on_session(void *ctx, const struct nf_session_info *s)
{
	struct seen *seen = ctx;

	seen->n++;
	seen->datagrams += s->datagrams;
}

static void test_sessions(void **state)
{
	static struct buf b;
	struct nf_collector *c = collector(8, 8, 0);
	struct seen seen = {0};

	(void)state;
	v9_header(&b, 60000, 1700000000, 1, 0);
	feed(c, &b, 1);
	feed(c, &b, 1);
	v9_header(&b, 60000, 1700000000, 1, 5);
	feed(c, &b, 1);
	nf_collector_sessions(c, on_session, &seen);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.datagrams, 3);
	nf_collector_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v5),
	    cmocka_unit_test(test_v5_sampling_and_wrap),
	    cmocka_unit_test(test_v5_hostile),
	    cmocka_unit_test(test_v9_template_and_data),
	    cmocka_unit_test(test_v9_data_before_template),
	    cmocka_unit_test(test_v9_options_sampling),
	    cmocka_unit_test(test_v9_sampler_table),
	    cmocka_unit_test(test_v9_sequence),
	    cmocka_unit_test(test_v9_hostile),
	    cmocka_unit_test(test_ipfix_data),
	    cmocka_unit_test(test_ipfix_v6_then_v4),
	    cmocka_unit_test(test_ipfix_varlen_truncated),
	    cmocka_unit_test(test_ipfix_withdrawal),
	    cmocka_unit_test(test_ipfix_expiry_and_limits),
	    cmocka_unit_test(test_ipfix_options_sysinit_and_packet_sampling),
	    cmocka_unit_test(test_ipfix_uptime_without_init),
	    cmocka_unit_test(test_ipfix_sampling_variants),
	    cmocka_unit_test(test_ipfix_single_sampler),
	    cmocka_unit_test(test_ipfix_ntp_times_v6_icmp),
	    cmocka_unit_test(test_ipfix_sequence),
	    cmocka_unit_test(test_ipfix_hostile_templates),
	    cmocka_unit_test(test_many_templates_and_quiet_exporters),
	    cmocka_unit_test(test_ipfix_largest_message),
	    cmocka_unit_test(test_alloc_failure),
	    cmocka_unit_test(test_config_and_names),
	    cmocka_unit_test(test_sessions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
