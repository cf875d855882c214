/* intel_cmd.c - `yagura intel`: analysts curate the indicators the tower
 * shares (issue 14, docs/sharing.md). Every command talks TAXII 2.1 to
 * the tower, so that a curated indicator is a change like any other:
 * through the service layer and into the transparency log.
 *
 *   add --value V [...]     an indicator, from one value
 *   import FILE|DIR         a STIX 2.1 bundle's objects, MISP events (a
 *                           feed directory too) as indicators and reports,
 *                           or a plain list
 *   expire ID --reason T    publishes the indicator's revocation
 *   list                    the collection's indicators in force
 *   warn --name --text --ref   a warning to operators (a STIX report)
 *
 * and manage the collections themselves, through the tower's JSON API
 * (/api/v1/taxii/collections, src/tower/collections.c):
 *
 *   collections             each collection, with who reads and writes it
 *   collection-add --alias --title [--description]
 *   access COLL [--rule ROLE[:ORG]=r|w|rw]... [--none]   replaces its rules */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "stix/stix.h"

#define TAXII_TYPE	 "application/taxii+json;version=2.1"
#define TAXII_ROOT	 "/taxii2/api/"
#define INTEL_ANSWER_MAX (64u << 20) /* bytes of one answer */
#define INTEL_ENVELOPE	 1000	     /* objects one POST carries: the tower's limit */
#define INTEL_IMPORT_MAX (16u << 20) /* bytes of a file to import */

static void intel_usage(FILE *out)
{
	fputs("usage: yagura intel COMMAND [OPTIONS]\n"
	      "\n"
	      "  add --value V [--kind K] [--name TEXT] [--tlp T] [--valid-until TIME]\n"
	      "      [--confidence N]      share an indicator: an address or prefix, a domain,\n"
	      "                            a URL or a file hash (K: ipv4, ipv6, domain, url, md5,\n"
	      "                            sha1, sha256; guessed from V when not given)\n"
	      "  import FILE|DIR [--format F] [--tlp T]\n"
	      "                            share a STIX 2.1 bundle's objects; a MISP event, a\n"
	      "                            MISP REST answer or a MISP feed directory (with\n"
	      "                            manifest.json), as indicators and a report per event;\n"
	      "                            or a plain list of values (one a line, '#' comments).\n"
	      "                            F: stix, misp or list; told by content when not given\n"
	      "  expire ID --reason TEXT   publish the revocation of indicator ID\n"
	      "  list [--all]              the indicators in force, newest first\n"
	      "  warn --name TITLE --text TEXT --ref ID [--ref ID]... [--tlp T]\n"
	      "                            publish a warning to operators: a STIX report on\n"
	      "                            the objects named (indicators, say), in the warnings\n"
	      "                            collection unless --collection says otherwise\n"
	      "\n"
	      "collections (what there is to read and write, and who may):\n"
	      "  collections [--all]       each collection, with its rules\n"
	      "  collection-add --alias A --title TEXT [--description TEXT]\n"
	      "                            make a collection (A: a-z, 0-9, '-'); the office's\n"
	      "                            analysts read and write it until `access` changes it\n"
	      "  access COLL [--rule ROLE[:ORG]=r|w|rw]... [--none]\n"
	      "                            replace who reads and writes COLL (its alias or id)\n"
	      "                            with the rules given: ROLE operator, regulator,\n"
	      "                            analyst, overseer or sensor; ORG an organisation's\n"
	      "                            id or name (without it: every user of the role);\n"
	      "                            --none leaves no rule; without either, show them\n"
	      "\n"
	      "options (before COMMAND or after it):\n" CLIENT_TOWER_USAGE
	      "  --collection ALIAS|ID     the TAXII collection (default indicators)\n"
	      "  --tlp T                   clear, green (default), amber, amber+strict, red;\n"
	      "                            for MISP, what no tlp: tag marks\n"
	      "\n"
	      "exit status: 0 ok, 1 usage, 2 the tower refused (its reason is printed) or a\n"
	      "file is not valid, 3 the tower could not be reached.\n",
	      out);
}

#define INTEL_REFS_MAX	64
#define INTEL_RULES_MAX 64 /* rules a collection has: the tower's limit */

struct intel_args {
	const char *value, *kind, *name, *tlp, *valid_until, *confidence, *collection, *reason;
	const char *text, *format;
	const char *refs[INTEL_REFS_MAX];
	size_t nrefs;
	const char *alias, *title, *description;
	const char *rules[INTEL_RULES_MAX];
	size_t nrules;
	bool none;
	char coll_id[64];
	struct client_opts o;
	const char *token;
};

