/* Unit tests for src/counter: each renderer's exact output for a few cases,
 * hostile targets refused, expired cases left out, the files on disk, and
 * every allocation failing in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first. */
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/jbuf.h"
#include "counter/counter.h"

#define NOW  1700000000000000LL /* 2023-11-14T22:13:20Z */
#define HOUR 3600000000LL

static const struct cm_config cfg_nx = {.rpz_zone = "rpz.test"};
static const struct cm_config cfg_full = {
    .rpz_zone = "rpz.yagura.local",
    .sinkhole = "sinkhole.example.org",
    .nameserver = "ns.example.org",
    .rpz_ttl = 300,
    .nft_table = "cm",
    .bgp_local_as = 65001,
    .bgp_router_id = "192.0.2.1",
    .bgp_local_address = "192.0.2.1",
    .bgp_neighbor = "192.0.2.2",
    .bgp_neighbor_as = 65002,
    .rtbh_next_hop4 = "192.0.2.66",
    .office = "Example CERT <cert@example.org>",
};

static struct cm_case mk(int64_t id, enum cm_action a, const char *target, int64_t expires)
{
	struct cm_case c = {.id = id,
	                    .action = a,
	                    .target = target,
	                    .approved = NOW - HOUR,
	                    .expires = expires,
	                    .justification = "test"};
	return c;
}

/* Returns the buffer's bytes NUL-terminated (free it); finalizes b. */
static char *take(struct jbuf *b)
{
	char *s;

	assert_int_equal(b->err, 0);
	s = malloc(b->len + 1);
	assert_non_null(s);
	memcpy(s, b->buf, b->len);
	s[b->len] = '\0';
	jbuf_fini(b);
	return s;
}

static void test_target_parse(void **state)
{
	static const char *const good[] = {
	    "198.51.100.7",   "198.51.100.0/24",    "2001:db8::/48",          "2001:db8::7",
	    "bad.example",    "Mixed.Case.Example", "xn--80ak6aa92e.example", "_dmarc.bad.example",
	    "a-b.c0.example",
	};
	static const char *const bad[] = {
	    "",
	    "198.51.100.7/24",
	    "198.51.100.0/0",
	    "198.51.100.0/33",
	    "198.51.100.0/024",
	    "198.51.100.0/+24",
	    "198.051.100.7",
	    "2001:db8::1/48",
	    "2001:db8::/129",
	    "::ffff:198.51.100.7",
	    "bad.example.",
	    "*.bad.example",
	    "example",
	    "bad..example",
	    "-bad.example",
	    "bad-.example",
	    "bad.example;",
	    "bad.example\n@ IN NS evil.",
	    "bad.example }",
	    "\"bad\".example",
	    "bad example.org",
	    "1.2.3.4.5",
	    "bad.123",
	    "32.7.100.51.198.rpz-ip",
	    "ns.rpz-nsdname",
	    "198.51.100.7 ",
	    " 198.51.100.7",
	    "198.51.100.7/32;",
	    "a.b/24",
	};
	struct cm_target t;
	char pfx[CM_PREFIX_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(cm_target_parse(good[i], &t), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cm_target_parse(bad[i], &t) == 0)
			fail_msg("accepted hostile target \"%s\"", bad[i]);
	}
	assert_int_equal(cm_target_parse("Mixed.Case.Example", &t), 0);
	assert_string_equal(t.name, "mixed.case.example");
	assert_int_equal(cm_target_parse("2001:DB8:0:0::/64", &t), 0);
	cm_prefix_fmt(&t, 0, pfx);
	assert_string_equal(pfx, "2001:db8::/64");
	assert_int_equal(cm_target_parse("198.51.100.7", &t), 0);
	cm_prefix_fmt(&t, 1, pfx);
	assert_string_equal(pfx, "198.51.100.7/32");
}

