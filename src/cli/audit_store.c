/* audit_store.c - `yagura audit verify --store`: the log as the store
 * holds it (schema v9: log_entries, log_leaves, log_hashes in Go's
 * sumdb/tlog stored-hash numbering, log_checkpoints, log_state), checked
 * against a checkpoint signed by the log's key.
 *
 * The walk rebuilds the tree from the entries alone with the tlog core,
 * a page of leaves at a time in leaf order, keeping only the tree's right
 * edge: memory stays flat at any size of log. Nothing is written; the
 * tower may keep appending while it runs: everything is read in one
 * read-only snapshot (a deferred transaction on SQLite, REPEATABLE READ on
 * PostgreSQL), so that a row and its change's entry are seen together. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "cli/audit.h"
#include "cli/cli.h"
#include "store/store.h"
#include "tlog/tlog.h"
#include "tower/tower.h"

#define WALK_PAGE 1024 /* leaves a page */
#define LOG_SCHEMA 9   /* the schema version that brought the log */

int audit_store_open(struct audit *a, const char *url)
{
	struct store_opts o = {.pool_size = 1, .no_migrate = 1};
	struct store_res *r = NULL;
	char err[512];
	int v;

	if (strncmp(url, "postgres://", 11) != 0 && strncmp(url, "postgresql://", 13) != 0) {
		const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
		struct stat sb;

		/* Opening would create an empty database. */
		if (stat(path, &sb) < 0) {
			log_warn("%s: --store %s", AUDIT_WHO, path);
			return EXIT_OUTPUT;
		}
	}
	if (store_open_ex(url, &o, &a->st, err, sizeof(err)) < 0) {
		log_warnx("%s: --store: %s", AUDIT_WHO, err);
		return EXIT_OUTPUT;
	}
	if ((v = store_schema_version(a->st)) < 0 || store_conn_get(a->st, &a->c) < 0) {
		log_warnx("%s: --store %s: cannot read it", AUDIT_WHO, url);
		return EXIT_OUTPUT;
	}
	if (v < LOG_SCHEMA) {
		log_warnx("%s: --store %s: no transparency log in it (schema %d; the log came with %d)",
			  AUDIT_WHO, url, v, LOG_SCHEMA);
		return EXIT_INPUT;
	}
	bool pg = strncmp(url, "postgres", 8) == 0;
	if (store_exec(a->c, pg ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN", NULL,
		       0, NULL, NULL) < 0 ||
	    store_exec(a->c, "SELECT name, value FROM log_state", NULL, 0, &r, NULL) < 0) {
		log_warnx("%s: --store: %s", AUDIT_WHO, store_conn_errmsg(a->c));
		return EXIT_OUTPUT;
	}
	for (size_t i = 0; i < store_res_nrows(r); i++) {
		const char *name = store_res_text(r, i, store_res_col(r, "name"));
		int64_t val = store_res_int64(r, i, store_res_col(r, "value"));

		if (name != NULL && strcmp(name, "seq") == 0)
			a->seq = val;
		else if (name != NULL && strcmp(name, "size") == 0 && val >= 0)
			a->size = (uint64_t)val;
	}
	store_res_free(r);
	return EXIT_OK;
}

void audit_store_close(struct audit *a)
{
	/* Ends the snapshot: it wrote nothing. */
	if (a->c != NULL && store_exec(a->c, "ROLLBACK", NULL, 0, NULL, NULL) < 0)
		log_debug("%s: rollback: %s", AUDIT_WHO, store_conn_errmsg(a->c));
	audit_rows_free(a);
	store_conn_put(a->c);
	store_close(a->st);
	a->c = NULL;
	a->st = NULL;
}

/* ---- stored hashes ------------------------------------------------------ */

static int proof_failed(struct audit *a, int rc)
{
	if (rc == YG_ENOTFOUND) {
		audit_finding(a, "the store cannot give the proof: a stored hash it needs is "
				 "missing (the store's check names it)");
		return EXIT_INPUT;
	}
	if (rc == YG_ENOMEM) {
		log_warnx("%s: out of memory", AUDIT_WHO);
		return EXIT_FATAL;
	}
	log_warnx("%s: --store: %s", AUDIT_WHO, store_conn_errmsg(a->c));
	return EXIT_OUTPUT;
}

int audit_store_consistency(struct audit *a, uint64_t m, uint64_t n, struct tlog_proof *p)
{
	struct tlog_reader r = {tower_log_hashes, a->c};
	int rc;

	if (a->size < n)
		return AUDIT_NO_TREE;
	rc = tlog_prove_consistency(n, m, &r, p);
	return rc < 0 ? proof_failed(a, rc) : EXIT_OK;
}

