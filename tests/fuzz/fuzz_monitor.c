/* libFuzzer target: the tower's answer listing a sensor's monitoring
 * authorizations, parsed into a scope (monitor_scope_from_json), and the
 * scope then matched and described. A refused answer must say why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "monitor/monitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decode_scope *s;
	struct packet pkt;
	char err[256], desc[128];
	int64_t now = 1796569200000000; /* 2026-12-06T15:00:00Z */

	err[0] = '\0';
	if (monitor_scope_from_json((const char *)data, size, now, &s, err, sizeof(err)) < 0) {
		if (s != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	memset(&pkt, 0, sizeof(pkt));
	pkt.src.family = pkt.dst.family = 4;
	pkt.vlan_n = 1;
	pkt.vlan[0] = 100;
	(void)decode_scope_allows(s, &pkt);
	pkt.src.family = pkt.dst.family = 6;
	(void)decode_scope_allows(s, &pkt);
	monitor_describe(s, desc, sizeof(desc));
	decode_scope_release(s);
	return 0;
}
