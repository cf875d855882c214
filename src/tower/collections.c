/* collections.c - the TAXII collections and who reads and writes each
 * (issue 14, docs/sharing.md). The office's analysts, and the admin who
 * manages organisations, make collections and replace a collection's
 * access rules through the tower: each a change through the service layer,
 * and so an entry in the transparency log. The TAXII routes (taxii.c) read
 * the same tables; whatever the rules say, their TLP rule still holds.
 *
 *   GET   /api/v1/taxii/collections[?limit=&after=]   each, with its rules
 *   POST  /api/v1/taxii/collections                   {alias, title, description}
 *   GET   /api/v1/taxii/collections/{id}
 *   PATCH /api/v1/taxii/collections/{id}              {title, description}
 *   PUT   /api/v1/taxii/collections/{id}/access       {"rules": [...]}: the whole list
 *
 * A rule names a role, optionally one organisation (null: every user of
 * the role, whatever their organisation), and whether it reads, writes or
 * both. The log keys rows by number and a collection's id is a UUID: each
 * collection has a number too (num), given when the log takes it in, and
 * its rules are one set of rows under that number, fingerprinted whole
 * again at each change. Collections made before the log covered them (the
 * schema's three, an older tower's partners') are taken in, rules and all,
 * when the tower starts (tw_collections_start), before the routes serve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "stix/stix.h"
#include "tower/tower_int.h"

#define COLL_ALIAS_MAX  64
#define COLL_TITLE_MAX  200
#define COLL_TEXT_MAX   4096       /* a description */
#define COLL_RULES_MAX  64         /* rules a collection has */
#define COLL_ORG_MAX    200        /* an organisation's name, as orgs.c takes it */
#define COLL_FIELDS_MAX 32         /* bad fields named in one refusal */
#define COLL_PARTNER    "partner-" /* the [partners] pulls' aliases (partners.c) */

#define COLL_COLS "num, id, alias, title, description, created"
/* The next number, in the statement that takes it: two towers on one
 * PostgreSQL that take the same one meet a unique violation, and the
 * change runs again (x->again). */
#define NUM_NEXT "(SELECT COALESCE(MAX(num), 0) + 1 FROM taxii_collections)"

struct rule {
	enum role role;
	int64_t org_id;       /* 0: every user of the role */
	const char *org_name; /* given by name: looked up in the change */
	bool read, write;
};

/* ---- the changes --------------------------------------------------------- */

/* Replaces the rules of collection id (number num) with rules[0..n-1],
 * and keeps them, a set, for the change's entry. */
static int rules_write(struct store_conn *c, struct svc_tx *x, const char *id, int64_t num,
		       const struct rule *rules, size_t n)
{
	struct store_param pd[] = {store_text(id), store_int64(num)};
	struct rec_set set = {0};
	struct rec_ref ref = {.t = REC_TAXII_ACCESS, .key = {num}};
	int rc = store_exec(c,
			    "DELETE FROM taxii_access WHERE collection_id = ? OR "
			    "collection_num = ?",
			    pd, 2, NULL, NULL);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		/* In the log's column order (record.c), the set's key last. */
		struct store_param ps[] = {store_text(id),
					   store_text(role_name(rules[i].role)),
					   rules[i].org_id > 0 ? store_int64(rules[i].org_id)
							       : store_null(),
					   store_int64(rules[i].read),
					   store_int64(rules[i].write),
					   store_int64(num)};
		rc = store_exec(c,
				"INSERT INTO taxii_access (collection_id, role, org_id, can_read, "
				"can_write, collection_num) VALUES (?, ?, ?, ?, ?, ?)",
				ps, 6, NULL, NULL);
		if (rc == 0 && (rc = rec_row_params(REC_TAXII_ACCESS, ps, &ref.h)) == 0)
			rc = rec_set_add(&set, &ref.h);
	}
	if (rc == 0) {
		rec_set_hash(REC_TAXII_ACCESS, &set, &ref.h, &ref.count);
		rc = svc_row(x, &ref);
	}
	rec_set_free(&set);
	return rc;
}

struct coll_new {
	char id[40];
	const char *alias, *title, *description;
	struct rule rule; /* the one it starts with: the office's analysts */
	bool quiet;       /* the tower's own: one there already is no refusal */
};

