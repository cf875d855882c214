/* cases.c - countermeasure cases under oversight (issue 13,
 * docs/oversight.md): an analyst proposes one against an attack server,
 * overseers approve or reject it, the tower activates it and lets it
 * expire, and either may end it early. Every step is a change through the
 * service layer, and so an entry in the transparency log. The states and
 * decisions are every order's (orders.c); what is a case's own is here:
 * what it targets, the evidence it carries, and what the tower refuses to
 * act against whoever asks (cases.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "tower/cases.h"
#include "tower/config.h"
#include "tower/rollup.h"
#include "tower/tower_int.h"

#define CASE_TEXT_MAX	  4096 /* justification */
#define CASE_CONTACT_MAX  254
#define CASE_SOURCE_ALERTS ROLLUP_RECENT_MAX /* alerts a case from a source cites */

/* ---- a proposal -------------------------------------------------------- */

struct case_new {
	struct cm_case c;		/* as the renderers will see it: checked */
	struct cm_target target;
	char target_text[256];
	char ports_text[CM_MAX_PORTS * 6 + 1];
	uint16_t ports[CM_MAX_PORTS];
	char evidence[CM_MAX_EVIDENCE][80];
	const char *evidence_p[CM_MAX_EVIDENCE];
	int64_t duration_s;
	int64_t approvals;
};

static void case_fail(struct http_response *resp, const char *field, const char *reason)
{
	http_response_error(resp, 422, "validation_failed", "the case is not valid");
	http_response_error_field(resp, field, reason);
}

/* The body's fields into in, checked on their own and against the
 * policy; answers and returns -1 when they are not right. from_source:
 * the target is given (POST /sources/{ip}/case). */
