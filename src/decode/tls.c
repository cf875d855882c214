/* tls.c - TLS ClientHello metadata: SNI, offered version, JA4.
 *
 * JA4 follows FoxIO's "JA4: TLS Client Fingerprinting" (technical_details/
 * JA4.md in FoxIO-LLC/ja4). The lists it hashes are gathered into fixed
 * arrays on the stack; a hello that offers more than they hold gets no
 * JA4 rather than a wrong one. Hashing is libcrypto's SHA-256 (base/digest.h). */
#include "decode/appmeta.h"

#include <stdlib.h>
#include <string.h>

#include "base/digest.h"

#include "base/cursor.h"

#define TLS_CT_HANDSHAKE    22
#define TLS_HS_CLIENT_HELLO 1
#define TLS_RECORD_MAX      16384 /* 2^14: a plaintext record's limit */

#define TLS_EXT_SERVER_NAME 0x0000
#define TLS_EXT_SIG_ALGS    0x000d
#define TLS_EXT_ALPN        0x0010
#define TLS_EXT_SUPP_VERS   0x002b

#define HELLO_MAX_CIPHERS 512
#define HELLO_MAX_EXTS    256
#define HELLO_MAX_SIGALGS 256

/* Not an yg_err: the bytes ended inside a hello already recognized. */
#define HELLO_CUT 1

/* What the JA4 needs from one ClientHello, GREASE already left out. */
struct hello {
	uint16_t legacy_version;
	uint16_t best_version; /* highest in supported_versions, 0 if absent */
	uint8_t has_sni_ext;
	uint8_t has_sigalgs_ext;
	uint8_t overflow; /* a list did not fit the arrays */
	uint8_t alpn_len; /* 0: no ALPN, or the first value was empty */
	uint8_t alpn_first, alpn_last;
	unsigned n_ciphers, n_exts, n_sigalgs;
	uint16_t ciphers[HELLO_MAX_CIPHERS];
	uint16_t exts[HELLO_MAX_EXTS];
	uint16_t sigalgs[HELLO_MAX_SIGALGS];
};

/* GREASE (RFC 8701): 0x0a0a, 0x1a1a, ... 0xfafa. */
static int tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static int u16_cmp(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

static const char hexdig[] = "0123456789abcdef";

static char *hex16(char *o, uint16_t v)
{
	o[0] = hexdig[v >> 12];
	o[1] = hexdig[(v >> 8) & 0xf];
	o[2] = hexdig[(v >> 4) & 0xf];
	o[3] = hexdig[v & 0xf];
	return o + 4;
}

/* Appends v[0..n) as comma-separated 4-digit hex at o; returns the end. */
static char *hex16_list(char *o, const uint16_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (i)
			*o++ = ',';
		o = hex16(o, v[i]);
	}
	return o;
}

/* Writes the first 12 hex digits of sha256(s, n) at o, or twelve zeros
 * when the list is empty, as JA4 wants. */
static void hash12(char *o, const char *s, size_t n)
{
	uint8_t md[DIGEST_SHA256_LEN];

	if (n == 0 || digest_sha256(s, n, md) < 0) {
		memset(o, '0', 12);
		return;
	}
	for (int i = 0; i < 6; i++) {
		o[2 * i] = hexdig[md[i] >> 4];
		o[2 * i + 1] = hexdig[md[i] & 0xf];
	}
}

static const char *ja4_version(uint16_t v)
{
	switch (v) {
	case 0x0304:
		return "13";
	case 0x0303:
		return "12";
	case 0x0302:
		return "11";
	case 0x0301:
		return "10";
	case 0x0300:
		return "s3";
	case 0x0002:
		return "s2";
	case 0xfeff:
		return "d1";
	case 0xfefd:
		return "d2";
	case 0xfefc:
		return "d3";
	}
	return "00";
}

