/* ics.h - what an industrial control payload asks for: Modbus/TCP, DNP3
 * (TCP or UDP) and S7comm (ISO-on-TCP), reduced to one struct ics_op per
 * request or response found in a TCP segment or UDP datagram.
 *
 * The parsers are pure: they read the bytes they are given through a
 * bounded cursor, fill the caller's array, allocate nothing, keep no state
 * and so are safe to call from any thread. Hostile input yields a negative
 * yg_err or fewer ops, never a crash or a read past len.
 *
 * They are also stateless across packets: a payload must start on a
 * protocol unit (an MBAP header, a DNP3 frame, a TPKT), as the first
 * segment of each direction of a flow does. A segment that starts in the
 * middle of a unit split by TCP is rejected as YG_EFORMAT, or for DNP3 and
 * S7 may hold only later fragments, which carry no function code.
 * docs/ics.md has the classification table and the references. */
#ifndef YAGURA_DECODE_ICS_H
#define YAGURA_DECODE_ICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum ics_proto {
	ICS_MODBUS = 1, /* Modbus/TCP, tcp/502 */
	ICS_DNP3,       /* DNP3 over TCP or UDP, port 20000 */
	ICS_S7COMM,     /* S7comm and S7comm-plus over TPKT/COTP, tcp/102 */
};

/* What the function does to the device; the detector keys on this. The
 * class belongs to the function code, not the direction: the response to
 * a Modbus write is ICS_OP_WRITE with is_request 0. ICS_OP_RESPONSE is for
 * codes that only answer (Modbus exceptions, DNP3 129-131, S7 bare ack). */
enum ics_op_class {
	ICS_OP_READ,
	ICS_OP_WRITE,
	ICS_OP_DIAGNOSTIC,
	ICS_OP_CONTROL,
	ICS_OP_RESTART,
	ICS_OP_FILE,
	ICS_OP_STOP,
	ICS_OP_DOWNLOAD, /* program or block into the device */
	ICS_OP_UPLOAD,   /* program or block out of the device */
	ICS_OP_PROGRAM,
	ICS_OP_RESPONSE,
	ICS_OP_OTHER,
};

/* ics_op.flags */
#define ICS_OPF_PARTIAL 0x01 /* the unit runs past the payload: header and function
				  * were read, the rest (and for DNP3 the CRCs after
				  * the bytes given) was not */
#define ICS_OPF_ERROR   0x02 /* a response that reports failure: Modbus exception,
				  * S7 ack with a nonzero error class or code */

struct ics_op {
	uint8_t proto;      /* enum ics_proto */
	uint8_t op_class;   /* enum ics_op_class */
	uint8_t function;   /* raw code: Modbus function (exceptions keep bit 0x80),
			     * DNP3 application function, S7 parameter function;
			     * S7 userdata: type << 4 | function group (0x44 = CPU
			     * functions request); S7 ack without parameter: 0 */
	uint8_t is_request; /* 1 client to server, 0 server to client */
	uint8_t flags;      /* ICS_OPF_* */
	uint16_t sub;       /* Modbus: diagnostics subfunction (8), MEI type (43),
			     * UMAS function (90), exception code (function >= 0x80);
			     * S7: userdata subfunction; ack error class << 8 | code;
			     * DNP3: IIN of responses (IIN1 << 8 | IIN2) */
	uint16_t unit;      /* Modbus unit id; DNP3 destination address; S7: 0 */
	uint16_t src;       /* DNP3 source address; 0 otherwise */
	uint16_t seq;       /* Modbus transaction id; DNP3 application sequence
			     * (0..15); S7 PDU reference */
	uint16_t unit_len;  /* bytes of the whole unit the op came from: MBAP
			     * header + PDU, DNP3 frame with its CRCs, TPKT. For a
			     * PARTIAL op, a caller that follows the flow skips
			     * unit_len - (len - used) bytes of the next segment in
			     * that direction to land on the next unit. */
	const char *name;   /* static, e.g. "write_multiple_registers",
			     * "direct_operate", "cold_restart", "plc_stop",
			     * "request_download"; never NULL */
};

/* All three parsers share one contract. They read units from p[0] on and
 * write one op per request or response into ops[0..max), stopping at the
 * end of the payload, at the first unit that fails, or when max ops are
 * written. A unit cut short by the end of the payload still yields an op,
 * flagged ICS_OPF_PARTIAL, when its function code is within the bytes.
 *
 * Return the number of ops written, or a negative yg_err when a unit
 * fails before any op was written: YG_ETRUNC when the bytes end before a
 * function code, YG_EFORMAT when they are not this protocol (bad MBAP
 * protocol id or length, DNP3 start bytes or CRC, TPKT/COTP/S7 header). 0
 * means every unit was read and none was an op (or len or max was 0). If
 * used is not NULL it receives the bytes taken by whole units read (a
 * PARTIAL unit is not counted): when *used < len, parsing stopped early,
 * and calling again on p + *used says why or goes on after max. */

/* Modbus/TCP: one op per ADU (MBAP header + PDU), several per segment.
 * from_server says the direction, which the bytes cannot: nonzero for
 * payloads sent from port 502. */
int ics_parse_modbus(const uint8_t *p, size_t len, int from_server, struct ics_op *ops,
		     size_t max, size_t *used) YG_MUST_CHECK;

/* DNP3 data link frames (0x05 0x64 ...), every CRC checked. One op per
 * frame whose transport segment has FIR set (only it holds the
 * application header); link-layer-only frames and later segments are
 * read, checked and yield nothing. Direction comes from the function. */
int ics_parse_dnp3(const uint8_t *p, size_t len, struct ics_op *ops, size_t max,
		   size_t *used) YG_MUST_CHECK;

/* TPKT (RFC 1006) + COTP (ISO 8073) + S7comm, several TPKTs per segment.
 * One op per COTP DT that starts an S7 PDU; connection setup TPDUs (CR,
 * CC, DR...) and continuations of an S7 PDU split over DTs within the
 * payload yield nothing. S7comm-plus (protocol id 0x72) gives one
 * ICS_OP_OTHER op named "s7comm_plus". Direction comes from ROSCTR. */
int ics_parse_s7comm(const uint8_t *p, size_t len, struct ics_op *ops, size_t max,
		     size_t *used) YG_MUST_CHECK;

/* Calls the parser for proto (from_server only matters for Modbus).
 * Returns what it returns, or YG_EINVAL for an unknown proto. */
int ics_parse(int proto, const uint8_t *p, size_t len, int from_server, struct ics_op *ops,
	      size_t max, size_t *used) YG_MUST_CHECK;

/* Static lower-case names ("modbus", "write", ...) for logs and EVE
 * output; "unknown" for a value outside the enum. Thread-safe. */
const char *ics_proto_name(int proto);
const char *ics_op_class_name(int op_class);

#endif
