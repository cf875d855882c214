/* misp.c - MISP events as STIX 2.1 objects, for `yagura intel import`
 * (docs/sharing.md, "MISP").
 *
 * One event gives the identity of the organisation that created it
 * (Orgc), one indicator per attribute that MISP meant for detection
 * (to_ids) and that yagura can write as a pattern, and a report naming
 * those indicators, so that the event stays one unit in the tools that
 * read the collection. Ids come from MISP's uuids, so that importing a
 * feed again gives the same objects, not new ones.
 *
 * Everything in an event is input to distrust: a property of the wrong
 * JSON type, a missing one, a value its type refuses makes a skipped
 * attribute, counted with its reason, never a failure of the whole. The
 * objects themselves are made by object.c's builders, which check what
 * the OASIS schemas check. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "base/log.h"
#include "stix/stix_int.h"

#define PATH_MAX_M 112	/* a JSON path in a message */
#define SHOW_MAX   80	/* bytes of a value quoted in a message */
#define TEXT_MAX   1024 /* bytes kept of a name or description */
/* Two escaped values and their object paths, " OR " between them. */
#define PATTERN_CAP (2 * (2 * STIX_VALUE_MAX + 64) + 8)
#define KEY_CAP	    (PATTERN_CAP + 2 * TEXT_MAX + 64)

/* MISP gives an organisation no time. A fixed one makes it the same
 * version of the same identity on every import, as the tower's own
 * identities are (share.c): 2026-01-01T00:00:00Z. */
#define IDENTITY_CREATED 1767225600000000LL

/* --- the attribute types --- */

enum shape {
	WHOLE,	  /* the value */
	PORT,	  /* "value|port": the port is dropped (no AND in our patterns) */
	HASH,	  /* "filename|hash": the hash */
	DOMAIN_IP /* "domain|ip": both */
};

static const struct {
	const char *name;
	enum stix_kind kind;
	bool any_ip; /* an address of either family */
	enum shape shape;
} misp_types[] = {
	{"ip-src", STIX_KIND_IPV4, true, WHOLE},
	{"ip-dst", STIX_KIND_IPV4, true, WHOLE},
	{"ip-src|port", STIX_KIND_IPV4, true, PORT},
	{"ip-dst|port", STIX_KIND_IPV4, true, PORT},
	{"domain", STIX_KIND_DOMAIN, false, WHOLE},
	{"hostname", STIX_KIND_DOMAIN, false, WHOLE},
	{"hostname|port", STIX_KIND_DOMAIN, false, PORT},
	{"domain|ip", STIX_KIND_DOMAIN, false, DOMAIN_IP},
	{"url", STIX_KIND_URL, false, WHOLE},
	{"md5", STIX_KIND_MD5, false, WHOLE},
	{"sha1", STIX_KIND_SHA1, false, WHOLE},
	{"sha256", STIX_KIND_SHA256, false, WHOLE},
	{"filename|md5", STIX_KIND_MD5, false, HASH},
	{"filename|sha1", STIX_KIND_SHA1, false, HASH},
	{"filename|sha256", STIX_KIND_SHA256, false, HASH},
	/* the value of a malware-sample is "filename|md5" */
	{"malware-sample", STIX_KIND_MD5, false, HASH},
};

int stix_misp_parts(const char *type, const char *value, size_t n,
		    struct stix_misp_part parts[STIX_MISP_PARTS])
{
	const char *bar;
	size_t i;
	int np = 1;

