/* casepolicy.c - the never-block list (cases.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "tower/cases.h"

/* What a default entry is, for the refusal that names it. */
struct deflt {
	const char *target, *what;
};

static const struct deflt defaults[] = {
	/* RFC 6890 and the IANA special-purpose registries. */
	{"0.0.0.0/8", "RFC 6890: this network"},
	{"10.0.0.0/8", "RFC 6890: private use"},
	{"100.64.0.0/10", "RFC 6890: shared address space"},
	{"127.0.0.0/8", "RFC 6890: loopback"},
	{"169.254.0.0/16", "RFC 6890: link local"},
	{"172.16.0.0/12", "RFC 6890: private use"},
	{"192.0.0.0/24", "RFC 6890: IETF protocol assignments"},
	{"192.0.2.0/24", "RFC 6890: documentation (TEST-NET-1)"},
	{"192.88.99.0/24", "RFC 6890: 6to4 relay anycast"},
	{"192.168.0.0/16", "RFC 6890: private use"},
	{"198.18.0.0/15", "RFC 6890: benchmarking"},
	{"198.51.100.0/24", "RFC 6890: documentation (TEST-NET-2)"},
	{"203.0.113.0/24", "RFC 6890: documentation (TEST-NET-3)"},
	{"224.0.0.0/4", "multicast"},
	{"240.0.0.0/4", "RFC 6890: reserved"},
	{"::/127", "RFC 6890: unspecified and loopback"},
	{"64:ff9b::/96", "RFC 6890: IPv4-IPv6 translation"},
	{"100::/64", "RFC 6890: discard-only"},
	{"2001::/23", "RFC 6890: IETF protocol assignments"},
	{"2001:db8::/32", "RFC 6890: documentation"},
	{"2002::/16", "RFC 6890: 6to4"},
	{"fc00::/7", "RFC 6890: unique local"},
	{"fe80::/10", "RFC 6890: link local"},
	{"ff00::/8", "multicast"},
	/* The root name servers. */
	{"198.41.0.4", "a.root-servers.net"},
	{"170.247.170.2", "b.root-servers.net"},
	{"199.9.14.201", "b.root-servers.net (former)"},
	{"192.33.4.12", "c.root-servers.net"},
	{"199.7.91.13", "d.root-servers.net"},
	{"192.203.230.10", "e.root-servers.net"},
	{"192.5.5.241", "f.root-servers.net"},
	{"192.112.36.4", "g.root-servers.net"},
	{"198.97.190.53", "h.root-servers.net"},
	{"192.36.148.17", "i.root-servers.net"},
	{"192.58.128.30", "j.root-servers.net"},
	{"193.0.14.129", "k.root-servers.net"},
	{"199.7.83.42", "l.root-servers.net"},
	{"202.12.27.33", "m.root-servers.net"},
	{"2001:503:ba3e::2:30", "a.root-servers.net"},
	{"2801:1b8:10::b", "b.root-servers.net"},
	{"2001:500:200::b", "b.root-servers.net (former)"},
	{"2001:500:2::c", "c.root-servers.net"},
	{"2001:500:2d::d", "d.root-servers.net"},
	{"2001:500:a8::e", "e.root-servers.net"},
	{"2001:500:2f::f", "f.root-servers.net"},
	{"2001:500:12::d0d", "g.root-servers.net"},
	{"2001:500:1::53", "h.root-servers.net"},
	{"2001:7fe::53", "i.root-servers.net"},
	{"2001:503:c27::2:30", "j.root-servers.net"},
	{"2001:7fd::1", "k.root-servers.net"},
	{"2001:500:9f::42", "l.root-servers.net"},
	{"2001:dc3::35", "m.root-servers.net"},
	{"root-servers.net", "the root name servers"},
	{"gtld-servers.net", "the gTLD name servers"},
	{"iana-servers.net", "IANA's name servers"},
	/* Major public resolvers. */
	{"8.8.8.8", "Google Public DNS"},
	{"8.8.4.4", "Google Public DNS"},
	{"2001:4860:4860::8888", "Google Public DNS"},
	{"2001:4860:4860::8844", "Google Public DNS"},
	{"dns.google", "Google Public DNS"},
	{"1.1.1.1", "Cloudflare DNS"},
	{"1.0.0.1", "Cloudflare DNS"},
	{"2606:4700:4700::1111", "Cloudflare DNS"},
	{"2606:4700:4700::1001", "Cloudflare DNS"},
	{"one.one.one.one", "Cloudflare DNS"},
	{"cloudflare-dns.com", "Cloudflare DNS"},
	{"9.9.9.9", "Quad9"},
	{"149.112.112.112", "Quad9"},
	{"2620:fe::fe", "Quad9"},
	{"2620:fe::9", "Quad9"},
	{"quad9.net", "Quad9"},
	{"208.67.222.222", "OpenDNS"},
	{"208.67.220.220", "OpenDNS"},
	{"2620:119:35::35", "OpenDNS"},
	{"2620:119:53::53", "OpenDNS"},
};

