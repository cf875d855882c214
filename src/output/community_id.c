#include "output/community_id.h"

#include "base/digest.h"

#include <string.h>

static void base64_encode(const uint8_t *in, size_t n, char *out)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = tbl[v >> 18];
		*out++ = tbl[(v >> 12) & 63];
		*out++ = tbl[(v >> 6) & 63];
		*out++ = tbl[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		*out++ = tbl[v >> 18];
		*out++ = tbl[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*out++ = tbl[v >> 18];
		*out++ = tbl[(v >> 12) & 63];
		*out++ = tbl[(v >> 6) & 63];
		*out++ = '=';
	}
	*out = '\0';
}

void community_id_v1(const struct ip_addr *src, const struct ip_addr *dst, uint16_t sport,
		     uint16_t dport, uint8_t proto, int one_way, uint16_t seed, char *out)
{
	uint8_t buf[2 + 16 + 16 + 2 + 4], digest[DIGEST_SHA1_LEN];
	const struct ip_addr *a = src, *b = dst;
	uint16_t pa = sport, pb = dport;
	size_t alen = (size_t)ipaddr_len(src), n = 0;
	int has_ports = proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
	int c;

	c = memcmp(src->a, dst->a, alen);
	if (!one_way && (c > 0 || (c == 0 && has_ports && sport > dport))) {
		a = dst;
		b = src;
		pa = dport;
		pb = sport;
	}
	buf[n++] = (uint8_t)(seed >> 8);
	buf[n++] = (uint8_t)seed;
	memcpy(buf + n, a->a, alen);
	n += alen;
	memcpy(buf + n, b->a, alen);
	n += alen;
	buf[n++] = proto;
	buf[n++] = 0;
	if (has_ports) {
		buf[n++] = (uint8_t)(pa >> 8);
		buf[n++] = (uint8_t)pa;
		buf[n++] = (uint8_t)(pb >> 8);
		buf[n++] = (uint8_t)pb;
	}
	if (digest_sha1(buf, n, digest) < 0)
		memset(digest, 0, sizeof(digest));
	out[0] = '1';
	out[1] = ':';
	base64_encode(digest, sizeof(digest), out + 2);
}
