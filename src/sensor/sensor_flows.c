/* sensor_flows.c - flow records to JetStream, best effort (sensor_flows.h). */
#include "sensor/sensor_flows.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"

#define FLOWS_BUF_MAX (16u << 20) /* bytes of records waiting; more are dropped */
#define FLOWS_RETRY_S 2.0	  /* between connection attempts */

struct buf {
	char *p;
	size_t len, cap;
};

struct sensor_flows {
	struct stream_config cfg;
	char urls[1024], name[STREAM_TOKEN_MAX + 1], prefix[STREAM_SUBJECT_MAX];
	char sector[STREAM_TOKEN_MAX + 1], sensor[STREAM_TOKEN_MAX + 1];

	pthread_mutex_t mu; /* guards what follows, up to the thread's own */
	pthread_cond_t cv;   /* records to send, or stop */
	pthread_cond_t room; /* the thread took the buffer */
	bool block;	     /* a full buffer makes the tee wait (files), not drop */
	struct buf fill;    /* the tees append here */
	bool stop;
	uint64_t taken, dropped_full;

	pthread_t thread;
	bool joined;
	struct buf send;    /* the thread publishes from here */
	struct stream *s;   /* the thread's; NULL: not connected */
	double next_try;    /* yg_mono_s() of the next connection attempt */
	int warned;
	uint64_t dropped_down, sent, stored, failed; /* of connections closed, and the thread's */
};

static int buf_room(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 65536;
	while (cap < b->len + more)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (p == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

void sensor_flows_tee(void *ctx, const char *json, size_t len)
{
	struct sensor_flows *sf = ctx;

	pthread_mutex_lock(&sf->mu);
	sf->taken++;
	while (sf->block && !sf->stop && sf->fill.len > 0 && sf->fill.len + len + 1 > FLOWS_BUF_MAX)
		pthread_cond_wait(&sf->room, &sf->mu);
	if (sf->fill.len + len + 1 > FLOWS_BUF_MAX || buf_room(&sf->fill, len + 1) < 0) {
		sf->dropped_full++;
	} else {
		memcpy(sf->fill.p + sf->fill.len, json, len);
		sf->fill.p[sf->fill.len + len] = '\n';
		sf->fill.len += len + 1;
		if (sf->fill.len == len + 1)
			pthread_cond_signal(&sf->cv);
	}
	pthread_mutex_unlock(&sf->mu);
}

static void disconnect(struct sensor_flows *sf)
{
	struct stream_stats st;

	if (sf->s == NULL)
		return;
	if (stream_publish_async_wait(sf->s, 1000) < 0) {
		/* what was unanswered is counted as failed */
	}
	stream_stats_get(sf->s, &st);
	sf->sent += st.async_sent;
	sf->stored += st.async_stored;
	sf->failed += st.async_failed;
	stream_close(sf->s);
	sf->s = NULL;
}

static bool connected(struct sensor_flows *sf)
{
	char why[400];

	if (sf->s != NULL)
		return true;
	if (yg_mono_s() < sf->next_try)
		return false;
	if (stream_open(&sf->cfg, &sf->s, why, sizeof(why)) < 0) {
		sf->next_try = yg_mono_s() + FLOWS_RETRY_S;
		if (!sf->warned++)
			log_warnx("%s; flow records are dropped until it can be reached", why);
		return false;
	}
	if (sf->warned)
		log_info("stream: flow records: connected to %s", sf->urls);
	sf->warned = 0;
	return true;
}

/* Publishes the lines of sf->send; what cannot be is dropped and counted. */
static void publish(struct sensor_flows *sf)
{
	const char *p = sf->send.p, *end = p + sf->send.len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)(nl - p);

		int rc = connected(sf) ? stream_publish_async(sf->s, sf->sector, sf->sensor, p, len)
				       : YG_EIO;

		if (rc < 0)
			sf->dropped_down++;
		if (rc == YG_EIO && sf->s != NULL) {
			if (!sf->warned++)
				log_warnx("%s; flow records are dropped until it recovers",
					  stream_error(sf->s));
			disconnect(sf);
		}
		p = nl + 1;
	}
	sf->send.len = 0;
}