static void test_case_check(void **state)
{
	static const uint16_t ports[] = {80, 0};
	static const char *const ev_bad[] = {"alert:1\nX-Injected: yes"};
	struct cm_case c;
	char err[256];

	(void)state;
	c = mk(1, CM_RTBH, "bad.example", NOW + HOUR);
	assert_int_equal(cm_case_check(&c, NULL, err, sizeof(err)), YG_EINVAL);
	assert_non_null(strstr(err, "case 1: rtbh needs an address"));
	c = mk(2, CM_FLOWSPEC, "198.51.100.0/24", NOW + HOUR);
	c.proto = "tcp; drop";
	assert_int_equal(cm_case_check(&c, NULL, err, sizeof(err)), YG_EINVAL);
	c.proto = "tcp";
	c.ports = ports;
	c.nports = 2; /* port 0 */
	assert_int_equal(cm_case_check(&c, NULL, err, sizeof(err)), YG_EINVAL);
	c.nports = 1;
	assert_int_equal(cm_case_check(&c, NULL, err, sizeof(err)), 0);
	c.proto = "icmp";
	assert_int_equal(cm_case_check(&c, NULL, err, sizeof(err)), YG_EINVAL);
	c = mk(3, CM_SINKHOLE, "bad.example", NOW + HOUR);
	c.proto = "udp";
	assert_int_equal(cm_case_check(&c, NULL, err, sizeof(err)), YG_EINVAL);
	c = mk(4, CM_NOTICE, "198.51.100.7", NOW + HOUR);
	c.contact = "abuse@hoster.example\nBcc: x@y.example";
	assert_int_equal(cm_case_check(&c, NULL, err, sizeof(err)), YG_EINVAL);
	c.contact = "abuse@hoster.example";
	assert_int_equal(cm_case_check(&c, NULL, err, sizeof(err)), 0);
	c.evidence = ev_bad;
	c.nevidence = 1;
	assert_int_equal(cm_case_check(&c, NULL, err, sizeof(err)), YG_EINVAL);
	c.nevidence = 0;
	c.justification = "bad \xff bytes";
	assert_int_equal(cm_case_check(&c, NULL, err, sizeof(err)), YG_EINVAL);
	c = mk(0, CM_BLOCKLIST, "198.51.100.7", NOW + HOUR);
	assert_int_equal(cm_case_check(&c, NULL, err, sizeof(err)), YG_EINVAL);
}

static void test_rpz_exact(void **state)
{
	struct cm_case c[] = {
	    mk(9, CM_SINKHOLE, "2001:db8:0:1::1", NOW + HOUR),
	    mk(3, CM_SINKHOLE, "Bad.Example", NOW + HOUR),
	    mk(4, CM_SINKHOLE, "198.51.100.7", NOW + HOUR),
	    mk(5, CM_SINKHOLE, "gone.example", NOW), /* expired at now */
	    mk(6, CM_SINKHOLE, "2001:db8::/48", NOW + HOUR),
	    mk(7, CM_SINKHOLE, "bad.example", NOW + 2 * HOUR), /* duplicate owner */
	    mk(8, CM_RTBH, "203.0.113.9", NOW + HOUR),         /* not for the zone */
	    mk(10, CM_SINKHOLE, "2001:db8:0:0:1::/80", NOW + HOUR),
	    mk(11, CM_SINKHOLE, "::/1", NOW + HOUR),
	};
	struct jbuf b;
	char *s;

	(void)state;
	assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
	assert_int_equal(cm_rpz(c, sizeof(c) / sizeof(c[0]), 2024010101, NOW, &cfg_nx, &b), 0);
	s = take(&b);
	assert_string_equal(
	    s, "; yagura countermeasures: response policy zone (RPZ), generated from\n"
	       "; the active sinkhole cases. Do not edit: it is replaced on every change.\n"
	       "$ORIGIN rpz.test.\n"
	       "$TTL 60\n"
	       "@\tIN\tSOA\tlocalhost. hostmaster.rpz.test. 2024010101 60 60 604800 60\n"
	       "@\tIN\tNS\tlocalhost.\n"
	       "; case 3\n"
	       "bad.example\tIN\tCNAME\t.\n"
	       "*.bad.example\tIN\tCNAME\t.\n"
	       "; case 4\n"
	       "32.7.100.51.198.rpz-ip\tIN\tCNAME\t.\n"
	       "; case 6\n"
	       "48.zz.db8.2001.rpz-ip\tIN\tCNAME\t.\n"
	       "; case 9\n"
	       "128.1.zz.1.0.db8.2001.rpz-ip\tIN\tCNAME\t.\n"
	       "; case 10\n"
	       "80.zz.1.0.0.db8.2001.rpz-ip\tIN\tCNAME\t.\n"
	       "; case 11\n"
	       "1.zz.rpz-ip\tIN\tCNAME\t.\n");
	free(s);

	/* A sinkhole name instead of NXDOMAIN; the serial as given. */
	assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
	assert_int_equal(cm_rpz(c + 2, 1, 7, NOW, &cfg_full, &b), 0);
	s = take(&b);
	assert_non_null(strstr(s, "$TTL 300\n@\tIN\tSOA\tns.example.org. "
	                          "hostmaster.rpz.yagura.local. 7 60 60 604800 60\n"));
	assert_non_null(strstr(s, "\n32.7.100.51.198.rpz-ip\tIN\tCNAME\tsinkhole.example.org.\n"));
	free(s);
}

