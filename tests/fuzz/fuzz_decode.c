/* libFuzzer target: one frame through the whole per-packet path (decode,
 * flow table, metadata extractors, EVE writer). The first input byte picks
 * the link type. The flow table persists across inputs, as in a capture.
 * Each frame also goes through a second pipeline that enforces monitoring
 * authorizations (a scope of prefixes, a VLAN, and both), and through
 * decode_frame_scoped() beside decode_frame(): a scope may only turn an IP
 * packet into DECODE_UNAUTHORIZED, never change anything else. */
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>

#include "detect/detect.h"
#include "detect/sources.h"
#include "pipeline/pipeline.h"
#include "decode/scope.h"

static const int linktypes[] = {LINK_ETHERNET, LINK_RAW,	LINK_LINUX_SLL, LINK_LINUX_SLL2,
				LINK_NULL,     LINK_LOOP,	LINK_IPV4,	LINK_IPV6};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 10.0.0.0/8 and fd00::/8; anything on VLAN 100; 192.0.2.0/24 on VLAN 200. */
static struct decode_scope *fuzz_scope(void)
{
	struct decode_scope *s = decode_scope_new();
	struct ip_addr a;
	int rc = 0;

	rc |= decode_scope_add_auth(s, 1);
	rc |= ipaddr_parse("10.0.0.0", &a);
	rc |= decode_scope_add_prefix(s, &a, 8);
	rc |= ipaddr_parse("fd00::", &a);
	rc |= decode_scope_add_prefix(s, &a, 8);
	rc |= decode_scope_add_auth(s, 2);
	rc |= decode_scope_add_vlan(s, 100);
	rc |= decode_scope_add_auth(s, 3);
	rc |= ipaddr_parse("192.0.2.0", &a);
	rc |= decode_scope_add_prefix(s, &a, 24);
	rc |= decode_scope_add_vlan(s, 200);
	if (rc != 0)
		abort();
	return s;
}

/* The same frame with and without the scope: the verdicts and counters
 * differ only by the packet being unauthorized. */
static void differential(const struct frame *f, const struct decode_scope *scope)
{
	uint64_t c1[DC_MAX] = {0}, c2[DC_MAX] = {0};
	struct packet p1, p2;
	enum decode_verdict v1 = decode_frame(f, &p1, c1);
	enum decode_verdict v2 = decode_frame_scoped(f, &p2, c2, scope);

	if (v2 == DECODE_UNAUTHORIZED) {
		if (c2[DC_UNAUTHORIZED] != 1 || decode_scope_allows(scope, &p2) ||
		    (p1.src.family != 4 && p1.src.family != 6))
			abort();
		return;
	}
	if (v1 != v2 || c2[DC_UNAUTHORIZED] != 0 || memcmp(c1, c2, sizeof(c1)) != 0)
		abort();
	if (v2 == DECODE_OK && (!decode_scope_allows(scope, &p2) || p1.sport != p2.sport ||
				p1.dport != p2.dport || p1.payload_len != p2.payload_len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pipeline *p, *ps;
	static struct eve *e;
	static struct snap_handle *h;
	static struct decode_scope *scope;
	static uint64_t ts = 1;
	struct frame f;

	if (p == NULL) {
		/* Every detector on, with small tables (so that they fill and
		 * evict) and low thresholds (so that alerts, floods' attribution
		 * and the sources ranking run on hostile packets too). */
		static struct detect_config dcfg;
		static char err[128];
		static const char *const low[] = {
			"table.entries=64", "scan.hosts=2",	"scan.ports=2", "syn.half_open=2",
			"refl.sources=2",   "vol.pps=1",	"brute.sessions=2", "spoof.sources=2",
			"beacon.min_events=4", "dns.tunnel_names=2", "dns.nx_names=2"};
		detect_config_defaults(&dcfg);
		for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++)
			detect_config_set(&dcfg, low[i], err, sizeof(err));
		struct pipeline_config cfg = {
			.flow = {.max_flows = 1024,
				 .idle_timeout_us = 60000000,
				 .active_timeout_us = 300000000,
				 .closed_timeout_us = 1000000},
			.meta = META_STANDARD,
			.detect = &dcfg,
			.sources = sources_new(10000)};
		e = eve_new(open("/dev/null", O_WRONLY));
		p = pipeline_new(&cfg, e);
		scope = fuzz_scope();
		h = snap_handle_new();
		snap_handle_publish(h, decode_scope_ref(fuzz_scope()));
		cfg.scope = h;
		cfg.sources = sources_new(10000);
		ps = pipeline_new(&cfg, e);
		if (p == NULL || ps == NULL || h == NULL)
			abort();
	}
	if (size < 1)
		return 0;
	f.linktype = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
	f.data = data + 1;
	f.caplen = (uint32_t)(size - 1);
	f.wirelen = f.caplen + (data[0] >> 7) * 100; /* sometimes cut by the snap length */
	f.ts_us = ts;
	ts += 100000;
	pipeline_frame(p, &f);
	pipeline_frame(ps, &f);
	differential(&f, scope);
	return 0;
}
