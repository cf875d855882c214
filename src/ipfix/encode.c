/* encode.c - the IPFIX encoder: templates, data sets and message headers in
 * one buffer of at most mtu bytes. No I/O, no allocation after creation. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "ipfix/ipfix.h"

/* The fields a record can carry, in no particular order. */
enum fld {
	F_START,
	F_END,
	F_SRC4,
	F_DST4,
	F_SRC6,
	F_DST6,
	F_SPORT,
	F_DPORT,
	F_ICMP4,
	F_ICMP6,
	F_PROTO,
	F_RFLAGS,
	F_FLAGS,
	F_REASON,
	F_BIDIR,
	F_PKTS,
	F_OCTETS,
	F_RPKTS,
	F_ROCTETS,
	F_VLAN,
	F_VLAN_INNER,
	F_MAX
};

static const struct ie {
	uint16_t id;
	uint16_t len;
	uint32_t pen; /* 0: IANA's */
} ies[F_MAX] = {
	[F_START] = {152, 8, 0},  /* flowStartMilliseconds */
	[F_END] = {153, 8, 0},    /* flowEndMilliseconds */
	[F_SRC4] = {8, 4, 0},     /* sourceIPv4Address */
	[F_DST4] = {12, 4, 0},    /* destinationIPv4Address */
	[F_SRC6] = {27, 16, 0},   /* sourceIPv6Address */
	[F_DST6] = {28, 16, 0},   /* destinationIPv6Address */
	[F_SPORT] = {7, 2, 0},    /* sourceTransportPort */
	[F_DPORT] = {11, 2, 0},   /* destinationTransportPort */
	[F_ICMP4] = {32, 2, 0},   /* icmpTypeCodeIPv4 */
	[F_ICMP6] = {139, 2, 0},  /* icmpTypeCodeIPv6 */
	[F_PROTO] = {4, 1, 0},    /* protocolIdentifier */
	/* tcpControlBits is unsigned16 (RFC 7125); one byte is the reduced-size
	 * encoding (RFC 7011 §6.2) of yagura's eight flag bits. */
	[F_RFLAGS] = {6, 1, IPFIX_PEN_REVERSE}, /* reverseTcpControlBits */
	[F_FLAGS] = {6, 1, 0},                  /* tcpControlBits */
	[F_REASON] = {136, 1, 0},               /* flowEndReason */
	[F_BIDIR] = {239, 1, 0},                /* biflowDirection */
	[F_PKTS] = {2, 8, 0},                   /* packetDeltaCount */
	[F_OCTETS] = {1, 8, 0},                 /* octetDeltaCount */
	[F_RPKTS] = {2, 8, IPFIX_PEN_REVERSE},  /* reversePacketDeltaCount */
	[F_ROCTETS] = {1, 8, IPFIX_PEN_REVERSE}, /* reverseOctetDeltaCount */
	[F_VLAN] = {58, 2, 0},                  /* vlanId: the outer tag */
	[F_VLAN_INNER] = {245, 2, 0},           /* dot1qCustomerVlanId: the inner tag, 0 if none */
};

/* Reverse TCP flags come before the forward ones on purpose: nfdump 1.7
 * reads a reverse element it has no reverse slot for as the forward one,
 * and the later field wins, so this order leaves it the initiator's flags. */
#define COMMON_HEAD F_START, F_END
#define COMMON_TAIL                                                                     \
	F_PROTO, F_RFLAGS, F_FLAGS, F_REASON, F_BIDIR, F_PKTS, F_OCTETS, F_RPKTS, F_ROCTETS

static const uint8_t t_v4[] = {COMMON_HEAD, F_SRC4, F_DST4, F_SPORT, F_DPORT, F_ICMP4,
			       COMMON_TAIL};
static const uint8_t t_v6[] = {COMMON_HEAD, F_SRC6, F_DST6, F_SPORT, F_DPORT, F_ICMP6,
			       COMMON_TAIL};
static const uint8_t t_v4_vlan[] = {COMMON_HEAD, F_SRC4, F_DST4, F_SPORT, F_DPORT, F_ICMP4,
				    COMMON_TAIL, F_VLAN, F_VLAN_INNER};
static const uint8_t t_v6_vlan[] = {COMMON_HEAD, F_SRC6, F_DST6, F_SPORT, F_DPORT, F_ICMP6,
				    COMMON_TAIL, F_VLAN, F_VLAN_INNER};

static const struct tmpl {
	uint16_t id;
	uint8_t n;
	const uint8_t *f;
} tmpls[] = {
	{IPFIX_TMPL_V4, sizeof(t_v4), t_v4},
	{IPFIX_TMPL_V6, sizeof(t_v6), t_v6},
	{IPFIX_TMPL_V4_VLAN, sizeof(t_v4_vlan), t_v4_vlan},
	{IPFIX_TMPL_V6_VLAN, sizeof(t_v6_vlan), t_v6_vlan},
};
#define N_TMPL (sizeof(tmpls) / sizeof(tmpls[0]))

#define HDR_LEN 16
#define SET_HDR_LEN 4

