/* analyze.c - `yagura analyze`, `yagura sensor` and `yagura collect`: the
 * options, their usage text and the checks of how they combine; the
 * run-time is the sensor library's (sensor/sensor.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "privacy/protect.h"
#include "sensor/sensor.h"
#include "sensor/sensor_conf.h"
#include "stream/stream.h"

#define DEFAULT_IDLE 60
#define DEFAULT_ACTIVE 300
#define DEFAULT_CLOSED 30
#define DEFAULT_MAX_FLOWS 1000000
#define MAX_WORKERS SENSOR_MAX_WORKERS
#define DEFAULT_AUTH_POLL 10
#define DEFAULT_INTEL_POLL 60
#define MAX_INTEL_PATHS SENSOR_MAX_INTEL_PATHS

/* The library's statuses are the exit codes. */
_Static_assert((int)SENSOR_USAGE == EXIT_USAGE && (int)SENSOR_INPUT == EXIT_INPUT &&
		       (int)SENSOR_OUTPUT == EXIT_OUTPUT && (int)SENSOR_FATAL == EXIT_FATAL &&
		       (int)SENSOR_UNSENT == EXIT_UNSENT && (int)SENSOR_NOAUTH == EXIT_NOAUTH &&
		       (int)SENSOR_NOINTEL == EXIT_NOINTEL,
	       "sensor statuses are exit codes");

