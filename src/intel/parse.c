/* parse.c - indicator values: addresses, prefixes, domains, URL hosts and
 * timestamps. Every parser is bounded by its length argument and strict:
 * what it accepts is what a lookup can match. */
#include <arpa/inet.h>
#include <string.h>

#include "intel/intel_int.h"

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Parses 1-ndig decimal digits (no sign) from s[0..len) as the whole input. */
static int parse_uint(const char *s, size_t len, size_t ndig, unsigned max, unsigned *v)
{
	unsigned x = 0;

	if (len == 0 || len > ndig)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

int parse_ipv4(const char *s, size_t len, uint32_t *addr)
{
	uint32_t a = 0;
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v;

		while (i < len && is_digit(s[i]))
			i++;
		/* A leading zero could be read as octal elsewhere: refuse it. */
		if (i - start > 1 && s[start] == '0')
			return -1;
		if (parse_uint(s + start, i - start, 3, 255, &v) < 0)
			return -1;
		a = a << 8 | v;
		if (part < 3) {
			if (i >= len || s[i] != '.')
				return -1;
			i++;
		}
	}
	if (i != len)
		return -1;
	*addr = a;
	return 0;
}

static const char *find_slash(const char *s, size_t len)
{
	return memchr(s, '/', len);
}

int parse_ipv4_cidr(const char *s, size_t len, uint32_t *addr, unsigned *plen)
{
	const char *slash = find_slash(s, len);
	size_t alen = slash ? (size_t)(slash - s) : len;

	if (parse_ipv4(s, alen, addr) < 0)
		return -1;
	if (slash == NULL) {
		*plen = 32;
		return 0;
	}
	return parse_uint(slash + 1, len - alen - 1, 2, 32, plen);
}

int parse_ipv6_cidr(const char *s, size_t len, uint8_t a[16], unsigned *plen)
{
	const char *slash = find_slash(s, len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	char buf[INET6_ADDRSTRLEN + 1];

	if (alen == 0 || alen >= sizeof(buf) || memchr(s, ':', alen) == NULL)
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET6, buf, a) != 1)
		return -1;
	if (slash == NULL) {
		*plen = 128;
		return 0;
	}
	return parse_uint(slash + 1, len - alen - 1, 3, 128, plen);
}

static int is_label_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || is_digit((char)c) || c == '-' || c == '_';
}

int parse_domain(const char *s, size_t len, char *out, size_t *outlen)
{
	size_t label = 0, n = 0;
	bool last_numeric = true;

	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return -1;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = intel_lower((uint8_t)s[i]);

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
			last_numeric = true;
			out[n++] = '.';
			continue;
		}
		if (!is_label_char(c) || ++label > 63)
			return -1;
		if (!is_digit((char)c))
			last_numeric = false;
		out[n++] = (char)c;
	}
	/* No top-level domain is all digits: that is an address gone wrong. */
	if (label == 0 || last_numeric)
		return -1;
	out[n] = '\0';
	*outlen = n;
	return 0;
}

int parse_url_host(const char *s, size_t len, const char **host, size_t *hlen, bool *v6)
{
	const char *p = s, *end = s + len, *auth_end, *at, *h, *he;

	/* scheme ":" "//" -- optional, since feeds write "evil.example/x" too */
	for (size_t i = 0; i < len && i < 32; i++) {
		char c = s[i];

		if (c == ':') {
			if (i > 0 && len - i >= 3 && s[i + 1] == '/' && s[i + 2] == '/')
				p = s + i + 3;
			break;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '+' ||
		      c == '-' || c == '.'))
			break;
	}
	auth_end = p;
	while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
		auth_end++;
	at = NULL;
	for (const char *q = p; q < auth_end; q++)
		if (*q == '@')
			at = q;
	h = at ? at + 1 : p;
	*v6 = false;
	if (h < auth_end && *h == '[') {
		he = memchr(h, ']', (size_t)(auth_end - h));
		if (he == NULL)
			return -1;
		h++;
		*v6 = true;
		p = he + 1;
	} else {
		he = memchr(h, ':', (size_t)(auth_end - h));
		if (he == NULL)
			he = auth_end;
		p = he;
	}
	if (p < auth_end) {
		unsigned port;

		if (*p != ':' || parse_uint(p + 1, (size_t)(auth_end - p - 1), 5, 65535, &port) < 0)
			return -1;
	}
	if (he == h)
		return -1;
	*host = h;
	*hlen = (size_t)(he - h);
	return 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int month_days(unsigned y, unsigned m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int parse_rfc3339(const char *s, size_t len, int64_t *t)
{
	unsigned y, mo, d, h, mi, sec, oh = 0, om = 0;
	size_t i = 19;
	int sign = 0;

	/* YYYY-MM-DDTHH:MM:SS */
	if (len < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return -1;
	if (parse_uint(s, 4, 4, 9999, &y) < 0 || parse_uint(s + 5, 2, 2, 12, &mo) < 0 ||
	    parse_uint(s + 8, 2, 2, 31, &d) < 0 || parse_uint(s + 11, 2, 2, 23, &h) < 0 ||
	    parse_uint(s + 14, 2, 2, 59, &mi) < 0 || parse_uint(s + 17, 2, 2, 60, &sec) < 0)
		return -1;
	if (mo == 0 || d == 0 || (int)d > month_days(y, mo))
		return -1;
	if (s[i] == '.') {
		size_t start = ++i;

		while (i < len && is_digit(s[i]))
			i++;
		if (i == start)
			return -1;
	}
	if (i >= len)
		return -1;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '+' ? 1 : -1;
		if (len - i != 6 || s[i + 3] != ':' || parse_uint(s + i + 1, 2, 2, 23, &oh) < 0 ||
		    parse_uint(s + i + 4, 2, 2, 59, &om) < 0)
			return -1;
		i += 6;
	} else {
		return -1;
	}
	if (i != len)
		return -1;
	if (sec == 60) /* a leap second counts as :59 */
		sec = 59;
	*t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	     sign * (int64_t)(oh * 3600 + om * 60);
	return 0;
}
