/* netflow.h - a NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011)
 * collector's parser: UDP datagrams in, neutral flow records out.
 *
 * The collector does no I/O: the caller reads each datagram from its socket
 * and hands it over with the exporter's address and the arrival time. The
 * collector keeps, per exporter session (exporter address, protocol
 * version, observation domain / source id / v5 engine), the templates, the
 * sampling rates announced in options records, the IPFIX system init time
 * and the next expected sequence number. Every record of a data set whose
 * template is known is decoded into a struct nf_record and passed to the
 * caller's callback; everything refused is counted with a reason
 * (enum nf_counter), never logged. Memory is bounded by nf_config: sessions
 * beyond max_exporters and templates beyond max_templates per session are
 * refused and counted. docs/collector.md has the details.
 *
 * One collector per thread: nothing here locks. */
#ifndef YAGURA_NETFLOW_NETFLOW_H
#define YAGURA_NETFLOW_NETFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/ipaddr.h"

/* nf_record.flags */
#define NF_REC_BIFLOW  0x01 /* RFC 5103 reverse counters present (rev_*) */
#define NF_REC_VLAN    0x02 /* vlan was given by the exporter */
#define NF_REC_NO_TIME 0x04 /* no time in the record: first_us, last_us are the export's */
#define NF_REC_IN_IF   0x08 /* in_if was given */
#define NF_REC_OUT_IF  0x10 /* out_if was given */
#define NF_REC_SAMPLED 0x20 /* a sampling rate > 1 was applied to the counters */

/* One flow record, direction as the exporter saw it (unidirectional,
 * except biflows). Counters are already multiplied by the sampling rate,
 * saturating at UINT64_MAX. ICMP: sport is 0 and dport is type * 256 +
 * code (the NetFlow v5 convention), whatever the version. */
struct nf_record {
	struct ip_addr src; /* family 4 or 6; v4 zero-padded as in base/ipaddr.h */
	struct ip_addr dst;
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;
	uint8_t tcp_flags;     /* OR of the flags of the (forward) packets */
	uint8_t rev_tcp_flags; /* biflows: OR of the reverse direction's flags */
	uint8_t version;       /* 5, 9 or 10 */
	uint16_t vlan;         /* 802.1Q id when NF_REC_VLAN, else 0 */
	uint16_t flags;        /* NF_REC_* */
	uint32_t in_if;        /* ingress / egress interface index (SNMP ifIndex) */
	uint32_t out_if;
	uint64_t packets;
	uint64_t octets;
	uint64_t rev_packets; /* biflows only, else 0 */
	uint64_t rev_octets;
	uint64_t first_us; /* microseconds since the Unix epoch */
	uint64_t last_us;
	uint32_t sampling;       /* the rate applied (1: unsampled, or unknown) */
	uint32_t domain;         /* IPFIX observation domain, v9 source id,
	                            v5 engine_type << 8 | engine_id */
	struct ip_addr exporter; /* who sent the datagram */
	uint16_t exporter_port;
};

/* Called for every flow record decoded; r is valid only during the call.
 * For the sensor's flow-level detectors a record is one direction of a
 * flow: src is the side that sent packets/octets (the reverse direction
 * too, in rev_*, for biflows), first_us/last_us bound them. */
typedef void (*nf_record_fn)(void *ctx, const struct nf_record *r);

struct nf_config {
	uint32_t max_exporters;       /* sessions in all, 1..1,000,000 */
	uint32_t max_templates;       /* per session, 1..65,280 */
	uint64_t template_timeout_us; /* a template not refreshed for this long is
	                                 dropped (0: never); 30 min is usual */
};

