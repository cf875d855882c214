/* Unit tests for src/stix/misp.c: the attribute-type table, and MISP
 * events converted to STIX objects - the feed event of tests/data/misp,
 * REST API answers, events without uuids, TLP from tags, and hostile
 * input (wrong JSON types, huge and truncated strings, a failed
 * allocation at each step). What the objects look like to the OASIS
 * schemas is tests/integration/test_taxii.py's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "stix/stix.h"

#define FEED YG_SOURCE_DIR "/tests/data/misp/feed/"
#define EV1  "d31f9d63-70dc-4215-a6c0-54bc5643a978"
#define EV2  "34a3fd1b-46b5-4b9f-9b59-4edad0d9c8b4"
#define NOW  1796601600000000LL /* 2026-12-07T00:00:00Z */

#define TLP_CLEAR "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
#define TLP_GREEN "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
#define TLP_AMBER "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
#define TLP_RED	  "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

static json_t *load(const char *path)
{
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);

	if (j == NULL)
		fail_msg("%s: %s", path, je.text);
	return j;
}

static json_t *parse(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);

	if (j == NULL)
		fail_msg("line %d: %s", je.line, je.text);
	return j;
}

static void init(struct stix_misp *m, enum stix_tlp tlp)
{
	struct stix_misp_opts o = {.tlp = tlp, .now = NOW};

	assert_int_equal(stix_misp_init(m, &o), 0);
}

/* The object of id among m's, or NULL. */
static json_t *find(const struct stix_misp *m, const char *id)
{
	json_t *o;
	size_t i;

	json_array_foreach(m->objects, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "id")), id) == 0)
			return o;
	}
	return NULL;
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "(none)";
}

static const char *mark(const json_t *o)
{
	json_t *refs = json_object_get(o, "object_marking_refs");

	if (refs == NULL)
		return "(none)";
	assert_int_equal(json_array_size(refs), 1);
	return json_string_value(json_array_get(refs, 0));
}

static bool has_message(const struct stix_misp *m, const char *want)
{
	for (size_t i = 0; i < m->stats.n_messages; i++)
		if (strcmp(m->stats.messages[i], want) == 0)
			return true;
	return false;
}

static void expect_message(const struct stix_misp *m, const char *want)
{
	if (has_message(m, want))
		return;
	for (size_t i = 0; i < m->stats.n_messages; i++)
		print_message("message: %s\n", m->stats.messages[i]);
	fail_msg("no message '%s'", want);
}

/* --- the table --- */

