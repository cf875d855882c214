/* Unit tests for src/flow: direction, initiator, TCP state, timeouts,
 * eviction, port reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "flow/flow.h"

#define SEC 1000000ULL
#define MAX_ENDED 64

struct ended {
	struct flow f;
	enum flow_end_reason why;
};

static struct ended ended[MAX_ENDED];
static int n_ended;

static void on_end(void *ctx, const struct flow *f, enum flow_end_reason why)
{
	(void)ctx;
	assert_true(n_ended < MAX_ENDED);
	ended[n_ended].f = *f;
	ended[n_ended].why = why;
	n_ended++;
}

static struct flow_table *table(uint32_t max_flows)
{
	struct flow_config cfg = {.max_flows = max_flows,
				  .idle_timeout_us = 60 * SEC,
				  .active_timeout_us = 300 * SEC,
				  .closed_timeout_us = 10 * SEC};
	n_ended = 0;
	return flow_table_new(&cfg, on_end, NULL);
}

/* A TCP packet from 10.0.0.a:sp to 10.0.0.b:dp. */
static struct packet tcp(uint8_t a, uint16_t sp, uint8_t b, uint16_t dp, uint8_t flags,
			 uint64_t ts, uint32_t len)
{
	struct packet p;
	uint8_t ip[4] = {10, 0, 0, 0};

	memset(&p, 0, sizeof(p));
	ip[3] = a;
	ipaddr_set4(&p.src, ip);
	ip[3] = b;
	ipaddr_set4(&p.dst, ip);
	p.ip_proto = 6;
	p.flags = PKT_HAS_PORTS;
	p.sport = sp;
	p.dport = dp;
	p.tcp_flags = flags;
	p.ts_us = ts;
	p.wirelen = len;
	p.ip_len = len - 14; /* as if behind an Ethernet header */
	return p;
}

static unsigned last_events;

static struct flow *feed(struct flow_table *t, struct packet p, int *dir)
{
	return flow_table_update(t, &p, dir, &last_events);
}

static void test_bidirectional_handshake(void **state)
{
	struct flow_table *t = table(16);
	struct flow *f;
	int dir;

	(void)state;
	/* Client 10.0.0.9 is the larger address: canonical order must not
	 * decide who the client is. */
	f = feed(t, tcp(9, 40000, 1, 443, TCP_SYN, 1 * SEC, 60), &dir);
	assert_int_equal(dir, FLOW_TOSERVER);
	assert_int_equal(f->state, FLOW_STATE_NEW);
	assert_int_equal(last_events, FLOW_EV_NEW);
	f = feed(t, tcp(1, 443, 9, 40000, TCP_SYN | TCP_ACK, 1 * SEC + 10, 60), &dir);
	assert_int_equal(dir, FLOW_TOCLIENT);
	f = feed(t, tcp(9, 40000, 1, 443, TCP_ACK, 1 * SEC + 20, 54), &dir);
	assert_int_equal(f->state, FLOW_STATE_ESTABLISHED);
	assert_int_equal(last_events, FLOW_EV_ESTABLISHED);
	f = feed(t, tcp(9, 40000, 1, 443, TCP_ACK, 1 * SEC + 30, 54), &dir);
	assert_int_equal(last_events, 0);
	f = feed(t, tcp(9, 40000, 1, 443, TCP_ACK | TCP_PSH, 2 * SEC, 500), &dir);
	f = feed(t, tcp(9, 40000, 1, 443, TCP_FIN | TCP_ACK, 3 * SEC, 54), &dir);
	assert_int_equal(f->state, FLOW_STATE_ESTABLISHED);
	f = feed(t, tcp(1, 443, 9, 40000, TCP_FIN | TCP_ACK, 3 * SEC + 5, 54), &dir);
	assert_int_equal(f->state, FLOW_STATE_CLOSED);
	assert_int_equal(flow_table_stats(t)->active, 1);
	flow_table_free(t);

	assert_int_equal(n_ended, 1);
	f = &ended[0].f;
	assert_int_equal(ended[0].why, FLOW_END_SHUTDOWN);
	assert_int_equal(f->key.addr[f->client][3], 9);
	assert_int_equal(f->key.port[f->client], 40000);
	assert_int_equal(f->pkts[FLOW_TOSERVER], 5);
	assert_int_equal(f->pkts[FLOW_TOCLIENT], 2);
	assert_int_equal(f->bytes[FLOW_TOSERVER], 60 + 54 + 54 + 500 + 54);
	assert_int_equal(f->bytes[FLOW_TOCLIENT], 60 + 54);
	assert_int_equal(f->ip_bytes[FLOW_TOSERVER], 46 + 40 + 40 + 486 + 40);
	assert_int_equal(f->ip_bytes[FLOW_TOCLIENT], 46 + 40);
	assert_int_equal(f->tcp_flags[FLOW_TOCLIENT], TCP_SYN | TCP_ACK | TCP_FIN);
	assert_int_equal(f->first_us, 1 * SEC);
	assert_int_equal(f->last_us, 3 * SEC + 5);
}

