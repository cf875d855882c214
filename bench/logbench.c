/* logbench.c - benchmark of the transparency log (issue 12) through the
 * tower's own store path; bench/log runs it on SQLite and PostgreSQL.
 *
 * On a fresh store it appends LEAVES entries with tw_log_append(), the
 * function every change's transaction calls, BATCH entries to a durable
 * transaction, and has the sequencer's own code (logseq.c) place them:
 *
 *   1. append: the first half, with no sequencer running: entries/s;
 *   2. place: tw_log_pass() over that backlog, on this thread: leaves/s;
 *   3. end to end: the second half appended while the sequencer runs in
 *      its own thread, every 200 ms as in a tower (tw_log_start), timed
 *      from the first append until the last leaf is placed: leaves/s.
 *
 * Then, for tree sizes 1, 100,000 and 10,000,000 (those the log reaches,
 * and its full size), the median time of RUNS inclusion proofs (a random
 * leaf) and RUNS consistency proofs (from a random smaller size), read
 * from the store through tower_log_hashes() as the API's proofs are, and
 * their size. Every proof is checked with tlog_check_*() against roots
 * recomputed from the stored hashes, and the full tree's root against the
 * checkpoint the sequencer signed from its in-memory edge; one that fails
 * fails the run (exit 1).
 *
 * Usage: logbench [-n LEAVES] [-b BATCH] [-r RUNS] -k KEYFILE STORE_URL
 * The store must hold no log entries yet. Prints one "name value" line per
 * figure (bench/log makes the table) and the verifier key. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/clock.h"
#include "store/store.h"
#include "tlog/tlog.h"
#include "tower/tower_int.h"

#define RECORD_LEN 600 /* about an alert batch's stored record */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(uint64_t below)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % below;
}

