#include "pipeline/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "decode/appmeta.h"
#include "decode/ics.h"

/* Client packets with payload offered to the TLS/HTTP recognizers before a
 * TCP flow is left alone; enough for a ClientHello after a retransmit. */
#define META_TCP_PROBES 4

const char *meta_counter_name(enum meta_counter c)
{
	switch (c) {
	case MC_DNS_MALFORMED:
		return "dns_malformed";
	case MC_TLS_MALFORMED:
		return "tls_malformed";
	case MC_TLS_PARTIAL:
		return "tls_partial_client_hello";
	case MC_HTTP_MALFORMED:
		return "http_malformed";
	case MC_ICS_MALFORMED:
		return "ics_malformed";
	case MC_MAX:
		break;
	}
	return "unknown";
}

/* The shared detectors' lock, taken for this worker: their alerts are
 * reported as its own. */
static void xlock(struct pipeline *p)
{
	pthread_mutex_lock(&p->shared->mu);
	detect_set_alert_ctx(p->shared->det, p);
	detect_set_intel(p->shared->det, p->snap);
}

/* The packets held for the shared detectors, in order. */
static void xflush(struct pipeline *p)
{
	struct flow *cur = p->cur;

	if (p->xn == 0)
		return;
	xlock(p);
	for (unsigned i = 0; i < p->xn; i++) {
		struct xevent *x = &p->xq[i];
		p->cur = x->f;
		detect_packet(p->shared->det, x->f, &x->pkt, x->dir, x->ev);
	}
	pthread_mutex_unlock(&p->shared->mu);
	p->xn = 0;
	p->cur = cur;
}

static void on_flow_end(void *ctx, const struct flow *f, enum flow_end_reason why)
{
	struct pipeline *p = ctx;

	if (p->shared != NULL && p->shared->det != NULL) {
		/* The flow's held packets first: its slot is about to go. */
		xflush(p);
		xlock(p);
		p->cur = (struct flow *)f;
		detect_flow_end(p->shared->det, f, why);
		p->cur = NULL;
		pthread_mutex_unlock(&p->shared->mu);
	}
	if (p->det != NULL) {
		p->cur = (struct flow *)f;
		detect_flow_end(p->det, f, why);
		p->cur = NULL;
	}
	eve_flow(p->eve, f, why);
	if (p->cfg.flow_tap != NULL) {
		if (p->shared != NULL)
			pthread_mutex_lock(&p->shared->out_mu);
		p->cfg.flow_tap(p->cfg.flow_tap_ctx, f, why);
		if (p->shared != NULL)
			pthread_mutex_unlock(&p->shared->out_mu);
	}
}

static void on_alert(void *ctx, const struct alert *a)
{
	struct pipeline *p = ctx;

	if (p->cur != NULL && a->flow_id == p->cur->flow_id)
		p->cur->det_flags |= FLOW_ALERTED;
	eve_alert(p->eve, a);
	if (p->cfg.sources != NULL) {
		if (p->shared != NULL)
			pthread_mutex_lock(&p->shared->out_mu);
		sources_add(p->cfg.sources, a);
		if (p->shared != NULL)
			pthread_mutex_unlock(&p->shared->out_mu);
	}
}

struct pipeline_shared *pipeline_shared_new(const struct detect_config *detect)
{
	struct pipeline_shared *s = yg_calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	if (detect != NULL &&
	    (s->det = detect_new_part(detect, DETECT_PART_CROSS, on_alert, NULL)) == NULL) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->out_mu, NULL);
	return s;
}

pthread_mutex_t *pipeline_shared_output_lock(struct pipeline_shared *s)
{
	return &s->out_mu;
}

void pipeline_shared_free(struct pipeline_shared *s)
{
	if (s == NULL)
		return;
	detect_free(s->det);
	snap_release(s->det_held);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->out_mu);
	free(s);
}

struct pipeline *pipeline_new(const struct pipeline_config *cfg, struct eve *eve)
{
	struct pipeline *p = yg_calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->cfg = *cfg;
	p->eve = eve;
	p->flows = flow_table_new(&cfg->flow, on_flow_end, p);
	if (p->flows == NULL)
		goto fail;
	p->shared = cfg->shared;
	if (cfg->detect != NULL &&
	    (p->det = detect_new_part(cfg->detect,
				      cfg->shared != NULL ? DETECT_PART_FLOW : DETECT_PART_ALL,
				      on_alert, p)) == NULL)
		goto fail;
	if (cfg->scope != NULL && (p->no_scope = decode_scope_new()) == NULL)
		goto fail;
	return p;
fail:
	flow_table_free(p->flows);
	detect_free(p->det);
	free(p);
	return NULL;
}