static int kind_of(const char *name, const char *value, enum stix_kind *k)
{
	static const enum stix_kind guess[] = {STIX_KIND_IPV4, STIX_KIND_IPV6, STIX_KIND_SHA256,
					       STIX_KIND_SHA1, STIX_KIND_MD5,  STIX_KIND_URL,
					       STIX_KIND_DOMAIN};

	if (name != NULL) {
		for (int i = 0; i < STIX_KIND_OTHER; i++)
			if (strcmp(name, stix_kind_name((enum stix_kind)i)) == 0) {
				*k = (enum stix_kind)i;
				return stix_value_check(*k, value, strlen(value)) == 0 ? 0 : -1;
			}
		return -1;
	}
	for (size_t i = 0; i < sizeof(guess) / sizeof(guess[0]); i++)
		if (stix_value_check(guess[i], value, strlen(value)) == 0) {
			*k = guess[i];
			return 0;
		}
	return -1;
}

/* One TAXII call: the status (0: unreachable) and the parsed answer. */
static long taxii_call(const struct intel_args *a, const char *method, const char *path,
		       json_t *body, json_t **answer)
{
	char *out = NULL, *text = body != NULL ? yg_json_dumps(body, JSON_COMPACT) : NULL;
	size_t len = 0;
	long st;

	*answer = NULL;
	if (body != NULL && text == NULL)
		return -1;
	st = client_call_raw(a->o.base, a->token, method, path, body ? TAXII_TYPE : NULL, text,
			     text ? strlen(text) : 0, INTEL_ANSWER_MAX, &out, &len);
	free(text);
	if (out != NULL)
		*answer = yg_json_loadb(out, len, 0, NULL);
	free(out);
	return st;
}

/* Prints a refusal in TAXII's error form; the exit status for it. */
static int refused(const char *who, long st, json_t *answer, const char *base)
{
	if (st <= 0) {
		log_warnx("%s: the tower at %s could not be reached", who, base);
		return EXIT_OUTPUT;
	}
	const char *title = json_string_value(json_object_get(answer, "title"));
	log_warnx("%s: the tower refused (HTTP %ld): %s", who, st, title ? title : "no reason given");
	return EXIT_INPUT;
}

/* --collection as the collection's id: an alias is looked up. */
/* Whether a collection of the list ans is want (its id or alias): its id
 * into a->coll_id. */
static bool coll_pick(struct intel_args *a, const json_t *ans, const char *want)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(ans, "collections"), i, c) {
		const char *id = json_string_value(json_object_get(c, "id")),
			   *alias = json_string_value(json_object_get(c, "alias"));

		if (id != NULL && strlen(id) < sizeof(a->coll_id) &&
		    (strcmp(id, want) == 0 || (alias != NULL && strcmp(alias, want) == 0))) {
			snprintf(a->coll_id, sizeof(a->coll_id), "%s", id);
			return true;
		}
	}
	return false;
}

static int collection_id(struct intel_args *a, const char *who)
{
	const char *want = a->collection ? a->collection : "indicators";
	json_t *ans = NULL;
	long st = taxii_call(a, "GET", TAXII_ROOT "collections/", NULL, &ans);

	if (st != 200) {
		int rc = refused(who, st, ans, a->o.base);
		json_decref(ans);
		return rc;
	}
	if (coll_pick(a, ans, want)) {
		json_decref(ans);
		return EXIT_OK;
	}
	json_decref(ans);
	log_warnx("%s: no collection '%.64s' that you may use", who, want);
	return EXIT_INPUT;
}

/* Posts objects (an array, taken) to the collection; prints the status. */
static int post_objects(struct intel_args *a, const char *who, json_t *objs)
{
	char path[200];
	json_t *ans = NULL;
	int rc = EXIT_OK;

	snprintf(path, sizeof(path), TAXII_ROOT "collections/%s/objects/", a->coll_id);
	for (size_t at = 0; at < json_array_size(objs) && rc == EXIT_OK; at += INTEL_ENVELOPE) {
		json_t *part = json_array();

		for (size_t i = at; i < json_array_size(objs) && i < at + INTEL_ENVELOPE; i++)
			json_array_append(part, json_array_get(objs, i));
		json_t *env = json_pack("{s:o}", "objects", part);
		long st = taxii_call(a, "POST", path, env, &ans);

		json_decref(env);
		if (st != 202) {
			rc = refused(who, st, ans, a->o.base);
		} else {
			json_int_t fail = json_integer_value(json_object_get(ans, "failure_count"));

			client_print(ans);
			if (fail > 0) {
				log_warnx("%s: the tower refused %lld of the objects (their reasons are "
					  "in \"failures\")",
					  who, (long long)fail);
				rc = EXIT_INPUT;
			}
		}
		json_decref(ans);
		ans = NULL;
	}
	json_decref(objs);
	return rc;
}

static int tlp_refs(const char *name, const char **ref)
{
	enum stix_tlp t = STIX_TLP_GREEN;

	if (name != NULL && stix_tlp_from_name(name, &t) < 0)
		return -1;
	*ref = stix_tlp_id(t);
	return 0;
}

