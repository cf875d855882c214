/* http.h - the HTTP server core the tower is built on: libmicrohttpd in
 * thread-pool mode, a router with path parameters, per-request arenas,
 * uniform JSON errors, a credential hook (bearer tokens, client
 * certificates over HTTPS), token-bucket rate limits and Prometheus
 * metrics. Domain handlers live above this layer (src/tower/).
 *
 * Lifetimes: the application owns nothing the layer hands it; everything a
 * handler sees (request strings, parsed JSON, arena memory) lives until the
 * request completes. Routes and metrics are registered before
 * http_server_start(); after it the route table is frozen. */
#ifndef YAGURA_HTTP_HTTP_H
#define YAGURA_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"

struct http_server;
struct http_request;
struct http_response;
struct http_arena;
struct http_metric;

enum http_method {
	HTTP_GET = 0,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
	HTTP_OPTIONS,
	HTTP_METHOD_OTHER,
	HTTP_METHOD_COUNT
};

/* Route flags. */
#define HTTP_ROUTE_AUTH 0x1	    /* a valid credential (http_auth_fn) is required */
#define HTTP_ROUTE_JSON 0x2	    /* body must be application/json; parsed before the handler */
#define HTTP_ROUTE_NO_RATELIMIT 0x4 /* exempt from the token buckets (health, metrics) */
#define HTTP_ROUTE_JSON_RAW 0x8	    /* body must be application/json; the handler parses it */
#define HTTP_ROUTE_INLINE 0x10	    /* never blocks: run on the event thread even with handler
				     * threads, so /metrics answers while every handler waits */

/* The JSON media type of a route other than application/json (TAXII's
 * application/taxii+json;version=2.1): what its JSON bodies must be sent
 * as, what its answers are labelled, what an Accept header must allow (406
 * otherwise), and the form of its error bodies. */
struct http_media {
	const char *ctype;   /* answers' Content-Type: "application/taxii+json;version=2.1" */
	const char *type;    /* the type/subtype a request names: "application/taxii+json" */
	const char *version; /* its version= parameter, when a request gives one: "2.1" */
	/* The body of an error answer; *fields_in: the object a refusal's
	 * fields are listed in (as "fields"). NULL on allocation failure. */
	json_t *(*error)(int status, const char *code, const char *message, json_t **fields_in);
};

/* What a request presents to say who sent it. */
enum http_credential_kind {
	HTTP_CRED_BEARER = 0, /* value: the token of "Authorization: Bearer" */
	HTTP_CRED_CERT,	      /* value: "sha256:" + 64 lowercase hex digits, the SHA-256 of
			       * a client certificate (DER) that chains to tls_client_ca;
			       * subject: its subject's common name ("" when none) */
	HTTP_CRED_COOKIE,     /* value: the session_cookie's, a token in a browser's cookie
			       * (changes need X-CSRF-Token too) */
};

struct http_credential {
	enum http_credential_kind kind;
	const char *value;   /* borrowed: lives as long as the request */
	const char *subject; /* HTTP_CRED_CERT only; NULL otherwise */
};

/* Resolves a credential to an application principal. Returns 0 and sets
 * *principal (may point into the request arena), or a negative yg_err for an
 * unknown, expired or revoked one (→ 401); YG_EIO or YG_ENOMEM when it could
 * not be checked (the store is away: → 503 with Retry-After, not 401). A bearer token, when the request
 * has one, is the credential even on a connection with a client
 * certificate. Called on a worker thread, so it must be thread-safe; it may
 * block (store lookup). */
typedef int (*http_auth_fn)(void *ctx, struct http_request *req,
			    const struct http_credential *cred, void **principal);

/* The GnuTLS priorities when http_config.tls_priorities is NULL: TLS 1.3
 * and 1.2 only, AEAD ciphers only, forward-secret key exchange only (no
 * RSA key transport, no CBC, no SHA-1 MACs or signatures), the server's order. */
#define HTTP_TLS_PRIORITIES                                                                        \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"        \
	"+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"                      \
	"-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:%SERVER_PRECEDENCE"

/* Called when a request that resolved a principal completes; optional. */
typedef void (*http_auth_release_fn)(void *ctx, void *principal);

/* A route handler: reads req, fills resp, returns 0. A negative return makes
 * the layer answer 500 internal_error whatever resp holds. Runs on a worker
 * thread; may block (it then holds that thread, so size threads for it). */
typedef int (*http_handler_fn)(struct http_request *req, struct http_response *resp,
			       void *ctx);

