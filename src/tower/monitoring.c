/* monitoring.c - monitoring authorizations (issue 13, docs/oversight.md).
 *
 * Acquiring communications information needs the committee's prior
 * approval. An analyst proposes that one sensor may analyse the traffic
 * of some prefixes or VLANs, for a purpose, from a time until a time;
 * overseers decide it as they decide a countermeasure case (orders.c),
 * and the tower starts and ends it on time. A sensor working for the
 * tower (yagura analyze --tower) asks for its active authorizations every
 * poll and drops every packet outside them after the IP header.
 *
 *   POST /api/v1/monitoring/authorizations            analyst
 *   POST /api/v1/monitoring/authorizations/{id}/{approve,reject,withdraw,revoke}
 *   GET  /api/v1/monitoring/authorizations[/{id}]      analyst, overseer, auditor
 *   GET  /api/v1/monitoring/authorizations/active      a sensor: its own */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter/counter.h"
#include "tower/report.h"
#include "tower/tower_int.h"

#define AUTH_PURPOSE_MAX 4096
#define AUTH_PREFIXES_MAX 64
#define AUTH_VLANS_MAX	  64
#define AUTH_PAST_US	  (60 * 1000000LL) /* "from" a little in the past is now */
#define AUTH_WIDE_PREFIX4 8	/* shorter prefixes need two overseers */
#define AUTH_WIDE_PREFIX6 16

struct auth_new {
	char sensor[128];
	char prefixes[AUTH_PREFIXES_MAX * (CM_PREFIX_STRLEN + 1) + 1];
	char vlans[AUTH_VLANS_MAX * 5 + 1];
	const char *purpose;
	int64_t starts, expires;
	int64_t approvals;
};

static int auth_fail(struct http_response *resp, const char *field, const char *reason)
{
	http_response_error(resp, 422, "validation_failed", "the authorization is not valid");
	http_response_error_field(resp, field, reason);
	return -1;
}

/* Text people read and sign off: no control character but newlines. */
static bool purpose_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > AUTH_PURPOSE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\n') || s[i] == 0x7f)
			return false;
	return true;
}

/* The body into in, checked on its own and against [monitoring]. */
static int auth_parse(struct tower *t, struct http_response *resp, const json_t *b,
		      struct auth_new *in)
{
	static const char *const fields[] = {"sensor", "prefixes", "vlans", "purpose",
					     "from",   "until",	   NULL};
	const char *sensor = json_string_value(json_object_get(b, "sensor"));
	const char *from = json_string_value(json_object_get(b, "from"));
	const char *until = json_string_value(json_object_get(b, "until"));
	const json_t *pf = json_object_get(b, "prefixes"), *vl = json_object_get(b, "vlans");
	int64_t now = tw_now_us();
	bool wide = false;
	size_t at = 0, i;
	const json_t *v;
	char why[200];

