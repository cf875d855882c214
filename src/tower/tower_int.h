/* tower_int.h - private to src/tower: the tower's state, the caller, the
 * helpers every resource's routes share, and the service layer through
 * which every change reaches the store.
 *
 * Layout: one file per resource, each exporting its route table
 * (orgs.c: organisations and users; tokens.c; reports.c; assets.c;
 * alerts.c; sources.c); session.c resolves tokens to callers; service.c
 * runs changes; tower.c only starts and stops.
 *
 * A route checks what the caller may do (tw_need), turns the request into
 * a typed input, and calls a service function (svc_*). A service function
 * checks the input against the store and writes it inside one transaction
 * run by svc_run(), declaring the change it made (svc_changed); svc_run()
 * refuses to commit a write that declared no change, so that every state
 * change passes through one place (issue 12 appends each to the
 * transparency log there, in the same transaction). */
#ifndef YAGURA_TOWER_TOWER_INT_H
#define YAGURA_TOWER_TOWER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "http/http.h"
#include "store/store.h"
#include "tower/auth.h"
#include "tower/record.h"
#include "tower/report.h"
#include "tower/tower.h"

/* Store timings in /metrics, by operation. */
enum store_op { OP_AUTH = 0, OP_REPORT_CREATE, OP_ALERTS_INSERT, OP_COUNT };

struct auth_cache;
struct rollup;
struct asset_map;
struct towerlog;
struct tlog_reader;
struct tlog_signer;
struct tw_idem;

/* The background jobs (jobs.c). */
enum tw_job {
	TW_JOB_LOG,	  /* the sequencer's passes (logseq.c) */
	TW_JOB_CASES,	  /* activation and expiry (orders.c) */
	TW_JOB_SIGHTINGS, /* sightings from alerts (sightings.c) */
	TW_JOB_RETENTION, /* erasing what retention let go (retention.c) */
	TW_JOB_SOURCES,	  /* the attack-source summary (rollup.c) */
	TW_JOB_PARTNERS,  /* each partner's pull (partners.c) */
	TW_JOB_COUNT
};

struct tower {
	struct tower_config cfg;
	struct store *st;
	struct http_server *srv;
	struct auth_cache *auth;
	struct rollup *rollup; /* the attack-source summary */
	struct asset_map *assets; /* registered address ranges (assets.c) */
	struct towerlog *log;	  /* the transparency log's sequencer (logseq.c) */
	struct case_guard *cases_guard; /* the never-block list (casepolicy.c) */
	struct tower_partners *partners; /* the pulls from partners (partners.c) */
	struct tower_cm *cm;	  /* countermeasures and the cases' thread */
	struct http_metric *store_seconds[OP_COUNT];
	struct http_metric *store_pending[OP_COUNT]; /* requests in the store now */
	struct http_metric *alerts_stored;
	struct http_metric *alerts_duplicate;
	struct http_metric *sources_pending;  /* alert ids beyond the summary */
	struct http_metric *sources_failures; /* catch-ups that failed */
	struct http_metric *store_memory; /* SQLite's heap, set on each scrape */
	struct ingest_set *ingest;    /* the stream's consumers (ingest.c); NULL: [stream] off */
	char who[96];		     /* host/pid: the jobs table's name for this tower */
	struct http_metric *jobs_run[TW_JOB_COUNT];
	struct http_metric *jobs_skipped[TW_JOB_COUNT];
	bool tls;			      /* it serves HTTPS: cookies are Secure */
};

static inline bool tw_tls(const struct tower *t)
{
	return t->tls;
}

/* Who is calling: resolved from the bearer token once per request. */
struct principal {
	int64_t user_id;
	int64_t token_id;   /* the API token it came with; 0: a session */
	int64_t session_id; /* the browser session it came with; 0: a token */
	int64_t org_id; /* 0 when none */
	enum role role;
	char sectors[512]; /* regulators: comma-separated */
};

