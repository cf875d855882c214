/* netflow_int.h - the collector's insides, shared by session.c (sessions,
 * templates, limits) and parse.c (the three wire formats). */
#ifndef YAGURA_NETFLOW_NETFLOW_INT_H
#define YAGURA_NETFLOW_NETFLOW_INT_H

#include <stdint.h>

#include "netflow/netflow.h"

#define NF_VARLEN 65535 /* IPFIX field length meaning "variable" */

/* What a template field means to us, decided once when the template
 * arrives so that records are decoded with a switch on a small enum. */
enum nf_role {
	R_SKIP = 0,
	R_OCTETS,            /* 1 octetDeltaCount, 85 octetTotalCount */
	R_PACKETS,           /* 2 packetDeltaCount, 86 packetTotalCount */
	R_POST_OCTETS,       /* 23 postOctetDeltaCount: used when 1/85 are absent */
	R_POST_PACKETS,      /* 24 */
	R_REV_OCTETS,        /* PEN 29305 reverse of 1 or 85 */
	R_REV_PACKETS,       /* PEN 29305 reverse of 2 or 86 */
	R_REV_FLAGS,         /* PEN 29305 reverse of 6 */
	R_PROTO,             /* 4 */
	R_TCP_FLAGS,         /* 6 */
	R_SPORT,             /* 7 */
	R_DPORT,             /* 11 */
	R_SRC4,              /* 8 */
	R_DST4,              /* 12 */
	R_SRC6,              /* 27 */
	R_DST6,              /* 28 */
	R_IN_IF,             /* 10 */
	R_OUT_IF,            /* 14 */
	R_VLAN,              /* 58 vlanId, 243 dot1qVlanId */
	R_ICMP,              /* 32, 139 icmpTypeCode */
	R_ICMP_TYPE,         /* 176, 178 */
	R_ICMP_CODE,         /* 177, 179 */
	R_END_UPTIME,        /* 21 flowEndSysUpTime, ms */
	R_START_UPTIME,      /* 22 flowStartSysUpTime, ms */
	R_START_S,           /* 150 */
	R_END_S,             /* 151 */
	R_START_MS,          /* 152 */
	R_END_MS,            /* 153 */
	R_START_US,          /* 154, NTP format */
	R_END_US,            /* 155 */
	R_START_NS,          /* 156, NTP format */
	R_END_NS,            /* 157 */
	R_START_DELTA_US,    /* 158 flowStartDeltaMicroseconds, before export time */
	R_END_DELTA_US,      /* 159 */
	R_SYS_INIT_MS,       /* 160 systemInitTimeMilliseconds */
	R_SAMPLING_INTERVAL, /* 34 samplingInterval (v9 SAMPLING_INTERVAL) */
	R_SAMPLER_INTERVAL,  /* 50 samplerRandomInterval (v9 FLOW_SAMPLER_RANDOM_INTERVAL) */
	R_SAMPLER_ID,        /* 48 samplerId (v9 FLOW_SAMPLER_ID), 302 selectorId */
	R_PKT_INTERVAL,      /* 305 samplingPacketInterval: packets taken */
	R_PKT_SPACE,         /* 306 samplingPacketSpace: packets skipped */
	R_SAMPLING_SIZE,     /* 309 samplingSize */
	R_SAMPLING_POP,      /* 310 samplingPopulation */
	R_SAMPLING_PROB,     /* 311 samplingProbability, float64 */
};

struct nf_field {
	uint16_t len;  /* NF_VARLEN: variable */
	uint8_t role;  /* enum nf_role */
	uint8_t scope; /* a scope field of an options template */
};

struct nf_template {
	uint16_t id;
	uint16_t nfields;
	uint16_t nscope;
	uint8_t options;
	uint8_t varlen;     /* has variable-length fields */
	uint16_t nbad;      /* fields of a length their IE cannot have */
	uint32_t min_len;   /* record length, variable fields counted as 1 byte */
	uint64_t last_us;   /* last announced */
	uint32_t wire_hash; /* of the announced layout, to tell a change from a refresh */
	struct nf_field f[];
};

struct nf_sampler {
	uint64_t id;
	uint32_t rate;
};

struct nf_session {
	struct ip_addr addr;
	uint8_t version;
	uint8_t seq_known;
	uint8_t has_sys_init;
	uint8_t late_run; /* consecutive late sequence numbers */
	uint32_t domain;
	uint32_t next_seq;
	uint32_t hnext; /* bucket chain: index + 1, 0 ends */
	uint32_t rate;  /* default sampling rate from options (0: none) */
	uint32_t nsamplers;
	struct nf_sampler samplers[NF_MAX_SAMPLERS];
	uint64_t sys_init_ms;
	uint64_t last_us;
	uint64_t datagrams, records, seq_gaps, seq_lost;
	struct nf_template **tmpl; /* sorted by id */
	uint32_t ntmpl, cap;
};

struct nf_collector {
	struct nf_config cfg;
	nf_record_fn on_record;
	void *ctx;
	struct nf_stats stats;
	struct nf_session **sess; /* slots, NULL when free */
	uint32_t nsess;           /* live */
	uint32_t *bucket;         /* index + 1 of the chain's first session */
	uint32_t nbuckets;        /* a power of two */
	uint32_t *free_slots;     /* stack of free slot indices */
	uint32_t nfree;
	uint64_t last_sweep_us; /* last sweep for quiet sessions when full */
};

static inline void nf_count(struct nf_collector *c, enum nf_counter k)
{
	c->stats.c[k]++;
}

/* session.c */

/* Finds or creates the session; NULL (counted) when the exporter limit or
 * an allocation refuses a new one. */
struct nf_session *nf_session_get(struct nf_collector *c, const struct ip_addr *addr,
                                  uint8_t version, uint32_t domain, uint64_t now_us);

/* Accounts the sequence number seq of a message whose own size (in the
 * version's unit) is n; counts gaps and late messages. known 0: n is not
 * known (a data set was skipped), so the next message is not checked. */
void nf_session_seq(struct nf_collector *c, struct nf_session *s, uint32_t seq, uint32_t n,
                    int known);

/* The live template id, or NULL (dropping it, counted, if it expired). */
struct nf_template *nf_template_find(struct nf_collector *c, struct nf_session *s, uint16_t id,
                                     uint64_t now_us);

/* Installs t (ownership passes) replacing any template of the same id;
 * frees t and counts when the session is full. */
void nf_template_put(struct nf_collector *c, struct nf_session *s, struct nf_template *t);

/* Withdraws one id, or every data (options 0) or options (1) template
 * when all_kind >= 0. */
void nf_template_withdraw(struct nf_collector *c, struct nf_session *s, uint16_t id, int all_kind);

/* Remembers a sampler id's rate (counted when the table is full). */
void nf_sampler_set(struct nf_collector *c, struct nf_session *s, uint64_t id, uint32_t rate);
uint32_t nf_sampler_rate(const struct nf_session *s, uint64_t id);

/* parse.c */
int nf_parse_v5(struct nf_collector *c, const uint8_t *p, size_t len, const struct ip_addr *from,
                uint16_t port, uint64_t now_us);
int nf_parse_v9(struct nf_collector *c, const uint8_t *p, size_t len, const struct ip_addr *from,
                uint16_t port, uint64_t now_us);
int nf_parse_ipfix(struct nf_collector *c, const uint8_t *p, size_t len, const struct ip_addr *from,
                   uint16_t port, uint64_t now_us);

#endif
