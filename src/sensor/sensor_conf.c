/* sensor_conf.c - the sensor's configuration file (sensor_conf.h), read
 * with inih as the tower's is (tower/config.c). */
#include "sensor/sensor_conf.h"

#include <errno.h>
#include <stdint.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "stream/stream.h"

struct load_ctx {
	struct sensor_conf *c;
	const char *path;
	char *err;
	size_t errlen;
	int status; /* SENSOR_USAGE or SENSOR_FATAL once a line failed */
	FILE *f;
	int line; /* counted by reader(): inih's handler has no line number */
};

static char *reader(char *str, int num, void *stream)
{
	struct load_ctx *lc = stream;
	char *r = fgets(str, num, lc->f);

	if (r != NULL)
		lc->line++;
	return r;
}

static char *dup_n(const char *s, size_t n)
{
	char *p = yg_malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* The value without a trailing comment ('#' or ';' after a blank) and
 * the blanks around it, into buf. */
static const char *value_of(const char *v, char *buf, size_t n)
{
	size_t len = 0;

	while (v[len] != '\0' &&
	       !((v[len] == '#' || v[len] == ';') && (len == 0 || v[len - 1] == ' ' ||
						       v[len - 1] == '\t')))
		len++;
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	snprintf(buf, n, "%.*s", (int)len, v);
	return buf;
}

/* A count with an optional unit from units ("smhd": seconds to days,
 * "KMGT": powers of 1024; NULL: none) into *out. Returns 0 or -1. */
static int parse_scaled(const char *v, const char *units, long long *out)
{
	static const long long secs[] = {1, 60, 3600, 86400};
	char *end;
	long long n, mul = 1;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		const char *u = units != NULL ? strchr(units, *end) : NULL;
		if (u == NULL || end[1] != '\0')
			return -1;
		mul = units[0] == 's' ? secs[u - units] : 1LL << (10 * (u - units + 1));
	}
	if (n > INT64_MAX / mul)
		return -1;
	*out = n * mul;
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *raw)
{
	struct load_ctx *lc = user;
	struct sensor_conf *c = lc->c;
	char value[1024], why[256];

#define BAD(st, ...)                                                                               \
	do {                                                                                       \
		int n_ = snprintf(lc->err, lc->errlen, "%s:%d: ", lc->path, lc->line);             \
		if (n_ > 0 && (size_t)n_ < lc->errlen)                                             \
			snprintf(lc->err + n_, lc->errlen - (size_t)n_, __VA_ARGS__);              \
		lc->status = (st);                                                                 \
		return 0;                                                                          \
	} while (0)

	if (lc->status != 0)
		return 0; /* one line: the first error */
	value_of(raw, value, sizeof(value));
	if (strcmp(section, "detect") == 0) {
		struct detect_config scratch;
		char assign[1100];

		if (c->n_detect == SENSOR_CONF_MAX_DETECT)
			BAD(SENSOR_USAGE, "at most %d [detect] settings", SENSOR_CONF_MAX_DETECT);
		snprintf(assign, sizeof(assign), "%s=%s", name, value);
		detect_config_defaults(&scratch);
		if (detect_config_set(&scratch, assign, why, sizeof(why)) < 0)
			BAD(SENSOR_USAGE, "[detect] %s", why);
		if ((c->detect[c->n_detect] = dup_n(assign, strlen(assign))) == NULL)
			BAD(SENSOR_FATAL, "out of memory");
		c->n_detect++;
	} else if (strcmp(section, "ics") == 0) {
		struct protect_set *set = NULL;

		if (strcmp(name, "allow") != 0)
			BAD(SENSOR_USAGE, "unknown key '%s' in [ics] (allow = PREFIXES)", name);
		if (protect_set_parse(value, &set, why, sizeof(why)) < 0)
			BAD(SENSOR_USAGE, "[ics] allow: %s", why);
		protect_set_free(set);
		free(c->ics_allow);
		if ((c->ics_allow = dup_n(value, strlen(value))) == NULL)
			BAD(SENSOR_FATAL, "out of memory");
	} else if (strcmp(section, "intel") == 0) {
		const char *p = value;

		if (strcmp(name, "path") != 0)
			BAD(SENSOR_USAGE, "unknown key '%s' in [intel] (path = PATH[, PATH...])", name);
		while (*p != '\0') {
			size_t len = strcspn(p, ","), end = len;
			const char *s = p;

			while (len > 0 && (*s == ' ' || *s == '\t')) {
				s++;
				len--;
			}
			while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
				len--;
			if (len == 0)
				BAD(SENSOR_USAGE, "[intel] path: an empty path");
			if (c->n_intel == SENSOR_MAX_INTEL_PATHS)
				BAD(SENSOR_USAGE, "[intel] path: at most %d paths", SENSOR_MAX_INTEL_PATHS);
			if ((c->intel[c->n_intel] = dup_n(s, len)) == NULL)
				BAD(SENSOR_FATAL, "out of memory");
			c->n_intel++;
			p += end;
			if (*p == ',')
				p++;
		}
	} else if (strcmp(section, "stream") == 0) {
		char **str = strcmp(name, "url") == 0      ? &c->stream_url
			     : strcmp(name, "sector") == 0 ? &c->stream_sector
			     : strcmp(name, "sensor") == 0 ? &c->stream_sensor
			     : strcmp(name, "name") == 0   ? &c->stream_name
			     : strcmp(name, "prefix") == 0 ? &c->stream_prefix
							   : NULL;
		long long v;

		if (str != NULL) {
			if (value[0] == '\0')
				BAD(SENSOR_USAGE, "[stream] %s: empty", name);
			if ((strcmp(name, "sector") == 0 || strcmp(name, "sensor") == 0 ||
			     strcmp(name, "name") == 0) &&
			    stream_token_check(value) < 0)
				BAD(SENSOR_USAGE,
				    "[stream] %s: '%.80s' is not one subject token (1 to 64 printable "
				    "ASCII bytes, no blank, '.', '*' or '>')",
				    name, value);
			free(*str);
			if ((*str = dup_n(value, strlen(value))) == NULL)
				BAD(SENSOR_FATAL, "out of memory");
		} else if (strcmp(name, "replicas") == 0) {
			if (parse_scaled(value, NULL, &v) < 0 || v < 1 || v > 5)
				BAD(SENSOR_USAGE, "[stream] replicas: '%s' is not 1 to 5", value);
			c->stream_replicas = (int)v;
		} else if (strcmp(name, "max_age") == 0) {
			if (parse_scaled(value, "smhd", &v) < 0)
				BAD(SENSOR_USAGE,
				    "[stream] max_age: '%s' is not a duration (N, Ns, Nm, Nh, Nd)",
				    value);
			c->stream_max_age_s = v;
		} else if (strcmp(name, "max_bytes") == 0) {
			if (parse_scaled(value, "KMGT", &v) < 0)
				BAD(SENSOR_USAGE,
				    "[stream] max_bytes: '%s' is not a size (N, NK, NM, NG, NT)", value);
			c->stream_max_bytes = v;
		} else if (strcmp(name, "manage") == 0 || strcmp(name, "flows") == 0) {
			if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
				BAD(SENSOR_USAGE, "[stream] %s: '%s' is not yes or no", name, value);
			if (name[0] == 'm')
				c->stream_manage_none = value[0] == 'n';
			else
				c->stream_flows = value[0] == 'y';
		} else if (strcmp(name, "flows_max_age") == 0) {
			if (parse_scaled(value, "smhd", &v) < 0 || v < 1)
				BAD(SENSOR_USAGE,
				    "[stream] flows_max_age: '%s' is not a duration (N, Ns, Nm, Nh, Nd)",
				    value);
			c->stream_flows_max_age_s = v;
		} else {
			char bad[200];
			int k = stream_auth_set(&c->stream_auth, name, value, bad, sizeof(bad));

			if (k < 0)
				BAD(SENSOR_USAGE, "%s", bad);
			if (k == 0)
				BAD(SENSOR_USAGE,
				    "unknown key '%s' in [stream] (url, sector, sensor, name, prefix, "
				    "replicas, max_age, max_bytes, manage, flows, flows_max_age, user, "
				    "password_file, creds, ca, cert, key)",
				    name);
		}
	} else {
		BAD(SENSOR_USAGE, "unknown section [%s] (detect, ics, intel, stream)", section);
	}
	return 1;
#undef BAD
}

