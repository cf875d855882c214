/*
 * nfsend — records NetFlow/IPFIX export datagrams to a file, and replays
 * them, for bench/collector.
 *
 *   nfsend record PORT FILE
 *   nfsend send HOST:PORT FILE [--loops K] [--rate PPS] [--batch N]
 *
 * record: binds 127.0.0.1:PORT (0: any free port), prints "listening PORT"
 * on stdout, and appends every datagram it receives to FILE as a 4-byte
 * big-endian length and the datagram's bytes. The socket buffer is 64 MiB
 * (forced where we may), so that an exporter reading a capture at full speed
 * loses nothing. On SIGTERM or SIGINT it reads what the socket still holds,
 * then prints "recorded D datagrams B bytes (v5 a, v9 b, IPFIX c, other o),
 * K dropped by the kernel" on stdout (K from SO_RXQ_OVFL) and exits.
 *
 * send: reads FILE into memory and sends its datagrams, in order, K times
 * over (--loops, 1 by default), from one UDP socket, with sendmmsg() in
 * batches of N (--batch, 64 by default). Without --rate, as fast as the
 * socket takes them; with --rate PPS, PPS datagrams a second, paced per
 * batch against an absolute clock (so a late batch is caught up, not lost).
 * Prints "sent D datagrams B bytes in S s (R datagrams/s)" on stdout.
 *
 * Exit status: 0 on success, 1 on an I/O error, 2 on a usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DGRAM_MAX 65536
#define RBATCH    64
#define RCVBUF    (64 << 20)
#define SNDBUF    (4 << 20)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: nfsend record PORT FILE\n"
			"       nfsend send HOST:PORT FILE [--loops K] [--rate PPS] [--batch N]\n");
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_u64(const char *s, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return (errno == 0 && end != s && *end == '\0' && s[0] != '-') ? 0 : -1;
}

/* Records datagrams to FILE until a signal; returns the exit status. */
static int do_record(const char *portstr, const char *path)
{
	static uint8_t bufs[RBATCH][DGRAM_MAX];
	struct mmsghdr msgs[RBATCH];
	struct iovec iov[RBATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl[RBATCH];
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	unsigned long long port, dgrams = 0, bytes = 0, ver[4] = {0};
	uint32_t dropped = 0;
	int fd, one = 1, size = RCVBUF;
	struct pollfd pfd;
	struct sigaction act = {.sa_handler = on_signal};
	FILE *f;

	if (parse_u64(portstr, &port) < 0 || port > 65535)
		usage();
	if ((f = fopen(path, "wb")) == NULL) {
		fprintf(stderr, "nfsend: %s: %s\n", path, strerror(errno));
		return 1;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "nfsend: bind 127.0.0.1:%llu: %s\n", port, strerror(errno));
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	printf("listening %u\n", ntohs(sa.sin_port));
	fflush(stdout);

	pfd.fd = fd;
	pfd.events = POLLIN;
	for (int draining = 0;; draining = draining || stop) {
		int n;

		for (int i = 0; i < RBATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = DGRAM_MAX;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_control = ctl[i].buf;
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
		n = recvmmsg(fd, msgs, RBATCH, MSG_DONTWAIT, NULL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "nfsend: recvmmsg: %s\n", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			uint32_t len = msgs[i].msg_len, be = htonl(len);
			uint16_t v = len >= 2 ? (uint16_t)(bufs[i][0] << 8 | bufs[i][1]) : 0;

			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr); cm != NULL;
			     cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL)
					memcpy(&dropped, CMSG_DATA(cm), sizeof(dropped));
			ver[v == 5 ? 0 : v == 9 ? 1 : v == 10 ? 2 : 3]++;
			dgrams++;
			bytes += len;
			if (fwrite(&be, 4, 1, f) != 1 || fwrite(bufs[i], 1, len, f) != len) {
				fprintf(stderr, "nfsend: %s: %s\n", path, strerror(errno));
				return 1;
			}
		}
		if (n <= 0 && draining)
			break;
		if (n <= 0)
			(void)poll(&pfd, 1, 100);
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "nfsend: %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("recorded %llu datagrams %llu bytes (v5 %llu, v9 %llu, IPFIX %llu, other %llu), "
	       "%u dropped by the kernel\n",
	       dgrams, bytes, ver[0], ver[1], ver[2], ver[3], dropped);
	return 0;
}

/* Reads a recording into one buffer; sets *n and *off (the offset of each
 * datagram's length prefix). Returns the buffer, or NULL. */
