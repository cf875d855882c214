/* Unit tests for src/stream, through the public API, against one real
 * nats-server with JetStream that the test starts itself (scripts/
 * nats-test.sh, in YAGURA_NATS_DIR or a directory of its own) and stops at
 * the end. Exit 77 (skipped) when nats-server is not installed.
 *
 * Each test works in a stream and subject prefix of its own, so that they
 * share the server and not their messages. */
/* cmocka.h needs these before it: a block of their own, kept first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stream/stream.h"

static char g_url[512];
static char g_dir[256];

/* Runs scripts/nats-test.sh ARGS; its stdout's first line into out (if
 * given). Returns the script's exit code. */
static int nats_test(const char *args, char *out, size_t n)
{
	char cmd[1024];
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "YAGURA_NATS_DIR='%s' '%s/scripts/nats-test.sh' %s", g_dir,
	         YG_SOURCE_DIR, args);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (out != NULL) {
		out[0] = '\0';
		if (fgets(out, (int)n, p) != NULL)
			out[strcspn(out, "\r\n")] = '\0';
	}
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void config_for(struct stream_config *cfg, const char *name, const char *prefix)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->urls = g_url;
	cfg->name = name;
	cfg->prefix = prefix;
	cfg->replicas = 1;
	cfg->max_age_s = 3600;
	cfg->max_bytes = 64 << 20;
	cfg->timeout_ms = 3000;
	cfg->ack_wait_ms = 30000;
}

static struct stream *open_or_fail(const char *name, const char *prefix)
{
	struct stream_config cfg;
	struct stream *s = NULL;
	char err[512];
	int rc;

	config_for(&cfg, name, prefix);
	rc = stream_open(&cfg, &s, err, sizeof(err));
	if (rc < 0)
		fail_msg("stream_open %s: %s", name, err);
	return s;
}

static void publish_or_fail(struct stream *s, const char *sector, const char *sensor,
                            const char *id)
{
	char json[128];
	int k = snprintf(json, sizeof(json), "{\"id\":\"%s\",\"sensor\":\"%s\"}", id, sensor);

	if (stream_publish_alert(s, sector, sensor, id, json, (size_t)k) < 0)
		fail_msg("publish %s: %s", id, stream_error(s));
}

/* What a fetch callback saw. */
struct seen {
	int n;
	char ids[256][64];
	uint64_t deliveries[256];
	struct stream_msg *handles[256];
	char subjects[256][128];
	char sensors[256][72];
};

static int collect(void *arg, const struct stream_delivery *d)
{
	struct seen *sn = arg;

	assert_true(sn->n < 256);
	snprintf(sn->ids[sn->n], sizeof(sn->ids[0]), "%s", d->alert_id);
	/* The message id is SENSOR.ALERT_ID, and the subject names both. */
	assert_true(strncmp(d->msg_id, d->sensor, strlen(d->sensor)) == 0);
	assert_true(d->sensor[0] != '\0' && d->sector[0] != '\0');
	snprintf(sn->subjects[sn->n], sizeof(sn->subjects[0]), "%s", d->subject);
	snprintf(sn->sensors[sn->n], sizeof(sn->sensors[0]), "%s/%s", d->sector, d->sensor);
	sn->deliveries[sn->n] = d->deliveries;
	sn->handles[sn->n] = d->handle;
	/* The payload is what was published: its id is in it. */
	assert_non_null(memmem(d->data, d->len, d->alert_id, strlen(d->alert_id)));
	sn->n++;
	return 0;
}

/* Fetches until a fetch comes back empty, acking each message. */
static int drain(struct stream_consumer *c, struct seen *sn, bool ack)
{
	int got, total = 0, from;

	do {
		from = sn->n;
		got = stream_fetch(c, 64, 500, collect, sn);
		assert_true(got >= 0);
		for (int i = from; ack && i < sn->n; i++)
			assert_int_equal(stream_ack(sn->handles[i]), 0);
		total += got;
	} while (got > 0);
	return total;
}

static void one_line(const char *err)
{
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
}

