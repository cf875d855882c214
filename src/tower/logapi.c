/* logapi.c - the transparency log over HTTP: the verifier key, signed
 * checkpoints with the witnesses' cosignatures, C2SP tlog-tiles (hash
 * tiles and entry bundles) for verifiers nobody here wrote, and JSON
 * inclusion and consistency proofs for the browser and the CLI. Readable
 * by auditors and overseers; no route changes or deletes an entry. The
 * one write is a witness's cosignature, which auditors hand in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/jbuf.h"
#include "tlog/tlog.h"
#include "tower/config.h"
#include "tower/tower_int.h"

#define COSIG_SERVED_MAX 64 /* cosignature lines served with a checkpoint */

/* GET /log/key: the verifier key, name+id+key; public. */
static int log_key(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const char *k = tw_log_vkey(t);
	char buf[TLOG_KEY_TEXT_MAX + 2];
	int n;

	(void)req;
	if (k == NULL)
		return tw_fail(resp, 503, "log_unavailable", "the log has no key");
	n = snprintf(buf, sizeof(buf), "%s\n", k);
	return http_response_body(resp, 200, "text/plain; charset=utf-8", buf, (size_t)n) < 0 ? -1
												: 0;
}

/* The latest signed checkpoint's note. */
static int latest_checkpoint(struct tower *t, struct http_response *resp, struct store_res **r)
{
	if (tw_query(t, resp,
		     "SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1", NULL, 0,
		     r) < 0)
		return -1;
	if (store_res_nrows(*r) == 1)
		return 0;
	store_res_free(*r);
	*r = NULL;
	tw_fail(resp, 503, "log_unavailable", "no checkpoint has been signed yet");
	return -1;
}

/* Answers the latest checkpoint: the log's note, then the cosignature
 * lines witnesses handed in for its size (C2SP tlog-witness serves a
 * cosigned checkpoint so; verifiers skip signatures by keys they do not
 * know, as Go's note.Open does). */
static int answer_checkpoint(struct tower *t, struct http_response *resp)
{
	struct store_res *r = NULL, *cs = NULL;
	struct jbuf b;
	int rc;

	if (latest_checkpoint(t, resp, &r) < 0)
		return 0;
	struct store_param ps[] = {store_int64(store_res_int64(r, 0, tw_col(r, "size"))),
				   store_int64(COSIG_SERVED_MAX)};
	if (tw_query(t, resp,
		     "SELECT line FROM log_cosignatures WHERE size = ? ORDER BY witness LIMIT ?", ps, 2,
		     &cs) < 0) {
		store_res_free(r);
		return 0;
	}
	if ((rc = jbuf_init(&b, 1024, TLOG_NOTE_MAX)) == 0) {
		jbuf_puts(&b, store_res_text(r, 0, tw_col(r, "note")));
		for (size_t i = 0; i < store_res_nrows(cs); i++)
			jbuf_puts(&b, store_res_text(cs, i, tw_col(cs, "line")));
		rc = b.err < 0 ? b.err
			       : http_response_body(resp, 200, "text/plain; charset=utf-8", b.buf,
						    b.len);
		http_response_header(resp, "Cache-Control", "no-cache");
		jbuf_fini(&b);
	}
	store_res_free(cs);
	store_res_free(r);
	return rc < 0 ? -1 : 0;
}

/* GET /log/checkpoint: C2SP tlog-tiles' checkpoint. */
static int log_checkpoint(struct http_request *req, struct http_response *resp, void *ctx)
{
	const struct principal *p;

	if (tw_need(req, resp, ACT_LOG_READ, &p) == SCOPE_NONE)
		return 0;
	return answer_checkpoint(ctx, resp);
}

/* POST /api/v1/log/checkpoint: places what has committed and signs a
 * checkpoint of it now, then answers it. */
static int log_checkpoint_now(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;

	if (tw_need(req, resp, ACT_LOG_READ, &p) == SCOPE_NONE)
		return 0;
	if (tw_log_pass(t, true) < 0)
		return tw_store_fail(resp, NULL, YG_EIO);
	return answer_checkpoint(t, resp);
}

