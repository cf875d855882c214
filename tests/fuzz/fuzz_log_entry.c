/* fuzz_log_entry.c - the lines of a transparency-log entry that name rows
 * (src/tower/record.h), as `yagura audit verify --store` reads them from a
 * store it must not trust. Each line of the input is parsed; a line that
 * parses formats back to the same bytes (one canonical form, so that two
 * entries cannot name one row two ways), and names a known table. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tower/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		struct rec_ref r;
		char back[REC_LINE_MAX];
		int n;

		if (rec_ref_parse(p, len, &r) == 1) {
			if (r.t >= REC_TABLES)
				abort();
			n = rec_ref_format(&r, back, sizeof(back));
			if (n < 0 || (size_t)n != len + 1 || memcmp(back, p, len) != 0 ||
			    back[len] != '\n')
				abort();
		}
		p += len + 1;
	}
	return 0;
}
