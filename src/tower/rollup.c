/* rollup.c - folds sensor alerts into the per-source summary (rollup.h).
 *
 * A pass reads the alerts past the watermark in id order, aggregates them
 * per source in memory, reads the stored rows of those sources and merges
 * them in, scores each source (rank_score()), then writes the merged rows
 * and the new watermark in one transaction (a group commit on SQLite, so
 * that it shares the alerts' fsync). The write checks that the watermark
 * is where the pass read it, so the rows it read are the ones it replaces:
 * two towers on one PostgreSQL never fold the same alerts twice. */
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
#include "rank/rank.h"
#include "tower/alertbatch.h"

#define INTEL_SID_FIRST 9700000 /* yagura's intel-match signatures, docs/detect.md */
#define INTEL_SID_LAST 9799999
#define OLD_CHUNK 500           /* sources per lookup of their stored rows */

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

/* A detector that fired for the source (its highest severity), or an
 * indicator it matched (its confidence). The stored ones are merged in
 * first-class: a source keeps what it had when new ones no longer fit. */
struct named {
	char *name;
	int64_t v;
	int stored; /* in the source's stored row */
	int kept;   /* in what is written back (named_keep()) */
};

struct src_agg {
	const char *ip;
	int64_t alerts, intel, first, last, severity; /* severity INT64_MAX: none */
	int64_t hosts, ports, sessions, packets;
	int named_attacker; /* named other than as a reflector at least once */
	uint8_t hll[HLL_REGISTERS];
	struct sig_agg *sigs;
	size_t nsigs, csigs;
	int64_t *sensors;
	size_t nsensors, csensors;
	struct named *det, *ind; /* up to 2 * ROLLUP_*_MAX each: new and stored */
	size_t ndet, cdet, nind, cind;
	/* For the write: */
	char *det_json, *ind_json;
	int64_t victims, score_x10;
};

struct pass {
	struct rollup *ru;
	int64_t from, to; /* the watermark before and after */
	struct src_agg *v;
	size_t n, cap;
	json_t *index; /* ip -> position in v */
	char **strs;   /* strings the pass owns (addresses of split lists, ...) */
	size_t nstrs, cstrs;
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

/* strdup() through the allocation wrapper. */
static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = yg_malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

static void named_free(struct named *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
}

static void pass_free(struct pass *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].sigs);
		free(p->v[i].sensors);
		named_free(p->v[i].det, p->v[i].ndet);
		named_free(p->v[i].ind, p->v[i].nind);
		free(p->v[i].det);
		free(p->v[i].ind);
		free(p->v[i].det_json);
		free(p->v[i].ind_json);
	}
	free(p->v);
	for (size_t i = 0; i < p->nstrs; i++)
		free(p->strs[i]);
	free(p->strs);
	json_decref(p->index);
}

/* A copy of s that lives as long as the pass; NULL for NULL (or no memory:
 * *err set). */
static char *pass_strdup(struct pass *p, const char *s, int *err)
{
	char *d;

	if (s == NULL)
		return NULL;
	if (p->nstrs == p->cstrs) {
		size_t cap = p->cstrs ? p->cstrs * 2 : 64;
		char **nv = yg_realloc(p->strs, cap * sizeof(*nv));

		if (nv == NULL) {
			*err = 1;
			return NULL;
		}
		p->strs = nv;
		p->cstrs = cap;
	}
	if ((d = dup_str(s)) == NULL) {
		*err = 1;
		return NULL;
	}
	p->strs[p->nstrs++] = d;
	return d;
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

/* Adds name to a set (*v, growing) of at most max new and max stored
 * entries, keeping per name the lowest v (keep_min: a severity) or the
 * first v (a confidence). What does not fit is left out. */
static int named_add(struct named **v, size_t *n, size_t *cap, size_t max, const char *name,
		     int64_t val, int stored, int keep_min)
{
	size_t i, of_kind = 0;
	struct named *x;

	for (i = 0; i < *n; i++) {
		x = &(*v)[i];
		if (strcmp(x->name, name) == 0) {
			if (keep_min && val < x->v)
				x->v = val;
			x->stored |= stored;
			return 0;
		}
		of_kind += x->stored == stored;
	}
	if (of_kind >= max)
		return 0;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 2;
		struct named *nv = yg_realloc(*v, nc * sizeof(*nv));

		if (nv == NULL)
			return YG_ENOMEM;
		*v = nv;
		*cap = nc;
	}
	x = &(*v)[*n];
	if ((x->name = dup_str(name)) == NULL)
		return YG_ENOMEM;
	x->v = val;
	x->stored = stored;
	x->kept = 0;
	(*n)++;
	return 0;
}

