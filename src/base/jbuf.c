#include "base/jbuf.h"

#include <stdlib.h>
#include <time.h>

#include "base/alloc.h"

int jbuf_init(struct jbuf *b, size_t initial_cap, size_t max_cap)
{
	memset(b, 0, sizeof(*b));
	if (initial_cap > max_cap)
		initial_cap = max_cap;
	b->buf = yg_malloc(initial_cap);
	if (b->buf == NULL)
		return YG_ENOMEM;
	b->cap = initial_cap;
	b->max_cap = max_cap;
	return 0;
}

void jbuf_fini(struct jbuf *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

int jbuf_grow(struct jbuf *b, size_t n)
{
	size_t need, ncap;
	char *nbuf;

	if (b->err)
		return -1;
	if (n > b->max_cap - b->len) {
		b->err = YG_ELIMIT;
		return -1;
	}
	need = b->len + n;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max_cap)
		ncap = b->max_cap;
	nbuf = yg_realloc(b->buf, ncap);
	if (nbuf == NULL) {
		b->err = YG_ENOMEM;
		return -1;
	}
	b->buf = nbuf;
	b->cap = ncap;
	return 0;
}

void jbuf_u64(struct jbuf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	jbuf_put(b, tmp + i, sizeof(tmp) - i);
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0xc2)
		return 0;
	if (c < 0xe0) {
		len = 2;
		cp = c & 0x1f;
	} else if (c < 0xf0) {
		len = 3;
		cp = c & 0x0f;
	} else if (c < 0xf5) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void jbuf_str(struct jbuf *b, const void *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = data;
	size_t i = 0, run;

	/* Worst case every byte becomes \u00XX: six bytes. */
	if (jbuf_reserve(b, n * 6 + 2) < 0)
		return;
	b->buf[b->len++] = '"';
	while (i < n) {
		uint8_t c = p[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			b->buf[b->len++] = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80 && (run = utf8_seq_len(p + i, n - i)) > 0) {
			memcpy(b->buf + b->len, p + i, run);
			b->len += run;
			i += run;
			continue;
		}
		b->buf[b->len++] = '\\';
		switch (c) {
		case '"':
			b->buf[b->len++] = '"';
			break;
		case '\\':
			b->buf[b->len++] = '\\';
			break;
		case '\n':
			b->buf[b->len++] = 'n';
			break;
		case '\r':
			b->buf[b->len++] = 'r';
			break;
		case '\t':
			b->buf[b->len++] = 't';
			break;
		default:
			memcpy(b->buf + b->len, "u00", 3);
			b->len += 3;
			b->buf[b->len++] = hex[c >> 4];
			b->buf[b->len++] = hex[c & 15];
			break;
		}
		i++;
	}
	b->buf[b->len++] = '"';
}

static void put_digits(char *dst, unsigned v, int width)
{
	while (width-- > 0) {
		dst[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

void jbuf_ts(struct jbuf *b, uint64_t ts_us)
{
	/* Cache the calendar fields of the last second seen: captures are
	 * mostly in time order, and gmtime_r is the slow part. */
	static __thread time_t last_sec = -1;
	static __thread char last_prefix[20];
	time_t sec = (time_t)(ts_us / 1000000);
	char *o;

	if (jbuf_reserve(b, 34) < 0)
		return;
	if (sec != last_sec) {
		struct tm tm;
		gmtime_r(&sec, &tm);
		put_digits(last_prefix, (unsigned)(tm.tm_year + 1900), 4);
		last_prefix[4] = '-';
		put_digits(last_prefix + 5, (unsigned)tm.tm_mon + 1, 2);
		last_prefix[7] = '-';
		put_digits(last_prefix + 8, (unsigned)tm.tm_mday, 2);
		last_prefix[10] = 'T';
		put_digits(last_prefix + 11, (unsigned)tm.tm_hour, 2);
		last_prefix[13] = ':';
		put_digits(last_prefix + 14, (unsigned)tm.tm_min, 2);
		last_prefix[16] = ':';
		put_digits(last_prefix + 17, (unsigned)tm.tm_sec, 2);
		last_prefix[19] = '.';
		last_sec = sec;
	}
	o = b->buf + b->len;
	o[0] = '"';
	memcpy(o + 1, last_prefix, 20);
	put_digits(o + 21, (unsigned)(ts_us % 1000000), 6);
	memcpy(o + 27, "+0000\"", 6);
	b->len += 33;
}
