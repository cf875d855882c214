/* tlp.c - TLP 2.0 marking definitions (the OASIS extension in
 * cti-stix-common-objects, extension-definition--60a3c5c5-...), and the
 * TLP 1.0 ones STIX 2.1 predefines, read as their TLP 2.0 equivalents.
 *
 * The ids and the created time below are the OASIS objects' own: a
 * marking definition is compared by id, so an id of our own would be a
 * different marking to every other tool. */
#include <string.h>
#include <strings.h>

#include "stix/stix_int.h"

#define TLP2_CREATED "2022-10-01T00:00:00.000Z"

static const struct {
	const char *name;  /* TLP 2.0 name */
	const char *value; /* the tlp_2_0 property */
	const char *id;
} tlp2[] = {
	[STIX_TLP_NONE] = {"none", NULL, NULL},
	[STIX_TLP_CLEAR] = {"TLP:CLEAR", "clear",
			    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"},
	[STIX_TLP_GREEN] = {"TLP:GREEN", "green",
			    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"},
	[STIX_TLP_AMBER] = {"TLP:AMBER", "amber",
			    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"},
	[STIX_TLP_AMBER_STRICT] = {"TLP:AMBER+STRICT", "amber+strict",
				   "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"},
	[STIX_TLP_RED] = {"TLP:RED", "red", "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"},
};

/* STIX 2.1 section 7.2.1.4: the four TLP 1.0 definitions. */
static const struct {
	const char *id;
	enum stix_tlp tlp;
} tlp1[] = {
	{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", STIX_TLP_CLEAR}, /* white */
	{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", STIX_TLP_GREEN},
	{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", STIX_TLP_AMBER},
	{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", STIX_TLP_RED},
};

#define NTLP ((int)(sizeof(tlp2) / sizeof(tlp2[0])))

const char *stix_tlp_name(enum stix_tlp tlp)
{
	return (int)tlp >= 0 && (int)tlp < NTLP ? tlp2[tlp].name : "none";
}

const char *stix_tlp_id(enum stix_tlp tlp)
{
	return (int)tlp > 0 && (int)tlp < NTLP ? tlp2[tlp].id : NULL;
}

int stix_tlp_from_name(const char *s, enum stix_tlp *tlp)
{
	if (s == NULL)
		return YG_EINVAL;
	if (strncasecmp(s, "tlp:", 4) == 0)
		s += 4;
	if (strcasecmp(s, "white") == 0) {
		*tlp = STIX_TLP_CLEAR;
		return 0;
	}
	for (int i = 1; i < NTLP; i++) {
		if (strcasecmp(s, tlp2[i].value) == 0) {
			*tlp = (enum stix_tlp)i;
			return 0;
		}
	}
	return YG_EINVAL;
}

enum stix_tlp stix_tlp_from_id(const char *id)
{
	if (id == NULL)
		return STIX_TLP_NONE;
	for (int i = 1; i < NTLP; i++)
		if (strcmp(id, tlp2[i].id) == 0)
			return (enum stix_tlp)i;
	for (size_t i = 0; i < sizeof(tlp1) / sizeof(tlp1[0]); i++)
		if (strcmp(id, tlp1[i].id) == 0)
			return tlp1[i].tlp;
	return STIX_TLP_NONE;
}

static enum stix_tlp tlp_of_string(const json_t *v)
{
	enum stix_tlp t;

	return json_is_string(v) && stix_tlp_from_name(json_string_value(v), &t) == 0 ? t
										       : STIX_TLP_NONE;
}

enum stix_tlp stix_tlp_of_definition(const json_t *md)
{
	json_t *ext, *val;
	const char *key, *name;
	enum stix_tlp t;

	if (!json_is_object(md))
		return STIX_TLP_NONE;
	t = stix_tlp_from_id(json_string_value(json_object_get(md, "id")));
	if (t != STIX_TLP_NONE)
		return t;
	ext = json_object_get(md, "extensions");
	if (json_is_object(ext)) {
		/* json_object_foreach wants a non-const object; it only reads */
		json_object_foreach((json_t *)ext, key, val)
		{
			if ((t = tlp_of_string(json_object_get(val, "tlp_2_0"))) != STIX_TLP_NONE)
				return t;
		}
	}
	if (json_is_string(json_object_get(md, "definition_type")) &&
	    strcmp(json_string_value(json_object_get(md, "definition_type")), "tlp") == 0 &&
	    (t = tlp_of_string(json_object_get(json_object_get(md, "definition"), "tlp"))) !=
		    STIX_TLP_NONE)
		return t;
	name = json_string_value(json_object_get(md, "name"));
	if (name != NULL && strncasecmp(name, "tlp:", 4) == 0)
		return tlp_of_string(json_object_get(md, "name"));
	return STIX_TLP_NONE;
}

enum stix_tlp stix_tlp_of_refs(const json_t *refs, const json_t *definitions)
{
	enum stix_tlp worst = STIX_TLP_NONE, t;
	size_t i;
	json_t *ref;

	if (refs == NULL)
		return STIX_TLP_NONE;
	if (!json_is_array(refs))
		return STIX_TLP_RED;
	json_array_foreach((json_t *)refs, i, ref)
	{
		const char *id = json_string_value(ref);
		const json_t *md;

		if (id == NULL || !stix_id_valid(id, "marking-definition"))
			return STIX_TLP_RED;
		t = stix_tlp_from_id(id);
		if (t == STIX_TLP_NONE) {
			/* Not one of ours: only its definition can say what it is. */
			md = json_is_object(definitions) ? json_object_get(definitions, id) : NULL;
			if (!json_is_object(md))
				return STIX_TLP_RED;
			t = stix_tlp_of_definition(md);
		}
		if (t > worst)
			worst = t;
	}
	return worst;
}

int stix_tlp_build(enum stix_tlp tlp, json_t **out)
{
	json_t *o;

	if ((int)tlp <= 0 || (int)tlp >= NTLP)
		return YG_EINVAL;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s, s:s}}}", "type", "marking-definition",
		      "spec_version", "2.1", "id", tlp2[tlp].id, "created", TLP2_CREATED, "name",
		      tlp2[tlp].name, "extensions", STIX_TLP2_EXTENSION, "extension_type",
		      "property-extension", "tlp_2_0", tlp2[tlp].value);
	if (o == NULL)
		return YG_ENOMEM;
	*out = o;
	return 0;
}
