/* test_http_route.c - catch-all route parameters ("/log/tile/{path...}"),
 * first on the router alone (http_int.h), then through a real server with
 * non-JSON bodies and handler-set headers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/http_int.h"

static int h_nop(struct http_request *req, struct http_response *resp, void *ctx)
{
	(void)req;
	(void)resp;
	(void)ctx;
	return 0;
}

/* ---- the router alone ---- */

struct rmatch {
	struct http_arena a;
	struct http_target t;
	struct http_match m;
};

/* Parses and matches "METHOD target"; returns the matched pattern or NULL. */
static const char *route(const struct http_router *r, struct rmatch *rm, enum http_method method,
			 const char *target)
{
	http_arena_init(&rm->a, NULL, 0, 1 << 20);
	assert_int_equal(http_target_parse(&rm->a, target, strlen(target), &rm->t), 0);
	http_router_match(r, method, &rm->t, &rm->m);
	return rm->m.route != NULL ? rm->m.route->pattern : NULL;
}

static const char *param(const struct rmatch *rm, const char *name)
{
	for (size_t i = 0; i < rm->m.nparams; i++)
		if (strcmp(rm->m.params[i].name, name) == 0)
			return rm->m.params[i].value;
	return NULL;
}

static void add(struct http_router *r, enum http_method m, const char *pattern)
{
	assert_int_equal(http_router_add(r, m, pattern, 0, h_nop, NULL), 0);
}

static void test_register(void **state)
{
	struct http_router r;
	static const char *const bad[] = {
		"/log/{rest...}/x",   /* a catch-all is the last segment */
		"/log/{rest...}/",    /* ... even before an empty one */
		"/{a...}/{b...}",     /* so there is one */
		"/log/{...}",	      /* a name */
		"/log/{}",	      /* a name */
		"/log/{a}/{a...}",    /* one name, one parameter */
		"/log/{a}/{a}",	      /* one name, one parameter */
		"/log/{a{b}...}",     /* braces in a name */
		"/log/x{rest...}",    /* a whole segment */
		"/1/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{rest...}", /* 9 parameters */
	};

	(void)state;
	http_router_init(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = http_router_add(&r, HTTP_GET, bad[i], 0, h_nop, NULL);

		if (rc != YG_EINVAL)
			fail_msg("%s: %d, want YG_EINVAL", bad[i], rc);
	}
	assert_int_equal(r.nroutes, 0);
	add(&r, HTTP_GET, "/log/{rest...}");
	add(&r, HTTP_POST, "/log/{rest...}");
	add(&r, HTTP_GET, "/{rest...}");
	add(&r, HTTP_GET, "/1/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{rest...}"); /* 8 */
	/* the same paths under another name could never match */
	assert_int_equal(http_router_add(&r, HTTP_GET, "/log/{other...}", 0, h_nop, NULL),
			 YG_EINVAL);
	assert_int_equal(http_router_add(&r, HTTP_GET, "/log/{rest...}", 0, h_nop, NULL),
			 YG_EINVAL);
	/* a catch-all and one parameter are not the same paths */
	add(&r, HTTP_GET, "/log/{one}");
	http_router_fini(&r);
}

