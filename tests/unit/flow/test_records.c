/* Unit tests for the pipeline's flow-record entry point
 * (src/pipeline/records.c): the two directions' records of a connection
 * become one flow with the side that began it as client; a lone SYN-ACK
 * is the receiver's; a biflow needs no wait; a record waits no longer than
 * pair_wait; the table grows past its first size and still pairs; and
 * records outside the monitoring authorizations are dropped. The flows
 * are read back from the EVE output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/snap.h"
#include "decode/scope.h"
#include "netflow/netflow.h"
#include "output/eve.h"
#include "pipeline/pipeline.h"

#define SEC 1000000ULL
#define T0 (1700000000ULL * SEC)

struct rig {
	FILE *f;
	struct eve *e;
	struct pipeline *p;
	char *outp; /* the output, freed by rig_free */
};

static void rig_free(struct rig *r)
{
	free(r->outp);
	free(r);
}

static void rig_open(struct rig *r, struct snap_handle *scope, int detect)
{
	static struct detect_config dcfg;
	struct pipeline_config cfg = {
	    .flow = {.max_flows = 100000,
		     .idle_timeout_us = 60 * SEC,
		     .active_timeout_us = 300 * SEC,
		     .closed_timeout_us = 30 * SEC},
	    .pair_wait_us = 5 * SEC,
	    .scope = scope,
	};

	detect_config_defaults(&dcfg);
	if (detect)
		cfg.detect = &dcfg;
	r->f = tmpfile();
	assert_non_null(r->f);
	r->e = eve_new(fileno(r->f));
	assert_non_null(r->e);
	r->p = pipeline_new(&cfg, r->e);
	assert_non_null(r->p);
}

/* Ends the pipeline and returns its EVE output. */
static const char *rig_close(struct rig *r)
{
	char *buf;
	long n;

	pipeline_finish(r->p);
	pipeline_free(r->p);
	assert_int_equal(eve_free(r->e), 0);
	n = lseek(fileno(r->f), 0, SEEK_END);
	assert_true(n >= 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fileno(r->f), buf, (size_t)n, 0), n);
	buf[n] = '\0';
	fclose(r->f);
	r->outp = buf;
	return buf;
}

