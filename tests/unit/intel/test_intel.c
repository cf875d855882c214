/* Unit tests for src/intel: loading (STIX, MISP, plain lists), the load
 * report, longest-prefix and domain matching against naive references,
 * expiry, TLP, publishing across threads, and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "intel/intel.h"

#define DATA YG_SOURCE_DIR "/tests/data/intel"

/* 2024-06-01T00:00:00Z: before every valid_until in the test data. */
#define NOW 1717200000


/* --- helpers --- */

static struct intel_snapshot *finish(struct intel_builder *b)
{
	struct intel_snapshot *s = NULL;

	assert_int_equal(intel_builder_finish(b, &s), 0);
	assert_non_null(s);
	return s;
}

static struct intel_snapshot *from_list(const char *text, const struct intel_load_opts *opts)
{
	struct intel_builder *b = intel_builder_new(0);
	struct intel_report rep;

	assert_non_null(b);
	intel_report_init(&rep);
	assert_int_equal(intel_load_buffer(b, "test.txt", text, strlen(text), INTEL_FORMAT_LIST, opts,
					   &rep),
			 0);
	assert_int_equal(rep.rejected, 0);
	return finish(b);
}

static uint32_t v4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

/* Looks addr (either family) up and returns the matched value as text,
 * or "-" for no match. */
static const char *look(const struct intel_snapshot *s, const char *addr, int64_t now,
			struct intel_match *m)
{
	static char out[512];
	struct intel_match tmp;
	uint8_t a6[16];
	int rc;

	if (m == NULL)
		m = &tmp;
	if (strchr(addr, ':')) {
		assert_int_equal(inet_pton(AF_INET6, addr, a6), 1);
		rc = intel_lookup_ipv6(s, a6, now, m);
	} else {
		rc = intel_lookup_ipv4(s, v4(addr), now, m);
	}
	if (rc == YG_ENOTFOUND)
		return "-";
	assert_int_equal(rc, 0);
	intel_match_format(m, out, sizeof(out));
	return out;
}

static const char *lookd(const struct intel_snapshot *s, const char *name, int64_t now,
			 struct intel_match *m)
{
	struct intel_match tmp;

	if (m == NULL)
		m = &tmp;
	if (intel_lookup_domain(s, name, strlen(name), now, m) == YG_ENOTFOUND)
		return "-";
	return m->value;
}

__attribute__((format(printf, 2, 3))) static void expect_message(const struct intel_report *rep,
							    const char *fmt, ...)
{
	char want[INTEL_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	for (unsigned i = 0; i < rep->n_messages; i++)
		if (strcmp(rep->messages[i], want) == 0)
			return;
	for (unsigned i = 0; i < rep->n_messages; i++)
		print_message("  have: %s\n", rep->messages[i]);
	fail_msg("no message '%s'", want);
}

static char *id_of(int n)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "indicator--00000000-0000-4000-8000-%012d", n);
	return buf;
}

/* --- prefix matching --- */

static void test_lpm_v4_nested(void **state)
{
	struct intel_snapshot *s;
	struct intel_match m;

	(void)state;
	s = from_list("0.0.0.0/0\n10.0.0.0/8\n10.1.0.0/16\n10.1.2.0/24\n10.1.2.3/32\n10.1.2.4/31\n"
		      "255.255.255.255/32\n0.0.0.0/32\n192.0.2.77/24\n",
		      NULL);
	assert_string_equal(look(s, "10.1.2.3", NOW, &m), "10.1.2.3");
	assert_int_equal(m.kind, INTEL_KIND_IP);
	assert_int_equal(m.prefix_len, 32);
	assert_string_equal(look(s, "10.1.2.4", NOW, NULL), "10.1.2.4/31");
	assert_string_equal(look(s, "10.1.2.5", NOW, &m), "10.1.2.4/31");
	assert_int_equal(m.kind, INTEL_KIND_CIDR);
	assert_string_equal(look(s, "10.1.2.2", NOW, NULL), "10.1.2.0/24");
	assert_string_equal(look(s, "10.1.2.6", NOW, NULL), "10.1.2.0/24");
	assert_string_equal(look(s, "10.1.2.255", NOW, NULL), "10.1.2.0/24");
	assert_string_equal(look(s, "10.1.3.0", NOW, NULL), "10.1.0.0/16");
	assert_string_equal(look(s, "10.1.255.255", NOW, NULL), "10.1.0.0/16");
	assert_string_equal(look(s, "10.2.0.0", NOW, NULL), "10.0.0.0/8");
	assert_string_equal(look(s, "10.0.0.0", NOW, NULL), "10.0.0.0/8");
	assert_string_equal(look(s, "11.0.0.0", NOW, NULL), "0.0.0.0/0");
	assert_string_equal(look(s, "9.255.255.255", NOW, NULL), "0.0.0.0/0");
	assert_string_equal(look(s, "255.255.255.255", NOW, &m), "255.255.255.255");
	assert_int_equal(m.prefix_len, 32);
	assert_string_equal(look(s, "255.255.255.254", NOW, NULL), "0.0.0.0/0");
	assert_string_equal(look(s, "0.0.0.0", NOW, NULL), "0.0.0.0");
	assert_string_equal(look(s, "0.0.0.1", NOW, NULL), "0.0.0.0/0");
	/* Host bits are cleared: 192.0.2.77/24 is 192.0.2.0/24. */
	assert_string_equal(look(s, "192.0.2.1", NOW, NULL), "192.0.2.0/24");
	assert_string_equal(m.id, "");
	assert_string_equal(m.source, "test.txt");
	intel_snapshot_release(s);

	/* Without a default route, the gaps match nothing. */
	s = from_list("10.0.0.0/8\n10.1.2.3\n", NULL);
	assert_string_equal(look(s, "9.255.255.255", NOW, NULL), "-");
	assert_string_equal(look(s, "11.0.0.0", NOW, NULL), "-");
	assert_string_equal(look(s, "10.255.255.255", NOW, NULL), "10.0.0.0/8");
	assert_string_equal(look(s, "10.1.2.3", NOW, NULL), "10.1.2.3");
	assert_string_equal(look(s, "10.1.2.4", NOW, NULL), "10.0.0.0/8");
	assert_string_equal(look(s, "2001:db8::1", NOW, NULL), "-");
	assert_string_equal(lookd(s, "example.org", NOW, NULL), "-");
	intel_snapshot_release(s);

	/* An empty snapshot, and a NULL one, match nothing. */
	s = from_list("# nothing\n", NULL);
	assert_string_equal(look(s, "10.1.2.3", NOW, NULL), "-");
	assert_string_equal(look(s, "::1", NOW, NULL), "-");
	assert_string_equal(lookd(s, "a.example", NOW, NULL), "-");
	intel_snapshot_release(s);
	assert_int_equal(intel_lookup_ipv4(NULL, 1, NOW, &m), YG_ENOTFOUND);
}

