/* Unit tests for src/tower/report.c: report validation per stage, error
 * paths, unknown fields at every depth, size bounds, timestamps and
 * deadlines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tower/report.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	assert_non_null(j);
	return j;
}

static int has_error(const struct report_errors *errs, const char *field, const char *reason_part)
{
	for (unsigned i = 0; i < errs->n; i++)
		if (strcmp(errs->e[i].field, field) == 0 && strstr(errs->e[i].reason, reason_part))
			return 1;
	return 0;
}

#define PROMPT_OK                                                                                  \
	"{\"category\":\"ddos\",\"summary\":\"SYN flood on the billing portal\","                  \
	"\"detected_at\":\"2026-11-22T09:30:00+09:00\",\"severity\":\"high\",\"tlp\":\"TLP:AMBER\"," \
	"\"category_details\":{\"peak_pps\":2500000,\"target_services\":[\"https\"]}}"

static void test_prompt_minimal_is_valid(void **state)
{
	struct report_errors errs;
	json_t *j = parse(PROMPT_OK);

	(void)state;
	assert_int_equal(report_validate(j, REPORT_PROMPT, &errs), 0);
	assert_int_equal(errs.n, 0);
	/* The same body is not enough for the later stages. */
	assert_int_equal(report_validate(j, REPORT_DETAILED, &errs), YG_EINVAL);
	assert_true(has_error(&errs, "technical_details", "required"));
	assert_true(has_error(&errs, "affected_computers", "required"));
	assert_int_equal(report_validate(j, REPORT_FINAL, &errs), YG_EINVAL);
	assert_true(has_error(&errs, "response_taken", "required"));
	assert_true(has_error(&errs, "impact", "required"));
	json_decref(j);
}

static void test_every_bad_field_is_named(void **state)
{
	struct report_errors errs;
	json_t *j = parse("{\"category\":\"aliens\",\"summary\":42,\"detected_at\":\"yesterday\","
			  "\"severity\":\"CRITICAL\",\"tlp\":\"amber\",\"colour\":\"red\","
			  "\"technical_details\":{\"indicators\":{\"addresses\":[\"10.0.0.1\","
			  "\"10.0.0.300\",\"2001:db8::/32\"],\"domains\":[\"evil.example\","
			  "\"bad domain\"],\"urls\":[\"javascript:x\"],\"file_hashes\":[\"abc\"]}},"
			  "\"impact\":{\"users_affected\":-3,\"outage_minutes\":1.5},"
			  "\"affected_computers\":[{\"asset_id\":0},{}]}");

	(void)state;
	assert_int_equal(report_validate(j, REPORT_FINAL, &errs), YG_EINVAL);
	assert_true(has_error(&errs, "category", "must be one of ddos"));
	assert_true(has_error(&errs, "summary", "must be a string"));
	assert_true(has_error(&errs, "detected_at", "RFC 3339"));
	assert_true(has_error(&errs, "severity", "must be one of"));
	assert_true(has_error(&errs, "tlp", "TLP:CLEAR"));
	assert_true(has_error(&errs, "colour", "not a report field"));
	assert_true(has_error(&errs, "technical_details.indicators.addresses[1]", "IP address"));
	assert_false(has_error(&errs, "technical_details.indicators.addresses[0]", ""));
	assert_false(has_error(&errs, "technical_details.indicators.addresses[2]", ""));
	assert_true(has_error(&errs, "technical_details.indicators.domains[1]", "domain"));
	assert_true(has_error(&errs, "technical_details.indicators.urls[0]", "URL"));
	assert_true(has_error(&errs, "technical_details.indicators.file_hashes[0]", "digest"));
	assert_true(has_error(&errs, "impact.users_affected", "whole number"));
	assert_true(has_error(&errs, "impact.outage_minutes", "whole number"));
	assert_true(has_error(&errs, "affected_computers[0].asset_id", "registered asset"));
	assert_true(has_error(&errs, "affected_computers[1].description", "required"));
	assert_true(has_error(&errs, "response_taken", "required"));
	json_decref(j);
}

