/* json.c - STIX 2.1 bundles and MISP events.
 *
 * STIX: indicator objects whose pattern is a disjunction of equality
 * comparisons on ipv4-addr:value, ipv6-addr:value, domain-name:value or
 * url:value, with OR between comparisons or between observation
 * expressions, and parentheses; the grammar is src/stix's parser, shared
 * with the tower. Anything else rejects the indicator with the first
 * reason found, left to right. A pattern is parsed twice: once to check
 * all of it, once to add its values, so that an indicator loads whole or
 * not at all and nothing is allocated to hold it in between.
 *
 * MISP: the Event's Attribute list and its Objects' Attribute lists; the
 * network types give entries, the others are counted as skipped. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "intel/intel_int.h"
#include "stix/stix.h"

#define SHOW_MAX   80   /* bytes of an offending value quoted in a message */
#define PATH_MAX_J 96   /* a JSON path in a message */

struct jctx {
	struct intel_builder *b;
	const char *name;
	const struct intel_load_opts *opts;
	struct intel_report *rep;
	uint32_t file_source;
	json_t *markings; /* marking-definition id -> TLP, from the bundle */
};

static const struct {
	const char *id;
	enum intel_tlp tlp;
} tlp_ids[] = {
	/* TLP 1.0, predefined by STIX 2.1 */
	{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", INTEL_TLP_WHITE},
	{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", INTEL_TLP_GREEN},
	{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", INTEL_TLP_AMBER},
	{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", INTEL_TLP_RED},
	/* TLP 2.0, from the OASIS TLP 2.0 extension */
	{"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", INTEL_TLP_CLEAR},
	{"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", INTEL_TLP_GREEN},
	{"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", INTEL_TLP_AMBER},
	{"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", INTEL_TLP_AMBER_STRICT},
	{"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", INTEL_TLP_RED},
};

static int tlp_rank(enum intel_tlp t)
{
	switch (t) {
	case INTEL_TLP_NONE:
		return 0;
	case INTEL_TLP_CLEAR:
	case INTEL_TLP_WHITE:
		return 1;
	case INTEL_TLP_GREEN:
		return 2;
	case INTEL_TLP_AMBER:
		return 3;
	case INTEL_TLP_AMBER_STRICT:
		return 4;
	case INTEL_TLP_RED:
		return 5;
	}
	return 0;
}

/* The stricter of two markings: an object marked twice obeys both. */
static enum intel_tlp tlp_max(enum intel_tlp a, enum intel_tlp b)
{
	return tlp_rank(b) > tlp_rank(a) ? b : a;
}

/* "amber", "TLP:AMBER+STRICT", "tlp:clear" ... */
static enum intel_tlp tlp_from_name(const char *s)
{
	static const struct {
		const char *name;
		enum intel_tlp tlp;
	} names[] = {
		{"clear", INTEL_TLP_CLEAR}, {"white", INTEL_TLP_WHITE},
		{"green", INTEL_TLP_GREEN}, {"amber", INTEL_TLP_AMBER},
		{"amber+strict", INTEL_TLP_AMBER_STRICT}, {"red", INTEL_TLP_RED},
	};

	if (s == NULL)
		return INTEL_TLP_NONE;
	if (strncasecmp(s, "tlp:", 4) == 0)
		s += 4;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].tlp;
	return INTEL_TLP_NONE;
}

static enum intel_tlp tlp_from_ref(const struct jctx *c, const char *ref)
{
	json_t *v;

	for (size_t i = 0; i < sizeof(tlp_ids) / sizeof(tlp_ids[0]); i++)
		if (strcmp(ref, tlp_ids[i].id) == 0)
			return tlp_ids[i].tlp;
	v = c->markings ? json_object_get(c->markings, ref) : NULL;
	return v ? (enum intel_tlp)json_integer_value(v) : INTEL_TLP_NONE;
}

/* A TLP marking-definition defined in the bundle itself (TLP 1.0 style
 * definition.tlp, the TLP 2.0 extension's tlp_2_0, or its name). */
static enum intel_tlp tlp_of_definition(json_t *o)
{
	json_t *def = json_object_get(o, "definition"), *ext = json_object_get(o, "extensions");
	const char *key;
	json_t *val;
	enum intel_tlp t;

	t = tlp_from_name(json_string_value(json_object_get(def, "tlp")));
	if (t != INTEL_TLP_NONE)
		return t;
	json_object_foreach(ext, key, val)
	{
		t = tlp_from_name(json_string_value(json_object_get(val, "tlp_2_0")));
		if (t != INTEL_TLP_NONE)
			return t;
	}
	const char *name = json_string_value(json_object_get(o, "name"));
	if (name && strncasecmp(name, "tlp:", 4) == 0)
		return tlp_from_name(name);
	return INTEL_TLP_NONE;
}

/* --- values, shared by STIX and MISP --- */

enum vtype { V_IPV4, V_IPV6, V_IP, V_DOMAIN, V_URL };

static enum intel_reason vtype_reason(enum vtype t)
{
	switch (t) {
	case V_IPV4:
		return INTEL_REASON_BAD_IPV4;
	case V_IPV6:
		return INTEL_REASON_BAD_IPV6;
	case V_IP:
		return INTEL_REASON_BAD_IPV4;
	case V_DOMAIN:
		return INTEL_REASON_BAD_DOMAIN;
	case V_URL:
		return INTEL_REASON_BAD_URL;
	}
	return INTEL_REASON_BAD_DOMAIN;
}

static const char *vtype_what(enum vtype t)
{
	switch (t) {
	case V_IPV4:
		return "invalid IPv4 address";
	case V_IPV6:
		return "invalid IPv6 address";
	case V_IP:
		return "invalid IP address";
	case V_DOMAIN:
		return "invalid domain";
	case V_URL:
		return "invalid URL";
	}
	return "invalid value";
}

/* Checks v as a t, and with add set, adds it under meta (a URL gets its
 * own copy of base, carrying the URL). Returns 0, 1 if invalid (with *why
 * set for V_IP), or YG_ENOMEM / YG_ELIMIT. */
static int value_do(struct jctx *c, enum vtype t, const char *v, size_t n,
		    const struct intel_meta *base, uint32_t meta, bool add, enum intel_reason *why)
{
	char dom[256];
	size_t dlen;
	uint32_t a4;
	uint8_t a6[16];
	unsigned plen;
	int err;

	*why = vtype_reason(t);
	switch (t) {
	case V_IP:
		if (memchr(v, ':', n) != NULL) {
			*why = INTEL_REASON_BAD_IPV6;
			goto v6;
		}
		/* fall through */
	case V_IPV4:
		if (parse_ipv4_cidr(v, n, &a4, &plen) < 0)
			return 1;
		return add ? builder_add_v4(c->b, a4, plen, meta) : 0;
	case V_IPV6:
	v6:
		if (parse_ipv6_cidr(v, n, a6, &plen) < 0)
			return 1;
		return add ? builder_add_v6(c->b, a6, plen, meta) : 0;
	case V_DOMAIN:
		if (parse_domain(v, n, dom, &dlen) < 0)
			return 1;
		return add ? builder_add_domain(c->b, dom, dlen, meta) : 0;
	case V_URL: {
		const char *host;
		size_t hlen;
		bool v6;
		bool is4;
		struct intel_meta um;
		uint32_t mi;

		if (parse_url_host(v, n, &host, &hlen, &v6) < 0)
			return 1;
		is4 = !v6 && parse_ipv4(host, hlen, &a4) == 0;
		if (v6 ? parse_ipv6_cidr(host, hlen, a6, &plen) < 0 || plen != 128
		       : !is4 && parse_domain(host, hlen, dom, &dlen) < 0)
			return 1;
		if (!add)
			return 0;
		um = *base;
		if ((err = builder_str(c->b, v, n, &um.url)) < 0 ||
		    (err = builder_meta(c->b, &um, &mi)) < 0)
			return err;
		if (v6)
			return builder_add_v6(c->b, a6, 128, mi);
		if (is4)
			return builder_add_v4(c->b, a4, 32, mi);
		return builder_add_domain(c->b, dom, dlen, mi);
	}
	}
	return 1;
}

/* --- STIX patterns: the grammar is src/stix's, the values ours --- */

struct pat {
	struct jctx *c;
	bool add;
	const struct intel_meta *base;
	uint32_t meta;
	unsigned added;
	/* the first failure */
	enum intel_reason why;
	char msg[160];
	int err; /* YG_ENOMEM, YG_ELIMIT while adding */
};

static int show_len(size_t n)
{
	return (int)(n > SHOW_MAX ? SHOW_MAX : n);
}

/* The parser is asked for STIX_KINDS_NETWORK only, so no other kind
 * reaches here. */
static enum vtype kind_vtype(enum stix_kind k)
{
	switch (k) {
	case STIX_KIND_IPV4:
		return V_IPV4;
	case STIX_KIND_IPV6:
		return V_IPV6;
	case STIX_KIND_URL:
		return V_URL;
	default:
		return V_DOMAIN;
	}
}

/* One comparison: checks its value, and adds it in the second pass. */
static int pattern_value(void *ctx, const struct stix_cmp *cmp)
{
	struct pat *pp = ctx;
	enum vtype t = kind_vtype(cmp->kind);
	enum intel_reason why;
	int r;

	r = value_do(pp->c, t, cmp->value, cmp->value_len, pp->base, pp->meta, pp->add, &why);
	if (r == 1) {
		pp->why = why;
		snprintf(pp->msg, sizeof(pp->msg), "%s '%.*s'", vtype_what(t),
			 show_len(cmp->value_len), cmp->value);
		return YG_EFORMAT;
	}
	if (r < 0) {
		pp->err = r;
		pp->why = INTEL_REASON_LIMIT;
		snprintf(pp->msg, sizeof(pp->msg), "entry limit reached");
		return r;
	}
	pp->added++;
	return 0;
}

/* Returns 0, or -1 with pp->why and pp->msg saying why the indicator is
 * rejected (and pp->err set if it was for want of memory or room). */
static int pattern_run(struct pat *pp, const char *s, size_t n)
{
	struct stix_pattern_error e;

	pp->added = 0;
	if (stix_pattern_parse(s, n, STIX_KINDS_NETWORK, pattern_value, pp, &e) == 0)
		return 0;
	switch (e.why) {
	case STIX_PATTERN_CALLBACK:
		return -1; /* pattern_value said why */
	case STIX_PATTERN_OPERATOR:
		pp->why = INTEL_REASON_PATTERN_OP;
		break;
	case STIX_PATTERN_OBJECT:
		pp->why = INTEL_REASON_PATTERN_OBJECT;
		break;
	case STIX_PATTERN_TOO_LONG:
		pp->why = vtype_reason(kind_vtype(e.kind));
		snprintf(pp->msg, sizeof(pp->msg), "%s: longer than %d bytes",
			 vtype_what(kind_vtype(e.kind)), STIX_VALUE_MAX - 1);
		return -1;
	default:
		pp->why = INTEL_REASON_PATTERN_SYNTAX;
		break;
	}
	snprintf(pp->msg, sizeof(pp->msg), "%s", e.msg);
	return -1;
}

/* --- STIX objects --- */

static void reject_at(struct jctx *c, const char *path, enum intel_reason why, const char *msg)
{
	report_reject(c->rep, why, "%s: %s: %s", c->name, path, msg);
}

static int stix_indicator(struct jctx *c, json_t *o, const char *opath)
{
	char path[PATH_MAX_J + 32], msg[160];
	json_t *v;
	const char *id, *pattern, *ptype;
	struct intel_meta base;
	struct pat pp;
	uint32_t meta;
	size_t plen;
	int err;

	if (json_is_true(json_object_get(o, "revoked"))) {
		report_skip(c->rep, INTEL_REASON_SKIP_REVOKED);
		return 0;
	}
	memset(&base, 0, sizeof(base));
	base.valid_until = INTEL_NO_EXPIRY;
	base.confidence = (uint8_t)c->opts->confidence;
	base.tlp = (uint8_t)c->opts->tlp;
	base.source = c->file_source;

	id = json_string_value(json_object_get(o, "id"));
	if (id == NULL) {
		snprintf(path, sizeof(path), "%s.id", opath);
		reject_at(c, path, INTEL_REASON_MISSING, "missing");
		return 0;
	}
	v = json_object_get(o, "pattern_type"); /* STIX 2.0 has none: "stix" */
	ptype = json_string_value(v);
	if (v != NULL && (ptype == NULL || strcmp(ptype, "stix") != 0)) {
		snprintf(path, sizeof(path), "%s.pattern_type", opath);
		snprintf(msg, sizeof(msg), "unsupported pattern type '%.*s'",
			 show_len(ptype ? strlen(ptype) : 0), ptype ? ptype : "");
		reject_at(c, path, INTEL_REASON_PATTERN_TYPE, msg);
		return 0;
	}
	pattern = json_string_value(json_object_get(o, "pattern"));
	if (pattern == NULL) {
		snprintf(path, sizeof(path), "%s.pattern", opath);
		reject_at(c, path, INTEL_REASON_MISSING, "missing");
		return 0;
	}
	plen = json_string_length(json_object_get(o, "pattern"));
	v = json_object_get(o, "confidence");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100) {
			snprintf(path, sizeof(path), "%s.confidence", opath);
			reject_at(c, path, INTEL_REASON_BAD_CONFIDENCE, "not an integer 0-100");
			return 0;
		}
		base.confidence = (uint8_t)json_integer_value(v);
	}
	v = json_object_get(o, "valid_until");
	if (v != NULL) {
		const char *ts = json_string_value(v);

		if (ts == NULL ||
		    parse_rfc3339(ts, json_string_length(v), &base.valid_until) < 0) {
			snprintf(path, sizeof(path), "%s.valid_until", opath);
			snprintf(msg, sizeof(msg), "invalid timestamp '%.*s'",
				 show_len(ts ? strlen(ts) : 0), ts ? ts : "");
			reject_at(c, path, INTEL_REASON_BAD_TIMESTAMP, msg);
			return 0;
		}
	}
	v = json_object_get(o, "object_marking_refs");
	if (json_is_array(v)) {
		size_t i;
		json_t *ref;
		enum intel_tlp t = INTEL_TLP_NONE;

		json_array_foreach(v, i, ref)
		{
			if (json_is_string(ref))
				t = tlp_max(t, tlp_from_ref(c, json_string_value(ref)));
		}
		if (t != INTEL_TLP_NONE)
			base.tlp = (uint8_t)t;
	}

	memset(&pp, 0, sizeof(pp));
	pp.c = c;
	pp.base = &base;
	if (pattern_run(&pp, pattern, plen) < 0) {
		snprintf(path, sizeof(path), "%s.pattern", opath);
		reject_at(c, path, pp.why, pp.msg);
		return 0;
	}
	v = json_object_get(o, "created_by_ref");
	if (json_is_string(v) &&
	    (err = builder_intern(c->b, json_string_value(v), json_string_length(v),
				  &base.source)) < 0)
		return err;
	if ((err = builder_str(c->b, id, strlen(id), &base.id)) < 0 ||
	    (err = builder_meta(c->b, &base, &meta)) < 0)
		goto limit;
	pp.add = true;
	pp.meta = meta;
	if (pattern_run(&pp, pattern, plen) < 0) {
		if (pp.err == YG_ENOMEM)
			return YG_ENOMEM;
		err = pp.err;
		c->rep->loaded += pp.added;
		goto limit;
	}
	c->rep->loaded += pp.added;
	return 0;
limit:
	if (err == YG_ENOMEM)
		return err;
	snprintf(path, sizeof(path), "%s", opath);
	reject_at(c, path, INTEL_REASON_LIMIT, "entry limit reached");
	return 0;
}

static int stix_bundle(struct jctx *c, json_t *objects)
{
	size_t i;
	json_t *o;
	int err;

	/* Markings first: an indicator may come before its definition. */
	json_array_foreach(objects, i, o)
	{
		const char *type = json_string_value(json_object_get(o, "type"));
		const char *id = json_string_value(json_object_get(o, "id"));
		enum intel_tlp t;

		if (type == NULL || id == NULL || strcmp(type, "marking-definition") != 0)
			continue;
		t = tlp_of_definition(o);
		if (t == INTEL_TLP_NONE)
			continue;
		if (c->markings == NULL && (c->markings = json_object()) == NULL)
			return YG_ENOMEM;
		if (json_object_set_new(c->markings, id, json_integer(t)) < 0)
			return YG_ENOMEM;
	}
	json_array_foreach(objects, i, o)
	{
		const char *type = json_string_value(json_object_get(o, "type"));
		char path[PATH_MAX_J];

		if (type == NULL || strcmp(type, "indicator") != 0)
			continue;
		snprintf(path, sizeof(path), "objects[%zu]", i);
		if ((err = stix_indicator(c, o, path)) < 0)
			return err;
	}
	return 0;
}

/* --- MISP --- */

static enum intel_tlp misp_tags_tlp(json_t *tags)
{
	size_t i;
	json_t *t;
	enum intel_tlp tlp = INTEL_TLP_NONE;

	json_array_foreach(tags, i, t)
	{
		const char *name = json_string_value(json_object_get(t, "name"));

		if (name && strncasecmp(name, "tlp:", 4) == 0)
			tlp = tlp_max(tlp, tlp_from_name(name));
	}
	return tlp;
}

static int misp_value(struct jctx *c, const char *apath, enum vtype t, const char *v, size_t n,
		      const struct intel_meta *base, uint32_t meta)
{
	enum intel_reason why;
	char msg[160];
	char path[PATH_MAX_J + 16];
	int r = value_do(c, t, v, n, base, meta, true, &why);

	if (r == 0) {
		c->rep->loaded++;
		return 0;
	}
	if (r == YG_ENOMEM)
		return r;
	if (r < 0)
		why = INTEL_REASON_LIMIT;
	snprintf(path, sizeof(path), "%s.value", apath);
	snprintf(msg, sizeof(msg), "%s '%.*s'",
		 why == INTEL_REASON_LIMIT ? "entry limit reached at" : vtype_what(t), show_len(n), v);
	reject_at(c, path, why, msg);
	return 0;
}

/* The attribute-type table is src/stix's, shared with the tower's MISP
 * import; of its kinds the sensor matches the network ones, and a type
 * that gives none (the file hashes) is skipped like an unknown one. */
static int misp_attr(struct jctx *c, json_t *a, const char *apath, const struct intel_meta *ev)
{
	const char *type = json_string_value(json_object_get(a, "type"));
	json_t *jv = json_object_get(a, "value");
	const char *v = json_string_value(jv), *uuid;
	struct stix_misp_part parts[STIX_MISP_PARTS];
	struct intel_meta base = *ev;
	char path[PATH_MAX_J + 16];
	uint32_t meta;
	enum intel_tlp t;
	int np, net = 0, err;

	if (stix_misp_flag(json_object_get(a, "deleted"), false)) {
		report_skip(c->rep, INTEL_REASON_SKIP_DELETED);
		return 0;
	}
	if (type == NULL || v == NULL) {
		snprintf(path, sizeof(path), "%s.%s", apath, type == NULL ? "type" : "value");
		reject_at(c, path, INTEL_REASON_MISSING, "missing");
		return 0;
	}
	np = stix_misp_parts(type, v, json_string_length(jv), parts);
	for (int i = 0; i < np; i++)
		if (STIX_KIND_BIT(parts[i].kind) & STIX_KINDS_NETWORK)
			net++;
	if (net == 0) {
		report_skip(c->rep, INTEL_REASON_SKIP_TYPE);
		return 0;
	}
	if (!stix_misp_flag(json_object_get(a, "to_ids"), true)) {
		report_skip(c->rep, INTEL_REASON_SKIP_NOT_IDS);
		return 0;
	}
	t = tlp_max((enum intel_tlp)base.tlp, misp_tags_tlp(json_object_get(a, "Tag")));
	base.tlp = (uint8_t)t;
	uuid = json_string_value(json_object_get(a, "uuid"));
	if (uuid && (err = builder_str(c->b, uuid, strlen(uuid), &base.id)) < 0)
		return err == YG_ENOMEM ? err : 0;
	if ((err = builder_meta(c->b, &base, &meta)) < 0) {
		if (err == YG_ENOMEM)
			return err;
		reject_at(c, apath, INTEL_REASON_LIMIT, "entry limit reached");
		return 0;
	}
	for (int i = 0; i < np; i++) {
		const struct stix_misp_part *p = &parts[i];

		if (!(STIX_KIND_BIT(p->kind) & STIX_KINDS_NETWORK))
			continue;
		err = misp_value(c, apath, p->any_ip ? V_IP : kind_vtype(p->kind), p->value,
				 p->len, &base, meta);
		if (err < 0)
			return err;
	}
	return 0;
}

static int misp_attrs(struct jctx *c, json_t *attrs, const char *prefix,
		      const struct intel_meta *ev)
{
	size_t i;
	json_t *a;
	int err;

	json_array_foreach(attrs, i, a)
	{
		char path[PATH_MAX_J];

		snprintf(path, sizeof(path), "%s.Attribute[%zu]", prefix, i);
		if ((err = misp_attr(c, a, path, ev)) < 0)
			return err;
	}
	return 0;
}

static int misp_event(struct jctx *c, json_t *ev, const char *epath)
{
	const char *org = json_string_value(json_object_get(json_object_get(ev, "Orgc"), "name"));
	const char *info = json_string_value(json_object_get(ev, "info"));
	struct intel_meta base;
	char src[256];
	size_t i;
	json_t *o;
	int n, err;

	memset(&base, 0, sizeof(base));
	base.valid_until = INTEL_NO_EXPIRY;
	base.confidence = (uint8_t)c->opts->confidence;
	base.source = c->file_source;
	if (org || info) {
		n = snprintf(src, sizeof(src), "%s%s%s", org ? org : "", org && info ? ": " : "",
			     info ? info : "");
		if (n >= (int)sizeof(src))
			n = sizeof(src) - 1;
		if ((err = builder_intern(c->b, src, (size_t)n, &base.source)) < 0)
			return err == YG_ENOMEM ? err : 0;
	}
	base.tlp = (uint8_t)misp_tags_tlp(json_object_get(ev, "Tag"));
	if (base.tlp == INTEL_TLP_NONE)
		base.tlp = (uint8_t)c->opts->tlp;
	if ((err = misp_attrs(c, json_object_get(ev, "Attribute"), epath, &base)) < 0)
		return err;
	json_array_foreach(json_object_get(ev, "Object"), i, o)
	{
		char path[PATH_MAX_J];

		snprintf(path, sizeof(path), "%s.Object[%zu]", epath, i);
		if ((err = misp_attrs(c, json_object_get(o, "Attribute"), path, &base)) < 0)
			return err;
	}
	return 0;
}

int json_load(struct intel_builder *b, const char *name, const void *buf, size_t len,
	      enum intel_format fmt, const struct intel_load_opts *opts, struct intel_report *rep)
{
	struct intel_load_opts o = *opts;
	struct jctx c = {b, name, &o, rep, 0, NULL};
	json_error_t je;
	json_t *root, *v;
	const char *type;
	int err = 0;

	o.confidence = o.confidence < 0 ? 0 : o.confidence > 100 ? 100 : o.confidence;
	root = yg_json_loadb(buf, len, 0, &je);
	if (root == NULL && yg_json_oom(&je))
		return YG_ENOMEM;
	if (root == NULL) {
		report_file_error(rep, INTEL_REASON_JSON, "%s: invalid JSON at line %d column %d: %s",
				  name, je.line, je.column, je.text);
		return YG_EFORMAT;
	}
	err = builder_intern(b, path_base(name), strlen(path_base(name)), &c.file_source);
	if (err < 0)
		goto out;
	type = json_string_value(json_object_get(root, "type"));
	v = json_object_get(root, "objects");
	if (fmt != INTEL_FORMAT_MISP && type && strcmp(type, "bundle") == 0 &&
	    (v == NULL || json_is_array(v))) {
		err = stix_bundle(&c, v);
	} else if (fmt != INTEL_FORMAT_MISP && type && strcmp(type, "indicator") == 0) {
		err = stix_indicator(&c, root, "indicator");
	} else if (fmt != INTEL_FORMAT_STIX && json_is_object(json_object_get(root, "Event"))) {
		err = misp_event(&c, json_object_get(root, "Event"), "Event");
	} else if (fmt != INTEL_FORMAT_STIX && json_is_array(json_object_get(root, "response"))) {
		size_t i;
		json_t *e;

		json_array_foreach(json_object_get(root, "response"), i, e)
		{
			char path[PATH_MAX_J];

			if (!json_is_object(json_object_get(e, "Event")))
				continue;
			snprintf(path, sizeof(path), "response[%zu].Event", i);
			if ((err = misp_event(&c, json_object_get(e, "Event"), path)) < 0)
				break;
		}
	} else {
		report_file_error(rep, INTEL_REASON_JSON_SHAPE,
				  "%s: not a STIX 2.1 bundle or a MISP event", name);
		err = YG_EFORMAT;
	}
out:
	json_decref(c.markings);
	json_decref(root);
	return err == YG_ENOMEM || err == YG_EFORMAT ? err : 0;
}