/* One alert as the pass reads it: its row, and what the ranking takes
 * (from the row's columns, or from the body for alerts stored before v7). */
struct arow {
	int64_t sensor, ts, sid, severity;
	int has_sid, has_severity;
	const char *src, *dest, *sig;
	struct alert_rank k;
};

static int64_t col_or(struct store_res *r, size_t i, size_t col, int64_t dflt)
{
	return store_res_isnull(r, i, col) ? dflt : store_res_int64(r, i, col);
}

/* The ranking's view of an alert stored before v7: its body read as the
 * ingest reads a batch. A body that does not read (none should: each was
 * read at ingest) gives nothing but src_ip. */
static int old_rank(struct pass *p, const char *body, struct alert_rank *k)
{
	struct alert_batch b;
	size_t len = strlen(body);
	char *buf = yg_malloc(len + 3);
	int err = 0;

	memset(k, 0, sizeof(*k));
	k->sessions = k->hosts = k->ports = k->window_start = k->confidence = -1;
	if (buf == NULL)
		return YG_ENOMEM;
	buf[0] = '[';
	memcpy(buf + 1, body, len);
	memcpy(buf + 1 + len, "]", 2);
	if (alert_batch_parse(buf, len + 2, 1, &b) == ALERT_BATCH_OK) {
		alert_rank_of(&b.recs[0], k);
		k->attackers = pass_strdup(p, k->attackers, &err);
		k->attacker_packets = pass_strdup(p, k->attacker_packets, &err);
		k->detector = pass_strdup(p, k->detector, &err);
		k->indicator = pass_strdup(p, k->indicator, &err);
	}
	alert_batch_free(&b);
	free(buf);
	return err ? YG_ENOMEM : 0;
}

/* Row i of the pass's SELECT (see pass_run()) into a. */
static int arow_read(struct pass *p, struct store_res *r, size_t i, struct arow *a)
{
	struct alert_rank *k = &a->k;

	a->sensor = store_res_int64(r, i, 1);
	a->ts = store_res_int64(r, i, 2);
	a->src = store_res_text(r, i, 3);
	a->dest = store_res_text(r, i, 4);
	a->has_sid = !store_res_isnull(r, i, 5);
	a->sid = store_res_int64(r, i, 5);
	a->sig = store_res_text(r, i, 6);
	a->has_severity = !store_res_isnull(r, i, 7);
	a->severity = store_res_int64(r, i, 7);
	if (store_res_isnull(r, i, 14))
		return store_res_isnull(r, i, 18) ? 0 : old_rank(p, store_res_text(r, i, 18), k);
	k->attackers = store_res_text(r, i, 8);
	k->n_attackers = 0;
	k->attacker_packets = store_res_text(r, i, 19);
	k->reflector =
		!store_res_isnull(r, i, 9) && strcmp(store_res_text(r, i, 9), "reflector") == 0;
	k->detector = store_res_text(r, i, 10);
	k->hosts = col_or(r, i, 11, -1);
	k->ports = col_or(r, i, 12, -1);
	k->sessions = col_or(r, i, 13, -1);
	k->packets = store_res_int64(r, i, 14);
	k->window_start = col_or(r, i, 15, -1);
	k->indicator = store_res_text(r, i, 16);
	k->confidence = col_or(r, i, 17, -1);
	return 0;
}

/* Credits source ip with alert a: victim is the other end of the alert,
 * pkts what ip sent of it. */