static void test_not_an_object(void **state)
{
	struct report_errors errs;
	json_t *j = parse("[1,2,3]");

	(void)state;
	assert_int_equal(report_validate(j, REPORT_PROMPT, &errs), YG_EINVAL);
	assert_int_equal(errs.n, 1);
	json_decref(j);
}

static void test_error_list_is_bounded(void **state)
{
	struct report_errors errs;
	json_t *j = parse(PROMPT_OK), *ind = json_object(), *arr = json_array();

	(void)state;
	for (int i = 0; i < 500; i++)
		json_array_append_new(arr, json_string("not-an-address"));
	json_object_set_new(ind, "addresses", arr);
	json_object_set_new(j, "technical_details", json_pack("{s:o}", "indicators", ind));
	assert_int_equal(report_validate(j, REPORT_PROMPT, &errs), YG_EINVAL);
	assert_int_equal(errs.n, REPORT_MAX_ERRORS);
	json_decref(j);
}

static void test_times_and_deadlines(void **state)
{
	struct report_policy p;
	int64_t us;

	(void)state;
	assert_int_equal(report_parse_time("2026-11-22T00:30:00Z", &us), 0);
	assert_int_equal(us, 1795307400LL * 1000000);
	assert_int_equal(report_parse_time("2026-11-22T09:30:00+09:00", &us), 0);
	assert_int_equal(us, 1795307400LL * 1000000);
	assert_int_equal(report_parse_time("2026-11-22T00:30:00.25Z", &us), 0);
	assert_int_equal(us, 1795307400LL * 1000000 + 250000);
	assert_int_equal(report_parse_time("2026-02-31T00:00:00Z", &us), YG_EINVAL);
	assert_int_equal(report_parse_time("2026-11-22 00:30:00Z", &us), YG_EINVAL);
	assert_int_equal(report_parse_time("2026-11-22T00:30:00", &us), YG_EINVAL);
	assert_int_equal(report_parse_time("2026-11-22T00:30:00Zjunk", &us), YG_EINVAL);
	report_policy_default(&p);
	assert_int_equal(report_next_due(&p, 0, -1), 24LL * 3600 * 1000000);
	assert_int_equal(report_next_due(&p, 0, REPORT_PROMPT), 72LL * 3600 * 1000000);
	assert_int_equal(report_next_due(&p, 0, REPORT_DETAILED), 30LL * 86400 * 1000000);
	assert_int_equal(report_next_due(&p, 0, REPORT_FINAL), 0);
	assert_int_equal(report_stage_parse("detailed"), REPORT_DETAILED);
	assert_int_equal(report_stage_parse("closed"), -1);
	assert_string_equal(report_stage_name(REPORT_FINAL), "final");
}

/* Times no detection can have: the future (the report would never fall
 * due), and before any plausible date (stored as nothing). */
static void test_implausible_detection_times(void **state)
{
	static const char *const bad[] = {"2030-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
					  "0000-01-01T00:00:00Z", "1970-01-01T00:00:00Z"};
	struct report_errors errs;
	char body[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"category\":\"ddos\",\"summary\":\"s\",\"severity\":\"high\","
			 "\"detected_at\":\"%s\"}",
			 bad[i]);
		json_t *j = parse(body);
		assert_int_equal(report_validate(j, REPORT_PROMPT, &errs), YG_EINVAL);
		assert_true(has_error(&errs, "detected_at", ""));
		json_decref(j);
	}
	json_t *j = parse("{\"category\":\"ddos\",\"summary\":\"s\",\"severity\":\"high\","
			  "\"detected_at\":\"2026-11-22T09:30:00+09:00\"}");
	assert_int_equal(report_validate(j, REPORT_PROMPT, &errs), 0);
	json_decref(j);
}

/* A final report with every documented field (docs/tower.md) for a
 * category, its details included. */