static void test_deep_paths(void **state)
{
	struct http_router r;
	struct rmatch rm;

	(void)state;
	http_router_init(&r);
	add(&r, HTTP_GET, "/log/tile/{path...}");
	add(&r, HTTP_GET, "/a/{x}/{rest...}");

	assert_string_equal(route(&r, &rm, HTTP_GET, "/log/tile/0/x001/x234/067.p/5"),
			    "/log/tile/{path...}");
	assert_string_equal(param(&rm, "path"), "0/x001/x234/067.p/5");
	assert_int_equal(rm.m.nparams, 1);
	http_arena_release(&rm.a);

	assert_non_null(route(&r, &rm, HTTP_GET, "/log/tile/entries/123?x=1"));
	assert_string_equal(param(&rm, "path"), "entries/123");
	http_arena_release(&rm.a);

	/* one segment is enough */
	assert_non_null(route(&r, &rm, HTTP_GET, "/log/tile/5"));
	assert_string_equal(param(&rm, "path"), "5");
	http_arena_release(&rm.a);

	/* decoded per segment, exactly as {x} is; '+' stays '+' in a path */
	assert_non_null(route(&r, &rm, HTTP_GET, "/a/b%20c/%41+b/%7e/%zz"));
	assert_string_equal(param(&rm, "x"), "b c");
	assert_string_equal(param(&rm, "rest"), "A+b/~/%zz");
	http_arena_release(&rm.a);

	/* HEAD runs the GET catch-all; other methods: 405 with Allow */
	assert_non_null(route(&r, &rm, HTTP_HEAD, "/log/tile/0/001"));
	assert_string_equal(param(&rm, "path"), "0/001");
	http_arena_release(&rm.a);
	assert_null(route(&r, &rm, HTTP_POST, "/log/tile/0/001"));
	assert_int_equal(rm.m.allow, 1u << HTTP_GET | 1u << HTTP_HEAD);
	assert_true(rm.m.pattern_id >= 0);
	http_arena_release(&rm.a);

	/* 32 segments: the most a target has */
	assert_non_null(route(&r, &rm, HTTP_GET,
			      "/log/tile/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/21/22/23/"
			      "24/25/26/27/28/29/30/31/32"));
	assert_string_equal(param(&rm, "path"), "3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/"
						"21/22/23/24/25/26/27/28/29/30/31/32");
	http_arena_release(&rm.a);
	http_router_fini(&r);
}

static void test_literal_wins(void **state)
{
	struct http_router r;
	struct rmatch rm;

	(void)state;
	http_router_init(&r);
	/* catch-alls first, on purpose: registration order does not matter */
	add(&r, HTTP_GET, "/log/{rest...}");
	add(&r, HTTP_GET, "/log/tile/{path...}");
	add(&r, HTTP_GET, "/log/checkpoint");
	add(&r, HTTP_GET, "/log/tile/entries/{n}");
	add(&r, HTTP_POST, "/log/tile/x");

	assert_string_equal(route(&r, &rm, HTTP_GET, "/log/checkpoint"), "/log/checkpoint");
	assert_int_equal(rm.m.nparams, 0);
	http_arena_release(&rm.a);
	assert_string_equal(route(&r, &rm, HTTP_HEAD, "/log/checkpoint"), "/log/checkpoint");
	http_arena_release(&rm.a);
	assert_string_equal(route(&r, &rm, HTTP_GET, "/log/tile/entries/7"),
			    "/log/tile/entries/{n}");
	assert_string_equal(param(&rm, "n"), "7");
	http_arena_release(&rm.a);
	/* the longer prefix wins among catch-alls */
	assert_string_equal(route(&r, &rm, HTTP_GET, "/log/tile/entries/7/8"),
			    "/log/tile/{path...}");
	assert_string_equal(param(&rm, "path"), "entries/7/8");
	http_arena_release(&rm.a);
	assert_string_equal(route(&r, &rm, HTTP_GET, "/log/checkpoint/x"), "/log/{rest...}");
	assert_string_equal(param(&rm, "rest"), "checkpoint/x");
	http_arena_release(&rm.a);
	/* a literal of another method does not take the path from GET */
	assert_string_equal(route(&r, &rm, HTTP_GET, "/log/tile/x"), "/log/tile/{path...}");
	assert_string_equal(param(&rm, "path"), "x");
	http_arena_release(&rm.a);
	assert_string_equal(route(&r, &rm, HTTP_POST, "/log/tile/x"), "/log/tile/x");
	http_arena_release(&rm.a);
	assert_null(route(&r, &rm, HTTP_POST, "/log/tile/y"));
	assert_int_equal(rm.m.allow, 1u << HTTP_GET | 1u << HTTP_HEAD);
	http_arena_release(&rm.a);
	http_router_fini(&r);
}

