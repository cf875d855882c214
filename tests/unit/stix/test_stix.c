/* Unit tests for src/stix: ids (against Python's uuid module's UUIDv5),
 * timestamps, building and parsing patterns (each built pattern parses
 * back to its value), TLP markings (and how unknown ones fail closed),
 * and the object builders' refusals. Schema validation of what the
 * builders emit is tests/integration/test_stix.py's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

/* --- ids and times --- */

static void test_ids(void **state)
{
	char id[STIX_ID_MAX], id2[STIX_ID_MAX];

	(void)state;
	assert_int_equal(stix_id_new("indicator", id), 0);
	assert_true(stix_id_valid(id, "indicator"));
	assert_true(stix_id_valid(id, NULL));
	assert_false(stix_id_valid(id, "identity"));
	assert_int_equal(id[strlen("indicator--") + 14], '4'); /* version */
	assert_int_equal(stix_id_new("indicator", id2), 0);
	assert_string_not_equal(id, id2);
	assert_int_equal(stix_id_new("Indicator", id), YG_EINVAL);
	assert_int_equal(stix_id_new("x", id), YG_EINVAL);
	assert_int_equal(stix_id_new(NULL, id), YG_EINVAL);

	/* Vectors from Python: uuid.uuid5(UUID(STIX_NAMESPACE), name). The
	 * first is how STIX names the SCO {"value": "198.51.100.3"}. */
	assert_int_equal(stix_id_v5("ipv4-addr", "{\"value\":\"198.51.100.3\"}", id), 0);
	assert_string_equal(id, "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4");
	assert_int_equal(stix_id_v5("identity", "yagura.example/org/42", id), 0);
	assert_string_equal(id, "identity--02ea0b11-085c-57f0-b24a-55da7f6e820a");
	assert_true(stix_id_valid(id, "identity"));

	assert_true(stix_id_valid("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", NULL));
	assert_true(stix_id_valid("indicator--AAAAAAAA-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "indicator"));
	assert_false(stix_id_valid("indicator--aaaaaaaa-aaaa-6aaa-8aaa-aaaaaaaaaaaa", NULL));
	assert_false(stix_id_valid("indicator--aaaaaaaa-aaaa-4aaa-caaa-aaaaaaaaaaaa", NULL));
	assert_false(stix_id_valid("indicator--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa", NULL));
	assert_false(stix_id_valid("indicator--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaaa", NULL));
	assert_false(stix_id_valid("indicator--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaag", NULL));
	assert_false(stix_id_valid("indicator-aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", NULL));
	assert_false(stix_id_valid("--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", NULL));
	assert_false(stix_id_valid("", NULL));
	assert_false(stix_id_valid(NULL, NULL));
	assert_false(stix_id_valid("indicator--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "indicat"));
}

static void test_times(void **state)
{
	char ts[STIX_TIME_LEN];
	int64_t us;

	(void)state;
	assert_int_equal(stix_time_fmt(0, ts), 0);
	assert_string_equal(ts, "1970-01-01T00:00:00.000Z");
	/* Python: datetime(2026,12,6,15,0,0,123456,utc); sub-ms truncated */
	assert_int_equal(stix_time_fmt(1796569200123456LL, ts), 0);
	assert_string_equal(ts, "2026-12-06T15:00:00.123Z");
	assert_int_equal(stix_time_fmt(-1, ts), 0);
	assert_string_equal(ts, "1969-12-31T23:59:59.999Z");
	assert_int_equal(stix_time_fmt(-62135596800LL * 1000000, ts), 0);
	assert_string_equal(ts, "0001-01-01T00:00:00.000Z");
	assert_int_equal(stix_time_fmt(-62135596800LL * 1000000 - 1, ts), YG_EINVAL);
	assert_int_equal(stix_time_fmt(253402300800LL * 1000000, ts), YG_EINVAL);
	assert_int_equal(stix_time_fmt(253402300799999999LL, ts), 0);
	assert_string_equal(ts, "9999-12-31T23:59:59.999Z");

	assert_int_equal(stix_time_parse("2026-12-06T15:00:00.123456Z", &us), 0);
	assert_int_equal(us, 1796569200123456LL);
	assert_int_equal(stix_time_parse("2026-12-06T15:00:00Z", &us), 0);
	assert_int_equal(us, 1796569200000000LL);
	assert_int_equal(stix_time_parse("2026-12-06T15:00:00.1Z", &us), 0);
	assert_int_equal(us, 1796569200100000LL);
	assert_int_equal(stix_time_parse("2026-12-06T15:00:00.123456789Z", &us), 0);
	assert_int_equal(us, 1796569200123456LL);
	assert_int_equal(stix_time_parse("2024-02-29T00:00:00Z", &us), 0);
	assert_int_equal(stix_time_parse("2016-12-31T23:59:60Z", &us), 0);
	assert_int_equal(us, 1483228799999999LL);
	for (int64_t t = -86400000001LL; t < 4000000000000000LL; t += 123456789012345LL) {
		assert_int_equal(stix_time_fmt(t, ts), 0);
		assert_int_equal(stix_time_parse(ts, &us), 0);
		assert_int_equal(us, t - ((t % 1000) + 1000) % 1000);
	}

	static const char *const bad[] = {
		"2026-12-06T15:00:00.123+09:00",
		"2026-12-06T15:00:00",
		"2026-12-06 15:00:00Z",
		"2026-12-06t15:00:00Z",
		"2026-12-06T15:00:00z",
		"2023-02-29T00:00:00Z",
		"2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z",
		"2026-12-06T24:00:00Z",
		"2026-12-06T15:60:00Z",
		"2026-12-06T15:00:61Z",
		"2026-12-06T15:00:00.Z",
		"2026-12-06T15:00:00.1234567890Z",
		"0000-01-01T00:00:00Z",
		" 2026-12-06T15:00:00Z",
		"2026-12-06T15:00:00Z ",
		"+026-12-06T15:00:00Z",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (stix_time_parse(bad[i], &us) != YG_EINVAL)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(stix_time_parse(NULL, &us), YG_EINVAL);
}

/* --- patterns --- */

struct seen {
	int n;
	enum stix_kind kind[8];
	char value[8][300];
	int stop_at; /* 1-based; 0 never */
};

static int collect(void *ctx, const struct stix_cmp *cmp)
{
	struct seen *s = ctx;

	if (s->n < 8) {
		s->kind[s->n] = cmp->kind;
		snprintf(s->value[s->n], sizeof(s->value[0]), "%.*s", (int)cmp->value_len,
			 cmp->value);
	}
	s->n++;
	return s->stop_at == s->n ? -42 : 0;
}

static void test_pattern_for(void **state)
{
	static const struct {
		enum stix_kind kind;
		const char *value, *pattern;
	} ok[] = {
		{STIX_KIND_IPV4, "198.51.100.7", "[ipv4-addr:value = '198.51.100.7']"},
		{STIX_KIND_IPV4, "198.51.100.0/24", "[ipv4-addr:value = '198.51.100.0/24']"},
		{STIX_KIND_IPV6, "2001:db8::1", "[ipv6-addr:value = '2001:db8::1']"},
		{STIX_KIND_IPV6, "2001:db8::/32", "[ipv6-addr:value = '2001:db8::/32']"},
		{STIX_KIND_DOMAIN, "c2.example", "[domain-name:value = 'c2.example']"},
		{STIX_KIND_DOMAIN, "_dmarc.x-y.example.", "[domain-name:value = '_dmarc.x-y.example.']"},
		{STIX_KIND_URL, "http://c2.example/it's\\x",
		 "[url:value = 'http://c2.example/it\\'s\\\\x']"},
		{STIX_KIND_URL, "https://[2001:db8::5]:8443/a?b#c",
		 "[url:value = 'https://[2001:db8::5]:8443/a?b#c']"},
		{STIX_KIND_MD5, "d41d8cd98f00b204e9800998ecf8427e",
		 "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"},
		{STIX_KIND_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709",
		 "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"},
		{STIX_KIND_SHA256, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
		 "[file:hashes.'SHA-256' = "
		 "'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855']"},
	};
	static const struct {
		enum stix_kind kind;
		const char *value;
	} bad[] = {
		{STIX_KIND_IPV4, "198.51.100.256"},   {STIX_KIND_IPV4, "198.51.100"},
		{STIX_KIND_IPV4, "198.51.100.07"},    {STIX_KIND_IPV4, "198.51.100.0/33"},
		{STIX_KIND_IPV4, "198.51.100.0/024"}, {STIX_KIND_IPV4, "198.51.100.0/"},
		{STIX_KIND_IPV4, "2001:db8::1"},      {STIX_KIND_IPV6, "198.51.100.7"},
		{STIX_KIND_IPV6, "2001:db8::/129"},   {STIX_KIND_IPV6, "2001:db8:::1"},
		{STIX_KIND_DOMAIN, "a..example"},     {STIX_KIND_DOMAIN, "198.51.100.7"},
		{STIX_KIND_DOMAIN, "a b.example"},    {STIX_KIND_DOMAIN, ""},
		{STIX_KIND_DOMAIN, "x\n.example"},    {STIX_KIND_URL, "c2.example/x"},
		{STIX_KIND_URL, "http:///x"},	      {STIX_KIND_URL, "http://c2.example/a b"},
		{STIX_KIND_URL, "http://c2.example/\x7f"}, {STIX_KIND_URL, "http://c2.example/\t"},
		{STIX_KIND_MD5, "d41d8cd98f00b204e9800998ecf8427"},
		{STIX_KIND_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd8070g"},
		{STIX_KIND_OTHER, "x"},
	};
	char out[512];
	struct seen seen;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int n = stix_pattern_for(ok[i].kind, ok[i].value, out, sizeof(out));

		assert_int_equal(n, (int)strlen(ok[i].pattern));
		assert_string_equal(out, ok[i].pattern);
		/* and back */
		memset(&seen, 0, sizeof(seen));
		assert_int_equal(stix_pattern_parse(out, (size_t)n, STIX_KINDS_KNOWN, collect,
						    &seen, NULL),
				 0);
		assert_int_equal(seen.n, 1);
		assert_int_equal(seen.kind[0], ok[i].kind);
		assert_string_equal(seen.value[0], ok[i].value);
		/* exactly large enough, and one byte short */
		assert_int_equal(stix_pattern_for(ok[i].kind, ok[i].value, out, (size_t)n + 1), n);
		assert_int_equal(stix_pattern_for(ok[i].kind, ok[i].value, out, (size_t)n),
				 YG_ELIMIT);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (stix_pattern_for(bad[i].kind, bad[i].value, out, sizeof(out)) != YG_EINVAL)
			fail_msg("accepted %s", bad[i].value);
}

static void expect_refusal(const char *pattern, unsigned kinds, enum stix_pattern_why why,
			   const char *msg)
{
	struct stix_pattern_error e;

	assert_int_equal(stix_pattern_parse(pattern, strlen(pattern), kinds, NULL, NULL, &e),
			 YG_EFORMAT);
	assert_int_equal(e.why, why);
	assert_string_equal(e.msg, msg);
	assert_true(e.offset <= strlen(pattern));
}

static void test_pattern_parse(void **state)
{
	struct seen seen;
	struct stix_pattern_error e;
	char deep[200];
	static const char multi[] =
		"([ipv4-addr:value = '192.0.2.1' or domain-name:value='p.example'] OR "
		"[file:hashes.'SHA-256' = 'aa\\'b']) or [x-custom:prop = 'z']";

	(void)state;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(stix_pattern_parse(multi, strlen(multi), STIX_KINDS_ALL, collect, &seen,
					    &e),
			 0);
	assert_int_equal(e.why, STIX_PATTERN_OK);
	assert_int_equal(seen.n, 4);
	assert_int_equal(seen.kind[0], STIX_KIND_IPV4);
	assert_int_equal(seen.kind[1], STIX_KIND_DOMAIN);
	assert_int_equal(seen.kind[2], STIX_KIND_SHA256);
	assert_string_equal(seen.value[2], "aa'b");
	assert_int_equal(seen.kind[3], STIX_KIND_OTHER);
	/* Without OTHER in the mask the last comparison is refused, after the
	 * callbacks of the three before it. */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(stix_pattern_parse(multi, strlen(multi), STIX_KINDS_KNOWN, collect, &seen,
					    &e),
			 YG_EFORMAT);
	assert_int_equal(seen.n, 3);
	assert_int_equal(e.why, STIX_PATTERN_OBJECT);
	assert_string_equal(e.msg, "unsupported object path x-custom:prop");
	/* The callback's own code comes back. */
	memset(&seen, 0, sizeof(seen));
	seen.stop_at = 2;
	assert_int_equal(stix_pattern_parse(multi, strlen(multi), STIX_KINDS_ALL, collect, &seen,
					    &e),
			 -42);
	assert_int_equal(e.why, STIX_PATTERN_CALLBACK);

	/* Hash paths as feeds write them. */
	static const char *const md5s[] = {
		"[file:hashes.MD5 = 'x']", "[file:hashes.'MD5' = 'x']", "[file:hashes.md5 = 'x']"};
	for (size_t i = 0; i < 3; i++) {
		memset(&seen, 0, sizeof(seen));
		assert_int_equal(stix_pattern_parse(md5s[i], strlen(md5s[i]),
						    STIX_KIND_BIT(STIX_KIND_MD5), collect, &seen,
						    NULL),
				 0);
		assert_int_equal(seen.kind[0], STIX_KIND_MD5);
	}
	memset(&seen, 0, sizeof(seen));
	{
		static const char p[] = "[file:hashes.SHA256 = 'x' OR file:hashes.'SHA1' = 'y']";

		assert_int_equal(stix_pattern_parse(p, strlen(p), STIX_KINDS_KNOWN, collect, &seen,
						    NULL),
				 0);
	}
	assert_int_equal(seen.kind[0], STIX_KIND_SHA256);
	assert_int_equal(seen.kind[1], STIX_KIND_SHA1);

	expect_refusal("[ipv4-addr:value = '192.0.2.1'] OR", STIX_KINDS_ALL, STIX_PATTERN_SYNTAX,
		       "expected '[' at end of pattern");
	expect_refusal("[]", STIX_KINDS_ALL, STIX_PATTERN_SYNTAX,
		       "expected an object path, found ']'");
	expect_refusal("", STIX_KINDS_ALL, STIX_PATTERN_SYNTAX, "expected '[' at end of pattern");
	expect_refusal("[ipv4-addr:value = '1' AND ipv4-addr:value = '2']", STIX_KINDS_ALL,
		       STIX_PATTERN_OPERATOR, "unsupported operator AND");
	expect_refusal("[a:b = '1'] FOLLOWEDBY [a:b = '2']", STIX_KINDS_ALL, STIX_PATTERN_OPERATOR,
		       "unsupported operator FOLLOWEDBY");
	expect_refusal("[a:b != '1']", STIX_KINDS_ALL, STIX_PATTERN_OPERATOR,
		       "unsupported operator !=");
	expect_refusal("[a:b IN ('1', '2')]", STIX_KINDS_ALL, STIX_PATTERN_OPERATOR,
		       "unsupported operator IN");
	expect_refusal("[a:b LIKE '1%']", STIX_KINDS_ALL, STIX_PATTERN_OPERATOR,
		       "unsupported operator LIKE");
	expect_refusal("[NOT a:b = '1']", STIX_KINDS_ALL, STIX_PATTERN_OPERATOR,
		       "unsupported operator NOT");
	expect_refusal("[a:b = '1'] WITHIN 5 SECONDS", STIX_KINDS_ALL, STIX_PATTERN_OPERATOR,
		       "unsupported qualifier WITHIN");
	expect_refusal("[a:b = '1'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
		       STIX_KINDS_ALL, STIX_PATTERN_OPERATOR, "unsupported qualifier START");
	expect_refusal("[a:b = 42]", STIX_KINDS_ALL, STIX_PATTERN_SYNTAX,
		       "expected a quoted string, found '42'");
	expect_refusal("[a:b = h'ff']", STIX_KINDS_ALL, STIX_PATTERN_SYNTAX,
		       "expected a quoted string, found 'h'");
	expect_refusal("[a:b = 'x", STIX_KINDS_ALL, STIX_PATTERN_SYNTAX, "unterminated string");
	expect_refusal("[a:b = 'x\\n']", STIX_KINDS_ALL, STIX_PATTERN_SYNTAX,
		       "invalid escape in string");
	expect_refusal("[a:b = 'x']]", STIX_KINDS_ALL, STIX_PATTERN_SYNTAX,
		       "expected end of pattern, found ']'");
	expect_refusal("[email-addr:value = 'x@evil.example']", STIX_KINDS_NETWORK,
		       STIX_PATTERN_OBJECT, "unsupported object path email-addr:value");
	memset(deep, '(', 40);
	snprintf(deep + 40, sizeof(deep) - 40, "[a:b = '1']");
	expect_refusal(deep, STIX_KINDS_ALL, STIX_PATTERN_SYNTAX, "nested too deep");
	memset(deep, '[', 40);
	expect_refusal(deep, STIX_KINDS_ALL, STIX_PATTERN_SYNTAX,
		       "expected an object path, found '['");

	/* A literal longer than STIX_VALUE_MAX - 1. */
	{
		size_t n = STIX_VALUE_MAX + 40;
		char *p = malloc(n + 1);

		assert_non_null(p);
		memcpy(p, "[url:value = '", 14);
		memset(p + 14, 'a', n - 16);
		memcpy(p + n - 2, "']", 3);
		assert_int_equal(stix_pattern_parse(p, n, STIX_KINDS_ALL, NULL, NULL, &e),
				 YG_EFORMAT);
		assert_int_equal(e.why, STIX_PATTERN_TOO_LONG);
		assert_int_equal(e.kind, STIX_KIND_URL);
		free(p);
	}
	/* NUL bytes inside the given length are data, not the end. */
	assert_int_equal(stix_pattern_parse("[a:b = '\0']", 11, STIX_KINDS_ALL, NULL, NULL, NULL), 0);
	assert_int_equal(stix_pattern_parse(NULL, 0, STIX_KINDS_ALL, NULL, NULL, &e), YG_EFORMAT);
}

/* --- TLP --- */

static json_t *refs_of(const char *json)
{
	json_error_t jerr;
	json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);

	assert_non_null(v);
	return v;
}

static enum stix_tlp tlp_refs(const char *json, const json_t *defs)
{
	json_t *v = refs_of(json);
	enum stix_tlp t = stix_tlp_of_refs(v, defs);

	json_decref(v);
	return t;
}

static void test_tlp(void **state)
{
	enum stix_tlp t;
	json_t *o, *defs;

	(void)state;
	assert_true(STIX_TLP_NONE < STIX_TLP_CLEAR && STIX_TLP_AMBER < STIX_TLP_AMBER_STRICT &&
		    STIX_TLP_AMBER_STRICT < STIX_TLP_RED);
	for (int i = STIX_TLP_CLEAR; i <= STIX_TLP_RED; i++) {
		assert_int_equal(stix_tlp_from_name(stix_tlp_name((enum stix_tlp)i), &t), 0);
		assert_int_equal(t, i);
		assert_int_equal(stix_tlp_from_id(stix_tlp_id((enum stix_tlp)i)), i);
		assert_int_equal(stix_tlp_build((enum stix_tlp)i, &o), 0);
		assert_string_equal(json_string_value(json_object_get(o, "id")),
				    stix_tlp_id((enum stix_tlp)i));
		assert_int_equal(stix_tlp_of_definition(o), i);
		/* the extension's value, not the id, tells a copy under another id */
		json_object_set_new(o, "id", json_string("marking-definition--aaaaaaaa-aaaa-4aaa-"
							  "8aaa-aaaaaaaaaaaa"));
		assert_int_equal(stix_tlp_of_definition(o), i);
		json_decref(o);
	}
	assert_int_equal(stix_tlp_build(STIX_TLP_NONE, &o), YG_EINVAL);
	assert_null(stix_tlp_id(STIX_TLP_NONE));
	assert_string_equal(stix_tlp_name(STIX_TLP_AMBER_STRICT), "TLP:AMBER+STRICT");
	assert_string_equal(stix_tlp_id(STIX_TLP_CLEAR),
			    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487");
	assert_string_equal(stix_tlp_id(STIX_TLP_RED),
			    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1");
	assert_int_equal(stix_tlp_from_name("white", &t), 0);
	assert_int_equal(t, STIX_TLP_CLEAR);
	assert_int_equal(stix_tlp_from_name("tlp:amber+strict", &t), 0);
	assert_int_equal(t, STIX_TLP_AMBER_STRICT);
	assert_int_equal(stix_tlp_from_name("amber strict", &t), YG_EINVAL);
	assert_int_equal(stix_tlp_from_name("TLP:", &t), YG_EINVAL);
	/* TLP 1.0 */
	assert_int_equal(stix_tlp_from_id("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
			 STIX_TLP_CLEAR);
	assert_int_equal(stix_tlp_from_id("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"),
			 STIX_TLP_RED);
	assert_int_equal(stix_tlp_from_id("marking-definition--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"),
			 STIX_TLP_NONE);

	/* object_marking_refs */
	assert_int_equal(stix_tlp_of_refs(NULL, NULL), STIX_TLP_NONE);
	assert_int_equal(tlp_refs("[]", NULL), STIX_TLP_NONE);
	assert_int_equal(tlp_refs("[\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\","
				  "\"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9\"]",
				  NULL),
			 STIX_TLP_GREEN);
	assert_int_equal(tlp_refs("[\"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da\","
				  "\"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003\"]",
				  NULL),
			 STIX_TLP_AMBER_STRICT);
	/* Fails closed. */
	assert_int_equal(tlp_refs("\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\"",
				  NULL),
			 STIX_TLP_RED);
	assert_int_equal(tlp_refs("[42]", NULL), STIX_TLP_RED);
	assert_int_equal(tlp_refs("[\"identity--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\"]", NULL),
			 STIX_TLP_RED);
	assert_int_equal(tlp_refs("[\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\","
				  "\"marking-definition--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\"]",
				  NULL),
			 STIX_TLP_RED);
	/* ... unless the definition is at hand. */
	defs = refs_of("{\"marking-definition--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\":"
		       "{\"type\":\"marking-definition\",\"definition_type\":\"statement\","
		       "\"definition\":{\"statement\":\"Copyright 2026 Example\"}},"
		       "\"marking-definition--bbbbbbbb-aaaa-4aaa-8aaa-aaaaaaaaaaaa\":"
		       "{\"type\":\"marking-definition\",\"name\":\"TLP:AMBER\"}}");
	assert_int_equal(tlp_refs("[\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\","
				  "\"marking-definition--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\"]",
				  defs),
			 STIX_TLP_GREEN);
	assert_int_equal(tlp_refs("[\"marking-definition--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\"]",
				  defs),
			 STIX_TLP_NONE);
	assert_int_equal(tlp_refs("[\"marking-definition--bbbbbbbb-aaaa-4aaa-8aaa-aaaaaaaaaaaa\"]",
				  defs),
			 STIX_TLP_AMBER);
	json_decref(defs);
}

/* --- objects --- */

#define T0 1796569200000000LL /* 2026-12-06T15:00:00Z */

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void test_indicator(void **state)
{
	const char *marks[] = {stix_tlp_id(STIX_TLP_AMBER)};
	char org[STIX_ID_MAX];
	struct stix_extref xr = {.source_name = "yagura", .external_id = "report-7"};
	struct stix_indicator in;
	json_t *o;

	(void)state;
	assert_int_equal(stix_id_v5("identity", "org-1", org), 0);
	memset(&in, 0, sizeof(in));
	in.c.created = T0;
	in.c.created_by_ref = org;
	in.c.marking_refs = marks;
	in.c.n_marking_refs = 1;
	in.c.has_confidence = true;
	in.c.confidence = 80;
	in.c.extrefs = &xr;
	in.c.n_extrefs = 1;
	in.name = "C2 server";
	in.pattern = "[ipv4-addr:value = '198.51.100.7']";
	in.valid_until = T0 + 86400000000LL;
	assert_int_equal(stix_indicator_build(&in, &o), 0);
	assert_string_equal(str(o, "type"), "indicator");
	assert_string_equal(str(o, "spec_version"), "2.1");
	assert_true(stix_id_valid(str(o, "id"), "indicator"));
	assert_string_equal(str(o, "created"), "2026-12-06T15:00:00.000Z");
	assert_string_equal(str(o, "modified"), "2026-12-06T15:00:00.000Z");
	assert_string_equal(str(o, "valid_from"), "2026-12-06T15:00:00.000Z");
	assert_string_equal(str(o, "valid_until"), "2026-12-07T15:00:00.000Z");
	assert_string_equal(str(o, "pattern_type"), "stix");
	assert_string_equal(str(o, "created_by_ref"), org);
	assert_int_equal(json_integer_value(json_object_get(o, "confidence")), 80);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "indicator_types"), 0)),
			    "malicious-activity");
	assert_int_equal(stix_tlp_of_refs(json_object_get(o, "object_marking_refs"), NULL),
			 STIX_TLP_AMBER);
	assert_null(json_object_get(o, "revoked"));
	json_decref(o);

	/* Revocation is a new version: same id, later modified. */
	in.c.id = "indicator--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
	in.c.modified = T0 + 1000;
	in.c.revoked = true;
	assert_int_equal(stix_indicator_build(&in, &o), 0);
	assert_string_equal(str(o, "id"), in.c.id);
	assert_string_equal(str(o, "modified"), "2026-12-06T15:00:00.001Z");
	assert_true(json_is_true(json_object_get(o, "revoked")));
	json_decref(o);

	/* Refusals, each from a good indicator. */
#define REFUSE(field, value)                                                                 \
	do {                                                                                 \
		struct stix_indicator bad = in;                                              \
		o = NULL;                                                                    \
		bad.field = value;                                                           \
		assert_int_equal(stix_indicator_build(&bad, &o), YG_EINVAL);                 \
		assert_null(o);                                                              \
	} while (0)
	REFUSE(pattern, NULL);
	REFUSE(pattern, "[ipv4-addr:value = '1' AND ipv4-addr:value = '2']");
	REFUSE(valid_until, T0);
	REFUSE(valid_from, T0 + 86400000000LL);
	REFUSE(c.modified, T0 - 1);
	REFUSE(c.confidence, 101);
	REFUSE(c.confidence, -1);
	REFUSE(c.created_by_ref, "indicator--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa");
	REFUSE(c.id, "identity--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa");
	REFUSE(name, "\xff\xfe");
	REFUSE(c.created, 253402300800LL * 1000000);
	{
		const char *bad_marks[] = {"identity--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"};
		REFUSE(c.marking_refs, bad_marks);
	}
	{
		const char *bad_types[] = {"Malicious Activity"};
		in.n_indicator_types = 1;
		REFUSE(indicator_types, bad_types);
		in.n_indicator_types = 0;
	}
	{
		struct stix_extref nosrc = {.url = "https://example"};
		REFUSE(c.extrefs, &nosrc);
	}
#undef REFUSE
}

static void test_other_objects(void **state)
{
	const char *ind = "indicator--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
	char org[STIX_ID_MAX], sys[STIX_ID_MAX];
	const char *where[1], *refs[2];
	json_t *o, *b;

	(void)state;
	assert_int_equal(stix_id_v5("identity", "org-1", org), 0);
	assert_int_equal(stix_id_v5("identity", "sensor-1", sys), 0);

	{
		struct stix_sighting s = {.sighting_of_ref = ind, .first_seen = T0,
					  .last_seen = T0 + 5000000, .count = 3};
		where[0] = sys;
		s.where_sighted_refs = where;
		s.n_where_sighted_refs = 1;
		assert_int_equal(stix_sighting_build(&s, &o), 0);
		assert_string_equal(str(o, "type"), "sighting");
		assert_string_equal(str(o, "last_seen"), "2026-12-06T15:00:05.000Z");
		assert_int_equal(json_integer_value(json_object_get(o, "count")), 3);
		json_decref(o);
		s.last_seen = T0 - 1;
		assert_int_equal(stix_sighting_build(&s, &o), YG_EINVAL);
		s.last_seen = 0;
		s.count = 1000000000;
		assert_int_equal(stix_sighting_build(&s, &o), YG_EINVAL);
		s.count = 0;
		where[0] = ind;
		assert_int_equal(stix_sighting_build(&s, &o), YG_EINVAL);
		where[0] = sys;
		s.sighting_of_ref = stix_tlp_id(STIX_TLP_RED);
		assert_int_equal(stix_sighting_build(&s, &o), YG_EINVAL);
	}
	{
		struct stix_identity id = {.c.id = org, .name = "Example Power Co."};
		const char *const *sec = stix_sectors_of("electricity");
		size_t n = 0;

		while (sec[n] != NULL)
			n++;
		id.sectors = sec;
		id.n_sectors = n;
		assert_int_equal(stix_identity_build(&id, &o), 0);
		assert_string_equal(str(o, "identity_class"), "organization");
		assert_string_equal(json_string_value(json_array_get(json_object_get(o, "sectors"), 0)),
				    "energy");
		json_decref(o);
		id.name = "";
		assert_int_equal(stix_identity_build(&id, &o), YG_EINVAL);
		id.name = "x";
		const char *bad[] = {"electricity"};
		id.sectors = bad;
		id.n_sectors = 1;
		assert_int_equal(stix_identity_build(&id, &o), YG_EINVAL);
	}
	{
		struct stix_report r = {.name = "Warning 2026-12", .published = T0};

		assert_int_equal(stix_report_build(&r, &o), YG_EINVAL); /* no object_refs */
		refs[0] = ind;
		refs[1] = org;
		r.object_refs = refs;
		r.n_object_refs = 2;
		assert_int_equal(stix_report_build(&r, &o), 0);
		assert_string_equal(str(o, "published"), "2026-12-06T15:00:00.000Z");
		assert_string_equal(json_string_value(json_array_get(json_object_get(o, "report_types"), 0)),
				    "threat-report");
		json_decref(o);
		r.published = 0;
		assert_int_equal(stix_report_build(&r, &o), YG_EINVAL);
	}
	{
		const char *authors[] = {"Office analyst"};
		struct stix_note n = {.content = "Seen at two operators.", .object_refs = refs,
				      .n_object_refs = 1, .authors = authors, .n_authors = 1};

		assert_int_equal(stix_note_build(&n, &o), 0);
		assert_string_equal(str(o, "content"), "Seen at two operators.");
		json_decref(o);
		n.content = NULL;
		assert_int_equal(stix_note_build(&n, &o), YG_EINVAL);
	}
	{
		struct stix_relationship r = {.relationship_type = "indicates", .source_ref = ind,
					      .target_ref = "malware--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"};

		assert_int_equal(stix_relationship_build(&r, &o), 0);
		json_decref(o);
		r.relationship_type = "Indicates";
		assert_int_equal(stix_relationship_build(&r, &o), YG_EINVAL);
		r.relationship_type = "indicates";
		r.target_ref = "bundle--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
		assert_int_equal(stix_relationship_build(&r, &o), YG_EINVAL);
	}
	{
		struct stix_common c = {.created = T0, .created_by_ref = org};

		assert_int_equal(stix_statement_build(&c, "Copyright", "Copyright 2026 Example", &o), 0);
		assert_string_equal(str(o, "definition_type"), "statement");
		assert_null(json_object_get(o, "modified"));
		json_decref(o);
		c.revoked = true;
		assert_int_equal(stix_statement_build(&c, NULL, "x", &o), YG_EINVAL);
	}

	assert_int_equal(stix_bundle_new(&b), 0);
	assert_true(stix_id_valid(str(b, "id"), "bundle"));
	assert_int_equal(stix_tlp_build(STIX_TLP_GREEN, &o), 0);
	assert_int_equal(stix_bundle_add(b, o), 0);
	assert_int_equal(stix_bundle_add(b, json_integer(1)), YG_EINVAL); /* taken and freed */
	assert_int_equal(json_array_size(json_object_get(b, "objects")), 1);
	json_decref(b);
}

static void test_sectors(void **state)
{
	/* src/tower's default sectors: each maps into the vocabulary. */
	static const char *const defaults[] = {
		"electricity", "gas",	   "petroleum", "water",	"railways",
		"trucking",    "shipping",   "aviation",  "airports",	"telecommunications",
		"broadcasting", "postal",   "finance",   "credit_cards", "ports"};

	(void)state;
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		const char *const *s = stix_sectors_of(defaults[i]);

		assert_non_null(s[0]);
		assert_string_not_equal(s[0], "infrastructure");
		for (; *s != NULL; s++)
			if (!stix_sector_valid(*s))
				fail_msg("%s -> %s", defaults[i], *s);
	}
	assert_string_equal(stix_sectors_of("water")[0], "water");
	assert_string_equal(stix_sectors_of("finance")[0], "financial-services");
	assert_string_equal(stix_sectors_of("unheard_of")[0], "infrastructure");
	assert_null(stix_sectors_of("unheard_of")[1]);
	assert_string_equal(stix_sectors_of(NULL)[0], "infrastructure");
	assert_false(stix_sector_valid("electricity"));
	assert_false(stix_sector_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),	      cmocka_unit_test(test_times),
		cmocka_unit_test(test_pattern_for),   cmocka_unit_test(test_pattern_parse),
		cmocka_unit_test(test_tlp),	      cmocka_unit_test(test_indicator),
		cmocka_unit_test(test_other_objects), cmocka_unit_test(test_sectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
