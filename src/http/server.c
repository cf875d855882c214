/* server.c - libmicrohttpd glue: request lifecycle, the checks every route
 * gets (routing, auth, rate limit, body limits, JSON), response
 * serialization, graceful stop, /healthz and /metrics.
 *
 * Lifecycle of one request: the URI-log callback allocates the request and
 * its arena (it is the only callback that sees the raw target); the access
 * handler runs the checks on its first call, collects the body on the next
 * ones and calls the route handler on the last; the completion callback
 * records metrics, writes the access log line and frees everything. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/log.h"
#include "http/http_int.h"

#define RESP_MAX_HEADERS 16
#define REQ_INLINE_ARENA 3072
/* Descriptors kept for the rest of the process (store connections, files)
 * when the connection limit is fitted to RLIMIT_NOFILE. */
#define FD_RESERVE 256
/* libmicrohttpd's own messages: at most this many per window, then a count
 * (a flood of broken connections must not flood the log). */
#define MHD_LOG_BURST 20
#define MHD_LOG_WINDOW_NS 10000000000ull

struct http_response {
	struct http_request *req;
	int status;
	json_t *json;
	const char *body;
	size_t body_len;
	const char *ctype;
	size_t nhdr;
	struct http_kv hdr[RESP_MAX_HEADERS];
	json_t *err_obj; /* borrowed: the "error" object inside json */
	char errbuf[192]; /* an error's body when it could not be allocated */
};

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	struct http_conn *hc; /* its connection's deadlines; NULL if untracked */
	struct http_arena arena;
	const char *raw_uri;
	enum http_method method;
	const char *method_str;
	struct http_target target;
	struct http_match match;
	const struct http_route *route;
	size_t stats_id;
	char remote[INET6_ADDRSTRLEN];
	uint64_t remote_key;
	void *principal;
	bool has_principal;
	char *body;
	size_t body_len, body_cap;
	bool body_over;
	uint64_t bytes_in;
	json_t *json;
	struct http_response resp;
	char *out;
	size_t out_len, out_cap;
	int sent_status;
	uint64_t start_ns;
	bool started, queued;
	/* Its answer could not be queued (libmicrohttpd could not allocate):
	 * the connection is closed. Nothing more may run for it: a refusal
	 * (401, 403 csrf_failed, 429) that could not be sent must not let the
	 * next call run the handler, and a handler must not run twice. */
	bool dead;
	bool deferred;		    /* handed to a handler thread, connection suspended */
	atomic_bool handled;	    /* the handler thread is done with it */
	struct http_request *hnext; /* handler queue, or the parked list */
	bool park;		    /* the handler asked to wait (http_request_park) */
	bool rerun;		    /* resumed from waiting: run the handler again */
	bool woken;		    /* ... because of http_server_wake */
	unsigned parks;		    /* times it has waited */
	uint64_t park_until;	    /* when its waiting ends (now_ns), set at the first */
	uint64_t wake_gen;	    /* the server's wakes when its handler last began */
	struct http_request *pnext; /* the parked list */
	_Alignas(16) char inline_mem[REQ_INLINE_ARENA];
};

struct http_server {
	struct http_config cfg;
	char *listen;
	struct sockaddr_storage addr;
	bool v6;
	struct http_router router;
	char **stat_names; /* router patterns + "unmatched" */
	size_t nstat;
	struct http_metrics *metrics;
	struct http_ratelimit *rl;
	struct http_conns *conns;
	struct http_metric *protocol_errors;
	pthread_mutex_t log_mu;
	uint64_t log_window;
	unsigned log_n;
	unsigned long long log_dropped;
	struct MHD_Daemon *d;
	struct http_tls *tls; /* NULL: plain HTTP */
	struct http_metric *certs_refused;
	struct http_metric *rss, *heap_used, *heap_free; /* the process's memory */
	unsigned port;
	atomic_bool stopping;
	_Atomic int inflight;
	bool started;

	/* Handler threads (cfg.handler_threads): a queue of suspended requests. */
	pthread_t *hthr;
	unsigned nhthr;
	pthread_mutex_t hmu;
	pthread_cond_t hcv;
	struct http_request *hhead, *htail;
	bool hstop;
	_Atomic int nsuspended; /* deferred requests not yet completed */
	/* Long polls: parked requests, suspended, waiting for a wake or
	 * their time; a thread of their own resumes them (under pmu). */
	pthread_t pthr;
	bool pthr_started, pstop, pwake;
	pthread_mutex_t pmu;
	pthread_cond_t pcv;
	struct http_request *parked;
	unsigned nparked; /* listed, or granted by http_request_park and about to be */
	/* Wakes so far. A handler that saw the state unchanged and asked to
	 * wait may be parked only after a wake went by: parking compares the
	 * count its handler began with, and such a request comes back at
	 * once, so that no change is missed between the look and the wait. */
	_Atomic uint64_t wake_gen;
};

static char unmatched_name[] = "unmatched";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *http_status_code_name(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 411: return "length_required";
	case 413: return "payload_too_large";
	case 414: return "uri_too_long";
	case 415: return "unsupported_media_type";
	case 422: return "validation_failed";
	case 429: return "rate_limited";
	case 431: return "header_too_large";
	case 500: return "internal_error";
	case 501: return "not_implemented";
	case 503: return "unavailable";
	default: return status >= 500 ? "server_error" : "client_error";
	}
}

/* ---- response ---- */

void http_response_status(struct http_response *resp, int status)
{
	resp->status = status;
}

static void resp_clear_body(struct http_response *resp)
{
	if (resp->json != NULL)
		json_decref(resp->json);
	resp->json = NULL;
	resp->err_obj = NULL;
	resp->body = NULL;
	resp->body_len = 0;
	resp->ctype = NULL;
}

int http_response_json(struct http_response *resp, int status, json_t *j)
{
	resp_clear_body(resp);
	resp->status = status;
	if (j == NULL)
		return YG_ENOMEM;
	resp->json = j;
	return 0;
}

/* RFC 9110 §5.6.2 tchar. */
static bool is_token(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return false;
	return true;
}

/* A field value: no CR, LF, NUL or other control byte but tab (a handler's
 * string never splits the response). */
