/* audit_cmd.c - `yagura audit`: the transparency log's verifier key, and
 * `audit verify`, which checks the log with nothing but that key: a
 * checkpoint's signature, the consistency of two checkpoints, an entry's
 * inclusion, and, given the store, that the stored tree is the signed one
 * (audit_store.c). Proofs come from the tower's JSON routes or are
 * computed from the store, and are checked with the tlog core: nothing
 * the tower or the store says is taken on trust. */
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
#include "tower/tower.h"

static void audit_usage(FILE *out)
{
	fputs("usage: yagura audit key [--store URL] [--log-key FILE]\n"
	      "         print the transparency log's verifier key (name+id+key), from the\n"
	      "         signing key kept beside the store (or FILE); run on the server\n"
	      "       yagura audit verify --key VKEY|@FILE [--checkpoint FILE] [--old FILE]\n"
	      "                           [--entry N] [--store URL [--tree-only] |\n"
	      "                           --tower URL --token-file FILE]\n"
	      "         check the log with nothing but its verifier key (docs/audit.md)\n"
	      "\n"
	      "verify:\n"
	      "  --key VKEY|@FILE          the log's verifier key, or a file holding it\n"
	      "  --checkpoint FILE         a checkpoint as GET /log/checkpoint gives it: it must\n"
	      "                            carry a valid signature by the key\n"
	      "  --old FILE                an earlier checkpoint: the tree it signs must be a\n"
	      "                            prefix of --checkpoint's\n"
	      "  --entry N                 entry N (from 0) must be in --checkpoint's tree; it\n"
	      "                            is printed\n"
	      "  --store URL               on the server, read access to the store: every entry\n"
	      "                            hashes to its leaf, every leaf has its entry, every\n"
	      "                            stored hash is the one rebuilt from the entries, and\n"
	      "                            the tree at the checkpoint's size is the checkpoint's\n"
	      "                            (without --checkpoint: the latest the store keeps);\n"
	      "                            and every row the entries name is as they recorded\n"
	      "                            it; --old and --entry take their proofs from it\n"
	      "  --tree-only               with --store: the log's tables alone, not the rows\n"
	      "without --store, proofs come from the tower, read as an auditor or overseer:\n"
	      CLIENT_TOWER_USAGE
	      "\n"
	      "One line on stderr for each check that fails, a summary line on stdout.\n"
	      "exit status: 0 every check passed; 1 usage, or a key or checkpoint file that\n"
	      "cannot be read; 2 a check failed (or the tower refused a proof); 3 the tower\n"
	      "or the store could not be reached; 4 internal failure; 6 split view: two\n"
	      "checkpoints signed by the key that cannot both be true, printed with their\n"
	      "sizes and roots: keep both files, they are the evidence.\n"
	      "audit key: 0 ok, 1 usage, 2 no key or not a key.\n",
	      out);
}

/* ---- audit key ---------------------------------------------------------- */

static int audit_key(int argc, char **argv)
{
	const char *store = "var/tower.db", *key = NULL;
	char vkey[400], err[512];

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
			store = argv[++i];
		} else if (strcmp(argv[i], "--log-key") == 0 && i + 1 < argc) {
			key = argv[++i];
		} else {
			log_warnx("audit key: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (tower_log_key(store, key, NULL, 0, vkey, sizeof(vkey), err, sizeof(err)) < 0) {
		log_warnx("audit key: %s", err);
		return EXIT_INPUT;
	}
	printf("%s\n", vkey);
	return EXIT_OK;
}

/* ---- the summary -------------------------------------------------------- */

struct verify {
	struct audit a;
	struct audit_tower tw;
	char ok[1024]; /* what passed, "; " between, for the summary */
	size_t oklen;
	const struct audit_cp *split[2]; /* a split view's two checkpoints */
};

static void passed(struct verify *v, const char *fmt, ...) YG_PRINTF(2, 3);

static void passed(struct verify *v, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (v->oklen + 3 >= sizeof(v->ok))
		return;
	if (v->oklen > 0) {
		memcpy(v->ok + v->oklen, "; ", 3);
		v->oklen += 2;
	}
	va_start(ap, fmt);
	n = vsnprintf(v->ok + v->oklen, sizeof(v->ok) - v->oklen, fmt, ap);
	va_end(ap);
	if (n > 0)
		v->oklen = v->oklen + (size_t)n < sizeof(v->ok) ? v->oklen + (size_t)n
								 : sizeof(v->ok) - 1;
}

