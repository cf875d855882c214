/* store.h - the tower's storage: one interface over SQLite and PostgreSQL.
 *
 * The domain code writes ONE SQL text for both engines: `?` placeholders
 * (rewritten to $1..$n for PostgreSQL), int64 timestamps in microseconds,
 * INSERT ... ON CONFLICT, RETURNING. Engine differences live only in the
 * backends (each one's struct store_ops: store_sqlite.c, store_pg.c) and in
 * the migrations' DDL (schema.c). What a caller must know of how its engine
 * behaves it asks as a property (store_group_commits, store_txmark_*), never
 * as the engine's name.
 *
 * Threading: a struct store is a pool of connections and is safe to use from
 * any thread. A struct store_conn is borrowed with store_conn_get() and used by
 * one thread at a time until store_conn_put(). Durability: a write that
 * returned success outside a transaction, or a store_commit() that returned
 * success, is on disk (SQLite WAL with synchronous=FULL; PostgreSQL commit with
 * synchronous_commit on). See docs/store.md.
 */
#ifndef YAGURA_STORE_STORE_H
#define YAGURA_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"

struct store;
struct store_conn;
struct store_res;

enum store_backend { STORE_BACKEND_SQLITE = 1, STORE_BACKEND_PG = 2 };

enum store_type { STORE_T_NULL = 0, STORE_T_INT64, STORE_T_TEXT, STORE_T_BLOB };

/* A typed parameter. Text and blob bytes are borrowed for the call only. */
struct store_param {
	enum store_type type;
	int64_t i;
	const void *p;
	size_t len;
};

static inline struct store_param store_null(void)
{
	return (struct store_param){ .type = STORE_T_NULL };
}

static inline struct store_param store_int64(int64_t v)
{
	return (struct store_param){ .type = STORE_T_INT64, .i = v };
}

/* s may be NULL, which binds SQL NULL. */
static inline struct store_param store_text(const char *s)
{
	if (!s)
		return store_null();
	return (struct store_param){ .type = STORE_T_TEXT, .p = s, .len = strlen(s) };
}

static inline struct store_param store_textn(const char *s, size_t n)
{
	return (struct store_param){ .type = STORE_T_TEXT, .p = s, .len = n };
}

static inline struct store_param store_blob(const void *p, size_t n)
{
	return (struct store_param){ .type = STORE_T_BLOB, .p = p, .len = n };
}

struct store_opts {
	unsigned pool_size;       /* connections at most; 0: 8 */
	unsigned busy_timeout_ms; /* SQLite lock wait; 0: 10000 */
	/* PostgreSQL: the longest wait for a connect or for a statement's
	 * answer, after which the connection is closed and the statement fails
	 * (YG_EIO); 0: 60000. Migrations at open wait as long as they take. */
	unsigned answer_timeout_ms;
	/* SQLite: each connection's page cache, in KiB; 0: 16384. The tower's
	 * memory for it is at most pool_size times this. PostgreSQL: unused
	 * (its buffers are the server's). */
	unsigned cache_kib;
	int no_migrate;           /* 1: do not run or check migrations (tools, tests) */
};

/* Opens url: "sqlite:PATH", a bare PATH (SQLite), or "postgres://..." /
 * "postgresql://..." (a libpq URI), connects once and runs the migrations.
 * On failure returns a negative yg_err, writes one line into err and leaves
 * *out NULL. A database newer than this binary is refused with YG_EFORMAT. */
int store_open(const char *url, struct store **out, char *err, size_t errlen) YG_MUST_CHECK;

/* store_open() with options; opts may be NULL for the defaults. */
int store_open_ex(const char *url, const struct store_opts *opts, struct store **out,
		  char *err, size_t errlen) YG_MUST_CHECK;

/* Closes every connection and frees st. All connections must have been put
 * back and no store_group_run() may be in progress. NULL is a no-op. */
void store_close(struct store *st);

/* For a server about to open url: 0 when the store is not readable by
 * everyone (an SQLite file, or its write-ahead log, with any permission
 * for others), YG_EINVAL with one line in err when it is. PostgreSQL: 0
 * (its files are the server's). A SQLite file the store creates is 0600. */
int store_private_check(const char *url, char *err, size_t errlen) YG_MUST_CHECK;

/* The engine behind st, for messages and tests; a caller that must behave
 * differently asks for the property instead (below). Thread-safe. */
enum store_backend store_backend_of(const struct store *st);

