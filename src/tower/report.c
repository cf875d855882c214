#include "tower/report_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* The length of the UTF-8 character at s, or 0 when s does not start one
 * (a stray continuation byte, an overlong form, a surrogate, past
 * U+10FFFF). */
static size_t utf8_char(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* Whether the character of n bytes at s is a C0 or C1 control or DEL:
 * what a terminal may take as the start of an escape sequence. */
static int is_control(const unsigned char *s, size_t n)
{
	return (n == 1 && (s[0] < 0x20 || s[0] == 0x7f)) || (n == 2 && s[0] == 0xc2 && s[1] < 0xa0);
}

/* Copies src into dst[cap] as an error's field name. The name can hold a
 * client's key, which the 422 body carries and `yagura report` prints to a
 * terminal: controls and bytes that are not UTF-8 become '?', and a name
 * too long is cut at a character boundary and ends in "...", never inside
 * a character (jansson would refuse to put the broken string in the
 * answer, and the field would go missing from it). */
static void field_copy(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, room = strlen(src) < cap ? cap - 1 : cap - 4, n;

	while (*s != '\0') {
		n = utf8_char(s);
		if (n == 0 || is_control(s, n)) {
			if (o + 1 > room)
				break;
			dst[o++] = '?';
			s += n == 0 ? 1 : n;
			continue;
		}
		if (o + n > room)
			break;
		memcpy(dst + o, s, n);
		o += n;
		s += n;
	}
	if (*s != '\0') {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

static void err_add(struct report_errors *errs, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void err_add(struct report_errors *errs, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (errs->n == REPORT_MAX_ERRORS)
		return;
	field_copy(errs->e[errs->n].field, sizeof(errs->e[0].field), field);
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

/* ---- validation ----
 *
 * A body is walked against the tables of report_fields.c (report_int.h). */

/* Paths are built here before err_add() cuts them to the field's size. */
#define PATH_LEN 256

static int list_index(const char *s, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return i;
	return -1;
}

/* Characters (code points) of a jansson string, which is valid UTF-8. */
static size_t chars(const json_t *v)
{
	const unsigned char *s = (const unsigned char *)json_string_value(v);
	size_t n = json_string_length(v), c = 0;

	for (size_t i = 0; i < n; i++)
		c += (s[i] & 0xc0) != 0x80;
	return c;
}

static int has_control(const json_t *v)
{
	const unsigned char *s = (const unsigned char *)json_string_value(v);
	size_t len = json_string_length(v), n;

	for (size_t i = 0; i < len; i += n) {
		n = utf8_char(s + i);
		if (n == 0 || is_control(s + i, n))
			return 1;
	}
	return 0;
}

#define REPORT_EARLIEST_US 946684800000000LL   /* 2000-01-01T00:00:00Z */
#define REPORT_SKEW_US (24LL * 3600 * 1000000) /* a reporter's clock may run ahead */

struct walk {
	enum report_stage stage;
	int cat; /* the report's category, an index of report_categories[]; -1: none valid */
	struct report_errors *errs;
};

static int walk_full(const struct walk *w)
{
	return w->errs->n == REPORT_MAX_ERRORS;
}

/* Whether f belongs in its object given the report's category: a field of
 * category_details describes some categories only; with no valid category
 * (already an error) any of them is taken. */
static int for_category(const struct walk *w, const struct field *f)
{
	return f->cats == 0 || w->cat < 0 || (f->cats & (1u << w->cat));
}

/* Whether o has key with a value other than null (taken as absent). */
static int present(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return v != NULL && !json_is_null(v);
}

/* Appends s to the path dst[PATH_LEN] of length *n, as much as fits. */
static void path_add(char *dst, size_t *n, const char *s)
{
	size_t k = strnlen(s, PATH_LEN - 1 - *n);

	memcpy(dst + *n, s, k);
	*n += k;
	dst[*n] = '\0';
}

/* The paths of a field by key and of an array's item, in dst[PATH_LEN]. A
 * path cut here is cut again by err_add(), at a character, with "...". */
static void path_key(char *dst, const char *base, const char *key)
{
	size_t n = 0;

	path_add(dst, &n, base);
	if (*base != '\0')
		path_add(dst, &n, ".");
	path_add(dst, &n, key);
}

static void path_index(char *dst, const char *base, size_t i)
{
	char idx[24];
	size_t n = 0;

	snprintf(idx, sizeof(idx), "[%zu]", i);
	path_add(dst, &n, base);
	path_add(dst, &n, idx);
}

static void unknown_field(const struct walk *w, const struct shape *sh, const char *path)
{
	char names[128];
	size_t n = 0;

	if (sh->kind == SHAPE_REPORT) {
		err_add(w->errs, path, "is not a report field");
		return;
	}
	names[0] = '\0';
	for (const struct field *f = sh->f; f->name != NULL; f++) {
		int k;

		if (!for_category(w, f))
			continue;
		k = snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "", f->name);
		if (k < 0 || (size_t)k >= sizeof(names) - n)
			break;
		n += (size_t)k;
	}
	if (sh->kind == SHAPE_CATEGORY && w->cat >= 0 && n == 0)
		err_add(w->errs, path, "unknown field: category %s has no details",
			report_categories[w->cat]);
	else if (sh->kind == SHAPE_CATEGORY && w->cat >= 0)
		err_add(w->errs, path, "unknown field: the details of category %s are %s",
			report_categories[w->cat], names);
	else if (sh->kind == SHAPE_CATEGORY)
		err_add(w->errs, path, "unknown field: no category has such a detail");
	else
		err_add(w->errs, path, "unknown field: this object takes %s", names);
}

static void check_object(const struct walk *w, const struct shape *sh, const json_t *o,
			 const char *path);

static void check_enum(const struct walk *w, const struct field *f, const json_t *v,
		       const char *path)
{
	char allowed[160];
	size_t n = 0;

	if (json_is_string(v) && list_index(json_string_value(v), f->list) >= 0)
		return;
	allowed[0] = '\0';
	for (const char *const *l = f->list; *l; l++) {
		int k = snprintf(allowed + n, sizeof(allowed) - n, "%s%s", n ? ", " : "", *l);
		if (k < 0 || (size_t)k >= sizeof(allowed) - n)
			break;
		n += (size_t)k;
	}
	err_add(w->errs, path, "must be one of %s", allowed);
}

static void check_time(const struct walk *w, const json_t *v, const char *path)
{
	int64_t t;

	if (!json_is_string(v) || json_string_length(v) > 64 ||
	    report_parse_time(json_string_value(v), &t) < 0)
		err_add(w->errs, path,
			"must be an RFC 3339 timestamp such as 2026-11-22T09:30:00+09:00");
	else if (t < REPORT_EARLIEST_US)
		err_add(w->errs, path, "is before 2000: not a plausible time of detection");
	else if (t > (int64_t)time(NULL) * 1000000 + REPORT_SKEW_US)
		/* A future detection would never fall due. */
		err_add(w->errs, path, "is in the future (more than a day ahead)");
}

static void check_list(const struct walk *w, const struct field *f, const json_t *v,
		       const char *path)
{
	char p[PATH_LEN];
	const json_t *x;
	size_t i;

	if (!json_is_array(v)) {
		err_add(w->errs, path, "must be an array of strings");
		return;
	}
	if (json_array_size(v) > f->max) {
		err_add(w->errs, path, "has more than %zu items", f->max);
		return;
	}
	json_array_foreach(v, i, x) {
		if (walk_full(w))
			return;
		path_index(p, path, i);
		if (!json_is_string(x) || json_string_length(x) == 0)
			err_add(w->errs, p, "must be a non-empty string");
		else if (chars(x) > f->item)
			err_add(w->errs, p, "is longer than %zu characters", f->item);
		else if ((f->flags & F_LINE) && has_control(x))
			err_add(w->errs, p, "must be one line without control characters");
		else if (f->check != NULL && !f->check(json_string_value(x)))
			err_add(w->errs, p, "is not %s", f->what);
	}
}

/* Checks the value v of field f, at path; required: whether the field is
 * required here (an empty string is then an error too). */
static void check_value(const struct walk *w, const struct field *f, const json_t *v,
			const char *path, int required)
{
	char p[PATH_LEN];
	const json_t *x;
	size_t i;

	switch (f->type) {
	case F_TEXT:
		if (!json_is_string(v))
			err_add(w->errs, path, "must be a string");
		else if (json_string_length(v) == 0 && required)
			err_add(w->errs, path, "must not be empty");
		else if (chars(v) > f->max)
			err_add(w->errs, path, "is longer than %zu characters", f->max);
		else if ((f->flags & F_LINE) && has_control(v))
			err_add(w->errs, path, "must be one line without control characters");
		break;
	case F_ENUM:
		check_enum(w, f, v, path);
		break;
	case F_TIME:
		check_time(w, v, path);
		break;
	case F_COUNT:
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			err_add(w->errs, path, "must be a whole number of at least 0");
		break;
	case F_ID:
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			err_add(w->errs, path, "must be the id of a registered asset");
		break;
	case F_BOOL:
		if (!json_is_boolean(v))
			err_add(w->errs, path, "must be true or false");
		break;
	case F_LIST:
		check_list(w, f, v, path);
		break;
	case F_OBJECT:
		if (!json_is_object(v))
			err_add(w->errs, path, "must be an object");
		else
			check_object(w, f->sub, v, path);
		break;
	case F_OBJECTS:
		if (!json_is_array(v)) {
			err_add(w->errs, path, "must be an array");
			break;
		}
		if (json_array_size(v) > f->max) {
			err_add(w->errs, path, "has more than %zu items", f->max);
			break;
		}
		json_array_foreach(v, i, x) {
			if (walk_full(w))
				break;
			path_index(p, path, i);
			if (!json_is_object(x))
				err_add(w->errs, p, "must be an object");
			else
				check_object(w, f->sub, x, p);
		}
		break;
	}
}

static const char *required_reason(const struct field *f)
{
	switch (f->req - 1) {
	case REPORT_DETAILED:
		return "is required from the detailed report on";
	case REPORT_FINAL:
		return "is required in the final report";
	default:
		return "is required";
	}
}

/* Checks object o, at path, against its shape: first every key it has that
 * the shape does not name, then each field the shape names. null is taken
 * as absent. */
static void check_object(const struct walk *w, const struct shape *sh, const json_t *o,
			 const char *path)
{
	char p[PATH_LEN];
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) {
		const struct field *f = sh->f;

		if (walk_full(w))
			return;
		while (f->name != NULL && strcmp(f->name, key) != 0)
			f++;
		if (f->name == NULL || !for_category(w, f)) {
			path_key(p, path, key);
			unknown_field(w, sh, p);
		}
	}
	for (const struct field *f = sh->f; f->name != NULL && !walk_full(w); f++) {
		int required = f->req && (int)w->stage >= f->req - 1 &&
			       (f->unless == NULL || !present(o, f->unless));

		if (!for_category(w, f))
			continue;
		path_key(p, path, f->name);
		if (present(o, f->name))
			check_value(w, f, json_object_get(o, f->name), p, required);
		else if (required)
			err_add(w->errs, p, "%s", required_reason(f));
	}
}

int report_validate(const json_t *body, enum report_stage stage, struct report_errors *errs)
{
	struct walk w = {.stage = stage, .cat = -1, .errs = errs};
	const json_t *cat;

	errs->n = 0;
	if (!json_is_object(body)) {
		err_add(errs, "", "the report must be a JSON object");
		return YG_EINVAL;
	}
	cat = json_object_get(body, "category");
	if (json_is_string(cat))
		w.cat = list_index(json_string_value(cat), report_categories);
	check_object(&w, &report_shape, body, "");
	return errs->n ? YG_EINVAL : 0;
}