/* The one line on stdout; returns the exit status of the run. */
static int summary(struct verify *v)
{
	if (v->split[0] != NULL) {
		char r0[TLOG_HASH_B64_LEN + 1], r1[TLOG_HASH_B64_LEN + 1];

		tlog_hash_to_b64(&v->split[0]->c.root, r0);
		tlog_hash_to_b64(&v->split[1]->c.root, r1);
		printf("split view: %s size %llu root %s; %s size %llu root %s; both signed by %s: "
		       "the log showed two histories that cannot both be true; keep both files, "
		       "they are the evidence\n",
		       v->split[0]->label, (unsigned long long)v->split[0]->c.size, r0,
		       v->split[1]->label, (unsigned long long)v->split[1]->c.size, r1, v->a.key_text);
		return EXIT_SPLIT;
	}
	if (v->a.findings > 0) {
		printf("FAILED: %lu finding%s; the first: %s\n", v->a.findings,
		       v->a.findings == 1 ? "" : "s", v->a.first);
		return EXIT_INPUT;
	}
	printf("ok: %s\n", v->ok);
	return EXIT_OK;
}

/* ---- proofs ------------------------------------------------------------- */

/* The consistency proof from the tree of size m to that of size n. */
static int consistency_proof(struct verify *v, uint64_t m, uint64_t n, struct tlog_proof *p)
{
	if (v->a.st != NULL)
		return audit_store_consistency(&v->a, m, n, p);
	return audit_tower_consistency(&v->tw, m, n, p);
}

static void split_view(struct verify *v, const struct audit_cp *old, const struct audit_cp *cur)
{
	v->split[0] = old;
	v->split[1] = cur;
}

/* old's tree is a prefix of cur's; or a split view. */
static int check_consistency(struct verify *v, const struct audit_cp *old, const struct audit_cp *cur)
{
	const struct audit_cp *small = old, *big = cur;
	const char *from = v->a.st != NULL ? "the store" : "the tower";
	struct tlog_proof p;
	struct tlog_hash empty;
	int rc;

	if (old->c.size > cur->c.size) {
		small = cur;
		big = old;
	}
	if (old->c.size == cur->c.size) {
		if (memcmp(old->c.root.b, cur->c.root.b, TLOG_HASH_LEN) == 0) {
			passed(v, "%s is the same tree", old->label);
			return EXIT_OK;
		}
		audit_finding(&v->a, "split view: %s and %s both sign a tree of size %llu, with "
				     "different roots",
			      old->label, cur->label, (unsigned long long)cur->c.size);
		split_view(v, old, cur);
		return EXIT_SPLIT;
	}
	tlog_empty_hash(&empty);
	if (small->c.size == 0)
		rc = memcmp(small->c.root.b, empty.b, TLOG_HASH_LEN) == 0 ? EXIT_OK : YG_ECONFLICT;
	else if ((rc = consistency_proof(v, small->c.size, big->c.size, &p)) == EXIT_OK)
		rc = tlog_check_consistency(&p, big->c.size, &big->c.root, small->c.size,
					    &small->c.root) == 0
			     ? EXIT_OK
			     : YG_ECONFLICT;
	if (rc == EXIT_OK) {
		passed(v, "%s (size %llu) is a prefix of %s", small->label,
		       (unsigned long long)small->c.size, big->label);
		return EXIT_OK;
	}
	if (rc == AUDIT_NO_TREE && big == cur) {
		audit_finding(&v->a, "%s no longer holds the tree of size %llu that %s signs", from,
			      (unsigned long long)big->c.size, big->label);
		return EXIT_INPUT;
	}
	if (rc == AUDIT_NO_TREE) /* the log went back: it cannot show its new tree is a prefix */
		audit_finding(&v->a, "split view: %s signs a tree of size %llu and the later %s one of "
				     "%llu, and %s no longer holds the larger tree: the log went back",
			      old->label, (unsigned long long)old->c.size, cur->label,
			      (unsigned long long)cur->c.size, from);
	else if (rc == YG_ECONFLICT)
		audit_finding(&v->a, "split view: the tree of %s (size %llu) is not a prefix of that of "
				     "%s (size %llu): the consistency proof from %s fails",
			      small->label, (unsigned long long)small->c.size, big->label,
			      (unsigned long long)big->c.size, from);
	else
		return rc;
	split_view(v, old, cur);
	return EXIT_SPLIT;
}

/* An entry as a terminal may show it: controls but '\n' become '?'. */
static void print_entry(const char *e, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)e[i];

		putchar((c < 0x20 && c != '\n') || c == 0x7f || c >= 0x80 ? '?' : c);
	}
	if (len == 0 || e[len - 1] != '\n')
		putchar('\n');
}

/* The entry at index and its inclusion proof in the tree of size n:
 * EXIT_OK with *entry (caller frees), AUDIT_NO_TREE, or an exit status. */
