/* tlog.h - the transparency log's pure core: RFC 6962 / RFC 9162 Merkle
 * hashing over the stored-hash layout of Go's golang.org/x/mod/sumdb/tlog,
 * inclusion and consistency proofs, C2SP tlog-tiles paths and entry bundles,
 * and C2SP signed notes: checkpoints, Ed25519 log signatures, Ed25519
 * cosignatures (tlog-cosignature, type 0x04) and their key texts.
 *
 * No I/O, no SQL, no HTTP: hashes the caller stores come in through a
 * reader callback, text comes in as bytes. Nothing here keeps global state
 * except libsodium's own initialisation; every function is thread-safe on
 * distinct objects.
 *
 * Errors are yg_err codes (base/err.h), used with these meanings:
 *   YG_EINVAL    an argument is out of range (index >= size, size too big)
 *   YG_EFORMAT   input text or bytes are malformed
 *   YG_ETRUNC    an entry bundle ends inside an entry
 *   YG_ELIMIT    input exceeds a documented limit, or an output buffer is small
 *   YG_ENOTFOUND a note carries no signature by any of the keys given
 *   YG_ECONFLICT a cryptographic check failed: a proof that does not lead to
 *                the root, a signature by a known key that does not verify
 *   YG_ENOMEM    an allocation failed (cosignatures only)
 * and whatever negative code a reader callback returns, passed through. */
#ifndef YAGURA_TLOG_TLOG_H
#define YAGURA_TLOG_TLOG_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/jbuf.h"

#define TLOG_HASH_LEN     32
#define TLOG_HASH_B64_LEN 44 /* base64 of a hash, with its one '=' */

/* Tree sizes and leaf indexes stay below 2^62, so that every stored-hash
 * index fits a signed 64-bit database column. */
#define TLOG_MAX_SIZE ((uint64_t)1 << 62)

struct tlog_hash {
	uint8_t b[TLOG_HASH_LEN];
};

/* ---- Hashing (RFC 6962 §2.1) ------------------------------------------ */

/* SHA-256(0x00 || entry). */
void tlog_leaf_hash(const void *entry, size_t len, struct tlog_hash *out);
/* SHA-256(0x01 || left || right). out may alias left or right. */
void tlog_node_hash(const struct tlog_hash *left, const struct tlog_hash *right,
                    struct tlog_hash *out);
/* The root of the empty tree: SHA-256 of nothing. */
void tlog_empty_hash(struct tlog_hash *out);

/* Standard base64 with padding: writes 44 characters and a NUL. */
void tlog_hash_to_b64(const struct tlog_hash *h, char out[TLOG_HASH_B64_LEN + 1]);
/* Parses exactly 44 characters of canonical base64; YG_EFORMAT otherwise. */
int tlog_hash_from_b64(const char *s, size_t len, struct tlog_hash *h) YG_MUST_CHECK;

/* ---- Stored hashes ----------------------------------------------------
 * Every hash of a complete subtree is stored once. The hash at tree level L
 * (leaves are level 0) covering leaves [n*2^L, (n+1)*2^L) has the stored
 * index tlog_stored_index(L, n): leaf n's hash is stored, followed by the
 * hashes of the subtrees it completes, bottom up, so a log of n leaves holds
 * exactly tlog_stored_count(n) hashes at indexes 0..count-1. Same numbering
 * as Go's StoredHashIndex, so tables written by either agree. */

/* For level 0..62 and subtrees within TLOG_MAX_SIZE leaves; beyond, the
 * result is meaningless (but defined). */
uint64_t tlog_stored_index(int level, uint64_t n);
/* The inverse of tlog_stored_index(). */
void tlog_stored_split(uint64_t index, int *level, uint64_t *n);
/* The number of stored hashes of a tree with n leaves. */
uint64_t tlog_stored_count(uint64_t n);

/* Reads the stored hashes at indexes[0..count-1] into out[0..count-1].
 * The core asks for all it needs in one call, indexes sorted ascending and
 * never more than TLOG_READ_MAX. Returns 0, or a negative code that the
 * caller of the core gets back unchanged. */
#define TLOG_READ_MAX 256
typedef int (*tlog_read_fn)(void *arg, const uint64_t *indexes, size_t count,
                            struct tlog_hash *out);

struct tlog_reader {
	tlog_read_fn read;
	void *arg;
};

/* The most hashes one leaf adds: itself and one per level it completes. */
#define TLOG_MAX_STORED 64

/* The hashes to store when leaf n (0-based, the log holding n leaves
 * before it) with hash leaf is appended: out[0..*count-1], to be written at
 * tlog_stored_index(0, n) onwards. Reads the up to log2(n) hashes of the
 * left siblings through r, in one call. YG_EINVAL if n + 1 would reach
 * TLOG_MAX_SIZE. */
