/* analyze.c - `yagura analyze`: capture files in, EVE JSON lines out. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "capture/capture.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/monitor_poll.h"
#include "cli/collect.h"
#include "cli/sensor_metrics.h"
#include "cli/taxii_poll.h"
#include "intel/intel.h"
#include "ipfix/ipfix.h"
#include "pipeline/pipeline.h"
#include "output/post.h"
#include "privacy/cryptopan.h"
#include "privacy/protect.h"

#define DEFAULT_IDLE 60
#define DEFAULT_ACTIVE 300
#define DEFAULT_CLOSED 30
#define DEFAULT_MAX_FLOWS 1000000
#define MAX_WORKERS 64
#define DEFAULT_AUTH_POLL 10
#define DEFAULT_INTEL_POLL 60

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Indicator feeds: loaded at start, and again on SIGHUP by a loader thread
 * that publishes the new snapshot while packets keep flowing; and the
 * TAXII poller's bundle, rebuilt with the files whenever the collection
 * changes. mu makes the two builders take turns, so that neither
 * publishes a snapshot without the other's latest part. */
#define MAX_INTEL_PATHS 64

struct intel_feeds {
	const char *paths[MAX_INTEL_PATHS];
	int n;
	struct intel_handle *handle;
	atomic_int reloading; /* -1 tells the reloader to stop */
	int quiet;
	pthread_mutex_t mu;
	char *taxii; /* the TAXII collection as one STIX bundle; NULL: none */
	size_t taxii_len;
	uint64_t taxii_refused; /* of its indicators, by the loader */
};

/* Builds a snapshot from every path and the TAXII bundle; with
 * report_files, reports what the files loaded on stderr (a TAXII rebuild
 * does not: the files did not change). Returns 0, or EXIT_INPUT when a
 * file could not be read (what could be read still loads), or EXIT_FATAL
 * when out of memory. Call with fe->mu held once threads run. */
static int intel_build(struct intel_feeds *fe, struct intel_snapshot **out, const char *when,
		       int report_files)
{
	struct intel_builder *b = intel_builder_new(0);
	struct intel_report rep;
	int rc = 0, any = 0;

	*out = NULL;
	if (b == NULL)
		return EXIT_FATAL;
	intel_report_init(&rep);
	for (int i = 0; i < fe->n; i++) {
		int r = intel_load_path(b, fe->paths[i], NULL, &rep);
		if (r == YG_ENOMEM) {
			intel_builder_free(b);
			return EXIT_FATAL;
		}
		if (r < 0)
			rc = EXIT_INPUT;
	}
	if (fe->taxii != NULL) {
		struct intel_report trep;
		intel_report_init(&trep);
		if (intel_load_buffer(b, "taxii", fe->taxii, fe->taxii_len, INTEL_FORMAT_STIX, NULL,
				      &trep) == YG_ENOMEM) {
			intel_builder_free(b);
			return EXIT_FATAL;
		}
		fe->taxii_refused = trep.rejected;
	}
	if (intel_builder_finish(b, out) < 0)
		return EXIT_FATAL;
	if (!report_files)
		return rc;
	for (unsigned i = 0; i < rep.n_messages; i++)
		log_warnx("intel: %s", rep.messages[i]);
	if (rep.messages_dropped)
		log_warnx("intel: %llu more rejected entries not shown",
			  (unsigned long long)rep.messages_dropped);
	if (!fe->quiet) {
		fprintf(stderr, "yagura: intel%s: %llu files, %llu entries loaded, %llu rejected",
			when, (unsigned long long)rep.files, (unsigned long long)rep.loaded,
			(unsigned long long)rep.rejected);
		for (int r = 0; r < INTEL_REASON_SKIP_FIRST; r++) {
			if (rep.by_reason[r] == 0)
				continue;
			fprintf(stderr, "%s%s %llu", any ? ", " : " (", intel_reason_name(r),
				(unsigned long long)rep.by_reason[r]);
			any = 1;
		}
		fprintf(stderr, "%s, %llu skipped\n", any ? ")" : "",
			(unsigned long long)rep.skipped);
	}
	return rc;
}

/* The reloader: waits for SIGHUP (blocked in every other thread), rebuilds
 * the snapshot from the same paths and publishes it. Packet processing
 * never waits for it; the next batch simply sees the new snapshot. */
static void *intel_reloader(void *arg)
{
	struct intel_feeds *fe = arg;
	struct intel_snapshot *s;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (sigwait(&set, &sig) != 0 || atomic_load(&fe->reloading) < 0)
			break;
		pthread_mutex_lock(&fe->mu);
		if (intel_build(fe, &s, " reload", 1) != EXIT_FATAL && s != NULL)
			intel_handle_publish(fe->handle, s);
		pthread_mutex_unlock(&fe->mu);
	}
	return NULL;
}

