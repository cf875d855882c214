/* rollup.c - folds sensor alerts into the per-source summary (rollup.h).
 *
 * A pass reads the alerts past the watermark in id order, aggregates them
 * per source in memory, reads the victims sketches of those sources, then
 * writes the merged rows and the new watermark in one transaction (a group
 * commit on SQLite, so that it shares the alerts' fsync). The write checks
 * that the watermark is where the pass read it: two towers on one
 * PostgreSQL never fold the same alerts twice. */
#include "tower/rollup.h"

#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/log.h"

#define INTEL_SID_FIRST 9700000 /* yagura's intel-match signatures, docs/detect.md */
#define INTEL_SID_LAST 9799999
#define OLD_CHUNK 500           /* sources per sketch lookup */

struct rollup {
	struct store *st;
	unsigned interval_ms;
	pthread_t thread;
	pthread_mutex_t mu; /* stop, cv */
	pthread_cond_t cv;
	int stop;
	pthread_mutex_t pass_mu; /* one pass at a time; guards the hole state */
	int64_t safe_upto;       /* holes at or below: given up on */
	int pg;                  /* PostgreSQL: holes may be ids in flight */
	int hole_pending;        /* a hole seen, waiting for it to fill */
	int64_t hole_horizon;    /* the highest id seen when it was */
	int64_t hole_xmax;       /* the next transaction id then */
	double hole_at;
	int failing;             /* the last pass failed (logged once) */
	rollup_report_fn report;
	void *report_arg;
};

struct sig_agg {
	int64_t sid;
	const char *name;
	int64_t alerts;
};

struct src_agg {
	const char *ip;
	int64_t alerts, intel, first, last, severity; /* severity INT64_MAX: none */
	uint8_t hll[HLL_REGISTERS];
	struct sig_agg *sigs;
	size_t nsigs, csigs;
	int64_t *sensors;
	size_t nsensors, csensors;
};

struct pass {
	struct rollup *ru;
	int64_t from, to; /* the watermark before and after */
	struct src_agg *v;
	size_t n, cap;
	json_t *index; /* ip -> position in v */
};

/* ---- HyperLogLog ------------------------------------------------------- */

void hll_add(uint8_t regs[HLL_REGISTERS], const void *p, size_t len)
{
	uint64_t h = yg_hash64(p, len);
	unsigned idx = (unsigned)(h >> 54); /* 10 bits: 1,024 registers */
	uint64_t rest = (h << 10) | (1ULL << 9);
	uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);

	if (rank > regs[idx])
		regs[idx] = rank;
}

void hll_merge(uint8_t a[HLL_REGISTERS], const uint8_t b[HLL_REGISTERS])
{
	for (size_t i = 0; i < HLL_REGISTERS; i++)
		if (b[i] > a[i])
			a[i] = b[i];
}

/* Flajolet et al.'s estimate, with linear counting while registers are
 * still empty (which is what keeps small counts exact in practice). */
int64_t hll_estimate(const uint8_t regs[HLL_REGISTERS])
{
	const double m = HLL_REGISTERS, alpha = 0.7213 / (1 + 1.079 / m);
	double sum = 0, e;
	unsigned zeros = 0;

	for (size_t i = 0; i < HLL_REGISTERS; i++) {
		sum += ldexp(1.0, -(int)regs[i]);
		zeros += regs[i] == 0;
	}
	e = alpha * m * m / sum;
	if (e <= 2.5 * m && zeros)
		e = m * log(m / zeros);
	return (int64_t)llround(e);
}

/* ---- a pass -------------------------------------------------------------- */

static void pass_free(struct pass *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].sigs);
		free(p->v[i].sensors);
	}
	free(p->v);
	json_decref(p->index);
}

static struct src_agg *agg_get(struct pass *p, const char *ip)
{
	json_t *at = json_object_get(p->index, ip);
	struct src_agg *s;

	if (at != NULL)
		return &p->v[json_integer_value(at)];
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct src_agg *nv = yg_realloc(p->v, cap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		p->v = nv;
		p->cap = cap;
	}
	s = &p->v[p->n];
	memset(s, 0, sizeof(*s));
	s->ip = ip;
	s->first = INT64_MAX;
	s->last = INT64_MIN;
	s->severity = INT64_MAX;
	if (json_object_set_new(p->index, ip, json_integer((json_int_t)p->n)) < 0)
		return NULL;
	return &p->v[p->n++];
}

