/* service.c - the one path by which the tower changes its store.
 *
 * svc_run() gives a service function's body a transaction and commits it
 * only when the body succeeded and declared the change it made
 * (svc_changed). The declaration carries what the transparency log needs
 * (issue 12): the kind of change, the record's id, who made it, when, and
 * the record as stored, hashed. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "tower/tower_int.h"

static const char *const kind_names[CHANGE_KINDS] = {
	[CHANGE_ORG_CREATE] = "org.create",
	[CHANGE_USER_CREATE] = "user.create",
	[CHANGE_TOKEN_ISSUE] = "token.issue",
	[CHANGE_TOKEN_REVOKE] = "token.revoke",
	[CHANGE_REPORT_CREATE] = "report.create",
	[CHANGE_REPORT_VERSION] = "report.version",
	[CHANGE_REPORT_CLOSE] = "report.close",
	[CHANGE_ASSET_CREATE] = "asset.create",
	[CHANGE_ALERT_BATCH] = "alert.batch",
	[CHANGE_CASE_PROPOSE] = "case.propose",
	[CHANGE_CASE_APPROVE] = "case.approve",
	[CHANGE_CASE_REJECT] = "case.reject",
	[CHANGE_CASE_WITHDRAW] = "case.withdraw",
	[CHANGE_CASE_REVOKE] = "case.revoke",
	[CHANGE_CASE_ACTIVATE] = "case.activate",
	[CHANGE_CASE_EXPIRE] = "case.expire",
	[CHANGE_RETENTION_ERASE] = "retention.erase",
	[CHANGE_AUTH_PROPOSE] = "authorization.propose",
	[CHANGE_AUTH_APPROVE] = "authorization.approve",
	[CHANGE_AUTH_REJECT] = "authorization.reject",
	[CHANGE_AUTH_WITHDRAW] = "authorization.withdraw",
	[CHANGE_AUTH_REVOKE] = "authorization.revoke",
	[CHANGE_AUTH_ACTIVATE] = "authorization.activate",
	[CHANGE_AUTH_EXPIRE] = "authorization.expire",
	[CHANGE_TAXII_ADD] = "taxii.add",
	[CHANGE_TAXII_DELETE] = "taxii.delete",
	[CHANGE_USER_PASSWORD] = "user.password",
	[CHANGE_USER_PREFERENCES] = "user.preferences",
	[CHANGE_SESSION_OPEN] = "session.open",
	[CHANGE_SESSION_CLOSE] = "session.close",
	[CHANGE_COLLECTION_CREATE] = "taxii.collection.create",
	[CHANGE_COLLECTION_UPDATE] = "taxii.collection.update",
	[CHANGE_COLLECTION_ACCESS] = "taxii.collection.access",
	[CHANGE_COLLECTION_ADOPT] = "taxii.collection.adopt",
	[CHANGE_USER_CERTIFICATE] = "user.certificate",
};

const char *change_kind_name(enum change_kind k)
{
	return k < CHANGE_KINDS ? kind_names[k] : "unknown";
}

int svc_refuse(struct svc_result *res, enum svc_status s, const char *code, const char *msg)
{
	res->status = s;
	res->code = code;
	snprintf(res->msg, sizeof(res->msg), "%s", msg);
	return YG_EINVAL;
}

void svc_field(struct svc_result *res, const char *field, const char *reason)
{
	struct report_errors *e = &res->fields;

	if (e->n >= REPORT_MAX_ERRORS)
		return;
	snprintf(e->e[e->n].field, sizeof(e->e[e->n].field), "%s", field);
	snprintf(e->e[e->n].reason, sizeof(e->e[e->n].reason), "%s", reason);
	e->n++;
}

void svc_keep(struct svc_tx *x, const json_t *answer)
{
	x->answer = answer;
}

int svc_unchanged(struct svc_tx *x)
{
	x->unchanged = true;
	return 0;
}

int svc_write(struct svc_tx *x, struct store_conn *c, enum rec_table t, const char *sql,
	      const struct store_param *ps, size_t n, int64_t *id)
{
	char q[2048];
	struct store_res *r = NULL;
	struct rec_ref *ref;
	int len, rc;

	if (x->nrows >= SVC_ROWS_MAX)
		return YG_ELIMIT;
	len = snprintf(q, sizeof(q), "%s RETURNING %s", sql, rec_defs[t].cols);
	if (len < 0 || (size_t)len >= sizeof(q))
		return YG_ELIMIT;
	if ((rc = store_exec(c, q, ps, n, &r, NULL)) < 0)
		return rc;
	ref = &x->rows[x->nrows];
	*ref = (struct rec_ref){.t = t};
	if (store_res_nrows(r) != 1)
		rc = YG_ENOTFOUND;
	else if ((rc = rec_row_res(t, r, 0, &ref->h, ref->key)) == 0)
		x->nrows++;
	store_res_free(r);
	if (rc == 0 && id != NULL)
		*id = ref->key[0];
	return rc;
}

int svc_row(struct svc_tx *x, const struct rec_ref *ref)
{
	if (x->nrows >= SVC_ROWS_MAX)
		return YG_ELIMIT;
	x->rows[x->nrows++] = *ref;
	return 0;
}

int svc_changed(struct svc_tx *x, struct store_conn *c, enum change_kind kind, int64_t id)
{
	return svc_changed_version(x, c, kind, id, 0);
}

int svc_changed_version(struct svc_tx *x, struct store_conn *c, enum change_kind kind, int64_t id,
			int64_t version)
{
	int rc;

	if (kind >= CHANGE_KINDS || id <= 0 || version < 0 || x->nrows == 0)
		return YG_EINVAL;
	/* A retry with the request's key finds this row only if the change
	 * committed (idem.c). Before the entry: a failure here takes no seq. */
	if (x->changes == 0 && x->idem != NULL && x->idem->key != NULL && x->p != NULL &&
	    (rc = tw_idem_save(c, x->p, x->idem, x->answer, id, x->now)) < 0)
		return rc;
	/* The change's entry in the transparency log, in its transaction. */
	if ((rc = tw_log_append(c, x->p, x->now, kind, id, version, x->rows, x->nrows)) < 0)
		return rc;
	x->changes++;
	x->nrows = 0; /* a body may declare a second change (admin init's user, then token) */
	x->res->id = id;
	return 0;
}

