/* rollup_agg.c - a pass's per-source aggregates, in memory (rollup_int.h):
 * what each alert credits to the sources it names, merged with what each
 * source has stored, and scored by the shared ranking. No SQL here but the
 * column lists of rollup_int.h; rollup.c reads and writes the rows. */
#include "tower/rollup_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "base/json.h"
#include "rank/rank.h"
#include "tower/alertbatch.h"

#define INTEL_SID_FIRST 9700000 /* yagura's intel-match signatures, docs/detect.md */
#define INTEL_SID_LAST 9799999

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

/* Array v, n elements of size bytes in *cap allocated, with room for one
 * more: doubled when full, first elements when empty. NULL on no memory, v
 * then as it was. */
static void *room(void *v, size_t n, size_t *cap, size_t size, size_t first)
{
	size_t nc;
	void *nv;

	if (n < *cap)
		return v;
	nc = *cap ? *cap * 2 : first;
	if ((nv = yg_realloc(v, nc * size)) != NULL)
		*cap = nc;
	return nv;
}

static void named_free(struct named *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
}

void rollup_pass_free(struct pass *p)
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
	char *d, **nv;

	if (s == NULL)
		return NULL;
	if ((nv = room(p->strs, p->nstrs, &p->cstrs, sizeof(*nv), 64)) == NULL) {
		*err = 1;
		return NULL;
	}
	p->strs = nv;
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
	if ((s = room(p->v, p->n, &p->cap, sizeof(*s), 64)) == NULL)
		return NULL;
	p->v = s;
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
	struct sig_agg *nv;

	for (size_t i = 0; i < s->nsigs; i++) {
		if (s->sigs[i].sid == sid) {
			s->sigs[i].alerts++;
			if (s->sigs[i].name == NULL)
				s->sigs[i].name = name;
			return 0;
		}
	}
	if ((nv = room(s->sigs, s->nsigs, &s->csigs, sizeof(*nv), 4)) == NULL)
		return YG_ENOMEM;
	s->sigs = nv;
	s->sigs[s->nsigs++] = (struct sig_agg){sid, name, 1};
	return 0;
}