/* A resource's routes; a table ends with a NULL pattern. */
struct tower_route {
	enum http_method m;
	const char *pattern;
	unsigned flags;
	http_handler_fn fn;
};

#define TW_AJ (HTTP_ROUTE_AUTH | HTTP_ROUTE_JSON)
#define TW_SESSION_COOKIE "yagura_session" /* a browser session's token (login.c) */

extern const struct tower_route tw_org_routes[];
extern const struct tower_route tw_token_routes[];
extern const struct tower_route tw_report_routes[];
extern const struct tower_route tw_asset_routes[];
extern const struct tower_route tw_alert_routes[];
extern const struct tower_route tw_source_routes[];
extern const struct tower_route tw_case_routes[];
extern const struct tower_route tw_case_read_routes[];
extern const struct tower_route tw_monitoring_routes[];
extern const struct tower_route tw_taxii_routes[];
extern const struct tower_route tw_share_routes[];
extern const struct tower_route tw_login_routes[];
extern const struct tower_route tw_web_routes[];
extern const struct tower_route tw_overview_routes[];
/* The overview's running counts (schema v24), kept in the transaction of
 * the write that changes them: delta reports of org_id at stage, the
 * reports with ids from..to about to be erased, delta cases in state. */
int tw_count_report(struct store_conn *c, int64_t org_id, const char *stage, int delta);
int tw_count_reports_erased(struct store_conn *c, int64_t from, int64_t to);
int tw_count_case(struct store_conn *c, const char *state, int delta);
extern const struct tower_route tw_collection_routes[];
extern const struct http_media tw_taxii_media;

extern const struct tower_route tw_cm_routes[];
extern const struct tower_route tw_oversight_routes[];
extern const struct tower_route tw_log_routes[];

/* ---- helpers (common.c) ------------------------------------------------ */

int64_t tw_now_us(void);
/* RFC 3339 UTC with microseconds; JSON null for 0 or less. */
json_t *tw_time(int64_t us);
void tw_hex(const uint8_t *b, size_t n, char *out);
bool tw_sector_known(const struct tower *t, const char *s);
/* A name people will read: 1 to max bytes, no control character. */
bool tw_name_ok(const char *s, size_t max);

/* Answers an error; returns 0 so that a handler can `return tw_fail(...)`. */
int tw_fail(struct http_response *resp, int status, const char *code, const char *msg);
/* Answers 409 for YG_ECONFLICT, else 503 after logging c's message. */
int tw_store_fail(struct http_response *resp, struct store_conn *c, int rc);
/* One read query on a pooled connection: 0 with *r, or -1 after answering. */
int tw_query(struct tower *t, struct http_response *resp, const char *sql,
	     const struct store_param *ps, size_t n, struct store_res **r);
/* The caller's scope for an action; answers 403 and gives SCOPE_NONE when
 * it has none. */
enum scope tw_need(struct http_request *req, struct http_response *resp, enum action a,
		   const struct principal **pp);
/* Refuses (422 naming it) the first member of object o not in allowed (a
 * NULL-terminated list); what names the object in the message ("the
 * asset is not valid"). Returns 0 when every member is known. */
int tw_only_fields(struct http_response *resp, const json_t *o, const char *const *allowed,
		   const char *what);
/* The SQL condition limiting rows of alias r (orgs alias o) to a scope,
 * its parameter appended at ps[*n]. */
const char *tw_scope_sql(enum scope s, const struct principal *p, struct store_param *ps,
			 size_t *n);
/* A query parameter as an integer in [lo, hi]: 1 with *v, 0 when absent,
 * -1 after answering 400 naming it. */
int tw_query_int(struct http_request *req, struct http_response *resp, const char *name,
		 long long lo, long long hi, long long *v);

/* Refuses (400 naming it) a query parameter not in known (NULL-ended),
 * or one given twice. */
int tw_query_known(struct http_request *req, struct http_response *resp,
		   const char *const *known);