static int create_body(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct coll_new *in = arg;
	struct store_param pq[] = {store_text(in->id), store_text(in->alias)};
	struct store_res *r = NULL;
	int64_t num = 0;
	int rc = store_exec(c, "SELECT 1 FROM taxii_collections WHERE id = ? OR alias = ?", pq, 2,
			    &r, NULL);

	if (rc < 0)
		return rc;
	bool taken = store_res_nrows(r) > 0;
	store_res_free(r);
	if (taken && in->quiet)
		return svc_unchanged(x);
	if (taken) {
		svc_field(x->res, "alias", "is another collection's");
		return svc_refuse(x->res, SVC_CONFLICT, "conflict",
				  "a collection with this alias exists");
	}
	struct store_param ps[] = {store_text(in->id), store_text(in->alias), store_text(in->title),
				   store_text(in->description), store_int64(x->now)};
	rc = svc_write(x, c, REC_TAXII_COLLECTIONS,
		       "INSERT INTO taxii_collections (num, id, alias, title, description, "
		       "created) SELECT COALESCE(MAX(num), 0) + 1, ?, ?, ?, ?, ? FROM "
		       "taxii_collections",
		       ps, 5, &num);
	if (rc == YG_ECONFLICT && x->attempt == 0)
		x->again = true; /* another tower's number, or its alias: the check above says */
	if (rc < 0 || (rc = rules_write(c, x, in->id, num, &in->rule, 1)) < 0)
		return rc;
	return svc_changed(x, c, CHANGE_COLLECTION_CREATE, num);
}

/* The number of collection id, its row locked (PostgreSQL) so that two
 * changes of one collection run one after the other: 0 and *num, or a
 * refusal. A collection the log has not taken in is not there for the
 * routes here (the tower's start takes every one in). */
static int coll_lock(struct store_conn *c, struct svc_tx *x, const char *id, int64_t *num)
{
	struct store_param ps[] = {store_text(id)};
	struct store_res *r = NULL;
	int rc = store_exec(c,
			    "UPDATE taxii_collections SET num = num WHERE id = ? AND num IS NOT "
			    "NULL RETURNING num",
			    ps, 1, &r, NULL);

	if (rc == 0 && store_res_nrows(r) != 1)
		rc = svc_refuse(x->res, SVC_NOT_FOUND, "not_found", "no such collection");
	else if (rc == 0)
		*num = store_res_int64(r, 0, 0);
	store_res_free(r);
	return rc;
}

struct access_in {
	const char *id;
	struct rule rules[COLL_RULES_MAX];
	size_t n;
};

static int access_body(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct access_in *in = arg;
	char field[48], why[80];
	int64_t num = 0;
	int rc;

	if ((rc = coll_lock(c, x, in->id, &num)) < 0)
		return rc;
	for (size_t i = 0; i < in->n; i++) {
		struct rule *r = &in->rules[i];
		struct store_param ps[] = {r->org_name ? store_text(r->org_name)
						       : store_int64(r->org_id)};
		struct store_res *o = NULL;

		if (r->org_name == NULL && r->org_id == 0)
			continue;
		if ((rc = store_exec(c,
				     r->org_name ? "SELECT id FROM orgs WHERE name = ?"
						 : "SELECT id FROM orgs WHERE id = ?",
				     ps, 1, &o, NULL)) < 0)
			return rc;
		if (store_res_nrows(o) == 1) {
			r->org_id = store_res_int64(o, 0, 0);
		} else {
			snprintf(field, sizeof(field), "rules[%zu].org", i);
			svc_field(x->res, field, "no such organisation");
		}
		store_res_free(o);
	}
	/* One rule a role and organisation: two would leave the reader to
	 * guess which holds (by a name and by an id, say). */
	for (size_t i = 0; x->res->fields.n == 0 && i < in->n; i++)
		for (size_t j = 0; j < i; j++)
			if (in->rules[j].role == in->rules[i].role &&
			    in->rules[j].org_id == in->rules[i].org_id) {
				snprintf(field, sizeof(field), "rules[%zu]", i);
				snprintf(why, sizeof(why),
					 "repeats the role and organisation of rules[%zu]", j);
				svc_field(x->res, field, why);
				break;
			}
	if (x->res->fields.n > 0)
		return svc_refuse(x->res, SVC_INVALID, "validation_failed",
				  "the access rules are not valid");
	if ((rc = rules_write(c, x, in->id, num, in->rules, in->n)) < 0)
		return rc;
	return svc_changed(x, c, CHANGE_COLLECTION_ACCESS, num);
}

