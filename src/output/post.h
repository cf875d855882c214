/* post.h - sending alerts through a spool on disk: to a tower over HTTP,
 * or to anything else a sender (struct poster_sender) delivers to.
 *
 * Every alert is appended to a spool file before anything else happens to
 * it; a thread hands the spool in batches to the sender (HTTP: a POST to
 * the tower's /api/v1/alerts; the sensor's other one publishes to a
 * JetStream stream), and forgets a line only after the sender says it was
 * acknowledged. While the far end is down or restarting the thread backs
 * off and retries; what is still spooled when the process ends is sent by
 * the next run with the same spool. Alerts carry an alert_id, so a batch
 * resent after a crash is stored once. */
#ifndef YAGURA_OUTPUT_POST_H
#define YAGURA_OUTPUT_POST_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct poster;

/* One spooled alert, a JSON object without its newline. */
struct poster_line {
	const char *p;
	size_t len;
};

#define POSTER_REJECTED (-1) /* the far end will never take this batch */

/* How a poster delivers. send is called on the poster's thread only, one
 * batch at a time, and returns how many of the batch's first lines are
 * acknowledged (0 to n: the rest is tried again after a back-off, and a
 * reason goes in why), or POSTER_REJECTED when the batch can never be
 * taken as it is: its segment is then set aside (SEGMENT.rejected) rather
 * than block every alert after it. ctx stays the caller's; it must outlive
 * poster_finish. name is the messages' prefix ("post", "stream"). */
struct poster_sender {
	const char *name;
	int (*send)(void *ctx, const struct poster_line *lines, int n, char *why,
		    size_t whylen);
	void *ctx;
};

struct poster_stats {
	uint64_t spooled;  /* alerts appended this run */
	uint64_t sent;     /* alerts the tower acknowledged this run */
	uint64_t retries;  /* failed attempts */
	uint64_t left;     /* alerts still in the spool after poster_finish */
	char why[200];     /* why the last attempt failed ("" if none did) */
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

/* Starts a poster that delivers through snd (copied; its ctx borrowed),
 * spooling in dir (created if missing). Returns 0 or a negative yg_err
 * with a one-line reason in err. */
int poster_open(const struct poster_sender *snd, const char *dir, struct poster **out,
		char *err, size_t errlen) YG_MUST_CHECK;

/* Appends one alert record (a JSON object, without newline). Thread-safe. */
int poster_add(struct poster *p, const char *json, size_t len);

/* Makes the spool durable, then waits up to wait_s seconds for the sender
 * to drain it; stops the sender and frees. stats, when given, is filled. */
void poster_finish(struct poster *p, unsigned wait_s, struct poster_stats *stats);

#endif
