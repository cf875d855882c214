/* store_int.h - private to src/store: the pool, the backend operations, and
 * the result representation shared by both engines. */
#ifndef YAGURA_STORE_STORE_INT_H
#define YAGURA_STORE_STORE_INT_H

#include <pthread.h>

#include "store/store.h"

#define STORE_ERRMSG_MAX 512
#define STORE_STMT_CACHE 32

struct store_conn;

struct store_migration;

/* What a backend provides: everything that differs between the engines,
 * SQL text included, so that store.c and the domain code speak one SQL. SQL
 * reaches it as the domain code wrote it, with `?` placeholders. */
struct store_ops {
	enum store_backend backend;
	/* The statement that opens a transaction (store_begin). */
	const char *begin;
	/* Run first in each migration's transaction to serialize processes
	 * that migrate at once; NULL when begin already does. */
	const char *migrate_lock;
	/* The migrations' DDL: how @ID@ and @BLOB@ are spelled, and which of a
	 * migration's texts is this engine's (sql_sqlite/sql_pg, else sql). */
	const char *ddl_id;
	const char *ddl_blob;
	const char *(*migration_sql)(const struct store_migration *m);
	/* Connects c->backend_data; fills c->errmsg on failure. */
	int (*connect)(struct store *st, struct store_conn *c);
	void (*disconnect)(struct store_conn *c);
	/* 1 if the connection is usable, else tries once to reconnect. */
	int (*check)(struct store_conn *c);
	/* 1 if the engine has a transaction open on c (whatever c->in_tx
	 * says: a ROLLBACK that failed for want of memory leaves it open). */
	int (*tx_open)(struct store_conn *c);
	int (*exec)(struct store_conn *c, const char *sql, const struct store_param *p, size_t n,
		    struct store_res **res, int64_t *changed);
	/* Several statements, no parameters, no results (migrations). */
	int (*exec_script)(struct store_conn *c, const char *sql);
	/* Batch insert, inside a transaction the caller (store.c) manages. */
	int (*batch)(struct store_conn *c, const char *sql, size_t ncols,
		     const struct store_param *rows, size_t nrows, int64_t *changed);
	/* Optional: store_insert_new() in one statement (PostgreSQL: COPY),
	 * outside any transaction or inside the caller's (store_insert_new_in
	 * with bulk). YG_ECONFLICT when a row's unique key is already stored and
	 * nothing was inserted; store.c then inserts with INSERT ... ON CONFLICT
	 * DO NOTHING. NULL: store.c runs that INSERT (group-run, or in the
	 * caller's transaction). */
	int (*insert_new)(struct store_conn *c, const char *table, const char *cols,
			  size_t ncols, const struct store_param *rows, size_t nrows,
			  int64_t *changed);
	/* Optional background work for the store's life (SQLite: checkpoints),
	 * started once the schema is in place, stopped before the pool closes. */
	int (*start)(struct store *st);
	void (*stop)(struct store *st);
	/* Group commit in two steps (SQLite): the group's connection commits
	 * without syncing, the leader hands leadership on, then sync() makes
	 * what was committed durable before anyone is answered; the next
	 * group's writes overlap the previous group's fsync. NULL: every unit
	 * commits alone (PostgreSQL). */
	int (*sync)(struct store *st);
	/* With sync: connects the group leader's connection (outside the
	 * pool), whose commits need not be durable by themselves. */
	int (*group_connect)(struct store *st, struct store_conn *c);
	/* Optional: store_memory_used(). NULL: the engine cannot say. */
	int64_t (*memory_used)(void);
	/* store_txmark_take(): the engine's part of a mark (m->tx). */
	int (*txmark_take)(struct store_conn *c, int64_t *tx);
	/* store_txmark_settled(): 1, 0 or a negative yg_err. */
	int (*txmark_settled)(struct store_conn *c, const struct store_txmark *m);
	/* Optional (PostgreSQL): store_job_take()'s hold across processes, on
	 * c until job_release or until c's session ends: 1 taken, 0 held
	 * elsewhere, or a negative yg_err. NULL: one process per store
	 * (SQLite), nothing to take. After an error of either, whether the
	 * session holds the key is not known: the caller drops the
	 * connection (store_conn_drop), and its session's end releases it. */
	int (*job_hold)(struct store_conn *c, int32_t key);
	int (*job_release)(struct store_conn *c, int32_t key);
};

struct store_conn {
	struct store *st;
	void *db;          /* sqlite3 * or PGconn * */
	void *priv;        /* backend's per-connection state (statement cache) */
	int in_tx;
	int busy;          /* borrowed by a thread */
	char errmsg[STORE_ERRMSG_MAX];
};

struct group_req;
struct pool_waiter;

struct store {
	const struct store_ops *ops;
	char *target;      /* SQLite path or libpq conninfo */
	unsigned busy_timeout_ms;
	unsigned cache_kib; /* SQLite page cache per connection (store_opts) */
	unsigned answer_timeout_ms; /* store_opts' (PostgreSQL) */
	unsigned answer_ms;	    /* in force: 0 until the migrations are done */

	pthread_mutex_t mu;
	struct store_conn *conns;
	unsigned nconns;
	unsigned nfree;
	struct pool_waiter *whead, *wtail; /* threads waiting for a connection */

	/* group commit: a queue, and whether a leader is running a group */
	pthread_mutex_t gmu;
	pthread_cond_t gcv;
	struct group_req *ghead, *gtail;
	int gleader;

	struct store_conn gconn; /* the group leader's connection (SQLite) */
	void *backend; /* the backend's store-wide state (SQLite: checkpointer) */
	int started;
};

struct store_cell {
	enum store_type type;
	int64_t i;
	size_t off;        /* into store_res.data, text/blob only */
	size_t len;
};

struct store_res {
	size_t nrows, ncols;
	size_t cap_rows;
	struct store_cell *cells; /* nrows * ncols, row-major */
	char **names;             /* ncols column names */
	char *data;
	size_t dlen, dcap;
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* Result building, shared by the backends. */
struct store_res *store_res_new(size_t ncols);
int store_res_set_name(struct store_res *r, size_t col, const char *name);
/* Appends a row of NULL cells; returns its cells or NULL on ENOMEM. */
struct store_cell *store_res_add_row(struct store_res *r);
int store_res_put_bytes(struct store_res *r, struct store_cell *cell, enum store_type t,
			const void *p, size_t len);

/* Writes a formatted message into c->errmsg. */
void store_conn_seterr(struct store_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Returns a new string with each `?` outside quotes and comments replaced by
 * $1..$n, counting from first; *count gets how many. NULL on ENOMEM. */
char *store_sql_to_dollar(const char *sql, unsigned first, unsigned *count);

/* For INSERT ... VALUES (tuple) tail: returns a new string with the tuple
 * repeated k times (comma separated), or NULL if the SQL has no VALUES tuple,
 * the tuple does not hold exactly ncols `?`, or there are `?` outside it. */
char *store_sql_expand_values(const char *sql, size_t ncols, size_t k);

/* The migrations, in schema.c. sql is shared; @ID@ and @BLOB@ are replaced per
 * engine; sql_sqlite/sql_pg, when set, replace sql for that engine. */
struct store_migration {
	int version;
	const char *name;
	const char *sql;
	const char *sql_sqlite;
	const char *sql_pg;
};

extern const struct store_migration store_migrations[];
extern const size_t store_nmigrations;

/* Closes c's session and gives c back to the pool, for a session whose
 * state is not known (a session-level lock that may be held). */
void store_conn_drop(struct store_conn *c);

#endif
