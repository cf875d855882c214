/* text.c - the byte-level rules of signed notes: strict base64, UTF-8
 * without control characters, key names, key IDs. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "tlog/tlog.h"
#include "tlog/tlog_int.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t tlog_b64_encode(const uint8_t *p, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int tlog_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n)
{
	size_t i, o = 0, pad = 0;

	if (len % 4 != 0)
		return -1;
	if (len > 0 && s[len - 1] == '=')
		pad = len > 1 && s[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		int v[4];
		size_t k, keep = 3;
		uint32_t w;

		for (k = 0; k < 4; k++) {
			if (i + k >= len - pad) {
				v[k] = 0; /* padding, only at the very end */
				continue;
			}
			v[k] = b64_val((unsigned char)s[i + k]);
			if (v[k] < 0)
				return -1;
		}
		if (i + 4 == len && pad) {
			keep = 3 - pad;
			/* The bits the padding stands for must be zero. */
			if ((pad == 1 && (v[2] & 3)) || (pad == 2 && (v[1] & 15)))
				return -1;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		    (uint32_t)v[3];
		for (k = 0; k < keep; k++, o++)
			if (o < cap)
				out[o] = (uint8_t)(w >> (16 - 8 * k));
	}
	*n = o;
	return 0;
}

long tlog_utf8_next(const uint8_t *p, size_t left, size_t *size)
{
	uint32_t c = p[0];
	size_t need, i;
	uint32_t min;

	*size = 1;
	if (c < 0x80)
		return (long)c;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		c &= 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	if (left < need + 1)
		return -1;
	for (i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*size = need + 1;
	return (long)c;
}

int tlog_text_valid(const char *p, size_t len, int newline_ok)
{
	const uint8_t *u = (const uint8_t *)p;
	size_t i = 0, sz;

	while (i < len) {
		if (u[i] < 0x80) { /* the common case, without the decoder */
			if (u[i] < 0x20 && !(u[i] == '\n' && newline_ok))
				return 0;
			i++;
			continue;
		}
		if (tlog_utf8_next(u + i, len - i, &sz) < 0)
			return 0;
		i += sz;
	}
	return 1;
}

/* Unicode White_Space, as Go's unicode.IsSpace sees it. */
static int is_space(long c)
{
	switch (c) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return 1;
	default:
		return c >= 0x2000 && c <= 0x200a;
	}
}

int tlog_name_chars_valid(const char *name, size_t len)
{
	const uint8_t *u = (const uint8_t *)name;
	size_t i = 0, sz;

	if (len == 0)
		return 0;
	while (i < len) {
		long c = tlog_utf8_next(u + i, len - i, &sz);
		if (c < 0x20 || c == '+' || c == 0x7f || is_space(c))
			return 0;
		i += sz;
	}
	return 1;
}

int tlog_name_valid(const char *name, size_t len)
{
	return len <= TLOG_NAME_MAX && tlog_name_chars_valid(name, len);
}

uint32_t tlog_key_id(const char *name, size_t len, uint8_t type, const uint8_t pub[32])
{
	crypto_hash_sha256_state st;
	uint8_t sum[crypto_hash_sha256_BYTES];
	uint8_t sep[2] = {'\n', type};

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, len);
	crypto_hash_sha256_update(&st, sep, sizeof sep);
	crypto_hash_sha256_update(&st, pub, 32);
	crypto_hash_sha256_final(&st, sum);
	return (uint32_t)sum[0] << 24 | (uint32_t)sum[1] << 16 | (uint32_t)sum[2] << 8 | sum[3];
}

char *tlog_cosig_message(const char *text, size_t len, uint64_t t, size_t *mlen)
{
	char head[48];
	int hl = snprintf(head, sizeof head, "cosignature/v1\ntime %llu\n", (unsigned long long)t);
	char *m;

	if (hl < 0 || (size_t)hl >= sizeof head || len > SIZE_MAX - (size_t)hl)
		return NULL;
	m = yg_malloc((size_t)hl + len + 1);
	if (!m)
		return NULL;
	memcpy(m, head, (size_t)hl);
	memcpy(m + hl, text, len);
	*mlen = (size_t)hl + len;
	return m;
}
