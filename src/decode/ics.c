/* ics.c - Modbus/TCP, DNP3 and S7comm function codes, read from one
 * payload into struct ics_op (decode/ics.h).
 *
 * Each protocol has a unit reader that takes one ADU, frame or TPKT from
 * a bounded cursor; ics_units_parse() runs it over the payload and keeps
 * the shared contract (partial last unit, *used, stop at the first bad
 * unit). Byte layouts follow the Modbus Application Protocol v1.1b3 and
 * Modbus Messaging on TCP/IP v1.0b, IEEE 1815-2012 (DNP3), RFC 1006 and
 * ISO 8073 (TPKT, COTP) and, for S7comm, which Siemens does not publish,
 * Wireshark's packet-s7comm.c; docs/ics.md lists them. */
#include "decode/ics.h"

#include <string.h>

#include "base/cursor.h"

/* What a unit reader found, when it is not a negative yg_err. */
enum {
	UNIT_NONE = 0,    /* a whole unit that is not an op (DNP3 link frame, COTP CR) */
	UNIT_OP = 1,      /* a whole unit, *op filled */
	UNIT_PARTIAL = 2, /* *op filled from a unit the payload cuts short */
};

/* Reads one unit at c. On UNIT_NONE and UNIT_OP, c is left after the
 * unit; on UNIT_PARTIAL and on errors, where it is left does not matter. */
typedef int (*ics_unit_fn)(struct cur *c, void *ctx, struct ics_op *op);

static int ics_units_parse(ics_unit_fn fn, void *ctx, const uint8_t *p, size_t len,
			   struct ics_op *ops, size_t max, size_t *used)
{
	struct cur c = cur_make(p, len);
	size_t n = 0;
	int err = 0;

	while (cur_left(&c) > 0 && n < max) {
		struct cur unit = c;
		struct ics_op op;
		int r;

		memset(&op, 0, sizeof(op));
		r = fn(&unit, ctx, &op);
		if (r < 0) {
			err = r;
			break;
		}
		if (r != UNIT_NONE)
			ops[n++] = op;
		if (r == UNIT_PARTIAL)
			break;
		c = unit;
	}
	if (used)
		*used = (size_t)(c.p - p);
	if (n == 0 && err < 0)
		return err;
	return (int)n;
}

struct ics_fn {
	const char *name;
	uint8_t op_class;
};

/* ---- Modbus/TCP ---------------------------------------------------- */

#define MBAP_HDR_LEN 6   /* transaction id, protocol id, length */
#define MBAP_LEN_MIN 2   /* unit id + function code */
#define MBAP_LEN_MAX 254 /* unit id + the 253-byte PDU limit (MB v1.1b3 4.1) */

#define MB_FC_DIAGNOSTICS 8
#define MB_FC_MEI         43
#define MB_FC_UMAS        90
#define MB_FC_EXCEPTION   0x80

#define MB_DIAG_RESTART_COMM 1
#define MB_DIAG_LISTEN_ONLY  4
#define MB_DIAG_CLEAR        10
#define MB_MEI_CANOPEN       13
#define MB_MEI_DEVICE_ID     14
#define UMAS_STOP_PLC        0x41

static const struct ics_fn modbus_fns[128] = {
	[1] = {"read_coils", ICS_OP_READ},
	[2] = {"read_discrete_inputs", ICS_OP_READ},
	[3] = {"read_holding_registers", ICS_OP_READ},
	[4] = {"read_input_registers", ICS_OP_READ},
	[5] = {"write_single_coil", ICS_OP_WRITE},
	[6] = {"write_single_register", ICS_OP_WRITE},
	[7] = {"read_exception_status", ICS_OP_DIAGNOSTIC},
	[8] = {"diagnostics", ICS_OP_DIAGNOSTIC},
	[11] = {"get_comm_event_counter", ICS_OP_DIAGNOSTIC},
	[12] = {"get_comm_event_log", ICS_OP_DIAGNOSTIC},
	[15] = {"write_multiple_coils", ICS_OP_WRITE},
	[16] = {"write_multiple_registers", ICS_OP_WRITE},
	[17] = {"report_server_id", ICS_OP_DIAGNOSTIC},
	[20] = {"read_file_record", ICS_OP_READ},
	[21] = {"write_file_record", ICS_OP_WRITE},
	[22] = {"mask_write_register", ICS_OP_WRITE},
	[23] = {"read_write_multiple_registers", ICS_OP_WRITE},
	[24] = {"read_fifo_queue", ICS_OP_READ},
	[43] = {"encapsulated_interface_transport", ICS_OP_OTHER},
	[90] = {"umas", ICS_OP_PROGRAM},
};

