/* orders.c - what the committee decides, whatever it decides on:
 * countermeasure cases (cases.c) and monitoring authorizations
 * (monitoring.c) go through the same states, the same decisions and the
 * same rules, written once here (docs/oversight.md).
 *
 *   proposed -> approved -> active -> expired | revoked
 *   proposed -> rejected | withdrawn;  approved -> revoked
 *
 * Nobody approves an order they proposed; analysts cannot approve and
 * overseers cannot propose (the authorization matrix); an order the
 * policy calls wide or long needs two overseers. The tower itself
 * activates approved orders and ends them on time, each step a change
 * "by server"; several towers on one store each try, and the state each
 * step requires lets one of them through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "tower/tower_int.h"

#define ORDER_REASON_MAX 1000

const struct order_kind tw_case_kind = {
	.noun = "case",
	.table = "cases",
	.decisions = "case_decisions",
	.fk = "case_id",
	.rec = REC_CASES,
	.rec_decisions = REC_CASE_DECISIONS,
	.kinds = {CHANGE_CASE_APPROVE, CHANGE_CASE_REJECT, CHANGE_CASE_WITHDRAW, CHANGE_CASE_REVOKE,
		  CHANGE_CASE_ACTIVATE, CHANGE_CASE_EXPIRE},
	.scheduled = false,
	.serial = true,
	.answer = tw_case_answer,
};

const struct order_kind tw_authorization_kind = {
	.noun = "authorization",
	.table = "authorizations",
	.decisions = "authorization_decisions",
	.fk = "authorization_id",
	.rec = REC_AUTHORIZATIONS,
	.rec_decisions = REC_AUTHORIZATION_DECISIONS,
	.kinds = {CHANGE_AUTH_APPROVE, CHANGE_AUTH_REJECT, CHANGE_AUTH_WITHDRAW, CHANGE_AUTH_REVOKE,
		  CHANGE_AUTH_ACTIVATE, CHANGE_AUTH_EXPIRE},
	.scheduled = true,
	.serial = false,
	.answer = tw_authorization_answer,
};

static const char *const dec_names[ORDER_DECISIONS] = {"approve", "reject",   "withdraw",
						       "revoke",  "activate", "expire"};

struct order_step {
	const struct order_kind *k;
	int64_t id;
	enum order_decision d;
	const char *reason;
	bool changed_active; /* out: the active set changed */
};

/* The serial of the countermeasure files rises with the active set. */
static int serial_bump(struct store_conn *c)
{
	return store_exec(c, "UPDATE countermeasure_state SET value = value + 1 WHERE name = 'serial'",
			  NULL, 0, NULL, NULL);
}

static int order_refuse_state(struct svc_tx *x, const struct order_kind *k, const char *state)
{
	char msg[100];

	snprintf(msg, sizeof(msg), "the %s is %s", k->noun, state);
	return svc_refuse(x->res, SVC_CONFLICT, "wrong_state", msg);
}

