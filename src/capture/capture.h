/* capture.h - frames from capture files.
 *
 * Classic pcap files (all four magic/byte-order variants) are mapped and
 * walked in place: no copy per packet. pcapng, and anything else libpcap
 * reads, goes through libpcap. Frames borrow the reader's memory until
 * the next capture_next() call. One reader per thread. */
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

/* Reads the next frame. Returns 1 with *f filled, 0 at the clean end of
 * the file, or a negative yg_err (YG_ETRUNC, YG_EFORMAT, YG_EIO) with
 * capture_error() describing it and capture_offset() at the bad record. */
int capture_next(struct capture *c, struct frame *f) YG_MUST_CHECK;

/* True when frames stay valid until the capture is closed (a mapped
 * file), so that a caller may hold several at once; false when each is
 * valid only until the next capture_next() call. */
int capture_frames_stable(const struct capture *c);

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
