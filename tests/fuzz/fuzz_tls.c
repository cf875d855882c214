/* fuzz_tls.c - libFuzzer target for tls_parse_client_hello(), over TCP
 * (record layer) and as QUIC (bare handshake). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode/appmeta.h"

static void check(const struct tls_meta *m)
{
	if (m->sni_len > META_NAME_MAX || strlen(m->sni) != m->sni_len ||
	    (m->has_ja4 && strlen(m->ja4) != JA4_LEN))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_meta m;

	if (tls_parse_client_hello(data, size, 't', &m) == 0)
		check(&m);
	if (tls_parse_client_hello(data, size, 'q', &m) == 0)
		check(&m);
	return 0;
}
