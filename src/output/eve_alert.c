/* eve_alert.c - EVE "alert" records: Suricata's alert object plus an
 * "evidence" object with what made the detector fire. */
#include "output/eve.h"

#include <string.h>

#include "base/jbuf.h"
#include "output/eve_int.h"

static void put_evidence_addr(struct jbuf *b, const struct ip_addr *a)
{
	char s[IPADDR_STRLEN];

	jbuf_putc(b, '"');
	jbuf_put(b, s, (size_t)ipaddr_fmt(a, s));
	jbuf_putc(b, '"');
}

/* "attackers": the addresses the alert names as attack sources, which the
 * sources ranking (sensor and tower alike) credits; empty for a flood from
 * forged sources. "attacker_role" says when they are abused reflectors;
 * "spoofed" marks a flood judged forged. */
static void put_attackers(struct eve *e, struct jbuf *b, const struct alert *a, int first)
{
	struct ip_addr x;

	if (a->spoofed) {
		jbuf_puts(b, first ? "\"spoofed\":true" : ",\"spoofed\":true");
		first = 0;
	}
	jbuf_puts(b, first ? "\"attackers\":[" : ",\"attackers\":[");
	switch (a->attackers) {
	case ALERT_ATTACKER_SRC:
	case ALERT_ATTACKER_DST:
		x = a->attackers == ALERT_ATTACKER_SRC ? a->src : a->dst;
		eve_protect_addr(e, &x);
		put_evidence_addr(b, &x);
		break;
	case ALERT_ATTACKER_SAMPLES:
	case ALERT_ATTACKER_REFLECTORS:
		for (int i = 0; a->samples_kind == ALERT_SAMPLES_ADDR && i < a->n_samples; i++) {
			if (i)
				jbuf_putc(b, ',');
			x = a->sample_addr[i];
			eve_protect_addr(e, &x);
			put_evidence_addr(b, &x);
		}
		break;
	default:
		break;
	}
	jbuf_putc(b, ']');
	/* What each named source sent itself, in the same order, so that the
	 * tower credits each with its own share as the sensor does. */
	if ((a->attackers == ALERT_ATTACKER_SAMPLES || a->attackers == ALERT_ATTACKER_REFLECTORS) &&
	    a->samples_kind == ALERT_SAMPLES_ADDR && a->n_samples > 0) {
		jbuf_lit(b, ",\"attacker_packets\":[");
		for (int i = 0; i < a->n_samples; i++) {
			if (i)
				jbuf_putc(b, ',');
			jbuf_u64(b, a->sample_pkts[i]);
		}
		jbuf_putc(b, ']');
	}
	if (a->attackers == ALERT_ATTACKER_REFLECTORS)
		jbuf_lit(b, ",\"attacker_role\":\"reflector\"");
}