static void test_tokens(void **state)
{
	static const char *const good[] = {"electricity",
	                                   "sensor-01",
	                                   "a",
	                                   "tokyo_dc:3",
	                                   "x@example-jp",
	                                   "0123456789012345678901234567890123456789"
	                                   "012345678901234567890123"};
	static const char *const bad[] = {"",
	                                  "a.b",
	                                  "*",
	                                  ">",
	                                  "a*",
	                                  "b>",
	                                  "a b",
	                                  "tab\t",
	                                  "nl\n",
	                                  "caf\xc3\xa9",
	                                  "\x7f",
	                                  "01234567890123456789012345678901234567890123456789"
	                                  "012345678901234"};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(stream_token_check(good[i]), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (stream_token_check(bad[i]) != YG_EINVAL)
			fail_msg("token '%s' accepted", bad[i]);
	assert_int_equal(stream_token_check(NULL), YG_EINVAL);
}

static void test_bad_open(void **state)
{
	static const char *const urls[] = {"",
	                                   "http://127.0.0.1:4222",
	                                   "nats://127.0.0.1",
	                                   "nats://127.0.0.1:99999",
	                                   "127.0.0.1:42x",
	                                   "nats://127.0.0.1:4222,",
	                                   "nats://a b:4222"};
	struct stream_config cfg;
	struct stream *s = (struct stream *)&cfg;
	char err[512], down[64];
	int rc;

	(void)state;
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		config_for(&cfg, "BAD", "bad.alerts");
		cfg.urls = urls[i];
		err[0] = '\0';
		rc = stream_open(&cfg, &s, err, sizeof(err));
		/* "nats://127.0.0.1:4222," has one good URL: it may connect or not,
		 * but never to a stream named by a bad token. */
		if (rc == 0) {
			stream_close(s);
			continue;
		}
		assert_null(s);
		one_line(err);
		if (i != 5)
			assert_int_equal(rc, YG_EINVAL);
		printf("# url '%s': %s\n", urls[i], err);
	}

	config_for(&cfg, "BAD.NAME", "bad.alerts");
	assert_int_equal(stream_open(&cfg, &s, err, sizeof(err)), YG_EINVAL);
	one_line(err);
	config_for(&cfg, "BAD", "bad..alerts");
	assert_int_equal(stream_open(&cfg, &s, err, sizeof(err)), YG_EINVAL);
	config_for(&cfg, "BAD", "bad.*");
	assert_int_equal(stream_open(&cfg, &s, err, sizeof(err)), YG_EINVAL);
	config_for(&cfg, "BAD", "bad.alerts");
	cfg.replicas = 7;
	assert_int_equal(stream_open(&cfg, &s, err, sizeof(err)), YG_EINVAL);
	one_line(err);

	/* Nothing listens on a port a socket just gave back. */
	config_for(&cfg, "DOWN", "down.alerts");
	snprintf(down, sizeof(down), "nats://127.0.0.1:1");
	cfg.urls = down;
	cfg.timeout_ms = 500;
	rc = stream_open(&cfg, &s, err, sizeof(err));
	assert_int_equal(rc, YG_EIO);
	assert_null(s);
	one_line(err);
	assert_non_null(strstr(err, "cannot connect"));
	printf("# server down: %s\n", err);
}

static void test_publish_dedup(void **state)
{
	struct stream *s = open_or_fail("T_DEDUP", "t1.alerts");
	struct stream_stats st;
	char id[32];
	uint64_t msgs;

	(void)state;
	for (int i = 0; i < 50; i++) {
		snprintf(id, sizeof(id), "alert-%d", i);
		publish_or_fail(s, i % 2 ? "electricity" : "gas", "sensor-1", id);
	}
	/* The same alert again, as a publisher would after a lost ack (even
	 * on another sector's subject): JetStream keeps the first one. */
	publish_or_fail(s, "electricity", "sensor-1", "alert-7");
	publish_or_fail(s, "gas", "sensor-1", "alert-7");
	stream_stats_get(s, &st);
	assert_int_equal(st.published, 50);
	assert_int_equal(st.duplicates, 2);
	assert_int_equal(stream_count(s, &msgs), 0);
	assert_int_equal(msgs, 50);
	/* Another sensor's alert with an equal id is its own alert: kept. */
	publish_or_fail(s, "gas", "sensor-2", "alert-7");
	stream_stats_get(s, &st);
	assert_int_equal(st.published, 51);
	assert_int_equal(stream_count(s, &msgs), 0);
	assert_int_equal(msgs, 51);

	/* Open again with the same configuration: the stream is there, as it was. */
	stream_close(s);
	s = open_or_fail("T_DEDUP", "t1.alerts");
	assert_int_equal(stream_count(s, &msgs), 0);
	assert_int_equal(msgs, 51);
	stream_close(s);
}