static int order_step_body(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct order_step *in = arg;
	const struct order_kind *k = in->k;
	struct store_param pi[] = {store_int64(in->id)};
	struct store_res *r = NULL;
	const char *next = NULL;
	int64_t proposer, needed, when, expires;
	char sql[400], state[16], msg[160];
	int rc;

	/* when: a case's duration, counted from activation; an
	 * authorization's start, fixed when it was proposed. The row is
	 * locked until the decision commits: on PostgreSQL two decisions, or
	 * a decision and the scheduler's activation, would otherwise both
	 * read the state before either changed it (two approvals each
	 * counting one, or a revoke of a case activated meanwhile). */
	snprintf(sql, sizeof(sql),
		 "SELECT state, proposed_by, approvals_needed, %s AS start, expires FROM %s WHERE "
		 "id = ?%s",
		 k->scheduled ? "starts" : "duration", k->table, store_for_update(x->t->st));
	if ((rc = store_exec(c, sql, pi, 1, &r, NULL)) < 0)
		return rc;
	if (store_res_nrows(r) != 1) {
		store_res_free(r);
		snprintf(msg, sizeof(msg), "no such %s", k->noun);
		return svc_refuse(x->res, SVC_NOT_FOUND, "not_found", msg);
	}
	snprintf(state, sizeof(state), "%s", store_res_text(r, 0, tw_col(r, "state")));
	proposer = store_res_int64(r, 0, tw_col(r, "proposed_by"));
	needed = store_res_int64(r, 0, tw_col(r, "approvals_needed"));
	when = store_res_int64(r, 0, tw_col(r, "start"));
	expires = store_res_int64(r, 0, tw_col(r, "expires"));
	store_res_free(r);
	r = NULL;

	bool proposed = strcmp(state, "proposed") == 0, approved = strcmp(state, "approved") == 0,
	     active = strcmp(state, "active") == 0;
	switch (in->d) {
	case DEC_APPROVE:
	case DEC_REJECT:
	case DEC_WITHDRAW:
		if (!proposed)
			return order_refuse_state(x, k, state);
		if (in->d == DEC_WITHDRAW && proposer != x->p->user_id) {
			snprintf(msg, sizeof(msg), "only the analyst who proposed a %s withdraws it",
				 k->noun);
			return svc_refuse(x->res, SVC_FORBIDDEN, "forbidden", msg);
		}
		if (in->d != DEC_WITHDRAW && proposer == x->p->user_id) {
			snprintf(msg, sizeof(msg),
				 "you proposed this %s: another overseer decides it", k->noun);
			return svc_refuse(x->res, SVC_CONFLICT, "self_approval", msg);
		}
		next = in->d == DEC_REJECT ? "rejected" : in->d == DEC_WITHDRAW ? "withdrawn" : NULL;
		break;
	case DEC_REVOKE:
		if (!approved && !active)
			return order_refuse_state(x, k, state);
		next = "revoked";
		in->changed_active = active;
		break;
	case DEC_ACTIVATE:
		if (!approved || (k->scheduled && when > x->now))
			return svc_unchanged(x); /* another tower did it, or not yet */
		if (k->scheduled && expires <= x->now) {
			/* Approved after its time had run out: it never runs. */
			in->d = DEC_EXPIRE;
			in->reason = "its time ran out before it could start";
			next = "expired";
			break;
		}
		next = "active";
		in->changed_active = true;
		break;
	case DEC_EXPIRE:
		if (!active || expires > x->now)
			return svc_unchanged(x);
		next = "expired";
		in->changed_active = true;
		break;
	case ORDER_DECISIONS:
		return YG_EINVAL;
	}
	struct store_param pd[] = {store_int64(in->id),
				   x->p != NULL ? store_int64(x->p->user_id) : store_null(),
				   store_text(dec_names[in->d]), store_text(in->reason),
				   store_int64(x->now)};
	snprintf(sql, sizeof(sql),
		 "INSERT INTO %s (%s, user_id, decision, reason, created) VALUES (?, ?, ?, ?, ?)",
		 k->decisions, k->fk);
	rc = svc_write(x, c, k->rec_decisions, sql, pd, 5, NULL);
	if (rc == YG_ECONFLICT) {
		snprintf(msg, sizeof(msg), "you have approved this %s already", k->noun);
		return svc_refuse(x->res, SVC_CONFLICT, "already_approved", msg);
	}
	if (rc < 0)
		return rc;
	if (in->d == DEC_APPROVE) {
		snprintf(sql, sizeof(sql),
			 "SELECT COUNT(*) FROM %s WHERE %s = ? AND decision = 'approve'", k->decisions,
			 k->fk);
		if ((rc = store_exec(c, sql, pi, 1, &r, NULL)) < 0)
			return rc;
		int64_t approvals = store_res_int64(r, 0, 0);
		store_res_free(r);
		if (approvals >= needed)
			next = "approved";
	}
	if (next != NULL) {
		bool start = strcmp(next, "active") == 0, end = !start && strcmp(next, "approved") != 0;
		struct store_param pu[6];
		size_t n = 0;

		pu[n++] = store_text(next);
		pu[n++] = store_int64(x->now);
		if (start) {
			pu[n++] = store_int64(x->now);
			if (!k->scheduled)
				pu[n++] = store_int64(x->now + when * 1000000);
		} else if (end) {
			pu[n++] = store_int64(x->now);
		}
		pu[n++] = store_int64(in->id);
		pu[n++] = store_text(state);
		snprintf(sql, sizeof(sql), "UPDATE %s SET state = ?, updated = ?%s WHERE id = ? AND state = ?",
			 k->table,
			 start ? (k->scheduled ? ", activated = ?" : ", activated = ?, expires = ?")
			 : end ? ", ended = ?"
			       : "");
		rc = svc_write(x, c, k->rec, sql, pu, n, NULL);
		if (rc == 0 && k == &tw_case_kind &&
		    ((rc = tw_count_case(c, state, -1)) == 0))
			rc = tw_count_case(c, next, 1);
		if (rc == 0 && in->changed_active && k->serial)
			rc = serial_bump(c);
		if (rc < 0)
			return rc;
	}
	return svc_changed(x, c, k->kinds[in->d], in->id);
}

static const char *const order_states[] = {"proposed", "approved", "active", "expired",
					   "revoked",  "rejected", "withdrawn", NULL};

