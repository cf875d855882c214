/* session.c - who is calling: a bearer token, or a sensor's client
 * certificate, resolved to a principal, with a small cache in front of the
 * store. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/alloc.h"
#include "tower/tower_int.h"

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

static bool auth_cached(struct tower *t, const uint8_t h[TOKEN_HASH_LEN], struct principal *out,
			uint64_t *gen)
{
	struct auth_cache *ac = t->auth;
	struct auth_entry *e;
	int64_t now = tw_now_us();
	bool hit = false;

	if (ac == NULL)
		return false;
	e = &ac->e[(h[0] | (unsigned)h[1] << 8) % AUTH_CACHE_SLOTS];
	pthread_mutex_lock(&ac->mu);
	*gen = ac->gen;
	/* In constant time, as every comparison of a credential: the hash's
	 * prefix a timing could reveal is worth nothing without a preimage,
	 * but then nobody has to argue that. */
	if (e->used && sodium_memcmp(e->hash, h, TOKEN_HASH_LEN) == 0 &&
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
		e->cached_us = tw_now_us();
		e->expires_us = expires;
		e->p = *p;
		e->used = true;
	}
	pthread_mutex_unlock(&ac->mu);
}

/* After a revocation: nothing cached survives it. */
void tw_auth_forget_all(struct tower *t)
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


/* One lookup of who is calling, timed as OP_AUTH for /metrics. */
static int auth_query(struct tower *t, const char *sql, const struct store_param *ps, size_t n,
		      struct store_res **r)
{
	struct store_conn *c;
	double t0 = tw_store_enter(t, OP_AUTH);
	int rc = store_conn_get(t->st, &c);

	if (rc == 0) {
		rc = store_exec(c, sql, ps, n, r, NULL);
		store_conn_put(c);
	} else {
		rc = YG_EIO;
	}
	tw_store_leave(t, OP_AUTH, t0);
	return rc;
}

/* A client certificate the HTTP layer verified against [tls] client_ca:
 * the enabled sensor bound to its fingerprint (orgs.c), or YG_ENOTFOUND.
 * Its principal has no token (token_id 0, as the log's "by" line shows).
 * Cached like a token, under a hash of the fingerprint. */
static int auth_cert(struct tower *t, struct http_request *req, const char *fp, void **out)
{
	static const char label[] = "yagura client certificate ";
	uint8_t h[TOKEN_HASH_LEN];
	crypto_generichash_state st;
	struct store_res *r = NULL;
	struct principal *p, seen;
	uint64_t gen = 0;
	int rc;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label) - 1);
	crypto_generichash_update(&st, (const unsigned char *)fp, strlen(fp));
	crypto_generichash_final(&st, h, sizeof(h));
	p = http_arena_alloc(http_request_arena(req), sizeof(*p));
	if (p == NULL)
		return YG_ENOMEM;
	if (auth_cached(t, h, &seen, &gen)) {
		*p = seen;
		*out = p;
		return 0;
	}
	struct store_param ps[] = {store_text(fp)};
	rc = auth_query(t,
			"SELECT u.id AS user_id, u.role, u.org_id, u.disabled "
			"FROM user_certificates k JOIN users u ON u.id = k.user_id "
			"WHERE k.fingerprint = ?",
			ps, 1, &r);
	if (rc < 0)
		return rc;
	rc = YG_ENOTFOUND;
	/* Only a sensor: the binding route refuses others, and a row put in
	 * the store behind its back does not make a person's certificate a
	 * credential either. */
	if (store_res_nrows(r) == 1 && store_res_isnull(r, 0, tw_col(r, "disabled")) &&
	    role_parse(store_res_text(r, 0, tw_col(r, "role"))) == ROLE_SENSOR) {
		memset(p, 0, sizeof(*p));
		p->user_id = store_res_int64(r, 0, tw_col(r, "user_id"));
		p->role = ROLE_SENSOR;
		p->org_id = store_res_int64(r, 0, tw_col(r, "org_id")); /* NULL reads 0 */
		auth_remember(t, h, p, 0, gen);
		*out = p;
		rc = 0;
	}
	store_res_free(r);
	return rc;
}

