/* load.c - files, directories and buffers into a builder; the load report;
 * the plain-list format.
 *
 * Plain lists: one address, CIDR, domain or URL per line. '#' and ';'
 * start comments anywhere on a line (Spamhaus DROP: "1.2.3.0/24 ; SBL1"),
 * blank lines are ignored, and hosts-file lines ("0.0.0.0 evil.example")
 * give their names. Every entry of a file shares one metadata record whose
 * source is the file name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "intel/intel_int.h"

#define SHOW_MAX 80 /* bytes of an offending value quoted in a message */

const char *intel_reason_name(enum intel_reason r)
{
	static const char *const names[INTEL_REASON_COUNT] = {
		[INTEL_REASON_FILE] = "file_unreadable",
		[INTEL_REASON_JSON] = "json_invalid",
		[INTEL_REASON_JSON_SHAPE] = "json_unrecognized",
		[INTEL_REASON_BAD_IPV4] = "bad_ipv4",
		[INTEL_REASON_BAD_IPV6] = "bad_ipv6",
		[INTEL_REASON_BAD_DOMAIN] = "bad_domain",
		[INTEL_REASON_BAD_URL] = "bad_url",
		[INTEL_REASON_TRAILING] = "trailing_text",
		[INTEL_REASON_MISSING] = "missing_field",
		[INTEL_REASON_BAD_TIMESTAMP] = "bad_timestamp",
		[INTEL_REASON_BAD_CONFIDENCE] = "bad_confidence",
		[INTEL_REASON_PATTERN_TYPE] = "unsupported_pattern_type",
		[INTEL_REASON_PATTERN_SYNTAX] = "pattern_syntax",
		[INTEL_REASON_PATTERN_OP] = "unsupported_operator",
		[INTEL_REASON_PATTERN_OBJECT] = "unsupported_object",
		[INTEL_REASON_LIMIT] = "entry_limit",
		[INTEL_REASON_SKIP_REVOKED] = "revoked",
		[INTEL_REASON_SKIP_TYPE] = "non_network_type",
		[INTEL_REASON_SKIP_NOT_IDS] = "not_for_ids",
		[INTEL_REASON_SKIP_DELETED] = "deleted",
	};

	if ((unsigned)r >= INTEL_REASON_COUNT || names[r] == NULL)
		return "unknown";
	return names[r];
}

void intel_report_init(struct intel_report *rep)
{
	memset(rep, 0, sizeof(*rep));
}

__attribute__((format(printf, 2, 0))) static void report_vmsg(struct intel_report *rep,
								 const char *fmt, va_list ap)
{
	if (rep->n_messages >= INTEL_REPORT_MESSAGES) {
		rep->messages_dropped++;
		return;
	}
	vsnprintf(rep->messages[rep->n_messages++], INTEL_MESSAGE_MAX, fmt, ap);
}

void report_reject(struct intel_report *rep, enum intel_reason r, const char *fmt, ...)
{
	va_list ap;

	rep->rejected++;
	rep->by_reason[r]++;
	va_start(ap, fmt);
	report_vmsg(rep, fmt, ap);
	va_end(ap);
}

void report_skip(struct intel_report *rep, enum intel_reason r)
{
	rep->skipped++;
	rep->by_reason[r]++;
}

void report_file_error(struct intel_report *rep, enum intel_reason r, const char *fmt, ...)
{
	va_list ap;

	rep->files_failed++;
	rep->by_reason[r]++;
	va_start(ap, fmt);
	report_vmsg(rep, fmt, ap);
	va_end(ap);
}

