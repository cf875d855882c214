/* Unit tests for the rollup's HyperLogLog (src/tower/rollup.h): the
 * distinct-victims count /sources ranks by. The passes themselves are tested
 * through the tower (test_tower.py, and test_tower_kill.py under SIGKILL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tower/rollup.h"

static void add_ips(uint8_t *regs, unsigned from, unsigned n)
{
	char ip[32];

	for (unsigned i = from; i < from + n; i++) {
		int len = snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255,
				   i & 255);
		hll_add(regs, ip, (size_t)len);
	}
}

/* Small counts, what most sources have, come out exact or off by one (two
 * victims that share a register count once). */
static void test_small_exact(void **state)
{
	(void)state;
	for (unsigned n = 0; n <= 40; n++) {
		uint8_t regs[HLL_REGISTERS] = {0};

		add_ips(regs, 0, n);
		add_ips(regs, 0, n); /* the same victims again change nothing */
		int64_t e = hll_estimate(regs);

		if (n <= 1)
			assert_int_equal(e, n);
		assert_true(e >= (int64_t)n - 1 && e <= (int64_t)n + 1);
	}
}

/* Large counts within 5% (the standard error is 3.25%). */
static void test_large_close(void **state)
{
	static const unsigned ns[] = {1000, 10000, 65536, 300000};

	(void)state;
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		uint8_t regs[HLL_REGISTERS] = {0};
		double e;

		add_ips(regs, 0, ns[k]);
		e = (double)hll_estimate(regs);
		printf("    %u distinct: estimate %.0f (%+.2f%%)\n", ns[k], e,
		       100.0 * (e - ns[k]) / ns[k]);
		assert_true(e > ns[k] * 0.95 && e < ns[k] * 1.05);
	}
}

/* Merging two sketches counts the union, as one sketch of both would. */
static void test_merge_is_union(void **state)
{
	uint8_t a[HLL_REGISTERS] = {0}, b[HLL_REGISTERS] = {0}, both[HLL_REGISTERS] = {0};

	(void)state;
	add_ips(a, 0, 6000);
	add_ips(b, 4000, 6000); /* 2,000 in common */
	add_ips(both, 0, 10000);
	hll_merge(a, b);
	assert_memory_equal(a, both, HLL_REGISTERS);
	assert_true(hll_estimate(a) > 9500 && hll_estimate(a) < 10500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_exact),
		cmocka_unit_test(test_large_close),
		cmocka_unit_test(test_merge_is_union),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
