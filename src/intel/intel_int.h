/* intel_int.h - the intel store's internals, shared by its .c files only.
 *
 * A snapshot holds three tables over one metadata array and one string pool:
 *
 * - IPv4 and IPv6: every prefix set flattened into disjoint address ranges,
 *   each mapped to the most specific entry covering it (DXR-style). An index
 *   on the top `bits` bits of the address holds either that entry directly
 *   (the whole slice of address space maps to one entry, or to none) or the
 *   offset of a chunk: the ranges that start inside the slice, searched
 *   linearly or by bisection. `bits` grows with the number of prefixes
 *   (about log2 of it, 8 to 24) so that chunks stay a cache line or two
 *   long while the index costs about four bytes per prefix.
 * - Domains: an open-addressing hash set of the names, probed once per
 *   label suffix of the queried name, longest first. The hash runs right to
 *   left, so one pass over the name yields the hash of every suffix.
 *
 * Entries with the same prefix or name are chained most preferred first
 * (higher confidence, then loaded later), and the last entry of a chain
 * links to the chain of the next less specific prefix, so that a lookup
 * whose entry expired walks on to the one it would otherwise have found.
 *
 * Metadata is per indicator (STIX, MISP) or per list file: a plain list of
 * a million addresses has one metadata record, and IPv4 entries are 12
 * bytes (address, metadata index and prefix length, chain link). */
#ifndef YAGURA_INTEL_INTEL_INT_H
#define YAGURA_INTEL_INTEL_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

#include "base/hash.h"
#include "base/snap.h"
#include "intel/intel.h"

#define NIL        0x7fffffffu /* no entry; also the end of a chain */
#define DIRECT     0x80000000u /* index word holds an entry, not a chunk offset */
#define META_MAX   ((1u << 26) - 1)
#define PLEN_BITS  6

__extension__ typedef unsigned __int128 u128;

/* Shared by every entry of one indicator, or of one plain-list file. */
struct intel_meta {
	int64_t valid_until;
	uint32_t id;     /* string pool offsets; 0 is "" */
	uint32_t source;
	uint32_t url;    /* the URL of a url-kind entry, else 0 */
	uint8_t confidence;
	uint8_t tlp;
	uint8_t pad[2];
};

/* While building, mp holds the prefix length in its low PLEN_BITS and the
 * metadata index above; next holds the confidence until the sort is done. */
struct v4ent {
	uint32_t addr;
	uint32_t mp;
	uint32_t next;
};

struct v6ent {
	uint8_t a[16];
	uint32_t meta;
	uint32_t next;
	uint8_t plen;
	uint8_t conf;
	uint8_t pad[2];
};

struct dent {
	uint32_t str;
	uint32_t meta;
	uint32_t next;
	uint8_t len;
	uint8_t conf;
	uint8_t pad[2];
};

struct dslot {
	uint32_t tag; /* high half of the name's hash */
	uint32_t idx; /* head of the name's chain, or NIL if the slot is empty */
};

/* Chunk layout in blob (32-bit words): n, value at the slice start, n keys
 * (one word each for IPv4, four for IPv6, most significant first), n values. */
struct lpm {
	unsigned bits;   /* 0: empty table */
	uint32_t *index; /* 1 << bits words */
	uint32_t *blob;
	size_t blob_len;
};

struct intel_snapshot {
	struct snap_ref ref; /* first: the handle hands back &ref */
	struct lpm v4, v6;
	struct v4ent *e4;
	size_t n4;
	struct v6ent *e6;
	size_t n6;
	struct dent *dom;
	size_t ndom;
	struct dslot *dslots;
	uint32_t dmask; /* slots - 1; no slots when dslots is NULL */
	struct intel_meta *meta;
	size_t nmeta;
	char *pool;
	size_t pool_len;
};

struct intel_handle {
	struct snap_handle *h; /* publishes struct intel_snapshot (base/snap.h) */
};

/* Frees a snapshot whose last reference went (its snap_ref's free_fn). */
void intel_snapshot_free_ref(struct snap_ref *r);

