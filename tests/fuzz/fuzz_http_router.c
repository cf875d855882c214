/* fuzz_http_router.c - the request-target parser and the router: input is
 * "METHOD TARGET"; no network. */
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
	};

	http_router_init(&router);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (http_router_add(&router, routes[i].m, routes[i].p, 0, h, NULL) != 0)
			__builtin_trap();
	ready = 1;
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
		if (m.route != NULL) {
			if (m.nparams > HTTP_MAX_PARAMS || m.route->nseg != t.nseg)
				__builtin_trap();
			for (size_t i = 0; i < m.nparams; i++)
				if (strlen(m.params[i].value) == 0)
					__builtin_trap();
		}
		http_allow_format(m.allow, allow, sizeof(allow));
		for (size_t i = 0; i < t.nquery; i++)
			(void)strlen(t.query[i].name), (void)strlen(t.query[i].value);
	}
	http_arena_release(&a);
	return 0;
}
