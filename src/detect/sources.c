#include "detect/sources.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/jbuf.h"
#include "detect/detect_int.h"
#include "rank/rank.h"

#define MAX_SIDS 16
#define MAX_DETECTORS 8
#define MAX_INDICATORS 4

struct source {
	struct ip_addr addr;
	uint8_t used;
	uint8_t n_sids;
	uint8_t n_det;
	uint8_t n_ind;
	uint32_t sids[MAX_SIDS];
	struct {
		const char *name;
		uint8_t severity; /* the highest (lowest number) seen */
		uint32_t alerts;
	} det[MAX_DETECTORS];
	uint8_t named_attacker; /* named other than as a reflector at least once */
	uint64_t alerts;
	uint64_t pkts, bytes;
	uint64_t hosts, ports, sessions; /* from the alerts' evidence */
	uint64_t first_us, last_us;
	struct distinct victims;
	struct {
		char id[96];
		uint8_t confidence;
	} ind[MAX_INDICATORS];
	double score;
};

/* Flood victims whose sources were judged forged: the floods are theirs. */
#define MAX_FLOODED 16

struct flooded {
	struct ip_addr addr;
	uint64_t alerts, pkts;
};

/* Open addressing over a table that doubles while under half full, so
 * that memory and the ranking's cost follow the sources present. */
struct sources {
	struct source *tab;
	uint32_t cap; /* power of two */
	uint32_t max;
	uint32_t n;
	uint64_t dropped;
	uint32_t n_flooded;
	struct flooded flooded[MAX_FLOODED];
};

#define INITIAL_CAP 64

struct sources *sources_new(uint32_t max_sources)
{
	struct sources *s = yg_calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->tab = yg_calloc(INITIAL_CAP, sizeof(struct source));
	if (s->tab == NULL) {
		free(s);
		return NULL;
	}
	s->cap = INITIAL_CAP;
	s->max = max_sources;
	return s;
}

/* Doubles the table; on no memory keeps the old one (it is never full:
 * the caller checks the load first and then probes fewer slots free). */
static int grow(struct sources *s)
{
	uint32_t cap = s->cap * 2;
	struct source *t = yg_calloc(cap, sizeof(*t));

	if (t == NULL)
		return YG_ENOMEM;
	for (uint32_t i = 0; i < s->cap; i++) {
		if (!s->tab[i].used)
			continue;
		uint32_t j = (uint32_t)hash_addr(&s->tab[i].addr) & (cap - 1);
		while (t[j].used)
			j = (j + 1) & (cap - 1);
		t[j] = s->tab[i];
	}
	free(s->tab);
	s->tab = t;
	s->cap = cap;
	return 0;
}

void sources_free(struct sources *s)
{
	if (s == NULL)
		return;
	free(s->tab);
	free(s);
}

uint32_t sources_count(const struct sources *s)
{
	return s->n;
}

uint64_t sources_dropped(const struct sources *s)
{
	return s->dropped;
}

static struct source *source_get(struct sources *s, const struct ip_addr *a)
{
	uint32_t i;

	if ((s->n + 1) * 2 > s->cap && grow(s) < 0 && s->n + 1 >= s->cap) {
		s->dropped++;
		return NULL;
	}
	i = (uint32_t)hash_addr(a) & (s->cap - 1);
	for (;;) {
		struct source *x = &s->tab[i];
		if (!x->used) {
			if (s->n >= s->max) {
				s->dropped++;
				return NULL;
			}
			x->used = 1;
			x->addr = *a;
			s->n++;
			return x;
		}
		if (memcmp(&x->addr, a, sizeof(*a)) == 0)
			return x;
		i = (i + 1) & (s->cap - 1);
	}
}