static int credit(struct pass *p, const char *ip, const struct arow *a, const char *victim,
		  int64_t pkts)
{
	const struct alert_rank *k = &a->k;
	struct src_agg *s = agg_get(p, ip);
	int64_t first = k->window_start >= 0 && k->window_start < a->ts ? k->window_start : a->ts;
	int64_t sev = a->has_severity && a->severity >= 1 && a->severity <= 3 ? a->severity : 3;
	char sidname[32];
	const char *det = k->detector;

	if (s == NULL)
		return YG_ENOMEM;
	s->alerts++;
	if (a->sid >= INTEL_SID_FIRST && a->sid <= INTEL_SID_LAST)
		s->intel++;
	if (first < s->first)
		s->first = first;
	if (a->ts > s->last)
		s->last = a->ts;
	if (a->has_severity && a->severity < s->severity)
		s->severity = a->severity;
	if (victim != NULL)
		hll_add(s->hll, victim, strlen(victim));
	if (k->hosts > s->hosts)
		s->hosts = k->hosts;
	if (k->ports > s->ports)
		s->ports = k->ports;
	if (k->sessions > 0)
		s->sessions += k->sessions;
	s->packets += pkts;
	if (!k->reflector)
		s->named_attacker = 1;
	if (det == NULL) { /* neither a detector nor a category: the signature is one */
		snprintf(sidname, sizeof(sidname), "sid:%lld", (long long)a->sid);
		det = sidname;
	}
	if (named_add(&s->det, &s->ndet, &s->cdet, ROLLUP_DETECTORS_MAX, det, sev, 0, 1) < 0)
		return YG_ENOMEM;
	if (k->indicator != NULL &&
	    named_add(&s->ind, &s->nind, &s->cind, ROLLUP_INDICATORS_MAX, k->indicator,
		      k->confidence > 0 ? k->confidence : 0, 0, 0) < 0)
		return YG_ENOMEM;
	if (a->has_sid && agg_sig(s, a->sid, a->sig) < 0)
		return YG_ENOMEM;
	return agg_sensor(s, a->sensor);
}

/* Credits each source alert a names: its evidence.attackers, or its src_ip
 * when it has none; nobody when the list is empty. Each of several is
 * credited with what evidence.attacker_packets says it sent, or else an
 * even share of the alert's packets. */
static int pass_account(struct pass *p, const struct arow *a)
{
	const struct alert_rank *k = &a->k;
	size_t n = 1;
	char *list, *at;
	const char *own;
	int err = 0, rc = 0;

	if (k->attackers == NULL)
		return a->src != NULL ? credit(p, a->src, a, a->dest, k->packets) : 0;
	if (k->attackers[0] == '\0')
		return 0;
	for (const char *c = k->attackers; *c; c++)
		n += *c == ',';
	if (n == 1) { /* the string outlives the pass: no copy to split */
		int is_dest = a->dest != NULL && strcmp(k->attackers, a->dest) == 0;

		return credit(p, k->attackers, a, is_dest ? a->src : a->dest, k->packets);
	}
	if ((list = pass_strdup(p, k->attackers, &err)) == NULL)
		return YG_ENOMEM;
	own = k->attacker_packets;
	for (at = list; rc == 0 && at != NULL;) {
		char *next = strchr(at, ',');
		int is_dest = a->dest != NULL && strcmp(at, a->dest) == 0;
		int64_t pkts = k->packets / (int64_t)n;

		if (next != NULL)
			*next++ = '\0';
		if (own != NULL) { /* digits and commas, checked at ingest */
			char *end;
			pkts = strtoll(own, &end, 10);
			own = *end == ',' ? end + 1 : NULL;
		}
		/* A named destination (a C2 server the victim called) has the
		 * source as its victim. */
		rc = credit(p, at, a, is_dest ? a->src : a->dest, pkts);
		at = next;
	}
	return rc;
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
		struct arow a = {0};
		int rc;

		if ((rc = arow_read(p, r, i, &a)) < 0 || (rc = pass_account(p, &a)) < 0)
			return rc;
	}
	return 0;
}

