/* sensor_stream.c - the poster's JetStream sender (sensor_stream.h). */
#include "sensor/sensor_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"

#define BATCH_LINES_MAX 512 /* lines a batch publishes at once (the poster hands 500) */

struct sensor_stream {
	struct stream_config cfg; /* its strings point into the buffers below */
	char urls[1024], name[STREAM_TOKEN_MAX + 1], prefix[STREAM_SUBJECT_MAX];
	char sector[STREAM_TOKEN_MAX + 1], sensor[STREAM_TOKEN_MAX + 1];
	struct stream *s;          /* the poster's thread's; NULL: not connected */
	struct stream_stats total; /* of the connections closed so far */
	int warned;                /* said once that the stream cannot be reached */
};

/* The URL list without blanks ("nats://a:1, nats://b:2" as a file may
 * write it), each checked as stream_open will: nats:// or tls:// (or no
 * scheme) and HOST:PORT. A list stream_open refuses would otherwise be
 * found on the poster's thread only, each attempt, while alerts pile up. */
static int urls_normalize(const char *in, char *out, size_t n, char *err, size_t errlen)
{
	size_t k = 0;
	char *save = NULL, *u, tmp[1024];

	for (; *in != '\0'; in++)
		if (*in != ' ' && *in != '\t' && k + 1 < n)
			out[k++] = *in;
	out[k] = '\0';
	snprintf(tmp, sizeof(tmp), "%s", out);
	if (k == 0 || tmp[0] == ',' || tmp[k - 1] == ',' || strstr(tmp, ",,") != NULL) {
		snprintf(err, errlen, "'%.200s' is not a comma-separated list of nats:// URLs",
		         out);
		return YG_EINVAL;
	}
	for (u = strtok_r(tmp, ",", &save); u != NULL; u = strtok_r(NULL, ",", &save)) {
		const char *hp = u, *colon;
		char *end = NULL;
		long port;

		if (strstr(u, "://") != NULL) {
			if (strncmp(u, "nats://", 7) != 0 && strncmp(u, "tls://", 6) != 0) {
				snprintf(err, errlen,
				         "'%.120s': the scheme is not nats:// or tls://", u);
				return YG_EINVAL;
			}
			hp = strstr(u, "://") + 3;
		}
		colon = strrchr(hp, ':');
		port = colon != NULL && colon[1] >= '0' && colon[1] <= '9'
		           ? strtol(colon + 1, &end, 10)
		           : 0;
		if (colon == NULL || colon == hp || port < 1 || port > 65535 || *end != '\0') {
			snprintf(err, errlen, "'%.120s' is not nats://HOST:PORT", u);
			return YG_EINVAL;
		}
	}
	return 0;
}

int sensor_stream_new(const struct stream_config *cfg, const char *sector, const char *sensor,
                      struct sensor_stream **out, char *err, size_t errlen)
{
	struct sensor_stream *ss;

