/* orgs.c - organisations (the operators, regulators and the office itself)
 * and their users. Admin only. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tower/tower_int.h"

/* ---- organisations ----------------------------------------------------- */

struct org_new {
	const char *name, *sector;
};

static int org_create(struct store_conn *c, struct svc_tx *x, void *arg)
{
	const struct org_new *in = arg;
	struct store_param ps[] = {store_text(in->name), store_text(in->sector),
				   store_int64(x->now)};
	int64_t id;
	int rc = svc_write(x, c, REC_ORGS, "INSERT INTO orgs (name, sector, created) VALUES (?, ?, ?)",
			   ps, 3, &id);

	if (rc < 0)
		return rc;
	return svc_changed(x, c, CHANGE_ORG_CREATE, id);
}

static int orgs_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"name", "sector", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	json_t *b = http_request_json(req);
	struct org_new in = {json_string_value(json_object_get(b, "name")),
			     json_string_value(json_object_get(b, "sector"))};
	struct svc_result res;
	bool name_ok = tw_name_ok(in.name, 200), sector_ok = tw_sector_known(t, in.sector);

	if (tw_need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE ||
	    tw_only_fields(resp, b, fields, "organisation") < 0)
		return 0;
	if (!name_ok || !sector_ok) {
		http_response_error(resp, 422, "validation_failed", "the organisation is not valid");
		if (!name_ok)
			http_response_error_field(
				resp, "name", "is required (1 to 200 characters, no control characters)");
		if (!sector_ok)
			http_response_error_field(resp, "sector", "must be one of the configured sectors");
		return 0;
	}
	if (svc_run(t, t->st, p, false, org_create, &in, &res) < 0)
		return svc_answer(resp, &res);
	http_response_json(resp, 201,
			   json_pack("{s:I,s:s,s:s}", "id", (json_int_t)res.id, "name", in.name,
				     "sector", in.sector));
	return 0;
}

/* Oldest first, a page at a time: ?limit=N (1..1000, default 100) and
 * ?after=ID, the page's next_after. */
static int orgs_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"limit", "after", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	struct store_res *r = NULL;
	long long limit = 100, after = 0;
	char sql[128];
	json_t *arr;

	if (tw_need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE ||
	    tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "limit", 1, 1000, &limit) < 0 ||
	    tw_query_int(req, resp, "after", 1, INT64_MAX, &after) < 0)
		return 0;
	struct store_param ps[] = {store_int64(after)};
	snprintf(sql, sizeof(sql),
		 "SELECT id, name, sector FROM orgs WHERE id > ? ORDER BY id LIMIT %lld", limit + 1);
	if (tw_query(t, resp, sql, ps, 1, &r) < 0)
		return 0;
	size_t id = tw_col(r, "id"), name = tw_col(r, "name"), sector = tw_col(r, "sector");
	size_t rows = store_res_nrows(r), shown = rows > (size_t)limit ? (size_t)limit : rows;
	arr = json_array();
	for (size_t i = 0; i < shown; i++)
		json_array_append_new(arr, json_pack("{s:I,s:s,s:s}", "id",
						     (json_int_t)store_res_int64(r, i, id), "name",
						     store_res_text(r, i, name), "sector",
						     store_res_text(r, i, sector)));
	json_t *page = json_pack("{s:o,s:b}", "orgs", arr, "more", rows > shown);
	if (rows > shown)
		json_object_set_new(page, "next_after",
				    json_integer(store_res_int64(r, shown - 1, id)));
	store_res_free(r);
	http_response_json(resp, 200, page);
	return 0;
}

/* ---- users ------------------------------------------------------------- */

struct user_new {
	const char *name, *role;
	int64_t org_id; /* 0: none */
	char sectors[512];
};

