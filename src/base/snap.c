/* snap.c - the publish/acquire protocol of snap.h.
 *
 * A reader announces itself in one of two counters (picked by the epoch's
 * parity), loads the current pointer, takes a reference and leaves. A
 * publisher swaps the pointer, flips the epoch and waits until the counter
 * of the epoch it closed drains: after that, every reader that could have
 * loaded the old pointer holds a reference on it, and dropping the
 * handle's own reference is safe. New readers count in the other counter,
 * so a steady stream of them cannot hold a publisher up; a reader that saw
 * the epoch change under it retries. (The same protocol as intel's
 * handle, src/intel/lookup.c, which predates this one.) */
#include "base/snap.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "base/alloc.h"

struct snap_handle {
	_Atomic(struct snap_ref *) cur;
	atomic_uint epoch;
	atomic_uint active[2];
	pthread_mutex_t lock; /* serializes publishers */
};

void snap_ref_init(struct snap_ref *r, void (*free_fn)(struct snap_ref *r))
{
	atomic_init(&r->refs, 1);
	r->free_fn = free_fn;
}

void snap_release(struct snap_ref *r)
{
	if (r == NULL)
		return;
	if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return;
	r->free_fn(r);
}

struct snap_handle *snap_handle_new(void)
{
	struct snap_handle *h = yg_calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h);
		return NULL;
	}
	atomic_init(&h->cur, NULL);
	atomic_init(&h->epoch, 0);
	atomic_init(&h->active[0], 0);
	atomic_init(&h->active[1], 0);
	return h;
}

void snap_handle_free(struct snap_handle *h)
{
	if (h == NULL)
		return;
	snap_release(atomic_load(&h->cur));
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void snap_handle_publish(struct snap_handle *h, struct snap_ref *r)
{
	struct snap_ref *old;
	unsigned e;

	pthread_mutex_lock(&h->lock);
	old = atomic_exchange(&h->cur, r);
	e = atomic_fetch_add(&h->epoch, 1);
	while (atomic_load(&h->active[e & 1]) != 0)
		sched_yield();
	pthread_mutex_unlock(&h->lock);
	snap_release(old);
}

struct snap_ref *snap_handle_acquire(struct snap_handle *h)
{
	struct snap_ref *r;
	unsigned e;

	for (;;) {
		e = atomic_load(&h->epoch);
		atomic_fetch_add(&h->active[e & 1], 1);
		if (atomic_load(&h->epoch) == e)
			break;
		atomic_fetch_sub(&h->active[e & 1], 1);
	}
	r = atomic_load(&h->cur);
	if (r != NULL)
		atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
	atomic_fetch_sub(&h->active[e & 1], 1);
	return r;
}
