/* note.c - C2SP signed notes, Ed25519 note signatures and timestamped
 * Ed25519 cosignatures (tlog-cosignature), and the checkpoint text inside.
 *
 * Hostile input is the normal case here: a note comes from a log or a
 * witness we do not control. Every length is checked against the bytes
 * present before it is used; nothing is allocated except the message a
 * cosignature signs. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "tlog/tlog.h"
#include "tlog/tlog_int.h"

#define SIG_PREFIX     "\xe2\x80\x94 " /* em dash U+2014 and a space */
#define SIG_PREFIX_LEN 4
#define ED25519_BLOB   (4 + 64)
#define COSIG_BLOB     (4 + 8 + 64)
#define INT63_MAX      ((uint64_t)INT64_MAX)

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Checks one signature blob (id || [time ||] signature) by key k over text.
 * 0 if it verifies, YG_ECONFLICT if not, YG_ENOMEM. */
static int verify_sig(const struct tlog_verifier *k, const char *text, size_t len,
                      const uint8_t *blob, size_t blen, uint64_t *time)
{
	char *msg;
	size_t mlen;
	uint64_t t;
	int ok;

	if (k->type == TLOG_SIG_ED25519) {
		if (blen != ED25519_BLOB)
			return YG_ECONFLICT;
		ok = crypto_sign_ed25519_verify_detached(blob + 4, (const uint8_t *)text, len,
		                                         k->pub);
		*time = 0;
		return ok == 0 ? 0 : YG_ECONFLICT;
	}
	if (k->type != TLOG_SIG_COSIGNATURE || blen != COSIG_BLOB ||
	    (t = load_be64(blob + 4)) > INT63_MAX)
		return YG_ECONFLICT;
	if (!(msg = tlog_cosig_message(text, len, t, &mlen)))
		return YG_ENOMEM;
	ok = crypto_sign_ed25519_verify_detached(blob + 12, (const uint8_t *)msg, mlen, k->pub);
	free(msg);
	*time = t;
	return ok == 0 ? 0 : YG_ECONFLICT;
}

/* The one key among keys with this name and id; -1 if none, -2 if two
 * different keys claim it. */
static int find_key(const struct tlog_verifier *keys, size_t nkeys, const char *name, size_t nlen,
                    uint32_t id)
{
	int found = -1;
	size_t i;

	for (i = 0; i < nkeys; i++) {
		const struct tlog_verifier *k = &keys[i];
		if (k->id != id || k->name_len != nlen || memcmp(k->name, name, nlen) != 0)
			continue;
		if (found < 0)
			found = (int)i;
		else if (keys[found].type != k->type || memcmp(keys[found].pub, k->pub, 32) != 0)
			return -2;
	}
	return found;
}

int tlog_note_open(const char *msg, size_t len, const struct tlog_verifier *keys, size_t nkeys,
                   struct tlog_note *n)
{
	const char *p, *end = msg + len;
	size_t split;

	if (len > TLOG_NOTE_MAX)
		return YG_ELIMIT;
	if (!tlog_text_valid(msg, len, 1))
		return YG_EFORMAT;
	if (nkeys > 0 && sodium_init() < 0)
		return YG_ENOMEM;
	/* The text ends at the last blank line; signature lines follow. */
	for (split = len < 2 ? 0 : len - 1; split > 0; split--)
		if (msg[split - 1] == '\n' && msg[split] == '\n')
			break;
	if (split == 0 || split + 1 == len || msg[len - 1] != '\n')
		return YG_EFORMAT;
	n->text = msg;
	n->text_len = split; /* through the first of the two newlines */
	n->nsigs = 0;
	n->verified = 0;
	for (p = msg + split + 1; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *name, *sp, *b64;
		uint8_t blob[COSIG_BLOB];
		size_t blen, nlen;
		struct tlog_note_sig *s;
		int k, err;

		/* nl exists: the note ends in '\n'. */
		if (nl - p < SIG_PREFIX_LEN || memcmp(p, SIG_PREFIX, SIG_PREFIX_LEN) != 0)
			return YG_EFORMAT;
		name = p + SIG_PREFIX_LEN;
		if (!(sp = memchr(name, ' ', (size_t)(nl - name))))
			return YG_EFORMAT;
		nlen = (size_t)(sp - name);
		b64 = sp + 1;
		if (!tlog_name_chars_valid(name, nlen) || b64 == nl ||
		    tlog_b64_decode(b64, (size_t)(nl - b64), blob, sizeof blob, &blen) < 0 ||
		    blen < 5)
			return YG_EFORMAT;
		if (n->nsigs == TLOG_NOTE_MAX_SIGS)
			return YG_ELIMIT;
		s = &n->sigs[n->nsigs++];
		s->name = name;
		s->name_len = nlen;
		s->id = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 |
		        blob[3];
		s->key = -1;
		s->time = 0;
		p = nl + 1;
		if ((k = find_key(keys, nkeys, name, nlen, s->id)) == -2)
			return YG_EINVAL;
		if (k < 0)
			continue; /* someone else's: ignored, as the spec says */
		/* A known key's signature is always checked, duplicates too. */
		if ((err = verify_sig(&keys[k], n->text, n->text_len, blob, blen, &s->time)) < 0)
			return err;
		s->key = k;
		n->verified++;
	}
	return n->verified > 0 ? 0 : YG_ENOTFOUND;
}

