/* Unit tests for src/tower/alertbatch.c: the one-pass reader of sensor
 * alert batches. What the tower stores and what it refuses rest on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "tower/alertbatch.h"

#define REC1                                                                                       \
	"{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"alert_id\":\"r-1\","                 \
	"\"src_ip\":\"203.0.113.9\",\"src_port\":40000,\"dest_ip\":\"10.0.0.1\","                 \
	"\"dest_port\":22,\"proto\":\"TCP\",\"extra\":{\"alert_id\":\"nested\",\"x\":[1,{}]},"   \
	"\"alert\":{\"signature_id\":9100001,\"signature\":\"YAGURA SCAN\",\"severity\":2,"       \
	"\"metadata\":{\"severity\":\"deep\"}}}"
#define REC2 "{ \"alert\" : { \"signature_id\" : 7 } ,\n \"timestamp\" : \"2026-11-22T00:00:0\\u0031.000000+0000\" }"

static enum alert_batch_status parse(const char *s, struct alert_batch *b)
{
	return alert_batch_parse(s, strlen(s), 100, b);
}

static void test_records(void **state)
{
	const char *body = "{\"sensor\":{\"alerts\":3},\"alerts\":[" REC1 " , " REC2 "]}";
	struct alert_batch b;

	(void)state;
	assert_int_equal(parse(body, &b), ALERT_BATCH_OK);
	assert_int_equal(b.n, 2);
	/* Each record is the exact text the sensor sent. */
	assert_int_equal(b.recs[0].len, strlen(REC1));
	assert_memory_equal(b.recs[0].text, REC1, strlen(REC1));
	assert_int_equal(b.recs[1].len, strlen(REC2));
	assert_memory_equal(b.recs[1].text, REC2, strlen(REC2));
	/* The indexed fields, and only those at the record's own level. */
	assert_string_equal(b.recs[0].alert_id, "r-1");
	assert_int_equal(b.recs[0].alert_id_len, 3);
	assert_string_equal(b.recs[0].timestamp, "2026-11-22T00:00:00.000000+0000");
	assert_string_equal(b.recs[0].src_ip, "203.0.113.9");
	assert_string_equal(b.recs[0].dest_ip, "10.0.0.1");
	assert_string_equal(b.recs[0].proto, "TCP");
	assert_string_equal(b.recs[0].signature, "YAGURA SCAN");
	assert_int_equal(b.recs[0].src_port, 40000);
	assert_int_equal(b.recs[0].dest_port, 22);
	assert_int_equal(b.recs[0].signature_id, 9100001);
	assert_int_equal(b.recs[0].severity, 2);
	assert_int_equal(b.recs[0].has, ALERT_HAS_SRC_PORT | ALERT_HAS_DEST_PORT |
						ALERT_HAS_SEVERITY | ALERT_HAS_SIGNATURE_ID |
						ALERT_HAS_ALERT);
	/* Escapes are decoded in the copies. */
	assert_string_equal(b.recs[1].timestamp, "2026-11-22T00:00:01.000000+0000");
	assert_null(b.recs[1].alert_id);
	assert_null(b.recs[1].src_ip);
	assert_int_equal(b.recs[1].has, ALERT_HAS_SIGNATURE_ID | ALERT_HAS_ALERT);
	alert_batch_free(&b);

	/* A bare array is a batch too. */
	assert_int_equal(parse("[" REC2 "]", &b), ALERT_BATCH_OK);
	assert_int_equal(b.n, 1);
	alert_batch_free(&b);
}

static void test_shape(void **state)
{
	static const char *const bad[] = {
		"{}", "[]", "{\"alerts\":[]}", "{\"alerts\":{}}", "\"alerts\"", "42",
		"{\"alerts\":[" REC2 "],\"alerts\":[" REC2 "]}",
	};
	struct alert_batch b;
	char big[4096];
	size_t o = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &b), ALERT_BATCH_BAD_SHAPE);
		assert_true(strlen(b.msg) > 0);
		alert_batch_free(&b);
	}
	/* More records than allowed. */
	big[o++] = '[';
	for (int i = 0; i < 3; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "%s%s", i ? "," : "", REC2);
	big[o++] = ']';
	assert_int_equal(alert_batch_parse(big, o, 2, &b), ALERT_BATCH_BAD_SHAPE);
	alert_batch_free(&b);
	assert_int_equal(alert_batch_parse(big, o, 3, &b), ALERT_BATCH_OK);
	assert_int_equal(b.n, 3);
	alert_batch_free(&b);
}