static void test_lpm_v6_nested(void **state)
{
	struct intel_snapshot *s;
	struct intel_match m;
	struct ip_addr ip;

	(void)state;
	s = from_list("::/0\n2001:db8::/32\n2001:db8:1::/48\n2001:db8:1::1/128\n"
		      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n::/128\n2001:db8:1:2::/63\n",
		      NULL);
	assert_string_equal(look(s, "2001:db8:1::1", NOW, &m), "2001:db8:1::1");
	assert_int_equal(m.kind, INTEL_KIND_IP);
	assert_int_equal(m.prefix_len, 128);
	assert_int_equal(m.addr.family, 6);
	assert_string_equal(look(s, "2001:db8:1::2", NOW, &m), "2001:db8:1::/48");
	assert_int_equal(m.kind, INTEL_KIND_CIDR);
	assert_string_equal(look(s, "2001:db8:1:3:ffff::1", NOW, NULL), "2001:db8:1:2::/63");
	assert_string_equal(look(s, "2001:db8:1:4::", NOW, NULL), "2001:db8:1::/48");
	assert_string_equal(look(s, "2001:db8:2::", NOW, NULL), "2001:db8::/32");
	assert_string_equal(look(s, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", NOW, NULL),
			    "2001:db8::/32");
	assert_string_equal(look(s, "2001:db9::", NOW, NULL), "::/0");
	assert_string_equal(look(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NOW, NULL),
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_string_equal(look(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", NOW, NULL), "::/0");
	assert_string_equal(look(s, "::", NOW, NULL), "::");
	assert_string_equal(look(s, "::1", NOW, NULL), "::/0");
	/* intel_lookup_ip dispatches on the family. */
	assert_int_equal(ipaddr_parse("2001:db8:1::1", &ip), 0);
	assert_int_equal(intel_lookup_ip(s, &ip, NOW, &m), 0);
	assert_int_equal(m.prefix_len, 128);
	assert_int_equal(ipaddr_parse("192.0.2.1", &ip), 0);
	assert_int_equal(intel_lookup_ip(s, &ip, NOW, &m), YG_ENOTFOUND);
	intel_snapshot_release(s);
}

static void test_v4_mapped(void **state)
{
	struct intel_snapshot *s;
	struct intel_match m;

	(void)state;
	s = from_list("::ffff:203.0.113.0/120\n198.51.100.7\n2001:db8::/32\n::/0\n"
		      "::ffff:192.0.2.9\n",
		      NULL);
	/* An IPv6 prefix inside ::ffff:0:0/96 is stored as IPv4... */
	assert_string_equal(look(s, "203.0.113.9", NOW, &m), "203.0.113.0/24");
	assert_int_equal(m.addr.family, 4);
	assert_int_equal(m.prefix_len, 24);
	assert_string_equal(look(s, "192.0.2.9", NOW, &m), "192.0.2.9");
	assert_int_equal(m.kind, INTEL_KIND_IP);
	/* ...and an IPv4-mapped address is looked up as IPv4. */
	assert_string_equal(look(s, "::ffff:198.51.100.7", NOW, &m), "198.51.100.7");
	assert_int_equal(m.addr.family, 4);
	assert_string_equal(look(s, "::ffff:203.0.113.200", NOW, NULL), "203.0.113.0/24");
	/* IPv6 prefixes do not cover mapped addresses, not even ::/0. */
	assert_string_equal(look(s, "::ffff:8.8.8.8", NOW, NULL), "-");
	assert_string_equal(look(s, "8.8.8.8", NOW, NULL), "-");
	assert_string_equal(look(s, "2001:db8::1", NOW, NULL), "2001:db8::/32");
	assert_string_equal(look(s, "::1", NOW, NULL), "::/0");
	intel_snapshot_release(s);
}

/* --- domains --- */

static void test_domains(void **state)
{
	struct intel_snapshot *s;
	struct intel_match m;
	char longname[400];

	(void)state;
	s = from_list("evil.example\nexample.org\na.b.example.org\nUPPER.Example.NET.\n"
		      "*.wild.example\nxn--80ak6aa92e.example\nunder_score.example\n",
		      NULL);
	assert_string_equal(lookd(s, "evil.example", NOW, &m), "evil.example");
	assert_int_equal(m.kind, INTEL_KIND_DOMAIN);
	assert_int_equal(m.prefix_len, 0);
	assert_string_equal(lookd(s, "x.y.EVIL.example.", NOW, NULL), "evil.example");
	assert_string_equal(lookd(s, "EVIL.EXAMPLE", NOW, NULL), "evil.example");
	assert_string_equal(lookd(s, "notevil.example", NOW, NULL), "-");
	assert_string_equal(lookd(s, "evil.example.com", NOW, NULL), "-");
	assert_string_equal(lookd(s, "example", NOW, NULL), "-");
	assert_string_equal(lookd(s, "b.example.org", NOW, NULL), "example.org");
	assert_string_equal(lookd(s, "a.b.example.org", NOW, NULL), "a.b.example.org");
	assert_string_equal(lookd(s, "z.a.b.example.org", NOW, NULL), "a.b.example.org");
	assert_string_equal(lookd(s, "za.b.example.org", NOW, NULL), "example.org");
	assert_string_equal(lookd(s, "upper.example.net", NOW, NULL), "upper.example.net");
	assert_string_equal(lookd(s, "wild.example", NOW, NULL), "wild.example");
	assert_string_equal(lookd(s, "deep.wild.example", NOW, NULL), "wild.example");
	assert_string_equal(lookd(s, "www.xn--80ak6aa92e.example", NOW, NULL),
			    "xn--80ak6aa92e.example");
	assert_string_equal(lookd(s, "under_score.example", NOW, NULL), "under_score.example");
	assert_string_equal(lookd(s, "", NOW, NULL), "-");
	assert_string_equal(lookd(s, ".", NOW, NULL), "-");
	assert_string_equal(lookd(s, "..", NOW, NULL), "-");
	assert_string_equal(lookd(s, "a..evil.example", NOW, NULL), "evil.example");
	/* Not NUL-terminated: only len bytes count. */
	assert_int_equal(intel_lookup_domain(s, "evil.exampleXYZ", 12, NOW, &m), 0);
	assert_string_equal(m.value, "evil.example");
	assert_int_equal(intel_lookup_domain(s, "evil.exampleXYZ", 11, NOW, &m), YG_ENOTFOUND);
	/* Longer than a DNS name can be. */
	memset(longname, 'a', sizeof(longname));
	memcpy(longname + sizeof(longname) - 13, ".evil.example", 13);
	assert_int_equal(intel_lookup_domain(s, longname, sizeof(longname), NOW, &m), YG_ENOTFOUND);
	intel_snapshot_release(s);
}

/* --- STIX --- */

static void test_stix_bundle(void **state)
{
	const char *path = DATA "/stix/bundle.json";
	struct intel_builder *b = intel_builder_new(0);
	struct intel_report rep;
	struct intel_snapshot *s;
	struct intel_match m;

	(void)state;
	intel_report_init(&rep);
	assert_int_equal(intel_load_path(b, path, NULL, &rep), 0);
	assert_int_equal(rep.files, 1);
	assert_int_equal(rep.files_failed, 0);
	assert_int_equal(rep.loaded, 12);
	assert_int_equal(rep.rejected, 14);
	assert_int_equal(rep.skipped, 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_PATTERN_OP], 5);
	assert_int_equal(rep.by_reason[INTEL_REASON_PATTERN_OBJECT], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_PATTERN_TYPE], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_PATTERN_SYNTAX], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_MISSING], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_BAD_IPV4], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_BAD_IPV6], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_BAD_DOMAIN], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_BAD_TIMESTAMP], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_BAD_CONFIDENCE], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_SKIP_REVOKED], 1);
	assert_int_equal(rep.n_messages, 14);
	expect_message(&rep, "%s: objects[3].pattern: unsupported operator AND", path);
	expect_message(&rep, "%s: objects[4].pattern: unsupported operator FOLLOWEDBY", path);
	expect_message(&rep, "%s: objects[5].pattern: unsupported object path file:hashes.'SHA-256'",
		       path);
	expect_message(&rep, "%s: objects[6].pattern: unsupported operator !=", path);
	expect_message(&rep, "%s: objects[7].pattern: unsupported operator MATCHES", path);
	expect_message(&rep, "%s: objects[8].pattern_type: unsupported pattern type 'snort'", path);
	expect_message(&rep, "%s: objects[9].id: missing", path);
	expect_message(&rep, "%s: objects[10].pattern: invalid IPv4 address '192.0.2.300'", path);
	expect_message(&rep, "%s: objects[11].valid_until: invalid timestamp 'next tuesday'", path);
	expect_message(&rep, "%s: objects[12].pattern: unsupported qualifier WITHIN", path);
	expect_message(&rep, "%s: objects[13].confidence: not an integer 0-100", path);
	expect_message(&rep, "%s: objects[14].pattern: unterminated string", path);
	expect_message(&rep, "%s: objects[22].pattern: invalid IPv6 address '192.0.2.5'", path);
	expect_message(&rep, "%s: objects[23].pattern: invalid domain 'domain autuo.xicp.net'",
		       path);
	s = finish(b);

	/* objects[2]: a CIDR and a domain, with all the metadata. */
	assert_string_equal(look(s, "198.51.100.9", NOW, &m), "198.51.100.0/24");
	assert_string_equal(m.id, id_of(1));
	assert_string_equal(m.source, "identity--5f6b7c1e-0d1a-4c2b-9e3f-1a2b3c4d5e6f");
	assert_int_equal(m.confidence, 80);
	assert_int_equal(m.tlp, INTEL_TLP_AMBER_STRICT);
	assert_int_equal(m.valid_until, 1893456000); /* 2030-01-01T00:00:00Z */
	assert_int_equal(m.kind, INTEL_KIND_CIDR);
	assert_string_equal(lookd(s, "www.evil.example", NOW, &m), "evil.example");
	assert_string_equal(m.id, id_of(1));
	assert_int_equal(m.kind, INTEL_KIND_DOMAIN);

	/* objects[15]: a URL is matched by its host, and keeps the URL. */
	assert_string_equal(lookd(s, "phish.example", NOW, &m),
			    "https://Phish.Example:8443/login?x=1");
	assert_int_equal(m.kind, INTEL_KIND_URL);
	assert_int_equal(m.tlp, INTEL_TLP_GREEN);
	assert_int_equal(m.confidence, 50); /* the default */
	assert_string_equal(m.source, "bundle.json");
	assert_int_equal(m.valid_until, INTEL_NO_EXPIRY);
	assert_string_equal(lookd(s, "login.phish.example", NOW, NULL),
			    "https://Phish.Example:8443/login?x=1");

	/* objects[16]: IPv6, marked CLEAR and RED: the stricter wins. */
	assert_string_equal(look(s, "2001:db8:bad::1", NOW, &m), "2001:db8:bad::1");
	assert_string_equal(m.id, id_of(15));
	assert_int_equal(m.tlp, INTEL_TLP_RED);
	assert_int_equal(m.confidence, 70);
	assert_string_equal(look(s, "2001:db8:bad:1::", NOW, &m), "2001:db8:bad::/48");
	assert_int_equal(m.kind, INTEL_KIND_CIDR);

	/* objects[17]: marked by a TLP definition inside the bundle; expires
	 * at the start of 2025, after which its parent domain matches. */
	assert_string_equal(lookd(s, "x.sub.evil.example", NOW, &m), "sub.evil.example");
	assert_string_equal(m.id, id_of(16));
	assert_int_equal(m.tlp, INTEL_TLP_AMBER);
	assert_int_equal(m.confidence, 90);
	assert_int_equal(m.valid_until, 1735689600);
	assert_string_equal(lookd(s, "x.sub.evil.example", 1735689600, &m), "sub.evil.example");
	assert_string_equal(lookd(s, "x.sub.evil.example", 1735689601, &m), "evil.example");
	assert_string_equal(m.id, id_of(1));
	assert_string_equal(lookd(s, "x.sub.evil.example", 1893456001, &m), "-");

	/* objects[20]: a URL with an address host is an address entry. */
	assert_string_equal(look(s, "203.0.113.7", NOW, &m), "http://203.0.113.7/gate.php");
	assert_int_equal(m.kind, INTEL_KIND_URL);
	assert_int_equal(m.prefix_len, 32);
	assert_int_equal(m.tlp, INTEL_TLP_WHITE);

	/* objects[21]: OR between observation expressions. */
	assert_string_equal(look(s, "192.0.2.10", NOW, &m), "192.0.2.10");
	assert_string_equal(m.id, id_of(19));
	assert_int_equal(m.tlp, INTEL_TLP_GREEN);
	assert_string_equal(look(s, "192.0.2.11", NOW, NULL), "192.0.2.11");

	/* objects[24..26]: TLP 2.0 amber and red, TLP 1.0 amber. */
	look(s, "192.0.2.15", NOW, &m);
	assert_int_equal(m.tlp, INTEL_TLP_AMBER);
	look(s, "192.0.2.16", NOW, &m);
	assert_int_equal(m.tlp, INTEL_TLP_RED);
	look(s, "192.0.2.17", NOW, &m);
	assert_int_equal(m.tlp, INTEL_TLP_AMBER);

	/* Rejected and revoked indicators load nothing. */
	assert_string_equal(look(s, "192.0.2.1", NOW, NULL), "-");
	assert_string_equal(lookd(s, "and.example", NOW, NULL), "-");
	assert_string_equal(look(s, "192.0.2.8", NOW, NULL), "-");
	assert_string_equal(look(s, "192.0.2.14", NOW, NULL), "-");
	intel_snapshot_release(s);
}