static void test_bad_publish(void **state)
{
	static const char *const bad[] = {"a.b", "*", ">", "x y", "", "a\n"};
	struct stream *s = open_or_fail("T_BAD", "t2.alerts");
	char big_id[STREAM_ID_MAX + 2];
	uint64_t msgs;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(stream_publish_alert(s, bad[i], "sensor", "id-1", "{}", 2),
		                 YG_EINVAL);
		one_line(stream_error(s));
		assert_int_equal(stream_publish_alert(s, "gas", bad[i], "id-1", "{}", 2),
		                 YG_EINVAL);
		one_line(stream_error(s));
	}
	/* A sensor named "a.b" must not land in sensor "a"'s subject "b". */
	assert_int_equal(stream_publish_alert(s, "gas", NULL, "id-1", "{}", 2), YG_EINVAL);
	assert_int_equal(stream_publish_alert(s, "gas", "s", "", "{}", 2), YG_EINVAL);
	assert_int_equal(stream_publish_alert(s, "gas", "s", "has space", "{}", 2), YG_EINVAL);
	memset(big_id, 'x', sizeof(big_id) - 1);
	big_id[sizeof(big_id) - 1] = '\0';
	assert_int_equal(stream_publish_alert(s, "gas", "s", big_id, "{}", 2), YG_EINVAL);
	one_line(stream_error(s));
	printf("# bad token: %s\n", stream_error(s));
	assert_int_equal(stream_count(s, &msgs), 0);
	assert_int_equal(msgs, 0);
	stream_close(s);
}

static void test_consume_resume(void **state)
{
	struct stream *s = open_or_fail("T_CONSUME", "t3.alerts");
	struct stream_consumer *c = NULL;
	struct seen *sn = calloc(1, sizeof(*sn));
	char id[32];

	(void)state;
	assert_non_null(sn);
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "c-%d", i);
		publish_or_fail(s, "water", i < 60 ? "s1" : "s2", id);
	}
	publish_or_fail(s, "water", "s1", "c-3"); /* dropped by JetStream */

	/* Ack only part of the first batch, then go away, as a crashed tower. */
	assert_int_equal(stream_consumer_open(s, "tower", NULL, &c), 0);
	assert_int_equal(stream_fetch(c, 30, 2000, collect, sn), 30);
	for (int i = 0; i < 30; i++) {
		char want[32];

		snprintf(want, sizeof(want), "c-%d", i);
		assert_string_equal(sn->ids[i], want);
		assert_int_equal(sn->deliveries[i], 1);
		if (i < 20)
			assert_int_equal(stream_ack(sn->handles[i]), 0);
	}
	assert_int_equal(stream_ack(sn->handles[0]), YG_EINVAL); /* used */
	stream_consumer_close(c);
	stream_close(s);

	/* A successor (new connection, same durable) gets the rest, and the ten
	 * unacknowledged ones again once their ack wait is over: a short wait
	 * here would make the test slow to set up, so nak stands in for it in
	 * test_nak, and here they come after c-99 or before; all are counted. */
	s = open_or_fail("T_CONSUME", "t3.alerts");
	memset(sn, 0, sizeof(*sn));
	assert_int_equal(stream_consumer_open(s, "tower", NULL, &c), 0);
	drain(c, sn, true);
	assert_int_equal(sn->n, 70);
	assert_string_equal(sn->ids[0], "c-30");
	assert_string_equal(sn->ids[69], "c-99");
	stream_consumer_close(c);

	/* And a third after everything was acknowledged: nothing but the ten
	 * left unacknowledged by the first, once they are due (30 s ack wait:
	 * not waited for; the consumer's position is what is checked). */
	memset(sn, 0, sizeof(*sn));
	assert_int_equal(stream_consumer_open(s, "tower", NULL, &c), 0);
	assert_int_equal(stream_fetch(c, 64, 500, collect, sn), 0);
	stream_consumer_close(c);

	/* A consumer filtered on one sensor takes its share only. */
	memset(sn, 0, sizeof(*sn));
	assert_int_equal(stream_consumer_open(s, "partner", "t3.alerts.water.s2", &c), 0);
	drain(c, sn, true);
	assert_int_equal(sn->n, 40);
	for (int i = 0; i < sn->n; i++)
		assert_string_equal(sn->subjects[i], "t3.alerts.water.s2");
	for (int i = 0; i < sn->n; i++)
		assert_string_equal(sn->sensors[i], "water/s2");
	stream_consumer_close(c);

	/* Filters outside the prefix, or not subjects, are refused. */
	assert_int_equal(stream_consumer_open(s, "other", "t4.alerts.>", &c), YG_EINVAL);
	one_line(stream_error(s));
	assert_int_equal(stream_consumer_open(s, "other", "t3.alerts..x", &c), YG_EINVAL);
	assert_int_equal(stream_consumer_open(s, "other", "t3.alerts.>.x", &c), YG_EINVAL);
	assert_int_equal(stream_consumer_open(s, "bad.durable", NULL, &c), YG_EINVAL);
	assert_null(c);
	stream_close(s);
	free(sn);
}

