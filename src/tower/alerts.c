/* alerts.c - sensor alerts: batches posted by sensors, and reading them
 * back by time, source, destination, signature and sensor.
 *
 * An alert against an address a registered asset answers on is marked at
 * ingest with that asset and its organisation: the operator (and its
 * sector's regulator) may then read it, and /sources counts it as a
 * critical victim. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/log.h"
#include "tower/alertbatch.h"
#include "tower/tower_int.h"

#define ALERT_BATCH_MAX 10000
#define ALERT_COLS 27 /* the insert's columns */
#define ALERT_BATCH_COL 26

/* The columns are the transparency log's of an alert (record.c), in its
 * order, then its batch (v10): the indexed fields, the record as sent,
 * what the source ranking takes from it (alert_rank_of(), schema v7) and
 * the asset it hit (v8). */

static struct store_param int_or_null(int64_t v)
{
	return v < 0 ? store_null() : store_int64(v);
}

/* A record without a usable alert_id is keyed by the BLAKE2b of its
 * canonical JSON (sorted keys, compact), which is also what is stored, so
 * that the same record sent twice, however formatted, is stored once. */
static int alert_canonical(const struct alert_rec *r, char **text, char id[65])
{
	json_t *j = yg_json_loadb(r->text, r->len, 0, NULL);
	uint8_t h[32];

	*text = j ? yg_json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (*text == NULL)
		return YG_ENOMEM;
	crypto_generichash(h, sizeof(h), (const unsigned char *)*text, strlen(*text), NULL, 0);
	tw_hex(h, sizeof(h), id);
	return 0;
}

/* A batch's rows, built from the parsed records, and the hash of the set
 * they make for the log (record.h), made here, outside the transaction. */
struct alert_rows {
	struct store_param *rows;
	char **canon, (*ids)[65];
	size_t n;
	struct rec_set set;
	struct tlog_hash set_hash;
	uint64_t set_count;
	struct store_param *hits; /* (src_ip, dest_ip, asset_id) of alerts against an asset */
	size_t nhits;
};

static void alert_rows_free(struct alert_rows *a)
{
	for (size_t i = 0; a->canon != NULL && i < a->n; i++)
		free(a->canon[i]);
	free(a->canon);
	free(a->ids);
	free(a->rows);
	free(a->hits);
	rec_set_free(&a->set);
}

static int alert_rows_build(struct tower *t, const struct principal *p, const struct alert_batch *b,
			    int64_t now, struct alert_rows *a)
{
	int rc = 0;
	bool assets = tw_assets_hold(t); /* any ranges; kept until the end */

	a->n = b->n;
	a->rows = yg_malloc(b->n * ALERT_COLS * sizeof(*a->rows));
	a->canon = yg_calloc(b->n, sizeof(*a->canon));
	if (a->rows == NULL || a->canon == NULL)
		rc = YG_ENOMEM;
	for (size_t i = 0; rc == 0 && i < b->n; i++) {
		const struct alert_rec *r = &b->recs[i];
		struct store_param *row = a->rows + i * ALERT_COLS;
		struct alert_rank k;
		int64_t asset, org;

		if (r->alert_id != NULL && r->alert_id_len > 0 && r->alert_id_len <= 64) {
			row[1] = store_textn(r->alert_id, r->alert_id_len);
			row[12] = store_textn(r->text, r->len);
		} else {
			if (a->ids == NULL && (a->ids = yg_calloc(b->n, sizeof(*a->ids))) == NULL) {
				rc = YG_ENOMEM;
				break;
			}
			if ((rc = alert_canonical(r, &a->canon[i], a->ids[i])) < 0)
				break;
			row[1] = store_text(a->ids[i]);
			row[12] = store_text(a->canon[i]);
		}
		row[0] = store_int64(p->user_id);
		row[2] = store_int64(now);
		row[3] = store_int64(alert_time_us(r->timestamp, now));
		row[4] = store_text(r->src_ip);
		row[5] = r->has & ALERT_HAS_SRC_PORT ? store_int64(r->src_port) : store_null();
		row[6] = store_text(r->dest_ip);
		row[7] = r->has & ALERT_HAS_DEST_PORT ? store_int64(r->dest_port) : store_null();
		row[8] = store_text(r->proto);
		row[9] = store_int64(r->signature_id);
		row[10] = store_text(r->signature);
		row[11] = r->has & ALERT_HAS_SEVERITY ? store_int64(r->severity) : store_null();
		alert_rank_of(r, &k);
		row[13] = store_text(k.attackers);
		row[14] = store_text(k.reflector ? "reflector" : NULL);
		row[15] = store_text(k.detector);
		row[16] = int_or_null(k.hosts);
		row[17] = int_or_null(k.ports);
		row[18] = int_or_null(k.sessions);
		row[19] = store_int64(k.packets); /* never NULL: NULL marks rows from before v7 */
		row[20] = int_or_null(k.window_start);
		row[21] = store_text(k.indicator);
		row[22] = int_or_null(k.confidence);
		row[23] = store_text(k.attacker_packets);
		asset = assets ? tw_asset_of(t, r->dest_ip, &org) : 0;
		row[24] = asset ? store_int64(asset) : store_null();
		row[25] = asset ? store_int64(org) : store_null();
		struct tlog_hash h;
		if ((rc = rec_row_params(REC_ALERTS, row, &h)) < 0 ||
		    (rc = rec_set_add(&a->set, &h)) < 0)
			break;
		/* A critical computer its source attacked; a flood from forged
		 * sources names nobody. */
		if (asset == 0 || r->src_ip == NULL || (k.attackers != NULL && *k.attackers == '\0'))
			continue;
		if (a->hits == NULL && (a->hits = yg_malloc(b->n * 3 * sizeof(*a->hits))) == NULL) {
			rc = YG_ENOMEM;
			break;
		}
		a->hits[a->nhits * 3] = row[4];
		a->hits[a->nhits * 3 + 1] = row[6];
		a->hits[a->nhits * 3 + 2] = row[24];
		a->nhits++;
	}
	if (assets)
		tw_assets_release(t);
	if (rc == 0)
		rec_set_hash(REC_ALERTS, &a->set, &a->set_hash, &a->set_count);
	return rc;
}

