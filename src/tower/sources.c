/* sources.c - the attack sources ranked across every sensor's alerts and
 * every report's indicators: GET /api/v1/sources. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "tower/rollup.h"
#include "tower/tower_int.h"

/* GET /api/v1/sources: attacking addresses ranked across every sensor's
 * alerts and every report's indicators.
 *
 * An alert is credited to the addresses its evidence names as attackers
 * (evidence.attackers), or to its src_ip when it names none (older
 * sensors, other tools); a flood judged forged names nobody and credits no
 * one. Per address: its score by the ranking the sensor uses too
 * (src/rank/rank.h, docs/detect.md's ranking rule) and what the score
 * weighs (hosts, ports, sessions, packets, detectors by severity,
 * indicators), its role (a reflector when only ever named as one), alerts,
 * distinct victims, signatures, sensors, indicator matches (alerts of
 * yagura's intel signatures), the reports naming it, the organisations and
 * sectors that saw it (sensors bound to an organisation, reporting
 * operators), first and last seen, the highest severity; and the evidence:
 * the top signatures with counts and the ids of the reports. Ranking:
 * score, then reports, alerts, address. ?limit=N (1..1000, default 100).
 *
 * The alerts side comes from the rollup's summary (rollup.h), brought up to
 * date first, so the cost follows the number of sources, not of alerts. */
/* At most 5,000 alert sources are considered, the 5,000 best by score
 * (then alerts, address): SOURCE_CANDIDATES. The order is the index
 * source_stats_rank's (schema v7): change both together. */
#define SOURCE_ORDER " ORDER BY score_x10 DESC, alerts DESC, src_ip LIMIT 5000"
#define SOURCE_CANDIDATES "(SELECT src_ip FROM source_stats" SOURCE_ORDER ") c"
#define CATCH_UP_ROWS 100000 /* alerts folded in before answering, at most */
#define EVIDENCE_SIGS 5
#define EVIDENCE_REPORTS 20
#define SOURCE_RANKING                                                                          \
	"score, by the ranking rule of docs/detect.md (src/rank/rank.h) that yagura analyze "     \
	"--sources applies too: 10 per detector whose highest severity was 1, 5 per severity 2, " \
	"2 per severity 3, + 4 log2(1 + hosts) + 3 log2(1 + ports) + 3 log2(1 + sessions) + "     \
	"log2(1 + packets) + 2 log2(1 + minutes active) + matched indicators' confidence / 10, " \
	"halved for a reflector; then registered critical computers attacked, reports, alerts, "   \
	"address"

struct src_row {
	const char *ip;
	int64_t alerts, victims, signatures, sensors, intel, first, last, severity;
	int64_t hosts, ports, sessions, packets, score_x10;
	int64_t critical; /* registered critical computers among the victims */
	int reflector;
	json_t *sectors, *orgs, *reports, *sigs; /* sets kept as arrays */
	json_t *detectors, *indicators;          /* objects, as the summary keeps them */
};

struct src_table {
	struct src_row *v;
	size_t n, cap;
	json_t *index; /* ip -> position in v */
	struct store_res *keep[5];
};

static struct src_row *source_get(struct src_table *ss, const char *ip, int create)
{
	json_t *at = json_object_get(ss->index, ip);

	if (at != NULL)
		return &ss->v[json_integer_value(at)];
	if (!create)
		return NULL;
	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 256;
		struct src_row *nv = yg_realloc(ss->v, cap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		ss->v = nv;
		ss->cap = cap;
	}
	struct src_row *s = &ss->v[ss->n];
	memset(s, 0, sizeof(*s));
	s->ip = ip;
	s->severity = INT64_MAX;
	s->sectors = json_array();
	s->orgs = json_array();
	s->reports = json_array();
	s->sigs = json_array();
	s->detectors = json_object();
	s->indicators = json_object();
	ss->n++; /* sources_free frees it from here on, whatever follows */
	if (json_object_set_new(ss->index, ip, json_integer((json_int_t)ss->n - 1)) < 0)
		return NULL;
	return s;
}

