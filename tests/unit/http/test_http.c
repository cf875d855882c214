/* test_http.c - the HTTP core through a real server on loopback and a raw
 * socket client (keep-alive aware, Content-Length framing only). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/http.h"

/* ---- client ---- */

struct conn {
	int fd;
	char buf[65536];
	size_t len;
};

struct resp {
	int status;
	char head[8192];
	char *body;
	size_t body_len;
};

static int conn_open(struct conn *c, int family, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	}
	c->len = 0;
	c->fd = socket(family, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&ss, sl) < 0) {
		close(c->fd);
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fill(struct conn *c)
{
	ssize_t r;

	if (c->len == sizeof(c->buf))
		return -1;
	r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (r <= 0)
		return -1;
	c->len += (size_t)r;
	return 0;
}

static void resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

static const char *resp_header(const struct resp *r, const char *name)
{
	static __thread char val[1024];
	const char *p = strstr(r->head, "\r\n");
	size_t n = strlen(name);

	while (p != NULL && p[2] != '\0') {
		const char *line = p + 2, *eol = strstr(line, "\r\n");

		if (eol == NULL)
			break;
		if ((size_t)(eol - line) > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			size_t vl;

			while (*v == ' ')
				v++;
			vl = (size_t)(eol - v);
			if (vl >= sizeof(val))
				vl = sizeof(val) - 1;
			memcpy(val, v, vl);
			val[vl] = '\0';
			return val;
		}
		p = eol;
	}
	return NULL;
}

static int read_resp(struct conn *c, struct resp *r, int is_head)
{
	char *end;
	size_t hlen, clen = 0;
	const char *cl;

	memset(r, 0, sizeof(*r));
	for (;;) {
		c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = '\0';
		end = c->len >= 4 ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
		if (end != NULL)
			break;
		if (fill(c) < 0)
			return -1;
	}
	hlen = (size_t)(end - c->buf) + 4;
	if (hlen >= sizeof(r->head))
		return -1;
	memcpy(r->head, c->buf, hlen);
	r->head[hlen] = '\0';
	if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	cl = resp_header(r, "Content-Length");
	if (cl != NULL && !is_head)
		clen = strtoul(cl, NULL, 10);
	memmove(c->buf, c->buf + hlen, c->len - hlen);
	c->len -= hlen;
	r->body = malloc(clen + 1);
	while (c->len < clen && c->len < sizeof(c->buf))
		if (fill(c) < 0)
			break;
	if (c->len < clen) { /* big body: drain straight into r->body */
		size_t got = c->len;

		memcpy(r->body, c->buf, got);
		c->len = 0;
		while (got < clen) {
			ssize_t n = recv(c->fd, r->body + got, clen - got, 0);

			if (n <= 0)
				return -1;
			got += (size_t)n;
		}
	} else {
		memcpy(r->body, c->buf, clen);
		memmove(c->buf, c->buf + clen, c->len - clen);
		c->len -= clen;
	}
	r->body[clen] = '\0';
	r->body_len = clen;
	return 0;
}

/* One request on c: method, path, extra header lines ("A: b\r\n…"), body. */
static int do_req(struct conn *c, const char *method, const char *path, const char *hdrs,
		  const char *body, size_t blen, struct resp *r)
{
	char head[4096];
	int n;

	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: t\r\n%s", method, path,
		     hdrs != NULL ? hdrs : "");
	if (body != NULL)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n", blen);
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	if (send_all(c->fd, head, (size_t)n) < 0)
		return -1;
	if (body != NULL && blen > 0 && send_all(c->fd, body, blen) < 0)
		return -1;
	return read_resp(c, r, strcmp(method, "HEAD") == 0);
}

/* A fresh connection per call. */
static int req1(unsigned port, const char *method, const char *path, const char *hdrs,
		const char *body, struct resp *r)
{
	struct conn *c = malloc(sizeof(*c));
	int rc;

	if (conn_open(c, AF_INET, port) < 0) {
		free(c);
		return -1;
	}
	rc = do_req(c, method, path, hdrs, body, body != NULL ? strlen(body) : 0, r);
	conn_close(c);
	free(c);
	return rc;
}

static json_t *body_json(const struct resp *r)
{
	return json_loadb(r->body, r->body_len, 0, NULL);
}

/* Checks the uniform error shape and returns error.code (static copy). */
static const char *error_code(const struct resp *r)
{
	static char code[64];
	json_t *j = body_json(r), *e;

	assert_non_null(j);
	e = json_object_get(j, "error");
	assert_non_null(e);
	assert_int_equal(json_integer_value(json_object_get(e, "status")), r->status);
	assert_non_null(json_string_value(json_object_get(e, "message")));
	snprintf(code, sizeof(code), "%s", json_string_value(json_object_get(e, "code")));
	json_decref(j);
	return code;
}

