/* tower.h - the control-tower server: organisations, users and tokens,
 * incident reports under the reporting obligation, registered assets,
 * sensor alerts, and the attack sources ranked across them, as a JSON API
 * under /api/v1 (docs/tower.md). */
#ifndef YAGURA_TOWER_TOWER_H
#define YAGURA_TOWER_TOWER_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "base/err.h"
#include "stream/stream.h"
#include "tower/report.h"

#define TOWER_MAX_SECTORS   32
#define TOWER_MAX_PARTNERS  16
#define TOWER_MAX_WITNESSES 16

struct tower_config {
	const char *listen;   /* "127.0.0.1:8080" */
	const char *store;    /* store URL (store_open) */
	unsigned threads;     /* HTTP worker threads */
	size_t max_body;      /* bytes */
	double rate, burst;   /* per-token request rate limit; 0: none */
	/* HTTP limits (struct http_config); 0 keeps the HTTP layer's default. */
	unsigned max_connections;    /* open connections in all */
	unsigned per_ip_connections; /* per client address (IPv6: per /64) */
	unsigned header_timeout_s;   /* to send the whole request header */
	unsigned body_timeout_s;     /* to send the whole body */
	unsigned idle_timeout_s;     /* between requests on a kept-alive connection */
	unsigned store_timeout_s;    /* PostgreSQL answer wait (store_opts); 0: its default */
	unsigned store_cache_mib;    /* SQLite page cache per connection; 0: the store's default */
	/* [tls]: HTTPS (docs/tower.md, "TLS"); cert NULL: plain HTTP. PEM
	 * files; client_ca: the CA sensors' client certificates chain to
	 * (NULL: none asked for); priorities NULL: HTTP_TLS_PRIORITIES. */
	const char *tls_cert, *tls_key, *tls_client_ca, *tls_priorities;
	/* The transparency log ([log]). */
	const char *log_key;	   /* the signing key's file; NULL: beside the store */
	const char *log_origin;	   /* the checkpoints' origin line and key name */
	unsigned log_checkpoint_s; /* between checkpoints while the log grows; 0: 10 s */
	const char *log_witnesses; /* the witnesses whose cosignatures it takes: their
				      verifier keys, ", " between; NULL: none */
	struct report_policy policy;
	unsigned n_sectors;
	const char *sectors[TOWER_MAX_SECTORS];
	/* [partners]: TAXII collections of partners (a CSIRT, an ISAC) the
	 * tower pulls into local ones (src/tower/partners.c). */
	struct tower_partner {
		const char *name;	/* a-z, 0-9, _ and -: the local collection is partner-NAME */
		const char *url;	/* the partner's collection, ".../collections/ID/" */
		const char *token_file; /* the bearer token the partner gave us */
		int64_t interval_s;	/* between pulls */
	} partners[TOWER_MAX_PARTNERS];
	unsigned n_partners;
	/* How long reports and alerts are kept, and how often the older are
	 * erased ([retention]); keep 0: never erased. */
	int64_t retention_s, retention_interval_s;
	/* [monitoring]: how long an authorization may run, and from how
	 * long on it needs two overseers */
	int64_t monitor_max_s, monitor_two_after_s;
	int64_t session_lifetime_s; /* [sessions] lifetime: a browser session's, from login */
	const char *web_root;	    /* [web] root: the dashboard's files; NULL: not served */
	/* Countermeasure cases ([cases], docs/oversight.md). */
	struct case_policy {
		int64_t min_duration_s;	       /* the shortest a case may run: 1h */
		int64_t max_duration_s;	       /* the longest a case may run: 7d */
		int64_t two_overseers_after_s; /* longer cases need two approvals: 3d */
		unsigned max_prefix4, max_prefix6; /* the widest prefix a case may name: 24, 48 */
		unsigned one_prefix4, one_prefix6; /* wider than these needs two approvals: 32, 64 */
		const char *never_block;	   /* entries added to the defaults, ", " between */
		const char *lab_allow;		   /* entries taken out of the defaults (a lab) */
	} cases;
	/* Countermeasure files ([countermeasures], docs/countermeasures.md):
	 * the directory they are written into (NULL: served only), and what
	 * they point at. */
	struct cm_settings {
		const char *dir;
		const char *rpz_zone, *sinkhole, *nameserver, *office;
		const char *bgp_router_id, *bgp_neighbor, *rtbh_next_hop4, *rtbh_next_hop6;
		uint32_t bgp_local_as, bgp_neighbor_as;
	} cm;
	/* [stream]: alerts consumed from a NATS JetStream stream (issue 17,
	 * docs/stream.md) by a durable pull consumer; enable 0: HTTP only. */
	struct tower_stream {
		int enable;
		const char *urls;    /* nats://h:p[,nats://h:p...], required when enabled */
		const char *name;    /* the stream: "YAGURA_ALERTS" */
		const char *prefix;  /* subject prefix: "yagura.alerts" */
		const char *durable; /* the durable consumer: "yagura-tower" */
		const char *filter;  /* NULL: PREFIX.> */
		int replicas;	     /* 1 to 5: 1 */
		int batch;	     /* messages per fetch, 1 to 1024: 256 */
		int consumers;	     /* threads fetching, 1 to 16: 4 */
		int64_t ack_wait_s;  /* redelivered when not acked within: 30 */
		/* The stream's limits, which the towers own (sensors create
		 * it only where it is missing): 0 no limit; duplicate window 0
		 * JetStream's 120 s. */
		enum stream_retention retention;
		int64_t max_age_s, max_bytes, duplicate_window_s;
		struct stream_auth auth; /* user, password_file, creds, ca, cert, key */
	} stream;
	/* Strings a configuration file supplied, freed by tower_config_free. */
	unsigned n_owned;
	char *owned[TOWER_MAX_SECTORS + 34];
};

