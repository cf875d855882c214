/* Unit tests for src/intel/taxii.c: envelopes applied to a sensor's copy
 * of a collection (new, newer, older and repeated versions, revocation,
 * expiry, tombstones), hostile envelopes changing nothing, the id limit,
 * allocation failures, and the bundle loading into a snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "intel/intel.h"
#include "intel/taxii.h"

#define ID1 "indicator--1b7d3a5e-2c3f-4b6a-9d7e-8f9a0b1c2d3e"
#define ID2 "indicator--2b7d3a5e-2c3f-4b6a-9d7e-8f9a0b1c2d3e"
/* 2026-12-01T00:00:00Z */
#define NOW 1796083200000000LL

static char env[8192];

/* An envelope of the objects given as JSON texts. */
static const char *envelope(const char *more, const char *objs)
{
	snprintf(env, sizeof(env), "{%s\"objects\":[%s]}", more, objs);
	return env;
}

static char objbuf[4][1024];

/* An indicator of addr, version modified, with extra fields. */
static const char *ind(int k, const char *id, const char *addr, const char *modified,
		       const char *extra)
{
	snprintf(objbuf[k], sizeof(objbuf[k]),
		 "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"%s\","
		 "\"created\":\"2026-11-01T00:00:00.000Z\",\"modified\":\"%s\","
		 "\"pattern\":\"[ipv4-addr:value = '%s']\",\"pattern_type\":\"stix\","
		 "\"valid_from\":\"2026-11-01T00:00:00Z\"%s}",
		 id, modified, addr, extra);
	return objbuf[k];
}

static int apply(struct intel_taxii_set *s, const char *e, struct intel_taxii_page *p,
		 struct intel_taxii_delta *d)
{
	char err[200];

	return intel_taxii_apply(s, e, strlen(e), NOW, p, d, err, sizeof(err));
}

/* The address the set's bundle matches for a, as its indicator id, or "-". */
static const char *lookup(const struct intel_taxii_set *s, const char *a, char *out, size_t n)
{
	struct intel_builder *b = intel_builder_new(0);
	struct intel_snapshot *snap = NULL;
	struct intel_report rep;
	struct intel_match m;
	struct ip_addr ip;
	char *buf;
	size_t len;

	assert_non_null(b);
	intel_report_init(&rep);
	assert_int_equal(intel_taxii_bundle(s, &buf, &len), 0);
	assert_int_equal(strlen(buf), len);
	assert_int_equal(intel_load_buffer(b, "taxii", buf, len, INTEL_FORMAT_STIX, NULL, &rep), 0);
	free(buf);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(intel_builder_finish(b, &snap), 0);
	assert_int_equal(ipaddr_parse(a, &ip), 0);
	if (intel_lookup_ip(snap, &ip, NOW / 1000000, &m) == 0)
		snprintf(out, n, "%s", m.id);
	else
		snprintf(out, n, "-");
	intel_snapshot_release(snap);
	return out;
}

