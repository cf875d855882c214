/* record.c - the rows a change stores, hashed as the transparency log
 * records them (record.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/alloc.h"
#include "base/digest.h"
#include "tower/record.h"

/* The columns each change writes. Append a column only with a new entry
 * format: an auditor hashes old rows with the columns their entries were
 * made with. */
const struct rec_def rec_defs[REC_TABLES] = {
	[REC_ORGS] = {"orgs", "id, name, sector, created", "itti", "id", 1, false},
	[REC_USERS] = {"users", "id, org_id, name, role, sectors, created, disabled", "iitttii", "id",
		       1, false},
	[REC_TOKENS] = {"tokens", "id, user_id, hash, prefix, created, expires, revoked", "iittiii",
			"id", 1, false},
	[REC_REPORTS] = {"reports",
			 "id, org_id, version, stage, category, severity, detected_at, created, "
			 "updated, due_prompt, due_detailed, due_final, prompt_at, detailed_at, "
			 "final_at, closed_at",
			 "iiitttiiiiiiiiii", "id", 1, false},
	[REC_REPORT_VERSIONS] = {"report_versions",
				 "report_id, version, stage, body, author_id, created", "iittii",
				 "report_id, version", 2, false},
	[REC_ASSETS] = {"assets", "id, org_id, product, version, role, location, created", "iitttti",
			"id", 1, false},
	[REC_ASSET_ADDRESSES] = {"asset_addresses", "prefix", "t", "asset_id", 1, true},
	[REC_ALERT_BATCHES] = {"alert_batches", "id, sensor_id, received, alerts", "iiii", "id", 1,
			       false},
	[REC_ALERTS] = {"alerts",
			"sensor_id, alert_id, received, ts, src_ip, src_port, dest_ip, dest_port, "
			"proto, signature_id, signature, severity, body, attackers, attacker_role, "
			"detector, hosts, ports, sessions, packets, window_start, indicator, "
			"confidence, attacker_packets, asset_id, asset_org_id",
			"itiititititittttiiiiititii", "batch_id", 1, true},
	[REC_CASES] = {"cases",
		       "id, action, target, proto, ports, contact, justification, duration, "
		       "approvals_needed, state, proposed_by, created, updated, activated, expires, "
		       "ended",
		       "ittttttiitiiiiii", "id", 1, false},
	[REC_CASE_EVIDENCE] = {"case_evidence", "kind, ref", "tt", "case_id", 1, true},
	[REC_CASE_DECISIONS] = {"case_decisions", "id, case_id, user_id, decision, reason, created",
				"iiitti", "id", 1, false},
	[REC_AUTHORIZATIONS] = {"authorizations",
				"id, sensor_id, prefixes, vlans, purpose, starts, approvals_needed, "
				"state, proposed_by, created, updated, activated, expires, ended",
				"iitttiitiiiiii", "id", 1, false},
	[REC_AUTHORIZATION_DECISIONS] = {"authorization_decisions",
					 "id, authorization_id, user_id, decision, reason, created",
					 "iiitti", "id", 1, false},
	[REC_TAXII_STATUS] = {"taxii_status",
			      "id, status_id, collection_id, user_id, total, success, failure, "
			      "failures, created",
			      "ittiiiiti", "id", 1, false},
	[REC_STIX_OBJECTS] = {"stix_objects",
			      "collection_id, stix_id, type, version, version_us, spec_version, "
			      "date_added, tlp, org_id, body",
			      "ttttitiiit", "batch_id", 1, true},
	[REC_STIX_DELETIONS] = {"stix_deletions",
				"id, collection_id, stix_id, version_us, user_id, created", "ittiii",
				"id", 1, false},
	[REC_USER_PASSWORDS] = {"user_passwords", "user_id, hash, changed", "iti", "user_id", 1,
				false},
	[REC_USER_PREFERENCES] = {"user_preferences", "user_id, language, time_zone, changed",
				  "itti", "user_id", 1, false},
	[REC_SESSIONS] = {"sessions", "id, user_id, hash, created, expires, ended", "iitiii", "id",
			  1, false},
	[REC_TAXII_COLLECTIONS] = {"taxii_collections",
				   "num, id, alias, title, description, created", "itttti", "num",
				   1, false},
	/* A collection's rules, replaced whole by each change: a set. */
	[REC_TAXII_ACCESS] = {"taxii_access", "collection_id, role, org_id, can_read, can_write",
			      "ttiii", "collection_num", 1, true},
	[REC_USER_CERTIFICATES] = {"user_certificates", "user_id, fingerprint, updated", "iti",
				   "user_id", 1, false},
};