/* 1 when st gathers concurrent work into group commits (store_group_run
 * shares one transaction and one fsync among the threads calling it: SQLite,
 * whose writers are serialized anyway), 0 when each unit commits alone on a
 * pooled connection (PostgreSQL). Thread-safe. */
int store_group_commits(const struct store *st);

/* " FOR UPDATE" where transactions run side by side and one that reads a
 * row to change it must lock it first (PostgreSQL, read committed); ""
 * where a writer holds the database from its begin (SQLite: BEGIN
 * IMMEDIATE). Appended to such a SELECT. Thread-safe. */
const char *store_for_update(const struct store *st);

/* Bytes the engine's library holds in this process (SQLite: its page
 * caches, bounded by store_opts.cache_kib per connection, and statements;
 * shared by every SQLite store the process opened), or -1 where the engine
 * keeps its memory elsewhere (PostgreSQL: the server). Thread-safe. */
int64_t store_memory_used(const struct store *st);

/* The schema version the database is at (highest applied migration), and the
 * version this binary knows. Thread-safe; returns a negative yg_err on failure. */
int store_schema_version(struct store *st) YG_MUST_CHECK;
int store_schema_latest(void);

/* Borrows a connection, waiting while all pool_size are in use; opens one
 * lazily and reconnects a broken one. The caller owns it until
 * store_conn_put(). Thread-safe. */
int store_conn_get(struct store *st, struct store_conn **out) YG_MUST_CHECK;

/* Returns c to its pool; an open transaction is rolled back first. NULL is a
 * no-op. Thread-safe. */
void store_conn_put(struct store_conn *c);

/* Runs one SQL statement with n parameters bound to its `?` placeholders
 * (outside quotes and comments, in order). With res non-NULL the rows are
 * materialized into *res (caller frees with store_res_free); changed, if
 * non-NULL, gets the rows inserted/updated/deleted. Returns 0, YG_ECONFLICT
 * on a unique-constraint violation, YG_EINVAL on another constraint or a bad
 * statement, YG_EIO on an engine or connection failure (store_conn_errmsg). */
int store_exec(struct store_conn *c, const char *sql, const struct store_param *params,
	       size_t n, struct store_res **res, int64_t *changed) YG_MUST_CHECK;

/* Inserts nrows rows with one INSERT ... VALUES (?, ..., ?) [ON CONFLICT ...]
 * whose only placeholders are the ncols in the VALUES tuple; rows holds
 * nrows * ncols parameters, row-major. Runs inside one transaction (the
 * caller's if one is open, else its own, committed durably before return).
 * On failure nothing of the batch is kept. changed gets the rows affected. */
int store_exec_batch(struct store_conn *c, const char *sql, size_t ncols,
		     const struct store_param *rows, size_t nrows, int64_t *changed) YG_MUST_CHECK;

/* Inserts nrows rows of ncols values into table's columns (cols: a comma-
 * separated list), skipping each row whose unique key is already stored;
 * *inserted gets how many went in. It commits, durably, before it returns 0,
 * in a transaction of its own: on SQLite one group commit shared with other
 * threads' work (store_group_run), on PostgreSQL one COPY, which falls back to
 * INSERT ... ON CONFLICT DO NOTHING when a row is already there. Values must
 * have their column's type exactly (INT64 for BIGINT, TEXT for TEXT, BLOB for
 * the blob type): PostgreSQL's binary COPY does not convert. */
int store_insert_new(struct store *st, const char *table, const char *cols, size_t ncols,
		     const struct store_param *rows, size_t nrows, int64_t *inserted) YG_MUST_CHECK;

/* store_insert_new() inside the transaction open on c (store_begin(), or a
 * store_group_run() unit), so that other writes commit with the rows or
 * not at all. bulk lets the backend load the rows in one pass (PostgreSQL:
 * COPY), which refuses the whole batch with YG_ECONFLICT when a row's key is
 * already stored: the caller must then roll back and call again without
 * bulk. Without bulk, or on a backend without a bulk path, rows already
 * stored are skipped. */
int store_insert_new_in(struct store_conn *c, const char *table, const char *cols, size_t ncols,
			const struct store_param *rows, size_t nrows, int bulk,
			int64_t *inserted) YG_MUST_CHECK;

/* Transactions on c. SQLite takes the write lock at begin (BEGIN IMMEDIATE).
 * After a failed statement inside a transaction the caller must rollback;
 * commit returns 0 only once the transaction is durable. rollback ends
 * whatever transaction the engine has open on c, and fails only when one is
 * still open after it (store_conn_put then drops the connection). */
