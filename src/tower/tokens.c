/* tokens.c - API tokens: issued and revoked by an admin through the API,
 * and, for whoever holds the store, the first admin (admin init) and a way
 * back in when every admin token is lost (admin recover).
 *
 * The last admin token that works cannot be revoked through the API: an
 * office that locked itself out could only recover on the server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tower/tower_int.h"

#define TOKEN_DAYS_DEFAULT 90
#define TOKEN_DAYS_MAX 3650

/* Issues a token: its text into text (TOKEN_TEXT_LEN + 1), its row kept
 * for the change's entry. Only a hash of the text is stored. */
static int token_issue(struct svc_tx *x, struct store_conn *c, int64_t user_id, int64_t expires,
		       char *text, int64_t *id)
{
	uint8_t h[TOKEN_HASH_LEN];
	char hh[TOKEN_HASH_LEN * 2 + 1], prefix[TOKEN_SHOW_LEN + 1];
	int rc;

	if ((rc = token_new(text, h)) < 0)
		return rc;
	tw_hex(h, sizeof(h), hh);
	memcpy(prefix, text, TOKEN_SHOW_LEN);
	prefix[TOKEN_SHOW_LEN] = '\0';
	struct store_param ps[] = {store_int64(user_id), store_text(hh), store_text(prefix),
				   store_int64(x->now),
				   expires ? store_int64(expires) : store_null()};
	return svc_write(x, c, REC_TOKENS,
			 "INSERT INTO tokens (user_id, hash, prefix, created, expires) "
			 "VALUES (?, ?, ?, ?, ?)",
			 ps, 5, id);
}

struct token_new {
	int64_t user_id, expires;
	char text[TOKEN_TEXT_LEN + 1]; /* out */
};

static int token_create(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct token_new *in = arg;
	int64_t id;
	int rc = token_issue(x, c, in->user_id, in->expires, in->text, &id);

	if (rc == YG_EINVAL) /* the foreign key */
		return svc_refuse(x->res, SVC_INVALID, "validation_failed", "no such user");
	if (rc == 0)
		rc = svc_changed(x, c, CHANGE_TOKEN_ISSUE, id);
	return rc;
}

static int tokens_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"user_id", "expires_in_days", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	json_t *b = http_request_json(req), *uid = json_object_get(b, "user_id"),
	       *days = json_object_get(b, "expires_in_days");
	struct token_new in;
	struct svc_result res;

	if (tw_need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE ||
	    tw_only_fields(resp, b, fields, "token request") < 0)
		return 0;
	if (!json_is_integer(uid) || json_integer_value(uid) < 1 ||
	    (days != NULL && (!json_is_integer(days) || json_integer_value(days) < 1 ||
			      json_integer_value(days) > TOKEN_DAYS_MAX))) {
		http_response_error(resp, 422, "validation_failed", "the token request is not valid");
		if (!json_is_integer(uid) || json_integer_value(uid) < 1)
			http_response_error_field(resp, "user_id", "is required: a user's id");
		else
			http_response_error_field(resp, "expires_in_days", "must be 1 to 3650");
		return 0;
	}
	memset(&in, 0, sizeof(in));
	in.user_id = json_integer_value(uid);
	in.expires = tw_now_us() +
		     (days ? json_integer_value(days) : TOKEN_DAYS_DEFAULT) * 86400LL * 1000000;
	if (svc_run(t, t->st, p, false, token_create, &in, &res) < 0)
		return svc_answer(resp, &res);
	http_response_json(resp, 201,
			   json_pack("{s:I,s:s,s:o}", "id", (json_int_t)res.id, "token", in.text,
				     "expires", tw_time(in.expires)));
	sodium_memzero(in.text, sizeof(in.text));
	return 0;
}

/* Tokens that let an admin in: not revoked, not expired, user enabled. */
#define LIVE_ADMIN_TOKENS                                                                    \
	"FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.role = 'admin' AND "         \
	"u.disabled IS NULL AND t.revoked IS NULL AND (t.expires IS NULL OR t.expires > ?)"

static int token_revoke(struct store_conn *c, struct svc_tx *x, void *arg)
{
	const int64_t *id = arg;
	struct store_res *r = NULL;
	int rc, live;

	struct store_param pt[] = {store_int64(*id)};
	rc = store_exec(c,
			"SELECT t.revoked, u.role FROM tokens t "
			"JOIN users u ON u.id = t.user_id WHERE t.id = ?",
			pt, 1, &r, NULL);
	if (rc < 0)
		return rc;
	if (store_res_nrows(r) != 1 || !store_res_isnull(r, 0, tw_col(r, "revoked"))) {
		store_res_free(r);
		return svc_refuse(x->res, SVC_NOT_FOUND, "not_found",
				  "no such token, or revoked already");
	}
	live = strcmp(store_res_text(r, 0, tw_col(r, "role")), "admin") == 0;
	store_res_free(r);
	r = NULL;
	if (live) { /* an admin's: is another one left that works? */
		struct store_param pl[] = {store_int64(x->now), store_int64(*id)};
		rc = store_exec(c, "SELECT COUNT(*) AS n " LIVE_ADMIN_TOKENS " AND t.id <> ?", pl, 2,
				&r, NULL);
		if (rc < 0)
			return rc;
		live = store_res_int64(r, 0, tw_col(r, "n")) > 0;
		store_res_free(r);
		if (!live)
			return svc_refuse(x->res, SVC_CONFLICT, "last_admin_token",
					  "this is the last admin token that works; issue another "
					  "first (or, on the server, yagura admin recover)");
	}
	struct store_param ps[] = {store_int64(x->now), store_int64(*id)};
	rc = svc_write(x, c, REC_TOKENS, "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
		       ps, 2, NULL);
	if (rc == YG_ENOTFOUND)
		return svc_refuse(x->res, SVC_NOT_FOUND, "not_found",
				  "no such token, or revoked already");
	if (rc == 0)
		rc = svc_changed(x, c, CHANGE_TOKEN_REVOKE, *id);
	return rc;
}