/* Adds v to a set kept as a JSON array (sets here hold a handful). */
static void set_add(json_t *set, json_t *v)
{
	size_t i;
	json_t *x;

	json_array_foreach(set, i, x) {
		if (json_equal(x, v)) {
			json_decref(v);
			return;
		}
	}
	json_array_append_new(set, v);
}

static int source_cmp(const void *a, const void *b)
{
	const struct src_row *x = a, *y = b;
	int64_t d;

	if (x->score_x10 != y->score_x10)
		return x->score_x10 > y->score_x10 ? -1 : 1;
	if (x->critical != y->critical)
		return x->critical > y->critical ? -1 : 1;
	if ((d = (int64_t)json_array_size(y->reports) - (int64_t)json_array_size(x->reports)))
		return d < 0 ? -1 : 1;
	if (x->alerts != y->alerts)
		return x->alerts > y->alerts ? -1 : 1;
	return strcmp(x->ip, y->ip);
}

static void sources_free(struct src_table *ss)
{
	for (size_t i = 0; i < ss->n; i++) {
		json_decref(ss->v[i].sectors);
		json_decref(ss->v[i].orgs);
		json_decref(ss->v[i].reports);
		json_decref(ss->v[i].sigs);
		json_decref(ss->v[i].detectors);
		json_decref(ss->v[i].indicators);
	}
	free(ss->v);
	json_decref(ss->index);
	for (size_t i = 0; i < 5; i++)
		store_res_free(ss->keep[i]);
}

/* A summary's name -> number set (detectors, indicators; NULL: none) as a
 * new JSON object; an empty one when there is none or it does not read. */
static json_t *named_object(const char *text)
{
	json_t *o = text != NULL ? yg_json_loads(text, 0, NULL) : NULL;

	if (json_is_object(o))
		return o;
	json_decref(o);
	return json_object();
}

/* Column positions of a result, looked up by name once per query. */
#define COL(r, name) size_t c_##name = tw_col(r, #name)