int store_begin(struct store_conn *c) YG_MUST_CHECK;
int store_commit(struct store_conn *c) YG_MUST_CHECK;
int store_rollback(struct store_conn *c);

/* The engine's message for the last failure on c; never NULL, valid until
 * the next call on c. */
const char *store_conn_errmsg(const struct store_conn *c);

/* A unit of work for store_group_run(). It runs on some thread's connection
 * inside a transaction shared with other callers, within its own savepoint:
 * returning < 0 rolls back only its own statements. It must copy out what it
 * needs (arg) and must not call store_begin/commit/rollback. */
typedef int (*store_work_fn)(struct store_conn *c, void *arg);

/* Group commit: runs fn(c, arg) together with the work of other threads
 * calling concurrently, in one transaction, and returns fn's result once that
 * transaction is durable (or the commit's error). Thread-safe; blocks. */
int store_group_run(struct store *st, store_work_fn fn, void *arg) YG_MUST_CHECK;

/* Ids the engine hands out (an @ID@ column) are taken before their
 * transaction commits, so a reader that follows a table in id order may see
 * an id while a lower one is yet to come. A mark taken when the reader sees
 * such a gap is settled once every write transaction running then has
 * ended: from then on each id below those the reader saw is committed or
 * never will be. SQLite runs one write transaction at a time, which
 * commits before anyone sees its ids: every mark is settled at once.
 * PostgreSQL's is settled once no transaction older than the mark runs,
 * and a second after it (a transaction takes ids a moment before the server
 * counts it as running).
 *
 * store_txmark_take() fills *m, on a connection outside a transaction (on
 * PostgreSQL it takes a transaction id of its own); store_txmark_settled()
 * returns 1 when m is settled, 0 while it is not, or a negative yg_err
 * (store_conn_errmsg), on any connection. */
struct store_txmark {
	int64_t tx; /* the engine's: PostgreSQL's next transaction id then */
	double at;  /* yg_mono_s() when it was taken */
};

int store_txmark_take(struct store_conn *c, struct store_txmark *m) YG_MUST_CHECK;
int store_txmark_settled(struct store_conn *c, const struct store_txmark *m) YG_MUST_CHECK;

/* Jobs: the background work every tower on one store runs (placing the
 * log's entries, the cases' expiry, retention, the source summary, the
 * partners' pulls) runs in one of them at a time and, given an interval,
 * once per interval across them all. On PostgreSQL a job is held by a
 * session advisory lock on a connection kept for the run: another tower's
 * try finds it held and skips the turn, and a tower killed in the middle
 * loses the lock with its connection, so the next try elsewhere takes it.
 * The jobs table keeps, per job with an interval, which tower ran it last,
 * when that run started and ended, and how many runs ended. SQLite serves
 * one process, which runs each job on one thread: nothing to hold, the
 * interval as on PostgreSQL.
 *
 * store_job_take() returns 1 with *out when the caller is to run job NAME
 * now: nobody else holds it and, with every_s > 0, its last run by anyone
 * ended at least every_s seconds ago (who names the caller in the table);
 * 0 when it is not; a negative yg_err when the store failed (nothing
 * held). store_job_done() ends the run: records its end (with an
 * interval), releases the hold, frees j. */
struct store_job;

int store_job_take(struct store *st, const char *name, double every_s, const char *who,
		   struct store_job **out) YG_MUST_CHECK;
void store_job_done(struct store_job *j);

/* Materialized results. row and col must be in range. Text and blob
 * pointers stay valid until store_res_free. Integers are int64 on both
 * engines; store_res_int64 also parses a text cell and gives 0 for NULL. */
size_t store_res_nrows(const struct store_res *r);
size_t store_res_ncols(const struct store_res *r);
const char *store_res_colname(const struct store_res *r, size_t col);
/* The column named name (as the query named it: the column, or its AS),
 * or SIZE_MAX. Read rows by name, so that a new column shifts nothing. */
size_t store_res_col(const struct store_res *r, const char *name);
enum store_type store_res_type(const struct store_res *r, size_t row, size_t col);
int store_res_isnull(const struct store_res *r, size_t row, size_t col);
int64_t store_res_int64(const struct store_res *r, size_t row, size_t col);
/* NUL-terminated text of a text cell; NULL for a NULL or non-text cell. */
const char *store_res_text(const struct store_res *r, size_t row, size_t col);
/* Bytes of a blob or text cell and their length; NULL for other cells. */
const void *store_res_blob(const struct store_res *r, size_t row, size_t col, size_t *len);
void store_res_free(struct store_res *r);

#endif
