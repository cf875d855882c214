#include "output/eve.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/jbuf.h"
#include "output/community_id.h"
#include "output/eve_int.h"

#define EVE_MAX_BUF (64u * 1024 * 1024)

struct eve *eve_new(int fd)
{
	struct eve *e = yg_calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	if (jbuf_init(&e->b, EVE_FLUSH_AT + 64 * 1024, EVE_MAX_BUF) < 0) {
		free(e);
		return NULL;
	}
	e->fd = fd;
	return e;
}

void eve_set_lock(struct eve *e, pthread_mutex_t *mu)
{
	e->lock = mu;
}

int eve_error(const struct eve *e)
{
	return e->err;
}

const struct eve_stats *eve_stats(const struct eve *e)
{
	return &e->stats;
}

int eve_flush(struct eve *e)
{
	size_t off = 0;

	if (e->err == 0 && e->b.err != 0)
		e->err = e->b.err;
	if (e->lock != NULL && e->b.len > 0)
		pthread_mutex_lock(e->lock);
	while (e->err == 0 && off < e->b.len) {
		ssize_t n = write(e->fd, e->b.buf + off, e->b.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e->err = YG_EIO;
			break;
		}
		off += (size_t)n;
	}
	if (e->lock != NULL && e->b.len > 0)
		pthread_mutex_unlock(e->lock);
	e->stats.bytes += off;
	jbuf_reset(&e->b);
	return e->err;
}

int eve_free(struct eve *e)
{
	int err;

	if (e == NULL)
		return 0;
	err = eve_flush(e);
	jbuf_fini(&e->b);
	free(e);
	return err;
}

const char *eve_proto_name(uint8_t proto, char *buf)
{
	switch (proto) {
	case 6:
		return "TCP";
	case 17:
		return "UDP";
	case 1:
		return "ICMP";
	case 58:
		return "IPv6-ICMP";
	case 132:
		return "SCTP";
	}
	buf[0] = (char)('0' + proto / 100);
	buf[1] = (char)('0' + proto / 10 % 10);
	buf[2] = (char)('0' + proto % 10);
	buf[3] = '\0';
	return proto >= 100 ? buf : proto >= 10 ? buf + 1 : buf + 2;
}

static void put_addr(struct jbuf *b, const struct ip_addr *ip)
{
	char s[IPADDR_STRLEN];
	int n;

	n = ipaddr_fmt(ip, s);
	jbuf_putc(b, '"');
	jbuf_put(b, s, (size_t)n);
	jbuf_putc(b, '"');
}

static void addr_from_key(struct ip_addr *ip, const uint8_t *a, uint8_t family)
{
	ip->family = family;
	memcpy(ip->a, a, 16);
}

static int has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132;
}

/* The common head of every record: timestamp, flow_id, event_type, vlan,
 * endpoints as src -> dest (already pseudonymized), proto. */
static void put_head(struct jbuf *b, uint64_t ts, const struct flow *f, const char *type,
		     const struct ip_addr *src, uint16_t sport, const struct ip_addr *dst,
		     uint16_t dport)
{
	char pbuf[4];

	jbuf_lit(b, "{\"timestamp\":");
	jbuf_ts(b, ts);
	jbuf_lit(b, ",\"flow_id\":");
	jbuf_u64(b, f->flow_id);
	jbuf_lit(b, ",\"event_type\":\"");
	jbuf_puts(b, type);
	jbuf_putc(b, '"');
	if (f->key.vlan[0] != 0 || f->key.vlan[1] != 0) {
		jbuf_lit(b, ",\"vlan\":[");
		jbuf_u64(b, f->key.vlan[0]);
		if (f->key.vlan[1] != 0) {
			jbuf_putc(b, ',');
			jbuf_u64(b, f->key.vlan[1]);
		}
		jbuf_putc(b, ']');
	}
	jbuf_lit(b, ",\"src_ip\":");
	put_addr(b, src);
	if (has_ports(f->key.proto)) {
		jbuf_lit(b, ",\"src_port\":");
		jbuf_u64(b, sport);
	}
	jbuf_lit(b, ",\"dest_ip\":");
	put_addr(b, dst);
	if (has_ports(f->key.proto)) {
		jbuf_lit(b, ",\"dest_port\":");
		jbuf_u64(b, dport);
	}
	jbuf_lit(b, ",\"proto\":\"");
	jbuf_puts(b, eve_proto_name(f->key.proto, pbuf));
	jbuf_putc(b, '"');
}

