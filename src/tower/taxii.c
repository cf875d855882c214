/* taxii.c - the tower as a TAXII 2.1 server (issue 14, docs/sharing.md):
 * collections of STIX 2.1 objects that operators, sensors and partners
 * read and write with the tools they already have.
 *
 *   GET  /taxii2/                                    discovery
 *   GET  /taxii2/api/                                the API root
 *   GET  /taxii2/api/collections/[{id}/]
 *   GET  /taxii2/api/collections/{id}/objects/       an envelope, paged
 *   POST /taxii2/api/collections/{id}/objects/       an envelope in, a status out
 *   GET  /taxii2/api/collections/{id}/objects/{object_id}/[versions/]
 *   GET  /taxii2/api/collections/{id}/manifest/
 *   GET  /taxii2/api/status/{status_id}/
 *
 * Every route speaks application/taxii+json;version=2.1, answers errors
 * in TAXII's error message form, and is reached with the tower's bearer
 * tokens. Who reads and writes a collection is taxii_access (a role, and
 * optionally one organisation). An object's TLP, read from its markings
 * when it is added, decides who sees it: TLP:AMBER+STRICT and TLP:RED go
 * to the office's analysts and the organisation that added the object,
 * and to nobody else, on every route that returns objects.
 *
 * Pages follow the order objects were added (date_added, then seq): the
 * cursor "next" is the last page's last (date_added, seq), which the index
 * (collection_id, date_added, seq) finds at once, so a page deep in a
 * collection costs what the first does, with added_after or without. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "stix/stix.h"
#include "tower/report.h"
#include "tower/tower_int.h"

#define TAXII_ROOT	   "/taxii2/api/"
#define TAXII_LIMIT	   100	/* objects a page when the client says nothing */
#define TAXII_LIMIT_MAX	   1000 /* and at most */
#define TAXII_ENVELOPE_MAX 1000 /* objects an envelope may carry */
#define TAXII_MATCH_MAX	   64	/* values one match[] filter may list */
/* Objects at TLP:AMBER+STRICT and above reach their audience only. */
#define TAXII_TLP_STRICT_SQL "4"
_Static_assert(STIX_TLP_AMBER_STRICT == 4 && STIX_TLP_RED == 5, "the stored TLP levels");

static json_t *taxii_error(int status, const char *code, const char *message, json_t **fields_in)
{
	char st[8];
	json_t *details = json_object();

	snprintf(st, sizeof(st), "%d", status);
	*fields_in = details;
	return json_pack("{s:s,s:s,s:s,s:o}", "title", message, "error_code", code, "http_status",
			 st, "details", details);
}

const struct http_media tw_taxii_media = {
	.ctype = "application/taxii+json;version=2.1",
	.type = "application/taxii+json",
	.version = "2.1",
	.error = taxii_error,
};

/* ---- who may read and write ------------------------------------------- */

struct coll {
	char id[64];
	bool read, write;
};

/* Collection id as the caller may use it: 0, or -1 after answering 404
 * (a collection the caller may neither read nor write is not there). */
static int coll_access(struct tower *t, struct http_response *resp, const struct principal *p,
		       const char *id, struct coll *c)
{
	struct store_param ps[] = {store_text(id), store_text(role_name(p->role)),
				   store_int64(p->org_id)};
	struct store_res *r = NULL;

	memset(c, 0, sizeof(*c));
	if (id == NULL || strlen(id) >= sizeof(c->id))
		return tw_fail(resp, 404, "not_found", "no such collection"), -1;
	if (tw_query(t, resp,
		     "SELECT MAX(can_read), MAX(can_write) FROM taxii_access WHERE collection_id = ? "
		     "AND role = ? AND (org_id IS NULL OR org_id = ?)",
		     ps, 3, &r) < 0)
		return -1;
	c->read = store_res_nrows(r) == 1 && !store_res_isnull(r, 0, 0) && store_res_int64(r, 0, 0);
	c->write = store_res_nrows(r) == 1 && !store_res_isnull(r, 0, 1) && store_res_int64(r, 0, 1);
	store_res_free(r);
	if (!c->read && !c->write)
		return tw_fail(resp, 404, "not_found", "no such collection"), -1;
	snprintf(c->id, sizeof(c->id), "%s", id);
	return 0;
}

/* The SQL condition that keeps objects (alias s) the caller may see,
 * with its parameter at ps[*n]: the TLP rule of the file's head. */
static const char *tlp_sql(const struct principal *p, struct store_param *ps, size_t *n)
{
	if (p->role == ROLE_ANALYST)
		return "";
	ps[(*n)++] = store_int64(p->org_id > 0 ? p->org_id : -1);
	return " AND (s.tlp < " TAXII_TLP_STRICT_SQL " OR s.org_id = ?)";
}

