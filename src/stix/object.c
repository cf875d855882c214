/* object.c - the STIX 2.1 objects the tower emits, as jansson values.
 *
 * Each builder checks what the JSON schemas check and what they cannot
 * (modified not before created, valid_until after valid_from, references
 * of the right type, a pattern our own parser accepts), so that an object
 * that leaves here is one every STIX consumer takes. Each builds into a
 * fresh object and hands it over only whole: one cleanup label. */
#include <string.h>
#include <sys/time.h>

#include "stix/stix_int.h"

static int64_t now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Sets k to a new string; NULL v sets nothing. jansson refuses strings
 * that are not UTF-8: that is the caller's input, hence EINVAL. */
static int set_str(json_t *o, const char *k, const char *v)
{
	json_t *s;

	if (v == NULL)
		return 0;
	if ((s = json_string(v)) == NULL)
		return YG_EINVAL;
	return json_object_set_new(o, k, s) < 0 ? YG_ENOMEM : 0;
}

static int set_required(json_t *o, const char *k, const char *v)
{
	return v == NULL || v[0] == '\0' ? YG_EINVAL : set_str(o, k, v);
}

static int set_time(json_t *o, const char *k, int64_t us)
{
	char ts[STIX_TIME_LEN];

	if (stix_time_fmt(us, ts) < 0)
		return YG_EINVAL;
	return set_str(o, k, ts);
}

/* Types that an object reference to "some SDO or SCO" may not name. */
static bool ref_is_meta(const char *id)
{
	static const char *const meta[] = {"bundle--",	     "marking-definition--",
					   "relationship--", "sighting--",
					   "language-content--", "extension-definition--"};

	for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
		if (strncmp(id, meta[i], strlen(meta[i])) == 0)
			return true;
	return false;
}

/* Each of refs[0..n) must be an id of type (or of type2, or, with both
 * NULL, of any SDO or SCO type; any_type admits SROs too). An empty list
 * sets nothing: STIX lists have at least one element. */
static int set_refs(json_t *o, const char *k, const char *const *refs, size_t n,
		    const char *type, const char *type2, bool any_type)
{
	json_t *a;
	int err = 0;

	if (n == 0)
		return 0;
	if (refs == NULL)
		return YG_EINVAL;
	if ((a = json_array()) == NULL)
		return YG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *r = refs[i];
		bool ok;

		if (type != NULL)
			ok = stix_id_valid(r, type) || (type2 != NULL && stix_id_valid(r, type2));
		else
			ok = stix_id_valid(r, NULL) && (any_type || !ref_is_meta(r));
		if (!ok) {
			err = YG_EINVAL;
			goto out;
		}
		if (json_array_append_new(a, json_string(r)) < 0) {
			err = YG_ENOMEM;
			goto out;
		}
	}
	if (json_object_set(o, k, a) < 0)
		err = YG_ENOMEM;
out:
	json_decref(a);
	return err;
}

/* A list of open-vocabulary names: each non-empty and of a-z, 0-9, '-'
 * (how every STIX vocabulary spells its values). */
static int set_vocab(json_t *o, const char *k, const char *const *v, size_t n, const char *dflt)
{
	json_t *a;
	int err = 0;

	if (n == 0 && dflt == NULL)
		return 0;
	if (n > 0 && v == NULL)
		return YG_EINVAL;
	if ((a = json_array()) == NULL)
		return YG_ENOMEM;
	for (size_t i = 0; i < (n ? n : 1); i++) {
		const char *s = n ? v[i] : dflt;

		if (s == NULL || s[0] == '\0' ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s)) {
			err = YG_EINVAL;
			goto out;
		}
		if (json_array_append_new(a, json_string(s)) < 0) {
			err = YG_ENOMEM;
			goto out;
		}
	}
	if (json_object_set(o, k, a) < 0)
		err = YG_ENOMEM;
out:
	json_decref(a);
	return err;
}