static int case_parse(struct tower *t, struct http_response *resp, const json_t *b,
		      const char *from_source, struct case_new *in)
{
	static const char *const fields[] = {"action", "target", "justification", "duration",
					     "evidence", "proto", "ports", "contact", NULL};
	static const char *const source_fields[] = {"action", "justification", "duration",
						    "proto", "ports", "contact", NULL};
	const struct case_policy *pol = &t->cfg.cases;
	const char *action = json_string_value(json_object_get(b, "action"));
	const char *target = from_source ? from_source : json_string_value(json_object_get(b, "target"));
	const char *just = json_string_value(json_object_get(b, "justification"));
	const char *duration = json_string_value(json_object_get(b, "duration"));
	const json_t *ev = json_object_get(b, "evidence"),
		     *ports = json_object_get(b, "ports"), *proto = json_object_get(b, "proto"),
		     *contact = json_object_get(b, "contact");
	char why[600];

	memset(in, 0, sizeof(*in));
	if (tw_only_fields(resp, b, from_source ? source_fields : fields, "case") < 0)
		return -1;
	if (action == NULL || cm_action_parse(action, &in->c.action) < 0) {
		case_fail(resp, "action", "must be sinkhole, rtbh, flowspec, blocklist or notice");
		return -1;
	}
	if (target == NULL || strlen(target) >= sizeof(in->target_text) ||
	    cm_target_parse(target, &in->target) < 0) {
		case_fail(resp, "target",
			  "must be an IPv4 or IPv6 address, a prefix without host bits, or a domain name");
		return -1;
	}
	if (in->target.kind == CM_TARGET_PREFIX)
		cm_prefix_fmt(&in->target, 0, in->target_text);
	else
		snprintf(in->target_text, sizeof(in->target_text), "%s", in->target.name);
	/* A justification may run to paragraphs: cm_case_check() lets
	 * newlines through and nothing else of control. */
	if (just == NULL || *just == '\0' || strlen(just) > CASE_TEXT_MAX) {
		case_fail(resp, "justification", "is required: 1 to 4096 bytes");
		return -1;
	}
	if (duration == NULL || config_parse_duration(duration, &in->duration_s) < 0 ||
	    in->duration_s < pol->min_duration_s || in->duration_s > pol->max_duration_s) {
		snprintf(why, sizeof(why),
			 "is required: a duration such as 24h, 3d or 90m, from %llds to %llds (the "
			 "policy's [cases] min_duration and max_duration)",
			 (long long)pol->min_duration_s, (long long)pol->max_duration_s);
		case_fail(resp, "duration", why);
		return -1;
	}
	if (proto != NULL && !json_is_string(proto)) {
		case_fail(resp, "proto", "must be tcp, udp or icmp");
		return -1;
	}
	if (ports != NULL) {
		size_t i, at = 0;
		const json_t *v;

		if (!json_is_array(ports) || json_array_size(ports) > CM_MAX_PORTS) {
			case_fail(resp, "ports", "must be a list of at most 32 port numbers");
			return -1;
		}
		json_array_foreach(ports, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 65535) {
				case_fail(resp, "ports", "must be port numbers from 1 to 65535");
				return -1;
			}
			in->ports[i] = (uint16_t)json_integer_value(v);
			at += (size_t)snprintf(in->ports_text + at, sizeof(in->ports_text) - at, "%s%u",
					       i ? "," : "", in->ports[i]);
		}
		in->c.nports = json_array_size(ports);
	}
	if (contact != NULL && (!json_is_string(contact) ||
				!tw_name_ok(json_string_value(contact), CASE_CONTACT_MAX))) {
		case_fail(resp, "contact", "must be a mail address");
		return -1;
	}
	if (ev != NULL) {
		size_t i;
		const json_t *v;

		if (!json_is_array(ev) || json_array_size(ev) > CM_MAX_EVIDENCE) {
			case_fail(resp, "evidence", "must be a list of at most 64 'alert:ID', "
						    "'report:ID' or 'source:ADDRESS'");
			return -1;
		}
		json_array_foreach(ev, i, v) {
			const char *s = json_string_value(v);

			if (s == NULL || strlen(s) >= sizeof(in->evidence[0]) ||
			    (strncmp(s, "alert:", 6) != 0 && strncmp(s, "report:", 7) != 0 &&
			     strncmp(s, "source:", 7) != 0)) {
				snprintf(why, sizeof(why), "evidence[%zu]", i);
				case_fail(resp, why, "must be 'alert:ID', 'report:ID' or 'source:ADDRESS'");
				return -1;
			}
			snprintf(in->evidence[i], sizeof(in->evidence[i]), "%s", s);
			in->evidence_p[i] = in->evidence[i];
		}
		in->c.nevidence = json_array_size(ev);
	}
	in->c.id = 1; /* checked as a set of one; the store gives the id */
	in->c.target = in->target_text;
	in->c.proto = json_string_value(proto);
	in->c.ports = in->ports;
	in->c.justification = just;
	in->c.contact = json_string_value(contact);
	in->c.evidence = in->evidence_p;
	if (cm_case_check(&in->c, NULL, why, sizeof(why)) < 0) {
		tw_fail(resp, 422, "validation_failed", why);
		return -1;
	}
	/* The policy: how wide, and what is never blocked. */
	if (in->target.kind == CM_TARGET_PREFIX) {
		unsigned widest = in->target.addr.family == 4 ? pol->max_prefix4 : pol->max_prefix6;

		if (in->target.plen < widest) {
			snprintf(why, sizeof(why), "%s is wider than the policy allows (/%u at most)",
				 in->target_text, widest);
			tw_fail(resp, 422, "too_wide", why);
			return -1;
		}
	}
	if (case_guard_hit(t->cases_guard, &in->target, why, sizeof(why))) {
		char msg[1000];

		snprintf(msg, sizeof(msg), "%s is on the never-block list: %s", in->target_text, why);
		tw_fail(resp, 422, "never_block", msg);
		return -1;
	}
	bool wide = in->target.kind == CM_TARGET_PREFIX &&
		    in->target.plen < (in->target.addr.family == 4 ? pol->one_prefix4 : pol->one_prefix6);
	in->approvals = wide || in->duration_s > pol->two_overseers_after_s ? 2 : 1;
	return 0;
}

/* In the proposal's transaction: the registered assets it would hit, a
 * source whose alerts say it is forged, evidence that does not exist. */
