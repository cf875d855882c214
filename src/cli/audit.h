/* audit.h - the parts of `yagura audit verify` shared by audit_cmd.c (the
 * command, checkpoints, proofs from a tower) and audit_store.c (the
 * store: proofs from it, and the walk that rebuilds the tree from its
 * entries). Internal to the CLI. */
#ifndef YAGURA_CLI_AUDIT_H
#define YAGURA_CLI_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "store/store.h"
#include "tlog/tlog.h"

#define AUDIT_WHO      "audit verify"
#define AUDIT_SHOW_MAX 100 /* findings printed; the rest are counted */
#define AUDIT_NO_TREE  (-100) /* the log holds no tree as big as a proof needs */

/* A checkpoint, as a file gave it (or the store), opened with the key. */
struct audit_cp {
	const char *label; /* the file's name, for messages */
	char *buf;	   /* the note's bytes; owned, freed by audit_cp_free */
	size_t len;
	struct tlog_note note;
	struct tlog_checkpoint c; /* borrows buf */
};

struct audit_rows;

/* One run of audit verify. */
struct audit {
	struct tlog_verifier key;
	char key_text[TLOG_KEY_TEXT_MAX];
	unsigned long findings; /* failed checks, each a line on stderr */
	char first[512];	/* the first finding, for the summary */

	/* With --store: the store, one connection, and the tree's size and
	 * the last seq placed as log_state said when it was opened. */
	struct store *st;
	struct store_conn *c;
	uint64_t size;
	int64_t seq;
	struct audit_rows *rows; /* the rows the entries name (audit_rows.c) */
};

/* Counts a finding and prints it on stderr, one line, "audit verify: ..."
 * (the first AUDIT_SHOW_MAX of them; the summary says how many). */
void audit_finding(struct audit *a, const char *fmt, ...) YG_PRINTF(2, 3);

void audit_cp_free(struct audit_cp *cp);

/* Opens the store at url without migrating it (a SQLite file must exist)
 * and reads how far its log is placed. Returns EXIT_OK, EXIT_OUTPUT when
 * it cannot be reached, EXIT_INPUT when it holds no log; said why. */
int audit_store_open(struct audit *a, const char *url);
void audit_store_close(struct audit *a);

/* The store's latest checkpoint note (caller frees *note). EXIT_OK, or
 * EXIT_INPUT when there is none (said why). */
int audit_store_latest(struct audit *a, char **note, size_t *len);

/* The consistency proof from the tree of size m to that of size n, 0 < m
 * < n, computed from the stored hashes. EXIT_OK; AUDIT_NO_TREE when the
 * store's tree is smaller than n; EXIT_INPUT (a finding) when a stored
 * hash it needs is missing; EXIT_OUTPUT when the store fails (said why). */
int audit_store_consistency(struct audit *a, uint64_t m, uint64_t n, struct tlog_proof *p);

/* The entry at index (*entry, *len: the caller frees) and its inclusion
 * proof in the tree of size n. Results as audit_store_consistency(); a
 * leaf or entry missing is a finding too. */
int audit_store_inclusion(struct audit *a, uint64_t index, uint64_t n, char **entry, size_t *len,
			  struct tlog_proof *p);

/* What the walk checked, for the summary. */
struct audit_walk {
	uint64_t leaves, hashes;
	uint64_t rows; /* rows hashed again and found as their entries say, or not */
};

/* Notes the rows an entry names (its "row" and "rows" lines); leaf is
 * UINT64_MAX for an entry not yet placed. YG_ENOMEM. */
int audit_rows_note(struct audit *a, const char *entry, size_t len, uint64_t leaf,
		    int64_t seq) YG_MUST_CHECK;
/* Reads every table whose rows the log vouches for and hashes each row
 * again: a finding for a row that differs from its latest entry, a row no
 * entry names, and a row an entry names that is gone. 0 or the store's
 * error. */
int audit_rows_check(struct audit *a, struct audit_walk *w) YG_MUST_CHECK;
void audit_rows_free(struct audit *a);

/* Rebuilds the tree from the store's entries, in pages ordered by leaf
 * index, keeping only its right edge, and compares every leaf, entry and
 * stored hash, and the root at cp's size with cp's root: a finding for
 * each place it breaks. Returns EXIT_OK when the walk ran to its end
 * (findings or not), EXIT_OUTPUT when the store failed under it. */
int audit_store_walk(struct audit *a, const struct audit_cp *cp, struct audit_walk *w);

#endif
