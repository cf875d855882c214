/* session.c - exporter sessions and their templates, within the limits of
 * struct nf_config: a session is (exporter address, version, domain), found
 * through a chained hash; its templates sit in an array sorted by id and
 * searched by bisection, so that a hostile exporter holding max_templates
 * costs a data set log2(max_templates) comparisons. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/cursor.h"
#include "base/hash.h"
#include "netflow/netflow_int.h"

static const char *const counter_names[NF_C_MAX] = {
    [NF_C_DATAGRAMS] = "datagrams",
    [NF_C_DATAGRAMS_V5] = "datagrams_v5",
    [NF_C_DATAGRAMS_V9] = "datagrams_v9",
    [NF_C_DATAGRAMS_IPFIX] = "datagrams_ipfix",
    [NF_C_RECORDS] = "records",
    [NF_C_OPTION_RECORDS] = "option_records",
    [NF_C_TEMPLATES_ADDED] = "templates_added",
    [NF_C_TEMPLATES_CHANGED] = "templates_changed",
    [NF_C_TEMPLATES_WITHDRAWN] = "templates_withdrawn",
    [NF_C_TEMPLATES_EXPIRED] = "templates_expired",
    [NF_C_SEQ_GAPS] = "seq_gaps",
    [NF_C_SEQ_LOST] = "seq_lost",
    [NF_C_SEQ_LATE] = "seq_late",
    [NF_C_BAD_VERSION] = "bad_version",
    [NF_C_SHORT_HEADER] = "short_header",
    [NF_C_BAD_LENGTH] = "bad_length",
    [NF_C_BAD_SET] = "bad_set",
    [NF_C_RESERVED_SET] = "reserved_set",
    [NF_C_BAD_TEMPLATE] = "bad_template",
    [NF_C_TEMPLATE_FIELDS] = "template_fields",
    [NF_C_TEMPLATE_LENGTH] = "template_length",
    [NF_C_TEMPLATE_LIMIT] = "template_limit",
    [NF_C_EXPORTER_LIMIT] = "exporter_limit",
    [NF_C_NO_TEMPLATE] = "no_template",
    [NF_C_RECORD_TRUNCATED] = "record_truncated",
    [NF_C_NO_ADDRESS] = "no_address",
    [NF_C_FIELD_LENGTH] = "field_length",
    [NF_C_SAMPLER_LIMIT] = "sampler_limit",
    [NF_C_NOMEM] = "nomem",
};

const char *nf_counter_name(enum nf_counter c)
{
	if ((unsigned)c >= NF_C_MAX)
		return "unknown";
	return counter_names[c];
}

struct nf_collector *nf_collector_new(const struct nf_config *cfg, nf_record_fn on_record,
                                      void *ctx)
{
	struct nf_collector *c;
	uint32_t nb = 16;

	if (cfg == NULL || on_record == NULL || cfg->max_exporters < 1 ||
	    cfg->max_exporters > 1000000 || cfg->max_templates < 1 || cfg->max_templates > 65280)
		return NULL;
	c = yg_calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->cfg = *cfg;
	c->on_record = on_record;
	c->ctx = ctx;
	while (nb < cfg->max_exporters)
		nb <<= 1;
	c->nbuckets = nb;
	c->bucket = yg_calloc(nb, sizeof(*c->bucket));
	c->sess = yg_calloc(cfg->max_exporters, sizeof(*c->sess));
	c->free_slots = yg_malloc(cfg->max_exporters * sizeof(*c->free_slots));
	if (c->bucket == NULL || c->sess == NULL || c->free_slots == NULL) {
		nf_collector_free(c);
		return NULL;
	}
	for (uint32_t i = 0; i < cfg->max_exporters; i++)
		c->free_slots[i] = cfg->max_exporters - 1 - i;
	c->nfree = cfg->max_exporters;
	return c;
}

static void session_free(struct nf_session *s)
{
	for (uint32_t i = 0; i < s->ntmpl; i++)
		free(s->tmpl[i]);
	free(s->tmpl);
	free(s);
}

void nf_collector_free(struct nf_collector *c)
{
	if (c == NULL)
		return;
	if (c->sess != NULL)
		for (uint32_t i = 0; i < c->cfg.max_exporters; i++)
			if (c->sess[i] != NULL)
				session_free(c->sess[i]);
	free(c->sess);
	free(c->bucket);
	free(c->free_slots);
	free(c);
}

static uint32_t session_bucket(const struct nf_collector *c, const struct ip_addr *addr,
                               uint8_t version, uint32_t domain)
{
	uint8_t key[24];

	memset(key, 0, sizeof(key));
	key[0] = addr->family;
	memcpy(key + 1, addr->a, 16);
	key[17] = version;
	memcpy(key + 18, &domain, 4);
	return (uint32_t)yg_hash64(key, sizeof(key)) & (c->nbuckets - 1);
}

static void session_unlink(struct nf_collector *c, uint32_t slot)
{
	struct nf_session *s = c->sess[slot];
	uint32_t *pp = &c->bucket[session_bucket(c, &s->addr, s->version, s->domain)];

	while (*pp != 0 && *pp != slot + 1)
		pp = &c->sess[*pp - 1]->hnext;
	if (*pp == slot + 1)
		*pp = s->hnext;
	c->stats.templates -= s->ntmpl;
	session_free(s);
	c->sess[slot] = NULL;
	c->free_slots[c->nfree++] = slot;
	c->nsess--;
	c->stats.exporters = c->nsess;
}

static int session_idle(const struct nf_collector *c, const struct nf_session *s, uint64_t now_us)
{
	return c->cfg.template_timeout_us != 0 && now_us > s->last_us &&
	       now_us - s->last_us > c->cfg.template_timeout_us;
}

struct nf_session *nf_session_get(struct nf_collector *c, const struct ip_addr *addr,
                                  uint8_t version, uint32_t domain, uint64_t now_us)
{
	uint32_t b = session_bucket(c, addr, version, domain);
	struct nf_session *s;
	uint32_t slot;

	for (uint32_t i = c->bucket[b]; i != 0; i = s->hnext) {
		s = c->sess[i - 1];
		if (s->version == version && s->domain == domain &&
		    s->addr.family == addr->family && memcmp(s->addr.a, addr->a, 16) == 0) {
			s->last_us = now_us;
			return s;
		}
	}
	/* Full: sweep for sessions gone quiet, at most once a second, so that
	 * a flood of new (spoofed) exporters does not make every datagram
	 * walk all sessions. */
	if (c->nfree == 0 && (c->last_sweep_us == 0 || now_us < c->last_sweep_us ||
	                      now_us - c->last_sweep_us >= 1000000)) {
		c->last_sweep_us = now_us;
		nf_collector_expire(c, now_us);
	}
	if (c->nfree == 0) {
		nf_count(c, NF_C_EXPORTER_LIMIT);
		return NULL;
	}
	s = yg_calloc(1, sizeof(*s));
	if (s == NULL) {
		nf_count(c, NF_C_NOMEM);
		return NULL;
	}
	s->addr.family = addr->family;
	memcpy(s->addr.a, addr->a, 16);
	s->version = version;
	s->domain = domain;
	s->last_us = now_us;
	slot = c->free_slots[--c->nfree];
	c->sess[slot] = s;
	s->hnext = c->bucket[b];
	c->bucket[b] = slot + 1;
	c->nsess++;
	c->stats.exporters = c->nsess;
	return s;
}

