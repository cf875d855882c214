/* fuzz_http.c - libFuzzer target for http_parse_request(). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode/appmeta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_meta m;

	if (http_parse_request(data, size, &m) == 0) {
		if (m.method_len == 0 || m.method_len > 15 || m.version_len != 8 ||
		    m.host_len > META_NAME_MAX || strlen(m.host) != m.host_len)
			__builtin_trap();
	}
	return 0;
}
