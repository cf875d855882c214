/* store_sqlite.c - the SQLite backend: one sqlite3 handle per pool slot, WAL
 * with synchronous=FULL, a small cache of prepared statements, and a
 * checkpointer thread.
 *
 * Checkpoints are not run by the committing thread (SQLite's default, which
 * put a copy of the whole WAL into the latency of whichever write crossed
 * 1000 pages: 14% of the alert path's time): every connection's WAL hook
 * wakes a thread with its own connection, which runs PASSIVE checkpoints
 * beside the writers. Should the writers outrun it, a WAL past
 * CKPT_RESTART_PAGES gets a RESTART checkpoint, which makes writers wait:
 * back-pressure instead of a WAL without bound. */
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"

#define CKPT_PAGES 2000		 /* wake the checkpointer at this many WAL frames */
#define CKPT_RESTART_PAGES 65536 /* 256 MiB of 4 KiB pages: make writers wait */
#define CKPT_SOFT_RESTART_PAGES 8192 /* 32 MiB: start the WAL over once all copied */
#define CKPT_SOFT_WAIT_MS 20		/* how long that may hold writers up */
/* journal_size_limit: after a restart the WAL is cut back to 64 MiB. */


struct sq_ckpt {
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sqlite3 *db;
	int frames; /* WAL frames after the latest commit */
	int floor;  /* WAL frames at the last checkpoint: the next waits for CKPT_PAGES more */
	int stop;
	int wal_fd; /* the -wal file, for sq_sync(); -1 until first needed */
	unsigned busy_ms; /* the checkpointer's lock wait for the current checkpoint */
};

struct sq_cached {
	char *sql;
	sqlite3_stmt *stmt;
};

struct sq_priv {
	struct sq_cached cache[STORE_STMT_CACHE];
	unsigned next; /* round-robin victim */
};

static int sq_err(struct store_conn *c, int rc)
{
	sqlite3 *db = c->db;

	store_conn_seterr(c, "sqlite: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return YG_ECONFLICT;
	case SQLITE_NOMEM:
		return YG_ENOMEM;
	case SQLITE_ERROR:
	case SQLITE_RANGE:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
		return YG_EINVAL;
	}
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return YG_EINVAL;
	return YG_EIO;
}

static void sq_disconnect(struct store_conn *c)
{
	struct sq_priv *p = c->priv;

	if (p) {
		for (unsigned i = 0; i < STORE_STMT_CACHE; i++) {
			sqlite3_finalize(p->cache[i].stmt);
			free(p->cache[i].sql);
		}
		free(p);
	}
	sqlite3_close_v2(c->db);
	c->db = NULL;
	c->priv = NULL;
	c->in_tx = 0;
}

static int sq_script(struct store_conn *c, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		int e = sq_err(c, sqlite3_extended_errcode(c->db));

		if (msg)
			store_conn_seterr(c, "sqlite: %s", msg);
		sqlite3_free(msg);
		return e;
	}
	return 0;
}

/* Lock waits in steps of 0.5 ms up to *arg milliseconds. SQLite's own busy
 * timeout sleeps up to 100 ms at a time, so a writer that met a checkpoint's
 * brief lock slept far past its release. Pool connections wait the store's
 * busy timeout. The checkpointer waits k->busy_ms: a RESTART blocks new
 * writers while it waits for the readers of older snapshots (a long
 * /sources, say), so the early one gives up after CKPT_SOFT_WAIT_MS and is
 * tried again later. */
static int sq_busy(void *arg, int n)
{
	const unsigned *limit_ms = arg;
	struct timespec ts = {0, 500000};

	if ((unsigned)n >= *limit_ms * 2u)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

static int sq_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *st = arg;
	struct sq_ckpt *k = st->backend;

	(void)db;
	(void)name;
	if (k == NULL || frames < CKPT_PAGES)
		return SQLITE_OK;
	pthread_mutex_lock(&k->mu);
	if (frames < k->floor) /* the WAL started over since */
		k->floor = 0;
	if (frames >= k->floor + CKPT_PAGES) {
		k->frames = frames;
		pthread_cond_signal(&k->cv);
	}
	pthread_mutex_unlock(&k->mu);
	return SQLITE_OK;
}