void nf_session_seq(struct nf_collector *c, struct nf_session *s, uint32_t seq, uint32_t n,
                    int known)
{
	uint32_t diff = seq - s->next_seq;

	if (s->seq_known && diff != 0) {
		if (diff < 0x80000000u) {
			nf_count(c, NF_C_SEQ_GAPS);
			c->stats.c[NF_C_SEQ_LOST] += diff;
			s->seq_gaps++;
			s->seq_lost += diff;
		} else {
			/* Reordered: keep expecting what follows the newest
			 * message. Twice late in a row is a restarted exporter:
			 * follow it. */
			nf_count(c, NF_C_SEQ_LATE);
			if (++s->late_run < 2)
				return;
		}
	}
	s->late_run = 0;
	s->seq_known = (uint8_t)(known != 0);
	s->next_seq = seq + n;
}

static int template_expired(const struct nf_collector *c, const struct nf_template *t,
                            uint64_t now_us)
{
	return c->cfg.template_timeout_us != 0 && now_us > t->last_us &&
	       now_us - t->last_us > c->cfg.template_timeout_us;
}

static void template_drop(struct nf_collector *c, struct nf_session *s, uint32_t i)
{
	free(s->tmpl[i]);
	memmove(&s->tmpl[i], &s->tmpl[i + 1], (s->ntmpl - i - 1) * sizeof(*s->tmpl));
	s->ntmpl--;
	c->stats.templates--;
}