struct coll_edit {
	const char *id, *title, *description; /* NULL: as it is */
};

static int update_body(struct store_conn *c, struct svc_tx *x, void *arg)
{
	const struct coll_edit *in = arg;
	struct store_param ps[] = {store_text(in->title), store_text(in->description),
				   store_text(in->id)};
	int64_t num = 0;
	int rc = svc_write(x, c, REC_TAXII_COLLECTIONS,
			   "UPDATE taxii_collections SET title = COALESCE(?, title), description = "
			   "COALESCE(?, description) WHERE id = ? AND num IS NOT NULL",
			   ps, 3, &num);

	if (rc == YG_ENOTFOUND)
		return svc_refuse(x->res, SVC_NOT_FOUND, "not_found", "no such collection");
	if (rc < 0)
		return rc;
	return svc_changed(x, c, CHANGE_COLLECTION_UPDATE, num);
}

/* A collection from before the log covered them: a number, and its row
 * and rules, as they are, into the log. */
static int adopt_body(struct store_conn *c, struct svc_tx *x, void *arg)
{
	const char *id = arg;
	struct store_param ps[] = {store_text(id)};
	struct store_res *r = NULL;
	struct rec_set set = {0};
	struct rec_ref ref = {.t = REC_TAXII_ACCESS};
	char cols[200], sql[300];
	int64_t num = 0, key[2];
	int rc = svc_write(x, c, REC_TAXII_COLLECTIONS,
			   "UPDATE taxii_collections SET num = " NUM_NEXT
			   " WHERE id = ? AND num IS NULL",
			   ps, 1, &num);

	if (rc == YG_ENOTFOUND)
		return svc_unchanged(x); /* another tower took it in */
	if (rc == YG_ECONFLICT && x->attempt == 0)
		x->again = true;
	if (rc < 0)
		return rc;
	struct store_param pu[] = {store_int64(num), store_text(id)}, pn[] = {store_int64(num)};
	if ((rc = store_exec(c,
			     "UPDATE taxii_access SET collection_num = ? WHERE collection_id = ?", pu,
			     2, NULL, NULL)) < 0 ||
	    (rc = rec_select(REC_TAXII_ACCESS, cols, sizeof(cols))) < 0)
		return rc;
	snprintf(sql, sizeof(sql), "SELECT %s FROM taxii_access WHERE collection_num = ?", cols);
	rc = store_exec(c, sql, pn, 1, &r, NULL);
	for (size_t i = 0; rc == 0 && i < store_res_nrows(r); i++)
		if ((rc = rec_row_res(REC_TAXII_ACCESS, r, i, &ref.h, key)) == 0)
			rc = rec_set_add(&set, &ref.h);
	store_res_free(r);
	if (rc == 0) {
		rec_set_hash(REC_TAXII_ACCESS, &set, &ref.h, &ref.count);
		ref.key[0] = num;
		rc = svc_row(x, &ref);
	}
	rec_set_free(&set);
	return rc < 0 ? rc : svc_changed(x, c, CHANGE_COLLECTION_ADOPT, num);
}

int tw_collections_start(struct tower *t, char *err, size_t errlen)
{
	struct store_conn *c = NULL;
	struct store_res *r = NULL;
	struct svc_result res;
	int rc;

	if ((rc = store_conn_get(t->st, &c)) == 0)
		rc = store_exec(c,
				"SELECT id, alias FROM taxii_collections WHERE num IS NULL ORDER BY "
				"created, id",
				NULL, 0, &r, NULL);
	store_conn_put(c);
	if (rc < 0) {
		snprintf(err, errlen, "the TAXII collections cannot be read");
		return rc;
	}
	for (size_t i = 0; rc == 0 && i < store_res_nrows(r); i++) {
		const char *id = store_res_text(r, i, 0), *alias = store_res_text(r, i, 1);

		if ((rc = svc_run(t, t->st, NULL, false, adopt_body, (void *)id, &res)) < 0)
			snprintf(err, errlen,
				 "the TAXII collection %s cannot be entered in the log: %s", id,
				 res.msg);
		else if (res.id > 0)
			log_info(
			    "tower: TAXII collection %s entered in the transparency log (number "
			    "%lld)",
			    alias ? alias : id, (long long)res.id);
	}
	store_res_free(r);
	return rc;
}