static void test_bad_json(void **state)
{
	static const char *const bad[] = {
		"", "[", "[" REC2, "[" REC2 "]]", "[" REC2 "] x", "{\"alerts\":[{\"a\":1,}]}",
		"[{\"timestamp\":\"\xff\xfe\"}]", "[{\"alert\":{\"signature_id\":99999999999999999999}}]",
		"[{'a':1}]", "[/* c */{}]", "[" REC2 "]\0",
	};
	struct alert_batch b;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]) + (i == sizeof(bad) / sizeof(bad[0]) - 1);

		assert_int_equal(alert_batch_parse(bad[i], len, 100, &b), ALERT_BATCH_BAD_JSON);
		assert_non_null(strstr(b.msg, "not valid JSON"));
		assert_null(strchr(b.msg, '\n'));
		alert_batch_free(&b);
	}
}

static void test_bad_records(void **state)
{
	struct alert_batch b;

	(void)state;
	assert_int_equal(parse("[1, {\"timestamp\":\"2026-11-22T00:00:00.000000+0000\"}, {\"alert\":{\"signature_id\":1}}, "
			       "{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"src_port\":70000,\"alert\":{\"signature_id\":\"x\"}},"
			       "{\"timestamp\":1,\"alert\":{\"signature_id\":1}},"
			       "{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"alert_id\":\"a\",\"alert_id\":\"b\","
			       "\"alert\":{\"signature_id\":1}},"
			       "{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"src_ip\":\"a\\u0000b\",\"alert\":{\"signature_id\":1}},"
			       "{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"alert\":[],\"x\":0}]",
			       &b),
			 ALERT_BATCH_BAD_RECORD);
	assert_string_equal(b.errs[0].field, "alerts[0]");
	assert_string_equal(b.errs[1].field, "alerts[1]"); /* no alert object */
	assert_string_equal(b.errs[2].field, "alerts[2]"); /* no timestamp */
	assert_non_null(strstr(b.errs[2].reason, "timestamp"));
	assert_string_equal(b.errs[3].field, "alerts[3].src_port");
	assert_string_equal(b.errs[4].field, "alerts[3].alert.signature_id");
	assert_string_equal(b.errs[6].field, "alerts[4].timestamp");
	assert_string_equal(b.errs[8].field, "alerts[5].alert_id");
	assert_string_equal(b.errs[8].reason, "appears twice");
	assert_string_equal(b.errs[9].field, "alerts[6].src_ip");
	assert_string_equal(b.errs[10].field, "alerts[7].alert");
	assert_int_equal(b.nerrs, 12);
	alert_batch_free(&b);
}

/* What a hostile or broken client sends in fields the tower keeps: each
 * refused with the record and the field named (issue 11). */
static void test_hostile_fields(void **state)
{
	static const struct {
		const char *rec, *field;
	} cases[] = {
		{"\"src_ip\":\"<script>\"", "alerts[0].src_ip"},
		{"\"src_ip\":\"999.999.1.1\"", "alerts[0].src_ip"},
		{"\"src_ip\":\"fe80::1%eth0\"", "alerts[0].src_ip"},
		{"\"dest_ip\":\"0.0.0.0/0\"", "alerts[0].dest_ip"},
		{"\"timestamp\":\"yesterday\"", "alerts[0].timestamp"},
		{"\"timestamp\":\"0000-01-01T00:00:00.000000+0000\"", "alerts[0].timestamp"},
		{"\"timestamp\":\"9999-12-31T00:00:00.000000+0000\"", "alerts[0].timestamp"},
		{"\"alert\":{\"signature_id\":-5}", "alerts[0].alert.signature_id"},
		{"\"alert\":{\"signature_id\":1,\"severity\":-100}", "alerts[0].alert.severity"},
		{"\"alert\":{\"signature_id\":1,\"severity\":0}", "alerts[0].alert.severity"},
	};
	char body[512];
	struct alert_batch b;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *c = cases[i].rec;
		int has_ts = strstr(c, "timestamp") != NULL, has_alert = strstr(c, "alert\"") != NULL;

		snprintf(body, sizeof(body), "[{%s%s%s%s}]", c,
			 has_ts ? "" : ",\"timestamp\":\"2026-11-22T00:00:00.000000+0000\"",
			 has_alert ? "" : ",\"alert\":{\"signature_id\":1,\"severity\":2}", "");
		assert_int_equal(parse(body, &b), ALERT_BATCH_BAD_RECORD);
		assert_true(b.nerrs >= 1);
		assert_string_equal(b.errs[0].field, cases[i].field);
		alert_batch_free(&b);
	}
	/* The same fields as a sensor writes them pass. */
	assert_int_equal(parse("[{\"timestamp\":\"1970-01-01T00:16:40.000000+0000\",\"src_ip\":"
			       "\"2001:db8::1\",\"dest_ip\":\"10.0.0.1\",\"alert\":{\"signature_id\":"
			       "4294967295,\"severity\":255}}]", &b),
			 ALERT_BATCH_OK);
	alert_batch_free(&b);
}

