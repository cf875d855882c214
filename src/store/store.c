/* store.c - the engine-neutral half of the store: URL dispatch, the
 * connection pool, placeholder rewriting, transactions, group commit,
 * migrations and materialized results. */
#include "store/store_int.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"

#define STORE_POOL_DEFAULT 8
#define STORE_BUSY_DEFAULT 10000
#define STORE_CACHE_DEFAULT 16384 /* KiB: 16 MiB per connection */
#define STORE_ANSWER_DEFAULT 60000
#define GROUP_MAX 512 /* units of work per group transaction */

static char *str_dup(const char *s)
{
	size_t n = strlen(s);
	char *d = yg_malloc(n + 1);

	if (d)
		memcpy(d, s, n + 1);
	return d;
}

void store_conn_seterr(struct store_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
}

const char *store_conn_errmsg(const struct store_conn *c)
{
	return c->errmsg;
}

/* ---- SQL text helpers ---- */

/* If s[i] opens a string literal, quoted identifier or comment, returns the
 * index just past it; otherwise returns i. */
static size_t sql_skip(const char *s, size_t i)
{
	size_t j;

	if (s[i] == '\'' || s[i] == '"') {
		char q = s[i];

		for (j = i + 1; s[j]; j++) {
			if (s[j] == q) {
				if (s[j + 1] == q) { /* doubled quote */
					j++;
					continue;
				}
				return j + 1;
			}
		}
		return j;
	}
	if (s[i] == '-' && s[i + 1] == '-') {
		for (j = i + 2; s[j] && s[j] != '\n'; j++)
			;
		return j;
	}
	if (s[i] == '/' && s[i + 1] == '*') {
		for (j = i + 2; s[j]; j++)
			if (s[j] == '*' && s[j + 1] == '/')
				return j + 2;
		return j;
	}
	return i;
}

char *store_sql_to_dollar(const char *sql, unsigned first, unsigned *count)
{
	size_t len = strlen(sql), nq = 0, i, j, o = 0;
	unsigned n = first;
	char *out;

	for (i = 0; sql[i];) {
		j = sql_skip(sql, i);
		if (j != i) {
			i = j;
			continue;
		}
		nq += sql[i] == '?';
		i++;
	}
	out = yg_malloc(len + nq * 10 + 1);
	if (!out)
		return NULL;
	for (i = 0; sql[i];) {
		j = sql_skip(sql, i);
		if (j != i) {
			memcpy(out + o, sql + i, j - i);
			o += j - i;
			i = j;
			continue;
		}
		if (sql[i] == '?')
			o += (size_t)snprintf(out + o, 12, "$%u", n++);
		else
			out[o++] = sql[i];
		i++;
	}
	out[o] = '\0';
	if (count)
		*count = n - first;
	return out;
}

