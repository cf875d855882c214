/* render.c - the RPZ zone, the nftables script, the BIRD configuration and
 * the blocklist, each from the cases of its action. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "counter/counter_int.h"

/* Orders targets by kind, then domain name, or by family, address and
 * prefix length; equal targets by id, so that the first is the lowest. */
static int target_cmp(const struct cm_target *a, const struct cm_target *b)
{
	int d;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->kind == CM_TARGET_DOMAIN)
		return strcmp(a->name, b->name);
	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	d = memcmp(a->addr.a, b->addr.a, sizeof(a->addr.a));
	if (d != 0)
		return d;
	return (a->plen > b->plen) - (a->plen < b->plen);
}

static int item_ptr_cmp(const void *pa, const void *pb)
{
	const struct cm_item *a = *(const struct cm_item *const *)pa;
	const struct cm_item *b = *(const struct cm_item *const *)pb;
	int d = target_cmp(&a->t, &b->t);

	if (d != 0)
		return d;
	return (a->c->id > b->c->id) - (a->c->id < b->c->id);
}

/* Marks every item whose target an item of lower id already has; items
 * already skipped take no part. */
static int mark_dups(struct cm_item *it, size_t n)
{
	struct cm_item **p;
	size_t np = 0;

	if (n < 2)
		return 0;
	p = yg_calloc(n, sizeof(*p));
	if (p == NULL)
		return YG_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!it[i].skip)
			p[np++] = &it[i];
	qsort(p, np, sizeof(*p), item_ptr_cmp);
	for (size_t i = 1; i < np; i++)
		if (target_cmp(&p[i]->t, &p[i - 1]->t) == 0)
			p[i]->skip = 1;
	free(p);
	return 0;
}

static int finish(struct jbuf *out, size_t mark, int rc)
{
	if (rc == 0 && out->err)
		rc = out->err;
	if (rc < 0)
		out->len = mark; /* leave no half-written file behind */
	return rc;
}

static void put_u32(struct jbuf *b, uint32_t v)
{
	jbuf_u64(b, v);
}

/* "32.7.100.51.198" or "48.zz.db8.2001": the labels of an rpz-ip trigger,
 * BIND's canonical form (which it insists on): IPv4 octets reversed; IPv6
 * 16-bit words reversed in lower-case hex without leading zeros, the
 * longest run of two or more zero words (the first in address order on a
 * tie) written "zz". */
static void put_rpz_ip(struct jbuf *b, const struct cm_target *t)
{
	char tmp[64];
	int len = snprintf(tmp, sizeof(tmp), "%u", t->plen);

	if (t->addr.family == 4) {
		snprintf(tmp + len, sizeof(tmp) - (size_t)len, ".%u.%u.%u.%u", t->addr.a[3],
		         t->addr.a[2], t->addr.a[1], t->addr.a[0]);
		jbuf_puts(b, tmp);
		return;
	}
	unsigned w[8];
	int best = -1, best_len = 0, cur = -1, cur_len = 0;
	for (int i = 0; i < 8; i++) /* w[0] is the last word of the address */
		w[i] = (unsigned)(t->addr.a[14 - 2 * i] << 8 | t->addr.a[15 - 2 * i]);
	for (int i = 0; i < 8; i++) {
		if (w[i] != 0) {
			cur = -1;
			continue;
		}
		if (cur < 0) {
			cur = i;
			cur_len = 0;
		}
		cur_len++;
		if (cur_len >= 2 && cur_len >= best_len) {
			best = cur;
			best_len = cur_len;
		}
	}
	jbuf_put(b, tmp, (size_t)len);
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			jbuf_lit(b, ".zz");
			i += best_len - 1;
			continue;
		}
		snprintf(tmp, sizeof(tmp), ".%x", w[i]);
		jbuf_puts(b, tmp);
	}
}

