/* tower_cmd.c - `yagura tower` (the server) and `yagura admin` (bootstrap). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "tower/config.h"
#include "tower/tower.h"

static void tower_usage(FILE *out)
{
	fputs("usage: yagura tower [OPTIONS]\n"
	      "\n"
	      "The control-tower server: a JSON API under /api/v1 for incident reports,\n"
	      "sensor alerts and attack sources; /healthz and /metrics (docs/tower.md).\n"
	      "\n"
	      "options:\n"
	      "      --config FILE        read settings from FILE (INI; docs/tower.md); options\n"
	      "                           given here override it\n"
	      "      --check              print the settings in effect, normalized, and exit\n"
	      "      --routes             print every route served (METHOD PATTERN auth|open)\n"
	      "      --listen ADDR:PORT   where to listen (default 127.0.0.1:8080; port 0 picks one)\n"
	      "      --store URL          sqlite:PATH, a path, or postgres://... (default var/tower.db)\n"
	      "      --threads N          request handler threads (default 32)\n"
	      "      --max-body BYTES     largest request body (default 4194304)\n"
	      "      --rate N             requests per second per token (default: no limit)\n"
	      "      --countermeasures DIR  write the active cases' countermeasure files into DIR\n"
	      "                           ([countermeasures] dir; docs/countermeasures.md)\n"
	      "      --web DIR            serve the dashboard's files from DIR at / ([web] root;\n"
	      "                           default: the build's, beside the yagura binary)\n"
	      "      --tls-cert FILE      serve HTTPS with this PEM certificate (and chain)\n"
	      "      --tls-key FILE       its PEM private key, mode 0600 or stricter\n"
	      "      --tls-client-ca FILE  ask clients for a certificate from this CA: a sensor\n"
	      "                           bound to one needs no token ([tls]; docs/tower.md)\n"
	      "  -h, --help               this text\n"
	      "\n"
	      "SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0.\n"
	      "exit status: 0 stopped cleanly, 1 usage, 2 the store, the listen address or a TLS\n"
	      "file failed.\n",
	      out);
}

static int tower_main(int argc, char **argv, struct tower_config *cfgp);

/* The dashboard the build made, when there is one: web/ beside the
 * binary (an installation), or the source tree's web/dist when the binary
 * is in build/ of a checkout. NULL: none, and / is not served. */
static const char *web_default(char *buf, size_t n)
{
	static const char *const rel[] = {"web", "../web/dist"};
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (len <= 0)
		return NULL;
	exe[len] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return NULL;
	*slash = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char index[PATH_MAX + 32];

		if (snprintf(buf, n, "%s/%s", exe, rel[i]) >= (int)n)
			continue;
		snprintf(index, sizeof(index), "%s/index.html", buf);
		if (access(index, R_OK) == 0)
			return buf;
	}
	return NULL;
}

int cmd_tower(int argc, char **argv)
{
	struct tower_config cfg;
	int rc;

	tower_config_defaults(&cfg);
	rc = tower_main(argc, argv, &cfg);
	tower_config_free(&cfg);
	return rc;
}

