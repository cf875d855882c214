/* dtable.h - a fixed-size, set-associative table for detector state.
 *
 * A detector keys small records (per source, per victim, per pair) in a
 * table whose memory is fixed at creation: a flood of spoofed sources can
 * make it forget, never grow. Each key hashes to a set of DTABLE_WAYS
 * slots; inserting into a full set evicts (counted) the slot with the
 * fewest uses, its count halved for every age period it has been idle,
 * the least recently used among equals. A key's uses are also counted in
 * a small frequency sketch that outlives its record (TinyLFU's idea), so a
 * key that keeps coming back enters with its history, while a forged
 * address seen once or twice can only ever displace others like it.
 * Single-threaded. */
#ifndef YAGURA_DETECT_DTABLE_H
#define YAGURA_DETECT_DTABLE_H

#include <stddef.h>
#include <stdint.h>

#define DTABLE_WAYS 8

struct dtable;

/* Creates a table of at least `capacity` records of val_size bytes keyed
 * by key_size bytes. Returns NULL on allocation failure. */
struct dtable *dtable_new(size_t capacity, size_t key_size, size_t val_size);
void dtable_free(struct dtable *t);

/* The period after which an idle record's use count halves (default
 * 60 s; detectors pass their window). The frequency sketch ages by use
 * instead: it halves every ten uses per record slot. */
void dtable_set_age(struct dtable *t, uint64_t age_us);

/* Records are zeroed on insertion up to the table's zero length (the
 * whole value unless set lower): a detector whose record ends in arrays
 * with a count before them can leave the arrays unwritten, which spares
 * writing cold cache lines for every new key. */
void dtable_set_zero(struct dtable *t, size_t val_bytes);

/* Returns the record for key, inserting a zeroed one if absent (*is_new
 * set), evicting the set's least recently used record if needed. The
 * pointer is valid until the next dtable_get. Never fails. */
void *dtable_get(struct dtable *t, const void *key, uint64_t now_us, int *is_new);

/* Returns the record for key, or NULL; does not insert. */
void *dtable_find(struct dtable *t, const void *key, uint64_t now_us);

struct dtable_stats {
	uint64_t inserts;
	uint64_t evictions;
	uint64_t evictions_rare; /* of records used at most twice (a forged address's lot) */
	size_t capacity;
	size_t bytes;
};
const struct dtable_stats *dtable_stats(const struct dtable *t);

#endif