/* The index of id in the sorted array, or where it would go. */
static uint32_t template_pos(const struct nf_session *s, uint16_t id)
{
	uint32_t lo = 0, hi = s->ntmpl;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->tmpl[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct nf_template *nf_template_find(struct nf_collector *c, struct nf_session *s, uint16_t id,
                                     uint64_t now_us)
{
	uint32_t i = template_pos(s, id);

	if (i == s->ntmpl || s->tmpl[i]->id != id)
		return NULL;
	if (template_expired(c, s->tmpl[i], now_us)) {
		template_drop(c, s, i);
		nf_count(c, NF_C_TEMPLATES_EXPIRED);
		return NULL;
	}
	return s->tmpl[i];
}

static void expire_templates(struct nf_collector *c, struct nf_session *s, uint64_t now_us)
{
	for (uint32_t i = 0; i < s->ntmpl;) {
		if (template_expired(c, s->tmpl[i], now_us)) {
			template_drop(c, s, i);
			nf_count(c, NF_C_TEMPLATES_EXPIRED);
		} else {
			i++;
		}
	}
}

void nf_template_put(struct nf_collector *c, struct nf_session *s, struct nf_template *t)
{
	uint32_t i = template_pos(s, t->id);

	if (i < s->ntmpl && s->tmpl[i]->id == t->id) {
		if (s->tmpl[i]->wire_hash != t->wire_hash || s->tmpl[i]->options != t->options)
			nf_count(c, NF_C_TEMPLATES_CHANGED);
		free(s->tmpl[i]);
		s->tmpl[i] = t;
		return;
	}
	if (s->ntmpl >= c->cfg.max_templates) {
		expire_templates(c, s, t->last_us);
		i = template_pos(s, t->id);
	}
	if (s->ntmpl >= c->cfg.max_templates) {
		nf_count(c, NF_C_TEMPLATE_LIMIT);
		free(t);
		return;
	}
	if (s->ntmpl == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 8;
		struct nf_template **n;

		if (cap > c->cfg.max_templates)
			cap = c->cfg.max_templates;
		n = yg_realloc(s->tmpl, cap * sizeof(*n));
		if (n == NULL) {
			nf_count(c, NF_C_NOMEM);
			free(t);
			return;
		}
		s->tmpl = n;
		s->cap = cap;
	}
	memmove(&s->tmpl[i + 1], &s->tmpl[i], (s->ntmpl - i) * sizeof(*s->tmpl));
	s->tmpl[i] = t;
	s->ntmpl++;
	c->stats.templates++;
	nf_count(c, NF_C_TEMPLATES_ADDED);
}

void nf_template_withdraw(struct nf_collector *c, struct nf_session *s, uint16_t id, int all_kind)
{
	for (uint32_t i = 0; i < s->ntmpl;) {
		struct nf_template *t = s->tmpl[i];

		if (all_kind >= 0 ? t->options == all_kind : t->id == id) {
			template_drop(c, s, i);
			nf_count(c, NF_C_TEMPLATES_WITHDRAWN);
		} else {
			i++;
		}
	}
}

void nf_sampler_set(struct nf_collector *c, struct nf_session *s, uint64_t id, uint32_t rate)
{
	for (uint32_t i = 0; i < s->nsamplers; i++) {
		if (s->samplers[i].id == id) {
			s->samplers[i].rate = rate;
			return;
		}
	}
	if (s->nsamplers == NF_MAX_SAMPLERS) {
		nf_count(c, NF_C_SAMPLER_LIMIT);
		return;
	}
	s->samplers[s->nsamplers].id = id;
	s->samplers[s->nsamplers].rate = rate;
	s->nsamplers++;
}

uint32_t nf_sampler_rate(const struct nf_session *s, uint64_t id)
{
	for (uint32_t i = 0; i < s->nsamplers; i++)
		if (s->samplers[i].id == id)
			return s->samplers[i].rate;
	return 0;
}

void nf_collector_expire(struct nf_collector *c, uint64_t now_us)
{
	for (uint32_t i = 0; i < c->cfg.max_exporters; i++) {
		struct nf_session *s = c->sess[i];

		if (s == NULL)
			continue;
		expire_templates(c, s, now_us);
		if (s->ntmpl == 0 && session_idle(c, s, now_us))
			session_unlink(c, i);
	}
}

int nf_collector_datagram(struct nf_collector *c, const uint8_t *p, size_t len,
                          const struct ip_addr *exporter, uint16_t port, uint64_t now_us)
{
	uint16_t version;

	nf_count(c, NF_C_DATAGRAMS);
	if (len < 2) {
		nf_count(c, NF_C_SHORT_HEADER);
		return YG_ETRUNC;
	}
	version = load_be16(p);
	switch (version) {
	case 5:
		nf_count(c, NF_C_DATAGRAMS_V5);
		return nf_parse_v5(c, p, len, exporter, port, now_us);
	case 9:
		nf_count(c, NF_C_DATAGRAMS_V9);
		return nf_parse_v9(c, p, len, exporter, port, now_us);
	case 10:
		nf_count(c, NF_C_DATAGRAMS_IPFIX);
		return nf_parse_ipfix(c, p, len, exporter, port, now_us);
	}
	nf_count(c, NF_C_BAD_VERSION);
	return YG_EFORMAT;
}

const struct nf_stats *nf_collector_stats(const struct nf_collector *c)
{
	return &c->stats;
}

void nf_collector_sessions(const struct nf_collector *c,
                           void (*fn)(void *ctx, const struct nf_session_info *s), void *ctx)
{
	for (uint32_t i = 0; i < c->cfg.max_exporters; i++) {
		const struct nf_session *s = c->sess[i];
		struct nf_session_info info;

		if (s == NULL)
			continue;
		memset(&info, 0, sizeof(info));
		info.exporter = s->addr;
		info.version = s->version;
		info.domain = s->domain;
		info.templates = s->ntmpl;
		info.sampling = s->rate ? s->rate : 1;
		info.datagrams = s->datagrams;
		info.records = s->records;
		info.seq_gaps = s->seq_gaps;
		info.seq_lost = s->seq_lost;
		info.last_us = s->last_us;
		fn(ctx, &info);
	}
}