static int is_word(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

char *store_sql_expand_values(const char *sql, size_t ncols, size_t k)
{
	size_t i, j, open = 0, close = 0, nq_in = 0, nq_all = 0, depth = 0, tlen, o = 0;
	int found = 0;
	char *out;

	for (i = 0; sql[i];) {
		j = sql_skip(sql, i);
		if (j != i) {
			i = j;
			continue;
		}
		if (sql[i] == '?') {
			nq_all++;
			if (found == 1)
				nq_in++;
		}
		if (!found && strncasecmp(sql + i, "values", 6) == 0 &&
		    (i == 0 || !is_word(sql[i - 1])) && !is_word(sql[i + 6])) {
			i += 6;
			while (isspace((unsigned char)sql[i]))
				i++;
			if (sql[i] != '(')
				return NULL;
			open = i;
			found = 1;
			depth = 1;
			i++;
			continue;
		}
		if (found == 1) {
			if (sql[i] == '(')
				depth++;
			else if (sql[i] == ')' && --depth == 0) {
				close = i;
				found = 2;
			}
		}
		i++;
	}
	if (found != 2 || nq_in != ncols || nq_all != ncols || k == 0)
		return NULL;
	tlen = close - open + 1;
	out = yg_malloc(strlen(sql) + (tlen + 2) * k + 1);
	if (!out)
		return NULL;
	memcpy(out, sql, open);
	o = open;
	for (i = 0; i < k; i++) {
		if (i) {
			out[o++] = ',';
			out[o++] = ' ';
		}
		memcpy(out + o, sql + open, tlen);
		o += tlen;
	}
	memcpy(out + o, sql + close + 1, strlen(sql + close + 1) + 1);
	return out;
}

/* ---- pool ---- */

static int pool_init(struct store *st, unsigned n)
{
	st->conns = yg_calloc(n, sizeof(*st->conns));
	if (!st->conns)
		return YG_ENOMEM;
	st->nconns = n;
	st->nfree = n;
	for (unsigned i = 0; i < n; i++)
		st->conns[i].st = st;
	pthread_mutex_init(&st->mu, NULL);
	pthread_mutex_init(&st->gmu, NULL);
	pthread_cond_init(&st->gcv, NULL);
	return 0;
}

/* A thread waiting for a connection. Connections go to waiters in the order
 * they came, handed over directly: a pool where the thread that just put a
 * connection back can take it again lets others wait without bound. */
struct pool_waiter {
	pthread_cond_t cv;
	struct store_conn *c;
	struct pool_waiter *next;
};

/* c back to the pool, or to the thread that has waited longest. */
static void pool_release(struct store *st, struct store_conn *c)
{
	struct pool_waiter *w;

	pthread_mutex_lock(&st->mu);
	if ((w = st->whead) != NULL) {
		st->whead = w->next;
		if (!st->whead)
			st->wtail = NULL;
		w->c = c; /* stays busy: it changes hands */
		pthread_cond_signal(&w->cv);
	} else {
		c->busy = 0;
		st->nfree++;
	}
	pthread_mutex_unlock(&st->mu);
}

int store_conn_get(struct store *st, struct store_conn **out)
{
	struct store_conn *c = NULL;
	unsigned i;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&st->mu);
	if (st->nfree == 0 || st->whead) {
		struct pool_waiter w = { .c = NULL };

		pthread_cond_init(&w.cv, NULL);
		if (st->wtail)
			st->wtail->next = &w;
		else
			st->whead = &w;
		st->wtail = &w;
		while (!w.c)
			pthread_cond_wait(&w.cv, &st->mu);
		pthread_cond_destroy(&w.cv);
		c = w.c;
	} else {
		/* prefer a connection that is already open */
		for (i = 0; i < st->nconns; i++) {
			if (st->conns[i].busy)
				continue;
			if (!c || (!c->db && st->conns[i].db))
				c = &st->conns[i];
			if (c->db)
				break;
		}
		c->busy = 1;
		st->nfree--;
	}
	pthread_mutex_unlock(&st->mu);

	c->errmsg[0] = '\0';
	if (!c->db)
		rc = st->ops->connect(st, c);
	else
		rc = st->ops->check(c) ? 0 : YG_EIO;
	if (rc < 0) {
		log_warnx("store: cannot connect: %s", c->errmsg);
		if (c->db)
			st->ops->disconnect(c);
		pool_release(st, c);
		return rc;
	}
	*out = c;
	return 0;
}

void store_conn_put(struct store_conn *c)
{
	struct store *st;

	if (!c)
		return;
	st = c->st;
	if (store_rollback(c) < 0) {
		log_warnx("store: rollback on put failed, dropping connection: %s", c->errmsg);
		st->ops->disconnect(c);
	}
	pool_release(st, c);
}

void store_conn_drop(struct store_conn *c)
{
	if (!c)
		return;
	if (c->db)
		c->st->ops->disconnect(c);
	pool_release(c->st, c);
}

/* ---- statements ---- */

int store_exec(struct store_conn *c, const char *sql, const struct store_param *params,
	       size_t n, struct store_res **res, int64_t *changed)
{
	if (res)
		*res = NULL;
	if (changed)
		*changed = 0;
	return c->st->ops->exec(c, sql, params, n, res, changed);
}

