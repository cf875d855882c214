/* test_capture_live.c - live capture (capture.h) on a veth pair in a
 * network namespace of the test's own (unshare(CLONE_NEWNET)): frames
 * sent on one end are read on the other through the AF_PACKET ring and
 * through libpcap, whole and in order, with their VLAN tags; a fanout
 * group keeps each flow on one reader; stats count them; capture_break
 * ends a reader. Skipped where the test may not make a namespace (not
 * root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"

static const char MARK[] = "yagura-live-test";

/* An Ethernet frame of a UDP packet from 10.9.0.1:sport to 10.9.0.2:53
 * carrying MARK and seq, with a VLAN tag when vid > 0. Its length. */
static size_t frame(uint8_t *b, uint16_t sport, uint32_t seq, int vid)
{
	static const uint8_t dst[6] = {2, 0, 0, 0, 0, 2}, src[6] = {2, 0, 0, 0, 0, 1};
	size_t o = 12, plen = sizeof(MARK) + 4;

	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	if (vid > 0) {
		b[o++] = 0x81, b[o++] = 0x00, b[o++] = (uint8_t)(vid >> 8), b[o++] = (uint8_t)vid;
	}
	b[o++] = 0x08, b[o++] = 0x00;
	uint8_t *ip = b + o;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + 8 + plen) >> 8), ip[3] = (uint8_t)(20 + 8 + plen);
	ip[8] = 64, ip[9] = 17;
	ip[12] = 10, ip[13] = 9, ip[14] = 0, ip[15] = 1;
	ip[16] = 10, ip[17] = 9, ip[18] = 0, ip[19] = 2;
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8), ip[11] = (uint8_t)~sum;
	uint8_t *udp = ip + 20;
	udp[0] = (uint8_t)(sport >> 8), udp[1] = (uint8_t)sport, udp[2] = 0, udp[3] = 53;
	udp[4] = (uint8_t)((8 + plen) >> 8), udp[5] = (uint8_t)(8 + plen), udp[6] = udp[7] = 0;
	memcpy(udp + 8, MARK, sizeof(MARK));
	memcpy(udp + 8 + sizeof(MARK), &seq, 4);
	return o + 20 + 8 + plen;
}

/* Whether f is one of frame()'s; its seq and source port. */
static int ours(const struct frame *f, uint32_t *seq, uint16_t *sport)
{
	const uint8_t *m = memmem(f->data, f->caplen, MARK, sizeof(MARK));

	if (m == NULL || m + sizeof(MARK) + 4 > f->data + f->caplen)
		return 0;
	memcpy(seq, m + sizeof(MARK), 4);
	*sport = (uint16_t)(m[-8] << 8 | m[-7]);
	return 1;
}

static int tx = -1;

static void send_frame(const uint8_t *b, size_t n)
{
	assert_int_equal(send(tx, b, n, 0), (ssize_t)n);
}

static int setup(void **state)
{
	(void)state;
	if (getuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return 0;
	if (system("ip link add va type veth peer name vb && ip link set va up && "
		   "ip link set vb up && echo 1 > /proc/sys/net/ipv6/conf/va/disable_ipv6 && "
		   "echo 1 > /proc/sys/net/ipv6/conf/vb/disable_ipv6") != 0)
		return 0;
	tx = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)if_nametoindex("va")};
	if (tx < 0 || bind(tx, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		tx = -1;
	return 0;
}

#define NEED_NETNS()                                                                          \
	do {                                                                                  \
		if (tx < 0)                                                                   \
			skip();                                                               \
	} while (0)

static struct capture *open_vb(enum capture_live_kind kind, int fanout)
{
	struct capture_live_opts o = {.ifname = "vb", .kind = kind, .snaplen = 2048,
				      .block_size = 1u << 16, .block_count = 8, .timeout_ms = 20,
				      .fanout_group = fanout};
	struct capture *c = NULL;
	char err[256];

	assert_int_equal(capture_open_live(&o, &c, err, sizeof(err)), 0);
	return c;
}

/* Reads c until want of our frames came or 3 s passed; each one's seq
 * into seqs (by arrival), its source port into sports; returns how many. */
static int drain(struct capture *c, int want, uint32_t *seqs, uint16_t *sports,
		 uint8_t (*bytes)[128], size_t *lens)
{
	struct frame f[64];
	int got = 0;
	time_t end = time(NULL) + 3;

	while (got < want && time(NULL) < end) {
		int n = capture_next_batch(c, f, 64);

		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			uint32_t seq;
			uint16_t sport;

			if (!ours(&f[i], &seq, &sport) || got >= want)
				continue;
			assert_true(f[i].ts_us > 1700000000ull * 1000000);
			if (seqs)
				seqs[got] = seq;
			if (sports)
				sports[got] = sport;
			if (bytes && f[i].caplen <= 128) {
				memcpy(bytes[got], f[i].data, f[i].caplen);
				lens[got] = f[i].caplen;
			}
			got++;
		}
	}
	return got;
}

