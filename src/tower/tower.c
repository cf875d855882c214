/* tower.c - the tower's routes over the HTTP layer and the store.
 *
 * Every route names an action of the authorization matrix (auth.h); a
 * handler first asks authz_scope() what the caller may see or change, then
 * narrows its SQL to the caller's organisation or sectors. What is not the
 * caller's is answered 404, not 403, so that existence does not leak. */
#include "tower/tower.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "http/http.h"
#include "store/store.h"
#include "tower/alertbatch.h"
#include "tower/auth.h"
#include "tower/rollup.h"

/* Store timings in /metrics, by operation. */
enum store_op { OP_AUTH = 0, OP_REPORT_CREATE, OP_ALERTS_INSERT, OP_COUNT };
static const char *const op_labels[OP_COUNT] = {"op=\"auth\"", "op=\"report_create\"",
						 "op=\"alerts_insert\""};

struct auth_cache;

struct tower {
	struct tower_config cfg;
	struct store *st;
	struct http_server *srv;
	struct auth_cache *auth;
	struct rollup *rollup; /* the attack-source summary */
	struct http_metric *store_seconds[OP_COUNT];
	struct http_metric *store_pending[OP_COUNT]; /* requests in the store now */
	struct http_metric *alerts_stored;
	struct http_metric *alerts_duplicate;
	struct http_metric *sources_pending;  /* alert ids beyond the summary */
	struct http_metric *sources_failures; /* catch-ups that failed */
};

/* Brackets a store operation: the time it took, and how many requests are
 * in the store at once (waiting for a group commit or a connection, or
 * being written): the queue depth in /metrics. */
static double store_enter(struct tower *t, enum store_op op)
{
	if (t->store_pending[op] != NULL)
		http_metric_gauge_add(t->store_pending[op], 1);
	return yg_mono_s();
}

static void observe(struct tower *t, enum store_op op, double since)
{
	if (t->store_pending[op] != NULL)
		http_metric_gauge_add(t->store_pending[op], -1);
	if (t->store_seconds[op] != NULL)
		http_metric_observe(t->store_seconds[op], yg_mono_s() - since);
}

/* Who is calling: resolved from the bearer token once per request. */
struct principal {
	int64_t user_id;
	int64_t token_id;
	int64_t org_id; /* 0 when none */
	enum role role;
	char sectors[512]; /* regulators: comma-separated */
};

/* Recently seen tokens, so that a request does not cost a store round trip
 * just to learn who sent it. An entry lives AUTH_CACHE_TTL_US at most and
 * never past its token's expiry; a revocation through this tower empties the
 * cache at once (another tower on the same PostgreSQL learns of it within the
 * TTL). gen guards against a lookup that read the token before a revocation
 * and would cache it after. */
#define AUTH_CACHE_SLOTS 1024
#define AUTH_CACHE_TTL_US (5 * 1000000LL)

struct auth_entry {
	uint8_t hash[TOKEN_HASH_LEN];
	int64_t cached_us, expires_us; /* expires_us 0: the token does not expire */
	bool used;
	struct principal p;
};

struct auth_cache {
	pthread_mutex_t mu;
	uint64_t gen;
	struct auth_entry e[AUTH_CACHE_SLOTS];
};


static const char *const default_sectors[] = {
	"electricity", "gas",	     "petroleum", "water",	     "railways",
	"trucking",    "shipping",   "aviation",  "airports",    "telecommunications",
	"broadcasting", "postal",    "finance",   "credit_cards", "ports"};

void tower_config_defaults(struct tower_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = "127.0.0.1:8080";
	cfg->store = "var/tower.db";
	cfg->threads = 32;
	cfg->max_body = 4u << 20;
	report_policy_default(&cfg->policy);
	cfg->n_sectors = sizeof(default_sectors) / sizeof(default_sectors[0]);
	for (unsigned i = 0; i < cfg->n_sectors; i++)
		cfg->sectors[i] = default_sectors[i];
}

void tower_config_free(struct tower_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_owned; i++)
		free(cfg->owned[i]);
	cfg->n_owned = 0;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static json_t *json_time(int64_t us)
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

static int sector_known(const struct tower *t, const char *s)
{
	for (unsigned i = 0; i < t->cfg.n_sectors; i++)
		if (strcmp(t->cfg.sectors[i], s) == 0)
			return 1;
	return 0;
}

/* ---- errors --------------------------------------------------------- */

static int fail(struct http_response *resp, int status, const char *code, const char *msg)
{
	http_response_error(resp, status, code, msg);
	return 0;
}

static int store_fail(struct http_response *resp, struct store_conn *c, int rc)
{
	if (rc == YG_ECONFLICT)
		return fail(resp, 409, "conflict", "already exists");
	log_warnx("tower: store: %s", c ? store_conn_errmsg(c) : yg_strerror(rc));
	return fail(resp, 503, "store_unavailable", "the store could not complete the request");
}

/* Runs one read query on a pooled connection. Returns 0 with *r, or -1
 * after answering 503. */
static int query(struct tower *t, struct http_response *resp, const char *sql,
		 const struct store_param *ps, size_t n, struct store_res **r)
{
	struct store_conn *c;
	int rc;

	if (store_conn_get(t->st, &c) < 0) {
		store_fail(resp, NULL, YG_EIO);
		return -1;
	}
	rc = store_exec(c, sql, ps, n, r, NULL);
	if (rc < 0)
		store_fail(resp, c, rc);
	store_conn_put(c);
	return rc < 0 ? -1 : 0;
}

/* The caller's scope for an action, answering 403 when it has none. */
static enum scope need(struct http_request *req, struct http_response *resp, enum action a,
		       const struct principal **pp)
{
	const struct principal *p = http_request_principal(req);
	enum scope s = p ? authz_scope(p->role, a) : SCOPE_NONE;

	*pp = p;
	if (s == SCOPE_NONE)
		fail(resp, 403, "forbidden", "your role may not do this");
	return s;
}

/* ---- authentication --------------------------------------------------- */

static void hex(const uint8_t *b, size_t n, char *out)
{
	sodium_bin2hex(out, n * 2 + 1, b, n);
}

static bool auth_cached(struct tower *t, const uint8_t h[TOKEN_HASH_LEN], struct principal *out,
			uint64_t *gen)
{
	struct auth_cache *ac = t->auth;
	struct auth_entry *e;
	int64_t now = now_us();
	bool hit = false;

	if (ac == NULL)
		return false;
	e = &ac->e[(h[0] | (unsigned)h[1] << 8) % AUTH_CACHE_SLOTS];
	pthread_mutex_lock(&ac->mu);
	*gen = ac->gen;
	if (e->used && memcmp(e->hash, h, TOKEN_HASH_LEN) == 0 &&
	    now - e->cached_us < AUTH_CACHE_TTL_US && (e->expires_us == 0 || e->expires_us > now)) {
		*out = e->p;
		hit = true;
	}
	pthread_mutex_unlock(&ac->mu);
	return hit;
}

static void auth_remember(struct tower *t, const uint8_t h[TOKEN_HASH_LEN],
			  const struct principal *p, int64_t expires, uint64_t gen)
{
	struct auth_cache *ac = t->auth;
	struct auth_entry *e;

	if (ac == NULL)
		return;
	e = &ac->e[(h[0] | (unsigned)h[1] << 8) % AUTH_CACHE_SLOTS];
	pthread_mutex_lock(&ac->mu);
	if (ac->gen == gen) {
		memcpy(e->hash, h, TOKEN_HASH_LEN);
		e->cached_us = now_us();
		e->expires_us = expires;
		e->p = *p;
		e->used = true;
	}
	pthread_mutex_unlock(&ac->mu);
}

/* After a revocation: nothing cached survives it. */
static void auth_forget_all(struct tower *t)
{
	struct auth_cache *ac = t->auth;

	if (ac == NULL)
		return;
	pthread_mutex_lock(&ac->mu);
	ac->gen++;
	for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++)
		ac->e[i].used = false;
	pthread_mutex_unlock(&ac->mu);
}

