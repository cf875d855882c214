/* fuzz_dns.c - libFuzzer target for dns_parse() and dns_parse_tcp(). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode/appmeta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_meta m;

	if (dns_parse(data, size, &m) == 0) {
		/* What a caller will read must hold together. */
		if (m.n_addrs > DNS_MAX_ADDRS || m.qname_len > META_NAME_MAX ||
		    m.qname[m.qname_len] != '\0')
			__builtin_trap();
	}
	if (dns_parse_tcp(data, size, &m) == 0) {
		if (m.n_addrs > DNS_MAX_ADDRS || m.qname_len > META_NAME_MAX ||
		    m.qname[m.qname_len] != '\0')
			__builtin_trap();
	}
	return 0;
}