/* The tree's size as placed, on a pooled connection it then keeps. */
static int log_open(struct tower *t, struct http_response *resp, struct store_conn **c,
		    uint64_t *size)
{
	if (store_conn_get(t->st, c) < 0) {
		tw_store_fail(resp, NULL, YG_EIO);
		return -1;
	}
	if (tw_log_size(*c, size) < 0) {
		tw_store_fail(resp, *c, YG_EIO);
		store_conn_put(*c);
		return -1;
	}
	return 0;
}

/* GET /log/tile/<L>/<N>[.p/<W>] and /log/tile/entries/<N>[.p/<W>]. */
static int log_tile(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	const char *rest = http_request_param(req, "path");
	char path[TLOG_TILE_PATH_MAX + 8];
	struct tlog_tile tile;
	struct store_conn *c;
	uint64_t size;
	struct jbuf b;
	int rc;

	if (tw_need(req, resp, ACT_LOG_READ, &p) == SCOPE_NONE)
		return 0;
	snprintf(path, sizeof(path), "tile/%s", rest != NULL ? rest : "");
	if (rest == NULL || strlen(rest) > TLOG_TILE_PATH_MAX ||
	    tlog_tile_parse(path, strlen(path), &tile) < 0)
		return tw_fail(resp, 404, "not_found", "no such tile");
	if (log_open(t, resp, &c, &size) < 0)
		return 0;
	if (!tlog_tile_in_tree(&tile, size)) {
		store_conn_put(c);
		return tw_fail(resp, 404, "not_found", "the log has no such tile yet");
	}
	if ((rc = jbuf_init(&b, 8192, 16u << 20)) < 0) {
		store_conn_put(c);
		return -1;
	}
	if (tile.level == TLOG_TILE_ENTRIES) {
		struct store_res *r = NULL;
		struct store_param ps[] = {store_int64((int64_t)(tile.n * TLOG_TILE_WIDTH)),
					   store_int64((int64_t)(tile.n * TLOG_TILE_WIDTH + tile.width))};

		rc = store_exec(c,
				"SELECT l.idx, e.entry FROM log_leaves l JOIN log_entries e ON e.seq = l.seq "
				"WHERE l.idx >= ? AND l.idx < ? ORDER BY l.idx",
				ps, 2, &r, NULL);
		if (rc == 0 && store_res_nrows(r) != tile.width)
			rc = YG_EIO; /* a leaf without its entry: audit verify names it */
		for (size_t i = 0; rc == 0 && i < store_res_nrows(r); i++) {
			size_t len = 0;
			const void *e = store_res_blob(r, i, tw_col(r, "entry"), &len);

			rc = tlog_bundle_put(&b, e, len);
		}
		store_res_free(r);
	} else {
		uint64_t idx[TLOG_TILE_WIDTH];
		struct tlog_hash h[TLOG_TILE_WIDTH];
		struct tlog_reader rd;

		tw_log_reader(c, &rd);
		if ((rc = tlog_tile_indexes(&tile, idx)) == 0 &&
		    (rc = rd.read(rd.arg, idx, tile.width, h)) == 0)
			jbuf_put(&b, h, tile.width * sizeof(h[0]));
		rc = rc < 0 ? rc : b.err;
	}
	if (rc < 0)
		tw_store_fail(resp, c, YG_EIO);
	else if (http_response_body(resp, 200, "application/octet-stream", b.buf, b.len) == 0)
		http_response_header(resp, "Cache-Control",
				     tile.width == TLOG_TILE_WIDTH ? "public, max-age=31536000, immutable"
								   : "no-cache");
	store_conn_put(c);
	jbuf_fini(&b);
	return 0;
}

static json_t *proof_json(const struct tlog_proof *pr)
{
	json_t *arr = json_array();
	char b64[TLOG_HASH_B64_LEN + 1];

	for (size_t i = 0; i < pr->len; i++) {
		tlog_hash_to_b64(&pr->h[i], b64);
		json_array_append_new(arr, json_string(b64));
	}
	return arr;
}

/* GET /api/v1/log/inclusion?index=I&size=N: entry I, its leaf hash and its
 * inclusion proof in the tree of size N (default: as placed now). */
