/* taxii.c - a sensor's copy of a TAXII collection (see taxii.h).
 *
 * An open-addressing table of indicator ids. An id taken out of force
 * (revoked, expired) stays as a tombstone holding its modified time, so
 * that an older version arriving later (a replay, a server that pages out
 * of order, the poller's overlap) cannot bring it back. Nothing is ever
 * removed from the table: it only grows, to max_ids. */
#include "intel/taxii.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "base/json.h"
#include "stix/stix.h"

#define DEFAULT_MAX_IDS (4u << 20)

struct entry {
	char *id;	     /* NULL: an empty slot */
	char *text;	     /* the object as compact JSON; NULL: not in force */
	size_t text_len;
	int64_t modified;    /* microseconds */
	int64_t valid_until; /* microseconds; INT64_MAX: none */
};

struct intel_taxii_set {
	struct entry *slots;
	size_t cap;	/* a power of two */
	size_t used;	/* ids held, tombstones included */
	size_t live;	/* in force */
	size_t max_ids;
	size_t text_bytes; /* of the texts in force */
};

/* One object of an envelope, checked and copied before anything changes. */
struct op {
	char *id;
	char *text; /* NULL: a revocation or an expiry */
	size_t text_len;
	int64_t modified, valid_until;
	bool revoked; /* else expired, when text is NULL */
};

struct intel_taxii_set *intel_taxii_set_new(size_t max_ids)
{
	struct intel_taxii_set *s = yg_calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->cap = 1024;
	s->max_ids = max_ids ? max_ids : DEFAULT_MAX_IDS;
	if ((s->slots = yg_calloc(s->cap, sizeof(*s->slots))) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void intel_taxii_set_free(struct intel_taxii_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->cap; i++) {
		free(s->slots[i].id);
		free(s->slots[i].text);
	}
	free(s->slots);
	free(s);
}

static struct entry *slot_for(struct entry *slots, size_t cap, const char *id)
{
	size_t i = (size_t)yg_hash64(id, strlen(id)) & (cap - 1);

