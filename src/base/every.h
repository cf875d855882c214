/* every.h - a thread that runs a function every so often until stopped:
 * the sensor's pollers, the tower's pass over cases and the partners'
 * pulls. A wake runs it at once; a stop waits for a run under way to end
 * and then for nothing. */
#ifndef YAGURA_BASE_EVERY_H
#define YAGURA_BASE_EVERY_H

#include "base/err.h"

struct every;

/* fn(arg) returns the seconds until its next run (0 or less: at once, as
 * long as it is not stopped). Runs it first after first_s seconds (0: at
 * once). Returns 0, or YG_ENOMEM when no thread could be made. */
typedef double (*every_fn)(void *arg);
int every_start(struct every **out, double first_s, every_fn fn, void *arg) YG_MUST_CHECK;

/* Runs fn now (after the run under way, if any). Thread-safe. */
void every_wake(struct every *e);

/* Stops the thread after the run under way and frees e. NULL is a no-op. */
void every_stop(struct every *e);

#endif
