/* Unit tests for src/monitor/monitor.c: the tower's list of active
 * monitoring authorizations into a scope, and every way an answer is
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "monitor/monitor.h"

#define NOW 1796569200000000LL /* 2026-12-06T15:00:00Z */

static char err[256];

static struct decode_scope *parse_ok(const char *json, int64_t now)
{
	struct decode_scope *s = NULL;

	err[0] = '\0';
	if (monitor_scope_from_json(json, strlen(json), now, &s, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_non_null(s);
	return s;
}

static int parse_bad(const char *json)
{
	struct decode_scope *s = (struct decode_scope *)1;
	int rc = monitor_scope_from_json(json, strlen(json), NOW, &s, err, sizeof(err));

	assert_true(rc < 0);
	assert_null(s);
	assert_true(strlen(err) > 0);
	return rc;
}

static int allows(const struct decode_scope *s, const char *src, const char *dst, int vlan)
{
	struct packet pkt;

	memset(&pkt, 0, sizeof(pkt));
	assert_int_equal(ipaddr_parse(src, &pkt.src), 0);
	assert_int_equal(ipaddr_parse(dst, &pkt.dst), 0);
	if (vlan >= 0) {
		pkt.vlan[0] = (uint16_t)vlan;
		pkt.vlan_n = 1;
	}
	return decode_scope_allows(s, &pkt);
}

static void test_time(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(monitor_parse_time("2026-12-06T15:00:00Z", &t), 0);
	assert_int_equal(t, NOW);
	assert_int_equal(monitor_parse_time("2026-12-06T16:00:00.250+01:00", &t), 0);
	assert_int_equal(t, NOW + 250000);
	assert_int_equal(monitor_parse_time("2026-12-06T14:30:00-00:30", &t), 0);
	assert_int_equal(t, NOW);
	assert_int_equal(monitor_parse_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(monitor_parse_time("2024-02-29T00:00:00Z", &t), 0);
	assert_int_equal(monitor_parse_time("2026-12-06 15:00:00Z", &t), YG_EFORMAT);
	assert_int_equal(monitor_parse_time("2026-12-06T15:00:00", &t), YG_EFORMAT);
	assert_int_equal(monitor_parse_time("2026-13-06T15:00:00Z", &t), YG_EFORMAT);
	assert_int_equal(monitor_parse_time("2026-12-06T15:00:00Zx", &t), YG_EFORMAT);
	assert_int_equal(monitor_parse_time("2026-12-06T15:00:00.Z", &t), YG_EFORMAT);
	assert_int_equal(monitor_parse_time("", &t), YG_EFORMAT);
}

static void test_contract_example(void **state)
{
	const char *j =
		"{\"sensor\": \"sensor-1\", \"now\": \"2026-12-06T15:00:00Z\",\n"
		" \"authorizations\": [\n"
		"   {\"id\": 3, \"sensor\": \"sensor-1\", \"prefixes\": [\"192.0.2.0/24\", "
		"\"2001:db8::/32\"], \"vlans\": [100, 200],\n"
		"    \"purpose\": \"...\", \"from\": \"2026-12-06T14:00:00Z\", \"until\": "
		"\"2026-12-07T14:00:00Z\", \"state\": \"active\"}\n"
		" ]}";
	struct decode_scope *s = parse_ok(j, NOW);
	char buf[128];

	(void)state;
	assert_int_equal(decode_scope_count(s), 1);
	assert_int_equal(decode_scope_id(s, 0), 3);
	assert_true(allows(s, "192.0.2.1", "198.51.100.1", 100));
	assert_true(allows(s, "3fff::1", "2001:db8::1", 200));
	assert_false(allows(s, "192.0.2.1", "198.51.100.1", 300));
	assert_false(allows(s, "192.0.2.1", "198.51.100.1", -1));
	assert_false(allows(s, "203.0.113.1", "198.51.100.1", 100));
	assert_string_equal(monitor_describe(s, buf, sizeof(buf)), "1 authorization active (id 3)");
	decode_scope_release(s);
	/* Before from and from until on, by the clock given: not in force. */
	s = parse_ok(j, NOW - 3600000000LL - 1);
	assert_int_equal(decode_scope_count(s), 0);
	assert_string_equal(monitor_describe(s, buf, sizeof(buf)),
			    "no authorization active: every packet is dropped after its IP header");
	decode_scope_release(s);
	s = parse_ok(j, NOW + 23 * 3600000000LL);
	assert_int_equal(decode_scope_count(s), 0);
	decode_scope_release(s);
	s = parse_ok(j, NOW + 23 * 3600000000LL - 1);
	assert_int_equal(decode_scope_count(s), 1);
	decode_scope_release(s);
}

static void test_several(void **state)
{
	const char *j = "{\"authorizations\":["
			"{\"id\":3,\"prefixes\":[],\"vlans\":[7],\"until\":\"2027-01-01T00:00:00Z\"},"
			"{\"id\":4,\"prefixes\":[\"10.0.0.0/8\"],\"vlans\":[],"
			"\"until\":\"2027-01-01T00:00:00Z\",\"state\":\"revoked\"},"
			"{\"id\":5,\"prefixes\":[\"10.1.2.3\",\"::/0\"],\"vlans\":[],\"from\":null,"
			"\"until\":\"2027-01-01T00:00:00Z\"}]}";
	struct decode_scope *s = parse_ok(j, NOW);
	char buf[128];

	(void)state;
	assert_string_equal(monitor_describe(s, buf, sizeof(buf)),
			    "2 authorizations active (ids 3,5)");
	assert_true(allows(s, "203.0.113.1", "198.51.100.1", 7)); /* VLAN only */
	assert_true(allows(s, "10.1.2.3", "198.51.100.1", -1));   /* a bare address: a host */
	assert_false(allows(s, "10.1.2.4", "198.51.100.1", -1));  /* 4 is revoked */
	assert_true(allows(s, "3fff::1", "3fff::2", -1));
	assert_string_equal(monitor_describe(s, buf, 20), "2 authorizations ac");
	decode_scope_release(s);
	s = parse_ok("{\"authorizations\":[]}", NOW);
	assert_int_equal(decode_scope_count(s), 0);
	decode_scope_release(s);
}

static void test_refused(void **state)
{
	char *big;
	size_t n, off;

	(void)state;
	assert_int_equal(parse_bad(""), YG_EFORMAT);
	assert_int_equal(parse_bad("[]"), YG_EFORMAT);
	assert_int_equal(parse_bad("{\"error\":\"unauthorized\",\"message\":\"x\"}"), YG_EFORMAT);
	assert_int_equal(parse_bad("{\"authorizations\":{}}"), YG_EFORMAT);
	assert_int_equal(parse_bad("{\"authorizations\":[1]}"), YG_EFORMAT);
	assert_int_equal(parse_bad("{\"authorizations\":[{\"id\":\"3\",\"prefixes\":[],"
				   "\"vlans\":[1],\"until\":\"2027-01-01T00:00:00Z\"}]}"),
			 YG_EFORMAT);
	assert_int_equal(parse_bad("{\"authorizations\":[{\"id\":3,\"prefixes\":[],"
				   "\"vlans\":[],\"until\":\"2027-01-01T00:00:00Z\"}]}"),
			 YG_EFORMAT);
	assert_non_null(strstr(err, "neither"));
	assert_int_equal(parse_bad("{\"authorizations\":[{\"id\":3,\"prefixes\":[\"10.0.0.0/33\"],"
				   "\"vlans\":[],\"until\":\"2027-01-01T00:00:00Z\"}]}"),
			 YG_EFORMAT);
	assert_non_null(strstr(err, "prefixes[0]"));
	assert_int_equal(parse_bad("{\"authorizations\":[{\"id\":3,\"prefixes\":[\"10.0.0.0/08\"],"
				   "\"vlans\":[],\"until\":\"2027-01-01T00:00:00Z\"}]}"),
			 YG_EFORMAT);
	assert_int_equal(parse_bad("{\"authorizations\":[{\"id\":3,\"prefixes\":[\"example.com\"],"
				   "\"vlans\":[],\"until\":\"2027-01-01T00:00:00Z\"}]}"),
			 YG_EFORMAT);
	assert_int_equal(parse_bad("{\"authorizations\":[{\"id\":3,\"prefixes\":[10],"
				   "\"vlans\":[],\"until\":\"2027-01-01T00:00:00Z\"}]}"),
			 YG_EFORMAT);
	assert_int_equal(parse_bad("{\"authorizations\":[{\"id\":3,\"prefixes\":[],"
				   "\"vlans\":[4096],\"until\":\"2027-01-01T00:00:00Z\"}]}"),
			 YG_EFORMAT);
	assert_int_equal(parse_bad("{\"authorizations\":[{\"id\":3,\"prefixes\":[],"
				   "\"vlans\":[1],\"until\":\"tomorrow\"}]}"),
			 YG_EFORMAT);
	assert_int_equal(parse_bad("{\"authorizations\":[{\"id\":3,\"prefixes\":[],"
				   "\"vlans\":[1]}]}"),
			 YG_EFORMAT);
	assert_int_equal(parse_bad("{\"authorizations\":[{\"id\":3,\"prefixes\":[],\"vlans\":[1],"
				   "\"from\":5,\"until\":\"2027-01-01T00:00:00Z\"}]}"),
			 YG_EFORMAT);
	/* A refused entry refuses the whole answer, even if it is expired. */
	assert_int_equal(parse_bad("{\"authorizations\":[{\"id\":3,\"prefixes\":[\"x\"],"
				   "\"vlans\":[],\"until\":\"2000-01-01T00:00:00Z\"}]}"),
			 YG_EFORMAT);
	/* Too many prefixes in all, over two authorizations. */
	n = 64 + 2 * 600 * 20;
	big = malloc(n);
	assert_non_null(big);
	off = (size_t)snprintf(big, n, "{\"authorizations\":[");
	for (int a = 0; a < 2; a++) {
		off += (size_t)snprintf(big + off, n - off, "%s{\"id\":%d,\"vlans\":[],"
					"\"until\":\"2027-01-01T00:00:00Z\",\"prefixes\":[",
					a ? "," : "", a);
		for (int i = 0; i < 600; i++)
			off += (size_t)snprintf(big + off, n - off, "%s\"10.0.%d.0/24\"", i ? "," : "",
						i % 256);
		off += (size_t)snprintf(big + off, n - off, "]}");
	}
	snprintf(big + off, n - off, "]}");
	assert_int_equal(parse_bad(big), YG_ELIMIT);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_contract_example),
		cmocka_unit_test(test_several),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