/* Merges a stored JSON object of name -> number into a set. */
static int merge_named(struct named **v, size_t *n, size_t *cap, size_t max, const char *text,
		       int keep_min)
{
	json_t *o = text != NULL && text[0] != '\0' ? json_loads(text, 0, NULL) : NULL;
	const char *name;
	json_t *x;
	int rc = 0;

	json_object_foreach(o, name, x) {
		if (json_is_integer(x) &&
		    (rc = named_add(v, n, cap, max, name, json_integer_value(x), 1, keep_min)) < 0)
			break;
	}
	json_decref(o);
	return rc;
}

#define OLD_COLS                                                                                \
	"src_ip, victims_hll, alerts, intel, first_ts, last_ts, severity, hosts, ports, sessions, " \
	"packets, named_attacker, detectors, indicators"

/* Row i of a SELECT OLD_COLS merged into s. */
static int merge_old_row(struct src_agg *s, struct store_res *r, size_t i)
{
	size_t len = 0;
	const uint8_t *old = store_res_blob(r, i, 1, &len);
	int64_t v;
	int rc;

	if (old != NULL && len == HLL_REGISTERS)
		hll_merge(s->hll, old);
	s->alerts += store_res_int64(r, i, 2);
	s->intel += store_res_int64(r, i, 3);
	if ((v = store_res_int64(r, i, 4)) < s->first)
		s->first = v;
	if ((v = store_res_int64(r, i, 5)) > s->last)
		s->last = v;
	if (!store_res_isnull(r, i, 6) && (v = store_res_int64(r, i, 6)) < s->severity)
		s->severity = v;
	if ((v = store_res_int64(r, i, 7)) > s->hosts)
		s->hosts = v;
	if ((v = store_res_int64(r, i, 8)) > s->ports)
		s->ports = v;
	s->sessions += store_res_int64(r, i, 9);
	s->packets += store_res_int64(r, i, 10);
	s->named_attacker |= store_res_int64(r, i, 11) != 0;
	rc = merge_named(&s->det, &s->ndet, &s->cdet, ROLLUP_DETECTORS_MAX,
			 store_res_text(r, i, 12), 1);
	if (rc < 0)
		return rc;
	return merge_named(&s->ind, &s->nind, &s->cind, ROLLUP_INDICATORS_MAX,
			   store_res_text(r, i, 13), 0);
}

/* The stored rows of the pass's sources, merged into the new ones. */
static int pass_merge_old(struct pass *p, struct store_conn *c)
{
	char *sql = yg_malloc(256 + 3 * OLD_CHUNK);
	struct store_param *ps = yg_calloc(OLD_CHUNK, sizeof(*ps));
	int rc = sql && ps ? 0 : YG_ENOMEM;

	for (size_t at = 0; rc == 0 && at < p->n; at += OLD_CHUNK) {
		size_t k = p->n - at < OLD_CHUNK ? p->n - at : OLD_CHUNK;
		static const char head[] = "SELECT " OLD_COLS " FROM source_stats WHERE src_ip IN (?";
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
		for (size_t i = 0; rc == 0 && i < store_res_nrows(r); i++) {
			json_t *pos = json_object_get(p->index, store_res_text(r, i, 0));

			if (pos != NULL)
				rc = merge_old_row(&p->v[json_integer_value(pos)], r, i);
		}
		store_res_free(r);
	}
	free(ps);
	free(sql);
	return rc;
}

/* Marks what a set keeps: what was stored, then new names while there is
 * room (at most max). */
static void named_keep(struct named *v, size_t n, size_t max)
{
	size_t kept = 0;

	for (int stored = 1; stored >= 0; stored--)
		for (size_t i = 0; i < n; i++)
			if (v[i].stored == stored)
				v[i].kept = kept < max ? (kept++, 1) : 0;
}

/* A set as stored: a JSON object of name -> number, the stored names
 * first. NULL when empty; *err on no memory. */