int tlog_stored_hashes(uint64_t n, const struct tlog_hash *leaf, const struct tlog_reader *r,
                       struct tlog_hash out[TLOG_MAX_STORED], size_t *count) YG_MUST_CHECK;

/* The right edge of a tree: the roots of its complete subtrees, one per set
 * bit of its size. With it, appending needs no reads at all. Caller-owned
 * plain storage (about 2 KiB); copy it to snapshot it. */
struct tlog_edge {
	uint64_t size;
	struct tlog_hash root[TLOG_MAX_STORED]; /* root[l] valid iff bit l of size */
};

/* An empty tree. */
void tlog_edge_init(struct tlog_edge *e);
/* The edge of the tree of the given size, read once from stored hashes
 * (popcount(size) reads, in one call). e is unchanged on failure. */
int tlog_edge_load(struct tlog_edge *e, uint64_t size, const struct tlog_reader *r) YG_MUST_CHECK;
/* Appends a leaf; out[0..*count-1] receive the stored hashes, exactly those
 * tlog_stored_hashes() would return. YG_EINVAL if the size would reach
 * TLOG_MAX_SIZE; e is unchanged then. */
int tlog_edge_append(struct tlog_edge *e, const struct tlog_hash *leaf,
                     struct tlog_hash out[TLOG_MAX_STORED], size_t *count) YG_MUST_CHECK;
/* The tree hash (root) of the edge's tree; the empty hash for size 0. */
void tlog_edge_root(const struct tlog_edge *e, struct tlog_hash *root);

/* ---- Tree hashes and proofs (RFC 9162 §2.1.3, §2.1.4) -----------------
 * Each reads at most TLOG_READ_MAX stored hashes in one call; O(log n). */

/* Longest proof for a tree below TLOG_MAX_SIZE. */
#define TLOG_MAX_PROOF 64

struct tlog_proof {
	size_t len;
	struct tlog_hash h[TLOG_MAX_PROOF];
};

/* The root of the tree of size n, from stored hashes. */
int tlog_tree_hash(uint64_t n, const struct tlog_reader *r, struct tlog_hash *root) YG_MUST_CHECK;

/* The inclusion proof (audit path) of leaf index in the tree of size, in
 * RFC 9162 order (leaf level first). YG_EINVAL unless index < size. */
int tlog_prove_inclusion(uint64_t size, uint64_t index, const struct tlog_reader *r,
                         struct tlog_proof *p) YG_MUST_CHECK;
/* Checks that p proves leaf (a leaf hash) is entry index of the tree of
 * size with the given root. 0, YG_EINVAL (index >= size or size too big),
 * YG_EFORMAT (proof of the wrong length) or YG_ECONFLICT (wrong hashes). */
int tlog_check_inclusion(const struct tlog_proof *p, uint64_t size, const struct tlog_hash *root,
                         uint64_t index, const struct tlog_hash *leaf) YG_MUST_CHECK;

/* The consistency proof from the tree of size m to the tree of size n,
 * 0 < m <= n; empty when m == n. */
int tlog_prove_consistency(uint64_t n, uint64_t m, const struct tlog_reader *r,
                           struct tlog_proof *p) YG_MUST_CHECK;
/* Checks that p proves the tree (m, old_root) is a prefix of the tree
 * (n, new_root). Same results as tlog_check_inclusion(); m == 0 is
 * YG_EINVAL, as a consistency proof from the empty tree proves nothing. */
int tlog_check_consistency(const struct tlog_proof *p, uint64_t n, const struct tlog_hash *new_root,
                           uint64_t m, const struct tlog_hash *old_root) YG_MUST_CHECK;

/* ---- Tiles (C2SP tlog-tiles: height 8, 256 hashes a full tile) --------- */

#define TLOG_TILE_HEIGHT   8
#define TLOG_TILE_WIDTH    256
#define TLOG_TILE_ENTRIES  (-1) /* the level of an entry bundle */
#define TLOG_TILE_PATH_MAX 80   /* longest path and its NUL */

/* Tile (level L >= 0, index N, width W) holds the hashes at tree level 8L
 * of subtrees N*256 .. N*256+W-1; an entry bundle (level -1) holds entries
 * N*256 .. N*256+W-1. W == 256 for a full tile. */
struct tlog_tile {
	int level; /* 0..63, or TLOG_TILE_ENTRIES */
	uint64_t n;
	unsigned width; /* 1..256 */
};

/* Writes "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]" and a NUL.
 * Returns its length, YG_EINVAL for a tile out of range, YG_ELIMIT if cap
 * is too small. */
