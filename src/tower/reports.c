/* reports.c - incident reports under the reporting obligation: the prompt
 * report, its later versions (detailed, final), closing, and reading them
 * within the caller's scope. What a report must hold at each stage is
 * report.c's; deadlines follow the configured policy. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/json.h"
#include "tower/report_int.h"
#include "tower/tower_int.h"

/* ---- reading ----------------------------------------------------------- */

#define REPORT_COLS                                                                      \
	"r.id, r.org_id, r.stage, r.category, r.severity, r.detected_at, r.updated, "    \
	"r.due_detailed, r.due_final, r.version, o.sector, o.name AS org"

/* A report's row, read by column name. */
struct report_view {
	int64_t id, org_id, detected, updated, due_detailed, due_final, version;
	const char *stage, *category, *severity, *sector, *org;
};

static void report_view_read(const struct store_res *r, size_t i, struct report_view *v)
{
	v->id = store_res_int64(r, i, tw_col(r, "id"));
	v->org_id = store_res_int64(r, i, tw_col(r, "org_id"));
	v->detected = store_res_int64(r, i, tw_col(r, "detected_at"));
	v->updated = store_res_int64(r, i, tw_col(r, "updated"));
	v->due_detailed = store_res_int64(r, i, tw_col(r, "due_detailed"));
	v->due_final = store_res_int64(r, i, tw_col(r, "due_final"));
	v->version = store_res_int64(r, i, tw_col(r, "version"));
	v->stage = store_res_text(r, i, tw_col(r, "stage"));
	v->category = store_res_text(r, i, tw_col(r, "category"));
	v->severity = store_res_text(r, i, tw_col(r, "severity"));
	v->sector = store_res_text(r, i, tw_col(r, "sector"));
	v->org = store_res_text(r, i, tw_col(r, "org"));
}

/* One report as the API shows it. */
static json_t *report_json(const struct report_view *v, int64_t now)
{
	int64_t next = strcmp(v->stage, "prompt") == 0	  ? v->due_detailed
		       : strcmp(v->stage, "detailed") == 0 ? v->due_final
							     : 0;
	json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:o}", "id",
			      (json_int_t)v->id, "org_id", (json_int_t)v->org_id, "org", v->org,
			      "stage", v->stage, "category", v->category, "severity", v->severity,
			      "sector", v->sector, "version", (json_int_t)v->version, "detected_at",
			      tw_time(v->detected), "updated", tw_time(v->updated), "next_due",
			      tw_time(next));

	if (o != NULL && next != 0 && next < now) {
		json_object_set_new(o, "overdue", json_true());
		json_object_set_new(o, "overdue_by_seconds", json_integer((next - now) / -1000000));
	} else if (o != NULL) {
		json_object_set_new(o, "overdue", json_false());
	}
	return o;
}

/* A filter of the list: its query parameter, the column it compares, and
 * the values it may take (NULL: any name of a known sector). */
static const struct {
	const char *name, *col;
	const char *const *values;
} list_filters[] = {
	{"stage", "r.stage", (const char *const[]){"prompt", "detailed", "final", "closed", NULL}},
	{"category", "r.category", report_categories},
	{"severity", "r.severity", (const char *const[]){"low", "medium", "high", "critical", NULL}},
	{"sector", "o.sector", NULL},
};

static bool one_of(const char *v, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(v, *list) == 0)
			return true;
	return false;
}

/* Newest first, a page at a time: ?limit=N (1..1000, default 100) and
 * ?before=ID, the page's next_before; ?overdue=true|false; ?stage=,
 * ?category=, ?severity=, ?sector= (one value each). */