static int log_inclusion(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"index", "size", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	long long index = -1, size = 0;
	struct store_conn *c;
	struct store_res *r = NULL;
	struct tlog_reader rd;
	struct tlog_proof pr;
	struct tlog_hash leaf;
	char b64[TLOG_HASH_B64_LEN + 1];
	uint64_t placed;
	int rc;

	if (tw_need(req, resp, ACT_LOG_READ, &p) == SCOPE_NONE ||
	    tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "index", 0, INT64_MAX, &index) < 0 ||
	    tw_query_int(req, resp, "size", 1, INT64_MAX, &size) < 0)
		return 0;
	if (index < 0)
		return tw_fail(resp, 400, "bad_query", "index is required");
	if (log_open(t, resp, &c, &placed) < 0)
		return 0;
	if (size == 0)
		size = (long long)placed;
	if ((uint64_t)size > placed || index >= size) {
		store_conn_put(c);
		return tw_fail(resp, 404, "not_found", "the log has no such entry at that size");
	}
	struct store_param ps[] = {store_int64(index)};
	rc = store_exec(c,
			"SELECT e.seq, e.entry FROM log_leaves l JOIN log_entries e ON e.seq = l.seq "
			"WHERE l.idx = ?",
			ps, 1, &r, NULL);
	tw_log_reader(c, &rd);
	if (rc == 0 && store_res_nrows(r) == 1)
		rc = tlog_prove_inclusion((uint64_t)size, (uint64_t)index, &rd, &pr);
	else if (rc == 0)
		rc = YG_EIO;
	if (rc < 0) {
		tw_store_fail(resp, c, YG_EIO);
	} else {
		size_t len = 0;
		const char *e = store_res_blob(r, 0, tw_col(r, "entry"), &len);

		tlog_leaf_hash(e, len, &leaf);
		tlog_hash_to_b64(&leaf, b64);
		http_response_json(resp, 200,
				   json_pack("{s:I,s:I,s:s,s:s%,s:o}", "index", (json_int_t)index, "size",
					     (json_int_t)size, "leaf_hash", b64, "entry", e, len,
					     "proof", proof_json(&pr)));
	}
	store_res_free(r);
	store_conn_put(c);
	return 0;
}

/* GET /api/v1/log/consistency?from=M&to=N: the proof that the tree of size
 * M is a prefix of the tree of size N (default: as placed now). */
static int log_consistency(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"from", "to", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	long long from = 0, to = 0;
	struct store_conn *c;
	struct tlog_reader rd;
	struct tlog_proof pr;
	uint64_t placed;

	if (tw_need(req, resp, ACT_LOG_READ, &p) == SCOPE_NONE ||
	    tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "from", 1, INT64_MAX, &from) < 0 ||
	    tw_query_int(req, resp, "to", 1, INT64_MAX, &to) < 0)
		return 0;
	if (from == 0)
		return tw_fail(resp, 400, "bad_query", "from is required");
	if (log_open(t, resp, &c, &placed) < 0)
		return 0;
	if (to == 0)
		to = (long long)placed;
	if ((uint64_t)to > placed || from > to) {
		store_conn_put(c);
		return tw_fail(resp, 404, "not_found", "the log has no tree of that size");
	}
	tw_log_reader(c, &rd);
	if (tlog_prove_consistency((uint64_t)to, (uint64_t)from, &rd, &pr) < 0)
		tw_store_fail(resp, c, YG_EIO);
	else
		http_response_json(resp, 200,
				   json_pack("{s:I,s:I,s:o}", "from", (json_int_t)from, "to",
					     (json_int_t)to, "proof", proof_json(&pr)));
	store_conn_put(c);
	return 0;
}

/* ---- cosignatures ------------------------------------------------------
 * A witness (yagura audit watch, or anyone's C2SP tlog-cosignature
 * witness) hands in its cosignature of a checkpoint the log signed. They
 * are stored beside the log, not logged in it: an entry per cosignature
 * would grow the tree each witness has just cosigned, and no witness
 * would ever catch up. */

struct cosig {
	char witness[TLOG_NAME_MAX + 10]; /* name+id */
	const char *line;		  /* borrowed from the body, with its '\n' */
	size_t len;
	uint64_t time;
	bool stored;
};

