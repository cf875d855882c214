/* alerts_cmd.c - `yagura alerts`: the alerts sensors posted to a tower,
 * newest first, filtered as the API filters them, for reading at a
 * terminal or (--json) for a script. */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "tower/report.h"

static void alerts_usage(FILE *out)
{
	fputs("usage: yagura alerts list [--since T] [--until T] [--src IP] [--dest IP]\n"
	      "                          [--signature ID] [--sensor ID] [--asset ID]\n"
	      "                          [--limit N] [--before ID] [--all] [--json]\n"
	      "\n"
	      "The alerts you may read, newest first: an analyst or overseer all of them,\n"
	      "an operator those against its assets, a regulator its sectors'. A table of\n"
	      "time (UTC), source → destination, protocol, severity, asset, signature id\n"
	      "and signature; with --json, each alert as the tower has it, one JSON object\n"
	      "a line. One page unless --all; when there are more, a line on stderr gives\n"
	      "the --before ID of the next.\n"
	      "\n"
	      "filters:\n"
	      "  --since T, --until T      the alert's time, T in RFC 3339\n"
	      "                            (2026-11-23T09:00:00+09:00); since is inclusive\n"
	      "  --src IP, --dest IP       source or destination address, as the sensor wrote it\n"
	      "  --signature ID            the signature id (9100001)\n"
	      "  --sensor ID               the sensor's user id\n"
	      "  --asset ID                the asset the destination belongs to\n"
	      "options:\n" CLIENT_TOWER_USAGE CLIENT_LIST_USAGE
	      "  --before ID               the page after (older than) the alert ID\n"
	      "  --json                    JSON lines instead of the table\n"
	      "\n"
	      "exit status: 0 ok, 1 usage, 2 the tower refused the request, 3 the tower could\n"
	      "not be reached or the output not written.\n",
	      out);
}

/* "198.51.100.7:443", "[2001:db8::1]:443", or the address alone. */
static void endpoint(const json_t *a, const char *ip, const char *port, char *buf, size_t n)
{
	char addr[128];
	const json_t *p = json_object_get(a, port);

	client_term_safe(json_object_get(a, ip), addr, sizeof(addr));
	if (!json_is_integer(p))
		snprintf(buf, n, "%s", addr);
	else if (strchr(addr, ':') != NULL)
		snprintf(buf, n, "[%s]:%lld", addr, (long long)json_integer_value(p));
	else
		snprintf(buf, n, "%s:%lld", addr, (long long)json_integer_value(p));
}

static void int_or_dash(const json_t *v, char *buf, size_t n)
{
	if (json_is_integer(v))
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, n, "-");
}

static void alerts_header(void *ctx)
{
	printf("%-20s  %-45s  %-5s  %-3s  %-6s  %-10s  %s\n", "time", "source → destination",
	       "proto", "sev", "asset", "sid", "signature");
}

static int alerts_row(const json_t *a, void *ctx)
{
	char when[64], src[160], dst[160], flow[330], proto[32], sev[24], asset[24], sid[24],
		sig[1024];
	size_t k;

	/* 2026-11-23T00:00:00.000000Z -> 2026-11-23T00:00:00Z, as --since takes it. */
	client_term_safe(json_object_get(a, "time"), when, sizeof(when));
	k = strcspn(when, ".");
	if (when[k] == '.' && k + 2 < sizeof(when)) {
		when[k] = 'Z';
		when[k + 1] = '\0';
	}
	endpoint(a, "src_ip", "src_port", src, sizeof(src));
	endpoint(a, "dest_ip", "dest_port", dst, sizeof(dst));
	snprintf(flow, sizeof(flow), "%s → %s", src, dst);
	int_or_dash(json_object_get(a, "severity"), sev, sizeof(sev));
	int_or_dash(json_object_get(a, "asset_id"), asset, sizeof(asset));
	int_or_dash(json_object_get(a, "signature_id"), sid, sizeof(sid));
	printf("%-20s  %-45s  %-5s  %-3s  %-6s  %-10s  %s\n", when, flow,
	       client_term_safe(json_object_get(a, "proto"), proto, sizeof(proto)), sev, asset, sid,
	       client_term_safe(json_object_get(a, "signature"), sig, sizeof(sig)));
	return ferror(stdout) ? -1 : 0;
}

