/* collect.c - `yagura collect --listen ADDR:PORT`: NetFlow v5, v9 and
 * IPFIX over UDP (src/netflow) into the pipeline's flow-record entry
 * point, which pairs the directions and runs the flow-level detectors.
 *
 * One thread: recvmmsg() takes up to BATCH datagrams at a time; a quiet
 * socket is polled four times a second so that records waiting for their
 * other direction, and templates past their timeout, go on time. The
 * kernel's drops (a full socket buffer) are read from SO_RXQ_OVFL. */
#include "sensor/collect.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/sock_diag.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/ipaddr.h"
#include "base/log.h"
#include "netflow/netflow.h"

#define BATCH 32
#define DGRAM_MAX 65536
#define RCVBUF (32 << 20)

struct collector {
	int fd;
	char where[INET6_ADDRSTRLEN + 16];
	struct nf_collector *nf;
	struct pipeline *p;
	uint64_t now_us;
	uint64_t dropped; /* datagrams the kernel dropped (SO_RXQ_OVFL, SO_MEMINFO) */
	uint64_t datagrams; /* datagrams read */
	uint8_t *bufs;
};

static void on_record(void *ctx, const struct nf_record *r)
{
	struct collector *c = ctx;

	pipeline_record(c->p, r, c->now_us);
}

int collector_open(const char *listen, struct collector **out, char *err, size_t n)
{
	struct addrinfo hints, *res = NULL;
	struct nf_config nc = {.max_exporters = 4096,
			       .max_templates = 1024,
			       .template_timeout_us = 1800ULL * 1000000};
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256], port[8], h[INET6_ADDRSTRLEN];
	struct collector *c;
	int one = 1, size = RCVBUF, r, zero;
	char tmp[300];
	size_t len;

	*out = NULL;
	/* Port 0: any free port (tests); the summary and stderr say which. */
	len = strlen(listen);
	zero = len > 2 && strcmp(listen + len - 2, ":0") == 0;
	if (len >= sizeof(tmp)) {
		snprintf(err, n, "'%.40s...' is too long for ADDR:PORT", listen);
		return YG_EINVAL;
	}
	memcpy(tmp, listen, len + 1);
	if (zero)
		tmp[len - 1] = '1';
	if (ipaddr_split_hostport(tmp, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, n, "'%s' is not ADDR:PORT or [IPv6]:PORT", listen);
		return YG_EINVAL;
	}
	if (zero)
		memcpy(port, "0", 2);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, n, "%s: %s", host, gai_strerror(r));
		return YG_EINVAL;
	}
	c = yg_calloc(1, sizeof(*c));
	if (c == NULL || (c->bufs = yg_malloc((size_t)BATCH * DGRAM_MAX)) == NULL ||
	    (c->nf = nf_collector_new(&nc, on_record, c)) == NULL) {
		freeaddrinfo(res);
		if (c != NULL)
			free(c->bufs);
		free(c);
		snprintf(err, n, "out of memory");
		return YG_ENOMEM;
	}
	c->fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || bind(c->fd, res->ai_addr, res->ai_addrlen) < 0) {
		snprintf(err, n, "%s: cannot listen: %s", listen, strerror(errno));
		freeaddrinfo(res);
		collector_free(c);
		return YG_EIO;
	}
	freeaddrinfo(res);
	/* Exports come in bursts: a large buffer, forced where we may. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	getsockname(c->fd, (struct sockaddr *)&ss, &sl);
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof(h));
		snprintf(c->where, sizeof(c->where), "[%s]:%u", h, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, h, sizeof(h));
		snprintf(c->where, sizeof(c->where), "%s:%u", h, ntohs(s4->sin_port));
	}
	*out = c;
	return 0;
}

const char *collector_address(const struct collector *c)
{
	return c->where;
}

static void exporter_of(const struct sockaddr_storage *ss, struct ip_addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(s6->sin6_addr.s6_addr, mapped, 12) == 0)
			ipaddr_set4(a, s6->sin6_addr.s6_addr + 12);
		else
			ipaddr_set6(a, s6->sin6_addr.s6_addr);
		*port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;
		ipaddr_set4(a, (const uint8_t *)&s4->sin_addr);
		*port = ntohs(s4->sin_port);
	}
}

/* The socket's drops as the kernel counts them now (SO_MEMINFO): the count
 * SO_RXQ_OVFL carries comes with the next datagram queued, and misses the
 * drops after the last one. */