int tw_auth(void *ctx, struct http_request *req, const struct http_credential *cred, void **out)
{
	struct tower *t = ctx;
	const char *token = cred->value;
	uint8_t h[TOKEN_HASH_LEN];
	char hh[TOKEN_HASH_LEN * 2 + 1];
	struct store_res *r = NULL;
	struct principal *p, seen;
	uint64_t gen = 0;
	int rc;

	if (cred->kind == HTTP_CRED_CERT)
		return auth_cert(t, req, cred->value, out);
	/* A cookie carries a browser's session, never an API token. */
	if ((cred->kind != HTTP_CRED_BEARER && cred->kind != HTTP_CRED_COOKIE) ||
	    (cred->kind == HTTP_CRED_COOKIE && strncmp(token, SESSION_PREFIX, 4) != 0) ||
	    token_hash(token, strlen(token), h) < 0)
		return YG_EINVAL;
	if (auth_cached(t, h, &seen, &gen)) {
		p = http_arena_alloc(http_request_arena(req), sizeof(*p));
		if (p == NULL)
			return YG_ENOMEM;
		*p = seen;
		*out = p;
		return 0;
	}
	tw_hex(h, sizeof(h), hh);
	struct store_param ps[] = {store_text(hh)};
	bool session = strncmp(token, SESSION_PREFIX, 4) == 0;
	rc = auth_query(t,
			/* A session opened before its user's password last changed
			 * has ended with the change. */
			session ? "SELECT 0 AS token_id, t.id AS session_id, u.id AS user_id, u.role, "
				  "u.org_id, u.sectors, t.expires, CASE WHEN t.ended IS NOT NULL "
				  "THEN t.ended WHEN pw.changed > t.created THEN pw.changed END AS "
				  "revoked, u.disabled FROM sessions t JOIN users u ON u.id = "
				  "t.user_id LEFT JOIN user_passwords pw ON pw.user_id = u.id "
				  "WHERE t.hash = ?"
				: "SELECT t.id AS token_id, 0 AS session_id, u.id AS user_id, u.role, "
				  "u.org_id, u.sectors, t.expires, t.revoked, u.disabled "
				  "FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?",
			ps, 1, &r);
	if (rc < 0)
		return rc;
	rc = YG_ENOTFOUND;
	if (store_res_nrows(r) == 1) {
		size_t expires = tw_col(r, "expires"), sectors = tw_col(r, "sectors");
		int64_t until = store_res_isnull(r, 0, expires) ? 0 : store_res_int64(r, 0, expires);

		if (!store_res_isnull(r, 0, tw_col(r, "revoked")) ||
		    !store_res_isnull(r, 0, tw_col(r, "disabled")) ||
		    (until != 0 && until <= tw_now_us()))
			goto out;
		p = http_arena_alloc(http_request_arena(req), sizeof(*p));
		if (p == NULL) {
			rc = YG_ENOMEM;
			goto out;
		}
		memset(p, 0, sizeof(*p));
		p->token_id = store_res_int64(r, 0, tw_col(r, "token_id"));
		p->session_id = store_res_int64(r, 0, tw_col(r, "session_id"));
		p->user_id = store_res_int64(r, 0, tw_col(r, "user_id"));
		p->role = role_parse(store_res_text(r, 0, tw_col(r, "role")));
		p->org_id = store_res_int64(r, 0, tw_col(r, "org_id")); /* NULL reads 0 */
		if (!store_res_isnull(r, 0, sectors))
			snprintf(p->sectors, sizeof(p->sectors), "%s", store_res_text(r, 0, sectors));
		auth_remember(t, h, p, until, gen);
		*out = p;
		rc = 0;
	}
out:
	store_res_free(r);
	return rc;
}

/* A session's CSRF token: a keyed hash of its cookie, so that nothing
 * more is stored and only a page that was given it (or can read the
 * cookie, which HttpOnly keeps from scripts) can show it. */
int tw_csrf_token(const char *session, char out[TOKEN_HASH_LEN * 2 + 1])
{
	static const unsigned char key[] = "yagura csrf token of a session, v1";
	uint8_t h[TOKEN_HASH_LEN];

	if (sodium_init() < 0)
		return YG_EIO;
	crypto_generichash(h, sizeof(h), (const unsigned char *)session, strlen(session), key,
			   sizeof(key) - 1);
	tw_hex(h, sizeof(h), out);
	return 0;
}

bool tw_csrf_ok(void *ctx, const char *session, const char *csrf)
{
	char want[TOKEN_HASH_LEN * 2 + 1];

	(void)ctx;
	return tw_csrf_token(session, want) == 0 && strlen(csrf) == sizeof(want) - 1 &&
	       sodium_memcmp(want, csrf, sizeof(want) - 1) == 0;
}

int tw_auth_cache_new(struct tower *t)
{
	t->auth = yg_calloc(1, sizeof(*t->auth));
	if (t->auth == NULL)
		return YG_ENOMEM;
	pthread_mutex_init(&t->auth->mu, NULL);
	return 0;
}

void tw_auth_cache_free(struct tower *t)
{
	if (t->auth == NULL)
		return;
	pthread_mutex_destroy(&t->auth->mu);
	free(t->auth);
	t->auth = NULL;
}