/* The id of the collection alias: a v5 UUID of it, as partners.c has
 * always made its collections' (the same alias, the same id). */
static int coll_id_of(const char *alias, char *id, size_t cap)
{
	char sid[STIX_ID_MAX];
	int rc = stix_id_v5("x-yagura-collection", alias, sid);

	if (rc == 0)
		snprintf(id, cap, "%s", strstr(sid, "--") + 2);
	return rc;
}

int tw_collection_ensure(struct tower *t, const char *alias, const char *title,
			 const char *description, char *id, size_t cap, struct svc_result *res)
{
	struct coll_new in = {.alias = alias,
			      .title = title,
			      .description = description,
			      .rule = {.role = ROLE_ANALYST, .read = true},
			      .quiet = true};

	memset(res, 0, sizeof(*res));
	if (coll_id_of(alias, in.id, sizeof(in.id)) < 0)
		return svc_refuse(res, SVC_INVALID, "validation_failed", "no id for that alias");
	snprintf(id, cap, "%s", in.id);
	return svc_run(t, t->st, NULL, false, create_body, &in, res);
}

/* ---- reading ------------------------------------------------------------- */

static json_t *rule_json(const struct store_res *a, size_t i)
{
	size_t org = tw_col(a, "org_id");

	return json_pack(
	    "{s:s,s:o,s:b,s:b}", "role", store_res_text(a, i, tw_col(a, "role")), "org",
	    store_res_isnull(a, i, org) ? json_null() : json_integer(store_res_int64(a, i, org)),
	    "read", store_res_int64(a, i, tw_col(a, "can_read")) != 0, "write",
	    store_res_int64(a, i, tw_col(a, "can_write")) != 0);
}

/* Collection i of r (COLL_COLS), with its rules: those of a (in the
 * order of their collections' numbers) from *at on. */
static json_t *coll_json(const struct store_res *r, size_t i, const struct store_res *a, size_t *at)
{
	int64_t num = store_res_int64(r, i, tw_col(r, "num"));
	size_t an = tw_col(a, "collection_num"), alias = tw_col(r, "alias");
	json_t *rules = json_array();

	while (*at < store_res_nrows(a) && store_res_int64(a, *at, an) < num)
		(*at)++;
	for (; *at < store_res_nrows(a) && store_res_int64(a, *at, an) == num; (*at)++)
		json_array_append_new(rules, rule_json(a, *at));
	return json_pack("{s:s,s:I,s:o,s:s,s:s,s:o,s:o}", "id",
			 store_res_text(r, i, tw_col(r, "id")), "number", (json_int_t)num, "alias",
			 store_res_isnull(r, i, alias) ? json_null()
						       : json_string(store_res_text(r, i, alias)),
			 "title", store_res_text(r, i, tw_col(r, "title")), "description",
			 store_res_text(r, i, tw_col(r, "description")), "created",
			 tw_time(store_res_int64(r, i, tw_col(r, "created"))), "rules", rules);
}

/* The rules of the collections numbered from lo to hi, for coll_json(). */
static int rules_of(struct tower *t, struct http_response *resp, int64_t lo, int64_t hi,
		    struct store_res **a)
{
	struct store_param ps[] = {store_int64(lo), store_int64(hi)};

	return tw_query(
	    t, resp,
	    "SELECT collection_num, role, org_id, can_read, can_write FROM taxii_access "
	    "WHERE collection_num >= ? AND collection_num <= ? ORDER BY collection_num, "
	    "role, COALESCE(org_id, 0)",
	    ps, 2, a);
}

/* Answers collection id, {"collection": ...}, with status. */
static int coll_answer(struct tower *t, struct http_response *resp, const char *id, int status)
{
	struct store_param ps[] = {store_text(id)};
	struct store_res *r = NULL, *a = NULL;
	size_t at = 0;

	if (id == NULL || strlen(id) > 64)
		return tw_fail(resp, 404, "not_found", "no such collection");
	if (tw_query(t, resp,
		     "SELECT " COLL_COLS " FROM taxii_collections WHERE id = ? AND num IS NOT NULL",
		     ps, 1, &r) < 0)
		return 0;
	if (store_res_nrows(r) != 1) {
		store_res_free(r);
		return tw_fail(resp, 404, "not_found", "no such collection");
	}
	int64_t num = store_res_int64(r, 0, tw_col(r, "num"));
	if (rules_of(t, resp, num, num, &a) == 0)
		http_response_json(resp, status,
				   json_pack("{s:o}", "collection", coll_json(r, 0, a, &at)));
	store_res_free(r);
	store_res_free(a);
	return 0;
}