static void test_nak(void **state)
{
	struct stream *s = open_or_fail("T_NAK", "t5.alerts");
	struct stream_consumer *c = NULL;
	struct seen *sn = calloc(1, sizeof(*sn));
	struct stream_stats st;

	(void)state;
	assert_non_null(sn);
	publish_or_fail(s, "gas", "s1", "n-1");
	publish_or_fail(s, "gas", "s1", "n-2");
	assert_int_equal(stream_consumer_open(s, "tower", NULL, &c), 0);
	assert_int_equal(stream_fetch(c, 10, 2000, collect, sn), 2);
	assert_int_equal(stream_ack(sn->handles[0]), 0);
	assert_int_equal(stream_nak(sn->handles[1]), 0); /* the commit failed */
	assert_int_equal(stream_nak(sn->handles[1]), YG_EINVAL);

	memset(sn, 0, sizeof(*sn));
	assert_int_equal(stream_fetch(c, 10, 2000, collect, sn), 1);
	assert_string_equal(sn->ids[0], "n-2");
	assert_int_equal(sn->deliveries[0], 2);
	assert_int_equal(stream_ack(sn->handles[0]), 0);
	memset(sn, 0, sizeof(*sn));
	assert_int_equal(stream_fetch(c, 10, 300, collect, sn), 0);
	stream_stats_get(s, &st);
	assert_int_equal(st.fetched, 3);
	assert_int_equal(st.acked, 2);
	assert_int_equal(st.naked, 1);

	/* Bad fetch arguments. */
	assert_int_equal(stream_fetch(c, 0, 100, collect, sn), YG_EINVAL);
	assert_int_equal(stream_fetch(c, 5000, 100, collect, sn), YG_EINVAL);
	one_line(stream_error(s));
	stream_consumer_close(c);
	stream_close(s);
	free(sn);
}

/* What a fetch callback counted: each of LATE_N ids once. */
#define LATE_N 40
struct tally {
	int n, dup, nh;
	unsigned char got[LATE_N];
	struct stream_msg *h[256];
};

static int count_late(void *arg, const struct stream_delivery *d)
{
	struct tally *t = arg;
	int i = atoi(d->alert_id + 2);

	assert_true(strncmp(d->alert_id, "l-", 2) == 0 && i >= 0 && i < LATE_N);
	assert_true(t->nh < 256);
	t->dup += t->got[i]++ > 0;
	t->h[t->nh++] = d->handle;
	t->n++;
	return 0;
}

static void ack_tally(struct tally *t)
{
	for (int i = 0; i < t->nh; i++)
		assert_int_equal(stream_ack(t->h[i]), 0);
	t->nh = 0;
}

/* A second connection's publisher, after a pause. */
struct late_pub {
	struct stream *s;
	int from, to, delay_ms, failed;
};

static void *late_publish(void *arg)
{
	struct late_pub *p = arg;
	char id[32], json[64];

	usleep((useconds_t)p->delay_ms * 1000);
	for (int i = p->from; i < p->to; i++) {
		snprintf(id, sizeof(id), "l-%d", i);
		int k = snprintf(json, sizeof(json), "{\"id\":\"%s\"}", id);
		p->failed += stream_publish_alert(p->s, "air", "s1", id, json, (size_t)k) < 0;
	}
	return NULL;
}