struct http_config {
	const char *listen;		/* "127.0.0.1:8080", "[::1]:0"; port 0 picks one */
	unsigned threads;		/* event threads (libmicrohttpd's pool); 0 → 4 */
	unsigned handler_threads;	/* 0: handlers run on the event threads; N: on N
					 * threads of their own, so that a handler waiting
					 * on a store holds no other connection up */
	unsigned max_connections;	/* 0 → 4096; lowered to what RLIMIT_NOFILE allows */
	unsigned per_ip_connections;	/* 0 → 64; per client address (IPv6: per /64); more
					 * are closed at accept */
	unsigned idle_timeout_s;	/* wait for the next request on a kept-alive
					 * connection, and libmicrohttpd's inactivity timeout;
					 * 0 → 30 */
	unsigned header_timeout_s;	/* the whole request header, from accept (kept-alive:
					 * from the request line); 0 → 10 */
	unsigned body_timeout_s;	/* the whole body, from the end of the header; 0 → 60 */
	size_t max_header;		/* request line and header fields, bytes; 0 → 16 KiB;
					 * over it → 431 */
	size_t max_uri;			/* request target, bytes; 0 → 8 KiB; over it → 414 */
	size_t max_body;		/* bytes; 0 → 1 MiB; over it → 413 */
	unsigned max_parked;		/* long polls waiting at once (http_request_park);
					 * 0 → 256 */
	size_t conn_memory;		/* libmicrohttpd buffer per connection (what exceeds
					 * it, libmicrohttpd answers itself, in HTML); 0 → the
					 * larger of 64 KiB and 4 × max_header */
	size_t arena_limit;		/* per-request arena cap; 0 → 4 MiB + max_body */
	unsigned stop_timeout_ms;	/* graceful stop wait; 0 → 10000 */
	double rate;			/* requests/s per principal or address; 0 → no limit */
	double burst;			/* bucket size; 0 → max(1, rate) */
	unsigned rate_table_size;	/* buckets kept; 0 → 65536 */
	http_auth_fn auth;		/* NULL: HTTP_ROUTE_AUTH routes answer 401 */
	const char *session_cookie;	/* a cookie that carries the credential when no
					 * Authorization header does (a browser's session);
					 * NULL: none. A request it authenticates whose method
					 * is not GET or HEAD must also carry X-CSRF-Token,
					 * which csrf_ok must accept, or is answered 403
					 * csrf_failed: another site's page can make the
					 * browser send the cookie, not read the token. */
	bool (*csrf_ok)(void *auth_ctx, const char *credential, const char *csrf_token);
	http_auth_release_fn auth_release;
	void *auth_ctx;
	/* HTTPS (tls.c). Files are read once, at http_server_new(). */
	const char *tls_cert;		/* PEM: the server's certificate, then its chain;
					 * NULL: plain HTTP */
	const char *tls_key;		/* PEM: its private key, unencrypted; refused when
					 * group or others may read the file */
	const char *tls_client_ca;	/* PEM: the CAs client certificates must chain to;
					 * NULL: none is asked for. Asked for, not required:
					 * a client without one uses a bearer token */
	const char *tls_priorities;	/* GnuTLS priority string; NULL → HTTP_TLS_PRIORITIES */
};

/* ---- server ---------------------------------------------------------- */

/* Creates a stopped server from cfg (copied; cfg->listen is copied too,
 * and the TLS files are read into memory). Registers /healthz and /metrics.
 * Returns 0 and *out, YG_EINVAL for a bad listen address or option or TLS
 * setting, YG_EIO for a TLS file that cannot be read (both logged, as
 * http_tls_check() words them), YG_ENOMEM. Free with http_server_free(). */
int http_server_new(const struct http_config *cfg, struct http_server **out) YG_MUST_CHECK;

/* Checks the TLS settings of cfg as http_server_new() will load them: the
 * files exist, are readable, hold PEM certificates and a key that belongs
 * to the certificate, the key file is private (no group or other
 * permission bits), the priority string parses. Returns 0 (also when cfg
 * has no tls_cert), or YG_EINVAL / YG_EIO with one line, "FILE: what is
 * wrong", in err. Thread-safe. */
int http_tls_check(const struct http_config *cfg, char *err, size_t errlen) YG_MUST_CHECK;

/* Frees a server; stops it first if it is running. NULL is a no-op. */
void http_server_free(struct http_server *srv);

/* Adds a route before start. pattern is "/a/{name}/b": literal segments and
 * whole-segment parameters, and optionally, as the last segment, a
 * catch-all "{name...}" that takes one or more remaining segments (see
 * http_request_param()). A route without a catch-all wins over one with it,
 * whatever the order of registration. Returns 0, YG_EINVAL for a malformed
 * pattern (a catch-all not last, a parameter name twice, more than 8
 * parameters), a route of the same method taking the same paths as one
 * registered before, or a call after start; YG_ENOMEM. Not thread-safe. */