static int reports_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"limit",	"before",   "overdue", "stage",
					    "category", "severity", "sector",  NULL};
	struct tower *t = ctx;
	const struct principal *p;
	enum scope s = tw_need(req, resp, ACT_REPORT_READ, &p);
	const char *overdue = http_request_query(req, "overdue");
	long long before = 0, limit = 100;
	struct store_param ps[10];
	size_t n = 0;
	char sql[1400], filt[400] = "";
	struct store_res *r = NULL;
	int64_t now = tw_now_us();
	json_t *arr;

	if (s == SCOPE_NONE || tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "limit", 1, 1000, &limit) < 0 ||
	    tw_query_int(req, resp, "before", 1, INT64_MAX, &before) < 0)
		return 0;
	/* A value the tower does not know is refused, not ignored: ignoring
	 * ?overdue=yes answered every report as if it were overdue. */
	if (overdue != NULL && strcmp(overdue, "true") != 0 && strcmp(overdue, "false") != 0)
		return tw_fail(resp, 400, "bad_query", "overdue must be true or false");
	bool late = overdue != NULL && strcmp(overdue, "true") == 0;
	const char *cond = tw_scope_sql(s, p, ps, &n);
	for (size_t i = 0; i < sizeof(list_filters) / sizeof(list_filters[0]); i++) {
		const char *v = http_request_query(req, list_filters[i].name);
		char msg[120];

		if (v == NULL)
			continue;
		if (list_filters[i].values != NULL ? !one_of(v, list_filters[i].values)
						   : !tw_sector_known(t, v)) {
			snprintf(msg, sizeof(msg), "%s=%.40s is not one the tower knows",
				 list_filters[i].name, v);
			return tw_fail(resp, 400, "bad_query", msg);
		}
		size_t used = strlen(filt);
		snprintf(filt + used, sizeof(filt) - used, " AND %s = ?", list_filters[i].col);
		ps[n++] = store_text(v);
	}
	snprintf(sql, sizeof(sql),
		 "SELECT " REPORT_COLS " FROM reports r JOIN orgs o ON o.id = r.org_id "
		 "WHERE 1 = 1%s%s%s%s ORDER BY r.id DESC LIMIT %lld",
		 cond, filt,
		 late ? " AND ((r.stage = 'prompt' AND r.due_detailed < ?) OR "
			"(r.stage = 'detailed' AND r.due_final < ?))"
		      : "",
		 before ? " AND r.id < ?" : "", limit + 1);
	if (late) {
		ps[n++] = store_int64(now);
		ps[n++] = store_int64(now);
	}
	if (before)
		ps[n++] = store_int64(before);
	if (tw_query(t, resp, sql, ps, n, &r) < 0)
		return 0;
	arr = json_array();
	size_t rows = store_res_nrows(r), shown = rows > (size_t)limit ? (size_t)limit : rows;
	struct report_view v;
	for (size_t i = 0; i < shown; i++) {
		report_view_read(r, i, &v);
		json_array_append_new(arr, report_json(&v, now));
	}
	json_t *page = json_pack("{s:o,s:b}", "reports", arr, "more", rows > shown);
	if (rows > shown) /* one more row than the page: there is a next page */
		json_object_set_new(page, "next_before", json_integer(v.id));
	store_res_free(r);
	http_response_json(resp, 200, page);
	return 0;
}

/* Loads report id if the caller's scope holds it: 0, SVC_NOT_FOUND's
 * refusal, or a store error. */
static int report_load(struct store_conn *c, enum scope s, const struct principal *p, int64_t id,
		       struct store_res **out, struct svc_result *res)
{
	struct store_param ps[3];
	size_t n = 0;
	char sql[512];
	int rc;

	ps[n++] = store_int64(id);
	snprintf(sql, sizeof(sql),
		 "SELECT " REPORT_COLS " FROM reports r JOIN orgs o ON o.id = r.org_id "
		 "WHERE r.id = ?%s",
		 tw_scope_sql(s, p, ps, &n));
	if ((rc = store_exec(c, sql, ps, n, out, NULL)) < 0)
		return rc;
	if (store_res_nrows(*out) == 1)
		return 0;
	store_res_free(*out);
	*out = NULL;
	return svc_refuse(res, SVC_NOT_FOUND, "not_found", "no such report");
}

static int64_t report_id_param(struct http_request *req)
{
	const char *s = http_request_param(req, "id");
	char *end;
	long long id = strtoll(s, &end, 10);

	return *s != '\0' && *end == '\0' && id > 0 ? id : 0;
}