static int sources_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const known[] = {"limit", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	struct src_table ss = {.index = json_object()};
	struct store_res *r;
	int64_t pending = 0;
	long long limit = 100;
	json_t *arr;
	size_t i;

	if (tw_need(req, resp, ACT_SOURCES_READ, &p) == SCOPE_NONE ||
	    tw_query_known(req, resp, known) < 0 ||
	    tw_query_int(req, resp, "limit", 1, 1000, &limit) < 0)
		goto out;
	/* The alerts, by source: fold in what has come since the last pass. */
	if (t->rollup != NULL && rollup_catch_up(t->rollup, CATCH_UP_ROWS, &pending) < 0)
		pending = -1;
	if (tw_query(t, resp,
		     "SELECT src_ip, alerts, victims, intel, first_ts, last_ts, severity, hosts, ports, "
		     "sessions, packets, named_attacker, detectors, indicators, score_x10 "
		     "FROM source_stats" SOURCE_ORDER,
		     NULL, 0, &ss.keep[0]) < 0)
		goto out;
	r = ss.keep[0];
	{
		COL(r, src_ip); COL(r, alerts); COL(r, victims); COL(r, intel); COL(r, first_ts);
		COL(r, last_ts); COL(r, severity); COL(r, hosts); COL(r, ports); COL(r, sessions);
		COL(r, packets); COL(r, named_attacker); COL(r, detectors); COL(r, indicators);
		COL(r, score_x10);
		for (i = 0; i < store_res_nrows(r); i++) {
			struct src_row *s = source_get(&ss, store_res_text(r, i, c_src_ip), 1);

			if (s == NULL)
				goto nomem;
			s->alerts = store_res_int64(r, i, c_alerts);
			s->victims = store_res_int64(r, i, c_victims);
			s->intel = store_res_int64(r, i, c_intel);
			s->first = store_res_int64(r, i, c_first_ts);
			s->last = store_res_int64(r, i, c_last_ts);
			if (!store_res_isnull(r, i, c_severity))
				s->severity = store_res_int64(r, i, c_severity);
			s->hosts = store_res_int64(r, i, c_hosts);
			if (s->victims > s->hosts) /* as the score took it */
				s->hosts = s->victims;
			s->ports = store_res_int64(r, i, c_ports);
			s->sessions = store_res_int64(r, i, c_sessions);
			s->packets = store_res_int64(r, i, c_packets);
			s->reflector = store_res_int64(r, i, c_named_attacker) == 0;
			json_decref(s->detectors);
			json_decref(s->indicators);
			s->detectors = named_object(store_res_text(r, i, c_detectors));
			s->indicators = named_object(store_res_text(r, i, c_indicators));
			s->score_x10 = store_res_int64(r, i, c_score_x10);
		}
	}
	/* The sensors that saw each; where a sensor belongs to an organisation,
	 * its sector saw the source. */
	if (tw_query(t, resp,
		     "SELECT s.src_ip, s.sensor_id, o.id AS org_id, o.sector FROM source_sensors s "
		     "JOIN " SOURCE_CANDIDATES " ON c.src_ip = s.src_ip "
		     "LEFT JOIN users u ON u.id = s.sensor_id LEFT JOIN orgs o ON o.id = u.org_id",
		     NULL, 0, &ss.keep[1]) < 0)
		goto out;
	r = ss.keep[1];
	{
		COL(r, src_ip); COL(r, org_id); COL(r, sector);
		for (i = 0; i < store_res_nrows(r); i++) {
			struct src_row *s = source_get(&ss, store_res_text(r, i, c_src_ip), 0);

			if (s == NULL)
				continue;
			s->sensors++;
			if (store_res_isnull(r, i, c_org_id))
				continue;
			set_add(s->orgs, json_integer(store_res_int64(r, i, c_org_id)));
			set_add(s->sectors, json_string(store_res_text(r, i, c_sector)));
		}
	}
	/* Reports naming the address. */
	if (tw_query(t, resp,
		     "SELECT ri.value, r.id, r.org_id, o.sector, r.detected_at "
		     "FROM report_indicators ri JOIN reports r ON r.id = ri.report_id "
		     "JOIN orgs o ON o.id = r.org_id WHERE ri.kind = 'address' ORDER BY r.id",
		     NULL, 0, &ss.keep[2]) < 0)
		goto out;
	r = ss.keep[2];
	{
		COL(r, value); COL(r, id); COL(r, org_id); COL(r, sector); COL(r, detected_at);
		for (i = 0; i < store_res_nrows(r); i++) {
			struct src_row *s = source_get(&ss, store_res_text(r, i, c_value), 1);
			int64_t at = store_res_int64(r, i, c_detected_at);

			if (s == NULL)
				goto nomem;
			set_add(s->reports, json_integer(store_res_int64(r, i, c_id)));
			set_add(s->orgs, json_integer(store_res_int64(r, i, c_org_id)));
			set_add(s->sectors, json_string(store_res_text(r, i, c_sector)));
			if (s->first == 0 || at < s->first)
				s->first = at;
			if (at > s->last)
				s->last = at;
		}
	}
	/* The signatures behind each, most alerts first. */
	if (tw_query(t, resp,
		     "SELECT g.src_ip, g.signature_id, g.signature, g.alerts FROM source_signatures g "
		     "JOIN " SOURCE_CANDIDATES " ON c.src_ip = g.src_ip "
		     "ORDER BY g.alerts DESC, g.signature_id",
		     NULL, 0, &ss.keep[3]) < 0)
		goto out;
	r = ss.keep[3];
	{
		COL(r, src_ip); COL(r, signature_id); COL(r, signature); COL(r, alerts);
		for (i = 0; i < store_res_nrows(r); i++) {
			struct src_row *s = source_get(&ss, store_res_text(r, i, c_src_ip), 0);

			if (s == NULL || s->signatures++ >= EVIDENCE_SIGS)
				continue;
			json_array_append_new(
				s->sigs,
				json_pack("{s:I,s:s?,s:I}", "signature_id",
					  (json_int_t)store_res_int64(r, i, c_signature_id), "signature",
					  store_res_text(r, i, c_signature), "alerts",
					  (json_int_t)store_res_int64(r, i, c_alerts)));
		}
	}
	/* Registered critical computers each attacked (alerts marked with an
	 * asset at ingest; a flood from forged sources names nobody). */
	if (tw_query(t, resp,
		     "SELECT src_ip, COUNT(*) AS critical FROM asset_hits GROUP BY src_ip",
		     NULL, 0, &ss.keep[4]) < 0)
		goto out;
	r = ss.keep[4];
	{
		COL(r, src_ip); COL(r, critical);
		for (i = 0; i < store_res_nrows(r); i++) {
			struct src_row *s = source_get(&ss, store_res_text(r, i, c_src_ip), 0);

			if (s != NULL)
				s->critical = store_res_int64(r, i, c_critical);
		}
	}
	if (ss.n > 1) /* qsort of NULL, 0 is undefined */
		qsort(ss.v, ss.n, sizeof(*ss.v), source_cmp);
	arr = json_array();
	for (i = 0; i < ss.n && i < (size_t)limit; i++) {
		struct src_row *s = &ss.v[i];
		json_t *rep = json_array();

		for (size_t k = 0; k < json_array_size(s->reports) && k < EVIDENCE_REPORTS; k++)
			json_array_append(rep, json_array_get(s->reports, k));
		json_t *o = json_pack(
			"{s:I,s:s,s:f,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:O,s:O,s:I,s:I,s:O,s:I,"
			"s:o,s:o,s:o,s:{s:O,s:o}}",
			"rank", (json_int_t)i + 1, "ip", s->ip, "score", (double)s->score_x10 / 10.0,
			"role", s->reflector ? "reflector" : "attacker", "alerts", (json_int_t)s->alerts,
			"victims", (json_int_t)s->victims, "critical_victims", (json_int_t)s->critical, "hosts", (json_int_t)s->hosts, "ports",
			(json_int_t)s->ports, "sessions", (json_int_t)s->sessions, "packets",
			(json_int_t)s->packets, "signatures", (json_int_t)s->signatures, "sensors",
			(json_int_t)s->sensors, "detectors", s->detectors, "indicators", s->indicators,
			"indicator_matches", (json_int_t)s->intel, "reports",
			(json_int_t)json_array_size(s->reports), "sectors", s->sectors, "organisations",
			(json_int_t)json_array_size(s->orgs), "first_seen", tw_time(s->first),
			"last_seen", tw_time(s->last), "severity",
			s->severity == INT64_MAX ? json_null() : json_integer((json_int_t)s->severity),
			"evidence", "signatures", s->sigs, "reports", rep);

		if (o == NULL || json_array_append_new(arr, o) < 0)
			goto nomem_arr;
	}
	http_response_json(resp, 200,
			   json_pack("{s:s,s:o,s:o,s:b}", "ranking", SOURCE_RANKING, "pending_alerts",
				     pending < 0 ? json_null() : json_integer((json_int_t)pending),
				     "sources", arr, "more", ss.n > (size_t)limit));
	goto out;
nomem_arr:
	json_decref(arr);
nomem:
	tw_store_fail(resp, NULL, YG_ENOMEM);
out:
	sources_free(&ss);
	return 0;
}

const struct tower_route tw_source_routes[] = {
	{HTTP_GET, "/api/v1/sources", HTTP_ROUTE_AUTH, sources_list},
	{0, NULL, 0, NULL},
};
