/* http_int.h - internals of src/http shared between its files and the fuzz
 * target. Not for use outside src/http and tests/. */
#ifndef YAGURA_HTTP_HTTP_INT_H
#define YAGURA_HTTP_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

struct sockaddr;
struct MHD_Connection;

/* ---- arena (arena.c) ---- */

struct http_arena_chunk;
struct http_arena_defer;

struct http_arena {
	char *cur, *end;		 /* free space in the current chunk */
	struct http_arena_chunk *chunks; /* malloc'd chunks, newest first */
	struct http_arena_defer *defers;
	size_t used;			 /* bytes in malloc'd chunks */
	size_t limit;
};

/* Starts an arena on caller storage buf (may be NULL/0); limit caps the
 * malloc'd total. */
void http_arena_init(struct http_arena *a, void *buf, size_t len, size_t limit);
/* Runs the deferred calls and frees every chunk; the arena is reusable. */
void http_arena_release(struct http_arena *a);

/* ---- request target and router (router.c) ---- */

#define HTTP_MAX_SEGMENTS 32
#define HTTP_MAX_QUERY 64
#define HTTP_MAX_PARAMS 8

struct http_kv {
	const char *name;
	const char *value;
};

/* A parsed request target: decoded path segments and query parameters,
 * all in the arena. joined holds the decoded segments again, separated by
 * '/' and without the leading one, so that a catch-all parameter's value is
 * joined + seg_off[i] with no allocation at match time. */
struct http_target {
	const char *path; /* raw, without query */
	size_t nseg;
	const char *seg[HTTP_MAX_SEGMENTS];
	const char *joined;		/* "seg0/seg1/.../segN-1"; "" for "/" */
	size_t seg_off[HTTP_MAX_SEGMENTS]; /* where seg[i] starts in joined */
	size_t nquery;
	struct http_kv query[HTTP_MAX_QUERY];
};

/* Parses "/a/b%20c?x=1&y" (len bytes, need not be NUL-terminated). Returns
 * 0; YG_EFORMAT when it does not start with '/', holds a space or a control
 * byte, or decodes to a NUL byte;
 * YG_ELIMIT for too many segments or query parameters; YG_ENOMEM. */
int http_target_parse(struct http_arena *a, const char *raw, size_t len,
		      struct http_target *t) YG_MUST_CHECK;

/* Decodes %XX in place (and '+' as space when plus); invalid escapes stay
 * literal. Returns the new length, or -1 when a %00 would appear. */
long http_pct_decode(char *s, size_t len, bool plus);

struct http_route {
	enum http_method method;
	unsigned flags;
	unsigned pattern_id; /* index into the router's distinct patterns */
	const char *pattern;
	size_t nseg;
	char *seg[HTTP_MAX_SEGMENTS]; /* literal, or parameter name when param bit set */
	uint32_t param_mask;
	bool catchall; /* the last segment is "{name...}": one or more segments */
	http_handler_fn handler;
	void *ctx;
	const struct http_media *media; /* NULL: application/json */
};

struct http_router {
	struct http_route *routes;
	size_t nroutes, cap;
	char **patterns; /* distinct patterns, index = pattern_id */
	size_t npatterns, pcap;
};

struct http_match {
	const struct http_route *route; /* NULL: no route for this method */
	unsigned allow;			/* methods with a route on this path (bitmask) */
	int pattern_id;			/* -1: no pattern matches the path at all */
	size_t nparams;
	struct http_kv params[HTTP_MAX_PARAMS];
};

void http_router_init(struct http_router *r);
void http_router_fini(struct http_router *r);
int http_router_add(struct http_router *r, enum http_method method, const char *pattern,
		    unsigned flags, http_handler_fn handler, void *ctx) YG_MUST_CHECK;
/* Matches a parsed target. HEAD falls back to GET routes. Among the routes
 * of one method that match, one without a catch-all wins, then the catch-all
 * with the longest prefix, then the one registered first. A catch-all takes
 * one or more segments, none of them empty, "." or "..", or holding a '/'
 * decoded from %2F; otherwise the route does not match. Never allocates. */
void http_router_match(const struct http_router *r, enum http_method method,
		       const struct http_target *t, struct http_match *m);
/* Writes "GET, HEAD, POST" for an allow mask into buf. */
void http_allow_format(unsigned allow, char *buf, size_t len);

/* ---- rate limiter (ratelimit.c) ---- */

struct http_ratelimit;

/* A table of about size buckets; rate tokens/s, burst tokens. */
int http_ratelimit_new(double rate, double burst, unsigned size,
		       struct http_ratelimit **out) YG_MUST_CHECK;
void http_ratelimit_free(struct http_ratelimit *rl);
/* Takes one token for key at now_ns. Returns 0, or YG_ELIMIT and the
 * seconds until a token is back in *retry_after. Thread-safe. */
int http_ratelimit_take(struct http_ratelimit *rl, uint64_t key, uint64_t now_ns,
			unsigned *retry_after);
uint64_t http_hash64(const void *p, size_t len);

/* ---- request framing (framing.c) ---- */

/* What the header fields say about where the body ends. Fed one field at a
 * time; nothing is allocated or kept of the strings. */
struct http_framing {
	unsigned n_length;    /* Content-Length fields */
	unsigned n_te;	      /* Transfer-Encoding fields */
	bool bad_name;	      /* a field name that is not a token ("Content-Length ") */
	bool te_exact;	      /* the last Transfer-Encoding is exactly "chunked" */
	bool te_last_chunked; /* ... or at least ends in the chunked coding */
};