static int tower_main(int argc, char **argv, struct tower_config *cfgp)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'}, {"store", required_argument, NULL, 's'},
		{"threads", required_argument, NULL, 't'}, {"max-body", required_argument, NULL, 'b'},
		{"rate", required_argument, NULL, 'r'},	  {"help", no_argument, NULL, 'h'},
		{"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'k'},
		{"routes", no_argument, NULL, 'R'},
		{"countermeasures", required_argument, NULL, 'm'}, {"web", required_argument, NULL, 'w'},
		{"tls-cert", required_argument, NULL, 'C'}, {"tls-key", required_argument, NULL, 'K'},
		{"tls-client-ca", required_argument, NULL, 'A'}, {NULL, 0, NULL, 0}};
	struct tower_config cfg;
	struct tower *t;
	unsigned long long v;
	int rc;
	char err[512];
	sigset_t set;
	int c, sig, check = 0;
	char web_dir[PATH_MAX];

	cfg = *cfgp;
	/* The file first, so that options override it. */
	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			rc = tower_config_load(argv[i + 1], &cfg, err, sizeof(err));
			*cfgp = cfg; /* the caller frees what it loaded */
			if (rc < 0) {
				log_warnx("tower: %s", err);
				return EXIT_USAGE;
			}
			break;
		}
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			cfg.listen = optarg;
			break;
		case 's':
			cfg.store = optarg;
			break;
		case 'm':
			cfg.cm.dir = optarg;
			break;
		case 'w':
			cfg.web_root = optarg;
			break;
		case 'C':
			cfg.tls_cert = optarg;
			break;
		case 'K':
			cfg.tls_key = optarg;
			break;
		case 'A':
			cfg.tls_client_ca = optarg;
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
		case 'c':
			break; /* read above */
		case 'k':
			check = 1;
			break;
		case 'R':
			tower_routes_print(stdout);
			return EXIT_OK;
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
	if (cfg.web_root != NULL && access(cfg.web_root, R_OK | X_OK) < 0) {
		log_warnx("tower: the dashboard's directory %s: %s", cfg.web_root, strerror(errno));
		return EXIT_USAGE;
	}
	if (check) {
		tower_config_print(stdout, &cfg);
		return EXIT_OK;
	}
	if (cfg.web_root == NULL)
		cfg.web_root = web_default(web_dir, sizeof(web_dir));
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

static void admin_usage(FILE *out)
{
	fputs("usage: yagura admin init [--store URL] [--name NAME] [--log-key FILE]\n"
	      "                         [--log-origin ORIGIN]\n"
	      "         create the first admin user and print its API token, once, and the\n"
	      "         transparency log's signing key (beside a SQLite store, or FILE)\n"
	      "       yagura admin recover [--store URL] [--name NAME]\n"
	      "         on the server, when every admin token is lost: print a new token\n"
	      "         for the admin NAME (created if there is none)\n"
	      "       yagura admin org add NAME SECTOR | org list\n"
	      "       yagura admin user add NAME ROLE [--org ID] [--sectors S1,S2] | user list\n"
	      "       yagura admin user password USER_ID [--password-file FILE]\n"
	      "         set the password USER_ID logs in to the dashboard with: the first\n"
	      "         line of FILE, or of standard input (12 characters at least)\n"
	      "       yagura admin user certificate USER_ID sha256:HEX | none\n"
	      "         bind a sensor to the client certificate of that SHA-256 (of its DER;\n"
	      "         scripts/demo-tls.sh writes it beside the certificate), or unbind it\n"
	      "       yagura admin token add USER_ID [--days N] | token revoke TOKEN_ID\n"
	      "\n"
	      "All but init call the tower: --tower URL (default $YAGURA_TOWER or\n"
	      "http://127.0.0.1:8080) with the admin's token (--token-file FILE or\n"
	      "$YAGURA_TOKEN); --ca FILE trusts that CA for an https:// tower. Roles: operator, regulator, analyst, overseer, auditor,\n"
	      "sensor, admin. exit status: 0 ok, 1 usage, 2 refused, 3 tower unreachable.\n",
	      out);
}

/* init and recover: on the server, straight on the store. */
static int admin_init(int argc, char **argv)
{
	int recover = strcmp(argv[1], "recover") == 0;
	const char *store = "var/tower.db", *name = "admin", *key = NULL, *origin = NULL;
	char token[64], err[512], vkey[400];

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
			store = argv[++i];
		} else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
			name = argv[++i];
		} else if (strcmp(argv[i], "--log-key") == 0 && i + 1 < argc) {
			key = argv[++i];
		} else if (strcmp(argv[i], "--log-origin") == 0 && i + 1 < argc) {
			origin = argv[++i];
		} else {
			log_warnx("admin %s: unexpected argument '%s'", argv[1], argv[i]);
			return EXIT_USAGE;
		}
	}
	if (strcmp(store, "var/tower.db") == 0)
		mkdir("var", 0755);
	if ((recover ? tower_admin_recover(store, name, token, err, sizeof(err))
		     : tower_admin_init(store, name, token, err, sizeof(err))) < 0) {
		log_warnx("admin %s: %s", argv[1], err);
		return EXIT_INPUT;
	}
	/* The transparency log's signing key, kept outside the store. */
	if (!recover && tower_log_key(store, key, origin, 1, vkey, sizeof(vkey), err, sizeof(err)) < 0) {
		log_warnx("admin init: %s", err);
		return EXIT_INPUT;
	}
	printf("%s\n", token);
	return EXIT_OK;
}

