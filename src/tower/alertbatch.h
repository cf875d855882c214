/* alertbatch.h - one pass over a batch of EVE alert records.
 *
 * POST /api/v1/alerts is the tower's hottest path. Building a jansson tree
 * for every record and serializing each one again cost about 12 us of CPU per
 * alert, most of it in malloc; this reads the body once with YAJL's event
 * parser (which checks the JSON, UTF-8 included), keeps each record as the
 * sensor sent it (a span of the body) and copies out only the fields the
 * tower indexes. Nothing in the body is trusted: every field it keeps is
 * type-checked, and a record that lacks what the store needs is named. */
#ifndef YG_TOWER_ALERTBATCH_H
#define YG_TOWER_ALERTBATCH_H

#include <stddef.h>
#include <stdint.h>

#define ALERT_HAS_SRC_PORT 0x1
#define ALERT_HAS_DEST_PORT 0x2
#define ALERT_HAS_SEVERITY 0x4
#define ALERT_HAS_SIGNATURE_ID 0x8
#define ALERT_HAS_ALERT 0x10 /* an "alert" object */
/* evidence.* numbers, for the source ranking (alert_rank_of()) */
#define ALERT_HAS_PACKETS 0x20
#define ALERT_HAS_PREVIOUS_PACKETS 0x40
#define ALERT_HAS_PREVIOUS_SESSIONS 0x80
#define ALERT_HAS_ESCALATION 0x100
#define ALERT_HAS_HOSTS 0x200
#define ALERT_HAS_PORTS 0x400
#define ALERT_HAS_PROTOCOLS 0x800
#define ALERT_HAS_SESSIONS 0x1000
#define ALERT_HAS_CONFIDENCE 0x2000

#define ALERT_ATTACKERS_MAX 64 /* addresses in evidence.attackers (a sensor names up to 8) */

struct alert_rec {
	const char *text; /* the record as sent: a span of the body */
	size_t len;
	/* NUL-terminated copies, NULL when absent. */
	const char *alert_id, *timestamp, *src_ip, *dest_ip, *proto, *signature;
	size_t alert_id_len;
	int64_t src_port, dest_port, signature_id, severity;
	unsigned has; /* ALERT_HAS_* */
	/* What the source ranking reads: alert.category,
	 * alert.metadata.detector[0], and evidence.* (docs/tower.md). Strings
	 * are NULL when absent; attackers is the addresses of
	 * evidence.attackers joined by commas ("" for an empty list). */
	const char *category, *detector, *attackers, *attacker_role, *window_start;
	const char *indicator_id, *indicator;
	const char *attacker_packets; /* evidence.attacker_packets joined by commas */
	size_t n_attackers, n_attacker_packets;
	int64_t packets, previous_packets, previous_sessions, escalation;
	int64_t distinct_hosts, distinct_ports, distinct_protocols, sessions, confidence;
};

/* What one alert gives the source ranking (src/rank/rank.h), as the tower
 * stores it in the alerts row and the rollup folds it in. */
struct alert_rank {
	const char *attackers; /* NULL: no evidence.attackers, src_ip is the source;
				  "": nobody (a flood from forged sources) */
	size_t n_attackers;
	const char *attacker_packets; /* what each of attackers sent itself, joined by
					 commas, when the sensor says; NULL: split
					 packets evenly */
	int reflector;         /* evidence.attacker_role is "reflector" */
	const char *detector;  /* alert.metadata.detector[0], else alert.category, else NULL */
	const char *indicator; /* evidence.indicator_id, else evidence.indicator */
	int64_t packets;       /* packets of this alert not reported before: packets -
				  previous_packets; 0 when not given */
	int64_t sessions;      /* likewise for sessions; -1: not given */
	int64_t hosts, ports;  /* distinct_hosts; the larger of distinct_ports and
				  distinct_protocols; -1: not given */
	int64_t window_start;  /* microseconds; -1: not given or unreadable */
	int64_t confidence;    /* 0..100; -1: not given */
};

enum alert_batch_status {
	ALERT_BATCH_OK = 0,
	ALERT_BATCH_BAD_JSON,   /* not JSON at all: 400 */
	ALERT_BATCH_BAD_SHAPE,  /* not {"alerts": [...]} or [...] with 1..max records: 422 */
	ALERT_BATCH_BAD_RECORD, /* some records are not valid: 422 with errs[] */
	ALERT_BATCH_NOMEM,
};

#define ALERT_BATCH_ERRS_MAX 20

struct alert_batch_err {
	char field[48];  /* e.g. "alerts[3].alert.signature_id" */
	char reason[80];
};

struct alert_batch {
	struct alert_rec *recs;
	size_t n;
	enum alert_batch_status status;
	char msg[192]; /* for BAD_JSON and BAD_SHAPE */
	struct alert_batch_err errs[ALERT_BATCH_ERRS_MAX];
	size_t nerrs;
	/* private */
	size_t cap;
	char *strs;
	size_t strs_len, strs_cap;
};

/* Parses body[0..len) as {"alerts": [records]} or [records] with at most
 * max records. Returns the status (also in b->status); b is always to be
 * released with alert_batch_free(). The records point into body, which must
 * outlive b. */
enum alert_batch_status alert_batch_parse(const char *body, size_t len, size_t max,
					  struct alert_batch *b);
void alert_batch_free(struct alert_batch *b);

/* The ranking's view of r: see struct alert_rank. The strings point into
 * r (and live as long as its batch). An escalation (evidence.escalation
 * above 0) reports packets and sessions cumulated over its chain; what the
 * chain's earlier alert reported (previous_packets, previous_sessions) is
 * taken off, so that a chain counts once. A sensor from before
 * previous_sessions is taken to have reported a tenth (the step at which a
 * chain escalates). Pure; thread-safe. */
void alert_rank_of(const struct alert_rec *r, struct alert_rank *out);

/* An EVE timestamp ("2026-11-22T00:00:00.000000+0000", or RFC 3339) in
 * microseconds since the epoch; dflt when it cannot be read. */
int64_t alert_time_us(const char *ts, int64_t dflt);

#endif
