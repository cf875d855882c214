/* Unit tests for src/tlog, signed-note half: the example of C2SP
 * signed-note.md, Go's sumdb/note test vectors (keys, a deterministic
 * signature, Open's cases), checkpoints (Go's tree note, C2SP's examples),
 * cosignatures checked against libsodium directly, and hostile notes. */
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first. */
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jbuf.h"
#include "tlog/tlog.h"
#include "tlog_tests.h"

/* C2SP signed-note.md, "Verifier keys: Example". */
static const char spec_vkey[] =
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
static const char spec_note[] = "This is an example message.\n"
                                "\n"
                                "\xe2\x80\x94 example.com/foo "
                                "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOB"
                                "H3mFXmRKuwHjG1Yu72IneyaQM=\n";

/* golang.org/x/mod/sumdb/note note_test.go. */
static const char peter_vkey[] =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char peter_skey[] =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char enoch_vkey[] = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
static const char go_text[] = "If you think cryptography is the answer to your problem,\n"
                              "then you don't know what your problem is.\n";
static const char peter_sig[] =
    "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
static const char enoch_sig[] = "\xe2\x80\x94 EnochRoot "
                                "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
                                "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/* C2SP tlog-checkpoint.md and tlog-cosignature.md. */
static const char spec_checkpoint[] = "example.com/behind-the-sofa\n"
                                      "20852163\n"
                                      "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
static const char spec_cosigned[] =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\xe2\x80\x94 example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\xe2\x80\x94 witness.example.com/w1 "
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/"
    "zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

/* Written by Python's cryptography package (an Ed25519 and SHA-256 apart
 * from libsodium) with seeds {1, 0...} and {2, 0...}: the checkpoint of
 * leaves 0..4 (one byte each), signed by the log and cosigned at
 * 1679315147 by the witness. Ed25519 is deterministic, so ours must write
 * the very same bytes. */
static const char py_cosigned[] =
    "example.com/log\n"
    "5\n"
    "uFW0LWww9bCH4FJmeD+9bjlPe5JgE8yqZ3AKiwxaWW8=\n"
    "\n"
    "\xe2\x80\x94 example.com/log "
    "P4Oq6vWvS5iO5oqBf9xXF+Wg6pQCSJON4n6CCD+Alfs2ewt06fRYOZ60RdEE+RISxEIt8Zz1QP4idHf38gFV0nTnjAA=\n"
    "\xe2\x80\x94 witness.example/w1 "
    "BCSDsgAAAABkGFDLLumiCLkIEI3N3zqjyhcn8DAkdJQrJ1MQHK0AkkHS0UKpX/9pxEdnDQGgHJwWY6Gw5Rnb/"
    "jViJYuukAS4z0oRBA==\n";
static const char py_witness_vkey[] =
    "witness.example/w1+042483b2+BGt5xX5qCVI5KCwEgY6WES8/A6QAG6l6VkwjhSo/HqX8";

static struct tlog_note note;

static struct tlog_verifier vkey(const char *s)
{
	struct tlog_verifier v;

	if (tlog_vkey_parse(s, strlen(s), &v) != 0)
		fail_msg("vkey %s: not parsed", s);
	return v;
}

static int open_str(const char *msg, const struct tlog_verifier *keys, size_t nkeys)
{
	return tlog_note_open(msg, strlen(msg), keys, nkeys, &note);
}

/* Concatenates up to four strings (NULL for none) into one of eight
 * rotating static buffers. */
static char *cat(const char *a, const char *b, const char *c, const char *d)
{
	static char buf[8][16384];
	static int which;
	const char *part[4] = {a, b, c, d};
	char *out = buf[which++ % 8];
	size_t len = 0, i, n;

	for (i = 0; i < 4; i++) {
		if (!part[i])
			continue;
		n = strlen(part[i]);
		assert_true(len + n < sizeof buf[0]);
		memmove(out + len, part[i], n);
		len += n;
	}
	out[len] = '\0';
	return out;
}

