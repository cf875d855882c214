/* audit_rows.c - `yagura audit verify --store`: every row the log vouches
 * for still hashes to what its entry recorded, every such row has an
 * entry, and every row an entry names is still there.
 *
 * The walk (audit_store.c) hands over each entry it reads; the rows its
 * lines name (src/tower/record.h) go into a table keyed by (table, key),
 * the latest entry naming a row replacing earlier ones: a report's state
 * or a revoked token is the last change's to vouch for. Then each table is
 * read in ranges of its first key column and every row, or set of rows,
 * hashed as the tower hashed it. Memory grows with the rows the log names
 * (about 80 bytes each), not with the rows' size. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "cli/audit.h"
#include "cli/cli.h"
#include "tower/record.h"

#define NOT_PLACED UINT64_MAX /* an entry the sequencer has not placed yet */

struct named {
	int64_t key[2];
	uint64_t leaf; /* the latest entry naming the row: its leaf, or NOT_PLACED */
	int64_t seq;
	uint64_t count;
	struct tlog_hash h;
	uint8_t t;
	uint8_t used;
	uint8_t seen;
};

/* The ranges retention erased (erase lines), a table's in the order its
 * erasures went, which is ascending: looked up by bisection. */
struct erased {
	int64_t from, to;
	uint64_t leaf;
};

struct audit_rows {
	struct named *slot;
	size_t cap, n; /* cap a power of two */
	struct erased *er[REC_TABLES];
	size_t ner[REC_TABLES], caper[REC_TABLES];
};

/* The erasure covering key of table t, or NULL. */
static const struct erased *erased_at(const struct audit_rows *m, unsigned t, int64_t key)
{
	size_t lo = 0, hi = m != NULL ? m->ner[t] : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct erased *e = &m->er[t][mid];

		if (key < e->from)
			hi = mid;
		else if (key > e->to)
			lo = mid + 1;
		else
			return e;
	}
	return NULL;
}