/* A batch of prefix, then a record whose "x" nests d arrays, into body:
 * its length. */
static size_t nested(char *body, size_t cap, const char *prefix, size_t d)
{
	size_t o = (size_t)snprintf(body, cap,
				    "[%s{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\","
				    "\"alert\":{\"signature_id\":1},\"x\":",
				    prefix);

	assert_true(o + 2 * d + 2 <= cap);
	memset(body + o, '[', d);
	o += d;
	memset(body + o, ']', d);
	o += d;
	memcpy(body + o, "}]", 2);
	return o + 2;
}

static void test_deep(void **state)
{
	/* Deep nesting inside a record is read and ignored, not a crash. */
	static char body[200100];
	size_t o;

	(void)state;
	o = nested(body, sizeof(body), "", 50000);
	struct alert_batch b;
	enum alert_batch_status st = alert_batch_parse(body, o, 10, &b);
	assert_true(st == ALERT_BATCH_OK || st == ALERT_BATCH_BAD_JSON);
	if (st == ALERT_BATCH_OK) {
		assert_int_equal(b.n, 1);
		assert_int_equal(b.recs[0].len, o - 2);
	}
	alert_batch_free(&b);
}

/* What the source ranking reads: alert.category, alert.metadata.detector
 * and evidence.*, at their own levels only. */
#define REC3                                                                                       \
	"{\"timestamp\":\"2026-11-22T00:00:10.000000+0000\",\"src_ip\":\"203.0.113.9\","          \
	"\"detector\":\"not here\",\"packets\":7,"                                                    \
	"\"alert\":{\"signature_id\":9300022,\"severity\":2,\"category\":\"Attempted login\","      \
	"\"metadata\":{\"detector\":[\"brute\",\"other\"],\"x\":{\"detector\":[\"deep\"]}}},"         \
	"\"evidence\":{\"window_start\":\"2026-11-22T00:00:00.000000+0000\",\"packets\":3000,"        \
	"\"bytes\":9,\"sessions\":200,\"escalation\":1,\"previous_packets\":300,"                    \
	"\"previous_sessions\":20,\"distinct_ports\":3,\"distinct_protocols\":5,"                    \
	"\"targets\":[\"10.0.0.1\",\"x\"],\"attackers\":[\"203.0.113.9\",\"2001:db8::1\"],"          \
	"\"attacker_packets\":[2400,0],"                                                             \
	"\"attacker_role\":\"reflector\",\"nested\":{\"attackers\":[1]}}}"

