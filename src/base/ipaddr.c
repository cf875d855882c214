#include "base/ipaddr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

static char *fmt_v4(const uint8_t *a, char *o)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (i)
			*o++ = '.';
		if (v >= 100) {
			*o++ = (char)('0' + v / 100);
			v %= 100;
			*o++ = (char)('0' + v / 10);
			*o++ = (char)('0' + v % 10);
		} else if (v >= 10) {
			*o++ = (char)('0' + v / 10);
			*o++ = (char)('0' + v % 10);
		} else {
			*o++ = (char)('0' + v);
		}
	}
	*o = '\0';
	return o;
}

/* RFC 5952 text, exactly as glibc's inet_ntop writes it (including its
 * dotted forms ::ffff:a.b.c.d and ::a.b.c.d), without the sprintf that
 * inet_ntop runs per group. */
static int fmt_v6(const uint8_t *a, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint16_t g[8];
	int best = -1, best_len = 0, cur = -1, cur_len = 0, i;
	char *o = out;

	for (i = 0; i < 8; i++) {
		g[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
		if (g[i] != 0) {
			cur = -1;
			continue;
		}
		if (cur < 0) {
			cur = i;
			cur_len = 0;
		}
		if (++cur_len > best_len) {
			best = cur;
			best_len = cur_len;
		}
	}
	if (best_len < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				*o++ = ':';
			continue;
		}
		if (i != 0)
			*o++ = ':';
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && g[5] == 0xffff)))
			return (int)(fmt_v4(a + 12, o) - out);
		int started = 0;
		for (int sh = 12; sh >= 0; sh -= 4) {
			unsigned d = (g[i] >> sh) & 15;
			if (d != 0 || started || sh == 0) {
				*o++ = hex[d];
				started = 1;
			}
		}
	}
	if (best >= 0 && best + best_len == 8)
		*o++ = ':';
	*o = '\0';
	return (int)(o - out);
}

int ipaddr_fmt(const struct ip_addr *ip, char *out)
{
	if (ip->family == 4)
		return (int)(fmt_v4(ip->a, out) - out);
	return fmt_v6(ip->a, out);
}

int ipaddr_parse(const char *s, struct ip_addr *ip)
{
	uint8_t buf[16];

	if (inet_pton(AF_INET, s, buf) == 1) {
		ipaddr_set4(ip, buf);
		return 0;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		ipaddr_set6(ip, buf);
		return 0;
	}
	return YG_EINVAL;
}

/* Splits "host:port" or "[v6]:port" into host and port (copies).
 * Returns 0 or -1. */
int ipaddr_split_hostport(const char *dest, char *host, size_t hn, char *port, size_t pn)
{
	const char *colon, *h = dest;
	size_t hl;

	if (dest[0] == '[') {
		const char *end = strchr(dest, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		h = dest + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(dest, ':');
		if (colon == NULL || memchr(dest, ':', (size_t)(colon - dest)) != NULL)
			return -1; /* an IPv6 address goes in brackets */
		hl = (size_t)(colon - dest);
	}
	if (hl == 0 || hl >= hn || strlen(colon + 1) == 0 || strlen(colon + 1) >= pn)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	for (const char *q = port; *q; q++)
		if (*q < '0' || *q > '9')
			return -1;
	unsigned long v = strtoul(port, NULL, 10);
	return v >= 1 && v <= 65535 ? 0 : -1;
}
