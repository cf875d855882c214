/* fuzz_http_framing.c - the request framing checks: input is a header
 * block, one "name:value" field a line (the first line, if it is "1.0",
 * makes the request HTTP/1.0); no network. Whatever the fields, the
 * verdict lets through only a body whose end is unambiguous. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http/http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[4096], *line, *save = NULL;
	struct http_framing f;
	unsigned n_length = 0, n_te = 0;
	const char *why = NULL;
	bool http10 = false;
	int v;

	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	http_framing_init(&f);
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		if (strcmp(line, "1.0") == 0) {
			http10 = true;
			continue;
		}
		if (colon == NULL)
			continue;
		*colon = '\0';
		n_length += strcasecmp(line, "Content-Length") == 0;
		n_te += strcasecmp(line, "Transfer-Encoding") == 0;
		http_framing_add(&f, line, colon + 1);
	}
	v = http_framing_verdict(&f, http10, &why);
	if (v != 0 && v != 400 && v != 501)
		__builtin_trap();
	if (v != 0 && (why == NULL || why[0] == '\0'))
		__builtin_trap();
	/* Let through: at most one length, or chunked alone on HTTP/1.1. */
	if (v == 0 && (n_length > 1 || (n_te > 0 && (n_length > 0 || n_te > 1 || http10))))
		__builtin_trap();
	return 0;
}
