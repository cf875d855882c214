/* sightings.c - what the sensors' intel matches become for sharing
 * (issue 14): an alert that names a STIX indicator (evidence.indicator_id,
 * stored as alerts.indicator) is a sighting of it. The tower's thread
 * reads new alerts in id order and adds, for each indicator and sensor, a
 * STIX sighting to the sightings collection: one object, its id derived
 * from the pair, a new version each time with the count, first_seen and
 * last_seen so far, where_sighted_refs the sensor's identity (a "system").
 *
 * The cursor (taxii_state 'sightings_after') moves in the transaction
 * that adds the sightings, under the condition that it is where this pass
 * read it: several towers on one store, or a restart, neither skip nor
 * repeat an alert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "stix/stix.h"
#include "tower/tower_int.h"

#define SIGHTINGS_COLLECTION "6b6e0ee2-5b1a-5d5e-9c5e-3f2b7c1a0003"
#define SIGHTINGS_PAGE	     2000 /* alerts read a pass */
#define SIGHTINGS_MAX	     400  /* sightings (and identities) an envelope holds */
#define SIGHTINGS_IDENTITY_CREATED 1767225600000000LL /* 2026-01-01T00:00:00Z */

struct group {
	char indicator[STIX_ID_MAX];
	char sensor[130];
	int64_t sensor_id;
	int64_t first, last, count;
};

struct cursor {
	int64_t from, to;
};

static int cursor_move(struct store_conn *c, void *arg)
{
	const struct cursor *k = arg;
	struct store_param ps[] = {store_int64(k->to), store_int64(k->from)};
	int64_t changed = 0;
	int rc = store_exec(c,
			    "UPDATE taxii_state SET value = ? WHERE name = 'sightings_after' AND "
			    "value = ?",
			    ps, 2, NULL, &changed);

	return rc < 0 ? rc : changed == 1 ? 0 : 1; /* another tower went first */
}

/* The latest version the collection holds of sighting id, or NULL. */
static json_t *last_version(struct store_conn *c, const char *id)
{
	struct store_param ps[] = {store_text(SIGHTINGS_COLLECTION), store_text(id)};
	struct store_res *r = NULL;
	json_t *v = NULL;

	if (store_exec(c,
		       "SELECT body FROM stix_objects WHERE collection_id = ? AND stix_id = ? ORDER "
		       "BY version_us DESC LIMIT 1",
		       ps, 2, &r, NULL) == 0 &&
	    store_res_nrows(r) == 1)
		v = yg_json_loads(store_res_text(r, 0, 0), 0, NULL);
	store_res_free(r);
	return v;
}

/* The sighting's next version: the counts so far and these alerts'. */
static json_t *sighting_of(struct store_conn *c, const struct group *g, const char *identity,
			   int64_t now)
{
	char key[STIX_ID_MAX + 140], id[STIX_ID_MAX];
	int64_t first = g->first, last = g->last, count = g->count, created = now, prev = 0;
	json_t *old, *out = NULL;

	snprintf(key, sizeof(key), "%s|%s", g->indicator, g->sensor);
	if (stix_id_v5("sighting", key, id) < 0)
		return NULL;
	if ((old = last_version(c, id)) != NULL) {
		int64_t t;
		const json_t *n = json_object_get(old, "count");

		if (stix_time_parse(json_string_value(json_object_get(old, "first_seen")), &t) == 0 &&
		    t < first)
			first = t;
		if (stix_time_parse(json_string_value(json_object_get(old, "last_seen")), &t) == 0 &&
		    t > last)
			last = t;
		if (json_is_integer(n))
			count += json_integer_value(n);
		if (stix_time_parse(json_string_value(json_object_get(old, "created")), &created) < 0)
			created = now;
		if (stix_time_parse(json_string_value(json_object_get(old, "modified")), &prev) < 0)
			prev = 0;
		json_decref(old);
	}
	/* Versions a millisecond apart at least: STIX times are kept to it. */
	if (now < prev / 1000 * 1000 + 1000)
		now = prev / 1000 * 1000 + 1000;
	const char *where[] = {identity};
	const char *marks[] = {stix_tlp_id(STIX_TLP_AMBER)};
	struct stix_sighting s = {
		.c = {.id = id, .created = created, .modified = now, .marking_refs = marks,
		      .n_marking_refs = 1},
		.sighting_of_ref = g->indicator,
		.first_seen = first,
		.last_seen = last,
		.count = (uint32_t)(count > 999999999 ? 999999999 : count),
		.where_sighted_refs = where,
		.n_where_sighted_refs = 1};
	if (stix_sighting_build(&s, &out) < 0)
		return NULL;
	return out;
}

