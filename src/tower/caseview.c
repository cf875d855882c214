/* caseview.c - countermeasure cases as the API shows them (cases.c
 * changes them): one case with its evidence and every decision, and the
 * list, newest first. Read by analysts, overseers and auditors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tower/tower_int.h"

#define CASE_COLS                                                                              \
	"id, action, target, proto, ports, contact, justification, duration, approvals_needed, " \
	"state, proposed_by, created, updated, activated, expires, ended"

static json_t *opt_text(const struct store_res *r, size_t i, const char *col)
{
	size_t c = tw_col(r, col);

	return store_res_isnull(r, i, c) ? json_null() : json_string(store_res_text(r, i, c));
}

/* Row i of r (CASE_COLS and approvals) as the API shows a case. */
static json_t *case_json(const struct store_res *r, size_t i)
{
	json_t *ports = json_array();
	size_t cp = tw_col(r, "ports");

	if (!store_res_isnull(r, i, cp))
		for (const char *p = store_res_text(r, i, cp); *p != '\0';) {
			json_array_append_new(ports, json_integer(strtol(p, (char **)&p, 10)));
			p += *p == ',';
		}
	return json_pack(
		"{s:I,s:s,s:s,s:o,s:o,s:o,s:s,s:I,s:s,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o}", "id",
		(json_int_t)store_res_int64(r, i, tw_col(r, "id")), "action",
		store_res_text(r, i, tw_col(r, "action")), "target",
		store_res_text(r, i, tw_col(r, "target")), "proto", opt_text(r, i, "proto"), "ports",
		ports, "contact", opt_text(r, i, "contact"), "justification",
		store_res_text(r, i, tw_col(r, "justification")), "duration_seconds",
		(json_int_t)store_res_int64(r, i, tw_col(r, "duration")), "state",
		store_res_text(r, i, tw_col(r, "state")), "approvals_needed",
		(json_int_t)store_res_int64(r, i, tw_col(r, "approvals_needed")), "approvals",
		(json_int_t)store_res_int64(r, i, tw_col(r, "approvals")), "proposed_by",
		(json_int_t)store_res_int64(r, i, tw_col(r, "proposed_by")), "created",
		tw_time(store_res_int64(r, i, tw_col(r, "created"))), "updated",
		tw_time(store_res_int64(r, i, tw_col(r, "updated"))), "activated",
		tw_time_col(r, i, "activated"), "expires", tw_time_col(r, i, "expires"), "ended",
		tw_time_col(r, i, "ended"));
}

#define CASE_SELECT                                                                            \
	"SELECT " CASE_COLS ", (SELECT COUNT(*) FROM case_decisions d WHERE d.case_id = cases.id " \
	"AND d.decision = 'approve') AS approvals FROM cases"

/* One case with its evidence and decisions. */
int tw_case_answer(struct tower *t, struct http_response *resp, int64_t id, int status)
{
	struct store_param ps[] = {store_int64(id)};
	struct store_res *r = NULL, *e = NULL;
	json_t *o, *dec = NULL;

	if (tw_query(t, resp, CASE_SELECT " WHERE id = ?", ps, 1, &r) < 0)
		return 0;
	if (store_res_nrows(r) != 1) {
		store_res_free(r);
		return tw_fail(resp, 404, "not_found", "no such case");
	}
	if (tw_query(t, resp, "SELECT kind, ref FROM case_evidence WHERE case_id = ? ORDER BY kind, ref",
		     ps, 1, &e) < 0 ||
	    (dec = tw_order_decisions(t, resp, &tw_case_kind, id)) == NULL) {
		store_res_free(r);
		store_res_free(e);
		return 0;
	}
	o = case_json(r, 0);
	json_t *ev = json_array();
	for (size_t i = 0; i < store_res_nrows(e); i++) {
		char buf[320];

		snprintf(buf, sizeof(buf), "%s:%s", store_res_text(e, i, 0), store_res_text(e, i, 1));
		json_array_append_new(ev, json_string(buf));
	}
	json_object_set_new(o, "evidence", ev);
	json_object_set_new(o, "decisions", dec);
	store_res_free(r);
	store_res_free(e);
	http_response_json(resp, status, json_pack("{s:o}", "case", o));
	return 0;
}

static int cases_show(struct http_request *req, struct http_response *resp, void *ctx)
{
	const struct principal *p;
	int64_t id = tw_order_id(req);

	if (tw_need(req, resp, ACT_CASE_READ, &p) == SCOPE_NONE)
		return 0;
	if (id == 0)
		return tw_fail(resp, 404, "not_found", "no such case");
	return tw_case_answer(ctx, resp, id, 200);
}

/* GET /api/v1/cases?state=&limit=&before=: newest first. */
static int cases_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"state", "limit", "before", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	const char *state = http_request_query(req, "state");
	long long limit = 100, before = INT64_MAX;
	struct store_param ps[2];
	size_t n = 0;
	char sql[512];
	struct store_res *r = NULL;

	if (tw_need(req, resp, ACT_CASE_READ, &p) == SCOPE_NONE ||
	    tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "limit", 1, 1000, &limit) < 0 ||
	    tw_query_int(req, resp, "before", 1, INT64_MAX, &before) < 0 ||
	    tw_order_state_ok(resp, state) < 0)
		return 0;
	ps[n++] = store_int64(before);
	if (state != NULL)
		ps[n++] = store_text(state);
	snprintf(sql, sizeof(sql), CASE_SELECT " WHERE id < ?%s ORDER BY id DESC LIMIT %lld",
		 state != NULL ? " AND state = ?" : "", limit + 1);
	if (tw_query(t, resp, sql, ps, n, &r) < 0)
		return 0;
	tw_order_page(resp, r, limit, "cases", case_json);
	store_res_free(r);
	return 0;
}

const struct tower_route tw_case_read_routes[] = {
	{HTTP_GET, "/api/v1/cases", HTTP_ROUTE_AUTH, cases_list},
	{HTTP_GET, "/api/v1/cases/{id}", HTTP_ROUTE_AUTH, cases_show},
	{0, NULL, 0, NULL},
};