enum rec_table rec_table_named(const char *name, size_t len)
{
	for (int t = 0; t < REC_TABLES; t++)
		if (strlen(rec_defs[t].table) == len && memcmp(rec_defs[t].table, name, len) == 0)
			return (enum rec_table)t;
	return REC_TABLES;
}

int rec_select(enum rec_table t, char *buf, size_t cap)
{
	const struct rec_def *d = &rec_defs[t];
	int n = d->set ? snprintf(buf, cap, "%s, %s", d->cols, d->key)
		       : snprintf(buf, cap, "%s", d->cols);

	return n < 0 || (size_t)n >= cap ? YG_ELIMIT : n;
}

/* One column's value, whichever side it came from. */
struct rec_val {
	bool null;
	int64_t i;
	const char *s;
	size_t len;
};

/* The next column name of a cols list at *p: its start and length. */
static size_t next_col(const char **p, const char **name)
{
	const char *s = *p, *e;

	while (*s == ',' || *s == ' ')
		s++;
	for (e = s; *e != '\0' && *e != ','; e++)
		;
	*name = s;
	*p = e;
	return (size_t)(e - s);
}

/* A row's serialization, in a buffer on the stack that moves to the heap
 * for a row too long for it. */
struct ser {
	unsigned char *p;
	size_t len, cap;
	bool heap, failed;
	unsigned char stack[4096];
};

