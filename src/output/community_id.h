/* community_id.h - Community ID v1 flow hashing (corelight/community-id-spec). */
#ifndef YAGURA_OUTPUT_COMMUNITY_ID_H
#define YAGURA_OUTPUT_COMMUNITY_ID_H

#include <stdint.h>

#include "base/ipaddr.h"

#define COMMUNITY_ID_LEN 30 /* "1:" + 28 base64 characters */

/* Writes "1:<base64 sha1>" and a NUL into out (COMMUNITY_ID_LEN + 1
 * bytes). For ICMP and ICMPv6, sport/dport are the type/code mapping of
 * icmp_map_ports(); for protocols other than TCP, UDP, SCTP, ICMP and
 * ICMPv6 the ports are ignored. The endpoints may be given in either
 * order, except for one-way ICMP types (icmp_map_ports sets one_way),
 * which the spec hashes in the order seen: src must be the sender.
 * Thread-safe. */
void community_id_v1(const struct ip_addr *src, const struct ip_addr *dst, uint16_t sport,
		     uint16_t dport, uint8_t proto, int one_way, uint16_t seed, char *out);

#endif