static int tower_auth(void *ctx, struct http_request *req, const char *token, void **out)
{
	struct tower *t = ctx;
	uint8_t h[TOKEN_HASH_LEN];
	char hh[TOKEN_HASH_LEN * 2 + 1];
	struct store_conn *c;
	struct store_res *r = NULL;
	struct principal *p, seen;
	uint64_t gen = 0;
	int rc;

	if (token_hash(token, strlen(token), h) < 0)
		return YG_EINVAL;
	if (auth_cached(t, h, &seen, &gen)) {
		p = http_arena_alloc(http_request_arena(req), sizeof(*p));
		if (p == NULL)
			return YG_ENOMEM;
		*p = seen;
		*out = p;
		return 0;
	}
	hex(h, sizeof(h), hh);
	double t0 = store_enter(t, OP_AUTH);
	if (store_conn_get(t->st, &c) < 0) {
		observe(t, OP_AUTH, t0);
		return YG_EIO;
	}
	struct store_param ps[] = {store_text(hh)};
	rc = store_exec(c,
			"SELECT t.id, u.id, u.role, u.org_id, u.sectors, t.expires, t.revoked, "
			"u.disabled FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?",
			ps, 1, &r, NULL);
	store_conn_put(c);
	observe(t, OP_AUTH, t0);
	if (rc < 0)
		return rc;
	rc = YG_ENOTFOUND;
	if (store_res_nrows(r) == 1 && store_res_isnull(r, 0, 6) && store_res_isnull(r, 0, 7) &&
	    (store_res_isnull(r, 0, 5) || store_res_int64(r, 0, 5) > now_us())) {
		p = http_arena_alloc(http_request_arena(req), sizeof(*p));
		if (p != NULL) {
			memset(p, 0, sizeof(*p));
			p->token_id = store_res_int64(r, 0, 0);
			p->user_id = store_res_int64(r, 0, 1);
			p->role = role_parse(store_res_text(r, 0, 2));
			p->org_id = store_res_isnull(r, 0, 3) ? 0 : store_res_int64(r, 0, 3);
			if (!store_res_isnull(r, 0, 4))
				snprintf(p->sectors, sizeof(p->sectors), "%s", store_res_text(r, 0, 4));
			auth_remember(t, h, p, store_res_isnull(r, 0, 5) ? 0 : store_res_int64(r, 0, 5),
				      gen);
			*out = p;
			rc = 0;
		}
	}
	store_res_free(r);
	return rc;
}

/* ---- organisations, users, tokens --------------------------------------- */


/* A name people will read, in lists and on terminals: 1 to max bytes, no
 * control character (ESC, CR, LF and the like would reach a terminal
 * through `yagura report list`), no DEL. */
static int name_ok(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int orgs_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	json_t *b = http_request_json(req);
	const char *name = json_string_value(json_object_get(b, "name"));
	const char *sector = json_string_value(json_object_get(b, "sector"));
	struct store_conn *c;
	struct store_res *r = NULL;
	int rc;

	if (need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE)
		return 0;
	http_response_error(resp, 422, "validation_failed", "the organisation is not valid");
	if (!name_ok(name, 200))
		http_response_error_field(resp, "name",
					  "is required (1 to 200 characters, no control characters)");
	if (sector == NULL || !sector_known(t, sector))
		http_response_error_field(resp, "sector", "must be one of the configured sectors");
	if (!name_ok(name, 200) || sector == NULL || !sector_known(t, sector))
		return 0;
	if (store_conn_get(t->st, &c) < 0)
		return store_fail(resp, NULL, YG_EIO);
	struct store_param ps[] = {store_text(name), store_text(sector), store_int64(now_us())};
	rc = store_exec(c, "INSERT INTO orgs (name, sector, created) VALUES (?, ?, ?) RETURNING id",
			ps, 3, &r, NULL);
	if (rc < 0) {
		store_fail(resp, c, rc);
	} else {
		http_response_json(resp, 201,
				   json_pack("{s:I,s:s,s:s}", "id", (json_int_t)store_res_int64(r, 0, 0),
					     "name", name, "sector", sector));
	}
	store_res_free(r);
	store_conn_put(c);
	return 0;
}

static int orgs_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	struct store_res *r = NULL;
	json_t *arr;

	if (need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE)
		return 0;
	if (query(t, resp, "SELECT id, name, sector FROM orgs ORDER BY id", NULL, 0, &r) < 0)
		return 0;
	arr = json_array();
	for (size_t i = 0; i < store_res_nrows(r); i++)
		json_array_append_new(arr, json_pack("{s:I,s:s,s:s}", "id",
						     (json_int_t)store_res_int64(r, i, 0), "name",
						     store_res_text(r, i, 1), "sector",
						     store_res_text(r, i, 2)));
	store_res_free(r);
	http_response_json(resp, 200, json_pack("{s:o}", "orgs", arr));
	return 0;
}

static int users_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	json_t *b = http_request_json(req), *sectors = json_object_get(b, "sectors"), *x;
	const char *name = json_string_value(json_object_get(b, "name"));
	const char *role = json_string_value(json_object_get(b, "role"));
	json_t *org = json_object_get(b, "org_id");
	int r_ = role ? role_parse(role) : -1, bad = 0;
	char sec[512] = "";
	struct store_conn *c;
	struct store_res *r = NULL;
	size_t i;
	int rc;

	if (need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE)
		return 0;
	http_response_error(resp, 422, "validation_failed", "the user is not valid");
	if (!name_ok(name, 200))
		bad |= http_response_error_field(
			       resp, "name",
			       "is required (1 to 200 characters, no control characters)") == 0;
	if (r_ < 0)
		bad |= http_response_error_field(resp, "role",
						 "must be operator, regulator, analyst, overseer, "
						 "auditor, sensor or admin") == 0;
	if (r_ == ROLE_OPERATOR && !json_is_integer(org))
		bad |= http_response_error_field(resp, "org_id", "is required for an operator") == 0;
	if (r_ == ROLE_REGULATOR) {
		if (!json_is_array(sectors) || json_array_size(sectors) == 0) {
			bad |= http_response_error_field(resp, "sectors",
							 "a regulator needs its sectors") == 0;
		} else {
			json_array_foreach(sectors, i, x) {
				const char *s = json_string_value(x);
				if (s == NULL || !sector_known(t, s)) {
					bad |= http_response_error_field(resp, "sectors",
									 "unknown sector") == 0;
					break;
				}
				size_t used = strlen(sec);
				if (used + strlen(s) + 2 < sizeof(sec))
					snprintf(sec + used, sizeof(sec) - used, "%s%s", used ? "," : "",
						 s);
			}
		}
	}
	if (bad)
		return 0;
	if (store_conn_get(t->st, &c) < 0)
		return store_fail(resp, NULL, YG_EIO);
	struct store_param ps[] = {json_is_integer(org) ? store_int64(json_integer_value(org))
							: store_null(),
				   store_text(name), store_text(role),
				   *sec ? store_text(sec) : store_null(), store_int64(now_us())};
	rc = store_exec(c,
			"INSERT INTO users (org_id, name, role, sectors, created) VALUES (?, ?, ?, ?, ?) "
			"RETURNING id",
			ps, 5, &r, NULL);
	if (rc == YG_EINVAL) {
		fail(resp, 422, "validation_failed", "no such organisation");
	} else if (rc < 0) {
		store_fail(resp, c, rc);
	} else {
		http_response_json(resp, 201,
				   json_pack("{s:I,s:s,s:s}", "id", (json_int_t)store_res_int64(r, 0, 0),
					     "name", name, "role", role));
	}
	store_res_free(r);
	store_conn_put(c);
	return 0;
}

/* Issues a token for user_id; writes the text into text. */
static int token_issue(struct store_conn *c, int64_t user_id, int64_t expires, char *text,
		       int64_t *id)
{
	uint8_t h[TOKEN_HASH_LEN];
	char hh[TOKEN_HASH_LEN * 2 + 1], prefix[TOKEN_SHOW_LEN + 1];
	struct store_res *r = NULL;
	int rc;

	if ((rc = token_new(text, h)) < 0)
		return rc;
	hex(h, sizeof(h), hh);
	memcpy(prefix, text, TOKEN_SHOW_LEN);
	prefix[TOKEN_SHOW_LEN] = '\0';
	struct store_param ps[] = {store_int64(user_id), store_text(hh), store_text(prefix),
				   store_int64(now_us()),
				   expires ? store_int64(expires) : store_null()};
	rc = store_exec(c,
			"INSERT INTO tokens (user_id, hash, prefix, created, expires) "
			"VALUES (?, ?, ?, ?, ?) RETURNING id",
			ps, 5, &r, NULL);
	if (rc == 0)
		*id = store_res_int64(r, 0, 0);
	store_res_free(r);
	return rc;
}

static int tokens_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	json_t *b = http_request_json(req), *uid = json_object_get(b, "user_id"),
	       *days = json_object_get(b, "expires_in_days");
	char text[TOKEN_TEXT_LEN + 1];
	struct store_conn *c;
	int64_t id, expires;
	int rc;

	if (need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE)
		return 0;
	if (!json_is_integer(uid) ||
	    (days != NULL && (!json_is_integer(days) || json_integer_value(days) < 1 ||
			      json_integer_value(days) > 3650))) {
		http_response_error(resp, 422, "validation_failed", "the token request is not valid");
		if (!json_is_integer(uid))
			http_response_error_field(resp, "user_id", "is required");
		else
			http_response_error_field(resp, "expires_in_days", "must be 1 to 3650");
		return 0;
	}
	expires = now_us() + (days ? json_integer_value(days) : 90) * 86400LL * 1000000;
	if (store_conn_get(t->st, &c) < 0)
		return store_fail(resp, NULL, YG_EIO);
	rc = token_issue(c, json_integer_value(uid), expires, text, &id);
	if (rc == YG_EINVAL)
		fail(resp, 422, "validation_failed", "no such user");
	else if (rc < 0)
		store_fail(resp, c, rc);
	else
		http_response_json(resp, 201,
				   json_pack("{s:I,s:s,s:o}", "id", (json_int_t)id, "token", text,
					     "expires", json_time(expires)));
	sodium_memzero(text, sizeof(text));
	store_conn_put(c);
	return 0;
}