static int user_create(struct store_conn *c, struct svc_tx *x, void *arg)
{
	const struct user_new *in = arg;
	struct store_param ps[] = {in->org_id ? store_int64(in->org_id) : store_null(),
				   store_text(in->name), store_text(in->role),
				   *in->sectors ? store_text(in->sectors) : store_null(),
				   store_int64(x->now)};
	int64_t id;
	int rc = svc_write(x, c, REC_USERS,
			   "INSERT INTO users (org_id, name, role, sectors, created) "
			   "VALUES (?, ?, ?, ?, ?)",
			   ps, 5, &id);

	if (rc == YG_EINVAL) /* the foreign key */
		return svc_refuse(x->res, SVC_INVALID, "validation_failed", "no such organisation");
	if (rc < 0)
		return rc;
	return svc_changed(x, c, CHANGE_USER_CREATE, id);
}

static int users_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"name", "role", "org_id", "sectors", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	json_t *b = http_request_json(req), *sectors = json_object_get(b, "sectors"), *x;
	json_t *org = json_object_get(b, "org_id");
	struct user_new in = {.name = json_string_value(json_object_get(b, "name")),
			      .role = json_string_value(json_object_get(b, "role"))};
	int role = in.role ? role_parse(in.role) : -1, bad = 0;
	struct svc_result res;
	size_t i;

	if (tw_need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE ||
	    tw_only_fields(resp, b, fields, "user") < 0)
		return 0;
	http_response_error(resp, 422, "validation_failed", "the user is not valid");
	if (!tw_name_ok(in.name, 200))
		bad |= http_response_error_field(
			       resp, "name",
			       "is required (1 to 200 characters, no control characters)") == 0;
	if (role < 0)
		bad |= http_response_error_field(resp, "role",
						 "must be operator, regulator, analyst, overseer, "
						 "auditor, sensor or admin") == 0;
	if (org != NULL && (!json_is_integer(org) || json_integer_value(org) < 1))
		bad |= http_response_error_field(resp, "org_id", "must be an organisation's id") == 0;
	else if (role == ROLE_OPERATOR && org == NULL)
		bad |= http_response_error_field(resp, "org_id", "is required for an operator") == 0;
	if (sectors != NULL && role != ROLE_REGULATOR)
		bad |= http_response_error_field(resp, "sectors", "only a regulator has sectors") == 0;
	if (role == ROLE_REGULATOR) {
		if (!json_is_array(sectors) || json_array_size(sectors) == 0) {
			bad |= http_response_error_field(resp, "sectors",
							 "a regulator needs its sectors") == 0;
		} else {
			json_array_foreach(sectors, i, x) {
				const char *s = json_string_value(x);
				size_t used = strlen(in.sectors);

				if (!tw_sector_known(t, s)) {
					bad |= http_response_error_field(resp, "sectors",
									 "unknown sector") == 0;
					break;
				}
				if (used + strlen(s) + 2 < sizeof(in.sectors))
					snprintf(in.sectors + used, sizeof(in.sectors) - used, "%s%s",
						 used ? "," : "", s);
			}
		}
	}
	if (bad)
		return 0;
	in.org_id = json_is_integer(org) ? json_integer_value(org) : 0;
	if (svc_run(t, t->st, p, false, user_create, &in, &res) < 0)
		return svc_answer(resp, &res);
	http_response_json(resp, 201,
			   json_pack("{s:I,s:s,s:s}", "id", (json_int_t)res.id, "name", in.name,
				     "role", in.role));
	return 0;
}

/* ---- a sensor's client certificate ------------------------------------ */

struct user_cert {
	int64_t user_id;
	char fp[7 + 64 + 1]; /* "sha256:" + lowercase hex; "": unbind */
};

