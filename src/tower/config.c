/* config.c - the tower's configuration file: INI, parsed into struct
 * tower_config, validated, printed back normalized by --check. */
#include "tower/config.h"

#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "stream/stream.h"
#include "tower/cases.h"

struct load_ctx {
	struct tower_config *cfg;
	char *err;
	size_t errlen;
	const char *path;
	int sectors_set;
	FILE *f;
	int line; /* counted by reader(): inih's handler has no line number here */
};

static char *reader(char *str, int num, void *stream)
{
	struct load_ctx *lc = stream;
	char *r = fgets(str, num, lc->f);

	if (r != NULL)
		lc->line++;
	return r;
}

/* A copy of s that cfg owns (freed by tower_config_free). */
static char *copy(struct tower_config *cfg, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (cfg->n_owned == sizeof(cfg->owned) / sizeof(cfg->owned[0]))
		return NULL;
	if ((p = yg_malloc(n)) == NULL)
		return NULL;
	memcpy(p, s, n);
	cfg->owned[cfg->n_owned++] = p;
	return p;
}

int config_parse_duration(const char *s, int64_t *secs)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	long long mult = 1;

	if (end == s || v <= 0)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60;
	else if (strcmp(end, "h") == 0)
		mult = 3600;
	else if (strcmp(end, "d") == 0)
		mult = 86400;
	else
		return -1;
	if (v > 10LL * 365 * 86400 / mult)
		return -1;
	*secs = v * mult;
	return 0;
}

static int set_sectors(struct tower_config *cfg, const char *value)
{
	char buf[2048], *save = NULL;

	if (strlen(value) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", value);
	cfg->n_sectors = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		size_t n = strlen(t);
		while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
			t[--n] = '\0';
		if (n == 0 || cfg->n_sectors == TOWER_MAX_SECTORS)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
				return -1;
		if ((cfg->sectors[cfg->n_sectors++] = copy(cfg, t)) == NULL)
			return -1;
	}
	return cfg->n_sectors > 0 ? 0 : -1;
}

int config_witnesses(const char *list, struct tlog_verifier out[TOWER_MAX_WITNESSES], size_t *n,
		     char *err, size_t errlen)
{
	const char *p = list;

	*n = 0;
	while (p != NULL && *p != '\0') {
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p, ", \t");
		if (*n == TOWER_MAX_WITNESSES) {
			snprintf(err, errlen, "more than %d witnesses", TOWER_MAX_WITNESSES);
			return -1;
		}
		if (tlog_vkey_parse(p, len, &out[*n]) < 0 || out[*n].type != TLOG_SIG_COSIGNATURE) {
			snprintf(err, errlen,
				 "'%.*s' is not a witness's verifier key (name+id+key of type 0x04, as "
				 "'yagura audit witness-key' prints it)",
				 (int)(len > 120 ? 120 : len), p);
			return -1;
		}
		for (size_t i = 0; i < *n; i++)
			if (out[i].id == out[*n].id && out[i].name_len == out[*n].name_len &&
			    memcmp(out[i].name, out[*n].name, out[i].name_len) == 0) {
				snprintf(err, errlen, "two witnesses are called %s+%08x", out[i].name,
					 (unsigned)out[i].id);
				return -1;
			}
		(*n)++;
		p += len;
	}
	return 0;
}

/* The witnesses normalized: their keys, ", " between. */
static char *set_witnesses(struct tower_config *cfg, const char *value, char *err, size_t errlen)
{
	struct tlog_verifier w[TOWER_MAX_WITNESSES];
	char buf[TOWER_MAX_WITNESSES * (TLOG_KEY_TEXT_MAX + 2)];
	size_t n, at = 0;

	if (config_witnesses(value, w, &n, err, errlen) < 0)
		return NULL;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int k;

		if (i > 0) {
			memcpy(buf + at, ", ", 3);
			at += 2;
		}
		if ((k = tlog_vkey_format(&w[i], buf + at, sizeof(buf) - at)) < 0)
			return NULL;
		at += (size_t)k;
	}
	if (n == 0) {
		snprintf(err, errlen, "no witness given");
		return NULL;
	}
	return copy(cfg, buf);
}

