/* target.c - parsing and checking what a case names, before any of it
 * reaches a zone file or a router configuration. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "counter/counter_int.h"

static const char *const action_names[CM_ACTION_COUNT] = {"sinkhole", "rtbh", "flowspec",
                                                          "blocklist", "notice"};

const char *cm_action_name(enum cm_action a)
{
	if ((unsigned)a >= CM_ACTION_COUNT)
		return NULL;
	return action_names[a];
}

int cm_action_parse(const char *s, enum cm_action *out)
{
	for (int i = 0; s != NULL && i < CM_ACTION_COUNT; i++) {
		if (strcmp(s, action_names[i]) == 0) {
			*out = (enum cm_action)i;
			return 0;
		}
	}
	return YG_EINVAL;
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

int cm_domain_parse(const char *s, char *out)
{
	size_t len = strlen(s), i, label = 0, labels = 0, last = 0;
	int numeric = 1;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return YG_EINVAL;
	for (i = 0; i <= len; i++) {
		char ch = i < len ? s[i] : '.';
		if (ch == '.') {
			/* LDH: no empty label, none longer than 63, no hyphen
			 * at either end. */
			if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
				return YG_EINVAL;
			labels++;
			last = i - label;
			if (i < len)
				numeric = 1;
			label = 0;
			out[i] = '.';
			continue;
		}
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || is_digit(ch) || ch == '-' || ch == '_'))
			return YG_EINVAL;
		if (!is_digit(ch))
			numeric = 0;
		out[i] = ch;
		label++;
	}
	out[len] = '\0';
	/* A numeric last label is an address, not a name; one starting with
	 * "rpz-" would turn a name into an RPZ trigger of another kind. */
	if (labels < 2 || numeric || strncmp(out + last, "rpz-", 4) == 0)
		return YG_EINVAL;
	return 0;
}

/* Parses a prefix length: decimal, no sign, no leading zero, 1..max. */
static int parse_plen(const char *s, int max, uint8_t *out)
{
	int v = 0;

	if (*s == '\0' || (s[0] == '0') || strlen(s) > 3)
		return YG_EINVAL;
	for (; *s; s++) {
		if (!is_digit(*s))
			return YG_EINVAL;
		v = v * 10 + (*s - '0');
	}
	if (v < 1 || v > max)
		return YG_EINVAL;
	*out = (uint8_t)v;
	return 0;
}

static int host_bits_zero(const struct ip_addr *a, int plen)
{
	int n = ipaddr_len(a) * 8;

	for (int bit = plen; bit < n; bit++)
		if (a->a[bit / 8] & (0x80 >> (bit % 8)))
			return 0;
	return 1;
}