/* An indicator of one value, built and checked by src/stix. */
static int indicator_of(const struct intel_args *a, const char *value, const char *kind,
			json_t **out, const char *who)
{
	enum stix_kind k;
	char pattern[STIX_VALUE_MAX + 64], id[STIX_ID_MAX], name[300];
	const char *mark;
	int64_t now = yg_wall_us(), until = 0;
	long conf = -1;

	if (kind_of(kind, value, &k) < 0) {
		log_warnx("%s: '%.80s' is not %s", who, value,
			  kind ? kind : "an address, prefix, domain, URL or file hash");
		return -1;
	}
	if (tlp_refs(a->tlp, &mark) < 0) {
		log_warnx("%s: --tlp is clear, green, amber, amber+strict or red", who);
		return -1;
	}
	if (a->valid_until != NULL && (stix_time_parse(a->valid_until, &until) < 0 || until <= now)) {
		log_warnx("%s: --valid-until must be a time to come, such as 2027-01-01T00:00:00Z",
			  who);
		return -1;
	}
	if (a->confidence != NULL) {
		char *end;
		conf = strtol(a->confidence, &end, 10);
		if (*a->confidence == '\0' || *end != '\0' || conf < 0 || conf > 100) {
			log_warnx("%s: --confidence is 0 to 100", who);
			return -1;
		}
	}
	if (stix_pattern_for(k, value, pattern, sizeof(pattern)) < 0 ||
	    stix_id_new("indicator", id) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s", a->name ? a->name : value);
	const char *marks[] = {mark};
	struct stix_indicator in = {
		.c = {.id = id, .created = now, .modified = now, .has_confidence = conf >= 0,
		      .confidence = (int)conf, .marking_refs = marks, .n_marking_refs = 1},
		.name = name, .pattern = pattern, .valid_from = now, .valid_until = until};
	if (stix_indicator_build(&in, out) < 0) {
		log_warnx("%s: '%.80s' makes no valid indicator", who, value);
		return -1;
	}
	return 0;
}

static int intel_add(struct intel_args *a)
{
	json_t *ind;

	if (a->value == NULL) {
		log_warnx("intel add: --value is required");
		return EXIT_USAGE;
	}
	if (indicator_of(a, a->value, a->kind, &ind, "intel add") < 0)
		return EXIT_USAGE;
	int rc = collection_id(a, "intel add");
	if (rc != EXIT_OK) {
		json_decref(ind);
		return rc;
	}
	printf("%s\n", json_string_value(json_object_get(ind, "id")));
	return post_objects(a, "intel add", json_pack("[o]", ind));
}

/* The file's bytes, NUL-terminated, in a buffer the caller frees; NULL
 * after saying why. */
static char *read_file(const char *file, size_t *n)
{
	FILE *f = fopen(file, "rb");
	char *buf;

	if (f == NULL) {
		log_warnx("intel import: %s: cannot open it", file);
		return NULL;
	}
	buf = malloc(INTEL_IMPORT_MAX + 1);
	*n = buf ? fread(buf, 1, INTEL_IMPORT_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || *n > INTEL_IMPORT_MAX) {
		free(buf);
		log_warnx("intel import: %s: larger than %u MiB", file, INTEL_IMPORT_MAX >> 20);
		return NULL;
	}
	buf[*n] = '\0';
	return buf;
}

/* A plain list's values as indicators (buf is cut up); NULL after saying
 * which line is not a value. */
static json_t *list_objects(const struct intel_args *a, const char *file, char *buf)
{
	json_t *objs = json_array();
	unsigned line = 0;

	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		json_t *ind;

		line++;
		l[strcspn(l, "\r#")] = '\0';
		l += strspn(l, " \t");
		size_t len = strlen(l);
		while (len > 0 && (l[len - 1] == ' ' || l[len - 1] == '\t'))
			l[--len] = '\0';
		if (len == 0)
			continue;
		/* One value a line: anything more is not a list we know. */
		if (strpbrk(l, " \t") != NULL ||
		    indicator_of(a, l, NULL, &ind, "intel import") < 0) {
			log_warnx("intel import: %s:%u: not imported", file, line);
			json_decref(objs);
			return NULL;
		}
		json_array_append_new(objs, ind);
	}
	if (json_array_size(objs) == 0) {
		json_decref(objs);
		log_warnx("intel import: %s: no value in it", file);
		return NULL;
	}
	return objs;
}

/* A MISP feed: manifest.json names its events, each in <uuid>.json beside
 * it. An event file that cannot be read is said and counted; the others
 * are imported. */
