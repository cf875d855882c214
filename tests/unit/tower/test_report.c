/* Unit tests for src/tower/report.c: report validation per stage, error
 * paths, timestamps and deadlines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_implausible_detection_times),
		cmocka_unit_test(test_prompt_minimal_is_valid),
		cmocka_unit_test(test_every_bad_field_is_named),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_error_list_is_bounded),
		cmocka_unit_test(test_times_and_deadlines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
