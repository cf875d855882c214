/* idem.c - Idempotency-Key on the POSTs that create or decide
 * (draft-ietf-httpapi-idempotency-key-header; docs/tower.md).
 *
 * A client that sent a write and got no answer, or a 5xx, cannot know
 * whether the write was stored: the tower may have committed it and then
 * failed to answer (out of memory, a cut connection, a restart). With a
 * key, it sends the same request again and gets the first answer back
 * instead of filing twice.
 *
 * The key's row is written in the change's own transaction (svc_changed),
 * so it exists exactly when the change does. It keeps the answer when the
 * body made it before committing (a report's receipt); otherwise the
 * record's id, and a replay answers the record as it now stands (a case,
 * an authorization), the way the first answer was made. A concurrent
 * retry meets the row's primary key, fails as a conflict and is answered
 * by the replay too. Rows older than TW_IDEM_KEEP_S go with the hourly
 * retention pass. */
#include <string.h>

#include <sodium.h>

#include "base/json.h"
#include "base/log.h"
#include "tower/tower_int.h"

/* The key as sent: a token, or a structured-field string in quotes (the
 * draft's form). Quotes go; what is left must be printable ASCII. */
static int key_parse(const char *h, char *out)
{
	size_t n = strlen(h);

	if (n >= 2 && h[0] == '"' && h[n - 1] == '"' && memchr(h + 1, '\\', n - 2) == NULL) {
		h++;
		n -= 2;
	}
	if (n == 0 || n > TW_IDEM_KEY_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (h[i] < 0x20 || h[i] > 0x7e)
			return -1;
	memcpy(out, h, n);
	out[n] = '\0';
	return 0;
}

/* What makes two requests the same: the path (keyed up to 64 bytes) and
 * the body. A key sent again with another body, or to another record's
 * path, is refused. */
static void request_hash(struct http_request *req, char *out)
{
	size_t len, plen = strlen(http_request_path(req));
	const char *body = http_request_body(req, &len);
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)body, len,
			   (const unsigned char *)http_request_path(req), plen > 64 ? 64 : plen);
	tw_hex(h, sizeof(h), out);
}

int tw_idem_replay(struct tower *t, struct http_response *resp, const struct principal *p,
		   const struct tw_idem *k)
{
	struct store_conn *c = NULL;
	struct store_res *r = NULL;
	struct store_param ps[] = {store_int64(p->user_id), store_text(k->key)};
	int rc;

	if (k->key == NULL)
		return 0;
	if ((rc = store_conn_get(t->st, &c)) < 0) {
		tw_store_fail(resp, NULL, rc);
		return 1;
	}
	rc = store_exec(c,
			"SELECT request_hash, status, response, record_id FROM idempotency "
			"WHERE user_id = ? AND idem_key = ?",
			ps, 2, &r, NULL);
	if (rc < 0) {
		tw_store_fail(resp, c, rc);
		store_conn_put(c);
		return 1;
	}
	store_conn_put(c);
	if (store_res_nrows(r) != 1) {
		store_res_free(r);
		return 0;
	}
	int status = (int)store_res_int64(r, 0, tw_col(r, "status"));
	const char *text = store_res_text(r, 0, tw_col(r, "response"));
	int64_t id = store_res_int64(r, 0, tw_col(r, "record_id"));

	if (strcmp(store_res_text(r, 0, tw_col(r, "request_hash")), k->hash) != 0) {
		tw_fail(resp, 422, "idempotency_key_reused",
			"this Idempotency-Key was used for a different request");
	} else if (text != NULL) {
		json_t *j = yg_json_loads(text, 0, NULL);

		if (j == NULL)
			tw_store_fail(resp, NULL, YG_ENOMEM);
		else if (http_response_json(resp, status, j) == 0)
			http_response_header(resp, "Idempotent-Replayed", "true");
	} else if (k->again != NULL && id > 0) {
		if (k->again(t, resp, id, status) == 0)
			http_response_header(resp, "Idempotent-Replayed", "true");
	} else {
		log_warnx("tower: idempotency key of user %lld keeps no answer",
			  (long long)p->user_id);
		tw_store_fail(resp, NULL, YG_EIO);
	}
	store_res_free(r);
	return 1;
}

int tw_idem_begin(struct tower *t, struct http_request *req, struct http_response *resp,
		  const struct principal *p, int status, tw_answer_fn again, struct tw_idem *k)
{
	const char *h = http_request_header(req, "Idempotency-Key");

	memset(k, 0, sizeof(*k));
	k->status = status;
	k->again = again;
	if (h == NULL)
		return 0;
	if (key_parse(h, k->buf) < 0) {
		tw_fail(resp, 400, "bad_idempotency_key",
			"Idempotency-Key must be 1 to 200 printable ASCII characters");
		return 1;
	}
	k->key = k->buf;
	request_hash(req, k->hash);
	return tw_idem_replay(t, resp, p, k);
}

int tw_idem_save(struct store_conn *c, const struct principal *p, const struct tw_idem *k,
		 const json_t *answer, int64_t id, int64_t now)
{
	char *text = NULL;
	int rc;

	if (answer != NULL && (text = yg_json_dumps(answer, JSON_COMPACT)) == NULL)
		return YG_ENOMEM;
	struct store_param ps[] = {store_int64(p->user_id), store_text(k->key),
				   store_text(k->hash),	    store_int64(k->status),
				   store_text(text),	    store_int64(id),
				   store_int64(now)};
	rc = store_exec(c,
			"INSERT INTO idempotency (user_id, idem_key, request_hash, status, response, "
			"record_id, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
			ps, 7, NULL, NULL);
	free(text);
	return rc;
}

int tw_idem_prune(struct tower *t)
{
	struct store_conn *c = NULL;
	struct store_param ps[] = {store_int64(tw_now_us() - (int64_t)TW_IDEM_KEEP_S * 1000000)};
	int64_t n = 0;
	int rc;

	if ((rc = store_conn_get(t->st, &c)) < 0)
		return rc;
	rc = store_exec(c, "DELETE FROM idempotency WHERE created < ?", ps, 1, NULL, &n);
	if (rc < 0)
		log_warnx("tower: idempotency keys: %s", store_conn_errmsg(c));
	store_conn_put(c);
	return rc < 0 ? rc : (int)n;
}