int tlog_note_sigline(const char *text, size_t len, const struct tlog_signer *k, uint64_t time,
                      struct jbuf *out)
{
	uint8_t blob[COSIG_BLOB];
	char b64[B64_LEN(COSIG_BLOB) + 1];
	size_t blen;

	if (len == 0 || len > TLOG_NOTE_MAX || text[len - 1] != '\n' ||
	    !tlog_text_valid(text, len, 1))
		return YG_EFORMAT;
	if (sodium_init() < 0)
		return YG_ENOMEM;
	store_be32(blob, k->id);
	if (k->type == TLOG_SIG_ED25519) {
		crypto_sign_ed25519_detached(blob + 4, NULL, (const uint8_t *)text, len, k->sk);
		blen = ED25519_BLOB;
	} else if (k->type == TLOG_SIG_COSIGNATURE) {
		char *msg;
		size_t mlen;
		int i;

		if (time > INT63_MAX)
			return YG_EINVAL;
		if (!(msg = tlog_cosig_message(text, len, time, &mlen)))
			return YG_ENOMEM;
		for (i = 0; i < 8; i++)
			blob[4 + i] = (uint8_t)(time >> (56 - 8 * i));
		crypto_sign_ed25519_detached(blob + 12, NULL, (const uint8_t *)msg, mlen, k->sk);
		free(msg);
		blen = COSIG_BLOB;
	} else {
		return YG_EINVAL;
	}
	tlog_b64_encode(blob, blen, b64);
	jbuf_lit(out, SIG_PREFIX);
	jbuf_put(out, k->name, k->name_len);
	jbuf_putc(out, ' ');
	jbuf_puts(out, b64);
	jbuf_putc(out, '\n');
	return out->err;
}

int tlog_note_sign(const char *text, size_t len, const struct tlog_signer *k, uint64_t time,
                   struct jbuf *out)
{
	size_t mark = out->len;
	int err;

	if (len == 0 || text[len - 1] != '\n')
		return YG_EFORMAT;
	jbuf_put(out, text, len);
	jbuf_putc(out, '\n');
	if ((err = out->err) < 0 || (err = tlog_note_sigline(text, len, k, time, out)) < 0) {
		if (!out->err)
			out->len = mark; /* leave no half note behind */
		return err;
	}
	return 0;
}

/* ---- Checkpoints ---- */

/* Extension lines: empty, or non-empty lines each ending in '\n'. */
static int ext_valid(const char *p, size_t len)
{
	size_t i;

	if (len == 0)
		return 1;
	if (p[0] == '\n' || p[len - 1] != '\n' || !tlog_text_valid(p, len, 1))
		return 0;
	for (i = 1; i < len; i++)
		if (p[i] == '\n' && p[i - 1] == '\n')
			return 0;
	return 1;
}

int tlog_checkpoint_format(const struct tlog_checkpoint *c, struct jbuf *out)
{
	char b64[TLOG_HASH_B64_LEN + 1];

	if (c->origin_len == 0 || !tlog_text_valid(c->origin, c->origin_len, 0) ||
	    !ext_valid(c->ext, c->ext_len))
		return YG_EFORMAT;
	if (c->size > INT63_MAX)
		return YG_EINVAL;
	tlog_hash_to_b64(&c->root, b64);
	jbuf_put(out, c->origin, c->origin_len);
	jbuf_putc(out, '\n');
	jbuf_u64(out, c->size);
	jbuf_putc(out, '\n');
	jbuf_put(out, b64, TLOG_HASH_B64_LEN);
	jbuf_putc(out, '\n');
	if (c->ext_len > 0)
		jbuf_put(out, c->ext, c->ext_len);
	return out->err;
}

/* The line at *p, without its '\n'; -1 if there is no '\n'. */
static int next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl)
		return -1;
	*line = *p;
	*len = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

int tlog_checkpoint_parse(const char *text, size_t len, struct tlog_checkpoint *c)
{
	const char *p = text, *end = text + len, *line;
	struct tlog_checkpoint out;
	size_t n, i;

	if (len > TLOG_NOTE_MAX || !tlog_text_valid(text, len, 1))
		return YG_EFORMAT;
	if (next_line(&p, end, &out.origin, &out.origin_len) < 0 || out.origin_len == 0)
		return YG_EFORMAT;
	/* The size: decimal, no sign, no leading zero, below 2^63. */
	if (next_line(&p, end, &line, &n) < 0 || n == 0 || n > 19 || (n > 1 && line[0] == '0'))
		return YG_EFORMAT;
	out.size = 0;
	for (i = 0; i < n; i++) {
		if (line[i] < '0' || line[i] > '9')
			return YG_EFORMAT;
		out.size = out.size * 10 + (uint64_t)(line[i] - '0');
	}
	if (out.size > INT63_MAX)
		return YG_EFORMAT;
	if (next_line(&p, end, &line, &n) < 0 || tlog_hash_from_b64(line, n, &out.root) < 0)
		return YG_EFORMAT;
	out.ext = p;
	out.ext_len = (size_t)(end - p);
	if (!ext_valid(out.ext, out.ext_len))
		return YG_EFORMAT;
	*c = out;
	return 0;
}

int tlog_checkpoint_open(const char *msg, size_t len, const struct tlog_verifier *keys,
                         size_t nkeys, struct tlog_note *n, struct tlog_checkpoint *c)
{
	int err = tlog_note_open(msg, len, keys, nkeys, n);

	if (err < 0)
		return err;
	return tlog_checkpoint_parse(n->text, n->text_len, c);
}
