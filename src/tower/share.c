/* share.c - an incident report's indicators, shared (issue 14,
 * docs/sharing.md): POST /api/v1/reports/{id}/share {"tlp": ...}. An
 * analyst decides that what an operator reported should warn the others;
 * the tower makes a STIX indicator of each indicator of the report's
 * latest version and adds them to the indicators collection, as a change
 * by the analyst in the transparency log.
 *
 * The reporting operator is not named unless its report says it agrees
 * ("attribution": true): the indicators are then created by its identity,
 * otherwise by the office's. They are shared no more widely than the
 * report's own TLP allows (TLP:AMBER when it gives none), and a TLP:RED
 * report is not shared at all.
 *
 * With the indicators go one infrastructure object, the servers that
 * attacked the operator, and a relationship "indicator indicates
 * infrastructure" for each: what a tool such as OpenCTI draws as one
 * incident's attack servers rather than loose values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "stix/stix.h"
#include "tower/tower_int.h"

#define INDICATORS_COLLECTION "6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0002"
#define SHARE_MAX	      1000 /* indicators one share carries: an envelope's */

/* The kind of a report indicator's value, as src/stix names it. */
static int kind_of(const char *kind, const char *value, enum stix_kind *k)
{
	static const enum stix_kind addr[] = {STIX_KIND_IPV4, STIX_KIND_IPV6},
				    hash[] = {STIX_KIND_MD5, STIX_KIND_SHA1, STIX_KIND_SHA256};
	const enum stix_kind *c = NULL;
	size_t n = 0;

	if (strcmp(kind, "address") == 0)
		c = addr, n = 2;
	else if (strcmp(kind, "file_hash") == 0)
		c = hash, n = 3;
	else if (strcmp(kind, "domain") == 0)
		*k = STIX_KIND_DOMAIN;
	else if (strcmp(kind, "url") == 0)
		*k = STIX_KIND_URL;
	else
		return -1;
	for (size_t i = 0; i < n; i++)
		if (stix_value_check(c[i], value, strlen(value)) == 0) {
			*k = c[i];
			return 0;
		}
	return n > 0 ? -1 : stix_value_check(*k, value, strlen(value));
}

/* The infrastructure-type-ov entry for a report's category: what the
 * servers behind such an attack most often are, "unknown" otherwise. */
static const char *infra_type(const char *category)
{
	static const struct {
		const char *category, *type;
	} map[] = {{"ddos", "botnet"},
		   {"ransomware", "command-and-control"},
		   {"malware", "command-and-control"},
		   {"data_breach", "exfiltration"}};

	for (size_t i = 0; category != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(category, map[i].category) == 0)
			return map[i].type;
	return "unknown";
}

/* Appends to objs the relationship "src type target", by src's author,
 * under its markings, with an id that sharing again does not change. */
static void relate(json_t *objs, const struct stix_common *src, const char *type,
		   const char *target)
{
	char rid[STIX_ID_MAX], key[2 * STIX_ID_MAX + 32];
	json_t *o = NULL;

	snprintf(key, sizeof(key), "%s|%s|%s", src->id, type, target);
	struct stix_relationship rel = {.c = *src,
					.relationship_type = type,
					.source_ref = src->id,
					.target_ref = target};
	rel.c.id = rid;
	if (stix_id_v5("relationship", key, rid) == 0 && stix_relationship_build(&rel, &o) == 0)
		json_array_append_new(objs, o);
}

