/* Unit tests for src/store, through the public API. The whole suite runs on
 * SQLite, then on PostgreSQL when YAGURA_TEST_PG_URL is set (scripts/pg-test.sh
 * start prints one). Each PostgreSQL run works in its own schema so that
 * other test programs may share the database. YAGURA_STORE_BENCH=1 adds a
 * throughput measurement (printed, never asserted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

static char g_url[1024];
static char g_sqlite_path[256];
static char g_pg_schema[64];
static int g_is_pg;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void must_exec(struct store_conn *c, const char *sql)
{
	int rc = store_exec(c, sql, NULL, 0, NULL, NULL);

	if (rc < 0)
		fail_msg("%s: %s (%s)", sql, yg_strerror(rc), store_conn_errmsg(c));
}

static int64_t query_int(struct store *st, const char *sql)
{
	struct store_conn *c;
	struct store_res *r;
	int64_t v;

	assert_int_equal(store_conn_get(st, &c), 0);
	if (store_exec(c, sql, NULL, 0, &r, NULL) < 0)
		fail_msg("%s: %s", sql, store_conn_errmsg(c));
	assert_int_equal(store_res_nrows(r), 1);
	v = store_res_int64(r, 0, 0);
	store_res_free(r);
	store_conn_put(c);
	return v;
}

/* Empties the database (SQLite: removes the files; PostgreSQL: recreates
 * this run's schema). */
static void reset_db(void)
{
	char err[256], sql[256];
	struct store_opts o = { .no_migrate = 1, .pool_size = 1 };
	struct store_conn *c;
	struct store *st;

	if (!g_is_pg) {
		const char *sfx[] = { "", "-wal", "-shm" };

		for (size_t i = 0; i < 3; i++) {
			snprintf(sql, sizeof(sql), "%s%s", g_sqlite_path, sfx[i]);
			unlink(sql);
		}
		return;
	}
	if (store_open_ex(g_url, &o, &st, err, sizeof(err)) < 0)
		fail_msg("open %s: %s", g_url, err);
	assert_int_equal(store_conn_get(st, &c), 0);
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", g_pg_schema);
	must_exec(c, sql);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", g_pg_schema);
	must_exec(c, sql);
	store_conn_put(c);
	store_close(st);
}

static struct store *open_store(void)
{
	struct store *st = NULL;
	char err[256];
	int rc = store_open(g_url, &st, err, sizeof(err));

	if (rc < 0)
		fail_msg("store_open(%s): %s: %s", g_url, yg_strerror(rc), err);
	return st;
}

static struct store *open_fresh(void)
{
	reset_db();
	return open_store();
}

static int64_t add_user(struct store *st, const char *name, const char *role)
{
	struct store_param p[3] = { store_text(name), store_text(role), store_int64(1) };
	struct store_conn *c;
	struct store_res *r;
	int64_t id;

	assert_int_equal(store_conn_get(st, &c), 0);
	if (store_exec(c, "INSERT INTO users (name, role, created) VALUES (?, ?, ?) RETURNING id",
		       p, 3, &r, NULL) < 0)
		fail_msg("add_user: %s", store_conn_errmsg(c));
	id = store_res_int64(r, 0, 0);
	store_res_free(r);
	store_conn_put(c);
	return id;
}

/* ---- migrations ---- */

static void test_migrate_fresh(void **state)
{
	struct store *st = open_fresh();

	(void)state;
	assert_int_equal(store_schema_version(st), store_schema_latest());
	assert_true(store_schema_latest() >= 1);
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM orgs"), 0);
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM alerts"), 0);
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM idempotency"), 0);
	store_close(st);
}

static void test_migrate_reopen_noop(void **state)
{
	struct store *st = open_fresh();
	int64_t applied;

	(void)state;
	applied = query_int(st, "SELECT MAX(applied) FROM schema_migrations");
	store_close(st);
	st = open_store();
	assert_int_equal(store_schema_version(st), store_schema_latest());
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM schema_migrations"),
			 store_schema_latest());
	assert_int_equal(query_int(st, "SELECT MAX(applied) FROM schema_migrations"), applied);
	store_close(st);
}

static void test_migrate_newer_refused(void **state)
{
	struct store *st = open_fresh();
	struct store_param p = store_int64(store_schema_latest() + 1);
	struct store_conn *c;
	char err[256];
	int rc;

	(void)state;
	assert_int_equal(store_conn_get(st, &c), 0);
	assert_int_equal(store_exec(c, "INSERT INTO schema_migrations (version, name, applied) "
				       "VALUES (?, 'from the future', 0)",
				    &p, 1, NULL, NULL),
			 0);
	store_conn_put(c);
	store_close(st);
	st = (struct store *)0x1;
	rc = store_open(g_url, &st, err, sizeof(err));
	assert_int_equal(rc, YG_EFORMAT);
	assert_null(st);
	assert_non_null(strstr(err, "newer"));
	printf("    refused as expected: %s\n", err);
}

/* Processes that start at once migrate one at a time (the backend's begin
 * or its migration lock): every open succeeds, each migration once. */
static void *thr_open(void *arg)
{
	struct store *st = NULL;
	char err[256];

	if (store_open(g_url, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "concurrent open: %s\n", err);
		return (void *)1;
	}
	store_close(st);
	return NULL;
}

static void test_migrate_concurrent(void **state)
{
	pthread_t tid[4];
	struct store *st;
	void *failed;

	(void)state;
	reset_db();
	for (int i = 0; i < 4; i++)
		pthread_create(&tid[i], NULL, thr_open, NULL);
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], &failed);
		assert_null(failed);
	}
	st = open_store();
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM schema_migrations"),
			 store_schema_latest());
	store_close(st);
}

/* ---- statements ---- */