int tlog_tile_path(const struct tlog_tile *t, char *buf, size_t cap) YG_MUST_CHECK;
/* Parses a path as tlog_tile_path() writes it, and only that: canonical
 * numbers, no leading zeros, no stray bytes. 0 or YG_EFORMAT. */
int tlog_tile_parse(const char *path, size_t len, struct tlog_tile *t) YG_MUST_CHECK;
/* 1 if every hash (or entry) of t exists in a tree of the given size, so the
 * tile can be served from it; 0 otherwise. */
int tlog_tile_in_tree(const struct tlog_tile *t, uint64_t size);
/* The stored indexes of the tile's hashes, out[0..t->width-1], ascending.
 * For an entry bundle, those of the leaf hashes. YG_EINVAL if out of range. */
int tlog_tile_indexes(const struct tlog_tile *t, uint64_t out[TLOG_TILE_WIDTH]) YG_MUST_CHECK;
/* The narrowest hash tile holding, or able to recompute, stored hash index
 * (as Go's TileForIndex with height 8). */
void tlog_tile_for_index(uint64_t index, struct tlog_tile *t);
/* The stored hash index, recomputed from t's data (width*32 bytes; a tile
 * at least as wide as tlog_tile_for_index() gives). YG_EINVAL if index is
 * not in t, YG_EFORMAT if data is too short. */
int tlog_tile_hash_at(const struct tlog_tile *t, const uint8_t *data, size_t len, uint64_t index,
                      struct tlog_hash *out) YG_MUST_CHECK;

/* Entry bundles: each entry as a big-endian uint16 length and its bytes.
 * Appends one entry to b; YG_EINVAL for an entry over 65535 bytes, or b's
 * sticky error. */
#define TLOG_ENTRY_MAX 65535
int tlog_bundle_put(struct jbuf *b, const void *entry, size_t len) YG_MUST_CHECK;
/* Reads the next entry of a bundle at *p (len bytes left), borrowing it:
 * returns 1 with the entry in *entry and *elen, *p and *len advanced; 0 at
 * the end; or YG_ETRUNC, nothing advanced, if the bytes end inside an entry. */
int tlog_bundle_next(const uint8_t **p, size_t *len, const uint8_t **entry, size_t *elen);

/* ---- Keys (C2SP signed-note) -------------------------------------------
 * Key names are 1..TLOG_NAME_MAX bytes of UTF-8 with no spaces (Unicode
 * White_Space), no '+' and no control characters. Two signature types:
 * 0x01, Ed25519 note signatures (the log's), and 0x04, timestamped Ed25519
 * cosignatures (a witness's). Key ID = SHA-256(name || '\n' || type ||
 * public key)[:4], big-endian. */

#define TLOG_NAME_MAX        255
#define TLOG_KEY_TEXT_MAX    384 /* longest key text and its NUL */
#define TLOG_SIG_ED25519     0x01
#define TLOG_SIG_COSIGNATURE 0x04

struct tlog_verifier {
	char name[TLOG_NAME_MAX + 1]; /* NUL-terminated */
	size_t name_len;
	uint32_t id;
	uint8_t type; /* TLOG_SIG_ED25519 or TLOG_SIG_COSIGNATURE */
	uint8_t pub[32];
};

/* Holds a secret: wipe it with tlog_signer_wipe(). */
struct tlog_signer {
	char name[TLOG_NAME_MAX + 1];
	size_t name_len;
	uint32_t id;
	uint8_t type;
	uint8_t pub[32];
	uint8_t sk[64]; /* libsodium's seed || public key */
};

/* Parses "name+hex(id)+base64(type||pub)"; checks the id against the key.
 * YG_EFORMAT for anything else, including unknown types. */
int tlog_vkey_parse(const char *s, size_t len, struct tlog_verifier *v) YG_MUST_CHECK;
/* Writes the verifier key text and a NUL; its length or YG_ELIMIT. */
int tlog_vkey_format(const struct tlog_verifier *v, char *buf, size_t cap) YG_MUST_CHECK;

/* A new key pair from libsodium's random source; YG_EFORMAT for a bad name,
 * YG_EINVAL for an unknown type, YG_ENOMEM if libsodium cannot start. */
int tlog_signer_generate(const char *name, size_t len, uint8_t type,
                         struct tlog_signer *s) YG_MUST_CHECK;
/* The key pair of a 32-byte Ed25519 seed (RFC 8032 private key). */
int tlog_signer_from_seed(const char *name, size_t len, uint8_t type, const uint8_t seed[32],
                          struct tlog_signer *s) YG_MUST_CHECK;
/* Parses "PRIVATE+KEY+name+hex(id)+base64(type||seed)", as Go's note
 * package writes it (type 0x01; 0x04 is accepted for witness keys).
 * Checks the id against the derived public key. */
