/* detect.c - configuration, signatures, and event dispatch to detectors. */
#include "detect/detect_int.h"

#include <errno.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/err.h"

#define P(name, field, def, min, max, unit, doc)                                                   \
	{name, offsetof(struct detect_config, field), def, min, max, unit, doc}

const struct detect_param detect_params[] = {
	P("table.entries", table_entries, 16384, 64, 1u << 24, "records",
	  "records in each detector's state table (memory is fixed; full tables forget the least recently used)"),
	P("scan.window", scan_window_s, 300, 1, 86400, "s", "scan counting window"),
	P("scan.hosts", scan_hosts, 10, 2, 1000000, "hosts",
	  "failed attempts to this many hosts on one port make a horizontal scan"),
	P("scan.ports", scan_ports, 15, 2, 65536, "ports",
	  "failed attempts to this many ports on one host make a vertical scan"),
	P("scan.protocols", scan_protos, 6, 2, 256, "protocols",
	  "unanswered IP protocols (other than TCP, UDP, ICMP, SCTP) to one host make a protocol scan"),
	P("trw.benign_success", trw_benign_pct, 80, 1, 99, "%",
	  "chance that a benign host's first contact with another host succeeds (TRW theta0)"),
	P("trw.scanner_success", trw_scanner_pct, 20, 1, 99, "%",
	  "chance that a scanner's first contact succeeds (TRW theta1; below theta0)"),
	P("trw.odds", trw_odds, 99, 2, 1000000, "ratio",
	  "likelihood ratio that decides a source scans (TRW eta1 = detection / false positive rate)"),
	P("syn.window", syn_window_s, 60, 1, 3600, "s", "SYN flood counting window"),
	P("syn.half_open", syn_half_open, 100, 2, 100000000, "SYNs",
	  "SYN packets toward one service beyond the handshakes completed there, in a window"),
	P("refl.window", refl_window_s, 60, 1, 3600, "s", "reflection counting window"),
	P("refl.sources", refl_sources, 20, 2, 1000000, "reflectors",
	  "distinct servers sending unsolicited responses to one victim in a window"),
	P("refl.min_bytes", refl_min_bytes, 200, 1, 65535, "bytes",
	  "average response payload for reflection from a service outside the named list"),
	P("refl.ratio", refl_ratio, 4, 1, 1000, "times",
	  "responses must average this many times the largest request seen to that port"),
	P("spoof.sources", spoof_sources, 20, 2, 100000000, "sources",
	  "a flood from at least this many distinct sources may be judged forged"),
	P("spoof.per_source", spoof_max_per_source, 4, 1, 1000000, "packets",
	  "forged: on average at most this many packets (SYNs) per source"),
	P("vol.window", vol_window_s, 10, 1, 3600, "s", "volumetric flood window"),
	P("vol.pps", vol_pps, 100000, 1, 4000000000u, "packets/s",
	  "packets per second toward one address, averaged over the window"),
	P("vol.mbps", vol_mbps, 1000, 1, 4000000000u, "Mbit/s",
	  "megabits per second toward one address, averaged over the window"),
	P("brute.window", brute_window_s, 600, 1, 86400, "s", "brute-force counting window"),
	P("brute.sessions", brute_sessions, 10, 2, 1000000, "sessions",
	  "short sessions from one source to one authentication service in a window"),
	P("brute.max_pkts", brute_max_pkts, 100, 1, 1000000, "packets",
	  "a session with more packets is not a login attempt"),
	P("brute.max_secs", brute_max_secs, 60, 1, 86400, "s",
	  "a session lasting longer is not a login attempt"),
	P("brute.parallel", brute_parallel, 6, 2, 100000, "sessions",
	  "open sessions at once from one source to one service: every session is an attempt"),
	P("brute.long_window", brute_long_window_s, 21600, 60, 86400 * 30, "s",
	  "window for slow brute force that no short window sees"),
	P("brute.long_sessions", brute_long_sessions, 40, 2, 100000000, "sessions",
	  "login sessions from one source to one service in the long window"),
	P("beacon.min_events", beacon_min_events, 8, 4, 1000, "events",
	  "connections (or in-flow bursts) needed before judging periodicity"),
	P("beacon.min_interval", beacon_min_interval_s, 2, 1, 86400, "s",
	  "shorter intervals are traffic, not beacons"),
	P("beacon.max_jitter", beacon_max_jitter_pct, 15, 1, 100, "%",
	  "largest spread of intervals (median absolute deviation / median)"),
	P("dns.window", dns_window_s, 300, 1, 86400, "s", "DNS anomaly window"),
	P("dns.tunnel_names", dns_tunnel_names, 20, 2, 1000000, "names",
	  "distinct long, high-entropy names under one domain from one client"),
	P("dns.tunnel_min_len", dns_tunnel_min_len, 30, 8, 253, "chars",
	  "a name's part below its registered domain this long counts as long"),
	P("dns.nx_names", dns_nx_names, 20, 2, 1000000, "names",
	  "distinct NXDOMAIN answers to one client in a window (algorithmic domains)"),
	P("ics.window", ics_window_s, 3600, 1, 86400 * 7, "s",
	  "one alert per source, device and kind of ICS operation in this window"),
	P("intel.window", intel_window_s, 3600, 1, 86400 * 7, "s",
	  "one alert per client, indicator and kind of match in this window"),
	{NULL, 0, 0, 0, 0, NULL, NULL},
};

