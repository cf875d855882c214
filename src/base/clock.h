/* clock.h - seconds on the monotonic clock, for intervals and timeouts;
 * microseconds on the wall clock, for times that are dates. */
#ifndef YAGURA_BASE_CLOCK_H
#define YAGURA_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline double yg_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int64_t yg_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
