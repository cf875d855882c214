/* dnsanom.c - DNS tunnelling and algorithmically generated domains.
 *
 * Tunnelling: a client asking for many distinct names under one domain
 * whose part below the registered domain is long (dns.tunnel_min_len) and
 * random-looking (over 3.5 bits of entropy per character): data encoded
 * into names. Algorithmic domains: a client receiving many NXDOMAIN
 * answers for distinct names (dns.nx_names in dns.window), as malware
 * cycling through generated rendezvous domains does. */
#include "detect/detect_int.h"

#define NAME_SAMPLES 3
#define NAME_SAMPLE_LEN 64

struct dkey {
	uint8_t client[17];
	uint8_t base_hash[8]; /* 0 for the NXDOMAIN table */
};

struct dns_rec {
	struct window w;
	uint64_t queries;
	struct distinct names;
	uint8_t n_samples;
	char base[NAME_SAMPLE_LEN];
	char sample[NAME_SAMPLES][NAME_SAMPLE_LEN];
};

int dnsanom_init(struct detect *d)
{
	d->dns_tun = dtable_new(d->cfg.table_entries, sizeof(struct dkey), sizeof(struct dns_rec));
	d->dns_nx = dtable_new(d->cfg.table_entries, sizeof(struct dkey), sizeof(struct dns_rec));
	return d->dns_tun && d->dns_nx ? 0 : -1;
}

/* Second-level labels under which registrations happen one level deeper
 * (co.jp, ac.uk, com.au, ...) when the top level is a country code. */
static int is_registry_sld(const char *l, size_t n)
{
	static const char *const slds[] = {"co", "com", "net", "org", "ac", "go", "or",
					   "ne", "gov", "edu", "lg", "ed", "gr", "ad"};
	for (size_t i = 0; i < sizeof(slds) / sizeof(slds[0]); i++)
		if (strlen(slds[i]) == n && strncasecmp(slds[i], l, n) == 0)
			return 1;
	return 0;
}

/* Offset in name where its registered domain begins ("evil.co.jp" in
 * "x.y.evil.co.jp"), or 0 when the name is no longer than that. */
static size_t base_offset(const char *name, size_t len)
{
	size_t dots[4] = {0}, nd = 0;

	for (size_t i = len; i-- > 0;) {
		if (name[i] != '.')
			continue;
		dots[nd++] = i;
		if (nd == 3)
			break;
	}
	if (nd < 2)
		return 0;
	/* dots[0] before the top level, dots[1] before the second level. */
	size_t tld_len = len - dots[0] - 1;
	size_t sld_len = dots[0] - dots[1] - 1;
	if (tld_len == 2 && is_registry_sld(name + dots[1] + 1, sld_len))
		return nd >= 3 ? dots[2] + 1 : 0;
	return dots[1] + 1;
}

static double entropy(const char *s, size_t n)
{
	unsigned counts[256] = {0};
	size_t total = 0;
	double e = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.')
			continue;
		counts[(uint8_t)s[i]]++;
		total++;
	}
	if (total == 0)
		return 0;
	for (int c = 0; c < 256; c++) {
		if (counts[c] == 0)
			continue;
		double p = (double)counts[c] / (double)total;
		e -= p * log2(p);
	}
	return e;
}

static void sample_name(struct dns_rec *r, const char *name, size_t len)
{
	if (r->n_samples == NAME_SAMPLES)
		return;
	if (len >= NAME_SAMPLE_LEN)
		len = NAME_SAMPLE_LEN - 1;
	memcpy(r->sample[r->n_samples], name, len);
	r->sample[r->n_samples][len] = '\0';
	r->n_samples++;
}

static struct dns_rec *rec_for(struct detect *d, struct dtable *t, const struct ip_addr *client,
			       uint64_t base_hash, uint64_t now)
{
	struct dkey k;
	struct dns_rec *r;
	int is_new;

	memset(&k, 0, sizeof(k));
	k.client[0] = client->family;
	memcpy(k.client + 1, client->a, 16);
	memcpy(k.base_hash, &base_hash, 8);
	r = dtable_get(t, &k, now, &is_new);
	if (window_roll(&r->w, now, d->cfg.dns_window_s)) {
		r->queries = 0;
		memset(&r->names, 0, sizeof(r->names));
		r->n_samples = 0;
	}
	return r;
}

static void emit(struct detect *d, uint32_t sid, const struct flow *f, const struct packet *pkt,
		 const struct ip_addr *client, const struct ip_addr *server, struct dns_rec *r)
{
	struct alert a;

	alert_init(&a, sid, pkt->ts_us);
	a.src = *client;
	a.dst = *server;
	a.proto = pkt->ip_proto;
	a.flow_id = f->flow_id;
	a.window_start_us = r->w.start_us;
	a.window_end_us = pkt->ts_us;
	alert_num(&a, "distinct_names", distinct_count(&r->names));
	alert_num(&a, "queries", r->queries);
	if (sid == 9500001)
		alert_str(&a, "domain", r->base, strlen(r->base));
	for (int i = 0; i < r->n_samples; i++)
		alert_str(&a, "sample_name", r->sample[i], strlen(r->sample[i]));
	detect_emit(d, &a);
}

void dnsanom_dns(struct detect *d, const struct flow *f, const struct packet *pkt,
		 const struct dns_meta *m)
{
	struct dns_rec *r;
	uint64_t h = hash_bytes(m->qname, m->qname_len);

	if (m->qname_len == 0)
		return;
	if (m->is_response) {
		if (m->rcode != 3)
			return;
		r = rec_for(d, d->dns_nx, &pkt->dst, 0, pkt->ts_us);
		r->queries++;
		distinct_add(&r->names, h);
		sample_name(r, m->qname, m->qname_len);
		if (!r->w.alerted && distinct_count(&r->names) >= d->cfg.dns_nx_names) {
			r->w.alerted = 1;
			emit(d, 9500002, f, pkt, &pkt->dst, &pkt->src, r);
		}
		return;
	}
	size_t base = base_offset(m->qname, m->qname_len);
	if (base == 0 || base - 1 < d->cfg.dns_tunnel_min_len)
		return;
	if (entropy(m->qname, base - 1) < 3.5)
		return;
	uint64_t bh = hash_bytes(m->qname + base, m->qname_len - base);
	r = rec_for(d, d->dns_tun, &pkt->src, bh, pkt->ts_us);
	if (r->base[0] == '\0') {
		size_t bl = m->qname_len - base;
		if (bl >= NAME_SAMPLE_LEN)
			bl = NAME_SAMPLE_LEN - 1;
		memcpy(r->base, m->qname + base, bl);
		r->base[bl] = '\0';
	}
	r->queries++;
	distinct_add(&r->names, h);
	sample_name(r, m->qname, m->qname_len);
	if (!r->w.alerted && distinct_count(&r->names) >= d->cfg.dns_tunnel_names) {
		r->w.alerted = 1;
		emit(d, 9500001, f, pkt, &pkt->src, &pkt->dst, r);
	}
}