static int is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void ja4_build(struct hello *h, char transport, char *out)
{
	char buf[(HELLO_MAX_EXTS + HELLO_MAX_SIGALGS) * 5 + 1];
	uint16_t version = h->best_version ? h->best_version : h->legacy_version;
	const char *vs = ja4_version(version);
	unsigned nc = h->n_ciphers > 99 ? 99 : h->n_ciphers;
	unsigned ne = h->n_exts > 99 ? 99 : h->n_exts;
	unsigned n = 0;
	char *o = out, *b;

	*o++ = transport == 'q' ? 'q' : 't';
	*o++ = vs[0];
	*o++ = vs[1];
	*o++ = h->has_sni_ext ? 'd' : 'i';
	*o++ = (char)('0' + nc / 10);
	*o++ = (char)('0' + nc % 10);
	*o++ = (char)('0' + ne / 10);
	*o++ = (char)('0' + ne % 10);
	if (h->alpn_len == 0) {
		*o++ = '0';
		*o++ = '0';
	} else if (is_alnum(h->alpn_first) && is_alnum(h->alpn_last)) {
		*o++ = (char)h->alpn_first;
		*o++ = (char)h->alpn_last;
	} else {
		/* First and last digit of the value's hex form. */
		*o++ = hexdig[h->alpn_first >> 4];
		*o++ = hexdig[h->alpn_last & 0xf];
	}
	*o++ = '_';

	qsort(h->ciphers, h->n_ciphers, sizeof(h->ciphers[0]), u16_cmp);
	b = hex16_list(buf, h->ciphers, h->n_ciphers);
	hash12(o, buf, (size_t)(b - buf));
	o += 12;
	*o++ = '_';

	/* SNI and ALPN are in the first part already. */
	for (unsigned i = 0; i < h->n_exts; i++)
		if (h->exts[i] != TLS_EXT_SERVER_NAME && h->exts[i] != TLS_EXT_ALPN)
			h->exts[n++] = h->exts[i];
	qsort(h->exts, n, sizeof(h->exts[0]), u16_cmp);
	b = hex16_list(buf, h->exts, n);
	if (n > 0 && h->n_sigalgs > 0) {
		*b++ = '_';
		b = hex16_list(b, h->sigalgs, h->n_sigalgs);
	}
	hash12(o, buf, n ? (size_t)(b - buf) : 0);
	o += 12;
	*o = '\0';
}

/* Copies the first host_name of a server_name extension into out, if it
 * is all in the bytes and fits: 1 to META_NAME_MAX bytes, none of them
 * NUL. A malformed or cut list leaves out->sni empty. */
static void tls_sni_read(struct cur c, struct tls_meta *out)
{
	uint16_t list_len, name_len;
	uint8_t type;

	if (cur_u16(&c, &list_len) < 0)
		return;
	if (cur_left(&c) > list_len)
		c.end = c.p + list_len;
	while (cur_u8(&c, &type) == 0 && cur_u16(&c, &name_len) == 0) {
		if (cur_left(&c) < name_len)
			return;
		if (type == 0) {
			if (name_len == 0 || name_len > META_NAME_MAX || memchr(c.p, 0, name_len))
				return;
			memcpy(out->sni, c.p, name_len);
			out->sni[name_len] = '\0';
			out->sni_len = name_len;
			return;
		}
		c.p += name_len;
	}
}

static void tls_alpn_read(struct cur c, struct hello *h)
{
	uint16_t list_len;
	uint8_t n;

	if (cur_u16(&c, &list_len) < 0 || cur_u8(&c, &n) < 0 || n == 0 || cur_left(&c) < n)
		return;
	h->alpn_len = n;
	h->alpn_first = c.p[0];
	h->alpn_last = c.p[n - 1];
}

static void tls_versions_read(struct cur c, struct hello *h)
{
	uint8_t n;
	uint16_t v;

	if (cur_u8(&c, &n) < 0)
		return;
	if (cur_left(&c) > n)
		c.end = c.p + n;
	while (cur_u16(&c, &v) == 0)
		if (!tls_is_grease(v) && v > h->best_version)
			h->best_version = v;
}

static void tls_sigalgs_read(struct cur c, struct hello *h)
{
	uint16_t n, v;

	if (cur_u16(&c, &n) < 0)
		return;
	if (cur_left(&c) > n)
		c.end = c.p + n;
	while (cur_u16(&c, &v) == 0) {
		if (tls_is_grease(v))
			continue;
		if (h->n_sigalgs == HELLO_MAX_SIGALGS) {
			h->overflow = 1;
			return;
		}
		h->sigalgs[h->n_sigalgs++] = v;
	}
}

/* Reads the extensions block. cut says the hello was cut short, so that
 * running out of bytes is HELLO_CUT rather than a format error. */