static void *flows_main(void *arg)
{
	struct sensor_flows *sf = arg;

	pthread_mutex_lock(&sf->mu);
	for (;;) {
		while (!sf->stop && sf->fill.len == 0)
			pthread_cond_wait(&sf->cv, &sf->mu);
		if (sf->fill.len == 0 && sf->stop)
			break;
		struct buf t = sf->fill; /* swap: the tees fill the other */
		sf->fill = sf->send;
		sf->send = t;
		pthread_cond_broadcast(&sf->room);
		pthread_mutex_unlock(&sf->mu);
		publish(sf);
		pthread_mutex_lock(&sf->mu);
	}
	pthread_mutex_unlock(&sf->mu);
	return NULL;
}

int sensor_flows_new(const struct stream_config *cfg, const char *sector, const char *sensor,
		     bool block, struct sensor_flows **out, char *err, size_t errlen)
{
	struct sensor_flows *sf = yg_calloc(1, sizeof(*sf));

	*out = NULL;
	if (sf == NULL) {
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	sf->cfg = *cfg;
	snprintf(sf->urls, sizeof(sf->urls), "%s", cfg->urls);
	snprintf(sf->name, sizeof(sf->name), "%s", cfg->name);
	snprintf(sf->prefix, sizeof(sf->prefix), "%s", cfg->prefix);
	sf->cfg.urls = sf->urls;
	sf->cfg.name = sf->name;
	sf->cfg.prefix = sf->prefix;
	sf->cfg.client_name = "yagura-sensor-flows";
	snprintf(sf->sector, sizeof(sf->sector), "%s", sector);
	snprintf(sf->sensor, sizeof(sf->sensor), "%s", sensor);
	sf->block = block;
	pthread_mutex_init(&sf->mu, NULL);
	pthread_cond_init(&sf->cv, NULL);
	pthread_cond_init(&sf->room, NULL);
	if (pthread_create(&sf->thread, NULL, flows_main, sf) != 0) {
		pthread_cond_destroy(&sf->room);
		pthread_cond_destroy(&sf->cv);
		pthread_mutex_destroy(&sf->mu);
		free(sf);
		snprintf(err, errlen, "cannot start the flow records' thread");
		return YG_ENOMEM;
	}
	*out = sf;
	return 0;
}

void sensor_flows_finish(struct sensor_flows *sf, double wait_s, struct sensor_flows_stats *st)
{
	pthread_mutex_lock(&sf->mu);
	sf->stop = true;
	pthread_cond_signal(&sf->cv);
	pthread_cond_broadcast(&sf->room);
	pthread_mutex_unlock(&sf->mu);
	if (!sf->joined)
		pthread_join(sf->thread, NULL);
	sf->joined = true;
	if (sf->s != NULL && stream_publish_async_wait(sf->s, (int)(wait_s * 1000)) < 0) {
		/* counted as failed; disconnect() waits no more */
	}
	disconnect(sf);
	memset(st, 0, sizeof(*st));
	st->taken = sf->taken;
	st->dropped = sf->dropped_full + sf->dropped_down;
	st->sent = sf->sent;
	st->stored = sf->stored;
	st->failed = sf->failed;
}

void sensor_flows_free(struct sensor_flows *sf)
{
	if (sf == NULL)
		return;
	if (!sf->joined) {
		struct sensor_flows_stats st;
		sensor_flows_finish(sf, 0, &st);
	}
	pthread_cond_destroy(&sf->room);
	pthread_cond_destroy(&sf->cv);
	pthread_mutex_destroy(&sf->mu);
	free(sf->fill.p);
	free(sf->send.p);
	free(sf);
}