static int misp_feed(struct stix_misp *m, const char *dir, unsigned *failed)
{
	char path[4096];
	const char *key;
	json_t *manifest, *v;
	size_t n;
	char *buf;

	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if ((buf = read_file(path, &n)) == NULL)
		return -1;
	manifest = yg_json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	if (!json_is_object(manifest) || json_object_size(manifest) == 0) {
		log_warnx("intel import: %s: not a MISP feed's manifest (an object of event uuids)",
			  path);
		json_decref(manifest);
		return -1;
	}
	json_object_foreach(manifest, key, v) {
		json_t *root;
		int rc;

		/* A uuid, nothing else: the key becomes a file name. */
		if (strlen(key) != 36 || strspn(key, "0123456789abcdefABCDEF-") != 36) {
			log_warnx("intel import: %s: '%.40s' is not an event uuid", path, key);
			(*failed)++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s.json", dir, key);
		if ((buf = read_file(path, &n)) == NULL) {
			(*failed)++;
			continue;
		}
		root = yg_json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL);
		free(buf);
		rc = root != NULL ? stix_misp_add(m, path, root) : YG_EFORMAT;
		json_decref(root);
		if (rc == YG_ENOMEM) {
			json_decref(manifest);
			return -1;
		}
		if (rc < 0) {
			log_warnx("intel import: %s: not a MISP event", path);
			(*failed)++;
		}
	}
	json_decref(manifest);
	return 0;
}

/* What the conversion made and skipped, for the analyst: one line each,
 * and the first reasons for values and events refused, on stderr. */
static void misp_print(const struct stix_misp_stats *st, unsigned failed)
{
	size_t skipped = 0;

	printf("misp: %zu event%s read, %zu attribute%s", st->events, st->events == 1 ? "" : "s",
	       st->attributes, st->attributes == 1 ? "" : "s");
	if (st->events_empty > 0)
		printf("; %zu event%s with nothing to import", st->events_empty,
		       st->events_empty == 1 ? "" : "s");
	if (failed > 0)
		printf("; %u event file%s not read", failed, failed == 1 ? "" : "s");
	printf("\nmisp: made %zu indicator%s, %zu report%s, %zu identit%s\n", st->indicators,
	       st->indicators == 1 ? "" : "s", st->reports, st->reports == 1 ? "" : "s",
	       st->identities, st->identities == 1 ? "y" : "ies");
	for (int w = 0; w < STIX_MISP_WHY_COUNT; w++)
		skipped += st->skipped[w];
	if (st->duplicates > 0)
		printf("misp: %zu attribute%s repeating one already made\n", st->duplicates,
		       st->duplicates == 1 ? "" : "s");
	if (skipped > 0) {
		const char *sep = "";

		printf("misp: skipped:");
		for (int w = 0; w < STIX_MISP_WHY_COUNT; w++) {
			if (st->skipped[w] == 0)
				continue;
			printf("%s %zu %s", sep, st->skipped[w],
			       stix_misp_why_text((enum stix_misp_why)w));
			if (w == STIX_MISP_TYPE && st->n_types > 0) {
				printf(" (");
				for (size_t i = 0; i < st->n_types; i++)
					printf("%s%s %zu", i ? ", " : "", st->types[i].name,
					       st->types[i].count);
				printf(")");
			}
			sep = ",";
		}
		printf("\n");
	}
	fflush(stdout);
	for (size_t i = 0; i < st->n_messages; i++)
		log_warnx("intel import: %s", st->messages[i]);
	if (st->messages_dropped > 0)
		log_warnx("intel import: and %zu more", st->messages_dropped);
}

enum import_format { IMPORT_AUTO, IMPORT_STIX, IMPORT_MISP, IMPORT_LIST };

/* A bundle's objects as they are, MISP events converted, or a plain
 * list's values as indicators. */
