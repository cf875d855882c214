/* rollup.c - folds sensor alerts into the per-source summary (rollup.h).
 *
 * A pass reads the alerts past the watermark in id order, aggregates them
 * per source in memory (rollup_agg.c), reads the stored rows of those
 * sources and merges them in, scores each source (rank_score()), then writes
 * the merged rows and the new watermark in one transaction (a group commit
 * on SQLite, so that it shares the alerts' fsync). The write first moves the
 * watermark from where the pass read it, or finds that it moved: the rows
 * the pass read are the ones it replaces, and two towers on one PostgreSQL
 * never fold the same alerts twice. */
#include "tower/rollup_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/every.h"
#include "base/log.h"

#define OLD_CHUNK 500 /* sources per lookup of their stored rows */

struct rollup {
	struct store *st;
	unsigned interval_ms;
	struct every *thread;	       /* a pass every interval_ms */
	pthread_mutex_t pass_mu;       /* one pass at a time; guards the hole state */
	int64_t safe_upto;             /* holes at or below: passed */
	int hole_pending;              /* a hole seen, waiting for it to fill */
	int64_t hole_horizon;          /* the highest id seen when it was */
	struct store_txmark hole_mark; /* the writers running then */
	double hole_at;
	int failing;                   /* the last pass failed (logged once) */
	rollup_report_fn report;
	rollup_run_fn run;
	void *report_arg; /* report's and run's */
};

/* Passes the hole seen last when it is over: every write transaction that
 * was running when it was seen has ended (store_txmark_settled(): at once on
 * SQLite). After ROLLUP_HOLE_GIVE_UP_S it is over whatever runs. Returns
 * whether it passed it. */
static int hole_pass(struct rollup *ru, struct store_conn *c)
{
	if (yg_mono_s() - ru->hole_at >= ROLLUP_HOLE_GIVE_UP_S) {
		log_warnx("rollup: alert ids up to %lld left out after %d s: a transaction that "
			  "held them is still running",
			  (long long)ru->hole_horizon, ROLLUP_HOLE_GIVE_UP_S);
	} else if (store_txmark_settled(c, &ru->hole_mark) != 1) {
		return 0;
	}
	if (ru->hole_horizon > ru->safe_upto)
		ru->safe_upto = ru->hole_horizon;
	ru->hole_pending = 0;
	return 1;
}

/* A hole met below an id: marked the first time, with the highest id
 * fetched as its horizon. Returns whether the pass may go past it now. */
static int hole_met(struct rollup *ru, struct store_conn *c, int64_t maxid)
{
	if (ru->hole_pending || store_txmark_take(c, &ru->hole_mark) < 0)
		return 0;
	ru->hole_pending = 1;
	ru->hole_horizon = maxid;
	ru->hole_at = yg_mono_s();
	return hole_pass(ru, c); /* at once where no writer can be running (SQLite) */
}

/* How many of the fetched rows (id order) the pass may take: up to the
 * first hole it must wait for. *to gets the watermark after them. */
static size_t pass_take(struct rollup *ru, struct store_conn *c, struct store_res *r,
			int64_t from, int64_t *to, int *blocked)
{
	size_t n = store_res_nrows(r), i;
	size_t cid = store_res_col(r, "id");
	int64_t expect = from + 1, maxid = n ? store_res_int64(r, n - 1, cid) : from;

	if (ru->hole_pending)
		(void)hole_pass(ru, c);
	*blocked = 0;
	for (i = 0; i < n; i++) {
		int64_t id = store_res_int64(r, i, cid);

		if (id != expect && id - 1 > ru->safe_upto && !hole_met(ru, c, maxid)) {
			*blocked = 1;
			break;
		}
		expect = id + 1;
	}
	*to = expect - 1;
	return i;
}