/* The timestamp of a stored cosignature line ("— name base64\n"): the 8
 * big-endian bytes after the key id. 0 when it cannot be read, so that
 * any cosignature replaces it. */
static uint64_t line_time(const char *line)
{
	const char *b64 = strrchr(line, ' ');
	uint8_t blob[4 + 8 + 64];
	size_t len = 0;
	uint64_t v = 0;

	if (b64 == NULL ||
	    sodium_base642bin(blob, sizeof(blob), b64 + 1, strcspn(b64 + 1, "\n"), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != sizeof(blob))
		return 0;
	for (int i = 4; i < 12; i++)
		v = v << 8 | blob[i];
	return v;
}

/* Stores cosignatures cs[0..n-1] of the checkpoint text (text_len bytes)
 * of size, in one transaction: each witness's newest for a size replaces
 * an older one, and is kept (cs[i].stored false) when one as new is
 * stored. 0; YG_ENOTFOUND (no checkpoint of that size), YG_EINVAL (the
 * log signed another text at that size), or the store's error. */
static int cosig_store(struct store_conn *c, uint64_t size, const char *text, size_t text_len,
		       struct cosig *cs, size_t n)
{
	struct store_res *r = NULL;
	struct store_param ps[4] = {store_int64((int64_t)size)};
	int rc;

	if ((rc = store_begin(c)) < 0)
		return rc;
	rc = store_exec(c, "SELECT note FROM log_checkpoints WHERE size = ?", ps, 1, &r, NULL);
	if (rc == 0 && store_res_nrows(r) == 0) {
		rc = YG_ENOTFOUND;
	} else if (rc == 0) {
		const char *note = store_res_text(r, 0, store_res_col(r, "note"));

		if (strlen(note) <= text_len || memcmp(note, text, text_len) != 0 ||
		    note[text_len] != '\n')
			rc = YG_EINVAL;
	}
	store_res_free(r);
	r = NULL;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct store_param q[] = {store_int64((int64_t)size), store_text(cs[i].witness)};

		if ((rc = store_exec(c,
				     "SELECT line FROM log_cosignatures WHERE size = ? AND witness = ?",
				     q, 2, &r, NULL)) < 0)
			break;
		if (store_res_nrows(r) == 0) {
			struct store_param ins[] = {store_int64((int64_t)size), store_text(cs[i].witness),
						    store_textn(cs[i].line, cs[i].len),
						    store_int64(tw_now_us())};

			rc = store_exec(c,
					"INSERT INTO log_cosignatures (size, witness, line, created) "
					"VALUES (?, ?, ?, ?)",
					ins, 4, NULL, NULL);
			cs[i].stored = rc == 0;
		} else if (line_time(store_res_text(r, 0, store_res_col(r, "line"))) < cs[i].time) {
			struct store_param up[] = {store_textn(cs[i].line, cs[i].len),
						   store_int64(tw_now_us()), store_int64((int64_t)size),
						   store_text(cs[i].witness)};

			rc = store_exec(c,
					"UPDATE log_cosignatures SET line = ?, created = ? "
					"WHERE size = ? AND witness = ?",
					up, 4, NULL, NULL);
			cs[i].stored = rc == 0;
		}
		store_res_free(r);
		r = NULL;
	}
	if (rc == 0)
		return store_commit(c);
	store_rollback(c);
	return rc;
}

/* POST /api/v1/log/cosignature: the body is a cosigned checkpoint, a
 * C2SP signed note: the checkpoint's text exactly as the log signed it, a
 * blank line, and the witness's cosignature line (the log's own signature
 * may be there too; signatures by keys the tower does not know are
 * skipped). Every cosignature by a configured witness must verify, over
 * the text of the checkpoint the log signed at that size. */
