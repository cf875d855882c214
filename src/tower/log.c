/* log.c - the transparency log's entries and key (issue 12).
 *
 * Every change the service layer commits appends an entry to log_entries
 * in the same transaction (svc_changed): a change without its entry cannot
 * commit, an entry without its change cannot exist. An entry says what
 * changed and who changed it, and a hash of each row it wrote as stored
 * (record.h), never the row: the log can be public to auditors and outlive
 * retention. Its position in the Merkle tree is given afterwards, in commit
 * order, by the sequencer (logseq.c), which signs checkpoints with the key
 * kept here, outside the store. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/jbuf.h"
#include "base/log.h"
#include "tlog/tlog.h"
#include "tower/tower_int.h"

#define LOG_ENTRY_MAX 1024

/* The entry's text: one "name value" line each, in this order.
 *
 *   yagura-log/v1
 *   kind report.version
 *   id 7                                  ("id 7 version 2" for a report's version)
 *   by user 3 token 5 role operator      ("by server" for the CLI on the server)
 *   at 2026-12-06T10:00:00.123456Z
 *   row reports 7 <base64 SHA-256 of the row as stored>
 *   row report_versions 7 2 <...>        (each row the change wrote, record.h)
 *   rows alerts 12 1000 <...>            (a set: its key, its count, its hash)
 */
static int entry_format(struct jbuf *b, const struct principal *p, int64_t now,
			enum change_kind kind, int64_t id, int64_t version,
			const struct rec_ref *rows, size_t nrows)
{
	char ts[40], line[REC_LINE_MAX];
	time_t s = (time_t)(now / 1000000);
	struct tm tm;
	int n;

	gmtime_r(&s, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + 19, sizeof(ts) - 19, ".%06lldZ", (long long)(now % 1000000));
	jbuf_lit(b, "yagura-log/v1\nkind ");
	jbuf_puts(b, change_kind_name(kind));
	jbuf_lit(b, "\nid ");
	jbuf_u64(b, (uint64_t)id);
	if (version > 0) {
		jbuf_lit(b, " version ");
		jbuf_u64(b, (uint64_t)version);
	}
	if (p != NULL) {
		jbuf_lit(b, "\nby user ");
		jbuf_u64(b, (uint64_t)p->user_id);
		if (p->session_id != 0) {
			jbuf_lit(b, " session ");
			jbuf_u64(b, (uint64_t)p->session_id);
		} else {
			jbuf_lit(b, " token ");
			jbuf_u64(b, (uint64_t)p->token_id);
		}
		jbuf_lit(b, " role ");
		jbuf_puts(b, role_name(p->role));
	} else {
		jbuf_lit(b, "\nby server");
	}
	jbuf_lit(b, "\nat ");
	jbuf_puts(b, ts);
	jbuf_putc(b, '\n');
	for (size_t i = 0; i < nrows; i++) {
		if ((n = rec_ref_format(&rows[i], line, sizeof(line))) < 0)
			return n;
		jbuf_put(b, line, (size_t)n);
	}
	return b->err;
}

int tw_log_append(struct store_conn *c, const struct principal *p, int64_t now,
		  enum change_kind kind, int64_t id, int64_t version, const struct rec_ref *rows,
		  size_t nrows)
{
	char buf[LOG_ENTRY_MAX];
	struct jbuf b = {.buf = buf, .cap = sizeof(buf), .max_cap = sizeof(buf)};
	int rc = entry_format(&b, p, now, kind, id, version, rows, nrows);

	if (rc < 0)
		return rc;
	struct store_param ps[] = {store_blob(b.buf, b.len), store_int64(now)};
	return store_exec(c, "INSERT INTO log_entries (entry, created) VALUES (?, ?)", ps, 2, NULL,
			  NULL);
}

/* ---- the log's key ------------------------------------------------------ */

