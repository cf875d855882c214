/* report_cmd.c - `yagura report`: the reporting obligation at a terminal,
 * against a tower's API. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/client.h"

static void report_usage(FILE *out)
{
	fputs("usage: yagura report COMMAND [OPTIONS]\n"
	      "\n"
	      "  file FILE                 file the prompt report of an incident (JSON; '-' reads stdin)\n"
	      "  update ID STAGE FILE      add a version at STAGE (prompt, detailed or final)\n"
	      "  close ID                  close a report after its final version\n"
	      "  list [--overdue] [--limit N] [--before ID] [--all]\n"
	      "                            reports you may see, newest first, a page at a\n"
	      "                            time; when there are more, a line on stderr gives\n"
	      "                            the --before ID of the next page\n"
	      "  show ID                   one report with every version\n"
	      "\n"
	      "options (before COMMAND or after it):\n" CLIENT_TOWER_USAGE
	      "file, update, close:\n" CLIENT_WRITE_USAGE
	      "list:\n" CLIENT_LIST_USAGE
	      "  --before ID               the page after (older than) the report ID\n"
	      "\n"
	      "The report's fields are in docs/tower.md and docs/openapi.json.\n"
	      "exit status: 0 ok, 1 usage, 2 the tower refused the request (its reasons are\n"
	      "printed, one field a line), 3 the tower could not be reached (or, for list,\n"
	      "the output not written).\n",
	      out);
}

/* A report id as the tower gives them: digits only, so that nothing
 * typed can change the path it is put in. */
static int report_id_ok(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 18 && s[n] == '\0';
}

static char *read_json_file(const char *path)
{
	json_error_t err;
	json_t *j = strcmp(path, "-") == 0 ? json_loadf(stdin, 0, &err) : json_load_file(path, 0, &err);
	char *text;

	if (j == NULL) {
		yg_json_err_clean(&err);
		log_warnx("report: %s: line %d: %s", path, err.line, err.text);
		return NULL;
	}
	text = yg_json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

static void report_header(void *ctx)
{
	printf("%-6s %-9s %-20s %-14s %-8s %-28s %s\n", "id", "stage", "organisation", "category",
	       "severity", "next due", "overdue");
}

static int report_row(const json_t *r, void *ctx)
{
	char f[5][64];

	printf("%-6lld %-9s %-20s %-14s %-8s %-28s %s\n",
	       (long long)json_integer_value(json_object_get(r, "id")),
	       client_term_safe(json_object_get(r, "stage"), f[0], sizeof(f[0])),
	       client_term_safe(json_object_get(r, "org"), f[1], 21), /* 20 bytes, whole characters */
	       client_term_safe(json_object_get(r, "category"), f[2], sizeof(f[2])),
	       client_term_safe(json_object_get(r, "severity"), f[3], sizeof(f[3])),
	       client_term_safe(json_object_get(r, "next_due"), f[4], sizeof(f[4])),
	       json_is_true(json_object_get(r, "overdue")) ? "yes" : "");
	return ferror(stdout) ? -1 : 0;
}

int cmd_report(int argc, char **argv)
{
	struct client_opts o;
	const char *pos[4] = {0}, *token;
	int npos = 0, overdue = 0, rc;
	char tok[256], path[128], *body = NULL;
	json_t *answer = NULL;
	long status;

	client_opts_init(&o, "before");
	o.writes = 1;
	for (int i = 1; i < argc; i++) {
		int took = client_opt("report", &o, argc, argv, &i);

		if (took < 0)
			return EXIT_USAGE;
		if (took > 0)
			continue;
		if (strcmp(argv[i], "--overdue") == 0) {
			overdue = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			report_usage(stdout);
			return EXIT_OK;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			log_warnx("report: unknown option '%s'", argv[i]);
			return EXIT_USAGE;
		} else if (npos < 4) {
			pos[npos++] = argv[i];
		} else {
			log_warnx("report: too many arguments");
			return EXIT_USAGE;
		}
	}
	if (npos == 0) {
		report_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(pos[0], "list") != 0 && (o.limit || o.from || o.all || overdue)) {
		log_warnx("report %s: --overdue, --limit, --before and --all are for report list",
			  pos[0]);
		return EXIT_USAGE;
	}
	if ((token = client_token("report", &o, tok, sizeof(tok))) == NULL)
		return EXIT_USAGE;
	const char *cmd = pos[0];
	if (strcmp(cmd, "file") == 0 && npos == 2) {
		if ((body = read_json_file(pos[1])) == NULL)
			return EXIT_INPUT;
		status = client_write("report file", &o, token, "/api/v1/reports", body, &answer);
	} else if (strcmp(cmd, "update") == 0 && npos == 4) {
		char *rep = read_json_file(pos[3]);
		json_t *doc = rep ? yg_json_loads(rep, 0, NULL) : NULL;
		json_t *req = doc ? json_pack("{s:s,s:o}", "stage", pos[2], "report", doc) : NULL;

		free(rep);
		if (!report_id_ok(pos[1]) || req == NULL) {
			if (req == NULL && doc != NULL)
				log_warnx("report update: the stage is not text");
			else if (!report_id_ok(pos[1]))
				log_warnx("report update: '%.40s' is not a report id", pos[1]);
			json_decref(req);
			return doc == NULL && report_id_ok(pos[1]) ? EXIT_INPUT : EXIT_USAGE;
		}
		body = yg_json_dumps(req, JSON_COMPACT);
		json_decref(req);
		if (body == NULL)
			return EXIT_INPUT;
		snprintf(path, sizeof(path), "/api/v1/reports/%s/versions", pos[1]);
		status = client_write("report update", &o, token, path, body, &answer);
	} else if ((strcmp(cmd, "close") == 0 || strcmp(cmd, "show") == 0) && npos == 2 &&
		   !report_id_ok(pos[1])) {
		log_warnx("report %s: '%.40s' is not a report id", cmd, pos[1]);
		return EXIT_USAGE;
	} else if (strcmp(cmd, "close") == 0 && npos == 2) {
		snprintf(path, sizeof(path), "/api/v1/reports/%s/versions", pos[1]);
		status = client_write("report close", &o, token, path, "{\"stage\":\"closed\"}", &answer);
	} else if (strcmp(cmd, "list") == 0 && npos == 1) {
		struct client_list l = {"report list", "/api/v1/reports", "reports", report_header,
					report_row, NULL};
		struct client_query q;

		client_query_init(&q);
		if (overdue)
			client_query_add(&q, "overdue", "true");
		return client_list_run(&l, &o, token, &q);
	} else if (strcmp(cmd, "show") == 0 && npos == 2) {
		snprintf(path, sizeof(path), "/api/v1/reports/%s", pos[1]);
		status = client_call(o.base, token, "GET", path, NULL, NULL, &answer);
	} else {
		report_usage(stderr);
		return EXIT_USAGE;
	}
	free(body);
	rc = status >= 200 && status < 300 ? client_print(answer) : client_refused("report", status, answer, o.base);
	json_decref(answer);
	return rc;
}