/* ---- discovery, the API root, collections ------------------------------ */

static int taxii_discovery(struct http_request *req, struct http_response *resp, void *ctx)
{
	const struct principal *p;
	char root[600];
	const char *host = http_request_header(req, "Host");

	(void)ctx;
	if (tw_need(req, resp, ACT_TAXII, &p) == SCOPE_NONE)
		return 0;
	/* Absolute, as the specification has it; the host the client used. */
	if (host != NULL && strlen(host) < 256 && strpbrk(host, "/\\ \"") == NULL)
		snprintf(root, sizeof(root), "http://%s" TAXII_ROOT, host);
	else
		snprintf(root, sizeof(root), TAXII_ROOT);
	return http_response_json(
		resp, 200,
		json_pack("{s:s,s:s,s:s,s:[s]}", "title", "yagura control tower", "description",
			  "Warnings, indicators and sightings shared by the national cyber "
			  "security office",
			  "default", root, "api_roots", root));
}

static int taxii_api_root(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;

	if (tw_need(req, resp, ACT_TAXII, &p) == SCOPE_NONE)
		return 0;
	return http_response_json(resp, 200,
				  json_pack("{s:s,s:s,s:[s],s:I}", "title", "yagura", "description",
					    "The office's collections", "versions",
					    tw_taxii_media.ctype, "max_content_length",
					    (json_int_t)t->cfg.max_body));
}

static json_t *coll_json(const struct store_res *r, size_t i)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:[s]}", "id", store_res_text(r, i, 0), "alias",
			 store_res_text(r, i, 1), "title", store_res_text(r, i, 2), "description",
			 store_res_text(r, i, 3), "can_read", store_res_int64(r, i, 4) != 0,
			 "can_write", store_res_int64(r, i, 5) != 0, "media_types",
			 "application/stix+json;version=2.1");
}

/* GET /taxii2/api/collections/[{id}/]: those the caller may use. */
static int taxii_collections(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	const char *id = http_request_param(req, "id");
	struct store_param ps[3];
	struct store_res *r = NULL;
	size_t n = 0;
	char sql[600];

	if (tw_need(req, resp, ACT_TAXII, &p) == SCOPE_NONE)
		return 0;
	ps[n++] = store_text(role_name(p->role));
	ps[n++] = store_int64(p->org_id);
	if (id != NULL)
		ps[n++] = store_text(id);
	snprintf(sql, sizeof(sql),
		 "SELECT c.id, c.alias, c.title, c.description, MAX(a.can_read), MAX(a.can_write) "
		 "FROM taxii_collections c JOIN taxii_access a ON a.collection_id = c.id WHERE "
		 "a.role = ? AND (a.org_id IS NULL OR a.org_id = ?)%s GROUP BY c.id, c.alias, "
		 "c.title, c.description HAVING MAX(a.can_read) > 0 OR MAX(a.can_write) > 0 ORDER "
		 "BY c.id",
		 id != NULL ? " AND c.id = ?" : "");
	if (tw_query(t, resp, sql, ps, n, &r) < 0)
		return 0;
	if (id != NULL) {
		if (store_res_nrows(r) != 1) {
			store_res_free(r);
			return tw_fail(resp, 404, "not_found", "no such collection");
		}
		http_response_json(resp, 200, coll_json(r, 0));
	} else {
		json_t *a = json_array();

		for (size_t i = 0; i < store_res_nrows(r); i++)
			json_array_append_new(a, coll_json(r, i));
		http_response_json(resp, 200, json_pack("{s:o}", "collections", a));
	}
	store_res_free(r);
	return 0;
}

/* ---- filters ------------------------------------------------------------ */

/* A query's filters as SQL on stix_objects s, for the objects, manifest
 * and versions routes. */
struct filter {
	char sql[2048];
	size_t len;
	struct store_param ps[4 * TAXII_MATCH_MAX + 8];
	size_t n;
	char *buf; /* the match[] values, split in place (the request's arena) */
	long long limit;
	int64_t next, next_added; /* the cursor: after (next_added, next) */
};

static void f_add(struct filter *f, const char *s)
{
	size_t n = strlen(s);

	if (f->len + n < sizeof(f->sql)) {
		memcpy(f->sql + f->len, s, n + 1);
		f->len += n;
	}
}

/* match[name]=a,b,c as " AND (col = ? OR ...)"; the values' texts are
 * checked by ok. -1 after answering 400. */
