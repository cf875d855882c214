/* store_job.c - jobs that several towers on one store run once (store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "store/store_int.h"

#define JOB_NAME_MAX 64

struct store_job {
	struct store *st;
	struct store_conn *c; /* holding it (PostgreSQL); NULL otherwise */
	int32_t key;
	int interval;	      /* recorded in the jobs table */
	char name[JOB_NAME_MAX];
};

/* FNV-1a: the advisory lock's key. Two names that collide share a lock,
 * which costs a turn now and then, never a double run. */
static int32_t job_key(const char *name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return (int32_t)h;
}

/* 1 when the last run by anyone ended every_s ago or more (or never). */
static int job_due(struct store_conn *c, const char *name, double every_s)
{
	struct store_param ps[] = {store_text(name)};
	struct store_res *r = NULL;
	int rc = store_exec(c, "SELECT ended FROM jobs WHERE name = ?", ps, 1, &r, NULL);

	if (rc < 0)
		return rc;
	rc = 1;
	if (store_res_nrows(r) == 1 && !store_res_isnull(r, 0, 0) &&
	    (double)(yg_wall_us() - store_res_int64(r, 0, 0)) < every_s * 1e6)
		rc = 0;
	store_res_free(r);
	return rc;
}

static int job_started(struct store_conn *c, const char *name, const char *who)
{
	struct store_param ps[] = {store_text(name), store_text(who), store_int64(yg_wall_us())};

	return store_exec(c,
			  "INSERT INTO jobs (name, tower, started, ended, runs) VALUES (?, ?, ?, "
			  "NULL, 0) ON CONFLICT (name) DO UPDATE SET tower = excluded.tower, "
			  "started = excluded.started",
			  ps, 3, NULL, NULL);
}

int store_job_take(struct store *st, const char *name, double every_s, const char *who,
		   struct store_job **out)
{
	struct store_job *j;
	struct store_conn *c = NULL;
	int rc = 1;

	*out = NULL;
	if (strlen(name) >= JOB_NAME_MAX)
		return YG_EINVAL;
	if ((j = yg_calloc(1, sizeof(*j))) == NULL)
		return YG_ENOMEM;
	j->st = st;
	j->key = job_key(name);
	j->interval = every_s > 0;
	snprintf(j->name, sizeof(j->name), "%s", name);
	if (st->ops->job_hold == NULL && !j->interval) {
		*out = j;
		return 1;
	}
	if ((rc = store_conn_get(st, &c)) < 0) {
		free(j);
		return rc;
	}
	if (st->ops->job_hold != NULL && (rc = st->ops->job_hold(c, j->key)) <= 0) {
		/* An error may have come after the server took the hold
		 * (the answer could not be read): a session kept in the pool
		 * would hold the job for ever, and no tower would run it. */
		if (rc < 0)
			store_conn_drop(c);
		else
			store_conn_put(c);
		free(j);
		return rc;
	}
	if (j->interval && ((rc = job_due(c, name, every_s)) <= 0 ||
			    (rc = job_started(c, name, who ? who : "")) < 0)) {
		if (st->ops->job_release != NULL && st->ops->job_release(c, j->key) < 0)
			store_conn_drop(c);
		else
			store_conn_put(c);
		free(j);
		return rc;
	}
	if (st->ops->job_hold != NULL) {
		j->c = c; /* the hold lives on this session */
	} else {
		store_conn_put(c);
	}
	*out = j;
	return 1;
}

void store_job_done(struct store_job *j)
{
	struct store_conn *c = j->c;

	if (j->interval && (c != NULL || store_conn_get(j->st, &c) == 0)) {
		struct store_param ps[] = {store_int64(yg_wall_us()), store_text(j->name)};

		if (store_exec(c, "UPDATE jobs SET ended = ?, runs = runs + 1 WHERE name = ?", ps, 2,
			       NULL, NULL) < 0) {
			/* The last end stays as it was: the next try runs it
			 * again, which jobs are made to bear. */
		}
	}
	if (j->c != NULL && j->st->ops->job_release != NULL && j->st->ops->job_release(j->c, j->key) < 0)
		store_conn_drop(c); /* as in store_job_take */
	else if (c != NULL)
		store_conn_put(c);
	free(j);
}