/* Schneider UMAS function codes (the byte after the session key), as
 * Kaspersky ICS CERT's "The secrets of Schneider Electric's UMAS protocol"
 * (2022) and the "Unity (UMAS) protocol" notes at lirasenlared.blogspot.com
 * (2017) list them. All are engineering traffic: ICS_OP_PROGRAM, but for
 * STOP_PLC, which is ICS_OP_STOP. */
static const char *umas_name(uint8_t f)
{
	static const struct {
		uint8_t code;
		const char *name;
	} fns[] = {
		{0x01, "umas_init_comm"},
		{0x02, "umas_read_id"},
		{0x03, "umas_read_project_info"},
		{0x04, "umas_read_plc_info"},
		{0x06, "umas_read_card_info"},
		{0x0a, "umas_repeat"},
		{0x10, "umas_take_plc_reservation"},
		{0x11, "umas_release_plc_reservation"},
		{0x12, "umas_keep_alive"},
		{0x20, "umas_read_memory_block"},
		{0x22, "umas_read_variables"},
		{0x23, "umas_write_variables"},
		{0x24, "umas_read_coils_registers"},
		{0x25, "umas_write_coils_registers"},
		{0x30, "umas_initialize_upload"},
		{0x31, "umas_upload_block"},
		{0x32, "umas_end_strategy_upload"},
		{0x33, "umas_initialize_download"},
		{0x34, "umas_download_block"},
		{0x35, "umas_end_strategy_download"},
		{0x39, "umas_read_eth_master_data"},
		{0x40, "umas_start_plc"},
		{0x41, "umas_stop_plc"},
		{0x50, "umas_monitor_plc"},
		{0x58, "umas_check_plc"},
		{0x70, "umas_read_io_object"},
		{0x71, "umas_write_io_object"},
		{0x73, "umas_get_status_module"},
	};

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (fns[i].code == f)
			return fns[i].name;
	return "umas";
}

/* Fills class, name and sub from the function code and what the PDU
 * holds of its data (pdu may be cut short by the payload). */
static void modbus_classify(uint8_t fc, struct cur *pdu, int from_server, struct ics_op *op)
{
	uint16_t sub;
	uint8_t b;

	if (fc & MB_FC_EXCEPTION) {
		op->op_class = ICS_OP_RESPONSE;
		op->flags |= ICS_OPF_ERROR;
		op->name = "exception";
		if (cur_u8(pdu, &b) == 0)
			op->sub = b;
		return;
	}
	op->op_class = modbus_fns[fc].name ? modbus_fns[fc].op_class : ICS_OP_OTHER;
	op->name = modbus_fns[fc].name ? modbus_fns[fc].name : "unknown";

	switch (fc) {
	case MB_FC_DIAGNOSTICS:
		if (cur_u16(pdu, &sub) < 0)
			break;
		op->sub = sub;
		if (sub == MB_DIAG_RESTART_COMM) {
			op->op_class = ICS_OP_RESTART;
			op->name = "restart_communications";
		} else if (sub == MB_DIAG_LISTEN_ONLY) {
			op->op_class = ICS_OP_CONTROL;
			op->name = "force_listen_only_mode";
		} else if (sub == MB_DIAG_CLEAR) {
			op->name = "clear_counters";
		}
		break;
	case MB_FC_MEI:
		if (cur_u8(pdu, &b) < 0)
			break;
		op->sub = b;
		if (b == MB_MEI_DEVICE_ID) {
			op->op_class = ICS_OP_DIAGNOSTIC;
			op->name = "read_device_identification";
		} else if (b == MB_MEI_CANOPEN) {
			op->name = "canopen_general_reference";
		}
		break;
	case MB_FC_UMAS:
		/* Session key, then the UMAS code; a server answers 0xfe
		 * (OK) or 0xfd (error) there, which names nothing. */
		if (cur_skip(pdu, 1) < 0 || cur_u8(pdu, &b) < 0)
			break;
		op->sub = b;
		if (from_server)
			break;
		op->name = umas_name(b);
		if (b == UMAS_STOP_PLC)
			op->op_class = ICS_OP_STOP;
		break;
	}
}

