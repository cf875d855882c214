/* logseq.c - the log's sequencer: gives each committed entry its place in
 * the Merkle tree, in commit order, stores the tree's hashes, and signs
 * checkpoints.
 *
 * Entries get a seq when they are inserted, with their change; seqs are
 * handed out before commit, so a pass that sees a gap waits until every
 * transaction that could still fill it has ended (store_txmark), as the
 * source summary does. A pass is one transaction that first moves the
 * integrated seq from where it read it: two towers on one PostgreSQL cannot
 * both place the same entries, and the loser reloads. The tree's right edge
 * is kept in memory (tlog_edge), so placing an entry reads nothing; the
 * stored hashes it completes are written, and proofs and tiles read them
 * (O(log n) per proof). */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/jbuf.h"
#include "base/log.h"
#include "tlog/tlog.h"
#include "tower/tower_int.h"

#define PASS_MAX 4096 /* entries placed in one pass */
/* Stragglers: an entry whose seq a pass skipped as a gap that would never
 * fill (its mark settled) but whose transaction committed after all (a
 * writer descheduled between taking its seq and its transaction id, on a
 * loaded machine). The seqs skipped are remembered for SKIP_KEEP_S, and
 * each pass places any of them that has appeared since: late, never
 * lost. */
#define SKIP_MAX    64
#define SKIP_KEEP_S 600.0

struct towerlog {
	struct store *st;
	struct tlog_signer key;
	struct tlog_verifier vkey;
	char vkey_text[TLOG_KEY_TEXT_MAX];
	unsigned interval_s; /* between checkpoints while the log grows */

	pthread_t thread;
	bool threaded; /* tw_log_start(); tw_log_open() runs none */
	pthread_mutex_t mu; /* stop, cv */
	pthread_cond_t cv;
	int stop;

	pthread_mutex_t pass_mu; /* one pass at a time; guards what follows */
	struct tlog_edge edge;
	int edge_ok;
	int gap;		   /* a gap waits for its mark */
	int64_t gap_seq;	   /* the last seq placed before it */
	int64_t gap_upto;	   /* the last seq read when it was seen */
	struct store_txmark mark;
	double checkpoint_at;	   /* yg_mono_s() of the last checkpoint signed */
	struct {
		int64_t from, to;  /* seqs a pass went past */
		double at;	   /* yg_mono_s() then */
	} skip[SKIP_MAX];
	size_t nskip;
	uint64_t checkpoint_size;
};

/* ---- stored hashes through the store ----------------------------------- */

int tower_log_hashes(void *arg, const uint64_t *idx, size_t n, struct tlog_hash *out)
{
	struct store_conn *c = arg;
	struct store_param ps[TLOG_READ_MAX];
	char sql[64 + 3 * TLOG_READ_MAX];
	struct store_res *r = NULL;
	size_t at, found = 0;
	int rc;

	if (n == 0)
		return 0;
	if (n > TLOG_READ_MAX)
		return YG_EINVAL;
	at = (size_t)snprintf(sql, sizeof(sql), "SELECT idx, hash FROM log_hashes WHERE idx IN (?");
	for (size_t i = 1; i < n; i++, at += 3)
		memcpy(sql + at, ", ?", 3);
	memcpy(sql + at, ")", 2);
	for (size_t i = 0; i < n; i++)
		ps[i] = store_int64((int64_t)idx[i]);
	if ((rc = store_exec(c, sql, ps, n, &r, NULL)) < 0)
		return rc;
	size_t ci = store_res_col(r, "idx"), ch = store_res_col(r, "hash");
	for (size_t row = 0; row < store_res_nrows(r); row++) {
		int64_t got = store_res_int64(r, row, ci);
		size_t len = 0;
		const void *h = store_res_blob(r, row, ch, &len);

		for (size_t i = 0; i < n; i++)
			if (idx[i] == (uint64_t)got && h != NULL && len == TLOG_HASH_LEN) {
				memcpy(out[i].b, h, TLOG_HASH_LEN);
				found++;
			}
	}
	store_res_free(r);
	return found == n ? 0 : YG_ENOTFOUND;
}