/* Credits x with alert a; pkts and bytes are what x itself sent. */
static void account(struct source *x, const struct alert *a, const struct ip_addr *victim,
		    uint64_t pkts, uint64_t bytes, int reflector)
{
	const struct signature *sig = a->sig;
	int i;

	x->alerts++;
	x->pkts += pkts;
	x->bytes += bytes;
	if (!reflector)
		x->named_attacker = 1;
	for (int m = 0; m < a->n_nums; m++) {
		const char *k = a->nums[m].key;
		uint64_t v = a->nums[m].v;
		if (strcmp(k, "distinct_hosts") == 0 && v > x->hosts)
			x->hosts = v;
		else if ((strcmp(k, "distinct_ports") == 0 || strcmp(k, "distinct_protocols") == 0) &&
			 v > x->ports)
			x->ports = v;
		else if (strcmp(k, "sessions") == 0)
			x->sessions += v > a->prior_sessions ? v - a->prior_sessions : 0;
	}
	if (x->first_us == 0 || a->ts_us < x->first_us)
		x->first_us = a->window_start_us && a->window_start_us < a->ts_us
				      ? a->window_start_us
				      : a->ts_us;
	if (a->ts_us > x->last_us)
		x->last_us = a->ts_us;
	if (victim != NULL)
		distinct_add(&x->victims, hash_addr(victim));
	for (i = 0; i < x->n_sids && x->sids[i] != sig->sid; i++)
		;
	if (i == x->n_sids && x->n_sids < MAX_SIDS)
		x->sids[x->n_sids++] = sig->sid;
	for (i = 0; i < x->n_det && strcmp(x->det[i].name, sig->detector) != 0; i++)
		;
	if (i == x->n_det) {
		if (x->n_det == MAX_DETECTORS)
			return;
		x->det[i].name = sig->detector;
		x->det[i].severity = sig->severity;
		x->n_det++;
	}
	x->det[i].alerts++;
	if (sig->severity < x->det[i].severity)
		x->det[i].severity = sig->severity;
	/* Indicator matches name the indicator (its id, or its value for
	 * lists without ids) and its confidence. */
	const char *ind = NULL;
	uint64_t conf = 0;
	for (int k = 0; k < a->n_strs; k++)
		if (strcmp(a->strs[k].key, "indicator_id") == 0 ||
		    (ind == NULL && strcmp(a->strs[k].key, "indicator") == 0))
			ind = a->strs[k].v;
	for (int m = 0; m < a->n_nums; m++)
		if (strcmp(a->nums[m].key, "confidence") == 0)
			conf = a->nums[m].v;
	if (ind == NULL)
		return;
	for (i = 0; i < x->n_ind && strcmp(x->ind[i].id, ind) != 0; i++)
		;
	if (i < x->n_ind || x->n_ind == MAX_INDICATORS)
		return;
	snprintf(x->ind[i].id, sizeof(x->ind[i].id), "%.*s", (int)sizeof(x->ind[i].id) - 1, ind);
	x->ind[i].confidence = (uint8_t)conf;
	x->n_ind++;
}

static void flood_victim(struct sources *s, const struct alert *a)
{
	uint32_t i;

	for (i = 0; i < s->n_flooded; i++)
		if (memcmp(&s->flooded[i].addr, &a->dst, sizeof(a->dst)) == 0)
			break;
	if (i == s->n_flooded) {
		if (i == MAX_FLOODED)
			return;
		s->flooded[i].addr = a->dst;
		s->n_flooded++;
	}
	s->flooded[i].alerts++;
	s->flooded[i].pkts += a->pkts;
}

void sources_add(struct sources *s, const struct alert *a)
{
	struct source *x;

	if (a->sig == NULL)
		return;
	switch (a->attackers) {
	case ALERT_ATTACKER_SRC:
		if ((x = source_get(s, &a->src)) != NULL)
			account(x, a, &a->dst, a->pkts - a->prior_pkts, a->bytes - a->prior_bytes, 0);
		break;
	case ALERT_ATTACKER_DST:
		if ((x = source_get(s, &a->dst)) != NULL)
			account(x, a, &a->src, a->pkts - a->prior_pkts, a->bytes - a->prior_bytes, 0);
		break;
	case ALERT_ATTACKER_SAMPLES:
	case ALERT_ATTACKER_REFLECTORS:
		/* Each named source is credited with what it sent, never with
		 * the whole flood. */
		for (int i = 0; i < a->n_samples && a->samples_kind == ALERT_SAMPLES_ADDR; i++) {
			uint64_t p = a->sample_pkts[i];
			uint64_t b = a->pkts ? a->bytes / a->pkts * p : 0;
			if ((x = source_get(s, &a->sample_addr[i])) != NULL)
				account(x, a, &a->dst, p, b,
					a->attackers == ALERT_ATTACKER_REFLECTORS);
		}
		break;
	default:
		if (a->spoofed)
			flood_victim(s, a);
		break;
	}
}

static void score(struct source *x)
{
	struct rank_evidence e = {0};
	uint64_t victims = distinct_count(&x->victims);

	for (int i = 0; i < x->n_det; i++)
		e.sev[(x->det[i].severity >= 1 && x->det[i].severity <= 3 ? x->det[i].severity : 3) -
		      1]++;
	e.hosts = x->hosts > victims ? x->hosts : victims;
	e.ports = x->ports;
	e.sessions = x->sessions;
	e.pkts = x->pkts;
	e.seconds = x->last_us > x->first_us ? (x->last_us - x->first_us) / SEC : 0;
	for (int i = 0; i < x->n_ind; i++)
		e.indicator_conf += x->ind[i].confidence;
	e.reflector = !x->named_attacker;
	x->score = rank_score(&e);
}

static int rank_cmp(const void *pa, const void *pb)
{
	const struct source *a = *(const struct source *const *)pa;
	const struct source *b = *(const struct source *const *)pb;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->alerts != b->alerts)
		return a->alerts > b->alerts ? -1 : 1;
	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	return memcmp(a->addr.a, b->addr.a, 16);
}

/* The sources ranked; caller frees the array. */
static struct source **ranked(struct sources *s)
{
	struct source **v = yg_malloc((s->n ? s->n : 1) * sizeof(*v));
	uint32_t n = 0;

	if (v == NULL)
		return NULL;
	for (uint32_t i = 0; i < s->cap; i++) {
		if (!s->tab[i].used)
			continue;
		score(&s->tab[i]);
		v[n++] = &s->tab[i];
	}
	qsort(v, n, sizeof(*v), rank_cmp);
	return v;
}

