/* alertbatch.c - see alertbatch.h.
 *
 * YAJL calls back for every token. A small stack of roles says where a value
 * sits: the top-level object, the batch array, a record, the record's
 * "alert" object, or anything else (read by YAJL, ignored here). Record
 * boundaries come from YAJL's byte count at the '{' and '}' callbacks, so a
 * record is stored byte for byte as the sensor sent it. */
#include "tower/alertbatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl_parse.h>

#include "base/alloc.h"

enum role { R_NONE, R_OTHER, R_TOP, R_BATCH, R_RECORD, R_ALERT };

/* Keys that mean something; a bit each for duplicate detection. */
enum key {
	K_NONE = 0,
	K_ALERTS,
	K_ALERT_ID,
	K_TIMESTAMP,
	K_SRC_IP,
	K_SRC_PORT,
	K_DEST_IP,
	K_DEST_PORT,
	K_PROTO,
	K_ALERT,
	K_SIGNATURE_ID,
	K_SIGNATURE,
	K_SEVERITY,
};

static const char *const key_names[] = {
	[K_ALERT_ID] = "alert_id",   [K_TIMESTAMP] = "timestamp", [K_SRC_IP] = "src_ip",
	[K_SRC_PORT] = "src_port",   [K_DEST_IP] = "dest_ip",     [K_DEST_PORT] = "dest_port",
	[K_PROTO] = "proto",	     [K_ALERT] = "alert",	  [K_SIGNATURE_ID] = "signature_id",
	[K_SIGNATURE] = "signature", [K_SEVERITY] = "severity",
};

#define ROLE_DEPTH 6 /* roles are kept this deep; below, everything is R_OTHER */

enum vtype { V_NULL, V_BOOL, V_INT, V_DOUBLE, V_STRING, V_MAP, V_ARRAY };

struct pstate {
	yajl_handle h;
	const char *body;
	size_t len, max;
	struct alert_batch *b;
	size_t depth;
	unsigned char role[ROLE_DEPTH + 1];
	unsigned char key[ROLE_DEPTH + 1];
	int batch_seen, alerts_key_seen;
	struct alert_rec *cur; /* the record being read, or NULL */
	size_t cur_index;
	unsigned seen; /* keys seen in the current record, 1u << enum key */
};

/* Marks the whole body as the wrong shape; 0 cancels YAJL's parse. */
static int shape(struct pstate *s, const char *why)
{
	struct alert_batch *b = s->b;

	if (b->status == ALERT_BATCH_OK || b->status == ALERT_BATCH_BAD_RECORD) {
		b->status = ALERT_BATCH_BAD_SHAPE;
		if (why)
			snprintf(b->msg, sizeof(b->msg), "%s", why);
		else
			snprintf(b->msg, sizeof(b->msg),
				 "the body must be {\"alerts\": [...]} with 1 to %zu EVE alert records",
				 s->max);
	}
	return 0; /* cancels the parse */
}