/* GET /api/v1/taxii/collections?limit=&after=: by number, a page at a
 * time (next_after). */
static int colls_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"limit", "after", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	struct store_res *r = NULL, *a = NULL;
	long long limit = 100, after = 0;
	char sql[200];
	size_t at = 0;

	if (tw_need(req, resp, ACT_TAXII_MANAGE, &p) == SCOPE_NONE ||
	    tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "limit", 1, 1000, &limit) < 0 ||
	    tw_query_int(req, resp, "after", 1, INT64_MAX, &after) < 0)
		return 0;
	struct store_param ps[] = {store_int64(after)};
	snprintf(sql, sizeof(sql),
		 "SELECT " COLL_COLS
		 " FROM taxii_collections WHERE num > ? ORDER BY num LIMIT %lld",
		 limit + 1);
	if (tw_query(t, resp, sql, ps, 1, &r) < 0)
		return 0;
	size_t rows = store_res_nrows(r), shown = rows > (size_t)limit ? (size_t)limit : rows;
	size_t num = tw_col(r, "num");
	if (rules_of(t, resp, after + 1, shown ? store_res_int64(r, shown - 1, num) : 0, &a) < 0) {
		store_res_free(r);
		return 0;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < shown; i++)
		json_array_append_new(arr, coll_json(r, i, a, &at));
	json_t *page = json_pack("{s:o,s:b}", "collections", arr, "more", rows > shown);
	if (rows > shown)
		json_object_set_new(page, "next_after",
				    json_integer(store_res_int64(r, shown - 1, num)));
	store_res_free(r);
	store_res_free(a);
	return http_response_json(resp, 200, page);
}

static int colls_show(struct http_request *req, struct http_response *resp, void *ctx)
{
	const struct principal *p;

	if (tw_need(req, resp, ACT_TAXII_MANAGE, &p) == SCOPE_NONE)
		return 0;
	return coll_answer(ctx, resp, http_request_param(req, "id"), 200);
}

/* ---- checking what comes in ---------------------------------------------- */

/* Counts a bad field and names it, in a 422 begun at the first. */
static void bad_field(struct http_response *resp, int *bad, const char *what, const char *field,
		      const char *reason)
{
	if ((*bad)++ == 0)
		http_response_error(resp, 422, "validation_failed", what);
	if (*bad <= COLL_FIELDS_MAX)
		http_response_error_field(resp, field, reason);
}

/* Text people read: at most max bytes, no control character but newlines. */
static bool text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\n') || s[i] == 0x7f)
			return false;
	return true;
}

/* title and description of b, each NULL when absent; bad counted. */
static void texts_parse(struct http_response *resp, const json_t *b, const char *what,
			const char **title, const char **description, int *bad)
{
	const json_t *tv = json_object_get(b, "title"), *dv = json_object_get(b, "description");

	*title = json_string_value(tv);
	*description = json_string_value(dv);
	if (tv != NULL && !tw_name_ok(*title, COLL_TITLE_MAX))
		bad_field(resp, bad, what, "title",
			  "must be 1 to 200 characters, no control characters");
	if (dv != NULL && (*description == NULL || !text_ok(*description, COLL_TEXT_MAX)))
		bad_field(resp, bad, what, "description",
			  "must be text of at most 4096 bytes, no control characters but newlines");
}

/* POST /api/v1/taxii/collections {alias, title, description}: 201 with
 * the collection, which the office's analysts read and write. */
