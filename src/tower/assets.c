/* assets.c - "specified critical computers" an operator registers: what
 * they are, and the address ranges they answer on, so that an alert
 * against one is marked with the asset and its organisation.
 *
 * The ranges are kept in memory as an immutable map (sorted by start,
 * with the running maximum of ends, so a lookup walks back only over
 * ranges that may hold the address), rebuilt after a change through this
 * tower and at most ASSET_MAP_TTL_US after one through another tower on
 * the same store. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "tower/tower_int.h"

#define ASSET_ADDRESSES_MAX 64
#define ASSET_MAP_TTL_US (30 * 1000000LL)

struct asset_range {
	uint8_t lo[17], hi[17]; /* family byte (4, 6), then 16 address bytes */
	unsigned plen;
	int64_t asset_id, org_id;
};

struct asset_map {
	pthread_rwlock_t mu;
	struct asset_range *v; /* sorted by lo */
	uint8_t (*maxhi)[17];  /* maxhi[i]: the largest hi of v[0..i] */
	size_t n;
	int64_t loaded_us;
	bool stale;
};

/* Parses "address" or "address/length" into its range; the address must
 * be the network's first (no host bits): a typo must not widen a range. */
static int prefix_parse(const char *s, uint8_t lo[17], uint8_t hi[17], unsigned *plen)
{
	char buf[64], *slash, *end;
	unsigned max, len;

	if (s == NULL || strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	memset(lo, 0, 17);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, lo + 1) == 1) {
		lo[0] = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, lo + 1) == 1) {
		lo[0] = 6;
		max = 128;
	} else {
		return -1;
	}
	len = max;
	if (slash != NULL) {
		long v = strtol(slash, &end, 10);

		if (*slash == '\0' || *end != '\0' || v < 0 || v > (long)max || *slash == '+' ||
		    *slash == '-' || (slash[0] == '0' && slash[1] != '\0'))
			return -1;
		len = (unsigned)v;
	}
	memcpy(hi, lo, 17);
	for (unsigned bit = len; bit < max; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		if (lo[1 + bit / 8] & m)
			return -1; /* host bits set */
		hi[1 + bit / 8] |= m;
	}
	*plen = len;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	return memcmp(((const struct asset_range *)a)->lo, ((const struct asset_range *)b)->lo, 17);
}

/* Reads every range from the store into a new map's arrays. */
static int map_read(struct tower *t, struct asset_range **out, uint8_t (**maxhi)[17], size_t *n)
{
	struct store_conn *c;
	struct store_res *r = NULL;
	struct asset_range *v;
	size_t k = 0;
	int rc;

	if ((rc = store_conn_get(t->st, &c)) < 0)
		return rc;
	rc = store_exec(c,
			"SELECT a.asset_id, s.org_id, a.prefix FROM asset_addresses a "
			"JOIN assets s ON s.id = a.asset_id",
			NULL, 0, &r, NULL);
	store_conn_put(c);
	if (rc < 0)
		return rc;
	size_t ca = tw_col(r, "asset_id"), co = tw_col(r, "org_id"), cp = tw_col(r, "prefix");
	v = yg_calloc(store_res_nrows(r) + 1, sizeof(*v));
	*maxhi = yg_calloc(store_res_nrows(r) + 1, sizeof(**maxhi));
	if (v == NULL || *maxhi == NULL) {
		free(v);
		free(*maxhi);
		store_res_free(r);
		return YG_ENOMEM;
	}
	for (size_t i = 0; i < store_res_nrows(r); i++) {
		if (prefix_parse(store_res_text(r, i, cp), v[k].lo, v[k].hi, &v[k].plen) < 0)
			continue; /* checked at registration; not expected */
		v[k].asset_id = store_res_int64(r, i, ca);
		v[k].org_id = store_res_int64(r, i, co);
		k++;
	}
	store_res_free(r);
	qsort(v, k, sizeof(*v), range_cmp);
	for (size_t i = 0; i < k; i++)
		memcpy((*maxhi)[i],
		       i > 0 && memcmp((*maxhi)[i - 1], v[i].hi, 17) > 0 ? (*maxhi)[i - 1] : v[i].hi,
		       17);
	*out = v;
	*n = k;
	return 0;
}

