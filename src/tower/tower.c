/* tower.c - the tower's life: configuration defaults, start and stop.
 *
 * Every route names an action of the authorization matrix (auth.h); a
 * handler first asks authz_scope() what the caller may see or change, then
 * narrows its SQL to the caller's organisation or sectors. What is not the
 * caller's is answered 404, not 403, so that existence does not leak. The
 * routes live one file per resource (tower_int.h). */
#include "tower/tower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/alloc.h"
#include "base/log.h"
#include "tower/rollup.h"
#include "tower/cases.h"
#include "tower/tower_int.h"

static const char *const op_labels[OP_COUNT] = {"op=\"auth\"", "op=\"report_create\"",
						 "op=\"alerts_insert\""};

static const char *const default_sectors[] = {
	"electricity", "gas",	     "petroleum", "water",	     "railways",
	"trucking",    "shipping",   "aviation",  "airports",    "telecommunications",
	"broadcasting", "postal",    "finance",   "credit_cards", "ports"};

void tower_config_defaults(struct tower_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = "127.0.0.1:8080";
	cfg->store = "var/tower.db";
	cfg->threads = 32;
	cfg->max_body = 4u << 20;
	cfg->log_origin = "yagura.local/log";
	report_policy_default(&cfg->policy);
	cfg->retention_s = 730 * 86400;
	cfg->retention_interval_s = 3600;
	cfg->cases.min_duration_s = 3600;
	cfg->monitor_max_s = 90 * 86400;
	cfg->monitor_two_after_s = 30 * 86400;
	cfg->session_lifetime_s = 8 * 3600;
	cfg->cases.max_duration_s = 7 * 86400;
	cfg->cases.two_overseers_after_s = 3 * 86400;
	cfg->cases.max_prefix4 = 24;
	cfg->cases.max_prefix6 = 48;
	cfg->cases.one_prefix4 = 32;
	cfg->cases.one_prefix6 = 64;
	cfg->stream.name = "YAGURA_ALERTS";
	cfg->stream.prefix = "yagura.alerts";
	cfg->stream.durable = "yagura-tower";
	cfg->stream.replicas = 1;
	cfg->stream.batch = 256;
	cfg->stream.consumers = 4;
	cfg->stream.ack_wait_s = 30;
	cfg->n_sectors = sizeof(default_sectors) / sizeof(default_sectors[0]);
	for (unsigned i = 0; i < cfg->n_sectors; i++)
		cfg->sectors[i] = default_sectors[i];
}

void tower_config_free(struct tower_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_owned; i++)
		free(cfg->owned[i]);
	cfg->n_owned = 0;
}

/* ---- the API's own description ------------------------------------------ */

extern const unsigned char tower_openapi_json[];
extern const unsigned long tower_openapi_json_len;

static int openapi(struct http_request *req, struct http_response *resp, void *ctx)
{
	(void)req;
	(void)ctx;
	if (http_response_body(resp, 200, "application/json", (const char *)tower_openapi_json,
			       tower_openapi_json_len) < 0)
		return -1;
	return 0;
}

static const struct tower_route tw_doc_routes[] = {
	{HTTP_GET, "/api/v1/openapi.json", HTTP_ROUTE_INLINE, openapi},
	{0, NULL, 0, NULL},
};

/* Every resource's routes, and the media type of their JSON (NULL:
 * application/json). */
static const struct {
	const struct tower_route *routes;
	const struct http_media *media;
} tables[] = {
	{tw_org_routes, NULL},	      {tw_token_routes, NULL},	      {tw_report_routes, NULL},
	{tw_asset_routes, NULL},      {tw_alert_routes, NULL},	      {tw_source_routes, NULL},
	{tw_log_routes, NULL},	      {tw_doc_routes, NULL},	      {tw_case_routes, NULL},
	{tw_case_read_routes, NULL},  {tw_cm_routes, NULL},	      {tw_oversight_routes, NULL},
	{tw_monitoring_routes, NULL}, {tw_taxii_routes, &tw_taxii_media}, {tw_share_routes, NULL},
	{tw_login_routes, NULL},      {tw_web_routes, NULL},	      {tw_overview_routes, NULL},
	{tw_collection_routes, NULL},
};