/* Counters: what was read, and everything refused with its reason. */
enum nf_counter {
	NF_C_DATAGRAMS, /* datagrams offered */
	NF_C_DATAGRAMS_V5,
	NF_C_DATAGRAMS_V9,
	NF_C_DATAGRAMS_IPFIX,
	NF_C_RECORDS,        /* flow records delivered to the callback */
	NF_C_OPTION_RECORDS, /* options data records read (sampling, init time) */
	NF_C_TEMPLATES_ADDED,
	NF_C_TEMPLATES_CHANGED, /* an id re-announced with a different layout */
	NF_C_TEMPLATES_WITHDRAWN,
	NF_C_TEMPLATES_EXPIRED, /* not refreshed within template_timeout_us */
	NF_C_SEQ_GAPS,          /* sequence numbers skipped forward (events) */
	NF_C_SEQ_LOST,          /* what the gaps skipped: v5 and IPFIX count
	                           records, v9 counts datagrams */
	NF_C_SEQ_LATE,          /* a sequence number behind the expected one */
	/* refused, by reason */
	NF_C_BAD_VERSION,      /* not 5, 9 or 10 */
	NF_C_SHORT_HEADER,     /* shorter than its version's header */
	NF_C_BAD_LENGTH,       /* IPFIX length field past the datagram or below 16;
	                          v5 count above 30 or past the datagram */
	NF_C_BAD_SET,          /* set/flowset length below 4 or past the message:
	                          the rest of the message is skipped */
	NF_C_RESERVED_SET,     /* set id 2..255 (v9) or 0, 1, 4..255 (IPFIX): skipped */
	NF_C_BAD_TEMPLATE,     /* id below 256, bad scope count, cut short */
	NF_C_TEMPLATE_FIELDS,  /* more than NF_MAX_FIELDS fields */
	NF_C_TEMPLATE_LENGTH,  /* records would be longer than a datagram, or empty */
	NF_C_TEMPLATE_LIMIT,   /* the session already holds max_templates */
	NF_C_EXPORTER_LIMIT,   /* datagrams of a new session when max_exporters are live */
	NF_C_NO_TEMPLATE,      /* data sets whose template is unknown (not buffered) */
	NF_C_RECORD_TRUNCATED, /* a variable-length field runs past its set */
	NF_C_NO_ADDRESS,       /* data records with no source or destination address */
	NF_C_FIELD_LENGTH,     /* template fields with a length their IE cannot
	                          have: read as unknown (skipped) */
	NF_C_SAMPLER_LIMIT,    /* sampler ids beyond NF_MAX_SAMPLERS per session */
	NF_C_NOMEM,            /* an allocation failed: the template or session is lost */
	NF_C_MAX
};

#define NF_MAX_FIELDS   512 /* fields of one template */
#define NF_MAX_SAMPLERS 16  /* sampler / selector ids remembered per session */

struct nf_stats {
	uint64_t c[NF_C_MAX];
	uint64_t exporters; /* live sessions */
	uint64_t templates; /* live templates, all sessions */
};

/* Returns the counter's stable snake_case name ("templates_expired"). */
const char *nf_counter_name(enum nf_counter c);

struct nf_collector;

/* Creates a collector calling on_record (with ctx) for each flow record.
 * Returns NULL on allocation failure or a config outside its ranges. */
struct nf_collector *nf_collector_new(const struct nf_config *cfg, nf_record_fn on_record,
                                      void *ctx);

/* Frees the collector with every session and template it holds. */
void nf_collector_free(struct nf_collector *c);

/* Parses one UDP datagram of len bytes, received from exporter:port at
 * now_us (microseconds on any clock the caller keeps from going backwards;
 * used only for template and session expiry, never for record times, which
 * come from the exporter). Calls on_record for each flow record before
 * returning; on_record must not call back into the collector. Returns the
 * number of records delivered, or a negative yg_err when the datagram was
 * refused as a whole (the reason is counted). p is borrowed for the call;
 * nothing outside p[0..len) is read. */
int nf_collector_datagram(struct nf_collector *c, const uint8_t *p, size_t len,
                          const struct ip_addr *exporter, uint16_t port, uint64_t now_us);

/* Drops templates not refreshed within the timeout and sessions that hold
 * no template and were silent for as long, as of now_us. Datagrams expire
 * what they touch already; call this now and then so that exporters that
 * went away release their memory. */
void nf_collector_expire(struct nf_collector *c, uint64_t now_us);

/* The counters, live: valid until nf_collector_free(). */
const struct nf_stats *nf_collector_stats(const struct nf_collector *c);

/* One exporter session as nf_collector_sessions() reports it. */
struct nf_session_info {
	struct ip_addr exporter;
	uint8_t version;
	uint32_t domain;
	uint32_t templates;
	uint32_t sampling; /* the session's default rate from options (1: none) */
	uint64_t datagrams;
	uint64_t records;
	uint64_t seq_gaps;
	uint64_t seq_lost;
	uint64_t last_us; /* now_us of its last datagram */
};

/* Calls fn for each live session, in no particular order. fn must not
 * call back into the collector. */
void nf_collector_sessions(const struct nf_collector *c,
                           void (*fn)(void *ctx, const struct nf_session_info *s), void *ctx);

#endif