static int map_reload(struct tower *t)
{
	struct asset_map *m = t->assets;
	struct asset_range *v, *old;
	uint8_t (*maxhi)[17], (*oldmax)[17];
	size_t n;
	int rc = map_read(t, &v, &maxhi, &n);

	if (rc < 0)
		return rc;
	pthread_rwlock_wrlock(&m->mu);
	old = m->v;
	oldmax = m->maxhi;
	m->v = v;
	m->maxhi = maxhi;
	m->n = n;
	m->loaded_us = tw_now_us();
	m->stale = false;
	pthread_rwlock_unlock(&m->mu);
	free(old);
	free(oldmax);
	return 0;
}

int tw_assets_load(struct tower *t)
{
	t->assets = yg_calloc(1, sizeof(*t->assets));
	if (t->assets == NULL)
		return YG_ENOMEM;
	pthread_rwlock_init(&t->assets->mu, NULL);
	return map_reload(t);
}

void tw_assets_free(struct tower *t)
{
	if (t->assets == NULL)
		return;
	pthread_rwlock_destroy(&t->assets->mu);
	free(t->assets->v);
	free(t->assets->maxhi);
	free(t->assets);
	t->assets = NULL;
}

bool tw_assets_hold(struct tower *t)
{
	struct asset_map *m = t->assets;

	if (m == NULL)
		return false;
	pthread_rwlock_rdlock(&m->mu);
	bool old = m->stale || tw_now_us() - m->loaded_us > ASSET_MAP_TTL_US;
	pthread_rwlock_unlock(&m->mu);
	if (old && map_reload(t) < 0)
		log_warnx("tower: assets: the address map was not reloaded; using the last one");
	pthread_rwlock_rdlock(&m->mu);
	if (m->n > 0)
		return true;
	pthread_rwlock_unlock(&m->mu);
	return false;
}

void tw_assets_release(struct tower *t)
{
	pthread_rwlock_unlock(&t->assets->mu);
}

int64_t tw_asset_of(struct tower *t, const char *ip, int64_t *org_id)
{
	struct asset_map *m = t->assets;
	uint8_t a[17], hi[17];
	unsigned plen, best_len = 0;
	int64_t best = 0;

	*org_id = 0;
	if (ip == NULL || prefix_parse(ip, a, hi, &plen) < 0)
		return 0;
	/* The last range starting at or before a, then back while a range
	 * that far back may still reach a. */
	size_t lo = 0, hi_i = m->n;
	while (lo < hi_i) {
		size_t mid = (lo + hi_i) / 2;

		if (memcmp(m->v[mid].lo, a, 17) <= 0)
			lo = mid + 1;
		else
			hi_i = mid;
	}
	for (size_t i = lo; i-- > 0 && memcmp(m->maxhi[i], a, 17) >= 0;) {
		const struct asset_range *r = &m->v[i];

		if (memcmp(r->hi, a, 17) >= 0 && (best == 0 || r->plen > best_len)) {
			best = r->asset_id;
			best_len = r->plen;
			*org_id = r->org_id;
		}
	}
	return best;
}

/* ---- registering ------------------------------------------------------- */

#define ASSET_TEXT_FIELDS 3

struct asset_new {
	const char *product;
	const char *text[ASSET_TEXT_FIELDS]; /* version, role, location */
	const json_t *addresses;	     /* strings, checked */
	json_t *answer;			     /* out: the 201 body */
};