	memset(in, 0, sizeof(*in));
	if (tw_only_fields(resp, b, fields, "authorization") < 0)
		return -1;
	if (sensor == NULL || !tw_name_ok(sensor, sizeof(in->sensor) - 1))
		return auth_fail(resp, "sensor", "is required: the user name of a sensor");
	snprintf(in->sensor, sizeof(in->sensor), "%s", sensor);
	if (pf != NULL && (!json_is_array(pf) || json_array_size(pf) > AUTH_PREFIXES_MAX))
		return auth_fail(resp, "prefixes", "must be a list of at most 64 prefixes");
	json_array_foreach(pf, i, v) {
		struct cm_target p;
		const char *s = json_string_value(v);
		/* Everything of a family: what a sensor on one link sees. */
		bool all = s != NULL && (strcmp(s, "0.0.0.0/0") == 0 || strcmp(s, "::/0") == 0);

		if (!all && (s == NULL || strlen(s) > CM_PREFIX_STRLEN ||
			     cm_target_parse(s, &p) < 0 || p.kind != CM_TARGET_PREFIX)) {
			snprintf(why, sizeof(why), "prefixes[%zu]", i);
			return auth_fail(resp, why,
					 "must be an IPv4 or IPv6 prefix without host bits");
		}
		if (at > 0)
			in->prefixes[at++] = ',';
		if (all)
			snprintf(in->prefixes + at, sizeof(in->prefixes) - at, "%s", s);
		else
			cm_prefix_fmt(&p, 1, in->prefixes + at);
		at += strlen(in->prefixes + at);
		wide = wide || all ||
		       p.plen < (p.addr.family == 4 ? AUTH_WIDE_PREFIX4 : AUTH_WIDE_PREFIX6);
	}
	at = 0;
	if (vl != NULL && (!json_is_array(vl) || json_array_size(vl) > AUTH_VLANS_MAX))
		return auth_fail(resp, "vlans", "must be a list of at most 64 VLAN ids");
	json_array_foreach(vl, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 4094) {
			snprintf(why, sizeof(why), "vlans[%zu]", i);
			return auth_fail(resp, why, "must be a VLAN id from 1 to 4094");
		}
		at += (size_t)snprintf(in->vlans + at, sizeof(in->vlans) - at, "%s%lld",
				       at ? "," : "", (long long)json_integer_value(v));
	}
	if (in->prefixes[0] == '\0' && in->vlans[0] == '\0')
		return auth_fail(resp, "prefixes",
				 "name the traffic: at least one prefix or one VLAN");
	in->purpose = json_string_value(json_object_get(b, "purpose"));
	if (!purpose_ok(in->purpose))
		return auth_fail(resp, "purpose", "is required: 1 to 4096 bytes of text");
	in->starts = now;
	if (from != NULL && report_parse_time(from, &in->starts) < 0)
		return auth_fail(resp, "from", "must be a time such as 2026-12-06T09:00:00Z");
	/* Approval comes before monitoring: no authorization looks back. */
	if (in->starts < now - AUTH_PAST_US)
		return auth_fail(resp, "from", "is in the past: an authorization only looks ahead");
	if (in->starts < now)
		in->starts = now;
	if (until == NULL || report_parse_time(until, &in->expires) < 0)
		return auth_fail(resp, "until", "is required: a time such as 2026-12-31T00:00:00Z");
	if (in->expires <= in->starts)
		return auth_fail(resp, "until", "must be after from");
	if (in->expires - in->starts > t->cfg.monitor_max_s * 1000000) {
		snprintf(why, sizeof(why),
			 "is too far: an authorization runs %llds at most ([monitoring] max_duration)",
			 (long long)t->cfg.monitor_max_s);
		return auth_fail(resp, "until", why);
	}
	/* Two overseers for a long authorization, and for a wide one: more
	 * than a /8 of IPv4 or a /16 of IPv6 is a carrier's traffic, not an
	 * attack's. */
	in->approvals =
		wide || in->expires - in->starts > t->cfg.monitor_two_after_s * 1000000 ? 2 : 1;
	return 0;
}

static int auth_propose(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct auth_new *in = arg;
	struct store_param pn[] = {store_text(in->sensor)};
	struct store_res *r = NULL;
	int64_t sensor, id;
	int rc;

	if ((rc = store_exec(c, "SELECT id, role, disabled FROM users WHERE name = ?", pn, 1, &r,
			     NULL)) < 0)
		return rc;
	bool found = store_res_nrows(r) == 1;
	bool is_sensor = found && strcmp(store_res_text(r, 0, 1), "sensor") == 0 &&
			 store_res_isnull(r, 0, 2);
	sensor = found ? store_res_int64(r, 0, 0) : 0;
	store_res_free(r);
	if (!is_sensor) {
		svc_field(x->res, "sensor", found ? "is not an enabled sensor" : "does not exist");
		return svc_refuse(x->res, SVC_INVALID, "validation_failed",
				  "the authorization is not valid");
	}
	struct store_param ps[] = {store_int64(sensor),	      store_text(in->prefixes),
				   store_text(in->vlans),     store_text(in->purpose),
				   store_int64(in->starts),   store_int64(in->approvals),
				   store_int64(x->p->user_id), store_int64(x->now),
				   store_int64(x->now),	      store_int64(in->expires)};
	if ((rc = svc_write(x, c, REC_AUTHORIZATIONS,
			    "INSERT INTO authorizations (sensor_id, prefixes, vlans, purpose, starts, "
			    "approvals_needed, state, proposed_by, created, updated, expires) VALUES "
			    "(?, ?, ?, ?, ?, ?, 'proposed', ?, ?, ?, ?)",
			    ps, 10, &id)) < 0)
		return rc;
	return svc_changed(x, c, CHANGE_AUTH_PROPOSE, id);
}

