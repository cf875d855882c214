/* audit_watch.c - `yagura audit watch`, a witness of the transparency log
 * (C2SP tlog-witness, pushed rather than polled): it fetches the tower's
 * latest checkpoint, checks the log's signature and that the tree is an
 * extension of the last one it saw (a consistency proof, checked here),
 * keeps the new checkpoint as its state, and only then cosigns it
 * (C2SP tlog-cosignature, type 0x04) and hands the cosignature to the
 * tower. Two checkpoints that cannot both be true are a split view: it
 * never cosigns then, keeps its state, and writes the evidence beside it.
 * And `audit witness-key`, which makes the witness's key. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/jbuf.h"
#include "base/json.h"
#include "base/log.h"
#include "cli/audit.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "tlog/tlog.h"

#define WATCH_WHO    "audit watch"
#define WKEY_WHO     "audit witness-key"
#define INTERVAL_DEF 60

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

void audit_watch_usage(FILE *out)
{
	fputs("usage: yagura audit witness-key FILE --name NAME\n"
	      "         make a witness's key (a cosignature key, type 0x04) in FILE, which must\n"
	      "         not exist; print its verifier key, for the tower's [log] witnesses\n"
	      "       yagura audit witness-key FILE\n"
	      "         print the verifier key of the witness's key in FILE\n"
	      "       yagura audit watch URL --key VKEY|@FILE --witness-key FILE --state FILE\n"
	      "                          [--token-file FILE] [--interval S | --once]\n"
	      "         be a witness of the tower's log at URL (docs/audit.md): fetch its latest\n"
	      "         checkpoint, check it is signed by --key and that its tree extends the\n"
	      "         one in --state, keep it in --state, cosign it and hand the cosignature\n"
	      "         to the tower; every --interval seconds (default 60) until SIGTERM or\n"
	      "         SIGINT, or once\n"
	      "\n"
	      "watch:\n"
	      "  URL                       the tower's base URL (http://tower.example:8080)\n"
	      "  --key VKEY|@FILE          the log's verifier key, or a file holding it\n"
	      "  --witness-key FILE        the witness's key, as audit witness-key makes it\n"
	      "  --state FILE              the last checkpoint verified, replaced atomically\n"
	      "                            after each one that verifies; absent at first (the\n"
	      "                            first checkpoint is taken on trust)\n"
	      "  --token-file FILE         an auditor's API token (default $YAGURA_TOKEN)\n"
	      "\n"
	      "One line on stdout a round; failures on stderr.\n"
	      "exit status: 0 cosigned (--once), or stopped by a signal; 1 usage, or a key or\n"
	      "state file that cannot be read; 2 a check failed (a checkpoint not signed by\n"
	      "--key, a state not signed by it) or the tower refused (--once); 3 the tower\n"
	      "could not be reached (--once), or the state could not be written; 4 internal\n"
	      "failure; 6 split view: nothing cosigned, the state kept, and the evidence\n"
	      "written to STATE.evidence-TIME (named on stderr).\n"
	      "witness-key: 0 ok, 1 usage, 2 no key or not a witness's key, 3 not written.\n",
	      out);
}

/* ---- files -------------------------------------------------------------- */

