/* monitor.c - the tower's list of active monitoring authorizations, read
 * strictly: everything the contract says is checked before any of it is
 * enforced. */
#include "monitor/monitor.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ipaddr.h"
#include "base/json.h"

static int fail(int rc, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil): no timegm, no time zone. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* n decimal digits at s into *v; returns 0 or -1. */
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

int monitor_parse_time(const char *s, int64_t *us)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 1000000;
	const char *p;
	static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (strlen(s) < 20 || digits(s, 4, &y) < 0 || s[4] != '-' || digits(s + 5, 2, &mo) < 0 ||
	    s[7] != '-' || digits(s + 8, 2, &d) < 0 || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) < 0 || s[13] != ':' || digits(s + 14, 2, &mi) < 0 ||
	    s[16] != ':' || digits(s + 17, 2, &sec) < 0)
		return YG_EFORMAT;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return YG_EFORMAT;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return YG_EFORMAT;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (digits(p + 1, 2, &oh) < 0 || p[3] != ':' || digits(p + 4, 2, &om) < 0 ||
		    oh > 23 || om > 59)
			return YG_EFORMAT;
		p += 6;
	} else {
		return YG_EFORMAT;
	}
	if (*p != '\0')
		return YG_EFORMAT;
	if (sec == 60)
		sec = 59; /* a leap second: the instant before is close enough */
	int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= sign * (oh * 3600 + om * 60);
	*us = t * 1000000 + frac;
	return 0;
}

/* "192.0.2.0/24", "2001:db8::/32", or a bare address (a host). */
static int parse_prefix(const char *s, struct ip_addr *a, unsigned *bits)
{
	char buf[IPADDR_STRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	int b;

	if (alen == 0 || alen >= IPADDR_STRLEN)
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (ipaddr_parse(buf, a) < 0)
		return -1;
	if (slash == NULL) {
		*bits = a->family == 4 ? 32 : 128;
		return 0;
	}
	slash++;
	if (*slash == '\0' || strlen(slash) > 3 || digits(slash, (int)strlen(slash), &b) < 0 ||
	    (slash[0] == '0' && slash[1] != '\0') || b > (a->family == 4 ? 32 : 128))
		return -1;
	*bits = (unsigned)b;
	return 0;
}

/* Checks one authorization and, when it is in force, adds it to s. */
static int add_one(struct decode_scope *s, json_t *o, size_t idx, int64_t now_us,
		   size_t *prefixes, char *err, size_t errlen)
{
	json_t *id = json_object_get(o, "id"), *pf = json_object_get(o, "prefixes");
	json_t *vl = json_object_get(o, "vlans"), *from = json_object_get(o, "from");
	json_t *until = json_object_get(o, "until"), *state = json_object_get(o, "state");
	int64_t from_us = INT64_MIN, until_us, aid;
	size_t i;
	json_t *v;
	int live, rc;

	if (!json_is_object(o))
		return fail(YG_EFORMAT, err, errlen, "authorizations[%zu] is not an object", idx);
	if (!json_is_integer(id) || json_integer_value(id) < 0)
		return fail(YG_EFORMAT, err, errlen,
			    "authorizations[%zu]: \"id\" is not a non-negative integer", idx);
	aid = json_integer_value(id);
	if (!json_is_array(pf) || !json_is_array(vl))
		return fail(YG_EFORMAT, err, errlen,
			    "authorization %lld: \"prefixes\" and \"vlans\" must be lists",
			    (long long)aid);
	if (json_array_size(pf) == 0 && json_array_size(vl) == 0)
		return fail(YG_EFORMAT, err, errlen,
			    "authorization %lld names neither prefixes nor VLANs", (long long)aid);
	if (!json_is_string(until) || monitor_parse_time(json_string_value(until), &until_us) < 0)
		return fail(YG_EFORMAT, err, errlen,
			    "authorization %lld: \"until\" is not an RFC 3339 time", (long long)aid);
	if (from != NULL && !json_is_null(from) &&
	    (!json_is_string(from) || monitor_parse_time(json_string_value(from), &from_us) < 0))
		return fail(YG_EFORMAT, err, errlen,
			    "authorization %lld: \"from\" is not an RFC 3339 time", (long long)aid);
	if (state != NULL && !json_is_string(state))
		return fail(YG_EFORMAT, err, errlen, "authorization %lld: \"state\" is not a string",
			    (long long)aid);
	*prefixes += json_array_size(pf);
	if (*prefixes > DECODE_SCOPE_MAX_PREFIXES)
		return fail(YG_ELIMIT, err, errlen, "more than %d prefixes in all",
			    DECODE_SCOPE_MAX_PREFIXES);
	live = from_us <= now_us && now_us < until_us &&
	       (state == NULL || strcmp(json_string_value(state), "active") == 0);
	if (live && (rc = decode_scope_add_auth(s, aid)) < 0)
		return fail(rc, err, errlen, "cannot hold authorization %lld", (long long)aid);
	json_array_foreach (pf, i, v) {
		struct ip_addr a;
		unsigned bits;
		if (!json_is_string(v) || parse_prefix(json_string_value(v), &a, &bits) < 0)
			return fail(YG_EFORMAT, err, errlen,
				    "authorization %lld: prefixes[%zu] is not an address/length",
				    (long long)aid, i);
		if (live && (rc = decode_scope_add_prefix(s, &a, bits)) < 0)
			return fail(rc, err, errlen, "authorization %lld: cannot hold its prefixes",
				    (long long)aid);
	}
	json_array_foreach (vl, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 4095)
			return fail(YG_EFORMAT, err, errlen,
				    "authorization %lld: vlans[%zu] is not a VLAN id (0 to 4095)",
				    (long long)aid, i);
		if (live && (rc = decode_scope_add_vlan(s, (unsigned)json_integer_value(v))) < 0)
			return fail(rc, err, errlen, "authorization %lld: cannot hold its VLANs",
				    (long long)aid);
	}
	return 0;
}