/* Runs an INSERT ... RETURNING id; *id gets the new row's id. */
int tw_insert_id(struct store_conn *c, const char *sql, const struct store_param *ps, size_t n,
		 int64_t *id) YG_MUST_CHECK;

/* The column of r named name. Rows are read by name, never by position:
 * a missing column is a programming error and aborts. */
size_t tw_col(const struct store_res *r, const char *name);
/* Column col of row i as tw_time(), JSON null when it is NULL. */
json_t *tw_time_col(const struct store_res *r, size_t i, const char *col);
/* Store timing around an operation (/metrics). */
double tw_store_enter(struct tower *t, enum store_op op);
void tw_store_leave(struct tower *t, enum store_op op, double since);

/* ---- the service layer (service.c) ------------------------------------- */

enum svc_status {
	SVC_OK = 0,
	SVC_INVALID,	 /* 422: the input, checked against the store */
	SVC_FORBIDDEN,	 /* 403 */
	SVC_NOT_FOUND,	 /* 404 */
	SVC_CONFLICT,	 /* 409 */
	SVC_UNAVAILABLE, /* 503: the store failed; the change was not made */
};

/* What a change did: its status, an error's code and message (and the
 * fields at fault for SVC_INVALID), the id of the record changed. */
struct svc_result {
	enum svc_status status;
	const char *code;
	char msg[200];
	struct report_errors fields;
	int64_t id;
};

/* The kinds of state change, one per service function. */
enum change_kind {
	CHANGE_ORG_CREATE = 0,
	CHANGE_USER_CREATE,
	CHANGE_TOKEN_ISSUE,
	CHANGE_TOKEN_REVOKE,
	CHANGE_REPORT_CREATE,
	CHANGE_REPORT_VERSION,
	CHANGE_REPORT_CLOSE,
	CHANGE_ASSET_CREATE,
	CHANGE_ALERT_BATCH,
	CHANGE_CASE_PROPOSE,
	CHANGE_CASE_APPROVE,
	CHANGE_CASE_REJECT,
	CHANGE_CASE_WITHDRAW,
	CHANGE_CASE_REVOKE,
	CHANGE_CASE_ACTIVATE,
	CHANGE_CASE_EXPIRE,
	CHANGE_RETENTION_ERASE,
	CHANGE_AUTH_PROPOSE,
	CHANGE_AUTH_APPROVE,
	CHANGE_AUTH_REJECT,
	CHANGE_AUTH_WITHDRAW,
	CHANGE_AUTH_REVOKE,
	CHANGE_AUTH_ACTIVATE,
	CHANGE_AUTH_EXPIRE,
	CHANGE_TAXII_ADD,
	CHANGE_TAXII_DELETE,
	CHANGE_USER_PASSWORD,
	CHANGE_USER_PREFERENCES,
	CHANGE_SESSION_OPEN,
	CHANGE_SESSION_CLOSE,
	CHANGE_COLLECTION_CREATE,
	CHANGE_COLLECTION_UPDATE,
	CHANGE_COLLECTION_ACCESS,
	CHANGE_COLLECTION_ADOPT,
	CHANGE_USER_CERTIFICATE,
	CHANGE_KINDS
};

const char *change_kind_name(enum change_kind k);

/* A change in progress, handed to a service function's body. */
#define SVC_ROWS_MAX 4 /* rows (or sets of rows) one change writes */

struct svc_tx {
	struct tower *t;
	const struct principal *p; /* who; NULL for the server's own CLI (admin init) */
	int64_t now;
	struct svc_result *res;
	unsigned changes; /* declared by svc_changed */
	unsigned attempt; /* 0, then 1 when the body asked to run again */
	bool again;	  /* set by a body whose first attempt must be redone */
	bool unchanged;	  /* set by svc_unchanged: nothing to store, nothing to declare */
	struct rec_ref rows[SVC_ROWS_MAX]; /* the rows the change wrote (svc_write, svc_row) */
	unsigned nrows;
	const struct tw_idem *idem; /* the request's Idempotency-Key, or NULL */
	const json_t *answer;	    /* the answer as the body made it (svc_keep), or NULL */
};

