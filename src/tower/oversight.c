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
 * fingerprints the proposals' entries hold, and by sector: the sectors of
 * the organisations their evidence shows attacked (an alert's asset, a
 * report's filer, a source's hits on registered assets), "none" when it
 * shows none; a case in two sectors counts in each. Monitoring
 * authorizations are counted the same way, without an action, each in
 * the sectors of the registered assets inside the prefixes it allows.
 * The answer names the tree it was counted over (its size and the
 * checkpoint covering it), so that an auditor can count again from the
 * log and check the log itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "counter/counter.h"
#include "tower/cases.h"
#include "tower/tower_int.h"

#define PAGE 2000

static const char *const steps[] = {"propose", "approve", "reject", "withdraw",
				    "revoke",  "activate", "expire"};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))
static const char *const actions[] = {"sinkhole", "rtbh", "flowspec", "blocklist", "notice"};
#define NACTIONS (sizeof(actions) / sizeof(actions[0]))

#define NONE TOWER_MAX_SECTORS /* the sector column of cases with none */

struct counts {
	long long step[NSTEPS + 1][NACTIONS + 1]; /* the last column: all actions; the
						     last row: approvals that completed an order */
	long long sector[NSTEPS + 1][TOWER_MAX_SECTORS + 1];
};

/* One kind of order counted: cases, or monitoring authorizations (which
 * have no action, and whose sectors are those of the registered assets
 * inside the traffic they allow). */
struct tally {
	const char *kind;	   /* "\nkind case." */
	const char *row;	   /* "\nrow cases ": an approval that completed it */
	const struct store_res *rows; /* id, action: ordered by id */
	uint32_t *mask;		   /* a row's sectors */
	struct counts n;
};