/* The TAXII poller's hand-over (taxii_poll.h): the collection changed,
 * so the snapshot is built again, files and all, and published as SIGHUP
 * would. */
static int taxii_publish(void *ctx, char *bundle, size_t len)
{
	struct intel_feeds *fe = ctx;
	struct intel_snapshot *s = NULL;
	int rc;

	pthread_mutex_lock(&fe->mu);
	free(fe->taxii);
	fe->taxii = bundle;
	fe->taxii_len = len;
	rc = intel_build(fe, &s, "", 0) == EXIT_FATAL || s == NULL ? -1 : (int)fe->taxii_refused;
	if (rc >= 0)
		intel_handle_publish(fe->handle, s);
	pthread_mutex_unlock(&fe->mu);
	return rc;
}

static int intel_reloader_start(struct intel_feeds *fe, pthread_t *t)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return pthread_create(t, NULL, intel_reloader, fe);
}

static void intel_reloader_stop(struct intel_feeds *fe, pthread_t t)
{
	atomic_store(&fe->reloading, -1);
	pthread_kill(t, SIGHUP);
	pthread_join(t, NULL);
}

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
		"      --spool DIR           where alerts wait for the tower (default var/spool)\n"
		"      --post-wait S         at the end, wait up to S seconds for the tower to take\n"
		"                            the spool (default 30); what is left is sent next run\n"
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
		"5 alerts left in the spool, 7 the tower's authorizations could not be fetched,\n"
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

struct progress {
	int on;
	uint64_t base; /* packets counted before this file */
	double start, last;
	const char *name;
	uint64_t size;
};