/* The source summary's thread catches up as a job (jobs.c). */
static int rollup_run(void *arg, int (*pass)(void *), void *pass_arg)
{
	return tw_job_run(arg, TW_JOB_SOURCES, NULL, 0, pass, pass_arg, NULL);
}

/* The source summary's progress, for /metrics. */
static void rollup_report(void *arg, int64_t pending)
{
	struct tower *t = arg;

	if (pending >= 0 && t->sources_pending != NULL)
		http_metric_set(t->sources_pending, (double)pending);
	else if (pending < 0 && t->sources_failures != NULL)
		http_metric_add(t->sources_failures, 1);
}

/* What tower_start() set up, in reverse; after http_server_stop() when
 * it started serving. */
static void tower_free(struct tower *t)
{
	tw_ingest_stop(t); /* first: it stores through everything below */
	rollup_stop(t->rollup); /* before the metrics it reports to go */
	tw_partners_stop(t);
	tw_cases_stop(t);
	tw_log_stop(t);
	http_server_free(t->srv);
	tw_assets_free(t);
	store_close(t->st);
	tw_auth_cache_free(t);
	free(t);
}

/* Set on each scrape of /metrics (http_metrics_on_render). */
static void store_memory_gauge(void *arg)
{
	struct tower *t = arg;

	http_metric_set(t->store_memory, (double)store_memory_used(t->st));
}