static int f_match(struct http_request *req, struct http_response *resp, struct filter *f,
		   const char *name, const char *col, bool (*ok)(const char *v))
{
	const char *v = http_request_query(req, name);
	char msg[120];
	int k = 0;

	if (v == NULL)
		return 0;
	char *copy = http_arena_strdup(http_request_arena(req), v), *save = NULL;
	if (copy == NULL)
		return tw_fail(resp, 503, "unavailable", "out of memory"), -1;
	f_add(f, " AND (");
	for (char *s = strtok_r(copy, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save)) {
		if (++k > TAXII_MATCH_MAX || !ok(s)) {
			snprintf(msg, sizeof(msg), "%s: at most %d values, each valid", name,
				 TAXII_MATCH_MAX);
			return tw_fail(resp, 400, "bad_query", msg), -1;
		}
		f_add(f, k > 1 ? " OR " : "");
		f_add(f, col);
		f_add(f, " = ?");
		f->ps[f->n++] = store_text(s);
	}
	if (k == 0) {
		snprintf(msg, sizeof(msg), "%s: give at least one value", name);
		return tw_fail(resp, 400, "bad_query", msg), -1;
	}
	f_add(f, ")");
	return 0;
}

static bool ok_id(const char *s)
{
	return stix_id_valid(s, NULL);
}

static bool ok_type(const char *s)
{
	size_t n = strlen(s);

	return n >= 3 && n <= 250 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static bool ok_spec(const char *s)
{
	return strcmp(s, "2.1") == 0 || strcmp(s, "2.0") == 0;
}

/* The filters every listing takes: added_after, match[id], match[type],
 * match[version], match[spec_version], limit, next. versions: the
 * match[version] default is "all" there, "last" elsewhere. */
static int f_parse(struct http_request *req, struct http_response *resp, struct filter *f,
		   const char *coll, const char *object_id, bool versions)
{
	static const char *const known[] = {"added_after", "match[id]", "match[type]",
					    "match[version]", "match[spec_version]", "limit",
					    "next", NULL};
	const char *after = http_request_query(req, "added_after"),
		   *version = http_request_query(req, "match[version]"),
		   *next = http_request_query(req, "next");
	long long limit = TAXII_LIMIT;
	int64_t t;

	memset(f, 0, sizeof(*f));
	if (tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "limit", 1, INT32_MAX, &limit) < 0)
		return -1;
	f->limit = limit > TAXII_LIMIT_MAX ? TAXII_LIMIT_MAX : limit;
	f_add(f, " WHERE s.collection_id = ?");
	f->ps[f->n++] = store_text(coll);
	if (object_id != NULL) {
		f_add(f, " AND s.stix_id = ?");
		f->ps[f->n++] = store_text(object_id);
	}
	if (after != NULL) {
		if (report_parse_time(after, &t) < 0)
			return tw_fail(resp, 400, "bad_query",
				       "added_after must be a time such as 2026-12-01T00:00:00Z"),
			       -1;
		f_add(f, " AND s.date_added > ?");
		f->ps[f->n++] = store_int64(t);
	}
	if (next != NULL) {
		char *end, *end2;
		long long added = strtoll(next, &end, 10), seq = *end == '-' ? strtoll(end + 1, &end2, 10)
									     : -1;

		if (*next < '0' || *next > '9' || *end != '-' || end[1] < '0' || end[1] > '9' ||
		    *end2 != '\0' || added < 0 || seq < 1)
			return tw_fail(resp, 400, "bad_query", "next is not one this server gave"),
			       -1;
		f->next = seq;
		f->next_added = added;
	}
	if (f_match(req, resp, f, "match[id]", "s.stix_id", ok_id) < 0 ||
	    f_match(req, resp, f, "match[type]", "s.type", ok_type) < 0)
		return -1;
	if (http_request_query(req, "match[spec_version]") != NULL) {
		if (f_match(req, resp, f, "match[spec_version]", "s.spec_version", ok_spec) < 0)
			return -1;
	} else {
		f_add(f, " AND s.spec_version = '2.1'");
	}
	if (version == NULL)
		version = versions ? "all" : "last";
	/* last, first, all, or versions by their modified times. */
	char *copy = http_arena_strdup(http_request_arena(req), version), *save = NULL;
	bool all = false, first = false, last = false;
	int k = 0;
	if (copy == NULL)
		return tw_fail(resp, 503, "unavailable", "out of memory"), -1;
	char times[TAXII_MATCH_MAX][32];
	for (char *s = strtok_r(copy, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save)) {
		if (strcmp(s, "all") == 0)
			all = true;
		else if (strcmp(s, "first") == 0)
			first = true;
		else if (strcmp(s, "last") == 0)
			last = true;
		else if (k < TAXII_MATCH_MAX && report_parse_time(s, &t) == 0)
			snprintf(times[k++], sizeof(times[0]), "%lld", (long long)t);
		else
			return tw_fail(resp, 400, "bad_query",
				       "match[version] is last, first, all or times"),
			       -1;
	}
	if (!all) {
		f_add(f, " AND (1 = 0");
		if (last)
			f_add(f, " OR s.version_us = (SELECT MAX(v.version_us) FROM stix_objects v "
				 "WHERE v.collection_id = s.collection_id AND v.stix_id = s.stix_id AND "
				 "NOT EXISTS (SELECT 1 FROM stix_deletions d WHERE d.collection_id = "
				 "v.collection_id AND d.stix_id = v.stix_id AND (d.version_us IS NULL OR "
				 "d.version_us = v.version_us)))");
		if (first)
			f_add(f, " OR s.version_us = (SELECT MIN(v.version_us) FROM stix_objects v "
				 "WHERE v.collection_id = s.collection_id AND v.stix_id = s.stix_id AND "
				 "NOT EXISTS (SELECT 1 FROM stix_deletions d WHERE d.collection_id = "
				 "v.collection_id AND d.stix_id = v.stix_id AND (d.version_us IS NULL OR "
				 "d.version_us = v.version_us)))");
		for (int i = 0; i < k; i++) {
			f_add(f, " OR s.version_us = ");
			f_add(f, times[i]);
		}
		f_add(f, ")");
	}
	if (f->next > 0) {
		/* A plain range first, which every engine's index takes. */
		f_add(f, " AND s.date_added >= ? AND (s.date_added > ? OR s.seq > ?)");
		f->ps[f->n++] = store_int64(f->next_added);
		f->ps[f->n++] = store_int64(f->next_added);
		f->ps[f->n++] = store_int64(f->next);
	}
	if (f->len + 1 >= sizeof(f->sql))
		return tw_fail(resp, 400, "bad_query", "the filters are too long"), -1;
	return 0;
}

