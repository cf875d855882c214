/* parse.c - NetFlow v5, v9 and IPFIX on the wire, read through a bounded
 * cursor. Every length comes from the datagram and is checked against the
 * bytes that remain before it is used; the only allocation is a template,
 * whose size is bounded by NF_MAX_FIELDS. Each loop consumes at least four
 * bytes (sets, template records) or a template's record length, which is
 * at least one, so a datagram is read in time linear in its size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/cursor.h"
#include "base/hash.h"
#include "netflow/netflow_int.h"

#define PEN_REVERSE     29305u        /* RFC 5103 reverse information elements */
#define NTP_UNIX_OFFSET 2208988800ULL /* seconds from 1900 to 1970 */

/* One message being read. */
struct msg {
	struct nf_collector *c;
	struct nf_session *s;
	const struct ip_addr *from;
	uint16_t port;
	uint8_t version;
	uint8_t seq_unsure; /* a data set was skipped: its records were not counted */
	uint32_t domain;
	uint32_t uptime_ms; /* v9 header's sysUpTime */
	uint64_t export_ms; /* the header's export time */
	uint64_t now_us;
	uint32_t data_records;
	int delivered;
};

/* What one record said, before it becomes a struct nf_record. */
struct acc {
	uint32_t have;
	uint64_t octets, packets, post_octets, post_packets, rev_octets, rev_packets;
	uint8_t src[16], dst[16];
	uint8_t src_fam, dst_fam;
	uint8_t proto, tcp_flags, rev_flags, icmp_type, icmp_code;
	uint16_t sport, dport, icmp, vlan;
	uint32_t in_if, out_if;
	uint64_t start_us, end_us;
	uint8_t start_rank, end_rank;
	uint32_t start_up, end_up;
	uint64_t sys_init_ms;
	uint64_t sampler_id;
	uint64_t interval34, interval50, pkt_interval, pkt_space, samp_size, samp_pop;
	double prob;
};

enum {
	H_OCTETS = 1 << 0,
	H_PACKETS = 1 << 1,
	H_POST_OCTETS = 1 << 2,
	H_POST_PACKETS = 1 << 3,
	H_REV = 1 << 4,
	H_ICMP = 1 << 5,
	H_ICMP_TYPE = 1 << 6,
	H_VLAN = 1 << 7,
	H_IN_IF = 1 << 8,
	H_OUT_IF = 1 << 9,
	H_START_UP = 1 << 10,
	H_END_UP = 1 << 11,
	H_SYS_INIT = 1 << 12,
	H_SAMPLER_ID = 1 << 13,
	H_PROB = 1 << 14,
};

