/* fuzz_intel_taxii.c - libFuzzer target for TAXII envelopes applied to a
 * sensor's copy of a collection: whatever the server sends, applying it
 * twice changes nothing the second time, and the set's bundle loads. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intel/intel.h"
#include "intel/taxii.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const int64_t now = 1796083200000000LL; /* 2026-12-01 */
	struct intel_taxii_set *s = intel_taxii_set_new(64);
	struct intel_taxii_page p;
	struct intel_taxii_delta d = {0}, d2 = {0};
	struct intel_builder *b;
	struct intel_snapshot *snap = NULL;
	struct intel_report rep;
	char err[200], *buf;
	size_t len, before;
	int rc;

	if (s == NULL)
		return 0;
	rc = intel_taxii_apply(s, data, size, now, &p, &d, err, sizeof(err));
	if (rc != 0 && rc != YG_EFORMAT && rc != YG_ENOMEM)
		__builtin_trap();
	if (rc != 0 && (intel_taxii_count(s) != 0 || err[0] == '\0' || memchr(err, '\n', strlen(err))))
		__builtin_trap();
	if (rc == 0 && (p.more && p.next[0] == '\0'))
		__builtin_trap();
	before = intel_taxii_count(s);
	if (before != d.added - d.revoked - d.expired)
		__builtin_trap();
	/* Again: every indicator is a duplicate or stale now. */
	if (rc == 0 && intel_taxii_apply(s, data, size, now, &p, &d2, err, sizeof(err)) == 0 &&
	    (d2.added || d2.updated || d2.revoked || d2.expired || intel_taxii_count(s) != before))
		__builtin_trap();
	if (intel_taxii_bundle(s, &buf, &len) == 0) {
		if ((b = intel_builder_new(0)) != NULL) {
			intel_report_init(&rep);
			if (intel_load_buffer(b, "taxii", buf, len, INTEL_FORMAT_STIX, NULL, &rep) ==
			    YG_EFORMAT)
				__builtin_trap();
			if (intel_builder_finish(b, &snap) == 0)
				intel_snapshot_release(snap);
		}
		free(buf);
	}
	intel_taxii_set_free(s);
	return 0;
}
