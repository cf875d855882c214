/* ingest.c - the tower consumes sensor alerts from a NATS JetStream stream
 * (issue 17, docs/stream.md "The tower consumes").
 *
 * Threads of its own ([stream] consumers, 4 by default) bind to the
 * durable pull consumer of [stream]; each fetches up to `batch` messages,
 * and stores each sensor's share of them
 * through tw_alerts_ingest(), the path of POST /api/v1/alerts: one
 * transaction, logged once. Only after that committed are the messages
 * acknowledged, so that a crash in between redelivers them, and the store's
 * unique key on (sensor, alert id) makes the second copy a no-op that logs
 * nothing. Messages the tower will never store (not JSON, not an alert, from
 * a sensor it does not know) are acknowledged too, counted and logged: a
 * poison message must not come back for ever. A store that fails, or memory
 * that runs out while a message is read, gets the messages naked
 * (redelivered) and the thread backs off: a message is never acknowledged
 * for a failure of the tower's own.
 *
 * Who sent it is the subject's SENSOR token, which must be the name of an
 * enabled user of role sensor; the record's own "sensor" fields are stored
 * as sent and never used to say whose it is. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/log.h"
#include "stream/stream.h"
#include "tower/alertbatch.h"
#include "tower/tower_int.h"

#define INGEST_WAIT_MS     500 /* a fetch waits this long for a first message */
#define INGEST_BACKOFF_MAX 30  /* seconds, between tries while NATS or the store fails */

enum ingest_counter {
	IC_FETCHED = 0,
	IC_STORED,
	IC_DUPLICATES,
	IC_REFUSED,
	IC_UNKNOWN,
	IC_NAKS,
	IC_LATE,
	IC_COUNT
};

/* What the consumer threads share. A store commit waits on the disk and a
 * fetch on the network: several threads keep both busy, as several HTTP
 * clients do on the POST path (one thread drained 7,700 alerts/s from
 * three NATS nodes in bench/jetstream, with the tower's CPU mostly idle). */
struct ingest_set {
	struct tower *t;
	atomic_int stop;
	atomic_int bound; /* threads bound to the consumer now */
	struct http_metric *m[IC_COUNT];
	struct http_metric *connected; /* gauge: 1 while one is bound */
	int n;
	struct tower_ingest *w;
};

struct tower_ingest {
	struct tower *t;
	struct ingest_set *set;
	int index;
	pthread_t thread;
	bool started;
	/* The fetched batch: the deliveries point into the consumer's
	 * messages, valid until the next fetch. */
	struct stream_delivery *d;
	unsigned char *done; /* 1 once acked or naked */
	int n;
	char *body; /* a sensor's share, as one JSON array */
	size_t body_cap;
	int said_down; /* a failing streak is logged once */
};

static const struct {
	const char *name, *help;
} counters[IC_COUNT] = {
    {"yagura_stream_fetched_total", "messages fetched from the alert stream"},
    {"yagura_stream_stored_total", "alerts from the stream stored"},
    {"yagura_stream_duplicates_total",
     "alerts from the stream the store held already (redeliveries), acknowledged"},
    {"yagura_stream_refused_total",
     "stream messages that are not a valid alert, acknowledged and dropped"},
    {"yagura_stream_unknown_sensor_total",
     "stream messages whose subject names no sensor of this tower, acknowledged and dropped"},
    {"yagura_stream_naks_total", "stream messages handed back for redelivery (the store failed or memory ran out)"},
    {"yagura_stream_late_total",
     "stream messages that answered a fetch after it gave up (a slow server or a busy tower), "
     "taken one at a time"},
};

static void count(struct tower_ingest *g, enum ingest_counter k, uint64_t n)
{
	if (n > 0)
		http_metric_add(g->set->m[k], n);
}

