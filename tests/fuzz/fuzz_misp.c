/* fuzz_misp.c - libFuzzer target for src/stix/misp.c: any JSON document
 * as a MISP event or REST answer. Every object made must have a valid id
 * of its own type and be counted; every report must name only objects
 * made; messages must be bounded and free of control characters; the
 * same document again must make nothing new. Input with a NUL also goes
 * to stix_misp_parts as "type\0value", whose parts must lie in the value. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stix/stix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_parts(const uint8_t *data, size_t size)
{
	struct stix_misp_part p[STIX_MISP_PARTS];
	const uint8_t *nul = memchr(data, '\0', size);
	const char *v;
	size_t vn;
	int np;

	if (nul == NULL)
		return;
	v = (const char *)nul + 1;
	vn = size - (size_t)(nul - data) - 1;
	np = stix_misp_parts((const char *)data, v, vn, p);
	if (np < 0 || np > STIX_MISP_PARTS)
		__builtin_trap();
	for (int i = 0; i < np; i++)
		if (p[i].value < v || p[i].len > vn || p[i].value + p[i].len > v + vn ||
		    (unsigned)p[i].kind >= STIX_KIND_OTHER)
			__builtin_trap();
}

static void check_objects(const struct stix_misp *m)
{
	const struct stix_misp_stats *st = &m->stats;
	json_t *o, *ref;
	size_t i, k;

	if (json_array_size(m->objects) != st->indicators + st->reports + st->identities ||
	    st->n_messages > STIX_MISP_MESSAGES || st->n_types > STIX_MISP_TYPES)
		__builtin_trap();
	json_array_foreach(m->objects, i, o)
	{
		const char *type = json_string_value(json_object_get(o, "type"));
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *pattern = json_string_value(json_object_get(o, "pattern"));

		if (type == NULL || !stix_id_valid(id, type))
			__builtin_trap();
		if (strcmp(type, "indicator") == 0 &&
		    (pattern == NULL ||
		     stix_pattern_parse(pattern, strlen(pattern), STIX_KINDS_KNOWN, NULL, NULL,
					NULL) < 0))
			__builtin_trap();
		json_array_foreach(json_object_get(o, "object_refs"), k, ref)
		{
			if (json_object_get(m->seen, json_string_value(ref)) == NULL)
				__builtin_trap();
		}
	}
	for (i = 0; i < st->n_messages; i++) {
		size_t n = strnlen(st->messages[i], STIX_MISP_MESSAGE_MAX);

		if (n == STIX_MISP_MESSAGE_MAX)
			__builtin_trap();
		for (k = 0; k < n; k++)
			if ((unsigned char)st->messages[i][k] < 0x20)
				__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A small cap, so that a large input stays a fast one. */
	struct stix_misp_opts o = {.tlp = STIX_TLP_GREEN, .now = 1796601600000000LL,
				   .max_indicators = 64};
	struct stix_misp m;
	json_t *root;
	size_t made;
	int rc;

	check_parts(data, size);
	root = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
	if (root == NULL)
		return 0;
	if (stix_misp_init(&m, &o) != 0) {
		json_decref(root);
		return 0;
	}
	rc = stix_misp_add(&m, "fuzz.json", root);
	if (rc != 0 && rc != YG_EFORMAT)
		__builtin_trap();
	check_objects(&m);
	made = json_array_size(m.objects);
	rc = stix_misp_add(&m, "fuzz.json", root);
	if ((rc != 0 && rc != YG_EFORMAT) || json_array_size(m.objects) != made)
		__builtin_trap();
	check_objects(&m);
	stix_misp_fini(&m);
	json_decref(root);
	return 0;
}