static void test_rank_fields(void **state)
{
	const char *body = "[" REC3 "," REC2 "]";
	struct alert_batch b;
	struct alert_rank k;

	(void)state;
	assert_int_equal(parse(body, &b), ALERT_BATCH_OK);
	assert_int_equal(b.n, 2);
	assert_string_equal(b.recs[0].detector, "brute");
	assert_string_equal(b.recs[0].category, "Attempted login");
	assert_string_equal(b.recs[0].attackers, "203.0.113.9,2001:db8::1");
	assert_int_equal(b.recs[0].n_attackers, 2);
	assert_int_equal(b.recs[0].packets, 3000);
	alert_rank_of(&b.recs[0], &k);
	assert_string_equal(k.attackers, "203.0.113.9,2001:db8::1");
	assert_string_equal(k.attacker_packets, "2400,0");
	assert_true(k.reflector);
	assert_string_equal(k.detector, "brute");
	assert_int_equal(k.packets, 2700);  /* what the chain had not reported */
	assert_int_equal(k.sessions, 180);
	assert_int_equal(k.ports, 5);       /* the larger of ports and protocols */
	assert_int_equal(k.hosts, -1);
	assert_int_equal(k.confidence, -1);
	assert_null(k.indicator);
	assert_int_equal(k.window_start, alert_time_us("2026-11-22T00:00:00.000000+0000", 0));
	assert_int_equal(alert_time_us("2026-11-22T00:00:10.000000+0000", 0) - k.window_start,
			 10000000);
	/* Nothing of it: src_ip is the source, no evidence. */
	alert_rank_of(&b.recs[1], &k);
	assert_null(k.attackers);
	assert_null(k.attacker_packets);
	assert_false(k.reflector);
	assert_null(k.detector);
	assert_int_equal(k.packets, 0);
	assert_int_equal(k.sessions, -1);
	assert_int_equal(k.window_start, -1);
	alert_batch_free(&b);

	/* An empty list names nobody; an older sensor's escalation without
	 * previous_sessions reported a tenth before; a category stands in for
	 * the detector; indicator_id before indicator; confidence at most 100. */
	assert_int_equal(parse("[{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"alert\":{\"signature_id\":1,"
			       "\"category\":\"Misc\"},\"evidence\":{\"attackers\":[],\"spoofed\":true,"
			       "\"sessions\":100,\"escalation\":1,\"indicator\":\"v\","
			       "\"indicator_id\":\"i-1\",\"confidence\":250,\"distinct_hosts\":1200}}]",
			       &b),
			 ALERT_BATCH_OK);
	alert_rank_of(&b.recs[0], &k);
	assert_string_equal(k.attackers, "");
	assert_int_equal(k.n_attackers, 0);
	assert_string_equal(k.detector, "Misc");
	assert_int_equal(k.sessions, 90);
	assert_string_equal(k.indicator, "i-1");
	assert_int_equal(k.confidence, 100);
	assert_int_equal(k.hosts, 1200);
	alert_batch_free(&b);

	/* A non-object evidence or metadata (another tool's) is ignored. */
	assert_int_equal(parse("[{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"alert\":{\"signature_id\":1,"
			       "\"metadata\":[1]},\"evidence\":\"none\"}]",
			       &b),
			 ALERT_BATCH_OK);
	alert_batch_free(&b);
}

