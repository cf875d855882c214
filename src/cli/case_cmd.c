/* case_cmd.c - `yagura case`: countermeasure cases under oversight
 * (docs/oversight.md), against a tower's API: an analyst proposes,
 * withdraws and revokes; an overseer approves, rejects and revokes. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/client.h"

#define CASE_EVIDENCE_MAX 64

static void case_usage(FILE *out)
{
	fputs("usage: yagura case COMMAND [OPTIONS]\n"
	      "\n"
	      "  propose --target T --action A --justification TEXT --duration D\n"
	      "          [--evidence KIND:ID]... [--proto P] [--ports N,N] [--contact MAIL]\n"
	      "                            propose a case (analyst): T an address, a prefix or a\n"
	      "                            domain; A sinkhole, rtbh, flowspec, blocklist or notice;\n"
	      "                            D such as 24h, 3d or 90m; KIND alert, report or source\n"
	      "  from-source IP --action A --justification TEXT --duration D [...]\n"
	      "                            propose a case against a ranked source, its evidence\n"
	      "                            the source and its latest alerts\n"
	      "  approve ID --reason TEXT  approve a proposed case (overseer)\n"
	      "  reject ID --reason TEXT   reject a proposed case (overseer)\n"
	      "  withdraw ID --reason TEXT withdraw a case you proposed (analyst)\n"
	      "  revoke ID --reason TEXT   end an approved or active case now\n"
	      "  list [--state S] [--limit N] [--before ID] [--all]\n"
	      "                            cases, newest first, a page at a time\n"
	      "  show ID                   one case, with its evidence and every decision\n"
	      "\n"
	      "options (before COMMAND or after it):\n" CLIENT_TOWER_USAGE
	      "proposals and decisions:\n" CLIENT_WRITE_USAGE
	      "list:\n" CLIENT_LIST_USAGE
	      "  --before ID               the page after (older than) the case ID\n"
	      "\n"
	      "exit status: 0 ok, 1 usage, 2 the tower refused the request (its reason is\n"
	      "printed: the never-block entry a target hit, say), 3 the tower could not be\n"
	      "reached (or, for list, the output not written).\n",
	      out);
}

static void case_header(void *ctx)
{
	(void)ctx;
	printf("%-6s %-10s %-9s %-40s %-9s %s\n", "id", "state", "action", "target", "approvals",
	       "expires");
}

static int case_row(const json_t *c, void *ctx)
{
	char f[4][64];
	char appr[24];

	(void)ctx;
	snprintf(appr, sizeof(appr), "%lld/%lld",
		 (long long)json_integer_value(json_object_get(c, "approvals")),
		 (long long)json_integer_value(json_object_get(c, "approvals_needed")));
	printf("%-6lld %-10s %-9s %-40s %-9s %s\n",
	       (long long)json_integer_value(json_object_get(c, "id")),
	       client_term_safe(json_object_get(c, "state"), f[0], sizeof(f[0])),
	       client_term_safe(json_object_get(c, "action"), f[1], sizeof(f[1])),
	       client_term_safe(json_object_get(c, "target"), f[2], 41), appr,
	       json_is_string(json_object_get(c, "expires"))
		       ? client_term_safe(json_object_get(c, "expires"), f[3], sizeof(f[3]))
		       : "");
	return ferror(stdout) ? -1 : 0;
}

/* What propose and from-source send. */
struct case_args {
	const char *target, *action, *justification, *duration, *proto, *ports, *contact;
	const char *evidence[CASE_EVIDENCE_MAX];
	size_t nevidence;
};

