/* brute.c - brute force against authentication services: many short
 * sessions from one source to one service on one host.
 *
 * A session counts when the client opened it with a SYN, the server
 * accepted (SYN-ACK), and it ended small and soon (brute.max_pkts,
 * brute.max_secs): a login attempt, not someone's working session. */
#include "detect/detect_int.h"

struct auth_service {
	uint16_t port;
	uint32_t sid;
	const char *name;
};

static const struct auth_service services[] = {
	{21, 9300021, "ftp"},	    {22, 9300022, "ssh"},     {2222, 9300022, "ssh"},
	{23, 9300023, "telnet"},    {25, 9300025, "smtp"},    {465, 9300025, "smtps"},
	{587, 9300025, "submission"}, {110, 9300110, "pop3"}, {995, 9300110, "pop3s"},
	{143, 9300143, "imap"},     {993, 9300143, "imaps"},  {389, 9300389, "ldap"},
	{636, 9300389, "ldaps"},    {139, 9300445, "netbios-ssn"}, {445, 9300445, "smb"},
	{1433, 9301433, "mssql"},   {1521, 9301521, "oracle"}, {3306, 9303306, "mysql"},
	{3389, 9303389, "rdp"},     {5432, 9305432, "postgresql"}, {5900, 9305900, "vnc"},
	{5901, 9305900, "vnc"},     {6379, 9306379, "redis"},
};

static const struct auth_service *auth_service(uint16_t port)
{
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		if (services[i].port == port)
			return &services[i];
	return NULL;
}

struct bkey {
	uint8_t src[17];
	uint8_t dst[17];
	uint16_t port;
};

struct brute_rec {
	struct window w;
	uint64_t sessions;
	uint64_t pkts, bytes;
};

int brute_init(struct detect *d)
{
	d->brute = dtable_new(d->cfg.table_entries, sizeof(struct bkey), sizeof(struct brute_rec));
	return d->brute ? 0 : -1;
}

void brute_flow_end(struct detect *d, const struct flow *f)
{
	int c = f->client, s = c ^ 1, is_new;
	uint8_t cf = f->tcp_flags[FLOW_TOSERVER], sf = f->tcp_flags[FLOW_TOCLIENT];
	uint64_t pkts = f->pkts[0] + f->pkts[1];
	const struct auth_service *svc;
	struct brute_rec *r;
	struct bkey k;
	struct alert a;

	if (f->key.proto != 6 || !(cf & TCP_SYN) || !(sf & TCP_SYN) || (sf & TCP_RST) ||
	    (f->det_flags & DETF_SYNACK))
		return;
	if ((svc = auth_service(f->key.port[s])) == NULL)
		return;
	if (pkts > d->cfg.brute_max_pkts || f->last_us - f->first_us > d->cfg.brute_max_secs * SEC)
		return;
	memset(&k, 0, sizeof(k));
	k.src[0] = k.dst[0] = f->key.family;
	memcpy(k.src + 1, f->key.addr[c], 16);
	memcpy(k.dst + 1, f->key.addr[s], 16);
	k.port = f->key.port[s];
	r = dtable_get(d->brute, &k, f->last_us, &is_new);
	if (window_roll(&r->w, f->first_us, d->cfg.brute_window_s)) {
		r->sessions = 0;
		r->pkts = r->bytes = 0;
	}
	r->sessions++;
	r->pkts += pkts;
	r->bytes += f->bytes[0] + f->bytes[1];
	if (r->sessions < d->cfg.brute_sessions || r->w.alerted)
		return;
	r->w.alerted = 1;
	alert_init(&a, svc->sid, f->last_us);
	a.src.family = a.dst.family = f->key.family;
	memcpy(a.src.a, f->key.addr[c], 16);
	memcpy(a.dst.a, f->key.addr[s], 16);
	a.sport = f->key.port[c];
	a.dport = f->key.port[s];
	a.proto = 6;
	a.has_ports = 1;
	a.flow_id = f->flow_id;
	a.window_start_us = r->w.start_us;
	a.window_end_us = f->last_us;
	a.pkts = r->pkts;
	a.bytes = r->bytes;
	alert_num(&a, "sessions", r->sessions);
	alert_num(&a, "packets_per_session", r->pkts / r->sessions);
	alert_str(&a, "service", svc->name, strlen(svc->name));
	detect_emit(d, &a);
}