static void utc(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* fsyncs the directory holding path, so that a rename in it lasts. */
static int sync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Writes len bytes to path: created (mode 0600) and written in full and
 * fsynced under a temporary name, then renamed over path, so that path
 * holds either the old bytes or the new, never a part. excl: refuse to
 * replace an existing path (then -2, nothing written). 0, or -1 with
 * errno. */
static int write_atomic(const char *path, const void *data, size_t len, int excl)
{
	char tmp[4200];
	const char *p = data;
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (excl) {
		/* link() fails when path exists: no window where it is replaced. */
		if (link(tmp, path) < 0) {
			saved = errno;
			unlink(tmp);
			errno = saved;
			return saved == EEXIST ? -2 : -1;
		}
		unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		goto fail;
	}
	return sync_dir(path);
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

/* ---- audit witness-key -------------------------------------------------- */

/* Reads a witness's key from path: 0, or -1 having said why (as who). */
static int witness_load(const char *who, const char *path, struct tlog_signer *k)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (audit_read_file(who, "--witness-key", path, 4096, &buf, &len) < 0)
		return -1;
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	rc = tlog_skey_parse(buf, len, k);
	sodium_memzero(buf, len);
	free(buf);
	if (rc < 0 || k->type != TLOG_SIG_COSIGNATURE) {
		if (rc == 0)
			tlog_signer_wipe(k);
		log_warnx("%s: %s: not a witness's key (PRIVATE+KEY+name+id+key of type 0x04, as "
			  "'yagura audit witness-key' makes it)",
			  who, path);
		return -1;
	}
	return 0;
}

int audit_witness_key(int argc, char **argv)
{
	const char *path = NULL, *name = NULL;
	struct tlog_signer k;
	struct tlog_verifier v;
	char text[TLOG_KEY_TEXT_MAX + 32], vkey[TLOG_KEY_TEXT_MAX];
	int n, rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			audit_watch_usage(stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
			name = argv[++i];
		} else if (argv[i][0] != '-' && path == NULL) {
			path = argv[i];
		} else {
			log_warnx("%s: unexpected argument '%s' (try --help)", WKEY_WHO, argv[i]);
			return EXIT_USAGE;
		}
	}
	if (path == NULL) {
		log_warnx("%s: the key's file is required (try --help)", WKEY_WHO);
		return EXIT_USAGE;
	}
	if (name == NULL) {
		if (witness_load(WKEY_WHO, path, &k) < 0)
			return EXIT_INPUT;
	} else if ((rc = tlog_signer_generate(name, strlen(name), TLOG_SIG_COSIGNATURE, &k)) < 0) {
		log_warnx("%s: --name '%s': %s", WKEY_WHO, name,
			  rc == YG_EFORMAT ? "not a key name (1 to 255 bytes, no spaces or '+')"
					   : "cannot make a key");
		return rc == YG_EFORMAT ? EXIT_USAGE : EXIT_FATAL;
	}
	if (name != NULL) {
		if ((n = tlog_skey_format(&k, text, sizeof(text) - 1)) < 0) {
			tlog_signer_wipe(&k);
			return EXIT_FATAL;
		}
		text[n++] = '\n';
		rc = write_atomic(path, text, (size_t)n, 1);
		sodium_memzero(text, sizeof(text));
		if (rc == -2) {
			log_warnx("%s: %s exists: a witness keeps its key; give another file", WKEY_WHO,
				  path);
			tlog_signer_wipe(&k);
			return EXIT_USAGE;
		}
		if (rc < 0) {
			log_warn("%s: %s", WKEY_WHO, path);
			tlog_signer_wipe(&k);
			return EXIT_OUTPUT;
		}
	}
	tlog_signer_verifier(&k, &v);
	tlog_signer_wipe(&k);
	if (tlog_vkey_format(&v, vkey, sizeof(vkey)) < 0)
		return EXIT_FATAL;
	printf("%s\n", vkey);
	return EXIT_OK;
}

/* ---- audit watch -------------------------------------------------------- */

struct watch {
	struct audit a; /* the log's key */
	struct audit_tower tw;
	struct tlog_signer wk; /* the witness's key */
	char wkey_text[TLOG_KEY_TEXT_MAX];
	const char *state;
	unsigned long long interval;
	int once;
};

/* What a round found wrong between the saved checkpoint and the new one. */
struct split {
	char what[600];	      /* the finding, one sentence */
	int has_proof;	      /* a proof was given */
	const char *result;   /* what it proves, or that it proves nothing */
	uint64_t from, to;    /* its sizes */
	struct tlog_proof proof;
};

static json_t *cp_json(const struct audit_cp *cp, const char *source, const char *when_key,
		       time_t when)
{
	char r[TLOG_HASH_B64_LEN + 1], t[32];

	tlog_hash_to_b64(&cp->c.root, r);
	utc(when, t, sizeof(t));
	return json_pack("{s:s,s:s,s:I,s:s,s:s%}", "source", source, when_key, t, "size",
			 (json_int_t)cp->c.size, "root", r, "note", cp->buf, cp->len);
}