static int intel_import(struct intel_args *a, const char *file)
{
	enum import_format fmt = IMPORT_AUTO;
	struct stix_misp m = {0};
	struct stat st;
	unsigned failed = 0;
	json_t *objs = NULL, *root = NULL;
	char *buf = NULL;
	size_t n;
	int rc = EXIT_INPUT;

	if (a->format != NULL) {
		static const char *const f[] = {"stix", "misp", "list"};

		for (size_t i = 0; i < 3 && fmt == IMPORT_AUTO; i++)
			if (strcmp(a->format, f[i]) == 0)
				fmt = (enum import_format)(i + 1);
		if (fmt == IMPORT_AUTO) {
			log_warnx("intel import: --format is stix, misp or list");
			return EXIT_USAGE;
		}
	}
	if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (fmt != IMPORT_AUTO && fmt != IMPORT_MISP) {
			log_warnx("intel import: %s: a directory is a MISP feed, not --format %s",
				  file, a->format);
			return EXIT_USAGE;
		}
		fmt = IMPORT_MISP;
	} else {
		if ((buf = read_file(file, &n)) == NULL)
			return EXIT_INPUT;
		if (fmt != IMPORT_LIST)
			root = yg_json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL);
		if (fmt == IMPORT_AUTO)
			fmt = root == NULL ? IMPORT_LIST
			      : json_object_get(root, "Event") != NULL ||
					json_object_get(root, "response") != NULL
				      ? IMPORT_MISP
				      : IMPORT_STIX;
	}

	if (fmt == IMPORT_LIST) {
		if ((objs = list_objects(a, file, buf)) == NULL)
			goto out;
	} else if (fmt == IMPORT_STIX) {
		objs = json_incref(json_object_get(root, "objects"));
		if (!json_is_array(objs) || json_array_size(objs) == 0) {
			log_warnx("intel import: %s: not a STIX 2.1 bundle with objects", file);
			goto out;
		}
	} else {
		struct stix_misp_opts o = {.tlp = STIX_TLP_GREEN};

		if (a->tlp != NULL && stix_tlp_from_name(a->tlp, &o.tlp) < 0) {
			log_warnx("intel import: --tlp is clear, green, amber, amber+strict or red");
			rc = EXIT_USAGE;
			goto out;
		}
		if (stix_misp_init(&m, &o) < 0) {
			rc = EXIT_FATAL;
			goto out;
		}
		if (buf == NULL) {
			if (misp_feed(&m, file, &failed) < 0)
				goto out;
		} else {
			int err = stix_misp_add(&m, file, root);

			if (err == YG_EFORMAT)
				log_warnx("intel import: %s: not a MISP event ({\"Event\": ...}) or "
					  "REST answer ({\"response\": [...]})",
					  file);
			if (err < 0)
				goto out;
		}
		misp_print(&m.stats, failed);
		if (json_array_size(m.objects) == 0) {
			log_warnx("intel import: %s: nothing to import", file);
			goto out;
		}
		objs = json_incref(m.objects);
	}
	rc = collection_id(a, "intel import");
	if (rc == EXIT_OK) {
		rc = post_objects(a, "intel import", objs);
		objs = NULL;
		/* what was sent is sent; an event file not read still fails */
		if (rc == EXIT_OK && failed > 0)
			rc = EXIT_INPUT;
	}
out:
	json_decref(objs);
	json_decref(root);
	stix_misp_fini(&m);
	free(buf);
	return rc;
}

/* A new version of the indicator, revoked: TAXII readers drop it. */
static int intel_expire(struct intel_args *a, const char *id)
{
	char path[300], t[STIX_TIME_LEN];
	json_t *ans = NULL, *last;
	int rc;

	if (!stix_id_valid(id, "indicator")) {
		log_warnx("intel expire: '%.80s' is not an indicator id", id);
		return EXIT_USAGE;
	}
	if (a->reason == NULL || *a->reason == '\0') {
		log_warnx("intel expire: --reason is required: it goes on the record");
		return EXIT_USAGE;
	}
	if ((rc = collection_id(a, "intel expire")) != EXIT_OK)
		return rc;
	snprintf(path, sizeof(path), TAXII_ROOT "collections/%s/objects/%s/", a->coll_id, id);
	long st = taxii_call(a, "GET", path, NULL, &ans);
	last = json_array_get(json_object_get(ans, "objects"), 0);
	if (st != 200 || last == NULL) {
		rc = refused("intel expire", st, ans, a->o.base);
		json_decref(ans);
		return rc;
	}
	json_t *next = json_deep_copy(last);
	json_decref(ans);
	/* The revocation is a version later than the last, by a millisecond
	 * at least: one in the same millisecond would be the same version,
	 * and TAXII keeps the first. */
	int64_t prev = 0, now = yg_wall_us();
	const char *pm = json_string_value(json_object_get(next, "modified"));
	if (pm != NULL && stix_time_parse(pm, &prev) == 0 && now < prev / 1000 * 1000 + 1000)
		now = prev / 1000 * 1000 + 1000;
	if (next == NULL || stix_time_fmt(now, t) < 0) {
		json_decref(next);
		return EXIT_INPUT;
	}
	json_object_set_new(next, "modified", json_string(t));
	json_object_set_new(next, "revoked", json_true());
	json_object_set_new(next, "x_yagura_revocation_reason", json_string(a->reason));
	return post_objects(a, "intel expire", json_pack("[o]", next));
}

/* A STIX report: the office's warning about the objects it names. */
static int intel_warn(struct intel_args *a)
{
	char id[STIX_ID_MAX];
	const char *mark;
	json_t *rep = NULL;

	if (a->name == NULL || a->text == NULL || a->nrefs == 0) {
		log_warnx("intel warn: --name, --text and at least one --ref are required");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < a->nrefs; i++)
		if (!stix_id_valid(a->refs[i], NULL)) {
			log_warnx("intel warn: --ref '%.80s' is not a STIX id", a->refs[i]);
			return EXIT_USAGE;
		}
	if (tlp_refs(a->tlp, &mark) < 0) {
		log_warnx("intel warn: --tlp is clear, green, amber, amber+strict or red");
		return EXIT_USAGE;
	}
	int64_t now = yg_wall_us();
	const char *marks[] = {mark};
	if (stix_id_new("report", id) < 0)
		return EXIT_INPUT;
	struct stix_report r = {
		.c = {.id = id, .created = now, .modified = now, .marking_refs = marks,
		      .n_marking_refs = 1},
		.name = a->name,
		.description = a->text,
		.published = now,
		.object_refs = a->refs,
		.n_object_refs = a->nrefs};
	if (stix_report_build(&r, &rep) < 0) {
		log_warnx("intel warn: the warning is not valid STIX (a name or text with control "
			  "characters?)");
		return EXIT_USAGE;
	}
	if (a->collection == NULL)
		a->collection = "warnings";
	int rc = collection_id(a, "intel warn");
	if (rc != EXIT_OK) {
		json_decref(rep);
		return rc;
	}
	printf("%s\n", id);
	return post_objects(a, "intel warn", json_pack("[o]", rep));
}