static void test_parts(void **state)
{
	struct stix_misp_part p[STIX_MISP_PARTS];
	const char *v;

	(void)state;
#define PART(i, k, s)                                                                           \
	do {                                                                                    \
		assert_int_equal(p[i].kind, (k));                                               \
		assert_int_equal(p[i].len, strlen(s));                                          \
		assert_memory_equal(p[i].value, (s), strlen(s));                                \
	} while (0)
	v = "198.51.100.7";
	assert_int_equal(stix_misp_parts("ip-dst", v, strlen(v), p), 1);
	PART(0, STIX_KIND_IPV4, "198.51.100.7");
	assert_true(p[0].any_ip);
	v = "2001:db8::/32";
	assert_int_equal(stix_misp_parts("ip-src", v, strlen(v), p), 1);
	PART(0, STIX_KIND_IPV6, "2001:db8::/32");
	v = "not-an-ip"; /* the value is the checker's business */
	assert_int_equal(stix_misp_parts("ip-src", v, strlen(v), p), 1);
	PART(0, STIX_KIND_IPV4, "not-an-ip");
	v = "198.51.100.7|8080";
	assert_int_equal(stix_misp_parts("ip-dst|port", v, strlen(v), p), 1);
	PART(0, STIX_KIND_IPV4, "198.51.100.7");
	v = "2001:db8::1|443";
	assert_int_equal(stix_misp_parts("ip-src|port", v, strlen(v), p), 1);
	PART(0, STIX_KIND_IPV6, "2001:db8::1");
	v = "c2.example|8443";
	assert_int_equal(stix_misp_parts("hostname|port", v, strlen(v), p), 1);
	PART(0, STIX_KIND_DOMAIN, "c2.example");
	assert_false(p[0].any_ip);
	v = "c2.example|198.51.100.7";
	assert_int_equal(stix_misp_parts("domain|ip", v, strlen(v), p), 2);
	PART(0, STIX_KIND_DOMAIN, "c2.example");
	PART(1, STIX_KIND_IPV4, "198.51.100.7");
	assert_true(p[1].any_ip);
	v = "c2.example|2001:db8::7";
	assert_int_equal(stix_misp_parts("domain|ip", v, strlen(v), p), 2);
	PART(1, STIX_KIND_IPV6, "2001:db8::7");
	v = "c2.example"; /* no '|': taken whole, as the sensor always did */
	assert_int_equal(stix_misp_parts("domain|ip", v, strlen(v), p), 1);
	PART(0, STIX_KIND_DOMAIN, "c2.example");
	v = "a|b.exe|5d41402abc4b2a76b9719d911017c592"; /* a '|' in the file name */
	assert_int_equal(stix_misp_parts("filename|md5", v, strlen(v), p), 1);
	PART(0, STIX_KIND_MD5, "5d41402abc4b2a76b9719d911017c592");
	v = "x.exe|aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d";
	assert_int_equal(stix_misp_parts("filename|sha1", v, strlen(v), p), 1);
	PART(0, STIX_KIND_SHA1, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
	v = "x|2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
	assert_int_equal(stix_misp_parts("filename|sha256", v, strlen(v), p), 1);
	PART(0, STIX_KIND_SHA256, "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
	v = "sample.zip|5d41402abc4b2a76b9719d911017c592";
	assert_int_equal(stix_misp_parts("malware-sample", v, strlen(v), p), 1);
	PART(0, STIX_KIND_MD5, "5d41402abc4b2a76b9719d911017c592");
	v = "http://c2.example/x";
	assert_int_equal(stix_misp_parts("url", v, strlen(v), p), 1);
	PART(0, STIX_KIND_URL, "http://c2.example/x");
	assert_int_equal(stix_misp_parts("sha256", "ab", 2, p), 1);
	assert_int_equal(p[0].kind, STIX_KIND_SHA256);
	assert_int_equal(stix_misp_parts("md5", "ab", 2, p), 1);
	assert_int_equal(stix_misp_parts("sha1", "ab", 2, p), 1);
	assert_int_equal(stix_misp_parts("domain", "ab", 2, p), 1);
	assert_int_equal(stix_misp_parts("hostname", "ab", 2, p), 1);
	/* not mapped: these say nothing a pattern of ours can hold */
	assert_int_equal(stix_misp_parts("port", "443", 3, p), 0);
	assert_int_equal(stix_misp_parts("email-src", "a@b.example", 11, p), 0);
	assert_int_equal(stix_misp_parts("sha512", "ab", 2, p), 0);
	assert_int_equal(stix_misp_parts("IP-DST", "198.51.100.7", 12, p), 0);
	assert_int_equal(stix_misp_parts("", "x", 1, p), 0);
	assert_int_equal(stix_misp_parts(NULL, "x", 1, p), 0);
	assert_int_equal(stix_misp_parts("url", NULL, 0, p), 0);
	/* empty halves are parts all the same; the checker refuses them */
	assert_int_equal(stix_misp_parts("domain|ip", "|", 1, p), 2);
	assert_int_equal(p[0].len, 0);
	assert_int_equal(p[1].len, 0);
#undef PART
}

static void test_flag(void **state)
{
	json_t *j = parse("[true, false, 1, 0, 7, \"1\", \"0\", \"true\", \"TRUE\", \"false\", "
			  "\"yes\", \"\", null, 1.0, [], {}]");
	const bool want[] = {true, false, true, false, true, true, false, true, true, false, false,
			     false};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(stix_misp_flag(json_array_get(j, i), true), want[i]);
		assert_int_equal(stix_misp_flag(json_array_get(j, i), false), want[i]);
	}
	/* absent, null, a real, a list, an object: the default */
	assert_true(stix_misp_flag(NULL, true));
	assert_false(stix_misp_flag(NULL, false));
	for (size_t i = 12; i < json_array_size(j); i++) {
		assert_true(stix_misp_flag(json_array_get(j, i), true));
		assert_false(stix_misp_flag(json_array_get(j, i), false));
	}
	json_decref(j);
	assert_string_equal(stix_misp_why_text(STIX_MISP_NOT_IDS), "not for IDS (to_ids false)");
	assert_string_equal(stix_misp_why_text(STIX_MISP_WHY_COUNT), "unknown");
}

/* --- the feed's events --- */

static void test_feed_event(void **state)
{
	struct stix_misp m;
	json_t *ev = load(FEED EV1 ".json"), *o, *refs;
	const char *idn = "identity--", *rep = "report--" EV1;
	static const char *const ind[] = {
		"indicator--14d3a023-4a0a-43fb-8c8e-977a363fc96a", /* ip-dst */
		"indicator--c0e7beea-f39c-402c-ac71-e1d460286d66", /* domain|ip */
		"indicator--a389ab43-3765-458e-82ec-5121142657d2", /* url */
		"indicator--499b54e7-86ed-403f-8eed-9dc0e1519898", /* sha256 */
		"indicator--06803584-3f8e-4753-927a-5a8c7be52938", /* filename|md5 */
		"indicator--521aaeb8-eba6-4d6d-918c-8a3a22ef54ba", /* ip-dst|port */
		"indicator--a21d649d-12c6-4e67-a034-69ea5f8fc2a4", /* hostname, tlp:red */
		"indicator--4156c41f-9262-483b-93fb-d0d856bbe70c", /* the Object's domain */
		"indicator--ce7581f5-9ad4-4fa1-a044-140a5c8f9d5f", /* the Object's ip-dst */
	};
	static const char *const pat[] = {
		"[ipv4-addr:value = '203.0.113.77']",
		"[domain-name:value = 'update.quasar-c2.example'] OR "
		"[ipv4-addr:value = '198.51.100.23']",
		"[url:value = 'http://update.quasar-c2.example/gate.php']",
		"[file:hashes.'SHA-256' = "
		"'2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae']",
		"[file:hashes.MD5 = '5d41402abc4b2a76b9719d911017c592']",
		"[ipv4-addr:value = '198.51.100.24']",
		"[domain-name:value = 'c2.quasar-c2.example']",
		"[domain-name:value = 'mirror.quasar-c2.example']",
		"[ipv6-addr:value = '2001:db8:77::1']",
	};
	const size_t n = sizeof(ind) / sizeof(ind[0]);

	(void)state;
	init(&m, STIX_TLP_GREEN);
	assert_int_equal(stix_misp_add(&m, "ev1.json", ev), 0);
	assert_int_equal(m.stats.events, 1);
	assert_int_equal(m.stats.events_empty, 0);
	assert_int_equal(m.stats.attributes, 13);
	assert_int_equal(m.stats.indicators, n);
	assert_int_equal(m.stats.identities, 1);
	assert_int_equal(m.stats.reports, 1);
	assert_int_equal(m.stats.skipped[STIX_MISP_NOT_IDS], 1);
	assert_int_equal(m.stats.skipped[STIX_MISP_DELETED], 1);
	assert_int_equal(m.stats.skipped[STIX_MISP_TYPE], 2); /* text (to_ids false too), email-src */
	assert_int_equal(m.stats.skipped[STIX_MISP_VALUE], 0);
	assert_int_equal(m.stats.skipped[STIX_MISP_MALFORMED], 0);
	assert_int_equal(m.stats.n_messages, 0);
	assert_int_equal(m.stats.n_types, 2);
	assert_string_equal(m.stats.types[0].name, "text");
	assert_string_equal(m.stats.types[1].name, "email-src");

	/* identity, the indicators in the event's order, the report */
	assert_int_equal(json_array_size(m.objects), 1 + n + 1);
	o = json_array_get(m.objects, 0);
	assert_string_equal(str(o, "type"), "identity");
	assert_memory_equal(str(o, "id"), idn, strlen(idn));
	assert_string_equal(str(o, "name"), "Water-ISAC (example)");
	assert_string_equal(str(o, "identity_class"), "organization");
	assert_string_equal(str(o, "created"), "2026-01-01T00:00:00.000Z");
	assert_string_equal(mark(o), TLP_GREEN); /* the import's, not the event's */
	{
		char want[STIX_ID_MAX];

		assert_int_equal(
			stix_id_v5("identity", "misp-org|b6c002e9-6a9d-4c69-a600-4464cfb73f41", want),
			0);
		assert_string_equal(str(o, "id"), want);
	}
	idn = str(o, "id");
	for (size_t i = 0; i < n; i++) {
		o = json_array_get(m.objects, 1 + i);
		assert_string_equal(str(o, "type"), "indicator");
		assert_string_equal(str(o, "id"), ind[i]);
		assert_string_equal(str(o, "pattern"), pat[i]);
		assert_string_equal(str(o, "created_by_ref"), idn);
		assert_string_equal(str(o, "spec_version"), "2.1");
		assert_string_equal(str(o, "pattern_type"), "stix");
		assert_string_equal(mark(o), i == 6 ? TLP_RED : TLP_AMBER);
		assert_string_equal(str(o, "created"), "2026-12-01T00:00:00.000Z");
		assert_string_equal(str(o, "modified"), "2026-12-01T00:00:00.000Z");
	}
	/* first_seen with its offset, last_seen; the others from timestamp */
	o = find(&m, ind[0]);
	assert_string_equal(str(o, "valid_from"), "2026-11-29T23:00:00.000Z");
	assert_string_equal(str(o, "valid_until"), "2026-12-05T00:00:00.000Z");
	assert_string_equal(str(o, "description"), "C2 server, seen from three utilities");
	assert_string_equal(str(o, "name"), "203.0.113.77");
	o = find(&m, ind[1]);
	assert_string_equal(str(o, "valid_from"), "2026-12-01T00:00:00.000Z");
	assert_null(json_object_get(o, "valid_until"));
	assert_null(json_object_get(o, "description"));
	assert_string_equal(str(o, "name"), "update.quasar-c2.example|198.51.100.23");

	o = json_array_get(m.objects, 1 + n);
	assert_string_equal(str(o, "type"), "report");
	assert_string_equal(str(o, "id"), rep);
	assert_string_equal(str(o, "name"), "Quasar RAT infrastructure targeting water utilities");
	assert_string_equal(str(o, "published"), "2026-12-03T09:30:00.000Z");
	assert_string_equal(str(o, "created"), "2026-12-03T09:30:00.000Z");
	assert_string_equal(str(o, "created_by_ref"), idn);
	assert_string_equal(mark(o), TLP_AMBER);
	refs = json_object_get(o, "object_refs");
	assert_int_equal(json_array_size(refs), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_array_get(refs, i)), ind[i]);
	o = json_array_get(json_object_get(o, "external_references"), 0);
	assert_string_equal(str(o, "source_name"), "misp");
	assert_string_equal(str(o, "external_id"), EV1);

	/* The same event again makes nothing new. */
	assert_int_equal(stix_misp_add(&m, "ev1.json", ev), 0);
	assert_int_equal(json_array_size(m.objects), 1 + n + 1);
	assert_int_equal(m.stats.duplicates, n);
	assert_int_equal(m.stats.events, 2);

	/* A second converter makes the same objects: importing a feed twice
	 * gives the tower the same versions, not new ones. */
	{
		struct stix_misp m2;
		struct stix_misp_opts o2 = {.tlp = STIX_TLP_GREEN, .now = NOW + 123456789};

		assert_int_equal(stix_misp_init(&m2, &o2), 0);
		assert_int_equal(stix_misp_add(&m2, "again.json", ev), 0);
		assert_true(json_equal(m.objects, m2.objects));
		stix_misp_fini(&m2);
	}

	/* The organisation's second event: its identity is not made twice;
	 * TLP:CLEAR from the event's tag. */
	json_decref(ev);
	ev = load(FEED EV2 ".json");
	assert_int_equal(stix_misp_add(&m, "ev2.json", ev), 0);
	assert_int_equal(m.stats.identities, 1);
	assert_int_equal(m.stats.reports, 2);
	assert_int_equal(m.stats.indicators, n + 2);
	assert_int_equal(json_array_size(m.objects), 1 + n + 1 + 2 + 1);
	o = find(&m, "indicator--b8c47bc2-b190-4839-9f4f-b24b2013cf7c");
	assert_non_null(o);
	assert_string_equal(str(o, "pattern"),
			    "[file:hashes.'SHA-1' = 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d']");
	assert_string_equal(mark(o), TLP_CLEAR);
	assert_string_equal(str(o, "created_by_ref"), idn);
	o = find(&m, "report--" EV2);
	assert_non_null(o);
	assert_int_equal(json_array_size(json_object_get(o, "object_refs")), 2);
	json_decref(ev);
	stix_misp_fini(&m);
}