static void progress_draw(struct progress *pr, uint64_t off, uint64_t packets, int done)
{
	double t = yg_mono_s(), frac;
	int i, filled;
	char bar[31];

	if (!done && t - pr->last < 0.2)
		return;
	pr->last = t;
	frac = pr->size ? (double)off / (double)pr->size : 0;
	if (frac > 1)
		frac = 1;
	filled = (int)(frac * 30);
	for (i = 0; i < 30; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[30] = '\0';
	fprintf(stderr, "\r[%s] %3d%% %.40s  %.2f Mpkt/s ", bar, (int)(frac * 100), pr->name,
		t > pr->start ? (double)(packets - pr->base) / (t - pr->start) / 1e6 : 0.0);
	if (done)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}

/* Runs one file through the pipeline. Returns 0, or EXIT_INPUT after
 * reporting the file's problem. */
static int analyze_file(struct pipeline *p, const char *path, int show_progress)
{
	struct capture *cap;
	struct frame batch[PIPELINE_BATCH];
	struct progress pr = {0};
	char err[512];
	uint64_t batches = 0;
	int rc = 0;

	if (capture_open(path, &cap, err, sizeof(err)) < 0) {
		log_warnx("%s: %s", path, err);
		return EXIT_INPUT;
	}
	pr.size = capture_size(cap);
	pr.on = show_progress && pr.size > 0;
	pr.start = pr.last = yg_mono_s();
	pr.base = pipeline_stats(p)->packets;
	pr.name = path;
	while (!stop_requested && (rc = capture_next_batch(cap, batch, PIPELINE_BATCH)) > 0) {
		pipeline_frames(p, batch, (size_t)rc);
		if (pr.on && (++batches & 0x3ff) == 0)
			progress_draw(&pr, capture_offset(cap), pipeline_stats(p)->packets, 0);
	}
	if (pr.on)
		progress_draw(&pr, pr.size, pipeline_stats(p)->packets, 1);
	if (stop_requested)
		rc = 0;
	if (rc < 0)
		log_warnx("%s: %s", path, capture_error(cap));
	capture_close(cap);
	return rc < 0 ? EXIT_INPUT : 0;
}

/* Reads a live interface until SIGINT or SIGTERM: frames as they come,
 * and, when none came within the source's timeout, the clock moved on so
 * that idle flows end on time. Returns 0, or EXIT_INPUT after reporting
 * the interface's problem; *st: the capture's counters at the end. */
static int analyze_live(struct pipeline *p, struct capture *cap, const struct capture_live_opts *o,
			struct capture_stats *st, int quiet, struct sensor_metrics *sm)
{
	struct frame batch[PIPELINE_BATCH];
	double next_metrics = 0;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (!quiet)
		fprintf(stderr, "sensor: reading %s (%s); SIGINT or SIGTERM ends it\n", o->ifname,
			capture_format(cap));
	while (!stop_requested) {
		rc = capture_next_batch(cap, batch, PIPELINE_BATCH);
		if (rc > 0)
			pipeline_frames(p, batch, (size_t)rc);
		else if (rc == 0)
			pipeline_advance(p, yg_wall_us());
		else
			break;
		/* The counters for /metrics, a few times a second. */
		if (sm != NULL && yg_mono_s() >= next_metrics) {
			struct pipeline_totals t;
			capture_stats(cap, st);
			pipeline_totals(&p, 1, &t);
			sensor_metrics_update(sm, &t, st);
			next_metrics = yg_mono_s() + 0.25;
		}
	}
	if (rc < 0)
		log_warnx("sensor: %s: %s", o->ifname, capture_error(cap));
	capture_stats(cap, st);
	if (sm != NULL) {
		struct pipeline_totals t;
		pipeline_totals(&p, 1, &t);
		sensor_metrics_update(sm, &t, st);
	}
	return rc < 0 ? EXIT_INPUT : 0;
}

/* `yagura sensor --workers N`: N threads, each reading its own socket of
 * one AF_PACKET fanout group (the kernel keeps a flow on one socket) into
 * its own pipeline, the detectors that count across flows shared
 * (pipeline_shared_new). Each publishes a copy of its counters four times
 * a second for the main thread's /metrics and summary. */
struct worker {
	int id;
	pthread_t thread;
	struct capture *cap;
	struct pipeline *p;
	struct eve *e;
	pthread_mutex_t mu; /* the copies below */
	struct pipeline_totals snap;
	struct capture_stats cst;
	struct eve_stats est;
	int rc;
};

static void worker_publish(struct worker *w)
{
	struct pipeline_totals t;
	struct capture_stats cs;

	pipeline_totals(&w->p, 1, &t);
	capture_stats(w->cap, &cs);
	pthread_mutex_lock(&w->mu);
	w->snap = t;
	w->cst = cs;
	w->est = *eve_stats(w->e);
	pthread_mutex_unlock(&w->mu);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct frame batch[PIPELINE_BATCH];
	double next = 0;
	int rc = 0;

	while (!stop_requested) {
		rc = capture_next_batch(w->cap, batch, PIPELINE_BATCH);
		if (rc > 0)
			pipeline_frames(w->p, batch, (size_t)rc);
		else if (rc == 0)
			pipeline_advance(w->p, yg_wall_us());
		else
			break;
		if (yg_mono_s() >= next) {
			worker_publish(w);
			next = yg_mono_s() + 0.25;
		}
	}
	if (rc < 0)
		log_warnx("sensor: worker %d: %s", w->id, capture_error(w->cap));
	pipeline_finish(w->p);
	eve_flush(w->e);
	worker_publish(w);
	w->rc = rc < 0 ? EXIT_INPUT : 0;
	return NULL;
}

/* Every worker's copy added up (and the shared detectors' once). */
static void workers_sum(struct worker *ws, int n, struct pipeline_shared *sh,
			struct pipeline_totals *t, struct capture_stats *cs, struct eve_stats *es)
{
	memset(t, 0, sizeof(*t));
	memset(cs, 0, sizeof(*cs));
	memset(es, 0, sizeof(*es));
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&ws[i].mu);
		pipeline_totals_add(t, &ws[i].snap);
		cs->received += ws[i].cst.received;
		cs->dropped += ws[i].cst.dropped;
		cs->if_dropped += ws[i].cst.if_dropped;
		cs->ring_blocks += ws[i].cst.ring_blocks;
		cs->ring_used += ws[i].cst.ring_used;
		es->flow += ws[i].est.flow;
		es->dns += ws[i].est.dns;
		es->tls += ws[i].est.tls;
		es->http += ws[i].est.http;
		es->alert += ws[i].est.alert;
		es->bytes += ws[i].est.bytes;
		pthread_mutex_unlock(&ws[i].mu);
	}
	pipeline_shared_totals(sh, t);
}

/* Runs the workers until SIGINT or SIGTERM; the main thread serves the
 * counters meanwhile. Returns 0 or EXIT_INPUT. */
static int run_workers(struct worker *ws, int n, struct pipeline_shared *sh,
		       struct sensor_metrics *sm, const char *ifname, int quiet)
{
	struct pipeline_totals t;
	struct capture_stats cs;
	struct eve_stats es;
	int started = 0, rc = 0;