static json_t *full_report(const char *category)
{
	json_t *j = parse(
		"{\"summary\":\"SYN flood on the billing portal\","
		"\"detected_at\":\"2026-11-22T09:30:00+09:00\",\"severity\":\"high\","
		"\"tlp\":\"TLP:AMBER+STRICT\",\"response_taken\":\"blocked at the edge\","
		"\"other\":\"the vendor was told\","
		"\"affected_computers\":[{\"asset_id\":3},{\"description\":\"portal front-end\"},"
		"{\"asset_id\":4,\"description\":\"HMI\"}],"
		"\"technical_details\":{\"attack_vector\":\"exposed VPN\",\"indicators\":{"
		"\"addresses\":[\"203.0.113.5\",\"198.51.100.0/24\",\"2001:db8::1\",\"2001:db8::/32\"],"
		"\"domains\":[\"c2.bad.example\"],\"urls\":[\"https://c2.bad.example/x?y=1\","
		"\"ftp://files.example/a\"],\"file_hashes\":[\"d41d8cd98f00b204e9800998ecf8427e\"]}},"
		"\"impact\":{\"services_affected\":[\"billing\",\"\u53d7\u4ed8\"],"
		"\"users_affected\":1200,\"outage_minutes\":45}}");
	static const struct {
		const char *category, *details;
	} details[] = {
		{"ddos", "{\"peak_bps\":40000000000,\"peak_pps\":2500000,\"duration_minutes\":90,"
			 "\"target_services\":[\"https\",\"dns\"]}"},
		{"ransomware", "{\"family\":\"LockBit\",\"encrypted_systems\":12,"
			       "\"ransom_demanded\":true}"},
		{"malware", "{\"family\":\"Emotet\"}"},
		{"data_breach", "{\"records\":50000,\"data_types\":[\"names\",\"card numbers\"]}"},
		{"unauthorised_access", "{\"vector\":\"phished VPN credentials\","
					"\"accounts_compromised\":3}"},
		{"other", "{}"},
	};

	json_object_set_new(j, "category", json_string(category));
	for (size_t i = 0; i < sizeof(details) / sizeof(details[0]); i++)
		if (strcmp(details[i].category, category) == 0)
			json_object_set_new(j, "category_details", parse(details[i].details));
	return j;
}

static const char *const all_categories[] = {"ddos", "ransomware", "malware", "data_breach",
					     "other", "unauthorised_access"};

static void test_documented_fields_are_accepted(void **state)
{
	struct report_errors errs;

	(void)state;
	for (size_t i = 0; i < sizeof(all_categories) / sizeof(all_categories[0]); i++) {
		json_t *j = full_report(all_categories[i]);

		for (int s = REPORT_PROMPT; s < REPORT_STAGES; s++) {
			int rc = report_validate(j, (enum report_stage)s, &errs);
			if (rc != 0)
				fail_msg("%s at %s: %s: %s", all_categories[i],
					 report_stage_name((enum report_stage)s), errs.e[0].field,
					 errs.e[0].reason);
		}
		json_decref(j);
	}
}

/* Sets the value at a dotted path of j ("impact.blob"), making the objects
 * on the way. Takes v. */
static void set_path(json_t *j, const char *path, json_t *v)
{
	char buf[128];
	char *dot, *key = buf;

	snprintf(buf, sizeof(buf), "%s", path);
	while ((dot = strchr(key, '.')) != NULL) {
		json_t *next;

		*dot = '\0';
		next = json_object_get(j, key);
		if (next == NULL) {
			next = json_object();
			json_object_set_new(j, key, next);
		}
		j = next;
		key = dot + 1;
	}
	json_object_set_new(j, key, v);
}

/* A string of n copies of unit. */
static json_t *repeat(const char *unit, size_t n)
{
	size_t u = strlen(unit);
	char *b = malloc(n * u + 1);
	json_t *v;

	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		memcpy(b + i * u, unit, u);
	b[n * u] = '\0';
	v = json_string(b);
	free(b);
	assert_non_null(v);
	return v;
}

/* Issue 11: a 3 MB blob under impact was stored. Every object of a
 * report refuses what it does not define, at every stage, naming it. */