/* POST /api/v1/monitoring/authorizations */
static int auth_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	struct auth_new in;
	struct svc_result res;
	struct tw_idem k;

	if (tw_need(req, resp, ACT_MONITOR_PROPOSE, &p) == SCOPE_NONE ||
	    auth_parse(t, resp, http_request_json(req), &in) < 0)
		return 0;
	if (tw_idem_begin(t, req, resp, p, 201, tw_authorization_answer, &k))
		return 0;
	if (svc_run_keyed(t, t->st, p, false, &k, auth_propose, &in, &res) < 0) {
		if (res.status == SVC_CONFLICT && tw_idem_replay(t, resp, p, &k))
			return 0;
		return svc_answer(resp, &res);
	}
	tw_cases_wake(t); /* nothing to do until approved, but cheap */
	return tw_authorization_answer(t, resp, res.id, 201);
}

static int auth_approve(struct http_request *req, struct http_response *resp, void *ctx)
{
	return tw_order_decide(req, resp, ctx, &tw_authorization_kind, DEC_APPROVE,
			       ACT_MONITOR_DECIDE);
}

static int auth_reject(struct http_request *req, struct http_response *resp, void *ctx)
{
	return tw_order_decide(req, resp, ctx, &tw_authorization_kind, DEC_REJECT,
			       ACT_MONITOR_DECIDE);
}

static int auth_withdraw(struct http_request *req, struct http_response *resp, void *ctx)
{
	return tw_order_decide(req, resp, ctx, &tw_authorization_kind, DEC_WITHDRAW,
			       ACT_MONITOR_PROPOSE);
}

static int auth_revoke(struct http_request *req, struct http_response *resp, void *ctx)
{
	return tw_order_decide(req, resp, ctx, &tw_authorization_kind, DEC_REVOKE,
			       ACT_MONITOR_REVOKE);
}

/* ---- reading ----------------------------------------------------------- */

#define AUTH_SELECT                                                                             \
	"SELECT a.id, a.sensor_id, u.name AS sensor, a.prefixes, a.vlans, a.purpose, a.starts, "  \
	"a.approvals_needed, a.state, a.proposed_by, a.created, a.updated, a.activated, "        \
	"a.expires, a.ended, (SELECT COUNT(*) FROM authorization_decisions d WHERE "              \
	"d.authorization_id = a.id AND d.decision = 'approve') AS approvals FROM authorizations " \
	"a JOIN users u ON u.id = a.sensor_id"

/* "a,b,c" as a JSON list of strings, or of integers. */
static json_t *split_list(const char *s, bool integers)
{
	json_t *a = json_array();

	while (*s != '\0') {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);

		json_array_append_new(a, integers ? json_integer(strtoll(s, NULL, 10))
						  : json_stringn(s, n));
		s += n + (comma != NULL);
	}
	return a;
}

static json_t *auth_json(const struct store_res *r, size_t i)
{
#define I(col) ((json_int_t)store_res_int64(r, i, tw_col(r, col)))
#define T(col) store_res_text(r, i, tw_col(r, col))
	return json_pack("{s:I,s:s,s:I,s:o,s:o,s:s,s:o,s:o,s:s,s:I,s:I,s:I,s:o,s:o,s:o,s:o}", "id",
			 I("id"), "sensor", T("sensor"), "sensor_id", I("sensor_id"), "prefixes",
			 split_list(T("prefixes"), false), "vlans", split_list(T("vlans"), true),
			 "purpose", T("purpose"), "from", tw_time(I("starts")), "until",
			 tw_time(I("expires")), "state", T("state"), "approvals_needed",
			 I("approvals_needed"), "approvals", I("approvals"), "proposed_by",
			 I("proposed_by"), "created", tw_time(I("created")), "updated",
			 tw_time(I("updated")), "activated", tw_time_col(r, i, "activated"), "ended",
			 tw_time_col(r, i, "ended"));
#undef I
#undef T
}

