/* fuzz_http_router.c - the request-target parser and the router: input is
 * "METHOD TARGET"; no network. The table mixes literals, parameters and
 * catch-alls ("{rest...}") under one prefix, and each match is checked
 * against what the router promises: a catch-all's value is its segments
 * joined by '/', none empty, a dot-segment or holding a decoded '/', and a
 * catch-all never takes a path that a route without one (same method)
 * takes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int h(struct http_request *req, struct http_response *resp, void *ctx)
{
	(void)req;
	(void)resp;
	(void)ctx;
	return 0;
}

static struct http_router router;
static int ready;

static void setup(void)
{
	static const struct {
		enum http_method m;
		const char *p;
	} routes[] = {
		{ HTTP_GET, "/" },
		{ HTTP_GET, "/healthz" },
		{ HTTP_GET, "/api/v1/reports" },
		{ HTTP_POST, "/api/v1/reports" },
		{ HTTP_GET, "/api/v1/reports/overdue" },
		{ HTTP_GET, "/api/v1/reports/{id}" },
		{ HTTP_PATCH, "/api/v1/reports/{id}" },
		{ HTTP_GET, "/api/v1/reports/{id}/versions/{v}" },
		{ HTTP_POST, "/api/v1/alerts" },
		{ HTTP_GET, "/a/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}" },
		{ HTTP_GET, "/trailing/" },
		{ HTTP_GET, "/log/{rest...}" },
		{ HTTP_GET, "/log/checkpoint" },
		{ HTTP_GET, "/log/tile/{path...}" },
		{ HTTP_GET, "/log/tile/entries/{n}" },
		{ HTTP_POST, "/log/tile/{path...}" },
		{ HTTP_GET, "/log/{a}/{b}/x/{rest...}" },
		{ HTTP_DELETE, "/{all...}" },
	};
	static const char *const refused[] = {
		"/log/{rest...}/x", "/log/{...}", "/log/{a}/{a...}", "/log/{rest...}",
	};

	http_router_init(&router);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (http_router_add(&router, routes[i].m, routes[i].p, 0, h, NULL) != 0)
			__builtin_trap();
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (http_router_add(&router, HTTP_GET, refused[i], 0, h, NULL) != YG_EINVAL)
			__builtin_trap();
	ready = 1;
}

/* Whether rt takes t's segments with rt's literals and without a catch-all:
 * the router's rule restated, to check that such a route always wins. */
static int plain_match(const struct http_route *rt, const struct http_target *t)
{
	if (rt->catchall || rt->nseg != t->nseg)
		return 0;
	for (size_t i = 0; i < rt->nseg; i++)
		if ((rt->param_mask & (1u << i)) ? t->seg[i][0] == '\0'
						 : strcmp(rt->seg[i], t->seg[i]) != 0)
			return 0;
	return 1;
}

/* Checks a catch-all value against segments [from, nseg) of t. */
static void check_rest(const char *v, const struct http_target *t, size_t from)
{
	for (size_t i = from; i < t->nseg; i++) {
		size_t n = strlen(t->seg[i]);

		if (n == 0 || memchr(t->seg[i], '/', n) != NULL || strcmp(t->seg[i], ".") == 0 ||
		    strcmp(t->seg[i], "..") == 0 || strncmp(v, t->seg[i], n) != 0)
			__builtin_trap();
		v += n;
		if (*v != (i + 1 < t->nseg ? '/' : '\0'))
			__builtin_trap();
		v++;
	}
}

static void check_match(const struct http_match *m, const struct http_target *t)
{
	const struct http_route *rt = m->route;

	if (rt == NULL)
		return;
	if (m->nparams > HTTP_MAX_PARAMS)
		__builtin_trap();
	for (size_t i = 0; i < m->nparams; i++)
		if (strlen(m->params[i].value) == 0)
			__builtin_trap();
	if (!rt->catchall) {
		if (rt->nseg != t->nseg)
			__builtin_trap();
		return;
	}
	if (t->nseg < rt->nseg || m->nparams == 0)
		__builtin_trap();
	check_rest(m->params[m->nparams - 1].value, t, rt->nseg - 1);
	for (size_t i = 0; i < router.nroutes; i++)
		if (router.routes[i].method == rt->method && plain_match(&router.routes[i], t))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char mem[2048];
	struct http_arena a;
	struct http_target t;
	struct http_match m;
	const char *sp;
	char method[16], allow[96];
	size_t mlen;

	if (!ready)
		setup();
	sp = memchr(data, ' ', size);
	if (sp == NULL)
		return 0;
	mlen = (size_t)(sp - (const char *)data);
	if (mlen >= sizeof(method))
		return 0;
	memcpy(method, data, mlen);
	method[mlen] = '\0';
	http_arena_init(&a, mem, sizeof(mem), 1 << 20);
	if (http_target_parse(&a, sp + 1, size - mlen - 1, &t) == 0) {
		http_router_match(&router, http_method_parse(method), &t, &m);
		check_match(&m, &t);
		http_allow_format(m.allow, allow, sizeof(allow));
		for (size_t i = 0; i < t.nquery; i++)
			(void)strlen(t.query[i].name), (void)strlen(t.query[i].value);
	}
	http_arena_release(&a);
	return 0;
}