static int reports_show(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	enum scope s = tw_need(req, resp, ACT_REPORT_READ, &p);
	struct store_conn *c;
	struct store_res *r = NULL, *v = NULL;
	struct svc_result res = {0};
	struct report_view rv;
	int64_t id = report_id_param(req);
	json_t *o, *versions;
	int rc;

	if (s == SCOPE_NONE)
		return 0;
	if (id == 0)
		return tw_fail(resp, 404, "not_found", "no such report");
	if (store_conn_get(t->st, &c) < 0)
		return tw_store_fail(resp, NULL, YG_EIO);
	if ((rc = report_load(c, s, p, id, &r, &res)) < 0) {
		if (res.status != SVC_OK)
			svc_answer(resp, &res);
		else
			tw_store_fail(resp, c, rc);
		store_conn_put(c);
		return 0;
	}
	report_view_read(r, 0, &rv);
	o = report_json(&rv, tw_now_us());
	store_res_free(r);
	struct store_param ps[] = {store_int64(id)};
	rc = store_exec(c,
			"SELECT version, stage, body, author_id, created FROM report_versions "
			"WHERE report_id = ? ORDER BY version",
			ps, 1, &v, NULL);
	if (rc < 0) {
		json_decref(o);
		tw_store_fail(resp, c, rc);
		store_conn_put(c);
		return 0;
	}
	store_conn_put(c);
	size_t cv = tw_col(v, "version"), cs = tw_col(v, "stage"), cb = tw_col(v, "body"),
	       ca = tw_col(v, "author_id"), cc = tw_col(v, "created");
	versions = json_array();
	for (size_t i = 0; i < store_res_nrows(v); i++) {
		json_t *body = yg_json_loads(store_res_text(v, i, cb), 0, NULL);

		json_array_append_new(
			versions, json_pack("{s:I,s:s,s:I,s:o,s:o}", "version",
					    (json_int_t)store_res_int64(v, i, cv), "stage",
					    store_res_text(v, i, cs), "author_id",
					    (json_int_t)store_res_int64(v, i, ca), "created",
					    tw_time(store_res_int64(v, i, cc)), "report",
					    body ? body : json_null()));
	}
	if (json_array_size(versions) > 0)
		json_object_set(o, "report",
				json_object_get(json_array_get(versions, json_array_size(versions) - 1),
						"report"));
	json_object_set_new(o, "versions", versions);
	store_res_free(v);
	http_response_json(resp, 200, o);
	return 0;
}

/* ---- writing ----------------------------------------------------------- */

/* An indicator address as /sources ranks it: a plain address in its
 * canonical text (2001:DB8::1 and 2001:db8::1 are one source), or NULL for
 * a prefix, which names a range, not an attacker (0.0.0.0/0 is no source):
 * it stays in the report. */
static const char *address_canon(const char *s, char out[INET6_ADDRSTRLEN])
{
	unsigned char bin[16];

	if (inet_pton(AF_INET, s, bin) == 1)
		return inet_ntop(AF_INET, bin, out, INET6_ADDRSTRLEN);
	if (inet_pton(AF_INET6, s, bin) == 1)
		return inet_ntop(AF_INET6, bin, out, INET6_ADDRSTRLEN);
	return NULL;
}

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
			char canon[INET6_ADDRSTRLEN];
			const char *value = json_string_value(v);
			struct store_param pi[3];

			if (value == NULL || (k == 0 && (value = address_canon(value, canon)) == NULL))
				continue;
			pi[0] = store_int64(id);
			pi[1] = store_text(kinds[k][1]);
			pi[2] = store_text(value);
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

/* Every affected computer named by asset id must be a registered asset of
 * the reporting organisation: a report cannot point at another's. */
static int report_assets(struct store_conn *c, struct svc_tx *x, int64_t org_id,
			 const json_t *rep)
{
	const json_t *list = json_object_get(rep, "affected_computers"), *e;
	size_t i;
	int rc;

	json_array_foreach(list, i, e) {
		const json_t *aid = json_object_get(e, "asset_id");
		struct store_res *r = NULL;
		char field[64];

		if (!json_is_integer(aid))
			continue;
		struct store_param ps[] = {store_int64(json_integer_value(aid)), store_int64(org_id)};
		rc = store_exec(c, "SELECT id FROM assets WHERE id = ? AND org_id = ?", ps, 2, &r,
				NULL);
		if (rc < 0)
			return rc;
		size_t found = store_res_nrows(r);
		store_res_free(r);
		if (found == 1)
			continue;
		if (x->res->status == SVC_OK)
			svc_refuse(x->res, SVC_INVALID, "validation_failed", "the report is not valid");
		snprintf(field, sizeof(field), "affected_computers[%zu].asset_id", i);
		svc_field(x->res, field, "is not an asset registered by the reporting organisation");
	}
	return x->res->status == SVC_OK ? 0 : YG_EINVAL;
}