int audit_store_latest(struct audit *a, char **note, size_t *len)
{
	struct store_res *r = NULL;
	const char *t;

	if (store_exec(a->c, "SELECT note FROM log_checkpoints ORDER BY size DESC LIMIT 1", NULL, 0,
		       &r, NULL) < 0) {
		log_warnx("%s: --store: %s", AUDIT_WHO, store_conn_errmsg(a->c));
		return EXIT_OUTPUT;
	}
	if (store_res_nrows(r) != 1 || (t = store_res_text(r, 0, 0)) == NULL) {
		store_res_free(r);
		log_warnx("%s: the store holds no checkpoint: give one with --checkpoint", AUDIT_WHO);
		return EXIT_INPUT;
	}
	*len = strlen(t);
	*note = malloc(*len + 1);
	if (*note != NULL)
		memcpy(*note, t, *len + 1);
	store_res_free(r);
	return *note != NULL ? EXIT_OK : EXIT_FATAL;
}

/* The entry at leaf index: 1 with *entry (caller frees), *len, *seq; 0
 * when the store has no such leaf (*seq -1) or the leaf no entry (*seq
 * set); a negative yg_err when the store fails. */
static int store_entry(struct audit *a, uint64_t index, char **entry, size_t *len, int64_t *seq)
{
	struct store_param ps[] = {store_int64((int64_t)index)};
	struct store_res *r = NULL;
	int rc;

	*entry = NULL;
	*seq = -1;
	rc = store_exec(a->c,
			"SELECT l.seq, e.entry FROM log_leaves l LEFT JOIN log_entries e "
			"ON e.seq = l.seq WHERE l.idx = ?",
			ps, 1, &r, NULL);
	if (rc < 0)
		return rc;
	if (store_res_nrows(r) == 1) {
		size_t ce = store_res_col(r, "entry");
		const void *e = store_res_isnull(r, 0, ce) ? NULL : store_res_blob(r, 0, ce, len);

		*seq = store_res_int64(r, 0, store_res_col(r, "seq"));
		if (e != NULL && (*entry = malloc(*len + 1)) != NULL) {
			memcpy(*entry, e, *len);
			(*entry)[*len] = '\0';
			rc = 1;
		} else if (e != NULL) {
			rc = YG_ENOMEM;
		}
	}
	store_res_free(r);
	return rc;
}

int audit_store_inclusion(struct audit *a, uint64_t index, uint64_t n, char **entry, size_t *len,
			  struct tlog_proof *p)
{
	struct tlog_reader r = {tower_log_hashes, a->c};
	int64_t seq;
	int rc;

	*entry = NULL;
	if (a->size < n)
		return AUDIT_NO_TREE;
	if ((rc = store_entry(a, index, entry, len, &seq)) < 0)
		return proof_failed(a, rc);
	if (rc == 0) {
		if (seq < 0)
			audit_finding(a, "--entry: leaf %llu is missing: the store has no row for it",
				      (unsigned long long)index);
		else
			audit_finding(a, "--entry: leaf %llu has no entry (seq %lld)",
				      (unsigned long long)index, (long long)seq);
		return EXIT_INPUT;
	}
	if ((rc = tlog_prove_inclusion(n, index, &r, p)) < 0) {
		free(*entry);
		*entry = NULL;
		return proof_failed(a, rc);
	}
	return EXIT_OK;
}

/* ---- the walk ----------------------------------------------------------- */

struct walk {
	struct audit *a;
	const struct audit_cp *cp;
	struct tlog_edge edge; /* the tree rebuilt from the entries */
	uint64_t last_bad;     /* the last leaf a finding was about, or NONE */
	uint64_t leaf_diffs;   /* entries that do not hash to their stored leaf, below
				  the checkpoint's size */
	int root_ok;	       /* the entries make the checkpoint's root */
	struct store_res *hr;  /* this page's stored hashes, ascending */
	size_t hi;
};

#define NONE UINT64_MAX

/* The stored hash at index, from this page's rows (asked for in
 * ascending order): 1 and *h, or 0 when the store has none. */
static int page_hash(struct walk *w, uint64_t index, struct tlog_hash *h)
{
	size_t ci = store_res_col(w->hr, "idx"), ch = store_res_col(w->hr, "hash");

	while (w->hi < store_res_nrows(w->hr) &&
	       (uint64_t)store_res_int64(w->hr, w->hi, ci) < index)
		w->hi++;
	if (w->hi < store_res_nrows(w->hr) && (uint64_t)store_res_int64(w->hr, w->hi, ci) == index) {
		size_t len = 0;
		const void *p = store_res_blob(w->hr, w->hi, ch, &len);

		if (p != NULL && len == TLOG_HASH_LEN) {
			memcpy(h->b, p, TLOG_HASH_LEN);
			return 1;
		}
	}
	return 0;
}

