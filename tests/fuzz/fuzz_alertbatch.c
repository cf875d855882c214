/* fuzz_alertbatch.c - the sensor alert batch reader (src/tower/alertbatch.c):
 * any body, at most 50 records. Checks that every record span lies inside the
 * body, opens with '{' and closes with '}', and that a batch it accepts has
 * the fields the store needs. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tower/alertbatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct alert_batch b;

	if (alert_batch_parse(body, size, 50, &b) == ALERT_BATCH_OK) {
		if (b.n == 0 || b.n > 50)
			abort();
		for (size_t i = 0; i < b.n; i++) {
			const struct alert_rec *r = &b.recs[i];

			if (r->text < body || r->len < 2 || r->text + r->len > body + size ||
			    r->text[0] != '{' || r->text[r->len - 1] != '}')
				abort();
			if (!(r->has & ALERT_HAS_SIGNATURE_ID) || r->timestamp == NULL)
				abort();
		}
	}
	alert_batch_free(&b);
	return 0;
}
