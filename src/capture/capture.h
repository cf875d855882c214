/* capture.h - frames from a capture source: a file, or an interface
 * read live (an AF_PACKET ring, or libpcap where there is none). Each
 * source is a table of operations behind one handle (capture_int.h).
 *
 * Classic pcap files (all four magic/byte-order variants) are read with
 * read(2) into one buffer that stays in the CPU's cache, and their records
 * walked in place: no copy per packet, no page-table work per page.
 * pcapng, standard input and anything else libpcap reads goes through
 * libpcap. One reader per thread.
 *
 * A live interface is read through a TPACKET_V3 ring mapped into the
 * process: frames are walked where the kernel wrote them, a block at a
 * time, and the block is handed back at the next call. Several readers
 * may join one fanout group, among which the kernel spreads packets by a
 * hash of their flow, so that each worker sees whole flows. */
#ifndef YAGURA_CAPTURE_CAPTURE_H
#define YAGURA_CAPTURE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "decode/decode.h"

struct capture;

/* Opens path ("-" for standard input). On failure returns a negative
 * yg_err and writes a one-line reason (without the path) into err. */
int capture_open(const char *path, struct capture **out, char *err, size_t errlen) YG_MUST_CHECK;

enum capture_live_kind {
	CAPTURE_LIVE_AUTO = 0, /* AF_PACKET, else libpcap */
	CAPTURE_LIVE_AFPACKET,
	CAPTURE_LIVE_PCAP
};

struct capture_live_opts {
	const char *ifname;
	enum capture_live_kind kind;
	unsigned snaplen;     /* bytes kept of each frame; 0 → 65535 */
	unsigned block_size;  /* AF_PACKET ring block, bytes (a power of two, at least a
			       * page); 0 → 1 MiB */
	unsigned block_count; /* blocks in the ring; 0 → 64 */
	unsigned timeout_ms;  /* the longest a frame waits in a block, and a call for
			       * frames; 0 → 100 */
	int fanout_group;     /* AF_PACKET: join this fanout group (0..65535, spread by
			       * flow hash); -1 none */
	bool promisc;
};

/* Opens an interface for live capture, as o says. The caller needs
 * CAP_NET_RAW. On failure returns a negative yg_err and a one-line
 * reason in err. */
int capture_open_live(const struct capture_live_opts *o, struct capture **out, char *err,
		      size_t errlen) YG_MUST_CHECK;

/* Reads up to max frames (at least 1). Returns how many (>= 1), 0 at the
 * clean end of the file (a live source: none came within its timeout, or
 * capture_break() was called; capture_done() tells which), or a negative yg_err (YG_ETRUNC, YG_EFORMAT,
 * YG_EIO) with capture_error() describing it and capture_offset() at the
 * bad record. Frames read before a bad record are returned first; the
 * error comes with the next call. The frames' bytes stay valid until the
 * next call. */
int capture_next_batch(struct capture *c, struct frame *f, int max) YG_MUST_CHECK;

/* One frame: capture_next_batch(c, f, 1), returning 1, 0 or an error. */
int capture_next(struct capture *c, struct frame *f) YG_MUST_CHECK;

/* Whether a 0 from capture_next_batch() is the end: always for a file;
 * for a live source, once capture_break() was called. */
bool capture_done(const struct capture *c);

/* Makes the reader's next call return 0 and capture_done() true; safe
 * from another thread or a signal handler. */
void capture_break(struct capture *c);

struct capture_stats {
	uint64_t received; /* frames the kernel passed to this reader */
	uint64_t dropped;  /* frames the kernel dropped for want of room (ring full) */
	uint64_t if_dropped; /* dropped by the interface or its driver, where known */
	uint64_t ring_blocks, ring_used; /* ring size, and blocks filled and not yet read */
};

/* Counters since open; zeros for a file. */
void capture_stats(struct capture *c, struct capture_stats *st);

/* The reason for the last error, "" if none. */
const char *capture_error(const struct capture *c);

/* Byte offset of the next record to read (of the bad record after an
 * error), and the file's size (0 when unknown, as for a pipe). */
uint64_t capture_offset(const struct capture *c);
uint64_t capture_size(const struct capture *c);

/* "pcap" or "pcapng" (or "libpcap" for other formats libpcap reads);
 * "afpacket" or "pcap-live" for an interface. */
const char *capture_format(const struct capture *c);

void capture_close(struct capture *c);

#endif
