/* jbuf.h - a growable byte buffer with a hard cap, and JSON writers on it.
 *
 * Errors are sticky (as in SQLite): a write that would pass the cap sets
 * b->err and is dropped, and so is every later write until jbuf_reset().
 * Callers check b->err once per record instead of after every write. */
#ifndef YAGURA_BASE_JBUF_H
#define YAGURA_BASE_JBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"

struct jbuf {
	char *buf;
	size_t len;
	size_t cap;     /* bytes allocated */
	size_t max_cap; /* hard cap */
	int err;        /* sticky: 0 or a negative yg_err */
};

/* Initializes caller-owned storage; allocates initial_cap bytes. */
int jbuf_init(struct jbuf *b, size_t initial_cap, size_t max_cap) YG_MUST_CHECK;
void jbuf_fini(struct jbuf *b);

/* Empties the buffer and clears a sticky error. */
static inline void jbuf_reset(struct jbuf *b)
{
	b->len = 0;
	b->err = 0;
}

/* Makes room for n more bytes; returns 0, or -1 with b->err set. */
int jbuf_grow(struct jbuf *b, size_t n);

static inline int jbuf_reserve(struct jbuf *b, size_t n)
{
	if (b->err)
		return -1;
	if (b->cap - b->len >= n)
		return 0;
	return jbuf_grow(b, n);
}

static inline void jbuf_put(struct jbuf *b, const void *p, size_t n)
{
	if (jbuf_reserve(b, n) == 0) {
		memcpy(b->buf + b->len, p, n);
		b->len += n;
	}
}

static inline void jbuf_putc(struct jbuf *b, char c)
{
	if (jbuf_reserve(b, 1) == 0)
		b->buf[b->len++] = c;
}

/* Appends a NUL-terminated string as is (no escaping). */
static inline void jbuf_puts(struct jbuf *b, const char *s)
{
	jbuf_put(b, s, strlen(s));
}

/* Appends a string literal; "" s refuses anything but a literal. */
#define jbuf_lit(b, s) jbuf_put((b), "" s, sizeof(s) - 1)

/* Appends an unsigned decimal integer. */
void jbuf_u64(struct jbuf *b, uint64_t v);

/* Appends bytes as a quoted JSON string. Valid UTF-8 passes through;
 * control characters and bytes that are not valid UTF-8 become \u00XX
 * escapes, so hostile bytes cannot break the JSON line. */
void jbuf_str(struct jbuf *b, const void *p, size_t n);

/* Appends a quoted timestamp in Suricata's EVE form,
 * "2009-11-24T21:27:09.534255+0000", from microseconds since the epoch (UTC). */
void jbuf_ts(struct jbuf *b, uint64_t ts_us);

#endif
