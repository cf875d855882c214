/* store_pg.c - the PostgreSQL backend through libpq: one PGconn per pool
 * slot, `?` placeholders rewritten to $1..$n, named prepared statements
 * cached per connection, multi-row VALUES for batches. */
#include "store/store_int.h"

#include <endian.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/clock.h"

/* Type OIDs from pg_type.h (server headers are not in libpq-dev). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23

#define PG_MAX_PARAMS 65535
#define PG_BATCH_ROWS 1000 /* rows per multi-row INSERT */
#define PG_COPY_CHUNK (1u << 20) /* bytes per PQputCopyData() */

struct pg_cached {
	char *key; /* parameter type signature, '|', SQL */
	char name[16];
};

struct pg_priv {
	struct pg_cached cache[STORE_STMT_CACHE];
	unsigned next;
	unsigned serial;
	int dead; /* no answer in time, or lost mid-protocol: closed by the pool */
};

/* Parameter arrays in libpq's shape, in one allocation. */
struct pg_args {
	const char **values;
	int *lengths;
	int *formats;
	Oid *types;
	uint64_t *ints;
	void *mem;
};

static void pg_clear_cache(struct store_conn *c)
{
	struct pg_priv *p = c->priv;

	if (!p)
		return;
	for (unsigned i = 0; i < STORE_STMT_CACHE; i++) {
		free(p->cache[i].key);
		p->cache[i].key = NULL;
	}
}

static int pg_seterr(struct store_conn *c, const PGresult *r)
{
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c->db);
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	size_t len;

	store_conn_seterr(c, "postgres: %s", msg && *msg ? msg : "unknown error");
	len = strlen(c->errmsg);
	while (len && (c->errmsg[len - 1] == '\n' || c->errmsg[len - 1] == ' '))
		c->errmsg[--len] = '\0';
	for (char *q = c->errmsg; (q = strchr(q, '\n')) != NULL;)
		*q = ' '; /* ERROR and DETAIL on one line */
	if (!state)
		return r ? YG_EIO : (PQstatus(c->db) == CONNECTION_OK ? YG_ENOMEM : YG_EIO);
	if (strcmp(state, "23505") == 0)
		return YG_ECONFLICT;
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0 ||
	    strncmp(state, "42", 2) == 0 || strcmp(state, "25P02") == 0)
		return YG_EINVAL;
	return YG_EIO;
}

static void pg_notice_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void pg_disconnect(struct store_conn *c)
{
	pg_clear_cache(c);
	free(c->priv);
	PQfinish(c->db);
	c->db = NULL;
	c->priv = NULL;
	c->in_tx = 0;
}

/* ---- waiting for the server, with a deadline ----
 *
 * Every statement is sent without blocking, and its answer is waited for
 * until a deadline (store_opts.answer_timeout_ms). Without one, a server
 * that stops answering, a network that drops the connection silently, or
 * libpq waiting for a message it already has (libpq 15, when an allocation
 * fails while it reads a COPY's start: the allocation sweep met it) would
 * hold the thread, its transaction and with it the log's sequencer for
 * ever. Past the deadline the connection is dead: every later call on it
 * fails at once, the pool closes it (store_conn_put: its ROLLBACK fails),
 * and the server ends the transaction when the socket closes. */

static double pg_deadline(const struct store_conn *c)
{
	unsigned ms = c->st->answer_ms;

	return ms ? yg_mono_s() + ms / 1000.0 : 0;
}

static int pg_gone(struct store_conn *c)
{
	const struct pg_priv *p = c->priv;

	if (!p->dead)
		return 0;
	store_conn_seterr(c, "postgres: connection given up (no answer in time, or lost "
			     "mid-statement)");
	return YG_EIO;
}

static int pg_give_up(struct store_conn *c, const char *why)
{
	struct pg_priv *p = c->priv;

	p->dead = 1;
	if (why)
		store_conn_seterr(c, "postgres: %s", why);
	return YG_EIO;
}

/* Until fd is ready for ev (1), the deadline passes (0; none when 0), or
 * poll fails (-1). */
