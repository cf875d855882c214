/* Unit tests for src/base: JSON buffer, cursor, addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <time.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "base/alloc.h"
#include "base/every.h"
#include "base/cursor.h"
#include "base/ipaddr.h"
#include "base/jbuf.h"
#include "base/json.h"

static void expect_json_str(const char *in, size_t n, const char *want)
{
	struct jbuf b;

	assert_int_equal(jbuf_init(&b, 16, 4096), 0);
	jbuf_str(&b, in, n);
	assert_int_equal(b.err, 0);
	jbuf_putc(&b, '\0');
	assert_string_equal(b.buf, want);
	jbuf_fini(&b);
}

static void test_jbuf_str_escapes(void **state)
{
	(void)state;
	expect_json_str("plain", 5, "\"plain\"");
	expect_json_str("q\"b\\", 4, "\"q\\\"b\\\\\"");
	expect_json_str("a\nb\tc\r", 6, "\"a\\nb\\tc\\r\"");
	expect_json_str("\x01\x7f", 2, "\"\\u0001\\u007f\"");
	/* A NUL inside the bytes does not end the string. */
	expect_json_str("a\0b", 3, "\"a\\u0000b\"");
	/* Valid UTF-8 passes through, invalid bytes are escaped one by one. */
	expect_json_str("\xe6\xab\x93", 3, "\"\xe6\xab\x93\"");
	expect_json_str("\xe6\xab", 2, "\"\\u00e6\\u00ab\"");
	expect_json_str("\xc0\xaf", 2, "\"\\u00c0\\u00af\"");        /* overlong */
	expect_json_str("\xed\xa0\x80", 3, "\"\\u00ed\\u00a0\\u0080\""); /* surrogate */
	expect_json_str("\xff", 1, "\"\\u00ff\"");
}

static void test_jbuf_cap_is_sticky(void **state)
{
	struct jbuf b;

	(void)state;
	assert_int_equal(jbuf_init(&b, 4, 8), 0);
	jbuf_lit(&b, "12345678");
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 8);
	jbuf_putc(&b, 'x');
	assert_int_equal(b.err, YG_ELIMIT);
	assert_int_equal(b.len, 8);
	jbuf_lit(&b, "y"); /* dropped too */
	assert_int_equal(b.len, 8);
	jbuf_reset(&b);
	assert_int_equal(b.err, 0);
	jbuf_putc(&b, 'z');
	assert_int_equal(b.len, 1);
	jbuf_fini(&b);
}

static void test_jbuf_alloc_failure(void **state)
{
	struct jbuf b;

	(void)state;
	yg_alloc_fail_after(0);
	assert_int_equal(jbuf_init(&b, 16, 1024), YG_ENOMEM);
	yg_alloc_fail_after(1);
	assert_int_equal(jbuf_init(&b, 4, 1024), 0);
	jbuf_lit(&b, "more than four bytes");
	assert_int_equal(b.err, YG_ENOMEM);
	yg_alloc_fail_after(-1);
	jbuf_fini(&b);
}

static void test_jbuf_numbers_and_time(void **state)
{
	struct jbuf b;

	(void)state;
	assert_int_equal(jbuf_init(&b, 64, 4096), 0);
	jbuf_u64(&b, 0);
	jbuf_putc(&b, ' ');
	jbuf_u64(&b, 18446744073709551615ULL);
	jbuf_putc(&b, ' ');
	jbuf_ts(&b, 1259098029534255ULL);
	jbuf_putc(&b, ' ');
	jbuf_ts(&b, 0);
	jbuf_putc(&b, '\0');
	assert_string_equal(b.buf, "0 18446744073709551615 \"2009-11-24T21:27:09.534255+0000\" "
				   "\"1970-01-01T00:00:00.000000+0000\"");
	jbuf_fini(&b);
}

static void test_cursor_bounds(void **state)
{
	static const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05};
	struct cur c = cur_make(data, sizeof(data)), sub;
	uint16_t v16;
	uint32_t v32;
	uint8_t v8;

	(void)state;
	assert_int_equal(cur_u16(&c, &v16), 0);
	assert_int_equal(v16, 0x0102);
	assert_int_equal(cur_u32(&c, &v32), -1); /* only 3 left: no move */
	assert_int_equal(cur_left(&c), 3);
	assert_int_equal(cur_u24(&c, &v32), 0);
	assert_int_equal(v32, 0x030405);
	assert_int_equal(cur_u8(&c, &v8), -1);
	c = cur_make(data, sizeof(data));
	assert_int_equal(cur_sub(&c, 6, &sub), -1);
	assert_int_equal(cur_sub(&c, 2, &sub), 0);
	assert_int_equal(cur_left(&sub), 2);
	assert_int_equal(cur_left(&c), 3);
	assert_int_equal(cur_skip(&c, 4), -1);
	assert_int_equal(cur_skip(&c, 3), 0);
}

static void test_ipaddr_roundtrip(void **state)
{
	static const char *const addrs[] = {"0.0.0.0", "10.1.2.3", "255.255.255.255",
					    "2001:db8::1", "::", "fe80::200:86ff:fe05:80da",
					    "::ffff:1.2.3.4"};
	char s[IPADDR_STRLEN];
	struct ip_addr ip;

	(void)state;
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		assert_int_equal(ipaddr_parse(addrs[i], &ip), 0);
		assert_int_equal(ipaddr_fmt(&ip, s), (int)strlen(addrs[i]));
		assert_string_equal(s, addrs[i]);
	}
	assert_int_equal(ipaddr_parse("1.2.3", &ip), YG_EINVAL);
	assert_int_equal(ipaddr_parse("1.2.3.4.5", &ip), YG_EINVAL);
	assert_int_equal(ipaddr_parse("", &ip), YG_EINVAL);
}

