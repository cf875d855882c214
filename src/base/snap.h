/* snap.h - publishing immutable snapshots to reader threads.
 *
 * A snapshot (a scope, a feed, a config) embeds struct snap_ref and is
 * built whole by one thread. snap_handle_publish() swaps it in with one
 * atomic pointer store; readers snap_handle_acquire() it once per batch of
 * work and snap_release() it, and the last release frees it through the
 * free function it was initialized with. Readers never wait and take no
 * lock; publishers are serialized and wait only for readers that are in
 * the middle of acquiring (a few instructions), never for holders. */
#ifndef YAGURA_BASE_SNAP_H
#define YAGURA_BASE_SNAP_H

#include <stdatomic.h>
#include <stddef.h>

struct snap_ref {
	atomic_uint refs;
	void (*free_fn)(struct snap_ref *r); /* frees the snapshot r is part of */
};

struct snap_handle;

/* Sets r up for a new snapshot with one reference, the builder's; free_fn
 * frees the enclosing snapshot when the last reference goes. */
void snap_ref_init(struct snap_ref *r, void (*free_fn)(struct snap_ref *r));

/* Drops a reference; the last one frees the snapshot. NULL is a no-op.
 * Thread-safe. */
void snap_release(struct snap_ref *r);

/* Creates a handle publishing nothing yet. NULL on allocation failure. */
struct snap_handle *snap_handle_new(void);

/* Releases the published snapshot and frees the handle. No thread may be
 * acquiring from it any more. NULL is a no-op. */
void snap_handle_free(struct snap_handle *h);

/* Makes r (may be NULL) the current snapshot, taking over the caller's
 * reference, and releases the previous one. Thread-safe. */
void snap_handle_publish(struct snap_handle *h, struct snap_ref *r);

/* Returns the current snapshot with a reference for the caller, or NULL
 * when none is published. Lock-free; meant for once per batch, not per
 * item. */
struct snap_ref *snap_handle_acquire(struct snap_handle *h);

#endif