static int agg_sig(struct src_agg *s, int64_t sid, const char *name)
{
	for (size_t i = 0; i < s->nsigs; i++) {
		if (s->sigs[i].sid == sid) {
			s->sigs[i].alerts++;
			if (s->sigs[i].name == NULL)
				s->sigs[i].name = name;
			return 0;
		}
	}
	if (s->nsigs == s->csigs) {
		size_t cap = s->csigs ? s->csigs * 2 : 4;
		struct sig_agg *nv = yg_realloc(s->sigs, cap * sizeof(*nv));

		if (nv == NULL)
			return YG_ENOMEM;
		s->sigs = nv;
		s->csigs = cap;
	}
	s->sigs[s->nsigs++] = (struct sig_agg){sid, name, 1};
	return 0;
}

static int agg_sensor(struct src_agg *s, int64_t sensor)
{
	for (size_t i = 0; i < s->nsensors; i++)
		if (s->sensors[i] == sensor)
			return 0;
	if (s->nsensors == s->csensors) {
		size_t cap = s->csensors ? s->csensors * 2 : 4;
		int64_t *nv = yg_realloc(s->sensors, cap * sizeof(*nv));

		if (nv == NULL)
			return YG_ENOMEM;
		s->sensors = nv;
		s->csensors = cap;
	}
	s->sensors[s->nsensors++] = sensor;
	return 0;
}

/* PostgreSQL: the next transaction id to be handed out, or (oldest) the
 * oldest still running: pg_current_snapshot()'s xmax and xmin. */
static int pg_xid(struct store_conn *c, int oldest, int64_t *out)
{
	struct store_res *r = NULL;
	int rc = store_exec(c,
			    oldest ? "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
				   : "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint",
			    NULL, 0, &r, NULL);

	if (rc == 0)
		*out = store_res_nrows(r) == 1 ? store_res_int64(r, 0, 0) : 0;
	store_res_free(r);
	return rc;
}

/* Whether the hole seen last is over: every transaction that was running
 * when it was seen has ended (PostgreSQL), and a second has passed, for a
 * transaction between taking ids and getting its xid. After
 * ROLLUP_HOLE_GIVE_UP_S it is over whatever runs. */
static int hole_over(struct rollup *ru, struct store_conn *c)
{
	double waited = yg_mono_s() - ru->hole_at;
	int64_t xmin = 0;

	if (waited >= ROLLUP_HOLE_GIVE_UP_S) {
		log_warnx("rollup: alert ids up to %lld left out after %d s: a transaction that "
			  "held them is still running",
			  (long long)ru->hole_horizon, ROLLUP_HOLE_GIVE_UP_S);
		return 1;
	}
	return waited >= 1.0 && pg_xid(c, 1, &xmin) == 0 && xmin >= ru->hole_xmax;
}

/* How many of the fetched rows (id order) the pass may take: up to the
 * first hole it must wait for. *to gets the watermark after them. SQLite
 * writes one transaction at a time, so an id visible means that every
 * lower one is committed or gone: its holes are never waited for. */
static size_t pass_take(struct rollup *ru, struct store_conn *c, struct store_res *r,
			int64_t from, int64_t *to, int *blocked)
{
	size_t n = store_res_nrows(r), i;
	int64_t expect = from + 1, maxid = n ? store_res_int64(r, n - 1, 0) : from;

	if (!ru->pg && maxid > ru->safe_upto)
		ru->safe_upto = maxid;
	if (ru->hole_pending && hole_over(ru, c)) {
		if (ru->hole_horizon > ru->safe_upto)
			ru->safe_upto = ru->hole_horizon;
		ru->hole_pending = 0;
	}
	*blocked = 0;
	for (i = 0; i < n; i++) {
		int64_t id = store_res_int64(r, i, 0);

		if (id != expect && id - 1 > ru->safe_upto) {
			if (!ru->hole_pending && pg_xid(c, 0, &ru->hole_xmax) == 0) {
				ru->hole_pending = 1;
				ru->hole_horizon = maxid;
				ru->hole_at = yg_mono_s();
			}
			*blocked = 1;
			break;
		}
		expect = id + 1;
	}
	*to = expect - 1;
	return i;
}