static void test_bad_rank_fields(void **state)
{
	char many[4096];
	size_t o = 0;
	struct alert_batch b;

	(void)state;
	assert_int_equal(parse("[{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"alert\":{\"signature_id\":1,"
			       "\"metadata\":{\"detector\":[2]}},\"evidence\":{\"attackers\":[\"1.2.3.4\","
			       "\"1.2.3.4,5.6.7.8\"],\"packets\":-1,\"sessions\":1.5,"
			       "\"attacker_role\":1}},"
			       "{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"alert\":{\"signature_id\":1},"
			       "\"evidence\":{\"attackers\":\"1.2.3.4\",\"distinct_hosts\":2,"
			       "\"distinct_hosts\":3}}]",
			       &b),
			 ALERT_BATCH_BAD_RECORD);
	assert_string_equal(b.errs[0].field, "alerts[0].alert.metadata.detector");
	assert_string_equal(b.errs[1].field, "alerts[0].evidence.attackers");
	assert_string_equal(b.errs[2].field, "alerts[0].evidence.packets");
	assert_string_equal(b.errs[3].field, "alerts[0].evidence.sessions");
	assert_string_equal(b.errs[4].field, "alerts[0].evidence.attacker_role");
	assert_string_equal(b.errs[5].field, "alerts[1].evidence.attackers");
	assert_string_equal(b.errs[6].field, "alerts[1].evidence.distinct_hosts");
	assert_string_equal(b.errs[6].reason, "appears twice");
	assert_int_equal(b.nerrs, 7);
	alert_batch_free(&b);

	/* At most ALERT_ATTACKERS_MAX addresses. */
	o += (size_t)snprintf(many, sizeof(many),
			      "[{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"alert\":{\"signature_id\":1},"
			      "\"evidence\":{\"attackers\":[");
	for (int i = 0; i <= ALERT_ATTACKERS_MAX; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s\"10.0.%d.%d\"", i ? "," : "",
				      i / 250, i % 250 + 1);
	o += (size_t)snprintf(many + o, sizeof(many) - o, "]}}]");
	assert_int_equal(alert_batch_parse(many, o, 10, &b), ALERT_BATCH_BAD_RECORD);
	assert_string_equal(b.errs[0].field, "alerts[0].evidence.attackers");
	alert_batch_free(&b);
	/* As many packet counts, one too many; then counts of the wrong type
	 * and a list cut short. */
	o = (size_t)snprintf(many, sizeof(many),
			     "[{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"alert\":"
			     "{\"signature_id\":1},\"evidence\":{\"attacker_packets\":[");
	for (int i = 0; i <= ALERT_ATTACKERS_MAX; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s%d", i ? "," : "", i);
	o += (size_t)snprintf(many + o, sizeof(many) - o, "]}}]");
	assert_int_equal(alert_batch_parse(many, o, 10, &b), ALERT_BATCH_BAD_RECORD);
	assert_string_equal(b.errs[0].field, "alerts[0].evidence.attacker_packets");
	alert_batch_free(&b);
	assert_int_equal(parse("[{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"alert\":"
			       "{\"signature_id\":1},\"evidence\":{\"attacker_packets\":[1.5,\"2\",null]}}]",
			       &b),
			 ALERT_BATCH_BAD_RECORD);
	assert_string_equal(b.errs[0].field, "alerts[0].evidence.attacker_packets");
	alert_batch_free(&b);
	assert_int_equal(parse("[{\"timestamp\":\"2026-11-22T00:00:00.000000+0000\",\"alert\":"
			       "{\"signature_id\":1},\"evidence\":{\"attacker_packets\":[1,2",
			       &b),
			 ALERT_BATCH_BAD_JSON);
	alert_batch_free(&b);
}

/* Every allocation made while reading a batch fails in turn, YAJL's own
 * included: the answer is "no memory" or the answer without failures,
 * never a crash (YAJL 2.1 writes through the pointers its allocator
 * returns without checking them), and LeakSanitizer sees nothing left. */
static void sweep_body(const char *body, size_t len, enum alert_batch_status want, size_t want_n)
{
	for (int once = 0; once <= 1; once++) {
		for (long n = 0;; n++) {
			struct alert_batch b;
			enum alert_batch_status st;
			long refused;

			if (once)
				yg_alloc_fail_once(n);
			else
				yg_alloc_fail_after(n);
			st = alert_batch_parse(body, len, 100, &b);
			yg_alloc_fail_after(-1);
			refused = yg_alloc_failures();
			if (refused == 0) {
				assert_int_equal(st, want);
				if (st == ALERT_BATCH_OK)
					assert_int_equal(b.n, want_n);
				alert_batch_free(&b);
				break;
			}
			if (st != ALERT_BATCH_NOMEM)
				fail_msg("allocation %ld refused (once %d): status %d, not NOMEM", n, once,
					 (int)st);
			alert_batch_free(&b);
		}
	}
}

static void test_nomem(void **state)
{
	/* Escapes go through YAJL's decode buffer; 300 levels grow its state
	 * stack twice; the bad body makes it render an error message. */
	static char deep[2048];
	const char *good = "{\"alerts\":[" REC1 "," REC2 "]}";
	const char *bad = "[" REC1 ",{\"timestamp\":\"\\u00e9\" tru";
	size_t o;

	(void)state;
	o = nested(deep, sizeof(deep), REC2 ",", 300);
	sweep_body(good, strlen(good), ALERT_BATCH_OK, 2);
	sweep_body(deep, o, ALERT_BATCH_OK, 2);
	sweep_body(bad, strlen(bad), ALERT_BATCH_BAD_JSON, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),  cmocka_unit_test(test_shape),
		cmocka_unit_test(test_bad_json), cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_deep),    cmocka_unit_test(test_rank_fields),
		cmocka_unit_test(test_bad_rank_fields), cmocka_unit_test(test_hostile_fields), cmocka_unit_test(test_nomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