static int tokens_revoke(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	struct store_conn *c;
	int64_t changed = 0;
	char *end;
	long long id = strtoll(http_request_param(req, "id"), &end, 10);

	if (need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE)
		return 0;
	if (*end != '\0')
		return fail(resp, 404, "not_found", "no such token");
	if (store_conn_get(t->st, &c) < 0)
		return store_fail(resp, NULL, YG_EIO);
	struct store_param ps[] = {store_int64(now_us()), store_int64(id)};
	if (store_exec(c, "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL", ps, 2,
		       NULL, &changed) < 0)
		store_fail(resp, c, YG_EIO);
	else if (changed == 0)
		fail(resp, 404, "not_found", "no such token, or revoked already");
	else
		http_response_status(resp, 204);
	auth_forget_all(t); /* after the UPDATE: see struct auth_cache */
	store_conn_put(c);
	return 0;
}

/* ---- reports ------------------------------------------------------------ */

/* The SQL condition limiting reports (alias r, orgs alias o) to a scope,
 * with its parameter appended to ps at *n. */
static const char *scope_sql(enum scope s, const struct principal *p, struct store_param *ps,
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

static void validation_errors(struct http_response *resp, const struct report_errors *errs)
{
	http_response_error(resp, 422, "validation_failed", "the report is not valid");
	for (unsigned i = 0; i < errs->n; i++)
		http_response_error_field(resp, errs->e[i].field, errs->e[i].reason);
}

/* Idempotency-Key: a retried POST gets the first answer back. Returns 1
 * when the answer was replayed (or refused), 0 to go on. */
static int idem_replay(struct store_conn *c, const struct principal *p, const char *key,
		       const char *hash, struct http_response *resp)
{
	struct store_res *r = NULL;
	int done = 0;
	struct store_param ps[] = {store_int64(p->user_id), store_text(key)};

	if (store_exec(c, "SELECT request_hash, status, response FROM idempotency "
			  "WHERE user_id = ? AND idem_key = ?",
		       ps, 2, &r, NULL) < 0)
		return 0;
	if (store_res_nrows(r) == 1) {
		done = 1;
		if (strcmp(store_res_text(r, 0, 0), hash) != 0) {
			fail(resp, 422, "idempotency_key_reused",
			     "this Idempotency-Key was used for a different request");
		} else {
			json_t *j = json_loads(store_res_text(r, 0, 2), 0, NULL);
			http_response_json(resp, (int)store_res_int64(r, 0, 1), j);
			http_response_header(resp, "Idempotent-Replayed", "true");
		}
	}
	store_res_free(r);
	return done;
}

static int idem_save(struct store_conn *c, const struct principal *p, const char *key,
		     const char *hash, int status, const json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	int rc;

	if (text == NULL)
		return YG_ENOMEM;
	struct store_param ps[] = {store_int64(p->user_id), store_text(key), store_text(hash),
				   store_int64(status), store_text(text), store_int64(now_us())};
	rc = store_exec(c,
			"INSERT INTO idempotency (user_id, idem_key, request_hash, status, response, "
			"created) VALUES (?, ?, ?, ?, ?, ?)",
			ps, 6, NULL, NULL);
	free(text);
	return rc;
}

static void request_hash(struct http_request *req, char *out)
{
	size_t len;
	const char *body = http_request_body(req, &len);
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)body, len,
			   (const unsigned char *)http_request_path(req),
			   strlen(http_request_path(req)) > 64 ? 64 : strlen(http_request_path(req)));
	hex(h, sizeof(h), out);
}

/* The writes of a new report, as one unit of group-committed work. */
struct report_new {
	const struct principal *p;
	const struct report_policy *pol;
	const char *category, *severity, *text, *key, *hash;
	const json_t *rep; /* the report as filed */
	int64_t detected, now;
	int64_t id;	   /* out */
	json_t *answer;	   /* out: the 201 body */
};

/* The report's indicators as rows of report_indicators, in place of the
 * previous version's (replace: a new version; a new report has none, and
 * saves the round trip): /sources finds the reports naming an address there. */
static int report_index(struct store_conn *c, int64_t id, const json_t *rep, int replace)
{
	static const char *const kinds[][2] = {{"addresses", "address"},
					       {"domains", "domain"},
					       {"urls", "url"},
					       {"file_hashes", "file_hash"}};
	const json_t *ind =
		json_object_get(json_object_get(rep, "technical_details"), "indicators");
	struct store_param pd[] = {store_int64(id)};
	int rc = replace ? store_exec(c, "DELETE FROM report_indicators WHERE report_id = ?", pd,
				      1, NULL, NULL)
			 : 0;

	for (size_t k = 0; rc == 0 && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const json_t *arr = json_object_get(ind, kinds[k][0]), *v;
		size_t i;

		json_array_foreach(arr, i, v) {
			struct store_param pi[] = {store_int64(id), store_text(kinds[k][1]),
						   store_text(json_string_value(v))};

			if (!json_is_string(v))
				continue;
			rc = store_exec(c,
					"INSERT INTO report_indicators (report_id, kind, value) "
					"VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
					pi, 3, NULL, NULL);
			if (rc < 0)
				break;
		}
	}
	return rc;
}

static int report_insert(struct store_conn *c, void *arg)
{
	struct report_new *w = arg;
	struct store_res *r = NULL;
	int rc;
	struct store_param ps[] = {
		store_int64(w->p->org_id),
		store_text(w->category),
		store_text(w->severity),
		store_int64(w->detected),
		store_int64(w->now),
		store_int64(w->now),
		store_int64(w->detected + w->pol->due_s[REPORT_PROMPT] * 1000000),
		store_int64(w->detected + w->pol->due_s[REPORT_DETAILED] * 1000000),
		store_int64(w->detected + w->pol->due_s[REPORT_FINAL] * 1000000),
		store_int64(w->now)};

	rc = store_exec(c,
			"INSERT INTO reports (org_id, version, stage, category, severity, detected_at, "
			"created, updated, due_prompt, due_detailed, due_final, prompt_at) "
			"VALUES (?, 1, 'prompt', ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
			ps, 10, &r, NULL);
	if (rc < 0)
		return rc;
	w->id = store_res_int64(r, 0, 0);
	store_res_free(r);
	struct store_param pv[] = {store_int64(w->id), store_text(w->text), store_int64(w->p->user_id),
				   store_int64(w->now)};
	rc = store_exec(c,
			"INSERT INTO report_versions (report_id, version, stage, body, author_id, "
			"created) VALUES (?, 1, 'prompt', ?, ?, ?)",
			pv, 4, NULL, NULL);
	if (rc == 0)
		rc = report_index(c, w->id, w->rep, 0);
	if (rc < 0)
		return rc;
	json_decref(w->answer);
	w->answer = json_pack("{s:I,s:I,s:s,s:o,s:o}", "id", (json_int_t)w->id, "version", 1,
			      "stage", "prompt", "detected_at", json_time(w->detected), "next_due",
			      json_time(w->detected + w->pol->due_s[REPORT_DETAILED] * 1000000));
	if (w->answer == NULL)
		return YG_ENOMEM;
	if (w->key != NULL)
		rc = idem_save(c, w->p, w->key, w->hash, 201, w->answer);
	return rc;
}

/* POST /api/v1/reports: the prompt report. Its writes are group-committed
 * with other requests' (one durable commit for many reports on SQLite). */
