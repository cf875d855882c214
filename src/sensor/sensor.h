/* sensor.h - the sensor's run-time: what `yagura analyze`, `yagura sensor`
 * and `yagura collect` do once their options are parsed.
 *
 * sensor_open() builds everything in the order that matters (the
 * interface or the collector's socket first: a sensor that cannot read has
 * nothing to do; the tower's authorizations and the TAXII collection
 * before any packet), sensor_run() reads capture files, an interface (with
 * one or N workers) or flow records until the input ends or SIGINT/SIGTERM,
 * sensor_summary() prints what was done, and sensor_close() hands the
 * spool over and frees it all. Every status is one of cli/cli.h's exit
 * codes (EXIT_*), as the commands document them. */
#ifndef YAGURA_SENSOR_SENSOR_H
#define YAGURA_SENSOR_SENSOR_H

#include <stdio.h>

#include "capture/capture.h"
#include "detect/detect.h"
#include "ipfix/ipfix.h"
#include "output/post.h"
#include "pipeline/pipeline.h"

/* The exit statuses the sensor's functions return (the values of
 * cli/cli.h's EXIT_*, which README.md documents). */
enum {
	SENSOR_OK = 0,
	SENSOR_USAGE = 1,   /* a bad option value */
	SENSOR_INPUT = 2,   /* an input (file, interface, socket, feed) failed */
	SENSOR_OUTPUT = 3,  /* the output could not be written */
	SENSOR_FATAL = 4,   /* out of memory or another internal failure */
	SENSOR_UNSENT = 5,  /* alerts wait in the spool */
	SENSOR_NOAUTH = 7,  /* the tower's authorizations could not be fetched at start */
	SENSOR_NOINTEL = 8  /* the TAXII collection could not be fetched at start */
};

#define SENSOR_MAX_INTEL_PATHS 64
#define SENSOR_MAX_WORKERS 64

/* Everything the options say. Strings are borrowed until sensor_close(). */
struct sensor_config {
	const char *cmd; /* "analyze", "sensor" or "collect": in messages */
	/* flow, meta and pair_wait_us are taken from here; the rest of the
	 * pipeline's configuration is what sensor_open() builds. */
	struct pipeline_config pipe;
	int detect_on;
	struct detect_config detect; /* its ics_allow borrowed */
	/* --config: read by sensor_open() and again on SIGHUP; NULL: none.
	 * What the command line set wins over it: the --detect assignments
	 * (detect_cli, applied after the file's), detect.ics_allow when not
	 * NULL, and intel_paths when there are any. */
	const char *config_path;
	const char *const *detect_cli;
	int n_detect_cli;
	char *const *files;          /* capture files (analyze) */
	int nfiles;
	const char *output;       /* NULL or "-": standard output */
	const char *sources_path; /* NULL: none */
	const char *protect_spec, *key_path;
	const char *intel_paths[SENSOR_MAX_INTEL_PATHS];
	int n_intel;
	const char *post_url; /* --tower/--post; NULL: none */
	const char *token;    /* for the tower and TAXII; "" with a client certificate */
	struct poster_tls tls;
	const char *spool; /* the tower's; the stream's is SPOOL/stream */
	unsigned post_wait, auth_poll;
	/* --stream (comma-separated nats:// URLs), --stream-sector and
	 * --stream-sensor; NULL: the --config file's [stream] settings, and
	 * for the sensor the host name. No URL anywhere: no stream. */
	const char *stream_urls, *stream_sector, *stream_sensor;
	int stream_flows; /* --stream-flows: flow records too (or [stream] flows = yes) */
	const char *taxii_url, *collection;
	unsigned intel_poll;
	const char *ipfix_dest;
	struct ipfix_config ipfix;
	int live; /* --interface: live_opts.ifname */
	struct capture_live_opts live_opts;
	int workers;
	const char *listen; /* --listen: a collector */
	const char *metrics_listen;
	int quiet, progress;
	double t0; /* the command's start, for the summary's time */
};

struct sensor;

/* Builds the sensor for cfg (copied). Returns SENSOR_OK and *out; or an
 * exit status with *out NULL, everything freed, and the reason in err as
 * one line for the caller to log (err is "" when it was logged already).
 * A start that could go on with a problem (an unreadable intel file) is
 * remembered as the status sensor_close() returns. Installs SIGINT and
 * SIGTERM handlers; blocks SIGHUP, which reloads the intel (and the
 * --config file). Call once per process. */
int sensor_open(const struct sensor_config *cfg, struct sensor **out, char *err,
		size_t errlen);

/* Reads every input to its end (files) or until SIGINT/SIGTERM (live,
 * collector), then ends every flow and flushes the outputs. Returns its
 * status so far (also kept for sensor_close()). */
int sensor_run(struct sensor *s);

/* The run's summary: packets, records, decode counters, alerts, sources,
 * per worker, collector, IPFIX and capture counters. */
void sensor_summary(struct sensor *s, FILE *out);

/* After a run: hands the spool to the tower (waiting up to post_wait),
 * then frees everything. Returns the exit status of the whole run. */
int sensor_close(struct sensor *s);

#endif
