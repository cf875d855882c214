/* countermeasures.c - what the active cases become (src/counter): the
 * files resolvers and routers load, written into [countermeasures] dir
 * whenever the active set changes and served under
 * /api/v1/countermeasures/ with ETags; and the tower's thread that
 * activates approved cases and expires them on time, whether or not
 * anyone calls the API, and erases what retention has let go. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/digest.h"
#include "base/every.h"
#include "base/log.h"
#include "tower/cases.h"
#include "tower/tower_int.h"

#define CM_PASS_S 1 /* between passes of the thread */

struct tower_cm {
	struct cm_config cfg;
	struct every *thread; /* the passes: activation, expiry, files, ... */
	int64_t written; /* the serial last written into the directory; -1 none */
	int64_t seen;	 /* the serial long polls were last woken for; -1 none */
};

/* ---- the active set ---------------------------------------------------- */

struct active {
	struct store_res *r, *e;
	struct cm_case *c;
	uint16_t (*ports)[CM_MAX_PORTS];
	char (*ev)[CM_MAX_EVIDENCE][80];
	const char *(*evp)[CM_MAX_EVIDENCE];
	size_t n;
	uint32_t serial;
	int64_t now;
};

static void active_free(struct active *a)
{
	store_res_free(a->r);
	store_res_free(a->e);
	free(a->c);
	free(a->ports);
	free(a->ev);
	free(a->evp);
	memset(a, 0, sizeof(*a));
}

/* The cases active now, as the renderers take them, and the serial. */
static int active_load(struct store_conn *c, struct active *a)
{
	struct store_res *s = NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	a->now = tw_now_us();
	struct store_param ps[] = {store_int64(a->now)};
	if ((rc = store_exec(c, "SELECT value FROM countermeasure_state WHERE name = 'serial'", NULL,
			     0, &s, NULL)) < 0)
		return rc;
	a->serial = store_res_nrows(s) == 1 ? (uint32_t)store_res_int64(s, 0, 0) : 1;
	store_res_free(s);
	if ((rc = store_exec(c,
			     "SELECT id, action, target, proto, ports, contact, justification, "
			     "activated, expires FROM cases WHERE state = 'active' AND expires > ? "
			     "ORDER BY id",
			     ps, 1, &a->r, NULL)) < 0 ||
	    (rc = store_exec(c,
			     "SELECT e.case_id, e.kind, e.ref FROM case_evidence e JOIN cases k ON "
			     "k.id = e.case_id WHERE k.state = 'active' AND k.expires > ? ORDER BY "
			     "e.case_id, e.kind, e.ref",
			     ps, 1, &a->e, NULL)) < 0)
		goto fail;
	size_t n = store_res_nrows(a->r);
	a->c = yg_calloc(n ? n : 1, sizeof(*a->c));
	a->ports = yg_calloc(n ? n : 1, sizeof(*a->ports));
	a->ev = yg_calloc(n ? n : 1, sizeof(*a->ev));
	a->evp = yg_calloc(n ? n : 1, sizeof(*a->evp));
	if (a->c == NULL || a->ports == NULL || a->ev == NULL || a->evp == NULL) {
		rc = YG_ENOMEM;
		goto fail;
	}
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		const struct store_res *r = a->r;
		struct cm_case *k = &a->c[i];
		const char *ports = store_res_text(r, i, tw_col(r, "ports"));

		k->id = store_res_int64(r, i, tw_col(r, "id"));
		if (cm_action_parse(store_res_text(r, i, tw_col(r, "action")), &k->action) < 0) {
			rc = YG_EINVAL;
			goto fail;
		}
		k->target = store_res_text(r, i, tw_col(r, "target"));
		k->proto = store_res_text(r, i, tw_col(r, "proto"));
		k->contact = store_res_text(r, i, tw_col(r, "contact"));
		k->justification = store_res_text(r, i, tw_col(r, "justification"));
		k->approved = store_res_int64(r, i, tw_col(r, "activated"));
		k->expires = store_res_int64(r, i, tw_col(r, "expires"));
		for (const char *p = ports; p != NULL && *p != '\0' && k->nports < CM_MAX_PORTS;) {
			a->ports[i][k->nports++] = (uint16_t)strtol(p, (char **)&p, 10);
			p += *p == ',';
		}
		k->ports = a->ports[i];
		for (; j < store_res_nrows(a->e) && store_res_int64(a->e, j, 0) <= k->id; j++) {
			if (store_res_int64(a->e, j, 0) != k->id || k->nevidence == CM_MAX_EVIDENCE)
				continue;
			snprintf(a->ev[i][k->nevidence], sizeof(a->ev[i][0]), "%s:%s",
				 store_res_text(a->e, j, 1), store_res_text(a->e, j, 2));
			a->evp[i][k->nevidence] = a->ev[i][k->nevidence];
			k->nevidence++;
		}
		k->evidence = a->evp[i];
	}
	a->n = n;
	return 0;