static int erased_add(struct audit_rows *m, const struct rec_ref *r, uint64_t leaf)
{
	unsigned t = r->t;

	if (m->ner[t] == m->caper[t]) {
		size_t cap = m->caper[t] ? m->caper[t] * 2 : 16;
		struct erased *e = yg_realloc(m->er[t], cap * sizeof(*e));

		if (e == NULL)
			return YG_ENOMEM;
		m->er[t] = e;
		m->caper[t] = cap;
	}
	m->er[t][m->ner[t]++] = (struct erased){r->key[0], r->key[1], leaf};
	return 0;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static size_t slot_of(const struct audit_rows *m, unsigned t, const int64_t key[2])
{
	size_t i = (size_t)mix((uint64_t)key[0] * 31 + mix((uint64_t)key[1]) + t) & (m->cap - 1);

	while (m->slot[i].used &&
	       (m->slot[i].t != t || m->slot[i].key[0] != key[0] || m->slot[i].key[1] != key[1]))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int grow(struct audit_rows *m)
{
	struct audit_rows g = {.cap = m->cap ? m->cap * 2 : 1024};

	if ((g.slot = yg_calloc(g.cap, sizeof(*g.slot))) == NULL)
		return YG_ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slot[i].used)
			g.slot[slot_of(&g, m->slot[i].t, m->slot[i].key)] = m->slot[i];
	g.n = m->n;
	free(m->slot);
	*m = g;
	return 0;
}

static void key_text(const struct rec_ref *r, char *buf, size_t cap)
{
	const struct rec_def *d = &rec_defs[r->t];
	const char *comma = strchr(d->key, ',');

	if (d->nkey == 2 && comma != NULL)
		snprintf(buf, cap, "%s %.*s=%" PRId64 ", %s=%" PRId64, d->table,
			 (int)(comma - d->key), d->key, r->key[0], comma + 2, r->key[1]);
	else if (d->set)
		snprintf(buf, cap, "%s with %s=%" PRId64, d->table, d->key, r->key[0]);
	else
		snprintf(buf, cap, "%s %s=%" PRId64, d->table, d->key, r->key[0]);
}

static const char *who(const struct named *s, char *buf, size_t cap)
{
	if (s->leaf == NOT_PLACED)
		snprintf(buf, cap, "entry seq %" PRId64 " (not yet in the tree)", s->seq);
	else
		snprintf(buf, cap, "leaf %" PRIu64, s->leaf);
	return buf;
}

int audit_rows_note(struct audit *a, const char *entry, size_t len, uint64_t leaf, int64_t seq)
{
	struct audit_rows *m = a->rows;
	const char *p = entry, *end = entry + len;
	int rc;

	if (m == NULL) {
		if ((m = yg_calloc(1, sizeof(*m))) == NULL)
			return YG_ENOMEM;
		a->rows = m;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		struct rec_ref r;

		rc = rec_ref_parse(p, ll, &r);
		p += ll + 1;
		if (rc == 0)
			continue;
		if (rc < 0) {
			char w[64];
			struct named s = {.leaf = leaf, .seq = seq};

			audit_finding(a, "%s has a malformed row line: %.*s", who(&s, w, sizeof(w)),
				      (int)(ll > 160 ? 160 : ll), p - ll - 1);
			continue;
		}
		if (r.erase) {
			if ((rc = erased_add(m, &r, leaf)) < 0)
				return rc;
			continue;
		}
		if ((m->n + 1) * 4 > m->cap * 3 && (rc = grow(m)) < 0)
			return rc;
		struct named *s = &m->slot[slot_of(m, r.t, r.key)];
		if (!s->used)
			m->n++;
		*s = (struct named){.key = {r.key[0], r.key[1]}, .leaf = leaf, .seq = seq,
				    .count = r.count, .h = r.h, .t = (uint8_t)r.t, .used = 1};
	}
	return 0;
}

/* A row (or set) as the store has it now, against what the log says. */
static void compare(struct audit *a, const struct rec_ref *now, struct audit_walk *out)
{
	struct audit_rows *m = a->rows;
	struct named *s = m != NULL && m->cap ? &m->slot[slot_of(m, now->t, now->key)] : NULL;
	char k[160], w[64];

	key_text(now, k, sizeof(k));
	out->rows += rec_defs[now->t].set ? now->count : 1;
	const struct erased *gone = erased_at(m, now->t, now->key[0]);
	if (gone != NULL) {
		audit_finding(a, "%s %s lies in the range leaf %" PRIu64 " erased, yet it is there",
			      rec_defs[now->t].set ? "rows" : "row", k, gone->leaf);
		if (s != NULL && s->used)
			s->seen = 1;
		return;
	}
	if (s == NULL || !s->used) {
		audit_finding(a, "%s %s has no entry in the log: it was added behind the tower's back "
				 "(or before the tower logged its changes)",
			      rec_defs[now->t].set ? "rows" : "row", k);
		return;
	}
	s->seen = 1;
	if (memcmp(s->h.b, now->h.b, TLOG_HASH_LEN) != 0 || s->count != now->count) {
		if (rec_defs[now->t].set)
			audit_finding(a, "rows %s differ from what %s recorded (%" PRIu64
					 " rows then, %" PRIu64 " now)",
				      k, who(s, w, sizeof(w)), s->count, now->count);
		else
			audit_finding(a, "row %s differs from what %s recorded", k, who(s, w, sizeof(w)));
	}
}

#define RANGE_ROWS 256	/* first-key values a query reads */
#define RANGE_SETS 4	/* ... of a table of sets (a batch holds up to 10,000 alerts) */

static int check_table(struct audit *a, enum rec_table t, struct audit_walk *out)
{
	const struct rec_def *d = &rec_defs[t];
	char sql[1400], k0[64];
	struct store_res *r = NULL;
	int64_t lo, hi, width = d->set ? RANGE_SETS : RANGE_ROWS;
	const char *comma = strchr(d->key, ',');
	struct rec_set set = {0};
	struct rec_ref cur = {.t = t};
	bool in_set = false;
	int rc;

	snprintf(k0, sizeof(k0), "%.*s", comma ? (int)(comma - d->key) : (int)strlen(d->key),
		 d->key);
	snprintf(sql, sizeof(sql), "SELECT MIN(%s) AS lo, MAX(%s) AS hi FROM %s", k0, k0, d->table);
	if ((rc = store_exec(a->c, sql, NULL, 0, &r, NULL)) < 0)
		return rc;
	bool empty = store_res_isnull(r, 0, 0);
	lo = store_res_int64(r, 0, 0);
	hi = store_res_int64(r, 0, 1);
	store_res_free(r);
	if (empty)
		return 0;
	char cols[1024];
	if ((rc = rec_select(t, cols, sizeof(cols))) < 0)
		return rc;
	rc = 0;
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s >= ? AND %s < ? ORDER BY %s", cols,
		 d->table, k0, k0, k0);
	for (int64_t from = lo; from <= hi && rc == 0; from += width) {
		struct store_param ps[] = {store_int64(from), store_int64(from + width)};
		struct tlog_hash h;
		int64_t key[2];

		if ((rc = store_exec(a->c, sql, ps, 2, &r, NULL)) < 0)
			break;
		for (size_t i = 0; i < store_res_nrows(r) && rc == 0; i++) {
			if ((rc = rec_row_res(t, r, i, &h, key)) < 0)
				break;
			if (!d->set) {
				struct rec_ref now = {.t = t, .key = {key[0], key[1]}, .h = h};

				compare(a, &now, out);
				continue;
			}
			if (in_set && key[0] != cur.key[0]) {
				rec_set_hash(t, &set, &cur.h, &cur.count);
				compare(a, &cur, out);
				set.n = 0;
			}
			cur.key[0] = key[0];
			in_set = true;
			rc = rec_set_add(&set, &h);
		}
		store_res_free(r);
		r = NULL;
	}
	if (rc == 0 && in_set) {
		rec_set_hash(t, &set, &cur.h, &cur.count);
		compare(a, &cur, out);
	}
	rec_set_free(&set);
	return rc;
}

