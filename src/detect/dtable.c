#include "detect/dtable.h"
#include "detect/detect_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

/* A slot: hash (0 = empty), last use, then the key and the value, each
 * padded to 8 bytes. */
struct slot_head {
	uint64_t hash;
	uint64_t last_us;
};

struct dtable {
	uint8_t *slots;
	size_t slot_size;
	size_t key_size;
	size_t val_off;
	size_t val_size;
	uint64_t set_mask;
	struct dtable_stats stats;
};

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

struct dtable *dtable_new(size_t capacity, size_t key_size, size_t val_size)
{
	struct dtable *t = yg_calloc(1, sizeof(*t));
	size_t sets = 1;

	if (t == NULL)
		return NULL;
	while (sets * DTABLE_WAYS < capacity)
		sets <<= 1;
	t->key_size = key_size;
	t->val_off = sizeof(struct slot_head) + round8(key_size);
	t->val_size = val_size;
	t->slot_size = t->val_off + round8(val_size);
	t->set_mask = sets - 1;
	t->slots = yg_calloc(sets * DTABLE_WAYS, t->slot_size);
	if (t->slots == NULL) {
		free(t);
		return NULL;
	}
	t->stats.capacity = sets * DTABLE_WAYS;
	t->stats.bytes = sets * DTABLE_WAYS * t->slot_size;
	return t;
}

void dtable_free(struct dtable *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t);
}

const struct dtable_stats *dtable_stats(const struct dtable *t)
{
	return &t->stats;
}

static uint64_t hash_key(const void *key, size_t n)
{
	return hash_bytes(key, n) | 1; /* 0 marks an empty slot */
}

static uint8_t *set_of(const struct dtable *t, uint64_t h)
{
	return t->slots + ((h >> 8) & t->set_mask) * DTABLE_WAYS * t->slot_size;
}

void *dtable_find(struct dtable *t, const void *key, uint64_t now_us)
{
	uint64_t h = hash_key(key, t->key_size);
	uint8_t *set = set_of(t, h);

	for (int w = 0; w < DTABLE_WAYS; w++) {
		uint8_t *s = set + (size_t)w * t->slot_size;
		struct slot_head *hd = (struct slot_head *)s;
		if (hd->hash == h && memcmp(s + sizeof(*hd), key, t->key_size) == 0) {
			if (now_us > hd->last_us)
				hd->last_us = now_us;
			return s + t->val_off;
		}
	}
	return NULL;
}

void *dtable_get(struct dtable *t, const void *key, uint64_t now_us, int *is_new)
{
	uint64_t h = hash_key(key, t->key_size);
	uint8_t *set = set_of(t, h), *victim = NULL;
	uint64_t oldest = UINT64_MAX;

	*is_new = 0;
	for (int w = 0; w < DTABLE_WAYS; w++) {
		uint8_t *s = set + (size_t)w * t->slot_size;
		struct slot_head *hd = (struct slot_head *)s;
		if (hd->hash == h && memcmp(s + sizeof(*hd), key, t->key_size) == 0) {
			if (now_us > hd->last_us)
				hd->last_us = now_us;
			return s + t->val_off;
		}
		if (hd->hash == 0) {
			if (oldest != 0) {
				victim = s;
				oldest = 0;
			}
		} else if (hd->last_us < oldest) {
			victim = s;
			oldest = hd->last_us;
		}
	}
	if (((struct slot_head *)victim)->hash != 0)
		t->stats.evictions++;
	t->stats.inserts++;
	memset(victim, 0, t->slot_size);
	((struct slot_head *)victim)->hash = h;
	((struct slot_head *)victim)->last_us = now_us;
	memcpy(victim + sizeof(struct slot_head), key, t->key_size);
	*is_new = 1;
	return victim + t->val_off;
}