fail:
	active_free(a);
	return rc;
}

/* ---- the files --------------------------------------------------------- */

static void cm_config_from(const struct tower_config *tc, struct cm_config *c)
{
	const struct cm_settings *s = &tc->cm;

	memset(c, 0, sizeof(*c));
	c->rpz_zone = s->rpz_zone;
	c->sinkhole = s->sinkhole;
	c->nameserver = s->nameserver;
	c->office = s->office;
	c->bgp_local_as = s->bgp_local_as;
	c->bgp_router_id = s->bgp_router_id;
	c->bgp_neighbor = s->bgp_neighbor;
	c->bgp_neighbor_as = s->bgp_neighbor_as;
	c->rtbh_next_hop4 = s->rtbh_next_hop4;
	c->rtbh_next_hop6 = s->rtbh_next_hop6;
}

/* The serial of the active set, which rises with every change to it. */
static int serial_get(struct tower *t, int64_t *serial)
{
	struct store_conn *c = NULL;
	struct store_res *r = NULL;
	int rc;

	if ((rc = store_conn_get(t->st, &c)) < 0)
		return rc;
	rc = store_exec(c, "SELECT value FROM countermeasure_state WHERE name = 'serial'", NULL, 0,
			&r, NULL);
	store_conn_put(c);
	if (rc < 0)
		return rc;
	*serial = store_res_nrows(r) == 1 ? store_res_int64(r, 0, 0) : 1;
	store_res_free(r);
	return 0;
}

/* When the active set changed (here or in another tower on the store):
 * answers the long polls waiting for it, and writes the files (always,
 * when force). */
static int publish(struct tower *t, bool force)
{
	struct tower_cm *m = t->cm;
	struct store_conn *c = NULL;
	struct active a;
	int64_t serial;
	char err[300];
	int rc;

	if ((rc = serial_get(t, &serial)) < 0)
		return rc;
	if (serial != m->seen) {
		m->seen = serial;
		http_server_wake(t->srv);
	}
	if (t->cfg.cm.dir == NULL || (!force && serial == m->written))
		return 0;
	if ((rc = store_conn_get(t->st, &c)) < 0)
		return rc;
	rc = active_load(c, &a);
	store_conn_put(c);
	if (rc < 0)
		return rc;
	{
		rc = cm_write_dir(t->cfg.cm.dir, a.c, a.n, a.serial, a.now, &m->cfg, err, sizeof(err));
		if (rc < 0)
			log_warnx("tower: countermeasures in %s: %s", t->cfg.cm.dir, err);
		else
			m->written = a.serial;
	}
	active_free(&a);
	return rc;
}

static int cases_job(void *t)
{
	return tw_cases_pass(t);
}

static int sightings_job(void *t)
{
	return tw_sightings_pass(t);
}

static int retention_job(void *t)
{
	return tw_retention_pass(t);
}

/* A pass of the thread, every CM_PASS_S or at once on a wake: the jobs
 * (each in one tower at a time, retention once per interval across them:
 * jobs.c), then this tower's own files and long polls. */
static double cm_pass(void *arg)
{
	struct tower *t = arg;
	int changed = tw_job_run(t, TW_JOB_CASES, NULL, 0, cases_job, t, NULL);

	if (changed < 0)
		log_warnx("tower: cases: %s", yg_strerror(changed));
	(void)tw_job_run(t, TW_JOB_SIGHTINGS, NULL, 0, sightings_job, t, NULL);
	(void)tw_job_run(t, TW_JOB_RETENTION, NULL, (double)t->cfg.retention_interval_s,
			 retention_job, t, NULL);
	/* The nftables timeouts count down: rewritten on each change only,
	 * which is when they matter. */
	(void)publish(t, false);
	return CM_PASS_S;
}

void tw_cases_wake(struct tower *t)
{
	if (t->cm != NULL)
		every_wake(t->cm->thread);
}