static int exec_simple(struct store_conn *c, const char *sql)
{
	return c->st->ops->exec(c, sql, NULL, 0, NULL, NULL);
}

int store_begin(struct store_conn *c)
{
	int rc;

	if (c->in_tx) {
		store_conn_seterr(c, "store_begin: a transaction is already open");
		return YG_EINVAL;
	}
	rc = exec_simple(c, c->st->ops->begin);
	if (rc == 0)
		c->in_tx = 1;
	return rc;
}

int store_commit(struct store_conn *c)
{
	int rc;

	if (!c->in_tx) {
		store_conn_seterr(c, "store_commit: no transaction is open");
		return YG_EINVAL;
	}
	rc = exec_simple(c, "COMMIT");
	if (rc < 0) {
		/* An engine may keep the transaction open after a failed
		 * COMMIT (SQLite on SQLITE_BUSY) or have ended it (PostgreSQL,
		 * which answers this ROLLBACK with a warning): end it. */
		char keep[STORE_ERRMSG_MAX];

		memcpy(keep, c->errmsg, sizeof(keep));
		(void)exec_simple(c, "ROLLBACK");
		memcpy(c->errmsg, keep, sizeof(keep));
	}
	c->in_tx = 0;
	return rc;
}

int store_rollback(struct store_conn *c)
{
	char keep[STORE_ERRMSG_MAX];
	int rc = 0;

	/* The engine's word decides, not c->in_tx: a statement that failed
	 * for want of memory may have ended the transaction (SQLite rolls
	 * back by itself) or left one open that c->in_tx does not know of,
	 * and a ROLLBACK may fail the same way. A connection put back with a
	 * transaction open would refuse every later BEGIN. The message of
	 * what failed before is kept. */
	c->in_tx = 0;
	if (!c->st->ops->tx_open(c))
		return 0;
	memcpy(keep, c->errmsg, sizeof(keep));
	for (int tries = 0; tries < 2 && c->st->ops->tx_open(c); tries++)
		rc = exec_simple(c, "ROLLBACK");
	if (c->st->ops->tx_open(c))
		return rc < 0 ? rc : YG_EIO;
	memcpy(c->errmsg, keep, sizeof(keep));
	return 0;
}

int store_exec_batch(struct store_conn *c, const char *sql, size_t ncols,
		     const struct store_param *rows, size_t nrows, int64_t *changed)
{
	int own = !c->in_tx, rc;

	if (changed)
		*changed = 0;
	if (nrows == 0)
		return 0;
	if (ncols == 0) {
		store_conn_seterr(c, "store_exec_batch: no columns");
		return YG_EINVAL;
	}
	if (own && (rc = store_begin(c)) < 0)
		return rc;
	if (!own && (rc = exec_simple(c, "SAVEPOINT yg_batch")) < 0)
		return rc;
	rc = c->st->ops->batch(c, sql, ncols, rows, nrows, changed);
	if (rc < 0) {
		char keep[STORE_ERRMSG_MAX];

		memcpy(keep, c->errmsg, sizeof(keep));
		if (own)
			(void)store_rollback(c);
		else if (exec_simple(c, "ROLLBACK TO SAVEPOINT yg_batch") == 0)
			(void)exec_simple(c, "RELEASE SAVEPOINT yg_batch");
		memcpy(c->errmsg, keep, sizeof(keep));
		if (changed)
			*changed = 0;
		return rc;
	}
	if (own)
		return store_commit(c);
	return exec_simple(c, "RELEASE SAVEPOINT yg_batch");
}

struct insert_new_work {
	const char *sql;
	size_t ncols;
	const struct store_param *rows;
	size_t nrows;
	int64_t changed;
};

static int insert_new_run(struct store_conn *c, void *arg)
{
	struct insert_new_work *w = arg;

	return store_exec_batch(c, w->sql, w->ncols, w->rows, w->nrows, &w->changed);
}