static void analyze_usage(FILE *out)
{
	fprintf(out,
		"usage: yagura analyze [OPTIONS] FILE...\n"
		"       yagura sensor --interface IF [OPTIONS]\n"
		"       yagura collect --listen ADDR:PORT [OPTIONS]\n"
		"\n"
		"Reads pcap or pcapng captures ('-' for standard input) and writes one JSON\n"
		"line per flow and per DNS, TLS and HTTP metadata event (Suricata EVE field\n"
		"names). Payload is read only to extract that metadata, and never output.\n"
		"\n"
		"options:\n"
		"  -o, --output FILE         write records to FILE instead of standard output\n"
		"      --config FILE         settings from an INI file: [detect] NAME = VALUE as\n"
		"                            --detect, [ics] allow = PREFIXES, [intel] path = PATH;\n"
		"                            the options win over it. SIGHUP reads it again (and\n"
		"                            the intel): new thresholds and allow-list apply from\n"
		"                            the next packets, a bad file keeps the old settings\n"
		"                            (docs/analyze.md)\n"
		"      --idle-timeout S      end a flow idle for S seconds (default %d)\n"
		"      --active-timeout S    end (and restart) a flow older than S seconds (default %d)\n"
		"      --closed-timeout S    keep a closed TCP flow S seconds for late packets (default %d)\n"
		"      --max-flows N         live flows at most; when full the flow idle longest\n"
		"                            is ended with reason \"evicted\" (default %d)\n"
		"      --metadata LEVEL      strict: headers only; standard: also DNS names and\n"
		"                            answers, TLS SNI and JA4, HTTP Host (default)\n"
		"      --detect NAME=VALUE   set a detector parameter; '--detect list' shows them all\n"
		"      --no-detect           flows and metadata only, no alerts\n"
		"      --sources FILE        write the ranked attack sources to FILE (JSON)\n"
		"      --ics-allow PREFIXES  sources allowed to write to and control ICS devices\n"
		"      --tower URL           work for the tower at URL (its base, e.g.\n"
		"                            http://tower:8080): analyse only the traffic its\n"
		"                            monitoring authorizations for this sensor cover (the\n"
		"                            rest is counted 'unauthorized' and dropped after its\n"
		"                            IP header), and send it the alerts through a spool\n"
		"                            on disk; the token comes from --token-file or\n"
		"                            YAGURA_TOKEN. Without the authorizations at start,\n"
		"                            nothing is read (exit 7). Changes in what is\n"
		"                            authorized are one line each on standard error,\n"
		"                            even with --quiet\n"
		"      --post URL            the same as --tower URL: sending alerts to a tower\n"
		"                            is monitoring for it, so it needs authorizations too\n"
		"      --authorization-poll S  ask the tower for the authorizations every S\n"
		"                            seconds (default %d); when it cannot be asked, the\n"
		"                            last list is kept and each expires at its end\n"
		"      --token-file FILE     the sensor's API token\n"
		"      --ca FILE             an https:// tower (and --intel-taxii server): trust\n"
		"                            the CA in FILE (PEM; default: the system's CAs)\n"
		"      --cert FILE --key FILE  present this client certificate (PEM); a tower\n"
		"                            that binds it to the sensor needs no token then\n"
		"      --spool DIR           where alerts wait for the tower (default var/spool;\n"
		"                            for the stream, DIR/stream)\n"
		"      --post-wait S         at the end, wait up to S seconds for the tower (and\n"
		"                            the stream) to take the spool (default 30); what is\n"
		"                            left is sent next run\n"
		"      --stream URLS         also, or instead of a tower, publish the alerts to a\n"
		"                            NATS JetStream stream: URLS are comma-separated\n"
		"                            nats:// servers; each alert goes through a spool on\n"
		"                            disk and leaves it once JetStream acknowledged it,\n"
		"                            on PREFIX.SECTOR.SENSOR with its alert_id (stored\n"
		"                            once when resent). Without --tower nothing restricts\n"
		"                            what is analysed (the authorizations are the\n"
		"                            tower's). Stream name, prefix, replicas and limits:\n"
		"                            [stream] in --config (docs/stream.md)\n"
		"      --stream-sector NAME  the sector in the subject (required with --stream)\n"
		"      --stream-sensor NAME  this sensor's name in the subject (default: the host\n"
		"                            name, if it is one subject token: no '.', '*', '>')\n"
		"      --stream-flows        also publish every flow record, best effort, on\n"
		"                            yagura.flows.SECTOR.SENSOR (stream YAGURA_FLOWS)\n"
		"      --intel PATH          indicators to match: a STIX 2.1 bundle, a MISP feed\n"
		"                            directory, a plain list, or a directory of them\n"
		"                            (repeatable; SIGHUP reloads them while running)\n"
		"      --intel-taxii URL     indicators from a TAXII 2.1 collection too: URL is its\n"
		"                            API root (https://host/taxii2/api/), or a yagura\n"
		"                            tower's base (http://tower:8080); the token is the\n"
		"                            one of --token-file or YAGURA_TOKEN. Fetched whole\n"
		"                            before any packet is read (exit 8 if it cannot be),\n"
		"                            then polled; each change is one line on stderr\n"
		"      --collection ID       the collection's id (with --intel-taxii)\n"
		"      --intel-poll S        poll the collection every S seconds (default %d)\n"
		"      --protect PREFIXES    comma-separated CIDRs whose addresses are written only\n"
		"                            as Crypto-PAn pseudonyms (detectors see the real ones)\n"
		"      --pseudonym-key FILE  the pseudonymization key (32 bytes; see docs/privacy.md)\n"
		"      --ipfix HOST:PORT     also send each flow as it ends as IPFIX over UDP to\n"
		"                            HOST:PORT ([ADDR]:PORT for IPv6; see docs/analyze.md)\n"
		"      --ipfix-domain N      its observation domain id (default 0)\n"
		"      --ipfix-mtu N         its largest message in bytes (default %d)\n"
		"      --interface IF        read the interface IF live instead of files (what\n"
		"                            'yagura sensor' does): an AF_PACKET ring, or libpcap;\n"
		"                            SIGINT or SIGTERM ends it, every flow written\n"
		"      --capture METHOD      afpacket or pcap (default: afpacket where there is one)\n"
		"      --no-promisc          do not put the interface in promiscuous mode\n"
		"      --listen ADDR:PORT    take NetFlow v5, v9 and IPFIX over UDP on ADDR:PORT\n"
		"                            instead of packets (what 'yagura collect' does): the\n"
		"                            two directions' records are paired into flows for\n"
		"                            the flow-level detectors (docs/collector.md)\n"
		"      --pair-wait S         a record waits S seconds for its other direction's\n"
		"                            (default 5)\n"
		"      --workers N           read the interface with N threads (AF_PACKET fanout:\n"
		"                            the kernel keeps each flow on one); the detectors\n"
		"                            that count across flows are shared, so an attack\n"
		"                            spread over the workers is counted whole (default 1)\n"
		"      --metrics ADDR:PORT   serve the counters (packets, unauthorized, flows,\n"
		"                            alerts, the kernel's drops) on GET /metrics for\n"
		"                            Prometheus, and /healthz\n"
		"  -q, --quiet               no summary on standard error (monitoring lines stay)\n"
		"      --no-progress         no progress bar, even on a terminal\n"
		"  -h, --help                this text\n"
		"\n"
		"exit status: 0 ok, 1 usage, 2 an input was missing, truncated or corrupt (the\n"
		"records of everything read before are still written), 3 output error, 4 fatal,\n"
		"5 alerts left in a spool (the tower's or the stream's), 7 the tower's authorizations could not be fetched,\n"
		"8 the TAXII collection could not be fetched at start.\n",
		DEFAULT_IDLE, DEFAULT_ACTIVE, DEFAULT_CLOSED, DEFAULT_MAX_FLOWS, DEFAULT_AUTH_POLL,
		DEFAULT_INTEL_POLL, IPFIX_DEFAULT_MTU);
}