int tw_cases_start(struct tower *t, char *err, size_t errlen)
{
	struct tower_cm *m;
	char why[300];
	int rc;

	if ((rc = case_guard_new(t->cfg.cases.never_block, t->cfg.cases.lab_allow, &t->cases_guard,
				 why, sizeof(why))) < 0) {
		snprintf(err, errlen, "[cases]: %s", why);
		return rc;
	}
	if (case_guard_narrowed(t->cases_guard) > 0)
		log_warnx("tower: WARNING: [cases] lab_allow takes %zu entries out of the never-block "
			  "list: a laboratory's tower, not one to act on real networks",
			  case_guard_narrowed(t->cases_guard));
	if ((m = yg_calloc(1, sizeof(*m))) == NULL)
		return YG_ENOMEM;
	cm_config_from(&t->cfg, &m->cfg);
	m->written = m->seen = -1;
	if (cm_config_check(&m->cfg, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "[countermeasures]: %s", why);
		free(m);
		return YG_EINVAL;
	}
	t->cm = m;
	if (t->cfg.cm.dir != NULL && (rc = publish(t, true)) < 0) {
		snprintf(err, errlen, "cannot write the countermeasures into %s", t->cfg.cm.dir);
		return rc;
	}
	if ((rc = every_start(&m->thread, 0, cm_pass, t)) < 0) {
		snprintf(err, errlen, "cannot start the cases thread");
		return rc;
	}
	return 0;
}

void tw_cases_stop(struct tower *t)
{
	struct tower_cm *m = t->cm;

	if (m != NULL) {
		every_stop(m->thread);
		free(m);
		t->cm = NULL;
	}
	case_guard_free(t->cases_guard);
	t->cases_guard = NULL;
}

/* ---- served ------------------------------------------------------------ */

#define CM_WAIT_MAX_S 300 /* the longest a long poll waits */

/* ?wait=SECONDS: how long an If-None-Match that still holds may wait for
 * the file to change (a long poll). 0 when not asked; -1 after answering
 * 400. */
static long long wait_of(struct http_request *req, struct http_response *resp)
{
	static const char *const known[] = {"wait", NULL};
	long long wait = 0;

	if (tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "wait", 1, CM_WAIT_MAX_S, &wait) < 0)
		return -1;
	return wait;
}

/* Answers a file made from the active set: with an ETag of tagged (its
 * bytes, or for nftables.nft, whose timeouts count down, the bytes made
 * as at time 0: weak then), or 304 to an If-None-Match that still holds,
 * having waited up to wait seconds for it not to (the request is parked
 * and this runs again when the active set changes). */
static int answer_file(struct http_request *req, struct http_response *resp, const char *ctype,
		       const struct jbuf *b, const struct jbuf *tagged, long long wait)
{
	uint8_t h[DIGEST_SHA256_LEN];
	char etag[48];
	const char *inm = http_request_header(req, "If-None-Match");
	bool weak = tagged != b;

	if (digest_sha256(tagged->buf, tagged->len, h) < 0)
		return YG_ENOMEM;
	char hex[33];

	tw_hex(h, 16, hex);
	snprintf(etag, sizeof(etag), "%s\"%s\"", weak ? "W/" : "", hex);
	if (inm != NULL && strcmp(inm, etag) == 0) {
		if (wait > 0 && http_request_park(req, (unsigned)wait * 1000))
			return 0; /* nothing set: run again on a change or at the end */
		http_response_header(resp, "ETag", etag);
		http_response_header(resp, "Cache-Control", "no-cache");
		http_response_status(resp, 304);
		return 0;
	}
	http_response_header(resp, "ETag", etag);
	http_response_header(resp, "Cache-Control", "no-cache");
	return http_response_body(resp, 200, ctype, b->buf, b->len);
}

/* The active set, loaded for one request: 0, or -1 after answering. */
static int active_for(struct tower *t, struct http_response *resp, struct active *a)
{
	struct store_conn *c = NULL;
	int rc;

	if ((rc = store_conn_get(t->st, &c)) < 0) {
		tw_store_fail(resp, NULL, rc);
		return -1;
	}
	rc = active_load(c, a);
	store_conn_put(c);
	if (rc < 0) {
		tw_store_fail(resp, NULL, rc);
		return -1;
	}
	return 0;
}

/* GET /api/v1/countermeasures/{name}: rpz.zone, nftables.nft, bird.conf or
 * blocklist.txt, rendered from the store now. */
