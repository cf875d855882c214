/* afpacket.c - a live interface through an AF_PACKET TPACKET_V3 ring
 * (capture.h; packet(7), Documentation/networking/packet_mmap.rst).
 *
 * The kernel fills blocks of the ring mapped into the process and hands
 * each over whole (TP_STATUS_USER) when it is full or its timeout passes.
 * A call walks the current block's frames where they lie; the block goes
 * back to the kernel (TP_STATUS_KERNEL) at the call after its last frame,
 * so that the frames returned stay valid until the next call, as a file's
 * do.
 *
 * The kernel takes the VLAN tag out of the frame and into the frame's
 * header; flows are told apart by VLAN (flow.h), so the tag is put back,
 * in a scratch copy of that frame. With a fanout group, readers of one
 * interface share its packets by a hash of their flow (PACKET_FANOUT_HASH,
 * fragments reassembled first so that they hash with their flow). */
#include "capture/capture_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"

#define DEFAULT_BLOCK_SIZE  (1u << 20)
#define DEFAULT_BLOCK_COUNT 64
#define DEFAULT_TIMEOUT_MS  100
#define FRAME_SIZE	    2048 /* TPACKET_V3 packs frames; the kernel wants a size */

struct afp {
	struct capture cap; /* first: an afp is a capture */
	int fd;
	uint8_t *ring;
	size_t ring_len;
	unsigned block_size, block_count, timeout_ms;
	unsigned cur;		      /* the block being read */
	struct tpacket3_hdr *next;    /* its next frame; NULL: not started */
	uint32_t left;		      /* frames of it not yet returned */
	bool release;		      /* hand cur back before reading on */
	int linktype;
	uint8_t *scratch;	      /* frames with their VLAN tag put back */
	size_t scratch_cap, scratch_used;
	struct capture_stats totals;  /* PACKET_STATISTICS resets as it reads */
};

#define AFP(c) ((struct afp *)(c))

static struct tpacket_block_desc *block(struct afp *a, unsigned i)
{
	return (struct tpacket_block_desc *)(a->ring + (size_t)i * a->block_size);
}

/* The frame's bytes, its VLAN tag put back when the kernel took it out.
 * NULL when the scratch space is full (the caller ends the batch there). */
static const uint8_t *frame_bytes(struct afp *a, const struct tpacket3_hdr *h, uint32_t *caplen,
				  uint32_t *wirelen)
{
	const uint8_t *p = (const uint8_t *)h + h->tp_mac;
	uint16_t tpid = ETH_P_8021Q;
	uint8_t *s;

	*caplen = h->tp_snaplen;
	*wirelen = h->tp_len;
	if (!(h->tp_status & TP_STATUS_VLAN_VALID) || a->linktype != 1 || *caplen < 12)
		return p;
	if (h->tp_status & TP_STATUS_VLAN_TPID_VALID)
		tpid = h->hv1.tp_vlan_tpid;
	if (a->scratch_used + *caplen + 4 > a->scratch_cap)
		return NULL;
	s = a->scratch + a->scratch_used;
	memcpy(s, p, 12);
	s[12] = (uint8_t)(tpid >> 8);
	s[13] = (uint8_t)tpid;
	s[14] = (uint8_t)(h->hv1.tp_vlan_tci >> 8);
	s[15] = (uint8_t)h->hv1.tp_vlan_tci;
	memcpy(s + 16, p + 12, *caplen - 12);
	a->scratch_used += *caplen + 4;
	*caplen += 4;
	*wirelen += 4;
	return s;
}

static int afp_next_batch(struct capture *c, struct frame *f, int max)
{
	struct afp *a = AFP(c);
	struct tpacket_block_desc *bd;
	int n = 0;

	a->scratch_used = 0;
	if (a->release) {
		bd = block(a, a->cur);
		__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		a->cur = (a->cur + 1) % a->block_count;
		a->release = false;
		a->next = NULL;
	}
	bd = block(a, a->cur);
	if (a->next == NULL) {
		if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
			struct pollfd pfd = {.fd = a->fd, .events = POLLIN | POLLERR};

			if (poll(&pfd, 1, (int)a->timeout_ms) < 0 && errno != EINTR) {
				snprintf(c->errmsg, sizeof(c->errmsg), "poll: %s", strerror(errno));
				return YG_EIO;
			}
			if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
			      TP_STATUS_USER))
				return 0; /* nothing within the timeout */
		}
		a->left = bd->hdr.bh1.num_pkts;
		a->next = (struct tpacket3_hdr *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
	}
	while (n < max && a->left > 0) {
		struct tpacket3_hdr *h = a->next;
		uint32_t caplen, wirelen;
		const uint8_t *p = frame_bytes(a, h, &caplen, &wirelen);

		if (p == NULL)
			break; /* the rest at the next call */
		f[n].data = p;
		f[n].caplen = caplen;
		f[n].wirelen = wirelen < caplen ? caplen : wirelen;
		f[n].ts_us = (uint64_t)h->tp_sec * 1000000 + h->tp_nsec / 1000;
		f[n].linktype = a->linktype;
		n++;
		a->left--;
		a->next = (struct tpacket3_hdr *)((uint8_t *)h + h->tp_next_offset);
	}
	if (a->left == 0)
		a->release = true; /* its frames are the caller's until the next call */
	return n;
}