static int tokens_revoke(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	struct svc_result res;
	char *end;
	const char *s = http_request_param(req, "id");
	int64_t id = strtoll(s, &end, 10);
	int rc;

	if (tw_need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE)
		return 0;
	if (*s == '\0' || *end != '\0' || id < 1)
		return tw_fail(resp, 404, "not_found", "no such token");
	rc = svc_run(t, t->st, p, false, token_revoke, &id, &res);
	tw_auth_forget_all(t); /* after the UPDATE: see struct auth_cache */
	if (rc < 0)
		return svc_answer(resp, &res);
	http_response_status(resp, 204);
	return 0;
}

const struct tower_route tw_token_routes[] = {
	{HTTP_POST, "/api/v1/tokens", TW_AJ, tokens_create},
	{HTTP_DELETE, "/api/v1/tokens/{id}", HTTP_ROUTE_AUTH, tokens_revoke},
	{0, NULL, 0, NULL},
};

/* ---- on the server: the first admin, and recovery ---------------------- */

struct admin_new {
	const char *name;
	int recover; /* 0: refuse when an admin exists; 1: a token for it */
	char *token; /* out, TOKEN_TEXT_LEN + 1 */
	char why[160];
};

static int admin_create(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct admin_new *in = arg;
	struct store_res *r = NULL;
	int64_t uid = 0, tid;
	int rc;

	struct store_param pn[] = {store_text(in->name)};
	rc = store_exec(c,
			"SELECT id, name, disabled FROM users WHERE role = 'admin' "
			"ORDER BY (name = ?) DESC, id",
			pn, 1, &r, NULL);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < store_res_nrows(r) && uid == 0; i++) {
		if (!in->recover) {
			snprintf(in->why, sizeof(in->why),
				 "an admin exists already; ask it for a token (or, on the server, "
				 "yagura admin recover)");
			store_res_free(r);
			return svc_refuse(x->res, SVC_CONFLICT, "conflict", in->why);
		}
		if (strcmp(store_res_text(r, i, tw_col(r, "name")), in->name) == 0 &&
		    store_res_isnull(r, i, tw_col(r, "disabled")))
			uid = store_res_int64(r, i, tw_col(r, "id"));
	}
	store_res_free(r);
	r = NULL;
	if (uid == 0) { /* a new admin user */
		struct store_param ps[] = {store_text(in->name), store_int64(x->now)};

		rc = svc_write(x, c, REC_USERS,
			       "INSERT INTO users (name, role, created) VALUES (?, 'admin', ?)", ps,
			       2, &uid);
		if (rc < 0)
			return rc;
		if ((rc = svc_changed(x, c, CHANGE_USER_CREATE, uid)) < 0)
			return rc;
	}
	if ((rc = token_issue(x, c, uid, 0, in->token, &tid)) < 0)
		return rc;
	return svc_changed(x, c, CHANGE_TOKEN_ISSUE, tid);
}

static int admin_token(const char *url, const char *name, int recover, char *token, char *err,
		       size_t errlen)
{
	struct admin_new in = {.name = name, .recover = recover, .token = token};
	struct svc_result res;
	struct store *st;
	int rc;

	if (sodium_init() < 0)
		return YG_EIO;
	if (!tw_name_ok(name, 200)) {
		snprintf(err, errlen, "the name must be 1 to 200 characters, no control characters");
		return YG_EINVAL;
	}
	if ((rc = store_open(url, &st, err, errlen)) < 0)
		return rc;
	rc = svc_run(NULL, st, NULL, false, admin_create, &in, &res);
	if (rc < 0)
		snprintf(err, errlen, "%s", res.msg);
	store_close(st);
	return rc < 0 && res.status == SVC_CONFLICT ? YG_ECONFLICT : rc;
}

int tower_admin_init(const char *url, const char *name, char *token, char *err, size_t errlen)
{
	return admin_token(url, name, 0, token, err, errlen);
}

int tower_admin_recover(const char *url, const char *name, char *token, char *err,
			size_t errlen)
{
	return admin_token(url, name, 1, token, err, errlen);
}