/* Loads one STIX pattern (or bundle fragment) and returns the report. */
static struct intel_snapshot *stix_one(const char *pattern, const char *extra,
				       struct intel_report *rep)
{
	char buf[4096];
	struct intel_builder *b = intel_builder_new(0);
	int n;

	n = snprintf(buf, sizeof(buf),
		     "{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"id\":\"indicator--1\","
		     "\"pattern\":\"%s\"%s}]}",
		     pattern, extra);
	assert_true(n > 0 && n < (int)sizeof(buf));
	intel_report_init(rep);
	assert_int_equal(intel_load_buffer(b, "p.json", buf, (size_t)n, INTEL_FORMAT_AUTO, NULL, rep),
			 0);
	return finish(b);
}

static void expect_pattern_error(const char *pattern, enum intel_reason why, const char *msg)
{
	struct intel_report rep;
	struct intel_snapshot *s = stix_one(pattern, "", &rep);

	assert_int_equal(rep.loaded, 0);
	assert_int_equal(rep.rejected, 1);
	assert_int_equal(rep.by_reason[why], 1);
	expect_message(&rep, "p.json: objects[0].pattern: %s", msg);
	intel_snapshot_release(s);
}

static void test_stix_patterns(void **state)
{
	struct intel_report rep;
	struct intel_snapshot *s;
	struct intel_match m;
	char deep[200];

	(void)state;
	/* Parentheses, no spaces, lowercase or, escapes, STIX 2.0 (no
	 * pattern_type). */
	s = stix_one("[(ipv4-addr:value = '192.0.2.1' or (domain-name:value = 'p.example'))]", "",
		     &rep);
	assert_int_equal(rep.loaded, 2);
	assert_string_equal(look(s, "192.0.2.1", NOW, NULL), "192.0.2.1");
	assert_string_equal(lookd(s, "p.example", NOW, NULL), "p.example");
	intel_snapshot_release(s);
	s = stix_one("[ipv4-addr:value='192.0.2.2']", "", &rep);
	assert_int_equal(rep.loaded, 1);
	intel_snapshot_release(s);
	s = stix_one("[url:value = 'http://q.example/it\\\\'s']", "", &rep);
	assert_int_equal(rep.loaded, 1);
	assert_string_equal(lookd(s, "q.example", NOW, NULL), "http://q.example/it's");
	intel_snapshot_release(s);
	s = stix_one("[url:value = 'http://[2001:db8::5]:8080/x']", "", &rep);
	assert_int_equal(rep.loaded, 1);
	assert_string_equal(look(s, "2001:db8::5", NOW, &m), "http://[2001:db8::5]:8080/x");
	assert_int_equal(m.kind, INTEL_KIND_URL);
	intel_snapshot_release(s);

	/* Timestamps: offsets and fractions. */
	s = stix_one("[ipv4-addr:value = '192.0.2.3']", ",\"valid_until\":\"2030-01-01T09:00:00+09:00\"",
		     &rep);
	look(s, "192.0.2.3", NOW, &m);
	assert_int_equal(m.valid_until, 1893456000);
	intel_snapshot_release(s);
	s = stix_one("[ipv4-addr:value = '192.0.2.3']", ",\"valid_until\":\"2030-01-01T00:00:00.999Z\"",
		     &rep);
	look(s, "192.0.2.3", NOW, &m);
	assert_int_equal(m.valid_until, 1893456000);
	intel_snapshot_release(s);
	s = stix_one("[ipv4-addr:value = '192.0.2.3']", ",\"valid_until\":\"2030-02-30T00:00:00Z\"",
		     &rep);
	assert_int_equal(rep.by_reason[INTEL_REASON_BAD_TIMESTAMP], 1);
	expect_message(&rep, "p.json: objects[0].valid_until: invalid timestamp "
			     "'2030-02-30T00:00:00Z'");
	intel_snapshot_release(s);
	s = stix_one("[ipv4-addr:value = '192.0.2.3']", ",\"pattern_type\":\"sigma\"", &rep);
	expect_message(&rep, "p.json: objects[0].pattern_type: unsupported pattern type 'sigma'");
	intel_snapshot_release(s);

	/* TLP definitions inside a bundle: the TLP 2.0 extension's form, and
	 * a name alone. */
	{
		static const char bundle[] =
			"{\"type\":\"bundle\",\"objects\":["
			"{\"type\":\"indicator\",\"id\":\"indicator--a\",\"pattern\":\"[ipv4-addr:value "
			"= '192.0.2.40']\",\"object_marking_refs\":[\"marking-definition--ext\"]},"
			"{\"type\":\"indicator\",\"id\":\"indicator--b\",\"pattern\":\"[ipv4-addr:value "
			"= '192.0.2.41']\",\"object_marking_refs\":[\"marking-definition--name\","
			"\"marking-definition--unknown\"]},"
			"{\"type\":\"marking-definition\",\"id\":\"marking-definition--ext\","
			"\"extensions\":{\"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d\":"
			"{\"extension_type\":\"property-extension\",\"tlp_2_0\":\"amber+strict\"}}},"
			"{\"type\":\"marking-definition\",\"id\":\"marking-definition--name\","
			"\"name\":\"TLP:GREEN\"}]}";
		struct intel_builder *b = intel_builder_new(0);

		intel_report_init(&rep);
		assert_int_equal(intel_load_buffer(b, "m.json", bundle, strlen(bundle),
						   INTEL_FORMAT_AUTO, NULL, &rep),
				 0);
		s = finish(b);
		look(s, "192.0.2.40", NOW, &m);
		assert_int_equal(m.tlp, INTEL_TLP_AMBER_STRICT);
		look(s, "192.0.2.41", NOW, &m);
		assert_int_equal(m.tlp, INTEL_TLP_GREEN);
		intel_snapshot_release(s);
	}

	expect_pattern_error("[ipv4-addr:value = '192.0.2.1'] OR", INTEL_REASON_PATTERN_SYNTAX,
			     "expected '[' at end of pattern");
	expect_pattern_error("[]", INTEL_REASON_PATTERN_SYNTAX, "expected an object path, found ']'");
	expect_pattern_error("[ipv4-addr:value = '192.0.2.1']]", INTEL_REASON_PATTERN_SYNTAX,
			     "expected end of pattern, found ']'");
	expect_pattern_error("[ipv4-addr:value = 42]", INTEL_REASON_PATTERN_SYNTAX,
			     "expected a quoted string, found '42'");
	expect_pattern_error("[ipv4-addr:value ISSUBSET '192.0.2.0/24']", INTEL_REASON_PATTERN_OP,
			     "unsupported operator ISSUBSET");
	expect_pattern_error("[ipv4-addr:value NOT = '192.0.2.1']", INTEL_REASON_PATTERN_OP,
			     "unsupported operator NOT");
	expect_pattern_error("[ipv4-addr:value > '192.0.2.1']", INTEL_REASON_PATTERN_OP,
			     "unsupported operator >");
	expect_pattern_error("[domain-name:value = 'a.example'] REPEATS 5 TIMES",
			     INTEL_REASON_PATTERN_OP, "unsupported qualifier REPEATS");
	expect_pattern_error("[email-addr:value = 'x@evil.example']", INTEL_REASON_PATTERN_OBJECT,
			     "unsupported object path email-addr:value");
	expect_pattern_error("[ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.999']",
			     INTEL_REASON_BAD_IPV4, "invalid IPv4 address '192.0.2.999'");
	expect_pattern_error("[url:value = 'http:///nohost']", INTEL_REASON_BAD_URL,
			     "invalid URL 'http:///nohost'");
	memset(deep, '(', 40);
	snprintf(deep + 40, sizeof(deep) - 40, "[ipv4-addr:value = '192.0.2.1']");
	expect_pattern_error(deep, INTEL_REASON_PATTERN_SYNTAX, "nested too deep");

	/* An indicator loads whole or not at all: nothing of a rejected
	 * pattern's valid comparisons is left behind. */
	s = stix_one("[ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.999']", "", &rep);
	assert_string_equal(look(s, "192.0.2.1", NOW, NULL), "-");
	intel_snapshot_release(s);
}

