/* fuzz_netflow.c - libFuzzer target for src/netflow (v5, v9 and IPFIX).
 *
 * The input is read twice: once as one datagram given to a fresh
 * collector, then as a sequence of datagrams, each preceded by its length
 * in two bytes (big-endian), given to one collector with a short template
 * timeout and a clock that advances, so that templates announced in one
 * datagram are used, changed, withdrawn and expired by the next ones. The
 * corpus (tests/fuzz/corpus/netflow, tests/fuzz/netflow_corpus.py) holds
 * both forms. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netflow/netflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(void *ctx, const struct nf_record *r)
{
	(void)ctx;
	/* What a caller will read must hold together. */
	if ((r->src.family != 4 && r->src.family != 6) || r->src.family != r->dst.family ||
	    r->sampling < 1 || (r->version != 5 && r->version != 9 && r->version != 10))
		__builtin_trap();
	if (r->src.family == 4 && (r->src.a[4] | r->src.a[15] | r->dst.a[4] | r->dst.a[15]))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nf_config cfg = {
	    .max_exporters = 4, .max_templates = 8, .template_timeout_us = 5000000};
	struct nf_collector *c;
	struct ip_addr exp[2];
	uint8_t a[4] = {192, 0, 2, 1};
	uint64_t now = 1;

	ipaddr_set4(&exp[0], a);
	a[3] = 2;
	ipaddr_set4(&exp[1], a);

	c = nf_collector_new(&cfg, check, NULL);
	if (c == NULL)
		return 0;
	(void)nf_collector_datagram(c, data, size, &exp[0], 2055, now);
	nf_collector_free(c);

	c = nf_collector_new(&cfg, check, NULL);
	if (c == NULL)
		return 0;
	for (size_t i = 0; size - i >= 2;) {
		size_t n = (size_t)data[i] << 8 | data[i + 1];

		i += 2;
		if (n > size - i)
			n = size - i;
		/* Exact-size copies, so that ASan sees a read past the datagram. */
		uint8_t *dg = malloc(n ? n : 1);
		if (dg == NULL)
			break;
		memcpy(dg, data + i, n);
		(void)nf_collector_datagram(c, dg, n, &exp[n & 1], 2055, now);
		free(dg);
		i += n;
		now += (uint64_t)(n & 7) * 1000000;
	}
	nf_collector_expire(c, now + 10000000);
	if (nf_collector_stats(c)->templates != 0)
		__builtin_trap();
	nf_collector_free(c);
	return 0;
}