/* INSERT INTO table (cols) VALUES (?, ...) ON CONFLICT DO NOTHING, or NULL. */
static char *insert_new_sql(const char *table, const char *cols, size_t ncols)
{
	size_t len = strlen(table) + strlen(cols) + 3 * ncols + 64;
	char *sql, *q;

	if (ncols == 0 || (sql = yg_malloc(len)) == NULL)
		return NULL;
	/* len holds it all: the fixed text, "?" and ", ?" per column. */
	q = sql + snprintf(sql, len, "INSERT INTO %s (%s) VALUES (?", table, cols);
	for (size_t i = 1; i < ncols; i++, q += 3)
		memcpy(q, ", ?", 3);
	memcpy(q, ") ON CONFLICT DO NOTHING", sizeof(") ON CONFLICT DO NOTHING"));
	return sql;
}

int store_insert_new_in(struct store_conn *c, const char *table, const char *cols, size_t ncols,
			const struct store_param *rows, size_t nrows, int bulk, int64_t *inserted)
{
	char *sql;
	int rc;

	*inserted = 0;
	if (nrows == 0)
		return 0;
	if (!c->in_tx) {
		store_conn_seterr(c, "store: insert_new_in outside a transaction");
		return YG_EINVAL;
	}
	if (bulk && c->st->ops->insert_new != NULL)
		return c->st->ops->insert_new(c, table, cols, ncols, rows, nrows, inserted);
	if ((sql = insert_new_sql(table, cols, ncols)) == NULL)
		return ncols == 0 ? YG_EINVAL : YG_ENOMEM;
	rc = store_exec_batch(c, sql, ncols, rows, nrows, inserted);
	free(sql);
	return rc;
}

int store_insert_new(struct store *st, const char *table, const char *cols, size_t ncols,
		     const struct store_param *rows, size_t nrows, int64_t *inserted)
{
	struct insert_new_work w = { .ncols = ncols, .rows = rows, .nrows = nrows };
	struct store_conn *c;
	char *sql;
	int rc;

	*inserted = 0;
	if (nrows == 0)
		return 0;
	if ((sql = insert_new_sql(table, cols, ncols)) == NULL)
		return ncols == 0 ? YG_EINVAL : YG_ENOMEM;
	w.sql = sql;
	if (st->ops->insert_new == NULL) {
		rc = store_group_run(st, insert_new_run, &w);
	} else if ((rc = store_conn_get(st, &c)) == 0) {
		rc = st->ops->insert_new(c, table, cols, ncols, rows, nrows, &w.changed);
		if (rc == YG_ECONFLICT) /* a retry: some rows are there already */
			rc = insert_new_run(c, &w);
		if (rc < 0)
			log_warnx("store: insert into %s: %s", table, c->errmsg);
		store_conn_put(c);
	}
	free(sql);
	if (rc == 0)
		*inserted = w.changed;
	return rc;
}

/* ---- group commit ---- */

struct group_req {
	store_work_fn fn;
	void *arg;
	int rc;
	int done;
	struct group_req *next;
};

/* The group leader's own connection, outside the pool: its commits are not
 * durable by themselves; store_group_run() syncs before answering. */
static int group_conn(struct store *st, struct store_conn **out)
{
	struct store_conn *c = &st->gconn;
	int rc;

	*out = NULL;
	if (c->db == NULL) {
		c->st = st;
		rc = st->ops->group_connect(st, c);
		if (rc < 0) {
			log_warnx("store: group connection: %s", c->errmsg);
			if (c->db)
				st->ops->disconnect(c);
			return rc;
		}
	}
	*out = c;
	return 0;
}