/* --- MISP --- */

static void test_misp_feed(void **state)
{
	const char *ev1 = DATA "/misp/5f0c3d2e-1a2b-4c3d-8e4f-5a6b7c8d9e0f.json";
	struct intel_builder *b = intel_builder_new(0);
	struct intel_report rep;
	struct intel_snapshot *s;
	struct intel_match m;

	(void)state;
	intel_report_init(&rep);
	assert_int_equal(intel_load_path(b, DATA "/misp/", NULL, &rep), 0);
	assert_int_equal(rep.files, 2); /* the events; not manifest.json, not hashes.csv */
	assert_int_equal(rep.files_failed, 0);
	assert_int_equal(rep.loaded, 10);
	assert_int_equal(rep.rejected, 2);
	assert_int_equal(rep.skipped, 4);
	assert_int_equal(rep.by_reason[INTEL_REASON_SKIP_TYPE], 2);
	assert_int_equal(rep.by_reason[INTEL_REASON_SKIP_NOT_IDS], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_SKIP_DELETED], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_BAD_IPV4], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_MISSING], 1);
	expect_message(&rep, "%s: Event.Attribute[7].value: invalid IP address 'not-an-ip'", ev1);
	expect_message(&rep, "%s: Event.Attribute[10].value: missing", ev1);
	s = finish(b);

	assert_string_equal(look(s, "203.0.113.50", NOW, &m), "203.0.113.50");
	assert_string_equal(m.id, "a0000000-0000-4000-8000-000000000001");
	assert_string_equal(m.source, "CIRCL: Emotet C2 servers");
	assert_int_equal(m.tlp, INTEL_TLP_AMBER);
	assert_int_equal(m.confidence, 50);
	assert_string_equal(look(s, "198.18.0.5", NOW, &m), "198.18.0.5"); /* ip-src|port */
	assert_string_equal(m.id, "a0000000-0000-4000-8000-000000000002");
	assert_string_equal(lookd(s, "c2.bad.example", NOW, &m), "c2.bad.example");
	assert_string_equal(m.id, "a0000000-0000-4000-8000-000000000003");
	assert_string_equal(lookd(s, "x.cdn.c2.bad.example", NOW, &m), "cdn.c2.bad.example");
	assert_string_equal(m.id, "a0000000-0000-4000-8000-000000000004");
	assert_string_equal(lookd(s, "bad-landing.example", NOW, &m),
			    "http://bad-landing.example/path/x.exe");
	assert_int_equal(m.kind, INTEL_KIND_URL);
	assert_string_equal(look(s, "203.0.113.52", NOW, &m), "203.0.113.52");
	assert_int_equal(m.tlp, INTEL_TLP_RED); /* attribute tag over event tag */
	assert_string_equal(look(s, "203.0.113.51", NOW, NULL), "-"); /* to_ids false */
	assert_string_equal(look(s, "203.0.113.53", NOW, NULL), "-"); /* deleted */
	assert_string_equal(lookd(s, "combo.example", NOW, &m), "combo.example");
	assert_string_equal(m.id, "a0000000-0000-4000-8000-000000000012");
	assert_string_equal(look(s, "198.51.100.200", NOW, &m), "198.51.100.200");
	assert_string_equal(m.id, "a0000000-0000-4000-8000-000000000012");
	assert_string_equal(look(s, "2001:db8:c2::7", NOW, &m), "2001:db8:c2::7"); /* in an Object */
	assert_string_equal(m.id, "a0000000-0000-4000-8000-000000000013");
	assert_string_equal(lookd(s, "login.phish.example", NOW, &m), "https://login.phish.example/");
	assert_string_equal(m.source, "ACME-CERT: Phishing kit");
	assert_int_equal(m.tlp, INTEL_TLP_CLEAR);
	intel_snapshot_release(s);
}

static void test_json_shapes(void **state)
{
	static const char response[] =
		"{\"response\":[{\"Event\":{\"info\":\"r\",\"Attribute\":[{\"type\":\"ip-dst\","
		"\"value\":\"192.0.2.33\",\"uuid\":\"u1\"}]}}]}";
	static const char single[] =
		"\n  {\"type\":\"indicator\",\"id\":\"indicator--2\",\"pattern\":\"[ipv4-addr:value = "
		"'192.0.2.34']\"}";
	static const char bom[] = "\xef\xbb\xbf# list with a byte order mark\n192.0.2.35\n";
	struct intel_builder *b = intel_builder_new(0);
	struct intel_report rep;
	struct intel_snapshot *s;
	struct intel_match m;

	(void)state;
	intel_report_init(&rep);
	assert_int_equal(intel_load_buffer(b, "r.json", response, strlen(response),
					   INTEL_FORMAT_AUTO, NULL, &rep),
			 0);
	assert_int_equal(intel_load_buffer(b, "i.json", single, strlen(single), INTEL_FORMAT_AUTO,
					   NULL, &rep),
			 0);
	assert_int_equal(intel_load_buffer(b, "bom.txt", bom, strlen(bom), INTEL_FORMAT_AUTO, NULL,
					   &rep),
			 0);
	/* A MISP event is not a STIX bundle. */
	assert_int_equal(intel_load_buffer(b, "r.json", response, strlen(response),
					   INTEL_FORMAT_STIX, NULL, &rep),
			 YG_EFORMAT);
	expect_message(&rep, "r.json: not a STIX 2.1 bundle or a MISP event");
	assert_int_equal(rep.files, 4);
	assert_int_equal(rep.files_failed, 1);
	assert_int_equal(rep.loaded, 3);
	s = finish(b);
	assert_string_equal(look(s, "192.0.2.33", NOW, &m), "192.0.2.33");
	assert_string_equal(m.source, "r");
	assert_string_equal(m.id, "u1");
	assert_string_equal(look(s, "192.0.2.34", NOW, &m), "192.0.2.34");
	assert_string_equal(m.id, "indicator--2");
	assert_string_equal(look(s, "192.0.2.35", NOW, &m), "192.0.2.35");
	assert_string_equal(m.source, "bom.txt");
	intel_snapshot_release(s);
}