static void ser_put(struct ser *s, const void *p, size_t n)
{
	if (s->failed)
		return;
	if (s->len + n > s->cap) {
		size_t cap = (s->len + n) * 2;
		unsigned char *q = s->heap ? yg_realloc(s->p, cap) : yg_malloc(cap);

		if (q == NULL) {
			s->failed = true;
			return;
		}
		if (!s->heap)
			memcpy(q, s->p, s->len);
		s->p = q;
		s->cap = cap;
		s->heap = true;
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
}

/* The row's serialization (record.h), hashed in one call: libcrypto's
 * SHA-256 uses the CPU's SHA instructions where it has them, which a
 * sensor's batch of alerts, each a few hundred bytes, is worth. */
static int row_hash(enum rec_table t, const struct rec_val *v, struct tlog_hash *h)
{
	const struct rec_def *d = &rec_defs[t];
	struct ser s;
	const char *p = d->cols, *name;
	char num[32];
	int rc;

	s.p = s.stack;
	s.len = 0;
	s.cap = sizeof(s.stack);
	s.heap = s.failed = false;
	ser_put(&s, d->table, strlen(d->table));
	ser_put(&s, "\n", 1);
	for (size_t c = 0; d->types[c] != '\0'; c++) {
		size_t nl = next_col(&p, &name);
		int n;

		ser_put(&s, name, nl);
		if (v[c].null)
			n = snprintf(num, sizeof(num), "=n;");
		else if (d->types[c] == 'i')
			n = snprintf(num, sizeof(num), "=i%" PRId64 ";", v[c].i);
		else
			n = snprintf(num, sizeof(num), "=t%zu:", v[c].len);
		ser_put(&s, num, (size_t)n);
		if (!v[c].null && d->types[c] == 't') {
			ser_put(&s, v[c].s, v[c].len);
			ser_put(&s, ";", 1);
		}
	}
	rc = s.failed ? YG_ENOMEM : digest_sha256(s.p, s.len, h->b) < 0 ? YG_ENOMEM : 0;
	if (s.heap)
		free(s.p);
	return rc;
}

/* The column of r named name[0..len-1], or SIZE_MAX. */
static size_t col_named(const struct store_res *r, const char *name, size_t len)
{
	for (size_t c = 0; c < store_res_ncols(r); c++) {
		const char *cn = store_res_colname(r, c);

		if (cn != NULL && strlen(cn) == len && memcmp(cn, name, len) == 0)
			return c;
	}
	return SIZE_MAX;
}

int rec_row_res(enum rec_table t, const struct store_res *r, size_t i, struct tlog_hash *h,
		int64_t key[2])
{
	const struct rec_def *d = &rec_defs[t];
	struct rec_val v[REC_COLS_MAX];
	size_t ncols = strlen(d->types);
	const char *p = d->key, *name;
	int rc;

	if (store_res_ncols(r) != ncols + (d->set ? 1 : 0))
		return YG_EINVAL;
	for (size_t c = 0; c < ncols; c++) {
		v[c] = (struct rec_val){.null = store_res_isnull(r, i, c) != 0};
		if (v[c].null)
			continue;
		if (d->types[c] == 'i') {
			v[c].i = store_res_int64(r, i, c);
		} else if ((v[c].s = store_res_blob(r, i, c, &v[c].len)) == NULL) {
			/* An integer in a text column of SQLite's: as text. */
			return YG_EINVAL;
		}
	}
	if ((rc = row_hash(t, v, h)) < 0)
		return rc;
	key[0] = key[1] = 0;
	for (unsigned k = 0; k < d->nkey; k++) {
		size_t nl = next_col(&p, &name), c = col_named(r, name, nl);

		if (c == SIZE_MAX)
			return YG_EINVAL;
		key[k] = store_res_int64(r, i, c);
	}
	return 0;
}

int rec_row_params(enum rec_table t, const struct store_param *ps, struct tlog_hash *h)
{
	const struct rec_def *d = &rec_defs[t];
	struct rec_val v[REC_COLS_MAX];

	for (size_t c = 0; d->types[c] != '\0'; c++) {
		v[c] = (struct rec_val){.null = ps[c].type == STORE_T_NULL};
		if (v[c].null)
			continue;
		if (d->types[c] == 'i' && ps[c].type == STORE_T_INT64)
			v[c].i = ps[c].i;
		else if (d->types[c] == 't' && ps[c].type == STORE_T_TEXT)
			v[c].s = ps[c].p, v[c].len = ps[c].len;
		else
			return YG_EINVAL;
	}
	return row_hash(t, v, h);
}

/* ---- sets --------------------------------------------------------------- */

int rec_set_add(struct rec_set *s, const struct tlog_hash *h)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct tlog_hash *n = yg_realloc(s->h, cap * sizeof(*n));

		if (n == NULL)
			return YG_ENOMEM;
		s->h = n;
		s->cap = cap;
	}
	s->h[s->n++] = *h;
	return 0;
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, TLOG_HASH_LEN);
}

void rec_set_hash(enum rec_table t, struct rec_set *s, struct tlog_hash *out, uint64_t *count)
{
	crypto_hash_sha256_state st;
	size_t n = 0;

	if (s->n > 1)
		qsort(s->h, s->n, sizeof(*s->h), hash_cmp);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)"set ", 4);
	crypto_hash_sha256_update(&st, (const unsigned char *)rec_defs[t].table,
				  strlen(rec_defs[t].table));
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	for (size_t i = 0; i < s->n; i++) {
		if (i > 0 && memcmp(s->h[i].b, s->h[i - 1].b, TLOG_HASH_LEN) == 0)
			continue;
		crypto_hash_sha256_update(&st, s->h[i].b, TLOG_HASH_LEN);
		n++;
	}
	crypto_hash_sha256_final(&st, out->b);
	*count = n;
}

void rec_set_free(struct rec_set *s)
{
	free(s->h);
	*s = (struct rec_set){0};
}

