/* eve.h - EVE JSON lines (Suricata's field names) to a file descriptor.
 *
 * Records are built in a buffer and written in large blocks. Write errors
 * are sticky: eve_error() reports the first, and later records are
 * dropped. Single-threaded. */
#ifndef YAGURA_OUTPUT_EVE_H
#define YAGURA_OUTPUT_EVE_H

#include <pthread.h>
#include <stdint.h>

#include "decode/appmeta.h"
#include "decode/decode.h"
#include "detect/alert.h"
#include "flow/flow.h"

struct eve;

/* Creates a writer on fd (not closed by eve_free). Returns NULL on
 * allocation failure. */
struct eve *eve_new(int fd);

/* Writers sharing one file descriptor (a sensor's workers): each write of
 * whole records to it is made holding mu, so that records never
 * interleave. NULL: no lock (the default). */
void eve_set_lock(struct eve *e, pthread_mutex_t *mu);

/* Flushes what is buffered, then frees. Returns 0 or the first error
 * (negative yg_err; errno holds the cause for YG_EIO). */
int eve_free(struct eve *e);

int eve_error(const struct eve *e);

/* Writes out what is buffered; returns 0 or the sticky error. */
int eve_flush(struct eve *e);

/* One "flow" record for a flow that ended. */
void eve_flow(struct eve *e, const struct flow *f, enum flow_end_reason why);

/* Metadata records; the packet gives timestamp and direction. */
void eve_dns(struct eve *e, const struct flow *f, const struct packet *pkt,
	     const struct dns_meta *m);
void eve_tls(struct eve *e, const struct flow *f, const struct packet *pkt,
	     const struct tls_meta *m);
void eve_http(struct eve *e, const struct flow *f, const struct packet *pkt,
	      const struct http_meta *m);

/* One "alert" record. */
void eve_alert(struct eve *e, const struct alert *a);

/* Pseudonymization: when set, every address written (flows, metadata,
 * alerts) goes through fn first, which may rewrite it in place; Community
 * ID is computed on the rewritten addresses. */
typedef int (*eve_protect_fn)(void *ctx, struct ip_addr *a);
void eve_set_protect(struct eve *e, eve_protect_fn fn, void *ctx);

/* A second destination for alert records (the spool to a tower): fn gets
 * each alert's JSON line, without the newline. Alerts then carry an
 * "alert_id" unique to the run and the alert ("<run>-<n>"), so that a tower
 * stores a resent alert once. */
typedef void (*eve_tee_fn)(void *ctx, const char *json, size_t len);
void eve_set_alert_tee(struct eve *e, eve_tee_fn fn, void *ctx);

/* A second destination for flow records (the flows' stream): fn gets each
 * flow record's JSON line, without the newline, as written. */
void eve_set_flow_tee(struct eve *e, eve_tee_fn fn, void *ctx);

/* Counts of records written, by type. */
struct eve_stats {
	uint64_t flow, dns, tls, http, alert, bytes;
};
const struct eve_stats *eve_stats(const struct eve *e);

/* EVE's name for an IP protocol ("TCP", "UDP", "ICMP", "IPv6-ICMP",
 * "SCTP", or the decimal number); buf holds at least 4 bytes. */
const char *eve_proto_name(uint8_t proto, char *buf);

#endif
