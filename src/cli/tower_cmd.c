/* tower_cmd.c - `yagura tower` (the server) and `yagura admin` (bootstrap). */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "cli/cli.h"
#include "tower/tower.h"

static void tower_usage(FILE *out)
{
	fputs("usage: yagura tower [OPTIONS]\n"
	      "\n"
	      "The control-tower server: a JSON API under /api/v1 for incident reports,\n"
	      "sensor alerts and attack sources; /healthz and /metrics (docs/tower.md).\n"
	      "\n"
	      "options:\n"
	      "      --listen ADDR:PORT   where to listen (default 127.0.0.1:8080; port 0 picks one)\n"
	      "      --store URL          sqlite:PATH, a path, or postgres://... (default var/tower.db)\n"
	      "      --threads N          HTTP worker threads (default 8)\n"
	      "      --max-body BYTES     largest request body (default 4194304)\n"
	      "      --rate N             requests per second per token (default: no limit)\n"
	      "  -h, --help               this text\n"
	      "\n"
	      "SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0.\n"
	      "exit status: 0 stopped cleanly, 1 usage, 2 the store or the listen address failed.\n",
	      out);
}

int cmd_tower(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'}, {"store", required_argument, NULL, 's'},
		{"threads", required_argument, NULL, 't'}, {"max-body", required_argument, NULL, 'b'},
		{"rate", required_argument, NULL, 'r'},	  {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct tower_config cfg;
	struct tower *t;
	unsigned long long v;
	char err[512];
	sigset_t set;
	int c, sig;

	tower_config_defaults(&cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			cfg.listen = optarg;
			break;
		case 's':
			cfg.store = optarg;
			break;
		case 't':
		case 'b':
		case 'r':
			if (cli_parse_u64(optarg, 1, c == 'b' ? (1ULL << 30) : 100000, &v) < 0) {
				log_warnx("tower: --%s: '%s' is out of range",
					  c == 't' ? "threads" : c == 'b' ? "max-body" : "rate", optarg);
				return EXIT_USAGE;
			}
			if (c == 't')
				cfg.threads = (unsigned)v;
			else if (c == 'b')
				cfg.max_body = (size_t)v;
			else
				cfg.rate = cfg.burst = (double)v;
			break;
		case 'h':
			tower_usage(stdout);
			return EXIT_OK;
		default:
			tower_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_warnx("tower: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (strcmp(cfg.store, "var/tower.db") == 0)
		mkdir("var", 0755);
	/* Signals are taken synchronously below; the server's threads inherit
	 * the mask and never see them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (tower_start(&cfg, &t, err, sizeof(err)) < 0) {
		log_warnx("tower: %s", err);
		return EXIT_INPUT;
	}
	log_info("tower listening on %s port %u (store %s)", cfg.listen, tower_port(t), cfg.store);
	for (;;) {
		if (sigwait(&set, &sig) != 0 || sig != SIGHUP)
			break;
	}
	log_info("tower stopping: finishing the requests in flight");
	tower_stop(t);
	log_info("tower stopped");
	return EXIT_OK;
}

int cmd_admin(int argc, char **argv)
{
	const char *store = "var/tower.db", *name = "admin";
	char token[64], err[512];
	int i;

	if (argc < 2 || strcmp(argv[1], "init") != 0) {
		fputs("usage: yagura admin init [--store URL] [--name NAME]\n"
		      "  creates the first admin user and prints its API token, once\n",
		      argc < 2 ? stderr : stdout);
		return argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
			       ? EXIT_OK
			       : EXIT_USAGE;
	}
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
			store = argv[++i];
		} else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
			name = argv[++i];
		} else {
			log_warnx("admin init: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (strcmp(store, "var/tower.db") == 0)
		mkdir("var", 0755);
	if (tower_admin_init(store, name, token, err, sizeof(err)) < 0) {
		log_warnx("admin init: %s", err);
		return EXIT_INPUT;
	}
	printf("%s\n", token);
	return EXIT_OK;
}