static char *named_json(const struct named *v, size_t n, int *err)
{
	json_t *o;
	char *text = NULL;
	size_t kept = 0;

	if (n == 0)
		return NULL;
	o = json_object();
	for (int stored = 1; o != NULL && stored >= 0; stored--)
		for (size_t i = 0; i < n; i++)
			if (v[i].stored == stored && v[i].kept &&
			    json_object_set_new(o, v[i].name, json_integer(v[i].v)) == 0)
				kept++;
	if (o != NULL && kept > 0)
		text = json_dumps(o, JSON_COMPACT);
	if (o == NULL || (kept > 0 && text == NULL))
		*err = 1;
	json_decref(o);
	return text;
}

/* The source's score by the shared rule (src/rank/rank.h), from what the
 * merge left, and its sets as they will be stored. */
static int agg_score(struct src_agg *s)
{
	struct rank_evidence e = {0};
	int err = 0;

	named_keep(s->det, s->ndet, ROLLUP_DETECTORS_MAX);
	named_keep(s->ind, s->nind, ROLLUP_INDICATORS_MAX);
	for (size_t i = 0; i < s->ndet; i++)
		if (s->det[i].kept)
			e.sev[(s->det[i].v >= 1 && s->det[i].v <= 3 ? s->det[i].v : 3) - 1]++;
	for (size_t i = 0; i < s->nind; i++)
		if (s->ind[i].kept)
			e.indicator_conf += (uint64_t)s->ind[i].v;
	s->victims = hll_estimate(s->hll);
	e.hosts = (uint64_t)(s->hosts > s->victims ? s->hosts : s->victims);
	e.ports = (uint64_t)s->ports;
	e.sessions = (uint64_t)s->sessions;
	e.pkts = (uint64_t)s->packets;
	e.seconds = s->last > s->first ? (uint64_t)(s->last - s->first) / 1000000 : 0;
	e.reflector = !s->named_attacker;
	s->score_x10 = llround(rank_score(&e) * 10.0);
	s->det_json = named_json(s->det, s->ndet, &err);
	s->ind_json = named_json(s->ind, s->nind, &err);
	return err ? YG_ENOMEM : 0;
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

#define STATS_COLS 16
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
	}
	/* Every value is the merged one (pass_merge_old()): the row read is
	 * the row replaced, which the watermark check above guarantees. */
	rc = store_exec_batch(
		c,
		"INSERT INTO source_stats (src_ip, alerts, intel, first_ts, last_ts, severity, "
		"victims, victims_hll, hosts, ports, sessions, packets, named_attacker, detectors, "
		"indicators, score_x10) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
		"ON CONFLICT (src_ip) DO UPDATE SET alerts = excluded.alerts, "
		"intel = excluded.intel, first_ts = excluded.first_ts, last_ts = excluded.last_ts, "
		"severity = excluded.severity, victims = excluded.victims, "
		"victims_hll = excluded.victims_hll, hosts = excluded.hosts, ports = excluded.ports, "
		"sessions = excluded.sessions, packets = excluded.packets, "
		"named_attacker = excluded.named_attacker, detectors = excluded.detectors, "
		"indicators = excluded.indicators, score_x10 = excluded.score_x10",
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
	/* Columns as arow_read() takes them; the body only of alerts stored
	 * before v7, which have no packets column. */
	rc = store_exec(c,
			"SELECT id, sensor_id, ts, src_ip, dest_ip, signature_id, signature, severity, "
			"attackers, attacker_role, detector, hosts, ports, sessions, packets, "
			"window_start, indicator, confidence, "
			"CASE WHEN packets IS NULL THEN body END, attacker_packets "
			"FROM alerts WHERE id > ? ORDER BY id LIMIT ?",
			ps, 2, &rows, NULL);
	if (rc < 0)
		goto out;
	n = pass_take(ru, c, rows, p.from, &p.to, &blocked);
	if (n == 0)
		goto out;
	if ((rc = pass_aggregate(&p, rows, n)) < 0 || (rc = pass_merge_old(&p, c)) < 0)
		goto out;
	for (size_t i = 0; i < p.n; i++)
		if ((rc = agg_score(&p.v[i])) < 0)
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