static void test_refused_rest(void **state)
{
	struct http_router r;
	struct rmatch rm;
	static const char *const refused[] = {
		"/log/tile",		   /* no rest */
		"/log/tile/",		   /* an empty rest */
		"/log/tile//",		   /* empty segments */
		"/log/tile/0//5",	   /* an empty segment inside */
		"/log/tile/0/5/",	   /* ... or at the end */
		"/log/tile/a%2Fb",	   /* %2F is no separator, and no part of a value */
		"/log/tile/0/a%2fb/5",	   /* either case */
		"/log/tile/%2F",	   /* */
		"/log/tile/..",		   /* dot-segments */
		"/log/tile/0/../../../etc", /* */
		"/log/tile/0/..",	   /* */
		"/log/tile/./0",	   /* */
		"/log/tile/%2e%2E/x",	   /* decoded, they are dot-segments too */
		"/log/tile/0/%2E",	   /* */
	};

	(void)state;
	http_router_init(&r);
	add(&r, HTTP_GET, "/log/tile/{path...}");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *p = route(&r, &rm, HTTP_GET, refused[i]);

		if (p != NULL || rm.m.pattern_id != -1 || rm.m.allow != 0)
			fail_msg("%s matched %s", refused[i], p != NULL ? p : "(another method)");
		http_arena_release(&rm.a);
	}
	/* what only looks like a dot-segment is a name */
	assert_non_null(route(&r, &rm, HTTP_GET, "/log/tile/.../..a/.b/a..%2e"));
	assert_string_equal(param(&rm, "path"), ".../..a/.b/a...");
	http_arena_release(&rm.a);
	/* a single parameter keeps its decoded slash (documented, unchanged) */
	add(&r, HTTP_GET, "/r/{id}");
	assert_non_null(route(&r, &rm, HTTP_GET, "/r/a%2Fb"));
	assert_string_equal(param(&rm, "id"), "a/b");
	http_arena_release(&rm.a);
	http_router_fini(&r);
}

/* ---- through a server ---- */

struct seen {
	int bad_header, bad_ctype, own_ctype;
};

static struct seen seen;

static int h_tile(struct http_request *req, struct http_response *resp, void *ctx)
{
	const char *path = http_request_param(req, "path");

	(void)ctx;
	seen.bad_header = http_response_header(resp, "X-Bad", "a\r\nSet-Cookie: x=1");
	seen.own_ctype = http_response_header(resp, "content-type", "text/html");
	seen.bad_ctype = http_response_body(resp, 200, "text/plain\r\nX: y", "x", 1);
	if (http_response_header(resp, "Cache-Control", "public, max-age=31536000, immutable") < 0)
		return -1;
	return http_response_body(resp, 200, "application/octet-stream", path, strlen(path));
}

static int h_checkpoint(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char note[] = "example.com/log\n42\nAAAA\n\n- example.com/log x\n";

	(void)req;
	(void)ctx;
	if (http_response_header(resp, "Cache-Control", "no-store") < 0)
		return -1;
	return http_response_body(resp, 200, "text/plain; charset=utf-8", note, sizeof(note) - 1);
}

struct reply {
	int status;
	char buf[8192];
	const char *body;
};

/* One request, "Connection: close", read to EOF. */
static void get(unsigned port, const char *method, const char *target, struct reply *rp)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char req[1024];
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;
	char *eoh;

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		     method, target);
	assert_true(n > 0 && (size_t)n < sizeof(req));
	assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	for (;;) {
		ssize_t r = recv(fd, rp->buf + len, sizeof(rp->buf) - 1 - len, 0);

		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	rp->buf[len] = '\0';
	assert_int_equal(sscanf(rp->buf, "HTTP/1.1 %d", &rp->status), 1);
	eoh = strstr(rp->buf, "\r\n\r\n");
	assert_non_null(eoh);
	eoh[2] = '\0'; /* headers end in "\r\n"; the body follows the blank line */
	rp->body = eoh + 4;
}