static int colls_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"alias", "title", "description", NULL};
	static const char *const what = "the collection is not valid";
	struct tower *t = ctx;
	const struct principal *p;
	const json_t *b = http_request_json(req);
	struct coll_new in = {.rule = {.role = ROLE_ANALYST, .read = true, .write = true}};
	struct svc_result res;
	int bad = 0;

	if (tw_need(req, resp, ACT_TAXII_MANAGE, &p) == SCOPE_NONE)
		return 0;
	if (!json_is_object(b))
		return tw_fail(resp, 422, "validation_failed",
			       "the body is a JSON object: alias, title, description");
	if (tw_only_fields(resp, b, fields, "collection") < 0)
		return 0;
	in.alias = json_string_value(json_object_get(b, "alias"));
	size_t n = in.alias ? strlen(in.alias) : 0;
	if (n == 0 || n > COLL_ALIAS_MAX || in.alias[0] == '-' ||
	    strspn(in.alias, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		bad_field(resp, &bad, what, "alias",
			  "is required: 1 to 64 of a-z, 0-9 and '-', not starting with '-'");
	else if (strncmp(in.alias, COLL_PARTNER, strlen(COLL_PARTNER)) == 0)
		bad_field(resp, &bad, what, "alias",
			  "partner-NAME is the collection of the [partners] pull NAME");
	texts_parse(resp, b, what, &in.title, &in.description, &bad);
	if (in.title == NULL && json_object_get(b, "title") == NULL)
		bad_field(resp, &bad, what, "title", "is required");
	if (bad)
		return 0;
	if (in.description == NULL)
		in.description = "";
	if (coll_id_of(in.alias, in.id, sizeof(in.id)) < 0)
		return tw_fail(resp, 503, "unavailable", "no id for the collection");
	if (svc_run(t, t->st, p, false, create_body, &in, &res) < 0)
		return svc_answer(resp, &res);
	char loc[100];
	snprintf(loc, sizeof(loc), "/api/v1/taxii/collections/%s", in.id);
	coll_answer(t, resp, in.id, 201);
	http_response_header(resp, "Location", loc);
	return 0;
}

/* PATCH /api/v1/taxii/collections/{id} {title, description}: either or
 * both. */
static int colls_update(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"title", "description", NULL};
	static const char *const what = "the collection is not valid";
	struct tower *t = ctx;
	const struct principal *p;
	const json_t *b = http_request_json(req);
	struct coll_edit in = {.id = http_request_param(req, "id")};
	struct svc_result res;
	int bad = 0;

	if (tw_need(req, resp, ACT_TAXII_MANAGE, &p) == SCOPE_NONE)
		return 0;
	if (!json_is_object(b))
		return tw_fail(resp, 422, "validation_failed",
			       "the body is a JSON object: title, description");
	if (tw_only_fields(resp, b, fields, "collection") < 0)
		return 0;
	texts_parse(resp, b, what, &in.title, &in.description, &bad);
	if (!bad && json_object_size(b) == 0)
		bad_field(resp, &bad, what, "title", "give a title, a description or both");
	if (bad)
		return 0;
	if (in.id == NULL || strlen(in.id) > 64)
		return tw_fail(resp, 404, "not_found", "no such collection");
	if (svc_run(t, t->st, p, false, update_body, &in, &res) < 0)
		return svc_answer(resp, &res);
	return coll_answer(t, resp, in.id, 200);
}

/* The roles a rule may name: those that reach the TAXII server at all. */
static void taxii_roles(char *out, size_t cap)
{
	size_t at = 0;

	out[0] = '\0';
	for (int r = 0; r < ROLE_COUNT; r++)
		if (authz_scope((enum role)r, ACT_TAXII) != SCOPE_NONE && at < cap)
			at += (size_t)snprintf(out + at, cap - at, "%s%s", at ? ", " : "",
					       role_name((enum role)r));
}

