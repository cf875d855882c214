/* libFuzzer target: one frame through the whole per-packet path (decode,
 * flow table, metadata extractors, EVE writer). The first input byte picks
 * the link type. The flow table persists across inputs, as in a capture. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "detect/detect.h"
#include "detect/sources.h"
#include "pipeline/pipeline.h"

static const int linktypes[] = {LINK_ETHERNET, LINK_RAW,	LINK_LINUX_SLL, LINK_LINUX_SLL2,
				LINK_NULL,     LINK_LOOP,	LINK_IPV4,	LINK_IPV6};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pipeline *p;
	static struct eve *e;
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
	return 0;
}
