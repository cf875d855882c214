/* fuzz_intel_list.c - libFuzzer target for the plain-list loader, the
 * snapshot build and lookups on what it built. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "intel/intel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a lookup hands back must hold together. */
static void check(int rc, const struct intel_match *m)
{
	char buf[64];

	if (rc == YG_ENOTFOUND)
		return;
	if (rc != 0 || m->id == NULL || m->source == NULL || m->confidence < 0 ||
	    m->confidence > 100 || m->prefix_len > 128 ||
	    (m->kind == INTEL_KIND_DOMAIN && m->value == NULL))
		__builtin_trap();
	if (intel_match_format(m, buf, sizeof(buf)) < 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct intel_builder *b = intel_builder_new(0);
	struct intel_snapshot *s = NULL;
	struct intel_report rep;
	struct intel_stats st;
	struct intel_match m, mb[16];
	uint8_t a6[16] = {0};
	uint32_t a4[16];
	unsigned n4 = 0;
	uint64_t mask;

	if (b == NULL)
		return 0;
	intel_report_init(&rep);
	if (intel_load_buffer(b, "fuzz.txt", data, size, INTEL_FORMAT_LIST, NULL, &rep) != 0)
		__builtin_trap();
	if (rep.n_messages > INTEL_REPORT_MESSAGES ||
	    rep.n_messages + rep.messages_dropped != rep.rejected)
		__builtin_trap();
	if (intel_builder_finish(b, &s) != 0)
		return 0;
	intel_snapshot_stats(s, &st);
	if (st.v4_entries + st.v6_entries + st.domain_entries > rep.loaded)
		__builtin_trap();
	/* Look up addresses and names made of the input itself; the batch
	 * must agree with single lookups. */
	for (size_t i = 0; i + 4 <= size && n4 < 16; i += 4) {
		a4[n4] = (uint32_t)data[i] << 24 | (uint32_t)data[i + 1] << 16 |
			 (uint32_t)data[i + 2] << 8 | data[i + 3];
		check(intel_lookup_ipv4(s, a4[n4], INT64_MAX, &m), &m);
		n4++;
	}
	mask = intel_lookup_ipv4_batch(s, a4, n4, 0, mb);
	for (unsigned i = 0; i < n4; i++) {
		int rc = intel_lookup_ipv4(s, a4[i], 0, &m);

		check(rc, &m);
		if ((rc == 0) != !!(mask & (1ull << i)) ||
		    (rc == 0 && (mb[i].prefix_len != m.prefix_len || mb[i].id != m.id)))
			__builtin_trap();
	}
	memcpy(a6, data, size < 16 ? size : 16);
	check(intel_lookup_ipv6(s, a6, 0, &m), &m);
	for (size_t i = 0, start = 0; i <= size && i < 4096; i++) {
		if (i == size || data[i] == '\n') {
			check(intel_lookup_domain(s, (const char *)data + start, i - start, 0, &m), &m);
			start = i + 1;
		}
	}
	intel_snapshot_release(s);
	return 0;
}
