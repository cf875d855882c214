#include "capture/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"

/* A record larger than this is corrupt whatever the snap length says:
 * libpcap's own limit for the largest link type. */
#define MAX_RECORD (256u * 1024)

/* Mapped pages behind the reader are dropped every this many bytes, so
 * that resident memory stays a few MiB however large the file. The page
 * cache keeps them; only this process's mapping lets go. */
#define RELEASE_EVERY (2u * 1024 * 1024)

/* Bytes ahead of the reader brought into cache. Record headers sit at
 * offsets known only once the previous header is read, so no prefetcher
 * can guess them; streaming everything ahead breaks that chain. */
#define PREFETCH_AHEAD (16u * 1024)

/* Page tables are filled this many bytes at a time ahead of the reader
 * (MADV_POPULATE_READ): one call instead of a page fault every few pages,
 * and prefetches ahead land on mapped pages instead of being dropped. */
#define POPULATE_CHUNK (4u * 1024 * 1024)
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

struct capture {
	/* Mapped classic pcap. */
	const uint8_t *map;
	size_t size;
	size_t off;
	size_t released; /* bytes at the start of the map already dropped */
	size_t prefetched; /* offset up to which the bytes ahead were prefetched */
	size_t populated;  /* offset up to which page tables were filled */
	int swapped;
	int nsec;
	int linktype;
	/* Everything else. */
	pcap_t *pcap;
	FILE *fp;
	char errmsg[PCAP_ERRBUF_SIZE + 64];
};

static uint32_t rd32(const struct capture *c, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return c->swapped ? __builtin_bswap32(v) : v;
}

/* Opens a classic pcap by mapping it. Returns 1 when the file is one,
 * 0 when it is something else (the caller tries libpcap), <0 on error. */
static int open_mapped(struct capture *c, int fd, const struct stat *st, char *err, size_t errlen)
{
	uint8_t hdr[24];
	uint32_t magic;
	void *m;

	if (!S_ISREG(st->st_mode) || st->st_size < 24)
		return 0;
	if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		return 0;
	memcpy(&magic, hdr, 4);
	switch (magic) {
	case 0xa1b2c3d4:
		break;
	case 0xa1b23c4d:
		c->nsec = 1;
		break;
	case 0xd4c3b2a1:
		c->swapped = 1;
		break;
	case 0x4d3cb2a1:
		c->swapped = c->nsec = 1;
		break;
	default:
		return 0;
	}
	c->linktype = (int)(rd32(c, hdr + 20) & 0x0fffffff);
	m = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "cannot map file: %s", strerror(errno));
		return YG_EIO;
	}
	madvise(m, (size_t)st->st_size, MADV_SEQUENTIAL);
	madvise(m, (size_t)st->st_size, MADV_WILLNEED);
	c->map = m;
	c->size = (size_t)st->st_size;
	c->off = 24;
	return 1;
}

int capture_open(const char *path, struct capture **out, char *err, size_t errlen)
{
	struct capture *c;
	struct stat st;
	char perr[PCAP_ERRBUF_SIZE];
	int fd = -1, rc;

	*out = NULL;
	c = yg_calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			rc = YG_EIO;
			goto fail;
		}
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "is a directory");
			rc = YG_EINVAL;
			goto fail;
		}
		rc = open_mapped(c, fd, &st, err, errlen);
		if (rc < 0)
			goto fail;
		if (rc == 1) {
			close(fd);
			*out = c;
			return 0;
		}
		c->fp = fdopen(fd, "rb");
		if (c->fp == NULL) {
			snprintf(err, errlen, "%s", strerror(errno));
			rc = YG_EIO;
			goto fail;
		}
		fd = -1;
		c->pcap = pcap_fopen_offline_with_tstamp_precision(c->fp, PCAP_TSTAMP_PRECISION_MICRO,
								   perr);
	} else {
		c->pcap = pcap_open_offline_with_tstamp_precision("-", PCAP_TSTAMP_PRECISION_MICRO,
								  perr);
	}
	if (c->pcap == NULL) {
		/* libpcap's wording for a file it does not recognize. */
		if (strstr(perr, "unknown file format") != NULL)
			snprintf(err, errlen, "not a pcap or pcapng file (byte offset 0)");
		else if (strstr(perr, "truncated") != NULL)
			snprintf(err, errlen, "truncated file header (byte offset 0): %s", perr);
		else
			snprintf(err, errlen, "%s", perr);
		rc = YG_EFORMAT;
		goto fail;
	}
	c->fp = NULL; /* owned by pcap now */
	c->linktype = pcap_datalink(c->pcap);
	*out = c;
	return 0;
