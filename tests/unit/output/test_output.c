/* Unit tests for src/output: Community ID against the spec's published
 * table, the exact shape of EVE records, and the poster's spool driven
 * through a fake sender (partial acknowledgements, none, a refusal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "output/community_id.h"
#include "output/eve.h"
#include "output/post.h"

struct cid_vector {
	uint8_t proto;
	const char *src, *dst;
	uint16_t sport, dport;
	const char *want_seed0, *want_seed1;
};

/* From community-id-spec baseline/README.md (default and seed=1 tables). */
static const struct cid_vector vectors[] = {
	{6, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM=",
	 "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
	{6, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM=",
	 "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
	{17, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=",
	 "1:OShq+iKDAMVouh/4bMxB9Sz4amw="},
	{132, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=",
	 "1:uitchpn5MMGAQKBJh7bIr/bAr7s="},
	{1, "1.2.3.4", "5.6.7.8", 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=",
	 "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="},
	{1, "5.6.7.8", "1.2.3.4", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=",
	 "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="},
	{1, "1.2.3.4", "5.6.7.8", 11, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=",
	 "1:1DD7cWGC/Yg91YGsQeni8du3pIA="},
	{58, "fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 128, 0,
	 "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="},
	{58, "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", "fe80:1:203:405:607:809:a0b:c0d", 129, 0,
	 "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="},
	{58, "fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 146, 0,
	 "1:fYC8+pz24E+EhANP1EZhpX0Dw10=", "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s="},
	{46, "1.2.3.4", "5.6.7.8", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=",
	 "1:/buhqeOmaRCopOZFy9HnoJd5XW8="},
	{46, "5.6.7.8", "1.2.3.4", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=",
	 "1:/buhqeOmaRCopOZFy9HnoJd5XW8="},
	{46, "fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 0, 0,
	 "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=", "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="},
};

static void test_community_id_vectors(void **state)
{
	char out[COMMUNITY_ID_LEN + 1];
	struct ip_addr s, d;

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct cid_vector *v = &vectors[i];
		uint16_t sp = v->sport, dp = v->dport;
		int one_way = 0;
		assert_int_equal(ipaddr_parse(v->src, &s), 0);
		assert_int_equal(ipaddr_parse(v->dst, &d), 0);
		if (v->proto == 1 || v->proto == 58)
			icmp_map_ports(v->proto, (uint8_t)v->sport, (uint8_t)v->dport, &sp, &dp,
				       &one_way);
		community_id_v1(&s, &d, sp, dp, v->proto, one_way, 0, out);
		assert_string_equal(out, v->want_seed0);
		community_id_v1(&s, &d, sp, dp, v->proto, one_way, 1, out);
		assert_string_equal(out, v->want_seed1);
	}
}

/* Renders records through a pipe and returns what was written. */
static char *render(void (*fn)(struct eve *, void *), void *arg)
{
	static char buf[8192];
	int fds[2];
	ssize_t n;
	struct eve *e;

	assert_int_equal(pipe(fds), 0);
	e = eve_new(fds[1]);
	assert_non_null(e);
	fn(e, arg);
	assert_int_equal(eve_free(e), 0);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	close(fds[0]);
	return buf;
}

static void sample_flow(struct flow *f)
{
	memset(f, 0, sizeof(*f));
	f->key.family = 4;
	memcpy(f->key.addr[0], "\x01\x02\x03\x04", 4);
	memcpy(f->key.addr[1], "\x05\x06\x07\x08", 4);
	f->key.port[0] = 1122;
	f->key.port[1] = 3344;
	f->key.proto = 6;
	f->client = 1; /* 5.6.7.8:3344 opened it */
	f->state = FLOW_STATE_CLOSED;
	f->flow_id = 12345;
	f->pkts[FLOW_TOSERVER] = 3;
	f->pkts[FLOW_TOCLIENT] = 2;
	f->bytes[FLOW_TOSERVER] = 180;
	f->bytes[FLOW_TOCLIENT] = 120;
	f->tcp_flags[FLOW_TOSERVER] = TCP_SYN | TCP_ACK | TCP_FIN;
	f->tcp_flags[FLOW_TOCLIENT] = TCP_SYN | TCP_ACK | TCP_RST;
	f->first_us = 1259098029534255ULL;
	f->last_us = 1259098031000000ULL;
	f->app_proto = APP_TLS;
}

static void write_flow(struct eve *e, void *arg)
{
	eve_flow(e, arg, FLOW_END_TIMEOUT);
}

static void test_eve_flow_record(void **state)
{
	struct flow f;

	(void)state;
	sample_flow(&f);
	assert_string_equal(
		render(write_flow, &f),
		"{\"timestamp\":\"2009-11-24T21:27:09.534255+0000\",\"flow_id\":12345,"
		"\"event_type\":\"flow\",\"src_ip\":\"5.6.7.8\",\"src_port\":3344,"
		"\"dest_ip\":\"1.2.3.4\",\"dest_port\":1122,\"proto\":\"TCP\",\"app_proto\":\"tls\","
		"\"community_id\":\"1:wCb3OG7yAFWelaUydu0D+125CLM=\",\"flow\":{\"pkts_toserver\":3,"
		"\"pkts_toclient\":2,\"bytes_toserver\":180,\"bytes_toclient\":120,"
		"\"start\":\"2009-11-24T21:27:09.534255+0000\","
		"\"end\":\"2009-11-24T21:27:11.000000+0000\",\"age\":2,\"state\":\"closed\","
		"\"reason\":\"timeout\",\"alerted\":false},\"tcp\":{\"tcp_flags\":\"17\","
		"\"tcp_flags_ts\":\"13\",\"tcp_flags_tc\":\"16\",\"syn\":true,\"fin\":true,"
		"\"rst\":true,\"ack\":true,\"state\":\"closed\"}}\n");
}

static void write_dns(struct eve *e, void *arg)
{
	struct flow f;
	struct packet pkt;
	struct dns_meta *m = arg;

	sample_flow(&f);
	memset(&pkt, 0, sizeof(pkt));
	ipaddr_parse("1.2.3.4", &pkt.src);
	ipaddr_parse("5.6.7.8", &pkt.dst);
	pkt.sport = 1122;
	pkt.dport = 3344;
	pkt.ts_us = 1000001;
	eve_dns(e, &f, &pkt, m);
}

static void test_eve_dns_record_escapes_hostile_names(void **state)
{
	struct dns_meta m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.txid = 7;
	m.is_response = 1;
	m.rcode = 3;
	m.qtype = 28;
	memcpy(m.qname, "a\"b\\.c\n", 7);
	m.qname_len = 7;
	ipaddr_parse("2001:db8::1", &m.addrs[0]);
	ipaddr_parse("192.0.2.1", &m.addrs[1]);
	m.n_addrs = 2;
	assert_string_equal(
		render(write_dns, &m),
		"{\"timestamp\":\"1970-01-01T00:00:01.000001+0000\",\"flow_id\":12345,"
		"\"event_type\":\"dns\",\"src_ip\":\"1.2.3.4\",\"src_port\":1122,"
		"\"dest_ip\":\"5.6.7.8\",\"dest_port\":3344,\"proto\":\"TCP\",\"dns\":{"
		"\"type\":\"answer\",\"id\":7,\"rrname\":\"a\\\"b\\\\.c\\n\",\"rrtype\":\"AAAA\","
		"\"rcode\":\"NXDOMAIN\",\"grouped\":{\"A\":[\"192.0.2.1\"],"
		"\"AAAA\":[\"2001:db8::1\"]}}}\n");
}

static void test_eve_write_error_is_reported(void **state)
{
	struct flow f;
	struct eve *e;
	int fds[2];

	(void)state;
	sample_flow(&f);
	assert_int_equal(pipe(fds), 0);
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	e = eve_new(fds[1]);
	eve_flow(e, &f, FLOW_END_SHUTDOWN);
	assert_int_equal(eve_flush(e), YG_EIO);
	assert_int_equal(eve_error(e), YG_EIO);
	assert_int_equal(eve_free(e), YG_EIO);
	close(fds[1]);
}

static void test_proto_names(void **state)
{
	char buf[4];

	(void)state;
	assert_string_equal(eve_proto_name(6, buf), "TCP");
	assert_string_equal(eve_proto_name(58, buf), "IPv6-ICMP");
	assert_string_equal(eve_proto_name(47, buf), "47");
	assert_string_equal(eve_proto_name(2, buf), "2");
	assert_string_equal(eve_proto_name(253, buf), "253");
}

/* A sender that fails its first `fail_first` calls, then acknowledges at
 * most `per_call` lines a call, recording what it acknowledged. */
struct fake_sender {
	int fail_first, per_call, reject, calls;
	char got[64][32];
	int ngot;
};

static int fake_send(void *ctx, const struct poster_line *lines, int n, char *why, size_t wl)
{
	struct fake_sender *f = ctx;
	int k;

	if (f->reject)
		return POSTER_REJECTED;
	if (f->calls++ < f->fail_first) {
		snprintf(why, wl, "fake: down");
		return 0;
	}
	k = n < f->per_call ? n : f->per_call;
	for (int i = 0; i < k && f->ngot < 64; i++)
		snprintf(f->got[f->ngot++], sizeof(f->got[0]), "%.*s", (int)lines[i].len, lines[i].p);
	if (k < n)
		snprintf(why, wl, "fake: took %d of %d", k, n);
	return k;
}

static char *spool_dir(void)
{
	static char d[] = "/tmp/yg-test-spool-XXXXXX";

	snprintf(d, sizeof(d), "/tmp/yg-test-spool-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void spool_rm(const char *d)
{
	DIR *dir = opendir(d);
	struct dirent *de;
	char path[512];

	while (dir != NULL && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", d, de->d_name);
		unlink(path);
	}
	if (dir != NULL)
		closedir(dir);
	rmdir(d);
}

static void add_lines(struct poster *p, int from, int n)
{
	char line[32];

	for (int i = from; i < from + n; i++) {
		int len = snprintf(line, sizeof(line), "{\"n\":%d}", i);
		assert_int_equal(poster_add(p, line, (size_t)len), 0);
	}
}

/* A line leaves the spool once, in order, only when acknowledged: a sender
 * that fails, then takes four lines a call, gets each line exactly once. */
static void test_poster_partial_acks(void **state)
{
	struct fake_sender f = {.fail_first = 2, .per_call = 4};
	struct poster_sender snd = {"fake", fake_send, &f};
	struct poster_stats st;
	struct poster *p;
	char err[256], want[32], *d = spool_dir();

	(void)state;
	assert_int_equal(poster_open(&snd, d, &p, err, sizeof(err)), 0);
	add_lines(p, 0, 10);
	poster_finish(p, 10, &st);
	assert_int_equal(f.ngot, 10);
	for (int i = 0; i < 10; i++) {
		snprintf(want, sizeof(want), "{\"n\":%d}", i);
		assert_string_equal(f.got[i], want);
	}
	assert_int_equal(st.spooled, 10);
	assert_int_equal(st.sent, 10);
	assert_int_equal(st.left, 0);
	assert_true(st.retries >= 2);
	spool_rm(d);
}

/* Nothing acknowledged: all stays spooled, and a later poster on the same
 * spool sends it, each line once. */
static void test_poster_keeps_unsent(void **state)
{
	struct fake_sender down = {.fail_first = 1000000, .per_call = 1};
	struct fake_sender up = {.per_call = 100};
	struct poster_sender snd = {"fake", fake_send, &down};
	struct poster_stats st;
	struct poster *p;
	char err[256], *d = spool_dir();

	(void)state;
	assert_int_equal(poster_open(&snd, d, &p, err, sizeof(err)), 0);
	add_lines(p, 0, 7);
	poster_finish(p, 0, &st);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.left, 7);
	assert_string_equal(st.why, "fake: down");
	snd.ctx = &up;
	assert_int_equal(poster_open(&snd, d, &p, err, sizeof(err)), 0);
	poster_finish(p, 10, &st);
	assert_int_equal(up.ngot, 7);
	assert_string_equal(up.got[6], "{\"n\":6}");
	assert_int_equal(st.left, 0);
	spool_rm(d);
}

/* A batch refused for good sets its segment aside instead of blocking. */
static void test_poster_rejected_set_aside(void **state)
{
	struct fake_sender f = {.reject = 1};
	struct poster_sender snd = {"fake", fake_send, &f};
	struct poster_stats st;
	struct poster *p;
	char err[256], *d = spool_dir();
	DIR *dir;
	struct dirent *de;
	int aside = 0;

	(void)state;
	assert_int_equal(poster_open(&snd, d, &p, err, sizeof(err)), 0);
	add_lines(p, 0, 3);
	poster_finish(p, 10, &st);
	assert_int_equal(st.left, 0);
	assert_non_null(dir = opendir(d));
	while ((de = readdir(dir)) != NULL)
		aside += strstr(de->d_name, ".jsonl.rejected") != NULL;
	closedir(dir);
	assert_int_equal(aside, 1);
	spool_rm(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_community_id_vectors),
		cmocka_unit_test(test_eve_flow_record),
		cmocka_unit_test(test_eve_dns_record_escapes_hostile_names),
		cmocka_unit_test(test_eve_write_error_is_reported),
		cmocka_unit_test(test_proto_names),
		cmocka_unit_test(test_poster_partial_acks),
		cmocka_unit_test(test_poster_keeps_unsent),
		cmocka_unit_test(test_poster_rejected_set_aside),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