static int agg_sensor(struct src_agg *s, int64_t sensor)
{
	int64_t *nv;

	for (size_t i = 0; i < s->nsensors; i++)
		if (s->sensors[i] == sensor)
			return 0;
	if ((nv = room(s->sensors, s->nsensors, &s->csensors, sizeof(*nv), 4)) == NULL)
		return YG_ENOMEM;
	s->sensors = nv;
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
	if ((x = room(*v, *n, cap, sizeof(*x), 2)) == NULL)
		return YG_ENOMEM;
	*v = x;
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
	int64_t id, sensor, ts, sid, severity;
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
	enum alert_batch_status st;
	int err = 0;

	memset(k, 0, sizeof(*k));
	k->sessions = k->hosts = k->ports = k->window_start = k->confidence = -1;
	if (buf == NULL)
		return YG_ENOMEM;
	buf[0] = '[';
	memcpy(buf + 1, body, len);
	memcpy(buf + 1 + len, "]", 2);
	st = alert_batch_parse(buf, len + 2, 1, &b);
	if (st == ALERT_BATCH_NOMEM) /* not a record without rank fields */
		err = 1;
	if (st == ALERT_BATCH_OK) {
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

/* Where a SELECT ROLLUP_ALERT_COLS put each column, found by name once
 * per result. */
struct acols {
	size_t id, sensor, ts, src, dest, sid, sig, severity, attackers, role, detector, hosts, ports,
		sessions, packets, window, indicator, confidence, old_body, attacker_packets;
};

static int acols_find(const struct store_res *r, struct acols *c)
{
	const struct {
		const char *name;
		size_t *at;
	} want[] = {{"id", &c->id},		     {"sensor_id", &c->sensor},
		    {"ts", &c->ts},
		    {"src_ip", &c->src},	     {"dest_ip", &c->dest},
		    {"signature_id", &c->sid},	     {"signature", &c->sig},
		    {"severity", &c->severity},	     {"attackers", &c->attackers},
		    {"attacker_role", &c->role},     {"detector", &c->detector},
		    {"hosts", &c->hosts},	     {"ports", &c->ports},
		    {"sessions", &c->sessions},	     {"packets", &c->packets},
		    {"window_start", &c->window},    {"indicator", &c->indicator},
		    {"confidence", &c->confidence}, {"old_body", &c->old_body},
		    {"attacker_packets", &c->attacker_packets}};

	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		if ((*want[k].at = store_res_col(r, want[k].name)) == SIZE_MAX)
			return YG_EINVAL;
	return 0;
}

/* Row i of a SELECT ROLLUP_ALERT_COLS into a. */
static int arow_read(struct pass *p, struct store_res *r, const struct acols *c, size_t i,
		     struct arow *a)
{
	struct alert_rank *k = &a->k;

	a->id = store_res_int64(r, i, c->id);
	a->sensor = store_res_int64(r, i, c->sensor);
	a->ts = store_res_int64(r, i, c->ts);
	a->src = store_res_text(r, i, c->src);
	a->dest = store_res_text(r, i, c->dest);
	a->has_sid = !store_res_isnull(r, i, c->sid);
	a->sid = store_res_int64(r, i, c->sid);
	a->sig = store_res_text(r, i, c->sig);
	a->has_severity = !store_res_isnull(r, i, c->severity);
	a->severity = store_res_int64(r, i, c->severity);
	if (store_res_isnull(r, i, c->packets))
		return store_res_isnull(r, i, c->old_body)
			       ? 0
			       : old_rank(p, store_res_text(r, i, c->old_body), k);
	k->attackers = store_res_text(r, i, c->attackers);
	k->n_attackers = 0;
	k->attacker_packets = store_res_text(r, i, c->attacker_packets);
	k->reflector = !store_res_isnull(r, i, c->role) &&
		       strcmp(store_res_text(r, i, c->role), "reflector") == 0;
	k->detector = store_res_text(r, i, c->detector);
	k->hosts = col_or(r, i, c->hosts, -1);
	k->ports = col_or(r, i, c->ports, -1);
	k->sessions = col_or(r, i, c->sessions, -1);
	k->packets = store_res_int64(r, i, c->packets);
	k->window_start = col_or(r, i, c->window, -1);
	k->indicator = store_res_text(r, i, c->indicator);
	k->confidence = col_or(r, i, c->confidence, -1);
	return 0;
}

/* Keeps id among the latest alerts credited to s, which come in id order
 * within a pass (a list naming the source twice gives it once). */
static void recent_add(struct src_agg *s, int64_t id)
{
	if (s->nrecent > 0 && s->recent[s->nrecent - 1] == id)
		return;
	if (s->nrecent == ROLLUP_RECENT_MAX) {
		memmove(s->recent, s->recent + 1, (ROLLUP_RECENT_MAX - 1) * sizeof(s->recent[0]));
		s->nrecent--;
	}
	s->recent[s->nrecent++] = id;
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
	recent_add(s, a->id);
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


int rollup_aggregate(struct pass *p, struct store_res *r, size_t n)
{
	struct acols c;
	int rc;

	if (n > 0 && (rc = acols_find(r, &c)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct arow a = {0};

		if ((rc = arow_read(p, r, &c, i, &a)) < 0 || (rc = pass_account(p, &a)) < 0)
			return rc;
	}
	return 0;
}

/* Merges a stored JSON object of name -> number into a set. */
static int merge_named(struct named **v, size_t *n, size_t *cap, size_t max, const char *text,
		       int keep_min)
{
	json_t *o = text != NULL && text[0] != '\0' ? yg_json_loads(text, 0, NULL) : NULL;
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

/* A stored number of row i, by column name; 0 for NULL, *null set then. */
static int64_t stored(const struct store_res *r, size_t i, const char *name, int *null)
{
	size_t c = store_res_col(r, name);

	if (null != NULL)
		*null = c == SIZE_MAX || store_res_isnull(r, i, c);
	return c == SIZE_MAX ? 0 : store_res_int64(r, i, c);
}

static const char *stored_text(const struct store_res *r, size_t i, const char *name)
{
	size_t c = store_res_col(r, name);

	return c == SIZE_MAX ? NULL : store_res_text(r, i, c);
}

/* The stored latest alerts ("id,id,...", newest first; all older than the
 * pass's) before the pass's own, the latest ROLLUP_RECENT_MAX kept. A
 * list that does not read (none should) is dropped. */
static void merge_recent(struct src_agg *s, const char *text)
{
	int64_t old[ROLLUP_RECENT_MAX], all[2 * ROLLUP_RECENT_MAX];
	size_t n = 0, k = 0;

	for (const char *c = text; c != NULL && *c != '\0' && n < ROLLUP_RECENT_MAX;) {
		char *end;
		long long v = strtoll(c, &end, 10);

		if (end == c || v < 1 || (*end != ',' && *end != '\0'))
			return;
		old[n++] = v;
		c = *end == ',' ? end + 1 : end;
	}
	for (size_t i = n; i-- > 0;)
		all[k++] = old[i];
	for (size_t i = 0; i < s->nrecent; i++)
		all[k++] = s->recent[i];
	s->nrecent = k < ROLLUP_RECENT_MAX ? k : ROLLUP_RECENT_MAX;
	memcpy(s->recent, all + (k - s->nrecent), s->nrecent * sizeof(s->recent[0]));
}

/* Row i of a SELECT ROLLUP_STORED_COLS merged into s. */
static int merge_old_row(struct src_agg *s, struct store_res *r, size_t i)
{
	size_t len = 0, hll = store_res_col(r, "victims_hll");
	const uint8_t *old = hll != SIZE_MAX ? store_res_blob(r, i, hll, &len) : NULL;
	int64_t v;
	int null, rc;

	if (old != NULL && len == HLL_REGISTERS)
		hll_merge(s->hll, old);
	s->alerts += stored(r, i, "alerts", NULL);
	s->intel += stored(r, i, "intel", NULL);
	if ((v = stored(r, i, "first_ts", NULL)) < s->first)
		s->first = v;
	if ((v = stored(r, i, "last_ts", NULL)) > s->last)
		s->last = v;
	if ((v = stored(r, i, "severity", &null)) < s->severity && !null)
		s->severity = v;
	if ((v = stored(r, i, "hosts", NULL)) > s->hosts)
		s->hosts = v;
	if ((v = stored(r, i, "ports", NULL)) > s->ports)
		s->ports = v;
	s->sessions += stored(r, i, "sessions", NULL);
	s->packets += stored(r, i, "packets", NULL);
	s->named_attacker |= stored(r, i, "named_attacker", NULL) != 0;
	merge_recent(s, stored_text(r, i, "recent_alerts"));
	rc = merge_named(&s->det, &s->ndet, &s->cdet, ROLLUP_DETECTORS_MAX,
			 stored_text(r, i, "detectors"), 1);
	if (rc < 0)
		return rc;
	return merge_named(&s->ind, &s->nind, &s->cind, ROLLUP_INDICATORS_MAX,
			   stored_text(r, i, "indicators"), 0);
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
		text = yg_json_dumps(o, JSON_COMPACT);
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
	s->recent_text[0] = '\0';
	for (size_t i = s->nrecent, at = 0; i-- > 0;)
		at += (size_t)snprintf(s->recent_text + at, sizeof(s->recent_text) - at, "%s%lld",
				       at > 0 ? "," : "", (long long)s->recent[i]);
	return err ? YG_ENOMEM : 0;
}

int rollup_merge_stored(struct pass *p, struct store_res *r, size_t i)
{
	json_t *pos = json_object_get(p->index, stored_text(r, i, "src_ip"));

	return pos != NULL ? merge_old_row(&p->v[json_integer_value(pos)], r, i) : 0;
}

int rollup_score(struct pass *p)
{
	for (size_t i = 0; i < p->n; i++) {
		int rc = agg_score(&p->v[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}