/* Writes the evidence of a split view beside the state, as JSON: both
 * checkpoints whole, as signed, the failed proof, the times. Says where on
 * stderr, in one line. Returns EXIT_SPLIT, or EXIT_OUTPUT when it could not
 * be written (said why, with the finding). */
static int evidence(struct watch *w, const struct audit_cp *old, const struct audit_cp *cur,
		    const struct split *sp, time_t fetched)
{
	char path[4200], t[32], url[2100], *text;
	struct stat sb;
	time_t saved = stat(w->state, &sb) == 0 ? sb.st_mtime : 0;
	json_t *proof = json_null(), *e;
	int rc = -1;

	if (sp->has_proof) {
		json_t *h = json_array();
		char b64[TLOG_HASH_B64_LEN + 1];

		for (size_t i = 0; i < sp->proof.len; i++) {
			tlog_hash_to_b64(&sp->proof.h[i], b64);
			json_array_append_new(h, json_string(b64));
		}
		proof = json_pack("{s:I,s:I,s:o,s:s}", "from", (json_int_t)sp->from, "to",
				  (json_int_t)sp->to, "hashes", h, "result", sp->result);
	}
	utc(fetched, t, sizeof(t));
	snprintf(url, sizeof(url), "GET %s/log/checkpoint", w->tw.o.base);
	e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:s}", "evidence",
		      "yagura audit watch: split view", "finding", sp->what, "detected", t,
		      "log_key", w->a.key_text, "witness_key", w->wkey_text, "tower", w->tw.o.base,
		      "earlier",
		      cp_json(old, "the witness's state: the last checkpoint it verified", "saved",
			      saved),
		      "later", cp_json(cur, url, "fetched", fetched), "proof", proof, "check",
		      "save each note to a file, byte for byte (jq -j .earlier.note), and run: yagura "
		      "audit verify --key LOGKEY --old EARLIER --checkpoint LATER [--tower URL "
		      "--token-file FILE]");
	text = e != NULL ? yg_json_dumps(e, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(e);
	for (int i = 0; text != NULL && i < 100; i++) {
		char tt[32];
		struct tm tm;

		gmtime_r(&fetched, &tm);
		strftime(tt, sizeof(tt), "%Y%m%dT%H%M%SZ", &tm);
		if (i == 0)
			snprintf(path, sizeof(path), "%s.evidence-%s", w->state, tt);
		else
			snprintf(path, sizeof(path), "%s.evidence-%s-%d", w->state, tt, i);
		if ((rc = write_atomic(path, text, strlen(text), 1)) != -2)
			break;
	}
	free(text);
	if (rc < 0) {
		log_warn("%s: split view: %s; the evidence could not be written to %s", WATCH_WHO,
			 sp->what, path);
		return EXIT_OUTPUT;
	}
	log_warnx("%s: split view: %s; nothing cosigned; evidence in %s", WATCH_WHO, sp->what, path);
	return EXIT_SPLIT;
}

/* Is old's tree a prefix of cur's? EXIT_OK; EXIT_SPLIT with sp filled;
 * or the exit status of a proof the tower would not give. */
static int consistent(struct watch *w, const struct audit_cp *old, const struct audit_cp *cur,
		      struct split *sp)
{
	uint64_t m = old->c.size, n = cur->c.size;
	char r0[TLOG_HASH_B64_LEN + 1], r1[TLOG_HASH_B64_LEN + 1];
	struct tlog_hash empty;
	int rc;

