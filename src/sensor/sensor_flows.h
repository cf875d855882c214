/* sensor_flows.h - flow records to a JetStream stream of their own
 * (`--stream-flows`, docs/stream.md, "Flow records").
 *
 * Alerts are few and each must arrive: they are spooled and published one
 * PubAck at a time (sensor_stream.h). Flow records are many, and a partner
 * who reads them can bear a gap: they are published asynchronously, best
 * effort, never spooled. The pipelines hand each flow record, as the EVE
 * writer wrote it, to sensor_flows_tee() on their own threads; it copies
 * the line into a buffer and returns (a live sensor's full buffer drops
 * the record and counts it: its pipeline never waits for the network). One thread of its
 * own connects (again, after a failure), and publishes what the buffer
 * holds on PREFIX.SECTOR.SENSOR with many publishes in flight. */
#ifndef YAGURA_SENSOR_SENSOR_FLOWS_H
#define YAGURA_SENSOR_SENSOR_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/stream.h"

struct sensor_flows;

struct sensor_flows_stats {
	uint64_t taken;	  /* records handed to the tee */
	uint64_t dropped; /* not sent: the buffer full, or no server to send to */
	uint64_t sent;	  /* handed to the connection */
	uint64_t stored;  /* acknowledged by the stream */
	uint64_t failed;  /* refused, or unanswered at the end */
};

/* cfg as the alerts' (URLs, credentials, replicas), with the flows'
 * stream name and prefix in it. Starts the thread; connects when the
 * first records come. block: a full buffer makes the tee wait for the
 * thread instead of dropping the record (reading files, where nothing is
 * lost by waiting; a live sensor never waits). 0, or YG_ENOMEM with one
 * line in err. */
int sensor_flows_new(const struct stream_config *cfg, const char *sector, const char *sensor,
		     bool block, struct sensor_flows **out, char *err, size_t errlen);

/* An eve_tee_fn: one flow record's JSON line. Thread-safe; never blocks on
 * the network. */
void sensor_flows_tee(void *ctx, const char *json, size_t len);

/* Publishes what is buffered, waits up to wait_s seconds for the stream's
 * answers, stops the thread and fills *st. Then sensor_flows_free. */
void sensor_flows_finish(struct sensor_flows *sf, double wait_s, struct sensor_flows_stats *st);
void sensor_flows_free(struct sensor_flows *sf);

#endif
