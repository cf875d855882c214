/* oversight_cmd.c - `yagura oversight summary --year Y`: the counts the
 * oversight committee reports each year, as the tower computes them from
 * its transparency log (docs/oversight.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/client.h"

static void oversight_usage(FILE *out)
{
	fputs("usage: yagura oversight summary --year YEAR [OPTIONS]\n"
	      "\n"
	      "  the year's cases (UTC): proposed, approvals, approved, rejected, withdrawn,\n"
	      "  revoked, activated and expired, each in all and by action, counted from the\n"
	      "  transparency log's entries; with the checkpoint they were counted under\n"
	      "\n"
	      "options:\n" CLIENT_TOWER_USAGE
	      "\n"
	      "exit status: 0 ok, 1 usage, 2 the tower refused, 3 it could not be reached.\n",
	      out);
}

int cmd_oversight(int argc, char **argv)
{
	struct client_opts o;
	const char *year = NULL, *token;
	char tok[256], path[80];
	json_t *answer = NULL;
	int sub = 0, rc;
	long status;

	client_opts_init(&o, NULL);
	for (int i = 1; i < argc; i++) {
		int took = client_opt("oversight", &o, argc, argv, &i);

		if (took < 0)
			return EXIT_USAGE;
		if (took > 0)
			continue;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			oversight_usage(stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--year") == 0 && i + 1 < argc) {
			year = argv[++i];
		} else if (strcmp(argv[i], "summary") == 0 && !sub) {
			sub = 1;
		} else {
			log_warnx("oversight: unexpected argument '%s' (try --help)", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!sub || year == NULL || strlen(year) != 4 || strspn(year, "0123456789") != 4) {
		oversight_usage(stderr);
		return EXIT_USAGE;
	}
	if ((token = client_token("oversight", &o, tok, sizeof(tok))) == NULL)
		return EXIT_USAGE;
	snprintf(path, sizeof(path), "/api/v1/oversight/summary?year=%s", year);
	status = client_call(o.base, token, "GET", path, NULL, NULL, &answer);
	rc = status >= 200 && status < 300 ? client_print(answer)
					   : client_refused("oversight", status, answer, o.base);
	json_decref(answer);
	return rc;
}