static void put_flags_hex(struct jbuf *b, const char *name, uint8_t flags)
{
	static const char hex[] = "0123456789abcdef";

	jbuf_putc(b, '"');
	jbuf_puts(b, name);
	jbuf_lit(b, "\":\"");
	jbuf_putc(b, hex[flags >> 4]);
	jbuf_putc(b, hex[flags & 15]);
	jbuf_putc(b, '"');
}

void eve_set_alert_tee(struct eve *e, eve_tee_fn fn, void *ctx)
{
	uint8_t r[8];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		memcpy(r, &t, sizeof(r));
	}
	for (int i = 0; i < 8; i++) {
		e->run_id[2 * i] = hex[r[i] >> 4];
		e->run_id[2 * i + 1] = hex[r[i] & 15];
	}
	e->run_id[16] = '\0';
	e->tee = fn;
	e->tee_ctx = ctx;
}

void eve_set_flow_tee(struct eve *e, eve_tee_fn fn, void *ctx)
{
	e->flow_tee = fn;
	e->flow_tee_ctx = ctx;
}

void eve_set_protect(struct eve *e, eve_protect_fn fn, void *ctx)
{
	e->protect = fn;
	e->protect_ctx = ctx;
}

void eve_record_end(struct eve *e)
{
	jbuf_lit(&e->b, "}\n");
	if (e->b.len >= EVE_FLUSH_AT)
		eve_flush(e);
}