const char *path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static const struct intel_load_opts default_opts = {
	.confidence = 50,
	.tlp = INTEL_TLP_NONE,
	.valid_until = INTEL_NO_EXPIRY,
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Adds the value tok of a plain list, guessing its kind. */
static int list_value(struct intel_builder *b, const struct intel_meta *base, uint32_t meta,
		      const char *tok, size_t n, enum intel_reason *why)
{
	char dom[256];
	size_t dlen;
	uint32_t a4;
	uint8_t a6[16];
	unsigned plen;
	bool digits_only = true;

	for (size_t i = 0; i < n; i++)
		if (!((tok[i] >= '0' && tok[i] <= '9') || tok[i] == '.' || tok[i] == '/' ||
		      tok[i] == '-'))
			digits_only = false;
	if (n >= 3 && memmem(tok, n, "://", 3) != NULL) {
		const char *host;
		size_t hlen;
		bool v6;
		struct intel_meta um = *base;
		uint32_t mi;
		int err;

		*why = INTEL_REASON_BAD_URL;
		if (parse_url_host(tok, n, &host, &hlen, &v6) < 0)
			return 1;
		if (v6 ? parse_ipv6_cidr(host, hlen, a6, &plen) < 0 || plen != 128
		       : parse_ipv4(host, hlen, &a4) < 0 && parse_domain(host, hlen, dom, &dlen) < 0)
			return 1;
		if ((err = builder_str(b, tok, n, &um.url)) < 0 || (err = builder_meta(b, &um, &mi)) < 0)
			return err;
		if (v6)
			return builder_add_v6(b, a6, 128, mi);
		if (parse_ipv4(host, hlen, &a4) == 0)
			return builder_add_v4(b, a4, 32, mi);
		return builder_add_domain(b, dom, dlen, mi);
	}
	if (memchr(tok, ':', n) != NULL) {
		*why = INTEL_REASON_BAD_IPV6;
		if (parse_ipv6_cidr(tok, n, a6, &plen) < 0)
			return 1;
		return builder_add_v6(b, a6, plen, meta);
	}
	if (digits_only) {
		*why = INTEL_REASON_BAD_IPV4;
		if (parse_ipv4_cidr(tok, n, &a4, &plen) < 0)
			return 1;
		return builder_add_v4(b, a4, plen, meta);
	}
	*why = INTEL_REASON_BAD_DOMAIN;
	if (parse_domain(tok, n, dom, &dlen) < 0)
		return 1;
	return builder_add_domain(b, dom, dlen, meta);
}

static const char *reason_text(enum intel_reason r)
{
	switch (r) {
	case INTEL_REASON_BAD_IPV4:
		return "invalid IPv4 address or CIDR";
	case INTEL_REASON_BAD_IPV6:
		return "invalid IPv6 address or CIDR";
	case INTEL_REASON_BAD_DOMAIN:
		return "invalid domain";
	case INTEL_REASON_BAD_URL:
		return "invalid URL";
	case INTEL_REASON_LIMIT:
		return "entry limit reached, dropped";
	default:
		return "invalid entry";
	}
}

static int is_sink(const char *tok, size_t n)
{
	static const char *const sinks[] = {"0.0.0.0", "127.0.0.1", "::", "::1"};

	for (size_t i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++)
		if (strlen(sinks[i]) == n && memcmp(tok, sinks[i], n) == 0)
			return 1;
	return 0;
}

/* One line's tokens, after comments and blanks are cut away. */
static int list_line(struct intel_builder *b, const char *name, unsigned long line,
		     const struct intel_meta *base, uint32_t meta, const char *p, size_t n,
		     struct intel_report *rep)
{
	const char *tok[2];
	size_t tlen[2], ntok = 0, i = 0;
	size_t first = 0;

	while (i < n) {
		size_t s;

		while (i < n && is_space(p[i]))
			i++;
		if (i >= n)
			break;
		s = i;
		while (i < n && !is_space(p[i]))
			i++;
		if (ntok < 2) {
			tok[ntok] = p + s;
			tlen[ntok] = i - s;
		}
		ntok++;
	}
	if (ntok == 0)
		return 0;
	/* hosts-file form: a sink address, then the names it blocks */
	if (ntok >= 2 && is_sink(tok[0], tlen[0]))
		first = 1;
	else if (ntok > 1) {
		report_reject(rep, INTEL_REASON_TRAILING, "%s:%lu: unexpected text after '%.*s'", name,
			      line, (int)(tlen[0] > SHOW_MAX ? SHOW_MAX : tlen[0]), tok[0]);
		return 0;
	}
	/* Walk the tokens again from the first one to load. */
	for (i = 0; i < n;) {
		size_t s;
		enum intel_reason why = INTEL_REASON_BAD_DOMAIN;
		int r;

		while (i < n && is_space(p[i]))
			i++;
		if (i >= n)
			break;
		s = i;
		while (i < n && !is_space(p[i]))
			i++;
		if (first) {
			first = 0;
			continue;
		}
		r = list_value(b, base, meta, p + s, i - s, &why);
		if (r == YG_ENOMEM)
			return r;
		if (r == YG_ELIMIT)
			why = INTEL_REASON_LIMIT;
		if (r == 0) {
			rep->loaded++;
			continue;
		}
		report_reject(rep, why, "%s:%lu: %s '%.*s'", name, line, reason_text(why),
			      (int)(i - s > SHOW_MAX ? SHOW_MAX : i - s), p + s);
	}
	return 0;
}

static int list_load(struct intel_builder *b, const char *name, const char *p, size_t len,
		     const struct intel_load_opts *opts, struct intel_report *rep)
{
	struct intel_meta base;
	uint32_t meta;
	unsigned long line = 0;
	const char *end = p + len;
	int err;

	memset(&base, 0, sizeof(base));
	base.valid_until = opts->valid_until;
	base.confidence = (uint8_t)(opts->confidence < 0     ? 0
				    : opts->confidence > 100 ? 100
							     : opts->confidence);
	base.tlp = (uint8_t)opts->tlp;
	if ((err = builder_intern(b, path_base(name), strlen(path_base(name)), &base.source)) < 0 ||
	    (err = builder_meta(b, &base, &meta)) < 0)
		return err;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *c = p;

		line++;
		while (c < eol && *c != '#' && *c != ';')
			c++;
		err = list_line(b, name, line, &base, meta, p, (size_t)(c - p), rep);
		if (err < 0)
			return err;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static const struct intel_load_opts *opts_or_default(const struct intel_load_opts *opts)
{
	return opts ? opts : &default_opts;
}

int intel_load_buffer(struct intel_builder *b, const char *name, const void *buf, size_t len,
		      enum intel_format fmt, const struct intel_load_opts *opts,
		      struct intel_report *rep)
{
	const char *p = buf;
	size_t i = 0;

	opts = opts_or_default(opts);
	rep->files++;
	if (fmt == INTEL_FORMAT_AUTO) {
		if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
			i = 3;
		while (i < len && (is_space(p[i]) || p[i] == '\n'))
			i++;
		/* A JSON object; json_load() tells STIX from MISP. */
		if (i >= len || p[i] != '{')
			fmt = INTEL_FORMAT_LIST;
	}
	if (fmt == INTEL_FORMAT_LIST)
		return list_load(b, name, p, len, opts, rep);
	return json_load(b, name, buf, len, fmt, opts, rep);
}

/* Maps (or for an empty file, fakes) the file's bytes. */
static int load_file(struct intel_builder *b, const char *path, enum intel_format fmt,
		     const struct intel_load_opts *opts, struct intel_report *rep)
{
	struct stat st;
	void *map = NULL;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rep->files++;
		report_file_error(rep, INTEL_REASON_FILE, "%s: cannot open: %s", path,
				  strerror(errno));
		if (fd >= 0)
			close(fd);
		return YG_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		rep->files++;
		report_file_error(rep, INTEL_REASON_FILE, "%s: not a regular file", path);
		return YG_EIO;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			int e = errno;

			close(fd);
			rep->files++;
			report_file_error(rep, INTEL_REASON_FILE, "%s: cannot read: %s", path,
					  strerror(e));
			return YG_EIO;
		}
		madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	}
	close(fd);
	err = intel_load_buffer(b, path, map ? map : "", (size_t)st.st_size, fmt, opts, rep);
	if (map)
		munmap(map, (size_t)st.st_size);
	return err;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int load_dir(struct intel_builder *b, const char *path, const struct intel_load_opts *opts,
		    struct intel_report *rep)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, *full = NULL;
	size_t n = 0, cap = 0, plen = strlen(path);
	int misp = 0, err = 0, first_err = 0;

	d = opendir(path);
	if (d == NULL) {
		rep->files++;
		report_file_error(rep, INTEL_REASON_FILE, "%s: cannot open: %s", path,
				  strerror(errno));
		return YG_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		char *copy;

		if (de->d_name[0] == '.') /* ., .., and hidden files */
			continue;
		if (strcmp(de->d_name, "manifest.json") == 0) {
			misp = 1;
			continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **nn = yg_realloc(names, ncap * sizeof(*nn));

			if (nn == NULL) {
				err = YG_ENOMEM;
				goto out;
			}
			names = nn;
			cap = ncap;
		}
		copy = yg_malloc(strlen(de->d_name) + 1);
		if (copy == NULL) {
			err = YG_ENOMEM;
			goto out;
		}
		memcpy(copy, de->d_name, strlen(de->d_name) + 1);
		names[n++] = copy;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		size_t len = plen + 1 + strlen(names[i]) + 1;
		struct stat st;
		char *nf;

		/* A MISP feed's other files (hashes.csv) are not events. */
		if (misp && !ends_with(names[i], ".json"))
			continue;
		nf = yg_realloc(full, len);
		if (nf == NULL) {
			err = YG_ENOMEM;
			goto out;
		}
		full = nf;
		snprintf(full, len, "%s%s%s", path, plen && path[plen - 1] == '/' ? "" : "/",
			 names[i]);
		if (stat(full, &st) == 0 && S_ISDIR(st.st_mode))
			continue; /* not recursive */
		err = load_file(b, full, misp ? INTEL_FORMAT_MISP : INTEL_FORMAT_AUTO, opts, rep);
		if (err == YG_ENOMEM)
			goto out;
		if (err < 0 && first_err == 0)
			first_err = err;
		err = 0;
	}
out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(full);
	return err < 0 ? err : first_err;
}

int intel_load_path(struct intel_builder *b, const char *path, const struct intel_load_opts *opts,
		    struct intel_report *rep)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return load_dir(b, path, opts, rep);
	return load_file(b, path, INTEL_FORMAT_AUTO, opts, rep);
}