static void afp_stats(struct capture *c, struct capture_stats *st)
{
	struct afp *a = AFP(c);
	struct tpacket_stats_v3 ks;
	socklen_t len = sizeof(ks);

	if (getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0) {
		/* tp_packets counts the dropped ones too. */
		a->totals.received += ks.tp_packets - ks.tp_drops;
		a->totals.dropped += ks.tp_drops;
	}
	*st = a->totals;
	st->ring_blocks = a->block_count;
	for (unsigned i = 0; i < a->block_count; i++)
		if (__atomic_load_n(&block(a, i)->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
		    TP_STATUS_USER)
			st->ring_used++;
}

static const char *afp_format(const struct capture *c)
{
	(void)c;
	return "afpacket";
}

static void afp_close(struct capture *c)
{
	struct afp *a = AFP(c);

	if (a->ring != NULL && a->ring != MAP_FAILED)
		munmap(a->ring, a->ring_len);
	if (a->fd >= 0)
		close(a->fd);
	free(a->scratch);
	free(a);
}

static const struct capture_ops afp_ops = {
	.next_batch = afp_next_batch,
	.format = afp_format,
	.stats = afp_stats,
	.close = afp_close,
};

/* The link type of the interface's frames, as decode names them. */
static int link_of(int fd, const char *ifname, int *linktype)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -1;
	switch (ifr.ifr_hwaddr.sa_family) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK:
		*linktype = 1; /* Ethernet (the loopback's header is an empty Ethernet one) */
		return 0;
	case ARPHRD_NONE:
	case ARPHRD_IPGRE:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
		*linktype = 101; /* raw IP */
		return 0;
	default:
		errno = EPROTONOSUPPORT;
		return -1;
	}
}

int capture_afpacket_open(const struct capture_live_opts *o, struct capture **out, char *err,
			  size_t errlen)
{
	struct afp *a = yg_calloc(1, sizeof(*a));
	int version = TPACKET_V3, rc = YG_EIO;
	unsigned ifindex;
	const char *what = "";

	*out = NULL;
	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	a->fd = -1;
	a->cap.ops = &afp_ops;
	a->cap.live = true;
	a->block_size = o->block_size ? o->block_size : DEFAULT_BLOCK_SIZE;
	a->block_count = o->block_count ? o->block_count : DEFAULT_BLOCK_COUNT;
	a->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	unsigned snaplen = o->snaplen ? o->snaplen : 65535;
	if (a->block_size < (unsigned)getpagesize() || (a->block_size & (a->block_size - 1)) ||
	    a->block_size < snaplen + 256 || a->block_count > 65536) {
		snprintf(err, errlen,
			 "the ring's block size must be a power of two of at least a page and of "
			 "the snap length (%u) and a little more, its blocks at most 65536",
			 snaplen);
		free(a);
		return YG_EINVAL;
	}
	if ((ifindex = if_nametoindex(o->ifname)) == 0) {
		snprintf(err, errlen, "no interface %s: %s", o->ifname, strerror(errno));
		free(a);
		return YG_EINVAL;
	}
	if ((a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL))) < 0) {
		what = "socket(AF_PACKET)";
		rc = errno == EPERM ? YG_EINVAL : YG_EIO;
		goto fail;
	}
	if (link_of(a->fd, o->ifname, &a->linktype) < 0) {
		what = "the interface's link type";
		goto fail;
	}
	if (setsockopt(a->fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) < 0) {
		what = "TPACKET_V3";
		goto fail;
	}
	struct tpacket_req3 req = {
		.tp_block_size = a->block_size,
		.tp_block_nr = a->block_count,
		.tp_frame_size = FRAME_SIZE,
		.tp_frame_nr = (unsigned)((uint64_t)a->block_size * a->block_count / FRAME_SIZE),
		.tp_retire_blk_tov = a->timeout_ms,
		.tp_feature_req_word = TP_FT_REQ_FILL_RXHASH,
	};
	if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		what = "the ring (PACKET_RX_RING)";
		goto fail;
	}
	a->ring_len = (size_t)a->block_size * a->block_count;
	a->ring = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, a->fd,
		       0);
	if (a->ring == MAP_FAILED) {
		a->ring = NULL;
		what = "mapping the ring";
		goto fail;
	}
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)ifindex};
	if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		what = "bind";
		goto fail;
	}
	if (o->promisc) {
		struct packet_mreq mr = {.mr_ifindex = (int)ifindex, .mr_type = PACKET_MR_PROMISC};

		if (setsockopt(a->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
			what = "promiscuous mode";
			goto fail;
		}
	}
	if (o->fanout_group >= 0) {
		uint32_t arg;

		if (o->fanout_group > 65535) {
			snprintf(err, errlen, "fanout group %d: at most 65535", o->fanout_group);
			afp_close(&a->cap);
			return YG_EINVAL;
		}
		arg = (uint32_t)o->fanout_group |
		      (uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16;
		if (setsockopt(a->fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0) {
			what = "joining the fanout group";
			goto fail;
		}
	}
	/* Put-back VLAN tags: a block's frames and 4 bytes each at most. */
	a->scratch_cap = a->block_size + 4u * (a->block_size / 64);
	if ((a->scratch = yg_malloc(a->scratch_cap)) == NULL) {
		snprintf(err, errlen, "out of memory");
		afp_close(&a->cap);
		return YG_ENOMEM;
	}
	*out = &a->cap;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s: %s%s", o->ifname, what, strerror(errno),
		 errno == EPERM ? " (live capture needs CAP_NET_RAW: run as root, or give the "
				  "binary the capability)"
				: "");
	afp_close(&a->cap);
	return rc;
}