void eve_flow(struct eve *e, const struct flow *f, enum flow_end_reason why)
{
	struct jbuf *b = &e->b;
	int c = f->client, s = c ^ 1;
	struct ip_addr ca, sa;
	char cid[COMMUNITY_ID_LEN + 1];
	const char *app = app_proto_name(f->app_proto);
	size_t start = b->len;
	uint8_t all;
	int one_way = 0;

	addr_from_key(&ca, f->key.addr[c], f->key.family);
	addr_from_key(&sa, f->key.addr[s], f->key.family);
	eve_protect_addr(e, &ca);
	eve_protect_addr(e, &sa);
	put_head(b, f->first_us, f, "flow", &ca, f->key.port[c], &sa, f->key.port[s]);
	if (app != NULL) {
		jbuf_lit(b, ",\"app_proto\":\"");
		jbuf_puts(b, app);
		jbuf_putc(b, '"');
	}
	if (f->key.proto == 1 || f->key.proto == 58) {
		uint16_t sp, dp;
		icmp_map_ports(f->key.proto, f->icmp_type, f->icmp_code, &sp, &dp, &one_way);
		jbuf_lit(b, ",\"icmp_type\":");
		jbuf_u64(b, f->icmp_type);
		jbuf_lit(b, ",\"icmp_code\":");
		jbuf_u64(b, f->icmp_code);
	}
	community_id_v1(&ca, &sa, f->key.port[c], f->key.port[s], f->key.proto, one_way, 0, cid);
	jbuf_lit(b, ",\"community_id\":\"");
	jbuf_put(b, cid, COMMUNITY_ID_LEN);
	jbuf_lit(b, "\",\"flow\":{\"pkts_toserver\":");
	jbuf_u64(b, f->pkts[FLOW_TOSERVER]);
	jbuf_lit(b, ",\"pkts_toclient\":");
	jbuf_u64(b, f->pkts[FLOW_TOCLIENT]);
	jbuf_lit(b, ",\"bytes_toserver\":");
	jbuf_u64(b, f->bytes[FLOW_TOSERVER]);
	jbuf_lit(b, ",\"bytes_toclient\":");
	jbuf_u64(b, f->bytes[FLOW_TOCLIENT]);
	jbuf_lit(b, ",\"start\":");
	jbuf_ts(b, f->first_us);
	jbuf_lit(b, ",\"end\":");
	jbuf_ts(b, f->last_us);
	jbuf_lit(b, ",\"age\":");
	jbuf_u64(b, f->last_us / 1000000 - f->first_us / 1000000);
	jbuf_lit(b, ",\"state\":\"");
	jbuf_puts(b, flow_state_name(f->state));
	jbuf_lit(b, "\",\"reason\":\"");
	jbuf_puts(b, flow_end_reason_name(why));
	jbuf_puts(b, (f->det_flags & FLOW_ALERTED) ? "\",\"alerted\":true}" : "\",\"alerted\":false}");
	if (f->key.proto == 6) {
		all = f->tcp_flags[0] | f->tcp_flags[1];
		jbuf_lit(b, ",\"tcp\":{");
		put_flags_hex(b, "tcp_flags", all);
		jbuf_putc(b, ',');
		put_flags_hex(b, "tcp_flags_ts", f->tcp_flags[FLOW_TOSERVER]);
		jbuf_putc(b, ',');
		put_flags_hex(b, "tcp_flags_tc", f->tcp_flags[FLOW_TOCLIENT]);
		if (all & TCP_SYN)
			jbuf_lit(b, ",\"syn\":true");
		if (all & TCP_FIN)
			jbuf_lit(b, ",\"fin\":true");
		if (all & TCP_RST)
			jbuf_lit(b, ",\"rst\":true");
		if (all & TCP_PSH)
			jbuf_lit(b, ",\"psh\":true");
		if (all & TCP_ACK)
			jbuf_lit(b, ",\"ack\":true");
		if (all & TCP_URG)
			jbuf_lit(b, ",\"urg\":true");
		if (all & TCP_ECE)
			jbuf_lit(b, ",\"ecn\":true");
		if (all & TCP_CWR)
			jbuf_lit(b, ",\"cwr\":true");
		jbuf_lit(b, ",\"state\":\"");
		jbuf_puts(b, flow_state_name(f->state));
		jbuf_lit(b, "\"}");
	}
	jbuf_putc(b, '}');
	if (e->flow_tee != NULL && !b->err)
		e->flow_tee(e->flow_tee_ctx, b->buf + start, b->len - start);
	jbuf_putc(b, '\n');
	if (b->len >= EVE_FLUSH_AT)
		eve_flush(e);
	e->stats.flow++;
}

/* Metadata records name the packet's sender as src. */
static void put_meta_head(struct eve *e, const struct flow *f, const struct packet *pkt,
			  const char *type)
{
	struct ip_addr src = pkt->src, dst = pkt->dst;

	eve_protect_addr(e, &src);
	eve_protect_addr(e, &dst);
	put_head(&e->b, pkt->ts_us, f, type, &src, pkt->sport, &dst, pkt->dport);
}

static const char *dns_rcode_name(uint8_t rcode)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					    "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
					    "NXRRSET", "NOTAUTH", "NOTZONE"};
	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	return NULL;
}

static void put_rrtype(struct jbuf *b, uint16_t t)
{
	const char *n = NULL;

	switch (t) {
	case 1: n = "A"; break;
	case 2: n = "NS"; break;
	case 5: n = "CNAME"; break;
	case 6: n = "SOA"; break;
	case 12: n = "PTR"; break;
	case 15: n = "MX"; break;
	case 16: n = "TXT"; break;
	case 28: n = "AAAA"; break;
	case 33: n = "SRV"; break;
	case 35: n = "NAPTR"; break;
	case 43: n = "DS"; break;
	case 46: n = "RRSIG"; break;
	case 48: n = "DNSKEY"; break;
	case 64: n = "SVCB"; break;
	case 65: n = "HTTPS"; break;
	case 255: n = "ANY"; break;
	}
	jbuf_putc(b, '"');
	if (n != NULL)
		jbuf_puts(b, n);
	else
		jbuf_u64(b, t);
	jbuf_putc(b, '"');
}