static void *sq_ckpt_main(void *arg)
{
	struct store *st = arg;
	struct sq_ckpt *k = st->backend;

	pthread_mutex_lock(&k->mu);
	while (!k->stop) {
		int frames = k->frames, log = 0, done = 0, plog, mode, rc;
		struct timespec until;

		if (frames < CKPT_PAGES) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&k->cv, &k->mu, &until);
			continue;
		}
		k->frames = 0;
		pthread_mutex_unlock(&k->mu);
		mode = frames >= CKPT_RESTART_PAGES ? SQLITE_CHECKPOINT_RESTART
						    : SQLITE_CHECKPOINT_PASSIVE;
		k->busy_ms = st->busy_timeout_ms;
		rc = sqlite3_wal_checkpoint_v2(k->db, NULL, mode, &log, &done);
		/* Under a steady stream of writes the WAL never starts over by
		 * itself: a writer restarts it only if the log was wholly copied
		 * when it began. Once a PASSIVE checkpoint has copied it all, a
		 * RESTART has next to nothing left to copy and holds writers up
		 * for a moment only; waiting for CKPT_RESTART_PAGES would hold
		 * them for a copy of 256 MiB. */
		plog = log;
		if (rc == SQLITE_OK && mode == SQLITE_CHECKPOINT_PASSIVE && done == log &&
		    log >= CKPT_SOFT_RESTART_PAGES) {
			k->busy_ms = CKPT_SOFT_WAIT_MS;
			rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_RESTART, &log,
						       &done);
		}
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warnx("store: sqlite checkpoint: %s", sqlite3_errmsg(k->db));
		pthread_mutex_lock(&k->mu);
		/* Not again before the writers add CKPT_PAGES more: a checkpoint
		 * per commit would put an fsync of the database beside each. */
		k->floor = plog > 0 ? plog : 0;
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

static int sq_start(struct store *st)
{
	struct sq_ckpt *k = yg_calloc(1, sizeof(*k));
	int rc;

	if (k == NULL)
		return YG_ENOMEM;
	rc = sqlite3_open_v2(st->target, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		k->busy_ms = st->busy_timeout_ms;
		sqlite3_busy_handler(k->db, sq_busy, &k->busy_ms);
		rc = sqlite3_exec(k->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		log_warnx("store: sqlite checkpointer: %s: %s", st->target,
			  k->db ? sqlite3_errmsg(k->db) : sqlite3_errstr(rc));
		sqlite3_close_v2(k->db);
		free(k);
		return YG_EIO;
	}
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	k->wal_fd = -1;
	st->backend = k;
	if (pthread_create(&k->thr, NULL, sq_ckpt_main, st) != 0) {
		st->backend = NULL;
		sqlite3_close_v2(k->db);
		pthread_mutex_destroy(&k->mu);
		pthread_cond_destroy(&k->cv);
		free(k);
		return YG_ENOMEM;
	}
	return 0;
}

static void sq_stop(struct store *st)
{
	struct sq_ckpt *k = st->backend;

	if (k == NULL)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = 1;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thr, NULL);
	st->backend = NULL;
	/* SQLite keeps no POSIX lock on the -wal file (they are on the
	 * database and -shm), so closing this descriptor releases none. */
	if (k->wal_fd >= 0)
		close(k->wal_fd);
	sqlite3_close_v2(k->db);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	free(k);
}

/* Makes every commit so far durable: fdatasync() of the -wal file flushes
 * the frames of every transaction committed before it, whichever descriptor
 * wrote them. A frame already checkpointed is in the database file, which the
 * checkpoint synced before the WAL could start over. */
static int sq_sync(struct store *st)
{
	struct sq_ckpt *k = st->backend;
	int fd;

	if (k == NULL)
		return YG_EINVAL;
	pthread_mutex_lock(&k->mu);
	if (k->wal_fd < 0) {
		size_t n = strlen(st->target) + 5;
		char *path = yg_malloc(n);

		if (path != NULL) {
			snprintf(path, n, "%s-wal", st->target);
			k->wal_fd = open(path, O_RDONLY | O_CLOEXEC);
			if (k->wal_fd < 0)
				log_warnx("store: %s: %s", path, strerror(errno));
			free(path);
		}
	}
	fd = k->wal_fd;
	pthread_mutex_unlock(&k->mu);
	if (fd < 0)
		return YG_EIO;
	while (fdatasync(fd) < 0) {
		if (errno != EINTR) {
			log_warnx("store: fdatasync of the WAL: %s", strerror(errno));
			return YG_EIO;
		}
	}
	return 0;
}

