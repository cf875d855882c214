/* partners.c - the tower pulls partners' TAXII 2.1 collections (a CSIRT,
 * an ISAC; issue 14, docs/sharing.md) into local ones, on a schedule.
 *
 *   [partners]
 *   isac = https://isac.example/taxii2/api/collections/ID/ /etc/yagura/isac.token 5m
 *
 * Each partner's objects go, as the partner sent them (its identity in
 * created_by_ref, its markings), into the collection partner-NAME, which
 * the office's analysts read; their TLP decides the rest as for any
 * object. A pull asks for what was added after the last one it stored
 * (the partner's X-TAXII-Date-Added-Last), page by page; each page is one
 * envelope by the tower in the transparency log, and the cursor moves in
 * that page's transaction, so a restart or a second tower on the store
 * neither skips nor doubles a page. The thread is the partners' own: a
 * slow partner holds up no case's expiry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/every.h"
#include "base/json.h"
#include "base/log.h"
#include "http/fetch.h"
#include "stix/stix.h"
#include "tower/report.h"
#include "tower/tower_int.h"

#define PARTNER_PAGES 100 /* pages a pull takes at most; the rest next time */
#define PARTNER_TOKEN 512 /* bytes of a token file */

struct tower_partners {
	struct every *thread;
	char coll[TOWER_MAX_PARTNERS][40]; /* the local collections' ids */
	double next[TOWER_MAX_PARTNERS];   /* yg_mono_s() of the next pull */
	int failing[TOWER_MAX_PARTNERS];   /* said once a failure streak */
};

struct cursor {
	char name[64];
	int64_t from, to;
};

static int cursor_move(struct store_conn *c, void *arg)
{
	const struct cursor *k = arg;
	struct store_param ps[] = {store_int64(k->to), store_text(k->name), store_int64(k->from)};
	int64_t changed = 0;
	int rc = store_exec(c, "UPDATE taxii_state SET value = ? WHERE name = ? AND value = ?", ps, 3,
			    NULL, &changed);

	return rc < 0 ? rc : changed == 1 ? 0 : 1;
}

static int cursor_get(struct tower *t, const char *name, int64_t *v)
{
	struct store_conn *c = NULL;
	struct store_res *r = NULL;
	struct store_param ps[] = {store_text(name)};
	int rc;

	if ((rc = store_conn_get(t->st, &c)) < 0)
		return rc;
	rc = store_exec(c, "SELECT value FROM taxii_state WHERE name = ?", ps, 1, &r, NULL);
	store_conn_put(c);
	if (rc == 0)
		*v = store_res_nrows(r) == 1 ? store_res_int64(r, 0, 0) : 0;
	store_res_free(r);
	return rc;
}

static int read_token(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	return out[0] != '\0' && strspn(out, " \t") == 0 ? 0 : -1;
}

