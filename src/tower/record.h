/* record.h - the rows a change stores, as the transparency log records
 * them (issue 12).
 *
 * A log entry names each row its change wrote, with a hash of the row as
 * stored: the tower hashes what the store gave back (RETURNING) or the
 * values it bound for a bulk insert, and `yagura audit verify --store`
 * hashes the row it reads now. The same definitions and the same hashing
 * serve both, so that a row changed, removed or added behind the tower's
 * back is named. Rows a later change rewrites (a report's state, a revoked
 * token) are checked against the latest entry that names them.
 *
 * A row's hash is SHA-256 over its table's name and each column in the
 * order defined here, written injectively:
 *
 *   <table> '\n' then, a column, <name> '=' ( 'n' | 'i' <decimal> |
 *   't' <byte length> ':' <bytes> ) ';'
 *
 * A set of rows sharing a key (an asset's address ranges, a batch's
 * alerts) is hashed as SHA-256("set " <table> '\n' || the distinct row
 * hashes in ascending byte order): no engine's collation decides it. Its
 * rows are hashed without the key they share, which is the set's: so a
 * sensor's alerts are hashed before their batch has an id, outside the
 * transaction that stores them. */
#ifndef YG_TOWER_RECORD_H
#define YG_TOWER_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "tlog/tlog.h"

enum rec_table {
	REC_ORGS,
	REC_USERS,
	REC_TOKENS,
	REC_REPORTS,
	REC_REPORT_VERSIONS,
	REC_ASSETS,
	REC_ASSET_ADDRESSES,
	REC_ALERT_BATCHES,
	REC_ALERTS,
	REC_CASES,
	REC_CASE_EVIDENCE,
	REC_CASE_DECISIONS,
	REC_AUTHORIZATIONS,
	REC_AUTHORIZATION_DECISIONS,
	REC_TAXII_STATUS,
	REC_STIX_OBJECTS,
	REC_STIX_DELETIONS,
	REC_USER_PASSWORDS,
	REC_USER_PREFERENCES,
	REC_SESSIONS,
	REC_TAXII_COLLECTIONS,
	REC_TAXII_ACCESS,
	REC_USER_CERTIFICATES,
	REC_TABLES
};

#define REC_COLS_MAX 32

struct rec_def {
	const char *table;
	const char *cols;  /* the columns hashed, comma-separated, in order */
	const char *types; /* a letter a column: 'i' integer, 't' text */
	const char *key;   /* the key columns, comma-separated: in cols, but
			      for a set, whose one key column is not */
	unsigned nkey;	   /* 1 or 2 */
	bool set;	   /* many rows share the key: hashed as a set */
};

extern const struct rec_def rec_defs[REC_TABLES];

/* The table named name[0..len-1], or REC_TABLES. */
enum rec_table rec_table_named(const char *name, size_t len);

/* What a SELECT or RETURNING of t's rows lists: its columns, and a set's
 * key after them. Its length, or YG_ELIMIT. */
int rec_select(enum rec_table t, char *buf, size_t cap) YG_MUST_CHECK;

/* Row i of r, whose columns are rec_select()'s: its hash and its key.
 * YG_EINVAL when r has other columns. */
int rec_row_res(enum rec_table t, const struct store_res *r, size_t i, struct tlog_hash *h,
		int64_t key[2]) YG_MUST_CHECK;
/* The hash of a row of t from the values bound for it, in t's column
 * order (a set's key not among them). */
int rec_row_params(enum rec_table t, const struct store_param *v, struct tlog_hash *h) YG_MUST_CHECK;

struct rec_set {
	struct tlog_hash *h;
	size_t n, cap;
};

int rec_set_add(struct rec_set *s, const struct tlog_hash *h) YG_MUST_CHECK;
/* Sorts s, drops repeats and hashes it; *count: its distinct rows. */
void rec_set_hash(enum rec_table t, struct rec_set *s, struct tlog_hash *out, uint64_t *count);
void rec_set_free(struct rec_set *s);

/* ---- the lines of a log entry that name rows ----------------------------
 *
 *   row <table> <key>[ <key2>] <base64 hash>
 *   rows <table> <key> <count> <base64 hash>
 *   erase <table> <from> <to> <count>
 *
 * An erase line (retention, retention.c) says that every row of the table
 * whose first key column lies in [from, to] is gone by design, count rows
 * in all: what earlier entries named there is not looked for again.
 */
struct rec_ref {
	enum rec_table t;
	int64_t key[2];	/* erase: from, to */
	uint64_t count; /* a set's rows, or the rows erased; 0 for a row */
	struct tlog_hash h;
	bool erase;
};

#define REC_LINE_MAX 160

/* Writes ref's line, with its '\n' and a NUL; its length or YG_ELIMIT. */
int rec_ref_format(const struct rec_ref *ref, char *buf, size_t cap) YG_MUST_CHECK;
/* Parses one line (without its '\n'): 1 and *ref for a row line, 0 for a
 * line of another kind, YG_EFORMAT for a malformed row line. */
int rec_ref_parse(const char *line, size_t len, struct rec_ref *ref) YG_MUST_CHECK;

#endif