int audit_rows_check(struct audit *a, struct audit_walk *out)
{
	struct audit_rows *m = a->rows;
	struct store_res *r = NULL;
	int rc;

	for (int t = 0; t < REC_TABLES; t++)
		if ((rc = check_table(a, (enum rec_table)t, out)) < 0)
			return rc;
	/* Alerts outside any batch: nothing in the log can vouch for them. */
	if ((rc = store_exec(a->c, "SELECT COUNT(*) FROM alerts WHERE batch_id IS NULL", NULL, 0, &r,
			     NULL)) < 0)
		return rc;
	if (store_res_int64(r, 0, 0) > 0)
		audit_finding(a, "%" PRId64 " alerts belong to no batch, so no entry in the log "
				 "vouches for them (stored before schema v10, or behind the tower's back)",
			      store_res_int64(r, 0, 0));
	store_res_free(r);
	/* TAXII collections and access rules without a number: the log keys
	 * them by it, so none of its entries can vouch for them. */
	if ((rc = store_exec(a->c,
			     "SELECT (SELECT COUNT(*) FROM taxii_collections WHERE num IS NULL), "
			     "(SELECT COUNT(*) FROM taxii_access WHERE collection_num IS NULL)",
			     NULL, 0, &r, NULL)) < 0)
		return rc;
	if (store_res_int64(r, 0, 0) > 0)
		audit_finding(a, "%" PRId64 " TAXII collections have no number, so no entry in the "
				 "log vouches for them (not yet taken into the log by the start of a "
				 "tower of schema v18 or later, or added behind the tower's back)",
			      store_res_int64(r, 0, 0));
	if (store_res_int64(r, 0, 1) > 0)
		audit_finding(a, "%" PRId64 " TAXII access rules have no collection number, so no "
				 "entry in the log vouches for them (not yet taken into the log by the "
				 "start of a tower of schema v18 or later, or added behind the tower's "
				 "back)",
			      store_res_int64(r, 0, 1));
	store_res_free(r);
	/* What the log names that the store no longer has. An asset without
	 * address ranges named an empty set: nothing to find. */
	for (size_t i = 0; m != NULL && i < m->cap; i++) {
		const struct named *s = &m->slot[i];
		struct rec_ref ref = {.t = s->t, .key = {s->key[0], s->key[1]}, .count = s->count};
		char k[160], w[64];

		if (!s->used || s->seen || (rec_defs[s->t].set && s->count == 0) ||
		    erased_at(m, s->t, s->key[0]) != NULL)
			continue;
		key_text(&ref, k, sizeof(k));
		audit_finding(a, "%s names %s %s, which the store no longer has", who(s, w, sizeof(w)),
			      rec_defs[s->t].set ? "rows" : "row", k);
	}
	return 0;
}

void audit_rows_free(struct audit *a)
{
	if (a->rows != NULL) {
		free(a->rows->slot);
		for (int t = 0; t < REC_TABLES; t++)
			free(a->rows->er[t]);
	}
	free(a->rows);
	a->rows = NULL;
}
