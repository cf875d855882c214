/* pipeline.h - the sensor's per-packet path: decode, flow, metadata, EVE.
 *
 * The payload of a packet is looked at only here, only to extract the
 * metadata the policy allows, and is never stored: flows and outputs get
 * counters and the extracted fields, nothing else. Single-threaded. */
#ifndef YAGURA_PIPELINE_PIPELINE_H
#define YAGURA_PIPELINE_PIPELINE_H

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

/* Ends every live flow (reason "shutdown") and writes its record. */
void pipeline_finish(struct pipeline *p);

const struct pipeline_stats *pipeline_stats(const struct pipeline *p);
const struct flow_stats *pipeline_flow_stats(const struct pipeline *p);

/* NULL when detection is off. */
struct detect *pipeline_detect(const struct pipeline *p);

/* Frees; live flows are ended as by pipeline_finish(). */
void pipeline_free(struct pipeline *p);

#endif
