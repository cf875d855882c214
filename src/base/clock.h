/* clock.h - seconds on the monotonic clock, for intervals and timeouts. */
#ifndef YAGURA_BASE_CLOCK_H
#define YAGURA_BASE_CLOCK_H

#include <time.h>

static inline double yg_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