	*out = NULL;
	if (cfg->urls == NULL || *cfg->urls == '\0') {
		snprintf(err, errlen, "no nats:// URL");
		return YG_EINVAL;
	}
	if (sector == NULL) {
		snprintf(err, errlen, "no sector (--stream-sector NAME)");
		return YG_EINVAL;
	}
	if (stream_token_check(sector) < 0) {
		snprintf(err, errlen,
		         "sector '%.80s' is not one subject token (1 to 64 printable ASCII "
		         "bytes, no blank, '.', '*' or '>')",
		         sector);
		return YG_EINVAL;
	}
	if (sensor == NULL) {
		snprintf(err, errlen,
		         "no sensor name (--stream-sensor NAME: the host name is "
		         "not one subject token)");
		return YG_EINVAL;
	}
	if (stream_token_check(sensor) < 0) {
		snprintf(err, errlen,
		         "sensor name '%.80s' is not one subject token (1 to 64 printable ASCII "
		         "bytes, no blank, '.', '*' or '>')",
		         sensor);
		return YG_EINVAL;
	}
	if ((ss = yg_calloc(1, sizeof(*ss))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	if (strlen(cfg->urls) >= sizeof(ss->urls) ||
	    (cfg->name != NULL && strlen(cfg->name) >= sizeof(ss->name)) ||
	    (cfg->prefix != NULL && strlen(cfg->prefix) >= sizeof(ss->prefix))) {
		snprintf(err, errlen, "URL list, stream name or prefix too long");
		free(ss);
		return YG_EINVAL;
	}
	ss->cfg = *cfg;
	if (urls_normalize(cfg->urls, ss->urls, sizeof(ss->urls), err, errlen) < 0) {
		free(ss);
		return YG_EINVAL;
	}
	ss->cfg.urls = ss->urls;
	if (cfg->name != NULL) {
		snprintf(ss->name, sizeof(ss->name), "%s", cfg->name);
		ss->cfg.name = ss->name;
	}
	if (cfg->prefix != NULL) {
		snprintf(ss->prefix, sizeof(ss->prefix), "%s", cfg->prefix);
		ss->cfg.prefix = ss->prefix;
	}
	ss->cfg.client_name = "yagura-sensor";
	snprintf(ss->sector, sizeof(ss->sector), "%s", sector);
	snprintf(ss->sensor, sizeof(ss->sensor), "%s", sensor);
	*out = ss;
	return 0;
}

/* The alert_id of an EVE alert line: eve_alert.c writes it as
 * "alert_id":"..." near the start, and within a string value that text
 * would have its quotes escaped, so the first match is the field. */
static int alert_id_of(const struct poster_line *l, char *id, size_t n)
{
	static const char key[] = "\"alert_id\":\"";
	const size_t klen = sizeof(key) - 1;

	for (size_t i = 0; i + klen <= l->len; i++) {
		if (memcmp(l->p + i, key, klen) != 0)
			continue;
		const char *v = l->p + i + klen, *end = l->p + l->len;
		size_t len = 0;
		while (v + len < end && v[len] != '"' && v[len] != '\\')
			len++;
		if (v + len == end || v[len] != '"' || len == 0 || len >= n)
			return YG_EINVAL;
		memcpy(id, v, len);
		id[len] = '\0';
		return 0;
	}
	return YG_EINVAL;
}

/* stream.h's one-line errors, without their "stream: ", which the
 * poster's messages already start with. */
static const char *bare(const char *why)
{
	return strncmp(why, "stream: ", 8) == 0 ? why + 8 : why;
}

static void disconnect(struct sensor_stream *ss)
{
	struct stream_stats st;

	if (ss->s == NULL)
		return;
	stream_stats_get(ss->s, &st);
	ss->total.published += st.published;
	ss->total.duplicates += st.duplicates;
	ss->total.publish_errors += st.publish_errors;
	stream_close(ss->s);
	ss->s = NULL;
}

/* struct poster_sender's send: the batch's lines all in flight at once
 * (stream_publish_alerts), and as many of the first as the stream holds
 * leave the spool; the first without a PubAck and the rest are sent
 * again. A line without a usable alert_id ends the batch before it. */
static int stream_send(void *ctx, const struct poster_line *lines, int n, char *why, size_t whylen)
{
	struct sensor_stream *ss = ctx;
	static _Thread_local char ids[BATCH_LINES_MAX][STREAM_ID_MAX + 1];
	static _Thread_local const char *idp[BATCH_LINES_MAX], *json[BATCH_LINES_MAX];
	static _Thread_local size_t len[BATCH_LINES_MAX];
	int m = 0, k;

	if (ss->s == NULL) {
		if (stream_open(&ss->cfg, &ss->s, why, whylen) < 0) {
			memmove(why, bare(why), strlen(bare(why)) + 1);
			if (!ss->warned++)
				log_warnx("stream: %s; alerts stay spooled until the stream takes them",
				          why);
			return 0;
		}
		if (ss->warned)
			log_info("stream: connected to %s", ss->urls);
		ss->warned = 0;
	}
	for (; m < n && m < BATCH_LINES_MAX; m++) {
		if (alert_id_of(&lines[m], ids[m], sizeof(ids[m])) < 0)
			break;
		idp[m] = ids[m];
		json[m] = lines[m].p;
		len[m] = lines[m].len;
	}
	if (m == 0) {
		snprintf(why, whylen, "a spooled alert has no usable alert_id");
		return POSTER_REJECTED;
	}
	k = stream_publish_alerts(ss->s, ss->sector, ss->sensor, idp, json, len, m);
	if (k == YG_EINVAL) {
		snprintf(why, whylen, "alert %.80s: %s", ids[0], bare(stream_error(ss->s)));
		return POSTER_REJECTED;
	}
	if (k < m) {
		snprintf(why, whylen, "%s", bare(stream_error(ss->s)));
		/* Opened again next time: a stream deleted or a cluster
		 * changed is then made right (stream_open ensures it). */
		disconnect(ss);
	}
	return k;
}

void sensor_stream_sender(struct sensor_stream *ss, struct poster_sender *out)
{
	out->name = "stream";
	out->send = stream_send;
	out->ctx = ss;
}

void sensor_stream_stats(const struct sensor_stream *ss, struct stream_stats *out)
{
	*out = ss->total;
	if (ss->s != NULL) {
		struct stream_stats st;
		stream_stats_get(ss->s, &st);
		out->published += st.published;
		out->duplicates += st.duplicates;
		out->publish_errors += st.publish_errors;
	}
}

void sensor_stream_free(struct sensor_stream *ss)
{
	if (ss == NULL)
		return;
	disconnect(ss);
	free(ss);
}