int tw_log_reader(struct store_conn *c, struct tlog_reader *r)
{
	r->read = tower_log_hashes;
	r->arg = c;
	return 0;
}

static int state_read(struct store_conn *c, int64_t *seq, int64_t *size)
{
	struct store_res *r = NULL;
	int rc = store_exec(c, "SELECT name, value FROM log_state", NULL, 0, &r, NULL);

	if (rc < 0)
		return rc;
	*seq = *size = 0;
	for (size_t i = 0; i < store_res_nrows(r); i++) {
		const char *name = store_res_text(r, i, store_res_col(r, "name"));
		int64_t v = store_res_int64(r, i, store_res_col(r, "value"));

		if (strcmp(name, "seq") == 0)
			*seq = v;
		else if (strcmp(name, "size") == 0)
			*size = v;
	}
	store_res_free(r);
	return 0;
}

int tw_log_size(struct store_conn *c, uint64_t *size)
{
	int64_t seq, sz;
	int rc = state_read(c, &seq, &sz);

	*size = (uint64_t)sz;
	return rc;
}

/* ---- a pass ------------------------------------------------------------ */

/* Places the entries committed since the last pass; *placed gets how many.
 * Called with pass_mu held. */
static int place(struct towerlog *lg, struct store_conn *c, size_t *placed)
{
	struct store_res *r = NULL, *late = NULL;
	struct store_param *hashes = NULL, *leaves = NULL;
	struct tlog_hash (*hv)[TLOG_MAX_STORED] = NULL;
	struct tlog_reader rd;
	int64_t seq, size, changed = 0;
	size_t n, nh = 0, i, keep = lg->nskip; /* skips kept, when the pass places nothing */
	int rc;

	*placed = 0;
	tw_log_reader(c, &rd);
	if ((rc = store_begin(c)) < 0)
		return rc;
	if ((rc = state_read(c, &seq, &size)) < 0)
		goto out;
	if (!lg->edge_ok || lg->edge.size != (uint64_t)size) {
		if ((rc = tlog_edge_load(&lg->edge, (uint64_t)size, &rd)) < 0) {
			log_warnx("tower: log: cannot read the tree's edge at size %lld: %s",
				  (long long)size, yg_strerror(rc));
			goto out;
		}
		lg->edge_ok = 1;
	}
	/* The seqs skipped lately: forget the old, look for the late. */
	keep = 0;
	int64_t lo = INT64_MAX, hi = 0;
	for (i = 0; i < lg->nskip; i++)
		if (yg_mono_s() - lg->skip[i].at < SKIP_KEEP_S) {
			lg->skip[keep++] = lg->skip[i];
			lo = lg->skip[i].from < lo ? lg->skip[i].from : lo;
			hi = lg->skip[i].to > hi ? lg->skip[i].to : hi;
		}
	lg->nskip = keep;
	/* Only below what is placed: a skip is kept when its pass commits
	 * (out:), so none lies above; a late one is below by definition. */
	if (hi > seq)
		hi = seq;
	struct store_param pl[] = {store_int64(lo), store_int64(hi), store_int64(PASS_MAX)};
	if (keep > 0 &&
	    (rc = store_exec(c,
			     "SELECT seq, entry FROM log_entries e WHERE seq >= ? AND seq <= ? AND NOT "
			     "EXISTS (SELECT 1 FROM log_leaves l WHERE l.seq = e.seq) ORDER BY seq "
			     "LIMIT ?",
			     pl, 3, &late, NULL)) < 0)
		goto out;
	size_t nlate = late != NULL ? store_res_nrows(late) : 0;
	struct store_param pq[] = {store_int64(seq), store_int64(PASS_MAX)};
	if ((rc = store_exec(c, "SELECT seq, entry FROM log_entries WHERE seq > ? ORDER BY seq LIMIT ?",
			     pq, 2, &r, NULL)) < 0)
		goto out;
	size_t cs = store_res_col(r, "seq"), ce = store_res_col(r, "entry");
	n = store_res_nrows(r);
	/* Up to the first gap, unless its mark has settled. The mark was
	 * taken after the pass that saw the gap had read up to gap_upto, so
	 * once it settles, every transaction that took a seq up to there has
	 * ended, and every gap up to there is passed over at once: a burst of
	 * rolled-back writes costs one wait, not one per gap (the allocation
	 * sweep on PostgreSQL left some 500 gaps, placed at one a second). */
	int64_t expect = seq + 1;
	int settled = -1; /* asked once a pass */
	for (i = 0; i < n; i++) {
		int64_t s = store_res_int64(r, i, cs);

		if (s != expect) {
			if (!(lg->gap && expect > lg->gap_seq && expect <= lg->gap_upto))
				break;
			if (settled < 0)
				settled = store_txmark_settled(c, &lg->mark) == 1;
			if (!settled)
				break;
			if (lg->nskip < SKIP_MAX) { /* passed over: watched for a while */
				lg->skip[lg->nskip].from = expect;
				lg->skip[lg->nskip].to = s - 1;
				lg->skip[lg->nskip].at = yg_mono_s();
				lg->nskip++;
			}
		}
		expect = s + 1;
	}
	if (i < n && !(lg->gap && lg->gap_seq == expect - 1)) {
		lg->gap = 1; /* marked after this transaction: see tw_log_pass */
		lg->gap_seq = expect - 1;
		lg->gap_upto = store_res_int64(r, n - 1, cs);
		lg->mark.tx = -1;
	}
	n = i;
	if (n == 0 && nlate == 0)
		goto out;
	size_t all = nlate + n;
	hv = yg_malloc(all * sizeof(*hv));
	hashes = yg_malloc(all * TLOG_MAX_STORED * 2 * sizeof(*hashes));
	leaves = yg_malloc(all * 2 * sizeof(*leaves));
	if (hv == NULL || hashes == NULL || leaves == NULL) {
		rc = YG_ENOMEM;
		goto out;
	}
	if (nlate > 0)
		log_warnx("tower: log: %zu entries committed after their seqs were passed over (the "
			  "first: seq %lld); placed now",
			  nlate, (long long)store_res_int64(late, 0, 0));
	/* The stragglers first: they committed before what follows was read. */
	struct tlog_edge edge = lg->edge;
	for (i = 0; i < all; i++) {
		const struct store_res *src = i < nlate ? late : r;
		size_t row = i < nlate ? i : i - nlate, len = 0, k;
		const void *e = store_res_blob(src, row, i < nlate ? 1 : ce, &len);
		struct tlog_hash leaf;
		uint64_t first = tlog_stored_index(0, edge.size);

		tlog_leaf_hash(e, len, &leaf);
		leaves[i * 2] = store_int64((int64_t)edge.size);
		leaves[i * 2 + 1] = store_int64(store_res_int64(src, row, i < nlate ? 0 : cs));
		if ((rc = tlog_edge_append(&edge, &leaf, hv[i], &k)) < 0)
			goto out;
		for (size_t j = 0; j < k; j++) {
			hashes[nh * 2] = store_int64((int64_t)(first + j));
			hashes[nh * 2 + 1] = store_blob(hv[i][j].b, TLOG_HASH_LEN);
			nh++;
		}
	}
	int64_t last = n > 0 ? store_res_int64(r, n - 1, cs) : seq;
	struct store_param pm[] = {store_int64(last), store_int64(seq)};
	struct store_param pz[] = {store_int64((int64_t)edge.size), store_int64(size)};
	int64_t grown = 0;
	if ((rc = store_exec(c, "UPDATE log_state SET value = ? WHERE name = 'seq' AND value = ?", pm,
			     2, NULL, &changed)) < 0 ||
	    (rc = store_exec(c, "UPDATE log_state SET value = ? WHERE name = 'size' AND value = ?",
			     pz, 2, NULL, &grown)) < 0)
		goto out;
	if (changed != 1 || grown != 1) { /* another tower placed them: start again from the store */
		lg->edge_ok = 0;
		rc = YG_ECONFLICT;
		goto out;
	}
	if ((rc = store_exec_batch(c, "INSERT INTO log_hashes (idx, hash) VALUES (?, ?)", 2, hashes,
				   nh, NULL)) < 0 ||
	    (rc = store_exec_batch(c, "INSERT INTO log_leaves (idx, seq) VALUES (?, ?)", 2, leaves,
				   all, NULL)) < 0)
		goto out;
	if ((rc = store_commit(c)) == 0) {
		lg->edge = edge;
		*placed = all;
		if (lg->gap && last > lg->gap_seq)
			lg->gap = 0;
	}
out:
	if (rc < 0) {
		store_rollback(c);
		lg->edge_ok = 0;
	} else if (*placed == 0) {
		store_rollback(c); /* read only */
	}
	if (*placed == 0) /* the gaps this pass went past are still gaps */
		lg->nskip = keep;
	store_res_free(r);
	store_res_free(late);
	free(hv);
	free(hashes);
	free(leaves);
	return rc;
}