static int asset_create(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct asset_new *in = arg;
	const json_t *a;
	struct rec_set set = {0};
	struct rec_ref ref = {.t = REC_ASSET_ADDRESSES};
	int64_t id;
	size_t i;
	int rc;

	struct store_param ps[] = {store_int64(x->p->org_id), store_text(in->product),
				   store_text(in->text[0]),   store_text(in->text[1]),
				   store_text(in->text[2]),   store_int64(x->now)};
	rc = svc_write(x, c, REC_ASSETS,
		       "INSERT INTO assets (org_id, product, version, role, location, created) "
		       "VALUES (?, ?, ?, ?, ?, ?)",
		       ps, 6, &id);
	if (rc < 0)
		return rc;
	/* Its address ranges, hashed as the set they make (a range given
	 * twice is stored once). */
	json_array_foreach(in->addresses, i, a) {
		struct store_param pa[] = {store_int64(id), store_text(json_string_value(a))};

		rc = store_exec(c,
				"INSERT INTO asset_addresses (asset_id, prefix) VALUES (?, ?) "
				"ON CONFLICT DO NOTHING",
				pa, 2, NULL, NULL);
		if (rc == 0 && (rc = rec_row_params(REC_ASSET_ADDRESSES, pa + 1, &ref.h)) == 0)
			rc = rec_set_add(&set, &ref.h);
		if (rc < 0)
			break;
	}
	if (rc == 0) {
		rec_set_hash(REC_ASSET_ADDRESSES, &set, &ref.h, &ref.count);
		ref.key[0] = id;
		rc = svc_row(x, &ref);
	}
	rec_set_free(&set);
	if (rc < 0)
		return rc;
	json_decref(in->answer);
	in->answer = json_pack("{s:I,s:I,s:s,s:o}", "id", (json_int_t)id, "org_id",
			       (json_int_t)x->p->org_id, "product", in->product, "addresses",
			       in->addresses ? json_incref((json_t *)in->addresses) : json_array());
	if (in->answer == NULL)
		return YG_ENOMEM;
	svc_keep(x, in->answer);
	return svc_changed(x, c, CHANGE_ASSET_CREATE, id);
}

static int assets_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"product", "version", "role", "location", "addresses",
					     NULL};
	static const char *const names[ASSET_TEXT_FIELDS] = {"version", "role", "location"};
	struct tower *t = ctx;
	const struct principal *p;
	json_t *b = http_request_json(req);
	struct asset_new in = {.product = json_string_value(json_object_get(b, "product")),
			       .addresses = json_object_get(b, "addresses")};
	struct svc_result res;
	struct tw_idem key;
	const json_t *a;
	size_t i;
	int bad = 0;

	if (tw_need(req, resp, ACT_ASSET_WRITE, &p) == SCOPE_NONE)
		return 0;
	if (p->org_id == 0)
		return tw_fail(resp, 403, "forbidden", "your user belongs to no organisation");
	if (tw_only_fields(resp, b, fields, "asset") < 0)
		return 0;
	http_response_error(resp, 422, "validation_failed", "the asset is not valid");
	if (!tw_name_ok(in.product, 200))
		bad |= http_response_error_field(
			       resp, "product",
			       "is required (1 to 200 characters, no control characters)") == 0;
	for (int k = 0; k < ASSET_TEXT_FIELDS; k++) {
		json_t *v = json_object_get(b, names[k]);

		in.text[k] = json_string_value(v);
		if (v != NULL && !tw_name_ok(in.text[k], 500))
			bad |= http_response_error_field(resp, names[k],
							 "must be a string of 1 to 500 characters, "
							 "no control characters") == 0;
	}
	if (in.addresses != NULL && (!json_is_array(in.addresses) ||
				     json_array_size(in.addresses) > ASSET_ADDRESSES_MAX)) {
		bad |= http_response_error_field(resp, "addresses",
						 "must be an array of at most 64 addresses or "
						 "prefixes") == 0;
	} else {
		json_array_foreach(in.addresses, i, a) {
			uint8_t lo[17], hi[17];
			unsigned plen;
			char field[32];

			if (prefix_parse(json_string_value(a), lo, hi, &plen) == 0)
				continue;
			snprintf(field, sizeof(field), "addresses[%zu]", i);
			bad |= http_response_error_field(resp, field,
							 "must be an IPv4 or IPv6 address or a "
							 "prefix without host bits") == 0;
			break;
		}
	}
	if (bad)
		return 0;
	if (tw_idem_begin(t, req, resp, p, 201, NULL, &key))
		return 0;
	if (svc_run_keyed(t, t->st, p, false, &key, asset_create, &in, &res) < 0) {
		json_decref(in.answer);
		if (res.status == SVC_CONFLICT && tw_idem_replay(t, resp, p, &key))
			return 0;
		return svc_answer(resp, &res);
	}
	if (t->assets != NULL && json_array_size(in.addresses) > 0) {
		pthread_rwlock_wrlock(&t->assets->mu);
		t->assets->stale = true;
		pthread_rwlock_unlock(&t->assets->mu);
	}
	http_response_json(resp, 201, in.answer);
	return 0;
}