	if (type == NULL || value == NULL)
		return 0;
	for (i = 0; i < sizeof(misp_types) / sizeof(misp_types[0]); i++)
		if (strcmp(type, misp_types[i].name) == 0)
			break;
	if (i == sizeof(misp_types) / sizeof(misp_types[0]))
		return 0;
	parts[0].kind = misp_types[i].kind;
	parts[0].any_ip = misp_types[i].any_ip;
	parts[0].value = value;
	parts[0].len = n;
	switch (misp_types[i].shape) {
	case WHOLE:
		break;
	case PORT: /* the last '|': an IPv6 address has none, a port none either */
		if ((bar = memrchr(value, '|', n)) != NULL)
			parts[0].len = (size_t)(bar - value);
		break;
	case HASH: /* the last '|': a file name may hold one, a hash cannot */
		if ((bar = memrchr(value, '|', n)) != NULL) {
			parts[0].value = bar + 1;
			parts[0].len = n - (size_t)(bar - value) - 1;
		}
		break;
	case DOMAIN_IP:
		if ((bar = memchr(value, '|', n)) == NULL)
			break;
		parts[0].len = (size_t)(bar - value);
		parts[1].kind = STIX_KIND_IPV4;
		parts[1].any_ip = true;
		parts[1].value = bar + 1;
		parts[1].len = n - (size_t)(bar - value) - 1;
		np = 2;
		break;
	}
	for (int k = 0; k < np; k++)
		if (parts[k].any_ip && memchr(parts[k].value, ':', parts[k].len) != NULL)
			parts[k].kind = STIX_KIND_IPV6;
	return np;
}

bool stix_misp_flag(const json_t *v, bool dflt)
{
	const char *s;

	if (v == NULL)
		return dflt;
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	s = json_string_value(v);
	if (s != NULL)
		return strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0;
	return dflt;
}

const char *stix_misp_why_text(enum stix_misp_why why)
{
	static const char *const text[STIX_MISP_WHY_COUNT] = {
		[STIX_MISP_NOT_IDS] = "not for IDS (to_ids false)",
		[STIX_MISP_DELETED] = "deleted",
		[STIX_MISP_TYPE] = "of a type yagura does not map",
		[STIX_MISP_VALUE] = "with a value its type refuses",
		[STIX_MISP_MALFORMED] = "malformed",
		[STIX_MISP_LIMIT] = "past the limit of indicators",
		[STIX_MISP_EVENT] = "not an event",
	};
	return (unsigned)why < STIX_MISP_WHY_COUNT ? text[why] : "unknown";
}

/* --- small things --- */

static int64_t now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Where to cut s (longer than max bytes) so that no UTF-8 character is
 * split: jansson refuses a string that ends in half a character. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t k = max;

	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	return k;
}

/* Up to cap - 1 bytes of s[0..n) for a message, control characters (NUL
 * included) as '?': a hostile value reaches a terminal. */
static const char *show(char *out, size_t cap, const char *s, size_t n)
{
	size_t k = n < cap ? n : utf8_cut(s, cap - 1);

	for (size_t i = 0; i < k; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[k] = '\0';
	return out;
}

/* A string property, cut to TEXT_MAX bytes (in buf if it had to be).
 * NULL if absent, not a string, empty, or holding a NUL. */
static const char *text_of(const json_t *v, char buf[TEXT_MAX + 1])
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	if (s == NULL || n == 0 || strlen(s) != n)
		return NULL;
	if (n <= TEXT_MAX)
		return s;
	n = utf8_cut(s, TEXT_MAX);
	memcpy(buf, s, n);
	buf[n] = '\0';
	return n > 0 ? buf : NULL;
}

/* A MISP uuid, lowercased into out, if it is one STIX takes as the UUID
 * of an id (RFC 4122, version 1-5). */
static bool uuid_of(const json_t *v, char out[37])
{
	char id[STIX_ID_MAX];
	const char *s = json_string_value(v);

	if (s == NULL || json_string_length(v) != 36)
		return false;
	for (size_t i = 0; i < 36; i++)
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	out[36] = '\0';
	snprintf(id, sizeof(id), "report--%s", out);
	return stix_id_valid(id, "report");
}

#define LAST_SECOND 253402300799LL /* 9999-12-31T23:59:59Z, the last STIX can write */

/* MISP's Unix seconds ("1709251200" in feeds, a number in some exports),
 * in microseconds; 0 if absent or not a time STIX can write. */
static int64_t unix_time(const json_t *v)
{
	long long s = 0;

	if (json_is_integer(v)) {
		s = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *p = json_string_value(v);
		size_t n = json_string_length(v);

		if (n == 0 || n > 12 || strspn(p, "0123456789") != n)
			return 0;
		for (size_t i = 0; i < n; i++)
			s = s * 10 + (p[i] - '0');
	}
	return s > 0 && s <= LAST_SECOND ? (int64_t)s * 1000000 : 0;
}