	tlog_hash_to_b64(&old->c.root, r0);
	tlog_hash_to_b64(&cur->c.root, r1);
	if (m == n) {
		if (memcmp(old->c.root.b, cur->c.root.b, TLOG_HASH_LEN) == 0)
			return EXIT_OK;
		snprintf(sp->what, sizeof(sp->what),
			 "the tower's checkpoint and the one saved in %s both sign a tree of size "
			 "%llu, with different roots (%s, saved %s)",
			 w->state, (unsigned long long)n, r1, r0);
		return EXIT_SPLIT;
	}
	if (n < m) {
		const char *why = "";

		/* Never cosigned, whatever the proof: a witness that took an older
		 * checkpoint after a newer one would vouch for hiding what came
		 * after. The proof says which kind of going back it was. */
		rc = n > 0 ? audit_tower_consistency(&w->tw, n, m, &sp->proof) : EXIT_INPUT;
		if (rc == AUDIT_NO_TREE) {
			why = "; the tower no longer holds the larger tree";
		} else if (rc == EXIT_OK) {
			sp->has_proof = 1;
			sp->from = n;
			sp->to = m;
			if (tlog_check_consistency(&sp->proof, m, &old->c.root, n, &cur->c.root) == 0) {
				sp->result = "proves the smaller tree a prefix of the larger: the tower "
					     "served an older checkpoint after a newer one";
				why = "; the smaller tree is a prefix of the saved one: the tower hides "
				      "the entries after it";
			} else {
				sp->result = "does not prove the smaller tree a prefix of the larger";
				why = "; nor is the smaller tree a prefix of the saved one";
			}
		}
		snprintf(sp->what, sizeof(sp->what),
			 "the tower's checkpoint signs a tree of size %llu (root %s), smaller than "
			 "the tree of size %llu (root %s) it showed before, saved in %s: the log went "
			 "back%s",
			 (unsigned long long)n, r1, (unsigned long long)m, r0, w->state, why);
		return EXIT_SPLIT;
	}
	tlog_empty_hash(&empty);
	if (m == 0) {
		if (memcmp(old->c.root.b, empty.b, TLOG_HASH_LEN) == 0)
			return EXIT_OK;
		snprintf(sp->what, sizeof(sp->what),
			 "the checkpoint saved in %s signs an empty tree with a root (%s) that is "
			 "not the empty tree's",
			 w->state, r0);
		return EXIT_SPLIT;
	}
	rc = audit_tower_consistency(&w->tw, m, n, &sp->proof);
	if (rc == AUDIT_NO_TREE) {
		log_warnx("%s: the tower signs a tree of size %llu but gives no proof up to it",
			  WATCH_WHO, (unsigned long long)n);
		return EXIT_INPUT;
	}
	if (rc != EXIT_OK)
		return rc;
	if (tlog_check_consistency(&sp->proof, n, &cur->c.root, m, &old->c.root) == 0)
		return EXIT_OK;
	sp->has_proof = 1;
	sp->result = "does not prove the smaller tree a prefix of the larger";
	sp->from = m;
	sp->to = n;
	snprintf(sp->what, sizeof(sp->what),
		 "the tree of size %llu saved in %s (root %s) is not a prefix of the tower's of "
		 "size %llu (root %s): the consistency proof from the tower fails",
		 (unsigned long long)m, w->state, r0, (unsigned long long)n, r1);
	return EXIT_SPLIT;
}

/* Fetches the tower's latest checkpoint into cur: EXIT_OK, or an exit
 * status having said why. */
static int fetch(struct watch *w, struct audit_cp *cur)
{
	long st;
	json_t *ans;
	int rc;

	if (audit_tower_token(&w->tw) == NULL)
		return EXIT_USAGE;
	st = client_call_raw(w->tw.o.base, w->tw.token, "GET", "/log/checkpoint", "text/plain",
			     NULL, 0, TLOG_NOTE_MAX, &cur->buf, &cur->len);
	if (st == 200)
		return EXIT_OK;
	if (st < 0) {
		log_warnx("%s: the tower's checkpoint is larger than %d bytes", WATCH_WHO,
			  TLOG_NOTE_MAX);
		return EXIT_INPUT;
	}
	ans = cur->buf != NULL ? yg_json_loads(cur->buf, 0, NULL) : NULL;
	rc = client_refused(WATCH_WHO, st, ans, w->tw.o.base);
	json_decref(ans);
	audit_cp_free(cur);
	return rc;
}

