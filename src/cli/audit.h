/* audit.h - the parts of `yagura audit` shared by audit_cmd.c (verify),
 * audit_common.c (the key, checkpoints, proofs from a tower),
 * audit_store.c (the store: proofs from it, and the walk that rebuilds
 * the tree from its entries) and audit_watch.c (the witness). Internal to
 * the CLI. */
#ifndef YAGURA_CLI_AUDIT_H
#define YAGURA_CLI_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/log.h"
#include "cli/client.h"
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

/* One run of audit verify (or one round of audit watch). */
struct audit {
	const char *who; /* starts each message; NULL: AUDIT_WHO */
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
	int tree_only;		 /* --tree-only: the log's tables, not the rows */
};

/* Counts a finding and prints it on stderr, one line, "audit verify: ..."
 * (the first AUDIT_SHOW_MAX of them; the summary says how many). */
void audit_finding(struct audit *a, const char *fmt, ...) YG_PRINTF(2, 3);

void audit_cp_free(struct audit_cp *cp);

/* Reads path whole, at most max bytes, into *buf (NUL-terminated; the
 * caller frees). 0, or -1 having said why ("who: opt path: ..."). */
int audit_read_file(const char *who, const char *opt, const char *path, size_t max, char **buf,
		    size_t *len);

/* A verifier key of either type, given as text or @FILE (opt names it in
 * messages). 0, or -1 having said why. */
int audit_vkey_read(const char *who, const char *opt, const char *arg, struct tlog_verifier *v);

/* --key: the log's verifier key (type 0x01) into a->key and a->key_text.
 * 0, or -1 having said why. */
int audit_key_parse(struct audit *a, const char *arg);

/* Opens cp->buf (cp->len bytes) with a->key, and checks that its origin
 * is the key's name: EXIT_OK, or a finding (naming cp->label, and who
 * signed it when the key did not) and EXIT_INPUT. */
int audit_cp_open(struct audit *a, struct audit_cp *cp);
/* Reads the checkpoint file path (the option opt) and opens it: EXIT_OK,
 * EXIT_USAGE when it cannot be read, EXIT_INPUT (a finding). */
int audit_cp_load(struct audit *a, const char *opt, const char *path, struct audit_cp *cp);

/* A tower read through its JSON routes with the caller's token, read
 * from --token-file or $YAGURA_TOKEN on first use. */
struct audit_tower {
	const char *who;
	struct client_opts o;
	const char *token; /* NULL until read */
	char tok[256];
};

void audit_tower_init(struct audit_tower *tw, const char *who);
/* The token (read once); NULL having said why. */
const char *audit_tower_token(struct audit_tower *tw);
/* GET path: EXIT_OK and *answer (a JSON object; the caller decrefs),
 * AUDIT_NO_TREE when the tower answers that its log has no tree that big,
 * or the exit status of a refusal (said why). */
int audit_tower_get(struct audit_tower *tw, const char *path, json_t **answer);
/* An array of base64 hashes as a proof; 0 or -1. */
int audit_proof_from_json(const json_t *arr, struct tlog_proof *p);
/* The tower's consistency proof from the tree of size m to that of size
 * n, unchecked: results as audit_tower_get(). */
int audit_tower_consistency(struct audit_tower *tw, uint64_t m, uint64_t n, struct tlog_proof *p);

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

/* `audit watch` and `audit witness-key` (audit_watch.c): argv from
 * "audit"; they return the exit status. */
int audit_watch(int argc, char **argv);
int audit_witness_key(int argc, char **argv);
void audit_watch_usage(FILE *out);

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