/* An object deleted (stix_deletions) is left out of every read. */
#define NOT_DELETED                                                                            \
	" AND NOT EXISTS (SELECT 1 FROM stix_deletions d WHERE d.collection_id = "                \
	"s.collection_id AND d.stix_id = s.stix_id AND (d.version_us IS NULL OR d.version_us = "  \
	"s.version_us))"

/* The page's rows (cols, then seq and date_added) or -1 after answering. */
static int f_run(struct tower *t, struct http_response *resp, const struct principal *p,
		 struct filter *f, const char *cols, struct store_res **r)
{
	char sql[2600];
	const char *tlp = tlp_sql(p, f->ps, &f->n);

	snprintf(sql, sizeof(sql),
		 "SELECT %s, s.seq, s.date_added FROM stix_objects s%s%s" NOT_DELETED
		 " ORDER BY s.date_added, s.seq LIMIT %lld",
		 cols, f->sql, tlp, f->limit + 1);
	return tw_query(t, resp, sql, f->ps, f->n, r);
}

/* The page's paging: "more", "next", and the added-first/last headers. */
static void page_meta(struct http_response *resp, const struct store_res *r, long long limit,
		      json_t *o, size_t *shown)
{
	size_t rows = store_res_nrows(r), n = rows > (size_t)limit ? (size_t)limit : rows;
	size_t cs = tw_col(r, "seq"), ca = tw_col(r, "date_added");

	*shown = n;
	json_object_set_new(o, "more", json_boolean(rows > n));
	if (rows > n) {
		char next[48];

		snprintf(next, sizeof(next), "%lld-%lld", (long long)store_res_int64(r, n - 1, ca),
			 (long long)store_res_int64(r, n - 1, cs));
		json_object_set_new(o, "next", json_string(next));
	}
	if (n > 0) {
		json_t *a = tw_time(store_res_int64(r, 0, ca)), *b = tw_time(store_res_int64(r, n - 1, ca));

		http_response_header(resp, "X-TAXII-Date-Added-First", json_string_value(a));
		http_response_header(resp, "X-TAXII-Date-Added-Last", json_string_value(b));
		json_decref(a);
		json_decref(b);
	}
}

/* ---- objects ------------------------------------------------------------ */

/* What every read route does first: the caller may read the collection,
 * the object the path names (if it names one) is an id, the filters
 * parse; then the page's rows of cols. 0 with *r, or -1 after answering. */
static int read_rows(struct http_request *req, struct http_response *resp, struct tower *t,
		     bool by_object, bool versions, const char *cols, struct filter *f,
		     struct store_res **r)
{
	const struct principal *p;
	struct coll c;
	const char *oid = by_object ? http_request_param(req, "object_id") : NULL;

