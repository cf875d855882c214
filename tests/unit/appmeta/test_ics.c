/* test_ics.c - ics_parse_modbus(), ics_parse_dnp3() and ics_parse_s7comm()
 * on hand-made units (every function class, multiple units per payload,
 * bad CRCs, bad lengths), on real payloads taken from the captures in
 * /work/shared/data/pcaps with the functions tshark 4.0 gives them, on
 * every prefix of each, and, where the shared captures are present, on
 * every payload of those captures (function code tallies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/capture.h"
#include "decode/decode.h"
#include "decode/ics.h"

#ifndef YG_SHARED_DIR
#define YG_SHARED_DIR "/nonexistent"
#endif

#define N(a)        (sizeof(a) / sizeof((a)[0]))
#define MAX_OPS     16
#define PAYLOAD_MAX 1024

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		assert_int_equal(sscanf(h, "%2x", &v), 1);
		assert_true(n < PAYLOAD_MAX);
		out[n++] = (uint8_t)v;
	}
	assert_int_equal(h[0], '\0');
	return n;
}

/* ---- checks every payload goes through ------------------------------ */

/* Every prefix of a payload parses to a prefix of its ops (only the last
 * may be PARTIAL) or to YG_ETRUNC, never to YG_EFORMAT; and parsing one
 * op at a time from *used gives the same ops as parsing all at once. */
static void check_prefixes_and_resume(int proto, const uint8_t *p, size_t len, int from_server)
{
	struct ics_op full[MAX_OPS], ops[MAX_OPS];
	size_t used, off, n;
	int nfull, r;

	nfull = ics_parse(proto, p, len, from_server, full, MAX_OPS, &used);
	assert_true(nfull >= 0);
	for (size_t k = 0; k <= len; k++) {
		r = ics_parse(proto, p, k, from_server, ops, MAX_OPS, &used);
		if (r < 0) {
			assert_int_equal(r, YG_ETRUNC);
			assert_true(used < k || k == 0);
			continue;
		}
		assert_true(r <= nfull);
		assert_true(used <= k);
		for (int i = 0; i < r; i++) {
			assert_int_equal(ops[i].function, full[i].function);
			assert_int_equal(ops[i].proto, full[i].proto);
			assert_non_null(ops[i].name);
			if (i < r - 1)
				assert_false(ops[i].flags & ICS_OPF_PARTIAL);
		}
		if (k == 0)
			assert_int_equal(r, 0);
		if (k == len)
			assert_int_equal(r, nfull);
	}

	/* One op at a time, resuming at *used. */
	off = 0;
	n = 0;
	while (off < len && n < (size_t)nfull) {
		r = ics_parse(proto, p + off, len - off, from_server, ops, 1, &used);
		assert_true(r == 0 || r == 1);
		if (r == 1) {
			assert_int_equal(ops[0].function, full[n].function);
			assert_int_equal(ops[0].op_class, full[n].op_class);
			n++;
		}
		if (r == 1 && (ops[0].flags & ICS_OPF_PARTIAL))
			break;
		assert_true(used > 0);
		off += used;
	}
	assert_int_equal(n, (size_t)nfull);
}

/* Parses p and checks the op count and function codes. */
static int parse_expect(int proto, const uint8_t *p, size_t len, int from_server, int want,
			const uint8_t *fcs, struct ics_op *ops)
{
	size_t used;
	int r = ics_parse(proto, p, len, from_server, ops, MAX_OPS, &used);

	assert_int_equal(r, want);
	for (int i = 0; i < r; i++) {
		assert_int_equal(ops[i].proto, proto);
		assert_int_equal(ops[i].function, fcs[i]);
		assert_non_null(ops[i].name);
		assert_true(ops[i].op_class <= ICS_OP_OTHER);
	}
	if (r >= 0)
		check_prefixes_and_resume(proto, p, len, from_server);
	return r;
}

static struct ics_op parse_one(int proto, const uint8_t *p, size_t len, int from_server)
{
	struct ics_op ops[MAX_OPS];
	size_t used;
	int r = ics_parse(proto, p, len, from_server, ops, MAX_OPS, &used);

	assert_int_equal(r, 1);
	assert_int_equal(used, len);
	check_prefixes_and_resume(proto, p, len, from_server);
	return ops[0];
}

/* ---- Modbus/TCP, hand-made ------------------------------------------ */

/* An ADU: MBAP header (protocol id 0) + unit + PDU. Returns its length. */
static size_t mb_adu(uint8_t *o, uint16_t tid, uint8_t unit, const uint8_t *pdu, size_t n)
{
	o[0] = (uint8_t)(tid >> 8);
	o[1] = (uint8_t)tid;
	o[2] = 0;
	o[3] = 0;
	o[4] = (uint8_t)((n + 1) >> 8);
	o[5] = (uint8_t)(n + 1);
	o[6] = unit;
	memcpy(o + 7, pdu, n);
	return 7 + n;
}

struct mb_case {
	const char *name;
	int from_server;
	uint8_t pdu[12];
	size_t n;
	uint8_t op_class;
	uint16_t sub;
	uint8_t flags;
};

static const struct mb_case mb_cases[] = {
	{"read_coils", 0, {1, 0, 0, 0, 8}, 5, ICS_OP_READ, 0, 0},
	{"write_single_coil", 0, {5, 0, 0x10, 0xff, 0}, 5, ICS_OP_WRITE, 0, 0},
	{"write_single_register", 0, {6, 0, 1, 0, 3}, 5, ICS_OP_WRITE, 0, 0},
	{"write_multiple_coils", 0, {15, 0, 0, 0, 9, 2, 0xff, 1}, 8, ICS_OP_WRITE, 0, 0},
	{"write_multiple_registers", 0, {16, 0, 1, 0, 2, 4, 0, 10, 1, 2}, 10, ICS_OP_WRITE, 0, 0},
	{"mask_write_register", 0, {22, 0, 4, 0, 0xf2, 0, 0x25}, 7, ICS_OP_WRITE, 0, 0},
	{"read_write_multiple_registers", 0, {23, 0, 3, 0, 6, 0, 0xe, 0, 1, 2, 0, 0xff}, 12,
	 ICS_OP_WRITE, 0, 0},
	{"write_file_record", 0, {21, 7, 6, 0, 4, 0, 7, 0, 1, 0x06, 0xaf}, 11, ICS_OP_WRITE, 0, 0},
	{"read_exception_status", 0, {7}, 1, ICS_OP_DIAGNOSTIC, 0, 0},
	{"restart_communications", 0, {8, 0, 1, 0, 0}, 5, ICS_OP_RESTART, 1, 0},
	{"force_listen_only_mode", 0, {8, 0, 4, 0, 0}, 5, ICS_OP_CONTROL, 4, 0},
	{"clear_counters", 0, {8, 0, 10, 0, 0}, 5, ICS_OP_DIAGNOSTIC, 10, 0},
	{"diagnostics", 0, {8, 0, 0, 0xa5, 0x37}, 5, ICS_OP_DIAGNOSTIC, 0, 0},
	{"diagnostics", 0, {8}, 1, ICS_OP_DIAGNOSTIC, 0, 0}, /* no subfunction */
	{"restart_communications", 1, {8, 0, 1, 0xff, 0}, 5, ICS_OP_RESTART, 1, 0},
	{"get_comm_event_counter", 0, {11}, 1, ICS_OP_DIAGNOSTIC, 0, 0},
	{"get_comm_event_log", 0, {12}, 1, ICS_OP_DIAGNOSTIC, 0, 0},
	{"report_server_id", 0, {17}, 1, ICS_OP_DIAGNOSTIC, 0, 0},
	{"read_device_identification", 0, {43, 14, 1, 0}, 4, ICS_OP_DIAGNOSTIC, 14, 0},
	{"canopen_general_reference", 0, {43, 13, 0}, 3, ICS_OP_OTHER, 13, 0},
	{"umas_stop_plc", 0, {90, 0x12, 0x41, 0xff}, 4, ICS_OP_STOP, 0x41, 0},
	{"umas_start_plc", 0, {90, 0x12, 0x40, 0xff}, 4, ICS_OP_PROGRAM, 0x40, 0},
	{"umas_download_block", 0, {90, 0x12, 0x34, 1, 0}, 5, ICS_OP_PROGRAM, 0x34, 0},
	{"umas_init_comm", 0, {90, 0, 0x01, 0}, 4, ICS_OP_PROGRAM, 0x01, 0},
	{"umas", 1, {90, 0x12, 0xfe, 0}, 4, ICS_OP_PROGRAM, 0xfe, 0},
	{"umas", 0, {90}, 1, ICS_OP_PROGRAM, 0, 0},
	{"umas", 0, {90, 0x12, 0x77}, 3, ICS_OP_PROGRAM, 0x77, 0}, /* a code not in the list */
	{"exception", 1, {0x83, 0x02}, 2, ICS_OP_RESPONSE, 2, ICS_OPF_ERROR},
	{"exception", 1, {0x90, 0x04}, 2, ICS_OP_RESPONSE, 4, ICS_OPF_ERROR},
	{"unknown", 0, {100, 1, 2}, 3, ICS_OP_OTHER, 0, 0},
	{"unknown", 0, {0}, 1, ICS_OP_OTHER, 0, 0},
};

static void test_modbus_functions(void **state)
{
	uint8_t buf[64];

	(void)state;
	for (size_t i = 0; i < N(mb_cases); i++) {
		const struct mb_case *k = &mb_cases[i];
		size_t n = mb_adu(buf, (uint16_t)(0x100 + i), 7, k->pdu, k->n);
		struct ics_op op = parse_one(ICS_MODBUS, buf, n, k->from_server);

		assert_int_equal(op.proto, ICS_MODBUS);
		assert_int_equal(op.function, k->pdu[0]);
		assert_string_equal(op.name, k->name);
		assert_int_equal(op.op_class, k->op_class);
		assert_int_equal(op.sub, k->sub);
		assert_int_equal(op.flags, k->flags);
		assert_int_equal(op.is_request, !k->from_server);
		assert_int_equal(op.unit, 7);
		assert_int_equal(op.seq, 0x100 + i);
		assert_int_equal(op.unit_len, n);
	}
}