static int tls_exts_read(struct cur *c, int cut, struct hello *h, struct tls_meta *out)
{
	uint16_t blk_len, type, len;
	struct cur blk, data;

	if (cur_left(c) == 0)
		return 0; /* a hello without extensions */
	if (cur_u16(c, &blk_len) < 0)
		return cut ? HELLO_CUT : YG_EFORMAT;
	if (cur_sub(c, blk_len, &blk) < 0) {
		if (!cut)
			return YG_EFORMAT;
		blk = *c;
	}
	while (cur_left(&blk) > 0) {
		if (cur_u16(&blk, &type) < 0 || cur_u16(&blk, &len) < 0)
			return cut ? HELLO_CUT : YG_EFORMAT;
		if (cur_sub(&blk, len, &data) < 0) {
			if (!cut)
				return YG_EFORMAT;
			/* Cut inside this extension: the SNI may still be whole. */
			if (type == TLS_EXT_SERVER_NAME)
				tls_sni_read(blk, out);
			return HELLO_CUT;
		}
		if (tls_is_grease(type))
			continue;
		if (h->n_exts == HELLO_MAX_EXTS)
			h->overflow = 1;
		else
			h->exts[h->n_exts++] = type;
		switch (type) {
		case TLS_EXT_SERVER_NAME:
			if (!h->has_sni_ext)
				tls_sni_read(data, out);
			h->has_sni_ext = 1;
			break;
		case TLS_EXT_ALPN:
			if (h->alpn_len == 0)
				tls_alpn_read(data, h);
			break;
		case TLS_EXT_SUPP_VERS:
			tls_versions_read(data, h);
			break;
		case TLS_EXT_SIG_ALGS:
			/* Only the first: JA4 lists one set, in its order. */
			if (!h->has_sigalgs_ext)
				tls_sigalgs_read(data, h);
			h->has_sigalgs_ext = 1;
			break;
		}
	}
	return 0;
}

/* Reads a ClientHello body (after the handshake header). */
static int tls_hello_read(struct cur c, int cut, struct hello *h, struct tls_meta *out)
{
	uint8_t sid_len, comp_len;
	uint16_t cs_len, v;
	struct cur cs;

	if (cur_u16(&c, &h->legacy_version) < 0)
		return cut ? HELLO_CUT : YG_EFORMAT;
	out->version = h->legacy_version;
	if (cur_skip(&c, 32) < 0 || cur_u8(&c, &sid_len) < 0)
		return cut ? HELLO_CUT : YG_EFORMAT;
	if (sid_len > 32)
		return YG_EFORMAT;
	if (cur_skip(&c, sid_len) < 0 || cur_u16(&c, &cs_len) < 0)
		return cut ? HELLO_CUT : YG_EFORMAT;
	if (cs_len & 1)
		return YG_EFORMAT;
	if (cur_sub(&c, cs_len, &cs) < 0)
		return cut ? HELLO_CUT : YG_EFORMAT;
	while (cur_u16(&cs, &v) == 0) {
		if (tls_is_grease(v))
			continue;
		if (h->n_ciphers == HELLO_MAX_CIPHERS) {
			h->overflow = 1;
			break;
		}
		h->ciphers[h->n_ciphers++] = v;
	}
	if (cur_u8(&c, &comp_len) < 0)
		return cut ? HELLO_CUT : YG_EFORMAT;
	if (comp_len == 0)
		return YG_EFORMAT;
	if (cur_skip(&c, comp_len) < 0)
		return cut ? HELLO_CUT : YG_EFORMAT;
	return tls_exts_read(&c, cut, h, out);
}

int tls_parse_client_hello(const uint8_t *p, size_t len, char transport, struct tls_meta *out)
{
	struct hello h;
	struct cur c = cur_make(p, len), body;
	uint8_t type;
	uint32_t hs_len;
	int rc, cut;

	memset(out, 0, sizeof(*out));
	memset(&h, 0, offsetof(struct hello, ciphers));

	/* QUIC carries handshake messages in CRYPTO frames, with no record
	 * layer: the bytes start at the handshake header. */
	if (transport != 'q') {
		uint8_t ct, vmaj;
		uint16_t rec_len;

		if (cur_u8(&c, &ct) < 0)
			return YG_ETRUNC;
		if (ct != TLS_CT_HANDSHAKE)
			return YG_EFORMAT;
		if (cur_u8(&c, &vmaj) < 0)
			return YG_ETRUNC;
		if (vmaj != 3)
			return YG_EFORMAT;
		if (cur_skip(&c, 1) < 0 || cur_u16(&c, &rec_len) < 0)
			return YG_ETRUNC;
		if (rec_len == 0 || rec_len > TLS_RECORD_MAX)
			return YG_EFORMAT;
		if (cur_left(&c) > rec_len)
			c.end = c.p + rec_len;
	}
	if (cur_u8(&c, &type) < 0)
		return YG_ETRUNC;
	if (type != TLS_HS_CLIENT_HELLO)
		return YG_EFORMAT;
	if (cur_u24(&c, &hs_len) < 0)
		return 0; /* a ClientHello, cut before anything in it */

	/* The handshake may claim more than this record or segment holds:
	 * read what is there and call the hello cut. */
	cut = cur_left(&c) < hs_len;
	body = c;
	if (!cut)
		body.end = body.p + hs_len;

	rc = tls_hello_read(body, cut, &h, out);
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	if (h.best_version)
		out->version = h.best_version;
	if (rc == HELLO_CUT || cut || h.overflow)
		return 0;

	ja4_build(&h, transport, out->ja4);
	out->has_ja4 = 1;
	return 0;
}