void detect_config_defaults(struct detect_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg)); /* ics_allow: none */
	for (const struct detect_param *p = detect_params; p->name; p++)
		*(uint32_t *)((char *)cfg + p->offset) = p->def;
}

int detect_config_set(struct detect_config *cfg, const char *assignment, char *err,
		      size_t errlen)
{
	const char *eq = strchr(assignment, '=');
	size_t nlen;
	char *end;
	unsigned long long v;

	if (eq == NULL) {
		snprintf(err, errlen, "'%s' is not name=value", assignment);
		return YG_EINVAL;
	}
	nlen = (size_t)(eq - assignment);
	for (const struct detect_param *p = detect_params; p->name; p++) {
		if (strlen(p->name) != nlen || strncmp(p->name, assignment, nlen) != 0)
			continue;
		errno = 0;
		v = strtoull(eq + 1, &end, 10);
		if (eq[1] < '0' || eq[1] > '9' || *end != '\0' || errno != 0 || v < p->min ||
		    v > p->max) {
			snprintf(err, errlen, "%s: '%s' is not a number from %u to %u", p->name,
				 eq + 1, p->min, p->max);
			return YG_EINVAL;
		}
		*(uint32_t *)((char *)cfg + p->offset) = (uint32_t)v;
		return 0;
	}
	snprintf(err, errlen, "unknown detector parameter '%.*s' (see --detect list)", (int)nlen,
		 assignment);
	return YG_EINVAL;
}

void detect_config_print(FILE *out, const struct detect_config *cfg)
{
	for (const struct detect_param *p = detect_params; p->name; p++)
		fprintf(out, "%-20s %10u %-10s (default %u) %s\n", p->name,
			*(const uint32_t *)((const char *)cfg + p->offset), p->unit, p->def, p->doc);
}

#define SIG(sid, det, sev, cat, msg) {sid, msg, cat, sev, det}
#define RECON "Attempted Information Leak"
#define DOS "Attempted Denial of Service"
#define BRUTE "Attempted User Privilege Gain"
#define TROJAN "A Network Trojan was Detected"
#define BAD "Potentially Bad Traffic"

