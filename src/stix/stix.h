/* stix.h - STIX 2.1 as yagura writes and reads it: identifiers and
 * timestamps, patterns (built from one indicator value, and parsed back
 * into (object path, value) pairs), the objects the tower emits, and the
 * TLP 2.0 marking definitions.
 *
 * Shared by the tower (which emits and serves objects over TAXII), yagura
 * intel (which also converts MISP events into objects) and the sensor's
 * intel loader (which reads bundles, and MISP events with the same table
 * of attribute types), so that there is one pattern grammar and one table
 * of marking ids. Knows nothing of them: no store, no HTTP, no intel
 * snapshot. Every function is thread-safe (the random and digest state is
 * per thread or libsodium's own); a MISP converter is one thread's.
 *
 * Errors are the yagura ones (base/err.h): 0, YG_EINVAL for an argument
 * the module refuses (an id of the wrong type, a value with a control
 * character), YG_ELIMIT for an output buffer too small, YG_ENOMEM, and
 * YG_EFORMAT for a pattern refused by the parser. */
#ifndef YAGURA_STIX_STIX_H
#define YAGURA_STIX_STIX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* --- identifiers and timestamps --- */

#define STIX_TYPE_MAX 64                      /* longest object type we accept */
#define STIX_ID_MAX (STIX_TYPE_MAX + 2 + 36 + 1) /* type--uuid and NUL */
#define STIX_TIME_LEN 25                      /* "2026-12-06T15:00:00.123Z" and NUL */

/* The namespace of STIX 2.1 deterministic (UUIDv5) identifiers (spec 2.9). */
#define STIX_NAMESPACE "00abedb4-aa42-466c-9c01-fed23315a9b7"

/* Writes type + "--" + a random UUIDv4 (libsodium randombytes) into out.
 * Returns 0, or YG_EINVAL if type is not a STIX type name (a-z, 0-9, '-',
 * 3 to STIX_TYPE_MAX bytes), or YG_EIO if libsodium cannot start. */
YG_MUST_CHECK int stix_id_new(const char *type, char out[STIX_ID_MAX]);

/* Writes type + "--" + the UUIDv5 of name in STIX_NAMESPACE: the same name
 * gives the same id everywhere, so that an organisation's identity object
 * has one id however many towers emit it. Returns 0, YG_EINVAL (type, or a
 * NULL name), or YG_EIO if libcrypto's SHA-1 fails. */
YG_MUST_CHECK int stix_id_v5(const char *type, const char *name, char out[STIX_ID_MAX]);

/* True if s is "type--uuid" with a valid type and an RFC 4122 UUID (the
 * form the OASIS schemas accept: version 1-5, variant 10xx, either case),
 * and, if type is not NULL, its type is exactly type. */
bool stix_id_valid(const char *s, const char *type);

/* Formats microseconds since the epoch as a STIX timestamp in UTC with
 * millisecond precision ("2026-12-06T15:00:00.123Z"); sub-millisecond
 * digits are dropped, not rounded, so that a formatted time never lies
 * after the one it stands for. Returns 0, or YG_EINVAL outside the years
 * 0001-9999. */
YG_MUST_CHECK int stix_time_fmt(int64_t us, char out[STIX_TIME_LEN]);

/* Parses a STIX timestamp: "YYYY-MM-DDTHH:MM:SS[.fraction]Z", UTC only
 * (the spec requires Z), calendar checked, up to 9 fraction digits (kept to
 * the microsecond), a leap second counted as :59.999999. Returns 0 with
 * *us set, or YG_EINVAL. */
YG_MUST_CHECK int stix_time_parse(const char *s, int64_t *us);

/* --- patterns --- */

/* What one comparison is about: the kinds yagura builds patterns from,
 * and OTHER for any object path it does not know. */