/* One pull of partner i: 0, or -1 after logging why (once a streak). */
static int pull(struct tower *t, unsigned i)
{
	struct tower_partners *m = t->partners;
	const struct tower_partner *pt = &t->cfg.partners[i];
	char token[PARTNER_TOKEN], auth[PARTNER_TOKEN + 32], url[2400], why[300] = "";
	struct cursor k;
	char next[64] = "";
	int rc = 0;

	snprintf(k.name, sizeof(k.name), "pull:%s", pt->name);
	if (read_token(pt->token_file, token, sizeof(token)) < 0) {
		snprintf(why, sizeof(why), "cannot read a token from %s", pt->token_file);
		goto fail;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	for (int page = 0; page < PARTNER_PAGES; page++) {
		if (cursor_get(t, k.name, &k.from) < 0) {
			snprintf(why, sizeof(why), "the store cannot be read");
			goto fail;
		}
		json_t *after = tw_time(k.from);
		snprintf(url, sizeof(url), "%sobjects/?limit=1000%s%s%s%s", pt->url,
			 k.from > 0 ? "&added_after=" : "", k.from > 0 ? json_string_value(after) : "",
			 next[0] ? "&next=" : "", next);
		json_decref(after);
		struct http_fetch f = {.method = "GET",
				       .url = url,
				       .headers = {auth, "Accept: application/taxii+json;version=2.1"},
				       .keep = "X-TAXII-Date-Added-Last"};
		http_fetch(&f);
		json_t *env = f.status == 200 ? yg_json_loadb(f.answer, f.answer_len, 0, NULL) : NULL;
		const json_t *objs = json_object_get(env, "objects");
		int64_t last = 0;
		free(f.answer);
		if (f.status != 200 || !json_is_object(env)) {
			snprintf(why, sizeof(why), "%s: %s", pt->url,
				 f.status <= 0 ? f.why : f.status == 200 ? "not a TAXII envelope"
									 : "refused");
			if (f.status > 0 && f.status != 200)
				snprintf(why + strlen(why), sizeof(why) - strlen(why), " (HTTP %ld)",
					 f.status);
			json_decref(env);
			goto fail;
		}
		if (json_array_size(objs) == 0) {
			json_decref(env);
			break;
		}
		if (report_parse_time(f.kept, &last) < 0 || last <= k.from) {
			snprintf(why, sizeof(why),
				 "%s: no X-TAXII-Date-Added-Last later than the last pull", pt->url);
			json_decref(env);
			goto fail;
		}
		k.to = last;
		struct add_hooks h = {.before = cursor_move, .before_arg = &k};
		struct svc_result res;
		char status[STIX_ID_MAX];
		rc = tw_taxii_add(t, NULL, m->coll[i], objs, &h, status, sizeof(status), &res);
		const char *n = json_string_value(json_object_get(env, "next"));
		bool more = json_is_true(json_object_get(env, "more")) && n != NULL &&
			    strlen(n) < sizeof(next) && strspn(n, "abcdefghijklmnopqrstuvwxyz"
							      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~") ==
							       strlen(n);
		snprintf(next, sizeof(next), "%s", more ? n : "");
		json_decref(env);
		if (rc < 0) {
			snprintf(why, sizeof(why), "storing a page: %s", res.msg);
			goto fail;
		}
		if (!more)
			break;
	}
	if (m->failing[i])
		log_info("tower: partner %s: pulling again", pt->name);
	m->failing[i] = 0;
	return 0;
fail:
	if (!m->failing[i]++)
		log_warnx("tower: partner %s: %s; the pull is tried again in %llds", pt->name, why,
			  (long long)pt->interval_s);
	return -1;
}

struct pull_job {
	struct tower *t;
	unsigned i;
};

static int pull_job(void *arg)
{
	struct pull_job *p = arg;

	return pull(p->t, p->i);
}

/* A pass of the thread: the partners due, then the time to the next. A
 * pull is a job (jobs.c): one tower pulls a partner once per interval,
 * whichever comes first; the others skip it. */
static double partners_pass(void *arg)
{
	struct tower *t = arg;
	struct tower_partners *m = t->partners;
	double wait = 60;

	for (unsigned i = 0; i < t->cfg.n_partners; i++) {
		if (m->next[i] <= yg_mono_s()) {
			struct pull_job p = {t, i};
			char name[80];

			snprintf(name, sizeof(name), "partner:%s", t->cfg.partners[i].name);
			(void)tw_job_run(t, TW_JOB_PARTNERS, name,
					 (double)t->cfg.partners[i].interval_s, pull_job, &p, NULL);
			m->next[i] = yg_mono_s() + (double)t->cfg.partners[i].interval_s;
		}
		if (m->next[i] - yg_mono_s() < wait)
			wait = m->next[i] - yg_mono_s();
	}
	return wait;
}

int tw_partners_start(struct tower *t, char *err, size_t errlen)
{
	struct tower_partners *m;
	struct store_conn *c = NULL;
	int rc = 0;

	if (t->cfg.n_partners == 0)
		return 0;
	if ((m = yg_calloc(1, sizeof(*m))) == NULL)
		return YG_ENOMEM;
	/* The local collections, which the office's analysts read (each one
	 * made is a change by the tower in the transparency log), and their
	 * cursors; several towers on one store each try, the first makes them. */
	for (unsigned i = 0; rc == 0 && i < t->cfg.n_partners; i++) {
		const struct tower_partner *pt = &t->cfg.partners[i];
		char alias[64], title[100];
		struct svc_result res;

		snprintf(alias, sizeof(alias), "partner-%s", pt->name);
		snprintf(title, sizeof(title), "From partner %s", pt->name);
		rc = tw_collection_ensure(t, alias, title, pt->url, m->coll[i], sizeof(m->coll[i]),
					  &res);
	}
	if (rc == 0)
		rc = store_conn_get(t->st, &c);
	for (unsigned i = 0; rc == 0 && i < t->cfg.n_partners; i++) {
		char state[64];

		snprintf(state, sizeof(state), "pull:%s", t->cfg.partners[i].name);
		struct store_param ps[] = {store_text(state)};
		rc = store_exec(c,
				"INSERT INTO taxii_state (name, value) VALUES (?, 0) ON CONFLICT DO "
				"NOTHING",
				ps, 1, NULL, NULL);
	}
	store_conn_put(c);
	if (rc < 0) {
		free(m);
		snprintf(err, errlen, "[partners]: the local collections cannot be made");
		return rc;
	}
	t->partners = m;
	if ((rc = every_start(&m->thread, 0, partners_pass, t)) < 0) {
		snprintf(err, errlen, "cannot start the partners' thread");
		t->partners = NULL;
		free(m);
		return rc;
	}
	return 0;
}

void tw_partners_stop(struct tower *t)
{
	struct tower_partners *m = t->partners;

	if (m == NULL)
		return;
	every_stop(m->thread);
	free(m);
	t->partners = NULL;
}