static void test_param_types(void **state)
{
	static const uint8_t blob[] = { 0, 1, 2, 0xff, 0, 0x80 };
	const char *text = "櫓 yagura 'quoted' \"x\" \\ ?";
	struct store *st = open_fresh();
	struct store_param p[5];
	struct store_conn *c;
	struct store_res *r;
	const void *b;
	size_t len;
	int64_t changed;

	(void)state;
	assert_int_equal(store_conn_get(st, &c), 0);
	must_exec(c, g_is_pg ? "CREATE TABLE t (k BIGINT PRIMARY KEY, i BIGINT, s TEXT, b BYTEA, n TEXT)"
			     : "CREATE TABLE t (k BIGINT PRIMARY KEY, i BIGINT, s TEXT, b BLOB, n TEXT)");
	p[0] = store_int64(1);
	p[1] = store_int64(INT64_MIN);
	p[2] = store_text(text);
	p[3] = store_blob(blob, sizeof(blob));
	p[4] = store_null();
	assert_int_equal(store_exec(c, "INSERT INTO t VALUES (?, ?, ?, ?, ?)", p, 5, NULL, &changed), 0);
	assert_int_equal(changed, 1);
	p[0] = store_int64(2);
	p[1] = store_int64(INT64_MAX);
	p[2] = store_textn("abcdef", 3); /* not NUL-terminated at len */
	p[3] = store_blob(NULL, 0);
	p[4] = store_text(NULL);
	assert_int_equal(store_exec(c, "INSERT INTO t VALUES (?, ?, ?, ?, ?)", p, 5, NULL, NULL), 0);

	assert_int_equal(store_exec(c, "SELECT k, i, s, b, n FROM t ORDER BY k", NULL, 0, &r, NULL), 0);
	assert_int_equal(store_res_nrows(r), 2);
	assert_int_equal(store_res_ncols(r), 5);
	assert_string_equal(store_res_colname(r, 2), "s");
	assert_int_equal(store_res_type(r, 0, 1), STORE_T_INT64);
	assert_true(store_res_int64(r, 0, 1) == INT64_MIN);
	assert_true(store_res_int64(r, 1, 1) == INT64_MAX);
	assert_string_equal(store_res_text(r, 0, 2), text);
	assert_string_equal(store_res_text(r, 1, 2), "abc");
	assert_int_equal(store_res_type(r, 0, 3), STORE_T_BLOB);
	b = store_res_blob(r, 0, 3, &len);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(b, blob, sizeof(blob));
	b = store_res_blob(r, 1, 3, &len);
	assert_non_null(b);
	assert_int_equal(len, 0);
	assert_true(store_res_isnull(r, 0, 4));
	assert_true(store_res_isnull(r, 1, 4));
	assert_null(store_res_text(r, 0, 4));
	assert_int_equal(store_res_int64(r, 0, 4), 0);
	store_res_free(r);

	/* NULL parameters compare as SQL NULL; IS NULL finds them. */
	p[0] = store_int64(INT64_MAX);
	assert_int_equal(store_exec(c, "SELECT k FROM t WHERE i = ? AND n IS NULL", p, 1, &r, NULL), 0);
	assert_int_equal(store_res_nrows(r), 1);
	assert_int_equal(store_res_int64(r, 0, 0), 2);
	store_res_free(r);

	/* Wrong parameter count is an error, not a crash. */
	assert_int_equal(store_exec(c, "SELECT k FROM t WHERE i = ?", NULL, 0, NULL, NULL) < 0, 1);
	store_conn_put(c);
	store_close(st);
}

static void test_placeholders_in_literals(void **state)
{
	struct store *st = open_fresh();
	struct store_param p[2] = { store_text("x"), store_int64(41) };
	struct store_conn *c;
	struct store_res *r;

	(void)state;
	assert_int_equal(store_conn_get(st, &c), 0);
	assert_int_equal(store_exec(c, "SELECT '?' AS q, ? AS a, 'it''s ?' AS b, /* ? */ ? + 1 AS n -- ?\n",
				    p, 2, &r, NULL),
			 0);
	assert_string_equal(store_res_text(r, 0, 0), "?");
	assert_string_equal(store_res_text(r, 0, 1), "x");
	assert_string_equal(store_res_text(r, 0, 2), "it's ?");
	assert_int_equal(store_res_int64(r, 0, 3), 42);
	store_res_free(r);
	/* Two statements in one call are refused on both engines. */
	assert_true(store_exec(c, "SELECT 1; SELECT 2", NULL, 0, NULL, NULL) < 0);
	store_conn_put(c);
	store_close(st);
}