static int sq_connect(struct store *st, struct store_conn *c)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_open_v2(st->target, &db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_conn_seterr(c, "sqlite: %s: %s", st->target,
				  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close_v2(db);
		return YG_EIO;
	}
	c->db = db;
	c->priv = yg_calloc(1, sizeof(struct sq_priv));
	if (!c->priv) {
		sq_disconnect(c);
		store_conn_seterr(c, "sqlite: out of memory");
		return YG_ENOMEM;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_handler(db, sq_busy, &st->busy_timeout_ms);
	/* journal_mode answers with the mode in effect: insist on WAL. */
	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
	if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(stmt, 0), "wal") == 0) {
		sqlite3_finalize(stmt);
	} else {
		sqlite3_finalize(stmt);
		store_conn_seterr(c, "sqlite: %s: cannot switch to WAL: %s", st->target,
				  sqlite3_errmsg(db));
		sq_disconnect(c);
		return YG_EIO;
	}
	char pragmas[160];

	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-%u; "
		 "PRAGMA journal_size_limit=67108864;",
		 st->cache_kib);
	rc = sq_script(c, pragmas);
	sqlite3_wal_hook(db, sq_wal_hook, st); /* replaces the checkpoint on commit */
	if (rc < 0) {
		char keep[STORE_ERRMSG_MAX];

		memcpy(keep, c->errmsg, sizeof(keep));
		sq_disconnect(c);
		memcpy(c->errmsg, keep, sizeof(keep));
		return rc;
	}
	return 0;
}

static int sq_check(struct store_conn *c)
{
	return c->db != NULL;
}

static int sq_tx_open(struct store_conn *c)
{
	return c->db != NULL && !sqlite3_get_autocommit(c->db);
}

/* A prepared statement for sql from the cache, or newly prepared into it.
 * The statement is reset and unbound. */
static int sq_prepare(struct store_conn *c, const char *sql, sqlite3_stmt **out)
{
	struct sq_priv *p = c->priv;
	struct sq_cached *slot;
	const char *tail = NULL;
	sqlite3_stmt *stmt;
	size_t len;
	int rc;

	for (unsigned i = 0; i < STORE_STMT_CACHE; i++) {
		if (p->cache[i].sql && strcmp(p->cache[i].sql, sql) == 0) {
			*out = p->cache[i].stmt;
			return 0;
		}
	}
	rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
	if (rc != SQLITE_OK)
		return sq_err(c, sqlite3_extended_errcode(c->db));
	if (!stmt) {
		store_conn_seterr(c, "sqlite: empty statement");
		return YG_EINVAL;
	}
	while (tail && *tail && strchr(" \t\r\n;", *tail))
		tail++;
	if (tail && *tail) {
		sqlite3_finalize(stmt);
		store_conn_seterr(c, "sqlite: one statement per call: trailing \"%.40s\"", tail);
		return YG_EINVAL;
	}
	slot = &p->cache[p->next];
	p->next = (p->next + 1) % STORE_STMT_CACHE;
	sqlite3_finalize(slot->stmt);
	free(slot->sql);
	len = strlen(sql);
	slot->sql = yg_malloc(len + 1);
	if (!slot->sql) {
		sqlite3_finalize(stmt);
		slot->stmt = NULL;
		store_conn_seterr(c, "sqlite: out of memory");
		return YG_ENOMEM;
	}
	memcpy(slot->sql, sql, len + 1);
	slot->stmt = stmt;
	*out = stmt;
	return 0;
}

static int sq_bind(struct store_conn *c, sqlite3_stmt *stmt, const struct store_param *p,
		   size_t n)
{
	int rc = SQLITE_OK;

	if ((int)n != sqlite3_bind_parameter_count(stmt)) {
		store_conn_seterr(c, "sqlite: statement has %d placeholders, %zu parameters given",
				  sqlite3_bind_parameter_count(stmt), n);
		return YG_EINVAL;
	}
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		int k = (int)i + 1;

		switch (p[i].type) {
		case STORE_T_NULL:
			rc = sqlite3_bind_null(stmt, k);
			break;
		case STORE_T_INT64:
			rc = sqlite3_bind_int64(stmt, k, p[i].i);
			break;
		case STORE_T_TEXT:
			rc = sqlite3_bind_text64(stmt, k, p[i].p ? p[i].p : "", p[i].len,
						 SQLITE_STATIC, SQLITE_UTF8);
			break;
		case STORE_T_BLOB:
			rc = sqlite3_bind_blob64(stmt, k, p[i].p ? p[i].p : "", p[i].len,
						 SQLITE_STATIC);
			break;
		}
	}
	if (rc != SQLITE_OK)
		return sq_err(c, rc);
	return 0;
}

static int sq_row(struct store_res *r, sqlite3_stmt *stmt)
{
	struct store_cell *row = store_res_add_row(r);

	if (!row)
		return YG_ENOMEM;
	for (size_t i = 0; i < r->ncols; i++) {
		int k = (int)i, rc = 0;

		switch (sqlite3_column_type(stmt, k)) {
		case SQLITE_NULL:
			break;
		case SQLITE_INTEGER:
			row[i].type = STORE_T_INT64;
			row[i].i = sqlite3_column_int64(stmt, k);
			break;
		case SQLITE_BLOB: {
			const void *b = sqlite3_column_blob(stmt, k);

			rc = store_res_put_bytes(r, &row[i], STORE_T_BLOB, b,
						 (size_t)sqlite3_column_bytes(stmt, k));
			break;
		}
		default: { /* TEXT, FLOAT: as text */
			const unsigned char *t = sqlite3_column_text(stmt, k);

			rc = store_res_put_bytes(r, &row[i], STORE_T_TEXT, t,
						 (size_t)sqlite3_column_bytes(stmt, k));
			break;
		}
		}
		if (rc < 0)
			return rc;
		/* put_bytes may move r->cells: recompute the row */
		row = &r->cells[(r->nrows - 1) * r->ncols];
	}
	return 0;
}