static bool is_field_value(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

int http_response_body(struct http_response *resp, int status, const char *content_type,
		       const char *data, size_t len)
{
	char *copy;
	const char *ct;

	if (content_type == NULL || content_type[0] == '\0' || !is_field_value(content_type))
		return YG_EINVAL;
	copy = http_arena_alloc(&resp->req->arena, len + 1);
	ct = http_arena_strdup(&resp->req->arena, content_type);
	if (copy == NULL || ct == NULL)
		return YG_ENOMEM;
	memcpy(copy, data, len);
	resp_clear_body(resp);
	resp->status = status;
	resp->body = copy;
	resp->body_len = len;
	resp->ctype = ct;
	return 0;
}

int http_response_header(struct http_response *resp, const char *name, const char *value)
{
	struct http_kv *kv;

	if (name == NULL || value == NULL || !is_token(name) || !is_field_value(value) ||
	    strcasecmp(name, "Content-Type") == 0 || strcasecmp(name, "Content-Length") == 0 ||
	    strcasecmp(name, "Transfer-Encoding") == 0)
		return YG_EINVAL;
	if (resp->nhdr == RESP_MAX_HEADERS)
		return YG_ELIMIT;
	kv = &resp->hdr[resp->nhdr];
	kv->name = http_arena_strdup(&resp->req->arena, name);
	kv->value = http_arena_strdup(&resp->req->arena, value);
	if (kv->name == NULL || kv->value == NULL)
		return YG_ENOMEM;
	resp->nhdr++;
	return 0;
}

int http_response_error(struct http_response *resp, int status, const char *code,
			const char *message)
{
	const struct http_route *rt = resp->req != NULL ? resp->req->route : NULL;
	json_t *err = NULL, *top;

	if (code == NULL)
		code = http_status_code_name(status);
	if (message == NULL)
		message = "";
	if (rt != NULL && rt->media != NULL && rt->media->error != NULL) {
		top = rt->media->error(status, code, message, &err);
	} else {
		err = json_pack("{s:i,s:s,s:s}", "status", status, "code", code, "message", message);
		top = err != NULL ? json_pack("{s:o}", "error", err) : NULL;
	}

	resp_clear_body(resp);
	resp->status = status;
	if (top == NULL) {
		/* Out of memory: the same shape from the response's own buffer,
		 * with the message only when it needs no escaping. */
		bool plain = strlen(message) < 64;

		for (const char *p = message; plain && *p != '\0'; p++)
			plain = *p >= ' ' && *p <= '~' && *p != '"' && *p != '\\';
		if (rt != NULL && rt->media != NULL && rt->media->error != NULL)
			snprintf(resp->errbuf, sizeof(resp->errbuf),
				 "{\"title\":\"%s\",\"error_code\":\"%s\",\"http_status\":\"%d\"}",
				 plain ? message : code, code, status);
		else
			snprintf(resp->errbuf, sizeof(resp->errbuf),
				 "{\"error\":{\"status\":%d,\"code\":\"%s\",\"message\":\"%s\"}}",
				 status, code, plain ? message : "");
		resp->body = resp->errbuf;
		resp->body_len = strlen(resp->errbuf);
		resp->ctype = rt != NULL && rt->media != NULL ? rt->media->ctype
							      : "application/json";
		return 0;
	}
	resp->json = top;
	resp->err_obj = err;
	return 0;
}

int http_response_error_field(struct http_response *resp, const char *field, const char *reason)
{
	json_t *fields, *f;

	if (resp->err_obj == NULL)
		return YG_EINVAL;
	fields = json_object_get(resp->err_obj, "fields");
	if (fields == NULL) {
		fields = json_array();
		if (fields == NULL || json_object_set_new(resp->err_obj, "fields", fields) < 0)
			return YG_ENOMEM;
	}
	f = json_pack("{s:s,s:s}", "field", field, "reason", reason);
	if (f == NULL || json_array_append_new(fields, f) < 0)
		return YG_ENOMEM;
	return 0;
}

/* ---- request accessors ---- */

enum http_method http_request_method(const struct http_request *req)
{
	return req->method;
}

const char *http_request_method_str(const struct http_request *req)
{
	return req->method_str;
}

const char *http_request_path(const struct http_request *req)
{
	return req->target.path;
}

const char *http_request_route(const struct http_request *req)
{
	return req->route != NULL ? req->route->pattern : NULL;
}

const char *http_request_param(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->match.nparams; i++)
		if (strcmp(req->match.params[i].name, name) == 0)
			return req->match.params[i].value;
	return NULL;
}

const char *http_request_query(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->target.nquery; i++)
		if (strcmp(req->target.query[i].name, name) == 0)
			return req->target.query[i].value;
	return NULL;
}

size_t http_request_query_count(const struct http_request *req)
{
	return req->target.nquery;
}

int http_request_query_at(const struct http_request *req, size_t i, const char **name,
			  const char **value)
{
	if (i >= req->target.nquery)
		return YG_ENOTFOUND;
	*name = req->target.query[i].name;
	*value = req->target.query[i].value;
	return 0;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_cookie(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const char *http_request_body(const struct http_request *req, size_t *len)
{
	if (len != NULL)
		*len = req->body_len;
	return req->body != NULL ? req->body : "";
}

json_t *http_request_json(const struct http_request *req)
{
	return req->json;
}

const char *http_request_remote(const struct http_request *req)
{
	return req->remote;
}

void *http_request_principal(const struct http_request *req)
{
	return req->principal;
}

struct http_arena *http_request_arena(struct http_request *req)
{
	return &req->arena;
}

/* ---- libmicrohttpd callbacks ---- */

struct dump_ctx {
	struct http_request *req;
	int err;
};

static int dump_cb(const char *buf, size_t size, void *data)
{
	struct dump_ctx *d = data;
	struct http_request *req = d->req;

	/* Once failed, always: jansson does not check the write of an
	 * object's key (base/json.h), only the next one. */
	if (d->err != 0)
		return -1;
	if (req->out_cap - req->out_len < size) {
		size_t ncap = req->out_cap ? req->out_cap : 1024;
		char *nb;

		while (ncap - req->out_len < size)
			ncap *= 2;
		nb = yg_realloc(req->out, ncap);
		if (nb == NULL) {
			d->err = YG_ENOMEM;
			return -1;
		}
		req->out = nb;
		req->out_cap = ncap;
	}
	memcpy(req->out + req->out_len, buf, size);
	req->out_len += size;
	return 0;
}

static enum MHD_Result queue_resp(struct http_request *req)
{
	struct http_response *resp = &req->resp;
	struct MHD_Response *r;
	const char *body = resp->body;
	size_t len = resp->body_len;
	enum MHD_Result ok;
	int status = resp->status;

	if (resp->json != NULL) {
		struct dump_ctx d = { .req = req };

		req->out_len = 0;
		/* Reals to 15 significant digits, which every decimal of up to 15
		 * digits survives: a score of 24.3 reads 24.3, not
		 * 24.300000000000001. */
		if (json_dump_callback(resp->json, dump_cb, &d,
				       JSON_COMPACT | JSON_REAL_PRECISION(15)) < 0) {
			static const char oom[] = "{\"error\":{\"status\":503,\"code\":"
						  "\"unavailable\",\"message\":\"out of memory\"}}";

			body = oom;
			len = sizeof(oom) - 1;
			status = 503;
		} else {
			body = req->out;
			len = req->out_len;
		}
		resp->ctype = req->route != NULL && req->route->media != NULL ? req->route->media->ctype
									       : "application/json";
	}
	if (status == 0)
		status = body != NULL ? 200 : 204;
	/* The body outlives the response object: it is freed with the request,
	 * after libmicrohttpd reports the request completed. */
	r = MHD_create_response_from_buffer(len, (void *)(body != NULL ? body : ""),
					    MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		req->dead = true;
		return MHD_NO;
	}
	/* A header that could not be added (a cookie, Retry-After) is not
	 * left out of an answer sent anyway: the connection is closed. */
	ok = MHD_YES;
	if (resp->ctype != NULL && len > 0)
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->ctype);
	for (size_t i = 0; ok == MHD_YES && i < resp->nhdr; i++)
		ok = MHD_add_response_header(r, resp->hdr[i].name, resp->hdr[i].value);
	if (ok == MHD_YES && atomic_load_explicit(&req->srv->stopping, memory_order_relaxed))
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	if (ok == MHD_YES)
		ok = MHD_queue_response(req->conn, (unsigned)status, r);
	MHD_destroy_response(r);
	if (ok != MHD_YES) {
		req->dead = true;
		return MHD_NO;
	}
	req->queued = true;
	req->sent_status = status;
	return MHD_YES;
}

/* Answers with the uniform error shape, plus one optional header. */
static enum MHD_Result fail(struct http_request *req, int status, const char *message,
			    const char *hname, const char *hvalue)
{
	struct http_response *resp = &req->resp;

	resp->nhdr = 0;
	if (http_response_error(resp, status, NULL, message) < 0)
		resp_clear_body(resp);
	if (hname != NULL)
		(void)http_response_header(resp, hname, hvalue);
	return queue_resp(req);
}

/* A request whose record could not be allocated is still answered: 503
 * with Retry-After, from static memory, so that a client retries rather
 * than taking a closed connection for a verdict. These two markers stand in
 * for the record in libmicrohttpd's per-request slot: before the answer is
 * queued, and after. */
static char oom_unanswered, oom_answered;

static enum MHD_Result oom_answer(struct MHD_Connection *conn, void **con_cls,
				  size_t *upload_data_size)
{
	static const char body[] = "{\"error\":{\"status\":503,\"code\":\"unavailable\","
				   "\"message\":\"out of memory\"}}";
	struct MHD_Response *r;
	enum MHD_Result ok;

	if (*con_cls == &oom_answered) {
		*upload_data_size = 0; /* a body sent anyway is read and dropped */
		return MHD_YES;
	}
	*con_cls = &oom_answered;
	r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
					    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, "Retry-After", "1");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ok = MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, r);
	MHD_destroy_response(r);
	return ok;
}

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_server *srv = cls;
	struct http_request *req = yg_malloc(sizeof(*req));
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	if (req == NULL)
		return &oom_unanswered;
	memset(req, 0, offsetof(struct http_request, inline_mem));
	req->srv = srv;
	req->conn = conn;
	req->hc = ci != NULL ? ci->socket_context : NULL;
	/* A first request's header deadline runs from accept; a later one's
	 * from its request line (before it, the connection was idle). */
	if (req->hc != NULL && req->hc->requests > 0)
		http_conn_phase(req->hc, HTTP_PHASE_HEADER);
	req->start_ns = now_ns();
	req->stats_id = srv->nstat - 1;
	req->resp.req = req;
	http_arena_init(&req->arena, req->inline_mem, sizeof(req->inline_mem),
			srv->cfg.arena_limit);
	req->raw_uri = http_arena_strdup(&req->arena, uri);
	atomic_fetch_add(&srv->inflight, 1);
	http_metrics_inflight(srv->metrics, 1);
	return req;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;
	uint64_t ns;
	int status;

	(void)conn;
	if (req == NULL || *con_cls == &oom_unanswered || *con_cls == &oom_answered) {
		*con_cls = NULL;
		return;
	}
	*con_cls = NULL;
	if (req->hc != NULL) {
		req->hc->requests++;
		http_conn_phase(req->hc, HTTP_PHASE_IDLE);
	}
	/* libmicrohttpd refused the request itself (malformed header, too
	 * large for its buffer) and answered it, in HTML: counted here. */
	if (!req->started && toe == MHD_REQUEST_TERMINATED_WITH_ERROR)
		http_metric_add(srv->protocol_errors, 1);
	ns = now_ns() - req->start_ns;
	/* A client that left before the answer is counted like nginx does. */
	status = req->queued ? req->sent_status : 499;
	if (req->started)
		http_metrics_request(srv->metrics, req->stats_id, req->method, status, ns,
				     req->bytes_in, req->queued ? req->out_len + req->resp.body_len : 0);
	log_debug("http: %s %s %d in=%llu out=%zu %.3fms %s%s", req->method_str ? req->method_str : "-",
		  req->raw_uri ? req->raw_uri : "-", status, (unsigned long long)req->bytes_in,
		  req->out_len + req->resp.body_len, (double)ns / 1e6, req->remote,
		  toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (terminated)");
	if (req->deferred)
		atomic_fetch_sub(&srv->nsuspended, 1);
	if (req->has_principal && srv->cfg.auth_release != NULL)
		srv->cfg.auth_release(srv->cfg.auth_ctx, req->principal);
	if (req->resp.json != NULL)
		json_decref(req->resp.json);
	if (req->json != NULL)
		json_decref(req->json);
	http_arena_release(&req->arena);
	free(req->body);
	free(req->out);
	http_metrics_inflight(srv->metrics, -1);
	atomic_fetch_sub(&srv->inflight, 1);
	free(req);
}

