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

void sensor_metrics_free(struct sensor_metrics *m);

#endif
