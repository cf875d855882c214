#include "tower/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/ipaddr.h"

static const char *const stage_names[REPORT_STAGES] = {"prompt", "detailed", "final"};

const char *report_stage_name(enum report_stage s)
{
	return (unsigned)s < REPORT_STAGES ? stage_names[s] : "unknown";
}

int report_stage_parse(const char *s)
{
	for (int i = 0; i < REPORT_STAGES; i++)
		if (strcmp(s, stage_names[i]) == 0)
			return i;
	return -1;
}

void report_policy_default(struct report_policy *p)
{
	p->due_s[REPORT_PROMPT] = 24 * 3600;
	p->due_s[REPORT_DETAILED] = 72 * 3600;
	p->due_s[REPORT_FINAL] = 30 * 24 * 3600;
}

int64_t report_next_due(const struct report_policy *p, int64_t detected_us, int done)
{
	if (done + 1 >= REPORT_STAGES)
		return 0;
	return detected_us + p->due_s[done + 1] * 1000000;
}

static void err_add(struct report_errors *errs, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void err_add(struct report_errors *errs, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (errs->n == REPORT_MAX_ERRORS)
		return;
	snprintf(errs->e[errs->n].field, sizeof(errs->e[0].field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(errs->e[errs->n].reason, sizeof(errs->e[0].reason), fmt, ap);
	va_end(ap);
	errs->n++;
}

static int digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int report_parse_time(const char *s, int64_t *us)
{
	int y, mo, d, h, mi, sec, frac = 0, fdig = 0, oh = 0, om = 0, sign = 0;
	struct tm tm;
	const char *p;

	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return YG_EINVAL;
	p = s + 19;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, fdig++)
			if (fdig < 6)
				frac = frac * 10 + (*p - '0');
		if (fdig == 0)
			return YG_EINVAL;
		for (int i = fdig; i < 6; i++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
			return YG_EINVAL;
		p += 6;
	} else {
		return YG_EINVAL;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    oh > 23 || om > 59)
		return YG_EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	struct tm back;
	gmtime_r(&t, &back);
	if (back.tm_mday != d) /* 31 February and the like */
		return YG_EINVAL;
	*us = ((int64_t)t - sign * (oh * 3600 + om * 60)) * 1000000 + frac;
	return 0;
}

static const char *const categories[] = {"ddos", "ransomware", "malware", "unauthorised_access",
					 "data_breach", "other", NULL};
static const char *const severities[] = {"low", "medium", "high", "critical", NULL};
static const char *const tlps[] = {"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT",
				   "TLP:RED", NULL};

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* A string field: required or not, with length bounds. Returns the value
 * or NULL. */
static const char *want_string(const json_t *o, const char *key, const char *path, int required,
			       size_t max, struct report_errors *errs)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v)) {
		if (required)
			err_add(errs, path, "is required");
		return NULL;
	}
	if (!json_is_string(v)) {
		err_add(errs, path, "must be a string");
		return NULL;
	}
	if (json_string_length(v) == 0 && required) {
		err_add(errs, path, "must not be empty");
		return NULL;
	}
	if (json_string_length(v) > max) {
		err_add(errs, path, "is longer than %zu characters", max);
		return NULL;
	}
	return json_string_value(v);
}

static void want_enum(const json_t *o, const char *key, const char *path, int required,
		      const char *const *list, struct report_errors *errs)
{
	const char *s = want_string(o, key, path, required, 64, errs);

	if (s != NULL && !in_list(s, list)) {
		char allowed[200] = "";
		for (const char *const *l = list; *l; l++) {
			strncat(allowed, *l, sizeof(allowed) - strlen(allowed) - 3);
			if (l[1])
				strncat(allowed, ", ", sizeof(allowed) - strlen(allowed) - 1);
		}
		err_add(errs, path, "must be one of %s", allowed);
	}
}

static void want_count(const json_t *o, const char *key, const char *path, int required,
		       struct report_errors *errs)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v)) {
		if (required)
			err_add(errs, path, "is required");
		return;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		err_add(errs, path, "must be a whole number of at least 0");
}

