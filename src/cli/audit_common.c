/* audit_common.c - what `audit verify` and `audit watch` share: findings,
 * the log's verifier key, checkpoint files opened with it, and proofs
 * fetched from a tower's JSON routes. Nothing here trusts the tower: a
 * proof is only bytes until the caller checks it with the tlog core. */
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/audit.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "tlog/tlog.h"

static const char *who(const struct audit *a)
{
	return a->who != NULL ? a->who : AUDIT_WHO;
}

void audit_finding(struct audit *a, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (a->findings == 0)
		snprintf(a->first, sizeof(a->first), "%s", line);
	if (a->findings < AUDIT_SHOW_MAX)
		log_warnx("%s: %s", who(a), line);
	a->findings++;
}

void audit_cp_free(struct audit_cp *cp)
{
	free(cp->buf);
	cp->buf = NULL;
}

int audit_read_file(const char *w, const char *opt, const char *path, size_t max, char **buf,
		    size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	size_t n;

	if (f == NULL) {
		log_warn("%s: %s %s", w, opt, path);
		return -1;
	}
	if ((b = malloc(max + 2)) == NULL) {
		fclose(f);
		log_warnx("%s: out of memory", w);
		return -1;
	}
	n = fread(b, 1, max + 1, f);
	if (ferror(f) || n > max) {
		if (n > max)
			log_warnx("%s: %s %s: larger than %zu bytes", w, opt, path, max);
		else
			log_warn("%s: %s %s", w, opt, path);
		fclose(f);
		free(b);
		return -1;
	}
	fclose(f);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int audit_vkey_read(const char *w, const char *opt, const char *arg, struct tlog_verifier *v)
{
	char *file = NULL;
	const char *s = arg;
	size_t len = strlen(arg);
	int rc;

	if (arg[0] == '@') {
		if (audit_read_file(w, opt, arg + 1, 4096, &file, &len) < 0)
			return -1;
		s = file;
	}
	while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
		len--;
	rc = tlog_vkey_parse(s, len, v);
	free(file);
	if (rc < 0) {
		log_warnx("%s: %s %s: not a verifier key (name+id+key, as 'yagura audit key' "
			  "prints it and GET /log/key serves it)",
			  w, opt, arg);
		return -1;
	}
	return 0;
}

int audit_key_parse(struct audit *a, const char *arg)
{
	if (audit_vkey_read(who(a), "--key", arg, &a->key) < 0)
		return -1;
	if (a->key.type != TLOG_SIG_ED25519) {
		log_warnx("%s: --key %s: a witness's cosignature key, not a log's", who(a), arg);
		return -1;
	}
	if (tlog_vkey_format(&a->key, a->key_text, sizeof(a->key_text)) < 0)
		return -1;
	return 0;
}

/* Who signed a note that the key did not: "name+id, name+id". */
static void signers(const struct tlog_note *n, char *buf, size_t cap)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n->nsigs && at + 1 < cap; i++) {
		int w = snprintf(buf + at, cap - at, "%s%.*s+%08x", i ? ", " : "",
				 (int)n->sigs[i].name_len, n->sigs[i].name, (unsigned)n->sigs[i].id);

		if (w < 0)
			break;
		at += (size_t)w < cap - at ? (size_t)w : cap - at - 1;
	}
}

