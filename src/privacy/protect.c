/* protect.c - protected prefix sets and pseudonym key files.
 *
 * A set is one array of prefixes as 128-bit [first, last] ranges (IPv4 in
 * the top 32 bits), IPv4 first, sorted, with prefixes inside another one
 * dropped: what remains is disjoint, so a lookup is one binary search. */
#include "privacy/protect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/alloc.h"
#include "base/hex.h"

struct pfx {
	uint64_t fh, fl; /* first address */
	uint64_t lh, ll; /* last address */
	uint8_t family;
	uint8_t len;
};

struct protect_set {
	struct pfx *p;
	size_t n;  /* prefixes kept */
	size_t n4; /* of which IPv4, at the front */
};

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen,
							  const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A printable, bounded copy of untrusted text for an error message. */
static void quote_item(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, max = outlen - 4, o = 0;

	for (i = 0; i < n && o < max; i++)
		out[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static inline int lt128(uint64_t ah, uint64_t al, uint64_t bh, uint64_t bl)
{
	return ah < bh || (ah == bh && al < bl);
}

static uint64_t be64(const uint8_t *a)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | a[i];
	return v;
}

/* The address of ip as a 128-bit number, IPv4 in the top 32 bits. */
static void addr128(const struct ip_addr *ip, uint64_t *h, uint64_t *l)
{
	if (ip->family == 4) {
		*h = be64(ip->a) & 0xffffffff00000000ull;
		*l = 0;
	} else {
		*h = be64(ip->a);
		*l = be64(ip->a + 8);
	}
}

/* Mask of the first bits of a 128-bit number, split in halves. */
static void mask128(int bits, uint64_t *mh, uint64_t *ml)
{
	*mh = bits <= 0 ? 0 : bits >= 64 ? ~0ull : ~0ull << (64 - bits);
	*ml = bits <= 64 ? 0 : bits >= 128 ? ~0ull : ~0ull << (128 - bits);
}

/* Parses one trimmed item; index counts from 1 for the message. */
static int parse_item(const char *s, size_t n, size_t index, struct pfx *p, char *err,
		      size_t errlen)
{
	char q[56], abuf[IPADDR_STRLEN + 1], net[IPADDR_STRLEN];
	const char *slash = memchr(s, '/', n);
	size_t alen = slash != NULL ? (size_t)(slash - s) : n, i;
	struct ip_addr ip;
	uint64_t h, l, mh, ml;
	unsigned len = 0, max;

	quote_item(s, n, q, sizeof(q));
	if (n == 0) {
		set_err(err, errlen, "item %zu is empty", index);
		return YG_EINVAL;
	}
	if (alen == 0 || alen >= sizeof(abuf))
		goto bad_addr;
	memcpy(abuf, s, alen);
	abuf[alen] = '\0';
	if (ipaddr_parse(abuf, &ip) < 0)
		goto bad_addr;
	max = ip.family == 4 ? 32 : 128;
	if (slash == NULL) {
		len = max;
	} else {
		const char *d = slash + 1;
		size_t dn = n - alen - 1;

		if (dn == 0 || dn > 3)
			goto bad_len;
		for (i = 0; i < dn; i++) {
			if (d[i] < '0' || d[i] > '9')
				goto bad_len;
			len = len * 10 + (unsigned)(d[i] - '0');
		}
		if (len > max)
			goto bad_len;
	}
	addr128(&ip, &h, &l);
	mask128((int)len, &mh, &ml);
	if ((h & ~mh) != 0 || (l & ~ml) != 0) {
		struct ip_addr nip = ip;

		for (i = 0; i < 16; i++) {
			unsigned keep = len >= 8 * (i + 1) ? 8
					: len > 8 * i      ? len - 8 * (unsigned)i
							   : 0;
			nip.a[i] &= (uint8_t)(0xff00u >> keep);
		}
		ipaddr_fmt(&nip, net);
		set_err(err, errlen, "item %zu '%s': host bits set (the prefix is %s/%u)", index, q,
			net, len);
		return YG_EINVAL;
	}
	p->family = ip.family;
	p->len = (uint8_t)len;
	p->fh = h;
	p->fl = l;
	if (ip.family == 4) {
		p->lh = h | (~mh & 0xffffffff00000000ull);
		p->ll = 0;
	} else {
		p->lh = h | ~mh;
		p->ll = l | ~ml;
	}
	return 0;
bad_addr:
	set_err(err, errlen, "item %zu '%s': not an IPv4 or IPv6 address or prefix", index, q);
	return YG_EINVAL;
bad_len:
	set_err(err, errlen, "item %zu '%s': prefix length must be a number from 0 to %u", index,
		q, ip.family == 4 ? 32 : 128);
	return YG_EINVAL;
}

static int pfx_cmp(const void *va, const void *vb)
{
	const struct pfx *a = va, *b = vb;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->fh != b->fh)
		return a->fh < b->fh ? -1 : 1;
	if (a->fl != b->fl)
		return a->fl < b->fl ? -1 : 1;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int protect_set_parse(const char *spec, struct protect_set **out, char *err, size_t errlen)
{
	struct protect_set *ps;
	const char *s = spec != NULL ? spec : "", *end, *b, *e;
	size_t items = 1, i, k, index = 0;
	int rc = YG_ENOMEM;

	*out = NULL;
	set_err(err, errlen, "%s", "");
	for (b = s; is_blank(*b); b++)
		;
	if (*b == '\0')
		items = 0;
	for (b = s; *b != '\0'; b++)
		items += *b == ',';
	if (items > PROTECT_MAX_PREFIXES) {
		set_err(err, errlen, "more than %u prefixes", PROTECT_MAX_PREFIXES);
		return YG_ELIMIT;
	}
	ps = yg_calloc(1, sizeof(*ps));
	if (ps == NULL)
		goto nomem;
	if (items == 0) {
		*out = ps;
		return 0;
	}
	ps->p = yg_calloc(items, sizeof(*ps->p));
	if (ps->p == NULL)
		goto nomem;
	for (b = s;; b = end + 1) {
		end = strchr(b, ',');
		if (end == NULL)
			end = b + strlen(b);
		for (e = end; e > b && is_blank(e[-1]); e--)
			;
		while (b < e && is_blank(*b))
			b++;
		rc = parse_item(b, (size_t)(e - b), ++index, &ps->p[ps->n], err, errlen);
		if (rc < 0)
			goto fail;
		ps->n++;
		if (*end == '\0')
			break;
	}
	qsort(ps->p, ps->n, sizeof(*ps->p), pfx_cmp);
	/* Prefixes nest or are disjoint: in this order, one that starts before
	 * the last kept one ends lies inside it. */
	for (i = 0, k = 0; i < ps->n; i++) {
		const struct pfx *q = &ps->p[i], *last = k > 0 ? &ps->p[k - 1] : NULL;

		if (last != NULL && last->family == q->family &&
		    !lt128(last->lh, last->ll, q->fh, q->fl))
			continue;
		ps->p[k++] = *q;
		ps->n4 += q->family == 4;
	}
	ps->n = k;
	*out = ps;
	return 0;
nomem:
	set_err(err, errlen, "out of memory");
	rc = YG_ENOMEM;
fail:
	protect_set_free(ps);
	return rc;
}

void protect_set_free(struct protect_set *ps)
{
	if (ps == NULL)
		return;
	free(ps->p);
	free(ps);
}

size_t protect_set_count(const struct protect_set *ps)
{
	return ps != NULL ? ps->n : 0;
}

size_t protect_set_format(const struct protect_set *ps, char *buf, size_t len)
{
	char a[IPADDR_STRLEN], item[IPADDR_STRLEN + 8];
	size_t total = 0, n, i;
	struct ip_addr ip;

	if (len > 0)
		buf[0] = '\0';
	for (i = 0; ps != NULL && i < ps->n; i++) {
		const struct pfx *p = &ps->p[i];

		memset(&ip, 0, sizeof(ip));
		ip.family = p->family;
		for (int j = 0; j < 8; j++) {
			ip.a[j] = (uint8_t)(p->fh >> (56 - 8 * j));
			if (p->family == 6)
				ip.a[8 + j] = (uint8_t)(p->fl >> (56 - 8 * j));
		}
		if (p->family == 4)
			memset(ip.a + 4, 0, 12);
		ipaddr_fmt(&ip, a);
		n = (size_t)snprintf(item, sizeof(item), "%s%s/%u", i > 0 ? "," : "", a, p->len);
		if (total + 1 < len) {
			size_t room = len - 1 - total;

			memcpy(buf + total, item, n < room ? n : room);
			buf[total + (n < room ? n : room)] = '\0';
		}
		total += n;
	}
	return total;
}

int protect_set_contains(const struct protect_set *ps, const struct ip_addr *ip)
{
	size_t lo, hi, mid;
	uint64_t h, l;

	if (ps == NULL || (ip->family != 4 && ip->family != 6))
		return 0;
	lo = ip->family == 4 ? 0 : ps->n4;
	hi = ip->family == 4 ? ps->n4 : ps->n;
	addr128(ip, &h, &l);
	/* The last prefix that starts at or before the address. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (lt128(h, l, ps->p[mid].fh, ps->p[mid].fl))
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == (ip->family == 4 ? 0 : ps->n4))
		return 0;
	return !lt128(ps->p[lo - 1].lh, ps->p[lo - 1].ll, h, l);
}

int protect_addr(const struct protect_set *ps, struct cryptopan *cp, struct ip_addr *ip)
{
	int rc;

	if (!protect_set_contains(ps, ip))
		return 0;
	rc = cryptopan_anonymize_addr(cp, ip, ip);
	return rc < 0 ? rc : 1;
}

/* Key files */


static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* 64 hex digits, after an optional "0x", before an optional newline. */
static int key_hex_core(const uint8_t *b, size_t n, const uint8_t **core, size_t *clen)
{
	size_t i;

	if (n >= 1 && b[n - 1] == '\n')
		n--;
	if (n >= 1 && b[n - 1] == '\r')
		n--;
	if (n >= 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X')) {
		b += 2;
		n -= 2;
	}
	for (i = 0; i < n; i++)
		if (yg_hexval(b[i]) < 0)
			return 0;
	*core = b;
	*clen = n;
	return n > 0;
}

/* Numbers 0-255 separated by white space. */
static int key_decimal(const uint8_t *b, size_t n, uint8_t *key, char *err, size_t errlen)
{
	size_t i = 0, count = 0, start;
	unsigned v;

	for (;;) {
		while (i < n && is_space(b[i]))
			i++;
		if (i == n)
			break;
		start = i;
		v = 0;
		while (i < n && b[i] >= '0' && b[i] <= '9' && v <= 255)
			v = v * 10 + (unsigned)(b[i++] - '0');
		if (v > 255) {
			set_err(err, errlen, "number %zu (at byte %zu) is over 255", count + 1,
				start);
			return YG_EFORMAT;
		}
		if (count == CRYPTOPAN_KEY_LEN) {
			set_err(err, errlen, "more than %d numbers; a key is %d bytes",
				CRYPTOPAN_KEY_LEN, CRYPTOPAN_KEY_LEN);
			return YG_EFORMAT;
		}
		key[count++] = (uint8_t)v;
	}
	if (count != CRYPTOPAN_KEY_LEN) {
		set_err(err, errlen, "%zu numbers; a key is %d bytes", count, CRYPTOPAN_KEY_LEN);
		return YG_EFORMAT;
	}
	return 0;
}

int protect_key_parse(const uint8_t *buf, size_t len, uint8_t key[CRYPTOPAN_KEY_LEN], char *err,
		      size_t errlen)
{
	uint8_t acc = 0, tmp[CRYPTOPAN_KEY_LEN];
	const uint8_t *core;
	size_t i, clen, space = len;
	int printable = 1, letters = 0, rc = YG_EFORMAT;

	set_err(err, errlen, "%s", "");
	if (len == CRYPTOPAN_KEY_LEN) {
		/* 32 bytes are the key itself, except a line of text (31
		 * characters and a newline): surely not what was meant. */
		for (i = 0; i + 1 < len; i++)
			printable &= buf[i] >= 0x20 && buf[i] < 0x7f;
		if (printable && buf[len - 1] == '\n') {
			set_err(err, errlen, "a 31-character line; a raw key is exactly 32 bytes");
			goto out;
		}
		memcpy(tmp, buf, CRYPTOPAN_KEY_LEN);
	} else if (key_hex_core(buf, len, &core, &clen)) {
		if (clen != 2 * CRYPTOPAN_KEY_LEN) {
			set_err(err, errlen,
				"%zu hex digits; a key is %d hex digits (or 32 raw bytes)", clen,
				2 * CRYPTOPAN_KEY_LEN);
			goto out;
		}
		for (i = 0; i < CRYPTOPAN_KEY_LEN; i++)
			tmp[i] = (uint8_t)(yg_hexval(core[2 * i]) << 4 | yg_hexval(core[2 * i + 1]));
	} else if (len == 0) {
		set_err(err, errlen, "empty");
		goto out;
	} else {
		/* Not hex: decimal, or say where it goes wrong. */
		for (i = 0; i < len; i++) {
			uint8_t c = buf[i];

			if (is_space(c)) {
				if (space == len)
					space = i;
			} else if (c < '0' || c > '9') {
				if (yg_hexval(c) < 0 &&
				    !(i == 1 && buf[0] == '0' && (c == 'x' || c == 'X')))
					break;
				letters = 1;
			}
		}
		if (i < len) {
			set_err(err, errlen,
				"unexpected byte 0x%02x at offset %zu; expected 32 raw bytes, "
				"64 hex digits or 32 decimal numbers",
				buf[i], i);
			goto out;
		}
		if (letters) {
			set_err(err, errlen,
				"white space at offset %zu among hex digits; a hex key is 64 "
				"digits and at most a newline",
				space);
			goto out;
		}
		if (key_decimal(buf, len, tmp, err, errlen) < 0)
			goto out;
	}
	for (i = 0; i < CRYPTOPAN_KEY_LEN; i++)
		acc |= tmp[i];
	if (acc == 0) {
		set_err(err, errlen, "the key is all zeros");
		goto out;
	}
	memcpy(key, tmp, CRYPTOPAN_KEY_LEN);
	rc = 0;
out:
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return rc;
}

int protect_key_load(const char *path, uint8_t key[CRYPTOPAN_KEY_LEN], char *err, size_t errlen)
{
	uint8_t buf[PROTECT_KEY_FILE_MAX + 1];
	size_t len = 0;
	struct stat st;
	ssize_t r;
	int fd, rc = YG_EINVAL;

	set_err(err, errlen, "%s", "");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		set_err(err, errlen, "cannot open: %s", strerror(errno));
		return YG_EIO;
	}
	if (fstat(fd, &st) < 0) {
		set_err(err, errlen, "cannot stat: %s", strerror(errno));
		rc = YG_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "not a regular file");
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		set_err(err, errlen,
			"permissions %04o are too open: the key re-identifies protected "
			"addresses; make it private to its owner (chmod 600)",
			(unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		set_err(err, errlen, "owned by uid %u, neither this user (uid %u) nor root",
			(unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			set_err(err, errlen, "read error: %s", strerror(errno));
			rc = YG_EIO;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > PROTECT_KEY_FILE_MAX) {
		set_err(err, errlen, "larger than %d bytes: not a key file", PROTECT_KEY_FILE_MAX);
		goto out;
	}
	rc = protect_key_parse(buf, len, key, err, errlen);
out:
	OPENSSL_cleanse(buf, len);
	close(fd);
	return rc;
}
