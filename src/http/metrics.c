/* metrics.c - the metric registry and its Prometheus text rendering.
 * Updates are relaxed atomics on the metric itself; the registry's mutex is
 * taken only to register and to render. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "http/http_int.h"

#define MAX_BOUNDS 32

static const double lat_bounds[HTTP_LAT_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1,	0.25,  0.5,    1,     2.5,  5,     10,
};

enum metric_type { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct http_metric {
	struct http_metric *next;
	enum metric_type type;
	char *name, *labels, *help;
	_Atomic uint64_t value; /* counter; gauge as double bits */
	size_t nbounds;
	double bounds[MAX_BOUNDS];
	_Atomic uint64_t buckets[MAX_BOUNDS + 1];
	_Atomic uint64_t sum; /* double bits */
};

struct http_metrics {
	pthread_mutex_t mu;
	struct http_metric *head, *tail;
	char **patterns;
	size_t npatterns;
	struct http_route_stats *stats;
	_Atomic int64_t inflight;
	_Atomic uint64_t bytes_in, bytes_out;
	void (*on_render)(void *);
	void *on_render_ctx;
};

void http_metrics_on_render(struct http_metrics *m, void (*fn)(void *), void *ctx)
{
	m->on_render = fn;
	m->on_render_ctx = ctx;
}

struct http_metrics *http_metrics_new(void)
{
	struct http_metrics *m = yg_calloc(1, sizeof(*m));

	if (m != NULL)
		pthread_mutex_init(&m->mu, NULL);
	return m;
}

void http_metrics_free(struct http_metrics *m)
{
	struct http_metric *x, *next;

	if (m == NULL)
		return;
	for (x = m->head; x != NULL; x = next) {
		next = x->next;
		free(x->name);
		free(x->labels);
		free(x->help);
		free(x);
	}
	free(m->stats);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

int http_metrics_routes(struct http_metrics *m, char **patterns, size_t n)
{
	struct http_route_stats *s = yg_calloc(n, sizeof(*s));

	if (s == NULL)
		return YG_ENOMEM;
	pthread_mutex_lock(&m->mu);
	free(m->stats);
	m->stats = s;
	m->patterns = patterns;
	m->npatterns = n;
	pthread_mutex_unlock(&m->mu);
	return 0;
}

static size_t lat_index(const double *bounds, size_t n, double v)
{
	size_t i = 0;

	while (i < n && v > bounds[i])
		i++;
	return i;
}

void http_metrics_request(struct http_metrics *m, size_t pid, enum http_method method,
			  int status, uint64_t ns, uint64_t bytes_in, uint64_t bytes_out)
{
	struct http_route_stats *s;
	int slot;

	atomic_fetch_add_explicit(&m->bytes_in, bytes_in, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->bytes_out, bytes_out, memory_order_relaxed);
	if (m->stats == NULL || pid >= m->npatterns || (unsigned)method >= HTTP_METHOD_COUNT)
		return;
	s = &m->stats[pid];
	/* Find or claim the status slot; a full table folds into the last. */
	for (slot = 0; slot < HTTP_STATUS_SLOTS - 1; slot++) {
		int cur = atomic_load_explicit(&s->code[method][slot], memory_order_acquire);

		if (cur == status)
			break;
		if (cur == 0) {
			int zero = 0;

			if (atomic_compare_exchange_strong(&s->code[method][slot], &zero, status) ||
			    zero == status)
				break;
		}
	}
	if (slot == HTTP_STATUS_SLOTS - 1) {
		int zero = 0;

		atomic_compare_exchange_strong(&s->code[method][slot], &zero, status);
	}
	atomic_fetch_add_explicit(&s->count[method][slot], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->lat[method][lat_index(lat_bounds, HTTP_LAT_BUCKETS,
							    (double)ns * 1e-9)],
				  1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->lat_sum_ns[method], ns, memory_order_relaxed);
}

void http_metrics_inflight(struct http_metrics *m, int delta)
{
	atomic_fetch_add_explicit(&m->inflight, delta, memory_order_relaxed);
}

static bool name_ok(const char *n)
{
	if (n == NULL || *n == '\0' || (*n >= '0' && *n <= '9'))
		return false;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
		      (*n >= '0' && *n <= '9') || *n == '_' || *n == ':'))
			return false;
	return true;
}

static char *sdup(const char *s)
{
	size_t n = strlen(s);
	char *d = yg_malloc(n + 1);

	if (d != NULL)
		memcpy(d, s, n + 1);
	return d;
}

static struct http_metric *metric_add(struct http_metrics *m, enum metric_type type,
				      const char *name, const char *labels, const char *help,
				      const double *bounds, size_t nbounds)
{
	struct http_metric *x;

	if (m == NULL || !name_ok(name) || nbounds > MAX_BOUNDS)
		return NULL;
	x = yg_calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->type = type;
	x->name = sdup(name);
	x->labels = sdup(labels != NULL ? labels : "");
	x->help = sdup(help != NULL ? help : name);
	if (x->name == NULL || x->labels == NULL || x->help == NULL) {
		free(x->name);
		free(x->labels);
		free(x->help);
		free(x);
		return NULL;
	}
	x->nbounds = nbounds;
	if (nbounds)
		memcpy(x->bounds, bounds, nbounds * sizeof(double));
	pthread_mutex_lock(&m->mu);
	if (m->tail != NULL)
		m->tail->next = x;
	else
		m->head = x;
	m->tail = x;
	pthread_mutex_unlock(&m->mu);
	return x;
}

