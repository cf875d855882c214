/* monitor_poll.c - the sensor side of issue 13: the tower says which
 * traffic an independent committee approved for this sensor, and the
 * sensor analyses that and nothing else.
 *
 * The poller keeps the last answer the tower gave (its text) and re-reads
 * it by the local clock at every tick, so that an authorization whose
 * "until" passes while the tower is unreachable stops being enforced on
 * time all the same. What is published changes only when the set in force
 * changes; every change is one line on stderr, whatever --quiet says. */
#include "sensor/monitor_poll.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/every.h"
#include "base/json.h"
#include "base/log.h"
#include "client/client.h"
#include "decode/scope.h"
#include "monitor/monitor.h"

#define ANSWER_MAX (4u << 20) /* the caps of scope.h fit well within */

struct monitor_poll {
	char url[1024];
	char token[256];
	unsigned interval_s;
	struct snap_handle *handle;
	char *last;	 /* the last answer accepted, NUL-terminated */
	size_t last_len;
	int failing;	 /* in a streak of failed fetches */
	/* The tower's clock less this machine's, from the last answer's "now":
	 * authorizations are timed by the tower's clock, so that a sensor
	 * whose clock is off neither drops one in force nor keeps one past
	 * its end when the tower cannot be reached. */
	int64_t offset_us;
	int skew_said;	 /* a large offset said, once */
	struct every *thread; /* the polls after the first; NULL before run */
};

/* One GET of the active list. Returns 0 with the answer in *body (the
 * caller frees), or -1 with why in why. */
static int fetch(struct monitor_poll *mp, char **body, size_t *len, char *why, size_t n)
{
	char msg[300];
	long st = client_call_raw(mp->url, mp->token, "GET", MONITOR_ACTIVE_PATH,
				  "application/json", NULL, 0, ANSWER_MAX, body, len);

	if (st == 200)
		return 0;
	if (st == 0)
		snprintf(why, n, "the tower could not be reached (%s)", client_last_error());
	else if (st < 0)
		snprintf(why, n, "the answer is larger than %u bytes", ANSWER_MAX);
	else if (st == 404)
		snprintf(why, n, "HTTP 404: it lists no monitoring authorizations (is it a tower, "
				 "and one that knows them?)");
	else if (st == 401 || st == 403) {
		client_refusal_text(*body, *len, msg, sizeof(msg));
		snprintf(why, n, "the tower refused the token (HTTP %ld: %s)", st, msg);
	} else {
		client_refusal_text(*body, *len, msg, sizeof(msg));
		snprintf(why, n, "HTTP %ld: %s", st, msg);
	}
	free(*body);
	*body = NULL;
	return -1;
}

/* Publishes s unless it equals what is published, then says so on stderr
 * (tests feed packets once they read the line). */
static void publish(struct monitor_poll *mp, struct decode_scope *s)
{
	struct decode_scope *cur = decode_scope_from_ref(snap_handle_acquire(mp->handle));
	char desc[1024];

	if (cur != NULL && decode_scope_equal(cur, s)) {
		decode_scope_release(cur);
		decode_scope_release(s);
		return;
	}
	decode_scope_release(cur);
	monitor_describe(s, desc, sizeof(desc));
	/* Said once it is in force: the next batch of packets sees it. */
	snap_handle_publish(mp->handle, decode_scope_ref(s));
	fprintf(stderr, "analyze: monitoring: %s\n", desc);
}

#define SKEW_SAY_US (60 * 1000000LL) /* an offset past a minute is said */