int cm_rpz(const struct cm_case *c, size_t n, uint32_t serial, int64_t now,
           const struct cm_config *cfg, struct jbuf *out)
{
	struct cm_item *it = NULL;
	size_t k = 0, mark = out->len;
	const char *zone = cm_cfg_zone(cfg), *ns = cm_cfg_nameserver(cfg);
	int rc;

	if ((rc = cm_config_check(cfg, NULL, 0)) < 0 ||
	    (rc = cm_select(c, n, CM_SINKHOLE, now, cfg, &it, &k)) < 0 ||
	    (rc = mark_dups(it, k)) < 0)
		goto out;
	jbuf_lit(out, "; yagura countermeasures: response policy zone (RPZ), generated from\n"
	              "; the active sinkhole cases. Do not edit: it is replaced on every change.\n"
	              "$ORIGIN ");
	jbuf_puts(out, zone);
	jbuf_lit(out, ".\n$TTL ");
	put_u32(out, cfg && cfg->rpz_ttl ? cfg->rpz_ttl : 60);
	jbuf_lit(out, "\n@\tIN\tSOA\t");
	jbuf_puts(out, ns);
	jbuf_lit(out, ". hostmaster.");
	jbuf_puts(out, zone);
	jbuf_lit(out, ". ");
	put_u32(out, serial);
	/* refresh, retry, expire, negative TTL: secondaries check often,
	 * and keep the policy a week if the primary goes away. */
	jbuf_lit(out, " 60 60 604800 60\n@\tIN\tNS\t");
	jbuf_puts(out, ns);
	jbuf_lit(out, ".\n");
	for (size_t i = 0; i < k; i++) {
		const char *dst = cm_cfg_nxdomain(cfg) ? "" : cfg->sinkhole;
		size_t dl = strlen(dst);
		if (it[i].skip)
			continue;
		jbuf_lit(out, "; case ");
		jbuf_u64(out, (uint64_t)it[i].c->id);
		jbuf_putc(out, '\n');
		for (int wild = 0; wild < 2; wild++) {
			if (it[i].t.kind == CM_TARGET_PREFIX) {
				if (wild)
					break;
				put_rpz_ip(out, &it[i].t);
				jbuf_lit(out, ".rpz-ip");
			} else {
				if (wild)
					jbuf_lit(out, "*.");
				jbuf_puts(out, it[i].t.name);
			}
			jbuf_lit(out, "\tIN\tCNAME\t");
			jbuf_put(out, dst, dl);
			if (dl == 0 || dst[dl - 1] != '.')
				jbuf_putc(out, '.');
			jbuf_putc(out, '\n');
		}
	}
out:
	free(it);
	return finish(out, mark, rc);
}

/* Address order, then shorter prefix first, then later expiry first: a
 * prefix comes after every prefix containing it. */
static int nft_cmp(const void *pa, const void *pb)
{
	const struct cm_item *a = *(const struct cm_item *const *)pa;
	const struct cm_item *b = *(const struct cm_item *const *)pb;
	int d = memcmp(a->t.addr.a, b->t.addr.a, sizeof(a->t.addr.a));

	if (d != 0)
		return d;
	if (a->t.plen != b->t.plen)
		return a->t.plen < b->t.plen ? -1 : 1;
	if (a->expires != b->expires)
		return a->expires > b->expires ? -1 : 1;
	return (a->c->id > b->c->id) - (a->c->id < b->c->id);
}

static int contains(const struct cm_target *outer, const struct cm_target *inner)
{
	int bits = outer->plen;

	if (outer->addr.family != inner->addr.family || outer->plen > inner->plen)
		return 0;
	if (memcmp(outer->addr.a, inner->addr.a, (size_t)(bits / 8)) != 0)
		return 0;
	if (bits % 8 == 0)
		return 1;
	uint8_t m = (uint8_t)(0xff << (8 - bits % 8));
	return (outer->addr.a[bits / 8] & m) == (inner->addr.a[bits / 8] & m);
}

/* Drops the prefixes of one family that a kept prefix containing them
 * outlives, and gives the others their depth: the number of kept prefixes
 * containing them. Prefixes of equal depth never overlap. Returns the
 * greatest depth plus one (the number of sets), or YG_ENOMEM. */
static int nft_layers(struct cm_item *it, size_t n, int family)
{
	struct cm_item **p, *stack[129];
	size_t np = 0;
	int sp = 0, layers = 0;

	p = yg_calloc(n ? n : 1, sizeof(*p));
	if (p == NULL)
		return YG_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (it[i].t.kind == CM_TARGET_PREFIX && it[i].t.addr.family == family)
			p[np++] = &it[i];
	qsort(p, np, sizeof(*p), nft_cmp);
	for (size_t i = 0; i < np; i++) {
		struct cm_item *e = p[i];
		while (sp > 0 && !contains(&stack[sp - 1]->t, &e->t))
			sp--;
		for (int j = 0; j < sp; j++)
			if (stack[j]->expires >= e->expires)
				e->skip = 1;
		if (e->skip)
			continue;
		e->depth = sp;
		if (sp + 1 > layers)
			layers = sp + 1;
		stack[sp++] = e; /* nested prefixes are strictly longer: sp <= 129 */
	}
	free(p);
	return layers;
}

