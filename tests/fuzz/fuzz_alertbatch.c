/* fuzz_alertbatch.c - the sensor alert batch reader (src/tower/alertbatch.c):
 * any body, at most 50 records. Checks that every record span lies inside the
 * body, opens with '{' and closes with '}', and that a batch it accepts has
 * the fields the store needs, each within what docs/tower.md promises: plain
 * IPv4 or IPv6 addresses (no zone, prefix or name), signature_id 1 to
 * 4294967295, severity 1 to 255, ports 0 to 65535, a timestamp from 1970
 * to a day ahead, at most 64 attackers, each an address. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tower/alertbatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_address(const char *s)
{
	unsigned char bin[16];

	return inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1;
}

/* A comma-joined list of n addresses ("" for none). */
static void addresses(const char *list, size_t n)
{
	char one[64];
	size_t seen = 0;

	if (n > ALERT_ATTACKERS_MAX || (n == 0) != (*list == '\0'))
		abort();
	while (*list != '\0') {
		size_t k = strcspn(list, ",");

		if (k == 0 || k >= sizeof(one))
			abort();
		memcpy(one, list, k);
		one[k] = '\0';
		if (!is_address(one))
			abort();
		seen++;
		list += k + (list[k] == ',');
	}
	if (seen != n)
		abort();
}

static void record_sane(const struct alert_rec *r)
{
	int64_t ts = alert_time_us(r->timestamp, INT64_MIN);

	if (ts < 0 || ts > ((int64_t)time(NULL) + 2 * 86400) * 1000000)
		abort();
	if ((r->src_ip != NULL && !is_address(r->src_ip)) ||
	    (r->dest_ip != NULL && !is_address(r->dest_ip)))
		abort();
	if (r->signature_id < 1 || r->signature_id > 4294967295LL)
		abort();
	if ((r->has & ALERT_HAS_SEVERITY) && (r->severity < 1 || r->severity > 255))
		abort();
	if (((r->has & ALERT_HAS_SRC_PORT) && (r->src_port < 0 || r->src_port > 65535)) ||
	    ((r->has & ALERT_HAS_DEST_PORT) && (r->dest_port < 0 || r->dest_port > 65535)))
		abort();
	if (r->attackers != NULL)
		addresses(r->attackers, r->n_attackers);
	if (r->n_attacker_packets > ALERT_ATTACKERS_MAX)
		abort();
}

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
			record_sane(r);
		}
	}
	alert_batch_free(&b);
	return 0;
}
