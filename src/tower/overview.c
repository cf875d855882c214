/* overview.c - GET /api/v1/overview: the dashboard's first page in one
 * answer (issue 15, docs/dashboard.md), each part only when the caller's
 * role may read it and over its scope, as the routes it summarises would
 * answer:
 *
 *   alerts      alerts received per hour (?days <= 2) or per day, over
 *               ?days (1 to 90, default 7), oldest bucket first
 *   reports     reports by sector and stage, and how many are overdue
 *   cases       cases by state                   (roles that read cases)
 *   sensors     each sensor's last batch, and its alerts in the window
 *                                             (roles that read every alert)
 *
 * Counts only: the lists behind them are the routes' own, paged. The
 * alerts are counted from alert_hours (schema v17), kept by the batches
 * that store them, so that the page costs the same at 100,000 alerts as
 * at 100: a few rows an hour, not a scan of the window's alerts. Reports
 * and cases likewise, from report_counts and case_counts (schema v24),
 * kept by the writes below; only the late reports are read, through the
 * indexes of the deadline each stage waits for. */
#include <stdio.h>
#include <string.h>

#include "tower/tower_int.h"

#define HOUR_US 3600000000LL
#define DAY_US	(24 * HOUR_US)

/* Appends {"t": bucket start, "n": count} for each row (bucket, count) of
 * r to a, with the empty buckets between them, from since to now. */
static void buckets(json_t *a, const struct store_res *r, int64_t since, int64_t now, int64_t w)
{
	size_t i = 0, rows = store_res_nrows(r);

	for (int64_t b = since - since % w; b <= now; b += w) {
		int64_t n = 0;

		while (i < rows && store_res_int64(r, i, 0) < b)
			i++;
		if (i < rows && store_res_int64(r, i, 0) == b)
			n = store_res_int64(r, i++, 1);
		json_array_append_new(a, json_pack("{s:o,s:I}", "t", tw_time(b), "n", (json_int_t)n));
	}
}

static int alerts_part(struct tower *t, struct http_response *resp, const struct principal *p,
		       enum scope s, int64_t since, int64_t now, int64_t w, json_t *out)
{
	struct store_param ps[4] = {store_int64(w), store_int64(w), store_int64(since)};
	size_t n = 3;
	char sql[640];
	struct store_res *r = NULL;
	const char *scope = "";

	if (s == SCOPE_OWN_ORG) {
		scope = " AND org_id = ?";
		ps[n++] = store_int64(p->org_id);
	} else if (s == SCOPE_OWN_SECTORS) {
		scope = " AND org_id IN (SELECT id FROM orgs o WHERE (',' || ? || ',') LIKE ('%,' || "
			"o.sector || ',%'))";
		ps[n++] = store_text(p->sectors);
	}
	/* Hours, or the days they make; the alerts that hit no organisation's
	 * asset (org 0) count for the office's roles only. */
	snprintf(sql, sizeof(sql),
		 "SELECT (hour / ?) * ? AS b, SUM(n) FROM alert_hours WHERE hour >= ?%s "
		 "GROUP BY b ORDER BY b",
		 scope);
	ps[2] = store_int64(since - since % HOUR_US);
	if (tw_query(t, resp, sql, ps, n, &r) < 0)
		return -1;
	json_t *a = json_array();
	buckets(a, r, since, now, w);
	store_res_free(r);
	json_object_set_new(out, "alerts",
			    json_pack("{s:s,s:o}", "bucket", w == HOUR_US ? "hour" : "day",
				      "counts", a));
	return 0;
}

int tw_count_report(struct store_conn *c, int64_t org_id, const char *stage, int delta)
{
	struct store_param ps[] = {store_int64(org_id), store_text(stage), store_int64(delta)};

	return store_exec(c,
			  "INSERT INTO report_counts (org_id, stage, n) VALUES (?, ?, ?) "
			  "ON CONFLICT (org_id, stage) DO UPDATE SET n = report_counts.n + excluded.n",
			  ps, 3, NULL, NULL);
}

int tw_count_reports_erased(struct store_conn *c, int64_t from, int64_t to)
{
	struct store_param ps[] = {store_int64(from), store_int64(to)};

	return store_exec(c,
			  "INSERT INTO report_counts (org_id, stage, n) SELECT org_id, stage, "
			  "-COUNT(*) FROM reports WHERE id BETWEEN ? AND ? GROUP BY org_id, stage "
			  "ON CONFLICT (org_id, stage) DO UPDATE SET n = report_counts.n + excluded.n",
			  ps, 2, NULL, NULL);
}

int tw_count_case(struct store_conn *c, const char *state, int delta)
{
	struct store_param ps[] = {store_text(state), store_int64(delta)};

	return store_exec(c,
			  "INSERT INTO case_counts (state, n) VALUES (?, ?) "
			  "ON CONFLICT (state) DO UPDATE SET n = case_counts.n + excluded.n",
			  ps, 2, NULL, NULL);
}

static int reports_part(struct tower *t, struct http_response *resp, const struct principal *p,
			enum scope s, int64_t now, json_t *out)
{
	struct store_param ps[6];
	size_t n = 0;
	char sql[900];
	struct store_res *r = NULL;
	const char *scope;
	int64_t overdue, total = 0, waiting = 0, in_time = 0;

