/* cursor.h - a bounded read cursor over untrusted bytes.
 *
 * Every read checks the bytes that remain; a failed read returns -1 and
 * leaves the cursor where it was. Parsers chain reads and jump to one
 * error label: if (cur_u16(&c, &len) < 0 || cur_sub(&c, len, &sub) < 0) goto bad;
 * Allocates nothing; the cursor borrows the caller's buffer. */
#ifndef YAGURA_BASE_CURSOR_H
#define YAGURA_BASE_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cur {
	const uint8_t *p;
	const uint8_t *end;
};

static inline struct cur cur_make(const uint8_t *p, size_t len)
{
	struct cur c = {p, p + len};
	return c;
}

static inline size_t cur_left(const struct cur *c)
{
	return (size_t)(c->end - c->p);
}

static inline int cur_u8(struct cur *c, uint8_t *v)
{
	if (c->p >= c->end)
		return -1;
	*v = *c->p++;
	return 0;
}

static inline int cur_u16(struct cur *c, uint16_t *v)
{
	if (cur_left(c) < 2)
		return -1;
	*v = (uint16_t)(c->p[0] << 8 | c->p[1]);
	c->p += 2;
	return 0;
}

static inline int cur_u24(struct cur *c, uint32_t *v)
{
	if (cur_left(c) < 3)
		return -1;
	*v = (uint32_t)c->p[0] << 16 | (uint32_t)c->p[1] << 8 | c->p[2];
	c->p += 3;
	return 0;
}

static inline int cur_u32(struct cur *c, uint32_t *v)
{
	if (cur_left(c) < 4)
		return -1;
	*v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
	c->p += 4;
	return 0;
}

static inline int cur_skip(struct cur *c, size_t n)
{
	if (cur_left(c) < n)
		return -1;
	c->p += n;
	return 0;
}

static inline int cur_bytes(struct cur *c, void *dst, size_t n)
{
	if (cur_left(c) < n)
		return -1;
	memcpy(dst, c->p, n);
	c->p += n;
	return 0;
}

/* Splits off the next n bytes as a sub-cursor and advances past them. */
static inline int cur_sub(struct cur *c, size_t n, struct cur *sub)
{
	if (cur_left(c) < n)
		return -1;
	sub->p = c->p;
	sub->end = c->p + n;
	c->p += n;
	return 0;
}

/* Unchecked big-endian loads, for callers that checked the length already. */
static inline uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