/* Signs a checkpoint of the tree as the edge has it, and stores it. */
static int sign(struct towerlog *lg, struct store_conn *c)
{
	struct tlog_checkpoint cp = {.origin = lg->key.name, .origin_len = lg->key.name_len,
				     .size = lg->edge.size};
	struct jbuf text, note;
	int rc;

	tlog_edge_root(&lg->edge, &cp.root);
	if ((rc = jbuf_init(&text, 256, 4096)) < 0)
		return rc;
	if ((rc = jbuf_init(&note, 512, 8192)) < 0) {
		jbuf_fini(&text);
		return rc;
	}
	if ((rc = tlog_checkpoint_format(&cp, &text)) == 0 &&
	    (rc = tlog_note_sign(text.buf, text.len, &lg->key, 0, &note)) == 0) {
		struct store_param ps[] = {store_int64((int64_t)cp.size),
					   store_blob(cp.root.b, TLOG_HASH_LEN),
					   store_textn(note.buf, note.len), store_int64(tw_now_us())};
		rc = store_exec(c,
				"INSERT INTO log_checkpoints (size, root, note, created) "
				"VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
				ps, 4, NULL, NULL);
	}
	if (rc == 0) {
		lg->checkpoint_at = yg_mono_s();
		lg->checkpoint_size = cp.size;
	}
	jbuf_fini(&text);
	jbuf_fini(&note);
	return rc;
}