static void nft_set_name(struct jbuf *b, int family, int depth)
{
	jbuf_puts(b, family == 4 ? "block4" : "block6");
	if (depth > 0) {
		jbuf_putc(b, '_');
		jbuf_u64(b, (uint64_t)depth);
	}
}

static void nft_set(struct jbuf *b, struct cm_item *it, size_t n, int family, int depth,
                    int64_t now)
{
	char pfx[CM_PREFIX_STRLEN];
	int first = 1;

	jbuf_lit(b, "\tset ");
	nft_set_name(b, family, depth);
	jbuf_puts(b, family == 4 ? " {\n\t\ttype ipv4_addr\n" : " {\n\t\ttype ipv6_addr\n");
	jbuf_lit(b, "\t\tflags interval, timeout\n");
	for (size_t i = 0; i < n; i++) {
		if (it[i].skip || it[i].t.kind != CM_TARGET_PREFIX ||
		    it[i].t.addr.family != family || it[i].depth != depth)
			continue;
		jbuf_puts(b, first ? "\t\telements = {\n\t\t\t" : ",\n\t\t\t");
		first = 0;
		cm_prefix_fmt(&it[i].t, 0, pfx);
		jbuf_puts(b, pfx);
		jbuf_lit(b, " timeout ");
		jbuf_u64(b, (uint64_t)((it[i].expires - now + 999999) / 1000000));
		jbuf_lit(b, "s comment \"case ");
		jbuf_u64(b, (uint64_t)it[i].c->id);
		jbuf_putc(b, '"');
	}
	if (!first)
		jbuf_lit(b, "\n\t\t}\n");
	jbuf_lit(b, "\t}\n\n");
}

/* One rule per set and direction: "ip saddr @block4 drop". */
static void nft_rules(struct jbuf *b, const char *dir, int layers4, int layers6)
{
	for (int f = 4; f <= 6; f += 2) {
		int layers = f == 4 ? layers4 : layers6;
		for (int d = 0; d < layers; d++) {
			jbuf_puts(b, f == 4 ? "\t\tip " : "\t\tip6 ");
			jbuf_puts(b, dir);
			jbuf_lit(b, " @");
			nft_set_name(b, f, d);
			jbuf_lit(b, " drop\n");
		}
	}
}

int cm_nft(const struct cm_case *c, size_t n, int64_t now, const struct cm_config *cfg,
           struct jbuf *out)
{
	struct cm_item *it = NULL;
	size_t k = 0, mark = out->len;
	const char *table = cm_cfg_table(cfg);
	int rc, l4 = 0, l6 = 0;

	if ((rc = cm_config_check(cfg, NULL, 0)) < 0 ||
	    (rc = cm_select(c, n, CM_BLOCKLIST, now, cfg, &it, &k)) < 0 ||
	    (rc = l4 = nft_layers(it, k, 4)) < 0 || (rc = l6 = nft_layers(it, k, 6)) < 0)
		goto out;
	rc = 0;
	/* The empty sets are always there, so that rules elsewhere may name
	 * them. */
	if (l4 == 0)
		l4 = 1;
	if (l6 == 0)
		l6 = 1;
	jbuf_lit(out, "#!/usr/sbin/nft -f\n"
	              "# yagura countermeasures: nftables sets, generated from the active\n"
	              "# blocklist cases. Do not edit: it is replaced on every change.\n"
	              "# Loading it replaces the table atomically; each element times out\n"
	              "# when its case expires.\n"
	              "add table inet ");
	jbuf_puts(out, table);
	jbuf_lit(out, "\ndelete table inet ");
	jbuf_puts(out, table);
	jbuf_lit(out, "\ntable inet ");
	jbuf_puts(out, table);
	jbuf_lit(out, " {\n");
	for (int d = 0; d < l4; d++)
		nft_set(out, it, k, 4, d, now);
	for (int d = 0; d < l6; d++)
		nft_set(out, it, k, 6, d, now);
	jbuf_lit(out, "\tchain input {\n"
	              "\t\ttype filter hook input priority filter - 10; policy accept;\n");
	nft_rules(out, "saddr", l4, l6);
	jbuf_lit(out, "\t}\n\n\tchain forward {\n"
	              "\t\ttype filter hook forward priority filter - 10; policy accept;\n");
	nft_rules(out, "saddr", l4, l6);
	nft_rules(out, "daddr", l4, l6);
	jbuf_lit(out, "\t}\n\n\tchain output {\n"
	              "\t\ttype filter hook output priority filter - 10; policy accept;\n");
	nft_rules(out, "daddr", l4, l6);
	jbuf_lit(out, "\t}\n}\n");
out:
	free(it);
	return finish(out, mark, rc);
}