struct ipfix_enc {
	struct ipfix_config cfg;
	uint8_t *buf; /* cfg.mtu bytes */
	uint32_t len; /* used; 0: no message begun */
	uint32_t set_at; /* offset of the open data set's header */
	uint16_t set_id; /* its template, 0: none open */
	uint8_t has_tmpl; /* the message being built carries the templates */
	uint8_t tmpl_ever; /* templates were sent at least once */
	uint16_t rec_len[N_TMPL];
	uint16_t tmpl_len; /* of the template set */
	unsigned pending;
	uint32_t seq; /* data records taken, modulo 2^32 */
	uint32_t tmpl_at_s; /* when the templates last went out */
	uint32_t msgs_since; /* messages taken since (that one included) */
	ipfix_protect_fn protect;
	void *protect_ctx;
	struct ipfix_stats stats;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

void ipfix_config_defaults(struct ipfix_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mtu = IPFIX_DEFAULT_MTU;
	c->refresh_s = IPFIX_DEFAULT_REFRESH_S;
	c->refresh_msgs = IPFIX_DEFAULT_REFRESH_MSGS;
}

uint8_t ipfix_end_reason(enum flow_end_reason why, uint8_t state)
{
	switch (why) {
	case FLOW_END_TIMEOUT:
		return state == FLOW_STATE_CLOSED ? 3 : 1; /* end detected : idle timeout */
	case FLOW_END_ACTIVE_TIMEOUT:
		return 2;
	case FLOW_END_CLOSED:
		return 3;
	case FLOW_END_SHUTDOWN:
		return 4; /* forced end */
	case FLOW_END_EVICTED:
		return 5; /* lack of resources */
	}
	return 4;
}

static uint16_t tmpl_record_len(const struct tmpl *t)
{
	uint16_t n = 0;

	for (unsigned i = 0; i < t->n; i++)
		n += ies[t->f[i]].len;
	return n;
}

static uint16_t tmpl_spec_len(const struct tmpl *t)
{
	uint16_t n = 4; /* template id, field count */

	for (unsigned i = 0; i < t->n; i++)
		n += ies[t->f[i]].pen ? 8 : 4;
	return n;
}

struct ipfix_enc *ipfix_enc_new(const struct ipfix_config *cfg)
{
	struct ipfix_enc *e;

	if (cfg->mtu < IPFIX_MIN_MTU || cfg->mtu > IPFIX_MAX_MTU)
		return NULL;
	if ((e = yg_calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->buf = yg_malloc(cfg->mtu)) == NULL) {
		free(e);
		return NULL;
	}
	e->cfg = *cfg;
	e->tmpl_len = SET_HDR_LEN;
	for (unsigned i = 0; i < N_TMPL; i++) {
		e->rec_len[i] = tmpl_record_len(&tmpls[i]);
		e->tmpl_len += tmpl_spec_len(&tmpls[i]);
	}
	/* IPFIX_MIN_MTU holds a header, the templates and the largest record. */
	assert(HDR_LEN + e->tmpl_len + SET_HDR_LEN + e->rec_len[N_TMPL - 1] <= IPFIX_MIN_MTU);
	return e;
}

void ipfix_enc_free(struct ipfix_enc *e)
{
	if (e == NULL)
		return;
	free(e->buf);
	free(e);
}

void ipfix_enc_set_protect(struct ipfix_enc *e, ipfix_protect_fn fn, void *ctx)
{
	e->protect = fn;
	e->protect_ctx = ctx;
}

unsigned ipfix_enc_pending(const struct ipfix_enc *e)
{
	return e->pending;
}

const struct ipfix_stats *ipfix_enc_stats(const struct ipfix_enc *e)
{
	return &e->stats;
}

static int templates_due(const struct ipfix_enc *e, uint32_t now_s)
{
	if (!e->tmpl_ever)
		return 1;
	if (e->cfg.refresh_s && now_s - e->tmpl_at_s >= e->cfg.refresh_s)
		return 1; /* a clock stepped back wraps around: resent, which is safe */
	return e->cfg.refresh_msgs && e->msgs_since >= e->cfg.refresh_msgs;
}

static void put_templates(struct ipfix_enc *e)
{
	uint8_t *p = e->buf + e->len;

	put16(p, 2); /* template set */
	put16(p + 2, e->tmpl_len);
	p += SET_HDR_LEN;
	for (unsigned i = 0; i < N_TMPL; i++) {
		const struct tmpl *t = &tmpls[i];
		put16(p, t->id);
		put16(p + 2, t->n);
		p += 4;
		for (unsigned j = 0; j < t->n; j++) {
			const struct ie *ie = &ies[t->f[j]];
			put16(p, (uint16_t)(ie->id | (ie->pen ? 0x8000 : 0)));
			put16(p + 2, ie->len);
			p += 4;
			if (ie->pen) {
				put32(p, ie->pen);
				p += 4;
			}
		}
	}
	assert(p == e->buf + e->len + e->tmpl_len);
	e->len += e->tmpl_len;
}

static void close_set(struct ipfix_enc *e)
{
	if (e->set_id != 0)
		put16(e->buf + e->set_at + 2, (uint16_t)(e->len - e->set_at));
	e->set_id = 0;
}

static int has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132;
}