/* --- plain lists --- */

static void test_plain_lists(void **state)
{
	struct intel_load_opts opts = {.confidence = 60, .tlp = INTEL_TLP_CLEAR,
				       .valid_until = 1900000000};
	struct intel_builder *b = intel_builder_new(0);
	struct intel_report rep;
	struct intel_snapshot *s;
	struct intel_match m;

	(void)state;
	intel_report_init(&rep);
	assert_int_equal(intel_load_path(b, DATA "/lists/firehol_level1.netset", &opts, &rep), 0);
	assert_int_equal(intel_load_path(b, DATA "/lists/drop.txt", &opts, &rep), 0);
	assert_int_equal(intel_load_path(b, DATA "/lists/hosts.txt", &opts, &rep), 0);
	assert_int_equal(rep.files, 3);
	assert_int_equal(rep.loaded, 6 + 3 + 7);
	assert_int_equal(rep.rejected, 0);
	s = finish(b);

	/* DROP's /26 is more specific than FireHOL's /24. */
	assert_string_equal(look(s, "192.0.2.70", NOW, &m), "192.0.2.64/26");
	assert_string_equal(m.source, "drop.txt");
	assert_string_equal(m.id, "");
	assert_int_equal(m.confidence, 60);
	assert_int_equal(m.tlp, INTEL_TLP_CLEAR);
	assert_int_equal(m.valid_until, 1900000000);
	assert_string_equal(look(s, "192.0.2.1", NOW, &m), "192.0.2.0/24");
	assert_string_equal(m.source, "firehol_level1.netset");
	assert_string_equal(look(s, "203.0.113.200", NOW, NULL), "203.0.113.128/25");
	assert_string_equal(look(s, "203.0.113.5", NOW, NULL), "203.0.113.0/24");
	assert_string_equal(look(s, "198.51.100.1", NOW, NULL), "198.51.100.0/25");
	assert_string_equal(look(s, "198.51.100.200", NOW, NULL), "-");
	assert_string_equal(look(s, "198.19.255.255", NOW, NULL), "198.18.0.0/15");
	/* hosts format: the names, not the sink address */
	assert_string_equal(look(s, "0.0.0.0", NOW, &m), "0.0.0.0/8");
	assert_string_equal(m.source, "firehol_level1.netset");
	assert_string_equal(look(s, "127.0.0.1", NOW, NULL), "-");
	assert_string_equal(lookd(s, "malware-host.example", NOW, &m), "malware-host.example");
	assert_string_equal(m.source, "hosts.txt");
	assert_string_equal(lookd(s, "other.example", NOW, NULL), "other.example");
	assert_string_equal(lookd(s, "www.extra.example", NOW, NULL), "extra.example");
	assert_string_equal(lookd(s, "plain.example", NOW, NULL), "plain.example");
	assert_string_equal(lookd(s, "a.wild.example", NOW, NULL), "wild.example");
	assert_string_equal(lookd(s, "trailing.dot.example", NOW, NULL), "trailing.dot.example");
	assert_string_equal(look(s, "2001:db8:f00d:1::1", NOW, NULL), "2001:db8:f00d::/48");
	/* The list's valid_until applies to all of it. */
	assert_string_equal(look(s, "192.0.2.1", 1900000001, NULL), "-");
	intel_snapshot_release(s);
}

static void test_list_rejects(void **state)
{
	const char *path = DATA "/lists/bad.txt";
	struct intel_builder *b = intel_builder_new(0);
	struct intel_report rep;
	struct intel_snapshot *s;

	(void)state;
	intel_report_init(&rep);
	assert_int_equal(intel_load_path(b, path, NULL, &rep), 0);
	assert_int_equal(rep.loaded, 3);
	assert_int_equal(rep.rejected, 8);
	assert_int_equal(rep.by_reason[INTEL_REASON_BAD_IPV4], 3);
	assert_int_equal(rep.by_reason[INTEL_REASON_BAD_IPV6], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_TRAILING], 2);
	assert_int_equal(rep.by_reason[INTEL_REASON_BAD_DOMAIN], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_BAD_URL], 1);
	expect_message(&rep, "%s:3: invalid IPv4 address or CIDR '192.0.2.300'", path);
	expect_message(&rep, "%s:4: invalid IPv4 address or CIDR '192.0.2.0/33'", path);
	expect_message(&rep, "%s:5: invalid IPv6 address or CIDR '2001:db8::/129'", path);
	expect_message(&rep, "%s:6: unexpected text after 'not'", path);
	expect_message(&rep, "%s:7: invalid domain 'bad_label..example'", path);
	expect_message(&rep, "%s:8: unexpected text after '192.0.2.7'", path);
	expect_message(&rep, "%s:11: invalid URL 'http://'", path);
	expect_message(&rep, "%s:12: invalid IPv4 address or CIDR '1.2.3.4-1.2.3.9'", path);
	s = finish(b);
	assert_string_equal(look(s, "192.0.2.1", NOW, NULL), "192.0.2.1");
	assert_string_equal(look(s, "198.51.100.9", NOW, NULL), "198.51.100.0/24");
	assert_string_equal(lookd(s, "valid.example", NOW, NULL), "valid.example");
	assert_string_equal(look(s, "192.0.2.7", NOW, NULL), "-");
	intel_snapshot_release(s);
}

static void test_report_cap(void **state)
{
	char text[2048];
	size_t n = 0;
	struct intel_builder *b = intel_builder_new(0);
	struct intel_report rep;

	(void)state;
	for (int i = 0; i < 30; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "10.0.0.%d/40\n", i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "10.9.9.9\n");
	intel_report_init(&rep);
	assert_int_equal(intel_load_buffer(b, "many.txt", text, n, INTEL_FORMAT_LIST, NULL, &rep), 0);
	assert_int_equal(rep.rejected, 30);
	assert_int_equal(rep.loaded, 1);
	assert_int_equal(rep.n_messages, INTEL_REPORT_MESSAGES);
	assert_int_equal(rep.messages_dropped, 30 - INTEL_REPORT_MESSAGES);
	assert_string_equal(rep.messages[0], "many.txt:1: invalid IPv4 address or CIDR '10.0.0.0/40'");
	assert_string_equal(rep.messages[19],
			    "many.txt:20: invalid IPv4 address or CIDR '10.0.0.19/40'");
	intel_builder_free(b);
}

static void test_bad_files(void **state)
{
	const char *dir = DATA "/mixed";
	struct intel_builder *b = intel_builder_new(0);
	struct intel_report rep;
	struct intel_snapshot *s;
	char want[512];

	(void)state;
	intel_report_init(&rep);
	/* Two bad files: the error is the first one's, and the rest loads. */
	assert_int_equal(intel_load_path(b, dir, NULL, &rep), YG_EFORMAT);
	assert_int_equal(rep.files, 3); /* not .hidden, not sub/ */
	assert_int_equal(rep.files_failed, 2);
	assert_int_equal(rep.by_reason[INTEL_REASON_JSON], 1);
	assert_int_equal(rep.by_reason[INTEL_REASON_JSON_SHAPE], 1);
	assert_int_equal(rep.loaded, 2);
	snprintf(want, sizeof(want), "%s/a_broken.json: invalid JSON at line 4 column ", dir);
	assert_int_equal(strncmp(rep.messages[0], want, strlen(want)), 0);
	expect_message(&rep, "%s/b_shape.json: not a STIX 2.1 bundle or a MISP event", dir);
	assert_int_equal(intel_load_path(b, DATA "/no/such/file.txt", NULL, &rep), YG_EIO);
	expect_message(&rep, "%s: cannot open: No such file or directory", DATA "/no/such/file.txt");
	assert_int_equal(rep.files_failed, 3);
	assert_int_equal(rep.by_reason[INTEL_REASON_FILE], 1);
	s = finish(b);
	assert_string_equal(look(s, "192.0.2.200", NOW, NULL), "192.0.2.200");
	assert_string_equal(lookd(s, "after-broken.example", NOW, NULL), "after-broken.example");
	assert_string_equal(look(s, "192.0.2.201", NOW, NULL), "-");
	assert_string_equal(look(s, "192.0.2.202", NOW, NULL), "-");
	intel_snapshot_release(s);
}