static void root_check(struct walk *w)
{
	struct tlog_hash root;
	char got[TLOG_HASH_B64_LEN + 1], want[TLOG_HASH_B64_LEN + 1];

	tlog_edge_root(&w->edge, &root);
	if (memcmp(root.b, w->cp->c.root.b, TLOG_HASH_LEN) == 0) {
		w->root_ok = 1;
		return;
	}
	tlog_hash_to_b64(&root, got);
	tlog_hash_to_b64(&w->cp->c.root, want);
	audit_finding(w->a,
		      "the tree at size %llu is not the checkpoint's: its entries make the root %s, "
		      "%s signs %s",
		      (unsigned long long)w->edge.size, got, w->cp->label, want);
}

/* Leaf n: its row (if any) at row ri of lr, its stored hashes from the
 * page's. */
static int walk_leaf(struct walk *w, uint64_t n, struct store_res *lr, size_t ri, int have_row,
		     struct audit_walk *out)
{
	struct audit *a = w->a;
	struct tlog_hash leaf, stored = {{0}}, hv[TLOG_MAX_STORED];
	uint64_t first = tlog_stored_index(0, n);
	int have_stored = page_hash(w, first, &stored), bad = 0;
	size_t k;
	int rc;

	if (!have_row) {
		audit_finding(a, "leaf %llu is missing: the store has no row for it",
			      (unsigned long long)n);
		bad = !have_stored;
		leaf = stored; /* the entry is unknown: go on with the stored hash (or zeros) */
	} else {
		size_t ce = store_res_col(lr, "entry"), len = 0;
		long long seq = (long long)store_res_int64(lr, ri, store_res_col(lr, "seq"));
		const void *e = store_res_isnull(lr, ri, ce) ? NULL : store_res_blob(lr, ri, ce, &len);

		if (e == NULL) {
			audit_finding(a, "leaf %llu has no entry (seq %lld)", (unsigned long long)n, seq);
			bad = !have_stored;
			leaf = stored;
		} else {
			if (!a->tree_only && (rc = audit_rows_note(a, e, len, n, seq)) < 0)
				return rc;
			tlog_leaf_hash(e, len, &leaf);
			if (have_stored && memcmp(leaf.b, stored.b, TLOG_HASH_LEN) != 0) {
				audit_finding(a, "entry %llu (seq %lld) does not hash to its leaf, "
						 "stored hash %llu",
					      (unsigned long long)n, seq, (unsigned long long)first);
				bad = 1;
				w->leaf_diffs += n < w->cp->c.size;
			}
		}
	}
	if (!have_stored)
		audit_finding(a, "stored hash %llu (leaf %llu) is missing", (unsigned long long)first,
			      (unsigned long long)n);
	if (bad)
		w->last_bad = n;
	if ((rc = tlog_edge_append(&w->edge, &leaf, hv, &k)) < 0)
		return rc;
	/* The subtrees leaf n completes: level j covers leaves
	 * [n >> j << j, n]. Above a broken leaf they differ as a matter of
	 * course: only the leaf is named. */
	for (size_t j = 1; j < k; j++) {
		uint64_t lo = n >> j << j;

		if (!page_hash(w, first + j, &stored))
			audit_finding(a, "stored hash %llu is missing", (unsigned long long)(first + j));
		else if (memcmp(stored.b, hv[j].b, TLOG_HASH_LEN) != 0 &&
			 (w->last_bad == NONE || w->last_bad < lo))
			audit_finding(a, "stored hash %llu differs from the hash of leaves %llu to %llu "
					 "rebuilt from their entries",
				      (unsigned long long)(first + j), (unsigned long long)lo,
				      (unsigned long long)n);
	}
	out->leaves++;
	out->hashes += k;
	if (w->edge.size == w->cp->c.size)
		root_check(w);
	return 0;
}

static int walk_page(struct walk *w, uint64_t from, uint64_t to, struct audit_walk *out)
{
	struct audit *a = w->a;
	struct store_param pl[] = {store_int64((int64_t)from), store_int64((int64_t)to)};
	struct store_param ph[] = {store_int64((int64_t)tlog_stored_index(0, from)),
				   store_int64((int64_t)tlog_stored_index(0, to))};
	struct store_res *lr = NULL;
	size_t ri = 0, ci;
	int rc;

	if ((rc = store_exec(a->c,
			     "SELECT l.idx, l.seq, e.entry FROM log_leaves l LEFT JOIN log_entries e "
			     "ON e.seq = l.seq WHERE l.idx >= ? AND l.idx < ? ORDER BY l.idx",
			     pl, 2, &lr, NULL)) < 0 ||
	    (rc = store_exec(a->c,
			     "SELECT idx, hash FROM log_hashes WHERE idx >= ? AND idx < ? ORDER BY idx",
			     ph, 2, &w->hr, NULL)) < 0)
		goto out;
	w->hi = 0;
	ci = store_res_col(lr, "idx");
	for (uint64_t n = from; n < to && rc == 0; n++) {
		int have = ri < store_res_nrows(lr) && (uint64_t)store_res_int64(lr, ri, ci) == n;

		rc = walk_leaf(w, n, lr, ri, have, out);
		ri += have;
	}
out:
	store_res_free(lr);
	store_res_free(w->hr);
	w->hr = NULL;
	return rc;
}

