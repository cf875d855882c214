/* asset_cmd.c - `yagura asset`: an operator registers the computers it
 * runs, with the addresses they answer on, so that alerts against them
 * are marked as its own; anyone allowed lists them. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/client.h"

#define ASSET_ADDRESSES_MAX 64 /* the tower's bound, checked here to say it early */

static void asset_usage(FILE *out)
{
	fputs("usage: yagura asset add PRODUCT [--version V] [--role R] [--location L]\n"
	      "                        [--address A]...\n"
	      "       yagura asset list [--limit N] [--after ID] [--all]\n"
	      "\n"
	      "  add     register a computer of your organisation (an operator's token); each\n"
	      "          --address is an IPv4 or IPv6 address or a prefix without host bits\n"
	      "          (203.0.113.0/28), up to 64: alerts against them are then marked with\n"
	      "          the asset. Prints the asset as stored (JSON).\n"
	      "  list    the assets you may see, oldest first: id, organisation, product,\n"
	      "          version, role, location, addresses. One page unless --all; when\n"
	      "          there are more, a line on stderr gives the --after ID of the next.\n"
	      "\n"
	      "options:\n" CLIENT_TOWER_USAGE CLIENT_LIST_USAGE
	      "add:\n" CLIENT_WRITE_USAGE
	      "  --after ID                the page after the asset ID\n"
	      "\n"
	      "exit status: 0 ok, 1 usage, 2 the tower refused the request (each bad input on\n"
	      "its own line), 3 the tower could not be reached or the output not written.\n",
	      out);
}

/* The tower names the body's fields; the user typed options. */
struct asset_names {
	const char *product;
	const char *const *addresses;
	size_t naddr;
};

static int asset_field_name(const char *field, char *buf, size_t n, void *ctx)
{
	const struct asset_names *a = ctx;
	unsigned long long i;
	char *end;

	if (strcmp(field, "product") == 0) {
		snprintf(buf, n, "PRODUCT '%s'", a->product);
	} else if (strcmp(field, "version") == 0 || strcmp(field, "role") == 0 ||
		   strcmp(field, "location") == 0) {
		snprintf(buf, n, "--%s", field);
	} else if (strncmp(field, "addresses[", 10) == 0 &&
		   (i = strtoull(field + 10, &end, 10), *end == ']') && i < a->naddr) {
		snprintf(buf, n, "--address '%s'", a->addresses[i]);
	} else if (strcmp(field, "addresses") == 0) {
		snprintf(buf, n, "--address");
	} else {
		return -1;
	}
	return 0;
}

static void asset_header(void *ctx)
{
	printf("%-6s %-6s %-24s %-12s %-12s %-16s %s\n", "id", "org", "product", "version", "role",
	       "location", "addresses");
}

static int asset_row(const json_t *a, void *ctx)
{
	char f[4][512], addr[512];
	const json_t *x;
	size_t i;

	printf("%-6lld %-6lld %-24s %-12s %-12s %-16s ",
	       (long long)json_integer_value(json_object_get(a, "id")),
	       (long long)json_integer_value(json_object_get(a, "org_id")),
	       client_term_safe(json_object_get(a, "product"), f[0], sizeof(f[0])),
	       client_term_safe(json_object_get(a, "version"), f[1], sizeof(f[1])),
	       client_term_safe(json_object_get(a, "role"), f[2], sizeof(f[2])),
	       client_term_safe(json_object_get(a, "location"), f[3], sizeof(f[3])));
	json_array_foreach(json_object_get(a, "addresses"), i, x)
		printf("%s%s", i ? "," : "", client_term_safe(x, addr, sizeof(addr)));
	if (json_array_size(json_object_get(a, "addresses")) == 0)
		fputs("-", stdout);
	return putchar('\n') == EOF ? -1 : 0;
}

