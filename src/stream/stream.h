/* stream.h - alerts through a NATS JetStream stream (libnats): sensors
 * publish, towers consume with a durable pull consumer (docs/stream.md).
 *
 * Delivery is at-least-once. Publishing carries the alert id as JetStream's
 * message id, so a publisher that retries after a lost acknowledgement does
 * not store the alert twice within the stream's duplicate window; a consumer
 * acknowledges after its own commit, so a crash between the two redelivers,
 * and the store's unique key on the alert id makes the second copy a no-op.
 *
 * Subjects are PREFIX.SECTOR.SENSOR: a tower or a partner takes a share of
 * the stream by filter (PREFIX.electricity.>). Sector and sensor names are
 * checked as single subject tokens, so that a name taken from a certificate
 * cannot reach into another sensor's subject.
 *
 * Not thread-safe: one struct stream (and its consumers) per thread. */
#ifndef YAGURA_STREAM_STREAM_H
#define YAGURA_STREAM_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define STREAM_TOKEN_MAX   64  /* bytes in a sector or sensor name */
#define STREAM_ID_MAX      128 /* bytes in an alert id */
#define STREAM_SUBJECT_MAX 256

enum stream_retention {
	STREAM_RETAIN_LIMITS = 0, /* keep until max_age or max_bytes: many consumers */
	STREAM_RETAIN_INTEREST,   /* drop once every consumer has acknowledged */
	STREAM_RETAIN_WORKQUEUE   /* drop once one consumer has acknowledged */
};

#define STREAM_PATH_MAX 256

/* Who the client is to the servers, and whom it trusts (docs/stream.md,
 * "Who may publish what"). Empty fields are unused. Plain values, so that a
 * configuration copied into another thread's keeps them. */
struct stream_auth {
	char user[STREAM_TOKEN_MAX + 1];     /* with password_file */
	char password_file[STREAM_PATH_MAX]; /* the password: the file's first line */
	char creds[STREAM_PATH_MAX];	     /* a NATS credentials file (JWT, NKey seed) */
	char ca[STREAM_PATH_MAX];	     /* trust these (PEM) for tls:// servers */
	char cert[STREAM_PATH_MAX];	     /* a client certificate (PEM), with key */
	char key[STREAM_PATH_MAX];
};

/* What stream_open does to the stream's own configuration. */
enum stream_manage {
	STREAM_MANAGE_UPDATE = 0, /* create it, or bring it to this configuration (towers) */
	STREAM_MANAGE_CREATE,	  /* create it when absent; leave one that exists (sensors) */
	STREAM_MANAGE_NONE	  /* only publish: the account may not manage streams */
};

struct stream_config {
	const char *urls;   /* "nats://h:p[,nats://h:p...]", required */
	const char *name;   /* the stream; NULL: "YAGURA_ALERTS" */
	const char *prefix; /* subject prefix; NULL: "yagura.alerts" */
	int replicas;       /* 1 to 5; 0: 1 */
	enum stream_retention retention;
	int64_t max_age_s;          /* 0: no limit */
	int64_t max_bytes;          /* 0: no limit */
	int64_t duplicate_window_s; /* 0: 120 (JetStream's default) */
	int timeout_ms;             /* connect, and wait per request; 0: 5000 */
	int ack_wait_ms;            /* consumers: redeliver after; 0: 30000 */
	const char *client_name;    /* shown by the server; NULL: "yagura" */
	enum stream_manage manage;
	struct stream_auth auth;
};

/* One key of a [stream] section that sets auth: user, password_file,
 * creds, ca, cert, key. Returns 1 when key is one of them and value was
 * taken, 0 when key is another, YG_EINVAL (why says so in one line) when
 * the value is empty or too long. stream_auth_check() then: a user goes
 * with a password file, a certificate with its key, and a user and creds
 * exclude each other; 0 or YG_EINVAL with why. */
int stream_auth_set(struct stream_auth *a, const char *key, const char *value, char *why,
		    size_t n) YG_MUST_CHECK;
int stream_auth_check(const struct stream_auth *a, char *why, size_t n) YG_MUST_CHECK;

struct stream_stats {
	uint64_t published;  /* acknowledged as stored */
	uint64_t duplicates; /* acknowledged as already stored (same alert id) */
	uint64_t publish_errors;
	uint64_t fetched;
	uint64_t acked;
	uint64_t naked;
	uint64_t late; /* fetched one at a time: answers to fetches that had given up */
	uint64_t async_sent;   /* stream_publish_async: handed to the connection */
	uint64_t async_stored; /* acknowledged as stored */
	uint64_t async_failed; /* refused, or no acknowledgement in time */
};

struct stream;
struct stream_consumer;
struct stream_msg;

/* What stream_fetch hands its callback. Everything points into the message,
 * valid until the next stream_fetch on the consumer or its close. */
struct stream_delivery {
	const char *subject;
	const uint8_t *data;
	size_t len;
	const char *msg_id;   /* JetStream's message id, SENSOR.ALERT_ID, or "" */
	const char *alert_id; /* the alert id it was published with, or "" */
	const char *sector;   /* from the subject, "" if not PREFIX.SECTOR.SENSOR */
	const char *sensor;
	uint64_t seq;              /* the stream's sequence number */
	uint64_t deliveries;       /* 1 the first time, more when redelivered */
	struct stream_msg *handle; /* for stream_ack / stream_nak */
};

/* Returns 0 if tok can be one subject token: 1 to STREAM_TOKEN_MAX bytes of
 * printable ASCII other than '.', '*' and '>'; YG_EINVAL otherwise. Pure. */
