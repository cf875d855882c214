/* streamctl - src/stream from the command line, for the integration tests
 * (tests/integration/test_stream_cluster.py). Output is JSON lines.
 *
 *   streamctl publish --urls U --count N [--start K] [--sector S] [--sensor X]
 *                     [--id-prefix P] [--deadline-s T]
 *       publishes alerts P-K .. P-(K+N-1); each is retried (same id) until
 *       JetStream acknowledges it or the deadline passes. Prints
 *       {"progress":n} every 500, then {"published":..,"duplicates":..,
 *       "retries":..,"last_error":".."}.
 *       --format eve: each a valid EVE alert record for a tower (timestamp now,
 *       addresses, alert.signature_id), whose own "sensor" field says
 *       "not-SENSOR" (the tower must go by the subject); --raw TEXT: TEXT
 *       itself as each message's body (a poison message).
 *   streamctl consume --urls U --durable D [--filter F] [--idle-ms T] [--batch B]
 *       fetches and acks until a fetch stays empty for T ms; one line per
 *       message {"id":..,"sensor":..,"subject":..,"seq":..,"deliveries":..}, then
 *       {"consumed":n}. --data yes: each line also has "data", the message's
 *       body as it is (JSON records: a JSON value).
 *   streamctl info --urls U
 *       {"msgs":n}
 *
 * Common options: --name STREAM --prefix P --replicas R --timeout-ms T
 * --manage update|create|none (what stream_open does to the stream; update,
 * the default, rewrites its configuration on every run: a publisher run
 * often, as a sensor, takes create).
 * Exit codes: 0 done, 1 failure (one line on stderr), 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stream/stream.h"

struct opts {
	const char *cmd, *urls, *name, *prefix, *sector, *sensor, *id_prefix, *durable, *filter;
	const char *format, *raw, *data, *manage;
	long count, start, replicas, timeout_ms, idle_ms, batch, deadline_s;
};

static int usage(void)
{
	fprintf(stderr,
	        "usage: streamctl publish|consume|info --urls U [options], see streamctl.c\n");
	return 2;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints s as a JSON string (ids and subjects are printable ASCII). */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static int publish(struct stream *s, const struct opts *o)
{
	struct stream_stats st;
	double deadline = now_s() + (double)o->deadline_s;
	long retries = 0;
	char id[160], json[640], ts[40];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.000000+0000", &tm);

	for (long i = o->start; i < o->start + o->count; i++) {
		int k;

		snprintf(id, sizeof(id), "%s-%ld", o->id_prefix, i);
		if (o->raw != NULL)
			k = snprintf(json, sizeof(json), "%s", o->raw);
		else if (o->format != NULL && strcmp(o->format, "eve") == 0)
			k = snprintf(json, sizeof(json),
			             "{\"alert_id\":\"%s\",\"timestamp\":\"%s\",\"sensor\":"
			             "\"not-%s\",\"src_ip\":\"203.0.113.%ld\",\"src_port\":%ld,"
			             "\"dest_ip\":\"198.51.100.7\",\"dest_port\":443,\"proto\":\"TCP\","
			             "\"alert\":{\"signature_id\":9200001,\"signature\":\"stream "
			             "test\",\"severity\":2},\"n\":%ld}",
			             id, ts, o->sensor, 1 + i % 250, 1024 + i % 60000, i);
		else
			k = snprintf(json, sizeof(json),
			             "{\"alert_id\":\"%s\",\"sector\":\"%s\",\"sensor\":\"%s\",\"n\":%ld}",
			             id, o->sector, o->sensor, i);
		if (k < 0 || (size_t)k >= sizeof(json)) {
			fprintf(stderr, "streamctl: message too long\n");
			return 1;
		}
		for (;;) {
			int rc = stream_publish_alert(s, o->sector, o->sensor, id, json, (size_t)k);

			if (rc == 0)
				break;
			if (rc == YG_EINVAL || now_s() > deadline) {
				fprintf(stderr, "streamctl: alert %s: %s\n", id, stream_error(s));
				return 1;
			}
			retries++;
			struct timespec pause = {0, 50 * 1000 * 1000};
			nanosleep(&pause, NULL);
		}
		if ((i - o->start + 1) % 500 == 0) {
			printf("{\"progress\":%ld}\n", i - o->start + 1);
			fflush(stdout);
		}
	}
	stream_stats_get(s, &st);
	printf("{\"published\":%llu,\"duplicates\":%llu,\"retries\":%ld,\"last_error\":",
	       (unsigned long long)st.published, (unsigned long long)st.duplicates, retries);
	json_str(stream_error(s));
	printf("}\n");
	return 0;
}

struct consume_state {
	struct stream_msg *handles[1024];
	int n;
	int data; /* print each body */
};

static int on_msg(void *arg, const struct stream_delivery *d)
{
	struct consume_state *cs = arg;

	printf("{\"id\":");
	json_str(d->alert_id);
	printf(",\"sensor\":");
	json_str(d->sensor);
	printf(",\"subject\":");
	json_str(d->subject);
	printf(",\"seq\":%llu,\"deliveries\":%llu,\"len\":%zu", (unsigned long long)d->seq,
	       (unsigned long long)d->deliveries, d->len);
	if (cs->data)
		printf(",\"data\":%.*s", (int)d->len, (const char *)d->data);
	printf("}\n");
	cs->handles[cs->n++] = d->handle;
	return 0;
}

