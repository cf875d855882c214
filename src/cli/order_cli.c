/* order_cli.c - what `yagura case` and `yagura monitoring` share: the
 * command line of a decision (approve, reject, withdraw, revoke ID
 * --reason TEXT), show ID and list, against a tower's API. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/client.h"

static bool id_ok(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 18 && s[n] == '\0';
}

int order_cli_run(const struct order_cli *c, void *ctx, int argc, char **argv)
{
	struct client_opts o;
	const char *pos[3] = {0}, *token, *reason = NULL, *state = NULL;
	int npos = 0, rc;
	char tok[256], path[512], *body = NULL;
	json_t *answer = NULL, *req = NULL;
	long status;

	client_opts_init(&o, "before");
	o.writes = 1;
	for (int i = 1; i < argc; i++) {
		int took = client_opt(c->who, &o, argc, argv, &i);

		if (took == 0 && (strcmp(argv[i], "--reason") == 0 || strcmp(argv[i], "--state") == 0)) {
			if (i + 1 >= argc) {
				log_warnx("%s: %s needs a value", c->who, argv[i]);
				return EXIT_USAGE;
			}
			*(argv[i][2] == 'r' ? &reason : &state) = argv[i + 1];
			i++;
			continue;
		}
		if (took == 0)
			took = c->opt(ctx, argc, argv, &i);
		if (took < 0)
			return EXIT_USAGE;
		if (took > 0)
			continue;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			c->usage(stdout);
			return EXIT_OK;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			log_warnx("%s: unknown option '%s'", c->who, argv[i]);
			return EXIT_USAGE;
		} else if (npos < 3) {
			pos[npos++] = argv[i];
		} else {
			log_warnx("%s: too many arguments", c->who);
			return EXIT_USAGE;
		}
	}
	if (npos == 0) {
		c->usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = pos[0];
	bool decision = strcmp(cmd, "approve") == 0 || strcmp(cmd, "reject") == 0 ||
			strcmp(cmd, "withdraw") == 0 || strcmp(cmd, "revoke") == 0;
	if (strcmp(cmd, "list") != 0 && (o.limit || o.from || o.all || state)) {
		log_warnx("%s %s: --state, --limit, --before and --all are for %s list", c->who, cmd,
			  c->who);
		return EXIT_USAGE;
	}
	if ((decision || strcmp(cmd, "show") == 0) && (npos != 2 || !id_ok(pos[1]))) {
		log_warnx("%s %s: give one %s id (digits)", c->who, cmd, c->noun);
		return EXIT_USAGE;
	}
	if (decision && (reason == NULL || *reason == '\0')) {
		log_warnx("%s %s: --reason is required: it goes on the record", c->who, cmd);
		return EXIT_USAGE;
	}
	if (!decision && reason != NULL) {
		log_warnx("%s %s: --reason is for a decision", c->who, cmd);
		return EXIT_USAGE;
	}
	if ((token = client_token(c->who, &o, tok, sizeof(tok))) == NULL)
		return EXIT_USAGE;
	if (decision) {
		if ((req = json_pack("{s:s}", "reason", reason)) == NULL) {
			log_warnx("%s %s: --reason is not UTF-8 text", c->who, cmd);
			return EXIT_USAGE;
		}
		snprintf(path, sizeof(path), "%s/%s/%s", c->path, pos[1], cmd);
	} else if (strcmp(cmd, "list") == 0 && npos == 1) {
		char who[64];
		struct client_list l = {who, c->path, c->items, c->header, c->row, ctx};
		struct client_query q;

		snprintf(who, sizeof(who), "%s list", c->who);
		client_query_init(&q);
		if (state != NULL)
			client_query_add(&q, "state", state);
		if (c->list_filters != NULL)
			c->list_filters(ctx, &q);
		return client_list_run(&l, &o, token, &q);
	} else if (strcmp(cmd, "show") == 0) {
		snprintf(path, sizeof(path), "%s/%s", c->path, pos[1]);
	} else if ((rc = c->other(ctx, pos, npos, &o, token, path, sizeof(path), &req)) >= 0) {
		return rc;
	}
	if (req != NULL) {
		body = yg_json_dumps(req, JSON_COMPACT);
		json_decref(req);
		if (body == NULL)
			return EXIT_INPUT;
		char who[64];

		snprintf(who, sizeof(who), "%s %s", c->who, cmd);
		status = client_write(who, &o, token, path, body, &answer);
	} else {
		status = client_call(o.base, token, "GET", path, NULL, NULL, &answer);
	}
	free(body);
	rc = status >= 200 && status < 300 ? client_print(answer)
					   : client_refused(c->who, status, answer, o.base);
	json_decref(answer);
	return rc;
}
