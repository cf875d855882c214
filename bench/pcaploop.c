/*
 * pcaploop — the reference for bench/analyze: the bare libpcap read loop.
 *
 *   pcaploop FILE.pcap
 *
 * Opens FILE with pcap_open_offline(), calls pcap_next_ex() until the end,
 * and prints "packets N bytes B" (B: sum of captured lengths) on stdout. It
 * does nothing else (libpcap has already copied each packet into its buffer):
 * no tool that reads captures through libpcap's loop can go faster than this
 * on the same file.
 *
 * Exit status: 0 on success, 1 if the file cannot be opened or read, 2 on a
 * usage error.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const u_char *data;
	uint64_t packets = 0, bytes = 0;
	pcap_t *p;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: pcaploop FILE.pcap\n");
		return 2;
	}
	p = pcap_open_offline(argv[1], errbuf);
	if (!p) {
		fprintf(stderr, "pcaploop: %s: %s\n", argv[1], errbuf);
		return 1;
	}
	while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
		packets++;
		bytes += hdr->caplen;
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "pcaploop: %s: %s\n", argv[1], pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	pcap_close(p);
	printf("packets %llu bytes %llu\n", (unsigned long long)packets, (unsigned long long)bytes);
	return 0;
}