static int cm_get(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	const char *name = http_request_param(req, "name");
	struct active a;
	struct jbuf b = {0};
	int rc;

	if (tw_need(req, resp, ACT_COUNTERMEASURE_READ, &p) == SCOPE_NONE)
		return 0;
	bool rpz = strcmp(name, "rpz.zone") == 0, nft = strcmp(name, "nftables.nft") == 0,
	     bird = strcmp(name, "bird.conf") == 0, list = strcmp(name, "blocklist.txt") == 0;
	if (!rpz && !nft && !bird && !list)
		return tw_fail(resp, 404, "not_found",
			       "no such file: rpz.zone, nftables.nft, bird.conf or blocklist.txt");
	const struct cm_config *k = &t->cm->cfg;
	if (bird && (!k->bgp_local_as || !k->bgp_neighbor_as || k->bgp_router_id == NULL ||
		     k->bgp_neighbor == NULL))
		return tw_fail(resp, 404, "not_found",
			       "bird.conf needs the BGP settings of [countermeasures]");
	long long wait = wait_of(req, resp);
	if (wait < 0 || active_for(t, resp, &a) < 0)
		return 0;
	struct jbuf at0 = {0};
	if ((rc = jbuf_init(&b, 4096, 64 << 20)) == 0 &&
	    (!nft || (rc = jbuf_init(&at0, 4096, 64 << 20)) == 0)) {
		rc = rpz ? cm_rpz(a.c, a.n, a.serial, a.now, k, &b)
		     : nft ? cm_nft(a.c, a.n, a.now, k, &b)
		     : bird ? cm_bird(a.c, a.n, a.now, k, &b)
			    : cm_blocklist(a.c, a.n, a.now, &b);
		if (rc == 0 && nft)
			rc = cm_nft(a.c, a.n, 0, k, &at0);
		if (rc == 0)
			rc = answer_file(req, resp,
					 rpz ? "text/dns; charset=utf-8" : "text/plain; charset=utf-8",
					 &b, nft ? &at0 : &b, wait);
	}
	jbuf_fini(&b);
	jbuf_fini(&at0);
	active_free(&a);
	if (rc < 0)
		return tw_fail(resp, 500, "internal_error", "the file could not be made");
	return 0;
}

/* GET /api/v1/countermeasures/notices/{file}: the abuse notice of an
 * active notice case, <id>.txt (a mail) or <id>.json (X-ARF-like). */
static int cm_notice(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	const char *file = http_request_param(req, "file");
	size_t digits = strspn(file, "0123456789");
	bool txt = strcmp(file + digits, ".txt") == 0, json = strcmp(file + digits, ".json") == 0;
	struct active a;
	struct jbuf b = {0};
	int rc = 0;

	if (tw_need(req, resp, ACT_COUNTERMEASURE_READ, &p) == SCOPE_NONE)
		return 0;
	if (digits == 0 || digits > 18 || (!txt && !json))
		return tw_fail(resp, 404, "not_found", "a notice is <case id>.txt or <case id>.json");
	int64_t id = strtoll(file, NULL, 10);
	long long wait = wait_of(req, resp);
	if (wait < 0 || active_for(t, resp, &a) < 0)
		return 0;
	const struct cm_case *c = NULL;
	for (size_t i = 0; i < a.n && c == NULL; i++)
		if (a.c[i].id == id && a.c[i].action == CM_NOTICE)
			c = &a.c[i];
	if (c == NULL) {
		active_free(&a);
		return tw_fail(resp, 404, "not_found", "no active notice case of that id");
	}
	if ((rc = jbuf_init(&b, 4096, 1 << 20)) == 0) {
		rc = txt ? cm_notice_text(c, &t->cm->cfg, &b) : cm_notice_json(c, &t->cm->cfg, &b);
		if (rc == 0)
			rc = answer_file(req, resp,
					 txt ? "text/plain; charset=utf-8" : "application/json", &b, &b,
					 wait);
		jbuf_fini(&b);
	}
	active_free(&a);
	if (rc < 0)
		return tw_fail(resp, 500, "internal_error", "the notice could not be made");
	return 0;
}

const struct tower_route tw_cm_routes[] = {
	{HTTP_GET, "/api/v1/countermeasures/{name}", HTTP_ROUTE_AUTH, cm_get},
	{HTTP_GET, "/api/v1/countermeasures/notices/{file}", HTTP_ROUTE_AUTH, cm_notice},
	{0, NULL, 0, NULL},
};