static int modbus_unit(struct cur *c, void *ctx, struct ics_op *op)
{
	int from_server = *(const int *)ctx;
	uint16_t tid, pid, mlen;
	uint8_t unit, fc;
	struct cur pdu;
	int partial = 0;

	if (cur_u16(c, &tid) < 0 || cur_u16(c, &pid) < 0 || cur_u16(c, &mlen) < 0)
		return YG_ETRUNC;
	if (pid != 0 || mlen < MBAP_LEN_MIN || mlen > MBAP_LEN_MAX)
		return YG_EFORMAT;
	if (cur_u8(c, &unit) < 0 || cur_u8(c, &fc) < 0)
		return YG_ETRUNC;
	if (cur_sub(c, (size_t)mlen - MBAP_LEN_MIN, &pdu) < 0) {
		pdu = *c;
		partial = 1;
	}

	op->proto = ICS_MODBUS;
	op->function = fc;
	op->is_request = !from_server;
	op->unit = unit;
	op->seq = tid;
	op->unit_len = (uint16_t)(MBAP_HDR_LEN + mlen);
	if (partial)
		op->flags |= ICS_OPF_PARTIAL;
	modbus_classify(fc, &pdu, from_server, op);
	return partial ? UNIT_PARTIAL : UNIT_OP;
}

int ics_parse_modbus(const uint8_t *p, size_t len, int from_server, struct ics_op *ops,
		     size_t max, size_t *used)
{
	return ics_units_parse(modbus_unit, &from_server, p, len, ops, max, used);
}

/* ---- DNP3 ---------------------------------------------------------- */

#define DNP3_START0    0x05
#define DNP3_START1    0x64
#define DNP3_HDR_LEN   8  /* start, LEN, CTRL, DEST, SRC; then its CRC */
#define DNP3_CRC_LEN   2
#define DNP3_LEN_MIN   5  /* LEN counts CTRL, DEST and SRC */
#define DNP3_BLOCK_LEN 16 /* user data blocks, each followed by a CRC */

#define DNP3_TH_FIR    0x40
#define DNP3_AC_SEQ    0x0f
#define DNP3_FC_RESP   129 /* 129 response, 130 unsolicited, 131 auth response */

/* CRC-16/DNP: polynomial 0x3d65 reflected (0xa6bc), initial value 0, the
 * result complemented and sent low byte first (IEEE 1815-2012, data link layer).
 * Check value: "123456789" gives 0xea82. */
