/* intel.h - the intel store: indicator feeds loaded into immutable snapshots
 * that the packet path queries at line rate.
 *
 * Life of a snapshot: a loader thread makes a builder, loads feeds into it
 * (STIX 2.1 bundles, MISP feeds, plain address/CIDR/domain lists), and turns
 * it into a snapshot with intel_builder_finish(). The snapshot is read-only
 * from then on; intel_handle_publish() swaps it in with one atomic pointer
 * store, packet threads intel_handle_acquire() it once per batch of packets
 * and intel_snapshot_release() it, and the last release frees it.
 *
 * Lookups: IPv4 and IPv6 longest-prefix match, and domains matching
 * themselves and their subdomains (the most specific wins). Entries whose
 * valid_until has passed are skipped, falling back to the next less specific
 * entry. Lookups allocate nothing, take no lock and may run on any number of
 * threads at once. */
#ifndef YAGURA_INTEL_INTEL_H
#define YAGURA_INTEL_INTEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/ipaddr.h"

/* valid_until of an entry that does not expire. */
#define INTEL_NO_EXPIRY INT64_MAX

enum intel_kind {
	INTEL_KIND_IP = 0, /* one address (/32 or /128) */
	INTEL_KIND_CIDR,   /* a shorter prefix */
	INTEL_KIND_DOMAIN, /* a domain and its subdomains */
	INTEL_KIND_URL     /* a URL, stored for its host: domain or address */
};

/* In order of increasing restriction, except that CLEAR (TLP 2.0) and
 * WHITE (TLP 1.0) are the same level under two names. */
enum intel_tlp {
	INTEL_TLP_NONE = 0, /* unmarked */
	INTEL_TLP_CLEAR,
	INTEL_TLP_WHITE,
	INTEL_TLP_GREEN,
	INTEL_TLP_AMBER,
	INTEL_TLP_AMBER_STRICT,
	INTEL_TLP_RED
};

/* What a lookup found. The strings point into the snapshot: they stay valid
 * while the caller holds the snapshot. */
struct intel_match {
	enum intel_kind kind;
	enum intel_tlp tlp;
	int confidence;         /* 0-100 */
	int64_t valid_until;    /* Unix seconds, or INTEL_NO_EXPIRY */
	const char *id;         /* STIX indicator id, MISP attribute uuid, "" for lists */
	const char *source;     /* created_by_ref, MISP org and event, or file name */
	const char *value;      /* domain, or the full URL; NULL for ip and cidr */
	struct ip_addr addr;    /* ip, cidr, and url with an address host */
	uint8_t prefix_len;     /* of addr; 0 for domains */
};

/* Why an entry was not loaded. Reasons up to INTEL_REASON_SKIP_FIRST are
 * rejections (malformed or unsupported, with a message); the rest are
 * well-formed records that are not network indicators (counted only). */
enum intel_reason {
	INTEL_REASON_FILE = 0,        /* cannot open or read the file */
	INTEL_REASON_JSON,            /* not valid JSON */
	INTEL_REASON_JSON_SHAPE,      /* JSON, but not a STIX bundle or MISP event */
	INTEL_REASON_BAD_IPV4,        /* not an IPv4 address or CIDR */
	INTEL_REASON_BAD_IPV6,        /* not an IPv6 address or CIDR */
	INTEL_REASON_BAD_DOMAIN,      /* not a domain name */
	INTEL_REASON_BAD_URL,         /* not a URL with a host */
	INTEL_REASON_TRAILING,        /* plain list: more than one entry on a line */
	INTEL_REASON_MISSING,         /* a required field is absent or of the wrong type */
	INTEL_REASON_BAD_TIMESTAMP,   /* valid_until is not an RFC 3339 timestamp */
	INTEL_REASON_BAD_CONFIDENCE,  /* confidence is not an integer 0-100 */
	INTEL_REASON_PATTERN_TYPE,    /* pattern_type other than "stix" */
	INTEL_REASON_PATTERN_SYNTAX,  /* the pattern does not parse */
	INTEL_REASON_PATTERN_OP,      /* AND, FOLLOWEDBY, !=, MATCHES, qualifiers... */
	INTEL_REASON_PATTERN_OBJECT,  /* an object path other than the four supported */
	INTEL_REASON_LIMIT,           /* the builder's entry limit is reached */
	INTEL_REASON_SKIP_FIRST,
	INTEL_REASON_SKIP_REVOKED = INTEL_REASON_SKIP_FIRST, /* STIX revoked: true */
	INTEL_REASON_SKIP_TYPE,       /* MISP attribute of a non-network type */
	INTEL_REASON_SKIP_NOT_IDS,    /* MISP to_ids: false */
	INTEL_REASON_SKIP_DELETED,    /* MISP deleted: true */
	INTEL_REASON_COUNT
};