static void set_remote(struct http_request *req)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	memcpy(req->remote, "-", 2);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, req->remote, sizeof(req->remote));
		req->remote_key = http_hash64(&in->sin_addr, sizeof(in->sin_addr));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, req->remote, sizeof(req->remote));
		req->remote_key = http_hash64(&in6->sin6_addr, sizeof(in6->sin6_addr));
	}
}

static bool is_json_ctype(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* Whether one media range of len bytes (a type such as
 * "application/taxii+json; version=2.1", or the wildcards "application"
 * and any type, each with subtype '*') names media: its type, and its
 * version when it gives one. A q=0 range names nothing. */
static bool media_range_ok(const char *r, size_t len, const struct http_media *m)
{
	const char *end = r + len, *semi;
	size_t tlen;

	while (r < end && (*r == ' ' || *r == '\t'))
		r++;
	semi = memchr(r, ';', (size_t)(end - r));
	tlen = (size_t)((semi != NULL ? semi : end) - r);
	while (tlen > 0 && (r[tlen - 1] == ' ' || r[tlen - 1] == '\t'))
		tlen--;
	bool any = (tlen == 3 && memcmp(r, "*/*", 3) == 0) ||
		   (tlen == 13 && strncasecmp(r, "application/*", 13) == 0);
	bool same = tlen == strlen(m->type) && strncasecmp(r, m->type, tlen) == 0;
	if (!any && !same)
		return false;
	for (const char *p = semi; p != NULL && p < end;) {
		const char *next = memchr(p + 1, ';', (size_t)(end - p - 1)), *stop = next ? next : end;
		const char *k = p + 1;

		while (k < stop && (*k == ' ' || *k == '\t'))
			k++;
		if (stop - k >= 2 && (k[0] == 'q' || k[0] == 'Q') && k[1] == '=') {
			const char *v = k + 2;
			if (v < stop && *v == '0' && (stop - v == 1 || v[1] == '.')) {
				bool zero = true;
				for (const char *z = v + 2; z < stop; z++)
					zero = zero && (*z == '0' || *z == ' ');
				if (zero)
					return false;
			}
		} else if (same && m->version != NULL && stop - k > 8 &&
			   strncasecmp(k, "version=", 8) == 0) {
			size_t vl = (size_t)(stop - k - 8);
			while (vl > 0 && (k[8 + vl - 1] == ' ' || k[8 + vl - 1] == '\t'))
				vl--;
			if (vl != strlen(m->version) || memcmp(k + 8, m->version, vl) != 0)
				return false;
		}
		p = next;
	}
	return true;
}

/* A Content-Type (one media type) or an Accept header (a list of ranges,
 * any of which may name it) naming m. */
static bool media_ok(const char *h, const struct http_media *m, bool list)
{
	if (h == NULL)
		return false;
	if (!list)
		return strncmp(h, "*", 1) != 0 && media_range_ok(h, strlen(h), m);
	for (const char *p = h;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);

		if (media_range_ok(p, n, m))
			return true;
		if (comma == NULL)
			return false;
		p = comma + 1;
	}
}

static const char *bearer_token(struct http_request *req)
{
	const char *h = http_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h != '\0' ? h : NULL;
}

static enum MHD_Result rate_limited(struct http_request *req, uint64_t key)
{
	unsigned after = 0;
	char buf[16];

	if (http_ratelimit_take(req->srv->rl, key, now_ns(), &after) == 0)
		return MHD_YES;
	snprintf(buf, sizeof(buf), "%u", after);
	fail(req, 429, "too many requests", "Retry-After", buf);
	return MHD_NO;
}

/* A change asked for with a session cookie: the page that asks must
 * show it knows the session's CSRF token. false: answered 403. */
static bool csrf_checked(struct http_request *req, const char *cookie)
{
	struct http_server *srv = req->srv;
	const char *h = http_request_header(req, "X-CSRF-Token");

	if (req->method == HTTP_GET || req->method == HTTP_HEAD)
		return true;
	if (h != NULL && srv->cfg.csrf_ok != NULL && srv->cfg.csrf_ok(srv->cfg.auth_ctx, cookie, h))
		return true;
	req->resp.nhdr = 0;
	if (http_response_error(&req->resp, 403, "csrf_failed",
				h == NULL ? "a change by a browser session needs its X-CSRF-Token header"
					  : "the X-CSRF-Token header is not this session's") < 0)
		resp_clear_body(&req->resp);
	queue_resp(req);
	return false;
}

/* The credential a request presents: its bearer token, else its session
 * cookie, else (over TLS with a client CA) its client certificate. 1 and *cred; 0: none; -1: a
 * client certificate that does not verify (cred->kind says so). */