static uint8_t *load(const char *path, size_t *n, size_t **off, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0, count = 0, ocap = 0, pos;
	size_t *o = NULL;

	if (f == NULL) {
		fprintf(stderr, "nfsend: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t r;

		if (len == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			if ((buf = realloc(buf, cap)) == NULL)
				goto oom;
		}
		r = fread(buf + len, 1, cap - len, f);
		if (r == 0)
			break;
		len += r;
	}
	fclose(f);
	for (pos = 0; pos + 4 <= len;) {
		uint32_t l = (uint32_t)buf[pos] << 24 | (uint32_t)buf[pos + 1] << 16 |
			     (uint32_t)buf[pos + 2] << 8 | buf[pos + 3];
		if (l > DGRAM_MAX || pos + 4 + l > len)
			break;
		if (count == ocap) {
			ocap = ocap ? ocap * 2 : 4096;
			if ((o = realloc(o, ocap * sizeof(*o))) == NULL)
				goto oom;
		}
		o[count++] = pos;
		pos += 4 + l;
	}
	if (pos != len || count == 0) {
		fprintf(stderr, "nfsend: %s: not a recording (or empty)\n", path);
		free(buf);
		free(o);
		return NULL;
	}
	*n = count;
	*off = o;
	*size = len - 4 * count;
	return buf;
oom:
	fprintf(stderr, "nfsend: out of memory\n");
	exit(1);
}

static int do_send(int argc, char **argv)
{
	const char *target = argv[2], *path = argv[3];
	unsigned long long loops = 1, rate = 0, batch = 64;
	char host[256];
	const char *colon = strrchr(target, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res;
	size_t n, *off, size, sent = 0;
	uint8_t *buf;
	struct mmsghdr *msgs;
	struct iovec *iov;
	double t0, t1;
	int fd, sz = SNDBUF;

	for (int i = 4; i < argc; i++) {
		unsigned long long *v = NULL;

		if (strcmp(argv[i], "--loops") == 0)
			v = &loops;
		else if (strcmp(argv[i], "--rate") == 0)
			v = &rate;
		else if (strcmp(argv[i], "--batch") == 0)
			v = &batch;
		if (v == NULL || i + 1 >= argc || parse_u64(argv[i + 1], v) < 0)
			usage();
		i++;
	}
	if (loops == 0 || batch == 0 || batch > 1024 || colon == NULL ||
	    (size_t)(colon - target) >= sizeof(host))
		usage();
	memcpy(host, target, (size_t)(colon - target));
	host[colon - target] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0) {
		fprintf(stderr, "nfsend: %s: cannot resolve\n", target);
		return 2;
	}
	if ((buf = load(path, &n, &off, &size)) == NULL)
		return 1;
	fd = socket(res->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		fprintf(stderr, "nfsend: %s: %s\n", target, strerror(errno));
		return 1;
	}
	freeaddrinfo(res);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	/* One message per datagram of the recording, built once. */
	msgs = calloc(n, sizeof(*msgs));
	iov = calloc(n, sizeof(*iov));
	if (msgs == NULL || iov == NULL) {
		fprintf(stderr, "nfsend: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = buf + off[i];
		iov[i].iov_base = (void *)(p + 4);
		iov[i].iov_len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	t0 = now_s();
	for (unsigned long long l = 0; l < loops; l++) {
		for (size_t i = 0; i < n;) {
			unsigned int want = (unsigned int)(n - i < batch ? n - i : batch);
			int r;

			if (rate) {
				double due = t0 + (double)sent / (double)rate, t = now_s();
				if (due > t) {
					struct timespec ts = {(time_t)(due - t),
							      (long)((due - t - (double)(time_t)(due - t)) * 1e9)};
					nanosleep(&ts, NULL);
				}
			}
			r = sendmmsg(fd, msgs + i, want, 0);
			if (r < 0) {
				/* Loopback: ECONNREFUSED when nothing listens (an
				 * ICMP error from an earlier datagram); the receiver
				 * counts what it lost, so carry on. ENOBUFS: retry. */
				if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN ||
				    errno == ECONNREFUSED)
					continue;
				fprintf(stderr, "nfsend: sendmmsg: %s\n", strerror(errno));
				return 1;
			}
			i += (size_t)r;
			sent += (size_t)r;
		}
	}
	t1 = now_s();
	printf("sent %zu datagrams %llu bytes in %.6f s (%.0f datagrams/s)\n", sent,
	       (unsigned long long)size * loops, t1 - t0, (double)sent / (t1 - t0));
	free(msgs);
	free(iov);
	free(off);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "record") == 0)
		return do_record(argv[2], argv[3]);
	if (argc >= 4 && strcmp(argv[1], "send") == 0)
		return do_send(argc, argv);
	usage();
	return 2;
}