enum stix_kind {
	STIX_KIND_IPV4 = 0, /* ipv4-addr:value, an address or a CIDR */
	STIX_KIND_IPV6,     /* ipv6-addr:value, an address or a CIDR */
	STIX_KIND_DOMAIN,   /* domain-name:value */
	STIX_KIND_URL,      /* url:value */
	STIX_KIND_MD5,      /* file:hashes.MD5 (or 'MD5') */
	STIX_KIND_SHA1,     /* file:hashes.'SHA-1' */
	STIX_KIND_SHA256,   /* file:hashes.'SHA-256' */
	STIX_KIND_OTHER,    /* any other object path */
	STIX_KIND_COUNT
};

#define STIX_KIND_BIT(k) (1u << (k))
#define STIX_KINDS_NETWORK                                                                   \
	(STIX_KIND_BIT(STIX_KIND_IPV4) | STIX_KIND_BIT(STIX_KIND_IPV6) |                    \
	 STIX_KIND_BIT(STIX_KIND_DOMAIN) | STIX_KIND_BIT(STIX_KIND_URL))
#define STIX_KINDS_KNOWN (STIX_KIND_BIT(STIX_KIND_OTHER) - 1)
#define STIX_KINDS_ALL ((1u << STIX_KIND_COUNT) - 1)

#define STIX_VALUE_MAX 8192   /* longest pattern literal, after unescaping */
#define STIX_PATTERN_DEPTH 32 /* deepest nesting of parentheses */

/* The canonical object path of a kind ("file:hashes.'SHA-256'"), or NULL
 * for STIX_KIND_OTHER. */
const char *stix_kind_path(enum stix_kind kind);

/* A short name for a kind ("ipv4", "sha256", "other"). */
const char *stix_kind_name(enum stix_kind kind);

/* Checks value (n bytes, no NUL needed) as a kind: a dotted quad with an
 * optional /0-32, an IPv6 address with an optional /0-128, a DNS name
 * (labels of letters, digits, '-' and '_', 1-63 bytes, 253 in all), a URL
 * (scheme "://" host ...), or a hash of the right number of hex digits.
 * Control characters (below 0x20, and 0x7f) are refused in every kind.
 * Returns 0 or YG_EINVAL; STIX_KIND_OTHER only gets the control check. */
YG_MUST_CHECK int stix_value_check(enum stix_kind kind, const char *value, size_t n);

/* Writes the pattern matching one value into out (cap bytes with NUL):
 * "[ipv4-addr:value = '198.51.100.0/24']", "[file:hashes.'SHA-256' =
 * '...']", quoting ' and \ as the patterning grammar says. Returns the
 * pattern's length, YG_EINVAL if stix_value_check refuses value (or kind
 * is OTHER), or YG_ELIMIT if cap is too small. */
YG_MUST_CHECK int stix_pattern_for(enum stix_kind kind, const char *value, char *out, size_t cap);

/* One comparison of a parsed pattern. path is as written in the pattern
 * ("file:hashes.'SHA-256'"), value is unescaped; both point into memory
 * that lives only for the callback. */
struct stix_cmp {
	enum stix_kind kind;
	const char *path;
	size_t path_len;
	const char *value;
	size_t value_len;
};

/* Why the parser refused a pattern. */
enum stix_pattern_why {
	STIX_PATTERN_OK = 0,
	STIX_PATTERN_SYNTAX,   /* not the grammar, or nested deeper than STIX_PATTERN_DEPTH */
	STIX_PATTERN_OPERATOR, /* an operator or qualifier other than = and OR */
	STIX_PATTERN_OBJECT,   /* an object path whose kind the caller did not accept */
	STIX_PATTERN_TOO_LONG, /* a literal longer than STIX_VALUE_MAX - 1 */
	STIX_PATTERN_CALLBACK  /* the callback stopped the parse */
};

/* msg is one line for a person ("unsupported operator AND", "expected
 * ']', found ')'"), quoting at most 80 bytes of the pattern; kind is the
 * comparison's for TOO_LONG; offset is where in the pattern it went wrong. */
struct stix_pattern_error {
	enum stix_pattern_why why;
	enum stix_kind kind;
	size_t offset;
	char msg[160];
};