static int bird_ready(const struct cm_config *cfg)
{
	return cfg && cfg->bgp_local_as && cfg->bgp_router_id && cfg->bgp_neighbor &&
	       cfg->bgp_neighbor_as;
}

static void bird_static(struct jbuf *b, const char *name, const char *channel, struct cm_item *it,
                        size_t n, enum cm_action action, int family)
{
	char pfx[CM_PREFIX_STRLEN];

	jbuf_lit(b, "protocol static ");
	jbuf_puts(b, name);
	jbuf_lit(b, " {\n\t");
	jbuf_puts(b, channel);
	jbuf_lit(b, ";\n");
	for (size_t i = 0; i < n; i++) {
		const struct cm_case *c = it[i].c;
		if (it[i].skip || c->action != action || it[i].t.addr.family != family)
			continue;
		cm_prefix_fmt(&it[i].t, 1, pfx);
		if (action == CM_RTBH) {
			jbuf_lit(b, "\troute ");
			jbuf_puts(b, pfx);
			jbuf_lit(b, " blackhole;");
		} else {
			jbuf_puts(b, family == 4 ? "\troute flow4 { dst " : "\troute flow6 { dst ");
			jbuf_puts(b, pfx);
			jbuf_putc(b, ';');
			if (c->proto != NULL && c->proto[0] != '\0') {
				int num = strcmp(c->proto, "tcp") == 0   ? 6
				          : strcmp(c->proto, "udp") == 0 ? 17
				          : family == 4                  ? 1
				                                         : 58;
				jbuf_puts(b, family == 4 ? " proto = " : " next header = ");
				jbuf_u64(b, (uint64_t)num);
				jbuf_putc(b, ';');
			}
			for (size_t j = 0; j < c->nports; j++) {
				jbuf_puts(b, j == 0 ? " dport = " : " || = ");
				jbuf_u64(b, c->ports[j]);
			}
			if (c->nports > 0)
				jbuf_putc(b, ';');
			jbuf_lit(b, " };");
		}
		jbuf_lit(b, " # case ");
		jbuf_u64(b, (uint64_t)c->id);
		jbuf_putc(b, '\n');
	}
	jbuf_lit(b, "}\n\n");
}

static void bird_channel(struct jbuf *b, const char *channel, const char *proto,
                         const char *next_hop)
{
	int flow = strncmp(channel, "flow", 4) == 0;

	jbuf_putc(b, '\t');
	jbuf_puts(b, channel);
	jbuf_lit(b, " {\n");
	if (flow) {
		jbuf_lit(b, "\t\ttable yagura_");
		jbuf_puts(b, channel);
		jbuf_lit(b, ";\n");
	}
	jbuf_lit(b, "\t\timport none;\n\t\texport filter {\n\t\t\tif proto != \"");
	jbuf_puts(b, proto);
	jbuf_lit(b, "\" then reject;\n");
	if (flow)
		/* traffic-rate 0 bytes/s: discard (RFC 8955 section 7.3) */
		jbuf_lit(b, "\t\t\tbgp_ext_community.add((generic, 0x80060000, 0));\n");
	else
		/* BLACKHOLE (RFC 7999), and NO_EXPORT so that the
		 * neighbor's AS keeps it to itself */
		jbuf_lit(b, "\t\t\tbgp_community.add((65535, 666));\n"
		            "\t\t\tbgp_community.add((65535, 65281));\n");
	jbuf_lit(b, "\t\t\taccept;\n\t\t};\n");
	if (next_hop != NULL) {
		jbuf_lit(b, "\t\tnext hop address ");
		jbuf_puts(b, next_hop);
		jbuf_lit(b, ";\n");
	}
	jbuf_lit(b, "\t};\n");
}