	if (!quiet)
		fprintf(stderr, "sensor: reading %s with %d workers (AF_PACKET fanout); SIGINT or "
				"SIGTERM ends it\n",
			ifname, n);
	for (; started < n; started++)
		if (pthread_create(&ws[started].thread, NULL, worker_main, &ws[started]) != 0) {
			log_warnx("sensor: cannot start worker %d", started);
			stop_requested = 1;
			rc = EXIT_FATAL;
			break;
		}
	while (!stop_requested) {
		struct timespec ts = {0, 250 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (sm != NULL) {
			workers_sum(ws, n, sh, &t, &cs, &es);
			sensor_metrics_update(sm, &t, &cs);
		}
	}
	for (int i = 0; i < started; i++) {
		pthread_join(ws[i].thread, NULL);
		if (ws[i].rc != 0 && rc == 0)
			rc = ws[i].rc;
	}
	if (sm != NULL) {
		workers_sum(ws, n, sh, &t, &cs, &es);
		sensor_metrics_update(sm, &t, &cs);
	}
	return rc;
}

/* The pseudonymization hook the writers call for every address. */
struct pseudonymizer {
	struct protect_set *set;
	struct cryptopan *cp;
};

static int pseudonymize(void *ctx, struct ip_addr *a)
{
	struct pseudonymizer *ps = ctx;

	return protect_addr(ps->set, ps->cp, a);
}

static void print_summary(const struct pipeline_totals *t, const struct eve_stats *es,
			  struct sources *src, struct pseudonymizer *pz, int monitoring, double t0)
{
	double secs;
	const struct pipeline_stats *s = &t->s;
	const struct flow_stats *fs = &t->f;
	uint64_t errors = 0;
	int i, first;