/* A subject prefix: dot-separated tokens, each a stream token. */
static bool prefix_ok(const char *v)
{
	char tok[STREAM_TOKEN_MAX + 1];
	size_t n = strlen(v);

	if (n == 0 || n > 128)
		return false;
	while (*v != '\0') {
		size_t k = strcspn(v, ".");
		if (k == 0 || k > STREAM_TOKEN_MAX)
			return false;
		memcpy(tok, v, k);
		tok[k] = '\0';
		if (stream_token_check(tok) < 0)
			return false;
		v += k;
		if (*v == '.' && *++v == '\0')
			return false;
	}
	return true;
}

/* The URL list: nats:// or tls:// each, comma-separated, no spaces. */
static bool urls_ok(const char *v)
{
	while (*v != '\0') {
		size_t k = strcspn(v, ",");
		if (!((k > 7 && strncmp(v, "nats://", 7) == 0) ||
		      (k > 6 && strncmp(v, "tls://", 6) == 0)) ||
		    memchr(v, ' ', k) != NULL)
			return false;
		v += k;
		if (*v == ',' && *++v == '\0')
			return false;
	}
	return true;
}

/* A filter under prefix: PREFIX.x.y, each token a stream token, or * or >
 * (the last only), at most two tokens after the prefix. */
static bool filter_ok(const char *prefix, const char *v)
{
	size_t pl = strlen(prefix);
	char tok[STREAM_TOKEN_MAX + 1];
	int n = 0;

	if (strncmp(v, prefix, pl) != 0 || v[pl] != '.')
		return false;
	v += pl + 1;
	for (;;) {
		size_t k = strcspn(v, ".");
		if (k == 0 || k > STREAM_TOKEN_MAX || ++n > 2)
			return false;
		memcpy(tok, v, k);
		tok[k] = '\0';
		if (strcmp(tok, ">") == 0)
			return v[k] == '\0';
		if (strcmp(tok, "*") != 0 && stream_token_check(tok) < 0)
			return false;
		v += k;
		if (*v == '\0')
			return true;
		v++;
	}
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *lc = user;
	int lineno = lc->line;
	struct tower_config *cfg = lc->cfg;
	char *end;
	int64_t secs;

#define BAD(fmt, ...)                                                                              \
	do {                                                                                       \
		snprintf(lc->err, lc->errlen, "%s:%d: " fmt, lc->path, lineno, __VA_ARGS__);       \
		return 0;                                                                          \
	} while (0)

	if (strcmp(section, "tower") == 0) {
		if (strcmp(name, "listen") == 0 || strcmp(name, "store") == 0) {
			char *v = copy(cfg, value);
			if (v == NULL || *v == '\0')
				BAD("%s must not be empty", name);
			if (name[0] == 'l')
				cfg->listen = v;
			else
				cfg->store = v;
		} else if (strcmp(name, "threads") == 0 || strcmp(name, "max_body") == 0 ||
			   strcmp(name, "rate") == 0 || strcmp(name, "burst") == 0) {
			long long v = strtoll(value, &end, 10);
			long long max = name[0] == 't' ? 1024 : name[0] == 'm' ? (1LL << 30) : 1000000;
			if (*value == '\0' || *end != '\0' || v < (name[0] == 'r' || name[0] == 'b' ? 0 : 1) ||
			    v > max)
				BAD("%s = '%s' is not a number from 1 to %lld", name, value, max);
			if (name[0] == 't')
				cfg->threads = (unsigned)v;
			else if (name[0] == 'm')
				cfg->max_body = (size_t)v;
			else if (name[0] == 'r')
				cfg->rate = (double)v;
			else
				cfg->burst = (double)v;
		} else if (strcmp(name, "store_cache_mib") == 0) {
			long long v = strtoll(value, &end, 10);
			if (*value == '\0' || *end != '\0' || v < 1 || v > 4096)
				BAD("%s = '%s' is not a number from 1 to 4096", name, value);
			cfg->store_cache_mib = (unsigned)v;
		} else if (strcmp(name, "max_connections") == 0 ||
			   strcmp(name, "per_ip_connections") == 0) {
			long long v = strtoll(value, &end, 10);
			if (*value == '\0' || *end != '\0' || v < 1 || v > 1000000)
				BAD("%s = '%s' is not a number from 1 to 1000000", name, value);
			if (name[0] == 'm')
				cfg->max_connections = (unsigned)v;
			else
				cfg->per_ip_connections = (unsigned)v;
		} else if (strcmp(name, "header_timeout") == 0 || strcmp(name, "body_timeout") == 0 ||
			   strcmp(name, "idle_timeout") == 0 || strcmp(name, "store_timeout") == 0) {
			if (config_parse_duration(value, &secs) < 0 || secs > 86400)
				BAD("%s = '%s' is not a duration from 1s to 1d such as 10s or 2m", name,
				    value);
			if (name[0] == 'h')
				cfg->header_timeout_s = (unsigned)secs;
			else if (name[0] == 'b')
				cfg->body_timeout_s = (unsigned)secs;
			else if (name[0] == 's')
				cfg->store_timeout_s = (unsigned)secs;
			else
				cfg->idle_timeout_s = (unsigned)secs;
		} else {
			BAD("unknown key '%s' in [tower]", name);
		}
	} else if (strcmp(section, "log") == 0) {
		if (strcmp(name, "key") == 0 || strcmp(name, "origin") == 0) {
			char *v = copy(cfg, value);
			if (v == NULL || *v == '\0')
				BAD("%s must not be empty", name);
			if (name[0] == 'k')
				cfg->log_key = v;
			else
				cfg->log_origin = v;
		} else if (strcmp(name, "checkpoint_interval") == 0) {
			if (config_parse_duration(value, &secs) < 0 || secs > 86400)
				BAD("%s = '%s' is not a duration from 1s to 1d such as 10s or 2m", name,
				    value);
			cfg->log_checkpoint_s = (unsigned)secs;
		} else if (strcmp(name, "witnesses") == 0) {
			char why[300] = "";

			if ((cfg->log_witnesses = set_witnesses(cfg, value, why, sizeof(why))) == NULL)
				BAD("witnesses: %s", why[0] ? why : "out of memory");
		} else {
			BAD("unknown key '%s' in [log]", name);
		}
	} else if (strcmp(section, "cases") == 0) {
		struct case_policy *cp = &cfg->cases;
		if (strcmp(name, "max_duration") == 0 || strcmp(name, "min_duration") == 0 ||
		    strcmp(name, "two_overseers_after") == 0) {
			if (config_parse_duration(value, &secs) < 0 || secs > 366 * 86400)
				BAD("%s = '%s' is not a duration up to 366d such as 72h or 7d", name,
				    value);
			if (name[1] == 'a')
				cp->max_duration_s = secs;
			else if (name[1] == 'i')
				cp->min_duration_s = secs;
			else
				cp->two_overseers_after_s = secs;
		} else if (strcmp(name, "max_prefix4") == 0 || strcmp(name, "one_prefix4") == 0 ||
			   strcmp(name, "max_prefix6") == 0 || strcmp(name, "one_prefix6") == 0) {
			long long v = strtoll(value, &end, 10), max = name[10] == '4' ? 32 : 128;
			if (*value == '\0' || *end != '\0' || v < 1 || v > max)
				BAD("%s = '%s' is not a prefix length from 1 to %lld", name, value, max);
			unsigned *slot = name[0] == 'm' ? (name[10] == '4' ? &cp->max_prefix4
									: &cp->max_prefix6)
						  : (name[10] == '4' ? &cp->one_prefix4
								     : &cp->one_prefix6);
			*slot = (unsigned)v;
		} else if (strcmp(name, "never_block") == 0 || strcmp(name, "lab_allow") == 0) {
			char why[200];
			char *v = copy(cfg, value);
			if (v == NULL)
				BAD("%s: out of memory", name);
			if (case_list_check(v, why, sizeof(why)) < 0)
				BAD("%s: %s", name, why);
			if (name[0] == 'n')
				cp->never_block = v;
			else
				cp->lab_allow = v;
		} else {
			BAD("unknown key '%s' in [cases]", name);
		}
	} else if (strcmp(section, "monitoring") == 0) {
		if (strcmp(name, "max_duration") == 0 || strcmp(name, "two_overseers_after") == 0) {
			if (config_parse_duration(value, &secs) < 0 || secs < 60 || secs > 366 * 86400)
				BAD("%s = '%s' is not a duration from 1m to 366d such as 30d", name,
				    value);
			*(name[0] == 'm' ? &cfg->monitor_max_s : &cfg->monitor_two_after_s) = secs;
		} else {
			BAD("unknown key '%s' in [monitoring]", name);
		}
	} else if (strcmp(section, "sessions") == 0) {
		if (strcmp(name, "lifetime") == 0) {
			if (config_parse_duration(value, &secs) < 0 || secs < 300 || secs > 7 * 86400)
				BAD("lifetime = '%s' is not a duration from 5m to 7d such as 8h",
				    value);
			cfg->session_lifetime_s = secs;
		} else {
			BAD("unknown key '%s' in [sessions]", name);
		}
	} else if (strcmp(section, "web") == 0) {
		if (strcmp(name, "root") == 0) {
			char *v = copy(cfg, value);

			if (v == NULL || *v == '\0')
				BAD("%s must not be empty", name);
			cfg->web_root = v;
		} else
			BAD("unknown key '%s' in [web]", name);
	} else if (strcmp(section, "retention") == 0) {
		if (strcmp(name, "keep") == 0 && strcmp(value, "forever") == 0) {
			cfg->retention_s = 0;
		} else if (strcmp(name, "keep") == 0 || strcmp(name, "interval") == 0) {
			if (config_parse_duration(value, &secs) < 0)
				BAD("%s = '%s' is not a duration such as 730d or 1h%s", name, value,
				    name[0] == 'k' ? " (or forever)" : "");
			if (name[0] == 'k')
				cfg->retention_s = secs;
			else
				cfg->retention_interval_s = secs;
		} else {
			BAD("unknown key '%s' in [retention]", name);
		}
	} else if (strcmp(section, "countermeasures") == 0) {
		struct cm_settings *cm = &cfg->cm;
		const char **str = strcmp(name, "dir") == 0		 ? &cm->dir
				   : strcmp(name, "rpz_zone") == 0	 ? &cm->rpz_zone
				   : strcmp(name, "sinkhole") == 0	 ? &cm->sinkhole
				   : strcmp(name, "nameserver") == 0	 ? &cm->nameserver
				   : strcmp(name, "office") == 0	 ? &cm->office
				   : strcmp(name, "bgp_router_id") == 0	 ? &cm->bgp_router_id
				   : strcmp(name, "bgp_neighbor") == 0	 ? &cm->bgp_neighbor
				   : strcmp(name, "rtbh_next_hop4") == 0 ? &cm->rtbh_next_hop4
				   : strcmp(name, "rtbh_next_hop6") == 0 ? &cm->rtbh_next_hop6
									 : NULL;
		if (str != NULL) {
			if (*value == '\0' || (*str = copy(cfg, value)) == NULL)
				BAD("%s must not be empty", name);
		} else if (strcmp(name, "bgp_local_as") == 0 || strcmp(name, "bgp_neighbor_as") == 0) {
			long long v = strtoll(value, &end, 10);
			if (*value == '\0' || *end != '\0' || v < 1 || v > 4294967295LL)
				BAD("%s = '%s' is not an AS number", name, value);
			if (name[4] == 'l')
				cm->bgp_local_as = (uint32_t)v;
			else
				cm->bgp_neighbor_as = (uint32_t)v;
		} else {
			BAD("unknown key '%s' in [countermeasures]", name);
		}
	} else if (strcmp(section, "partners") == 0) {
		/* NAME = URL TOKEN_FILE [INTERVAL] */
		char *v = copy(cfg, value), *save = NULL, *url, *tok, *iv;
		struct tower_partner *pt = &cfg->partners[cfg->n_partners];
		if (v == NULL)
			BAD("%s: out of memory", name);
		url = strtok_r(v, " \t", &save);
		tok = strtok_r(NULL, " \t", &save);
		iv = strtok_r(NULL, " \t", &save);
		if (cfg->n_partners == TOWER_MAX_PARTNERS)
			BAD("[partners]: at most %d", TOWER_MAX_PARTNERS);
		if (strlen(name) > 40 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
						 strlen(name))
			BAD("[partners]: '%s' is not a name of a-z, 0-9, _ and - (40 at most)", name);
		if (url == NULL || tok == NULL || strtok_r(NULL, " \t", &save) != NULL ||
		    (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
		    url[strlen(url) - 1] != '/')
			BAD("%s = URL TOKEN_FILE [INTERVAL]: URL the partner's TAXII collection, "
			    "http(s)://.../collections/ID/",
			    name);
		secs = 300;
		if (iv != NULL && (config_parse_duration(iv, &secs) < 0 || secs < 1))
			BAD("%s: '%s' is not an interval such as 5m", name, iv);
		pt->name = copy(cfg, name);
		pt->url = url;
		pt->token_file = tok;
		pt->interval_s = secs;
		if (pt->name == NULL)
			BAD("%s: out of memory", name);
		cfg->n_partners++;
	} else if (strcmp(section, "sectors") == 0) {
		if (strcmp(name, "list") != 0)
			BAD("unknown key '%s' in [sectors] (use list = a, b, c)", name);
		if (set_sectors(cfg, value) < 0)
			BAD("list: sectors are comma-separated names of a-z, 0-9 and _ (at most %d)",
			    TOWER_MAX_SECTORS);
		lc->sectors_set = 1;
	} else if (strcmp(section, "deadlines") == 0) {
		int stage = report_stage_parse(name);
		if (stage < 0)
			BAD("unknown stage '%s' in [deadlines] (prompt, detailed, final)", name);
		if (config_parse_duration(value, &secs) < 0)
			BAD("%s = '%s' is not a duration such as 24h, 3d or 90m", name, value);
		cfg->policy.due_s[stage] = secs;
	} else if (strcmp(section, "stream") == 0) {
		struct tower_stream *sm = &cfg->stream;
		const char **str = strcmp(name, "urls") == 0	  ? &sm->urls
				   : strcmp(name, "name") == 0	  ? &sm->name
				   : strcmp(name, "prefix") == 0  ? &sm->prefix
				   : strcmp(name, "durable") == 0 ? &sm->durable
				   : strcmp(name, "filter") == 0  ? &sm->filter
								  : NULL;
		if (str != NULL) {
			bool ok = name[0] == 'u'   ? urls_ok(value)
				  : name[0] == 'p' ? prefix_ok(value)
				  : name[0] == 'f' ? strlen(value) <= STREAM_SUBJECT_MAX
						   : stream_token_check(value) == 0 &&
							     strcspn(value, " \t") == strlen(value);
			if (!ok)
				BAD("%s = '%s' is not %s", name, value,
				    name[0] == 'u'   ? "a list of nats://HOST:PORT or tls://HOST:PORT"
				    : name[0] == 'p' ? "a subject prefix of dot-separated tokens"
				    : name[0] == 'f' ? "a subject filter"
						     : "one subject token (no '.', '*', '>', space)");
			if ((*str = copy(cfg, value)) == NULL)
				BAD("%s: out of memory", name);
		} else if (strcmp(name, "enable") == 0) {
			if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
			    strcmp(value, "1") == 0)
				sm->enable = 1;
			else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 ||
				 strcmp(value, "0") == 0)
				sm->enable = 0;
			else
				BAD("enable = '%s' is not yes or no", value);
		} else if (strcmp(name, "replicas") == 0 || strcmp(name, "batch") == 0 ||
			   strcmp(name, "consumers") == 0) {
			long long v = strtoll(value, &end, 10),
				  max = name[0] == 'r' ? 5 : name[0] == 'b' ? 1024 : 16;
			if (*value == '\0' || *end != '\0' || v < 1 || v > max)
				BAD("%s = '%s' is not a number from 1 to %lld", name, value, max);
			*(name[0] == 'r'   ? &sm->replicas
			  : name[0] == 'b' ? &sm->batch
					   : &sm->consumers) = (int)v;
		} else if (strcmp(name, "ack_wait") == 0) {
			if (config_parse_duration(value, &secs) < 0 || secs > 3600)
				BAD("ack_wait = '%s' is not a duration from 1s to 1h such as 30s",
				    value);
			sm->ack_wait_s = secs;
		} else if (strcmp(name, "max_age") == 0 || strcmp(name, "duplicate_window") == 0) {
			if (config_parse_duration(value, &secs) < 0)
				BAD("%s = '%s' is not a duration such as 30d or 2m", name, value);
			*(name[0] == 'm' ? &sm->max_age_s : &sm->duplicate_window_s) = secs;
		} else if (strcmp(name, "max_bytes") == 0) {
			long long v = strtoll(value, &end, 10);
			long long unit = *end == 'K' ? 1LL << 10 : *end == 'M' ? 1LL << 20
				       : *end == 'G' ? 1LL << 30 : *end == 'T' ? 1LL << 40 : 1;
			if (*value == '\0' || v < 1 || (unit > 1 && end[1] != '\0') ||
			    (unit == 1 && *end != '\0') || v > INT64_MAX / unit)
				BAD("max_bytes = '%s' is not a size such as 500G (K, M, G, T)", value);
			sm->max_bytes = v * unit;
		} else if (strcmp(name, "retention") == 0) {
			if (strcmp(value, "limits") == 0)
				sm->retention = STREAM_RETAIN_LIMITS;
			else if (strcmp(value, "interest") == 0)
				sm->retention = STREAM_RETAIN_INTEREST;
			else if (strcmp(value, "workqueue") == 0)
				sm->retention = STREAM_RETAIN_WORKQUEUE;
			else
				BAD("retention = '%s' is not limits, interest or workqueue", value);
		} else {
			char why[200];
			int k = stream_auth_set(&sm->auth, name, value, why, sizeof(why));

			if (k < 0)
				BAD("%s", why);
			if (k == 0)
				BAD("unknown key '%s' in [stream]", name);
		}
	} else if (strcmp(section, "tls") == 0) {
		const char **slot = strcmp(name, "cert") == 0	     ? &cfg->tls_cert
				    : strcmp(name, "key") == 0	     ? &cfg->tls_key
				    : strcmp(name, "client_ca") == 0  ? &cfg->tls_client_ca
				    : strcmp(name, "priorities") == 0 ? &cfg->tls_priorities
								      : NULL;
		char *v;

		if (slot == NULL)
			BAD("unknown key '%s' in [tls]", name);
		if ((v = copy(cfg, value)) == NULL || *v == '\0')
			BAD("%s must not be empty", name);
		*slot = v;
	} else {
		BAD("unknown section [%s]", section);
	}
	return 1;