static int log_cosign(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	struct tlog_verifier w[TOWER_MAX_WITNESSES];
	struct tlog_note *note = NULL;
	struct tlog_checkpoint cp;
	struct cosig cs[TOWER_MAX_WITNESSES];
	struct store_conn *c;
	char err[300], msg[200];
	const char *body, *at;
	size_t len, nw, n = 0;
	int rc;

	if (tw_need(req, resp, ACT_LOG_COSIGN, &p) == SCOPE_NONE)
		return 0;
	body = http_request_body(req, &len);
	if (config_witnesses(t->cfg.log_witnesses, w, &nw, err, sizeof(err)) < 0 || nw == 0)
		return tw_fail(resp, 422, "unknown_witness",
			       "this tower takes cosignatures from no witness: its [log] witnesses "
			       "names none");
	if ((note = malloc(sizeof(*note))) == NULL)
		return -1;
	rc = tlog_note_open(body, len, w, nw, note);
	if (rc == 0 && tlog_checkpoint_parse(note->text, note->text_len, &cp) < 0)
		rc = YG_EFORMAT;
	switch (rc) {
	case 0:
		break;
	case YG_ENOTFOUND:
		tw_fail(resp, 422, "unknown_witness",
			"the note carries no cosignature by a witness this tower knows ([log] "
			"witnesses)");
		goto out;
	case YG_ECONFLICT:
		tw_fail(resp, 422, "bad_cosignature",
			"a witness's cosignature does not verify over the note's text");
		goto out;
	case YG_ENOMEM:
		free(note);
		return -1;
	default:
		tw_fail(resp, 400, "bad_note",
			"the body is not a cosigned checkpoint: the checkpoint's text as the log "
			"signed it, a blank line, the witness's cosignature line");
		goto out;
	}
	/* The signature lines follow the text, one for each of sigs[]. */
	at = note->text + note->text_len + 1;
	for (size_t i = 0; i < note->nsigs; i++) {
		const char *nl = memchr(at, '\n', (size_t)(body + len - at));
		const struct tlog_note_sig *sg = &note->sigs[i];

		if (sg->key >= 0 && n < TOWER_MAX_WITNESSES) {
			snprintf(cs[n].witness, sizeof(cs[n].witness), "%.*s+%08x", (int)sg->name_len,
				 sg->name, (unsigned)sg->id);
			cs[n].line = at;
			cs[n].len = (size_t)(nl - at) + 1;
			cs[n].time = sg->time;
			cs[n].stored = false;
			n++;
		}
		at = nl + 1;
	}
	if (store_conn_get(t->st, &c) < 0) {
		tw_store_fail(resp, NULL, YG_EIO);
		goto out;
	}
	rc = cosig_store(c, cp.size, note->text, note->text_len, cs, n);
	if (rc == YG_ENOTFOUND) {
		snprintf(msg, sizeof(msg), "the log signed no checkpoint of size %llu",
			 (unsigned long long)cp.size);
		tw_fail(resp, 404, "not_found", msg);
	} else if (rc == YG_EINVAL) {
		snprintf(msg, sizeof(msg),
			 "the log signed another checkpoint of size %llu: the cosigned text is not "
			 "the one it signed",
			 (unsigned long long)cp.size);
		tw_fail(resp, 409, "not_the_checkpoint", msg);
	} else if (rc < 0) {
		tw_store_fail(resp, c, rc);
	} else {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s,s:o,s:b}", "witness", cs[i].witness,
							     "time",
							     tw_time((int64_t)cs[i].time * 1000000),
							     "stored", cs[i].stored));
		http_response_json(resp, 200,
				   json_pack("{s:I,s:o}", "size", (json_int_t)cp.size, "cosignatures",
					     arr));
	}
	store_conn_put(c);
out:
	free(note);
	return 0;
}

const struct tower_route tw_log_routes[] = {
	{HTTP_GET, "/log/key", 0, log_key},
	{HTTP_GET, "/log/checkpoint", HTTP_ROUTE_AUTH, log_checkpoint},
	{HTTP_GET, "/log/tile/{path...}", HTTP_ROUTE_AUTH, log_tile},
	{HTTP_POST, "/api/v1/log/checkpoint", HTTP_ROUTE_AUTH, log_checkpoint_now},
	{HTTP_GET, "/api/v1/log/inclusion", HTTP_ROUTE_AUTH, log_inclusion},
	{HTTP_GET, "/api/v1/log/consistency", HTTP_ROUTE_AUTH, log_consistency},
	{HTTP_POST, "/api/v1/log/cosignature", HTTP_ROUTE_AUTH, log_cosign},
	{0, NULL, 0, NULL},
};