/* Called once per comparison, left to right. Return 0 to go on; anything
 * else stops the parse, and stix_pattern_parse returns it. */
typedef int (*stix_pattern_cb)(void *ctx, const struct stix_cmp *cmp);

/* Parses what yagura fully understands of the STIX patterning language:
 * observation expressions "[...]" joined by OR, each a disjunction of
 * "path = 'literal'" comparisons, with parentheses at both levels and
 * keywords in any case. Everything else - AND, FOLLOWEDBY, NOT, !=, <, IN,
 * LIKE, MATCHES, ISSUBSET, EXISTS, qualifiers (WITHIN, REPEATS,
 * START/STOP), non-string literals - is refused with the first reason
 * found, left to right: a pattern that is refused means nothing to a
 * matcher, since a conjunction taken as a disjunction would over-match.
 *
 * kinds is a mask of STIX_KIND_BIT()s: a comparison whose path is of a
 * kind outside it is refused (STIX_PATTERN_OBJECT) as soon as the path is
 * read. cb may be NULL to check only. Allocates nothing; recursion is
 * bounded by STIX_PATTERN_DEPTH. Returns 0, YG_EFORMAT with *err filled
 * (err may be NULL), or the callback's non-zero return (err->why is then
 * STIX_PATTERN_CALLBACK). Callbacks of the comparisons before a refusal
 * have run: a caller that wants all or nothing parses once with cb NULL. */
YG_MUST_CHECK int stix_pattern_parse(const char *pattern, size_t len, unsigned kinds,
				     stix_pattern_cb cb, void *ctx,
				     struct stix_pattern_error *err);

/* --- TLP 2.0 --- */

/* Ordered from least to most restrictive, so that the stricter of two is
 * the larger. NONE means "no TLP marking", not CLEAR. */
enum stix_tlp {
	STIX_TLP_NONE = 0,
	STIX_TLP_CLEAR,
	STIX_TLP_GREEN,
	STIX_TLP_AMBER,
	STIX_TLP_AMBER_STRICT,
	STIX_TLP_RED
};

/* "TLP:CLEAR" ... "TLP:RED", or "none". */
const char *stix_tlp_name(enum stix_tlp tlp);

/* Accepts "clear", "TLP:AMBER+STRICT", "tlp:red" (any case), and TLP 1.0's
 * "white" as CLEAR. Returns 0 with *tlp set, or YG_EINVAL. */
YG_MUST_CHECK int stix_tlp_from_name(const char *s, enum stix_tlp *tlp);

/* The id of the OASIS TLP 2.0 marking-definition ("marking-definition--
 * 94868c89-..." for CLEAR), or NULL for NONE. */
const char *stix_tlp_id(enum stix_tlp tlp);

/* The TLP of a marking-definition id: the five TLP 2.0 ids and the four
 * TLP 1.0 ids STIX 2.1 predefines (white as CLEAR); NONE for any other. */
enum stix_tlp stix_tlp_from_id(const char *id);

/* The TLP a marking-definition object states, from its id, the TLP 2.0
 * extension's tlp_2_0, TLP 1.0's definition.tlp or, failing those, a
 * "TLP:..." name; NONE if it is not a TLP marking (a statement). */
enum stix_tlp stix_tlp_of_definition(const json_t *md);

/* The most restrictive TLP an object's object_marking_refs carry, for
 * deciding who may see it. Fails closed: a reference this function cannot
 * tell is harmless makes the object RED. In detail: refs NULL or an empty
 * array gives NONE (unmarked: the caller applies its default); refs not an
 * array, or an element that is not a marking-definition id, gives RED; a
 * known TLP id gives its TLP; any other id is looked up in definitions (a
 * JSON object mapping ids to marking-definition objects, e.g. the ones in
 * the same bundle or collection; may be NULL) and gives that definition's
 * TLP, nothing if it is a statement, and RED if it is not found. */
enum stix_tlp stix_tlp_of_refs(const json_t *refs, const json_t *definitions);

