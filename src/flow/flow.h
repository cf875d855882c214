/* flow.h - the bidirectional flow table.
 *
 * Flows live in a fixed pool sized at creation (max_flows); a full pool
 * evicts the flow idle longest (counted). Flows are keyed on the 5-tuple
 * plus VLAN ids, stored in a canonical order so both directions find the
 * same entry. Single-threaded: one table per processing thread. */
#ifndef YAGURA_FLOW_FLOW_H
#define YAGURA_FLOW_FLOW_H

#include <stdint.h>

#include "base/err.h"
#include "decode/decode.h"

/* Addresses and ports in canonical order: side 0 is the smaller
 * (address, port) pair. Padding is zeroed so keys compare with memcmp. */
struct flow_key {
	uint8_t addr[2][16];
	uint16_t port[2];
	uint16_t vlan[2];
	uint8_t proto;
	uint8_t family;
	uint8_t pad[2];
};
_Static_assert(sizeof(struct flow_key) == 44, "flow_key is compared as 5 words and a half");

enum flow_state {
	FLOW_STATE_NEW = 0,     /* one direction seen (or TCP handshake not done) */
	FLOW_STATE_ESTABLISHED, /* both directions seen (TCP: handshake done) */
	FLOW_STATE_CLOSED       /* TCP: FIN both ways, or RST */
};

enum flow_end_reason {
	FLOW_END_TIMEOUT = 0,    /* idle longer than the idle (or closed) timeout */
	FLOW_END_ACTIVE_TIMEOUT, /* lived longer than the active timeout */
	FLOW_END_CLOSED,         /* TCP closed and a new connection reused the tuple */
	FLOW_END_SHUTDOWN,       /* end of input */
	FLOW_END_EVICTED         /* the pool was full */
};

const char *flow_state_name(enum flow_state s);
const char *flow_end_reason_name(enum flow_end_reason r);

/* det_flags bit: an alert was raised about this flow. */
#define FLOW_ALERTED 0x80

/* Direction of a packet relative to its flow. */
enum { FLOW_TOSERVER = 0, FLOW_TOCLIENT = 1 };

enum app_proto {
	APP_NONE = 0,
	APP_DNS,
	APP_TLS,
	APP_HTTP
};

const char *app_proto_name(enum app_proto p);

struct flow {
	struct flow_key key;
	uint8_t client;       /* key side (0 or 1) of the initiator */
	uint8_t state;        /* enum flow_state */
	uint8_t app_proto;    /* enum app_proto */
	uint8_t meta_seen;    /* client payload packets offered to the extractors */
	uint8_t tcp_flags[2]; /* OR of flags seen, by direction FLOW_TO* */
	uint8_t fin_seen;     /* bit per direction */
	uint8_t icmp_type;    /* first packet's, for ICMP flows */
	uint8_t icmp_code;
	uint8_t det_flags;    /* detectors' marks (detect/detect_int.h), FLOW_ALERTED */
	uint8_t det_aux;      /* a detector's scratch byte (detect/detect_int.h) */
	uint8_t pad;
	uint32_t hnext;       /* hash chain */
	uint32_t prev, next;  /* timeout list */
	uint32_t queued;      /* last_us >> 20 when last put at the list's tail */
	uint64_t flow_id;
	uint64_t pkts[2];     /* by direction */
	uint64_t bytes[2];    /* frames' lengths on the wire (EVE, Suricata's measure) */
	uint64_t ip_bytes[2]; /* IP packets' lengths (packet.ip_len): IPFIX octets */
	uint64_t first_us;
	uint64_t last_us;
	/* Periodicity of the client's bursts inside the flow, for the C2
	 * beacon detector: Welford's running mean and M2 of the intervals. */
	uint32_t beat_last_ms; /* start of the last burst, ms after first_us + 1 (0: none) */
	uint32_t beat_seen_ms; /* last client payload, ms after first_us */
	uint16_t beat_n;       /* intervals measured */
	uint16_t beat_pad;
	float beat_mean;
	float beat_m2;
};

struct flow_config {
	uint32_t max_flows;
	uint64_t idle_timeout_us;
	uint64_t active_timeout_us;
	uint64_t closed_timeout_us;
};

struct flow_stats {
	uint64_t created;
	uint64_t ended;
	uint64_t evicted;
	uint64_t active; /* live now */
	uint64_t peak;   /* most live at once */
};

/* Called for every flow that ends, before its slot is reused. The flow is
 * valid only during the call. */
typedef void (*flow_end_fn)(void *ctx, const struct flow *f, enum flow_end_reason why);

struct flow_table;

/* Creates a table; the pool is reserved (not touched) up front. Returns
 * NULL on allocation failure or max_flows outside 1..2^31. */
struct flow_table *flow_table_new(const struct flow_config *cfg, flow_end_fn on_end, void *ctx);

/* Ends every live flow with FLOW_END_SHUTDOWN (calling on_end), then frees. */
void flow_table_free(struct flow_table *t);

/* Ends the flows idle past their timeout at now_us, as a packet of that
 * time would: for a live capture, whose clock goes on when no packet
 * comes. */
void flow_table_advance(struct flow_table *t, uint64_t now_us);

/* Ends every live flow with the given reason; the table stays usable. */
void flow_table_flush(struct flow_table *t, enum flow_end_reason why);

/* Events of one packet for its flow (*events of flow_table_update). */
enum {
	FLOW_EV_NEW = 1,        /* the packet created the flow */
	FLOW_EV_ESTABLISHED = 2 /* the packet completed the TCP handshake */
};

/* Accounts pkt to its flow, creating it if needed, after expiring flows
 * idle longer than their timeout as of pkt->ts_us. Sets *dir to the
 * packet's direction and *events to its FLOW_EV_* bits. Never fails: a
 * full pool evicts. */
struct flow *flow_table_update(struct flow_table *t, const struct packet *pkt, int *dir,
			       unsigned *events);

/* The same in steps, for callers that process packets in batches: prepare
 * every packet's key, prefetch the buckets, then the flows, then update.
 * Prefetching is only a hint: updates stay correct whatever happened to
 * the table in between. */
struct flow_lookup {
	struct flow_key key;
	uint64_t hash;
	int side; /* key side of the packet's source */
};

void flow_lookup_prepare(const struct packet *pkt, struct flow_lookup *lk);
void flow_table_prefetch_bucket(const struct flow_table *t, const struct flow_lookup *lk);
void flow_table_prefetch_flow(const struct flow_table *t, const struct flow_lookup *lk);
struct flow *flow_table_update_prepared(struct flow_table *t, const struct packet *pkt,
					const struct flow_lookup *lk, int *dir, unsigned *events);

const struct flow_stats *flow_table_stats(const struct flow_table *t);

/* Address and port of a flow's client (initiator) and server. */
static inline int flow_server_side(const struct flow *f)
{
	return f->client ^ 1;
}

#endif