const struct signature detect_signatures[] = {
	SIG(9100001, "scan", 2, RECON, "YAGURA SCAN horizontal TCP SYN scan"),
	SIG(9100002, "scan", 2, RECON, "YAGURA SCAN horizontal TCP FIN/NULL/Xmas scan"),
	SIG(9100003, "scan", 2, RECON, "YAGURA SCAN horizontal UDP scan"),
	SIG(9100011, "scan", 2, RECON, "YAGURA SCAN vertical TCP SYN port scan"),
	SIG(9100012, "scan", 2, RECON, "YAGURA SCAN vertical TCP FIN/NULL/Xmas port scan"),
	SIG(9100013, "scan", 2, RECON, "YAGURA SCAN vertical UDP port scan"),
	SIG(9100004, "scan", 2, RECON, "YAGURA SCAN horizontal TCP ACK sweep"),
	SIG(9100005, "scan", 2, RECON, "YAGURA SCAN ICMP echo sweep"),
	SIG(9100014, "scan", 2, RECON, "YAGURA SCAN IP protocol scan"),
	SIG(9100015, "scan", 2, RECON, "YAGURA SCAN vertical TCP ACK port scan"),
	SIG(9100021, "scan", 2, RECON, "YAGURA SCAN hand-built TCP SYN (nmap, masscan or zmap style)"),
	SIG(9100031, "scan", 2, RECON, "YAGURA SCAN failed first contacts (sequential hypothesis test)"),
	SIG(9200001, "dos", 1, DOS, "YAGURA DOS TCP SYN flood"),
	SIG(9200002, "dos", 1, DOS, "YAGURA DOS volumetric flood"),
	SIG(9200010, "dos", 1, DOS, "YAGURA DOS DNS reflection/amplification"),
	SIG(9200011, "dos", 1, DOS, "YAGURA DOS NTP reflection/amplification"),
	SIG(9200012, "dos", 1, DOS, "YAGURA DOS SSDP reflection/amplification"),
	SIG(9200013, "dos", 1, DOS, "YAGURA DOS memcached reflection/amplification"),
	SIG(9200014, "dos", 1, DOS, "YAGURA DOS CLDAP reflection/amplification"),
	SIG(9200015, "dos", 1, DOS, "YAGURA DOS Chargen reflection/amplification"),
	SIG(9200016, "dos", 1, DOS, "YAGURA DOS SNMP reflection/amplification"),
	SIG(9200017, "dos", 1, DOS, "YAGURA DOS WS-Discovery reflection/amplification"),
	SIG(9200018, "dos", 1, DOS, "YAGURA DOS TCP SYN-ACK reflection"),
	SIG(9200019, "dos", 1, DOS, "YAGURA DOS UDP reflection/amplification (other service)"),
	SIG(9200020, "dos", 1, DOS, "YAGURA DOS IKE/ISAKMP reflection/amplification"),
	SIG(9200021, "dos", 1, DOS, "YAGURA DOS BACnet reflection/amplification"),
	SIG(9200022, "dos", 1, DOS, "YAGURA DOS CoAP reflection/amplification"),
	SIG(9200023, "dos", 1, DOS, "YAGURA DOS ARMS reflection/amplification"),
	SIG(9200024, "dos", 1, DOS, "YAGURA DOS NetBIOS name service reflection/amplification"),
	SIG(9200025, "dos", 1, DOS, "YAGURA DOS DTLS/RDP-UDP reflection/amplification"),
	SIG(9300021, "brute", 2, BRUTE, "YAGURA BRUTEFORCE FTP login attempts"),
	SIG(9300022, "brute", 2, BRUTE, "YAGURA BRUTEFORCE SSH login attempts"),
	SIG(9300023, "brute", 2, BRUTE, "YAGURA BRUTEFORCE Telnet login attempts"),
	SIG(9300025, "brute", 2, BRUTE, "YAGURA BRUTEFORCE SMTP authentication attempts"),
	SIG(9300110, "brute", 2, BRUTE, "YAGURA BRUTEFORCE POP3 login attempts"),
	SIG(9300143, "brute", 2, BRUTE, "YAGURA BRUTEFORCE IMAP login attempts"),
	SIG(9300389, "brute", 2, BRUTE, "YAGURA BRUTEFORCE LDAP bind attempts"),
	SIG(9300445, "brute", 2, BRUTE, "YAGURA BRUTEFORCE SMB login attempts"),
	SIG(9301433, "brute", 2, BRUTE, "YAGURA BRUTEFORCE MSSQL login attempts"),
	SIG(9301521, "brute", 2, BRUTE, "YAGURA BRUTEFORCE Oracle login attempts"),
	SIG(9303306, "brute", 2, BRUTE, "YAGURA BRUTEFORCE MySQL login attempts"),
	SIG(9303389, "brute", 2, BRUTE, "YAGURA BRUTEFORCE RDP login attempts"),
	SIG(9305432, "brute", 2, BRUTE, "YAGURA BRUTEFORCE PostgreSQL login attempts"),
	SIG(9305900, "brute", 2, BRUTE, "YAGURA BRUTEFORCE VNC login attempts"),
	SIG(9306379, "brute", 2, BRUTE, "YAGURA BRUTEFORCE Redis authentication attempts"),
	SIG(9400001, "beacon", 1, TROJAN, "YAGURA C2 periodic connections (beaconing)"),
	SIG(9400002, "beacon", 2, TROJAN, "YAGURA C2 periodic bursts inside one connection (beaconing)"),
	SIG(9500001, "dns", 2, BAD, "YAGURA DNS possible tunnelling (many long high-entropy names)"),
	SIG(9500002, "dns", 2, BAD, "YAGURA DNS NXDOMAIN burst (possible algorithmically generated domains)"),
#define ICS "Attempted Administrator Privilege Gain"
	SIG(9600001, "ics", 1, ICS, "YAGURA ICS Modbus write from a source not in the allow-list"),
	SIG(9600002, "ics", 1, ICS, "YAGURA ICS Modbus diagnostic or control from a source not in the allow-list"),
	SIG(9600003, "ics", 1, ICS, "YAGURA ICS Modbus device restart"),
	SIG(9600004, "ics", 1, ICS, "YAGURA ICS Modbus device stop"),
	SIG(9600005, "ics", 1, ICS, "YAGURA ICS Modbus program function (UMAS)"),
	SIG(9600011, "ics", 1, ICS, "YAGURA ICS DNP3 write from a source not in the allow-list"),
	SIG(9600012, "ics", 1, ICS, "YAGURA ICS DNP3 control (select/operate) from a source not in the allow-list"),
	SIG(9600013, "ics", 1, ICS, "YAGURA ICS DNP3 cold or warm restart"),
	SIG(9600014, "ics", 1, ICS, "YAGURA ICS DNP3 file operation"),
	SIG(9600015, "ics", 1, ICS, "YAGURA ICS DNP3 stop application"),
	SIG(9600016, "ics", 1, ICS, "YAGURA ICS DNP3 configuration change"),
	SIG(9600021, "ics", 1, ICS, "YAGURA ICS S7comm PLC stop"),
	SIG(9600022, "ics", 1, ICS, "YAGURA ICS S7comm program download"),
	SIG(9600023, "ics", 1, ICS, "YAGURA ICS S7comm program upload"),
	SIG(9600024, "ics", 1, ICS, "YAGURA ICS S7comm PI service (program control)"),
	SIG(9600025, "ics", 1, ICS, "YAGURA ICS S7comm write from a source not in the allow-list"),
#define IOC "Known Bad Indicator"
	SIG(9700001, "intel", 1, IOC, "YAGURA INTEL traffic with a known-bad address"),
	SIG(9700002, "intel", 1, IOC, "YAGURA INTEL DNS query for a known-bad domain"),
	SIG(9700003, "intel", 1, IOC, "YAGURA INTEL DNS answer with a known-bad address"),
	SIG(9700004, "intel", 1, IOC, "YAGURA INTEL TLS to a known-bad server name"),
	SIG(9700005, "intel", 1, IOC, "YAGURA INTEL HTTP to a known-bad host"),
	{0, NULL, NULL, 0, NULL},
};