struct intel_builder {
	size_t max_entries, n_entries;
	char *pool;
	size_t pool_len, pool_cap;
	struct intel_meta *meta;
	size_t nmeta, cap_meta;
	struct v4ent *e4;
	size_t n4, cap4;
	struct v6ent *e6;
	size_t n6, cap6;
	struct dent *dom;
	size_t ndom, cap_dom;
	struct dslot *dslots;
	uint32_t dmask, dused;
	uint32_t *src_slots; /* interned source names: pool offsets, 0 empty */
	uint32_t src_mask, src_used;
};

/* Domain hash, right to left over lowercased bytes: after feeding the
 * bytes of a suffix, h identifies that suffix. */
#define DH_SEED 0xcbf29ce484222325ULL

static inline uint8_t intel_lower(uint8_t c)
{
	return (uint8_t)((unsigned)(c - 'A') < 26u ? c + 32 : c);
}

static inline uint64_t dh_step(uint64_t h, uint8_t c)
{
	return (h ^ intel_lower(c)) * 0x100000001b3ULL;
}

static inline uint64_t dh_final(uint64_t h)
{
	return yg_fmix64(h);
}

/* --- builder.c: what the loaders call --- */

/* Appends a NUL-terminated copy of s to the pool; *off gets its offset. */
int builder_str(struct intel_builder *b, const char *s, size_t len, uint32_t *off);
/* Same, but one copy per distinct string (for source names). */
int builder_intern(struct intel_builder *b, const char *s, size_t len, uint32_t *off);
/* Adds a metadata record; *idx gets its index. YG_ELIMIT past META_MAX. */
int builder_meta(struct intel_builder *b, const struct intel_meta *m, uint32_t *idx);
/* Add one entry each. 0, YG_ENOMEM or YG_ELIMIT (max_entries). An IPv6
 * prefix inside ::ffff:0:0/96 is stored as IPv4. Host bits are cleared. */
int builder_add_v4(struct intel_builder *b, uint32_t addr, unsigned plen, uint32_t meta);
int builder_add_v6(struct intel_builder *b, const uint8_t a[16], unsigned plen, uint32_t meta);
/* name must be normalized already (parse_domain). */
int builder_add_domain(struct intel_builder *b, const char *name, size_t len, uint32_t meta);

/* --- parse.c: values, all bounded by len, none needing a NUL --- */

int parse_ipv4(const char *s, size_t len, uint32_t *addr);
/* Address with optional /len; a bare address gets the full length. */
int parse_ipv4_cidr(const char *s, size_t len, uint32_t *addr, unsigned *plen);
int parse_ipv6_cidr(const char *s, size_t len, uint8_t a[16], unsigned *plen);
/* Lowercases into out (256 bytes), drops one trailing dot and a leading
 * "*.", checks labels (1-63 of [a-z0-9_-], total <= 253). 0 or -1. */
int parse_domain(const char *s, size_t len, char *out, size_t *outlen);
/* Finds the host of a URL ("scheme://user@host:port/path", scheme
 * optional). *v6 is set for a bracketed IPv6 host (brackets excluded). */
int parse_url_host(const char *s, size_t len, const char **host, size_t *hlen, bool *v6);
/* RFC 3339 date-time to Unix seconds (fraction dropped). 0 or -1. */
int parse_rfc3339(const char *s, size_t len, int64_t *t);

/* --- load.c: the report, used by the JSON loaders too --- */

void report_reject(struct intel_report *rep, enum intel_reason r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void report_skip(struct intel_report *rep, enum intel_reason r);
void report_file_error(struct intel_report *rep, enum intel_reason r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The file name without its directories. */
const char *path_base(const char *path);

/* --- json.c --- */

/* Loads a STIX or MISP document (fmt AUTO, STIX or MISP). Returns 0,
 * YG_EFORMAT (reported as a file error) or YG_ENOMEM. */
int json_load(struct intel_builder *b, const char *name, const void *buf, size_t len,
	      enum intel_format fmt, const struct intel_load_opts *opts, struct intel_report *rep);

#endif