/* Builds the OASIS marking-definition object of a TLP (fixed id, created
 * 2022-10-01, the tlp_2_0 extension). Returns 0 with a new reference in
 * *out, YG_EINVAL for NONE, or YG_ENOMEM. */
YG_MUST_CHECK int stix_tlp_build(enum stix_tlp tlp, json_t **out);

/* The TLP 2.0 extension-definition that marking definitions refer to. */
#define STIX_TLP2_EXTENSION "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

/* --- sectors --- */

/* The STIX 2.1 industry-sector-ov names for one of yagura's sector names
 * (src/tower defaults: "electricity" -> {"energy", "utilities"}), as a
 * NULL-terminated static list. A name yagura does not know gives
 * {"infrastructure"}: every sector the law covers is critical
 * infrastructure. docs/stix.md has the table. */
const char *const *stix_sectors_of(const char *yagura_sector);

/* True if s is in the STIX 2.1 industry-sector-ov vocabulary. */
bool stix_sector_valid(const char *s);

/* --- objects --- */

/* Builders take a plain struct (zero it, fill what you have) and return 0
 * with a new json_t reference in *out that the caller owns, YG_EINVAL if a
 * property is invalid (an id of the wrong type, a bad time order, a
 * confidence above 100, a pattern stix_pattern_parse refuses), or
 * YG_ENOMEM. Every object gets spec_version "2.1", created and modified.
 * Strings must be UTF-8 (jansson refuses others: YG_EINVAL). */

struct stix_extref {
	const char *source_name; /* required */
	const char *description, *url, *external_id;
};

/* The properties common to the SDOs, SROs and marking definitions. */
struct stix_common {
	const char *id;            /* NULL: a new random id of the object's type */
	int64_t created;           /* us since the epoch; 0: now */
	int64_t modified;          /* 0: created */
	const char *created_by_ref; /* an identity id, or NULL */
	bool revoked;
	bool has_confidence;
	int confidence; /* 0-100, with has_confidence */
	const char *const *marking_refs; /* marking-definition ids */
	size_t n_marking_refs;
	const struct stix_extref *extrefs;
	size_t n_extrefs;
};

struct stix_indicator {
	struct stix_common c;
	const char *name, *description; /* optional */
	const char *pattern;            /* required; pattern_type is "stix" */
	const char *const *indicator_types; /* indicator-type-ov; none: "malicious-activity" */
	size_t n_indicator_types;
	int64_t valid_from;  /* 0: created */
	int64_t valid_until; /* 0: none; else after valid_from */
};
YG_MUST_CHECK int stix_indicator_build(const struct stix_indicator *in, json_t **out);

struct stix_sighting {
	struct stix_common c;
	const char *sighting_of_ref; /* required: an SDO id (an indicator's) */
	int64_t first_seen, last_seen; /* 0: none; last_seen >= first_seen */
	uint32_t count;                /* 0: none; at most 999999999 */
	const char *const *where_sighted_refs; /* identity or location ids */
	size_t n_where_sighted_refs;
	const char *const *observed_data_refs; /* observed-data ids */
	size_t n_observed_data_refs;
	const char *description;
};
YG_MUST_CHECK int stix_sighting_build(const struct stix_sighting *in, json_t **out);

struct stix_identity {
	struct stix_common c;
	const char *name;           /* required */
	const char *identity_class; /* identity-class-ov; NULL: "organization" */
	const char *const *sectors; /* industry-sector-ov names (stix_sectors_of) */
	size_t n_sectors;
	const char *description, *contact_information;
};
YG_MUST_CHECK int stix_identity_build(const struct stix_identity *in, json_t **out);

struct stix_report {
	struct stix_common c;
	const char *name;                 /* required */
	const char *description;
	int64_t published;                /* required (non-zero) */
	const char *const *report_types;  /* report-type-ov; none: "threat-report" */
	size_t n_report_types;
	const char *const *object_refs;   /* required, at least one */
	size_t n_object_refs;
};
YG_MUST_CHECK int stix_report_build(const struct stix_report *in, json_t **out);