/* Runs one group as leader: the requests are already off the queue. */
static void group_lead(struct store *st, struct group_req *head)
{
	struct store_conn *c;
	struct group_req *r;
	int rc;

	rc = group_conn(st, &c);
	if (rc == 0)
		rc = store_begin(c);
	if (rc < 0)
		goto fail;
	for (r = head; r; r = r->next) {
		rc = exec_simple(c, "SAVEPOINT yg_group");
		if (rc < 0)
			goto fail;
		r->rc = r->fn(c, r->arg);
		if (r->rc < 0) {
			if ((rc = exec_simple(c, "ROLLBACK TO SAVEPOINT yg_group")) < 0)
				goto fail;
		}
		if ((rc = exec_simple(c, "RELEASE SAVEPOINT yg_group")) < 0)
			goto fail;
	}
	rc = store_commit(c);
	if (rc < 0)
		goto fail;
	return;
fail:
	if (c) {
		log_warnx("store: group commit failed: %s", c->errmsg);
		if (store_rollback(c) < 0)
			st->ops->disconnect(c); /* reconnected by the next group */
	}
	for (r = head; r; r = r->next)
		r->rc = rc;
}

/* PostgreSQL already flushes the WAL of concurrent commits together, and a
 * shared transaction would cost three round trips per unit (savepoint, work,
 * release) on one connection: there each unit gets its own transaction on
 * its own pooled connection, which measured about twice as fast. */
static int group_run_alone(struct store *st, store_work_fn fn, void *arg)
{
	struct store_conn *c;
	int rc, frc;

	if ((rc = store_conn_get(st, &c)) < 0)
		return rc;
	if ((rc = store_begin(c)) < 0)
		goto out;
	frc = fn(c, arg);
	if (frc < 0) {
		rc = frc;
		goto out; /* put rolls back */
	}
	rc = store_commit(c);
out:
	store_conn_put(c);
	return rc;
}

int store_group_run(struct store *st, store_work_fn fn, void *arg)
{
	struct group_req me = { .fn = fn, .arg = arg };

	if (st->ops->sync == NULL)
		return group_run_alone(st, fn, arg);
	pthread_mutex_lock(&st->gmu);
	if (st->gtail)
		st->gtail->next = &me;
	else
		st->ghead = &me;
	st->gtail = &me;
	while (!me.done) {
		struct group_req *head, *r, *last;
		unsigned n;
		int src = 0, any = 0;

		/* Someone leads, or my request is in a group being synced. */
		if (st->gleader || st->ghead == NULL) {
			pthread_cond_wait(&st->gcv, &st->gmu);
			continue;
		}
		/* Become the leader: take up to GROUP_MAX queued requests. */
		st->gleader = 1;
		head = st->ghead;
		for (n = 1, last = head; last->next && n < GROUP_MAX; n++)
			last = last->next;
		st->ghead = last->next;
		if (!st->ghead)
			st->gtail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&st->gmu);

		group_lead(st, head);

		/* The next group may write while this one's commit is synced. */
		pthread_mutex_lock(&st->gmu);
		st->gleader = 0;
		pthread_cond_broadcast(&st->gcv);
		pthread_mutex_unlock(&st->gmu);
		for (r = head; r; r = r->next)
			any |= r->rc == 0;
		if (any && (src = st->ops->sync(st)) < 0)
			log_warnx("store: group commit not made durable: %s", yg_strerror(src));

		pthread_mutex_lock(&st->gmu);
		for (r = head; r; r = r->next) {
			if (src < 0 && r->rc == 0)
				r->rc = src;
			r->done = 1;
		}
		pthread_cond_broadcast(&st->gcv);
	}
	pthread_mutex_unlock(&st->gmu);
	return me.rc;
}

/* ---- migrations ---- */

int store_schema_latest(void)
{
	return store_migrations[store_nmigrations - 1].version;
}

