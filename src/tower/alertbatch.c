/* alertbatch.c - see alertbatch.h.
 *
 * YAJL calls back for every token. A small stack of roles says where a value
 * sits: the top-level object, the batch array, a record, the record's
 * "alert" object, or anything else (read by YAJL, ignored here). Record
 * boundaries come from YAJL's byte count at the '{' and '}' callbacks, so a
 * record is stored byte for byte as the sensor sent it. */
#include "tower/alertbatch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <yajl_parse.h>

#include "base/alloc.h"
#include "tower/report.h"

enum role {
	R_NONE,
	R_OTHER,
	R_TOP,
	R_BATCH,
	R_RECORD,
	R_ALERT,
	R_METADATA,  /* alert.metadata */
	R_DETECTOR,  /* alert.metadata.detector, an array */
	R_EVIDENCE,  /* evidence */
	R_ATTACKERS, /* evidence.attackers, an array */
	R_ATTACKER_PACKETS, /* evidence.attacker_packets, an array */
};

/* Keys that mean something, grouped by the object they sit in (lookup()
 * takes a range); a bit each for duplicate detection. */
enum key {
	K_NONE = 0,
	K_ALERTS,
	/* a record */
	K_ALERT_ID,
	K_TIMESTAMP,
	K_SRC_IP,
	K_SRC_PORT,
	K_DEST_IP,
	K_DEST_PORT,
	K_PROTO,
	K_ALERT,
	K_EVIDENCE,
	/* its "alert" */
	K_SIGNATURE_ID,
	K_SIGNATURE,
	K_SEVERITY,
	K_CATEGORY,
	K_METADATA,
	/* alert.metadata */
	K_DETECTOR,
	/* evidence */
	K_ATTACKERS,
	K_ATTACKER_PACKETS,
	K_ATTACKER_ROLE,
	K_WINDOW_START,
	K_INDICATOR_ID,
	K_INDICATOR,
	K_PACKETS,
	K_PREVIOUS_PACKETS,
	K_PREVIOUS_SESSIONS,
	K_ESCALATION,
	K_DISTINCT_HOSTS,
	K_DISTINCT_PORTS,
	K_DISTINCT_PROTOCOLS,
	K_SESSIONS,
	K_CONFIDENCE,
	K_COUNT
};