int tlog_skey_parse(const char *s, size_t len, struct tlog_signer *k) YG_MUST_CHECK;
/* Writes the signer key text and a NUL; its length or YG_ELIMIT. The text
 * is the secret: wipe buf after use. */
int tlog_skey_format(const struct tlog_signer *k, char *buf, size_t cap) YG_MUST_CHECK;
/* The public half. */
void tlog_signer_verifier(const struct tlog_signer *k, struct tlog_verifier *v);
void tlog_signer_wipe(struct tlog_signer *k);

/* ---- Signed notes --------------------------------------------------------
 * A note is text ending in '\n', a blank line, and signature lines
 * "— name base64(id || signature)\n". */

#define TLOG_NOTE_MAX      (256 * 1024) /* bytes of a whole note */
#define TLOG_NOTE_MAX_SIGS 100

struct tlog_note_sig {
	const char *name; /* borrowed from the note */
	size_t name_len;
	uint32_t id;
	int key;       /* index in the keys given that verified it, or -1 */
	uint64_t time; /* a verified cosignature's timestamp, else 0 */
};

struct tlog_note {
	const char *text; /* borrowed: the signed text, with its final '\n' */
	size_t text_len;
	size_t nsigs;
	size_t verified; /* how many sigs[] a known key verified */
	struct tlog_note_sig sigs[TLOG_NOTE_MAX_SIGS];
};

/* Parses msg and verifies every signature whose name and id match one of
 * keys[0..nkeys-1]; signatures by other keys are listed with key -1.
 * Returns 0 if at least one verified and none failed; YG_ECONFLICT if a
 * known key's signature fails (the whole note is rejected); YG_ENOTFOUND if
 * no known key signed (n is filled, for a caller that wants to say who did);
 * YG_EFORMAT if msg is not a well-formed note (valid UTF-8, no control
 * characters but '\n'); YG_ELIMIT over TLOG_NOTE_MAX bytes or
 * TLOG_NOTE_MAX_SIGS signatures; YG_EINVAL if two different keys given
 * share the name and id of a signature. n borrows msg.
 * Any known key's signature counts, a witness's cosignature too: a caller
 * that needs the log's own signature looks for its index in sigs[].key.
 * Unlike Go's note.Open, a repeated signature by a known key is verified
 * again, not skipped, so a bad copy rejects the note. */
int tlog_note_open(const char *msg, size_t len, const struct tlog_verifier *keys, size_t nkeys,
                   struct tlog_note *n) YG_MUST_CHECK;

/* Appends one signature line by k over text (which must be valid note text
 * ending in '\n') to out. A TLOG_SIG_COSIGNATURE key signs
 * "cosignature/v1\ntime <time>\n" || text and puts time in the signature;
 * time is ignored for TLOG_SIG_ED25519. Returns 0, YG_EFORMAT for bad
 * text, YG_EINVAL for a time over 2^63-1, YG_ENOMEM, or out's error. */
int tlog_note_sigline(const char *text, size_t len, const struct tlog_signer *k, uint64_t time,
                      struct jbuf *out) YG_MUST_CHECK;
/* Appends a whole note to out: text, the blank line and k's signature. */
int tlog_note_sign(const char *text, size_t len, const struct tlog_signer *k, uint64_t time,
                   struct jbuf *out) YG_MUST_CHECK;

/* ---- Checkpoints (C2SP tlog-checkpoint) --------------------------------- */

struct tlog_checkpoint {
	const char *origin; /* borrowed; no '\n' */
	size_t origin_len;
	uint64_t size;
	struct tlog_hash root;
	const char *ext; /* borrowed: extension lines, each ending in '\n'; may be empty */
	size_t ext_len;
};

/* Appends the checkpoint's note text to out. YG_EFORMAT for an empty or
 * multi-line origin, invalid UTF-8 or control characters, or malformed
 * extension lines; YG_EINVAL for a size of 2^63 or more. */
int tlog_checkpoint_format(const struct tlog_checkpoint *c, struct jbuf *out) YG_MUST_CHECK;
/* Parses checkpoint text (a note's text): origin, canonical decimal size,
 * 44-character base64 root, then non-empty extension lines. c borrows
 * text. YG_EFORMAT for anything else. */
int tlog_checkpoint_parse(const char *text, size_t len, struct tlog_checkpoint *c) YG_MUST_CHECK;
/* tlog_note_open() and then tlog_checkpoint_parse() of its text (the same
 * caveat: check which key signed). */
int tlog_checkpoint_open(const char *msg, size_t len, const struct tlog_verifier *keys,
                         size_t nkeys, struct tlog_note *n,
                         struct tlog_checkpoint *c) YG_MUST_CHECK;

#endif