typedef int (*svc_body_fn)(struct store_conn *c, struct svc_tx *x, void *arg);

/* Answers record id with status, as the route's first answer did; 0 when
 * answered. */
typedef int (*tw_answer_fn)(struct tower *t, struct http_response *resp, int64_t id, int status);

/* ---- Idempotency-Key (idem.c) ------------------------------------------ */

#define TW_IDEM_KEY_MAX 200
#define TW_IDEM_KEEP_S 86400 /* how long a key is remembered, at least */

struct tw_idem {
	const char *key; /* NULL: the request has none */
	char buf[TW_IDEM_KEY_MAX + 1];
	char hash[65];	    /* of the request's path and body */
	int status;	    /* of the answer to a success */
	tw_answer_fn again; /* makes the answer again when the body kept none */
};

/* Reads the request's Idempotency-Key into k, for a route whose success is
 * status and is answered again by again (NULL: the body keeps its answer,
 * svc_keep). Returns 1 when resp was answered: a bad key (400), a key
 * used for another request (422), the replay of the answer the key got
 * first, or the store failing; 0 to go on and run the change with
 * svc_run_keyed (k->key NULL when the request had none). */
int tw_idem_begin(struct tower *t, struct http_request *req, struct http_response *resp,
		  const struct principal *p, int status, tw_answer_fn again, struct tw_idem *k);
/* The replay alone, for a change that failed as a conflict (a retry of
 * the same key raced it): 1 when answered, 0 when the key has no row. */
int tw_idem_replay(struct tower *t, struct http_response *resp, const struct principal *p,
		   const struct tw_idem *k);
/* The key's row, in the change's transaction (svc_changed). */
int tw_idem_save(struct store_conn *c, const struct principal *p, const struct tw_idem *k,
		 const json_t *answer, int64_t id, int64_t now) YG_MUST_CHECK;
/* Forgets keys older than TW_IDEM_KEEP_S; how many went, or a yg_err. */
int tw_idem_prune(struct tower *t);

/* Runs body in one transaction: on its own connection, or (grouped) in a
 * group commit shared with other callers (store_group_run). The body
 * returns 0 after declaring its change, or a negative yg_err to roll back;
 * svc_refuse() sets why for a refusal. A body that failed and set x->again
 * on its first attempt is rolled back and run once more (x->attempt 1): a
 * bulk insert that met rows already stored. Returns 0 when the change is
 * durable; otherwise res says why (a store error is SVC_UNAVAILABLE,
 * YG_ECONFLICT SVC_CONFLICT). */
int svc_run(struct tower *t, struct store *st, const struct principal *p, bool grouped,
	    svc_body_fn body, void *arg, struct svc_result *res);
/* The same for a request with an Idempotency-Key (idem may be NULL, or
 * hold no key): the key's row is written with the first change the body
 * declares, so that it exists exactly when the change does. */
int svc_run_keyed(struct tower *t, struct store *st, const struct principal *p, bool grouped,
		  const struct tw_idem *idem, svc_body_fn body, void *arg, struct svc_result *res);

/* Runs sql, an INSERT or UPDATE of one row of t's table, with RETURNING
 * t's columns appended, and keeps the row as the store gave it back for
 * the change's entry; *id (may be NULL): its first key column. A statement
 * that touched no row: YG_ENOTFOUND. */
int svc_write(struct svc_tx *x, struct store_conn *c, enum rec_table t, const char *sql,
	      const struct store_param *ps, size_t n, int64_t *id) YG_MUST_CHECK;
/* Keeps a row, or a set of rows, the body wrote some other way (a bulk
 * insert hashed from its values, record.h). */