int monitor_scope_from_json(const char *json, size_t len, int64_t now_us,
			    struct decode_scope **out, char *err, size_t errlen)
{
	struct decode_scope *s = NULL;
	json_error_t je;
	json_t *root, *list, *o;
	size_t i, prefixes = 0;
	int rc = 0;

	*out = NULL;
	root = yg_json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return fail(YG_EFORMAT, err, errlen, "the answer is not JSON (line %d: %s)", je.line,
			    je.text);
	list = json_object_get(root, "authorizations");
	if (!json_is_object(root) || !json_is_array(list)) {
		rc = fail(YG_EFORMAT, err, errlen, "the answer has no \"authorizations\" list");
		goto out;
	}
	if (json_array_size(list) > DECODE_SCOPE_MAX_AUTHS) {
		rc = fail(YG_ELIMIT, err, errlen, "more than %d authorizations",
			  DECODE_SCOPE_MAX_AUTHS);
		goto out;
	}
	if ((s = decode_scope_new()) == NULL) {
		rc = fail(YG_ENOMEM, err, errlen, "out of memory");
		goto out;
	}
	json_array_foreach (list, i, o) {
		if ((rc = add_one(s, o, i, now_us, &prefixes, err, errlen)) < 0)
			goto out;
	}
	*out = s;
	s = NULL;
out:
	decode_scope_release(s);
	json_decref(root);
	return rc;
}

const char *monitor_describe(const struct decode_scope *s, char *buf, size_t n)
{
	size_t k = decode_scope_count(s), used;

	if (k == 0) {
		snprintf(buf, n, "no authorization active: every packet is dropped after its IP "
				 "header");
		return buf;
	}
	used = (size_t)snprintf(buf, n, "%zu authorization%s active (id%s ", k, k == 1 ? "" : "s",
				k == 1 ? "" : "s");
	for (size_t i = 0; i < k && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? "," : "",
					 (long long)decode_scope_id(s, i));
	if (used < n)
		snprintf(buf + used, n - used, ")");
	return buf;
}