void http_framing_init(struct http_framing *f);
void http_framing_add(struct http_framing *f, const char *name, const char *value);
/* 0 when the body's end is unambiguous: at most one Content-Length, or
 * "Transfer-Encoding: chunked" alone on HTTP/1.1. Otherwise the status to
 * answer (400, or 501 for codings other than chunked) and, in *why, a
 * static message. */
int http_framing_verdict(const struct http_framing *f, bool http10, const char **why);

/* ---- connections (conns.c) ---- */

/* Where a connection is: each phase but BUSY has a deadline from when it
 * began (HEADER: from accept, or from the request line on a kept-alive
 * connection). BUSY: the request is in (a handler runs or the answer is
 * being sent); libmicrohttpd's inactivity timeout is the only one then. */
enum http_conn_phase {
	HTTP_PHASE_HEADER,
	HTTP_PHASE_BODY,
	HTTP_PHASE_BUSY,
	HTTP_PHASE_IDLE,
	HTTP_PHASE_COUNT
};

struct http_conns;

struct http_conn {
	struct http_conns *tab;
	struct http_conn *prev, *next; /* under the table's mutex */
	int fd;
	uint8_t key[16];  /* the address it counts against */
	uint64_t hash;
	bool counted;	  /* holds one of its address's slots */
	bool cut;	  /* shut down by the reaper (under the mutex) */
	unsigned requests; /* completed on it; the connection's thread only */
	_Atomic int phase;
	_Atomic uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0: none */
};

/* A table for max_conns connections, at most per_ip per address (IPv6: per
 * /64), with a deadline per phase in seconds (0: none). Registers its
 * counters in m. Returns 0 or YG_ENOMEM. */
int http_conns_new(unsigned per_ip, unsigned max_conns, const unsigned timeout_s[HTTP_PHASE_COUNT],
		   struct http_metrics *m, struct http_conns **out) YG_MUST_CHECK;
/* Stops the reaper and frees the table and what it still tracks. */
void http_conns_free(struct http_conns *c);
/* Accept policy: may sa open one more? Counts a refusal. Thread-safe. */
bool http_conns_admit(struct http_conns *c, const struct sockaddr *sa);
/* A connection opened on fd (phase HEADER) / closed. open returns NULL when
 * out of memory: the connection then goes untracked. Thread-safe. */
struct http_conn *http_conns_open(struct http_conns *c, int fd, const struct sockaddr *sa);
void http_conns_close(struct http_conn *hc);
/* Enters phase p; its deadline counts from now. NULL hc: no-op. */
void http_conn_phase(struct http_conn *hc, enum http_conn_phase p);
/* Starts / stops the reaper thread. start returns 0 or YG_ENOMEM. */
int http_conns_start(struct http_conns *c) YG_MUST_CHECK;
void http_conns_stop(struct http_conns *c);

/* ---- TLS (tls.c) ---- */

/* What libmicrohttpd is handed: the files' PEM text, NUL-terminated, kept
 * for the server's life (the key wiped when freed). */
struct http_tls {
	char *cert, *key, *ca; /* ca NULL: no client certificates asked for */
	size_t cert_len, key_len, ca_len;
	char *priorities;
};

/* Reads and checks the files cfg names (http_tls_check() says what is
 * checked). Returns 0 with *out NULL when cfg asks for no TLS, 0 and *out,
 * or a negative yg_err with "FILE: why" in err. */
int http_tls_load(const struct http_config *cfg, struct http_tls **out, char *err,
		  size_t n) YG_MUST_CHECK;
void http_tls_free(struct http_tls *t);

/* The client certificate of conn as a credential (HTTP_CRED_CERT, strings
 * in a): 1 when the client sent one that verifies against the client CA,
 * 0 when it sent none (or the connection is not TLS), YG_EINVAL when the
 * one it sent does not verify, YG_ENOMEM. Runs on the connection's thread. */
int http_tls_peer(struct MHD_Connection *conn, struct http_arena *a,
		  struct http_credential *cred) YG_MUST_CHECK;

/* ---- metrics (metrics.c) ---- */

#define HTTP_LAT_BUCKETS 14
#define HTTP_STATUS_SLOTS 16

struct http_route_stats {
	/* per method: status slots, claimed lock-free by CAS on code */
	_Atomic int code[HTTP_METHOD_COUNT][HTTP_STATUS_SLOTS];
	_Atomic uint64_t count[HTTP_METHOD_COUNT][HTTP_STATUS_SLOTS];
	_Atomic uint64_t lat[HTTP_METHOD_COUNT][HTTP_LAT_BUCKETS + 1];
	_Atomic uint64_t lat_sum_ns[HTTP_METHOD_COUNT];
};

struct http_metrics *http_metrics_new(void);
void http_metrics_free(struct http_metrics *m);
/* Gives the registry the route patterns (name per stats slot); the last one
 * is the "unmatched" slot. Called once at start. */
int http_metrics_routes(struct http_metrics *m, char **patterns, size_t n) YG_MUST_CHECK;
void http_metrics_request(struct http_metrics *m, size_t pattern_id, enum http_method method,
			  int status, uint64_t ns, uint64_t bytes_in, uint64_t bytes_out);
void http_metrics_inflight(struct http_metrics *m, int delta);

#endif