int http_server_route(struct http_server *srv, enum http_method method, const char *pattern,
		      unsigned flags, http_handler_fn handler, void *ctx) YG_MUST_CHECK;

/* The same for a route whose JSON is in media (borrowed: must outlive the
 * server) instead of application/json. */
int http_server_route_media(struct http_server *srv, enum http_method method, const char *pattern,
			    unsigned flags, const struct http_media *media, http_handler_fn handler,
			    void *ctx) YG_MUST_CHECK;

/* Binds and starts the worker threads. Returns 0, YG_EIO when the address
 * cannot be bound (logged), YG_EINVAL when already started. */
int http_server_start(struct http_server *srv) YG_MUST_CHECK;

/* The bound port (useful with port 0), or 0 when not started. */
unsigned http_server_port(const struct http_server *srv);

/* Graceful stop: stops accepting, answers new requests on open connections
 * with 503, waits up to stop_timeout_ms for in-flight requests to finish,
 * then closes everything. Returns 0, or YG_ELIMIT if the wait timed out
 * (requests were cut). Safe to call once from any non-worker thread. */
int http_server_stop(struct http_server *srv);

/* The server's metric registry, for application metrics. */
struct http_metrics *http_server_metrics(struct http_server *srv);

/* Long polls: puts every parked request back to its handler now (the
 * thing they wait for changed). Thread-safe; cheap when none waits. */
void http_server_wake(struct http_server *srv);

/* ---- request ----------------------------------------------------------- */

/* A long poll. A handler with nothing new to answer yet may park its
 * request and return 0 at once, having set nothing of the response: the
 * request waits, holding no thread, and its handler runs again on it when
 * http_server_wake() is called or ms have passed since the first park,
 * whichever comes first. Parking again on a later run waits for what is
 * left of those ms. Returns false, and the handler answers now, when the
 * request may not wait: the server has no handler threads, is stopping,
 * the time is over, or max_parked requests wait already. */
bool http_request_park(struct http_request *req, unsigned ms);
/* True when this run of the handler follows a wake, not the time. */
bool http_request_woken(const struct http_request *req);

/* All strings returned below are NUL-terminated, borrowed, and valid until
 * the request completes. Lookups return NULL when absent. */
enum http_method http_request_method(const struct http_request *req);
const char *http_request_method_str(const struct http_request *req);
/* Raw path as sent (still percent-encoded, without the query). */
const char *http_request_path(const struct http_request *req);
/* The matched route pattern, e.g. "/api/v1/reports/{id}". */
const char *http_request_route(const struct http_request *req);
/* A path parameter, percent-decoded per segment. A catch-all's value is its
 * segments, each decoded, joined by '/': "0/x001/x234/067.p/5". It never
 * holds an empty segment, "." or "..", and no '/' but the separators: a
 * path whose rest has one of those (%2F included) does not match the
 * catch-all route. */
const char *http_request_param(const struct http_request *req, const char *name);
/* The first query parameter with that name, decoded ('+' is a space). */
const char *http_request_query(const struct http_request *req, const char *name);
/* Number of query parameters and the i-th name and value. */
size_t http_request_query_count(const struct http_request *req);
int http_request_query_at(const struct http_request *req, size_t i, const char **name,
			  const char **value);
/* A request header, case-insensitive; NULL when absent. */
const char *http_request_header(const struct http_request *req, const char *name);
/* The value of the cookie named name, or NULL. */
const char *http_request_cookie(const struct http_request *req, const char *name);
/* The whole body (NUL-terminated for convenience; len excludes the NUL).
 * Empty body: "" and 0. */
const char *http_request_body(const struct http_request *req, size_t *len);
/* The parsed body on HTTP_ROUTE_JSON routes (borrowed: the layer drops it
 * when the request completes; json_incref to keep it); NULL otherwise or for
 * an empty body. */
json_t *http_request_json(const struct http_request *req);
/* The peer address as text ("127.0.0.1", "::1"). */
const char *http_request_remote(const struct http_request *req);
/* The principal the auth hook resolved, or NULL. */
void *http_request_principal(const struct http_request *req);
/* The request's arena (freed in one go when the request completes). */
struct http_arena *http_request_arena(struct http_request *req);

/* ---- arena ------------------------------------------------------------- */

/* 16-byte aligned memory from the request arena; NULL when the arena's cap
 * is reached or malloc fails. Never freed individually. */