static void put_protected(struct eve *e, const struct ip_addr *a)
{
	struct ip_addr x = *a;

	eve_protect_addr(e, &x);
	put_addr(&e->b, &x);
}

void eve_dns(struct eve *e, const struct flow *f, const struct packet *pkt,
	     const struct dns_meta *m)
{
	struct jbuf *b = &e->b;
	const char *rc;
	int first4 = 1, first6 = 1;

	put_meta_head(e, f, pkt, "dns");
	jbuf_lit(b, ",\"dns\":{\"type\":");
	if (m->is_response)
		jbuf_lit(b, "\"answer\"");
	else
		jbuf_lit(b, "\"query\"");
	jbuf_lit(b, ",\"id\":");
	jbuf_u64(b, m->txid);
	jbuf_lit(b, ",\"rrname\":");
	jbuf_str(b, m->qname, m->qname_len);
	jbuf_lit(b, ",\"rrtype\":");
	put_rrtype(b, m->qtype);
	if (m->is_response) {
		jbuf_lit(b, ",\"rcode\":");
		if ((rc = dns_rcode_name(m->rcode)) != NULL) {
			jbuf_putc(b, '"');
			jbuf_puts(b, rc);
			jbuf_putc(b, '"');
		} else {
			jbuf_u64(b, m->rcode);
		}
		if (m->n_addrs > 0) {
			jbuf_lit(b, ",\"grouped\":{");
			for (int i = 0; i < m->n_addrs; i++) {
				if (m->addrs[i].family != 4)
					continue;
				jbuf_puts(b, first4 ? "\"A\":[" : ",");
				first4 = 0;
				put_protected(e, &m->addrs[i]);
			}
			if (!first4)
				jbuf_putc(b, ']');
			for (int i = 0; i < m->n_addrs; i++) {
				if (m->addrs[i].family != 6)
					continue;
				if (first6)
					jbuf_puts(b, first4 ? "\"AAAA\":[" : ",\"AAAA\":[");
				else
					jbuf_putc(b, ',');
				first6 = 0;
				put_protected(e, &m->addrs[i]);
			}
			if (!first6)
				jbuf_putc(b, ']');
			jbuf_putc(b, '}');
		}
	}
	jbuf_putc(b, '}');
	eve_record_end(e);
	e->stats.dns++;
}

void eve_tls(struct eve *e, const struct flow *f, const struct packet *pkt,
	     const struct tls_meta *m)
{
	struct jbuf *b = &e->b;

	put_meta_head(e, f, pkt, "tls");
	jbuf_lit(b, ",\"tls\":{");
	if (m->sni_len > 0) {
		jbuf_lit(b, "\"sni\":");
		jbuf_str(b, m->sni, m->sni_len);
		if (m->has_ja4)
			jbuf_putc(b, ',');
	}
	if (m->has_ja4) {
		jbuf_lit(b, "\"ja4\":\"");
		jbuf_put(b, m->ja4, strnlen(m->ja4, JA4_LEN));
		jbuf_putc(b, '"');
	}
	jbuf_putc(b, '}');
	eve_record_end(e);
	e->stats.tls++;
}

void eve_http(struct eve *e, const struct flow *f, const struct packet *pkt,
	      const struct http_meta *m)
{
	struct jbuf *b = &e->b;

	put_meta_head(e, f, pkt, "http");
	jbuf_lit(b, ",\"http\":{");
	if (m->host_len > 0) {
		jbuf_lit(b, "\"hostname\":");
		jbuf_str(b, m->host, m->host_len);
		jbuf_putc(b, ',');
	}
	jbuf_lit(b, "\"http_method\":");
	jbuf_str(b, m->method, m->method_len);
	jbuf_lit(b, ",\"protocol\":");
	jbuf_str(b, m->version, m->version_len);
	jbuf_putc(b, '}');
	eve_record_end(e);
	e->stats.http++;
}