static void test_synack_first_corrects_initiator(void **state)
{
	struct flow_table *t = table(16);
	struct flow *f;
	int dir;

	(void)state;
	f = feed(t, tcp(1, 80, 2, 5555, TCP_SYN | TCP_ACK, SEC, 60), &dir);
	/* The receiver of the SYN-ACK opened the connection. */
	assert_int_equal(dir, FLOW_TOCLIENT);
	assert_int_equal(f->key.port[f->client], 5555);
	f = feed(t, tcp(2, 5555, 1, 80, TCP_ACK, SEC + 1, 54), &dir);
	assert_int_equal(dir, FLOW_TOSERVER);
	flow_table_free(t);
}

static void test_idle_timeout_and_closed_timeout(void **state)
{
	struct flow_table *t = table(16);
	int dir;

	(void)state;
	feed(t, tcp(1, 1000, 2, 80, TCP_SYN, 0, 60), &dir);
	feed(t, tcp(3, 1000, 4, 80, TCP_SYN, 1 * SEC, 60), &dir);
	feed(t, tcp(3, 1000, 4, 80, TCP_RST, 2 * SEC, 60), &dir); /* closed */
	/* 13 s later: the closed flow (10 s) is over, the open one (60 s) is not. */
	feed(t, tcp(5, 1000, 6, 80, TCP_SYN, 13 * SEC, 60), &dir);
	assert_int_equal(n_ended, 1);
	assert_int_equal(ended[0].why, FLOW_END_TIMEOUT);
	assert_int_equal(ended[0].f.key.addr[0][3], 3);
	assert_int_equal(ended[0].f.state, FLOW_STATE_CLOSED);
	/* 61 s after its last packet, the first flow times out. */
	feed(t, tcp(5, 1000, 6, 80, TCP_ACK, 61 * SEC + 1, 60), &dir);
	assert_int_equal(n_ended, 2);
	assert_int_equal(ended[1].f.key.addr[0][3], 1);
	assert_int_equal(flow_table_stats(t)->active, 1);
	flow_table_free(t);
	assert_int_equal(n_ended, 3);
	assert_int_equal(ended[2].why, FLOW_END_SHUTDOWN);
}

/* A live capture's clock goes on with no packet: flows idle past their
 * timeout end then, as a packet of that time would have ended them; a
 * time gone back ends nothing. */
static void test_advance_without_packets(void **state)
{
	struct flow_table *t = table(16);
	int dir;

	(void)state;
	feed(t, tcp(1, 1000, 2, 80, TCP_SYN, 0, 60), &dir);
	feed(t, tcp(3, 1000, 4, 80, TCP_SYN, 1 * SEC, 60), &dir);
	feed(t, tcp(3, 1000, 4, 80, TCP_RST, 2 * SEC, 60), &dir); /* closed */
	flow_table_advance(t, 5 * SEC);
	assert_int_equal(n_ended, 0);
	flow_table_advance(t, 13 * SEC);
	assert_int_equal(n_ended, 1);
	assert_int_equal(ended[0].f.key.addr[0][3], 3);
	flow_table_advance(t, 1 * SEC); /* back in time: nothing */
	assert_int_equal(n_ended, 1);
	flow_table_advance(t, 60 * SEC + 1);
	assert_int_equal(n_ended, 2);
	assert_int_equal(ended[1].why, FLOW_END_TIMEOUT);
	assert_int_equal(ended[1].f.key.addr[0][3], 1);
	assert_int_equal(flow_table_stats(t)->active, 0);
	flow_table_free(t);
	assert_int_equal(n_ended, 2);
}

static void test_active_timeout_splits_and_keeps_client(void **state)
{
	struct flow_table *t = table(16);
	struct flow *f;
	int dir;

	(void)state;
	for (uint64_t s = 0; s <= 310; s += 10)
		feed(t, tcp(7, 2000, 1, 22, TCP_ACK, s * SEC, 100), &dir);
	assert_int_equal(n_ended, 1);
	assert_int_equal(ended[0].why, FLOW_END_ACTIVE_TIMEOUT);
	assert_int_equal(ended[0].f.pkts[FLOW_TOSERVER], 31);
	f = feed(t, tcp(1, 22, 7, 2000, TCP_ACK, 311 * SEC, 100), &dir);
	assert_int_equal(dir, FLOW_TOCLIENT);
	assert_int_equal(f->pkts[FLOW_TOSERVER], 1);
	flow_table_free(t);
}