static int set_extrefs(json_t *o, const struct stix_extref *x, size_t n)
{
	json_t *a, *e = NULL;
	int err = 0;

	if (n == 0)
		return 0;
	if (x == NULL)
		return YG_EINVAL;
	if ((a = json_array()) == NULL)
		return YG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((e = json_object()) == NULL) {
			err = YG_ENOMEM;
			goto out;
		}
		if ((err = set_required(e, "source_name", x[i].source_name)) < 0 ||
		    (err = set_str(e, "description", x[i].description)) < 0 ||
		    (err = set_str(e, "url", x[i].url)) < 0 ||
		    (err = set_str(e, "external_id", x[i].external_id)) < 0)
			goto out;
		if (json_array_append_new(a, e) < 0) {
			e = NULL;
			err = YG_ENOMEM;
			goto out;
		}
		e = NULL;
	}
	if (json_object_set(o, "external_references", a) < 0)
		err = YG_ENOMEM;
out:
	json_decref(e);
	json_decref(a);
	return err;
}

/* type, spec_version, id, created, modified and the optional common
 * properties. *created gets the creation time, for the checks of the
 * object's own times. versioned is false for marking definitions, which
 * have neither modified nor revoked nor confidence. */
static int common(json_t *o, const char *type, const struct stix_common *c, bool versioned,
		  int64_t *created)
{
	char id[STIX_ID_MAX];
	int64_t cr, mo;
	int err;

	if (c->id != NULL) {
		if (!stix_id_valid(c->id, type))
			return YG_EINVAL;
		if ((err = set_str(o, "id", c->id)) < 0)
			return err;
	} else {
		if ((err = stix_id_new(type, id)) < 0 || (err = set_str(o, "id", id)) < 0)
			return err;
	}
	cr = c->created ? c->created : now_us();
	mo = c->modified ? c->modified : cr;
	if (mo < cr)
		return YG_EINVAL;
	if ((err = set_str(o, "type", type)) < 0 || (err = set_str(o, "spec_version", "2.1")) < 0 ||
	    (err = set_time(o, "created", cr)) < 0)
		return err;
	if (versioned && (err = set_time(o, "modified", mo)) < 0)
		return err;
	if (c->created_by_ref != NULL && !stix_id_valid(c->created_by_ref, "identity"))
		return YG_EINVAL;
	if ((err = set_str(o, "created_by_ref", c->created_by_ref)) < 0)
		return err;
	if (versioned && c->revoked && json_object_set_new(o, "revoked", json_true()) < 0)
		return YG_ENOMEM;
	if (c->has_confidence) {
		if (!versioned || c->confidence < 0 || c->confidence > 100)
			return YG_EINVAL;
		if (json_object_set_new(o, "confidence", json_integer(c->confidence)) < 0)
			return YG_ENOMEM;
	}
	if ((err = set_refs(o, "object_marking_refs", c->marking_refs, c->n_marking_refs,
			    "marking-definition", NULL, false)) < 0 ||
	    (err = set_extrefs(o, c->extrefs, c->n_extrefs)) < 0)
		return err;
	*created = cr;
	return 0;
}

/* Runs build on a new object; hands it over only if build succeeded. */
static int finish(json_t *o, int err, json_t **out)
{
	if (err < 0) {
		json_decref(o);
		return err;
	}
	*out = o;
	return 0;
}

int stix_indicator_build(const struct stix_indicator *in, json_t **out)
{
	json_t *o = json_object();
	int64_t created, from;
	int err;

	if (o == NULL)
		return YG_ENOMEM;
	if ((err = common(o, "indicator", &in->c, true, &created)) < 0)
		goto out;
	err = YG_EINVAL;
	/* What we emit, we can read back: no pattern our parser refuses. */
	if (in->pattern == NULL ||
	    stix_pattern_parse(in->pattern, strlen(in->pattern), STIX_KINDS_ALL, NULL, NULL, NULL) <
		    0)
		goto out;
	from = in->valid_from ? in->valid_from : created;
	if (in->valid_until != 0 && in->valid_until <= from)
		goto out;
	if ((err = set_str(o, "name", in->name)) < 0 ||
	    (err = set_str(o, "description", in->description)) < 0 ||
	    (err = set_vocab(o, "indicator_types", in->indicator_types, in->n_indicator_types,
			     "malicious-activity")) < 0 ||
	    (err = set_str(o, "pattern", in->pattern)) < 0 ||
	    (err = set_str(o, "pattern_type", "stix")) < 0 ||
	    (err = set_str(o, "pattern_version", "2.1")) < 0 ||
	    (err = set_time(o, "valid_from", from)) < 0)
		goto out;
	if (in->valid_until != 0)
		err = set_time(o, "valid_until", in->valid_until);
out:
	return finish(o, err, out);
}

