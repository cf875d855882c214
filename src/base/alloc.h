/* alloc.h - every allocation in yagura goes through these wrappers, so that
 * tests can make the Nth allocation fail (yg_alloc_fail_after). */
#ifndef YAGURA_BASE_ALLOC_H
#define YAGURA_BASE_ALLOC_H

#include <stddef.h>

void *yg_malloc(size_t n);
void *yg_calloc(size_t nmemb, size_t size);
void *yg_realloc(void *p, size_t n);

/* Test hook: after n more successful allocations, every allocation fails.
 * Negative n switches failure injection off. Not thread-safe. */
void yg_alloc_fail_after(long n);

#endif