static int alerts_json_row(const json_t *a, void *ctx)
{
	return client_print_line(stdout, a);
}

/* The filters: the option, its query parameter, and how it is checked
 * here, so that a typo is one line naming the option, not a round trip. */
enum filter_kind { F_TIME, F_ADDR, F_ID, F_SID };
static const struct {
	const char *opt, *param;
	enum filter_kind kind;
} filters[] = {
	{"--since", "since", F_TIME},	       {"--until", "until", F_TIME},
	{"--src", "src_ip", F_ADDR},	       {"--dest", "dest_ip", F_ADDR},
	{"--signature", "signature_id", F_SID}, {"--sensor", "sensor_id", F_ID},
	{"--asset", "asset_id", F_ID},
};
#define NFILTERS (sizeof(filters) / sizeof(filters[0]))

static int filter_check(size_t f, const char *v)
{
	unsigned char bin[16];
	unsigned long long n;
	int64_t us;

	switch (filters[f].kind) {
	case F_TIME:
		if (report_parse_time(v, &us) == 0)
			return 0;
		log_warnx("alerts list: %s '%s': not an RFC 3339 time such as "
			  "2026-11-23T09:00:00+09:00",
			  filters[f].opt, v);
		return -1;
	case F_ADDR:
		if (inet_pton(AF_INET, v, bin) == 1 || inet_pton(AF_INET6, v, bin) == 1)
			return 0;
		log_warnx("alerts list: %s '%s': not an IPv4 or IPv6 address", filters[f].opt, v);
		return -1;
	case F_SID:
		if (cli_parse_u64(v, 1, 4294967295ULL, &n) == 0)
			return 0;
		log_warnx("alerts list: %s '%s': not a signature id (1 to 4294967295)",
			  filters[f].opt, v);
		return -1;
	case F_ID:
		if (cli_parse_u64(v, 1, INT64_MAX, &n) == 0)
			return 0;
		log_warnx("alerts list: %s '%s': not an id (a whole number from 1)", filters[f].opt,
			  v);
		return -1;
	}
	return -1;
}

int cmd_alerts(int argc, char **argv)
{
	struct client_opts o;
	struct client_query q;
	const char *value[NFILTERS] = {0}, *token, *sub = NULL;
	int json = 0;
	char tok[256];

	client_opts_init(&o, "before");
	for (int i = 1; i < argc; i++) {
		int took = client_opt("alerts", &o, argc, argv, &i);
		size_t f;

		if (took < 0)
			return EXIT_USAGE;
		if (took > 0)
			continue;
		for (f = 0; f < NFILTERS && strcmp(argv[i], filters[f].opt) != 0; f++)
			;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			alerts_usage(stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (f < NFILTERS) {
			if (i + 1 >= argc) {
				log_warnx("alerts list: %s needs a value", argv[i]);
				return EXIT_USAGE;
			}
			if (filter_check(f, argv[++i]) < 0)
				return EXIT_USAGE;
			value[f] = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			log_warnx("alerts: unknown option '%s'", argv[i]);
			return EXIT_USAGE;
		} else if (sub == NULL) {
			sub = argv[i];
		} else {
			log_warnx("alerts: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (sub == NULL || strcmp(sub, "list") != 0) {
		alerts_usage(stderr);
		return EXIT_USAGE;
	}
	if ((token = client_token("alerts list", &o, tok, sizeof(tok))) == NULL)
		return EXIT_USAGE;
	client_query_init(&q);
	for (size_t f = 0; f < NFILTERS; f++)
		if (value[f] != NULL)
			client_query_add(&q, filters[f].param, value[f]);
	struct client_list l = {"alerts list", "/api/v1/alerts", "alerts",
				json ? NULL : alerts_header, json ? alerts_json_row : alerts_row, NULL};
	return client_list_run(&l, &o, token, &q);
}
