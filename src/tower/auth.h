/* auth.h - who may do what in the tower: roles, API tokens, and the
 * authorization matrix every route is checked against.
 *
 * Tokens are 32 random bytes shown once as "ygt_" + base64url; the store
 * keeps only their BLAKE2b-256 hash (a random 256-bit secret needs no slow
 * password hash) and an 8-character prefix for people to tell them apart.
 * Pure apart from the random source; thread-safe. */
#ifndef YAGURA_TOWER_AUTH_H
#define YAGURA_TOWER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum role {
	ROLE_OPERATOR = 0, /* an organisation's staff: its own reports and assets */
	ROLE_REGULATOR,    /* a ministry: reads the reports of its sectors */
	ROLE_ANALYST,      /* office staff: reads everything, proposes cases */
	ROLE_OVERSEER,     /* independent committee: approves or rejects cases */
	ROLE_AUDITOR,      /* reads the transparency log and proofs */
	ROLE_SENSOR,       /* a machine: posts alerts, reads indicators and what it may monitor */
	ROLE_ADMIN,        /* organisations, users, tokens */
	ROLE_COUNT
};

const char *role_name(enum role r);
/* The role named s, or -1. */
int role_parse(const char *s);

#define TOKEN_PREFIX "ygt_"
#define SESSION_PREFIX "ygs_" /* a browser session's token: the same form, in a cookie */
#define TOKEN_TEXT_LEN (4 + 43)  /* "ygt_" + base64url of 32 bytes, unpadded */
#define TOKEN_HASH_LEN 32
#define TOKEN_SHOW_LEN 8         /* characters of the token kept for display */

/* Makes a new token: its text (TOKEN_TEXT_LEN + 1 bytes, NUL-terminated),
 * to be shown once, and its hash, to be stored. Returns 0 or YG_EIO when
 * the random source failed. */
int token_new(char *text, uint8_t hash[TOKEN_HASH_LEN]) YG_MUST_CHECK;
/* The same for a browser session's token (SESSION_PREFIX). */
int session_token_new(char *text, uint8_t hash[TOKEN_HASH_LEN]) YG_MUST_CHECK;

/* Hashes a presented token, an API token's or a session's. Returns 0, or
 * YG_EINVAL when it is not of the token's form (length, prefix,
 * alphabet): no lookup is needed then. */
int token_hash(const char *text, size_t len, uint8_t hash[TOKEN_HASH_LEN]) YG_MUST_CHECK;

/* What a route does, for the authorization matrix. */
enum action {
	ACT_REPORT_CREATE = 0, /* file a report (operator, for its own organisation) */
	ACT_REPORT_UPDATE,     /* add a version, close */
	ACT_REPORT_READ,       /* read one report, list reports */
	ACT_ASSET_WRITE,       /* register a specified critical computer */
	ACT_ASSET_READ,
	ACT_ALERT_POST,        /* post sensor alerts */
	ACT_ALERT_READ,
	ACT_SOURCES_READ,      /* ranked attack sources */
	ACT_INTEL_READ,        /* indicators (sensors pull them) */
	ACT_ADMIN,             /* organisations, users, tokens */
	ACT_LOG_READ,          /* the transparency log: checkpoints, tiles, proofs */
	ACT_LOG_COSIGN,        /* hand in a witness's cosignature of a checkpoint */
	ACT_CASE_PROPOSE,      /* propose a countermeasure case, withdraw one's own */
	ACT_CASE_DECIDE,       /* approve or reject a proposed case */
	ACT_CASE_REVOKE,       /* end an approved or active case early */
	ACT_CASE_READ,         /* cases, their evidence and decisions */
	ACT_COUNTERMEASURE_READ, /* the files resolvers and routers load */
	ACT_MONITOR_PROPOSE,   /* propose a monitoring authorization, withdraw one's own */
	ACT_MONITOR_DECIDE,    /* approve or reject a proposed authorization */
	ACT_MONITOR_REVOKE,    /* end an approved or active authorization early */
	ACT_MONITOR_READ,      /* authorizations (a sensor: its own active ones) */
	ACT_TAXII,             /* the TAXII server: each collection says who reads, writes */
	ACT_REPORT_SHARE,      /* share a report's indicators with the other operators */
	ACT_TAXII_MANAGE,      /* make TAXII collections, say who reads and writes each */
	ACT_COUNT
};

const char *action_name(enum action a);

/* Scope of a permission: none, only the caller's own organisation, only
 * the caller's sectors (regulators), or everything. */
enum scope { SCOPE_NONE = 0, SCOPE_OWN_ORG, SCOPE_OWN_SECTORS, SCOPE_ALL };

/* The matrix: what a role may do and over what. */
enum scope authz_scope(enum role r, enum action a);

#endif