/* Hands the cosignature line to the tower, with the text it signs. */
static int submit(struct watch *w, const struct audit_cp *cur, const struct jbuf *line)
{
	struct jbuf body;
	char *raw = NULL;
	size_t len = 0;
	json_t *ans = NULL;
	long st;
	int rc = EXIT_FATAL;

	if (jbuf_init(&body, cur->note.text_len + line->len + 2, TLOG_NOTE_MAX) < 0)
		return EXIT_FATAL;
	jbuf_put(&body, cur->note.text, cur->note.text_len);
	jbuf_putc(&body, '\n');
	jbuf_put(&body, line->buf, line->len);
	if (body.err == 0) {
		st = client_call_raw(w->tw.o.base, w->tw.token, "POST", "/api/v1/log/cosignature",
				     "text/plain; charset=utf-8", body.buf, body.len, 1 << 20, &raw,
				     &len);
		ans = raw != NULL ? yg_json_loads(raw, 0, NULL) : NULL;
		rc = st == 200 ? EXIT_OK : client_refused(WATCH_WHO, st < 0 ? 502 : st, ans,
							  w->tw.o.base);
	}
	json_decref(ans);
	free(raw);
	jbuf_fini(&body);
	return rc;
}

/* One round. EXIT_OK when the tower's checkpoint was verified, kept and
 * cosigned; *fatal set when the loop must not go on (a split view, the
 * state that cannot be read or written). */
static int watch_round(struct watch *w, int *fatal)
{
	struct audit_cp old = {.label = w->state}, cur = {.label = "the tower's checkpoint"};
	struct split sp;
	struct jbuf line = {0};
	char root[TLOG_HASH_B64_LEN + 1], since[200];
	time_t now;
	int have_old = access(w->state, F_OK) == 0, rc;

	memset(&sp, 0, sizeof(sp));
	w->a.findings = 0;
	if (have_old && (rc = audit_cp_load(&w->a, "--state", w->state, &old)) != EXIT_OK) {
		if (rc == EXIT_INPUT)
			log_warnx("%s: --state %s does not hold a checkpoint signed by --key: give the "
				  "state this witness wrote",
				  WATCH_WHO, w->state);
		*fatal = 1;
		goto out;
	}
	if ((rc = fetch(w, &cur)) != EXIT_OK) {
		*fatal = rc == EXIT_USAGE;
		goto out;
	}
	now = time(NULL);
	if ((rc = audit_cp_open(&w->a, &cur)) != EXIT_OK)
		goto out;
	if (have_old && (rc = consistent(w, &old, &cur, &sp)) != EXIT_OK) {
		if (rc == EXIT_SPLIT) {
			rc = evidence(w, &old, &cur, &sp, now);
			*fatal = 1;
		}
		goto out;
	}
	/* Kept before it is cosigned: a witness that crashed after cosigning
	 * must not cosign, on restart, a tree that does not extend this one. */
	if (write_atomic(w->state, cur.buf, cur.len, 0) < 0) {
		log_warn("%s: --state %s: cannot write it", WATCH_WHO, w->state);
		rc = EXIT_OUTPUT;
		*fatal = 1;
		goto out;
	}
	if ((rc = jbuf_init(&line, 256, 4096)) < 0 ||
	    (rc = tlog_note_sigline(cur.note.text, cur.note.text_len, &w->wk, (uint64_t)now,
				    &line)) < 0) {
		log_warnx("%s: cannot cosign: %s", WATCH_WHO, yg_strerror(rc));
		rc = EXIT_FATAL;
		*fatal = 1;
		goto out;
	}
	if (!have_old)
		snprintf(since, sizeof(since), "the first checkpoint seen, taken on trust");
	else if (old.c.size == cur.c.size)
		snprintf(since, sizeof(since), "the same tree as saved before");
	else
		snprintf(since, sizeof(since), "extends the tree of size %llu saved before",
			 (unsigned long long)old.c.size);
	tlog_hash_to_b64(&cur.c.root, root);
	rc = submit(w, &cur, &line);
	printf("%s: %.*s size %llu root %s: %s; cosigned by %s%s\n", rc == EXIT_OK ? "cosigned" : "verified",
	       (int)cur.c.origin_len, cur.c.origin, (unsigned long long)cur.c.size, root, since,
	       w->wk.name, rc == EXIT_OK ? ", handed to the tower" : ", but the tower did not take it");
	fflush(stdout);
out:
	jbuf_fini(&line);
	audit_cp_free(&old);
	audit_cp_free(&cur);
	return rc;
}

