/* router.c - request-target parsing and route matching. Pure: no I/O, and
 * allocation only from the arena it is given (fuzzed by fuzz_http_router). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hex.h"
#include "http/http_int.h"

static const char *const method_names[HTTP_METHOD_COUNT] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
};

enum http_method http_method_parse(const char *s)
{
	for (int i = 0; i < HTTP_METHOD_OTHER; i++)
		if (strcmp(s, method_names[i]) == 0)
			return (enum http_method)i;
	return HTTP_METHOD_OTHER;
}

const char *http_method_name(enum http_method m)
{
	return (unsigned)m < HTTP_METHOD_COUNT ? method_names[m] : "OTHER";
}


long http_pct_decode(char *s, size_t len, bool plus)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%' && i + 2 < len) {
			int h = yg_hexval((unsigned char)s[i + 1]);
			int l = yg_hexval((unsigned char)s[i + 2]);

			if (h >= 0 && l >= 0) {
				c = (char)(h << 4 | l);
				if (c == '\0')
					return -1;
				i += 2;
			}
		} else if (c == '+' && plus) {
			c = ' ';
		} else if (c == '\0') {
			return -1;
		}
		s[o++] = c;
	}
	return (long)o;
}

/* Copies [p, p+n) to the arena and decodes it; NULL on ENOMEM or NUL. */
static char *dup_decode(struct http_arena *a, const char *p, size_t n, bool plus, int *err)
{
	char *d = http_arena_strndup(a, p, n);
	long m;

	if (d == NULL) {
		*err = YG_ENOMEM;
		return NULL;
	}
	m = http_pct_decode(d, n, plus);
	if (m < 0) {
		*err = YG_EFORMAT;
		return NULL;
	}
	d[m] = '\0';
	return d;
}

static int parse_query(struct http_arena *a, const char *q, size_t len, struct http_target *t)
{
	const char *end = q + len;
	int err = 0;

	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *stop = amp != NULL ? amp : end;
		const char *eq = memchr(q, '=', (size_t)(stop - q));
		struct http_kv *kv;

		if (stop == q) { /* "a=1&&b=2" */
			q = stop + 1;
			continue;
		}
		if (t->nquery == HTTP_MAX_QUERY)
			return YG_ELIMIT;
		kv = &t->query[t->nquery];
		if (eq != NULL) {
			kv->name = dup_decode(a, q, (size_t)(eq - q), true, &err);
			kv->value = kv->name != NULL
					    ? dup_decode(a, eq + 1, (size_t)(stop - eq - 1), true, &err)
					    : NULL;
		} else {
			kv->name = dup_decode(a, q, (size_t)(stop - q), true, &err);
			kv->value = "";
		}
		if (kv->name == NULL || kv->value == NULL)
			return err;
		t->nquery++;
		q = stop + (amp != NULL);
	}
	return 0;
}

/* Fills t->joined and t->seg_off from the decoded segments: done once here
 * so that matching a catch-all route allocates nothing. */
static int join_segments(struct http_arena *a, struct http_target *t)
{
	size_t total = 0, o = 0;
	char *j;

	if (t->nseg == 0)
		return 0;
	for (size_t i = 0; i < t->nseg; i++)
		total += strlen(t->seg[i]) + 1;
	j = http_arena_alloc(a, total);
	if (j == NULL)
		return YG_ENOMEM;
	for (size_t i = 0; i < t->nseg; i++) {
		size_t n = strlen(t->seg[i]);

		t->seg_off[i] = o;
		memcpy(j + o, t->seg[i], n);
		o += n;
		j[o++] = i + 1 < t->nseg ? '/' : '\0';
	}
	t->joined = j;
	return 0;
}

int http_target_parse(struct http_arena *a, const char *raw, size_t len, struct http_target *t)
{
	const char *qm, *p, *end;
	int err = 0;

	t->nseg = 0;
	t->nquery = 0;
	t->path = NULL;
	t->joined = "";
	if (len == 0 || raw[0] != '/')
		return YG_EFORMAT;
	/* libmicrohttpd passes "GET /a b HTTP/1.1" on as "/a b": a target
	 * holds no spaces or control bytes (RFC 9112 §3.2). */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)raw[i] <= 0x20 || raw[i] == 0x7f)
			return YG_EFORMAT;
	qm = memchr(raw, '?', len);
	end = qm != NULL ? qm : raw + len;
	t->path = http_arena_strndup(a, raw, (size_t)(end - raw));
	if (t->path == NULL)
		return YG_ENOMEM;
	/* "/" has no segments; "/a/" has "a" and "". */
	p = raw + 1;
	while (p < end || (p == end && end > raw + 1 && p[-1] == '/')) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *stop = slash != NULL ? slash : end;

		if (t->nseg == HTTP_MAX_SEGMENTS)
			return YG_ELIMIT;
		t->seg[t->nseg] = dup_decode(a, p, (size_t)(stop - p), false, &err);
		if (t->seg[t->nseg] == NULL)
			return err;
		t->nseg++;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	err = join_segments(a, t);
	if (err < 0)
		return err;
	if (qm != NULL)
		return parse_query(a, qm + 1, (size_t)(raw + len - qm - 1), t);
	return 0;
}