static int sq_exec(struct store_conn *c, const char *sql, const struct store_param *p, size_t n,
		   struct store_res **res, int64_t *changed)
{
	struct store_res *r = NULL;
	sqlite3_stmt *stmt;
	int rc, step;

	rc = sq_prepare(c, sql, &stmt);
	if (rc < 0)
		return rc;
	rc = sq_bind(c, stmt, p, n);
	if (rc < 0)
		goto out;
	if (res) {
		int ncols = sqlite3_column_count(stmt);

		r = store_res_new((size_t)ncols);
		if (!r) {
			rc = YG_ENOMEM;
			goto out;
		}
		for (int i = 0; i < ncols; i++)
			if ((rc = store_res_set_name(r, (size_t)i, sqlite3_column_name(stmt, i))) < 0)
				goto out;
	}
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (r && (rc = sq_row(r, stmt)) < 0)
			goto out;
	}
	if (step != SQLITE_DONE) {
		rc = sq_err(c, sqlite3_extended_errcode(c->db));
		goto out;
	}
	if (changed)
		*changed = sqlite3_changes64(c->db);
	if (res) {
		*res = r;
		r = NULL;
	}
	rc = 0;
out:
	if (rc == YG_ENOMEM)
		store_conn_seterr(c, "sqlite: out of memory");
	store_res_free(r);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc;
}

/* One prepared statement, stepped once per row: SQLite does the work in
 * process, so there is no round trip to amortize with multi-row VALUES. */
static int sq_batch(struct store_conn *c, const char *sql, size_t ncols,
		    const struct store_param *rows, size_t nrows, int64_t *changed)
{
	sqlite3_stmt *stmt;
	int64_t total = 0;
	int rc;

	rc = sq_prepare(c, sql, &stmt);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < nrows; i++) {
		rc = sq_bind(c, stmt, rows + i * ncols, ncols);
		if (rc < 0)
			break;
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			rc = sq_err(c, sqlite3_extended_errcode(c->db));
			break;
		}
		total += sqlite3_changes64(c->db);
		sqlite3_reset(stmt);
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc == 0 && changed)
		*changed = total;
	return rc;
}

/* The group leader's connection commits with synchronous=NORMAL, without
 * an fsync of its own: sq_sync() makes the group durable before it is
 * answered. */
static int sq_group_connect(struct store *st, struct store_conn *c)
{
	int rc = sq_connect(st, c);

	return rc < 0 ? rc : sq_script(c, "PRAGMA synchronous=NORMAL");
}

/* One write transaction at a time (BEGIN IMMEDIATE), and no reader sees its
 * ids before it commits: when a reader sees a gap below an id, the
 * transaction that would fill it has ended. Every mark is settled. */
static int sq_txmark_take(struct store_conn *c, int64_t *tx)
{
	(void)c;
	*tx = 0;
	return 0;
}

static int sq_txmark_settled(struct store_conn *c, const struct store_txmark *m)
{
	(void)c;
	(void)m;
	return 1;
}

static const char *sq_migration_sql(const struct store_migration *m)
{
	return m->sql_sqlite ? m->sql_sqlite : m->sql;
}

/* All of SQLite's heap in this process: every connection's page cache,
 * statements and schema, the checkpointer's too. */
static int64_t sq_memory_used(void)
{
	return (int64_t)sqlite3_memory_used();
}

const struct store_ops store_sqlite_ops = {
	.backend = STORE_BACKEND_SQLITE,
	/* Takes the write lock at once: a writer waits for it at the start
	 * instead of failing with SQLITE_BUSY half-way. It also serializes
	 * migrating processes. */
	.begin = "BEGIN IMMEDIATE",
	.ddl_id = "INTEGER PRIMARY KEY AUTOINCREMENT",
	.ddl_blob = "BLOB",
	.migration_sql = sq_migration_sql,
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.check = sq_check,
	.tx_open = sq_tx_open,
	.exec = sq_exec,
	.exec_script = sq_script,
	.batch = sq_batch,
	.start = sq_start,
	.stop = sq_stop,
	.sync = sq_sync,
	.group_connect = sq_group_connect,
	.memory_used = sq_memory_used,
	.txmark_take = sq_txmark_take,
	.txmark_settled = sq_txmark_settled,
};