/* The request body for a proposal, or NULL after saying why. */
static json_t *case_body(const char *cmd, const struct case_args *a, int with_target)
{
	json_t *b;

	if (a->action == NULL || a->justification == NULL || a->duration == NULL ||
	    (with_target && a->target == NULL)) {
		log_warnx("case %s: %s--action, --justification and --duration are required", cmd,
			  with_target ? "--target, " : "");
		return NULL;
	}
	b = json_pack("{s:s,s:s,s:s}", "action", a->action, "justification", a->justification,
		      "duration", a->duration);
	if (b == NULL) {
		log_warnx("case %s: an option is not UTF-8 text", cmd);
		return NULL;
	}
	if (with_target)
		json_object_set_new(b, "target", json_string(a->target));
	if (a->proto != NULL)
		json_object_set_new(b, "proto", json_string(a->proto));
	if (a->contact != NULL)
		json_object_set_new(b, "contact", json_string(a->contact));
	if (a->ports != NULL) {
		json_t *ports = json_array();

		for (const char *p = a->ports; *p != '\0';) {
			char *end;
			long v = strtol(p, &end, 10);

			if (end == p || v < 1 || v > 65535 || (*end != ',' && *end != '\0')) {
				log_warnx("case %s: --ports: '%s' is not a list of port numbers", cmd,
					  a->ports);
				json_decref(ports);
				json_decref(b);
				return NULL;
			}
			json_array_append_new(ports, json_integer(v));
			p = *end == ',' ? end + 1 : end;
		}
		json_object_set_new(b, "ports", ports);
	}
	if (a->nevidence > 0) {
		json_t *ev = json_array();

		for (size_t i = 0; i < a->nevidence; i++)
			json_array_append_new(ev, json_string(a->evidence[i]));
		json_object_set_new(b, "evidence", ev);
	}
	return b;
}

/* The value options a case takes; 1 when argv[*i] was one, 0 when not,
 * -1 after saying what is wrong. */
static int case_opt(void *ctx, int argc, char **argv, int *i)
{
	struct case_args *a = ctx;
	static const char *const names[] = {"--target", "--action", "--justification",
					    "--duration", "--proto", "--ports", "--contact"};
	const char **slots[] = {&a->target, &a->action, &a->justification, &a->duration,
				&a->proto, &a->ports, &a->contact};

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (strcmp(argv[*i], names[k]) != 0)
			continue;
		if (*i + 1 >= argc) {
			log_warnx("case: %s needs a value", names[k]);
			return -1;
		}
		*slots[k] = argv[++*i];
		return 1;
	}
	if (strcmp(argv[*i], "--evidence") == 0) {
		if (*i + 1 >= argc || a->nevidence == CASE_EVIDENCE_MAX) {
			log_warnx("case: --evidence needs a value (at most %d of them)",
				  CASE_EVIDENCE_MAX);
			return -1;
		}
		a->evidence[a->nevidence++] = argv[++*i];
		return 1;
	}
	return 0;
}

/* propose and from-source. */
static int case_other(void *ctx, const char *const *pos, int npos, const struct client_opts *o,
		      const char *token, char *path, size_t cap, json_t **req)
{
	struct case_args *a = ctx;
	const char *cmd = pos[0];

	(void)o;
	(void)token;
	if (strcmp(cmd, "propose") == 0 && npos == 1) {
		if ((*req = case_body(cmd, a, 1)) == NULL)
			return EXIT_USAGE;
		snprintf(path, cap, "/api/v1/cases");
		return -1;
	}
	if (strcmp(cmd, "from-source") == 0 && npos == 2) {
		if (a->target != NULL || a->nevidence > 0) {
			log_warnx("case from-source: the source is the target and gives the evidence");
			return EXIT_USAGE;
		}
		if (strspn(pos[1], "0123456789abcdefABCDEF.:") != strlen(pos[1]) ||
		    strlen(pos[1]) > 45) {
			log_warnx("case from-source: '%.50s' is not an address", pos[1]);
			return EXIT_USAGE;
		}
		if ((*req = case_body(cmd, a, 0)) == NULL)
			return EXIT_USAGE;
		snprintf(path, cap, "/api/v1/sources/%s/case", pos[1]);
		return -1;
	}
	case_usage(stderr);
	return EXIT_USAGE;
}

int cmd_case(int argc, char **argv)
{
	static const struct order_cli c = {
		.who = "case", .noun = "case", .path = "/api/v1/cases", .items = "cases",
		.usage = case_usage, .opt = case_opt, .other = case_other,
		.header = case_header, .row = case_row};
	struct case_args a;

	memset(&a, 0, sizeof(a));
	return order_cli_run(&c, &a, argc, argv);
}