static int case_check_store(struct store_conn *c, struct svc_tx *x, struct case_new *in)
{
	struct store_res *r = NULL;
	char msg[700];
	int rc;

	if (in->target.kind == CM_TARGET_PREFIX) {
		rc = store_exec(c, "SELECT asset_id, prefix FROM asset_addresses", NULL, 0, &r, NULL);
		for (size_t i = 0; rc == 0 && i < store_res_nrows(r); i++) {
			struct cm_target a;

			if (cm_target_parse(store_res_text(r, i, 1), &a) == 0 &&
			    case_prefix_overlap(&a, &in->target)) {
				snprintf(msg, sizeof(msg),
					 "%s is on the never-block list: %s is registered critical "
					 "infrastructure (asset %lld)",
					 in->target_text, store_res_text(r, i, 1),
					 (long long)store_res_int64(r, i, 0));
				store_res_free(r);
				return svc_refuse(x->res, SVC_INVALID, "never_block", msg);
			}
		}
		store_res_free(r);
		r = NULL;
		if (rc < 0)
			return rc;
		/* A flood from forged sources names nobody (attackers ''): its
		 * source addresses are someone else's. */
		if (in->target.plen == (in->target.addr.family == 4 ? 32 : 128)) {
			struct store_param ps[] = {store_text(in->target_text)};

			if ((rc = store_exec(c,
					     "SELECT COUNT(*) FROM alerts WHERE src_ip = ? AND "
					     "attackers = ''",
					     ps, 1, &r, NULL)) < 0)
				return rc;
			int64_t forged = store_res_int64(r, 0, 0);
			store_res_free(r);
			if (forged > 0) {
				snprintf(msg, sizeof(msg),
					 "%s is a spoofed source: %lld of its alerts are marked as sent "
					 "from forged addresses",
					 in->target_text, (long long)forged);
				return svc_refuse(x->res, SVC_INVALID, "spoofed_source", msg);
			}
		}
	}
	for (size_t i = 0; i < in->c.nevidence; i++) {
		const char *e = in->evidence[i], *ref = strchr(e, ':') + 1;
		const char *sql = strncmp(e, "alert:", 6) == 0	  ? "SELECT 1 FROM alerts WHERE id = ?"
				  : strncmp(e, "report:", 7) == 0 ? "SELECT 1 FROM reports WHERE id = ?"
								  : "SELECT 1 FROM source_stats WHERE src_ip = ?";
		char *end;
		long long id = strtoll(ref, &end, 10);
		struct store_param ps[] = {e[0] == 's' ? store_text(ref) : store_int64(id)};
		char field[32];

		if (e[0] != 's' && (*ref == '\0' || *end != '\0' || id < 1)) {
			snprintf(field, sizeof(field), "evidence[%zu]", i);
			svc_field(x->res, field, "is not an id");
			return svc_refuse(x->res, SVC_INVALID, "validation_failed",
					  "the case's evidence is not valid");
		}
		if ((rc = store_exec(c, sql, ps, 1, &r, NULL)) < 0)
			return rc;
		size_t found = store_res_nrows(r);
		store_res_free(r);
		r = NULL;
		if (found == 0) {
			snprintf(field, sizeof(field), "evidence[%zu]", i);
			svc_field(x->res, field, "does not exist");
			snprintf(msg, sizeof(msg), "the case's evidence %s does not exist", e);
			return svc_refuse(x->res, SVC_INVALID, "validation_failed", msg);
		}
	}
	return 0;
}