static void rec_err(struct pstate *s, const char *sub, const char *field, const char *reason)
{
	struct alert_batch *b = s->b;
	struct alert_batch_err *e;

	if (b->status == ALERT_BATCH_OK)
		b->status = ALERT_BATCH_BAD_RECORD;
	if (b->status != ALERT_BATCH_BAD_RECORD || b->nerrs >= ALERT_BATCH_ERRS_MAX)
		return;
	e = &b->errs[b->nerrs++];
	snprintf(e->field, sizeof(e->field), "alerts[%zu]%s%s%s%s", s->cur_index, field ? "." : "",
		 sub ? sub : "", sub ? "." : "", field ? field : "");
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

static void field_err(struct pstate *s, enum key k, int in_alert, const char *reason)
{
	rec_err(s, in_alert ? "alert" : NULL, key_names[k], reason);
}

static const char *copy_str(struct pstate *s, const unsigned char *v, size_t n)
{
	struct alert_batch *b = s->b;
	char *p;

	/* A decoded string is never longer than its JSON text plus quotes, so
	 * the buffer sized by the body never overflows; checked anyway. */
	if (b->strs_len + n + 1 > b->strs_cap)
		return NULL;
	p = b->strs + b->strs_len;
	memcpy(p, v, n);
	p[n] = '\0';
	b->strs_len += n + 1;
	return p;
}

/* A value inside a record (in_alert: inside its "alert" object). Returns
 * the role of a container it opens, R_OTHER when ignored, -1 to cancel. */
static int record_field(struct pstate *s, enum key k, enum vtype t, const unsigned char *str,
			size_t n, long long iv, int in_alert)
{
	struct alert_rec *r = s->cur;
	const char **dst = NULL;

	if (r == NULL || k == K_NONE)
		return R_OTHER;
	switch (k) {
	case K_ALERT_ID:
		dst = &r->alert_id;
		break;
	case K_TIMESTAMP:
		dst = &r->timestamp;
		break;
	case K_SRC_IP:
		dst = &r->src_ip;
		break;
	case K_DEST_IP:
		dst = &r->dest_ip;
		break;
	case K_PROTO:
		dst = &r->proto;
		break;
	case K_SIGNATURE:
		dst = &r->signature;
		break;
	case K_ALERT:
		if (t != V_MAP) {
			field_err(s, k, in_alert, "must be an object");
			return R_OTHER;
		}
		r->has |= ALERT_HAS_ALERT;
		return R_ALERT;
	case K_SRC_PORT:
	case K_DEST_PORT:
		if (t != V_INT || iv < 0 || iv > 65535) {
			field_err(s, k, in_alert, "must be a port number (0 to 65535)");
			return R_OTHER;
		}
		if (k == K_SRC_PORT) {
			r->src_port = iv;
			r->has |= ALERT_HAS_SRC_PORT;
		} else {
			r->dest_port = iv;
			r->has |= ALERT_HAS_DEST_PORT;
		}
		return R_OTHER;
	case K_SIGNATURE_ID:
	case K_SEVERITY:
		if (t != V_INT) {
			field_err(s, k, in_alert, "must be an integer");
			return R_OTHER;
		}
		if (k == K_SIGNATURE_ID) {
			r->signature_id = iv;
			r->has |= ALERT_HAS_SIGNATURE_ID;
		} else {
			r->severity = iv;
			r->has |= ALERT_HAS_SEVERITY;
		}
		return R_OTHER;
	default:
		return R_OTHER;
	}
	if (t != V_STRING) {
		field_err(s, k, in_alert, "must be a string");
		return R_OTHER;
	}
	if (memchr(str, '\0', n) != NULL) {
		field_err(s, k, in_alert, "must not contain NUL");
		return R_OTHER;
	}
	if ((*dst = copy_str(s, str, n)) == NULL) {
		s->b->status = ALERT_BATCH_NOMEM;
		return -1;
	}
	if (k == K_ALERT_ID)
		r->alert_id_len = n;
	return R_OTHER;
}

/* Places a value by its parent; see record_field() for the result. */
static int place(struct pstate *s, enum vtype t, const unsigned char *str, size_t n, long long iv)
{
	struct alert_batch *b = s->b;
	enum role parent = R_NONE;
	enum key k = K_NONE;

	if (s->depth > 0 && s->depth <= ROLE_DEPTH) {
		parent = s->role[s->depth];
		k = s->key[s->depth];
	} else if (s->depth > ROLE_DEPTH) {
		parent = R_OTHER;
	}
	switch (parent) {
	case R_NONE:
		if (t == V_MAP)
			return R_TOP;
		if (t == V_ARRAY) {
			s->batch_seen = 1;
			return R_BATCH;
		}
		shape(s, NULL);
		return -1;
	case R_TOP:
		if (k != K_ALERTS)
			return R_OTHER;
		if (t != V_ARRAY) {
			shape(s, NULL);
			return -1;
		}
		s->batch_seen = 1;
		return R_BATCH;
	case R_BATCH:
		if (b->n >= s->max) {
			shape(s, NULL);
			return -1;
		}
		if (b->n == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 64;
			struct alert_rec *nr = yg_realloc(b->recs, cap * sizeof(*nr));

			if (nr == NULL) {
				b->status = ALERT_BATCH_NOMEM;
				return -1;
			}
			b->recs = nr;
			b->cap = cap;
		}
		s->cur_index = b->n;
		s->cur = &b->recs[b->n++];
		memset(s->cur, 0, sizeof(*s->cur));
		s->seen = 0;
		if (t == V_MAP)
			return R_RECORD;
		s->cur = NULL;
		rec_err(s, NULL, NULL, "must be an EVE alert record (a JSON object)");
		return R_OTHER;
	case R_RECORD:
		return record_field(s, k, t, str, n, iv, 0);
	case R_ALERT:
		return record_field(s, k, t, str, n, iv, 1);
	default:
		return R_OTHER;
	}
}

static int scalar(struct pstate *s, enum vtype t, const unsigned char *str, size_t n, long long iv)
{
	return place(s, t, str, n, iv) >= 0;
}

static int cb_null(void *ctx)
{
	return scalar(ctx, V_NULL, NULL, 0, 0);
}

static int cb_bool(void *ctx, int v)
{
	(void)v;
	return scalar(ctx, V_BOOL, NULL, 0, 0);
}

static int cb_int(void *ctx, long long v)
{
	return scalar(ctx, V_INT, NULL, 0, v);
}

static int cb_double(void *ctx, double v)
{
	(void)v;
	return scalar(ctx, V_DOUBLE, NULL, 0, 0);
}

static int cb_string(void *ctx, const unsigned char *v, size_t n)
{
	return scalar(ctx, V_STRING, v, n, 0);
}

static int open_container(struct pstate *s, enum vtype t)
{
	int r = place(s, t, NULL, 0, 0);

	if (r < 0)
		return 0;
	s->depth++;
	if (s->depth <= ROLE_DEPTH) {
		s->role[s->depth] = (unsigned char)r;
		s->key[s->depth] = K_NONE;
	}
	if (r == R_RECORD) {
		size_t at = yajl_get_bytes_consumed(s->h);

		/* YAJL has just read the '{'. */
		if (at == 0 || at > s->len || s->body[at - 1] != '{')
			return shape(s, "internal error: record start not found");
		s->cur->text = s->body + at - 1;
	}
	return 1;
}

static int cb_start_map(void *ctx)
{
	return open_container(ctx, V_MAP);
}

static int cb_start_array(void *ctx)
{
	return open_container(ctx, V_ARRAY);
}

static enum key lookup(enum role in, const unsigned char *k, size_t n)
{
	enum key first, last;

	if (in == R_TOP)
		return n == 6 && memcmp(k, "alerts", 6) == 0 ? K_ALERTS : K_NONE;
	if (in == R_RECORD) {
		first = K_ALERT_ID;
		last = K_ALERT;
	} else if (in == R_ALERT) {
		first = K_SIGNATURE_ID;
		last = K_SEVERITY;
	} else {
		return K_NONE;
	}
	for (enum key i = first; i <= last; i++)
		if (strlen(key_names[i]) == n && memcmp(key_names[i], k, n) == 0)
			return i;
	return K_NONE;
}

static int cb_map_key(void *ctx, const unsigned char *k, size_t n)
{
	struct pstate *s = ctx;
	enum role in;
	enum key key;

	if (s->depth == 0 || s->depth > ROLE_DEPTH)
		return 1;
	in = s->role[s->depth];
	key = lookup(in, k, n);
	if (key == K_ALERTS) {
		if (s->alerts_key_seen)
			return shape(s, "the key \"alerts\" appears twice");
		s->alerts_key_seen = 1;
	} else if (key != K_NONE && s->cur != NULL) {
		if (s->seen & (1u << key)) {
			field_err(s, key, in == R_ALERT, "appears twice");
			key = K_NONE; /* keep the first */
		} else {
			s->seen |= 1u << key;
		}
	}
	s->key[s->depth] = (unsigned char)key;
	return 1;
}

static int cb_end_map(void *ctx)
{
	struct pstate *s = ctx;

	if (s->depth > 0 && s->depth <= ROLE_DEPTH && s->role[s->depth] == R_RECORD &&
	    s->cur != NULL) {
		struct alert_rec *r = s->cur;
		size_t at = yajl_get_bytes_consumed(s->h);

		if (at == 0 || at > s->len || s->body[at - 1] != '}' || s->body + at <= r->text)
			return shape(s, "internal error: record end not found");
		r->len = (size_t)(s->body + at - r->text);
		if (!(r->has & ALERT_HAS_ALERT) || !(r->has & ALERT_HAS_SIGNATURE_ID))
			rec_err(s, NULL, NULL, "must be an EVE alert record with alert.signature_id");
		else if (r->timestamp == NULL)
			rec_err(s, NULL, NULL, "needs a timestamp");
		s->cur = NULL;
	}
	s->depth--;
	return 1;
}

static int cb_end_array(void *ctx)
{
	struct pstate *s = ctx;

	s->depth--;
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_bool,
	.yajl_integer = cb_int,
	.yajl_double = cb_double,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_map_key,
	.yajl_end_map = cb_end_map,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end_array,
};

enum alert_batch_status alert_batch_parse(const char *body, size_t len, size_t max,
					  struct alert_batch *b)
{
	struct pstate s = {.body = body, .len = len, .max = max, .b = b};
	yajl_status st;

	memset(b, 0, sizeof(*b));
	b->strs_cap = len + 1;
	b->strs = yg_malloc(b->strs_cap);
	s.h = yajl_alloc(&callbacks, NULL, &s);
	if (b->strs == NULL || s.h == NULL) {
		if (s.h)
			yajl_free(s.h);
		return b->status = ALERT_BATCH_NOMEM;
	}
	st = yajl_parse(s.h, (const unsigned char *)body, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(s.h);
	if (st == yajl_status_error) {
		unsigned char *e = yajl_get_error(s.h, 0, (const unsigned char *)body, len);
		size_t at = yajl_get_bytes_consumed(s.h);
		char *nl;

		b->status = ALERT_BATCH_BAD_JSON;
		snprintf(b->msg, sizeof(b->msg), "body is not valid JSON: %s (near byte %zu)",
			 e ? (const char *)e : "parse error", at);
		if ((nl = strchr(b->msg, '\n')) != NULL) /* YAJL ends with a newline */
			memmove(nl, nl + 1, strlen(nl + 1) + 1);
		if (e)
			yajl_free_error(s.h, e);
	} else if (st == yajl_status_ok && b->status == ALERT_BATCH_OK &&
		   (!s.batch_seen || b->n == 0)) {
		shape(&s, NULL);
	}
	yajl_free(s.h);
	return b->status;
}

void alert_batch_free(struct alert_batch *b)
{
	free(b->recs);
	free(b->strs);
	b->recs = NULL;
	b->strs = NULL;
	b->n = b->cap = 0;
}