/* The engine's text of m, with @ID@ and @BLOB@ spelled its way. */
static char *schema_text(const struct store_migration *m, const struct store_ops *ops)
{
	const char *src = ops->migration_sql(m);
	const char *id = ops->ddl_id, *blob = ops->ddl_blob;
	size_t cap, o = 0;
	char *out;

	/* No byte of src becomes more than this many of out. */
	cap = strlen(src) * (strlen(id) / 4 + strlen(blob) / 6 + 1) + 1;
	out = yg_malloc(cap);
	if (!out)
		return NULL;
	while (*src) {
		if (strncmp(src, "@ID@", 4) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", id);
			src += 4;
		} else if (strncmp(src, "@BLOB@", 6) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", blob);
			src += 6;
		} else {
			out[o++] = *src++;
		}
	}
	out[o] = '\0';
	return out;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int read_version(struct store_conn *c, int *version)
{
	struct store_res *res;
	int rc;

	rc = store_exec(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, 0,
			&res, NULL);
	if (rc < 0)
		return rc;
	*version = (int)store_res_int64(res, 0, 0);
	store_res_free(res);
	return 0;
}

int store_schema_version(struct store *st)
{
	struct store_conn *c;
	int rc, v = 0;

	rc = store_conn_get(st, &c);
	if (rc < 0)
		return rc;
	rc = read_version(c, &v);
	store_conn_put(c);
	return rc < 0 ? rc : v;
}

/* Applies one migration per transaction until the database is at the
 * latest version. Safe against another process migrating at the same time:
 * the backend's begin or migrate_lock serializes them. */
static int migrate(struct store_conn *c, char *err, size_t errlen)
{
	const struct store_ops *ops = c->st->ops;
	int latest = store_schema_latest(), cur, rc;

	for (;;) {
		const struct store_migration *m;
		struct store_param p[3];
		char *text;

		if ((rc = store_begin(c)) < 0)
			goto fail;
		if (ops->migrate_lock && (rc = exec_simple(c, ops->migrate_lock)) < 0)
			goto fail;
		rc = exec_simple(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
				    "version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
				    "applied BIGINT NOT NULL)");
		if (rc < 0 || (rc = read_version(c, &cur)) < 0)
			goto fail;
		if (cur > latest) {
			(void)store_rollback(c);
			snprintf(err, errlen,
				 "database schema is at version %d, newer than version %d that "
				 "this yagura knows; run a newer yagura",
				 cur, latest);
			return YG_EFORMAT;
		}
		if (cur == latest)
			return store_commit(c) < 0 ? (snprintf(err, errlen, "%s", c->errmsg), YG_EIO) : 0;
		m = &store_migrations[cur];
		if (m->version != cur + 1) {
			(void)store_rollback(c);
			snprintf(err, errlen, "migration table broken at version %d", cur + 1);
			return YG_EINVAL;
		}
		text = schema_text(m, ops);
		if (!text) {
			rc = YG_ENOMEM;
			goto fail;
		}
		rc = ops->exec_script(c, text);
		free(text);
		if (rc < 0) {
			char keep[STORE_ERRMSG_MAX];

			memcpy(keep, c->errmsg, sizeof(keep));
			(void)store_rollback(c);
			snprintf(err, errlen, "migration %d (%s) failed: %s", m->version, m->name,
				 keep);
			return rc;
		}
		p[0] = store_int64(m->version);
		p[1] = store_text(m->name);
		p[2] = store_int64(now_us());
		rc = store_exec(c, "INSERT INTO schema_migrations (version, name, applied) "
				   "VALUES (?, ?, ?)", p, 3, NULL, NULL);
		if (rc < 0 || (rc = store_commit(c)) < 0)
			goto fail;
		log_info("store: applied migration %d (%s)", m->version, m->name);
	}
fail:
	snprintf(err, errlen, "migration failed: %s", c->errmsg);
	(void)store_rollback(c);
	return rc;
}

int store_private_check(const char *url, char *err, size_t errlen)
{
	static const char *const sfx[] = {"", "-wal"};
	const char *path;
	char f[4096];
	struct stat sb;

	if (url == NULL || strncmp(url, "postgres://", 11) == 0 ||
	    strncmp(url, "postgresql://", 13) == 0)
		return 0;
	path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
		if (stat(f, &sb) == 0 && (sb.st_mode & S_IRWXO) != 0) {
			snprintf(err, errlen,
				 "the store %s is open to every user of this machine (mode %04o): "
				 "chmod o-rwx %s",
				 f, (unsigned)(sb.st_mode & 07777), f);
			return YG_EINVAL;
		}
	}
	return 0;
}

/* ---- open/close ---- */

