#include "base/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Allocations left before failures start; negative: never. */
static _Atomic long alloc_budget = -1;
static _Atomic int alloc_once;
static _Atomic long alloc_refused;
static _Thread_local unsigned long alloc_failed_here;

static void *seen(void *p, size_t n)
{
	if (p == NULL && n > 0)
		alloc_failed_here++;
	return p;
}

unsigned long yg_alloc_failed_here(void)
{
	return alloc_failed_here;
}

int yg_alloc_fail_now(void)
{
	long b = atomic_load_explicit(&alloc_budget, memory_order_relaxed);

	while (b > 0) /* count this allocation against the budget */
		if (atomic_compare_exchange_weak(&alloc_budget, &b, b - 1))
			return 0;
	if (b < 0)
		return 0;
	/* b == 0: this one fails; once only, when so asked. */
	if (atomic_load(&alloc_once)) {
		long zero = 0;
		if (!atomic_compare_exchange_strong(&alloc_budget, &zero, -1))
			return yg_alloc_fail_now();
	}
	atomic_fetch_add(&alloc_refused, 1);
	return 1;
}

/* Switching off keeps the count of refusals, for the caller to read. */
static void arm(long n, int once)
{
	atomic_store(&alloc_budget, -1);
	if (n < 0)
		return;
	atomic_store(&alloc_once, once);
	atomic_store(&alloc_refused, 0);
	atomic_store(&alloc_budget, n);
}

void yg_alloc_fail_after(long n)
{
	arm(n, 0);
}

void yg_alloc_fail_once(long n)
{
	arm(n, 1);
}

long yg_alloc_failures(void)
{
	return atomic_load(&alloc_refused);
}

void *yg_malloc(size_t n)
{
	return seen(yg_alloc_fail_now() ? NULL : malloc(n), n);
}

void *yg_calloc(size_t nmemb, size_t size)
{
	return seen(yg_alloc_fail_now() ? NULL : calloc(nmemb, size), nmemb * size);
}

void *yg_realloc(void *p, size_t n)
{
	return seen(yg_alloc_fail_now() ? NULL : realloc(p, n), n);
}
