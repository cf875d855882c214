/* sensor.c - the sensor's run-time (sensor.h): intel feeds and their
 * reloader, the tower's pollers, the poster, the pseudonymizer, the IPFIX
 * tap, the EVE writers, the pipelines and workers, the run loops and the
 * summary. */
#include "sensor/sensor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "client/client.h"
#include "intel/intel.h"
#include "privacy/cryptopan.h"
#include "privacy/protect.h"
#include "sensor/collect.h"
#include "sensor/monitor_poll.h"
#include "sensor/sensor_conf.h"
#include "sensor/sensor_metrics.h"
#include "sensor/sensor_flows.h"
#include "sensor/sensor_stream.h"
#include "sensor/taxii_poll.h"

/* Set by the signal handler, read by every worker: a lock-free atomic,
 * safe in a handler and between threads. */
static atomic_int stop_requested;

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
struct intel_feeds {
	const char *const *paths;
	int n;
	struct intel_handle *handle;
	int quiet;
	pthread_mutex_t mu;
	char *taxii; /* the TAXII collection as one STIX bundle; NULL: none */
	size_t taxii_len;
	uint64_t taxii_refused; /* of its indicators, by the loader */
};


/* Builds a snapshot from every path and the TAXII bundle; with
 * report_files, reports what the files loaded on stderr (a TAXII rebuild
 * does not: the files did not change). Returns 0, or SENSOR_INPUT when a
 * file could not be read (what could be read still loads), or SENSOR_FATAL
 * when out of memory. Call with fe->mu held once threads run. */