static int pg_poll(struct store_conn *c, short ev, double deadline)
{
	struct pollfd pf = {.fd = PQsocket(c->db), .events = ev};

	if (pf.fd < 0)
		return -1;
	for (;;) {
		int ms = -1, n;

		if (deadline > 0) {
			double left = deadline - yg_mono_s();

			if (left <= 0)
				return 0;
			ms = (int)(left * 1000) + 1;
		}
		n = poll(&pf, 1, ms);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* libpq failed on the connection mid-statement: its message, and the
 * connection given up (where the protocol stands is not known). */
static int pg_lost(struct store_conn *c)
{
	int rc = pg_seterr(c, NULL);

	pg_give_up(c, NULL);
	return rc;
}

static int pg_late(struct store_conn *c)
{
	char why[80];

	snprintf(why, sizeof(why), "no answer in %.1f s; connection closed",
		 c->st->answer_ms / 1000.0);
	return pg_give_up(c, why);
}

/* Reads what the server sent (so that it is never blocked writing to us
 * while we write to it), after waiting for ev. */
static int pg_wait_io(struct store_conn *c, short ev, double deadline)
{
	int w = pg_poll(c, ev, deadline);

	if (w == 0)
		return pg_late(c);
	return w < 0 || !PQconsumeInput(c->db) ? pg_lost(c) : 0;
}

/* Sends what libpq holds for the server. */
static int pg_flush(struct store_conn *c, double deadline)
{
	int f, rc;

	while ((f = PQflush(c->db)) == 1)
		if ((rc = pg_wait_io(c, POLLIN | POLLOUT, deadline)) < 0)
			return rc;
	return f < 0 ? pg_lost(c) : 0;
}

/* The next result of what was sent, as PQgetResult() gives it, once libpq
 * has it whole; NULL and *rc < 0 when the deadline passed or reading failed. */
static PGresult *pg_next(struct store_conn *c, double deadline, int *rc)
{
	if ((*rc = pg_flush(c, deadline)) < 0)
		return NULL;
	while (PQisBusy(c->db))
		if ((*rc = pg_wait_io(c, POLLIN, deadline)) < 0)
			return NULL;
	return PQgetResult(c->db);
}

/* After a PQsend*() that returned sent: the answer as PQexec() gives it,
 * the first failed result or else the last (a script gives one a
 * statement), or a COPY's start. NULL with *rc < 0 when the deadline passed
 * or the connection was lost; NULL with *rc 0 when the server sent no
 * result at all. */
static PGresult *pg_await(struct store_conn *c, int sent, int *rc)
{
	double deadline = pg_deadline(c);
	PGresult *keep = NULL, *r;

	*rc = 0;
	if (!sent) {
		*rc = pg_seterr(c, NULL);
		return NULL;
	}
	while ((r = pg_next(c, deadline, rc)) != NULL) {
		ExecStatusType s = PQresultStatus(r);

		if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH) {
			PQclear(keep);
			return r;
		}
		if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
			PQclear(r);
		} else {
			PQclear(keep);
			keep = r;
		}
	}
	if (*rc < 0) {
		PQclear(keep);
		return NULL;
	}
	return keep;
}

static int pg_result(struct store_conn *c, PGresult *r, struct store_res **res,
		     int64_t *changed);

/* pg_await() and pg_result(): 0 or a negative yg_err. */
static int pg_finish(struct store_conn *c, int sent, struct store_res **res, int64_t *changed)
{
	int rc;
	PGresult *r = pg_await(c, sent, &rc);

	return rc < 0 ? rc : pg_result(c, r, res, changed);
}

static int pg_simple(struct store_conn *c, const char *sql)
{
	int rc = pg_gone(c);

	return rc < 0 ? rc : pg_finish(c, PQsendQuery(c->db, sql), NULL, NULL);
}

/* Session settings every connection needs: no notices on stderr, and
 * commits that wait for the WAL flush whatever the server default. */
static int pg_session(struct store_conn *c)
{
	PGresult *r;
	int rc = 0;

	PQsetNoticeProcessor(c->db, pg_notice_quiet, NULL);
	if (PQsetnonblocking(c->db, 1) != 0)
		return pg_seterr(c, NULL);
	r = pg_await(c, PQsendQuery(c->db, "SHOW synchronous_commit"), &rc);
	if (rc < 0)
		return rc;
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = pg_seterr(c, r);
	} else if (strcmp(PQgetvalue(r, 0, 0), "off") == 0 ||
		   strcmp(PQgetvalue(r, 0, 0), "local") == 0) {
		rc = pg_simple(c, "SET synchronous_commit TO on");
	}
	PQclear(r);
	return rc;
}

