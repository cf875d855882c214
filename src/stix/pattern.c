/* pattern.c - STIX patterns: one value in, and a disjunction of equality
 * comparisons out.
 *
 * The grammar parsed is the part of the STIX patterning language that a
 * matcher of single values can honour exactly: OR between observation
 * expressions and between comparisons, '=' against a string literal,
 * parentheses. A pattern is refused at the first construct outside it,
 * left to right, with one line saying which; it is never half-understood.
 * The parser allocates nothing and recurses at most STIX_PATTERN_DEPTH
 * deep, so that any byte string is safe to give it. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "stix/stix_int.h"

#define SHOW_MAX 80 /* bytes of the pattern quoted in a message */

static const struct {
	const char *path; /* canonical */
	const char *name;
} kinds[STIX_KIND_COUNT] = {
	[STIX_KIND_IPV4] = {"ipv4-addr:value", "ipv4"},
	[STIX_KIND_IPV6] = {"ipv6-addr:value", "ipv6"},
	[STIX_KIND_DOMAIN] = {"domain-name:value", "domain"},
	[STIX_KIND_URL] = {"url:value", "url"},
	[STIX_KIND_MD5] = {"file:hashes.MD5", "md5"},
	[STIX_KIND_SHA1] = {"file:hashes.'SHA-1'", "sha1"},
	[STIX_KIND_SHA256] = {"file:hashes.'SHA-256'", "sha256"},
	[STIX_KIND_OTHER] = {NULL, "other"},
};

const char *stix_kind_path(enum stix_kind kind)
{
	return (unsigned)kind < STIX_KIND_COUNT ? kinds[kind].path : NULL;
}

const char *stix_kind_name(enum stix_kind kind)
{
	return (unsigned)kind < STIX_KIND_COUNT ? kinds[kind].name : "other";
}

/* --- values --- */

static bool has_control(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return true;
	return false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "/N" with 0 <= N <= max, no leading zero; -1 otherwise. */
static int prefix_len(const char *s, size_t n, unsigned max)
{
	unsigned v = 0;

	if (n < 2 || n > 4 || s[0] != '/' || (n > 2 && s[1] == '0'))
		return -1;
	for (size_t i = 1; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= max ? 0 : -1;
}

/* Dotted quad, each part 0-255 without leading zeros (which some parsers
 * read as octal: refusing them keeps every reader on the same address). */
static int check_ipv4(const char *v, size_t n)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned x = 0;
		size_t start = i;

		if (part > 0) {
			if (i >= n || v[i] != '.')
				return -1;
			start = ++i;
		}
		while (i < n && is_digit(v[i]) && i - start < 3)
			x = x * 10 + (unsigned)(v[i++] - '0');
		if (i == start || x > 255 || (i - start > 1 && v[start] == '0'))
			return -1;
	}
	return i == n ? 0 : prefix_len(v + i, n - i, 32);
}

static int check_ipv6(const char *v, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 1];
	uint8_t a[16];
	const char *slash = memchr(v, '/', n);
	size_t an = slash ? (size_t)(slash - v) : n;

	if (an == 0 || an >= sizeof(buf))
		return -1;
	memcpy(buf, v, an);
	buf[an] = '\0';
	if (inet_pton(AF_INET6, buf, a) != 1)
		return -1;
	return slash ? prefix_len(slash, n - an, 128) : 0;
}

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
	       c == '_';
}

/* A DNS name: labels of 1-63 letters, digits, '-' or '_' (real zones have
 * underscores), 253 bytes in all, one trailing dot allowed, and a last
 * label that is not all digits (that is an address, not a name). */
static int check_domain(const char *v, size_t n)
{
	size_t label = 0;
	bool numeric = true;

	if (n > 0 && v[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '.') {
			if (label == 0)
				return -1;
			label = 0;
			numeric = true;
			continue;
		}
		if (!label_char(v[i]) || ++label > 63)
			return -1;
		if (!is_digit(v[i]))
			numeric = false;
	}
	return label > 0 && !numeric ? 0 : -1;
}