static void test_constraint_errors(void **state)
{
	struct store *st = open_fresh();
	struct store_param p[3] = { store_text("Tokyo Electric"), store_text("electricity"),
				    store_int64(5) };
	struct store_conn *c;
	int rc;

	(void)state;
	assert_int_equal(store_conn_get(st, &c), 0);
	assert_int_equal(store_exec(c, "INSERT INTO orgs (name, sector, created) VALUES (?, ?, ?)",
				    p, 3, NULL, NULL),
			 0);
	rc = store_exec(c, "INSERT INTO orgs (name, sector, created) VALUES (?, ?, ?)", p, 3, NULL, NULL);
	assert_int_equal(rc, YG_ECONFLICT);
	assert_true(strlen(store_conn_errmsg(c)) > 0);
	printf("    unique violation: %s\n", store_conn_errmsg(c));
	/* A foreign key, a CHECK and a NOT NULL are not conflicts. */
	rc = store_exec(c, "INSERT INTO assets (org_id, product, created) VALUES (999, 'x', 0)",
			NULL, 0, NULL, NULL);
	assert_int_equal(rc, YG_EINVAL);
	rc = store_exec(c, "INSERT INTO users (name, role, created) VALUES ('u', 'king', 0)",
			NULL, 0, NULL, NULL);
	assert_int_equal(rc, YG_EINVAL);
	rc = store_exec(c, "INSERT INTO orgs (name, sector, created) VALUES ('n', NULL, 0)",
			NULL, 0, NULL, NULL);
	assert_int_equal(rc, YG_EINVAL);
	rc = store_exec(c, "SELEKT 1", NULL, 0, NULL, NULL);
	assert_int_equal(rc, YG_EINVAL);
	/* A primary key duplicate is a conflict too (idempotency keys). */
	must_exec(c, "INSERT INTO users (name, role, created) VALUES ('a', 'admin', 0)");
	must_exec(c, "INSERT INTO idempotency (user_id, idem_key, request_hash, created) "
		     "SELECT id, 'k1', 'h', 0 FROM users WHERE name = 'a'");
	rc = store_exec(c, "INSERT INTO idempotency (user_id, idem_key, request_hash, created) "
			   "SELECT id, 'k1', 'h2', 0 FROM users WHERE name = 'a'",
			NULL, 0, NULL, NULL);
	assert_int_equal(rc, YG_ECONFLICT);
	store_conn_put(c);
	store_close(st);
}

static void test_transactions(void **state)
{
	struct store *st = open_fresh();
	struct store_conn *c;

	(void)state;
	assert_int_equal(store_conn_get(st, &c), 0);
	assert_int_equal(store_begin(c), 0);
	assert_int_equal(store_begin(c), YG_EINVAL); /* no nesting */
	must_exec(c, "INSERT INTO orgs (name, sector, created) VALUES ('gone', 'gas', 0)");
	assert_int_equal(store_rollback(c), 0);
	assert_int_equal(store_begin(c), 0);
	must_exec(c, "INSERT INTO orgs (name, sector, created) VALUES ('kept', 'gas', 0)");
	assert_int_equal(store_commit(c), 0);
	assert_int_equal(store_commit(c), YG_EINVAL);
	/* A failed statement inside a transaction: rollback and carry on. */
	assert_int_equal(store_begin(c), 0);
	must_exec(c, "INSERT INTO orgs (name, sector, created) VALUES ('also gone', 'gas', 0)");
	assert_int_equal(store_exec(c, "INSERT INTO orgs (name, sector, created) VALUES ('kept', 'gas', 0)",
				    NULL, 0, NULL, NULL),
			 YG_ECONFLICT);
	assert_int_equal(store_rollback(c), 0);
	/* A transaction left open is rolled back by put. */
	assert_int_equal(store_begin(c), 0);
	must_exec(c, "INSERT INTO orgs (name, sector, created) VALUES ('abandoned', 'gas', 0)");
	store_conn_put(c);
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM orgs"), 1);
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM orgs WHERE name = 'kept'"), 1);
	store_close(st);
}

/* A COMMIT that fails (a deferred foreign key) ends the transaction on
 * both engines (SQLite would keep it open): the connection goes on. */
static void test_commit_fails(void **state)
{
	struct store *st = open_fresh();
	struct store_conn *c;

	(void)state;
	assert_int_equal(store_conn_get(st, &c), 0);
	must_exec(c, "CREATE TABLE t_parent (id BIGINT PRIMARY KEY)");
	must_exec(c, "CREATE TABLE t_child (pid BIGINT REFERENCES t_parent (id) "
		     "DEFERRABLE INITIALLY DEFERRED)");
	assert_int_equal(store_begin(c), 0);
	must_exec(c, "INSERT INTO t_child (pid) VALUES (1)");
	assert_int_equal(store_commit(c), YG_EINVAL);
	assert_true(store_conn_errmsg(c)[0] != '\0');
	assert_int_equal(store_begin(c), 0);
	must_exec(c, "INSERT INTO t_parent (id) VALUES (1)");
	must_exec(c, "INSERT INTO t_child (pid) VALUES (1)");
	assert_int_equal(store_commit(c), 0);
	store_conn_put(c);
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t_child"), 1);
	store_close(st);
}