	if (tw_need(req, resp, ACT_TAXII, &p) == SCOPE_NONE ||
	    coll_access(t, resp, p, http_request_param(req, "id"), &c) < 0)
		return -1;
	if (!c.read)
		return tw_fail(resp, 403, "forbidden", "you may not read this collection"), -1;
	if (by_object && !stix_id_valid(oid, NULL))
		return tw_fail(resp, 404, "not_found", "no such object"), -1;
	if (f_parse(req, resp, f, c.id, oid, versions) < 0 || f_run(t, resp, p, f, cols, r) < 0)
		return -1;
	return 0;
}

/* Answers envelope o with list a under key: 404 when a route about one
 * object finds none of it on the first page. */
static int answer_list(struct http_response *resp, const struct filter *f, bool by_object,
		       json_t *o, json_t *a, const char *key)
{
	if (by_object && json_array_size(a) == 0 && f->next == 0) {
		json_decref(o);
		json_decref(a);
		return tw_fail(resp, 404, "not_found", "no such object");
	}
	if (json_array_size(a) > 0)
		json_object_set_new(o, key, a);
	else
		json_decref(a);
	return http_response_json(resp, 200, o);
}

/* GET .../objects/[{object_id}/]: an envelope. */
static int taxii_objects_get(struct http_request *req, struct http_response *resp, void *ctx)
{
	bool by_object = http_request_param(req, "object_id") != NULL;
	struct filter f;
	struct store_res *r = NULL;
	size_t shown;

	if (read_rows(req, resp, ctx, by_object, false, "s.body", &f, &r) < 0)
		return 0;
	json_t *o = json_object(), *objs = json_array();
	page_meta(resp, r, f.limit, o, &shown);
	for (size_t i = 0; i < shown; i++) {
		json_t *v = yg_json_loads(store_res_text(r, i, 0), 0, NULL);

		if (v != NULL)
			json_array_append_new(objs, v);
	}
	store_res_free(r);
	return answer_list(resp, &f, by_object, o, objs, "objects");
}

/* GET .../manifest/ and .../objects/{object_id}/versions/ */
static int taxii_manifest_or_versions(struct http_request *req, struct http_response *resp,
				      struct tower *t, bool versions)
{
	struct filter f;
	struct store_res *r = NULL;
	size_t shown;

	if (read_rows(req, resp, t, versions, versions, "s.stix_id, s.version", &f, &r) < 0)
		return 0;
	json_t *o = json_object(), *a = json_array();
	page_meta(resp, r, f.limit, o, &shown);
	for (size_t i = 0; i < shown; i++) {
		if (versions) {
			json_array_append_new(a, json_string(store_res_text(r, i, 1)));
			continue;
		}
		json_array_append_new(
			a, json_pack("{s:s,s:o,s:s,s:s}", "id", store_res_text(r, i, 0), "date_added",
				     tw_time(store_res_int64(r, i, tw_col(r, "date_added"))), "version",
				     store_res_text(r, i, 1), "media_type",
				     "application/stix+json;version=2.1"));
	}
	store_res_free(r);
	return answer_list(resp, &f, versions, o, a, versions ? "versions" : "objects");
}

static int taxii_manifest(struct http_request *req, struct http_response *resp, void *ctx)
{
	return taxii_manifest_or_versions(req, resp, ctx, false);
}

static int taxii_versions(struct http_request *req, struct http_response *resp, void *ctx)
{
	return taxii_manifest_or_versions(req, resp, ctx, true);
}

/* ---- adding ------------------------------------------------------------- */

struct add_obj {
	const char *id, *type, *spec, *version;
	int64_t version_us;
	int tlp;
	char *body;
};

struct add {
	const char *coll;
	char status_id[STIX_ID_MAX];
	struct add_obj *o;
	size_t n;
	json_t *failures;
	int64_t batch;
	int64_t user_id, org_id; /* whose envelope; org 0: none (the office) */
	/* Run first in the transaction (the sightings' cursor); returns 0,
	 * a negative yg_err, or 1 when there is nothing to do after all. */
	int (*before)(struct store_conn *c, void *arg);
	void *before_arg;
};