static void test_nested_unknown_fields_are_refused(void **state)
{
	static const struct {
		const char *category, *path, *reason;
	} cases[] = {
		{"ddos", "impact.blob", "unknown field: this object takes services_affected"},
		{"ddos", "category_details.blob", "category ddos are peak_bps, peak_pps"},
		{"ddos", "category_details.family", "the details of category ddos"},
		{"ransomware", "category_details.peak_pps", "are family, encrypted_systems"},
		{"other", "category_details.family", "category other has no details"},
		{"ddos", "technical_details.notes", "takes indicators, attack_vector"},
		{"ddos", "technical_details.indicators.ips", "takes addresses, domains, urls"},
		{"ddos", "technical_details.indicators.addresses_", "unknown field"},
		{"malware", "impact.users_affected_", "unknown field"},
	};
	struct report_errors errs;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int s = REPORT_PROMPT; s < REPORT_STAGES; s++) {
			json_t *j = full_report(cases[i].category);

			set_path(j, cases[i].path, repeat("x", s == REPORT_FINAL ? 3 << 20 : 8));
			assert_int_equal(report_validate(j, (enum report_stage)s, &errs), YG_EINVAL);
			if (!has_error(&errs, cases[i].path, cases[i].reason))
				fail_msg("%s at stage %d: %u errors, first %s: %s", cases[i].path, s,
					 errs.n, errs.e[0].field, errs.e[0].reason);
			assert_int_equal(errs.n, 1);
			json_decref(j);
		}
	}
	/* An affected computer, which arrays hold. */
	json_t *j = full_report("ddos");
	json_object_set_new(json_array_get(json_object_get(j, "affected_computers"), 1), "owner",
			    json_string("ops"));
	assert_int_equal(report_validate(j, REPORT_PROMPT, &errs), YG_EINVAL);
	assert_true(has_error(&errs, "affected_computers[1].owner", "takes asset_id, description"));
	json_decref(j);
	/* With no valid category, details of any category are taken, others
	 * not. */
	j = full_report("ddos");
	json_object_set_new(j, "category", json_string("aliens"));
	set_path(j, "category_details.family", json_string("x"));
	set_path(j, "category_details.probe", json_string("x"));
	assert_int_equal(report_validate(j, REPORT_PROMPT, &errs), YG_EINVAL);
	assert_int_equal(errs.n, 2);
	assert_true(has_error(&errs, "category", "must be one of"));
	assert_true(has_error(&errs, "category_details.probe", "no category"));
	json_decref(j);
}

/* Every string has a maximum length in characters, every array a maximum
 * count: one past it is named, at it is accepted. */
static void test_size_bounds(void **state)
{
	static const struct {
		const char *category, *path;
		size_t max;
		const char *unit; /* a string of max (+1) units; NULL: an array */
		const char *item; /* the array's item */
	} cases[] = {
		{"ddos", "summary", 20000, "a", NULL},
		{"ddos", "summary", 20000, "\u65e5", NULL}, /* characters, not bytes */
		{"ddos", "response_taken", 20000, "a", NULL},
		{"ddos", "other", 20000, "a", NULL},
		{"ddos", "technical_details.attack_vector", 2000, "a", NULL},
		{"ransomware", "category_details.family", 200, "a", NULL},
		{"malware", "category_details.family", 200, "\u00e9", NULL},
		{"unauthorised_access", "category_details.vector", 500, "a", NULL},
		{"ddos", "category_details.target_services", 100, NULL, "\"https\""},
		{"data_breach", "category_details.data_types", 100, NULL, "\"names\""},
		{"ddos", "impact.services_affected", 100, NULL, "\"billing\""},
		{"ddos", "technical_details.indicators.addresses", 10000, NULL, "\"203.0.113.5\""},
		{"ddos", "technical_details.indicators.domains", 10000, NULL, "\"a.example\""},
		{"ddos", "technical_details.indicators.urls", 10000, NULL, "\"http://a.example/\""},
		{"ddos", "technical_details.indicators.file_hashes", 10000, NULL,
		 "\"d41d8cd98f00b204e9800998ecf8427e\""},
		{"ddos", "affected_computers", 10000, NULL, "{\"asset_id\":1}"},
	};
	struct report_errors errs;
	char why[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t n = cases[i].max; n <= cases[i].max + 1; n++) {
			json_t *j = full_report(cases[i].category), *v;

			if (cases[i].unit != NULL) {
				v = repeat(cases[i].unit, n);
				snprintf(why, sizeof(why), "is longer than %zu characters", cases[i].max);
			} else {
				v = json_array();
				for (size_t k = 0; k < n; k++)
					json_array_append_new(
						v, json_loads(cases[i].item, JSON_DECODE_ANY, NULL));
				snprintf(why, sizeof(why), "has more than %zu items", cases[i].max);
			}
			set_path(j, cases[i].path, v);
			int rc = report_validate(j, REPORT_FINAL, &errs);
			if (n == cases[i].max && rc != 0)
				fail_msg("%s at its bound: %s: %s", cases[i].path, errs.e[0].field,
					 errs.e[0].reason);
			if (n > cases[i].max &&
			    (rc != YG_EINVAL || errs.n != 1 || !has_error(&errs, cases[i].path, why)))
				fail_msg("%s past its bound: %u errors, %s: %s", cases[i].path, errs.n,
					 errs.e[0].field, errs.e[0].reason);
			json_decref(j);
		}
	}
}