	while (slots[i].id != NULL && strcmp(slots[i].id, id) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* Room for extra more ids at a load of at most one half, so that applying
 * an envelope cannot fail half way. */
static int reserve(struct intel_taxii_set *s, size_t extra)
{
	size_t cap = s->cap;
	struct entry *ns;

	while ((s->used + extra) * 2 > cap)
		cap *= 2;
	if (cap == s->cap)
		return 0;
	if ((ns = yg_calloc(cap, sizeof(*ns))) == NULL)
		return YG_ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i].id != NULL)
			*slot_for(ns, cap, s->slots[i].id) = s->slots[i];
	free(s->slots);
	s->slots = ns;
	s->cap = cap;
	return 0;
}

static int64_t time_of(json_t *v, bool *ok)
{
	int64_t us = 0;

	*ok = json_is_string(v) && stix_time_parse(json_string_value(v), &us) == 0;
	return us;
}

/* Checks one object and copies what applying it needs into op. Returns 1
 * for an indicator to apply, 0 for an object counted and ignored, or
 * YG_ENOMEM. */
static int op_make(json_t *o, int64_t now, struct op *op, struct intel_taxii_delta *d)
{
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *id = json_string_value(json_object_get(o, "id"));
	json_t *rv = json_object_get(o, "revoked"), *vu = json_object_get(o, "valid_until");
	bool ok = true;

	memset(op, 0, sizeof(*op));
	op->valid_until = INT64_MAX;
	if (type == NULL || strcmp(type, "indicator") != 0) {
		d->other++;
		return 0;
	}
	op->modified = time_of(json_object_get(o, "modified"), &ok);
	if (ok && vu != NULL)
		op->valid_until = time_of(vu, &ok);
	if (!ok || id == NULL || !stix_id_valid(id, "indicator") ||
	    (rv != NULL && !json_is_boolean(rv))) {
		d->malformed++;
		return 0;
	}
	op->revoked = json_is_true(rv);
	if ((op->id = yg_malloc(strlen(id) + 1)) == NULL)
		return YG_ENOMEM;
	memcpy(op->id, id, strlen(id) + 1);
	if (op->revoked || op->valid_until <= now)
		return 1;
	/* The loader re-reads this text at every rebuild: keep it compact. */
	if ((op->text = yg_json_dumps(o, JSON_COMPACT)) == NULL) {
		free(op->id);
		op->id = NULL;
		return YG_ENOMEM;
	}
	op->text_len = strlen(op->text);
	return 1;
}

/* Applies one checked op; takes its strings. Cannot fail: reserve() made
 * room for its id. */
static void op_apply(struct intel_taxii_set *s, struct op *op, struct intel_taxii_delta *d)
{
	struct entry *e = slot_for(s->slots, s->cap, op->id);

	if (e->id == NULL) {
		if (s->used >= s->max_ids) {
			d->refused++;
			goto drop;
		}
		e->id = op->id;
		op->id = NULL;
		e->modified = op->modified;
		s->used++;
		if (op->text != NULL) {
			d->added++;
			goto take;
		}
		return;
	}
	if (op->modified < e->modified) {
		d->stale++;
		goto drop;
	}
	if (op->modified == e->modified) {
		d->duplicate++;
		goto drop;
	}
	e->modified = op->modified;
	if (e->text != NULL) {
		free(e->text);
		e->text = NULL;
		s->live--;
		s->text_bytes -= e->text_len;
		if (op->text == NULL) {
			if (op->revoked)
				d->revoked++;
			else
				d->expired++;
		} else {
			d->updated++;
		}
	} else if (op->text != NULL) {
		d->added++; /* in force again: its valid_until was extended */
	}
	if (op->text == NULL)
		goto drop;
take:
	e->text = op->text;
	e->text_len = op->text_len;
	e->valid_until = op->valid_until;
	op->text = NULL;
	s->live++;
	s->text_bytes += e->text_len;
drop:
	free(op->id);
	free(op->text);
}

int intel_taxii_apply(struct intel_taxii_set *s, const void *buf, size_t len, int64_t now,
		      struct intel_taxii_page *page, struct intel_taxii_delta *d, char *err,
		      size_t n)
{
	json_error_t je;
	json_t *root = yg_json_loadb(buf, len, 0, &je), *objs, *more, *next, *o;
	struct intel_taxii_delta dd = {0};
	struct op *ops = NULL;
	size_t nops = 0, i;
	int rc = YG_EFORMAT;

	memset(page, 0, sizeof(*page));
	if (root == NULL && yg_json_oom(&je)) {
		snprintf(err, n, "out of memory");
		return YG_ENOMEM;
	}
	if (root == NULL) {
		snprintf(err, n, "not JSON (line %d: %s)", je.line, je.text);
		return YG_EFORMAT;
	}
	objs = json_object_get(root, "objects");
	more = json_object_get(root, "more");
	next = json_object_get(root, "next");
	if (!json_is_object(root)) {
		snprintf(err, n, "not a TAXII envelope (a JSON object)");
		goto out;
	}
	if (objs != NULL && !json_is_array(objs)) {
		snprintf(err, n, "\"objects\" is not an array");
		goto out;
	}
	if (json_array_size(objs) > INTEL_TAXII_PAGE_OBJECTS) {
		snprintf(err, n, "%zu objects in one envelope, more than %d", json_array_size(objs),
			 INTEL_TAXII_PAGE_OBJECTS);
		goto out;
	}
	if (more != NULL && !json_is_boolean(more)) {
		snprintf(err, n, "\"more\" is not true or false");
		goto out;
	}
	/* next goes back into a query string: only what needs no escaping. */
	if (next != NULL &&
	    (!json_is_string(next) || json_string_length(next) == 0 ||
	     json_string_length(next) >= sizeof(page->next) ||
	     strspn(json_string_value(next), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					     "0123456789-._~") != json_string_length(next))) {
		snprintf(err, n, "\"next\" is not a short string of letters, digits and -._~");
		goto out;
	}
	if (json_is_true(more) && next == NULL) {
		snprintf(err, n, "\"more\" is true but there is no \"next\"");
		goto out;
	}
	rc = YG_ENOMEM;
	if (json_array_size(objs) > 0 &&
	    (ops = yg_calloc(json_array_size(objs), sizeof(*ops))) == NULL)
		goto nomem;
	json_array_foreach(objs, i, o) {
		int r = json_is_object(o) ? op_make(o, now, &ops[nops], &dd) : (dd.other++, 0);

		if (r < 0)
			goto nomem;
		nops += (size_t)r;
	}
	if (reserve(s, nops) < 0)
		goto nomem;
	for (i = 0; i < nops; i++)
		op_apply(s, &ops[i], &dd);
	free(ops);
	ops = NULL;
	page->more = json_is_true(more);
	if (next != NULL)
		memcpy(page->next, json_string_value(next), json_string_length(next) + 1);
	d->added += dd.added;
	d->updated += dd.updated;
	d->revoked += dd.revoked;
	d->expired += dd.expired;
	d->duplicate += dd.duplicate;
	d->stale += dd.stale;
	d->other += dd.other;
	d->malformed += dd.malformed;
	d->refused += dd.refused;
	rc = 0;
	goto out;
nomem:
	snprintf(err, n, "out of memory");
	for (i = 0; i < nops; i++) {
		free(ops[i].id);
		free(ops[i].text);
	}
out:
	free(ops);
	json_decref(root);
	return rc;
}

uint64_t intel_taxii_expire(struct intel_taxii_set *s, int64_t now, struct intel_taxii_delta *d)
{
	uint64_t k = 0;

	for (size_t i = 0; i < s->cap; i++) {
		struct entry *e = &s->slots[i];

		if (e->text == NULL || e->valid_until > now)
			continue;
		free(e->text);
		e->text = NULL;
		s->live--;
		s->text_bytes -= e->text_len;
		k++;
	}
	d->expired += k;
	return k;
}

size_t intel_taxii_count(const struct intel_taxii_set *s)
{
	return s->live;
}

int intel_taxii_bundle(const struct intel_taxii_set *s, char **out, size_t *len)
{
	static const char head[] = "{\"type\":\"bundle\",\"id\":\"bundle--"
				   "5d0092c5-5f74-4287-9642-33f4c354e56d\",\"objects\":[";
	size_t cap = sizeof(head) + s->text_bytes + s->live + 3, o;
	char *b = yg_malloc(cap);

	*out = NULL;
	*len = 0;
	if (b == NULL)
		return YG_ENOMEM;
	memcpy(b, head, sizeof(head) - 1);
	o = sizeof(head) - 1;
	for (size_t i = 0, k = 0; i < s->cap; i++) {
		const struct entry *e = &s->slots[i];

		if (e->text == NULL)
			continue;
		if (k++ > 0)
			b[o++] = ',';
		memcpy(b + o, e->text, e->text_len);
		o += e->text_len;
	}
	memcpy(b + o, "]}", 3);
	*out = b;
	*len = o + 2;
	return 0;
}