	fprintf(stderr,
		"summary: %llu packets, %llu bytes, %llu flows (peak %llu live, %llu evicted)\n",
		(unsigned long long)s->packets, (unsigned long long)s->bytes,
		(unsigned long long)fs->created, (unsigned long long)fs->peak,
		(unsigned long long)fs->evicted);
	fprintf(stderr,
		"  records: %llu flow, %llu dns, %llu tls, %llu http (%llu bytes)\n",
		(unsigned long long)es->flow, (unsigned long long)es->dns,
		(unsigned long long)es->tls, (unsigned long long)es->http,
		(unsigned long long)es->bytes);
	fprintf(stderr, "  packets: %llu in flows, %llu not in flows, %llu malformed\n",
		(unsigned long long)s->in_flows, (unsigned long long)s->skipped,
		(unsigned long long)s->bad);
	if (monitoring)
		fprintf(stderr, "  monitoring: %llu unauthorized (outside every authorization, "
				"dropped after the IP header)\n",
			(unsigned long long)s->unauthorized);
	for (i = 0; i < DC_MAX; i++)
		if (decode_counter_is_error(i))
			errors += s->decode[i];
	fprintf(stderr, "  decode errors: %llu", (unsigned long long)errors);
	first = 1;
	for (i = 0; i < DC_MAX; i++) {
		if (!decode_counter_is_error(i) || s->decode[i] == 0)
			continue;
		fprintf(stderr, "%s%s %llu", first ? " (" : ", ", decode_counter_name(i),
			(unsigned long long)s->decode[i]);
		first = 0;
	}
	fputs(first ? "\n" : ")\n", stderr);
	fputs("  decode notes:", stderr);
	first = 1;
	for (i = 0; i < DC_MAX; i++) {
		if (decode_counter_is_error(i) || s->decode[i] == 0)
			continue;
		fprintf(stderr, "%s %s %llu", first ? "" : ",", decode_counter_name(i),
			(unsigned long long)s->decode[i]);
		first = 0;
	}
	for (i = 0; i < MC_MAX; i++) {
		if (s->meta[i] == 0)
			continue;
		fprintf(stderr, "%s %s %llu", first ? "" : ",", meta_counter_name(i),
			(unsigned long long)s->meta[i]);
		first = 0;
	}
	fputs(first ? " none\n" : "\n", stderr);
	if (t->detecting) {
		const struct detect_stats *ds = &t->d;
		fprintf(stderr, "  alerts: %llu (detector state %.1f MiB, %llu records forgotten",
			(unsigned long long)ds->alerts, (double)ds->table_bytes / (1 << 20),
			(unsigned long long)ds->evictions);
		if (ds->evictions > 0)
			fprintf(stderr, ", %llu of them used at most twice",
				(unsigned long long)ds->evictions_rare);
		fputs(")\n", stderr);
	}
	if (src != NULL && (sources_count(src) > 0 || sources_flooded(src) > 0)) {
		fprintf(stderr, "  attack sources: %u%s\n", sources_count(src),
			sources_count(src) > 10 ? " (top 10)" : "");
		sources_print_top(src, stderr, 10, pz->set ? pseudonymize : NULL, pz);
	}
	secs = yg_mono_s() - t0;
	fprintf(stderr, "  time: %.3f s, %.0f packets/s\n", secs,
		secs > 0 ? (double)s->packets / secs : 0.0);
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
	OPT_WORKERS
};

/* The pipeline's flow tap, to the IPFIX exporter. */
static void ipfix_tap(void *ctx, const struct flow *f, enum flow_end_reason why)
{
	ipfix_exporter_flow(ctx, f, why);
}

static void print_ipfix_summary(const struct ipfix_exporter *x, const char *dest)
{
	struct ipfix_stats st;

	ipfix_exporter_stats(x, &st);
	fprintf(stderr,
		"  ipfix: %llu records in %llu messages (%llu with templates, %llu bytes) to %s, "
		"%llu send errors (%llu records lost)\n",
		(unsigned long long)(st.records - st.records_lost),
		(unsigned long long)(st.messages - st.send_errors),
		(unsigned long long)st.templates, (unsigned long long)st.bytes, dest,
		(unsigned long long)st.send_errors, (unsigned long long)st.records_lost);
}

static void tee_to_poster(void *ctx, const char *json, size_t len)
{
	if (poster_add(ctx, json, len) < 0)
		log_warn("post: cannot spool an alert");
}

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
	struct pseudonymizer pz = {NULL, NULL};
	struct protect_set *ics_allow = NULL;
	static struct intel_feeds feeds;
	const char *post_url = NULL, *token_file = NULL, *spool = "var/spool";
	struct poster_tls tls = {NULL, NULL, NULL};
	unsigned post_wait = 30, auth_poll = DEFAULT_AUTH_POLL, intel_poll = DEFAULT_INTEL_POLL;
	const char *taxii_url = NULL, *collection = NULL;
	char token[256] = "";
	int have_token = 0;
	struct poster *poster = NULL;
	struct monitor_poll *monitor = NULL;
	struct taxii_poll *taxii = NULL;
	pthread_t reloader;
	int reloader_on = 0;
	struct detect_config dcfg;
	struct sources *sources = NULL;
	int detect_on = 1;
	char derr[256];
	unsigned long long v;
	int quiet = 0, progress = 1, c, i, rc = EXIT_OK, out_fd = STDOUT_FILENO;
	struct pipeline *p = NULL;
	struct eve *e = NULL;
	struct sigaction sa;
	const char *ipfix_dest = NULL;
	struct ipfix_config icfg;
	struct ipfix_exporter *ipfix = NULL;
	double t0 = yg_mono_s(); /* the summary's time is the command's, set-up included */
	/* `yagura sensor`: the same, reading an interface live. */
	int live = argc > 0 && strcmp(argv[0], "sensor") == 0;
	/* `yagura collect`: flow records from routers instead of packets. */
	int collect = argc > 0 && strcmp(argv[0], "collect") == 0;
	const char *cmd = live ? "sensor" : collect ? "collect" : "analyze";
	const char *listen_at = NULL;
	struct collector *coll = NULL;
	int nworkers = 1;
	struct worker *ws = NULL;
	struct pipeline_shared *shared = NULL;
	struct pipeline_totals tot;
	struct eve_stats est;
	struct capture_live_opts lopts = {.fanout_group = -1, .promisc = true};
	struct capture_stats cst = {0};
	struct capture *live_cap = NULL;
	const char *metrics_listen = NULL;
	struct sensor_metrics *sm = NULL;

