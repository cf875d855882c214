/* trw.c - Threshold Random Walk: a sequential hypothesis test on the
 * outcome of each source's first contacts (Jung, Paxson, Berger and
 * Balakrishnan, "Fast Portscan Detection Using Sequential Hypothesis
 * Testing", IEEE S&P 2004).
 *
 * A benign host's first contact with another host mostly succeeds (the
 * handshake completes, the echo is answered: probability theta0); a
 * scanner's mostly fails (theta1). Each first contact multiplies the
 * likelihood ratio by (1-theta1)/(1-theta0) when it fails and by
 * theta1/theta0 when it succeeds; the source is a scanner once the ratio
 * reaches the odds eta1, and the test restarts once it falls to its
 * reciprocal. With the paper's values (0.8, 0.2, 99) four failed first
 * contacts in a row decide, whatever time they took: the slow scans that
 * no counting window sees. Memory per source is one fixed record: a
 * 512-bit filter of the hosts it has contacted (so that only first
 * contacts count) and the running ratio; the table forgets the sources
 * least worth keeping when full (dtable.h). TCP (SYN, FIN/NULL/Xmas and
 * ACK probes) and ICMP echo only: one-way UDP (syslog, traps, flow export)
 * fails by design. */
#include "detect/detect_int.h"

struct trw_key {
	uint8_t src[17];
};

struct trw_rec {
	float llr;
	uint32_t fails, oks;
	uint64_t start_us, alerted_us;
	uint64_t pkts, bytes;
	uint64_t contacted[8]; /* two bits per host */
	struct samples ex;
};

void trw_steps(struct detect *d)
{
	double t0 = d->cfg.trw_benign_pct / 100.0, t1 = d->cfg.trw_scanner_pct / 100.0;

	d->trw_step_fail = (float)log((1 - t1) / (1 - t0));
	d->trw_step_ok = (float)log(t1 / t0);
	d->trw_upper = (float)log((double)d->cfg.trw_odds);
	d->trw_lower = -d->trw_upper;
}

int trw_init(struct detect *d)
{
	d->trw = dtable_new(d->cfg.table_entries, sizeof(struct trw_key), sizeof(struct trw_rec));
	if (d->trw == NULL)
		return -1;
	dtable_set_zero(d->trw, offsetof(struct trw_rec, ex.port));
	dtable_set_age(d->trw, (uint64_t)d->cfg.scan_window_s * SEC);
	trw_steps(d);
	return 0;
}

/* Sets the host's bits; returns 1 when they were not all set before. */
static int first_contact(struct trw_rec *r, const struct ip_addr *dst)
{
	uint64_t h = hash_addr(dst);
	unsigned a = (unsigned)(h & 511), b = (unsigned)((h >> 9) & 511);
	int seen = (r->contacted[a >> 6] >> (a & 63) & 1) && (r->contacted[b >> 6] >> (b & 63) & 1);

	r->contacted[a >> 6] |= 1ULL << (a & 63);
	r->contacted[b >> 6] |= 1ULL << (b & 63);
	return !seen;
}

void trw_flow_end(struct detect *d, const struct flow *f)
{
	int c = f->client, s = c ^ 1, is_new, failed;
	struct ip_addr src, dst;
	struct trw_key k;
	struct trw_rec *r;
	struct alert a;

	if (!scan_first_contact(f))
		return;
	flow_endpoints(f, &src, &dst);
	if (addr_is_multicast_or_broadcast(&dst))
		return;
	memset(&k, 0, sizeof(k));
	k.src[0] = f->key.family;
	memcpy(k.src + 1, f->key.addr[c], 16);
	r = dtable_get(d->trw, &k, f->last_us, &is_new);
	if (!first_contact(r, &dst))
		return;
	failed = scan_failed_attempt(f) >= 0;
	if (r->fails + r->oks == 0)
		r->start_us = f->first_us;
	r->pkts += f->pkts[FLOW_TOSERVER];
	r->bytes += f->bytes[FLOW_TOSERVER];
	if (failed) {
		r->fails++;
		r->llr += d->trw_step_fail;
		samples_add(&r->ex, &dst, f->key.port[s]);
	} else {
		r->oks++;
		r->llr += d->trw_step_ok;
	}
	if (r->llr <= d->trw_lower) { /* benign: start a new test */
		r->llr = 0;
		r->fails = r->oks = 0;
		r->pkts = r->bytes = 0;
		r->ex.n = 0;
		return;
	}
	if (r->llr < d->trw_upper)
		return;
	if (r->alerted_us == 0 || f->last_us >= r->alerted_us + d->cfg.scan_window_s * SEC) {
		r->alerted_us = f->last_us ? f->last_us : 1;
		alert_init(&a, 9100031, f->last_us);
		a.src = src;
		a.dst = r->ex.n ? r->ex.addr[0] : dst;
		a.proto = f->key.proto;
		a.has_ports = f->key.proto == 6;
		a.sport = f->key.port[c];
		a.dport = r->ex.n ? r->ex.port[0] : f->key.port[s];
		a.window_start_us = r->start_us;
		a.window_end_us = f->last_us;
		a.pkts = r->pkts;
		a.bytes = r->bytes;
		alert_num(&a, "failed_first_contacts", r->fails);
		alert_num(&a, "successful_first_contacts", r->oks);
		alert_num(&a, "distinct_hosts", r->fails + r->oks);
		alert_num(&a, "likelihood_ratio", (uint64_t)exp(r->llr));
		alert_samples(&a, "targets", &r->ex, ALERT_SAMPLES_ADDR);
		detect_emit(d, &a);
	}
	/* Decided: the next test starts from here. */
	r->llr = 0;
	r->fails = r->oks = 0;
	r->pkts = r->bytes = 0;
	r->ex.n = 0;
}