/* --- expiry and duplicates --- */

static void load_feed(struct intel_builder *b, const char *name, const char *text, int conf,
		      int64_t until)
{
	struct intel_load_opts o = {.confidence = conf, .tlp = INTEL_TLP_NONE, .valid_until = until};
	struct intel_report rep;

	intel_report_init(&rep);
	assert_int_equal(
		intel_load_buffer(b, name, text, strlen(text), INTEL_FORMAT_LIST, &o, &rep), 0);
	assert_int_equal(rep.rejected, 0);
}

static void test_expiry_and_duplicates(void **state)
{
	struct intel_builder *b = intel_builder_new(0);
	struct intel_snapshot *s;
	struct intel_match m;
	struct intel_stats st;

	(void)state;
	load_feed(b, "A", "10.0.0.0/8\n", 50, 2000);
	load_feed(b, "B", "10.1.0.0/16\n10.1.0.0/16\n", 50, 1000); /* listed twice */
	load_feed(b, "C", "10.1.0.0/16\n", 10, 3000);
	load_feed(b, "D", "10.1.0.0/16\n", 90, 500);
	load_feed(b, "E", "evil.example\n", 50, 1000);
	load_feed(b, "F", "a.evil.example\n", 50, 500);
	load_feed(b, "G", "a.evil.example\n", 20, 800);
	load_feed(b, "H", "2001:db8::/32\n", 50, 1000);
	load_feed(b, "I", "2001:db8:1::/48\n", 50, 500);
	s = finish(b);
	intel_snapshot_stats(s, &st);
	assert_int_equal(st.v4_entries, 4); /* B's duplicate is one entry */
	assert_int_equal(st.v6_entries, 2);
	assert_int_equal(st.domain_entries, 3);

	/* Same prefix: the higher confidence first, while it lasts. */
	look(s, "10.1.2.3", 400, &m);
	assert_string_equal(m.source, "D");
	look(s, "10.1.2.3", 500, &m);
	assert_string_equal(m.source, "D"); /* valid up to and including valid_until */
	look(s, "10.1.2.3", 501, &m);
	assert_string_equal(m.source, "B");
	look(s, "10.1.2.3", 1001, &m);
	assert_string_equal(m.source, "C");
	/* A longer prefix wins over a more confident shorter one. */
	assert_string_equal(look(s, "10.1.2.3", 1500, &m), "10.1.0.0/16");
	assert_string_equal(m.source, "C");
	assert_string_equal(look(s, "10.2.0.0", 1500, &m), "10.0.0.0/8");
	assert_string_equal(look(s, "10.2.0.0", 2001, NULL), "-");
	assert_string_equal(look(s, "10.1.2.3", 3001, NULL), "-");
	/* Expired longer prefixes fall back to shorter ones. */
	assert_string_equal(look(s, "2001:db8:1::1", 400, NULL), "2001:db8:1::/48");
	assert_string_equal(look(s, "2001:db8:1::1", 501, NULL), "2001:db8::/32");
	assert_string_equal(look(s, "2001:db8:1::1", 1001, NULL), "-");
	lookd(s, "x.a.evil.example", 400, &m);
	assert_string_equal(m.source, "F");
	assert_string_equal(lookd(s, "x.a.evil.example", 600, &m), "a.evil.example");
	assert_string_equal(m.source, "G");
	assert_string_equal(lookd(s, "x.a.evil.example", 900, &m), "evil.example");
	assert_string_equal(lookd(s, "x.a.evil.example", 1001, NULL), "-");
	intel_snapshot_release(s);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(intel_kind_name(INTEL_KIND_CIDR), "cidr");
	assert_string_equal(intel_kind_name(INTEL_KIND_URL), "url");
	assert_string_equal(intel_tlp_name(INTEL_TLP_AMBER_STRICT), "TLP:AMBER+STRICT");
	assert_string_equal(intel_tlp_name(INTEL_TLP_CLEAR), "TLP:CLEAR");
	assert_null(intel_tlp_name(INTEL_TLP_NONE));
	assert_string_equal(intel_reason_name(INTEL_REASON_PATTERN_OP), "unsupported_operator");
	assert_string_equal(intel_reason_name(INTEL_REASON_SKIP_NOT_IDS), "not_for_ids");
	for (int r = 0; r < INTEL_REASON_COUNT; r++)
		assert_string_not_equal(intel_reason_name((enum intel_reason)r), "unknown");
}

/* --- randomized checks against naive references --- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

#define FEEDS 24

struct feed {
	int conf;
	int64_t until;
	char *text;
	size_t len, cap;
};

static void feed_add(struct feed *f, const char *line)
{
	size_t n = strlen(line);

	if (f->len + n + 2 > f->cap) {
		f->cap = (f->len + n + 2) * 2;
		f->text = realloc(f->text, f->cap);
		assert_non_null(f->text);
	}
	memcpy(f->text + f->len, line, n);
	f->len += n;
	f->text[f->len++] = '\n';
	f->text[f->len] = '\0';
}

static void feeds_init(struct feed *f)
{
	for (int i = 0; i < FEEDS; i++) {
		f[i].conf = (int)(rnd() % 4) * 30;
		f[i].until = 1000 + (int64_t)(rnd() % 5) * 1000;
		if (i % 5 == 0)
			f[i].until = INTEL_NO_EXPIRY;
		f[i].text = NULL;
		f[i].len = f[i].cap = 0;
	}
}

static struct intel_snapshot *feeds_load(struct feed *f)
{
	struct intel_builder *b = intel_builder_new(0);
	char name[32];

	for (int i = 0; i < FEEDS; i++) {
		snprintf(name, sizeof(name), "feed-%d", i);
		load_feed(b, name, f[i].len ? f[i].text : "", f[i].conf, f[i].until);
	}
	return finish(b);
}

static void feeds_free(struct feed *f)
{
	for (int i = 0; i < FEEDS; i++)
		free(f[i].text);
}

struct pfx {
	uint8_t a[16];
	unsigned plen;
	int feed;
};

static int pfx_contains(const struct pfx *p, const uint8_t *a)
{
	unsigned full = p->plen / 8, rest = p->plen % 8;

	if (memcmp(p->a, a, full) != 0)
		return 0;
	return rest == 0 || ((p->a[full] ^ a[full]) & (0xff00 >> rest)) == 0;
}

static void pfx_mask(struct pfx *p, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned bits = p->plen > i * 8 ? p->plen - i * 8 : 0;

		if (bits < 8)
			p->a[i] &= (uint8_t)(0xff00 >> bits);
	}
}

/* The entry the store should find: longest prefix among the unexpired,
 * then higher confidence, then the feed loaded later. */
static const struct pfx *naive_lpm(const struct pfx *ps, size_t n, const struct feed *f,
				   const uint8_t *a, int64_t now)
{
	const struct pfx *best = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct pfx *p = &ps[i];

		if (f[p->feed].until < now || !pfx_contains(p, a))
			continue;
		if (best == NULL || p->plen > best->plen ||
		    (p->plen == best->plen &&
		     (f[p->feed].conf > f[best->feed].conf ||
		      (f[p->feed].conf == f[best->feed].conf && p->feed > best->feed))))
			best = p;
	}
	return best;
}

