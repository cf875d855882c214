/* counter.h - countermeasure files from the active cases: an RPZ zone for
 * resolvers, nftables sets, a BIRD 2 configuration for RTBH and FlowSpec,
 * a plain blocklist and abuse notices.
 *
 * The module is pure: it reads caller-owned cases and appends text to a
 * caller-owned jbuf; only cm_write_dir() touches the file system. It knows
 * nothing of HTTP, SQL or who approved what: the tower hands it the set of
 * active cases on every change and publishes what comes out.
 *
 * Every renderer validates every case it renders (cm_case_check) and
 * refuses the whole set with YG_EINVAL when one is invalid, so that a bad
 * case can never inject syntax into a zone or a router configuration. Cases
 * whose expiry is at or before `now` are left out. Output is sorted by case
 * id and otherwise depends only on its arguments, so that equal inputs give
 * equal bytes (and stable ETags). Thread-safe: no shared state. */
#ifndef YAGURA_COUNTER_COUNTER_H
#define YAGURA_COUNTER_COUNTER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/ipaddr.h"
#include "base/jbuf.h"

enum cm_action {
	CM_SINKHOLE,  /* RPZ: a domain (and its subdomains) or a response IP */
	CM_RTBH,      /* BIRD: a blackhole route with community 65535:666 */
	CM_FLOWSPEC,  /* BIRD: a FlowSpec rule discarding traffic to the target */
	CM_BLOCKLIST, /* blocklist.txt, and nftables for address targets */
	CM_NOTICE     /* notices/<id>.txt and .json for the hosting provider */
};
#define CM_ACTION_COUNT 5

/* Limits of what a case may carry; beyond them cm_case_check refuses it. */
#define CM_MAX_PORTS    32
#define CM_MAX_EVIDENCE 64
#define CM_MAX_TEXT     4096 /* justification, bytes */

/* One active case. Every pointer is borrowed from the caller for the
 * duration of the call. */
struct cm_case {
	int64_t id; /* positive and unique within one set */
	enum cm_action action;
	/* An IPv4/IPv6 address or prefix ("198.51.100.7", "2001:db8::/48"),
	 * without host bits; or a domain name ("bad.example") for sinkhole,
	 * blocklist and notice. */
	const char *target;
	const char *proto;     /* flowspec: "tcp", "udp", "icmp", or NULL for any */
	const uint16_t *ports; /* flowspec: destination ports, nports of them */
	size_t nports;
	int64_t approved, expires;   /* unix microseconds */
	const char *justification;   /* notice: free text, may hold newlines */
	const char *contact;         /* notice: the abuse contact's mail address */
	const char *const *evidence; /* notice: "alert:123", "source:198.51.100.7" */
	size_t nevidence;
};

/* Where the files point and who the router is. Plain value, caller-owned;
 * NULL strings take the default named beside them. */
struct cm_config {
	const char *rpz_zone;   /* "rpz.yagura.local" */
	const char *sinkhole;   /* CNAME target; NULL or "." means NXDOMAIN */
	const char *nameserver; /* the zone's NS and SOA MNAME: "localhost" */
	uint32_t rpz_ttl;       /* 0: 60 seconds */

	const char *nft_table; /* "yagura": the inet table nftables.nft replaces */

	uint32_t bgp_local_as;         /* required for bird.conf */
	const char *bgp_router_id;     /* IPv4 dotted quad, required */
	const char *bgp_local_address; /* NULL: BIRD picks the source address */
	const char *bgp_neighbor;      /* IPv4 or IPv6 address, required */
	uint32_t bgp_neighbor_as;      /* required */
	unsigned bgp_multihop;         /* 0: a directly connected neighbor */
	const char *rtbh_next_hop4;    /* NULL: BIRD's own address */
	const char *rtbh_next_hop6;

	const char *office; /* who sends notices: "Example CERT <cert@example.org>" */
};

/* A parsed target. */
enum cm_target_kind { CM_TARGET_PREFIX, CM_TARGET_DOMAIN };
struct cm_target {
	enum cm_target_kind kind;
	struct ip_addr addr; /* prefix: family 4 or 6, host bits zero */
	uint8_t plen;        /* 1..32 or 1..128 */
	char name[254];      /* domain: lower case, no trailing dot */
};

/* Returns "sinkhole", "rtbh", "flowspec", "blocklist", "notice", or NULL. */
const char *cm_action_name(enum cm_action a);
/* Parses one of those names; returns 0 or YG_EINVAL. */
int cm_action_parse(const char *s, enum cm_action *out) YG_MUST_CHECK;