/* ---- application ---- */

static atomic_int slow_started;

static int h_report(struct http_request *req, struct http_response *resp, void *ctx)
{
	const char *v = http_request_param(req, "v");
	const char *x = http_request_query(req, "x");
	const char *hdr = http_request_header(req, "x-test-header");
	char *tmp = http_arena_strdup(http_request_arena(req), "arena");

	(void)ctx;
	if (tmp == NULL)
		return -1;
	return http_response_json(
		resp, 200,
		json_pack("{s:s,s:s?,s:s?,s:s?,s:s,s:s,s:s}", "id", http_request_param(req, "id"),
			  "v", v, "x", x, "hdr", hdr, "route", http_request_route(req), "method",
			  http_request_method_str(req), "arena", tmp));
}

static int h_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	json_t *j = http_request_json(req);
	char loc[64];

	(void)ctx;
	if (j == NULL || !json_is_string(json_object_get(j, "detected_at"))) {
		if (http_response_error(resp, 422, "validation_failed", "report is invalid") < 0 ||
		    http_response_error_field(resp, "detected_at", "required, RFC 3339 time") < 0)
			return -1;
		return 0;
	}
	snprintf(loc, sizeof(loc), "/api/v1/reports/%d", 42);
	if (http_response_header(resp, "Location", loc) < 0)
		return -1;
	return http_response_json(resp, 201, json_pack("{s:i}", "id", 42));
}

static int h_whoami(struct http_request *req, struct http_response *resp, void *ctx)
{
	(void)ctx;
	return http_response_json(resp, 200,
				  json_pack("{s:s}", "who", (char *)http_request_principal(req)));
}

static int h_slow(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct timespec ts = { 0, 400 * 1000000L };

	(void)req;
	(void)ctx;
	atomic_store(&slow_started, 1);
	nanosleep(&ts, NULL);
	return http_response_json(resp, 200, json_pack("{s:b}", "slow", 1));
}

/* Holds its thread until the test lets go. */
static atomic_int held, let_go;

static int h_hold(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct timespec ts = { 0, 1000000 };

	(void)req;
	(void)ctx;
	atomic_fetch_add(&held, 1);
	while (!atomic_load(&let_go))
		nanosleep(&ts, NULL);
	return http_response_json(resp, 200, json_pack("{s:b}", "held", 1));
}

/* A long poll: waits ?ms= for a wake; says how it ended and how many
 * times it ran. With ?fail=1 it fails after asking to wait. */
static atomic_int long_runs;

static int h_long(struct http_request *req, struct http_response *resp, void *ctx)
{
	const char *ms = http_request_query(req, "ms");

	(void)ctx;
	atomic_fetch_add(&long_runs, 1);
	if (!http_request_woken(req) && http_request_park(req, (unsigned)atoi(ms ? ms : "0")))
		return http_request_query(req, "fail") != NULL ? YG_EIO : 0;
	return http_response_json(resp, 200, json_pack("{s:b}", "woken", http_request_woken(req)));
}

static int h_fail(struct http_request *req, struct http_response *resp, void *ctx)
{
	(void)req;
	(void)resp;
	(void)ctx;
	return YG_EIO;
}

static int resolver(void *ctx, struct http_request *req, const struct http_credential *cred,
		    void **principal)
{
	(void)ctx;
	(void)req;
	if (cred->kind == HTTP_CRED_BEARER && strcmp(cred->value, "good-token") == 0) {
		*principal = "alice";
		return 0;
	}
	/* A store that cannot be asked: 503, not 401. */
	if (cred->kind == HTTP_CRED_BEARER && strcmp(cred->value, "store-away") == 0)
		return YG_EIO;
	return YG_ENOTFOUND;
}

static struct http_server *start(struct http_config *cfg)
{
	struct http_server *srv;