static int consume(struct stream *s, const struct opts *o)
{
	struct stream_consumer *c = NULL;
	struct consume_state cs;
	double idle_since = now_s();
	long total = 0;

	cs.data = o->data != NULL && strcmp(o->data, "yes") == 0;
	if (stream_consumer_open(s, o->durable, o->filter, &c) < 0) {
		fprintf(stderr, "streamctl: %s\n", stream_error(s));
		return 1;
	}
	while (now_s() - idle_since < (double)o->idle_ms / 1000) {
		int got;

		cs.n = 0;
		got = stream_fetch(c, (int)o->batch, 500, on_msg, &cs);
		if (got < 0) {
			/* A node going away mid-fetch: report, and try again. */
			fprintf(stderr, "streamctl: %s\n", stream_error(s));
			continue;
		}
		/* Here a tower would commit the batch to its store first. */
		for (int i = 0; i < cs.n; i++)
			if (stream_ack(cs.handles[i]) < 0)
				fprintf(stderr, "streamctl: %s\n", stream_error(s));
		if (got > 0)
			idle_since = now_s();
		total += got;
	}
	fflush(stdout);
	stream_consumer_close(c);
	printf("{\"consumed\":%ld}\n", total);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.name = "YAGURA_ALERTS",
	                 .prefix = "yagura.alerts",
	                 .sector = "electricity",
	                 .sensor = "sensor-1",
	                 .id_prefix = "alert",
	                 .durable = "tower",
	                 .count = 1000,
	                 .replicas = 1,
	                 .timeout_ms = 2000,
	                 .idle_ms = 3000,
	                 .batch = 256,
	                 .deadline_s = 120};
	struct stream_config cfg = {0};
	struct stream *s = NULL;
	char err[512];
	int rc;

	if (argc < 2)
		return usage();
	o.cmd = argv[1];
	for (int i = 2; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		long *num = NULL;

		if (v == NULL)
			return usage();
		if (strcmp(k, "--urls") == 0)
			o.urls = v;
		else if (strcmp(k, "--name") == 0)
			o.name = v;
		else if (strcmp(k, "--prefix") == 0)
			o.prefix = v;
		else if (strcmp(k, "--sector") == 0)
			o.sector = v;
		else if (strcmp(k, "--sensor") == 0)
			o.sensor = v;
		else if (strcmp(k, "--id-prefix") == 0)
			o.id_prefix = v;
		else if (strcmp(k, "--durable") == 0)
			o.durable = v;
		else if (strcmp(k, "--filter") == 0)
			o.filter = v;
		else if (strcmp(k, "--format") == 0)
			o.format = v;
		else if (strcmp(k, "--raw") == 0)
			o.raw = v;
		else if (strcmp(k, "--data") == 0)
			o.data = v;
		else if (strcmp(k, "--manage") == 0)
			o.manage = v;
		else if (strcmp(k, "--count") == 0)
			num = &o.count;
		else if (strcmp(k, "--start") == 0)
			num = &o.start;
		else if (strcmp(k, "--replicas") == 0)
			num = &o.replicas;
		else if (strcmp(k, "--timeout-ms") == 0)
			num = &o.timeout_ms;
		else if (strcmp(k, "--idle-ms") == 0)
			num = &o.idle_ms;
		else if (strcmp(k, "--batch") == 0)
			num = &o.batch;
		else if (strcmp(k, "--deadline-s") == 0)
			num = &o.deadline_s;
		else
			return usage();
		if (num != NULL) {
			*num = strtol(v, &end, 10);
			if (*v == '\0' || *end != '\0' || *num < 0)
				return usage();
		}
	}
	if (o.urls == NULL)
		return usage();
	cfg.urls = o.urls;
	cfg.name = o.name;
	cfg.prefix = o.prefix;
	cfg.replicas = (int)o.replicas;
	cfg.timeout_ms = (int)o.timeout_ms;
	cfg.max_age_s = 24 * 3600;
	cfg.duplicate_window_s = 600;
	cfg.client_name = "streamctl";
	if (o.manage == NULL || strcmp(o.manage, "update") == 0)
		cfg.manage = STREAM_MANAGE_UPDATE;
	else if (strcmp(o.manage, "create") == 0)
		cfg.manage = STREAM_MANAGE_CREATE;
	else if (strcmp(o.manage, "none") == 0)
		cfg.manage = STREAM_MANAGE_NONE;
	else
		return usage();
	if (stream_open(&cfg, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "streamctl: %s\n", err);
		return 1;
	}
	if (strcmp(o.cmd, "publish") == 0) {
		rc = publish(s, &o);
	} else if (strcmp(o.cmd, "consume") == 0) {
		rc = consume(s, &o);
	} else if (strcmp(o.cmd, "info") == 0) {
		uint64_t msgs;

		rc = stream_count(s, &msgs) < 0;
		if (rc)
			fprintf(stderr, "streamctl: %s\n", stream_error(s));
		else
			printf("{\"msgs\":%llu}\n", (unsigned long long)msgs);
	} else {
		rc = usage();
	}
	stream_close(s);
	return rc;
}