int svc_row(struct svc_tx *x, const struct rec_ref *ref) YG_MUST_CHECK;

/* Declares the change the body made: kind and the record's id. Its entry
 * in the log names the rows kept above. */
int svc_changed(struct svc_tx *x, struct store_conn *c, enum change_kind kind, int64_t id);
/* The same for a record that has versions (a report's): its version. */
int svc_changed_version(struct svc_tx *x, struct store_conn *c, enum change_kind kind, int64_t id,
			int64_t version);

/* Keeps answer (still the body's) with the request's Idempotency-Key, for
 * a replay to send whole; call before svc_changed. */
void svc_keep(struct svc_tx *x, const json_t *answer);

/* For a body that found nothing to change (a batch sent again): commits
 * nothing and declares nothing. Returns 0. */
int svc_unchanged(struct svc_tx *x);

/* Sets a refusal and returns YG_EINVAL for the body to return. */
int svc_refuse(struct svc_result *res, enum svc_status s, const char *code, const char *msg);
/* Adds a field to an SVC_INVALID refusal. */
void svc_field(struct svc_result *res, const char *field, const char *reason);

/* Answers a failed change in the API's error shape. */
int svc_answer(struct http_response *resp, const struct svc_result *res);

/* ---- shared between resources ----------------------------------------- */

/* Forgets every cached token (session.c), after a revocation. */
void tw_auth_forget_all(struct tower *t);
int tw_auth(void *ctx, struct http_request *req, const struct http_credential *cred, void **out);
/* A browser session's CSRF token, from its cookie's text (hex, 64). */
int tw_csrf_token(const char *session, char out[TOKEN_HASH_LEN * 2 + 1]) YG_MUST_CHECK;
bool tw_csrf_ok(void *ctx, const char *session, const char *csrf);
int tw_auth_cache_new(struct tower *t);
void tw_auth_cache_free(struct tower *t);

/* Asset address ranges (assets.c): loads them; tw_assets_hold() brings
 * the map up to date and, when it holds any range, keeps it for lookups
 * (true) until tw_assets_release(); tw_asset_of() then gives the asset
 * whose range, the narrowest, holds an address (0: none). */
int tw_assets_load(struct tower *t) YG_MUST_CHECK;
void tw_assets_free(struct tower *t);
bool tw_assets_hold(struct tower *t);
void tw_assets_release(struct tower *t);
int64_t tw_asset_of(struct tower *t, const char *ip, int64_t *org_id);

/* ---- sensor alerts (alerts.c, ingest.c) -------------------------------- */

struct alert_batch;

/* What tw_alerts_ingest() stored: alerts new to the store, and those it
 * held already (the same sensor and alert id: a retry, a redelivery). */
struct alert_ingest {
	int64_t stored, duplicates;
};

/* Stores a batch of sensor p's alerts, body[0..len) being {"alerts":
 * [records]} or [records]: parsed and checked into *b (always released by
 * the caller with alert_batch_free), then inserted, logged and counted in
 * one transaction; the one path of POST /api/v1/alerts and of the stream.
 * The sensor is p's, whatever the records say. Returns 0 with *out once
 * committed (a batch of duplicates only commits nothing and logs nothing);
 * YG_EINVAL when the batch is refused (b->status says why: the sender must
 * not retry); another negative yg_err when the store failed (retry later).
 * Thread-safe. */
int tw_alerts_ingest(struct tower *t, const struct principal *p, const char *body, size_t len,
		     struct alert_batch *b, struct alert_ingest *out) YG_MUST_CHECK;

/* Starts the thread that consumes alerts from the JetStream stream of
 * [stream] (a no-op when it is not enabled); stops it, leaving what it
 * fetched and did not acknowledge to be redelivered. */
int tw_ingest_start(struct tower *t, char *err, size_t errlen) YG_MUST_CHECK;
void tw_ingest_stop(struct tower *t);