static int inclusion_proof(struct verify *v, uint64_t index, uint64_t n, char **entry,
			   size_t *len, struct tlog_proof *p)
{
	char path[128];
	json_t *ans = NULL;
	int rc;

	if (v->a.st != NULL)
		return audit_store_inclusion(&v->a, index, n, entry, len, p);
	snprintf(path, sizeof(path), "/api/v1/log/inclusion?index=%llu&size=%llu",
		 (unsigned long long)index, (unsigned long long)n);
	if ((rc = audit_tower_get(&v->tw, path, &ans)) != EXIT_OK)
		return rc;
	const json_t *e = json_object_get(ans, "entry");
	if (!json_is_string(e) || audit_proof_from_json(json_object_get(ans, "proof"), p) < 0) {
		log_warnx("%s: the tower's answer to %s holds no entry and proof", AUDIT_WHO, path);
		rc = EXIT_INPUT;
	} else if ((*entry = malloc(json_string_length(e) + 1)) == NULL) {
		rc = EXIT_FATAL;
	} else {
		*len = json_string_length(e);
		memcpy(*entry, json_string_value(e), *len + 1);
	}
	json_decref(ans);
	return rc;
}

static int check_entry(struct verify *v, const struct audit_cp *cp, uint64_t index)
{
	const char *from = v->a.st != NULL ? "the store" : "the tower";
	struct tlog_proof p;
	struct tlog_hash leaf;
	char *entry = NULL;
	size_t len = 0;
	int rc = inclusion_proof(v, index, cp->c.size, &entry, &len, &p);

	if (rc == AUDIT_NO_TREE) {
		audit_finding(&v->a, "%s no longer holds the tree of size %llu that %s signs: it "
				     "cannot prove entry %llu in it",
			      from, (unsigned long long)cp->c.size, cp->label,
			      (unsigned long long)index);
		return EXIT_INPUT;
	}
	if (rc != EXIT_OK)
		return rc;
	tlog_leaf_hash(entry, len, &leaf);
	if (tlog_check_inclusion(&p, cp->c.size, &cp->c.root, index, &leaf) == 0) {
		print_entry(entry, len);
		passed(v, "entry %llu is in its tree", (unsigned long long)index);
	} else {
		audit_finding(&v->a, "entry %llu is not in the tree %s signs: the proof from %s does "
				     "not lead from the entry it gives to the checkpoint's root",
			      (unsigned long long)index, cp->label, from);
		rc = EXIT_INPUT;
	}
	free(entry);
	return rc;
}

/* ---- audit verify ------------------------------------------------------- */

struct verify_args {
	const char *key, *checkpoint, *old, *store;
	unsigned long long entry;
	int has_entry, tower_given, tree_only;
};

