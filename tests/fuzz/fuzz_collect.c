/* fuzz_collect.c - libFuzzer target for what `yagura collect` does with a
 * datagram past its parser: the records (src/netflow) paired into flows
 * (src/pipeline/records.c), judged by every flow-level detector
 * (src/detect/flowrec.c, with hostile counters, flags and times) and
 * written as EVE. The input is a sequence of datagrams, each preceded by
 * its length in two bytes (big-endian), the form of the netflow corpus
 * (tests/fuzz/corpus/netflow, shared with fuzz_netflow); the clock moves
 * by the third byte of each datagram so that records wait, pair and time
 * out. A small flow limit makes the pairing table fill and grow. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/detect.h"
#include "netflow/netflow.h"
#include "output/eve.h"
#include "pipeline/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	struct pipeline *p;
	uint64_t now;
};

static void on_record(void *arg, const struct nf_record *r)
{
	struct ctx *c = arg;

	pipeline_record(c->p, r, c->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	struct nf_config ncfg = {
	    .max_exporters = 4, .max_templates = 8, .template_timeout_us = 5000000};
	struct detect_config dcfg;
	struct pipeline_config cfg = {
	    .flow = {.max_flows = 3000,
		     .idle_timeout_us = 60000000,
		     .active_timeout_us = 300000000,
		     .closed_timeout_us = 30000000},
	    .detect = &dcfg,
	    .pair_wait_us = 2000000,
	};
	struct ctx c = {NULL, 1700000000000000ULL};
	struct nf_collector *nf;
	struct eve *e;
	struct ip_addr exp;
	uint8_t a[4] = {192, 0, 2, 1};

	if (devnull < 0)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	detect_config_defaults(&dcfg);
	dcfg.table_entries = 256;
	ipaddr_set4(&exp, a);
	e = eve_new(devnull);
	if (e == NULL)
		return 0;
	c.p = pipeline_new(&cfg, e);
	nf = nf_collector_new(&ncfg, on_record, &c);
	if (c.p == NULL || nf == NULL)
		goto out;
	for (size_t i = 0; size - i >= 2;) {
		size_t n = (size_t)data[i] << 8 | data[i + 1];

		i += 2;
		if (n > size - i)
			n = size - i;
		uint8_t *dg = malloc(n ? n : 1);
		if (dg == NULL)
			break;
		memcpy(dg, data + i, n);
		if (n > 2)
			c.now += (uint64_t)data[i + 2] * 100000;
		(void)nf_collector_datagram(nf, dg, n, &exp, 2055, c.now);
		pipeline_advance(c.p, c.now);
		free(dg);
		i += n;
	}
	pipeline_finish(c.p);
out:
	nf_collector_free(nf);
	pipeline_free(c.p);
	eve_free(e);
	return 0;
}