static void test_returning_on_conflict(void **state)
{
	struct store *st = open_fresh();
	const char *ins = "INSERT INTO orgs (name, sector, created) VALUES (?, ?, ?) "
			  "ON CONFLICT (name) DO NOTHING RETURNING id";
	const char *ups = "INSERT INTO orgs (name, sector, created) VALUES (?, ?, ?) "
			  "ON CONFLICT (name) DO UPDATE SET sector = excluded.sector RETURNING id, sector";
	struct store_param p[3] = { store_text("JR East"), store_text("railways"), store_int64(7) };
	struct store_conn *c;
	struct store_res *r;
	int64_t id, id2, changed;

	(void)state;
	assert_int_equal(store_conn_get(st, &c), 0);
	assert_int_equal(store_exec(c, ins, p, 3, &r, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(store_res_nrows(r), 1);
	id = store_res_int64(r, 0, 0);
	assert_true(id > 0);
	store_res_free(r);
	assert_int_equal(store_exec(c, ins, p, 3, &r, &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(store_res_nrows(r), 0);
	store_res_free(r);
	p[1] = store_text("shipping");
	assert_int_equal(store_exec(c, ups, p, 3, &r, NULL), 0);
	assert_int_equal(store_res_nrows(r), 1);
	assert_int_equal(store_res_int64(r, 0, 0), id);
	assert_string_equal(store_res_text(r, 0, 1), "shipping");
	store_res_free(r);
	p[0] = store_text("ANA");
	assert_int_equal(store_exec(c, ins, p, 3, &r, NULL), 0);
	id2 = store_res_int64(r, 0, 0);
	assert_true(id2 > id);
	store_res_free(r);
	store_conn_put(c);
	store_close(st);
}

/* ---- batches ---- */

#define ALERT_INS "INSERT INTO alerts (sensor_id, alert_id, received, ts, src_ip, dest_ip, " \
		  "signature_id, severity, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) " \
		  "ON CONFLICT (sensor_id, alert_id) DO NOTHING"
#define ALERT_COLS 9

struct alert_rows {
	struct store_param *p;
	char (*ids)[24];
	size_t n;
};

static void alert_rows_make(struct alert_rows *a, int64_t sensor, size_t n, size_t first)
{
	static const char body[] = "{\"event_type\":\"alert\",\"alert\":{\"signature_id\":2024001,"
				   "\"signature\":\"ET SCAN\",\"severity\":2}}";

	a->n = n;
	a->p = calloc(n * ALERT_COLS, sizeof(*a->p));
	a->ids = calloc(n, sizeof(*a->ids));
	assert_non_null(a->p);
	assert_non_null(a->ids);
	for (size_t i = 0; i < n; i++) {
		struct store_param *r = a->p + i * ALERT_COLS;

		snprintf(a->ids[i], sizeof(a->ids[i]), "a%zu", first + i);
		r[0] = store_int64(sensor);
		r[1] = store_text(a->ids[i]);
		r[2] = store_int64(1700000000000000 + (int64_t)i);
		r[3] = store_int64(1700000000000000 + (int64_t)i);
		r[4] = store_text("198.51.100.7");
		r[5] = store_text("203.0.113.9");
		r[6] = store_int64(2024001);
		r[7] = store_int64(2);
		r[8] = store_text(body);
	}
}

static void alert_rows_free(struct alert_rows *a)
{
	free(a->p);
	free(a->ids);
}

static void test_batch_100k(void **state)
{
	struct store *st = open_fresh();
	int64_t sensor = add_user(st, "sensor-1", "sensor"), changed;
	struct alert_rows a;
	struct store_conn *c;
	size_t n = 100000;
	double t0, t1;

	(void)state;
	alert_rows_make(&a, sensor, n, 0);
	assert_int_equal(store_conn_get(st, &c), 0);
	t0 = now_s();
	if (store_exec_batch(c, ALERT_INS, ALERT_COLS, a.p, n, &changed) < 0)
		fail_msg("batch: %s", store_conn_errmsg(c));
	t1 = now_s();
	assert_int_equal(changed, n);
	printf("    batch: %zu rows in %.3f s = %.0f rows/s (one durable transaction)\n", n,
	       t1 - t0, (double)n / (t1 - t0));
	/* Retrying the same batch inserts nothing: idempotent by sensor+alert id. */
	assert_int_equal(store_exec_batch(c, ALERT_INS, ALERT_COLS, a.p, n, &changed), 0);
	assert_int_equal(changed, 0);
	/* Inside the caller's transaction, then rolled back: nothing stays. */
	alert_rows_free(&a);
	alert_rows_make(&a, sensor, 10, n);
	assert_int_equal(store_begin(c), 0);
	assert_int_equal(store_exec_batch(c, ALERT_INS, ALERT_COLS, a.p, 10, &changed), 0);
	assert_int_equal(changed, 10);
	assert_int_equal(store_rollback(c), 0);
	store_conn_put(c);
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM alerts"), n);
	alert_rows_free(&a);
	store_close(st);
}

/* store_insert_new(): every value type comes back as it went in, a batch
 * that mixes stored rows, new ones and a row sent twice stores each new row
 * once (on PostgreSQL the COPY is refused and the INSERT fallback runs), and
 * a bad row stores nothing of its batch. */
static void test_insert_new(void **state)
{
	static const uint8_t blob[] = { 0, '\t', '\n', '\\', 0xff, 0 };
	const char *text = "櫓\tyagura\n'q' \"x\" \\N \\ ?";
	struct store *st = open_fresh();
	struct store_param rows[6 * 4];
	struct store_conn *c;
	struct store_res *r;
	int64_t n = -1;
	const void *b;
	size_t len;

	(void)state;
	assert_int_equal(store_conn_get(st, &c), 0);
	must_exec(c, g_is_pg ? "CREATE TABLE tn (k BIGINT PRIMARY KEY, s TEXT NOT NULL, b BYTEA, i BIGINT)"
			     : "CREATE TABLE tn (k BIGINT PRIMARY KEY, s TEXT NOT NULL, b BLOB, i BIGINT)");
	store_conn_put(c);
	for (int k = 0; k < 6; k++) {
		rows[k * 4] = store_int64(k + 1);
		rows[k * 4 + 1] = store_text(k == 0 ? text : "plain");
		rows[k * 4 + 2] = k == 0 ? store_blob(blob, sizeof(blob)) : store_null();
		rows[k * 4 + 3] = k == 0 ? store_null() : store_int64(k == 1 ? INT64_MIN : k);
	}
	assert_int_equal(store_insert_new(st, "tn", "k, s, b, i", 4, rows, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_insert_new(st, "tn", "k, s, b, i", 4, rows, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_conn_get(st, &c), 0);
	assert_int_equal(store_exec(c, "SELECT k, s, b, i FROM tn ORDER BY k", NULL, 0, &r, NULL), 0);
	assert_int_equal(store_res_nrows(r), 3);
	assert_string_equal(store_res_text(r, 0, 1), text);
	b = store_res_blob(r, 0, 2, &len);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(b, blob, sizeof(blob));
	assert_true(store_res_isnull(r, 0, 3));
	assert_true(store_res_isnull(r, 1, 2));
	assert_true(store_res_int64(r, 1, 3) == INT64_MIN);
	assert_int_equal(store_res_int64(r, 2, 3), 2);
	store_res_free(r);
	store_conn_put(c);

	/* Rows 2 and 3 are stored; 4 comes twice; 5 is new. */
	struct store_param mixed[5 * 4];

	memcpy(mixed, rows + 4, 2 * 4 * sizeof(*rows));
	memcpy(mixed + 8, rows + 12, 4 * sizeof(*rows));
	memcpy(mixed + 12, rows + 12, 4 * sizeof(*rows));
	memcpy(mixed + 16, rows + 16, 4 * sizeof(*rows));
	assert_int_equal(store_insert_new(st, "tn", "k, s, b, i", 4, mixed, 5, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_insert_new(st, "tn", "k, s, b, i", 4, mixed, 5, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM tn"), 5);

	/* 100,000 alerts in one call: megabytes of COPY data, sent in pieces. */
	{
		int64_t sensor = add_user(st, "sensor-n", "sensor");
		struct alert_rows a;

		alert_rows_make(&a, sensor, 100000, 0);
		assert_int_equal(store_insert_new(st, "alerts",
						  "sensor_id, alert_id, received, ts, src_ip, dest_ip, "
						  "signature_id, severity, body",
						  ALERT_COLS, a.p, 100000, &n), 0);
		assert_int_equal(n, 100000);
		assert_int_equal(query_int(st, "SELECT COUNT(*) FROM alerts"), 100000);
		alert_rows_free(&a);
	}

	/* A NULL where the column refuses one: an error, and row 6 stays out. */
	rows[5 * 4 + 1] = store_null();
	assert_true(store_insert_new(st, "tn", "k, s, b, i", 4, rows + 16, 2, &n) < 0);
	assert_int_equal(n, 0);
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM tn"), 5);
	store_close(st);
}

static void test_batch_atomic_and_invalid(void **state)
{
	struct store *st = open_fresh();
	int64_t sensor = add_user(st, "sensor-1", "sensor"), changed = -1;
	const char *strict = "INSERT INTO alerts (sensor_id, alert_id, received, ts, src_ip, dest_ip, "
			     "signature_id, severity, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
	struct alert_rows a;
	struct store_conn *c;

	(void)state;
	alert_rows_make(&a, sensor, 2500, 0);
	a.p[2400 * ALERT_COLS + 1] = store_text("a5"); /* a duplicate late in the batch */
	assert_int_equal(store_conn_get(st, &c), 0);
	assert_int_equal(store_exec_batch(c, strict, ALERT_COLS, a.p, a.n, &changed), YG_ECONFLICT);
	assert_int_equal(changed, 0);
	assert_int_equal(store_exec_batch(c, "INSERT INTO alerts DEFAULT VALUES", ALERT_COLS, a.p,
					  a.n, NULL) < 0,
			 1);
	store_conn_put(c);
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM alerts"), 0);
	alert_rows_free(&a);
	store_close(st);
}

/* ---- threads and group commit ---- */

struct thr {
	struct store *st;
	int64_t sensor;
	int idx;
	int n;
	int failures;
	int conflicts;
};

struct one_alert {
	int64_t sensor;
	const char *id;
};

static int insert_one(struct store_conn *c, void *arg)
{
	struct one_alert *a = arg;
	struct store_param p[ALERT_COLS] = {
		store_int64(a->sensor), store_text(a->id), store_int64(1), store_int64(2),
		store_text("192.0.2.1"), store_text("192.0.2.2"), store_int64(1), store_int64(3),
		store_text("{}")
	};

	/* Without ON CONFLICT, so that a duplicate is reported. */
	return store_exec(c, "INSERT INTO alerts (sensor_id, alert_id, received, ts, src_ip, "
			     "dest_ip, signature_id, severity, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			  p, ALERT_COLS, NULL, NULL);
}

static void *thr_conn(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < t->n; i++) {
		char id[32];
		struct one_alert a = { t->sensor, id };
		struct store_conn *c;

		snprintf(id, sizeof(id), "c%d-%d", t->idx, i);
		if (store_conn_get(t->st, &c) < 0 || insert_one(c, &a) < 0)
			t->failures++;
		store_conn_put(c);
	}
	return NULL;
}

static void *thr_group(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < t->n; i++) {
		char id[32];
		struct one_alert a = { t->sensor, id };
		int rc;

		/* every 10th is a duplicate of one already stored */
		if (i % 10 == 9)
			snprintf(id, sizeof(id), "g%d-%d", t->idx, i - 1);
		else
			snprintf(id, sizeof(id), "g%d-%d", t->idx, i);
		rc = store_group_run(t->st, insert_one, &a);
		if (rc == YG_ECONFLICT)
			t->conflicts++;
		else if (rc < 0)
			t->failures++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct store_opts o = { .pool_size = 4 };
	struct store *st = NULL;
	pthread_t tid[8];
	struct thr t[8];
	char err[256];
	int64_t sensor;

	(void)state;
	reset_db();
	assert_int_equal(store_open_ex(g_url, &o, &st, err, sizeof(err)), 0);
	sensor = add_user(st, "sensor-1", "sensor");
	for (int i = 0; i < 8; i++) {
		t[i] = (struct thr){ .st = st, .sensor = sensor, .idx = i, .n = 200 };
		pthread_create(&tid[i], NULL, i < 4 ? thr_conn : thr_group, &t[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(t[i].failures, 0);
		assert_int_equal(t[i].conflicts, i < 4 ? 0 : 20);
	}
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM alerts WHERE alert_id LIKE 'c%'"), 800);
	assert_int_equal(query_int(st, "SELECT COUNT(*) FROM alerts WHERE alert_id LIKE 'g%'"), 720);
	store_close(st);
}

/* What the engine says of itself: group commits, and marks of the write
 * transactions running (store.h). A mark is settled once the writer
 * running when it was taken has ended; SQLite, whose writers commit before
 * anyone sees their ids, settles every mark at once; PostgreSQL not before
 * a second has passed. */
static void test_engine_properties(void **state)
{
	struct store *st = open_fresh();
	struct store_conn *w, *c;
	struct store_txmark m, idle;
	int running = -1, idle_later = -1, running_later = -1, ended = 0;
	double t0;

	(void)state;
	assert_int_equal(store_group_commits(st), !g_is_pg);
	assert_int_equal(store_conn_get(st, &w), 0);
	assert_int_equal(store_conn_get(st, &c), 0);
	assert_int_equal(store_txmark_take(c, &idle), 0);
	assert_int_equal(store_begin(w), 0);
	must_exec(w, "INSERT INTO orgs (name, sector, created) VALUES ('in flight', 'gas', 0)");
	/* What the marks say is asserted after w ends: a failure with w open
	 * would hold the next test's DROP SCHEMA up. */
	t0 = now_s();
	if (store_txmark_take(c, &m) == 0) {
		running = store_txmark_settled(c, &m);
		usleep(1100000);
		/* On a server other tests share (ctest -j2), their transactions
		 * may still run past the second: wait for them, with w open. */
		while ((idle_later = store_txmark_settled(c, &idle)) == 0 && now_s() - t0 < 6)
			usleep(50000);
		running_later = store_txmark_settled(c, &m);
	}
	assert_int_equal(store_commit(w), 0);
	store_conn_put(w);
	while ((ended = store_txmark_settled(c, &m)) == 0 && now_s() - t0 < 5)
		usleep(50000);
	store_conn_put(c);
	store_close(st);
	assert_int_equal(running, !g_is_pg);
	assert_int_equal(idle_later, 1); /* nobody ran then */
	assert_int_equal(running_later, !g_is_pg); /* PostgreSQL: w still ran */
	assert_int_equal(ended, 1);
}

/* ---- durability: SIGKILL after acknowledgements ---- */

struct dur_thr {
	struct store *st;
	int64_t sensor;
	int fd;
	int idx;
	int group;
};

static void *dur_writer(void *arg)
{
	struct dur_thr *d = arg;

	for (int64_t i = 0;; i++) {
		int64_t id = (int64_t)d->idx * 100000000 + i;
		char sid[32];
		struct one_alert a = { d->sensor, sid };
		struct store_conn *c;
		int rc;

		snprintf(sid, sizeof(sid), "%" PRId64, id);
		if (d->group) {
			rc = store_group_run(d->st, insert_one, &a);
		} else {
			rc = store_conn_get(d->st, &c);
			if (rc == 0)
				rc = insert_one(c, &a);
			store_conn_put(c);
		}
		if (rc < 0)
			_exit(3);
		/* The acknowledgement: 8 bytes, atomic on a pipe. */
		if (write(d->fd, &id, sizeof(id)) != sizeof(id))
			_exit(4);
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The pool hands a connection to the thread that has waited longest: one
 * that puts its connection back and asks again at once does not get ahead
 * of a waiter. */
struct pool_waiter_arg {
	struct store *st;
	volatile int got;
};

static void *pool_waiter_thr(void *arg)
{
	struct pool_waiter_arg *a = arg;
	struct store_conn *c;

	if (store_conn_get(a->st, &c) == 0) {
		a->got = 1;
		usleep(20000);
		store_conn_put(c);
	}
	return NULL;
}

/* SQLite's page cache per connection is the one the options ask for, or
 * 16 MiB: the tower's memory for it is the pool times this (docs/store.md). */
static void test_cache_size(void **state)
{
	struct store_opts o = { .cache_kib = 2048 };
	struct store *st;
	char err[256];

	(void)state;
	if (g_is_pg)
		skip();
	reset_db();
	assert_int_equal(store_open_ex(g_url, &o, &st, err, sizeof(err)), 0);
	assert_int_equal(query_int(st, "PRAGMA cache_size"), -2048);
	store_close(st);
	assert_int_equal(store_open_ex(g_url, NULL, &st, err, sizeof(err)), 0);
	assert_int_equal(query_int(st, "PRAGMA cache_size"), -16384);
	store_close(st);
}

static void test_pool_fifo(void **state)
{
	struct store_opts o = { .pool_size = 1 };
	struct pool_waiter_arg a = { .got = 0 };
	struct store_conn *c;
	struct store *st;
	pthread_t tid;
	char err[256];

	(void)state;
	reset_db();
	assert_int_equal(store_open_ex(g_url, &o, &st, err, sizeof(err)), 0);
	a.st = st;
	assert_int_equal(store_conn_get(st, &c), 0);
	pthread_create(&tid, NULL, pool_waiter_thr, &a);
	usleep(300000); /* the waiter is queued by now */
	store_conn_put(c);
	assert_int_equal(store_conn_get(st, &c), 0);
	assert_int_equal(a.got, 1);
	store_conn_put(c);
	pthread_join(tid, NULL);
	store_close(st);
}

static void test_durability_sigkill(void **state)
{
	struct store *st = open_fresh();
	int64_t sensor = add_user(st, "sensor-1", "sensor");
	int64_t *acked = NULL, *stored, id;
	size_t nacked = 0, cap = 0, nstored, j;
	struct store_conn *c;
	struct store_res *r;
	int fds[2], status;
	pid_t pid;

	(void)state;
	store_close(st);
	assert_int_equal(pipe(fds), 0);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct dur_thr d[4];
		pthread_t tid[4];

		close(fds[0]);
		if (store_open(g_url, &st, (char[256]){ 0 }, 256) < 0)
			_exit(2);
		for (int i = 0; i < 4; i++) {
			d[i] = (struct dur_thr){ st, sensor, fds[1], i, i >= 2 };
			pthread_create(&tid[i], NULL, dur_writer, &d[i]);
		}
		for (int i = 0; i < 4; i++)
			pthread_join(tid[i], NULL);
		_exit(0);
	}
	close(fds[1]);
	usleep(200000 + (useconds_t)(rand() % 600000));
	kill(pid, SIGKILL);
	/* Drain every acknowledgement written before the kill. */
	for (;;) {
		ssize_t got;

		if (nacked == cap) {
			cap = cap ? cap * 2 : 4096;
			acked = realloc(acked, cap * sizeof(*acked));
			assert_non_null(acked);
		}
		got = read(fds[0], &id, sizeof(id));
		if (got == 0)
			break;
		if (got < 0 && errno == EINTR)
			continue;
		assert_int_equal(got, sizeof(id));
		acked[nacked++] = id;
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	st = open_store();
	assert_int_equal(store_conn_get(st, &c), 0);
	assert_int_equal(store_exec(c, "SELECT alert_id FROM alerts", NULL, 0, &r, NULL), 0);
	nstored = store_res_nrows(r);
	stored = calloc(nstored + 1, sizeof(*stored));
	assert_non_null(stored);
	for (size_t i = 0; i < nstored; i++)
		stored[i] = strtoll(store_res_text(r, i, 0), NULL, 10);
	store_res_free(r);
	store_conn_put(c);
	qsort(stored, nstored, sizeof(*stored), cmp_i64);
	qsort(acked, nacked, sizeof(*acked), cmp_i64);
	printf("    durability: %zu acknowledged before SIGKILL, %zu stored\n", nacked, nstored);
	assert_true(nacked > 0);
	for (size_t i = 0, k = 0; i < nacked; i++) {
		while (k < nstored && stored[k] < acked[i])
			k++;
		if (k == nstored || stored[k] != acked[i])
			fail_msg("acknowledged alert %" PRId64 " is missing after SIGKILL", acked[i]);
	}
	j = nstored - nacked;
	assert_true(j <= 4); /* at most one unacknowledged write in flight per writer */
	free(acked);
	free(stored);
	store_close(st);
}

/* ---- measurements (YAGURA_STORE_BENCH=1) ---- */

struct bench_thr {
	struct store *st;
	int64_t sensor;
	int idx;
	double until;
	long done;
	int group;
};

static void *bench_writer(void *arg)
{
	struct bench_thr *b = arg;

	while (now_s() < b->until) {
		char sid[32];
		struct one_alert a = { b->sensor, sid };
		struct store_conn *c;
		int rc;

		snprintf(sid, sizeof(sid), "b%d-%ld", b->idx, b->done);
		if (b->group) {
			rc = store_group_run(b->st, insert_one, &a);
		} else {
			rc = store_conn_get(b->st, &c);
			if (rc == 0)
				rc = insert_one(c, &a);
			store_conn_put(c);
		}
		if (rc < 0)
			fail_msg("bench insert failed: %s", yg_strerror(rc));
		b->done++;
	}
	return NULL;
}

static void bench_run(struct store *st, int64_t sensor, int nthr, int group, const char *what)
{
	struct bench_thr b[64];
	pthread_t tid[64];
	double t0 = now_s(), secs = 2.0;
	long total = 0;

	for (int i = 0; i < nthr; i++) {
		b[i] = (struct bench_thr){ st, sensor, i + (group ? 1000 : 0) + nthr * 100, t0 + secs, 0, group };
		pthread_create(&tid[i], NULL, bench_writer, &b[i]);
	}
	for (int i = 0; i < nthr; i++) {
		pthread_join(tid[i], NULL);
		total += b[i].done;
	}
	printf("    %-40s %8.0f durable inserts/s (%ld in %.1f s)\n", what,
	       (double)total / (now_s() - t0), total, now_s() - t0);
}

static void test_measure(void **state)
{
	struct store_opts o = { .pool_size = 16 };
	struct store *st = NULL;
	char err[256];
	int64_t sensor;

	(void)state;
	if (!getenv("YAGURA_STORE_BENCH")) {
		skip();
		return;
	}
	reset_db();
	assert_int_equal(store_open_ex(g_url, &o, &st, err, sizeof(err)), 0);
	sensor = add_user(st, "sensor-1", "sensor");
	bench_run(st, sensor, 1, 0, "1 thread, one commit each");
	bench_run(st, sensor, 16, 0, "16 threads, one commit each");
	bench_run(st, sensor, 16, 1, "16 threads, store_group_run");
	bench_run(st, sensor, 64, 1, "64 threads, store_group_run");
	store_close(st);
}

/* ---- groups ---- */

static int setup_sqlite(void **state)
{
	(void)state;
	g_is_pg = 0;
	snprintf(g_sqlite_path, sizeof(g_sqlite_path), "%s/yg-test-store-%d.db",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	snprintf(g_url, sizeof(g_url), "sqlite:%s", g_sqlite_path);
	return 0;
}

static int teardown_sqlite(void **state)
{
	(void)state;
	reset_db();
	return 0;
}

static int setup_pg(void **state)
{
	const char *base = getenv("YAGURA_TEST_PG_URL");

	(void)state;
	g_is_pg = 1;
	snprintf(g_pg_schema, sizeof(g_pg_schema), "yg_store_test_%d", (int)getpid());
	/* Every connection of this run works in its own schema. */
	snprintf(g_url, sizeof(g_url), "%s%coptions=-csearch_path%%3D%s", base,
		 strchr(base, '?') ? '&' : '?', g_pg_schema);
	return 0;
}

static int teardown_pg(void **state)
{
	char err[256], sql[128];
	struct store_opts o = { .no_migrate = 1, .pool_size = 1 };
	struct store_conn *c;
	struct store *st;

	(void)state;
	if (store_open_ex(g_url, &o, &st, err, sizeof(err)) < 0)
		return -1;
	if (store_conn_get(st, &c) == 0) {
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", g_pg_schema);
		if (store_exec(c, sql, NULL, 0, NULL, NULL) < 0)
			fprintf(stderr, "teardown: %s\n", store_conn_errmsg(c));
		store_conn_put(c);
	}
	store_close(st);
	return 0;
}


/* ---- jobs ---- */

static int64_t job_runs(struct store *st, const char *name, char *tower, size_t n)
{
	struct store_param p[] = { store_text(name) };
	struct store_conn *c;
	struct store_res *r;
	int64_t runs = 0;

	assert_int_equal(store_conn_get(st, &c), 0);
	if (store_exec(c, "SELECT runs, tower FROM jobs WHERE name = ?", p, 1, &r, NULL) < 0)
		fail_msg("jobs: %s", store_conn_errmsg(c));
	if (store_res_nrows(r) == 1) {
		runs = store_res_int64(r, 0, 0);
		snprintf(tower, n, "%s", store_res_text(r, 0, 1));
	}
	store_res_free(r);
	store_conn_put(c);
	return runs;
}

/* Two towers on one store (two store handles, two sessions): a job is
 * one tower's at a time on PostgreSQL; an interval holds for both on
 * either engine; a tower killed while holding a job frees it. */
static void test_jobs(void **state)
{
	struct store *a = open_fresh(), *b = open_store();
	struct store_job *ja = NULL, *jb = NULL;
	char tower[64] = "";
	(void)state;

	assert_int_equal(store_job_take(a, "pass", 0, "a", &ja), 1);
	assert_non_null(ja);
	/* PostgreSQL: held by a; SQLite serves one process, nothing held. */
	assert_int_equal(store_job_take(b, "pass", 0, "b", &jb), g_is_pg ? 0 : 1);
	if (jb != NULL)
		store_job_done(jb);
	jb = NULL;
	assert_int_equal(store_job_take(b, "other", 0, "b", &jb), 1); /* another job is free */
	store_job_done(jb);
	store_job_done(ja);
	assert_int_equal(store_job_take(b, "pass", 0, "b", &jb), 1); /* released */
	store_job_done(jb);
	assert_int_equal(job_runs(a, "pass", tower, sizeof(tower)), 0); /* no interval: no row */

	/* Once per interval across both. */
	assert_int_equal(store_job_take(a, "hourly", 3600, "a", &ja), 1);
	if (g_is_pg)
		assert_int_equal(store_job_take(b, "hourly", 3600, "b", &jb), 0);
	store_job_done(ja);
	assert_int_equal(store_job_take(b, "hourly", 3600, "b", &jb), 0);
	assert_int_equal(store_job_take(a, "hourly", 3600, "a", &ja), 0);
	assert_int_equal(job_runs(a, "hourly", tower, sizeof(tower)), 1);
	assert_string_equal(tower, "a");
	usleep(2000);
	assert_int_equal(store_job_take(b, "hourly", 0.001, "b", &jb), 1); /* a shorter interval is due */
	store_job_done(jb);
	assert_int_equal(job_runs(a, "hourly", tower, sizeof(tower)), 2);
	assert_string_equal(tower, "b");
	assert_int_equal(store_job_take(a, "a name longer than any job's may be, which store_job_take refuses as such", 0,
				       "a", &ja), YG_EINVAL);

	if (g_is_pg) {
		/* A tower killed while it holds a job: the server ends its
		 * session, and the job is free again. */
		int fds[2];
		pid_t pid;
		char ok = 0;

		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct store *k = open_store();
			struct store_job *jk = NULL;
			char r = store_job_take(k, "pass", 0, "killed", &jk) == 1 ? 'y' : 'n';

			if (write(fds[1], &r, 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		close(fds[1]);
		assert_int_equal(read(fds[0], &ok, 1), 1);
		close(fds[0]);
		assert_int_equal(ok, 'y');
		assert_int_equal(store_job_take(a, "pass", 0, "a", &ja), 0);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		int rc = 0;
		for (int i = 0; i < 100 && (rc = store_job_take(a, "pass", 0, "a", &ja)) == 0; i++)
			usleep(50000);
		assert_int_equal(rc, 1);
		store_job_done(ja);
	}
	store_close(b);
	store_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_fresh),
		cmocka_unit_test(test_migrate_reopen_noop),
		cmocka_unit_test(test_migrate_newer_refused),
		cmocka_unit_test(test_migrate_concurrent),
		cmocka_unit_test(test_param_types),
		cmocka_unit_test(test_placeholders_in_literals),
		cmocka_unit_test(test_constraint_errors),
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_commit_fails),
		cmocka_unit_test(test_returning_on_conflict),
		cmocka_unit_test(test_batch_100k),
		cmocka_unit_test(test_batch_atomic_and_invalid),
		cmocka_unit_test(test_insert_new),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_pool_fifo),
		cmocka_unit_test(test_cache_size),
		cmocka_unit_test(test_engine_properties),
		cmocka_unit_test(test_durability_sigkill),
		cmocka_unit_test(test_jobs),
		cmocka_unit_test(test_measure),
	};
	int failed;

	failed = cmocka_run_group_tests_name("store/sqlite", tests, setup_sqlite, teardown_sqlite);
	if (getenv("YAGURA_TEST_PG_URL") && *getenv("YAGURA_TEST_PG_URL"))
		failed += cmocka_run_group_tests_name("store/postgres", tests, setup_pg, teardown_pg);
	else
		printf("store/postgres: SKIPPED (YAGURA_TEST_PG_URL is not set; "
		       "scripts/pg-test.sh start prints one)\n");
	return failed ? 1 : 0;
}