/* A batch's store: the new rows, and the change they make: one change
 * per batch, with how many of its alerts were new. */
struct alert_store {
	struct alert_rows *rows; /* its batch column is set in the transaction */
	int64_t sensor, received;
	int64_t inserted; /* out */
};

/* The set of alerts batch stored, for its entry in the log: as hashed
 * before the transaction when every row went in, else read back. */
static int alert_batch_set(struct store_conn *c, const struct alert_store *w, int64_t batch,
			   struct rec_ref *ref)
{
	struct rec_set set = {0};
	struct store_res *r = NULL;
	int64_t key[2];
	int rc = 0;

	ref->t = REC_ALERTS;
	ref->key[0] = batch;
	if ((size_t)w->inserted == w->rows->n && w->rows->set_count == w->rows->n) {
		ref->h = w->rows->set_hash;
		ref->count = w->rows->set_count;
		return 0;
	}
	char cols[1024], sql[1200];
	struct store_param ps[] = {store_int64(batch)};

	if ((rc = rec_select(REC_ALERTS, cols, sizeof(cols))) < 0)
		return rc;
	snprintf(sql, sizeof(sql), "SELECT %s FROM alerts WHERE batch_id = ?", cols);
	rc = store_exec(c, sql, ps, 1, &r, NULL);
	for (size_t i = 0; rc == 0 && i < store_res_nrows(r); i++)
		if ((rc = rec_row_res(REC_ALERTS, r, i, &ref->h, key)) == 0)
			rc = rec_set_add(&set, &ref->h);
	store_res_free(r);
	if (rc == 0)
		rec_set_hash(REC_ALERTS, &set, &ref->h, &ref->count);
	rec_set_free(&set);
	return rc;
}

