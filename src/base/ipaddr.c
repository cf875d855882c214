#include "base/ipaddr.h"

#include <arpa/inet.h>

#include "base/err.h"

int ipaddr_fmt(const struct ip_addr *ip, char *out)
{
	if (ip->family == 4) {
		char *o = out;
		for (int i = 0; i < 4; i++) {
			unsigned v = ip->a[i];
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
		return (int)(o - out);
	}
	if (inet_ntop(AF_INET6, ip->a, out, IPADDR_STRLEN) == NULL) {
		out[0] = '\0';
		return 0;
	}
	return (int)strlen(out);
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
