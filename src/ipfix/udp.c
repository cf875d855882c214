/* udp.c - the exporter: the encoder's messages to a connected UDP socket.
 * A datagram the socket refuses (no collector yet: ECONNREFUSED; a full
 * buffer) is counted with its records and forgotten, as UDP export does. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/ipaddr.h"
#include "ipfix/ipfix.h"

struct ipfix_exporter {
	struct ipfix_enc *enc;
	int fd;
	struct ipfix_stats stats; /* send_errors and records_lost; the rest is the encoder's */
};

int ipfix_exporter_open(const char *dest, const struct ipfix_config *cfg,
			struct ipfix_exporter **out, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256], port[8];
	struct ipfix_exporter *x;
	int r, rc = YG_EIO;

	*out = NULL;
	if (ipaddr_split_hostport(dest, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "'%s' is not HOST:PORT or [IPv6]:PORT (port 1 to 65535)",
			 dest);
		return YG_EINVAL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(r));
		return YG_EINVAL;
	}
	if ((x = yg_calloc(1, sizeof(*x))) == NULL ||
	    (x->enc = ipfix_enc_new(cfg)) == NULL) {
		snprintf(err, errlen, "out of memory (or MTU %u outside %u..%u)", cfg->mtu,
			 IPFIX_MIN_MTU, IPFIX_MAX_MTU);
		rc = YG_ENOMEM;
		goto fail;
	}
	x->fd = -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		x->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (x->fd < 0)
			continue;
		if (connect(x->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(x->fd);
		x->fd = -1;
	}
	if (x->fd < 0) {
		snprintf(err, errlen, "%s: cannot open a UDP socket to it: %s", dest,
			 strerror(errno));
		goto fail;
	}
	freeaddrinfo(res);
	*out = x;
	return 0;
fail:
	if (res != NULL)
		freeaddrinfo(res);
	if (x != NULL)
		ipfix_enc_free(x->enc);
	free(x);
	return rc;
}

void ipfix_exporter_set_protect(struct ipfix_exporter *x, ipfix_protect_fn fn, void *ctx)
{
	ipfix_enc_set_protect(x->enc, fn, ctx);
}

static uint32_t now_s(void)
{
	return (uint32_t)time(NULL);
}

static void send_pending(struct ipfix_exporter *x)
{
	const uint8_t *msg;
	unsigned n = ipfix_enc_pending(x->enc);
	size_t len = ipfix_enc_take(x->enc, now_s(), &msg);

	if (len == 0)
		return;
	if (send(x->fd, msg, len, 0) != (ssize_t)len) {
		x->stats.send_errors++;
		x->stats.records_lost += n;
	}
}

void ipfix_exporter_flow(struct ipfix_exporter *x, const struct flow *f,
			 enum flow_end_reason why)
{
	uint32_t t = now_s();

	if (ipfix_enc_add(x->enc, f, why, t) == IPFIX_FULL) {
		send_pending(x);
		/* An empty message holds any record (IPFIX_MIN_MTU). */
		if (ipfix_enc_add(x->enc, f, why, t) != 0)
			abort();
	}
}

void ipfix_exporter_flush(struct ipfix_exporter *x)
{
	send_pending(x);
}

void ipfix_exporter_stats(const struct ipfix_exporter *x, struct ipfix_stats *out)
{
	*out = *ipfix_enc_stats(x->enc);
	out->send_errors = x->stats.send_errors;
	out->records_lost = x->stats.records_lost;
}

void ipfix_exporter_free(struct ipfix_exporter *x)
{
	if (x == NULL)
		return;
	send_pending(x);
	close(x->fd);
	ipfix_enc_free(x->enc);
	free(x);
}
