/* file.c - the capture source that reads files (capture.h). */
#include "capture/capture_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"

/* A record larger than this is corrupt whatever the snap length says:
 * libpcap's own limit for the largest link type. */
#define MAX_RECORD (256u * 1024)

/* Bytes asked of read(2) at a time, and the buffer: one read's worth plus
 * room for a record cut at its end. Small enough to stay in the L2 cache,
 * so that walking the records after the copy costs no memory stalls. */
#define READ_CHUNK (512u * 1024)
#define BUF_SIZE (READ_CHUNK + MAX_RECORD + 16)

struct file_cap {
	struct capture cap; /* first: a file_cap is a capture */
	/* Classic pcap, read in chunks. */
	int fd;
	uint8_t *buf;
	size_t start;   /* next record in buf */
	size_t end;     /* bytes valid in buf */
	uint64_t base;  /* file offset of buf[0] */
	uint64_t size;  /* file size */
	int eof;
	int pending;    /* an error to return on the next call */
	int swapped;
	int nsec;
	int linktype;
	/* Everything else. */
	pcap_t *pcap;
	FILE *fp;
};

#define FC(c) ((struct file_cap *)(c))
static const struct capture_ops file_ops;
static uint64_t file_offset(const struct capture *cap);

static uint32_t rd32(const struct file_cap *c, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return c->swapped ? __builtin_bswap32(v) : v;
}

/* Recognizes a classic pcap by its header. Returns 1 when the file is
 * one (and sets up the buffered reader), 0 when it is something else (the
 * caller tries libpcap), <0 on error. */
static int open_classic(struct file_cap *c, int fd, const struct stat *st, char *err,
			size_t errlen)
{
	uint8_t hdr[24];
	uint32_t magic;

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
	c->buf = yg_malloc(BUF_SIZE);
	if (c->buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	if (lseek(fd, 24, SEEK_SET) != 24) {
		snprintf(err, errlen, "cannot seek: %s", strerror(errno));
		return YG_EIO;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	c->fd = fd;
	c->base = 24;
	c->size = (uint64_t)st->st_size;
	return 1;
}

int capture_open(const char *path, struct capture **out, char *err, size_t errlen)
{
	struct file_cap *c;
	struct stat st;
	char perr[PCAP_ERRBUF_SIZE];
	int fd = -1, rc;

	*out = NULL;
	c = yg_calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	c->fd = -1;
	c->cap.ops = &file_ops;
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
		rc = open_classic(c, fd, &st, err, errlen);
		if (rc < 0)
			goto fail;
		if (rc == 1) {
			*out = &c->cap;
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
	*out = &c->cap;
	return 0;
fail:
	if (c->fp != NULL)
		fclose(c->fp);
	if (fd >= 0)
		close(fd);
	free(c->buf);
	free(c);
	return rc;
}

/* Moves the unread bytes to the front and reads more. Returns 0, or
 * YG_EIO with errmsg set. */
static int refill(struct file_cap *c)
{
	ssize_t n;

	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->base += c->start;
		c->end -= c->start;
		c->start = 0;
	}
	do
		n = read(c->fd, c->buf + c->end, BUF_SIZE - c->end);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(c->cap.errmsg, sizeof(c->cap.errmsg), "read error at byte offset %llu: %s",
			 (unsigned long long)(c->base + c->end), strerror(errno));
		return YG_EIO;
	}
	if (n == 0)
		c->eof = 1;
	c->end += (size_t)n;
	return 0;
}

/* Fills f with complete records in the buffer; refills only before the
 * first one, so that every frame returned points into the same bytes. */
static int next_classic(struct file_cap *c, struct frame *f, int max)
{
	int n = 0, rc;

	if (c->pending) {
		rc = c->pending;
		c->pending = 0;
		return rc;
	}
	while (n < max) {
		const uint8_t *r;
		uint32_t caplen, wirelen, sec, frac;
		size_t left = c->end - c->start;

		if (left < 16 || left < 16 + (size_t)rd32(c, c->buf + c->start + 8)) {
			if (c->eof && left == 0)
				break;
			if (c->eof && left < 16) {
				snprintf(c->cap.errmsg, sizeof(c->cap.errmsg),
					 "truncated record header at byte offset %llu",
					 (unsigned long long)(c->base + c->start));
				rc = YG_ETRUNC;
				goto bad;
			}
			if (left >= 16 && rd32(c, c->buf + c->start + 8) > MAX_RECORD)
				goto corrupt;
			if (c->eof) {
				snprintf(c->cap.errmsg, sizeof(c->cap.errmsg),
					 "truncated record at byte offset %llu: %u bytes announced, %zu present",
					 (unsigned long long)(c->base + c->start),
					 rd32(c, c->buf + c->start + 8), left - 16);
				rc = YG_ETRUNC;
				goto bad;
			}
			if (n > 0)
				break; /* the frames so far point into the buffer */
			if ((rc = refill(c)) < 0)
				goto bad;
			continue;
		}
		r = c->buf + c->start;
		sec = rd32(c, r);
		frac = rd32(c, r + 4);
		caplen = rd32(c, r + 8);
		wirelen = rd32(c, r + 12);
		if (caplen > MAX_RECORD)
			goto corrupt;
		f[n].data = r + 16;
		f[n].caplen = caplen;
		f[n].wirelen = wirelen < caplen ? caplen : wirelen;
		f[n].ts_us = (uint64_t)sec * 1000000 + (c->nsec ? frac / 1000 : frac);
		f[n].linktype = c->linktype;
		c->start += 16 + (size_t)caplen;
		n++;
	}
	return n;
corrupt:
	snprintf(c->cap.errmsg, sizeof(c->cap.errmsg),
		 "corrupt record at byte offset %llu: captured length %u is larger than %u",
		 (unsigned long long)(c->base + c->start), rd32(c, c->buf + c->start + 8),
		 MAX_RECORD);
	rc = YG_EFORMAT;
bad:
	if (n > 0) {
		c->pending = rc;
		return n;
	}
	return rc;
}

static int next_pcap(struct file_cap *c, struct frame *f)
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
	snprintf(c->cap.errmsg, sizeof(c->cap.errmsg), "%s at byte offset %llu", pcap_geterr(c->pcap),
		 (unsigned long long)file_offset(&c->cap));
	return strstr(pcap_geterr(c->pcap), "truncated") != NULL ? YG_ETRUNC : YG_EFORMAT;
}