int tw_log_pass(struct tower *t, bool checkpoint)
{
	struct towerlog *lg = t->log;
	struct store_conn *c;
	size_t placed;
	int rc;

	if (lg == NULL)
		return YG_EINVAL;
	if ((rc = store_conn_get(lg->st, &c)) < 0)
		return rc;
	pthread_mutex_lock(&lg->pass_mu);
	do {
		rc = place(lg, c, &placed);
	} while (rc == 0 && placed >= PASS_MAX);
	if (rc == YG_ECONFLICT)
		rc = 0; /* another tower's pass: ours comes next time */
	if (rc == 0 && lg->gap && lg->mark.tx == -1 && (rc = store_txmark_take(c, &lg->mark)) < 0)
		lg->gap = 0;
	if (rc == 0 && lg->edge_ok &&
	    (lg->checkpoint_size != lg->edge.size || lg->checkpoint_at == 0) &&
	    (checkpoint || lg->checkpoint_at == 0 ||
	     yg_mono_s() - lg->checkpoint_at >= lg->interval_s))
		rc = sign(lg, c);
	pthread_mutex_unlock(&lg->pass_mu);
	if (rc < 0)
		log_warnx("tower: log: pass failed: %s", store_conn_errmsg(c));
	store_conn_put(c);
	return rc;
}