static void test_nft_exact(void **state)
{
	struct cm_case c[] = {
	    mk(1, CM_BLOCKLIST, "198.51.100.0/24", NOW + HOUR),
	    mk(2, CM_BLOCKLIST, "198.51.100.9", NOW + 2 * HOUR),  /* outlives the /24 */
	    mk(3, CM_BLOCKLIST, "198.51.100.10", NOW + HOUR / 2), /* covered: left out */
	    mk(4, CM_BLOCKLIST, "2001:db8::/32", NOW + HOUR - 1), /* rounds up */
	    mk(5, CM_BLOCKLIST, "evil.example", NOW + HOUR),      /* no address */
	    mk(6, CM_BLOCKLIST, "203.0.113.1", NOW - 1),          /* expired */
	    mk(7, CM_SINKHOLE, "203.0.113.2", NOW + HOUR),        /* not a blocklist case */
	};
	struct jbuf b;
	char *s;

	(void)state;
	assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
	assert_int_equal(cm_nft(c, sizeof(c) / sizeof(c[0]), NOW, &cfg_full, &b), 0);
	s = take(&b);
	assert_string_equal(s,
	                    "#!/usr/sbin/nft -f\n"
	                    "# yagura countermeasures: nftables sets, generated from the active\n"
	                    "# blocklist cases. Do not edit: it is replaced on every change.\n"
	                    "# Loading it replaces the table atomically; each element times out\n"
	                    "# when its case expires.\n"
	                    "add table inet cm\n"
	                    "delete table inet cm\n"
	                    "table inet cm {\n"
	                    "\tset block4 {\n"
	                    "\t\ttype ipv4_addr\n"
	                    "\t\tflags interval, timeout\n"
	                    "\t\telements = {\n"
	                    "\t\t\t198.51.100.0/24 timeout 3600s comment \"case 1\"\n"
	                    "\t\t}\n"
	                    "\t}\n\n"
	                    "\tset block4_1 {\n"
	                    "\t\ttype ipv4_addr\n"
	                    "\t\tflags interval, timeout\n"
	                    "\t\telements = {\n"
	                    "\t\t\t198.51.100.9 timeout 7200s comment \"case 2\"\n"
	                    "\t\t}\n"
	                    "\t}\n\n"
	                    "\tset block6 {\n"
	                    "\t\ttype ipv6_addr\n"
	                    "\t\tflags interval, timeout\n"
	                    "\t\telements = {\n"
	                    "\t\t\t2001:db8::/32 timeout 3600s comment \"case 4\"\n"
	                    "\t\t}\n"
	                    "\t}\n\n"
	                    "\tchain input {\n"
	                    "\t\ttype filter hook input priority filter - 10; policy accept;\n"
	                    "\t\tip saddr @block4 drop\n"
	                    "\t\tip saddr @block4_1 drop\n"
	                    "\t\tip6 saddr @block6 drop\n"
	                    "\t}\n\n"
	                    "\tchain forward {\n"
	                    "\t\ttype filter hook forward priority filter - 10; policy accept;\n"
	                    "\t\tip saddr @block4 drop\n"
	                    "\t\tip saddr @block4_1 drop\n"
	                    "\t\tip6 saddr @block6 drop\n"
	                    "\t\tip daddr @block4 drop\n"
	                    "\t\tip daddr @block4_1 drop\n"
	                    "\t\tip6 daddr @block6 drop\n"
	                    "\t}\n\n"
	                    "\tchain output {\n"
	                    "\t\ttype filter hook output priority filter - 10; policy accept;\n"
	                    "\t\tip daddr @block4 drop\n"
	                    "\t\tip daddr @block4_1 drop\n"
	                    "\t\tip6 daddr @block6 drop\n"
	                    "\t}\n"
	                    "}\n");
	free(s);

	/* No case: empty sets (no elements line), still loadable. */
	assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
	assert_int_equal(cm_nft(NULL, 0, NOW, NULL, &b), 0);
	s = take(&b);
	assert_non_null(strstr(s, "table inet yagura {\n\tset block4 {\n\t\ttype ipv4_addr\n"
	                          "\t\tflags interval, timeout\n\t}\n"));
	assert_null(strstr(s, "elements"));
	free(s);
}