/* One rule of the list, i, into r: bad counted. */
static void rule_parse(struct http_response *resp, const json_t *v, size_t i, struct rule *r,
		       int *bad)
{
	static const char *const what = "the access rules are not valid";
	static const char *const known[] = {"role", "org", "read", "write", NULL};
	const json_t *role = json_object_get(v, "role"), *org = json_object_get(v, "org");
	const json_t *rd = json_object_get(v, "read"), *wr = json_object_get(v, "write"), *m;
	const char *key;
	char field[100], why[200], roles[120];
	int before = *bad;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(v)) {
		snprintf(field, sizeof(field), "rules[%zu]", i);
		bad_field(resp, bad, what, field, "must be an object: role, org, read, write");
		return;
	}
	json_object_foreach((json_t *)v, key, m)
	{
		size_t k;

		for (k = 0; known[k] != NULL && strcmp(known[k], key) != 0; k++)
			;
		if (known[k] != NULL)
			continue;
		/* The name as sent may be long or hold anything: cut and mask it. */
		snprintf(field, sizeof(field), "rules[%zu].%.60s", i, key);
		for (char *f = field; *f; f++)
			if ((unsigned char)*f < 0x20 || *f == 0x7f)
				*f = '?';
		bad_field(resp, bad, what, field, "unknown field");
	}
	int ro = json_is_string(role) ? role_parse(json_string_value(role)) : -1;
	snprintf(field, sizeof(field), "rules[%zu].role", i);
	if (ro < 0 || authz_scope((enum role)ro, ACT_TAXII) == SCOPE_NONE) {
		taxii_roles(roles, sizeof(roles));
		snprintf(why, sizeof(why), "must be a role that uses the TAXII server: %s", roles);
		bad_field(resp, bad, what, field, why);
	}
	r->role = ro < 0 ? ROLE_OPERATOR : (enum role)ro;
	snprintf(field, sizeof(field), "rules[%zu].org", i);
	if (json_is_integer(org) && json_integer_value(org) > 0)
		r->org_id = json_integer_value(org);
	else if (json_is_string(org) && tw_name_ok(json_string_value(org), COLL_ORG_MAX))
		r->org_name = json_string_value(org);
	else if (org != NULL && !json_is_null(org))
		bad_field(resp, bad, what, field,
			  "must be null (every organisation), an organisation's id or its name");
	snprintf(field, sizeof(field), "rules[%zu].read", i);
	if (rd != NULL && !json_is_boolean(rd))
		bad_field(resp, bad, what, field, "must be true or false");
	snprintf(field, sizeof(field), "rules[%zu].write", i);
	if (wr != NULL && !json_is_boolean(wr))
		bad_field(resp, bad, what, field, "must be true or false");
	r->read = json_is_true(rd);
	r->write = json_is_true(wr);
	snprintf(field, sizeof(field), "rules[%zu]", i);
	if (*bad == before && !r->read && !r->write)
		bad_field(resp, bad, what, field, "gives neither read nor write");
}

/* PUT /api/v1/taxii/collections/{id}/access {"rules": [...]}: the
 * collection's rules, all of them, in one change. */
static int colls_access(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"rules", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	const json_t *b = http_request_json(req), *rules = json_object_get(b, "rules"), *v;
	struct access_in in = {.id = http_request_param(req, "id")};
	struct svc_result res;
	char why[100];
	int bad = 0;
	size_t i;

	if (tw_need(req, resp, ACT_TAXII_MANAGE, &p) == SCOPE_NONE)
		return 0;
	if (!json_is_object(b) || !json_is_array(rules) ||
	    json_array_size(rules) > COLL_RULES_MAX) {
		if (json_is_object(b) && tw_only_fields(resp, b, fields, "access list") < 0)
			return 0;
		snprintf(why, sizeof(why), "is required: a list of at most %d rules",
			 COLL_RULES_MAX);
		bad_field(resp, &bad, "the access rules are not valid", "rules", why);
		return 0;
	}
	if (tw_only_fields(resp, b, fields, "access list") < 0)
		return 0;
	json_array_foreach(rules, i, v) rule_parse(resp, v, i, &in.rules[i], &bad);
	if (bad)
		return 0;
	in.n = json_array_size(rules);
	if (in.id == NULL || strlen(in.id) > 64)
		return tw_fail(resp, 404, "not_found", "no such collection");
	if (svc_run(t, t->st, p, false, access_body, &in, &res) < 0)
		return svc_answer(resp, &res);
	return coll_answer(t, resp, in.id, 200);
}

const struct tower_route tw_collection_routes[] = {
    {HTTP_GET, "/api/v1/taxii/collections", HTTP_ROUTE_AUTH, colls_list},
    {HTTP_POST, "/api/v1/taxii/collections", TW_AJ, colls_create},
    {HTTP_GET, "/api/v1/taxii/collections/{id}", HTTP_ROUTE_AUTH, colls_show},
    {HTTP_PATCH, "/api/v1/taxii/collections/{id}", TW_AJ, colls_update},
    {HTTP_PUT, "/api/v1/taxii/collections/{id}/access", TW_AJ, colls_access},
    {0, NULL, 0, NULL},
};