static int reports_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	json_t *b = http_request_json(req);
	struct report_errors errs;
	const char *key = http_request_header(req, "Idempotency-Key");
	char hash[65];
	struct store_conn *c;
	struct report_new w;
	int rc;

	if (need(req, resp, ACT_REPORT_CREATE, &p) == SCOPE_NONE)
		return 0;
	if (p->org_id == 0)
		return fail(resp, 403, "forbidden", "your user belongs to no organisation");
	if (key != NULL && (strlen(key) == 0 || strlen(key) > 200))
		return fail(resp, 400, "bad_idempotency_key", "Idempotency-Key must be 1 to 200 characters");
	if (report_validate(b, REPORT_PROMPT, &errs) < 0) {
		validation_errors(resp, &errs);
		return 0;
	}
	memset(&w, 0, sizeof(w));
	if (report_parse_time(json_string_value(json_object_get(b, "detected_at")), &w.detected) < 0)
		return fail(resp, 422, "validation_failed", "detected_at");
	if (key != NULL) {
		request_hash(req, hash);
		if (store_conn_get(t->st, &c) < 0)
			return store_fail(resp, NULL, YG_EIO);
		rc = idem_replay(c, p, key, hash, resp);
		store_conn_put(c);
		if (rc)
			return 0;
	}
	w.p = p;
	w.pol = &t->cfg.policy;
	w.category = json_string_value(json_object_get(b, "category"));
	w.severity = json_string_value(json_object_get(b, "severity"));
	w.key = key;
	w.hash = hash;
	w.now = now_us();
	w.text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	w.rep = b;
	if (w.text == NULL)
		return store_fail(resp, NULL, YG_ENOMEM);
	double t0 = store_enter(t, OP_REPORT_CREATE);
	rc = store_group_run(t->st, report_insert, &w);
	observe(t, OP_REPORT_CREATE, t0);
	free((char *)w.text);
	if (rc == YG_ECONFLICT && key != NULL) {
		/* The same key raced in from a retry: answer what it got. */
		json_decref(w.answer);
		if (store_conn_get(t->st, &c) == 0) {
			if (!idem_replay(c, p, key, hash, resp))
				store_fail(resp, c, YG_EIO);
			store_conn_put(c);
		}
		return 0;
	}
	if (rc < 0) {
		json_decref(w.answer);
		return store_fail(resp, NULL, rc == YG_ECONFLICT ? YG_EIO : rc);
	}
	char loc[64];
	snprintf(loc, sizeof(loc), "/api/v1/reports/%lld", (long long)w.id);
	http_response_header(resp, "Location", loc);
	http_response_json(resp, 201, w.answer);
	return 0;
}

/* One report's row as the API shows it. */
static json_t *report_row(const struct store_res *r, size_t i, int64_t now)
{
	const char *stage = store_res_text(r, i, 2);
	int64_t next = strcmp(stage, "prompt") == 0	  ? store_res_int64(r, i, 7)
		       : strcmp(stage, "detailed") == 0 ? store_res_int64(r, i, 8)
							  : 0;
	json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:o}", "id",
			      (json_int_t)store_res_int64(r, i, 0), "org_id",
			      (json_int_t)store_res_int64(r, i, 1), "stage", stage, "category",
			      store_res_text(r, i, 3), "severity", store_res_text(r, i, 4), "sector",
			      store_res_text(r, i, 10), "version", (json_int_t)store_res_int64(r, i, 9),
			      "detected_at", json_time(store_res_int64(r, i, 5)), "updated",
			      json_time(store_res_int64(r, i, 6)), "next_due", json_time(next));
	if (next != 0 && next < now) {
		json_object_set_new(o, "overdue", json_true());
		json_object_set_new(o, "overdue_by_seconds", json_integer((next - now) / -1000000));
	} else {
		json_object_set_new(o, "overdue", json_false());
	}
	return o;
}

#define REPORT_COLS                                                                                \
	"r.id, r.org_id, r.stage, r.category, r.severity, r.detected_at, r.updated, "              \
	"r.due_detailed, r.due_final, r.version, o.sector, o.name"

static int reports_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	enum scope s = need(req, resp, ACT_REPORT_READ, &p);
	const char *overdue = http_request_query(req, "overdue");
	const char *before_s = http_request_query(req, "before"), *limit_s = http_request_query(req, "limit");
	long long before = 0, limit = 100;
	struct store_param ps[6];
	size_t n = 0;
	char sql[1024], *end;
	struct store_res *r = NULL;
	int64_t now = now_us();
	json_t *arr;

	if (s == SCOPE_NONE)
		return 0;
	/* Newest first, a page at a time: ?limit=N (1..1000, default 100) and
	 * ?before=ID, the last id of the previous page. */
	if (limit_s != NULL) {
		limit = strtoll(limit_s, &end, 10);
		if (*limit_s == '\0' || *end != '\0' || limit < 1 || limit > 1000)
			return fail(resp, 400, "bad_query", "limit must be 1 to 1000");
	}
	if (before_s != NULL) {
		before = strtoll(before_s, &end, 10);
		if (*before_s == '\0' || *end != '\0' || before < 1)
			return fail(resp, 400, "bad_query", "before must be a report id");
	}
	/* A value the tower does not know is refused, not ignored: ignoring
	 * ?overdue=yes answered every report as if it were overdue. */
	if (overdue != NULL && strcmp(overdue, "true") != 0 && strcmp(overdue, "false") != 0)
		return fail(resp, 400, "bad_query", "overdue must be true or false");
	const char *cond = scope_sql(s, p, ps, &n);
	snprintf(sql, sizeof(sql),
		 "SELECT " REPORT_COLS " FROM reports r JOIN orgs o ON o.id = r.org_id "
		 "WHERE 1 = 1%s%s%s ORDER BY r.id DESC LIMIT %lld",
		 cond,
		 overdue && strcmp(overdue, "true") == 0
			 ? " AND ((r.stage = 'prompt' AND r.due_detailed < ?) OR "
			   "(r.stage = 'detailed' AND r.due_final < ?))"
			 : "",
		 before ? " AND r.id < ?" : "", limit);
	if (overdue && strcmp(overdue, "true") == 0) {
		ps[n++] = store_int64(now);
		ps[n++] = store_int64(now);
	}
	if (before)
		ps[n++] = store_int64(before);
	if (query(t, resp, sql, ps, n, &r) < 0)
		return 0;
	arr = json_array();
	for (size_t i = 0; i < store_res_nrows(r); i++) {
		json_t *o = report_row(r, i, now);
		json_object_set_new(o, "org", json_string(store_res_text(r, i, 11)));
		json_array_append_new(arr, o);
	}
	json_t *page = json_pack("{s:o}", "reports", arr);
	if ((long long)store_res_nrows(r) == limit)
		json_object_set_new(page, "next_before",
				    json_integer(store_res_int64(r, store_res_nrows(r) - 1, 0)));
	store_res_free(r);
	http_response_json(resp, 200, page);
	return 0;
}

/* Loads a report the caller may see; answers 404 otherwise. */
static int report_load(struct tower *t, struct store_conn *c, struct http_request *req,
		       struct http_response *resp, enum scope s, const struct principal *p,
		       struct store_res **out)
{
	struct store_param ps[3];
	size_t n = 0;
	char sql[512], *end;
	long long id = strtoll(http_request_param(req, "id"), &end, 10);

	(void)t;
	if (*end != '\0' || id <= 0) {
		fail(resp, 404, "not_found", "no such report");
		return -1;
	}
	ps[n++] = store_int64(id);
	snprintf(sql, sizeof(sql),
		 "SELECT " REPORT_COLS " FROM reports r JOIN orgs o ON o.id = r.org_id "
		 "WHERE r.id = ?%s",
		 scope_sql(s, p, ps, &n));
	if (store_exec(c, sql, ps, n, out, NULL) < 0) {
		store_fail(resp, c, YG_EIO);
		return -1;
	}
	if (store_res_nrows(*out) != 1) {
		store_res_free(*out);
		*out = NULL;
		fail(resp, 404, "not_found", "no such report");
		return -1;
	}
	return 0;
}

static int reports_show(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	enum scope s = need(req, resp, ACT_REPORT_READ, &p);
	struct store_conn *c;
	struct store_res *r = NULL, *v = NULL;
	json_t *o, *versions;

	if (s == SCOPE_NONE)
		return 0;
	if (store_conn_get(t->st, &c) < 0)
		return store_fail(resp, NULL, YG_EIO);
	if (report_load(t, c, req, resp, s, p, &r) < 0) {
		store_conn_put(c);
		return 0;
	}
	o = report_row(r, 0, now_us());
	json_object_set_new(o, "org", json_string(store_res_text(r, 0, 11)));
	struct store_param ps[] = {store_int64(store_res_int64(r, 0, 0))};
	if (store_exec(c,
		       "SELECT version, stage, body, author_id, created FROM report_versions "
		       "WHERE report_id = ? ORDER BY version",
		       ps, 1, &v, NULL) < 0) {
		json_decref(o);
		store_res_free(r);
		store_fail(resp, c, YG_EIO);
		store_conn_put(c);
		return 0;
	}
	versions = json_array();
	for (size_t i = 0; i < store_res_nrows(v); i++) {
		json_t *body = json_loads(store_res_text(v, i, 2), 0, NULL);
		json_array_append_new(
			versions,
			json_pack("{s:I,s:s,s:I,s:o,s:o}", "version", (json_int_t)store_res_int64(v, i, 0),
				  "stage", store_res_text(v, i, 1), "author_id",
				  (json_int_t)store_res_int64(v, i, 3), "created",
				  json_time(store_res_int64(v, i, 4)), "report",
				  body ? body : json_null()));
	}
	if (json_array_size(versions) > 0)
		json_object_set(o, "report",
				json_object_get(json_array_get(versions, json_array_size(versions) - 1),
						"report"));
	json_object_set_new(o, "versions", versions);
	store_res_free(v);
	store_res_free(r);
	store_conn_put(c);
	http_response_json(resp, 200, o);
	return 0;
}

