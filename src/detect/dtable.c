#include "detect/dtable.h"
#include "detect/detect_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

/* A slot: the key and the value, each padded to 8 bytes. What a lookup
 * and an eviction read of every slot of a set lives apart, the set's eight
 * in two cache lines (struct meta), so that neither touches eight slots. */
struct meta {
	uint64_t tag;    /* the key's hash, 0 when the slot is empty */
	uint32_t hits;   /* uses */
	uint32_t last_s; /* last use, seconds of capture time */
};

struct dtable {
	uint8_t *slots;
	struct meta *meta; /* DTABLE_WAYS per set */
	size_t slot_size;
	size_t key_size;
	size_t val_off;
	size_t val_size;
	size_t zero_size; /* of a slot, zeroed on insertion: key and value's head */
	uint64_t set_mask;
	uint32_t age_s;
	uint8_t *freq; /* uses per key hash: FREQ_PER_SLOT per slot, two per key */
	uint64_t freq_mask;
	uint64_t freq_events; /* counted since the sketch was last halved */
	struct dtable_stats stats;
};

#define FREQ_PER_SLOT 4

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
	t->val_off = round8(key_size);
	t->val_size = val_size;
	t->slot_size = t->val_off + round8(val_size);
	t->zero_size = t->slot_size;
	t->set_mask = sets - 1;
	t->age_s = 60;
	t->freq_mask = sets * DTABLE_WAYS * FREQ_PER_SLOT - 1;
	t->slots = yg_calloc(sets * DTABLE_WAYS, t->slot_size);
	t->meta = yg_calloc(sets * DTABLE_WAYS, sizeof(struct meta));
	t->freq = yg_calloc(t->freq_mask + 1, 1);
	if (t->slots == NULL || t->meta == NULL || t->freq == NULL) {
		free(t->slots);
		free(t->meta);
		free(t->freq);
		free(t);
		return NULL;
	}
	t->stats.capacity = sets * DTABLE_WAYS;
	t->stats.bytes = sets * DTABLE_WAYS * (t->slot_size + sizeof(struct meta)) + t->freq_mask + 1;
	return t;
}

void dtable_set_zero(struct dtable *t, size_t val_bytes)
{
	if (val_bytes < t->val_size)
		t->zero_size = t->val_off + val_bytes;
}

void dtable_set_age(struct dtable *t, uint64_t age_us)
{
	t->age_s = age_us >= 1000000 ? (uint32_t)(age_us / 1000000) : 1;
}

void dtable_free(struct dtable *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t->meta);
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

static uint64_t set_index(const struct dtable *t, uint64_t h)
{
	return (h >> 8) & t->set_mask;
}

static uint32_t secs(uint64_t us)
{
	return (uint32_t)(us / 1000000);
}

/* Counts a use of hash h in the sketch (count-min over two counters,
 * conservative update); returns the key's uses so far. Every ten uses per
 * record slot the sketch halves, so that what it remembers is recent and a
 * flood cannot saturate it. */
static uint32_t freq_count(struct dtable *t, uint64_t h)
{
	uint8_t *a = &t->freq[(h >> 40) & t->freq_mask];
	uint8_t *b = &t->freq[(h >> 20) & t->freq_mask];
	uint8_t m;

	if (++t->freq_events >= (t->freq_mask + 1) / FREQ_PER_SLOT * 10) {
		for (uint64_t i = 0; i <= t->freq_mask; i++)
			t->freq[i] >>= 1;
		t->freq_events = 0;
	}
	m = *a < *b ? *a : *b;
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
static uint32_t worth(const struct dtable *t, const struct meta *m, uint32_t now_s)
{
	uint32_t idle = now_s > m->last_s ? now_s - m->last_s : 0;

	if (idle < t->age_s)
		return m->hits;
	idle /= t->age_s;
	return idle >= 32 ? 0 : m->hits >> idle;
}

void *dtable_find(struct dtable *t, const void *key, uint64_t now_us)
{
	uint64_t h = hash_key(key, t->key_size), set = set_index(t, h);
	struct meta *m = t->meta + set * DTABLE_WAYS;
	uint8_t *base = t->slots + set * DTABLE_WAYS * t->slot_size;

	for (int w = 0; w < DTABLE_WAYS; w++) {
		uint8_t *s = base + (size_t)w * t->slot_size;
		if (m[w].tag == h && memcmp(s, key, t->key_size) == 0) {
			if (secs(now_us) > m[w].last_s)
				m[w].last_s = secs(now_us);
			return s + t->val_off;
		}
	}
	return NULL;
}

void *dtable_get(struct dtable *t, const void *key, uint64_t now_us, int *is_new)
{
	uint64_t h = hash_key(key, t->key_size), set = set_index(t, h);
	struct meta *m = t->meta + set * DTABLE_WAYS;
	uint8_t *base = t->slots + set * DTABLE_WAYS * t->slot_size, *victim;
	uint32_t least = UINT32_MAX, oldest = UINT32_MAX, now_s = secs(now_us), uses, wv;
	int vw = 0;

	*is_new = 0;
	for (int w = 0; w < DTABLE_WAYS; w++) {
		uint8_t *s = base + (size_t)w * t->slot_size;
		if (m[w].tag == h && memcmp(s, key, t->key_size) == 0) {
			if (now_s > m[w].last_s)
				m[w].last_s = now_s;
			if (m[w].hits < UINT32_MAX)
				m[w].hits++;
			freq_count(t, h);
			return s + t->val_off;
		}
	}
	/* A miss: an empty slot, or the one worth least (the least recently
	 * used among equals). */
	uses = freq_count(t, h);
	for (int w = 0; w < DTABLE_WAYS; w++) {
		if (m[w].tag == 0) {
			vw = w;
			break;
		}
		wv = worth(t, &m[w], now_s);
		if (wv < least || (wv == least && m[w].last_s < oldest)) {
			vw = w;
			least = wv;
			oldest = m[w].last_s;
		}
	}
	if (m[vw].tag != 0) {
		t->stats.evictions++;
		t->stats.evictions_rare += m[vw].hits <= 2;
	}
	t->stats.inserts++;
	victim = base + (size_t)vw * t->slot_size;
	memset(victim, 0, t->zero_size);
	m[vw].tag = h;
	m[vw].hits = uses;
	m[vw].last_s = now_s;
	memcpy(victim, key, t->key_size);
	*is_new = 1;
	return victim + t->val_off;
}