const struct signature *detect_sig(uint32_t sid)
{
	for (const struct signature *s = detect_signatures; s->sid; s++)
		if (s->sid == sid)
			return s;
	return NULL;
}

void alert_init(struct alert *a, uint32_t sid, uint64_t ts)
{
	memset(a, 0, offsetof(struct alert, strs));
	a->n_strs = 0;
	a->n_samples = 0;
	a->samples_key = NULL;
	a->samples_kind = ALERT_SAMPLES_NONE;
	a->sig = detect_sig(sid);
	a->ts_us = ts;
}

void alert_from_packet(struct alert *a, uint32_t sid, const struct flow *f,
		       const struct packet *pkt)
{
	alert_init(a, sid, pkt->ts_us);
	a->src = pkt->src;
	a->dst = pkt->dst;
	a->sport = pkt->sport;
	a->dport = pkt->dport;
	a->proto = pkt->ip_proto;
	a->has_ports = pkt->ip_proto == 6 || pkt->ip_proto == 17 || pkt->ip_proto == 132;
	a->flow_id = f->flow_id;
}

void alert_num(struct alert *a, const char *key, uint64_t v)
{
	if (a->n_nums == ALERT_MAX_NUMS)
		return;
	a->nums[a->n_nums].key = key;
	a->nums[a->n_nums++].v = v;
}

