/* intelmatch.c - known-bad indicators: every new flow's two addresses, DNS
 * query names and answer addresses, TLS SNI and HTTP Host are looked up in
 * the intel snapshot the pipeline holds for the current batch.
 *
 * One alert per client, indicator and kind of match per intel.window; the
 * evidence names the indicator (id, value, source, confidence, TLP,
 * valid_until). Lookups use packet time, so an indicator matches traffic
 * seen while it was valid. */
#include "detect/detect_int.h"

#include "intel/intel.h"

struct mkey {
	uint8_t client[17];
	uint8_t what;
	uint8_t pad[6];
	uint64_t indicator; /* hash of the indicator's text */
};

struct match_rec {
	struct window w;
	uint64_t hits;
};

int intelmatch_init(struct detect *d)
{
	d->intel_seen =
		dtable_new(d->cfg.table_entries, sizeof(struct mkey), sizeof(struct match_rec));
	return d->intel_seen ? 0 : -1;
}

enum { M_ADDR = 1, M_DNS_QUERY, M_DNS_ANSWER, M_SNI, M_HOST };

static const uint32_t sids[] = {0, 9700001, 9700002, 9700003, 9700004, 9700005};

/* Alerts for match m unless this client already had one for it in the
 * window. attacker says which of src/dst is the bad side, or that the bad
 * address is bad_addr (a DNS answer). */
static void hit(struct detect *d, int what, const struct flow *f, const struct packet *pkt,
		const struct ip_addr *client, const struct intel_match *m, int attacker,
		const struct ip_addr *bad_addr)
{
	char text[ALERT_STR_MAX];
	struct match_rec *r;
	struct alert a;
	struct mkey k;
	int n, is_new;

	n = intel_match_format(m, text, sizeof(text));
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(text))
		n = sizeof(text) - 1;
	memset(&k, 0, sizeof(k));
	k.client[0] = client->family;
	memcpy(k.client + 1, client->a, 16);
	k.what = (uint8_t)what;
	k.indicator = hash_bytes(text, (size_t)n) ^ hash_bytes(m->id, strlen(m->id));
	r = dtable_get(d->intel_seen, &k, pkt->ts_us, &is_new);
	if (window_roll(&r->w, pkt->ts_us, d->cfg.intel_window_s))
		r->hits = 0;
	r->hits++;
	if (r->w.alerted)
		return;
	r->w.alerted = 1;
	alert_from_packet(&a, sids[what], f, pkt);
	a.attackers = (uint8_t)attacker;
	if (bad_addr != NULL) {
		struct samples s = {0};
		samples_add(&s, bad_addr, 0);
		alert_samples(&a, "matched_addresses", &s, ALERT_SAMPLES_ADDR);
	}
	alert_str(&a, "indicator", text, (size_t)n);
	if (m->id[0] != '\0')
		alert_str(&a, "indicator_id", m->id, strlen(m->id));
	alert_str(&a, "source", m->source, strlen(m->source));
	alert_str(&a, "kind", intel_kind_name(m->kind), strlen(intel_kind_name(m->kind)));
	if (m->tlp != INTEL_TLP_NONE)
		alert_str(&a, "tlp", intel_tlp_name(m->tlp), strlen(intel_tlp_name(m->tlp)));
	alert_num(&a, "confidence", (uint64_t)m->confidence);
	if (m->valid_until != INTEL_NO_EXPIRY)
		alert_num(&a, "valid_until", (uint64_t)m->valid_until);
	detect_emit(d, &a);
}

static int64_t now_s(const struct packet *pkt)
{
	return (int64_t)(pkt->ts_us / SEC);
}

void intelmatch_flow(struct detect *d, const struct flow *f, const struct packet *pkt)
{
	struct intel_match m;

	if (d->intel == NULL)
		return;
	if (intel_lookup_ip(d->intel, &pkt->dst, now_s(pkt), &m) == 0)
		hit(d, M_ADDR, f, pkt, &pkt->src, &m, ALERT_ATTACKER_DST, NULL);
	if (intel_lookup_ip(d->intel, &pkt->src, now_s(pkt), &m) == 0)
		hit(d, M_ADDR, f, pkt, &pkt->dst, &m, ALERT_ATTACKER_SRC, NULL);
}

void intelmatch_dns(struct detect *d, const struct flow *f, const struct packet *pkt,
		    const struct dns_meta *dm)
{
	struct intel_match m;
	const struct ip_addr *client = dm->is_response ? &pkt->dst : &pkt->src;

	if (d->intel == NULL)
		return;
	if (!dm->is_response && dm->qname_len > 0 &&
	    intel_lookup_domain(d->intel, dm->qname, dm->qname_len, now_s(pkt), &m) == 0)
		hit(d, M_DNS_QUERY, f, pkt, client, &m, ALERT_ATTACKER_NONE, NULL);
	for (int i = 0; dm->is_response && i < dm->n_addrs; i++)
		if (intel_lookup_ip(d->intel, &dm->addrs[i], now_s(pkt), &m) == 0)
			hit(d, M_DNS_ANSWER, f, pkt, client, &m, ALERT_ATTACKER_SAMPLES,
			    &dm->addrs[i]);
}

void intelmatch_name(struct detect *d, const struct flow *f, const struct packet *pkt,
		     const char *name, size_t len, int is_sni)
{
	struct intel_match m;

	if (d->intel == NULL || len == 0)
		return;
	if (intel_lookup_domain(d->intel, name, len, now_s(pkt), &m) == 0)
		hit(d, is_sni ? M_SNI : M_HOST, f, pkt, &pkt->src, &m, ALERT_ATTACKER_DST, NULL);
}