/* The law's 15 designated sectors, as the default sector list. */
void tower_config_defaults(struct tower_config *cfg);

/* Frees the strings a configuration file put into cfg. */
void tower_config_free(struct tower_config *cfg);

struct tower;

/* Opens the store (running migrations), sets up routes and starts
 * listening. On failure returns a negative yg_err with a one-line reason
 * in err. */
int tower_start(const struct tower_config *cfg, struct tower **out, char *err,
		size_t errlen) YG_MUST_CHECK;

/* The port actually listened on (for listen ports of 0). */
unsigned tower_port(const struct tower *t);

/* Every route the tower serves, one "METHOD PATTERN auth|open" line each,
 * in the order they are registered (yagura tower --routes; the
 * authorization test is generated from it). */
void tower_routes_print(FILE *out);

/* Stops accepting, finishes requests in flight, closes the store. */
void tower_stop(struct tower *t);

/* Creates the first admin user and a token for it in the store at url,
 * writing the token text (shown once) into token (48 bytes). Refuses when
 * an admin exists already. */
int tower_admin_init(const char *url, const char *name, char *token, char *err,
		     size_t errlen) YG_MUST_CHECK;

/* For whoever holds the store, when every admin token is lost: a new
 * token for the enabled admin user called name (a new admin user of that
 * name when there is none), written into token. */
int tower_admin_recover(const char *url, const char *name, char *token, char *err,
			size_t errlen) YG_MUST_CHECK;

struct tlog_hash;

/* The transparency log's stored hashes at idx[0..n-1] (ascending, at most
 * TLOG_READ_MAX), read on conn, a struct store_conn: a tlog_read_fn for the
 * tower and for `yagura audit verify` on the server. YG_ENOTFOUND when one
 * is missing. */
int tower_log_hashes(void *conn, const uint64_t *idx, size_t n, struct tlog_hash *out);

/* The transparency log's signing key for the store at url: read from
 * key_path (NULL: beside a SQLite store, else var/log.key), created there
 * first when create and it does not exist, for origin (NULL: the default
 * origin). Writes the verifier key text ("name+id+key") into vkey. */
int tower_log_key(const char *url, const char *key_path, const char *origin, int create,
		  char *vkey, size_t vkeylen, char *err, size_t errlen) YG_MUST_CHECK;

#endif