#define NDEFAULTS (sizeof(defaults) / sizeof(defaults[0]))

struct entry {
	struct cm_target t;
	char text[CM_PREFIX_STRLEN > 254 ? CM_PREFIX_STRLEN : 254];
	const char *what;
};

struct case_guard {
	struct entry *e;
	size_t n, narrowed;
};

int case_prefix_overlap(const struct cm_target *a, const struct cm_target *b)
{
	unsigned plen = a->plen < b->plen ? a->plen : b->plen;

	if (a->kind != CM_TARGET_PREFIX || b->kind != CM_TARGET_PREFIX ||
	    a->addr.family != b->addr.family)
		return 0;
	for (unsigned i = 0; i < plen; i++) {
		unsigned byte = i / 8, bit = 7 - i % 8;

		if (((a->addr.a[byte] >> bit) & 1) != ((b->addr.a[byte] >> bit) & 1))
			return 0;
	}
	return 1;
}

/* name is d or lies under it. */
static int under(const char *name, const char *d)
{
	size_t n = strlen(name), m = strlen(d);

	return n == m ? strcmp(name, d) == 0
		      : n > m && name[n - m - 1] == '.' && strcmp(name + n - m, d) == 0;
}

static int overlap(const struct cm_target *a, const struct cm_target *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == CM_TARGET_PREFIX)
		return case_prefix_overlap(a, b);
	return under(a->name, b->name) || under(b->name, a->name);
}

/* Calls fn on each entry of a list ("a, b, c"); stops at the first < 0. */
static int each(const char *list, int (*fn)(const struct cm_target *, const char *, void *),
		void *arg, char *err, size_t errlen)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		char item[300];
		size_t len;
		struct cm_target t;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p, ", \t");
		if (len >= sizeof(item) || (memcpy(item, p, len), item[len] = '\0',
					    cm_target_parse(item, &t) < 0)) {
			snprintf(err, errlen, "'%.*s' is not an address, a prefix without host bits or a "
					      "domain name",
				 (int)(len > 100 ? 100 : len), p);
			return YG_EINVAL;
		}
		if (fn != NULL && fn(&t, item, arg) < 0)
			return YG_ENOMEM;
		p += len;
	}
	return 0;
}

int case_list_check(const char *list, char *err, size_t errlen)
{
	return each(list, NULL, NULL, err, errlen) < 0 ? -1 : 0;
}

static int add(struct case_guard *g, const struct cm_target *t, const char *text, const char *what)
{
	struct entry *e = yg_realloc(g->e, (g->n + 1) * sizeof(*e));

	if (e == NULL)
		return YG_ENOMEM;
	g->e = e;
	e[g->n].t = *t;
	snprintf(e[g->n].text, sizeof(e[g->n].text), "%s", text);
	e[g->n].what = what;
	g->n++;
	return 0;
}

static int add_configured(const struct cm_target *t, const char *text, void *arg)
{
	return add(arg, t, text, "the configuration's never_block");
}

/* Drops every entry t overlaps. */
static int allow(const struct cm_target *t, const char *text, void *arg)
{
	struct case_guard *g = arg;
	size_t k = 0;

	(void)text;
	for (size_t i = 0; i < g->n; i++) {
		if (overlap(&g->e[i].t, t))
			g->narrowed++;
		else
			g->e[k++] = g->e[i];
	}
	g->n = k;
	return 0;
}

int case_guard_new(const char *added, const char *allowed, struct case_guard **out, char *err,
		   size_t errlen)
{
	struct case_guard *g = yg_calloc(1, sizeof(*g));
	int rc = 0;

	if (g == NULL)
		return YG_ENOMEM;
	for (size_t i = 0; i < NDEFAULTS && rc == 0; i++) {
		struct cm_target t;

		if (cm_target_parse(defaults[i].target, &t) < 0) {
			snprintf(err, errlen, "the default never-block entry %s does not parse",
				 defaults[i].target);
			rc = YG_EINVAL;
		} else {
			rc = add(g, &t, defaults[i].target, defaults[i].what);
		}
	}
	if (rc == 0)
		rc = each(allowed, allow, g, err, errlen);
	if (rc == 0)
		rc = each(added, add_configured, g, err, errlen);
	if (rc < 0) {
		case_guard_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

void case_guard_free(struct case_guard *g)
{
	if (g == NULL)
		return;
	free(g->e);
	free(g);
}

int case_guard_hit(const struct case_guard *g, const struct cm_target *t, char *why, size_t cap)
{
	for (size_t i = 0; i < g->n; i++)
		if (overlap(t, &g->e[i].t)) {
			snprintf(why, cap, "%s (%s)", g->e[i].text, g->e[i].what);
			return 1;
		}
	return 0;
}

size_t case_guard_narrowed(const struct case_guard *g)
{
	return g->narrowed;
}