/* Strings in arrays and elsewhere have their own bounds; descriptions
 * are bounded whether or not an asset is named. */
static void test_item_bounds(void **state)
{
	static const struct {
		const char *path, *field, *unit;
		size_t max;
	} cases[] = {
		{"impact.services_affected", "impact.services_affected[0]", "s", 200},
		{"category_details.target_services", "category_details.target_services[0]", "s", 200},
		{"technical_details.indicators.urls", "technical_details.indicators.urls[0]", "u", 2048},
		{"technical_details.indicators.domains", "technical_details.indicators.domains[0]", "d",
		 253},
	};
	struct report_errors errs;
	char why[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = full_report("ddos"), *arr = json_array();
		json_t *s = repeat(cases[i].unit, cases[i].max + 1);

		json_array_append_new(arr, s);
		set_path(j, cases[i].path, arr);
		assert_int_equal(report_validate(j, REPORT_FINAL, &errs), YG_EINVAL);
		snprintf(why, sizeof(why), "is longer than %zu characters", cases[i].max);
		if (!has_error(&errs, cases[i].field, why))
			fail_msg("%s: %s: %s", cases[i].field, errs.e[0].field, errs.e[0].reason);
		json_decref(j);
	}
	for (int with_asset = 0; with_asset < 2; with_asset++) {
		json_t *j = full_report("ddos"), *c = json_object();

		if (with_asset)
			json_object_set_new(c, "asset_id", json_integer(7));
		json_object_set_new(c, "description", repeat("d", 2001));
		json_object_set_new(j, "affected_computers", json_pack("[o]", c));
		assert_int_equal(report_validate(j, REPORT_DETAILED, &errs), YG_EINVAL);
		assert_true(has_error(&errs, "affected_computers[0].description",
				      "longer than 2000 characters"));
		json_decref(j);
	}
}