static uint64_t load_uint(const uint8_t *p, uint16_t len)
{
	uint64_t v = 0;

	for (uint16_t i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static uint64_t mul_sat(uint64_t v, uint32_t k)
{
	if (k != 0 && v > UINT64_MAX / k)
		return UINT64_MAX;
	return v * k;
}

/* NTP timestamp (RFC 7011 dateTimeMicroseconds / Nanoseconds) to Unix us. */
static uint64_t ntp_us(const uint8_t *p, int micro)
{
	uint64_t sec = load_be32(p);
	uint64_t frac = load_be32(p + 4);

	if (micro)
		frac &= ~(uint64_t)0x7ff; /* the 11 low bits are not significant */
	if (sec < NTP_UNIX_OFFSET)
		return 0;
	return (sec - NTP_UNIX_OFFSET) * 1000000 + ((frac * 1000000) >> 32);
}

/* ---- templates ---------------------------------------------------------- */

static int role_is_int(int role)
{
	switch (role) {
	case R_SRC4:
	case R_DST4:
	case R_SRC6:
	case R_DST6:
	case R_START_US:
	case R_END_US:
	case R_START_NS:
	case R_END_NS:
	case R_SAMPLING_PROB:
	case R_SKIP:
		return 0;
	}
	return 1;
}

/* The role of field (id, pen) of length len; *bad is set when the IE is
 * known but the length is not one it can have. */
static uint8_t field_role(uint16_t id, uint32_t pen, uint16_t len, int *bad)
{
	int role = R_SKIP;

	if (pen == PEN_REVERSE) {
		if (id == 1 || id == 85)
			role = R_REV_OCTETS;
		else if (id == 2 || id == 86)
			role = R_REV_PACKETS;
		else if (id == 6)
			role = R_REV_FLAGS;
	} else if (pen == 0) {
		switch (id) {
		case 1:
		case 85:
			role = R_OCTETS;
			break;
		case 2:
		case 86:
			role = R_PACKETS;
			break;
		case 23:
			role = R_POST_OCTETS;
			break;
		case 24:
			role = R_POST_PACKETS;
			break;
		case 4:
			role = R_PROTO;
			break;
		case 6:
			role = R_TCP_FLAGS;
			break;
		case 7:
			role = R_SPORT;
			break;
		case 11:
			role = R_DPORT;
			break;
		case 8:
			role = R_SRC4;
			break;
		case 12:
			role = R_DST4;
			break;
		case 27:
			role = R_SRC6;
			break;
		case 28:
			role = R_DST6;
			break;
		case 10:
			role = R_IN_IF;
			break;
		case 14:
			role = R_OUT_IF;
			break;
		case 58:
		case 243:
			role = R_VLAN;
			break;
		case 32:
		case 139:
			role = R_ICMP;
			break;
		case 176:
		case 178:
			role = R_ICMP_TYPE;
			break;
		case 177:
		case 179:
			role = R_ICMP_CODE;
			break;
		case 21:
			role = R_END_UPTIME;
			break;
		case 22:
			role = R_START_UPTIME;
			break;
		case 150:
			role = R_START_S;
			break;
		case 151:
			role = R_END_S;
			break;
		case 152:
			role = R_START_MS;
			break;
		case 153:
			role = R_END_MS;
			break;
		case 154:
			role = R_START_US;
			break;
		case 155:
			role = R_END_US;
			break;
		case 156:
			role = R_START_NS;
			break;
		case 157:
			role = R_END_NS;
			break;
		case 158:
			role = R_START_DELTA_US;
			break;
		case 159:
			role = R_END_DELTA_US;
			break;
		case 160:
			role = R_SYS_INIT_MS;
			break;
		case 34:
			role = R_SAMPLING_INTERVAL;
			break;
		case 50:
			role = R_SAMPLER_INTERVAL;
			break;
		case 48:
		case 302:
			role = R_SAMPLER_ID;
			break;
		case 305:
			role = R_PKT_INTERVAL;
			break;
		case 306:
			role = R_PKT_SPACE;
			break;
		case 309:
			role = R_SAMPLING_SIZE;
			break;
		case 310:
			role = R_SAMPLING_POP;
			break;
		case 311:
			role = R_SAMPLING_PROB;
			break;
		}
	}
	if (role == R_SKIP || len == NF_VARLEN)
		return R_SKIP;
	switch (role) {
	case R_SRC4:
	case R_DST4:
		if (len == 4)
			return (uint8_t)role;
		break;
	case R_SRC6:
	case R_DST6:
		if (len == 16)
			return (uint8_t)role;
		break;
	case R_START_US:
	case R_END_US:
	case R_START_NS:
	case R_END_NS:
		if (len == 8)
			return (uint8_t)role;
		break;
	case R_SAMPLING_PROB:
		if (len == 8 || len == 4)
			return (uint8_t)role;
		break;
	default:
		if (role_is_int(role) && len >= 1 && len <= 8)
			return (uint8_t)role;
		break;
	}
	*bad = 1;
	return R_SKIP;
}

static struct nf_template *template_alloc(struct msg *m, uint16_t id, uint16_t n)
{
	struct nf_template *t = yg_malloc(sizeof(*t) + (size_t)n * sizeof(struct nf_field));

	if (t == NULL) {
		nf_count(m->c, NF_C_NOMEM);
		return NULL;
	}
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->nfields = n;
	t->last_us = m->now_us;
	return t;
}

/* Reads n field specifiers into t (or only skips them when t is NULL).
 * IPFIX specifiers carry an enterprise bit and number; v9's do not. */
static int read_fields(struct msg *m, struct cur *c, struct nf_template *t, uint16_t n,
                       uint16_t nscope)
{
	int ipfix = m->version == 10;
	uint32_t min_len = 0;
	int varlen = 0;

	for (uint16_t i = 0; i < n; i++) {
		uint16_t id, len;
		uint32_t pen = 0;
		int bad = 0;

		if (cur_u16(c, &id) < 0 || cur_u16(c, &len) < 0)
			return -1;
		if (ipfix && (id & 0x8000)) {
			if (cur_u32(c, &pen) < 0)
				return -1;
			id &= 0x7fff;
		}
		if (len == NF_VARLEN) {
			if (!ipfix)
				return -1; /* v9 has no variable-length fields */
			varlen = 1;
			min_len += 1;
		} else {
			min_len += len;
		}
		if (t == NULL)
			continue;
		t->f[i].len = len;
		t->f[i].scope = i < nscope;
		/* v9 scope fields are scope types (System, Interface...), not IEs. */
		if (!ipfix && i < nscope)
			t->f[i].role = R_SKIP;
		else
			t->f[i].role = field_role(id, pen, len, &bad);
		if (bad)
			t->nbad++;
	}
	if (t != NULL) {
		t->min_len = min_len;
		t->varlen = (uint8_t)varlen;
	}
	return 0;
}

/* Reads one template record's n fields at c and installs it. Returns -1
 * when the set cannot be read further. */
static int template_record(struct msg *m, struct cur *c, uint16_t id, uint16_t n, uint16_t nscope,
                           int options)
{
	const uint8_t *start = c->p;
	struct nf_template *t = NULL;

	if (n > NF_MAX_FIELDS) {
		nf_count(m->c, NF_C_TEMPLATE_FIELDS);
		return read_fields(m, c, NULL, n, 0) < 0 ? -1 : 0;
	}
	/* Each specifier takes at least 4 bytes: refuse a count the set cannot
	 * hold before allocating for it. */
	if ((size_t)n * 4 > cur_left(c)) {
		nf_count(m->c, NF_C_BAD_TEMPLATE);
		return -1;
	}
	t = template_alloc(m, id, n);
	if (t == NULL)
		return read_fields(m, c, NULL, n, 0) < 0 ? -1 : 0;
	if (read_fields(m, c, t, n, nscope) < 0) {
		nf_count(m->c, NF_C_BAD_TEMPLATE);
		free(t);
		return -1;
	}
	if (t->min_len == 0 || t->min_len > 65535) {
		nf_count(m->c, NF_C_TEMPLATE_LENGTH);
		free(t);
		return 0;
	}
	/* Counted for templates in use only: a refused one says nothing more. */
	m->c->stats.c[NF_C_FIELD_LENGTH] += t->nbad;
	t->nscope = nscope;
	t->options = (uint8_t)options;
	t->wire_hash = (uint32_t)yg_hash64(start, (size_t)(c->p - start)) ^ nscope;
	nf_template_put(m->c, m->s, t);
	return 0;
}

/* IPFIX template set (2) or options template set (3). */
static void ipfix_template_set(struct msg *m, struct cur *set, int options)
{
	while (cur_left(set) >= 4) {
		uint16_t id, n, nscope = 0;

		if (cur_u16(set, &id) < 0 || cur_u16(set, &n) < 0)
			return;
		if (n == 0) {
			/* Withdrawal; id 2 (set 2) or 3 (set 3) withdraws them all. */
			if (id == (options ? 3 : 2))
				nf_template_withdraw(m->c, m->s, 0, options);
			else if (id >= 256)
				nf_template_withdraw(m->c, m->s, id, -1);
			else if (id != 0)
				nf_count(m->c, NF_C_BAD_TEMPLATE);
			/* id 0, count 0: padding */
			continue;
		}
		if (id < 256) {
			nf_count(m->c, NF_C_BAD_TEMPLATE);
			return;
		}
		if (options) {
			if (cur_u16(set, &nscope) < 0 || nscope == 0 || nscope > n) {
				nf_count(m->c, NF_C_BAD_TEMPLATE);
				return;
			}
		}
		if (template_record(m, set, id, n, nscope, options) < 0)
			return;
	}
}

/* v9 template flowset (0). */
static void v9_template_set(struct msg *m, struct cur *set)
{
	while (cur_left(set) >= 4) {
		uint16_t id, n;

		if (cur_u16(set, &id) < 0 || cur_u16(set, &n) < 0)
			return;
		if (id == 0 && n == 0)
			return; /* padding */
		if (id < 256 || n == 0) {
			nf_count(m->c, NF_C_BAD_TEMPLATE);
			return;
		}
		if (template_record(m, set, id, n, 0, 0) < 0)
			return;
	}
}

/* v9 options template flowset (1): lengths in bytes, not field counts. */
static void v9_options_set(struct msg *m, struct cur *set)
{
	while (cur_left(set) >= 6) {
		uint16_t id, slen, olen;
		struct cur sub;

		if (cur_u16(set, &id) < 0 || cur_u16(set, &slen) < 0 || cur_u16(set, &olen) < 0)
			return;
		if (id == 0 && slen == 0 && olen == 0)
			return; /* padding */
		if (id < 256 || slen % 4 != 0 || olen % 4 != 0 || slen + olen == 0 ||
		    cur_sub(set, (size_t)slen + olen, &sub) < 0) {
			nf_count(m->c, NF_C_BAD_TEMPLATE);
			return;
		}
		if (template_record(m, &sub, id, (uint16_t)((slen + olen) / 4),
		                    (uint16_t)(slen / 4), 1) < 0)
			return;
	}
}

/* ---- records ------------------------------------------------------------ */

static void set_time(uint64_t *t, uint8_t *rank, uint64_t us, uint8_t r)
{
	if (r > *rank) {
		*t = us;
		*rank = r;
	}
}

static void field_value(struct msg *m, struct acc *a, uint8_t role, const uint8_t *p, uint16_t len)
{
	uint64_t v = role_is_int(role) ? load_uint(p, len) : 0;
	uint64_t export_us = m->export_ms * 1000;

	switch (role) {
	case R_OCTETS:
		a->octets = v;
		a->have |= H_OCTETS;
		break;
	case R_PACKETS:
		a->packets = v;
		a->have |= H_PACKETS;
		break;
	case R_POST_OCTETS:
		a->post_octets = v;
		a->have |= H_POST_OCTETS;
		break;
	case R_POST_PACKETS:
		a->post_packets = v;
		a->have |= H_POST_PACKETS;
		break;
	case R_REV_OCTETS:
		a->rev_octets = v;
		a->have |= H_REV;
		break;
	case R_REV_PACKETS:
		a->rev_packets = v;
		a->have |= H_REV;
		break;
	case R_REV_FLAGS:
		a->rev_flags = (uint8_t)v;
		a->have |= H_REV;
		break;
	case R_PROTO:
		a->proto = (uint8_t)v;
		break;
	case R_TCP_FLAGS:
		a->tcp_flags = (uint8_t)v;
		break;
	case R_SPORT:
		a->sport = (uint16_t)v;
		break;
	case R_DPORT:
		a->dport = (uint16_t)v;
		break;
	/* An IPv4 address is its 4 bytes and 12 zeros, as ipaddr_set4 makes
	 * it: a template may carry an IPv6 address first (fuzz_netflow found
	 * one), whose bytes would otherwise stay behind the IPv4 one and make
	 * two records of one address compare and hash apart. */
	case R_SRC4:
		memset(a->src, 0, sizeof(a->src));
		memcpy(a->src, p, 4);
		a->src_fam = 4;
		break;
	case R_DST4:
		memset(a->dst, 0, sizeof(a->dst));
		memcpy(a->dst, p, 4);
		a->dst_fam = 4;
		break;
	case R_SRC6:
		memcpy(a->src, p, 16);
		a->src_fam = 6;
		break;
	case R_DST6:
		memcpy(a->dst, p, 16);
		a->dst_fam = 6;
		break;
	case R_IN_IF:
		a->in_if = clamp32(v);
		a->have |= H_IN_IF;
		break;
	case R_OUT_IF:
		a->out_if = clamp32(v);
		a->have |= H_OUT_IF;
		break;
	case R_VLAN:
		a->vlan = (uint16_t)(v & 0x0fff);
		a->have |= H_VLAN;
		break;
	case R_ICMP:
		a->icmp = (uint16_t)v;
		a->have |= H_ICMP;
		break;
	case R_ICMP_TYPE:
		a->icmp_type = (uint8_t)v;
		a->have |= H_ICMP_TYPE;
		break;
	case R_ICMP_CODE:
		a->icmp_code = (uint8_t)v;
		a->have |= H_ICMP_TYPE;
		break;
	case R_END_UPTIME:
		a->end_up = (uint32_t)v;
		a->have |= H_END_UP;
		break;
	case R_START_UPTIME:
		a->start_up = (uint32_t)v;
		a->have |= H_START_UP;
		break;
	case R_START_S:
		set_time(&a->start_us, &a->start_rank, v * 1000000, 2);
		break;
	case R_END_S:
		set_time(&a->end_us, &a->end_rank, v * 1000000, 2);
		break;
	case R_START_MS:
		set_time(&a->start_us, &a->start_rank, v * 1000, 3);
		break;
	case R_END_MS:
		set_time(&a->end_us, &a->end_rank, v * 1000, 3);
		break;
	case R_START_US:
		set_time(&a->start_us, &a->start_rank, ntp_us(p, 1), 4);
		break;
	case R_END_US:
		set_time(&a->end_us, &a->end_rank, ntp_us(p, 1), 4);
		break;
	case R_START_NS:
		set_time(&a->start_us, &a->start_rank, ntp_us(p, 0), 4);
		break;
	case R_END_NS:
		set_time(&a->end_us, &a->end_rank, ntp_us(p, 0), 4);
		break;
	case R_START_DELTA_US:
		set_time(&a->start_us, &a->start_rank, v < export_us ? export_us - v : 0, 4);
		break;
	case R_END_DELTA_US:
		set_time(&a->end_us, &a->end_rank, v < export_us ? export_us - v : 0, 4);
		break;
	case R_SYS_INIT_MS:
		a->sys_init_ms = v;
		a->have |= H_SYS_INIT;
		break;
	case R_SAMPLING_INTERVAL:
		a->interval34 = v;
		break;
	case R_SAMPLER_INTERVAL:
		a->interval50 = v;
		break;
	case R_SAMPLER_ID:
		a->sampler_id = v;
		a->have |= H_SAMPLER_ID;
		break;
	case R_PKT_INTERVAL:
		a->pkt_interval = v;
		break;
	case R_PKT_SPACE:
		a->pkt_space = v;
		break;
	case R_SAMPLING_SIZE:
		a->samp_size = v;
		break;
	case R_SAMPLING_POP:
		a->samp_pop = v;
		break;
	case R_SAMPLING_PROB:
		if (len == 8) {
			uint64_t bits = load_uint(p, 8);
			memcpy(&a->prob, &bits, 8);
		} else {
			uint32_t bits = load_be32(p);
			float f;
			memcpy(&f, &bits, 4);
			a->prob = f;
		}
		a->have |= H_PROB;
		break;
	}
}

/* The sampling rate a record announces for itself, or 0. */
static uint32_t acc_rate(const struct acc *a)
{
	if (a->interval34 > 0)
		return clamp32(a->interval34);
	if (a->interval50 > 0)
		return clamp32(a->interval50);
	if (a->pkt_interval > 0)
		return clamp32((a->pkt_interval + a->pkt_space + a->pkt_interval / 2) /
		               a->pkt_interval);
	if (a->samp_size > 0 && a->samp_pop >= a->samp_size)
		return clamp32((a->samp_pop + a->samp_size / 2) / a->samp_size);
	if ((a->have & H_PROB) && a->prob > 0.0 && a->prob <= 1.0) {
		double r = floor(1.0 / a->prob + 0.5);
		return r >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)r;
	}
	return 0;
}

/* A time relative to the exporter's boot: v9 against the header's sysUpTime
 * (wrapping at 2^32 ms), IPFIX against systemInitTimeMilliseconds. */
static int uptime_us(const struct msg *m, const struct acc *a, uint32_t rel, uint64_t *us)
{
	if (m->version == 10) {
		uint64_t init;

		if (a->have & H_SYS_INIT)
			init = a->sys_init_ms;
		else if (m->s->has_sys_init)
			init = m->s->sys_init_ms;
		else
			return -1;
		*us = (init + rel) * 1000;
		return 0;
	}
	int64_t ms = (int64_t)m->export_ms - (int32_t)(m->uptime_ms - rel);
	*us = ms > 0 ? (uint64_t)ms * 1000 : 0;
	return 0;
}

static void apply_options(struct msg *m, const struct acc *a)
{
	uint32_t rate = acc_rate(a);

	nf_count(m->c, NF_C_OPTION_RECORDS);
	if (a->have & H_SYS_INIT) {
		m->s->sys_init_ms = a->sys_init_ms;
		m->s->has_sys_init = 1;
	}
	if (rate == 0)
		return;
	if (a->have & H_SAMPLER_ID)
		nf_sampler_set(m->c, m->s, a->sampler_id, rate);
	else
		m->s->rate = rate;
}

static void deliver(struct msg *m, struct nf_record *r)
{
	r->exporter = *m->from;
	r->exporter_port = m->port;
	r->version = m->version;
	r->domain = m->domain;
	m->s->records++;
	m->delivered++;
	nf_count(m->c, NF_C_RECORDS);
	m->c->on_record(m->c->ctx, r);
}

static void flow_record(struct msg *m, struct acc *a)
{
	struct nf_record r;
	uint32_t rate;
	uint64_t us;

	if (a->src_fam == 0 || a->dst_fam == 0 || a->src_fam != a->dst_fam) {
		nf_count(m->c, NF_C_NO_ADDRESS);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.src.family = a->src_fam;
	memcpy(r.src.a, a->src, 16);
	r.dst.family = a->dst_fam;
	memcpy(r.dst.a, a->dst, 16);
	r.proto = a->proto;
	r.sport = a->sport;
	r.dport = a->dport;
	if (r.proto == 1 || r.proto == 58) {
		r.sport = 0;
		if (a->have & H_ICMP)
			r.dport = a->icmp;
		else if (a->have & H_ICMP_TYPE)
			r.dport = (uint16_t)(a->icmp_type << 8 | a->icmp_code);
	}
	r.tcp_flags = a->tcp_flags;
	r.rev_tcp_flags = a->rev_flags;
	r.in_if = a->in_if;
	r.out_if = a->out_if;
	r.vlan = a->vlan;
	if (a->have & H_VLAN)
		r.flags |= NF_REC_VLAN;
	if (a->have & H_IN_IF)
		r.flags |= NF_REC_IN_IF;
	if (a->have & H_OUT_IF)
		r.flags |= NF_REC_OUT_IF;
	r.octets = (a->have & H_OCTETS) ? a->octets : a->post_octets;
	r.packets = (a->have & H_PACKETS) ? a->packets : a->post_packets;

	rate = acc_rate(a);
	if (rate == 0 && (a->have & H_SAMPLER_ID))
		rate = nf_sampler_rate(m->s, a->sampler_id);
	if (rate == 0)
		rate = m->s->rate;
	/* One sampler announced and records that do not name it: an exporter
	 * with a single sampler need not repeat its id in every record. */
	if (rate == 0 && !(a->have & H_SAMPLER_ID) && m->s->nsamplers == 1)
		rate = m->s->samplers[0].rate;
	if (rate == 0)
		rate = 1;
	r.sampling = rate;
	if (rate > 1)
		r.flags |= NF_REC_SAMPLED;
	r.octets = mul_sat(r.octets, rate);
	r.packets = mul_sat(r.packets, rate);
	if (a->have & H_REV) {
		r.flags |= NF_REC_BIFLOW;
		r.rev_octets = mul_sat(a->rev_octets, rate);
		r.rev_packets = mul_sat(a->rev_packets, rate);
	}

	if ((a->have & H_START_UP) && uptime_us(m, a, a->start_up, &us) == 0)
		set_time(&a->start_us, &a->start_rank, us, 1);
	if ((a->have & H_END_UP) && uptime_us(m, a, a->end_up, &us) == 0)
		set_time(&a->end_us, &a->end_rank, us, 1);
	if (a->start_rank == 0 && a->end_rank == 0) {
		r.flags |= NF_REC_NO_TIME;
		r.first_us = r.last_us = m->export_ms * 1000;
	} else {
		r.first_us = a->start_rank ? a->start_us : a->end_us;
		r.last_us = a->end_rank ? a->end_us : a->start_us;
	}
	deliver(m, &r);
}

/* Reads one record of template t; -1 when a variable-length field runs
 * past the set. */
static int data_record(struct msg *m, const struct nf_template *t, struct cur *c)
{
	struct acc a;

	memset(&a, 0, sizeof(a));
	for (uint16_t i = 0; i < t->nfields; i++) {
		const struct nf_field *f = &t->f[i];
		uint16_t len = f->len;
		const uint8_t *p = c->p;

		if (len == NF_VARLEN) {
			uint8_t l8;

			if (cur_u8(c, &l8) < 0)
				return -1;
			len = l8;
			if (l8 == 255 && cur_u16(c, &len) < 0)
				return -1;
			if (cur_skip(c, len) < 0)
				return -1;
			continue;
		}
		if (cur_skip(c, len) < 0)
			return -1;
		if (f->role != R_SKIP)
			field_value(m, &a, f->role, p, len);
	}
	m->data_records++;
	if (t->options)
		apply_options(m, &a);
	else
		flow_record(m, &a);
	return 0;
}

static void data_set(struct msg *m, struct cur *set, uint16_t id)
{
	const struct nf_template *t = nf_template_find(m->c, m->s, id, m->now_us);

	if (t == NULL) {
		nf_count(m->c, NF_C_NO_TEMPLATE);
		m->seq_unsure = 1;
		return;
	}
	/* What remains shorter than a record is padding. */
	while (cur_left(set) >= t->min_len) {
		if (data_record(m, t, set) < 0) {
			nf_count(m->c, NF_C_RECORD_TRUNCATED);
			return;
		}
	}
}

/* Walks the sets of a v9 or IPFIX message body. */
static void sets(struct msg *m, struct cur *body)
{
	while (cur_left(body) > 0) {
		uint16_t id, len;
		struct cur set;

		if (cur_left(body) < 4) {
			/* A few trailing bytes: padding if zero. */
			for (const uint8_t *p = body->p; p < body->end; p++) {
				if (*p != 0) {
					nf_count(m->c, NF_C_BAD_SET);
					break;
				}
			}
			return;
		}
		if (cur_u16(body, &id) < 0 || cur_u16(body, &len) < 0 || len < 4 ||
		    cur_sub(body, (size_t)len - 4, &set) < 0) {
			nf_count(m->c, NF_C_BAD_SET);
			m->seq_unsure = 1;
			return;
		}
		if (m->version == 9) {
			if (id == 0)
				v9_template_set(m, &set);
			else if (id == 1)
				v9_options_set(m, &set);
			else if (id < 256)
				nf_count(m->c, NF_C_RESERVED_SET);
			else
				data_set(m, &set, id);
		} else {
			if (id == 2 || id == 3)
				ipfix_template_set(m, &set, id == 3);
			else if (id < 256)
				nf_count(m->c, NF_C_RESERVED_SET);
			else
				data_set(m, &set, id);
		}
	}
}

/* ---- the three headers -------------------------------------------------- */

int nf_parse_v5(struct nf_collector *c, const uint8_t *p, size_t len, const struct ip_addr *from,
                uint16_t port, uint64_t now_us)
{
	struct cur cur = cur_make(p, len);
	uint16_t version, count, samp;
	uint32_t uptime, secs, nsecs, seq;
	uint8_t etype, eid;
	struct msg m;

	if (cur_u16(&cur, &version) < 0 || cur_u16(&cur, &count) < 0 ||
	    cur_u32(&cur, &uptime) < 0 || cur_u32(&cur, &secs) < 0 || cur_u32(&cur, &nsecs) < 0 ||
	    cur_u32(&cur, &seq) < 0 || cur_u8(&cur, &etype) < 0 || cur_u8(&cur, &eid) < 0 ||
	    cur_u16(&cur, &samp) < 0) {
		nf_count(c, NF_C_SHORT_HEADER);
		return YG_ETRUNC;
	}
	if (count > 30 || cur_left(&cur) < (size_t)count * 48) {
		nf_count(c, NF_C_BAD_LENGTH);
		return YG_EFORMAT;
	}
	memset(&m, 0, sizeof(m));
	m.c = c;
	m.from = from;
	m.port = port;
	m.version = 5;
	m.domain = (uint32_t)etype << 8 | eid;
	m.uptime_ms = uptime;
	m.export_ms = (uint64_t)secs * 1000 + nsecs / 1000000;
	m.now_us = now_us;
	m.s = nf_session_get(c, from, 5, m.domain, now_us);
	if (m.s == NULL)
		return YG_ELIMIT;
	m.s->datagrams++;
	nf_session_seq(c, m.s, seq, count, 1);

	uint32_t rate = samp & 0x3fff;
	if (rate == 0)
		rate = 1;
	for (uint16_t i = 0; i < count; i++) {
		const uint8_t *q = cur.p;
		struct nf_record r;
		int64_t ms;

		cur.p += 48; /* count * 48 bytes were checked above */
		memset(&r, 0, sizeof(r));
		ipaddr_set4(&r.src, q);
		ipaddr_set4(&r.dst, q + 4);
		r.in_if = load_be16(q + 12);
		r.out_if = load_be16(q + 14);
		r.flags = NF_REC_IN_IF | NF_REC_OUT_IF;
		r.packets = mul_sat(load_be32(q + 16), rate);
		r.octets = mul_sat(load_be32(q + 20), rate);
		ms = (int64_t)m.export_ms - (int32_t)(uptime - load_be32(q + 24));
		r.first_us = ms > 0 ? (uint64_t)ms * 1000 : 0;
		ms = (int64_t)m.export_ms - (int32_t)(uptime - load_be32(q + 28));
		r.last_us = ms > 0 ? (uint64_t)ms * 1000 : 0;
		r.sport = load_be16(q + 32);
		r.dport = load_be16(q + 34);
		r.tcp_flags = q[37];
		r.proto = q[38];
		r.sampling = rate;
		if (rate > 1)
			r.flags |= NF_REC_SAMPLED;
		deliver(&m, &r);
	}
	return m.delivered;
}

int nf_parse_v9(struct nf_collector *c, const uint8_t *p, size_t len, const struct ip_addr *from,
                uint16_t port, uint64_t now_us)
{
	struct cur cur = cur_make(p, len);
	uint16_t version, count;
	uint32_t uptime, secs, seq, source;
	struct msg m;

	if (cur_u16(&cur, &version) < 0 || cur_u16(&cur, &count) < 0 ||
	    cur_u32(&cur, &uptime) < 0 || cur_u32(&cur, &secs) < 0 || cur_u32(&cur, &seq) < 0 ||
	    cur_u32(&cur, &source) < 0) {
		nf_count(c, NF_C_SHORT_HEADER);
		return YG_ETRUNC;
	}
	memset(&m, 0, sizeof(m));
	m.c = c;
	m.from = from;
	m.port = port;
	m.version = 9;
	m.domain = source;
	m.uptime_ms = uptime;
	m.export_ms = (uint64_t)secs * 1000;
	m.now_us = now_us;
	m.s = nf_session_get(c, from, 9, source, now_us);
	if (m.s == NULL)
		return YG_ELIMIT;
	m.s->datagrams++;
	/* v9 numbers export packets, one each. */
	nf_session_seq(c, m.s, seq, 1, 1);
	sets(&m, &cur);
	return m.delivered;
}

int nf_parse_ipfix(struct nf_collector *c, const uint8_t *p, size_t len, const struct ip_addr *from,
                   uint16_t port, uint64_t now_us)
{
	struct cur cur = cur_make(p, len);
	uint16_t version, mlen;
	uint32_t secs, seq, domain;
	struct cur body;
	struct msg m;

	if (cur_u16(&cur, &version) < 0 || cur_u16(&cur, &mlen) < 0 || cur_u32(&cur, &secs) < 0 ||
	    cur_u32(&cur, &seq) < 0 || cur_u32(&cur, &domain) < 0) {
		nf_count(c, NF_C_SHORT_HEADER);
		return YG_ETRUNC;
	}
	if (mlen < 16 || mlen > len) {
		nf_count(c, NF_C_BAD_LENGTH);
		return mlen > len ? YG_ETRUNC : YG_EFORMAT;
	}
	body = cur_make(p + 16, mlen - 16u);
	memset(&m, 0, sizeof(m));
	m.c = c;
	m.from = from;
	m.port = port;
	m.version = 10;
	m.domain = domain;
	m.export_ms = (uint64_t)secs * 1000;
	m.now_us = now_us;
	m.s = nf_session_get(c, from, 10, domain, now_us);
	if (m.s == NULL)
		return YG_ELIMIT;
	m.s->datagrams++;
	sets(&m, &body);
	/* IPFIX numbers data records: the next message's sequence number is
	 * this one's plus the records read, unless a set could not be read. */
	nf_session_seq(c, m.s, seq, m.data_records, !m.seq_unsure);
	return m.delivered;
}