/* The writes of a new report, as one unit of group-committed work. */
struct report_new {
	const struct report_policy *pol;
	const char *category, *severity, *text;
	const json_t *rep; /* the report as filed */
	int64_t detected;
	json_t *answer; /* out: the 201 body */
};

static int report_create(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct report_new *w = arg;
	const struct principal *p = x->p;
	int64_t id;
	int rc;

	if ((rc = report_assets(c, x, p->org_id, w->rep)) < 0)
		return rc;
	struct store_param ps[] = {
		store_int64(p->org_id),
		store_text(w->category),
		store_text(w->severity),
		store_int64(w->detected),
		store_int64(x->now),
		store_int64(x->now),
		store_int64(w->detected + w->pol->due_s[REPORT_PROMPT] * 1000000),
		store_int64(w->detected + w->pol->due_s[REPORT_DETAILED] * 1000000),
		store_int64(w->detected + w->pol->due_s[REPORT_FINAL] * 1000000),
		store_int64(x->now)};
	rc = svc_write(x, c, REC_REPORTS,
		       "INSERT INTO reports (org_id, version, stage, category, severity, detected_at, "
		       "created, updated, due_prompt, due_detailed, due_final, prompt_at) "
		       "VALUES (?, 1, 'prompt', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		       ps, 10, &id);
	if (rc == 0)
		rc = tw_count_report(c, p->org_id, "prompt", 1);
	if (rc < 0)
		return rc;
	struct store_param pv[] = {store_int64(id), store_text(w->text), store_int64(p->user_id),
				   store_int64(x->now)};
	rc = svc_write(x, c, REC_REPORT_VERSIONS,
		       "INSERT INTO report_versions (report_id, version, stage, body, author_id, "
		       "created) VALUES (?, 1, 'prompt', ?, ?, ?)",
		       pv, 4, NULL);
	if (rc == 0)
		rc = report_index(c, id, w->rep, 0);
	if (rc < 0)
		return rc;
	json_decref(w->answer);
	w->answer = json_pack("{s:I,s:I,s:s,s:o,s:o}", "id", (json_int_t)id, "version", 1,
			      "stage", "prompt", "detected_at", tw_time(w->detected), "next_due",
			      tw_time(w->detected + w->pol->due_s[REPORT_DETAILED] * 1000000));
	if (w->answer == NULL)
		return YG_ENOMEM;
	svc_keep(x, w->answer);
	return svc_changed_version(x, c, CHANGE_REPORT_CREATE, id, 1);
}

static void validation_errors(struct http_response *resp, const struct report_errors *errs)
{
	http_response_error(resp, 422, "validation_failed", "the report is not valid");
	for (unsigned i = 0; i < errs->n; i++)
		http_response_error_field(resp, errs->e[i].field, errs->e[i].reason);
}

/* POST /api/v1/reports: the prompt report. Its writes are group-committed
 * with other requests' (one durable commit for many reports on SQLite). */
static int reports_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	json_t *b = http_request_json(req);
	struct report_errors errs;
	struct tw_idem k;
	struct report_new w;
	struct svc_result res;
	int rc;

	if (tw_need(req, resp, ACT_REPORT_CREATE, &p) == SCOPE_NONE)
		return 0;
	if (p->org_id == 0)
		return tw_fail(resp, 403, "forbidden", "your user belongs to no organisation");
	if (report_validate(b, REPORT_PROMPT, &errs) < 0) {
		validation_errors(resp, &errs);
		return 0;
	}
	memset(&w, 0, sizeof(w));
	if (report_parse_time(json_string_value(json_object_get(b, "detected_at")), &w.detected) < 0)
		return tw_fail(resp, 422, "validation_failed", "detected_at");
	if (tw_idem_begin(t, req, resp, p, 201, NULL, &k))
		return 0;
	w.pol = &t->cfg.policy;
	w.category = json_string_value(json_object_get(b, "category"));
	w.severity = json_string_value(json_object_get(b, "severity"));
	w.text = yg_json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	w.rep = b;
	if (w.text == NULL)
		return tw_store_fail(resp, NULL, YG_ENOMEM);
	double t0 = tw_store_enter(t, OP_REPORT_CREATE);
	rc = svc_run_keyed(t, t->st, p, true, &k, report_create, &w, &res);
	tw_store_leave(t, OP_REPORT_CREATE, t0);
	free((char *)w.text);
	if (rc < 0) {
		json_decref(w.answer);
		/* The same key raced in from a retry: answer what it got. */
		if (res.status == SVC_CONFLICT && tw_idem_replay(t, resp, p, &k))
			return 0;
		return svc_answer(resp, &res);
	}
	char loc[64];
	snprintf(loc, sizeof(loc), "/api/v1/reports/%lld", (long long)res.id);
	http_response_header(resp, "Location", loc);
	http_response_json(resp, 201, w.answer);
	return 0;
}

