/* main.c - the yagura binary: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"

#ifndef YAGURA_VERSION
#define YAGURA_VERSION "0.0.0"
#endif

static void usage(FILE *out)
{
	fputs("usage: yagura COMMAND [OPTIONS] [ARGS]\n"
	      "\n"
	      "commands:\n"
	      "  analyze FILE...   read captures, write content-free flow and metadata records\n"
	      "                    and alerts, and rank the sources of attacks\n"
	      "  sensor --interface IF  the same, from an interface read live\n"
	      "  collect --listen ADDR:PORT  the same, from routers' NetFlow and IPFIX records\n"
	      "  pseudonym reverse|forward --key FILE ADDRESS...\n"
	      "                    recover addresses behind Crypto-PAn pseudonyms, or compute them\n"
	      "  tower             the control-tower server (JSON API, /healthz, /metrics)\n"
	      "  admin init        create the tower's first admin and print its token\n"
	      "  audit key         the transparency log's verifier key\n"
	      "  audit verify      check the log's checkpoints, proofs and store with nothing\n"
	      "                    but that key; a split view is reported as evidence\n"
	      "  report ...        file, update, close, list and show incident reports\n"
	      "  case ...          propose, approve, reject, withdraw, revoke, list and show\n"
	      "                    countermeasure cases under oversight\n"
	      "  monitoring ...    propose, approve, reject, withdraw, revoke, list and show\n"
	      "                    monitoring authorizations: what a sensor may analyse\n"
	      "  intel ...         add, import, expire and list the indicators the tower shares\n"
	      "                    (TAXII 2.1)\n"
	      "  oversight summary --year Y\n"
	      "                    the year's cases and authorizations, as the committee\n"
	      "                    reports them\n"
	      "  asset add|list    register your organisation's computers and their addresses,\n"
	      "                    list the assets you may see\n"
	      "  alerts list       the alerts sensors posted, newest first, filtered by time,\n"
	      "                    address, signature, sensor or asset\n"
	      "\n"
	      "Run 'yagura COMMAND --help' for a command's options and exit statuses.\n"
	      "The commands that call a tower (admin but init and recover, report, case,\n"
	      "monitoring, intel, asset, alerts, audit verify without --store) take --tower URL and\n"
	      "--token-file FILE, or $YAGURA_TOWER and $YAGURA_TOKEN; their lists show a\n"
	      "page at a time, --all shows every page.\n"
	      "'yagura --version' prints the version.\n",
	      out);
}

int main(int argc, char **argv)
{
	log_init("yagura", LOG_LEVEL_INFO);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("yagura %s\n", YAGURA_VERSION);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "analyze") == 0 || strcmp(argv[1], "sensor") == 0 ||
	    strcmp(argv[1], "collect") == 0)
		return cmd_analyze(argc - 1, argv + 1);
	if (strcmp(argv[1], "pseudonym") == 0)
		return cmd_pseudonym(argc - 1, argv + 1);
	if (strcmp(argv[1], "tower") == 0)
		return cmd_tower(argc - 1, argv + 1);
	if (strcmp(argv[1], "admin") == 0)
		return cmd_admin(argc - 1, argv + 1);
	if (strcmp(argv[1], "audit") == 0)
		return cmd_audit(argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	if (strcmp(argv[1], "asset") == 0)
		return cmd_asset(argc - 1, argv + 1);
	if (strcmp(argv[1], "case") == 0)
		return cmd_case(argc - 1, argv + 1);
	if (strcmp(argv[1], "monitoring") == 0)
		return cmd_monitoring(argc - 1, argv + 1);
	if (strcmp(argv[1], "intel") == 0)
		return cmd_intel(argc - 1, argv + 1);
	if (strcmp(argv[1], "oversight") == 0)
		return cmd_oversight(argc - 1, argv + 1);
	if (strcmp(argv[1], "alerts") == 0)
		return cmd_alerts(argc - 1, argv + 1);
	log_warnx("unknown command '%s' (try 'yagura --help')", argv[1]);
	return EXIT_USAGE;
}
