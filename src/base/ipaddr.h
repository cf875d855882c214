/* ipaddr.h - IPv4 and IPv6 addresses as plain values. */
#ifndef YAGURA_BASE_IPADDR_H
#define YAGURA_BASE_IPADDR_H

#include <stdint.h>
#include <string.h>

#define IPADDR_STRLEN 46

/* An address: family 4 keeps its four bytes in a[0..3] and zeroes the
 * rest, so that two addresses compare equal with memcmp of the struct. */
struct ip_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t a[16];
};

static inline void ipaddr_set4(struct ip_addr *ip, const uint8_t *p)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = 4;
	memcpy(ip->a, p, 4);
}

static inline void ipaddr_set6(struct ip_addr *ip, const uint8_t *p)
{
	ip->family = 6;
	memcpy(ip->a, p, 16);
}

static inline int ipaddr_len(const struct ip_addr *ip)
{
	return ip->family == 4 ? 4 : 16;
}

/* Writes the textual form (dotted quad, or RFC 5952 for IPv6) into out,
 * which holds IPADDR_STRLEN bytes; returns its length. */
int ipaddr_fmt(const struct ip_addr *ip, char *out);

/* Parses a textual address; returns 0 or YG_EINVAL. */
int ipaddr_parse(const char *s, struct ip_addr *ip);

/* Splits "host:port" or "[v6]:port" into host and port (copies; the port
 * 1 to 65535 in digits). Returns 0 or -1. */
int ipaddr_split_hostport(const char *dest, char *host, size_t hn, char *port, size_t pn);

#endif