static int intel_list(struct intel_args *a)
{
	char path[300], f[3][80];
	const char *next = NULL;
	json_t *ans = NULL, *o;
	size_t i;
	int rc;
	bool first = true;

	if ((rc = collection_id(a, "intel list")) != EXIT_OK)
		return rc;
	char cursor[40] = "";
	do {
		snprintf(path, sizeof(path),
			 TAXII_ROOT "collections/%s/objects/?match[type]=indicator&limit=1000%s%s",
			 a->coll_id, cursor[0] ? "&next=" : "", cursor);
		long st = taxii_call(a, "GET", path, NULL, &ans);
		if (st != 200) {
			rc = refused("intel list", st, ans, a->o.base);
			json_decref(ans);
			return rc;
		}
		if (first)
			printf("%-46s %-24s %-7s %s\n", "id", "valid_until", "state", "pattern");
		first = false;
		json_array_foreach(json_object_get(ans, "objects"), i, o) {
			bool revoked = json_is_true(json_object_get(o, "revoked"));

			printf("%-46s %-24s %-7s %s\n",
			       client_term_safe(json_object_get(o, "id"), f[0], sizeof(f[0])),
			       json_is_string(json_object_get(o, "valid_until"))
				       ? client_term_safe(json_object_get(o, "valid_until"), f[1],
							  sizeof(f[1]))
				       : "-",
			       revoked ? "revoked" : "active",
			       client_term_safe(json_object_get(o, "pattern"), f[2], sizeof(f[2])));
		}
		next = json_string_value(json_object_get(ans, "next"));
		snprintf(cursor, sizeof(cursor), "%s",
			 a->o.all && json_is_true(json_object_get(ans, "more")) && next ? next : "");
		if (json_is_true(json_object_get(ans, "more")) && !a->o.all)
			log_warnx("intel list: more: --all shows every page");
		json_decref(ans);
		ans = NULL;
	} while (cursor[0] != '\0' && strspn(cursor, "0123456789") == strlen(cursor));
	return ferror(stdout) ? EXIT_OUTPUT : EXIT_OK;
}

/* ---- the collections themselves (the tower's JSON API) ------------------ */

#define COLLS_PATH "/api/v1/taxii/collections"

/* ROLE[:ORG]=r|w|rw as a rule the API takes, or NULL. ORG all digits is
 * an organisation's id, anything else its name (which may hold '=' or
 * ':': the role ends at the first ':', the permission starts after the
 * last '='). */
static json_t *rule_of(const char *s)
{
	const char *eq = strrchr(s, '='), *colon = strchr(s, ':'), *end;
	json_t *org;

	if (eq == NULL)
		return NULL;
	if (colon != NULL && colon > eq)
		colon = NULL;
	end = colon != NULL ? colon : eq;
	bool r = strcmp(eq + 1, "r") == 0 || strcmp(eq + 1, "rw") == 0,
	     w = strcmp(eq + 1, "w") == 0 || strcmp(eq + 1, "rw") == 0;
	if (end == s || (!r && !w))
		return NULL;
	if (colon != NULL) {
		size_t n = (size_t)(eq - colon - 1);

		if (n == 0)
			return NULL;
		if (strspn(colon + 1, "0123456789") == n && n < 19)
			org = json_integer(strtoll(colon + 1, NULL, 10));
		else
			org = json_stringn(colon + 1, n);
	} else {
		org = json_null();
	}
	return json_pack("{s:s%,s:o,s:b,s:b}", "role", s, (size_t)(end - s), "org", org, "read", r,
			 "write", w);
}

/* A collection's rules as --rule takes them: "analyst=rw operator:3=r". */
static void rules_text(const json_t *rules, char *out, size_t cap)
{
	const json_t *r;
	size_t i, at = 0;
	char role[40];

	out[0] = '\0';
	json_array_foreach(rules, i, r) {
		const json_t *org = json_object_get(r, "org");
		bool rd = json_is_true(json_object_get(r, "read")),
		     wr = json_is_true(json_object_get(r, "write"));
		char o[32] = "";
		int n;

		if (json_is_integer(org))
			snprintf(o, sizeof(o), ":%lld", (long long)json_integer_value(org));
		n = snprintf(out + at, cap - at, "%s%s%s=%s%s", at ? " " : "",
			     client_term_safe(json_object_get(r, "role"), role, sizeof(role)), o,
			     rd ? "r" : "", wr ? "w" : "");
		if (n < 0 || (size_t)n >= cap - at) {
			snprintf(out + at, cap - at, " ...");
			break;
		}
		at += (size_t)n;
	}
}