int tw_order_state_ok(struct http_response *resp, const char *state)
{
	for (size_t k = 0; state != NULL && order_states[k] != NULL; k++)
		if (strcmp(state, order_states[k]) == 0)
			return 0;
	if (state == NULL)
		return 0;
	tw_fail(resp, 400, "bad_query",
		"state must be proposed, approved, active, expired, revoked, rejected or withdrawn");
	return -1;
}

int tw_order_page(struct http_response *resp, const struct store_res *r, long long limit,
		  const char *items, json_t *(*item)(const struct store_res *r, size_t i))
{
	size_t rows = store_res_nrows(r), shown = rows > (size_t)limit ? (size_t)limit : rows;
	json_t *arr = json_array();

	for (size_t i = 0; i < shown; i++)
		json_array_append_new(arr, item(r, i));
	json_t *page = json_pack("{s:o,s:b}", items, arr, "more", rows > shown);
	if (rows > shown)
		json_object_set_new(page, "next_before",
				    json_integer(store_res_int64(r, shown - 1, tw_col(r, "id"))));
	http_response_json(resp, 200, page);
	return 0;
}

int64_t tw_order_id(struct http_request *req)
{
	const char *s = http_request_param(req, "id");
	char *end;
	long long id = strtoll(s, &end, 10);

	return *s != '\0' && *end == '\0' && id > 0 ? id : 0;
}

int tw_order_decide(struct http_request *req, struct http_response *resp, struct tower *t,
		    const struct order_kind *k, enum order_decision d, enum action a)
{
	static const char *const fields[] = {"reason", NULL};
	const struct principal *p;
	json_t *b = http_request_json(req);
	struct order_step in = {.k = k, .id = tw_order_id(req), .d = d,
				.reason = json_string_value(json_object_get(b, "reason"))};
	struct svc_result res;
	struct tw_idem key;
	char msg[64];

	if (tw_need(req, resp, a, &p) == SCOPE_NONE || tw_only_fields(resp, b, fields, "decision") < 0)
		return 0;
	if (in.id == 0) {
		snprintf(msg, sizeof(msg), "no such %s", k->noun);
		return tw_fail(resp, 404, "not_found", msg);
	}
	if (in.reason == NULL || strlen(in.reason) == 0 || strlen(in.reason) > ORDER_REASON_MAX) {
		http_response_error(resp, 422, "validation_failed", "the decision is not valid");
		http_response_error_field(resp, "reason", "is required: 1 to 1000 bytes");
		return 0;
	}
	if (tw_idem_begin(t, req, resp, p, 200, k->answer, &key))
		return 0;
	if (svc_run_keyed(t, t->st, p, false, &key, order_step_body, &in, &res) < 0) {
		if (res.status == SVC_CONFLICT && tw_idem_replay(t, resp, p, &key))
			return 0;
		return svc_answer(resp, &res);
	}
	tw_cases_wake(t); /* an approval is activated, a revocation published, now */
	return k->answer(t, resp, in.id, 200);
}

/* One kind's pass: activates what is approved and due, expires what is
 * active and past its time. Returns how many changed its active set. */
static int order_pass(struct tower *t, const struct order_kind *k)
{
	struct store_conn *c = NULL;
	struct store_res *r = NULL;
	int64_t now = tw_now_us();
	struct store_param ps[] = {store_int64(now), store_int64(now)};
	char sql[300];
	int rc, changed = 0;

	snprintf(sql, sizeof(sql),
		 "SELECT id, state FROM %s WHERE (state = 'approved' AND %s <= ?) OR (state = 'active' "
		 "AND expires <= ?) ORDER BY id LIMIT 1000",
		 k->table, k->scheduled ? "starts" : "0");
	if ((rc = store_conn_get(t->st, &c)) < 0)
		return rc;
	rc = store_exec(c, sql, ps, 2, &r, NULL);
	store_conn_put(c);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < store_res_nrows(r); i++) {
		bool approved = strcmp(store_res_text(r, i, 1), "approved") == 0;
		struct order_step in = {.k = k,
					.id = store_res_int64(r, i, 0),
					.d = approved ? DEC_ACTIVATE : DEC_EXPIRE,
					.reason = approved ? "approved: it takes effect"
							   : "its time ran out"};
		struct svc_result res;

		if (svc_run(t, t->st, NULL, false, order_step_body, &in, &res) < 0)
			log_warnx("tower: %s %lld: %s", k->noun, (long long)in.id, res.msg);
		else
			changed += in.changed_active;
	}
	store_res_free(r);
	return changed;
}

int tw_cases_pass(struct tower *t)
{
	int rc = order_pass(t, &tw_authorization_kind);

	if (rc < 0)
		log_warnx("tower: authorizations: %s", yg_strerror(rc));
	return order_pass(t, &tw_case_kind);
}