/* A header's value (up to CR), or NULL. */
static const char *header(const struct reply *rp, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);

	for (const char *l = strstr(rp->buf, "\r\n"); l != NULL && l[2] != '\0';
	     l = strstr(l + 2, "\r\n")) {
		const char *v = l + 2, *eol = strstr(v, "\r\n");

		if (eol != NULL && strncasecmp(v, name, n) == 0 && v[n] == ':') {
			v += n + 1;
			while (*v == ' ')
				v++;
			snprintf(out, cap, "%.*s", (int)(eol - v), v);
			return out;
		}
	}
	return NULL;
}

static void test_server(void **state)
{
	struct http_config cfg = { .listen = "127.0.0.1:0", .threads = 2 };
	struct http_server *srv;
	struct reply rp;
	char v[256];
	unsigned port;
	static const char *const not_found[] = {
		"/log/tile",	      "/log/tile/",	   "/log/tile/0//5",
		"/log/tile/a%2Fb/c",  "/log/tile/0/../x", "/log/tile/%2E%2E/checkpoint",
		"/log/tile/x/.",
	};

	(void)state;
	assert_int_equal(http_server_new(&cfg, &srv), 0);
	assert_int_equal(http_server_route(srv, HTTP_GET, "/log/tile/{path...}", 0, h_tile, NULL), 0);
	assert_int_equal(http_server_route(srv, HTTP_GET, "/log/checkpoint", 0, h_checkpoint, NULL),
			 0);
	assert_int_equal(http_server_route(srv, HTTP_GET, "/log/{path...}/x", 0, h_tile, NULL),
			 YG_EINVAL);
	assert_int_equal(http_server_start(srv), 0);
	port = http_server_port(srv);

	get(port, "GET", "/log/tile/0/x001/x234/067.p/5", &rp);
	assert_int_equal(rp.status, 200);
	assert_string_equal(rp.body, "0/x001/x234/067.p/5");
	assert_string_equal(header(&rp, "Content-Type", v, sizeof(v)), "application/octet-stream");
	assert_string_equal(header(&rp, "Cache-Control", v, sizeof(v)),
			    "public, max-age=31536000, immutable");
	/* what a handler may not set is refused, not sent */
	assert_int_equal(seen.bad_header, YG_EINVAL);
	assert_int_equal(seen.own_ctype, YG_EINVAL);
	assert_int_equal(seen.bad_ctype, YG_EINVAL);
	assert_null(header(&rp, "X-Bad", v, sizeof(v)));
	assert_null(header(&rp, "Set-Cookie", v, sizeof(v)));

	get(port, "GET", "/log/tile/entries/1%32%33", &rp);
	assert_int_equal(rp.status, 200);
	assert_string_equal(rp.body, "entries/123");

	get(port, "HEAD", "/log/tile/entries/123", &rp);
	assert_int_equal(rp.status, 200);
	assert_string_equal(rp.body, "");
	assert_string_equal(header(&rp, "Content-Length", v, sizeof(v)), "11");

	get(port, "GET", "/log/checkpoint", &rp);
	assert_int_equal(rp.status, 200);
	assert_string_equal(header(&rp, "Content-Type", v, sizeof(v)), "text/plain; charset=utf-8");
	assert_string_equal(header(&rp, "Cache-Control", v, sizeof(v)), "no-store");
	assert_non_null(strstr(rp.body, "example.com/log\n42\n"));

	for (size_t i = 0; i < sizeof(not_found) / sizeof(not_found[0]); i++) {
		get(port, "GET", not_found[i], &rp);
		if (rp.status != 404)
			fail_msg("%s: %d, want 404", not_found[i], rp.status);
		assert_non_null(strstr(rp.body, "\"not_found\""));
	}
	get(port, "POST", "/log/tile/0/001", &rp);
	assert_int_equal(rp.status, 405);
	assert_string_equal(header(&rp, "Allow", v, sizeof(v)), "GET, HEAD, OPTIONS");

	assert_int_equal(http_server_stop(srv), 0);
	http_server_free(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),     cmocka_unit_test(test_deep_paths),
		cmocka_unit_test(test_literal_wins), cmocka_unit_test(test_refused_rest),
		cmocka_unit_test(test_server),
	};

	return cmocka_run_group_tests_name("http routes", tests, NULL, NULL);
}
