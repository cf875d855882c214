/* protect.h - protected prefixes, and the key that pseudonymizes them.
 *
 * Addresses inside a protected prefix (the home networks the law protects)
 * leave yagura only as their Crypto-PAn pseudonyms; detectors keep working
 * on the real addresses, and addresses outside stay clear. A set is parsed
 * once, then read-only: threads may share it, each with its own cryptopan.
 *
 * Key files hold the 32-byte Crypto-PAn key as exactly one of:
 *   - 32 raw bytes (the file is exactly 32 bytes long; nfanon's 32-character
 *     keys written without a newline give the same pseudonyms as nfanon);
 *   - 64 hex digits, optionally after "0x", optionally followed by one
 *     newline (LF or CRLF): `openssl rand -hex 32 > key`;
 *   - 32 decimal numbers 0-255 separated by white space (the sample key of
 *     the original Crypto-PAn distribution is written so).
 * An all-zero key is refused. So is a key file that its group or others may
 * access in any way, or that belongs to another user than the caller or root:
 * the key re-identifies every protected address (chmod 600, like ssh keys). */
#ifndef YAGURA_PRIVACY_PROTECT_H
#define YAGURA_PRIVACY_PROTECT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/ipaddr.h"
#include "privacy/cryptopan.h"

/* At most this many prefixes in one set. */
#define PROTECT_MAX_PREFIXES (1u << 20)
/* Key files longer than this are refused unread. */
#define PROTECT_KEY_FILE_MAX 4096

struct protect_set;

/* Parses a comma-separated list of IPv4 and IPv6 CIDR prefixes ("10.0.0.0/8,
 * 2001:db8::/32"; a bare address is a /32 or /128; blanks around items are
 * ignored; NULL or blank gives an empty set). Host bits set, a bad length or
 * an empty item fail with YG_EINVAL and a one-line reason naming the item in
 * err; YG_ENOMEM, YG_ELIMIT likewise. On success *out is the caller's. */
int protect_set_parse(const char *spec, struct protect_set **out, char *err,
		      size_t errlen) YG_MUST_CHECK;

/* Frees a set. Accepts NULL. */
void protect_set_free(struct protect_set *ps);

/* Prefixes kept after dropping those inside another one. */
size_t protect_set_count(const struct protect_set *ps);

/* Writes the normalized list (IPv4 first, each family in address order,
 * covered prefixes dropped) into buf, NUL-terminated and truncated to
 * len - 1 characters; returns the length the whole list needs, as snprintf. */
size_t protect_set_format(const struct protect_set *ps, char *buf, size_t len);

/* True when ip falls inside a prefix of the set (NULL is the empty set).
 * Allocates nothing; O(log n). */
int protect_set_contains(const struct protect_set *ps, const struct ip_addr *ip);

/* Rewrites *ip in place to its pseudonym under cp when it falls inside a
 * prefix of ps (NULL: none). Returns 1 if rewritten, 0 if left clear, or
 * YG_EIO if libcrypto failed: *ip then holds 0.0.0.0 or ::, never the
 * protected address. cp is mutated: one per thread. */
int protect_addr(const struct protect_set *ps, struct cryptopan *cp,
		 struct ip_addr *ip) YG_MUST_CHECK;

/* Parses a key file's bytes (formats above) into key. Returns 0, or
 * YG_EFORMAT with a one-line reason (without the file's name) in err. Wipes
 * nothing of buf: that is the caller's. Allocates nothing. */
int protect_key_parse(const uint8_t *buf, size_t len, uint8_t key[CRYPTOPAN_KEY_LEN], char *err,
		      size_t errlen) YG_MUST_CHECK;

/* Reads and parses the key file at path, refusing loose permissions (see
 * above). Returns 0, or YG_EIO (cannot open or read), YG_EINVAL (not a
 * regular file, loose permissions, wrong owner, too large) or YG_EFORMAT,
 * with a one-line reason without the path in err. Wipes its read buffer. */
int protect_key_load(const char *path, uint8_t key[CRYPTOPAN_KEY_LEN], char *err,
		     size_t errlen) YG_MUST_CHECK;

#endif
