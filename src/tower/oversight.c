/* oversight.c - the counts the oversight committee reports each year
 * (issue 13, docs/oversight.md), computed from the transparency log:
 * GET /api/v1/oversight/summary?year=Y.
 *
 * Each placed entry of a case's change made in the year counts once: a
 * proposal, a rejection, a withdrawal, a revocation, an activation, an
 * expiry; an approval counts as a case approved only when its entry names
 * the case's row, which it does when that approval completed the case's
 * (the last of two, where two are needed); the approvals themselves are
 * counted too. Cases are split by action, read from their rows, whose
 * fingerprints the proposals' entries hold. The answer names the tree it
 * was counted over (its size and the checkpoint covering it), so that an
 * auditor can count again from the log and check the log itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tower/tower_int.h"

#define PAGE 2000

static const char *const steps[] = {"propose", "approve", "reject", "withdraw",
				    "revoke",  "activate", "expire"};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))
static const char *const actions[] = {"sinkhole", "rtbh", "flowspec", "blocklist", "notice"};
#define NACTIONS (sizeof(actions) / sizeof(actions[0]))

struct counts {
	long long step[NSTEPS][NACTIONS + 1]; /* the last column: all actions */
	long long approved[NACTIONS + 1];     /* approvals that completed a case */
	long long entries;		      /* entries of the year read */
};

/* A case's action as stored, or -1: ids in the page of cases read. */
static int action_of(const struct store_res *cases, int64_t id)
{
	size_t lo = 0, hi = store_res_nrows(cases);

	while (lo < hi) { /* ordered by id */
		size_t mid = (lo + hi) / 2;
		int64_t v = store_res_int64(cases, mid, 0);

		if (v == id) {
			const char *a = store_res_text(cases, mid, 1);

			for (size_t k = 0; a != NULL && k < NACTIONS; k++)
				if (strcmp(a, actions[k]) == 0)
					return (int)k;
			return -1;
		}
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void count_entry(struct counts *n, const struct store_res *cases, const char *entry,
			size_t len)
{
	char e[1100], kind[32];
	long long id;
	const char *k, *i;

	/* An entry is at most 1 KiB (log.c); a longer one is no case's. */
	if (len >= sizeof(e))
		return;
	memcpy(e, entry, len);
	e[len] = '\0';
	if ((k = strstr(e, "\nkind case.")) == NULL || sscanf(k + 11, "%31[a-z]", kind) != 1)
		return;
	if ((i = strstr(e, "\nid ")) == NULL || sscanf(i + 4, "%lld", &id) != 1)
		return;
	for (size_t s = 0; s < NSTEPS; s++) {
		if (strcmp(kind, steps[s]) != 0)
			continue;
		int a = action_of(cases, id);
		size_t col = a < 0 ? NACTIONS : (size_t)a;

		n->step[s][col] += a >= 0;
		n->step[s][NACTIONS]++;
		if (s == 1 && strstr(e, "\nrow cases ") != NULL) {
			n->approved[col] += a >= 0;
			n->approved[NACTIONS]++;
		}
	}
}

static json_t *by_action(const long long *v)
{
	json_t *o = json_object();

	for (size_t k = 0; k < NACTIONS; k++)
		json_object_set_new(o, actions[k], json_integer(v[k]));
	return json_pack("{s:I,s:o}", "total", (json_int_t)v[NACTIONS], "by_action", o);
}

/* The year's bounds in microseconds since 1970, UTC. */
static void year_bounds(long long y, int64_t *from, int64_t *to)
{
	struct tm a = {.tm_year = (int)y - 1900, .tm_mday = 1}, b = a;

	b.tm_year++;
	*from = (int64_t)timegm(&a) * 1000000;
	*to = (int64_t)timegm(&b) * 1000000;
}

static int oversight_summary(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"year", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	long long year = 0;
	struct store_res *cases = NULL, *r = NULL, *cp = NULL;
	struct counts n;
	int64_t from, to, after = -1;
	uint64_t size = 0;

	if (tw_need(req, resp, ACT_CASE_READ, &p) == SCOPE_NONE ||
	    tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "year", 2000, 9999, &year) < 0)
		return 0;
	if (year == 0)
		return tw_fail(resp, 400, "bad_query", "year is required, such as year=2026");
	year_bounds(year, &from, &to);
	memset(&n, 0, sizeof(n));
	/* Everything committed so far, under a checkpoint signed now. */
	if (tw_log_pass(t, true) < 0)
		return tw_store_fail(resp, NULL, YG_EIO);
	/* The tree counted over: the latest checkpoint's, so that the answer
	 * can be checked against a signed head. */
	if (tw_query(t, resp, "SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1",
		     NULL, 0, &cp) < 0)
		return 0;
	if (store_res_nrows(cp) == 1)
		size = (uint64_t)store_res_int64(cp, 0, 0);
	if (tw_query(t, resp, "SELECT id, action FROM cases ORDER BY id", NULL, 0, &cases) < 0)
		goto out;
	for (;;) {
		struct store_param ps[] = {store_int64((int64_t)size), store_int64(after),
					   store_int64(from), store_int64(to)};
		char sql[300];

		snprintf(sql, sizeof(sql),
			 "SELECT l.idx, e.entry FROM log_leaves l JOIN log_entries e ON e.seq = l.seq "
			 "WHERE l.idx < ? AND l.idx > ? AND e.created >= ? AND e.created < ? "
			 "ORDER BY l.idx LIMIT %d",
			 PAGE);
		if (tw_query(t, resp, sql, ps, 4, &r) < 0)
			goto out;
		size_t rows = store_res_nrows(r);
		for (size_t i = 0; i < rows; i++) {
			size_t len = 0;
			const char *e = store_res_blob(r, i, 1, &len);

			if (e != NULL)
				count_entry(&n, cases, e, len);
			n.entries++;
		}
		if (rows > 0)
			after = store_res_int64(r, rows - 1, 0);
		store_res_free(r);
		r = NULL;
		if (rows < PAGE)
			break;
	}
	json_t *c = json_object();
	static const char *const names[] = {"proposed", "approvals", "rejected", "withdrawn",
					    "revoked",	"activated", "expired"};
	for (size_t s = 0; s < NSTEPS; s++)
		json_object_set_new(c, names[s], by_action(n.step[s]));
	json_object_set_new(c, "approved", by_action(n.approved));
	http_response_json(
		resp, 200,
		json_pack("{s:I,s:s,s:o,s:{s:I,s:o,s:I}}", "year", (json_int_t)year, "time_zone",
			  "UTC", "cases", c, "log", "size", (json_int_t)size, "checkpoint",
			  store_res_nrows(cp) == 1 ? json_string(store_res_text(cp, 0, 1))
						   : json_null(),
			  "entries_of_the_year", (json_int_t)n.entries));
out:
	store_res_free(cp);
	store_res_free(cases);
	store_res_free(r);
	return 0;
}

const struct tower_route tw_oversight_routes[] = {
	{HTTP_GET, "/api/v1/oversight/summary", HTTP_ROUTE_AUTH, oversight_summary},
	{0, NULL, 0, NULL},
};