/* One object of an envelope checked: 0, or a reason it is refused. */
static const char *obj_check(json_t *v, struct add_obj *o, int64_t now)
{
	const char *mod, *created;

	if (!json_is_object(v))
		return "not an object";
	o->id = json_string_value(json_object_get(v, "id"));
	o->type = json_string_value(json_object_get(v, "type"));
	o->spec = json_string_value(json_object_get(v, "spec_version"));
	if (o->type == NULL || !ok_type(o->type))
		return "no valid type";
	if (o->id == NULL || !stix_id_valid(o->id, o->type))
		return "no valid id of its type";
	if (o->spec == NULL)
		o->spec = "2.1"; /* SCOs may leave it out */
	if (!ok_spec(o->spec))
		return "spec_version is not 2.1";
	mod = json_string_value(json_object_get(v, "modified"));
	created = json_string_value(json_object_get(v, "created"));
	o->version = mod != NULL ? mod : created;
	o->version_us = now;
	if (o->version != NULL && report_parse_time(o->version, &o->version_us) < 0)
		return "modified (or created) is not a timestamp";
	if (o->version == NULL)
		o->version = "";
	/* Unmarked objects are shared as TLP:AMBER: with the collection's
	 * readers, who are the community it was posted to, and no further;
	 * a marking this tower cannot tell is harmless makes them RED. A
	 * marking definition itself is public. */
	enum stix_tlp tlp = stix_tlp_of_refs(json_object_get(v, "object_marking_refs"), NULL);
	if (strcmp(o->type, "marking-definition") == 0)
		tlp = STIX_TLP_CLEAR;
	o->tlp = (int)(tlp == STIX_TLP_NONE ? STIX_TLP_AMBER : tlp);
	o->body = yg_json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	return o->body == NULL ? "out of memory" : NULL;
}