/* The decisions on order id of kind k, oldest first, as the API shows them. */
json_t *tw_order_decisions(struct tower *t, struct http_response *resp,
			   const struct order_kind *k, int64_t id)
{
	struct store_param ps[] = {store_int64(id)};
	struct store_res *d = NULL;
	char sql[200];
	json_t *dec;

	snprintf(sql, sizeof(sql),
		 "SELECT decision, user_id, reason, created FROM %s WHERE %s = ? ORDER BY id",
		 k->decisions, k->fk);
	if (tw_query(t, resp, sql, ps, 1, &d) < 0)
		return NULL;
	dec = json_array();
	for (size_t i = 0; i < store_res_nrows(d); i++) {
		size_t cu = tw_col(d, "user_id");

		json_array_append_new(
			dec, json_pack("{s:s,s:o,s:s,s:o}", "decision",
				       store_res_text(d, i, tw_col(d, "decision")), "by",
				       store_res_isnull(d, i, cu) ? json_string("server")
								  : json_integer(store_res_int64(d, i, cu)),
				       "reason", store_res_text(d, i, tw_col(d, "reason")), "at",
				       tw_time(store_res_int64(d, i, tw_col(d, "created")))));
	}
	store_res_free(d);
	return dec;
}

/* One authorization with its decisions; a sensor sees only its own. */
static int auth_answer_as(struct tower *t, struct http_response *resp, int64_t id, int status,
			  const struct principal *p)
{
	struct store_param ps[] = {store_int64(id)};
	struct store_res *r = NULL;
	json_t *o, *dec;

	if (tw_query(t, resp, AUTH_SELECT " WHERE a.id = ?", ps, 1, &r) < 0)
		return 0;
	if (store_res_nrows(r) != 1 ||
	    (p != NULL && p->role == ROLE_SENSOR &&
	     store_res_int64(r, 0, tw_col(r, "sensor_id")) != p->user_id)) {
		store_res_free(r);
		return tw_fail(resp, 404, "not_found", "no such authorization");
	}
	o = auth_json(r, 0);
	store_res_free(r);
	if ((dec = tw_order_decisions(t, resp, &tw_authorization_kind, id)) == NULL) {
		json_decref(o);
		return 0;
	}
	json_object_set_new(o, "decisions", dec);
	http_response_json(resp, status, json_pack("{s:o}", "authorization", o));
	return 0;
}

int tw_authorization_answer(struct tower *t, struct http_response *resp, int64_t id, int status)
{
	return auth_answer_as(t, resp, id, status, NULL);
}

static int auth_show(struct http_request *req, struct http_response *resp, void *ctx)
{
	const struct principal *p;
	int64_t id = tw_order_id(req);

	if (tw_need(req, resp, ACT_MONITOR_READ, &p) == SCOPE_NONE)
		return 0;
	if (id == 0)
		return tw_fail(resp, 404, "not_found", "no such authorization");
	return auth_answer_as(ctx, resp, id, 200, p);
}

/* GET /api/v1/monitoring/authorizations?state=&sensor=&limit=&before=:
 * newest first. */
static int auth_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"state", "sensor", "limit", "before", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	const char *state = http_request_query(req, "state"),
		   *sensor = http_request_query(req, "sensor");
	long long limit = 100, before = INT64_MAX;
	struct store_param ps[4];
	size_t n = 0;
	char sql[1024];
	struct store_res *r = NULL;

	if (tw_need(req, resp, ACT_MONITOR_READ, &p) == SCOPE_NONE ||
	    tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "limit", 1, 1000, &limit) < 0 ||
	    tw_query_int(req, resp, "before", 1, INT64_MAX, &before) < 0 ||
	    tw_order_state_ok(resp, state) < 0)
		return 0;
	ps[n++] = store_int64(before);
	if (state != NULL)
		ps[n++] = store_text(state);
	if (sensor != NULL)
		ps[n++] = store_text(sensor);
	if (p->role == ROLE_SENSOR)
		ps[n++] = store_int64(p->user_id);
	snprintf(sql, sizeof(sql), AUTH_SELECT " WHERE a.id < ?%s%s%s ORDER BY a.id DESC LIMIT %lld",
		 state != NULL ? " AND a.state = ?" : "", sensor != NULL ? " AND u.name = ?" : "",
		 p->role == ROLE_SENSOR ? " AND a.sensor_id = ?" : "", limit + 1);
	if (tw_query(t, resp, sql, ps, n, &r) < 0)
		return 0;
	tw_order_page(resp, r, limit, "authorizations", auth_json);
	store_res_free(r);
	return 0;
}