int cli_parse_u64(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

enum {
	OPT_IDLE = 256,
	OPT_ACTIVE,
	OPT_CLOSED,
	OPT_MAX_FLOWS,
	OPT_METADATA,
	OPT_NO_PROGRESS,
	OPT_DETECT,
	OPT_NO_DETECT,
	OPT_SOURCES,
	OPT_PROTECT,
	OPT_PSEUDONYM_KEY,
	OPT_ICS_ALLOW,
	OPT_INTEL,
	OPT_POST,
	OPT_TOKEN_FILE,
	OPT_CA,
	OPT_CERT,
	OPT_KEY,
	OPT_SPOOL,
	OPT_POST_WAIT,
	OPT_TOWER,
	OPT_AUTH_POLL,
	OPT_INTEL_TAXII,
	OPT_COLLECTION,
	OPT_INTEL_POLL,
	OPT_IPFIX,
	OPT_IPFIX_DOMAIN,
	OPT_IPFIX_MTU,
	OPT_INTERFACE,
	OPT_CAPTURE,
	OPT_NO_PROMISC,
	OPT_METRICS,
	OPT_LISTEN,
	OPT_PAIR_WAIT,
	OPT_WORKERS,
	OPT_CONFIG,
	OPT_STREAM,
	OPT_STREAM_SECTOR,
	OPT_STREAM_SENSOR,
	OPT_STREAM_FLOWS
};

/* The token: the first line of file, or YAGURA_TOKEN. */
static int read_token(const char *file, char *out, size_t n)
{
	const char *env = getenv("YAGURA_TOKEN");
	FILE *f;

	if (file == NULL) {
		if (env == NULL || strlen(env) >= n)
			return -1;
		snprintf(out, n, "%s", env);
		return 0;
	}
	if ((f = fopen(file, "r")) == NULL || fgets(out, (int)n, f) == NULL) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"idle-timeout", required_argument, NULL, OPT_IDLE},
		{"active-timeout", required_argument, NULL, OPT_ACTIVE},
		{"closed-timeout", required_argument, NULL, OPT_CLOSED},
		{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
		{"metadata", required_argument, NULL, OPT_METADATA},
		{"quiet", no_argument, NULL, 'q'},
		{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
		{"detect", required_argument, NULL, OPT_DETECT},
		{"no-detect", no_argument, NULL, OPT_NO_DETECT},
		{"sources", required_argument, NULL, OPT_SOURCES},
		{"protect", required_argument, NULL, OPT_PROTECT},
		{"pseudonym-key", required_argument, NULL, OPT_PSEUDONYM_KEY},
		{"ics-allow", required_argument, NULL, OPT_ICS_ALLOW},
		{"intel", required_argument, NULL, OPT_INTEL},
		{"post", required_argument, NULL, OPT_POST},
		{"tower", required_argument, NULL, OPT_TOWER},
		{"authorization-poll", required_argument, NULL, OPT_AUTH_POLL},
		{"intel-taxii", required_argument, NULL, OPT_INTEL_TAXII},
		{"collection", required_argument, NULL, OPT_COLLECTION},
		{"intel-poll", required_argument, NULL, OPT_INTEL_POLL},
		{"token-file", required_argument, NULL, OPT_TOKEN_FILE},
		{"ca", required_argument, NULL, OPT_CA},
		{"cert", required_argument, NULL, OPT_CERT},
		{"key", required_argument, NULL, OPT_KEY},
		{"spool", required_argument, NULL, OPT_SPOOL},
		{"post-wait", required_argument, NULL, OPT_POST_WAIT},
		{"ipfix", required_argument, NULL, OPT_IPFIX},
		{"ipfix-domain", required_argument, NULL, OPT_IPFIX_DOMAIN},
		{"ipfix-mtu", required_argument, NULL, OPT_IPFIX_MTU},
		{"interface", required_argument, NULL, OPT_INTERFACE},
		{"capture", required_argument, NULL, OPT_CAPTURE},
		{"no-promisc", no_argument, NULL, OPT_NO_PROMISC},
		{"metrics", required_argument, NULL, OPT_METRICS},
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"pair-wait", required_argument, NULL, OPT_PAIR_WAIT},
		{"workers", required_argument, NULL, OPT_WORKERS},
		{"config", required_argument, NULL, OPT_CONFIG},
		{"stream", required_argument, NULL, OPT_STREAM},
		{"stream-sector", required_argument, NULL, OPT_STREAM_SECTOR},
		{"stream-sensor", required_argument, NULL, OPT_STREAM_SENSOR},
		{"stream-flows", no_argument, NULL, OPT_STREAM_FLOWS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pipeline_config cfg = {
		.flow = {.max_flows = DEFAULT_MAX_FLOWS,
			 .idle_timeout_us = DEFAULT_IDLE * 1000000ULL,
			 .active_timeout_us = DEFAULT_ACTIVE * 1000000ULL,
			 .closed_timeout_us = DEFAULT_CLOSED * 1000000ULL},
		.meta = META_STANDARD,
	};
	const unsigned long long max_secs = 10ULL * 365 * 86400;
	const char *output = NULL, *sources_path = NULL, *protect_spec = NULL, *key_path = NULL;
	struct protect_set *ics_allow = NULL;
	const char *intel_paths[MAX_INTEL_PATHS];
	int n_intel = 0;
	const char *post_url = NULL, *token_file = NULL, *spool = "var/spool";
	struct poster_tls tls = {NULL, NULL, NULL};
	unsigned post_wait = 30, auth_poll = DEFAULT_AUTH_POLL, intel_poll = DEFAULT_INTEL_POLL;
	const char *taxii_url = NULL, *collection = NULL;
	char token[256] = "";
	struct detect_config dcfg;
	int detect_on = 1;
	char derr[256];
	unsigned long long v;
	int quiet = 0, progress = 1, c, rc = EXIT_OK;
	const char *ipfix_dest = NULL;
	struct ipfix_config icfg;
	double t0 = yg_mono_s(); /* the summary's time is the command's, set-up included */
	/* `yagura sensor`: the same, reading an interface live. */
	int live = argc > 0 && strcmp(argv[0], "sensor") == 0;
	/* `yagura collect`: flow records from routers instead of packets. */
	int collect = argc > 0 && strcmp(argv[0], "collect") == 0;
	const char *cmd = live ? "sensor" : collect ? "collect" : "analyze";
	const char *listen_at = NULL;
	int nworkers = 1;
	struct capture_live_opts lopts = {.fanout_group = -1, .promisc = true};
	const char *metrics_listen = NULL;
	const char *config_path = NULL;
	const char *stream_urls = NULL, *stream_sector = NULL, *stream_sensor = NULL;
	int stream_flows = 0;
	const char *detect_cli[SENSOR_CONF_MAX_DETECT];
	int n_detect_cli = 0;
	struct sensor_config sc;
	struct sensor *s = NULL;

	detect_config_defaults(&dcfg);
	ipfix_config_defaults(&icfg);
	/* Every way out from here is through out:, which frees what was made. */
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case OPT_IDLE:
		case OPT_ACTIVE:
		case OPT_CLOSED:
			if (cli_parse_u64(optarg, 1, max_secs, &v) < 0) {
				log_warnx("analyze: --%s: '%s' is not a number of seconds from 1 to %llu",
					  c == OPT_IDLE     ? "idle-timeout"
					  : c == OPT_ACTIVE ? "active-timeout"
							    : "closed-timeout",
					  optarg, max_secs);
				rc = EXIT_USAGE;
				goto out;
			}
			if (c == OPT_IDLE)
				cfg.flow.idle_timeout_us = v * 1000000ULL;
			else if (c == OPT_ACTIVE)
				cfg.flow.active_timeout_us = v * 1000000ULL;
			else
				cfg.flow.closed_timeout_us = v * 1000000ULL;
			break;
		case OPT_MAX_FLOWS:
			if (cli_parse_u64(optarg, 1, 1ULL << 31, &v) < 0) {
				log_warnx("analyze: --max-flows: '%s' is not a number from 1 to %llu",
					  optarg, 1ULL << 31);
				rc = EXIT_USAGE;
				goto out;
			}
			cfg.flow.max_flows = (uint32_t)v;
			break;
		case OPT_METADATA:
			if (strcmp(optarg, "strict") == 0) {
				cfg.meta = META_STRICT;
			} else if (strcmp(optarg, "standard") == 0) {
				cfg.meta = META_STANDARD;
			} else {
				log_warnx("analyze: --metadata: '%s' is not 'strict' or 'standard'",
					  optarg);
				rc = EXIT_USAGE;
				goto out;
			}
			break;
		case 'q':
			quiet = 1;
			break;
		case OPT_NO_PROGRESS:
			progress = 0;
			break;
		case OPT_DETECT:
			if (strcmp(optarg, "list") == 0) {
				detect_config_print(stdout, &dcfg);
				rc = EXIT_OK;
				goto out;
			}
			if (detect_config_set(&dcfg, optarg, derr, sizeof(derr)) < 0) {
				log_warnx("analyze: --detect: %s", derr);
				rc = EXIT_USAGE;
				goto out;
			}
			/* Kept to apply over a --config file's, at start and reload. */
			if (n_detect_cli == SENSOR_CONF_MAX_DETECT) {
				log_warnx("analyze: --detect: at most %d", SENSOR_CONF_MAX_DETECT);
				rc = EXIT_USAGE;
				goto out;
			}
			detect_cli[n_detect_cli++] = optarg;
			break;
		case OPT_CONFIG:
			config_path = optarg;
			break;
		case OPT_STREAM:
			stream_urls = optarg;
			break;
		case OPT_STREAM_FLOWS:
			stream_flows = 1;
			break;
		case OPT_STREAM_SECTOR:
		case OPT_STREAM_SENSOR:
			/* Checked here for the option's name in the message; the
			 * sensor checks the file's and the host name's again. */
			if (stream_token_check(optarg) < 0) {
				log_warnx("%s: --stream-%s: '%s' is not one subject token (1 to %d "
					  "printable ASCII bytes, no blank, '.', '*' or '>')",
					  cmd, c == OPT_STREAM_SECTOR ? "sector" : "sensor", optarg,
					  STREAM_TOKEN_MAX);
				rc = EXIT_USAGE;
				goto out;
			}
			if (c == OPT_STREAM_SECTOR)
				stream_sector = optarg;
			else
				stream_sensor = optarg;
			break;
		case OPT_NO_DETECT:
			detect_on = 0;
			break;
		case OPT_SOURCES:
			sources_path = optarg;
			break;
		case OPT_PROTECT:
			protect_spec = optarg;
			break;
		case OPT_PSEUDONYM_KEY:
			key_path = optarg;
			break;
		case OPT_POST:
		case OPT_TOWER:
			if (post_url != NULL && strcmp(post_url, optarg) != 0) {
				log_warnx("analyze: --tower/--post: one tower only ('%s' and '%s')",
					  post_url, optarg);
				rc = EXIT_USAGE;
				goto out;
			}
			post_url = optarg;
			break;
		case OPT_AUTH_POLL:
			if (cli_parse_u64(optarg, 1, 3600, &v) < 0) {
				log_warnx("analyze: --authorization-poll: '%s' is not 1 to 3600 seconds",
					  optarg);
				rc = EXIT_USAGE;
				goto out;
			}
			auth_poll = (unsigned)v;
			break;
		case OPT_INTEL_TAXII:
			taxii_url = optarg;
			break;
		case OPT_COLLECTION:
			collection = optarg;
			break;
		case OPT_INTEL_POLL:
			if (cli_parse_u64(optarg, 1, 86400, &v) < 0) {
				log_warnx("analyze: --intel-poll: '%s' is not 1 to 86400 seconds",
					  optarg);
				rc = EXIT_USAGE;
				goto out;
			}
			intel_poll = (unsigned)v;
			break;
		case OPT_TOKEN_FILE:
			token_file = optarg;
			break;
		case OPT_CA:
			tls.ca = optarg;
			break;
		case OPT_CERT:
			tls.cert = optarg;
			break;
		case OPT_KEY:
			tls.key = optarg;
			break;
		case OPT_SPOOL:
			spool = optarg;
			break;
		case OPT_POST_WAIT:
			if (cli_parse_u64(optarg, 0, 86400, &v) < 0) {
				log_warnx("analyze: --post-wait: '%s' is not 0 to 86400 seconds", optarg);
				rc = EXIT_USAGE;
				goto out;
			}
			post_wait = (unsigned)v;
			break;
		case OPT_INTEL:
			if (n_intel == MAX_INTEL_PATHS) {
				log_warnx("analyze: --intel: at most %d paths", MAX_INTEL_PATHS);
				rc = EXIT_USAGE;
				goto out;
			}
			intel_paths[n_intel++] = optarg;
			break;
		case OPT_ICS_ALLOW:
			protect_set_free(ics_allow);
			if (protect_set_parse(optarg, &ics_allow, derr, sizeof(derr)) < 0) {
				log_warnx("analyze: --ics-allow: %s", derr);
				rc = EXIT_USAGE;
				goto out;
			}
			dcfg.ics_allow = ics_allow;
			break;
		case OPT_IPFIX:
			ipfix_dest = optarg;
			break;
		case OPT_IPFIX_DOMAIN:
		case OPT_IPFIX_MTU:
			if (c == OPT_IPFIX_DOMAIN ? cli_parse_u64(optarg, 0, UINT32_MAX, &v) < 0
						  : cli_parse_u64(optarg, IPFIX_MIN_MTU, IPFIX_MAX_MTU,
								  &v) < 0) {
				log_warnx("analyze: --ipfix-%s: '%s' is not a number from %u to %u",
					  c == OPT_IPFIX_DOMAIN ? "domain" : "mtu", optarg,
					  c == OPT_IPFIX_DOMAIN ? 0 : IPFIX_MIN_MTU,
					  c == OPT_IPFIX_DOMAIN ? UINT32_MAX : IPFIX_MAX_MTU);
				rc = EXIT_USAGE;
				goto out;
			}
			if (c == OPT_IPFIX_DOMAIN)
				icfg.domain = (uint32_t)v;
			else
				icfg.mtu = (uint32_t)v;
			break;
		case OPT_INTERFACE:
			lopts.ifname = optarg;
			live = 1;
			break;
		case OPT_CAPTURE:
			if (strcmp(optarg, "afpacket") == 0) {
				lopts.kind = CAPTURE_LIVE_AFPACKET;
			} else if (strcmp(optarg, "pcap") == 0) {
				lopts.kind = CAPTURE_LIVE_PCAP;
			} else {
				log_warnx("%s: --capture: '%s' is not afpacket or pcap", cmd, optarg);
				rc = EXIT_USAGE;
				goto out;
			}
			break;
		case OPT_NO_PROMISC:
			lopts.promisc = false;
			break;
		case OPT_METRICS:
			metrics_listen = optarg;
			break;
		case OPT_LISTEN:
			listen_at = optarg;
			collect = 1;
			cmd = "collect";
			break;
		case OPT_WORKERS:
			if (cli_parse_u64(optarg, 1, MAX_WORKERS, &v) < 0) {
				log_warnx("sensor: --workers: '%s' is not a number from 1 to %d", optarg,
					  MAX_WORKERS);
				rc = EXIT_USAGE;
				goto out;
			}
			nworkers = (int)v;
			break;
		case OPT_PAIR_WAIT:
			if (cli_parse_u64(optarg, 0, 3600, &v) < 0) {
				log_warnx("collect: --pair-wait: '%s' is not 0 to 3600 seconds", optarg);
				rc = EXIT_USAGE;
				goto out;
			}
			cfg.pair_wait_us = v ? v * 1000000ULL : 1;
			break;
		case 'h':
			analyze_usage(stdout);
			rc = EXIT_OK;
			goto out;
		default:
			analyze_usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	/* How the options combine; the sensor library checks their values
	 * against the world (the interface, files, the tower). */
	if (collect && (listen_at == NULL || live || optind < argc)) {
		log_warnx("collect: %s",
			  listen_at == NULL ? "no --listen given (try 'yagura collect --help')"
			  : live		 ? "--listen or --interface, not both"
					 : "--listen takes no capture files");
		rc = EXIT_USAGE;
		goto out;
	}
	if (live && (lopts.ifname == NULL || optind < argc)) {
		log_warnx("%s: %s", cmd,
			  lopts.ifname == NULL ? "no --interface given (try 'yagura sensor --help')"
					       : "an interface or capture files, not both");
		rc = EXIT_USAGE;
		goto out;
	}
	if (nworkers > 1 && (!live || lopts.kind == CAPTURE_LIVE_PCAP)) {
		log_warnx("%s: --workers: %s", cmd,
			  !live ? "several workers read an interface (--interface), not files"
				: "several workers need AF_PACKET fanout, not --capture pcap");
		rc = EXIT_USAGE;
		goto out;
	}
	if (!live && !collect && optind >= argc) {
		log_warnx("analyze: no capture file given (try 'yagura analyze --help')");
		rc = EXIT_USAGE;
		goto out;
	}
	if ((taxii_url == NULL) != (collection == NULL)) {
		log_warnx("analyze: --intel-taxii and --collection go together");
		rc = EXIT_USAGE;
		goto out;
	}
	if (taxii_url != NULL && !detect_on) {
		log_warnx("analyze: --intel-taxii fetches indicators to match: it needs the "
			  "detectors (drop --no-detect)");
		rc = EXIT_USAGE;
		goto out;
	}
	if (post_url != NULL && !detect_on) {
		log_warnx("analyze: --tower/--post sends alerts: it needs the detectors (drop "
			  "--no-detect)");
		rc = EXIT_USAGE;
		goto out;
	}
	if (client_tls_check("analyze", tls.ca, tls.cert, tls.key) < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (post_url != NULL || taxii_url != NULL) {
		/* A client certificate the tower binds to this sensor stands for
		 * the token: none is needed then, one given is still sent. */
		if (read_token(token_file, token, sizeof(token)) < 0)
			token[0] = '\0';
		if (token[0] == '\0' && (tls.cert == NULL || token_file != NULL)) {
			log_warnx("analyze: %s: no token (%s)",
				  post_url ? "--tower/--post" : "--intel-taxii",
				  token_file ? token_file : "set YAGURA_TOKEN or use --token-file");
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if ((protect_spec == NULL) != (key_path == NULL)) {
		log_warnx("analyze: --protect and --pseudonym-key go together");
		rc = EXIT_USAGE;
		goto out;
	}

	memset(&sc, 0, sizeof(sc));
	sc.cmd = cmd;
	sc.pipe = cfg;
	sc.detect_on = detect_on;
	sc.detect = dcfg;
	sc.config_path = config_path;
	sc.detect_cli = detect_cli;
	sc.n_detect_cli = n_detect_cli;
	sc.files = argv + optind;
	sc.nfiles = argc - optind;
	sc.output = output;
	sc.sources_path = sources_path;
	sc.protect_spec = protect_spec;
	sc.key_path = key_path;
	memcpy(sc.intel_paths, intel_paths, sizeof(intel_paths[0]) * (size_t)n_intel);
	sc.n_intel = n_intel;
	sc.post_url = post_url;
	sc.token = token;
	sc.tls = tls;
	sc.spool = spool;
	sc.stream_urls = stream_urls;
	sc.stream_sector = stream_sector;
	sc.stream_sensor = stream_sensor;
	sc.stream_flows = stream_flows;
	sc.post_wait = post_wait;
	sc.auth_poll = auth_poll;
	sc.taxii_url = taxii_url;
	sc.collection = collection;
	sc.intel_poll = intel_poll;
	sc.ipfix_dest = ipfix_dest;
	sc.ipfix = icfg;
	sc.live = live;
	sc.live_opts = lopts;
	sc.workers = nworkers;
	sc.listen = collect ? listen_at : NULL;
	sc.metrics_listen = metrics_listen;
	sc.quiet = quiet;
	sc.progress = progress && !quiet && isatty(STDERR_FILENO);
	sc.t0 = t0;
	rc = sensor_open(&sc, &s, derr, sizeof(derr));
	memset(token, 0, sizeof(token));
	if (rc != EXIT_OK) {
		if (derr[0] != '\0')
			log_warnx("%s", derr);
		goto out;
	}
	sensor_run(s);
	if (!quiet)
		sensor_summary(s, stderr);
	rc = sensor_close(s);
out:
	memset(token, 0, sizeof(token));
	protect_set_free(ics_allow);
	return rc;
}