/* The row of case id in cases (ordered by id), or -1. */
static long case_row(const struct store_res *cases, int64_t id)
{
	size_t lo = 0, hi = store_res_nrows(cases);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int64_t v = store_res_int64(cases, mid, 0);

		if (v == id)
			return (long)mid;
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int action_at(const struct store_res *cases, long row)
{
	const char *a = row >= 0 ? store_res_text(cases, (size_t)row, 1) : NULL;

	for (size_t k = 0; a != NULL && k < NACTIONS; k++)
		if (strcmp(a, actions[k]) == 0)
			return (int)k;
	return -1;
}

/* Each case's sectors, as bits of the configured list: what its evidence
 * shows attacked. One query an item of evidence: a year's cases are few. */
static int case_sectors(struct tower *t, struct http_response *resp, const struct store_res *cases,
			uint32_t *mask)
{
	static const char *const by_kind[][2] = {
		{"alert", "SELECT o.sector FROM alerts a JOIN orgs o ON o.id = a.asset_org_id "
			  "WHERE a.id = ?"},
		{"report", "SELECT o.sector FROM reports r JOIN orgs o ON o.id = r.org_id WHERE "
			   "r.id = ?"},
		{"source", "SELECT DISTINCT o.sector FROM asset_hits h JOIN assets s ON s.id = "
			   "h.asset_id JOIN orgs o ON o.id = s.org_id WHERE h.src_ip = ?"},
	};
	struct store_res *ev = NULL, *r = NULL;

	if (tw_query(t, resp, "SELECT case_id, kind, ref FROM case_evidence", NULL, 0, &ev) < 0)
		return -1;
	for (size_t i = 0; i < store_res_nrows(ev); i++) {
		long row = case_row(cases, store_res_int64(ev, i, 0));
		const char *kind = store_res_text(ev, i, 1), *ref = store_res_text(ev, i, 2);

		for (size_t k = 0; row >= 0 && k < 3; k++) {
			if (strcmp(kind, by_kind[k][0]) != 0)
				continue;
			struct store_param ps[] = {k == 2 ? store_text(ref)
							  : store_int64(strtoll(ref, NULL, 10))};
			if (tw_query(t, resp, by_kind[k][1], ps, 1, &r) < 0) {
				store_res_free(ev);
				return -1;
			}
			for (size_t j = 0; j < store_res_nrows(r); j++)
				for (unsigned s = 0; s < t->cfg.n_sectors; s++)
					if (strcmp(store_res_text(r, j, 0), t->cfg.sectors[s]) == 0)
						mask[row] |= 1u << s;
			store_res_free(r);
			r = NULL;
		}
	}
	store_res_free(ev);
	return 0;
}

/* Each authorization's sectors: those of the organisations whose
 * registered assets lie inside a prefix it allows. */
static int auth_sectors(struct tower *t, struct http_response *resp, const struct store_res *auths,
			uint32_t *mask)
{
	struct store_res *a = NULL;

	if (tw_query(t, resp,
		     "SELECT a.prefix, o.sector FROM asset_addresses a JOIN assets s ON s.id = "
		     "a.asset_id JOIN orgs o ON o.id = s.org_id",
		     NULL, 0, &a) < 0)
		return -1;
	for (size_t i = 0; i < store_res_nrows(auths); i++) {
		char list[8192];

		snprintf(list, sizeof(list), "%s", store_res_text(auths, i, 2));
		for (char *save = NULL, *p = strtok_r(list, ",", &save); p != NULL;
		     p = strtok_r(NULL, ",", &save)) {
			struct cm_target allowed, asset;

			if (cm_target_parse(p, &allowed) < 0)
				continue;
			for (size_t j = 0; j < store_res_nrows(a); j++)
				if (cm_target_parse(store_res_text(a, j, 0), &asset) == 0 &&
				    case_prefix_overlap(&allowed, &asset))
					for (unsigned b = 0; b < t->cfg.n_sectors; b++)
						if (strcmp(store_res_text(a, j, 1), t->cfg.sectors[b]) ==
						    0)
							mask[i] |= 1u << b;
		}
	}
	store_res_free(a);
	return 0;
}

static void count_entry(struct tally *y, const char *entry, size_t len)
{
	struct counts *n = &y->n;
	const struct store_res *cases = y->rows;
	const uint32_t *mask = y->mask;
	size_t kl = strlen(y->kind);
	char e[1100], kind[32];
	long long id;
	const char *k, *i;

	/* An entry is at most 1 KiB (log.c); a longer one is no case's. */
	if (len >= sizeof(e))
		return;
	memcpy(e, entry, len);
	e[len] = '\0';
	if ((k = strstr(e, y->kind)) == NULL || sscanf(k + kl, "%31[a-z]", kind) != 1)
		return;
	if ((i = strstr(e, "\nid ")) == NULL || sscanf(i + 4, "%lld", &id) != 1)
		return;
	for (size_t s = 0; s < NSTEPS; s++) {
		if (strcmp(kind, steps[s]) != 0)
			continue;
		long row = case_row(cases, id);
		int a = action_at(cases, row);
		uint32_t m = row >= 0 ? mask[row] : 0;
		/* An approval that completed its case names the case's row. */
		size_t rows[2] = {s, NSTEPS}, nrows = s == 1 && strstr(e, y->row) ? 2 : 1;

		for (size_t w = 0; w < nrows; w++) {
			long long *st = n->step[rows[w]], *se = n->sector[rows[w]];

			if (a >= 0)
				st[a]++;
			st[NACTIONS]++;
			for (unsigned b = 0; b < TOWER_MAX_SECTORS; b++)
				se[b] += (m >> b) & 1;
			se[NONE] += m == 0;
		}
	}
}

static json_t *by_action(const struct tower *t, const long long *v, const long long *sec)
{
	json_t *o = json_object(), *s = json_object();

	for (size_t k = 0; k < NACTIONS; k++)
		json_object_set_new(o, actions[k], json_integer(v[k]));
	for (unsigned b = 0; b < t->cfg.n_sectors; b++)
		json_object_set_new(s, t->cfg.sectors[b], json_integer(sec[b]));
	json_object_set_new(s, "none", json_integer(sec[NONE]));
	return json_pack("{s:I,s:o,s:o}", "total", (json_int_t)v[NACTIONS], "by_action", o,
			 "by_sector", s);
}

static json_t *by_step(const struct tower *t, const struct counts *n, bool with_action)
{
	static const char *const names[] = {"proposed", "approvals", "rejected", "withdrawn",
					    "revoked",	"activated", "expired"};
	json_t *c = json_object();

	for (size_t s = 0; s <= NSTEPS; s++) {
		json_t *o = by_action(t, n->step[s], n->sector[s]);

		if (!with_action)
			json_object_del(o, "by_action");
		json_object_set_new(c, s < NSTEPS ? names[s] : "approved", o);
	}
	return c;
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
	struct store_res *r = NULL, *cp = NULL;
	struct tally y[2] = {{.kind = "\nkind case.", .row = "\nrow cases "},
			     {.kind = "\nkind authorization.", .row = "\nrow authorizations "}};
	struct store_res *cases = NULL, *auths = NULL;
	long long entries = 0;
	int64_t from, to, after = -1;
	uint64_t size = 0;

	if (tw_need(req, resp, ACT_CASE_READ, &p) == SCOPE_NONE ||
	    tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "year", 2000, 9999, &year) < 0)
		return 0;
	if (year == 0)
		return tw_fail(resp, 400, "bad_query", "year is required, such as year=2026");
	year_bounds(year, &from, &to);
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
	if (tw_query(t, resp, "SELECT id, action FROM cases ORDER BY id", NULL, 0, &cases) < 0 ||
	    tw_query(t, resp, "SELECT id, '' AS action, prefixes FROM authorizations ORDER BY id",
		     NULL, 0, &auths) < 0)
		goto out;
	y[0].rows = cases;
	y[1].rows = auths;
	for (size_t k = 0; k < 2; k++) {
		size_t rows = store_res_nrows(y[k].rows);

		if ((y[k].mask = calloc(rows ? rows : 1, sizeof(*y[k].mask))) == NULL) {
			tw_fail(resp, 503, "store_unavailable", "out of memory");
			goto out;
		}
	}
	if (case_sectors(t, resp, cases, y[0].mask) < 0 || auth_sectors(t, resp, auths, y[1].mask) < 0)
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

			for (size_t k = 0; e != NULL && k < 2; k++)
				count_entry(&y[k], e, len);
			entries++;
		}
		if (rows > 0)
			after = store_res_int64(r, rows - 1, 0);
		store_res_free(r);
		r = NULL;
		if (rows < PAGE)
			break;
	}
	http_response_json(
		resp, 200,
		json_pack("{s:I,s:s,s:o,s:o,s:{s:I,s:o,s:I}}", "year", (json_int_t)year, "time_zone",
			  "UTC", "cases", by_step(t, &y[0].n, true), "authorizations",
			  by_step(t, &y[1].n, false), "log", "size", (json_int_t)size, "checkpoint",
			  store_res_nrows(cp) == 1 ? json_string(store_res_text(cp, 0, 1))
						   : json_null(),
			  "entries_of_the_year", (json_int_t)entries));
out:
	free(y[0].mask);
	free(y[1].mask);
	store_res_free(cp);
	store_res_free(cases);
	store_res_free(auths);
	store_res_free(r);
	return 0;
}

const struct tower_route tw_oversight_routes[] = {
	{HTTP_GET, "/api/v1/oversight/summary", HTTP_ROUTE_AUTH, oversight_summary},
	{0, NULL, 0, NULL},
};