static int watch_parse(struct watch *w, int argc, char **argv, const char **key,
		       const char **wkey)
{
	int got_interval = 0;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		int took = client_opt(WATCH_WHO, &w->tw.o, argc, argv, &i);

		if (took < 0)
			return EXIT_USAGE;
		if (took > 0 && strcmp(a, "--tower") != 0)
			continue;
		if (took > 0 || strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			if (took > 0)
				log_warnx("%s: the tower is the URL given first, not --tower", WATCH_WHO);
			else
				audit_watch_usage(stdout);
			return took > 0 ? EXIT_USAGE : -1;
		}
		if (strcmp(a, "--once") == 0) {
			w->once = 1;
			continue;
		}
		if (a[0] != '-' && i == 2) {
			w->tw.o.base = a;
			continue;
		}
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = strcmp(a, "--key") == 0	    ? key
				    : strcmp(a, "--witness-key") == 0 ? wkey
				    : strcmp(a, "--state") == 0	    ? &w->state
								    : NULL;
		if (slot == NULL && strcmp(a, "--interval") != 0) {
			log_warnx("%s: unexpected argument '%s' (try --help)", WATCH_WHO, a);
			return EXIT_USAGE;
		}
		if (val == NULL) {
			log_warnx("%s: %s needs a value", WATCH_WHO, a);
			return EXIT_USAGE;
		}
		i++;
		if (slot != NULL) {
			*slot = val;
		} else if (cli_parse_u64(val, 1, 86400, &w->interval) == 0) {
			got_interval = 1;
		} else {
			log_warnx("%s: --interval: '%s' is not a number of seconds from 1 to 86400",
				  WATCH_WHO, val);
			return EXIT_USAGE;
		}
	}
	if (argc < 3 || argv[2][0] == '-') {
		log_warnx("%s: the tower's URL comes first (try --help)", WATCH_WHO);
		return EXIT_USAGE;
	}
	if (*key == NULL || *wkey == NULL || w->state == NULL) {
		log_warnx("%s: %s is required", WATCH_WHO,
			  *key == NULL ? "--key (the log's verifier key)"
			  : *wkey == NULL ? "--witness-key (as audit witness-key makes it)"
					  : "--state (a file the witness keeps)");
		return EXIT_USAGE;
	}
	if (got_interval && w->once) {
		log_warnx("%s: --interval or --once, not both", WATCH_WHO);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int audit_watch(int argc, char **argv)
{
	struct watch *w = calloc(1, sizeof(*w));
	const char *key = NULL, *wkey = NULL;
	struct sigaction sa;
	struct tlog_verifier wv;
	int rc, fatal = 0;

	if (w == NULL) {
		log_warnx("%s: out of memory", WATCH_WHO);
		return EXIT_FATAL;
	}
	w->a.who = WATCH_WHO;
	w->interval = INTERVAL_DEF;
	audit_tower_init(&w->tw, WATCH_WHO);
	rc = watch_parse(w, argc, argv, &key, &wkey);
	if (rc != EXIT_OK) {
		free(w);
		return rc < 0 ? EXIT_OK : rc;
	}
	if (audit_key_parse(&w->a, key) < 0 || witness_load(WATCH_WHO, wkey, &w->wk) < 0) {
		free(w);
		return EXIT_USAGE;
	}
	tlog_signer_verifier(&w->wk, &wv);
	if (tlog_vkey_format(&wv, w->wkey_text, sizeof(w->wkey_text)) < 0)
		w->wkey_text[0] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the sleep ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (;;) {
		rc = watch_round(w, &fatal);
		if (w->once || fatal || stopping)
			break;
		struct timespec ts = {(time_t)w->interval, 0};
		while (!stopping && nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		if (stopping)
			break;
	}
	if (!w->once && !fatal)
		rc = EXIT_OK; /* stopped by a signal */
	tlog_signer_wipe(&w->wk);
	free(w);
	return rc;
}