int cmd_asset(int argc, char **argv)
{
	static const char *const texts[] = {"version", "role", "location"};
	struct client_opts o;
	const char *pos[3] = {0}, *text[3] = {0}, *token;
	const char **addrs = NULL;
	size_t naddr = 0;
	int npos = 0, rc = EXIT_USAGE;
	char tok[256];
	json_t *req = NULL, *answer = NULL;

	client_opts_init(&o, "after");
	o.writes = 1;
	if ((addrs = calloc((size_t)argc, sizeof(*addrs))) == NULL) {
		log_warnx("asset: out of memory");
		return EXIT_FATAL;
	}
	for (int i = 1; i < argc; i++) {
		int took = client_opt("asset", &o, argc, argv, &i), k;

		if (took < 0)
			goto out;
		if (took > 0)
			continue;
		for (k = 0; k < 3; k++)
			if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, texts[k]) == 0)
				break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			asset_usage(stdout);
			rc = EXIT_OK;
			goto out;
		} else if ((k < 3 || strcmp(argv[i], "--address") == 0) && i + 1 >= argc) {
			log_warnx("asset: %s needs a value", argv[i]);
			goto out;
		} else if (k < 3) {
			text[k] = argv[++i];
		} else if (strcmp(argv[i], "--address") == 0) {
			addrs[naddr++] = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			log_warnx("asset: unknown option '%s'", argv[i]);
			goto out;
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			log_warnx("asset: unexpected argument '%s'", argv[i]);
			goto out;
		}
	}
	int add = npos == 2 && strcmp(pos[0], "add") == 0;
	int list = npos == 1 && strcmp(pos[0], "list") == 0;
	if (!add && !list) {
		asset_usage(stderr);
		goto out;
	}
	if (add && (o.limit || o.from || o.all)) {
		log_warnx("asset add: --limit, --after and --all are for asset list");
		goto out;
	}
	if (list && (naddr > 0 || text[0] || text[1] || text[2])) {
		log_warnx("asset list: --version, --role, --location and --address are for asset add");
		goto out;
	}
	if (naddr > ASSET_ADDRESSES_MAX) {
		log_warnx("asset add: %zu addresses; an asset has at most %d", naddr,
			  ASSET_ADDRESSES_MAX);
		goto out;
	}
	if ((token = client_token("asset", &o, tok, sizeof(tok))) == NULL)
		goto out;
	if (list) {
		struct client_list l = {"asset list", "/api/v1/assets", "assets", asset_header,
					asset_row, NULL};
		struct client_query q;

		client_query_init(&q);
		rc = client_list_run(&l, &o, token, &q);
		goto out;
	}
	/* json_string() refuses what is not UTF-8, as the tower would. */
	req = json_object();
	json_t *arr = json_array(), *v;
	json_object_set_new(req, "addresses", arr);
	if ((v = json_string(pos[1])) == NULL) {
		log_warnx("asset add: PRODUCT is not UTF-8 text");
		goto out;
	}
	json_object_set_new(req, "product", v);
	for (int k = 0; k < 3; k++) {
		if (text[k] == NULL)
			continue;
		if ((v = json_string(text[k])) == NULL) {
			log_warnx("asset add: --%s is not UTF-8 text", texts[k]);
			goto out;
		}
		json_object_set_new(req, texts[k], v);
	}
	for (size_t i = 0; i < naddr; i++) {
		if ((v = json_string(addrs[i])) == NULL) {
			log_warnx("asset add: --address number %zu is not UTF-8 text", i + 1);
			goto out;
		}
		json_array_append_new(arr, v);
	}
	char *body = yg_json_dumps(req, JSON_COMPACT);
	if (body == NULL) {
		log_warnx("asset add: out of memory");
		rc = EXIT_FATAL;
		goto out;
	}
	long status = client_write("asset add", &o, token, "/api/v1/assets", body, &answer);
	free(body);
	if (status == 201) {
		rc = client_print(answer);
	} else {
		struct asset_names names = {pos[1], addrs, naddr};

		rc = client_refused_named("asset add", status, answer, o.base, asset_field_name,
					  &names);
	}
out:
	json_decref(answer);
	json_decref(req);
	free(addrs);
	return rc;
}