fail:
	if (c->fp != NULL)
		fclose(c->fp);
	if (fd >= 0)
		close(fd);
	free(c);
	return rc;
}

static int next_mapped(struct capture *c, struct frame *f)
{
	const uint8_t *r;
	uint32_t caplen, wirelen, sec, frac;

	if (c->off == c->size)
		return 0;
	if (c->off - c->released >= 2 * RELEASE_EVERY) {
		/* Keep the last stretch mapped: callers may hold recent frames.
		 * (Dropped pages would fault back in from the page cache.) */
		size_t end = (c->off - RELEASE_EVERY) & ~(size_t)(4096 - 1);
		madvise((void *)(c->map + c->released), end - c->released, MADV_DONTNEED);
		c->released = end;
	}
	if (c->size - c->off < 16) {
		snprintf(c->errmsg, sizeof(c->errmsg),
			 "truncated record header at byte offset %zu", c->off);
		return YG_ETRUNC;
	}
	r = c->map + c->off;
	sec = rd32(c, r);
	frac = rd32(c, r + 4);
	caplen = rd32(c, r + 8);
	wirelen = rd32(c, r + 12);
	if (caplen > MAX_RECORD) {
		snprintf(c->errmsg, sizeof(c->errmsg),
			 "corrupt record at byte offset %zu: captured length %u is larger than %u",
			 c->off, caplen, MAX_RECORD);
		return YG_EFORMAT;
	}
	if (c->size - c->off - 16 < caplen) {
		snprintf(c->errmsg, sizeof(c->errmsg),
			 "truncated record at byte offset %zu: %u bytes announced, %zu present",
			 c->off, caplen, c->size - c->off - 16);
		return YG_ETRUNC;
	}
	f->data = r + 16;
	f->caplen = caplen;
	f->wirelen = wirelen < caplen ? caplen : wirelen;
	f->ts_us = (uint64_t)sec * 1000000 + (c->nsec ? frac / 1000 : frac);
	f->linktype = c->linktype;
	c->off += 16 + (size_t)caplen;
	if (c->populated < c->off + PREFETCH_AHEAD && c->populated < c->size) {
		size_t from = c->populated & ~(size_t)(4096 - 1);
		size_t len = POPULATE_CHUNK;
		if (len > c->size - from)
			len = c->size - from;
		/* Failure (an older kernel) only means page faults as usual. */
		madvise((void *)(c->map + from), len, MADV_POPULATE_READ);
		c->populated = from + len;
	}
	if (c->prefetched < c->off)
		c->prefetched = c->off;
	while (c->prefetched < c->off + PREFETCH_AHEAD && c->prefetched < c->size) {
		__builtin_prefetch(c->map + c->prefetched);
		c->prefetched += 64;
	}
	return 1;
}

static int next_pcap(struct capture *c, struct frame *f)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(c->pcap, &h, &data);

	if (rc == 1) {
		f->data = data;
		f->caplen = h->caplen;
		f->wirelen = h->len < h->caplen ? h->caplen : h->len;
		f->ts_us = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
		f->linktype = c->linktype;
		return 1;
	}
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	snprintf(c->errmsg, sizeof(c->errmsg), "%s at byte offset %llu", pcap_geterr(c->pcap),
		 (unsigned long long)capture_offset(c));
	return strstr(pcap_geterr(c->pcap), "truncated") != NULL ? YG_ETRUNC : YG_EFORMAT;
}

int capture_next(struct capture *c, struct frame *f)
{
	return c->map != NULL ? next_mapped(c, f) : next_pcap(c, f);
}

int capture_frames_stable(const struct capture *c)
{
	return c->map != NULL;
}

const char *capture_error(const struct capture *c)
{
	return c->errmsg;
}

uint64_t capture_offset(const struct capture *c)
{
	FILE *fp;
	long pos;

	if (c->map != NULL)
		return c->off;
	fp = pcap_file(c->pcap);
	if (fp == NULL || (pos = ftell(fp)) < 0)
		return 0;
	return (uint64_t)pos;
}

uint64_t capture_size(const struct capture *c)
{
	struct stat st;
	FILE *fp;

	if (c->map != NULL)
		return c->size;
	fp = pcap_file(c->pcap);
	if (fp == NULL || fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_size;
}

const char *capture_format(const struct capture *c)
{
	if (c->map != NULL)
		return "pcap";
	if (pcap_major_version(c->pcap) == 1)
		return "pcapng";
	return "libpcap";
}

void capture_close(struct capture *c)
{
	if (c == NULL)
		return;
	if (c->map != NULL)
		munmap((void *)c->map, c->size);
	if (c->pcap != NULL)
		pcap_close(c->pcap);
	free(c);
}