static int request_credential(struct http_request *req, struct http_credential *cred)
{
	const char *token = bearer_token(req);
	int rc;

	*cred = (struct http_credential){.kind = HTTP_CRED_BEARER, .value = token};
	if (token != NULL)
		return 1;
	if (req->srv->cfg.session_cookie != NULL &&
	    (token = http_request_cookie(req, req->srv->cfg.session_cookie)) != NULL &&
	    token[0] != '\0') {
		*cred = (struct http_credential){.kind = HTTP_CRED_COOKIE, .value = token};
		return 1;
	}
	if (req->srv->tls == NULL || req->srv->tls->ca == NULL)
		return 0;
	rc = http_tls_peer(req->conn, &req->arena, cred);
	cred->kind = HTTP_CRED_CERT;
	if (rc == YG_EINVAL)
		http_metric_add(req->srv->certs_refused, 1);
	return rc > 0 ? 1 : rc == 0 ? 0 : -1;
}

/* Runs auth and the rate limit. MHD_YES: go on; MHD_NO: answered. */
static enum MHD_Result check_access(struct http_request *req)
{
	struct http_server *srv = req->srv;
	const struct http_route *rt = req->route;
	bool limited = srv->rl != NULL && !(rt->flags & HTTP_ROUTE_NO_RATELIMIT);
	struct http_credential cred = {0};
	int have, rc = YG_EINVAL;

	if (rt->flags & HTTP_ROUTE_AUTH) {
		have = request_credential(req, &cred);
		if (have > 0 && srv->cfg.auth != NULL &&
		    (rc = srv->cfg.auth(srv->cfg.auth_ctx, req, &cred, &req->principal)) == 0) {
			req->has_principal = true;
			if (cred.kind == HTTP_CRED_COOKIE && !csrf_checked(req, cred.value))
				return MHD_NO;
		} else {
			/* Failed attempts spend the address's tokens: guessing is
			 * throttled like any other traffic. */
			req->principal = NULL;
			if (limited && rate_limited(req, req->remote_key) == MHD_NO)
				return MHD_NO;
			/* The credential could not be checked (the store is away): a
			 * client told 401 would think its token bad. */
			if (have > 0 && (rc == YG_EIO || rc == YG_ENOMEM)) {
				fail(req, 503, "the credential cannot be checked now; retry",
				     "Retry-After", "1");
				return MHD_NO;
			}
			fail(req, 401,
			     have == 0			      ? "bearer token required"
			     : cred.kind == HTTP_CRED_CERT ? "client certificate not accepted"
							   : "invalid token",
			     "WWW-Authenticate", have == 0 ? "Bearer" : "Bearer error=\"invalid_token\"");
			return MHD_NO;
		}
	}
	if (!limited)
		return MHD_YES;
	if (req->has_principal)
		return rate_limited(req, http_hash64(cred.value, strlen(cred.value)));
	return rate_limited(req, req->remote_key);
}

/* Parses a JSON body and runs the route's handler; the response is left in
 * req->resp for queue_resp(), which must run on the connection's thread. */
static void handle(struct http_request *req)
{
	const struct http_route *rt = req->route;
	unsigned long failed;
	int rc;

	if ((rt->flags & HTTP_ROUTE_JSON) && req->body_len > 0) {
		json_error_t jerr;

		req->json = yg_json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
		if (req->json == NULL && yg_json_oom(&jerr)) {
			req->resp.nhdr = 0;
			if (http_response_error(&req->resp, 503, NULL, "out of memory") < 0)
				resp_clear_body(&req->resp);
			(void)http_response_header(&req->resp, "Retry-After", "1");
			return;
		}
		if (req->json == NULL) {
			char msg[256];

			snprintf(msg, sizeof(msg), "body is not valid JSON: %s (line %d, column %d)",
				 jerr.text, jerr.line, jerr.column);
			if (http_response_error(&req->resp, 400, "bad_json", msg) < 0)
				resp_clear_body(&req->resp);
			return;
		}
	}
	req->wake_gen = atomic_load(&req->srv->wake_gen);
	failed = yg_alloc_failed_here();
	rc = rt->handler(req, &req->resp, rt->ctx);
	/* An allocation that failed while the handler ran (jansson's too, see
	 * base/json.h) may have left its answer short of a member or without
	 * a body at all, where the handler did not check: the client is told
	 * to try again rather than given that answer. What the handler had
	 * committed stays committed, and its log entry with it. */
	if (rc == 0 && yg_alloc_failed_here() != failed && req->resp.status < 500)
		rc = YG_ENOMEM;
	if (rc < 0 && req->park) { /* it failed after asking to wait: answered now */
		req->park = false;
		req->parks--;
		pthread_mutex_lock(&req->srv->pmu);
		req->srv->nparked--;
		pthread_mutex_unlock(&req->srv->pmu);
	}
	if (rc < 0) {
		log_warnx("http: %s %s: handler failed: %s", req->method_str, req->target.path,
			  yg_strerror(rc));
		req->resp.nhdr = 0;
		/* Out of memory passes: the client is to try again. */
		if (http_response_error(&req->resp, rc == YG_ENOMEM ? 503 : 500, NULL,
					rc == YG_ENOMEM ? "out of memory" : "internal error") < 0)
			resp_clear_body(&req->resp);
		if (rc == YG_ENOMEM)
			(void)http_response_header(&req->resp, "Retry-After", "1");
	}
}

/* With handler threads the connection is suspended and the request queued;
 * the handler thread resumes it when done, and access_cb() answers. */
static void park(struct http_request *req);

static void run_handler(struct http_request *req)
{
	struct http_server *srv = req->srv;

	if (srv->nhthr == 0 || (req->route->flags & HTTP_ROUTE_INLINE)) {
		handle(req);
		if (req->park)
			park(req);
		else
			queue_resp(req);
		return;
	}
	req->deferred = true;
	atomic_fetch_add(&srv->nsuspended, 1);
	MHD_suspend_connection(req->conn);
	req->hnext = NULL; /* a long poll comes this way more than once */
	pthread_mutex_lock(&srv->hmu);
	if (srv->htail)
		srv->htail->hnext = req;
	else
		srv->hhead = req;
	srv->htail = req;
	pthread_cond_signal(&srv->hcv);
	pthread_mutex_unlock(&srv->hmu);
}

static void unpark(struct http_server *srv, bool all, bool woken);

/* Parks req, which asked to wait: its connection stays (or becomes)
 * suspended, counted in nsuspended once, until the park thread resumes
 * it for its handler to run again. */
static void park(struct http_request *req)
{
	struct http_server *srv = req->srv;

	req->park = false;
	if (!req->deferred) { /* on the event thread: not yet suspended */
		atomic_fetch_add(&srv->nsuspended, 1);
		MHD_suspend_connection(req->conn);
	}
	pthread_mutex_lock(&srv->pmu);
	req->pnext = srv->parked;
	srv->parked = req; /* its place was taken in http_request_park */
	if (srv->pstop) /* the thread is gone or going: back at once */
		unpark(srv, true, false);
	else if (req->wake_gen != atomic_load(&srv->wake_gen))
		srv->pwake = true; /* a wake came while its handler looked: back at once */
	pthread_cond_signal(&srv->pcv);
	pthread_mutex_unlock(&srv->pmu);
}

/* Resumes the parked requests whose time has come, or all of them: each
 * comes back to access_cb, which runs its handler again. pmu held. */
static void unpark(struct http_server *srv, bool all, bool woken)
{
	uint64_t now = now_ns();

	for (struct http_request **pp = &srv->parked; *pp != NULL;) {
		struct http_request *req = *pp;

		if (!all && req->park_until > now) {
			pp = &req->pnext;
			continue;
		}
		*pp = req->pnext;
		srv->nparked--;
			req->rerun = true;
		req->woken = woken;
		req->deferred = false;
		atomic_fetch_sub(&srv->nsuspended, 1);
		MHD_resume_connection(req->conn);
	}
}

