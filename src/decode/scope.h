/* scope.h - what the sensor is authorized to analyse: a set of monitoring
 * authorizations, each a list of IPv4/IPv6 prefixes and a list of VLAN ids.
 *
 * A packet is inside an authorization when (its prefix list is empty or
 * the packet's source or destination lies in one of the prefixes) and (its
 * VLAN list is empty or one of the packet's VLAN tags is in it); it is
 * authorized when it is inside at least one. A scope with no authorization
 * admits nothing.
 *
 * A scope is built by one thread (decode_scope_new, then _add_*), then
 * never changed: publish it through a snap_handle (decode_scope_ref) and
 * read it from any number of threads. Each authorization's prefixes are
 * kept as sorted, disjoint address ranges (a prefix inside another is
 * dropped as it is added), so that a lookup is a binary search: a handful
 * of prefixes cost nothing measurable and the parser's cap of
 * DECODE_SCOPE_MAX_PREFIXES costs about ten steps, not a thousand. */
#ifndef YAGURA_DECODE_SCOPE_H
#define YAGURA_DECODE_SCOPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/ipaddr.h"
#include "base/snap.h"

#define DECODE_SCOPE_MAX_AUTHS 256
#define DECODE_SCOPE_MAX_PREFIXES 1024
#define DECODE_SCOPE_MAX_VLANS 4096

struct decode_scope;
struct packet;

/* An empty scope (admits nothing) holding one reference, the caller's.
 * NULL on allocation failure. */
struct decode_scope *decode_scope_new(void);

/* Starts a new authorization, id; the prefixes and VLANs added next belong
 * to it. Returns 0, YG_ENOMEM, or YG_ELIMIT past DECODE_SCOPE_MAX_AUTHS. */
int decode_scope_add_auth(struct decode_scope *s, int64_t id) YG_MUST_CHECK;

/* Adds net/bits (host bits are ignored) to the current authorization.
 * Returns 0, YG_ENOMEM, YG_ELIMIT past DECODE_SCOPE_MAX_PREFIXES in all,
 * or YG_EINVAL (no authorization started, bits too long for the family). */
int decode_scope_add_prefix(struct decode_scope *s, const struct ip_addr *net,
			    unsigned bits) YG_MUST_CHECK;

/* Adds VLAN id vid (0..4095) to the current authorization. Returns 0,
 * YG_ENOMEM, YG_ELIMIT past DECODE_SCOPE_MAX_VLANS in all, or YG_EINVAL
 * (no authorization started, vid out of range). */
int decode_scope_add_vlan(struct decode_scope *s, unsigned vid) YG_MUST_CHECK;

/* True when pkt (its src, dst and VLAN tags set) is inside at least one
 * authorization. Allocates nothing; thread-safe on a published scope. */
int decode_scope_allows(const struct decode_scope *s, const struct packet *pkt);

/* Authorizations in the scope, and the id of the i-th (in order added). */
size_t decode_scope_count(const struct decode_scope *s);
int64_t decode_scope_id(const struct decode_scope *s, size_t i);

/* True when a and b admit the same packets by the same authorizations
 * (same ids, the same address ranges, the same VLANs in the same order). */
int decode_scope_equal(const struct decode_scope *a, const struct decode_scope *b);

/* The scope's reference, for snap_handle_publish(); and back from what
 * snap_handle_acquire() returns (NULL stays NULL). */
struct snap_ref *decode_scope_ref(struct decode_scope *s);
struct decode_scope *decode_scope_from_ref(struct snap_ref *r);

/* Drops the caller's reference (NULL is a no-op). */
void decode_scope_release(struct decode_scope *s);

#endif