static void put_record(struct ipfix_enc *e, const struct tmpl *t, const struct flow *f,
		       enum flow_end_reason why)
{
	int c = f->client, s = c ^ 1;
	struct ip_addr src, dst;
	uint8_t *p = e->buf + e->len;
	uint16_t icmp = 0;

	src.family = dst.family = f->key.family;
	memcpy(src.a, f->key.addr[c], 16);
	memcpy(dst.a, f->key.addr[s], 16);
	if (e->protect != NULL) {
		e->protect(e->protect_ctx, &src);
		e->protect(e->protect_ctx, &dst);
	}
	if (f->key.proto == 1 || f->key.proto == 58)
		icmp = (uint16_t)(f->icmp_type << 8 | f->icmp_code);
	for (unsigned i = 0; i < t->n; i++) {
		switch (t->f[i]) {
		case F_START:
			put64(p, f->first_us / 1000);
			break;
		case F_END:
			put64(p, f->last_us / 1000);
			break;
		case F_SRC4:
			memcpy(p, src.a, 4);
			break;
		case F_DST4:
			memcpy(p, dst.a, 4);
			break;
		case F_SRC6:
			memcpy(p, src.a, 16);
			break;
		case F_DST6:
			memcpy(p, dst.a, 16);
			break;
		case F_SPORT:
			put16(p, has_ports(f->key.proto) ? f->key.port[c] : 0);
			break;
		case F_DPORT:
			put16(p, has_ports(f->key.proto) ? f->key.port[s] : 0);
			break;
		case F_ICMP4:
		case F_ICMP6:
			put16(p, icmp);
			break;
		case F_PROTO:
			*p = f->key.proto;
			break;
		case F_RFLAGS:
			*p = f->tcp_flags[FLOW_TOCLIENT];
			break;
		case F_FLAGS:
			*p = f->tcp_flags[FLOW_TOSERVER];
			break;
		case F_REASON:
			*p = ipfix_end_reason(why, f->state);
			break;
		case F_BIDIR:
			*p = 1; /* initiator: the source is the flow's initiator */
			break;
		case F_PKTS:
			put64(p, f->pkts[FLOW_TOSERVER]);
			break;
		case F_OCTETS:
			put64(p, f->ip_bytes[FLOW_TOSERVER]);
			break;
		case F_RPKTS:
			put64(p, f->pkts[FLOW_TOCLIENT]);
			break;
		case F_ROCTETS:
			put64(p, f->ip_bytes[FLOW_TOCLIENT]);
			break;
		case F_VLAN:
			put16(p, f->key.vlan[0]);
			break;
		case F_VLAN_INNER:
			put16(p, f->key.vlan[1]);
			break;
		}
		p += ies[t->f[i]].len;
	}
	e->len = (uint32_t)(p - e->buf);
}

int ipfix_enc_add(struct ipfix_enc *e, const struct flow *f, enum flow_end_reason why,
		  uint32_t now_s)
{
	unsigned ti = (f->key.family == 6 ? 1u : 0u) +
		      (f->key.vlan[0] != 0 || f->key.vlan[1] != 0 ? 2u : 0u);
	uint32_t need = e->rec_len[ti];

	if (e->len == 0) {
		e->len = HDR_LEN;
		e->has_tmpl = 0;
		if (templates_due(e, now_s)) {
			put_templates(e);
			e->has_tmpl = 1;
			e->tmpl_ever = 1;
			e->tmpl_at_s = now_s;
			e->msgs_since = 0;
		}
	}
	if (e->set_id != tmpls[ti].id)
		need += SET_HDR_LEN;
	if (e->len + need > e->cfg.mtu) {
		assert(e->pending > 0); /* IPFIX_MIN_MTU holds the first record */
		return IPFIX_FULL;
	}
	if (e->set_id != tmpls[ti].id) {
		close_set(e);
		e->set_at = e->len;
		e->set_id = tmpls[ti].id;
		put16(e->buf + e->len, e->set_id);
		e->len += SET_HDR_LEN;
	}
	put_record(e, &tmpls[ti], f, why);
	e->pending++;
	return 0;
}

size_t ipfix_enc_take(struct ipfix_enc *e, uint32_t now_s, const uint8_t **msg)
{
	size_t n = e->len;

	*msg = NULL;
	if (e->pending == 0)
		return 0;
	close_set(e);
	put16(e->buf, IPFIX_VERSION);
	put16(e->buf + 2, (uint16_t)e->len);
	put32(e->buf + 4, now_s);
	put32(e->buf + 8, e->seq);
	put32(e->buf + 12, e->cfg.domain);
	e->seq += e->pending;
	e->msgs_since++;
	e->stats.records += e->pending;
	e->stats.messages++;
	e->stats.templates += e->has_tmpl;
	e->stats.bytes += n;
	e->pending = 0;
	e->len = 0;
	*msg = e->buf;
	return n;
}