/* What lies beyond the placed tree, read in one statement so that the
 * tower appending meanwhile is seen whole or not at all. */
static int walk_beyond(struct audit *a)
{
	struct store_res *r = NULL;
	int rc = store_exec(a->c,
			    "SELECT (SELECT value FROM log_state WHERE name = 'size') AS size, "
			    "(SELECT MAX(idx) FROM log_leaves) AS leaf, "
			    "(SELECT MAX(idx) FROM log_hashes) AS hash",
			    NULL, 0, &r, NULL);

	if (rc < 0)
		return rc;
	if (store_res_nrows(r) == 1) {
		int64_t size = store_res_int64(r, 0, store_res_col(r, "size"));
		size_t cl = store_res_col(r, "leaf"), ch = store_res_col(r, "hash");

		if (!store_res_isnull(r, 0, cl) && store_res_int64(r, 0, cl) >= size)
			audit_finding(a, "leaf %lld lies beyond the log's size %lld",
				      (long long)store_res_int64(r, 0, cl), (long long)size);
		if (!store_res_isnull(r, 0, ch) && size >= 0 &&
		    (uint64_t)store_res_int64(r, 0, ch) >= tlog_stored_count((uint64_t)size))
			audit_finding(a, "stored hash %lld lies beyond the tree of size %lld",
				      (long long)store_res_int64(r, 0, ch), (long long)size);
	}
	store_res_free(r);
	return 0;
}

/* Every entry the sequencer has passed has its leaf; those it has not
 * reached yet name rows too. */
static int walk_unplaced(struct audit *a)
{
	struct store_res *r = NULL;
	int rc = store_exec(a->c,
			    "SELECT e.seq, e.entry FROM log_entries e WHERE NOT EXISTS "
			    "(SELECT 1 FROM log_leaves l WHERE l.seq = e.seq) ORDER BY e.seq",
			    NULL, 0, &r, NULL);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < store_res_nrows(r) && rc == 0; i++) {
		int64_t seq = store_res_int64(r, i, 0);
		size_t len = 0;
		const char *e = store_res_blob(r, i, 1, &len);

		if (seq <= a->seq)
			audit_finding(a, "entry seq %lld has no leaf, though the log is placed up to "
					 "seq %lld",
				      (long long)seq, (long long)a->seq);
		if (e != NULL && !a->tree_only)
			rc = audit_rows_note(a, e, len, UINT64_MAX, seq);
	}
	store_res_free(r);
	return rc;
}

int audit_store_walk(struct audit *a, const struct audit_cp *cp, struct audit_walk *out)
{
	struct walk w = {.a = a, .cp = cp, .last_bad = NONE};
	int rc = 0;

	memset(out, 0, sizeof(*out));
	tlog_edge_init(&w.edge);
	if (cp->c.size == 0)
		root_check(&w);
	for (uint64_t from = 0; from < a->size && rc == 0; from += WALK_PAGE)
		rc = walk_page(&w, from, a->size - from < WALK_PAGE ? a->size : from + WALK_PAGE, out);
	if (rc == 0 && a->size < cp->c.size)
		audit_finding(a, "the tree at size %llu is not the checkpoint's: the store holds only "
				 "%llu leaves",
			      (unsigned long long)cp->c.size, (unsigned long long)a->size);
	/* The entries make the signed tree: what differs is the stored hash. */
	if (rc == 0 && w.root_ok && w.leaf_diffs > 0)
		log_warnx("%s: the entries make the tree %s signs: the stored leaf hashes named "
			  "above were changed, not the entries",
			  AUDIT_WHO, cp->label);
	if (rc == 0)
		rc = walk_beyond(a);
	if (rc == 0)
		rc = walk_unplaced(a);
	if (rc == 0 && !a->tree_only)
		rc = audit_rows_check(a, out);
	if (rc == YG_ENOMEM) {
		log_warnx("%s: out of memory", AUDIT_WHO);
		return EXIT_FATAL;
	}
	if (rc < 0) {
		log_warnx("%s: --store: %s", AUDIT_WHO, store_conn_errmsg(a->c));
		return EXIT_OUTPUT;
	}
	return EXIT_OK;
}
