/* post.h - sending alerts to a tower through a spool on disk.
 *
 * Every alert is appended to a spool file before anything else happens to
 * it; a sender thread posts the spool in batches to the tower's
 * /api/v1/alerts, and forgets a line only after the tower acknowledged it
 * (2xx). While the tower is down or restarting the sender backs off and
 * retries; what is still spooled when the process ends is sent by the next
 * run with the same spool. Alerts carry an alert_id, so a batch resent
 * after a crash is stored once. */
#ifndef YAGURA_OUTPUT_POST_H
#define YAGURA_OUTPUT_POST_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct poster;

struct poster_stats {
	uint64_t spooled;  /* alerts appended this run */
	uint64_t sent;     /* alerts the tower acknowledged this run */
	uint64_t retries;  /* failed attempts */
	uint64_t left;     /* alerts still in the spool after poster_finish */
	char why[160];     /* why the last attempt failed ("" if none did) */
};

/* An https:// tower: PEM files, borrowed for the poster's life. */
struct poster_tls {
	const char *ca;		/* the CA to trust; NULL: the system's */
	const char *cert, *key; /* a client certificate; NULL: none */
};

/* Starts a poster to url (the tower's base, "http://127.0.0.1:8080") with
 * a bearer token, spooling in dir (created if missing). token may be ""
 * when tls (may be NULL) has a client certificate: it is the credential
 * then. Returns 0 or a negative yg_err with a one-line reason in err. */
int poster_new(const char *url, const char *token, const struct poster_tls *tls,
	       const char *dir, struct poster **out, char *err, size_t errlen) YG_MUST_CHECK;

/* Appends one alert record (a JSON object, without newline). Thread-safe. */
int poster_add(struct poster *p, const char *json, size_t len);

/* Makes the spool durable, then waits up to wait_s seconds for the sender
 * to drain it; stops the sender and frees. stats, when given, is filled. */
void poster_finish(struct poster *p, unsigned wait_s, struct poster_stats *stats);

#endif