	/* By sector and stage, from the running counts (v24); and, in the
	 * same statement so that both are of one moment, those waiting for a
	 * stage whose deadline has not passed. The late are the waiting less
	 * those: the partial indexes of v24 find them by deadline, so the read
	 * covers the reports filed within a deadline of now, however many were
	 * left late over the years. */
	ps[n++] = store_int64(now);
	scope = tw_scope_sql(s, p, ps, &n);
	ps[n++] = store_int64(now);
	tw_scope_sql(s, p, ps, &n);
	tw_scope_sql(s, p, ps, &n);
	snprintf(sql, sizeof(sql),
		 "SELECT o.sector, r.stage, SUM(r.n), (SELECT COUNT(*) FROM reports r JOIN orgs o "
		 "ON o.id = r.org_id WHERE r.stage = 'prompt' AND r.due_detailed >= ?%s) + "
		 "(SELECT COUNT(*) FROM reports r JOIN orgs o ON o.id = r.org_id WHERE "
		 "r.stage = 'detailed' AND r.due_final >= ?%s) FROM report_counts r JOIN orgs o ON "
		 "o.id = r.org_id WHERE r.n > 0%s GROUP BY o.sector, r.stage "
		 "ORDER BY o.sector, r.stage",
		 scope, scope, scope);
	if (tw_query(t, resp, sql, ps, n, &r) < 0)
		return -1;
	json_t *by = json_array();
	for (size_t i = 0; i < store_res_nrows(r); i++) {
		const char *stage = store_res_text(r, i, 1);

		json_array_append_new(by, json_pack("{s:s,s:s,s:I}", "sector", store_res_text(r, i, 0),
						    "stage", stage, "count",
						    (json_int_t)store_res_int64(r, i, 2)));
		total += store_res_int64(r, i, 2);
		if (strcmp(stage, "prompt") == 0 || strcmp(stage, "detailed") == 0)
			waiting += store_res_int64(r, i, 2);
		in_time = store_res_int64(r, i, 3);
	}
	store_res_free(r);
	overdue = waiting - in_time;
	json_object_set_new(out, "reports",
			    json_pack("{s:I,s:I,s:o}", "total", (json_int_t)total, "overdue",
				      (json_int_t)overdue, "by_sector_stage", by));
	return 0;
}

static int cases_part(struct tower *t, struct http_response *resp, json_t *out)
{
	struct store_res *r = NULL;
	json_t *by = json_object();

	if (tw_query(t, resp, "SELECT state, n FROM case_counts WHERE n > 0 ORDER BY state", NULL, 0,
		     &r) < 0) {
		json_decref(by);
		return -1;
	}
	for (size_t i = 0; i < store_res_nrows(r); i++)
		json_object_set_new(by, store_res_text(r, i, 0),
				    json_integer(store_res_int64(r, i, 1)));
	store_res_free(r);
	json_object_set_new(out, "cases", by);
	return 0;
}

/* Each sensor's last batch, and its batches and alerts over the period:
 * from the index of batches by sensor and time (schema v23), so that the
 * cost follows the period, not every batch the store holds. */
static int sensors_part(struct tower *t, struct http_response *resp, int64_t since, json_t *out)
{
	struct store_param ps[] = {store_int64(since), store_int64(since)};
	struct store_res *r = NULL;

	if (tw_query(t, resp,
		     "SELECT u.id, u.name, (SELECT MAX(b.received) FROM alert_batches b WHERE "
		     "b.sensor_id = u.id), (SELECT COALESCE(SUM(b.alerts), 0) FROM alert_batches b "
		     "WHERE b.sensor_id = u.id AND b.received >= ?), (SELECT COUNT(*) FROM "
		     "alert_batches b WHERE b.sensor_id = u.id AND b.received >= ?) FROM users u "
		     "WHERE u.role = 'sensor' AND u.disabled IS NULL ORDER BY u.name",
		     ps, 2, &r) < 0)
		return -1;
	json_t *a = json_array();
	for (size_t i = 0; i < store_res_nrows(r); i++)
		json_array_append_new(
			a, json_pack("{s:I,s:s,s:o,s:I,s:I}", "id",
				     (json_int_t)store_res_int64(r, i, 0), "name",
				     store_res_text(r, i, 1), "last_batch",
				     store_res_isnull(r, i, 2) ? json_null()
							       : tw_time(store_res_int64(r, i, 2)),
				     "alerts", (json_int_t)store_res_int64(r, i, 3), "batches",
				     (json_int_t)store_res_int64(r, i, 4)));
	store_res_free(r);
	json_object_set_new(out, "sensors", a);
	return 0;
}

static int overview(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"days", NULL};
	struct tower *t = ctx;
	const struct principal *p = http_request_principal(req);
	long long days = 7;
	int64_t now = tw_now_us();
	enum scope as = authz_scope(p->role, ACT_ALERT_READ),
		   rs = authz_scope(p->role, ACT_REPORT_READ);
	json_t *out;

	if (tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "days", 1, 90, &days) < 0)
		return 0;
	if (as == SCOPE_NONE && rs == SCOPE_NONE &&
	    authz_scope(p->role, ACT_CASE_READ) == SCOPE_NONE)
		return tw_fail(resp, 403, "forbidden", "your role has no overview");
	int64_t w = days <= 2 ? HOUR_US : DAY_US, since = now - days * DAY_US;
	out = json_pack("{s:o,s:I}", "now", tw_time(now), "days", (json_int_t)days);
	if ((as != SCOPE_NONE && alerts_part(t, resp, p, as, since, now, w, out) < 0) ||
	    (rs != SCOPE_NONE && reports_part(t, resp, p, rs, now, out) < 0) ||
	    (authz_scope(p->role, ACT_CASE_READ) != SCOPE_NONE && cases_part(t, resp, out) < 0) ||
	    (as == SCOPE_ALL && sensors_part(t, resp, since, out) < 0)) {
		json_decref(out);
		return 0;
	}
	http_response_json(resp, 200, out);
	return 0;
}

const struct tower_route tw_overview_routes[] = {
	{HTTP_GET, "/api/v1/overview", HTTP_ROUTE_AUTH, overview},
	{0, NULL, 0, NULL},
};