/* --- REST answers, missing uuids, TLP --- */

static void test_response(void **state)
{
	struct stix_misp m, m2;
	json_t *j, *o;
	char want[STIX_ID_MAX];
	const char *text =
		"{\"response\": ["
		/* no uuids anywhere: ids from the values, the same every time */
		" {\"Event\": {\"info\": \"no uuids\", \"date\": \"2026-12-02\","
		"   \"Orgc\": {\"name\": \"CSIRT-X\"},"
		"   \"Attribute\": ["
		"    {\"type\": \"ip-src\", \"value\": \"198.51.100.9\", \"to_ids\": \"1\"},"
		"    {\"type\": \"ip-dst\", \"value\": \"198.51.100.9\"},"
		"    {\"type\": \"url\", \"value\": \"http://x.example/a\", \"to_ids\": 0},"
		"    {\"type\": \"domain\", \"value\": \"x.example\", \"to_ids\": \"0\","
		"     \"uuid\": \"not-a-uuid\"},"
		"    {\"type\": \"domain\", \"value\": \"y.example\", \"deleted\": \"1\"},"
		"    {\"type\": \"hostname\", \"value\": \"z.example\", \"uuid\": "
		"     \"AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA\", \"timestamp\": 1796083200,"
		"     \"Tag\": [{\"name\": \"TLP:WHITE\"}]},"
		"    {\"type\": \"ip-dst\", \"value\": \"not-an-ip\"},"
		"    {\"type\": \"domain|ip\", \"value\": \"w.example|999.1.1.1\"}"
		"   ]}},"
		" {\"Event\": 5},"
		" {\"Attribute\": []},"
		/* nothing to import: no report, no identity */
		" {\"Event\": {\"uuid\": \"4f7e8d3c-0b1a-4c2d-9e8f-7a6b5c4d3e2f\","
		"   \"Orgc\": {\"name\": \"Nobody\"}, \"Attribute\": [{\"type\": \"comment\","
		"   \"value\": \"x\"}]}},"
		/* a tlp:amber+strict event under a default of RED: the tag wins */
		" {\"Event\": {\"uuid\": \"5f7e8d3c-0b1a-4c2d-9e8f-7a6b5c4d3e2f\","
		"   \"Tag\": [{\"name\": \"tlp:amber+strict\"}, {\"name\": \"tlp:ex:chr\"},"
		"             {\"name\": \"type:OSINT\"}, {\"name\": 7}, \"tlp:red\"],"
		"   \"Attribute\": [{\"type\": \"md5\", \"value\": "
		"     \"5D41402ABC4B2A76B9719D911017C592\", \"uuid\": "
		"     \"6f7e8d3c-0b1a-4c2d-9e8f-7a6b5c4d3e2f\"}]}}"
		"]}";

	(void)state;
	j = parse(text);
	init(&m, STIX_TLP_RED);
	assert_int_equal(stix_misp_add(&m, "answer.json", j), 0);
	assert_int_equal(m.stats.events, 3);
	assert_int_equal(m.stats.events_empty, 1);
	assert_int_equal(m.stats.skipped[STIX_MISP_EVENT], 2);
	assert_int_equal(m.stats.skipped[STIX_MISP_NOT_IDS], 2);
	assert_int_equal(m.stats.skipped[STIX_MISP_DELETED], 1);
	assert_int_equal(m.stats.skipped[STIX_MISP_VALUE], 2);
	assert_int_equal(m.stats.skipped[STIX_MISP_TYPE], 1);
	assert_int_equal(m.stats.duplicates, 1); /* ip-src and ip-dst of one address */
	assert_int_equal(m.stats.indicators, 3);
	assert_int_equal(m.stats.reports, 2);
	assert_int_equal(m.stats.identities, 1);
	expect_message(&m, "answer.json: response[1].Event: not an object");
	expect_message(&m, "answer.json: response[2]: no Event in it");
	expect_message(&m, "answer.json: response[0].Event.Attribute[6].value: invalid address "
			   "'not-an-ip'");
	expect_message(&m, "answer.json: response[0].Event.Attribute[7].value: invalid address "
			   "'999.1.1.1'");

	/* ids: v5 of the pattern within the event; a valid uuid lowercased */
	assert_int_equal(stix_id_v5("indicator", "misp||[ipv4-addr:value = '198.51.100.9']", want),
			 0);
	o = find(&m, want);
	assert_non_null(o);
	assert_string_equal(str(o, "name"), "198.51.100.9");
	assert_string_equal(str(o, "created"), "2026-12-02T00:00:00.000Z"); /* the event's date */
	assert_string_equal(mark(o), TLP_RED);				 /* the default */
	o = find(&m, "indicator--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa");
	assert_non_null(o);
	assert_string_equal(mark(o), TLP_CLEAR); /* tlp:white */
	assert_string_equal(str(o, "created"), "2026-12-01T00:00:00.000Z"); /* a number */
	assert_int_equal(stix_id_v5("identity", "misp-org-name|CSIRT-X", want), 0);
	assert_string_equal(str(o, "created_by_ref"), want);
	/* the event without a uuid: its report's id from its organisation,
	 * info and date, and the event's date as its times */
	o = NULL;
	for (size_t i = 0; i < json_array_size(m.objects); i++) {
		json_t *x = json_array_get(m.objects, i);

		if (strcmp(str(x, "name"), "no uuids") == 0)
			o = x;
	}
	assert_non_null(o);
	assert_string_equal(str(o, "published"), "2026-12-02T00:00:00.000Z");
	assert_null(json_object_get(o, "external_references"));
	{
		char key[200];

		snprintf(key, sizeof(key), "misp-event|%s|no uuids|2026-12-02", want);
		assert_int_equal(stix_id_v5("report", key, want), 0);
		assert_string_equal(str(o, "id"), want);
	}
	o = find(&m, "indicator--6f7e8d3c-0b1a-4c2d-9e8f-7a6b5c4d3e2f");
	assert_non_null(o);
	assert_string_equal(str(o, "pattern"),
			    "[file:hashes.MD5 = '5D41402ABC4B2A76B9719D911017C592']");
	assert_string_equal(mark(o), "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003");
	assert_null(json_object_get(o, "created_by_ref")); /* no Orgc */
	assert_string_equal(str(o, "created"), "2026-12-07T00:00:00.000Z"); /* now */
	assert_null(find(&m, "report--4f7e8d3c-0b1a-4c2d-9e8f-7a6b5c4d3e2f"));
	assert_non_null(find(&m, "report--5f7e8d3c-0b1a-4c2d-9e8f-7a6b5c4d3e2f"));

	/* The same answer elsewhere, another day: the same ids. */
	{
		struct stix_misp_opts o2 = {.tlp = STIX_TLP_RED, .now = NOW + 86400000000LL};

		assert_int_equal(stix_misp_init(&m2, &o2), 0);
	}
	assert_int_equal(stix_misp_add(&m2, "answer.json", j), 0);
	assert_int_equal(json_array_size(m2.objects), json_array_size(m.objects));
	for (size_t i = 0; i < json_array_size(m.objects); i++)
		assert_string_equal(str(json_array_get(m.objects, i), "id"),
				    str(json_array_get(m2.objects, i), "id"));
	stix_misp_fini(&m2);

	/* No default TLP: unmarked (the tower then treats it as AMBER). */
	init(&m2, STIX_TLP_NONE);
	assert_int_equal(stix_misp_add(&m2, "answer.json", j), 0);
	assert_int_equal(stix_id_v5("indicator", "misp||[ipv4-addr:value = '198.51.100.9']", want),
			 0);
	assert_null(json_object_get(find(&m2, want), "object_marking_refs"));
	assert_null(json_object_get(json_array_get(m2.objects, 0), "object_marking_refs"));
	stix_misp_fini(&m2);

	json_decref(j);
	stix_misp_fini(&m);
}

