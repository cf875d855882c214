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

struct alert_rec {
	const char *text; /* the record as sent: a span of the body */
	size_t len;
	/* NUL-terminated copies, NULL when absent. */
	const char *alert_id, *timestamp, *src_ip, *dest_ip, *proto, *signature;
	size_t alert_id_len;
	int64_t src_port, dest_port, signature_id, severity;
	unsigned has; /* ALERT_HAS_* */
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

#endif