static void test_bird_exact(void **state)
{
	static const uint16_t ports[] = {80, 443};
	struct cm_case c[] = {
	    mk(4, CM_RTBH, "198.51.100.7", NOW + HOUR),
	    mk(5, CM_RTBH, "2001:db8:1::/48", NOW + HOUR),
	    mk(6, CM_FLOWSPEC, "203.0.113.0/24", NOW + HOUR),
	    mk(7, CM_FLOWSPEC, "2001:db8:2::/48", NOW + HOUR),
	    mk(8, CM_RTBH, "198.51.100.7", NOW + 2 * HOUR), /* duplicate route */
	    mk(9, CM_RTBH, "198.51.100.8", NOW),            /* expired */
	};
	struct jbuf b;
	char *s;

	(void)state;
	c[2].proto = "tcp";
	c[2].ports = ports;
	c[2].nports = 2;
	c[3].proto = "icmp";
	assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
	assert_int_equal(cm_bird(c, sizeof(c) / sizeof(c[0]), NOW, &cfg_nx, &b), YG_EINVAL);
	assert_int_equal(b.len, 0); /* no BGP configuration, nothing written */
	assert_int_equal(cm_bird(c, sizeof(c) / sizeof(c[0]), NOW, &cfg_full, &b), 0);
	s = take(&b);
	assert_string_equal(
	    s, "# yagura countermeasures: BIRD 2 configuration, generated from the\n"
	       "# active rtbh and flowspec cases. Do not edit: it is replaced on every\n"
	       "# change; apply it with \"birdc configure\".\n"
	       "router id 192.0.2.1;\n\n"
	       "protocol device {\n}\n\n"
	       "flow4 table yagura_flow4;\nflow6 table yagura_flow6;\n\n"
	       "protocol static yagura_rtbh4 {\n"
	       "\tipv4;\n"
	       "\troute 198.51.100.7/32 blackhole; # case 4\n"
	       "}\n\n"
	       "protocol static yagura_rtbh6 {\n"
	       "\tipv6;\n"
	       "\troute 2001:db8:1::/48 blackhole; # case 5\n"
	       "}\n\n"
	       "protocol static yagura_flowspec4 {\n"
	       "\tflow4 { table yagura_flow4; };\n"
	       "\troute flow4 { dst 203.0.113.0/24; proto = 6; dport = 80 || = 443; "
	       "}; # case 6\n"
	       "}\n\n"
	       "protocol static yagura_flowspec6 {\n"
	       "\tflow6 { table yagura_flow6; };\n"
	       "\troute flow6 { dst 2001:db8:2::/48; next header = 58; }; # case 7\n"
	       "}\n\n"
	       "protocol bgp yagura_peer {\n"
	       "\tlocal 192.0.2.1 as 65001;\n"
	       "\tneighbor 192.0.2.2 as 65002;\n"
	       "\tipv4 {\n"
	       "\t\timport none;\n"
	       "\t\texport filter {\n"
	       "\t\t\tif proto != \"yagura_rtbh4\" then reject;\n"
	       "\t\t\tbgp_community.add((65535, 666));\n"
	       "\t\t\tbgp_community.add((65535, 65281));\n"
	       "\t\t\taccept;\n"
	       "\t\t};\n"
	       "\t\tnext hop address 192.0.2.66;\n"
	       "\t};\n"
	       "\tipv6 {\n"
	       "\t\timport none;\n"
	       "\t\texport filter {\n"
	       "\t\t\tif proto != \"yagura_rtbh6\" then reject;\n"
	       "\t\t\tbgp_community.add((65535, 666));\n"
	       "\t\t\tbgp_community.add((65535, 65281));\n"
	       "\t\t\taccept;\n"
	       "\t\t};\n"
	       "\t};\n"
	       "\tflow4 {\n"
	       "\t\ttable yagura_flow4;\n"
	       "\t\timport none;\n"
	       "\t\texport filter {\n"
	       "\t\t\tif proto != \"yagura_flowspec4\" then reject;\n"
	       "\t\t\tbgp_ext_community.add((generic, 0x80060000, 0));\n"
	       "\t\t\taccept;\n"
	       "\t\t};\n"
	       "\t};\n"
	       "\tflow6 {\n"
	       "\t\ttable yagura_flow6;\n"
	       "\t\timport none;\n"
	       "\t\texport filter {\n"
	       "\t\t\tif proto != \"yagura_flowspec6\" then reject;\n"
	       "\t\t\tbgp_ext_community.add((generic, 0x80060000, 0));\n"
	       "\t\t\taccept;\n"
	       "\t\t};\n"
	       "\t};\n"
	       "}\n");
	free(s);
}