void eve_alert(struct eve *e, const struct alert *a)
{
	struct jbuf *b = &e->b;
	struct ip_addr src = a->src, dst = a->dst;
	char pbuf[4];
	int first = 1;
	size_t start = b->len;

	eve_protect_addr(e, &src);
	eve_protect_addr(e, &dst);
	jbuf_lit(b, "{\"timestamp\":");
	jbuf_ts(b, a->ts_us);
	if (a->flow_id != 0) {
		jbuf_lit(b, ",\"flow_id\":");
		jbuf_u64(b, a->flow_id);
	}
	if (e->tee != NULL) {
		jbuf_lit(b, ",\"alert_id\":\"");
		jbuf_puts(b, e->run_id);
		jbuf_putc(b, '-');
		jbuf_u64(b, ++e->alert_seq);
		jbuf_putc(b, '"');
	}
	jbuf_lit(b, ",\"event_type\":\"alert\",\"src_ip\":");
	put_evidence_addr(b, &src);
	if (a->has_ports) {
		jbuf_lit(b, ",\"src_port\":");
		jbuf_u64(b, a->sport);
	}
	jbuf_lit(b, ",\"dest_ip\":");
	put_evidence_addr(b, &dst);
	if (a->has_ports) {
		jbuf_lit(b, ",\"dest_port\":");
		jbuf_u64(b, a->dport);
	}
	if (a->proto != 0) {
		jbuf_lit(b, ",\"proto\":\"");
		jbuf_puts(b, eve_proto_name(a->proto, pbuf));
		jbuf_putc(b, '"');
	}
	jbuf_lit(b, ",\"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":");
	jbuf_u64(b, a->sig->sid);
	jbuf_lit(b, ",\"rev\":1,\"signature\":");
	jbuf_str(b, a->sig->msg, strlen(a->sig->msg));
	jbuf_lit(b, ",\"category\":");
	jbuf_str(b, a->sig->category, strlen(a->sig->category));
	jbuf_lit(b, ",\"severity\":");
	jbuf_u64(b, a->sig->severity);
	if (a->spoofed) /* also in the evidence, with the reason */
		jbuf_lit(b, ",\"spoofed\":true");
	jbuf_lit(b, ",\"metadata\":{\"detector\":[");
	jbuf_str(b, a->sig->detector, strlen(a->sig->detector));
	jbuf_lit(b, "]}},\"evidence\":{");
	if (a->window_start_us != 0) {
		jbuf_lit(b, "\"window_start\":");
		jbuf_ts(b, a->window_start_us);
		jbuf_lit(b, ",\"window_end\":");
		jbuf_ts(b, a->window_end_us);
		first = 0;
	}
	if (a->pkts != 0 || a->bytes != 0) {
		jbuf_puts(b, first ? "\"packets\":" : ",\"packets\":");
		jbuf_u64(b, a->pkts);
		jbuf_lit(b, ",\"bytes\":");
		jbuf_u64(b, a->bytes);
		first = 0;
	}
	for (int i = 0; i < a->n_nums; i++) {
		jbuf_puts(b, first ? "\"" : ",\"");
		jbuf_puts(b, a->nums[i].key);
		jbuf_lit(b, "\":");
		jbuf_u64(b, a->nums[i].v);
		first = 0;
	}
	/* Strings: a key given several times becomes an array. */
	for (int i = 0; i < a->n_strs; i++) {
		int j, n = 0, seen = 0;
		for (j = 0; j < i; j++)
			if (strcmp(a->strs[j].key, a->strs[i].key) == 0)
				seen = 1;
		if (seen)
			continue;
		for (j = i; j < a->n_strs; j++)
			if (strcmp(a->strs[j].key, a->strs[i].key) == 0)
				n++;
		jbuf_puts(b, first ? "\"" : ",\"");
		jbuf_puts(b, a->strs[i].key);
		jbuf_puts(b, n > 1 ? "s\":[" : "\":");
		for (j = i, n = 0; j < a->n_strs; j++) {
			if (strcmp(a->strs[j].key, a->strs[i].key) != 0)
				continue;
			if (n++)
				jbuf_putc(b, ',');
			jbuf_str(b, a->strs[j].v, strlen(a->strs[j].v));
		}
		if (n > 1)
			jbuf_putc(b, ']');
		first = 0;
	}
	if (a->samples_kind != ALERT_SAMPLES_NONE && a->n_samples > 0) {
		jbuf_puts(b, first ? "\"" : ",\"");
		jbuf_puts(b, a->samples_key);
		jbuf_lit(b, "\":[");
		for (int i = 0; i < a->n_samples; i++) {
			if (i)
				jbuf_putc(b, ',');
			if (a->samples_kind == ALERT_SAMPLES_PORT) {
				jbuf_u64(b, a->sample_port[i]);
			} else {
				struct ip_addr s = a->sample_addr[i];
				eve_protect_addr(e, &s);
				put_evidence_addr(b, &s);
			}
		}
		jbuf_putc(b, ']');
		first = 0;
	}
	if (a->escalation) {
		jbuf_puts(b, first ? "\"escalation\":" : ",\"escalation\":");
		jbuf_u64(b, a->escalation);
		jbuf_lit(b, ",\"previous_packets\":");
		jbuf_u64(b, a->prior_pkts);
		if (a->prior_sessions) { /* brute force: its "sessions" is cumulative too */
			jbuf_lit(b, ",\"previous_sessions\":");
			jbuf_u64(b, a->prior_sessions);
		}
		first = 0;
	}
	put_attackers(e, b, a, first);
	jbuf_lit(b, "}}");
	if (e->tee != NULL && !b->err)
		e->tee(e->tee_ctx, b->buf + start, b->len - start);
	jbuf_putc(b, '\n');
	if (b->len >= EVE_FLUSH_AT)
		eve_flush(e);
	e->stats.alert++;
}
