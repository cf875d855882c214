/* pcaplive.c - a live interface through libpcap (capture.h): where there
 * is no AF_PACKET, or when asked for. A frame at a time, since libpcap
 * keeps only the last one it returned. */
#include "capture/capture_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

struct pcl {
	struct capture cap; /* first: a pcl is a capture */
	pcap_t *p;
	int linktype;
};

#define PCL(c) ((struct pcl *)(c))

static int pcl_next_batch(struct capture *c, struct frame *f, int max)
{
	struct pcl *l = PCL(c);
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(l->p, &h, &data);

	(void)max;
	if (rc == 1) {
		f->data = data;
		f->caplen = h->caplen;
		f->wirelen = h->len < h->caplen ? h->caplen : h->len;
		f->ts_us = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
		f->linktype = l->linktype;
		return 1;
	}
	if (rc == 0 || rc == PCAP_ERROR_BREAK)
		return 0; /* the timeout passed with nothing */
	snprintf(c->errmsg, sizeof(c->errmsg), "%s", pcap_geterr(l->p));
	return YG_EIO;
}

static void pcl_stats(struct capture *c, struct capture_stats *st)
{
	struct pcap_stat ps;

	if (pcap_stats(PCL(c)->p, &ps) == 0) {
		st->received = ps.ps_recv;
		st->dropped = ps.ps_drop;
		st->if_dropped = ps.ps_ifdrop;
	}
}

static const char *pcl_format(const struct capture *c)
{
	(void)c;
	return "pcap-live";
}

static void pcl_close(struct capture *c)
{
	if (PCL(c)->p != NULL)
		pcap_close(PCL(c)->p);
	free(c);
}

static const struct capture_ops pcl_ops = {
	.next_batch = pcl_next_batch,
	.format = pcl_format,
	.stats = pcl_stats,
	.close = pcl_close,
};

int capture_pcaplive_open(const struct capture_live_opts *o, struct capture **out, char *err,
			  size_t errlen)
{
	struct pcl *l = yg_calloc(1, sizeof(*l));
	char perr[PCAP_ERRBUF_SIZE] = "";
	unsigned buf = (o->block_size ? o->block_size : 1u << 20) *
		       (o->block_count ? o->block_count : 64);
	int rc;

	*out = NULL;
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	l->cap.ops = &pcl_ops;
	l->cap.live = true;
	if ((l->p = pcap_create(o->ifname, perr)) == NULL) {
		snprintf(err, errlen, "%s: %s", o->ifname, perr);
		free(l);
		return YG_EINVAL;
	}
	if (pcap_set_snaplen(l->p, (int)(o->snaplen ? o->snaplen : 65535)) != 0 ||
	    pcap_set_promisc(l->p, o->promisc) != 0 ||
	    pcap_set_timeout(l->p, (int)(o->timeout_ms ? o->timeout_ms : 100)) != 0 ||
	    pcap_set_buffer_size(l->p, (int)buf) != 0 ||
	    pcap_set_tstamp_precision(l->p, PCAP_TSTAMP_PRECISION_MICRO) != 0) {
		snprintf(err, errlen, "%s: %s", o->ifname, pcap_geterr(l->p));
		pcl_close(&l->cap);
		return YG_EINVAL;
	}
	if ((rc = pcap_activate(l->p)) < 0) {
		snprintf(err, errlen, "%s: %s%s", o->ifname, pcap_statustostr(rc),
			 rc == PCAP_ERROR_PERM_DENIED ? " (live capture needs CAP_NET_RAW)" : "");
		pcl_close(&l->cap);
		return rc == PCAP_ERROR_NO_SUCH_DEVICE ? YG_EINVAL : YG_EIO;
	}
	l->linktype = pcap_datalink(l->p);
	*out = &l->cap;
	return 0;
}