/* --- hostile input --- */

static void test_not_misp(void **state)
{
	struct stix_misp m;
	static const char *const docs[] = {"[]", "5", "\"Event\"", "{}", "{\"type\": \"bundle\"}",
					   "{\"response\": {\"Attribute\": []}}",
					   "{\"response\": null}"};

	(void)state;
	init(&m, STIX_TLP_GREEN);
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_t *j = parse(docs[i]);

		assert_int_equal(stix_misp_add(&m, "x", j), YG_EFORMAT);
		json_decref(j);
	}
	assert_int_equal(stix_misp_add(&m, "x", NULL), YG_EFORMAT);
	assert_int_equal(m.stats.events, 0);
	assert_int_equal(json_array_size(m.objects), 0);
	stix_misp_fini(&m);
}

static void test_hostile(void **state)
{
	struct stix_misp m;
	json_t *j, *attrs, *o;
	char *big, *info;
	size_t bn = STIX_VALUE_MAX + 10;

	(void)state;
	j = parse("{\"Event\": {\"uuid\": 7, \"info\": [], \"timestamp\": \"-5\","
		  " \"date\": \"2026-02-30\", \"Orgc\": \"CIRCL\", \"Tag\": {\"name\": \"tlp:red\"},"
		  " \"Object\": [5, {\"Attribute\": 5}, {\"deleted\": true, \"Attribute\": [{}, {}]},"
		  "   {\"Attribute\": [{\"type\": \"ip-dst\", \"value\": \"192.0.2.1\","
		  "     \"first_seen\": \"2026-12-01T00:00:00+25:00\","
		  "     \"last_seen\": \"2027-01-01T00:00:00.000000-01:00\"}]}],"
		  " \"Attribute\": [1, null, \"x\", [],"
		  "  {\"type\": 5, \"value\": \"192.0.2.1\"},"
		  "  {\"type\": \"ip-dst\"},"
		  "  {\"type\": \"ip-dst\", \"value\": 3232235777},"
		  "  {\"type\": \"ip-dst\", \"value\": \"192.0.2.2\", \"to_ids\": [],"
		  "   \"deleted\": {}, \"uuid\": \"\", \"timestamp\": \"99999999999999\","
		  "   \"Tag\": [5, {\"name\": null}, {\"name\": \"tlp:\"}], \"comment\": 5},"
		  "  {\"type\": \"ip-dst\\u0000x\", \"value\": \"192.0.2.3\"},"
		  "  {\"type\": \"domain\", \"value\": \"a.example\\u0000.evil\"},"
		  "  {\"type\": \"url\", \"value\": \"http://a.example/\\u001b[31m\"},"
		  "  {\"type\": \"domain\", \"value\": \"\"}"
		  " ]}}");
	/* a value past the pattern literal's limit, and a name and comment
	 * to cut between two bytes of one character */
	attrs = json_object_get(json_object_get(j, "Event"), "Attribute");
	big = malloc(bn + 1);
	memset(big, 'a', bn);
	memcpy(big + bn - 8, ".example", 8);
	big[bn] = '\0';
	json_array_append_new(attrs, json_pack("{s:s, s:s}", "type", "domain", "value", big));
	info = malloc(3000);
	for (size_t i = 0; i < 999; i++)
		memcpy(info + 3 * i, "\xe6\xb0\xb4", 3); /* 水 */
	info[2997] = '\0';
	json_array_append_new(attrs, json_pack("{s:s, s:s, s:s}", "type", "domain", "value",
					       "w.example", "comment", info));
	json_object_set_new(json_object_get(j, "Event"), "info", json_string(info));

	init(&m, STIX_TLP_GREEN);
	assert_int_equal(stix_misp_add(&m, "h.json", j), 0);
	expect_message(&m, "h.json: Event.Object[0]: not an object");
	expect_message(&m, "h.json: Event.Object[1].Attribute: not a list");
	expect_message(&m, "h.json: Event.Attribute[0]: not an object");
	expect_message(&m, "h.json: Event.Attribute[4].type: missing, or not a string");
	expect_message(&m, "h.json: Event.Attribute[5].value: missing, or not a string");
	expect_message(&m, "h.json: Event.Attribute[6].value: missing, or not a string");
	expect_message(&m, "h.json: Event.Attribute[9].value: invalid domain 'a.example?.evil'");
	expect_message(&m, "h.json: Event.Attribute[10].value: invalid url "
			   "'http://a.example/?[31m'");
	expect_message(&m, "h.json: Event.Attribute[11].value: invalid domain ''");
	expect_message(&m, "h.json: Event.Attribute[12].value: longer than 8191 bytes");
	assert_int_equal(m.stats.skipped[STIX_MISP_TYPE], 1); /* "ip-dst\0x" */
	assert_string_equal(m.stats.types[0].name, "ip-dst?x");
	assert_int_equal(m.stats.skipped[STIX_MISP_DELETED], 2);
	/* 192.0.2.2 (to_ids and deleted of other types: the defaults),
	 * w.example, and the Object's 192.0.2.1 */
	assert_int_equal(m.stats.indicators, 3);
	assert_int_equal(m.stats.reports, 1);
	assert_int_equal(m.stats.identities, 0); /* Orgc a string */
	assert_int_equal(m.stats.attributes, 14 + 2 + 1);

	o = json_array_get(m.objects, json_array_size(m.objects) - 1);
	assert_string_equal(str(o, "type"), "report");
	assert_int_equal(strlen(str(o, "name")), 1023); /* 341 characters, not 1024 bytes */
	assert_string_equal(mark(o), TLP_GREEN);       /* the Tag object is no list: default */
	o = json_array_get(m.objects, 0);
	assert_string_equal(str(o, "pattern"), "[ipv4-addr:value = '192.0.2.2']");
	assert_string_equal(str(o, "created"), "2026-12-07T00:00:00.000Z"); /* now */
	assert_string_equal(mark(o), TLP_GREEN);
	o = json_array_get(m.objects, 1);
	assert_string_equal(str(o, "pattern"), "[domain-name:value = 'w.example']");
	assert_int_equal(strlen(str(o, "description")), 1023);
	o = json_array_get(m.objects, 2);
	assert_string_equal(str(o, "pattern"), "[ipv4-addr:value = '192.0.2.1']");
	assert_string_equal(str(o, "valid_from"), "2026-12-07T00:00:00.000Z"); /* +25:00 refused */
	assert_string_equal(str(o, "valid_until"), "2027-01-01T01:00:00.000Z");
	free(big);
	free(info);
	json_decref(j);
	stix_misp_fini(&m);
}

