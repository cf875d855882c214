/* monitoring_cmd.c - `yagura monitoring`: monitoring authorizations
 * (docs/oversight.md) against a tower's API. An analyst proposes that a
 * sensor may analyse some traffic; an overseer approves or rejects it;
 * either ends it early. A sensor, or anyone else naming one, asks what it
 * may analyse now. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/client.h"

#define MON_LIST_MAX 64 /* --prefix and --vlan each, as the tower takes them */

static void monitoring_usage(FILE *out)
{
	fputs("usage: yagura monitoring COMMAND [OPTIONS]\n"
	      "\n"
	      "  propose --sensor NAME (--prefix P | --vlan N)... --purpose TEXT --until TIME\n"
	      "          [--from TIME]\n"
	      "                            propose that sensor NAME may analyse the traffic to\n"
	      "                            or from prefixes P, or on VLANs N, from TIME (default\n"
	      "                            now) until TIME, such as 2026-12-31T00:00:00Z (analyst)\n"
	      "  approve ID --reason TEXT  approve a proposed authorization (overseer)\n"
	      "  reject ID --reason TEXT   reject a proposed authorization (overseer)\n"
	      "  withdraw ID --reason TEXT withdraw an authorization you proposed (analyst)\n"
	      "  revoke ID --reason TEXT   end an approved or active authorization now\n"
	      "  list [--state S] [--sensor NAME] [--limit N] [--before ID] [--all]\n"
	      "                            authorizations, newest first, a page at a time\n"
	      "  show ID                   one authorization, with every decision\n"
	      "  active [--sensor NAME]    what a sensor may analyse now (a sensor's own token:\n"
	      "                            no --sensor)\n"
	      "\n"
	      "options (before COMMAND or after it):\n" CLIENT_TOWER_USAGE
	      "proposals and decisions:\n" CLIENT_WRITE_USAGE
	      "list:\n" CLIENT_LIST_USAGE
	      "  --before ID               the page after (older than) the authorization ID\n"
	      "\n"
	      "exit status: 0 ok, 1 usage, 2 the tower refused the request (its reason is\n"
	      "printed), 3 the tower could not be reached (or, for list, the output not\n"
	      "written).\n",
	      out);
}

static void mon_header(void *ctx)
{
	(void)ctx;
	printf("%-6s %-10s %-16s %-9s %-21s %s\n", "id", "state", "sensor", "approvals", "until",
	       "traffic");
}

static int mon_row(const json_t *a, void *ctx)
{
	char f[4][64], traffic[80], appr[24];
	size_t at = 0, i;
	const json_t *v;

	(void)ctx;
	traffic[0] = '\0';
	json_array_foreach(json_object_get(a, "prefixes"), i, v) {
		char p[64];

		if (at < sizeof(traffic))
			at += (size_t)snprintf(traffic + at, sizeof(traffic) - at, "%s%s",
					       at ? " " : "", client_term_safe(v, p, sizeof(p)));
	}
	json_array_foreach(json_object_get(a, "vlans"), i, v) {
		if (at < sizeof(traffic))
			at += (size_t)snprintf(traffic + at, sizeof(traffic) - at, "%svlan %lld",
					       at ? " " : "", (long long)json_integer_value(v));
	}
	snprintf(appr, sizeof(appr), "%lld/%lld",
		 (long long)json_integer_value(json_object_get(a, "approvals")),
		 (long long)json_integer_value(json_object_get(a, "approvals_needed")));
	printf("%-6lld %-10s %-16s %-9s %-21.21s %s\n",
	       (long long)json_integer_value(json_object_get(a, "id")),
	       client_term_safe(json_object_get(a, "state"), f[0], sizeof(f[0])),
	       client_term_safe(json_object_get(a, "sensor"), f[1], 17), appr,
	       client_term_safe(json_object_get(a, "until"), f[2], sizeof(f[2])), traffic);
	return ferror(stdout) ? -1 : 0;
}

struct mon_args {
	const char *sensor, *purpose, *from, *until;
	const char *prefix[MON_LIST_MAX], *vlan[MON_LIST_MAX];
	size_t nprefix, nvlan;
};

/* The value options an authorization takes; 1 when argv[*i] was one, 0
 * when not, -1 after saying what is wrong. */
