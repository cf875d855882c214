/* brute.c - brute force against authentication services: many login
 * sessions from one source to one service on one host.
 *
 * A session counts when the client opened it with a SYN, the server
 * accepted (SYN-ACK), the client completed the handshake (so its address
 * is its own: a forged source never gets this far, and cannot crowd a real
 * attacker out of the table), and it ended small and soon (brute.max_pkts,
 * brute.max_secs): a login attempt, not someone's working session. Tools
 * that run many tasks in parallel keep each connection for many attempts:
 * while brute.parallel or more sessions from the source are open to the
 * service at once, every session counts, however long. Slow attacks that
 * no short window sees are counted over brute.long_window. */
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

#define BRUTE_ENDS 8

struct bkey {
	uint8_t src[17];
	uint8_t dst[17];
	uint16_t port;
};

struct brute_rec {
	struct window w, lw; /* the window, and the long window */
	uint64_t sessions, long_sessions;
	uint64_t pkts, bytes;
	struct reported rep;
	uint64_t alerted_sessions;
	uint32_t open, max_open; /* sessions open at once; the most in the window */
	/* Flow records: when the last few sessions ended, to tell how many
	 * were open at once without seeing them open. */
	uint64_t ends[BRUTE_ENDS];
	uint32_t n_ends;
};

int brute_init(struct detect *d)
{
	d->brute = dtable_new(d->cfg.table_entries, sizeof(struct bkey), sizeof(struct brute_rec));
	if (d->brute == NULL)
		return -1;
	dtable_set_age(d->brute, (uint64_t)d->cfg.brute_window_s * SEC);
	return 0;
}

/* Starts a new window when the last one is over. */
static void brute_roll(struct brute_rec *r, uint64_t now, uint32_t window_s)
{
	if (!window_roll(&r->w, now, window_s))
		return;
	r->sessions = 0;
	r->pkts = r->bytes = 0;
	memset(&r->rep, 0, sizeof(r->rep));
	r->alerted_sessions = 0;
	r->max_open = r->open;
}

static void bkey_make(struct bkey *k, const struct flow *f)
{
	int c = f->client, s = c ^ 1;

	memset(k, 0, sizeof(*k));
	k->src[0] = k->dst[0] = f->key.family;
	memcpy(k->src + 1, f->key.addr[c], 16);
	memcpy(k->dst + 1, f->key.addr[s], 16);
	k->port = f->key.port[s];
}

/* The record of the client's sessions to the flow's authentication
 * service, its window rolled to now; NULL when the flow is none of that. */
static struct brute_rec *brute_session(struct detect *d, const struct flow *f, uint8_t proto,
				       uint64_t now)
{
	struct brute_rec *r;
	struct bkey k;
	int is_new;

	if (proto != 6 || (f->det_flags & DETF_SYNACK) ||
	    auth_service(f->key.port[f->client ^ 1]) == NULL)
		return NULL;
	bkey_make(&k, f);
	r = dtable_get(d->brute, &k, now, &is_new);
	brute_roll(r, now, d->cfg.brute_window_s);
	return r;
}

/* A handshake completed toward an authentication service: one more
 * session open at once. */
void brute_packet(struct detect *d, struct flow *f, const struct packet *pkt)
{
	struct brute_rec *r = brute_session(d, f, pkt->ip_proto, pkt->ts_us);

	if (r == NULL)
		return;
	r->open++;
	if (r->open > r->max_open)
		r->max_open = r->open;
	f->det_flags |= DETF_AUTH_OPEN;
}

void brute_flow(struct detect *d, struct flow *f, const struct packet *pkt)
{
	struct brute_rec *r = brute_session(d, f, pkt->ip_proto, f->first_us);
	uint32_t overlap = 0;

	if (r == NULL)
		return;
	for (int i = 0; i < BRUTE_ENDS; i++)
		overlap += r->ends[i] > f->first_us;
	r->ends[r->n_ends++ % BRUTE_ENDS] = f->last_us;
	/* The sessions that ended after this one began were open with it;
	 * brute_flow_end() closes this one again. */
	r->open = overlap + 1;
	if (r->open > r->max_open)
		r->max_open = r->open;
	f->det_flags |= DETF_AUTH_OPEN;
}

