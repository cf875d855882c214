/* fuzz_report.c - incident report validation (src/tower/report.c): any body,
 * read as the tower reads it (jansson, duplicate keys refused), checked at
 * every stage. What it checks beyond not crashing:
 *
 * - an answer is 0 with no errors or YG_EINVAL with 1..REPORT_MAX_ERRORS;
 *   each error's field is valid UTF-8 without control characters (the 422
 *   body carries it and `yagura report` prints it) and its reason is set;
 * - a report valid at a stage is valid at the earlier ones;
 * - a report accepted holds only the fields docs/tower.md documents, where
 *   it documents them, no string over 20,000 characters, no array over
 *   10,000 items, no nesting deeper than the schema's, and a detected_at
 *   the deadline clock can use. This model of the schema is written here
 *   apart from report.c's tables, so that a field added there and not
 *   here is found.
 *
 * The input is also read as a timestamp by report_parse_time(). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tower/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const top[] = {
	"category", "category_details", "summary", "detected_at", "severity", "tlp",
	"response_taken", "other", "affected_computers", "technical_details", "impact", NULL};
static const char *const details[] = {
	"peak_bps", "peak_pps", "duration_minutes", "target_services", "family",
	"encrypted_systems", "ransom_demanded", "records", "data_types", "vector",
	"accounts_compromised", NULL};
static const char *const technical[] = {"attack_vector", "indicators", NULL};
static const char *const indicators[] = {"addresses", "domains", "urls", "file_hashes", NULL};
static const char *const impact[] = {"services_affected", "users_affected", "outage_minutes",
				     NULL};
static const char *const computer[] = {"asset_id", "description", NULL};

static int in(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* Every key of o is in list, when o is an object. */
static void keys_in(const json_t *o, const char *const *list)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) {
		if (!in(key, list))
			abort();
	}
}

/* No string over 20,000 characters, no array over 10,000 items, no
 * container nested more than depth levels further. */
static void bounded(const json_t *v, int depth)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_string(v)) {
		const unsigned char *s = (const unsigned char *)json_string_value(v);
		size_t c = 0;

		for (i = 0; i < json_string_length(v); i++)
			c += (s[i] & 0xc0) != 0x80;
		if (c > 20000)
			abort();
		return;
	}
	if (!json_is_object(v) && !json_is_array(v))
		return;
	if (depth == 0 || (json_is_array(v) && json_array_size(v) > 10000))
		abort();
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			bounded(x, depth - 1);
		}
	} else {
		json_object_foreach((json_t *)v, key, x) {
			bounded(x, depth - 1);
		}
	}
}

/* What an accepted report must look like, whatever its stage. */
static void accepted(const json_t *j)
{
	const json_t *td = json_object_get(j, "technical_details");
	const json_t *ac = json_object_get(j, "affected_computers"), *c;
	int64_t us;
	size_t i;

	keys_in(j, top);
	keys_in(json_object_get(j, "category_details"), details);
	keys_in(td, technical);
	keys_in(json_object_get(td, "indicators"), indicators);
	keys_in(json_object_get(j, "impact"), impact);
	json_array_foreach(ac, i, c) {
		keys_in(c, computer);
	}
	/* report → technical_details → indicators → addresses → a string */
	bounded(j, 4);
	/* The tower reads these without checking again. */
	if (!json_is_string(json_object_get(j, "category")) ||
	    !json_is_string(json_object_get(j, "severity")) ||
	    report_parse_time(json_string_value(json_object_get(j, "detected_at")), &us) < 0 ||
	    us < 946684800000000LL || us > ((int64_t)time(NULL) + 2 * 86400) * 1000000)
		abort();
}

static void errors_sane(const struct report_errors *e, int rc)
{
	if (e->n > REPORT_MAX_ERRORS || (rc == 0) != (e->n == 0) || (rc != 0 && rc != YG_EINVAL))
		abort();
	for (unsigned i = 0; i < e->n; i++) {
		const char *f = e->e[i].field;
		json_t *s;

		if (memchr(f, '\0', sizeof(e->e[i].field)) == NULL ||
		    memchr(e->e[i].reason, '\0', sizeof(e->e[i].reason)) == NULL ||
		    e->e[i].reason[0] == '\0')
			abort();
		for (const unsigned char *p = (const unsigned char *)f; *p; p++)
			if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0))
				abort();
		if ((s = json_string(f)) == NULL) /* not UTF-8 */
			abort();
		json_decref(s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_errors errs;
	char ts[80];
	int64_t us;
	int valid[REPORT_STAGES];
	json_t *j;

	/* Any text as a time: no year outside 0000-9999 comes back. */
	if (size < sizeof(ts)) {
		memcpy(ts, data, size);
		ts[size] = '\0';
		if (report_parse_time(ts, &us) == 0 &&
		    (us < -62167219200LL * 1000000 - 86400000000LL ||
		     us > 253402300800LL * 1000000 + 86400000000LL))
			abort();
	}
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL)
		return 0;
	for (int s = 0; s < REPORT_STAGES; s++) {
		memset(&errs, 0xa5, sizeof(errs));
		int rc = report_validate(j, (enum report_stage)s, &errs);
		errors_sane(&errs, rc);
		valid[s] = rc == 0;
		if (valid[s])
			accepted(j);
	}
	for (int s = 1; s < REPORT_STAGES; s++)
		if (valid[s] && !valid[s - 1])
			abort();
	json_decref(j);
	return 0;
}