static int mon_opt(void *ctx, int argc, char **argv, int *i)
{
	struct mon_args *a = ctx;
	static const char *const names[] = {"--sensor", "--purpose", "--from", "--until"};
	const char **slots[] = {&a->sensor, &a->purpose, &a->from, &a->until};
	bool prefix = strcmp(argv[*i], "--prefix") == 0, vlan = strcmp(argv[*i], "--vlan") == 0;

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (strcmp(argv[*i], names[k]) != 0)
			continue;
		if (*i + 1 >= argc) {
			log_warnx("monitoring: %s needs a value", names[k]);
			return -1;
		}
		*slots[k] = argv[++*i];
		return 1;
	}
	if (!prefix && !vlan)
		return 0;
	size_t *n = prefix ? &a->nprefix : &a->nvlan;
	if (*i + 1 >= argc || *n == MON_LIST_MAX) {
		log_warnx("monitoring: %s needs a value (at most %d of them)", argv[*i],
			  MON_LIST_MAX);
		return -1;
	}
	(prefix ? a->prefix : a->vlan)[(*n)++] = argv[++*i];
	return 1;
}

/* The proposal's body, or NULL after saying why. */
static json_t *mon_body(const struct mon_args *a)
{
	json_t *b = NULL, *p = json_array(), *v = json_array();

	if (a->sensor == NULL || a->purpose == NULL || a->until == NULL ||
	    a->nprefix + a->nvlan == 0) {
		log_warnx("monitoring propose: --sensor, --purpose, --until and at least one "
			  "--prefix or --vlan are required");
		goto out;
	}
	for (size_t i = 0; i < a->nprefix; i++)
		json_array_append_new(p, json_string(a->prefix[i]));
	for (size_t i = 0; i < a->nvlan; i++) {
		char *end;
		long n = strtol(a->vlan[i], &end, 10);

		if (end == a->vlan[i] || *end != '\0' || n < 1 || n > 4094) {
			log_warnx("monitoring propose: --vlan '%.20s' is not a VLAN id from 1 to 4094",
				  a->vlan[i]);
			goto out;
		}
		json_array_append_new(v, json_integer(n));
	}
	b = json_pack("{s:s,s:O,s:O,s:s,s:s}", "sensor", a->sensor, "prefixes", p, "vlans", v,
		      "purpose", a->purpose, "until", a->until);
	if (b != NULL && a->from != NULL)
		json_object_set_new(b, "from", json_string(a->from));
	if (b == NULL)
		log_warnx("monitoring propose: an option is not UTF-8 text");
out:
	json_decref(p);
	json_decref(v);
	return b;
}

static void mon_filters(void *ctx, struct client_query *q)
{
	const struct mon_args *a = ctx;

	if (a->sensor != NULL)
		client_query_add(q, "sensor", a->sensor);
}

/* propose and active. */
static int mon_other(void *ctx, const char *const *pos, int npos, const struct client_opts *o,
		     const char *token, char *path, size_t cap, json_t **req)
{
	static const char base[] = "/api/v1/monitoring/authorizations";
	struct mon_args *a = ctx;

	(void)o;
	(void)token;
	if (strcmp(pos[0], "propose") == 0 && npos == 1) {
		if ((*req = mon_body(a)) == NULL)
			return EXIT_USAGE;
		snprintf(path, cap, "%s", base);
		return -1;
	}
	if (strcmp(pos[0], "active") == 0 && npos == 1) {
		struct client_query q;

		client_query_init(&q);
		mon_filters(a, &q);
		int n = snprintf(path, cap, "%s/active%s%s", base, q.len ? "?" : "", q.s);
		if (q.overflow || n < 0 || (size_t)n >= cap) {
			log_warnx("monitoring active: --sensor is too long");
			return EXIT_USAGE;
		}
		return -1;
	}
	monitoring_usage(stderr);
	return EXIT_USAGE;
}

int cmd_monitoring(int argc, char **argv)
{
	static const struct order_cli c = {
		.who = "monitoring", .noun = "authorization",
		.path = "/api/v1/monitoring/authorizations", .items = "authorizations",
		.usage = monitoring_usage, .opt = mon_opt, .other = mon_other,
		.list_filters = mon_filters, .header = mon_header, .row = mon_row};
	struct mon_args a;

	memset(&a, 0, sizeof(a));
	return order_cli_run(&c, &a, argc, argv);
}
