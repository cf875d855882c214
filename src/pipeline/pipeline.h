/* pipeline.h - the sensor's per-packet path: decode, flow, metadata, EVE.
 *
 * The payload of a packet is looked at only here, only to extract the
 * metadata the policy allows, and is never stored: flows and outputs get
 * counters and the extracted fields, nothing else. Single-threaded. */
#ifndef YAGURA_PIPELINE_PIPELINE_H
#define YAGURA_PIPELINE_PIPELINE_H

#include <pthread.h>
#include <stdint.h>

#include "base/snap.h"
#include "decode/decode.h"
#include "decode/scope.h"
#include "detect/detect.h"
#include "detect/sources.h"
#include "flow/flow.h"
#include "intel/intel.h"
#include "output/eve.h"

enum meta_level {
	META_STRICT = 0,  /* headers only: no payload byte is read */
	META_STANDARD = 1 /* adds DNS, TLS ClientHello and HTTP Host metadata */
};

struct pipeline_config {
	struct flow_config flow;
	enum meta_level meta;
	const struct detect_config *detect; /* NULL: no detection */
	struct sources *sources;            /* attack sources to account alerts to, or NULL */
	struct intel_handle *intel;         /* indicators to match, or NULL */
	/* Monitoring authorizations: publishes a struct decode_scope (see
	 * decode/scope.h). NULL: everything is analysed. Set but publishing
	 * nothing: nothing is. */
	struct snap_handle *scope;
	/* Also given every ended flow, after its EVE record (the IPFIX
	 * exporter); NULL: none. */
	flow_end_fn flow_tap;
	void *flow_tap_ctx;
	/* Several workers, each a pipeline on its share of the traffic: what
	 * they share (pipeline_shared_new). NULL: this pipeline is alone. */
	struct pipeline_shared *shared;
	/* A newer detector configuration, published while running (a
	 * reload): struct pipeline_detect_snap. The pipeline takes it at the
	 * start of its next batch, never waiting. NULL: fixed. */
	struct snap_handle *detect_update;
	/* Flow records (pipeline_record): how long one direction's record
	 * waits for the other's before it is taken alone. 0: 5 seconds. */
	uint64_t pair_wait_us;
};

/* A detector configuration published on pipeline_config.detect_update:
 * built whole, then snap_handle_publish(h, &snap->ref). gen grows with
 * each one published (the configuration the pipeline was made with is 0).
 * detect.ics_allow must live as long as the snapshot: its free function
 * frees both. Each pipeline applies it to its detectors
 * (detect_reconfigure) at its next batch, and the first worker to see it
 * applies it to the shared detectors, under their lock. */
struct pipeline_detect_snap {
	struct snap_ref ref;
	uint64_t gen;
	struct detect_config detect;
};

enum meta_counter {
	MC_DNS_MALFORMED,
	MC_TLS_MALFORMED,
	MC_TLS_PARTIAL, /* ClientHello cut short: SNI only, no JA4 */
	MC_HTTP_MALFORMED,
	MC_ICS_MALFORMED, /* port 502/20000/102 payload that is not the protocol */
	MC_MAX
};

const char *meta_counter_name(enum meta_counter c);

struct pipeline_stats {
	uint64_t packets;  /* frames read */
	uint64_t bytes;    /* their wire lengths */
	uint64_t in_flows; /* packets accounted to a flow */
	uint64_t skipped;  /* not IP, or later fragments */
	uint64_t bad;      /* malformed */
	uint64_t unauthorized; /* IP packets outside every monitoring authorization:
				  dropped after their IP header */
	uint64_t decode[DC_MAX];
	uint64_t meta[MC_MAX];
};

struct pipeline;

/* What the workers of one sensor share: the detectors that count across
 * flows (detect.h, DETECT_PART_CROSS), behind a lock that a worker takes
 * once per batch of packets and once per flow that ends; and a second lock
 * for the outputs they share (the sources, the flow tap; give it to each
 * worker's EVE writer with eve_set_lock). Each worker's pipeline keeps the
 * detectors that look at one flow at a time for itself. */
