/* alertbatch_int.h - private to the alert batch parser: alertbatch.c
 * follows YAJL's events through the body and places each value by where it
 * sits; alertbatch_record.c reads a record's fields, checks them and gives
 * the ranking's view of a record. */
#ifndef YG_TOWER_ALERTBATCH_INT_H
#define YG_TOWER_ALERTBATCH_INT_H

#include <stddef.h>
#include <stdint.h>

#include <yajl_parse.h>

#include "tower/alertbatch.h"

enum role {
	R_NONE,
	R_OTHER,
	R_TOP,
	R_BATCH,
	R_RECORD,
	R_ALERT,
	R_METADATA,  /* alert.metadata */
	R_DETECTOR,  /* alert.metadata.detector, an array */
	R_EVIDENCE,  /* evidence */
	R_ATTACKERS, /* evidence.attackers, an array */
	R_ATTACKER_PACKETS, /* evidence.attacker_packets, an array */
};

/* Keys that mean something, grouped by the object they sit in (lookup()
 * takes a range); a bit each for duplicate detection. */
enum key {
	K_NONE = 0,
	K_ALERTS,
	/* a record */
	K_ALERT_ID,
	K_TIMESTAMP,
	K_SRC_IP,
	K_SRC_PORT,
	K_DEST_IP,
	K_DEST_PORT,
	K_PROTO,
	K_ALERT,
	K_EVIDENCE,
	/* its "alert" */
	K_SIGNATURE_ID,
	K_SIGNATURE,
	K_SEVERITY,
	K_CATEGORY,
	K_METADATA,
	/* alert.metadata */
	K_DETECTOR,
	/* evidence */
	K_ATTACKERS,
	K_ATTACKER_PACKETS,
	K_ATTACKER_ROLE,
	K_WINDOW_START,
	K_INDICATOR_ID,
	K_INDICATOR,
	K_PACKETS,
	K_PREVIOUS_PACKETS,
	K_PREVIOUS_SESSIONS,
	K_ESCALATION,
	K_DISTINCT_HOSTS,
	K_DISTINCT_PORTS,
	K_DISTINCT_PROTOCOLS,
	K_SESSIONS,
	K_CONFIDENCE,
	K_COUNT
};

/* The name of each key of a record, its "alert", alert.metadata and
 * evidence, by enum key. */
extern const char *const alertbatch_key_names[K_COUNT];

_Static_assert(K_COUNT <= 64, "a bit per key in pstate.seen");

#define ROLE_DEPTH 8 /* roles are kept this deep; below, everything is R_OTHER */

enum vtype { V_NULL, V_BOOL, V_INT, V_DOUBLE, V_STRING, V_MAP, V_ARRAY };

struct pstate {
	yajl_handle h;
	const char *body;
	size_t len, max;
	struct alert_batch *b;
	size_t depth;
	unsigned char role[ROLE_DEPTH + 1];
	unsigned char key[ROLE_DEPTH + 1];
	int batch_seen, alerts_key_seen;
	struct alert_rec *cur; /* the record being read, or NULL */
	size_t cur_index;
	uint64_t seen; /* keys seen in the current record, 1 << enum key */
};

/* The record side (alertbatch_record.c), called by the parser; each is
 * described where it is defined. */

void alertbatch_rec_err(struct pstate *s, const char *sub, const char *field, const char *reason);
void alertbatch_field_err(struct pstate *s, enum key k, enum role in, const char *reason);
int alertbatch_record_field(struct pstate *s, enum key k, enum vtype t, const unsigned char *str,
			    size_t n, long long iv, enum role in);
int alertbatch_detector_elem(struct pstate *s, enum vtype t, const unsigned char *str, size_t n);
int alertbatch_attacker_elem(struct pstate *s, enum vtype t, const unsigned char *str, size_t n);
int alertbatch_attacker_packets_elem(struct pstate *s, enum vtype t, long long iv);
void alertbatch_record_check(struct pstate *s, struct alert_rec *r);

#endif
