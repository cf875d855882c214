/* sensor_stream.h - the poster's JetStream sender (yagura analyze
 * --stream): each spooled alert published on PREFIX.SECTOR.SENSOR with its
 * alert_id, and acknowledged to the poster only after JetStream's PubAck,
 * so the spool (output/post.h) keeps whatever the stream does not hold. */
#ifndef YAGURA_SENSOR_SENSOR_STREAM_H
#define YAGURA_SENSOR_SENSOR_STREAM_H

#include <stddef.h>

#include "base/err.h"
#include "output/post.h"
#include "stream/stream.h"

struct sensor_stream;

/* Checks sector and sensor (stream_token_check) and copies cfg; connects
 * to nothing yet: the poster's thread does, at its first batch and again
 * after every failure, so a sensor starts (and spools) with every server
 * down. Returns 0 and *out, or YG_EINVAL / YG_ENOMEM with one line in err. */
int sensor_stream_new(const struct stream_config *cfg, const char *sector, const char *sensor,
                      struct sensor_stream **out, char *err, size_t errlen) YG_MUST_CHECK;

/* The sender for poster_open: its ctx is ss, which must outlive the poster. */
void sensor_stream_sender(struct sensor_stream *ss, struct poster_sender *out);

/* The counters of every connection so far (published, duplicates, errors).
 * Call after poster_finish: the poster's thread updates them. */
void sensor_stream_stats(const struct sensor_stream *ss, struct stream_stats *out);

/* Closes the connection, if any, and frees ss. NULL ok. */
void sensor_stream_free(struct sensor_stream *ss);

#endif
