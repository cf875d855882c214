/* arena.c - per-request memory: bump allocation over an inline first block
 * and malloc'd chunks, freed in one call when the request completes. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "http/http_int.h"

#define ARENA_ALIGN 16
#define ARENA_CHUNK 8192

struct http_arena_chunk {
	struct http_arena_chunk *next;
	size_t size;
	_Alignas(16) char data[];
};

struct http_arena_defer {
	struct http_arena_defer *next;
	void (*fn)(void *);
	void *p;
};

void http_arena_init(struct http_arena *a, void *buf, size_t len, size_t limit)
{
	uintptr_t p = (uintptr_t)buf;
	uintptr_t q = (p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);

	memset(a, 0, sizeof(*a));
	a->limit = limit;
	if (buf != NULL && len > q - p) {
		a->cur = (char *)q;
		a->end = (char *)p + len;
	}
}

void *http_arena_alloc(struct http_arena *a, size_t n)
{
	struct http_arena_chunk *c;
	size_t want, avail;
	char *r;

	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (n == 0)
		n = ARENA_ALIGN;
	avail = a->cur != NULL ? (size_t)(a->end - a->cur) : 0;
	if (n <= avail) {
		r = a->cur;
		a->cur += n;
		return r;
	}
	want = n > ARENA_CHUNK / 2 ? n : ARENA_CHUNK;
	if (want > a->limit || a->used > a->limit - want)
		return NULL;
	c = yg_malloc(sizeof(*c) + want);
	if (c == NULL)
		return NULL;
	c->size = want;
	c->next = a->chunks;
	a->chunks = c;
	a->used += want;
	if (want == n && avail > 0)
		return c->data; /* a big one-off: keep the current chunk's tail */
	a->cur = c->data + n;
	a->end = c->data + want;
	return c->data;
}

char *http_arena_strndup(struct http_arena *a, const char *s, size_t n)
{
	char *d = http_arena_alloc(a, n + 1);

	if (d == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *http_arena_strdup(struct http_arena *a, const char *s)
{
	return http_arena_strndup(a, s, strlen(s));
}

int http_arena_defer(struct http_arena *a, void (*fn)(void *), void *p)
{
	struct http_arena_defer *d = http_arena_alloc(a, sizeof(*d));

	if (d == NULL)
		return YG_ENOMEM;
	d->fn = fn;
	d->p = p;
	d->next = a->defers;
	a->defers = d;
	return 0;
}

static void arena_json_decref(void *p)
{
	json_decref(p);
}

int http_arena_own_json(struct http_arena *a, json_t *j)
{
	return http_arena_defer(a, arena_json_decref, j);
}

void http_arena_release(struct http_arena *a)
{
	struct http_arena_defer *d;
	struct http_arena_chunk *c, *next;

	/* Deferred records live in the chunks: run them all before freeing. */
	for (d = a->defers; d != NULL; d = d->next)
		d->fn(d->p);
	a->defers = NULL;
	for (c = a->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->chunks = NULL;
	a->used = 0;
	a->cur = a->end = NULL;
}
