/* libFuzzer target: a whole capture file (pcap or pcapng) read through
 * capture_open/capture_next and every frame decoded. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t counters[DC_MAX];
	struct capture *c;
	struct frame f;
	struct packet pkt;
	char path[64], err[256];
	int fd = memfd_create("capture", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (capture_open(path, &c, err, sizeof(err)) < 0)
		goto out;
	while (capture_next(c, &f) == 1)
		decode_frame(&f, &pkt, counters);
	capture_close(c);
out:
	close(fd);
	return 0;
}