/* Parses an address, a prefix or a domain name. Refuses (YG_EINVAL) host
 * bits, a prefix length of 0 or with leading zeros, IPv4-mapped IPv6,
 * wildcards, names that are not LDH (letters, digits, hyphen, underscore)
 * or whose last label is numeric or an RPZ trigger ("rpz-ip"), single-label
 * names, and anything with spaces, quotes, semicolons or control bytes. */
int cm_target_parse(const char *s, struct cm_target *t) YG_MUST_CHECK;

/* Writes the canonical text of a prefix target ("198.51.100.7" for a /32,
 * "2001:db8::/48") into out, which holds CM_PREFIX_STRLEN bytes. */
#define CM_PREFIX_STRLEN (IPADDR_STRLEN + 4)
void cm_prefix_fmt(const struct cm_target *t, int with_host_len, char *out);

/* Checks one case: its target against its action (address targets only
 * for rtbh and flowspec), proto and ports (flowspec only; ports need tcp,
 * udp or any), notice contact and evidence, and the length of the RPZ
 * owner names under cfg->rpz_zone (cfg may be NULL). Returns 0 or
 * YG_EINVAL with one line in err naming the case and what is wrong. */
int cm_case_check(const struct cm_case *c, const struct cm_config *cfg, char *err,
                  size_t errlen) YG_MUST_CHECK;

/* Checks the configuration the renderers will need; bird.conf needs the
 * BGP fields, the others have defaults (cfg NULL: all defaults). Returns 0
 * or YG_EINVAL with err. */
int cm_config_check(const struct cm_config *cfg, char *err, size_t errlen) YG_MUST_CHECK;

/* The RPZ zone: SOA with the caller's serial (which must rise with every
 * change for secondaries to follow), NS, and for each sinkhole case a
 * CNAME to cfg->sinkhole, or "CNAME ." (NXDOMAIN): "name" and "*.name" for
 * a domain, an rpz-ip trigger ("32.7.100.51.198.rpz-ip", IPv6 with "zz")
 * for an address. Duplicate owners are written once. */
int cm_rpz(const struct cm_case *c, size_t n, uint32_t serial, int64_t now,
           const struct cm_config *cfg, struct jbuf *out) YG_MUST_CHECK;

/* An nftables script replacing table inet cfg->nft_table: sets block4 and
 * block6 (flags interval, timeout) of the blocklist cases' addresses, each
 * element timing out when its case expires (rounded up to the second), and
 * input/forward/output chains dropping traffic from and to them. A prefix
 * nested in another that expires no later is left out; one that outlives
 * it goes into a further set (block4_1, ...), since nftables refuses
 * overlapping intervals within one set. The timeouts depend on `now`. */
int cm_nft(const struct cm_case *c, size_t n, int64_t now, const struct cm_config *cfg,
           struct jbuf *out) YG_MUST_CHECK;

/* A complete BIRD 2 configuration: static blackhole routes for the rtbh
 * cases, exported to the BGP neighbor with the BLACKHOLE community
 * (65535, 666) (RFC 7999), and flow4/flow6 static routes for the flowspec
 * cases (destination prefix, protocol, destination ports; RFC 8955),
 * exported with traffic-rate 0, i.e. discard. */
int cm_bird(const struct cm_case *c, size_t n, int64_t now, const struct cm_config *cfg,
            struct jbuf *out) YG_MUST_CHECK;

/* The blocklist cases, one canonical address, prefix or domain a line,
 * after a header of '#' comments. */
int cm_blocklist(const struct cm_case *c, size_t n, int64_t now, struct jbuf *out) YG_MUST_CHECK;

/* One abuse notice for a notice case, as a plain-text mail (To, From,
 * Subject headers, then the body) or as X-ARF-like JSON. */
int cm_notice_text(const struct cm_case *c, const struct cm_config *cfg,
                   struct jbuf *out) YG_MUST_CHECK;
int cm_notice_json(const struct cm_case *c, const struct cm_config *cfg,
                   struct jbuf *out) YG_MUST_CHECK;

/* Writes rpz.zone, nftables.nft, bird.conf (only when cfg has the BGP
 * fields), blocklist.txt and notices/<id>.txt and .json into dir, which
 * must exist. Each file is written to a temporary name, fsynced and
 * renamed over the old one, then the directory is fsynced; a file whose
 * content is unchanged is not rewritten, so that watchers reload only what
 * changed. Notices of cases no longer active are removed. Validates all
 * cases before writing anything: on failure returns a negative yg_err with
 * one line in err, and the files are left as they were (a failure halfway
 * leaves each file either old or new, never torn). Not safe to run twice
 * at once on the same dir. */
int cm_write_dir(const char *dir, const struct cm_case *c, size_t n, uint32_t serial, int64_t now,
                 const struct cm_config *cfg, char *err, size_t errlen) YG_MUST_CHECK;

#endif