int store_open(const char *url, struct store **out, char *err, size_t errlen)
{
	return store_open_ex(url, NULL, out, err, errlen);
}

int store_open_ex(const char *url, const struct store_opts *opts, struct store **out,
		  char *err, size_t errlen)
{
	struct store_opts o = { 0 };
	struct store_conn *c = NULL;
	struct store *st;
	const char *target;
	int rc;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (opts)
		o = *opts;
	if (!url || !*url) {
		snprintf(err, errlen, "store: empty URL");
		return YG_EINVAL;
	}
	st = yg_calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "store: out of memory");
		return YG_ENOMEM;
	}
	if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
		st->ops = &store_pg_ops;
		target = url;
	} else {
		st->ops = &store_sqlite_ops;
		target = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
		if (!*target || strcmp(target, ":memory:") == 0 ||
		    strncmp(target, "file:", 5) == 0) {
			snprintf(err, errlen, "store: %s: need a file path for SQLite", url);
			free(st);
			return YG_EINVAL;
		}
		/* A new database is made for its owner alone (SQLite gives its
		 * WAL the database's permissions). Only when it does not exist
		 * (O_EXCL): closing a descriptor of a file drops every POSIX
		 * lock this process holds on it, SQLite's connections' too, and
		 * another process would then take the database for unused. */
		int fd = open(target, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	st->busy_timeout_ms = o.busy_timeout_ms ? o.busy_timeout_ms : STORE_BUSY_DEFAULT;
	st->cache_kib = o.cache_kib ? o.cache_kib : STORE_CACHE_DEFAULT;
	st->answer_timeout_ms = o.answer_timeout_ms ? o.answer_timeout_ms : STORE_ANSWER_DEFAULT;
	st->target = str_dup(target);
	if (!st->target || pool_init(st, o.pool_size ? o.pool_size : STORE_POOL_DEFAULT) < 0) {
		free(st->target);
		free(st);
		snprintf(err, errlen, "store: out of memory");
		return YG_ENOMEM;
	}
	rc = store_conn_get(st, &c);
	if (rc < 0) {
		snprintf(err, errlen, "store: %s", st->conns[0].errmsg);
		goto fail;
	}
	if (!o.no_migrate && (rc = migrate(c, err, errlen)) < 0)
		goto fail;
	store_conn_put(c);
	c = NULL;
	/* Before any other thread has the store. */
	st->answer_ms = st->answer_timeout_ms;
	if (st->ops->start) {
		if ((rc = st->ops->start(st)) < 0) {
			snprintf(err, errlen, "store: cannot start: %s", yg_strerror(rc));
			goto fail;
		}
		st->started = 1;
	}
	*out = st;
	return 0;
fail:
	store_conn_put(c);
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->gconn.db)
		st->ops->disconnect(&st->gconn);
	if (st->started && st->ops->stop)
		st->ops->stop(st);
	for (unsigned i = 0; i < st->nconns; i++)
		if (st->conns[i].db)
			st->ops->disconnect(&st->conns[i]);
	pthread_mutex_destroy(&st->mu);
	pthread_mutex_destroy(&st->gmu);
	pthread_cond_destroy(&st->gcv);
	free(st->conns);
	free(st->target);
	free(st);
}

enum store_backend store_backend_of(const struct store *st)
{
	return st->ops->backend;
}

int store_group_commits(const struct store *st)
{
	return st->ops->sync != NULL;
}

int64_t store_memory_used(const struct store *st)
{
	return st->ops->memory_used != NULL ? st->ops->memory_used() : -1;
}

const char *store_for_update(const struct store *st)
{
	return st->ops->sync != NULL ? "" : " FOR UPDATE";
}

int store_txmark_take(struct store_conn *c, struct store_txmark *m)
{
	m->tx = 0;
	m->at = yg_mono_s();
	return c->st->ops->txmark_take(c, &m->tx);
}

int store_txmark_settled(struct store_conn *c, const struct store_txmark *m)
{
	return c->st->ops->txmark_settled(c, m);
}