/* Reads, then a write hidden behind them in the same segment. */
static void test_modbus_several_adus(void **state)
{
	static const uint8_t rd[] = {3, 0, 0, 0, 10}, wr[] = {6, 0, 1, 0, 3};
	uint8_t buf[64];
	struct ics_op ops[MAX_OPS];
	size_t n = 0, used;

	(void)state;
	n += mb_adu(buf + n, 1, 1, rd, sizeof(rd));
	n += mb_adu(buf + n, 2, 1, rd, sizeof(rd));
	n += mb_adu(buf + n, 3, 2, wr, sizeof(wr));
	assert_int_equal(ics_parse_modbus(buf, n, 0, ops, MAX_OPS, &used), 3);
	assert_int_equal(used, n);
	assert_int_equal(ops[2].op_class, ICS_OP_WRITE);
	assert_int_equal(ops[2].unit, 2);
	assert_int_equal(ops[2].seq, 3);
	check_prefixes_and_resume(ICS_MODBUS, buf, n, 0);

	/* max stops at an ADU boundary; going on from used gives the rest. */
	assert_int_equal(ics_parse_modbus(buf, n, 0, ops, 2, &used), 2);
	assert_int_equal(used, 24);
	assert_int_equal(ics_parse_modbus(buf + used, n - used, 0, ops, 2, &used), 1);
	assert_string_equal(ops[0].name, "write_single_register");
	assert_int_equal(ics_parse_modbus(buf, n, 0, NULL, 0, &used), 0);
	assert_int_equal(used, 0);

	/* Cut inside the third ADU, after its function code. */
	assert_int_equal(ics_parse_modbus(buf, n - 2, 0, ops, MAX_OPS, &used), 3);
	assert_int_equal(used, 24);
	assert_true(ops[2].flags & ICS_OPF_PARTIAL);
	assert_int_equal(ops[2].unit_len, 12);
	assert_int_equal(ops[2].op_class, ICS_OP_WRITE);
	/* Cut before it: the two reads, and YG_ETRUNC from where they end. */
	assert_int_equal(ics_parse_modbus(buf, n - 5, 0, ops, MAX_OPS, &used), 2);
	assert_int_equal(used, 24);
	assert_int_equal(ics_parse_modbus(buf + used, n - 5 - used, 0, ops, MAX_OPS, NULL),
			 YG_ETRUNC);
}

