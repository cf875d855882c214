/* collect.h - the NetFlow/IPFIX collector's socket loop (collect.c). */
#ifndef YAGURA_SENSOR_COLLECT_H
#define YAGURA_SENSOR_COLLECT_H

#include <stdatomic.h>
#include <stdio.h>

#include "base/err.h"
#include "sensor/sensor_metrics.h"
#include "pipeline/pipeline.h"

struct collector;

/* Binds a UDP socket to listen ("ADDR:PORT", "[v6]:PORT"; port 0 takes a
 * free one). Returns 0, or a negative yg_err with a one-line reason. */
int collector_open(const char *listen, struct collector **out, char *err, size_t n) YG_MUST_CHECK;

/* The address actually bound, "127.0.0.1:2055". */
const char *collector_address(const struct collector *c);

/* Feeds every datagram's records to p until *stop. Returns 0, or -1 after
 * reporting a socket error. */
int collector_run(struct collector *c, struct pipeline *p, atomic_int *stop,
		  struct sensor_metrics *sm);

/* Two lines for the run's summary. */
void collector_summary(const struct collector *c, const struct pipeline *p, FILE *out);

void collector_free(struct collector *c);

#endif