struct report_step {
	enum scope scope;
	int64_t id;
	int stage;	 /* the version's; -1 when closing */
	const json_t *rep; /* the version's report; NULL when closing */
	char *text;	 /* rep as stored */
	int64_t version; /* out */
	const char *stage_name;
	json_t *answer; /* out: the answer */
};

/* The answer to a version, made before it is declared so that an
 * Idempotency-Key keeps it. */
static int report_step_answer(struct svc_tx *x, struct report_step *in)
{
	json_decref(in->answer);
	in->answer = json_pack("{s:I,s:I,s:s}", "id", (json_int_t)in->id, "version",
			       (json_int_t)in->version, "stage", in->stage_name);
	if (in->answer == NULL)
		return YG_ENOMEM;
	svc_keep(x, in->answer);
	return 0;
}

/* A new version at the same or a later stage, or the report's closing
 * after its final version. */
static int report_step(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct report_step *in = arg;
	struct store_res *r = NULL;
	struct report_view v;
	bool closing = in->stage < 0;
	int cur, rc;

	if ((rc = report_load(c, in->scope, x->p, in->id, &r, x->res)) < 0)
		return rc;
	report_view_read(r, 0, &v);
	cur = strcmp(v.stage, "closed") == 0 ? REPORT_STAGES : report_stage_parse(v.stage);
	in->version = closing ? v.version : v.version + 1; /* closing adds no version */
	int64_t org_id = v.org_id;
	store_res_free(r);
	if (cur == REPORT_STAGES)
		return svc_refuse(x->res, SVC_CONFLICT, "closed", "the report is closed");
	if (closing ? cur != REPORT_FINAL : in->stage < cur)
		return svc_refuse(x->res, SVC_CONFLICT, "stage_order",
				  closing ? "a report is closed after its final version"
					  : "a report's stage cannot go back");
	if (!closing && (rc = report_assets(c, x, org_id, in->rep)) < 0)
		return rc;
	in->stage_name = closing ? "closed" : report_stage_name(in->stage);
	/* The time the stage was reached, when this version reaches one. */
	const char *stamp = closing			   ? "closed_at"
			    : in->stage == REPORT_DETAILED ? "detailed_at"
			    : in->stage == REPORT_FINAL	   ? "final_at"
							   : NULL;
	char sql[256];
	struct store_param pu[8];
	size_t np = 0;
	pu[np++] = store_int64(in->version);
	pu[np++] = store_text(in->stage_name);
	pu[np++] = store_int64(x->now);
	if (!closing) { /* the report's category and severity are its latest version's */
		pu[np++] = store_text(json_string_value(json_object_get(in->rep, "category")));
		pu[np++] = store_text(json_string_value(json_object_get(in->rep, "severity")));
	}
	if (stamp != NULL)
		pu[np++] = store_int64(x->now);
	pu[np++] = store_int64(in->id);
	snprintf(sql, sizeof(sql), "UPDATE reports SET version = ?, stage = ?, updated = ?%s%s%s%s "
		 "WHERE id = ?",
		 closing ? "" : ", category = ?, severity = ?", stamp ? ", " : "",
		 stamp ? stamp : "", stamp ? " = ?" : "");
	if ((rc = svc_write(x, c, REC_REPORTS, sql, pu, np, NULL)) < 0)
		return rc;
	if (strcmp(report_stage_name(cur), in->stage_name) != 0 &&
	    ((rc = tw_count_report(c, org_id, report_stage_name(cur), -1)) < 0 ||
	     (rc = tw_count_report(c, org_id, in->stage_name, 1)) < 0))
		return rc;
	if (closing)
		return (rc = report_step_answer(x, in)) < 0
			       ? rc
			       : svc_changed(x, c, CHANGE_REPORT_CLOSE, in->id);
	struct store_param pv[] = {store_int64(in->id),	  store_int64(in->version),
				   store_text(in->stage_name), store_text(in->text),
				   store_int64(x->p->user_id), store_int64(x->now)};
	rc = svc_write(x, c, REC_REPORT_VERSIONS,
		       "INSERT INTO report_versions (report_id, version, stage, body, author_id, "
		       "created) VALUES (?, ?, ?, ?, ?, ?)",
		       pv, 6, NULL);
	if (rc == 0)
		rc = report_index(c, in->id, in->rep, 1);
	if (rc == 0)
		rc = report_step_answer(x, in);
	if (rc == 0)
		rc = svc_changed_version(x, c, CHANGE_REPORT_VERSION, in->id, in->version);
	return rc;
}