static int case_propose(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct case_new *in = arg;
	struct rec_set set = {0};
	struct rec_ref ref = {.t = REC_CASE_EVIDENCE};
	int64_t id;
	int rc;

	if ((rc = case_check_store(c, x, in)) < 0)
		return rc;
	struct store_param ps[] = {
		store_text(cm_action_name(in->c.action)),
		store_text(in->target_text),
		store_text(in->c.proto),
		in->c.nports ? store_text(in->ports_text) : store_null(),
		store_text(in->c.contact),
		store_text(in->c.justification),
		store_int64(in->duration_s),
		store_int64(in->approvals),
		store_int64(x->p->user_id),
		store_int64(x->now),
		store_int64(x->now)};
	rc = svc_write(x, c, REC_CASES,
		       "INSERT INTO cases (action, target, proto, ports, contact, justification, "
		       "duration, approvals_needed, state, proposed_by, created, updated) "
		       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'proposed', ?, ?, ?)",
		       ps, 11, &id);
	if (rc == 0)
		rc = tw_count_case(c, "proposed", 1);
	for (size_t i = 0; rc == 0 && i < in->c.nevidence; i++) {
		char kind[8];
		const char *colon = strchr(in->evidence[i], ':');

		snprintf(kind, sizeof(kind), "%.*s", (int)(colon - in->evidence[i]), in->evidence[i]);
		struct store_param pe[] = {store_int64(id), store_text(kind), store_text(colon + 1)};
		rc = store_exec(c,
				"INSERT INTO case_evidence (case_id, kind, ref) VALUES (?, ?, ?) "
				"ON CONFLICT DO NOTHING",
				pe, 3, NULL, NULL);
		if (rc == 0 && (rc = rec_row_params(REC_CASE_EVIDENCE, pe + 1, &ref.h)) == 0)
			rc = rec_set_add(&set, &ref.h);
	}
	if (rc == 0) {
		rec_set_hash(REC_CASE_EVIDENCE, &set, &ref.h, &ref.count);
		ref.key[0] = id;
		rc = svc_row(x, &ref);
	}
	rec_set_free(&set);
	if (rc < 0)
		return rc;
	return svc_changed(x, c, CHANGE_CASE_PROPOSE, id);
}

/* ---- proposing --------------------------------------------------------- */

static int case_submit(struct tower *t, struct http_request *req, struct http_response *resp,
		       const struct principal *p, struct case_new *in)
{
	struct svc_result res;
	struct tw_idem k;

	if (tw_idem_begin(t, req, resp, p, 201, tw_case_answer, &k))
		return 0;
	if (svc_run_keyed(t, t->st, p, false, &k, case_propose, in, &res) < 0) {
		if (res.status == SVC_CONFLICT && tw_idem_replay(t, resp, p, &k))
			return 0;
		return svc_answer(resp, &res);
	}
	return tw_case_answer(t, resp, res.id, 201);
}

/* POST /api/v1/cases */
static int cases_create(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	struct case_new in;

	if (tw_need(req, resp, ACT_CASE_PROPOSE, &p) == SCOPE_NONE ||
	    case_parse(t, resp, http_request_json(req), NULL, &in) < 0)
		return 0;
	return case_submit(t, req, resp, p, &in);
}

/* The latest alerts of source ip, newest first, into ids (at most
 * CASE_SOURCE_ALERTS): those stored since the summary's last pass with ip
 * as their source, then those the summary credited it with (v25), less any
 * retention erased since. A source whose row predates v25 and has had no
 * alert since is searched for as before, newest first. Returns how many,
 * or -1 after answering. */
static int source_alerts(struct tower *t, struct http_response *resp, const char *ip,
			 int64_t *ids)
{
	struct store_param ps[] = {store_text(ip), store_int64(CASE_SOURCE_ALERTS)};
	struct store_res *r = NULL;
	char sql[400], list[CASE_SOURCE_ALERTS * 3 + 8] = "";
	int n = 0;

	if (tw_query(t, resp,
		     "SELECT id FROM alerts WHERE id > COALESCE((SELECT last_id FROM rollup_state "
		     "WHERE name = 'sources'), 0) AND src_ip = ? ORDER BY id DESC LIMIT ?",
		     ps, 2, &r) < 0)
		return -1;
	for (size_t i = 0; i < store_res_nrows(r); i++)
		ids[n++] = store_res_int64(r, i, 0);
	store_res_free(r);
	if (tw_query(t, resp, "SELECT recent_alerts FROM source_stats WHERE src_ip = ?", ps, 1,
		     &r) < 0)
		return -1;
	bool before_v25 = store_res_nrows(r) == 1 && store_res_isnull(r, 0, 0);
	for (const char *c = store_res_nrows(r) == 1 ? store_res_text(r, 0, 0) : NULL;
	     c != NULL && *c != '\0' && n < CASE_SOURCE_ALERTS;) {
		char *end;
		long long v = strtoll(c, &end, 10);

		if (end == c)
			break;
		if (n == 0 || v < ids[n - 1]) /* newer ones came from the scan above */
			ids[n++] = v;
		c = *end == ',' ? end + 1 : end;
	}
	store_res_free(r);
	if (n == 0 && before_v25) {
		if (tw_query(t, resp,
			     "SELECT id FROM alerts WHERE src_ip = ? ORDER BY id DESC LIMIT ?", ps, 2,
			     &r) < 0)
			return -1;
		for (size_t i = 0; i < store_res_nrows(r); i++)
			ids[n++] = store_res_int64(r, i, 0);
		store_res_free(r);
	}
	if (n == 0)
		return 0;
	/* Only what is still stored: retention erases old alerts. */
	struct store_param pi[CASE_SOURCE_ALERTS];
	size_t at = 0;
	for (int i = 0; i < n; i++) {
		pi[i] = store_int64(ids[i]);
		at += (size_t)snprintf(list + at, sizeof(list) - at, i ? ", ?" : "?");
	}
	snprintf(sql, sizeof(sql), "SELECT id FROM alerts WHERE id IN (%s) ORDER BY id DESC", list);
	if (tw_query(t, resp, sql, pi, (size_t)n, &r) < 0)
		return -1;
	n = 0;
	for (size_t i = 0; i < store_res_nrows(r); i++)
		ids[n++] = store_res_int64(r, i, 0);
	store_res_free(r);
	return n;
}