int stix_sighting_build(const struct stix_sighting *in, json_t **out)
{
	json_t *o = json_object();
	int64_t created;
	int err;

	if (o == NULL)
		return YG_ENOMEM;
	if ((err = common(o, "sighting", &in->c, true, &created)) < 0)
		goto out;
	err = YG_EINVAL;
	if (in->sighting_of_ref == NULL || !stix_id_valid(in->sighting_of_ref, NULL) ||
	    ref_is_meta(in->sighting_of_ref))
		goto out;
	if (in->first_seen && in->last_seen && in->last_seen < in->first_seen)
		goto out;
	if (in->count > 999999999)
		goto out;
	if ((err = set_str(o, "sighting_of_ref", in->sighting_of_ref)) < 0 ||
	    (err = set_str(o, "description", in->description)) < 0 ||
	    (err = set_refs(o, "where_sighted_refs", in->where_sighted_refs,
			    in->n_where_sighted_refs, "identity", "location", false)) < 0 ||
	    (err = set_refs(o, "observed_data_refs", in->observed_data_refs,
			    in->n_observed_data_refs, "observed-data", NULL, false)) < 0)
		goto out;
	if (in->first_seen && (err = set_time(o, "first_seen", in->first_seen)) < 0)
		goto out;
	if (in->last_seen && (err = set_time(o, "last_seen", in->last_seen)) < 0)
		goto out;
	if (in->count && json_object_set_new(o, "count", json_integer(in->count)) < 0)
		err = YG_ENOMEM;
out:
	return finish(o, err, out);
}

int stix_identity_build(const struct stix_identity *in, json_t **out)
{
	json_t *o = json_object();
	int64_t created;
	int err;

	if (o == NULL)
		return YG_ENOMEM;
	if ((err = common(o, "identity", &in->c, true, &created)) < 0)
		goto out;
	for (size_t i = 0; i < in->n_sectors; i++) {
		if (in->sectors == NULL || !stix_sector_valid(in->sectors[i])) {
			err = YG_EINVAL;
			goto out;
		}
	}
	if ((err = set_required(o, "name", in->name)) < 0 ||
	    (err = set_str(o, "description", in->description)) < 0 ||
	    (err = set_required(o, "identity_class",
				in->identity_class ? in->identity_class : "organization")) < 0 ||
	    (err = set_vocab(o, "sectors", in->sectors, in->n_sectors, NULL)) < 0 ||
	    (err = set_str(o, "contact_information", in->contact_information)) < 0)
		goto out;
out:
	return finish(o, err, out);
}

int stix_report_build(const struct stix_report *in, json_t **out)
{
	json_t *o = json_object();
	int64_t created;
	int err;

	if (o == NULL)
		return YG_ENOMEM;
	if ((err = common(o, "report", &in->c, true, &created)) < 0)
		goto out;
	err = YG_EINVAL;
	if (in->published == 0 || in->n_object_refs == 0)
		goto out;
	if ((err = set_required(o, "name", in->name)) < 0 ||
	    (err = set_str(o, "description", in->description)) < 0 ||
	    (err = set_vocab(o, "report_types", in->report_types, in->n_report_types,
			     "threat-report")) < 0 ||
	    (err = set_time(o, "published", in->published)) < 0 ||
	    (err = set_refs(o, "object_refs", in->object_refs, in->n_object_refs, NULL, NULL,
			    true)) < 0)
		goto out;
out:
	return finish(o, err, out);
}