/* Newest last, a page at a time: ?limit=N (1..1000, default 100) and
 * ?after=ID, the page's next_after. */
static int assets_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const optional[ASSET_TEXT_FIELDS] = {"version", "role", "location"};
	static const char *const known[] = {"limit", "after", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	enum scope s = tw_need(req, resp, ACT_ASSET_READ, &p);
	struct store_param ps[3];
	long long after = 0, limit = 100;
	size_t n = 0;
	char sql[768];
	struct store_res *r = NULL, *a = NULL;
	json_t *arr;

	if (s == SCOPE_NONE || tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "limit", 1, 1000, &limit) < 0 ||
	    tw_query_int(req, resp, "after", 1, INT64_MAX, &after) < 0)
		return 0;
	const char *cond = tw_scope_sql(s, p, ps, &n);
	ps[n++] = store_int64(after);
	snprintf(sql, sizeof(sql),
		 "SELECT r.id, r.org_id, r.product, r.version, r.role, r.location FROM assets r "
		 "JOIN orgs o ON o.id = r.org_id WHERE 1 = 1%s AND r.id > ? ORDER BY r.id "
		 "LIMIT %lld",
		 cond, limit + 1);
	if (tw_query(t, resp, sql, ps, n, &r) < 0)
		return 0;
	size_t rows = store_res_nrows(r), shown = rows > (size_t)limit ? (size_t)limit : rows;
	int64_t first = shown ? store_res_int64(r, 0, tw_col(r, "id")) : 0;
	int64_t last = shown ? store_res_int64(r, shown - 1, tw_col(r, "id")) : 0;
	/* The page's addresses, in one query. */
	struct store_param pa[] = {store_int64(first), store_int64(last)};
	if (shown > 0 &&
	    tw_query(t, resp,
		     "SELECT asset_id, prefix FROM asset_addresses WHERE asset_id BETWEEN ? AND ? "
		     "ORDER BY asset_id, prefix",
		     pa, 2, &a) < 0) {
		store_res_free(r);
		return 0;
	}
	arr = json_array();
	size_t j = 0;
	for (size_t i = 0; i < shown; i++) {
		int64_t id = store_res_int64(r, i, tw_col(r, "id"));
		json_t *o = json_pack("{s:I,s:I,s:s,s:[]}", "id", (json_int_t)id, "org_id",
				      (json_int_t)store_res_int64(r, i, tw_col(r, "org_id")),
				      "product", store_res_text(r, i, tw_col(r, "product")),
				      "addresses");

		for (int k = 0; k < ASSET_TEXT_FIELDS; k++) {
			size_t col = tw_col(r, optional[k]);

			if (!store_res_isnull(r, i, col))
				json_object_set_new(o, optional[k],
						    json_string(store_res_text(r, i, col)));
		}
		for (; a != NULL && j < store_res_nrows(a) &&
		       store_res_int64(a, j, tw_col(a, "asset_id")) <= id;
		     j++)
			if (store_res_int64(a, j, tw_col(a, "asset_id")) == id)
				json_array_append_new(json_object_get(o, "addresses"),
						      json_string(store_res_text(a, j, tw_col(a, "prefix"))));
		json_array_append_new(arr, o);
	}
	json_t *page = json_pack("{s:o,s:b}", "assets", arr, "more", rows > shown);
	if (rows > shown)
		json_object_set_new(page, "next_after", json_integer(last));
	store_res_free(a);
	store_res_free(r);
	http_response_json(resp, 200, page);
	return 0;
}

const struct tower_route tw_asset_routes[] = {
	{HTTP_POST, "/api/v1/assets", TW_AJ, assets_create},
	{HTTP_GET, "/api/v1/assets", HTTP_ROUTE_AUTH, assets_list},
	{0, NULL, 0, NULL},
};