static void test_limits(void **state)
{
	struct stix_misp m;
	struct stix_misp_opts o = {.tlp = STIX_TLP_GREEN, .now = NOW, .max_indicators = 5};
	json_t *j = parse("{\"Event\": {\"uuid\": \"5f7e8d3c-0b1a-4c2d-9e8f-7a6b5c4d3e2f\","
			  " \"Attribute\": []}}");
	json_t *attrs = json_object_get(json_object_get(j, "Event"), "Attribute");
	char v[32];

	(void)state;
	for (int i = 0; i < 40; i++) {
		snprintf(v, sizeof(v), "198.51.100.%d", i);
		json_array_append_new(attrs, json_pack("{s:s, s:s}", "type", "ip-dst", "value", v));
	}
	assert_int_equal(stix_misp_init(&m, &o), 0);
	assert_int_equal(stix_misp_add(&m, "big.json", j), 0);
	assert_int_equal(m.stats.indicators, 5);
	assert_int_equal(m.stats.skipped[STIX_MISP_LIMIT], 35);
	assert_int_equal(m.stats.n_messages, STIX_MISP_MESSAGES);
	assert_int_equal(m.stats.messages_dropped, 35 - STIX_MISP_MESSAGES);
	expect_message(&m, "big.json: Event.Attribute[5]: past 5 indicators");
	assert_int_equal(json_array_size(m.objects), 5 + 1); /* and the report */
	stix_misp_fini(&m);

	/* Sixteen unmapped types are named, the others only counted. */
	init(&m, STIX_TLP_GREEN);
	json_array_clear(attrs);
	for (int i = 0; i < 20; i++) {
		snprintf(v, sizeof(v), "type-%d", i);
		json_array_append_new(attrs, json_pack("{s:s, s:s}", "type", v, "value", "x"));
	}
	assert_int_equal(stix_misp_add(&m, "types.json", j), 0);
	assert_int_equal(m.stats.skipped[STIX_MISP_TYPE], 20);
	assert_int_equal(m.stats.n_types, STIX_MISP_TYPES);
	assert_string_equal(m.stats.types[15].name, "type-15");
	assert_int_equal(m.stats.events_empty, 1);
	assert_int_equal(json_array_size(m.objects), 0);
	stix_misp_fini(&m);
	json_decref(j);
}

/* Every allocation of ours failing in turn: YG_ENOMEM or success, and
 * nothing half-made that fini cannot free. (jansson's own allocations are
 * not ours to fail.) */
static void test_alloc_failure(void **state)
{
	json_t *ev = load(FEED EV1 ".json");
	bool done = false;

	(void)state;
	for (long n = 0; n < 200 && !done; n++) {
		struct stix_misp m;
		struct stix_misp_opts o = {.tlp = STIX_TLP_GREEN, .now = NOW};
		int rc;

		yg_alloc_fail_after(n);
		rc = stix_misp_init(&m, &o);
		if (rc == 0) {
			rc = stix_misp_add(&m, "ev1.json", ev);
			done = rc == 0;
			stix_misp_fini(&m);
		}
		yg_alloc_fail_after(-1);
		assert_true(rc == 0 || rc == YG_ENOMEM);
	}
	assert_true(done);
	json_decref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parts),	    cmocka_unit_test(test_flag),
		cmocka_unit_test(test_feed_event),  cmocka_unit_test(test_response),
		cmocka_unit_test(test_not_misp),    cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_limits),	    cmocka_unit_test(test_alloc_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