struct pipeline_shared;

/* NULL on allocation failure. detect: NULL for no detection. */
struct pipeline_shared *pipeline_shared_new(const struct detect_config *detect);
pthread_mutex_t *pipeline_shared_output_lock(struct pipeline_shared *s);
void pipeline_shared_free(struct pipeline_shared *s);

/* Creates a pipeline writing to eve (borrowed; must outlive it). Returns
 * NULL on allocation failure or an invalid flow configuration. */
struct pipeline *pipeline_new(const struct pipeline_config *cfg, struct eve *eve);

/* Processes one frame. Never fails: bad input is counted. */
void pipeline_frame(struct pipeline *p, const struct frame *f);

/* Processes n frames in order, as n calls of pipeline_frame() would, but
 * overlapping their memory accesses. All n frames' bytes must stay valid
 * during the call. */
#define PIPELINE_BATCH 32
void pipeline_frames(struct pipeline *p, const struct frame *f, size_t n);

/* Ends every live flow (reason "shutdown") and writes its record; flow
 * records still waiting for their other direction are taken alone. */
void pipeline_finish(struct pipeline *p);

/* The time is now_us though no packet came (a live capture gone quiet):
 * flows idle past their timeout end, with their records. A time before
 * the last packet's is ignored. */
void pipeline_advance(struct pipeline *p, uint64_t now_us);

/* Flow records: a collector's input instead of frames. */
struct nf_record;

/* Takes one flow record (NetFlow v5/v9, IPFIX; netflow/netflow.h) that
 * arrived at now_us. A record is one direction of a connection (or both,
 * a biflow): it waits up to pair_wait_us of arrival time, or until the
 * flow's limit of waiting records is reached, for the other direction's
 * record of the same connection (same 5-tuple reversed, times within the
 * idle timeout), and the two become one bidirectional flow, its client
 * the side that began it. The flow then goes through what an ended
 * metered flow goes through: the monitoring authorizations (a flow
 * outside them is counted and dropped), the flow-level detectors
 * (detect_flow), the EVE flow record and the flow tap. */
void pipeline_record(struct pipeline *p, const struct nf_record *r, uint64_t now_us);

struct pipeline_record_stats {
	uint64_t records;      /* taken */
	uint64_t flows;        /* flows made of them */
	uint64_t paired;       /* of the flows, made of two directions' records */
	uint64_t biflows;      /* of the flows, from one biflow record */
	uint64_t unauthorized; /* flows outside every monitoring authorization */
	uint64_t waiting;      /* records waiting for their other direction now */
};

const struct pipeline_record_stats *pipeline_record_stats(const struct pipeline *p);

const struct pipeline_stats *pipeline_stats(const struct pipeline *p);
const struct flow_stats *pipeline_flow_stats(const struct pipeline *p);

/* NULL when detection is off. */
struct detect *pipeline_detect(const struct pipeline *p);

/* The counters of n pipelines (a sensor's workers) added up; alerts and
 * detector state count the shared detectors once. Read a worker's only
 * from its own thread, or from a copy it made. */
struct pipeline_totals {
	struct pipeline_stats s;
	struct flow_stats f;
	struct detect_stats d;
	int detecting;
};
void pipeline_totals(struct pipeline *const *ps, size_t n, struct pipeline_totals *t);
/* Adds the shared detectors' alerts and state to t (once for all workers). */
void pipeline_shared_totals(struct pipeline_shared *sh, struct pipeline_totals *t);
/* Adds b to a (a copy of another worker's totals). */
void pipeline_totals_add(struct pipeline_totals *a, const struct pipeline_totals *b);

/* Frees; live flows are ended as by pipeline_finish(). */
void pipeline_free(struct pipeline *p);

#endif