#define INTEL_REPORT_MESSAGES 20
#define INTEL_MESSAGE_MAX     256

/* What one or more loads did. Caller-owned; zero it (intel_report_init)
 * before the first load, then pass it to every load to add up. */
struct intel_report {
	uint64_t files;        /* files read */
	uint64_t files_failed; /* files that could not be read or parsed at all */
	uint64_t loaded;       /* entries added: one per address, prefix or domain */
	uint64_t rejected;     /* malformed or unsupported entries */
	uint64_t skipped;      /* records that are not network indicators */
	uint64_t by_reason[INTEL_REASON_COUNT];
	uint64_t messages_dropped; /* rejections past the first INTEL_REPORT_MESSAGES */
	unsigned n_messages;
	char messages[INTEL_REPORT_MESSAGES][INTEL_MESSAGE_MAX];
};

enum intel_format {
	INTEL_FORMAT_AUTO = 0, /* JSON object: STIX bundle or MISP event; else list */
	INTEL_FORMAT_LIST,
	INTEL_FORMAT_STIX,
	INTEL_FORMAT_MISP
};

/* Defaults for what a feed does not say. NULL options mean confidence 50,
 * TLP none, no expiry. */
struct intel_load_opts {
	int confidence;       /* 0-100, for entries without their own */
	enum intel_tlp tlp;   /* for entries without a marking */
	int64_t valid_until;  /* for plain-list entries; INTEL_NO_EXPIRY for none */
};

struct intel_stats {
	uint64_t v4_entries;  /* IPv4 prefixes, duplicates included */
	uint64_t v6_entries;
	uint64_t domain_entries;
	uint64_t indicators;  /* metadata records (one per indicator or list file) */
	uint64_t v4_bytes;    /* index, ranges and entries of the IPv4 table */
	uint64_t v6_bytes;
	uint64_t domain_bytes;
	uint64_t meta_bytes;  /* metadata records and the string pool */
	uint64_t bytes;       /* all of the above and the snapshot itself */
	unsigned v4_index_bits;
	unsigned v6_index_bits;
};

struct intel_builder;
struct intel_snapshot;
struct intel_handle;

/* Static names, for output: "ip", "cidr", "domain", "url". Thread-safe. */
const char *intel_kind_name(enum intel_kind k);
/* "TLP:AMBER+STRICT" and so on; NULL for INTEL_TLP_NONE. Thread-safe. */
const char *intel_tlp_name(enum intel_tlp t);
/* Short snake_case name of a reason, for counters ("bad_ipv4"). Static,
 * thread-safe. */
const char *intel_reason_name(enum intel_reason r);

/* Zeroes a report before the first load that adds to it. */
void intel_report_init(struct intel_report *rep);

/* Creates an empty builder holding at most max_entries entries (0: 2^30);
 * entries past the limit are rejected with INTEL_REASON_LIMIT. Returns NULL
 * on allocation failure. Not thread-safe: one loader thread per builder. */
struct intel_builder *intel_builder_new(size_t max_entries);

/* Frees a builder that was not finished. NULL is a no-op. */
void intel_builder_free(struct intel_builder *b);

/* Loads a file, or every file of a directory in name order (a directory
 * holding manifest.json is a MISP feed: its event files are loaded). Bad
 * entries and unreadable files are counted in rep and skipped; the rest
 * loads. Returns 0, or the first file's error (YG_EIO, YG_EFORMAT) after
 * loading the others, or YG_ENOMEM (the builder keeps what it had). */
