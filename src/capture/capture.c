/* capture.c - the capture sources behind one interface (capture.h):
 * files (file.c), AF_PACKET rings (afpacket.c) and libpcap's live
 * capture (pcaplive.c). */
#include "capture/capture_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int capture_open_live(const struct capture_live_opts *o, struct capture **out, char *err,
		      size_t errlen)
{
	int rc;

	if (o->ifname == NULL || o->ifname[0] == '\0') {
		snprintf(err, errlen, "no interface named");
		return YG_EINVAL;
	}
	if (o->kind == CAPTURE_LIVE_PCAP)
		return capture_pcaplive_open(o, out, err, errlen);
	rc = capture_afpacket_open(o, out, err, errlen);
	/* Where the kernel has no AF_PACKET, libpcap has another way. */
	if (rc < 0 && o->kind == CAPTURE_LIVE_AUTO && errno == EAFNOSUPPORT)
		return capture_pcaplive_open(o, out, err, errlen);
	return rc;
}

int capture_next_batch(struct capture *c, struct frame *f, int max)
{
	if (atomic_load_explicit(&c->stop, memory_order_relaxed))
		return 0;
	return c->ops->next_batch(c, f, max);
}

int capture_next(struct capture *c, struct frame *f)
{
	return capture_next_batch(c, f, 1);
}

bool capture_done(const struct capture *c)
{
	return !c->live || atomic_load_explicit(&c->stop, memory_order_relaxed);
}

void capture_break(struct capture *c)
{
	atomic_store(&c->stop, 1);
}

const char *capture_error(const struct capture *c)
{
	return c->errmsg;
}

uint64_t capture_offset(const struct capture *c)
{
	return c->ops->offset != NULL ? c->ops->offset(c) : 0;
}

uint64_t capture_size(const struct capture *c)
{
	return c->ops->size != NULL ? c->ops->size(c) : 0;
}

const char *capture_format(const struct capture *c)
{
	return c->ops->format(c);
}

void capture_stats(struct capture *c, struct capture_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (c->ops->stats != NULL)
		c->ops->stats(c, st);
}

void capture_close(struct capture *c)
{
	if (c != NULL)
		c->ops->close(c);
}