/* POST /api/v1/reports/{id}/versions {"stage": "...", "report": {...}}:
 * a new version at the same or a later stage; "closed" closes a report
 * whose final version was filed. */
static int reports_version(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	enum scope s = need(req, resp, ACT_REPORT_UPDATE, &p);
	json_t *b = http_request_json(req), *rep = json_object_get(b, "report");
	const char *stage_s = json_string_value(json_object_get(b, "stage"));
	int stage = stage_s ? report_stage_parse(stage_s) : -1, closing, cur;
	struct report_errors errs;
	struct store_conn *c;
	struct store_res *r = NULL;
	int64_t now = now_us(), id, version;
	char *text = NULL;
	int rc;

	if (s == SCOPE_NONE)
		return 0;
	closing = stage_s != NULL && strcmp(stage_s, "closed") == 0;
	if (stage < 0 && !closing) {
		http_response_error(resp, 422, "validation_failed", "the version is not valid");
		http_response_error_field(resp, "stage", "must be prompt, detailed, final or closed");
		return 0;
	}
	if (!closing && report_validate(rep, stage, &errs) < 0) {
		validation_errors(resp, &errs);
		return 0;
	}
	if (store_conn_get(t->st, &c) < 0)
		return store_fail(resp, NULL, YG_EIO);
	if (store_begin(c) < 0) {
		store_conn_put(c);
		return store_fail(resp, c, YG_EIO);
	}
	if (report_load(t, c, req, resp, s, p, &r) < 0) {
		store_rollback(c);
		store_conn_put(c);
		return 0;
	}
	id = store_res_int64(r, 0, 0);
	version = store_res_int64(r, 0, 9) + 1;
	cur = strcmp(store_res_text(r, 0, 2), "closed") == 0 ? REPORT_STAGES
							    : report_stage_parse(store_res_text(r, 0, 2));
	store_res_free(r);
	if (cur == REPORT_STAGES) {
		store_rollback(c);
		store_conn_put(c);
		return fail(resp, 409, "closed", "the report is closed");
	}
	if (closing ? cur != REPORT_FINAL : stage < cur) {
		store_rollback(c);
		store_conn_put(c);
		return fail(resp, 409, "stage_order",
			    closing ? "a report is closed after its final version"
				    : "a report's stage cannot go back");
	}
	if (closing)
		version--; /* closing adds no version */
	else
		text = json_dumps(rep, JSON_COMPACT | JSON_SORT_KEYS);
	const char *st = closing ? "closed" : report_stage_name(stage);
	/* The time the stage was reached, when this version reaches one. */
	const char *stamp = closing ? "closed_at" : stage == REPORT_DETAILED ? "detailed_at"
					       : stage == REPORT_FINAL	     ? "final_at"
									     : NULL;
	char sql[256];
	struct store_param pu[5];
	size_t np = 0;
	pu[np++] = store_int64(version);
	pu[np++] = store_text(st);
	pu[np++] = store_int64(now);
	if (stamp != NULL)
		pu[np++] = store_int64(now);
	pu[np++] = store_int64(id);
	snprintf(sql, sizeof(sql),
		 "UPDATE reports SET version = ?, stage = ?, updated = ?%s%s%s WHERE id = ?",
		 stamp ? ", " : "", stamp ? stamp : "", stamp ? " = ?" : "");
	rc = store_exec(c, sql, pu, np, NULL, NULL);
	if (rc == 0 && !closing) {
		struct store_param pv[] = {store_int64(id), store_int64(version), store_text(st),
					   store_text(text), store_int64(p->user_id), store_int64(now)};
		rc = store_exec(c,
				"INSERT INTO report_versions (report_id, version, stage, body, author_id, "
				"created) VALUES (?, ?, ?, ?, ?, ?)",
				pv, 6, NULL, NULL);
		if (rc == 0)
			rc = report_index(c, id, rep, 1);
	}
	free(text);
	if (rc == 0)
		rc = store_commit(c);
	if (rc < 0) {
		store_rollback(c);
		store_fail(resp, c, rc);
	} else {
		http_response_json(resp, closing ? 200 : 201,
				   json_pack("{s:I,s:I,s:s}", "id", (json_int_t)id, "version",
					     (json_int_t)version, "stage", st));
	}
	store_conn_put(c);
	return 0;
}

/* ---- assets ----------------------------------------------------------- */

static int assets_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	json_t *b = http_request_json(req);
	const char *product = json_string_value(json_object_get(b, "product"));
	const char *fields[] = {"version", "role", "location"};
	const char *vals[3];
	struct store_conn *c;
	struct store_res *r = NULL;
	int rc, bad = 0;

	if (need(req, resp, ACT_ASSET_WRITE, &p) == SCOPE_NONE)
		return 0;
	if (p->org_id == 0)
		return fail(resp, 403, "forbidden", "your user belongs to no organisation");
	http_response_error(resp, 422, "validation_failed", "the asset is not valid");
	if (product == NULL || *product == '\0' || strlen(product) > 200)
		bad |= http_response_error_field(resp, "product", "is required (1 to 200 characters)") == 0;
	for (int i = 0; i < 3; i++) {
		json_t *v = json_object_get(b, fields[i]);
		vals[i] = json_string_value(v);
		if (v != NULL && (vals[i] == NULL || strlen(vals[i]) > 500))
			bad |= http_response_error_field(resp, fields[i], "must be a string of at most 500 characters") == 0;
	}
	if (bad)
		return 0;
	if (store_conn_get(t->st, &c) < 0)
		return store_fail(resp, NULL, YG_EIO);
	struct store_param ps[] = {store_int64(p->org_id), store_text(product), store_text(vals[0]),
				   store_text(vals[1]), store_text(vals[2]), store_int64(now_us())};
	rc = store_exec(c,
			"INSERT INTO assets (org_id, product, version, role, location, created) "
			"VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
			ps, 6, &r, NULL);
	if (rc < 0)
		store_fail(resp, c, rc);
	else
		http_response_json(resp, 201,
				   json_pack("{s:I,s:I,s:s}", "id", (json_int_t)store_res_int64(r, 0, 0),
					     "org_id", (json_int_t)p->org_id, "product", product));
	store_res_free(r);
	store_conn_put(c);
	return 0;
}

static int assets_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	enum scope s = need(req, resp, ACT_ASSET_READ, &p);
	struct store_param ps[2];
	size_t n = 0;
	char sql[512];
	struct store_res *r = NULL;
	json_t *arr;

	if (s == SCOPE_NONE)
		return 0;
	snprintf(sql, sizeof(sql),
		 "SELECT r.id, r.org_id, r.product, r.version, r.role, r.location FROM assets r "
		 "JOIN orgs o ON o.id = r.org_id WHERE 1 = 1%s ORDER BY r.id LIMIT 10000",
		 scope_sql(s, p, ps, &n));
	if (query(t, resp, sql, ps, n, &r) < 0)
		return 0;
	arr = json_array();
	for (size_t i = 0; i < store_res_nrows(r); i++) {
		json_t *o = json_pack("{s:I,s:I,s:s}", "id", (json_int_t)store_res_int64(r, i, 0),
				      "org_id", (json_int_t)store_res_int64(r, i, 1), "product",
				      store_res_text(r, i, 2));
		for (int k = 3; k <= 5; k++)
			if (!store_res_isnull(r, i, k))
				json_object_set_new(o, k == 3 ? "version" : k == 4 ? "role" : "location",
						    json_string(store_res_text(r, i, k)));
		json_array_append_new(arr, o);
	}
	store_res_free(r);
	http_response_json(resp, 200, json_pack("{s:o}", "assets", arr));
	return 0;
}

/* ---- sensor alerts ------------------------------------------------------- */

#define ALERT_BATCH_MAX 10000
#define ALERT_COLS 24 /* the insert's columns */

/* The indexed fields, the record as sent, then what the source ranking
 * takes from it (alert_rank_of(), schema v7). */
#define ALERT_COLUMNS                                                                     \
	"sensor_id, alert_id, received, ts, src_ip, src_port, dest_ip, dest_port, proto, " \
	"signature_id, signature, severity, body, attackers, attacker_role, detector, "    \
	"hosts, ports, sessions, packets, window_start, indicator, confidence, attacker_packets"

static struct store_param int_or_null(int64_t v)
{
	return v < 0 ? store_null() : store_int64(v);
}

/* A record without a usable alert_id is keyed by the BLAKE2b of its
 * canonical JSON (sorted keys, compact), which is also what is stored, so
 * that the same record sent twice, however formatted, is stored once. */