void *http_arena_alloc(struct http_arena *a, size_t n);
/* Copies s (or its first n bytes for strndup) into the arena. */
char *http_arena_strdup(struct http_arena *a, const char *s);
char *http_arena_strndup(struct http_arena *a, const char *s, size_t n);
/* Runs fn(p) when the arena is released (LIFO). For a json_t the handler
 * creates and wants dropped with the request: http_arena_own_json(). Returns
 * 0 or YG_ENOMEM (then fn has not been registered: the caller still owns p). */
int http_arena_defer(struct http_arena *a, void (*fn)(void *), void *p) YG_MUST_CHECK;
int http_arena_own_json(struct http_arena *a, json_t *j) YG_MUST_CHECK;

/* ---- response ---------------------------------------------------------- */

/* Sets the status (default 200 when a body is set, 204 otherwise). */
void http_response_status(struct http_response *resp, int status);
/* Sets a JSON body; steals the reference to j (even on failure). The layer
 * serializes it compactly with Content-Type: application/json. */
int http_response_json(struct http_response *resp, int status, json_t *j);
/* Sets a prebuilt body of any type (copied into the arena) with the given
 * Content-Type, e.g. "application/octet-stream" or "text/plain;
 * charset=utf-8". Returns 0, YG_EINVAL for a NULL or malformed
 * content_type (CR, LF, other control bytes), YG_ENOMEM. */
int http_response_body(struct http_response *resp, int status, const char *content_type,
		       const char *data, size_t len) YG_MUST_CHECK;
/* Adds a response header (both strings copied), e.g. Cache-Control. Returns
 * 0, YG_EINVAL for a name that is not an HTTP token, a value with CR, LF or
 * another control byte but tab, or a field the layer writes itself
 * (Content-Type: http_response_body(); Content-Length, Transfer-Encoding),
 * YG_ELIMIT past 16 headers, YG_ENOMEM. */
int http_response_header(struct http_response *resp, const char *name, const char *value);

/* Replaces the body with the uniform error shape
 *   {"error":{"status":S,"code":CODE,"message":MSG}}
 * and sets the status. Returns 0 or YG_ENOMEM. */
int http_response_error(struct http_response *resp, int status, const char *code,
			const char *message);
/* Appends {"field":F,"reason":R} to error.fields of an error body set
 * before. Returns 0, YG_EINVAL without an error body, YG_ENOMEM. */
int http_response_error_field(struct http_response *resp, const char *field,
			      const char *reason);

/* ---- metrics ------------------------------------------------------------ */

struct http_metrics;

/* Registers an application metric before or after start; name must be a
 * Prometheus metric name, labels either NULL or a label list without braces
 * ('store="sqlite",op="insert"'). Same name twice with different labels
 * shares HELP/TYPE. Returns the metric (owned by the registry, lives as long
 * as the server) or NULL on ENOMEM or a bad name. Thread-safe. */
struct http_metric *http_metrics_counter(struct http_metrics *m, const char *name,
					 const char *labels, const char *help);
struct http_metric *http_metrics_gauge(struct http_metrics *m, const char *name,
				       const char *labels, const char *help);
/* bounds: ascending upper bounds in the metric's unit (seconds for times);
 * NULL → the layer's latency buckets. At most 32 bounds. */
struct http_metric *http_metrics_histogram(struct http_metrics *m, const char *name,
					   const char *labels, const char *help,
					   const double *bounds, size_t nbounds);

/* Updates; lock-free, callable from any thread. NULL metric is a no-op. */
void http_metric_add(struct http_metric *c, uint64_t n);    /* counter */
void http_metric_set(struct http_metric *g, double v);	    /* gauge */
void http_metric_gauge_add(struct http_metric *g, double d); /* gauge */
void http_metric_observe(struct http_metric *h, double v);  /* histogram */

/* fn(ctx) runs before each rendering, to set gauges read on demand (one
 * hook; a later call replaces it). Set it before the server starts. */
void http_metrics_on_render(struct http_metrics *m, void (*fn)(void *), void *ctx);

/* Renders every series in Prometheus text format 0.0.4 into a buffer from
 * yg_malloc (caller frees). Returns 0 or YG_ENOMEM. Thread-safe. */
int http_metrics_render(struct http_metrics *m, char **out, size_t *len) YG_MUST_CHECK;

/* ---- helpers ------------------------------------------------------------ */

/* "GET" → HTTP_GET; unknown → HTTP_METHOD_OTHER. Names: static strings. */
enum http_method http_method_parse(const char *s);
const char *http_method_name(enum http_method m);
/* Reason phrase-free code name used by the layer's own errors. */
const char *http_status_code_name(int status);

#endif