static int pass_aggregate(struct pass *p, struct store_res *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *ip = store_res_text(r, i, 3), *dest = store_res_text(r, i, 4);
		int64_t ts = store_res_int64(r, i, 2), sid = store_res_int64(r, i, 5);
		struct src_agg *s;

		if (ip == NULL)
			continue;
		if ((s = agg_get(p, ip)) == NULL)
			return YG_ENOMEM;
		s->alerts++;
		if (sid >= INTEL_SID_FIRST && sid <= INTEL_SID_LAST)
			s->intel++;
		if (ts < s->first)
			s->first = ts;
		if (ts > s->last)
			s->last = ts;
		if (!store_res_isnull(r, i, 7) && store_res_int64(r, i, 7) < s->severity)
			s->severity = store_res_int64(r, i, 7);
		if (dest != NULL)
			hll_add(s->hll, dest, strlen(dest));
		if (!store_res_isnull(r, i, 5) && agg_sig(s, sid, store_res_text(r, i, 6)) < 0)
			return YG_ENOMEM;
		if (agg_sensor(s, store_res_int64(r, i, 1)) < 0)
			return YG_ENOMEM;
	}
	return 0;
}

/* The stored sketches of the pass's sources, merged into the new ones. */
static int pass_merge_old(struct pass *p, struct store_conn *c)
{
	char *sql = yg_malloc(128 + 3 * OLD_CHUNK);
	struct store_param *ps = yg_calloc(OLD_CHUNK, sizeof(*ps));
	int rc = sql && ps ? 0 : YG_ENOMEM;

	for (size_t at = 0; rc == 0 && at < p->n; at += OLD_CHUNK) {
		size_t k = p->n - at < OLD_CHUNK ? p->n - at : OLD_CHUNK;
		char *q = sql + sprintf(sql, "SELECT src_ip, victims_hll FROM source_stats "
					     "WHERE src_ip IN (?");
		struct store_res *r = NULL;

		for (size_t i = 1; i < k; i++)
			q += sprintf(q, ",?");
		strcpy(q, ")");
		for (size_t i = 0; i < k; i++)
			ps[i] = store_text(p->v[at + i].ip);
		if ((rc = store_exec(c, sql, ps, k, &r, NULL)) < 0)
			break;
		for (size_t i = 0; i < store_res_nrows(r); i++) {
			json_t *pos = json_object_get(p->index, store_res_text(r, i, 0));
			size_t len = 0;
			const uint8_t *old = store_res_blob(r, i, 1, &len);

			if (pos != NULL && old != NULL && len == HLL_REGISTERS)
				hll_merge(p->v[json_integer_value(pos)].hll, old);
		}
		store_res_free(r);
	}
	free(ps);
	free(sql);
	return rc;
}

/* The watermark: the highest alert id folded in (0 before the first pass).
 * for_update: PostgreSQL locks the row until the transaction ends. */
static int watermark(struct store_conn *c, int for_update, int64_t *out)
{
	struct store_res *r = NULL;
	int rc = store_exec(c,
			    for_update ? "SELECT last_id FROM rollup_state WHERE name = 'sources' "
					 "FOR UPDATE"
				       : "SELECT last_id FROM rollup_state WHERE name = 'sources'",
			    NULL, 0, &r, NULL);

	*out = 0;
	if (rc == 0 && store_res_nrows(r) == 1)
		*out = store_res_int64(r, 0, 0);
	store_res_free(r);
	return rc;
}

#define STATS_COLS 8
#define SIGS_COLS 4
#define SENSORS_COLS 2

/* The write, in a transaction store_group_run() gives it. */
static int pass_write(struct store_conn *c, void *arg)
{
	struct pass *p = arg;
	struct store_param *rows = NULL;
	size_t nsig = 0, nsen = 0, k;
	int64_t cur;
	int rc;

	if ((rc = watermark(c, p->ru->pg, &cur)) < 0)
		return rc;
	if (cur != p->from)
		return YG_ECONFLICT; /* another tower folded these in */
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
		row[6] = store_int64(hll_estimate(s->hll));
		row[7] = store_blob(s->hll, HLL_REGISTERS);
	}
	rc = store_exec_batch(
		c,
		"INSERT INTO source_stats (src_ip, alerts, intel, first_ts, last_ts, severity, "
		"victims, victims_hll) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (src_ip) DO UPDATE "
		"SET alerts = source_stats.alerts + excluded.alerts, "
		"intel = source_stats.intel + excluded.intel, "
		"first_ts = CASE WHEN excluded.first_ts < source_stats.first_ts "
		"THEN excluded.first_ts ELSE source_stats.first_ts END, "
		"last_ts = CASE WHEN excluded.last_ts > source_stats.last_ts "
		"THEN excluded.last_ts ELSE source_stats.last_ts END, "
		"severity = COALESCE(CASE WHEN excluded.severity < source_stats.severity "
		"THEN excluded.severity ELSE source_stats.severity END, excluded.severity), "
		"victims = excluded.victims, victims_hll = excluded.victims_hll",
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
	if (rc == 0) {
		struct store_param st[] = {store_text("sources"), store_int64(p->to)};

		rc = store_exec(c,
				"INSERT INTO rollup_state (name, last_id) VALUES (?, ?) "
				"ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id",
				st, 2, NULL, NULL);
	}
	return rc;
}