static int alert_canonical(const struct alert_rec *r, char **text, char id[65])
{
	json_t *j = json_loadb(r->text, r->len, 0, NULL);
	uint8_t h[32];

	*text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (*text == NULL)
		return YG_ENOMEM;
	crypto_generichash(h, sizeof(h), (const unsigned char *)*text, strlen(*text), NULL, 0);
	hex(h, sizeof(h), id);
	return 0;
}

/* POST /api/v1/alerts: {"alerts": [EVE alert records]} (or a bare array).
 * Each record is stored once per sensor, keyed by its "alert_id" or, when
 * it has none, by a hash of its canonical JSON: a retried batch adds
 * nothing. The whole batch is one transaction: all stored, or none. The
 * body is read once by alert_batch_parse(); records are stored as sent. */
static int alerts_post(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	struct alert_batch b;
	struct store_param *rows = NULL;
	char **canon = NULL, (*ids)[65] = NULL;
	const char *body;
	size_t n, i, len;
	int64_t changed = 0, now = now_us();
	int rc = 0;

	if (need(req, resp, ACT_ALERT_POST, &p) == SCOPE_NONE)
		return 0;
	body = http_request_body(req, &len);
	switch (alert_batch_parse(body, len, ALERT_BATCH_MAX, &b)) {
	case ALERT_BATCH_OK:
		break;
	case ALERT_BATCH_BAD_JSON:
		fail(resp, 400, "bad_json", b.msg);
		goto done;
	case ALERT_BATCH_BAD_SHAPE:
		fail(resp, 422, "validation_failed", b.msg);
		goto done;
	case ALERT_BATCH_BAD_RECORD:
		http_response_error(resp, 422, "validation_failed", "some alerts are not valid");
		for (i = 0; i < b.nerrs; i++)
			http_response_error_field(resp, b.errs[i].field, b.errs[i].reason);
		goto done;
	case ALERT_BATCH_NOMEM:
		rc = YG_ENOMEM;
		goto out;
	}
	n = b.n;
	rows = yg_malloc(n * ALERT_COLS * sizeof(*rows));
	canon = yg_calloc(n, sizeof(*canon));
	if (rows == NULL || canon == NULL) {
		rc = YG_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct alert_rec *r = &b.recs[i];
		struct store_param *row = rows + i * ALERT_COLS;
		struct alert_rank k;

		if (r->alert_id != NULL && r->alert_id_len > 0 && r->alert_id_len <= 64) {
			row[1] = store_textn(r->alert_id, r->alert_id_len);
			row[12] = store_textn(r->text, r->len);
		} else {
			if (ids == NULL && (ids = yg_calloc(n, sizeof(*ids))) == NULL) {
				rc = YG_ENOMEM;
				goto out;
			}
			if ((rc = alert_canonical(r, &canon[i], ids[i])) < 0)
				goto out;
			row[1] = store_text(ids[i]);
			row[12] = store_text(canon[i]);
		}
		row[0] = store_int64(p->user_id);
		row[2] = store_int64(now);
		row[3] = store_int64(alert_time_us(r->timestamp, now));
		row[4] = store_text(r->src_ip);
		row[5] = r->has & ALERT_HAS_SRC_PORT ? store_int64(r->src_port) : store_null();
		row[6] = store_text(r->dest_ip);
		row[7] = r->has & ALERT_HAS_DEST_PORT ? store_int64(r->dest_port) : store_null();
		row[8] = store_text(r->proto);
		row[9] = store_int64(r->signature_id);
		row[10] = store_text(r->signature);
		row[11] = r->has & ALERT_HAS_SEVERITY ? store_int64(r->severity) : store_null();
		alert_rank_of(r, &k);
		row[13] = store_text(k.attackers);
		row[14] = store_text(k.reflector ? "reflector" : NULL);
		row[15] = store_text(k.detector);
		row[16] = int_or_null(k.hosts);
		row[17] = int_or_null(k.ports);
		row[18] = int_or_null(k.sessions);
		row[19] = store_int64(k.packets); /* never NULL: NULL marks rows from before v7 */
		row[20] = int_or_null(k.window_start);
		row[21] = store_text(k.indicator);
		row[22] = int_or_null(k.confidence);
		row[23] = store_text(k.attacker_packets);
	}
	double t0 = store_enter(t, OP_ALERTS_INSERT);
	rc = store_insert_new(t->st, "alerts", ALERT_COLUMNS, ALERT_COLS, rows, n, &changed);
	observe(t, OP_ALERTS_INSERT, t0);
	if (rc == 0 && t->alerts_stored != NULL) {
		http_metric_add(t->alerts_stored, (uint64_t)changed);
		http_metric_add(t->alerts_duplicate, (uint64_t)(n - (size_t)changed));
	}
	if (rc < 0)
		log_warnx("tower: alerts: batch not stored: %s", yg_strerror(rc));
out:
	if (rc < 0) {
		fail(resp, 503, "store_unavailable", "the alerts were not stored; retry");
	} else {
		http_response_json(resp, 200,
				   json_pack("{s:I,s:I}", "accepted", (json_int_t)changed, "duplicates",
					     (json_int_t)(n - (size_t)changed)));
	}
	for (i = 0; canon != NULL && i < b.n; i++)
		free(canon[i]);
	free(canon);
	free(ids);
	free(rows);
done:
	alert_batch_free(&b);
	return 0;
}

/* GET /api/v1/sources: attacking addresses ranked across every sensor's
 * alerts and every report's indicators.
 *
 * An alert is credited to the addresses its evidence names as attackers
 * (evidence.attackers), or to its src_ip when it names none (older
 * sensors, other tools); a flood judged forged names nobody and credits no
 * one. Per address: its score by the ranking the sensor uses too
 * (src/rank/rank.h, docs/detect.md's ranking rule) and what the score
 * weighs (hosts, ports, sessions, packets, detectors by severity,
 * indicators), its role (a reflector when only ever named as one), alerts,
 * distinct victims, signatures, sensors, indicator matches (alerts of
 * yagura's intel signatures), the reports naming it, the organisations and
 * sectors that saw it (sensors bound to an organisation, reporting
 * operators), first and last seen, the highest severity; and the evidence:
 * the top signatures with counts and the ids of the reports. Ranking:
 * score, then reports, alerts, address. ?limit=N (1..1000, default 100).
 *
 * The alerts side comes from the rollup's summary (rollup.h), brought up to
 * date first, so the cost follows the number of sources, not of alerts. */
/* At most 5,000 alert sources are considered, the 5,000 best by score
 * (then alerts, address): SOURCE_CANDIDATES. The order is the index
 * source_stats_rank's (schema v7): change both together. */
#define SOURCE_ORDER " ORDER BY score_x10 DESC, alerts DESC, src_ip LIMIT 5000"
#define SOURCE_CANDIDATES "(SELECT src_ip FROM source_stats" SOURCE_ORDER ") c"
#define CATCH_UP_ROWS 100000 /* alerts folded in before answering, at most */
#define EVIDENCE_SIGS 5
#define EVIDENCE_REPORTS 20
#define SOURCE_RANKING                                                                          \
	"score, by the ranking rule of docs/detect.md (src/rank/rank.h) that yagura analyze "     \
	"--sources applies too: 10 per detector whose highest severity was 1, 5 per severity 2, " \
	"2 per severity 3, + 4 log2(1 + hosts) + 3 log2(1 + ports) + 3 log2(1 + sessions) + "     \
	"log2(1 + packets) + 2 log2(1 + minutes active) + matched indicators' confidence / 10, " \
	"halved for a reflector; then reports, alerts, address"

struct source {
	const char *ip;
	int64_t alerts, victims, signatures, sensors, intel, first, last, severity;
	int64_t hosts, ports, sessions, packets, score_x10;
	int reflector;
	json_t *sectors, *orgs, *reports, *sigs; /* sets kept as arrays */
	json_t *detectors, *indicators;          /* objects, as the summary keeps them */
};

struct sources {
	struct source *v;
	size_t n, cap;
	json_t *index; /* ip -> position in v */
	struct store_res *keep[4];
};

static struct source *source_get(struct sources *ss, const char *ip, int create)
{
	json_t *at = json_object_get(ss->index, ip);

	if (at != NULL)
		return &ss->v[json_integer_value(at)];
	if (!create)
		return NULL;
	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 256;
		struct source *nv = yg_realloc(ss->v, cap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		ss->v = nv;
		ss->cap = cap;
	}
	struct source *s = &ss->v[ss->n];
	memset(s, 0, sizeof(*s));
	s->ip = ip;
	s->severity = INT64_MAX;
	s->sectors = json_array();
	s->orgs = json_array();
	s->reports = json_array();
	s->sigs = json_array();
	s->detectors = json_object();
	s->indicators = json_object();
	if (json_object_set_new(ss->index, ip, json_integer((json_int_t)ss->n)) < 0)
		return NULL;
	return &ss->v[ss->n++];
}