static pid_t nats_pid(void)
{
	char path[300];
	FILE *f;
	long pid = 0;

	snprintf(path, sizeof(path), "%s/n1/pid", g_dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* Fetches that gave up while the server was slow leave pull requests
 * behind it, which go on answering to the subscription: the next fetch
 * finds messages waiting and more arriving. libnats before 3.10 then asks
 * the server for its batch less what waits and stops only when it holds
 * exactly that many; with half a batch or more waiting it never does, and
 * it writes past the end of its array as the old requests answer (js.c
 * _fetch; a tower aborted with "double free or corruption" under load).
 * A fetch must never hand back more than it asked for, and every message
 * must come out once. The server is made slow with SIGSTOP. */
static void test_late_answers(void **state)
{
	struct stream *s = open_or_fail("T_LATE", "t8.alerts");
	struct stream *s2 = open_or_fail("T_LATE", "t8.alerts");
	struct stream_consumer *c = NULL;
	struct tally *t = calloc(1, sizeof(*t));
	struct late_pub p = {.s = s2, .from = 3, .to = LATE_N, .delay_ms = 150};
	pthread_t th;
	char id[32];
	pid_t pid = nats_pid();
	int got, fetches = 0;

	(void)state;
	assert_non_null(t);
	assert_true(pid > 0);
	assert_int_equal(stream_consumer_open(s, "tower", NULL, &c), 0);
	/* Five fetches of one, each given up while the server is stopped:
	 * five pull requests wait in its socket, each to live 290 ms from
	 * when the server reads it. */
	assert_int_equal(kill(pid, SIGSTOP), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(stream_fetch(c, 1, 300, count_late, t), 0);
	assert_int_equal(kill(pid, SIGCONT), 0);
	/* Three messages answer three of them: they wait in the subscription. */
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "l-%d", i);
		publish_or_fail(s, "air", "s1", id);
	}
	usleep(50 * 1000);
	/* The rest come while the next fetch runs, and the two requests still
	 * alive answer too. */
	assert_int_equal(pthread_create(&th, NULL, late_publish, &p), 0);
	got = stream_fetch(c, 4, 1000, count_late, t);
	printf("# late answers: a fetch of 4 with 3 waiting got %d\n", got);
	assert_true(got >= 1 && got <= 4);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(p.failed, 0);
	do {
		ack_tally(t);
		got = stream_fetch(c, 64, 500, count_late, t);
		assert_true(got >= 0 && got <= 64);
		fetches++;
	} while (got > 0 && fetches < 1000);
	ack_tally(t);
	printf("# late answers: %d messages, %d twice\n", t->n, t->dup);
	assert_int_equal(t->dup, 0);
	assert_int_equal(t->n, LATE_N);
	stream_consumer_close(c);
	stream_close(s2);
	stream_close(s);
	free(t);
}

/* Last: the server goes away under an open stream; publishing says so
 * within the timeout, in one line, so that the caller keeps the alert; a
 * fetch fails at once rather than waiting for nothing (and having libnats
 * buffer its request for the server's return). */
static void test_server_gone(void **state)
{
	struct stream_config cfg;
	struct stream *s = NULL;
	struct stream_consumer *c = NULL;
	struct seen *sn = calloc(1, sizeof(*sn));
	char err[512];
	struct timespec t0, t1;
	double secs;
	int rc;

	(void)state;
	config_for(&cfg, "T_GONE", "t6.alerts");
	cfg.timeout_ms = 1000;
	assert_int_equal(stream_open(&cfg, &s, err, sizeof(err)), 0);
	publish_or_fail(s, "gas", "s1", "g-1");
	assert_int_equal(stream_consumer_open(s, "tower", NULL, &c), 0);
	assert_int_equal(nats_test("stop", NULL, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = stream_publish_alert(s, "gas", "s1", "g-2", "{}", 2);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(rc, YG_EIO);
	one_line(stream_error(s));
	printf("# server gone: %s (%.2f s)\n", stream_error(s), secs);
	assert_true(secs < 5);
	assert_int_equal(stream_fetch(c, 10, 500, collect, sn), YG_EIO);
	one_line(stream_error(s));
	printf("# fetch, server gone: %s\n", stream_error(s));
	stream_consumer_close(c);
	stream_close(s);
	free(sn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tokens),         cmocka_unit_test(test_bad_open),
	    cmocka_unit_test(test_publish_dedup),  cmocka_unit_test(test_bad_publish),
	    cmocka_unit_test(test_consume_resume), cmocka_unit_test(test_nak),
	    cmocka_unit_test(test_late_answers),
	    cmocka_unit_test(test_server_gone),
	};
	const char *d = getenv("YAGURA_NATS_DIR");
	int rc;

	if (d != NULL && d[0] != '\0')
		snprintf(g_dir, sizeof(g_dir), "%s", d);
	else
		snprintf(g_dir, sizeof(g_dir), "%s/yagura-nats-unit-%d",
		         getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp", (int)getpid());
	rc = nats_test("start", g_url, sizeof(g_url));
	if (rc == 77) {
		printf("skipped: nats-server is not installed (scripts/setup.sh installs it)\n");
		return 77;
	}
	if (rc != 0 || g_url[0] == '\0') {
		fprintf(stderr, "test_stream: scripts/nats-test.sh start failed (exit %d)\n", rc);
		nats_test("stop", NULL, 0);
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	nats_test("stop", NULL, 0);
	return rc;
}