static void test_full_table_evicts_idlest(void **state)
{
	struct flow_table *t = table(4);
	int dir;

	(void)state;
	for (uint8_t i = 1; i <= 4; i++)
		feed(t, tcp(i, 1000, 100, 80, TCP_SYN, i * SEC, 60), &dir);
	feed(t, tcp(1, 1000, 100, 80, TCP_ACK, 5 * SEC, 60), &dir); /* 1 is fresh again */
	feed(t, tcp(5, 1000, 100, 80, TCP_SYN, 6 * SEC, 60), &dir);
	assert_int_equal(n_ended, 1);
	assert_int_equal(ended[0].why, FLOW_END_EVICTED);
	assert_int_equal(ended[0].f.key.addr[0][3], 2);
	assert_int_equal(flow_table_stats(t)->evicted, 1);
	assert_int_equal(flow_table_stats(t)->active, 4);
	assert_int_equal(flow_table_stats(t)->peak, 4);
	flow_table_free(t);
	assert_int_equal(n_ended, 5);
}

static void test_port_reuse_starts_new_flow(void **state)
{
	struct flow_table *t = table(16);
	struct flow *f;
	int dir;

	(void)state;
	feed(t, tcp(1, 1000, 2, 80, TCP_SYN, SEC, 60), &dir);
	feed(t, tcp(2, 80, 1, 1000, TCP_RST | TCP_ACK, SEC + 1, 60), &dir);
	/* A late ACK still belongs to the closed flow. */
	feed(t, tcp(1, 1000, 2, 80, TCP_ACK, SEC + 2, 60), &dir);
	assert_int_equal(n_ended, 0);
	f = feed(t, tcp(1, 1000, 2, 80, TCP_SYN, SEC + 3, 60), &dir);
	assert_int_equal(n_ended, 1);
	assert_int_equal(ended[0].why, FLOW_END_CLOSED);
	assert_int_equal(ended[0].f.pkts[FLOW_TOSERVER], 2);
	assert_int_equal(f->pkts[FLOW_TOSERVER], 1);
	assert_int_equal(f->state, FLOW_STATE_NEW);
	flow_table_free(t);
}

static void test_vlan_separates_flows(void **state)
{
	struct flow_table *t = table(16);
	struct packet p = tcp(1, 1000, 2, 80, TCP_SYN, SEC, 60);
	struct flow *a, *b;
	int dir;

	(void)state;
	a = flow_table_update(t, &p, &dir, &last_events);
	p.vlan[0] = 10;
	p.vlan_n = 1;
	b = flow_table_update(t, &p, &dir, &last_events);
	assert_ptr_not_equal(a, b);
	assert_int_equal(flow_table_stats(t)->created, 2);
	flow_table_free(t);
}

static void test_many_flows_and_names(void **state)
{
	struct flow_table *t;
	struct flow_config cfg = {.max_flows = 100000, .idle_timeout_us = 60 * SEC,
				  .active_timeout_us = 300 * SEC, .closed_timeout_us = SEC};
	int dir;

	(void)state;
	t = flow_table_new(&cfg, NULL, NULL);
	assert_non_null(t);
	for (uint32_t i = 0; i < 100000; i++) {
		struct packet p = tcp(1, (uint16_t)(i & 0xffff), (uint8_t)(2 + (i >> 16)), 80, TCP_SYN,
				      SEC, 60);
		flow_table_update(t, &p, &dir, &last_events);
	}
	for (uint32_t i = 0; i < 100000; i++) {
		struct packet p = tcp((uint8_t)(2 + (i >> 16)), 80, 1, (uint16_t)(i & 0xffff),
				      TCP_SYN | TCP_ACK, SEC + 1, 60);
		struct flow *f = flow_table_update(t, &p, &dir, &last_events);
		assert_int_equal(dir, FLOW_TOCLIENT);
		assert_int_equal(f->pkts[FLOW_TOSERVER], 1);
	}
	assert_int_equal(flow_table_stats(t)->created, 100000);
	assert_int_equal(flow_table_stats(t)->evicted, 0);
	flow_table_free(t);
	assert_null(flow_table_new(&(struct flow_config){.max_flows = 0}, NULL, NULL));
	assert_string_equal(flow_end_reason_name(FLOW_END_EVICTED), "evicted");
	assert_string_equal(flow_state_name(FLOW_STATE_CLOSED), "closed");
	/* 3 cache lines: 152 bytes before the IP octets (ip_bytes[2]), 168
	 * with them. */
	assert_true(sizeof(struct flow) <= 168);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bidirectional_handshake),
		cmocka_unit_test(test_synack_first_corrects_initiator),
		cmocka_unit_test(test_idle_timeout_and_closed_timeout),
		cmocka_unit_test(test_advance_without_packets),
		cmocka_unit_test(test_active_timeout_splits_and_keeps_client),
		cmocka_unit_test(test_full_table_evicts_idlest),
		cmocka_unit_test(test_port_reuse_starts_new_flow),
		cmocka_unit_test(test_vlan_separates_flows),
		cmocka_unit_test(test_many_flows_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