static void *park_main(void *arg)
{
	struct http_server *srv = arg;

	pthread_mutex_lock(&srv->pmu);
	while (!srv->pstop || srv->parked != NULL) {
		uint64_t next = 0;

		if (srv->pwake || srv->pstop) {
			unpark(srv, true, !srv->pstop);
			srv->pwake = false;
			continue;
		}
		unpark(srv, false, false);
		for (const struct http_request *r = srv->parked; r != NULL; r = r->pnext)
			if (next == 0 || r->park_until < next)
				next = r->park_until;
		if (next == 0) {
			pthread_cond_wait(&srv->pcv, &srv->pmu);
		} else {
			/* pcv waits on CLOCK_MONOTONIC (http_server_new). */
			struct timespec ts = {(time_t)(next / 1000000000ull),
					      (long)(next % 1000000000ull)};
			pthread_cond_timedwait(&srv->pcv, &srv->pmu, &ts);
		}
	}
	pthread_mutex_unlock(&srv->pmu);
	return NULL;
}

static void *handler_main(void *arg)
{
	struct http_server *srv = arg;

	pthread_mutex_lock(&srv->hmu);
	for (;;) {
		struct http_request *req;
		struct MHD_Connection *conn;

		while (srv->hhead == NULL && !srv->hstop)
			pthread_cond_wait(&srv->hcv, &srv->hmu);
		if (srv->hhead == NULL)
			break; /* stopping, and nothing left */
		req = srv->hhead;
		srv->hhead = req->hnext;
		if (srv->hhead == NULL)
			srv->htail = NULL;
		/* Stopping: what no handler has started is not acknowledged;
		 * the client is told to come back. A long poll back from
		 * waiting is answered by its handler, which may not wait now. */
		bool stopping = srv->hstop && req->parks == 0;
		pthread_mutex_unlock(&srv->hmu);
		if (stopping) {
			req->resp.nhdr = 0;
			if (http_response_error(&req->resp, 503, NULL, "server is shutting down") < 0)
				resp_clear_body(&req->resp);
		} else {
			handle(req);
			if (req->park) { /* still suspended, now waiting */
				park(req);
				pthread_mutex_lock(&srv->hmu);
				continue;
			}
		}
		/* After the resume the connection's thread may answer and free
		 * req at once: nothing of req is touched past this point. */
		conn = req->conn;
		atomic_store(&req->handled, true);
		MHD_resume_connection(conn);
		pthread_mutex_lock(&srv->hmu);
	}
	pthread_mutex_unlock(&srv->hmu);
	return NULL;
}

bool http_request_park(struct http_request *req, unsigned ms)
{
	struct http_server *srv = req->srv;
	uint64_t now = now_ns();
	bool ok;

	pthread_mutex_lock(&srv->pmu);
	if (req->parks == 0)
		req->park_until = now + (uint64_t)ms * 1000000ull;
	ok = srv->pthr_started && !srv->pstop && !atomic_load(&srv->stopping) &&
	     req->park_until > now && (req->parks > 0 || srv->nparked < srv->cfg.max_parked);
	/* The place is taken now, not when park() lists the request after
	 * its handler returns: handlers on other threads asking meanwhile
	 * must see it taken, or more than max_parked would wait. */
	if (ok)
		srv->nparked++;
	pthread_mutex_unlock(&srv->pmu);
	if (ok) {
		req->park = true;
		req->parks++;
	}
	return ok;
}

bool http_request_woken(const struct http_request *req)
{
	return req->woken;
}

void http_server_wake(struct http_server *srv)
{
	if (srv == NULL)
		return;
	atomic_fetch_add(&srv->wake_gen, 1);
	pthread_mutex_lock(&srv->pmu);
	if (srv->parked != NULL) {
		srv->pwake = true;
		pthread_cond_signal(&srv->pcv);
	}
	pthread_mutex_unlock(&srv->pmu);
}

static int park_start(struct http_server *srv)
{
	/* Set before the thread runs: it reads the flags beside this one. */
	srv->pstop = srv->pwake = false;
	srv->pthr_started = true;
	if (pthread_create(&srv->pthr, NULL, park_main, srv) != 0) {
		srv->pthr_started = false;
		return YG_ENOMEM;
	}
	return 0;
}

/* Resumes every parked request (its handler answers now: it may no
 * longer wait) and ends the thread. */
static void park_stop(struct http_server *srv)
{
	if (!srv->pthr_started)
		return;
	pthread_mutex_lock(&srv->pmu);
	srv->pstop = true;
	pthread_cond_signal(&srv->pcv);
	pthread_mutex_unlock(&srv->pmu);
	pthread_join(srv->pthr, NULL);
	srv->pthr_started = false;
}

static enum MHD_Result framing_field(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	(void)kind;
	http_framing_add(cls, key, value != NULL ? value : "");
	return MHD_YES;
}

/* The checks on the request as a whole, before it is routed: where its body
 * ends (no smuggling past a proxy that reads it otherwise) and its size.
 * Returns MHD_YES to go on, MHD_NO when answered. */
static enum MHD_Result check_request(struct http_request *req, const char *version)
{
	struct http_server *srv = req->srv;
	const union MHD_ConnectionInfo *ci;
	struct http_framing f;
	const char *why = NULL;
	char msg[96];
	int status;

	http_framing_init(&f);
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, framing_field, &f);
	status = http_framing_verdict(&f, version != NULL && strcmp(version, "HTTP/1.0") == 0, &why);
	if (status != 0) {
		fail(req, status, why, NULL, NULL);
		return MHD_NO;
	}
	if (strlen(req->raw_uri) > srv->cfg.max_uri) {
		snprintf(msg, sizeof(msg), "request target longer than %zu bytes", srv->cfg.max_uri);
		fail(req, 414, msg, NULL, NULL);
		return MHD_NO;
	}
	ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	if (ci != NULL && ci->header_size > srv->cfg.max_header) {
		snprintf(msg, sizeof(msg), "request header larger than %zu bytes",
			 srv->cfg.max_header);
		fail(req, 431, msg, NULL, NULL);
		return MHD_NO;
	}
	return MHD_YES;
}

/* First call: headers are in. Answers errors at once; returns MHD_YES to
 * read a body, or after answering a body-less request. */
static enum MHD_Result first_call(struct http_request *req, const char *url, const char *version)
{
	struct http_server *srv = req->srv;
	const struct http_route *rt;
	const char *cl, *te;
	unsigned long long clen = 0;
	int rc;

	set_remote(req);
	http_conn_phase(req->hc, HTTP_PHASE_BUSY);
	if (atomic_load_explicit(&srv->stopping, memory_order_relaxed))
		return fail(req, 503, "server is shutting down", "Retry-After", "1");
	if (req->raw_uri == NULL)
		req->raw_uri = url;
	if (check_request(req, version) == MHD_NO)
		return MHD_YES; /* answered */
	rc = http_target_parse(&req->arena, req->raw_uri, strlen(req->raw_uri), &req->target);
	if (rc == YG_ENOMEM)
		return fail(req, 503, "out of memory", "Retry-After", "1");
	if (rc < 0)
		return fail(req, 400, "malformed request target", NULL, NULL);
	http_router_match(&srv->router, req->method, &req->target, &req->match);
	if (req->match.route == NULL) {
		char allow[96];

		if (req->match.pattern_id < 0)
			return fail(req, 404, "no such resource", NULL, NULL);
		req->stats_id = (size_t)req->match.pattern_id;
		http_allow_format(req->match.allow, allow, sizeof(allow));
		if (req->method == HTTP_OPTIONS) {
			(void)http_response_header(&req->resp, "Allow", allow);
			return queue_resp(req);
		}
		return fail(req, 405, "method not allowed on this resource", "Allow", allow);
	}
	rt = req->route = req->match.route;
	req->stats_id = rt->pattern_id;
	if (check_access(req) == MHD_NO)
		return MHD_YES; /* answered */

	cl = http_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = http_request_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (cl != NULL) {
		char *end;

		errno = 0;
		clen = strtoull(cl, &end, 10);
		if (errno != 0 || end == cl || *end != '\0')
			return fail(req, 400, "bad Content-Length", NULL, NULL);
		if (clen > srv->cfg.max_body) {
			char msg[96];

			snprintf(msg, sizeof(msg), "body larger than %zu bytes", srv->cfg.max_body);
			return fail(req, 413, msg, NULL, NULL);
		}
	}
	if (rt->media != NULL) {
		const char *accept = http_request_header(req, MHD_HTTP_HEADER_ACCEPT);
		char msg[160];

		if (accept != NULL && !media_ok(accept, rt->media, true)) {
			snprintf(msg, sizeof(msg), "this resource is %s only", rt->media->ctype);
			return fail(req, 406, msg, NULL, NULL);
		}
	}
	if (rt->flags & (HTTP_ROUTE_JSON | HTTP_ROUTE_JSON_RAW)) {
		bool wants_body = req->method == HTTP_POST || req->method == HTTP_PUT ||
				  req->method == HTTP_PATCH;
		const char *ct = http_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);

