/* monitor_poll.h - yagura analyze --tower: fetching the sensor's monitoring
 * authorizations from its tower, at start and then every poll interval,
 * and publishing them as the scope the pipeline enforces. */
#ifndef YAGURA_SENSOR_MONITOR_POLL_H
#define YAGURA_SENSOR_MONITOR_POLL_H

#include "base/snap.h"

struct monitor_poll;

/* Fetches the authorizations from the tower at url with token, publishes
 * them in a new handle (monitor_poll_handle) and prints what is active,
 * all before any packet is read. Returns 0 and *out, or -1 after printing
 * one line naming url and why the tower could not be asked or refused. */
int monitor_poll_start(const char *url, const char *token, unsigned interval_s,
		       struct monitor_poll **out);

/* The handle the pipeline acquires the scope from (owned by mp). */
struct snap_handle *monitor_poll_handle(struct monitor_poll *mp);

/* Starts the poller thread: every interval it fetches again and publishes
 * a changed set; when a fetch fails it keeps the last list, expiring what
 * it holds by the local clock. Returns 0 or -1. */
int monitor_poll_run(struct monitor_poll *mp);

/* Stops the thread (if running) and frees everything but nothing the
 * pipeline still uses: call after pipeline_free(). NULL is a no-op. */
void monitor_poll_free(struct monitor_poll *mp);

#endif