static void colls_header(void *ctx)
{
	(void)ctx;
	printf("%-4s %-24s %-36s %s\n", "num", "alias", "id", "rules (read, write)");
}

static int colls_row(const json_t *c, void *ctx)
{
	char alias[80], id[80], rules[2048];

	(void)ctx;
	rules_text(json_object_get(c, "rules"), rules, sizeof(rules));
	printf("%-4lld %-24s %-36s %s\n", (long long)json_integer_value(json_object_get(c, "number")),
	       client_term_safe(json_object_get(c, "alias"), alias, sizeof(alias)),
	       client_term_safe(json_object_get(c, "id"), id, sizeof(id)),
	       rules[0] ? rules : "(none: nobody reads or writes it)");
	return ferror(stdout) ? -1 : 0;
}

static int intel_collections(struct intel_args *a)
{
	struct client_query q;
	const struct client_list l = {.who = "intel collections",
				      .path = COLLS_PATH,
				      .items = "collections",
				      .header = colls_header,
				      .row = colls_row};

	client_query_init(&q);
	a->o.cursor = "after"; /* the list's cursor: next_after */
	return client_list_run(&l, &a->o, a->token, &q);
}

/* COLL, an alias or an id, as the collection's id into a->coll_id. */
static int coll_resolve(struct intel_args *a, const char *who, const char *want)
{
	long long after = 0;

	for (;;) {
		char path[120];
		json_t *ans = NULL;

		if (after > 0)
			snprintf(path, sizeof(path), COLLS_PATH "?limit=1000&after=%lld", after);
		else
			snprintf(path, sizeof(path), COLLS_PATH "?limit=1000");
		long st = client_call(a->o.base, a->token, "GET", path, NULL, NULL, &ans);
		if (st != 200) {
			int rc = client_refused(who, st, ans, a->o.base);
			json_decref(ans);
			return rc;
		}
		if (coll_pick(a, ans, want)) {
			json_decref(ans);
			return EXIT_OK;
		}
		bool more = json_is_true(json_object_get(ans, "more"));
		long long next = json_integer_value(json_object_get(ans, "next_after"));
		json_decref(ans);
		if (!more || next <= after)
			break;
		after = next;
	}
	log_warnx("%s: no collection '%.64s'", who, want);
	return EXIT_INPUT;
}

/* The tower's field names as the options they came from. */
static int coll_field_name(const char *field, char *buf, size_t n, void *ctx)
{
	const struct intel_args *a = ctx;
	char *end;

	if (strcmp(field, "alias") == 0 || strcmp(field, "title") == 0 ||
	    strcmp(field, "description") == 0) {
		snprintf(buf, n, "--%s", field);
		return 0;
	}
	if (strncmp(field, "rules[", 6) != 0)
		return -1;
	unsigned long i = strtoul(field + 6, &end, 10);
	if (*end != ']' || i >= a->nrules)
		return -1;
	snprintf(buf, n, "--rule %.200s%s%s", a->rules[i], end[1] == '.' ? ": " : "",
		 end[1] == '.' ? end + 2 : "");
	return 0;
}

static int intel_collection_add(struct intel_args *a)
{
	const char *who = "intel collection-add";
	json_t *body, *ans = NULL;
	char *text;
	int rc;

	if (a->alias == NULL || a->title == NULL) {
		log_warnx("%s: --alias and --title are required", who);
		return EXIT_USAGE;
	}
	body = json_pack("{s:s,s:s}", "alias", a->alias, "title", a->title);
	if (body != NULL && a->description != NULL &&
	    json_object_set_new(body, "description", json_string(a->description)) < 0) {
		json_decref(body);
		body = NULL;
	}
	if (body == NULL || (text = yg_json_dumps(body, JSON_COMPACT)) == NULL) {
		json_decref(body);
		log_warnx("%s: --alias, --title and --description must be UTF-8 text", who);
		return EXIT_USAGE;
	}
	json_decref(body);
	long st = client_call(a->o.base, a->token, "POST", COLLS_PATH, text, NULL, &ans);
	free(text);
	if (st == 201)
		rc = client_print(json_object_get(ans, "collection"));
	else
		rc = client_refused_named(who, st, ans, a->o.base, coll_field_name, a);
	json_decref(ans);
	return rc;
}