void alert_str(struct alert *a, const char *key, const char *v, size_t len)
{
	if (a->n_strs == ALERT_MAX_STRS)
		return;
	if (len >= ALERT_STR_MAX)
		len = ALERT_STR_MAX - 1;
	a->strs[a->n_strs].key = key;
	memcpy(a->strs[a->n_strs].v, v, len);
	a->strs[a->n_strs].v[len] = '\0';
	a->n_strs++;
}

void alert_samples(struct alert *a, const char *key, const struct samples *s, int kind)
{
	a->samples_key = key;
	a->samples_kind = (uint8_t)kind;
	a->n_samples = s->n;
	for (int i = 0; i < s->n; i++) {
		a->sample_addr[i] = s->addr[i];
		a->sample_port[i] = s->port[i];
		a->sample_pkts[i] = 0;
	}
}

void detect_emit(struct detect *d, struct alert *a)
{
	d->stats.alerts++;
	if (d->on_alert != NULL && a->sig != NULL)
		d->on_alert(d->ctx, a);
}

struct detect *detect_new_part(const struct detect_config *cfg, enum detect_part part,
			       alert_fn on_alert, void *ctx)
{
	struct detect *d = yg_calloc(1, sizeof(*d));
	int cross = part & DETECT_PART_CROSS, flow = part & DETECT_PART_FLOW;

	if (d == NULL)
		return NULL;
	d->cfg = *cfg;
	d->part = part;
	d->on_alert = on_alert;
	d->ctx = ctx;
	d->ics_allow = cfg->ics_allow;
	(void)flow; /* bursts inside a connection keep their state in the flow */
	if ((cross && (scan_init(d) < 0 || trw_init(d) < 0 || dos_init(d) < 0 ||
		       brute_init(d) < 0 || dnsanom_init(d) < 0 || icsabuse_init(d) < 0 ||
		       intelmatch_init(d) < 0)) ||
	    beacon_init(d) < 0) {
		detect_free(d);
		return NULL;
	}
	return d;
}

struct detect *detect_new(const struct detect_config *cfg, alert_fn on_alert, void *ctx)
{
	return detect_new_part(cfg, DETECT_PART_ALL, on_alert, ctx);
}

void detect_reconfigure(struct detect *d, const struct detect_config *cfg)
{
	uint32_t entries = d->cfg.table_entries;

	d->cfg = *cfg;
	d->cfg.table_entries = entries; /* the tables are sized: a restart changes it */
	d->ics_allow = cfg->ics_allow;
	/* What the init functions derived from cfg: the tables' ages (the
	 * windows) and the sequential test's steps. */
	if (d->scan_h != NULL) {
		dtable_set_age(d->scan_h, (uint64_t)cfg->scan_window_s * SEC);
		dtable_set_age(d->scan_v, (uint64_t)cfg->scan_window_s * SEC);
		dtable_set_age(d->scan_tool, (uint64_t)cfg->scan_window_s * SEC);
	}
	if (d->trw != NULL) {
		dtable_set_age(d->trw, (uint64_t)cfg->scan_window_s * SEC);
		trw_steps(d);
	}
	if (d->syn != NULL) {
		dtable_set_age(d->syn, (uint64_t)cfg->syn_window_s * SEC);
		dtable_set_age(d->refl, (uint64_t)cfg->refl_window_s * SEC);
		dtable_set_age(d->vol, (uint64_t)cfg->vol_window_s * SEC);
	}
	if (d->brute != NULL)
		dtable_set_age(d->brute, (uint64_t)cfg->brute_window_s * SEC);
}