/* ---- results ---- */

struct store_res *store_res_new(size_t ncols)
{
	struct store_res *r = yg_calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->ncols = ncols;
	if (ncols && !(r->names = yg_calloc(ncols, sizeof(*r->names)))) {
		free(r);
		return NULL;
	}
	return r;
}

int store_res_set_name(struct store_res *r, size_t col, const char *name)
{
	r->names[col] = str_dup(name ? name : "");
	return r->names[col] ? 0 : YG_ENOMEM;
}

struct store_cell *store_res_add_row(struct store_res *r)
{
	struct store_cell *row;

	if (r->nrows == r->cap_rows) {
		size_t cap = r->cap_rows ? r->cap_rows * 2 : 16;
		struct store_cell *n;

		if (r->ncols && cap > SIZE_MAX / r->ncols / sizeof(*n))
			return NULL;
		n = yg_realloc(r->cells, cap * (r->ncols ? r->ncols : 1) * sizeof(*n));
		if (!n)
			return NULL;
		r->cells = n;
		r->cap_rows = cap;
	}
	row = &r->cells[r->nrows * r->ncols];
	memset(row, 0, r->ncols * sizeof(*row));
	r->nrows++;
	return row;
}

int store_res_put_bytes(struct store_res *r, struct store_cell *cell, enum store_type t,
			const void *p, size_t len)
{
	if (len + 1 > r->dcap - r->dlen) {
		size_t cap = r->dcap ? r->dcap : 256;
		char *n;

		while (len + 1 > cap - r->dlen) {
			if (cap > SIZE_MAX / 2)
				return YG_ENOMEM;
			cap *= 2;
		}
		n = yg_realloc(r->data, cap);
		if (!n)
			return YG_ENOMEM;
		r->data = n;
		r->dcap = cap;
	}
	if (len)
		memcpy(r->data + r->dlen, p, len);
	r->data[r->dlen + len] = '\0';
	cell->type = t;
	cell->off = r->dlen;
	cell->len = len;
	r->dlen += len + 1;
	return 0;
}

size_t store_res_nrows(const struct store_res *r)
{
	return r->nrows;
}

size_t store_res_ncols(const struct store_res *r)
{
	return r->ncols;
}

const char *store_res_colname(const struct store_res *r, size_t col)
{
	return r->names[col];
}

size_t store_res_col(const struct store_res *r, const char *name)
{
	for (size_t i = 0; i < r->ncols; i++)
		if (strcmp(r->names[i], name) == 0)
			return i;
	return SIZE_MAX;
}

static const struct store_cell *cell_at(const struct store_res *r, size_t row, size_t col)
{
	return &r->cells[row * r->ncols + col];
}

enum store_type store_res_type(const struct store_res *r, size_t row, size_t col)
{
	return cell_at(r, row, col)->type;
}

int store_res_isnull(const struct store_res *r, size_t row, size_t col)
{
	return cell_at(r, row, col)->type == STORE_T_NULL;
}

int64_t store_res_int64(const struct store_res *r, size_t row, size_t col)
{
	const struct store_cell *c = cell_at(r, row, col);

	if (c->type == STORE_T_INT64)
		return c->i;
	if (c->type == STORE_T_TEXT)
		return strtoll(r->data + c->off, NULL, 10);
	return 0;
}

const char *store_res_text(const struct store_res *r, size_t row, size_t col)
{
	const struct store_cell *c = cell_at(r, row, col);

	return c->type == STORE_T_TEXT ? r->data + c->off : NULL;
}

const void *store_res_blob(const struct store_res *r, size_t row, size_t col, size_t *len)
{
	const struct store_cell *c = cell_at(r, row, col);

	if (c->type != STORE_T_TEXT && c->type != STORE_T_BLOB) {
		*len = 0;
		return NULL;
	}
	*len = c->len;
	return r->data + c->off;
}

void store_res_free(struct store_res *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ncols; i++)
		free(r->names[i]);
	free(r->names);
	free(r->cells);
	free(r->data);
	free(r);
}