/* Adds v to a set kept as a JSON array (sets here hold a handful). */
static void set_add(json_t *set, json_t *v)
{
	size_t i;
	json_t *x;

	json_array_foreach(set, i, x) {
		if (json_equal(x, v)) {
			json_decref(v);
			return;
		}
	}
	json_array_append_new(set, v);
}

static int source_cmp(const void *a, const void *b)
{
	const struct source *x = a, *y = b;
	int64_t d;

	if (x->score_x10 != y->score_x10)
		return x->score_x10 > y->score_x10 ? -1 : 1;
	if ((d = (int64_t)json_array_size(y->reports) - (int64_t)json_array_size(x->reports)))
		return d < 0 ? -1 : 1;
	if (x->alerts != y->alerts)
		return x->alerts > y->alerts ? -1 : 1;
	return strcmp(x->ip, y->ip);
}

static void sources_free(struct sources *ss)
{
	for (size_t i = 0; i < ss->n; i++) {
		json_decref(ss->v[i].sectors);
		json_decref(ss->v[i].orgs);
		json_decref(ss->v[i].reports);
		json_decref(ss->v[i].sigs);
		json_decref(ss->v[i].detectors);
		json_decref(ss->v[i].indicators);
	}
	free(ss->v);
	json_decref(ss->index);
	for (size_t i = 0; i < 4; i++)
		store_res_free(ss->keep[i]);
}

/* A summary's name -> number set (detectors, indicators; NULL: none) as a
 * new JSON object; an empty one when there is none or it does not read. */
static json_t *named_object(const char *text)
{
	json_t *o = text != NULL ? json_loads(text, 0, NULL) : NULL;

	if (json_is_object(o))
		return o;
	json_decref(o);
	return json_object();
}

static int sources_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	const char *limit_s = http_request_query(req, "limit");
	struct sources ss = {.index = json_object()};
	struct store_res *r;
	int64_t pending = 0;
	long long limit = 100;
	json_t *arr;
	size_t i;

	if (need(req, resp, ACT_SOURCES_READ, &p) == SCOPE_NONE)
		goto out;
	if (limit_s != NULL) {
		char *end;

		limit = strtoll(limit_s, &end, 10);
		if (*limit_s == '\0' || *end != '\0' || limit < 1 || limit > 1000) {
			fail(resp, 400, "bad_query", "limit must be 1 to 1000");
			goto out;
		}
	}
	/* The alerts, by source: fold in what has come since the last pass. */
	if (t->rollup != NULL && rollup_catch_up(t->rollup, CATCH_UP_ROWS, &pending) < 0)
		pending = -1;
	if (query(t, resp,
		  "SELECT src_ip, alerts, victims, intel, first_ts, last_ts, severity, hosts, ports, "
		  "sessions, packets, named_attacker, detectors, indicators, score_x10 "
		  "FROM source_stats" SOURCE_ORDER,
		  NULL, 0, &ss.keep[0]) < 0)
		goto out;
	r = ss.keep[0];
	for (i = 0; i < store_res_nrows(r); i++) {
		struct source *s = source_get(&ss, store_res_text(r, i, 0), 1);

		if (s == NULL)
			goto nomem;
		s->alerts = store_res_int64(r, i, 1);
		s->victims = store_res_int64(r, i, 2);
		s->intel = store_res_int64(r, i, 3);
		s->first = store_res_int64(r, i, 4);
		s->last = store_res_int64(r, i, 5);
		if (!store_res_isnull(r, i, 6))
			s->severity = store_res_int64(r, i, 6);
		s->hosts = store_res_int64(r, i, 7);
		if (s->victims > s->hosts) /* as the score took it */
			s->hosts = s->victims;
		s->ports = store_res_int64(r, i, 8);
		s->sessions = store_res_int64(r, i, 9);
		s->packets = store_res_int64(r, i, 10);
		s->reflector = store_res_int64(r, i, 11) == 0;
		json_decref(s->detectors);
		json_decref(s->indicators);
		s->detectors = named_object(store_res_text(r, i, 12));
		s->indicators = named_object(store_res_text(r, i, 13));
		s->score_x10 = store_res_int64(r, i, 14);
	}
	/* The sensors that saw each; where a sensor belongs to an organisation,
	 * its sector saw the source. */
	if (query(t, resp,
		  "SELECT s.src_ip, s.sensor_id, o.id, o.sector FROM source_sensors s "
		  "JOIN " SOURCE_CANDIDATES " ON c.src_ip = s.src_ip "
		  "LEFT JOIN users u ON u.id = s.sensor_id LEFT JOIN orgs o ON o.id = u.org_id",
		  NULL, 0, &ss.keep[1]) < 0)
		goto out;
	r = ss.keep[1];
	for (i = 0; i < store_res_nrows(r); i++) {
		struct source *s = source_get(&ss, store_res_text(r, i, 0), 0);

		if (s == NULL)
			continue;
		s->sensors++;
		if (store_res_isnull(r, i, 2))
			continue;
		set_add(s->orgs, json_integer(store_res_int64(r, i, 2)));
		set_add(s->sectors, json_string(store_res_text(r, i, 3)));
	}
	/* Reports naming the address. */
	if (query(t, resp,
		  "SELECT ri.value, r.id, r.org_id, o.sector, r.detected_at FROM report_indicators ri "
		  "JOIN reports r ON r.id = ri.report_id JOIN orgs o ON o.id = r.org_id "
		  "WHERE ri.kind = 'address' ORDER BY r.id",
		  NULL, 0, &ss.keep[2]) < 0)
		goto out;
	r = ss.keep[2];
	for (i = 0; i < store_res_nrows(r); i++) {
		struct source *s = source_get(&ss, store_res_text(r, i, 0), 1);
		int64_t at = store_res_int64(r, i, 4);

		if (s == NULL)
			goto nomem;
		set_add(s->reports, json_integer(store_res_int64(r, i, 1)));
		set_add(s->orgs, json_integer(store_res_int64(r, i, 2)));
		set_add(s->sectors, json_string(store_res_text(r, i, 3)));
		if (s->first == 0 || at < s->first)
			s->first = at;
		if (at > s->last)
			s->last = at;
	}
	/* The signatures behind each, most alerts first. */
	if (query(t, resp,
		  "SELECT g.src_ip, g.signature_id, g.signature, g.alerts FROM source_signatures g "
		  "JOIN " SOURCE_CANDIDATES " ON c.src_ip = g.src_ip "
		  "ORDER BY g.alerts DESC, g.signature_id",
		  NULL, 0, &ss.keep[3]) < 0)
		goto out;
	r = ss.keep[3];
	for (i = 0; i < store_res_nrows(r); i++) {
		struct source *s = source_get(&ss, store_res_text(r, i, 0), 0);

		if (s == NULL || s->signatures++ >= EVIDENCE_SIGS)
			continue;
		json_array_append_new(s->sigs,
				      json_pack("{s:I,s:s?,s:I}", "signature_id",
						(json_int_t)store_res_int64(r, i, 1), "signature",
						store_res_isnull(r, i, 2) ? NULL : store_res_text(r, i, 2),
						"alerts", (json_int_t)store_res_int64(r, i, 3)));
	}
	qsort(ss.v, ss.n, sizeof(*ss.v), source_cmp);
	arr = json_array();
	for (i = 0; i < ss.n && i < (size_t)limit; i++) {
		struct source *s = &ss.v[i];
		json_t *rep = json_array();

		for (size_t k = 0; k < json_array_size(s->reports) && k < EVIDENCE_REPORTS; k++)
			json_array_append(rep, json_array_get(s->reports, k));
		json_t *o = json_pack(
			"{s:I,s:s,s:f,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:O,s:O,s:I,s:I,s:O,s:I,"
			"s:o,s:o,s:o,s:{s:O,s:o}}",
			"rank", (json_int_t)i + 1, "ip", s->ip, "score", (double)s->score_x10 / 10.0,
			"role", s->reflector ? "reflector" : "attacker", "alerts", (json_int_t)s->alerts,
			"victims", (json_int_t)s->victims, "hosts", (json_int_t)s->hosts, "ports",
			(json_int_t)s->ports, "sessions", (json_int_t)s->sessions, "packets",
			(json_int_t)s->packets, "signatures", (json_int_t)s->signatures, "sensors",
			(json_int_t)s->sensors, "detectors", s->detectors, "indicators", s->indicators,
			"indicator_matches", (json_int_t)s->intel, "reports",
			(json_int_t)json_array_size(s->reports), "sectors", s->sectors, "organisations",
			(json_int_t)json_array_size(s->orgs), "first_seen", json_time(s->first),
			"last_seen", json_time(s->last), "severity",
			s->severity == INT64_MAX ? json_null() : json_integer((json_int_t)s->severity),
			"evidence", "signatures", s->sigs, "reports", rep);

		if (o == NULL || json_array_append_new(arr, o) < 0)
			goto nomem_arr;
	}
	http_response_json(resp, 200,
			   json_pack("{s:s,s:o,s:o}", "ranking", SOURCE_RANKING, "pending_alerts",
				     pending < 0 ? json_null() : json_integer((json_int_t)pending),
				     "sources", arr));
	goto out;