static int alert_batch_store(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct alert_store *w = arg;
	struct rec_ref ref = {0};
	int64_t batch;
	int rc;

	struct store_param pb[] = {store_int64(w->sensor), store_int64(w->received),
				   store_int64((int64_t)w->rows->n)};
	rc = tw_insert_id(c,
			  "INSERT INTO alert_batches (sensor_id, received, alerts) VALUES (?, ?, ?) "
			  "RETURNING id",
			  pb, 3, &batch);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < w->rows->n; i++)
		w->rows->rows[i * ALERT_COLS + ALERT_BATCH_COL] = store_int64(batch);
	/* First the bulk path (PostgreSQL's COPY); a batch sent again meets
	 * rows already stored there, and runs again row by row. */
	char cols[1024];
	if ((rc = rec_select(REC_ALERTS, cols, sizeof(cols))) < 0)
		return rc;
	rc = store_insert_new_in(c, "alerts", cols, ALERT_COLS, w->rows->rows, w->rows->n,
				 x->attempt == 0, &w->inserted);
	if (rc == YG_ECONFLICT && x->attempt == 0)
		x->again = true;
	if (rc < 0)
		return rc;
	struct store_param pi[] = {store_int64(w->inserted), store_int64(batch)};
	if (w->inserted == 0) { /* all sent before: no batch */
		rc = store_exec(c, "DELETE FROM alert_batches WHERE id = ?", pi + 1, 1, NULL, NULL);
		return rc < 0 ? rc : svc_unchanged(x);
	}
	if ((size_t)w->inserted < w->rows->n &&
	    (rc = store_exec(c, "UPDATE alert_batches SET alerts = ? WHERE id = ?", pi, 2, NULL,
			     NULL)) < 0)
		return rc;
	struct store_param prow[] = {store_int64(batch), store_int64(w->sensor),
				     store_int64(w->received), store_int64(w->inserted)};
	ref.t = REC_ALERT_BATCHES;
	ref.key[0] = batch;
	if ((rc = rec_row_params(REC_ALERT_BATCHES, prow, &ref.h)) < 0 || (rc = svc_row(x, &ref)) < 0 ||
	    (rc = alert_batch_set(c, w, batch, &ref)) < 0 || (rc = svc_row(x, &ref)) < 0)
		return rc;
	/* The overview's count (schema v17), of the rows this batch added. */
	struct store_param ph[] = {store_int64(w->received - w->received % 3600000000LL),
				   store_int64(batch)};
	if ((rc = store_exec(c,
			     "INSERT INTO alert_hours (hour, org_id, n) SELECT ?, "
			     "COALESCE(asset_org_id, 0), COUNT(*) FROM alerts WHERE batch_id = ? "
			     "GROUP BY COALESCE(asset_org_id, 0) ON CONFLICT (hour, org_id) DO UPDATE "
			     "SET n = alert_hours.n + excluded.n",
			     ph, 2, NULL, NULL)) < 0)
		return rc;
	if (w->rows->nhits > 0 &&
	    (rc = store_exec_batch(c,
				   "INSERT INTO asset_hits (src_ip, dest_ip, asset_id) VALUES (?, ?, ?) "
				   "ON CONFLICT DO NOTHING",
				   3, w->rows->hits, w->rows->nhits, NULL)) < 0)
		return rc;
	return svc_changed(x, c, CHANGE_ALERT_BATCH, batch);
}

int tw_alerts_ingest(struct tower *t, const struct principal *p, const char *body, size_t len,
		     struct alert_batch *b, struct alert_ingest *out)
{
	struct alert_rows a = {0};
	int64_t now = tw_now_us();
	int rc;

	out->stored = out->duplicates = 0;
	switch (alert_batch_parse(body, len, ALERT_BATCH_MAX, b)) {
	case ALERT_BATCH_OK:
		break;
	case ALERT_BATCH_NOMEM:
		return YG_ENOMEM;
	default:
		return YG_EINVAL;
	}
	if ((rc = alert_rows_build(t, p, b, now, &a)) < 0)
		goto out;
	struct alert_store w = {.rows = &a, .sensor = p->user_id, .received = now};
	struct svc_result res;
	double t0 = tw_store_enter(t, OP_ALERTS_INSERT);
	rc = svc_run(t, t->st, p, true, alert_batch_store, &w, &res);
	tw_store_leave(t, OP_ALERTS_INSERT, t0);
	if (rc < 0) {
		log_warnx("tower: alerts: batch not stored: %s", yg_strerror(rc));
		rc = rc == YG_EINVAL ? YG_EIO : rc; /* YG_EINVAL means refused, to the caller */
		goto out;
	}
	out->stored = w.inserted;
	out->duplicates = (int64_t)a.n - w.inserted;
	if (t->alerts_stored != NULL) {
		http_metric_add(t->alerts_stored, (uint64_t)out->stored);
		http_metric_add(t->alerts_duplicate, (uint64_t)out->duplicates);
	}
out:
	alert_rows_free(&a);
	return rc;
}

/* POST /api/v1/alerts: {"alerts": [EVE alert records]} (or a bare array).
 * Each record is stored once per sensor, keyed by its "alert_id" or, when
 * it has none, by a hash of its canonical JSON: a retried batch adds
 * nothing. The whole batch is one transaction: all stored, or none. A bad
 * record refuses the batch with a 422 naming it and its field, whatever
 * the store: the sensor must not retry it. The stream's consumer
 * (ingest.c) stores through the same tw_alerts_ingest(). */