int audit_cp_open(struct audit *a, struct audit_cp *cp)
{
	char who[600];
	int rc = tlog_checkpoint_open(cp->buf, cp->len, &a->key, 1, &cp->note, &cp->c);

	switch (rc) {
	case 0:
		break;
	case YG_ENOTFOUND:
		signers(&cp->note, who, sizeof(who));
		if (cp->note.nsigs == 0)
			audit_finding(a, "%s is not signed at all", cp->label);
		else
			audit_finding(a, "%s is not signed by the key %s: it was signed by %s", cp->label,
				      a->key_text, who);
		return EXIT_INPUT;
	case YG_ECONFLICT:
		audit_finding(a, "%s: the signature by %s does not verify: the checkpoint was "
				 "changed after it was signed, or forged",
			      cp->label, a->key_text);
		return EXIT_INPUT;
	case YG_ELIMIT:
		audit_finding(a, "%s: too large, or too many signatures, for a checkpoint", cp->label);
		return EXIT_INPUT;
	default:
		audit_finding(a, "%s is not a signed checkpoint (a C2SP signed note: origin, size, "
				 "root, a blank line, signatures)",
			      cp->label);
		return EXIT_INPUT;
	}
	if (cp->c.origin_len != a->key.name_len || memcmp(cp->c.origin, a->key.name, a->key.name_len)) {
		audit_finding(a, "%s is the checkpoint of the log '%.*s', not of '%s' whose key was given",
			      cp->label, (int)cp->c.origin_len, cp->c.origin, a->key.name);
		return EXIT_INPUT;
	}
	return EXIT_OK;
}

int audit_cp_load(struct audit *a, const char *opt, const char *path, struct audit_cp *cp)
{
	cp->label = path;
	if (audit_read_file(who(a), opt, path, TLOG_NOTE_MAX, &cp->buf, &cp->len) < 0)
		return EXIT_USAGE;
	return audit_cp_open(a, cp);
}

/* ---- a tower's JSON routes ---------------------------------------------- */

void audit_tower_init(struct audit_tower *tw, const char *who)
{
	memset(tw, 0, sizeof(*tw));
	tw->who = who;
	client_opts_init(&tw->o, NULL);
}

const char *audit_tower_token(struct audit_tower *tw)
{
	if (tw->token == NULL)
		tw->token = client_token(tw->who, &tw->o, tw->tok, sizeof(tw->tok));
	return tw->token;
}

int audit_tower_get(struct audit_tower *tw, const char *path, json_t **answer)
{
	const char *code;
	long st;
	int rc;

	*answer = NULL;
	if (audit_tower_token(tw) == NULL)
		return EXIT_USAGE;
	st = client_call(tw->o.base, tw->token, "GET", path, NULL, NULL, answer);
	code = json_string_value(json_object_get(json_object_get(*answer, "error"), "code"));

	if (st == 200 && json_is_object(*answer))
		return EXIT_OK;
	if (st == 404 && code != NULL && strcmp(code, "not_found") == 0) {
		rc = AUDIT_NO_TREE;
	} else if (st == 200) {
		log_warnx("%s: the tower's answer to %s is not JSON", tw->who, path);
		rc = EXIT_INPUT;
	} else {
		rc = client_refused(tw->who, st, *answer, tw->o.base);
	}
	json_decref(*answer);
	*answer = NULL;
	return rc;
}

int audit_proof_from_json(const json_t *arr, struct tlog_proof *p)
{
	const json_t *h;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) > TLOG_MAX_PROOF)
		return -1;
	p->len = 0;
	json_array_foreach(arr, i, h) {
		const char *s = json_string_value(h);

		if (s == NULL || tlog_hash_from_b64(s, strlen(s), &p->h[p->len]) < 0)
			return -1;
		p->len++;
	}
	return 0;
}

int audit_tower_consistency(struct audit_tower *tw, uint64_t m, uint64_t n, struct tlog_proof *p)
{
	char path[128];
	json_t *ans = NULL;
	int rc;

	snprintf(path, sizeof(path), "/api/v1/log/consistency?from=%llu&to=%llu",
		 (unsigned long long)m, (unsigned long long)n);
	if ((rc = audit_tower_get(tw, path, &ans)) != EXIT_OK)
		return rc;
	if (audit_proof_from_json(json_object_get(ans, "proof"), p) < 0) {
		log_warnx("%s: the tower's answer to %s holds no proof", tw->who, path);
		rc = EXIT_INPUT;
	}
	json_decref(ans);
	return rc;
}
