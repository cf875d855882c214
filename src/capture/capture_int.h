/* capture_int.h - what a capture source implements (capture.h). Each
 * source's handle begins with a struct capture, whose ops the public
 * functions call. */
#ifndef YAGURA_CAPTURE_CAPTURE_INT_H
#define YAGURA_CAPTURE_CAPTURE_INT_H

#include <pcap/pcap.h>
#include <stdatomic.h>

#include "capture/capture.h"

struct capture_ops {
	/* capture_next_batch()'s contract; a live source waits up to its
	 * timeout and may return 0 without being done. */
	int (*next_batch)(struct capture *c, struct frame *f, int max);
	uint64_t (*offset)(const struct capture *c); /* NULL: 0 */
	uint64_t (*size)(const struct capture *c);   /* NULL: 0 */
	const char *(*format)(const struct capture *c);
	void (*stats)(struct capture *c, struct capture_stats *st); /* NULL: zeros */
	void (*close)(struct capture *c);
};

struct capture {
	const struct capture_ops *ops;
	atomic_int stop;  /* capture_break() */
	bool live;
	char errmsg[PCAP_ERRBUF_SIZE + 64];
};

int capture_afpacket_open(const struct capture_live_opts *o, struct capture **out, char *err,
			  size_t errlen);
int capture_pcaplive_open(const struct capture_live_opts *o, struct capture **out, char *err,
			  size_t errlen);

#endif