		if (wants_body && cl == NULL && te == NULL)
			return fail(req, 411, "Content-Length required", NULL, NULL);
		if ((clen > 0 || te != NULL) &&
		    (rt->media != NULL ? !media_ok(ct, rt->media, false) : !is_json_ctype(ct))) {
			char msg[160];

			snprintf(msg, sizeof(msg), "Content-Type must be %s",
				 rt->media != NULL ? rt->media->ctype : "application/json");
			return fail(req, 415, msg, NULL, NULL);
		}
	}
	/* Nothing to read: answered on the next call, which libmicrohttpd
	 * makes at once. An answer queued from this first call makes
	 * libmicrohttpd 0.9.75 close the connection after it (Connection:
	 * close), and every GET would cost a new connection (over TLS, a
	 * handshake). */
	if (clen == 0 && te == NULL)
		return MHD_YES;
	if (clen > 0) {
		req->body = yg_malloc((size_t)clen + 1);
		if (req->body == NULL)
			return fail(req, 503, "out of memory", "Retry-After", "1");
		req->body_cap = (size_t)clen + 1;
	}
	http_conn_phase(req->hc, HTTP_PHASE_BODY);
	return MHD_YES;
}

static void body_append(struct http_request *req, const char *data, size_t n)
{
	size_t max = req->srv->cfg.max_body;

	req->bytes_in += n;
	if (req->body_over)
		return; /* discard: the answer will be 413 */
	if (n > max - req->body_len) {
		req->body_over = true;
		free(req->body);
		req->body = NULL;
		req->body_len = req->body_cap = 0;
		return;
	}
	if (req->body_cap - req->body_len < n + 1) {
		size_t ncap = req->body_cap ? req->body_cap : 4096;
		char *nb;

		while (ncap - req->body_len < n + 1)
			ncap *= 2;
		if (ncap > max + 1)
			ncap = max + 1;
		nb = yg_realloc(req->body, ncap);
		if (nb == NULL) {
			req->body_over = true; /* answered as 413: cannot hold it */
			free(req->body);
			req->body = NULL;
			req->body_len = req->body_cap = 0;
			return;
		}
		req->body = nb;
		req->body_cap = ncap;
	}
	memcpy(req->body + req->body_len, data, n);
	req->body_len += n;
	req->body[req->body_len] = '\0';
}

static enum MHD_Result access_step(struct http_request *req, struct MHD_Connection *conn,
				   const char *url, const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size);

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct http_request *req = *con_cls;
	enum MHD_Result rc;

	(void)cls;
	if (req == NULL)
		return MHD_NO;
	if (*con_cls == &oom_unanswered || *con_cls == &oom_answered)
		return oom_answer(conn, con_cls, upload_data_size);
	if (req->dead)
		return MHD_NO;
	rc = access_step(req, conn, url, method, version, upload_data, upload_data_size);
	return req->dead ? MHD_NO : rc;
}

/* One call of libmicrohttpd's for req (access_cb). */
static enum MHD_Result access_step(struct http_request *req, struct MHD_Connection *conn,
				   const char *url, const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size)
{
	if (!req->started) {
		req->started = true;
		req->conn = conn;
		req->method_str = method;
		req->method = http_method_parse(method);
		return first_call(req, url, version);
	}
	if (*upload_data_size > 0) {
		if (!req->queued)
			body_append(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->queued)
		return MHD_YES;
	if (req->rerun) { /* back from waiting (a long poll): from a clean answer */
		req->rerun = false;
		req->resp.nhdr = 0;
		resp_clear_body(&req->resp);
		req->resp.status = 0;
		run_handler(req);
		return MHD_YES;
	}
	if (req->deferred) { /* resumed: the handler thread is done */
		if (atomic_load(&req->handled))
			return queue_resp(req);
		return MHD_YES;
	}
	http_conn_phase(req->hc, HTTP_PHASE_BUSY); /* the body is in */
	if (req->body_over) {
		char msg[96];

		snprintf(msg, sizeof(msg), "body larger than %zu bytes", req->srv->cfg.max_body);
		return fail(req, 413, msg, NULL, NULL);
	}
	run_handler(req);
	return MHD_YES;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	char line[512];
	size_t n;
	unsigned long long dropped = 0;
	bool print = false;
	uint64_t now = now_ns();

	pthread_mutex_lock(&srv->log_mu);
	if (now - srv->log_window >= MHD_LOG_WINDOW_NS) {
		dropped = srv->log_dropped;
		srv->log_window = now;
		srv->log_n = 0;
		srv->log_dropped = 0;
	}
	if (srv->log_n < MHD_LOG_BURST) {
		srv->log_n++;
		print = true;
	} else {
		srv->log_dropped++;
	}
	pthread_mutex_unlock(&srv->log_mu);
	if (dropped > 0)
		log_warnx("http: libmicrohttpd: %llu more messages not logged (at most %d in %llu s)",
			  dropped, MHD_LOG_BURST, MHD_LOG_WINDOW_NS / 1000000000ull);
	if (!print)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_warnx("http: libmicrohttpd: %s", line);
}

/* The per-address cap, checked before libmicrohttpd takes the connection
 * (its own cap closes the socket uncounted). */
static enum MHD_Result accept_cb(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_server *srv = cls;

	(void)addrlen;
	/* Stopping: no new connection (this stands for MHD_quiesce_daemon,
	 * which races with its own epoll workers, see http_server_stop). */
	if (atomic_load(&srv->stopping))
		return MHD_NO;
	return http_conns_admit(srv->conns, addr) ? MHD_YES : MHD_NO;
}

static void connection_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *srv = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ad =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		*socket_context = fd == NULL ? NULL
					     : http_conns_open(srv->conns, fd->connect_fd,
							       ad != NULL ? ad->client_addr : NULL);
		/* Over TLS libmicrohttpd sends an answer's header and body as
		 * records of their own: with Nagle's algorithm the body waits for
		 * the client's delayed ACK of the header, 40 ms a request. */
		if (srv->tls != NULL && fd != NULL) {
			int one = 1;

			(void)setsockopt(fd->connect_fd, IPPROTO_TCP, TCP_NODELAY, &one,
					 sizeof(one));
		}
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		http_conns_close(*socket_context);
		*socket_context = NULL;
	}
}

/* ---- built-in routes ---- */