/* Sleeps s seconds, waking early when asked to stop. */
static void nap(struct tower_ingest *g, int s)
{
	for (int i = 0; i < s * 10 && !atomic_load(&g->set->stop); i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int on_msg(void *arg, const struct stream_delivery *d)
{
	struct tower_ingest *g = arg;

	g->d[g->n] = *d;
	g->done[g->n] = 0;
	g->n++;
	return 0;
}

static void settle(struct tower_ingest *g, int i, bool ack)
{
	if (g->done[i])
		return;
	g->done[i] = 1;
	/* A lost ack or nak only means a redelivery, which the store absorbs. */
	if ((ack ? stream_ack(g->d[i].handle) : stream_nak(g->d[i].handle)) < 0)
		log_debug("tower: stream: seq %llu: %s not sent", (unsigned long long)g->d[i].seq,
		          ack ? "ack" : "nak");
	if (!ack)
		count(g, IC_NAKS, 1);
}

/* The sensor named by a subject: an enabled user of role sensor with that
 * name. Returns 0 with *p, YG_ENOTFOUND, or a store error. */
static int sensor_of(struct tower *t, const char *name, struct principal *p)
{
	struct store_conn *c = NULL;
	struct store_res *r = NULL;
	struct store_param ps[] = {store_text(name)};
	int rc;

	if ((rc = store_conn_get(t->st, &c)) < 0)
		return rc;
	rc = store_exec(c,
	                "SELECT id, org_id FROM users WHERE name = ? AND role = 'sensor' AND "
	                "disabled IS NULL",
	                ps, 1, &r, NULL);
	store_conn_put(c);
	if (rc < 0)
		return rc;
	rc = YG_ENOTFOUND;
	if (store_res_nrows(r) == 1) {
		memset(p, 0, sizeof(*p));
		p->user_id = store_res_int64(r, 0, tw_col(r, "id"));
		p->org_id = store_res_int64(r, 0, tw_col(r, "org_id")); /* NULL reads 0 */
		p->role = ROLE_SENSOR;
		rc = 0;
	}
	store_res_free(r);
	return rc;
}

/* Makes g->body "[" + the parts + "]", with commas between. */
static int body_put(struct tower_ingest *g, size_t *at, const void *p, size_t n)
{
	if (*at + n + 2 > g->body_cap) {
		size_t cap = (*at + n + 2) * 2;
		char *b = yg_realloc(g->body, cap);
		if (b == NULL)
			return YG_ENOMEM;
		g->body = b;
		g->body_cap = cap;
	}
	memcpy(g->body + *at, p, n);
	*at += n;
	return 0;
}

/* Is message i one valid alert record, alone? A message is one record: a
 * batch, or a record with "},{" in it, is refused here rather than joined
 * into its neighbours' batch. Returns 1, 0 with the reason in why, or
 * YG_ENOMEM: a record that could not be read for want of memory is not
 * refused (that would ack it unstored) but naked, to come again. */
static int one_record(struct tower_ingest *g, int i, char *why, size_t n)
{
	struct alert_batch b;
	enum alert_batch_status st;
	size_t at = 0;
	int ok;

	if (body_put(g, &at, "[", 1) < 0 || body_put(g, &at, g->d[i].data, g->d[i].len) < 0 ||
	    body_put(g, &at, "]", 1) < 0)
		return YG_ENOMEM;
	st = alert_batch_parse(g->body, at, 1, &b);
	ok = st == ALERT_BATCH_OK && b.n == 1;
	if (st == ALERT_BATCH_NOMEM)
		ok = YG_ENOMEM;
	else if (!ok)
		snprintf(why, n, "%s%s%s", b.nerrs > 0 ? b.errs[0].field : b.msg,
		         b.nerrs > 0 ? " " : "", b.nerrs > 0 ? b.errs[0].reason : "");
	alert_batch_free(&b);
	return ok;
}

/* Stores messages idx[0..k) of sensor p as one batch; acks them after the
 * commit, naks them when the store failed. Returns 0, or the store's
 * error. */
static int store_share(struct tower_ingest *g, const struct principal *p, const int *idx, int k)
{
	struct alert_batch b;
	struct alert_ingest in;
	size_t at = 0;
	int rc = 0;

	for (int j = 0; rc == 0 && j < k; j++)
		rc = body_put(g, &at, j == 0 ? "[" : ",", 1) < 0
		         ? YG_ENOMEM
		         : body_put(g, &at, g->d[idx[j]].data, g->d[idx[j]].len);
	if (rc == 0)
		rc = body_put(g, &at, "]", 1);
	if (rc == 0)
		rc = tw_alerts_ingest(g->t, p, g->body, at, &b, &in);
	alert_batch_free(&b);
	if (rc == YG_EINVAL) {
		/* Each was checked alone: only if the whole batch is refused
		 * regardless (it cannot be), one at a time. */
		for (int j = 0; j < k && k > 1; j++)
			if (store_share(g, p, idx + j, 1) < 0)
				return YG_EIO;
		if (k == 1) {
			log_warnx("tower: stream: seq %llu refused as a batch of one",
			          (unsigned long long)g->d[idx[0]].seq);
			count(g, IC_REFUSED, 1);
			settle(g, idx[0], true);
		}
		return 0;
	}
	for (int j = 0; j < k; j++)
		settle(g, idx[j], rc == 0);
	if (rc == 0) {
		count(g, IC_STORED, (uint64_t)in.stored);
		count(g, IC_DUPLICATES, (uint64_t)in.duplicates);
	}
	return rc;
}

/* The fetched batch, one sensor's share at a time. Returns 0, or a store
 * error (the rest naked). */
static int handle_batch(struct tower_ingest *g)
{
	int *idx = yg_malloc((size_t)g->n * sizeof(*idx));
	int rc = 0;

	if (idx == NULL)
		rc = YG_ENOMEM;
	for (int i = 0; rc == 0 && i < g->n; i++) {
		const char *sensor = g->d[i].sensor;
		struct principal p;
		int k = 0, refused = 0, first_bad = -1;
		char why[300] = "", other[300];

		if (g->done[i])
			continue;
		if (*sensor == '\0' || (rc = sensor_of(g->t, sensor, &p)) == YG_ENOTFOUND) {
			int n = 0;

			rc = 0;
			for (int j = i; j < g->n; j++)
				if (!g->done[j] && strcmp(g->d[j].sensor, sensor) == 0) {
					settle(g, j, true);
					n++;
				}
			count(g, IC_UNKNOWN, (uint64_t)n);
			log_warnx("tower: stream: %d message%s on %s dropped: no sensor user named "
			          "'%s'",
			          n, n == 1 ? "" : "s", g->d[i].subject, sensor);
			continue;
		}
		if (rc < 0)
			break;
		for (int j = i; j < g->n; j++) {
			if (g->done[j] || strcmp(g->d[j].sensor, sensor) != 0)
				continue;
			int one = one_record(g, j, first_bad < 0 ? why : other, sizeof(why));

			if (one < 0) {
				rc = one; /* this and the rest naked below */
				break;
			}
			if (one == 1) {
				idx[k++] = j;
				continue;
			}
			if (first_bad < 0)
				first_bad = j;
			refused++;
			settle(g, j, true);
		}
		if (refused > 0) {
			count(g, IC_REFUSED, (uint64_t)refused);
			log_warnx("tower: stream: %d message%s from sensor '%s' refused, not an "
			          "alert (seq %llu: %s)",
			          refused, refused == 1 ? "" : "s", sensor,
			          (unsigned long long)g->d[first_bad].seq, why);
		}
		if (k > 0 && rc == 0)
			rc = store_share(g, &p, idx, k);
	}
	if (rc < 0)
		for (int i = 0; i < g->n; i++)
			settle(g, i, false);
	free(idx);
	return rc;
}

static void *ingest_main(void *arg)
{
	struct tower_ingest *g = arg;
	const struct tower_stream *sc = &g->t->cfg.stream;
	struct stream_config cfg = {.urls = sc->urls,
	                            .name = sc->name,
	                            .prefix = sc->prefix,
	                            .replicas = sc->replicas,
	                            .ack_wait_ms = (int)(sc->ack_wait_s * 1000),
	                            .retention = sc->retention,
	                            .max_age_s = sc->max_age_s,
	                            .max_bytes = sc->max_bytes,
	                            .duplicate_window_s = sc->duplicate_window_s,
	                            .client_name = "yagura-tower",
	                            /* One thread sets the stream up; the others
	                             * bind once it exists. */
	                            .manage = g->index == 0 ? STREAM_MANAGE_UPDATE
	                                                    : STREAM_MANAGE_NONE,
	                            .auth = sc->auth};
	char filter[STREAM_SUBJECT_MAX + 8], err[512];
	int backoff = 1, rc;

	if (sc->filter != NULL)
		snprintf(filter, sizeof(filter), "%s", sc->filter);
	else
		snprintf(filter, sizeof(filter), "%s.>", sc->prefix);
	while (!atomic_load(&g->set->stop)) {
		struct stream *s = NULL;
		struct stream_consumer *c = NULL;

		if (stream_open(&cfg, &s, err, sizeof(err)) < 0 ||
		    stream_consumer_open(s, sc->durable, filter, &c) < 0) {
			if (!g->said_down++ && (g->index == 0 || g->said_down > 3))
				log_warnx("tower: stream: %s (trying again)",
				          s != NULL ? stream_error(s) : err);
			stream_close(s);
			nap(g, backoff);
			backoff =
			    backoff * 2 > INGEST_BACKOFF_MAX ? INGEST_BACKOFF_MAX : backoff * 2;
			continue;
		}
		if (g->index == 0)
			log_info("tower: stream: consuming %s as %s from %s (%d threads)", filter,
			         sc->durable, sc->urls, g->set->n);
		g->said_down = 0;
		if (atomic_fetch_add(&g->set->bound, 1) == 0)
			http_metric_set(g->set->connected, 1);
		backoff = 1;
		struct stream_stats ss;
		uint64_t late_seen = 0;

		while (!atomic_load(&g->set->stop)) {
			int got;

			g->n = 0;
			got = stream_fetch(c, sc->batch, INGEST_WAIT_MS, on_msg, g);
			if (got < 0) {
				/* libnats reconnects on its own; a node that went away
				 * shows here as failed fetches for a while. */
				if (!g->said_down++)
					log_warnx("tower: stream: fetch: %s", stream_error(s));
				nap(g, 1);
				continue;
			}
			g->said_down = 0;
			if (g->n == 0)
				continue;
			count(g, IC_FETCHED, (uint64_t)g->n);
			stream_stats_get(s, &ss);
			count(g, IC_LATE, ss.late - late_seen);
			late_seen = ss.late;
			if ((rc = handle_batch(g)) < 0) {
				log_warnx("tower: stream: %d messages handed back: %s (again in %d s)",
				          g->n, yg_strerror(rc), backoff);
				nap(g, backoff);
				backoff = backoff * 2 > INGEST_BACKOFF_MAX ? INGEST_BACKOFF_MAX
				                                           : backoff * 2;
			} else {
				backoff = 1;
			}
		}
		if (atomic_fetch_sub(&g->set->bound, 1) == 1)
			http_metric_set(g->set->connected, 0);
		stream_consumer_close(c);
		stream_close(s);
	}
	return NULL;
}

static void worker_free(struct tower_ingest *g)
{
	free(g->d);
	free(g->done);
	free(g->body);
}

void tw_ingest_stop(struct tower *t)
{
	struct ingest_set *set = t->ingest;

	if (set == NULL)
		return;
	atomic_store(&set->stop, 1);
	for (int i = 0; i < set->n; i++) {
		if (set->w[i].started)
			pthread_join(set->w[i].thread, NULL);
		worker_free(&set->w[i]);
	}
	free(set->w);
	free(set);
	t->ingest = NULL;
}

int tw_ingest_start(struct tower *t, char *err, size_t errlen)
{
	const struct tower_stream *sc = &t->cfg.stream;
	struct http_metrics *m = http_server_metrics(t->srv);
	struct ingest_set *set;

	if (!sc->enable)
		return 0;
	if ((set = yg_calloc(1, sizeof(*set))) == NULL ||
	    (set->w = yg_calloc((size_t)sc->consumers, sizeof(*set->w))) == NULL) {
		free(set);
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	set->t = t;
	set->n = sc->consumers;
	for (int i = 0; i < IC_COUNT; i++)
		set->m[i] = http_metrics_counter(m, counters[i].name, NULL, counters[i].help);
	set->connected =
	    http_metrics_gauge(m, "yagura_stream_connected", NULL,
	                       "1 while the tower is bound to the alert stream's consumer");
	t->ingest = set;
	for (int i = 0; i < set->n; i++) {
		struct tower_ingest *g = &set->w[i];

		g->t = t;
		g->set = set;
		g->index = i;
		if ((g->d = yg_calloc((size_t)sc->batch, sizeof(*g->d))) == NULL ||
		    (g->done = yg_calloc((size_t)sc->batch, 1)) == NULL) {
			tw_ingest_stop(t);
			snprintf(err, errlen, "out of memory");
			return YG_ENOMEM;
		}
		if (pthread_create(&g->thread, NULL, ingest_main, g) != 0) {
			tw_ingest_stop(t);
			snprintf(err, errlen, "cannot start the stream's threads");
			return YG_ENOMEM;
		}
		g->started = true;
	}
	return 0;
}