int cm_bird(const struct cm_case *c, size_t n, int64_t now, const struct cm_config *cfg,
            struct jbuf *out)
{
	struct cm_item *it = NULL;
	size_t k = 0, mark = out->len;
	int rc;

	if (!bird_ready(cfg)) {
		rc = YG_EINVAL;
		goto out;
	}
	if ((rc = cm_config_check(cfg, NULL, 0)) < 0 ||
	    (rc = cm_select(c, n, -1, now, cfg, &it, &k)) < 0)
		goto out;
	/* Only rtbh and flowspec cases; one route per prefix and action. */
	for (size_t i = 0; i < k; i++)
		if (it[i].c->action != CM_RTBH)
			it[i].skip = 1;
	if ((rc = mark_dups(it, k)) < 0)
		goto out;
	for (size_t i = 0; i < k; i++)
		if (it[i].c->action == CM_FLOWSPEC)
			it[i].skip = 0; /* rules differ in ports: keep them all */
	jbuf_lit(out, "# yagura countermeasures: BIRD 2 configuration, generated from the\n"
	              "# active rtbh and flowspec cases. Do not edit: it is replaced on every\n"
	              "# change; apply it with \"birdc configure\".\n"
	              "router id ");
	jbuf_puts(out, cfg->bgp_router_id);
	jbuf_lit(out, ";\n\nprotocol device {\n}\n\n"
	              "flow4 table yagura_flow4;\nflow6 table yagura_flow6;\n\n");
	bird_static(out, "yagura_rtbh4", "ipv4", it, k, CM_RTBH, 4);
	bird_static(out, "yagura_rtbh6", "ipv6", it, k, CM_RTBH, 6);
	bird_static(out, "yagura_flowspec4", "flow4 { table yagura_flow4; }", it, k, CM_FLOWSPEC,
	            4);
	bird_static(out, "yagura_flowspec6", "flow6 { table yagura_flow6; }", it, k, CM_FLOWSPEC,
	            6);
	jbuf_lit(out, "protocol bgp yagura_peer {\n\tlocal ");
	if (cfg->bgp_local_address) {
		jbuf_puts(out, cfg->bgp_local_address);
		jbuf_putc(out, ' ');
	}
	jbuf_lit(out, "as ");
	put_u32(out, cfg->bgp_local_as);
	jbuf_lit(out, ";\n\tneighbor ");
	jbuf_puts(out, cfg->bgp_neighbor);
	jbuf_lit(out, " as ");
	put_u32(out, cfg->bgp_neighbor_as);
	jbuf_lit(out, ";\n");
	if (cfg->bgp_multihop) {
		jbuf_lit(out, "\tmultihop ");
		put_u32(out, cfg->bgp_multihop);
		jbuf_lit(out, ";\n");
	}
	bird_channel(out, "ipv4", "yagura_rtbh4", cfg->rtbh_next_hop4);
	bird_channel(out, "ipv6", "yagura_rtbh6", cfg->rtbh_next_hop6);
	bird_channel(out, "flow4", "yagura_flowspec4", NULL);
	bird_channel(out, "flow6", "yagura_flowspec6", NULL);
	jbuf_lit(out, "}\n");
out:
	free(it);
	return finish(out, mark, rc);
}

int cm_blocklist(const struct cm_case *c, size_t n, int64_t now, struct jbuf *out)
{
	struct cm_item *it = NULL;
	size_t k = 0, mark = out->len;
	char pfx[CM_PREFIX_STRLEN];
	int rc;

	if ((rc = cm_select(c, n, CM_BLOCKLIST, now, NULL, &it, &k)) < 0 ||
	    (rc = mark_dups(it, k)) < 0)
		goto out;
	jbuf_lit(out, "# yagura countermeasures: blocklist, generated from the active\n"
	              "# blocklist cases. One address, prefix or domain name a line.\n");
	for (size_t i = 0; i < k; i++) {
		if (it[i].skip)
			continue;
		if (it[i].t.kind == CM_TARGET_DOMAIN) {
			jbuf_puts(out, it[i].t.name);
		} else {
			cm_prefix_fmt(&it[i].t, 0, pfx);
			jbuf_puts(out, pfx);
		}
		jbuf_putc(out, '\n');
	}
out:
	free(it);
	return finish(out, mark, rc);
}