int cm_target_parse(const char *s, struct cm_target *t)
{
	char buf[IPADDR_STRLEN + 1];
	const char *slash;
	size_t alen;
	int max;

	memset(t, 0, sizeof(*t));
	if (s == NULL || *s == '\0' || strlen(s) > 253)
		return YG_EINVAL;
	if (strchr(s, ':') != NULL || (is_digit(s[0]) && strspn(s, "0123456789./") == strlen(s))) {
		slash = strchr(s, '/');
		alen = slash ? (size_t)(slash - s) : strlen(s);
		if (alen == 0 || alen >= sizeof(buf))
			return YG_EINVAL;
		memcpy(buf, s, alen);
		buf[alen] = '\0';
		if (ipaddr_parse(buf, &t->addr) < 0)
			return YG_EINVAL;
		max = t->addr.family == 4 ? 32 : 128;
		/* ::ffff:a.b.c.d would reach IPv4 hosts through IPv6 sets
		 * and triggers that never match: name the IPv4 address. */
		if (t->addr.family == 6 &&
		    memcmp(t->addr.a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
			return YG_EINVAL;
		if (slash == NULL)
			t->plen = (uint8_t)max;
		else if (parse_plen(slash + 1, max, &t->plen) < 0)
			return YG_EINVAL;
		if (!host_bits_zero(&t->addr, t->plen))
			return YG_EINVAL;
		t->kind = CM_TARGET_PREFIX;
		return 0;
	}
	if (s[strlen(s) - 1] == '.') /* a target names no root-relative form */
		return YG_EINVAL;
	if (cm_domain_parse(s, t->name) < 0)
		return YG_EINVAL;
	t->kind = CM_TARGET_DOMAIN;
	return 0;
}

void cm_prefix_fmt(const struct cm_target *t, int with_host_len, char *out)
{
	int len = ipaddr_fmt(&t->addr, out);

	if (with_host_len || t->plen != ipaddr_len(&t->addr) * 8)
		snprintf(out + len, CM_PREFIX_STRLEN - (size_t)len, "/%u", t->plen);
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return YG_EINVAL;
}

/* Printable ASCII without space: evidence references, mail addresses. */
static int is_token(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return n > 0 && n <= max;
}

/* A mail address for a To: header: a conservative local part, a valid
 * domain. Anything that could end a header or open a group is refused. */
static int mail_ok(const char *s)
{
	const char *at = s ? strrchr(s, '@') : NULL;
	char dom[254];

	if (at == NULL || at == s || at - s > 64 || !is_token(s, 254))
		return 0;
	for (const char *p = s; p < at; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || is_digit(*p) ||
		      strchr("._+-", *p) != NULL))
			return 0;
	return cm_domain_parse(at + 1, dom) == 0 && at[strlen(at) - 1] != '.';
}

/* Length of the valid UTF-8 sequence (two to four bytes) at p, or 0. */
static size_t utf8_len(const unsigned char *p)
{
	size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	uint32_t cp = p[0] & (0x7f >> len);

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Free text: valid UTF-8, newlines and tabs if multiline, no other
 * control character. */
static int text_ok(const char *s, size_t max, int multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, run;

	while (p && *p) {
		if (*p >= 0x80) {
			if ((run = utf8_len(p)) == 0)
				return 0;
			p += run;
			n += run;
			continue;
		}
		if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\t'))) || *p == 0x7f)
			return 0;
		p++;
		n++;
	}
	return n <= max;
}

int cm_case_check(const struct cm_case *c, const struct cm_config *cfg, char *err, size_t errlen)
{
	struct cm_target t;
	const char *act = cm_action_name(c->action);
	int has_proto = c->proto != NULL && c->proto[0] != '\0';

	if (c->id <= 0)
		return fail(err, errlen, "case %lld: id must be positive", (long long)c->id);
	if (act == NULL)
		return fail(err, errlen, "case %lld: unknown action %d", (long long)c->id,
		            (int)c->action);
	if (cm_target_parse(c->target, &t) < 0)
		return fail(err, errlen,
		            "case %lld: target is neither a canonical address or prefix "
		            "without host bits nor a valid domain name",
		            (long long)c->id);
	if (t.kind == CM_TARGET_DOMAIN && (c->action == CM_RTBH || c->action == CM_FLOWSPEC))
		return fail(err, errlen, "case %lld: %s needs an address or prefix, not a domain",
		            (long long)c->id, act);
	if (c->action == CM_FLOWSPEC) {
		if (has_proto && strcmp(c->proto, "tcp") != 0 && strcmp(c->proto, "udp") != 0 &&
		    strcmp(c->proto, "icmp") != 0)
			return fail(err, errlen, "case %lld: proto must be tcp, udp or icmp",
			            (long long)c->id);
		if (c->nports > CM_MAX_PORTS || (c->nports > 0 && c->ports == NULL))
			return fail(err, errlen, "case %lld: more than %d ports", (long long)c->id,
			            CM_MAX_PORTS);
		if (c->nports > 0 && has_proto && strcmp(c->proto, "icmp") == 0)
			return fail(err, errlen, "case %lld: icmp has no ports", (long long)c->id);
		for (size_t i = 0; i < c->nports; i++)
			if (c->ports[i] == 0)
				return fail(err, errlen, "case %lld: port 0", (long long)c->id);
	} else if (has_proto || c->nports > 0) {
		return fail(err, errlen, "case %lld: proto and ports are for flowspec only",
		            (long long)c->id);
	}
	if (c->action == CM_NOTICE) {
		if (!mail_ok(c->contact))
			return fail(err, errlen, "case %lld: contact is not a plain mail address",
			            (long long)c->id);
		if (c->nevidence > CM_MAX_EVIDENCE || (c->nevidence > 0 && c->evidence == NULL))
			return fail(err, errlen, "case %lld: more than %d evidence references",
			            (long long)c->id, CM_MAX_EVIDENCE);
		for (size_t i = 0; i < c->nevidence; i++)
			if (c->evidence[i] == NULL || !is_token(c->evidence[i], 200) ||
			    strchr(c->evidence[i], ':') == NULL)
				return fail(
				    err, errlen,
				    "case %lld: evidence %zu is not KIND:ID in printable ASCII",
				    (long long)c->id, i);
	}
	if (!text_ok(c->justification, CM_MAX_TEXT, 1))
		return fail(err, errlen,
		            "case %lld: justification is not UTF-8 text of at most %d bytes",
		            (long long)c->id, CM_MAX_TEXT);
	if (c->action == CM_SINKHOLE && t.kind == CM_TARGET_DOMAIN &&
	    strlen(t.name) + 2 + 1 + strlen(cm_cfg_zone(cfg)) > 253)
		return fail(err, errlen, "case %lld: target too long for the RPZ zone %s",
		            (long long)c->id, cm_cfg_zone(cfg));
	return 0;
}

static int addr_ok(const char *s, int family)
{
	struct ip_addr a;

	return s != NULL && ipaddr_parse(s, &a) == 0 && (family == 0 || a.family == family);
}

int cm_config_check(const struct cm_config *cfg, char *err, size_t errlen)
{
	char name[254];

	if (cfg == NULL)
		return 0; /* every default is valid */
	if (cfg->rpz_zone && cm_domain_parse(cfg->rpz_zone, name) < 0)
		return fail(err, errlen, "rpz zone %s is not a valid domain name", cfg->rpz_zone);
	if (!cm_cfg_nxdomain(cfg) && cm_domain_parse(cfg->sinkhole, name) < 0)
		return fail(err, errlen, "sinkhole %s is not a valid domain name", cfg->sinkhole);
	/* "localhost" is the customary NS of a policy zone: one label. */
	if (cfg->nameserver && strcmp(cfg->nameserver, "localhost") != 0 &&
	    cm_domain_parse(cfg->nameserver, name) < 0)
		return fail(err, errlen, "nameserver %s is not a valid domain name",
		            cfg->nameserver);
	if (cfg->nft_table) {
		size_t len = strlen(cfg->nft_table);
		if (len == 0 || len > 32 ||
		    strspn(cfg->nft_table, "abcdefghijklmnopqrstuvwxyz_") != len)
			return fail(err, errlen, "nft table %s: use 1 to 32 of a-z and _",
			            cfg->nft_table);
	}
	if (cfg->bgp_router_id && !addr_ok(cfg->bgp_router_id, 4))
		return fail(err, errlen, "bgp router id %s is not an IPv4 address",
		            cfg->bgp_router_id);
	if (cfg->bgp_neighbor && !addr_ok(cfg->bgp_neighbor, 0))
		return fail(err, errlen, "bgp neighbor %s is not an address", cfg->bgp_neighbor);
	if (cfg->bgp_local_address && !addr_ok(cfg->bgp_local_address, 0))
		return fail(err, errlen, "bgp local address %s is not an address",
		            cfg->bgp_local_address);
	if (cfg->rtbh_next_hop4 && !addr_ok(cfg->rtbh_next_hop4, 4))
		return fail(err, errlen, "rtbh next hop %s is not an IPv4 address",
		            cfg->rtbh_next_hop4);
	if (cfg->rtbh_next_hop6 && !addr_ok(cfg->rtbh_next_hop6, 6))
		return fail(err, errlen, "rtbh next hop %s is not an IPv6 address",
		            cfg->rtbh_next_hop6);
	if (cfg->bgp_multihop > 255)
		return fail(err, errlen, "bgp multihop %u exceeds 255", cfg->bgp_multihop);
	if (!text_ok(cfg->office, 200, 0))
		return fail(err, errlen,
		            "office is not one line of UTF-8 text of at most 200 bytes");
	return 0;
}

const char *cm_cfg_zone(const struct cm_config *cfg)
{
	return cfg && cfg->rpz_zone ? cfg->rpz_zone : "rpz.yagura.local";
}

const char *cm_cfg_nameserver(const struct cm_config *cfg)
{
	return cfg && cfg->nameserver ? cfg->nameserver : "localhost";
}

const char *cm_cfg_table(const struct cm_config *cfg)
{
	return cfg && cfg->nft_table ? cfg->nft_table : "yagura";
}

int cm_cfg_nxdomain(const struct cm_config *cfg)
{
	return cfg == NULL || cfg->sinkhole == NULL || cfg->sinkhole[0] == '\0' ||
	       strcmp(cfg->sinkhole, ".") == 0;
}

static int by_id(const void *a, const void *b)
{
	int64_t x = ((const struct cm_item *)a)->c->id, y = ((const struct cm_item *)b)->c->id;

	return (x > y) - (x < y);
}

int cm_select(const struct cm_case *c, size_t n, int action, int64_t now,
              const struct cm_config *cfg, struct cm_item **out, size_t *nout)
{
	struct cm_item *it;
	size_t k = 0;

	*out = NULL;
	*nout = 0;
	it = yg_calloc(n ? n : 1, sizeof(*it));
	if (it == NULL)
		return YG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (cm_case_check(&c[i], cfg, NULL, 0) < 0) {
			free(it);
			return YG_EINVAL;
		}
		if ((action >= 0 && (int)c[i].action != action) || c[i].expires <= now)
			continue;
		it[k].c = &c[i];
		it[k].expires = c[i].expires;
		if (cm_target_parse(c[i].target, &it[k].t) < 0) {
			free(it);
			return YG_EINVAL;
		}
		k++;
	}
	qsort(it, k, sizeof(*it), by_id);
	for (size_t i = 1; i < k; i++) {
		if (it[i].c->id == it[i - 1].c->id) {
			free(it);
			return YG_EINVAL;
		}
	}
	*out = it;
	*nout = k;
	return 0;
}

void cm_put_time(struct jbuf *b, int64_t us)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;
	char tmp[32];

	if (us < 0 || gmtime_r(&sec, &tm) == NULL ||
	    strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		jbuf_lit(b, "1970-01-01T00:00:00Z");
		return;
	}
	jbuf_puts(b, tmp);
}
