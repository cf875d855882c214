/* test_reconfigure.c - a detector configuration published while two
 * workers' pipelines run (pipeline_config.detect_update): each takes it at
 * its next batch, the shared cross-flow detectors once, and what they
 * counted before stays counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "pipeline/pipeline.h"

#define SEC 1000000ULL
#define T0 (1800000000ULL * SEC)

/* Ethernet, IPv4, TCP without options: src -> dst with flags. */
static void tcp_frame(uint8_t *b, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		      uint8_t flags)
{
	memset(b, 0, 54);
	b[12] = 0x08;
	b[14] = 0x45;
	b[17] = 40;
	b[20] = 0x40; /* DF */
	b[22] = 64;
	b[23] = 6;
	for (int i = 0; i < 4; i++) {
		b[26 + i] = (uint8_t)(src >> (24 - 8 * i));
		b[30 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	b[34] = (uint8_t)(sport >> 8);
	b[35] = (uint8_t)sport;
	b[36] = (uint8_t)(dport >> 8);
	b[37] = (uint8_t)dport;
	b[41] = 1;
	b[46] = 0x50;
	b[47] = flags;
	b[48] = 0xff;
}

#define SCANNER 0xcb007105u /* 203.0.113.5 */

/* n refused SYNs from SCANNER to 10.20.0.first+1 ... on port 23 at ts,
 * then a packet 5 s later elsewhere, which ends their flows. */
static void scan(struct pipeline *p, int first, int n, uint64_t ts)
{
	static uint8_t buf[2 * 64 + 1][54];
	struct frame fr[2 * 64 + 1];
	int k = 0;

	for (int i = first; i < first + n; i++) {
		uint32_t dst = 0x0a140000u + (uint32_t)i + 1;
		tcp_frame(buf[k], SCANNER, dst, (uint16_t)(40000 + i), 23, 0x02);
		fr[k] = (struct frame){buf[k], 54, 54, ts + (uint64_t)i * 10000, 1};
		k++;
		tcp_frame(buf[k], dst, SCANNER, 23, (uint16_t)(40000 + i), 0x14);
		fr[k] = (struct frame){buf[k], 54, 54, ts + (uint64_t)i * 10000 + 1000, 1};
		k++;
	}
	pipeline_frames(p, fr, (size_t)k);
	tcp_frame(buf[0], 0x0a090909u, 0x0a09090au, 1000, 80, 0x10);
	fr[0] = (struct frame){buf[0], 54, 54, ts + 5 * SEC, 1};
	pipeline_frames(p, fr, 1);
}

/* Horizontal scan alerts written so far to the file behind fd. */
static int horizontal(int fd)
{
	char buf[1 << 16];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int count = 0;

	buf[n > 0 ? n : 0] = '\0';
	for (char *s = buf; (s = strstr(s, "horizontal TCP SYN scan")) != NULL; s++)
		count++;
	return count;
}

struct snap {
	struct pipeline_detect_snap ds;
};

static int freed;

static void snap_free(struct snap_ref *r)
{
	freed++;
	free((char *)r - offsetof(struct pipeline_detect_snap, ref));
}

static void test_two_workers_take_a_new_threshold(void **state)
{
	struct detect_config dc;
	struct pipeline_config cfg = {
		.flow = {.max_flows = 1024, .idle_timeout_us = SEC, .active_timeout_us = 300 * SEC,
			 .closed_timeout_us = SEC},
		.meta = META_STANDARD,
	};
	struct snap_handle *h = snap_handle_new();
	struct pipeline_shared *sh;
	struct pipeline *a, *b;
	struct eve *ea, *eb;
	struct pipeline_detect_snap *ds;
	char err[128];
	FILE *f = tmpfile();
	int fd = fileno(f);

	(void)state;
	detect_config_defaults(&dc);
	assert_int_equal(detect_config_set(&dc, "scan.hosts=50", err, sizeof(err)), 0);
	assert_non_null(h);
	assert_non_null(sh = pipeline_shared_new(&dc));
	cfg.detect = &dc;
	cfg.shared = sh;
	cfg.detect_update = h;
	ea = eve_new(fd);
	eb = eve_new(fd);
	eve_set_lock(ea, pipeline_shared_output_lock(sh));
	eve_set_lock(eb, pipeline_shared_output_lock(sh));
	assert_non_null(a = pipeline_new(&cfg, ea));
	assert_non_null(b = pipeline_new(&cfg, eb));

	/* Worker a: 15 hosts, below 50. */
	scan(a, 0, 15, T0);
	eve_flush(ea);
	assert_int_equal(horizontal(fd), 0);

	/* 10 from now on; table.entries stays what the tables were made with. */
	ds = yg_calloc(1, sizeof(*ds));
	assert_non_null(ds);
	ds->detect = dc;
	assert_int_equal(detect_config_set(&ds->detect, "scan.hosts=10", err, sizeof(err)), 0);
	assert_int_equal(detect_config_set(&ds->detect, "table.entries=128", err, sizeof(err)), 0);
	ds->gen = 1;
	snap_ref_init(&ds->ref, snap_free);
	snap_handle_publish(h, &ds->ref);

	/* Worker b's next batch takes it, for the shared detectors too: its
	 * 5 hosts make 20 with a's, past the new 10. */
	scan(b, 15, 5, T0 + 10 * SEC);
	eve_flush(eb);
	assert_int_equal(horizontal(fd), 1);

	/* Published again, released only when every holder let go. */
	snap_handle_publish(h, NULL);
	assert_int_equal(freed, 0);
	pipeline_free(a);
	pipeline_free(b);
	assert_int_equal(freed, 0); /* the shared detectors still hold it */
	pipeline_shared_free(sh);
	assert_int_equal(freed, 1);
	eve_free(ea);
	eve_free(eb);
	snap_handle_free(h);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_workers_take_a_new_threshold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