static void test_spec_example(void **state)
{
	struct tlog_verifier v = vkey(spec_vkey);
	char buf[TLOG_KEY_TEXT_MAX];
	char bad[sizeof spec_note];

	(void)state;
	assert_string_equal(v.name, "example.com/foo");
	assert_int_equal(v.name_len, 15);
	assert_int_equal(v.id, 0x530d903a);
	assert_int_equal(v.type, TLOG_SIG_ED25519);
	assert_int_equal(tlog_vkey_format(&v, buf, sizeof buf), (int)strlen(spec_vkey));
	assert_string_equal(buf, spec_vkey);
	assert_int_equal(open_str(spec_note, &v, 1), 0);
	assert_int_equal(note.verified, 1);
	assert_int_equal(note.nsigs, 1);
	assert_int_equal(note.sigs[0].key, 0);
	assert_int_equal(note.sigs[0].id, 0x530d903a);
	assert_int_equal(note.text_len, strlen("This is an example message.\n"));
	assert_memory_equal(note.text, "This is an example message.\n", note.text_len);
	/* One letter changed, and the known key's signature fails. */
	memcpy(bad, spec_note, sizeof bad);
	bad[0] = 't';
	assert_int_equal(open_str(bad, &v, 1), YG_ECONFLICT);
	/* Nobody we know: the note is not trusted, but says who signed. */
	assert_int_equal(open_str(spec_note, NULL, 0), YG_ENOTFOUND);
	assert_int_equal(note.nsigs, 1);
	assert_int_equal(note.sigs[0].key, -1);
	assert_int_equal(note.sigs[0].name_len, 15);
	assert_memory_equal(note.sigs[0].name, "example.com/foo", 15);
}

static void test_go_sign(void **state)
{
	struct tlog_signer s;
	struct tlog_verifier v;
	char buf[TLOG_KEY_TEXT_MAX];
	struct jbuf out;

	(void)state;
	assert_int_equal(tlog_skey_parse(peter_skey, strlen(peter_skey), &s), 0);
	assert_int_equal(s.id, 0xc74f20a3);
	tlog_signer_verifier(&s, &v);
	assert_int_equal(tlog_vkey_format(&v, buf, sizeof buf), (int)strlen(peter_vkey));
	assert_string_equal(buf, peter_vkey);
	assert_int_equal(tlog_skey_format(&s, buf, sizeof buf), (int)strlen(peter_skey));
	assert_string_equal(buf, peter_skey);
	/* Ed25519 is deterministic: Go's TestSign output, byte for byte. */
	assert_int_equal(jbuf_init(&out, 64, 4096), 0);
	assert_int_equal(tlog_note_sign(go_text, strlen(go_text), &s, 0, &out), 0);
	jbuf_putc(&out, '\0');
	assert_string_equal(out.buf, cat(go_text, "\n", peter_sig, NULL));
	/* Go's bad inputs: text without a final newline. */
	jbuf_reset(&out);
	assert_int_equal(tlog_note_sign("abc", 3, &s, 0, &out), YG_EFORMAT);
	assert_int_equal(out.len, 0);
	assert_int_equal(tlog_note_sigline("a\x01\n", 3, &s, 0, &out), YG_EFORMAT);
	assert_int_equal(tlog_note_sigline("\xff\n", 2, &s, 0, &out), YG_EFORMAT);
	jbuf_fini(&out);
	tlog_signer_wipe(&s);
	assert_int_equal(s.sk[0] | s.sk[31] | s.sk[63], 0);
}