/* Shows COLL's rules, or replaces them with --rule's (or none). */
static int intel_access(struct intel_args *a, const char *coll)
{
	const char *who = "intel access";
	char path[200], *text = NULL;
	json_t *rules, *ans = NULL;
	int rc;

	if (a->none && a->nrules > 0) {
		log_warnx("%s: --none or --rule, not both", who);
		return EXIT_USAGE;
	}
	rules = json_array();
	for (size_t i = 0; i < a->nrules; i++) {
		json_t *r = rule_of(a->rules[i]);

		if (r == NULL) {
			log_warnx("%s: --rule '%.80s' is not ROLE[:ORG]=r, =w or =rw", who,
				  a->rules[i]);
			json_decref(rules);
			return EXIT_USAGE;
		}
		json_array_append_new(rules, r);
	}
	if ((rc = coll_resolve(a, who, coll)) != EXIT_OK) {
		json_decref(rules);
		return rc;
	}
	snprintf(path, sizeof(path), COLLS_PATH "/%s", a->coll_id);
	long st;
	if (a->nrules == 0 && !a->none) {
		json_decref(rules);
		st = client_call(a->o.base, a->token, "GET", path, NULL, NULL, &ans);
	} else {
		json_t *body = json_pack("{s:o}", "rules", rules);

		text = body != NULL ? yg_json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		if (text == NULL) {
			log_warnx("%s: --rule must be UTF-8 text", who);
			return EXIT_USAGE;
		}
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "/access");
		st = client_call(a->o.base, a->token, "PUT", path, text, NULL, &ans);
		free(text);
	}
	if (st == 200)
		rc = client_print(json_object_get(ans, "collection"));
	else
		rc = client_refused_named(who, st, ans, a->o.base, coll_field_name, a);
	json_decref(ans);
	return rc;
}

int cmd_intel(int argc, char **argv)
{
	struct intel_args a;
	const char *pos[2] = {0};
	int npos = 0;
	char tok[256];
	static const char *const names[] = {"--value", "--kind", "--name", "--tlp",
					    "--valid-until", "--confidence", "--collection",
					    "--reason", "--text", "--format", "--alias", "--title",
					    "--description"};

	memset(&a, 0, sizeof(a));
	client_opts_init(&a.o, NULL);
	const char **slots[] = {&a.value, &a.kind, &a.name, &a.tlp, &a.valid_until,
				&a.confidence, &a.collection, &a.reason, &a.text, &a.format, &a.alias,
				&a.title, &a.description};
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0) {
			a.o.all = 1;
			continue;
		}
		if (strcmp(argv[i], "--ref") == 0) {
			if (i + 1 >= argc || a.nrefs == INTEL_REFS_MAX) {
				log_warnx("intel: --ref needs a value (at most %d of them)",
					  INTEL_REFS_MAX);
				return EXIT_USAGE;
			}
			a.refs[a.nrefs++] = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--rule") == 0) {
			if (i + 1 >= argc || a.nrules == INTEL_RULES_MAX) {
				log_warnx("intel: --rule needs a value (at most %d of them)",
					  INTEL_RULES_MAX);
				return EXIT_USAGE;
			}
			a.rules[a.nrules++] = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--none") == 0) {
			a.none = true;
			continue;
		}
		int took = client_opt("intel", &a.o, argc, argv, &i);
		if (took < 0)
			return EXIT_USAGE;
		if (took > 0)
			continue;
		size_t k;
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strcmp(argv[i], names[k]) == 0)
				break;
		if (k < sizeof(names) / sizeof(names[0])) {
			if (i + 1 >= argc) {
				log_warnx("intel: %s needs a value", argv[i]);
				return EXIT_USAGE;
			}
			*slots[k] = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			intel_usage(stdout);
			return EXIT_OK;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			log_warnx("intel: unknown option '%s'", argv[i]);
			return EXIT_USAGE;
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			log_warnx("intel: too many arguments");
			return EXIT_USAGE;
		}
	}
	if (npos == 0) {
		intel_usage(stderr);
		return EXIT_USAGE;
	}
	if ((a.token = client_token("intel", &a.o, tok, sizeof(tok))) == NULL)
		return EXIT_USAGE;
	if (strcmp(pos[0], "add") == 0 && npos == 1)
		return intel_add(&a);
	if (strcmp(pos[0], "import") == 0 && npos == 2)
		return intel_import(&a, pos[1]);
	if (strcmp(pos[0], "expire") == 0 && npos == 2)
		return intel_expire(&a, pos[1]);
	if (strcmp(pos[0], "list") == 0 && npos == 1)
		return intel_list(&a);
	if (strcmp(pos[0], "warn") == 0 && npos == 1)
		return intel_warn(&a);
	if (strcmp(pos[0], "collections") == 0 && npos == 1)
		return intel_collections(&a);
	if (strcmp(pos[0], "collection-add") == 0 && npos == 1)
		return intel_collection_add(&a);
	if (strcmp(pos[0], "access") == 0 && npos == 2)
		return intel_access(&a, pos[1]);
	intel_usage(stderr);
	return EXIT_USAGE;
}