static const uint16_t dnp3_crc_table[256] = {
	0x0000, 0x365e, 0x6cbc, 0x5ae2, 0xd978, 0xef26, 0xb5c4, 0x839a,
	0xff89, 0xc9d7, 0x9335, 0xa56b, 0x26f1, 0x10af, 0x4a4d, 0x7c13,
	0xb26b, 0x8435, 0xded7, 0xe889, 0x6b13, 0x5d4d, 0x07af, 0x31f1,
	0x4de2, 0x7bbc, 0x215e, 0x1700, 0x949a, 0xa2c4, 0xf826, 0xce78,
	0x29af, 0x1ff1, 0x4513, 0x734d, 0xf0d7, 0xc689, 0x9c6b, 0xaa35,
	0xd626, 0xe078, 0xba9a, 0x8cc4, 0x0f5e, 0x3900, 0x63e2, 0x55bc,
	0x9bc4, 0xad9a, 0xf778, 0xc126, 0x42bc, 0x74e2, 0x2e00, 0x185e,
	0x644d, 0x5213, 0x08f1, 0x3eaf, 0xbd35, 0x8b6b, 0xd189, 0xe7d7,
	0x535e, 0x6500, 0x3fe2, 0x09bc, 0x8a26, 0xbc78, 0xe69a, 0xd0c4,
	0xacd7, 0x9a89, 0xc06b, 0xf635, 0x75af, 0x43f1, 0x1913, 0x2f4d,
	0xe135, 0xd76b, 0x8d89, 0xbbd7, 0x384d, 0x0e13, 0x54f1, 0x62af,
	0x1ebc, 0x28e2, 0x7200, 0x445e, 0xc7c4, 0xf19a, 0xab78, 0x9d26,
	0x7af1, 0x4caf, 0x164d, 0x2013, 0xa389, 0x95d7, 0xcf35, 0xf96b,
	0x8578, 0xb326, 0xe9c4, 0xdf9a, 0x5c00, 0x6a5e, 0x30bc, 0x06e2,
	0xc89a, 0xfec4, 0xa426, 0x9278, 0x11e2, 0x27bc, 0x7d5e, 0x4b00,
	0x3713, 0x014d, 0x5baf, 0x6df1, 0xee6b, 0xd835, 0x82d7, 0xb489,
	0xa6bc, 0x90e2, 0xca00, 0xfc5e, 0x7fc4, 0x499a, 0x1378, 0x2526,
	0x5935, 0x6f6b, 0x3589, 0x03d7, 0x804d, 0xb613, 0xecf1, 0xdaaf,
	0x14d7, 0x2289, 0x786b, 0x4e35, 0xcdaf, 0xfbf1, 0xa113, 0x974d,
	0xeb5e, 0xdd00, 0x87e2, 0xb1bc, 0x3226, 0x0478, 0x5e9a, 0x68c4,
	0x8f13, 0xb94d, 0xe3af, 0xd5f1, 0x566b, 0x6035, 0x3ad7, 0x0c89,
	0x709a, 0x46c4, 0x1c26, 0x2a78, 0xa9e2, 0x9fbc, 0xc55e, 0xf300,
	0x3d78, 0x0b26, 0x51c4, 0x679a, 0xe400, 0xd25e, 0x88bc, 0xbee2,
	0xc2f1, 0xf4af, 0xae4d, 0x9813, 0x1b89, 0x2dd7, 0x7735, 0x416b,
	0xf5e2, 0xc3bc, 0x995e, 0xaf00, 0x2c9a, 0x1ac4, 0x4026, 0x7678,
	0x0a6b, 0x3c35, 0x66d7, 0x5089, 0xd313, 0xe54d, 0xbfaf, 0x89f1,
	0x4789, 0x71d7, 0x2b35, 0x1d6b, 0x9ef1, 0xa8af, 0xf24d, 0xc413,
	0xb800, 0x8e5e, 0xd4bc, 0xe2e2, 0x6178, 0x5726, 0x0dc4, 0x3b9a,
	0xdc4d, 0xea13, 0xb0f1, 0x86af, 0x0535, 0x336b, 0x6989, 0x5fd7,
	0x23c4, 0x159a, 0x4f78, 0x7926, 0xfabc, 0xcce2, 0x9600, 0xa05e,
	0x6e26, 0x5878, 0x029a, 0x34c4, 0xb75e, 0x8100, 0xdbe2, 0xedbc,
	0x91af, 0xa7f1, 0xfd13, 0xcb4d, 0x48d7, 0x7e89, 0x246b, 0x1235,
};

/* Whether the n bytes at p are followed by their CRC; the caller has
 * checked that p[n + 1] is within the payload. */
static int dnp3_crc_ok(const uint8_t *p, size_t n)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < n; i++)
		crc = (uint16_t)(crc >> 8 ^ dnp3_crc_table[(crc ^ p[i]) & 0xff]);
	crc = (uint16_t)~crc;
	return p[n] == (crc & 0xff) && p[n + 1] == crc >> 8;
}

static const struct ics_fn dnp3_fns[34] = {
	[0] = {"confirm", ICS_OP_OTHER},
	[1] = {"read", ICS_OP_READ},
	[2] = {"write", ICS_OP_WRITE},
	[3] = {"select", ICS_OP_CONTROL},
	[4] = {"operate", ICS_OP_CONTROL},
	[5] = {"direct_operate", ICS_OP_CONTROL},
	[6] = {"direct_operate_no_ack", ICS_OP_CONTROL},
	[7] = {"immediate_freeze", ICS_OP_CONTROL},
	[8] = {"immediate_freeze_no_ack", ICS_OP_CONTROL},
	[9] = {"freeze_clear", ICS_OP_CONTROL},
	[10] = {"freeze_clear_no_ack", ICS_OP_CONTROL},
	[11] = {"freeze_at_time", ICS_OP_CONTROL},
	[12] = {"freeze_at_time_no_ack", ICS_OP_CONTROL},
	[13] = {"cold_restart", ICS_OP_RESTART},
	[14] = {"warm_restart", ICS_OP_RESTART},
	[15] = {"initialize_data", ICS_OP_CONTROL},
	[16] = {"initialize_application", ICS_OP_CONTROL},
	[17] = {"start_application", ICS_OP_CONTROL},
	[18] = {"stop_application", ICS_OP_STOP},
	[19] = {"save_configuration", ICS_OP_PROGRAM},
	[20] = {"enable_unsolicited", ICS_OP_CONTROL},
	[21] = {"disable_unsolicited", ICS_OP_CONTROL},
	[22] = {"assign_class", ICS_OP_CONTROL},
	[23] = {"delay_measurement", ICS_OP_DIAGNOSTIC},
	[24] = {"record_current_time", ICS_OP_OTHER},
	[25] = {"open_file", ICS_OP_FILE},
	[26] = {"close_file", ICS_OP_FILE},
	[27] = {"delete_file", ICS_OP_FILE},
	[28] = {"get_file_info", ICS_OP_FILE},
	[29] = {"authenticate_file", ICS_OP_FILE},
	[30] = {"abort_file", ICS_OP_FILE},
	[31] = {"activate_config", ICS_OP_PROGRAM},
	[32] = {"authentication_request", ICS_OP_OTHER},
	[33] = {"authentication_request_no_ack", ICS_OP_OTHER},
};

