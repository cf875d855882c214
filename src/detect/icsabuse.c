/* icsabuse.c - industrial control abuse: operations that change what a
 * controller does, from sources that should not send them.
 *
 * Stopping a PLC, restarting a device, downloading or uploading a program,
 * file operations and program control (S7 PI services, Modbus UMAS) are
 * not routine: they alert from any source not in the allow-list
 * (--ics-allow), and from every source when no allow-list is set. Writes,
 * DNP3 control (select/operate) and Modbus diagnostics are routine for a
 * SCADA master: they alert only from sources outside a configured
 * allow-list. One alert per source, device and kind of operation (write,
 * stop, upload, ...) per ics.window, naming the first function seen. */
#include "detect/detect_int.h"

#include "decode/ics.h"
#include "privacy/protect.h"

struct ikey {
	uint8_t src[17];
	uint8_t dst[17];
	uint8_t proto, op_class;
};

struct ics_rec {
	struct window w;
	uint64_t ops;
};

int icsabuse_init(struct detect *d)
{
	d->ics = dtable_new(d->cfg.table_entries / 4 + 64, sizeof(struct ikey), sizeof(struct ics_rec));
	return d->ics ? 0 : -1;
}

/* The signature for an operation, or 0 when it is not alerted. routine is
 * set for operations that need an allow-list to be suspicious. */
static uint32_t ics_sid(const struct ics_op *op, int *routine)
{
	*routine = 0;
	switch (op->op_class) {
	case ICS_OP_WRITE:
		*routine = 1;
		return op->proto == ICS_MODBUS ? 9600001 : op->proto == ICS_DNP3 ? 9600011 : 9600025;
	case ICS_OP_CONTROL:
		*routine = 1;
		return op->proto == ICS_DNP3 ? 9600012 : op->proto == ICS_MODBUS ? 9600002 : 9600024;
	case ICS_OP_DIAGNOSTIC:
		*routine = 1;
		return op->proto == ICS_MODBUS ? 9600002 : 0;
	case ICS_OP_RESTART:
		return op->proto == ICS_DNP3 ? 9600013 : 9600003;
	case ICS_OP_FILE:
		return op->proto == ICS_DNP3 ? 9600014 : 0;
	case ICS_OP_STOP:
		return op->proto == ICS_S7COMM ? 9600021 : op->proto == ICS_DNP3 ? 9600015 : 9600004;
	case ICS_OP_DOWNLOAD:
		return op->proto == ICS_S7COMM ? 9600022 : 0;
	case ICS_OP_UPLOAD:
		return op->proto == ICS_S7COMM ? 9600023 : 0;
	case ICS_OP_PROGRAM:
		return op->proto == ICS_S7COMM ? 9600024 : op->proto == ICS_MODBUS ? 9600005 : 9600016;
	}
	return 0;
}

void icsabuse_op(struct detect *d, const struct flow *f, const struct packet *pkt,
		 const struct ics_op *op)
{
	struct ics_rec *r;
	struct ikey k;
	struct alert a;
	uint32_t sid;
	int routine, allowed, is_new;

	if (!op->is_request)
		return;
	if ((sid = ics_sid(op, &routine)) == 0)
		return;
	allowed = d->ics_allow != NULL && protect_set_contains(d->ics_allow, &pkt->src);
	if (allowed || (routine && d->ics_allow == NULL))
		return;
	memset(&k, 0, sizeof(k));
	k.src[0] = k.dst[0] = pkt->src.family;
	memcpy(k.src + 1, pkt->src.a, 16);
	memcpy(k.dst + 1, pkt->dst.a, 16);
	k.proto = op->proto;
	k.op_class = op->op_class;
	r = dtable_get(d->ics, &k, pkt->ts_us, &is_new);
	if (window_roll(&r->w, pkt->ts_us, d->cfg.ics_window_s))
		r->ops = 0;
	r->ops++;
	if (r->w.alerted)
		return;
	r->w.alerted = 1;
	alert_from_packet(&a, sid, f, pkt);
	alert_str(&a, "protocol", ics_proto_name(op->proto), strlen(ics_proto_name(op->proto)));
	alert_str(&a, "function", op->name, strlen(op->name));
	alert_str(&a, "class", ics_op_class_name(op->op_class),
		  strlen(ics_op_class_name(op->op_class)));
	alert_num(&a, "function_code", op->function);
	if (op->proto != ICS_S7COMM)
		alert_num(&a, "unit", op->unit);
	alert_num(&a, "allow_list", d->ics_allow != NULL);
	detect_emit(d, &a);
}