static void test_blocklist_exact(void **state)
{
	struct cm_case c[] = {
	    mk(3, CM_BLOCKLIST, "evil.example", NOW + HOUR),
	    mk(1, CM_BLOCKLIST, "2001:db8::/32", NOW + HOUR),
	    mk(2, CM_BLOCKLIST, "198.51.100.7", NOW + HOUR),
	    mk(4, CM_BLOCKLIST, "EVIL.example", NOW + HOUR), /* same name */
	    mk(5, CM_BLOCKLIST, "old.example", NOW - HOUR),  /* expired */
	    mk(6, CM_RTBH, "203.0.113.7", NOW + HOUR),
	};
	struct jbuf b;
	char *s;

	(void)state;
	assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
	assert_int_equal(cm_blocklist(c, sizeof(c) / sizeof(c[0]), NOW, &b), 0);
	s = take(&b);
	assert_string_equal(s, "# yagura countermeasures: blocklist, generated from the active\n"
	                       "# blocklist cases. One address, prefix or domain name a line.\n"
	                       "2001:db8::/32\n"
	                       "198.51.100.7\n"
	                       "evil.example\n");
	free(s);
}

/* One hostile case anywhere in the set: every renderer refuses the set
 * and leaves the buffer as it was. */
static void test_hostile_set_refused(void **state)
{
	static const char *const hostile[] = {
	    "bad.example\n*\tIN\tCNAME\t.",
	    "bad.example; evil",
	    "198.51.100.0/24 }",
	    "\"evil\".example",
	    "evil.example{",
	    "2001:db8::1/48",
	};
	struct jbuf b;

	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct cm_case c[] = {
		    mk(1, CM_BLOCKLIST, "198.51.100.7", NOW + HOUR),
		    mk(2, CM_SINKHOLE, hostile[i], NOW + HOUR),
		};
		assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
		jbuf_lit(&b, "kept");
		assert_int_equal(cm_rpz(c, 2, 1, NOW, &cfg_full, &b), YG_EINVAL);
		assert_int_equal(cm_nft(c, 2, NOW, &cfg_full, &b), YG_EINVAL);
		assert_int_equal(cm_bird(c, 2, NOW, &cfg_full, &b), YG_EINVAL);
		assert_int_equal(cm_blocklist(c, 2, NOW, &b), YG_EINVAL);
		assert_int_equal(b.len, 4);
		jbuf_fini(&b);
	}
	/* Two cases with one id are refused too. */
	struct cm_case dup[] = {mk(1, CM_BLOCKLIST, "198.51.100.7", NOW + HOUR),
	                        mk(1, CM_BLOCKLIST, "198.51.100.8", NOW + HOUR)};
	assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
	assert_int_equal(cm_blocklist(dup, 2, NOW, &b), YG_EINVAL);
	jbuf_fini(&b);
	/* So is a configuration that would inject into the zone. */
	struct cm_config bad = {.sinkhole = "sink.example.\n@ IN NS evil.example."};
	assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
	assert_int_equal(cm_rpz(dup, 1, 1, NOW, &bad, &b), YG_EINVAL);
	jbuf_fini(&b);
}

