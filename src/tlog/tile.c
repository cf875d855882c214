/* tile.c - C2SP tlog-tiles: tile coordinates and paths, their stored
 * hashes, and entry bundles. Tiles have height 8: a tile at level L holds
 * hashes at tree level 8L, 256 of them when full. */
#include <stdio.h>
#include <string.h>

#include "base/cursor.h"
#include "tlog/tlog.h"

/* Hashes at the tile's tree level in a tree of the given size. */
static uint64_t level_count(int level, uint64_t size)
{
	int shift = level < 0 ? 0 : TLOG_TILE_HEIGHT * level;

	return shift >= 64 ? 0 : size >> shift;
}

static int tile_shape_ok(const struct tlog_tile *t)
{
	return t->level >= TLOG_TILE_ENTRIES && t->level <= 63 && t->width >= 1 &&
	       t->width <= TLOG_TILE_WIDTH;
}

/* One past the tile's last hash, counted at its level; 0 on overflow. */
static uint64_t tile_end(const struct tlog_tile *t)
{
	if (t->n > (UINT64_MAX - TLOG_TILE_WIDTH) / TLOG_TILE_WIDTH)
		return 0;
	return t->n * TLOG_TILE_WIDTH + t->width;
}

int tlog_tile_path(const struct tlog_tile *t, char *buf, size_t cap)
{
	char out[TLOG_TILE_PATH_MAX];
	unsigned g[7];
	uint64_t n = t->n;
	size_t k = 0, o;
	int w;

	if (!tile_shape_ok(t))
		return YG_EINVAL;
	do {
		g[k++] = (unsigned)(n % 1000);
		n /= 1000;
	} while (n > 0);
	if (t->level == TLOG_TILE_ENTRIES)
		w = snprintf(out, sizeof out, "tile/entries/");
	else
		w = snprintf(out, sizeof out, "tile/%d/", t->level);
	o = (size_t)w;
	while (k > 1) /* all but the last group start with an x */
		o += (size_t)snprintf(out + o, sizeof out - o, "x%03u/", g[--k]);
	o += (size_t)snprintf(out + o, sizeof out - o, "%03u", g[0]);
	if (t->width != TLOG_TILE_WIDTH)
		o += (size_t)snprintf(out + o, sizeof out - o, ".p/%u", t->width);
	if (o + 1 > cap)
		return YG_ELIMIT;
	memcpy(buf, out, o + 1);
	return (int)o;
}

/* A decimal of 1..maxdig digits with no leading zero (but "0" itself). */
static int parse_small(const char **p, const char *end, unsigned maxdig, unsigned *v)
{
	const char *s = *p;
	unsigned n = 0, d = 0;

	while (s < end && *s >= '0' && *s <= '9' && d < maxdig + 1) {
		n = n * 10 + (unsigned)(*s - '0');
		s++;
		d++;
	}
	if (d == 0 || d > maxdig || (d > 1 && **p == '0'))
		return -1;
	*p = s;
	*v = n;
	return 0;
}

int tlog_tile_parse(const char *path, size_t len, struct tlog_tile *t)
{
	const char *p = path, *end = path + len;
	struct tlog_tile out;
	unsigned v, groups = 0;

	if (len < 5 || memcmp(p, "tile/", 5) != 0)
		return YG_EFORMAT;
	p += 5;
	if (end - p >= 8 && memcmp(p, "entries/", 8) == 0) {
		out.level = TLOG_TILE_ENTRIES;
		p += 8;
	} else {
		if (parse_small(&p, end, 2, &v) < 0 || v > 63 || p == end || *p != '/')
			return YG_EFORMAT;
		out.level = (int)v;
		p++;
	}
	/* N in groups of three digits, "x" before all but the last. */
	out.n = 0;
	for (;;) {
		int x = p < end && *p == 'x';
		unsigned g = 0, i;

		p += x;
		if (end - p < 3)
			return YG_EFORMAT;
		for (i = 0; i < 3; i++) {
			if (p[i] < '0' || p[i] > '9')
				return YG_EFORMAT;
			g = g * 10 + (unsigned)(p[i] - '0');
		}
		p += 3;
		if (x && groups == 0 && g == 0)
			return YG_EFORMAT; /* x000/ would be a leading zero */
		if (out.n > (UINT64_MAX - g) / 1000)
			return YG_EFORMAT;
		out.n = out.n * 1000 + g;
		groups++;
		if (!x)
			break;
		if (p == end || *p != '/')
			return YG_EFORMAT;
		p++;
	}
	out.width = TLOG_TILE_WIDTH;
	if (p != end) {
		if (end - p < 4 || memcmp(p, ".p/", 3) != 0)
			return YG_EFORMAT;
		p += 3;
		if (parse_small(&p, end, 3, &v) < 0 || v == 0 || v >= TLOG_TILE_WIDTH || p != end)
			return YG_EFORMAT;
		out.width = v;
	}
	*t = out;
	return 0;
}

