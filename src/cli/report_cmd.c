/* report_cmd.c - `yagura report`: the reporting obligation at a terminal,
 * against a tower's API. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	      "  list [--overdue]          reports you may see, newest first\n"
	      "  show ID                   one report with every version\n"
	      "\n"
	      "options (before COMMAND or after it):\n"
	      "  --tower URL               the tower (default $YAGURA_TOWER or http://127.0.0.1:8080)\n"
	      "  --token-file FILE         your API token (default $YAGURA_TOKEN)\n"
	      "  --idempotency-key KEY     file/update: a retry with the same key files once\n"
	      "\n"
	      "The report's fields are in docs/tower.md and docs/openapi.json.\n"
	      "exit status: 0 ok, 1 usage, 2 the tower refused the request (its reasons are\n"
	      "printed, one field a line), 3 the tower could not be reached.\n",
	      out);
}

static char *read_json_file(const char *path)
{
	json_error_t err;
	json_t *j = strcmp(path, "-") == 0 ? json_loadf(stdin, 0, &err) : json_load_file(path, 0, &err);
	char *text;

	if (j == NULL) {
		log_warnx("report: %s: line %d: %s", path, err.line, err.text);
		return NULL;
	}
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

/* A stored string as a terminal may show it: control bytes (and DEL)
 * become '?', so that nothing a tower stores can move the cursor, clear
 * the screen or forge lines; "-" when absent. */
static const char *term_safe(const json_t *v, char *buf, size_t n)
{
	const char *s = json_string_value(v);
	size_t i;

	if (s == NULL)
		return "-";
	for (i = 0; s[i] && i + 1 < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

int cmd_report(int argc, char **argv)
{
	const char *base = getenv("YAGURA_TOWER"), *token = getenv("YAGURA_TOKEN");
	const char *idem = NULL, *token_file = NULL, *pos[4] = {0};
	int npos = 0, overdue = 0, rc;
	char tok[256], path[128], *body = NULL;
	json_t *answer = NULL;
	long status;

	if (base == NULL)
		base = "http://127.0.0.1:8080";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tower") == 0 && i + 1 < argc) {
			base = argv[++i];
		} else if (strcmp(argv[i], "--token-file") == 0 && i + 1 < argc) {
			token_file = argv[++i];
		} else if (strcmp(argv[i], "--idempotency-key") == 0 && i + 1 < argc) {
			idem = argv[++i];
		} else if (strcmp(argv[i], "--overdue") == 0) {
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
	if (token_file != NULL) {
		FILE *f = fopen(token_file, "r");
		if (f == NULL || fgets(tok, sizeof(tok), f) == NULL) {
			log_warn("report: %s", token_file);
			if (f)
				fclose(f);
			return EXIT_USAGE;
		}
		fclose(f);
		tok[strcspn(tok, "\r\n")] = '\0';
		token = tok;
	}
	if (token == NULL || *token == '\0') {
		log_warnx("report: no token (set YAGURA_TOKEN or use --token-file)");
		return EXIT_USAGE;
	}
	const char *cmd = pos[0];
	if (strcmp(cmd, "file") == 0 && npos == 2) {
		if ((body = read_json_file(pos[1])) == NULL)
			return EXIT_INPUT;
		status = client_call(base, token, "POST", "/api/v1/reports", body, idem, &answer);
	} else if (strcmp(cmd, "update") == 0 && npos == 4) {
		char *rep = read_json_file(pos[3]);
		if (rep == NULL)
			return EXIT_INPUT;
		size_t n = strlen(rep) + 64;
		body = malloc(n);
		snprintf(body, n, "{\"stage\":\"%s\",\"report\":%s}", pos[2], rep);
		free(rep);
		snprintf(path, sizeof(path), "/api/v1/reports/%s/versions", pos[1]);
		status = client_call(base, token, "POST", path, body, idem, &answer);
	} else if (strcmp(cmd, "close") == 0 && npos == 2) {
		snprintf(path, sizeof(path), "/api/v1/reports/%s/versions", pos[1]);
		status = client_call(base, token, "POST", path, "{\"stage\":\"closed\"}", idem, &answer);
	} else if (strcmp(cmd, "list") == 0 && npos == 1) {
		status = client_call(base, token, "GET", overdue ? "/api/v1/reports?overdue=true&limit=1000"
							  : "/api/v1/reports?limit=1000",
			      NULL, NULL, &answer);
		if (status == 200) {
			size_t i;
			json_t *r;
			printf("%-6s %-9s %-20s %-14s %-8s %-28s %s\n", "id", "stage", "organisation",
			       "category", "severity", "next due", "overdue");
			json_array_foreach(json_object_get(answer, "reports"), i, r) {
				json_t *od = json_object_get(r, "overdue_by_seconds");
				char f[5][64];
				printf("%-6lld %-9s %-20.20s %-14s %-8s %-28s %s\n",
				       (long long)json_integer_value(json_object_get(r, "id")),
				       term_safe(json_object_get(r, "stage"), f[0], sizeof(f[0])),
				       term_safe(json_object_get(r, "org"), f[1], sizeof(f[1])),
				       term_safe(json_object_get(r, "category"), f[2], sizeof(f[2])),
				       term_safe(json_object_get(r, "severity"), f[3], sizeof(f[3])),
				       term_safe(json_object_get(r, "next_due"), f[4], sizeof(f[4])),
				       od ? "yes" : "");
			}
			json_decref(answer);
			return EXIT_OK;
		}
	} else if (strcmp(cmd, "show") == 0 && npos == 2) {
		snprintf(path, sizeof(path), "/api/v1/reports/%s", pos[1]);
		status = client_call(base, token, "GET", path, NULL, NULL, &answer);
	} else {
		report_usage(stderr);
		return EXIT_USAGE;
	}
	free(body);
	rc = status >= 200 && status < 300 ? client_print(answer) : client_refused("report", status, answer, base);
	json_decref(answer);
	return rc;
}