int sensor_conf_load(const char *path, struct sensor_conf **out, char *err, size_t errlen)
{
	struct load_ctx lc = {NULL, path, err, errlen, 0, NULL, 0};
	int rc;

	*out = NULL;
	err[0] = '\0';
	if ((lc.c = yg_calloc(1, sizeof(*lc.c))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return SENSOR_FATAL;
	}
	if ((lc.f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		sensor_conf_free(lc.c);
		return SENSOR_INPUT;
	}
	rc = ini_parse_stream(reader, &lc, handler, &lc);
	fclose(lc.f);
	if (lc.status != 0 || rc != 0) {
		if (lc.status == 0)
			snprintf(err, errlen, "%s:%d: not an INI line (section, key = value, or a "
					      "comment)", path, rc);
		sensor_conf_free(lc.c);
		return lc.status != 0 ? lc.status : SENSOR_USAGE;
	}
	*out = lc.c;
	return 0;
}

void sensor_conf_free(struct sensor_conf *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->n_detect; i++)
		free(c->detect[i]);
	for (int i = 0; i < c->n_intel; i++)
		free(c->intel[i]);
	free(c->ics_allow);
	free(c->stream_url);
	free(c->stream_sector);
	free(c->stream_sensor);
	free(c->stream_name);
	free(c->stream_prefix);
	free(c);
}

int sensor_conf_detect(const struct sensor_conf *c, const char *const *cli, int n_cli,
		       const struct protect_set *ics_cli, struct detect_config *out,
		       struct protect_set **ics_owned)
{
	char why[256];

	*ics_owned = NULL;
	detect_config_defaults(out);
	/* Both were checked when read: nothing fails here but memory. */
	for (int i = 0; c != NULL && i < c->n_detect; i++)
		(void)detect_config_set(out, c->detect[i], why, sizeof(why));
	for (int i = 0; i < n_cli; i++)
		(void)detect_config_set(out, cli[i], why, sizeof(why));
	if (ics_cli != NULL) {
		out->ics_allow = ics_cli;
	} else if (c != NULL && c->ics_allow != NULL) {
		if (protect_set_parse(c->ics_allow, ics_owned, why, sizeof(why)) < 0)
			return YG_ENOMEM;
		out->ics_allow = *ics_owned;
	}
	return 0;
}