/* The stored rows of the pass's sources, merged into the new ones. */
static int pass_merge_old(struct pass *p, struct store_conn *c)
{
	char *sql = yg_malloc(256 + 3 * OLD_CHUNK);
	struct store_param *ps = yg_calloc(OLD_CHUNK, sizeof(*ps));
	int rc = sql && ps ? 0 : YG_ENOMEM;

	for (size_t at = 0; rc == 0 && at < p->n; at += OLD_CHUNK) {
		size_t k = p->n - at < OLD_CHUNK ? p->n - at : OLD_CHUNK;
		static const char head[] =
			"SELECT " ROLLUP_STORED_COLS " FROM source_stats WHERE src_ip IN (?";
		char *q = sql + sizeof(head) - 1;
		struct store_res *r = NULL;

		_Static_assert(sizeof(head) + 2 * OLD_CHUNK + 2 <= 256 + 3 * OLD_CHUNK,
			       "the statement fits the buffer");
		memcpy(sql, head, sizeof(head) - 1);
		for (size_t i = 1; i < k; i++, q += 2)
			memcpy(q, ",?", 2);
		memcpy(q, ")", 2);
		for (size_t i = 0; i < k; i++)
			ps[i] = store_text(p->v[at + i].ip);
		if ((rc = store_exec(c, sql, ps, k, &r, NULL)) < 0)
			break;
		for (size_t i = 0; rc == 0 && i < store_res_nrows(r); i++)
			rc = rollup_merge_stored(p, r, i);
		store_res_free(r);
	}
	free(ps);
	free(sql);
	return rc;
}

/* The watermark: the highest alert id folded in (0 before the first pass). */
static int watermark(struct store_conn *c, int64_t *out)
{
	struct store_res *r = NULL;
	int rc = store_exec(c, "SELECT last_id FROM rollup_state WHERE name = 'sources'", NULL, 0,
			    &r, NULL);

	*out = 0;
	if (rc == 0 && store_res_nrows(r) == 1)
		*out = store_res_int64(r, 0, store_res_col(r, "last_id"));
	store_res_free(r);
	return rc;
}

/* Moves the watermark from `from` (0: no row yet) to `to`, or returns
 * YG_ECONFLICT when it is no longer at `from`: another tower folded these
 * alerts in. First in the write: the row it moves stays locked until the
 * transaction ends, so that a second tower's write waits here, then finds
 * the watermark moved, before it has written anything. */
static int watermark_move(struct store_conn *c, int64_t from, int64_t to)
{
	struct store_param ps[] = {store_int64(to), store_int64(from)};
	int64_t moved = 0;
	int rc = store_exec(c, "UPDATE rollup_state SET last_id = ? WHERE name = 'sources' "
			       "AND last_id = ?",
			    ps, 2, NULL, &moved);

	if (rc == 0 && moved == 0 && from == 0)
		rc = store_exec(c, "INSERT INTO rollup_state (name, last_id) VALUES ('sources', ?) "
				   "ON CONFLICT (name) DO NOTHING",
				ps, 1, NULL, &moved);
	return rc < 0 ? rc : moved == 1 ? 0 : YG_ECONFLICT;
}

#define STATS_COLS 17
#define SIGS_COLS 4
#define SENSORS_COLS 2

