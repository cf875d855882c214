/* tlog_int.h - what the files of src/tlog share and nobody else needs:
 * strict base64, UTF-8 and key-name checks, the key ID. */
#ifndef YAGURA_TLOG_TLOG_INT_H
#define YAGURA_TLOG_TLOG_INT_H

#include <stddef.h>
#include <stdint.h>

/* Length of the padded base64 text of n bytes. */
#define B64_LEN(n) (((n) + 2) / 3 * 4)

/* Writes the padded standard base64 of p[0..n-1] and a NUL to out, which
 * holds B64_LEN(n) + 1 bytes. Returns B64_LEN(n). */
size_t tlog_b64_encode(const uint8_t *p, size_t n, char *out);

/* Decodes canonical padded standard base64: length a multiple of 4, '='
 * only as the last one or two characters, unused bits zero. Writes the
 * first cap decoded bytes to out (out may be NULL when cap is 0) and the
 * full decoded length to *n. Returns 0, or -1 if s is not canonical. */
int tlog_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n);

/* Decodes one UTF-8 sequence at p (left bytes): the code point, or -1 for
 * an invalid, overlong, surrogate or truncated sequence. *size gets its
 * length (1 when invalid). */
long tlog_utf8_next(const uint8_t *p, size_t left, size_t *size);

/* 1 if p[0..len-1] is valid UTF-8 with no control character below U+0020
 * other than '\n' (newline_ok) — the rule of signed notes. */
int tlog_text_valid(const char *p, size_t len, int newline_ok);

/* 1 if name is a valid key name: 1..TLOG_NAME_MAX bytes of UTF-8, no
 * White_Space, no '+', no control characters. */
int tlog_name_valid(const char *name, size_t len);
/* The same without the length cap, for names in notes: a longer name is no
 * key of ours, but not malformed either. */
int tlog_name_chars_valid(const char *name, size_t len);

/* SHA-256(name || '\n' || type || pub)[:4], big-endian. */
uint32_t tlog_key_id(const char *name, size_t len, uint8_t type, const uint8_t pub[32]);

/* The message a cosignature signs: "cosignature/v1\ntime <t>\n" || text,
 * in a buffer from yg_malloc() the caller frees; NULL if out of memory. */
char *tlog_cosig_message(const char *text, size_t len, uint64_t t, size_t *mlen);

#endif