static int healthz_handler(struct http_request *req, struct http_response *resp, void *ctx)
{
	(void)ctx;
	if (atomic_load(&req->srv->stopping))
		return http_response_error(resp, 503, NULL, "server is shutting down");
	return http_response_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

/* The process's resident memory, and what malloc holds in its arenas: in
 * use, and free but kept. Resident memory that grows while the heap in
 * use does not is the arenas' and caches' high-water mark, not a leak
 * (docs/security.md, the soak). mallinfo2 walks every arena: a scrape's
 * cost, not a request's. The heap's gauges are absent where malloc is not
 * glibc's (a sanitizer's answers zeros). */
static void process_metrics(struct http_server *srv)
{
	struct mallinfo2 mi = mallinfo2();
	long pages = 0, page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/statm", "re");

	if (f != NULL) {
		if (fscanf(f, "%*s %ld", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	http_metric_set(srv->rss, (double)pages * (double)page);
	if (srv->heap_used != NULL) {
		http_metric_set(srv->heap_used, (double)(mi.uordblks + mi.hblkhd));
		http_metric_set(srv->heap_free, (double)mi.fordblks);
	}
}

static int metrics_handler(struct http_request *req, struct http_response *resp, void *ctx)
{
	char *buf;
	size_t len;
	int rc;

	(void)ctx;
	process_metrics(req->srv);
	rc = http_metrics_render(req->srv->metrics, &buf, &len);
	if (rc < 0)
		return rc;
	if (http_arena_defer(&req->arena, free, buf) < 0) {
		free(buf);
		return YG_ENOMEM;
	}
	resp_clear_body(resp);
	resp->status = 200;
	resp->body = buf;
	resp->body_len = len;
	resp->ctype = "text/plain; version=0.0.4; charset=utf-8";
	return 0;
}

/* ---- server ---- */

static int parse_listen(struct http_server *srv, const char *s)
{
	char host[64];
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	unsigned long port;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return YG_EINVAL;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
		srv->v6 = true;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return YG_EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return YG_EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || port > 65535)
		return YG_EINVAL;
	memset(&srv->addr, 0, sizeof(srv->addr));
	if (srv->v6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&srv->addr;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return YG_EINVAL;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&srv->addr;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return YG_EINVAL;
	}
	return 0;
}

int http_server_new(const struct http_config *cfg, struct http_server **out)
{
	struct http_server *srv;
	int rc;

	*out = NULL;
	yg_json_init();
	srv = yg_calloc(1, sizeof(*srv));
	if (srv == NULL)
		return YG_ENOMEM;
	srv->cfg = *cfg;
	if (srv->cfg.listen == NULL)
		srv->cfg.listen = "127.0.0.1:8080";
	if (srv->cfg.threads == 0)
		srv->cfg.threads = 4;
	pthread_mutex_init(&srv->hmu, NULL);
	pthread_cond_init(&srv->hcv, NULL);
	/* Parked requests wait on it with a monotonic deadline. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&srv->pmu, NULL);
	pthread_cond_init(&srv->pcv, &ca);
	pthread_condattr_destroy(&ca);
	if (srv->cfg.max_parked == 0)
		srv->cfg.max_parked = 256;
	pthread_mutex_init(&srv->log_mu, NULL);
	if (srv->cfg.max_connections == 0)
		srv->cfg.max_connections = 4096;
	if (srv->cfg.per_ip_connections == 0)
		srv->cfg.per_ip_connections = 64;
	if (srv->cfg.idle_timeout_s == 0)
		srv->cfg.idle_timeout_s = 30;
	if (srv->cfg.header_timeout_s == 0)
		srv->cfg.header_timeout_s = 10;
	if (srv->cfg.body_timeout_s == 0)
		srv->cfg.body_timeout_s = 60;
	if (srv->cfg.max_header == 0)
		srv->cfg.max_header = 16u << 10;
	if (srv->cfg.max_uri == 0)
		srv->cfg.max_uri = 8u << 10;
	if (srv->cfg.max_body == 0)
		srv->cfg.max_body = 1u << 20;
	/* Headers past max_header are answered here, in JSON; libmicrohttpd
	 * answers those past its buffer itself: keep its buffer well above. */
	if (srv->cfg.conn_memory == 0)
		srv->cfg.conn_memory =
			srv->cfg.max_header * 4 > (64u << 10) ? srv->cfg.max_header * 4 : 64u << 10;
	if (srv->cfg.arena_limit == 0)
		srv->cfg.arena_limit = (4u << 20) + srv->cfg.max_body;
	if (srv->cfg.stop_timeout_ms == 0)
		srv->cfg.stop_timeout_ms = 10000;
	if (srv->cfg.burst <= 0)
		srv->cfg.burst = srv->cfg.rate > 1 ? srv->cfg.rate : 1;
	if (srv->cfg.rate_table_size == 0)
		srv->cfg.rate_table_size = 65536;
	http_router_init(&srv->router);
	rc = YG_ENOMEM;
	srv->listen = yg_malloc(strlen(srv->cfg.listen) + 1);
	if (srv->listen == NULL)
		goto fail;
	memcpy(srv->listen, srv->cfg.listen, strlen(srv->cfg.listen) + 1);
	srv->cfg.listen = srv->listen;
	rc = parse_listen(srv, srv->listen);
	if (rc < 0) {
		log_warnx("http: listen address '%s': expected ADDR:PORT or [ADDR6]:PORT",
			  srv->listen);
		goto fail;
	}
	{
		char err[512];

		if ((rc = http_tls_load(&srv->cfg, &srv->tls, err, sizeof(err))) < 0) {
			log_warnx("http: %s", err);
			goto fail;
		}
	}
	rc = YG_ENOMEM;
	srv->metrics = http_metrics_new();
	if (srv->metrics == NULL)
		goto fail;
	{
		unsigned timeout_s[HTTP_PHASE_COUNT] = {
			[HTTP_PHASE_HEADER] = srv->cfg.header_timeout_s,
			[HTTP_PHASE_BODY] = srv->cfg.body_timeout_s,
			[HTTP_PHASE_IDLE] = srv->cfg.idle_timeout_s,
		};

		rc = http_conns_new(srv->cfg.per_ip_connections, srv->cfg.max_connections,
				    timeout_s, srv->metrics, &srv->conns);
		if (rc < 0)
			goto fail;
	}
	if (srv->tls != NULL && srv->tls->ca != NULL)
		srv->certs_refused = http_metrics_counter(
			srv->metrics, "yagura_http_client_certificates_refused_total", NULL,
			"client certificates that did not verify against the client CA (another CA, "
			"expired, not for TLS clients), on requests that needed a credential");
	srv->protocol_errors = http_metrics_counter(
		srv->metrics, "yagura_http_protocol_errors_total", NULL,
		"requests libmicrohttpd refused itself after their request line (malformed "
		"header, header or body size it cannot hold)");
	srv->rss = http_metrics_gauge(srv->metrics, "process_resident_memory_bytes", NULL,
				      "resident memory of the process, in bytes");
	if (srv->rss == NULL) {
		rc = YG_ENOMEM;
		goto fail;
	}
	{
		struct mallinfo2 mi = mallinfo2();

		if (mi.arena + mi.hblkhd > 0) { /* glibc's malloc, which has handed out this much */
			srv->heap_used = http_metrics_gauge(
				srv->metrics, "yagura_heap_bytes", "state=\"in_use\"",
				"bytes malloc has handed out (in_use), and holds free in its arenas "
				"for later (free)");
			srv->heap_free = http_metrics_gauge(
				srv->metrics, "yagura_heap_bytes", "state=\"free\"",
				"bytes malloc has handed out (in_use), and holds free in its arenas "
				"for later (free)");
			if (srv->heap_used == NULL || srv->heap_free == NULL) {
				rc = YG_ENOMEM;
				goto fail;
			}
		}
	}
	if (srv->cfg.rate > 0) {
		rc = http_ratelimit_new(srv->cfg.rate, srv->cfg.burst, srv->cfg.rate_table_size,
					&srv->rl);
		if (rc < 0)
			goto fail;
	}
	rc = http_router_add(&srv->router, HTTP_GET, "/healthz",
			     HTTP_ROUTE_NO_RATELIMIT | HTTP_ROUTE_INLINE, healthz_handler, NULL);
	if (rc == 0)
		rc = http_router_add(&srv->router, HTTP_GET, "/metrics",
				     HTTP_ROUTE_NO_RATELIMIT | HTTP_ROUTE_INLINE, metrics_handler,
				     NULL);
	if (rc < 0)
		goto fail;
	*out = srv;
	return 0;
fail:
	http_server_free(srv);
	return rc;
}

int http_server_route(struct http_server *srv, enum http_method method, const char *pattern,
		      unsigned flags, http_handler_fn handler, void *ctx)
{
	if (srv->started)
		return YG_EINVAL;
	return http_router_add(&srv->router, method, pattern, flags, handler, ctx);
}

int http_server_route_media(struct http_server *srv, enum http_method method, const char *pattern,
			    unsigned flags, const struct http_media *media, http_handler_fn handler,
			    void *ctx)
{
	int rc = http_server_route(srv, method, pattern, flags, handler, ctx);

	if (rc == 0)
		srv->router.routes[srv->router.nroutes - 1].media = media;
	return rc;
}

static void handlers_stop(struct http_server *srv)
{
	if (srv->nhthr == 0)
		return;
	pthread_mutex_lock(&srv->hmu);
	srv->hstop = true;
	pthread_cond_broadcast(&srv->hcv);
	pthread_mutex_unlock(&srv->hmu);
	for (unsigned i = 0; i < srv->nhthr; i++)
		pthread_join(srv->hthr[i], NULL);
	free(srv->hthr);
	srv->hthr = NULL;
	srv->nhthr = 0;
}

static int handlers_start(struct http_server *srv)
{
	unsigned n = srv->cfg.handler_threads;

	srv->hstop = false;
	srv->hhead = srv->htail = NULL;
	if (n == 0)
		return 0;
	srv->hthr = yg_calloc(n, sizeof(*srv->hthr));
	if (srv->hthr == NULL)
		return YG_ENOMEM;
	for (srv->nhthr = 0; srv->nhthr < n; srv->nhthr++) {
		if (pthread_create(&srv->hthr[srv->nhthr], NULL, handler_main, srv) != 0) {
			handlers_stop(srv);
			return YG_ENOMEM;
		}
	}
	return 0;
}

/* The connection limit, lowered if the descriptors allowed cannot hold it
 * beside FD_RESERVE others: past RLIMIT_NOFILE, accept() fails and every
 * client waits, not only the ones over the limit. Raises the soft limit
 * towards the hard one first, as far as needed. */
static unsigned fit_fd_limit(unsigned want)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)want + FD_RESERVE;
	unsigned fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= need)
		return want;
	{
		struct rlimit nr = rl;

		nr.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &nr) == 0) {
			log_info("http: open file limit raised from %llu to %llu for %u connections",
				 (unsigned long long)rl.rlim_cur, (unsigned long long)nr.rlim_cur,
				 want);
			rl.rlim_cur = nr.rlim_cur;
		}
	}
	if (rl.rlim_cur >= need)
		return want;
	fit = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE)
					   : (unsigned)(rl.rlim_cur / 2);
	log_warnx("http: open file limit %llu: at most %u connections, not %u",
		  (unsigned long long)rl.rlim_cur, fit, want);
	return fit;
}