static int report_share(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"tlp", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	const json_t *b = http_request_json(req);
	const char *want = json_string_value(json_object_get(b, "tlp"));
	int64_t id = tw_order_id(req);
	struct store_res *r = NULL, *ind = NULL;
	enum stix_tlp tlp = STIX_TLP_AMBER, asked = STIX_TLP_NONE;
	char by[STIX_ID_MAX], msg[160];
	json_t *objs = NULL, *rep = NULL;

	if (tw_need(req, resp, ACT_REPORT_SHARE, &p) == SCOPE_NONE ||
	    tw_only_fields(resp, b, fields, "share") < 0)
		return 0;
	if (want != NULL && stix_tlp_from_name(want, &asked) < 0) {
		http_response_error(resp, 422, "validation_failed", "the share is not valid");
		http_response_error_field(resp, "tlp", "must be TLP:CLEAR, TLP:GREEN, TLP:AMBER, "
						       "TLP:AMBER+STRICT or TLP:RED");
		return 0;
	}
	struct store_param ps[] = {store_int64(id)};
	if (id == 0 ||
	    tw_query(t, resp,
		     "SELECT r.org_id, o.name, o.sector, v.body FROM reports r JOIN orgs o ON o.id = "
		     "r.org_id JOIN report_versions v ON v.report_id = r.id AND v.version = "
		     "r.version WHERE r.id = ?",
		     ps, 1, &r) < 0)
		return id == 0 ? tw_fail(resp, 404, "not_found", "no such report") : 0;
	if (store_res_nrows(r) != 1) {
		store_res_free(r);
		return tw_fail(resp, 404, "not_found", "no such report");
	}
	if ((rep = yg_json_loads(store_res_text(r, 0, 3), 0, NULL)) == NULL) {
		store_res_free(r);
		return tw_fail(resp, 500, "internal_error", "the report's body cannot be read");
	}
	const char *rtlp = json_string_value(json_object_get(rep, "tlp"));
	if (rtlp != NULL && stix_tlp_from_name(rtlp, &tlp) < 0)
		tlp = STIX_TLP_RED;
	if (tlp == STIX_TLP_RED) {
		store_res_free(r);
		json_decref(rep);
		return tw_fail(resp, 422, "tlp_red",
			       "the operator marked the report TLP:RED: it is not shared");
	}
	if (asked > tlp)
		tlp = asked;
	if (tw_query(t, resp,
		     "SELECT kind, value FROM report_indicators WHERE report_id = ? ORDER BY kind, "
		     "value",
		     ps, 1, &ind) < 0)
		goto out;
	if (store_res_nrows(ind) == 0 || store_res_nrows(ind) > SHARE_MAX) {
		snprintf(msg, sizeof(msg), "the report has %s indicators to share",
			 store_res_nrows(ind) == 0 ? "no" : "too many (at most 1000)");
		tw_fail(resp, 422, "nothing_to_share", msg);
		goto out;
	}
	/* Who the indicators come from: the operator if it agreed, else the
	 * office, which vouches for them. */
	objs = json_array();
	bool named = json_is_true(json_object_get(rep, "attribution"));
	char key[80];
	snprintf(key, sizeof(key), named ? "yagura-org|%lld" : "yagura-office",
		 (long long)store_res_int64(r, 0, 0));
	const char *marks[] = {stix_tlp_id(tlp)};
	json_t *who = NULL;
	if (stix_id_v5("identity", key, by) == 0) {
		struct stix_identity idn = {
			.c = {.id = by, .created = 1767225600000000LL, .marking_refs = marks,
			      .n_marking_refs = 1},
			.name = named ? store_res_text(r, 0, 1) : "National cyber security office",
			.identity_class = named ? "organization" : "organization",
			.sectors = named ? stix_sectors_of(store_res_text(r, 0, 2)) : NULL};
		for (const char *const *sv = idn.sectors; sv != NULL && *sv != NULL; sv++)
			idn.n_sectors++;
		if (stix_identity_build(&idn, &who) == 0)
			json_array_append_new(objs, who);
	}
	int64_t now = tw_now_us();
	json_t *ids = json_array();
	/* What the indicators point at: the servers the operator saw attack
	 * it, one infrastructure object of the report, each indicator
	 * "indicates" it (STIX 2.1 §4.8, the relationships of §4.7). */
	char infra[STIX_ID_MAX], ikey0[64], infra_name[120];
	json_t *io = NULL;
	const char *cat = json_string_value(json_object_get(rep, "category"));
	const char *itype[] = {infra_type(cat)};
	snprintf(ikey0, sizeof(ikey0), "report|%lld|infrastructure", (long long)id);
	snprintf(infra_name, sizeof(infra_name), "Attack infrastructure of an incident (%s)",
		 cat != NULL ? cat : "uncategorised");
	struct stix_infrastructure inf = {
		.c = {.id = infra, .created = now, .modified = now,
		      .created_by_ref = who != NULL ? by : NULL, .marking_refs = marks,
		      .n_marking_refs = 1},
		.name = infra_name,
		.description = "Servers a critical-infrastructure operator reported to the office as "
			       "the source of an attack on it",
		.infrastructure_types = itype,
		.n_infrastructure_types = 1};
	if (stix_id_v5("infrastructure", ikey0, infra) < 0 ||
	    stix_infrastructure_build(&inf, &io) < 0)
		io = NULL;
	else
		json_array_append_new(objs, io);
	for (size_t i = 0; i < store_res_nrows(ind); i++) {
		const char *kind = store_res_text(ind, i, 0), *value = store_res_text(ind, i, 1);
		char pattern[STIX_VALUE_MAX + 64], iid[STIX_ID_MAX], ikey[STIX_VALUE_MAX + 64];
		enum stix_kind k;
		json_t *o = NULL;

		snprintf(ikey, sizeof(ikey), "report|%lld|%s|%s", (long long)id, kind, value);
		if (kind_of(kind, value, &k) < 0 || stix_pattern_for(k, value, pattern,
								      sizeof(pattern)) < 0 ||
		    stix_id_v5("indicator", ikey, iid) < 0)
			continue;
		struct stix_indicator in = {
			.c = {.id = iid, .created = now, .modified = now,
			      .created_by_ref = who != NULL ? by : NULL, .marking_refs = marks,
			      .n_marking_refs = 1},
			.name = value,
			.description = "Reported by a critical-infrastructure operator to the office",
			.pattern = pattern,
			.valid_from = now};
		if (stix_indicator_build(&in, &o) < 0)
			continue;
		json_array_append_new(objs, o);
		json_array_append_new(ids, json_string(iid));
		if (io != NULL)
			relate(objs, &in.c, "indicates", infra);
	}
	struct add_hooks h = {.user_id = p->user_id, .org_id = 0};
	struct svc_result res;
	char status[STIX_ID_MAX];
	if (tw_taxii_add(t, p, INDICATORS_COLLECTION, objs, &h, status, sizeof(status), &res) < 0) {
		json_decref(ids);
		svc_answer(resp, &res);
		goto out;
	}
	http_response_json(resp, 201,
			   json_pack("{s:I,s:s,s:s,s:b,s:o}", "shared", (json_int_t)json_array_size(ids),
				     "tlp", stix_tlp_name(tlp), "status", status, "attributed", named,
				     "indicators", ids));
out:
	json_decref(objs);
	json_decref(rep);
	store_res_free(r);
	store_res_free(ind);
	return 0;
}

const struct tower_route tw_share_routes[] = {
	{HTTP_POST, "/api/v1/reports/{id}/share", TW_AJ, report_share},
	{0, NULL, 0, NULL},
};