static void rec(struct nf_record *x, const char *src, uint16_t sport, const char *dst,
		uint16_t dport, uint8_t proto, uint8_t flags, uint64_t pkts, uint64_t first_s)
{
	memset(x, 0, sizeof(*x));
	assert_int_equal(ipaddr_parse(src, &x->src), 0);
	assert_int_equal(ipaddr_parse(dst, &x->dst), 0);
	x->sport = sport;
	x->dport = dport;
	x->proto = proto;
	x->tcp_flags = flags;
	x->packets = pkts;
	x->octets = pkts * 60;
	x->first_us = T0 + first_s * SEC;
	x->last_us = x->first_us + 2 * SEC;
	x->version = 10;
	x->sampling = 1;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* The server's record first: still one flow, the client the side that
 * sent the SYN, each side's packets in its direction. */
static void test_pair_and_client(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct nf_record a, b;
	const char *out;

	(void)state;
	rig_open(r, NULL, 0);
	rec(&a, "192.0.2.80", 443, "10.0.0.5", 50000, 6, 0x12 | 0x10 | 0x01, 7, 0);
	rec(&b, "10.0.0.5", 50000, "192.0.2.80", 443, 6, 0x02 | 0x10 | 0x08 | 0x01, 9, 0);
	pipeline_record(r->p, &a, T0);
	assert_int_equal(pipeline_record_stats(r->p)->waiting, 1);
	pipeline_record(r->p, &b, T0);
	assert_int_equal(pipeline_record_stats(r->p)->paired, 1);
	assert_int_equal(pipeline_record_stats(r->p)->waiting, 0);
	out = rig_close(r);
	assert_int_equal(count(out, "\"event_type\":\"flow\""), 1);
	assert_non_null(strstr(out, "\"src_ip\":\"10.0.0.5\",\"src_port\":50000,"
				    "\"dest_ip\":\"192.0.2.80\",\"dest_port\":443"));
	assert_non_null(strstr(out, "\"pkts_toserver\":9,\"pkts_toclient\":7"));
	rig_free(r);
}

/* A SYN-ACK nobody asked for is the receiver's flow (the victim of a
 * reflection), as the flow table takes it; a lone SYN is its sender's. */
static void test_lone_records(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct nf_record a, b;
	const char *out;

	(void)state;
	rig_open(r, NULL, 0);
	rec(&a, "198.51.100.7", 80, "10.0.0.9", 4444, 6, 0x12, 1, 0);
	rec(&b, "10.0.0.9", 5555, "198.51.100.8", 22, 6, 0x02, 3, 0);
	pipeline_record(r->p, &a, T0);
	pipeline_record(r->p, &b, T0);
	/* Past the wait: both go alone. */
	pipeline_advance(r->p, T0 + 6 * SEC);
	assert_int_equal(pipeline_record_stats(r->p)->flows, 2);
	assert_int_equal(pipeline_record_stats(r->p)->paired, 0);
	out = rig_close(r);
	assert_non_null(strstr(out, "\"src_ip\":\"10.0.0.9\",\"src_port\":4444,"
				    "\"dest_ip\":\"198.51.100.7\",\"dest_port\":80"));
	assert_non_null(strstr(out, "\"pkts_toserver\":0,\"pkts_toclient\":1"));
	assert_non_null(strstr(out, "\"src_ip\":\"10.0.0.9\",\"src_port\":5555"));
	rig_free(r);
}

/* The same ports a long time apart are two connections, not a pair. */
static void test_no_pair_across_time(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct nf_record a, b;

	(void)state;
	rig_open(r, NULL, 0);
	rec(&a, "10.0.0.5", 50000, "192.0.2.80", 53, 17, 0, 1, 0);
	rec(&b, "192.0.2.80", 53, "10.0.0.5", 50000, 17, 0, 1, 3600);
	pipeline_record(r->p, &a, T0);
	pipeline_record(r->p, &b, T0);
	assert_int_equal(pipeline_record_stats(r->p)->paired, 0);
	assert_int_equal(pipeline_record_stats(r->p)->waiting, 2);
	assert_int_equal(count(rig_close(r), "\"event_type\":\"flow\""), 2);
	rig_free(r);
}

/* A biflow is one flow at once; many connections at a time make the
 * table grow past its first 1,024 entries, and every one still pairs. */
static void test_biflow_and_growth(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct nf_record a, b;
	char ip[32];
	const char *out;

	(void)state;
	rig_open(r, NULL, 1);
	rec(&a, "10.0.0.1", 40000, "192.0.2.1", 443, 6, 0x1a, 5, 0);
	a.flags = NF_REC_BIFLOW;
	a.rev_packets = 4;
	a.rev_octets = 400;
	a.rev_tcp_flags = 0x12 | 0x10;
	pipeline_record(r->p, &a, T0);
	assert_int_equal(pipeline_record_stats(r->p)->biflows, 1);
	for (int i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250 + 1);
		rec(&a, ip, (uint16_t)(10000 + i), "192.0.2.2", 80, 6, 0x1b, 6, 1);
		pipeline_record(r->p, &a, T0 + SEC);
	}
	assert_int_equal(pipeline_record_stats(r->p)->waiting, 5000);
	for (int i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250 + 1);
		rec(&b, "192.0.2.2", 80, ip, (uint16_t)(10000 + i), 6, 0x1b, 5, 1);
		pipeline_record(r->p, &b, T0 + SEC);
	}
	assert_int_equal(pipeline_record_stats(r->p)->paired, 5000);
	assert_int_equal(pipeline_record_stats(r->p)->waiting, 0);
	out = rig_close(r);
	assert_int_equal(count(out, "\"event_type\":\"flow\""), 5001);
	assert_int_equal(count(out, "\"pkts_toserver\":6,\"pkts_toclient\":5"), 5000);
	assert_non_null(strstr(out, "\"pkts_toserver\":5,\"pkts_toclient\":4"));
	rig_free(r);
}

/* Flows outside the authorizations are counted and never written. */
static void test_scope(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct snap_handle *h = snap_handle_new();
	struct decode_scope *s = decode_scope_new();
	struct ip_addr net;
	struct nf_record a;
	const char *out;

	(void)state;
	assert_non_null(h);
	assert_non_null(s);
	assert_int_equal(decode_scope_add_auth(s, 1), 0);
	assert_int_equal(ipaddr_parse("10.0.0.0", &net), 0);
	assert_int_equal(decode_scope_add_prefix(s, &net, 8), 0);
	snap_handle_publish(h, decode_scope_ref(s));
	rig_open(r, h, 1);
	rec(&a, "10.0.0.5", 1234, "192.0.2.80", 80, 17, 0, 2, 0);
	pipeline_record(r->p, &a, T0);
	rec(&a, "172.16.0.5", 1234, "192.0.2.80", 80, 17, 0, 2, 0);
	pipeline_record(r->p, &a, T0);
	pipeline_advance(r->p, T0 + 10 * SEC);
	assert_int_equal(pipeline_record_stats(r->p)->unauthorized, 1);
	out = rig_close(r);
	assert_non_null(strstr(out, "10.0.0.5"));
	assert_null(strstr(out, "172.16.0.5"));
	snap_handle_free(h);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pair_and_client),
	    cmocka_unit_test(test_lone_records),
	    cmocka_unit_test(test_no_pair_across_time),
	    cmocka_unit_test(test_biflow_and_growth),
	    cmocka_unit_test(test_scope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