static int user_cert_bind(struct store_conn *c, struct svc_tx *x, void *arg)
{
	const struct user_cert *in = arg;
	struct store_res *r = NULL;
	struct store_param pu[] = {store_int64(in->user_id)};
	int rc;

	/* Only a machine authenticates by certificate: a person's certificate
	 * would be a second credential nobody revokes with their tokens. */
	if ((rc = store_exec(c, "SELECT role FROM users WHERE id = ?", pu, 1, &r, NULL)) < 0)
		return rc;
	if (store_res_nrows(r) != 1) {
		store_res_free(r);
		return svc_refuse(x->res, SVC_NOT_FOUND, "not_found", "no such user");
	}
	rc = role_parse(store_res_text(r, 0, 0)) == ROLE_SENSOR;
	store_res_free(r);
	if (!rc) {
		svc_refuse(x->res, SVC_INVALID, "validation_failed",
			   "only a sensor user may be bound to a certificate");
		svc_field(x->res, "fingerprint", "the user is not a sensor");
		return YG_EINVAL;
	}
	struct store_param ps[] = {store_int64(in->user_id),
				   *in->fp ? store_text(in->fp) : store_null(),
				   store_int64(x->now)};
	rc = svc_write(x, c, REC_USER_CERTIFICATES,
		       "INSERT INTO user_certificates (user_id, fingerprint, updated) VALUES (?, ?, ?) "
		       "ON CONFLICT (user_id) DO UPDATE SET fingerprint = excluded.fingerprint, "
		       "updated = excluded.updated",
		       ps, 3, NULL);
	if (rc == YG_ECONFLICT)
		return svc_refuse(x->res, SVC_CONFLICT, "conflict",
				  "that certificate is bound to another user");
	if (rc < 0)
		return rc;
	return svc_changed(x, c, CHANGE_USER_CERTIFICATE, in->user_id);
}

/* "sha256:" and 64 hex digits (either case, colons between pairs allowed,
 * as openssl x509 -fingerprint prints them) into out, lowercase, no colons. */
static bool fingerprint_parse(const char *s, char out[7 + 64 + 1])
{
	size_t n = 0;

	if (s == NULL || strncasecmp(s, "sha256:", 7) != 0)
		return false;
	memcpy(out, "sha256:", 7);
	for (s += 7; *s != '\0'; s++) {
		if (*s == ':' && n > 0 && n % 2 == 0 && s[1] != '\0')
			continue;
		if (!isxdigit((unsigned char)*s) || n == 64)
			return false;
		out[7 + n++] = (char)tolower((unsigned char)*s);
	}
	out[7 + n] = '\0';
	return n == 64;
}

/* PUT /api/v1/users/{id}/certificate {"fingerprint": "sha256:HEX" | null}:
 * binds a sensor to the client certificate of that SHA-256 (of its DER),
 * replacing the one it had; null unbinds it. */
static int users_certificate(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"fingerprint", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	json_t *b = http_request_json(req), *f = json_object_get(b, "fingerprint");
	const char *s = http_request_param(req, "id");
	struct user_cert in = {0};
	struct svc_result res;
	char *end;
	int rc;

	if (tw_need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE ||
	    tw_only_fields(resp, b, fields, "certificate binding") < 0)
		return 0;
	in.user_id = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || in.user_id < 1)
		return tw_fail(resp, 404, "not_found", "no such user");
	if (f == NULL || (!json_is_null(f) && !fingerprint_parse(json_string_value(f), in.fp))) {
		http_response_error(resp, 422, "validation_failed", "the binding is not valid");
		http_response_error_field(resp, "fingerprint",
					  "is required: \"sha256:\" and the 64 hex digits of the "
					  "certificate's SHA-256, or null to unbind");
		return 0;
	}
	rc = svc_run(t, t->st, p, false, user_cert_bind, &in, &res);
	tw_auth_forget_all(t); /* the old certificate must stop working now */
	if (rc < 0)
		return svc_answer(resp, &res);
	http_response_json(resp, 200,
			   json_pack("{s:I,s:o}", "user_id", (json_int_t)in.user_id, "fingerprint",
				     *in.fp ? json_string(in.fp) : json_null()));
	return 0;
}

const struct tower_route tw_org_routes[] = {
	{HTTP_POST, "/api/v1/orgs", TW_AJ, orgs_create},
	{HTTP_GET, "/api/v1/orgs", HTTP_ROUTE_AUTH, orgs_list},
	{HTTP_POST, "/api/v1/users", TW_AJ, users_create},
	{HTTP_PUT, "/api/v1/users/{id}/certificate", TW_AJ, users_certificate},
	{0, NULL, 0, NULL},
};