/* GET /api/v1/monitoring/authorizations/active[?sensor=NAME]: what a
 * sensor may analyse now. A sensor asks for its own; others name one.
 * Whatever the rows say, an authorization past its until is not listed:
 * the tower's pass may not have ended it yet. */
static int auth_active(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"sensor", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	const char *sensor = http_request_query(req, "sensor");
	int64_t now = tw_now_us();
	struct store_res *r = NULL;
	struct store_param ps[3];
	size_t n = 0;
	char sql[1024];

	if (tw_need(req, resp, ACT_MONITOR_READ, &p) == SCOPE_NONE ||
	    tw_query_known(req, resp, known) < 0)
		return 0;
	if (p->role == ROLE_SENSOR) {
		if (sensor != NULL)
			return tw_fail(resp, 400, "bad_query",
				       "a sensor asks for its own authorizations: no sensor=");
		ps[n++] = store_int64(p->user_id);
	} else if (sensor == NULL) {
		return tw_fail(resp, 400, "bad_query", "sensor is required, such as sensor=edge-1");
	} else {
		ps[n++] = store_text(sensor);
	}
	ps[n++] = store_int64(now);
	ps[n++] = store_int64(now);
	snprintf(sql, sizeof(sql),
		 AUTH_SELECT " WHERE %s = ? AND a.state = 'active' AND a.starts <= ? AND a.expires > ? "
			     "ORDER BY a.id",
		 p->role == ROLE_SENSOR ? "a.sensor_id" : "u.name");
	if (tw_query(t, resp, sql, ps, n, &r) < 0)
		return 0;
	json_t *arr = json_array();
	for (size_t i = 0; i < store_res_nrows(r); i++)
		json_array_append_new(arr, auth_json(r, i));
	store_res_free(r);
	r = NULL;
	if (p->role == ROLE_SENSOR) {
		struct store_param pu[] = {store_int64(p->user_id)};

		if (tw_query(t, resp, "SELECT name FROM users WHERE id = ?", pu, 1, &r) < 0) {
			json_decref(arr);
			return 0;
		}
	}
	http_response_json(resp, 200,
			   json_pack("{s:s,s:o,s:o}", "sensor",
				     p->role == ROLE_SENSOR && store_res_nrows(r) == 1
					     ? store_res_text(r, 0, 0)
					     : (sensor != NULL ? sensor : ""),
				     "now", tw_time(now), "authorizations", arr));
	store_res_free(r);
	return 0;
}

const struct tower_route tw_monitoring_routes[] = {
	{HTTP_POST, "/api/v1/monitoring/authorizations", TW_AJ, auth_create},
	{HTTP_GET, "/api/v1/monitoring/authorizations/active", HTTP_ROUTE_AUTH, auth_active},
	{HTTP_GET, "/api/v1/monitoring/authorizations", HTTP_ROUTE_AUTH, auth_list},
	{HTTP_GET, "/api/v1/monitoring/authorizations/{id}", HTTP_ROUTE_AUTH, auth_show},
	{HTTP_POST, "/api/v1/monitoring/authorizations/{id}/approve", TW_AJ, auth_approve},
	{HTTP_POST, "/api/v1/monitoring/authorizations/{id}/reject", TW_AJ, auth_reject},
	{HTTP_POST, "/api/v1/monitoring/authorizations/{id}/withdraw", TW_AJ, auth_withdraw},
	{HTTP_POST, "/api/v1/monitoring/authorizations/{id}/revoke", TW_AJ, auth_revoke},
	{0, NULL, 0, NULL},
};