int tower_start(const struct tower_config *cfg, struct tower **out, char *err, size_t errlen)
{
	struct tower *t = yg_calloc(1, sizeof(*t));
	struct http_config hc;
	struct store_opts so = {0};
	int rc;

	*out = NULL;
	if (t == NULL || sodium_init() < 0) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	t->cfg = *cfg;
	if (tw_auth_cache_new(t) < 0) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	memset(&hc, 0, sizeof(hc));
	t->tls = cfg->tls_cert != NULL; /* session cookies are Secure then */
	hc.tls_cert = cfg->tls_cert;
	hc.tls_key = cfg->tls_key;
	hc.tls_client_ca = cfg->tls_client_ca;
	hc.tls_priorities = cfg->tls_priorities;
	/* Before the store: a bad certificate is named on its own line, and
	 * nothing is migrated for a tower that cannot start. */
	if ((rc = http_tls_check(&hc, err, errlen)) < 0)
		goto fail;
	/* What the store holds (reports, alerts, token hashes) is not for
	 * every account on the machine. */
	if ((rc = store_private_check(cfg->store, err, errlen)) < 0)
		goto fail;
	so.answer_timeout_ms = cfg->store_timeout_s * 1000;
	so.cache_kib = cfg->store_cache_mib * 1024;
	if ((rc = store_open_ex(cfg->store, &so, &t->st, err, errlen)) < 0)
		goto fail;
	if ((rc = tw_assets_load(t)) < 0) {
		snprintf(err, errlen, "cannot read the assets' addresses: %s", yg_strerror(rc));
		goto fail;
	}
	hc.listen = cfg->listen;
	/* On SQLite a group commit gathers the requests waiting for it: few
	 * event threads read requests, and the handlers get threads of their
	 * own, so that one waiting holds no other connection up. On PostgreSQL
	 * every request commits alone on a pooled connection, and handlers on
	 * the event threads measured 20% faster there (bench/tower-run, PG
	 * reports 4,700/s against 3,800/s, three runs each). */
	if (store_group_commits(t->st)) {
		hc.threads = 4;
		hc.handler_threads = cfg->threads;
	} else {
		hc.threads = cfg->threads;
	}
	hc.max_body = cfg->max_body;
	hc.max_connections = cfg->max_connections;
	hc.per_ip_connections = cfg->per_ip_connections;
	hc.header_timeout_s = cfg->header_timeout_s;
	hc.body_timeout_s = cfg->body_timeout_s;
	hc.idle_timeout_s = cfg->idle_timeout_s;
	hc.rate = cfg->rate;
	hc.burst = cfg->burst;
	hc.auth = tw_auth;
	hc.auth_ctx = t;
	hc.session_cookie = TW_SESSION_COOKIE;
	hc.csrf_ok = tw_csrf_ok;
	if ((rc = http_server_new(&hc, &t->srv)) < 0) {
		snprintf(err, errlen, "cannot set up the HTTP server: %s", yg_strerror(rc));
		goto fail;
	}
	{
		static const double b[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
		struct http_metrics *m = http_server_metrics(t->srv);
		for (int i = 0; i < OP_COUNT; i++) {
			t->store_seconds[i] = http_metrics_histogram(
				m, "yagura_store_seconds", op_labels[i],
				"time spent in the store per operation, commit included", b,
				sizeof(b) / sizeof(b[0]));
			t->store_pending[i] = http_metrics_gauge(
				m, "yagura_store_pending", op_labels[i],
				"requests in the store now: queued for a group commit or a "
				"connection, or being written");
		}
		t->alerts_stored = http_metrics_counter(m, "yagura_alerts_stored_total", NULL,
							"sensor alerts stored");
		t->alerts_duplicate = http_metrics_counter(m, "yagura_alerts_duplicate_total", NULL,
							   "sensor alerts received again and ignored");
		t->sources_pending = http_metrics_gauge(
			m, "yagura_sources_pending_alerts", NULL,
			"alert ids not yet folded into the attack-source summary");
		t->sources_failures = http_metrics_counter(
			m, "yagura_sources_rollup_failures_total", NULL,
			"attack-source summary catch-ups that failed (see the log)");
		if (store_memory_used(t->st) >= 0) {
			t->store_memory = http_metrics_gauge(
				m, "yagura_store_memory_bytes", NULL,
				"bytes SQLite holds in the tower: page caches (store_cache_mib "
				"per connection) and statements");
			http_metrics_on_render(m, store_memory_gauge, t);
		}
	}
	tw_jobs_init(t);
	if ((rc = tw_log_start(t, err, errlen)) < 0)
		goto fail;
	if ((rc = tw_cases_start(t, err, errlen)) < 0 ||
	    (rc = tw_collections_start(t, err, errlen)) < 0 ||
	    (rc = tw_partners_start(t, err, errlen)) < 0)
		goto fail;
	http_metric_set(http_metrics_gauge(http_server_metrics(t->srv),
					   "yagura_cases_never_block_narrowed", NULL,
					   "never-block entries the configuration took out ([cases] "
					   "lab_allow): 0 on a tower for real networks"),
			(double)case_guard_narrowed(t->cases_guard));
	if ((rc = rollup_start(t->st, 0, rollup_report, rollup_run, t, &t->rollup)) < 0) {
		snprintf(err, errlen, "cannot start the source summary: %s", yg_strerror(rc));
		goto fail;
	}
	for (size_t k = 0; k < sizeof(tables) / sizeof(tables[0]); k++) {
		for (const struct tower_route *r = tables[k].routes; r->pattern != NULL; r++) {
			if ((rc = http_server_route_media(t->srv, r->m, r->pattern, r->flags,
							  tables[k].media, r->fn, t)) < 0) {
				snprintf(err, errlen, "route %s: %s", r->pattern, yg_strerror(rc));
				goto fail;
			}
		}
	}
	/* Before serving: its counters join /metrics while nothing reads them. */
	if ((rc = tw_ingest_start(t, err, errlen)) < 0)
		goto fail;
	if ((rc = http_server_start(t->srv)) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen, yg_strerror(rc));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	tower_free(t);
	return rc;
}

void tower_routes_print(FILE *out)
{
	for (size_t k = 0; k < sizeof(tables) / sizeof(tables[0]); k++)
		for (const struct tower_route *r = tables[k].routes; r->pattern != NULL; r++)
			fprintf(out, "%s %s %s\n", http_method_name(r->m), r->pattern,
				(r->flags & HTTP_ROUTE_AUTH) ? "auth" : "open");
}

unsigned tower_port(const struct tower *t)
{
	return http_server_port(t->srv);
}

void tower_stop(struct tower *t)
{
	if (t == NULL)
		return;
	http_server_stop(t->srv);
	tower_free(t);
}
