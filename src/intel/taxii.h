/* taxii.h - a sensor's copy of a TAXII 2.1 collection of indicators: the
 * envelopes a poller fetches are applied to it (new objects, newer
 * versions, revocations, expiries), and it is turned into one STIX bundle
 * that the intel loader builds a snapshot from.
 *
 * Pure: no I/O, no clock (the caller passes now), no threads. The poller
 * (src/cli/taxii_poll.c) does the HTTP and owns the locking; the fuzz
 * target feeds envelopes straight in. One set per poller, used by one
 * thread at a time. */
#ifndef YAGURA_INTEL_TAXII_H
#define YAGURA_INTEL_TAXII_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Objects one envelope may carry: a server's page is at most 1000 by the
 * limit the poller asks for; ten times that is hostile, not generous. */
#define INTEL_TAXII_PAGE_OBJECTS 10000
#define INTEL_TAXII_NEXT_MAX 128

/* What an envelope says about paging. */
struct intel_taxii_page {
	bool more;
	char next[INTEL_TAXII_NEXT_MAX]; /* "" when the envelope gives none */
};

/* What applying envelopes changed. Caller-owned; zero it, then pass it to
 * each apply and expire to add up. Only added, updated, revoked and
 * expired change what is in force. */
struct intel_taxii_delta {
	uint64_t added;     /* an indicator not in force before */
	uint64_t updated;   /* a newer version of one in force */
	uint64_t revoked;   /* one in force, now revoked: true */
	uint64_t expired;   /* one in force whose valid_until has passed */
	uint64_t duplicate; /* a version already seen: (id, modified) */
	uint64_t stale;     /* older than the version held */
	uint64_t other;     /* objects that are not indicators */
	uint64_t malformed; /* indicators without a valid id or modified, or with a
			       bad revoked or valid_until */
	uint64_t refused;   /* new ids past the set's limit */
};

struct intel_taxii_set;

/* An empty set holding at most max_ids indicator ids (in force or
 * revoked; 0: 4 Mi). Returns NULL on allocation failure. */
struct intel_taxii_set *intel_taxii_set_new(size_t max_ids);

/* Frees the set. NULL is a no-op. */
void intel_taxii_set_free(struct intel_taxii_set *s);

/* Applies one TAXII 2.1 envelope ({"more", "next", "objects"}; len bytes,
 * no NUL needed) at now (Unix microseconds): an indicator new to the set
 * or newer than the version held replaces it; revoked: true or a
 * valid_until at or before now takes it out of force; other objects are
 * counted and ignored. All or nothing: an envelope of the wrong shape
 * (not JSON, wrong types, more than INTEL_TAXII_PAGE_OBJECTS objects)
 * changes nothing, returns YG_EFORMAT and says why in err (one line, n
 * bytes); YG_ENOMEM changes nothing either. Returns 0, with *page filled
 * and the changes added to *d. */
int intel_taxii_apply(struct intel_taxii_set *s, const void *buf, size_t len, int64_t now,
		      struct intel_taxii_page *page, struct intel_taxii_delta *d, char *err,
		      size_t n) YG_MUST_CHECK;

/* Takes out of force every indicator whose valid_until is at or before
 * now, adding them to d->expired. Returns how many. */
uint64_t intel_taxii_expire(struct intel_taxii_set *s, int64_t now, struct intel_taxii_delta *d);

/* Indicators in force. */
size_t intel_taxii_count(const struct intel_taxii_set *s);

/* The indicators in force as one STIX 2.1 bundle, for intel_load_buffer()
 * (INTEL_FORMAT_STIX): *out (the caller frees) of *len bytes, NUL
 * terminated. Returns 0 or YG_ENOMEM. */
int intel_taxii_bundle(const struct intel_taxii_set *s, char **out, size_t *len) YG_MUST_CHECK;

#endif
