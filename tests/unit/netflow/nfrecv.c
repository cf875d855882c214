/* nfrecv.c - a test driver for src/netflow, independent of yagura's CLI:
 * receives NetFlow/IPFIX datagrams on a loopback UDP port (or reads them
 * from files) and prints each flow record as one JSON line.
 *
 *   nfrecv [-p PORT] [-i IDLE_S] [-t TOTAL_S] [-T TEMPLATE_TIMEOUT_S]
 *   nfrecv -f FILE...        one datagram per file, exporter 127.0.0.1
 *
 * Listening, the first line is {"listening":PORT} (PORT 0 asks for any);
 * it stops IDLE_S seconds (default 2) after the last datagram, TOTAL_S
 * (default 60) after it started, or on SIGTERM once it has read every
 * datagram already queued (an exporter that has exited has queued all of
 * its own on loopback). The last line is {"stats":{...}} with every
 * collector counter. Exit 0, or 1 on a socket error. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "netflow/netflow.h"

static void print_record(void *ctx, const struct nf_record *r)
{
	char src[IPADDR_STRLEN], dst[IPADDR_STRLEN], exp[IPADDR_STRLEN];

	(void)ctx;
	ipaddr_fmt(&r->src, src);
	ipaddr_fmt(&r->dst, dst);
	ipaddr_fmt(&r->exporter, exp);
	printf("{\"version\":%u,\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%u,\"dport\":%u,"
	       "\"proto\":%u,\"tcp_flags\":%u,\"packets\":%" PRIu64 ",\"octets\":%" PRIu64 ","
	       "\"rev_packets\":%" PRIu64 ",\"rev_octets\":%" PRIu64 ",\"rev_tcp_flags\":%u,"
	       "\"biflow\":%s,\"first_us\":%" PRIu64 ",\"last_us\":%" PRIu64 ",\"no_time\":%s,"
	       "\"sampling\":%u,\"in_if\":%u,\"out_if\":%u,\"vlan\":%u,\"domain\":%u,"
	       "\"exporter\":\"%s\",\"exporter_port\":%u}\n",
	       r->version, src, dst, r->sport, r->dport, r->proto, r->tcp_flags, r->packets,
	       r->octets, r->rev_packets, r->rev_octets, r->rev_tcp_flags,
	       (r->flags & NF_REC_BIFLOW) ? "true" : "false", r->first_us, r->last_us,
	       (r->flags & NF_REC_NO_TIME) ? "true" : "false", r->sampling, r->in_if, r->out_if,
	       r->vlan, r->domain, exp, r->exporter_port);
}

static void print_stats(const struct nf_collector *c)
{
	const struct nf_stats *st = nf_collector_stats(c);

	printf("{\"stats\":{");
	for (int i = 0; i < NF_C_MAX; i++)
		printf("\"%s\":%" PRIu64 ",", nf_counter_name(i), st->c[i]);
	printf("\"exporters\":%" PRIu64 ",\"templates\":%" PRIu64 "}}\n", st->exporters,
	       st->templates);
}

static int read_files(struct nf_collector *c, int argc, char **argv)
{
	static uint8_t buf[65536];
	struct ip_addr lo;

	ipaddr_parse("127.0.0.1", &lo);
	for (int i = 0; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (f == NULL) {
			fprintf(stderr, "nfrecv: %s: cannot open\n", argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		(void)nf_collector_datagram(c, buf, n, &lo, 9995, (uint64_t)yg_wall_us());
	}
	return 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int listen_udp(struct nf_collector *c, int port, double idle_s, double total_s)
{
	static uint8_t buf[65536];
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	double start = yg_mono_s(), last = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int rcvbuf = 8 << 20;

	if (fd < 0) {
		perror("nfrecv: socket");
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("nfrecv: bind");
		close(fd);
		return 1;
	}
	signal(SIGTERM, on_term);
	printf("{\"listening\":%u}\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		double now = yg_mono_s();
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct ip_addr exp;
		ssize_t n;

		int draining = stop;

		if (now - start > total_s || (last > 0 && now - last > idle_s))
			break;
		if (!draining && poll(&pfd, 1, 100) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), draining ? MSG_DONTWAIT : 0,
		             (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (draining)
				break;
			continue;
		}
		last = yg_mono_s();
		ipaddr_set4(&exp, (const uint8_t *)&from.sin_addr.s_addr);
		(void)nf_collector_datagram(c, buf, (size_t)n, &exp, ntohs(from.sin_port),
		                            (uint64_t)yg_wall_us());
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct nf_config cfg = {
	    .max_exporters = 64, .max_templates = 64, .template_timeout_us = 1800ULL * 1000000};
	double idle_s = 2, total_s = 60;
	int port = 0, files = 0, opt, rc;
	struct nf_collector *c;

	while ((opt = getopt(argc, argv, "p:i:t:T:f")) != -1) {
		switch (opt) {
		case 'p':
			port = (int)strtol(optarg, NULL, 10);
			break;
		case 'i':
			idle_s = strtod(optarg, NULL);
			break;
		case 't':
			total_s = strtod(optarg, NULL);
			break;
		case 'T':
			cfg.template_timeout_us = strtoull(optarg, NULL, 10) * 1000000;
			break;
		case 'f':
			files = 1;
			break;
		default:
			fprintf(stderr, "usage: nfrecv [-p PORT] [-i IDLE_S] [-t TOTAL_S] "
			                "[-T TEMPLATE_TIMEOUT_S] | -f FILE...\n");
			return 2;
		}
	}
	c = nf_collector_new(&cfg, print_record, NULL);
	if (c == NULL) {
		fprintf(stderr, "nfrecv: cannot create the collector\n");
		return 1;
	}
	rc = files ? read_files(c, argc - optind, argv + optind)
	           : listen_udp(c, port, idle_s, total_s);
	print_stats(c);
	nf_collector_free(c);
	return rc;
}
