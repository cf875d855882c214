/* every.c - see every.h. */
#include "base/every.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "base/alloc.h"

struct every {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	bool stop, wake;
	double first_s;
	every_fn fn;
	void *arg;
};

static void deadline(struct timespec *ts, double s)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	if (s <= 0)
		return;
	if (s > 86400.0 * 365)
		s = 86400.0 * 365;
	ts->tv_sec += (time_t)s;
	ts->tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *every_main(void *p)
{
	struct every *e = p;
	struct timespec until;
	double next = e->first_s;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		deadline(&until, next);
		while (!e->stop && !e->wake && next > 0 &&
		       pthread_cond_timedwait(&e->cv, &e->mu, &until) == 0)
			;
		if (e->stop)
			break;
		e->wake = false;
		pthread_mutex_unlock(&e->mu);
		next = e->fn(e->arg);
		pthread_mutex_lock(&e->mu);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

int every_start(struct every **out, double first_s, every_fn fn, void *arg)
{
	struct every *e = yg_calloc(1, sizeof(*e));
	pthread_condattr_t ca;

	*out = NULL;
	if (e == NULL)
		return YG_ENOMEM;
	e->first_s = first_s;
	e->fn = fn;
	e->arg = arg;
	pthread_mutex_init(&e->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&e->thread, NULL, every_main, e) != 0) {
		pthread_mutex_destroy(&e->mu);
		pthread_cond_destroy(&e->cv);
		free(e);
		return YG_ENOMEM;
	}
	*out = e;
	return 0;
}

void every_wake(struct every *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->mu);
	e->wake = true;
	pthread_cond_signal(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

void every_stop(struct every *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->mu);
	e->stop = true;
	pthread_cond_signal(&e->cv);
	pthread_mutex_unlock(&e->mu);
	pthread_join(e->thread, NULL);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cv);
	free(e);
}