int cmd_admin(int argc, char **argv)
{
	const char *base = getenv("YAGURA_TOWER"), *token = getenv("YAGURA_TOKEN");
	const char *pos[5] = {0}, *org = NULL, *sectors = NULL, *days = NULL, *pwfile = NULL;
	const char *ca = NULL;
	char tok[256], path[64], body[2048];
	json_t *answer = NULL, *req;
	int npos = 0, rc;
	long status;

	if (argc >= 2 && (strcmp(argv[1], "init") == 0 || strcmp(argv[1], "recover") == 0))
		return admin_init(argc, argv);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		admin_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (base == NULL)
		base = "http://127.0.0.1:8080";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tower") == 0 && i + 1 < argc) {
			base = argv[++i];
		} else if (strcmp(argv[i], "--token-file") == 0 && i + 1 < argc) {
			FILE *f = fopen(argv[++i], "r");
			if (f == NULL || fgets(tok, sizeof(tok), f) == NULL) {
				log_warn("admin: %s", argv[i]);
				if (f)
					fclose(f);
				return EXIT_USAGE;
			}
			fclose(f);
			tok[strcspn(tok, "\r\n")] = '\0';
			token = tok;
		} else if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc) {
			ca = argv[++i];
		} else if (strcmp(argv[i], "--org") == 0 && i + 1 < argc) {
			org = argv[++i];
		} else if (strcmp(argv[i], "--sectors") == 0 && i + 1 < argc) {
			sectors = argv[++i];
		} else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
			days = argv[++i];
		} else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc) {
			pwfile = argv[++i];
		} else if (argv[i][0] == '-' || npos == 5) {
			log_warnx("admin: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (token == NULL || *token == '\0') {
		log_warnx("admin: no token (set YAGURA_TOKEN or use --token-file)");
		return EXIT_USAGE;
	}
	if (client_tls_check("admin", ca, NULL, NULL) < 0)
		return EXIT_USAGE;
	client_set_tls(ca, NULL, NULL);
	if (npos == 4 && strcmp(pos[0], "user") == 0 && strcmp(pos[1], "certificate") == 0) {
		char *text;

		req = json_pack("{s:o}", "fingerprint",
				strcmp(pos[3], "none") == 0 ? json_null() : json_string(pos[3]));
		text = req != NULL ? yg_json_dumps(req, JSON_COMPACT) : NULL;
		json_decref(req);
		snprintf(path, sizeof(path), "/api/v1/users/%.20s/certificate", pos[2]);
		status = client_call(base, token, "PUT", path, text ? text : "{}", NULL, &answer);
		free(text);
		rc = status == 200 ? client_print(answer) : client_refused("admin", status, answer, base);
		json_decref(answer);
		return rc;
	}
	req = json_object();
	if (npos == 4 && strcmp(pos[0], "org") == 0 && strcmp(pos[1], "add") == 0) {
		json_object_set_new(req, "name", json_string(pos[2]));
		json_object_set_new(req, "sector", json_string(pos[3]));
		snprintf(path, sizeof(path), "/api/v1/orgs");
	} else if (npos == 2 && strcmp(pos[0], "org") == 0 && strcmp(pos[1], "list") == 0) {
		json_decref(req);
		req = NULL;
		snprintf(path, sizeof(path), "/api/v1/orgs");
	} else if (npos == 4 && strcmp(pos[0], "user") == 0 && strcmp(pos[1], "add") == 0) {
		json_object_set_new(req, "name", json_string(pos[2]));
		json_object_set_new(req, "role", json_string(pos[3]));
		if (org != NULL)
			json_object_set_new(req, "org_id", json_integer(strtoll(org, NULL, 10)));
		if (sectors != NULL) {
			json_t *arr = json_array();
			char buf[512], *save = NULL;
			snprintf(buf, sizeof(buf), "%s", sectors);
			for (char *sct = strtok_r(buf, ",", &save); sct; sct = strtok_r(NULL, ",", &save))
				json_array_append_new(arr, json_string(sct));
			json_object_set_new(req, "sectors", arr);
		}
		snprintf(path, sizeof(path), "/api/v1/users");
	} else if (npos == 3 && strcmp(pos[0], "token") == 0 && strcmp(pos[1], "add") == 0) {
		json_object_set_new(req, "user_id", json_integer(strtoll(pos[2], NULL, 10)));
		if (days != NULL)
			json_object_set_new(req, "expires_in_days", json_integer(strtoll(days, NULL, 10)));
		snprintf(path, sizeof(path), "/api/v1/tokens");
	} else if (npos == 2 && strcmp(pos[0], "user") == 0 && strcmp(pos[1], "list") == 0) {
		json_decref(req);
		req = NULL;
		snprintf(path, sizeof(path), "/api/v1/users");
	} else if (npos == 3 && strcmp(pos[0], "user") == 0 && strcmp(pos[1], "password") == 0) {
		/* The password from a file or standard input, never the command
		 * line (which other users of the machine can read). */
		char pw[1100];
		FILE *f = pwfile != NULL ? fopen(pwfile, "r") : stdin;

		json_decref(req);
		if (f == NULL || fgets(pw, sizeof(pw), f) == NULL) {
			log_warnx("admin: no password read from %s", pwfile ? pwfile : "standard input");
			if (f != NULL && f != stdin)
				fclose(f);
			return EXIT_USAGE;
		}
		if (f != stdin)
			fclose(f);
		pw[strcspn(pw, "\r\n")] = '\0';
		req = json_pack("{s:s}", "password", pw);
		explicit_bzero(pw, sizeof(pw));
		char *text = req != NULL ? yg_json_dumps(req, JSON_COMPACT) : NULL;
		json_decref(req);
		if (text == NULL)
			return EXIT_INPUT;
		snprintf(path, sizeof(path), "/api/v1/users/%.20s/password", pos[2]);
		status = client_call(base, token, "PUT", path, text, NULL, &answer);
		explicit_bzero(text, strlen(text));
		free(text);
		rc = status == 204 ? EXIT_OK : client_refused("admin", status, answer, base);
		json_decref(answer);
		return rc;
	} else if (npos == 3 && strcmp(pos[0], "token") == 0 && strcmp(pos[1], "revoke") == 0) {
		json_decref(req);
		req = NULL;
		snprintf(path, sizeof(path), "/api/v1/tokens/%.40s", pos[2]);
		status = client_call(base, token, "DELETE", path, NULL, NULL, &answer);
		rc = status == 204 ? EXIT_OK : client_refused("admin", status, answer, base);
		json_decref(answer);
		return rc;
	} else {
		json_decref(req);
		admin_usage(stderr);
		return EXIT_USAGE;
	}
	if (req != NULL) {
		char *text = yg_json_dumps(req, JSON_COMPACT);
		snprintf(body, sizeof(body), "%s", text ? text : "{}");
		free(text);
		json_decref(req);
	}
	int add = strcmp(pos[1], "add") == 0;
	status = client_call(base, token, add ? "POST" : "GET", path, add ? body : NULL, NULL,
			     &answer);
	rc = status >= 200 && status < 300 ? client_print(answer)
					   : client_refused("admin", status, answer, base);
	json_decref(answer);
	return rc;
}