static void dnp3_classify(uint8_t fc, struct ics_op *op)
{
	op->is_request = 1;
	op->op_class = ICS_OP_OTHER;
	op->name = "unknown";
	if (fc < sizeof(dnp3_fns) / sizeof(dnp3_fns[0])) {
		op->op_class = dnp3_fns[fc].op_class;
		op->name = dnp3_fns[fc].name;
		return;
	}
	switch (fc) {
	case 129:
		op->name = "response";
		break;
	case 130:
		op->name = "unsolicited_response";
		break;
	case 131:
		op->name = "authentication_response";
		break;
	default:
		return;
	}
	op->op_class = ICS_OP_RESPONSE;
	op->is_request = 0;
}

/* One link frame: header and its CRC, then LEN - 5 bytes of user data in
 * blocks of up to 16 bytes, each with a CRC. Every CRC within the payload
 * must hold; a frame cut short yields a PARTIAL op from its first block
 * (transport header, application control, function) if those bytes are
 * there. Any frame carrying user data is read as a transport segment,
 * whatever its link function: a detector should not be deaf to a frame an
 * outstation might accept. */
static int dnp3_unit(struct cur *c, void *ctx, struct ics_op *op)
{
	const uint8_t *h = c->p, *ud = NULL;
	size_t ud_len, ud_avail = 0;
	uint8_t th, ac, fc;
	int partial = 0, short_err = YG_EFORMAT;
	struct cur a;

	(void)ctx;
	if (cur_left(c) < 2)
		return YG_ETRUNC;
	if (h[0] != DNP3_START0 || h[1] != DNP3_START1)
		return YG_EFORMAT;
	if (cur_skip(c, DNP3_HDR_LEN + DNP3_CRC_LEN) < 0)
		return YG_ETRUNC;
	if (h[2] < DNP3_LEN_MIN || !dnp3_crc_ok(h, DNP3_HDR_LEN))
		return YG_EFORMAT;

	ud_len = (size_t)h[2] - DNP3_LEN_MIN;
	for (size_t off = 0; off < ud_len; off += DNP3_BLOCK_LEN) {
		size_t n = ud_len - off < DNP3_BLOCK_LEN ? ud_len - off : DNP3_BLOCK_LEN;
		const uint8_t *blk = c->p;

		if (off == 0) {
			ud = blk;
			ud_avail = n;
			if (cur_left(c) < n) {
				ud_avail = cur_left(c);
				short_err = YG_ETRUNC;
			}
		}
		if (cur_skip(c, n + DNP3_CRC_LEN) < 0) {
			partial = 1;
			break;
		}
		if (!dnp3_crc_ok(blk, n))
			return YG_EFORMAT;
	}
	if (ud_len == 0)
		return UNIT_NONE;

	/* The first block holds the transport header and, in the first
	 * segment of a fragment, the application header. */
	a = cur_make(ud, ud_avail);
	if (cur_u8(&a, &th) < 0)
		return YG_ETRUNC;
	if (!(th & DNP3_TH_FIR))
		return partial ? YG_ETRUNC : UNIT_NONE;
	if (cur_u8(&a, &ac) < 0 || cur_u8(&a, &fc) < 0)
		return short_err;

	op->proto = ICS_DNP3;
	op->function = fc;
	op->unit = (uint16_t)(h[4] | h[5] << 8);
	op->src = (uint16_t)(h[6] | h[7] << 8);
	op->seq = ac & DNP3_AC_SEQ;
	op->unit_len = (uint16_t)(DNP3_HDR_LEN + DNP3_CRC_LEN + ud_len +
				  DNP3_CRC_LEN * ((ud_len + DNP3_BLOCK_LEN - 1) / DNP3_BLOCK_LEN));
	dnp3_classify(fc, op);
	if (fc >= DNP3_FC_RESP) {
		uint16_t iin;

		if (cur_u16(&a, &iin) == 0)
			op->sub = iin;
	}
	if (partial) {
		op->flags |= ICS_OPF_PARTIAL;
		return UNIT_PARTIAL;
	}
	return UNIT_OP;
}