static const char *fmt_addr(const struct ip_addr *a, sources_protect_fn protect, void *ctx,
			    char *buf)
{
	struct ip_addr x = *a;

	if (protect != NULL)
		protect(ctx, &x);
	ipaddr_fmt(&x, buf);
	return buf;
}

int sources_write_json(struct sources *s, FILE *out, sources_protect_fn protect, void *ctx)
{
	struct source **v = ranked(s);
	struct jbuf b;
	char addr[IPADDR_STRLEN];

	if (v == NULL || jbuf_init(&b, 4096, 1u << 20) < 0) {
		free(v);
		return YG_ENOMEM;
	}
	fputs("[\n", out);
	for (uint32_t r = 0; r < s->n; r++) {
		struct source *x = v[r];
		jbuf_reset(&b);
		jbuf_lit(&b, "{\"rank\":");
		jbuf_u64(&b, r + 1);
		jbuf_lit(&b, ",\"ip\":\"");
		jbuf_puts(&b, fmt_addr(&x->addr, protect, ctx, addr));
		jbuf_lit(&b, "\",\"score\":");
		char num[32];
		snprintf(num, sizeof(num), "%.1f", x->score);
		jbuf_puts(&b, num);
		jbuf_lit(&b, ",\"alerts\":");
		jbuf_u64(&b, x->alerts);
		jbuf_lit(&b, ",\"detectors\":{");
		for (int i = 0; i < x->n_det; i++) {
			if (i)
				jbuf_putc(&b, ',');
			jbuf_str(&b, x->det[i].name, strlen(x->det[i].name));
			jbuf_lit(&b, ":{\"alerts\":");
			jbuf_u64(&b, x->det[i].alerts);
			jbuf_lit(&b, ",\"severity\":");
			jbuf_u64(&b, x->det[i].severity);
			jbuf_putc(&b, '}');
		}
		jbuf_lit(&b, "},\"signature_ids\":[");
		for (int i = 0; i < x->n_sids; i++) {
			if (i)
				jbuf_putc(&b, ',');
			jbuf_u64(&b, x->sids[i]);
		}
		jbuf_lit(&b, "],\"role\":");
		jbuf_puts(&b, x->named_attacker ? "\"attacker\"" : "\"reflector\"");
		jbuf_lit(&b, ",\"victims\":");
		jbuf_u64(&b, distinct_count(&x->victims));
		jbuf_lit(&b, ",\"hosts\":");
		jbuf_u64(&b, x->hosts > distinct_count(&x->victims) ? x->hosts
								 : distinct_count(&x->victims));
		jbuf_lit(&b, ",\"ports\":");
		jbuf_u64(&b, x->ports);
		jbuf_lit(&b, ",\"sessions\":");
		jbuf_u64(&b, x->sessions);
		jbuf_lit(&b, ",\"packets\":");
		jbuf_u64(&b, x->pkts);
		jbuf_lit(&b, ",\"bytes\":");
		jbuf_u64(&b, x->bytes);
		jbuf_lit(&b, ",\"first_seen\":");
		jbuf_ts(&b, x->first_us);
		jbuf_lit(&b, ",\"last_seen\":");
		jbuf_ts(&b, x->last_us);
		jbuf_lit(&b, ",\"indicators\":[");
		for (int i = 0; i < x->n_ind; i++) {
			if (i)
				jbuf_putc(&b, ',');
			jbuf_str(&b, x->ind[i].id, strlen(x->ind[i].id));
		}
		jbuf_lit(&b, "]}");
		if (r + 1 < s->n)
			jbuf_putc(&b, ',');
		jbuf_putc(&b, '\n');
		fwrite(b.buf, 1, b.len, out);
	}
	fputs("]\n", out);
	jbuf_fini(&b);
	free(v);
	return ferror(out) ? YG_EIO : 0;
}

void sources_print_top(struct sources *s, FILE *out, int n, sources_protect_fn protect,
		       void *ctx)
{
	struct source **v = ranked(s);
	char addr[IPADDR_STRLEN];

	if (v == NULL)
		return;
	for (uint32_t r = 0; r < s->n && (int)r < n; r++) {
		struct source *x = v[r];
		fprintf(out, "  %2u. %-39s score %6.1f  %4llu alerts  %4u victims ", r + 1,
			fmt_addr(&x->addr, protect, ctx, addr), x->score,
			(unsigned long long)x->alerts, distinct_count(&x->victims));
		for (int i = 0; i < x->n_det; i++)
			fprintf(out, "%s%s", i ? "," : " ", x->det[i].name);
		if (!x->named_attacker)
			fputs(" (reflector)", out);
		fputc('\n', out);
	}
	free(v);
	for (uint32_t i = 0; i < s->n_flooded; i++)
		fprintf(out, "  flooded from forged sources: %-39s %4llu alerts %10llu packets\n",
			fmt_addr(&s->flooded[i].addr, protect, ctx, addr),
			(unsigned long long)s->flooded[i].alerts,
			(unsigned long long)s->flooded[i].pkts);
}

uint32_t sources_flooded(const struct sources *s)
{
	return s->n_flooded;
}