/* ---- countermeasure cases (cases.c, countermeasures.c) ------------------ */

/* Builds the never-block list, writes the countermeasure files and starts
 * the thread that activates and expires cases; stops it. */
int tw_cases_start(struct tower *t, char *err, size_t errlen) YG_MUST_CHECK;
void tw_cases_stop(struct tower *t);
/* Answers case id (caseview.c) with status, as GET /api/v1/cases/{id}. */
int tw_case_answer(struct tower *t, struct http_response *resp, int64_t id, int status);
/* Answers authorization id (monitoring.c), as GET
 * /api/v1/monitoring/authorizations/{id}. */
int tw_authorization_answer(struct tower *t, struct http_response *resp, int64_t id, int status);

/* What the committee decides on (orders.c): cases and monitoring
 * authorizations share their states, decisions and rules. */
enum order_decision { DEC_APPROVE, DEC_REJECT, DEC_WITHDRAW, DEC_REVOKE, DEC_ACTIVATE, DEC_EXPIRE,
		      ORDER_DECISIONS };

struct order_kind {
	const char *noun;      /* "case": in messages */
	const char *table;     /* its rows */
	const char *decisions; /* its decisions' rows */
	const char *fk;	       /* the decisions' column naming it */
	enum rec_table rec, rec_decisions;
	enum change_kind kinds[ORDER_DECISIONS]; /* a change kind a decision */
	bool scheduled; /* starts and expires fixed when proposed (an
			   authorization), not a duration from activation */
	bool serial;	/* its active set is the countermeasure files' */
	tw_answer_fn answer; /* the GET of one, with status */
};

extern const struct order_kind tw_case_kind, tw_authorization_kind;

/* The decisions on order id, oldest first, as the API shows them; NULL
 * after answering when the store failed. */
json_t *tw_order_decisions(struct tower *t, struct http_response *resp,
			   const struct order_kind *k, int64_t id);
/* 0 when state (a ?state= filter) is NULL or an order's state; -1 after
 * answering 400. */
int tw_order_state_ok(struct http_response *resp, const char *state);
/* Answers a page of a list, newest first: r holds up to limit + 1 rows
 * (the one past says there are more), each made into JSON by item, the
 * list named items, with "more" and "next_before". */
int tw_order_page(struct http_response *resp, const struct store_res *r, long long limit,
		  const char *items, json_t *(*item)(const struct store_res *r, size_t i));
/* The {id} of an order's path, or 0 when it is not one. */
int64_t tw_order_id(struct http_request *req);
/* POST .../{id}/{approve,reject,withdraw,revoke} {"reason": ...}: checks
 * the caller may do a, makes the decision, answers the order. */
int tw_order_decide(struct http_request *req, struct http_response *resp, struct tower *t,
		    const struct order_kind *k, enum order_decision d, enum action a);
/* Has the thread run a pass now (the active set changed). */
void tw_cases_wake(struct tower *t);
/* Activates approved orders (cases and authorizations) and expires those
 * past their time: how many changed the countermeasures' active set, or a
 * negative yg_err. */
int tw_cases_pass(struct tower *t);
/* Erases what [retention] keep has let go (retention.c): how many tables
 * it erased rows of, or a negative yg_err. */
int tw_retention_pass(struct tower *t);

/* ---- sharing (taxii.c, sightings.c) ------------------------------------- */

/* Whose envelope it is, and what runs first in its transaction. */
struct add_hooks {
	int64_t user_id, org_id; /* user 0: the tower itself; org 0: none (the office) */
	/* 0 to go on, a negative yg_err, or 1: nothing to do after all (the
	 * envelope is not stored and nothing is declared). */
	int (*before)(struct store_conn *c, void *arg);
	void *before_arg;
};

/* Adds the STIX objects objs (checked here; a bad one is a failure in the
 * status, the rest are stored) to collection coll as one change by p (NULL:
 * the tower itself). status_id gets the status's id. Returns 0 or a
 * negative yg_err with res saying why. */