/* ipaddr_fmt writes IPv6 exactly as inet_ntop does, on the corner cases
 * and on addresses with random runs of zero groups. */
static void test_ipaddr_fmt_matches_inet_ntop(void **state)
{
	static const char *const cases[] = {"::", "::1", "1::", "::ffff:1.2.3.4", "::1.2.3.4",
					    "::0.0.1.2", "1:0:0:1:0:0:0:1", "1:0:0:0:1:0:0:1",
					    "2001:db8:0:1:1:1:1:1", "0:0:1::", "fe80::1:0:0:0",
					    "::ffff:0:1.2.3.4", "ffff::"};
	struct ip_addr ip;
	char mine[IPADDR_STRLEN], theirs[IPADDR_STRLEN];
	uint32_t seed = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ipaddr_parse(cases[i], &ip), 0);
		ipaddr_fmt(&ip, mine);
		assert_non_null(inet_ntop(AF_INET6, ip.a, theirs, sizeof(theirs)));
		assert_string_equal(mine, theirs);
	}
	for (int n = 0; n < 200000; n++) {
		ip.family = 6;
		for (int k = 0; k < 8; k++) {
			seed = seed * 1103515245 + 12345;
			uint16_t v = (seed >> 16) % 3 == 0 ? (uint16_t)(seed & 0xffff) : 0;
			if ((seed >> 8) % 5 == 0)
				v = 0xffff;
			ip.a[2 * k] = (uint8_t)(v >> 8);
			ip.a[2 * k + 1] = (uint8_t)v;
		}
		int len = ipaddr_fmt(&ip, mine);
		assert_int_equal(len, (int)strlen(mine));
		assert_non_null(inet_ntop(AF_INET6, ip.a, theirs, sizeof(theirs)));
		assert_string_equal(mine, theirs);
	}
}

/* every: runs at once when asked, again after the time it returns, at
 * once on a wake, and not again after a stop, which waits for a run. */
struct ticks {
	atomic_int n;
	double next;	 /* set while the thread waits: the wake orders it */
	atomic_int slow; /* the run sleeps this long, in ms */
};

static double tick(void *arg)
{
	struct ticks *k = arg;
	struct timespec ts = {0, (long)atomic_load(&k->slow) * 1000000L};

	if (ts.tv_nsec)
		nanosleep(&ts, NULL);
	atomic_fetch_add(&k->n, 1);
	return k->next;
}

static void wait_for(atomic_int *n, int want)
{
	struct timespec ts = {0, 1000000L};

	for (int i = 0; i < 5000 && atomic_load(n) < want; i++)
		nanosleep(&ts, NULL);
}

static void test_every(void **state)
{
	struct ticks k = {.next = 3600};
	struct every *e;
	struct timespec ts = {0, 50 * 1000000L};

	(void)state;
	assert_int_equal(every_start(&e, 0, tick, &k), 0);
	wait_for(&k.n, 1);
	assert_int_equal(atomic_load(&k.n), 1); /* at once, then not for an hour */
	nanosleep(&ts, NULL);
	assert_int_equal(atomic_load(&k.n), 1);
	every_wake(e);
	wait_for(&k.n, 2);
	assert_int_equal(atomic_load(&k.n), 2);
	k.next = 0.01; /* from the next run on, every 10 ms */
	every_wake(e);
	wait_for(&k.n, 6);
	assert_true(atomic_load(&k.n) >= 6);
	atomic_store(&k.slow, 50); /* a stop waits for the run under way, then no more */
	wait_for(&k.n, atomic_load(&k.n) + 1);
	every_stop(e);
	int after = atomic_load(&k.n);
	nanosleep(&ts, NULL);
	assert_int_equal(atomic_load(&k.n), after);
	every_stop(NULL);
	every_wake(NULL);
	/* A first run later than at once. */
	struct ticks l = {.next = 3600};
	assert_int_equal(every_start(&e, 3600, tick, &l), 0);
	nanosleep(&ts, NULL);
	assert_int_equal(atomic_load(&l.n), 0);
	every_stop(e);
}

/* jansson quotes the input near a syntax error byte for byte; the text
 * that reaches an error body or a log line is one line, without control
 * characters (fuzz_intel_taxii: a newline in a TAXII error). */
static void test_json_error_one_line(void **state)
{
	const char bad[] = "\"::[\\\n\x1b[31m";
	json_error_t err;

	(void)state;
	assert_null(yg_json_loadb(bad, sizeof(bad) - 1, 0, &err));
	assert_true(err.text[0] != '\0');
	for (const char *c = err.text; *c; c++)
		assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
	assert_non_null(strstr(err.text, "invalid escape"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jbuf_str_escapes),
		cmocka_unit_test(test_json_error_one_line),
		cmocka_unit_test(test_jbuf_cap_is_sticky),
		cmocka_unit_test(test_jbuf_alloc_failure),
		cmocka_unit_test(test_jbuf_numbers_and_time),
		cmocka_unit_test(test_cursor_bounds),
		cmocka_unit_test(test_ipaddr_roundtrip),
		cmocka_unit_test(test_ipaddr_fmt_matches_inet_ntop),
		cmocka_unit_test(test_every),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
