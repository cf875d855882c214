#include "base/alloc.h"

#include <stdlib.h>

static long alloc_budget = -1;

static int alloc_should_fail(void)
{
	if (alloc_budget < 0)
		return 0;
	if (alloc_budget == 0)
		return 1;
	alloc_budget--;
	return 0;
}

void yg_alloc_fail_after(long n)
{
	alloc_budget = n;
}

void *yg_malloc(size_t n)
{
	return alloc_should_fail() ? NULL : malloc(n);
}

void *yg_calloc(size_t nmemb, size_t size)
{
	return alloc_should_fail() ? NULL : calloc(nmemb, size);
}

void *yg_realloc(void *p, size_t n)
{
	return alloc_should_fail() ? NULL : realloc(p, n);
}