/* Servers and networks an adversary uses (STIX 2.1 §4.8): what the
 * indicators a report shares point at, through "indicates" relationships. */
struct stix_infrastructure {
	struct stix_common c;
	const char *name;                       /* required */
	const char *description;
	const char *const *infrastructure_types; /* infrastructure-type-ov; none: "unknown" */
	size_t n_infrastructure_types;
	int64_t first_seen, last_seen;          /* 0: none; last not before first */
};
YG_MUST_CHECK int stix_infrastructure_build(const struct stix_infrastructure *in, json_t **out);

struct stix_note {
	struct stix_common c;
	const char *abstract;           /* optional */
	const char *content;            /* required */
	const char *const *authors;
	size_t n_authors;
	const char *const *object_refs; /* required, at least one */
	size_t n_object_refs;
};
YG_MUST_CHECK int stix_note_build(const struct stix_note *in, json_t **out);

struct stix_relationship {
	struct stix_common c;
	const char *relationship_type; /* required: a-z, 0-9, '-' ("indicates") */
	const char *source_ref, *target_ref; /* required */
	const char *description;
	int64_t start_time, stop_time; /* 0: none; stop after start */
};
YG_MUST_CHECK int stix_relationship_build(const struct stix_relationship *in, json_t **out);

/* A statement marking definition ("Copyright 2026 ..."); for TLP use
 * stix_tlp_build. Only c.id, c.created, c.created_by_ref, c.marking_refs
 * and c.extrefs apply: marking definitions are never versioned. */
YG_MUST_CHECK int stix_statement_build(const struct stix_common *c, const char *name,
				       const char *statement, json_t **out);

/* A new bundle {"type": "bundle", "id": "bundle--<random>", "objects": []}.
 * Returns 0 with *out set, YG_EIO (no randomness) or YG_ENOMEM. */
YG_MUST_CHECK int stix_bundle_new(json_t **out);

/* Appends obj to bundle's objects, taking the reference (even on failure,
 * so that a chain of adds leaks nothing). Returns 0, YG_EINVAL if bundle
 * is not one or obj not an object with a type, or YG_ENOMEM. */
YG_MUST_CHECK int stix_bundle_add(json_t *bundle, json_t *obj);

/* --- MISP --- */

/* MISP attribute types in yagura's terms: which STIX kinds a value of a
 * type holds, and where in the value they are. One table (docs/sharing.md
 * lists it), read by the tower's importer below and by the sensor's MISP
 * loader (src/intel), which takes the network kinds and skips the rest. */

#define STIX_MISP_PARTS 2 /* most parts one attribute gives (domain|ip) */

struct stix_misp_part {
	enum stix_kind kind;
	bool any_ip;       /* the type says "an address", not which family: kind
			      is IPV6 if the value has a ':', else IPV4 */
	const char *value; /* points into the value given; no NUL */
	size_t len;
};

/* Splits value (n bytes) of a MISP attribute of type into what yagura can
 * match: the value itself for most types; the address or name without its
 * port for the |port types; the hash of filename|md5 and the like; both
 * halves of domain|ip. A composite value without its '|' is taken whole.
 * Values are not checked (stix_value_check does that). Returns the number
 * of parts, 1 or 2, or 0 for a type yagura does not map (or a NULL one). */
int stix_misp_parts(const char *type, const char *value, size_t n,
		    struct stix_misp_part parts[STIX_MISP_PARTS]);

/* A MISP boolean as MISP writes them: true/false, 1/0, "1"/"0",
 * "true"/"false". dflt when v is NULL or of another JSON type. */
bool stix_misp_flag(const json_t *v, bool dflt);