nomem_arr:
	json_decref(arr);
nomem:
	store_fail(resp, NULL, YG_ENOMEM);
out:
	sources_free(&ss);
	return 0;
}

/* ---- the API's own description ------------------------------------------ */

extern const unsigned char tower_openapi_json[];
extern const unsigned long tower_openapi_json_len;

static int openapi(struct http_request *req, struct http_response *resp, void *ctx)
{
	(void)req;
	(void)ctx;
	if (http_response_body(resp, 200, "application/json", (const char *)tower_openapi_json,
			       tower_openapi_json_len) < 0)
		return -1;
	return 0;
}

/* ---- life ------------------------------------------------------------ */

struct route {
	enum http_method m;
	const char *pattern;
	unsigned flags;
	http_handler_fn fn;
};

#define AJ (HTTP_ROUTE_AUTH | HTTP_ROUTE_JSON)
static const struct route routes[] = {
	{HTTP_POST, "/api/v1/orgs", AJ, orgs_create},
	{HTTP_GET, "/api/v1/orgs", HTTP_ROUTE_AUTH, orgs_list},
	{HTTP_POST, "/api/v1/users", AJ, users_create},
	{HTTP_POST, "/api/v1/tokens", AJ, tokens_create},
	{HTTP_DELETE, "/api/v1/tokens/{id}", HTTP_ROUTE_AUTH, tokens_revoke},
	{HTTP_POST, "/api/v1/reports", AJ, reports_create},
	{HTTP_GET, "/api/v1/reports", HTTP_ROUTE_AUTH, reports_list},
	{HTTP_GET, "/api/v1/reports/{id}", HTTP_ROUTE_AUTH, reports_show},
	{HTTP_POST, "/api/v1/reports/{id}/versions", AJ, reports_version},
	{HTTP_POST, "/api/v1/assets", AJ, assets_create},
	{HTTP_GET, "/api/v1/assets", HTTP_ROUTE_AUTH, assets_list},
	{HTTP_POST, "/api/v1/alerts", HTTP_ROUTE_AUTH | HTTP_ROUTE_JSON_RAW, alerts_post},
	{HTTP_GET, "/api/v1/sources", HTTP_ROUTE_AUTH, sources_list},
	{HTTP_GET, "/api/v1/openapi.json", HTTP_ROUTE_INLINE, openapi},
};

/* The source summary's progress, for /metrics. */
static void rollup_report(void *arg, int64_t pending)
{
	struct tower *t = arg;

	if (pending >= 0 && t->sources_pending != NULL)
		http_metric_set(t->sources_pending, (double)pending);
	else if (pending < 0 && t->sources_failures != NULL)
		http_metric_add(t->sources_failures, 1);
}

int tower_start(const struct tower_config *cfg, struct tower **out, char *err, size_t errlen)
{
	struct tower *t = yg_calloc(1, sizeof(*t));
	struct http_config hc;
	int rc;

	*out = NULL;
	if (t == NULL || sodium_init() < 0) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	t->cfg = *cfg;
	t->auth = yg_calloc(1, sizeof(*t->auth));
	if (t->auth == NULL) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	pthread_mutex_init(&t->auth->mu, NULL);
	if ((rc = store_open(cfg->store, &t->st, err, errlen)) < 0)
		goto fail;
	memset(&hc, 0, sizeof(hc));
	hc.listen = cfg->listen;
	/* On SQLite a group commit gathers the requests waiting for it: few
	 * event threads read requests, and the handlers get threads of their
	 * own, so that one waiting holds no other connection up. On PostgreSQL
	 * every request commits alone on a pooled connection, and handlers on
	 * the event threads measured 20% faster there (bench/tower-run, PG
	 * reports 4,700/s against 3,800/s, three runs each). */
	if (store_backend_of(t->st) == STORE_BACKEND_SQLITE) {
		hc.threads = 4;
		hc.handler_threads = cfg->threads;
	} else {
		hc.threads = cfg->threads;
	}
	hc.max_body = cfg->max_body;
	hc.rate = cfg->rate;
	hc.burst = cfg->burst;
	hc.auth = tower_auth;
	hc.auth_ctx = t;
	if ((rc = http_server_new(&hc, &t->srv)) < 0) {
		snprintf(err, errlen, "cannot set up the HTTP server: %s", yg_strerror(rc));
		goto fail;
	}
	{
		static const double b[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
		struct http_metrics *m = http_server_metrics(t->srv);
		for (int i = 0; i < OP_COUNT; i++) {
			t->store_seconds[i] = http_metrics_histogram(
				m, "yagura_store_seconds", op_labels[i],
				"time spent in the store per operation, commit included", b,
				sizeof(b) / sizeof(b[0]));
			t->store_pending[i] = http_metrics_gauge(
				m, "yagura_store_pending", op_labels[i],
				"requests in the store now: queued for a group commit or a "
				"connection, or being written");
		}
		t->alerts_stored = http_metrics_counter(m, "yagura_alerts_stored_total", NULL,
							"sensor alerts stored");
		t->alerts_duplicate = http_metrics_counter(m, "yagura_alerts_duplicate_total", NULL,
							   "sensor alerts received again and ignored");
		t->sources_pending = http_metrics_gauge(
			m, "yagura_sources_pending_alerts", NULL,
			"alert ids not yet folded into the attack-source summary");
		t->sources_failures = http_metrics_counter(
			m, "yagura_sources_rollup_failures_total", NULL,
			"attack-source summary catch-ups that failed (see the log)");
	}
	if ((rc = rollup_start(t->st, 0, rollup_report, t, &t->rollup)) < 0) {
		snprintf(err, errlen, "cannot start the source summary: %s", yg_strerror(rc));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if ((rc = http_server_route(t->srv, routes[i].m, routes[i].pattern, routes[i].flags,
					    routes[i].fn, t)) < 0) {
			snprintf(err, errlen, "route %s: %s", routes[i].pattern, yg_strerror(rc));
			goto fail;
		}
	}
	if ((rc = http_server_start(t->srv)) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen, yg_strerror(rc));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	rollup_stop(t->rollup); /* before the metrics it reports to go */
	http_server_free(t->srv);
	store_close(t->st);
	pthread_mutex_destroy(&t->auth->mu);
	free(t->auth);
	free(t);
	return rc;
}

unsigned tower_port(const struct tower *t)
{
	return http_server_port(t->srv);
}

void tower_stop(struct tower *t)
{
	if (t == NULL)
		return;
	http_server_stop(t->srv);
	rollup_stop(t->rollup); /* before the metrics it reports to go */
	http_server_free(t->srv);
	store_close(t->st);
	pthread_mutex_destroy(&t->auth->mu);
	free(t->auth);
	free(t);
}

int tower_admin_init(const char *url, const char *name, char *token, char *err, size_t errlen)
{
	struct store *st;
	struct store_conn *c;
	struct store_res *r = NULL;
	int64_t uid, tid;
	int rc;

	if (sodium_init() < 0)
		return YG_EIO;
	if ((rc = store_open(url, &st, err, errlen)) < 0)
		return rc;
	if ((rc = store_conn_get(st, &c)) < 0)
		goto out_store;
	if ((rc = store_begin(c)) < 0)
		goto out_conn;
	rc = store_exec(c, "SELECT COUNT(*) FROM users WHERE role = 'admin'", NULL, 0, &r, NULL);
	if (rc == 0 && store_res_int64(r, 0, 0) > 0) {
		snprintf(err, errlen, "an admin exists already; ask it for a token");
		rc = YG_ECONFLICT;
	}
	store_res_free(r);
	r = NULL;
	if (rc == 0) {
		struct store_param ps[] = {store_text(name), store_int64(now_us())};
		rc = store_exec(c,
				"INSERT INTO users (name, role, created) VALUES (?, 'admin', ?) "
				"RETURNING id",
				ps, 2, &r, NULL);
	}
	if (rc == 0) {
		uid = store_res_int64(r, 0, 0);
		rc = token_issue(c, uid, 0, token, &tid);
	}
	if (rc == 0)
		rc = store_commit(c);
	if (rc < 0) {
		if (rc != YG_ECONFLICT)
			snprintf(err, errlen, "%s", store_conn_errmsg(c));
		store_rollback(c);
	}
	store_res_free(r);
out_conn:
	store_conn_put(c);
out_store:
	store_close(st);
	return rc;
}
