/* pipeline_int.h - what pipeline.c and records.c share. */
#ifndef YAGURA_PIPELINE_PIPELINE_INT_H
#define YAGURA_PIPELINE_PIPELINE_INT_H

#include "pipeline/pipeline.h"

struct pairer;

struct pipeline_shared {
	pthread_mutex_t mu;     /* det */
	pthread_mutex_t out_mu; /* sources, flow tap, EVE writes; taken inside mu, never around it */
	struct detect *det;     /* DETECT_PART_CROSS */
	struct snap_ref *det_held; /* the pipeline_detect_snap det is configured from */
	uint64_t det_gen;
};

/* A packet's event for the shared detectors, held until the batch ends or
 * a flow ends (whichever first), so that the lock is taken once for many. */
struct xevent {
	struct flow *f;
	struct packet pkt;
	int dir;
	unsigned ev;
};

struct pipeline {
	struct pipeline_config cfg;
	struct eve *eve;
	struct flow_table *flows;
	struct detect *det;
	struct flow *cur; /* the flow being processed, for "alerted" */
	struct decode_scope *no_scope; /* admits nothing: a scope handle publishing none */
	struct pipeline_stats stats;
	struct pipeline_shared *shared;
	struct intel_snapshot *snap; /* held for the batch (pipeline_intel_hold) */
	struct xevent xq[PIPELINE_BATCH];
	unsigned xn;
	struct pairer *pairer; /* flow records waiting for their other direction */
	struct pipeline_record_stats rstats;
	uint64_t rec_seq;
	struct snap_ref *det_held; /* the pipeline_detect_snap det is configured from */
	uint64_t det_gen;
};

/* A newer detector configuration, if one was published: taken at the
 * start of a batch. */
void pipeline_detect_update(struct pipeline *p);

/* Taken once per batch (of frames or records), released after it. */
struct decode_scope *pipeline_scope_hold(struct pipeline *p);
struct intel_snapshot *pipeline_intel_hold(struct pipeline *p);
void pipeline_intel_drop(struct pipeline *p, struct intel_snapshot *s);

/* records.c */
void pipeline_records_flush(struct pipeline *p);
void pipeline_records_advance(struct pipeline *p, uint64_t now_us);
void pipeline_records_free(struct pipeline *p);

#endif