int ics_parse_dnp3(const uint8_t *p, size_t len, struct ics_op *ops, size_t max, size_t *used)
{
	return ics_units_parse(dnp3_unit, NULL, p, len, ops, max, used);
}

/* ---- S7comm -------------------------------------------------------- */

#define TPKT_VERSION  3
#define TPKT_HDR_LEN  4
#define TPKT_LEN_MIN  7 /* header + the 3-byte COTP DT header */
#define COTP_TYPE_DT  0xf0
#define COTP_DT_EOT   0x80
#define COTP_LI_MAX   254 /* 255 is reserved (ISO 8073) */

#define S7_PROTO      0x32
#define S7P_PROTO     0x72
#define S7_HDR_LEN    10
#define S7_ACK_HDR    12 /* ack and ack_data add error class and code */
#define S7_JOB        1
#define S7_ACK        2
#define S7_ACK_DATA   3
#define S7_USERDATA   7
#define S7_FN_PI      0x28
#define S7_UD_REQ     4 /* userdata type nibble */

#define S7P_OP_REQ    0x31

/* Whether the previous DT in this payload left an S7 PDU unfinished. */
struct s7_state {
	int cont;
};

static const struct ics_fn *s7_job_fn(uint8_t f)
{
	static const struct {
		uint8_t code;
		struct ics_fn fn;
	} fns[] = {
		{0x00, {"cpu_services", ICS_OP_OTHER}},
		{0x04, {"read_var", ICS_OP_READ}},
		{0x05, {"write_var", ICS_OP_WRITE}},
		{0x1a, {"request_download", ICS_OP_DOWNLOAD}},
		{0x1b, {"download_block", ICS_OP_DOWNLOAD}},
		{0x1c, {"download_ended", ICS_OP_DOWNLOAD}},
		{0x1d, {"start_upload", ICS_OP_UPLOAD}},
		{0x1e, {"upload", ICS_OP_UPLOAD}},
		{0x1f, {"end_upload", ICS_OP_UPLOAD}},
		{0x28, {"pi_service", ICS_OP_PROGRAM}},
		{0x29, {"plc_stop", ICS_OP_STOP}},
		{0xf0, {"setup_communication", ICS_OP_OTHER}},
	};
	static const struct ics_fn unknown = {"unknown", ICS_OP_OTHER};

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (fns[i].code == f)
			return &fns[i].fn;
	return &unknown;
}

/* The PI service of a 0x28 job: seven unknown bytes, a length-prefixed
 * parameter block, then the length-prefixed service name ("_INSE"...).
 * P_PROGRAM under 0x28 starts the PLC (under 0x29 it stops it). */
static const char *s7_pi_name(struct cur *par)
{
	static const struct {
		const char *svc;
		const char *name;
	} pis[] = {
		{"_INSE", "pi_insert_block"},    {"_DELE", "pi_delete_block"},
		{"P_PROGRAM", "pi_plc_start"},   {"_MODU", "pi_copy_ram_to_rom"},
		{"_GARB", "pi_compress_memory"}, {"_N_", "pi_nc_service"},
	};
	uint16_t blen;
	uint8_t slen;

	if (cur_skip(par, 7) < 0 || cur_u16(par, &blen) < 0 || cur_skip(par, blen) < 0 ||
	    cur_u8(par, &slen) < 0 || cur_left(par) < slen)
		return "pi_service";
	for (size_t i = 0; i < sizeof(pis) / sizeof(pis[0]); i++) {
		size_t n = strlen(pis[i].svc);

		if (slen >= n && memcmp(par->p, pis[i].svc, n) == 0)
			return pis[i].name;
	}
	return "pi_service";
}

/* Userdata: the function group picks the class, the subfunction refines
 * the name where it matters (time functions set or read the clock). */