/* Takes the tower's "now" from its answer, fetched at local time local. */
static void clock_take(struct monitor_poll *mp, const char *body, size_t len, int64_t local)
{
	json_t *root = yg_json_loadb(body, len, 0, NULL);
	const char *now = json_string_value(json_object_get(root, "now"));
	int64_t tower;

	if (now != NULL && monitor_parse_time(now, &tower) == 0) {
		mp->offset_us = tower - local;
		if (llabs(mp->offset_us) > SKEW_SAY_US && !mp->skew_said) {
			fprintf(stderr,
				"analyze: monitoring: this machine's clock is %lld s %s the tower's; "
				"the authorizations are timed by the tower's\n",
				llabs(mp->offset_us) / 1000000, mp->offset_us > 0 ? "behind" : "ahead of");
			mp->skew_said = 1;
		} else if (llabs(mp->offset_us) <= SKEW_SAY_US) {
			mp->skew_said = 0;
		}
	}
	json_decref(root);
}

/* One poll. At start (first), a failure is final and returns -1. */
static int poll_once(struct monitor_poll *mp, int first)
{
	char why[600], err[300];
	char *body = NULL;
	size_t len = 0;
	struct decode_scope *s = NULL;
	int64_t local = yg_wall_us(), now;

	if (fetch(mp, &body, &len, why, sizeof(why)) == 0)
		clock_take(mp, body, len, local);
	now = local + mp->offset_us;
	if (body != NULL) {
		if (monitor_scope_from_json(body, len, now, &s, err, sizeof(err)) == 0) {
			free(mp->last);
			mp->last = body;
			mp->last_len = len;
			body = NULL;
		} else {
			snprintf(why, sizeof(why), "its answer is refused: %s", err);
		}
	}
	free(body);
	if (s != NULL) {
		if (mp->failing)
			fprintf(stderr, "analyze: monitoring: the tower at %s answers again\n",
				mp->url);
		mp->failing = 0;
		publish(mp, s);
		return 0;
	}
	if (first) {
		fprintf(stderr, "analyze: monitoring: cannot fetch the authorizations from %s: %s\n",
			mp->url, why);
		return -1;
	}
	if (!mp->failing)
		fprintf(stderr,
			"analyze: monitoring: cannot fetch the authorizations from %s: %s; keeping "
			"the last list, each until it expires\n",
			mp->url, why);
	mp->failing = 1;
	/* The kept answer parsed before; only the clock moved. */
	if (monitor_scope_from_json(mp->last, mp->last_len, now, &s, err, sizeof(err)) < 0 &&
	    (s = decode_scope_new()) == NULL)
		return -1; /* out of memory: what is published stays, to the next tick */
	publish(mp, s);
	return 0;
}

/* A poll of the thread; the time to the next. */
static double poller(void *arg)
{
	struct monitor_poll *mp = arg;

	client_set_timeout(mp->interval_s < 5 ? 5 : (long)mp->interval_s);
	poll_once(mp, 0);
	return mp->interval_s;
}

int monitor_poll_start(const char *url, const char *token, unsigned interval_s,
		       struct monitor_poll **out)
{
	struct monitor_poll *mp = yg_calloc(1, sizeof(*mp));

	*out = NULL;
	if (mp == NULL || (mp->handle = snap_handle_new()) == NULL) {
		log_warnx("analyze: monitoring: out of memory");
		free(mp);
		return -1;
	}
	snprintf(mp->url, sizeof(mp->url), "%s", url);
	snprintf(mp->token, sizeof(mp->token), "%s", token);
	mp->interval_s = interval_s;
	/* The first fetch waits no longer than a poll would. */
	client_set_timeout(interval_s < 5 ? 5 : (long)interval_s);
	if (poll_once(mp, 1) < 0) {
		client_set_timeout(60);
		monitor_poll_free(mp);
		return -1;
	}
	client_set_timeout(60);
	*out = mp;
	return 0;
}

struct snap_handle *monitor_poll_handle(struct monitor_poll *mp)
{
	return mp->handle;
}

int monitor_poll_run(struct monitor_poll *mp)
{
	return every_start(&mp->thread, mp->interval_s, poller, mp) < 0 ? -1 : 0;
}

void monitor_poll_free(struct monitor_poll *mp)
{
	if (mp == NULL)
		return;
	every_stop(mp->thread);
	snap_handle_free(mp->handle);
	free(mp->last);
	memset(mp->token, 0, sizeof(mp->token));
	free(mp);
}