/* ---- entry lines -------------------------------------------------------- */

int rec_ref_format(const struct rec_ref *ref, char *buf, size_t cap)
{
	const struct rec_def *d = &rec_defs[ref->t];
	char hb[TLOG_HASH_B64_LEN + 1];
	int n;

	tlog_hash_to_b64(&ref->h, hb);
	if (ref->erase)
		n = snprintf(buf, cap, "erase %s %" PRId64 " %" PRId64 " %" PRIu64 "\n", d->table,
			     ref->key[0], ref->key[1], ref->count);
	else if (d->set)
		n = snprintf(buf, cap, "rows %s %" PRId64 " %" PRIu64 " %s\n", d->table, ref->key[0],
			     ref->count, hb);
	else if (d->nkey == 2)
		n = snprintf(buf, cap, "row %s %" PRId64 " %" PRId64 " %s\n", d->table, ref->key[0],
			     ref->key[1], hb);
	else
		n = snprintf(buf, cap, "row %s %" PRId64 " %s\n", d->table, ref->key[0], hb);
	return n < 0 || (size_t)n >= cap ? YG_ELIMIT : n;
}

/* A decimal at *p up to the next space: 0 and *v, or -1. */
static int take_num(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (s >= end || *s < '0' || *s > '9' || (*s == '0' && s + 1 < end && s[1] != ' '))
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (s >= end || *s != ' ' || x > INT64_MAX)
		return -1;
	*v = x;
	*p = s + 1;
	return 0;
}

/* "erase <table> <from> <to> <count>": the count ends the line. */
static int erase_parse(const char *p, const char *end, struct rec_ref *ref)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	uint64_t from, to, count = 0;
	char last[24];
	size_t n;

	if (sp == NULL || (ref->t = rec_table_named(p, (size_t)(sp - p))) == REC_TABLES)
		return YG_EFORMAT;
	p = sp + 1;
	if (take_num(&p, end, &from) < 0 || take_num(&p, end, &to) < 0 || from > to)
		return YG_EFORMAT;
	n = (size_t)(end - p);
	if (n == 0 || n >= sizeof(last) - 1)
		return YG_EFORMAT;
	memcpy(last, p, n);
	last[n] = ' ';
	last[n + 1] = '\0';
	p = last;
	if (take_num(&p, last + n + 1, &count) < 0 || p != last + n + 1)
		return YG_EFORMAT;
	*ref = (struct rec_ref){.t = ref->t, .key = {(int64_t)from, (int64_t)to}, .count = count,
				.erase = true};
	return 1;
}

int rec_ref_parse(const char *line, size_t len, struct rec_ref *ref)
{
	const char *p = line, *end = line + len, *sp;
	bool set;
	uint64_t k0 = 0, k1 = 0, count = 0;

	if (len > 6 && memcmp(line, "erase ", 6) == 0)
		return erase_parse(line + 6, end, ref);
	if (len > 5 && memcmp(line, "rows ", 5) == 0)
		set = true, p += 5;
	else if (len > 4 && memcmp(line, "row ", 4) == 0)
		set = false, p += 4;
	else
		return 0;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
		return YG_EFORMAT;
	ref->t = rec_table_named(p, (size_t)(sp - p));
	if (ref->t == REC_TABLES || rec_defs[ref->t].set != set)
		return YG_EFORMAT;
	p = sp + 1;
	if (take_num(&p, end, &k0) < 0)
		return YG_EFORMAT;
	if ((set || rec_defs[ref->t].nkey == 2) && take_num(&p, end, set ? &count : &k1) < 0)
		return YG_EFORMAT;
	if ((size_t)(end - p) != TLOG_HASH_B64_LEN || tlog_hash_from_b64(p, (size_t)(end - p),
								      &ref->h) < 0)
		return YG_EFORMAT;
	ref->key[0] = (int64_t)k0;
	ref->key[1] = (int64_t)k1;
	ref->count = count;
	ref->erase = false;
	return 1;
}
