/* stix_emit.c - a test helper for tests/integration/test_stix.py, not a
 * test by itself.
 *
 *   stix_emit bundle          prints a bundle holding one object of every
 *                             kind src/stix builds, with TLP markings, for
 *                             validation against the OASIS schemas
 *   stix_emit read FILE...    reads STIX JSON files (a bundle or one
 *                             object) and prints a JSON line per object:
 *                             what src/stix makes of its id, times,
 *                             markings and, for an indicator, its pattern
 *
 * Exits 0, or 1 on a usage, build or read error (a message on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

#define T0 1796569200000000LL /* 2026-12-06T15:00:00Z */
#define DAY 86400000000LL

static json_t *bundle;

static void add(int err, json_t *o, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "stix_emit: %s: %s\n", what, yg_strerror(err));
		exit(1);
	}
	if (stix_bundle_add(bundle, o) < 0) {
		fprintf(stderr, "stix_emit: %s: cannot add\n", what);
		exit(1);
	}
}

static int emit_bundle(void)
{
	static const struct {
		enum stix_kind kind;
		const char *value;
		enum stix_tlp tlp;
	} values[] = {
		{STIX_KIND_IPV4, "198.51.100.7", STIX_TLP_CLEAR},
		{STIX_KIND_IPV4, "198.51.100.0/24", STIX_TLP_GREEN},
		{STIX_KIND_IPV6, "2001:db8::7", STIX_TLP_AMBER},
		{STIX_KIND_DOMAIN, "c2.example", STIX_TLP_AMBER_STRICT},
		{STIX_KIND_URL, "http://c2.example/it's\\here", STIX_TLP_RED},
		{STIX_KIND_MD5, "d41d8cd98f00b204e9800998ecf8427e", STIX_TLP_GREEN},
		{STIX_KIND_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", STIX_TLP_GREEN},
		{STIX_KIND_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		 STIX_TLP_GREEN},
	};
	char office[STIX_ID_MAX], org[STIX_ID_MAX], sensor[STIX_ID_MAX];
	char ind[sizeof(values) / sizeof(values[0])][STIX_ID_MAX];
	char pattern[512], name[64];
	const char *green[1] = {stix_tlp_id(STIX_TLP_GREEN)};
	const char *refs[3];
	json_t *o;
	int err;

	if (stix_bundle_new(&bundle) < 0)
		return 1;
	for (int t = STIX_TLP_CLEAR; t <= STIX_TLP_RED; t++) {
		err = stix_tlp_build((enum stix_tlp)t, &o);
		add(err, o, "tlp");
	}
	if (stix_id_v5("identity", "yagura.example/office", office) < 0 ||
	    stix_id_v5("identity", "yagura.example/org/1", org) < 0 ||
	    stix_id_v5("identity", "yagura.example/sensor/1", sensor) < 0)
		return 1;
	{
		const char *const *sec = stix_sectors_of("electricity");
		size_t n = 0;
		struct stix_identity id = {.c = {.id = office, .created = T0},
					   .name = "National cyber office",
					   .identity_class = "organization",
					   .sectors = (const char *const[]){"government-national"},
					   .n_sectors = 1};

		err = stix_identity_build(&id, &o);
		add(err, o, "identity office");
		while (sec[n] != NULL)
			n++;
		id.c.id = org;
		id.c.created_by_ref = office;
		id.c.marking_refs = green;
		id.c.n_marking_refs = 1;
		id.name = "Example Power Co.";
		id.sectors = sec;
		id.n_sectors = n;
		id.contact_information = "csirt@power.example";
		err = stix_identity_build(&id, &o);
		add(err, o, "identity org");
		id.c.id = sensor;
		id.name = "sensor-1";
		id.identity_class = "system";
		id.sectors = NULL;
		id.n_sectors = 0;
		id.contact_information = NULL;
		err = stix_identity_build(&id, &o);
		add(err, o, "identity sensor");
	}
	{
		struct stix_common c = {.created = T0, .created_by_ref = office};

		err = stix_statement_build(&c, "Terms", "Shared under the 2025 cyber defense act.",
					   &o);
		add(err, o, "statement");
	}
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		const char *marks[1] = {stix_tlp_id(values[i].tlp)};
		struct stix_extref xr = {.source_name = "yagura", .external_id = "report-42",
					 .url = "https://tower.example/api/v1/reports/42"};
		struct stix_indicator in = {
			.c = {.created = T0, .created_by_ref = office, .marking_refs = marks,
			      .n_marking_refs = 1, .has_confidence = true, .confidence = 75,
			      .extrefs = &xr, .n_extrefs = 1},
			.name = name,
			.description = "From an operator's incident report",
			.pattern = pattern,
			.valid_until = T0 + 90 * DAY,
		};

		if (stix_pattern_for(values[i].kind, values[i].value, pattern, sizeof(pattern)) < 0)
			return 1;
		snprintf(name, sizeof(name), "%s indicator", stix_kind_name(values[i].kind));
		err = stix_indicator_build(&in, &o);
		snprintf(ind[i], sizeof(ind[i]), "%s", json_string_value(json_object_get(o, "id")));
		add(err, o, "indicator");
	}
	{
		/* an expired indicator, revoked: a new version of the first */
		const char *marks[1] = {stix_tlp_id(STIX_TLP_CLEAR)};
		struct stix_indicator in = {
			.c = {.id = ind[0], .created = T0, .modified = T0 + DAY,
			      .created_by_ref = office, .marking_refs = marks, .n_marking_refs = 1,
			      .revoked = true},
			.pattern = "[ipv4-addr:value = '198.51.100.7']",
			.indicator_types = (const char *const[]){"malicious-activity", "compromised"},
			.n_indicator_types = 2,
		};

		err = stix_indicator_build(&in, &o);
		add(err, o, "revoked indicator");
	}
	{
		const char *where[1] = {sensor};
		struct stix_sighting s = {
			.c = {.created = T0 + 3600000000LL, .created_by_ref = office,
			      .marking_refs = green, .n_marking_refs = 1},
			.sighting_of_ref = ind[1],
			.first_seen = T0 + 1000000,
			.last_seen = T0 + 3000000000LL,
			.count = 12,
			.where_sighted_refs = where,
			.n_where_sighted_refs = 1,
		};

		err = stix_sighting_build(&s, &o);
		add(err, o, "sighting");
	}
	refs[0] = ind[1];
	refs[1] = ind[3];
	refs[2] = org;
	{
		struct stix_report r = {.c = {.created = T0, .created_by_ref = office,
					      .marking_refs = green, .n_marking_refs = 1},
					.name = "Warning: C2 servers seen at electricity operators",
					.description = "Block the addresses below.",
					.published = T0 + 60000000,
					.object_refs = refs,
					.n_object_refs = 3};

		err = stix_report_build(&r, &o);
		add(err, o, "report");
	}
	{
		struct stix_note n = {.c = {.created = T0, .created_by_ref = office,
					    .marking_refs = green, .n_marking_refs = 1},
				      .abstract = "Second operator",
				      .content = "Also seen by a gas operator since 14:00 JST.",
				      .authors = (const char *const[]){"Office analyst"},
				      .n_authors = 1,
				      .object_refs = refs,
				      .n_object_refs = 1};

		err = stix_note_build(&n, &o);
		add(err, o, "note");
	}
	{
		struct stix_relationship r = {
			.c = {.created = T0, .created_by_ref = office, .marking_refs = green,
			      .n_marking_refs = 1},
			.relationship_type = "related-to",
			.source_ref = ind[1],
			.target_ref = ind[3],
			.start_time = T0,
			.stop_time = T0 + DAY,
		};

		err = stix_relationship_build(&r, &o);
		add(err, o, "relationship");
	}
	{
		struct stix_infrastructure inf = {
			.c = {.created = T0, .created_by_ref = office, .marking_refs = green,
			      .n_marking_refs = 1},
			.name = "Attack infrastructure of an incident (ddos)",
			.description = "Servers an operator reported as the source of an attack",
			.infrastructure_types = (const char *const[]){"botnet"},
			.n_infrastructure_types = 1,
			.first_seen = T0,
			.last_seen = T0 + DAY};

		err = stix_infrastructure_build(&inf, &o);
		add(err, o, "infrastructure");
	}
	json_dumpf(bundle, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
	putchar('\n');
	json_decref(bundle);
	return 0;
}

/* --- read --- */

static const char *why_name(enum stix_pattern_why w)
{
	switch (w) {
	case STIX_PATTERN_OK:
		return "ok";
	case STIX_PATTERN_SYNTAX:
		return "syntax";
	case STIX_PATTERN_OPERATOR:
		return "operator";
	case STIX_PATTERN_OBJECT:
		return "object";
	case STIX_PATTERN_TOO_LONG:
		return "too_long";
	case STIX_PATTERN_CALLBACK:
		return "callback";
	}
	return "?";
}

static int cmp_collect(void *ctx, const struct stix_cmp *cmp)
{
	json_t *list = ctx;
	json_t *c = json_pack("{s:s, s:s%, s:s%, s:b}", "kind", stix_kind_name(cmp->kind), "path",
			      cmp->path, cmp->path_len, "value", cmp->value, cmp->value_len,
			      "value_ok", stix_value_check(cmp->kind, cmp->value, cmp->value_len) == 0);

	return c != NULL && json_array_append_new(list, c) == 0 ? 0 : YG_ENOMEM;
}

static int time_ok(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	int64_t us;

	if (v == NULL)
		return -1; /* absent */
	return json_is_string(v) && stix_time_parse(json_string_value(v), &us) == 0;
}

static void read_object(const char *file, json_t *o, json_t *defs)
{
	json_t *line, *times;
	const char *type = json_string_value(json_object_get(o, "type"));
	static const char *const tkeys[] = {"created", "modified", "valid_from", "valid_until",
					    "first_seen", "last_seen", "published"};

	line = json_pack("{s:s, s:s?, s:s?, s:b, s:s}", "file", file, "type", type, "id",
			 json_string_value(json_object_get(o, "id")), "id_ok",
			 stix_id_valid(json_string_value(json_object_get(o, "id")), type), "tlp",
			 stix_tlp_name(stix_tlp_of_refs(json_object_get(o, "object_marking_refs"),
							defs)));
	if (line == NULL)
		exit(1);
	times = json_object();
	for (size_t i = 0; i < sizeof(tkeys) / sizeof(tkeys[0]); i++) {
		int ok = time_ok(o, tkeys[i]);

		if (ok >= 0)
			json_object_set_new(times, tkeys[i], json_boolean(ok));
	}
	json_object_set_new(line, "times_ok", times);
	if (type != NULL && strcmp(type, "indicator") == 0) {
		json_t *p = json_object_get(o, "pattern");
		json_t *cmps = json_array();
		struct stix_pattern_error e;
		int rc;

		json_object_set(line, "pattern", p ? p : json_null());
		if (json_is_string(p)) {
			rc = stix_pattern_parse(json_string_value(p), json_string_length(p),
						STIX_KINDS_ALL, cmp_collect, cmps, &e);
			json_object_set_new(line, "pattern_rc", json_integer(rc));
			json_object_set_new(line, "why", json_string(why_name(e.why)));
			json_object_set_new(line, "msg", json_string(e.msg));
		}
		json_object_set_new(line, "cmps", cmps);
	}
	if (type != NULL && strcmp(type, "marking-definition") == 0)
		json_object_set_new(line, "states",
				    json_string(stix_tlp_name(stix_tlp_of_definition(o))));
	json_dumpf(line, stdout, JSON_COMPACT | JSON_SORT_KEYS);
	putchar('\n');
	json_decref(line);
}

static int read_file(const char *file)
{
	json_error_t jerr;
	json_t *root = json_load_file(file, 0, &jerr), *objects, *o, *defs;
	size_t i;

	if (root == NULL) {
		fprintf(stderr, "stix_emit: %s:%d: %s\n", file, jerr.line, jerr.text);
		return 1;
	}
	objects = json_object_get(root, "objects");
	if (!json_is_array(objects)) {
		objects = json_pack("[O]", root);
	} else {
		json_incref(objects);
	}
	/* The bundle's own marking definitions resolve its references. */
	defs = json_object();
	json_array_foreach(objects, i, o)
	{
		const char *type = json_string_value(json_object_get(o, "type"));
		const char *id = json_string_value(json_object_get(o, "id"));

		if (type && id && strcmp(type, "marking-definition") == 0)
			json_object_set(defs, id, o);
	}
	json_array_foreach(objects, i, o) read_object(file, o, defs);
	json_decref(defs);
	json_decref(objects);
	json_decref(root);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc == 2 && strcmp(argv[1], "bundle") == 0)
		return emit_bundle();
	if (argc >= 3 && strcmp(argv[1], "read") == 0) {
		for (int i = 2; i < argc; i++)
			rc |= read_file(argv[i]);
		return rc;
	}
	fprintf(stderr, "usage: stix_emit bundle | stix_emit read FILE...\n");
	return 1;
}