/* One pass: *took alerts folded in; *more when there are further ones to
 * take now (not behind a hole). */
static int pass_run(struct rollup *ru, size_t *took, int *more)
{
	struct store_param ps[2];
	struct pass p = {.ru = ru, .index = json_object()};
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
	if ((rc = watermark(c, 0, &p.from)) < 0)
		goto out;
	ps[0] = store_int64(p.from);
	ps[1] = store_int64(ROLLUP_PASS_ROWS);
	rc = store_exec(c,
			"SELECT id, sensor_id, ts, src_ip, dest_ip, signature_id, signature, severity "
			"FROM alerts WHERE id > ? ORDER BY id LIMIT ?",
			ps, 2, &rows, NULL);
	if (rc < 0)
		goto out;
	n = pass_take(ru, c, rows, p.from, &p.to, &blocked);
	if (n == 0)
		goto out;
	if ((rc = pass_aggregate(&p, rows, n)) < 0 || (rc = pass_merge_old(&p, c)) < 0)
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
	pass_free(&p);
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
			rc = store_exec(c, "SELECT MAX(id) FROM alerts", NULL, 0, &r, NULL);
			if (rc == 0 && (rc = watermark(c, 0, &at)) == 0 && store_res_nrows(r) == 1)
				*pending = store_res_int64(r, 0, 0) - at;
			store_res_free(r);
			store_conn_put(c);
		}
	}
	if (ru->report != NULL)
		ru->report(ru->report_arg, rc < 0 ? -1 : *pending);
	pthread_mutex_unlock(&ru->pass_mu);
	return rc;
}

static void *rollup_main(void *arg)
{
	struct rollup *ru = arg;

	pthread_mutex_lock(&ru->mu);
	while (!ru->stop) {
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += ru->interval_ms / 1000;
		until.tv_nsec += (long)(ru->interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!ru->stop && pthread_cond_timedwait(&ru->cv, &ru->mu, &until) == 0)
			;
		if (ru->stop)
			break;
		pthread_mutex_unlock(&ru->mu);
		if (rollup_catch_up(ru, SIZE_MAX, NULL) < 0) {
			/* logged; the next interval tries again */
		}
		pthread_mutex_lock(&ru->mu);
	}
	pthread_mutex_unlock(&ru->mu);
	return NULL;
}

int rollup_start(struct store *st, unsigned interval_ms, rollup_report_fn report, void *arg,
		 struct rollup **out)
{
	struct rollup *ru = yg_calloc(1, sizeof(*ru));
	pthread_condattr_t ca;

	*out = NULL;
	if (ru == NULL)
		return YG_ENOMEM;
	ru->st = st;
	ru->pg = store_backend_of(st) == STORE_BACKEND_PG;
	ru->interval_ms = interval_ms ? interval_ms : 1000;
	ru->report = report;
	ru->report_arg = arg;
	pthread_mutex_init(&ru->mu, NULL);
	pthread_mutex_init(&ru->pass_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ru->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&ru->thread, NULL, rollup_main, ru) != 0) {
		pthread_cond_destroy(&ru->cv);
		pthread_mutex_destroy(&ru->mu);
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
	pthread_mutex_lock(&ru->mu);
	ru->stop = 1;
	pthread_cond_signal(&ru->cv);
	pthread_mutex_unlock(&ru->mu);
	pthread_join(ru->thread, NULL);
	pthread_cond_destroy(&ru->cv);
	pthread_mutex_destroy(&ru->mu);
	pthread_mutex_destroy(&ru->pass_mu);
	free(ru);
}