/* GSSAPI encryption is off unless the URL asks for it (gssencmode=prefer
 * or require): libpq's default, prefer, asks Kerberos for credentials on
 * every connect, and MIT Kerberos (gss_acquire_cred) crashes when an
 * allocation inside it fails (the allocation sweep met it, tests/unit/sweep).
 * A connect waits at most the answer timeout (libpq's default is for
 * ever: a server that accepts and says nothing would hold the thread).
 * The URL comes after, so that what it says wins. */
static int pg_connect(struct store *st, struct store_conn *c)
{
	static const char *const keys[] = {"gssencmode", "connect_timeout", "dbname", NULL};
	char secs[16];
	const char *const vals[] = {"disable", secs, st->target, NULL};
	PGconn *conn;
	int rc;

	snprintf(secs, sizeof(secs), "%u", (st->answer_timeout_ms + 999) / 1000);
	conn = PQconnectdbParams(keys, vals, 1);
	if (!conn) {
		store_conn_seterr(c, "postgres: out of memory");
		return YG_ENOMEM;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		store_conn_seterr(c, "postgres: %s", PQerrorMessage(conn));
		c->errmsg[strcspn(c->errmsg, "\n")] = '\0';
		PQfinish(conn);
		return YG_EIO;
	}
	c->db = conn;
	c->priv = yg_calloc(1, sizeof(struct pg_priv));
	if (!c->priv) {
		pg_disconnect(c);
		store_conn_seterr(c, "postgres: out of memory");
		return YG_ENOMEM;
	}
	rc = pg_session(c);
	if (rc < 0) {
		char keep[STORE_ERRMSG_MAX];

		memcpy(keep, c->errmsg, sizeof(keep));
		pg_disconnect(c);
		memcpy(c->errmsg, keep, sizeof(keep));
	}
	return rc;
}

/* A connection that broke (server restart, network) is reset once; the
 * session's prepared statements are gone with it. */
static int pg_check(struct store_conn *c)
{
	struct pg_priv *p = c->priv;

	if (PQstatus(c->db) == CONNECTION_OK && !p->dead)
		return 1;
	pg_clear_cache(c);
	p->dead = 0;
	c->in_tx = 0;
	PQreset(c->db);
	if (PQstatus(c->db) != CONNECTION_OK) {
		store_conn_seterr(c, "postgres: reconnect failed: %s", PQerrorMessage(c->db));
		c->errmsg[strcspn(c->errmsg, "\n")] = '\0';
		return 0;
	}
	return pg_session(c) == 0;
}

static int pg_tx_open(struct store_conn *c)
{
	PGTransactionStatusType t = c->db != NULL ? PQtransactionStatus(c->db) : PQTRANS_IDLE;
	const struct pg_priv *p = c->priv;

	/* A dead connection may hold one: the ROLLBACK fails and the pool
	 * closes it. */
	if (p && p->dead)
		return 1;
	return t != PQTRANS_IDLE && t != PQTRANS_UNKNOWN;
}

/* Integers (int8) and blobs (bytea) go in binary. Text goes in text format
 * with an unspecified type, so that the server infers it from the context
 * like a literal; text format needs NUL-terminated copies. */
static int pg_args_init(struct pg_args *a, const struct store_param *p, size_t n)
{
	size_t sz = n * (sizeof(char *) + 2 * sizeof(int) + sizeof(Oid) + sizeof(uint64_t));
	size_t textsz = 0;
	char *m, *tp;

	memset(a, 0, sizeof(*a));
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i].type != STORE_T_TEXT && p[i].type != STORE_T_BLOB)
			continue;
		if (p[i].len > 0x7ffffffe)
			return YG_ELIMIT;
		if (p[i].type == STORE_T_TEXT)
			textsz += p[i].len + 1;
	}
	m = yg_malloc(sz + textsz);
	if (!m)
		return YG_ENOMEM;
	a->mem = m;
	a->ints = (uint64_t *)m;
	a->values = (const char **)(m + n * sizeof(uint64_t));
	a->lengths = (int *)(m + n * (sizeof(uint64_t) + sizeof(char *)));
	a->formats = a->lengths + n;
	a->types = (Oid *)(a->formats + n);
	tp = m + sz;
	for (size_t i = 0; i < n; i++) {
		a->values[i] = NULL;
		a->lengths[i] = 0;
		a->formats[i] = 0;
		a->types[i] = 0;
		switch (p[i].type) {
		case STORE_T_NULL:
			break;
		case STORE_T_INT64:
			a->ints[i] = htobe64((uint64_t)p[i].i);
			a->values[i] = (const char *)&a->ints[i];
			a->lengths[i] = 8;
			a->formats[i] = 1;
			a->types[i] = OID_INT8;
			break;
		case STORE_T_TEXT:
			if (p[i].len)
				memcpy(tp, p[i].p, p[i].len);
			tp[p[i].len] = '\0';
			a->values[i] = tp;
			tp += p[i].len + 1;
			break;
		case STORE_T_BLOB:
			a->values[i] = p[i].p ? p[i].p : "";
			a->lengths[i] = (int)p[i].len;
			a->formats[i] = 1;
			a->types[i] = OID_BYTEA;
			break;
		}
	}
	return 0;
}

