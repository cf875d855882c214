/* alloc.h - every allocation in yagura goes through these wrappers, so that
 * tests can make the Nth allocation fail (yg_alloc_fail_after). */
#ifndef YAGURA_BASE_ALLOC_H
#define YAGURA_BASE_ALLOC_H

#include <stddef.h>

void *yg_malloc(size_t n);
void *yg_calloc(size_t nmemb, size_t size);
void *yg_realloc(void *p, size_t n);

/* How many allocations through these wrappers have failed on this thread:
 * a caller compares it before and after a library call, to tell the
 * library's "out of memory" from a verdict on its input where the library
 * does not (jansson reports a string it could not copy as a syntax error).
 * It only grows, so that nested callers each see their own. */
unsigned long yg_alloc_failed_here(void);

/* Test hooks, for the allocation-failure sweeps (tests/unit/sweep): after n
 * more successful allocations, every allocation fails (persistently), or
 * only the next one does (yg_alloc_fail_once), in every thread. A negative
 * n switches failure injection off. The counter is atomic, so threads may
 * allocate while it runs; which of them meets the failure is theirs to
 * race for. */
void yg_alloc_fail_after(long n);
void yg_alloc_fail_once(long n);

/* The allocations refused since failures were last switched on (a
 * negative n switches them off and keeps the count): a sweep over N ends at
 * the first N that refused none. */
long yg_alloc_failures(void);

/* Whether the allocation about to be made is to fail, counting it: what
 * the wrappers ask, for a test's hooks into libraries' own allocators
 * (jansson's json_set_alloc_funcs, SQLite's SQLITE_CONFIG_MALLOC). */
int yg_alloc_fail_now(void);

#endif