static void random_lpm(unsigned bytes, size_t nprefix, size_t nquery)
{
	unsigned bits = bytes * 8;
	struct feed feeds[FEEDS];
	struct pfx *ps = calloc(nprefix * 2, sizeof(*ps));
	uint8_t roots[16][16];
	struct intel_snapshot *s;
	size_t checked = 0, hits = 0, n = 0;
	const int64_t nows[] = {0, 1500, 3500, 6000};

	assert_non_null(ps);
	feeds_init(feeds);
	for (int r = 0; r < 16; r++)
		for (unsigned k = 0; k < 16; k++)
			roots[r][k] = (uint8_t)rnd();
	for (size_t i = 0; i < nprefix; i++) {
		struct pfx p;
		char line[64];
		unsigned flip = (unsigned)(rnd() % (bits + 1));

		/* Near one of a few roots, so that prefixes nest and overlap. */
		memset(&p, 0, sizeof(p));
		memcpy(p.a, roots[rnd() % 16], 16);
		for (unsigned k = flip; k < bits; k++)
			if (rnd() & 1)
				p.a[k / 8] ^= (uint8_t)(0x80 >> (k % 8));
		p.plen = rnd() % 8 == 0 ? bits / 4 + (unsigned)(rnd() % (bits - bits / 4 + 1))
					: bits - (unsigned)(rnd() % (bits / 2 + 1));
		pfx_mask(&p, bytes);
		if (bytes == 16 && memcmp(p.a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
			p.a[0] = 0x20; /* keep clear of the IPv4-mapped block */
		inet_ntop(bytes == 4 ? AF_INET : AF_INET6, p.a, line, sizeof(line));
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "/%u", p.plen);
		p.feed = (int)(rnd() % FEEDS);
		feed_add(&feeds[p.feed], line);
		ps[n++] = p;
		if (rnd() % 8 == 0) { /* the same prefix in another feed */
			p.feed = (int)(rnd() % FEEDS);
			feed_add(&feeds[p.feed], line);
			ps[n++] = p;
		}
	}
	nprefix = n;
	s = feeds_load(feeds);

	for (size_t q = 0; q < nquery + nprefix * 2; q++) {
		uint8_t a[16];

		if (q < nquery) {
			memcpy(a, roots[rnd() % 16], 16);
			for (unsigned k = (unsigned)(rnd() % (bits + 1)); k < bits; k++)
				if (rnd() & 1)
					a[k / 8] ^= (uint8_t)(0x80 >> (k % 8));
			if (q % 4 == 0)
				for (unsigned k = 0; k < bytes; k++)
					a[k] = (uint8_t)rnd();
		} else {
			/* Each prefix's first and last address. */
			const struct pfx *p = &ps[(q - nquery) / 2];

			memcpy(a, p->a, 16);
			if ((q - nquery) % 2)
				for (unsigned k = p->plen; k < bits; k++)
					a[k / 8] |= (uint8_t)(0x80 >> (k % 8));
		}
		if (bytes == 16 && memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
			continue;
		for (size_t t = 0; t < sizeof(nows) / sizeof(nows[0]); t++) {
			const struct pfx *want = naive_lpm(ps, nprefix, feeds, a, nows[t]);
			struct intel_match m;
			char wname[32];
			int rc;

			if (bytes == 4) {
				uint32_t a4 = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
					      (uint32_t)a[2] << 8 | a[3];
				struct intel_match mb[3];
				uint32_t batch[3] = {0, a4, 0xffffffffu};
				uint64_t mask;

				rc = intel_lookup_ipv4(s, a4, nows[t], &m);
				/* The batch gives what single lookups give. */
				mask = intel_lookup_ipv4_batch(s, batch, 3, nows[t], mb);
				assert_int_equal(!!(mask & 2), rc == 0);
				if (rc == 0) {
					assert_int_equal(mb[1].prefix_len, m.prefix_len);
					assert_ptr_equal(mb[1].source, m.source);
				}
			} else
				rc = intel_lookup_ipv6(s, a, nows[t], &m);
			checked++;
			if (want == NULL) {
				assert_int_equal(rc, YG_ENOTFOUND);
				continue;
			}
			hits++;
			assert_int_equal(rc, 0);
			assert_int_equal(m.prefix_len, want->plen);
			assert_memory_equal(m.addr.a, want->a, bytes);
			snprintf(wname, sizeof(wname), "feed-%d", want->feed);
			assert_string_equal(m.source, wname);
		}
	}
	/* The check means something only if it both hit and missed a lot. */
	print_message("  %zu lookups, %zu hits\n", checked, hits);
	assert_true(hits > checked / 5);
	assert_true(hits < checked - checked / 20);
	intel_snapshot_release(s);
	feeds_free(feeds);
	free(ps);
}

static void test_random_lpm_v4(void **state)
{
	(void)state;
	random_lpm(4, 2000, 20000);
}

static void test_random_lpm_v6(void **state)
{
	(void)state;
	random_lpm(16, 2000, 20000);
}

static void random_name(char *out, size_t cap, unsigned maxlabels)
{
	static const char *const labels[] = {"a", "b", "c", "xy", "evil", "example"};
	unsigned n = 1 + (unsigned)(rnd() % maxlabels);
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "." : "",
					labels[rnd() % 6]);
}

static void test_random_domains(void **state)
{
	struct feed feeds[FEEDS];
	char (*names)[64] = calloc(1500, sizeof(*names));
	int *nfeed = calloc(1500, sizeof(*nfeed));
	struct intel_snapshot *s;
	size_t n = 0, hits = 0;
	const int64_t nows[] = {0, 2500, 6000};

	(void)state;
	assert_non_null(names);
	feeds_init(feeds);
	for (; n < 1200; n++) {
		random_name(names[n], sizeof(names[n]), 4);
		nfeed[n] = (int)(rnd() % FEEDS);
		feed_add(&feeds[nfeed[n]], names[n]);
	}
	s = feeds_load(feeds);
	for (int q = 0; q < 20000; q++) {
		char name[128];
		size_t len;

		random_name(name, sizeof(name), 6);
		len = strlen(name);
		for (size_t t = 0; t < sizeof(nows) / sizeof(nows[0]); t++) {
			int best = -1;
			struct intel_match m;
			int rc;

			/* Longest suffix first, then confidence, then feed. */
			for (size_t off = 0; off < len && best < 0; off++) {
				if (off > 0 && name[off - 1] != '.')
					continue;
				for (size_t i = 0; i < n; i++) {
					const struct feed *f = &feeds[nfeed[i]];

					if (strcmp(names[i], name + off) != 0 || f->until < nows[t])
						continue;
					if (best < 0 || f->conf > feeds[nfeed[best]].conf ||
					    (f->conf == feeds[nfeed[best]].conf &&
					     nfeed[i] > nfeed[best]))
						best = (int)i;
				}
			}
			rc = intel_lookup_domain(s, name, len, nows[t], &m);
			if (best < 0) {
				assert_int_equal(rc, YG_ENOTFOUND);
				continue;
			}
			hits++;
			assert_int_equal(rc, 0);
			assert_string_equal(m.value, names[best]);
			assert_int_equal(strtol(m.source + 5, NULL, 10), nfeed[best]);
		}
	}
	assert_true(hits > 10000);
	intel_snapshot_release(s);
	feeds_free(feeds);
	free(names);
	free(nfeed);
}

/* --- publishing --- */

#define GENERATIONS 1000
#define READERS     4 /* more than the cores, so that readers get preempted mid-acquire */

struct reader {
	struct intel_handle *h;
	atomic_int *done;
	long acquired, errors;
};

static struct intel_snapshot *generation(int g)
{
	char text[128], name[32];
	struct intel_builder *b = intel_builder_new(0);
	struct intel_report rep;
	int n;

	n = snprintf(text, sizeof(text), "10.0.0.0/8\n10.0.%d.%d\ngen.example\n", g / 256, g % 256);
	snprintf(name, sizeof(name), "gen-%d", g);
	intel_report_init(&rep);
	if (b == NULL || intel_load_buffer(b, name, text, (size_t)n, INTEL_FORMAT_LIST, NULL, &rep))
		abort();
	return finish(b);
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	int last = 0;

	/* At least one pass even if the publisher finished before this thread
	 * was first scheduled (a loaded 2-core machine does that). */
	while (!atomic_load(r->done) || r->acquired == 0) {
		struct intel_snapshot *s = intel_handle_acquire(r->h);
		struct intel_match a, d;
		int g;

		if (s == NULL) {
			r->errors++;
			continue;
		}
		r->acquired++;
		/* Everything read from one snapshot is of one generation, and
		 * generations never go backwards. */
		for (int i = 0; i < 16; i++) {
			if (intel_lookup_ipv4(s, 0x0a010203u + (uint32_t)i, NOW, &a) != 0 ||
			    intel_lookup_domain(s, "www.gen.example", 15, NOW, &d) != 0 ||
			    strcmp(a.source, d.source) != 0) {
				r->errors++;
				break;
			}
		}
		g = atoi(d.source + 4);
		if (g < last)
			r->errors++;
		last = g;
		if (intel_lookup_ipv4(s, 0x0a000000u | (uint32_t)g, NOW, &a) != 0 ||
		    a.prefix_len != 32)
			r->errors++;
		intel_snapshot_release(s);
	}
	return NULL;
}

static void test_publish_threads(void **state)
{
	struct intel_handle *h = intel_handle_new();
	atomic_int done;
	struct reader r[READERS];
	pthread_t t[READERS];

	(void)state;
	assert_non_null(h);
	assert_null(intel_handle_acquire(h));
	atomic_init(&done, 0);
	intel_handle_publish(h, generation(1));
	for (int i = 0; i < READERS; i++) {
		r[i] = (struct reader){h, &done, 0, 0};
		assert_int_equal(pthread_create(&t[i], NULL, reader_main, &r[i]), 0);
	}
	for (int g = 2; g <= GENERATIONS; g++)
		intel_handle_publish(h, generation(g));
	atomic_store(&done, 1);
	for (int i = 0; i < READERS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(r[i].errors, 0);
		print_message("  reader %d: %ld snapshots acquired\n", i, r[i].acquired);
		assert_true(r[i].acquired > 0);
	}
	/* A snapshot held across a publish stays readable. */
	{
		struct intel_snapshot *s = intel_handle_acquire(h);
		struct intel_match m;

		intel_handle_publish(h, generation(GENERATIONS + 1));
		assert_int_equal(intel_lookup_ipv4(s, 0x0a010203u, NOW, &m), 0);
		assert_string_equal(m.source, "gen-1000");
		intel_snapshot_release(s);
		s = intel_handle_acquire(h);
		assert_int_equal(intel_lookup_ipv4(s, 0x0a010203u, NOW, &m), 0);
		assert_string_equal(m.source, "gen-1001");
		intel_snapshot_release(s);
	}
	intel_handle_publish(h, NULL);
	assert_null(intel_handle_acquire(h));
	intel_handle_free(h);
}

/* --- allocation failures --- */

static void test_alloc_failures(void **state)
{
	static const char list[] = "192.0.2.0/24\n192.0.2.1\n2001:db8::/32\nevil.example\n"
				   "a.evil.example\nhttp://u.example/x\n";
	static const char stix[] =
		"{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"id\":\"indicator--1\","
		"\"pattern\":\"[ipv4-addr:value = '198.51.100.1' OR url:value = 'http://s.example/' "
		"OR ipv6-addr:value = '2001:db8::1']\",\"created_by_ref\":\"identity--x\"}]}";
	static const char misp[] =
		"{\"Event\":{\"info\":\"e\",\"Attribute\":[{\"type\":\"domain|ip\",\"uuid\":\"u\","
		"\"value\":\"m.example|203.0.113.1\"}]}}";
	int complete = 0, failed = 0;

	(void)state;
	long refused = 1, n;

	for (n = 0; refused > 0; n++) { /* every n, to the first not met */
		struct intel_builder *b;
		struct intel_snapshot *s = NULL;
		struct intel_report rep;
		struct intel_match m;
		int rc;

		intel_report_init(&rep);
		yg_alloc_fail_after(n);
		b = intel_builder_new(0);
		if (b == NULL) {
			failed++;
			continue;
		}
		rc = intel_load_buffer(b, "l", list, strlen(list), INTEL_FORMAT_AUTO, NULL, &rep);
		if (rc == 0)
			rc = intel_load_buffer(b, "s", stix, strlen(stix), INTEL_FORMAT_AUTO, NULL,
					       &rep);
		if (rc == 0)
			rc = intel_load_buffer(b, "m", misp, strlen(misp), INTEL_FORMAT_AUTO, NULL,
					       &rep);
		if (rc != 0) {
			assert_int_equal(rc, YG_ENOMEM);
			intel_builder_free(b);
			failed++;
			continue;
		}
		rc = intel_builder_finish(b, &s);
		yg_alloc_fail_after(-1);
		refused = yg_alloc_failures();
		if (rc != 0) {
			assert_int_equal(rc, YG_ENOMEM);
			assert_null(s);
			failed++;
			continue;
		}
		/* Whatever succeeded is complete. */
		assert_int_equal(rep.loaded, 11);
		assert_int_equal(intel_lookup_ipv4(s, 0xc0000201u, NOW, &m), 0);
		assert_int_equal(m.prefix_len, 32);
		assert_string_equal(lookd(s, "x.a.evil.example", NOW, NULL), "a.evil.example");
		assert_string_equal(lookd(s, "m.example", NOW, NULL), "m.example");
		assert_string_equal(look(s, "2001:db8::1", NOW, NULL), "2001:db8::1");
		intel_snapshot_release(s);
		complete++;
	}
	yg_alloc_fail_after(-1);
	print_message("  %ld allocations: %d runs failed cleanly, %d complete\n", n - 1, failed,
		      complete);
	assert_true(failed >= 15);
	assert_true(complete > 0);
}

static void test_limits(void **state)
{
	static const char stix[] =
		"{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"id\":\"indicator--9\","
		"\"pattern\":\"[ipv4-addr:value = '198.51.100.1']\"}]}";
	static const char list[] = "192.0.2.1\n192.0.2.2\nevil.example\n192.0.2.4\n2001:db8::1\n";
	struct intel_builder *b = intel_builder_new(3);
	struct intel_report rep;
	struct intel_snapshot *s;

	(void)state;
	intel_report_init(&rep);
	assert_int_equal(intel_load_buffer(b, "l.txt", list, strlen(list), INTEL_FORMAT_LIST, NULL,
					   &rep),
			 0);
	assert_int_equal(intel_load_buffer(b, "s.json", stix, strlen(stix), INTEL_FORMAT_AUTO, NULL,
					   &rep),
			 0);
	assert_int_equal(rep.loaded, 3);
	assert_int_equal(rep.rejected, 3);
	assert_int_equal(rep.by_reason[INTEL_REASON_LIMIT], 3);
	expect_message(&rep, "l.txt:4: entry limit reached, dropped '192.0.2.4'");
	expect_message(&rep, "s.json: objects[0]: entry limit reached");
	s = finish(b);
	assert_string_equal(lookd(s, "evil.example", NOW, NULL), "evil.example");
	assert_string_equal(look(s, "192.0.2.4", NOW, NULL), "-");
	intel_snapshot_release(s);
}

/* Enough distinct sources and names to make the builder's tables grow. */
static void test_growth(void **state)
{
	struct intel_builder *b = intel_builder_new(0);
	struct intel_snapshot *s;
	struct intel_match m;
	char *text = malloc(5000 * 32);
	size_t n = 0;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < 300; i++) {
		char name[32], line[32];

		snprintf(name, sizeof(name), "src-%d", i);
		snprintf(line, sizeof(line), "10.%d.%d.0/24\n", i / 256, i % 256);
		load_feed(b, name, line, 50, INTEL_NO_EXPIRY);
	}
	for (int i = 0; i < 5000; i++)
		n += (size_t)snprintf(text + n, 32, "d%d.example\n", i);
	load_feed(b, "domains", text, 50, INTEL_NO_EXPIRY);
	s = finish(b);
	for (int i = 0; i < 300; i++) {
		char want[32];

		snprintf(want, sizeof(want), "src-%d", i);
		assert_int_equal(intel_lookup_ipv4(s, 0x0a000001u | (uint32_t)i << 8, NOW, &m), 0);
		assert_string_equal(m.source, want);
	}
	for (int i = 0; i < 5000; i++) {
		char q[32], want[32];

		snprintf(q, sizeof(q), "www.D%d.example", i);
		snprintf(want, sizeof(want), "d%d.example", i);
		assert_string_equal(lookd(s, q, NOW, NULL), want);
	}
	assert_string_equal(lookd(s, "d5000.example", NOW, NULL), "-");
	intel_snapshot_release(s);
	free(text);
}