	assert_int_equal(http_server_new(cfg, &srv), 0);
	assert_int_equal(http_server_route(srv, HTTP_GET, "/api/v1/reports/{id}", 0, h_report, NULL), 0);
	assert_int_equal(http_server_route(srv, HTTP_DELETE, "/api/v1/reports/{id}", 0, h_report, NULL), 0);
	assert_int_equal(http_server_route(srv, HTTP_GET, "/api/v1/reports/{id}/versions/{v}", 0,
					   h_report, NULL), 0);
	assert_int_equal(http_server_route(srv, HTTP_POST, "/api/v1/reports", HTTP_ROUTE_JSON,
					   h_create, NULL), 0);
	assert_int_equal(http_server_route(srv, HTTP_GET, "/api/v1/whoami", HTTP_ROUTE_AUTH,
					   h_whoami, NULL), 0);
	assert_int_equal(http_server_route(srv, HTTP_GET, "/slow", 0, h_slow, NULL), 0);
	assert_int_equal(http_server_route(srv, HTTP_GET, "/fail", 0, h_fail, NULL), 0);
	assert_int_equal(http_server_route(srv, HTTP_GET, "/hold", 0, h_hold, NULL), 0);
	assert_int_equal(http_server_route(srv, HTTP_GET, "/long", 0, h_long, NULL), 0);
	/* duplicates and bad patterns are refused */
	assert_int_equal(http_server_route(srv, HTTP_GET, "/slow", 0, h_slow, NULL), YG_EINVAL);
	assert_int_equal(http_server_route(srv, HTTP_GET, "nope", 0, h_slow, NULL), YG_EINVAL);
	assert_int_equal(http_server_route(srv, HTTP_GET, "/a/{}", 0, h_slow, NULL), YG_EINVAL);
	assert_int_equal(http_server_start(srv), 0);
	assert_true(http_server_port(srv) > 0);
	return srv;
}

/* Every test runs twice: handlers on the event threads, then on handler
 * threads of their own (suspended connections, resumed when done). */
static unsigned handler_threads;

static struct http_config base_cfg(void)
{
	struct http_config cfg = { .listen = "127.0.0.1:0", .threads = 4, .max_body = 1 << 20,
				   .auth = resolver, .handler_threads = handler_threads };
	return cfg;
}

/* ---- tests ---- */