static void test_modbus_malformed(void **state)
{
	static const uint8_t rd[] = {3, 0, 0, 0, 10};
	uint8_t buf[300];
	struct ics_op ops[MAX_OPS];
	size_t n, used;

	(void)state;
	n = mb_adu(buf, 1, 1, rd, sizeof(rd));
	buf[3] = 1; /* protocol id 1 */
	assert_int_equal(ics_parse_modbus(buf, n, 0, ops, MAX_OPS, &used), YG_EFORMAT);
	assert_int_equal(used, 0);
	buf[3] = 0;
	buf[5] = 1; /* length 1: no room for the function code */
	assert_int_equal(ics_parse_modbus(buf, n, 0, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[5] = 0;
	assert_int_equal(ics_parse_modbus(buf, n, 0, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[4] = 0;
	buf[5] = 255; /* longer than a 253-byte PDU */
	memset(buf + n, 0, sizeof(buf) - n);
	assert_int_equal(ics_parse_modbus(buf, sizeof(buf), 0, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[5] = 254; /* the longest allowed */
	assert_int_equal(ics_parse_modbus(buf, 260, 0, ops, MAX_OPS, &used), 1);
	assert_int_equal(used, 260);

	/* Too short for a function code. */
	n = mb_adu(buf, 1, 1, rd, sizeof(rd));
	for (size_t k = 1; k < 8; k++)
		assert_int_equal(ics_parse_modbus(buf, k, 0, ops, MAX_OPS, NULL), YG_ETRUNC);
	assert_int_equal(ics_parse_modbus(buf, 0, 0, ops, MAX_OPS, &used), 0);

	/* A good ADU then garbage: the op, and used says where it stopped. */
	memcpy(buf + n, "\x12\x34\x56\x78\x9a\xbc\xde\xf0", 8);
	assert_int_equal(ics_parse_modbus(buf, n + 8, 0, ops, MAX_OPS, &used), 1);
	assert_int_equal(used, n);
	assert_int_equal(ics_parse_modbus(buf + used, 8, 0, ops, MAX_OPS, NULL), YG_EFORMAT);
}

/* ---- DNP3, hand-made ------------------------------------------------- */

/* CRC-16/DNP bit by bit, apart from the parser's table. */
static uint16_t crc_dnp(const uint8_t *p, size_t n)
{
	uint16_t c = 0;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int b = 0; b < 8; b++)
			c = (c & 1) ? (uint16_t)(c >> 1 ^ 0xa6bc) : (uint16_t)(c >> 1);
	}
	return (uint16_t)~c;
}

static void put_crc(uint8_t *o, const uint8_t *p, size_t n)
{
	uint16_t c = crc_dnp(p, n);

	o[0] = (uint8_t)c;
	o[1] = (uint8_t)(c >> 8);
}

/* A link frame around n bytes of user data (transport + application). */
static size_t dnp3_frame(uint8_t *o, uint8_t ctrl, uint16_t dst, uint16_t src, const uint8_t *ud,
			 size_t n)
{
	size_t len = 10;

	o[0] = 0x05;
	o[1] = 0x64;
	o[2] = (uint8_t)(5 + n);
	o[3] = ctrl;
	o[4] = (uint8_t)dst;
	o[5] = (uint8_t)(dst >> 8);
	o[6] = (uint8_t)src;
	o[7] = (uint8_t)(src >> 8);
	put_crc(o + 8, o, 8);
	for (size_t off = 0; off < n; off += 16) {
		size_t b = n - off < 16 ? n - off : 16;

		memcpy(o + len, ud + off, b);
		put_crc(o + len + b, ud + off, b);
		len += b + 2;
	}
	return len;
}

#define DNP3_MASTER 0xc4 /* DIR, PRM, unconfirmed user data */
#define DNP3_OUTST  0x44 /* PRM, unconfirmed user data */

static void test_dnp3_crc(void **state)
{
	static const uint8_t hdr[] = {0x05, 0x64, 0x14, 0xc4, 0x0a, 0x00, 0x01, 0x00};

	(void)state;
	assert_int_equal(crc_dnp((const uint8_t *)"123456789", 9), 0xea82);
	/* The header of iti__read_and_response.pcap frame 4 ends 8f ed. */
	assert_int_equal(crc_dnp(hdr, sizeof(hdr)), 0xed8f);
}

struct dnp3_case {
	uint8_t fc;
	const char *name;
	uint8_t op_class;
	uint8_t is_request;
};

static const struct dnp3_case dnp3_cases[] = {
	{0, "confirm", ICS_OP_OTHER, 1},
	{1, "read", ICS_OP_READ, 1},
	{2, "write", ICS_OP_WRITE, 1},
	{3, "select", ICS_OP_CONTROL, 1},
	{4, "operate", ICS_OP_CONTROL, 1},
	{5, "direct_operate", ICS_OP_CONTROL, 1},
	{6, "direct_operate_no_ack", ICS_OP_CONTROL, 1},
	{7, "immediate_freeze", ICS_OP_CONTROL, 1},
	{12, "freeze_at_time_no_ack", ICS_OP_CONTROL, 1},
	{13, "cold_restart", ICS_OP_RESTART, 1},
	{14, "warm_restart", ICS_OP_RESTART, 1},
	{16, "initialize_application", ICS_OP_CONTROL, 1},
	{17, "start_application", ICS_OP_CONTROL, 1},
	{18, "stop_application", ICS_OP_STOP, 1},
	{19, "save_configuration", ICS_OP_PROGRAM, 1},
	{21, "disable_unsolicited", ICS_OP_CONTROL, 1},
	{23, "delay_measurement", ICS_OP_DIAGNOSTIC, 1},
	{24, "record_current_time", ICS_OP_OTHER, 1},
	{25, "open_file", ICS_OP_FILE, 1},
	{26, "close_file", ICS_OP_FILE, 1},
	{27, "delete_file", ICS_OP_FILE, 1},
	{28, "get_file_info", ICS_OP_FILE, 1},
	{29, "authenticate_file", ICS_OP_FILE, 1},
	{30, "abort_file", ICS_OP_FILE, 1},
	{31, "activate_config", ICS_OP_PROGRAM, 1},
	{129, "response", ICS_OP_RESPONSE, 0},
	{130, "unsolicited_response", ICS_OP_RESPONSE, 0},
	{131, "authentication_response", ICS_OP_RESPONSE, 0},
	{99, "unknown", ICS_OP_OTHER, 1},
};

static void test_dnp3_functions(void **state)
{
	uint8_t ud[40], buf[80];

	(void)state;
	for (size_t i = 0; i < N(dnp3_cases); i++) {
		const struct dnp3_case *k = &dnp3_cases[i];
		/* FIR|FIN seq 3; app FIR|FIN seq 5; function; then IIN or an object header */
		size_t n = 0, len;
		struct ics_op op;

		ud[n++] = 0xc3;
		ud[n++] = 0xc5;
		ud[n++] = k->fc;
		ud[n++] = 0x90;
		ud[n++] = 0x01;
		for (size_t j = 0; j < 20; j++) /* a second block */
			ud[n++] = (uint8_t)(0x0c + j);
		len = dnp3_frame(buf, k->is_request ? DNP3_MASTER : DNP3_OUTST, 10, 1, ud, n);
		assert_int_equal(len, 10 + 25 + 4);
		op = parse_one(ICS_DNP3, buf, len, 0);
		assert_int_equal(op.proto, ICS_DNP3);
		assert_int_equal(op.function, k->fc);
		assert_string_equal(op.name, k->name);
		assert_int_equal(op.op_class, k->op_class);
		assert_int_equal(op.is_request, k->is_request);
		assert_int_equal(op.unit, 10);
		assert_int_equal(op.src, 1);
		assert_int_equal(op.seq, 5);
		assert_int_equal(op.unit_len, len);
		assert_int_equal(op.flags, 0);
		assert_int_equal(op.sub, k->fc >= 129 ? 0x9001 : 0);
	}
}

/* direct_operate CROB, 21 bytes of user data: two blocks. */
static const uint8_t dnp3_operate_ud[] = {
	0xc0, 0xc1, 0x05, 0x0c, 0x01, 0x28, 0x01, 0x00, 0x00, 0x00, 0x03, 0x01,
	0x64, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00,
};

static void test_dnp3_frames(void **state)
{
	static const uint8_t link_status[] = {0x05, 0x64, 0x05, 0xc9, 0x0a, 0x00, 0x01, 0x00};
	uint8_t buf[200], later[4] = {0x01, 0xc2, 0x05, 0x00}; /* no FIR */
	struct ics_op ops[MAX_OPS];
	size_t n, m, used;

	(void)state;
	/* A link-layer-only frame, then a direct operate. */
	memcpy(buf, link_status, 8);
	put_crc(buf + 8, buf, 8);
	m = 10;
	n = dnp3_frame(buf + m, DNP3_MASTER, 10, 1, dnp3_operate_ud, sizeof(dnp3_operate_ud));
	assert_int_equal(ics_parse_dnp3(buf, m, ops, MAX_OPS, &used), 0);
	assert_int_equal(used, m);
	assert_int_equal(ics_parse_dnp3(buf, m + n, ops, MAX_OPS, &used), 1);
	assert_int_equal(used, m + n);
	assert_string_equal(ops[0].name, "direct_operate");
	assert_int_equal(ops[0].op_class, ICS_OP_CONTROL);
	check_prefixes_and_resume(ICS_DNP3, buf, m + n, 0);

	/* Cut in the second block: a PARTIAL op from the first. */
	assert_int_equal(ics_parse_dnp3(buf, m + n - 3, ops, MAX_OPS, &used), 1);
	assert_int_equal(used, m);
	assert_true(ops[0].flags & ICS_OPF_PARTIAL);
	assert_int_equal(ops[0].unit_len, n);
	/* Cut before the function code. */
	assert_int_equal(ics_parse_dnp3(buf + m, 12, ops, MAX_OPS, &used), YG_ETRUNC);

	/* A later transport segment (no FIR) has no application header. */
	n = dnp3_frame(buf, DNP3_MASTER, 10, 1, later, sizeof(later));
	assert_int_equal(ics_parse_dnp3(buf, n, ops, MAX_OPS, &used), 0);
	assert_int_equal(used, n);

	/* Two operate frames back to back. */
	n = dnp3_frame(buf, DNP3_MASTER, 10, 1, dnp3_operate_ud, sizeof(dnp3_operate_ud));
	memcpy(buf + n, buf, n);
	assert_int_equal(ics_parse_dnp3(buf, 2 * n, ops, MAX_OPS, &used), 2);
	assert_int_equal(used, 2 * n);
	check_prefixes_and_resume(ICS_DNP3, buf, 2 * n, 0);
}

static void test_dnp3_malformed(void **state)
{
	static const uint8_t short_app[] = {0xc0, 0xc1}; /* FIR but no function */
	uint8_t buf[200];
	struct ics_op ops[MAX_OPS];
	size_t n, used;

	(void)state;
	n = dnp3_frame(buf, DNP3_MASTER, 10, 1, dnp3_operate_ud, sizeof(dnp3_operate_ud));
	buf[8] ^= 1; /* header CRC */
	assert_int_equal(ics_parse_dnp3(buf, n, ops, MAX_OPS, &used), YG_EFORMAT);
	assert_int_equal(used, 0);
	buf[8] ^= 1;
	buf[12] ^= 0x80; /* the function code, under the first block's CRC */
	assert_int_equal(ics_parse_dnp3(buf, n, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[12] ^= 0x80;
	buf[n - 3] ^= 1; /* second block */
	assert_int_equal(ics_parse_dnp3(buf, n, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[n - 3] ^= 1;
	buf[n - 1] ^= 1; /* second block's CRC */
	assert_int_equal(ics_parse_dnp3(buf, n, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[n - 1] ^= 1;
	assert_int_equal(ics_parse_dnp3(buf, n, ops, MAX_OPS, NULL), 1);

	/* A good frame then one with a bad CRC: the first op, used before the second. */
	memcpy(buf + n, buf, n);
	buf[n + 9] ^= 1;
	assert_int_equal(ics_parse_dnp3(buf, 2 * n, ops, MAX_OPS, &used), 1);
	assert_int_equal(used, n);

	buf[0] = 0x06; /* start bytes */
	assert_int_equal(ics_parse_dnp3(buf, n, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[0] = 0x05;
	buf[2] = 4; /* LEN below 5 (the header CRC made to match) */
	put_crc(buf + 8, buf, 8);
	assert_int_equal(ics_parse_dnp3(buf, n, ops, MAX_OPS, NULL), YG_EFORMAT);

	n = dnp3_frame(buf, DNP3_MASTER, 10, 1, short_app, sizeof(short_app));
	assert_int_equal(ics_parse_dnp3(buf, n, ops, MAX_OPS, NULL), YG_EFORMAT);
	assert_int_equal(ics_parse_dnp3(buf, 1, ops, MAX_OPS, NULL), YG_ETRUNC);
	assert_int_equal(ics_parse_dnp3(buf, 9, ops, MAX_OPS, NULL), YG_ETRUNC);
}

/* ---- S7comm, hand-made ----------------------------------------------- */

/* TPKT + COTP DT (EOT set unless eot is 0) around n bytes of S7 PDU. */
static size_t s7_tpkt(uint8_t *o, const uint8_t *pdu, size_t n, int eot)
{
	o[0] = 3;
	o[1] = 0;
	o[2] = (uint8_t)((n + 7) >> 8);
	o[3] = (uint8_t)(n + 7);
	o[4] = 2;
	o[5] = 0xf0;
	o[6] = eot ? 0x80 : 0x00;
	memcpy(o + 7, pdu, n);
	return n + 7;
}

/* An S7 header (rosctr 1 or 7) followed by param and data. */
static size_t s7_pdu(uint8_t *o, uint8_t rosctr, uint16_t ref, const uint8_t *par, size_t plen,
		     size_t dlen)
{
	size_t h = rosctr == 2 || rosctr == 3 ? 12 : 10;

	memset(o, 0, h);
	o[0] = 0x32;
	o[1] = rosctr;
	o[4] = (uint8_t)(ref >> 8);
	o[5] = (uint8_t)ref;
	o[6] = (uint8_t)(plen >> 8);
	o[7] = (uint8_t)plen;
	o[8] = (uint8_t)(dlen >> 8);
	o[9] = (uint8_t)dlen;
	memcpy(o + h, par, plen);
	memset(o + h + plen, 0xaa, dlen);
	return h + plen + dlen;
}

struct s7_case {
	const char *name;
	uint8_t rosctr;
	uint8_t par[40];
	size_t plen;
	uint8_t function;
	uint8_t op_class;
	uint8_t is_request;
};

static const struct s7_case s7_cases[] = {
	{"read_var", 1, {0x04, 0x01}, 2, 0x04, ICS_OP_READ, 1},
	{"write_var", 1, {0x05, 0x01}, 2, 0x05, ICS_OP_WRITE, 1},
	{"request_download", 1, {0x1a, 0, 1, 0, 0, 0, 0, 0, 9, '_', '0', 'A', '0', '0', '0', '0', '1', 'P'},
	 18, 0x1a, ICS_OP_DOWNLOAD, 1},
	{"download_block", 1, {0x1b, 0}, 2, 0x1b, ICS_OP_DOWNLOAD, 1},
	{"download_ended", 1, {0x1c, 0}, 2, 0x1c, ICS_OP_DOWNLOAD, 1},
	{"start_upload", 1, {0x1d, 0}, 2, 0x1d, ICS_OP_UPLOAD, 1},
	{"plc_stop", 1, {0x29, 0, 0, 0, 0, 0, 9, 'P', '_', 'P', 'R', 'O', 'G', 'R', 'A', 'M'}, 16,
	 0x29, ICS_OP_STOP, 1},
	{"pi_insert_block", 1, {0x28, 0, 0, 0, 0, 0, 0, 0xfd, 0, 0x0a, '0', '0', '0', '1', '0', '8',
				'0', '0', '0', '1', 5, '_', 'I', 'N', 'S', 'E'},
	 26, 0x28, ICS_OP_PROGRAM, 1},
	{"pi_delete_block", 1, {0x28, 0, 0, 0, 0, 0, 0, 0xfd, 0, 0x02, '0', 'A', 5, '_', 'D', 'E',
				'L', 'E'},
	 18, 0x28, ICS_OP_PROGRAM, 1},
	{"pi_plc_start", 1, {0x28, 0, 0, 0, 0, 0, 0, 0xfd, 0, 0, 9, 'P', '_', 'P', 'R', 'O', 'G', 'R',
			     'A', 'M'},
	 20, 0x28, ICS_OP_PROGRAM, 1},
	{"pi_nc_service", 1, {0x28, 0, 0, 0, 0, 0, 0, 0xfd, 0, 0, 9, '_', 'N', '_', 'F', '_', 'D', 'E',
			      'L', 'E'},
	 20, 0x28, ICS_OP_PROGRAM, 1},
	{"pi_service", 1, {0x28, 0, 0, 0, 0, 0, 0, 0xfd, 0, 0, 4, 'X', 'Y', 'Z', 'W'}, 15, 0x28,
	 ICS_OP_PROGRAM, 1},
	{"pi_service", 1, {0x28, 0, 0}, 3, 0x28, ICS_OP_PROGRAM, 1}, /* service name missing */
	{"setup_communication", 1, {0xf0, 0, 0, 1, 0, 1, 3, 0xc0}, 8, 0xf0, ICS_OP_OTHER, 1},
	{"unknown", 1, {0x77}, 1, 0x77, ICS_OP_OTHER, 1},
	{"programmer_commands", 7, {0, 1, 0x12, 4, 0x11, 0x41, 0x10, 0}, 8, 0x41, ICS_OP_PROGRAM, 1},
	{"cyclic_data", 7, {0, 1, 0x12, 4, 0x11, 0x42, 0x01, 0}, 8, 0x42, ICS_OP_READ, 1},
	{"list_blocks_of_type", 7, {0, 1, 0x12, 4, 0x11, 0x43, 0x02, 0}, 8, 0x43, ICS_OP_READ, 1},
	{"cpu_functions", 7, {0, 1, 0x12, 4, 0x11, 0x44, 0x02, 0}, 8, 0x44, ICS_OP_DIAGNOSTIC, 1},
	{"security", 7, {0, 1, 0x12, 4, 0x11, 0x45, 0x01, 0}, 8, 0x45, ICS_OP_OTHER, 1},
	{"pbc_bsend_brcv", 7, {0, 1, 0x12, 4, 0x11, 0x46, 0x01, 0}, 8, 0x46, ICS_OP_OTHER, 1},
	{"set_clock", 7, {0, 1, 0x12, 4, 0x11, 0x47, 0x04, 0}, 8, 0x47, ICS_OP_WRITE, 1},
	{"read_clock", 7, {0, 1, 0x12, 8, 0x12, 0x87, 0x03, 0, 0, 0, 0, 0}, 12, 0x87, ICS_OP_READ, 0},
	{"nc_programming", 7, {0, 1, 0x12, 4, 0x11, 0x4f, 0x01, 0}, 8, 0x4f, ICS_OP_PROGRAM, 1},
	{"userdata", 7, {0, 1, 0x12, 4, 0x11, 0x08, 0x01, 0}, 8, 0x08, ICS_OP_OTHER, 0},
};

static void test_s7_functions(void **state)
{
	uint8_t pdu[128], buf[160];

	(void)state;
	for (size_t i = 0; i < N(s7_cases); i++) {
		const struct s7_case *k = &s7_cases[i];
		size_t n = s7_pdu(pdu, k->rosctr, (uint16_t)(0x200 + i), k->par, k->plen, 4);
		size_t len = s7_tpkt(buf, pdu, n, 1);
		struct ics_op op = parse_one(ICS_S7COMM, buf, len, 0);

		assert_int_equal(op.proto, ICS_S7COMM);
		assert_string_equal(op.name, k->name);
		assert_int_equal(op.function, k->function);
		assert_int_equal(op.op_class, k->op_class);
		assert_int_equal(op.is_request, k->is_request);
		assert_int_equal(op.seq, 0x200 + i);
		assert_int_equal(op.unit_len, len);
		assert_int_equal(op.flags, 0);
	}
}

static void test_s7_units(void **state)
{
	/* COTP connection request (TSAPs 0x0100, 0x0102): no op. */
	static const uint8_t cr[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00,
				     0xc0, 0x01, 0x0a, 0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02};
	/* ack_data for write_var with error class 0x81, code 0x04. */
	static const uint8_t ackerr[] = {0x03, 0x00, 0x00, 0x15, 0x02, 0xf0, 0x80, 0x32, 0x03,
					 0x00, 0x00, 0x00, 0x07, 0x00, 0x02, 0x00, 0x00, 0x81,
					 0x04, 0x05, 0x01};
	/* S7comm-plus request, opcode 0x31, function 0x04ca (CreateObject). */
	static const uint8_t plus[] = {0x03, 0x00, 0x00, 0x17, 0x02, 0xf0, 0x80, 0x72, 0x01,
				       0x00, 0x0c, 0x31, 0x00, 0x00, 0x04, 0xca, 0x00, 0x00,
				       0x00, 0x01, 0x00, 0x00, 0x00};
	static const uint8_t stop[] = {0x29, 0, 0, 0, 0, 0, 9, 'P', '_', 'P', 'R', 'O', 'G', 'R', 'A', 'M'};
	static const uint8_t wr[] = {0x05, 0x01};
	uint8_t pdu[128], buf[256];
	struct ics_op ops[MAX_OPS];
	size_t n, m, used;

	(void)state;
	assert_int_equal(ics_parse_s7comm(cr, sizeof(cr), ops, MAX_OPS, &used), 0);
	assert_int_equal(used, sizeof(cr));

	assert_int_equal(ics_parse_s7comm(ackerr, sizeof(ackerr), ops, MAX_OPS, &used), 1);
	assert_int_equal(ops[0].function, 0x05);
	assert_int_equal(ops[0].op_class, ICS_OP_WRITE);
	assert_int_equal(ops[0].is_request, 0);
	assert_int_equal(ops[0].sub, 0x8104);
	assert_true(ops[0].flags & ICS_OPF_ERROR);
	check_prefixes_and_resume(ICS_S7COMM, ackerr, sizeof(ackerr), 0);

	assert_int_equal(ics_parse_s7comm(plus, sizeof(plus), ops, MAX_OPS, &used), 1);
	assert_string_equal(ops[0].name, "s7comm_plus");
	assert_int_equal(ops[0].op_class, ICS_OP_OTHER);
	assert_int_equal(ops[0].is_request, 1);
	assert_int_equal(ops[0].sub, 0x04ca);
	check_prefixes_and_resume(ICS_S7COMM, plus, sizeof(plus), 0);

	/* CR, then a write and a PLC stop in one segment. */
	memcpy(buf, cr, sizeof(cr));
	m = sizeof(cr);
	n = s7_pdu(pdu, 1, 1, wr, sizeof(wr), 6);
	m += s7_tpkt(buf + m, pdu, n, 1);
	n = s7_pdu(pdu, 1, 2, stop, sizeof(stop), 0);
	m += s7_tpkt(buf + m, pdu, n, 1);
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, &used), 2);
	assert_int_equal(used, m);
	assert_string_equal(ops[0].name, "write_var");
	assert_string_equal(ops[1].name, "plc_stop");
	assert_int_equal(ops[1].op_class, ICS_OP_STOP);
	check_prefixes_and_resume(ICS_S7COMM, buf, m, 0);

	/* One S7 PDU over two DTs (EOT clear on the first): one op. */
	n = s7_pdu(pdu, 1, 3, stop, sizeof(stop), 0);
	m = s7_tpkt(buf, pdu, 12, 0);
	m += s7_tpkt(buf + m, pdu + 12, n - 12, 1);
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, &used), 1);
	assert_int_equal(used, m);
	assert_string_equal(ops[0].name, "plc_stop");
	check_prefixes_and_resume(ICS_S7COMM, buf, m, 0);

	/* A TPKT cut after the function: PARTIAL. */
	n = s7_pdu(pdu, 1, 4, stop, sizeof(stop), 0);
	m = s7_tpkt(buf, pdu, n, 1);
	assert_int_equal(ics_parse_s7comm(buf, 18, ops, MAX_OPS, &used), 1);
	assert_int_equal(used, 0);
	assert_true(ops[0].flags & ICS_OPF_PARTIAL);
	assert_int_equal(ops[0].unit_len, m);
	assert_int_equal(ops[0].op_class, ICS_OP_STOP);
}

static void test_s7_malformed(void **state)
{
	static const uint8_t wr[] = {0x05, 0x01};
	uint8_t pdu[64], buf[128];
	struct ics_op ops[MAX_OPS];
	size_t n, m;

	(void)state;
	n = s7_pdu(pdu, 1, 1, wr, sizeof(wr), 4);
	m = s7_tpkt(buf, pdu, n, 1);
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, NULL), 1);

	buf[0] = 4; /* TPKT version */
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[0] = 3;
	buf[3] = 6; /* TPKT length below 7 */
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[3] = (uint8_t)m;
	buf[4] = 0x40; /* COTP li past the TPKT */
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[4] = 1; /* DT without its EOT/number byte */
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[4] = 2;
	buf[7] = 0x33; /* protocol id */
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[7] = 0x32;
	buf[8] = 5; /* ROSCTR */
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[8] = 1;
	buf[16] = 9; /* data length past the TPKT */
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[16] = 4;
	buf[14] = 0; /* job with no parameter */
	buf[16] = 6;
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, NULL), YG_EFORMAT);
	buf[14] = 2;
	buf[16] = 4;
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, NULL), 1);

	/* Userdata whose parameter is too short for a function group. */
	static const uint8_t ud[] = {0, 1, 0x12, 4};
	n = s7_pdu(pdu, 7, 1, ud, sizeof(ud), 0);
	m = s7_tpkt(buf, pdu, n, 1);
	assert_int_equal(ics_parse_s7comm(buf, m, ops, MAX_OPS, NULL), YG_EFORMAT);

	for (size_t k = 1; k < 7; k++)
		assert_int_equal(ics_parse_s7comm(buf, k, ops, MAX_OPS, NULL), YG_ETRUNC);
}

static void test_names(void **state)
{
	struct ics_op ops[1];

	(void)state;
	assert_string_equal(ics_proto_name(ICS_MODBUS), "modbus");
	assert_string_equal(ics_proto_name(ICS_DNP3), "dnp3");
	assert_string_equal(ics_proto_name(ICS_S7COMM), "s7comm");
	assert_string_equal(ics_proto_name(0), "unknown");
	assert_string_equal(ics_op_class_name(ICS_OP_READ), "read");
	assert_string_equal(ics_op_class_name(ICS_OP_DOWNLOAD), "download");
	assert_string_equal(ics_op_class_name(ICS_OP_OTHER), "other");
	assert_string_equal(ics_op_class_name(-1), "unknown");
	assert_string_equal(ics_op_class_name(ICS_OP_OTHER + 1), "unknown");
	assert_int_equal(ics_parse(42, (const uint8_t *)"", 0, 0, ops, 1, NULL), YG_EINVAL);
}

/* ---- real payloads --------------------------------------------------- */

struct real_payload {
	uint32_t frame;
	uint8_t from_server;
	int8_t ret;    /* ops expected */
	uint8_t fc[8]; /* their function codes */
	const char *hex;
};

/* ndpi__modbus.pcap: the first 8 payloads on tcp/502 */
static const struct real_payload ndpi_modbus[] = {
	{1, 0, 1, {3}, "00d100000006010300010001"},
	{2, 1, 1, {3}, "00d1000000050103020000"},
	{3, 0, 1, {3}, "00d200000006010300000001"},
	{4, 1, 1, {3}, "00d20000000501030241c8"},
	{5, 0, 1, {3}, "00d300000006010300010001"},
	{6, 1, 1, {3}, "00d3000000050103020000"},
	{7, 0, 1, {3}, "00d400000006010300000001"},
	{8, 1, 1, {3}, "00d40000000501030241c8"},
};

/* lemay__moving_two_files_modbus_6RTU.pcap: the first two payloads of each function and direction */
static const struct real_payload lemay_modbus[] = {
	{4, 0, 1, {3}, "06c400000006010300080004"},
	{8, 1, 1, {3}, "06c40000000b0103080000000000000000"},
	{9, 0, 1, {3}, "06df00000006010300080004"},
	{10, 1, 1, {3}, "06df0000000b0103080000000000000000"},
	{37, 0, 1, {2}, "06c500000006010200040004"},
	{41, 1, 1, {2}, "06c50000000401020100"},
	{42, 0, 1, {2}, "06e000000006010200040004"},
	{46, 1, 1, {2}, "06e00000000401020100"},
	{87, 0, 1, {1}, "06c600000006010100000004"},
	{89, 1, 1, {1}, "06c60000000401010100"},
	{92, 0, 1, {1}, "06e100000006010100000004"},
	{94, 1, 1, {1}, "06e10000000401010100"},
};

/* iti__ModbusTCP.pcap: one or two payloads of each shape (frame 2016 is a TCP retransmission) */
static const struct real_payload iti_modbus[] = {
	{34, 0, 1, {1}, "059100000006ff010000000a"},
	{46, 1, 1, {1}, "059100000005ff01020100"},
	{4, 0, 1, {2}, "000100000006ff020063001e"},
	{47, 0, 1, {2}, "059200000006ff020000000b"},
	{2, 0, 1, {4}, "000000000006ff0408d20002"},
	{6, 0, 1, {4}, "297500000006ff0400300028"},
	{28, 0, 1, {15}, "485a00000008ff0f000700030100"},
	{29, 0, 1, {15}, "297a00000008ff0f000500010100"},
	{6023, 0, 1, {16}, "030c00000009ff1008340001020003"},
	{6025, 1, 1, {16}, "030c00000006ff1008340001"},
	{6421, 0, 6, {16, 16, 16, 16, 16, 16},
	  "6f1700000019ff1000090009123030303030303030303030303330303632376f1800000013ff10000100060c30303030"
	  "36303532383633326f1900000025ff100045000f1e4f422058534a4520474e494c485353203420783035326730202020"
	  "2020206f1a00000019ff10003b0009123135303039333635202020202020202020206f1b00000025ff100063000f1e20"
	  "20202020202020202020202020202020202020202020202020202020206f1c00000019ff100059000912202020202020"
	  "202020202020202020202020"},
	{6439, 1, 6, {16, 16, 16, 16, 16, 16},
	  "6f1700000006ff10000900096f1800000006ff10000100066f1900000006ff100045000f6f1a00000006ff10003b0009"
	  "6f1b00000006ff100063000f6f1c00000006ff1000590009"},
	{4262, 1, 6, {4, 4, 4, 4, 4, 2},
	  "6eca00000007ff0404ec0046206ecb000000c9ff04c6000a000000203030363035323836323200000000000100003030"
	  "303030303030303030303330383638350000000000000000000000000000000500000000000000000000000000000000"
	  "0000000300000004000000000000000000000000000007bc000007be0000356000010001000000280000000000000000"
	  "000000000000000000000000000068616e750074000000000000000000000000000068616e7500740000000000000000"
	  "00000000000068006e750074000000000000000000000000000003846ecc00000007ff0404000400006ecd0000002fff"
	  "042c00000000000000000000000000000000000000000000000000000000000000000000000000000000000000006ece"
	  "00000007ff0404000000006ecf00000007ff0204bd4f6739"},
	{6083, 1, 5, {15, 15, 4, 15, 2},
	  "6f0d00000006ff0f000000016f0e00000006ff0f000700036f0f00000007ff0404000000006f1000000006ff0f000500"
	  "016f1100000007ff0204bd4f6739"},
	{435, 1, 4, {2, 15, 15, 15},
	  "001700000005ff02020100001800000006ff0f00000001001900000006ff0f00070003001a00000006ff0f00050001"},
	{1325, 0, 6, {15, 4, 4, 4, 4, 4},
	  "004600000008ff0f000500010100004700000006ff04018f0002004800000006ff0400010063004900000006ff040029"
	  "0002004a00000006ff0408ab0016004b00000006ff0408d20002"},
	{1346, 1, 6, {15, 4, 4, 4, 4, 4},
	  "004600000006ff0f00050001004700000007ff0404a00045a30048000000c9ff04c60000000000000000000000000000"
	  "000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000000"
	  "0000000000000000000000000000000100000004000000000000000000000000000001db000001d600004a3800000000"
	  "00000000000000000000000000000000000000000000000000006461696d006e00000000000000000000000000003031"
	  "00300000000000000000000000000000000000000000000000000000000000000000000000000000004900000007ff04"
	  "0400040000004a0000002fff042c00000000000000000000000000000000000000000000000000000000000000000000"
	  "00000000000000000000004b00000007ff040400000000"},
	{2016, 1, 1, {2}, "4f9a00000005ff02020700"},
};

/* iti__read_and_response.pcap: every DNP3 payload on tcp/20000 */
static const struct real_payload iti_dnp3[] = {
	{4, 0, 1, {1}, "056414c40a0001008fedc0c0013c02063c03063c04063c01068a51"},
	{6, 0, 1, {129},
	  "0564ff4401000a005aeb53c081000001020000090202020202022d3a0202020203020000090202020202020270da0202"
	  "0214010000090200000000020000e30b000002000000000200000000020000004dba0002000000000200000000020000"
	  "00007eae02000000000200000000150100000902d3420000000002000000000200000000020069ce0000000200000000"
	  "0200000000020000dd5e000002000000000200000000020000004dba001e0100000902000000000200000000cd630200"
	  "0000000200000000020000000002f0030000000002000000000200000000020069ce00000002000000000a0200000902"
	  "020217100202020202020228010000090200000058e4000200000000020000000002000000007eae0200000000020000"
	  "00004e72"},
	{8, 0, 0, {0}, "05641a4401000a00af5d9402000000000200000000020000000066420200000000f3b9"},
};

/* zeek__dnp3_udp_read.pcap: every DNP3 payload on udp/20000 */
static const struct real_payload zeek_dnp3[] = {
	{1, 0, 0, {0}, "05640549640001007e5f"},
	{2, 0, 0, {0}, "0564058b01006400a097"},
	{3, 0, 0, {0}, "05640549640001007e5f"},
	{4, 0, 0, {0}, "0564058b01006400a097"},
	{5, 0, 1, {1}, "056414c40100640067d6c6c7013c02063c03063c04063c010673c0"},
	{6, 0, 1, {129},
	  "0564ff4464000100ff2f60878190000101010000ff0303000000800600000000000000000000000000000000ffff0000"
	  "0000000000000000000000000000ffff00000000000000000000000000000000ffff0000000000000000000000000000"
	  "0000ffff00000000000000000000000000000000ffff00000000000000000000000000000000ffff0000000000000000"
	  "0000000000000000ffff0000000000000000000000000a020100475a00ff0101010101010101010101010101a0140101"
	  "0101010101010101010101010101bbc301010101010101010101010101010101bbc30101010101010101010101010101"
	  "0101bbc301010101010101010101010101010101bbc301010101010101010101010101010101bbc30101010101010101"
	  "01018d7b"},
	{7, 0, 0, {0},
	  "0564ff4464000100ff2f2101010101010101010101010101010178ce01010101010101010101010101010101bbc30101"
	  "0101010101010101010101010101bbc301010101010101010101010101010101bbc30101010101010101010101010101"
	  "0101bbc301010101010101010101010101010101bbc301010101010101010101010101010101bbc30101010101010101"
	  "0101010101010101bbc301010101010101010101010101010101bbc301010101010101010101010101010101bbc30101"
	  "0101010101010101010101010101bbc301010101010101010101010101010101bbc30101010101010101010101010101"
	  "0101bbc301010101010101010101010101010101bbc301010101010101010101010101010101bbc30101010101010101"
	  "01018d7b"},
	{8, 0, 0, {0},
	  "0564ff4464000100ff2f22010101010101010101010101010101ec1801010101010101010101010101010101bbc30101"
	  "0101010101010101010101010101bbc301010101010101010101010101010101bbc30101010101010101010101010101"
	  "0101bbc301010101010101010101010101010101bbc301010101010101010101010101010101bbc30101010101010101"
	  "0101010101010101bbc301010101010101010101010101010101bbc301010101010101010101010101010101bbc3011e"
	  "050100001301019fb5044301fc2554ae4ac10100000000010000000001000000f6d50001000000000100000000010000"
	  "000083710100000000010000000001000000000144270000000001000000000100000000010034e70000000100000000"
	  "0100d30b"},
	{9, 0, 0, {0},
	  "0564ff4464000100ff2f23000000010000000001000000000100633c000000010000000001000000000100006eaf0000"
	  "010000000001000000000100000026dd0001000000000100000000010000000083710100000000010000000001000000"
	  "000144270000000001000000000100000000010034e7000000010000000001000000000100006eaf0000010000000001"
	  "000000000100000026dd0001000000000100000000010000000083710100000000010000000001000000000144270000"
	  "000001000000000100000000010034e7000000010000000001000000000100006eaf0000010000000001000000000100"
	  "000026dd0001000000000100000000010000000083710100000000010000000001000000000144270000000001000000"
	  "0001467c"},
	{10, 0, 0, {0},
	  "0564ff4464000100ff2f24000000000100000000010000000001421c0000000001000000000100000000010034e70000"
	  "00010000000001000000000100006eaf0000010000000001000000000100000026dd0001000000000100000000010000"
	  "000083710100000000010000000001000000000144270000000001000000000100000000010034e70000000100000000"
	  "01000000000100006eaf0000010000000001000000000100000026dd0001000000000100000000010000000083710100"
	  "000000010000000001000000000144270000000001000000000100000000010034e70000000100000000010000000001"
	  "00006eaf0000010000000001000000000100000026dd0001000000000100000000010000000083710100000000010000"
	  "00009b1f"},
	{11, 0, 0, {0},
	  "0564ff4464000100ff2f25010000000001000000000100000000854a0100000000010000000001000000000144270000"
	  "000001000000000100000000010034e7000000010000000001000000000100006eaf0000010000000001000000000100"
	  "000026dd0001000000000100000000010000000083710100000000010000000001000000000144270000000001000000"
	  "000100000000010034e7000000010000000001000000000100006eaf0000010000000001000000000100000026dd0001"
	  "000000000100000000010000000083710100000000010000000001000000000144270000000001000000000100000000"
	  "010034e7000000010000000001000000000100006eaf0000010000000001000000000100000026dd0001000000000100"
	  "0000d6e3"},
	{12, 0, 0, {0},
	  "0564ff4464000100ff2f26000100000000010000000001000000b4300001000000000100000000010000000083710100"
	  "000000010000000001000000000144270000000001000000000100000000010034e70000000100000000010000000001"
	  "00006eaf0000010000000001000000000100000026dd0001000000000100000000010000000083710100000000010000"
	  "000001000000000144270000000001000000000100000000010034e7000000010000000001000000000100006eaf0000"
	  "010000000001000000000100000026dd0001000000000100000000010000000083710100000000010000000001000000"
	  "000144270000000001000000000100000000010034e7000000010000000001000000000100006eaf0000010000000001"
	  "000055f0"},
	{13, 0, 0, {0},
	  "0564ff4464000100ff2f27000001000000000100000000010000700f0000010000000001000000000100000026dd0001"
	  "000000000100000000010000000083710100000000010000000001000000000144270000000001000000000100000000"
	  "010034e7000000010000000001000000000100006eaf0000010000000001000000000100000026dd0001000000000100"
	  "000000010000000083710100000000010000000001000000000144270000000001000000000100000000010034e70000"
	  "00010000000001000000000100006eaf0000010000000001000000000100000026dd0001000000000100000000010000"
	  "000083710100000000010000000001000000000144270000000001000000000100000000010034e70000000100000000"
	  "0100d30b"},
	{14, 0, 0, {0},
	  "05643b44640001006fdda8000000010000000001000000000100692b000000010000000001000000000100006eaf0000"
	  "010000000001000000000100000026dd000100000000f9dc"},
	{15, 0, 1, {129},
	  "0564ff4464000100ff2f69488190001e05011401f3010100000004150001000000000100000000010000000083710100"
	  "000000010000000001000000000144270000000001000000000100000000010034e70000000100000000010000000001"
	  "00006eaf0000010000000001000000000100000026dd0001000000000100000000010000000083710100000000010000"
	  "000001000000000144270000000001000000000100000000010034e7000000010000000001000000000100006eaf0000"
	  "010000000001000000000100000026dd0001000000000100000000010000000083710100000000010000000001000000"
	  "000144270000000001000000000100000000010034e7000000010000000001000000000100006eaf0000010000000001"
	  "000055f0"},
	{16, 0, 0, {0},
	  "0564ff4464000100ff2f2a00000100000000010000000001000027cf0000010000000001000000000100000026dd0001"
	  "000000000100000000010000000083710100000000010000000001000000000144270000000001000000000100000000"
	  "010034e7000000010000000001000000000100006eaf0000010000000001000000000100000026dd0001000000000100"
	  "000000010000000083710100000000010000000001000000000144270000000001000000000100000000010034e70000"
	  "00010000000001000000000100006eaf0000010000000001000000000100000026dd0001000000000100000000010000"
	  "000083710100000000010000000001000000000144270000000001000000000100000000010034e70000000100000000"
	  "0100d30b"},
	{17, 0, 0, {0},
	  "0564ff4464000100ff2f2b000000010000000001000000000100f1ca000000010000000001000000000100006eaf0000"
	  "010000000001000000000100000026dd0001000000000100000000010000000083710100000000010000000001000000"
	  "000144270000000001000000000100000000010034e7000000010000000001000000000100006eaf0000010000000001"
	  "000000000100000026dd0001000000000100000000010000000083710100000000010000000001000000000144270000"
	  "000001000000000100000000010034e7000000010000000001000000000100006eaf0000010000000001000000000100"
	  "000026dd0001000000000100000000010000000083710100000000010000000001000000000144270000000001000000"
	  "0001467c"},
	{18, 0, 0, {0},
	  "0564ff4464000100ff2f2c000000000100000000010000000001d0ea0000000001000000000100000000010034e70000"
	  "00010000000001000000000100006eaf0000010000000001000000000100000026dd0001000000000100000000010000"
	  "000083710100000000010000000001000000000144270000000001000000000100000000010034e70000000100000000"
	  "01000000000100006eaf0000010000000001000000000100000026dd0001000000000100000000010000000083710100"
	  "000000010000000001000000000144270000000001000000000100000000010034e70000000100000000010000000001"
	  "00006eaf0000010000000001000000000100000026dd0001000000000100000000010000000083710100000000010000"
	  "00009b1f"},
	{19, 0, 0, {0},
	  "0564ff4464000100ff2f2d01000000000100000000010000000017bc0100000000010000000001000000000144270000"
	  "000001000000000100000000010034e7000000010000000001000000000100006eaf0000010000000001000000000100"
	  "000026dd0001000000000100000000010000000083710100000000010000000001000000000144270000000001000000"
	  "000100000000010034e700000001000000002803000063010000e0bf803f0100000000010000000001000000610e0001"
	  "000000000100000000010000000083710100000000010000000001000000000144270000000001000000000100000000"
	  "010034e7000000010000000001000000000100006eaf0000010000000001000000000100000026dd0001000000000100"
	  "0000d6e3"},
	{20, 0, 0, {0},
	  "0564ff4464000100ff2f2e00010000000001000000000100000026c60001000000000100000000010000000083710100"
	  "000000010000000001000000000144270000000001000000000100000000010034e70000000100000000010000000001"
	  "00006eaf0000010000000001000000000100000026dd0001000000000100000000010000000083710100000000010000"
	  "000001000000000144270000000001000000000100000000010034e7000000010000000001000000000100006eaf0000"
	  "010000000001000000000100000026dd0001000000000100000000010000000083710100000000010000000001000000"
	  "000144270000000001000000000100000000010034e7000000010000000001000000000100006eaf0000010000000001"
	  "000055f0"},
	{21, 0, 0, {0},
	  "05649444640001008c79af000001000000000100000000010000eece0000010000000001000000000100000026dd0001"
	  "000000000100000000010000000083710100000000010000000001000000000144270000000001000000000100000000"
	  "010034e7000000010000000001000000000100006eaf0000010000000001000000000100000026dd0001000000000100"
	  "000000010000000083710100000000010000000001000000008371"},
	{22, 0, 0, {0}, "05640549640001007e5f"},
	{23, 0, 0, {0}, "0564058b01006400a097"},
};

/* cisa-s7__snap7.pcap: every payload on tcp/102 */
static const struct real_payload snap7_s7[] = {
	{1, 0, 1, {240}, "0300001902f08032010000000000080000f0000001000101e0"},
	{2, 1, 1, {240}, "0300001b02f080320300000000000800000000f0000001000100f0"},
	{3, 0, 1, {68}, "0300002102f080320700000100000800080001120411440100ff09000400110000"},
	{4, 1, 1, {132},
	  "0300009902f080320700000100000c007c000112081284010200000000ff09007800110000001c000400013645533720"
	  "3331352d32454831342d304142302000c000030001000636455337203331352d32454831342d304142302000c0000300"
	  "010007202020202020202020202020202020202020202000c0560302070081426f6f74204c6f61646572202020202020"
	  "202020000041200909"},
	{5, 0, 1, {68}, "0300002102f080320700000200000800080001120411440100ff090004001c0000"},
	{6, 1, 1, {132},
	  "030000f702f080320700000200000c00da0001120812840102d5010000ff0900d6001c00000022000a00015337333030"
	  "2f45543230304d2073746174696f6e5f31000000000000000000000002504c435f310000000000000000000000000000"
	  "000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000000000"
	  "044f726967696e616c205369656d656e732045717569706d656e7400000000000000055320432d423155333933313432"
	  "303131000000000000000000000000000000000007435055203331352d3220504e2f4450000000000000000000000000"
	  "00000000000008"},
	{7, 0, 1, {68}, "0300002102f080320700000300000c00040001120812440102000000000a000000"},
	{8, 1, 1, {132},
	  "030000a702f080320700000300000c008a0001120812840102d5000000ff0900864d4d43203441314143303139000000"
	  "00000000000000000000000000000000000009002af60000010000000000000000000000000000000000000000000000"
	  "000000000a0000000000000000000000000000000000000000000000000000000000000000000b000000000000000000"
	  "0000000000000000000000000000000000000000000000"},
	{9, 0, 1, {68}, "0300002102f080320700000400000800080001120411440100ff09000401310001"},
	{10, 1, 1, {132},
	  "0300005102f080320700000400000c0034000112081284010200000000ff0900300131000100280001000100f0001000"
	  "b71b000002dc6c05f5e10000000000000000000000000000000000000000000000"},
	{11, 0, 1, {68}, "0300002102f080320700000500000800080001120411440100ff09000404240000"},
	{12, 1, 1, {132},
	  "0300003d02f080320700000500000c0020000112081284010200000000ff09001c04240000001400015144ff08000000"
	  "00000000001602081451375692"},
	{13, 0, 1, {68}, "0300002102f080320700000600000800080001120411440100ff09000400110000"},
	{14, 1, 1, {132},
	  "0300009902f080320700000600000c007c000112081284010200000000ff09007800110000001c000400013645533720"
	  "3331352d32454831342d304142302000c000030001000636455337203331352d32454831342d304142302000c0000300"
	  "010007202020202020202020202020202020202020202000c0560302070081426f6f74204c6f61646572202020202020"
	  "202020000041200909"},
	{15, 0, 1, {67}, "0300001d02f0803207000007000008000400011204114301000a000000"},
	{16, 1, 1, {131},
	  "0300003d02f080320700000700000c0020000112081283010000000000ff09001c303800013045000130430000304100"
	  "02304200083044004d3046000f"},
	{17, 0, 1, {29}, "0300002302f080320100000800001200001d00000000000000095f3042303030303041"},
	{18, 1, 1, {29}, "0300002302f0803203000008000010000000001d000100000000070730303030323136"},
	{19, 0, 1, {30}, "0300001902f080320100000900000800001e00000000000007"},
	{20, 1, 1, {30},
	  "030000f102f080320300000900000200dc00001e0000d800fb70700302070b0000000000d880000000003921002d9804"
	  "ef6d80122c00000000000000901c031001010100001f0202040001210500140000019f003c0190002774155337333030"
	  "2f45543230304d2073746174696f6e5f310000504c435f31000000000000000000000000000000000000000000000000"
	  "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	  "000000000000000000000000005354455020372023202020202020202020202020202020200000d1cc31524814000000"
	  "00"},
	{21, 0, 1, {31}, "0300001902f080320100000a00000800001f00000000000007"},
	{22, 1, 1, {31}, "0300001402f080320300000a000001000000001f"},
	{23, 0, 1, {67}, "0300002502f080320700000b000008000c0001120411430300ff0900083041303030303041"},
	{24, 1, 1, {131}, "0300002102f080320700000b00000c000400011208128303000000d2090a000000"},
	{25, 0, 1, {29}, "0300002302f080320100000c00001200001d00000000000000095f3042303030303041"},
	{26, 1, 1, {29}, "0300002302f080320300000c000010000000001d000100000000070730303030323136"},
	{27, 0, 1, {30}, "0300001902f080320100000d00000800001e00000000000007"},
	{28, 1, 1, {30},
	  "030000f102f080320300000d00000200dc00001e0000d800fb70700302070b0000000000d880000000003921002d9804"
	  "ef6d80122c00000000000000901c031001010100001f0202040001210500140000019f003c0190002774155337333030"
	  "2f45543230304d2073746174696f6e5f310000504c435f31000000000000000000000000000000000000000000000000"
	  "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	  "000000000000000000000000005354455020372023202020202020202020202020202020200000d1cc31524814000000"
	  "00"},
	{29, 0, 1, {31}, "0300001902f080320100000e00000800001f00000000000007"},
	{30, 1, 1, {31}, "0300001402f080320300000e000001000000001f"},
	{31, 0, 1, {29}, "0300002302f080320100000f00001200001d00000000000000095f3042303030303041"},
	{32, 1, 1, {29}, "0300002302f080320300000f000010000000001d000100000000070730303030323136"},
	{33, 0, 1, {30}, "0300001902f080320100001000000800001e00000000000007"},
	{34, 1, 1, {30},
	  "030000f102f080320300001000000200dc00001e0000d800fb70700302070b0000000000d880000000003921002d9804"
	  "ef6d80122c00000000000000901c031001010100001f0202040001210500140000019f003c0190002774155337333030"
	  "2f45543230304d2073746174696f6e5f310000504c435f31000000000000000000000000000000000000000000000000"
	  "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	  "000000000000000000000000005354455020372023202020202020202020202020202020200000d1cc31524814000000"
	  "00"},
	{35, 0, 1, {31}, "0300001902f080320100001100000800001f00000000000007"},
	{36, 1, 1, {31}, "0300001402f0803203000011000001000000001f"},
	{37, 0, 1, {29}, "0300002302f080320100001200001200001d00000000000000095f3042303030303041"},
	{38, 1, 1, {29}, "0300002302f0803203000012000010000000001d000100000000070730303030323136"},
	{39, 0, 1, {30}, "0300001902f080320100001300000800001e00000000000007"},
	{40, 1, 1, {30},
	  "030000f102f080320300001300000200dc00001e0000d800fb70700302070b0000000000d880000000003921002d9804"
	  "ef6d80122c00000000000000901c031001010100001f0202040001210500140000019f003c0190002774155337333030"
	  "2f45543230304d2073746174696f6e5f310000504c435f31000000000000000000000000000000000000000000000000"
	  "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	  "000000000000000000000000005354455020372023202020202020202020202020202020200000d1cc31524814000000"
	  "00"},
	{41, 0, 1, {31}, "0300001902f080320100001400000800001f00000000000007"},
	{42, 1, 1, {31}, "0300001402f0803203000014000001000000001f"},
	{43, 0, 1, {29}, "0300002302f080320100001500001200001d00000000000000095f3038303030303041"},
	{44, 1, 1, {0}, "0300001302f08032020000150000000000d20c"},
	{45, 0, 1, {71}, "0300001d02f0803207000016000008000400011204114701000a000000"},
	{46, 1, 1, {135},
	  "0300002b02f080320700001600000c000e000112081287010200000000ff09000a00191602081451379162"},
	{47, 0, 1, {71}, "0300002702f0803207000017000008000e0001120411470200ff09000a00191602082308100002"},
	{48, 1, 1, {135}, "0300002102f080320700001700000c00040001120812870202000000000a000000"},
	{49, 0, 1, {5}, "0300002702f080320100001800000e00080501120a100800010000830000800007000479e9f642"},
	{50, 1, 1, {5}, "0300001602f0803203000018000002000100000501ff"},
	{51, 0, 1, {4}, "0300001f02f080320100001900000e00000401120a10080001000083000080"},
	{52, 1, 1, {4}, "0300001d02f0803203000019000002000800000401ff07000400000000"},
	{53, 0, 1, {5},
	  "030000c302f080320100001a00003e00740505120a10040010000083000000120a10020010000081000000120a100200"
	  "10000082000000120a101d000800001d000000120a101c000800001c00000000040100addeaddeaddeaddeaddeaddead"
	  "deaddeefbeefbeefbeefbeefbeefbeefbeefbe00040080aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb00040080bbbbbbbbbb"
	  "bbbbbbaddeaddeaddeadde00090010efbeefbeefbeefbeefbeefbeefbeefbe00090010fecafecafecafecafecafecafe"
	  "cafeca"},
	{54, 1, 1, {5}, "0300001a02f080320300001a000002000500000505ffffff0303"},
	{55, 0, 1, {4},
	  "0300004f02f080320100001b00003e00000405120a10020010000083000000120a10020010000081000000120a100200"
	  "10000082000000120a101d000800001d000000120a101c000800001c000000"},
	{56, 1, 1, {4},
	  "0300007902f080320300001b000002006400000405ff040080acde000daddeaddeaddeaddeaddeaddeff040080aaaaaa"
	  "aaaaaaaaaabbbbbbbbbbbbbbbbff040080bbbbbbbbbbbbbbbbaddeaddeaddeaddeff0900100000000000000000000000"
	  "0000000000ff09001000110000000000000000000000000000"},
	{57, 0, 1, {41}, "0300002102f080320100001c000010000029000000000009505f50524f4752414d"},
	{58, 1, 1, {41}, "0300001402f080320300001c0000010000000029"},
	{59, 0, 1, {40}, "0300002302f080320100001d000012000028000000000000fd00024550055f4d4f4455"},
	{60, 1, 1, {40}, "0300001402f080320300001d0000010000000028"},
	{61, 0, 1, {40}, "0300002102f080320100001e000010000028000000000000fd0000055f47415242"},
	{62, 1, 1, {40}, "0300001402f080320300001e0000010000000028"},
	{63, 0, 1, {40}, "0300002702f080320100001f000016000028000000000000fd0002432009505f50524f4752414d"},
	{64, 1, 1, {40}, "0300001402f080320300001f0000010000000028"},
};

/* frame 8324 */
static const char iti_8324[] =
	"6f68000000ebff04e8000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"006f690000008dff048a0000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000";

/* frame 8334 */
static const char iti_8334[] =
	"00000000000000000000000000000000000000000000000000000000000000000000000000";

/* frame 8336 */
static const char iti_8336[] =
	"6f6a00000005ff040200006f6b000000bbff04b800000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000001000100010000000000000000000000000000000100010001000001f40000000000000000"
	"0005000200050050000500056f6c00000005ff04";

/* frame 8352 */
static const char iti_8352[] =
	"0200006f6d000000e5ff04e2000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000010001000100000000"
	"00000000000000000000000100010001000001f40000000000000000000500020005005000050005000500050005";

/* Parses each payload, checks its functions, its prefixes, and returns
 * the tally of function codes in tally[256]. */
static void run_real(int proto, const struct real_payload *v, size_t n, unsigned *tally)
{
	static uint8_t buf[PAYLOAD_MAX];
	struct ics_op ops[MAX_OPS];

	memset(tally, 0, 256 * sizeof(*tally));
	for (size_t i = 0; i < n; i++) {
		size_t len = unhex(v[i].hex, buf);
		int r;

		r = ics_parse(proto, buf, len, v[i].from_server, ops, MAX_OPS, NULL);
		if (r != v[i].ret || (r > 0 && ops[0].function != v[i].fc[0]))
			print_error("frame %u: %d ops (first %u), want %d (first %u)\n",
				    (unsigned)v[i].frame, r, r > 0 ? ops[0].function : 0, v[i].ret,
				    v[i].fc[0]);
		r = parse_expect(proto, buf, len, v[i].from_server, v[i].ret, v[i].fc, ops);
		for (int j = 0; j < r; j++) {
			assert_false(ops[j].flags & ICS_OPF_PARTIAL);
			tally[ops[j].function]++;
		}
	}
}

static void test_real_modbus(void **state)
{
	unsigned t[256];

	(void)state;
	run_real(ICS_MODBUS, ndpi_modbus, N(ndpi_modbus), t);
	assert_int_equal(t[3], 8);
	run_real(ICS_MODBUS, lemay_modbus, N(lemay_modbus), t);
	assert_int_equal(t[1], 4);
	assert_int_equal(t[2], 4);
	assert_int_equal(t[3], 4);
	run_real(ICS_MODBUS, iti_modbus, N(iti_modbus), t);
	assert_int_equal(t[1], 2);
	assert_int_equal(t[2], 6);
	assert_int_equal(t[4], 18);
	assert_int_equal(t[15], 10);
	assert_int_equal(t[16], 14);
}

/* One TCP stream of iti__ModbusTCP.pcap (server to client) where ADUs
 * straddle segments. Parsed alone, the segments that start inside an ADU
 * fail; a caller that skips the rest of each PARTIAL unit (unit_len) gets
 * what tshark gets when it follows the stream: 4,4 / - / 4,4,4 / 4. */
static void test_real_modbus_split(void **state)
{
	static const char *const segs[] = {iti_8324, iti_8334, iti_8336, iti_8352};
	static const int alone[] = {2, YG_EFORMAT, 3, YG_EFORMAT};
	static const int followed[] = {2, 0, 3, 1};
	static uint8_t buf[PAYLOAD_MAX];
	struct ics_op ops[MAX_OPS];
	size_t skip = 0, used, len, off;
	int r;

	(void)state;
	for (size_t i = 0; i < N(segs); i++) {
		len = unhex(segs[i], buf);
		r = ics_parse_modbus(buf, len, 1, ops, MAX_OPS, &used);
		assert_int_equal(r, alone[i]);
		if (r >= 0)
			check_prefixes_and_resume(ICS_MODBUS, buf, len, 1);

		off = skip < len ? skip : len;
		skip -= off;
		r = ics_parse_modbus(buf + off, len - off, 1, ops, MAX_OPS, &used);
		assert_int_equal(r, followed[i]);
		for (int j = 0; j < r; j++)
			assert_int_equal(ops[j].function, 4);
		if (r > 0 && (ops[r - 1].flags & ICS_OPF_PARTIAL))
			skip = ops[r - 1].unit_len - (len - off - used);
		else
			assert_int_equal(used, len - off);
	}
	assert_int_equal(skip, 0);
}

static void test_real_dnp3(void **state)
{
	unsigned t[256];

	(void)state;
	run_real(ICS_DNP3, iti_dnp3, N(iti_dnp3), t);
	assert_int_equal(t[1], 1);
	assert_int_equal(t[129], 1);
	run_real(ICS_DNP3, zeek_dnp3, N(zeek_dnp3), t);
	assert_int_equal(t[1], 1);
	assert_int_equal(t[129], 2);
}

/* The DNP3 responses of zeek__dnp3_udp_read.pcap carry IIN 0x9000 (36864
 * in Zeek's dnp3.log); the request goes from master 100 to outstation 1. */
static void test_real_dnp3_fields(void **state)
{
	static uint8_t buf[PAYLOAD_MAX];
	struct ics_op ops[MAX_OPS];
	size_t len;

	(void)state;
	for (size_t i = 0; i < N(zeek_dnp3); i++) {
		len = unhex(zeek_dnp3[i].hex, buf);
		if (ics_parse_dnp3(buf, len, ops, MAX_OPS, NULL) != 1)
			continue;
		if (ops[0].function == 1) {
			assert_int_equal(ops[0].is_request, 1);
			assert_int_equal(ops[0].unit, 1);
			assert_int_equal(ops[0].src, 100);
		} else {
			assert_int_equal(ops[0].is_request, 0);
			assert_int_equal(ops[0].sub, 36864);
			assert_int_equal(ops[0].unit, 100);
			assert_int_equal(ops[0].src, 1);
		}
	}
}

/* cisa-s7__snap7.pcap: the functions icsnpp-s7comm's s7comm.log lists,
 * plus the bare ack of frame 44 (ROSCTR 2, error 0xd20c), which neither
 * it nor tshark give a function. */
static void test_real_s7(void **state)
{
	static const struct {
		uint8_t fc;
		unsigned n;
	} want[] = {
		{0xf0, 2}, {0x44, 6}, {0x84, 6}, {0x43, 2}, {0x83, 2}, {0x1d, 9}, {0x1e, 8},
		{0x1f, 8}, {0x47, 2}, {0x87, 2}, {0x05, 4}, {0x04, 4}, {0x29, 2}, {0x28, 6},
		{0x00, 1},
	};
	static uint8_t buf[PAYLOAD_MAX];
	struct ics_op ops[MAX_OPS];
	unsigned t[256], sum = 0;
	size_t len;

	(void)state;
	run_real(ICS_S7COMM, snap7_s7, N(snap7_s7), t);
	for (size_t i = 0; i < N(want); i++) {
		assert_int_equal(t[want[i].fc], want[i].n);
		sum += want[i].n;
	}
	assert_int_equal(sum, N(snap7_s7));

	/* Names and classes of a few. */
	for (size_t i = 0; i < N(snap7_s7); i++) {
		len = unhex(snap7_s7[i].hex, buf);
		assert_int_equal(ics_parse_s7comm(buf, len, ops, MAX_OPS, NULL), 1);
		assert_int_equal(ops[0].is_request, !snap7_s7[i].from_server);
		switch (snap7_s7[i].frame) {
		case 3:
			assert_string_equal(ops[0].name, "read_szl");
			assert_int_equal(ops[0].op_class, ICS_OP_DIAGNOSTIC);
			break;
		case 44:
			assert_string_equal(ops[0].name, "ack");
			assert_int_equal(ops[0].sub, 0xd20c);
			assert_true(ops[0].flags & ICS_OPF_ERROR);
			break;
		case 47:
			assert_string_equal(ops[0].name, "set_clock");
			assert_int_equal(ops[0].op_class, ICS_OP_WRITE);
			break;
		case 57:
			assert_string_equal(ops[0].name, "plc_stop");
			assert_int_equal(ops[0].op_class, ICS_OP_STOP);
			break;
		case 59:
			assert_string_equal(ops[0].name, "pi_copy_ram_to_rom");
			break;
		case 61:
			assert_string_equal(ops[0].name, "pi_compress_memory");
			break;
		case 63:
			assert_string_equal(ops[0].name, "pi_plc_start");
			assert_int_equal(ops[0].op_class, ICS_OP_PROGRAM);
			break;
		}
	}
}

/* ---- whole captures, when the shared data is there -------------------- */

struct capture_case {
	const char *file;
	int proto;
	uint16_t port;
	unsigned payloads;  /* payloads on port */
	unsigned errors;    /* of them, parsed to an error */
	unsigned requests;  /* ops with is_request */
	unsigned tally[16][2]; /* function, count; as tshark 4.0 counts them per packet */
};

/* Tallies for Modbus are tshark's modbus.func_code over every payload on
 * tcp/502 with TCP sequence analysis off (so that it, too, dissects each
 * segment alone and dissects retransmissions). iti__ModbusTCP.pcap has two
 * segments that start inside an ADU (frames 8334 and 8352). DNP3 and S7
 * tallies are by the frame that starts each fragment (tshark names the
 * function at the one that ends it). */
static const struct capture_case capture_cases[] = {
	{"ndpi__modbus.pcap", ICS_MODBUS, 502, 102, 0, 51, {{3, 102}}},
	{"lemay__moving_two_files_modbus_6RTU.pcap", ICS_MODBUS, 502, 720, 0, 360,
	 {{1, 240}, {2, 240}, {3, 240}}},
	{"iti__ModbusTCP.pcap", ICS_MODBUS, 502, 11889, 2, 7990,
	 {{1, 3038}, {2, 3154}, {4, 5535}, {15, 4228}, {16, 28}}},
	{"iti__read_and_response.pcap", ICS_DNP3, 20000, 3, 0, 1, {{1, 1}, {129, 1}}},
	{"zeek__dnp3_udp_read.pcap", ICS_DNP3, 20000, 23, 0, 1, {{1, 1}, {129, 2}}},
	{"cisa-s7__snap7.pcap", ICS_S7COMM, 102, 64, 0, 32,
	 {{0xf0, 2}, {0x44, 6}, {0x84, 6}, {0x43, 2}, {0x83, 2}, {0x1d, 9}, {0x1e, 8},
	  {0x1f, 8}, {0x47, 2}, {0x87, 2}, {0x05, 4}, {0x04, 4}, {0x29, 2}, {0x28, 6},
	  {0x00, 1}}},
};

static void test_capture(void **state)
{
	const struct capture_case *k = *state;
	char path[512], err[128];
	struct capture *cap;
	struct frame f;
	struct packet pkt;
	uint64_t counters[DC_MAX] = {0};
	struct ics_op ops[MAX_OPS];
	unsigned tally[256] = {0}, payloads = 0, errors = 0, requests = 0;
	int r;

	snprintf(path, sizeof(path), "%s/data/pcaps/%s", YG_SHARED_DIR, k->file);
	if (access(path, R_OK) != 0)
		skip();
	assert_int_equal(capture_open(path, &cap, err, sizeof(err)), 0);
	while ((r = capture_next(cap, &f)) == 1) {
		int from_server;

		if (decode_frame(&f, &pkt, counters) != DECODE_OK || pkt.payload_len == 0 ||
		    !(pkt.flags & PKT_HAS_PORTS) || (pkt.sport != k->port && pkt.dport != k->port))
			continue;
		payloads++;
		from_server = pkt.sport == k->port;
		r = ics_parse(k->proto, pkt.payload, pkt.payload_len, from_server, ops, MAX_OPS,
			      NULL);
		if (r < 0) {
			errors++;
			continue;
		}
		for (int i = 0; i < r; i++) {
			tally[ops[i].function]++;
			requests += ops[i].is_request;
		}
	}
	assert_int_equal(r, 0);
	capture_close(cap);

	assert_int_equal(payloads, k->payloads);
	assert_int_equal(errors, k->errors);
	assert_int_equal(requests, k->requests);
	for (size_t i = 0; i < N(k->tally) && k->tally[i][1]; i++) {
		assert_int_equal(tally[k->tally[i][0]], k->tally[i][1]);
		tally[k->tally[i][0]] = 0;
	}
	for (size_t i = 0; i < 256; i++)
		assert_int_equal(tally[i], 0);
}

/* cmocka_unit_test_prestate() names every one "test_capture". */
#define CAPTURE_TEST(name, i) {name, test_capture, NULL, NULL, (void *)&capture_cases[i]}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modbus_functions),
		cmocka_unit_test(test_modbus_several_adus),
		cmocka_unit_test(test_modbus_malformed),
		cmocka_unit_test(test_dnp3_crc),
		cmocka_unit_test(test_dnp3_functions),
		cmocka_unit_test(test_dnp3_frames),
		cmocka_unit_test(test_dnp3_malformed),
		cmocka_unit_test(test_s7_functions),
		cmocka_unit_test(test_s7_units),
		cmocka_unit_test(test_s7_malformed),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_real_modbus),
		cmocka_unit_test(test_real_modbus_split),
		cmocka_unit_test(test_real_dnp3),
		cmocka_unit_test(test_real_dnp3_fields),
		cmocka_unit_test(test_real_s7),
		CAPTURE_TEST("capture ndpi__modbus", 0),
		CAPTURE_TEST("capture lemay__moving_two_files_modbus_6RTU", 1),
		CAPTURE_TEST("capture iti__ModbusTCP", 2),
		CAPTURE_TEST("capture iti__read_and_response", 3),
		CAPTURE_TEST("capture zeek__dnp3_udp_read", 4),
		CAPTURE_TEST("capture cisa-s7__snap7", 5),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