void pipeline_finish(struct pipeline *p)
{
	if (p->shared != NULL && p->shared->det != NULL)
		xflush(p);
	flow_table_flush(p->flows, FLOW_END_SHUTDOWN);
	pipeline_records_flush(p);
}

void pipeline_advance(struct pipeline *p, uint64_t now_us)
{
	flow_table_advance(p->flows, now_us);
	pipeline_records_advance(p, now_us);
}

void pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	flow_table_free(p->flows);
	pipeline_records_free(p);
	detect_free(p->det);
	snap_release(p->det_held);
	decode_scope_release(p->no_scope);
	free(p);
}

struct detect *pipeline_detect(const struct pipeline *p)
{
	return p->det;
}

const struct pipeline_stats *pipeline_stats(const struct pipeline *p)
{
	return &p->stats;
}

const struct flow_stats *pipeline_flow_stats(const struct pipeline *p)
{
	return flow_table_stats(p->flows);
}

/* Metadata for the detectors: this pipeline's, then the shared ones, in
 * order after the packets held for them. */
#define DETECT_META(p, fn, ...)                                                                    \
	do {                                                                                       \
		if ((p)->det != NULL)                                                              \
			fn((p)->det, __VA_ARGS__);                                                 \
		if ((p)->shared != NULL && (p)->shared->det != NULL) {                             \
			xflush(p);                                                                 \
			xlock(p);                                                                  \
			fn((p)->shared->det, __VA_ARGS__);                                         \
			pthread_mutex_unlock(&(p)->shared->mu);                                    \
		}                                                                                  \
	} while (0)

/* A cheap test for the start of an HTTP/1.x request line. */
static int looks_like_http(const uint8_t *s, uint32_t n)
{
	if (n < 16)
		return 0;
	switch (s[0]) {
	case 'G':
		return s[1] == 'E' && s[2] == 'T' && s[3] == ' ';
	case 'P':
		return (s[1] == 'O' && s[2] == 'S' && s[3] == 'T') ||
		       (s[1] == 'U' && s[2] == 'T' && s[3] == ' ') ||
		       (s[1] == 'A' && s[2] == 'T' && s[3] == 'C');
	case 'H':
		return s[1] == 'E' && s[2] == 'A' && s[3] == 'D';
	case 'D':
		return s[1] == 'E' && s[2] == 'L' && s[3] == 'E';
	case 'O':
		return s[1] == 'P' && s[2] == 'T' && s[3] == 'I';
	case 'C':
		return s[1] == 'O' && s[2] == 'N' && s[3] == 'N';
	}
	return 0;
}

static void meta_dns(struct pipeline *p, struct flow *f, const struct packet *pkt)
{
	struct dns_meta m;
	int rc;

	if (pkt->ip_proto == 17)
		rc = dns_parse(pkt->payload, pkt->payload_len, &m);
	else
		rc = dns_parse_tcp(pkt->payload, pkt->payload_len, &m);
	if (rc < 0) {
		p->stats.meta[MC_DNS_MALFORMED]++;
		return;
	}
	f->app_proto = APP_DNS;
	eve_dns(p->eve, f, pkt, &m);
	DETECT_META(p, detect_dns, f, pkt, &m);
}

static void meta_tcp_client(struct pipeline *p, struct flow *f, const struct packet *pkt)
{
	const uint8_t *s = pkt->payload;
	uint32_t n = pkt->payload_len;

	if (f->app_proto == APP_HTTP) {
		struct http_meta m;
		if (looks_like_http(s, n) && http_parse_request(s, n, &m) == 0) {
			eve_http(p->eve, f, pkt, &m);
			DETECT_META(p, detect_http, f, pkt, &m);
		}
		return;
	}
	if (f->app_proto != APP_NONE || f->meta_seen >= META_TCP_PROBES)
		return;
	f->meta_seen++;
	if (n >= 6 && s[0] == 0x16 && s[1] == 0x03 && s[5] == 0x01) {
		struct tls_meta m;
		if (tls_parse_client_hello(s, n, 't', &m) < 0) {
			p->stats.meta[MC_TLS_MALFORMED]++;
			return;
		}
		if (!m.has_ja4)
			p->stats.meta[MC_TLS_PARTIAL]++;
		f->app_proto = APP_TLS;
		eve_tls(p->eve, f, pkt, &m);
		DETECT_META(p, detect_tls, f, pkt, &m);
	} else if (looks_like_http(s, n)) {
		struct http_meta m;
		if (http_parse_request(s, n, &m) < 0) {
			p->stats.meta[MC_HTTP_MALFORMED]++;
			return;
		}
		f->app_proto = APP_HTTP;
		eve_http(p->eve, f, pkt, &m);
		DETECT_META(p, detect_http, f, pkt, &m);
	}
}

/* Industrial protocols on their well-known ports: the operations go to
 * the ICS detector; nothing is written per operation. */