int stix_infrastructure_build(const struct stix_infrastructure *in, json_t **out)
{
	json_t *o = json_object();
	int64_t created;
	int err;

	if (o == NULL)
		return YG_ENOMEM;
	if ((err = common(o, "infrastructure", &in->c, true, &created)) < 0)
		goto out;
	err = YG_EINVAL;
	if (in->first_seen != 0 && in->last_seen != 0 && in->last_seen < in->first_seen)
		goto out;
	if ((err = set_required(o, "name", in->name)) < 0 ||
	    (err = set_str(o, "description", in->description)) < 0 ||
	    (err = set_vocab(o, "infrastructure_types", in->infrastructure_types,
			     in->n_infrastructure_types, "unknown")) < 0 ||
	    (in->first_seen != 0 && (err = set_time(o, "first_seen", in->first_seen)) < 0) ||
	    (in->last_seen != 0 && (err = set_time(o, "last_seen", in->last_seen)) < 0))
		goto out;
out:
	return finish(o, err, out);
}

int stix_note_build(const struct stix_note *in, json_t **out)
{
	json_t *o = json_object();
	json_t *a = NULL;
	int64_t created;
	int err;

	if (o == NULL)
		return YG_ENOMEM;
	if ((err = common(o, "note", &in->c, true, &created)) < 0)
		goto out;
	err = YG_EINVAL;
	if (in->n_object_refs == 0 || (in->n_authors > 0 && in->authors == NULL))
		goto out;
	if ((err = set_str(o, "abstract", in->abstract)) < 0 ||
	    (err = set_required(o, "content", in->content)) < 0 ||
	    (err = set_refs(o, "object_refs", in->object_refs, in->n_object_refs, NULL, NULL,
			    true)) < 0)
		goto out;
	if (in->n_authors > 0) {
		if ((a = json_array()) == NULL) {
			err = YG_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < in->n_authors; i++) {
			json_t *s = in->authors[i] ? json_string(in->authors[i]) : NULL;

			if (s == NULL) {
				err = YG_EINVAL;
				goto out;
			}
			if (json_array_append_new(a, s) < 0) {
				err = YG_ENOMEM;
				goto out;
			}
		}
		if (json_object_set(o, "authors", a) < 0)
			err = YG_ENOMEM;
	}
out:
	json_decref(a);
	return finish(o, err, out);
}