static void read_drops(struct collector *c)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (getsockopt(c->fd, SOL_SOCKET, SO_MEMINFO, mi, &len) == 0 &&
	    len >= sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1) && mi[SK_MEMINFO_DROPS] > c->dropped)
		c->dropped = mi[SK_MEMINFO_DROPS];
}

int collector_run(struct collector *c, struct pipeline *p, atomic_int *stop,
		  struct sensor_metrics *sm)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl[BATCH];
	double next_tick = 0;
	struct pollfd pfd = {c->fd, POLLIN, 0};
	int n;

	c->p = p;
	/* After *stop, what the socket holds already is still read: an
	 * exporter that has finished sending loses nothing to the signal. */
	for (int draining = 0;; draining = draining || *stop) {
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = c->bufs + (size_t)i * DGRAM_MAX;
			iov[i].iov_len = DGRAM_MAX;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_control = ctl[i].buf;
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
		n = recvmmsg(c->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			log_warn("collect: %s", c->where);
			return -1;
		}
		c->now_us = (uint64_t)yg_wall_us();
		for (int i = 0; i < n; i++) {
			struct ip_addr ex;
			uint16_t port;
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr); cm != NULL;
			     cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
					uint32_t d;
					memcpy(&d, CMSG_DATA(cm), sizeof(d));
					if (d > c->dropped)
						c->dropped = d;
				}
			exporter_of(&from[i], &ex, &port);
			c->datagrams++;
			(void)nf_collector_datagram(c->nf, iov[i].iov_base, msgs[i].msg_len, &ex,
						    port, c->now_us);
		}
		if (yg_mono_s() >= next_tick) {
			read_drops(c);
			pipeline_advance(p, c->now_us);
			nf_collector_expire(c->nf, c->now_us);
			/* The socket's drops stand for the ring's: datagrams the
			 * kernel had no room for. */
			struct pipeline_totals t;
			struct capture_stats cs = {.received = c->datagrams, .dropped = c->dropped};
			pipeline_totals(&p, 1, &t);
			sensor_metrics_update(sm, &t, &cs);
			next_tick = yg_mono_s() + 0.25;
		}
		if (n <= 0 && draining) {
			read_drops(c);
			break;
		}
		if (n <= 0 && poll(&pfd, 1, 250) < 0 && errno != EINTR) {
			log_warn("collect: poll");
			return -1;
		}
	}
	return 0;
}

void collector_summary(const struct collector *c, const struct pipeline *p, FILE *out)
{
	const struct nf_stats *s = nf_collector_stats(c->nf);
	const struct pipeline_record_stats *r = pipeline_record_stats(p);
	uint64_t refused = 0;

	for (int i = NF_C_BAD_VERSION; i < NF_C_MAX; i++)
		refused += s->c[i];
	fprintf(out,
		"  collect: %llu datagrams (v5 %llu, v9 %llu, IPFIX %llu) from %llu exporters, "
		"%llu refusals, %llu dropped by the kernel (buffer full)\n"
		"  records: %llu taken, %llu flows (%llu of two directions, %llu biflows), %llu "
		"outside the authorizations\n",
		(unsigned long long)s->c[NF_C_DATAGRAMS],
		(unsigned long long)s->c[NF_C_DATAGRAMS_V5],
		(unsigned long long)s->c[NF_C_DATAGRAMS_V9],
		(unsigned long long)s->c[NF_C_DATAGRAMS_IPFIX], (unsigned long long)s->exporters,
		(unsigned long long)refused, (unsigned long long)c->dropped,
		(unsigned long long)r->records, (unsigned long long)r->flows,
		(unsigned long long)r->paired, (unsigned long long)r->biflows,
		(unsigned long long)r->unauthorized);
}

void collector_free(struct collector *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	nf_collector_free(c->nf);
	free(c->bufs);
	free(c);
}
