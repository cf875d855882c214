/* taxii_poll.h - yagura analyze --intel-taxii: a TAXII 2.1 collection of
 * indicators fetched whole at start, then polled with added_after, its
 * additions and revocations handed to the caller as one STIX bundle to
 * build a new intel snapshot from while packets keep flowing. */
#ifndef YAGURA_SENSOR_TAXII_POLL_H
#define YAGURA_SENSOR_TAXII_POLL_H

#include <stddef.h>

struct taxii_poll;

/* Called with the indicators in force as one STIX bundle (the callee owns
 * it) after every change, on the thread that fetched: start's caller, then
 * the poller. Returns how many of them the intel loader refused, or -1 when
 * no snapshot could be built (the poller tries again at the next poll). */
typedef int (*taxii_publish_fn)(void *ctx, char *bundle, size_t len);

/* Fetches every page of collection from the TAXII API root url (a URL
 * with no path stands for a yagura tower's, /taxii2/api/) with token, and
 * publishes it, all before any packet is read. Returns 0 and *out, or -1
 * after printing one line naming the collection, url and why. */
int taxii_poll_start(const char *url, const char *collection, const char *token,
		     unsigned interval_s, taxii_publish_fn publish, void *ctx,
		     struct taxii_poll **out);

/* Starts the poller thread: every interval it asks for what was added
 * since the last poll (and takes expired indicators out), and publishes
 * a changed set with one line on stderr; a failed poll is one warning and
 * keeps the last good set. Returns 0 or -1. */
int taxii_poll_run(struct taxii_poll *tp);

/* Stops the thread (if running) and frees everything. NULL is a no-op. */
void taxii_poll_free(struct taxii_poll *tp);

#endif