static void afpacket_reads_frames_whole_and_in_order(void **state)
{
	uint8_t b[128], got[200][128];
	size_t len[200];
	uint32_t seqs[200];

	(void)state;
	NEED_NETNS();
	struct capture *c = open_vb(CAPTURE_LIVE_AFPACKET, -1);
	assert_string_equal(capture_format(c), "afpacket");
	for (uint32_t i = 0; i < 200; i++)
		send_frame(b, frame(b, 40000, i, 0));
	assert_int_equal(drain(c, 200, seqs, NULL, got, len), 200);
	for (uint32_t i = 0; i < 200; i++) {
		assert_int_equal(seqs[i], i);
		assert_int_equal(len[i], frame(b, 40000, i, 0));
		assert_memory_equal(got[i], b, len[i]);
	}
	struct capture_stats st;
	capture_stats(c, &st);
	assert_true(st.received >= 200);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.ring_blocks, 8);
	capture_close(c);
}

static void afpacket_puts_the_vlan_tag_back(void **state)
{
	uint8_t b[128], got[1][128];
	size_t len[1], n;

	(void)state;
	NEED_NETNS();
	struct capture *c = open_vb(CAPTURE_LIVE_AFPACKET, -1);
	n = frame(b, 40001, 7, 42);
	send_frame(b, n);
	assert_int_equal(drain(c, 1, NULL, NULL, got, len), 1);
	assert_int_equal(len[0], n);
	assert_memory_equal(got[0], b, n); /* tag 0x8100, VID 42, where it was */
	capture_close(c);
}

static void fanout_keeps_each_flow_on_one_reader(void **state)
{
	uint8_t b[128];
	uint16_t sp[2][128];
	int got[2], flows = 16, per = 8;

	(void)state;
	NEED_NETNS();
	struct capture *c[2] = {open_vb(CAPTURE_LIVE_AFPACKET, 4242),
				open_vb(CAPTURE_LIVE_AFPACKET, 4242)};
	for (int k = 0; k < per; k++)
		for (int fl = 0; fl < flows; fl++)
			send_frame(b, frame(b, (uint16_t)(41000 + fl), (uint32_t)k, 0));
	/* Each reader drains what came to it; together, every frame once. */
	got[0] = drain(c[0], flows * per, NULL, sp[0], NULL, NULL);
	got[1] = drain(c[1], flows * per - got[0], NULL, sp[1], NULL, NULL);
	assert_int_equal(got[0] + got[1], flows * per);
	assert_true(got[0] > 0 && got[1] > 0); /* 16 flows, all on one: 1 in 32768 */
	for (int i = 0; i < got[0]; i++)
		for (int j = 0; j < got[1]; j++)
			assert_int_not_equal(sp[0][i], sp[1][j]);
	capture_close(c[0]);
	capture_close(c[1]);
}

static void pcap_live_reads_frames(void **state)
{
	uint8_t b[128];
	uint32_t seqs[20];

	(void)state;
	NEED_NETNS();
	struct capture *c = open_vb(CAPTURE_LIVE_PCAP, -1);
	assert_string_equal(capture_format(c), "pcap-live");
	for (uint32_t i = 0; i < 20; i++)
		send_frame(b, frame(b, 40002, i, 0));
	assert_int_equal(drain(c, 20, seqs, NULL, NULL, NULL), 20);
	for (uint32_t i = 0; i < 20; i++)
		assert_int_equal(seqs[i], i);
	capture_close(c);
}

static void break_ends_a_reader(void **state)
{
	struct frame f[4];

	(void)state;
	NEED_NETNS();
	struct capture *c = open_vb(CAPTURE_LIVE_AFPACKET, -1);
	assert_false(capture_done(c));
	capture_break(c);
	assert_int_equal(capture_next_batch(c, f, 4), 0);
	assert_true(capture_done(c));
	capture_close(c);
}

static void refuses_what_it_cannot_open(void **state)
{
	struct capture_live_opts o = {.ifname = "no-such-if0", .fanout_group = -1};
	struct capture *c = NULL;
	char err[256];

	(void)state;
	assert_true(capture_open_live(&o, &c, err, sizeof(err)) < 0);
	assert_null(c);
	assert_non_null(strstr(err, "no-such-if0"));
	o.ifname = "lo";
	o.block_size = 1000; /* not a power of two */
	assert_true(capture_open_live(&o, &c, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "power of two"));
	o.ifname = "";
	assert_true(capture_open_live(&o, &c, err, sizeof(err)) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(afpacket_reads_frames_whole_and_in_order),
		cmocka_unit_test(afpacket_puts_the_vlan_tag_back),
		cmocka_unit_test(fanout_keeps_each_flow_on_one_reader),
		cmocka_unit_test(pcap_live_reads_frames),
		cmocka_unit_test(break_ends_a_reader),
		cmocka_unit_test(refuses_what_it_cannot_open),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
