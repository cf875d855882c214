/* detect.h - behavioural detectors over flows, packets and metadata.
 *
 * The pipeline feeds events (a packet accounted to a flow, a flow ending,
 * a DNS/TLS/HTTP/ICS record); detectors keep their state in fixed-size
 * tables (detect/dtable.h) and report alerts through a callback. Every
 * detector, its parameters, defaults and known false positives are in
 * docs/detect.md. Single-threaded: one instance per pipeline. */
#ifndef YAGURA_DETECT_DETECT_H
#define YAGURA_DETECT_DETECT_H

#include <stdint.h>
#include <stdio.h>

#include "decode/appmeta.h"
#include "decode/decode.h"
#include "detect/alert.h"
#include "flow/flow.h"

struct detect_config {
	uint32_t table_entries; /* records per detector table */
	uint32_t scan_window_s, scan_hosts, scan_ports, scan_protos;
	uint32_t trw_benign_pct, trw_scanner_pct, trw_odds;
	uint32_t syn_window_s, syn_half_open;
	uint32_t refl_window_s, refl_sources, refl_min_bytes, refl_ratio;
	uint32_t spoof_sources, spoof_max_per_source;
	uint32_t vol_window_s, vol_pps, vol_mbps;
	uint32_t brute_window_s, brute_sessions, brute_max_pkts, brute_max_secs;
	uint32_t brute_parallel, brute_long_window_s, brute_long_sessions;
	uint32_t beacon_min_events, beacon_min_interval_s, beacon_max_jitter_pct;
	uint32_t dns_window_s, dns_tunnel_names, dns_tunnel_min_len, dns_nx_names;
	uint32_t ics_window_s;
	uint32_t intel_window_s;
	const struct protect_set *ics_allow; /* sources allowed to operate ICS devices, or NULL */
};

/* One tunable: "name=value" on the command line (--detect). */
struct detect_param {
	const char *name;
	size_t offset; /* of a uint32_t in struct detect_config */
	uint32_t def, min, max;
	const char *unit;
	const char *doc;
};

extern const struct detect_param detect_params[];

void detect_config_defaults(struct detect_config *cfg);

/* Applies "name=value". Returns 0, or YG_EINVAL with a one-line reason in
 * err (unknown name, not a number, out of range). */
int detect_config_set(struct detect_config *cfg, const char *assignment, char *err,
		      size_t errlen);

/* Prints every parameter with its value, default and meaning. */
void detect_config_print(FILE *out, const struct detect_config *cfg);

/* Every signature the detectors can raise, ending with a zero sid. */
extern const struct signature detect_signatures[];

struct detect;

/* Returns NULL on allocation failure. */
struct detect *detect_new(const struct detect_config *cfg, alert_fn on_alert, void *ctx);

/* A sensor with several workers (each its own flow table, on its share of
 * the traffic) splits the detectors in two: what keeps its state in the
 * flow itself (bursts inside one connection), one instance per worker; and
 * every detector that keeps state across flows (scans, the sequential
 * test, floods, reflection, volume, brute force, beacons across
 * connections, DNS anomalies, ICS operations and known-bad indicators,
 * each alerting once per source and window), one instance all workers
 * share, under the caller's lock, so that an attack spread over flows
 * hashed to different workers is counted whole and alerted once. The same
 * calls go to both; each runs its part. detect_new() makes both in one. */
enum detect_part {
	DETECT_PART_FLOW = 1,  /* state in the flow */
	DETECT_PART_CROSS = 2, /* state across flows */
	DETECT_PART_ALL = 3
};
struct detect *detect_new_part(const struct detect_config *cfg, enum detect_part part,
			       alert_fn on_alert, void *ctx);

/* Applies a new configuration from the next event on (a reload): the
 * thresholds, the windows (the tables' ages) and what is derived from
 * them, and the ICS allow-list (borrowed until the next call or
 * detect_free()). table_entries cannot change while the tables exist: the
 * old value is kept (a restart takes the new one). Same thread rules as
 * the other calls. */
void detect_reconfigure(struct detect *d, const struct detect_config *cfg);

/* The context alerts are reported with from now on (a shared instance:
 * the worker holding the lock). */
void detect_set_alert_ctx(struct detect *d, void *ctx);
void detect_free(struct detect *d);

void detect_packet(struct detect *d, struct flow *f, const struct packet *pkt, int dir,
		   unsigned events);
void detect_flow_end(struct detect *d, const struct flow *f, enum flow_end_reason why);
void detect_dns(struct detect *d, const struct flow *f, const struct packet *pkt,
		const struct dns_meta *m);
struct ics_op;
void detect_ics(struct detect *d, const struct flow *f, const struct packet *pkt,
		const struct ics_op *op);
void detect_tls(struct detect *d, const struct flow *f, const struct packet *pkt,
		const struct tls_meta *m);
void detect_http(struct detect *d, const struct flow *f, const struct packet *pkt,
		 const struct http_meta *m);

/* A flow known only from its record (a NetFlow/IPFIX collector): f's
 * key, client, counters, TCP flags each way and times filled, the rest
 * zero. Runs the detectors that judge flows whole (scans, sequential test,
 * brute force, floods, reflection, beacons across connections, known-bad
 * addresses) on what the record tells; see flowrec.c for what it cannot.
 * hdr: header bytes per packet counted below the payload (IP and UDP:
 * 28 for IPv4, 48 for IPv6). May set f's detector marks. */
void detect_flow(struct detect *d, struct flow *f, uint32_t hdr);

/* The intel snapshot to match against until the next call (NULL: none).
 * The caller holds a reference meanwhile. */
struct intel_snapshot;
void detect_set_intel(struct detect *d, const struct intel_snapshot *s);

struct detect_stats {
	uint64_t alerts;
	uint64_t evictions; /* records forgotten because a table was full */
	uint64_t evictions_rare; /* of them, records used at most twice */
	uint64_t table_bytes;
};
const struct detect_stats *detect_stats(struct detect *d);

#endif