int tw_taxii_add(struct tower *t, const struct principal *p, const char *coll, const json_t *objs,
		 const struct add_hooks *h, char *status_id, size_t cap, struct svc_result *res);
/* Takes every TAXII collection the log has not (made before it covered
 * collections: the schema's three, older partners') into the log, each
 * with its rules, as a change by the tower (collections.c). Before the
 * routes serve; 0, or a negative yg_err with err saying why. */
int tw_collections_start(struct tower *t, char *err, size_t errlen) YG_MUST_CHECK;
/* Makes the collection alias (its id, a v5 UUID of the alias, into id,
 * cap bytes), which the office's analysts read, as a change by the tower
 * itself; nothing when it is there already. 0, or a negative yg_err with
 * res saying why. */
int tw_collection_ensure(struct tower *t, const char *alias, const char *title,
			 const char *description, char *id, size_t cap, struct svc_result *res);
/* Turns new alerts that name a STIX indicator into sightings in the
 * sightings collection: how many sightings it wrote, or a negative yg_err. */
int tw_sightings_pass(struct tower *t);
/* Creates the partners' local collections and starts the thread that
 * pulls their TAXII collections into them (partners.c); stops it. */
int tw_partners_start(struct tower *t, char *err, size_t errlen) YG_MUST_CHECK;
void tw_partners_stop(struct tower *t);

/* ---- the transparency log (log.c, logseq.c, logapi.c) ------------------ */

/* Appends the entry of a change (svc_changed), inside its transaction. */
int tw_log_append(struct store_conn *c, const struct principal *p, int64_t now,
		  enum change_kind kind, int64_t id, int64_t version, const struct rec_ref *rows,
		  size_t nrows) YG_MUST_CHECK;
/* The key's file: configured, or beside a SQLite store, or var/log.key. */
void tw_log_key_path(const char *store, const char *configured, char *out, size_t cap);
/* Reads the signing key (creating it first when create and the file does
 * not exist); refuses a key whose name is not origin (when given). */
int tw_log_key_load(const char *path, const char *origin, int create, struct tlog_signer *k,
		    char *err, size_t errlen) YG_MUST_CHECK;
/* Starts and stops the sequencer; a pass places what has committed and,
 * when asked or due, signs a checkpoint. */
int tw_log_start(struct tower *t, char *err, size_t errlen) YG_MUST_CHECK;
/* tw_log_start() without the thread: passes run only when the caller calls
 * tw_log_pass(), as bench/logbench.c does to time placing alone. Needs only
 * t->st and t->cfg (store, log_key, log_origin); tw_log_stop() ends it. */
int tw_log_open(struct tower *t, char *err, size_t errlen) YG_MUST_CHECK;
void tw_log_stop(struct tower *t);
int tw_log_pass(struct tower *t, bool checkpoint);
/* The verifier key's text. */
const char *tw_log_vkey(const struct tower *t);
/* Stored hashes read on c; the tree's size as placed. */
int tw_log_reader(struct store_conn *c, struct tlog_reader *r);
int tw_log_size(struct store_conn *c, uint64_t *size) YG_MUST_CHECK;

/* ---- background jobs (jobs.c) ---- */

/* Names this tower (host/pid) and registers the jobs' counters. */
void tw_jobs_init(struct tower *t);

/* Runs fn(arg) as a job of kind (named name, or the kind's name when
 * NULL) when this tower takes it (store_job_take(), every_s its interval,
 * 0 none): fn's result then, with *ran true; 0, or a negative yg_err when
 * the store failed, with *ran false when it is not this tower's turn.
 * Counted in yagura_jobs_runs_total / _skipped_total. */
int tw_job_run(struct tower *t, enum tw_job kind, const char *name, double every_s,
	       int (*fn)(void *arg), void *arg, bool *ran);

#endif