static int intel_build(struct intel_feeds *fe, struct intel_snapshot **out, const char *when,
		       int report_files)
{
	struct intel_builder *b = intel_builder_new(0);
	struct intel_report rep;
	int rc = 0, any = 0;

	*out = NULL;
	if (b == NULL)
		return SENSOR_FATAL;
	intel_report_init(&rep);
	for (int i = 0; i < fe->n; i++) {
		int r = intel_load_path(b, fe->paths[i], NULL, &rep);
		if (r == YG_ENOMEM) {
			intel_builder_free(b);
			return SENSOR_FATAL;
		}
		if (r < 0)
			rc = SENSOR_INPUT;
	}
	if (fe->taxii != NULL) {
		struct intel_report trep;
		intel_report_init(&trep);
		if (intel_load_buffer(b, "taxii", fe->taxii, fe->taxii_len, INTEL_FORMAT_STIX, NULL,
				      &trep) == YG_ENOMEM) {
			intel_builder_free(b);
			return SENSOR_FATAL;
		}
		fe->taxii_refused = trep.rejected;
	}
	if (intel_builder_finish(b, out) < 0)
		return SENSOR_FATAL;
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
	rc = intel_build(fe, &s, "", 0) == SENSOR_FATAL || s == NULL ? -1 : (int)fe->taxii_refused;
	if (rc >= 0)
		intel_handle_publish(fe->handle, s);
	pthread_mutex_unlock(&fe->mu);
	return rc;
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

/* Runs one file through the pipeline. Returns 0, or SENSOR_INPUT after
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
		return SENSOR_INPUT;
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
	return rc < 0 ? SENSOR_INPUT : 0;
}

/* Reads a live interface until SIGINT or SIGTERM: frames as they come,
 * and, when none came within the source's timeout, the clock moved on so
 * that idle flows end on time. Returns 0, or SENSOR_INPUT after reporting
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
	return rc < 0 ? SENSOR_INPUT : 0;
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
	w->rc = rc < 0 ? SENSOR_INPUT : 0;
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

/* Each worker's own series, from its copy. */
static void workers_metrics(struct worker *ws, int n, struct sensor_metrics *sm)
{
	for (int i = 0; i < n; i++) {
		struct pipeline_totals t;
		struct capture_stats cs;
		pthread_mutex_lock(&ws[i].mu);
		t = ws[i].snap;
		cs = ws[i].cst;
		pthread_mutex_unlock(&ws[i].mu);
		sensor_metrics_worker(sm, i, &t, &cs);
	}
}

/* Runs the workers until SIGINT or SIGTERM; the main thread serves the
 * counters meanwhile. Returns 0 or SENSOR_INPUT. */
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
			rc = SENSOR_FATAL;
			break;
		}
	while (!stop_requested) {
		struct timespec ts = {0, 250 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (sm != NULL) {
			workers_sum(ws, n, sh, &t, &cs, &es);
			sensor_metrics_update(sm, &t, &cs);
			workers_metrics(ws, n, sm);
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
		workers_metrics(ws, n, sm);
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


static void print_summary(FILE *out, const struct pipeline_totals *t, const struct eve_stats *es,
			  struct sources *src, struct pseudonymizer *pz, int monitoring, double t0)
{
	double secs;
	const struct pipeline_stats *s = &t->s;
	const struct flow_stats *fs = &t->f;
	uint64_t errors = 0;
	int i, first;

	fprintf(out,
		"summary: %llu packets, %llu bytes, %llu flows (peak %llu live, %llu evicted)\n",
		(unsigned long long)s->packets, (unsigned long long)s->bytes,
		(unsigned long long)fs->created, (unsigned long long)fs->peak,
		(unsigned long long)fs->evicted);
	fprintf(out,
		"  records: %llu flow, %llu dns, %llu tls, %llu http (%llu bytes)\n",
		(unsigned long long)es->flow, (unsigned long long)es->dns,
		(unsigned long long)es->tls, (unsigned long long)es->http,
		(unsigned long long)es->bytes);
	fprintf(out, "  packets: %llu in flows, %llu not in flows, %llu malformed\n",
		(unsigned long long)s->in_flows, (unsigned long long)s->skipped,
		(unsigned long long)s->bad);
	if (monitoring)
		fprintf(out, "  monitoring: %llu unauthorized (outside every authorization, "
				"dropped after the IP header)\n",
			(unsigned long long)s->unauthorized);
	for (i = 0; i < DC_MAX; i++)
		if (decode_counter_is_error(i))
			errors += s->decode[i];
	fprintf(out, "  decode errors: %llu", (unsigned long long)errors);
	first = 1;
	for (i = 0; i < DC_MAX; i++) {
		if (!decode_counter_is_error(i) || s->decode[i] == 0)
			continue;
		fprintf(out, "%s%s %llu", first ? " (" : ", ", decode_counter_name(i),
			(unsigned long long)s->decode[i]);
		first = 0;
	}
	fputs(first ? "\n" : ")\n", out);
	fputs("  decode notes:", out);
	first = 1;
	for (i = 0; i < DC_MAX; i++) {
		if (decode_counter_is_error(i) || s->decode[i] == 0)
			continue;
		fprintf(out, "%s %s %llu", first ? "" : ",", decode_counter_name(i),
			(unsigned long long)s->decode[i]);
		first = 0;
	}
	for (i = 0; i < MC_MAX; i++) {
		if (s->meta[i] == 0)
			continue;
		fprintf(out, "%s %s %llu", first ? "" : ",", meta_counter_name(i),
			(unsigned long long)s->meta[i]);
		first = 0;
	}
	fputs(first ? " none\n" : "\n", out);
	if (t->detecting) {
		const struct detect_stats *ds = &t->d;
		fprintf(out, "  alerts: %llu (detector state %.1f MiB, %llu records forgotten",
			(unsigned long long)ds->alerts, (double)ds->table_bytes / (1 << 20),
			(unsigned long long)ds->evictions);
		if (ds->evictions > 0)
			fprintf(out, ", %llu of them used at most twice",
				(unsigned long long)ds->evictions_rare);
		fputs(")\n", out);
	}
	if (src != NULL && (sources_count(src) > 0 || sources_flooded(src) > 0)) {
		fprintf(out, "  attack sources: %u%s\n", sources_count(src),
			sources_count(src) > 10 ? " (top 10)" : "");
		sources_print_top(src, out, 10, pz->set ? pseudonymize : NULL, pz);
	}
	secs = yg_mono_s() - t0;
	fprintf(out, "  time: %.3f s, %.0f packets/s\n", secs,
		secs > 0 ? (double)s->packets / secs : 0.0);
}


/* The pipeline's flow tap, to the IPFIX exporter. */
static void ipfix_tap(void *ctx, const struct flow *f, enum flow_end_reason why)
{
	ipfix_exporter_flow(ctx, f, why);
}

static void print_ipfix_summary(FILE *out, const struct ipfix_exporter *x, const char *dest)
{
	struct ipfix_stats st;

	ipfix_exporter_stats(x, &st);
	fprintf(out,
		"  ipfix: %llu records in %llu messages (%llu with templates, %llu bytes) to %s, "
		"%llu send errors (%llu records lost)\n",
		(unsigned long long)(st.records - st.records_lost),
		(unsigned long long)(st.messages - st.send_errors),
		(unsigned long long)st.templates, (unsigned long long)st.bytes, dest,
		(unsigned long long)st.send_errors, (unsigned long long)st.records_lost);
}

/* Where an alert goes besides the output: the tower's spool, the
 * stream's, or both. */
struct tees {
	struct poster *post, *stream;
};

static void tee_to_posters(void *ctx, const char *json, size_t len)
{
	struct tees *t = ctx;

	if (t->post != NULL && poster_add(t->post, json, len) < 0)
		log_warn("post: cannot spool an alert");
	if (t->stream != NULL && poster_add(t->stream, json, len) < 0)
		log_warn("stream: cannot spool an alert");
}

struct sensor {
	struct sensor_config cfg;
	int rc;  /* the exit status so far */
	int ran; /* sensor_run() was called */
	struct detect_config dcfg;
	struct pipeline_config pcfg;
	struct intel_feeds feeds;
	pthread_t reloader;
	int reloader_on;
	atomic_int reloading; /* -1 tells the reloader to stop */
	struct pseudonymizer pz;
	struct sources *sources;
	int out_fd;
	const char *output; /* its name in messages */
	struct eve *e;
	struct poster *poster;
	struct sensor_stream *ss; /* --stream: the sender of sposter */
	struct sensor_flows *sf;  /* --stream-flows */
	struct poster *sposter;
	char stream_spool[1100];
	struct tees tees;
	struct monitor_poll *monitor;
	struct taxii_poll *taxii;
	struct ipfix_exporter *ipfix;
	struct pipeline_shared *shared;
	struct pipeline *p;
	struct worker *ws; /* NULL: one pipeline, p */
	struct capture *live_cap;
	struct capture_stats cst;
	struct collector *coll;
	struct sensor_metrics *sm;
	/* --config: the file as last read, the ICS allow-list parsed from it
	 * for the start's configuration, what the detectors run with now (for
	 * the reload's line), and where a reload publishes the next one. */
	struct sensor_conf *conf;
	struct protect_set *ics_owned;
	struct detect_config cur;
	struct snap_handle *detect_update;
	uint64_t gen;
};

/* A reload's detector configuration, with the allow-list it points to. */
struct conf_snap {
	struct pipeline_detect_snap ds;
	struct protect_set *ics;
};

static void conf_snap_free(struct snap_ref *r)
{
	struct conf_snap *cs = (struct conf_snap *)((char *)r - offsetof(struct conf_snap, ds.ref));

	protect_set_free(cs->ics);
	free(cs);
}

/* The ICS allow-list as the file wrote it, or "none". */
static const char *ics_text(const struct sensor_conf *c)
{
	return c != NULL && c->ics_allow != NULL ? c->ics_allow : "none";
}

static int same_paths(const struct sensor_conf *a, const struct sensor_conf *b)
{
	if (a->n_intel != b->n_intel)
		return 0;
	for (int i = 0; i < a->n_intel; i++)
		if (strcmp(a->intel[i], b->intel[i]) != 0)
			return 0;
	return 1;
}

/* SIGHUP's first half: the file read again, checked whole, and its
 * detector configuration published for the pipelines' next batch. A bad
 * file changes nothing. One line on stderr either way. */
static void reload_config(struct sensor *s)
{
	const struct sensor_config *c = &s->cfg;
	struct sensor_conf *conf, *old;
	struct conf_snap *cs;
	char err[512], what[1024];
	size_t w = 0;
	int rc;

	rc = sensor_conf_load(c->config_path, &conf, err, sizeof(err));
	if (rc != 0) {
		log_warnx("%s: configuration not reloaded, the previous one stays: %s", c->cmd, err);
		return;
	}
	what[0] = '\0';
#define SAID(...)                                                                                  	do {                                                                                       		int n_ = snprintf(what + w, sizeof(what) - w, "%s", w ? ", " : "");                		if (n_ > 0 && (size_t)n_ < sizeof(what) - w)                                       			w += (size_t)n_;                                                           		n_ = snprintf(what + w, sizeof(what) - w, __VA_ARGS__);                            		if (n_ > 0 && (size_t)n_ < sizeof(what) - w)                                       			w += (size_t)n_;                                                           	} while (0)
	if (c->detect_on) {
		if ((cs = yg_calloc(1, sizeof(*cs))) == NULL ||
		    sensor_conf_detect(conf, c->detect_cli, c->n_detect_cli, c->detect.ics_allow,
				       &cs->ds.detect, &cs->ics) < 0) {
			free(cs);
			sensor_conf_free(conf);
			log_warnx("%s: configuration not reloaded, the previous one stays: out of "
				  "memory", c->cmd);
			return;
		}
		for (const struct detect_param *p = detect_params; p->name; p++) {
			uint32_t a = *(const uint32_t *)((const char *)&s->cur + p->offset);
			uint32_t *b = (uint32_t *)((char *)&cs->ds.detect + p->offset);
			if (a == *b)
				continue;
			if (p->offset == offsetof(struct detect_config, table_entries)) {
				SAID("%s %u -> %u (takes a restart; %u until then)", p->name, a, *b, a);
				*b = a;
			} else {
				SAID("%s %u -> %u", p->name, a, *b);
			}
		}
		if (c->detect.ics_allow == NULL && strcmp(ics_text(s->conf), ics_text(conf)) != 0)
			SAID("ics.allow %s -> %s", ics_text(s->conf), ics_text(conf));
		s->cur = cs->ds.detect;
		snap_ref_init(&cs->ds.ref, conf_snap_free);
		cs->ds.gen = ++s->gen;
		snap_handle_publish(s->detect_update, &cs->ds.ref);
	}
	/* The intel paths the file names, for the intel reload that follows
	 * (the command line's stay when it gave any). */
	pthread_mutex_lock(&s->feeds.mu);
	old = s->conf;
	if (c->n_intel == 0) {
		if (!same_paths(old, conf))
			SAID("intel.path changed (%d paths)", conf->n_intel);
		s->feeds.paths = (const char *const *)conf->intel;
		s->feeds.n = conf->n_intel;
	}
	s->conf = conf;
	pthread_mutex_unlock(&s->feeds.mu);
	sensor_conf_free(old);
	fprintf(stderr, "%s: configuration reloaded: %s\n", c->cmd, w ? what : "no change");
#undef SAID
}

/* The reloader: waits for SIGHUP (blocked in every other thread), reads
 * the --config file again (reload_config), rebuilds the intel snapshot
 * from the paths and publishes it. Packet processing
 * never waits for it; the next batch simply sees the new snapshot. */
static void *sensor_reloader(void *arg)
{
	struct sensor *s = arg;
	struct intel_feeds *fe = &s->feeds;
	struct intel_snapshot *snap;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (sigwait(&set, &sig) != 0 || atomic_load(&s->reloading) < 0)
			break;
		/* One reload: the configuration, then the intel it names. */
		if (s->cfg.config_path != NULL)
			reload_config(s);
		if (fe->handle == NULL)
			continue;
		pthread_mutex_lock(&fe->mu);
		if (intel_build(fe, &snap, " reload", fe->n > 0 || s->cfg.config_path == NULL) !=
			    SENSOR_FATAL &&
		    snap != NULL)
			intel_handle_publish(fe->handle, snap);
		pthread_mutex_unlock(&fe->mu);
	}
	return NULL;
}

static int reloader_start(struct sensor *s)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return pthread_create(&s->reloader, NULL, sensor_reloader, s);
}

static void reloader_stop(struct sensor *s)
{
	atomic_store(&s->reloading, -1);
	pthread_kill(s->reloader, SIGHUP);
	pthread_join(s->reloader, NULL);
}

/* Frees what sensor_open() made, in the order that keeps every borrower
 * ahead of what it borrows; rc: the status so far. Returns the final one. */
static int sensor_free(struct sensor *s, int rc)
{
	int n = s->cfg.workers;

	sensor_metrics_free(s->sm);
	capture_close(s->live_cap);
	collector_free(s->coll);
	for (int i = 1; s->ws != NULL && i < n; i++) {
		pipeline_free(s->ws[i].p);
		if (eve_free(s->ws[i].e) != 0 && rc == SENSOR_OK)
			rc = SENSOR_OUTPUT;
		capture_close(s->ws[i].cap);
	}
	if (s->poster != NULL)
		poster_finish(s->poster, 0, NULL);
	if (s->sposter != NULL)
		poster_finish(s->sposter, 0, NULL);
	sensor_stream_free(s->ss);
	pipeline_free(s->p);
	for (int i = 0; s->ws != NULL && i < n; i++)
		pthread_mutex_destroy(&s->ws[i].mu);
	free(s->ws);
	ipfix_exporter_free(s->ipfix); /* after the pipeline, whose free ends flows into it */
	sensor_flows_free(s->sf);      /* likewise */
	monitor_poll_free(s->monitor);
	taxii_poll_free(s->taxii);
	sources_free(s->sources);
	cryptopan_free(s->pz.cp);
	protect_set_free(s->pz.set);
	if (s->reloader_on)
		reloader_stop(s);
	intel_handle_free(s->feeds.handle);
	free(s->feeds.taxii);
	pthread_mutex_destroy(&s->feeds.mu);
	if (eve_free(s->e) != 0 && rc == SENSOR_OK)
		rc = SENSOR_OUTPUT;
	pipeline_shared_free(s->shared); /* after every pipeline and writer that used it */
	snap_handle_free(s->detect_update); /* after the pipelines that took from it */
	protect_set_free(s->ics_owned);
	sensor_conf_free(s->conf);
	if (s->out_fd != STDOUT_FILENO && s->out_fd >= 0 && close(s->out_fd) < 0 &&
	    rc == SENSOR_OK) {
		log_warn("%s: close", s->output);
		rc = SENSOR_OUTPUT;
	}
	free(s);
	return rc;
}

/* The status of a failed start: everything freed, *out NULL. */
static int open_failed(struct sensor *s, struct sensor **out, int rc)
{
	*out = NULL;
	sensor_free(s, rc);
	return rc;
}

/* --stream, and the --config file's [stream]: the options win, then the
 * file, then (for the sensor's name) the host name. Checks the names
 * before anything is opened, and makes s->ss (or nothing without a URL).
 * Returns SENSOR_OK or an exit status with one line in err. */
static int stream_prepare(struct sensor *s, char *err, size_t errlen)
{
	const struct sensor_config *c = &s->cfg;
	const struct sensor_conf *f = s->conf;
	struct stream_config sc;
	const char *urls = c->stream_urls, *sector = c->stream_sector, *sensor = c->stream_sensor;
	char host[256], why[256];
	int rc;

	if (urls == NULL && f != NULL)
		urls = f->stream_url;
	if (urls == NULL) {
		if (c->stream_flows) {
			snprintf(err, errlen, "%s: --stream-flows goes with --stream (or [stream] url "
					      "in --config)",
				 c->cmd);
			return SENSOR_USAGE;
		}
		if (sector != NULL || sensor != NULL) {
			snprintf(err, errlen, "%s: --stream-sector and --stream-sensor go with "
					      "--stream (or [stream] url in --config)",
				 c->cmd);
			return SENSOR_USAGE;
		}
		return SENSOR_OK;
	}
	if (!c->detect_on) {
		snprintf(err, errlen, "%s: --stream publishes alerts: it needs the detectors "
				      "(drop --no-detect)",
			 c->cmd);
		return SENSOR_USAGE;
	}
	if (sector == NULL && f != NULL)
		sector = f->stream_sector;
	if (sensor == NULL && f != NULL)
		sensor = f->stream_sensor;
	if (sensor == NULL && gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		if (stream_token_check(host) == 0)
			sensor = host;
	}
	memset(&sc, 0, sizeof(sc));
	sc.urls = urls;
	if (f != NULL) {
		sc.name = f->stream_name;
		sc.prefix = f->stream_prefix;
		sc.replicas = f->stream_replicas;
		sc.max_age_s = f->stream_max_age_s;
		sc.max_bytes = f->stream_max_bytes;
		sc.auth = f->stream_auth;
		if (stream_auth_check(&sc.auth, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s", c->cmd, why);
			return SENSOR_USAGE;
		}
	}
	/* A sensor sets the stream up only where nobody has: the towers'
	 * configuration is the stream's (docs/stream.md). */
	sc.manage = f != NULL && f->stream_manage_none ? STREAM_MANAGE_NONE : STREAM_MANAGE_CREATE;
	/* A publish waits this long for its PubAck: short enough that a run
	 * ends soon after --post-wait, long enough for a leader's election. */
	sc.timeout_ms = 3000;
	rc = sensor_stream_new(&sc, sector, sensor, &s->ss, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s: --stream: %s", c->cmd, why);
		return rc == YG_ENOMEM ? SENSOR_FATAL : SENSOR_USAGE;
	}
	if (c->stream_flows || (f != NULL && f->stream_flows)) {
		/* Their own stream: other limits (a day, unless the file says),
		 * and a consumer of alerts never wades through them. */
		struct stream_config fc = sc;
		fc.urls = urls;
		fc.name = "YAGURA_FLOWS";
		fc.prefix = "yagura.flows";
		fc.max_age_s = f != NULL && f->stream_flows_max_age_s ? f->stream_flows_max_age_s
								      : 86400;
		if (sensor_flows_new(&fc, sector, sensor, !c->live && c->listen == NULL, &s->sf, why,
				     sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: --stream-flows: %s", c->cmd, why);
			return SENSOR_FATAL;
		}
	}
	return SENSOR_OK;
}

int sensor_open(const struct sensor_config *cfg, struct sensor **out, char *err, size_t errlen)
{
	struct sensor *s;
	struct sensor_config *c;
	struct sigaction sa;
	int i, rc;

	*out = NULL;
	err[0] = '\0';
	if ((s = yg_calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", cfg->cmd);
		return SENSOR_FATAL;
	}
	s->cfg = *cfg;
	c = &s->cfg;
	s->out_fd = STDOUT_FILENO;
	s->dcfg = c->detect;
	s->pcfg.flow = c->pipe.flow;
	s->pcfg.meta = c->pipe.meta;
	s->pcfg.pair_wait_us = c->pipe.pair_wait_us;
	s->feeds.paths = c->intel_paths;
	s->feeds.n = c->n_intel;
	pthread_mutex_init(&s->feeds.mu, NULL);
	if (c->workers < 1)
		c->workers = 1;
	/* The file before anything else, as the options it adds to. */
	if (c->config_path != NULL) {
		rc = sensor_conf_load(c->config_path, &s->conf, err, errlen);
		if (rc != 0)
			return open_failed(s, out, rc);
		if (sensor_conf_detect(s->conf, c->detect_cli, c->n_detect_cli, c->detect.ics_allow,
				       &s->dcfg, &s->ics_owned) < 0) {
			snprintf(err, errlen, "%s: out of memory", c->cmd);
			return open_failed(s, out, SENSOR_FATAL);
		}
		if (c->n_intel == 0) {
			s->feeds.paths = (const char *const *)s->conf->intel;
			s->feeds.n = s->conf->n_intel;
		}
		if (c->detect_on && (s->detect_update = snap_handle_new()) == NULL) {
			snprintf(err, errlen, "%s: out of memory", c->cmd);
			return open_failed(s, out, SENSOR_FATAL);
		}
		s->pcfg.detect_update = s->detect_update;
	}
	s->cur = s->dcfg;
	if ((rc = stream_prepare(s, err, errlen)) != SENSOR_OK)
		return open_failed(s, out, rc);
	if (c->listen != NULL &&
	    collector_open(c->listen, &s->coll, err, errlen) < 0) {
		char why[256];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "collect: --listen: %s", why);
		return open_failed(s, out, SENSOR_INPUT);
	}
	if (c->workers > 1) {
		c->live_opts.kind = CAPTURE_LIVE_AFPACKET;
		c->live_opts.fanout_group = (int)(getpid() & 0xffff);
		if ((s->ws = yg_calloc((size_t)c->workers, sizeof(*s->ws))) == NULL) {
			snprintf(err, errlen, "sensor: out of memory");
			return open_failed(s, out, SENSOR_FATAL);
		}
		for (i = 0; i < c->workers; i++) {
			s->ws[i].id = i;
			pthread_mutex_init(&s->ws[i].mu, NULL);
		}
	}
	/* The interface first: a sensor that cannot read it has nothing to do. */
	if (c->live) {
		char why[256];
		if (capture_open_live(&c->live_opts, &s->live_cap, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "sensor: %s", why);
			return open_failed(s, out, SENSOR_INPUT);
		}
		for (i = 1; i < c->workers; i++)
			if (capture_open_live(&c->live_opts, &s->ws[i].cap, why, sizeof(why)) < 0) {
				snprintf(err, errlen, "sensor: worker %d: %s", i, why);
				return open_failed(s, out, SENSOR_INPUT);
			}
	}
	/* The authorizations' and TAXII pollers' requests, as the poster's. */
	client_set_tls(c->tls.ca, c->tls.cert, c->tls.key);
	if (c->protect_spec != NULL) {
		uint8_t key[CRYPTOPAN_KEY_LEN];
		char why[256];
		if (protect_set_parse(c->protect_spec, &s->pz.set, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "analyze: --protect: %s", why);
			return open_failed(s, out, SENSOR_USAGE);
		}
		if (protect_key_load(c->key_path, key, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s", c->key_path, why);
			return open_failed(s, out, SENSOR_INPUT);
		}
		rc = cryptopan_new(key, &s->pz.cp);
		memset(key, 0, sizeof(key));
		if (rc < 0) {
			snprintf(err, errlen, "analyze: cannot set up pseudonymization: %s",
				 yg_strerror(rc));
			return open_failed(s, out, SENSOR_FATAL);
		}
	}
	if (c->output != NULL && strcmp(c->output, "-") != 0) {
		s->output = c->output;
		s->out_fd = open(c->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (s->out_fd < 0) {
			snprintf(err, errlen, "%s: %s", c->output, strerror(errno));
			return open_failed(s, out, SENSOR_OUTPUT);
		}
	} else {
		s->output = "standard output";
	}
	if (c->detect_on) {
		s->pcfg.detect = &s->dcfg;
		s->sources = sources_new(1000000);
		s->pcfg.sources = s->sources;
	}
	/* With --config, a reload may name feeds the start did not. */
	if ((s->feeds.n > 0 || c->taxii_url != NULL || c->config_path != NULL) && c->detect_on) {
		struct intel_snapshot *snap;
		int irc;
		s->feeds.quiet = c->quiet;
		s->feeds.handle = intel_handle_new();
		if (s->feeds.handle == NULL ||
		    (irc = intel_build(&s->feeds, &snap, "", s->feeds.n > 0)) == SENSOR_FATAL) {
			snprintf(err, errlen, "analyze: out of memory loading indicators");
			return open_failed(s, out, SENSOR_FATAL);
		}
		if (irc != 0)
			s->rc = irc;
		intel_handle_publish(s->feeds.handle, snap);
		s->pcfg.intel = s->feeds.handle;
	}
	s->e = eve_new(s->out_fd);
	if (s->e != NULL && s->pz.set != NULL)
		eve_set_protect(s->e, pseudonymize, &s->pz);
	if (s->e != NULL && c->post_url != NULL) {
		char why[256];
		if (strcmp(c->spool, "var/spool") == 0)
			mkdir("var", 0755);
		if (poster_new(c->post_url, c->token, &c->tls, c->spool, &s->poster, why,
			       sizeof(why)) < 0) {
			snprintf(err, errlen, "analyze: --post: %s", why);
			return open_failed(s, out, SENSOR_OUTPUT);
		}
		s->tees.post = s->poster;
		/* Before any packet: what may be analysed at all. (After the
		 * poster, which checks the URL, and may send what an earlier,
		 * authorized run left in the spool.) */
		if (monitor_poll_start(c->post_url, c->token, c->auth_poll, &s->monitor) < 0)
			return open_failed(s, out, SENSOR_NOAUTH);
		s->pcfg.scope = monitor_poll_handle(s->monitor);
	}
	if (s->e != NULL && s->ss != NULL) {
		struct poster_sender snd;
		char why[256];
		if (strcmp(c->spool, "var/spool") == 0)
			mkdir("var", 0755);
		if (mkdir(c->spool, 0700) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: --spool: %s: %s", c->cmd, c->spool, strerror(errno));
			return open_failed(s, out, SENSOR_OUTPUT);
		}
		snprintf(s->stream_spool, sizeof(s->stream_spool), "%s/stream", c->spool);
		sensor_stream_sender(s->ss, &snd);
		if (poster_open(&snd, s->stream_spool, &s->sposter, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: --stream: %s", c->cmd, why);
			return open_failed(s, out, SENSOR_OUTPUT);
		}
		s->tees.stream = s->sposter;
	}
	if (s->e != NULL && (s->tees.post != NULL || s->tees.stream != NULL))
		eve_set_alert_tee(s->e, tee_to_posters, &s->tees);
	if (s->e != NULL && s->sf != NULL)
		eve_set_flow_tee(s->e, sensor_flows_tee, s->sf);
	/* The collection whole before any packet, as the authorizations. */
	if (s->e != NULL && c->taxii_url != NULL &&
	    taxii_poll_start(c->taxii_url, c->collection, c->token, c->intel_poll, taxii_publish,
			     &s->feeds, &s->taxii) < 0)
		return open_failed(s, out, SENSOR_NOINTEL);
	c->token = NULL; /* the caller's, which it wipes */
	if (s->e != NULL && c->ipfix_dest != NULL) {
		char why[256];
		int xr = ipfix_exporter_open(c->ipfix_dest, &c->ipfix, &s->ipfix, why, sizeof(why));
		if (xr < 0) {
			snprintf(err, errlen, "analyze: --ipfix: %s", why);
			return open_failed(s, out,
					   xr == YG_EINVAL   ? SENSOR_USAGE
					   : xr == YG_ENOMEM ? SENSOR_FATAL
							     : SENSOR_OUTPUT);
		}
		if (s->pz.set != NULL)
			ipfix_exporter_set_protect(s->ipfix, pseudonymize, &s->pz);
		s->pcfg.flow_tap = ipfix_tap;
		s->pcfg.flow_tap_ctx = s->ipfix;
	}
	if (c->workers > 1) {
		if ((s->shared = pipeline_shared_new(c->detect_on ? &s->dcfg : NULL)) == NULL) {
			snprintf(err, errlen, "sensor: out of memory");
			return open_failed(s, out, SENSOR_FATAL);
		}
		s->pcfg.shared = s->shared;
		if (s->e != NULL)
			eve_set_lock(s->e, pipeline_shared_output_lock(s->shared));
	}
	if (s->e == NULL || (c->detect_on && s->sources == NULL) ||
	    (s->p = pipeline_new(&s->pcfg, s->e)) == NULL) {
		snprintf(err, errlen, "analyze: out of memory (try a smaller --max-flows)");
		return open_failed(s, out, SENSOR_FATAL);
	}
	/* Worker 0 is the pipeline above; the others write their own records
	 * to the same output, a whole buffer at a time. */
	for (i = 0; i < c->workers && s->ws != NULL; i++) {
		struct worker *w = &s->ws[i];
		if (i == 0) {
			w->cap = s->live_cap;
			w->p = s->p;
			w->e = s->e;
			continue;
		}
		if ((w->e = eve_new(s->out_fd)) == NULL || (w->p = pipeline_new(&s->pcfg, w->e)) == NULL) {
			snprintf(err, errlen,
				 "sensor: out of memory for worker %d (try a smaller --max-flows)", i);
			return open_failed(s, out, SENSOR_FATAL);
		}
		eve_set_lock(w->e, pipeline_shared_output_lock(s->shared));
		if (s->pz.set != NULL)
			eve_set_protect(w->e, pseudonymize, &s->pz);
		if (s->tees.post != NULL || s->tees.stream != NULL)
			eve_set_alert_tee(w->e, tee_to_posters, &s->tees);
		if (s->sf != NULL)
			eve_set_flow_tee(w->e, sensor_flows_tee, s->sf);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (s->feeds.handle != NULL || c->config_path != NULL) {
		if (reloader_start(s) != 0) {
			snprintf(err, errlen, "analyze: cannot start the intel reloader");
			return open_failed(s, out, SENSOR_FATAL);
		}
		s->reloader_on = 1;
	}
	if (s->monitor != NULL && monitor_poll_run(s->monitor) < 0) {
		snprintf(err, errlen, "analyze: cannot start the authorization poller");
		return open_failed(s, out, SENSOR_FATAL);
	}
	if (s->taxii != NULL && taxii_poll_run(s->taxii) < 0) {
		snprintf(err, errlen, "analyze: cannot start the TAXII poller");
		return open_failed(s, out, SENSOR_FATAL);
	}
	if (c->metrics_listen != NULL) {
		char why[256];
		if (sensor_metrics_start(c->metrics_listen, &s->sm, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: --metrics: %s", c->cmd, why);
			return open_failed(s, out, SENSOR_USAGE);
		}
		if (c->workers > 1 && sensor_metrics_workers(s->sm, c->workers) < 0) {
			snprintf(err, errlen, "%s: out of memory", c->cmd);
			return open_failed(s, out, SENSOR_FATAL);
		}
	}
	*out = s;
	return SENSOR_OK;
}

int sensor_run(struct sensor *s)
{
	const struct sensor_config *c = &s->cfg;
	struct pipeline_totals tot;
	int r;

	s->ran = 1;
	if (c->live && s->ws != NULL &&
	    (r = run_workers(s->ws, c->workers, s->shared, s->sm, c->live_opts.ifname, c->quiet)) != 0)
		s->rc = r;
	if (c->live && s->ws == NULL &&
	    analyze_live(s->p, s->live_cap, &c->live_opts, &s->cst, c->quiet, s->sm) != 0)
		s->rc = SENSOR_INPUT;
	if (s->coll != NULL) {
		if (!c->quiet)
			fprintf(stderr, "collect: listening on %s (UDP: NetFlow v5, v9, IPFIX); "
					"SIGINT or SIGTERM ends it\n",
				collector_address(s->coll));
		if (collector_run(s->coll, s->p, &stop_requested, s->sm) != 0)
			s->rc = SENSOR_INPUT;
	}
	for (int i = 0; i < c->nfiles && !stop_requested; i++) {
		if (analyze_file(s->p, c->files[i], c->progress) != 0)
			s->rc = SENSOR_INPUT;
		if (s->sm != NULL) {
			pipeline_totals(&s->p, 1, &tot);
			sensor_metrics_update(s->sm, &tot, NULL);
		}
		if (eve_error(s->e) != 0)
			break;
	}
	pipeline_finish(s->p);
	if (s->ipfix != NULL)
		ipfix_exporter_flush(s->ipfix);
	if (eve_flush(s->e) != 0) {
		log_warn("%s: write error", s->output);
		s->rc = SENSOR_OUTPUT;
	}
	if (c->sources_path != NULL && s->sources != NULL) {
		FILE *sf = fopen(c->sources_path, "w");
		if (sf == NULL ||
		    sources_write_json(s->sources, sf, s->pz.set ? pseudonymize : NULL, &s->pz) < 0 ||
		    fclose(sf) != 0) {
			log_warn("%s", c->sources_path);
			s->rc = SENSOR_OUTPUT;
		}
	}
	return s->rc;
}

void sensor_summary(struct sensor *s, FILE *out)
{
	const struct sensor_config *c = &s->cfg;
	struct pipeline_totals tot;
	struct eve_stats est;

	if (s->ws != NULL) {
		workers_sum(s->ws, c->workers, s->shared, &tot, &s->cst, &est);
	} else {
		pipeline_totals(&s->p, 1, &tot);
		est = *eve_stats(s->e);
	}
	print_summary(out, &tot, &est, s->sources, &s->pz, s->monitor != NULL, c->t0);
	for (int i = 0; s->ws != NULL && i < c->workers; i++)
		fprintf(out, "  worker %d: %llu packets, %llu flows, %llu dropped by the kernel\n", i,
			(unsigned long long)s->ws[i].snap.s.packets,
			(unsigned long long)s->ws[i].snap.f.created,
			(unsigned long long)s->ws[i].cst.dropped);
	if (s->coll != NULL)
		collector_summary(s->coll, s->p, out);
	if (s->ipfix != NULL)
		print_ipfix_summary(out, s->ipfix, c->ipfix_dest);
	if (c->live)
		fprintf(out,
			"  capture: %llu frames received, %llu dropped by the kernel (ring full), %llu "
			"by the interface\n",
			(unsigned long long)s->cst.received, (unsigned long long)s->cst.dropped,
			(unsigned long long)s->cst.if_dropped);
}

int sensor_close(struct sensor *s)
{
	const struct sensor_config *c;
	int rc;

	if (s == NULL)
		return SENSOR_OK;
	c = &s->cfg;
	rc = s->rc;
	if (s->ran && stop_requested && !c->live && s->coll == NULL)
		log_warnx("analyze: interrupted; records of what was read are written");
	if (s->ran && s->poster != NULL) {
		struct poster_stats ps;
		poster_finish(s->poster, c->post_wait, &ps);
		s->poster = NULL;
		if (!c->quiet)
			fprintf(stderr, "  post: %llu alerts spooled, %llu sent (%llu retries), %llu left in %s\n",
				(unsigned long long)ps.spooled, (unsigned long long)ps.sent,
				(unsigned long long)ps.retries, (unsigned long long)ps.left, c->spool);
		if (ps.left > 0) {
			log_warnx("post: %llu alerts wait in %s, not delivered: %s; the next run "
				  "sends them",
				  (unsigned long long)ps.left, c->spool,
				  ps.why[0] ? ps.why : "the tower did not take them in time");
			if (rc == SENSOR_OK)
				rc = SENSOR_UNSENT;
		}
	}
	if (s->ran && s->sf != NULL) {
		struct sensor_flows_stats fs;
		sensor_flows_finish(s->sf, c->post_wait, &fs);
		if (!c->quiet)
			fprintf(stderr,
				"  stream: %llu flow records, %llu published, %llu stored, %llu "
				"dropped, %llu failed\n",
				(unsigned long long)fs.taken, (unsigned long long)fs.sent,
				(unsigned long long)fs.stored, (unsigned long long)fs.dropped,
				(unsigned long long)fs.failed);
		if (fs.dropped + fs.failed > 0)
			log_warnx("stream: %llu of %llu flow records not stored (best effort: they "
				  "are not kept)",
				  (unsigned long long)(fs.dropped + fs.failed),
				  (unsigned long long)fs.taken);
	}
	if (s->ran && s->sposter != NULL) {
		struct poster_stats ps;
		struct stream_stats st;
		poster_finish(s->sposter, c->post_wait, &ps);
		s->sposter = NULL;
		sensor_stream_stats(s->ss, &st);
		if (!c->quiet)
			fprintf(stderr,
				"  stream: %llu alerts spooled, %llu published (%llu of them already "
				"in the stream), %llu retries, %llu left in %s\n",
				(unsigned long long)ps.spooled, (unsigned long long)ps.sent,
				(unsigned long long)st.duplicates, (unsigned long long)ps.retries,
				(unsigned long long)ps.left, s->stream_spool);
		if (ps.left > 0) {
			log_warnx("stream: %llu alerts wait in %s, not published: %s; the next run "
				  "publishes them",
				  (unsigned long long)ps.left, s->stream_spool,
				  ps.why[0] ? ps.why : "the stream did not take them in time");
			if (rc == SENSOR_OK)
				rc = SENSOR_UNSENT;
		}
	}
	return sensor_free(s, rc);
}
