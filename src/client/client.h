/* client.h - HTTP calls to a tower's API (and a TAXII server's): the
 * terminal commands' (cli/client.h adds what they share) and the sensor's
 * pollers' (sensor/monitor_poll.h, sensor/taxii_poll.h). */
#ifndef YAGURA_CLIENT_CLIENT_H
#define YAGURA_CLIENT_CLIENT_H

#include <jansson.h>
#include <stddef.h>

/* One request to base + path with a bearer token (body and idempotency
 * key optional). Returns the HTTP status, 0 when the tower could not be
 * reached; *answer is the parsed JSON reply or NULL (caller decrefs). */
long client_call(const char *base, const char *token, const char *method, const char *path,
		 const char *body, const char *idem, json_t **answer);

/* The same for an answer that need not be JSON: a body of blen bytes of
 * type ctype (body NULL: none), and the answer's bytes whole in *out
 * (NUL-terminated; the caller frees) and *len. Returns the HTTP status, 0
 * when the tower could not be reached, -1 when the answer passed max
 * bytes; *out is NULL unless the status is positive. */
long client_call_raw(const char *base, const char *token, const char *method, const char *path,
		     const char *ctype, const char *body, size_t blen, size_t max, char **out,
		     size_t *len);

/* A GET of base + path (a TAXII server's, say) sending Accept: accept,
 * the answer as client_call_raw gives it, and the value of the answer's
 * header hname (any case) in hval, hn bytes: "" when it is absent or too
 * long to hold whole. */
long client_get_header(const char *base, const char *token, const char *path,
		       const char *accept, size_t max, char **out, size_t *len, const char *hname,
		       char *hval, size_t hn);

/* An https:// tower: trust the CA in the PEM file ca (NULL: the system's
 * CAs) and present the client certificate cert with its key (both NULL:
 * none). Process-wide, for every later request; the strings are borrowed.
 * Call it before starting threads that call a tower. */
void client_set_tls(const char *ca, const char *cert, const char *key);

/* Checks --ca, --cert and its key as given (NULL: not given): cert and key
 * together, each file readable. Returns 0, or -1 having said why, as who
 * (who "analyze" names the key's option --key, others --cert-key). */
int client_tls_check(const char *who, const char *ca, const char *cert, const char *key);

/* Bounds the calling thread's later requests to secs seconds (default 60),
 * and names why its last request reached no tower (curl's words; "no
 * answer" when it has none). Both per thread. */
void client_set_timeout(long secs);
const char *client_last_error(void);

/* A stored string as a terminal may show it, in buf (n bytes, cut at a
 * character boundary): control characters (C0, DEL, C1) become '?', so
 * that nothing a tower stores can move the cursor, clear the screen or
 * forge lines. Returns buf, or "-" when v is not a string. */
const char *client_term_safe(const json_t *v, char *buf, size_t n);

/* A query string under construction, values percent-encoded ("+" in a
 * time zone would otherwise arrive as a space). Bounded: a query that
 * does not fit is an error, never a truncated request. */
struct client_query {
	char s[1024];
	size_t len;
	int overflow;
};

void client_query_init(struct client_query *q);
void client_query_add(struct client_query *q, const char *name, const char *value);

/* What a refusal's body says, in one line a terminal may show: TAXII's
 * error (title, description), this tower's {"error": {"message"}}, or
 * {"error": "..."}; "no reason given" when none of those. */
void client_refusal_text(const char *body, size_t len, char *out, size_t n);

#endif
