/* ipfix.h - yagura's flows as IPFIX (RFC 7011), bidirectional per RFC 5103.
 *
 * Two parts. The encoder (struct ipfix_enc) is pure: it builds messages in
 * a buffer of its own and does no I/O; the caller gives it the time and
 * takes each message when it is full. The exporter (struct ipfix_exporter)
 * puts the encoder in front of a connected UDP socket.
 *
 * One record per flow: the initiator (yagura's client side) is the source,
 * its packets, octets and TCP flags are the forward counters, the
 * responder's are the reverse ones (Private Enterprise Number 29305).
 * Octets are yagura's byte counts: frame lengths on the wire, as in EVE's
 * bytes_toserver, link-layer header included. Four templates (IPv4, IPv6,
 * each with and without VLAN tags) are all sent before the first record and
 * again on the refresh policy of the configuration (RFC 7011 §8.4). Not
 * thread-safe: one encoder or exporter per thread. */
#ifndef YAGURA_IPFIX_IPFIX_H
#define YAGURA_IPFIX_IPFIX_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/ipaddr.h"
#include "flow/flow.h"

#define IPFIX_VERSION 10
#define IPFIX_PEN_REVERSE 29305 /* RFC 5103's reverse information elements */
#define IPFIX_DEFAULT_MTU 1400
#define IPFIX_MIN_MTU 512 /* header, all four templates and one record fit */
#define IPFIX_MAX_MTU 65535
#define IPFIX_DEFAULT_REFRESH_S 60
#define IPFIX_DEFAULT_REFRESH_MSGS 100

/* Template ids, fixed: a collector can tell them apart in a capture. */
enum {
	IPFIX_TMPL_V4 = 256,
	IPFIX_TMPL_V6 = 257,
	IPFIX_TMPL_V4_VLAN = 258,
	IPFIX_TMPL_V6_VLAN = 259
};

struct ipfix_config {
	uint32_t domain;       /* observation domain id */
	uint32_t mtu;          /* largest message in bytes, IPFIX_MIN_MTU..IPFIX_MAX_MTU */
	uint32_t refresh_s;    /* resend the templates once this many seconds have
				  passed since they were last sent (0: not on time) */
	uint32_t refresh_msgs; /* ... or once this many messages were sent since
				  (0: not on count). Both 0: templates go out once */
};

/* Domain 0, IPFIX_DEFAULT_MTU, IPFIX_DEFAULT_REFRESH_S and _MSGS. */
void ipfix_config_defaults(struct ipfix_config *c);

/* flowEndReason (RFC 7011's IE 136) for yagura's reason; a timeout of a flow
 * TCP had closed is an end detected (3), not an idle timeout (1). */
uint8_t ipfix_end_reason(enum flow_end_reason why, uint8_t state);

/* Rewrites an address in place before it is encoded (pseudonymization, as
 * eve_set_protect). Returns what it likes; the result is ignored. */
typedef int (*ipfix_protect_fn)(void *ctx, struct ip_addr *a);

struct ipfix_enc;

/* Creates an encoder. Returns NULL when cfg->mtu is out of range or memory
 * runs out. */
struct ipfix_enc *ipfix_enc_new(const struct ipfix_config *cfg);
void ipfix_enc_free(struct ipfix_enc *e);

void ipfix_enc_set_protect(struct ipfix_enc *e, ipfix_protect_fn fn, void *ctx);

/* ipfix_enc_add's answer when the message being built has no room left. */
#define IPFIX_FULL 1

/* Adds one record for flow f to the message being built; now_s (seconds
 * since the epoch) decides whether the templates are due when this record
 * starts a message. Returns 0, or IPFIX_FULL, adding nothing: take the
 * message (ipfix_enc_take) and add again. */
int ipfix_enc_add(struct ipfix_enc *e, const struct flow *f, enum flow_end_reason why,
		  uint32_t now_s) YG_MUST_CHECK;

/* Closes the message being built, its header stamped with export time now_s
 * and the sequence number (data records taken before it, modulo 2^32), and
 * sets *msg to it: valid until the next call on e. Returns its length, or 0
 * (and *msg NULL) when no record waits. */
size_t ipfix_enc_take(struct ipfix_enc *e, uint32_t now_s, const uint8_t **msg);

/* Records waiting in the message being built. */
unsigned ipfix_enc_pending(const struct ipfix_enc *e);

struct ipfix_stats {
	uint64_t records;   /* data records put in taken messages */
	uint64_t messages;  /* messages taken */
	uint64_t templates; /* of them, carrying the templates */
	uint64_t bytes;     /* their lengths */
	uint64_t send_errors; /* exporter: of the messages, those the socket refused */
	uint64_t records_lost; /* exporter: of the records, those in refused messages */
};

const struct ipfix_stats *ipfix_enc_stats(const struct ipfix_enc *e);

/* The exporter: encoder and UDP socket. */
struct ipfix_exporter;

/* Parses dest ("HOST:PORT", "[IPv6]:PORT"; HOST a name or an address),
 * resolves it and connects a UDP socket to it. Returns 0, YG_EINVAL (dest
 * malformed or not resolved), YG_EIO (socket) or YG_ENOMEM, with a one-line
 * reason in err. */
int ipfix_exporter_open(const char *dest, const struct ipfix_config *cfg,
			struct ipfix_exporter **out, char *err, size_t errlen) YG_MUST_CHECK;

void ipfix_exporter_set_protect(struct ipfix_exporter *x, ipfix_protect_fn fn, void *ctx);

/* Encodes one ended flow, sending the message before it when full. A send
 * that fails is counted (send_errors, records_lost), never fatal. Fits
 * flow_end_fn's shape through a small adapter. */
void ipfix_exporter_flow(struct ipfix_exporter *x, const struct flow *f,
			 enum flow_end_reason why);

/* Sends what waits. */
void ipfix_exporter_flush(struct ipfix_exporter *x);

/* Counts so far, the encoder's and the socket's. */
void ipfix_exporter_stats(const struct ipfix_exporter *x, struct ipfix_stats *out);

/* Flushes, closes the socket and frees. NULL is a no-op. */
void ipfix_exporter_free(struct ipfix_exporter *x);

#endif