static void test_go_open(void **state)
{
	struct tlog_verifier peter = vkey(peter_vkey), enoch = vkey(enoch_vkey);
	struct tlog_verifier both[2] = {peter, enoch}, dup[3] = {enoch, peter, enoch}, clash[2];
	char *msg, many[16384], bad_sig[256];
	size_t i;
	static const char *bad_msgs[7];

	(void)state;
	/* One signature verified, one not. */
	msg = cat(go_text, "\n", peter_sig, enoch_sig);
	assert_int_equal(open_str(msg, &peter, 1), 0);
	assert_int_equal(note.text_len, strlen(go_text));
	assert_memory_equal(note.text, go_text, note.text_len);
	assert_int_equal(note.nsigs, 2);
	assert_int_equal(note.verified, 1);
	assert_int_equal(note.sigs[0].key, 0);
	assert_int_equal(note.sigs[0].id, 0xc74f20a3);
	assert_int_equal(note.sigs[1].key, -1);
	assert_int_equal(note.sigs[1].id, 0xaf0cfe78);
	assert_memory_equal(note.sigs[1].name, "EnochRoot", note.sigs[1].name_len);
	/* Both verified; neither known. */
	assert_int_equal(open_str(msg, both, 2), 0);
	assert_int_equal(note.verified, 2);
	assert_int_equal(note.sigs[1].key, 1);
	assert_int_equal(open_str(msg, NULL, 0), YG_ENOTFOUND);
	assert_int_equal(note.nsigs, 2);
	/* The same key listed twice is harmless; two different keys with one
	 * name and id are a broken configuration, and refused. */
	assert_int_equal(open_str(cat(go_text, "\n", enoch_sig, NULL), dup, 3), 0);
	clash[0] = enoch;
	clash[1] = enoch;
	clash[1].pub[0] ^= 1;
	assert_int_equal(open_str(cat(go_text, "\n", enoch_sig, NULL), clash, 2), YG_EINVAL);
	assert_int_equal(open_str(cat(go_text, "\n", peter_sig, NULL), clash, 2), YG_ENOTFOUND);
	/* Too many signatures: 101 is over the limit, known or not. */
	snprintf(many, sizeof many, "%s\n", go_text);
	for (i = 0; i < 101; i++)
		strncat(many, peter_sig, sizeof many - strlen(many) - 1);
	assert_int_equal(open_str(many, &peter, 1), YG_ELIMIT);
	assert_int_equal(open_str(many, NULL, 0), YG_ELIMIT);
	many[strlen(many) - strlen(peter_sig)] = '\0';
	assert_int_equal(open_str(many, &peter, 1), 0);
	assert_int_equal(note.verified, 100);
	/* An invalid signature by a known key rejects the note. */
	snprintf(bad_sig, sizeof bad_sig, "%.60sABCD%s", peter_sig, peter_sig + 60);
	assert_int_equal(open_str(cat(go_text, "\n", bad_sig, NULL), &peter, 1), YG_ECONFLICT);
	/* Duplicated verified and unverified signatures. */
	snprintf(bad_sig, sizeof bad_sig, "%.60sABCD%s", enoch_sig, enoch_sig + 60);
	msg = cat(go_text, "\n", peter_sig, peter_sig);
	msg = cat(msg, enoch_sig, enoch_sig, bad_sig);
	assert_int_equal(open_str(msg, &peter, 1), 0);
	assert_int_equal(note.nsigs, 5);
	assert_int_equal(note.verified, 2);
	/* Go's malformed notes. */
	bad_msgs[0] = go_text;
	bad_msgs[1] = cat(go_text, "\n", NULL, NULL);
	snprintf(bad_sig, sizeof bad_sig, "%.*s", (int)strlen(peter_sig) - 1, peter_sig);
	bad_msgs[2] = cat(go_text, "\n", bad_sig, NULL);
	bad_msgs[3] = cat("\x01", go_text, "\n", peter_sig);
	bad_msgs[4] = cat("\xff", go_text, "\n", peter_sig);
	bad_msgs[5] =
	    cat(go_text, "\n",
	        "\xe2\x80\x94 Bad Name "
	        "x08go/ZJkuBS9UG/"
	        "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
	        NULL);
	bad_msgs[6] = cat(go_text, "\n", peter_sig, "Unexpected line.\n");
	for (i = 0; i < 7; i++)
		if (open_str(bad_msgs[i], &peter, 1) != YG_EFORMAT)
			fail_msg("bad message %zu opened", i);
}

/* Go's TestNewVerifier and TestNewSigner: every proper substring and every
 * byte changed by one is refused. */
static void mangle(const char *key, int secret)
{
	char b[TLOG_KEY_TEXT_MAX];
	size_t n = strlen(key), i, j;
	struct tlog_verifier v;
	struct tlog_signer s;

	memcpy(b, key, n + 1);
	for (i = 0; i <= n; i++)
		for (j = i + 1; j <= n; j++) {
			int rc;
			if (i == 0 && j == n)
				continue;
			rc = secret ? tlog_skey_parse(b + i, j - i, &s)
			            : tlog_vkey_parse(b + i, j - i, &v);
			if (rc == 0)
				fail_msg("%.*s: parsed", (int)(j - i), b + i);
		}
	for (i = 0; i < n; i++) {
		int rc;
		b[i]++;
		rc = secret ? tlog_skey_parse(b, n, &s) : tlog_vkey_parse(b, n, &v);
		if (rc == 0)
			fail_msg("%s: parsed", b);
		b[i]--;
	}
}

static void test_key_mangling(void **state)
{
	struct tlog_verifier v;
	static const char *const bad[] = {
	    /* Go's: wrong key length with adjusted id; unknown algorithm. */
	    "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
	    "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    /* Ours: an upper-case id, a missing part, a name too long. */
	    "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "PeterNeumann+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	};
	size_t i;

	(void)state;
	mangle(peter_vkey, 0);
	mangle(peter_skey, 1);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (tlog_vkey_parse(bad[i], strlen(bad[i]), &v) == 0)
			fail_msg("%s: parsed", bad[i]);
	/* A verifier key is not a signer key, nor the other way round. */
	assert_int_equal(tlog_skey_parse(peter_vkey, strlen(peter_vkey), &(struct tlog_signer){0}),
	                 YG_EFORMAT);
	assert_int_equal(tlog_vkey_parse(peter_skey, strlen(peter_skey), &v), YG_EFORMAT);
}