static int file_next_batch(struct capture *cap, struct frame *f, int max)
{
	struct file_cap *c = FC(cap);

	return c->buf != NULL ? next_classic(c, f, max) : next_pcap(c, f);
}

static uint64_t file_offset(const struct capture *cap)
{
	const struct file_cap *c = (const struct file_cap *)cap;
	FILE *fp;
	long pos;

	if (c->buf != NULL)
		return c->base + c->start;
	fp = pcap_file(c->pcap);
	if (fp == NULL || (pos = ftell(fp)) < 0)
		return 0;
	return (uint64_t)pos;
}

static uint64_t file_size(const struct capture *cap)
{
	const struct file_cap *c = (const struct file_cap *)cap;
	struct stat st;
	FILE *fp;

	if (c->buf != NULL)
		return c->size;
	fp = pcap_file(c->pcap);
	if (fp == NULL || fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_size;
}

static const char *file_format(const struct capture *cap)
{
	const struct file_cap *c = (const struct file_cap *)cap;

	if (c->buf != NULL)
		return "pcap";
	if (pcap_major_version(c->pcap) == 1)
		return "pcapng";
	return "libpcap";
}

static void file_close(struct capture *cap)
{
	struct file_cap *c = FC(cap);

	if (c->buf != NULL) {
		close(c->fd);
		free(c->buf);
	}
	if (c->pcap != NULL)
		pcap_close(c->pcap);
	free(c);
}

static const struct capture_ops file_ops = {
	.next_batch = file_next_batch,
	.offset = file_offset,
	.size = file_size,
	.format = file_format,
	.close = file_close,
};