/* What each indicator list and one-line name takes. */
static void test_indicator_forms(void **state)
{
	static const struct {
		const char *path, *value;
		int ok;
	} cases[] = {
		{"technical_details.indicators.addresses", "10.0.0.0/8", 1},
		{"technical_details.indicators.addresses", "2001:db8::/128", 1},
		{"technical_details.indicators.addresses", "10.0.0.0/33", 0},
		{"technical_details.indicators.addresses", "2001:db8::/129", 0},
		{"technical_details.indicators.addresses", "10.0.0.0/9abc", 0},
		{"technical_details.indicators.addresses", "10.0.0.0/08", 0},
		{"technical_details.indicators.addresses", "10.0.0.0/", 0},
		{"technical_details.indicators.addresses", "10.0.0.0/-1", 0},
		{"technical_details.indicators.addresses", "fe80::1%eth0", 0},
		{"technical_details.indicators.addresses", "999.999.1.1", 0},
		{"technical_details.indicators.addresses", "<script>", 0},
		{"technical_details.indicators.urls", "http://", 0},
		{"technical_details.indicators.urls", "http:///etc/passwd", 0},
		{"technical_details.indicators.urls", "https://a.example/a b", 0},
		{"technical_details.indicators.urls", "https://a.example/\x1b[2J", 0},
		{"technical_details.indicators.urls", "https://a.example/\u30d1\u30b9", 1},
		{"impact.services_affected", "billing\nportal", 0},
		{"impact.services_affected", "billing\xc2\x9b" "2J", 0},
		{"category_details.target_services", "dns\r", 0},
	};
	struct report_errors errs;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = full_report("ddos");

		set_path(j, cases[i].path, json_pack("[s]", cases[i].value));
		int rc = report_validate(j, REPORT_FINAL, &errs);
		if (cases[i].ok ? rc != 0 : rc != YG_EINVAL || errs.n != 1)
			fail_msg("%s %s: %d, %u errors", cases[i].path, cases[i].value, rc, errs.n);
		json_decref(j);
	}
}

/* A field's name in an error comes from the client's key: what reaches
 * the 422 body and a terminal is valid UTF-8, without controls, cut at a
 * character. */
static void test_error_field_names_are_safe(void **state)
{
	struct report_errors errs;
	json_t *j = full_report("ddos");
	json_t *long_key = repeat("\u00e9", 100);

	(void)state;
	set_path(json_object_get(j, "impact"), "\x1b[2J\x7f", json_true());
	json_object_set_new(json_object_get(j, "impact"), json_string_value(long_key), json_true());
	json_decref(long_key);
	assert_int_equal(report_validate(j, REPORT_FINAL, &errs), YG_EINVAL);
	assert_int_equal(errs.n, 2);
	assert_true(has_error(&errs, "impact.?[2J?", "unknown field"));
	for (unsigned i = 0; i < errs.n; i++) {
		json_t *s = json_string(errs.e[i].field);

		assert_non_null(s); /* valid UTF-8 */
		json_decref(s);
		for (const char *p = errs.e[i].field; *p; p++)
			assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
		if (strncmp(errs.e[i].field, "impact.\u00e9", 9) == 0) {
			size_t n = strlen(errs.e[i].field);
			assert_true(n < sizeof(errs.e[i].field) && n > 50);
			assert_string_equal(errs.e[i].field + n - 3, "...");
		}
	}
	json_decref(j);
}

/* null is taken as absent, in nested objects as at the top. */
static void test_null_is_absent(void **state)
{
	struct report_errors errs;
	json_t *j = full_report("ddos");

	(void)state;
	set_path(j, "technical_details.indicators.urls", json_null());
	set_path(j, "category_details.peak_bps", json_null());
	set_path(j, "tlp", json_null());
	assert_int_equal(report_validate(j, REPORT_FINAL, &errs), 0);
	set_path(j, "impact", json_null());
	assert_int_equal(report_validate(j, REPORT_DETAILED, &errs), 0);
	assert_int_equal(report_validate(j, REPORT_FINAL, &errs), YG_EINVAL);
	assert_true(has_error(&errs, "impact", "required in the final report"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_implausible_detection_times),
		cmocka_unit_test(test_prompt_minimal_is_valid),
		cmocka_unit_test(test_every_bad_field_is_named),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_error_list_is_bounded),
		cmocka_unit_test(test_times_and_deadlines),
		cmocka_unit_test(test_documented_fields_are_accepted),
		cmocka_unit_test(test_nested_unknown_fields_are_refused),
		cmocka_unit_test(test_size_bounds),
		cmocka_unit_test(test_item_bounds),
		cmocka_unit_test(test_indicator_forms),
		cmocka_unit_test(test_error_field_names_are_safe),
		cmocka_unit_test(test_null_is_absent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