static void meta_ics(struct pipeline *p, struct flow *f, const struct packet *pkt, int dir,
		     int proto)
{
	struct ics_op ops[8];
	size_t used;
	int n = ics_parse(proto, pkt->payload, pkt->payload_len, dir == FLOW_TOCLIENT, ops, 8,
			  &used);

	if (n < 0) {
		p->stats.meta[MC_ICS_MALFORMED]++;
		return;
	}
	for (int i = 0; i < n; i++)
		DETECT_META(p, detect_ics, f, pkt, &ops[i]);
}

static int ics_proto_of(const struct packet *pkt)
{
	uint16_t sp = pkt->sport, dp = pkt->dport;

	if (pkt->ip_proto == 6 && (sp == 502 || dp == 502))
		return ICS_MODBUS;
	if ((pkt->ip_proto == 6 || pkt->ip_proto == 17) && (sp == 20000 || dp == 20000))
		return ICS_DNP3;
	if (pkt->ip_proto == 6 && (sp == 102 || dp == 102))
		return ICS_S7COMM;
	return 0;
}

static void pipeline_meta(struct pipeline *p, struct flow *f, const struct packet *pkt, int dir)
{
	int ics;

	if (p->cfg.meta == META_STRICT || pkt->payload_len == 0)
		return;
	if ((pkt->sport == 53 || pkt->dport == 53) && (pkt->ip_proto == 17 || pkt->ip_proto == 6))
		meta_dns(p, f, pkt);
	else if (p->det != NULL && (ics = ics_proto_of(pkt)) != 0)
		meta_ics(p, f, pkt, dir, ics);
	else if (pkt->ip_proto == 6 && dir == FLOW_TOSERVER)
		meta_tcp_client(p, f, pkt);
}

/* Everything that happens to a packet once it is in its flow. */
static void pipeline_flow_packet(struct pipeline *p, struct flow *f, const struct packet *pkt,
				 int dir, unsigned events)
{
	p->cur = f;
	if (p->det != NULL)
		detect_packet(p->det, f, pkt, dir, events);
	if (p->shared != NULL && p->shared->det != NULL) {
		struct xevent *x = &p->xq[p->xn++];
		x->f = f;
		x->pkt = *pkt;
		x->pkt.payload = NULL; /* the shared detectors read its length only */
		x->dir = dir;
		x->ev = events;
		if (p->xn == PIPELINE_BATCH)
			xflush(p);
	}
	pipeline_meta(p, f, pkt, dir);
	p->cur = NULL;
}

static int pipeline_decode(struct pipeline *p, const struct frame *fr, struct packet *pkt,
			   const struct decode_scope *scope)
{
	p->stats.packets++;
	p->stats.bytes += fr->wirelen;
	switch (decode_frame_scoped(fr, pkt, p->stats.decode, scope)) {
	case DECODE_OK:
		return 1;
	case DECODE_SKIP:
		p->stats.skipped++;
		return 0;
	case DECODE_BAD:
		p->stats.bad++;
		return 0;
	case DECODE_UNAUTHORIZED:
		p->stats.unauthorized++;
		return 0;
	}
	return 0;
}

/* The authorizations are taken once per batch, like the intel snapshot: a
 * change is published without the packet path waiting, and the next batch
 * sees it. With a handle that publishes nothing (yet, or any more),
 * nothing is authorized: the empty scope admits no packet. */
struct decode_scope *pipeline_scope_hold(struct pipeline *p)
{
	struct decode_scope *s;

	if (p->cfg.scope == NULL)
		return NULL;
	s = decode_scope_from_ref(snap_handle_acquire(p->cfg.scope));
	return s != NULL ? s : p->no_scope;
}

/* The intel snapshot is taken once per batch: a reload publishes a new
 * one without the packet path ever waiting. */
struct intel_snapshot *pipeline_intel_hold(struct pipeline *p)
{
	struct intel_snapshot *s;

	if (p->cfg.intel == NULL || p->det == NULL)
		return NULL;
	s = intel_handle_acquire(p->cfg.intel);
	detect_set_intel(p->det, s);
	p->snap = s;
	return s;
}

void pipeline_intel_drop(struct pipeline *p, struct intel_snapshot *s)
{
	if (s == NULL)
		return;
	detect_set_intel(p->det, NULL);
	p->snap = NULL;
	intel_snapshot_release(s);
}

static struct pipeline_detect_snap *detect_snap_of(struct snap_ref *r)
{
	return (struct pipeline_detect_snap *)((char *)r -
					       offsetof(struct pipeline_detect_snap, ref));
}

/* One acquire per batch, like the intel snapshot; a new generation
 * reconfigures this worker's detectors, and the shared ones once (the
 * first worker to see it, under their lock; it holds its own reference). */
