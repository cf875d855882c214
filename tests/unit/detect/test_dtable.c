/* Unit tests for src/detect's shared parts: what a full detector table
 * keeps when forged keys flood it, the ranking rule, and the sources table
 * growing with the sources present. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "detect/alert.h"
#include "detect/dtable.h"
#include "detect/sources.h"
#include "rank/rank.h"

#define SEC 1000000ULL

struct key {
	uint32_t a;
};

static uint32_t *val(struct dtable *t, uint32_t a, uint64_t now, int *is_new)
{
	struct key k = {a};
	return dtable_get(t, &k, now, is_new);
}

/* A key used many times survives a flood of keys seen once each, in a
 * table far too small for them: they can only displace each other. */
static void test_frequent_key_survives_flood(void **state)
{
	struct dtable *t = dtable_new(64, sizeof(struct key), sizeof(uint32_t));
	uint64_t now = 1;
	int is_new;

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 20; i++)
		(*val(t, 7, now++, &is_new))++;
	for (uint32_t f = 1000; f < 101000; f++)
		val(t, f, now++, &is_new);
	assert_true(dtable_stats(t)->evictions > 90000);
	assert_int_equal(*val(t, 7, now, &is_new), 20);
	assert_int_equal(is_new, 0);
	dtable_free(t);
}

/* Least recently used among equals: with no history, the oldest goes. */
static void test_lru_among_equals(void **state)
{
	struct dtable *t = dtable_new(8, sizeof(struct key), sizeof(uint32_t));
	int is_new;

	(void)state;
	for (uint32_t k = 0; k < 8; k++)
		*val(t, k, 10 + k, &is_new) = k + 1;
	val(t, 100, 100, &is_new); /* evicts key 0, the oldest */
	assert_true(is_new);
	assert_null(dtable_find(t, &(struct key){0}, 101));
	assert_non_null(dtable_find(t, &(struct key){1}, 101));
	dtable_free(t);
}

/* A record idle for many age periods loses its claim. */
static void test_idle_record_ages(void **state)
{
	struct dtable *t = dtable_new(8, sizeof(struct key), sizeof(uint32_t));
	int is_new;

	(void)state;
	dtable_set_age(t, 10 * SEC);
	for (int i = 0; i < 50; i++)
		val(t, 1, 1 + (uint64_t)i, &is_new);
	for (uint32_t k = 2; k <= 8; k++)
		val(t, k, 100, &is_new);
	/* 1000 s later key 1's 50 uses are halved 100 times: nothing. */
	for (uint32_t k = 2; k <= 8; k++)
		val(t, k, 1000 * SEC, &is_new);
	val(t, 99, 1000 * SEC + 1, &is_new);
	assert_null(dtable_find(t, &(struct key){1}, 1000 * SEC + 2));
	dtable_free(t);
}

static void test_rank_weighs_evidence(void **state)
{
	struct rank_evidence scanner = {.sev = {0, 1, 0}, .hosts = 1200, .pkts = 1300, .seconds = 120};
	struct rank_evidence one_syn = {.sev = {1, 0, 0}, .hosts = 1, .pkts = 1};
	struct rank_evidence intel = {.sev = {1, 0, 0}, .hosts = 1, .pkts = 20, .indicator_conf = 100};
	struct rank_evidence refl = scanner;

	(void)state;
	refl.reflector = 1;
	assert_true(rank_score(&scanner) > rank_score(&one_syn));
	assert_true(rank_score(&scanner) > rank_score(&intel));
	assert_true(rank_score(&refl) * 2 - rank_score(&scanner) < 0.11);
	struct rank_evidence more = scanner;
	more.sessions = 40;
	assert_true(rank_score(&more) > rank_score(&scanner));
}

static const struct signature scan_sig = {9100001, "scan", "recon", 2, "scan"};

/* The table grows from 64 slots as sources come, and keeps every one. */
static void test_sources_grow(void **state)
{
	struct sources *s = sources_new(1000000);
	struct alert a;
	char line[256];
	FILE *out;
	size_t lines = 0;

	(void)state;
	assert_non_null(s);
	memset(&a, 0, sizeof(a));
	a.sig = &scan_sig;
	a.attackers = ALERT_ATTACKER_SRC;
	a.pkts = 3;
	for (uint32_t i = 0; i < 50000; i++) {
		a.src.family = 4;
		memcpy(a.src.a, &i, 4);
		a.ts_us = 1 + i;
		sources_add(s, &a);
		sources_add(s, &a); /* the same source again */
	}
	assert_int_equal(sources_count(s), 50000);
	assert_int_equal(sources_dropped(s), 0);
	out = tmpfile();
	assert_non_null(out);
	assert_int_equal(sources_write_json(s, out, NULL, NULL), 0);
	rewind(out);
	while (fgets(line, sizeof(line), out) != NULL)
		if (strstr(line, "\"rank\":") != NULL)
			lines++;
	assert_int_equal(lines, 50000);
	fclose(out);
	sources_free(s);
}

/* A forged flood names nobody: no source, its victim listed apart. */
static void test_spoofed_alert_names_nobody(void **state)
{
	static const struct signature flood = {9200001, "flood", "dos", 1, "dos"};
	struct sources *s = sources_new(100);
	struct alert a;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.sig = &flood;
	a.attackers = ALERT_ATTACKER_NONE;
	a.spoofed = 1;
	a.dst.family = 4;
	a.dst.a[0] = 198;
	a.src.family = 4;
	a.src.a[0] = 45;
	sources_add(s, &a);
	assert_int_equal(sources_count(s), 0);
	assert_int_equal(sources_flooded(s), 1);
	sources_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frequent_key_survives_flood),
		cmocka_unit_test(test_lru_among_equals),
		cmocka_unit_test(test_idle_record_ages),
		cmocka_unit_test(test_rank_weighs_evidence),
		cmocka_unit_test(test_sources_grow),
		cmocka_unit_test(test_spoofed_alert_names_nobody),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