int stix_relationship_build(const struct stix_relationship *in, json_t **out)
{
	json_t *o = json_object();
	int64_t created;
	int err;
	const char *rt = in->relationship_type;

	if (o == NULL)
		return YG_ENOMEM;
	if ((err = common(o, "relationship", &in->c, true, &created)) < 0)
		goto out;
	err = YG_EINVAL;
	if (rt == NULL || rt[0] == '\0' || strspn(rt, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
						     strlen(rt))
		goto out;
	if (in->source_ref == NULL || !stix_id_valid(in->source_ref, NULL) ||
	    ref_is_meta(in->source_ref) || in->target_ref == NULL ||
	    !stix_id_valid(in->target_ref, NULL) || ref_is_meta(in->target_ref))
		goto out;
	if (in->start_time && in->stop_time && in->stop_time <= in->start_time)
		goto out;
	if ((err = set_str(o, "relationship_type", rt)) < 0 ||
	    (err = set_str(o, "description", in->description)) < 0 ||
	    (err = set_str(o, "source_ref", in->source_ref)) < 0 ||
	    (err = set_str(o, "target_ref", in->target_ref)) < 0)
		goto out;
	if (in->start_time && (err = set_time(o, "start_time", in->start_time)) < 0)
		goto out;
	if (in->stop_time && (err = set_time(o, "stop_time", in->stop_time)) < 0)
		goto out;
out:
	return finish(o, err, out);
}

int stix_statement_build(const struct stix_common *c, const char *name, const char *statement,
			 json_t **out)
{
	json_t *o = json_object();
	int64_t created;
	int err;

	if (o == NULL)
		return YG_ENOMEM;
	if (c->revoked || c->has_confidence || c->modified) {
		err = YG_EINVAL;
		goto out;
	}
	if ((err = common(o, "marking-definition", c, false, &created)) < 0 ||
	    (err = set_str(o, "name", name)) < 0 ||
	    (err = set_str(o, "definition_type", "statement")) < 0)
		goto out;
	if (statement == NULL || statement[0] == '\0') {
		err = YG_EINVAL;
		goto out;
	}
	{
		json_t *s = json_string(statement);

		if (s == NULL) {
			err = YG_EINVAL;
			goto out;
		}
		if (json_object_set_new(o, "definition", json_pack("{s:o}", "statement", s)) < 0)
			err = YG_ENOMEM;
	}
out:
	return finish(o, err, out);
}

int stix_bundle_new(json_t **out)
{
	char id[STIX_ID_MAX];
	json_t *b;
	int err;

	if ((err = stix_id_new("bundle", id)) < 0)
		return err;
	b = json_pack("{s:s, s:s, s:[]}", "type", "bundle", "id", id, "objects");
	if (b == NULL)
		return YG_ENOMEM;
	*out = b;
	return 0;
}

int stix_bundle_add(json_t *bundle, json_t *obj)
{
	json_t *objects = json_object_get(bundle, "objects");

	if (!json_is_array(objects) || !json_is_object(obj) ||
	    !json_is_string(json_object_get(obj, "type"))) {
		json_decref(obj);
		return YG_EINVAL;
	}
	return json_array_append_new(objects, obj) < 0 ? YG_ENOMEM : 0;
}

/* --- sectors --- */

/* STIX 2.1 section 10.13, industry-sector-ov. */
static const char *const sector_vocab[] = {
	"agriculture",	     "aerospace",
	"automotive",	     "chemical",
	"commercial",	     "communications",
	"construction",	     "defense",
	"education",	     "energy",
	"engineering",	     "entertainment",
	"financial-services", "government",
	"emergency-services", "government-local",
	"government-national", "government-public-services",
	"government-regional", "healthcare",
	"hospitality-leisure", "infrastructure",
	"dams",		     "nuclear",
	"water",	     "insurance",
	"manufacturing",     "mining",
	"non-profit",	     "pharmaceuticals",
	"retail",	     "technology",
	"telecommunications", "transportation",
	"utilities",
};

bool stix_sector_valid(const char *s)
{
	if (s == NULL)
		return false;
	for (size_t i = 0; i < sizeof(sector_vocab) / sizeof(sector_vocab[0]); i++)
		if (strcmp(s, sector_vocab[i]) == 0)
			return true;
	return false;
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

/* yagura's sectors (the critical-infrastructure sectors of the law, as
 * src/tower's defaults name them) in the STIX vocabulary. Where STIX has
 * both a kind of industry and a kind of operator, both are given, so that
 * a consumer filtering on either finds the organisation: an electricity
 * company is in "energy" and is a "utilities" operator. docs/stix.md. */
static const struct {
	const char *name;
	const char *const *stix;
} sector_map[] = {
	{"electricity", L("energy", "utilities")},
	{"gas", L("energy", "utilities")},
	{"petroleum", L("energy")},
	{"water", L("water", "utilities")},
	{"railways", L("transportation")},
	{"trucking", L("transportation")},
	{"shipping", L("transportation")},
	{"aviation", L("transportation", "aerospace")},
	{"airports", L("transportation")},
	{"ports", L("transportation")},
	{"telecommunications", L("telecommunications")},
	{"broadcasting", L("communications")},
	{"postal", L("transportation", "government-public-services")},
	{"finance", L("financial-services")},
	{"credit_cards", L("financial-services")},
	{"healthcare", L("healthcare")},
	{"medical", L("healthcare")},
	{"government", L("government")},
	{"local_government", L("government-local")},
	{"chemical", L("chemical")},
	{"petrochemical", L("chemical", "energy")},
	{"nuclear", L("nuclear", "energy")},
	{"semiconductors", L("technology", "manufacturing")},
	{"it", L("technology")},
};

const char *const *stix_sectors_of(const char *yagura_sector)
{
	static const char *const fallback[] = {"infrastructure", NULL};

	if (yagura_sector != NULL)
		for (size_t i = 0; i < sizeof(sector_map) / sizeof(sector_map[0]); i++)
			if (strcmp(yagura_sector, sector_map[i].name) == 0)
				return sector_map[i].stix;
	return fallback;
}
