/* sensor_metrics.h - a sensor's counters on GET /metrics (sensor_metrics.c). */
#ifndef YAGURA_SENSOR_SENSOR_METRICS_H
#define YAGURA_SENSOR_SENSOR_METRICS_H

#include <stddef.h>

#include "base/err.h"
#include "capture/capture.h"
#include "pipeline/pipeline.h"

struct sensor_metrics;

/* Serves /metrics (and /healthz) on listen ("127.0.0.1:9101"). Returns 0,
 * or a negative yg_err with a one-line reason in err. */
int sensor_metrics_start(const char *listen, struct sensor_metrics **out, char *err,
			 size_t n) YG_MUST_CHECK;

/* The counters as they are now (every worker's added up); cs: the
 * captures', or NULL for a file. */
void sensor_metrics_update(struct sensor_metrics *m, const struct pipeline_totals *t,
			   const struct capture_stats *cs);

/* Per-worker series (--workers N), labelled worker="0".. : packets,
 * flows, the kernel's drops for its socket and its ring's fill. Returns 0,
 * or YG_ENOMEM. */
int sensor_metrics_workers(struct sensor_metrics *m, int n);

/* Worker i's counters as they are now (cs: its socket's). */
void sensor_metrics_worker(struct sensor_metrics *m, int i, const struct pipeline_totals *t,
			   const struct capture_stats *cs);

void sensor_metrics_free(struct sensor_metrics *m);

#endif