void tw_log_key_path(const char *store, const char *configured, char *out, size_t cap)
{
	if (configured != NULL && *configured != '\0')
		snprintf(out, cap, "%s", configured);
	else if (strncmp(store, "postgres://", 11) == 0 || strncmp(store, "postgresql://", 13) == 0)
		snprintf(out, cap, "var/log.key");
	else
		snprintf(out, cap, "%s.log-key", strncmp(store, "sqlite:", 7) == 0 ? store + 7 : store);
}

/* Writes a new key for origin to path, which must not exist (O_EXCL): two
 * towers starting at once do not both write one. */
static int key_create(const char *path, const char *origin, char *err, size_t errlen)
{
	struct tlog_signer k;
	char text[TLOG_KEY_TEXT_MAX];
	int fd, n, rc;

	if ((rc = tlog_signer_generate(origin, strlen(origin), TLOG_SIG_ED25519, &k)) < 0) {
		snprintf(err, errlen, "log origin '%s' is not a valid key name", origin);
		return rc;
	}
	n = tlog_skey_format(&k, text, sizeof(text));
	tlog_signer_wipe(&k);
	if (n < 0)
		return n;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) { /* var/, the default, not made yet */
		char dir[1024], *slash;

		snprintf(dir, sizeof(dir), "%s", path);
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
			*slash = '\0';
			(void)mkdir(dir, 0700);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		}
	}
	if (fd < 0) {
		sodium_memzero(text, sizeof(text));
		if (errno == EEXIST)
			return 0;
		snprintf(err, errlen, "cannot create the log key %s: %s", path, strerror(errno));
		return YG_EIO;
	}
	rc = write(fd, text, (size_t)n) == n && write(fd, "\n", 1) == 1 && fsync(fd) == 0 ? 0
											       : YG_EIO;
	sodium_memzero(text, sizeof(text));
	if (close(fd) < 0 || rc < 0) {
		snprintf(err, errlen, "cannot write the log key %s: %s", path, strerror(errno));
		unlink(path);
		return YG_EIO;
	}
	log_info("tower: new transparency log key in %s", path);
	return 0;
}

int tw_log_key_load(const char *path, const char *origin, int create, struct tlog_signer *k,
		    char *err, size_t errlen)
{
	char text[TLOG_KEY_TEXT_MAX + 2];
	size_t n;
	FILE *f;
	int rc;

	if (create && (rc = key_create(path, origin, err, errlen)) < 0)
		return rc;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "cannot read the log key %s: %s", path, strerror(errno));
		return YG_EIO;
	}
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077) != 0) {
		/* The key signs what the office says its log holds. */
		snprintf(err, errlen, "the log key %s can be read by others (mode %04o): chmod 600 %s",
			 path, (unsigned)(sb.st_mode & 07777), path);
		fclose(f);
		return YG_EINVAL;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	rc = tlog_skey_parse(text, n, k);
	sodium_memzero(text, sizeof(text));
	if (rc < 0) {
		snprintf(err, errlen, "%s is not a signed-note private key", path);
		return rc;
	}
	if (origin != NULL && (k->name_len != strlen(origin) || memcmp(k->name, origin, k->name_len))) {
		snprintf(err, errlen, "the log key in %s is for '%s', not the configured origin '%s'",
			 path, k->name, origin);
		tlog_signer_wipe(k);
		return YG_EINVAL;
	}
	return 0;
}

int tower_log_key(const char *url, const char *key_path, const char *origin, int create,
		  char *vkey, size_t vkeylen, char *err, size_t errlen)
{
	struct tower_config dflt;
	struct tlog_signer k;
	struct tlog_verifier v;
	char path[1024];
	int rc;

	tower_config_defaults(&dflt);
	tw_log_key_path(url, key_path, path, sizeof(path));
	rc = tw_log_key_load(path, origin != NULL ? origin : create ? dflt.log_origin : NULL, create,
			     &k, err, errlen);
	if (rc < 0)
		return rc;
	tlog_signer_verifier(&k, &v);
	tlog_signer_wipe(&k);
	rc = tlog_vkey_format(&v, vkey, vkeylen);
	if (rc < 0)
		snprintf(err, errlen, "no room for the verifier key");
	return rc < 0 ? rc : 0;
}
