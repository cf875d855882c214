/* jobs.c - the tower's background work, run once across the towers on one
 * store (store_job_take(), store.h): each pass of the log's sequencer, the
 * cases' activation and expiry, the sightings, retention, the source
 * summary and each partner's pull is a job, taken before it runs and
 * skipped when another tower holds it or, for those with an interval,
 * ran it less than an interval ago. What every tower must do for itself
 * (its countermeasure files, waking its own long polls) is not a job.
 * Correctness does not rest on the hold: each job's writes check that
 * nothing moved under them (the log's seq, the summary's watermark, the
 * partners' cursors, the cases' states); the hold saves the work that
 * would be thrown away, and keeps a partner from being pulled by every
 * tower. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "tower/tower_int.h"

static const char *const job_labels[TW_JOB_COUNT] = {
	[TW_JOB_LOG] = "job=\"log\"",
	[TW_JOB_CASES] = "job=\"cases\"",
	[TW_JOB_SIGHTINGS] = "job=\"sightings\"",
	[TW_JOB_RETENTION] = "job=\"retention\"",
	[TW_JOB_SOURCES] = "job=\"sources\"",
	[TW_JOB_PARTNERS] = "job=\"partners\"",
};

static const char *const job_names[TW_JOB_COUNT] = {
	[TW_JOB_LOG] = "log",		    [TW_JOB_CASES] = "cases",
	[TW_JOB_SIGHTINGS] = "sightings",   [TW_JOB_RETENTION] = "retention",
	[TW_JOB_SOURCES] = "sources",	    [TW_JOB_PARTNERS] = "partners",
};

void tw_jobs_init(struct tower *t)
{
	struct http_metrics *m = http_server_metrics(t->srv);
	char host[64] = "";

	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "?");
	snprintf(t->who, sizeof(t->who), "%s/%ld", host, (long)getpid());
	for (int i = 0; i < TW_JOB_COUNT; i++) {
		t->jobs_run[i] = http_metrics_counter(
			m, "yagura_jobs_runs_total", job_labels[i],
			"background job runs by this tower (each runs in one tower at a time)");
		t->jobs_skipped[i] = http_metrics_counter(
			m, "yagura_jobs_skipped_total", job_labels[i],
			"background job turns left to another tower: held, or run within its "
			"interval");
	}
}

int tw_job_run(struct tower *t, enum tw_job kind, const char *name, double every_s,
	       int (*fn)(void *arg), void *arg, bool *ran)
{
	struct store_job *j = NULL;
	int rc = store_job_take(t->st, name ? name : job_names[kind], every_s, t->who, &j);

	if (ran != NULL)
		*ran = rc == 1;
	if (rc <= 0) {
		if (rc == 0 && t->jobs_skipped[kind] != NULL)
			http_metric_add(t->jobs_skipped[kind], 1);
		if (rc < 0)
			log_warnx("tower: job %s: cannot take it: %s", name ? name : job_names[kind],
				  yg_strerror(rc));
		return rc;
	}
	rc = fn(arg);
	store_job_done(j);
	if (t->jobs_run[kind] != NULL)
		http_metric_add(t->jobs_run[kind], 1);
	return rc;
}