/* POST /api/v1/sources/{ip}/case: a case against a ranked source, its
 * evidence the source and its latest alerts. */
static int source_case(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	const char *ip = http_request_param(req, "ip");
	struct case_new in;
	int64_t ids[CASE_SOURCE_ALERTS];
	int n;

	if (tw_need(req, resp, ACT_CASE_PROPOSE, &p) == SCOPE_NONE ||
	    case_parse(t, resp, http_request_json(req), ip, &in) < 0)
		return 0;
	if (in.target.kind != CM_TARGET_PREFIX ||
	    in.target.plen != (in.target.addr.family == 4 ? 32 : 128))
		return tw_fail(resp, 422, "validation_failed", "a source is one address");
	if ((n = source_alerts(t, resp, in.target_text, ids)) < 0)
		return 0;
	snprintf(in.evidence[0], sizeof(in.evidence[0]), "source:%.70s", in.target_text);
	in.c.nevidence = 1;
	for (int i = 0; i < n; i++)
		snprintf(in.evidence[in.c.nevidence++], sizeof(in.evidence[0]), "alert:%lld",
			 (long long)ids[i]);
	for (size_t i = 0; i < in.c.nevidence; i++)
		in.evidence_p[i] = in.evidence[i];
	return case_submit(t, req, resp, p, &in);
}

/* ---- deciding (orders.c) ---------------------------------------------- */

static int cases_approve(struct http_request *req, struct http_response *resp, void *ctx)
{
	return tw_order_decide(req, resp, ctx, &tw_case_kind, DEC_APPROVE, ACT_CASE_DECIDE);
}

static int cases_reject(struct http_request *req, struct http_response *resp, void *ctx)
{
	return tw_order_decide(req, resp, ctx, &tw_case_kind, DEC_REJECT, ACT_CASE_DECIDE);
}

static int cases_withdraw(struct http_request *req, struct http_response *resp, void *ctx)
{
	return tw_order_decide(req, resp, ctx, &tw_case_kind, DEC_WITHDRAW, ACT_CASE_PROPOSE);
}

static int cases_revoke(struct http_request *req, struct http_response *resp, void *ctx)
{
	return tw_order_decide(req, resp, ctx, &tw_case_kind, DEC_REVOKE, ACT_CASE_REVOKE);
}

const struct tower_route tw_case_routes[] = {
	{HTTP_POST, "/api/v1/cases", TW_AJ, cases_create},
	{HTTP_POST, "/api/v1/cases/{id}/approve", TW_AJ, cases_approve},
	{HTTP_POST, "/api/v1/cases/{id}/reject", TW_AJ, cases_reject},
	{HTTP_POST, "/api/v1/cases/{id}/withdraw", TW_AJ, cases_withdraw},
	{HTTP_POST, "/api/v1/cases/{id}/revoke", TW_AJ, cases_revoke},
	{HTTP_POST, "/api/v1/sources/{ip}/case", TW_AJ, source_case},
	{0, NULL, 0, NULL},
};