/* An array of strings each accepted by check (NULL: any non-empty). */
static void want_string_array(const json_t *o, const char *key, const char *path,
			      int (*check)(const char *), const char *what,
			      struct report_errors *errs)
{
	const json_t *v = json_object_get(o, key), *x;
	size_t i;
	char p[64];

	if (v == NULL)
		return;
	if (!json_is_array(v) || json_array_size(v) > 10000) {
		err_add(errs, path, "must be an array of at most 10000 strings");
		return;
	}
	json_array_foreach(v, i, x) {
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (!json_is_string(x) || json_string_length(x) == 0 || json_string_length(x) > 2048)
			err_add(errs, p, "must be a non-empty string");
		else if (check != NULL && !check(json_string_value(x)))
			err_add(errs, p, "is not %s", what);
	}
}

static int is_addr(const char *s)
{
	struct ip_addr ip;
	char buf[64];
	const char *slash = strchr(s, '/');

	if (slash == NULL)
		return ipaddr_parse(s, &ip) == 0;
	if ((size_t)(slash - s) >= sizeof(buf))
		return 0;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	return ipaddr_parse(buf, &ip) == 0 && slash[1] >= '0' && slash[1] <= '9';
}

static int is_domain(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return strchr(s, '.') != NULL;
}

static int is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0 ||
	       strncmp(s, "ftp://", 6) == 0;
}

static int is_hash(const char *s)
{
	size_t n = strlen(s);

	if (n != 32 && n != 40 && n != 64 && n != 128)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

static const json_t *want_object(const json_t *o, const char *key, const char *path, int required,
				 struct report_errors *errs)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v)) {
		if (required)
			err_add(errs, path, "is required");
		return NULL;
	}
	if (!json_is_object(v)) {
		err_add(errs, path, "must be an object");
		return NULL;
	}
	return v;
}

static void check_category_details(const json_t *body, const char *cat, struct report_errors *errs)
{
	const json_t *d = want_object(body, "category_details", "category_details", 0, errs);

	if (d == NULL || cat == NULL)
		return;
	if (strcmp(cat, "ddos") == 0) {
		want_count(d, "peak_bps", "category_details.peak_bps", 0, errs);
		want_count(d, "peak_pps", "category_details.peak_pps", 0, errs);
		want_count(d, "duration_minutes", "category_details.duration_minutes", 0, errs);
		want_string_array(d, "target_services", "category_details.target_services", NULL, "",
				  errs);
	} else if (strcmp(cat, "ransomware") == 0) {
		want_string(d, "family", "category_details.family", 0, 200, errs);
		want_count(d, "encrypted_systems", "category_details.encrypted_systems", 0, errs);
		const json_t *v = json_object_get(d, "ransom_demanded");
		if (v != NULL && !json_is_boolean(v))
			err_add(errs, "category_details.ransom_demanded", "must be true or false");
	} else if (strcmp(cat, "malware") == 0) {
		want_string(d, "family", "category_details.family", 0, 200, errs);
	} else if (strcmp(cat, "data_breach") == 0) {
		want_count(d, "records", "category_details.records", 0, errs);
		want_string_array(d, "data_types", "category_details.data_types", NULL, "", errs);
	} else if (strcmp(cat, "unauthorised_access") == 0) {
		want_string(d, "vector", "category_details.vector", 0, 500, errs);
		want_count(d, "accounts_compromised", "category_details.accounts_compromised", 0,
			   errs);
	}
}

static const char *const top_fields[] = {
	"category",	 "category_details", "summary",	 "affected_computers", "technical_details",
	"response_taken", "other",	     "detected_at", "severity",	  "impact",
	"tlp",		 NULL};

#define REPORT_EARLIEST_US 946684800000000LL   /* 2000-01-01T00:00:00Z */
#define REPORT_SKEW_US (24LL * 3600 * 1000000) /* a reporter's clock may run ahead */