static void test_notice(void **state)
{
	static const char *const ev[] = {"alert:123", "source:198.51.100.7", "report:4"};
	struct cm_case c = mk(12, CM_NOTICE, "198.51.100.7", NOW + HOUR);
	struct jbuf b;
	char *s;

	(void)state;
	c.contact = "abuse@hoster.example";
	c.evidence = ev;
	c.nevidence = 3;
	c.justification = "C2 server of botnet X\nTo: someone@else.example";
	assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
	assert_int_equal(cm_notice_text(&c, &cfg_full, &b), 0);
	s = take(&b);
	static const char head[] =
	    "To: abuse@hoster.example\nFrom: Example CERT <cert@example.org>\n"
	    "Subject: [case 12] Abuse notice for 198.51.100.7\n";
	assert_memory_equal(s, head, sizeof(head) - 1);
	assert_non_null(strstr(s, "  Approved:    2023-11-14T21:13:20Z\n"
	                          "  Valid until: 2023-11-14T23:13:20Z\n"));
	/* The justification cannot pass for a header: it is indented. */
	assert_non_null(strstr(s, "\n  C2 server of botnet X\n  To: someone@else.example\n"));
	assert_non_null(strstr(s, "  - alert:123\n  - source:198.51.100.7\n  - report:4\n"));
	free(s);

	assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
	assert_int_equal(cm_notice_json(&c, &cfg_full, &b), 0);
	s = take(&b);
	assert_non_null(strstr(s, "\"Case\": 12,\n"));
	assert_non_null(strstr(s, "\"Evidence\": [\n    \"alert:123\",\n    "
	                          "\"source:198.51.100.7\",\n    \"report:4\"\n  ],\n"));
	assert_non_null(strstr(s, "\"Justification\": \"C2 server of botnet X\\nTo: "
	                          "someone@else.example\",\n"));
	assert_non_null(strstr(s, "\"Source\": \"198.51.100.7\",\n  \"Source-Type\": \"ipv4\",\n"));
	free(s);

	c.action = CM_SINKHOLE; /* only notice cases make notices */
	c.contact = NULL;
	c.nevidence = 0;
	assert_int_equal(jbuf_init(&b, 64, 1 << 20), 0);
	assert_int_equal(cm_notice_text(&c, &cfg_full, &b), YG_EINVAL);
	assert_int_equal(cm_notice_json(&c, &cfg_full, &b), YG_EINVAL);
	jbuf_fini(&b);
}

