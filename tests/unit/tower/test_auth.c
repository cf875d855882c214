/* Unit tests for src/tower/auth.c: tokens and the authorization matrix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tower/auth.h"

static void test_tokens(void **state)
{
	char a[TOKEN_TEXT_LEN + 1], b[TOKEN_TEXT_LEN + 1];
	uint8_t ha[TOKEN_HASH_LEN], hb[TOKEN_HASH_LEN], h[TOKEN_HASH_LEN];

	(void)state;
	assert_int_equal(token_new(a, ha), 0);
	assert_int_equal(token_new(b, hb), 0);
	assert_int_equal(strlen(a), TOKEN_TEXT_LEN);
	assert_memory_equal(a, "ygt_", 4);
	assert_string_not_equal(a, b);
	assert_memory_not_equal(ha, hb, TOKEN_HASH_LEN);
	/* The hash of the presented text is the stored one. */
	assert_int_equal(token_hash(a, strlen(a), h), 0);
	assert_memory_equal(h, ha, TOKEN_HASH_LEN);
	/* One character changed: another hash. */
	a[10] = a[10] == 'A' ? 'B' : 'A';
	assert_int_equal(token_hash(a, strlen(a), h), 0);
	assert_memory_not_equal(h, ha, TOKEN_HASH_LEN);
	/* Not of the form: refused before any lookup. */
	assert_int_equal(token_hash("ygt_short", 9, h), YG_EINVAL);
	memcpy(b, "xyz_", 4);
	assert_int_equal(token_hash(b, strlen(b), h), YG_EINVAL);
	b[0] = 'y', b[1] = 'g', b[2] = 't', b[3] = '_', b[20] = '/';
	assert_int_equal(token_hash(b, strlen(b), h), YG_EINVAL);
}

static void test_matrix(void **state)
{
	(void)state;
	/* Only operators file reports, for their own organisation. */
	for (int r = 0; r < ROLE_COUNT; r++)
		assert_int_equal(authz_scope(r, ACT_REPORT_CREATE),
				 r == ROLE_OPERATOR ? SCOPE_OWN_ORG : SCOPE_NONE);
	/* Regulators read their sectors' reports, assets and the alerts
	 * against those assets, nothing else. */
	for (int a = 0; a < ACT_COUNT; a++)
		assert_int_equal(authz_scope(ROLE_REGULATOR, a),
				 a == ACT_REPORT_READ || a == ACT_ASSET_READ || a == ACT_ALERT_READ
					 ? SCOPE_OWN_SECTORS
				 : a == ACT_TAXII ? SCOPE_ALL /* each collection says the rest */
						  : SCOPE_NONE);
	/* Operators read alerts only within their organisation (its assets). */
	assert_int_equal(authz_scope(ROLE_OPERATOR, ACT_ALERT_READ), SCOPE_OWN_ORG);
	/* Sensors post alerts and read indicators, the countermeasure files
	 * and their own monitoring authorizations only. */
	for (int a = 0; a < ACT_COUNT; a++)
		assert_int_equal(authz_scope(ROLE_SENSOR, a) != SCOPE_NONE,
				 a == ACT_ALERT_POST || a == ACT_INTEL_READ ||
					 a == ACT_COUNTERMEASURE_READ || a == ACT_MONITOR_READ ||
					 a == ACT_TAXII);
	assert_int_equal(authz_scope(ROLE_SENSOR, ACT_MONITOR_READ), SCOPE_OWN_ORG);
	/* Separation of duties: only analysts propose cases, only overseers
	 * decide them; nobody else but either ends one. */
	for (int r = 0; r < ROLE_COUNT; r++) {
		assert_int_equal(authz_scope(r, ACT_CASE_PROPOSE) != SCOPE_NONE, r == ROLE_ANALYST);
		assert_int_equal(authz_scope(r, ACT_CASE_DECIDE) != SCOPE_NONE, r == ROLE_OVERSEER);
		assert_int_equal(authz_scope(r, ACT_CASE_REVOKE) != SCOPE_NONE,
				 r == ROLE_ANALYST || r == ROLE_OVERSEER);
		/* The same for monitoring authorizations. */
		assert_int_equal(authz_scope(r, ACT_MONITOR_PROPOSE) != SCOPE_NONE,
				 r == ROLE_ANALYST);
		assert_int_equal(authz_scope(r, ACT_MONITOR_DECIDE) != SCOPE_NONE,
				 r == ROLE_OVERSEER);
		assert_int_equal(authz_scope(r, ACT_MONITOR_REVOKE) != SCOPE_NONE,
				 r == ROLE_ANALYST || r == ROLE_OVERSEER);
	}
	assert_string_equal(action_name(ACT_MONITOR_READ), "monitoring.read");
	/* Only admins administer. */
	for (int r = 0; r < ROLE_COUNT; r++)
		assert_int_equal(authz_scope(r, ACT_ADMIN) != SCOPE_NONE, r == ROLE_ADMIN);
	assert_int_equal(authz_scope(ROLE_COUNT, ACT_ADMIN), SCOPE_NONE);
	/* Only auditors hand in witnesses' cosignatures. */
	for (int r = 0; r < ROLE_COUNT; r++)
		assert_int_equal(authz_scope(r, ACT_LOG_COSIGN),
				 r == ROLE_AUDITOR ? SCOPE_ALL : SCOPE_NONE);
	assert_string_equal(action_name(ACT_LOG_COSIGN), "log.cosign");
	/* The office decides the TAXII collections and who reads and writes
	 * them: its analysts, and the admin who manages organisations. */
	for (int r = 0; r < ROLE_COUNT; r++)
		assert_int_equal(authz_scope(r, ACT_TAXII_MANAGE),
				 r == ROLE_ANALYST || r == ROLE_ADMIN ? SCOPE_ALL : SCOPE_NONE);
	assert_string_equal(action_name(ACT_TAXII_MANAGE), "taxii.manage");
	assert_int_equal(role_parse("overseer"), ROLE_OVERSEER);
	assert_int_equal(role_parse("root"), -1);
	assert_string_equal(role_name(ROLE_SENSOR), "sensor");
	assert_string_equal(action_name(ACT_ALERT_POST), "alert.post");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_matrix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
