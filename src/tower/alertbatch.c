/* alertbatch.c - see alertbatch.h. The parser: what a record's fields hold
 * and the checks they get are in alertbatch_record.c.
 *
 * YAJL calls back for every token. A small stack of roles says where a value
 * sits: the top-level object, the batch array, a record, the record's
 * "alert" object, or anything else (read by YAJL, ignored here). Record
 * boundaries come from YAJL's byte count at the '{' and '}' callbacks, so a
 * record is stored byte for byte as the sensor sent it. */
#include "tower/alertbatch_int.h"

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl_parse.h>

#include "base/alloc.h"

const char *const alertbatch_key_names[K_COUNT] = {
	[K_ALERT_ID] = "alert_id",
	[K_TIMESTAMP] = "timestamp",
	[K_SRC_IP] = "src_ip",
	[K_SRC_PORT] = "src_port",
	[K_DEST_IP] = "dest_ip",
	[K_DEST_PORT] = "dest_port",
	[K_PROTO] = "proto",
	[K_ALERT] = "alert",
	[K_EVIDENCE] = "evidence",
	[K_SIGNATURE_ID] = "signature_id",
	[K_SIGNATURE] = "signature",
	[K_SEVERITY] = "severity",
	[K_CATEGORY] = "category",
	[K_METADATA] = "metadata",
	[K_DETECTOR] = "detector",
	[K_ATTACKERS] = "attackers",
	[K_ATTACKER_PACKETS] = "attacker_packets",
	[K_ATTACKER_ROLE] = "attacker_role",
	[K_WINDOW_START] = "window_start",
	[K_INDICATOR_ID] = "indicator_id",
	[K_INDICATOR] = "indicator",
	[K_PACKETS] = "packets",
	[K_PREVIOUS_PACKETS] = "previous_packets",
	[K_PREVIOUS_SESSIONS] = "previous_sessions",
	[K_ESCALATION] = "escalation",
	[K_DISTINCT_HOSTS] = "distinct_hosts",
	[K_DISTINCT_PORTS] = "distinct_ports",
	[K_DISTINCT_PROTOCOLS] = "distinct_protocols",
	[K_SESSIONS] = "sessions",
	[K_CONFIDENCE] = "confidence",
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

/* Places a value by its parent; see alertbatch_record_field() for the result. */
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
		alertbatch_rec_err(s, NULL, NULL, "must be an EVE alert record (a JSON object)");
		return R_OTHER;
	case R_RECORD:
	case R_ALERT:
	case R_METADATA:
	case R_EVIDENCE:
		return alertbatch_record_field(s, k, t, str, n, iv, parent);
	case R_DETECTOR:
		return alertbatch_detector_elem(s, t, str, n);
	case R_ATTACKERS:
		return alertbatch_attacker_elem(s, t, str, n);
	case R_ATTACKER_PACKETS:
		return alertbatch_attacker_packets_elem(s, t, iv);
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
		last = K_EVIDENCE;
	} else if (in == R_ALERT) {
		first = K_SIGNATURE_ID;
		last = K_METADATA;
	} else if (in == R_METADATA) {
		first = last = K_DETECTOR;
	} else if (in == R_EVIDENCE) {
		first = K_ATTACKERS;
		last = K_CONFIDENCE;
	} else {
		return K_NONE;
	}
	for (enum key i = first; i <= last; i++)
		if (strlen(alertbatch_key_names[i]) == n &&
		    memcmp(alertbatch_key_names[i], k, n) == 0)
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
		if (s->seen & ((uint64_t)1 << key)) {
			alertbatch_field_err(s, key, in, "appears twice");
			key = K_NONE; /* keep the first */
		} else {
			s->seen |= (uint64_t)1 << key;
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
		alertbatch_record_check(s, r);
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

/* YAJL 2.1 writes through the pointers its allocator returns without
 * checking them (yajl_alloc, its buffers, its state stack), so an allocation
 * refused inside it would crash the tower. It allocates from here instead:
 * each block is linked into the parse's heap, and a refusal jumps back to
 * run_yajl() past YAJL's frames, after which the heap frees whatever YAJL
 * held. YAJL allocates only between callbacks, never inside one, so the
 * jump skips no frame of ours; libpng and libjpeg report errors the same
 * way. */
struct yblock {
	struct yblock *prev, *next;
	max_align_t data[];
};

struct yheap {
	jmp_buf out;
	struct yblock *head;
};

static void ylink(struct yheap *y, struct yblock *k)
{
	k->prev = NULL;
	k->next = y->head;
	if (y->head)
		y->head->prev = k;
	y->head = k;
}

static void yunlink(struct yheap *y, struct yblock *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		y->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
}

static struct yblock *yblock_of(void *p)
{
	return (struct yblock *)(void *)((char *)p - offsetof(struct yblock, data));
}

static void *ya_malloc(void *ctx, size_t n)
{
	struct yheap *y = ctx;
	struct yblock *k = n <= SIZE_MAX - sizeof(*k) ? yg_malloc(sizeof(*k) + n) : NULL;

	if (k == NULL)
		longjmp(y->out, 1);
	ylink(y, k);
	return k->data;
}

static void *ya_realloc(void *ctx, void *p, size_t n)
{
	struct yheap *y = ctx;
	struct yblock *k, *nk;

	if (p == NULL)
		return ya_malloc(ctx, n);
	k = yblock_of(p);
	yunlink(y, k);
	nk = n <= SIZE_MAX - sizeof(*k) ? yg_realloc(k, sizeof(*k) + n) : NULL;
	if (nk == NULL) {
		ylink(y, k); /* still YAJL's, freed with the heap */
		longjmp(y->out, 1);
	}
	ylink(y, nk);
	return nk->data;
}

static void ya_free(void *ctx, void *p)
{
	struct yblock *k;

	if (p == NULL)
		return;
	k = yblock_of(p);
	yunlink(ctx, k);
	free(k);
}

static void yheap_clear(struct yheap *y)
{
	while (y->head) {
		struct yblock *k = y->head;

		y->head = k->next;
		free(k);
	}
}

/* Reads the body with YAJL: 0, or -1 when YAJL could not allocate (then
 * nothing of this frame is used again, and the caller clears the heap). */
static int run_yajl(struct pstate *s, struct yheap *y)
{
	yajl_alloc_funcs af = {ya_malloc, ya_realloc, ya_free, y};
	struct alert_batch *b = s->b;
	yajl_status st;

	if (setjmp(y->out))
		return -1;
	s->h = yajl_alloc(&callbacks, &af, s); /* copies af */
	st = yajl_parse(s->h, (const unsigned char *)s->body, s->len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(s->h);
	if (st == yajl_status_error) {
		unsigned char *e = yajl_get_error(s->h, 0, (const unsigned char *)s->body, s->len);
		size_t at = yajl_get_bytes_consumed(s->h);
		char *nl;

		b->status = ALERT_BATCH_BAD_JSON;
		snprintf(b->msg, sizeof(b->msg), "body is not valid JSON: %s (near byte %zu)",
			 e ? (const char *)e : "parse error", at);
		if ((nl = strchr(b->msg, '\n')) != NULL) /* YAJL ends with a newline */
			memmove(nl, nl + 1, strlen(nl + 1) + 1);
		if (e)
			yajl_free_error(s->h, e);
	} else if (st == yajl_status_ok && b->status == ALERT_BATCH_OK &&
		   (!s->batch_seen || b->n == 0)) {
		shape(s, NULL);
	}
	yajl_free(s->h);
	return 0;
}

enum alert_batch_status alert_batch_parse(const char *body, size_t len, size_t max,
					  struct alert_batch *b)
{
	struct pstate s = {.body = body, .len = len, .max = max, .b = b};
	struct yheap y = {.head = NULL};

	memset(b, 0, sizeof(*b));
	b->strs_cap = len + 1;
	b->strs = yg_malloc(b->strs_cap);
	if (b->strs == NULL)
		return b->status = ALERT_BATCH_NOMEM;
	if (run_yajl(&s, &y) < 0)
		b->status = ALERT_BATCH_NOMEM;
	yheap_clear(&y);
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