/* The write, in a transaction store_group_run() gives it. */
static int pass_write(struct store_conn *c, void *arg)
{
	struct pass *p = arg;
	struct store_param *rows = NULL;
	size_t nsig = 0, nsen = 0, k;
	int rc;

	if ((rc = watermark_move(c, p->from, p->to)) < 0)
		return rc;
	for (size_t i = 0; i < p->n; i++) {
		nsig += p->v[i].nsigs;
		nsen += p->v[i].nsensors;
	}
	k = p->n * STATS_COLS;
	if (nsig * SIGS_COLS > k)
		k = nsig * SIGS_COLS;
	if (nsen * SENSORS_COLS > k)
		k = nsen * SENSORS_COLS;
	if (k && (rows = yg_calloc(k, sizeof(*rows))) == NULL)
		return YG_ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		struct src_agg *s = &p->v[i];
		struct store_param *row = rows + i * STATS_COLS;

		row[0] = store_text(s->ip);
		row[1] = store_int64(s->alerts);
		row[2] = store_int64(s->intel);
		row[3] = store_int64(s->first);
		row[4] = store_int64(s->last);
		row[5] = s->severity == INT64_MAX ? store_null() : store_int64(s->severity);
		row[6] = store_int64(s->victims);
		row[7] = store_blob(s->hll, HLL_REGISTERS);
		row[8] = store_int64(s->hosts);
		row[9] = store_int64(s->ports);
		row[10] = store_int64(s->sessions);
		row[11] = store_int64(s->packets);
		row[12] = store_int64(s->named_attacker);
		row[13] = store_text(s->det_json);
		row[14] = store_text(s->ind_json);
		row[15] = store_int64(s->score_x10);
		row[16] = s->recent_text[0] != '\0' ? store_text(s->recent_text) : store_null();
	}
	/* Every value is the merged one (pass_merge_old()): the row read is
	 * the row replaced, which the watermark's move above guarantees. */
	rc = store_exec_batch(
		c,
		"INSERT INTO source_stats (src_ip, alerts, intel, first_ts, last_ts, severity, "
		"victims, victims_hll, hosts, ports, sessions, packets, named_attacker, detectors, "
		"indicators, score_x10, recent_alerts) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
		"ON CONFLICT (src_ip) DO UPDATE SET alerts = excluded.alerts, "
		"intel = excluded.intel, first_ts = excluded.first_ts, last_ts = excluded.last_ts, "
		"severity = excluded.severity, victims = excluded.victims, "
		"victims_hll = excluded.victims_hll, hosts = excluded.hosts, ports = excluded.ports, "
		"sessions = excluded.sessions, packets = excluded.packets, "
		"named_attacker = excluded.named_attacker, detectors = excluded.detectors, "
		"indicators = excluded.indicators, score_x10 = excluded.score_x10, "
		"recent_alerts = excluded.recent_alerts",
		STATS_COLS, rows, p->n, NULL);
	k = 0;
	for (size_t i = 0; rc == 0 && i < p->n; i++) {
		for (size_t j = 0; j < p->v[i].nsigs; j++, k++) {
			struct sig_agg *g = &p->v[i].sigs[j];

			rows[k * SIGS_COLS] = store_text(p->v[i].ip);
			rows[k * SIGS_COLS + 1] = store_int64(g->sid);
			rows[k * SIGS_COLS + 2] = store_text(g->name);
			rows[k * SIGS_COLS + 3] = store_int64(g->alerts);
		}
	}
	if (rc == 0)
		rc = store_exec_batch(
			c,
			"INSERT INTO source_signatures (src_ip, signature_id, signature, alerts) "
			"VALUES (?, ?, ?, ?) ON CONFLICT (src_ip, signature_id) DO UPDATE "
			"SET alerts = source_signatures.alerts + excluded.alerts, "
			"signature = COALESCE(excluded.signature, source_signatures.signature)",
			SIGS_COLS, rows, nsig, NULL);
	k = 0;
	for (size_t i = 0; rc == 0 && i < p->n; i++) {
		for (size_t j = 0; j < p->v[i].nsensors; j++, k++) {
			rows[k * SENSORS_COLS] = store_text(p->v[i].ip);
			rows[k * SENSORS_COLS + 1] = store_int64(p->v[i].sensors[j]);
		}
	}
	if (rc == 0)
		rc = store_exec_batch(c,
				      "INSERT INTO source_sensors (src_ip, sensor_id) VALUES (?, ?) "
				      "ON CONFLICT DO NOTHING",
				      SENSORS_COLS, rows, nsen, NULL);
	free(rows);
	return rc;
}

/* One pass: *took alerts folded in; *more when there are further ones to
 * take now (not behind a hole). */
