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
	uint32_t hits;
	uint32_t pad;
};

struct dtable {
	uint8_t *slots;
	size_t slot_size;
	size_t key_size;
	size_t val_off;
	size_t val_size;
	uint64_t set_mask;
	uint64_t age_us;
	uint8_t *freq;      /* uses per key hash: two rows, saturating */
	uint64_t freq_mask;
	uint64_t freq_events; /* counted since the sketch was last halved */
	struct dtable_stats stats;
};

#define FREQ_PER_SLOT 4 /* sketch counters per record slot */

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
	t->age_us = 60ULL * 1000000;
	t->freq_mask = sets * DTABLE_WAYS * FREQ_PER_SLOT - 1;
	t->slots = yg_calloc(sets * DTABLE_WAYS, t->slot_size);
	t->freq = yg_calloc(t->freq_mask + 1, 1);
	if (t->slots == NULL || t->freq == NULL) {
		free(t->slots);
		free(t->freq);
		free(t);
		return NULL;
	}
	t->stats.capacity = sets * DTABLE_WAYS;
	t->stats.bytes = sets * DTABLE_WAYS * t->slot_size + t->freq_mask + 1;
	return t;
}

void dtable_set_age(struct dtable *t, uint64_t age_us)
{
	t->age_us = age_us ? age_us : 1;
}

void dtable_free(struct dtable *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t->freq);
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

/* Counts a use of hash h in the sketch (count-min over two counters,
 * conservative update); returns the key's uses so far. Every ten uses per
 * record slot the sketch halves, so that what it remembers is recent and a
 * flood cannot saturate it. */
static uint32_t freq_count(struct dtable *t, uint64_t h)
{
	uint8_t *a = &t->freq[(h >> 40) & t->freq_mask];
	uint8_t *b = &t->freq[(h >> 20) & t->freq_mask];
	uint8_t m = *a < *b ? *a : *b;

	if (++t->freq_events >= (t->freq_mask + 1) / FREQ_PER_SLOT * 10) {
		for (uint64_t i = 0; i <= t->freq_mask; i++)
			t->freq[i] >>= 1;
		t->freq_events = 0;
		m = *a < *b ? *a : *b;
	}
	if (m < 255) {
		if (*a == m)
			(*a)++;
		if (*b == m)
			(*b)++;
		m++;
	}
	return m;
}

/* A record's worth when choosing what to evict: its uses, halved per age
 * period it has been idle. */
static uint32_t worth(const struct dtable *t, const struct slot_head *hd, uint64_t now_us)
{
	uint64_t idle = now_us > hd->last_us ? (now_us - hd->last_us) / t->age_us : 0;

	return idle >= 32 ? 0 : hd->hits >> idle;
}

void *dtable_get(struct dtable *t, const void *key, uint64_t now_us, int *is_new)
{
	uint64_t h = hash_key(key, t->key_size);
	uint8_t *set = set_of(t, h), *victim = NULL;
	uint32_t least = UINT32_MAX, uses = freq_count(t, h), wv;
	uint64_t oldest = UINT64_MAX;

	*is_new = 0;
	for (int w = 0; w < DTABLE_WAYS; w++) {
		uint8_t *s = set + (size_t)w * t->slot_size;
		struct slot_head *hd = (struct slot_head *)s;
		if (hd->hash == h && memcmp(s + sizeof(*hd), key, t->key_size) == 0) {
			if (now_us > hd->last_us)
				hd->last_us = now_us;
			if (hd->hits < UINT32_MAX)
				hd->hits++;
			return s + t->val_off;
		}
		if (hd->hash == 0) {
			if (least != 0 || oldest != 0) {
				victim = s;
				least = 0;
				oldest = 0;
			}
			continue;
		}
		wv = worth(t, hd, now_us);
		if (wv < least || (wv == least && hd->last_us < oldest)) {
			victim = s;
			least = wv;
			oldest = hd->last_us;
		}
	}
	if (((struct slot_head *)victim)->hash != 0)
		t->stats.evictions++;
	t->stats.inserts++;
	memset(victim, 0, t->slot_size);
	((struct slot_head *)victim)->hash = h;
	((struct slot_head *)victim)->last_us = now_us;
	((struct slot_head *)victim)->hits = uses;
	memcpy(victim + sizeof(struct slot_head), key, t->key_size);
	*is_new = 1;
	return victim + t->val_off;
}