static void die(const char *what, int rc, struct store_conn *c)
{
	fprintf(stderr, "logbench: %s: %s%s%s\n", what, yg_strerror(rc), c ? ": " : "",
		c ? store_conn_errmsg(c) : "");
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Appends entries [from, to) in transactions of batch, as a sensor's
 * alert batches would be: one entry each, by a sensor's token. */
static void append(struct store *st, uint64_t from, uint64_t to, unsigned batch)
{
	static const struct principal sensor = {.user_id = 4, .token_id = 4, .role = ROLE_SENSOR};
	char record[RECORD_LEN + 1];
	struct rec_ref rows[2] = {{.t = REC_ALERT_BATCHES}, {.t = REC_ALERTS, .count = 100}};
	struct store_conn *c;
	int rc;

	memset(record, 'a', RECORD_LEN);
	record[RECORD_LEN] = '\0';
	if ((rc = store_conn_get(st, &c)) < 0)
		die("connect", rc, NULL);
	for (uint64_t i = from; i < to;) {
		int64_t now = tw_now_us();

		if ((rc = store_begin(c)) < 0)
			die("begin", rc, c);
		for (unsigned j = 0; j < batch && i < to; j++, i++) {
			/* an alert batch's entry, as the tower writes it: the
			 * batch's row and its set of alerts, each a different
			 * hash. The rows are not stored: audit verify, run
			 * on this store afterwards, is told to check the tree
			 * alone (--no-rows). */
			snprintf(record, 21, "%020llu", (unsigned long long)i);
			record[20] = 'a';
			for (size_t k = 0; k < 2; k++) {
				record[21] = (char)('0' + k);
				crypto_hash_sha256(rows[k].h.b, (const unsigned char *)record,
						   RECORD_LEN);
				rows[k].key[0] = (int64_t)i + 1;
			}
			if ((rc = tw_log_append(c, &sensor, now, CHANGE_ALERT_BATCH, (int64_t)i + 1, 0,
						rows, 2)) < 0)
				die("append", rc, c);
		}
		if ((rc = store_commit(c)) < 0)
			die("commit", rc, c);
	}
	store_conn_put(c);
}

static uint64_t log_size(struct store *st)
{
	struct store_conn *c;
	uint64_t size = 0;
	int rc;

	if ((rc = store_conn_get(st, &c)) < 0 || (rc = tw_log_size(c, &size)) < 0)
		die("log size", rc, NULL);
	store_conn_put(c);
	return size;
}

/* The leaf hash of the entry at index, from the store. */
static void leaf_at(struct store_conn *c, uint64_t index, struct tlog_hash *leaf)
{
	struct store_param ps[] = {store_int64((int64_t)index)};
	struct store_res *r = NULL;
	size_t len = 0;
	int rc;

	rc = store_exec(c,
			"SELECT e.entry FROM log_leaves l JOIN log_entries e ON e.seq = l.seq "
			"WHERE l.idx = ?",
			ps, 1, &r, NULL);
	if (rc < 0 || store_res_nrows(r) != 1)
		die("the entry of a leaf", rc < 0 ? rc : YG_ENOTFOUND, c);
	const void *e = store_res_blob(r, 0, store_res_col(r, "entry"), &len);
	tlog_leaf_hash(e, len, leaf);
	store_res_free(r);
}

/* The full tree's root as the sequencer signed it from its edge. */
static void signed_root(struct store_conn *c, uint64_t size, struct tlog_hash *root)
{
	struct store_param ps[] = {store_int64((int64_t)size)};
	struct store_res *r = NULL;
	size_t len = 0;
	int rc = store_exec(c, "SELECT root FROM log_checkpoints WHERE size = ?", ps, 1, &r, NULL);

	if (rc < 0 || store_res_nrows(r) != 1)
		die("the checkpoint of the full tree", rc < 0 ? rc : YG_ENOTFOUND, c);
	const void *h = store_res_blob(r, 0, store_res_col(r, "root"), &len);
	if (len != TLOG_HASH_LEN)
		die("the checkpoint's root", YG_EFORMAT, NULL);
	memcpy(root->b, h, TLOG_HASH_LEN);
	store_res_free(r);
}

/* Times runs proofs of each kind in the tree of size n and checks each. */
static void proofs(struct store_conn *c, uint64_t n, unsigned runs)
{
	double *ti = calloc(runs, sizeof(double)), *tc = calloc(runs, sizeof(double));
	size_t *li = calloc(runs, sizeof(size_t)), *lc = calloc(runs, sizeof(size_t));
	struct tlog_reader rd;
	struct tlog_hash root, old, leaf;
	struct tlog_proof p;
	int rc;

	if (ti == NULL || tc == NULL || li == NULL || lc == NULL)
		die("proofs", YG_ENOMEM, NULL);
	tw_log_reader(c, &rd);
	if ((rc = tlog_tree_hash(n, &rd, &root)) < 0)
		die("tree hash", rc, c);
	for (unsigned k = 0; k < runs; k++) {
		uint64_t i = rnd(n), m = n > 1 ? 1 + rnd(n - 1) : 1;
		double t0;

		leaf_at(c, i, &leaf);
		t0 = yg_mono_s();
		rc = tlog_prove_inclusion(n, i, &rd, &p);
		ti[k] = yg_mono_s() - t0;
		if (rc < 0)
			die("inclusion proof", rc, c);
		if ((rc = tlog_check_inclusion(&p, n, &root, i, &leaf)) < 0) {
			fprintf(stderr, "logbench: the inclusion proof of leaf %llu in %llu fails\n",
				(unsigned long long)i, (unsigned long long)n);
			exit(1);
		}
		li[k] = p.len;

		if ((rc = tlog_tree_hash(m, &rd, &old)) < 0)
			die("tree hash", rc, c);
		t0 = yg_mono_s();
		rc = tlog_prove_consistency(n, m, &rd, &p);
		tc[k] = yg_mono_s() - t0;
		if (rc < 0)
			die("consistency proof", rc, c);
		if ((rc = tlog_check_consistency(&p, n, &root, m, &old)) < 0) {
			fprintf(stderr, "logbench: the consistency proof from %llu to %llu fails\n",
				(unsigned long long)m, (unsigned long long)n);
			exit(1);
		}
		lc[k] = p.len;
	}
	qsort(ti, runs, sizeof(double), cmp_double);
	qsort(tc, runs, sizeof(double), cmp_double);
	qsort(li, runs, sizeof(size_t), cmp_size);
	qsort(lc, runs, sizeof(size_t), cmp_size);
	printf("proof %llu inclusion %.1f us %zu bytes %zu max %u checked\n",
	       (unsigned long long)n, ti[runs / 2] * 1e6, li[runs / 2] * TLOG_HASH_LEN,
	       li[runs - 1] * TLOG_HASH_LEN, runs);
	printf("proof %llu consistency %.1f us %zu bytes %zu max %u checked\n",
	       (unsigned long long)n, tc[runs / 2] * 1e6, lc[runs / 2] * TLOG_HASH_LEN,
	       lc[runs - 1] * TLOG_HASH_LEN, runs);
	free(ti);
	free(tc);
	free(li);
	free(lc);
}

int main(int argc, char **argv)
{
	static const struct store_opts opts = {.pool_size = 4};
	unsigned long long leaves = 10000000;
	unsigned batch = 512, runs = 1001;
	const char *key = NULL;
	struct tower t;
	struct store_conn *c;
	char err[256];
	double t0, t1;
	int opt, rc;

	while ((opt = getopt(argc, argv, "n:b:r:k:")) != -1) {
		switch (opt) {
		case 'n': leaves = strtoull(optarg, NULL, 10); break;
		case 'b': batch = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': runs = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'k': key = optarg; break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || key == NULL || leaves < 2 || batch == 0 || runs == 0)
		goto usage;

	memset(&t, 0, sizeof(t));
	tower_config_defaults(&t.cfg);
	t.cfg.store = argv[optind];
	t.cfg.log_key = key;
	if ((rc = store_open_ex(t.cfg.store, &opts, &t.st, err, sizeof(err))) < 0) {
		fprintf(stderr, "logbench: %s: %s\n", t.cfg.store, err);
		return 1;
	}
	if ((rc = tw_log_open(&t, err, sizeof(err))) < 0) {
		fprintf(stderr, "logbench: %s\n", err);
		return 1;
	}
	if (log_size(t.st) != 0) {
		fprintf(stderr, "logbench: %s already has a log: give it a fresh store\n",
			t.cfg.store);
		return 1;
	}
	printf("leaves %llu\nbatch %u\nvkey %s\n", leaves, batch, tw_log_vkey(&t));
	fflush(stdout);

	uint64_t half = leaves / 2;
	t0 = yg_mono_s();
	append(t.st, 0, half, batch);
	t1 = yg_mono_s();
	printf("append %llu entries %.3f s %.0f /s\n", (unsigned long long)half, t1 - t0,
	       (double)half / (t1 - t0));
	fflush(stdout);

	t0 = yg_mono_s();
	while (log_size(t.st) < half)
		if ((rc = tw_log_pass(&t, false)) < 0)
			die("pass", rc, NULL);
	t1 = yg_mono_s();
	printf("place %llu leaves %.3f s %.0f /s\n", (unsigned long long)half, t1 - t0,
	       (double)half / (t1 - t0));
	fflush(stdout);

	/* The sequencer as a tower runs it, while the rest is appended. */
	tw_log_stop(&t);
	if ((rc = tw_log_start(&t, err, sizeof(err))) < 0) {
		fprintf(stderr, "logbench: %s\n", err);
		return 1;
	}
	t0 = yg_mono_s();
	append(t.st, half, leaves, batch);
	t1 = yg_mono_s();
	while (log_size(t.st) < leaves)
		usleep(5000);
	double t2 = yg_mono_s();
	printf("e2e-append %llu entries %.3f s %.0f /s\n", (unsigned long long)(leaves - half),
	       t1 - t0, (double)(leaves - half) / (t1 - t0));
	printf("e2e %llu leaves %.3f s %.0f /s\n", (unsigned long long)(leaves - half), t2 - t0,
	       (double)(leaves - half) / (t2 - t0));
	fflush(stdout);
	if ((rc = tw_log_pass(&t, true)) < 0) /* a checkpoint of the whole tree */
		die("pass", rc, NULL);
	tw_log_stop(&t);

	if ((rc = store_conn_get(t.st, &c)) < 0)
		die("connect", rc, NULL);
	struct tlog_reader rd;
	struct tlog_hash stored, sig;
	tw_log_reader(c, &rd);
	signed_root(c, leaves, &sig);
	if ((rc = tlog_tree_hash(leaves, &rd, &stored)) < 0)
		die("tree hash", rc, c);
	if (memcmp(stored.b, sig.b, TLOG_HASH_LEN) != 0) {
		fprintf(stderr, "logbench: the stored hashes' root differs from the signed one\n");
		return 1;
	}
	static const uint64_t sizes[] = {1, 100000, 10000000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (sizes[i] < leaves)
			proofs(c, sizes[i], runs);
	proofs(c, leaves, runs);
	store_conn_put(c);
	store_close(t.st);
	tower_config_free(&t.cfg);
	return 0;
usage:
	fprintf(stderr, "usage: logbench [-n LEAVES] [-b BATCH] [-r RUNS] -k KEYFILE STORE_URL\n");
	return 2;
}