int intel_load_path(struct intel_builder *b, const char *path, const struct intel_load_opts *opts,
		    struct intel_report *rep) YG_MUST_CHECK;

/* Loads one feed held in memory; name stands for the file in messages and
 * as plain lists' source. The buffer is only read during the call. Returns
 * 0, YG_EFORMAT (not valid JSON, or JSON of no known shape) or YG_ENOMEM. */
int intel_load_buffer(struct intel_builder *b, const char *name, const void *buf, size_t len,
		      enum intel_format fmt, const struct intel_load_opts *opts,
		      struct intel_report *rep) YG_MUST_CHECK;

/* Turns the builder into a snapshot (one reference, the caller's) and frees
 * the builder, whatever the outcome. Returns 0 or YG_ENOMEM (*out NULL). */
int intel_builder_finish(struct intel_builder *b, struct intel_snapshot **out) YG_MUST_CHECK;

/* Drops one reference; the last one frees the snapshot. NULL is a no-op.
 * Thread-safe. */
void intel_snapshot_release(struct intel_snapshot *s);

/* Longest-prefix match of an IPv4 address (host byte order) at time now
 * (Unix seconds). Returns 0 and fills m, or YG_ENOTFOUND. Allocation-free,
 * thread-safe on a snapshot the caller holds. */
int intel_lookup_ipv4(const struct intel_snapshot *s, uint32_t addr, int64_t now,
		      struct intel_match *m);

#define INTEL_BATCH_MAX 64

/* Looks up addr[0..n) (n <= INTEL_BATCH_MAX) as n intel_lookup_ipv4() calls
 * would, but with their memory accesses overlapped: on tables larger than
 * the cache this is the way to line rate. Returns a mask with bit i set
 * when addr[i] matched, and then m[i] is filled; other m[i] are untouched. */
uint64_t intel_lookup_ipv4_batch(const struct intel_snapshot *s, const uint32_t *addr, unsigned n,
				 int64_t now, struct intel_match *m);

/* Longest-prefix match of an IPv6 address (16 bytes, network order). An
 * IPv4-mapped address (::ffff:a.b.c.d) is looked up as IPv4. Same contract
 * as intel_lookup_ipv4(). */
int intel_lookup_ipv6(const struct intel_snapshot *s, const uint8_t addr[16], int64_t now,
		      struct intel_match *m);

/* Either of the two above, by ip->family. */
int intel_lookup_ip(const struct intel_snapshot *s, const struct ip_addr *ip, int64_t now,
		    struct intel_match *m);

/* The most specific entry for name or one of its parent domains, compared
 * case-insensitively, one trailing dot ignored. name need not be
 * NUL-terminated. Same contract as intel_lookup_ipv4(). */
int intel_lookup_domain(const struct intel_snapshot *s, const char *name, size_t len, int64_t now,
			struct intel_match *m);

/* Writes the matched indicator as text ("198.51.100.0/24", "evil.example",
 * the URL) into buf (NUL-terminated, truncated to n); returns the full
 * length, as snprintf does. Allocation-free. */
int intel_match_format(const struct intel_match *m, char *buf, size_t n);

/* Sizes and counts of a snapshot. Thread-safe. */
void intel_snapshot_stats(const struct intel_snapshot *s, struct intel_stats *st);

/* Creates a handle publishing no snapshot yet. Returns NULL on allocation
 * failure. */
struct intel_handle *intel_handle_new(void);

/* Releases the published snapshot and frees the handle. No thread may be
 * acquiring from it any more. NULL is a no-op. */
void intel_handle_free(struct intel_handle *h);

/* Makes s (may be NULL) the current snapshot, taking over the caller's
 * reference, and releases the previous one: it is freed once its last
 * reader releases it. Publishers are serialized; readers never wait. */
void intel_handle_publish(struct intel_handle *h, struct intel_snapshot *s);

/* Returns the current snapshot with a reference for the caller (release it
 * with intel_snapshot_release()), or NULL if none is published. Lock-free;
 * meant to be called once per batch of packets, not per packet. */
struct intel_snapshot *intel_handle_acquire(struct intel_handle *h);

#endif