static int pg_materialize(struct store_conn *c, PGresult *pr, struct store_res **out)
{
	int nrows = PQntuples(pr), ncols = PQnfields(pr), rc = 0;
	struct store_res *r = store_res_new((size_t)ncols);

	if (!r)
		return YG_ENOMEM;
	for (int j = 0; j < ncols && rc == 0; j++)
		rc = store_res_set_name(r, (size_t)j, PQfname(pr, j));
	for (int i = 0; i < nrows && rc == 0; i++) {
		struct store_cell *row = store_res_add_row(r);

		if (!row) {
			rc = YG_ENOMEM;
			break;
		}
		for (int j = 0; j < ncols && rc == 0; j++) {
			const char *v = PQgetvalue(pr, i, j);
			struct store_cell *cell = &row[j];

			if (PQgetisnull(pr, i, j))
				continue;
			switch (PQftype(pr, j)) {
			case OID_INT8:
			case OID_INT4:
			case OID_INT2:
				cell->type = STORE_T_INT64;
				cell->i = strtoll(v, NULL, 10);
				break;
			case OID_BOOL:
				cell->type = STORE_T_INT64;
				cell->i = v[0] == 't';
				break;
			case OID_BYTEA: {
				size_t len = 0;
				unsigned char *b = PQunescapeBytea((const unsigned char *)v, &len);

				if (!b) {
					rc = YG_ENOMEM;
					break;
				}
				rc = store_res_put_bytes(r, cell, STORE_T_BLOB, b, len);
				PQfreemem(b);
				break;
			}
			default:
				rc = store_res_put_bytes(r, cell, STORE_T_TEXT, v,
							 (size_t)PQgetlength(pr, i, j));
				break;
			}
		}
	}
	if (rc < 0) {
		store_conn_seterr(c, "postgres: out of memory");
		store_res_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

static int pg_result(struct store_conn *c, PGresult *r, struct store_res **res,
		     int64_t *changed)
{
	int rc = 0;

	if (!r || (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)) {
		rc = pg_seterr(c, r);
	} else {
		if (changed)
			*changed = strtoll(PQcmdTuples(r), NULL, 10);
		if (res)
			rc = pg_materialize(c, r, res);
	}
	PQclear(r);
	return rc;
}

/* The name of a prepared statement for sql (`?` placeholders) with these
 * parameter types, preparing it on a miss: only then is sql rewritten. */
static int pg_prepare(struct store_conn *c, const char *sql, const struct pg_args *a, size_t n,
		      const char **name)
{
	struct pg_priv *p = c->priv;
	size_t slen = strlen(sql);
	struct pg_cached *slot;
	PGresult *r;
	char *key, *dsql;
	int rc;

	key = yg_malloc(n + 1 + slen + 1);
	if (!key)
		return YG_ENOMEM;
	for (size_t i = 0; i < n; i++)
		key[i] = a->types[i] == OID_INT8 ? 'i' : a->types[i] == OID_BYTEA ? 'b' : 'u';
	key[n] = '|';
	memcpy(key + n + 1, sql, slen + 1);
	for (unsigned i = 0; i < STORE_STMT_CACHE; i++) {
		if (p->cache[i].key && strcmp(p->cache[i].key, key) == 0) {
			free(key);
			*name = p->cache[i].name;
			return 0;
		}
	}
	slot = &p->cache[p->next];
	p->next = (p->next + 1) % STORE_STMT_CACHE;
	if (slot->key) {
		char sql_dealloc[48];

		snprintf(sql_dealloc, sizeof(sql_dealloc), "DEALLOCATE %s", slot->name);
		free(slot->key);
		slot->key = NULL;
		/* In an aborted transaction this fails; the name is not reused. */
		(void)pg_simple(c, sql_dealloc);
	}
	if ((dsql = store_sql_to_dollar(sql, 1, NULL)) == NULL) {
		free(key);
		store_conn_seterr(c, "postgres: out of memory");
		return YG_ENOMEM;
	}
	snprintf(slot->name, sizeof(slot->name), "yg%u", p->serial++);
	r = pg_await(c, PQsendPrepare(c->db, slot->name, dsql, (int)n, a->types), &rc);
	free(dsql);
	if (rc < 0 || !r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		if (rc == 0)
			rc = pg_seterr(c, r);
		PQclear(r);
		free(key);
		return rc;
	}
	PQclear(r);
	slot->key = key;
	*name = slot->name;
	return 0;
}

static int pg_exec(struct store_conn *c, const char *sql, const struct store_param *p, size_t n,
		   struct store_res **res, int64_t *changed)
{
	struct pg_args a;
	const char *name = NULL;
	int rc;

	if ((rc = pg_gone(c)) < 0)
		return rc;
	if (n > PG_MAX_PARAMS) {
		store_conn_seterr(c, "postgres: %zu parameters, at most %d", n, PG_MAX_PARAMS);
		return YG_ELIMIT;
	}
	if ((rc = pg_args_init(&a, p, n)) < 0) {
		store_conn_seterr(c, "postgres: cannot bind parameters");
		return rc;
	}
	rc = pg_prepare(c, sql, &a, n, &name);
	if (rc == 0)
		rc = pg_finish(c, PQsendQueryPrepared(c->db, name, (int)n, a.values, a.lengths,
						      a.formats, 0),
			       res, changed);
	free(a.mem);
	return rc;
}

static int pg_script(struct store_conn *c, const char *sql)
{
	return pg_simple(c, sql);
}

/* Multi-row INSERT: each statement carries up to PG_BATCH_ROWS rows, which
 * makes one round trip and one plan per thousand rows instead of per row. */
static int pg_batch(struct store_conn *c, const char *sql, size_t ncols,
		    const struct store_param *rows, size_t nrows, int64_t *changed)
{
	size_t per = PG_BATCH_ROWS, done = 0;
	int64_t total = 0;
	int rc = 0;

	if ((rc = pg_gone(c)) < 0)
		return rc;
	if (per * ncols > PG_MAX_PARAMS)
		per = PG_MAX_PARAMS / ncols;
	if (per == 0) {
		store_conn_seterr(c, "postgres: %zu columns per row is too many", ncols);
		return YG_ELIMIT;
	}
	while (done < nrows && rc == 0) {
		size_t k = nrows - done < per ? nrows - done : per;
		char *multi = store_sql_expand_values(sql, ncols, k), *dsql;
		struct pg_args a;
		int64_t ch = 0;

		if (!multi) {
			store_conn_seterr(c, "store_exec_batch: need INSERT ... VALUES (%zu "
					     "placeholders) and no other placeholder", ncols);
			return YG_EINVAL;
		}
		dsql = store_sql_to_dollar(multi, 1, NULL);
		free(multi);
		if (!dsql || (rc = pg_args_init(&a, rows + done * ncols, k * ncols)) < 0) {
			free(dsql);
			store_conn_seterr(c, "postgres: out of memory");
			return YG_ENOMEM;
		}
		rc = pg_finish(c, PQsendQueryParams(c->db, dsql, (int)(k * ncols), a.types,
						    a.values, a.lengths, a.formats, 0),
			       NULL, &ch);
		free(a.mem);
		free(dsql);
		total += ch;
		done += k;
	}
	if (rc == 0 && changed)
		*changed = total;
	return rc;
}

/* Binary COPY's row data: the signature and header, per row a field count
 * and per field a length (-1: NULL) and the value in the type's binary
 * form, then the -1 trailer. One buffer, sent in one PQputCopyData(). */
static const char pg_copy_sig[11] = "PGCOPY\n\377\r\n";

static char *pg_copy_data(size_t ncols, const struct store_param *rows, size_t nrows,
			  size_t *outlen)
{
	size_t len = sizeof(pg_copy_sig) + 8 + 2, n = ncols * nrows;
	unsigned char *buf, *q;

	for (size_t i = 0; i < n; i++) {
		if (rows[i].type == STORE_T_TEXT || rows[i].type == STORE_T_BLOB) {
			if (rows[i].len > 0x7ffffffe)
				return NULL;
			len += 4 + rows[i].len;
		} else {
			len += 4 + (rows[i].type == STORE_T_INT64 ? 8 : 0);
		}
	}
	len += 2 * nrows;
	if ((buf = yg_malloc(len)) == NULL)
		return NULL;
	q = buf;
	memcpy(q, pg_copy_sig, sizeof(pg_copy_sig));
	q += sizeof(pg_copy_sig);
	memset(q, 0, 8); /* flags, header extension length */
	q += 8;
	for (size_t r = 0; r < nrows; r++) {
		uint16_t nf = htobe16((uint16_t)ncols);

		memcpy(q, &nf, 2);
		q += 2;
		for (size_t j = 0; j < ncols; j++) {
			const struct store_param *v = &rows[r * ncols + j];
			uint32_t fl;

			switch (v->type) {
			case STORE_T_NULL:
				fl = htobe32(UINT32_MAX);
				memcpy(q, &fl, 4);
				q += 4;
				break;
			case STORE_T_INT64: {
				uint64_t be = htobe64((uint64_t)v->i);

				fl = htobe32(8);
				memcpy(q, &fl, 4);
				memcpy(q + 4, &be, 8);
				q += 12;
				break;
			}
			case STORE_T_TEXT:
			case STORE_T_BLOB:
				fl = htobe32((uint32_t)v->len);
				memcpy(q, &fl, 4);
				if (v->len)
					memcpy(q + 4, v->p, v->len);
				q += 4 + v->len;
				break;
			}
		}
	}
	memset(q, 0xff, 2);
	*outlen = len;
	return (char *)buf;
}

/* store_insert_new() as one COPY in binary, in its own transaction or the
 * caller's (store_insert_new_in): the rows
 * travel in their binary form, and the server neither parses nor plans an
 * INSERT, and writes the heap a page at a time. COPY has no ON CONFLICT, so
 * a row already stored fails the whole COPY with a unique violation, and
 * store.c inserts again with ON CONFLICT DO NOTHING: retried batches take
 * the slow path, new ones the fast. */
static int pg_insert_new(struct store_conn *c, const char *table, const char *cols,
			 size_t ncols, const struct store_param *rows, size_t nrows,
			 int64_t *changed)
{
	size_t len = 0, sqllen = strlen(table) + strlen(cols) + 48;
	char *data, *sql;
	double deadline;
	PGresult *r;
	int rc, w = 1;

	if ((rc = pg_gone(c)) < 0)
		return rc;
	if (ncols > 32767) {
		store_conn_seterr(c, "postgres: COPY takes at most 32767 columns");
		return YG_EINVAL;
	}
	if ((data = pg_copy_data(ncols, rows, nrows, &len)) == NULL) {
		store_conn_seterr(c, "postgres: cannot build COPY data (out of memory, or a "
				     "value over 2 GiB)");
		return YG_ENOMEM;
	}
	if ((sql = yg_malloc(sqllen)) == NULL) {
		free(data);
		store_conn_seterr(c, "postgres: out of memory");
		return YG_ENOMEM;
	}
	snprintf(sql, sqllen, "COPY %s (%s) FROM STDIN (FORMAT binary)", table, cols);
	r = pg_await(c, PQsendQuery(c->db, sql), &rc);
	free(sql);
	if (rc < 0 || !r || PQresultStatus(r) != PGRES_COPY_IN) {
		if (rc == 0)
			rc = pg_seterr(c, r);
		PQclear(r);
		free(data);
		return rc < 0 ? rc : YG_EIO;
	}
	PQclear(r);
	/* Non-blocking, libpq takes data only while its buffer has room (0:
	 * none now): the server is given time to read it, until the deadline. */
	deadline = pg_deadline(c);
	for (size_t at = 0, k; rc == 0 && at < len; at += k) {
		k = len - at < PG_COPY_CHUNK ? len - at : PG_COPY_CHUNK;
		while ((w = PQputCopyData(c->db, data + at, (int)k)) == 0 &&
		       (rc = pg_wait_io(c, POLLIN | POLLOUT, deadline)) == 0)
			;
		if (w < 0)
			break;
	}
	free(data);
	while (rc == 0 && w > 0 && (w = PQputCopyEnd(c->db, NULL)) == 0)
		rc = pg_wait_io(c, POLLIN | POLLOUT, deadline);
	/* A COPY stopped half-sent leaves the protocol in the middle: the
	 * connection is given up, and the server drops the rows with it. */
	if (rc == 0 && w < 0)
		return pg_lost(c);
	if (rc < 0) {
		pg_give_up(c, NULL);
		return rc;
	}
	return pg_finish(c, 1, NULL, changed);
}

/* A transaction id as a number: txid (xid8) has no cast to bigint but
 * through text. */
static int pg_xid(struct store_conn *c, const char *sql, int64_t *out)
{
	struct store_res *r = NULL;
	int rc = pg_exec(c, sql, NULL, 0, &r, NULL);

	if (rc == 0)
		*out = store_res_nrows(r) == 1 ? store_res_int64(r, 0, 0) : 0;
	store_res_free(r);
	return rc;
}

/* A mark is a transaction id taken for it: every transaction that had an id
 * then has a lower one, every later one a higher. Not the snapshot's xmax,
 * which is the newest transaction that ended, plus one: a transaction still
 * running may have that id or a higher one, and pass for not begun. */
static int pg_txmark_take(struct store_conn *c, int64_t *tx)
{
	return pg_xid(c, "SELECT pg_current_xact_id()::text::bigint", tx);
}

/* Settled once no transaction below the mark is running (the snapshot's
 * xmin, the oldest running, is at or past it). Not before a second has
 * passed: a transaction gets its id at its first write, a moment after its
 * INSERT took ids from a sequence, and one caught in that moment is not
 * below the mark. */
static int pg_txmark_settled(struct store_conn *c, const struct store_txmark *m)
{
	int64_t xmin = 0;
	int rc;

	if (yg_mono_s() - m->at < 1.0)
		return 0;
	rc = pg_xid(c, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", &xmin);
	return rc < 0 ? rc : xmin >= m->tx;
}

/* A session advisory lock in the two-key space (the migration's is in the
 * one-key space: they never meet). The server drops it when the session
 * ends, so a tower killed in a job frees it for the others at once. */
#define PG_JOB_CLASS "31079" /* "yg" */

static int pg_job_hold(struct store_conn *c, int32_t key)
{
	struct store_param ps[] = {store_int64(key)};
	struct store_res *r = NULL;
	int rc = pg_exec(c, "SELECT CASE WHEN pg_try_advisory_lock(" PG_JOB_CLASS ", CAST(? AS INTEGER)) "
			    "THEN 1 ELSE 0 END",
			 ps, 1, &r, NULL);

	if (rc == 0)
		rc = store_res_nrows(r) == 1 && store_res_int64(r, 0, 0) == 1;
	store_res_free(r);
	return rc;
}

static int pg_job_release(struct store_conn *c, int32_t key)
{
	struct store_param ps[] = {store_int64(key)};

	return pg_exec(c, "SELECT pg_advisory_unlock(" PG_JOB_CLASS ", CAST(? AS INTEGER))", ps, 1,
		       NULL, NULL);
}

static const char *pg_migration_sql(const struct store_migration *m)
{
	return m->sql_pg ? m->sql_pg : m->sql;
}

const struct store_ops store_pg_ops = {
	.backend = STORE_BACKEND_PG,
	.begin = "BEGIN",
	/* An advisory lock on the database, held until the transaction ends. */
	.migrate_lock = "SELECT pg_advisory_xact_lock(7957591296)",
	.ddl_id = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
	.ddl_blob = "BYTEA",
	.migration_sql = pg_migration_sql,
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.check = pg_check,
	.tx_open = pg_tx_open,
	.exec = pg_exec,
	.exec_script = pg_script,
	.batch = pg_batch,
	.insert_new = pg_insert_new,
	.txmark_take = pg_txmark_take,
	.txmark_settled = pg_txmark_settled,
	.job_hold = pg_job_hold,
	.job_release = pg_job_release,
};