static char *slurp(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	long n;
	char *s;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_write_dir(void **state)
{
	char dir[] = "/tmp/yg-counter-XXXXXX", sub[600], err[256];
	struct cm_case c[] = {
	    mk(1, CM_SINKHOLE, "bad.example", NOW + HOUR),
	    mk(2, CM_NOTICE, "198.51.100.7", NOW + HOUR),
	    mk(3, CM_NOTICE, "evil.example", NOW + HOUR),
	};
	struct stat st1, st2;
	char *s;

	(void)state;
	c[1].contact = "abuse@hoster.example";
	c[2].contact = "abuse@registrar.example";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(cm_write_dir(dir, c, 3, 1, NOW, &cfg_full, err, sizeof(err)), 0);
	s = slurp(dir, "rpz.zone");
	assert_non_null(s);
	assert_non_null(strstr(s, "\nbad.example\tIN\tCNAME\tsinkhole.example.org.\n"));
	free(s);
	s = slurp(dir, "notices/3.json");
	assert_non_null(s);
	assert_non_null(strstr(s, "\"Source-Type\": \"domain\""));
	free(s);
	assert_int_equal(count_entries(dir), 5); /* 4 files and notices/ */
	snprintf(sub, sizeof(sub), "%s/notices", dir);
	assert_int_equal(count_entries(sub), 4);

	/* Unchanged content is not rewritten; a notice whose case is gone
	 * (here: expired) is removed. */
	snprintf(sub, sizeof(sub), "%s/blocklist.txt", dir);
	assert_int_equal(stat(sub, &st1), 0);
	assert_int_equal(cm_write_dir(dir, c, 3, 2, NOW + HOUR - 1, &cfg_full, err, sizeof(err)),
	                 0);
	assert_int_equal(stat(sub, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	c[2].expires = NOW;
	assert_int_equal(cm_write_dir(dir, c, 3, 3, NOW, &cfg_full, err, sizeof(err)), 0);
	snprintf(sub, sizeof(sub), "%s/notices", dir);
	assert_int_equal(count_entries(sub), 2);

	/* A hostile case: refused with the case named, the files untouched. */
	c[0].target = "bad.example\n@ IN NS evil.example.";
	assert_int_equal(cm_write_dir(dir, c, 3, 4, NOW, &cfg_full, err, sizeof(err)), YG_EINVAL);
	assert_non_null(strstr(err, "case 1: target"));
	s = slurp(dir, "rpz.zone");
	assert_non_null(strstr(s, " 3 60 60 604800 60\n"));
	free(s);

	/* Without BGP settings there is no bird.conf. */
	c[0].target = "bad.example";
	snprintf(sub, sizeof(sub), "%s/bird.conf", dir);
	assert_int_equal(unlink(sub), 0);
	assert_int_equal(cm_write_dir(dir, c, 3, 5, NOW, &cfg_nx, err, sizeof(err)), 0);
	assert_int_not_equal(access(sub, F_OK), 0);

	assert_int_equal(cm_write_dir("/nonexistent/dir", c, 3, 6, NOW, &cfg_nx, err, sizeof(err)),
	                 YG_EIO);
	assert_non_null(strstr(err, "/nonexistent/dir"));

	snprintf(sub, sizeof(sub), "rm -rf '%s'", dir);
	assert_int_equal(system(sub), 0);
}

/* Every allocation failing in turn: each renderer fails cleanly, leaves
 * the buffer as it was, and leaks nothing (under ASan). */
static void test_alloc_failures(void **state)
{
	static const uint16_t ports[] = {53};
	struct cm_case c[] = {
	    mk(1, CM_SINKHOLE, "bad.example", NOW + HOUR),
	    mk(2, CM_BLOCKLIST, "198.51.100.0/24", NOW + HOUR),
	    mk(3, CM_BLOCKLIST, "198.51.100.7", NOW + 2 * HOUR),
	    mk(4, CM_RTBH, "198.51.100.7", NOW + HOUR),
	    mk(5, CM_FLOWSPEC, "2001:db8::/32", NOW + HOUR),
	};
	struct jbuf b;
	int done = 0;

	(void)state;
	c[4].proto = "udp";
	c[4].ports = ports;
	c[4].nports = 1;
	for (long i = 0; !done && i < 1000; i++) {
		int rc[4];
		assert_int_equal(jbuf_init(&b, 16, 1 << 20), 0);
		yg_alloc_fail_after(i);
		rc[0] = cm_rpz(c, 5, 1, NOW, &cfg_full, &b);
		rc[1] = cm_nft(c, 5, NOW, &cfg_full, &b);
		rc[2] = cm_bird(c, 5, NOW, &cfg_full, &b);
		rc[3] = cm_blocklist(c, 5, NOW, &b);
		yg_alloc_fail_after(-1);
		done = 1;
		for (int j = 0; j < 4; j++) {
			assert_true(rc[j] == 0 || rc[j] == YG_ENOMEM);
			done &= rc[j] == 0;
		}
		jbuf_fini(&b);
	}
	assert_true(done);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_target_parse),        cmocka_unit_test(test_case_check),
	    cmocka_unit_test(test_rpz_exact),           cmocka_unit_test(test_nft_exact),
	    cmocka_unit_test(test_bird_exact),          cmocka_unit_test(test_blocklist_exact),
	    cmocka_unit_test(test_hostile_set_refused), cmocka_unit_test(test_notice),
	    cmocka_unit_test(test_write_dir),           cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