void pipeline_detect_update(struct pipeline *p)
{
	struct snap_ref *r;
	struct pipeline_detect_snap *ds;

	if (p->cfg.detect_update == NULL || p->det == NULL)
		return;
	if ((r = snap_handle_acquire(p->cfg.detect_update)) == NULL)
		return;
	ds = detect_snap_of(r);
	if (ds->gen <= p->det_gen) {
		snap_release(r);
		return;
	}
	if (p->shared != NULL && p->shared->det != NULL) {
		struct pipeline_shared *sh = p->shared;
		struct snap_ref *mine = snap_handle_acquire(p->cfg.detect_update), *old = NULL;

		pthread_mutex_lock(&sh->mu);
		if (mine != NULL && detect_snap_of(mine)->gen > sh->det_gen) {
			detect_reconfigure(sh->det, &detect_snap_of(mine)->detect);
			old = sh->det_held;
			sh->det_held = mine;
			sh->det_gen = detect_snap_of(mine)->gen;
			mine = NULL;
		}
		pthread_mutex_unlock(&sh->mu);
		snap_release(old);
		snap_release(mine);
	}
	detect_reconfigure(p->det, &ds->detect);
	snap_release(p->det_held);
	p->det_held = r;
	p->det_gen = ds->gen;
}

void pipeline_frame(struct pipeline *p, const struct frame *fr)
{
	pipeline_frames(p, fr, 1);
}

void pipeline_frames(struct pipeline *p, const struct frame *fr, size_t n)
{
	struct packet pkt[PIPELINE_BATCH];
	struct flow_lookup lk[PIPELINE_BATCH];
	uint8_t ok[PIPELINE_BATCH];
	struct intel_snapshot *snap;
	struct decode_scope *scope;
	size_t i;

	while (n > PIPELINE_BATCH) {
		pipeline_frames(p, fr, PIPELINE_BATCH);
		fr += PIPELINE_BATCH;
		n -= PIPELINE_BATCH;
	}
	pipeline_detect_update(p);
	snap = pipeline_intel_hold(p);
	scope = pipeline_scope_hold(p);
	for (i = 0; i < n; i++) {
		ok[i] = (uint8_t)pipeline_decode(p, &fr[i], &pkt[i], scope);
		if (ok[i]) {
			flow_lookup_prepare(&pkt[i], &lk[i]);
			flow_table_prefetch_bucket(p->flows, &lk[i]);
		}
	}
	for (i = 0; i < n; i++)
		if (ok[i])
			flow_table_prefetch_flow(p->flows, &lk[i]);
	for (i = 0; i < n; i++) {
		struct flow *f;
		unsigned events;
		int dir;
		if (!ok[i])
			continue;
		f = flow_table_update_prepared(p->flows, &pkt[i], &lk[i], &dir, &events);
		p->stats.in_flows++;
		pipeline_flow_packet(p, f, &pkt[i], dir, events);
	}
	if (p->shared != NULL && p->shared->det != NULL)
		xflush(p);
	pipeline_intel_drop(p, snap);
	if (scope != NULL && scope != p->no_scope)
		decode_scope_release(scope);
}

void pipeline_totals_add(struct pipeline_totals *a, const struct pipeline_totals *b)
{
	uint64_t *x = (uint64_t *)&a->s;
	const uint64_t *y = (const uint64_t *)&b->s;

	for (size_t i = 0; i < sizeof(a->s) / sizeof(uint64_t); i++)
		x[i] += y[i];
	a->f.created += b->f.created;
	a->f.ended += b->f.ended;
	a->f.evicted += b->f.evicted;
	a->f.active += b->f.active;
	a->f.peak += b->f.peak;
	a->d.alerts += b->d.alerts;
	a->d.evictions += b->d.evictions;
	a->d.evictions_rare += b->d.evictions_rare;
	a->d.table_bytes += b->d.table_bytes;
	a->detecting |= b->detecting;
}

void pipeline_shared_totals(struct pipeline_shared *sh, struct pipeline_totals *t)
{
	const struct detect_stats *d;

	if (sh == NULL || sh->det == NULL)
		return;
	pthread_mutex_lock(&sh->mu);
	d = detect_stats(sh->det);
	t->d.alerts += d->alerts;
	t->d.evictions += d->evictions;
	t->d.evictions_rare += d->evictions_rare;
	t->d.table_bytes += d->table_bytes;
	t->detecting = 1;
	pthread_mutex_unlock(&sh->mu);
}

void pipeline_totals(struct pipeline *const *ps, size_t n, struct pipeline_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		struct pipeline_totals one;
		memset(&one, 0, sizeof(one));
		one.s = ps[i]->stats;
		one.f = *flow_table_stats(ps[i]->flows);
		if (ps[i]->det != NULL) {
			one.d = *detect_stats(ps[i]->det);
			one.detecting = 1;
		}
		pipeline_totals_add(t, &one);
	}
}