static void test_versions(void **state)
{
	struct intel_taxii_set *s = intel_taxii_set_new(0);
	struct intel_taxii_page p;
	struct intel_taxii_delta d = {0};
	char objs[4096], id[128];

	(void)state;
	assert_non_null(s);
	snprintf(objs, sizeof(objs), "%s,%s,{\"type\":\"identity\",\"id\":\"x\"}",
		 ind(0, ID1, "198.51.100.7", "2026-11-01T00:00:00.000Z", ""),
		 ind(1, ID2, "203.0.113.9", "2026-11-01T00:00:00.000Z", ""));
	assert_int_equal(apply(s, envelope("\"more\":true,\"next\":\"42\",", objs), &p, &d), 0);
	assert_true(p.more);
	assert_string_equal(p.next, "42");
	assert_int_equal(d.added, 2);
	assert_int_equal(d.other, 1);
	assert_int_equal(intel_taxii_count(s), 2);
	assert_string_equal(lookup(s, "198.51.100.7", id, sizeof(id)), ID1);

	/* The same versions again (the poller's overlap): nothing changes. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(apply(s, envelope("", objs), &p, &d), 0);
	assert_false(p.more);
	assert_string_equal(p.next, "");
	assert_int_equal(d.duplicate, 2);
	assert_int_equal(d.added + d.updated + d.revoked + d.expired, 0);

	/* A newer version moves ID1 to another address; an older one of ID2
	 * is stale. */
	memset(&d, 0, sizeof(d));
	snprintf(objs, sizeof(objs), "%s,%s",
		 ind(0, ID1, "198.51.100.8", "2026-11-02T00:00:00.000Z", ""),
		 ind(1, ID2, "203.0.113.10", "2026-10-01T00:00:00.000Z", ""));
	assert_int_equal(apply(s, envelope("", objs), &p, &d), 0);
	assert_int_equal(d.updated, 1);
	assert_int_equal(d.stale, 1);
	assert_string_equal(lookup(s, "198.51.100.7", id, sizeof(id)), "-");
	assert_string_equal(lookup(s, "198.51.100.8", id, sizeof(id)), ID1);
	assert_string_equal(lookup(s, "203.0.113.9", id, sizeof(id)), ID2);

	/* Revoked: out of force, and an older version cannot bring it back. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(apply(s, envelope("", ind(0, ID1, "198.51.100.8", "2026-11-03T00:00:00Z",
						    ",\"revoked\":true")),
			       &p, &d),
			 0);
	assert_int_equal(d.revoked, 1);
	assert_int_equal(intel_taxii_count(s), 1);
	assert_string_equal(lookup(s, "198.51.100.8", id, sizeof(id)), "-");
	memset(&d, 0, sizeof(d));
	assert_int_equal(apply(s, envelope("", ind(0, ID1, "198.51.100.8", "2026-11-02T00:00:00.000Z",
						    "")),
			       &p, &d),
			 0);
	assert_int_equal(d.stale, 1);
	assert_int_equal(intel_taxii_count(s), 1);

	/* A valid_until already past takes ID2 out; one in the future does
	 * not, until it passes. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(apply(s, envelope("", ind(0, ID2, "203.0.113.9", "2026-11-05T00:00:00Z",
						    ",\"valid_until\":\"2026-11-30T00:00:00Z\"")),
			       &p, &d),
			 0);
	assert_int_equal(d.expired, 1);
	assert_int_equal(intel_taxii_count(s), 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(apply(s, envelope("", ind(0, ID2, "203.0.113.9", "2026-11-06T00:00:00Z",
						    ",\"valid_until\":\"2026-12-02T00:00:00Z\"")),
			       &p, &d),
			 0);
	assert_int_equal(d.added, 1);
	assert_int_equal(intel_taxii_expire(s, NOW, &d), 0);
	assert_int_equal(intel_taxii_expire(s, NOW + 86400000000LL, &d), 1);
	assert_int_equal(d.expired, 1);
	assert_int_equal(intel_taxii_count(s), 0);
	intel_taxii_set_free(s);
}

/* Envelopes of the wrong shape are refused whole: what was held stays. */
static void test_hostile(void **state)
{
	static const char *const bad[] = {
		"", "not json", "[]", "{\"objects\":{}}", "{\"objects\":null}",
		"{\"more\":1,\"objects\":[]}", "{\"more\":true,\"objects\":[]}",
		"{\"more\":true,\"next\":7,\"objects\":[]}",
		"{\"more\":true,\"next\":\"a&b=c\",\"objects\":[]}",
		"{\"more\":true,\"next\":\"\",\"objects\":[]}",
	};
	struct intel_taxii_set *s = intel_taxii_set_new(0);
	struct intel_taxii_page p;
	struct intel_taxii_delta d = {0};
	char err[200], *big;
	size_t n = 0;

	(void)state;
	assert_int_equal(apply(s, envelope("", ind(0, ID1, "198.51.100.7", "2026-11-01T00:00:00Z",
						    "")),
			       &p, &d),
			 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(intel_taxii_apply(s, bad[i], strlen(bad[i]), NOW, &p, &d, err,
						   sizeof(err)),
				 YG_EFORMAT);
		assert_true(err[0] != '\0' && strchr(err, '\n') == NULL);
	}
	/* More objects than a page may hold. */
	big = malloc(3 * (INTEL_TAXII_PAGE_OBJECTS + 1) + 32);
	assert_non_null(big);
	n = (size_t)sprintf(big, "{\"objects\":[");
	for (int i = 0; i <= INTEL_TAXII_PAGE_OBJECTS; i++)
		n += (size_t)sprintf(big + n, "%s1", i ? "," : "");
	n += (size_t)sprintf(big + n, "]}");
	assert_int_equal(intel_taxii_apply(s, big, n, NOW, &p, &d, err, sizeof(err)), YG_EFORMAT);
	free(big);
	assert_int_equal(d.added, 1);
	assert_int_equal(intel_taxii_count(s), 1);

	/* Odd objects inside a good envelope are counted, not applied. */
	memset(&d, 0, sizeof(d));
	char objs[4096];
	snprintf(objs, sizeof(objs),
		 "1,\"x\",null,{\"type\":\"indicator\"},{\"type\":\"indicator\",\"id\":\"%s\","
		 "\"modified\":\"yesterday\"},%s,%s",
		 ID2, ind(0, ID2, "203.0.113.1", "2026-11-01T00:00:00Z", ",\"revoked\":\"yes\""),
		 ind(1, "malware--1b7d3a5e-2c3f-4b6a-9d7e-8f9a0b1c2d3e", "203.0.113.1",
		     "2026-11-01T00:00:00Z", ""));
	assert_int_equal(apply(s, envelope("", objs), &p, &d), 0);
	assert_int_equal(d.other, 3);
	assert_int_equal(d.malformed, 4);
	assert_int_equal(intel_taxii_count(s), 1);
	intel_taxii_set_free(s);
}

static void test_limit(void **state)
{
	struct intel_taxii_set *s = intel_taxii_set_new(1);
	struct intel_taxii_page p;
	struct intel_taxii_delta d = {0};
	char objs[4096];

	(void)state;
	snprintf(objs, sizeof(objs), "%s,%s",
		 ind(0, ID1, "198.51.100.7", "2026-11-01T00:00:00Z", ""),
		 ind(1, ID2, "203.0.113.9", "2026-11-01T00:00:00Z", ""));
	assert_int_equal(apply(s, envelope("", objs), &p, &d), 0);
	assert_int_equal(d.added, 1);
	assert_int_equal(d.refused, 1);
	/* A newer version of an id held is still taken. */
	assert_int_equal(apply(s, envelope("", ind(0, ID1, "198.51.100.9", "2026-11-02T00:00:00Z",
						    "")),
			       &p, &d),
			 0);
	assert_int_equal(d.updated, 1);
	intel_taxii_set_free(s);
}

/* Many ids: the table grows, and the bundle holds each once. */
static void test_growth(void **state)
{
	struct intel_taxii_set *s = intel_taxii_set_new(0);
	struct intel_taxii_page p;
	struct intel_taxii_delta d = {0};
	static char objs[600 * 400];
	char id[80], addr[32], *buf;
	size_t n = 0, len;

	(void)state;
	for (int round = 0; round < 10; round++) {
		n = 0;
		for (int i = 0; i < 500; i++) {
			int k = round * 500 + i;
			snprintf(id, sizeof(id), "indicator--%08x-2c3f-4b6a-9d7e-8f9a0b1c2d3e", k);
			snprintf(addr, sizeof(addr), "10.%d.%d.%d", k >> 16, (k >> 8) & 255, k & 255);
			n += (size_t)snprintf(objs + n, sizeof(objs) - n, "%s%s", i ? "," : "",
					      ind(0, id, addr, "2026-11-01T00:00:00Z", ""));
		}
		char *e = malloc(n + 32);
		assert_non_null(e);
		int el = sprintf(e, "{\"objects\":[%s]}", objs);
		char err[200];
		assert_int_equal(intel_taxii_apply(s, e, (size_t)el, NOW, &p, &d, err, sizeof(err)), 0);
		free(e);
	}
	assert_int_equal(d.added, 5000);
	assert_int_equal(intel_taxii_count(s), 5000);
	assert_int_equal(intel_taxii_bundle(s, &buf, &len), 0);
	struct intel_builder *b = intel_builder_new(0);
	struct intel_report rep;
	intel_report_init(&rep);
	assert_int_equal(intel_load_buffer(b, "taxii", buf, len, INTEL_FORMAT_STIX, NULL, &rep), 0);
	assert_int_equal(rep.loaded, 5000);
	intel_builder_free(b);
	free(buf);
	intel_taxii_set_free(s);
}

/* Every allocation failing in turn: an error and no change, never a
 * half-applied envelope or a leak (ASan checks the latter). */
static void test_alloc_failures(void **state)
{
	char objs[4096];
	int failed = 0;

	(void)state;
	snprintf(objs, sizeof(objs), "%s,%s",
		 ind(0, ID1, "198.51.100.7", "2026-11-01T00:00:00Z", ""),
		 ind(1, ID2, "203.0.113.9", "2026-11-01T00:00:00Z", ",\"revoked\":true"));
	envelope("", objs);
	for (long k = 0, refused = 1; refused > 0; k++) { /* every k, to the first not met */
		struct intel_taxii_set *s = intel_taxii_set_new(0);
		struct intel_taxii_page p;
		struct intel_taxii_delta d = {0};
		char err[200];
		int rc;

		assert_non_null(s);
		yg_alloc_fail_after(k);
		rc = intel_taxii_apply(s, env, strlen(env), NOW, &p, &d, err, sizeof(err));
		yg_alloc_fail_after(-1);
		refused = yg_alloc_failures();
		if (rc == YG_ENOMEM) {
			failed++;
			assert_int_equal(intel_taxii_count(s), 0);
			assert_int_equal(d.added, 0);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(intel_taxii_count(s), 1);
		}
		intel_taxii_set_free(s);
	}
	assert_true(failed > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