struct http_metric *http_metrics_counter(struct http_metrics *m, const char *name,
					 const char *labels, const char *help)
{
	return metric_add(m, M_COUNTER, name, labels, help, NULL, 0);
}

struct http_metric *http_metrics_gauge(struct http_metrics *m, const char *name,
				       const char *labels, const char *help)
{
	return metric_add(m, M_GAUGE, name, labels, help, NULL, 0);
}

struct http_metric *http_metrics_histogram(struct http_metrics *m, const char *name,
					   const char *labels, const char *help,
					   const double *bounds, size_t nbounds)
{
	if (bounds == NULL) {
		bounds = lat_bounds;
		nbounds = HTTP_LAT_BUCKETS;
	}
	for (size_t i = 1; i < nbounds; i++)
		if (!(bounds[i] > bounds[i - 1]))
			return NULL;
	return metric_add(m, M_HISTOGRAM, name, labels, help, bounds, nbounds);
}

static double bits_to_d(uint64_t b)
{
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

static uint64_t d_to_bits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

static void atomic_add_double(_Atomic uint64_t *p, double d)
{
	uint64_t old = atomic_load_explicit(p, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(p, &old, d_to_bits(bits_to_d(old) + d),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

void http_metric_add(struct http_metric *c, uint64_t n)
{
	if (c != NULL)
		atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

void http_metric_set(struct http_metric *g, double v)
{
	if (g != NULL)
		atomic_store_explicit(&g->value, d_to_bits(v), memory_order_relaxed);
}

void http_metric_gauge_add(struct http_metric *g, double d)
{
	if (g != NULL)
		atomic_add_double(&g->value, d);
}

void http_metric_observe(struct http_metric *h, double v)
{
	if (h == NULL)
		return;
	atomic_fetch_add_explicit(&h->buckets[lat_index(h->bounds, h->nbounds, v)], 1,
				  memory_order_relaxed);
	atomic_add_double(&h->sum, v);
}

/* ---- rendering ---- */

struct out {
	char *buf;
	size_t len, cap;
	int err;
};

__attribute__((format(printf, 2, 3))) static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->err = YG_EINVAL;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t ncap = o->cap * 2 + (size_t)n;
		char *nb = yg_realloc(o->buf, ncap);

		if (nb == NULL) {
			o->err = YG_ENOMEM;
			return;
		}
		o->buf = nb;
		o->cap = ncap;
	}
}

/* Label values must escape '\\', '"' and newlines. */
static void out_label(struct out *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			out_printf(o, "\\%c", *s);
		else if (*s == '\n')
			out_printf(o, "\\n");
		else
			out_printf(o, "%c", *s);
	}
}

static void fmt_le(char *b, size_t n, double v)
{
	snprintf(b, n, "%g", v);
}

static void render_routes(struct http_metrics *m, struct out *o)
{
	out_printf(o, "# HELP yagura_http_requests_total HTTP requests by route pattern, "
		      "method and status.\n# TYPE yagura_http_requests_total counter\n");
	for (size_t p = 0; p < m->npatterns; p++) {
		struct http_route_stats *s = &m->stats[p];

		for (int me = 0; me < HTTP_METHOD_COUNT; me++) {
			for (int k = 0; k < HTTP_STATUS_SLOTS; k++) {
				int code = atomic_load(&s->code[me][k]);
				uint64_t c = atomic_load(&s->count[me][k]);

				if (code == 0 || c == 0)
					continue;
				out_printf(o, "yagura_http_requests_total{route=\"");
				out_label(o, m->patterns[p]);
				out_printf(o, "\",method=\"%s\",status=\"%d\"} %llu\n",
					   http_method_name((enum http_method)me), code,
					   (unsigned long long)c);
			}
		}
	}
	out_printf(o, "# HELP yagura_http_request_duration_seconds Time from request line to "
		      "response queued.\n# TYPE yagura_http_request_duration_seconds "
		      "histogram\n");
	for (size_t p = 0; p < m->npatterns; p++) {
		struct http_route_stats *s = &m->stats[p];

		for (int me = 0; me < HTTP_METHOD_COUNT; me++) {
			uint64_t cum = 0, v[HTTP_LAT_BUCKETS + 1];
			char le[32];

			for (int b = 0; b <= HTTP_LAT_BUCKETS; b++) {
				v[b] = atomic_load(&s->lat[me][b]);
				cum += v[b];
			}
			if (cum == 0)
				continue;
			cum = 0;
			for (int b = 0; b <= HTTP_LAT_BUCKETS; b++) {
				cum += v[b];
				if (b < HTTP_LAT_BUCKETS)
					fmt_le(le, sizeof(le), lat_bounds[b]);
				else
					snprintf(le, sizeof(le), "+Inf");
				out_printf(o, "yagura_http_request_duration_seconds_bucket{route=\"");
				out_label(o, m->patterns[p]);
				out_printf(o, "\",method=\"%s\",le=\"%s\"} %llu\n",
					   http_method_name((enum http_method)me), le,
					   (unsigned long long)cum);
			}
			out_printf(o, "yagura_http_request_duration_seconds_sum{route=\"");
			out_label(o, m->patterns[p]);
			out_printf(o, "\",method=\"%s\"} %.9f\n",
				   http_method_name((enum http_method)me),
				   (double)atomic_load(&s->lat_sum_ns[me]) * 1e-9);
			out_printf(o, "yagura_http_request_duration_seconds_count{route=\"");
			out_label(o, m->patterns[p]);
			out_printf(o, "\",method=\"%s\"} %llu\n",
				   http_method_name((enum http_method)me), (unsigned long long)cum);
		}
	}
	out_printf(o, "# HELP yagura_http_requests_in_flight Requests being served.\n"
		      "# TYPE yagura_http_requests_in_flight gauge\n"
		      "yagura_http_requests_in_flight %lld\n",
		   (long long)atomic_load(&m->inflight));
	out_printf(o, "# HELP yagura_http_request_bytes_total Request body bytes received.\n"
		      "# TYPE yagura_http_request_bytes_total counter\n"
		      "yagura_http_request_bytes_total %llu\n",
		   (unsigned long long)atomic_load(&m->bytes_in));
	out_printf(o, "# HELP yagura_http_response_bytes_total Response body bytes sent.\n"
		      "# TYPE yagura_http_response_bytes_total counter\n"
		      "yagura_http_response_bytes_total %llu\n",
		   (unsigned long long)atomic_load(&m->bytes_out));
}

static void render_series_labels(struct out *o, const struct http_metric *x, const char *suffix,
				 const char *extra)
{
	bool any = x->labels[0] != '\0' || extra != NULL;

	out_printf(o, "%s%s", x->name, suffix);
	if (!any)
		return;
	out_printf(o, "{%s%s%s}", x->labels, x->labels[0] && extra ? "," : "",
		   extra != NULL ? extra : "");
}

static void render_one(struct out *o, const struct http_metric *x)
{
	char le[48];

	switch (x->type) {
	case M_COUNTER:
		render_series_labels(o, x, "", NULL);
		out_printf(o, " %llu\n", (unsigned long long)atomic_load(&x->value));
		break;
	case M_GAUGE:
		render_series_labels(o, x, "", NULL);
		out_printf(o, " %.17g\n", bits_to_d(atomic_load(&x->value)));
		break;
	case M_HISTOGRAM: {
		uint64_t cum = 0;

		for (size_t b = 0; b <= x->nbounds; b++) {
			cum += atomic_load(&x->buckets[b]);
			if (b < x->nbounds) {
				char v[32];

				fmt_le(v, sizeof(v), x->bounds[b]);
				snprintf(le, sizeof(le), "le=\"%s\"", v);
			} else {
				snprintf(le, sizeof(le), "le=\"+Inf\"");
			}
			render_series_labels(o, x, "_bucket", le);
			out_printf(o, " %llu\n", (unsigned long long)cum);
		}
		render_series_labels(o, x, "_sum", NULL);
		out_printf(o, " %.17g\n", bits_to_d(atomic_load(&x->sum)));
		render_series_labels(o, x, "_count", NULL);
		out_printf(o, " %llu\n", (unsigned long long)cum);
		break;
	}
	}
}

/* A family's series must be contiguous: render each name once, at its first
 * registration, with every later registration of the same name. */
static void render_app(struct http_metrics *m, struct out *o)
{
	static const char *const tname[] = { "counter", "gauge", "histogram" };

	for (struct http_metric *x = m->head; x != NULL; x = x->next) {
		bool first = true;

		for (struct http_metric *y = m->head; y != x; y = y->next)
			if (strcmp(y->name, x->name) == 0)
				first = false;
		if (!first)
			continue;
		out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", x->name, x->help, x->name,
			   tname[x->type]);
		for (struct http_metric *y = x; y != NULL; y = y->next)
			if (strcmp(y->name, x->name) == 0 && y->type == x->type)
				render_one(o, y);
	}
}

int http_metrics_render(struct http_metrics *m, char **out, size_t *len)
{
	struct out o = { 0 };

	if (m->on_render != NULL)
		m->on_render(m->on_render_ctx);
	o.buf = yg_malloc(16384);
	if (o.buf == NULL)
		return YG_ENOMEM;
	o.cap = 16384;
	o.buf[0] = '\0';
	pthread_mutex_lock(&m->mu);
	if (m->stats != NULL)
		render_routes(m, &o);
	render_app(m, &o);
	pthread_mutex_unlock(&m->mu);
	if (o.err) {
		free(o.buf);
		return o.err;
	}
	*out = o.buf;
	*len = o.len;
	return 0;
}