/* scheme "://" authority ...: a scheme of a letter then letters, digits,
 * '+', '-', '.'; a non-empty host; no spaces (a URL has them encoded). */
static int check_url(const char *v, size_t n)
{
	size_t i = 0, h;

	if (n == 0 || !((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z')))
		return -1;
	while (i < n && (label_char(v[i]) || v[i] == '+' || v[i] == '.') && v[i] != '_')
		i++;
	if (n - i < 4 || v[i] != ':' || v[i + 1] != '/' || v[i + 2] != '/')
		return -1;
	h = i + 3;
	for (size_t k = 0; k < n; k++)
		if (v[k] == ' ')
			return -1;
	/* the authority runs to the first '/', '?' or '#'; it needs a host */
	i = h;
	while (i < n && v[i] != '/' && v[i] != '?' && v[i] != '#')
		i++;
	if (i == h)
		return -1;
	{
		const char *at = NULL;

		for (size_t k = h; k < i; k++)
			if (v[k] == '@')
				at = v + k;
		if (at != NULL && (size_t)(at - v) + 1 >= i)
			return -1;
		if (at != NULL && (at[1] == ':' || at[1] == '/'))
			return -1;
		if (at == NULL && v[h] == ':')
			return -1;
	}
	return 0;
}

static int check_hex(const char *v, size_t n, size_t want)
{
	if (n != want)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!(is_digit(v[i]) || (v[i] >= 'a' && v[i] <= 'f') || (v[i] >= 'A' && v[i] <= 'F')))
			return -1;
	return 0;
}

int stix_value_check(enum stix_kind kind, const char *v, size_t n)
{
	int r = -1;

	if (v == NULL || has_control(v, n) || memchr(v, '\0', n) != NULL)
		return YG_EINVAL;
	switch (kind) {
	case STIX_KIND_IPV4:
		r = check_ipv4(v, n);
		break;
	case STIX_KIND_IPV6:
		r = check_ipv6(v, n);
		break;
	case STIX_KIND_DOMAIN:
		r = check_domain(v, n);
		break;
	case STIX_KIND_URL:
		r = check_url(v, n);
		break;
	case STIX_KIND_MD5:
		r = check_hex(v, n, 32);
		break;
	case STIX_KIND_SHA1:
		r = check_hex(v, n, 40);
		break;
	case STIX_KIND_SHA256:
		r = check_hex(v, n, 64);
		break;
	case STIX_KIND_OTHER:
		r = 0;
		break;
	case STIX_KIND_COUNT:
		break;
	}
	return r == 0 ? 0 : YG_EINVAL;
}

int stix_pattern_for(enum stix_kind kind, const char *value, char *out, size_t cap)
{
	const char *path;
	size_t n, o = 0, vn;

	if ((unsigned)kind >= STIX_KIND_OTHER || value == NULL)
		return YG_EINVAL;
	vn = strlen(value);
	if (stix_value_check(kind, value, vn) < 0)
		return YG_EINVAL;
	path = kinds[kind].path;
	n = strlen(path);
	/* "[" path " = '" escaped "']" NUL; the loop checks the escapes */
	if (cap < n + vn + 8 || vn > STIX_VALUE_MAX - 1)
		return YG_ELIMIT;
	out[o++] = '[';
	memcpy(out + o, path, n);
	o += n;
	memcpy(out + o, " = '", 4);
	o += 4;
	for (size_t i = 0; i < vn; i++) {
		if (value[i] == '\'' || value[i] == '\\') {
			if (o + 1 >= cap)
				return YG_ELIMIT;
			out[o++] = '\\';
		}
		if (o + 1 >= cap)
			return YG_ELIMIT;
		out[o++] = value[i];
	}
	if (o + 3 > cap)
		return YG_ELIMIT;
	out[o++] = '\'';
	out[o++] = ']';
	out[o] = '\0';
	return (int)o;
}

/* --- the parser --- */

enum tok { T_END, T_LBRACK, T_RBRACK, T_LPAREN, T_RPAREN, T_STR, T_WORD, T_OP, T_BAD };

struct token {
	enum tok t;
	const char *s;
	size_t n;
};

struct pat {
	const char *start, *p, *end;
	int depth;
	unsigned kinds;
	stix_pattern_cb cb;
	void *ctx;
	int cb_rc;
	struct stix_pattern_error *err;
	char val[STIX_VALUE_MAX];
};

static int is_word_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-' || ch == ':' || ch == '.';
}

static struct token pat_next(struct pat *pp)
{
	struct token t = {T_END, pp->p, 0};
	const char *p = pp->p, *e = pp->end;

	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	t.s = p;
	if (p >= e)
		goto out;
	switch (*p) {
	case '[':
		t.t = T_LBRACK;
		p++;
		goto out;
	case ']':
		t.t = T_RBRACK;
		p++;
		goto out;
	case '(':
		t.t = T_LPAREN;
		p++;
		goto out;
	case ')':
		t.t = T_RPAREN;
		p++;
		goto out;
	case '\'':
		t.t = T_STR;
		t.s = ++p;
		while (p < e && *p != '\'') {
			if (*p == '\\') {
				if (p + 1 >= e || (p[1] != '\\' && p[1] != '\'')) {
					t.t = T_BAD;
					t.s = p;
					p++;
					goto out;
				}
				p++;
			}
			p++;
		}
		if (p >= e) {
			t.t = T_BAD;
			t.s--; /* at the quote: "unterminated string" */
			goto out;
		}
		t.n = (size_t)(p - t.s);
		p++;
		pp->p = p;
		return t;
	case '=':
		t.t = T_OP;
		p++;
		goto out;
	case '!':
	case '<':
	case '>':
		t.t = T_OP;
		p++;
		if (p < e && *p == '=')
			p++;
		goto out;
	}
	if (!is_word_char(*p)) {
		t.t = T_BAD;
		p++;
		goto out;
	}
	t.t = T_WORD;
	while (p < e) {
		if (is_word_char(*p)) {
			p++;
		} else if (*p == '\'' && p[-1] == '.') { /* hashes.'SHA-256' */
			const char *q = memchr(p + 1, '\'', (size_t)(e - p - 1));

			if (q == NULL)
				break;
			p = q + 1;
		} else if (*p == '[' && p + 2 < e && (p[1] == '*' || (p[1] >= '0' && p[1] <= '9'))) {
			const char *q = memchr(p, ']', (size_t)(e - p));

			if (q == NULL)
				break;
			p = q + 1; /* list index: body_multipart[*] */
		} else {
			break;
		}
	}
out:
	t.n = (size_t)(p - t.s);
	pp->p = p;
	return t;
}

static struct token pat_peek(struct pat *pp)
{
	const char *save = pp->p;
	struct token t = pat_next(pp);

	pp->p = save;
	return t;
}

static bool word_is(const struct token *t, const char *w)
{
	return t->t == T_WORD && strlen(w) == t->n && strncasecmp(t->s, w, t->n) == 0;
}

__attribute__((format(printf, 4, 5))) static int pat_fail(struct pat *pp, enum stix_pattern_why why,
							  const char *at, const char *fmt, ...)
{
	va_list ap;

	if (pp->err != NULL) {
		pp->err->why = why;
		pp->err->offset = at ? (size_t)(at - pp->start) : (size_t)(pp->p - pp->start);
		va_start(ap, fmt);
		vsnprintf(pp->err->msg, sizeof(pp->err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int show_len(size_t n)
{
	return (int)(n > SHOW_MAX ? SHOW_MAX : n);
}

static int pat_bad_token(struct pat *pp, const struct token *t, const char *expected)
{
	if (t->t == T_END)
		return pat_fail(pp, STIX_PATTERN_SYNTAX, t->s, "expected %s at end of pattern",
				expected);
	if (t->t == T_BAD && t->s < pp->end && t->s[0] == '\'')
		return pat_fail(pp, STIX_PATTERN_SYNTAX, t->s, "unterminated string");
	if (t->t == T_BAD && t->s < pp->end && t->s[0] == '\\')
		return pat_fail(pp, STIX_PATTERN_SYNTAX, t->s, "invalid escape in string");
	return pat_fail(pp, STIX_PATTERN_SYNTAX, t->s, "expected %s, found '%.*s'", expected,
			show_len(t->n ? t->n : 1), t->s);
}

/* The kind of an object path. Type and property names compare without
 * case, as the intel loader always has; a hash name with or without
 * quotes, and with or without its hyphen ("SHA256" is common in feeds). */
static enum stix_kind path_kind(const char *s, size_t n)
{
	static const char hashes[] = "file:hashes.";
	static const struct {
		const char *name;
		enum stix_kind kind;
	} algs[] = {
		{"MD5", STIX_KIND_MD5},	      {"SHA-1", STIX_KIND_SHA1},     {"SHA1", STIX_KIND_SHA1},
		{"SHA-256", STIX_KIND_SHA256}, {"SHA256", STIX_KIND_SHA256},
	};

	for (int k = 0; k < STIX_KIND_MD5; k++)
		if (strlen(kinds[k].path) == n && strncasecmp(s, kinds[k].path, n) == 0)
			return (enum stix_kind)k;
	if (n > sizeof(hashes) - 1 && strncasecmp(s, hashes, sizeof(hashes) - 1) == 0) {
		const char *a = s + sizeof(hashes) - 1;
		size_t an = n - (sizeof(hashes) - 1);

		if (an >= 2 && a[0] == '\'' && a[an - 1] == '\'') {
			a++;
			an -= 2;
		}
		for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
			if (strlen(algs[i].name) == an && strncasecmp(a, algs[i].name, an) == 0)
				return algs[i].kind;
	}
	return STIX_KIND_OTHER;
}

static int cmp_expr(struct pat *pp);

/* path '=' 'literal' */
static int comparison(struct pat *pp, const struct token *path)
{
	struct token op, lit;
	struct stix_cmp cmp;
	size_t n = 0;
	int rc;

	cmp.kind = path_kind(path->s, path->n);
	if (!(pp->kinds & STIX_KIND_BIT(cmp.kind)))
		return pat_fail(pp, STIX_PATTERN_OBJECT, path->s, "unsupported object path %.*s",
				show_len(path->n), path->s);
	op = pat_next(pp);
	if (op.t == T_WORD)
		return pat_fail(pp, STIX_PATTERN_OPERATOR, op.s, "unsupported operator %.*s",
				show_len(op.n), op.s);
	if (op.t != T_OP)
		return pat_bad_token(pp, &op, "a comparison operator");
	if (op.n != 1 || op.s[0] != '=')
		return pat_fail(pp, STIX_PATTERN_OPERATOR, op.s, "unsupported operator %.*s",
				show_len(op.n), op.s);
	lit = pat_next(pp);
	if (lit.t != T_STR)
		return pat_bad_token(pp, &lit, "a quoted string");
	if (lit.n >= sizeof(pp->val)) {
		if (pp->err != NULL)
			pp->err->kind = cmp.kind;
		return pat_fail(pp, STIX_PATTERN_TOO_LONG, lit.s, "literal longer than %d bytes",
				STIX_VALUE_MAX - 1);
	}
	for (size_t k = 0; k < lit.n; k++) {
		if (lit.s[k] == '\\')
			k++;
		pp->val[n++] = lit.s[k];
	}
	pp->val[n] = '\0';
	if (pp->cb == NULL)
		return 0;
	cmp.path = path->s;
	cmp.path_len = path->n;
	cmp.value = pp->val;
	cmp.value_len = n;
	if ((rc = pp->cb(pp->ctx, &cmp)) != 0) {
		pp->cb_rc = rc;
		return pat_fail(pp, STIX_PATTERN_CALLBACK, lit.s, "refused by the caller");
	}
	return 0;
}

/* A comparison, or a parenthesized comparison expression. */
static int cmp_term(struct pat *pp)
{
	struct token t = pat_next(pp);

	if (t.t == T_LPAREN) {
		if (++pp->depth > STIX_PATTERN_DEPTH)
			return pat_fail(pp, STIX_PATTERN_SYNTAX, t.s, "nested too deep");
		if (cmp_expr(pp) < 0)
			return -1;
		pp->depth--;
		t = pat_next(pp);
		return t.t == T_RPAREN ? 0 : pat_bad_token(pp, &t, "')'");
	}
	if (t.t == T_WORD && memchr(t.s, ':', t.n) != NULL)
		return comparison(pp, &t);
	if (word_is(&t, "NOT") || word_is(&t, "EXISTS"))
		return pat_fail(pp, STIX_PATTERN_OPERATOR, t.s, "unsupported operator %.*s",
				show_len(t.n), t.s);
	return pat_bad_token(pp, &t, "an object path");
}

/* Operators other than OR between two terms. */
static int not_or(struct pat *pp, const struct token *t)
{
	if (word_is(t, "AND") || word_is(t, "FOLLOWEDBY"))
		return pat_fail(pp, STIX_PATTERN_OPERATOR, t->s, "unsupported operator %.*s",
				show_len(t->n), t->s);
	return 0;
}

/* term (OR term)*, where term is a comparison or an observation. */
static int or_list(struct pat *pp, int (*term)(struct pat *))
{
	for (;;) {
		struct token t;

		if (term(pp) < 0)
			return -1;
		t = pat_peek(pp);
		if (not_or(pp, &t) < 0)
			return -1;
		if (!word_is(&t, "OR"))
			return 0;
		pat_next(pp);
	}
}

static int cmp_expr(struct pat *pp)
{
	return or_list(pp, cmp_term);
}

static int obs_expr(struct pat *pp);

/* '[' comparisons ']', or a parenthesized observation expression. */
static int obs_term(struct pat *pp)
{
	struct token t = pat_next(pp);

	if (t.t == T_LPAREN) {
		if (++pp->depth > STIX_PATTERN_DEPTH)
			return pat_fail(pp, STIX_PATTERN_SYNTAX, t.s, "nested too deep");
		if (obs_expr(pp) < 0)
			return -1;
		pp->depth--;
		t = pat_next(pp);
		if (t.t != T_RPAREN)
			return pat_bad_token(pp, &t, "')'");
	} else if (t.t == T_LBRACK) {
		if (cmp_expr(pp) < 0)
			return -1;
		t = pat_next(pp);
		if (t.t != T_RBRACK)
			return pat_bad_token(pp, &t, "']'");
	} else {
		return pat_bad_token(pp, &t, "'['");
	}
	t = pat_peek(pp);
	if (word_is(&t, "WITHIN") || word_is(&t, "REPEATS") || word_is(&t, "START") ||
	    word_is(&t, "STOP"))
		return pat_fail(pp, STIX_PATTERN_OPERATOR, t.s, "unsupported qualifier %.*s",
				show_len(t.n), t.s);
	return 0;
}

static int obs_expr(struct pat *pp)
{
	return or_list(pp, obs_term);
}

int stix_pattern_parse(const char *pattern, size_t len, unsigned kinds_mask, stix_pattern_cb cb,
		       void *ctx, struct stix_pattern_error *err)
{
	struct pat pp;
	struct token t;

	if (pattern == NULL)
		pattern = "", len = 0;
	if (err != NULL) {
		err->why = STIX_PATTERN_OK;
		err->kind = STIX_KIND_OTHER;
		err->offset = 0;
		err->msg[0] = '\0';
	}
	pp.start = pp.p = pattern;
	pp.end = pattern + len;
	pp.depth = 0;
	pp.kinds = kinds_mask;
	pp.cb = cb;
	pp.ctx = ctx;
	pp.cb_rc = 0;
	pp.err = err;
	if (obs_expr(&pp) < 0)
		return pp.cb_rc != 0 ? pp.cb_rc : YG_EFORMAT;
	t = pat_next(&pp);
	if (t.t != T_END) {
		pat_bad_token(&pp, &t, "end of pattern");
		return YG_EFORMAT;
	}
	return 0;
}