void detect_set_alert_ctx(struct detect *d, void *ctx)
{
	d->ctx = ctx;
}

void detect_free(struct detect *d)
{
	if (d == NULL)
		return;
	dtable_free(d->scan_h);
	dtable_free(d->scan_v);
	dtable_free(d->scan_tool);
	dtable_free(d->trw);
	dtable_free(d->syn);
	dtable_free(d->refl);
	dtable_free(d->vol);
	dos_free(d);
	dtable_free(d->brute);
	dtable_free(d->beacon);
	dtable_free(d->dns_tun);
	dtable_free(d->dns_nx);
	dtable_free(d->ics);
	dtable_free(d->intel_seen);
	free(d);
}

const struct detect_stats *detect_stats(struct detect *d)
{
	struct dtable *all[] = {d->scan_h, d->scan_v,  d->scan_tool, d->trw,	    d->syn,
				d->refl,   d->vol,	   d->brute,	 d->beacon, d->dns_tun,
				d->dns_nx, d->ics,	   d->intel_seen};

	d->stats.evictions = 0;
	d->stats.evictions_rare = 0;
	d->stats.table_bytes = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (all[i] == NULL)
			continue;
		d->stats.evictions += dtable_stats(all[i])->evictions;
		d->stats.evictions_rare += dtable_stats(all[i])->evictions_rare;
		d->stats.table_bytes += dtable_stats(all[i])->bytes;
	}
	return &d->stats;
}

void detect_packet(struct detect *d, struct flow *f, const struct packet *pkt, int dir,
		   unsigned events)
{
	if ((events & FLOW_EV_NEW) && (d->part & DETECT_PART_CROSS)) {
		scan_packet(d, f, pkt, events);
		intelmatch_flow(d, f, pkt);
	}
	if (d->part & DETECT_PART_CROSS) {
		if (events & FLOW_EV_ESTABLISHED)
			brute_packet(d, f, pkt);
		dos_packet(d, f, pkt, dir, events);
	}
	beacon_packet(d, f, pkt, dir, events);
}

void detect_flow_end(struct detect *d, const struct flow *f, enum flow_end_reason why)
{
	(void)why;
	if (!(d->part & DETECT_PART_CROSS))
		return;
	scan_flow_end(d, f);
	trw_flow_end(d, f);
	brute_flow_end(d, f);
}

void detect_dns(struct detect *d, const struct flow *f, const struct packet *pkt,
		const struct dns_meta *m)
{
	if (!(d->part & DETECT_PART_CROSS))
		return;
	dnsanom_dns(d, f, pkt, m);
	intelmatch_dns(d, f, pkt, m);
}

void detect_tls(struct detect *d, const struct flow *f, const struct packet *pkt,
		const struct tls_meta *m)
{
	if (d->part & DETECT_PART_CROSS)
		intelmatch_name(d, f, pkt, m->sni, m->sni_len, 1);
}

void detect_http(struct detect *d, const struct flow *f, const struct packet *pkt,
		 const struct http_meta *m)
{
	if (d->part & DETECT_PART_CROSS)
		intelmatch_name(d, f, pkt, m->host, m->host_len, 0);
}

void detect_set_intel(struct detect *d, const struct intel_snapshot *s)
{
	d->intel = s;
}

void detect_ics(struct detect *d, const struct flow *f, const struct packet *pkt,
		const struct ics_op *op)
{
	if (d->part & DETECT_PART_CROSS)
		icsabuse_op(d, f, pkt, op);
}