static json_t *identity_of(const char *sensor, char id[STIX_ID_MAX])
{
	char key[150], name[160];
	const char *marks[] = {stix_tlp_id(STIX_TLP_AMBER)};
	json_t *out = NULL;

	snprintf(key, sizeof(key), "yagura-sensor|%s", sensor);
	snprintf(name, sizeof(name), "sensor %s", sensor);
	if (stix_id_v5("identity", key, id) < 0)
		return NULL;
	/* Fixed: the identity is the same object whichever pass makes it. */
	struct stix_identity in = {.c = {.id = id, .created = SIGHTINGS_IDENTITY_CREATED,
					 .marking_refs = marks,
					 .n_marking_refs = 1},
				   .name = name,
				   .identity_class = "system"};
	return stix_identity_build(&in, &out) < 0 ? NULL : out;
}

int tw_sightings_pass(struct tower *t)
{
	struct store_conn *c = NULL;
	struct store_res *r = NULL, *s = NULL;
	struct group *g = NULL;
	size_t ng = 0;
	int64_t from = 0, to = 0, sensor = 0;
	int rc;

	if ((rc = store_conn_get(t->st, &c)) < 0)
		return rc;
	rc = store_exec(c, "SELECT value FROM taxii_state WHERE name = 'sightings_after'", NULL, 0,
			&s, NULL);
	if (rc == 0 && store_res_nrows(s) == 1)
		from = to = store_res_int64(s, 0, 0);
	store_res_free(s);
	s = NULL;
	struct store_param ps[] = {store_int64(from), store_int64(SIGHTINGS_PAGE)};
	if (rc == 0)
		rc = store_exec(c,
				"SELECT a.id, a.indicator, a.ts, a.sensor_id, u.name FROM alerts a JOIN "
				"users u ON u.id = a.sensor_id WHERE a.id > ? ORDER BY a.id LIMIT ?",
				ps, 2, &r, NULL);
	if (rc < 0 || store_res_nrows(r) == 0) {
		store_res_free(r);
		store_conn_put(c);
		return rc;
	}
	size_t rows = store_res_nrows(r);
	to = store_res_int64(r, rows - 1, 0);
	g = calloc(rows, sizeof(*g));
	for (size_t i = 0; g != NULL && i < rows; i++) {
		const char *ind = store_res_isnull(r, i, 1) ? NULL : store_res_text(r, i, 1);
		int64_t ts = store_res_int64(r, i, 2);
		size_t k;

		if (ind == NULL || !stix_id_valid(ind, "indicator"))
			continue;
		sensor = store_res_int64(r, i, 3);
		for (k = 0; k < ng; k++)
			if (g[k].sensor_id == sensor && strcmp(g[k].indicator, ind) == 0)
				break;
		if (k == ng) {
			snprintf(g[k].indicator, sizeof(g[k].indicator), "%s", ind);
			snprintf(g[k].sensor, sizeof(g[k].sensor), "%s", store_res_text(r, i, 4));
			g[k].sensor_id = sensor;
			g[k].first = g[k].last = ts;
			ng++;
		}
		g[k].count++;
		if (ts < g[k].first)
			g[k].first = ts;
		if (ts > g[k].last)
			g[k].last = ts;
	}
	store_res_free(r);
	if (g == NULL) {
		store_conn_put(c);
		return YG_ENOMEM;
	}
	/* The envelope: each sensor's identity, then the sightings. Read on
	 * this connection outside the change: a sighting's last version is
	 * only ever written by this pass, under the cursor's condition. */
	json_t *objs = json_array();
	int64_t now = tw_now_us();
	for (size_t k = 0; k < ng && json_array_size(objs) < SIGHTINGS_MAX; k++) {
		char ident[STIX_ID_MAX];
		json_t *id = identity_of(g[k].sensor, ident), *si;

		if (id == NULL)
			continue;
		json_array_append_new(objs, id);
		if ((si = sighting_of(c, &g[k], ident, now)) != NULL)
			json_array_append_new(objs, si);
	}
	store_conn_put(c);
	free(g);
	struct cursor k = {from, to};
	struct add_hooks h = {.user_id = sensor, .before = cursor_move, .before_arg = &k};
	struct svc_result res;
	char status[STIX_ID_MAX];
	if (json_array_size(objs) == 0) {
		/* Only alerts of no indicator: the cursor moves on alone. */
		if ((rc = store_conn_get(t->st, &c)) == 0) {
			rc = cursor_move(c, &k);
			store_conn_put(c);
		}
		json_decref(objs);
		return rc < 0 ? rc : 0;
	}
	rc = tw_taxii_add(t, NULL, SIGHTINGS_COLLECTION, objs, &h, status, sizeof(status), &res);
	size_t n = json_array_size(objs) / 2;
	json_decref(objs);
	if (rc < 0) {
		log_warnx("tower: sightings: %s", res.msg);
		return rc;
	}
	return (int)n;
}