	detect_config_defaults(&dcfg);
	ipfix_config_defaults(&icfg);
	/* Every way out from here is through out:, which frees what was made. */
	pthread_mutex_init(&feeds.mu, NULL);
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
			if (feeds.n == MAX_INTEL_PATHS) {
				log_warnx("analyze: --intel: at most %d paths", MAX_INTEL_PATHS);
				rc = EXIT_USAGE;
				goto out;
			}
			feeds.paths[feeds.n++] = optarg;
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
	if (collect && (listen_at == NULL || live || optind < argc)) {
		log_warnx("collect: %s",
			  listen_at == NULL ? "no --listen given (try 'yagura collect --help')"
			  : live		 ? "--listen or --interface, not both"
					 : "--listen takes no capture files");
		rc = EXIT_USAGE;
		goto out;
	}
	if (collect && collector_open(listen_at, &coll, derr, sizeof(derr)) < 0) {
		log_warnx("collect: --listen: %s", derr);
		rc = EXIT_INPUT;
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
	if (nworkers > 1) {
		lopts.kind = CAPTURE_LIVE_AFPACKET;
		lopts.fanout_group = (int)(getpid() & 0xffff);
		if ((ws = yg_calloc((size_t)nworkers, sizeof(*ws))) == NULL) {
			log_warnx("sensor: out of memory");
			rc = EXIT_FATAL;
			goto out;
		}
		for (i = 0; i < nworkers; i++) {
			ws[i].id = i;
			pthread_mutex_init(&ws[i].mu, NULL);
		}
	}
	/* The interface first: a sensor that cannot read it has nothing to do. */
	if (live && capture_open_live(&lopts, &live_cap, derr, sizeof(derr)) < 0) {
		log_warnx("sensor: %s", derr);
		rc = EXIT_INPUT;
		goto out;
	}
	for (i = 1; i < nworkers; i++)
		if (capture_open_live(&lopts, &ws[i].cap, derr, sizeof(derr)) < 0) {
			log_warnx("sensor: worker %d: %s", i, derr);
			rc = EXIT_INPUT;
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
	if (client_tls_check("analyze", tls.ca, tls.cert, tls.key) < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	/* The authorizations' and TAXII pollers' requests, as the poster's. */
	client_set_tls(tls.ca, tls.cert, tls.key);
	if (post_url != NULL || taxii_url != NULL) {
		/* A client certificate the tower binds to this sensor stands for
		 * the token: none is needed then, one given is still sent. */
		int tok = read_token(token_file, token, sizeof(token));

		if (tok < 0)
			token[0] = '\0';
		if (token[0] == '\0' && (tls.cert == NULL || token_file != NULL)) {
			log_warnx("analyze: %s: no token (%s)",
				  post_url ? "--tower/--post" : "--intel-taxii",
				  token_file ? token_file : "set YAGURA_TOKEN or use --token-file");
			rc = EXIT_USAGE;
			goto out;
		}
		have_token = 1;
	}
	if ((protect_spec == NULL) != (key_path == NULL)) {
		log_warnx("analyze: --protect and --pseudonym-key go together");
		rc = EXIT_USAGE;
		goto out;
	}
	if (protect_spec != NULL) {
		uint8_t key[CRYPTOPAN_KEY_LEN];
		if (protect_set_parse(protect_spec, &pz.set, derr, sizeof(derr)) < 0) {
			log_warnx("analyze: --protect: %s", derr);
			rc = EXIT_USAGE;
			goto out;
		}
		if (protect_key_load(key_path, key, derr, sizeof(derr)) < 0) {
			log_warnx("%s: %s", key_path, derr);
			rc = EXIT_INPUT;
			goto out;
		}
		rc = cryptopan_new(key, &pz.cp);
		memset(key, 0, sizeof(key));
		if (rc < 0) {
			log_warnx("analyze: cannot set up pseudonymization: %s", yg_strerror(rc));
			rc = EXIT_FATAL;
			goto out;
		}
		rc = EXIT_OK;
	}
	if (output != NULL && strcmp(output, "-") != 0) {
		out_fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out_fd < 0) {
			log_warn("%s", output);
			rc = EXIT_OUTPUT;
			goto out;
		}
	} else {
		output = "standard output";
	}
	if (detect_on) {
		cfg.detect = &dcfg;
		sources = sources_new(1000000);
		cfg.sources = sources;
	}
	if ((feeds.n > 0 || taxii_url != NULL) && detect_on) {
		struct intel_snapshot *snap;
		int irc;
		feeds.quiet = quiet;
		feeds.handle = intel_handle_new();
		if (feeds.handle == NULL ||
		    (irc = intel_build(&feeds, &snap, "", feeds.n > 0)) == EXIT_FATAL) {
			log_warnx("analyze: out of memory loading indicators");
			rc = EXIT_FATAL;
			goto out;
		}
		if (irc != 0)
			rc = irc;
		intel_handle_publish(feeds.handle, snap);
		cfg.intel = feeds.handle;
	}
	e = eve_new(out_fd);
	if (e != NULL && pz.set != NULL)
		eve_set_protect(e, pseudonymize, &pz);
	if (e != NULL && post_url != NULL) {
		if (!detect_on) {
			log_warnx("analyze: --tower/--post sends alerts: it needs the detectors (drop "
				  "--no-detect)");
			rc = EXIT_USAGE;
			goto out;
		}
		if (strcmp(spool, "var/spool") == 0)
			mkdir("var", 0755);
		if (poster_new(post_url, token, &tls, spool, &poster, derr, sizeof(derr)) < 0) {
			log_warnx("analyze: --post: %s", derr);
			rc = EXIT_OUTPUT;
			goto out;
		}
		eve_set_alert_tee(e, tee_to_poster, poster);
		/* Before any packet: what may be analysed at all. (After the
		 * poster, which checks the URL, and may send what an earlier,
		 * authorized run left in the spool.) */
		int mrc = monitor_poll_start(post_url, token, auth_poll, &monitor);
		if (mrc < 0) {
			rc = EXIT_NOAUTH;
			goto out;
		}
		cfg.scope = monitor_poll_handle(monitor);
	}
	/* The collection whole before any packet, as the authorizations. */
	if (e != NULL && taxii_url != NULL &&
	    taxii_poll_start(taxii_url, collection, token, intel_poll, taxii_publish, &feeds,
			     &taxii) < 0) {
		rc = EXIT_NOINTEL;
		goto out;
	}
	if (have_token)
		memset(token, 0, sizeof(token));
	if (e != NULL && ipfix_dest != NULL) {
		int xr = ipfix_exporter_open(ipfix_dest, &icfg, &ipfix, derr, sizeof(derr));
		if (xr < 0) {
			log_warnx("analyze: --ipfix: %s", derr);
			rc = xr == YG_EINVAL ? EXIT_USAGE : xr == YG_ENOMEM ? EXIT_FATAL : EXIT_OUTPUT;
			goto out;
		}
		if (pz.set != NULL)
			ipfix_exporter_set_protect(ipfix, pseudonymize, &pz);
		cfg.flow_tap = ipfix_tap;
		cfg.flow_tap_ctx = ipfix;
	}
	if (nworkers > 1) {
		if ((shared = pipeline_shared_new(detect_on ? &dcfg : NULL)) == NULL) {
			log_warnx("sensor: out of memory");
			rc = EXIT_FATAL;
			goto out;
		}
		cfg.shared = shared;
		if (e != NULL)
			eve_set_lock(e, pipeline_shared_output_lock(shared));
	}
	if (e == NULL || (detect_on && sources == NULL) || (p = pipeline_new(&cfg, e)) == NULL) {
		log_warnx("analyze: out of memory (try a smaller --max-flows)");
		rc = EXIT_FATAL;
		goto out;
	}
	/* Worker 0 is the pipeline above; the others write their own records
	 * to the same output, a whole buffer at a time. */
	for (i = 0; i < nworkers && ws != NULL; i++) {
		if (i == 0) {
			ws[0].cap = live_cap;
			ws[0].p = p;
			ws[0].e = e;
			continue;
		}
		if ((ws[i].e = eve_new(out_fd)) == NULL ||
		    (ws[i].p = pipeline_new(&cfg, ws[i].e)) == NULL) {
			log_warnx("sensor: out of memory for worker %d (try a smaller --max-flows)", i);
			rc = EXIT_FATAL;
			goto out;
		}
		eve_set_lock(ws[i].e, pipeline_shared_output_lock(shared));
		if (pz.set != NULL)
			eve_set_protect(ws[i].e, pseudonymize, &pz);
		if (poster != NULL)
			eve_set_alert_tee(ws[i].e, tee_to_poster, poster);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (feeds.handle != NULL) {
		if (intel_reloader_start(&feeds, &reloader) != 0) {
			log_warnx("analyze: cannot start the intel reloader");
			rc = EXIT_FATAL;
			goto out;
		}
		reloader_on = 1;
	}
	if (monitor != NULL && monitor_poll_run(monitor) < 0) {
		log_warnx("analyze: cannot start the authorization poller");
		rc = EXIT_FATAL;
		goto out;
	}
	if (taxii != NULL && taxii_poll_run(taxii) < 0) {
		log_warnx("analyze: cannot start the TAXII poller");
		rc = EXIT_FATAL;
		goto out;
	}

	progress = progress && !quiet && isatty(STDERR_FILENO);
	if (metrics_listen != NULL &&
	    sensor_metrics_start(metrics_listen, &sm, derr, sizeof(derr)) < 0) {
		log_warnx("%s: --metrics: %s", cmd, derr);
		rc = EXIT_USAGE;
		goto out;
	}
	if (live && ws != NULL && (c = run_workers(ws, nworkers, shared, sm, lopts.ifname, quiet)) != 0)
		rc = c;
	if (live && ws == NULL && analyze_live(p, live_cap, &lopts, &cst, quiet, sm) != 0)
		rc = EXIT_INPUT;
	if (collect) {
		if (!quiet)
			fprintf(stderr, "collect: listening on %s (UDP: NetFlow v5, v9, IPFIX); "
					"SIGINT or SIGTERM ends it\n",
				collector_address(coll));
		if (collector_run(coll, p, &stop_requested, sm) != 0)
			rc = EXIT_INPUT;
	}
	for (i = optind; i < argc && !stop_requested; i++) {
		if (analyze_file(p, argv[i], progress) != 0)
			rc = EXIT_INPUT;
		if (sm != NULL) {
			pipeline_totals(&p, 1, &tot);
			sensor_metrics_update(sm, &tot, NULL);
		}
		if (eve_error(e) != 0)
			break;
	}
	pipeline_finish(p);
	if (ipfix != NULL)
		ipfix_exporter_flush(ipfix);
	if (eve_flush(e) != 0) {
		log_warn("%s: write error", output);
		rc = EXIT_OUTPUT;
	}
	if (sources_path != NULL && sources != NULL) {
		FILE *sf = fopen(sources_path, "w");
		if (sf == NULL ||
		    sources_write_json(sources, sf, pz.set ? pseudonymize : NULL, &pz) < 0 ||
		    fclose(sf) != 0) {
			log_warn("%s", sources_path);
			rc = EXIT_OUTPUT;
		}
	}
	if (!quiet)
	{
		if (ws != NULL) {
			workers_sum(ws, nworkers, shared, &tot, &cst, &est);
		} else {
			pipeline_totals(&p, 1, &tot);
			est = *eve_stats(e);
		}
		print_summary(&tot, &est, sources, &pz, monitor != NULL, t0);
		if (ws != NULL)
			for (i = 0; i < nworkers; i++)
				fprintf(stderr, "  worker %d: %llu packets, %llu flows, %llu dropped by "
						"the kernel\n",
					i, (unsigned long long)ws[i].snap.s.packets,
					(unsigned long long)ws[i].snap.f.created,
					(unsigned long long)ws[i].cst.dropped);
	}
	if (!quiet && collect)
		collector_summary(coll, p, stderr);
	if (!quiet && ipfix != NULL)
		print_ipfix_summary(ipfix, ipfix_dest);
	if (!quiet && live)
		fprintf(stderr,
			"  capture: %llu frames received, %llu dropped by the kernel (ring full), %llu "
			"by the interface\n",
			(unsigned long long)cst.received, (unsigned long long)cst.dropped,
			(unsigned long long)cst.if_dropped);
	if (stop_requested && !live && !collect)
		log_warnx("analyze: interrupted; records of what was read are written");
	if (poster != NULL) {
		struct poster_stats ps;
		poster_finish(poster, post_wait, &ps);
		poster = NULL;
		if (!quiet)
			fprintf(stderr, "  post: %llu alerts spooled, %llu sent (%llu retries), %llu left in %s\n",
				(unsigned long long)ps.spooled, (unsigned long long)ps.sent,
				(unsigned long long)ps.retries, (unsigned long long)ps.left, spool);
		if (ps.left > 0) {
			log_warnx("post: %llu alerts wait in %s, not delivered: %s; the next run "
				  "sends them",
				  (unsigned long long)ps.left, spool,
				  ps.why[0] ? ps.why : "the tower did not take them in time");
			if (rc == EXIT_OK)
				rc = EXIT_UNSENT;
		}
	}
out:
	sensor_metrics_free(sm);
	capture_close(live_cap);
	collector_free(coll);
	for (i = 1; ws != NULL && i < nworkers; i++) {
		pipeline_free(ws[i].p);
		if (eve_free(ws[i].e) != 0 && rc == EXIT_OK)
			rc = EXIT_OUTPUT;
		capture_close(ws[i].cap);
	}
	if (poster != NULL)
		poster_finish(poster, 0, NULL);
	pipeline_free(p);
	for (i = 0; ws != NULL && i < nworkers; i++)
		pthread_mutex_destroy(&ws[i].mu);
	free(ws);
	ipfix_exporter_free(ipfix); /* after the pipeline, whose free ends flows into it */
	monitor_poll_free(monitor);
	taxii_poll_free(taxii);
	memset(token, 0, sizeof(token));
	sources_free(sources);
	cryptopan_free(pz.cp);
	protect_set_free(pz.set);
	protect_set_free(ics_allow);
	if (reloader_on)
		intel_reloader_stop(&feeds, reloader);
	intel_handle_free(feeds.handle);
	free(feeds.taxii);
	pthread_mutex_destroy(&feeds.mu);
	if (eve_free(e) != 0 && rc == EXIT_OK)
		rc = EXIT_OUTPUT;
	pipeline_shared_free(shared); /* after every pipeline and writer that used it */
	if (out_fd != STDOUT_FILENO && close(out_fd) < 0 && rc == EXIT_OK) {
		log_warn("%s: close", output);
		rc = EXIT_OUTPUT;
	}
	return rc;
}
