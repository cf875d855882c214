/* capture.h - frames from capture files.
 *
 * Classic pcap files (all four magic/byte-order variants) are read with
 * read(2) into one buffer that stays in the CPU's cache, and their records
 * walked in place: no copy per packet, no page-table work per page.
 * pcapng, standard input and anything else libpcap reads goes through
 * libpcap. One reader per thread. */
#ifndef YAGURA_CAPTURE_CAPTURE_H
#define YAGURA_CAPTURE_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "decode/decode.h"

struct capture;

/* Opens path ("-" for standard input). On failure returns a negative
 * yg_err and writes a one-line reason (without the path) into err. */
int capture_open(const char *path, struct capture **out, char *err, size_t errlen) YG_MUST_CHECK;

/* Reads up to max frames (at least 1). Returns how many (>= 1), 0 at the
 * clean end of the file, or a negative yg_err (YG_ETRUNC, YG_EFORMAT,
 * YG_EIO) with capture_error() describing it and capture_offset() at the
 * bad record. Frames read before a bad record are returned first; the
 * error comes with the next call. The frames' bytes stay valid until the
 * next call. */
int capture_next_batch(struct capture *c, struct frame *f, int max) YG_MUST_CHECK;

/* One frame: capture_next_batch(c, f, 1), returning 1, 0 or an error. */
int capture_next(struct capture *c, struct frame *f) YG_MUST_CHECK;

/* The reason for the last error, "" if none. */
const char *capture_error(const struct capture *c);

/* Byte offset of the next record to read (of the bad record after an
 * error), and the file's size (0 when unknown, as for a pipe). */
uint64_t capture_offset(const struct capture *c);
uint64_t capture_size(const struct capture *c);

/* "pcap" or "pcapng" (or "libpcap" for other formats libpcap reads). */
const char *capture_format(const struct capture *c);

void capture_close(struct capture *c);

#endif
