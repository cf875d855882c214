/* key.c - Ed25519 keys of signed notes and their texts: verifier keys
 * (name+id+base64(type||public key)) and signer keys as Go's note package
 * writes them (PRIVATE+KEY+name+id+base64(type||seed)). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "tlog/tlog.h"
#include "tlog/tlog_int.h"

static int type_known(uint8_t type)
{
	return type == TLOG_SIG_ED25519 || type == TLOG_SIG_COSIGNATURE;
}

/* 8 lowercase hex digits. */
static int parse_id(const char *s, size_t len, uint32_t *id)
{
	uint32_t v = 0;
	size_t i;

	if (len != 8)
		return -1;
	for (i = 0; i < 8; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*id = v;
	return 0;
}

/* Splits "name+id+base64" (base64 may itself hold '+') and decodes the
 * base64 into type and 32 key bytes. */
static int split_key(const char *s, size_t len, const char **name, size_t *nlen, uint32_t *id,
                     uint8_t *type, uint8_t key[32])
{
	const char *a, *b, *end = s + len;
	uint8_t raw[33] = {0};
	size_t n;
	int ok;

	if (!(a = memchr(s, '+', len)) || !(b = memchr(a + 1, '+', (size_t)(end - a - 1))))
		return -1;
	*name = s;
	*nlen = (size_t)(a - s);
	if (!tlog_name_valid(s, *nlen) || parse_id(a + 1, (size_t)(b - a - 1), id) < 0)
		return -1;
	ok = tlog_b64_decode(b + 1, (size_t)(end - b - 1), raw, sizeof raw, &n) == 0 &&
	     n == sizeof raw && type_known(raw[0]);
	*type = raw[0];
	memcpy(key, raw + 1, 32);
	sodium_memzero(raw, sizeof raw);
	return ok ? 0 : -1;
}

int tlog_vkey_parse(const char *s, size_t len, struct tlog_verifier *v)
{
	struct tlog_verifier out;
	const char *name;

	if (len >= TLOG_KEY_TEXT_MAX ||
	    split_key(s, len, &name, &out.name_len, &out.id, &out.type, out.pub) < 0)
		return YG_EFORMAT;
	if (tlog_key_id(name, out.name_len, out.type, out.pub) != out.id)
		return YG_EFORMAT;
	memcpy(out.name, name, out.name_len);
	out.name[out.name_len] = '\0';
	*v = out;
	return 0;
}

int tlog_vkey_format(const struct tlog_verifier *v, char *buf, size_t cap)
{
	uint8_t raw[33];
	char b64[B64_LEN(33) + 1];
	int w;

	raw[0] = v->type;
	memcpy(raw + 1, v->pub, 32);
	tlog_b64_encode(raw, sizeof raw, b64);
	w = snprintf(buf, cap, "%s+%08x+%s", v->name, (unsigned)v->id, b64);
	if (w < 0 || (size_t)w >= cap)
		return YG_ELIMIT;
	return w;
}

int tlog_signer_from_seed(const char *name, size_t len, uint8_t type, const uint8_t seed[32],
                          struct tlog_signer *s)
{
	if (!tlog_name_valid(name, len))
		return YG_EFORMAT;
	if (!type_known(type))
		return YG_EINVAL;
	if (sodium_init() < 0)
		return YG_ENOMEM;
	memcpy(s->name, name, len);
	s->name[len] = '\0';
	s->name_len = len;
	s->type = type;
	crypto_sign_ed25519_seed_keypair(s->pub, s->sk, seed);
	s->id = tlog_key_id(name, len, type, s->pub);
	return 0;
}

int tlog_signer_generate(const char *name, size_t len, uint8_t type, struct tlog_signer *s)
{
	uint8_t seed[32];
	int err;

	if (sodium_init() < 0)
		return YG_ENOMEM;
	randombytes_buf(seed, sizeof seed);
	err = tlog_signer_from_seed(name, len, type, seed, s);
	sodium_memzero(seed, sizeof seed);
	return err;
}

int tlog_skey_parse(const char *s, size_t len, struct tlog_signer *k)
{
	static const char prefix[] = "PRIVATE+KEY+";
	const char *name;
	size_t nlen;
	uint32_t id;
	uint8_t type, seed[32];
	int err = YG_EFORMAT;

	if (len >= TLOG_KEY_TEXT_MAX || len < sizeof prefix - 1 ||
	    memcmp(s, prefix, sizeof prefix - 1) != 0)
		return YG_EFORMAT;
	s += sizeof prefix - 1;
	len -= sizeof prefix - 1;
	if (split_key(s, len, &name, &nlen, &id, &type, seed) < 0)
		goto out;
	if ((err = tlog_signer_from_seed(name, nlen, type, seed, k)) < 0)
		goto out;
	if (k->id != id) { /* the id hashes the public key: derived, then checked */
		tlog_signer_wipe(k);
		err = YG_EFORMAT;
	}
out:
	sodium_memzero(seed, sizeof seed);
	return err;
}

int tlog_skey_format(const struct tlog_signer *k, char *buf, size_t cap)
{
	uint8_t raw[33];
	char b64[B64_LEN(33) + 1];
	int w;

	raw[0] = k->type;
	memcpy(raw + 1, k->sk, 32); /* libsodium's secret key starts with the seed */
	tlog_b64_encode(raw, sizeof raw, b64);
	w = snprintf(buf, cap, "PRIVATE+KEY+%s+%08x+%s", k->name, (unsigned)k->id, b64);
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(b64, sizeof b64);
	if (w < 0 || (size_t)w >= cap) {
		if (cap > 0)
			sodium_memzero(buf, cap);
		return YG_ELIMIT;
	}
	return w;
}

void tlog_signer_verifier(const struct tlog_signer *k, struct tlog_verifier *v)
{
	memcpy(v->name, k->name, k->name_len + 1);
	v->name_len = k->name_len;
	v->id = k->id;
	v->type = k->type;
	memcpy(v->pub, k->pub, 32);
}

void tlog_signer_wipe(struct tlog_signer *k)
{
	sodium_memzero(k, sizeof *k);
}
