/* alertbatch_record.c - see alertbatch.h: the fields of a record, as the
 * parser (alertbatch.c) places them; the checks a whole record gets; the
 * ranking's view of a record (alert_rank_of()) and EVE times. */
#include "tower/alertbatch_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "tower/report.h"

void alertbatch_rec_err(struct pstate *s, const char *sub, const char *field, const char *reason)
{
	struct alert_batch *b = s->b;
	struct alert_batch_err *e;

	if (b->status == ALERT_BATCH_OK)
		b->status = ALERT_BATCH_BAD_RECORD;
	if (b->status != ALERT_BATCH_BAD_RECORD || b->nerrs >= ALERT_BATCH_ERRS_MAX)
		return;
	e = &b->errs[b->nerrs++];
	snprintf(e->field, sizeof(e->field), "alerts[%zu]%s%s%s%s", s->cur_index, field ? "." : "",
		 sub ? sub : "", sub ? "." : "", field ? field : "");
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

/* The object a key sits in, for naming it: alerts[i].<sub>.<key>. */
static const char *role_path(enum role in)
{
	switch (in) {
	case R_ALERT:
		return "alert";
	case R_METADATA:
		return "alert.metadata";
	case R_EVIDENCE:
		return "evidence";
	default:
		return NULL;
	}
}

void alertbatch_field_err(struct pstate *s, enum key k, enum role in, const char *reason)
{
	alertbatch_rec_err(s, role_path(in), alertbatch_key_names[k], reason);
}

static const char *copy_str(struct pstate *s, const unsigned char *v, size_t n)
{
	struct alert_batch *b = s->b;
	char *p;

	/* A decoded string is never longer than its JSON text plus quotes, so
	 * the buffer sized by the body never overflows; checked anyway. */
	if (b->strs_len + n + 1 > b->strs_cap)
		return NULL;
	p = b->strs + b->strs_len;
	memcpy(p, v, n);
	p[n] = '\0';
	b->strs_len += n + 1;
	return p;
}

/* The evidence numbers the ranking reads: where each goes. */
static int64_t *evidence_num(struct alert_rec *r, enum key k, unsigned *bit)
{
	switch (k) {
	case K_PACKETS:
		*bit = ALERT_HAS_PACKETS;
		return &r->packets;
	case K_PREVIOUS_PACKETS:
		*bit = ALERT_HAS_PREVIOUS_PACKETS;
		return &r->previous_packets;
	case K_PREVIOUS_SESSIONS:
		*bit = ALERT_HAS_PREVIOUS_SESSIONS;
		return &r->previous_sessions;
	case K_ESCALATION:
		*bit = ALERT_HAS_ESCALATION;
		return &r->escalation;
	case K_DISTINCT_HOSTS:
		*bit = ALERT_HAS_HOSTS;
		return &r->distinct_hosts;
	case K_DISTINCT_PORTS:
		*bit = ALERT_HAS_PORTS;
		return &r->distinct_ports;
	case K_DISTINCT_PROTOCOLS:
		*bit = ALERT_HAS_PROTOCOLS;
		return &r->distinct_protocols;
	case K_SESSIONS:
		*bit = ALERT_HAS_SESSIONS;
		return &r->sessions;
	case K_CONFIDENCE:
		*bit = ALERT_HAS_CONFIDENCE;
		return &r->confidence;
	default:
		return NULL;
	}
}

/* A value inside a record, under key k of the object `in` (the record, its
 * "alert", alert.metadata or "evidence"). Returns the role of a container
 * it opens, R_OTHER when ignored, -1 to cancel. */
int alertbatch_record_field(struct pstate *s, enum key k, enum vtype t, const unsigned char *str,
			    size_t n, long long iv, enum role in)
{
	struct alert_rec *r = s->cur;
	const char **dst = NULL;
	unsigned bit = 0;
	int64_t *num;

	if (r == NULL || k == K_NONE)
		return R_OTHER;
	switch (k) {
	case K_ALERT_ID:
		dst = &r->alert_id;
		break;
	case K_TIMESTAMP:
		dst = &r->timestamp;
		break;
	case K_SRC_IP:
		dst = &r->src_ip;
		break;
	case K_DEST_IP:
		dst = &r->dest_ip;
		break;
	case K_PROTO:
		dst = &r->proto;
		break;
	case K_SIGNATURE:
		dst = &r->signature;
		break;
	case K_CATEGORY:
		dst = &r->category;
		break;
	case K_ATTACKER_ROLE:
		dst = &r->attacker_role;
		break;
	case K_WINDOW_START:
		dst = &r->window_start;
		break;
	case K_INDICATOR_ID:
		dst = &r->indicator_id;
		break;
	case K_INDICATOR:
		dst = &r->indicator;
		break;
	case K_ALERT:
		if (t != V_MAP) {
			alertbatch_field_err(s, k, in, "must be an object");
			return R_OTHER;
		}
		r->has |= ALERT_HAS_ALERT;
		return R_ALERT;
	/* Objects other tools may shape otherwise: read when they are
	 * objects, ignored when not. */
	case K_EVIDENCE:
		return t == V_MAP ? R_EVIDENCE : R_OTHER;
	case K_METADATA:
		return t == V_MAP ? R_METADATA : R_OTHER;
	case K_DETECTOR:
		if (t == V_ARRAY)
			return R_DETECTOR;
		dst = &r->detector;
		break;
	case K_ATTACKERS:
		if (t != V_ARRAY) {
			alertbatch_field_err(s, k, in, "must be an array of IP addresses");
			return R_OTHER;
		}
		if ((r->attackers = copy_str(s, (const unsigned char *)"", 0)) == NULL) {
			s->b->status = ALERT_BATCH_NOMEM;
			return -1;
		}
		return R_ATTACKERS;
	case K_ATTACKER_PACKETS:
		if (t != V_ARRAY) {
			alertbatch_field_err(s, k, in, "must be an array of packet counts");
			return R_OTHER;
		}
		if ((r->attacker_packets = copy_str(s, (const unsigned char *)"", 0)) == NULL) {
			s->b->status = ALERT_BATCH_NOMEM;
			return -1;
		}
		return R_ATTACKER_PACKETS;
	case K_SRC_PORT:
	case K_DEST_PORT:
		if (t != V_INT || iv < 0 || iv > 65535) {
			alertbatch_field_err(s, k, in, "must be a port number (0 to 65535)");
			return R_OTHER;
		}
		if (k == K_SRC_PORT) {
			r->src_port = iv;
			r->has |= ALERT_HAS_SRC_PORT;
		} else {
			r->dest_port = iv;
			r->has |= ALERT_HAS_DEST_PORT;
		}
		return R_OTHER;
	case K_SIGNATURE_ID:
	case K_SEVERITY:
		if (t != V_INT) {
			alertbatch_field_err(s, k, in, "must be an integer");
			return R_OTHER;
		}
		if (k == K_SIGNATURE_ID) {
			r->signature_id = iv;
			r->has |= ALERT_HAS_SIGNATURE_ID;
		} else {
			r->severity = iv;
			r->has |= ALERT_HAS_SEVERITY;
		}
		return R_OTHER;
	default:
		if ((num = evidence_num(r, k, &bit)) == NULL)
			return R_OTHER;
		if (t != V_INT || iv < 0) {
			alertbatch_field_err(s, k, in, "must be a non-negative integer");
			return R_OTHER;
		}
		*num = iv;
		r->has |= bit;
		return R_OTHER;
	}
	if (t != V_STRING) {
		alertbatch_field_err(s, k, in, "must be a string");
		return R_OTHER;
	}
	if (memchr(str, '\0', n) != NULL) {
		alertbatch_field_err(s, k, in, "must not contain NUL");
		return R_OTHER;
	}
	if ((*dst = copy_str(s, str, n)) == NULL) {
		s->b->status = ALERT_BATCH_NOMEM;
		return -1;
	}
	if (k == K_ALERT_ID)
		r->alert_id_len = n;
	return R_OTHER;
}

/* An element of alert.metadata.detector: the first string is kept. */
int alertbatch_detector_elem(struct pstate *s, enum vtype t, const unsigned char *str, size_t n)
{
	struct alert_rec *r = s->cur;

	if (r == NULL)
		return R_OTHER;
	if (t != V_STRING || memchr(str, '\0', n) != NULL) {
		alertbatch_rec_err(s, "alert.metadata", "detector", "must be an array of strings");
		return R_OTHER;
	}
	if (r->detector == NULL && (r->detector = copy_str(s, str, n)) == NULL) {
		s->b->status = ALERT_BATCH_NOMEM;
		return -1;
	}
	return R_OTHER;
}

/* Whether s is an IPv4 or IPv6 address as a sensor writes one: no zone,
 * no prefix length, no host name. */
static int is_address(const char *s)
{
	unsigned char bin[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1;
}

/* Appends text[0..n) with a comma to *list, a comma-joined list that ends
 * the strings buffer (alertbatch_record_field() copied "" there last, and nothing is
 * copied between the array's start and its elements), so it grows in
 * place. Returns R_OTHER, or -1 on no room. */
static int list_append(struct pstate *s, const char *list, size_t *count, const char *text,
		       size_t n)
{
	struct alert_batch *b = s->b;

	if (b->strs + b->strs_len - 1 != list + strlen(list) || b->strs_len + n + 1 > b->strs_cap) {
		b->status = ALERT_BATCH_NOMEM;
		return -1;
	}
	b->strs_len--; /* over the NUL */
	if ((*count)++ > 0)
		b->strs[b->strs_len++] = ',';
	memcpy(b->strs + b->strs_len, text, n);
	b->strs_len += n;
	b->strs[b->strs_len++] = '\0';
	return R_OTHER;
}

/* An element of evidence.attackers: an IPv4 or IPv6 address. */
int alertbatch_attacker_elem(struct pstate *s, enum vtype t, const unsigned char *str, size_t n)
{
	struct alert_rec *r = s->cur;
	char addr[INET6_ADDRSTRLEN];

	if (r == NULL || r->attackers == NULL)
		return R_OTHER;
	if (t != V_STRING || n == 0 || n >= sizeof(addr)) {
		alertbatch_rec_err(s, "evidence", "attackers", "must be an array of IP addresses");
		return R_OTHER;
	}
	memcpy(addr, str, n);
	addr[n] = '\0';
	if (!is_address(addr)) {
		alertbatch_rec_err(s, "evidence", "attackers", "must be an array of IP addresses");
		return R_OTHER;
	}
	if (r->n_attackers == ALERT_ATTACKERS_MAX) {
		alertbatch_rec_err(s, "evidence", "attackers", "names more than 64 addresses");
		return R_OTHER;
	}
	return list_append(s, r->attackers, &r->n_attackers, addr, n);
}

/* An element of evidence.attacker_packets: what each address of
 * evidence.attackers sent itself, in its order. */
int alertbatch_attacker_packets_elem(struct pstate *s, enum vtype t, long long iv)
{
	struct alert_rec *r = s->cur;
	char num[24];
	int n;

	if (r == NULL || r->attacker_packets == NULL)
		return R_OTHER;
	if (t != V_INT || iv < 0) {
		alertbatch_rec_err(s, "evidence", "attacker_packets",
				   "must be an array of packet counts");
		return R_OTHER;
	}
	if (r->n_attacker_packets == ALERT_ATTACKERS_MAX) {
		alertbatch_rec_err(s, "evidence", "attacker_packets", "has more than 64 counts");
		return R_OTHER;
	}
	n = snprintf(num, sizeof(num), "%lld", iv);
	return list_append(s, r->attacker_packets, &r->n_attacker_packets, num, (size_t)n);
}

#define CLOCK_SKEW_US (24LL * 3600 * 1000000) /* a sensor's clock may run ahead */

/* The checks a record's fields get once it is whole: what a sensor writes
 * (docs/tower.md), so that no client can rank an address by a severity
 * of -100, name "<script>" as a source, or date an alert in year 9999. */
void alertbatch_record_check(struct pstate *s, struct alert_rec *r)
{
	int64_t ts;

	if (!(r->has & ALERT_HAS_ALERT) || !(r->has & ALERT_HAS_SIGNATURE_ID)) {
		alertbatch_rec_err(s, NULL, NULL,
				   "must be an EVE alert record with alert.signature_id");
		return;
	}
	if (r->timestamp == NULL) {
		alertbatch_rec_err(s, NULL, NULL, "needs a timestamp");
		return;
	}
	ts = alert_time_us(r->timestamp, INT64_MIN);
	if (ts == INT64_MIN)
		alertbatch_rec_err(s, NULL, "timestamp", "must be an EVE or RFC 3339 time");
	else if (ts < 0)
		alertbatch_rec_err(s, NULL, "timestamp", "is before 1970");
	else if (ts > (int64_t)time(NULL) * 1000000 + CLOCK_SKEW_US)
		alertbatch_rec_err(s, NULL, "timestamp", "is more than a day in the future");
	if (r->src_ip != NULL && !is_address(r->src_ip))
		alertbatch_rec_err(s, NULL, "src_ip", "must be an IPv4 or IPv6 address");
	if (r->dest_ip != NULL && !is_address(r->dest_ip))
		alertbatch_rec_err(s, NULL, "dest_ip", "must be an IPv4 or IPv6 address");
	if (r->signature_id < 1 || r->signature_id > 4294967295LL)
		alertbatch_rec_err(s, "alert", "signature_id", "must be 1 to 4294967295");
	if ((r->has & ALERT_HAS_SEVERITY) && (r->severity < 1 || r->severity > 255))
		alertbatch_rec_err(s, "alert", "severity", "must be 1 to 255 (1 the highest)");
}

void alert_rank_of(const struct alert_rec *r, struct alert_rank *k)
{
	int64_t prev;

	k->attackers = r->attackers;
	k->n_attackers = r->n_attackers;
	/* Counts that do not pair with the addresses are not used. */
	k->attacker_packets = r->attacker_packets != NULL &&
				      r->n_attacker_packets == r->n_attackers && r->n_attackers > 0
			      ? r->attacker_packets
			      : NULL;
	k->reflector = r->attacker_role != NULL && strcmp(r->attacker_role, "reflector") == 0;
	k->detector = r->detector != NULL ? r->detector : r->category;
	k->indicator = r->indicator_id != NULL ? r->indicator_id : r->indicator;
	k->packets = 0;
	if (r->has & ALERT_HAS_PACKETS) {
		prev = r->has & ALERT_HAS_PREVIOUS_PACKETS ? r->previous_packets : 0;
		k->packets = r->packets > prev ? r->packets - prev : 0;
	}
	k->sessions = -1;
	if (r->has & ALERT_HAS_SESSIONS) {
		if (r->has & ALERT_HAS_PREVIOUS_SESSIONS)
			prev = r->previous_sessions;
		else if ((r->has & ALERT_HAS_ESCALATION) && r->escalation > 0)
			prev = r->sessions / 10;
		else
			prev = 0;
		k->sessions = r->sessions > prev ? r->sessions - prev : 0;
	}
	k->hosts = r->has & ALERT_HAS_HOSTS ? r->distinct_hosts : -1;
	k->ports = -1;
	if (r->has & ALERT_HAS_PORTS)
		k->ports = r->distinct_ports;
	if ((r->has & ALERT_HAS_PROTOCOLS) && r->distinct_protocols > k->ports)
		k->ports = r->distinct_protocols;
	k->window_start = r->window_start != NULL ? alert_time_us(r->window_start, -1) : -1;
	k->confidence = -1;
	if (r->has & ALERT_HAS_CONFIDENCE)
		k->confidence = r->confidence > 100 ? 100 : r->confidence;
}

/* EVE's "+0000" offset to RFC 3339's "+00:00", then microseconds. */
int64_t alert_time_us(const char *ts, int64_t dflt)
{
	char buf[64];
	size_t tl;
	int64_t v;

	if (ts == NULL || (tl = strlen(ts)) + 2 > sizeof(buf))
		return dflt;
	memcpy(buf, ts, tl + 1);
	if (tl > 5 && (buf[tl - 5] == '+' || buf[tl - 5] == '-')) {
		memmove(buf + tl - 1, buf + tl - 2, 3);
		buf[tl - 2] = ':';
	}
	return report_parse_time(buf, &v) < 0 ? dflt : v;
}