static void s7_userdata_classify(uint8_t group, uint8_t sub, int has_sub, struct ics_op *op)
{
	switch (group) {
	case 1:
		op->op_class = ICS_OP_PROGRAM;
		op->name = "programmer_commands";
		break;
	case 2:
		op->op_class = ICS_OP_READ;
		op->name = "cyclic_data";
		break;
	case 3:
		op->op_class = ICS_OP_READ;
		op->name = "block_functions";
		if (has_sub && sub == 1)
			op->name = "list_blocks";
		else if (has_sub && sub == 2)
			op->name = "list_blocks_of_type";
		else if (has_sub && sub == 3)
			op->name = "get_block_info";
		break;
	case 4:
		op->op_class = ICS_OP_DIAGNOSTIC;
		op->name = has_sub && sub == 1 ? "read_szl" : "cpu_functions";
		break;
	case 5:
		op->op_class = ICS_OP_OTHER;
		op->name = "security";
		break;
	case 6:
		op->op_class = ICS_OP_OTHER;
		op->name = "pbc_bsend_brcv";
		break;
	case 7:
		op->op_class = ICS_OP_READ;
		op->name = "time_functions";
		if (has_sub && (sub == 1 || sub == 3)) {
			op->name = "read_clock";
		} else if (has_sub && (sub == 2 || sub == 4)) {
			op->op_class = ICS_OP_WRITE;
			op->name = "set_clock";
		}
		break;
	case 0xf:
		op->op_class = ICS_OP_PROGRAM;
		op->name = "nc_programming";
		break;
	default:
		op->op_class = ICS_OP_OTHER;
		op->name = "userdata";
		break;
	}
}

/* The S7 PDU at s, what a DT carries. tpkt_whole says the payload holds
 * the whole TPKT, so that a field missing from it is malformed, not cut
 * short; last says the DT ends the PDU, so that the header's lengths must
 * fit. Returns UNIT_OP with *op filled, or an error. */
static int s7_pdu(struct cur *s, int tpkt_whole, int last, struct ics_op *op)
{
	int short_err = tpkt_whole ? YG_EFORMAT : YG_ETRUNC;
	uint16_t redid, pduref, plen, dlen, err = 0;
	uint8_t proto, rosctr, f, tg, sub = 0;
	size_t hdr = S7_HDR_LEN;
	const struct ics_fn *fn;
	struct cur par;
	int has_sub;

	if (cur_u8(s, &proto) < 0)
		return short_err;
	op->proto = ICS_S7COMM;
	if (proto == S7P_PROTO) {
		uint8_t ver, opcode;
		uint16_t plen16, fn16;

		/* S7comm-plus: version, length, then opcode, 2 reserved
		 * bytes and a 16-bit function when the PDU has them. */
		op->op_class = ICS_OP_OTHER;
		op->name = "s7comm_plus";
		if (cur_u8(s, &ver) < 0 || cur_u16(s, &plen16) < 0 || cur_u8(s, &opcode) < 0)
			return UNIT_OP;
		op->is_request = opcode == S7P_OP_REQ;
		if (cur_skip(s, 2) == 0 && cur_u16(s, &fn16) == 0)
			op->sub = fn16;
		return UNIT_OP;
	}
	if (proto != S7_PROTO)
		return YG_EFORMAT;
	if (cur_u8(s, &rosctr) < 0)
		return short_err;
	if (rosctr != S7_JOB && rosctr != S7_ACK && rosctr != S7_ACK_DATA &&
	    rosctr != S7_USERDATA)
		return YG_EFORMAT;
	if (rosctr == S7_ACK || rosctr == S7_ACK_DATA)
		hdr = S7_ACK_HDR;
	if (cur_u16(s, &redid) < 0 || cur_u16(s, &pduref) < 0 || cur_u16(s, &plen) < 0 ||
	    cur_u16(s, &dlen) < 0 || (hdr == S7_ACK_HDR && cur_u16(s, &err) < 0))
		return short_err;
	if (tpkt_whole && last && cur_left(s) < (size_t)plen + dlen)
		return YG_EFORMAT;

	op->seq = pduref;
	op->is_request = rosctr == S7_JOB;
	if (hdr == S7_ACK_HDR) {
		op->sub = err;
		if (err)
			op->flags |= ICS_OPF_ERROR;
	}
	if (plen == 0) {
		if (hdr != S7_ACK_HDR)
			return YG_EFORMAT;
		op->op_class = ICS_OP_RESPONSE;
		op->name = "ack";
		return UNIT_OP;
	}
	par = *s;
	if (cur_left(&par) > plen)
		par.end = par.p + plen;

	if (rosctr == S7_USERDATA) {
		/* 3-byte head, length, method, type|group, subfunction. */
		if (cur_skip(&par, 5) < 0 || cur_u8(&par, &tg) < 0)
			return plen < 6 ? YG_EFORMAT : short_err;
		has_sub = cur_u8(&par, &sub) == 0;
		op->function = tg;
		op->sub = sub;
		op->is_request = tg >> 4 == S7_UD_REQ;
		s7_userdata_classify(tg & 0x0f, sub, has_sub, op);
		return UNIT_OP;
	}

	if (cur_u8(&par, &f) < 0)
		return short_err;
	fn = s7_job_fn(f);
	op->function = f;
	op->op_class = fn->op_class;
	op->name = fn->name;
	if (f == S7_FN_PI && rosctr == S7_JOB)
		op->name = s7_pi_name(&par);
	return UNIT_OP;
}