struct svc_call {
	struct svc_tx x;
	svc_body_fn body;
	void *arg;
};

/* The body, and the rule that a write declares what it changed. */
static int svc_apply(struct store_conn *c, void *arg)
{
	struct svc_call *call = arg;
	int rc;

	call->x.changes = 0;
	call->x.nrows = 0;
	call->x.again = false;
	call->x.unchanged = false;
	call->x.answer = NULL;
	memset(&call->x.res->fields, 0, sizeof(call->x.res->fields));
	call->x.res->status = SVC_OK;
	rc = call->body(c, &call->x, call->arg);
	if (rc == 0 && ((call->x.changes == 0 && !call->x.unchanged) || call->x.nrows > 0)) {
		log_warnx("tower: a change declared %s; rolled back",
			  call->x.nrows > 0 ? "rows it then did not log" : "nothing");
		rc = YG_EINVAL;
		svc_refuse(call->x.res, SVC_UNAVAILABLE, "internal_error",
			   "the change was not recorded; nothing was stored");
	}
	return rc;
}

int svc_run(struct tower *t, struct store *st, const struct principal *p, bool grouped,
	    svc_body_fn body, void *arg, struct svc_result *res)
{
	return svc_run_keyed(t, st, p, grouped, NULL, body, arg, res);
}

int svc_run_keyed(struct tower *t, struct store *st, const struct principal *p, bool grouped,
		  const struct tw_idem *idem, svc_body_fn body, void *arg, struct svc_result *res)
{
	struct svc_call call = {.x = {.t = t, .p = p, .now = tw_now_us(), .res = res, .idem = idem},
				.body = body,
				.arg = arg};
	struct store_conn *c = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!grouped && (rc = store_conn_get(st, &c)) < 0)
		goto out;
	for (;;) {
		if (grouped) {
			rc = store_group_run(st, svc_apply, &call);
		} else if ((rc = store_begin(c)) == 0) {
			rc = svc_apply(c, &call);
			if (rc == 0)
				rc = store_commit(c);
			if (rc < 0)
				store_rollback(c);
		}
		if (rc == 0 || !call.x.again || call.x.attempt > 0)
			break;
		call.x.attempt++;
	}
out:
	if (rc < 0 && res->status == SVC_OK) { /* not refused by the body: the store failed */
		if (rc == YG_ECONFLICT) {
			svc_refuse(res, SVC_CONFLICT, "conflict", "already exists");
		} else {
			/* A failure of the tower's own, such as a row changed
			 * meanwhile, leaves the connection's message empty. */
			log_warnx("tower: store: %s", c != NULL && *store_conn_errmsg(c) != '\0'
							      ? store_conn_errmsg(c)
							      : yg_strerror(rc));
			svc_refuse(res, SVC_UNAVAILABLE, "store_unavailable",
				   "the store could not complete the request; nothing was changed");
		}
	}
	store_conn_put(c);
	return rc;
}

int svc_answer(struct http_response *resp, const struct svc_result *res)
{
	static const int status[] = {[SVC_OK] = 200,	    [SVC_INVALID] = 422,
				     [SVC_FORBIDDEN] = 403, [SVC_NOT_FOUND] = 404,
				     [SVC_CONFLICT] = 409,  [SVC_UNAVAILABLE] = 503};

	http_response_error(resp, status[res->status], res->code ? res->code : "error", res->msg);
	for (unsigned i = 0; i < res->fields.n; i++)
		http_response_error_field(resp, res->fields.e[i].field, res->fields.e[i].reason);
	return 0;
}