static int add_body(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct add *a = arg;
	struct rec_set set = {0};
	struct rec_ref ref = {.t = REC_STIX_OBJECTS};
	size_t ok = 0;
	char *failures;
	int rc;

	if (a->before != NULL && (rc = a->before(c, a->before_arg)) != 0)
		return rc > 0 ? svc_unchanged(x) : rc;
	for (size_t i = 0; i < a->n; i++)
		ok += a->o[i].body != NULL;
	failures = yg_json_dumps(a->failures, JSON_COMPACT);
	struct store_param ps[] = {store_text(a->status_id), store_text(a->coll),
				   a->user_id > 0 ? store_int64(a->user_id) : store_null(),
				   store_int64((int64_t)a->n),
				   store_int64((int64_t)ok), store_int64((int64_t)(a->n - ok)),
				   store_text(failures ? failures : "[]"), store_int64(x->now)};
	rc = svc_write(x, c, REC_TAXII_STATUS,
		       "INSERT INTO taxii_status (status_id, collection_id, user_id, total, success, "
		       "failure, failures, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		       ps, 8, &a->batch);
	free(failures);
	for (size_t i = 0; rc == 0 && i < a->n; i++) {
		const struct add_obj *o = &a->o[i];

		if (o->body == NULL)
			continue;
		struct store_param po[] = {store_int64(a->batch),  store_text(a->coll),
					   store_text(o->id),	   store_text(o->type),
					   store_text(o->version), store_int64(o->version_us),
					   store_text(o->spec),	   store_int64(x->now),
					   store_int64(o->tlp),
					   a->org_id > 0 ? store_int64(a->org_id) : store_null(),
					   store_text(o->body)};
		/* A version the collection holds already is a success, not a
		 * second row (TAXII: adding it again changes nothing). */
		int64_t added = 0;
		rc = store_exec(c,
				"INSERT INTO stix_objects (batch_id, collection_id, stix_id, type, "
				"version, version_us, spec_version, date_added, tlp, org_id, body) "
				"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
				po, 11, NULL, &added);
		if (rc == 0 && added == 1 &&
		    (rc = rec_row_params(REC_STIX_OBJECTS, po + 1, &ref.h)) == 0)
			rc = rec_set_add(&set, &ref.h);
	}
	if (rc == 0) {
		rec_set_hash(REC_STIX_OBJECTS, &set, &ref.h, &ref.count);
		ref.key[0] = a->batch;
		rc = svc_row(x, &ref);
	}
	rec_set_free(&set);
	if (rc < 0)
		return rc;
	return svc_changed(x, c, CHANGE_TAXII_ADD, a->batch);
}

static json_t *status_json(const struct store_res *r, size_t i)
{
	json_t *f = yg_json_loads(store_res_text(r, i, tw_col(r, "failures")), 0, NULL);

	return json_pack("{s:s,s:s,s:o,s:I,s:I,s:I,s:I,s:o}", "id",
			 store_res_text(r, i, tw_col(r, "status_id")), "status", "complete",
			 "request_timestamp", tw_time(store_res_int64(r, i, tw_col(r, "created"))),
			 "total_count", (json_int_t)store_res_int64(r, i, tw_col(r, "total")),
			 "success_count", (json_int_t)store_res_int64(r, i, tw_col(r, "success")),
			 "failure_count", (json_int_t)store_res_int64(r, i, tw_col(r, "failure")),
			 "pending_count", (json_int_t)0, "failures", f != NULL ? f : json_array());
}

static int status_answer(struct tower *t, struct http_response *resp, const char *status_id,
			 const struct principal *p, int code)
{
	struct store_param ps[] = {store_text(status_id), store_int64(p->user_id)};
	struct store_res *r = NULL;

	if (tw_query(t, resp,
		     "SELECT status_id, created, total, success, failure, failures FROM taxii_status "
		     "WHERE status_id = ? AND user_id = ?",
		     ps, 2, &r) < 0)
		return 0;
	if (store_res_nrows(r) != 1) {
		store_res_free(r);
		return tw_fail(resp, 404, "not_found", "no such status");
	}
	http_response_json(resp, code, status_json(r, 0));
	store_res_free(r);
	return 0;
}

int tw_taxii_add(struct tower *t, const struct principal *p, const char *coll, const json_t *objs,
		 const struct add_hooks *h, char *status_id, size_t cap, struct svc_result *res)
{
	struct add a = {.coll = coll, .user_id = h->user_id, .org_id = h->org_id,
			.before = h->before, .before_arg = h->before_arg};
	char uuid[STIX_ID_MAX];
	int rc;

	memset(res, 0, sizeof(*res));
	if (stix_id_new("status", uuid) < 0)
		return svc_refuse(res, SVC_UNAVAILABLE, "unavailable", "no randomness");
	snprintf(a.status_id, sizeof(a.status_id), "%s", uuid + 8); /* the UUID of "status--..." */
	snprintf(status_id, cap, "%s", a.status_id);
	a.n = json_array_size(objs);
	a.o = calloc(a.n ? a.n : 1, sizeof(*a.o));
	a.failures = json_array();
	if (a.o == NULL || a.failures == NULL) {
		free(a.o);
		json_decref(a.failures);
		return svc_refuse(res, SVC_UNAVAILABLE, "unavailable", "out of memory");
	}
	int64_t now = tw_now_us();
	for (size_t i = 0; i < a.n; i++) {
		json_t *v = json_array_get(objs, i);
		const char *why = obj_check(v, &a.o[i], now);

		if (why != NULL) {
			const char *id = json_string_value(json_object_get(v, "id"));

			free(a.o[i].body);
			a.o[i].body = NULL;
			json_array_append_new(a.failures,
					      json_pack("{s:s,s:s}", "id", id ? id : "", "message", why));
		}
	}
	rc = svc_run(t, t->st, p, false, add_body, &a, res);
	for (size_t i = 0; i < a.n; i++)
		free(a.o[i].body);
	free(a.o);
	json_decref(a.failures);
	return rc;
}

/* POST .../objects/: {"objects": [...]} */
static int taxii_objects_post(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	const json_t *b = http_request_json(req), *objs = json_object_get(b, "objects");
	struct coll c;
	char status_id[STIX_ID_MAX];
	struct svc_result res;

	if (tw_need(req, resp, ACT_TAXII, &p) == SCOPE_NONE ||
	    coll_access(t, resp, p, http_request_param(req, "id"), &c) < 0)
		return 0;
	if (!c.write)
		return tw_fail(resp, 403, "forbidden", "you may not write to this collection");
	if (!json_is_array(objs) || json_array_size(objs) == 0 ||
	    json_array_size(objs) > TAXII_ENVELOPE_MAX)
		return tw_fail(resp, 422, "validation_failed",
			       "an envelope holds \"objects\": 1 to 1000 STIX objects");
	struct add_hooks h = {.user_id = p->user_id, .org_id = p->org_id};
	if (tw_taxii_add(t, p, c.id, objs, &h, status_id, sizeof(status_id), &res) < 0)
		return svc_answer(resp, &res);
	return status_answer(t, resp, status_id, p, 202);
}

struct del {
	const char *coll, *id;
	int64_t versions[TAXII_MATCH_MAX];
	int nversions; /* 0: every version */
};

static int del_body(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct del *d = arg;
	int64_t id = 0;
	int rc = 0;

	for (int i = 0; rc == 0 && i < (d->nversions ? d->nversions : 1); i++) {
		struct store_param ps[] = {store_text(d->coll), store_text(d->id),
					   d->nversions ? store_int64(d->versions[i]) : store_null(),
					   store_int64(x->p->user_id), store_int64(x->now)};
		rc = svc_write(x, c, REC_STIX_DELETIONS,
			       "INSERT INTO stix_deletions (collection_id, stix_id, version_us, user_id, "
			       "created) VALUES (?, ?, ?, ?, ?)",
			       ps, 5, &id);
	}
	return rc < 0 ? rc : svc_changed(x, c, CHANGE_TAXII_DELETE, id);
}

/* DELETE .../objects/{object_id}/[?match[version]=...]: every version, or
 * those named (at most SVC_ROWS_MAX a request, as one change holds). */
static int taxii_delete(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"match[version]", "match[spec_version]", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	const char *oid = http_request_param(req, "object_id"),
		   *ver = http_request_query(req, "match[version]");
	struct coll c;
	struct del d = {0};
	struct svc_result res;
	struct store_res *r = NULL;

	if (tw_need(req, resp, ACT_TAXII, &p) == SCOPE_NONE ||
	    tw_query_known(req, resp, known) < 0 ||
	    coll_access(t, resp, p, http_request_param(req, "id"), &c) < 0)
		return 0;
	if (!c.write)
		return tw_fail(resp, 403, "forbidden", "you may not write to this collection");
	if (!stix_id_valid(oid, NULL))
		return tw_fail(resp, 404, "not_found", "no such object");
	if (ver != NULL && strcmp(ver, "all") != 0) {
		char *copy = http_arena_strdup(http_request_arena(req), ver), *save = NULL;

		for (char *s = strtok_r(copy, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save)) {
			if (d.nversions == SVC_ROWS_MAX - 1 ||
			    report_parse_time(s, &d.versions[d.nversions]) < 0)
				return tw_fail(resp, 400, "bad_query",
					       "match[version] is all, or up to 3 versions' times");
			d.nversions++;
		}
	}
	/* Only what the caller could read is there for it to delete. */
	struct filter f;
	if (f_parse(req, resp, &f, c.id, oid, true) < 0 || f_run(t, resp, p, &f, "s.version_us", &r) < 0)
		return 0;
	size_t found = store_res_nrows(r);
	store_res_free(r);
	if (found == 0)
		return tw_fail(resp, 404, "not_found", "no such object");
	d.coll = c.id;
	d.id = oid;
	if (svc_run(t, t->st, p, false, del_body, &d, &res) < 0)
		return svc_answer(resp, &res);
	http_response_status(resp, 200);
	return 0;
}

/* GET /taxii2/api/status/{status_id}/: one's own. */
static int taxii_status(struct http_request *req, struct http_response *resp, void *ctx)
{
	const struct principal *p;

	if (tw_need(req, resp, ACT_TAXII, &p) == SCOPE_NONE)
		return 0;
	return status_answer(ctx, resp, http_request_param(req, "status_id"), p, 200);
}

/* All in tw_taxii_media (tower.c registers them so). */
#define TX(m, path, flags, fn) {m, path, flags, fn}

const struct tower_route tw_taxii_routes[] = {
	TX(HTTP_GET, "/taxii2/", HTTP_ROUTE_AUTH, taxii_discovery),
	TX(HTTP_GET, TAXII_ROOT, HTTP_ROUTE_AUTH, taxii_api_root),
	TX(HTTP_GET, TAXII_ROOT "collections/", HTTP_ROUTE_AUTH, taxii_collections),
	TX(HTTP_GET, TAXII_ROOT "collections/{id}/", HTTP_ROUTE_AUTH, taxii_collections),
	TX(HTTP_GET, TAXII_ROOT "collections/{id}/objects/", HTTP_ROUTE_AUTH, taxii_objects_get),
	TX(HTTP_POST, TAXII_ROOT "collections/{id}/objects/", TW_AJ, taxii_objects_post),
	TX(HTTP_GET, TAXII_ROOT "collections/{id}/objects/{object_id}/", HTTP_ROUTE_AUTH,
	   taxii_objects_get),
	TX(HTTP_DELETE, TAXII_ROOT "collections/{id}/objects/{object_id}/", HTTP_ROUTE_AUTH,
	   taxii_delete),
	TX(HTTP_GET, TAXII_ROOT "collections/{id}/objects/{object_id}/versions/", HTTP_ROUTE_AUTH,
	   taxii_versions),
	TX(HTTP_GET, TAXII_ROOT "collections/{id}/manifest/", HTTP_ROUTE_AUTH, taxii_manifest),
	TX(HTTP_GET, TAXII_ROOT "status/{status_id}/", HTTP_ROUTE_AUTH, taxii_status),
	/* taxii2-client asks for a pending status without the slash */
	TX(HTTP_GET, TAXII_ROOT "status/{status_id}", HTTP_ROUTE_AUTH, taxii_status),
	{0, NULL, 0, NULL},
};