/* POST /api/v1/reports/{id}/versions {"stage": "...", "report": {...}}:
 * a new version at the same or a later stage; "closed" closes a report
 * whose final version was filed. */
static int reports_version(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"stage", "report", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	json_t *b = http_request_json(req);
	const char *stage_s = json_string_value(json_object_get(b, "stage"));
	struct report_step in = {.id = report_id_param(req),
				 .rep = json_object_get(b, "report"),
				 .stage = stage_s ? report_stage_parse(stage_s) : -1};
	bool closing = stage_s != NULL && strcmp(stage_s, "closed") == 0;
	struct report_errors errs;
	struct svc_result res;
	struct tw_idem k;
	int rc;

	if ((in.scope = tw_need(req, resp, ACT_REPORT_UPDATE, &p)) == SCOPE_NONE)
		return 0;
	if (in.id == 0)
		return tw_fail(resp, 404, "not_found", "no such report");
	if (tw_only_fields(resp, b, fields, "version") < 0)
		return 0;
	if (in.stage < 0 && !closing) {
		http_response_error(resp, 422, "validation_failed", "the version is not valid");
		http_response_error_field(resp, "stage", "must be prompt, detailed, final or closed");
		return 0;
	}
	if (closing && in.rep != NULL) {
		http_response_error(resp, 422, "validation_failed", "the version is not valid");
		http_response_error_field(resp, "report", "closing a report takes no report");
		return 0;
	}
	if (!closing && report_validate(in.rep, in.stage, &errs) < 0) {
		validation_errors(resp, &errs);
		return 0;
	}
	if (tw_idem_begin(t, req, resp, p, closing ? 200 : 201, NULL, &k))
		return 0;
	if (!closing && (in.text = yg_json_dumps(in.rep, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return tw_store_fail(resp, NULL, YG_ENOMEM);
	rc = svc_run_keyed(t, t->st, p, false, &k, report_step, &in, &res);
	free(in.text);
	if (rc < 0) {
		json_decref(in.answer);
		if (res.status == SVC_CONFLICT && tw_idem_replay(t, resp, p, &k))
			return 0;
		return svc_answer(resp, &res);
	}
	http_response_json(resp, closing ? 200 : 201, in.answer);
	return 0;
}

const struct tower_route tw_report_routes[] = {
	{HTTP_POST, "/api/v1/reports", TW_AJ, reports_create},
	{HTTP_GET, "/api/v1/reports", HTTP_ROUTE_AUTH, reports_list},
	{HTTP_GET, "/api/v1/reports/{id}", HTTP_ROUTE_AUTH, reports_show},
	{HTTP_POST, "/api/v1/reports/{id}/versions", TW_AJ, reports_version},
	{0, NULL, 0, NULL},
};