static int pass_run(struct rollup *ru, size_t *took, int *more)
{
	struct store_param ps[2];
	struct pass p = {.index = json_object()};
	struct store_res *rows = NULL;
	struct store_conn *c = NULL;
	int blocked = 0, rc;
	size_t n = 0;

	*took = 0;
	*more = 0;
	if (p.index == NULL)
		return YG_ENOMEM;
	if ((rc = store_conn_get(ru->st, &c)) < 0)
		goto out;
	if ((rc = watermark(c, &p.from)) < 0)
		goto out;
	ps[0] = store_int64(p.from);
	ps[1] = store_int64(ROLLUP_PASS_ROWS);
	rc = store_exec(c,
			"SELECT " ROLLUP_ALERT_COLS " FROM alerts WHERE id > ? ORDER BY id LIMIT ?",
			ps, 2, &rows, NULL);
	if (rc < 0)
		goto out;
	n = pass_take(ru, c, rows, p.from, &p.to, &blocked);
	if (n == 0)
		goto out;
	if ((rc = rollup_aggregate(&p, rows, n)) < 0 || (rc = pass_merge_old(&p, c)) < 0 ||
	    (rc = rollup_score(&p)) < 0)
		goto out;
	store_conn_put(c);
	c = NULL;
	if ((rc = store_group_run(ru->st, pass_write, &p)) < 0)
		goto out;
	*took = n;
	*more = !blocked && store_res_nrows(rows) == ROLLUP_PASS_ROWS;
out:
	if (rc < 0 && c != NULL && store_conn_errmsg(c)[0])
		log_warnx("rollup: %s", store_conn_errmsg(c));
	store_conn_put(c);
	store_res_free(rows);
	rollup_pass_free(&p);
	return rc;
}

int rollup_catch_up(struct rollup *ru, size_t max_rows, int64_t *pending)
{
	int64_t left = 0; /* *pending when the caller passed none: for report() */
	size_t done = 0, took;
	int more = 1, rc = 0;

	pthread_mutex_lock(&ru->pass_mu);
	while (rc == 0 && more && done < max_rows) {
		rc = pass_run(ru, &took, &more);
		done += took;
		if (rc == YG_ECONFLICT) {
			/* Another tower folded these alerts in first (a reader's
			 * catch-up meeting its pass): nothing wrong, and its pass
			 * goes on with the rest. */
			rc = 0;
			more = 0;
		}
	}
	if (rc < 0 && !ru->failing)
		log_warnx("rollup: the source summary is behind: %s", yg_strerror(rc));
	else if (rc == 0 && ru->failing)
		log_info("rollup: the source summary is catching up again");
	ru->failing = rc < 0;
	if (rc == 0 && (pending != NULL || ru->report != NULL)) {
		struct store_conn *c;
		struct store_res *r = NULL;
		int64_t at = 0;

		if (pending == NULL)
			pending = &left;
		*pending = 0;
		if ((rc = store_conn_get(ru->st, &c)) == 0) {
			rc = store_exec(c, "SELECT MAX(id) AS top FROM alerts", NULL, 0, &r, NULL);
			if (rc == 0 && (rc = watermark(c, &at)) == 0 && store_res_nrows(r) == 1)
				*pending = store_res_int64(r, 0, store_res_col(r, "top")) - at;
			store_res_free(r);
			store_conn_put(c);
		}
	}
	if (ru->report != NULL)
		ru->report(ru->report_arg, rc < 0 ? -1 : *pending);
	pthread_mutex_unlock(&ru->pass_mu);
	return rc;
}

static int rollup_thread_pass(void *arg)
{
	return rollup_catch_up(arg, SIZE_MAX, NULL);
}

static double rollup_pass(void *arg)
{
	struct rollup *ru = arg;

	/* A failure is logged; the next interval tries again. */
	if (ru->run != NULL)
		(void)ru->run(ru->report_arg, rollup_thread_pass, ru);
	else
		(void)rollup_thread_pass(ru);
	return ru->interval_ms / 1000.0;
}

int rollup_start(struct store *st, unsigned interval_ms, rollup_report_fn report,
		 rollup_run_fn run, void *arg, struct rollup **out)
{
	struct rollup *ru = yg_calloc(1, sizeof(*ru));

	*out = NULL;
	if (ru == NULL)
		return YG_ENOMEM;
	ru->st = st;
	ru->interval_ms = interval_ms ? interval_ms : 1000;
	ru->report = report;
	ru->run = run;
	ru->report_arg = arg;
	pthread_mutex_init(&ru->pass_mu, NULL);
	if (every_start(&ru->thread, ru->interval_ms / 1000.0, rollup_pass, ru) < 0) {
		pthread_mutex_destroy(&ru->pass_mu);
		free(ru);
		return YG_ENOMEM;
	}
	*out = ru;
	return 0;
}

void rollup_stop(struct rollup *ru)
{
	if (ru == NULL)
		return;
	every_stop(ru->thread);
	pthread_mutex_destroy(&ru->pass_mu);
	free(ru);
}