static void test_stats(void **state)
{
	struct intel_snapshot *s;
	struct intel_stats st;

	(void)state;
	s = from_list("10.0.0.0/8\n10.1.2.3\n2001:db8::/32\nevil.example\n", NULL);
	intel_snapshot_stats(s, &st);
	assert_int_equal(st.v4_entries, 2);
	assert_int_equal(st.v6_entries, 1);
	assert_int_equal(st.domain_entries, 1);
	assert_int_equal(st.indicators, 1); /* one record for the whole list */
	assert_int_equal(st.v4_index_bits, 8);
	assert_true(st.v4_bytes >= (4u << 8) + 2 * 12);
	assert_true(st.bytes > st.v4_bytes + st.v6_bytes + st.domain_bytes);
	intel_snapshot_release(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lpm_v4_nested),
		cmocka_unit_test(test_lpm_v6_nested),
		cmocka_unit_test(test_v4_mapped),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_stix_bundle),
		cmocka_unit_test(test_stix_patterns),
		cmocka_unit_test(test_misp_feed),
		cmocka_unit_test(test_json_shapes),
		cmocka_unit_test(test_plain_lists),
		cmocka_unit_test(test_list_rejects),
		cmocka_unit_test(test_report_cap),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_expiry_and_duplicates),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_random_lpm_v4),
		cmocka_unit_test(test_random_lpm_v6),
		cmocka_unit_test(test_random_domains),
		cmocka_unit_test(test_publish_threads),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
