/* appmeta.h - the few application-layer metadata fields yagura's policy
 * allows: DNS names and answer addresses, TLS ClientHello SNI and JA4, the
 * HTTP/1.x request Host. Everything else in a payload is never copied.
 *
 * The parsers are pure: they read the bytes they are given through a
 * bounded cursor, fill the caller's struct, allocate nothing and keep no
 * state, and so are safe to call from any thread. Hostile input yields a
 * negative yg_err, never a crash or a read past len. */
#ifndef YAGURA_DECODE_APPMETA_H
#define YAGURA_DECODE_APPMETA_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/ipaddr.h"

#define META_NAME_MAX 253 /* longest DNS name in presentation form */
#define DNS_MAX_ADDRS 8

struct dns_meta {
	uint16_t txid;
	uint8_t is_response; /* QR bit */
	uint8_t rcode;       /* 0..15 from the header */
	uint16_t qtype;
	uint16_t qclass;
	uint16_t ancount;    /* answer count from the header */
	uint16_t qname_len;
	/* First question's name in presentation form, without the final dot
	 * ("" for the root). Label bytes are copied as they are, except that
	 * a '.' or '\\' inside a label is written with a '\\' in front. */
	char qname[META_NAME_MAX + 1];
	uint8_t n_addrs; /* A and AAAA answer addresses kept, at most DNS_MAX_ADDRS */
	struct ip_addr addrs[DNS_MAX_ADDRS];
};

/* Parses a DNS message (header, first question, A/AAAA answers).
 * Returns 0, YG_EFORMAT when the bytes are not a plausible DNS message
 * (qdcount != 1, bad label, compression loop), or YG_ETRUNC when the
 * message ends early. A message truncated inside the answer section still
 * returns 0 with the question and the answers read so far. */
int dns_parse(const uint8_t *msg, size_t len, struct dns_meta *out) YG_MUST_CHECK;

/* DNS over TCP: msg starts with the two-byte length prefix (RFC 1035
 * 4.2.2). Parses the first message in the segment. */
int dns_parse_tcp(const uint8_t *msg, size_t len, struct dns_meta *out) YG_MUST_CHECK;

#define JA4_LEN 36

struct tls_meta {
	uint16_t sni_len;
	char sni[META_NAME_MAX + 1]; /* server_name host_name, "" if absent */
	uint16_t version; /* highest non-GREASE version offered (supported_versions, else legacy) */
	uint8_t has_ja4;  /* 0 when the ClientHello was cut short */
	char ja4[JA4_LEN + 1];
};

/* Parses a ClientHello. With transport 't' the bytes are a TLS record, as
 * the first bytes a client sends on TCP; with 'q' they start at the
 * handshake header, as in a QUIC CRYPTO frame (QUIC has no record layer).
 * transport is also JA4's first character. Returns 0 when a ClientHello was recognized (SNI filled if
 * present; has_ja4 set when the whole hello was present), YG_EFORMAT when
 * the bytes are not a ClientHello, YG_ETRUNC when too short to tell. */
int tls_parse_client_hello(const uint8_t *p, size_t len, char transport,
			   struct tls_meta *out) YG_MUST_CHECK;

struct http_meta {
	uint8_t method_len;
	char method[16];   /* "GET", "POST", ... */
	uint8_t version_len;
	char version[9];   /* "HTTP/1.0" or "HTTP/1.1" */
	uint16_t host_len;
	char host[META_NAME_MAX + 1]; /* Host header value without port, "" if absent */
};

/* Parses the start of an HTTP/1.x request: request line and headers up to
 * the end of the bytes given, keeping only method, version and Host.
 * Returns 0 when the request line is valid, YG_EFORMAT otherwise. */
int http_parse_request(const uint8_t *p, size_t len, struct http_meta *out) YG_MUST_CHECK;

#endif