static void test_keys(void **state)
{
	static const uint8_t seed[32] = {1, 2, 3};
	static const char *const bad_names[] = {
	    "",
	    "a b",
	    "a+b",
	    "a\tb",
	    "a\nb",
	    "a\x01"
	    "b",
	    "a\x7f"
	    "b",
	    "a\xc2\xa0"
	    "b",
	    "a\xe3\x80\x80"
	    "b",
	    "a\xe2\x80\xa8"
	    "b",
	    "a\xc2\x85"
	    "b",
	    "a\xff"
	    "b",
	    "a\xc0\xaf"
	    "b",
	};
	struct tlog_signer s, s2, w;
	struct tlog_verifier v, v2;
	char text[TLOG_KEY_TEXT_MAX], name[300];
	uint8_t sum[32], in[300];
	struct jbuf out;
	size_t i;
	int len;

	(void)state;
	assert_int_equal(tlog_signer_generate("log.example/yagura", 18, TLOG_SIG_ED25519, &s), 0);
	len = tlog_skey_format(&s, text, sizeof text);
	assert_true(len > 0);
	assert_memory_equal(text, "PRIVATE+KEY+log.example/yagura+", 31);
	assert_int_equal(tlog_skey_parse(text, (size_t)len, &s2), 0);
	assert_memory_equal(s2.sk, s.sk, 64);
	assert_int_equal(s2.id, s.id);
	tlog_signer_verifier(&s, &v);
	len = tlog_vkey_format(&v, text, sizeof text);
	assert_true(len > 0);
	assert_int_equal(tlog_vkey_parse(text, (size_t)len, &v2), 0);
	assert_memory_equal(&v2.pub, &s.pub, 32);
	/* The key ID is SHA-256(name || '\n' || 0x01 || key)[:4]. */
	memcpy(in, "log.example/yagura\n\x01", 20);
	memcpy(in + 20, s.pub, 32);
	crypto_hash_sha256(sum, in, 52);
	assert_int_equal(v.id, (uint32_t)sum[0] << 24 | (uint32_t)sum[1] << 16 |
	                           (uint32_t)sum[2] << 8 | sum[3]);
	/* Sign and open. */
	assert_int_equal(jbuf_init(&out, 64, 4096), 0);
	assert_int_equal(tlog_note_sign("hello\n", 6, &s, 0, &out), 0);
	assert_int_equal(tlog_note_open(out.buf, out.len, &v, 1, &note), 0);
	jbuf_fini(&out);
	/* Two generated keys differ. */
	assert_int_equal(tlog_signer_generate("log.example/yagura", 18, TLOG_SIG_ED25519, &s2), 0);
	assert_memory_not_equal(s.pub, s2.pub, 32);
	/* A witness key from the same seed has another id. */
	assert_int_equal(tlog_signer_from_seed("w", 1, TLOG_SIG_ED25519, seed, &s), 0);
	assert_int_equal(tlog_signer_from_seed("w", 1, TLOG_SIG_COSIGNATURE, seed, &w), 0);
	assert_memory_equal(s.pub, w.pub, 32);
	assert_int_not_equal(s.id, w.id);
	len = tlog_skey_format(&w, text, sizeof text);
	assert_int_equal(tlog_skey_parse(text, (size_t)len, &s2), 0);
	assert_int_equal(s2.type, TLOG_SIG_COSIGNATURE);
	tlog_signer_verifier(&w, &v);
	len = tlog_vkey_format(&v, text, sizeof text);
	assert_int_equal(tlog_vkey_parse(text, (size_t)len, &v2), 0);
	assert_int_equal(v2.type, TLOG_SIG_COSIGNATURE);
	/* Names and types refused. */
	for (i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
		if (tlog_signer_from_seed(bad_names[i], strlen(bad_names[i]), TLOG_SIG_ED25519,
		                          seed, &s) != YG_EFORMAT)
			fail_msg("name %zu accepted", i);
	memset(name, 'n', sizeof name);
	assert_int_equal(tlog_signer_from_seed(name, TLOG_NAME_MAX, TLOG_SIG_ED25519, seed, &s), 0);
	len = tlog_vkey_format(&(struct tlog_verifier){0}, text, 1);
	assert_int_equal(len, YG_ELIMIT);
	tlog_signer_verifier(&s, &v);
	len = tlog_vkey_format(&v, text, sizeof text);
	assert_true(len > 0);
	assert_int_equal(tlog_vkey_parse(text, (size_t)len, &v2), 0);
	assert_int_equal(tlog_skey_format(&s, text, 20), YG_ELIMIT);
	assert_int_equal(tlog_signer_from_seed(name, TLOG_NAME_MAX + 1, TLOG_SIG_ED25519, seed, &s),
	                 YG_EFORMAT);
	assert_int_equal(tlog_signer_from_seed("w", 1, 0x02, seed, &s), YG_EINVAL);
	assert_int_equal(tlog_signer_generate("w", 1, 0x06, &s), YG_EINVAL);
	/* Unicode letters are fine in a name. */
	assert_int_equal(tlog_signer_from_seed("\xe6\xab\x93", 3, TLOG_SIG_ED25519, seed, &s), 0);
	tlog_signer_wipe(&s);
	tlog_signer_wipe(&s2);
	tlog_signer_wipe(&w);
}

static void test_checkpoints(void **state)
{
	static const char go_tree[] = "go.sum database tree\n123456789012\n"
	                              "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
	static const char *const bad[] = {
	    "",
	    "o\n",
	    "o\n1\n",
	    "\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
	    "o\n01\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
	    "o\n+1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
	    "o\n-1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
	    "o\n 1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
	    "o\n\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
	    "o\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
	    "o\n9223372036854775808\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
	    "o\n99999999999999999999\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
	    "o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=",
	    "o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n\n",
	    "o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\nJOE",
	    "o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\nJOE\n\nJOE\n",
	    "o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n",
	    "o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb1=\n",
	    "o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0\n",
	    "o\r\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
	    "o\xff\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
	};
	struct tlog_checkpoint c;
	struct jbuf out;
	struct tlog_hash h;
	size_t i;

	(void)state;
	/* Go's TestFormatTree: the go.sum tree note is a checkpoint. */
	assert_int_equal(jbuf_init(&out, 64, 4096), 0);
	tlog_leaf_hash("hello world", 11, &h);
	c = (struct tlog_checkpoint){"go.sum database tree", 20, 123456789012ULL, h, NULL, 0};
	assert_int_equal(tlog_checkpoint_format(&c, &out), 0);
	assert_int_equal(out.len, strlen(go_tree));
	assert_memory_equal(out.buf, go_tree, out.len);
	assert_int_equal(tlog_checkpoint_parse(go_tree, strlen(go_tree), &c), 0);
	assert_int_equal(c.size, 123456789012ULL);
	assert_memory_equal(c.root.b, h.b, 32);
	assert_int_equal(c.origin_len, 20);
	assert_int_equal(c.ext_len, 0);
	/* C2SP's example, and extension lines, both ways. */
	assert_int_equal(tlog_checkpoint_parse(spec_checkpoint, strlen(spec_checkpoint), &c), 0);
	assert_int_equal(c.size, 20852163);
	assert_memory_equal(c.origin, "example.com/behind-the-sofa", c.origin_len);
	jbuf_reset(&out);
	assert_int_equal(tlog_checkpoint_format(&c, &out), 0);
	assert_memory_equal(out.buf, spec_checkpoint, out.len);
	{
		const char *t = cat(go_tree, "JOE\n", "\xe6\xab\x93 x\n", NULL);
		assert_int_equal(tlog_checkpoint_parse(t, strlen(t), &c), 0);
		assert_int_equal(c.ext_len, strlen("JOE\n\xe6\xab\x93 x\n"));
		jbuf_reset(&out);
		assert_int_equal(tlog_checkpoint_format(&c, &out), 0);
		assert_memory_equal(out.buf, t, out.len);
	}
	assert_int_equal(
	    tlog_checkpoint_parse(
	        "o\n9223372036854775807\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n", 67, &c),
	    0);
	assert_int_equal(c.size, 9223372036854775807ULL);
	assert_int_equal(
	    tlog_checkpoint_parse("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", 49, &c),
	    0);
	assert_int_equal(c.size, 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (tlog_checkpoint_parse(bad[i], strlen(bad[i]), &c) != YG_EFORMAT)
			fail_msg("checkpoint %zu parsed", i);
	assert_int_equal(
	    tlog_checkpoint_parse("o\0\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n", 50, &c),
	    YG_EFORMAT);
	/* Formatting refuses what parsing would. */
	jbuf_reset(&out);
	c = (struct tlog_checkpoint){"", 0, 1, h, NULL, 0};
	assert_int_equal(tlog_checkpoint_format(&c, &out), YG_EFORMAT);
	c = (struct tlog_checkpoint){"a\nb", 3, 1, h, NULL, 0};
	assert_int_equal(tlog_checkpoint_format(&c, &out), YG_EFORMAT);
	c = (struct tlog_checkpoint){"a", 1, 1, h, "x", 1};
	assert_int_equal(tlog_checkpoint_format(&c, &out), YG_EFORMAT);
	c = (struct tlog_checkpoint){"a", 1, 1, h, "\n", 1};
	assert_int_equal(tlog_checkpoint_format(&c, &out), YG_EFORMAT);
	c = (struct tlog_checkpoint){"a", 1, 1, h, "x\n\ny\n", 5};
	assert_int_equal(tlog_checkpoint_format(&c, &out), YG_EFORMAT);
	c = (struct tlog_checkpoint){"a", 1, (uint64_t)INT64_MAX + 1, h, NULL, 0};
	assert_int_equal(tlog_checkpoint_format(&c, &out), YG_EINVAL);
	assert_int_equal(out.len, 0);
	jbuf_fini(&out);
	/* The cosigned example: well formed, signed by keys we do not hold. */
	assert_int_equal(
	    tlog_checkpoint_open(spec_cosigned, strlen(spec_cosigned), NULL, 0, &note, &c),
	    YG_ENOTFOUND);
	assert_int_equal(note.nsigs, 2);
	assert_memory_equal(note.sigs[1].name, "witness.example.com/w1", note.sigs[1].name_len);
	assert_int_equal(tlog_checkpoint_parse(note.text, note.text_len, &c), 0);
	assert_int_equal(c.size, 20852163);
}

static void test_cosignature(void **state)
{
	static const uint8_t log_seed[32] = {1}, wit_seed[32] = {2};
	const uint64_t t = 1679315147;
	struct tlog_signer log, wit;
	struct tlog_verifier keys[2], wit_as_note;
	struct tlog_checkpoint c = {"example.com/log", 15, 5, {{0}}, NULL, 0};
	struct jbuf text, msg;
	char *line, b64[200], *signed_msg;
	uint8_t blob[76];
	size_t blen, mlen;
	int i;

	(void)state;
	assert_int_equal(
	    tlog_signer_from_seed("example.com/log", 15, TLOG_SIG_ED25519, log_seed, &log), 0);
	assert_int_equal(
	    tlog_signer_from_seed("witness.example/w1", 18, TLOG_SIG_COSIGNATURE, wit_seed, &wit),
	    0);
	tlog_signer_verifier(&log, &keys[0]);
	tlog_signer_verifier(&wit, &keys[1]);
	assert_int_equal(jbuf_init(&text, 64, 4096), 0);
	assert_int_equal(jbuf_init(&msg, 64, 4096), 0);
	{
		struct tlog_edge e;
		struct tlog_hash out[TLOG_MAX_STORED];
		size_t cnt;
		uint8_t b;

		tlog_edge_init(&e);
		for (b = 0; b < 5; b++) {
			struct tlog_hash leaf;
			tlog_leaf_hash(&b, 1, &leaf);
			assert_int_equal(tlog_edge_append(&e, &leaf, out, &cnt), 0);
		}
		tlog_edge_root(&e, &c.root);
	}
	assert_int_equal(tlog_checkpoint_format(&c, &text), 0);
	assert_int_equal(tlog_note_sign(text.buf, text.len, &log, 0, &msg), 0);
	assert_int_equal(tlog_note_sigline(text.buf, text.len, &wit, t, &msg), 0);
	assert_int_equal(tlog_checkpoint_open(msg.buf, msg.len, keys, 2, &note, &c), 0);
	assert_int_equal(note.verified, 2);
	assert_int_equal(note.sigs[0].key, 0);
	assert_int_equal(note.sigs[0].time, 0);
	assert_int_equal(note.sigs[1].key, 1);
	assert_int_equal(note.sigs[1].time, t);
	assert_int_equal(c.size, 5);
	/* The same bytes as an independent implementation writes. */
	assert_int_equal(msg.len, strlen(py_cosigned));
	assert_memory_equal(msg.buf, py_cosigned, msg.len);
	{
		struct tlog_verifier wv = vkey(py_witness_vkey);
		char vt[TLOG_KEY_TEXT_MAX];
		struct tlog_hash root;
		uint8_t b;
		struct tlog_edge e;
		struct tlog_hash out[TLOG_MAX_STORED];
		size_t cnt;

		assert_int_equal(wv.id, keys[1].id);
		assert_int_equal(tlog_vkey_format(&keys[1], vt, sizeof vt),
		                 (int)strlen(py_witness_vkey));
		assert_string_equal(vt, py_witness_vkey);
		tlog_edge_init(&e);
		for (b = 0; b < 5; b++) {
			struct tlog_hash leaf;
			tlog_leaf_hash(&b, 1, &leaf);
			assert_int_equal(tlog_edge_append(&e, &leaf, out, &cnt), 0);
		}
		tlog_edge_root(&e, &root);
		assert_memory_equal(root.b, c.root.b, 32);
	}
	/* The witness line, checked with libsodium alone: id, big-endian
	 * time, and an Ed25519 signature over the tlog-cosignature message. */
	jbuf_putc(&msg, '\0');
	line = strstr(msg.buf, "\xe2\x80\x94 witness.example/w1 ");
	assert_non_null(line);
	line += strlen("\xe2\x80\x94 witness.example/w1 ");
	snprintf(b64, sizeof b64, "%.*s", (int)(strchr(line, '\n') - line), line);
	assert_int_equal(sodium_base642bin(blob, sizeof blob, b64, strlen(b64), NULL, &blen, NULL,
	                                   sodium_base64_VARIANT_ORIGINAL),
	                 0);
	assert_int_equal(blen, 76);
	assert_int_equal((uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 |
	                     (uint32_t)blob[2] << 8 | blob[3],
	                 keys[1].id);
	for (i = 0; i < 8; i++)
		assert_int_equal(blob[4 + i], (uint8_t)(t >> (56 - 8 * i)));
	signed_msg = malloc(text.len + 64);
	assert_non_null(signed_msg);
	mlen =
	    (size_t)snprintf(signed_msg, 64, "cosignature/v1\ntime %llu\n", (unsigned long long)t);
	memcpy(signed_msg + mlen, text.buf, text.len);
	mlen += text.len;
	assert_int_equal(
	    crypto_sign_verify_detached(blob + 12, (uint8_t *)signed_msg, mlen, wit.pub), 0);
	free(signed_msg);
	/* Another time in the same signature: refused. */
	blob[11] ^= 1;
	sodium_bin2base64(b64, sizeof b64, blob, 76, sodium_base64_VARIANT_ORIGINAL);
	jbuf_reset(&msg);
	jbuf_put(&msg, text.buf, text.len);
	jbuf_lit(&msg, "\n\xe2\x80\x94 witness.example/w1 ");
	jbuf_puts(&msg, b64);
	jbuf_putc(&msg, '\n');
	assert_int_equal(tlog_note_open(msg.buf, msg.len, keys, 2, &note), YG_ECONFLICT);
	/* The witness's key as a plain note key has another id: its
	 * cosignature is someone else's signature then. */
	wit_as_note = keys[1];
	wit_as_note.type = TLOG_SIG_ED25519;
	wit_as_note.id ^= 1;
	jbuf_reset(&msg);
	assert_int_equal(tlog_note_sign(text.buf, text.len, &wit, t, &msg), 0);
	assert_int_equal(tlog_note_open(msg.buf, msg.len, &wit_as_note, 1, &note), YG_ENOTFOUND);
	assert_int_equal(tlog_note_open(msg.buf, msg.len, &keys[1], 1, &note), 0);
	/* Times up to 2^63-1 only. */
	assert_int_equal(tlog_note_sigline(text.buf, text.len, &wit, (uint64_t)INT64_MAX + 1, &msg),
	                 YG_EINVAL);
	jbuf_reset(&msg);
	assert_int_equal(tlog_note_sign(text.buf, text.len, &wit, (uint64_t)INT64_MAX, &msg), 0);
	assert_int_equal(tlog_note_open(msg.buf, msg.len, &keys[1], 1, &note), 0);
	assert_int_equal(note.sigs[0].time, (uint64_t)INT64_MAX);
	/* Out of memory, for the message a cosignature signs. */
	yg_alloc_fail_after(0);
	assert_int_equal(tlog_note_open(msg.buf, msg.len, &keys[1], 1, &note), YG_ENOMEM);
	assert_int_equal(tlog_note_sigline(text.buf, text.len, &wit, t, &msg), YG_ENOMEM);
	yg_alloc_fail_after(-1);
	jbuf_fini(&text);
	jbuf_fini(&msg);
	tlog_signer_wipe(&log);
	tlog_signer_wipe(&wit);
}

static void test_hostile_notes(void **state)
{
	struct tlog_verifier peter = vkey(peter_vkey);
	static const char *const bad_text[] = {
	    "a\rb\n",
	    "a\tb\n",
	    "\xc0\xaf\n",
	    "\xed\xa0\x80\n",
	    "\xf4\x90\x80\x80\n",
	    "\xe6\xab\n",
	    "\xf8\x88\x80\x80\x80\n",
	    "\x80\n",
	};
	static const char *const bad_lines[] = {
	    "\xe2\x80\x94 Peter\xc2\xa0Neumann "
	    "x08go/ZJkuBS9UG/"
	    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
	    "\xe2\x80\x94 Peter+Neumann "
	    "x08go/ZJkuBS9UG/"
	    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
	    "\xe2\x80\x94 PeterNeumann  "
	    "x08go/ZJkuBS9UG/"
	    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
	    "\xe2\x80\x94 PeterNeumann "
	    "x08go/ZJkuBS9UG/"
	    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM= \n",
	    "\xe2\x80\x94 PeterNeumann AAAA\n",
	    "\xe2\x80\x94 PeterNeumann \n",
	    "\xe2\x80\x94 PeterNeumann\n",
	    "\xe2\x80\x94  "
	    "x08go/ZJkuBS9UG/"
	    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
	    "-- PeterNeumann "
	    "x08go/ZJkuBS9UG/"
	    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
	    "\xe2\x80\x94PeterNeumann "
	    "x08go/ZJkuBS9UG/"
	    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
	    "\xe2\x80\x94 PeterNeumann "
	    "x08go/ZJkuBS9UG/"
	    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n",
	    "\xe2\x80\x94 PeterNeumann "
	    "x08go/ZJkuBS9UG/"
	    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n\n",
	    "\n",
	};
	char *big, name[400], *msg;
	size_t i, n;
	struct tlog_signer s;
	struct jbuf out;

	(void)state;
	for (i = 0; i < sizeof bad_text / sizeof bad_text[0]; i++)
		if (open_str(cat(bad_text[i], "\n", peter_sig, NULL), &peter, 1) != YG_EFORMAT)
			fail_msg("text %zu opened", i);
	for (i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++)
		if (open_str(cat(go_text, "\n", bad_lines[i], NULL), &peter, 1) != YG_EFORMAT)
			fail_msg("line %zu opened", i);
	/* DEL and C1 controls are not ASCII controls below U+0020: allowed. */
	assert_int_equal(tlog_skey_parse(peter_skey, strlen(peter_skey), &s), 0);
	assert_int_equal(jbuf_init(&out, 64, TLOG_NOTE_MAX * 2), 0);
	assert_int_equal(tlog_note_sign("a\x7f\xc2\x85z\n\nb\n", 9, &s, 0, &out), 0);
	assert_int_equal(tlog_note_open(out.buf, out.len, &peter, 1, &note), 0);
	assert_int_equal(note.text_len, 9);
	/* A name longer than any key of ours is someone else's, not malformed. */
	memset(name, 'n', sizeof name);
	name[sizeof name - 1] = '\0';
	assert_int_equal(open_str(cat(go_text, "\n\xe2\x80\x94 ", name, " AAAAAAAA\n"), &peter, 1),
	                 YG_ENOTFOUND);
	/* Sixteen post-quantum-sized signatures by others, and ours. */
	jbuf_reset(&out);
	jbuf_puts(&out, go_text);
	jbuf_putc(&out, '\n');
	jbuf_puts(&out, peter_sig);
	for (i = 0; i < 16; i++) {
		uint8_t raw[4 + 8 + 2420];
		char b64[sizeof raw * 2];
		memset(raw, (int)i, sizeof raw);
		sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
		jbuf_lit(&out, "\xe2\x80\x94 witness");
		jbuf_u64(&out, i);
		jbuf_putc(&out, ' ');
		jbuf_puts(&out, b64);
		jbuf_putc(&out, '\n');
	}
	assert_int_equal(out.err, 0);
	assert_int_equal(tlog_note_open(out.buf, out.len, &peter, 1, &note), 0);
	assert_int_equal(note.nsigs, 17);
	assert_int_equal(note.verified, 1);
	/* Over the size limit, even when well formed. */
	n = TLOG_NOTE_MAX + 1;
	big = malloc(n);
	assert_non_null(big);
	memset(big, 'a', n);
	msg = cat(go_text, "\n", peter_sig, NULL);
	memcpy(big + n - strlen(msg), msg, strlen(msg));
	assert_int_equal(tlog_note_open(big, n, &peter, 1, &note), YG_ELIMIT);
	assert_int_equal(tlog_note_open(big + 1, n - 1, &peter, 1, &note), YG_ECONFLICT);
	free(big);
	/* Short and empty input. */
	assert_int_equal(tlog_note_open("", 0, &peter, 1, &note), YG_EFORMAT);
	assert_int_equal(tlog_note_open("\n", 1, &peter, 1, &note), YG_EFORMAT);
	assert_int_equal(tlog_note_open("\n\n", 2, &peter, 1, &note), YG_EFORMAT);
	jbuf_fini(&out);
	tlog_signer_wipe(&s);
}

int tlog_note_tests(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_example), cmocka_unit_test(test_go_sign),
	    cmocka_unit_test(test_go_open),      cmocka_unit_test(test_key_mangling),
	    cmocka_unit_test(test_keys),         cmocka_unit_test(test_checkpoints),
	    cmocka_unit_test(test_cosignature),  cmocka_unit_test(test_hostile_notes),
	};

	return cmocka_run_group_tests_name("tlog notes", tests, NULL, NULL);
}