int stream_token_check(const char *tok) YG_MUST_CHECK;

/* Connects to cfg->urls and makes sure the stream exists with cfg's
 * subjects, replicas and limits (creating it, or updating what differs).
 * On success *out is the caller's, for stream_close. On failure returns a
 * negative yg_err, *out is NULL and err holds one line. cfg's strings are
 * copied. */
int stream_open(const struct stream_config *cfg, struct stream **out, char *err,
                size_t n) YG_MUST_CHECK;

/* Closes the connection and frees s; its consumers must be closed first.
 * NULL ok. */
void stream_close(struct stream *s);

/* The last failure on s (or a consumer of s), one line; "" if none. */
const char *stream_error(const struct stream *s);

/* Copies the counters of s. */
void stream_stats_get(const struct stream *s, struct stream_stats *out);

/* Publishes one alert on PREFIX.SECTOR.SENSOR with SENSOR.ALERT_ID as its
 * message id, and waits for JetStream's acknowledgement. The sensor is in
 * the id because the store keys alerts by (sensor, alert id) and JetStream
 * de-duplicates by message id alone: two sensors' equal ids must not drop
 * each other's alerts (nor one sensor suppress another's by guessing). Returns 0 once the stream
 * holds it (also when it already did: a duplicate, counted); YG_EINVAL for
 * a bad token or id (nothing sent); YG_EIO when no acknowledgement came
 * (timeout, no server, stream full): the caller keeps the alert and tries
 * again later with the same id. stream_error says why. */
int stream_publish_alert(struct stream *s, const char *sector, const char *sensor,
                         const char *alert_id, const char *json, size_t len) YG_MUST_CHECK;

/* Publishes n alerts of one sensor as stream_publish_alert does (message
 * ids SENSOR.ALERT_ID, de-duplicated), but all in flight at once, then
 * waits up to the timeout for their PubAcks: one round trip for the batch
 * instead of one per alert. Returns how many of the first alerts the
 * stream holds (0 to n; the caller keeps the rest and sends them again,
 * with the same ids); stream_error() says why when fewer than n.
 * YG_EINVAL when alert 0 cannot be published at all (a bad id, larger
 * than the server takes); a later bad one ends the batch before it. */
int stream_publish_alerts(struct stream *s, const char *sector, const char *sensor,
			  const char *const *alert_ids, const char *const *jsons,
			  const size_t *lens, int n) YG_MUST_CHECK;

/* Publishes data on PREFIX.SECTOR.SENSOR without waiting for its PubAck,
 * with no message id: for records that are many and may be lost (flow
 * records), not alerts. At most 4,096 are unacknowledged at once; a call
 * with that many waits up to the timeout for room. 0 once handed to the
 * connection; YG_EIO when it was not (not connected, no room in time),
 * YG_EINVAL for a bad name or one larger than the server takes.
 * Acknowledgements and failures arrive later and are counted in
 * stream_stats (async_stored, async_failed). */
int stream_publish_async(struct stream *s, const char *sector, const char *sensor,
			 const char *data, size_t len) YG_MUST_CHECK;

/* Waits up to timeout_ms for every asynchronous publish to be answered:
 * 0 when none is left, YG_EIO when some are (counted as failed, and
 * forgotten). */
int stream_publish_async_wait(struct stream *s, int timeout_ms) YG_MUST_CHECK;

/* Binds to the durable pull consumer `durable` (a token), creating it if it
 * does not exist, with filter (a subject under the prefix, '*' and '>'
 * allowed as whole tokens; NULL: the whole stream). Explicit acks; a
 * message not acknowledged within ack_wait is redelivered. A second open
 * of the same durable, here or elsewhere, resumes where the consumer's
 * acknowledgements left it. Returns 0 and *out, or a negative yg_err with
 * stream_error set. Close it before s. */
int stream_consumer_open(struct stream *s, const char *durable, const char *filter,
                         struct stream_consumer **out) YG_MUST_CHECK;

/* Frees c; messages fetched and not acknowledged are redelivered later. */
void stream_consumer_close(struct stream_consumer *c);

/* Callback for stream_fetch: returns 0 to go on, nonzero to stop (the rest
 * of the batch stays unacknowledged, for redelivery). */
typedef int (*stream_fetch_cb)(void *arg, const struct stream_delivery *d);

/* Fetches up to max messages (1 to 1024), waiting up to timeout_ms for the
 * first, and calls cb on each. Handles of the previous batch are released
 * first. Returns the number delivered (0 when none came in time), or a
 * negative yg_err with stream_error set: YG_EIO at once while the
 * connection is down and libnats reconnects (try again later). */
int stream_fetch(struct stream_consumer *c, int max, int timeout_ms, stream_fetch_cb cb,
                 void *arg) YG_MUST_CHECK;

/* Acknowledges a fetched message: call it after the caller's commit. A
 * handle is good for one stream_ack or stream_nak, until the next fetch.
 * Returns 0, YG_EINVAL for a used handle, YG_EIO if it could not be sent
 * (the message will then be redelivered). */
int stream_ack(struct stream_msg *m) YG_MUST_CHECK;

/* Asks for redelivery now (the caller could not commit it). As stream_ack. */
int stream_nak(struct stream_msg *m) YG_MUST_CHECK;

/* Counts of messages the stream holds (after de-duplication): for tests and
 * monitoring. Returns 0, or a negative yg_err with stream_error set. */
int stream_count(struct stream *s, uint64_t *msgs) YG_MUST_CHECK;

#endif
