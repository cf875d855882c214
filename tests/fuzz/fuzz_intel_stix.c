/* fuzz_intel_stix.c - libFuzzer target for the JSON loaders: STIX 2.1
 * bundles (and their patterns) and MISP events. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "intel/intel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"evil.example", "a.b.c.example", "example"};
	struct intel_builder *b = intel_builder_new(0);
	struct intel_snapshot *s = NULL;
	struct intel_report rep;
	struct intel_match m;
	int rc;

	if (b == NULL)
		return 0;
	intel_report_init(&rep);
	/* Each loader on its own, then detection. */
	rc = intel_load_buffer(b, "fuzz.json", data, size, INTEL_FORMAT_STIX, NULL, &rep);
	if (rc != 0 && rc != YG_EFORMAT)
		__builtin_trap();
	rc = intel_load_buffer(b, "fuzz.json", data, size, INTEL_FORMAT_MISP, NULL, &rep);
	if (rc != 0 && rc != YG_EFORMAT)
		__builtin_trap();
	if (rep.n_messages > INTEL_REPORT_MESSAGES || rep.files != 2)
		__builtin_trap();
	if (intel_builder_finish(b, &s) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (intel_lookup_domain(s, names[i], strlen(names[i]), 0, &m) == 0 &&
		    (m.value == NULL || m.id == NULL || m.source == NULL))
			__builtin_trap();
	}
	for (uint32_t a = 0; a < 8; a++)
		if (intel_lookup_ipv4(s, a * 0x20000001u, 0, &m) == 0 &&
		    (m.id == NULL || m.prefix_len > 32))
			__builtin_trap();
	intel_snapshot_release(s);
	return 0;
}