void http_router_init(struct http_router *r)
{
	memset(r, 0, sizeof(*r));
}

void http_router_fini(struct http_router *r)
{
	for (size_t i = 0; i < r->nroutes; i++)
		for (size_t j = 0; j < r->routes[i].nseg; j++)
			free(r->routes[i].seg[j]);
	for (size_t i = 0; i < r->npatterns; i++)
		free(r->patterns[i]);
	free(r->routes);
	free(r->patterns);
	memset(r, 0, sizeof(*r));
}

static char *str_dup(const char *s, size_t n)
{
	char *d = yg_malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int pattern_id(struct http_router *r, const char *pattern)
{
	for (size_t i = 0; i < r->npatterns; i++)
		if (strcmp(r->patterns[i], pattern) == 0)
			return (int)i;
	if (r->npatterns == r->pcap) {
		size_t ncap = r->pcap ? r->pcap * 2 : 16;
		char **np = yg_realloc(r->patterns, ncap * sizeof(*np));

		if (np == NULL)
			return YG_ENOMEM;
		r->patterns = np;
		r->pcap = ncap;
	}
	r->patterns[r->npatterns] = str_dup(pattern, strlen(pattern));
	if (r->patterns[r->npatterns] == NULL)
		return YG_ENOMEM;
	return (int)r->npatterns++;
}

/* Whether two routes of one method take exactly the same paths (parameter
 * names aside): the later one could never match. */
static bool route_same(const struct http_route *a, const struct http_route *b)
{
	if (a->method != b->method || a->nseg != b->nseg || a->catchall != b->catchall ||
	    a->param_mask != b->param_mask)
		return false;
	for (size_t i = 0; i < a->nseg; i++)
		if (!(a->param_mask & (1u << i)) && strcmp(a->seg[i], b->seg[i]) != 0)
			return false;
	return true;
}

/* Parses one pattern segment [p, p+n) into rt->seg[rt->nseg]. last: no
 * segment follows. Returns 0, YG_EINVAL, YG_ENOMEM. */
static int add_segment(struct http_route *rt, const char *p, size_t n, bool last)
{
	const char *name = p + 1;
	size_t nlen = n >= 2 ? n - 2 : 0;
	int nparams = 0;

	if (rt->nseg == HTTP_MAX_SEGMENTS)
		return YG_EINVAL;
	if (n < 2 || p[0] != '{' || p[n - 1] != '}') {
		if (memchr(p, '{', n) != NULL || memchr(p, '}', n) != NULL)
			return YG_EINVAL;
		rt->seg[rt->nseg] = str_dup(p, n);
		return rt->seg[rt->nseg] != NULL ? (rt->nseg++, 0) : YG_ENOMEM;
	}
	if (nlen > 3 && memcmp(name + nlen - 3, "...", 3) == 0) {
		if (!last) /* "{rest...}" takes the rest of the path: only last */
			return YG_EINVAL;
		rt->catchall = true;
		nlen -= 3;
	}
	if (nlen == 0 || memchr(name, '{', nlen) != NULL || memchr(name, '}', nlen) != NULL ||
	    (nlen == 3 && memcmp(name, "...", 3) == 0))
		return YG_EINVAL;
	for (size_t i = 0; i < rt->nseg; i++) {
		if (!(rt->param_mask & (1u << i)))
			continue;
		if (++nparams == HTTP_MAX_PARAMS)
			return YG_EINVAL;
		if (strlen(rt->seg[i]) == nlen && memcmp(rt->seg[i], name, nlen) == 0)
			return YG_EINVAL; /* http_request_param() would see one */
	}
	rt->seg[rt->nseg] = str_dup(name, nlen);
	if (rt->seg[rt->nseg] == NULL)
		return YG_ENOMEM;
	rt->param_mask |= 1u << rt->nseg++;
	return 0;
}

int http_router_add(struct http_router *r, enum http_method method, const char *pattern,
		    unsigned flags, http_handler_fn handler, void *ctx)
{
	struct http_route rt = { .method = method, .flags = flags, .handler = handler, .ctx = ctx };
	const char *p;
	int id, err;

	if (pattern == NULL || pattern[0] != '/' || handler == NULL || method >= HTTP_METHOD_OTHER)
		return YG_EINVAL;
	p = pattern + 1;
	while (*p != '\0' || (p[-1] == '/' && p > pattern + 1)) {
		const char *slash = strchr(p, '/');
		size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);

		err = add_segment(&rt, p, n, slash == NULL);
		if (err < 0)
			goto fail;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	err = YG_EINVAL;
	for (size_t i = 0; i < r->nroutes; i++)
		if (route_same(&r->routes[i], &rt))
			goto fail;
	id = pattern_id(r, pattern);
	if (id < 0) {
		err = id;
		goto fail;
	}
	rt.pattern_id = (unsigned)id;
	rt.pattern = r->patterns[id];
	if (r->nroutes == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 16;
		struct http_route *nr = yg_realloc(r->routes, ncap * sizeof(*nr));

		if (nr == NULL) {
			err = YG_ENOMEM;
			goto fail;
		}
		r->routes = nr;
		r->cap = ncap;
	}
	r->routes[r->nroutes++] = rt;
	return 0;
fail:
	for (size_t j = 0; j < rt.nseg; j++)
		free(rt.seg[j]);
	return err;
}

/* Whether segments [from, nseg) of t may be a catch-all's value: at least
 * one; none empty or a dot-segment (a handler mapping the value onto files
 * or keys never sees a way up); none holding a '/' decoded from %2F, which
 * would be indistinguishable from a separator in the value. */
static bool rest_ok(const struct http_target *t, size_t from)
{
	if (from >= t->nseg)
		return false;
	for (size_t i = from; i < t->nseg; i++) {
		const char *s = t->seg[i];

		if (s[0] == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
		    strchr(s, '/') != NULL)
			return false;
	}
	return true;
}

static bool route_matches(const struct http_route *rt, const struct http_target *t)
{
	size_t fixed = rt->catchall ? rt->nseg - 1 : rt->nseg;

	if (rt->catchall ? t->nseg < rt->nseg : t->nseg != rt->nseg)
		return false;
	for (size_t i = 0; i < fixed; i++) {
		if (rt->param_mask & (1u << i)) {
			if (t->seg[i][0] == '\0')
				return false; /* an empty segment is no id */
		} else if (strcmp(rt->seg[i], t->seg[i]) != 0) {
			return false;
		}
	}
	return !rt->catchall || rest_ok(t, fixed);
}

/* Lower is preferred: routes without a catch-all, then catch-alls by
 * longest prefix. */
static size_t route_rank(const struct http_route *rt)
{
	return rt->catchall ? 1 + HTTP_MAX_SEGMENTS - rt->nseg : 0;
}

/* Keeps the better of *best and rt (the earlier one on a tie). */
static void prefer(const struct http_route **best, const struct http_route *rt)
{
	if (*best == NULL || route_rank(rt) < route_rank(*best))
		*best = rt;
}

static void bind_params(const struct http_route *rt, const struct http_target *t,
			struct http_match *m)
{
	m->nparams = 0;
	for (size_t i = 0; i < rt->nseg; i++) {
		if (!(rt->param_mask & (1u << i)))
			continue;
		m->params[m->nparams].name = rt->seg[i];
		m->params[m->nparams].value = rt->catchall && i + 1 == rt->nseg
						      ? t->joined + t->seg_off[i]
						      : t->seg[i];
		m->nparams++;
	}
}

void http_router_match(const struct http_router *r, enum http_method method,
		       const struct http_target *t, struct http_match *m)
{
	const struct http_route *any = NULL, *head_fallback = NULL;

	memset(m, 0, sizeof(*m));
	m->pattern_id = -1;
	/* Among routes that match, a catch-all only takes what no other route
	 * of the method does; otherwise the one registered first wins, and
	 * the tower registers literals (/reports/overdue) before parameters
	 * (/reports/{id}). */
	for (size_t i = 0; i < r->nroutes; i++) {
		const struct http_route *rt = &r->routes[i];

		if (!route_matches(rt, t))
			continue;
		prefer(&any, rt);
		m->allow |= 1u << rt->method;
		if (rt->method == method)
			prefer(&m->route, rt);
		else if (method == HTTP_HEAD && rt->method == HTTP_GET)
			prefer(&head_fallback, rt);
	}
	if (m->allow & (1u << HTTP_GET))
		m->allow |= 1u << HTTP_HEAD;
	if (m->route == NULL)
		m->route = head_fallback;
	if (any != NULL)
		m->pattern_id = (int)any->pattern_id;
	if (m->route != NULL) {
		m->pattern_id = (int)m->route->pattern_id;
		bind_params(m->route, t, m);
	}
}

void http_allow_format(unsigned allow, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	allow |= 1u << HTTP_OPTIONS;
	for (int i = 0; i < HTTP_METHOD_OTHER; i++) {
		int n;

		if (!(allow & (1u << i)))
			continue;
		n = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", method_names[i]);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += (size_t)n;
	}
}
