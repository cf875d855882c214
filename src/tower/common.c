/* common.c - what every resource's routes share: time, errors, queries,
 * the caller's scope, and reading rows by column name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base/clock.h"
#include "base/log.h"
#include "tower/tower_int.h"

int64_t tw_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

json_t *tw_time_col(const struct store_res *r, size_t i, const char *col)
{
	size_t c = tw_col(r, col);

	return store_res_isnull(r, i, c) ? json_null() : tw_time(store_res_int64(r, i, c));
}

json_t *tw_time(int64_t us)
{
	char buf[40];
	time_t s = (time_t)(us / 1000000);
	struct tm tm;

	if (us <= 0)
		return json_null();
	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + 19, sizeof(buf) - 19, ".%06lldZ", (long long)(us % 1000000));
	return json_string(buf);
}

void tw_hex(const uint8_t *b, size_t n, char *out)
{
	sodium_bin2hex(out, n * 2 + 1, b, n);
}

bool tw_sector_known(const struct tower *t, const char *s)
{
	for (unsigned i = 0; s != NULL && i < t->cfg.n_sectors; i++)
		if (strcmp(t->cfg.sectors[i], s) == 0)
			return true;
	return false;
}

/* No control character: ESC, CR, LF and the like would reach a terminal
 * through `yagura report list`; no DEL. */
bool tw_name_ok(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int tw_fail(struct http_response *resp, int status, const char *code, const char *msg)
{
	http_response_error(resp, status, code, msg);
	return 0;
}

int tw_store_fail(struct http_response *resp, struct store_conn *c, int rc)
{
	if (rc == YG_ECONFLICT)
		return tw_fail(resp, 409, "conflict", "already exists");
	log_warnx("tower: store: %s", c ? store_conn_errmsg(c) : yg_strerror(rc));
	return tw_fail(resp, 503, "store_unavailable", "the store could not complete the request");
}

int tw_query(struct tower *t, struct http_response *resp, const char *sql,
	     const struct store_param *ps, size_t n, struct store_res **r)
{
	struct store_conn *c;
	int rc;

	if (store_conn_get(t->st, &c) < 0) {
		tw_store_fail(resp, NULL, YG_EIO);
		return -1;
	}
	rc = store_exec(c, sql, ps, n, r, NULL);
	if (rc < 0)
		tw_store_fail(resp, c, rc);
	store_conn_put(c);
	return rc < 0 ? -1 : 0;
}

enum scope tw_need(struct http_request *req, struct http_response *resp, enum action a,
		   const struct principal **pp)
{
	const struct principal *p = http_request_principal(req);
	enum scope s = p ? authz_scope(p->role, a) : SCOPE_NONE;

	*pp = p;
	if (s == SCOPE_NONE)
		tw_fail(resp, 403, "forbidden", "your role may not do this");
	return s;
}

int tw_only_fields(struct http_response *resp, const json_t *o, const char *const *allowed,
		   const char *what)
{
	const char *key;
	const json_t *v;
	char msg[160];

	json_object_foreach((json_t *)o, key, v) {
		size_t i;

		for (i = 0; allowed[i] != NULL && strcmp(allowed[i], key) != 0; i++)
			;
		if (allowed[i] != NULL)
			continue;
		snprintf(msg, sizeof(msg), "the %s is not valid", what);
		http_response_error(resp, 422, "validation_failed", msg);
		/* The name as sent may be long or hold anything: cut and quote it. */
		char field[64];
		snprintf(field, sizeof(field), "%.60s", key);
		for (char *f = field; *f; f++)
			if ((unsigned char)*f < 0x20 || *f == 0x7f)
				*f = '?';
		http_response_error_field(resp, field, "unknown field");
		return -1;
	}
	return 0;
}

const char *tw_scope_sql(enum scope s, const struct principal *p, struct store_param *ps,
			 size_t *n)
{
	switch (s) {
	case SCOPE_OWN_ORG:
		ps[(*n)++] = store_int64(p->org_id);
		return " AND r.org_id = ?";
	case SCOPE_OWN_SECTORS:
		ps[(*n)++] = store_text(p->sectors);
		return " AND (',' || ? || ',') LIKE ('%,' || o.sector || ',%')";
	default:
		return "";
	}
}

int tw_query_int(struct http_request *req, struct http_response *resp, const char *name,
		 long long lo, long long hi, long long *v)
{
	const char *s = http_request_query(req, name);
	char *end, msg[120];

	if (s == NULL)
		return 0;
	*v = strtoll(s, &end, 10);
	if (*s != '\0' && *end == '\0' && *v >= lo && *v <= hi)
		return 1;
	snprintf(msg, sizeof(msg), "%s must be an integer from %lld to %lld", name, lo, hi);
	tw_fail(resp, 400, "bad_query", msg);
	return -1;
}

int tw_insert_id(struct store_conn *c, const char *sql, const struct store_param *ps, size_t n,
		 int64_t *id)
{
	struct store_res *r = NULL;
	int rc = store_exec(c, sql, ps, n, &r, NULL);

	if (rc == 0)
		*id = store_res_int64(r, 0, tw_col(r, "id"));
	store_res_free(r);
	return rc;
}

size_t tw_col(const struct store_res *r, const char *name)
{
	size_t col = store_res_col(r, name);

	if (col != SIZE_MAX)
		return col;
	log_warnx("tower: no column %s in a result", name);
	abort();
}

double tw_store_enter(struct tower *t, enum store_op op)
{
	if (t->store_pending[op] != NULL)
		http_metric_gauge_add(t->store_pending[op], 1);
	return yg_mono_s();
}

void tw_store_leave(struct tower *t, enum store_op op, double since)
{
	if (t->store_pending[op] != NULL)
		http_metric_gauge_add(t->store_pending[op], -1);
	if (t->store_seconds[op] != NULL)
		http_metric_observe(t->store_seconds[op], yg_mono_s() - since);
}

int tw_query_known(struct http_request *req, struct http_response *resp,
		   const char *const *known)
{
	for (size_t i = 0; i < http_request_query_count(req); i++) {
		const char *name, *value;
		size_t k;
		char msg[120];

		if (http_request_query_at(req, i, &name, &value) < 0)
			continue;
		for (k = 0; known[k] != NULL && strcmp(known[k], name) != 0; k++)
			;
		if (known[k] == NULL) {
			snprintf(msg, sizeof(msg), "unknown query parameter %.60s", name);
			for (char *m = msg; *m; m++)
				if ((unsigned char)*m < 0x20 || *m == 0x7f)
					*m = '?';
			tw_fail(resp, 400, "bad_query", msg);
			return -1;
		}
		if (http_request_query(req, name) != value) {
			snprintf(msg, sizeof(msg), "query parameter %.60s given twice", name);
			tw_fail(resp, 400, "bad_query", msg);
			return -1;
		}
	}
	return 0;
}