static int verify_parse(struct verify *v, struct verify_args *g, int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		int took = client_opt(AUDIT_WHO, &v->tw.o, argc, argv, &i);

		if (took < 0)
			return EXIT_USAGE;
		if (took > 0) {
			g->tower_given |= strcmp(a, "--tower") == 0;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			audit_usage(stdout);
			return -1;
		}
		if (strcmp(a, "--tree-only") == 0) {
			g->tree_only = 1;
			continue;
		}
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = strcmp(a, "--key") == 0	   ? &g->key
				    : strcmp(a, "--checkpoint") == 0 ? &g->checkpoint
				    : strcmp(a, "--old") == 0	   ? &g->old
				    : strcmp(a, "--store") == 0	   ? &g->store
								   : NULL;
		if (slot == NULL && strcmp(a, "--entry") != 0) {
			log_warnx("%s: unexpected argument '%s' (try --help)", AUDIT_WHO, a);
			return EXIT_USAGE;
		}
		if (val == NULL) {
			log_warnx("%s: %s needs a value", AUDIT_WHO, a);
			return EXIT_USAGE;
		}
		i++;
		if (slot != NULL) {
			*slot = val;
		} else if (cli_parse_u64(val, 0, TLOG_MAX_SIZE - 1, &g->entry) == 0) {
			g->has_entry = 1;
		} else {
			log_warnx("%s: --entry: '%s' is not an entry's index (a whole number from 0)",
				  AUDIT_WHO, val);
			return EXIT_USAGE;
		}
	}
	if (g->key == NULL) {
		log_warnx("%s: --key is required: the log's verifier key, as 'yagura audit key' "
			  "prints it",
			  AUDIT_WHO);
		return EXIT_USAGE;
	}
	if (g->checkpoint == NULL && (g->store == NULL || g->old != NULL || g->has_entry)) {
		log_warnx("%s: %s", AUDIT_WHO,
			  g->store == NULL && g->old == NULL && !g->has_entry
				  ? "nothing to verify: give --checkpoint FILE, or --store URL"
				  : "--old and --entry need --checkpoint FILE");
		return EXIT_USAGE;
	}
	if (g->tree_only && g->store == NULL) {
		log_warnx("%s: --tree-only goes with --store", AUDIT_WHO);
		return EXIT_USAGE;
	}
	if (g->store != NULL && g->tower_given) {
		log_warnx("%s: proofs come from --store or from --tower, not both", AUDIT_WHO);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int verify_run(struct verify *v, const struct verify_args *g, struct audit_cp *cp,
		      struct audit_cp *old)
{
	struct audit_walk w;
	int rc;

	if (audit_key_parse(&v->a, g->key) < 0)
		return EXIT_USAGE;
	if (g->checkpoint != NULL && (rc = audit_cp_load(&v->a, "--checkpoint", g->checkpoint, cp)) != 0)
		return rc == EXIT_USAGE ? rc : summary(v);
	if (g->old != NULL && (rc = audit_cp_load(&v->a, "--old", g->old, old)) != 0)
		return rc == EXIT_USAGE ? rc : summary(v);
	if (g->has_entry && g->entry >= cp->c.size) {
		log_warnx("%s: --entry %llu: the tree %s signs has %llu entries (0 to %llu)", AUDIT_WHO,
			  g->entry, cp->label, (unsigned long long)cp->c.size,
			  (unsigned long long)cp->c.size - 1);
		return EXIT_USAGE;
	}
	if (g->store != NULL && (rc = audit_store_open(&v->a, g->store)) != EXIT_OK)
		return rc;
	if (g->checkpoint == NULL) {
		cp->label = "the store's latest checkpoint";
		if ((rc = audit_store_latest(&v->a, &cp->buf, &cp->len)) != EXIT_OK)
			return rc;
		if (audit_cp_open(&v->a, cp) != EXIT_OK)
			return summary(v);
	}
	passed(v, "%s (%s, size %llu) is signed by %s", cp->label, v->a.key.name,
	       (unsigned long long)cp->c.size, v->a.key_text);
	if (g->old != NULL && (rc = check_consistency(v, old, cp)) != EXIT_OK && rc != EXIT_INPUT &&
	    rc != EXIT_SPLIT)
		return rc;
	if (g->has_entry && (rc = check_entry(v, cp, g->entry)) != EXIT_OK && rc != EXIT_INPUT)
		return rc;
	if (g->store != NULL) {
		v->a.tree_only = g->tree_only;
		if ((rc = audit_store_walk(&v->a, cp, &w)) != EXIT_OK)
			return rc;
		if (v->a.findings == 0 && g->tree_only)
			passed(v, "the store's %llu leaves, their entries and %llu stored hashes are the "
				  "tree %s signs (the rows were not read: --tree-only)",
			       (unsigned long long)w.leaves, (unsigned long long)w.hashes, cp->label);
		else if (v->a.findings == 0)
			passed(v, "the store's %llu leaves, their entries and %llu stored hashes are the "
				  "tree %s signs, and its %llu rows are as the entries recorded them",
			       (unsigned long long)w.leaves, (unsigned long long)w.hashes, cp->label,
			       (unsigned long long)w.rows);
	}
	return summary(v);
}

static int audit_verify(int argc, char **argv)
{
	struct verify *v = calloc(1, sizeof(*v));
	struct audit_cp *cp = calloc(2, sizeof(*cp));
	struct verify_args g = {0};
	int rc;

	if (v == NULL || cp == NULL) {
		free(v);
		free(cp);
		log_warnx("%s: out of memory", AUDIT_WHO);
		return EXIT_FATAL;
	}
	audit_tower_init(&v->tw, AUDIT_WHO);
	rc = verify_parse(v, &g, argc, argv);
	if (rc == EXIT_OK)
		rc = verify_run(v, &g, &cp[0], &cp[1]);
	else if (rc < 0)
		rc = EXIT_OK; /* --help */
	if (v->a.st != NULL)
		audit_store_close(&v->a);
	audit_cp_free(&cp[0]);
	audit_cp_free(&cp[1]);
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		log_warn("%s: writing the summary", AUDIT_WHO);
		rc = EXIT_OUTPUT;
	}
	free(v);
	free(cp);
	return rc;
}

int cmd_audit(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		audit_usage(argc < 2 ? stderr : stdout);
		audit_watch_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "key") == 0)
		return audit_key(argc, argv);
	if (strcmp(argv[1], "verify") == 0)
		return audit_verify(argc, argv);
	if (strcmp(argv[1], "watch") == 0)
		return audit_watch(argc, argv);
	if (strcmp(argv[1], "witness-key") == 0)
		return audit_witness_key(argc, argv);
	log_warnx("audit: unknown command '%s' (key, verify, watch or witness-key)", argv[1]);
	return EXIT_USAGE;
}