static int alerts_post(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	struct alert_batch b;
	struct alert_ingest in;
	const char *body;
	size_t len;
	int rc;

	if (tw_need(req, resp, ACT_ALERT_POST, &p) == SCOPE_NONE)
		return 0;
	body = http_request_body(req, &len);
	rc = tw_alerts_ingest(t, p, body, len, &b, &in);
	if (rc == YG_EINVAL) {
		switch (b.status) {
		case ALERT_BATCH_BAD_JSON:
			tw_fail(resp, 400, "bad_json", b.msg);
			break;
		case ALERT_BATCH_BAD_SHAPE:
			tw_fail(resp, 422, "validation_failed", b.msg);
			break;
		default:
			http_response_error(resp, 422, "validation_failed",
					    "some alerts are not valid");
			for (size_t i = 0; i < b.nerrs; i++)
				http_response_error_field(resp, b.errs[i].field, b.errs[i].reason);
			break;
		}
	} else if (rc < 0) {
		tw_fail(resp, 503, "store_unavailable", "the alerts were not stored; retry");
	} else {
		http_response_json(resp, 200,
				   json_pack("{s:I,s:I}", "accepted", (json_int_t)in.stored,
					     "duplicates", (json_int_t)in.duplicates));
	}
	alert_batch_free(&b);
	return 0;
}

/* The SQL condition limiting alerts (alias a) to a scope: an operator
 * reads the alerts against its own assets, a regulator those against its
 * sectors' assets. */
static const char *alert_scope_sql(enum scope s, const struct principal *p,
				   struct store_param *ps, size_t *n)
{
	switch (s) {
	case SCOPE_OWN_ORG:
		ps[(*n)++] = store_int64(p->org_id);
		return " AND a.asset_org_id = ?";
	case SCOPE_OWN_SECTORS:
		ps[(*n)++] = store_text(p->sectors);
		return " AND a.asset_org_id IN (SELECT id FROM orgs o WHERE (',' || ? || ',') LIKE "
		       "('%,' || o.sector || ',%'))";
	default:
		return "";
	}
}

/* An address filter: a valid address, in the canonical text a sensor
 * writes (2001:DB8::1 finds 2001:db8::1), or a 400. */
static int addr_filter(struct http_request *req, struct http_response *resp, const char *name,
		       char canon[INET6_ADDRSTRLEN], const char **out)
{
	unsigned char bin[16];
	const char *s = http_request_query(req, name);
	char msg[80];

	*out = NULL;
	if (s == NULL)
		return 0;
	if (inet_pton(AF_INET, s, bin) == 1)
		*out = inet_ntop(AF_INET, bin, canon, INET6_ADDRSTRLEN);
	else if (inet_pton(AF_INET6, s, bin) == 1)
		*out = inet_ntop(AF_INET6, bin, canon, INET6_ADDRSTRLEN);
	if (*out != NULL)
		return 0;
	snprintf(msg, sizeof(msg), "%s must be an IPv4 or IPv6 address", name);
	tw_fail(resp, 400, "bad_query", msg);
	return -1;
}