/* Why a MISP attribute (or event) made no indicator. */
enum stix_misp_why {
	STIX_MISP_NOT_IDS = 0, /* to_ids false: context, not for detection */
	STIX_MISP_DELETED,     /* a deleted attribute, or one of a deleted object */
	STIX_MISP_TYPE,        /* a type yagura cannot express as a pattern */
	STIX_MISP_VALUE,       /* a value its type refuses */
	STIX_MISP_MALFORMED,   /* not an object, no type or value, a property of the wrong JSON type */
	STIX_MISP_LIMIT,       /* past the converter's limit of indicators */
	STIX_MISP_EVENT,       /* an element of "response" that is not {"Event": {...}} */
	STIX_MISP_WHY_COUNT
};

/* A few words for a person: "not for IDS (to_ids false)", "deleted" ... */
const char *stix_misp_why_text(enum stix_misp_why why);

#define STIX_MISP_INDICATORS_MAX 100000 /* indicators one converter makes */
#define STIX_MISP_MESSAGES	 20	/* messages kept; the rest are counted */
#define STIX_MISP_MESSAGE_MAX	 240	/* bytes of one, with NUL */
#define STIX_MISP_TYPES		 16	/* unmapped types counted by name */

/* What a conversion made and what it skipped, for the person running it. */
struct stix_misp_stats {
	size_t events;       /* events read */
	size_t events_empty; /* of which with nothing to import (no report made) */
	size_t attributes;   /* attributes read, in events and their objects */
	size_t indicators, reports, identities; /* objects made */
	size_t duplicates;   /* attributes whose indicator was made already */
	size_t skipped[STIX_MISP_WHY_COUNT];
	/* the unmapped types met first, and how many attributes of each */
	size_t n_types;
	struct {
		char name[48];
		size_t count;
	} types[STIX_MISP_TYPES];
	/* "FILE: Event.Attribute[7].value: invalid ipv4 'not-an-ip'", for
	 * VALUE, MALFORMED, LIMIT and EVENT; the ordinary skips (NOT_IDS,
	 * DELETED, TYPE) are only counted. */
	size_t n_messages, messages_dropped;
	char messages[STIX_MISP_MESSAGES][STIX_MISP_MESSAGE_MAX];
};

struct stix_misp_opts {
	enum stix_tlp tlp; /* for what no tlp: tag marks, and identities; NONE: unmarked */
	int64_t now;       /* us; the time of what MISP gives no time for; 0: the clock */
	size_t max_indicators; /* 0: STIX_MISP_INDICATORS_MAX */
};

/* A converter of MISP events to STIX 2.1 objects (docs/sharing.md, "MISP"),
 * caller-owned: stix_misp_init, any number of stix_misp_add, read objects
 * and stats, stix_misp_fini. Objects already made are not made twice (an
 * organisation's identity for its second event, an attribute met again).
 * Not thread-safe; separate converters are independent. */
struct stix_misp {
	struct stix_misp_opts opts;
	json_t *objects; /* the array of objects made, each event's identity,
			    indicators and report in that order; read-only */
	struct stix_misp_stats stats;
	/* private */
	json_t *seen;  /* ids made -> true */
	char *pattern; /* scratch for one pattern */
	char *value;   /* scratch for one part, with its NUL */
	char *key;     /* scratch for the name of a UUIDv5 id */
};

/* Returns 0, or YG_ENOMEM (m then needs no fini, but fini is harmless). */
YG_MUST_CHECK int stix_misp_init(struct stix_misp *m, const struct stix_misp_opts *o);

/* Converts one JSON document: {"Event": {...}} (an event file of a MISP
 * feed, or MISP's export of one event) or {"response": [{"Event": ...},
 * ...]} (MISP's REST API). name labels its messages (a file name). Bad
 * events and attributes are skipped and counted in m->stats, never fatal.
 * Returns 0, YG_EFORMAT if root is neither form (nothing is counted), or
 * YG_ENOMEM (m keeps what it made before). */
YG_MUST_CHECK int stix_misp_add(struct stix_misp *m, const char *name, const json_t *root);

/* Frees what m holds; m->objects too, unless the caller took a reference. */
void stix_misp_fini(struct stix_misp *m);

#endif