static const char *const key_names[] = {
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

_Static_assert(K_COUNT <= 64, "a bit per key in pstate.seen");

#define ROLE_DEPTH 8 /* roles are kept this deep; below, everything is R_OTHER */

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
	uint64_t seen; /* keys seen in the current record, 1 << enum key */
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

/* The object a key sits in, for naming it: alerts[i].<sub>.<key>. */
static const char *role_path(enum role in)
{
	switch (in) {
	case R_ALERT:
		return "alert";
	case R_METADATA:
		return "alert.metadata";
	case R_EVIDENCE:
		return "evidence";
	default:
		return NULL;
	}
}

static void field_err(struct pstate *s, enum key k, enum role in, const char *reason)
{
	rec_err(s, role_path(in), key_names[k], reason);
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

/* The evidence numbers the ranking reads: where each goes. */
static int64_t *evidence_num(struct alert_rec *r, enum key k, unsigned *bit)
{
	switch (k) {
	case K_PACKETS:
		*bit = ALERT_HAS_PACKETS;
		return &r->packets;
	case K_PREVIOUS_PACKETS:
		*bit = ALERT_HAS_PREVIOUS_PACKETS;
		return &r->previous_packets;
	case K_PREVIOUS_SESSIONS:
		*bit = ALERT_HAS_PREVIOUS_SESSIONS;
		return &r->previous_sessions;
	case K_ESCALATION:
		*bit = ALERT_HAS_ESCALATION;
		return &r->escalation;
	case K_DISTINCT_HOSTS:
		*bit = ALERT_HAS_HOSTS;
		return &r->distinct_hosts;
	case K_DISTINCT_PORTS:
		*bit = ALERT_HAS_PORTS;
		return &r->distinct_ports;
	case K_DISTINCT_PROTOCOLS:
		*bit = ALERT_HAS_PROTOCOLS;
		return &r->distinct_protocols;
	case K_SESSIONS:
		*bit = ALERT_HAS_SESSIONS;
		return &r->sessions;
	case K_CONFIDENCE:
		*bit = ALERT_HAS_CONFIDENCE;
		return &r->confidence;
	default:
		return NULL;
	}
}

/* A value inside a record, under key k of the object `in` (the record, its
 * "alert", alert.metadata or "evidence"). Returns the role of a container
 * it opens, R_OTHER when ignored, -1 to cancel. */
static int record_field(struct pstate *s, enum key k, enum vtype t, const unsigned char *str,
			size_t n, long long iv, enum role in)
{
	struct alert_rec *r = s->cur;
	const char **dst = NULL;
	unsigned bit = 0;
	int64_t *num;

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
	case K_CATEGORY:
		dst = &r->category;
		break;
	case K_ATTACKER_ROLE:
		dst = &r->attacker_role;
		break;
	case K_WINDOW_START:
		dst = &r->window_start;
		break;
	case K_INDICATOR_ID:
		dst = &r->indicator_id;
		break;
	case K_INDICATOR:
		dst = &r->indicator;
		break;
	case K_ALERT:
		if (t != V_MAP) {
			field_err(s, k, in, "must be an object");
			return R_OTHER;
		}
		r->has |= ALERT_HAS_ALERT;
		return R_ALERT;
	/* Objects other tools may shape otherwise: read when they are
	 * objects, ignored when not. */
	case K_EVIDENCE:
		return t == V_MAP ? R_EVIDENCE : R_OTHER;
	case K_METADATA:
		return t == V_MAP ? R_METADATA : R_OTHER;
	case K_DETECTOR:
		if (t == V_ARRAY)
			return R_DETECTOR;
		dst = &r->detector;
		break;
	case K_ATTACKERS:
		if (t != V_ARRAY) {
			field_err(s, k, in, "must be an array of IP addresses");
			return R_OTHER;
		}
		if ((r->attackers = copy_str(s, (const unsigned char *)"", 0)) == NULL) {
			s->b->status = ALERT_BATCH_NOMEM;
			return -1;
		}
		return R_ATTACKERS;
	case K_ATTACKER_PACKETS:
		if (t != V_ARRAY) {
			field_err(s, k, in, "must be an array of packet counts");
			return R_OTHER;
		}
		if ((r->attacker_packets = copy_str(s, (const unsigned char *)"", 0)) == NULL) {
			s->b->status = ALERT_BATCH_NOMEM;
			return -1;
		}
		return R_ATTACKER_PACKETS;
	case K_SRC_PORT:
	case K_DEST_PORT:
		if (t != V_INT || iv < 0 || iv > 65535) {
			field_err(s, k, in, "must be a port number (0 to 65535)");
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
			field_err(s, k, in, "must be an integer");
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
		if ((num = evidence_num(r, k, &bit)) == NULL)
			return R_OTHER;
		if (t != V_INT || iv < 0) {
			field_err(s, k, in, "must be a non-negative integer");
			return R_OTHER;
		}
		*num = iv;
		r->has |= bit;
		return R_OTHER;
	}
	if (t != V_STRING) {
		field_err(s, k, in, "must be a string");
		return R_OTHER;
	}
	if (memchr(str, '\0', n) != NULL) {
		field_err(s, k, in, "must not contain NUL");
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

/* An element of alert.metadata.detector: the first string is kept. */
static int detector_elem(struct pstate *s, enum vtype t, const unsigned char *str, size_t n)
{
	struct alert_rec *r = s->cur;

	if (r == NULL)
		return R_OTHER;
	if (t != V_STRING || memchr(str, '\0', n) != NULL) {
		rec_err(s, "alert.metadata", "detector", "must be an array of strings");
		return R_OTHER;
	}
	if (r->detector == NULL && (r->detector = copy_str(s, str, n)) == NULL) {
		s->b->status = ALERT_BATCH_NOMEM;
		return -1;
	}
	return R_OTHER;
}

/* Whether s is an IPv4 or IPv6 address as a sensor writes one: no zone,
 * no prefix length, no host name. */
static int is_address(const char *s)
{
	unsigned char bin[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1;
}

/* Appends text[0..n) with a comma to *list, a comma-joined list that ends
 * the strings buffer (record_field() copied "" there last, and nothing is
 * copied between the array's start and its elements), so it grows in
 * place. Returns R_OTHER, or -1 on no room. */
static int list_append(struct pstate *s, const char *list, size_t *count, const char *text,
		       size_t n)
{
	struct alert_batch *b = s->b;

	if (b->strs + b->strs_len - 1 != list + strlen(list) || b->strs_len + n + 1 > b->strs_cap) {
		b->status = ALERT_BATCH_NOMEM;
		return -1;
	}
	b->strs_len--; /* over the NUL */
	if ((*count)++ > 0)
		b->strs[b->strs_len++] = ',';
	memcpy(b->strs + b->strs_len, text, n);
	b->strs_len += n;
	b->strs[b->strs_len++] = '\0';
	return R_OTHER;
}

/* An element of evidence.attackers: an IPv4 or IPv6 address. */
static int attacker_elem(struct pstate *s, enum vtype t, const unsigned char *str, size_t n)
{
	struct alert_rec *r = s->cur;
	char addr[INET6_ADDRSTRLEN];

	if (r == NULL || r->attackers == NULL)
		return R_OTHER;
	if (t != V_STRING || n == 0 || n >= sizeof(addr)) {
		rec_err(s, "evidence", "attackers", "must be an array of IP addresses");
		return R_OTHER;
	}
	memcpy(addr, str, n);
	addr[n] = '\0';
	if (!is_address(addr)) {
		rec_err(s, "evidence", "attackers", "must be an array of IP addresses");
		return R_OTHER;
	}
	if (r->n_attackers == ALERT_ATTACKERS_MAX) {
		rec_err(s, "evidence", "attackers", "names more than 64 addresses");
		return R_OTHER;
	}
	return list_append(s, r->attackers, &r->n_attackers, addr, n);
}

/* An element of evidence.attacker_packets: what each address of
 * evidence.attackers sent itself, in its order. */
static int attacker_packets_elem(struct pstate *s, enum vtype t, long long iv)
{
	struct alert_rec *r = s->cur;
	char num[24];
	int n;

	if (r == NULL || r->attacker_packets == NULL)
		return R_OTHER;
	if (t != V_INT || iv < 0) {
		rec_err(s, "evidence", "attacker_packets", "must be an array of packet counts");
		return R_OTHER;
	}
	if (r->n_attacker_packets == ALERT_ATTACKERS_MAX) {
		rec_err(s, "evidence", "attacker_packets", "has more than 64 counts");
		return R_OTHER;
	}
	n = snprintf(num, sizeof(num), "%lld", iv);
	return list_append(s, r->attacker_packets, &r->n_attacker_packets, num, (size_t)n);
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
	case R_ALERT:
	case R_METADATA:
	case R_EVIDENCE:
		return record_field(s, k, t, str, n, iv, parent);
	case R_DETECTOR:
		return detector_elem(s, t, str, n);
	case R_ATTACKERS:
		return attacker_elem(s, t, str, n);
	case R_ATTACKER_PACKETS:
		return attacker_packets_elem(s, t, iv);
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
		if (s->seen & ((uint64_t)1 << key)) {
			field_err(s, key, in, "appears twice");
			key = K_NONE; /* keep the first */
		} else {
			s->seen |= (uint64_t)1 << key;
		}
	}
	s->key[s->depth] = (unsigned char)key;
	return 1;
}

#define CLOCK_SKEW_US (24LL * 3600 * 1000000) /* a sensor's clock may run ahead */

/* The checks a record's fields get once it is whole: what a sensor writes
 * (docs/tower.md), so that no client can rank an address by a severity
 * of -100, name "<script>" as a source, or date an alert in year 9999. */
static void record_check(struct pstate *s, struct alert_rec *r)
{
	int64_t ts;

	if (!(r->has & ALERT_HAS_ALERT) || !(r->has & ALERT_HAS_SIGNATURE_ID)) {
		rec_err(s, NULL, NULL, "must be an EVE alert record with alert.signature_id");
		return;
	}
	if (r->timestamp == NULL) {
		rec_err(s, NULL, NULL, "needs a timestamp");
		return;
	}
	ts = alert_time_us(r->timestamp, INT64_MIN);
	if (ts == INT64_MIN)
		rec_err(s, NULL, "timestamp", "must be an EVE or RFC 3339 time");
	else if (ts < 0)
		rec_err(s, NULL, "timestamp", "is before 1970");
	else if (ts > (int64_t)time(NULL) * 1000000 + CLOCK_SKEW_US)
		rec_err(s, NULL, "timestamp", "is more than a day in the future");
	if (r->src_ip != NULL && !is_address(r->src_ip))
		rec_err(s, NULL, "src_ip", "must be an IPv4 or IPv6 address");
	if (r->dest_ip != NULL && !is_address(r->dest_ip))
		rec_err(s, NULL, "dest_ip", "must be an IPv4 or IPv6 address");
	if (r->signature_id < 1 || r->signature_id > 4294967295LL)
		rec_err(s, "alert", "signature_id", "must be 1 to 4294967295");
	if ((r->has & ALERT_HAS_SEVERITY) && (r->severity < 1 || r->severity > 255))
		rec_err(s, "alert", "severity", "must be 1 to 255 (1 the highest)");
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
		record_check(s, r);
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

void alert_rank_of(const struct alert_rec *r, struct alert_rank *k)
{
	int64_t prev;

	k->attackers = r->attackers;
	k->n_attackers = r->n_attackers;
	/* Counts that do not pair with the addresses are not used. */
	k->attacker_packets = r->attacker_packets != NULL &&
				      r->n_attacker_packets == r->n_attackers && r->n_attackers > 0
			      ? r->attacker_packets
			      : NULL;
	k->reflector = r->attacker_role != NULL && strcmp(r->attacker_role, "reflector") == 0;
	k->detector = r->detector != NULL ? r->detector : r->category;
	k->indicator = r->indicator_id != NULL ? r->indicator_id : r->indicator;
	k->packets = 0;
	if (r->has & ALERT_HAS_PACKETS) {
		prev = r->has & ALERT_HAS_PREVIOUS_PACKETS ? r->previous_packets : 0;
		k->packets = r->packets > prev ? r->packets - prev : 0;
	}
	k->sessions = -1;
	if (r->has & ALERT_HAS_SESSIONS) {
		if (r->has & ALERT_HAS_PREVIOUS_SESSIONS)
			prev = r->previous_sessions;
		else if ((r->has & ALERT_HAS_ESCALATION) && r->escalation > 0)
			prev = r->sessions / 10;
		else
			prev = 0;
		k->sessions = r->sessions > prev ? r->sessions - prev : 0;
	}
	k->hosts = r->has & ALERT_HAS_HOSTS ? r->distinct_hosts : -1;
	k->ports = -1;
	if (r->has & ALERT_HAS_PORTS)
		k->ports = r->distinct_ports;
	if ((r->has & ALERT_HAS_PROTOCOLS) && r->distinct_protocols > k->ports)
		k->ports = r->distinct_protocols;
	k->window_start = r->window_start != NULL ? alert_time_us(r->window_start, -1) : -1;
	k->confidence = -1;
	if (r->has & ALERT_HAS_CONFIDENCE)
		k->confidence = r->confidence > 100 ? 100 : r->confidence;
}

/* EVE's "+0000" offset to RFC 3339's "+00:00", then microseconds. */
int64_t alert_time_us(const char *ts, int64_t dflt)
{
	char buf[64];
	size_t tl;
	int64_t v;

	if (ts == NULL || (tl = strlen(ts)) + 2 > sizeof(buf))
		return dflt;
	memcpy(buf, ts, tl + 1);
	if (tl > 5 && (buf[tl - 5] == '+' || buf[tl - 5] == '-')) {
		memmove(buf + tl - 1, buf + tl - 2, 3);
		buf[tl - 2] = ':';
	}
	return report_parse_time(buf, &v) < 0 ? dflt : v;
}