/* One TPKT. Only a COTP DT that starts an S7 PDU is an op; other TPDUs
 * and the DTs that continue a PDU are checked and skipped. */
static int s7_unit(struct cur *c, void *ctx, struct ics_op *op)
{
	struct s7_state *st = ctx;
	uint8_t ver, rsv, li, type, eot;
	uint16_t tlen;
	struct cur body, cotp;
	int whole = 1, cont, r;

	if (cur_u8(c, &ver) < 0)
		return YG_ETRUNC;
	if (ver != TPKT_VERSION)
		return YG_EFORMAT;
	if (cur_u8(c, &rsv) < 0 || cur_u16(c, &tlen) < 0)
		return YG_ETRUNC;
	if (tlen < TPKT_LEN_MIN)
		return YG_EFORMAT;
	if (cur_sub(c, (size_t)tlen - TPKT_HDR_LEN, &body) < 0) {
		body = *c;
		whole = 0;
	}

	if (cur_u8(&body, &li) < 0)
		return YG_ETRUNC;
	/* li counts the COTP header after itself, which must fit the TPKT. */
	if (li == 0 || li > COTP_LI_MAX || (size_t)li + 1 > (size_t)tlen - TPKT_HDR_LEN)
		return YG_EFORMAT;
	if (cur_sub(&body, li, &cotp) < 0 || cur_u8(&cotp, &type) < 0)
		return YG_ETRUNC;
	if ((type & 0xf0) != COTP_TYPE_DT)
		return whole ? UNIT_NONE : YG_ETRUNC;
	if (cur_u8(&cotp, &eot) < 0)
		return YG_EFORMAT;

	cont = st->cont;
	st->cont = !(eot & COTP_DT_EOT);
	if (cont)
		return whole ? UNIT_NONE : YG_ETRUNC;
	r = s7_pdu(&body, whole, eot & COTP_DT_EOT, op);
	if (r < 0)
		return r;
	op->unit_len = tlen;
	if (!whole) {
		op->flags |= ICS_OPF_PARTIAL;
		return UNIT_PARTIAL;
	}
	return UNIT_OP;
}

int ics_parse_s7comm(const uint8_t *p, size_t len, struct ics_op *ops, size_t max, size_t *used)
{
	struct s7_state st = {0};

	return ics_units_parse(s7_unit, &st, p, len, ops, max, used);
}

/* ---- Common -------------------------------------------------------- */

int ics_parse(int proto, const uint8_t *p, size_t len, int from_server, struct ics_op *ops,
	      size_t max, size_t *used)
{
	switch (proto) {
	case ICS_MODBUS:
		return ics_parse_modbus(p, len, from_server, ops, max, used);
	case ICS_DNP3:
		return ics_parse_dnp3(p, len, ops, max, used);
	case ICS_S7COMM:
		return ics_parse_s7comm(p, len, ops, max, used);
	}
	if (used)
		*used = 0;
	return YG_EINVAL;
}

const char *ics_proto_name(int proto)
{
	switch (proto) {
	case ICS_MODBUS:
		return "modbus";
	case ICS_DNP3:
		return "dnp3";
	case ICS_S7COMM:
		return "s7comm";
	}
	return "unknown";
}

const char *ics_op_class_name(int op_class)
{
	static const char *const names[] = {
		[ICS_OP_READ] = "read",         [ICS_OP_WRITE] = "write",
		[ICS_OP_DIAGNOSTIC] = "diagnostic", [ICS_OP_CONTROL] = "control",
		[ICS_OP_RESTART] = "restart",   [ICS_OP_FILE] = "file",
		[ICS_OP_STOP] = "stop",         [ICS_OP_DOWNLOAD] = "download",
		[ICS_OP_UPLOAD] = "upload",     [ICS_OP_PROGRAM] = "program",
		[ICS_OP_RESPONSE] = "response", [ICS_OP_OTHER] = "other",
	};

	if (op_class < 0 || (size_t)op_class >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[op_class];
}