static int log_job(void *arg)
{
	return tw_log_pass(arg, false);
}

static void *log_main(void *arg)
{
	struct tower *t = arg;
	struct towerlog *lg = t->log;

	pthread_mutex_lock(&lg->mu);
	while (!lg->stop) {
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 200 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!lg->stop && pthread_cond_timedwait(&lg->cv, &lg->mu, &until) == 0)
			;
		if (lg->stop)
			break;
		pthread_mutex_unlock(&lg->mu);
		/* Logged; the next interval tries again. Another tower's turn
		 * when it holds the job (jobs.c). */
		(void)tw_job_run(t, TW_JOB_LOG, NULL, 0, log_job, t, NULL);
		pthread_mutex_lock(&lg->mu);
	}
	pthread_mutex_unlock(&lg->mu);
	return NULL;
}

static int log_open(struct tower *t, bool thread, char *err, size_t errlen)
{
	struct towerlog *lg = yg_calloc(1, sizeof(*lg));
	char path[1024];
	pthread_condattr_t ca;
	int rc;

	if (lg == NULL)
		return YG_ENOMEM;
	lg->st = t->st;
	lg->interval_s = t->cfg.log_checkpoint_s ? t->cfg.log_checkpoint_s : 10;
	tw_log_key_path(t->cfg.store, t->cfg.log_key, path, sizeof(path));
	if ((rc = tw_log_key_load(path, t->cfg.log_origin, 1, &lg->key, err, errlen)) < 0) {
		free(lg);
		return rc;
	}
	tlog_signer_verifier(&lg->key, &lg->vkey);
	if ((rc = tlog_vkey_format(&lg->vkey, lg->vkey_text, sizeof(lg->vkey_text))) < 0) {
		tlog_signer_wipe(&lg->key);
		free(lg);
		return rc;
	}
	pthread_mutex_init(&lg->mu, NULL);
	pthread_mutex_init(&lg->pass_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lg->cv, &ca);
	pthread_condattr_destroy(&ca);
	t->log = lg;
	(void)tw_log_pass(t, true); /* a checkpoint to serve from the start */
	if (!thread)
		return 0;
	if (pthread_create(&lg->thread, NULL, log_main, t) != 0) {
		t->log = NULL;
		pthread_cond_destroy(&lg->cv);
		pthread_mutex_destroy(&lg->mu);
		pthread_mutex_destroy(&lg->pass_mu);
		tlog_signer_wipe(&lg->key);
		free(lg);
		return YG_ENOMEM;
	}
	lg->threaded = true;
	return 0;
}

int tw_log_start(struct tower *t, char *err, size_t errlen)
{
	return log_open(t, true, err, errlen);
}

int tw_log_open(struct tower *t, char *err, size_t errlen)
{
	return log_open(t, false, err, errlen);
}

void tw_log_stop(struct tower *t)
{
	struct towerlog *lg = t->log;

	if (lg == NULL)
		return;
	if (lg->threaded) {
		pthread_mutex_lock(&lg->mu);
		lg->stop = 1;
		pthread_cond_signal(&lg->cv);
		pthread_mutex_unlock(&lg->mu);
		pthread_join(lg->thread, NULL);
	}
	pthread_cond_destroy(&lg->cv);
	pthread_mutex_destroy(&lg->mu);
	pthread_mutex_destroy(&lg->pass_mu);
	tlog_signer_wipe(&lg->key);
	free(lg);
	t->log = NULL;
}

const char *tw_log_vkey(const struct tower *t)
{
	return t->log != NULL ? t->log->vkey_text : NULL;
}