int report_validate(const json_t *body, enum report_stage stage, struct report_errors *errs)
{
	const char *key, *cat;
	const json_t *v, *td, *imp;
	int64_t t;

	errs->n = 0;
	if (!json_is_object(body)) {
		err_add(errs, "", "the report must be a JSON object");
		return YG_EINVAL;
	}
	json_object_foreach((json_t *)body, key, v) {
		if (!in_list(key, top_fields))
			err_add(errs, key, "is not a report field");
	}
	want_enum(body, "category", "category", 1, categories, errs);
	cat = want_string(body, "category", "category", 0, 64, &(struct report_errors){0});
	check_category_details(body, cat, errs);
	want_string(body, "summary", "summary", 1, 20000, errs);
	const char *det = want_string(body, "detected_at", "detected_at", 1, 64, errs);
	if (det != NULL && report_parse_time(det, &t) < 0)
		err_add(errs, "detected_at", "must be an RFC 3339 timestamp such as 2026-11-22T09:30:00+09:00");
	else if (det != NULL && t < REPORT_EARLIEST_US)
		err_add(errs, "detected_at", "is before 2000: not a plausible time of detection");
	else if (det != NULL && t > (int64_t)time(NULL) * 1000000 + REPORT_SKEW_US)
		/* A future detection would never fall due. */
		err_add(errs, "detected_at", "is in the future (more than a day ahead)");
	want_enum(body, "severity", "severity", 1, severities, errs);
	want_enum(body, "tlp", "tlp", 0, tlps, errs);
	want_string(body, "response_taken", "response_taken", stage >= REPORT_FINAL, 20000, errs);
	want_string(body, "other", "other", 0, 20000, errs);

	v = json_object_get(body, "affected_computers");
	if (v == NULL && stage >= REPORT_DETAILED) {
		err_add(errs, "affected_computers", "is required from the detailed report on");
	} else if (v != NULL) {
		size_t i;
		const json_t *c;
		char p[64];
		if (!json_is_array(v)) {
			err_add(errs, "affected_computers", "must be an array");
		} else {
			json_array_foreach(v, i, c) {
				snprintf(p, sizeof(p), "affected_computers[%zu]", i);
				if (!json_is_object(c)) {
					err_add(errs, p, "must be an object");
					continue;
				}
				const json_t *aid = json_object_get(c, "asset_id");
				char q[96];
				snprintf(q, sizeof(q), "%s.asset_id", p);
				if (aid != NULL && (!json_is_integer(aid) || json_integer_value(aid) <= 0))
					err_add(errs, q, "must be the id of a registered asset");
				snprintf(q, sizeof(q), "%s.description", p);
				if (aid == NULL)
					want_string(c, "description", q, 1, 2000, errs);
			}
		}
	}

	td = want_object(body, "technical_details", "technical_details", stage >= REPORT_DETAILED,
			 errs);
	if (td != NULL) {
		const json_t *ind = want_object(td, "indicators", "technical_details.indicators", 0,
						errs);
		want_string(td, "attack_vector", "technical_details.attack_vector", 0, 2000, errs);
		if (ind != NULL) {
			want_string_array(ind, "addresses", "technical_details.indicators.addresses",
					  is_addr, "an IP address or CIDR", errs);
			want_string_array(ind, "domains", "technical_details.indicators.domains",
					  is_domain, "a domain name", errs);
			want_string_array(ind, "urls", "technical_details.indicators.urls", is_url,
					  "an http, https or ftp URL", errs);
			want_string_array(ind, "file_hashes",
					  "technical_details.indicators.file_hashes", is_hash,
					  "an MD5, SHA-1, SHA-256 or SHA-512 hex digest", errs);
		}
	}

	imp = want_object(body, "impact", "impact", stage >= REPORT_FINAL, errs);
	if (imp != NULL) {
		want_string_array(imp, "services_affected", "impact.services_affected", NULL, "",
				  errs);
		want_count(imp, "users_affected", "impact.users_affected", 0, errs);
		want_count(imp, "outage_minutes", "impact.outage_minutes", 0, errs);
	}
	return errs->n ? YG_EINVAL : 0;
}