static int time_filter(struct http_request *req, struct http_response *resp, const char *name,
		       int64_t *out)
{
	const char *s = http_request_query(req, name);
	char msg[80];

	*out = 0;
	if (s == NULL || report_parse_time(s, out) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s must be an RFC 3339 time", name);
	tw_fail(resp, 400, "bad_query", msg);
	return -1;
}

/* GET /api/v1/alerts: newest first, a page at a time (?limit=1..1000,
 * default 100; ?before=ID, the page's next_before), filtered by ?since=
 * and ?until= (the alert's time, RFC 3339), ?src_ip=, ?dest_ip=,
 * ?signature_id=, ?sensor_id=, ?asset_id=. */
static int alerts_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"limit",	    "before",	 "since",    "until",
					    "src_ip",	    "dest_ip",	 "signature_id", "sensor_id",
					    "asset_id",	    NULL};
	struct tower *t = ctx;
	const struct principal *p;
	enum scope s = tw_need(req, resp, ACT_ALERT_READ, &p);
	long long limit = 100, before = 0, sig = 0, sensor = 0, asset = 0;
	int64_t since, until;
	const char *src, *dst;
	char src_canon[INET6_ADDRSTRLEN], dst_canon[INET6_ADDRSTRLEN];
	struct store_param ps[12];
	size_t n = 0;
	char sql[2048];
	struct store_res *r = NULL;

	if (s == SCOPE_NONE)
		return 0;
	if (tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "limit", 1, 1000, &limit) < 0 ||
	    tw_query_int(req, resp, "before", 1, INT64_MAX, &before) < 0 ||
	    tw_query_int(req, resp, "signature_id", 1, 4294967295LL, &sig) < 0 ||
	    tw_query_int(req, resp, "sensor_id", 1, INT64_MAX, &sensor) < 0 ||
	    tw_query_int(req, resp, "asset_id", 1, INT64_MAX, &asset) < 0 ||
	    time_filter(req, resp, "since", &since) < 0 ||
	    time_filter(req, resp, "until", &until) < 0 || addr_filter(req, resp, "src_ip", src_canon, &src) < 0 ||
	    addr_filter(req, resp, "dest_ip", dst_canon, &dst) < 0)
		return 0;
	const char *scope = alert_scope_sql(s, p, ps, &n);
	if (before)
		ps[n++] = store_int64(before);
	if (since)
		ps[n++] = store_int64(since);
	if (until)
		ps[n++] = store_int64(until);
	if (src)
		ps[n++] = store_text(src);
	if (dst)
		ps[n++] = store_text(dst);
	if (sig)
		ps[n++] = store_int64(sig);
	if (sensor)
		ps[n++] = store_int64(sensor);
	if (asset)
		ps[n++] = store_int64(asset);
	snprintf(sql, sizeof(sql),
		 "SELECT a.id, a.sensor_id, a.alert_id, a.received, a.ts, a.src_ip, a.src_port, "
		 "a.dest_ip, a.dest_port, a.proto, a.signature_id, a.signature, a.severity, "
		 "a.asset_id, a.asset_org_id, a.body FROM alerts a WHERE 1 = 1%s%s%s%s%s%s%s%s%s "
		 "ORDER BY a.id DESC LIMIT %lld",
		 scope, before ? " AND a.id < ?" : "", since ? " AND a.ts >= ?" : "",
		 until ? " AND a.ts < ?" : "", src ? " AND a.src_ip = ?" : "",
		 dst ? " AND a.dest_ip = ?" : "", sig ? " AND a.signature_id = ?" : "",
		 sensor ? " AND a.sensor_id = ?" : "", asset ? " AND a.asset_id = ?" : "", limit + 1);
	if (tw_query(t, resp, sql, ps, n, &r) < 0)
		return 0;
	static const char *const ints[] = {"sensor_id", "src_port",  "dest_port", "signature_id",
					   "severity",	"asset_id", "asset_org_id"};
	static const char *const texts[] = {"alert_id", "src_ip", "dest_ip", "proto", "signature"};
	size_t rows = store_res_nrows(r), shown = rows > (size_t)limit ? (size_t)limit : rows;
	size_t cid = tw_col(r, "id"), cbody = tw_col(r, "body");
	json_t *arr = json_array();
	for (size_t i = 0; i < shown; i++) {
		json_t *o = json_pack("{s:I,s:o,s:o}", "id", (json_int_t)store_res_int64(r, i, cid),
				      "received", tw_time(store_res_int64(r, i, tw_col(r, "received"))),
				      "time", tw_time(store_res_int64(r, i, tw_col(r, "ts"))));

		for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
			size_t col = tw_col(r, ints[k]);

			json_object_set_new(o, ints[k],
					    store_res_isnull(r, i, col)
						    ? json_null()
						    : json_integer(store_res_int64(r, i, col)));
		}
		for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
			const char *v = store_res_text(r, i, tw_col(r, texts[k]));

			json_object_set_new(o, texts[k], v ? json_string(v) : json_null());
		}
		json_t *rec = yg_json_loads(store_res_text(r, i, cbody), 0, NULL);
		json_object_set_new(o, "record", rec ? rec : json_null());
		json_array_append_new(arr, o);
	}
	json_t *page = json_pack("{s:o,s:b}", "alerts", arr, "more", rows > shown);
	if (rows > shown)
		json_object_set_new(page, "next_before",
				    json_integer(store_res_int64(r, shown - 1, cid)));
	store_res_free(r);
	http_response_json(resp, 200, page);
	return 0;
}

const struct tower_route tw_alert_routes[] = {
	{HTTP_POST, "/api/v1/alerts", HTTP_ROUTE_AUTH | HTTP_ROUTE_JSON_RAW, alerts_post},
	{HTTP_GET, "/api/v1/alerts", HTTP_ROUTE_AUTH, alerts_list},
	{0, NULL, 0, NULL},
};