int tlog_tile_in_tree(const struct tlog_tile *t, uint64_t size)
{
	uint64_t e;

	if (!tile_shape_ok(t) || (e = tile_end(t)) == 0)
		return 0;
	return e <= level_count(t->level, size);
}

int tlog_tile_indexes(const struct tlog_tile *t, uint64_t out[TLOG_TILE_WIDTH])
{
	int lvl;
	unsigned i;

	/* Every hash must cover leaves below TLOG_MAX_SIZE. */
	if (!tlog_tile_in_tree(t, TLOG_MAX_SIZE))
		return YG_EINVAL;
	lvl = t->level < 0 ? 0 : TLOG_TILE_HEIGHT * t->level;
	for (i = 0; i < t->width; i++)
		out[i] = tlog_stored_index(lvl, t->n * TLOG_TILE_WIDTH + i);
	return 0;
}

/* The tile for a stored hash, and the hashes of its data [first, first +
 * count) that fold into it. */
static void tile_locate(uint64_t index, struct tlog_tile *t, uint64_t *first, uint64_t *count)
{
	int level, r;
	uint64_t n, within;

	tlog_stored_split(index, &level, &n);
	t->level = level / TLOG_TILE_HEIGHT;
	r = level - t->level * TLOG_TILE_HEIGHT; /* levels above the tile's */
	t->n = (n << r) >> TLOG_TILE_HEIGHT;
	within = n - ((t->n << TLOG_TILE_HEIGHT) >> r);
	t->width = (unsigned)((within + 1) << r);
	*first = within << r;
	*count = (uint64_t)1 << r;
}

void tlog_tile_for_index(uint64_t index, struct tlog_tile *t)
{
	uint64_t first, count;

	tile_locate(index, t, &first, &count);
}

int tlog_tile_hash_at(const struct tlog_tile *t, const uint8_t *data, size_t len, uint64_t index,
                      struct tlog_hash *out)
{
	struct tlog_tile need;
	struct tlog_hash h[TLOG_TILE_WIDTH / 2];
	uint64_t first, count, i;

	if (!tile_shape_ok(t) || t->level < 0)
		return YG_EINVAL;
	if (len / TLOG_HASH_LEN < t->width)
		return YG_EFORMAT;
	tile_locate(index, &need, &first, &count);
	if (need.level != t->level || need.n != t->n || need.width > t->width)
		return YG_EINVAL;
	/* count <= 128: the levels above the tile's are fewer than its height. */
	for (i = 0; i < count; i++)
		memcpy(h[i].b, data + (first + i) * TLOG_HASH_LEN, TLOG_HASH_LEN);
	for (; count > 1; count /= 2)
		for (i = 0; i < count / 2; i++)
			tlog_node_hash(&h[2 * i], &h[2 * i + 1], &h[i]);
	*out = h[0];
	return 0;
}

int tlog_bundle_put(struct jbuf *b, const void *entry, size_t len)
{
	uint8_t hdr[2];

	if (len > TLOG_ENTRY_MAX)
		return YG_EINVAL;
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)len;
	jbuf_put(b, hdr, 2);
	if (len > 0)
		jbuf_put(b, entry, len);
	return b->err;
}

int tlog_bundle_next(const uint8_t **p, size_t *len, const uint8_t **entry, size_t *elen)
{
	size_t n;

	if (*len == 0)
		return 0;
	if (*len < 2)
		return YG_ETRUNC;
	n = load_be16(*p);
	if (*len - 2 < n)
		return YG_ETRUNC;
	*entry = *p + 2;
	*elen = n;
	*p += 2 + n;
	*len -= 2 + n;
	return 1;
}