static void brute_alert(struct detect *d, const struct flow *f, struct brute_rec *r,
			const struct auth_service *svc, const struct window *w, uint64_t sessions)
{
	int c = f->client, s = c ^ 1;
	struct alert a;

	alert_init(&a, svc->sid, f->last_us);
	a.src.family = a.dst.family = f->key.family;
	memcpy(a.src.a, f->key.addr[c], 16);
	memcpy(a.dst.a, f->key.addr[s], 16);
	a.sport = f->key.port[c];
	a.dport = f->key.port[s];
	a.proto = 6;
	a.has_ports = 1;
	a.flow_id = f->flow_id;
	a.window_start_us = w->start_us;
	a.window_end_us = f->last_us;
	a.pkts = r->pkts;
	a.bytes = r->bytes;
	if (w == &r->w) {
		alert_escalation(&a, w, &r->rep, r->pkts, r->bytes);
		a.prior_sessions = r->alerted_sessions;
		r->alerted_sessions = sessions;
	} else {
		/* The long window: what the short one reported, at most. */
		a.escalation = (uint8_t)(w->alerted - 1);
		a.prior_pkts = r->rep.pkts < a.pkts ? r->rep.pkts : a.pkts;
		a.prior_bytes = r->rep.pkts < a.pkts ? r->rep.bytes : a.bytes;
	}
	alert_num(&a, "sessions", sessions);
	alert_num(&a, "packets_per_session", r->pkts / (sessions ? sessions : 1));
	alert_num(&a, "parallel_sessions", r->max_open);
	alert_str(&a, "service", svc->name, strlen(svc->name));
	detect_emit(d, &a);
}

void brute_flow_end(struct detect *d, const struct flow *f)
{
	int s = f->client ^ 1, is_new, shortone;
	uint8_t cf = f->tcp_flags[FLOW_TOSERVER], sf = f->tcp_flags[FLOW_TOCLIENT];
	uint64_t pkts = f->pkts[0] + f->pkts[1];
	const struct auth_service *svc;
	struct brute_rec *r;
	struct bkey k;

	if (f->key.proto != 6 || (f->det_flags & DETF_SYNACK))
		return;
	if ((svc = auth_service(f->key.port[s])) == NULL)
		return;
	bkey_make(&k, f);
	if (f->det_flags & DETF_AUTH_OPEN) {
		r = dtable_find(d->brute, &k, f->last_us);
		if (r != NULL && r->open > 0)
			r->open--;
	}
	if (!(cf & TCP_SYN) || !(cf & TCP_ACK) || !(sf & TCP_SYN) || (sf & TCP_RST) ||
	    !(f->det_flags & DETF_AUTH_OPEN))
		return;
	r = dtable_get(d->brute, &k, f->last_us, &is_new);
	brute_roll(r, f->first_us, d->cfg.brute_window_s);
	if (r->max_open == 0)
		r->max_open = 1;
	if (window_roll(&r->lw, f->first_us, d->cfg.brute_long_window_s))
		r->long_sessions = 0;
	shortone = pkts <= d->cfg.brute_max_pkts &&
		   f->last_us - f->first_us <= d->cfg.brute_max_secs * SEC;
	if (!shortone && r->max_open < d->cfg.brute_parallel)
		return;
	r->sessions++;
	r->long_sessions++;
	r->pkts += pkts;
	r->bytes += f->bytes[0] + f->bytes[1];
	if (window_escalate(&r->w, r->sessions, d->cfg.brute_sessions)) {
		if (r->lw.alerted == 0)
			r->lw.alerted = 1; /* the long window has had an alert too */
		brute_alert(d, f, r, svc, &r->w, r->sessions);
	} else if (r->lw.alerted == 0 &&
		   window_escalate(&r->lw, r->long_sessions, d->cfg.brute_long_sessions)) {
		brute_alert(d, f, r, svc, &r->lw, r->long_sessions);
	}
}