static void test_routing(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv = start(&cfg);
	unsigned port = http_server_port(srv);
	struct resp r;
	json_t *j;

	(void)state;
	assert_int_equal(req1(port, "GET", "/api/v1/reports/r%2F1?x=a+b%21&y", "X-Test-Header: hi\r\n",
			      NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(resp_header(&r, "Content-Type"), "application/json");
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "r/1");
	assert_string_equal(json_string_value(json_object_get(j, "x")), "a b!");
	assert_string_equal(json_string_value(json_object_get(j, "hdr")), "hi");
	assert_string_equal(json_string_value(json_object_get(j, "route")), "/api/v1/reports/{id}");
	assert_string_equal(json_string_value(json_object_get(j, "arena")), "arena");
	json_decref(j);
	resp_free(&r);

	assert_int_equal(req1(port, "GET", "/api/v1/reports/7/versions/3", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "7");
	assert_string_equal(json_string_value(json_object_get(j, "v")), "3");
	json_decref(j);
	resp_free(&r);

	/* HEAD runs the GET route and sends no body */
	assert_int_equal(req1(port, "HEAD", "/api/v1/reports/7", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	resp_free(&r);

	/* 404, 405 with Allow, OPTIONS */
	assert_int_equal(req1(port, "GET", "/api/v1/nothing", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "not_found");
	resp_free(&r);
	assert_int_equal(req1(port, "GET", "/api/v1/reports/", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	assert_int_equal(req1(port, "PUT", "/api/v1/reports/7", NULL, "{}", &r), 0);
	assert_int_equal(r.status, 405);
	assert_string_equal(error_code(&r), "method_not_allowed");
	assert_string_equal(resp_header(&r, "Allow"), "GET, HEAD, DELETE, OPTIONS");
	resp_free(&r);
	assert_int_equal(req1(port, "OPTIONS", "/api/v1/reports", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 204);
	assert_string_equal(resp_header(&r, "Allow"), "POST, OPTIONS");
	resp_free(&r);

	/* a failing handler is a 500 in the error shape */
	assert_int_equal(req1(port, "GET", "/fail", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 500);
	assert_string_equal(error_code(&r), "internal_error");
	resp_free(&r);

	/* healthz */
	assert_int_equal(req1(port, "GET", "/healthz", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"status\":\"ok\"}");
	resp_free(&r);
	assert_int_equal(http_server_stop(srv), 0);
	http_server_free(srv);
}

static void test_json_bodies(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv = start(&cfg);
	unsigned port = http_server_port(srv);
	const char *ct = "Content-Type: application/json\r\n";
	struct resp r;
	json_t *j, *f;

	(void)state;
	assert_int_equal(req1(port, "POST", "/api/v1/reports", ct, "{\"detected_at\":\"2025-01-01T00:00:00Z\"}", &r), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(resp_header(&r, "Location"), "/api/v1/reports/42");
	assert_string_equal(r.body, "{\"id\":42}");
	resp_free(&r);

	assert_int_equal(req1(port, "POST", "/api/v1/reports", ct, "{\"detected_at\":", &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "bad_json");
	resp_free(&r);

	assert_int_equal(req1(port, "POST", "/api/v1/reports", "Content-Type: text/plain\r\n", "{}", &r), 0);
	assert_int_equal(r.status, 415);
	assert_string_equal(error_code(&r), "unsupported_media_type");
	resp_free(&r);

	assert_int_equal(req1(port, "POST", "/api/v1/reports", ct, NULL, &r), 0);
	assert_int_equal(r.status, 411);
	assert_string_equal(error_code(&r), "length_required");
	resp_free(&r);

	assert_int_equal(req1(port, "POST", "/api/v1/reports", "Content-Type: application/json; charset=utf-8\r\n", "{}", &r), 0);
	assert_int_equal(r.status, 422);
	assert_string_equal(error_code(&r), "validation_failed");
	j = body_json(&r);
	f = json_array_get(json_object_get(json_object_get(j, "error"), "fields"), 0);
	assert_string_equal(json_string_value(json_object_get(f, "field")), "detected_at");
	assert_non_null(json_string_value(json_object_get(f, "reason")));
	json_decref(j);
	resp_free(&r);
	http_server_free(srv);
}

static void test_body_cap(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv;
	size_t big = 10u << 20;
	char *body = malloc(big);
	struct conn *c = malloc(sizeof(*c));
	char head[256];
	struct resp r;
	int n;

	(void)state;
	cfg.max_body = 64 << 10;
	srv = start(&cfg);
	memset(body, 'a', big);

	/* declared 10 MB: answered from the headers, before the body */
	assert_int_equal(conn_open(c, AF_INET, http_server_port(srv)), 0);
	n = snprintf(head, sizeof(head), "POST /api/v1/reports HTTP/1.1\r\nHost: t\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", big);
	assert_int_equal(send_all(c->fd, head, (size_t)n), 0);
	(void)send_all(c->fd, body, big); /* the server may close before all of it */
	assert_int_equal(read_resp(c, &r, 0), 0);
	assert_int_equal(r.status, 413);
	assert_string_equal(error_code(&r), "payload_too_large");
	resp_free(&r);
	conn_close(c);

	/* chunked 10 MB: discarded as it arrives, 413 at the end */
	assert_int_equal(conn_open(c, AF_INET, http_server_port(srv)), 0);
	n = snprintf(head, sizeof(head), "POST /api/v1/reports HTTP/1.1\r\nHost: t\r\n"
		     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
	assert_int_equal(send_all(c->fd, head, (size_t)n), 0);
	for (size_t off = 0; off < big; off += 65536) {
		n = snprintf(head, sizeof(head), "10000\r\n");
		assert_int_equal(send_all(c->fd, head, (size_t)n), 0);
		assert_int_equal(send_all(c->fd, body + off, 65536), 0);
		assert_int_equal(send_all(c->fd, "\r\n", 2), 0);
	}
	assert_int_equal(send_all(c->fd, "0\r\n\r\n", 5), 0);
	assert_int_equal(read_resp(c, &r, 0), 0);
	assert_int_equal(r.status, 413);
	resp_free(&r);
	conn_close(c);

	/* just under the cap is fine (422: the body is valid JSON, no field) */
	assert_int_equal(conn_open(c, AF_INET, http_server_port(srv)), 0);
	memset(body, ' ', cfg.max_body);
	body[0] = '{';
	body[cfg.max_body - 1] = '}';
	assert_int_equal(do_req(c, "POST", "/api/v1/reports", "Content-Type: application/json\r\n",
				body, cfg.max_body, &r), 0);
	assert_int_equal(r.status, 422);
	resp_free(&r);
	conn_close(c);
	free(c);
	free(body);
	http_server_free(srv);
}

static void test_auth(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv = start(&cfg);
	unsigned port = http_server_port(srv);
	struct resp r;

	(void)state;
	assert_int_equal(req1(port, "GET", "/api/v1/whoami", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 401);
	assert_string_equal(resp_header(&r, "WWW-Authenticate"), "Bearer");
	assert_string_equal(error_code(&r), "unauthorized");
	resp_free(&r);
	assert_int_equal(req1(port, "GET", "/api/v1/whoami", "Authorization: Bearer bad\r\n", NULL, &r), 0);
	assert_int_equal(r.status, 401);
	assert_non_null(strstr(resp_header(&r, "WWW-Authenticate"), "Bearer"));
	resp_free(&r);
	assert_int_equal(req1(port, "GET", "/api/v1/whoami", "Authorization: Bearer store-away\r\n", NULL, &r), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(resp_header(&r, "Retry-After"), "1");
	resp_free(&r);
	assert_int_equal(req1(port, "GET", "/api/v1/whoami", "authorization: bearer good-token\r\n", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"who\":\"alice\"}");
	resp_free(&r);
	http_server_free(srv);
}

static void test_rate_limit(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv;
	struct resp r;
	int ok = 0, limited = 0;

	(void)state;
	cfg.rate = 1;
	cfg.burst = 5;
	srv = start(&cfg);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(req1(http_server_port(srv), "GET", "/api/v1/whoami",
				      "Authorization: Bearer good-token\r\n", NULL, &r), 0);
		if (r.status == 200) {
			ok++;
		} else {
			assert_int_equal(r.status, 429);
			assert_string_equal(error_code(&r), "rate_limited");
			assert_int_equal(atoi(resp_header(&r, "Retry-After")), 1);
			limited++;
		}
		resp_free(&r);
	}
	assert_int_equal(ok, 5);
	assert_int_equal(limited, 3);
	/* health and metrics are exempt; unauthenticated traffic has its own
	 * (address) bucket */
	assert_int_equal(req1(http_server_port(srv), "GET", "/healthz", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(req1(http_server_port(srv), "GET", "/api/v1/reports/1", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	http_server_free(srv);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* A gauge read on demand: set by the render hook to how many scrapes. */
static void count_scrapes(void *arg)
{
	static int n;

	http_metric_set(arg, ++n);
}

static void test_metrics(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv = start(&cfg);
	unsigned port = http_server_port(srv);
	struct http_metric *c, *g, *h;
	struct resp r;

	(void)state;
	c = http_metrics_counter(http_server_metrics(srv), "yagura_store_writes_total",
				 "store=\"sqlite\"", "Rows written.");
	g = http_metrics_gauge(http_server_metrics(srv), "yagura_queue_depth", NULL, "Queue depth.");
	h = http_metrics_histogram(http_server_metrics(srv), "yagura_store_seconds", NULL,
				   "Store call time.", NULL, 0);
	assert_non_null(c);
	assert_non_null(g);
	assert_non_null(h);
	assert_null(http_metrics_counter(http_server_metrics(srv), "bad name", NULL, NULL));
	http_metric_add(c, 3);
	http_metric_set(g, 7);
	http_metric_observe(h, 0.003);
	http_metrics_on_render(http_server_metrics(srv), count_scrapes,
			       http_metrics_gauge(http_server_metrics(srv), "yagura_scrapes", NULL,
						  "Scrapes."));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(req1(port, "GET", "/api/v1/reports/9", NULL, NULL, &r), 0);
		resp_free(&r);
	}
	assert_int_equal(req1(port, "GET", "/nope", NULL, NULL, &r), 0);
	resp_free(&r);
	/* A request is counted when libmicrohttpd reports it complete, which
	 * may come just after the client has read its answer: ask again until
	 * the last one is in (2 s at most). */
	for (int tries = 0;; tries++) {
		struct timespec ts = { 0, 10 * 1000000L };

		assert_int_equal(req1(port, "GET", "/metrics", NULL, NULL, &r), 0);
		if (tries == 200 || (strstr(r.body, "status=\"404\"} 1\n") != NULL &&
				     strstr(r.body, "status=\"200\"} 3\n") != NULL &&
				     strstr(r.body, "yagura_http_requests_in_flight 1\n") != NULL))
			break;
		resp_free(&r);
		nanosleep(&ts, NULL);
	}
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(resp_header(&r, "Content-Type"), "text/plain; version=0.0.4"));
	assert_non_null(strstr(r.body, "yagura_http_requests_total{route=\"/api/v1/reports/{id}\",method=\"GET\",status=\"200\"} 3\n"));
	assert_non_null(strstr(r.body, "yagura_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"));
	assert_non_null(strstr(r.body, "yagura_http_request_duration_seconds_bucket{route=\"/api/v1/reports/{id}\",method=\"GET\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(r.body, "yagura_http_request_duration_seconds_bucket{route=\"/api/v1/reports/{id}\",method=\"GET\",le=\"0.005\"}"));
	assert_non_null(strstr(r.body, "yagura_http_request_duration_seconds_count{route=\"/api/v1/reports/{id}\",method=\"GET\"} 3\n"));
	assert_non_null(strstr(r.body, "yagura_http_requests_in_flight 1\n"));
	assert_non_null(strstr(r.body, "yagura_http_response_bytes_total "));
	assert_non_null(strstr(r.body, "yagura_store_writes_total{store=\"sqlite\"} 3\n"));
	assert_non_null(strstr(r.body, "yagura_queue_depth 7\n"));
	assert_non_null(strstr(r.body, "yagura_store_seconds_bucket{le=\"0.005\"} 1\n"));
	assert_non_null(strstr(r.body, "yagura_store_seconds_count 1\n"));
	/* The process's memory, read at each scrape; the hook ran for it. The
	 * heap's figures are glibc malloc's: none under a sanitizer's. */
	const char *rss = strstr(r.body, "\nprocess_resident_memory_bytes ");
	const char *used = strstr(r.body, "\nyagura_heap_bytes{state=\"in_use\"} ");
	assert_non_null(rss);
	assert_true(strtod(rss + strlen("\nprocess_resident_memory_bytes "), NULL) > 1e6);
#if UNDER_ASAN
	assert_null(used);
#else
	assert_non_null(used);
	assert_non_null(strstr(r.body, "\nyagura_heap_bytes{state=\"free\"} "));
	assert_true(strtod(used + strlen("\nyagura_heap_bytes{state=\"in_use\"} "), NULL) > 1e4);
#endif
	assert_non_null(strstr(r.body, "\nyagura_scrapes "));
	assert_null(strstr(r.body, "\nyagura_scrapes 0\n"));
	resp_free(&r);
	http_server_free(srv);
}

struct slow_arg {
	unsigned port;
	const char *path;
	int status;
};

/* GET a->path from a thread of its own; a->status is -1 without an answer. */
static void *get_client(void *p)
{
	struct slow_arg *a = p;
	struct resp r;

	a->status = -1;
	if (req1(a->port, "GET", a->path, NULL, NULL, &r) == 0) {
		a->status = r.status;
		resp_free(&r);
	}
	return NULL;
}

/* With every handler thread held (a store that does not answer, say),
 * /metrics and /healthz still answer, and other requests wait their turn
 * instead of failing. Handler-thread mode only. */
static void test_handlers_busy(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv;
	struct slow_arg a[3];
	struct timespec ts = { 0, 1000000 };
	struct resp r;
	pthread_t t[3];

	(void)state;
	if (handler_threads == 0)
		return;
	srv = start(&cfg);
	atomic_store(&held, 0);
	atomic_store(&let_go, 0);
	for (int i = 0; i < 3; i++) {
		a[i] = (struct slow_arg){ .port = http_server_port(srv), .path = "/hold" };
		assert_int_equal(pthread_create(&t[i], NULL, get_client, &a[i]), 0);
	}
	while (atomic_load(&held) < (int)handler_threads)
		nanosleep(&ts, NULL);
	assert_int_equal(req1(a[0].port, "GET", "/metrics", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(req1(a[0].port, "GET", "/healthz", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	atomic_store(&let_go, 1);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].status, 200);
	}
	http_server_free(srv);
}

static void *let_go_later(void *p)
{
	struct timespec ts = { 1, 0 }; /* well past the 50 ms stop timeout */

	(void)p;
	nanosleep(&ts, NULL);
	atomic_store(&let_go, 1);
	return NULL;
}

/* A stop that times out while a handler thread still holds a request (a
 * store that hangs) reports it, waits for the handler, and frees nothing
 * that thread still uses: ASan watches. Handler-thread mode only. */
static void test_stop_timeout_held(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv;
	struct slow_arg a;
	struct timespec ts = { 0, 1000000 };
	pthread_t c, g;

	(void)state;
	if (handler_threads == 0)
		return;
	cfg.stop_timeout_ms = 50;
	srv = start(&cfg);
	a = (struct slow_arg){ .port = http_server_port(srv), .path = "/hold" };
	atomic_store(&held, 0);
	atomic_store(&let_go, 0);
	assert_int_equal(pthread_create(&c, NULL, get_client, &a), 0);
	while (atomic_load(&held) < 1)
		nanosleep(&ts, NULL);
	assert_int_equal(pthread_create(&g, NULL, let_go_later, NULL), 0);
	assert_int_equal(http_server_stop(srv), YG_ELIMIT);
	assert_true(atomic_load(&let_go)); /* the stop waited for the handler */
	pthread_join(g, NULL);
	pthread_join(c, NULL);
	http_server_free(srv);
}

static void test_graceful_stop(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv = start(&cfg);
	struct slow_arg a = { .port = http_server_port(srv), .path = "/slow" };
	struct conn *idle = malloc(sizeof(*idle));
	struct timespec ts = { 0, 1000000 };
	struct resp r;
	pthread_t t;

	(void)state;
	/* a keep-alive connection open before the stop */
	assert_int_equal(conn_open(idle, AF_INET, a.port), 0);
	assert_int_equal(do_req(idle, "GET", "/healthz", NULL, NULL, 0, &r), 0);
	resp_free(&r);
	atomic_store(&slow_started, 0);
	assert_int_equal(pthread_create(&t, NULL, get_client, &a), 0);
	while (!atomic_load(&slow_started))
		nanosleep(&ts, NULL);
	assert_int_equal(http_server_stop(srv), 0);
	pthread_join(t, NULL);
	assert_int_equal(a.status, 200);
	/* the listener is gone */
	{
		struct conn *c = malloc(sizeof(*c));

		assert_int_equal(conn_open(c, AF_INET, a.port), -1);
		free(c);
	}
	conn_close(idle);
	free(idle);
	http_server_free(srv);
}

static void *stop_thread(void *p)
{
	(void)http_server_stop(p);
	return NULL;
}

/* While stopping, idle keep-alive connections are closed (clients retry
 * elsewhere), and a request already under way is answered 503 with
 * Connection: close: here its request line is in before the stop and its
 * headers after. */
static void test_stopping_503(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv = start(&cfg);
	struct conn *c = malloc(sizeof(*c));
	struct timespec ts = { 0, 100 * 1000000L };
	const char *line = "GET /healthz HTTP/1.1\r\n";
	struct resp r;
	pthread_t st;

	(void)state;
	assert_int_equal(conn_open(c, AF_INET, http_server_port(srv)), 0);
	assert_int_equal(send_all(c->fd, line, strlen(line)), 0);
	nanosleep(&ts, NULL);
	assert_int_equal(pthread_create(&st, NULL, stop_thread, srv), 0);
	nanosleep(&ts, NULL);
	assert_int_equal(send_all(c->fd, "Host: t\r\n\r\n", 11), 0);
	assert_int_equal(read_resp(c, &r, 0), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(error_code(&r), "unavailable");
	assert_string_equal(resp_header(&r, "Connection"), "close");
	assert_non_null(resp_header(&r, "Retry-After"));
	resp_free(&r);
	pthread_join(st, NULL);
	conn_close(c);
	free(c);
	http_server_free(srv);
}

struct long_arg {
	unsigned port;
	const char *path;
	int status, woken;
};

static void *long_client(void *p)
{
	struct long_arg *a = p;
	struct resp r;

	a->status = req1(a->port, "GET", a->path, NULL, NULL, &r) == 0 ? r.status : -1;
	if (a->status == 200) {
		json_t *j = body_json(&r);

		a->woken = json_is_true(json_object_get(j, "woken"));
		json_decref(j);
	}
	resp_free(&r);
	return NULL;
}

/* Long polls: a parked request holds no thread, is run again when its
 * time is over, or at once on a wake, and is answered at a stop; more
 * waiters than threads all come back. */
static void test_long_poll(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv;
	struct timespec ts = { 0, 50 * 1000000L };
	struct long_arg a[6];
	pthread_t t[6];

	(void)state;
	cfg.max_parked = 5;
	srv = start(&cfg);
	/* Its time runs out: answered, not woken, the handler run twice. */
	atomic_store(&long_runs, 0);
	a[0] = (struct long_arg){ .port = http_server_port(srv), .path = "/long?ms=200" };
	long_client(&a[0]);
	assert_int_equal(a[0].status, 200);
	assert_int_equal(a[0].woken, 0);
	assert_int_equal(atomic_load(&long_runs), 2);
	/* A handler that fails after asking to wait is answered at once, and
	 * gives its place back: were the places kept, the five below could
	 * not wait. */
	for (int i = 0; i < 6; i++) {
		atomic_store(&long_runs, 0);
		a[0] = (struct long_arg){ .port = http_server_port(srv), .path = "/long?ms=60000&fail=1" };
		long_client(&a[0]);
		assert_int_equal(a[0].status, 500);
		assert_int_equal(atomic_load(&long_runs), 1);
	}
	/* Six wait a minute, one more than may: that one is answered at once;
	 * a wake brings the five back; meanwhile the server answers others
	 * (the waiters hold no thread: there are 3 handler threads or 4
	 * event threads). */
	atomic_store(&long_runs, 0);
	for (int i = 0; i < 6; i++) {
		a[i] = (struct long_arg){ .port = http_server_port(srv), .path = "/long?ms=60000" };
		assert_int_equal(pthread_create(&t[i], NULL, long_client, &a[i]), 0);
	}
	while (atomic_load(&long_runs) < 6)
		nanosleep(&ts, NULL);
	nanosleep(&ts, NULL);
	{
		struct resp r;

		assert_int_equal(req1(http_server_port(srv), "GET", "/healthz", NULL, NULL, &r), 0);
		assert_int_equal(r.status, 200);
		resp_free(&r);
	}
	http_server_wake(srv);
	int woken = 0, at_once = 0;
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].status, 200);
		woken += a[i].woken;
		at_once += !a[i].woken;
	}
	assert_int_equal(woken, 5);
	assert_int_equal(at_once, 1);
	/* One waiting when the server stops is answered, and the stop is clean. */
	atomic_store(&long_runs, 0);
	a[0] = (struct long_arg){ .port = http_server_port(srv), .path = "/long?ms=60000" };
	assert_int_equal(pthread_create(&t[0], NULL, long_client, &a[0]), 0);
	while (atomic_load(&long_runs) < 1)
		nanosleep(&ts, NULL);
	nanosleep(&ts, NULL);
	assert_int_equal(http_server_stop(srv), 0);
	pthread_join(t[0], NULL);
	assert_int_equal(a[0].status, 200);
	assert_int_equal(a[0].woken, 0);
	http_server_free(srv);
}

struct load_arg {
	unsigned port;
	int ok;
};

static void *load_client(void *p)
{
	struct load_arg *a = p;
	struct conn *c = malloc(sizeof(*c));
	struct resp r;

	a->ok = 0;
	if (conn_open(c, AF_INET, a->port) < 0)
		goto out;
	for (int i = 0; i < 1000; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/api/v1/reports/%d", i);
		if (do_req(c, "GET", path, NULL, NULL, 0, &r) < 0) {
			/* the server closed the keep-alive connection: reopen */
			conn_close(c);
			if (conn_open(c, AF_INET, a->port) < 0 ||
			    do_req(c, "GET", path, NULL, NULL, 0, &r) < 0)
				break;
		}
		if (r.status == 200)
			a->ok++;
		resp_free(&r);
	}
	conn_close(c);
out:
	free(c);
	return NULL;
}

static void test_concurrency(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv = start(&cfg);
	struct load_arg a[8];
	pthread_t t[8];
	struct resp r;

	(void)state;
	for (int i = 0; i < 8; i++) {
		a[i].port = http_server_port(srv);
		assert_int_equal(pthread_create(&t[i], NULL, load_client, &a[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].ok, 1000);
	}
	/* A request is counted when libmicrohttpd completes it, which may be
	 * just after its client read the answer: the count reaches 8000 soon,
	 * not necessarily at once. */
	const char *want = "yagura_http_requests_total{route=\"/api/v1/reports/{id}\",method=\"GET\","
			   "status=\"200\"} 8000\n";
	int seen = 0;
	for (int k = 0; k < 100 && !seen; k++) {
		assert_int_equal(req1(http_server_port(srv), "GET", "/metrics", NULL, NULL, &r), 0);
		seen = strstr(r.body, want) != NULL;
		resp_free(&r);
		if (!seen)
			usleep(50 * 1000);
	}
	assert_true(seen);
	http_server_free(srv);
}

static void test_ipv6_and_config(void **state)
{
	struct http_config cfg = base_cfg();
	struct http_server *srv;
	struct conn *c = malloc(sizeof(*c));
	struct resp r;

	(void)state;
	cfg.listen = "127.0.0.1";
	assert_int_equal(http_server_new(&cfg, &srv), YG_EINVAL);
	cfg.listen = "[::1:80";
	assert_int_equal(http_server_new(&cfg, &srv), YG_EINVAL);
	cfg.listen = "localhost:80";
	assert_int_equal(http_server_new(&cfg, &srv), YG_EINVAL);
	cfg.listen = "[::1]:0";
	assert_int_equal(http_server_new(&cfg, &srv), 0);
	if (http_server_start(srv) != 0) { /* no IPv6 loopback here */
		http_server_free(srv);
		free(c);
		skip();
	}
	assert_int_equal(conn_open(c, AF_INET6, http_server_port(srv)), 0);
	assert_int_equal(do_req(c, "GET", "/healthz", NULL, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	conn_close(c);
	free(c);
	http_server_free(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routing),	      cmocka_unit_test(test_json_bodies),
		cmocka_unit_test(test_body_cap),      cmocka_unit_test(test_auth),
		cmocka_unit_test(test_rate_limit),    cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_graceful_stop), cmocka_unit_test(test_stopping_503),
		cmocka_unit_test(test_concurrency),   cmocka_unit_test(test_ipv6_and_config),
		cmocka_unit_test(test_handlers_busy), cmocka_unit_test(test_stop_timeout_held),
		cmocka_unit_test(test_long_poll),
	};

	int failed = cmocka_run_group_tests_name("handlers on the event threads", tests, NULL, NULL);

	handler_threads = 3;
	failed += cmocka_run_group_tests_name("handlers on handler threads", tests, NULL, NULL);
	return failed;
}