/* An event's date, "2024-03-01": its midnight in UTC; 0 if not a date. */
static int64_t day_time(const json_t *v)
{
	char buf[32];
	const char *s = json_string_value(v);
	int64_t us;

	if (s == NULL || json_string_length(v) != 10 || strlen(s) != 10)
		return 0;
	snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
	return stix_time_parse(buf, &us) == 0 ? us : 0;
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* first_seen and last_seen: ISO 8601 with an offset, as MISP writes them
 * ("2024-03-01T12:00:00.000000+00:00"), or with Z; 0 if neither. */
static int64_t seen_time(const json_t *v)
{
	char buf[48], ts[STIX_TIME_LEN];
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	int64_t us, off;

	if (s == NULL || n < 20 || n >= sizeof(buf) || strlen(s) != n)
		return 0;
	if (s[n - 1] == 'Z')
		return stix_time_parse(s, &us) == 0 ? us : 0;
	if ((s[n - 6] != '+' && s[n - 6] != '-') || s[n - 3] != ':' || !digits(s + n - 5, 2) ||
	    !digits(s + n - 2, 2))
		return 0;
	off = ((s[n - 5] - '0') * 10 + (s[n - 4] - '0')) * 60;
	if (off > 23 * 60 || s[n - 2] > '5')
		return 0;
	off += (s[n - 2] - '0') * 10 + (s[n - 1] - '0');
	memcpy(buf, s, n - 6);
	buf[n - 6] = 'Z';
	buf[n - 5] = '\0';
	if (stix_time_parse(buf, &us) < 0)
		return 0;
	/* local time = UTC + offset */
	us -= (s[n - 6] == '-' ? -off : off) * 60 * 1000000;
	return stix_time_fmt(us, ts) == 0 ? us : 0;
}

/* The strictest of the "tlp:" tags of a Tag list (tlp:white as CLEAR);
 * NONE if there is none. Other tags, and tlp: names TLP 2.0 does not
 * have (tlp:ex:chr, tlp:unclear), say nothing about who may see. */
static enum stix_tlp tags_tlp(const json_t *tags)
{
	enum stix_tlp tlp = STIX_TLP_NONE, t;
	json_t *tag;
	size_t i;

	if (!json_is_array(tags))
		return STIX_TLP_NONE;
	json_array_foreach(tags, i, tag)
	{
		const char *name = json_string_value(json_object_get(tag, "name"));

		if (name != NULL && strncasecmp(name, "tlp:", 4) == 0 &&
		    stix_tlp_from_name(name, &t) == 0 && t > tlp)
			tlp = t;
	}
	return tlp;
}

/* --- the converter --- */

/* What one event's attributes share. */
struct event {
	const char *name;	 /* of the document, for messages */
	char uuid[37];		 /* the event's, or "" */
	enum stix_tlp tags;	 /* of the event's Tag list */
	int64_t time;		 /* its timestamp, else its date, else now */
	const char *by;		 /* the identity id, or NULL */
	char by_id[STIX_ID_MAX]; /* its storage */
	json_t *refs;		 /* the report's object_refs */
	json_t *in_refs;	 /* id -> true, not to name one twice */
};

static void YG_PRINTF(4, 5)
	note(struct stix_misp *m, enum stix_misp_why why, const char *name, const char *fmt, ...)
{
	struct stix_misp_stats *st = &m->stats;
	char text[STIX_MISP_MESSAGE_MAX - 83]; /* room for "%.80s: " before it */
	va_list ap;

	st->skipped[why]++;
	if (why == STIX_MISP_NOT_IDS || why == STIX_MISP_DELETED || why == STIX_MISP_TYPE)
		return;
	if (st->n_messages == STIX_MISP_MESSAGES) {
		st->messages_dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(st->messages[st->n_messages++], STIX_MISP_MESSAGE_MAX, "%.80s: %s", name, text);
}

static void count_type(struct stix_misp_stats *st, const char *type, size_t n)
{
	char name[sizeof(st->types[0].name)];

	show(name, sizeof(name), type, n);
	for (size_t i = 0; i < st->n_types; i++)
		if (strcmp(st->types[i].name, name) == 0) {
			st->types[i].count++;
			return;
		}
	if (st->n_types < STIX_MISP_TYPES) {
		memcpy(st->types[st->n_types].name, name, sizeof(name));
		st->types[st->n_types++].count = 1;
	}
}

int stix_misp_init(struct stix_misp *m, const struct stix_misp_opts *o)
{
	memset(m, 0, sizeof(*m));
	if (o != NULL)
		m->opts = *o;
	if (m->opts.now == 0)
		m->opts.now = now_us();
	if (m->opts.max_indicators == 0 || m->opts.max_indicators > STIX_MISP_INDICATORS_MAX)
		m->opts.max_indicators = STIX_MISP_INDICATORS_MAX;
	m->objects = json_array();
	m->seen = json_object();
	m->pattern = yg_malloc(PATTERN_CAP);
	m->value = yg_malloc(STIX_VALUE_MAX);
	m->key = yg_malloc(KEY_CAP);
	if (m->objects == NULL || m->seen == NULL || m->pattern == NULL || m->value == NULL ||
	    m->key == NULL) {
		stix_misp_fini(m);
		return YG_ENOMEM;
	}
	return 0;
}

void stix_misp_fini(struct stix_misp *m)
{
	json_decref(m->objects);
	json_decref(m->seen);
	free(m->pattern);
	free(m->value);
	free(m->key);
	m->objects = m->seen = NULL;
	m->pattern = m->value = m->key = NULL;
}

/* Names id in the event's report, once. */
static int add_ref(struct event *e, const char *id)
{
	if (json_object_get(e->in_refs, id) != NULL)
		return 0;
	if (json_object_set_new(e->in_refs, id, json_true()) < 0 ||
	    json_array_append_new(e->refs, json_string(id)) < 0)
		return YG_ENOMEM;
	return 0;
}

/* Appends a new object (taking it) and remembers its id. */
static int keep(struct stix_misp *m, json_t *o, const char *id, size_t at)
{
	int rc = at < json_array_size(m->objects) ? json_array_insert_new(m->objects, at, o)
						   : json_array_append_new(m->objects, o);

	if (rc < 0 || json_object_set_new(m->seen, id, json_true()) < 0)
		return YG_ENOMEM;
	return 0;
}

/* The pattern of an attribute's parts, into m->pattern; its length, or
 * -1 after noting why not. */
static int pattern_of(struct stix_misp *m, struct event *e, const char *path,
		      const struct stix_misp_part *parts, int np)
{
	char shown[SHOW_MAX + 1];
	size_t o = 0;

	for (int i = 0; i < np; i++) {
		const struct stix_misp_part *p = &parts[i];
		const char *what = p->any_ip ? "address" : stix_kind_name(p->kind);
		int r;

		if (p->len > STIX_VALUE_MAX - 1) {
			note(m, STIX_MISP_VALUE, e->name, "%s.value: longer than %d bytes", path,
			     STIX_VALUE_MAX - 1);
			return -1;
		}
		if (stix_value_check(p->kind, p->value, p->len) < 0) {
			note(m, STIX_MISP_VALUE, e->name, "%s.value: invalid %s '%s'", path, what,
			     show(shown, sizeof(shown), p->value, p->len));
			return -1;
		}
		memcpy(m->value, p->value, p->len);
		m->value[p->len] = '\0';
		/* domain|ip: either half is the indicator; our patterns have
		 * OR and no AND, and a sensor matches each half on its own. */
		if (i > 0) {
			memcpy(m->pattern + o, " OR ", 4);
			o += 4;
		}
		r = stix_pattern_for(p->kind, m->value, m->pattern + o, PATTERN_CAP - o);
		if (r < 0) { /* cannot happen: checked, and room for two */
			note(m, STIX_MISP_VALUE, e->name, "%s.value: no pattern for it", path);
			return -1;
		}
		o += (size_t)r;
	}
	return (int)o;
}

static int attribute(struct stix_misp *m, struct event *e, const json_t *a, const char *path)
{
	struct stix_misp_part parts[STIX_MISP_PARTS];
	char id[STIX_ID_MAX], comment[TEXT_MAX + 1], label[TEXT_MAX + 1], u[37];
	const json_t *jt, *jv;
	const char *type, *value, *mark;
	enum stix_tlp tlp;
	int64_t created, from, until;
	json_t *o = NULL;
	int np, err;

	m->stats.attributes++;
	if (!json_is_object(a)) {
		note(m, STIX_MISP_MALFORMED, e->name, "%s: not an object", path);
		return 0;
	}
	if (stix_misp_flag(json_object_get(a, "deleted"), false)) {
		note(m, STIX_MISP_DELETED, e->name, "%s", path);
		return 0;
	}
	jt = json_object_get(a, "type");
	jv = json_object_get(a, "value");
	type = json_string_value(jt);
	value = json_string_value(jv);
	if (type == NULL || value == NULL) {
		note(m, STIX_MISP_MALFORMED, e->name, "%s.%s: missing, or not a string", path,
		     type == NULL ? "type" : "value");
		return 0;
	}
	np = stix_misp_parts(type, value, json_string_length(jv), parts);
	if (np == 0 || strlen(type) != json_string_length(jt)) {
		count_type(&m->stats, type, json_string_length(jt));
		note(m, STIX_MISP_TYPE, e->name, "%s", path);
		return 0;
	}
	if (!stix_misp_flag(json_object_get(a, "to_ids"), true)) {
		note(m, STIX_MISP_NOT_IDS, e->name, "%s", path);
		return 0;
	}
	if (m->stats.indicators >= m->opts.max_indicators) {
		note(m, STIX_MISP_LIMIT, e->name, "%s: past %zu indicators", path,
		     m->opts.max_indicators);
		return 0;
	}
	if (pattern_of(m, e, path, parts, np) < 0)
		return 0;

	/* The attribute's uuid is the indicator's: a feed imported again
	 * gives the same indicators. Without one, the same value in the same
	 * event gives the same id. */
	if (uuid_of(json_object_get(a, "uuid"), u)) {
		snprintf(id, sizeof(id), "indicator--%s", u);
	} else {
		snprintf(m->key, KEY_CAP, "misp|%s|%s", e->uuid, m->pattern);
		if ((err = stix_id_v5("indicator", m->key, id)) < 0)
			return err == YG_ENOMEM ? err : 0;
	}
	if (json_object_get(m->seen, id) != NULL) {
		m->stats.duplicates++;
		return add_ref(e, id);
	}

	created = unix_time(json_object_get(a, "timestamp"));
	if (created == 0)
		created = e->time;
	from = seen_time(json_object_get(a, "first_seen"));
	if (from == 0)
		from = created;
	until = seen_time(json_object_get(a, "last_seen"));
	if (until <= from)
		until = 0;
	tlp = tags_tlp(json_object_get(a, "Tag"));
	if (e->tags > tlp)
		tlp = e->tags;
	if (tlp == STIX_TLP_NONE)
		tlp = m->opts.tlp;
	mark = stix_tlp_id(tlp);

	const char *name = text_of(jv, label);
	struct stix_indicator in = {
		.c = {.id = id,
		      .created = created,
		      .modified = created,
		      .created_by_ref = e->by,
		      .marking_refs = &mark,
		      .n_marking_refs = mark != NULL},
		.name = name != NULL ? name : "MISP attribute",
		.description = text_of(json_object_get(a, "comment"), comment),
		.pattern = m->pattern,
		.valid_from = from,
		.valid_until = until};
	if ((err = stix_indicator_build(&in, &o)) < 0) {
		if (err == YG_ENOMEM)
			return err;
		note(m, STIX_MISP_VALUE, e->name, "%s: makes no valid indicator", path);
		return 0;
	}
	if ((err = keep(m, o, id, SIZE_MAX)) < 0)
		return err;
	m->stats.indicators++;
	return add_ref(e, id);
}

static int attributes(struct stix_misp *m, struct event *e, const json_t *list, const char *at)
{
	char path[PATH_MAX_M];
	json_t *a;
	size_t i;
	int err;

	if (list == NULL)
		return 0;
	if (!json_is_array(list)) {
		note(m, STIX_MISP_MALFORMED, e->name, "%s.Attribute: not a list", at);
		return 0;
	}
	json_array_foreach(list, i, a)
	{
		snprintf(path, sizeof(path), "%s.Attribute[%zu]", at, i);
		if ((err = attribute(m, e, a, path)) < 0)
			return err;
	}
	return 0;
}

/* The identity of the organisation that created the event, built (not
 * yet kept: only an event that gives an indicator needs it). Its id is
 * derived from the organisation's uuid, else from its name. */
static int identity(struct stix_misp *m, struct event *e, const json_t *orgc, json_t **out)
{
	char u[37], nm[TEXT_MAX + 1], label[64];
	const char *name, *mark = stix_tlp_id(m->opts.tlp);
	bool has_uuid;
	int err;

	*out = NULL;
	if (!json_is_object(orgc))
		return 0;
	name = text_of(json_object_get(orgc, "name"), nm);
	has_uuid = uuid_of(json_object_get(orgc, "uuid"), u);
	if (has_uuid)
		snprintf(m->key, KEY_CAP, "misp-org|%s", u);
	else if (name != NULL)
		snprintf(m->key, KEY_CAP, "misp-org-name|%s", name);
	else
		return 0;
	if ((err = stix_id_v5("identity", m->key, e->by_id)) < 0)
		return err == YG_ENOMEM ? err : 0;
	if (name == NULL) {
		snprintf(label, sizeof(label), "MISP organisation %s", u);
		name = label;
	}
	/* Marked with the import's TLP, not the event's: one organisation is
	 * one object, whichever of its events comes first. */
	struct stix_identity in = {
		.c = {.id = e->by_id,
		      .created = IDENTITY_CREATED,
		      .marking_refs = &mark,
		      .n_marking_refs = mark != NULL},
		.name = name,
		.identity_class = "organization"};
	if ((err = stix_identity_build(&in, out)) < 0)
		return err == YG_ENOMEM ? err : 0;
	e->by = e->by_id;
	return 0;
}

static int report(struct stix_misp *m, struct event *e, const json_t *ev)
{
	char id[STIX_ID_MAX], info[TEXT_MAX + 1], label[64];
	const char *name, *mark, **refs = NULL;
	enum stix_tlp tlp = e->tags != STIX_TLP_NONE ? e->tags : m->opts.tlp;
	size_t n = json_array_size(e->refs);
	int64_t published;
	json_t *o = NULL;
	int err;

	name = text_of(json_object_get(ev, "info"), info);
	if (e->uuid[0] != '\0') {
		snprintf(id, sizeof(id), "report--%s", e->uuid);
	} else {
		snprintf(m->key, KEY_CAP, "misp-event|%s|%s|%s", e->by ? e->by : "",
			 name ? name : "",
			 json_is_string(json_object_get(ev, "date"))
				 ? json_string_value(json_object_get(ev, "date"))
				 : "");
		if ((err = stix_id_v5("report", m->key, id)) < 0)
			return err == YG_ENOMEM ? err : 0;
	}
	if (name == NULL) {
		snprintf(label, sizeof(label), "MISP event%s%s", e->uuid[0] ? " " : "", e->uuid);
		name = label;
	}
	if (json_object_get(m->seen, id) != NULL)
		return 0;
	published = unix_time(json_object_get(ev, "publish_timestamp"));
	if (published == 0)
		published = day_time(json_object_get(ev, "date"));
	if (published == 0)
		published = e->time;
	if ((refs = yg_malloc(n * sizeof(*refs))) == NULL)
		return YG_ENOMEM;
	for (size_t i = 0; i < n; i++)
		refs[i] = json_string_value(json_array_get(e->refs, i));
	mark = stix_tlp_id(tlp);
	/* The event's uuid, for finding it again in MISP. */
	struct stix_extref x = {.source_name = "misp",
				.description = "MISP event",
				.external_id = e->uuid};
	struct stix_report r = {
		.c = {.id = id,
		      .created = e->time,
		      .modified = e->time,
		      .created_by_ref = e->by,
		      .marking_refs = &mark,
		      .n_marking_refs = mark != NULL,
		      .extrefs = &x,
		      .n_extrefs = e->uuid[0] != '\0'},
		.name = name,
		.published = published,
		.object_refs = refs,
		.n_object_refs = n};
	err = stix_report_build(&r, &o);
	free(refs);
	if (err < 0) {
		if (err == YG_ENOMEM)
			return err;
		note(m, STIX_MISP_MALFORMED, e->name, "its report: not valid STIX");
		return 0;
	}
	if ((err = keep(m, o, id, SIZE_MAX)) < 0)
		return err;
	m->stats.reports++;
	return 0;
}

static int event(struct stix_misp *m, const char *name, const json_t *ev, const char *path)
{
	char opath[PATH_MAX_M];
	struct event e;
	size_t mark = json_array_size(m->objects), i;
	json_t *idn = NULL, *ob, *list;
	int err;

	if (!json_is_object(ev)) {
		note(m, STIX_MISP_EVENT, name, "%s: not an object", path);
		return 0;
	}
	m->stats.events++;
	memset(&e, 0, sizeof(e));
	e.name = name;
	if (!uuid_of(json_object_get(ev, "uuid"), e.uuid))
		e.uuid[0] = '\0';
	e.tags = tags_tlp(json_object_get(ev, "Tag"));
	e.time = unix_time(json_object_get(ev, "timestamp"));
	if (e.time == 0)
		e.time = day_time(json_object_get(ev, "date"));
	if (e.time == 0)
		e.time = m->opts.now;
	e.refs = json_array();
	e.in_refs = json_object();
	if (e.refs == NULL || e.in_refs == NULL) {
		err = YG_ENOMEM;
		goto out;
	}
	if ((err = identity(m, &e, json_object_get(ev, "Orgc"), &idn)) < 0 ||
	    (err = attributes(m, &e, json_object_get(ev, "Attribute"), path)) < 0)
		goto out;
	list = json_object_get(ev, "Object");
	if (list != NULL && !json_is_array(list))
		note(m, STIX_MISP_MALFORMED, name, "%s.Object: not a list", path);
	json_array_foreach(list, i, ob)
	{
		snprintf(opath, sizeof(opath), "%s.Object[%zu]", path, i);
		if (!json_is_object(ob)) {
			note(m, STIX_MISP_MALFORMED, name, "%s: not an object", opath);
			continue;
		}
		if (stix_misp_flag(json_object_get(ob, "deleted"), false)) {
			/* its attributes are gone with it */
			size_t k = json_array_size(json_object_get(ob, "Attribute"));

			m->stats.attributes += k;
			m->stats.skipped[STIX_MISP_DELETED] += k;
			continue;
		}
		if ((err = attributes(m, &e, json_object_get(ob, "Attribute"), opath)) < 0)
			goto out;
	}
	if (json_array_size(e.refs) == 0) {
		m->stats.events_empty++;
		goto out;
	}
	/* The identity goes before the event's first indicator, so that a
	 * reader taking objects in order meets it first. */
	if (idn != NULL && json_object_get(m->seen, e.by) == NULL) {
		err = keep(m, idn, e.by, mark);
		idn = NULL;
		if (err < 0)
			goto out;
		m->stats.identities++;
	}
	err = report(m, &e, ev);
out:
	json_decref(idn);
	json_decref(e.refs);
	json_decref(e.in_refs);
	return err;
}

int stix_misp_add(struct stix_misp *m, const char *name, const json_t *root)
{
	char path[PATH_MAX_M];
	const json_t *v;
	json_t *item;
	size_t i;
	int err;

	if (name == NULL)
		name = "-";
	if (!json_is_object(root))
		return YG_EFORMAT;
	if ((v = json_object_get(root, "Event")) != NULL)
		return event(m, name, v, "Event");
	v = json_object_get(root, "response");
	if (!json_is_array(v))
		return YG_EFORMAT;
	json_array_foreach(v, i, item)
	{
		snprintf(path, sizeof(path), "response[%zu].Event", i);
		const json_t *ev = json_object_get(item, "Event");

		if (ev == NULL) {
			note(m, STIX_MISP_EVENT, name, "response[%zu]: no Event in it", i);
			continue;
		}
		if ((err = event(m, name, ev, path)) < 0)
			return err;
	}
	return 0;
}