int http_server_start(struct http_server *srv)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	const union MHD_DaemonInfo *di;
	struct MHD_OptionItem tls[5];
	size_t ntls = 0;
	int rc;

	if (srv->started)
		return YG_EINVAL;
	if (srv->tls != NULL) {
		flags |= MHD_USE_TLS;
		tls[ntls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls->cert};
		tls[ntls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls->key};
		tls[ntls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
						      srv->tls->priorities};
		/* A trust list makes libmicrohttpd ask each client for a
		 * certificate (asked, not required). */
		if (srv->tls->ca != NULL)
			tls[ntls++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
							      srv->tls->ca};
	}
	tls[ntls] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	free(srv->stat_names);
	srv->nstat = srv->router.npatterns + 1;
	srv->stat_names = yg_malloc(srv->nstat * sizeof(char *));
	if (srv->stat_names == NULL)
		return YG_ENOMEM;
	memcpy(srv->stat_names, srv->router.patterns, srv->router.npatterns * sizeof(char *));
	srv->stat_names[srv->nstat - 1] = unmatched_name;
	rc = http_metrics_routes(srv->metrics, srv->stat_names, srv->nstat);
	if (rc < 0)
		return rc;
	if (srv->v6)
		flags |= MHD_USE_IPv6;
	srv->cfg.max_connections = fit_fd_limit(srv->cfg.max_connections);
	atomic_store(&srv->stopping, false);
	if ((rc = handlers_start(srv)) < 0)
		return rc;
	if ((rc = http_conns_start(srv->conns)) < 0) {
		handlers_stop(srv);
		return rc;
	}
	/* The per-address cap is accept_cb's (libmicrohttpd's own would close
	 * connections without a count); the deadlines are the reaper's. */
	srv->d = MHD_start_daemon(
		flags, 0, accept_cb, srv, access_cb, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
		MHD_OPTION_SOCK_ADDR, &srv->addr,
		MHD_OPTION_THREAD_POOL_SIZE, srv->cfg.threads, MHD_OPTION_CONNECTION_LIMIT,
		srv->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, srv->cfg.idle_timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv->cfg.conn_memory,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_URI_LOG_CALLBACK, uri_cb, srv,
		MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv, MHD_OPTION_NOTIFY_CONNECTION,
		connection_cb, srv, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (srv->d == NULL) {
		log_warnx("http: cannot listen on %s", srv->listen);
		http_conns_stop(srv->conns);
		handlers_stop(srv);
		return YG_EIO;
	}
	di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di != NULL ? di->port : 0;
	srv->started = true;
	if (park_start(srv) < 0)
		log_warnx("http: no thread for long polls: they are answered at once");
	log_info("http: listening on %s (port %u, %u threads%s)", srv->listen, srv->port,
		 srv->cfg.threads,
		 srv->tls == NULL	 ? ""
		 : srv->tls->ca != NULL ? ", HTTPS, client certificates asked for"
					 : ", HTTPS");
	return 0;
}

unsigned http_server_port(const struct http_server *srv)
{
	return srv->started ? srv->port : 0;
}

int http_server_stop(struct http_server *srv)
{
	uint64_t deadline;
	MHD_socket fd;
	int left, rc = 0;

	if (srv == NULL || !srv->started)
		return 0;
	atomic_store(&srv->stopping, true);
	/* Long polls are answered now rather than waited for. */
	park_stop(srv);
	/* No new connection from here: accept_cb refuses them once stopping
	 * is set. Not MHD_quiesce_daemon(): with epoll worker threads it
	 * races with a worker taking the listening socket out of its epoll
	 * set at the same time, and libmicrohttpd (0.9.75) then aborts the
	 * process ("Failed to remove listen FD from epoll set"; seen once in
	 * CI in unit.http_server). MHD_stop_daemon() closes the socket. */
	fd = MHD_INVALID_SOCKET;
	deadline = now_ns() + (uint64_t)srv->cfg.stop_timeout_ms * 1000000ull;
	while ((left = atomic_load(&srv->inflight)) > 0 && now_ns() < deadline) {
		struct timespec ts = { 0, 2000000 };

		nanosleep(&ts, NULL);
	}
	if (left > 0) {
		log_warnx("http: stop: %d requests still in flight after %u ms, closing", left,
			  srv->cfg.stop_timeout_ms);
		rc = YG_ELIMIT;
	}
	/* libmicrohttpd aborts the process if it is stopped with a connection
	 * suspended: the handler threads go first (what they hold is waited
	 * for, what is queued is answered 503), then their resumed requests
	 * are given time to complete. */
	handlers_stop(srv);
	deadline = now_ns() + 2000000000ull;
	while (atomic_load(&srv->nsuspended) > 0 && now_ns() < deadline) {
		struct timespec ts = { 0, 2000000 };

		nanosleep(&ts, NULL);
	}
	if (atomic_load(&srv->nsuspended) > 0)
		log_warnx("http: stop: %d suspended requests never completed; the daemon is left "
			  "running", atomic_load(&srv->nsuspended));
	else
		MHD_stop_daemon(srv->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	http_conns_stop(srv->conns);
	srv->d = NULL;
	srv->started = false;
	return rc;
}

struct http_metrics *http_server_metrics(struct http_server *srv)
{
	return srv->metrics;
}

void http_server_free(struct http_server *srv)
{
	if (srv == NULL)
		return;
	(void)http_server_stop(srv);
	http_router_fini(&srv->router);
	http_metrics_free(srv->metrics);
	http_ratelimit_free(srv->rl);
	http_conns_free(srv->conns);
	free(srv->stat_names);
	free(srv->listen);
	http_tls_free(srv->tls);
	pthread_mutex_destroy(&srv->hmu);
	pthread_cond_destroy(&srv->hcv);
	pthread_mutex_destroy(&srv->pmu);
	pthread_cond_destroy(&srv->pcv);
	pthread_mutex_destroy(&srv->log_mu);
	free(srv);
}