#undef BAD
}

int tower_config_load(const char *path, struct tower_config *cfg, char *err, size_t errlen)
{
	struct load_ctx lc = {cfg, err, errlen, path, 0, NULL, 0};
	int rc;

	err[0] = '\0';
	if ((lc.f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open", path);
		return YG_EIO;
	}
	rc = ini_parse_stream(reader, &lc, handler, &lc);
	fclose(lc.f);
	if (rc != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s:%d: not an INI line", path, rc);
		return YG_EINVAL;
	}
	if ((cfg->tls_key != NULL || cfg->tls_client_ca != NULL) && cfg->tls_cert == NULL) {
		snprintf(err, errlen, "%s: [tls] %s without cert", path,
			 cfg->tls_key != NULL ? "key" : "client_ca");
		return YG_EINVAL;
	}
	if (cfg->tls_cert != NULL && cfg->tls_key == NULL) {
		snprintf(err, errlen, "%s: [tls] cert without key", path);
		return YG_EINVAL;
	}
	if (cfg->stream.enable && cfg->stream.urls == NULL) {
		snprintf(err, errlen, "%s: [stream] enable = yes without urls", path);
		return YG_EINVAL;
	}
	{
		char why[200];

		if (stream_auth_check(&cfg->stream.auth, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s", path, why);
			return YG_EINVAL;
		}
	}
	if (cfg->stream.filter != NULL && !filter_ok(cfg->stream.prefix, cfg->stream.filter)) {
		snprintf(err, errlen,
			 "%s: [stream] filter = '%s' is not a subject under %s (%s.SECTOR.SENSOR, "
			 "'*' or '>' as a token)",
			 path, cfg->stream.filter, cfg->stream.prefix, cfg->stream.prefix);
		return YG_EINVAL;
	}
	for (int s = 1; s < REPORT_STAGES; s++)
		if (cfg->policy.due_s[s] < cfg->policy.due_s[s - 1]) {
			snprintf(err, errlen, "%s: [deadlines] %s comes before %s", path,
				 report_stage_name(s), report_stage_name(s - 1));
			return YG_EINVAL;
		}
	return 0;
}

static void put_duration(FILE *out, int64_t s)
{
	if (s % 86400 == 0)
		fprintf(out, "%lldd", (long long)(s / 86400));
	else if (s % 3600 == 0)
		fprintf(out, "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0)
		fprintf(out, "%lldm", (long long)(s / 60));
	else
		fprintf(out, "%llds", (long long)s);
}

/* "name = duration" when set; unset keys keep their defaults unprinted. */
static void put_set_duration(FILE *out, const char *name, int64_t s)
{
	if (s == 0)
		return;
	fprintf(out, "%s = ", name);
	put_duration(out, s);
	fputc('\n', out);
}

void tower_config_print(FILE *out, const struct tower_config *cfg)
{
	fprintf(out, "[tower]\nlisten = %s\nstore = %s\nthreads = %u\nmax_body = %zu\n", cfg->listen,
		cfg->store, cfg->threads, cfg->max_body);
	fprintf(out, "rate = %.0f\nburst = %.0f\n", cfg->rate, cfg->burst);
	/* The HTTP limits only when set: unset, the HTTP layer's defaults hold
	 * (docs/tower.md). */
	if (cfg->max_connections != 0)
		fprintf(out, "max_connections = %u\n", cfg->max_connections);
	if (cfg->per_ip_connections != 0)
		fprintf(out, "per_ip_connections = %u\n", cfg->per_ip_connections);
	put_set_duration(out, "header_timeout", cfg->header_timeout_s);
	put_set_duration(out, "body_timeout", cfg->body_timeout_s);
	put_set_duration(out, "idle_timeout", cfg->idle_timeout_s);
	put_set_duration(out, "store_timeout", cfg->store_timeout_s);
	if (cfg->store_cache_mib != 0)
		fprintf(out, "store_cache_mib = %u\n", cfg->store_cache_mib);
	if (cfg->tls_cert != NULL || cfg->tls_key != NULL || cfg->tls_client_ca != NULL) {
		fputs("\n[tls]\n", out);
		if (cfg->tls_cert != NULL)
			fprintf(out, "cert = %s\n", cfg->tls_cert);
		if (cfg->tls_key != NULL)
			fprintf(out, "key = %s\n", cfg->tls_key);
		if (cfg->tls_client_ca != NULL)
			fprintf(out, "client_ca = %s\n", cfg->tls_client_ca);
		if (cfg->tls_priorities != NULL)
			fprintf(out, "priorities = %s\n", cfg->tls_priorities);
	}
	fprintf(out, "\n[log]\norigin = %s\n", cfg->log_origin);
	if (cfg->log_key != NULL)
		fprintf(out, "key = %s\n", cfg->log_key);
	fputs("checkpoint_interval = ", out);
	put_duration(out, cfg->log_checkpoint_s ? cfg->log_checkpoint_s : 10);
	if (cfg->log_witnesses != NULL)
		fprintf(out, "\nwitnesses = %s", cfg->log_witnesses);
	fputs("\n\n[sectors]\nlist = ", out);
	for (unsigned i = 0; i < cfg->n_sectors; i++)
		fprintf(out, "%s%s", i ? ", " : "", cfg->sectors[i]);
	fputs("\n\n[deadlines]\n", out);
	for (int s = 0; s < REPORT_STAGES; s++) {
		fprintf(out, "%s = ", report_stage_name(s));
		put_duration(out, cfg->policy.due_s[s]);
		fputc('\n', out);
	}
	fputs("\n[retention]\nkeep = ", out);
	if (cfg->retention_s > 0)
		put_duration(out, cfg->retention_s);
	else
		fputs("forever", out);
	fputs("\ninterval = ", out);
	put_duration(out, cfg->retention_interval_s);
	fputc('\n', out);
	if (cfg->n_partners > 0)
		fputs("\n[partners]\n", out);
	for (unsigned i = 0; i < cfg->n_partners; i++) {
		const struct tower_partner *pt = &cfg->partners[i];
		fprintf(out, "%s = %s %s ", pt->name, pt->url, pt->token_file);
		put_duration(out, pt->interval_s);
		fputc('\n', out);
	}
	fputs("\n[sessions]\nlifetime = ", out);
	put_duration(out, cfg->session_lifetime_s);
	fputc('\n', out);
	if (cfg->web_root != NULL)
		fprintf(out, "\n[web]\nroot = %s\n", cfg->web_root);
	fputs("\n[monitoring]\nmax_duration = ", out);
	put_duration(out, cfg->monitor_max_s);
	fputs("\ntwo_overseers_after = ", out);
	put_duration(out, cfg->monitor_two_after_s);
	fputc('\n', out);
	const struct case_policy *cp = &cfg->cases;
	fputs("\n[cases]\nmin_duration = ", out);
	put_duration(out, cp->min_duration_s);
	fputs("\nmax_duration = ", out);
	put_duration(out, cp->max_duration_s);
	fputs("\ntwo_overseers_after = ", out);
	put_duration(out, cp->two_overseers_after_s);
	fprintf(out, "\nmax_prefix4 = %u\nmax_prefix6 = %u\none_prefix4 = %u\none_prefix6 = %u\n",
		cp->max_prefix4, cp->max_prefix6, cp->one_prefix4, cp->one_prefix6);
	if (cp->never_block != NULL)
		fprintf(out, "never_block = %s\n", cp->never_block);
	if (cp->lab_allow != NULL)
		fprintf(out, "lab_allow = %s\n", cp->lab_allow);
	const struct tower_stream *sm = &cfg->stream;
	if (sm->enable || sm->urls != NULL) {
		fprintf(out, "\n[stream]\nenable = %s\n", sm->enable ? "yes" : "no");
		if (sm->urls != NULL)
			fprintf(out, "urls = %s\n", sm->urls);
		fprintf(out, "name = %s\nprefix = %s\ndurable = %s\n", sm->name, sm->prefix,
			sm->durable);
		if (sm->filter != NULL)
			fprintf(out, "filter = %s\n", sm->filter);
		else
			fprintf(out, "filter = %s.>\n", sm->prefix);
		fprintf(out, "replicas = %d\nbatch = %d\nconsumers = %d\nack_wait = ", sm->replicas,
			sm->batch, sm->consumers);
		put_duration(out, sm->ack_wait_s);
		fprintf(out, "\nretention = %s\n",
			sm->retention == STREAM_RETAIN_INTEREST	   ? "interest"
			: sm->retention == STREAM_RETAIN_WORKQUEUE ? "workqueue"
								   : "limits");
		if (sm->max_age_s > 0) {
			fputs("max_age = ", out);
			put_duration(out, sm->max_age_s);
			fputc('\n', out);
		}
		if (sm->max_bytes > 0)
			fprintf(out, "max_bytes = %lld\n", (long long)sm->max_bytes);
		if (sm->duplicate_window_s > 0) {
			fputs("duplicate_window = ", out);
			put_duration(out, sm->duplicate_window_s);
			fputc('\n', out);
		}
		const struct stream_auth *au = &sm->auth;
		const char *const an[] = {"user", "password_file", "creds", "ca", "cert", "key"};
		const char *const av[] = {au->user, au->password_file, au->creds,
					  au->ca,   au->cert,		au->key};
		for (size_t i = 0; i < sizeof(an) / sizeof(an[0]); i++)
			if (av[i][0])
				fprintf(out, "%s = %s\n", an[i], av[i]);
	}
	const struct cm_settings *cm = &cfg->cm;
	const char *const names[] = {"dir",	      "rpz_zone",     "sinkhole",
				     "nameserver",    "office",	      "bgp_router_id",
				     "bgp_neighbor",  "rtbh_next_hop4", "rtbh_next_hop6"};
	const char *const vals[] = {cm->dir,	       cm->rpz_zone,	 cm->sinkhole,
				    cm->nameserver,    cm->office,	 cm->bgp_router_id,
				    cm->bgp_neighbor,  cm->rtbh_next_hop4, cm->rtbh_next_hop6};
	fputs("\n[countermeasures]\n", out);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (vals[i] != NULL)
			fprintf(out, "%s = %s\n", names[i], vals[i]);
	if (cm->bgp_local_as)
		fprintf(out, "bgp_local_as = %u\n", (unsigned)cm->bgp_local_as);
	if (cm->bgp_neighbor_as)
		fprintf(out, "bgp_neighbor_as = %u\n", (unsigned)cm->bgp_neighbor_as);
}
