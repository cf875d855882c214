/* retention.c - reports and alerts older than [retention] keep are erased
 * on a schedule (issue 13, docs/oversight.md), each erasure a change "by
 * server" in the transparency log that names what went, by id range and
 * count, never the content: `erase alert_batches 1 57 57`, `erase alerts 1
 * 57 5700` (the alerts of those batches), `erase reports 3 9 7`, `erase
 * report_versions 3 9 12`. audit verify then looks no more for the rows
 * in those ranges that earlier entries named.
 *
 * Erasure goes in id order and stops at the first batch or report still
 * within the period, so that each erasure is one range: an old report
 * updated recently holds back the erasure of later ones until it ages in
 * turn. Alerts from before schema v10 belong to no batch and are left to
 * an administrator. Several towers on one store may each try; the one
 * whose deletes find the rows logs the erasure.
 *
 * The same pass forgets Idempotency-Keys older than a day (idem.c). */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "tower/tower_int.h"

#define ERASE_MAX 1000 /* batches, or reports, one erasure takes */

struct erase_run {
	int64_t cutoff;
	unsigned done; /* erase lines written */
};

/* The oldest rows of table (id, a time column) older than cutoff, as one
 * id range: 1 and [*from, *to], or 0 when there are none. */
static int oldest(struct store_conn *c, const char *sql, int64_t cutoff, int64_t *from,
		  int64_t *to)
{
	struct store_res *r = NULL;
	struct store_param ps[] = {store_int64(ERASE_MAX)};
	int rc = store_exec(c, sql, ps, 1, &r, NULL), found = 0;

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < store_res_nrows(r) && store_res_int64(r, i, 1) < cutoff; i++) {
		if (!found)
			*from = store_res_int64(r, i, 0);
		*to = store_res_int64(r, i, 0);
		found = 1;
	}
	store_res_free(r);
	return found;
}

static int erased(struct svc_tx *x, struct erase_run *e, enum rec_table t, int64_t from, int64_t to,
		  int64_t count)
{
	struct rec_ref ref = {.t = t, .key = {from, to}, .count = (uint64_t)count, .erase = true};

	e->done++;
	return svc_row(x, &ref);
}

static int erase_body(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct erase_run *e = arg;
	int64_t from = 0, to = 0, first = 0, n1 = 0, n2 = 0, n3 = 0;
	int rc;

	e->done = 0;
	if ((rc = oldest(c, "SELECT id, received FROM alert_batches ORDER BY id LIMIT ?", e->cutoff,
			 &from, &to)) < 0)
		return rc;
	if (rc == 1) {
		struct store_param ps[] = {store_int64(from), store_int64(to)};

		if ((rc = store_exec(c, "DELETE FROM alerts WHERE batch_id BETWEEN ? AND ?", ps, 2,
				     NULL, &n1)) < 0 ||
		    (rc = store_exec(c, "DELETE FROM alert_batches WHERE id BETWEEN ? AND ?", ps, 2,
				     NULL, &n2)) < 0)
			return rc;
		if (n2 > 0 && ((rc = erased(x, e, REC_ALERT_BATCHES, from, to, n2)) < 0 ||
			       (rc = erased(x, e, REC_ALERTS, from, to, n1)) < 0))
			return rc;
		first = n2 > 0 ? to : 0;
	}
	if ((rc = oldest(c, "SELECT id, updated FROM reports ORDER BY id LIMIT ?", e->cutoff, &from,
			 &to)) < 0)
		return rc;
	if (rc == 1) {
		struct store_param ps[] = {store_int64(from), store_int64(to)};

		if ((rc = tw_count_reports_erased(c, from, to)) < 0 ||
		    (rc = store_exec(c, "DELETE FROM report_indicators WHERE report_id BETWEEN ? AND ?",
				     ps, 2, NULL, NULL)) < 0 ||
		    (rc = store_exec(c, "DELETE FROM report_versions WHERE report_id BETWEEN ? AND ?",
				     ps, 2, NULL, &n3)) < 0 ||
		    (rc = store_exec(c, "DELETE FROM reports WHERE id BETWEEN ? AND ?", ps, 2, NULL,
				     &n1)) < 0)
			return rc;
		if (n1 > 0 && ((rc = erased(x, e, REC_REPORTS, from, to, n1)) < 0 ||
			       (rc = erased(x, e, REC_REPORT_VERSIONS, from, to, n3)) < 0))
			return rc;
		if (first == 0 && n1 > 0)
			first = to;
	}
	if (e->done == 0)
		return svc_unchanged(x); /* nothing old, or another tower erased it */
	return svc_changed(x, c, CHANGE_RETENTION_ERASE, first);
}

int tw_retention_pass(struct tower *t)
{
	struct erase_run e = {.cutoff = tw_now_us() - t->cfg.retention_s * 1000000};
	struct svc_result res;

	tw_idem_prune(t); /* not records: nothing to log */
	if (t->cfg.retention_s <= 0)
		return 0;
	if (svc_run(t, t->st, NULL, false, erase_body, &e, &res) < 0) {
		log_warnx("tower: retention: %s", res.msg);
		return YG_EIO;
	}
	return (int)e.done;
}
